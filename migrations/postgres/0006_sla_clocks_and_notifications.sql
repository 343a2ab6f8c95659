-- Every run of every SLA clock as last evaluated (the compliance report counts them), and the
-- agents' notifications (SLA warnings and breaches for the assignee and the team).

CREATE TABLE ticket_sla_clocks (
    ticket_id   BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    metric      TEXT    NOT NULL,
    started_at  BIGINT  NOT NULL,
    policy_id   BIGINT  REFERENCES sla_policies (id) ON DELETE SET NULL,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'paused', 'met', 'breached')),
    -- Business milliseconds: the target and what was counted against it.
    target      BIGINT  NOT NULL,
    counted     BIGINT  NOT NULL,
    breached_at BIGINT ,
    stopped_at  BIGINT ,
    PRIMARY KEY (ticket_id, metric, started_at)
);
CREATE INDEX ticket_sla_clocks_started_idx ON ticket_sla_clocks (started_at);

-- Numbered per agent by id: a client asks for those after the last id it has.
CREATE TABLE notifications (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id   BIGINT  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ticket_id  BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    read_at    BIGINT 
);
CREATE INDEX notifications_agent_idx ON notifications (agent_id, id);

-- Tickets evaluated before this migration get their clock runs on the SLA worker's next pass.
-- (`WHERE true` tells SQLite that ON CONFLICT belongs to the INSERT, not to a join.)
INSERT INTO sla_dirty (ticket_id, seq) SELECT ticket_id, evaluated_seq FROM ticket_slas WHERE true ON CONFLICT (ticket_id) DO NOTHING;

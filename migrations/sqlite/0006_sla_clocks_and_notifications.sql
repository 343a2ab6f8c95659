-- Every run of every SLA clock as last evaluated (the compliance report counts them), and the
-- agents' notifications (SLA warnings and breaches for the assignee and the team).

CREATE TABLE ticket_sla_clocks (
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    metric      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    policy_id   INTEGER REFERENCES sla_policies (id) ON DELETE SET NULL,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'paused', 'met', 'breached')),
    -- Business milliseconds: the target and what was counted against it.
    target      INTEGER NOT NULL,
    counted     INTEGER NOT NULL,
    breached_at INTEGER,
    stopped_at  INTEGER,
    PRIMARY KEY (ticket_id, metric, started_at)
);
CREATE INDEX ticket_sla_clocks_started_idx ON ticket_sla_clocks (started_at);

-- Numbered per agent by id: a client asks for those after the last id it has.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notifications_agent_idx ON notifications (agent_id, id);

-- Tickets evaluated before this migration get their clock runs on the SLA worker's next pass.
-- (`WHERE true` tells SQLite that ON CONFLICT belongs to the INSERT, not to a join.)
INSERT INTO sla_dirty (ticket_id, seq) SELECT ticket_id, evaluated_seq FROM ticket_slas WHERE true ON CONFLICT (ticket_id) DO NOTHING;

-- SLAs: business-hours calendars, ordered policies, each ticket's evaluated SLA state, the change
-- log the SLA worker drains, and the alarms (warnings and breaches) its scheduler fires once.

CREATE TABLE sla_calendars (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    time_zone  TEXT    NOT NULL,
    -- JSON: seven lists (Monday first) of [start, end] minutes after local midnight.
    hours      TEXT    NOT NULL,
    -- JSON: a list of [first, last] dates (YYYY-MM-DD), both included.
    holidays   TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE sla_policies (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    position       BIGINT  NOT NULL,
    calendar_id    BIGINT  REFERENCES sla_calendars (id),
    -- JSON: {"priorities": [...], "team_ids": [...], "channels": [...], "tags": [...], "organization_ids": [...]}; an empty list matches all.
    conditions     TEXT    NOT NULL,
    -- JSON: four target sets (low, normal, high, urgent) of business minutes per metric.
    targets        TEXT    NOT NULL,
    -- JSON: the statuses that pause the clocks.
    pause_statuses TEXT    NOT NULL,
    warn_percent   BIGINT  NOT NULL,
    -- JSON: what happens at a breach: {"raise_priority": bool, "team_id": id or null}.
    breach_actions TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- The earliest due time of the ticket's running SLA clocks: the queue sorts and filters by it.
ALTER TABLE tickets ADD COLUMN sla_due_at BIGINT ;
CREATE INDEX tickets_sla_due_idx ON tickets (sla_due_at, id) WHERE sla_due_at IS NOT NULL;

CREATE TABLE ticket_slas (
    ticket_id     BIGINT  PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    policy_id     BIGINT  REFERENCES sla_policies (id) ON DELETE SET NULL,
    evaluated_seq BIGINT  NOT NULL,
    evaluated_at  BIGINT  NOT NULL
);

-- Tickets whose SLA state is older than their history: written in the transaction of every
-- ticket event, removed by the worker once it has evaluated at least that event.
CREATE TABLE sla_dirty (
    ticket_id BIGINT  PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    seq       BIGINT  NOT NULL
);

-- A warning or breach of one clock run (metric, started_at) comes due at due_at and fires once.
CREATE TABLE sla_alarms (
    ticket_id  BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    metric     TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('warning', 'breach')),
    due_at     BIGINT  NOT NULL,
    fired_at   BIGINT ,
    PRIMARY KEY (ticket_id, metric, started_at, kind)
);
CREATE INDEX sla_alarms_due_idx ON sla_alarms (due_at) WHERE fired_at IS NULL;

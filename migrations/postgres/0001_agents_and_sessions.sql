-- Agents, their sessions, the one-time setup marker and the audit log (PostgreSQL).
-- Times are UTC unix milliseconds (BIGINT), as on SQLite, so one query text serves both backends.

CREATE TABLE instance (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    setup_completed_at BIGINT
);
INSERT INTO instance (id, setup_completed_at) VALUES (1, NULL);

CREATE TABLE agents (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT        NOT NULL UNIQUE,
    name          TEXT        NOT NULL,
    role          TEXT        NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash TEXT        NOT NULL,
    active        BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    agent_id   BIGINT REFERENCES agents (id) ON DELETE CASCADE,
    data       TEXT        NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_agent_id_idx ON sessions (agent_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE audit_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id     BIGINT REFERENCES agents (id),
    action       TEXT        NOT NULL,
    subject_type TEXT        NOT NULL,
    subject_id   BIGINT      NOT NULL,
    detail       TEXT        NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_type, subject_id, id);

-- Customer profiles (contacts and organizations), teams, tickets with their thread and history (PostgreSQL).
-- Every change to a ticket appends a row to ticket_events with the ticket's next sequence number
-- (tickets.last_seq), in the same transaction: the history, and the stream clients replay.

CREATE TABLE organizations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE organization_domains (
    domain          TEXT    PRIMARY KEY,
    organization_id BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE TABLE contacts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT    NOT NULL,
    phone           TEXT,
    organization_id BIGINT  REFERENCES organizations (id),
    notes           TEXT    NOT NULL DEFAULT '',
    merged_into_id  BIGINT  REFERENCES contacts (id),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX contacts_organization_idx ON contacts (organization_id);

CREATE TABLE contact_emails (
    email      TEXT    PRIMARY KEY,
    contact_id BIGINT  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL
);
CREATE INDEX contact_emails_contact_idx ON contact_emails (contact_id);

CREATE TABLE teams (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE team_members (
    team_id  BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id BIGINT  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, agent_id)
);

CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value BIGINT  NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket_number', 1000);

CREATE TABLE tickets (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number                BIGINT  NOT NULL UNIQUE,
    subject               TEXT    NOT NULL,
    status                TEXT    NOT NULL CHECK (status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')),
    priority              TEXT    NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    channel               TEXT    NOT NULL CHECK (channel IN ('web_form', 'chat', 'email', 'api')),
    requester_id          BIGINT  NOT NULL REFERENCES contacts (id),
    assignee_id           BIGINT  REFERENCES agents (id),
    team_id               BIGINT  REFERENCES teams (id),
    resolution_message_id BIGINT,
    version               BIGINT  NOT NULL DEFAULT 1,
    last_seq              BIGINT  NOT NULL DEFAULT 0,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    solved_at             BIGINT
);
CREATE INDEX tickets_status_updated_idx ON tickets (status, updated_at, id);
CREATE INDEX tickets_assignee_status_updated_idx ON tickets (assignee_id, status, updated_at, id);
CREATE INDEX tickets_team_status_updated_idx ON tickets (team_id, status, updated_at, id);
CREATE INDEX tickets_requester_idx ON tickets (requester_id, created_at);

CREATE TABLE ticket_tags (
    ticket_id BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag       TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag_idx ON ticket_tags (tag, ticket_id);

CREATE TABLE ticket_messages (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id         BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL CHECK (kind IN ('reply', 'note')),
    author_agent_id   BIGINT  REFERENCES agents (id),
    author_contact_id BIGINT  REFERENCES contacts (id),
    body              TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    CHECK ((author_agent_id IS NULL) <> (author_contact_id IS NULL)),
    CHECK (kind = 'reply' OR author_agent_id IS NOT NULL)
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, id);

CREATE TABLE ticket_events (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id         BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    seq               BIGINT  NOT NULL,
    actor_agent_id    BIGINT  REFERENCES agents (id),
    actor_contact_id  BIGINT  REFERENCES contacts (id),
    kind              TEXT    NOT NULL,
    detail            TEXT    NOT NULL,
    internal          BOOLEAN NOT NULL,
    created_at        BIGINT  NOT NULL,
    UNIQUE (ticket_id, seq)
);

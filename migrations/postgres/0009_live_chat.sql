-- Live chat (PostgreSQL). A widget site is one website that embeds the chat widget; its visitors hold an opaque
-- token (only its hash is stored) that ties them to a customer profile. A chat is a ticket with
-- channel 'chat': `chats` holds its live state and `chat_messages` its transcript, numbered per
-- chat (seq) and deduplicated by the sender's client-generated id, so a resent message is stored
-- once and every client replays exactly what it missed.

CREATE TABLE widget_sites (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT    NOT NULL,
    public_token     TEXT    NOT NULL UNIQUE,
    identity_secret  TEXT    NOT NULL,
    enforce_identity BOOLEAN NOT NULL DEFAULT FALSE,
    allowed_origins  TEXT    NOT NULL DEFAULT '',
    greeting         TEXT    NOT NULL DEFAULT '',
    ask_email        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);

CREATE TABLE chat_visitors (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id      BIGINT  NOT NULL REFERENCES widget_sites (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    contact_id   BIGINT  NOT NULL REFERENCES contacts (id),
    external_id  TEXT,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL
);
CREATE INDEX chat_visitors_external_idx ON chat_visitors (site_id, external_id);

CREATE TABLE chat_identities (
    site_id     BIGINT  NOT NULL REFERENCES widget_sites (id) ON DELETE CASCADE,
    external_id TEXT    NOT NULL,
    contact_id  BIGINT  NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (site_id, external_id)
);

CREATE TABLE chats (
    ticket_id        BIGINT  PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    site_id          BIGINT  NOT NULL REFERENCES widget_sites (id),
    visitor_id       BIGINT  NOT NULL REFERENCES chat_visitors (id),
    contact_id       BIGINT  NOT NULL REFERENCES contacts (id),
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'active', 'ended')),
    agent_id         BIGINT  REFERENCES agents (id),
    team_id          BIGINT  REFERENCES teams (id),
    last_seq         BIGINT  NOT NULL DEFAULT 0,
    visitor_read_seq BIGINT  NOT NULL DEFAULT 0,
    agent_read_seq   BIGINT  NOT NULL DEFAULT 0,
    queued_at        BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    ended_at         BIGINT
);
CREATE INDEX chats_state_queued_idx ON chats (state, queued_at, ticket_id);
CREATE INDEX chats_agent_state_idx ON chats (agent_id, state);
CREATE INDEX chats_visitor_idx ON chats (visitor_id, created_at);
CREATE INDEX chats_contact_idx ON chats (contact_id, created_at);

CREATE TABLE chat_attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id      BIGINT  NOT NULL REFERENCES chats (ticket_id) ON DELETE CASCADE,
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    data         BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX chat_attachments_chat_idx ON chat_attachments (chat_id);

CREATE TABLE chat_messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id       BIGINT  NOT NULL REFERENCES chats (ticket_id) ON DELETE CASCADE,
    seq           BIGINT  NOT NULL,
    client_id     TEXT    NOT NULL,
    sender        TEXT    NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    agent_id      BIGINT  REFERENCES agents (id),
    body          TEXT    NOT NULL,
    attachment_id BIGINT  REFERENCES chat_attachments (id),
    created_at    BIGINT  NOT NULL,
    UNIQUE (chat_id, seq),
    UNIQUE (chat_id, client_id)
);

CREATE TABLE canned_responses (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shortcut   TEXT    NOT NULL UNIQUE,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_by BIGINT  REFERENCES agents (id),
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

ALTER TABLE agents ADD COLUMN chat_capacity BIGINT NOT NULL DEFAULT 3;

-- Live chat. A widget site is one website that embeds the chat widget; its visitors hold an opaque
-- token (only its hash is stored) that ties them to a customer profile. A chat is a ticket with
-- channel 'chat': `chats` holds its live state and `chat_messages` its transcript, numbered per
-- chat (seq) and deduplicated by the sender's client-generated id, so a resent message is stored
-- once and every client replays exactly what it missed.

CREATE TABLE widget_sites (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,
    public_token     TEXT    NOT NULL UNIQUE,
    identity_secret  TEXT    NOT NULL,
    enforce_identity BOOLEAN NOT NULL DEFAULT FALSE,
    allowed_origins  TEXT    NOT NULL DEFAULT '',
    greeting         TEXT    NOT NULL DEFAULT '',
    ask_email        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE chat_visitors (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES widget_sites (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    contact_id   INTEGER NOT NULL REFERENCES contacts (id),
    external_id  TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX chat_visitors_external_idx ON chat_visitors (site_id, external_id);

CREATE TABLE chat_identities (
    site_id     INTEGER NOT NULL REFERENCES widget_sites (id) ON DELETE CASCADE,
    external_id TEXT    NOT NULL,
    contact_id  INTEGER NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (site_id, external_id)
);

CREATE TABLE chats (
    ticket_id        INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    site_id          INTEGER NOT NULL REFERENCES widget_sites (id),
    visitor_id       INTEGER NOT NULL REFERENCES chat_visitors (id),
    contact_id       INTEGER NOT NULL REFERENCES contacts (id),
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'active', 'ended')),
    agent_id         INTEGER REFERENCES agents (id),
    team_id          INTEGER REFERENCES teams (id),
    last_seq         INTEGER NOT NULL DEFAULT 0,
    visitor_read_seq INTEGER NOT NULL DEFAULT 0,
    agent_read_seq   INTEGER NOT NULL DEFAULT 0,
    queued_at        INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    ended_at         INTEGER
);
CREATE INDEX chats_state_queued_idx ON chats (state, queued_at, ticket_id);
CREATE INDEX chats_agent_state_idx ON chats (agent_id, state);
CREATE INDEX chats_visitor_idx ON chats (visitor_id, created_at);
CREATE INDEX chats_contact_idx ON chats (contact_id, created_at);

CREATE TABLE chat_attachments (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL REFERENCES chats (ticket_id) ON DELETE CASCADE,
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX chat_attachments_chat_idx ON chat_attachments (chat_id);

CREATE TABLE chat_messages (
    id            INTEGER PRIMARY KEY,
    chat_id       INTEGER NOT NULL REFERENCES chats (ticket_id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    client_id     TEXT    NOT NULL,
    sender        TEXT    NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    agent_id      INTEGER REFERENCES agents (id),
    body          TEXT    NOT NULL,
    attachment_id INTEGER REFERENCES chat_attachments (id),
    created_at    INTEGER NOT NULL,
    UNIQUE (chat_id, seq),
    UNIQUE (chat_id, client_id)
);

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT    NOT NULL UNIQUE,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_by INTEGER REFERENCES agents (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE agents ADD COLUMN chat_capacity INTEGER NOT NULL DEFAULT 3;

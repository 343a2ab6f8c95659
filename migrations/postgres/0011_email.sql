-- The email channel (PostgreSQL). Mailboxes are support addresses. Every email received or sent is
-- indexed by its Message-ID in mail_messages (unique: a redelivered message is stored once, and
-- replies thread by it). Mail out goes through mail_outbox, written in the transaction of its
-- cause (a trigger for agents' public replies on email tickets and for notifications, the
-- services for acknowledgements and sign-in links) and sent by a worker that leases each row.
-- Messages that fail to parse or hit a guard wait in mail_quarantine for an admin.

CREATE TABLE mailboxes (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    address             TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    team_id             BIGINT REFERENCES teams (id) ON DELETE SET NULL,
    signature           TEXT    NOT NULL DEFAULT '',
    acknowledge         BOOLEAN NOT NULL DEFAULT TRUE,
    ack_subject         TEXT    NOT NULL,
    ack_body            TEXT    NOT NULL,
    plus_addressing     BOOLEAN NOT NULL DEFAULT FALSE,
    inbound_secret_hash TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- Secrets frontdesk makes for itself on first use (the key that signs reply tokens).
CREATE TABLE app_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- An email ticket: the mailbox it came through, where replies go, and whether the one
-- acknowledgement a thread may get was sent.
CREATE TABLE ticket_mail (
    ticket_id        BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    mailbox_id       BIGINT NOT NULL REFERENCES mailboxes (id),
    customer_address TEXT    NOT NULL,
    acknowledged     BOOLEAN NOT NULL DEFAULT FALSE
);

-- Addresses copied on a ticket's mail: they receive its public replies.
CREATE TABLE ticket_followers (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    email     TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, email)
);

CREATE TABLE mail_messages (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id        TEXT    NOT NULL UNIQUE,
    direction         TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    mailbox_id        BIGINT REFERENCES mailboxes (id),
    ticket_id         BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    ticket_message_id BIGINT REFERENCES ticket_messages (id) ON DELETE CASCADE,
    from_address      TEXT    NOT NULL,
    auto_submitted    BOOLEAN NOT NULL DEFAULT FALSE,
    raw               BYTEA,
    created_at        BIGINT NOT NULL
);
CREATE INDEX mail_messages_ticket_idx ON mail_messages (ticket_id, id);
CREATE INDEX mail_messages_from_idx ON mail_messages (from_address, created_at);
CREATE INDEX mail_messages_ticket_message_idx ON mail_messages (ticket_message_id);

CREATE TABLE mail_attachments (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_message_id BIGINT NOT NULL REFERENCES ticket_messages (id) ON DELETE CASCADE,
    file_name         TEXT    NOT NULL,
    content_type      TEXT    NOT NULL,
    inline            BOOLEAN NOT NULL,
    size              BIGINT NOT NULL,
    data              BYTEA   NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX mail_attachments_message_idx ON mail_attachments (ticket_message_id);

CREATE TABLE mail_outbox (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind              TEXT    NOT NULL CHECK (kind IN ('reply', 'acknowledgement', 'sign_in', 'notification')),
    mailbox_id        BIGINT REFERENCES mailboxes (id) ON DELETE SET NULL,
    ticket_id         BIGINT REFERENCES tickets (id) ON DELETE CASCADE,
    ticket_message_id BIGINT REFERENCES ticket_messages (id) ON DELETE CASCADE,
    notification_id   BIGINT REFERENCES notifications (id) ON DELETE CASCADE,
    to_address        TEXT,
    subject           TEXT,
    body              TEXT,
    message_id        TEXT    UNIQUE,
    state             TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'retrying', 'failed')),
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT NOT NULL,
    lease_until       BIGINT,
    lease_token       TEXT,
    last_result       TEXT,
    sent_at           BIGINT ,
    created_at        BIGINT NOT NULL
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_message_idx ON mail_outbox (ticket_message_id);

CREATE TABLE mail_quarantine (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox_id   BIGINT REFERENCES mailboxes (id) ON DELETE CASCADE,
    message_id   TEXT    NOT NULL UNIQUE,
    from_address TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    raw          BYTEA   NOT NULL,
    complete     BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Addresses that bounced: shown beside the customer, so agents know mail does not reach them.
CREATE TABLE mail_bounces (
    email      TEXT    PRIMARY KEY,
    reason     TEXT    NOT NULL,
    bounced_at BIGINT NOT NULL
);

-- Notification kinds an agent does not want by email.
CREATE TABLE agent_mail_optouts (
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    kind     TEXT    NOT NULL,
    PRIMARY KEY (agent_id, kind)
);

-- The portal's sign-in links now go through mail_outbox.
DROP TABLE outbox_emails;

CREATE FUNCTION mail_reply_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'reply' AND NEW.author_agent_id IS NOT NULL THEN
        INSERT INTO mail_outbox (kind, mailbox_id, ticket_id, ticket_message_id, next_attempt_at, created_at)
        SELECT 'reply', tm.mailbox_id, NEW.ticket_id, NEW.id, NEW.created_at, NEW.created_at
        FROM ticket_mail tm WHERE tm.ticket_id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER mail_reply_out AFTER INSERT ON ticket_messages
    FOR EACH ROW EXECUTE FUNCTION mail_reply_out();

CREATE FUNCTION mail_notification_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM mailboxes)
        AND NOT EXISTS (SELECT 1 FROM agent_mail_optouts o WHERE o.agent_id = NEW.agent_id AND o.kind = NEW.kind) THEN
        INSERT INTO mail_outbox (kind, mailbox_id, ticket_id, notification_id, next_attempt_at, created_at)
        VALUES ('notification', (SELECT tm.mailbox_id FROM ticket_mail tm WHERE tm.ticket_id = NEW.ticket_id),
                NEW.ticket_id, NEW.id, NEW.created_at, NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER mail_notification_out AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION mail_notification_out();

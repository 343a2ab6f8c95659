-- The customer portal (PostgreSQL): single-use sign-in links (stored hashed), the outbox of emails
-- an email channel, and customer sessions tied to their contact.

CREATE TABLE portal_tokens (
    token_hash TEXT    PRIMARY KEY,
    contact_id BIGINT  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX portal_tokens_contact_idx ON portal_tokens (contact_id);

CREATE TABLE outbox_emails (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_email   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

ALTER TABLE sessions ADD COLUMN contact_id BIGINT  REFERENCES contacts (id) ON DELETE CASCADE;
CREATE INDEX sessions_contact_id_idx ON sessions (contact_id);

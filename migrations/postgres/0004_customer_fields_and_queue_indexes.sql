-- Typed custom fields of customer profiles: admins define the fields (key, label, type), and
-- each contact holds at most one value per field, stored as canonical text checked by its type.

CREATE TABLE contact_fields (
    key        TEXT    PRIMARY KEY,
    label      TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'number', 'date', 'boolean')),
    position   BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE contact_field_values (
    contact_id BIGINT  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL REFERENCES contact_fields (key) ON DELETE CASCADE,
    value      TEXT    NOT NULL,
    PRIMARY KEY (contact_id, key)
);

CREATE INDEX organization_domains_organization_idx ON organization_domains (organization_id);
CREATE INDEX contacts_phone_idx ON contacts (phone) WHERE phone IS NOT NULL;

-- The queue on a million tickets: each view and sort walks an index in its order and stops after
-- one page, instead of sorting every matching ticket.
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_assignee_updated_idx ON tickets (assignee_id, updated_at, id);
CREATE INDEX tickets_team_updated_idx ON tickets (team_id, updated_at, id);
CREATE INDEX tickets_priority_rank_idx ON tickets ((CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END), id);

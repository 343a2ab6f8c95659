-- The search index's change log. Triggers add a row in the same transaction as every change to
-- what the index holds, so the indexer (which deletes the rows it has committed to the index)
-- never misses one, even across a crash. Rows stored before this migration are indexed by the
-- first start's full rebuild.

CREATE TABLE search_changes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind      TEXT    NOT NULL CHECK (kind IN ('article', 'ticket')),
    entity_id INTEGER NOT NULL
);

CREATE TRIGGER search_tickets_inserted AFTER INSERT ON tickets
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', NEW.id); END;
CREATE TRIGGER search_tickets_updated AFTER UPDATE OF subject, status, requester_id, resolution_message_id ON tickets
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', NEW.id); END;
CREATE TRIGGER search_tickets_deleted AFTER DELETE ON tickets
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', OLD.id); END;

CREATE TRIGGER search_messages_inserted AFTER INSERT ON ticket_messages
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', NEW.ticket_id); END;
CREATE TRIGGER search_messages_updated AFTER UPDATE OF body, kind ON ticket_messages
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', NEW.ticket_id); END;
CREATE TRIGGER search_messages_deleted AFTER DELETE ON ticket_messages
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', OLD.ticket_id); END;

CREATE TRIGGER search_tags_inserted AFTER INSERT ON ticket_tags
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', NEW.ticket_id); END;
CREATE TRIGGER search_tags_deleted AFTER DELETE ON ticket_tags
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('ticket', OLD.ticket_id); END;

CREATE TRIGGER search_articles_inserted AFTER INSERT ON kb_articles
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('article', NEW.id); END;
CREATE TRIGGER search_articles_updated AFTER UPDATE ON kb_articles
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('article', NEW.id); END;
CREATE TRIGGER search_articles_deleted AFTER DELETE ON kb_articles
BEGIN INSERT INTO search_changes (kind, entity_id) VALUES ('article', OLD.id); END;

-- Searches from customers and the public that found nothing: what to write next.
CREATE TABLE search_misses (
    query   TEXT    PRIMARY KEY,
    count   BIGINT  NOT NULL,
    last_at BIGINT  NOT NULL
);

-- "Was this helpful?" votes per article.
CREATE TABLE kb_feedback (
    article_id BIGINT NOT NULL PRIMARY KEY REFERENCES kb_articles (id) ON DELETE CASCADE,
    helpful    BIGINT NOT NULL DEFAULT 0,
    unhelpful  BIGINT NOT NULL DEFAULT 0
);

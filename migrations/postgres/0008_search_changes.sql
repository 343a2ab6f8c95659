-- The search index's change log. Triggers add a row in the same transaction as every change to
-- what the index holds, so the indexer (which deletes the rows it has committed to the index)
-- never misses one, even across a crash, and even when transactions commit out of id order.
-- Rows stored before this migration are indexed by the first start's full rebuild.

CREATE TABLE search_changes (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      TEXT   NOT NULL CHECK (kind IN ('article', 'ticket')),
    entity_id BIGINT NOT NULL
);

-- Arguments: the kind, and the column of the changed row that holds the entity id.
CREATE FUNCTION note_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := to_jsonb(OLD); ELSE changed := to_jsonb(NEW); END IF;
    INSERT INTO search_changes (kind, entity_id) VALUES (TG_ARGV[0], (changed ->> TG_ARGV[1])::bigint);
    RETURN NULL;
END
$$;

CREATE TRIGGER search_tickets AFTER INSERT OR DELETE OR UPDATE OF subject, status, requester_id, resolution_message_id ON tickets
    FOR EACH ROW EXECUTE FUNCTION note_search_change('ticket', 'id');
CREATE TRIGGER search_messages AFTER INSERT OR DELETE OR UPDATE OF body, kind ON ticket_messages
    FOR EACH ROW EXECUTE FUNCTION note_search_change('ticket', 'ticket_id');
CREATE TRIGGER search_tags AFTER INSERT OR DELETE ON ticket_tags
    FOR EACH ROW EXECUTE FUNCTION note_search_change('ticket', 'ticket_id');
CREATE TRIGGER search_articles AFTER INSERT OR DELETE OR UPDATE ON kb_articles
    FOR EACH ROW EXECUTE FUNCTION note_search_change('article', 'id');

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

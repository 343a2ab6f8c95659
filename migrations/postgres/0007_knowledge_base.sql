-- The knowledge base: categories in order, articles (one per locale and slug, so URLs stay
-- stable), and every earlier version of an article with who wrote it and when.

CREATE TABLE kb_categories (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    slug       TEXT    NOT NULL UNIQUE,
    position   BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE kb_articles (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    locale      TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    category_id BIGINT  REFERENCES kb_categories (id) ON DELETE SET NULL,
    -- JSON: a list of lower-case tags.
    tags        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('draft', 'internal', 'published')),
    author_id   BIGINT  REFERENCES agents (id) ON DELETE SET NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (locale, slug)
);
CREATE INDEX kb_articles_category_idx ON kb_articles (category_id, status);

CREATE TABLE kb_revisions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id BIGINT  NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    author_id  BIGINT  REFERENCES agents (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX kb_revisions_article_idx ON kb_revisions (article_id, id);

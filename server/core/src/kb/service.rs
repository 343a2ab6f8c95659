//! The knowledge base in the database: categories, articles (one per locale and slug, so their
//! URLs stay stable) and revisions, and importing folders of markdown files with front matter.
//!
//! Importing is idempotent: an article is found again by its locale and slug, updated only when
//! something changed (the version it replaces becomes a revision), and never duplicated. The
//! starter knowledge base in the repository's `knowledge-base/articles/` is compiled into the
//! binary and loaded into a new install ([`load_starter`]).

use serde_json::json;
use std::path::Path;

pub use crate::kb::ArticleStatus;
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, on_pool};
use crate::error::{Error, Result};
use crate::search::ContentGap;
use crate::kb::help::{ArticleLink, HelpArticle, HelpCategory};
use crate::platform::time::Timestamp;

include!(concat!(env!("OUT_DIR"), "/starter_kb.rs"));

/// The largest article body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// An article as a file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleSource {
    /// Stable URL part: lower-case letters, digits and single hyphens.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Category name, if any.
    pub category: Option<String>,
    /// Lower-case tags.
    pub tags: Vec<String>,
    /// Locale like `en` or `pt-BR`.
    pub locale: String,
    /// Who may read it (default: draft, so nothing is published by accident).
    pub status: ArticleStatus,
}

/// Whether `slug` is lower-case letters, digits and single hyphens, at most 100 bytes.
pub(crate) fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 100
        && slug.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Whether `locale` is like `en` or `pt-BR`.
pub(crate) fn valid_locale(locale: &str) -> bool {
    let (language, region) = locale.split_once('-').map_or((locale, None), |(l, r)| (l, Some(r)));
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

/// A front-matter value without surrounding quotes.
fn unquote(value: &str) -> &str {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

impl ArticleSource {
    /// Reads a markdown file that starts with front matter between `---` lines:
    /// `title`, `slug` (required), `category`, `tags` (`[a, b]` or `a, b`), `locale` (default
    /// `en`) and `status` (default `draft`). Says what is wrong otherwise.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some("---") {
            return Err("it does not start with front matter (a line with ---)".into());
        }
        let (mut slug, mut title, mut category, mut tags, mut locale, mut status) =
            (None, None, None, Vec::new(), "en".to_owned(), ArticleStatus::Draft);
        let mut closed = false;
        for line in lines.by_ref() {
            if line.trim_end() == "---" {
                closed = true;
                break;
            }
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(':')
                .ok_or_else(|| format!("front matter line '{line}' is not 'key: value'"))?;
            let value = unquote(value);
            match key.trim() {
                "title" => title = Some(value.to_owned()),
                "slug" => slug = Some(value.to_owned()),
                "category" => category = Some(value.to_owned()).filter(|c| !c.is_empty()),
                "tags" => {
                    let list =
                        value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
                    tags = list
                        .split(',')
                        .map(|t| unquote(t).to_lowercase())
                        .filter(|t| !t.is_empty())
                        .collect();
                }
                "locale" => locale = value.to_owned(),
                "status" => {
                    status = value.parse().map_err(|e: crate::error::FieldError| e.message)?
                }
                other => return Err(format!("unknown front matter field '{other}'")),
            }
        }
        if !closed {
            return Err("the front matter never ends (no closing ---)".into());
        }
        let body = lines.collect::<Vec<_>>().join("\n").trim().to_owned() + "\n";
        let slug = slug.ok_or("the front matter has no slug")?;
        let title = title.filter(|t| !t.is_empty()).ok_or("the front matter has no title")?;
        if !valid_slug(&slug) {
            return Err(format!(
                "slug '{slug}' must be lower-case letters, digits and single hyphens"
            ));
        }
        if title.chars().count() > 200 {
            return Err("the title is longer than 200 characters".into());
        }
        if !valid_locale(&locale) {
            return Err(format!("locale '{locale}' is not like en or pt-BR"));
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(format!("the body is larger than {} KiB", MAX_BODY_BYTES / 1024));
        }
        Ok(Self { slug, title, body, category, tags, locale, status })
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New articles.
    pub created: usize,
    /// Articles whose content changed (each keeps its old version as a revision).
    pub updated: usize,
    /// Articles already up to date.
    pub unchanged: usize,
    /// Files that could not be imported, with why.
    pub failed: Vec<(String, String)>,
}

/// Imports every `.md` file under `dir` (sorted by path, subfolders included).
pub async fn import_dir(ctx: &AppContext, dir: &Path) -> Result<ImportReport> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| Error::invalid("dir", format!("cannot read {}: {e}", folder.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
        files.push((name, std::fs::read_to_string(&path).map_err(|e| e.to_string())));
    }
    import(ctx, files).await
}

/// Imports named markdown texts (a text that could not be read carries why).
pub async fn import(
    ctx: &AppContext,
    files: Vec<(String, std::result::Result<String, String>)>,
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    for (name, text) in files {
        match text.and_then(|t| ArticleSource::parse(&t)) {
            Ok(source) => match upsert(ctx, &source).await? {
                Upserted::Created => report.created += 1,
                Upserted::Updated => report.updated += 1,
                Upserted::Unchanged => report.unchanged += 1,
            },
            Err(why) => report.failed.push((name, why)),
        }
    }
    Ok(report)
}

/// Loads the starter knowledge base into an install that has no articles yet; returns what it
/// did, or `None` when articles exist.
pub async fn load_starter(ctx: &AppContext) -> Result<Option<ImportReport>> {
    let count: i64 =
        on_pool!(ctx.db(), |pool| sqlx::query_scalar("SELECT COUNT(*) FROM kb_articles")
            .fetch_one(pool)
            .await)?;
    if count > 0 {
        return Ok(None);
    }
    let files = STARTER_ARTICLES
        .iter()
        .map(|(name, text)| ((*name).to_owned(), Ok((*text).to_owned())))
        .collect();
    import(ctx, files).await.map(Some)
}

enum Upserted {
    Created,
    Updated,
    Unchanged,
}

type StoredArticle = (i64, String, String, Option<i64>, String, String);

async fn upsert(ctx: &AppContext, source: &ArticleSource) -> Result<Upserted> {
    let now = Timestamp::now();
    let tags = json!(source.tags).to_string();
    on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let category_id = match &source.category {
            Some(name) => Some(category_id(&mut *tx, name, now).await?),
            None => None,
        };
        let existing: Option<StoredArticle> = sqlx::query_as(
            "SELECT id, title, body, category_id, tags, status FROM kb_articles WHERE locale = $1 AND slug = $2",
        )
        .bind(&source.locale)
        .bind(&source.slug)
        .fetch_optional(&mut *tx)
        .await?;
        // A new article is inserted with its key, then filled in like a changed one.
        let (id, outcome) = match existing {
            None => {
                (insert_key(&mut *tx, &source.locale, &source.slug, now).await?, Upserted::Created)
            }
            Some((id, title, body, old_category, old_tags, status))
                if (title.as_str(), body.as_str(), old_category, old_tags.as_str(), status.as_str())
                    == (source.title.as_str(), source.body.as_str(), category_id, tags.as_str(), source.status.as_str()) =>
            {
                (id, Upserted::Unchanged)
            }
            Some((id, ..)) => {
                keep_revision(&mut *tx, id).await?;
                (id, Upserted::Updated)
            }
        };
        if !matches!(outcome, Upserted::Unchanged) {
            sqlx::query(
                "UPDATE kb_articles SET title = $2, body = $3, category_id = $4, tags = $5, status = $6, author_id = NULL, updated_at = $7 WHERE id = $1",
            )
            .bind(id)
            .bind(&source.title)
            .bind(&source.body)
            .bind(category_id)
            .bind(&tags)
            .bind(source.status.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<_, Error>(outcome)
    }
    .await
    })
}

/// The id of the category called `name`, created (last in order, with a free slug) when there
/// is none yet.
pub(crate) async fn category_id<C, DB>(
    conn: &mut C,
    name: &str,
    now: Timestamp,
) -> sqlx::Result<i64>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Timestamp: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (Option<i64>,): sqlx::FromRow<'r, DB::Row>,
{
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_categories WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let position: Option<i64> =
        sqlx::query_scalar("SELECT MAX(position) FROM kb_categories").fetch_one(&mut *conn).await?;
    let position = position.unwrap_or(0) + 1;
    let slug = category_slug(name);
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_categories WHERE slug = $1")
        .bind(slug.clone())
        .fetch_optional(&mut *conn)
        .await?;
    let slug = if taken.is_some() { format!("{slug}-{position}") } else { slug };
    sqlx::query_scalar("INSERT INTO kb_categories (name, slug, position, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(name.to_owned())
        .bind(slug)
        .bind(position)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
}

/// Inserts an empty draft with only its key (locale and slug), to be filled in like a changed
/// article; returns its id.
pub(crate) async fn insert_key<C, DB>(
    conn: &mut C,
    locale: &str,
    slug: &str,
    now: Timestamp,
) -> sqlx::Result<i64>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Timestamp: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_scalar(
        "INSERT INTO kb_articles (locale, slug, title, body, tags, status, created_at, updated_at)
         VALUES ($1, $2, '', '', '[]', 'draft', $3, $3) RETURNING id",
    )
    .bind(locale.to_owned())
    .bind(slug.to_owned())
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// Keeps article `id`'s current version (title, body, who wrote it and when) as a revision,
/// before it is replaced.
pub(crate) async fn keep_revision<C, DB>(conn: &mut C, id: i64) -> sqlx::Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO kb_revisions (article_id, title, body, author_id, created_at)
         SELECT id, title, body, author_id, updated_at FROM kb_articles WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(drop)
}

/// The locale the help centre shows first.
const DEFAULT_LOCALE: &str = "en";

/// The help centre's front page: every category with published articles, in order, then the
/// published articles without one (as "Other"). Public: published articles only.
pub async fn help_categories(ctx: &AppContext) -> Result<Vec<HelpCategory>> {
    let rows: Vec<(Option<String>, Option<String>, String, String)> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT c.name, c.slug, a.slug, a.title FROM kb_articles a LEFT JOIN kb_categories c ON c.id = a.category_id
         WHERE a.status = 'published' AND a.locale = $1
         ORDER BY c.position IS NULL, c.position, LOWER(a.title)"
    )
    .bind(DEFAULT_LOCALE)
    .fetch_all(pool)
    .await
    })?;
    let mut categories: Vec<HelpCategory> = Vec::new();
    for (name, slug, article_slug, title) in rows {
        let (name, slug) = (
            name.unwrap_or_else(|| "Other".to_owned()),
            slug.unwrap_or_else(|| "other".to_owned()),
        );
        if categories.last().is_none_or(|c| c.slug != slug) {
            categories.push(HelpCategory { name, slug: slug.clone(), articles: Vec::new() });
        }
        if let Some(category) = categories.last_mut() {
            category.articles.push(ArticleLink { slug: article_slug, title });
        }
    }
    Ok(categories)
}


/// A published article as the help centre reads it: slug, title, body, tags, category name
/// and slug, and when it last changed.
type PublishedRow =
    (String, String, String, String, Option<String>, Option<String>, Timestamp);

/// One published article, rendered; anything else (a draft, an internal article, an unknown
/// slug) is not found. Public.
pub async fn help_article(ctx: &AppContext, slug: &str) -> Result<HelpArticle> {
    let row: Option<PublishedRow> =
        on_pool!(ctx.db(), |pool| {
            sqlx::query_as(
        "SELECT a.slug, a.title, a.body, a.tags, c.name, c.slug, a.updated_at FROM kb_articles a
         LEFT JOIN kb_categories c ON c.id = a.category_id
         WHERE a.slug = $1 AND a.locale = $2 AND a.status = 'published'"
    )
    .bind(slug)
    .bind(DEFAULT_LOCALE)
    .fetch_optional(pool)
    .await
        })?;
    let (slug, title, body, tags, category, category_slug, updated_at) =
        row.ok_or(Error::NotFound("article"))?;
    Ok(HelpArticle {
        slug,
        title,
        html: crate::platform::markdown::render(body).await?,
        category: category.zip(category_slug),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        updated_at,
    })
}

/// The slugs and change times of every published article, for the sitemap. Public.
pub async fn help_sitemap(ctx: &AppContext) -> Result<Vec<(String, Timestamp)>> {
    Ok(on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT slug, updated_at FROM kb_articles WHERE status = 'published' AND locale = $1 ORDER BY slug"
    )
    .bind(DEFAULT_LOCALE)
    .fetch_all(pool)
    .await
    })?)
}

/// Records a "was this helpful?" vote on a published article. Public (rate-limited by the caller).
pub async fn rate(ctx: &AppContext, slug: &str, helpful: bool) -> Result<()> {
    let (yes, no) = if helpful { (1_i64, 0_i64) } else { (0, 1) };
    // One statement finds the published article and counts the vote, so a vote can never land
    // on an article that was unpublished in between.
    let counted = on_pool!(ctx.db(), |pool| sqlx::query(
        "INSERT INTO kb_feedback (article_id, helpful, unhelpful)
         SELECT id, $3, $4 FROM kb_articles WHERE slug = $1 AND locale = $2 AND status = 'published'
         ON CONFLICT (article_id) DO UPDATE SET helpful = kb_feedback.helpful + excluded.helpful,
             unhelpful = kb_feedback.unhelpful + excluded.unhelpful"
    )
    .bind(slug)
    .bind(DEFAULT_LOCALE)
    .bind(yes)
    .bind(no)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    if counted == 0 {
        return Err(Error::NotFound("article"));
    }
    Ok(())
}

/// How many gaps of each source the admin list shows.
const GAPS_SHOWN: i64 = 50;

/// What to write next: customers' searches that found nothing, most frequent first, and
/// articles more often voted unhelpful than helpful. Admins only.
pub async fn content_gaps(
    ctx: &AppContext,
    actor: &crate::agents::Agent,
) -> Result<Vec<ContentGap>> {
    if !actor.is_admin() {
        return Err(Error::Forbidden);
    }
    let misses: Vec<(String, i64)> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT query, count FROM search_misses ORDER BY count DESC, last_at DESC LIMIT $1"
    )
    .bind(GAPS_SHOWN)
    .fetch_all(pool)
    .await)?;
    let unhelpful: Vec<(String, String, i64)> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT a.title, a.slug, f.unhelpful FROM kb_feedback f JOIN kb_articles a ON a.id = f.article_id
         WHERE f.unhelpful > f.helpful ORDER BY f.unhelpful DESC LIMIT $1"
    )
    .bind(GAPS_SHOWN)
    .fetch_all(pool)
    .await
    })?;
    let searches = misses.into_iter().map(|(text, count)| ContentGap {
        text,
        source: "search".into(),
        count,
        slug: None,
    });
    let articles = unhelpful.into_iter().map(|(text, slug, count)| ContentGap {
        text,
        source: "article".into(),
        count,
        slug: Some(slug),
    });
    Ok(searches.chain(articles).collect())
}

/// `text`'s ASCII letters and digits, lower-cased, in runs joined by single hyphens; empty when
/// it has none.
pub(crate) fn slugify(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A category's URL part: its name in lower-case letters and digits joined by hyphens.
fn category_slug(name: &str) -> String {
    let slug = slugify(name);
    if slug.is_empty() { "category".to_owned() } else { slug }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "---\ntitle: \"Resetting a password\"\nslug: reset-password\ncategory: Accounts\ntags: [Login, 'password']\nlocale: en\nstatus: published\n---\n\n# Resetting\n\nOpen the sign-in page.\n";

    #[test]
    fn front_matter_and_body_are_read() {
        let source = ArticleSource::parse(FILE).expect("parsed");
        assert_eq!(source.title, "Resetting a password");
        assert_eq!(source.slug, "reset-password");
        assert_eq!(source.category.as_deref(), Some("Accounts"));
        assert_eq!(source.tags, ["login", "password"]);
        assert_eq!(source.status, ArticleStatus::Published);
        assert_eq!(source.body, "# Resetting\n\nOpen the sign-in page.\n");
    }

    #[test]
    fn missing_or_bad_front_matter_is_explained() {
        let cases = [
            ("# No front matter", "does not start with front matter"),
            ("---\ntitle: x\nslug: x\n", "never ends"),
            ("---\ntitle: x\n---\nbody", "no slug"),
            ("---\ntitle: x\nslug: Bad Slug\n---\n", "lower-case letters"),
            ("---\ntitle: x\nslug: x\nstatus: public\n---\n", "unknown status 'public'"),
            ("---\ntitle: x\nslug: x\ncolour: red\n---\n", "unknown front matter field 'colour'"),
            ("---\ntitle: x\nslug: x\nlocale: english\n---\n", "locale 'english'"),
        ];
        for (text, expected) in cases {
            let error = ArticleSource::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn articles_are_drafts_unless_they_say_otherwise() {
        let source = ArticleSource::parse("---\ntitle: x\nslug: x\n---\nbody").expect("parsed");
        assert_eq!((source.status, source.locale.as_str()), (ArticleStatus::Draft, "en"));
    }

    #[test]
    fn the_starter_knowledge_base_is_compiled_in_and_every_article_parses() {
        assert!(STARTER_ARTICLES.len() >= 2);
        for (name, text) in STARTER_ARTICLES {
            ArticleSource::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert_eq!(category_slug("Getting started!"), "getting-started");
    }
}

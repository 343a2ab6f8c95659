//! The agents' side of the knowledge base: the list of every article (any status, any locale),
//! one article with its history, saving, and the markdown preview.
//!
//! Every active agent may write articles; [`authorize`] is the one place that says so. A save
//! that changes something keeps the version it replaces as a revision (with who wrote it and
//! when) and makes the saving agent the author; a save that changes nothing writes nothing. The
//! preview is [`crate::platform::markdown::to_safe_html`], the very rendering the help centre publishes.
//! Saved articles reach the search index through the change-log triggers on `kb_articles`, and
//! published ones the help centre, with nothing more to do here.

use serde_json::json;

use crate::agents::Agent;
use crate::kb::{ArticleDraft, ArticleStatus, ArticleSummary, EditableArticle, Revision};
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, on_pool};
use crate::error::{Error, FieldError, Result};
use crate::kb::{self, MAX_BODY_BYTES};
use crate::platform::time::Timestamp;

/// The most articles the list shows (most recently changed first).
const LISTED: i64 = 500;
/// The most revisions an article's history shows (newest first).
const REVISIONS_SHOWN: i64 = 200;
/// The longest title, in characters (as imports allow).
const MAX_TITLE_CHARS: usize = 200;
/// The longest category name or tag, in characters.
const MAX_NAME_CHARS: usize = 100;
/// The longest slug, in bytes (as [`kb::valid_slug`] allows).
const MAX_SLUG_BYTES: usize = 100;

/// What an agent does with articles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArticleAction {
    /// List articles, open one, preview markdown.
    View,
    /// Create or change an article.
    Write,
}

/// Decides whether `actor` may do `action` with articles: every active agent reads and writes
/// them. Customers have no agent, so they never get this far.
pub fn authorize(actor: &Agent, _action: ArticleAction) -> Result<()> {
    if actor.active { Ok(()) } else { Err(Error::Unauthenticated) }
}

fn status_of(text: &str) -> Result<ArticleStatus> {
    text.parse().map_err(|e: FieldError| Error::internal(e.message))
}

fn tags_text(json: &str) -> String {
    serde_json::from_str::<Vec<String>>(json).unwrap_or_default().join(", ")
}

type SummaryRow = (i64, String, String, String, String, Option<String>, Option<String>, Timestamp);

/// Every article, most recently changed first, optionally only those with `status`.
pub async fn list(
    ctx: &AppContext,
    actor: &Agent,
    status: Option<ArticleStatus>,
) -> Result<Vec<ArticleSummary>> {
    authorize(actor, ArticleAction::View)?;
    let status = status.map_or("", ArticleStatus::as_str);
    let rows: Vec<SummaryRow> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT a.id, a.title, a.slug, a.locale, a.status, c.name, g.name, a.updated_at FROM kb_articles a
         LEFT JOIN kb_categories c ON c.id = a.category_id LEFT JOIN agents g ON g.id = a.author_id
         WHERE $1 = '' OR a.status = $1
         ORDER BY a.updated_at DESC, a.id DESC LIMIT $2"
    )
    .bind(status)
    .bind(LISTED)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter()
        .map(|(id, title, slug, locale, status, category, author, updated_at)| {
            Ok(ArticleSummary {
                id,
                title,
                slug,
                locale,
                status: status_of(&status)?,
                category,
                author,
                updated_at,
            })
        })
        .collect()
}

type ArticleRow =
    (String, String, String, String, String, String, Option<String>, Option<String>, Timestamp);

/// Article `id` as the editor shows it, with its earlier versions.
pub async fn get(ctx: &AppContext, actor: &Agent, id: i64) -> Result<EditableArticle> {
    authorize(actor, ArticleAction::View)?;
    let row: Option<ArticleRow> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT a.title, a.slug, a.locale, a.tags, a.status, a.body, c.name, g.name, a.updated_at FROM kb_articles a
         LEFT JOIN kb_categories c ON c.id = a.category_id LEFT JOIN agents g ON g.id = a.author_id
         WHERE a.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    })?;
    let (title, slug, locale, tags, status, body, category, author, updated_at) =
        row.ok_or(Error::NotFound("article"))?;
    let revisions: Vec<(i64, String, Option<String>, Timestamp)> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT r.id, r.title, g.name, r.created_at FROM kb_revisions r LEFT JOIN agents g ON g.id = r.author_id
         WHERE r.article_id = $1 ORDER BY r.id DESC LIMIT $2"
    )
    .bind(id)
    .bind(REVISIONS_SHOWN)
    .fetch_all(pool)
    .await
    })?;
    Ok(EditableArticle {
        id,
        draft: ArticleDraft {
            title,
            slug,
            locale,
            category: category.unwrap_or_default(),
            tags: tags_text(&tags),
            status,
            body,
        },
        author,
        updated_at,
        revisions: revisions
            .into_iter()
            .map(|(id, title, author, created_at)| Revision { id, title, author, created_at })
            .collect(),
    })
}

/// The category names, in order, for the editor to offer.
pub async fn categories(ctx: &AppContext, actor: &Agent) -> Result<Vec<String>> {
    authorize(actor, ArticleAction::View)?;
    Ok(on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "SELECT name FROM kb_categories ORDER BY position, name"
    )
    .fetch_all(pool)
    .await)?)
}

/// `markdown` rendered exactly as the help centre publishes it: sanitized HTML.
pub async fn preview(actor: &Agent, markdown: String) -> Result<String> {
    authorize(actor, ArticleAction::View)?;
    if markdown.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    crate::platform::markdown::render(markdown).await
}

fn too_large() -> Error {
    Error::invalid("body", format!("The article is larger than {} KiB.", MAX_BODY_BYTES / 1024))
}

fn slug_taken() -> Error {
    Error::invalid("slug", "Another article in this locale has this slug. Pick another.")
}

/// An article's values, checked and normalized for storing.
#[derive(Debug, PartialEq, Eq)]
struct Checked {
    locale: String,
    slug: String,
    title: String,
    body: String,
    category: Option<String>,
    /// JSON list of lower-case tags, as stored.
    tags: String,
    status: ArticleStatus,
}

/// Checks every field of `draft`, saying what is wrong with each. A new article (`is_new`) with
/// no slug takes one made from its title.
fn check(draft: &ArticleDraft, is_new: bool) -> Result<Checked> {
    let mut problems = Vec::new();
    let title = draft.title.trim().to_owned();
    if title.is_empty() {
        problems.push(FieldError::new("title", "Enter a title."));
    } else if title.chars().count() > MAX_TITLE_CHARS {
        problems.push(FieldError::new(
            "title",
            format!("Keep the title within {MAX_TITLE_CHARS} characters."),
        ));
    }
    let mut slug = draft.slug.trim().to_owned();
    if slug.is_empty() && is_new {
        slug = kb::slugify(&title);
        slug.truncate(MAX_SLUG_BYTES);
        slug = slug.trim_end_matches('-').to_owned();
    }
    if slug.is_empty() {
        if !title.is_empty() || !is_new {
            problems.push(FieldError::new(
                "slug",
                "Enter a slug: lower-case letters, digits and single hyphens.",
            ));
        }
    } else if !kb::valid_slug(&slug) {
        problems.push(FieldError::new(
            "slug",
            "Use lower-case letters, digits and single hyphens, like reset-password.",
        ));
    }
    let locale = draft.locale.trim().to_owned();
    if !kb::valid_locale(&locale) {
        problems.push(FieldError::new("locale", "Use a locale like en or pt-BR."));
    }
    let category = Some(draft.category.trim().to_owned()).filter(|c| !c.is_empty());
    if category.as_ref().is_some_and(|c| c.chars().count() > MAX_NAME_CHARS) {
        problems.push(FieldError::new(
            "category",
            format!("Keep the category name within {MAX_NAME_CHARS} characters."),
        ));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in draft.tags.split(',').map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        if tag.chars().count() > MAX_NAME_CHARS {
            problems.push(FieldError::new(
                "tags",
                format!("Keep each tag within {MAX_NAME_CHARS} characters."),
            ));
            break;
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let status = draft
        .status
        .parse::<ArticleStatus>()
        .map_err(|e| problems.push(FieldError::new("status", e.message)))
        .ok();
    // Browsers send a textarea's lines ending in CR LF; trailing blank lines carry no meaning.
    let body = draft.body.replace("\r\n", "\n");
    let body = match body.trim_end() {
        "" => String::new(),
        text => format!("{text}\n"),
    };
    if body.len() > MAX_BODY_BYTES {
        problems.push(FieldError::new(
            "body",
            format!("The article is larger than {} KiB.", MAX_BODY_BYTES / 1024),
        ));
    }
    match status {
        Some(status) if problems.is_empty() => Ok(Checked {
            locale,
            slug,
            title,
            body,
            category,
            tags: json!(tags).to_string(),
            status,
        }),
        _ => Err(Error::Invalid(problems)),
    }
}

type StoredArticle = (String, String, String, String, Option<i64>, String, String);

/// Creates an article (`id` is `None`) or changes article `id`, as `actor`; returns its id. A
/// change keeps the replaced version as a revision and makes `actor` the author; saving what is
/// already stored changes nothing. A slug another article of the locale has is a field error.
pub async fn save(
    ctx: &AppContext,
    actor: &Agent,
    id: Option<i64>,
    draft: &ArticleDraft,
) -> Result<i64> {
    authorize(actor, ArticleAction::Write)?;
    let article = check(draft, id.is_none())?;
    let now = Timestamp::now();
    let saved = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let current: Option<StoredArticle> = match id {
            Some(id) => Some(
                sqlx::query_as("SELECT locale, slug, title, body, category_id, tags, status FROM kb_articles WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(Error::NotFound("article"))?,
            ),
            None => None,
        };
        let holder: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_articles WHERE locale = $1 AND slug = $2")
            .bind(&article.locale)
            .bind(&article.slug)
            .fetch_optional(&mut *tx)
            .await?;
        if holder.is_some_and(|holder| Some(holder) != id) {
            return Err(slug_taken());
        }
        let category_id = match &article.category {
            Some(name) => Some(kb::category_id(&mut *tx, name, now).await?),
            None => None,
        };
        let wanted = (&article.locale, &article.slug, &article.title, &article.body, category_id, &article.tags, article.status.as_str());
        let id = match (id, current) {
            (Some(id), Some((locale, slug, title, body, category, tags, status)))
                if wanted == (&locale, &slug, &title, &body, category, &tags, status.as_str()) =>
            {
                return Ok(id);
            }
            (Some(id), _) => {
                kb::keep_revision(&mut *tx, id).await?;
                id
            }
            // A new article is inserted with its key, then filled in like a changed one.
            (None, _) => kb::insert_key(&mut *tx, &article.locale, &article.slug, now).await?,
        };
        sqlx::query(
            "UPDATE kb_articles SET locale = $2, slug = $3, title = $4, body = $5, category_id = $6, tags = $7, status = $8,
                 author_id = $9, updated_at = $10 WHERE id = $1",
        )
        .bind(id)
        .bind(&article.locale)
        .bind(&article.slug)
        .bind(&article.title)
        .bind(&article.body)
        .bind(category_id)
        .bind(&article.tags)
        .bind(article.status.as_str())
        .bind(actor.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(id)
    }
    .await
    });
    // Another save may take the slug between the check and the write.
    saved.map_err(|e| if e.is_unique_violation() { slug_taken() } else { e })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(title: &str, slug: &str) -> ArticleDraft {
        ArticleDraft {
            title: title.into(),
            slug: slug.into(),
            locale: "en".into(),
            status: "draft".into(),
            ..ArticleDraft::default()
        }
    }

    #[test]
    fn a_new_article_without_a_slug_takes_one_from_its_title() {
        let checked = check(&draft("  Resetting your Password (2FA)! ", ""), true).expect("valid");
        assert_eq!(
            (checked.slug.as_str(), checked.title.as_str()),
            ("resetting-your-password-2fa", "Resetting your Password (2FA)!")
        );
        let long = "word ".repeat(40);
        let checked = check(&draft(&long, ""), true).expect("valid");
        assert!(
            checked.slug.len() <= MAX_SLUG_BYTES && kb::valid_slug(&checked.slug),
            "{}",
            checked.slug
        );
    }

    #[test]
    fn every_invalid_field_is_named() {
        let bad = ArticleDraft {
            title: String::new(),
            slug: "Bad Slug".into(),
            locale: "english".into(),
            category: "c".repeat(101),
            tags: "ok, ".to_owned() + &"t".repeat(101),
            status: "public".into(),
            body: "x".repeat(MAX_BODY_BYTES + 1),
        };
        let Err(Error::Invalid(problems)) = check(&bad, false) else { panic!("invalid") };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["title", "slug", "locale", "category", "tags", "status", "body"]);
        let Err(Error::Invalid(problems)) = check(&draft("Title", ""), false) else {
            panic!("an existing article needs its slug")
        };
        assert_eq!(problems[0].field, "slug");
    }

    #[test]
    fn tags_are_lower_cased_once_each_and_line_ends_are_normalized() {
        let mut typed = draft("T", "t");
        typed.tags = "Billing, billing ,, Cards".into();
        typed.body = "Line one\r\nLine two\r\n\r\n".into();
        let checked = check(&typed, false).expect("valid");
        assert_eq!(checked.tags, r#"["billing","cards"]"#);
        assert_eq!(checked.body, "Line one\nLine two\n");
    }
}

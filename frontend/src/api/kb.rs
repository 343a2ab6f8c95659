//! The agents' knowledge-base editor: the article list, one article with its revisions, saving,
//! and the live markdown preview. Signed-in agents only; the rules live in
//! `frontdesk_core::kb::editor`.
#![expect(
    clippy::too_many_arguments,
    reason = "one argument per form field or filter; on the item, #[server] would copy the \
              expectation onto a generated item where it goes unfulfilled"
)]
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::kb::{ArticleSummary, EditableArticle};
use leptos::prelude::*;

use super::ApiError;

/// Every article, most recently changed first; `status` (`draft`, `internal`, `published`)
/// narrows the list, empty shows all.
#[server(prefix = "/api", endpoint = "list_kb_articles")]
pub async fn list_kb_articles(status: String) -> Result<Vec<ArticleSummary>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            let status = match status.trim() {
                "" => None,
                s => Some(s.parse().map_err(|e| ApiError::Invalid(vec![e]))?),
            };
            Ok(frontdesk_core::kb::editor::list(&ctx, &agent, status).await?)
        }
        .await,
    )
}

/// One article with its revisions, newest first.
#[server(prefix = "/api", endpoint = "load_kb_article")]
pub async fn load_kb_article(id: i64) -> Result<EditableArticle, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::kb::editor::get(&ctx, &agent, id).await?)
        }
        .await,
    )
}

/// The category names an article may be filed under.
#[server(prefix = "/api", endpoint = "list_kb_categories")]
pub async fn list_kb_categories() -> Result<Vec<String>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::kb::editor::categories(&ctx, &agent).await?)
        }
        .await,
    )
}

/// Creates (`id` empty) or changes an article; returns its id. The slug of a new article may be
/// left empty (it is made from the title); `tags` are comma-separated.
#[server(prefix = "/api", endpoint = "save_kb_article")]
pub async fn save_kb_article(
    id: String,
    title: String,
    slug: String,
    locale: String,
    category: String,
    tags: String,
    status: String,
    body: String,
) -> Result<i64, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::kb::ArticleDraft;
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            let id = match id.trim() {
                "" => None,
                id => Some(id.parse().map_err(|_| ApiError::NotFound)?),
            };
            let draft = ArticleDraft { title, slug, locale, category, tags, status, body };
            Ok(frontdesk_core::kb::editor::save(&ctx, &agent, id, &draft).await?)
        }
        .await,
    )
}

/// `body` rendered exactly as the help centre will publish it (sanitized HTML).
#[server(prefix = "/api", endpoint = "preview_kb_article")]
pub async fn preview_kb_article(body: String) -> Result<String, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (_, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::kb::editor::preview(&agent, body).await?)
        }
        .await,
    )
}

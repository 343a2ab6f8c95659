//! Search: the agents' global search and similar-ticket panel, the public help-centre search
//! (a signed-in customer also finds their own tickets), article feedback, and what to write next.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::search::{ContentGap, Found, FoundItem, SearchQuery};
use leptos::prelude::*;

use super::ApiError;

/// Everything an agent may find: articles in any status, tickets with internal notes.
#[server(prefix = "/api", endpoint = "search_everything")]
pub async fn search_everything(query: SearchQuery) -> Result<Found, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::search::search_as_agent(&ctx, &agent, &query).await?)
        }
        .await,
    )
}

/// Published articles, and a signed-in customer's own tickets.
#[server(prefix = "/api", endpoint = "search_help")]
pub async fn search_help(query: SearchQuery) -> Result<Found, ApiError> {
    use super::server::{client_ip, context, respond, session, session_error};
    respond(
        async {
            let ctx = context()?;
            ctx.part::<frontdesk_core::portal::PortalLimits>().check_search(client_ip().await?)?;
            let contact: Option<i64> = session()
                .await?
                .get(frontdesk_core::agents::sessions::CONTACT_ID_KEY)
                .await
                .map_err(session_error)?;
            Ok(frontdesk_core::search::search_public(&ctx, contact, &query).await?)
        }
        .await,
    )
}

/// Up to five published articles that may answer what a visitor or customer is typing (a help
/// search, or a new request's subject and message). Counted apart from searches, with a larger
/// budget, so typing never uses up the searches.
#[server(prefix = "/api", endpoint = "suggest_articles")]
pub async fn suggest_articles(text: String) -> Result<Vec<FoundItem>, ApiError> {
    use super::server::{client_ip, context, respond};
    respond(
        async {
            let ctx = context()?;
            Ok(frontdesk_core::portal::suggest_articles(&ctx, &text, client_ip().await?).await?)
        }
        .await,
    )
}

/// Solved tickets and articles like ticket `number`, with their resolutions.
#[server(prefix = "/api", endpoint = "similar_answers")]
pub async fn similar_answers(number: i64) -> Result<Vec<FoundItem>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::search::similar(&ctx, &agent, number).await?)
        }
        .await,
    )
}

/// "Was this helpful?" on a published article.
#[server(prefix = "/api", endpoint = "rate_article")]
pub async fn rate_article(slug: String, helpful: bool) -> Result<(), ApiError> {
    use super::server::{client_ip, context, respond};
    respond(
        async {
            let ctx = context()?;
            ctx.part::<frontdesk_core::portal::PortalLimits>().check_search(client_ip().await?)?;
            Ok(frontdesk_core::kb::rate(&ctx, &slug, helpful).await?)
        }
        .await,
    )
}

/// Searches that found nothing and articles voted unhelpful (admins).
#[server(prefix = "/api", endpoint = "list_content_gaps")]
pub async fn list_content_gaps() -> Result<Vec<ContentGap>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::kb::content_gaps(&ctx, &agent).await?)
        }
        .await,
    )
}

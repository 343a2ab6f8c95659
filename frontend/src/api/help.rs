//! The public help centre: published knowledge-base articles by category. No sign-in.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::kb::help::{HelpArticle, HelpCategory};
use leptos::prelude::*;

use super::ApiError;

/// Every category with its published articles.
#[server(prefix = "/api", endpoint = "list_help_categories")]
pub async fn list_help_categories() -> Result<Vec<HelpCategory>, ApiError> {
    use super::server::{context, respond};
    respond(async { Ok(frontdesk_core::kb::help_categories(&context()?).await?) }.await)
}

/// One published article (not found otherwise).
#[server(prefix = "/api", endpoint = "get_help_article")]
pub async fn get_help_article(slug: String) -> Result<HelpArticle, ApiError> {
    use super::server::{context, respond};
    respond(async { Ok(frontdesk_core::kb::help_article(&context()?, &slug).await?) }.await)
}

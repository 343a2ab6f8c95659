//! Live chat for agents and admins: a chat's transcript, accepting, transferring and ending
//! chats, canned responses, and the widget sites admins set up. The rules live in
//! `frontdesk_core::chats`, `frontdesk_core::chats::canned` and `frontdesk_core::chats::sites`; live
//! traffic (messages, typing, the inbox) goes over the agents' socket, not through here.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::chats::{CannedResponse, ChatDetail, ChatSummary, WidgetSite};
use leptos::prelude::*;

use super::ApiError;

/// A chat with its whole transcript (also shown on its ticket).
#[server(prefix = "/api", endpoint = "load_chat")]
pub async fn load_chat(number: i64) -> Result<ChatDetail, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::chats::detail(&ctx, &agent, number).await?)
        }
        .await,
    )
}

/// Takes a queued chat, or confirms one routed to this agent.
#[server(prefix = "/api", endpoint = "accept_chat")]
pub async fn accept_chat(number: i64) -> Result<ChatSummary, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::chats::accept(&ctx, &agent, number).await?)
        }
        .await,
    )
}

/// Hands a chat to an agent (`to` = `agent:ID`) or back to the queue for a team (`team:ID`).
#[server(prefix = "/api", endpoint = "transfer_chat")]
pub async fn transfer_chat(number: i64, to: String) -> Result<ChatSummary, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::chats::TransferTo;
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            let target = match to.split_once(':') {
                Some(("agent", id)) => id.parse().ok().map(TransferTo::Agent),
                Some(("team", id)) => id.parse().ok().map(TransferTo::Team),
                _ => None,
            };
            let target = target.ok_or_else(|| {
                ApiError::Invalid(vec![frontdesk_core::error::FieldError::new(
                    "to",
                    "Choose an agent or a team.",
                )])
            })?;
            Ok(frontdesk_core::chats::transfer(&ctx, &agent, number, target).await?)
        }
        .await,
    )
}

/// Ends a chat; with `solve` its ticket is solved, otherwise it stays open.
#[server(prefix = "/api", endpoint = "end_chat")]
pub async fn end_chat(number: i64, solve: bool) -> Result<ChatSummary, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::chats::end(&ctx, &agent, number, solve).await?)
        }
        .await,
    )
}

/// Every canned response, by shortcut.
#[server(prefix = "/api", endpoint = "list_canned_responses")]
pub async fn list_canned_responses() -> Result<Vec<CannedResponse>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::chats::canned::list(&ctx, &agent).await?)
        }
        .await,
    )
}

/// Adds (`id` empty) or changes a canned response.
#[server(prefix = "/api", endpoint = "save_canned_response")]
pub async fn save_canned_response(
    id: String,
    shortcut: String,
    title: String,
    body: String,
) -> Result<CannedResponse, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            let id = match id.trim() {
                "" => None,
                id => Some(id.parse().map_err(|_| ApiError::NotFound)?),
            };
            let draft = frontdesk_core::chats::canned::CannedDraft::parse(&shortcut, &title, &body)
                .map_err(ApiError::Invalid)?;
            Ok(frontdesk_core::chats::canned::save(&ctx, &agent, id, draft).await?)
        }
        .await,
    )
}

/// Removes a canned response.
#[server(prefix = "/api", endpoint = "delete_canned_response")]
pub async fn delete_canned_response(id: i64) -> Result<(), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::chats::canned::delete(&ctx, &agent, id).await?)
        }
        .await,
    )
}

/// Every widget site (admins only).
#[server(prefix = "/api", endpoint = "list_widget_sites")]
pub async fn list_widget_sites() -> Result<Vec<WidgetSite>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            Ok(frontdesk_core::chats::sites::list(&ctx, &agent).await?)
        }
        .await,
    )
}

/// Creates (`id` empty) or changes a widget site; `allowed_origins` is one origin per line.
#[server(prefix = "/api", endpoint = "save_widget_site")]
pub async fn save_widget_site(
    id: String,
    name: String,
    allowed_origins: String,
    greeting: String,
    enforce_identity: Option<String>,
    ask_email: Option<String>,
) -> Result<WidgetSite, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::chats::sites::{self, SiteSettings};
    respond(
        async {
            let (ctx, agent) = signed_in_agent().await?;
            let settings = SiteSettings::parse(
                &name,
                &allowed_origins,
                enforce_identity.is_some(),
                &greeting,
                ask_email.is_some(),
            )
            .map_err(ApiError::Invalid)?;
            Ok(match id.trim() {
                "" => sites::create(&ctx, &agent, settings).await?,
                id => {
                    sites::update(
                        &ctx,
                        &agent,
                        id.parse().map_err(|_| ApiError::NotFound)?,
                        settings,
                    )
                    .await?
                }
            })
        }
        .await,
    )
}

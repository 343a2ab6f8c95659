//! The signed-in agent's notifications (SLA warnings and breaches on their tickets).
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::agents::Notification;
use leptos::prelude::*;

use super::ApiError;

/// The agent's latest notifications, newest first, and how many are unread.
#[server(prefix = "/api", endpoint = "list_notifications")]
pub async fn list_notifications() -> Result<(Vec<Notification>, i64), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::agents::notifications::recent(&ctx, &actor).await?)
        }
        .await,
    )
}

/// How many of the agent's notifications are unread.
#[server(prefix = "/api", endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<i64, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::agents::notifications::unread_count(&ctx, &actor).await?)
        }
        .await,
    )
}

/// Marks the agent's notifications up to id `up_to` read.
#[server(prefix = "/api", endpoint = "mark_notifications_read")]
pub async fn mark_notifications_read(up_to: i64) -> Result<u64, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::agents::notifications::mark_read(&ctx, &actor, up_to).await?)
        }
        .await,
    )
}

//! The email channel's server functions: admins' mailboxes, quarantine and outbox; a ticket's
//! email side; each agent's email notification choices. Who may do what is decided by
//! `frontdesk_core::mail`.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]
#![expect(
    clippy::too_many_arguments,
    reason = "a server function takes one argument per form field"
)]

use frontdesk_core::mail::{MailPreferences, Mailbox, OutboxEmail, QuarantinedMail, TicketMail};
use leptos::prelude::*;

use super::ApiError;

/// Every mailbox (admins).
#[server(prefix = "/api", endpoint = "list_mailboxes")]
pub async fn list_mailboxes() -> Result<Vec<Mailbox>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::mailboxes(&ctx, &actor).await?)
        }
        .await,
    )
}

/// Adds a mailbox (`id` empty) or changes one (admins).
#[server(prefix = "/api", endpoint = "save_mailbox")]
pub async fn save_mailbox(
    id: String,
    name: String,
    address: String,
    display_name: String,
    team_id: String,
    signature: String,
    acknowledge: Option<String>,
    ack_subject: String,
    ack_body: String,
    plus_addressing: Option<String>,
) -> Result<Mailbox, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::mail::{self, MailboxInput};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let team_id = match team_id.trim() {
                "" => None,
                team => Some(team.parse().map_err(|_| {
                    ApiError::Invalid(vec![frontdesk_core::error::FieldError::new(
                        "team_id",
                        "Choose a team.",
                    )])
                })?),
            };
            let input = MailboxInput {
                name,
                address,
                display_name,
                team_id,
                signature,
                acknowledge: acknowledge.is_some(),
                ack_subject,
                ack_body,
                plus_addressing: plus_addressing.is_some(),
            };
            Ok(match id.trim() {
                "" => mail::create_mailbox(&ctx, &actor, input).await?,
                id => {
                    let id = id.parse().map_err(|_| ApiError::NotFound)?;
                    mail::update_mailbox(&ctx, &actor, id, input).await?
                }
            })
        }
        .await,
    )
}

/// Makes a new secret for a mailbox's HTTP endpoint and returns it, once (admins).
#[server(prefix = "/api", endpoint = "new_mailbox_secret")]
pub async fn new_mailbox_secret(id: i64) -> Result<String, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::new_inbound_secret(&ctx, &actor, id).await?)
        }
        .await,
    )
}

/// Mail held back, with the reasons (admins).
#[server(prefix = "/api", endpoint = "list_quarantine")]
pub async fn list_quarantine() -> Result<Vec<QuarantinedMail>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::quarantine(&ctx, &actor).await?)
        }
        .await,
    )
}

/// Releases a quarantined message into the tickets; returns what became of it (admins).
#[server(prefix = "/api", endpoint = "release_quarantined")]
pub async fn release_quarantined(id: i64) -> Result<String, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::release(&ctx, &actor, id).await?.describe())
        }
        .await,
    )
}

/// Deletes a quarantined message (admins).
#[server(prefix = "/api", endpoint = "delete_quarantined")]
pub async fn delete_quarantined(id: i64) -> Result<(), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::delete_from_quarantine(&ctx, &actor, id).await?)
        }
        .await,
    )
}

/// The newest outgoing emails with their delivery state (admins).
#[server(prefix = "/api", endpoint = "list_outbox")]
pub async fn list_outbox() -> Result<Vec<OutboxEmail>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::outbox(&ctx, &actor).await?)
        }
        .await,
    )
}

/// A ticket's email side: followers, delivery states, originals and files.
#[server(prefix = "/api", endpoint = "load_ticket_mail")]
pub async fn load_ticket_mail(number: i64) -> Result<TicketMail, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::ticket_mail(&ctx, &actor, number).await?)
        }
        .await,
    )
}

/// Which notifications the signed-in agent gets by email.
#[server(prefix = "/api", endpoint = "load_mail_preferences")]
pub async fn load_mail_preferences() -> Result<MailPreferences, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::mail::preferences(&ctx, &actor).await?)
        }
        .await,
    )
}

/// Sets which notifications the signed-in agent gets by email (a checkbox left out is off).
#[server(prefix = "/api", endpoint = "save_mail_preferences")]
pub async fn save_mail_preferences(
    assigned: Option<String>,
    customer_replied: Option<String>,
    sla: Option<String>,
) -> Result<MailPreferences, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let wanted = MailPreferences {
                assigned: assigned.is_some(),
                customer_replied: customer_replied.is_some(),
                sla: sla.is_some(),
            };
            Ok(frontdesk_core::mail::set_preferences(&ctx, &actor, wanted).await?)
        }
        .await,
    )
}

//! The customer portal's server functions: the public request form, sign-in links, and the
//! customer's own tickets. Every function that reads tickets takes the contact from the session,
//! never from the request.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::tickets::CustomerTicket;
use leptos::prelude::*;

use super::ApiError;

/// Where signed-in customers land.
pub const PORTAL_PATH: &str = "/portal";

/// Opens a request from the public form; the customer gets a sign-in link to follow it.
/// Returns the ticket number.
#[server(prefix = "/api", endpoint = "portal_submit")]
pub async fn portal_submit(
    name: String,
    email: String,
    subject: String,
    body: String,
) -> Result<i64, ApiError> {
    use super::server::{client_ip, context, respond};
    use frontdesk_core::agents::{Email, PersonName};
    use frontdesk_core::portal::{self, PortalRequest};
    use frontdesk_core::tickets::{MessageBody, Subject};
    respond(
        async {
            let ctx = context()?;
            let request = match (
                PersonName::parse(&name),
                Email::parse(&email),
                Subject::parse(&subject),
                MessageBody::parse(&body),
            ) {
                (Ok(name), Ok(email), Ok(subject), Ok(body)) => {
                    PortalRequest { name, email, subject, body }
                }
                (a, b, c, d) => {
                    return Err(ApiError::Invalid(
                        [a.err(), b.err(), c.err(), d.err()].into_iter().flatten().collect(),
                    ));
                }
            };
            Ok(portal::submit_request(&ctx, request, client_ip().await?).await?)
        }
        .await,
    )
}

/// Sends a new sign-in link to a customer's email (the answer is the same for unknown emails).
#[server(prefix = "/api", endpoint = "portal_request_link")]
pub async fn portal_request_link(email: String) -> Result<(), ApiError> {
    use super::server::{client_ip, context, respond};
    respond(
        async {
            let ctx = context()?;
            let email = frontdesk_core::agents::Email::parse(&email)
                .map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(frontdesk_core::portal::request_link(&ctx, &email, client_ip().await?).await?)
        }
        .await,
    )
}

/// Uses a sign-in link (once) and starts the customer's session.
#[server(prefix = "/api", endpoint = "portal_redeem")]
pub async fn portal_redeem(token: String) -> Result<(), ApiError> {
    use super::server::{context, respond, session, start_customer_session};
    respond(
        async {
            let ctx = context()?;
            let contact_id = frontdesk_core::portal::redeem_link(&ctx, &token).await?;
            start_customer_session(&session().await?, contact_id).await?;
            leptos_axum::redirect(PORTAL_PATH);
            Ok(())
        }
        .await,
    )
}

/// The signed-in customer's tickets.
#[server(prefix = "/api", endpoint = "portal_tickets")]
pub async fn portal_tickets() -> Result<Vec<CustomerTicket>, ApiError> {
    use super::server::{respond, signed_in_contact};
    respond(
        async {
            let (ctx, contact_id) = signed_in_contact().await?;
            Ok(frontdesk_core::portal::my_tickets(&ctx, contact_id).await?)
        }
        .await,
    )
}

/// One of the signed-in customer's tickets.
#[server(prefix = "/api", endpoint = "portal_ticket")]
pub async fn portal_ticket(number: i64) -> Result<CustomerTicket, ApiError> {
    use super::server::{respond, signed_in_contact};
    respond(
        async {
            let (ctx, contact_id) = signed_in_contact().await?;
            Ok(frontdesk_core::portal::get_ticket(&ctx, contact_id, number).await?)
        }
        .await,
    )
}

/// The signed-in customer answers one of their tickets.
#[server(prefix = "/api", endpoint = "portal_reply")]
pub async fn portal_reply(number: i64, body: String) -> Result<CustomerTicket, ApiError> {
    use super::server::{respond, signed_in_contact};
    respond(
        async {
            let (ctx, contact_id) = signed_in_contact().await?;
            let body = frontdesk_core::tickets::MessageBody::parse(&body)
                .map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(frontdesk_core::portal::reply(&ctx, contact_id, number, body).await?)
        }
        .await,
    )
}

/// Ends the customer's session.
#[server(prefix = "/api", endpoint = "portal_sign_out")]
pub async fn portal_sign_out() -> Result<(), ApiError> {
    use super::server::{respond, session, session_error};
    respond(
        async {
            session().await?.flush().await.map_err(session_error)?;
            leptos_axum::redirect(PORTAL_PATH);
            Ok(())
        }
        .await,
    )
}

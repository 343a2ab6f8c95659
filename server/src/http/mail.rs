//! Email over HTTP:
//!
//! - `POST /api/mail/inbound/{mailbox}`: a raw RFC 5322 message as the body, for hosted mail
//!   providers, with the mailbox's secret as `Authorization: Bearer ...`. Answers 202 with what
//!   became of it (a stored duplicate too), 401 for a wrong secret, 404 for an unknown mailbox,
//!   413 past the size limit.
//! - `GET /api/mail/originals/{id}`: a received message as it came (`.eml`), for agents;
//! - `GET /api/mail/files/{id}`: a file that came with an email, for agents.
//!
//! Who may do what is decided by [`frontdesk_core::mail`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::AppContext;
use frontdesk_core::error::Error;
use frontdesk_core::mail::{self, MailSettings};
use frontdesk_frontend::api::{ApiError, agent_of_session};
use tower_sessions::Session;

use super::attachments::as_download;

/// Room for the largest message accepted (a larger body is refused with 413).
pub(super) fn inbound_limit(ctx: &AppContext) -> DefaultBodyLimit {
    DefaultBodyLimit::max(ctx.part::<MailSettings>().max_message_bytes.saturating_add(1))
}

pub(super) async fn inbound(
    State(ctx): State<AppContext>,
    Path(mailbox): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    if secret.is_empty() {
        return Err(Error::Unauthenticated.into());
    }
    let outcome = mail::receive_posted(&ctx, &mailbox, &secret, body.to_vec()).await?;
    let answer = serde_json::json!({ "outcome": outcome.describe() });
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

pub(super) async fn original(
    State(ctx): State<AppContext>,
    Path(id): Path<i64>,
    session: Session,
) -> Result<Response, ApiError> {
    let agent = agent_of_session(&ctx, &session).await?;
    let raw = mail::original(&ctx, &agent, id).await?;
    Ok(as_download(&format!("message-{id}.eml"), "message/rfc822", raw))
}

pub(super) async fn file(
    State(ctx): State<AppContext>,
    Path(id): Path<i64>,
    session: Session,
) -> Result<Response, ApiError> {
    let agent = agent_of_session(&ctx, &session).await?;
    let (file, data) = mail::file(&ctx, &agent, id).await?;
    Ok(as_download(&file.file_name, &file.content_type, data))
}

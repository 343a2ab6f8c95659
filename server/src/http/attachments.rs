//! Files sent in chats. The uploader's raw body is the file, its type in `Content-Type` and its
//! name percent-encoded in `X-File-Name`; a message then carries its id.
//!
//! - `POST /api/widget/attachments?site=&visitor=`: a visitor's file for their open chat;
//! - `POST /api/chat/{number}/attachments`: an agent's file for a chat they may write in;
//! - `GET /api/chat/attachments/{id}`: a chat's file for its visitor (site and token in the
//!   query) or any agent (session), always as a download that cannot run in our origin.
//!
//! Who may upload or download is decided by [`frontdesk_core::chats`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::AppContext;
use frontdesk_core::chats::MAX_ATTACHMENT_BYTES;
use frontdesk_core::chats::sites::{self, Visitor};
use frontdesk_core::chats::{self, Downloader, NewFile};
use frontdesk_core::error::Error;
use frontdesk_frontend::api::{ApiError, agent_of_session};
use serde::Deserialize;
use tower_sessions::Session;

/// Room for one file in an upload's body (the global cap is smaller).
pub(super) fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES + 1024)
}

/// The site and visitor a request speaks for (query `site` and `visitor`).
#[derive(Debug, Deserialize)]
pub(super) struct VisitorQuery {
    site: String,
    visitor: String,
}

impl VisitorQuery {
    async fn visitor(&self, ctx: &AppContext) -> Result<Visitor, Error> {
        let site = sites::by_public_token(ctx.db(), &self.site).await?;
        sites::visitor_by_token(ctx.db(), &site, &self.visitor).await
    }
}

/// The file a request carries.
fn new_file<'a>(headers: &'a HeaderMap, name: &'a str, body: &'a Bytes) -> NewFile<'a> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    NewFile { name, content_type, data: body }
}

fn file_name(headers: &HeaderMap) -> String {
    percent_decode(headers.get("x-file-name").and_then(|v| v.to_str().ok()).unwrap_or_default())
}

pub(super) async fn visitor_upload(
    State(ctx): State<AppContext>,
    Query(query): Query<VisitorQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = file_name(&headers);
    let visitor = query.visitor(&ctx).await?;
    let attachment =
        chats::visitor_upload(&ctx, &visitor, new_file(&headers, &name, &body)).await?;
    Ok(Json(attachment).into_response())
}

pub(super) async fn agent_upload(
    State(ctx): State<AppContext>,
    Path(number): Path<i64>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = file_name(&headers);
    let agent = agent_of_session(&ctx, &session).await?;
    let attachment =
        chats::agent_upload(&ctx, &agent, number, new_file(&headers, &name, &body)).await?;
    Ok(Json(attachment).into_response())
}

/// A download's query: a visitor's site and token, or nothing for a signed-in agent.
#[derive(Debug, Deserialize)]
pub(super) struct DownloadQuery {
    site: Option<String>,
    visitor: Option<String>,
}

/// Serves a chat's file as a download that cannot run in our origin.
pub(super) async fn download(
    State(ctx): State<AppContext>,
    Path(id): Path<i64>,
    Query(query): Query<DownloadQuery>,
    session: Session,
) -> Result<Response, ApiError> {
    let (attachment, data) =
        match query.site.zip(query.visitor).map(|(site, visitor)| VisitorQuery { site, visitor }) {
            Some(query) => {
                let visitor = query.visitor(&ctx).await?;
                chats::download_attachment(&ctx, Downloader::Visitor(&visitor), id).await?
            }
            None => {
                let agent = agent_of_session(&ctx, &session).await?;
                chats::download_attachment(&ctx, Downloader::Agent(&agent), id).await?
            }
        };
    Ok(as_download(&attachment.file_name, &attachment.content_type, data))
}

/// A file as a download that cannot run in our origin: never a script type, never sniffed,
/// sandboxed, and never cached by shared caches.
pub(super) fn as_download(
    file_name: &str,
    content_type: &str,
    data: impl Into<axum::body::Body>,
) -> Response {
    let content_type = if content_type.contains("script") || content_type.contains("html") {
        "application/octet-stream".to_owned()
    } else {
        content_type.to_owned()
    };
    let disposition = format!("attachment; filename*=UTF-8''{}", percent_encode(file_name));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        data.into(),
    )
        .into_response()
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Decodes `%XX` escapes (invalid ones stay as typed; invalid UTF-8 is replaced).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()))
            .flatten();
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

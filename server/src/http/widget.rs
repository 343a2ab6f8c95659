//! The chat widget's public surface, for any website that embeds it:
//!
//! - `GET /widget.js`: the loader a site pastes (a launcher, the panel iframe, a JS API);
//! - `POST /api/widget/visitor`: starts or resumes a visitor (identity verified here) and returns
//!   the opaque token the panel keeps;
//! - `POST /api/widget/attachments`: a file the visitor attaches in their open chat (the raw body,
//!   its type in `Content-Type`, its name percent-encoded in `X-File-Name`), sent with a message;
//! - `GET /api/chat/attachments/{id}`: a chat's file for its visitor (site and token in the query)
//!   or any agent (session), always as a download, never rendered in our origin;
//! - `GET /api/widget/ws`: the visitor's socket. The handshake names the site and carries the
//!   token; it is refused from origins the site does not allow, for unknown tokens and past the
//!   visitor's connection rate. Every chat it touches is the visitor's own
//!   ([`frontdesk_core::chats`] decides); oversized or malformed frames close that socket only.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::AppContext;
use frontdesk_core::chat::{MAX_WIDGET_FRAME_BYTES, Sender, VisitorEvent, VisitorRequest, WIDGET_PROTOCOL_VERSION, WidgetSite};
use frontdesk_core::chats::{self, ChatNotice, ChatRef};
use frontdesk_core::error::Error;
use frontdesk_core::widget_sites::{self, Hello, Visitor};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use tokio::sync::broadcast::{self, error::RecvError};

/// The loader script.
const WIDGET_JS: &str = include_str!("widget.js");
/// Outgoing buffer per connection: small, so idle and slow clients hold little memory.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Incoming buffer per connection, grown only while a larger message arrives.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// How many messages a replay sends per database read.
const REPLAY_PAGE: i64 = 500;

/// The widget routes.
pub(super) fn router(ctx: AppContext) -> Router {
    Router::new()
        .route("/widget.js", get(widget_js))
        .route("/api/widget/visitor", post(start_visitor))
        .route("/api/widget/ws", get(upgrade))
        .route(
            "/api/widget/attachments",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(frontdesk_core::chat::MAX_ATTACHMENT_BYTES + 1024)),
        )
        .with_state(ctx)
}

/// The site and visitor a request speaks for (query `site` and `visitor`).
#[derive(Debug, Deserialize)]
pub(super) struct VisitorQuery {
    site: String,
    visitor: String,
}

impl VisitorQuery {
    async fn visitor(&self, ctx: &AppContext) -> Result<(WidgetSite, Visitor), Error> {
        let site = widget_sites::by_public_token(ctx.db(), &self.site).await?;
        let visitor = widget_sites::visitor_by_token(ctx.db(), &site, &self.visitor).await?;
        Ok((site, visitor))
    }
}

async fn upload(State(ctx): State<AppContext>, Query(query): Query<VisitorQuery>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let file_name = percent_decode(text("x-file-name"));
    let uploaded = async {
        let (_, visitor) = query.visitor(&ctx).await?;
        chats::upload_attachment(&ctx, &visitor, &file_name, text("content-type"), &body).await
    };
    match uploaded.await {
        Ok(attachment) => Json(attachment).into_response(),
        Err(Error::Conflict(message)) => (StatusCode::CONFLICT, message).into_response(),
        Err(e) => error_response(&e),
    }
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
    axum::extract::Path(id): axum::extract::Path<i64>,
    Query(query): Query<DownloadQuery>,
    session: tower_sessions::Session,
) -> Response {
    let found = async {
        match query.site.zip(query.visitor).map(|(site, visitor)| VisitorQuery { site, visitor }) {
            Some(query) => {
                let (_, visitor) = query.visitor(&ctx).await?;
                chats::download_attachment(&ctx, chats::Downloader::Visitor(&visitor), id).await
            }
            None => {
                let agent = super::session_agent(&ctx, &session).await.ok_or(Error::Unauthenticated)?;
                chats::download_attachment(&ctx, chats::Downloader::Agent(&agent), id).await
            }
        }
    };
    match found.await {
        Ok((attachment, data)) => {
            let disposition = format!("attachment; filename*=UTF-8''{}", percent_encode(&attachment.file_name));
            (
                [
                    (header::CONTENT_TYPE, attachment.content_type),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_owned()),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                ],
                data,
            )
                .into_response()
        }
        Err(e) => error_response(&e),
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Decodes `%XX` escapes (invalid ones stay as typed; invalid UTF-8 is replaced).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%').then(|| text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())).flatten();
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

async fn widget_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// What the panel sends to start or resume its visitor.
#[derive(Debug, Deserialize)]
struct StartVisitor {
    site: String,
    token: Option<String>,
    user_id: Option<String>,
    user_hash: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Serialize)]
struct VisitorStarted {
    token: String,
    name: String,
    identified: bool,
}

async fn start_visitor(State(ctx): State<AppContext>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Json(body): Json<StartVisitor>) -> Response {
    let hello = Hello { token: body.token, user_id: body.user_id, user_hash: body.user_hash, name: body.name, email: body.email };
    match widget_sites::start_visitor(&ctx, &body.site, hello, peer.ip()).await {
        Ok(session) => Json(VisitorStarted {
            token: session.token,
            name: session.visitor.name,
            identified: session.visitor.external_id.is_some(),
        })
        .into_response(),
        Err(Error::Forbidden) => (StatusCode::FORBIDDEN, "This user could not be verified.").into_response(),
        Err(e) => error_response(&e),
    }
}

fn error_response(e: &Error) -> Response {
    match e {
        Error::NotFound(what) => (StatusCode::NOT_FOUND, format!("{what} not found")).into_response(),
        Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "Unknown visitor.").into_response(),
        Error::Forbidden => (StatusCode::FORBIDDEN, "Not allowed.").into_response(),
        Error::RateLimited { retry_after_secs } => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after_secs.to_string())], "Too many requests.").into_response()
        }
        Error::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
        other => {
            tracing::error!(error = %other, "widget request failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
        }
    }
}

/// The socket's handshake parameters.
#[derive(Debug, Deserialize)]
struct Handshake {
    v: u32,
    site: String,
    visitor: String,
}

async fn upgrade(upgrade: WebSocketUpgrade, State(ctx): State<AppContext>, headers: HeaderMap, Query(handshake): Query<Handshake>) -> Response {
    if handshake.v != WIDGET_PROTOCOL_VERSION {
        return (StatusCode::BAD_REQUEST, format!("Unsupported protocol version; this server speaks {WIDGET_PROTOCOL_VERSION}.")).into_response();
    }
    let site = match widget_sites::by_public_token(ctx.db(), &handshake.site).await {
        Ok(site) => site,
        Err(e) => return error_response(&e),
    };
    // The panel runs on our own origin; a site may also open the socket from its own pages.
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = origin.is_some_and(|o| widget_sites::allows_origin(&site, o)) || (origin.is_some() && super::csrf::is_same_origin(&headers));
    if !allowed {
        tracing::warn!(origin = origin.unwrap_or("-"), site = site.id, "refused a widget socket from an origin the site does not allow");
        return (StatusCode::FORBIDDEN, "This origin may not open this site's chat.").into_response();
    }
    let visitor = match widget_sites::visitor_by_token(ctx.db(), &site, &handshake.visitor).await {
        Ok(visitor) => visitor,
        Err(e) => return error_response(&e),
    };
    if let Err(e) = ctx.chat_limits().check_connection(visitor.id) {
        return error_response(&e);
    }
    upgrade
        .max_message_size(MAX_WIDGET_FRAME_BYTES)
        .max_frame_size(MAX_WIDGET_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| VisitorConnection { ctx, site, visitor, chat: None, last_seq: 0 }.run(socket))
}

/// One visitor's socket and the chat it follows.
struct VisitorConnection {
    ctx: AppContext,
    site: WidgetSite,
    visitor: Visitor,
    chat: Option<(ChatRef, broadcast::Receiver<ChatNotice>)>,
    /// The last seq sent of the followed chat.
    last_seq: i64,
}

type Sink = SplitSink<WebSocket, Message>;

/// Why a connection ends.
enum End {
    /// The client left or the network failed.
    Gone,
    /// The client broke the protocol or fell behind; tell it why.
    Refuse(u16, &'static str),
}

impl VisitorConnection {
    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let mut availability = self.ctx.chat_hub().availability();
        let end = loop {
            let step = tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<VisitorRequest>(text.as_str()) {
                        Ok(request) => self.handle(request, &mut sink).await,
                        Err(_) => Err(End::Refuse(close_code::INVALID, "malformed message")),
                    },
                    Some(Ok(Message::Binary(_))) => Err(End::Refuse(close_code::UNSUPPORTED, "text messages only")),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    // Closed, failed, or too large (the codec refuses oversized frames).
                    Some(Ok(Message::Close(_)) | Err(_)) | None => Err(End::Gone),
                },
                notice = next_notice(&mut self.chat) => match notice {
                    Ok(notice) => self.forward(notice, &mut sink).await,
                    // Fell behind: drop it; the client resumes from its last seq.
                    Err(RecvError::Lagged(_)) => Err(End::Refuse(close_code::AGAIN, "fell behind, reconnect")),
                    Err(RecvError::Closed) => Err(End::Gone),
                },
                changed = availability.changed() => match changed {
                    Ok(()) => {
                        let agents_online = *availability.borrow_and_update();
                        send(&mut sink, &VisitorEvent::Availability { agents_online }).await
                    }
                    Err(_) => Err(End::Gone),
                },
            };
            if let Err(end) = step {
                break end;
            }
        };
        if let End::Refuse(code, reason) = end {
            let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        self.unfollow();
    }

    async fn handle(&mut self, request: VisitorRequest, sink: &mut Sink) -> Result<(), End> {
        match request {
            VisitorRequest::Resume { after_seq, number } => match chats::welcome(&self.ctx, &self.site, &self.visitor, number).await {
                Ok((welcome, chat)) => {
                    send(sink, &VisitorEvent::Welcome { welcome }).await?;
                    match chat {
                        Some(chat) => self.follow(chat, after_seq, sink).await,
                        None => Ok(()),
                    }
                }
                Err(e) => refuse(sink, &e).await,
            },
            VisitorRequest::Send { client_id, body, attachment_id } => {
                match chats::visitor_send(&self.ctx, &self.visitor, &client_id, &body, attachment_id).await {
                    Ok((chat, message, _)) => {
                        if self.chat.as_ref().map(|(c, _)| c.id) != Some(chat.id) {
                            self.follow(chat, 0, sink).await?;
                            let view = chats::visitor_state(&self.ctx, &self.visitor, chat).await.map_err(|_| End::Gone)?;
                            send(sink, &VisitorEvent::Chat { chat: view }).await?;
                        }
                        self.send_message(chat, message.as_ref().clone(), sink).await?;
                        send(sink, &VisitorEvent::Ack { client_id, seq: message.seq, number: chat.number }).await
                    }
                    Err(e) => refuse(sink, &e).await,
                }
            }
            VisitorRequest::Typing { typing } => {
                if let Some((chat, _)) = &self.chat {
                    self.ctx.chat_hub().publish(chat.id, ChatNotice::Typing { sender: Sender::Visitor, typing });
                }
                Ok(())
            }
            VisitorRequest::Read { seq } => match &self.chat {
                Some((chat, _)) => match chats::visitor_read(&self.ctx, *chat, seq.min(self.last_seq)).await {
                    Ok(()) => Ok(()),
                    Err(e) => refuse(sink, &e).await,
                },
                None => Ok(()),
            },
            VisitorRequest::LeaveMessage { client_id, name, email, body } => {
                match chats::leave_message(&self.ctx, &self.visitor, &client_id, &name, &email, &body).await {
                    Ok(number) => send(sink, &VisitorEvent::MessageLeft { client_id, number }).await,
                    Err(e) => refuse(sink, &e).await,
                }
            }
            VisitorRequest::Ping => send(sink, &VisitorEvent::Pong).await,
        }
    }

    /// Follows `chat` (subscribed before reading, so nothing falls between replay and live),
    /// then sends what the client missed after `after_seq`.
    async fn follow(&mut self, chat: ChatRef, after_seq: i64, sink: &mut Sink) -> Result<(), End> {
        self.unfollow();
        self.chat = Some((chat, self.ctx.chat_hub().subscribe(chat.id)));
        self.last_seq = after_seq.max(0);
        self.replay(chat, sink).await
    }

    fn unfollow(&mut self) {
        if let Some((chat, receiver)) = self.chat.take() {
            self.ctx.chat_hub().unsubscribe(chat.id, receiver);
        }
    }

    /// Sends every stored message after the last one sent.
    async fn replay(&mut self, chat: ChatRef, sink: &mut Sink) -> Result<(), End> {
        loop {
            let page = chats::messages_after(self.ctx.db(), chat, self.last_seq, REPLAY_PAGE).await.map_err(|_| End::Gone)?;
            let full = page.len() as i64 == REPLAY_PAGE;
            for message in page {
                self.send_message(chat, message, sink).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Sends the next message in order; skips one already sent, and replays from the database
    /// if one went missing in between.
    async fn send_message(&mut self, chat: ChatRef, message: frontdesk_core::chat::ChatMessage, sink: &mut Sink) -> Result<(), End> {
        if message.seq <= self.last_seq {
            return Ok(());
        }
        if message.seq > self.last_seq + 1 {
            return Box::pin(self.replay(chat, sink)).await;
        }
        self.last_seq = message.seq;
        send(sink, &VisitorEvent::Message { number: chat.number, message }).await
    }

    async fn forward(&mut self, notice: ChatNotice, sink: &mut Sink) -> Result<(), End> {
        let Some((chat, _)) = &self.chat else { return Ok(()) };
        let chat = *chat;
        match notice {
            ChatNotice::Message(message) => self.send_message(chat, message.as_ref().clone(), sink).await,
            ChatNotice::Typing { sender: Sender::Agent, typing } => send(sink, &VisitorEvent::Typing { typing }).await,
            ChatNotice::Read { sender: Sender::Agent, seq } => send(sink, &VisitorEvent::Read { seq }).await,
            ChatNotice::Typing { .. } | ChatNotice::Read { .. } => Ok(()),
            ChatNotice::Changed => match chats::visitor_state(&self.ctx, &self.visitor, chat).await {
                Ok(view) => send(sink, &VisitorEvent::Chat { chat: view }).await,
                Err(e) => refuse(sink, &e).await,
            },
        }
    }
}

/// The next notice of the followed chat; pending forever while none is followed.
async fn next_notice(chat: &mut Option<(ChatRef, broadcast::Receiver<ChatNotice>)>) -> Result<ChatNotice, RecvError> {
    match chat {
        Some((_, receiver)) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Tells the client why a request was refused; the socket stays open.
async fn refuse(sink: &mut Sink, e: &Error) -> Result<(), End> {
    let code = match e {
        Error::RateLimited { .. } => "rate_limited",
        Error::Invalid(_) => "invalid",
        Error::NotFound(_) => "not_found",
        Error::Conflict(_) => "conflict",
        Error::Forbidden | Error::Unauthenticated => "forbidden",
        other => {
            tracing::error!(error = %other, "a widget request failed");
            "internal"
        }
    };
    let message = if code == "internal" { "Something went wrong; try again.".to_owned() } else { e.to_string() };
    send(sink, &VisitorEvent::Error { code: code.to_owned(), message }).await
}

async fn send(sink: &mut Sink, event: &VisitorEvent) -> Result<(), End> {
    let text = serde_json::to_string(event).map_err(|_| End::Gone)?;
    sink.send(Message::Text(text.into())).await.map_err(|_| End::Gone)
}

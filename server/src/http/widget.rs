//! The chat widget's public surface, for any website that embeds it:
//!
//! - `GET /widget.js`: the loader a site pastes (a launcher, the panel iframe, a JS API);
//! - `POST /api/widget/visitor`: starts or resumes a visitor (identity verified here) and returns
//!   the opaque token the panel keeps;
//! - `GET /api/widget/ws`: the visitor's socket. The handshake names the site and carries the
//!   token; it is refused from origins the site does not allow, for unknown tokens and past the
//!   visitor's connection rate. Every chat it touches is the visitor's own
//!   ([`frontdesk_core::chats`] decides); oversized or malformed frames close that socket only.

use axum::extract::ws::{WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::AppContext;
use frontdesk_core::chats::sites::{self, Hello, Visitor};
use frontdesk_core::chats::{self, ChatCursor, ChatNotice, ChatRef, ChatRuntime};
use frontdesk_core::chats::{
    ChatMessage, ChatState, MAX_WIDGET_FRAME_BYTES, Sender, VisitorEvent, VisitorRequest,
    WIDGET_PROTOCOL_VERSION, WidgetSite,
};
use frontdesk_core::error::Error;
use frontdesk_frontend::api::ApiError;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

use super::socket::{self, End, Incoming, Sink};

/// The loader script.
const WIDGET_JS: &str = include_str!("widget.js");
/// Outgoing buffer per connection: small, so idle and slow clients hold little memory, and just
/// larger than the largest frame the server sends a visitor (a frame header and a pong more).
const WRITE_BUFFER_BYTES: usize = frontdesk_core::chats::MAX_CHAT_FRAME_BYTES + 256;
/// Incoming buffer per connection, grown only while a larger message arrives.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The widget routes.
pub(super) fn router(ctx: AppContext) -> Router {
    Router::new()
        .route("/widget.js", get(widget_js))
        .route("/api/widget/visitor", post(start_visitor))
        .route("/api/widget/ws", get(upgrade))
        .route(
            "/api/widget/attachments",
            post(super::attachments::visitor_upload).layer(super::attachments::upload_limit()),
        )
        .with_state(ctx)
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

async fn start_visitor(
    State(ctx): State<AppContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<StartVisitor>,
) -> Result<Response, ApiError> {
    let hello = Hello {
        token: body.token,
        user_id: body.user_id,
        user_hash: body.user_hash,
        name: body.name,
        email: body.email,
    };
    match sites::start_visitor(&ctx, &body.site, hello, peer.ip()).await {
        Ok(session) => Ok(Json(VisitorStarted {
            token: session.token,
            name: session.visitor.name,
            identified: session.visitor.external_id.is_some(),
        })
        .into_response()),
        Err(Error::Forbidden) => {
            Ok((StatusCode::FORBIDDEN, "This user could not be verified.").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The socket's handshake parameters.
#[derive(Debug, Deserialize)]
struct Handshake {
    v: u32,
    site: String,
    visitor: String,
}

async fn upgrade(
    upgrade: WebSocketUpgrade,
    State(ctx): State<AppContext>,
    headers: HeaderMap,
    Query(handshake): Query<Handshake>,
) -> Result<Response, ApiError> {
    if handshake.v != WIDGET_PROTOCOL_VERSION {
        return Ok((
            StatusCode::BAD_REQUEST,
            format!("Unsupported protocol version; this server speaks {WIDGET_PROTOCOL_VERSION}."),
        )
            .into_response());
    }
    let site = sites::by_public_token(ctx.db(), &handshake.site).await?;
    // The panel runs on our own origin; a site may also open the socket from its own pages.
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = origin.is_some_and(|o| sites::allows_origin(&site, o))
        || (origin.is_some() && super::csrf::is_same_origin(&headers, &ctx.settings().public_url));
    if !allowed {
        tracing::warn!(
            origin = origin.unwrap_or("-"),
            site = site.id,
            "refused a widget socket from an origin the site does not allow"
        );
        return Ok(
            (StatusCode::FORBIDDEN, "This origin may not open this site's chat.").into_response()
        );
    }
    let visitor = sites::visitor_by_token(ctx.db(), &site, &handshake.visitor).await?;
    ChatRuntime::of(&ctx).limits().check_connection(visitor.id)?;
    // Counted from the handshake: shutdown waits for this socket even before its upgrade.
    let member = ctx.tasks().join();
    Ok(upgrade
        .max_message_size(MAX_WIDGET_FRAME_BYTES)
        .max_frame_size(MAX_WIDGET_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let connection = VisitorConnection {
                ctx,
                site,
                visitor,
                chat: None,
                answers: FuturesOrdered::new(),
            };
            connection.run(socket).await;
            drop(member);
        }))
}

/// Messages one socket may have on their way to storage; past this it reads nothing more until
/// the oldest is answered.
const MAX_IN_FLIGHT: usize = 32;

/// One visitor's socket and the chat it follows.
struct VisitorConnection {
    ctx: AppContext,
    site: WidgetSite,
    visitor: Visitor,
    chat: Option<Followed>,
    /// The answers to the client's sends (stored, or refused), in the order it sent them.
    answers: FuturesOrdered<BoxFuture<'static, Answer>>,
}

/// A send's client id, the chat it went to, and what became of it (stored, perhaps in the next
/// chat when that one ended meanwhile, or refused).
type Answer = (String, Option<ChatRef>, Result<(ChatRef, Arc<ChatMessage>), Error>);

/// The chat a socket follows.
struct Followed {
    cursor: ChatCursor,
    notices: broadcast::Receiver<ChatNotice>,
    /// Not ended, as far as this socket last heard: new messages go to it without a lookup.
    open: bool,
}

impl VisitorConnection {
    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let mut availability = ChatRuntime::of(&self.ctx).hub().availability();
        // Made once: a future per turn of the loop would register with the signal every time.
        let tasks = self.ctx.tasks().clone();
        let stopping = tasks.stopping();
        tokio::pin!(stopping);
        let end = loop {
            let step = tokio::select! {
                incoming = stream.next(), if self.answers.len() < MAX_IN_FLIGHT => {
                    match socket::read::<VisitorRequest>(incoming) {
                        Ok(Incoming::Request(request)) => self.handle(request, &mut sink).await,
                        Ok(Incoming::Refused(e)) => refuse(&mut sink, &e).await,
                        Ok(Incoming::Nothing) => Ok(()),
                        Err(end) => Err(end),
                    }
                }
                Some(answer) = self.answers.next() => self.answer(answer, &mut sink).await,
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
                () = &mut stopping => {
                    // Every send already taken is answered before goodbye: the writer commits
                    // what it accepted, so each gets its ack (or a retryable refusal).
                    while let Some(answer) = self.answers.next().await {
                        if let Err(end) = self.answer(answer, &mut sink).await {
                            if let End::Failed(e) = end {
                                e.log();
                            }
                            break;
                        }
                    }
                    Err(End::ShuttingDown)
                }
            };
            if let Err(end) = step {
                break end;
            }
        };
        socket::close(&mut sink, &mut stream, end, "widget", "visitor", self.visitor.id).await;
        self.unfollow();
    }

    async fn handle(&mut self, request: VisitorRequest, sink: &mut Sink) -> Result<(), End> {
        match request {
            VisitorRequest::Resume { after_seq, number } => {
                match chats::welcome(&self.ctx, &self.site, &self.visitor, number).await {
                    Ok((welcome, chat)) => {
                        let open =
                            welcome.chat.as_ref().is_some_and(|c| c.state != ChatState::Ended);
                        send(sink, &VisitorEvent::Welcome { welcome }).await?;
                        match chat {
                            Some(chat) => self.follow(chat, after_seq, open, sink).await,
                            None => Ok(()),
                        }
                    }
                    Err(e) => refuse(sink, &e).await,
                }
            }
            VisitorRequest::Send { client_id, body, attachment_id } => {
                let open = self.chat.as_ref().filter(|f| f.open).map(|f| f.cursor.chat());
                let answer: BoxFuture<'static, Answer> = match chats::visitor_send(
                    &self.ctx,
                    &self.visitor,
                    open,
                    &client_id,
                    &body,
                    attachment_id,
                )
                .await
                {
                    Ok(sending) => {
                        let chat = sending.chat;
                        self.follow_new(chat, sink).await?;
                        Box::pin(async move { (client_id, Some(chat), sending.stored().await) })
                    }
                    Err(e) => Box::pin(std::future::ready((client_id, None, Err(e)))),
                };
                self.answers.push_back(answer);
                Ok(())
            }
            VisitorRequest::Typing { typing } => {
                if let Some(followed) = &self.chat {
                    ChatRuntime::of(&self.ctx).hub().publish(
                        followed.cursor.chat().id,
                        ChatNotice::Typing { sender: Sender::Visitor, typing },
                    );
                }
                Ok(())
            }
            VisitorRequest::Read { seq } => match &self.chat {
                Some(followed) => match chats::visitor_read(
                    &self.ctx,
                    followed.cursor.chat(),
                    seq.min(followed.cursor.last_seq()),
                )
                .await
                {
                    Ok(()) => Ok(()),
                    Err(e) => refuse(sink, &e).await,
                },
                None => Ok(()),
            },
            VisitorRequest::LeaveMessage { client_id, name, email, body } => {
                match chats::leave_message(
                    &self.ctx,
                    &self.visitor,
                    &client_id,
                    &name,
                    &email,
                    &body,
                )
                .await
                {
                    Ok(number) => {
                        send(sink, &VisitorEvent::MessageLeft { client_id, number }).await
                    }
                    Err(e) => refuse(sink, &e).await,
                }
            }
            VisitorRequest::Ping => send(sink, &VisitorEvent::Pong).await,
        }
    }

    /// Answers a send once stored: the message in the transcript (unless already sent), then the
    /// ack. A refused send gets its error, in its place among the answers.
    async fn answer(
        &mut self,
        (client_id, sent_to, stored): Answer,
        sink: &mut Sink,
    ) -> Result<(), End> {
        match stored {
            Ok((chat, message)) => {
                if sent_to != Some(chat) {
                    // Its chat ended on the way: it started the next one.
                    self.follow_new(chat, sink).await?;
                }
                if self.chat.as_ref().is_some_and(|f| f.cursor.chat() == chat) {
                    self.send_in_order(&message, sink).await?;
                }
                send(sink, &VisitorEvent::Ack { client_id, seq: message.seq, number: chat.number })
                    .await
            }
            Err(e) => refuse(sink, &e).await,
        }
    }

    /// Follows `chat` (subscribed before reading, so nothing falls between replay and live),
    /// then sends what the client missed after `after_seq`.
    async fn follow(
        &mut self,
        chat: ChatRef,
        after_seq: i64,
        open: bool,
        sink: &mut Sink,
    ) -> Result<(), End> {
        self.unfollow();
        let notices = ChatRuntime::of(&self.ctx).hub().subscribe(chat.id);
        let followed =
            self.chat.insert(Followed { cursor: ChatCursor::new(chat, after_seq), notices, open });
        let missed = followed.cursor.missed(self.ctx.db()).await?;
        send_messages(chat, missed, sink).await
    }

    /// Follows `chat` when a message started it, and shows its state.
    async fn follow_new(&mut self, chat: ChatRef, sink: &mut Sink) -> Result<(), End> {
        if self.chat.as_ref().is_some_and(|f| f.cursor.chat() == chat) {
            return Ok(());
        }
        self.follow(chat, 0, true, sink).await?;
        let view = chats::visitor_state(&self.ctx, &self.visitor, chat).await?;
        send(sink, &VisitorEvent::Chat { chat: view }).await
    }

    fn unfollow(&mut self) {
        if let Some(followed) = self.chat.take() {
            ChatRuntime::of(&self.ctx)
                .hub()
                .unsubscribe(followed.cursor.chat().id, followed.notices);
        }
    }

    /// Sends a published message of the followed chat, keeping the stream in order.
    async fn send_in_order(&mut self, message: &ChatMessage, sink: &mut Sink) -> Result<(), End> {
        let Some(followed) = &mut self.chat else { return Ok(()) };
        let chat = followed.cursor.chat();
        let messages = followed.cursor.admit(self.ctx.db(), message).await?;
        send_messages(chat, messages, sink).await
    }

    async fn forward(&mut self, notice: ChatNotice, sink: &mut Sink) -> Result<(), End> {
        let Some(followed) = &self.chat else { return Ok(()) };
        let chat = followed.cursor.chat();
        match notice {
            ChatNotice::Message(message) => self.send_in_order(&message, sink).await,
            ChatNotice::Typing { sender: Sender::Agent, typing } => {
                send(sink, &VisitorEvent::Typing { typing }).await
            }
            ChatNotice::Read { sender: Sender::Agent, seq } => {
                send(sink, &VisitorEvent::Read { seq }).await
            }
            ChatNotice::Typing { .. } | ChatNotice::Read { .. } => Ok(()),
            ChatNotice::Changed => match chats::visitor_state(&self.ctx, &self.visitor, chat).await
            {
                Ok(view) => {
                    if let Some(followed) = &mut self.chat {
                        followed.open = view.state != ChatState::Ended;
                    }
                    send(sink, &VisitorEvent::Chat { chat: view }).await
                }
                Err(e) => refuse(sink, &e).await,
            },
        }
    }
}

async fn send_messages(
    chat: ChatRef,
    messages: Vec<ChatMessage>,
    sink: &mut Sink,
) -> Result<(), End> {
    for message in messages {
        send(sink, &VisitorEvent::Message { number: chat.number, message }).await?;
    }
    Ok(())
}

/// The next notice of the followed chat; pending forever while none is followed.
async fn next_notice(chat: &mut Option<Followed>) -> Result<ChatNotice, RecvError> {
    match chat {
        Some(followed) => followed.notices.recv().await,
        None => std::future::pending().await,
    }
}

/// Tells the client why a request was refused; the socket stays open.
async fn refuse(sink: &mut Sink, e: &Error) -> Result<(), End> {
    let (code, message) = match e.to_client() {
        ("unauthenticated", message) => ("forbidden", message),
        other => other,
    };
    send(sink, &VisitorEvent::Error { code: code.to_owned(), message }).await
}

async fn send(sink: &mut Sink, event: &VisitorEvent) -> Result<(), End> {
    socket::send_json(sink, event, "widget").await
}

#[cfg(test)]
mod tests {
    use super::WRITE_BUFFER_BYTES;
    use frontdesk_core::agents::PersonName;
    use frontdesk_core::chats::*;
    use frontdesk_core::platform::time::Timestamp;

    /// The characters that take the most bytes in JSON, each tried for every text field.
    const WORST: [char; 4] = ['\u{1}', '"', '\\', '😀'];

    fn repeat(c: char, n: usize) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    #[test]
    fn the_largest_message_the_server_echoes_fits_what_it_can_send() {
        for c in WORST {
            let message = ChatMessage {
                seq: i64::MIN,
                client_id: repeat('~', MAX_CLIENT_ID_CHARS),
                sender: Sender::Visitor,
                author: repeat(c, PersonName::MAX_CHARS),
                body: repeat(c, MAX_CHAT_MESSAGE_CHARS),
                attachment: Some(Attachment {
                    id: i64::MIN,
                    file_name: repeat(c, MAX_FILE_NAME_CHARS),
                    content_type: repeat(c, MAX_CONTENT_TYPE_CHARS),
                    size: i64::MIN,
                }),
                created_at: Timestamp::from_unix_millis(i64::MIN),
            };
            let bytes = serde_json::to_string(&VisitorEvent::Message { number: i64::MIN, message })
                .expect("JSON")
                .len();
            assert!(
                bytes <= MAX_CHAT_FRAME_BYTES && bytes + 14 <= WRITE_BUFFER_BYTES,
                "{c:?}: {bytes} bytes"
            );
        }
    }

    #[test]
    fn the_longest_legal_left_message_fits_what_a_widget_may_send() {
        for c in WORST {
            let request = VisitorRequest::LeaveMessage {
                client_id: repeat('~', MAX_CLIENT_ID_CHARS),
                name: repeat(c, PersonName::MAX_CHARS),
                email: repeat(c, 256),
                body: repeat(c, MAX_CHAT_MESSAGE_CHARS),
            };
            let bytes = serde_json::to_string(&request).expect("JSON").len();
            assert!(bytes <= MAX_WIDGET_FRAME_BYTES, "{c:?}: {bytes} bytes");
        }
    }
}

//! `GET /api/live`: the agents' WebSocket. Authenticated by the session cookie at the handshake,
//! refused from other origins (cross-site WebSocket hijacking), every subscription authorized by
//! the tickets service. Messages are small JSON ([`frontdesk_core::live`]); anything malformed or
//! oversized closes that socket only.

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use frontdesk_core::agent::Agent;
use frontdesk_core::live::{ClientMessage, MAX_CLIENT_MESSAGE_BYTES, Notice, PresenceEntry, ServerMessage};
use frontdesk_core::chats::{self, ChatCursor, ChatNotice, ChatRef};
use frontdesk_core::{AppContext, notifications, tickets};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tower_sessions::Session;

/// Outgoing buffer per connection: small, so a slow client cannot hold much memory.
const WRITE_BUFFER_BYTES: usize = 32 * 1024;
/// Chat notices waiting for this socket, from all its chats together (an agent follows many;
/// past this the socket is dropped and resumes by replay).
const CHAT_NOTICE_BUFFER: usize = 1024;

/// Upgrades a signed-in agent's same-origin request to the live socket.
pub(super) async fn upgrade(
    upgrade: WebSocketUpgrade,
    State(ctx): State<AppContext>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    if !super::csrf::is_same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "Cross-origin WebSocket refused.").into_response();
    }
    let Some(agent) = super::session_agent(&ctx, &session).await else {
        return (StatusCode::UNAUTHORIZED, "Sign in to continue.").into_response();
    };
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| Connection::new(ctx, agent).run(socket))
}

/// One agent's socket and what it follows.
struct Connection {
    id: u64,
    ctx: AppContext,
    agent: Agent,
    /// Subscribed tickets and the last sequence number sent for each.
    tickets: HashMap<i64, i64>,
    queue: bool,
    /// Set once the client follows its notifications: the last id sent.
    notifications: Option<i64>,
    /// Set once the console follows the chat inbox (the agent is then connected for chats).
    inbox: Option<broadcast::Receiver<()>>,
    /// Followed chats by number.
    chats: HashMap<i64, FollowedChat>,
    /// Notices of every followed chat, forwarded from their channels (`None`: fell behind).
    chat_notices: (mpsc::Sender<(i64, Option<ChatNotice>)>, mpsc::Receiver<(i64, Option<ChatNotice>)>),
}

/// A chat this socket follows.
struct FollowedChat {
    cursor: ChatCursor,
    forwarder: JoinHandle<()>,
}

impl Drop for FollowedChat {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

type Sink = SplitSink<WebSocket, Message>;

/// Why a connection ends.
enum End {
    /// The client left or the network failed.
    Gone,
    /// The client broke the protocol; tell it why.
    Refuse(u16, &'static str),
}

impl Connection {
    fn new(ctx: AppContext, agent: Agent) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ctx,
            agent,
            tickets: HashMap::new(),
            queue: false,
            notifications: None,
            inbox: None,
            chats: HashMap::new(),
            chat_notices: mpsc::channel(CHAT_NOTICE_BUFFER),
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let mut notices = self.ctx.hub().subscribe();
        let end = loop {
            let step = tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(text.as_str()) {
                        Ok(message) => self.handle(message, &mut sink).await,
                        Err(_) => Err(End::Refuse(close_code::INVALID, "malformed message")),
                    },
                    Some(Ok(Message::Binary(_))) => Err(End::Refuse(close_code::UNSUPPORTED, "text messages only")),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    // Closed, failed, or too large (the codec refuses oversized frames).
                    Some(Ok(Message::Close(_)) | Err(_)) | None => Err(End::Gone),
                },
                notice = notices.recv() => match notice {
                    Ok(notice) => self.forward(notice, &mut sink).await,
                    // Fell behind: drop it; the client reconnects and replays from the database.
                    Err(RecvError::Lagged(_)) => Err(End::Refuse(close_code::AGAIN, "fell behind, reconnect")),
                    Err(RecvError::Closed) => Err(End::Gone),
                },
                Some((number, notice)) = self.chat_notices.1.recv() => match notice {
                    Some(notice) => self.forward_chat(number, notice, &mut sink).await,
                    None => Err(End::Refuse(close_code::AGAIN, "fell behind, reconnect")),
                },
                changed = next_inbox(&mut self.inbox) => match changed {
                    Ok(()) | Err(RecvError::Lagged(_)) => {
                        // Several changes at once make one refresh.
                        while let Some(Ok(())) = self.inbox.as_mut().map(broadcast::Receiver::try_recv) {}
                        self.send_inbox(&mut sink).await
                    }
                    Err(RecvError::Closed) => Err(End::Gone),
                },
            };
            if let Err(end) = step {
                break end;
            }
        };
        self.chats.clear();
        if self.inbox.is_some() {
            chats::console_closed(&self.ctx, self.agent.id).await;
        }
        if let End::Refuse(code, reason) = end {
            let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        self.ctx.hub().forget_connection(self.id);
    }

    async fn handle(&mut self, message: ClientMessage, sink: &mut Sink) -> Result<(), End> {
        match message {
            ClientMessage::SubscribeTicket { number, after_seq } => {
                // Subscribed to the hub before reading: nothing can fall between replay and live.
                match tickets::events_since(&self.ctx, &self.agent, number, after_seq).await {
                    Ok(events) => {
                        self.tickets.insert(number, after_seq);
                        self.send_events(number, events, sink).await?;
                        self.send_presence(number, sink).await
                    }
                    Err(e) => send(sink, &ServerMessage::Error { message: format!("cannot follow ticket {number}: {e}") }).await,
                }
            }
            ClientMessage::UnsubscribeTicket { number } => {
                self.tickets.remove(&number);
                self.set_activity(number, frontdesk_core::live::Activity::Left);
                Ok(())
            }
            ClientMessage::SubscribeQueue => {
                self.queue = true;
                Ok(())
            }
            ClientMessage::SubscribeNotifications { after_id } => {
                self.notifications = Some(after_id);
                self.send_notifications(sink).await
            }
            ClientMessage::SubscribeChats => {
                if self.inbox.is_none() {
                    self.inbox = Some(self.ctx.chat_hub().inbox_subscribe());
                    self.ctx.chat_hub().agent_connected(self.agent.id);
                }
                self.send_inbox(sink).await
            }
            ClientMessage::SetChatStatus { status } => match chats::set_status(&self.ctx, &self.agent, status).await {
                Ok(()) => self.send_inbox(sink).await,
                Err(e) => send_error(sink, format!("cannot change your status: {e}")).await,
            },
            ClientMessage::SubscribeChat { number, after_seq } => match chats::agent_follow(&self.ctx, &self.agent, number).await {
                Ok(chat) => self.follow_chat(chat, after_seq, sink).await,
                Err(e) => send_error(sink, format!("cannot follow chat {number}: {e}")).await,
            },
            ClientMessage::UnsubscribeChat { number } => {
                self.chats.remove(&number);
                Ok(())
            }
            ClientMessage::ChatSend { number, client_id, body, attachment_id } => match chats::agent_send(&self.ctx, &self.agent, number, &client_id, &body, attachment_id).await {
                Ok((_, message)) => {
                    let seq = message.seq;
                    self.send_chat_message(number, &message, sink).await?;
                    send(sink, &ServerMessage::ChatAck { number, client_id, seq }).await
                }
                Err(e) => send_error(sink, format!("cannot send in chat {number}: {e}")).await,
            },
            ClientMessage::ChatTyping { number, typing } => {
                if let Some(followed) = self.chats.get(&number) {
                    let notice = ChatNotice::Typing { sender: frontdesk_core::chat::Sender::Agent, typing };
                    self.ctx.chat_hub().publish(followed.cursor.chat().id, notice);
                }
                Ok(())
            }
            ClientMessage::ChatRead { number, seq } => match self.chats.get(&number) {
                Some(followed) => match chats::agent_read(&self.ctx, &self.agent, followed.cursor.chat(), seq.min(followed.cursor.last_seq())).await {
                    Ok(()) => Ok(()),
                    Err(e) => send_error(sink, format!("cannot mark chat {number} read: {e}")).await,
                },
                None => Ok(()),
            },
            ClientMessage::Presence { number, activity } => {
                if self.tickets.contains_key(&number) {
                    self.set_activity(number, activity);
                    Ok(())
                } else {
                    send(sink, &ServerMessage::Error { message: format!("subscribe to ticket {number} first") }).await
                }
            }
        }
    }

    fn set_activity(&self, number: i64, activity: frontdesk_core::live::Activity) {
        let entry = PresenceEntry { agent_id: self.agent.id, name: self.agent.name.clone(), activity };
        self.ctx.hub().set_presence(self.id, number, entry);
    }

    async fn forward(&mut self, notice: Notice, sink: &mut Sink) -> Result<(), End> {
        match notice {
            Notice::Ticket { number, seq } => {
                if self.queue {
                    send(sink, &ServerMessage::QueueChanged { number }).await?;
                }
                match self.tickets.get(&number) {
                    Some(last) if seq > *last => {
                        let events = tickets::events_since(&self.ctx, &self.agent, number, *last).await.unwrap_or_default();
                        self.send_events(number, events, sink).await
                    }
                    _ => Ok(()),
                }
            }
            Notice::Presence { number } if self.tickets.contains_key(&number) => self.send_presence(number, sink).await,
            Notice::Presence { .. } => Ok(()),
            Notice::Notifications { agent_id } if agent_id == self.agent.id => self.send_notifications(sink).await,
            Notice::Notifications { .. } => Ok(()),
        }
    }

    /// Sends the stored notifications after the last one sent, if the client follows them.
    async fn send_notifications(&mut self, sink: &mut Sink) -> Result<(), End> {
        let Some(after_id) = self.notifications else { return Ok(()) };
        let fresh = notifications::since(&self.ctx, &self.agent, after_id).await.unwrap_or_default();
        for notification in fresh {
            self.notifications = Some(notification.id);
            send(sink, &ServerMessage::Notification { notification }).await?;
        }
        Ok(())
    }

    /// Sends events in order, skipping any already sent, and remembers the last one.
    async fn send_events(&mut self, number: i64, events: Vec<frontdesk_core::ticket::TicketEvent>, sink: &mut Sink) -> Result<(), End> {
        for event in events {
            let last = self.tickets.entry(number).or_insert(0);
            if event.seq <= *last {
                continue;
            }
            *last = event.seq;
            send(sink, &ServerMessage::TicketEvent { number, event }).await?;
        }
        Ok(())
    }

    /// Follows a chat: its channel first, then what the client missed after `after_seq`.
    async fn follow_chat(&mut self, chat: ChatRef, after_seq: i64, sink: &mut Sink) -> Result<(), End> {
        let mut notices = self.ctx.chat_hub().subscribe(chat.id);
        let forward = self.chat_notices.0.clone();
        let number = chat.number;
        let forwarder = tokio::spawn(async move {
            loop {
                let notice = match notices.recv().await {
                    Ok(notice) => Some(notice),
                    Err(RecvError::Lagged(_)) => None,
                    Err(RecvError::Closed) => return,
                };
                let lagged = notice.is_none();
                if forward.send((number, notice)).await.is_err() || lagged {
                    return;
                }
            }
        });
        let followed = self.chats.entry(number).insert_entry(FollowedChat { cursor: ChatCursor::new(chat, after_seq), forwarder }).into_mut();
        let missed = followed.cursor.missed(self.ctx.db()).await.map_err(|_| End::Gone)?;
        send_chat_messages(number, missed, sink).await
    }

    /// Sends a published message of a followed chat, keeping its stream in order.
    async fn send_chat_message(&mut self, number: i64, message: &frontdesk_core::chat::ChatMessage, sink: &mut Sink) -> Result<(), End> {
        let Some(followed) = self.chats.get_mut(&number) else { return Ok(()) };
        let messages = followed.cursor.admit(self.ctx.db(), message).await.map_err(|_| End::Gone)?;
        send_chat_messages(number, messages, sink).await
    }

    async fn forward_chat(&mut self, number: i64, notice: ChatNotice, sink: &mut Sink) -> Result<(), End> {
        use frontdesk_core::chat::Sender;
        match notice {
            ChatNotice::Message(message) => self.send_chat_message(number, &message, sink).await,
            ChatNotice::Typing { sender: Sender::Visitor, typing } => send(sink, &ServerMessage::ChatTyping { number, typing }).await,
            ChatNotice::Read { sender: Sender::Visitor, seq } => send(sink, &ServerMessage::ChatRead { number, seq }).await,
            ChatNotice::Typing { .. } | ChatNotice::Read { .. } => Ok(()),
            ChatNotice::Changed => self.send_inbox(sink).await,
        }
    }

    /// Sends the chat inbox, if the console follows it.
    async fn send_inbox(&mut self, sink: &mut Sink) -> Result<(), End> {
        if self.inbox.is_none() {
            return Ok(());
        }
        match chats::inbox(&self.ctx, &self.agent).await {
            Ok(list) => {
                let status = self.ctx.chat_hub().status(self.agent.id);
                send(sink, &ServerMessage::ChatInbox { status, chats: list }).await
            }
            Err(e) => send_error(sink, format!("cannot load your chats: {e}")).await,
        }
    }

    async fn send_presence(&self, number: i64, sink: &mut Sink) -> Result<(), End> {
        let agents = self.ctx.hub().presence(number, self.agent.id);
        send(sink, &ServerMessage::Presence { number, agents }).await
    }
}

/// The next inbox change; pending forever while the console does not follow the inbox.
async fn next_inbox(inbox: &mut Option<broadcast::Receiver<()>>) -> Result<(), RecvError> {
    match inbox {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn send_chat_messages(number: i64, messages: Vec<frontdesk_core::chat::ChatMessage>, sink: &mut Sink) -> Result<(), End> {
    for message in messages {
        send(sink, &ServerMessage::ChatMessage { number, message }).await?;
    }
    Ok(())
}

async fn send_error(sink: &mut Sink, message: String) -> Result<(), End> {
    send(sink, &ServerMessage::Error { message }).await
}

async fn send(sink: &mut Sink, message: &ServerMessage) -> Result<(), End> {
    let text = serde_json::to_string(message).map_err(|_| End::Gone)?;
    sink.send(Message::Text(text.into())).await.map_err(|_| End::Gone)
}

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
use frontdesk_core::{AppContext, notifications, tickets};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;

/// Outgoing buffer per connection: small, so a slow client cannot hold much memory.
const WRITE_BUFFER_BYTES: usize = 32 * 1024;

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
        Self { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), ctx, agent, tickets: HashMap::new(), queue: false, notifications: None }
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
            };
            if let Err(end) = step {
                break end;
            }
        };
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

    async fn send_presence(&self, number: i64, sink: &mut Sink) -> Result<(), End> {
        let agents = self.ctx.hub().presence(number, self.agent.id);
        send(sink, &ServerMessage::Presence { number, agents }).await
    }
}

async fn send(sink: &mut Sink, message: &ServerMessage) -> Result<(), End> {
    let text = serde_json::to_string(message).map_err(|_| End::Gone)?;
    sink.send(Message::Text(text.into())).await.map_err(|_| End::Gone)
}

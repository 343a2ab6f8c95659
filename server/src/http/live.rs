//! `GET /api/live`: the agents' WebSocket. Authenticated by the session cookie at the handshake,
//! refused from other origins (cross-site WebSocket hijacking), every subscription authorized by
//! the tickets service with current data: the session and the agent are checked again before each
//! subscription or action, and whenever the agent's access changes (sign-out, deactivation, a new
//! role), which closes the socket. Messages are small JSON ([`frontdesk_core::live`]); anything
//! malformed or oversized closes that socket only; errors reach the client only as safe words
//! ([`Error::to_client`]); every close the server starts is logged with its reason.

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use frontdesk_core::agents::Agent;
use frontdesk_core::agents::hub::{Hub, Notice};
use frontdesk_core::agents::{PresenceEntry, auth, notifications};
use frontdesk_core::chats::{self, ChatCursor, ChatNotice, ChatRef, ChatRuntime};
use frontdesk_core::chats::{AgentStatus, ChatSummary};
use frontdesk_core::error::Error;
use frontdesk_core::live::{
    ClientMessage, MAX_CLIENT_MESSAGE_BYTES, MAX_SERVER_FRAME_BYTES, ServerMessage,
};
use frontdesk_core::{AppContext, tickets};
use frontdesk_frontend::api::{ApiError, agent_of_session};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tower_sessions::Session;

use super::socket::{self, End, Incoming, Sink};

/// Outgoing buffer per connection: small, so a slow client cannot hold much memory, and larger
/// than any frame the server produces (longer lists are paged to [`MAX_SERVER_FRAME_BYTES`]).
const WRITE_BUFFER_BYTES: usize = 2 * MAX_SERVER_FRAME_BYTES;
/// Chat notices waiting for this socket, from all its chats together (an agent follows many;
/// past this the socket is dropped and resumes by replay).
const CHAT_NOTICE_BUFFER: usize = 1024;

/// Upgrades a signed-in agent's same-origin request to the live socket.
pub(super) async fn upgrade(
    upgrade: WebSocketUpgrade,
    State(ctx): State<AppContext>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !super::csrf::is_same_origin(&headers, &ctx.settings().public_url) {
        return Ok((StatusCode::FORBIDDEN, "Cross-origin WebSocket refused.").into_response());
    }
    let agent = agent_of_session(&ctx, &session).await?;
    let session_id = session.id().ok_or(ApiError::Unauthenticated)?.to_string();
    // Counted from the handshake: shutdown waits for this socket even before its upgrade.
    let member = ctx.tasks().join();
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            Connection::new(ctx, agent, session_id).run(socket).await;
            drop(member);
        }))
}

/// One agent's socket and what it follows.
struct Connection {
    id: u64,
    ctx: AppContext,
    /// The agent as of the last check ([`Connection::recheck`]).
    agent: Agent,
    /// The stored session the socket was opened with: it ends when the session does.
    session_id: String,
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
    chat_notices: (mpsc::Sender<ChatNoticeOf>, mpsc::Receiver<ChatNoticeOf>),
}

/// A notice of chat `number` (`None`: its channel fell behind).
type ChatNoticeOf = (i64, Option<ChatNotice>);

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

impl Connection {
    fn new(ctx: AppContext, agent: Agent, session_id: String) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ctx,
            agent,
            session_id,
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
        let mut notices = Hub::of(&self.ctx).subscribe();
        // Made once: a future per turn of the loop would register with the signal every time.
        let tasks = self.ctx.tasks().clone();
        let stopping = tasks.stopping();
        tokio::pin!(stopping);
        let end = loop {
            let step = tokio::select! {
                incoming = stream.next() => match socket::read::<ClientMessage>(incoming) {
                    Ok(Incoming::Request(message)) => self.handle(message, &mut sink).await,
                    Ok(Incoming::Refused(e)) => send_error(&mut sink, &e).await,
                    Ok(Incoming::Nothing) => Ok(()),
                    Err(end) => Err(end),
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
                () = &mut stopping => Err(End::ShuttingDown),
            };
            if let Err(end) = step {
                break end;
            }
        };
        self.chats.clear();
        // At shutdown the agent's chats stay theirs: the console reconnects to the next start.
        if self.inbox.is_some() && !matches!(end, End::ShuttingDown) {
            chats::console_closed(&self.ctx, self.agent.id).await;
        }
        socket::close(&mut sink, &mut stream, end, "live", "agent", self.agent.id).await;
        Hub::of(&self.ctx).forget_connection(self.id);
    }

    /// Checks with current data that the socket's session still exists and its agent is active
    /// in the same role; refreshes the agent, or ends the socket.
    async fn recheck(&mut self) -> Result<(), End> {
        match auth::still_signed_in(&self.ctx, &self.session_id, self.agent.id).await {
            Ok(agent) if agent.role == self.agent.role => {
                self.agent = agent;
                Ok(())
            }
            Ok(_) => Err(End::Refuse(close_code::POLICY, "your role changed, reconnect")),
            Err(Error::Unauthenticated) => Err(End::Refuse(close_code::POLICY, "session ended")),
            Err(e) => Err(End::Failed(e)),
        }
    }

    async fn handle(&mut self, message: ClientMessage, sink: &mut Sink) -> Result<(), End> {
        let touches_data = !matches!(
            message,
            ClientMessage::UnsubscribeTicket { .. }
                | ClientMessage::UnsubscribeChat { .. }
                | ClientMessage::ChatTyping { .. }
                | ClientMessage::Presence { .. }
        );
        if touches_data {
            self.recheck().await?;
        }
        match message {
            ClientMessage::SubscribeTicket { number, after_seq } => {
                // Subscribed to the hub before reading: nothing can fall between replay and live.
                match tickets::events_since(&self.ctx, &self.agent, number, after_seq).await {
                    Ok(events) => {
                        self.tickets.insert(number, after_seq);
                        self.send_events(number, events, sink).await?;
                        self.send_presence(number, sink).await
                    }
                    Err(e) => send_error(sink, &e).await,
                }
            }
            ClientMessage::UnsubscribeTicket { number } => {
                self.tickets.remove(&number);
                self.set_activity(number, frontdesk_core::agents::Activity::Left);
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
                    let inbox = ChatRuntime::of(&self.ctx).hub().inbox_subscribe();
                    // Counted as an open console only once it is one (`console_closed` undoes it).
                    match chats::console_opened(&self.ctx, &self.agent).await {
                        Ok(()) => self.inbox = Some(inbox),
                        Err(e) => return send_error(sink, &e).await,
                    }
                }
                self.send_inbox(sink).await
            }
            ClientMessage::SetChatStatus { status } => {
                match chats::set_status(&self.ctx, &self.agent, status).await {
                    Ok(()) => self.send_inbox(sink).await,
                    Err(e) => send_error(sink, &e).await,
                }
            }
            ClientMessage::SubscribeChat { number, after_seq } => {
                match chats::agent_follow(&self.ctx, &self.agent, number).await {
                    Ok(chat) => self.follow_chat(chat, after_seq, sink).await,
                    Err(e) => send_error(sink, &e).await,
                }
            }
            ClientMessage::UnsubscribeChat { number } => {
                self.chats.remove(&number);
                Ok(())
            }
            ClientMessage::ChatSend { number, client_id, body, attachment_id } => {
                match chats::agent_send(
                    &self.ctx,
                    &self.agent,
                    number,
                    &client_id,
                    &body,
                    attachment_id,
                )
                .await
                {
                    Ok((_, message)) => {
                        let seq = message.seq;
                        self.send_chat_message(number, &message, sink).await?;
                        send(sink, &ServerMessage::ChatAck { number, client_id, seq }).await
                    }
                    Err(e) => send_error(sink, &e).await,
                }
            }
            ClientMessage::ChatTyping { number, typing } => {
                if let Some(followed) = self.chats.get(&number) {
                    let notice =
                        ChatNotice::Typing { sender: frontdesk_core::chats::Sender::Agent, typing };
                    ChatRuntime::of(&self.ctx).hub().publish(followed.cursor.chat().id, notice);
                }
                Ok(())
            }
            ClientMessage::ChatRead { number, seq } => match self.chats.get(&number) {
                Some(followed) => match chats::agent_read(
                    &self.ctx,
                    &self.agent,
                    followed.cursor.chat(),
                    seq.min(followed.cursor.last_seq()),
                )
                .await
                {
                    Ok(()) => Ok(()),
                    Err(e) => send_error(sink, &e).await,
                },
                None => Ok(()),
            },
            ClientMessage::Presence { number, activity } => {
                if self.tickets.contains_key(&number) {
                    self.set_activity(number, activity);
                    Ok(())
                } else {
                    send(
                        sink,
                        &ServerMessage::Error {
                            message: format!("subscribe to ticket {number} first"),
                        },
                    )
                    .await
                }
            }
        }
    }

    fn set_activity(&self, number: i64, activity: frontdesk_core::agents::Activity) {
        let entry =
            PresenceEntry { agent_id: self.agent.id, name: self.agent.name.clone(), activity };
        Hub::of(&self.ctx).set_presence(self.id, number, entry);
    }

    async fn forward(&mut self, notice: Notice, sink: &mut Sink) -> Result<(), End> {
        match notice {
            Notice::Ticket { number, seq } => {
                if self.queue {
                    send(sink, &ServerMessage::QueueChanged { number }).await?;
                }
                match self.tickets.get(&number) {
                    Some(last) if seq > *last => {
                        match tickets::events_since(&self.ctx, &self.agent, number, *last).await {
                            Ok(events) => self.send_events(number, events, sink).await,
                            Err(e) => send_error(sink, &e).await,
                        }
                    }
                    _ => Ok(()),
                }
            }
            Notice::Presence { number } if self.tickets.contains_key(&number) => {
                self.send_presence(number, sink).await
            }
            Notice::Presence { .. } => Ok(()),
            Notice::Notifications { agent_id } if agent_id == self.agent.id => {
                self.send_notifications(sink).await
            }
            Notice::Notifications { .. } => Ok(()),
            Notice::AccessChanged { agent_id } if agent_id == self.agent.id => self.recheck().await,
            Notice::AccessChanged { .. } => Ok(()),
        }
    }

    /// Sends the stored notifications after the last one sent, if the client follows them.
    async fn send_notifications(&mut self, sink: &mut Sink) -> Result<(), End> {
        let Some(after_id) = self.notifications else { return Ok(()) };
        let fresh = match notifications::since(&self.ctx, &self.agent, after_id).await {
            Ok(fresh) => fresh,
            Err(e) => return send_error(sink, &e).await,
        };
        for notification in fresh {
            self.notifications = Some(notification.id);
            send(sink, &ServerMessage::Notification { notification }).await?;
        }
        Ok(())
    }

    /// Sends events in order, skipping any already sent, and remembers the last one.
    async fn send_events(
        &mut self,
        number: i64,
        events: Vec<frontdesk_core::tickets::TicketEvent>,
        sink: &mut Sink,
    ) -> Result<(), End> {
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
    async fn follow_chat(
        &mut self,
        chat: ChatRef,
        after_seq: i64,
        sink: &mut Sink,
    ) -> Result<(), End> {
        let mut notices = ChatRuntime::of(&self.ctx).hub().subscribe(chat.id);
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
        let followed = self
            .chats
            .entry(number)
            .insert_entry(FollowedChat { cursor: ChatCursor::new(chat, after_seq), forwarder })
            .into_mut();
        let missed = followed.cursor.missed(self.ctx.db()).await?;
        send_chat_messages(number, missed, sink).await
    }

    /// Sends a published message of a followed chat, keeping its stream in order.
    async fn send_chat_message(
        &mut self,
        number: i64,
        message: &frontdesk_core::chats::ChatMessage,
        sink: &mut Sink,
    ) -> Result<(), End> {
        let Some(followed) = self.chats.get_mut(&number) else { return Ok(()) };
        let messages = followed.cursor.admit(self.ctx.db(), message).await?;
        send_chat_messages(number, messages, sink).await
    }

    async fn forward_chat(
        &mut self,
        number: i64,
        notice: ChatNotice,
        sink: &mut Sink,
    ) -> Result<(), End> {
        use frontdesk_core::chats::Sender;
        match notice {
            ChatNotice::Message(message) => self.send_chat_message(number, &message, sink).await,
            ChatNotice::Typing { sender: Sender::Visitor, typing } => {
                send(sink, &ServerMessage::ChatTyping { number, typing }).await
            }
            ChatNotice::Read { sender: Sender::Visitor, seq } => {
                send(sink, &ServerMessage::ChatRead { number, seq }).await
            }
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
                let status = ChatRuntime::of(&self.ctx).hub().status(self.agent.id);
                // Back to back in this one branch: no other frame lands between the pages.
                for page in inbox_pages(status, list) {
                    send(sink, &page).await?;
                }
                Ok(())
            }
            Err(e) => send_error(sink, &e).await,
        }
    }

    async fn send_presence(&self, number: i64, sink: &mut Sink) -> Result<(), End> {
        let agents = Hub::of(&self.ctx).presence(number, self.agent.id);
        send(sink, &ServerMessage::Presence { number, agents }).await
    }
}

/// The inbox as frames of at most [`MAX_SERVER_FRAME_BYTES`]; the last says `more: false`.
fn inbox_pages(status: AgentStatus, chats: Vec<ChatSummary>) -> Vec<ServerMessage> {
    const ENVELOPE_BYTES: usize = 128;
    let mut pages: Vec<Vec<ChatSummary>> = vec![Vec::new()];
    let mut bytes = ENVELOPE_BYTES;
    for chat in chats {
        let size = serde_json::to_vec(&chat).map_or(MAX_SERVER_FRAME_BYTES, |json| json.len()) + 1;
        if bytes + size > MAX_SERVER_FRAME_BYTES
            && pages.last().is_some_and(|page| !page.is_empty())
        {
            pages.push(Vec::new());
            bytes = ENVELOPE_BYTES;
        }
        bytes += size;
        if let Some(page) = pages.last_mut() {
            page.push(chat);
        }
    }
    let last = pages.len() - 1;
    pages
        .into_iter()
        .enumerate()
        .map(|(i, chats)| ServerMessage::ChatInbox { status, chats, more: i < last })
        .collect()
}

/// The next inbox change; pending forever while the console does not follow the inbox.
async fn next_inbox(inbox: &mut Option<broadcast::Receiver<()>>) -> Result<(), RecvError> {
    match inbox {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn send_chat_messages(
    number: i64,
    messages: Vec<frontdesk_core::chats::ChatMessage>,
    sink: &mut Sink,
) -> Result<(), End> {
    for message in messages {
        send(sink, &ServerMessage::ChatMessage { number, message }).await?;
    }
    Ok(())
}

/// Tells the client, in safe words, why a request failed; the socket stays open.
async fn send_error(sink: &mut Sink, e: &Error) -> Result<(), End> {
    let (_, message) = e.to_client();
    send(sink, &ServerMessage::Error { message }).await
}

async fn send(sink: &mut Sink, message: &ServerMessage) -> Result<(), End> {
    socket::send_json(sink, message, "live").await
}

#[cfg(test)]
mod tests {
    use super::inbox_pages;
    use frontdesk_core::chats::{AgentStatus, ChatState, ChatSummary};
    use frontdesk_core::live::{MAX_SERVER_FRAME_BYTES, ServerMessage};

    fn summary(number: i64) -> ChatSummary {
        let name = "😀".repeat(100);
        ChatSummary {
            number,
            state: ChatState::Queued,
            contact_id: 1,
            customer: name.clone(),
            site: name.clone(),
            agent_id: Some(1),
            agent: Some(name),
            last_seq: i64::MAX,
            agent_read_seq: i64::MAX,
            visitor_read_seq: i64::MAX,
            preview: "\u{1}".repeat(140),
            queued_at: frontdesk_core::platform::time::Timestamp::from_unix_millis(i64::MAX),
        }
    }

    #[test]
    fn a_long_inbox_goes_in_pages_that_each_fit_a_frame_and_add_up_to_the_whole() {
        let chats: Vec<ChatSummary> = (1..=300).map(summary).collect();

        let pages = inbox_pages(AgentStatus::Online, chats.clone());

        assert!(pages.len() > 1);
        let mut seen = Vec::new();
        for (i, page) in pages.iter().enumerate() {
            let bytes = serde_json::to_string(page).expect("JSON").len();
            assert!(bytes <= MAX_SERVER_FRAME_BYTES, "page {i}: {bytes} bytes");
            let ServerMessage::ChatInbox { chats, more, .. } = page else {
                panic!("an inbox page")
            };
            assert_eq!(*more, i + 1 < pages.len());
            seen.extend(chats.iter().map(|c| c.number));
        }
        assert_eq!(seen, (1..=300).collect::<Vec<_>>());
        assert_eq!(
            inbox_pages(AgentStatus::Away, Vec::new()).len(),
            1,
            "an empty inbox is one page"
        );
    }
}

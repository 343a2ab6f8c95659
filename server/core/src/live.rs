//! Live updates: the agents' WebSocket protocol, shared by the server and the browser. The hub
//! that wakes sockets is [`crate::agents::hub`].
//!
//! Nothing a client sees is sent fire-and-forget: ticket events are stored first (numbered per
//! ticket in `ticket_events`), the hub only wakes the sockets subscribed to that ticket, and each
//! socket reads the rows after the last sequence number it sent. A client that reconnects
//! subscribes with the last sequence number it saw and gets exactly what it missed, in order.
//! Presence ("viewing", "replying") is the one ephemeral thing: it describes the present moment
//! and is rebuilt from live connections.

use serde::{Deserialize, Serialize};

use crate::agents::{Activity, Notification, PresenceEntry};
use crate::chats::{AgentStatus, ChatMessage, ChatSummary};
use crate::tickets::TicketEvent;

/// The protocol version; the client sends it in the socket URL (`/api/live?v=1`).
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message a client may send, in bytes; a larger one closes that socket. The
/// longest legal chat message fits.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = crate::chats::MAX_CHAT_FRAME_BYTES;

/// The largest frame the server sends an agent's console: longer lists (the chat inbox) are sent
/// as several pages of at most this size.
pub const MAX_SERVER_FRAME_BYTES: usize = 32 * 1024;

const _: () = assert!(crate::chats::MAX_CHAT_FRAME_BYTES <= MAX_SERVER_FRAME_BYTES);

/// Client to server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Follow a ticket's events after `after_seq` (0 for all), and its presence.
    SubscribeTicket {
        /// The ticket number.
        number: i64,
        /// The last sequence number the client has.
        after_seq: i64,
    },
    /// Stop following a ticket (also clears this connection's presence there).
    UnsubscribeTicket {
        /// The ticket number.
        number: i64,
    },
    /// Follow changes to any ticket (queue views refresh on them).
    SubscribeQueue,
    /// Follow this agent's notifications after id `after_id` (0 for the unread ones).
    SubscribeNotifications {
        /// The last notification id the client has.
        after_id: i64,
    },
    /// Follow the chat inbox (the queue and this agent's chats) and set this agent's status.
    SubscribeChats,
    /// Say whether this agent takes chats.
    SetChatStatus {
        /// Online, away or offline.
        status: AgentStatus,
    },
    /// Follow a chat's messages after `after_seq` (0 for all), typing and read receipts.
    SubscribeChat {
        /// The chat's ticket number.
        number: i64,
        /// The last seq the client has.
        after_seq: i64,
    },
    /// Stop following a chat.
    UnsubscribeChat {
        /// The chat's ticket number.
        number: i64,
    },
    /// Reply in a chat this agent has; acked with [`ServerMessage::ChatAck`] once stored.
    ChatSend {
        /// The chat's ticket number.
        number: i64,
        /// The client's id for it; resending it stores nothing new.
        client_id: String,
        /// The text (may be empty when a file is attached).
        body: String,
        /// A file uploaded to this chat, sent with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment_id: Option<i64>,
    },
    /// This agent is (or stopped) typing in a followed chat.
    ChatTyping {
        /// The chat's ticket number.
        number: i64,
        /// Whether they are typing.
        typing: bool,
    },
    /// This agent read a followed chat up to `seq`.
    ChatRead {
        /// The chat's ticket number.
        number: i64,
        /// The last seq read.
        seq: i64,
    },
    /// Say what this agent is doing on a subscribed ticket.
    Presence {
        /// The ticket number.
        number: i64,
        /// The activity.
        activity: Activity,
    },
}

/// Server to client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A stored event of a subscribed ticket, in sequence order, never twice.
    TicketEvent {
        /// The ticket number.
        number: i64,
        /// The event.
        event: TicketEvent,
    },
    /// Some ticket changed: queue views should refresh.
    QueueChanged {
        /// The ticket that changed.
        number: i64,
    },
    /// Who else is on a subscribed ticket right now (the receiving agent excluded).
    Presence {
        /// The ticket number.
        number: i64,
        /// The other agents there.
        agents: Vec<PresenceEntry>,
    },
    /// A stored notification for this agent, in id order, never twice.
    Notification {
        /// The notification.
        notification: Notification,
    },
    /// The chat inbox changed (sent on subscribing and after every change), in pages that each
    /// fit in one frame: the inbox is complete at the first page with `more == false`.
    ChatInbox {
        /// This agent's status.
        status: AgentStatus,
        /// The queue, then this agent's chats (this page of them).
        chats: Vec<ChatSummary>,
        /// More pages of this inbox follow at once.
        #[serde(default)]
        more: bool,
    },
    /// A stored message of a followed chat, in seq order, never twice.
    ChatMessage {
        /// The chat's ticket number.
        number: i64,
        /// The message.
        message: ChatMessage,
    },
    /// This agent's message `client_id` is stored as `seq`.
    ChatAck {
        /// The chat's ticket number.
        number: i64,
        /// The client's id.
        client_id: String,
        /// Its seq.
        seq: i64,
    },
    /// The visitor of a followed chat is (or stopped) typing.
    ChatTyping {
        /// The chat's ticket number.
        number: i64,
        /// Whether they are typing.
        typing: bool,
    },
    /// The visitor of a followed chat read up to `seq`.
    ChatRead {
        /// The chat's ticket number.
        number: i64,
        /// The last seq they read.
        seq: i64,
    },
    /// The request could not be served; the socket stays open unless said otherwise.
    Error {
        /// What went wrong.
        message: String,
    },
}

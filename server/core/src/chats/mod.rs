//! Live chat's types and the widget's WebSocket protocol, shared by the server, the widget panel
//! and the agent console (no features: this compiles for wasm).
//!
//! The protocol is versioned JSON ([`WIDGET_PROTOCOL_VERSION`] in the socket URL) with
//! serde-tagged messages. Every message a client sends carries a client-generated id; the server
//! stores it once, numbers it in its chat (`seq`, 1, 2, 3, ... with no gaps), and only then acks and
//! delivers it. A client that reconnects says the last `seq` it has and receives exactly what it
//! missed, in order. Typing and presence describe the present moment and are never stored; read
//! receipts are stored as "read up to seq N" per side.

store! {
    pub mod canned;
    pub mod hub;
    pub mod sites;
    mod service;
    mod writer;
    pub use hub::{ChatHub, ChatNotice};
    pub use service::*;
}

use serde::{Deserialize, Serialize};

use crate::platform::time::Timestamp;

/// The widget protocol version; the panel sends it in the socket URL (`/api/widget/ws?v=1`).
pub const WIDGET_PROTOCOL_VERSION: u32 = 1;

/// The longest chat message, in characters.
pub const MAX_CHAT_MESSAGE_CHARS: usize = 4_000;

/// The longest file name kept for an attachment, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// The longest content type kept for an attachment (RFC 6838's limit); longer ones are stored as
/// `application/octet-stream`.
pub const MAX_CONTENT_TYPE_CHARS: usize = 127;

/// The most bytes one character can take in the protocol's JSON (a control character is
/// written `\u001f`).
const MAX_JSON_BYTES_PER_CHAR: usize = 6;

/// Field names, numbers and times around the text of one frame.
const FRAME_ENVELOPE_BYTES: usize = 1024;

/// The largest frame about one chat message, in either direction: its body, the longest name,
/// client id, file name and content type, every character at its longest in JSON. Every limit on
/// what is accepted is chosen so that what is echoed fits in this (checked by a unit test that
/// serializes the worst case).
pub const MAX_CHAT_FRAME_BYTES: usize = MAX_JSON_BYTES_PER_CHAR
    * (MAX_CHAT_MESSAGE_CHARS
        + crate::agents::PersonName::MAX_CHARS
        + MAX_CLIENT_ID_CHARS
        + MAX_FILE_NAME_CHARS
        + MAX_CONTENT_TYPE_CHARS)
    + FRAME_ENVELOPE_BYTES;

/// The largest socket message a widget may send, in bytes; a larger one closes that socket. The
/// longest legal message (or left message, with the longest name and email) fits.
pub const MAX_WIDGET_FRAME_BYTES: usize = MAX_CHAT_FRAME_BYTES;

/// The largest attachment, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;

/// The longest client id a sender may use (a UUID is 36).
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Who wrote a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// The website visitor (the customer).
    Visitor,
    /// An agent.
    Agent,
    /// frontdesk itself ("Alex joined the chat").
    System,
}

impl Sender {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Visitor => "visitor",
            Sender::Agent => "agent",
            Sender::System => "system",
        }
    }

    /// The stored name back; unknown names are system messages.
    pub fn parse(stored: &str) -> Self {
        match stored {
            "visitor" => Sender::Visitor,
            "agent" => Sender::Agent,
            _ => Sender::System,
        }
    }
}

/// Where a chat is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatState {
    /// Waiting for an agent with free capacity.
    Queued,
    /// An agent has it.
    Active,
    /// Closed by the agent; the visitor's next message starts a new chat.
    Ended,
}

impl ChatState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatState::Queued => "queued",
            ChatState::Active => "active",
            ChatState::Ended => "ended",
        }
    }

    /// The stored name back.
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "queued" => Some(ChatState::Queued),
            "active" => Some(ChatState::Active),
            "ended" => Some(ChatState::Ended),
            _ => None,
        }
    }
}

/// An agent's availability for chats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Takes new chats up to their capacity.
    Online,
    /// Keeps their chats, takes no new ones.
    Away,
    /// Takes nothing; their chats go back to the queue.
    #[default]
    Offline,
}

/// A file attached to a chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Database id; downloaded from `/api/chat/attachments/{id}`.
    pub id: i64,
    /// The name it was uploaded with.
    pub file_name: String,
    /// Its media type (images are shown inline).
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
}

/// One stored chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Its place in the chat: 1, 2, 3, ... with no gaps.
    pub seq: i64,
    /// The id its sender gave it.
    pub client_id: String,
    /// Who wrote it.
    pub sender: Sender,
    /// The name to show: the agent's, the visitor's, or empty for frontdesk.
    pub author: String,
    /// The text, as typed (clients show it as text, never as HTML).
    pub body: String,
    /// An attached file, if any.
    pub attachment: Option<Attachment>,
    /// When it was stored.
    pub created_at: Timestamp,
}

/// A chat as the visitor sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorChat {
    /// The ticket number.
    pub number: i64,
    /// Its state.
    pub state: ChatState,
    /// The agent's name once one has it.
    pub agent: Option<String>,
    /// Whether that agent is online, away or offline (their console closed) right now.
    #[serde(default)]
    pub agent_status: Option<AgentStatus>,
    /// The place in the queue (1 = next) while queued.
    pub queue_position: Option<i64>,
    /// The last seq the agent has read.
    pub agent_read_seq: i64,
}

/// What the widget needs before the conversation starts: the site's settings and whether anyone
/// can answer now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetWelcome {
    /// The protocol version the server speaks.
    pub protocol: u32,
    /// The site's greeting.
    pub greeting: String,
    /// Whether the pre-chat form asks for an email.
    pub ask_email: bool,
    /// Whether the visitor already gave a name (identified or from an earlier pre-chat form).
    pub known_name: Option<String>,
    /// Whether an agent is online to answer now; if not the widget takes a message.
    pub agents_online: bool,
    /// The visitor's current (or last) chat.
    pub chat: Option<VisitorChat>,
}

/// Widget to server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorRequest {
    /// Sent first: replay the visitor's chat `number` (or their newest) after `after_seq` (0 for
    /// all), then follow it.
    Resume {
        /// The chat; the newest when absent.
        #[serde(default)]
        number: Option<i64>,
        /// The last seq the client has.
        after_seq: i64,
    },
    /// A message; starts a chat when none is open.
    Send {
        /// The client's id for it (a UUID); resending the same id stores nothing new.
        client_id: String,
        /// The text.
        body: String,
        /// An uploaded attachment to send with it.
        #[serde(default)]
        attachment_id: Option<i64>,
    },
    /// The visitor is (or stopped) typing.
    Typing {
        /// Whether they are typing now.
        typing: bool,
    },
    /// The visitor has seen everything up to `seq`.
    Read {
        /// The last seq seen.
        seq: i64,
    },
    /// No agent is online: leave a message that becomes a ticket in the queue.
    LeaveMessage {
        /// The client's id for it; resending it creates nothing new.
        client_id: String,
        /// The visitor's name.
        name: String,
        /// Where to answer.
        email: String,
        /// The message.
        body: String,
    },
    /// Keeps an idle connection open through proxies.
    Ping,
}

/// Server to widget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorEvent {
    /// The answer to `resume`: the settings and the chat, followed by its missed messages.
    Welcome {
        /// What the widget shows.
        welcome: WidgetWelcome,
    },
    /// A stored message of the visitor's chat, in seq order, never twice.
    Message {
        /// The ticket number of the chat.
        number: i64,
        /// The message.
        message: ChatMessage,
    },
    /// The visitor's message `client_id` is stored as `seq`.
    Ack {
        /// The client's id.
        client_id: String,
        /// Its seq.
        seq: i64,
        /// The chat it went to.
        number: i64,
    },
    /// The chat's state changed (queued, joined, transferred, ended) or its queue position moved.
    Chat {
        /// The chat.
        chat: VisitorChat,
    },
    /// The agent is (or stopped) typing.
    Typing {
        /// Whether they are typing.
        typing: bool,
    },
    /// The agent read up to `seq`.
    Read {
        /// The last seq the agent read.
        seq: i64,
    },
    /// Whether any agent is online (the widget switches to "leave a message" when not).
    Availability {
        /// Whether any agent is online.
        agents_online: bool,
    },
    /// The offline message `client_id` became ticket `number`.
    MessageLeft {
        /// The client's id.
        client_id: String,
        /// The ticket.
        number: i64,
    },
    /// Answer to a ping.
    Pong,
    /// The request was refused; the socket stays open.
    Error {
        /// Machine-readable: `rate_limited`, `invalid`, `not_found`, `ended`.
        code: String,
        /// What went wrong.
        message: String,
    },
}

/// A chat in an agent's inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSummary {
    /// The ticket number.
    pub number: i64,
    /// Its state.
    pub state: ChatState,
    /// The customer's profile id.
    pub contact_id: i64,
    /// The customer's name.
    pub customer: String,
    /// The widget site it came from.
    pub site: String,
    /// The agent who has it.
    pub agent_id: Option<i64>,
    /// Their name.
    pub agent: Option<String>,
    /// The newest seq.
    pub last_seq: i64,
    /// The last seq the agent read.
    pub agent_read_seq: i64,
    /// The last seq the visitor read.
    pub visitor_read_seq: i64,
    /// A preview of the newest message.
    pub preview: String,
    /// When it was queued (or last returned to the queue).
    pub queued_at: Timestamp,
}

/// Everything the agent console shows about a chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatDetail {
    /// The inbox line.
    pub summary: ChatSummary,
    /// The transcript so far.
    pub messages: Vec<ChatMessage>,
}

/// A reply an agent inserts by typing `/shortcut` in the composer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedResponse {
    /// Database id.
    pub id: i64,
    /// What follows the `/`: lower-case letters, digits and dashes.
    pub shortcut: String,
    /// A short title for the picker.
    pub title: String,
    /// The text inserted.
    pub body: String,
}

/// A website that embeds the widget, as admins manage it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetSite {
    /// Database id.
    pub id: i64,
    /// A name for admins.
    pub name: String,
    /// The public token the snippet carries.
    pub public_token: String,
    /// The key the site's backend signs user ids with (HMAC-SHA256); admins only.
    pub identity_secret: String,
    /// Whether `setUser` calls must carry a valid hash.
    pub enforce_identity: bool,
    /// The origins allowed to embed the widget (`https://shop.example.com`), one per entry.
    pub allowed_origins: Vec<String>,
    /// The first thing the widget says.
    pub greeting: String,
    /// Whether the pre-chat form asks for an email.
    pub ask_email: bool,
}

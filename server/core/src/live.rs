//! Live updates: the agents' WebSocket protocol (shared with the browser) and, on the server, the
//! in-process hub that says "stream X has news".
//!
//! Nothing a client sees is sent fire-and-forget: ticket events are stored first (numbered per
//! ticket in `ticket_events`), the hub only wakes the sockets subscribed to that ticket, and each
//! socket reads the rows after the last sequence number it sent. A client that reconnects
//! subscribes with the last sequence number it saw and gets exactly what it missed, in order.
//! Presence ("viewing", "replying") is the one ephemeral thing: it describes the present moment
//! and is rebuilt from live connections.

use serde::{Deserialize, Serialize};

use crate::chat::{AgentStatus, ChatMessage, ChatSummary};
use crate::ticket::TicketEvent;
use crate::time::Timestamp;

/// The protocol version; the client sends it in the socket URL (`/api/live?v=1`).
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message a client may send, in bytes; a larger one closes that socket. The
/// longest legal chat message fits.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = crate::chat::MAX_CHAT_FRAME_BYTES;

/// The largest frame the server sends an agent's console: longer lists (the chat inbox) are sent
/// as several pages of at most this size.
pub const MAX_SERVER_FRAME_BYTES: usize = 32 * 1024;

const _: () = assert!(crate::chat::MAX_CHAT_FRAME_BYTES <= MAX_SERVER_FRAME_BYTES);

/// What an agent is doing on a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Has the ticket open.
    Viewing,
    /// Is typing a reply or note.
    Replying,
    /// Closed the ticket.
    Left,
}

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

/// One agent's presence on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEntry {
    /// The agent's id.
    pub agent_id: i64,
    /// Their name.
    pub name: String,
    /// What they are doing.
    pub activity: Activity,
}

/// Something an agent should know about a ticket (an SLA warning or breach), stored first and
/// numbered by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Database id: increases with each notification.
    pub id: i64,
    /// The ticket it is about.
    pub ticket_number: i64,
    /// `sla_warning` or `sla_breached`.
    pub kind: String,
    /// What to show.
    pub body: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// Whether the agent has read it.
    pub read: bool,
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

#[cfg(feature = "store")]
pub use hub::{Hub, Notice};

#[cfg(feature = "store")]
mod hub {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use tokio::sync::broadcast;

    use super::{Activity, PresenceEntry};

    /// How many notices a slow socket may fall behind before it is dropped (it then reconnects
    /// and replays from the database, so nothing is lost).
    const CHANNEL_CAPACITY: usize = 256;

    /// A wake-up call; the socket reads what changed from the database.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Notice {
        /// Ticket `number` has events up to `seq`.
        Ticket {
            /// The ticket number.
            number: i64,
            /// Its latest sequence number.
            seq: i64,
        },
        /// The presence on ticket `number` changed.
        Presence {
            /// The ticket number.
            number: i64,
        },
        /// Agent `agent_id` has new notifications.
        Notifications {
            /// The agent.
            agent_id: i64,
        },
        /// A session of agent `agent_id` ended, or the agent was deactivated or changed role:
        /// their sockets check again whether their session still holds.
        AccessChanged {
            /// The agent.
            agent_id: i64,
        },
    }

    /// The in-process fan-out: one broadcast channel for all notices (each socket filters by its
    /// subscriptions), plus the presence table.
    #[derive(Debug)]
    pub struct Hub {
        notices: broadcast::Sender<Notice>,
        /// ticket number -> (connection id -> entry)
        presence: Mutex<HashMap<i64, HashMap<u64, PresenceEntry>>>,
    }

    impl Default for Hub {
        fn default() -> Self {
            Self { notices: broadcast::channel(CHANNEL_CAPACITY).0, presence: Mutex::default() }
        }
    }

    impl Hub {
        /// Receives every notice from now on.
        pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
            self.notices.subscribe()
        }

        /// Announces that a ticket has stored events up to `seq`.
        pub fn ticket_changed(&self, number: i64, seq: i64) {
            // No receivers is fine: nobody is watching.
            let _ = self.notices.send(Notice::Ticket { number, seq });
        }

        /// Announces that an agent has new stored notifications.
        pub fn notified(&self, agent_id: i64) {
            let _ = self.notices.send(Notice::Notifications { agent_id });
        }

        /// Announces that an agent's access changed (sign-out, deactivation, new role).
        pub fn access_changed(&self, agent_id: i64) {
            let _ = self.notices.send(Notice::AccessChanged { agent_id });
        }

        /// Records what one connection's agent is doing on a ticket (`Left` removes it).
        pub fn set_presence(&self, connection: u64, number: i64, entry: PresenceEntry) {
            {
                let mut presence = self.lock();
                let on_ticket = presence.entry(number).or_default();
                if entry.activity == Activity::Left {
                    on_ticket.remove(&connection);
                } else {
                    on_ticket.insert(connection, entry);
                }
                if on_ticket.is_empty() {
                    presence.remove(&number);
                }
            }
            let _ = self.notices.send(Notice::Presence { number });
        }

        /// Removes a closed connection from every ticket.
        pub fn forget_connection(&self, connection: u64) {
            let changed: Vec<i64> = {
                let mut presence = self.lock();
                let changed = presence
                    .iter_mut()
                    .filter_map(|(number, on_ticket)| {
                        on_ticket.remove(&connection).map(|_| *number)
                    })
                    .collect();
                presence.retain(|_, on_ticket| !on_ticket.is_empty());
                changed
            };
            for number in changed {
                let _ = self.notices.send(Notice::Presence { number });
            }
        }

        /// Who is on a ticket, except `agent_id`; one entry per agent, replying over viewing.
        pub fn presence(&self, number: i64, except_agent: i64) -> Vec<PresenceEntry> {
            let presence = self.lock();
            let mut by_agent: HashMap<i64, PresenceEntry> = HashMap::new();
            for entry in presence.get(&number).into_iter().flat_map(|m| m.values()) {
                if entry.agent_id == except_agent {
                    continue;
                }
                let keep =
                    by_agent.get(&entry.agent_id).is_some_and(|e| e.activity == Activity::Replying);
                if !keep {
                    by_agent.insert(entry.agent_id, entry.clone());
                }
            }
            let mut list: Vec<_> = by_agent.into_values().collect();
            list.sort_by(|a, b| a.name.cmp(&b.name));
            list
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, HashMap<u64, PresenceEntry>>> {
            self.presence.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn entry(agent_id: i64, activity: Activity) -> PresenceEntry {
            PresenceEntry { agent_id, name: format!("A{agent_id}"), activity }
        }

        #[test]
        fn presence_lists_others_once_preferring_replying() {
            let hub = Hub::default();
            hub.set_presence(1, 7, entry(10, Activity::Viewing));
            hub.set_presence(2, 7, entry(10, Activity::Replying));
            hub.set_presence(3, 7, entry(20, Activity::Viewing));

            assert_eq!(hub.presence(7, 20), vec![entry(10, Activity::Replying)]);
            assert_eq!(hub.presence(7, 10), vec![entry(20, Activity::Viewing)]);
        }

        #[test]
        fn a_closed_connection_leaves_every_ticket() {
            let hub = Hub::default();
            let mut notices = hub.subscribe();
            hub.set_presence(1, 7, entry(10, Activity::Viewing));
            hub.forget_connection(1);

            assert!(hub.presence(7, 0).is_empty());
            assert_eq!(notices.try_recv().ok(), Some(Notice::Presence { number: 7 }));
            assert_eq!(notices.try_recv().ok(), Some(Notice::Presence { number: 7 }));
        }
    }
}

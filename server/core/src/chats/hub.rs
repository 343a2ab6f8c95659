//! The in-process fan-out for chats: one small broadcast channel per chat that has a connected
//! client, carrying messages that are already stored (so a subscriber that falls behind is dropped
//! and replays from the database, never loses anything), plus the ephemeral things: typing, and
//! which agents are connected and available.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{broadcast, watch};

use crate::chats::{AgentStatus, ChatMessage, Sender};

/// How many notices one chat's subscriber may fall behind before it is dropped.
const CHAT_CHANNEL_CAPACITY: usize = 64;

/// Something that happened in one chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatNotice {
    /// A message was stored (committed) with this seq.
    Message(Arc<ChatMessage>),
    /// One side is (or stopped) typing.
    Typing {
        /// Who.
        sender: Sender,
        /// Whether they are typing now.
        typing: bool,
    },
    /// One side read up to `seq`.
    Read {
        /// Who read.
        sender: Sender,
        /// Up to where.
        seq: i64,
    },
    /// The chat's state, agent or queue position changed: reload it.
    Changed,
}

/// An agent's live availability: what they chose, and how many consoles they have open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Presence {
    status: AgentStatus,
    connections: usize,
}

/// Per-chat channels and agent availability.
#[derive(Debug)]
pub struct ChatHub {
    chats: Mutex<HashMap<i64, broadcast::Sender<ChatNotice>>>,
    agents: Mutex<HashMap<i64, Presence>>,
    /// Round robin: when each agent last got a chat (a counter, not a time).
    routed: Mutex<(u64, HashMap<i64, u64>)>,
    /// Wakes every agent console: the inbox or the queue changed.
    inbox: broadcast::Sender<()>,
    /// Whether any agent is online, for every widget.
    availability: watch::Sender<bool>,
}

impl Default for ChatHub {
    fn default() -> Self {
        Self::new()
    }
}

impl ChatHub {
    /// A hub with no subscribers.
    pub fn new() -> Self {
        Self {
            chats: Mutex::default(),
            agents: Mutex::default(),
            routed: Mutex::default(),
            inbox: broadcast::channel(16).0,
            availability: watch::Sender::new(false),
        }
    }

    /// Follows chat `chat_id` from now on.
    pub fn subscribe(&self, chat_id: i64) -> broadcast::Receiver<ChatNotice> {
        lock(&self.chats)
            .entry(chat_id)
            .or_insert_with(|| broadcast::channel(CHAT_CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Stops following: drops the chat's channel when nobody else follows it.
    pub fn unsubscribe(&self, chat_id: i64, receiver: broadcast::Receiver<ChatNotice>) {
        drop(receiver);
        let mut chats = lock(&self.chats);
        if chats.get(&chat_id).is_some_and(|sender| sender.receiver_count() == 0) {
            chats.remove(&chat_id);
        }
    }

    /// Tells everyone following chat `chat_id`.
    pub fn publish(&self, chat_id: i64, notice: ChatNotice) {
        let mut chats = lock(&self.chats);
        let unwatched = chats.get(&chat_id).is_some_and(|sender| sender.send(notice).is_err());
        if unwatched {
            // Every follower went away without unsubscribing (an aborted task): forget the channel.
            chats.remove(&chat_id);
        }
    }

    /// Follows inbox, queue and availability changes.
    pub fn inbox_subscribe(&self) -> broadcast::Receiver<()> {
        self.inbox.subscribe()
    }

    /// Says the inbox, the queue or availability changed.
    pub fn inbox_changed(&self) {
        let _ = self.inbox.send(());
    }

    /// Follows whether any agent is online.
    pub fn availability(&self) -> watch::Receiver<bool> {
        self.availability.subscribe()
    }

    /// Tells the widgets when whether anyone is online changed.
    fn refresh_availability(&self) {
        let online = !self.online_agents().is_empty();
        self.availability.send_if_modified(|current| std::mem::replace(current, online) != online);
    }

    /// An agent's console connected.
    pub fn agent_connected(&self, agent_id: i64) {
        lock(&self.agents).entry(agent_id).or_default().connections += 1;
        self.refresh_availability();
    }

    /// An agent's console disconnected; returns how many they still have open.
    pub fn agent_disconnected(&self, agent_id: i64) -> usize {
        let mut agents = lock(&self.agents);
        let Some(presence) = agents.get_mut(&agent_id) else { return 0 };
        presence.connections = presence.connections.saturating_sub(1);
        let left = presence.connections;
        drop(agents);
        self.refresh_availability();
        left
    }

    /// Sets what an agent chose; returns the previous status.
    pub fn set_status(&self, agent_id: i64, status: AgentStatus) -> AgentStatus {
        let mut agents = lock(&self.agents);
        let presence = agents.entry(agent_id).or_default();
        let before = std::mem::replace(&mut presence.status, status);
        drop(agents);
        self.refresh_availability();
        before
    }

    /// What an agent chose: offline when they have no console open.
    pub fn status(&self, agent_id: i64) -> AgentStatus {
        match lock(&self.agents).get(&agent_id) {
            Some(presence) if presence.connections > 0 => presence.status,
            _ => AgentStatus::Offline,
        }
    }

    /// The agents online for new chats (a console open and status online), by id.
    pub fn online_agents(&self) -> Vec<i64> {
        let mut online: Vec<i64> = lock(&self.agents)
            .iter()
            .filter(|(_, p)| p.connections > 0 && p.status == AgentStatus::Online)
            .map(|(id, _)| *id)
            .collect();
        online.sort_unstable();
        online
    }
}

impl ChatHub {
    /// When the agent last got a routed chat (0 for never): lower goes first.
    pub fn last_routed(&self, agent_id: i64) -> u64 {
        lock(&self.routed).1.get(&agent_id).copied().unwrap_or(0)
    }

    /// Notes that the agent just got a routed chat.
    pub fn routed(&self, agent_id: i64) {
        let mut routed = lock(&self.routed);
        routed.0 += 1;
        let tick = routed.0;
        routed.1.insert(agent_id, tick);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_is_online_only_with_a_console_open_and_the_status_online() {
        let hub = ChatHub::new();
        hub.set_status(7, AgentStatus::Online);
        assert!(hub.online_agents().is_empty());
        hub.agent_connected(7);
        assert_eq!(hub.online_agents(), vec![7]);
        hub.set_status(7, AgentStatus::Away);
        assert!(hub.online_agents().is_empty());
        assert_eq!(hub.status(7), AgentStatus::Away);
        assert_eq!(hub.agent_disconnected(7), 0);
        assert_eq!(hub.status(7), AgentStatus::Offline);
    }

    #[test]
    fn a_chat_channel_is_dropped_with_its_last_subscriber() {
        let hub = ChatHub::new();
        let first = hub.subscribe(1);
        let mut second = hub.subscribe(1);
        hub.unsubscribe(1, first);
        hub.publish(1, ChatNotice::Changed);
        assert_eq!(second.try_recv().ok(), Some(ChatNotice::Changed));
        hub.unsubscribe(1, second);
        assert!(lock(&hub.chats).is_empty());
    }
}

//! The agents' live hub: the in-process fan-out that wakes agents' consoles when a ticket has new
//! events, an agent has new notifications, or an agent's access changed, and the table of who is
//! viewing or replying where. It carries wake-up calls only: what changed is stored first and each
//! socket reads it from the database, so a socket that falls behind replays and loses nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

use super::{Activity, PresenceEntry};
use crate::platform::context::AppContext;

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
    /// The application's hub.
    pub fn of(ctx: &AppContext) -> &Self {
        ctx.part()
    }

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

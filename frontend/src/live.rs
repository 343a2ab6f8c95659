//! The agent console's live connection: one WebSocket per tab, reopened with backoff when it
//! drops, resubscribing with the last sequence number seen so nothing is missed. Its messages
//! become signals that pages react to (refetch a ticket, refresh the queue, show who else is
//! there). On the server (SSR) the signals exist but nothing connects.

use frontdesk_core::live::{Activity, PresenceEntry};
use leptos::prelude::*;
use std::collections::HashMap;

/// The live state pages read, provided by the console layout.
#[derive(Clone, Copy)]
pub struct Live {
    /// The last event sequence number received per followed ticket.
    pub ticket_seq: RwSignal<HashMap<i64, i64>>,
    /// Increases whenever any ticket changes (for queue views).
    pub queue_tick: RwSignal<u64>,
    /// The other agents on each followed ticket.
    pub presence: RwSignal<HashMap<i64, Vec<PresenceEntry>>>,
    /// Whether the socket is open.
    pub connected: RwSignal<bool>,
    /// The id of the latest notification received for this agent (0: none yet).
    pub notification_id: RwSignal<i64>,
    /// Increases when this tab marks notifications read, so unread counts refresh.
    pub notifications_read: RwSignal<u64>,
}

impl Live {
    /// Creates the live state, provides it to the pages below, and (in the browser) connects.
    pub fn provide() -> Self {
        let live = Self {
            ticket_seq: RwSignal::new(HashMap::new()),
            queue_tick: RwSignal::new(0),
            presence: RwSignal::new(HashMap::new()),
            connected: RwSignal::new(false),
            notification_id: RwSignal::new(0),
            notifications_read: RwSignal::new(0),
        };
        provide_context(live);
        #[cfg(feature = "hydrate")]
        socket::start(live);
        live
    }

    /// The last sequence number received for a ticket (tracked: readers rerun on news).
    pub fn seq(self, number: i64) -> i64 {
        self.ticket_seq.with(|seqs| seqs.get(&number).copied().unwrap_or(0))
    }

    /// Follows a ticket's events after `after_seq`, and its presence.
    pub fn follow_ticket(self, number: i64, after_seq: i64) {
        #[cfg(feature = "hydrate")]
        socket::follow_ticket(number, after_seq);
        #[cfg(not(feature = "hydrate"))]
        let _ = (number, after_seq);
    }

    /// Stops following a ticket (and leaves its presence).
    pub fn unfollow_ticket(self, number: i64) {
        #[cfg(feature = "hydrate")]
        socket::unfollow_ticket(number);
        #[cfg(not(feature = "hydrate"))]
        let _ = number;
    }

    /// Follows every ticket change.
    pub fn follow_queue(self) {
        #[cfg(feature = "hydrate")]
        socket::follow_queue();
    }

    /// Tells the other agents what this agent is doing on a followed ticket.
    pub fn set_activity(self, number: i64, activity: Activity) {
        #[cfg(feature = "hydrate")]
        socket::set_activity(number, activity);
        #[cfg(not(feature = "hydrate"))]
        let _ = (number, activity);
    }
}

#[cfg(feature = "hydrate")]
mod socket {
    //! The browser side: one socket in a thread-local (wasm has one thread), callbacks kept with
    //! it so they are dropped when it is replaced.

    use super::Live;
    use frontdesk_core::live::{Activity, ClientMessage, PROTOCOL_VERSION, ServerMessage};
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::time::Duration;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    #[derive(Default)]
    struct State {
        live: Option<Live>,
        socket: Option<WebSocket>,
        callbacks: Vec<Closure<dyn FnMut(web_sys::Event)>>,
        /// Followed tickets and the last sequence number received.
        tickets: HashMap<i64, i64>,
        queue: bool,
        /// The last notification id received.
        notification_id: i64,
        activity: HashMap<i64, Activity>,
        retry: u32,
    }

    thread_local! {
        static STATE: RefCell<State> = RefCell::default();
    }

    pub fn start(live: Live) {
        let already = STATE.with(|s| {
            let mut s = s.borrow_mut();
            let running = s.live.is_some();
            s.live = Some(live);
            running
        });
        if !already {
            connect();
        }
    }

    pub fn follow_ticket(number: i64, after_seq: i64) {
        STATE.with(|s| s.borrow_mut().tickets.insert(number, after_seq));
        send(&ClientMessage::SubscribeTicket { number, after_seq });
    }

    pub fn unfollow_ticket(number: i64) {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.tickets.remove(&number);
            s.activity.remove(&number);
        });
        send(&ClientMessage::UnsubscribeTicket { number });
    }

    pub fn follow_queue() {
        STATE.with(|s| s.borrow_mut().queue = true);
        send(&ClientMessage::SubscribeQueue);
    }

    pub fn set_activity(number: i64, activity: Activity) {
        let changed = STATE.with(|s| s.borrow_mut().activity.insert(number, activity) != Some(activity));
        if changed {
            send(&ClientMessage::Presence { number, activity });
        }
    }

    fn send(message: &ClientMessage) {
        let Ok(text) = serde_json::to_string(message) else { return };
        STATE.with(|s| {
            if let Some(socket) = s.borrow().socket.as_ref()
                && socket.ready_state() == WebSocket::OPEN
            {
                let _ = socket.send_with_str(&text);
            }
        });
    }

    fn connect() {
        let location = window().location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
        let host = location.host().unwrap_or_default();
        let Ok(socket) = WebSocket::new(&format!("{scheme}://{host}/api/live?v={PROTOCOL_VERSION}")) else {
            return reconnect_later();
        };
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(|_: web_sys::Event| opened());
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
            if let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
                received(&text);
            }
        });
        let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(|_: web_sys::Event| closed());
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.socket = Some(socket);
            s.callbacks = vec![on_open, on_message, on_close];
        });
    }

    /// Resubscribes to everything with the last sequence numbers received.
    fn opened() {
        let (live, tickets, queue, activity, after_id) = STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.retry = 0;
            (s.live, s.tickets.clone(), s.queue, s.activity.clone(), s.notification_id)
        });
        if let Some(live) = live {
            live.connected.set(true);
        }
        send(&ClientMessage::SubscribeNotifications { after_id });
        if queue {
            send(&ClientMessage::SubscribeQueue);
        }
        for (number, after_seq) in tickets {
            send(&ClientMessage::SubscribeTicket { number, after_seq });
        }
        for (number, activity) in activity {
            send(&ClientMessage::Presence { number, activity });
        }
    }

    fn received(text: &str) {
        let Ok(message) = serde_json::from_str::<ServerMessage>(text) else { return };
        let Some(live) = STATE.with(|s| s.borrow().live) else { return };
        match message {
            ServerMessage::TicketEvent { number, event } => {
                STATE.with(|s| s.borrow_mut().tickets.insert(number, event.seq));
                live.ticket_seq.update(|seqs| {
                    seqs.insert(number, event.seq);
                });
            }
            ServerMessage::QueueChanged { .. } => live.queue_tick.update(|tick| *tick += 1),
            ServerMessage::Presence { number, agents } => live.presence.update(|p| {
                p.insert(number, agents);
            }),
            ServerMessage::Notification { notification } => {
                STATE.with(|s| s.borrow_mut().notification_id = notification.id);
                live.notification_id.set(notification.id);
            }
            ServerMessage::Error { message } => leptos::logging::warn!("live: {message}"),
        }
    }

    fn closed() {
        if let Some(live) = STATE.with(|s| s.borrow().live) {
            live.connected.set(false);
        }
        reconnect_later();
    }

    /// Tries again after 0.5 s, doubling up to 15 s.
    fn reconnect_later() {
        let retry = STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.retry = s.retry.saturating_add(1);
            s.retry
        });
        let delay = Duration::from_millis((500u64 << retry.min(5)).min(15_000));
        set_timeout(connect, delay);
    }
}

//! The agent console's live connection: one WebSocket per tab, reopened with backoff when it
//! drops, resubscribing with the last sequence number seen so nothing is missed. Its messages
//! become signals that pages react to (refetch a ticket, refresh the queue, show who else is
//! there, the chat inbox and the messages of followed chats). On the server (SSR) the signals
//! exist but nothing connects.
//!
//! Chat replies go out with a client-generated id and stay in an outbox until the server acks
//! them; after a reconnect they are sent again with the same id, which the server stores once.

use frontdesk_core::agents::{Activity, PresenceEntry};
use frontdesk_core::chats::{AgentStatus, Attachment, ChatMessage, ChatSummary};
use frontdesk_core::live::ClientMessage;
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
    /// This agent's chat status, as the server last said.
    pub chat_status: RwSignal<AgentStatus>,
    /// The chat inbox: the queue, then this agent's chats.
    pub chat_inbox: RwSignal<Vec<ChatSummary>>,
    /// The messages received of each followed chat, in seq order.
    pub chat_messages: RwSignal<HashMap<i64, Vec<ChatMessage>>>,
    /// Replies sent and not acked yet.
    pub chat_outbox: RwSignal<Vec<ChatOutgoing>>,
    /// Whether each followed chat's visitor is typing.
    pub chat_typing: RwSignal<HashMap<i64, bool>>,
    /// How far each followed chat's visitor has read.
    pub chat_visitor_read: RwSignal<HashMap<i64, i64>>,
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
            chat_status: RwSignal::new(AgentStatus::Offline),
            chat_inbox: RwSignal::new(Vec::new()),
            chat_messages: RwSignal::new(HashMap::new()),
            chat_outbox: RwSignal::new(Vec::new()),
            chat_typing: RwSignal::new(HashMap::new()),
            chat_visitor_read: RwSignal::new(HashMap::new()),
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

    /// Says whether this agent takes chats (remembered in this browser across reloads).
    pub fn set_chat_status(self, status: AgentStatus) {
        #[cfg(feature = "hydrate")]
        socket::set_chat_status(status);
        #[cfg(not(feature = "hydrate"))]
        let _ = status;
    }

    /// Follows a chat's messages (all of them, the first time), typing and read receipts.
    pub fn follow_chat(self, number: i64) {
        #[cfg(feature = "hydrate")]
        socket::follow_chat(number);
        #[cfg(not(feature = "hydrate"))]
        let _ = number;
    }

    /// Sends a reply in a chat: stays in the outbox until stored, resent after reconnects.
    pub fn send_chat(self, number: i64, body: String, attachment: Option<Attachment>) {
        let outgoing = ChatOutgoing { number, client_id: new_client_id(), body, attachment };
        self.chat_outbox.update(|outbox| outbox.push(outgoing.clone()));
        #[cfg(feature = "hydrate")]
        socket::send(&outgoing.request());
    }

    /// Says this agent is (or stopped) typing in a followed chat.
    pub fn chat_typing(self, number: i64, typing: bool) {
        #[cfg(feature = "hydrate")]
        socket::chat_typing(number, typing);
        #[cfg(not(feature = "hydrate"))]
        let _ = (number, typing);
    }

    /// Says this agent read a followed chat up to `seq`.
    pub fn chat_read(self, number: i64, seq: i64) {
        #[cfg(feature = "hydrate")]
        socket::chat_read(number, seq);
        #[cfg(not(feature = "hydrate"))]
        let _ = (number, seq);
    }

    /// Tells the other agents what this agent is doing on a followed ticket.
    pub fn set_activity(self, number: i64, activity: Activity) {
        #[cfg(feature = "hydrate")]
        socket::set_activity(number, activity);
        #[cfg(not(feature = "hydrate"))]
        let _ = (number, activity);
    }
}

/// A reply sent in a chat and not acked yet; resent with the same id after a reconnect.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatOutgoing {
    /// The chat's ticket number.
    pub number: i64,
    /// The id it is sent (and resent) with.
    pub client_id: String,
    /// The text.
    pub body: String,
    /// A file sent with it.
    pub attachment: Option<Attachment>,
}

impl ChatOutgoing {
    #[cfg_attr(not(feature = "hydrate"), expect(dead_code, reason = "sent by the browser side"))]
    fn request(&self) -> ClientMessage {
        ClientMessage::ChatSend {
            number: self.number,
            client_id: self.client_id.clone(),
            body: self.body.clone(),
            attachment_id: self.attachment.as_ref().map(|a| a.id),
        }
    }
}

fn new_client_id() -> String {
    #[cfg(feature = "hydrate")]
    return crate::socket::new_client_id();
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

#[cfg(feature = "hydrate")]
impl crate::socket::Outgoing for ChatOutgoing {
    fn client_id(&self) -> &str {
        &self.client_id
    }
}

#[cfg(feature = "hydrate")]
mod socket {
    //! The browser side: the console's [`Connection`] and what it follows, in a thread-local
    //! (wasm has one thread).

    use super::Live;
    use crate::socket::{Connection, Handlers, settle};
    use frontdesk_core::agents::Activity;
    use frontdesk_core::chats::{AgentStatus, ChatMessage, ChatSummary};
    use frontdesk_core::live::{ClientMessage, PROTOCOL_VERSION, ServerMessage};
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    #[derive(Default)]
    struct State {
        live: Option<Live>,
        connection: Connection,
        /// Followed tickets and the last sequence number received.
        tickets: HashMap<i64, i64>,
        queue: bool,
        /// The last notification id received.
        notification_id: i64,
        activity: HashMap<i64, Activity>,
        /// Followed chats and the last seq received.
        chats: HashMap<i64, i64>,
        /// The pages of a chat inbox received so far (see `ServerMessage::ChatInbox`).
        inbox_pages: Vec<ChatSummary>,
        /// The status this agent chose on this page, sent again after a reconnect. A new page
        /// leaves it to the server, which keeps the agent's choice.
        chat_status: Option<AgentStatus>,
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

    pub fn set_chat_status(status: AgentStatus) {
        STATE.with(|s| s.borrow_mut().chat_status = Some(status));
        if status == AgentStatus::Online {
            super::alerts::ask_permission();
        }
        send(&ClientMessage::SetChatStatus { status });
    }

    pub fn follow_chat(number: i64) {
        let after_seq = STATE.with(|s| *s.borrow_mut().chats.entry(number).or_insert(0));
        send(&ClientMessage::SubscribeChat { number, after_seq });
    }

    pub fn chat_typing(number: i64, typing: bool) {
        send(&ClientMessage::ChatTyping { number, typing });
    }

    pub fn chat_read(number: i64, seq: i64) {
        send(&ClientMessage::ChatRead { number, seq });
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
        let changed =
            STATE.with(|s| s.borrow_mut().activity.insert(number, activity) != Some(activity));
        if changed {
            send(&ClientMessage::Presence { number, activity });
        }
    }

    pub(super) fn send(message: &ClientMessage) {
        STATE.with(|s| s.borrow().connection.send(message));
    }

    const HANDLERS: Handlers = Handlers { opened, received, closed };

    fn connect() {
        let path = format!("/api/live?v={PROTOCOL_VERSION}");
        if !STATE.with(|s| s.borrow_mut().connection.open(&path, HANDLERS)) {
            reconnect_later();
        }
    }

    /// Resubscribes to everything with the last sequence numbers received.
    fn opened() {
        let (live, tickets, queue, activity, after_id) = STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.connection.mark_opened();
            s.inbox_pages.clear();
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
        let (chats, status) = STATE.with(|s| {
            let s = s.borrow();
            (s.chats.clone(), s.chat_status)
        });
        send(&ClientMessage::SubscribeChats);
        if let Some(status) = status {
            send(&ClientMessage::SetChatStatus { status });
        }
        for (number, after_seq) in chats {
            send(&ClientMessage::SubscribeChat { number, after_seq });
        }
        if let Some(live) = live {
            // Whatever was not acked goes again, with the same ids: stored once either way.
            for outgoing in live.chat_outbox.get_untracked() {
                send(&outgoing.request());
            }
        }
    }

    /// A stored chat message: kept once, in seq order; a visitor's message raises an alert when
    /// the tab is hidden.
    fn chat_message(live: super::Live, number: i64, message: ChatMessage) {
        let fresh = STATE.with(|s| {
            let mut s = s.borrow_mut();
            let last = s.chats.entry(number).or_insert(0);
            let fresh = message.seq > *last;
            *last = (*last).max(message.seq);
            fresh
        });
        if !fresh {
            return;
        }
        if message.sender == frontdesk_core::chats::Sender::Visitor {
            super::alerts::alert(&format!("{}: {}", message.author, message.body));
        }
        live.chat_messages.update(|all| {
            let list = all.entry(number).or_default();
            if list.last().is_none_or(|m| m.seq < message.seq) {
                list.push(message);
            }
        });
    }

    /// The inbox: an alert for each chat that is new to this agent (queued, or just given to them).
    fn chat_inbox(live: super::Live, status: AgentStatus, chats: Vec<ChatSummary>) {
        let known = live
            .chat_inbox
            .with_untracked(|old| old.iter().map(|c| (c.number, c.agent_id)).collect::<Vec<_>>());
        let first_load = known.is_empty();
        for chat in chats.iter().filter(|c| c.state != frontdesk_core::chats::ChatState::Ended) {
            if !first_load && !known.contains(&(chat.number, chat.agent_id)) {
                super::alerts::alert(&format!("New chat from {}", chat.customer));
            }
        }
        live.chat_status.set(status);
        live.chat_inbox.set(chats);
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
            ServerMessage::ChatInbox { status, chats, more } => {
                // A long inbox comes in pages, back to back: show it once it is whole.
                let whole = STATE.with(|s| {
                    let mut s = s.borrow_mut();
                    s.inbox_pages.extend(chats);
                    (!more).then(|| std::mem::take(&mut s.inbox_pages))
                });
                if let Some(chats) = whole {
                    chat_inbox(live, status, chats);
                }
            }
            ServerMessage::ChatMessage { number, message } => chat_message(live, number, message),
            ServerMessage::ChatAck { client_id, .. } => {
                settle(live.chat_outbox, &client_id);
            }
            ServerMessage::ChatTyping { number, typing } => live.chat_typing.update(|t| {
                t.insert(number, typing);
            }),
            ServerMessage::ChatRead { number, seq } => live.chat_visitor_read.update(|r| {
                r.insert(number, seq);
            }),
        }
    }

    fn closed(_code: u16) {
        STATE.with(|s| s.borrow_mut().connection.mark_closed());
        if let Some(live) = STATE.with(|s| s.borrow().live) {
            live.connected.set(false);
        }
        reconnect_later();
    }

    fn reconnect_later() {
        let delay = STATE.with(|s| s.borrow_mut().connection.next_delay());
        set_timeout(connect, delay);
    }
}

#[cfg(feature = "hydrate")]
mod alerts {
    //! Getting an agent's attention while the tab is hidden: a short tone and a browser
    //! notification (once the agent allowed them).

    use leptos::prelude::*;
    use web_sys::{
        AudioContext, Notification, NotificationOptions, NotificationPermission, OscillatorType,
        VisibilityState,
    };

    /// Asks for permission to show notifications (call from a click).
    pub fn ask_permission() {
        if Notification::permission() == NotificationPermission::Default {
            let _ = Notification::request_permission();
        }
    }

    /// Plays a tone and shows `text` as a notification, if the tab is hidden.
    pub fn alert(text: &str) {
        if document().visibility_state() != VisibilityState::Hidden {
            return;
        }
        beep();
        if Notification::permission() == NotificationPermission::Granted {
            let options = NotificationOptions::new();
            options.set_body(text);
            options.set_tag("frontdesk-chat");
            let _ = Notification::new_with_options("frontdesk", &options);
        }
    }

    fn beep() {
        let Ok(audio) = AudioContext::new() else { return };
        let (Ok(tone), Ok(gain)) = (audio.create_oscillator(), audio.create_gain()) else { return };
        tone.set_type(OscillatorType::Sine);
        tone.frequency().set_value(880.0);
        gain.gain().set_value(0.1);
        let now = audio.current_time();
        let _ = tone
            .connect_with_audio_node(&gain)
            .and_then(|_| gain.connect_with_audio_node(&audio.destination()));
        let _ = tone.start();
        let _ = tone.stop_with_when(now + 0.2);
    }
}

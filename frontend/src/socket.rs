//! The browser's WebSocket as both of frontdesk's clients use it, the agents' console
//! ([`crate::live`]) and the chat widget's panel: one connection at a time with its callbacks kept
//! beside it (so they go when it goes), JSON frames, reconnects after a growing delay with
//! jitter (so a restarted server is not met by every client at once), the outbox of messages
//! sent and not acked yet (resent with the same client ids after a reconnect, which the server
//! stores once), and those client ids.

use leptos::prelude::*;
use serde::Serialize;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// The first reconnect delay; each failed try doubles it.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The longest reconnect delay.
const LONGEST_RETRY: Duration = Duration::from_secs(15);

/// What a socket's owner does when it opens, receives a frame, or closes (with the close code;
/// [`Connection::mark_closed`] tells whether it had opened: a refused handshake never does).
#[derive(Clone, Copy)]
pub struct Handlers {
    /// The socket opened.
    pub opened: fn(),
    /// A text frame arrived.
    pub received: fn(&str),
    /// The socket closed, with this close code.
    pub closed: fn(u16),
}

type Callback = Closure<dyn FnMut(web_sys::Event)>;

/// One client's connection, kept in its owner's thread-local state (wasm has one thread).
#[derive(Default)]
pub struct Connection {
    socket: Option<WebSocket>,
    callbacks: Vec<Callback>,
    opened: bool,
    retries: u32,
}

impl Connection {
    /// Connects to `path` (with its query) on the page's own host, replacing any socket this
    /// connection had. False when the browser refused to start one.
    pub fn open(&mut self, path: &str, handlers: Handlers) -> bool {
        self.close();
        let location = window().location();
        let scheme =
            if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
        let host = location.host().unwrap_or_default();
        let Ok(socket) = WebSocket::new(&format!("{scheme}://{host}{path}")) else {
            return false;
        };
        let on_open = Callback::new(move |_: web_sys::Event| (handlers.opened)());
        let on_message = Callback::new(move |event: web_sys::Event| {
            if let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
                (handlers.received)(&text);
            }
        });
        let on_close = Callback::new(move |event: web_sys::Event| {
            let code = event.dyn_ref::<CloseEvent>().map_or(0, CloseEvent::code);
            (handlers.closed)(code);
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket = Some(socket);
        self.callbacks = vec![on_open, on_message, on_close];
        self.opened = false;
        true
    }

    /// Notes that the socket opened: the next reconnect starts from the shortest delay again.
    pub fn mark_opened(&mut self) {
        self.opened = true;
        self.retries = 0;
    }

    /// Notes that the socket closed; says whether it had opened.
    pub fn mark_closed(&mut self) -> bool {
        self.socket = None;
        std::mem::replace(&mut self.opened, false)
    }

    /// Starts the reconnect delays from the shortest again (a deliberate new start).
    pub fn reset_backoff(&mut self) {
        self.retries = 0;
    }

    /// Whether a socket is open now.
    pub fn is_open(&self) -> bool {
        self.opened && self.socket.as_ref().is_some_and(|s| s.ready_state() == WebSocket::OPEN)
    }

    /// Closes the socket on purpose: its callbacks are detached first, so nothing reconnects.
    pub fn close(&mut self) {
        if let Some(socket) = self.socket.take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
        self.callbacks.clear();
        self.opened = false;
    }

    /// The frame as JSON, if the socket is open; false when it was not sent (the outbox keeps
    /// what matters and resends it after the next open).
    pub fn send<T: Serialize>(&self, message: &T) -> bool {
        let Ok(text) = serde_json::to_string(message) else { return false };
        self.is_open() && self.socket.as_ref().is_some_and(|s| s.send_with_str(&text).is_ok())
    }

    /// How long to wait before the next try: doubling from a quarter second up to 15 s, each
    /// between half and all of that (random), so clients spread out.
    pub fn next_delay(&mut self) -> Duration {
        self.retries = self.retries.saturating_add(1);
        let ceiling = FIRST_RETRY.saturating_mul(1 << self.retries.min(6)).min(LONGEST_RETRY);
        ceiling.mul_f64(0.5 + random_unit() / 2.0)
    }
}

/// A message in an outbox: kept until the server acks its client id.
pub trait Outgoing {
    /// The id it is sent, and resent, with.
    fn client_id(&self) -> &str;
}

/// Takes the message with `client_id` out of `outbox` once acked; returns it if it was there.
pub fn settle<T>(outbox: RwSignal<Vec<T>>, client_id: &str) -> Option<T>
where
    T: Outgoing + Send + Sync + 'static,
{
    let mut found = None;
    outbox.update(|list| {
        if let Some(at) = list.iter().position(|o| o.client_id() == client_id) {
            found = Some(list.remove(at));
        }
    });
    found
}

/// A new client id: a UUIDv7 (time-ordered), its random bits from the browser's cryptographic
/// source (or `Math.random` where that is missing).
pub fn new_client_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = window()
        .crypto()
        .is_ok_and(|crypto| crypto.get_random_values_with_u8_array(&mut bytes[6..]).is_ok());
    if !filled {
        for byte in &mut bytes[6..] {
            *byte = (random_unit() * 256.0) as u8;
        }
    }
    let millis = web_sys::js_sys::Date::now() as u64;
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn random_unit() -> f64 {
    web_sys::js_sys::Math::random()
}

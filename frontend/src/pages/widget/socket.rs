//! The visitor's connection, one per frame in a thread-local (wasm has one thread): the shared
//! [`Connection`] (reconnects with backoff and jitter), a resume from the last seq received, and
//! the outbox resent after each open. Identity changes
//! (`setUser`, `reset`, the pre-chat form) bump an epoch: answers and timers of an older
//! epoch are ignored, so a slow reply can never bring back the previous visitor.

use super::js::{self, Store};
use super::{Leave, Line, Outgoing, Panel, insert_line, last_seq, unread};
use crate::socket::{Connection, Handlers, new_client_id};
use frontdesk_core::chats::{
    ChatState, Sender, VisitorEvent, VisitorRequest, WIDGET_PROTOCOL_VERSION,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::MessageEvent;

/// How long "Agent is typing…" stays without a refresh.
const AGENT_TYPING_MS: u64 = 6_000;
/// The visitor's typing is announced at most this often...
const TYPING_REPEAT_MS: f64 = 3_000.0;
/// ...and withdrawn after this long without a key.
const TYPING_IDLE_MS: u64 = 4_000;
/// Pings keep an idle socket open through proxies.
const PING_EVERY: Duration = Duration::from_secs(25);
/// After the server says "too many", the outbox is tried again this much later.
const RATE_LIMIT_RETRY: Duration = Duration::from_secs(5);

/// The host page's user (`Frontdesk("setUser", {...})`).
#[derive(Clone, Debug, Default, Deserialize)]
struct User {
    id: Option<String>,
    hash: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

/// The body of `POST /api/widget/visitor`.
#[derive(Serialize)]
struct Hello<'a> {
    site: &'a str,
    token: Option<&'a str>,
    user_id: Option<&'a str>,
    user_hash: Option<&'a str>,
    name: Option<&'a str>,
    email: Option<&'a str>,
}

/// Its answer.
#[derive(Deserialize)]
struct Started {
    token: String,
}

#[derive(Default)]
struct State {
    panel: Option<Panel>,
    site: String,
    /// The host page's origin; nothing is posted or accepted without one.
    parent: Option<String>,
    token: Option<String>,
    user: Option<User>,
    /// Name and email from a form, sent with the next visitor request.
    details: Option<(String, String)>,
    epoch: u32,
    connection: Connection,
    pinger: Option<IntervalHandle>,
    /// The chat followed.
    number: Option<i64>,
    welcomed: bool,
    /// An offline message until the server confirms it.
    leave: Option<VisitorRequest>,
    /// When `Typing{true}` was last sent, while the visitor types.
    typing_since: Option<f64>,
    typing_timer: Option<TimeoutHandle>,
    agent_typing_timer: Option<TimeoutHandle>,
    /// Whether the host page shows the panel.
    open: bool,
    /// The newest (chat, seq) the visitor has seen (kept in localStorage).
    read_mark: (i64, i64),
    /// The newest (chat, seq) a `Read` was sent for on this socket.
    read_sent: (i64, i64),
    /// The unread count last posted to the host page.
    unread_posted: Option<usize>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

/// Runs `f` on the state; never call out (signals, sockets) while it runs.
fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn panel() -> Option<Panel> {
    with(|s| s.panel)
}

fn token_key(site: &str) -> String {
    format!("frontdesk-visitor:{site}")
}
fn outbox_key(site: &str) -> String {
    format!("frontdesk-outbox:{site}")
}
fn read_key(site: &str) -> String {
    format!("frontdesk-read:{site}")
}

/// Starts the panel: restores what storage kept, listens to the host page, says "ready", and
/// connects.
pub fn start(panel: Panel, site: String, parent: Option<String>) {
    if with(|s| s.panel.replace(panel).is_some()) {
        return;
    }
    let token = js::load(Store::Local, &token_key(&site));
    let outbox: Vec<Outgoing> = js::load(Store::Session, &outbox_key(&site))
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let read_mark = js::load(Store::Local, &read_key(&site))
        .and_then(|t| t.split_once(':').and_then(|(n, s)| Some((n.parse().ok()?, s.parse().ok()?))))
        .unwrap_or((0, 0));
    // Opened on its own (not in a frame) the panel is always "open".
    let framed = window()
        .parent()
        .ok()
        .flatten()
        .is_some_and(|p| !web_sys::js_sys::Object::is(p.as_ref(), window().as_ref()));
    with(|s| {
        s.site = site;
        s.parent = parent;
        s.token = token;
        s.read_mark = read_mark;
        s.open = !framed;
    });
    panel.outbox.set(outbox);
    let _ = window_event_listener(leptos::ev::message, |event: MessageEvent| from_parent(&event));
    let on_visibility = Closure::<dyn FnMut(web_sys::Event)>::new(|_: web_sys::Event| mark_read());
    let _ = document().add_event_listener_with_callback(
        "visibilitychange",
        on_visibility.as_ref().unchecked_ref(),
    );
    on_visibility.forget();
    post_parent(json!({ "frontdesk": "ready" }));
    begin();
}

// --- identity ------------------------------------------------------------------------

/// Asks the server who this visitor is (making a new one if the stored token is unknown),
/// then connects.
fn begin() {
    let (epoch, body) = with(|s| {
        let user = s.user.as_ref();
        let (name, email) = match &s.details {
            Some((name, email)) => {
                (Some(name.as_str()), Some(email.as_str()).filter(|e| !e.is_empty()))
            }
            None => (user.and_then(|u| u.name.as_deref()), user.and_then(|u| u.email.as_deref())),
        };
        let hello = Hello {
            site: &s.site,
            token: s.token.as_deref(),
            user_id: user.and_then(|u| u.id.as_deref()),
            user_hash: user.and_then(|u| u.hash.as_deref()),
            name,
            email,
        };
        (s.epoch, serde_json::to_string(&hello).unwrap_or_default())
    });
    leptos::task::spawn_local(async move {
        let answer = js::post_json("/api/widget/visitor", &body).await;
        if with(|s| s.epoch) != epoch {
            return;
        }
        let Some(panel) = panel() else { return };
        match answer {
            Ok((200, text)) => match serde_json::from_str::<Started>(&text) {
                Ok(started) => {
                    panel.unverified.set(false);
                    became(started.token);
                    connect();
                }
                Err(_) => retry_later(begin),
            },
            Ok((403, _)) => {
                panel.unverified.set(true);
                panel.connected.set(false);
            }
            _ => retry_later(begin),
        }
    });
}

/// Keeps the visitor's token; a different visitor than before starts a clean transcript.
fn became(token: String) {
    let (site, changed) = with(|s| {
        let changed = s.token.as_deref().is_some_and(|old| old != token);
        s.token = Some(token.clone());
        s.details = None;
        (s.site.clone(), changed)
    });
    js::save(Store::Local, &token_key(&site), &token);
    if let Some(panel) = panel() {
        let encode = |text: &str| String::from(web_sys::js_sys::encode_uri_component(text));
        panel.files.set(Some(format!("site={}&visitor={}", encode(&site), encode(&token))));
    }
    if changed {
        forget_conversation();
    }
}

/// Drops what the panel shows of the previous visitor's chats (not their unsent messages).
fn forget_conversation() {
    with(|s| {
        s.number = None;
        s.welcomed = false;
        s.read_sent = (0, 0);
    });
    if let Some(panel) = panel() {
        panel.messages.set(Vec::new());
        panel.chat.set(None);
        panel.welcome.set(None);
        panel.known_name.set(None);
        panel.agent_read_seq.set(0);
        panel.agent_typing.set(false);
        panel.error.set(None);
        panel.leave.set(Leave::Idle);
    }
}

/// Closes the socket on purpose and starts again under a new epoch.
fn restart() {
    disconnect();
    with(|s| {
        s.epoch = s.epoch.wrapping_add(1);
        s.connection.reset_backoff();
    });
    begin();
}

fn disconnect() {
    let pinger = with(|s| {
        s.connection.close();
        s.pinger.take()
    });
    if let Some(pinger) = pinger {
        pinger.clear();
    }
    if let Some(panel) = panel() {
        panel.connected.set(false);
    }
}

// --- the socket ----------------------------------------------------------------------

const HANDLERS: Handlers = Handlers { opened, received, closed };

fn connect() {
    let Some((site, token)) = with(|s| s.token.clone().map(|t| (s.site.clone(), t))) else {
        return begin();
    };
    let path = format!(
        "/api/widget/ws?v={WIDGET_PROTOCOL_VERSION}&site={}&visitor={}",
        String::from(web_sys::js_sys::encode_uri_component(&site)),
        String::from(web_sys::js_sys::encode_uri_component(&token)),
    );
    if !with(|s| s.connection.open(&path, HANDLERS)) {
        retry_later(begin);
    }
}

/// Resumes after the last seq received, then resends whatever is still unacknowledged.
fn opened() {
    let Some(panel) = panel() else { return };
    let (number, leave) = with(|s| {
        s.connection.mark_opened();
        s.read_sent = (0, 0);
        (s.number, s.leave.clone())
    });
    panel.connected.set(true);
    let after_seq = number.map_or(0, |n| panel.messages.with_untracked(|m| last_seq(m, n)));
    send(&VisitorRequest::Resume { number, after_seq });
    if let Some(leave) = leave {
        send(&leave);
    }
    resend_outbox();
    let pinger = set_interval_with_handle(
        || {
            send(&VisitorRequest::Ping);
        },
        PING_EVERY,
    )
    .ok();
    with(|s| s.pinger = pinger);
}

fn closed(code: u16) {
    let (was_open, pinger) = with(|s| {
        s.typing_since = None;
        (s.connection.mark_closed(), s.pinger.take())
    });
    if let Some(pinger) = pinger {
        pinger.clear();
    }
    if let Some(panel) = panel() {
        panel.connected.set(false);
        panel.agent_typing.set(false);
    }
    // 1013 and 4000-4999 are the server's "reconnect" (e.g. fell behind); network failures
    // (1006) too. A socket that never opened may carry a token the server no longer knows:
    // ask for the visitor again first.
    if (4000..5000).contains(&code) || code == 1013 {
        leptos::logging::log!("chat: the server asked to reconnect ({code})");
    }
    if was_open { retry_later(connect) } else { retry_later(begin) }
}

/// Tries `next` after the connection's next delay, unless the epoch moved on meanwhile.
fn retry_later(next: fn()) {
    let (delay, epoch) = with(|s| (s.connection.next_delay(), s.epoch));
    set_timeout(
        move || {
            if with(|s| s.epoch) == epoch {
                next();
            }
        },
        delay,
    );
}

/// Sends on the open socket; false when there is none (the outbox resends after `Resume`).
fn send(request: &VisitorRequest) -> bool {
    with(|s| s.connection.send(request))
}

fn resend_outbox() {
    let Some(panel) = panel() else { return };
    for outgoing in panel.outbox.get_untracked() {
        send(&outgoing.request());
    }
}

fn save_outbox(panel: Panel) {
    let site = with(|s| s.site.clone());
    let outbox = panel.outbox.get_untracked();
    if outbox.is_empty() {
        js::remove(Store::Session, &outbox_key(&site));
    } else if let Ok(text) = serde_json::to_string(&outbox) {
        js::save(Store::Session, &outbox_key(&site), &text);
    }
}

/// Takes a message out of the outbox once stored; returns it if it was there.
fn settle(panel: Panel, client_id: &str) -> Option<Outgoing> {
    let found = crate::socket::settle(panel.outbox, client_id);
    if found.is_some() {
        save_outbox(panel);
    }
    found
}

// --- what the server says ------------------------------------------------------------

fn received(text: &str) {
    let Ok(event) = serde_json::from_str::<VisitorEvent>(text) else { return };
    let Some(panel) = panel() else { return };
    match event {
        VisitorEvent::Welcome { welcome } => {
            let number = welcome.chat.as_ref().map(|c| c.number);
            with(|s| {
                s.welcomed = true;
                s.number = number;
            });
            panel.agents_online.set(welcome.agents_online);
            panel.agent_read_seq.set(welcome.chat.as_ref().map_or(0, |c| c.agent_read_seq));
            panel.chat.set(welcome.chat.clone());
            if welcome.known_name.is_some() {
                panel.known_name.set(welcome.known_name.clone());
            }
            panel.welcome.set(Some(welcome));
            mark_read();
        }
        VisitorEvent::Message { number, message } => {
            saw_chat(number);
            if message.sender == Sender::Visitor {
                settle(panel, &message.client_id);
            }
            let line = Line { number, message };
            let fresh = panel
                .messages
                .try_update(|lines| insert_line(lines, line.clone()))
                .unwrap_or(false);
            if fresh && line.message.sender == Sender::Agent {
                stop_agent_typing(panel);
                if line.key() > with(|s| s.read_mark) {
                    let detail = json!({ "number": number, "seq": line.message.seq, "sender": "agent", "author": line.message.author, "text": line.message.body });
                    post_event("message", detail);
                }
            }
            mark_read();
        }
        VisitorEvent::Ack { client_id, seq, number } => {
            saw_chat(number);
            panel.error.set(None);
            if let Some(sent) = settle(panel, &client_id) {
                post_event(
                    "message",
                    json!({ "number": number, "seq": seq, "sender": "visitor", "text": sent.body }),
                );
            }
        }
        VisitorEvent::Chat { chat } => {
            saw_chat(chat.number);
            let before = panel.chat.get_untracked();
            let same = before.as_ref().is_some_and(|b| b.number == chat.number);
            if same {
                panel.agent_read_seq.update(|seq| *seq = (*seq).max(chat.agent_read_seq));
            } else {
                panel.agent_read_seq.set(chat.agent_read_seq);
            }
            if chat.state == ChatState::Ended
                && !(same && before.as_ref().is_some_and(|b| b.state == ChatState::Ended))
            {
                post_event("chat-ended", json!({ "number": chat.number }));
            }
            if chat.state != ChatState::Active {
                stop_agent_typing(panel);
            }
            panel.chat.set(Some(chat));
        }
        VisitorEvent::Typing { typing } => {
            if typing {
                panel.agent_typing.set(true);
                let timer = set_timeout_with_handle(
                    move || panel.agent_typing.set(false),
                    Duration::from_millis(AGENT_TYPING_MS),
                )
                .ok();
                if let Some(old) = with(|s| std::mem::replace(&mut s.agent_typing_timer, timer)) {
                    old.clear();
                }
            } else {
                stop_agent_typing(panel);
            }
        }
        VisitorEvent::Read { seq } => panel.agent_read_seq.update(|read| *read = (*read).max(seq)),
        VisitorEvent::Availability { agents_online } => panel.agents_online.set(agents_online),
        VisitorEvent::MessageLeft { client_id, number } => {
            let ours = with(|s| match &s.leave {
                Some(VisitorRequest::LeaveMessage { client_id: id, .. }) if *id == client_id => {
                    s.leave = None;
                    true
                }
                _ => false,
            });
            if ours {
                panel.leave.set(Leave::Left(number));
            }
        }
        VisitorEvent::Pong => {}
        VisitorEvent::Error { code, message } => refused(panel, &code, message),
    }
}

/// A request was refused; the socket stays open.
fn refused(panel: Panel, code: &str, message: String) {
    let (welcomed, leaving) = with(|s| (s.welcomed, s.leave.is_some()));
    match code {
        // The chat asked for is not this visitor's (any more): follow their newest.
        "not_found" if !welcomed => {
            with(|s| s.number = None);
            send(&VisitorRequest::Resume { number: None, after_seq: 0 });
        }
        "rate_limited" => {
            panel.error.set(Some(message));
            let epoch = with(|s| s.epoch);
            set_timeout(
                move || {
                    if with(|s| s.epoch) == epoch {
                        resend_outbox();
                    }
                },
                RATE_LIMIT_RETRY,
            );
        }
        "invalid" if leaving => {
            with(|s| s.leave = None);
            panel.leave.set(Leave::Failed(message));
        }
        _ => panel.error.set(Some(message)),
    }
}

/// Notes the chat a message or state belongs to; a newer one than followed has started.
fn saw_chat(number: i64) {
    let started = with(|s| {
        let newer = s.number.is_none_or(|n| number > n);
        if newer {
            s.number = Some(number);
        }
        newer && s.welcomed
    });
    if started {
        post_event("chat-started", json!({ "number": number }));
    }
}

fn stop_agent_typing(panel: Panel) {
    if let Some(timer) = with(|s| s.agent_typing_timer.take()) {
        timer.clear();
    }
    panel.agent_typing.set(false);
}

// --- reading and unread --------------------------------------------------------------

/// While the panel is open and visible, everything shown counts as read: the agent gets a
/// read receipt. Either way the host page learns the unread count when it changes.
fn mark_read() {
    let Some(panel) = panel() else { return };
    let (open, number, read_mark, read_sent, site) =
        with(|s| (s.open, s.number, s.read_mark, s.read_sent, s.site.clone()));
    if open && !document().hidden() {
        let newest = panel.messages.with_untracked(|m| m.last().map(Line::key));
        if let Some(newest) = newest.filter(|newest| *newest > read_mark) {
            with(|s| s.read_mark = newest);
            js::save(Store::Local, &read_key(&site), &format!("{}:{}", newest.0, newest.1));
        }
        let has_agent_news = panel.messages.with_untracked(|m| {
            m.iter().any(|l| l.message.sender == Sender::Agent && l.key() > read_sent)
        });
        if let Some(number) = number
            && has_agent_news
        {
            let seq = panel.messages.with_untracked(|m| last_seq(m, number));
            if seq > 0 && send(&VisitorRequest::Read { seq }) {
                with(|s| s.read_sent = (number, seq));
            }
        }
    }
    let read_mark = with(|s| s.read_mark);
    let (count, preview) = panel.messages.with_untracked(|m| unread(m, read_mark));
    let changed = with(|s| s.unread_posted.replace(count) != Some(count));
    if changed && (count > 0 || with(|s| s.welcomed)) {
        let preview: String = preview.unwrap_or_default().chars().take(280).collect();
        post_parent(json!({ "frontdesk": "unread", "count": count, "preview": preview }));
    }
}

// --- the visitor's actions -----------------------------------------------------------

fn queue(panel: Panel, body: String, attachment: Option<super::Attachment>) -> Outgoing {
    let outgoing = Outgoing { client_id: new_client_id(), body, attachment };
    panel.outbox.update(|outbox| outbox.push(outgoing.clone()));
    save_outbox(panel);
    outgoing
}

pub fn send_message(body: String) {
    let Some(panel) = panel() else { return };
    stop_typing();
    let outgoing = queue(panel, body, None);
    send(&outgoing.request());
}

/// Uploads a file to the visitor's open chat, then sends it like a message.
pub fn send_file(file: web_sys::File) {
    let Some(panel) = panel() else { return };
    let Some(query) = panel.files.get_untracked() else { return };
    panel.error.set(None);
    leptos::task::spawn_local(async move {
        match crate::attachments::upload(&format!("/api/widget/attachments?{query}"), &file).await {
            Ok(attachment) => {
                let outgoing = queue(panel, String::new(), Some(attachment));
                send(&outgoing.request());
            }
            Err(reason) => panel.error.set(Some(reason)),
        }
    });
}

/// Saves the name and email on the visitor, then sends the first message on a new socket
/// (so the chat opens under the name just given).
pub fn start_chat(name: String, email: String, body: String) {
    let Some(panel) = panel() else { return };
    stop_typing();
    panel.known_name.set(Some(name.clone()));
    queue(panel, body, None);
    with(|s| s.details = Some((name, email)));
    restart();
}

pub fn leave_message(name: String, email: String, body: String) {
    let Some(panel) = panel() else { return };
    let request = VisitorRequest::LeaveMessage { client_id: new_client_id(), name, email, body };
    with(|s| s.leave = Some(request.clone()));
    panel.leave.set(Leave::Sending);
    send(&request);
}

pub fn typing() {
    let now = web_sys::js_sys::Date::now();
    let announce = with(|s| match s.typing_since {
        Some(since) if now - since < TYPING_REPEAT_MS => false,
        _ => {
            s.typing_since = Some(now);
            true
        }
    });
    if announce {
        send(&VisitorRequest::Typing { typing: true });
    }
    let timer = set_timeout_with_handle(stop_typing, Duration::from_millis(TYPING_IDLE_MS)).ok();
    if let Some(old) = with(|s| std::mem::replace(&mut s.typing_timer, timer)) {
        old.clear();
    }
}

fn stop_typing() {
    let (was_typing, timer) = with(|s| (s.typing_since.take().is_some(), s.typing_timer.take()));
    if let Some(timer) = timer {
        timer.clear();
    }
    if was_typing {
        send(&VisitorRequest::Typing { typing: false });
    }
}

pub fn close_panel() {
    post_parent(json!({ "frontdesk": "close" }));
}

// --- the host page -------------------------------------------------------------------

fn post_parent(message: Value) {
    let Some(origin) = with(|s| s.parent.clone()) else { return };
    let Some(parent) = window().parent().ok().flatten() else { return };
    if let Some(message) = js::to_js(&message) {
        let _ = parent.post_message(&message, &origin);
    }
}

fn post_event(name: &str, detail: Value) {
    post_parent(json!({ "frontdesk": "event", "name": name, "detail": detail }));
}

/// A message from the host page: only from our parent window, only from its origin.
fn from_parent(event: &MessageEvent) {
    let Some(origin) = with(|s| s.parent.clone()) else { return };
    let Some(parent) = window().parent().ok().flatten() else { return };
    let from_parent = event
        .source()
        .is_some_and(|source| web_sys::js_sys::Object::is(source.as_ref(), parent.as_ref()));
    if !from_parent || event.origin() != origin {
        return;
    }
    let Some(message) = js::from_js(&event.data()) else { return };
    match message.get("frontdesk").and_then(Value::as_str) {
        Some("open") => {
            with(|s| s.open = true);
            mark_read();
        }
        Some("closed") => with(|s| s.open = false),
        Some("setUser") => {
            let Ok(user) =
                serde_json::from_value::<User>(message.get("user").cloned().unwrap_or(Value::Null))
            else {
                return;
            };
            with(|s| s.user = Some(user));
            restart();
        }
        Some("reset") => reset(),
        _ => {}
    }
}

/// Forgets the visitor entirely and starts again anonymous.
fn reset() {
    let site = with(|s| {
        s.token = None;
        s.user = None;
        s.details = None;
        s.leave = None;
        s.read_mark = (0, 0);
        s.unread_posted = None;
        s.site.clone()
    });
    js::remove(Store::Local, &token_key(&site));
    js::remove(Store::Local, &read_key(&site));
    js::remove(Store::Session, &outbox_key(&site));
    if let Some(panel) = panel() {
        panel.outbox.set(Vec::new());
        panel.unverified.set(false);
    }
    forget_conversation();
    restart();
}

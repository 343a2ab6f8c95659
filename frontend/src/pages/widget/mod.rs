//! `/widget/frame`: the chat panel inside the website widget's iframe (the loader,
//! `server/src/http/widget.js`, opens it as
//! `/widget/frame?site=TOKEN&origin=HOST_ORIGIN&locale=..&dark=1|0&color=%23hex`).
//!
//! This page owns the visitor's side of a live chat: who the visitor is (a token kept in
//! `localStorage`, exchanged at `POST /api/widget/visitor`), the widget socket
//! (`frontdesk_core::chats`'s `VisitorRequest`/`VisitorEvent`) with resume-by-seq and reconnects,
//! the outbox of unacknowledged messages (kept in `sessionStorage` so a reload resends them with
//! the same client ids), the pre-chat and leave-a-message forms, read receipts and unread counts,
//! and the `postMessage` bridge to the host page. On the server it renders the frame with the
//! site's public settings and the `frame-ancestors` policy that lets only the site's own pages
//! embed it ([`widget_frame_settings`]). Everything a person typed is shown as text, never as HTML.

use frontdesk_core::chats::{
    AgentStatus, Attachment, ChatMessage, ChatState, MAX_CHAT_MESSAGE_CHARS, Sender, VisitorChat,
    WidgetWelcome,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, PanelSettings, widget_frame_settings};
use crate::attachments::{AttachButton, AttachmentLink};

/// The accent when the loader gives none (or a malformed one): the loader's own default.
const DEFAULT_ACCENT: &str = "#2563eb";

/// What the loader put in the frame's address, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FrameConfig {
    /// The site's public token.
    site: String,
    /// The host page's origin: the only one messages go to and come from (none if malformed).
    origin: Option<String>,
    /// Dark colours.
    dark: bool,
    /// The accent colour, `#` and 3 or 6 hex digits.
    accent: String,
}

impl FrameConfig {
    fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            site: get("site").unwrap_or_default(),
            origin: get("origin").and_then(|o| valid_origin(&o)),
            dark: get("dark").as_deref() == Some("1"),
            accent: get("color")
                .filter(|c| valid_color(c))
                .unwrap_or_else(|| DEFAULT_ACCENT.to_owned()),
        }
    }
}

/// `scheme://host[:port]` with nothing after it (how browsers spell `event.origin`).
fn valid_origin(input: &str) -> Option<String> {
    let (scheme, host) = input.split_once("://")?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    (matches!(scheme, "http" | "https") && host_ok).then(|| input.to_owned())
}

/// `#` followed by 3 or 6 hex digits.
fn valid_color(input: &str) -> bool {
    input
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Dark or light text, whichever reads better on the accent.
fn on_accent(accent: &str) -> &'static str {
    let hex = accent.trim_start_matches('#');
    let channel = |i: usize| -> f64 {
        let digits = if hex.len() == 3 {
            hex.get(i..i + 1).map(|d| d.repeat(2))
        } else {
            hex.get(2 * i..2 * i + 2).map(str::to_owned)
        };
        let value = digits
            .and_then(|d| u8::from_str_radix(&d, 16).ok())
            .map_or(0.0, |v| f64::from(v) / 255.0);
        if value <= 0.039_28 { value / 12.92 } else { ((value + 0.055) / 1.055).powf(2.4) }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
    // White text keeps 4.5:1 down to about this luminance.
    if luminance > 0.18 { "#111827" } else { "#ffffff" }
}

/// A stored message of one of the visitor's chats.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    /// The chat (ticket number) it belongs to.
    number: i64,
    message: ChatMessage,
}

impl Line {
    /// Where it sorts: chats in number order, messages in seq order.
    fn key(&self) -> (i64, i64) {
        (self.number, self.message.seq)
    }
}

/// Adds a message in order; false when it was already there (replays never show one twice).
#[cfg_attr(
    not(any(feature = "hydrate", test)),
    expect(dead_code, reason = "used by the browser side")
)]
fn insert_line(lines: &mut Vec<Line>, line: Line) -> bool {
    match lines.binary_search_by_key(&line.key(), Line::key) {
        Ok(_) => false,
        Err(at) => {
            lines.insert(at, line);
            true
        }
    }
}

/// The last seq received of chat `number`.
#[cfg_attr(
    not(any(feature = "hydrate", test)),
    expect(dead_code, reason = "used by the browser side")
)]
fn last_seq(lines: &[Line], number: i64) -> i64 {
    lines.iter().rev().find(|l| l.number == number).map_or(0, |l| l.message.seq)
}

/// The visitor message to mark "Seen": the last one of chat `number` the agent has read.
fn seen_key(lines: &[Line], number: Option<i64>, agent_read_seq: i64) -> Option<(i64, i64)> {
    let number = number?;
    lines
        .iter()
        .rev()
        .find(|l| {
            l.number == number
                && l.message.sender == Sender::Visitor
                && l.message.seq <= agent_read_seq
        })
        .map(Line::key)
}

/// Agent messages after the visitor's read mark: how many, and the latest one's text.
#[cfg_attr(
    not(any(feature = "hydrate", test)),
    expect(dead_code, reason = "used by the browser side")
)]
fn unread(lines: &[Line], read_mark: (i64, i64)) -> (usize, Option<String>) {
    let mut news =
        lines.iter().filter(|l| l.message.sender == Sender::Agent && l.key() > read_mark);
    let count = news.clone().count();
    (count, news.next_back().map(|l| l.message.body.clone()))
}

/// A message typed here that the server has not acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Outgoing {
    /// The id it is sent (and resent) with.
    client_id: String,
    body: String,
    /// A file uploaded to the chat, sent with it.
    #[serde(default)]
    attachment: Option<Attachment>,
}

#[cfg(feature = "hydrate")]
impl crate::socket::Outgoing for Outgoing {
    fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl Outgoing {
    #[cfg_attr(not(feature = "hydrate"), expect(dead_code, reason = "sent by the browser side"))]
    fn request(&self) -> frontdesk_core::chats::VisitorRequest {
        frontdesk_core::chats::VisitorRequest::Send {
            client_id: self.client_id.clone(),
            body: self.body.clone(),
            attachment_id: self.attachment.as_ref().map(|a| a.id),
        }
    }
}

/// The leave-a-message form's progress.
#[cfg_attr(not(feature = "hydrate"), expect(dead_code, reason = "only the browser side sends"))]
#[derive(Clone, Debug, PartialEq, Eq)]
enum Leave {
    Idle,
    Sending,
    Failed(String),
    /// It became ticket N.
    Left(i64),
}

/// What the bottom of the panel offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Waiting for the socket's welcome.
    Connecting,
    /// The host page's user could not be verified.
    Unverified,
    /// Name (and email) first, then the first message.
    PreChat,
    /// Nobody online: leave a message.
    Offline,
    /// The offline message became ticket N.
    Left(i64),
    /// The message box.
    Compose,
}

/// The panel's state, as signals the view reads. The socket (in the browser) writes them.
#[derive(Clone, Copy)]
struct Panel {
    welcome: RwSignal<Option<WidgetWelcome>>,
    agents_online: RwSignal<bool>,
    /// The chat followed (the visitor's current or last one).
    chat: RwSignal<Option<VisitorChat>>,
    known_name: RwSignal<Option<String>>,
    /// Stored messages, ordered by (chat, seq).
    messages: RwSignal<Vec<Line>>,
    outbox: RwSignal<Vec<Outgoing>>,
    agent_read_seq: RwSignal<i64>,
    agent_typing: RwSignal<bool>,
    connected: RwSignal<bool>,
    unverified: RwSignal<bool>,
    /// The server's last refusal, shown until the next one or a successful send.
    error: RwSignal<Option<String>>,
    leave: RwSignal<Leave>,
    /// The query that lets this visitor download their chats' files (`site=..&visitor=..`).
    files: RwSignal<Option<String>>,
}

impl Panel {
    fn new() -> Self {
        Self {
            welcome: RwSignal::new(None),
            agents_online: RwSignal::new(true),
            chat: RwSignal::new(None),
            known_name: RwSignal::new(None),
            messages: RwSignal::new(Vec::new()),
            outbox: RwSignal::new(Vec::new()),
            agent_read_seq: RwSignal::new(0),
            agent_typing: RwSignal::new(false),
            connected: RwSignal::new(false),
            unverified: RwSignal::new(false),
            error: RwSignal::new(None),
            leave: RwSignal::new(Leave::Idle),
            files: RwSignal::new(None),
        }
    }

    fn mode(self) -> Mode {
        if self.unverified.get() {
            return Mode::Unverified;
        }
        if let Leave::Left(number) = self.leave.get() {
            return Mode::Left(number);
        }
        if self.welcome.with(Option::is_none) {
            return Mode::Connecting;
        }
        let chat_open = self.chat.with(|c| c.as_ref().is_some_and(|c| c.state != ChatState::Ended));
        let sending = self.outbox.with(|o| !o.is_empty());
        if !self.agents_online.get() && !chat_open && !sending {
            Mode::Offline
        } else if self.known_name.with(Option::is_none)
            && self.chat.with(Option::is_none)
            && !sending
        {
            Mode::PreChat
        } else {
            Mode::Compose
        }
    }

    /// The line under the title: where the chat stands.
    fn status(self, mode: Mode) -> String {
        match mode {
            Mode::Unverified | Mode::Offline | Mode::Left(_) => return String::new(),
            Mode::Connecting => return "Connecting…".to_owned(),
            Mode::PreChat | Mode::Compose => {}
        }
        if !self.connected.get() {
            return "Reconnecting…".to_owned();
        }
        self.chat.with(|chat| match chat {
            Some(VisitorChat { state: ChatState::Queued, queue_position: Some(n), .. }) => {
                format!("You're number {n} in line")
            }
            Some(VisitorChat { state: ChatState::Queued, .. }) => {
                "Waiting for an agent…".to_owned()
            }
            Some(VisitorChat { state: ChatState::Active, agent, agent_status, .. }) => {
                let name = agent.as_deref().unwrap_or("an agent");
                match agent_status {
                    Some(AgentStatus::Away) => {
                        format!("You're chatting with {name}, who is away for a moment")
                    }
                    Some(AgentStatus::Offline) => format!(
                        "{name} lost connection; they'll be back or someone else will take over"
                    ),
                    _ => format!("You're chatting with {name}"),
                }
            }
            Some(VisitorChat { state: ChatState::Ended, .. }) => {
                "This chat has ended. Write again to start a new one.".to_owned()
            }
            None => String::new(),
        })
    }

    /// The chat whose read receipts count: the followed one, else the newest seen.
    fn current_number(self) -> Option<i64> {
        self.chat
            .with(|c| c.as_ref().map(|c| c.number))
            .or_else(|| self.messages.with(|m| m.last().map(|l| l.number)))
    }

    /// Sends a message (queued in the outbox until acknowledged).
    fn send(self, body: String) {
        #[cfg(feature = "hydrate")]
        socket::send_message(body);
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    }

    /// Saves the pre-chat form's name and email on the visitor, then sends the first message.
    fn start_chat(self, name: String, email: String, body: String) {
        #[cfg(feature = "hydrate")]
        socket::start_chat(name, email, body);
        #[cfg(not(feature = "hydrate"))]
        let _ = (name, email, body);
    }

    /// Leaves a message while nobody is online.
    fn leave_message(self, name: String, email: String, body: String) {
        #[cfg(feature = "hydrate")]
        socket::leave_message(name, email, body);
        #[cfg(not(feature = "hydrate"))]
        let _ = (name, email, body);
    }

    /// Uploads a file to the open chat, then sends it as a message.
    fn send_file(self, file: web_sys::File) {
        #[cfg(feature = "hydrate")]
        socket::send_file(file);
        #[cfg(not(feature = "hydrate"))]
        let _ = file;
    }

    /// Where this visitor downloads attachment `id` (none before they are known).
    fn file_href(self, id: i64) -> Option<String> {
        self.files.with(|query| query.as_ref().map(|q| format!("/api/chat/attachments/{id}?{q}")))
    }

    /// The visitor typed in the message box.
    fn typed(self) {
        #[cfg(feature = "hydrate")]
        socket::typing();
    }

    /// Asks the host page to close the panel.
    fn close(self) {
        #[cfg(feature = "hydrate")]
        socket::close_panel();
    }
}

// ---------------------------------------------------------------------------------------------
// Checks the forms make before sending (the server checks again).

fn check_name(name: &str) -> Option<String> {
    match name.chars().count() {
        0 => Some("Please tell us your name.".to_owned()),
        n if n > 100 => Some("Keep your name under 100 characters.".to_owned()),
        _ => None,
    }
}

fn check_email(email: &str, required: bool) -> Option<String> {
    if email.is_empty() {
        return required.then(|| "Please give your email so we can reach you.".to_owned());
    }
    (!looks_like_email(email)).then(|| "That doesn't look like an email address.".to_owned())
}

/// The one email rule every form applies (the portal's and the server's too).
fn looks_like_email(email: &str) -> bool {
    frontdesk_core::agents::Email::parse(email).is_ok()
}

fn check_body(body: &str) -> Option<String> {
    match body.chars().count() {
        0 => Some("Write a message.".to_owned()),
        n if n > MAX_CHAT_MESSAGE_CHARS => {
            Some(format!("Keep messages under {MAX_CHAT_MESSAGE_CHARS} characters."))
        }
        _ => None,
    }
}

/// Enter sends; Shift+Enter (or Enter while an input method composes) makes a new line.
fn enter_sends(event: &leptos::ev::KeyboardEvent) -> bool {
    event.key() == "Enter" && !event.shift_key() && !event.is_composing()
}

// ---------------------------------------------------------------------------------------------
// The page

/// `/widget/frame`: the chat panel, or "not available" (404) for an unknown site.
#[component]
pub fn WidgetFrame() -> impl IntoView {
    let query = use_query_map();
    let config = query.with_untracked(|q| FrameConfig::from_query(|name| q.get(name)));
    let site = config.site.clone();
    let settings = Resource::new_blocking(move || site.clone(), widget_frame_settings);
    view! {
        <Title text="Chat"/>
        <Suspense>
            {move || {
                let config = config.clone();
                Suspend::new(async move {
                    match settings.await {
                        Ok(settings) => view! { <ChatPanel config settings/> }.into_any(),
                        Err(ApiError::NotFound) => view! { <Unavailable text="This chat is not available."/> }.into_any(),
                        Err(_) => view! { <Unavailable text="This chat is not available right now. Please try again later."/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The whole frame says why there is no chat.
#[component]
fn Unavailable(text: &'static str) -> impl IntoView {
    view! {
        <div class="fd-widget fd-unavailable" id="fd-unavailable">
            <p role="alert">{text}</p>
        </div>
    }
}

/// The panel: header, transcript, and the form the situation calls for.
#[component]
fn ChatPanel(config: FrameConfig, settings: PanelSettings) -> impl IntoView {
    let panel = Panel::new();
    let mode = Memo::new(move |_| panel.mode());
    let style =
        format!("--fd-accent: {}; --fd-on-accent: {}", config.accent, on_accent(&config.accent));
    let ask_email = move || {
        panel.welcome.with(|w| w.as_ref().map(|w| w.ask_email)).unwrap_or(settings.ask_email)
    };
    let greeting = settings.greeting.clone();
    #[cfg(feature = "hydrate")]
    {
        let (site, origin) = (config.site.clone(), config.origin.clone());
        Effect::new(move |_| untrack(|| socket::start(panel, site.clone(), origin.clone())));
    }
    view! {
        <div class="fd-widget" class:fd-dark=config.dark style=style>
            <header class="fd-header">
                <div class="fd-heading">
                    <h1 class="fd-title">"Chat with us"</h1>
                    {(!greeting.is_empty()).then(|| view! { <p class="fd-greeting">{greeting.clone()}</p> })}
                </div>
                <button type="button" class="fd-close" aria-label="Close chat" title="Close" on:click=move |_| panel.close()>
                    "×"
                </button>
            </header>
            <p id="fd-status" class="fd-status" role="status">{move || panel.status(mode.get())}</p>
            <Transcript panel/>
            <p class="fd-error" role="alert">{move || panel.error.get()}</p>
            <div class="fd-bottom">
                {move || match mode.get() {
                    Mode::Connecting => ().into_any(),
                    Mode::Unverified => view! {
                        <p id="fd-problem" class="fd-problem" role="alert">"We could not verify your account."</p>
                    }
                        .into_any(),
                    Mode::PreChat => view! { <PreChatForm panel ask_email=ask_email()/> }.into_any(),
                    Mode::Offline => view! { <OfflineForm panel/> }.into_any(),
                    Mode::Left(number) => view! {
                        <p id="fd-left" class="fd-thanks" role="status">{format!("Thanks! We got your message (#{number}). Our team will get back to you.")}</p>
                    }
                        .into_any(),
                    Mode::Compose => view! { <Composer panel/> }.into_any(),
                }}
            </div>
        </div>
    }
}

/// One row of the transcript: a stored message or one still on its way.
#[derive(Clone, Debug, PartialEq)]
enum Row {
    Stored(Line),
    Pending(Outgoing),
}

impl Row {
    fn key(&self) -> String {
        match self {
            Row::Stored(line) => format!("{}:{}", line.number, line.message.seq),
            Row::Pending(outgoing) => format!("pending:{}", outgoing.client_id),
        }
    }
}

/// The conversation, oldest first, kept scrolled to the newest.
#[component]
fn Transcript(panel: Panel) -> impl IntoView {
    let rows = move || {
        let mut rows: Vec<Row> = panel.messages.get().into_iter().map(Row::Stored).collect();
        rows.extend(panel.outbox.get().into_iter().map(Row::Pending));
        rows
    };
    let seen = Memo::new(move |_| {
        let number = panel.current_number();
        let read = panel.agent_read_seq.get();
        panel.messages.with(|lines| seen_key(lines, number, read))
    });
    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        panel.messages.track();
        panel.outbox.track();
        panel.agent_typing.track();
        request_animation_frame(move || {
            if let Some(scroller) = scroller.get_untracked() {
                scroller.set_scroll_top(scroller.scroll_height());
            }
        });
    });
    view! {
        <div class="fd-scroll" node_ref=scroller>
            <ol id="fd-transcript" class="fd-transcript" aria-live="polite" aria-label="Conversation">
                <For each=rows key=Row::key let:row>
                    {match row {
                        Row::Stored(line) => {
                            let key = line.key();
                            view! { <StoredMessage panel message=line.message seen=Signal::derive(move || seen.get() == Some(key))/> }.into_any()
                        }
                        Row::Pending(outgoing) => view! {
                            <li class="fd-msg fd-visitor fd-pending" data-client-id=outgoing.client_id>
                                <p class="fd-text">{outgoing.body}</p>
                                {outgoing.attachment.map(|file| view! { <p class="attachment-name">{file.file_name}</p> })}
                                <span class="fd-meta fd-sending">"Sending…"</span>
                            </li>
                        }
                            .into_any(),
                    }}
                </For>
            </ol>
            <Show when=move || panel.agent_typing.get()>
                <p class="fd-typing">"Agent is typing…"</p>
            </Show>
        </div>
    }
}

/// A stored message: the visitor's on the right, agents' on the left with their name, and
/// frontdesk's own notes centred.
#[component]
fn StoredMessage(panel: Panel, message: ChatMessage, seen: Signal<bool>) -> impl IntoView {
    let class = match message.sender {
        Sender::Visitor => "fd-msg fd-visitor",
        Sender::Agent => "fd-msg fd-agent",
        Sender::System => "fd-msg fd-system",
    };
    let author =
        (message.sender == Sender::Agent && !message.author.is_empty()).then_some(message.author);
    let attachment = message.attachment.map(|file| {
        move || {
            panel.file_href(file.id).map(|href| view! { <AttachmentLink href file=file.clone()/> })
        }
    });
    view! {
        <li class=class data-seq=message.seq.to_string() title=message.created_at.display_utc()>
            {author.map(|name| view! { <span class="fd-author">{name}</span> })}
            <p class="fd-text">{message.body}</p>
            {attachment}
            <Show when=move || seen.get()>
                <span class="fd-meta fd-seen">"Seen"</span>
            </Show>
        </li>
    }
}

/// The message box at the bottom: Enter sends, Shift+Enter makes a new line.
#[component]
fn Composer(panel: Panel) -> impl IntoView {
    let body = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let send = move || {
        let text = body.get_untracked().trim().to_owned();
        if text.is_empty() {
            return;
        }
        problem.set(check_body(&text));
        if problem.get_untracked().is_none() {
            body.set(String::new());
            panel.send(text);
        }
    };
    view! {
        <form id="fd-composer" class="fd-composer" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            send();
        }>
            <label for="fd-body" class="visually-hidden">"Message"</label>
            <textarea
                id="fd-body"
                name="body"
                rows="2"
                placeholder="Write a message…"
                aria-describedby="fd-body-error"
                prop:value=move || body.get()
                on:input=move |ev| {
                    body.set(event_target_value(&ev));
                    panel.typed();
                }
                on:keydown=move |ev| {
                    if enter_sends(&ev) {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <Show when=move || panel.chat.with(|c| c.as_ref().is_some_and(|c| c.state != ChatState::Ended))>
                <AttachButton id="fd-file" on_pick=move |file| panel.send_file(file)/>
            </Show>
            <button type="submit" class="fd-send">"Send"</button>
            <p class="fd-field-error" id="fd-body-error">{move || problem.get()}</p>
        </form>
    }
}

/// A labelled one-line input with its own error message.
#[component]
fn Input(
    id: &'static str,
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="fd-field" class:fd-invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                aria-describedby=error_id.clone()
                aria-invalid=move || error.get().is_some().then_some("true")
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <p class="fd-field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// A labelled message box with its error; Enter submits through `submit`.
#[component]
fn MessageInput(
    id: &'static str,
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
    submit: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="fd-field" class:fd-invalid=move || error.get().is_some()>
            <label for=id>"Message"</label>
            <textarea
                id=id
                name="body"
                rows="3"
                aria-describedby=error_id.clone()
                aria-invalid=move || error.get().is_some().then_some("true")
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if enter_sends(&ev) {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <p class="fd-field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// Before the first chat of a visitor whose name we do not know: name, email when the site
/// asks, and the first message.
#[component]
fn PreChatForm(panel: Panel, ask_email: bool) -> impl IntoView {
    let (name, email, body) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let (name_error, email_error, body_error) =
        (RwSignal::new(None), RwSignal::new(None), RwSignal::new(None));
    let submit = move || {
        let (n, e, b) = (
            name.get_untracked().trim().to_owned(),
            email.get_untracked().trim().to_owned(),
            body.get_untracked().trim().to_owned(),
        );
        name_error.set(check_name(&n));
        email_error.set(check_email(&e, ask_email));
        body_error.set(check_body(&b));
        if name_error.get_untracked().is_none()
            && email_error.get_untracked().is_none()
            && body_error.get_untracked().is_none()
        {
            panel.start_chat(n, e, b);
        }
    };
    let email_label = if ask_email { "Email" } else { "Email (optional)" };
    view! {
        <form id="fd-prechat" class="fd-form" novalidate on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            submit();
        }>
            <p class="fd-lead">"Tell us who you are and we'll get started."</p>
            <Input id="fd-prechat-name" label="Name" name="name" autocomplete="name" value=name error=name_error/>
            <Input id="fd-prechat-email" label=email_label name="email" kind="email" autocomplete="email" value=email error=email_error/>
            <MessageInput id="fd-prechat-body" value=body error=body_error submit/>
            <ArticleSuggestions text=body/>
            <button type="submit" class="fd-primary">"Start chat"</button>
        </form>
    }
}

/// Published help articles that may answer what the visitor is typing, before anyone has to
/// (they open in a new tab, outside the widget).
#[component]
fn ArticleSuggestions(text: RwSignal<String>) -> impl IntoView {
    view! {
        <section class="fd-suggestions" aria-live="polite">
            <crate::components::SuggestedArticles text=Signal::derive(move || text.get()) detailed=true/>
        </section>
    }
}

/// Nobody is online: take a message that becomes a ticket answered by email.
#[component]
fn OfflineForm(panel: Panel) -> impl IntoView {
    let name = RwSignal::new(panel.known_name.get_untracked().unwrap_or_default());
    let (email, body) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let (name_error, email_error, body_error) =
        (RwSignal::new(None), RwSignal::new(None), RwSignal::new(None));
    let submit = move || {
        if panel.leave.get_untracked() == Leave::Sending {
            return;
        }
        let (n, e, b) = (
            name.get_untracked().trim().to_owned(),
            email.get_untracked().trim().to_owned(),
            body.get_untracked().trim().to_owned(),
        );
        name_error.set(check_name(&n));
        email_error.set(check_email(&e, true));
        body_error.set(check_body(&b));
        if name_error.get_untracked().is_none()
            && email_error.get_untracked().is_none()
            && body_error.get_untracked().is_none()
        {
            panel.leave_message(n, e, b);
        }
    };
    let sending = move || panel.leave.get() == Leave::Sending;
    view! {
        <form id="fd-offline" class="fd-form" novalidate on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            submit();
        }>
            <p class="fd-lead">"We're away right now. Leave a message and our team will get back to you."</p>
            <Input id="fd-offline-name" label="Name" name="name" autocomplete="name" value=name error=name_error/>
            <Input id="fd-offline-email" label="Email" name="email" kind="email" autocomplete="email" value=email error=email_error/>
            <MessageInput id="fd-offline-body" value=body error=body_error submit/>
            <ArticleSuggestions text=body/>
            <p class="fd-form-error" role="alert">
                {move || match panel.leave.get() {
                    Leave::Failed(message) => Some(message),
                    _ => None,
                }}
            </p>
            <button type="submit" class="fd-primary" disabled=sending>
                {move || if sending() { "Sending…" } else { "Send message" }}
            </button>
        </form>
    }
}

// ---------------------------------------------------------------------------------------------
// The browser side

#[cfg(feature = "hydrate")]
mod socket;

#[cfg(feature = "hydrate")]
mod js;

#[cfg(test)]
mod tests {
    use super::*;
    use frontdesk_core::platform::time::Timestamp;

    fn line(number: i64, seq: i64, sender: Sender) -> Line {
        Line {
            number,
            message: ChatMessage {
                seq,
                client_id: format!("c{number}-{seq}"),
                sender,
                author: String::new(),
                body: format!("m{seq}"),
                attachment: None,
                created_at: Timestamp::now(),
            },
        }
    }

    #[test]
    fn messages_stay_in_order_and_never_show_twice() {
        let mut lines = Vec::new();
        assert!(insert_line(&mut lines, line(5, 2, Sender::Agent)));
        assert!(insert_line(&mut lines, line(5, 1, Sender::Visitor)));
        assert!(!insert_line(&mut lines, line(5, 2, Sender::Agent)));
        assert!(insert_line(&mut lines, line(7, 1, Sender::Visitor)));
        assert_eq!(lines.iter().map(Line::key).collect::<Vec<_>>(), vec![(5, 1), (5, 2), (7, 1)]);
        assert_eq!(last_seq(&lines, 5), 2);
        assert_eq!(last_seq(&lines, 9), 0);
    }

    #[test]
    fn seen_marks_the_last_visitor_message_the_agent_read() {
        let lines = vec![
            line(5, 1, Sender::Visitor),
            line(5, 2, Sender::Visitor),
            line(5, 3, Sender::Agent),
            line(5, 4, Sender::Visitor),
        ];
        assert_eq!(seen_key(&lines, Some(5), 3), Some((5, 2)));
        assert_eq!(seen_key(&lines, Some(5), 0), None);
        assert_eq!(seen_key(&lines, None, 9), None);
    }

    #[test]
    fn unread_counts_agent_messages_after_the_mark() {
        let lines =
            vec![line(5, 1, Sender::Agent), line(5, 2, Sender::Visitor), line(5, 3, Sender::Agent)];
        assert_eq!(unread(&lines, (0, 0)), (2, Some("m3".into())));
        assert_eq!(unread(&lines, (5, 1)), (1, Some("m3".into())));
        assert_eq!(unread(&lines, (5, 3)), (0, None));
    }

    #[test]
    fn the_frame_address_is_checked() {
        let config = FrameConfig::from_query(|name| match name {
            "site" => Some("abc".into()),
            "origin" => Some("https://shop.example.com".into()),
            "dark" => Some("1".into()),
            "color" => Some("red;}body{x".into()),
            _ => None,
        });
        assert_eq!(config.origin.as_deref(), Some("https://shop.example.com"));
        assert!(config.dark);
        assert_eq!(config.accent, DEFAULT_ACCENT);
        assert!(
            valid_color("#abc")
                && valid_color("#A1B2C3")
                && !valid_color("#abcd")
                && !valid_color("abc")
        );
        assert_eq!(valid_origin("javascript:alert(1)"), None);
        assert_eq!(valid_origin("https://shop.example.com/x"), None);
        assert_eq!(on_accent("#ffffff"), "#111827");
        assert_eq!(on_accent("#2563eb"), "#ffffff");
    }

    #[test]
    fn forms_check_names_and_emails() {
        assert!(check_name("").is_some());
        assert!(check_name("Ada").is_none());
        assert!(check_email("", true).is_some());
        assert!(check_email("", false).is_none());
        assert!(check_email("ada@example", false).is_some());
        assert!(check_email("ada@example.com", true).is_none());
        assert!(check_email("a da@example.com", true).is_some());
        assert!(
            check_email("<svg/onload=alert(1)>@x.test", true).is_some(),
            "the portal's rule, not a looser one"
        );
        assert!(check_body("").is_some());
    }
}

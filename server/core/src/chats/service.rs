//! Live chat services: starting chats from the widget, storing and replaying their messages,
//! routing them to agents, and what agents do with them (accept, reply, transfer, end).
//!
//! A chat is a ticket with channel `chat`, requested by the visitor's customer profile, so it
//! shows in that customer's timeline and the ticket queue. Access is decided in one place per
//! side: [`visitor_chat`] for visitors (their own chats only; an identified customer's chats on
//! that site across devices) and [`authorize`] plus [`agent_chat`] for agents.
//!
//! Messages go through the [`writer`](writer::Writer): stored, numbered and only then acked and
//! published on the [`hub`](hub::ChatHub), from which sockets forward them.


use super::hub::ChatNotice;
use crate::agents::hub::Hub;
use rand::RngCore;
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::hub::ChatHub;
use super::writer::{Commit, NewMessage, Stored, Writer};

use crate::agents::{self, Agent, Email, PersonName};
use crate::chats::{
    AgentStatus, Attachment, ChatDetail, ChatMessage, ChatState, ChatSummary, MAX_ATTACHMENT_BYTES,
    MAX_CHAT_MESSAGE_CHARS, MAX_CLIENT_ID_CHARS, Sender, VisitorChat, WIDGET_PROTOCOL_VERSION,
    WidgetSite, WidgetWelcome,
};
use crate::platform::context::AppContext;
use crate::platform::tasks::Tasks;
use crate::platform::db::{BeginWrite, Db, Param, Params, bind_params, on_pool};
use crate::error::{Error, FieldError, Result};
use crate::platform::rate_limit::RateLimiter;
use crate::tickets::{Channel, MessageBody, Priority, Subject};
use crate::tickets::{self, Author, Draft};
use crate::platform::time::Timestamp;
use crate::chats::sites::Visitor;

/// Live chat's runtime state, one per application: its settings, the hub that fans messages out,
/// the writer that stores them, the widget's rate limits, and the lock that keeps routing
/// decisions from interleaving.
#[derive(Debug)]
pub struct ChatRuntime {
    settings: ChatSettings,
    hub: Arc<ChatHub>,
    limits: ChatLimits,
    writer: Writer,
    routing: tokio::sync::Mutex<()>,
}

impl ChatRuntime {
    /// Starts the chat writer as a task of `tasks` (it drains at shutdown) and sets up the rest.
    pub fn start(db: &Db, settings: ChatSettings, tasks: &Tasks) -> Self {
        let hub = Arc::new(ChatHub::new());
        Self {
            limits: ChatLimits::new(&settings),
            writer: Writer::start(db, hub.clone(), tasks),
            hub,
            settings,
            routing: tokio::sync::Mutex::new(()),
        }
    }

    /// The application's chat runtime.
    pub fn of(ctx: &AppContext) -> &Self {
        ctx.part()
    }

    /// The hub: per-chat channels and agent availability.
    pub fn hub(&self) -> &ChatHub {
        &self.hub
    }

    /// The widget's rate limits.
    pub fn limits(&self) -> &ChatLimits {
        &self.limits
    }

    /// The settings it was started with.
    pub fn settings(&self) -> &ChatSettings {
        &self.settings
    }
}

fn hub(ctx: &AppContext) -> &ChatHub {
    ChatRuntime::of(ctx).hub()
}

fn writer(ctx: &AppContext) -> &Writer {
    &ChatRuntime::of(ctx).writer
}

/// Chat limits and timings, fixed at startup.
#[derive(Clone, Debug)]
pub struct ChatSettings {
    /// Messages one visitor may send per minute.
    pub messages_per_minute: usize,
    /// Socket connections one visitor may open per minute.
    pub connections_per_minute: usize,
    /// New visitors one IP address may start per minute.
    pub visitors_per_ip_per_minute: usize,
    /// How long an agent whose last console closed keeps their chats before they are requeued
    /// (a page reload should not bounce them).
    pub offline_grace: Duration,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            messages_per_minute: 60,
            connections_per_minute: 30,
            visitors_per_ip_per_minute: 30,
            offline_grace: Duration::from_secs(30),
        }
    }
}

/// The rate limits of the widget, per visitor and per IP address.
#[derive(Debug)]
pub struct ChatLimits {
    messages: RateLimiter,
    connections: RateLimiter,
    new_visitors: RateLimiter,
}

impl ChatLimits {
    /// Limits from the settings.
    pub fn new(settings: &ChatSettings) -> Self {
        let minute = Duration::from_secs(60);
        Self {
            messages: RateLimiter::new(settings.messages_per_minute, minute),
            connections: RateLimiter::new(settings.connections_per_minute, minute),
            new_visitors: RateLimiter::new(settings.visitors_per_ip_per_minute, minute),
        }
    }

    /// Counts one message by the visitor.
    pub fn check_message(&self, visitor_id: i64) -> Result<()> {
        count(&self.messages, &visitor_id.to_string())
    }

    /// Counts one socket connection by the visitor.
    pub fn check_connection(&self, visitor_id: i64) -> Result<()> {
        count(&self.connections, &visitor_id.to_string())
    }

    /// Counts one new visitor from `ip`.
    pub fn check_new_visitor(&self, ip: IpAddr) -> Result<()> {
        count(&self.new_visitors, &ip.to_string())
    }
}

fn count(limiter: &RateLimiter, key: &str) -> Result<()> {
    let now = Instant::now();
    limiter.check(key, now).map_err(|wait| Error::RateLimited { retry_after_secs: wait.secs() })?;
    limiter.record(key, now);
    Ok(())
}

/// A chat as stored, joined with what every view needs.
#[derive(Clone, Debug, sqlx::FromRow)]
struct ChatRow {
    ticket_id: i64,
    number: i64,
    state: String,
    contact_id: i64,
    customer: String,
    site: String,
    agent_id: Option<i64>,
    agent: Option<String>,
    last_seq: i64,
    agent_read_seq: i64,
    visitor_read_seq: i64,
    queued_at: Timestamp,
}

/// The columns of a [`ChatRow`], from [`CHAT_FROM`].
const CHAT_COLUMNS: &str =
    "c.ticket_id, t.number, c.state, c.contact_id, p.name AS customer, s.name AS site,
        c.agent_id, a.name AS agent, c.last_seq, c.agent_read_seq, c.visitor_read_seq, c.queued_at";
const CHAT_FROM: &str = "FROM chats c
    JOIN tickets t ON t.id = c.ticket_id
    JOIN contacts p ON p.id = c.contact_id
    JOIN widget_sites s ON s.id = c.site_id
    LEFT JOIN agents a ON a.id = c.agent_id";

impl ChatRow {
    fn state(&self) -> ChatState {
        ChatState::parse(&self.state).unwrap_or(ChatState::Ended)
    }
}

/// The chat id and number a visitor or agent was authorized for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatRef {
    /// The chat's ticket id (its stream).
    pub id: i64,
    /// The ticket number.
    pub number: i64,
}

impl ChatRow {
    fn reference(&self) -> ChatRef {
        ChatRef { id: self.ticket_id, number: self.number }
    }
}

// ---------------------------------------------------------------------------------------------
// Visitors

/// The visitor's chat `number`, or their newest chat; the one place visitor access is decided.
/// An identified customer sees their chats on this site from any device; an anonymous visitor
/// only the chats of their own token.
async fn visitor_chat(db: &Db, visitor: &Visitor, number: Option<i64>) -> Result<Option<ChatRow>> {
    let scope = if visitor.external_id.is_some() {
        "c.site_id = $1 AND c.contact_id = $2 AND c.visitor_id IN (SELECT id FROM chat_visitors WHERE site_id = $1 AND external_id IS NOT NULL)"
    } else {
        "c.site_id = $1 AND c.visitor_id = $3"
    };
    let sql = format!(
        "SELECT {CHAT_COLUMNS} {CHAT_FROM} WHERE {scope} AND ($4 = 0 OR t.number = $4) ORDER BY c.created_at DESC, c.ticket_id DESC LIMIT 1"
    );
    let row: Option<ChatRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(visitor.site_id)
        .bind(visitor.contact_id)
        .bind(visitor.id)
        .bind(number.unwrap_or(0))
        .fetch_optional(pool)
        .await)?;
    match (row, number) {
        (None, Some(_)) => Err(Error::NotFound("chat")),
        (row, _) => Ok(row),
    }
}

/// What the widget shows on connecting, and the chat it follows (`number`, or the newest).
pub async fn welcome(
    ctx: &AppContext,
    site: &WidgetSite,
    visitor: &Visitor,
    number: Option<i64>,
) -> Result<(WidgetWelcome, Option<ChatRef>)> {
    let row = visitor_chat(ctx.db(), visitor, number).await?;
    let chat = match &row {
        Some(row) => Some(visitor_view(ctx, row).await?),
        None => None,
    };
    let welcome = WidgetWelcome {
        protocol: WIDGET_PROTOCOL_VERSION,
        greeting: site.greeting.clone(),
        ask_email: site.ask_email,
        known_name: visitor.known_name().map(str::to_owned),
        agents_online: !hub(ctx).online_agents().is_empty(),
        chat,
    };
    Ok((welcome, row.map(|r| r.reference())))
}

/// The visitor's view of their chat `chat` now (after a [`ChatNotice::Changed`]).
pub async fn visitor_state(
    ctx: &AppContext,
    visitor: &Visitor,
    chat: ChatRef,
) -> Result<VisitorChat> {
    let row =
        visitor_chat(ctx.db(), visitor, Some(chat.number)).await?.ok_or(Error::NotFound("chat"))?;
    visitor_view(ctx, &row).await
}

async fn visitor_view(ctx: &AppContext, row: &ChatRow) -> Result<VisitorChat> {
    let state = row.state();
    let queue_position = if state == ChatState::Queued {
        let ahead: i64 = on_pool!(ctx.db(), |pool| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM chats WHERE state = 'queued' AND (queued_at < $1 OR (queued_at = $1 AND ticket_id <= $2))"
        )
        .bind(row.queued_at)
        .bind(row.ticket_id)
        .fetch_one(pool)
        .await
        })?;
        Some(ahead)
    } else {
        None
    };
    Ok(VisitorChat {
        number: row.number,
        state,
        agent: row.agent.clone(),
        agent_status: row.agent_id.map(|id| hub(ctx).status(id)),
        queue_position,
        agent_read_seq: row.agent_read_seq,
    })
}

/// The messages of an authorized chat after `after_seq`, in order (at most `limit`).
pub async fn messages_after(
    db: &Db,
    chat: ChatRef,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<ChatMessage>> {
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        String,
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Timestamp,
    );
    let rows: Vec<Row> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT m.seq, m.client_id, m.sender, a.name, p.name, m.body, f.id, f.file_name, f.content_type, f.size, m.created_at
         FROM chat_messages m
         JOIN chats c ON c.ticket_id = m.chat_id
         JOIN contacts p ON p.id = c.contact_id
         LEFT JOIN agents a ON a.id = m.agent_id
         LEFT JOIN chat_attachments f ON f.id = m.attachment_id
         WHERE m.chat_id = $1 AND m.seq > $2
         ORDER BY m.seq
         LIMIT $3"
    )
    .bind(chat.id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(
                seq,
                client_id,
                sender,
                agent,
                customer,
                body,
                file_id,
                file_name,
                content_type,
                size,
                created_at,
            )| {
                let sender = Sender::parse(&sender);
                let author = match sender {
                    Sender::Agent => agent.unwrap_or_default(),
                    Sender::Visitor => customer,
                    Sender::System => String::new(),
                };
                let attachment = file_id.map(|id| Attachment {
                    id,
                    file_name: file_name.unwrap_or_default(),
                    content_type: content_type.unwrap_or_default(),
                    size: size.unwrap_or_default(),
                });
                ChatMessage { seq, client_id, sender, author, body, attachment, created_at }
            },
        )
        .collect())
}

/// Where one socket is in one chat's stream: the last seq it sent. Whatever order the chat's
/// channel and replays deliver messages in, a socket that sends what its cursor admits sends
/// every message exactly once and in order.
#[derive(Clone, Copy, Debug)]
pub struct ChatCursor {
    chat: ChatRef,
    last_seq: i64,
}

impl ChatCursor {
    /// A cursor on `chat` for a client that has everything up to `after_seq`.
    pub fn new(chat: ChatRef, after_seq: i64) -> Self {
        Self { chat, last_seq: after_seq.max(0) }
    }

    /// The chat it follows.
    pub fn chat(&self) -> ChatRef {
        self.chat
    }

    /// The last seq sent.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// What to send, in order, for a message just published: nothing when it was sent already,
    /// the message when it is the next one, and when some went missing in between, everything
    /// after the last one sent, from the database.
    pub async fn admit(&mut self, db: &Db, message: &ChatMessage) -> Result<Vec<ChatMessage>> {
        if message.seq <= self.last_seq {
            Ok(Vec::new())
        } else if message.seq == self.last_seq + 1 {
            self.last_seq = message.seq;
            Ok(vec![message.clone()])
        } else {
            self.missed(db).await
        }
    }

    /// Every stored message after the last one sent, in order.
    pub async fn missed(&mut self, db: &Db) -> Result<Vec<ChatMessage>> {
        let messages = messages_after(db, self.chat, self.last_seq, i64::MAX).await?;
        if let Some(last) = messages.last() {
            self.last_seq = last.seq;
        }
        Ok(messages)
    }
}

/// A message text and client id, validated.
fn validate(client_id: &str, body: &str, has_attachment: bool) -> Result<String> {
    let mut errors = Vec::new();
    if client_id.is_empty()
        || client_id.chars().count() > MAX_CLIENT_ID_CHARS
        || !client_id.chars().all(|c| c.is_ascii_graphic())
    {
        errors.push(FieldError::new(
            "client_id",
            "Give each message an id of 1 to 64 visible ASCII characters.",
        ));
    }
    let body = body.trim();
    if body.is_empty() && !has_attachment {
        errors.push(FieldError::new("body", "Write a message."));
    }
    if body.chars().count() > MAX_CHAT_MESSAGE_CHARS {
        errors.push(FieldError::new(
            "body",
            format!("Keep messages under {MAX_CHAT_MESSAGE_CHARS} characters."),
        ));
    }
    if errors.is_empty() { Ok(body.to_owned()) } else { Err(Error::Invalid(errors)) }
}

/// A visitor's message on its way to storage.
#[derive(Debug)]
pub struct Sending {
    /// The chat it goes to (a new one when the visitor had none open).
    pub chat: ChatRef,
    commit: Commit,
    /// What to send again in a new chat should this one end before the message is stored.
    resend: Option<Resend>,
}

/// A message sent into a chat believed open, kept until stored.
#[derive(Debug)]
struct Resend {
    ctx: AppContext,
    visitor: Visitor,
    client_id: String,
    body: String,
    attachment_id: Option<i64>,
}

impl Sending {
    /// The stored message and its chat, once committed; for a resent client id, the copy stored
    /// before. A message that arrives as its chat ends starts the visitor's next chat, as if
    /// sent a moment later.
    pub async fn stored(self) -> Result<(ChatRef, Arc<ChatMessage>)> {
        match (self.commit.stored().await, self.resend) {
            (Ok(stored), _) => Ok((self.chat, stored.message)),
            (Err(Error::Conflict(_)), Some(r)) => {
                let sending = Box::pin(visitor_send(
                    &r.ctx,
                    &r.visitor,
                    None,
                    &r.client_id,
                    &r.body,
                    r.attachment_id,
                ))
                .await?;
                Box::pin(sending.stored()).await
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// Sends a visitor's message in their open chat, starting a chat (and its ticket, queued for an
/// agent) when none is open. Resending a `client_id` stores nothing new and answers the same.
///
/// `open` is the chat the caller follows and believes open, as authorized by an earlier
/// [`welcome`] or `visitor_send`; it spares a lookup per message (the writer refuses a message
/// to an ended chat, and [`Sending::stored`] then starts a new one). Returns once the message is
/// queued for storage: a caller that awaits each [`Sending`] in the order it got them may have
/// many messages in flight and still have them stored, and answered, in order.
pub async fn visitor_send(
    ctx: &AppContext,
    visitor: &Visitor,
    open: Option<ChatRef>,
    client_id: &str,
    body: &str,
    attachment_id: Option<i64>,
) -> Result<Sending> {
    let body = validate(client_id, body, attachment_id.is_some())?;
    ChatRuntime::of(ctx).limits().check_message(visitor.id)?;
    let (chat, started) = match open {
        Some(chat) => (chat, false),
        None => match visitor_chat(ctx.db(), visitor, None).await? {
            Some(row) if row.state() != ChatState::Ended => (row.reference(), false),
            _ => (start_chat(ctx, visitor, &body).await?, true),
        },
    };
    let attachment = match attachment_id {
        Some(id) => Some(attachment_of(ctx.db(), chat, id).await?),
        None => None,
    };
    let resend = (!started).then(|| Resend {
        ctx: ctx.clone(),
        visitor: visitor.clone(),
        client_id: client_id.to_owned(),
        body: body.clone(),
        attachment_id,
    });
    let message = NewMessage {
        chat_id: chat.id,
        client_id: client_id.to_owned(),
        sender: Sender::Visitor,
        agent_id: None,
        author: visitor.name.clone(),
        body,
        attachment,
        while_live: true,
    };
    if !started {
        return Ok(Sending { chat, commit: writer(ctx).submit(message).await?, resend });
    }
    // A new chat is routed once its first message is stored, so agents see what it is about.
    let stored = writer(ctx).append(message).await?;
    route(ctx).await?;
    Ok(Sending { chat, commit: Commit::Done(stored), resend })
}

/// Opens a chat ticket for the visitor, queued. Serialized with routing so one visitor's two
/// first messages at once cannot open two chats.
async fn start_chat(ctx: &AppContext, visitor: &Visitor, first: &str) -> Result<ChatRef> {
    let _routing = ChatRuntime::of(ctx).routing.lock().await;
    if let Some(row) =
        visitor_chat(ctx.db(), visitor, None).await?.filter(|r| r.state() != ChatState::Ended)
    {
        return Ok(row.reference());
    }
    open_chat_ticket(ctx, visitor, &format!("Chat with {}", visitor.name), first, ChatState::Queued)
        .await
}

/// Writes a chat's ticket (requested by the visitor's profile, its first message `first`) and its
/// chat row in `state`, in one transaction.
async fn open_chat_ticket(
    ctx: &AppContext,
    visitor: &Visitor,
    subject: &str,
    first: &str,
    state: ChatState,
) -> Result<ChatRef> {
    let subject = Subject::parse(subject).map_err(|e| Error::internal(e.message))?;
    let body = MessageBody::parse(if first.is_empty() { "(a file)" } else { first })
        .map_err(|e| Error::Invalid(vec![FieldError::new("body", e.message)]))?;
    let body_html = crate::platform::markdown::render(body.as_str().to_owned()).await?;
    let draft = Draft {
        subject: &subject,
        body: &body,
        body_html: &body_html,
        priority: Priority::Normal,
        channel: Channel::Chat,
        tags: &[],
    };
    let now = Timestamp::now();
    let ended_at = (state == ChatState::Ended).then_some(now);
    let created = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let created = tickets::insert_ticket_rows(&mut *tx, visitor.contact_id, &draft, Author::Contact(visitor.contact_id), now).await?;
        sqlx::query(
            "INSERT INTO chats (ticket_id, site_id, visitor_id, contact_id, state, queued_at, created_at, ended_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(created.id)
        .bind(visitor.site_id)
        .bind(visitor.id)
        .bind(visitor.contact_id)
        .bind(state.as_str())
        .bind(now)
        .bind(ended_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(created)
    }
    .await
    })?;
    Hub::of(ctx).ticket_changed(created.number, created.seq);
    Ok(ChatRef { id: created.id, number: created.number })
}

/// Records that the visitor read their chat up to `seq`.
pub async fn visitor_read(ctx: &AppContext, chat: ChatRef, seq: i64) -> Result<()> {
    writer(ctx).read(chat.id, Sender::Visitor, seq).await
}

/// With no agent online: the visitor's message becomes a ticket in the queue (a chat that never
/// went live). Resending `client_id` creates nothing new. Returns the ticket number.
pub async fn leave_message(
    ctx: &AppContext,
    visitor: &Visitor,
    client_id: &str,
    name: &str,
    email: &str,
    body: &str,
) -> Result<i64> {
    let body = validate(client_id, body, false)?;
    let mut errors = Vec::new();
    let name =
        PersonName::parse(name).map_err(|e| errors.push(FieldError::new("name", e.message))).ok();
    let email =
        Email::parse(email).map_err(|e| errors.push(FieldError::new("email", e.message))).ok();
    let (Some(name), Some(email)) = (name, email) else { return Err(Error::Invalid(errors)) };
    ChatRuntime::of(ctx).limits().check_message(visitor.id)?;
    // Held until the ticket exists, so a resend racing the first send finds it.
    let _routing = ChatRuntime::of(ctx).routing.lock().await;
    let existing: Option<i64> = on_pool!(ctx.db(), |pool| {
        sqlx::query_scalar(
        "SELECT t.number FROM chat_messages m JOIN chats c ON c.ticket_id = m.chat_id JOIN tickets t ON t.id = c.ticket_id
         WHERE c.visitor_id = $1 AND m.client_id = $2"
    )
    .bind(visitor.id)
    .bind(client_id)
    .fetch_optional(pool)
    .await
    })?;
    if let Some(number) = existing {
        return Ok(number);
    }
    let visitor = crate::chats::sites::remember_details(
        ctx,
        visitor.clone(),
        &Some(name.as_str().to_owned()),
        &Some(email.as_str().to_owned()),
    )
    .await?;
    let chat = open_chat_ticket(
        ctx,
        &visitor,
        &format!("Message from {}", visitor.name),
        &body,
        ChatState::Ended,
    )
    .await?;
    let message = NewMessage {
        chat_id: chat.id,
        client_id: client_id.to_owned(),
        sender: Sender::Visitor,
        agent_id: None,
        author: visitor.name.clone(),
        body,
        attachment: None,
        while_live: false,
    };
    writer(ctx).append(message).await?;
    Ok(chat.number)
}

// ---------------------------------------------------------------------------------------------
// Routing

/// Hands queued chats, oldest first, to online agents with free capacity, round robin (the agent
/// who got a chat longest ago goes first). Runs when a chat starts, an agent comes online, or a
/// chat ends or returns to the queue.
pub async fn route(ctx: &AppContext) -> Result<()> {
    let _routing = ChatRuntime::of(ctx).routing.lock().await;
    let online = hub(ctx).online_agents();
    let db = ctx.db();
    let queued: Vec<(i64, Option<i64>)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT ticket_id, team_id FROM chats WHERE state = 'queued' ORDER BY queued_at, ticket_id LIMIT 200"
    )
    .fetch_all(pool)
    .await
    })?;
    let mut assigned = Vec::new();
    if !online.is_empty() && !queued.is_empty() {
        let mut load = agent_load(db, &online).await?;
        for (chat_id, team_id) in &queued {
            let members = match team_id {
                Some(team) => Some(team_members(db, *team).await?),
                None => None,
            };
            let candidate = load
                .iter_mut()
                .filter(|a| {
                    a.active < a.capacity && members.as_ref().is_none_or(|m| m.contains(&a.id))
                })
                .min_by_key(|a| (hub(ctx).last_routed(a.id), a.id));
            let Some(agent) = candidate else { continue };
            if assign(ctx, *chat_id, agent.id, &agent.name).await? {
                agent.active += 1;
                hub(ctx).routed(agent.id);
                assigned.push(*chat_id);
            }
        }
    }
    for (chat_id, _) in &queued {
        // Assigned chats changed state; the others moved up the queue.
        hub(ctx).publish(*chat_id, ChatNotice::Changed);
    }
    hub(ctx).inbox_changed();
    Ok(())
}

struct Load {
    id: i64,
    name: String,
    capacity: i64,
    active: i64,
}

async fn agent_load(db: &Db, agents: &[i64]) -> Result<Vec<Load>> {
    let (params, ids) = crate::platform::db::id_list(db, agents);
    let sql = format!(
        "SELECT a.id, a.name, a.chat_capacity, (SELECT COUNT(*) FROM chats c WHERE c.agent_id = a.id AND c.state = 'active')
         FROM agents a WHERE a.active AND a.id IN ({ids})"
    );
    let rows: Vec<(i64, String, i64, i64)> =
        on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, capacity, active)| Load { id, name, capacity, active })
        .collect())
}

async fn team_members(db: &Db, team: i64) -> Result<Vec<i64>> {
    Ok(on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT agent_id FROM team_members WHERE team_id = $1"
    )
    .bind(team)
    .fetch_all(pool)
    .await)?)
}

/// Gives a queued chat to an agent: the chat turns active, the ticket is assigned to them and
/// opened, and the visitor is told who joined. False if the chat was no longer queued.
async fn assign(ctx: &AppContext, chat_id: i64, agent_id: i64, agent_name: &str) -> Result<bool> {
    let now = Timestamp::now().unix_millis();
    let change = ChatChange {
        chat: ("UPDATE chats SET state = 'active', agent_id = $2 WHERE ticket_id = $1 AND state = 'queued'", vec![Param::Int(agent_id)]),
        ticket: (
            "UPDATE tickets SET assignee_id = $2, status = CASE WHEN status = 'new' THEN 'open' ELSE status END,
                 version = version + 1, updated_at = $3 WHERE id = $1 RETURNING number",
            vec![Param::Int(agent_id), Param::Int(now)],
        ),
        actor: Author::System,
        kind: "chat_assigned",
        detail: json!({ "agent_id": agent_id }),
    };
    if !change.write(ctx, chat_id).await? {
        return Ok(false);
    }
    system_message(ctx, chat_id, &format!("{agent_name} joined the chat")).await?;
    Ok(true)
}

/// A change to a chat together with its ticket, written in one transaction and recorded in the
/// ticket's history. In both statements `$1` is the chat's id, and the values given follow as
/// `$2`, `$3`, ...
struct ChatChange {
    /// Updates the chat row; when it matches no row (the chat moved on), nothing is written.
    chat: (&'static str, Vec<Param>),
    /// Updates the ticket row, `RETURNING number`.
    ticket: (&'static str, Vec<Param>),
    actor: Author,
    kind: &'static str,
    detail: serde_json::Value,
}

impl ChatChange {
    /// Writes the change and tells the ticket's followers; false when the chat matched no row.
    async fn write(self, ctx: &AppContext, chat_id: i64) -> Result<bool> {
        let values = |rest: Vec<Param>| {
            let mut params = Params::default();
            for value in std::iter::once(Param::Int(chat_id)).chain(rest) {
                params.push(value);
            }
            params
        };
        let (chat, ticket) = (values(self.chat.1), values(self.ticket.1));
        let now = Timestamp::now();
        let written = on_pool!(ctx.db(), |pool| async {
            let mut tx = pool.begin_write().await?;
            let rows = bind_params!(sqlx::query(self.chat.0), chat)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if rows == 0 {
                return Ok::<_, sqlx::Error>(None);
            }
            let number: i64 =
                bind_params!(sqlx::query_scalar(self.ticket.0), ticket).fetch_one(&mut *tx).await?;
            let seq = tickets::append_event(
                &mut *tx,
                chat_id,
                self.actor,
                self.kind,
                self.detail.clone(),
                false,
                now,
            )
            .await?;
            tx.commit().await?;
            Ok(Some((number, seq)))
        }
        .await)?;
        let Some((number, seq)) = written else { return Ok(false) };
        Hub::of(ctx).ticket_changed(number, seq);
        Ok(true)
    }
}

/// Stores a message by frontdesk itself in a chat.
async fn system_message(ctx: &AppContext, chat_id: i64, text: &str) -> Result<()> {
    let mut id = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let client_id = format!("system-{}", id.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let message = NewMessage {
        chat_id,
        client_id,
        sender: Sender::System,
        agent_id: None,
        author: String::new(),
        body: text.to_owned(),
        attachment: None,
        while_live: false,
    };
    writer(ctx).append(message).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Agents

/// Who may work chats: every active agent.
pub fn authorize(actor: &Agent) -> Result<()> {
    if actor.active { Ok(()) } else { Err(Error::Forbidden) }
}

/// Chat `number` for an agent; the one place agent access to a chat is decided: any active
/// agent may read a chat; writing in it is for the agent who has it (see [`agent_send`]).
async fn agent_chat(db: &Db, actor: &Agent, number: i64) -> Result<ChatRow> {
    authorize(actor)?;
    let sql = format!("SELECT {CHAT_COLUMNS} {CHAT_FROM} WHERE t.number = $1");
    let row: Option<ChatRow> =
        on_pool!(db, |pool| sqlx::query_as(&sql).bind(number).fetch_optional(pool).await)?;
    row.ok_or(Error::NotFound("chat"))
}

/// Chat `number`'s stream, for an agent allowed to follow it.
pub async fn agent_follow(ctx: &AppContext, actor: &Agent, number: i64) -> Result<ChatRef> {
    Ok(agent_chat(ctx.db(), actor, number).await?.reference())
}

fn summary(row: ChatRow, preview: String) -> ChatSummary {
    ChatSummary {
        number: row.number,
        state: row.state(),
        contact_id: row.contact_id,
        customer: row.customer,
        site: row.site,
        agent_id: row.agent_id,
        agent: row.agent,
        last_seq: row.last_seq,
        agent_read_seq: row.agent_read_seq,
        visitor_read_seq: row.visitor_read_seq,
        preview,
        queued_at: row.queued_at,
    }
}

/// The most chats an inbox lists (the queue first): the live socket sends them in pages.
const MAX_INBOX: usize = 2_000;

/// The agent's chat inbox: their own live chats, the queue, then their chats ended in the last
/// day (up to [`MAX_INBOX`], so an agent never loses sight of their own chats).
pub async fn inbox(ctx: &AppContext, actor: &Agent) -> Result<Vec<ChatSummary>> {
    /// A chat with the text of its latest message that is not frontdesk's own.
    #[derive(sqlx::FromRow)]
    struct InboxRow {
        #[sqlx(flatten)]
        chat: ChatRow,
        preview: Option<String>,
    }
    authorize(actor)?;
    let since = Timestamp::from_unix_millis(Timestamp::now().unix_millis() - 24 * 3600 * 1000);
    let sql = format!(
        "SELECT {CHAT_COLUMNS},
            (SELECT m.body FROM chat_messages m WHERE m.chat_id = c.ticket_id AND m.sender <> 'system' ORDER BY m.seq DESC LIMIT 1) AS preview
         {CHAT_FROM}
         WHERE c.state = 'queued' OR (c.agent_id = $1 AND (c.state = 'active' OR c.ended_at > $2))
         ORDER BY CASE c.state WHEN 'active' THEN 0 WHEN 'queued' THEN 1 ELSE 2 END, c.queued_at, c.ticket_id LIMIT {MAX_INBOX}"
    );
    let rows: Vec<InboxRow> = on_pool!(ctx.db(), |pool| sqlx::query_as(&sql)
        .bind(actor.id)
        .bind(since)
        .fetch_all(pool)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|row| summary(row.chat, preview(row.preview.as_deref().unwrap_or_default())))
        .collect())
}

/// The start of a message, for a list.
fn preview(body: &str) -> String {
    body.chars().take(140).collect()
}

/// A chat with its whole transcript (shown in the console and on the ticket).
pub async fn detail(ctx: &AppContext, actor: &Agent, number: i64) -> Result<ChatDetail> {
    let row = agent_chat(ctx.db(), actor, number).await?;
    let messages = messages_after(ctx.db(), row.reference(), 0, i64::MAX).await?;
    let preview = messages
        .iter()
        .rev()
        .find(|m| m.sender != Sender::System)
        .map(|m| preview(&m.body))
        .unwrap_or_default();
    Ok(ChatDetail { summary: summary(row, preview), messages })
}

/// An agent's reply. Only the agent who has the chat (or an admin) writes in it, and only while
/// it is live; a queued chat is taken first (see [`accept`]).
pub async fn agent_send(
    ctx: &AppContext,
    actor: &Agent,
    number: i64,
    client_id: &str,
    body: &str,
    attachment_id: Option<i64>,
) -> Result<(ChatRef, Arc<ChatMessage>)> {
    let body = validate(client_id, body, attachment_id.is_some())?;
    let row = writable_chat(ctx.db(), actor, number).await?;
    let attachment = match attachment_id {
        Some(id) => Some(attachment_of(ctx.db(), row.reference(), id).await?),
        None => None,
    };
    let message = NewMessage {
        chat_id: row.ticket_id,
        client_id: client_id.to_owned(),
        sender: Sender::Agent,
        agent_id: Some(actor.id),
        author: actor.name.clone(),
        body,
        attachment,
        while_live: true,
    };
    let Stored { message, .. } = writer(ctx).append(message).await?;
    Ok((row.reference(), message))
}

/// Whether `actor` may change chat `row` (reply, transfer, end): the agent who has it or an
/// admin, and only until it ends.
fn may_change(row: &ChatRow, actor: &Agent) -> Result<()> {
    if row.state() == ChatState::Ended {
        return Err(Error::Conflict("This chat has ended.".into()));
    }
    if row.agent_id.is_some_and(|a| a != actor.id) && !actor.is_admin() {
        return Err(Error::Forbidden);
    }
    Ok(())
}

/// Chat `number`, for an agent who may write in it now: theirs (or an admin's) and live.
async fn writable_chat(db: &Db, actor: &Agent, number: i64) -> Result<ChatRow> {
    let row = agent_chat(db, actor, number).await?;
    may_change(&row, actor)?;
    if row.state() == ChatState::Queued {
        return Err(Error::Conflict("Accept the chat before replying.".into()));
    }
    Ok(row)
}

/// Records that the agent read the chat up to `seq`.
pub async fn agent_read(ctx: &AppContext, actor: &Agent, chat: ChatRef, seq: i64) -> Result<()> {
    authorize(actor)?;
    writer(ctx).read(chat.id, Sender::Agent, seq).await
}

/// Takes a queued chat (or confirms one routed to the agent). Refused when another agent has it.
pub async fn accept(ctx: &AppContext, actor: &Agent, number: i64) -> Result<ChatSummary> {
    let row = agent_chat(ctx.db(), actor, number).await?;
    match row.state() {
        ChatState::Queued => {
            let taken = {
                let _routing = ChatRuntime::of(ctx).routing.lock().await;
                assign(ctx, row.ticket_id, actor.id, &actor.name).await?
            };
            if !taken {
                return Err(Error::Conflict("Another agent took this chat.".into()));
            }
            hub(ctx).publish(row.ticket_id, ChatNotice::Changed);
            route(ctx).await?;
        }
        ChatState::Active if row.agent_id == Some(actor.id) => {}
        ChatState::Active => return Err(Error::Conflict("Another agent has this chat.".into())),
        ChatState::Ended => return Err(Error::Conflict("This chat has ended.".into())),
    }
    Ok(detail(ctx, actor, number).await?.summary)
}

/// Where a chat is transferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferTo {
    /// To one agent (who must be online; they get it even past their capacity).
    Agent(i64),
    /// Back to the queue, for the team's members only.
    Team(i64),
}

/// Hands a live chat to another agent or team. The agent who has it, or an admin, may.
pub async fn transfer(
    ctx: &AppContext,
    actor: &Agent,
    number: i64,
    to: TransferTo,
) -> Result<ChatSummary> {
    let row = agent_chat(ctx.db(), actor, number).await?;
    may_change(&row, actor)?;
    let note = match to {
        TransferTo::Agent(agent_id) => {
            let target = crate::agents::find(ctx.db(), agent_id)
                .await?
                .filter(|a| a.active)
                .ok_or(Error::NotFound("agent"))?;
            if hub(ctx).status(agent_id) == AgentStatus::Offline {
                return Err(Error::Conflict(format!("{} is offline.", target.name)));
            }
            set_owner(ctx, row.ticket_id, ChatState::Active, Some(agent_id), None).await?;
            format!("{} transferred the chat to {}", actor.name, target.name)
        }
        TransferTo::Team(team_id) => {
            let name: Option<String> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
                "SELECT name FROM teams WHERE id = $1"
            )
            .bind(team_id)
            .fetch_optional(pool)
            .await)?;
            let name = name.ok_or(Error::NotFound("team"))?;
            set_owner(ctx, row.ticket_id, ChatState::Queued, None, Some(team_id)).await?;
            format!("{} transferred the chat to {name}", actor.name)
        }
    };
    system_message(ctx, row.ticket_id, &note).await?;
    hub(ctx).publish(row.ticket_id, ChatNotice::Changed);
    route(ctx).await?;
    Ok(detail(ctx, actor, number).await?.summary)
}

/// Gives a live chat to an agent (`Active`) or back to the queue for a team (`Queued`).
async fn set_owner(
    ctx: &AppContext,
    chat_id: i64,
    state: ChatState,
    agent_id: Option<i64>,
    team_id: Option<i64>,
) -> Result<()> {
    let now = Timestamp::now().unix_millis();
    let change = ChatChange {
        chat: (
            "UPDATE chats SET state = $2, agent_id = $3, team_id = COALESCE($4, team_id),
                 queued_at = CASE WHEN $2 = 'queued' THEN $5 ELSE queued_at END WHERE ticket_id = $1 AND state <> 'ended'",
            vec![Param::Text(state.as_str().to_owned()), Param::OptInt(agent_id), Param::OptInt(team_id), Param::Int(now)],
        ),
        ticket: (
            "UPDATE tickets SET assignee_id = $2, team_id = COALESCE($3, team_id), version = version + 1, updated_at = $4
             WHERE id = $1 RETURNING number",
            vec![Param::OptInt(agent_id), Param::OptInt(team_id), Param::Int(now)],
        ),
        actor: Author::System,
        kind: "chat_transferred",
        detail: json!({ "agent_id": agent_id, "team_id": team_id, "state": state.as_str() }),
    };
    if change.write(ctx, chat_id).await? {
        Ok(())
    } else {
        Err(Error::Conflict("This chat has ended.".into()))
    }
}

/// Ends a chat. With `solve` its ticket is solved; otherwise it stays open for follow-up.
pub async fn end(ctx: &AppContext, actor: &Agent, number: i64, solve: bool) -> Result<ChatSummary> {
    let row = agent_chat(ctx.db(), actor, number).await?;
    may_change(&row, actor)?;
    let now = Timestamp::now().unix_millis();
    let change = ChatChange {
        chat: ("UPDATE chats SET state = 'ended', ended_at = $2 WHERE ticket_id = $1 AND state <> 'ended'", vec![Param::Int(now)]),
        ticket: (
            "UPDATE tickets SET status = $2, solved_at = CASE WHEN $2 = 'solved' THEN $3 ELSE solved_at END,
                 version = version + 1, updated_at = $3 WHERE id = $1 RETURNING number",
            vec![Param::Text(if solve { "solved" } else { "open" }.to_owned()), Param::Int(now)],
        ),
        actor: Author::Agent(actor.id),
        kind: "chat_ended",
        detail: json!({ "solved": solve }),
    };
    if !change.write(ctx, row.ticket_id).await? {
        return Err(Error::Conflict("This chat has ended.".into()));
    }
    system_message(ctx, row.ticket_id, &format!("{} ended the chat", actor.name)).await?;
    hub(ctx).publish(row.ticket_id, ChatNotice::Changed);
    route(ctx).await?;
    Ok(detail(ctx, actor, number).await?.summary)
}

/// Sets the agent's availability. Going online routes waiting chats to them; going offline
/// returns their live chats to the queue.
pub async fn set_status(ctx: &AppContext, actor: &Agent, status: AgentStatus) -> Result<()> {
    authorize(actor)?;
    let stored = match status {
        AgentStatus::Online => "online",
        AgentStatus::Away => "away",
        AgentStatus::Offline => "offline",
    };
    // Stored first: a failed write changes nothing, in memory either.
    on_pool!(ctx.db(), |pool| sqlx::query("UPDATE agents SET chat_status = $2 WHERE id = $1")
        .bind(actor.id)
        .bind(stored)
        .execute(pool)
        .await
        .map(drop))?;
    hub(ctx).set_status(actor.id, status);
    if status == AgentStatus::Offline {
        requeue_chats_of(ctx, actor.id).await?;
    } else {
        presence_changed(ctx, actor.id).await?;
    }
    route(ctx).await
}

/// Tells the visitors of an agent's live chats that the agent's presence changed.
async fn presence_changed(ctx: &AppContext, agent_id: i64) -> Result<()> {
    for chat_id in live_chats_of(ctx.db(), agent_id).await? {
        hub(ctx).publish(chat_id, ChatNotice::Changed);
    }
    Ok(())
}

async fn live_chats_of(db: &Db, agent_id: i64) -> Result<Vec<i64>> {
    Ok(on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT ticket_id FROM chats WHERE agent_id = $1 AND state = 'active'"
    )
    .bind(agent_id)
    .fetch_all(pool)
    .await)?)
}

/// An agent opened a chat console: they are available for chats, unless they chose away (the
/// choice is stored, so it outlives consoles, reloads and restarts).
pub async fn console_opened(ctx: &AppContext, actor: &Agent) -> Result<()> {
    authorize(actor)?;
    let chosen: String = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "SELECT chat_status FROM agents WHERE id = $1"
    )
    .bind(actor.id)
    .fetch_one(pool)
    .await)?;
    let status = if chosen == "away" { AgentStatus::Away } else { AgentStatus::Online };
    hub(ctx).set_status(actor.id, status);
    hub(ctx).agent_connected(actor.id);
    // Connected now, whatever follows: the caller counts this console as open.
    if let Err(e) = presence_changed(ctx, actor.id).await.and(route(ctx).await) {
        tracing::warn!(error = %e, agent_id = actor.id, "could not route chats after a console opened");
    }
    Ok(())
}

/// An agent's console closed. When it was their last one and none reopens within the grace
/// period, their live chats return to the queue.
pub async fn console_closed(ctx: &AppContext, agent_id: i64) {
    if hub(ctx).agent_disconnected(agent_id) > 0 {
        return;
    }
    hub(ctx).inbox_changed();
    if let Err(e) = presence_changed(ctx, agent_id).await {
        tracing::warn!(error = %e, agent_id, "could not tell visitors that their agent went offline");
    }
    // The timer is a task of the application: at shutdown it ends without requeueing, and the
    // agent's chats wait for them (or for the next start's routing) where they are.
    let ctx = ctx.clone();
    ctx.tasks().clone().spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(ChatRuntime::of(&ctx).settings.offline_grace) => {}
            () = ctx.tasks().stopping() => return,
        }
        if hub(&ctx).status(agent_id) == AgentStatus::Offline
            && let Err(e) = requeue_chats_of(&ctx, agent_id).await.and(route(&ctx).await) {
                tracing::warn!(error = %e, agent_id, "could not requeue the chats of an agent who went offline");
            }
    });
}

/// Returns an agent's live chats to the queue, keeping their place by when they were first queued.
async fn requeue_chats_of(ctx: &AppContext, agent_id: i64) -> Result<()> {
    for chat_id in live_chats_of(ctx.db(), agent_id).await? {
        let change = ChatChange {
            chat: (
                "UPDATE chats SET state = 'queued', agent_id = NULL WHERE ticket_id = $1 AND state = 'active'",
                Vec::new(),
            ),
            ticket: (
                "UPDATE tickets SET assignee_id = NULL, version = version + 1, updated_at = $2 WHERE id = $1 RETURNING number",
                vec![Param::Int(Timestamp::now().unix_millis())],
            ),
            actor: Author::System,
            kind: "chat_requeued",
            detail: json!({ "agent_id": agent_id }),
        };
        if change.write(ctx, chat_id).await? {
            system_message(ctx, chat_id, "The agent went offline; you are back in the queue")
                .await?;
            hub(ctx).publish(chat_id, ChatNotice::Changed);
        }
    }
    Ok(())
}

/// Checks that attachment `id` was uploaded to `chat` and describes it.
async fn attachment_of(db: &Db, chat: ChatRef, id: i64) -> Result<Attachment> {
    let row: Option<(String, String, i64)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT file_name, content_type, size FROM chat_attachments WHERE id = $1 AND chat_id = $2"
    )
    .bind(id)
    .bind(chat.id)
    .fetch_optional(pool)
    .await
    })?;
    let (file_name, content_type, size) = row.ok_or(Error::NotFound("attachment"))?;
    Ok(Attachment { id, file_name, content_type, size })
}

// ---------------------------------------------------------------------------------------------
// Attachments

/// A file name safe to store and to send back in a header: no paths, no control characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(crate::chats::MAX_FILE_NAME_CHARS)
        .collect();
    if cleaned.trim().is_empty() { "file".to_owned() } else { cleaned.trim().to_owned() }
}

/// A media type as `type/subtype` of token characters, else `application/octet-stream`.
fn clean_content_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let token = |part: &str| {
        !part.is_empty()
            && part.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    match essence.split_once('/') {
        Some((kind, sub))
            if token(kind)
                && token(sub)
                && essence.len() <= crate::chats::MAX_CONTENT_TYPE_CHARS =>
        {
            essence
        }
        _ => "application/octet-stream".to_owned(),
    }
}

/// Stores a file the visitor attaches in their open chat; they then send it with a message.
pub async fn visitor_upload(
    ctx: &AppContext,
    visitor: &Visitor,
    file: NewFile<'_>,
) -> Result<Attachment> {
    file.check()?;
    ChatRuntime::of(ctx).limits().check_message(visitor.id)?;
    let chat = match visitor_chat(ctx.db(), visitor, None).await? {
        Some(row) if row.state() != ChatState::Ended => row.reference(),
        _ => return Err(Error::Conflict("Start the chat with a message first.".into())),
    };
    store_file(ctx.db(), chat, file).await
}

/// Stores a file an agent attaches in chat `number`, which they may write in (see
/// [`agent_send`]); they then send it with a reply.
pub async fn agent_upload(
    ctx: &AppContext,
    actor: &Agent,
    number: i64,
    file: NewFile<'_>,
) -> Result<Attachment> {
    file.check()?;
    let row = writable_chat(ctx.db(), actor, number).await?;
    store_file(ctx.db(), row.reference(), file).await
}

/// A file as uploaded: its name and type as the browser said, and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct NewFile<'a> {
    /// The file's name (any path is dropped).
    pub name: &'a str,
    /// Its media type.
    pub content_type: &'a str,
    /// Its bytes.
    pub data: &'a [u8],
}

impl NewFile<'_> {
    fn check(&self) -> Result<()> {
        if self.data.is_empty() || self.data.len() > MAX_ATTACHMENT_BYTES {
            return Err(Error::invalid(
                "file",
                format!("Attach a file of at most {} MB.", MAX_ATTACHMENT_BYTES / 1024 / 1024),
            ));
        }
        Ok(())
    }
}

async fn store_file(db: &Db, chat: ChatRef, file: NewFile<'_>) -> Result<Attachment> {
    let (file_name, content_type) =
        (clean_file_name(file.name), clean_content_type(file.content_type));
    let size = i64::try_from(file.data.len()).map_err(|_| Error::invalid("file", "Too large."))?;
    let id: i64 = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "INSERT INTO chat_attachments (chat_id, file_name, content_type, size, data, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(chat.id)
    .bind(&file_name)
    .bind(&content_type)
    .bind(size)
    .bind(file.data)
    .bind(Timestamp::now())
    .fetch_one(pool)
    .await
    })?;
    Ok(Attachment { id, file_name, content_type, size })
}

/// Who asks for an attachment.
#[derive(Clone, Copy, Debug)]
pub enum Downloader<'a> {
    /// A visitor: only files of their own chats.
    Visitor(&'a Visitor),
    /// An agent: any chat's files.
    Agent(&'a Agent),
}

/// An attachment's description and bytes, for someone who may see its chat.
pub async fn download_attachment(
    ctx: &AppContext,
    who: Downloader<'_>,
    id: i64,
) -> Result<(Attachment, Vec<u8>)> {
    let row: Option<(i64, String, String, i64, Vec<u8>)> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT t.number, f.file_name, f.content_type, f.size, f.data FROM chat_attachments f JOIN tickets t ON t.id = f.chat_id WHERE f.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    })?;
    let (number, file_name, content_type, size, data) = row.ok_or(Error::NotFound("attachment"))?;
    match who {
        // Another visitor's file is "not found": its existence is not theirs to know.
        Downloader::Visitor(visitor) => visitor_chat(ctx.db(), visitor, Some(number))
            .await
            .map_err(|_| Error::NotFound("attachment"))
            .map(drop)?,
        Downloader::Agent(agent) => authorize(agent)?,
    }
    Ok((Attachment { id, file_name, content_type, size }, data))
}

/// Sets how many live chats routing gives an agent at once (admins only), then routes waiting
/// chats to the room it made.
pub async fn set_capacity(
    ctx: &AppContext,
    actor: &Agent,
    agent_id: i64,
    capacity: i64,
) -> Result<Agent> {
    let target = agents::find(ctx.db(), agent_id).await?.ok_or(Error::NotFound("agent"))?;
    agents::authorize(actor, agents::AgentAction::SetChatCapacity, Some(&target))?;
    if !(0..=agents::MAX_CHAT_CAPACITY).contains(&capacity) {
        return Err(Error::invalid(
            "chat_capacity",
            format!("Give a number from 0 to {}.", agents::MAX_CHAT_CAPACITY),
        ));
    }
    if target.chat_capacity == capacity {
        return Ok(target);
    }
    let event = crate::platform::audit::AuditEvent {
        actor_id: Some(actor.id),
        action: "agent.chat_capacity_changed",
        subject_type: "agent",
        subject_id: agent_id,
        detail: serde_json::json!({ "from": target.chat_capacity, "to": capacity }),
    };
    let agent = agents::update_agent(ctx.db(), agent_id, "chat_capacity = $2", capacity, &event).await?;
    route(ctx).await?;
    Ok(agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_and_types_are_cleaned_before_they_reach_a_header() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\x\\report \"q1\".pdf\n"), "report q1.pdf");
        assert_eq!(clean_file_name(""), "file");
        assert_eq!(clean_content_type("image/PNG; charset=x"), "image/png");
        assert_eq!(clean_content_type("text/html\r\nX-Evil: 1"), "application/octet-stream");
    }
}

//! Tickets: creating them, the agent queue, the thread of replies and internal notes, changes
//! with optimistic concurrency, solving with a resolution, and the history of every change.
//!
//! Every change runs in one transaction that also appends to `ticket_events`, numbered per ticket
//! (`tickets.last_seq`): the ticket's history and, later, the stream live clients replay from.
//! [`authorize`] is the one place deciding who may do what with tickets.

use crate::agents::hub::Hub;
use serde_json::json;
use std::collections::HashMap;

use crate::agents::{Agent, Email, PersonName};
use crate::customers;
use crate::agents::PersonRef;
use crate::agents::notifications::NOTIFY_TICKET_PEOPLE;
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, Db, Params, bind_params, on_pool};
use crate::error::{Error, Result};
use crate::platform::markdown;
use crate::tickets::{
    Channel, Message, MessageBody, MessageKind, Priority, Status, Subject, Tag,
    TicketDetail, TicketEvent, TicketSummary,
};
use crate::platform::time::Timestamp;
use crate::tickets::{TimelineEntry, TimelinePage};

/// What an actor wants to do with tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketAction {
    /// Open a ticket, its thread and history.
    View,
    /// Create a ticket.
    Create,
    /// Change fields, reply, add notes, solve.
    Update,
}

/// Decides whether `actor` may do `action` with tickets. Every active agent works every ticket;
/// customers (through the portal) will get their own rule here.
pub fn authorize(actor: &Agent, _action: TicketAction) -> Result<()> {
    if actor.active { Ok(()) } else { Err(Error::Unauthenticated) }
}

/// Who wrote a message or made a change: an agent, the customer (through the portal), or
/// frontdesk itself (SLA warnings and breaches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Author {
    /// An agent, by id.
    Agent(i64),
    /// A contact (customer), by id.
    Contact(i64),
    /// frontdesk's own automation.
    System,
}

impl Author {
    pub(crate) fn agent_id(self) -> Option<i64> {
        match self {
            Author::Agent(id) => Some(id),
            Author::Contact(_) | Author::System => None,
        }
    }

    pub(crate) fn contact_id(self) -> Option<i64> {
        match self {
            Author::Contact(id) => Some(id),
            Author::Agent(_) | Author::System => None,
        }
    }
}

/// A ticket to create, validated.
#[derive(Clone, Debug)]
pub struct NewTicket {
    /// The customer's email; their profile is found or created from it.
    pub requester_email: Email,
    /// The customer's name, used when their profile is new.
    pub requester_name: PersonName,
    /// One-line summary.
    pub subject: Subject,
    /// The first message: a public reply by the creating agent, or the customer's own words.
    pub body: MessageBody,
    /// Priority.
    pub priority: Priority,
    /// How it arrived.
    pub channel: Channel,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// Changes to a ticket's fields, made from the version the agent saw.
#[derive(Clone, Debug, Default)]
pub struct TicketChanges {
    /// The version the change was made from; a newer stored version means a conflict.
    pub version: i64,
    /// New status.
    pub status: Option<Status>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<i64>>,
    /// New team (`Some(None)` removes it).
    pub team_id: Option<Option<i64>>,
    /// Tags to add.
    pub add_tags: Vec<Tag>,
    /// Tags to remove.
    pub remove_tags: Vec<Tag>,
    /// When solving: the public reply that solved it.
    pub resolution_message_id: Option<i64>,
}

/// The predefined queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueView {
    /// New and open tickets nobody is assigned to.
    Unassigned,
    /// Unfinished tickets assigned to the actor.
    Mine,
    /// Every unfinished ticket.
    AllOpen,
    /// Waiting for the customer.
    Pending,
    /// Solved, most recent first.
    RecentlySolved,
    /// A team's unfinished tickets.
    Team(i64),
    /// Unfinished tickets whose SLA comes due within two hours, or already breached.
    BreachingSoon,
}

/// How far ahead "breaching soon" looks.
pub const BREACHING_SOON_MS: i64 = 2 * 3_600_000;

/// One page of a queue, newest change first, and the cursor of the next page.
#[derive(Clone, Debug)]
pub struct QueuePage {
    /// The tickets.
    pub tickets: Vec<TicketSummary>,
    /// Pass this back for the next page; `None` on the last page.
    pub next_cursor: Option<QueueCursor>,
}

/// Where a queue page ends: the last ticket's sort key and id (keyset pagination).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueCursor {
    /// The sort key of the last ticket shown (milliseconds for times, a rank for priority).
    pub key: i64,
    /// Its id.
    pub id: i64,
}

/// How a queue is ordered (always descending, ties by newest id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueSort {
    /// Most recently changed first.
    #[default]
    Updated,
    /// Most recently opened first.
    Created,
    /// Most urgent first.
    Priority,
    /// Earliest SLA due time first; tickets without a running SLA last.
    SlaDue,
}

impl QueueSort {
    fn key_sql(self) -> &'static str {
        match self {
            QueueSort::Updated => "t.updated_at",
            QueueSort::Created => "t.created_at",
            QueueSort::Priority => {
                "(CASE t.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END)"
            }
            // Descending on the negated due time is ascending on the due time.
            QueueSort::SlaDue => "(-COALESCE(t.sla_due_at, 9000000000000000))",
        }
    }

    fn key_of(self, row: &SummaryRow) -> i64 {
        match self {
            QueueSort::Updated => row.updated_at.unix_millis(),
            QueueSort::Created => row.created_at.unix_millis(),
            QueueSort::Priority => match row.priority {
                Priority::Urgent => 3,
                Priority::High => 2,
                Priority::Normal => 1,
                Priority::Low => 0,
            },
            QueueSort::SlaDue => {
                -row.sla_due_at.map_or(9_000_000_000_000_000, Timestamp::unix_millis)
            }
        }
    }
}

/// Narrows a queue view; every field set must match.
#[derive(Clone, Debug, Default)]
pub struct QueueFilter {
    /// Status.
    pub status: Option<Status>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Assignee.
    pub assignee_id: Option<i64>,
    /// Team.
    pub team_id: Option<i64>,
    /// Has this tag.
    pub tag: Option<Tag>,
    /// Requested by this customer.
    pub requester_id: Option<i64>,
    /// Requested by someone in this organization.
    pub organization_id: Option<i64>,
    /// Opened at or after.
    pub created_from: Option<Timestamp>,
    /// Opened before.
    pub created_to: Option<Timestamp>,
    /// Changed at or after.
    pub updated_from: Option<Timestamp>,
    /// Changed before.
    pub updated_to: Option<Timestamp>,
    /// An SLA clock comes due before (an instant in the past means "already breached").
    pub sla_due_before: Option<Timestamp>,
}

/// The conditions of a view and a filter, as SQL over `tickets t JOIN contacts c`.
fn queue_conditions(
    actor: &Agent,
    view: QueueView,
    filter: &QueueFilter,
    sort: QueueSort,
    binds: &mut Params,
) -> Vec<String> {
    let mut conditions = vec![match view {
        QueueView::Unassigned => "t.assignee_id IS NULL AND t.status IN ('new', 'open')".to_owned(),
        QueueView::Mine => format!(
            "t.assignee_id = {} AND t.status NOT IN ('solved', 'closed')",
            binds.int(actor.id)
        ),
        QueueView::AllOpen => "t.status NOT IN ('solved', 'closed')".to_owned(),
        QueueView::Pending => "t.status = 'pending'".to_owned(),
        QueueView::RecentlySolved => "t.status = 'solved'".to_owned(),
        QueueView::Team(team_id) => {
            format!("t.team_id = {} AND t.status NOT IN ('solved', 'closed')", binds.int(team_id))
        }
        QueueView::BreachingSoon => format!(
            "t.sla_due_at IS NOT NULL AND t.sla_due_at <= {} AND t.status NOT IN ('solved', 'closed')",
            binds.int(Timestamp::now().unix_millis() + BREACHING_SOON_MS)
        ),
    }];
    if let Some(status) = filter.status {
        conditions.push(format!("t.status = {}", binds.text(status.as_str())));
    }
    if let Some(priority) = filter.priority {
        conditions.push(format!("t.priority = {}", binds.text(priority.as_str())));
    }
    for (column, value) in [
        ("t.assignee_id", filter.assignee_id),
        ("t.team_id", filter.team_id),
        ("t.requester_id", filter.requester_id),
        ("c.organization_id", filter.organization_id),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{column} = {}", binds.int(value)));
        }
    }
    if let Some(tag) = &filter.tag {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = {})",
            binds.text(tag.as_str())
        ));
    }
    // A date range on the column the page is not sorted by is written `+column`, which keeps the
    // planner walking the sort's index (stopping after one page) instead of collecting the whole
    // range and sorting it. Nothing is updated before it is created, so "created since" also
    // bounds the updated time, which narrows that walk.
    let sorted_by = |column: &str| match sort {
        QueueSort::Created => column == "t.created_at",
        QueueSort::Updated => column == "t.updated_at",
        QueueSort::Priority | QueueSort::SlaDue => false,
    };
    for (column, op, value) in [
        ("t.created_at", ">=", filter.created_from),
        ("t.created_at", "<", filter.created_to),
        ("t.updated_at", ">=", filter.updated_from),
        ("t.updated_at", "<", filter.updated_to),
    ] {
        if let Some(value) = value {
            let column_sql =
                if sorted_by(column) { column.to_owned() } else { format!("+{column}") };
            conditions.push(format!("{column_sql} {op} {}", binds.int(value.unix_millis())));
        }
    }
    if let Some(before) = filter.sla_due_before {
        let column = if sort == QueueSort::SlaDue { "t.sla_due_at" } else { "+t.sla_due_at" };
        conditions.push(format!("{column} < {}", binds.int(before.unix_millis())));
    }
    if let (Some(from), QueueSort::Updated) = (filter.created_from, sort) {
        conditions.push(format!("t.updated_at >= {}", binds.int(from.unix_millis())));
    }
    conditions
}

const SUMMARY_SELECT: &str =
    "SELECT t.id, t.number, t.subject, t.status, t.priority, t.channel, t.version,
        t.created_at, t.updated_at, t.resolution_message_id, t.sla_due_at,
        c.id AS requester_id, c.name AS requester_name,
        a.id AS assignee_id, a.name AS assignee_name,
        tm.id AS team_id, tm.name AS team_name
    FROM tickets t
    JOIN contacts c ON c.id = t.requester_id
    LEFT JOIN agents a ON a.id = t.assignee_id
    LEFT JOIN teams tm ON tm.id = t.team_id";

const EVENT_SELECT: &str =
    "SELECT e.seq, e.kind, COALESCE(a.name, c.name) AS actor, e.detail, e.internal, e.created_at
    FROM ticket_events e
    LEFT JOIN agents a ON a.id = e.actor_agent_id
    LEFT JOIN contacts c ON c.id = e.actor_contact_id";

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    number: i64,
    subject: String,
    #[sqlx(try_from = "String")]
    status: Status,
    #[sqlx(try_from = "String")]
    priority: Priority,
    #[sqlx(try_from = "String")]
    channel: Channel,
    version: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
    resolution_message_id: Option<i64>,
    sla_due_at: Option<Timestamp>,
    requester_id: i64,
    requester_name: String,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    team_id: Option<i64>,
    team_name: Option<String>,
}

impl SummaryRow {
    fn into_summary(self, tags: Vec<String>) -> TicketSummary {
        let person = |id: Option<i64>, name: Option<String>| {
            id.zip(name).map(|(id, name)| PersonRef { id, name })
        };
        TicketSummary {
            id: self.id,
            number: self.number,
            subject: self.subject,
            status: self.status,
            priority: self.priority,
            channel: self.channel,
            requester: PersonRef { id: self.requester_id, name: self.requester_name },
            assignee: person(self.assignee_id, self.assignee_name),
            team: person(self.team_id, self.team_name),
            tags,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            sla_due_at: self.sla_due_at,
        }
    }
}

/// Creates a ticket for the customer with `requester_email` (their profile is created if new).
pub async fn create(ctx: &AppContext, actor: &Agent, new: NewTicket) -> Result<TicketDetail> {
    authorize(actor, TicketAction::Create)?;
    let id = insert_ticket(ctx, &new, Some(actor.id)).await?;
    load_detail(ctx.db(), id).await
}

/// Inserts a ticket, its tags, its first message and its first events; returns its id. The first
/// message is by `agent_id` when an agent opened the ticket, else by the customer.
pub(crate) async fn insert_ticket(
    ctx: &AppContext,
    new: &NewTicket,
    agent_id: Option<i64>,
) -> Result<i64> {
    let db = ctx.db();
    let requester_id =
        customers::find_or_create_by_email(db, &new.requester_email, &new.requester_name).await?;
    let author = agent_id.map_or(Author::Contact(requester_id), Author::Agent);
    let body_html = markdown::render(new.body.as_str().to_owned()).await?;
    on_pool!(db, |pool| async {
        let mut tx = pool.begin_write().await?;
        let created = insert_ticket_rows(
            &mut *tx,
            requester_id,
            &new.draft(&body_html),
            author,
            Timestamp::now(),
        )
        .await?;
        tx.commit().await?;
        Hub::of(ctx).ticket_changed(created.number, created.seq);
        Ok::<_, Error>(created.id)
    }
    .await)
}

/// A ticket just written by [`insert_ticket_rows`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inserted {
    /// Database id.
    pub id: i64,
    /// Ticket number.
    pub number: i64,
    /// The sequence number of its last event.
    pub seq: i64,
    /// Its first message.
    pub message_id: i64,
}

/// What a new ticket says, whoever asks for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Draft<'a> {
    pub subject: &'a Subject,
    pub body: &'a MessageBody,
    /// The body rendered by [`markdown::render`].
    pub body_html: &'a str,
    pub priority: Priority,
    pub channel: Channel,
    pub tags: &'a [Tag],
}

impl NewTicket {
    pub(crate) fn draft<'a>(&'a self, body_html: &'a str) -> Draft<'a> {
        Draft {
            subject: &self.subject,
            body: &self.body,
            body_html,
            priority: self.priority,
            channel: self.channel,
            tags: &self.tags,
        }
    }
}

/// Writes a new ticket for `requester_id` (its number, row, tags, first message and first events)
/// inside the caller's transaction.
pub(crate) async fn insert_ticket_rows<'c, C, DB>(
    conn: &'c mut C,
    requester_id: i64,
    new: &Draft<'_>,
    author: Author,
    now: Timestamp,
) -> sqlx::Result<Inserted>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Timestamp: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let number: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value",
    )
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, subject, status, priority, channel, requester_id, created_at, updated_at)
         VALUES ($1, $2, 'new', $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(number)
    .bind(new.subject.as_str().to_owned())
    .bind(new.priority.as_str().to_owned())
    .bind(new.channel.as_str().to_owned())
    .bind(requester_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for tag in new.tags {
        sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(tag.as_str().to_owned())
            .execute(&mut *conn)
            .await?;
    }
    let message_id =
        insert_message(&mut *conn, id, author, MessageKind::Reply, new.body, new.body_html, now)
            .await?;
    let created = json!({
        "number": number, "subject": new.subject.as_str(), "priority": new.priority,
        "channel": new.channel, "tags": new.tags,
    });
    append_event(&mut *conn, id, author, "created", created, false, now).await?;
    let seq = append_event(
        &mut *conn,
        id,
        author,
        "reply_added",
        json!({ "message_id": message_id }),
        false,
        now,
    )
    .await?;
    Ok(Inserted { id, number, seq, message_id })
}

/// A ticket by its number, with thread and history.
pub async fn get(ctx: &AppContext, actor: &Agent, number: i64) -> Result<TicketDetail> {
    authorize(actor, TicketAction::View)?;
    let id = id_for_number(ctx.db(), number).await?;
    load_detail(ctx.db(), id).await
}

/// Adds a public reply or an internal note. Replying to a new ticket opens it.
///
/// The traffic cop: with `composing_since` (the ticket's last sequence number when the agent
/// started writing), a message is held with [`Error::NewActivity`] if someone else wrote on the
/// ticket since, so the agent reads it first; sending again without `composing_since` sends.
pub async fn add_message(
    ctx: &AppContext,
    actor: &Agent,
    number: i64,
    kind: MessageKind,
    body: MessageBody,
    composing_since: Option<i64>,
) -> Result<TicketDetail> {
    authorize(actor, TicketAction::Update)?;
    let id = id_for_number(ctx.db(), number).await?;
    if let Some(since) = composing_since {
        let newer = messages_by_others_since(ctx, id, actor.id, since).await?;
        if !newer.is_empty() {
            return Err(Error::NewActivity(newer));
        }
    }
    post_message(ctx, id, Author::Agent(actor.id), kind, &body).await?;
    load_detail(ctx.db(), id).await
}

/// Messages written on ticket `id` after event `since` by anyone but `agent_id`.
async fn messages_by_others_since(
    ctx: &AppContext,
    id: i64,
    agent_id: i64,
    since: i64,
) -> Result<Vec<Message>> {
    let events: Vec<(String, Option<i64>)> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT detail, actor_agent_id FROM ticket_events
         WHERE ticket_id = $1 AND seq > $2 AND kind IN ('reply_added', 'note_added')"
    )
    .bind(id)
    .bind(since)
    .fetch_all(pool)
    .await)?;
    let ids: Vec<i64> = events
        .into_iter()
        .filter(|(_, actor)| *actor != Some(agent_id))
        .filter_map(|(detail, _)| {
            serde_json::from_str::<serde_json::Value>(&detail).ok()?["message_id"].as_i64()
        })
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let detail = load_detail(ctx.db(), id).await?;
    Ok(detail.messages.into_iter().filter(|m| ids.contains(&m.id)).collect())
}

/// Adds a message and moves the status on: an agent's reply opens a new ticket; a customer's
/// message reopens a pending, on-hold or solved one.
pub(crate) async fn post_message(
    ctx: &AppContext,
    id: i64,
    author: Author,
    kind: MessageKind,
    body: &MessageBody,
) -> Result<()> {
    let body_html = markdown::render(body.as_str().to_owned()).await?;
    let now = Timestamp::now();
    let posted = on_pool!(ctx.db(), |pool| {
        async {
            let mut tx = pool.begin_write().await?;
            let posted = post_message_rows(&mut *tx, id, author, kind, body, &body_html, now, false).await?;
            tx.commit().await?;
            Ok::<_, Error>(posted)
        }
        .await
    })?;
    posted.announce(ctx);
    Ok(())
}

/// A message just written by [`post_message_rows`].
#[derive(Clone, Debug)]
pub(crate) struct Posted {
    /// The message's id.
    pub message_id: i64,
    /// The ticket's number.
    pub number: i64,
    /// The sequence number of the ticket's last event.
    pub seq: i64,
    /// Agents notified ("customer replied").
    pub notified: Vec<i64>,
}

impl Posted {
    /// Tells live consoles, after the transaction committed.
    pub(crate) fn announce(&self, ctx: &AppContext) {
        Hub::of(ctx).ticket_changed(self.number, self.seq);
        for agent in &self.notified {
            Hub::of(ctx).notified(*agent);
        }
    }
}

/// Writes a message on ticket `id` inside the caller's transaction, with its events and the
/// status change it causes (see [`post_message`]). A customer's reply notifies the ticket's
/// people; an agent's public reply on an email ticket enters the mail outbox by trigger. A
/// `quiet` message (a machine's answer, like an out-of-office) changes no status and notifies
/// nobody.
#[expect(clippy::too_many_arguments, reason = "the message's parts, each needed in its rows")]
pub(crate) async fn post_message_rows<'c, C, DB>(
    conn: &'c mut C,
    id: i64,
    author: Author,
    kind: MessageKind,
    body: &MessageBody,
    body_html: &str,
    now: Timestamp,
    quiet: bool,
) -> sqlx::Result<Posted>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Timestamp: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, i64, String): sqlx::FromRow<'r, DB::Row>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let reopen_from: &[Status] = match (author, kind) {
        _ if quiet => &[],
        (Author::Agent(_), MessageKind::Reply) => &[Status::New],
        (Author::Agent(_), MessageKind::Note) => &[],
        (Author::Contact(_), _) => &[Status::Pending, Status::OnHold, Status::Solved],
        (Author::System, _) => &[],
    };
    let message_id = insert_message(&mut *conn, id, author, kind, body, body_html, now).await?;
    let (before, number, subject): (String, i64, String) = sqlx::query_as(
        "UPDATE tickets SET version = version + 1, updated_at = $2 WHERE id = $1 RETURNING status, number, subject",
    )
    .bind(id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let event = if kind == MessageKind::Reply { "reply_added" } else { "note_added" };
    let note = kind == MessageKind::Note;
    let mut seq = append_event(&mut *conn, id, author, event, json!({ "message_id": message_id }), note, now).await?;
    let before: Status = before.parse().map_err(|e: crate::error::FieldError| sqlx::Error::Decode(e.message.into()))?;
    if reopen_from.contains(&before) {
        sqlx::query("UPDATE tickets SET status = 'open' WHERE id = $1").bind(id).execute(&mut *conn).await?;
        let change = json!({ "from": before, "to": Status::Open });
        seq = append_event(&mut *conn, id, author, "status_changed", change, false, now).await?;
    }
    let notified = match author {
        Author::Contact(_) if !quiet => {
            let text = format!("The customer replied on #{number} {subject}");
            sqlx::query_scalar(NOTIFY_TICKET_PEOPLE)
                .bind(id)
                .bind("customer_replied")
                .bind(text)
                .bind(now)
                .fetch_all(&mut *conn)
                .await?
        }
        Author::Contact(_) | Author::Agent(_) | Author::System => Vec::new(),
    };
    Ok(Posted { message_id, number, seq, notified })
}

/// Applies field changes made from `changes.version`. If the ticket changed since, nothing is
/// written and [`Error::Stale`] carries the current state.
pub async fn update(
    ctx: &AppContext,
    actor: &Agent,
    number: i64,
    changes: TicketChanges,
) -> Result<TicketDetail> {
    authorize(actor, TicketAction::Update)?;
    let db = ctx.db();
    let id = id_for_number(db, number).await?;
    let current = load_detail(db, id).await?;
    if current.ticket.version != changes.version {
        return Err(Error::Stale(Box::new(current)));
    }
    let before = &current.ticket;
    let status = changes.status.unwrap_or(before.status);
    let priority = changes.priority.unwrap_or(before.priority);
    let assignee_id = changes.assignee_id.unwrap_or(before.assignee.as_ref().map(|a| a.id));
    let team_id = changes.team_id.unwrap_or(before.team.as_ref().map(|t| t.id));
    if let Some(team) = team_id.filter(|id| Some(*id) != before.team.as_ref().map(|t| t.id)) {
        let exists: Option<i64> =
            on_pool!(db, |pool| sqlx::query_scalar("SELECT id FROM teams WHERE id = $1")
                .bind(team)
                .fetch_optional(pool)
                .await)?;
        if exists.is_none() {
            return Err(Error::invalid("team_id", "Choose an existing team."));
        }
    }
    if let Some(agent_id) =
        assignee_id.filter(|id| Some(*id) != before.assignee.as_ref().map(|a| a.id))
    {
        let assignee = crate::agents::find(db, agent_id).await?;
        if !assignee.is_some_and(|a| a.active) {
            return Err(Error::invalid("assignee_id", "Choose an active agent."));
        }
    }
    let resolution = match changes.resolution_message_id {
        Some(message_id) if status == Status::Solved => {
            let is_reply =
                current.messages.iter().any(|m| m.id == message_id && m.kind == MessageKind::Reply);
            if !is_reply {
                return Err(Error::invalid(
                    "resolution_message_id",
                    "The resolution must be a public reply on this ticket.",
                ));
            }
            Some(message_id)
        }
        Some(_) => {
            return Err(Error::invalid(
                "resolution_message_id",
                "Only a solved ticket has a resolution.",
            ));
        }
        None if status.is_done() => current.resolution_message_id,
        None => None,
    };
    let mut events = Vec::new();
    if status != before.status {
        events.push(("status_changed", json!({ "from": before.status, "to": status })));
    }
    if priority != before.priority {
        events.push(("priority_changed", json!({ "from": before.priority, "to": priority })));
    }
    if assignee_id != before.assignee.as_ref().map(|a| a.id) {
        events.push(("assignee_changed", json!({ "from": before.assignee, "to": assignee_id })));
    }
    if team_id != before.team.as_ref().map(|t| t.id) {
        events.push(("team_changed", json!({ "from": before.team, "to": team_id })));
    }
    if resolution != current.resolution_message_id && resolution.is_some() {
        events.push(("resolution_marked", json!({ "message_id": resolution })));
    }
    let added: Vec<&str> = changes
        .add_tags
        .iter()
        .map(Tag::as_str)
        .filter(|t| !before.tags.iter().any(|b| b == t))
        .collect();
    let removed: Vec<&str> = changes
        .remove_tags
        .iter()
        .map(Tag::as_str)
        .filter(|t| before.tags.iter().any(|b| b == t))
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        events.push(("tags_changed", json!({ "added": added, "removed": removed })));
    }
    if events.is_empty() {
        return Ok(current);
    }
    let now = Timestamp::now();
    let solved_at =
        if status == Status::Solved && before.status != Status::Solved { Some(now) } else { None };
    let written: bool = on_pool!(db, |pool| async {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE tickets SET status = $3, priority = $4, assignee_id = $5, team_id = $6,
                 resolution_message_id = $7, solved_at = COALESCE($8, solved_at),
                 version = version + 1, updated_at = $9
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(changes.version)
        .bind(status.as_str())
        .bind(priority.as_str())
        .bind(assignee_id)
        .bind(team_id)
        .bind(resolution)
        .bind(solved_at)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        for tag in &added {
            sqlx::query(
                "INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(*tag)
            .execute(&mut *tx)
            .await?;
        }
        for tag in &removed {
            sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1 AND tag = $2")
                .bind(id)
                .bind(*tag)
                .execute(&mut *tx)
                .await?;
        }
        let mut seq = 0;
        for (kind, detail) in &events {
            seq = append_event(
                &mut *tx,
                id,
                Author::Agent(actor.id),
                kind,
                detail.clone(),
                false,
                now,
            )
            .await?;
        }
        // The new assignee hears of it, unless they took the ticket themselves.
        let assigned = assignee_id
            .filter(|a| *a != actor.id && Some(*a) != before.assignee.as_ref().map(|b| b.id));
        if let Some(agent_id) = assigned {
            let text = format!("{} assigned #{number} {} to you", actor.name, before.subject);
            sqlx::query(
                "INSERT INTO notifications (agent_id, ticket_id, kind, body, created_at) VALUES ($1, $2, 'assigned', $3, $4)",
            )
            .bind(agent_id)
            .bind(id)
            .bind(text)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Hub::of(ctx).ticket_changed(number, seq);
        if let Some(agent_id) = assigned {
            Hub::of(ctx).notified(agent_id);
        }
        Ok::<_, Error>(true)
    }
    .await)?;
    // Not written: someone saved between our read and our write, and the version check in the
    // UPDATE caught it.
    let after = load_detail(db, id).await?;
    if written { Ok(after) } else { Err(Error::Stale(Box::new(after))) }
}

/// A ticket's stored events after `after_seq`, in order (for live clients catching up).
pub async fn events_since(
    ctx: &AppContext,
    actor: &Agent,
    number: i64,
    after_seq: i64,
) -> Result<Vec<TicketEvent>> {
    authorize(actor, TicketAction::View)?;
    let id = id_for_number(ctx.db(), number).await?;
    Ok(on_pool!(ctx.db(), |pool| sqlx::query_as(&format!(
        "{EVENT_SELECT} WHERE e.ticket_id = $1 AND e.seq > $2 ORDER BY e.seq"
    ))
    .bind(id)
    .bind(after_seq)
    .fetch_all(pool)
    .await)?)
}

/// The SQL and parameters of one queue page of at most `limit` rows (exposed so benchmarks can
/// run the very same query without the rest of [`queue`]).
pub fn queue_query(
    actor: &Agent,
    view: QueueView,
    filter: &QueueFilter,
    sort: QueueSort,
    after: Option<QueueCursor>,
    limit: i64,
) -> (String, Params) {
    let mut binds = Params::default();
    let mut conditions = queue_conditions(actor, view, filter, sort, &mut binds);
    let key = sort.key_sql();
    if let Some(cursor) = after {
        let (k, id) = (binds.int(cursor.key), binds.int(cursor.id));
        conditions.push(format!("({key} < {k} OR ({key} = {k} AND t.id < {id}))"));
    }
    let sql = format!(
        "{SUMMARY_SELECT} WHERE {} ORDER BY {key} DESC, t.id DESC LIMIT {}",
        conditions.join(" AND "),
        binds.int(limit)
    );
    (sql, binds)
}

/// One page of a queue view, filtered and sorted.
pub async fn queue(
    ctx: &AppContext,
    actor: &Agent,
    view: QueueView,
    filter: &QueueFilter,
    sort: QueueSort,
    after: Option<QueueCursor>,
    limit: u32,
) -> Result<QueuePage> {
    authorize(actor, TicketAction::View)?;
    let limit = i64::from(limit.clamp(1, 100));
    let (sql, binds) = queue_query(actor, view, filter, sort, after, limit + 1);
    let mut rows: Vec<SummaryRow> =
        on_pool!(ctx.db(), |pool| bind_params!(sqlx::query_as(&sql), binds).fetch_all(pool).await)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(100));
    let next_cursor =
        more.then(|| rows.last().map(|r| QueueCursor { key: sort.key_of(r), id: r.id })).flatten();
    let mut tags = load_tags(ctx.db(), &rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
    let tickets = rows
        .into_iter()
        .map(|r| {
            let t = tags.remove(&r.id).unwrap_or_default();
            r.into_summary(t)
        })
        .collect();
    Ok(QueuePage { tickets, next_cursor })
}

/// How many tickets each predefined view holds, counting at most [`COUNT_CAP`] (shown as
/// "999+"), so counting stays cheap on a million tickets.
pub async fn view_counts(ctx: &AppContext, actor: &Agent) -> Result<Vec<(QueueView, i64)>> {
    authorize(actor, TicketAction::View)?;
    let mut counts = Vec::new();
    for view in [
        QueueView::Unassigned,
        QueueView::Mine,
        QueueView::AllOpen,
        QueueView::Pending,
        QueueView::RecentlySolved,
        QueueView::BreachingSoon,
    ] {
        let mut binds = Params::default();
        let conditions =
            queue_conditions(actor, view, &QueueFilter::default(), QueueSort::Updated, &mut binds);
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM tickets t JOIN contacts c ON c.id = t.requester_id WHERE {} LIMIT {COUNT_CAP}) capped",
            conditions.join(" AND ")
        );
        let count: i64 = on_pool!(ctx.db(), |pool| bind_params!(sqlx::query_scalar(&sql), binds)
            .fetch_one(pool)
            .await)?;
        counts.push((view, count));
    }
    Ok(counts)
}

/// The most a view count counts.
pub const COUNT_CAP: i64 = 1000;

/// Changes applied to many tickets at once.
#[derive(Clone, Debug, Default)]
pub struct BulkChanges {
    /// New status.
    pub status: Option<Status>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<i64>>,
    /// Tags to add.
    pub add_tags: Vec<Tag>,
    /// Tags to remove.
    pub remove_tags: Vec<Tag>,
}

/// Applies `changes` to each ticket (at its current version; each ticket is its own change with
/// its own history entries). Returns the numbers changed, and those that failed with why.
pub async fn bulk_update(
    ctx: &AppContext,
    actor: &Agent,
    numbers: &[i64],
    changes: &BulkChanges,
) -> Result<(Vec<i64>, Vec<(i64, String)>)> {
    authorize(actor, TicketAction::Update)?;
    if numbers.len() > 100 {
        return Err(Error::invalid("numbers", "Select at most 100 tickets at once."));
    }
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for &number in numbers {
        let outcome = async {
            let current = get(ctx, actor, number).await?;
            let change = TicketChanges {
                version: current.ticket.version,
                status: changes.status,
                priority: changes.priority,
                assignee_id: changes.assignee_id,
                team_id: None,
                add_tags: changes.add_tags.clone(),
                remove_tags: changes.remove_tags.clone(),
                resolution_message_id: None,
            };
            update(ctx, actor, number, change).await
        }
        .await;
        match outcome {
            Ok(_) => done.push(number),
            // What the agent reads per ticket: safe words (a server fault is logged here).
            Err(e) => failed.push((number, e.to_client().1)),
        }
    }
    Ok((done, failed))
}

pub(crate) async fn id_for_number(db: &Db, number: i64) -> Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar("SELECT id FROM tickets WHERE number = $1")
        .bind(number)
        .fetch_optional(pool)
        .await)?
    .ok_or(Error::NotFound("ticket"))
}

pub(crate) async fn load_tags(db: &Db, ticket_ids: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    if ticket_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (1..=ticket_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN ({}) ORDER BY tag",
        placeholders.join(", ")
    );
    let rows: Vec<(i64, String)> = on_pool!(db, |pool| {
        let mut query = sqlx::query_as(&sql);
        for id in ticket_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await
    })?;
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, tag) in rows {
        tags.entry(id).or_default().push(tag);
    }
    Ok(tags)
}

pub(crate) async fn load_detail(db: &Db, id: i64) -> Result<TicketDetail> {
    #[derive(sqlx::FromRow)]
    struct MessageRow {
        id: i64,
        #[sqlx(try_from = "String")]
        kind: MessageKind,
        author_id: i64,
        author_name: String,
        by_agent: bool,
        body: String,
        body_html: Option<String>,
        created_at: Timestamp,
    }
    let summary_sql = format!("{SUMMARY_SELECT} WHERE t.id = $1");
    let row: SummaryRow =
        on_pool!(db, |pool| sqlx::query_as(&summary_sql).bind(id).fetch_optional(pool).await)?
            .ok_or(Error::NotFound("ticket"))?;
    let messages: Vec<MessageRow> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT m.id, m.kind, m.body, m.body_html, m.created_at,
                COALESCE(a.id, c.id) AS author_id, COALESCE(a.name, c.name) AS author_name,
                (m.author_agent_id IS NOT NULL) AS by_agent
         FROM ticket_messages m
         LEFT JOIN agents a ON a.id = m.author_agent_id
         LEFT JOIN contacts c ON c.id = m.author_contact_id
         WHERE m.ticket_id = $1 ORDER BY m.id"
    )
    .bind(id)
    .fetch_all(pool)
    .await)?;
    let events: Vec<TicketEvent> = on_pool!(db, |pool| sqlx::query_as(&format!(
        "{EVENT_SELECT} WHERE e.ticket_id = $1 ORDER BY e.seq"
    ))
    .bind(id)
    .fetch_all(pool)
    .await)?;
    let tags = load_tags(db, &[id]).await?.remove(&id).unwrap_or_default();
    let resolution_message_id = row.resolution_message_id;
    // Messages written before their HTML was stored are rendered now, off the async threads.
    let messages = if messages.iter().any(|m| m.body_html.is_none()) {
        tokio::task::spawn_blocking(move || {
            let mut messages = messages;
            for m in messages.iter_mut().filter(|m| m.body_html.is_none()) {
                m.body_html = Some(markdown::to_safe_html(&m.body));
            }
            messages
        })
        .await
        .map_err(|e| Error::internal_from("rendering messages failed", e))?
    } else {
        messages
    };
    Ok(TicketDetail {
        ticket: row.into_summary(tags),
        messages: messages
            .into_iter()
            .map(|m| Message {
                id: m.id,
                kind: m.kind,
                author: PersonRef { id: m.author_id, name: m.author_name },
                by_agent: m.by_agent,
                body_html: m.body_html.unwrap_or_default(),
                body: m.body,
                created_at: m.created_at,
            })
            .collect(),
        resolution_message_id,
        events,
    })
}

/// Appends one event to a ticket's history with the ticket's next sequence number.
pub(crate) async fn append_event<'c, C, DB>(
    conn: &'c mut C,
    ticket_id: i64,
    actor: Author,
    kind: &str,
    detail: serde_json::Value,
    internal: bool,
    at: Timestamp,
) -> sqlx::Result<i64>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Timestamp: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let seq: i64 = sqlx::query_scalar(
        "UPDATE tickets SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(ticket_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO ticket_events (ticket_id, seq, actor_agent_id, actor_contact_id, kind, detail, internal, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ticket_id)
    .bind(seq)
    .bind(actor.agent_id())
    .bind(actor.contact_id())
    .bind(kind.to_owned())
    .bind(detail.to_string())
    .bind(internal)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    // The SLA worker re-evaluates this ticket up to this event (see `sla`).
    sqlx::query("INSERT INTO sla_dirty (ticket_id, seq) VALUES ($1, $2) ON CONFLICT (ticket_id) DO UPDATE SET seq = excluded.seq")
        .bind(ticket_id)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// Inserts one message by `author` with its rendered HTML; returns its id.
pub(crate) async fn insert_message<'c, C, DB>(
    conn: &'c mut C,
    ticket_id: i64,
    author: Author,
    kind: MessageKind,
    body: &MessageBody,
    body_html: &str,
    at: Timestamp,
) -> sqlx::Result<i64>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Timestamp: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    sqlx::query_scalar(
        "INSERT INTO ticket_messages (ticket_id, kind, author_agent_id, author_contact_id, body, body_html, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(ticket_id)
    .bind(kind.as_str().to_owned())
    .bind(author.agent_id())
    .bind(author.contact_id())
    .bind(body.as_str().to_owned())
    .bind(body_html.to_owned())
    .bind(at)
    .fetch_one(&mut *conn)
    .await
}

/// The customer's tickets and chats, newest first, 25 per page.
pub async fn timeline(
    ctx: &AppContext,
    actor: &Agent,
    customer_id: i64,
    cursor: Option<(Timestamp, i64)>,
) -> Result<TimelinePage> {
    crate::customers::authorize(actor)?;
    const PAGE: usize = 25;
    let (before, before_id) = cursor.unwrap_or((Timestamp::from_unix_millis(i64::MAX), i64::MAX));
    let mut entries: Vec<TimelineEntry> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT id, number, subject, status, channel, created_at FROM tickets
         WHERE requester_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    )
    .bind(customer_id)
    .bind(before)
    .bind(before_id)
    .bind(i64::try_from(PAGE + 1).unwrap_or(26))
    .fetch_all(pool)
    .await)?;
    let next_cursor = (entries.len() > PAGE).then(|| {
        entries.truncate(PAGE);
        entries.last().map(|e| format!("{}.{}", e.created_at.unix_millis(), e.id))
    });
    Ok(TimelinePage { entries, next_cursor: next_cursor.flatten() })
}

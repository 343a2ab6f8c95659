//! SLAs in the database: calendars and ordered policies (admins manage them, [`authorize`]),
//! each ticket's evaluated SLA state, and the worker that keeps it fresh and fires warnings and
//! breaches exactly once.
//!
//! - Every ticket event marks the ticket in `sla_dirty` in its own transaction
//!   (`tickets::append_event`); changing a policy or a calendar marks every unfinished ticket.
//!   [`drain`] re-evaluates marked tickets from their full history ([`crate::sla::clock`]) and
//!   clears a mark only up to the event it evaluated, so a crash loses nothing.
//! - Evaluation stores the earliest due time on the ticket (`tickets.sla_due_at`, which the
//!   queue sorts by) and one alarm per warning and breach of each clock run.
//! - [`fire_due`] takes the alarms whose time has come, oldest first, and in one transaction each
//!   marks it fired (only if nobody did), records it in the ticket's history and applies the
//!   policy's breach actions. Alarms that came due while frontdesk was stopped fire at start. Its
//!   cost follows the number of due alarms, never the number of tickets.

use crate::agents::hub::Hub;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::agents::Agent;
use crate::sla::business_time::{Calendar, CalendarError};
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, Db, Param, Params, bind_params, id_list, multi_row, on_pool};
use crate::error::{Error, Result};
use crate::agents::notifications::NOTIFY_TICKET_PEOPLE;
use crate::sla::clock::{self, ClockRules, ClockStatus, Evaluation, Happening, Metric, Targets};
use crate::tickets::{Channel, Priority, Status};
use crate::tickets::{self, Author};
use crate::platform::time::Timestamp;
use std::collections::HashMap;

/// Only active admins change calendars and policies; every active agent reads them.
pub fn authorize(actor: &Agent, change: bool) -> Result<()> {
    match (actor.active, change) {
        (false, _) => Err(Error::Unauthenticated),
        (true, true) if !actor.is_admin() => Err(Error::Forbidden),
        _ => Ok(()),
    }
}

/// A business-hours calendar as admins define it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDef {
    /// Database id (0 before it is saved).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// IANA time zone, like `Europe/Berlin`.
    pub time_zone: String,
    /// Seven lists of `[start, end)` minutes after local midnight, Monday first.
    pub hours: [Vec<(u16, u16)>; 7],
    /// Holidays: first and last date (`YYYY-MM-DD`), both included.
    pub holidays: Vec<(String, String)>,
}

impl CalendarDef {
    /// The calendar it defines, or what is wrong with it.
    pub fn calendar(&self) -> std::result::Result<Calendar, CalendarError> {
        let mut holidays = Vec::new();
        for (from, to) in &self.holidays {
            let parse = |d: &str| {
                d.parse::<jiff::civil::Date>().map_err(|_| CalendarError::BadHoliday(d.to_owned()))
            };
            holidays.push((parse(from)?, parse(to)?));
        }
        Calendar::new(&self.time_zone, self.hours.clone(), holidays)
    }
}

/// Which tickets a policy applies to; an empty list matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Conditions {
    /// Ticket priorities.
    pub priorities: Vec<Priority>,
    /// Teams.
    pub team_ids: Vec<i64>,
    /// Channels.
    pub channels: Vec<Channel>,
    /// Tags (any of them).
    pub tags: Vec<String>,
    /// Requester organizations.
    pub organization_ids: Vec<i64>,
}

/// What happens when a clock breaches, besides the history entry and the live notification of
/// the assignee and the team.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreachActions {
    /// Raise the priority one step (up to urgent).
    pub raise_priority: bool,
    /// Move the ticket to this team.
    pub team_id: Option<i64>,
}

/// An SLA policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDef {
    /// Database id (0 before it is saved).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Order: the first matching policy applies.
    pub position: i64,
    /// The calendar its targets count in; `None` for 24/7.
    pub calendar_id: Option<i64>,
    /// Which tickets it covers.
    pub conditions: Conditions,
    /// Targets per priority (low, normal, high, urgent), in business milliseconds.
    pub targets: [Targets; 4],
    /// Statuses that pause its clocks.
    pub pause_statuses: Vec<Status>,
    /// Warn at this share of a target (0: never).
    pub warn_percent: u8,
    /// What a breach does.
    pub breach_actions: BreachActions,
}

/// The ticket fields policies match on.
#[derive(Clone, Debug, sqlx::FromRow)]
struct TicketFacts {
    id: i64,
    #[sqlx(try_from = "String")]
    priority: Priority,
    #[sqlx(try_from = "String")]
    channel: Channel,
    team_id: Option<i64>,
    organization_id: Option<i64>,
    last_seq: i64,
}

impl Conditions {
    fn matches(&self, t: &TicketFacts, tags: &[String]) -> bool {
        (self.priorities.is_empty() || self.priorities.contains(&t.priority))
            && (self.channels.is_empty() || self.channels.contains(&t.channel))
            && (self.team_ids.is_empty() || t.team_id.is_some_and(|id| self.team_ids.contains(&id)))
            && (self.organization_ids.is_empty()
                || t.organization_id.is_some_and(|id| self.organization_ids.contains(&id)))
            && (self.tags.is_empty() || self.tags.iter().any(|tag| tags.contains(tag)))
    }

    /// Why a ticket matched, in words, naming teams and organizations where `names` has them.
    fn describe(&self, names: &ConditionNames) -> String {
        let mut parts = Vec::new();
        if !self.priorities.is_empty() {
            parts.push(format!(
                "priority is {}",
                self.priorities.iter().map(|p| p.label()).collect::<Vec<_>>().join(" or ")
            ));
        }
        if !self.channels.is_empty() {
            parts.push(format!(
                "channel is {}",
                self.channels.iter().map(|c| c.label()).collect::<Vec<_>>().join(" or ")
            ));
        }
        if !self.tags.is_empty() {
            parts.push(format!("tagged {}", self.tags.join(" or ")));
        }
        if !self.team_ids.is_empty() {
            parts.push(format!("team is {}", names.teams_named(&self.team_ids).join(" or ")));
        }
        if !self.organization_ids.is_empty() {
            let organizations = names.organizations_named(&self.organization_ids);
            parts.push(format!("requester at {}", organizations.join(" or ")));
        }
        if parts.is_empty() { "it applies to every ticket".to_owned() } else { parts.join(", ") }
    }
}

/// The names of the teams and organizations policies refer to, by id.
#[derive(Clone, Debug, Default)]
pub struct ConditionNames {
    /// Team names.
    pub teams: HashMap<i64, String>,
    /// Organization names.
    pub organizations: HashMap<i64, String>,
}

impl ConditionNames {
    /// Every team's name and the names of the organizations `policies` name: two queries.
    pub async fn of(db: &Db, policies: &[PolicyDef]) -> Result<Self> {
        let teams: Vec<(i64, String)> =
            on_pool!(db, |pool| sqlx::query_as("SELECT id, name FROM teams").fetch_all(pool).await)?;
        let mut ids: Vec<i64> =
            policies.iter().flat_map(|p| p.conditions.organization_ids.iter().copied()).collect();
        ids.sort_unstable();
        ids.dedup();
        let organizations: Vec<(i64, String)> = if ids.is_empty() {
            Vec::new()
        } else {
            let (params, list) = id_list(db, &ids);
            let sql = format!("SELECT id, name FROM organizations WHERE id IN ({list})");
            on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?
        };
        Ok(Self { teams: teams.into_iter().collect(), organizations: organizations.into_iter().collect() })
    }

    /// The names of `ids`, in order (`team N` for one that is gone).
    pub fn teams_named(&self, ids: &[i64]) -> Vec<String> {
        ids.iter().map(|id| self.teams.get(id).cloned().unwrap_or_else(|| format!("team {id}"))).collect()
    }

    /// The names of `ids`, in order (`#N` for one that is gone).
    pub fn organizations_named(&self, ids: &[i64]) -> Vec<String> {
        ids.iter()
            .map(|id| self.organizations.get(id).cloned().unwrap_or_else(|| format!("#{id}")))
            .collect()
    }
}

fn json_column<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::internal_from("stored SLA settings are unreadable", e))
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Which tickets a policy covers, in words.
pub fn describe_conditions(conditions: &Conditions, names: &ConditionNames) -> String {
    conditions.describe(names)
}

/// Every calendar, by name.
pub async fn list_calendars(ctx: &AppContext, actor: &Agent) -> Result<Vec<CalendarDef>> {
    authorize(actor, false)?;
    load_calendars(ctx.db()).await
}

async fn load_calendars(db: &Db) -> Result<Vec<CalendarDef>> {
    let rows: Vec<(i64, String, String, String, String)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, name, time_zone, hours, holidays FROM sla_calendars ORDER BY name"
    )
    .fetch_all(pool)
    .await)?;
    rows.into_iter()
        .map(|(id, name, time_zone, hours, holidays)| {
            Ok(CalendarDef {
                id,
                name,
                time_zone,
                hours: json_column(&hours)?,
                holidays: json_column(&holidays)?,
            })
        })
        .collect()
}

/// Creates (`def.id == 0`) or replaces a calendar (admins only); every unfinished ticket is then
/// re-evaluated.
pub async fn save_calendar(
    ctx: &AppContext,
    actor: &Agent,
    def: &CalendarDef,
) -> Result<CalendarDef> {
    authorize(actor, true)?;
    let name = def.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(Error::invalid("name", "Give the calendar a name of up to 80 characters."));
    }
    def.calendar().map_err(|e| match e {
        CalendarError::UnknownZone(_) => Error::invalid("time_zone", e.to_string()),
        CalendarError::BadInterval(_) => Error::invalid("hours", e.to_string()),
        CalendarError::BadHoliday(_) => Error::invalid("holidays", e.to_string()),
    })?;
    let now = Timestamp::now();
    let saved: Result<i64> = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        // A new calendar is inserted with its name, then filled in like an existing one.
        let id = match def.id {
            0 => sqlx::query_scalar(
                "INSERT INTO sla_calendars (name, time_zone, hours, holidays, created_at, updated_at) VALUES ($1, 'UTC', '[]', '[]', $2, $2) RETURNING id",
            )
            .bind(name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?,
            id => id,
        };
        let updated = sqlx::query("UPDATE sla_calendars SET name = $2, time_zone = $3, hours = $4, holidays = $5, updated_at = $6 WHERE id = $1")
            .bind(id)
            .bind(name)
            .bind(&def.time_zone)
            .bind(to_json(&def.hours))
            .bind(to_json(&def.holidays))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(Error::NotFound("calendar"));
        }
        mark_unfinished_dirty(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    }
    .await
    });
    let id = saved.map_err(|e| {
        if e.is_unique_violation() {
            Error::invalid("name", "A calendar with this name already exists.")
        } else {
            e
        }
    })?;
    Ok(CalendarDef { id, name: name.to_owned(), ..def.clone() })
}

/// Every policy, in order.
pub async fn list_policies(ctx: &AppContext, actor: &Agent) -> Result<Vec<PolicyDef>> {
    authorize(actor, false)?;
    load_policies(ctx.db()).await
}

type PolicyRow = (i64, String, i64, Option<i64>, String, String, String, i64, String);

async fn load_policies(db: &Db) -> Result<Vec<PolicyDef>> {
    let rows: Vec<PolicyRow> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT id, name, position, calendar_id, conditions, targets, pause_statuses, warn_percent, breach_actions
         FROM sla_policies ORDER BY position, id"
    )
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter()
        .map(|(id, name, position, calendar_id, conditions, targets, pauses, warn, actions)| {
            Ok(PolicyDef {
                id,
                name,
                position,
                calendar_id,
                conditions: json_column(&conditions)?,
                targets: json_column(&targets)?,
                pause_statuses: json_column(&pauses)?,
                warn_percent: u8::try_from(warn).unwrap_or(0),
                breach_actions: json_column(&actions)?,
            })
        })
        .collect()
}

/// Creates (`def.id == 0`, placed last) or replaces a policy (admins only); every unfinished
/// ticket is then re-evaluated.
pub async fn save_policy(ctx: &AppContext, actor: &Agent, def: &PolicyDef) -> Result<PolicyDef> {
    authorize(actor, true)?;
    let name = def.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(Error::invalid("name", "Give the policy a name of up to 80 characters."));
    }
    if def.warn_percent >= 100 {
        return Err(Error::invalid(
            "warn_percent",
            "Warn before the target: use a share below 100%.",
        ));
    }
    if def.targets.iter().flat_map(|t| Metric::ALL.map(|m| t.of(m))).flatten().any(|ms| ms <= 0) {
        return Err(Error::invalid("targets", "Targets must be longer than zero."));
    }
    if def.pause_statuses.iter().any(|s| matches!(s, Status::Solved | Status::Closed)) {
        return Err(Error::invalid(
            "pause_statuses",
            "Solved and closed stop the clocks; they cannot pause them.",
        ));
    }
    if let Some(calendar) = def.calendar_id
        && !load_calendars(ctx.db()).await?.iter().any(|c| c.id == calendar)
    {
        return Err(Error::invalid("calendar_id", "There is no such calendar."));
    }
    let now = Timestamp::now();
    let saved: Result<(i64, i64)> = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        // A new policy is inserted last with its name, then filled in like an existing one.
        let (id, position) = if def.id == 0 {
            let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM sla_policies").fetch_one(&mut *tx).await?;
            let position = last.unwrap_or(0) + 1;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sla_policies (name, position, conditions, targets, pause_statuses, warn_percent, breach_actions, created_at, updated_at)
                 VALUES ($1, $2, '{}', '[]', '[]', 0, '{}', $3, $3) RETURNING id",
            )
            .bind(name)
            .bind(position)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            (id, position)
        } else {
            (def.id, def.position)
        };
        let updated = sqlx::query(
            "UPDATE sla_policies SET name = $2, position = $3, calendar_id = $4, conditions = $5, targets = $6, pause_statuses = $7,
                warn_percent = $8, breach_actions = $9, updated_at = $10 WHERE id = $1",
        )
        .bind(id)
        .bind(name)
        .bind(position)
        .bind(def.calendar_id)
        .bind(to_json(&def.conditions))
        .bind(to_json(&def.targets))
        .bind(to_json(&def.pause_statuses))
        .bind(i64::from(def.warn_percent))
        .bind(to_json(&def.breach_actions))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(Error::NotFound("policy"));
        }
        mark_unfinished_dirty(&mut *tx).await?;
        tx.commit().await?;
        Ok((id, position))
    }
    .await
    });
    let (id, position) = saved.map_err(|e| {
        if e.is_unique_violation() {
            Error::invalid("name", "A policy with this name already exists.")
        } else {
            e
        }
    })?;
    Ok(PolicyDef { id, position, name: name.to_owned(), ..def.clone() })
}

/// Moves a policy one place earlier (`up`) or later in the order (admins only); every unfinished
/// ticket is then re-evaluated. Moving the first one up or the last one down changes nothing.
pub async fn move_policy(ctx: &AppContext, actor: &Agent, id: i64, up: bool) -> Result<()> {
    authorize(actor, true)?;
    let policies = load_policies(ctx.db()).await?;
    let index = policies.iter().position(|p| p.id == id).ok_or(Error::NotFound("policy"))?;
    let Some(other) =
        (if up { index.checked_sub(1) } else { Some(index + 1) }).and_then(|i| policies.get(i))
    else {
        return Ok(());
    };
    // Positions are renumbered 1.. in the current order with the two swapped, so ties left by
    // older data cannot keep them in place.
    let mut order: Vec<i64> = policies.iter().map(|p| p.id).collect();
    order.swap(index, policies.iter().position(|p| p.id == other.id).unwrap_or(index));
    on_pool!(ctx.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        for (position, id) in order.iter().enumerate() {
            sqlx::query("UPDATE sla_policies SET position = $2 WHERE id = $1")
                .bind(*id)
                .bind(position as i64 + 1)
                .execute(&mut *tx)
                .await?;
        }
        mark_unfinished_dirty(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await)
}

/// Deletes a policy (admins only); the tickets it covered fall to the next matching policy.
pub async fn delete_policy(ctx: &AppContext, actor: &Agent, id: i64) -> Result<()> {
    authorize(actor, true)?;
    on_pool!(ctx.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM sla_policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::NotFound("policy"));
        }
        mark_unfinished_dirty(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
    .await)
}

/// Marks every ticket that has not finished for re-evaluation.
async fn mark_unfinished_dirty<'c, C, DB>(conn: &'c mut C) -> sqlx::Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut C: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    sqlx::query(
        "INSERT INTO sla_dirty (ticket_id, seq) SELECT id, last_seq FROM tickets WHERE status NOT IN ('solved', 'closed') OR sla_due_at IS NOT NULL
         ON CONFLICT (ticket_id) DO UPDATE SET seq = excluded.seq",
    )
    .execute(&mut *conn)
    .await
    .map(drop)
}

/// A ticket's SLA as the agent sees it: the policy, why it applies, and the clocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSla {
    /// The policy that applies, if any.
    pub policy: Option<String>,
    /// Why it applies.
    pub reason: String,
    /// The calendar's time zone (times on the timeline read in it).
    pub time_zone: String,
    /// The clocks now.
    pub clocks: Vec<clock::Clock>,
    /// What happened to them.
    pub timeline: Vec<clock::TimelineStep>,
}

/// The policies and calendars, loaded once per batch of evaluations.
struct SlaConfig {
    policies: Vec<PolicyDef>,
    calendars: Vec<CalendarDef>,
}

impl SlaConfig {
    async fn load(db: &Db) -> Result<Self> {
        Ok(Self { policies: load_policies(db).await?, calendars: load_calendars(db).await? })
    }

    /// The calendar a policy counts in, and its time zone (24/7 in UTC without one).
    fn calendar_for(&self, policy: &PolicyDef) -> Result<(Calendar, String)> {
        match policy.calendar_id {
            None => Ok((Calendar::always(), "UTC".to_owned())),
            Some(id) => {
                let def = self
                    .calendars
                    .iter()
                    .find(|c| c.id == id)
                    .ok_or(Error::NotFound("calendar"))?;
                Ok((
                    def.calendar().map_err(|e| Error::internal(e.to_string()))?,
                    def.time_zone.clone(),
                ))
            }
        }
    }
}

/// Everything needed to evaluate one ticket.
struct Evaluated {
    facts: TicketFacts,
    policy: Option<PolicyDef>,
    time_zone: String,
    evaluation: Evaluation,
}

/// One stored ticket event, as the SLA engine reads it.
type EventRow = (i64, i64, String, Option<i64>, String, Timestamp);

/// Evaluates tickets (ids that no longer exist are skipped) with one read each of their facts,
/// their tags and the histories of those a policy covers, however many there are.
async fn evaluate_batch(
    db: &Db,
    config: &SlaConfig,
    ids: &[i64],
    now: i64,
) -> Result<Vec<Evaluated>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (params, list) = id_list(db, ids);
    let sql = format!(
        "SELECT t.id, t.priority, t.channel, t.team_id, c.organization_id, t.last_seq
         FROM tickets t JOIN contacts c ON c.id = t.requester_id WHERE t.id IN ({list}) ORDER BY t.id"
    );
    let facts: Vec<TicketFacts> =
        on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
    let (params, list) = id_list(db, ids);
    let sql = format!("SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN ({list})");
    let tag_rows: Vec<(i64, String)> =
        on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, tag) in tag_rows {
        tags.entry(id).or_default().push(tag);
    }
    let matched: Vec<(TicketFacts, Option<&PolicyDef>)> = facts
        .into_iter()
        .map(|f| {
            let policy = config
                .policies
                .iter()
                .find(|p| p.conditions.matches(&f, tags.get(&f.id).map_or(&[], Vec::as_slice)));
            (f, policy)
        })
        .collect();
    let covered: Vec<i64> =
        matched.iter().filter(|(_, p)| p.is_some()).map(|(f, _)| f.id).collect();
    let mut histories: HashMap<i64, Vec<EventRow>> = HashMap::new();
    if !covered.is_empty() {
        let (params, list) = id_list(db, &covered);
        let sql = format!(
            "SELECT ticket_id, seq, kind, actor_agent_id, detail, created_at FROM ticket_events WHERE ticket_id IN ({list}) ORDER BY ticket_id, seq"
        );
        let rows: Vec<EventRow> =
            on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
        for row in rows {
            histories.entry(row.0).or_default().push(row);
        }
    }
    matched
        .into_iter()
        .map(|(facts, policy)| {
            let Some(policy) = policy.cloned() else {
                return Ok(Evaluated {
                    facts,
                    policy: None,
                    time_zone: "UTC".into(),
                    evaluation: Evaluation::default(),
                });
            };
            let (calendar, time_zone) = config.calendar_for(&policy)?;
            let history = happenings(&facts, histories.remove(&facts.id).unwrap_or_default());
            let rules = ClockRules {
                targets: policy.targets,
                pause_statuses: policy.pause_statuses.clone(),
                warn_percent: policy.warn_percent,
            };
            let evaluation = clock::evaluate(&rules, &calendar, &history, now);
            Ok(Evaluated { facts, policy: Some(policy), time_zone, evaluation })
        })
        .collect()
}

async fn evaluate_ticket(
    db: &Db,
    config: &SlaConfig,
    ticket_id: i64,
    now: i64,
) -> Result<Evaluated> {
    evaluate_batch(db, config, &[ticket_id], now).await?.pop().ok_or(Error::NotFound("ticket"))
}

/// The ticket's history (up to the event its facts were read at) as the SLA engine reads it.
fn happenings(facts: &TicketFacts, events: Vec<EventRow>) -> Vec<Happening> {
    let mut history = Vec::with_capacity(events.len());
    let mut created_at = None;
    for (_, _, kind, agent, detail, at) in events.into_iter().filter(|e| e.1 <= facts.last_seq) {
        let at = at.unix_millis();
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
        match kind.as_str() {
            "created" => {
                created_at = Some(at);
                let priority = detail["priority"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(facts.priority);
                history.push(Happening::Created { at, status: Status::New, priority });
            }
            // The request itself, written when the ticket was opened, is not an answer to it.
            "reply_added" if agent.is_some() && created_at != Some(at) => {
                history.push(Happening::AgentReply { at })
            }
            "reply_added" => history.push(Happening::CustomerMessage { at }),
            "status_changed" => {
                if let Some(to) = detail["to"].as_str().and_then(|v| v.parse().ok()) {
                    history.push(Happening::StatusChanged { at, to });
                }
            }
            "priority_changed" => {
                if let Some(to) = detail["to"].as_str().and_then(|v| v.parse().ok()) {
                    history.push(Happening::PriorityChanged { at, to });
                }
            }
            _ => {}
        }
    }
    history
}

/// A ticket's SLA, for its page.
pub async fn for_ticket(ctx: &AppContext, actor: &Agent, number: i64) -> Result<TicketSla> {
    authorize(actor, false)?;
    let id: i64 =
        on_pool!(ctx.db(), |pool| sqlx::query_scalar("SELECT id FROM tickets WHERE number = $1")
            .bind(number)
            .fetch_optional(pool)
            .await)?
        .ok_or(Error::NotFound("ticket"))?;
    let config = SlaConfig::load(ctx.db()).await?;
    let e = evaluate_ticket(ctx.db(), &config, id, Timestamp::now().unix_millis()).await?;
    let names = match &e.policy {
        Some(policy) => ConditionNames::of(ctx.db(), std::slice::from_ref(policy)).await?,
        None => ConditionNames::default(),
    };
    Ok(TicketSla {
        reason: e.policy.as_ref().map_or_else(
            || "No policy matches this ticket.".to_owned(),
            |p| format!("First matching policy: {}.", p.conditions.describe(&names)),
        ),
        policy: e.policy.map(|p| p.name),
        time_zone: e.time_zone,
        clocks: e.evaluation.clocks,
        timeline: e.evaluation.timeline,
    })
}

/// Re-evaluates one ticket and stores its due time and alarms; clears its mark up to the event
/// evaluated.
pub async fn recompute(ctx: &AppContext, ticket_id: i64) -> Result<()> {
    let config = SlaConfig::load(ctx.db()).await?;
    let evaluated =
        evaluate_batch(ctx.db(), &config, &[ticket_id], Timestamp::now().unix_millis()).await?;
    store(ctx.db(), &evaluated, Timestamp::now()).await
}

/// Re-evaluates up to `limit` marked tickets, lowest id first, and stores them in one
/// transaction; returns how many.
pub async fn drain(ctx: &AppContext, limit: i64) -> Result<usize> {
    let ids: Vec<i64> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "SELECT ticket_id FROM sla_dirty ORDER BY ticket_id LIMIT $1"
    )
    .bind(limit)
    .fetch_all(pool)
    .await)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let config = SlaConfig::load(ctx.db()).await?;
    let now = Timestamp::now();
    let evaluated = evaluate_batch(ctx.db(), &config, &ids, now.unix_millis()).await?;
    store(ctx.db(), &evaluated, now).await?;
    // Marks of tickets deleted meanwhile go with their rows (ON DELETE CASCADE).
    Ok(ids.len())
}

/// The alarms a clock sets: a warning and a breach while it runs, the breach once it breached.
fn alarms(clock: &clock::Clock) -> Vec<(&'static str, i64)> {
    match clock.status {
        ClockStatus::Running => {
            [clock.warn_at.map(|at| ("warning", at)), clock.due_at.map(|at| ("breach", at))]
                .into_iter()
                .flatten()
                .collect()
        }
        ClockStatus::Breached => clock.breached_at.map(|at| ("breach", at)).into_iter().collect(),
        ClockStatus::Paused | ClockStatus::Met => Vec::new(),
    }
}

/// `CASE ticket_id WHEN .. THEN .. END` over the evaluated tickets.
fn case_by_ticket(
    params: &mut Params,
    column: &str,
    evaluated: &[Evaluated],
    value: impl Fn(&Evaluated) -> Param,
) -> String {
    let arms: String = evaluated
        .iter()
        .map(|e| format!(" WHEN {} THEN {}", params.int(e.facts.id), params.push(value(e))))
        .collect();
    format!("CASE {column}{arms} END")
}

/// The statements that store evaluated tickets: due times, policies, clock runs and alarms
/// (fired alarms stay fired, so re-evaluating never fires one twice), and clearing each mark up
/// to the event evaluated.
fn store_statements(db: &Db, evaluated: &[Evaluated], now: Timestamp) -> Vec<(String, Params)> {
    let mut statements = Vec::new();
    for chunk in evaluated.chunks(200) {
        let ids: Vec<i64> = chunk.iter().map(|e| e.facts.id).collect();
        let mut params = Params::in_order(db);
        let due =
            case_by_ticket(&mut params, "id", chunk, |e| Param::OptInt(e.evaluation.next_due()));
        let list = ids.iter().map(|id| params.int(*id)).collect::<Vec<_>>().join(", ");
        statements
            .push((format!("UPDATE tickets SET sla_due_at = {due} WHERE id IN ({list})"), params));
        let (params, list) = id_list(db, &ids);
        statements
            .push((format!("DELETE FROM ticket_sla_clocks WHERE ticket_id IN ({list})"), params));
        // Unfired alarms are set again below, except a warning already due whose clock still
        // runs or breached: it fires late, or is recorded as skipped when its breach is due too
        // ([`fire`]), just as when frontdesk was stopped with the ticket untouched.
        let mut params = Params::in_order(db);
        let list = ids.iter().map(|id| params.int(*id)).collect::<Vec<_>>().join(", ");
        let now_param = params.int(now.unix_millis());
        let counting: Vec<String> = chunk
            .iter()
            .flat_map(|e| {
                let warns = e.policy.as_ref().is_some_and(|p| p.warn_percent > 0);
                // Breached, or still running past its warning point (a warning point still ahead
                // is set again below, at its new time).
                let late = move |c: &&clock::Clock| {
                    warns
                        && (c.status == ClockStatus::Breached
                            || (c.status == ClockStatus::Running && c.warn_at.is_none()))
                };
                e.evaluation.clocks.iter().filter(late).map(move |c| (e.facts.id, c))
            })
            .map(|(id, c)| {
                let (id, metric, started) = (
                    params.int(id),
                    params.push(Param::Text(c.metric.as_str().to_owned())),
                    params.int(c.started_at),
                );
                format!("(ticket_id = {id} AND metric = {metric} AND started_at = {started})")
            })
            .collect();
        let keep = if counting.is_empty() {
            String::new()
        } else {
            format!(
                " AND NOT (kind = 'warning' AND due_at <= {now_param} AND ({}))",
                counting.join(" OR ")
            )
        };
        statements.push((
            format!(
                "DELETE FROM sla_alarms WHERE ticket_id IN ({list}) AND fired_at IS NULL{keep}"
            ),
            params,
        ));
        let policies = chunk.iter().map(|e| {
            vec![
                Param::Int(e.facts.id),
                Param::OptInt(e.policy.as_ref().map(|p| p.id)),
                Param::Int(e.facts.last_seq),
                Param::Int(now.unix_millis()),
            ]
        });
        statements.extend(multi_row(
            db,
            "INSERT INTO ticket_slas (ticket_id, policy_id, evaluated_seq, evaluated_at) VALUES",
            "ON CONFLICT (ticket_id) DO UPDATE SET policy_id = excluded.policy_id, evaluated_seq = excluded.evaluated_seq, evaluated_at = excluded.evaluated_at",
            policies,
        ));
        let runs = chunk.iter().flat_map(|e| {
            e.evaluation.runs.iter().map(|c| {
                vec![
                    Param::Int(e.facts.id),
                    Param::Text(c.metric.as_str().to_owned()),
                    Param::Int(c.started_at),
                    Param::OptInt(e.policy.as_ref().map(|p| p.id)),
                    Param::Text(c.status.as_str().to_owned()),
                    Param::Int(c.target),
                    Param::Int(c.counted),
                    Param::OptInt(c.breached_at),
                    Param::OptInt(c.stopped_at),
                ]
            })
        });
        statements.extend(multi_row(
            db,
            "INSERT INTO ticket_sla_clocks (ticket_id, metric, started_at, policy_id, status, target, counted, breached_at, stopped_at) VALUES",
            "",
            runs,
        ));
        let set = chunk.iter().flat_map(|e| {
            e.evaluation.clocks.iter().flat_map(|c| {
                alarms(c).into_iter().map(|(kind, at)| {
                    vec![
                        Param::Int(e.facts.id),
                        Param::Text(c.metric.as_str().to_owned()),
                        Param::Int(c.started_at),
                        Param::Text(kind.to_owned()),
                        Param::Int(at),
                    ]
                })
            })
        });
        statements.extend(multi_row(
            db,
            "INSERT INTO sla_alarms (ticket_id, metric, started_at, kind, due_at) VALUES",
            "ON CONFLICT (ticket_id, metric, started_at, kind) DO NOTHING",
            set,
        ));
        let mut params = Params::in_order(db);
        let list = ids.iter().map(|id| params.int(*id)).collect::<Vec<_>>().join(", ");
        let seq = case_by_ticket(&mut params, "ticket_id", chunk, |e| Param::Int(e.facts.last_seq));
        statements.push((
            format!("DELETE FROM sla_dirty WHERE ticket_id IN ({list}) AND seq <= {seq}"),
            params,
        ));
    }
    statements
}

/// Stores evaluated tickets in one transaction.
async fn store(db: &Db, evaluated: &[Evaluated], now: Timestamp) -> Result<()> {
    let statements = store_statements(db, evaluated, now);
    on_pool!(db, |pool| async {
        let mut tx = pool.begin_write().await?;
        for (sql, params) in &statements {
            bind_params!(sqlx::query(sql), params).execute(&mut *tx).await?;
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}

/// Fires up to `limit` alarms due at `now`, oldest first; returns how many fired.
pub async fn fire_due(ctx: &AppContext, now: Timestamp, limit: i64) -> Result<usize> {
    let due: Vec<(i64, String, i64, String, i64)> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT ticket_id, metric, started_at, kind, due_at FROM sla_alarms WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT $2"
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
    })?;
    let mut fired = 0;
    for (ticket_id, metric, started_at, kind, due_at) in due {
        if fire(ctx, ticket_id, &metric, started_at, &kind, due_at, now).await? {
            fired += 1;
        }
    }
    Ok(fired)
}

async fn fire(
    ctx: &AppContext,
    ticket_id: i64,
    metric: &str,
    started_at: i64,
    kind: &str,
    due_at: i64,
    now: Timestamp,
) -> Result<bool> {
    let actions = match ticket_policy_actions(ctx.db(), ticket_id).await? {
        Some(actions) if kind == "breach" => actions,
        _ => BreachActions::default(),
    };
    let changed: Option<(i64, i64, Vec<i64>)> = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE sla_alarms SET fired_at = $5 WHERE ticket_id = $1 AND metric = $2 AND started_at = $3 AND kind = $4 AND fired_at IS NULL",
        )
        .bind(ticket_id)
        .bind(metric)
        .bind(started_at)
        .bind(kind)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        // One rule for warnings that fall due late (frontdesk was stopped, or the ticket was
        // re-evaluated after its breach): when the clock's breach is due too, the warning is not
        // sent but recorded as skipped, since the breach came first.
        if kind == "warning" {
            let breach_due: Option<i64> = sqlx::query_scalar(
                "SELECT due_at FROM sla_alarms WHERE ticket_id = $1 AND metric = $2 AND started_at = $3 AND kind = 'breach'",
            )
            .bind(ticket_id)
            .bind(metric)
            .bind(started_at)
            .fetch_optional(&mut *tx)
            .await?;
            if breach_due.is_some_and(|breach| breach <= now.unix_millis()) {
                let detail = json!({ "metric": metric, "due_at": due_at, "reason": "breach_came_first" });
                let seq = tickets::append_event(&mut *tx, ticket_id, Author::System, "sla_warning_skipped", detail, true, now).await?;
                let number: i64 = sqlx::query_scalar("SELECT number FROM tickets WHERE id = $1").bind(ticket_id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                return Ok(Some((number, seq, Vec::new())));
            }
        }
        let event = if kind == "breach" { "sla_breached" } else { "sla_warning" };
        let mut seq = tickets::append_event(&mut *tx, ticket_id, Author::System, event, json!({ "metric": metric, "due_at": due_at }), true, now).await?;
        let (number, priority, subject): (i64, String, String) =
            sqlx::query_as("SELECT number, priority, subject FROM tickets WHERE id = $1").bind(ticket_id).fetch_one(&mut *tx).await?;
        if actions.raise_priority {
            let from: Priority = priority.parse().unwrap_or(Priority::Normal);
            let to = match from {
                Priority::Low => Priority::Normal,
                Priority::Normal => Priority::High,
                Priority::High | Priority::Urgent => Priority::Urgent,
            };
            if to != from {
                sqlx::query("UPDATE tickets SET priority = $2, version = version + 1 WHERE id = $1").bind(ticket_id).bind(to.as_str()).execute(&mut *tx).await?;
                seq = tickets::append_event(&mut *tx, ticket_id, Author::System, "priority_changed", json!({ "from": from, "to": to }), false, now).await?;
            }
        }
        if let Some(team) = actions.team_id {
            let before: Option<(i64, String)> = sqlx::query_as(
                "SELECT g.id, g.name FROM tickets t JOIN teams g ON g.id = t.team_id WHERE t.id = $1",
            )
            .bind(ticket_id)
            .fetch_optional(&mut *tx)
            .await?;
            let moved = sqlx::query("UPDATE tickets SET team_id = $2, version = version + 1 WHERE id = $1 AND (team_id IS NULL OR team_id <> $2)")
                .bind(ticket_id)
                .bind(team)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if moved == 1 {
                // The same shape as an agent's move: `from` the team it left (or null), `to` its id.
                let from = before.map(|(id, name)| crate::agents::PersonRef { id, name });
                seq = tickets::append_event(&mut *tx, ticket_id, Author::System, "team_changed", json!({ "from": from, "to": team }), false, now).await?;
            }
        }
        let label = Metric::from_name(metric).map_or_else(|| metric.to_owned(), |m| m.label().to_owned());
        let what = if kind == "breach" { "breached" } else { "is about to breach" };
        let text = format!("{label} {what} on #{number} {subject}");
        let notified: Vec<i64> =
            sqlx::query_scalar(NOTIFY_TICKET_PEOPLE).bind(ticket_id).bind(event).bind(&text).bind(now).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, Error>(Some((number, seq, notified)))
    }
    .await
    })?;
    let Some((number, seq, notified)) = changed else { return Ok(false) };
    Hub::of(ctx).ticket_changed(number, seq);
    for agent in notified {
        Hub::of(ctx).notified(agent);
    }
    Ok(true)
}

async fn ticket_policy_actions(db: &Db, ticket_id: i64) -> Result<Option<BreachActions>> {
    let actions: Option<String> = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT p.breach_actions FROM ticket_slas s JOIN sla_policies p ON p.id = s.policy_id WHERE s.ticket_id = $1"
    )
    .bind(ticket_id)
    .fetch_optional(pool)
    .await
    })?;
    actions.map(|a| json_column(&a)).transpose()
}

/// One pass of the SLA worker: re-evaluate changed tickets, then fire due alarms. Returns how
/// much it did, so the caller can sleep when it did nothing.
pub async fn work(ctx: &AppContext) -> Result<usize> {
    let evaluated = drain(ctx, 200).await?;
    let fired = fire_due(ctx, Timestamp::now(), 200).await?;
    Ok(evaluated + fired)
}

/// `Targets` in whole minutes, as forms and the seed give them.
pub fn minutes(
    first_response: Option<i64>,
    next_response: Option<i64>,
    resolution: Option<i64>,
) -> Targets {
    let ms = |m: Option<i64>| m.map(|m| m * 60_000);
    Targets {
        first_response: ms(first_response),
        next_response: ms(next_response),
        resolution: ms(resolution),
    }
}

/// An instant as wall-clock time in an IANA zone: `2026-11-23 14:05 CET`.
pub fn local_time(zone: &str, ms: i64) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms).map_or_else(
        |_| ms.to_string(),
        |t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string(),
    )
}

/// When a ticket created now with `priority` would come due under policy `policy_id`, per metric
/// that has a target, with the time zone those times read in: the admin page's preview.
pub async fn preview(
    ctx: &AppContext,
    actor: &Agent,
    policy_id: i64,
    priority: Priority,
) -> Result<(String, Vec<(Metric, i64)>)> {
    authorize(actor, false)?;
    let config = SlaConfig::load(ctx.db()).await?;
    let policy =
        config.policies.iter().find(|p| p.id == policy_id).ok_or(Error::NotFound("policy"))?;
    let (calendar, zone) = config.calendar_for(policy)?;
    let now = Timestamp::now().unix_millis();
    let targets = policy.targets[Priority::ALL.iter().position(|p| *p == priority).unwrap_or(1)];
    Ok((
        zone,
        Metric::ALL
            .iter()
            .filter_map(|m| targets.of(*m).and_then(|t| calendar.add(now, t)).map(|due| (*m, due)))
            .collect(),
    ))
}

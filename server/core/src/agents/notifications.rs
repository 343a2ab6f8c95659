//! Agents' notifications: what a ticket's people should know now (SLA warnings and breaches go
//! to the assignee and every member of the ticket's team). Each is stored first, in the
//! transaction of what caused it, and numbered by id; the live socket sends an agent those after
//! the last id it has, so a tab that was closed catches up. Every query here is scoped to the
//! acting agent: nobody reads or marks another agent's notifications.

use crate::agents::Agent;
use crate::platform::context::AppContext;
use crate::platform::db::on_pool;
use crate::error::{Error, Result};
use crate::agents::Notification;
use crate::platform::time::Timestamp;

/// The most notifications one read returns.
pub const PAGE: i64 = 100;

type Row = (i64, i64, String, String, Timestamp, Option<Timestamp>);

fn notification((id, ticket_number, kind, body, created_at, read_at): Row) -> Notification {
    Notification { id, ticket_number, kind, body, created_at, read: read_at.is_some() }
}

const COLUMNS: &str = "n.id, t.number, n.kind, n.body, n.created_at, n.read_at FROM notifications n JOIN tickets t ON t.id = n.ticket_id";

fn authorize(actor: &Agent) -> Result<()> {
    if actor.active { Ok(()) } else { Err(Error::Unauthenticated) }
}

/// The actor's notifications after id `after_id`, oldest first (at most [`PAGE`]); with
/// `after_id` 0, the unread ones. What the live socket sends.
pub async fn since(ctx: &AppContext, actor: &Agent, after_id: i64) -> Result<Vec<Notification>> {
    authorize(actor)?;
    let unread = if after_id == 0 { " AND n.read_at IS NULL" } else { "" };
    let sql = format!(
        "SELECT {COLUMNS} WHERE n.agent_id = $1 AND n.id > $2{unread} ORDER BY n.id LIMIT $3"
    );
    let rows: Vec<Row> = on_pool!(ctx.db(), |pool| sqlx::query_as(&sql)
        .bind(actor.id)
        .bind(after_id)
        .bind(PAGE)
        .fetch_all(pool)
        .await)?;
    Ok(rows.into_iter().map(notification).collect())
}

/// The actor's latest notifications, newest first, and how many are unread.
pub async fn recent(ctx: &AppContext, actor: &Agent) -> Result<(Vec<Notification>, i64)> {
    authorize(actor)?;
    let sql = format!("SELECT {COLUMNS} WHERE n.agent_id = $1 ORDER BY n.id DESC LIMIT $2");
    let rows: Vec<Row> = on_pool!(ctx.db(), |pool| sqlx::query_as(&sql)
        .bind(actor.id)
        .bind(PAGE)
        .fetch_all(pool)
        .await)?;
    Ok((rows.into_iter().map(notification).collect(), unread_count(ctx, actor).await?))
}

/// How many of the actor's notifications are unread.
pub async fn unread_count(ctx: &AppContext, actor: &Agent) -> Result<i64> {
    authorize(actor)?;
    Ok(on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE agent_id = $1 AND read_at IS NULL"
    )
    .bind(actor.id)
    .fetch_one(pool)
    .await)?)
}

/// Marks the actor's notifications up to id `up_to` read; returns how many changed.
pub async fn mark_read(ctx: &AppContext, actor: &Agent, up_to: i64) -> Result<u64> {
    authorize(actor)?;
    let changed = on_pool!(ctx.db(), |pool| {
        sqlx::query(
        "UPDATE notifications SET read_at = $3 WHERE agent_id = $1 AND id <= $2 AND read_at IS NULL"
    )
    .bind(actor.id)
    .bind(up_to)
    .bind(Timestamp::now())
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(changed)
}

/// Notifies a ticket's people, run in the transaction of what caused it: binds the ticket id,
/// the kind, the body and the time; writes one notification for its assignee and one for each
/// member of its team (active agents only, each once) and returns their agent ids, for the live
/// announcement after commit.
pub(crate) const NOTIFY_TICKET_PEOPLE: &str = "INSERT INTO notifications (agent_id, ticket_id, kind, body, created_at)
     SELECT a.id, t.id, $2, $3, $4 FROM tickets t JOIN agents a ON a.active
       AND (a.id = t.assignee_id OR a.id IN (SELECT m.agent_id FROM team_members m WHERE m.team_id = t.team_id))
     WHERE t.id = $1
     RETURNING agent_id";

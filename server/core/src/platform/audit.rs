//! The audit log: who changed what in the settings, and when. Entries are written in the same
//! transaction as the change they describe, so the log never misses or invents one.

use serde::Serialize;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::platform::time::Timestamp;

/// One change, about to be recorded.
#[derive(Debug, Serialize)]
pub struct AuditEvent<'a> {
    /// The agent who made the change; `None` for the command line and first-run setup.
    pub actor_id: Option<i64>,
    /// What happened, as `resource.verb` (`agent.created`, `agent.role_changed`, ...).
    pub action: &'a str,
    /// The kind of thing changed (`agent`, ...).
    pub subject_type: &'a str,
    /// Its id.
    pub subject_id: i64,
    /// The details worth keeping (old and new values).
    pub detail: serde_json::Value,
}

/// Writes `event` through `conn` (normally the change's own transaction).
pub(crate) async fn record<'c, C, DB>(conn: &'c mut C, event: &AuditEvent<'_>) -> sqlx::Result<()>
where
    DB: Database,
    &'c mut C: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Timestamp: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO audit_events (actor_id, action, subject_type, subject_id, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event.actor_id)
    .bind(event.action.to_owned())
    .bind(event.subject_type.to_owned())
    .bind(event.subject_id)
    .bind(event.detail.to_string())
    .bind(Timestamp::now())
    .execute(conn)
    .await
    .map(drop)
}

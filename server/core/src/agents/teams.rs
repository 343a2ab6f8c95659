//! Teams: admins create them and choose their members; every agent can see them (to route
//! tickets and to open a team's queue). [`authorize`] decides who may change them.

use serde_json::json;
use std::collections::HashMap;

use crate::agents::{Agent, PersonName, Team};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, on_pool};
use crate::error::{Error, Result};
use crate::agents::PersonRef;
use crate::platform::time::Timestamp;

/// Only active admins change teams; every active agent sees them.
pub fn authorize(actor: &Agent, change: bool) -> Result<()> {
    match (actor.active, change) {
        (false, _) => Err(Error::Unauthenticated),
        (true, true) if !actor.is_admin() => Err(Error::Forbidden),
        _ => Ok(()),
    }
}

/// Every team with its members, by name.
pub async fn list(ctx: &AppContext, actor: &Agent) -> Result<Vec<Team>> {
    authorize(actor, false)?;
    let teams: Vec<(i64, String)> =
        on_pool!(ctx.db(), |pool| sqlx::query_as("SELECT id, name FROM teams ORDER BY name")
            .fetch_all(pool)
            .await)?;
    let members: Vec<(i64, i64, String)> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT m.team_id, a.id, a.name FROM team_members m JOIN agents a ON a.id = m.agent_id ORDER BY a.name"
    )
    .fetch_all(pool)
    .await
    })?;
    let mut by_team: HashMap<i64, Vec<PersonRef>> = HashMap::new();
    for (team, id, name) in members {
        by_team.entry(team).or_default().push(PersonRef { id, name });
    }
    Ok(teams
        .into_iter()
        .map(|(id, name)| Team { id, members: by_team.remove(&id).unwrap_or_default(), name })
        .collect())
}

/// Creates a team (admins only).
pub async fn create(ctx: &AppContext, actor: &Agent, name: &PersonName) -> Result<Team> {
    authorize(actor, true)?;
    let now = Timestamp::now();
    let id: Result<i64> = on_pool!(ctx.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        let event = AuditEvent {
            actor_id: Some(actor.id),
            action: "team.created",
            subject_type: "team",
            subject_id: id,
            detail: json!({ "name": name.as_str() }),
        };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(id)
    }
    .await);
    let id = id.map_err(|e| {
        if e.is_unique_violation() {
            Error::invalid("name", "A team with this name already exists.")
        } else {
            e
        }
    })?;
    Ok(Team { id, name: name.as_str().to_owned(), members: Vec::new() })
}

/// Adds or removes an agent (admins only).
pub async fn set_member(
    ctx: &AppContext,
    actor: &Agent,
    team_id: i64,
    agent_id: i64,
    member: bool,
) -> Result<()> {
    authorize(actor, true)?;
    crate::agents::find(ctx.db(), agent_id).await?.ok_or(Error::NotFound("agent"))?;
    on_pool!(ctx.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE id = $1")
            .bind(team_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::NotFound("team"));
        }
        let sql = if member {
            "INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM team_members WHERE team_id = $1 AND agent_id = $2"
        };
        sqlx::query(sql).bind(team_id).bind(agent_id).execute(&mut *tx).await?;
        let action = if member { "team.member_added" } else { "team.member_removed" };
        let event = AuditEvent {
            actor_id: Some(actor.id),
            action,
            subject_type: "team",
            subject_id: team_id,
            detail: json!({ "agent_id": agent_id }),
        };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }
    .await)
}

//! Agent accounts: first-run setup, creating agents, changing roles, deactivating.
//!
//! [`authorize`] is the one place that decides who may do what to agent accounts; every service
//! function here calls it before touching the database, so HTTP handlers, server functions and
//! the CLI cannot forget to.

use crate::agents::hub::Hub;
use serde_json::json;

use crate::agents::{Agent, NewAgent, Role};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, Db, on_pool};
use crate::error::{Error, Result};
use crate::agents::password;
use crate::platform::time::Timestamp;

const AGENT_COLUMNS: &str = "id, email, name, role, active, chat_capacity, created_at";

/// What an actor wants to do with agent accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentAction {
    /// See the list of agents.
    List,
    /// Add an agent.
    Create,
    /// Change an agent's role.
    ChangeRole,
    /// Deactivate or reactivate an agent.
    SetActive,
    /// Set how many chats an agent takes at once (their own too).
    SetChatCapacity,
}

/// Decides whether `actor` may do `action` to `target` (if the action has one).
pub fn authorize(actor: &Agent, action: AgentAction, target: Option<&Agent>) -> Result<()> {
    if !actor.active {
        return Err(Error::Unauthenticated);
    }
    match action {
        AgentAction::List => Ok(()),
        AgentAction::Create
        | AgentAction::ChangeRole
        | AgentAction::SetActive
        | AgentAction::SetChatCapacity
            if !actor.is_admin() =>
        {
            Err(Error::Forbidden)
        }
        AgentAction::ChangeRole | AgentAction::SetActive
            if target.is_some_and(|t| t.id == actor.id) =>
        {
            Err(Error::Conflict("You cannot change your own role or deactivate yourself.".into()))
        }
        AgentAction::Create
        | AgentAction::ChangeRole
        | AgentAction::SetActive
        | AgentAction::SetChatCapacity => Ok(()),
    }
}

/// Whether first-run setup is over (an admin was created by setup or the CLI).
pub async fn is_setup_complete(db: &Db) -> Result<bool> {
    let at: Option<Timestamp> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT setup_completed_at FROM instance WHERE id = 1"
    )
    .fetch_one(pool)
    .await)?;
    Ok(at.is_some())
}

/// Creates the first admin, once. A second attempt, even a concurrent one, fails with
/// [`Error::Conflict`].
pub async fn set_up_first_admin(ctx: &AppContext, new: NewAgent) -> Result<Agent> {
    insert_agent(ctx.db(), None, NewAgent { role: Role::Admin, ..new }, SetupRule::OnlyFirst).await
}

/// Creates an admin from the command line: works before and after setup, and completes setup.
pub async fn create_admin_from_cli(ctx: &AppContext, new: NewAgent) -> Result<Agent> {
    insert_agent(ctx.db(), None, NewAgent { role: Role::Admin, ..new }, SetupRule::Complete).await
}

/// Creates an admin or an agent without an acting admin (seeding demo data). An admin created
/// this way completes first-run setup, as `frontdesk admin create` does.
pub async fn create_unattended(ctx: &AppContext, new: NewAgent) -> Result<Agent> {
    let rule = if new.role == Role::Admin { SetupRule::Complete } else { SetupRule::Ignore };
    insert_agent(ctx.db(), None, new, rule).await
}

/// Every agent, active first, then by name.
pub async fn list(ctx: &AppContext, actor: &Agent) -> Result<Vec<Agent>> {
    authorize(actor, AgentAction::List, None)?;
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY active DESC, name, id");
    Ok(on_pool!(ctx.db(), |pool| sqlx::query_as(&sql).fetch_all(pool).await)?)
}

/// Adds an agent (admins only).
pub async fn create(ctx: &AppContext, actor: &Agent, new: NewAgent) -> Result<Agent> {
    authorize(actor, AgentAction::Create, None)?;
    insert_agent(ctx.db(), Some(actor.id), new, SetupRule::Ignore).await
}

/// Changes an agent's role (admins only, never their own).
pub async fn change_role(
    ctx: &AppContext,
    actor: &Agent,
    agent_id: i64,
    role: Role,
) -> Result<Agent> {
    let target = find(ctx.db(), agent_id).await?.ok_or(Error::NotFound("agent"))?;
    authorize(actor, AgentAction::ChangeRole, Some(&target))?;
    if target.role == role {
        return Ok(target);
    }
    let event = AuditEvent {
        actor_id: Some(actor.id),
        action: "agent.role_changed",
        subject_type: "agent",
        subject_id: agent_id,
        detail: json!({ "from": target.role, "to": role }),
    };
    let changed =
        update_agent(ctx.db(), agent_id, "role = $2", role.as_str().to_owned(), &event).await?;
    Hub::of(ctx).access_changed(agent_id);
    Ok(changed)
}

/// Deactivates or reactivates an agent (admins only, never themselves). Deactivation ends all of
/// the agent's sessions in the same transaction.
pub async fn set_active(
    ctx: &AppContext,
    actor: &Agent,
    agent_id: i64,
    active: bool,
) -> Result<Agent> {
    let target = find(ctx.db(), agent_id).await?.ok_or(Error::NotFound("agent"))?;
    authorize(actor, AgentAction::SetActive, Some(&target))?;
    if target.active == active {
        return Ok(target);
    }
    let event = AuditEvent {
        actor_id: Some(actor.id),
        action: if active { "agent.reactivated" } else { "agent.deactivated" },
        subject_type: "agent",
        subject_id: agent_id,
        detail: json!({}),
    };
    let changed = update_agent(ctx.db(), agent_id, "active = $2", active, &event).await?;
    Hub::of(ctx).access_changed(agent_id);
    Ok(changed)
}

/// One agent by id, whatever its state. Not authorized: for the session check and services.
pub async fn find(db: &Db, agent_id: i64) -> Result<Option<Agent>> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql).bind(agent_id).fetch_optional(pool).await)?)
}

/// An agent and their password hash, by normalised email: for sign-in only.
pub(crate) async fn find_credentials(db: &Db, email: &str) -> Result<Option<(Agent, String)>> {
    #[derive(sqlx::FromRow)]
    struct Credentials {
        #[sqlx(flatten)]
        agent: Agent,
        password_hash: String,
    }
    let sql = format!("SELECT {AGENT_COLUMNS}, password_hash FROM agents WHERE email = $1");
    let found: Option<Credentials> =
        on_pool!(db, |pool| sqlx::query_as(&sql).bind(email).fetch_optional(pool).await)?;
    Ok(found.map(|c| (c.agent, c.password_hash)))
}

/// How creating an agent relates to first-run setup.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetupRule {
    /// Only while setup is not complete; completes it.
    OnlyFirst,
    /// Always; completes setup if it was not.
    Complete,
    /// Always; setup is untouched.
    Ignore,
}

async fn insert_agent(
    db: &Db,
    actor_id: Option<i64>,
    new: NewAgent,
    rule: SetupRule,
) -> Result<Agent> {
    let hash = password::hash(new.password.expose().to_owned()).await?;
    let now = Timestamp::now();
    let insert = format!(
        "INSERT INTO agents (email, name, role, password_hash, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, TRUE, $5, $5)
         RETURNING {AGENT_COLUMNS}"
    );
    let result: Result<Agent> = on_pool!(db, |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        if rule != SetupRule::Ignore {
            let claimed = sqlx::query(
                "UPDATE instance SET setup_completed_at = $1 WHERE id = 1 AND setup_completed_at IS NULL",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 && rule == SetupRule::OnlyFirst {
                return Err(Error::Conflict("frontdesk is already set up: sign in instead.".into()));
            }
        }
        let agent: Agent = sqlx::query_as(&insert)
            .bind(new.email.as_str())
            .bind(new.name.as_str())
            .bind(new.role.as_str())
            .bind(&hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let event = AuditEvent {
            actor_id,
            action: "agent.created",
            subject_type: "agent",
            subject_id: agent.id,
            detail: json!({ "email": agent.email, "role": agent.role }),
        };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(agent)
    }
    .await
    });
    result.map_err(|e| {
        if e.is_unique_violation() {
            Error::invalid("email", "An agent with this email already exists.")
        } else {
            e
        }
    })
}

/// Sets one column of an agent, records the audit event, ends the agent's sessions if they were
/// deactivated, and refuses any change that would leave no active admin.
pub(crate) async fn update_agent<V>(
    db: &Db,
    agent_id: i64,
    assignment: &str,
    value: V,
    event: &AuditEvent<'_>,
) -> Result<Agent>
where
    V: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
        + for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Sqlite>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + Clone,
{
    let update = format!(
        "UPDATE agents SET {assignment}, updated_at = $3 WHERE id = $1 RETURNING {AGENT_COLUMNS}"
    );
    on_pool!(db, |pool| async {
        let mut tx = pool.begin_write().await?;
        let agent: Agent = sqlx::query_as(&update)
            .bind(agent_id)
            .bind(value.clone())
            .bind(Timestamp::now())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound("agent"))?;
        let admins: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND active = TRUE",
        )
        .fetch_one(&mut *tx)
        .await?;
        if admins == 0 {
            return Err(Error::Conflict("frontdesk needs at least one active admin.".into()));
        }
        if !agent.active {
            sqlx::query("DELETE FROM sessions WHERE agent_id = $1")
                .bind(agent_id)
                .execute(&mut *tx)
                .await?;
        }
        audit::record(&mut *tx, event).await?;
        tx.commit().await?;
        Ok(agent)
    }
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: i64, role: Role, active: bool) -> Agent {
        Agent {
            id,
            email: format!("a{id}@example.com"),
            name: format!("A{id}"),
            role,
            active,
            chat_capacity: 3,
            created_at: Timestamp::from_unix_millis(0),
        }
    }

    #[test]
    fn agents_may_list_but_not_manage_agents() {
        let actor = agent(1, Role::Agent, true);
        let other = agent(2, Role::Agent, true);
        assert!(authorize(&actor, AgentAction::List, None).is_ok());
        for action in [AgentAction::Create, AgentAction::ChangeRole, AgentAction::SetActive] {
            assert!(matches!(authorize(&actor, action, Some(&other)), Err(Error::Forbidden)));
        }
    }

    #[test]
    fn admins_manage_others_but_not_themselves() {
        let admin = agent(1, Role::Admin, true);
        let other = agent(2, Role::Agent, true);
        assert!(authorize(&admin, AgentAction::SetActive, Some(&other)).is_ok());
        assert!(matches!(
            authorize(&admin, AgentAction::SetActive, Some(&admin)),
            Err(Error::Conflict(_))
        ));
    }

    #[test]
    fn a_deactivated_admin_may_do_nothing() {
        let admin = agent(1, Role::Admin, false);
        assert!(matches!(authorize(&admin, AgentAction::List, None), Err(Error::Unauthenticated)));
    }
}

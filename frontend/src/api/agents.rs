//! Managing agent accounts (admins), and listing them (everyone signed in).
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::agents::Agent;
use leptos::prelude::*;

use super::ApiError;

/// Every agent.
#[server(prefix = "/api", endpoint = "list_agents")]
pub async fn list_agents() -> Result<Vec<Agent>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::agents::list(&ctx, &actor).await?)
        }
        .await,
    )
}

/// Adds an agent with an initial password (admins only).
#[server(prefix = "/api", endpoint = "create_agent")]
pub async fn create_agent(
    name: String,
    email: String,
    role: String,
    password: String,
) -> Result<Agent, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::agents::{NewAgent, Role};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let role: Role = role.parse().map_err(|e| ApiError::Invalid(vec![e]))?;
            let new = NewAgent::parse(&email, &name, role, &password).map_err(ApiError::Invalid)?;
            Ok(frontdesk_core::agents::create(&ctx, &actor, new).await?)
        }
        .await,
    )
}

/// Changes an agent's role (admins only, not their own).
#[server(prefix = "/api", endpoint = "change_agent_role")]
pub async fn change_agent_role(agent_id: i64, role: String) -> Result<Agent, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let role = role.parse().map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(frontdesk_core::agents::change_role(&ctx, &actor, agent_id, role).await?)
        }
        .await,
    )
}

/// Deactivates (ending their sessions at once) or reactivates an agent (admins only).
#[server(prefix = "/api", endpoint = "set_agent_active")]
pub async fn set_agent_active(agent_id: i64, active: bool) -> Result<Agent, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::agents::set_active(&ctx, &actor, agent_id, active).await?)
        }
        .await,
    )
}

/// Sets how many live chats an agent takes at once (admins only).
#[server(prefix = "/api", endpoint = "set_agent_chat_capacity")]
pub async fn set_agent_chat_capacity(
    agent_id: i64,
    chat_capacity: String,
) -> Result<Agent, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let capacity = chat_capacity.trim().parse::<i64>().map_err(|_| {
                frontdesk_core::error::Error::invalid(
                    "chat_capacity",
                    "Give a whole number of chats.",
                )
            })?;
            Ok(frontdesk_core::chats::set_capacity(&ctx, &actor, agent_id, capacity).await?)
        }
        .await,
    )
}

/// Every team with its members.
#[server(prefix = "/api", endpoint = "list_teams")]
pub async fn list_teams() -> Result<Vec<frontdesk_core::agents::Team>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::agents::teams::list(&ctx, &actor).await?)
        }
        .await,
    )
}

/// Creates a team (admins only).
#[server(prefix = "/api", endpoint = "create_team")]
pub async fn create_team(name: String) -> Result<frontdesk_core::agents::Team, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let name = frontdesk_core::agents::PersonName::parse(&name)
                .map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(frontdesk_core::agents::teams::create(&ctx, &actor, &name).await?)
        }
        .await,
    )
}

/// Adds (`member = true`) or removes an agent from a team (admins only).
#[server(prefix = "/api", endpoint = "set_team_member")]
pub async fn set_team_member(team_id: i64, agent_id: i64, member: bool) -> Result<(), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::agents::teams::set_member(&ctx, &actor, team_id, agent_id, member)
                .await?)
        }
        .await,
    )
}

//! Signing in and out, first-run setup, and who is signed in.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::agents::Agent;
use leptos::prelude::*;

use super::ApiError;

/// Where the agent console starts.
pub const HOME_PATH: &str = "/app";
/// The sign-in page.
pub const SIGN_IN_PATH: &str = "/login";

/// What the pages need to know before rendering: is setup done, and who is signed in.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Viewer {
    /// Whether the first admin exists.
    pub setup_complete: bool,
    /// The signed-in agent, if any.
    pub agent: Option<Agent>,
}

/// Who is looking at the page. Never fails for signed-out visitors: they get `agent: None`.
#[server(prefix = "/api", endpoint = "viewer")]
pub async fn load_viewer() -> Result<Viewer, ApiError> {
    use super::server::{context, respond, signed_in_agent};
    respond(
        async {
            let ctx = context()?;
            let setup_complete = frontdesk_core::agents::is_setup_complete(ctx.db()).await?;
            let agent = match signed_in_agent().await {
                Ok((_, agent)) => Some(agent),
                Err(ApiError::Unauthenticated) => None,
                Err(e) => return Err(e),
            };
            Ok(Viewer { setup_complete, agent })
        }
        .await,
    )
}

/// Signs an agent in with email and password, under a fresh session id.
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), ApiError> {
    use super::server::{client_ip, context, respond, session, start_session};
    respond(
        async {
            let ctx = context()?;
            let agent =
                frontdesk_core::agents::auth::sign_in(&ctx, &email, &password, client_ip().await?)
                    .await?;
            start_session(&session().await?, &agent).await?;
            tracing::info!(agent_id = agent.id, "agent signed in");
            leptos_axum::redirect(HOME_PATH);
            Ok(())
        }
        .await,
    )
}

/// Ends the current session on the server and forgets its cookie.
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ApiError> {
    use super::server::{context, respond, session, session_error};
    respond(
        async {
            let session = session().await?;
            let agent_id: Option<i64> = session
                .get(frontdesk_core::agents::sessions::AGENT_ID_KEY)
                .await
                .map_err(session_error)?;
            session.flush().await.map_err(session_error)?;
            // Every live socket of this session closes now, not at its next handshake.
            if let Some(agent_id) = agent_id {
                frontdesk_core::agents::hub::Hub::of(&context()?).access_changed(agent_id);
            }
            leptos_axum::redirect(SIGN_IN_PATH);
            Ok(())
        }
        .await,
    )
}

/// First-run setup: creates the first admin and signs them in. Works exactly once.
#[server(prefix = "/api", endpoint = "set_up")]
pub async fn set_up(name: String, email: String, password: String) -> Result<(), ApiError> {
    use super::server::{context, respond, session, start_session};
    use frontdesk_core::agents::{NewAgent, Role};
    respond(
        async {
            let ctx = context()?;
            let new = NewAgent::parse(&email, &name, Role::Admin, &password)
                .map_err(ApiError::Invalid)?;
            let admin = frontdesk_core::agents::set_up_first_admin(&ctx, new).await?;
            start_session(&session().await?, &admin).await?;
            tracing::info!(agent_id = admin.id, "first admin created by setup");
            leptos_axum::redirect(HOME_PATH);
            Ok(())
        }
        .await,
    )
}

//! What every server function does on the server: find the context, the session and the
//! signed-in agent, and send errors with the right status code.

use axum::http::{HeaderValue, header};
use frontdesk_core::AppContext;
use frontdesk_core::agents::Agent;
use frontdesk_core::agents::auth;
use frontdesk_core::agents::sessions::{AGENT_ID_KEY, CONTACT_ID_KEY};
use leptos::prelude::*;
use leptos::server_fn::error::FromServerFnError;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use super::ApiError;

/// The application context the server provides to every server function.
pub(crate) fn context() -> Result<AppContext, ApiError> {
    use_context::<AppContext>().ok_or_else(|| {
        tracing::error!("AppContext missing from the Leptos context");
        ApiError::Internal
    })
}

/// The request's session.
pub(crate) async fn session() -> Result<Session, ApiError> {
    leptos_axum::extract::<Session>().await.map_err(ApiError::from_server_fn_error)
}

/// The active agent signed in on `session`, or [`ApiError::Unauthenticated`]; a session whose
/// agent was deactivated is ended here. The one check of who is signed in, for server functions
/// ([`signed_in_agent`]) and the server's own handlers alike, always against current data.
pub async fn agent_of_session(ctx: &AppContext, session: &Session) -> Result<Agent, ApiError> {
    let agent_id: Option<i64> = session.get(AGENT_ID_KEY).await.map_err(session_error)?;
    let Some(agent_id) = agent_id else { return Err(ApiError::Unauthenticated) };
    match auth::session_agent(ctx, agent_id).await {
        Ok(agent) => Ok(agent),
        // Only a session whose agent is gone or deactivated ends; a failed lookup (the database
        // busy for a moment) leaves it alone.
        Err(frontdesk_core::error::Error::Unauthenticated) => {
            session.flush().await.map_err(session_error)?;
            Err(ApiError::Unauthenticated)
        }
        Err(e) => Err(e.into()),
    }
}

/// The signed-in, active agent of this server function's request, with the context.
pub(crate) async fn signed_in_agent() -> Result<(AppContext, Agent), ApiError> {
    let ctx = context()?;
    let agent = agent_of_session(&ctx, &session().await?).await?;
    Ok((ctx, agent))
}

/// The signed-in customer's contact id (portal), or [`ApiError::Unauthenticated`].
pub(crate) async fn signed_in_contact() -> Result<(AppContext, i64), ApiError> {
    let ctx = context()?;
    let contact_id: Option<i64> =
        session().await?.get(CONTACT_ID_KEY).await.map_err(session_error)?;
    contact_id.map(|id| (ctx, id)).ok_or(ApiError::Unauthenticated)
}

/// Starts a customer session for `contact_id` under a new session id.
pub(crate) async fn start_customer_session(
    session: &Session,
    contact_id: i64,
) -> Result<(), ApiError> {
    session.cycle_id().await.map_err(session_error)?;
    session.insert(CONTACT_ID_KEY, contact_id).await.map_err(session_error)
}

/// The client's IP address, for rate limits.
pub(crate) async fn client_ip() -> Result<std::net::IpAddr, ApiError> {
    let axum::extract::ConnectInfo(peer) =
        leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .map_err(ApiError::from_server_fn_error)?;
    Ok(peer.ip())
}

/// Starts a session for `agent` under a new session id (so a planted id is worthless).
pub(crate) async fn start_session(session: &Session, agent: &Agent) -> Result<(), ApiError> {
    session.cycle_id().await.map_err(session_error)?;
    session.insert(AGENT_ID_KEY, agent.id).await.map_err(session_error)
}

/// Logs a session-store failure and hides it from the client.
pub(crate) fn session_error(e: tower_sessions::session::Error) -> ApiError {
    tracing::error!(error = %e, "session store failed");
    ApiError::Internal
}

/// Turns a service result into a server function result, setting the HTTP status (and
/// `Retry-After`) of errors. Plain HTML form posts keep the redirect status Leptos gives them, so
/// the browser goes back to the form, which then shows the error.
pub(crate) fn respond<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    let error: ApiError = match result {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    let from_html_form = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    });
    if !from_html_form && let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(error.status());
        if let Some(secs) = error.retry_after_secs() {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    Err(error)
}

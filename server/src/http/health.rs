//! Probes for orchestrators and load balancers: `/healthz` (the process answers) and `/readyz`
//! (it can serve: the database answers).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use frontdesk_core::AppContext;
use std::time::Duration;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// The probe routes.
pub(super) fn router(ctx: AppContext) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(ctx)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(ctx): State<AppContext>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(READY_TIMEOUT, ctx.db().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database is unreachable")
        }
        Err(_) => {
            tracing::warn!("readiness check: database timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database did not answer in time")
        }
    }
}

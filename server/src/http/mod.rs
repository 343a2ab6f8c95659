//! The HTTP surface, as one table of contents: which routers exist and which layers wrap them.
//!
//! Layers, outermost first: request id (set, then echoed in the response), request tracing, a
//! body size cap, refusal of NUL characters in text ([`input`]), cross-origin refusal for state-changing requests ([`csrf`]), refusal to be
//! framed by other sites (except the chat widget's panel, which names its sites), then sessions for
//! the pages and server functions. Health checks sit outside the session layer: probes should
//! not create sessions.

mod attachments;
mod csp;
mod csrf;
mod health;
mod help;
mod input;
mod live;
mod mail;
mod reports;
mod socket;
mod widget;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, Request};
use frontdesk_core::AppContext;
use frontdesk_frontend::{App, shell};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::sync::OnceLock;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;

/// The pages' routes, listed once per process. Listing runs the app with resource loading
/// suppressed by a process-wide flag, so doing it again while another router in the same process
/// serves (as the test suite does) could leave that router's page loads pending forever.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "frontdesk_session";
/// Sessions end after this long without a request.
const SESSION_IDLE_DAYS: i64 = 7;
/// The largest request body accepted (forms and server-function calls).
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The name the wasm bundle, its JS glue and the stylesheet share under `/pkg`.
const OUTPUT_NAME: &str = "frontdesk";

/// The state of the page router: the services, and Leptos' options for rendering.
#[derive(Clone, FromRef)]
struct AppState {
    ctx: AppContext,
    leptos: LeptosOptions,
}

/// Builds the whole router.
pub(crate) fn router(ctx: AppContext, config: &Config) -> Router {
    let leptos = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_dir.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .build();
    let sessions = SessionManagerLayer::new(
        ctx.part::<frontdesk_core::agents::sessions::DbSessionStore>().clone(),
    )
    .with_name(SESSION_COOKIE)
    .with_http_only(true)
    .with_same_site(SameSite::Lax)
    .with_secure(ctx.settings().secure_cookies)
    .with_expiry(Expiry::OnInactivity(time::Duration::days(SESSION_IDLE_DAYS)));

    let state = AppState { ctx: ctx.clone(), leptos: leptos.clone() };
    let provide_services = move || {
        provide_context(ctx.clone());
        csp::use_request_nonce();
    };
    let pages = Router::new()
        .route("/api/live", axum::routing::get(live::upgrade))
        .route("/app/reports/sla.csv", axum::routing::get(reports::sla_csv))
        .route("/api/chat/attachments/{id}", axum::routing::get(attachments::download))
        .route(
            "/api/chat/{number}/attachments",
            axum::routing::post(attachments::agent_upload).layer(attachments::upload_limit()),
        )
        .route("/api/mail/originals/{id}", axum::routing::get(mail::original))
        .route("/api/mail/files/{id}", axum::routing::get(mail::file))
        .route(
            "/api/mail/inbound/{mailbox}",
            axum::routing::post(mail::inbound).layer(mail::inbound_limit(&state.ctx)),
        )
        .route("/help/sitemap.xml", axum::routing::get(help::sitemap))
        .route("/favicon.svg", axum::routing::get(favicon))
        .route("/favicon.ico", axum::routing::get(favicon))
        .leptos_routes_with_context(&state, route_list(), provide_services, move || {
            shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            csp::use_request_nonce,
            shell,
        ))
        .with_state(state.clone())
        .layer(sessions);

    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(health::router(state.ctx.clone()))
        .merge(widget::router(state.ctx.clone()))
        .merge(pages)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(axum::middleware::from_fn(input::refuse_nul_text))
                .layer(axum::middleware::from_fn_with_state(
                    state.ctx.clone(),
                    csrf::refuse_cross_origin_writes,
                ))
                .layer(axum::middleware::from_fn(csp::page_policy))
                .layer(axum::middleware::from_fn(deny_framing)),
        )
}

/// No page may be framed by another site (clickjacking), unless it says otherwise with its own
/// `Content-Security-Policy`: the chat widget's panel allows its site's origins.
async fn deny_framing(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// frontdesk's icon (browsers ask for `/favicon.ico` on every page; the pages link the SVG).
async fn favicon() -> impl axum::response::IntoResponse {
    const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2f5bd3"/><path d="M9 10h14v9H15l-4 4v-4H9z" fill="#fff"/></svg>"##;
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
}

/// One span per request, carrying its id so every log line of the request can be found.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}

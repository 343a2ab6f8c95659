//! The Content-Security-Policy of every page: scripts run only with this response's nonce (the
//! hydration scripts Leptos writes carry it) or from frontdesk's own origin (the wasm bundle and
//! its glue under `/pkg`), wasm may compile, and nothing else: no plugins, no `<base>`, forms post
//! only to frontdesk. It backs up escaping: markup that slipped into a page still cannot run.
//!
//! The nonce is made per request here and handed to Leptos through the request's extensions
//! ([`use_request_nonce`]), so the header and the page always agree. The policy is a header of
//! its own beside the framing policy (`frame-ancestors`, set by `deny_framing` or the chat panel),
//! and browsers enforce both.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

/// The nonce of one request, for Leptos to render into its scripts.
#[derive(Clone)]
struct RequestNonce(Nonce);

/// Adds the script policy, with a fresh nonce, to every HTML response.
pub(super) async fn page_policy(mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(RequestNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html {
        let policy = format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob: https:; object-src 'none'; base-uri 'none'; form-action 'self'"
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response.headers_mut().append(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// Gives Leptos this request's nonce (as extra context, after leptos_axum made its own).
pub(super) fn use_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(parts) = use_context::<axum::http::request::Parts>()
        && let Some(RequestNonce(nonce)) = parts.extensions.get::<RequestNonce>()
    {
        provide_context(nonce.clone());
    }
}

//! Cross-site request forgery protection for every state-changing request.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (all current browsers) or, failing
//! that, `Origin`. A POST, PUT, PATCH or DELETE is refused unless it is same-origin. Requests
//! without either header do not come from a browser page (curl, scripts, the CLI) and cannot
//! carry a victim's cookies by forgery, so they pass. Together with `SameSite=Lax` session cookies
//! this needs no token in forms, so pages work without JavaScript.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses cross-origin state-changing requests with 403.
pub(super) async fn refuse_cross_origin_writes(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    if safe || is_same_origin(request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), path = %request.uri().path(), "refused a cross-origin request");
    (StatusCode::FORBIDDEN, "Cross-origin request refused.").into_response()
}

/// Whether a browser says the request comes from our own pages (non-browser clients pass).
pub(super) fn is_same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        // "none" is a navigation the user started (typed URL, bookmark).
        return site == "same-origin" || site == "none";
    }
    match text(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            authority.is_some_and(|a| Some(a) == text(header::HOST))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "cross-site"), ("origin", "http://a"), ("host", "a")])));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "same-site")])));
    }

    #[test]
    fn origin_must_match_host_without_fetch_metadata() {
        assert!(is_same_origin(&headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])));
        assert!(!is_same_origin(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:8080")])));
        assert!(!is_same_origin(&headers(&[("origin", "null"), ("host", "127.0.0.1:8080")])));
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(is_same_origin(&HeaderMap::new()));
    }
}

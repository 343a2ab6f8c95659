//! Cross-site request forgery protection for every state-changing request.
//!
//! Browsers say where a request comes from: `Origin` (on every POST and WebSocket handshake) and
//! `Sec-Fetch-Site`. A POST, PUT, PATCH or DELETE is refused unless its `Origin` is frontdesk's
//! own public URL (`--public-url`: scheme, host and port), or, without `Origin`, it is same-origin
//! by Fetch Metadata and addressed to the public host. The `Host` header alone is never trusted:
//! a forged Host and Origin pair (DNS rebinding before first-run setup) is refused. When the public
//! URL is a loopback address, the other loopback names on the same port count as the same place.
//! Requests without either header do not come from a browser page (curl, scripts, the CLI) and
//! cannot carry a victim's cookies by forgery, so they pass. Together with `SameSite=Lax` session
//! cookies this needs no token in forms, so pages work without JavaScript.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use frontdesk_core::AppContext;

/// Refuses cross-origin state-changing requests with 403.
pub(super) async fn refuse_cross_origin_writes(
    State(ctx): State<AppContext>,
    request: Request,
    next: Next,
) -> Response {
    let safe =
        matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    if safe || is_same_origin(request.headers(), &ctx.settings().public_url) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), path = %request.uri().path(), "refused a cross-origin request");
    (StatusCode::FORBIDDEN, "Cross-origin request refused.").into_response()
}

/// Whether a browser says the request comes from our own pages at `public_url` (non-browser
/// clients pass).
pub(super) fn is_same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let text = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
    let origin = text(header::ORIGIN);
    let fetch_site = text(header::HeaderName::from_static("sec-fetch-site"));
    if origin.is_none() && fetch_site.is_none() {
        return true;
    }
    let Some(mut own) = Place::parse(public_url) else { return false };
    let host =
        text(header::HOST).and_then(|host| Place::parse(&format!("{}://{host}", own.scheme)));
    if own.is_unspecified() {
        // Listening on every address with no public URL set: the best that is known is the
        // address the request was sent to (set `--public-url` to close this gap).
        let Some(host) = host.clone() else { return false };
        own = host;
    }
    if let Some(origin) = origin {
        return Place::parse(origin).is_some_and(|origin| own.same_as(&origin));
    }
    // "none" is a navigation the user started (typed URL, bookmark).
    let site = fetch_site.unwrap_or_default();
    (site == "same-origin" || site == "none") && host.is_some_and(|host| own.same_as(&host))
}

/// A web origin: scheme, host and port.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Place {
    scheme: String,
    host: String,
    port: u16,
}

impl Place {
    fn parse(url: &str) -> Option<Self> {
        let uri: Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let port = uri.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })?;
        Some(Self { scheme, host, port })
    }

    fn is_unspecified(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified())
    }

    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The same place, where every loopback name stands for a loopback public URL.
    fn same_as(&self, other: &Place) -> bool {
        let same_host = self.host == other.host || (self.is_loopback() && other.is_loopback());
        same_host && self.scheme == other.scheme && self.port == other.port
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

    const PUBLIC: &str = "https://help.example.com";
    const LOCAL: &str = "http://127.0.0.1:8080";

    #[test]
    fn the_origin_must_be_the_public_url_whatever_the_host_header_says() {
        assert!(is_same_origin(
            &headers(&[("origin", "https://help.example.com"), ("host", "help.example.com")]),
            PUBLIC
        ));
        assert!(is_same_origin(&headers(&[("origin", "https://HELP.example.com:443")]), PUBLIC));
        assert!(
            !is_same_origin(
                &headers(&[("origin", "http://help.example.com"), ("host", "help.example.com")]),
                PUBLIC
            ),
            "scheme"
        );
        assert!(
            !is_same_origin(&headers(&[("origin", "https://help.example.com:8443")]), PUBLIC),
            "port"
        );
        assert!(
            !is_same_origin(
                &headers(&[
                    ("origin", "http://rebound.evil:8080"),
                    ("host", "rebound.evil:8080"),
                    ("sec-fetch-site", "same-origin")
                ]),
                LOCAL
            ),
            "rebinding"
        );
        assert!(!is_same_origin(
            &headers(&[("origin", "null"), ("host", "127.0.0.1:8080")]),
            LOCAL
        ));
    }

    #[test]
    fn loopback_names_are_one_place_for_a_loopback_public_url() {
        assert!(is_same_origin(&headers(&[("origin", "http://localhost:8080")]), LOCAL));
        assert!(is_same_origin(&headers(&[("origin", "http://[::1]:8080")]), LOCAL));
        assert!(!is_same_origin(&headers(&[("origin", "http://localhost:9090")]), LOCAL));
        assert!(!is_same_origin(&headers(&[("origin", "http://localhost")]), PUBLIC));
    }

    #[test]
    fn fetch_metadata_without_origin_needs_same_origin_and_the_public_host() {
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin"), ("host", "help.example.com")]),
            PUBLIC
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin"), ("host", "rebound.evil")]),
            PUBLIC
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site"), ("host", "help.example.com")]),
            PUBLIC
        ));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "cross-site")]), PUBLIC));
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(is_same_origin(&HeaderMap::new(), PUBLIC));
        assert!(is_same_origin(&HeaderMap::new(), "not a url"));
    }

    #[test]
    fn listening_everywhere_without_a_public_url_falls_back_to_the_host_asked_for() {
        const ANY: &str = "http://0.0.0.0:8080";
        assert!(is_same_origin(
            &headers(&[("origin", "http://10.1.2.3:8080"), ("host", "10.1.2.3:8080")]),
            ANY
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "https://evil.example"), ("host", "10.1.2.3:8080")]),
            ANY
        ));
    }
}

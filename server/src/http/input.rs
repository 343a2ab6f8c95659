//! One rule for all text input: no NUL characters, whoever sends them and however encoded (raw,
//! `%00` in forms, `\u0000` in JSON). PostgreSQL refuses them, SQLite would store them and pages
//! would cut text at them, so they are refused at the door with a 400 (HTTP) or an error message
//! (sockets) before any service sees them. Form and JSON bodies are checked; uploads are bytes, not
//! text, and pass.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

/// How much of a too-large body is read (and dropped) before answering, so that a client still
/// sending it gets the 413 instead of a reset connection.
const DRAIN_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// What clients are told.
pub(super) const NUL_REFUSED: &str = "Text may not contain NUL characters.";

/// Whether text carries a NUL character: raw, or escaped as JSON writes it (`\u0000` after an
/// even number of backslashes), or, for form-encoded text (`form`), as `%00`.
pub(super) fn has_nul(text: &[u8], form: bool) -> bool {
    let json_escape = text.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"\\u0000")
            && text[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    });
    text.contains(&0)
        || json_escape
        || (form && text.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")))
}

/// Refuses form and JSON bodies that carry a NUL character; passes everything else unchanged.
pub(super) async fn refuse_nul_text(request: Request, next: Next) -> Response {
    if request.uri().query().is_some_and(|query| has_nul(query.as_bytes(), true)) {
        return (StatusCode::BAD_REQUEST, NUL_REFUSED).into_response();
    }
    let writes = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let text = form || content_type.starts_with("application/json");
    // An upload's body is the file itself, and an inbound email the message, whatever type it
    // says.
    let path = request.uri().path();
    let upload = path.ends_with("/attachments") || path.starts_with("/api/mail/inbound/");
    if !writes || !text || upload {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let mut body = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return (StatusCode::BAD_REQUEST, "The request body could not be read.")
                .into_response();
        };
        total += chunk.len();
        if total <= super::MAX_BODY_BYTES {
            bytes.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT_BYTES {
            break;
        }
    }
    // Read to its end (up to a bound) so the client, still sending, gets this answer.
    if total > super::MAX_BODY_BYTES {
        return (StatusCode::PAYLOAD_TOO_LARGE, "This request is too large.").into_response();
    }
    if has_nul(&bytes, form) {
        return (StatusCode::BAD_REQUEST, NUL_REFUSED).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::has_nul;

    #[test]
    fn nul_is_found_raw_form_encoded_and_json_escaped() {
        assert!(has_nul(b"name=a\0b", true));
        assert!(has_nul(b"name=a%00b", true));
        assert!(has_nul(br#"{"body":"a\u0000b"}"#, false));
        assert!(!has_nul(b"name=a%20b&body=100%25", true));
        assert!(!has_nul(br#"{"body":"\u00e9"}"#, false));
    }

    #[test]
    fn text_that_only_mentions_nul_passes() {
        assert!(!has_nul(br#"{"body":"use %00 in the URL"}"#, false), "%00 is text in JSON");
        assert!(
            !has_nul(br#"{"body":"a literal \\u0000"}"#, false),
            "an escaped backslash, then text"
        );
        assert!(has_nul(br#"{"body":"\\\u0000"}"#, false), "a backslash, then a NUL");
    }
}

//! Requests a browser would never send: every one gets a clear 4xx in plain words, nothing of the
//! decoder's or the database's own text, and nothing is stored.

use frontdesk_tests::{PASSWORD, TestApp, spawn_app};
use reqwest::StatusCode;

/// An app with an admin signed in; returns the raw HTTP client with their session.
async fn signed_in() -> (TestApp, frontdesk_tests::ApiClient) {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;
    (app, client)
}

async fn post(
    client: &frontdesk_tests::ApiClient,
    function: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let answer = client
        .http
        .post(format!("{}/api/{function}", client.base_url))
        .header("accept", "application/json")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("answered");
    let status = answer.status();
    (status, answer.text().await.unwrap_or_default())
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_server_function_arguments_are_a_plain_400_and_store_nothing() {
    let (app, client) = signed_in().await;
    let ticket =
        "requester_email=c%40x.example&requester_name=C&subject=S&body=B&priority=normal&tags=";
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("missing field", FORM, b"requester_email=c%40x.example".to_vec()),
        ("duplicate field", FORM, format!("{ticket}&subject=again").into_bytes()),
        ("not UTF-8", FORM, b"requester_email=c%40x.example&requester_name=\xff\xfe&subject=S&body=B&priority=normal&tags=".to_vec()),
        ("a JSON body", "application/json", br#"{"subject":"S"}"#.to_vec()),
    ];

    for (case, content_type, body) in cases {
        let (status, text) = post(&client, "create_ticket", content_type, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {text}");
        for internal in ["missing field", "duplicate", "utf-8", "serde", "expected"] {
            assert!(!text.to_lowercase().contains(internal), "{case} leaks decoder text: {text}");
        }
    }
    assert_eq!(app.query_i64s("SELECT COUNT(*) FROM tickets").await, [0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_a_megabyte_is_413() {
    let (_app, client) = signed_in().await;
    let body = format!("number=1&kind=note&body={}", "a".repeat(1024 * 1024 + 1)).into_bytes();

    let (status, _) = post(&client, "add_ticket_message", FORM, body).await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_refused_in_every_text_field_the_same_way() {
    let (app, client) = signed_in().await;
    let forms = [
        (
            "create_ticket",
            "requester_email=c%40x.example&requester_name=C%00&subject=S&body=B&priority=normal&tags=",
        ),
        (
            "create_ticket",
            "requester_email=c%40x.example&requester_name=C&subject=S%00&body=B&priority=normal&tags=",
        ),
        (
            "create_ticket",
            "requester_email=c%40x.example&requester_name=C&subject=S&body=B%00&priority=normal&tags=",
        ),
        ("portal_submit", "name=Carol&email=carol%40x.example&subject=Hi&body=a%00b"),
    ];

    for (function, form) in forms {
        let (status, text) = post(&client, function, FORM, form.as_bytes().to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{function} {form}: {text}");
        assert!(text.contains("NUL"), "{text}");
    }
    assert_eq!(app.query_i64s("SELECT COUNT(*) FROM tickets").await, [0]);
}

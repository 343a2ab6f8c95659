//! When the server fails, clients learn only that it did: the real `frontdesk serve` runs as a
//! child process, its database loses the tickets table under it, and then a server function, a
//! plain HTTP handler, the agents' live socket and the widget's socket all hit the failure. Each
//! answer carries the one safe sentence; the cause (the driver's words) is in the server's log.

use frontdesk_core::chats::{VisitorEvent, VisitorRequest};
use frontdesk_core::error::INTERNAL_MESSAGE;
use frontdesk_core::live::{ClientMessage, ServerMessage};
use frontdesk_core::platform::db::SQLITE_FILE_NAME;
use frontdesk_tests::live::{connect, connect_widget};
use frontdesk_tests::{ApiClient, PASSWORD, ServerProcess, TestDatabase, seed_site};
use sqlx::Connection;

const ORIGIN: &str = "https://shop.example.com";

/// Words that would give the server's insides away.
const LEAKS: [&str; 8] = [
    "no such table",
    "does not exist",
    "relation",
    "sqlx",
    "sqlite",
    "postgres",
    "database",
    "tickets",
];

fn assert_safe(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for leak in LEAKS {
        assert!(!lower.contains(leak), "{what} leaked {leak:?}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_internal_text_reaches_a_client_over_http_or_either_socket_when_the_database_fails() {
    let data = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::create().await;
    let url = database.url.as_deref();
    let site = seed_site(url, data.path(), ORIGIN).await;
    let mut server = ServerProcess::start(data.path(), url);
    let base_url = server.base_url();

    // While all is well: an agent signs in and opens the console's socket; a visitor chats.
    let agent = ApiClient::new(&base_url);
    assert!(agent.sign_in("ada@example.com", PASSWORD).await.status().is_success());
    let cookie = agent.session_cookie().expect("a session");
    let mut console =
        connect(&base_url, Some(&cookie), Some(&base_url)).await.expect("the live socket opens");
    let visitor = ApiClient::new(&base_url);
    let token = visitor.new_visitor(&site).await;
    let mut widget =
        connect_widget(&base_url, &site, &token, Some(ORIGIN)).await.expect("the widget opens");
    widget.send(&VisitorRequest::Resume { number: None, after_seq: 0 }).await;
    let send =
        VisitorRequest::Send { client_id: "c-1".into(), body: "Hi".into(), attachment_id: None };
    widget.send(&send).await;
    let number = widget
        .next_matching(|event| match event {
            VisitorEvent::Ack { number, .. } => Some(number),
            _ => None,
        })
        .await;

    break_the_database(url, data.path()).await;

    // A server function.
    let queue = agent.call("list_queue", &[("view", "open")]).await;
    let queue_status = queue.status().as_u16();
    let queue_body = queue.text().await.expect("a body");
    // A plain HTTP handler (a visitor's upload looks up their chat).
    let upload = reqwest::Client::new()
        .post(format!("{base_url}/api/widget/attachments?site={site}&visitor={token}"))
        .header("content-type", "text/plain")
        .header("x-file-name", "note.txt")
        .body("hello")
        .send()
        .await
        .expect("answered");
    let upload_status = upload.status().as_u16();
    let upload_body = upload.text().await.expect("a body");
    // The agents' socket.
    console.send(&ClientMessage::SubscribeTicket { number, after_seq: 0 }).await;
    let console_error = console
        .next_matching(|message| match message {
            ServerMessage::Error { message } => Some(message),
            _ => None,
        })
        .await;
    // The widget's socket, on a fresh connection that resumes the chat.
    let mut resumed =
        connect_widget(&base_url, &site, &token, Some(ORIGIN)).await.expect("the widget opens");
    resumed.send(&VisitorRequest::Resume { number: Some(number), after_seq: 0 }).await;
    let widget_error = resumed
        .next_matching(|event| match event {
            VisitorEvent::Error { code, message } => Some((code, message)),
            _ => None,
        })
        .await;

    server.signal("TERM");
    server.child.wait().expect("the server stops");
    let log: Vec<String> = server.log.by_ref().map_while(Result::ok).collect();

    assert_eq!(queue_status, 500, "{queue_body}");
    assert_eq!(queue_body, "\"Internal\"", "the browser shows ApiError::Internal's sentence");
    assert_safe("a server function", &queue_body);
    assert_eq!(upload_status, 500, "{upload_body}");
    assert_eq!(upload_body, "Something went wrong on our side. Please try again.");
    assert_eq!(console_error, INTERNAL_MESSAGE);
    assert_eq!(widget_error, ("internal".to_owned(), INTERNAL_MESSAGE.to_owned()));
    assert!(
        log.iter().any(|line| line.contains("tickets")
            && (line.contains("no such table") || line.contains("does not exist"))),
        "the cause is in the log: {log:#?}"
    );
}

/// Drops the tickets table under the running server.
async fn break_the_database(url: Option<&str>, data: &std::path::Path) {
    match url {
        Some(url) => {
            let mut connection = sqlx::PgConnection::connect(url).await.expect("connects");
            sqlx::query("DROP TABLE tickets CASCADE")
                .execute(&mut connection)
                .await
                .expect("drops");
        }
        None => {
            let file = data.join(SQLITE_FILE_NAME);
            let mut connection =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                    .await
                    .expect("connects");
            // Other tables refer to tickets; without the check the drop leaves them dangling.
            sqlx::query("PRAGMA foreign_keys = OFF")
                .execute(&mut connection)
                .await
                .expect("pragma");
            sqlx::query("DROP TABLE tickets").execute(&mut connection).await.expect("drops");
        }
    }
}

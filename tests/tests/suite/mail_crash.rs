//! The outbox across a crash: the real `frontdesk serve` process claims an email, is killed
//! (SIGKILL) while its send hangs, and the next process sends that email once its lease runs
//! out: the customer's mailbox holds exactly one copy.

use std::time::{Duration, Instant};

use frontdesk_core::agents::{NewAgent, Role};
use frontdesk_core::app::{self, Options};
use frontdesk_core::mail::{self, DEFAULT_ACK_BODY, DEFAULT_ACK_SUBJECT, MailboxInput, Outcome};
use frontdesk_core::platform::db::{DatabaseTarget, Db};
use frontdesk_tests::database::TestDatabase;
use frontdesk_tests::mail::{MailServer, message};
use frontdesk_tests::{PASSWORD, ServerProcess};

const SUPPORT: &str = "support@example.test";

async fn connect(url: Option<&str>, data_dir: &std::path::Path) -> Db {
    let db = DatabaseTarget::from_config(url, data_dir)
        .expect("a target")
        .connect()
        .await
        .expect("connects");
    db.migrate().await.expect("migrated");
    db
}

/// The acknowledgement's state and tries.
async fn ack_state(db: &Db) -> Option<(String, i64)> {
    let sql = "SELECT state, attempts FROM mail_outbox WHERE kind = 'acknowledgement'";
    match db {
        Db::Sqlite(pool) => sqlx::query_as(sql).fetch_optional(pool).await,
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_optional(pool).await,
    }
    .expect("the outbox answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_between_claim_and_send_still_sends_the_email_exactly_once() {
    let servers = MailServer::start();
    // Until the crash, the SMTP port is a tarpit: it takes connections and never greets, so a
    // claimed email's send hangs.
    servers.stop_smtp();
    let tarpit = tokio::net::TcpListener::bind(("127.0.0.1", servers.smtp_port))
        .await
        .expect("the SMTP port");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = tarpit.accept().await {
            open.push(socket);
        }
    });
    let data = tempfile::tempdir().expect("a data folder");
    let database = TestDatabase::create().await;
    let url = database.url.as_deref();
    let config = data.path().join("frontdesk.toml");
    std::fs::write(&config, servers.config("support", SUPPORT)).expect("the config");
    {
        let db = connect(url, data.path()).await;
        let ctx = app::build(db.clone(), Options::default()).await.expect("built").ctx;
        let admin = frontdesk_core::agents::create_admin_from_cli(
            &ctx,
            NewAgent::parse("ada@example.com", "Ada", Role::Admin, PASSWORD).expect("valid"),
        )
        .await
        .expect("an admin");
        let input = MailboxInput {
            name: "support".into(),
            address: SUPPORT.into(),
            display_name: "ACME Support".into(),
            acknowledge: true,
            ack_subject: DEFAULT_ACK_SUBJECT.into(),
            ack_body: DEFAULT_ACK_BODY.into(),
            ..MailboxInput::default()
        };
        mail::create_mailbox(&ctx, &admin, input).await.expect("a mailbox");
        let raw = message("carol@example.test", SUPPORT, "Crash course", "Hello?", "");
        let outcome = mail::receive(&ctx, "support", raw).await.expect("received");
        assert!(matches!(outcome, Outcome::Created { .. }), "{outcome:?}");
        ctx.tasks().shut_down(Duration::from_secs(5)).await;
        db.close().await;
    }
    let config = config.to_str().expect("utf-8");
    let watcher = connect(url, data.path()).await;

    let first = ServerProcess::start_with(data.path(), url, &["--config", config], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ack_state(&watcher).await.is_none_or(|(state, _)| state != "sending") {
        assert!(Instant::now() < deadline, "the acknowledgement is claimed within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.signal("KILL");
    drop(first);
    held.abort();
    let _ = held.await;
    servers.start_smtp();

    let _second = ServerProcess::start_with(data.path(), url, &["--config", config], &[]);
    let ack = servers.wait_for("carol@example.test", |m| m.auto_submitted.is_some()).await;
    // Past another lease and a few sending rounds: still one copy.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let copies = servers
        .mails("carol@example.test")
        .await
        .iter()
        .filter(|m| m.message_id == ack.message_id)
        .count();
    assert_eq!(copies, 1, "sent exactly once");
    assert_eq!(ack_state(&watcher).await, Some(("sent".into(), 2)), "claimed twice, sent once");
    watcher.close().await;
}

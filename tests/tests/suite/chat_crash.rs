//! The chat's durability promise when the server stops: the real `frontdesk serve` is killed
//! with SIGKILL, or asked to stop with SIGTERM, during a burst of visitor messages, and started
//! again on the same data. Every message acked before the stop must be there; clients resume from
//! their last seq and resend what was not acked; the final transcripts have no gaps, no
//! duplicates and keep each visitor's order. A SIGTERM also drains: the process answers what it
//! accepted and exits cleanly within its grace period. Runs on SQLite, and on PostgreSQL when the
//! suite does.

use frontdesk_core::chats::{VisitorEvent, VisitorRequest};
use frontdesk_server::startup::SHUTDOWN_GRACE;
use frontdesk_tests::live::{WidgetClient, connect_widget};
use frontdesk_tests::{ApiClient, ServerProcess, TestDatabase, seed_site};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const ORIGIN: &str = "https://shop.example.com";
const VISITORS: usize = 4;
const MESSAGES: usize = 30;
/// Messages a visitor keeps in flight before waiting for acks.
const WINDOW: usize = 4;

/// One visitor as the widget behaves: numbered messages, resent until acked.
struct Visitor {
    token: String,
    socket: Option<WidgetClient>,
    /// The next message not sent yet on this connection.
    next: usize,
    /// Sent and not acked, in order.
    unacked: Vec<usize>,
    acked: HashSet<usize>,
    last_seq: i64,
    number: Option<i64>,
    /// The close code of the last socket the server closed.
    closed_with: Option<u16>,
}

impl Visitor {
    fn client_id(i: usize) -> String {
        format!("m-{i:03}")
    }

    async fn connect(&mut self, base_url: &str, site: &str) {
        let mut socket = connect_widget(base_url, site, &self.token, Some(ORIGIN))
            .await
            .expect("the widget socket opens");
        socket
            .send(&VisitorRequest::Resume { number: self.number, after_seq: self.last_seq })
            .await;
        // Resend what was never acked, in order, with the same ids: stored ones are not stored twice.
        for i in &self.unacked {
            socket
                .send(&VisitorRequest::Send {
                    client_id: Self::client_id(*i),
                    body: format!("message {i}"),
                    attachment_id: None,
                })
                .await;
        }
        self.socket = Some(socket);
    }

    /// Fills the window; false once everything is sent and acked.
    async fn pump(&mut self) -> bool {
        let Some(socket) = self.socket.as_mut() else { return false };
        while self.unacked.len() < WINDOW && self.next < MESSAGES {
            let i = self.next;
            socket
                .send(&VisitorRequest::Send {
                    client_id: Self::client_id(i),
                    body: format!("message {i}"),
                    attachment_id: None,
                })
                .await;
            self.unacked.push(i);
            self.next += 1;
        }
        self.acked.len() < MESSAGES
    }

    /// Reads one event; false when the socket is gone (the server died).
    async fn read(&mut self) -> bool {
        let Some(socket) = self.socket.as_mut() else { return false };
        match socket.next_within(Duration::from_secs(5)).await {
            Some(VisitorEvent::Ack { client_id, number, .. }) => {
                let i: usize = client_id.trim_start_matches("m-").parse().expect("our id");
                self.unacked.retain(|u| *u != i);
                self.acked.insert(i);
                self.number = Some(number);
                true
            }
            Some(VisitorEvent::Message { message, .. }) => {
                self.last_seq = self.last_seq.max(message.seq);
                true
            }
            Some(_) => true,
            None => {
                self.closed_with = socket.close_code();
                self.socket = None;
                false
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acked_message_survives_sigkill_and_transcripts_have_no_gaps_or_duplicates() {
    let Burst { data, database, site, mut server, mut visitors } = Burst::start().await;
    let url = database.url.as_deref();

    // The burst: everyone sends; the server is killed once a third of all messages are acked.
    burst_until_a_third_is_acked(&mut visitors).await;
    server.signal("KILL");
    server.child.wait().expect("the server is gone");
    // Drain whatever was already on the wire, then note what was acked before the kill.
    for visitor in &mut visitors {
        while visitor.read().await {}
    }
    let acked_before_kill: Vec<HashSet<usize>> = visitors.iter().map(|v| v.acked.clone()).collect();
    assert!(acked_before_kill.iter().all(|a| a.len() < MESSAGES), "the kill came mid-burst");

    resume_after_restart(data.path(), url, &site, &mut visitors, &acked_before_kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_chat_burst_acks_what_it_took_stores_it_and_exits_cleanly_in_time() {
    let Burst { data, database, site, mut server, mut visitors } = Burst::start().await;
    let url = database.url.as_deref();

    // The burst; SIGTERM once a third of all messages are acked, with more in flight.
    burst_until_a_third_is_acked(&mut visitors).await;
    for visitor in &mut visitors {
        visitor.pump().await;
    }
    server.signal("TERM");
    let signalled = std::time::Instant::now();
    // Acks keep coming for what the server had taken, then each socket is closed.
    for visitor in &mut visitors {
        while visitor.read().await {}
    }
    let exit = wait_for_exit(&mut server.child, SHUTDOWN_GRACE + Duration::from_secs(5));
    let took = signalled.elapsed();
    let log: Vec<String> = server.log.by_ref().map_while(Result::ok).collect();
    let acked_at_exit: Vec<HashSet<usize>> = visitors.iter().map(|v| v.acked.clone()).collect();

    assert!(exit.is_some_and(|status| status.success()), "exits with status 0: {exit:?}");
    assert!(took < SHUTDOWN_GRACE, "stopped within the grace period (took {took:?})");
    assert!(log.iter().any(|line| line.contains("frontdesk stopped")), "says it stopped");
    assert!(
        !log.iter().any(|line| line.contains("did not finish")),
        "every task finished its work: {log:#?}"
    );
    assert!(acked_at_exit.iter().all(|a| a.len() < MESSAGES), "the signal came mid-burst");
    assert!(
        visitors.iter().all(|v| v.closed_with == Some(1001)),
        "every socket said goodbye with 1001 (going away): {:?}",
        visitors.iter().map(|v| v.closed_with).collect::<Vec<_>>()
    );

    resume_after_restart(data.path(), url, &site, &mut visitors, &acked_at_exit).await;
}

/// Every visitor sends (keeping its window full) until a third of all messages are acked.
async fn burst_until_a_third_is_acked(visitors: &mut [Visitor]) {
    loop {
        for visitor in visitors.iter_mut() {
            visitor.pump().await;
            visitor.read().await;
        }
        if visitors.iter().map(|v| v.acked.len()).sum::<usize>() >= VISITORS * MESSAGES / 3 {
            break;
        }
    }
}

/// Starts the server again on the same data, lets every visitor reconnect and finish sending,
/// and checks each transcript is whole and holds everything `acked_before` the stop.
async fn resume_after_restart(
    data: &std::path::Path,
    url: Option<&str>,
    site: &str,
    visitors: &mut [Visitor],
    acked_before: &[HashSet<usize>],
) {
    let restarted = ServerProcess::start(data, url);
    let base_url = restarted.base_url();
    for visitor in visitors.iter_mut() {
        visitor.connect(&base_url, site).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while visitors.iter().any(|v| v.acked.len() < MESSAGES) {
        assert!(tokio::time::Instant::now() < deadline, "every message is acked after the restart");
        for visitor in visitors.iter_mut() {
            if visitor.pump().await && !visitor.read().await {
                panic!("the restarted server dropped a socket");
            }
        }
    }
    // The transcripts, as a fresh client replays them from the start.
    for (visitor, acked_early) in visitors.iter().zip(acked_before) {
        let ids = complete_transcript(&base_url, site, visitor).await;
        assert!(
            acked_early.iter().all(|i| ids.contains(&Visitor::client_id(*i))),
            "everything acked before the stop was stored"
        );
    }
}

/// A server process on a fresh database with a widget site, and [`VISITORS`] visitors with open
/// sockets.
struct Burst {
    data: tempfile::TempDir,
    database: TestDatabase,
    site: String,
    server: ServerProcess,
    visitors: Vec<Visitor>,
}

impl Burst {
    async fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::create().await;
        let site = seed_site(database.url.as_deref(), data.path(), ORIGIN).await;
        let server = ServerProcess::start(data.path(), database.url.as_deref());
        let base_url = server.base_url();
        let http = ApiClient::new(&base_url);
        let mut visitors = Vec::new();
        for _ in 0..VISITORS {
            let token = http.new_visitor(&site).await;
            let mut visitor = Visitor {
                token,
                socket: None,
                next: 0,
                unacked: Vec::new(),
                acked: HashSet::new(),
                last_seq: 0,
                number: None,
                closed_with: None,
            };
            visitor.connect(&base_url, &site).await;
            visitors.push(visitor);
        }
        Self { data, database, site, server, visitors }
    }
}

/// Replays `visitor`'s chat from the start as a fresh client does, checks that it is whole (seqs
/// 1..=N, no gaps, each message once, in the visitor's order) and returns its client ids.
async fn complete_transcript(base_url: &str, site: &str, visitor: &Visitor) -> Vec<String> {
    let mut replay =
        connect_widget(base_url, site, &visitor.token, Some(ORIGIN)).await.expect("opens");
    replay.send(&VisitorRequest::Resume { number: visitor.number, after_seq: 0 }).await;
    let mut transcript = BTreeMap::new();
    let mut order = Vec::new();
    while let Some(event) = replay.next_within(Duration::from_millis(800)).await {
        if let VisitorEvent::Message { message, .. } = event {
            assert!(
                transcript.insert(message.seq, message.client_id.clone()).is_none(),
                "seq {} sent twice",
                message.seq
            );
            order.push(message.seq);
        }
    }
    let seqs: Vec<i64> = transcript.keys().copied().collect();
    let ids: Vec<String> = transcript.values().cloned().collect();
    let expected: Vec<String> = (0..MESSAGES).map(Visitor::client_id).collect();

    assert_eq!(seqs, (1..=MESSAGES as i64).collect::<Vec<_>>(), "seqs 1..=N with no gaps");
    assert_eq!(order, seqs, "replayed in order");
    assert_eq!(ids, expected, "each message exactly once, in the visitor's order");
    ids
}

/// Waits up to `limit` for `child` to exit; its status, or `None` if it is still running.
fn wait_for_exit(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_commit_an_ack_waits_for_reaches_the_disk_before_the_ack() {
    let app = frontdesk_tests::spawn_app().await;

    // SQLite: the write-ahead log is synced at every commit (2 = FULL), so an acked message
    // survives a power loss, not only a crash of frontdesk. PostgreSQL: commits wait for the WAL.
    let durable = match app.ctx.db() {
        frontdesk_core::platform::db::Db::Sqlite(pool) => {
            let level: i64 =
                sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.expect("the pragma");
            level == 2
        }
        frontdesk_core::platform::db::Db::Postgres(pool) => {
            let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
                .fetch_one(pool)
                .await
                .expect("the setting");
            setting != "off" && setting != "local"
        }
    };

    assert!(durable, "acked writes must be synced");
}

//! The email channel against real mail servers (Postfix and Dovecot from Debian's packages,
//! started per test on loopback ports) and through its three ways in: IMAP, the MTA pipe
//! (`frontdesk mail receive`) and the HTTP endpoint. Mail a customer sends becomes a ticket,
//! agents' replies reach the customer threaded and copied to followers, internal notes never
//! leave, replies wait while the mail server is down and go out once each, bounces mark what
//! failed, and every guard holds.

use std::time::{Duration, Instant};

use frontdesk_core::agents::Agent;
use frontdesk_core::mail::{
    self, DEFAULT_ACK_BODY, DEFAULT_ACK_SUBJECT, DeliveryState, MailboxInput, Outcome, ThreadKey,
};
use frontdesk_core::tickets::{self, MessageBody, MessageKind};
use frontdesk_tests::mail::{Mail, MailServer, message};
use frontdesk_tests::{PASSWORD, TestApp, spawn_app_with_config};
use reqwest::StatusCode;

const SUPPORT: &str = "support@example.test";

/// frontdesk with the mailbox `support` (support@example.test), its admin, and, when given,
/// the mail servers it sends through and reads from.
struct Desk {
    app: TestApp,
    admin: Agent,
}

async fn desk(config: &str) -> Desk {
    let app = spawn_app_with_config(config).await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let input = MailboxInput {
        name: "support".into(),
        address: SUPPORT.into(),
        display_name: "ACME Support".into(),
        team_id: None,
        signature: "The ACME support team".into(),
        acknowledge: true,
        ack_subject: DEFAULT_ACK_SUBJECT.into(),
        ack_body: DEFAULT_ACK_BODY.into(),
        plus_addressing: false,
    };
    mail::create_mailbox(&app.ctx, &admin, input).await.expect("a mailbox");
    Desk { app, admin }
}

impl Desk {
    /// Email tickets' numbers, oldest first.
    async fn email_tickets(&self) -> Vec<i64> {
        self.app.query_i64s("SELECT number FROM tickets WHERE channel = 'email' ORDER BY id").await
    }

    /// Waits (up to 30 s) until there are `count` email tickets; returns their numbers.
    async fn wait_for_tickets(&self, count: usize) -> Vec<i64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let numbers = self.email_tickets().await;
            if numbers.len() >= count {
                return numbers;
            }
            assert!(Instant::now() < deadline, "{count} email tickets within 30 s: {numbers:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 30 s) until ticket `number` has `count` messages; returns their bodies.
    async fn wait_for_messages(&self, number: i64, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let detail = tickets::get(&self.app.ctx, &self.admin, number).await.expect("ticket");
            if detail.messages.len() >= count {
                return detail.messages.into_iter().map(|m| m.body).collect();
            }
            assert!(Instant::now() < deadline, "{count} messages on #{number} within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn write(&self, number: i64, kind: MessageKind, text: &str) {
        let body = MessageBody::parse(text).expect("a body");
        tickets::add_message(&self.app.ctx, &self.admin, number, kind, body, None)
            .await
            .expect("written");
    }

    /// Waits (up to 30 s) until every reply of ticket `number` is in `state`.
    async fn wait_for_deliveries(
        &self,
        number: i64,
        count: usize,
        state: DeliveryState,
    ) -> Vec<Option<String>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mail = mail::ticket_mail(&self.app.ctx, &self.admin, number).await.expect("mail");
            let deliveries: Vec<_> =
                mail.messages.iter().filter_map(|m| m.delivery.clone()).collect();
            if deliveries.len() == count && deliveries.iter().all(|(s, _)| *s == state) {
                return deliveries.into_iter().map(|(_, r)| r).collect();
            }
            assert!(
                Instant::now() < deadline,
                "{count} replies {state} within 30 s: {deliveries:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn receive(&self, raw: Vec<u8>) -> Outcome {
        mail::receive(&self.app.ctx, "support", raw).await.expect("received")
    }
}

/// What a desk made of its mail: each email ticket's subject and message count, then how many
/// messages wait in the quarantine.
async fn shape(desk: &Desk) -> Vec<(String, usize)> {
    let mut shape = Vec::new();
    for number in desk.email_tickets().await {
        let detail = tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket");
        shape.push((detail.ticket.subject, detail.messages.len()));
    }
    let held = mail::quarantine(&desk.app.ctx, &desk.admin).await.expect("quarantine");
    shape.push(("quarantined".into(), held.len()));
    shape
}

fn copies(mails: &[Mail], id: &str) -> usize {
    mails.iter().filter(|m| m.message_id == id).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_support_becomes_a_ticket_and_replies_reach_the_customer_and_followers_threaded() {
    let servers = MailServer::start();
    // Outgoing mail is DKIM-signed with a key made for this test.
    let keys = tempfile::tempdir().expect("a folder");
    let key = keys.path().join("dkim.pem");
    let made = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "a DKIM key");
    let dkim = format!(
        "dkim_selector = \"mail\"\ndkim_domain = \"example.test\"\ndkim_key_file = \"{}\"\n",
        key.display()
    );
    let config = servers
        .config("support", SUPPORT)
        .replace("[mail.smtp]\n", &format!("[mail.smtp]\n{dkim}"));
    let desk = desk(&config).await;
    let first = message(
        "Carol <carol@example.test>",
        SUPPORT,
        "Printer on fire",
        "It smokes.",
        "Cc: Dan <dan@example.test>\r\n",
    );
    let first_id = Mail::parse(&first).message_id;
    servers.send(&first, "carol@example.test", &[SUPPORT, "dan@example.test"]).await;

    let number = desk.wait_for_tickets(1).await[0];
    let detail = tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket");
    assert_eq!(detail.ticket.subject, "Printer on fire");
    assert_eq!(detail.ticket.requester.name, "Carol");
    assert_eq!(detail.messages[0].body, "It smokes.");

    let ack = servers.wait_for("carol@example.test", |m| m.auto_submitted.is_some()).await;
    assert!(ack.subject.contains(&format!("#{number}")), "{}", ack.subject);
    assert_eq!(ack.in_reply_to.as_deref(), Some(first_id.as_str()));
    assert_eq!(ack.from, SUPPORT);

    desk.write(number, MessageKind::Note, "Internal: the customer is on the old firmware.").await;
    desk.write(number, MessageKind::Reply, "Please unplug it at once.").await;
    let reply = servers.wait_for("carol@example.test", |m| m.text.contains("unplug it")).await;
    assert_eq!(
        reply.in_reply_to.as_deref(),
        Some(first_id.as_str()),
        "threaded under the customer's mail"
    );
    assert!(reply.subject.starts_with("Re: Printer on fire [#"), "{}", reply.subject);
    assert!(reply.text.contains("The ACME support team"), "signed: {}", reply.text);
    assert_eq!(reply.cc, vec!["dan@example.test".to_owned()]);
    let signature = String::from_utf8_lossy(&reply.raw).to_lowercase();
    assert!(
        signature.contains("dkim-signature:") && signature.contains("d=example.test"),
        "signed"
    );
    let copied = servers.wait_for("dan@example.test", |m| m.text.contains("unplug it")).await;
    assert_eq!(copied.message_id, reply.message_id);
    for user in ["carol@example.test", "dan@example.test"] {
        assert!(
            !servers.mails(user).await.iter().any(|m| m.text.contains("old firmware")),
            "an internal note reached {user}"
        );
    }
    desk.wait_for_deliveries(number, 1, DeliveryState::Sent).await;

    // The ticket's new assignee hears of it by email, and of the customer's answer.
    let bo = desk
        .app
        .create_agent(&desk.admin, "bo@example.test", "Bo", frontdesk_core::agents::Role::Agent)
        .await;
    let version =
        tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket").ticket.version;
    let assign =
        tickets::TicketChanges { version, assignee_id: Some(Some(bo.id)), ..Default::default() };
    tickets::update(&desk.app.ctx, &desk.admin, number, assign).await.expect("assigned");
    let assigned = servers.wait_for("bo@example.test", |m| m.subject.contains("assigned")).await;
    assert!(assigned.text.contains(&format!("/app/tickets/{number}")), "{}", assigned.text);
    assert_eq!(assigned.auto_submitted.as_deref(), Some("auto-generated"));

    // The customer answers without a tag in the subject: the headers alone thread it.
    let answer = message(
        "Carol <carol@example.test>",
        SUPPORT,
        "Re: Printer on fire",
        "Unplugged, thanks.\n\nOn Thu, Support wrote:\n> Please unplug it at once.",
        &format!("In-Reply-To: <{0}>\r\nReferences: <{first_id}> <{0}>\r\n", reply.message_id),
    );
    servers.send(&answer, "carol@example.test", &[SUPPORT]).await;
    let bodies = desk.wait_for_messages(number, 4).await;
    assert!(bodies[3].starts_with("Unplugged, thanks."), "{bodies:?}");
    assert_eq!(desk.email_tickets().await, vec![number], "no second ticket");
    servers.wait_for("bo@example.test", |m| m.subject.contains("customer replied")).await;
    let detail = tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket");
    let html = &detail.messages[3].body_html;
    assert!(html.contains("<details class=\"mail-quoted\">"), "the quote is folded: {html}");
    let acks = desk
        .app
        .query_i64s("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'acknowledgement'")
        .await;
    assert_eq!(acks, vec![1], "one acknowledgement per thread");

    // The original is kept for agents, not for strangers.
    let original_id = mail::ticket_mail(&desk.app.ctx, &desk.admin, number)
        .await
        .expect("mail")
        .messages
        .iter()
        .find_map(|m| m.original_id)
        .expect("an original");
    let path = format!("/api/mail/originals/{original_id}");
    assert_eq!(desk.app.client().get(&path).await.status(), StatusCode::UNAUTHORIZED);
    let agent = desk.app.client();
    agent.sign_in("ada@example.com", PASSWORD).await;
    let eml = agent.get(&path).await;
    assert_eq!(eml.status(), StatusCode::OK);
    assert!(
        eml.headers()["content-disposition"].to_str().unwrap_or_default().starts_with("attachment")
    );
    let eml = eml.bytes().await.expect("bytes");
    assert!(String::from_utf8_lossy(&eml).contains(&first_id));

    // Portal sign-in links go out by mail too, labelled UTF-8.
    let carol = frontdesk_core::agents::Email::parse("carol@example.test").expect("an address");
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    frontdesk_core::portal::request_link(&desk.app.ctx, &carol, ip).await.expect("a link");
    let link = servers.wait_for("carol@example.test", |m| m.subject == "Your sign-in link").await;
    assert!(link.text.contains("/portal/sign-in/"), "{}", link.text);
    assert!(String::from_utf8_lossy(&link.raw).to_lowercase().contains("charset=utf-8"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_wait_while_the_mail_server_is_down_and_go_out_once_each_when_it_returns() {
    let servers = MailServer::start();
    let desk = desk(&servers.config("support", SUPPORT)).await;
    servers.stop_smtp();
    let outcome = desk
        .receive(message("erin@example.test", SUPPORT, "Where is my order?", "Order 7.", ""))
        .await;
    let Outcome::Created { number } = outcome else { panic!("a new ticket: {outcome:?}") };
    for text in ["First answer.", "Second answer.", "Third answer."] {
        desk.write(number, MessageKind::Reply, text).await;
    }
    let failures = desk.wait_for_deliveries(number, 3, DeliveryState::Retrying).await;
    assert!(failures.iter().all(|r| r.as_deref().is_some_and(|r| !r.is_empty())), "{failures:?}");

    servers.start_smtp();
    desk.wait_for_deliveries(number, 3, DeliveryState::Sent).await;
    servers.wait_for("erin@example.test", |m| m.text.contains("Third answer.")).await;
    // Let a few more sending rounds pass: nothing is sent twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mails = servers.mails("erin@example.test").await;
    let ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(mails.len(), 4, "three replies and the acknowledgement: {ids:?}");
    for id in &ids {
        assert_eq!(copies(&mails, id), 1, "{id} arrived once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_marks_the_reply_failed_with_the_servers_words_and_the_address() {
    let servers = MailServer::start();
    let desk = desk(&servers.config("support", SUPPORT)).await;
    // Mail to local parts starting with "nobody" is bounced by the test's Postfix.
    let outcome =
        desk.receive(message("nobody-7@example.test", SUPPORT, "Hello", "Anyone?", "")).await;
    let Outcome::Created { number } = outcome else { panic!("a new ticket: {outcome:?}") };
    desk.write(number, MessageKind::Reply, "Hello back.").await;
    let results = desk.wait_for_deliveries(number, 1, DeliveryState::Failed).await;
    let result = results[0].clone().unwrap_or_default();
    assert!(result.starts_with("Bounced: 5."), "{result}");
    let mail = mail::ticket_mail(&desk.app.ctx, &desk.admin, number).await.expect("mail");
    assert!(mail.customer_bounced.is_some(), "the address is marked");
    let history = tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket").events;
    assert!(history.iter().any(|e| e.kind == "mail_bounced" && e.internal));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_responder_answering_the_acknowledgement_gets_no_second_one_and_loops_stop() {
    let servers = MailServer::start();
    let desk = desk(&servers.config("support", SUPPORT)).await;
    let first = message("frank@example.test", SUPPORT, "Invoice question", "Why twice?", "");
    servers.send(&first, "frank@example.test", &[SUPPORT]).await;
    let number = desk.wait_for_tickets(1).await[0];
    let ack = servers.wait_for("frank@example.test", |m| m.auto_submitted.is_some()).await;

    // Frank's out-of-office answers the acknowledgement, as such programs do.
    let away = message(
        "frank@example.test",
        SUPPORT,
        &format!("Out of office: {}", ack.subject),
        "I am away until Monday.",
        &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{}>\r\n", ack.message_id),
    );
    servers.send(&away, "frank@example.test", &[SUPPORT]).await;
    let bodies = desk.wait_for_messages(number, 2).await;
    assert_eq!(bodies[1], "I am away until Monday.");
    // An auto-reply that answers nothing, and mail from our own address, are held back.
    let unthreaded = message(
        "frank@example.test",
        SUPPORT,
        "Out of office",
        "Away.",
        "Auto-Submitted: auto-replied\r\n",
    );
    assert!(matches!(desk.receive(unthreaded).await, Outcome::Quarantined { .. }));
    let ours = message(SUPPORT, SUPPORT, "Loop", "Me again.", "");
    assert!(matches!(desk.receive(ours).await, Outcome::Quarantined { .. }));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let acks = servers
        .mails("frank@example.test")
        .await
        .into_iter()
        .filter(|m| m.auto_submitted.is_some())
        .count();
    assert_eq!(acks, 1, "one acknowledgement per thread");
    assert_eq!(desk.email_tickets().await, vec![number]);
}

/// A message from `from` to support, with `subject` and extra headers, as raw bytes.
fn request(from: &str, subject: &str, headers: &str) -> Vec<u8> {
    message(from, SUPPORT, subject, "Please help.", headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_subject_tag_starts_a_new_ticket_and_a_signed_one_joins() {
    let desk = desk("").await;
    let Outcome::Created { number } =
        desk.receive(request("gina@example.test", "My order", "")).await
    else {
        panic!("a ticket")
    };
    for forged in [
        format!("Re: [#{number}] please add me"),
        format!("Re: [#{number}-deadbeef]"),
        "Re: [#1] x".into(),
    ] {
        let outcome = desk.receive(request("mallory@evil.test", &forged, "")).await;
        assert!(
            matches!(outcome, Outcome::Created { number: n } if n != number),
            "{forged}: {outcome:?}"
        );
    }
    let tag = desk.app.ctx.part::<ThreadKey>().tag(number);
    let signed =
        desk.receive(request("gina@example.test", &format!("Re: My order [#{tag}]"), "")).await;
    assert_eq!(signed, Outcome::Added { number });
    let detail = tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket");
    assert_eq!(detail.messages.len(), 2, "only the signed reply joined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_hold_back_floods_oversized_and_unreadable_mail_and_admins_release_it() {
    let desk = desk("[mail]\nper_sender_per_hour = 3\nmax_message_mb = 1\n").await;
    for i in 0..3 {
        let outcome = desk.receive(request("hank@example.test", &format!("Try {i}"), "")).await;
        assert!(matches!(outcome, Outcome::Created { .. }), "{outcome:?}");
    }
    let try_4 = request("hank@example.test", "Try 4", "");
    let flood = desk.receive(try_4.clone()).await;
    assert!(
        matches!(&flood, Outcome::Quarantined { reason } if reason.contains("in an hour")),
        "{flood:?}"
    );
    let huge = message("ivy@example.test", SUPPORT, "Big", &"x".repeat(1_100_000), "");
    assert!(
        matches!(desk.receive(huge).await, Outcome::Quarantined { reason } if reason.contains("limit"))
    );
    assert!(matches!(
        desk.receive(b"\x00\x01 not mail".to_vec()).await,
        Outcome::Quarantined { .. }
    ));
    // The same message again is one quarantined message, not two.
    assert_eq!(desk.receive(try_4).await, Outcome::Duplicate);

    let held = mail::quarantine(&desk.app.ctx, &desk.admin).await.expect("quarantine");
    assert!(held.len() >= 3, "{held:?}");
    let flooded = held.iter().find(|q| q.subject == "Try 4").expect("the flood is held");
    assert_eq!(flooded.from_address, "hank@example.test");
    let released = mail::release(&desk.app.ctx, &desk.admin, flooded.id).await.expect("released");
    assert!(matches!(released, Outcome::Created { .. }), "{released:?}");
    let unreadable = held.iter().find(|q| q.from_address.is_empty()).expect("the unreadable one");
    assert!(
        mail::release(&desk.app.ctx, &desk.admin, unreadable.id).await.is_err(),
        "cannot be read, stays"
    );
    mail::delete_from_quarantine(&desk.app.ctx, &desk.admin, unreadable.id).await.expect("deleted");
    let left = mail::quarantine(&desk.app.ctx, &desk.admin).await.expect("quarantine");
    assert_eq!(left.len(), held.len() - 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_of_the_corpus_becomes_a_ticket_or_waits_in_quarantine_with_a_reason() {
    let desk = desk("[mail]\nper_sender_per_hour = 1000\n").await;
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mail-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .expect("the corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "at least 50 awkward messages, found {}", files.len());
    let (mut tickets, mut held, mut other) = (0, 0, 0);
    for file in &files {
        let raw = std::fs::read(file).expect("readable");
        let outcome = desk.receive(raw).await;
        println!(
            "{}: {}",
            file.file_name().unwrap_or_default().to_string_lossy(),
            outcome.describe()
        );
        match outcome {
            Outcome::Created { .. } | Outcome::Added { .. } => tickets += 1,
            Outcome::Quarantined { reason } => {
                assert!(!reason.trim().is_empty(), "{}: a reason", file.display());
                held += 1;
            }
            Outcome::Duplicate | Outcome::Bounce => other += 1,
        }
    }
    let quarantined = mail::quarantine(&desk.app.ctx, &desk.admin).await.expect("quarantine").len();
    assert_eq!(quarantined, held, "each held message is listed once");
    assert_eq!(tickets + held + other, files.len());
    assert!(
        tickets > files.len() / 2,
        "most awkward mail still becomes tickets: {tickets} of {}",
        files.len()
    );
    let html = desk.app.query_i64s("SELECT COUNT(*) FROM ticket_messages WHERE body_html LIKE '%<script%' OR body_html LIKE '%onerror%' OR body_html LIKE '%javascript:%'").await;
    assert_eq!(html, vec![0], "no script survives into the thread");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipe_and_the_http_endpoint_store_the_same_messages_the_same_way() {
    let piped = desk("").await;
    let posted = desk("").await;
    let secret =
        mail::new_inbound_secret(&posted.app.ctx, &posted.admin, 1).await.expect("a secret");
    let first = request("jo@example.test", "Login fails", "");
    let first_id = Mail::parse(&first).message_id;
    let batch = vec![
        first.clone(),
        request("jo@example.test", "Re: Login fails", &format!("In-Reply-To: <{first_id}>\r\n")),
        first.clone(),
        request("kim@example.test", "Re: [#1001] add me", ""),
        request("news@example.test", "Newsletter", "Precedence: bulk\r\n"),
    ];
    let http = posted.app.client();
    for raw in &batch {
        let mut pipe = std::process::Command::new(frontdesk_tests::frontdesk_binary());
        pipe.args(["--data-dir", piped.app.data_dir.path().to_str().expect("utf-8")]);
        if let Some(url) = &piped.app.database.url {
            pipe.args(["--database-url", url]);
        }
        let mut child = pipe
            .args(["mail", "receive", "--mailbox", "support"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("frontdesk runs");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), raw).expect("piped");
        let output = child.wait_with_output().expect("it ends");
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));

        let answer = http
            .post("/api/mail/inbound/support")
            .header("authorization", format!("Bearer {secret}"))
            .header("content-type", "message/rfc822")
            .body(raw.clone())
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
    }
    let piped_shape = shape(&piped).await;
    assert_eq!(piped_shape, shape(&posted).await);
    assert_eq!(
        piped_shape,
        vec![
            ("Login fails".into(), 2),
            ("Re: [#1001] add me".into(), 1),
            ("quarantined".into(), 1)
        ]
    );

    // Wrong or missing secrets, unknown mailboxes and oversized bodies are refused.
    let post = |path: &str, secret: Option<&str>, body: Vec<u8>| {
        let mut request = http.post(path).body(body);
        if let Some(secret) = secret {
            request = request.header("authorization", format!("Bearer {secret}"));
        }
        request.send()
    };
    assert_eq!(
        post("/api/mail/inbound/support", Some("wrong"), first.clone())
            .await
            .expect("answer")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post("/api/mail/inbound/support", None, first.clone()).await.expect("answer").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post("/api/mail/inbound/sales", Some(&secret), first.clone())
            .await
            .expect("answer")
            .status(),
        StatusCode::UNAUTHORIZED,
        "an unknown mailbox answers like a wrong secret"
    );
    // Whatever type a client claims, the body is mail: a 2 MB message sent as a form (curl's
    // default) with a `%00` in its text is taken like any other.
    let big = message(
        "max@example.test",
        SUPPORT,
        "Logs attached",
        &format!("%00 {}", "log line\r\n".repeat(230_000)),
        "",
    );
    let answer = http
        .post("/api/mail/inbound/support")
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let huge = vec![b'x'; 26 * 1024 * 1024];
    assert_eq!(
        post("/api/mail/inbound/support", Some(&secret), huge).await.expect("answer").status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let unknown = std::process::Command::new(frontdesk_tests::frontdesk_binary())
        .args(["--data-dir", piped.app.data_dir.path().to_str().expect("utf-8")])
        .args(piped.app.database.url.iter().flat_map(|u| ["--database-url", u.as_str()]))
        .args(["mail", "receive", "--mailbox", "sales"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("frontdesk runs");
    assert_eq!(unknown.status.code(), Some(67), "EX_NOUSER for a mailbox that does not exist");
    // A mistyped data directory is a temporary failure (the MTA keeps the mail), never a new,
    // empty database that would bounce everything; so is a usage error.
    let elsewhere = tempfile::tempdir().expect("a folder");
    let wrong = elsewhere.path().join("typo");
    let mistyped = std::process::Command::new(frontdesk_tests::frontdesk_binary())
        .args([
            "--data-dir",
            wrong.to_str().expect("utf-8"),
            "mail",
            "receive",
            "--mailbox",
            "support",
        ])
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("frontdesk runs");
    assert_eq!(mistyped.status.code(), Some(75));
    assert!(!wrong.join("frontdesk.db").exists(), "no database was made");
    let usage = std::process::Command::new(frontdesk_tests::frontdesk_binary())
        .args(["mail", "receive", "--mailbox"])
        .output()
        .expect("frontdesk runs");
    assert_eq!(usage.status.code(), Some(75));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_set_up_mailboxes_and_only_agents_read_mail() {
    let desk = desk("").await;
    let agent = desk
        .app
        .create_agent(&desk.admin, "bo@example.com", "Bo", frontdesk_core::agents::Role::Agent)
        .await;
    assert!(matches!(
        mail::mailboxes(&desk.app.ctx, &agent).await,
        Err(frontdesk_core::error::Error::Forbidden)
    ));
    assert!(matches!(
        mail::quarantine(&desk.app.ctx, &agent).await,
        Err(frontdesk_core::error::Error::Forbidden)
    ));
    let bo = desk.app.client();
    bo.sign_in("bo@example.com", PASSWORD).await;
    assert_eq!(bo.call("list_mailboxes", &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(bo.call("new_mailbox_secret", &[("id", "1")]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        desk.app.client().call("list_quarantine", &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(bo.get("/api/mail/originals/999").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bo.get("/api/mail/files/999").await.status(), StatusCode::NOT_FOUND);
    // Mailbox input is checked field by field.
    let ada = desk.app.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let bad = [
        ("id", ""),
        ("name", "no spaces!"),
        ("address", "not-an-address"),
        ("display_name", ""),
        ("team_id", ""),
        ("signature", ""),
        ("ack_subject", ""),
        ("ack_body", ""),
    ];
    let answer = ada.call("save_mailbox", &bad).await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: serde_json::Value = answer.json().await.expect("json");
    for field in ["name", "address", "display_name"] {
        assert!(frontdesk_tests::field_error(&answer, field).is_some(), "{field}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_choose_which_notifications_reach_them_by_email() {
    let desk = desk("").await;
    let role = frontdesk_core::agents::Role::Agent;
    let bo = desk.app.create_agent(&desk.admin, "bo@example.test", "Bo", role).await;
    let cy = desk.app.create_agent(&desk.admin, "cy@example.test", "Cy", role).await;
    let defaults = mail::preferences(&desk.app.ctx, &bo).await.expect("preferences");
    assert_eq!(defaults, mail::MailPreferences::default(), "everything is on at first");
    let quiet = mail::MailPreferences { assigned: false, ..mail::MailPreferences::default() };
    assert_eq!(mail::set_preferences(&desk.app.ctx, &bo, quiet).await.expect("saved"), quiet);

    let Outcome::Created { number } = desk.receive(request("lu@example.test", "Help", "")).await
    else {
        panic!("a ticket")
    };
    for agent in [&bo, &cy] {
        let version =
            tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket").ticket.version;
        let change = tickets::TicketChanges {
            version,
            assignee_id: Some(Some(agent.id)),
            ..Default::default()
        };
        tickets::update(&desk.app.ctx, &desk.admin, number, change).await.expect("assigned");
    }
    let in_app = desk
        .app
        .query_i64s("SELECT agent_id FROM notifications WHERE kind = 'assigned' ORDER BY id")
        .await;
    assert_eq!(in_app, vec![bo.id, cy.id], "both hear of it in the app");
    let by_mail = desk
        .app
        .query_i64s("SELECT n.agent_id FROM mail_outbox o JOIN notifications n ON n.id = o.notification_id ORDER BY o.id")
        .await;
    assert_eq!(by_mail, vec![cy.id], "only Cy wants it by email");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_forge_bounces_follow_tickets_or_loop_through_plus_addresses() {
    let desk = desk("").await;
    let first = request("carol@example.test", "Printer", "Cc: dan@example.test\r\n");
    let Outcome::Created { number } = desk.receive(first).await else { panic!("a ticket") };
    desk.write(number, MessageKind::Reply, "Try this.").await;
    // As the sender records it once the reply is composed.
    desk.app
        .execute("UPDATE mail_outbox SET message_id = 'fd.9.abc@example.test', to_address = 'carol@example.test' WHERE kind = 'reply'")
        .await;
    let reports = std::sync::atomic::AtomicUsize::new(0);
    let report = |from: &str, recipient: &str| {
        format!(
            "From: {from}\r\nTo: {SUPPORT}\r\nSubject: Undelivered\r\nMessage-ID: <report{}@x.test>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <fd.9.abc@example.test>\r\n--b--\r\n",
            reports.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        )
        .into_bytes()
    };
    let forged = desk.receive(report("eve@example.test", "carol@example.test")).await;
    assert!(
        matches!(&forged, Outcome::Quarantined { reason } if reason.contains("no mail server")),
        "{forged:?}"
    );
    let elsewhere = desk.receive(report("MAILER-DAEMON@example.test", "eve@example.test")).await;
    assert!(matches!(elsewhere, Outcome::Quarantined { .. }), "a report about another address");
    let state = |desk: &Desk| {
        let (ctx, admin) = (desk.app.ctx.clone(), desk.admin.clone());
        async move {
            let mail = mail::ticket_mail(&ctx, &admin, number).await.expect("mail");
            (
                mail.messages.iter().find_map(|m| m.delivery.clone()).map(|d| d.0),
                mail.customer_bounced.is_some(),
            )
        }
    };
    assert_eq!(state(&desk).await, (Some(DeliveryState::Queued), false), "nothing believed yet");
    // A follower's copy bouncing marks the follower, not the customer's message.
    assert_eq!(
        desk.receive(report("MAILER-DAEMON@example.test", "dan@example.test")).await,
        Outcome::Bounce
    );
    assert_eq!(state(&desk).await, (Some(DeliveryState::Queued), false));
    assert_eq!(
        desk.app
            .query_i64s("SELECT COUNT(*) FROM mail_bounces WHERE email = 'dan@example.test'")
            .await,
        vec![1]
    );
    assert_eq!(
        desk.receive(report("MAILER-DAEMON@example.test", "carol@example.test")).await,
        Outcome::Bounce
    );
    assert_eq!(state(&desk).await, (Some(DeliveryState::Failed), true));

    // A stranger holding the tag is heard, but neither they nor their copies start following.
    let tag = desk.app.ctx.part::<ThreadKey>().tag(number);
    let stranger =
        request("eve@example.test", &format!("Re: Printer [#{tag}]"), "Cc: mallory@evil.test\r\n");
    assert_eq!(desk.receive(stranger).await, Outcome::Added { number });
    let mail = mail::ticket_mail(&desk.app.ctx, &desk.admin, number).await.expect("mail");
    assert_eq!(mail.followers, vec!["dan@example.test".to_owned()]);

    // An out-of-office answering a solved ticket is kept without reopening it.
    let version =
        tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket").ticket.version;
    let solve = tickets::TicketChanges {
        version,
        status: Some(frontdesk_core::tickets::Status::Solved),
        ..Default::default()
    };
    tickets::update(&desk.app.ctx, &desk.admin, number, solve).await.expect("solved");
    let away = request(
        "carol@example.test",
        &format!("Away [#{tag}]"),
        "Auto-Submitted: auto-replied\r\n",
    );
    assert_eq!(desk.receive(away).await, Outcome::Added { number });
    let detail = tickets::get(&desk.app.ctx, &desk.admin, number).await.expect("ticket");
    assert_eq!(detail.ticket.status, frontdesk_core::tickets::Status::Solved);

    // frontdesk's own address with a tag is still frontdesk.
    let looped = desk.receive(request(&format!("support+{tag}@example.test"), "Loop", "")).await;
    assert!(matches!(looped, Outcome::Quarantined { .. }), "{looped:?}");
}

//! Hostile input everywhere, opened as an admin in headless Chromium: a corpus of script
//! payloads goes into every field agents, customers and visitors control (names, subjects,
//! messages, notes, custom fields, organizations, teams, agents, articles, canned responses,
//! widget sites, SLA policies, chat visitors and their messages), then every page that shows them
//! is opened. No payload may run (the `window.__xss` flag they would set stays unset), every page
//! must hydrate, and the browser console must stay free of errors (a panic of the wasm app while
//! hydrating, a refused script, a failed resource).

use frontdesk_core::agents::teams;
use frontdesk_core::agents::{Agent, Email, NewAgent, PersonName, Role};
use frontdesk_core::chats::{self, canned, sites};
use frontdesk_core::customers::{self, organizations};
use frontdesk_core::kb::editor;
use frontdesk_core::tickets::{Channel, MessageBody, MessageKind, Priority, Subject};
use frontdesk_core::{sla, tickets};
use frontdesk_tests::browser::Browser;
use frontdesk_tests::{PASSWORD, TestApp, spawn_app};

/// Script payloads; each would set `window.__xss` if it ran.
const PAYLOADS: [&str; 36] = [
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=1\">",
    "</textarea><script>window.__xss=1</script>",
    "</title><script>window.__xss=1</script>",
    "\"><svg onload=\"window.__xss=1\">",
    "'><img src=x onerror=window.__xss=1>",
    "javascript:window.__xss=1",
    "[click](javascript:window.__xss=1)",
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
    "<a href=\"javascript:window.__xss=1\">link</a>",
    "<body onload=window.__xss=1>",
    "<details open ontoggle=window.__xss=1>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "<!--<img src=x onerror=window.__xss=1>-->",
    "--><img src=x onerror=window.__xss=1>",
    "<!> and <!--> and -->",
    "</script><script>window.__xss=1</script>",
    "{{constructor.constructor('window.__xss=1')()}}",
    "${window.__xss=1}",
    "<style>@import 'javascript:window.__xss=1';</style>",
    "<input autofocus onfocus=window.__xss=1>",
    "<video><source onerror=window.__xss=1></video>",
    "<object data=\"javascript:window.__xss=1\"></object>",
    "<embed src=\"javascript:window.__xss=1\">",
    "<base href=\"javascript:/\">",
    "<form action=\"javascript:window.__xss=1\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=1\">",
    "\" onmouseover=\"window.__xss=1",
    "<svg><script>window.__xss=1</script></svg>",
    "<img src=\"x\" onerror=\"&#119;indow.__xss=1\">",
    "<scr<script>ipt>window.__xss=1</script>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=1>\">",
    "<select><template><img src=x onerror=window.__xss=1></template></select>",
    "<!DOCTYPE html><script>window.__xss=1</script>",
    "Bob \"the Builder\" O'Brien & <Sons>",
    "\\\" }); window.__xss=1; ({ \\\"",
];

/// `text` cut to `max` characters (names hold 100, subjects 200).
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn name(text: &str) -> PersonName {
    PersonName::parse(&cut(text, 100))
        .unwrap_or_else(|e| panic!("{text:?} as a name: {}", e.message))
}

/// Everything an admin will open, filled with the payloads.
struct Hostile {
    tickets: Vec<i64>,
    customers: Vec<i64>,
    organization: i64,
    article: i64,
    article_slug: String,
}

async fn fill_with_payloads(app: &TestApp, admin: &Agent) -> Hostile {
    let ctx = &app.ctx;
    let all = PAYLOADS.join("\n\n");
    for (i, payload) in PAYLOADS.iter().enumerate().take(4) {
        let email = format!("agent{i}@example.com");
        let new =
            NewAgent::parse(&email, &cut(payload, 100), Role::Agent, PASSWORD).expect("an agent");
        frontdesk_core::agents::create(ctx, admin, new).await.expect("agent created");
        teams::create(ctx, admin, &name(payload)).await.expect("team");
    }
    let organization =
        organizations::create(ctx, admin, &name(PAYLOADS[4]), &["hostile.example".into()])
            .await
            .expect("organization")
            .id;
    let field = customers::define_field(
        ctx,
        admin,
        &cut(PAYLOADS[1], 60),
        frontdesk_core::customers::FieldKind::Text,
    )
    .await
    .expect("a field");

    let mut tickets_made = Vec::new();
    let mut customers = Vec::new();
    for (i, chunk) in PAYLOADS.chunks(3).enumerate() {
        let new = tickets::NewTicket {
            requester_email: Email::parse(&format!("customer{i}@hostile.example"))
                .expect("an email"),
            requester_name: name(chunk[0]),
            subject: Subject::parse(&cut(chunk[1], 200)).expect("a subject"),
            body: MessageBody::parse(chunk[2]).expect("a body"),
            priority: Priority::Normal,
            channel: Channel::WebForm,
            tags: Vec::new(),
        };
        let detail = tickets::create(ctx, admin, new).await.expect("a ticket");
        let number = detail.ticket.number;
        let note = MessageBody::parse(&all).expect("a note");
        tickets::add_message(ctx, admin, number, MessageKind::Note, note, None)
            .await
            .expect("a note");
        tickets_made.push(number);
        customers.push(detail.ticket.requester.id);
    }
    let update = customers::ContactUpdate {
        name: name(PAYLOADS[2]),
        phone: String::new(),
        notes: all.clone(),
        organization_id: Some(Some(organization)),
        fields: vec![(field.key.clone(), cut(PAYLOADS[3], 200))],
    };
    customers::update(ctx, admin, customers[0], &update).await.expect("customer updated");

    let draft = frontdesk_core::kb::ArticleDraft {
        title: cut(PAYLOADS[3], 150),
        slug: "hostile".into(),
        locale: "en".into(),
        category: cut(PAYLOADS[5], 80),
        tags: "hostile".into(),
        status: "published".into(),
        body: all.clone(),
    };
    let article = editor::save(ctx, admin, None, &draft).await.expect("an article");
    let article_slug = editor::get(ctx, admin, article).await.expect("the article").draft.slug;
    let reply = canned::CannedDraft::parse("hostile", &cut(PAYLOADS[9], 100), &all)
        .expect("a canned response");
    canned::save(ctx, admin, None, reply).await.expect("canned response");
    let settings = sites::SiteSettings::parse(
        &cut(PAYLOADS[10], 100),
        "https://shop.example.com",
        false,
        PAYLOADS[11],
        true,
    )
    .expect("site settings");
    let site = sites::create(ctx, admin, settings).await.expect("a site");
    let policy = sla::PolicyDef {
        id: 0,
        name: cut(PAYLOADS[12], 100),
        position: 0,
        calendar_id: None,
        conditions: sla::Conditions::default(),
        targets: [sla::minutes(Some(60), Some(60), Some(600)); 4],
        pause_statuses: Vec::new(),
        warn_percent: 75,
        breach_actions: sla::BreachActions::default(),
    };
    sla::save_policy(ctx, admin, &policy).await.expect("a policy");

    // Chat visitors with hostile names (a quote among them) and messages.
    for (i, payload) in [PAYLOADS[34], PAYLOADS[0], PAYLOADS[3]].iter().enumerate() {
        let hello = sites::Hello { name: Some(cut(payload, 100)), ..sites::Hello::default() };
        let session = sites::start_visitor(ctx, &site.public_token, hello, [127, 0, 0, 1].into())
            .await
            .expect("a visitor");
        let sending = chats::visitor_send(
            ctx,
            &session.visitor,
            None,
            &format!("x-{i}"),
            &cut(&all, 4000),
            None,
        )
        .await
        .expect("sent");
        let (chat, _) = sending.stored().await.expect("stored");
        tickets_made.push(chat.number);
    }
    tickets_made.extend(hostile_mail(ctx, admin, &all).await);
    Hostile { tickets: tickets_made, customers, organization, article, article_slug }
}

/// A mailbox whose every text is hostile, and mail with payloads in the sender's name, the
/// subject, an HTML body, a text body with a quoted history and file names; one message is held
/// in the quarantine. Returns the tickets made.
async fn hostile_mail(ctx: &frontdesk_core::AppContext, admin: &Agent, all: &str) -> Vec<i64> {
    use frontdesk_core::mail::{self, MailboxInput, Outcome};
    let input = MailboxInput {
        name: "support".into(),
        address: "support@example.test".into(),
        display_name: cut(PAYLOADS[13], 100),
        team_id: None,
        signature: cut(all, 2000),
        acknowledge: true,
        ack_subject: cut(PAYLOADS[14], 200),
        ack_body: cut(all, 5000),
        plus_addressing: false,
    };
    mail::create_mailbox(ctx, admin, input).await.expect("a mailbox");
    let html = format!(
        "From: \"{name}\" <mallory@evil.test>\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <html@evil.test>\r\nContent-Type: text/html\r\n\r\n{all}\r\n<div class=\"gmail_quote\">{all}</div>\r\n",
        name = PAYLOADS[1].replace('"', "'"),
        subject = PAYLOADS[4],
    );
    let text = format!(
        "From: mallory@evil.test\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <text@evil.test>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{all}\r\n\r\nOn Mon, Support wrote:\r\n> {quoted}\r\n--b\r\nContent-Type: application/octet-stream; name=\"{file}\"\r\nContent-Disposition: attachment; filename=\"{file}\"\r\n\r\nbytes\r\n--b--\r\n",
        subject = PAYLOADS[2],
        quoted = PAYLOADS[0],
        file = PAYLOADS[5].replace('"', "'"),
    );
    let held = format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <held@evil.test>\r\n\r\n{all}\r\n",
        from = "x@evil.test",
        subject = PAYLOADS[3],
    );
    let mut made = Vec::new();
    for raw in [html, text, held] {
        match mail::receive(ctx, "support", raw.into_bytes()).await.expect("received") {
            Outcome::Created { number } => made.push(number),
            Outcome::Quarantined { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(made.len(), 2, "two tickets, one held back");
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_payload_in_any_field_runs_or_breaks_any_page_an_admin_opens() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let hostile = fill_with_payloads(&app, &admin).await;
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;

    let mut paths: Vec<String> = [
        "/app",
        "/app/tickets?view=open",
        "/app/chats",
        "/app/search?q=script",
        "/app/kb",
        "/app/organizations",
        "/app/customers/duplicates",
        "/app/settings/agents",
        "/app/settings/teams",
        "/app/settings/customer-fields",
        "/app/settings/slas",
        "/app/settings/widget-sites",
        "/app/settings/canned-responses",
        "/app/settings/content-gaps",
        "/app/settings/outbox",
        "/app/settings/mailboxes",
        "/app/settings/quarantine",
        "/app/notifications",
        "/app/reports/sla",
        "/help",
        "/help/search?q=script",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    paths.extend(hostile.tickets.iter().map(|n| format!("/app/tickets/{n}")));
    paths.extend(hostile.customers.iter().map(|id| format!("/app/customers/{id}")));
    paths.push(format!("/app/organizations/{}", hostile.organization));
    paths.push(format!("/app/kb/{}", hostile.article));
    paths.push(format!("/help/articles/{}", hostile.article_slug));

    let mut problems = Vec::new();
    page.console_errors().await;
    for path in &paths {
        page.goto(&format!("{}{path}", app.base_url)).await;
        page.wait_for_hydration().await;
        // Event handlers (onerror, onload, ontoggle) fire a moment after the page loads.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        if page.eval("return window.__xss || null").await != serde_json::Value::Null {
            problems.push(format!("{path}: a payload ran"));
        }
        // `<img src=x>` is a broken image its author asked for (kept, as any image a message
        // links): the browser's 404 for `/x` beside the page is that, not a fault of the page.
        let broken_image = |e: &String| {
            e.contains("Failed to load resource")
                && e.split_whitespace().next().is_some_and(|url| url.ends_with("/x"))
        };
        for error in page.console_errors().await.into_iter().filter(|e| !broken_image(e)) {
            problems.push(format!("{path}: console error: {error}"));
        }
    }

    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

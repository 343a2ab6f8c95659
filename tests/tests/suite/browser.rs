//! What a person sees and clicks, in headless Chromium: first-run setup, managing agents, signing
//! in and out, deactivation, and proof that the pages are hydrated (live without reloads).

use frontdesk_core::agents::Role;
use frontdesk_tests::browser::Browser;
use frontdesk_tests::{PASSWORD, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_creates_the_admin_who_adds_an_agent_without_a_reload_signs_out_and_the_agent_signs_in()
 {
    let app = spawn_app().await;
    let mut browser = Browser::start().await;
    let page = browser.open().await;

    // A fresh install sends the first visitor to setup.
    page.goto(&app.base_url).await;
    page.wait_for_path("/setup").await;
    page.wait_for_hydration().await;
    page.fill("#field-name", "Ada Admin").await;
    page.fill("#field-email", "ada@example.com").await;
    page.fill("#field-password", PASSWORD).await;
    page.click("button[type=submit]").await;
    page.wait_for_path("/app").await;
    page.wait_for_text(".empty-state h2", "Welcome, Ada Admin").await;

    // The admin adds an agent. The page updates in place: a marker set on `window` survives,
    // which a full page load would have wiped.
    page.click("a[href='/app/settings/agents']").await;
    page.wait_for_path("/app/settings/agents").await;
    page.wait_for_text("#agents", "ada@example.com").await;
    page.wait_for_hydration().await;
    page.eval("window.__notReloaded = 'still here'; return null").await;
    page.fill("#field-name", "Bob Agent").await;
    page.fill("#field-email", "bob@example.com").await;
    page.fill("#field-password", PASSWORD).await;
    page.click("form button.primary").await;
    page.wait_for_text("#agents tr[data-email='bob@example.com']", "Bob Agent").await;
    page.wait_for_text(".form-success", "Added Bob Agent").await;
    assert_eq!(
        page.eval("return window.__notReloaded || null").await,
        serde_json::json!("still here")
    );

    // A mistake is explained next to the field, still without a reload.
    page.fill("#field-name", "Bob Again").await;
    page.fill("#field-email", "bob@example.com").await;
    page.fill("#field-password", PASSWORD).await;
    page.click("form button.primary").await;
    page.wait_for_text("#field-email-error", "already exists").await;
    assert_eq!(
        page.eval("return window.__notReloaded || null").await,
        serde_json::json!("still here")
    );

    // Sign out, then the new agent signs in and sees no admin settings.
    page.click("#sign-out").await;
    page.wait_for_path("/login").await;
    page.wait_for_hydration().await;
    page.fill("#field-email", "bob@example.com").await;
    page.fill("#field-password", PASSWORD).await;
    page.click("button[type=submit]").await;
    page.wait_for_path("/app").await;
    page.wait_for_text(".empty-state h2", "Welcome, Bob Agent").await;
    page.wait_for_text(".me-role", "Agent").await;
    let settings_links = page
        .eval("return document.querySelectorAll(\"a[href='/app/settings/agents']\").length")
        .await;
    assert_eq!(settings_links, serde_json::json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_explained_on_the_sign_in_page() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let mut browser = Browser::start().await;
    let page = browser.open().await;

    page.goto(&format!("{}/login", app.base_url)).await;
    page.wait_for_hydration().await;
    page.fill("#field-email", "ada@example.com").await;
    page.fill("#field-password", "not the password").await;
    page.click("button[type=submit]").await;

    page.wait_for_text(".form-error", "Wrong email or password.").await;
    assert_eq!(page.path().await, "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_agents_open_session_stops_working() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let mut browser = Browser::start().await;
    let bob = browser.open().await;
    let ada = browser.open().await;
    for (page, email) in [(&bob, "bob@example.com"), (&ada, "ada@example.com")] {
        page.sign_in(&app.base_url, email, PASSWORD).await;
    }

    ada.goto(&format!("{}/app/settings/agents", app.base_url)).await;
    ada.wait_for_hydration().await;
    ada.click("tr[data-email='bob@example.com'] button.danger").await;
    ada.wait_for_text("tr[data-email='bob@example.com'] .status", "Deactivated").await;

    bob.goto(&format!("{}/app", app.base_url)).await;
    bob.wait_for_path("/login").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_opens_a_ticket_from_the_queue_replies_notes_and_solves_it_with_the_reply() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let ticket = app.create_ticket(&admin, "carol@customer.example", "Printer on fire").await;
    let number = ticket.ticket.number;
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;

    page.click("a[href='/app/tickets']").await;
    page.wait_for_text("#tickets", "Printer on fire").await;
    page.click(&format!("tr[data-number='{number}'] a")).await;
    page.wait_for_path(&format!("/app/tickets/{number}")).await;
    page.wait_for_hydration().await;
    page.eval("window.__notReloaded = 'still here'; return null").await;

    page.fill("#composer-body", "Unplug it and **stand back**. <script>window.__xss = 1</script>")
        .await;
    page.click(".composer button.primary").await;
    page.wait_for_text("#thread .message:not(.note)", "stand back").await;
    page.click(".composer-kind label:nth-child(2)").await;
    page.fill("#composer-body", "Third fire this month.").await;
    page.click(".composer button.primary").await;
    page.wait_for_text("#thread .message.note", "Third fire this month.").await;
    page.wait_for_text(".ticket-header .badges", "Open").await;

    page.click("#thread .message:nth-child(2) button.solve").await;
    page.wait_for_text(".ticket-header .badges", "Solved").await;
    page.wait_for_text("#thread .message.resolution", "stand back").await;
    assert_eq!(
        page.eval("return window.__notReloaded || null").await,
        serde_json::json!("still here")
    );
    assert_eq!(
        page.eval("return window.__xss || null").await,
        serde_json::Value::Null,
        "a typed script never runs"
    );
    assert_eq!(
        page.eval("return document.querySelectorAll('#thread strong').length > 1").await,
        serde_json::json!(true)
    );
}

/// Signs `email` in on a fresh window and opens ticket `number`.
async fn open_ticket_as(
    browser: &mut Browser,
    app: &frontdesk_tests::TestApp,
    email: &str,
    number: i64,
) -> frontdesk_tests::browser::Page {
    let page = browser.open().await;
    page.sign_in(&app.base_url, email, PASSWORD).await;
    page.goto(&format!("{}/app/tickets/{number}", app.base_url)).await;
    page.wait_for_hydration().await;
    page.find("#thread").await;
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_agent_sees_who_is_replying_and_the_reply_live() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let number =
        app.create_ticket(&admin, "carol@customer.example", "Printer on fire").await.ticket.number;
    let mut browser = Browser::start().await;
    let ada = open_ticket_as(&mut browser, &app, "ada@example.com", number).await;
    let bob = open_ticket_as(&mut browser, &app, "bob@example.com", number).await;
    ada.eval("window.__notReloaded = 'still here'; return null").await;

    ada.wait_for_text("#presence", "Bob is viewing").await;
    bob.fill("#composer-body", "On my way with an extinguisher.").await;
    ada.wait_for_text("#presence", "Bob is replying").await;
    ada.screenshot("ticket-presence").await;
    bob.click("#send").await;

    ada.wait_for_text("#thread", "On my way with an extinguisher.").await;
    ada.wait_for_text(".ticket-header .badges", "Open").await;
    assert_eq!(
        ada.eval("return window.__notReloaded || null").await,
        serde_json::json!("still here")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_cop_holds_a_reply_when_the_customer_wrote_meanwhile() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let ticket = app.create_ticket(&admin, "carol@customer.example", "Refund please").await.ticket;
    let mut browser = Browser::start().await;
    let ada = open_ticket_as(&mut browser, &app, "ada@example.com", ticket.number).await;

    ada.fill("#composer-body", "Your refund is on its way.").await;
    let body = frontdesk_core::tickets::MessageBody::parse("Never mind, I found the receipt!")
        .expect("body");
    frontdesk_core::portal::reply(&app.ctx, ticket.requester.id, ticket.number, body)
        .await
        .expect("customer replied");
    ada.click("#send").await;

    ada.wait_for_text("#held", "Never mind, I found the receipt!").await;
    ada.screenshot("ticket-traffic-cop").await;
    ada.wait_for_text("#send", "Send anyway").await;
    let draft = ada.eval("return document.querySelector('#composer-body').value").await;
    assert_eq!(draft, serde_json::json!("Your refund is on its way."), "the draft is kept");
    ada.click("#send").await;
    ada.wait_for_text("#thread", "Your refund is on its way.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_the_queue_by_keyboard_replies_and_solves_with_the_reply() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let mut numbers = Vec::new();
    for subject in ["First", "Second", "Third"] {
        numbers
            .push(app.create_ticket(&admin, "carol@customer.example", subject).await.ticket.number);
    }
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;
    page.goto(&format!("{}/app/tickets?view=open", app.base_url)).await;
    page.wait_for_hydration().await;
    let selected = "return document.querySelector('#tickets tr.selected')?.dataset.number ?? null";
    // Newest first: Third, Second, First.
    page.wait_for_text("#tickets tr.selected", "Third").await;

    page.press("j").await;
    page.press("j").await;
    page.press("k").await;
    assert_eq!(page.eval(selected).await, serde_json::json!(numbers[1].to_string()));
    page.press("?").await;
    page.wait_for_text("#shortcut-help", "Keyboard shortcuts").await;
    page.press("\u{E00C}").await;
    assert_eq!(
        page.eval("return document.querySelector('#shortcut-help') === null").await,
        serde_json::json!(true)
    );
    page.press("\u{E007}").await;
    page.wait_for_path(&format!("/app/tickets/{}", numbers[1])).await;
    page.wait_for_text(".ticket-header h1", "Second").await;
    page.press("r").await;
    assert_eq!(
        page.eval("return document.activeElement.id").await,
        serde_json::json!("composer-body")
    );
    page.client
        .active_element()
        .await
        .expect("focused")
        .send_keys("Typed straight away.")
        .await
        .expect("typed");
    page.click("#send").await;
    page.wait_for_text("#thread", "Typed straight away.").await;
    page.click("#thread .message:nth-child(2) button.solve").await;
    page.wait_for_text(".ticket-header .badges", "Solved").await;
    page.wait_for_text("#thread .message.resolution", "Typed straight away.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_filters_the_queue_and_changes_several_tickets_at_once() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let mut numbers = Vec::new();
    for subject in ["Alpha", "Bravo", "Charlie"] {
        numbers
            .push(app.create_ticket(&admin, "carol@customer.example", subject).await.ticket.number);
    }
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;
    page.goto(&format!("{}/app/tickets?view=open", app.base_url)).await;
    page.wait_for_hydration().await;
    page.wait_for_text(".tab.active .count", "3").await;

    for n in &numbers[..2] {
        page.click(&format!("tr[data-number='{n}'] input.select-ticket")).await;
    }
    page.wait_for_text("#bulk", "2 selected").await;
    page.screenshot("queue-bulk").await;
    page.eval("const s = document.querySelector('#bulk select[name=priority]'); s.value = 'urgent'; return null").await;
    page.click("#apply-bulk").await;
    for n in &numbers[..2] {
        page.wait_for_text(&format!("tr[data-number='{n}']"), "Urgent").await;
    }

    page.eval(
        "document.querySelector('#filters select[name=priority]').value = 'urgent'; return null",
    )
    .await;
    page.click("#filters button[type=submit]").await;
    page.wait_for_text("#tickets", "Bravo").await;
    let rows = "return document.querySelectorAll('#tickets tbody tr').length";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while page.eval(rows).await != serde_json::json!(2) {
        assert!(std::time::Instant::now() < deadline, "the filter should leave two rows");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.client.current_url().await.expect("url").as_str().contains("priority=urgent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_an_sla_and_the_queue_and_the_ticket_show_its_clock_and_pause() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;

    // A calendar, then a policy on it with a four-hour first response for normal tickets.
    page.goto(&format!("{}/app/settings/slas", app.base_url)).await;
    page.wait_for_hydration().await;
    page.fill("#calendar-name", "Office").await;
    page.fill("#calendar-zone", "Europe/Berlin").await;
    page.fill("#calendar-hours-sat", "09:00 to noon").await;
    page.click("#calendar-save").await;
    page.wait_for_text("#calendar-form .field-error", "not a range like 09:00-17:00").await;
    page.fill("#calendar-hours-sat", "00:00-24:00").await;
    page.fill("#calendar-hours-sun", "00:00-24:00").await;
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        page.fill(&format!("#calendar-hours-{day}"), "00:00-24:00").await;
    }
    page.click("#calendar-save").await;
    page.wait_for_text("#calendars", "Europe/Berlin").await;
    page.fill("#policy-name", "Standard").await;
    page.eval("const s = document.querySelector('#policy-calendar'); s.value = s.options[1].value; return null").await;
    page.fill("#policy-target-first_response_normal", "4").await;
    page.fill("#policy-target-resolution_normal", "24").await;
    page.click("#policy-save").await;
    page.wait_for_text("#policies", "Standard").await;
    page.wait_for_text("#policies", "Office").await;

    // The preview says when a ticket created now would be due.
    page.click("#policies [data-preview]").await;
    page.wait_for_text("#policies .preview", "First response:").await;

    // Holidays imported from an iCalendar file show on the calendar.
    page.click("#calendars details summary").await;
    page.fill(
        "#calendars textarea[name=ical]",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\nDTEND;VALUE=DATE:20261227\nSUMMARY:Christmas\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .await;
    page.click("#calendars button[type=submit]").await;
    page.wait_for_text("#calendars .holidays", "2026-12-25..2026-12-26").await;

    // A new ticket gets a time-left badge in the queue.
    let ticket =
        app.create_ticket(&admin, "carol@customer.example", "Printer on fire").await.ticket;
    app.sla_due_becomes(ticket.id, |due| due.is_some()).await;
    page.goto(&format!("{}/app/tickets?view=open&sort=sla", app.base_url)).await;
    page.wait_for_text(&format!("tr[data-number='{}'] .badge.sla", ticket.number), "3h").await;

    // Put it on pending: its SLA timeline shows the pause.
    page.goto(&format!("{}/app/tickets/{}", app.base_url, ticket.number)).await;
    page.wait_for_hydration().await;
    page.wait_for_text("#sla-policy", "Standard").await;
    let changes = frontdesk_core::tickets::TicketChanges {
        version: ticket.version,
        status: Some(frontdesk_core::tickets::Status::Pending),
        ..Default::default()
    };
    frontdesk_core::tickets::update(&app.ctx, &admin, ticket.number, changes)
        .await
        .expect("pending");
    page.wait_for_text("#sla-timeline", "paused").await;
    page.wait_for_text("#sla-timeline", "CET").await;

    // The compliance report lists the policy with the ticket's clocks, and offers the CSV.
    page.goto(&format!("{}/app/reports/sla", app.base_url)).await;
    page.wait_for_text("#sla-report tbody tr[data-group='Standard'] .group", "Standard").await;
    page.wait_for_text("#report-csv", "Download CSV").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sla_breach_lights_up_the_assignees_notifications_live_and_marking_them_read_clears_it()
{
    use frontdesk_core::sla::{self, BreachActions, Conditions, PolicyDef};
    use frontdesk_core::tickets::TicketChanges;
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let targets = sla::minutes(Some(60), None, None);
    let policy = PolicyDef {
        id: 0,
        name: "Fast".into(),
        position: 0,
        calendar_id: None,
        conditions: Conditions::default(),
        targets: [targets; 4],
        pause_statuses: Vec::new(),
        warn_percent: 0,
        breach_actions: BreachActions::default(),
    };
    sla::save_policy(&app.ctx, &admin, &policy).await.expect("policy");
    let ticket =
        app.create_ticket(&admin, "carol@customer.example", "Router <b>down</b>").await.ticket;
    let changes = TicketChanges {
        version: ticket.version,
        assignee_id: Some(Some(admin.id)),
        ..TicketChanges::default()
    };
    frontdesk_core::tickets::update(&app.ctx, &admin, ticket.number, changes)
        .await
        .expect("assigned");
    app.sla_due_becomes(ticket.id, |due| due.is_some()).await;

    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;
    page.goto(&format!("{}/app/notifications", app.base_url)).await;
    page.wait_for_hydration().await;
    page.wait_for_text(".empty-state", "Nothing yet").await;

    // The breach arrives over the live socket: the count and the list update without a reload.
    app.age_ticket(ticket.id, 2).await;
    page.wait_for_text("#unread-count", "1").await;
    page.wait_for_text("#notifications .notification.unread", "First response breached on #").await;
    page.wait_for_text("#notifications .notification.unread", "Router <b>down</b>").await;
    assert_eq!(
        page.eval("return document.querySelectorAll('#notifications b').length").await,
        0,
        "the subject is text"
    );

    page.click("#mark-read").await;
    page.wait_for_text("#notifications .notification", "First response breached").await;
    for _ in 0..50 {
        if page.eval("return document.querySelector('#unread-count') === null && document.querySelector('.notification.unread') === null").await == true {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the unread count did not clear");
}

/// How long the search index may take to catch up before a browser test goes on.
const SEARCHABLE: std::time::Duration = std::time::Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_inserts_a_past_resolution_from_the_similar_answers_panel_into_a_reply() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let solved = app.create_ticket(&admin, "carol@customer.example", "CSV export times out").await;
    app.solve_with_reply(
        &admin,
        solved.ticket.number,
        "Large CSV exports are emailed: ask for the export by email.",
    )
    .await;
    let open = app.create_ticket(&admin, "dave@other.example", "Export to CSV times out").await;
    app.agent_search_until("csv", SEARCHABLE, |f| f.total >= 2).await;

    let mut browser = Browser::start().await;
    let page = open_ticket_as(&mut browser, &app, "ada@example.com", open.ticket.number).await;
    page.wait_for_text("#similar-answers", "CSV export times out").await;
    page.wait_for_text("#similar-answers", "Large CSV exports are emailed").await;
    page.click("#similar-answers .insert-answer").await;
    let typed = page.eval("return document.getElementById('composer-body').value").await;
    assert_eq!(
        typed,
        serde_json::json!("> Large CSV exports are emailed: ask for the export by email.")
    );
    page.click(".composer button.primary").await;
    page.wait_for_text("#thread .message:not(.note)", "Large CSV exports are emailed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_finds_a_help_article_by_a_misspelled_search() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    app.agent_search_until("deactivating agents", SEARCHABLE, |f| f.total >= 1).await;
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.goto(&format!("{}/help", app.base_url)).await;
    page.fill("#help-q", "deactivatng agnets").await;
    page.click(".search-form button[type=submit]").await;
    page.wait_for_path("/help/search").await;
    page.wait_for_text("#search-results", "Adding, changing and deactivating agents").await;
    page.click("#search-results a[href='/help/articles/managing-agents']").await;
    page.wait_for_path("/help/articles/managing-agents").await;
    page.wait_for_text("#help-article h1", "Adding, changing and deactivating agents").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_uses_a_wide_screen_and_sign_out_stays_in_reach_on_a_short_one() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    for i in 0..5 {
        app.create_ticket(
            &admin,
            &format!("customer{i}@example.com"),
            &format!("A rather long subject about an invoice that was paid twice, number {i}"),
        )
        .await;
    }
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.client.set_window_size(1400, 900).await.expect("a wide, short window");
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;

    page.goto(&format!("{}/app/tickets?view=open", app.base_url)).await;
    page.wait_for_hydration().await;
    page.find("#tickets tbody tr").await;
    let scroll = page.eval("let e = document.querySelector('#tickets'); while (e && getComputedStyle(e).overflowX === 'visible') e = e.parentElement; return e ? [e.scrollWidth, e.clientWidth] : [0, 0]").await;
    let sign_out = page.eval("const r = document.querySelector('#sign-out').getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]").await;

    let number = |v: &serde_json::Value, i: usize| v[i].as_f64().unwrap_or(f64::NAN);
    assert!(
        number(&scroll, 0) <= number(&scroll, 1),
        "the queue needs no horizontal scrolling at 1400 px: {scroll}"
    );
    assert!(
        number(&sign_out, 0) >= 0.0 && number(&sign_out, 1) <= number(&sign_out, 2),
        "Sign out is on screen at 900 px: {sign_out}"
    );
}

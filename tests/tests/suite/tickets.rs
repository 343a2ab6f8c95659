//! Tickets over HTTP (server functions), on whichever database the run uses: the lifecycle, a
//! history entry for every change, conflicts on stale saves, queue views and keyset pagination,
//! and markdown that renders inert.

use frontdesk_core::agents::Role;
use frontdesk_tests::{ApiClient, PASSWORD, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

/// An app with an admin and an agent, both signed in.
async fn team() -> (TestApp, ApiClient, ApiClient, i64) {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let bob = app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let ada_client = app.client();
    ada_client.sign_in("ada@example.com", PASSWORD).await;
    let bob_client = app.client();
    bob_client.sign_in("bob@example.com", PASSWORD).await;
    (app, ada_client, bob_client, bob.id)
}

async fn json(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, expected, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn create_ticket(client: &ApiClient, subject: &str) -> Value {
    let response = client
        .call(
            "create_ticket",
            &[
                ("requester_email", "carol@customer.example"),
                ("requester_name", "Carol"),
                ("subject", subject),
                ("body", "The printer is **on fire**."),
                ("priority", "normal"),
                ("tags", "printer, urgent-ish"),
            ],
        )
        .await;
    json(response, StatusCode::OK).await
}

fn number(ticket: &Value) -> String {
    ticket["ticket"]["number"].as_i64().expect("a ticket number").to_string()
}

fn version(ticket: &Value) -> String {
    ticket["ticket"]["version"].as_i64().expect("a version").to_string()
}

fn event_kinds(ticket: &Value) -> Vec<String> {
    ticket["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_goes_from_new_to_solved_with_a_resolution_and_every_change_in_its_history() {
    let (_app, ada, _bob, bob_id) = team().await;

    let created = create_ticket(&ada, "Printer on fire").await;
    assert_eq!(created["ticket"]["status"], "new");
    assert_eq!(created["ticket"]["requester"]["name"], "Carol");
    assert_eq!(created["ticket"]["tags"], serde_json::json!(["printer", "urgent-ish"]));
    let n = number(&created);

    let replied = json(
        ada.call(
            "add_ticket_message",
            &[("number", &n), ("kind", "reply"), ("body", "Unplug it, please.")],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(replied["ticket"]["status"], "open", "a reply opens a new ticket");
    let reply_id = replied["messages"][1]["id"].as_i64().expect("reply id").to_string();
    let noted = json(
        ada.call(
            "add_ticket_message",
            &[("number", &n), ("kind", "note"), ("body", "Third fire this month.")],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let assigned = json(
        ada.call(
            "update_ticket",
            &[
                ("number", &n),
                ("version", &version(&noted)),
                ("assignee_id", &bob_id.to_string()),
                ("priority", "high"),
                ("status", "pending"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(assigned["ticket"]["assignee"]["name"], "Bob");
    let solved = json(
        ada.call(
            "update_ticket",
            &[
                ("number", &n),
                ("version", &version(&assigned)),
                ("status", "solved"),
                ("resolution_message_id", &reply_id),
                ("remove_tags", "urgent-ish"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(solved["ticket"]["status"], "solved");
    assert_eq!(solved["resolution_message_id"].as_i64().map(|id| id.to_string()), Some(reply_id));
    assert_eq!(solved["ticket"]["tags"], serde_json::json!(["printer"]));
    assert_eq!(
        event_kinds(&solved),
        [
            "created",
            "reply_added",
            "reply_added",
            "status_changed",
            "note_added",
            "status_changed",
            "priority_changed",
            "assignee_changed",
            "status_changed",
            "resolution_marked",
            "tags_changed",
        ]
    );
    let seqs: Vec<i64> = solved["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["seq"].as_i64())
        .collect();
    assert_eq!(seqs, (1..=11).collect::<Vec<_>>(), "one gapless sequence per ticket");
    assert!(solved["events"].as_array().expect("events").iter().all(|e| e["actor"] == "Ada"));
    let internal: Vec<_> = solved["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["internal"] == true)
        .collect();
    assert_eq!(internal.len(), 1, "only the note's event is internal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_over_a_newer_version_is_a_conflict_that_returns_the_fresh_ticket() {
    let (_app, ada, bob, _bob_id) = team().await;
    let created = create_ticket(&ada, "Login broken").await;
    let (n, seen) = (number(&created), version(&created));

    let first = bob
        .call("update_ticket", &[("number", &n), ("version", &seen), ("priority", "urgent")])
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let stale =
        ada.call("update_ticket", &[("number", &n), ("version", &seen), ("priority", "low")]).await;

    let body = json(stale, StatusCode::CONFLICT).await;
    assert_eq!(
        body["Stale"]["ticket"]["priority"], "urgent",
        "the conflict carries the fresh state: {body}"
    );
    let now = json(ada.call("get_ticket", &[("number", &n)]).await, StatusCode::OK).await;
    assert_eq!(now["ticket"]["priority"], "urgent", "the stale save wrote nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolution_must_be_a_public_reply_on_that_ticket() {
    let (_app, ada, _bob, _) = team().await;
    let created = create_ticket(&ada, "VPN down").await;
    let n = number(&created);
    let noted = json(
        ada.call("add_ticket_message", &[("number", &n), ("kind", "note"), ("body", "internal")])
            .await,
        StatusCode::OK,
    )
    .await;
    let note_id = noted["messages"][1]["id"].as_i64().expect("note id").to_string();

    let response = ada
        .call(
            "update_ticket",
            &[
                ("number", &n),
                ("version", &version(&noted)),
                ("status", "solved"),
                ("resolution_message_id", &note_id),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tickets_are_404_and_invalid_fields_are_named() {
    let (_app, ada, _bob, _) = team().await;

    assert_eq!(
        ada.call("get_ticket", &[("number", "999999")]).await.status(),
        StatusCode::NOT_FOUND
    );
    let invalid = ada
        .call(
            "create_ticket",
            &[
                ("requester_email", "nope"),
                ("requester_name", ""),
                ("subject", " "),
                ("body", ""),
                ("priority", "meh"),
                ("tags", ""),
            ],
        )
        .await;
    let body = json(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = body["Invalid"]
        .as_array()
        .expect("field errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["requester_email", "requester_name", "subject", "body", "priority"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_visitors_cannot_read_or_create_tickets() {
    let (app, ada, _bob, _) = team().await;
    let created = create_ticket(&ada, "Secret").await;
    let stranger = app.client();

    assert_eq!(
        stranger.call("get_ticket", &[("number", &number(&created))]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        stranger.call("list_queue", &[("view", "open")]).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_views_follow_assignment_and_pages_cover_every_ticket_once() {
    let (_app, ada, bob, bob_id) = team().await;
    let mut numbers = Vec::new();
    for i in 0..7 {
        numbers.push(number(&create_ticket(&ada, &format!("Ticket {i}")).await));
    }
    let first =
        json(ada.call("get_ticket", &[("number", &numbers[0])]).await, StatusCode::OK).await;
    json(
        ada.call(
            "update_ticket",
            &[
                ("number", &numbers[0]),
                ("version", &version(&first)),
                ("assignee_id", &bob_id.to_string()),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let numbers_in = |page: &Value| -> Vec<String> {
        page["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .map(|t| t["number"].as_i64().unwrap_or_default().to_string())
            .collect()
    };
    let mine = json(bob.call("list_queue", &[("view", "mine")]).await, StatusCode::OK).await;
    assert_eq!(numbers_in(&mine), [numbers[0].clone()]);
    let unassigned =
        json(bob.call("list_queue", &[("view", "unassigned")]).await, StatusCode::OK).await;
    assert_eq!(numbers_in(&unassigned).len(), 6);
    assert!(!numbers_in(&unassigned).contains(&numbers[0]));
    let open = json(bob.call("list_queue", &[("view", "open")]).await, StatusCode::OK).await;
    assert_eq!(numbers_in(&open).first(), Some(&numbers[0]), "most recently changed first");
    assert!(open["next_cursor"].is_null(), "7 tickets fit one page of 50");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_cover_every_ticket_exactly_once_even_with_equal_timestamps() {
    use frontdesk_core::tickets::{self, QueueFilter, QueueSort, QueueView};
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            app.create_ticket(&admin, &format!("c{i}@example.com"), &format!("Ticket {i}"))
                .await
                .ticket
                .id,
        );
    }

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = tickets::queue(
            &app.ctx,
            &admin,
            QueueView::AllOpen,
            &QueueFilter::default(),
            QueueSort::Updated,
            cursor,
            3,
        )
        .await
        .expect("a page");
        pages += 1;
        seen.extend(page.tickets.iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }

    assert_eq!(pages, 3);
    created.sort_unstable();
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, created, "every ticket exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_markdown_renders_inert() {
    let (_app, ada, _bob, _) = team().await;
    let created = create_ticket(&ada, "XSS").await;
    let n = number(&created);

    let detail = json(
        ada.call("add_ticket_message", &[("number", &n), ("kind", "reply"), ("body", "<script>alert(1)</script>\n\n[click](javascript:alert(2)) <img src=x onerror=alert(3)>")]).await,
        StatusCode::OK,
    )
    .await;

    let html = detail["messages"][1]["body_html"].as_str().expect("html");
    assert!(!html.contains("<script") && !html.contains("onerror"), "{html}");
    assert!(
        html.contains("click") && !html.contains("href=\"javascript:"),
        "the link text stays, the link does not: {html}"
    );
    assert!(
        detail["messages"][1]["body"].as_str().expect("body").contains("<script>"),
        "the original text is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_cop_holds_a_reply_when_the_customer_wrote_meanwhile_until_sent_anyway() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let created = app.create_ticket(&admin, "carol@customer.example", "Refund").await;
    let number = created.ticket.number.to_string();
    let ada = app.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let seen = json(ada.call("get_ticket", &[("number", &number)]).await, StatusCode::OK).await;
    let seen_seq = seen["events"]
        .as_array()
        .and_then(|e| e.last())
        .and_then(|e| e["seq"].as_i64())
        .expect("a seq")
        .to_string();
    // Ada's own note while composing does not hold her reply.
    json(
        ada.call(
            "add_ticket_message",
            &[("number", &number), ("kind", "note"), ("body", "checking")],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let own = ada
        .call(
            "add_ticket_message",
            &[
                ("number", &number),
                ("kind", "reply"),
                ("body", "first"),
                ("composing_since", &seen_seq),
            ],
        )
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    let seen_seq = json(ada.call("get_ticket", &[("number", &number)]).await, StatusCode::OK).await
        ["events"]
        .as_array()
        .and_then(|e| e.last())
        .and_then(|e| e["seq"].as_i64())
        .expect("a seq")
        .to_string();

    let body = frontdesk_core::tickets::MessageBody::parse("Actually, never mind!").expect("body");
    frontdesk_core::portal::reply(
        &app.ctx,
        created.ticket.requester.id,
        created.ticket.number,
        body,
    )
    .await
    .expect("customer replied");
    let held = ada
        .call(
            "add_ticket_message",
            &[
                ("number", &number),
                ("kind", "reply"),
                ("body", "Refund sent."),
                ("composing_since", &seen_seq),
            ],
        )
        .await;

    let held = json(held, StatusCode::CONFLICT).await;
    assert_eq!(held["NewActivity"][0]["body"], "Actually, never mind!");
    let thread = json(ada.call("get_ticket", &[("number", &number)]).await, StatusCode::OK).await;
    assert!(!thread.to_string().contains("Refund sent."), "a held reply is not sent");
    let anyway = ada
        .call(
            "add_ticket_message",
            &[("number", &number), ("kind", "reply"), ("body", "Refund sent.")],
        )
        .await;
    assert!(json(anyway, StatusCode::OK).await.to_string().contains("Refund sent."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_data_is_consistent_and_works_in_the_queue() {
    use frontdesk_core::seed::{self, SeedPlan};
    use frontdesk_core::tickets::{self, QueueFilter, QueueSort, QueueView};
    let app = spawn_app().await;
    let plan = SeedPlan {
        agents: 3,
        teams: 2,
        organizations: 3,
        customers: 15,
        tickets: 600,
        seed: 7,
        words: 0,
    };
    let progress = std::sync::Mutex::new(Vec::new());

    let report = seed::seed(&app.ctx, plan, |done, total| {
        progress.lock().expect("lock").push((done, total))
    })
    .await
    .expect("seeded");

    assert_eq!(report.tickets, 600);
    assert_eq!(progress.into_inner().expect("lock"), [(500, 600), (600, 600)]);
    let admin =
        frontdesk_core::agents::list(&app.ctx, &app.create_admin("root@example.com", "Root").await)
            .await
            .expect("agents");
    assert_eq!(admin.len(), 4, "3 seeded agents and the admin");
    let root = admin.iter().find(|a| a.email == "root@example.com").expect("root");
    let solved = tickets::queue(
        &app.ctx,
        root,
        QueueView::RecentlySolved,
        &QueueFilter::default(),
        QueueSort::Updated,
        None,
        5,
    )
    .await
    .expect("queue");
    assert_eq!(solved.tickets.len(), 5);
    for summary in solved.tickets {
        let detail = tickets::get(&app.ctx, root, summary.number).await.expect("ticket");
        let seqs: Vec<i64> = detail.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gapless history");
        assert!(
            detail.resolution_message_id.is_some(),
            "a solved seeded ticket has its resolution"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_filters_sorts_counts_and_pages_by_any_sort() {
    let (app, ada, _bob, bob_id) = team().await;
    let _ = &app;
    let mut numbers = Vec::new();
    for (subject, priority, tags) in [
        ("A", "low", "billing"),
        ("B", "urgent", "billing, vip"),
        ("C", "high", ""),
        ("D", "normal", "vip"),
        ("E", "urgent", ""),
    ] {
        let created = json(
            ada.call(
                "create_ticket",
                &[
                    ("requester_email", "carol@customer.example"),
                    ("requester_name", "Carol"),
                    ("subject", subject),
                    ("body", "x"),
                    ("priority", priority),
                    ("tags", tags),
                ],
            )
            .await,
            StatusCode::OK,
        )
        .await;
        numbers.push(number(&created));
    }
    let first =
        json(ada.call("get_ticket", &[("number", &numbers[0])]).await, StatusCode::OK).await;
    json(
        ada.call(
            "update_ticket",
            &[
                ("number", &numbers[0]),
                ("version", &version(&first)),
                ("assignee_id", &bob_id.to_string()),
                ("status", "pending"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let subjects = |page: &Value| -> Vec<String> {
        page["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .map(|t| t["subject"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    let vip =
        json(ada.call("list_queue", &[("view", "open"), ("tag", "vip")]).await, StatusCode::OK)
            .await;
    assert_eq!(subjects(&vip), ["D", "B"]);
    let urgent = json(
        ada.call("list_queue", &[("view", "open"), ("priority", "urgent")]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(&urgent), ["E", "B"]);
    let bobs = json(
        ada.call(
            "list_queue",
            &[("view", "open"), ("assignee_id", &bob_id.to_string()), ("status", "pending")],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(&bobs), ["A"]);
    let by_priority = json(
        ada.call("list_queue", &[("view", "open"), ("sort", "priority")]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(&by_priority), ["E", "B", "C", "D", "A"]);
    let by_created = json(
        ada.call("list_queue", &[("view", "open"), ("sort", "created")]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(&by_created), ["E", "D", "C", "B", "A"]);
    assert_eq!(
        ada.call("list_queue", &[("view", "open"), ("sort", "random")]).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let counts = json(ada.call("queue_counts", &[]).await, StatusCode::OK).await;
    let count = |view: &str| {
        counts.as_array().expect("counts").iter().find(|c| c[0] == view).and_then(|c| c[1].as_i64())
    };
    assert_eq!(
        (count("unassigned"), count("open"), count("pending"), count("solved")),
        (Some(4), Some(5), Some(1), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_priority_sort_pages_through_every_ticket_once() {
    use frontdesk_core::tickets::{self, QueueFilter, QueueSort, QueueView};
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let mut created = Vec::new();
    for i in 0..9 {
        let id =
            app.create_ticket(&admin, &format!("c{i}@example.com"), &format!("T{i}")).await.ticket;
        let change = tickets::TicketChanges {
            version: id.version,
            priority: Some(
                [
                    frontdesk_core::tickets::Priority::Low,
                    frontdesk_core::tickets::Priority::High,
                    frontdesk_core::tickets::Priority::Urgent,
                ][i % 3],
            ),
            ..Default::default()
        };
        tickets::update(&app.ctx, &admin, id.number, change).await.expect("updated");
        created.push(id.id);
    }

    let (mut seen, mut cursor) = (Vec::new(), None);
    loop {
        let page = tickets::queue(
            &app.ctx,
            &admin,
            QueueView::AllOpen,
            &QueueFilter::default(),
            QueueSort::Priority,
            cursor,
            2,
        )
        .await
        .expect("page");
        seen.extend(page.tickets.iter().map(|t| (t.priority, t.id)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    let ranks: Vec<_> = seen.iter().map(|(p, _)| *p).collect();
    let mut sorted = ranks.clone();
    sorted.sort_by_key(|p| {
        std::cmp::Reverse(frontdesk_core::tickets::Priority::ALL.iter().position(|x| x == p))
    });
    assert_eq!(ranks, sorted, "most urgent first across pages");
    let mut ids: Vec<i64> = seen.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    created.sort_unstable();
    assert_eq!(ids, created, "every ticket exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_action_changes_each_ticket_with_its_own_history_and_reports_failures() {
    let (_app, ada, _bob, bob_id) = team().await;
    let mut numbers = Vec::new();
    for subject in ["One", "Two", "Three"] {
        numbers.push(number(&create_ticket(&ada, subject).await));
    }
    let list = format!("{},999999", numbers.join(","));

    let outcome = json(
        ada.call(
            "bulk_update_tickets",
            &[
                ("numbers", &list),
                ("assignee_id", &bob_id.to_string()),
                ("priority", "high"),
                ("add_tags", "bulk"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(outcome["updated"].as_array().map(Vec::len), Some(3));
    assert_eq!(outcome["failed"][0][0].as_i64(), Some(999_999));
    for n in &numbers {
        let ticket = json(ada.call("get_ticket", &[("number", n)]).await, StatusCode::OK).await;
        assert_eq!(ticket["ticket"]["assignee"]["name"], "Bob");
        assert_eq!(ticket["ticket"]["priority"], "high");
        assert!(ticket["ticket"]["tags"].as_array().expect("tags").contains(&Value::from("bulk")));
        assert!(event_kinds(&ticket).contains(&"assignee_changed".to_owned()));
    }
}

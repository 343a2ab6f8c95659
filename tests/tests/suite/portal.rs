//! The customer portal over HTTP: requests from the public form, single-use expiring sign-in
//! links, customers seeing and answering only their own tickets, and internal notes never
//! reaching them.

use frontdesk_tests::{ApiClient, PASSWORD, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

async fn json(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, expected, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A customer opens a request from the public form; returns the ticket number.
async fn submit(app: &TestApp, email: &str, subject: &str) -> i64 {
    let form = [("name", "Carol"), ("email", email), ("subject", subject), ("body", "It broke.")];
    json(app.client().call("portal_submit", &form).await, StatusCode::OK)
        .await
        .as_i64()
        .expect("a ticket number")
}

/// Signs a customer in with the newest link sent to `email`.
async fn customer(app: &TestApp, email: &str) -> ApiClient {
    let link =
        app.portal_links(email).await.into_iter().next().expect("a sign-in link in the outbox");
    let token = link.rsplit('/').next().expect("a token").to_owned();
    let client = app.client();
    assert_eq!(client.call("portal_redeem", &[("token", &token)]).await.status(), StatusCode::OK);
    client
}

async fn agent(app: &TestApp) -> ApiClient {
    app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_opens_a_request_signs_in_by_link_and_follows_it() {
    let app = spawn_app().await;
    let ada = agent(&app).await;

    let number = submit(&app, "carol@customer.example", "Printer on fire").await;
    let links = app.portal_links("carol@customer.example").await;
    assert_eq!(links.len(), 1);
    assert!(links[0].starts_with(&format!("{}/portal/sign-in/", app.base_url)), "{}", links[0]);
    let carol = customer(&app, "carol@customer.example").await;

    let mine = json(carol.call("portal_tickets", &[]).await, StatusCode::OK).await;
    assert_eq!(mine[0]["number"].as_i64(), Some(number));
    assert_eq!(mine[0]["messages"][0]["from_customer"], true);
    let queue = json(ada.call("list_queue", &[("view", "unassigned")]).await, StatusCode::OK).await;
    assert_eq!(queue["tickets"][0]["channel"], "web_form");
    assert_eq!(queue["tickets"][0]["requester"]["name"], "Carol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_works_once() {
    let app = spawn_app().await;
    agent(&app).await;
    submit(&app, "carol@customer.example", "Once").await;
    let link = app.portal_links("carol@customer.example").await.remove(0);
    let token = link.rsplit('/').next().expect("token").to_owned();

    let first = app.client().call("portal_redeem", &[("token", &token)]).await;
    let second = app.client().call("portal_redeem", &[("token", &token)]).await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_sign_in_link_does_not_work() {
    let app = spawn_app().await;
    agent(&app).await;
    submit(&app, "carol@customer.example", "Late").await;
    let link = app.portal_links("carol@customer.example").await.remove(0);
    let token = link.rsplit('/').next().expect("token").to_owned();

    app.execute("UPDATE portal_tokens SET expires_at = 0").await;

    assert_eq!(
        app.client().call("portal_redeem", &[("token", &token)]).await.status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_a_link_answers_the_same_for_strangers_and_sends_nothing() {
    let app = spawn_app().await;
    agent(&app).await;
    submit(&app, "carol@customer.example", "Hello").await;

    let known =
        app.client().call("portal_request_link", &[("email", "carol@customer.example")]).await;
    let stranger =
        app.client().call("portal_request_link", &[("email", "mallory@example.com")]).await;

    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(stranger.status(), StatusCode::OK);
    assert_eq!(app.portal_links("carol@customer.example").await.len(), 2);
    assert!(app.portal_links("mallory@example.com").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_notes_never_reach_the_customer_by_api_or_page() {
    let app = spawn_app().await;
    let ada = agent(&app).await;
    let number = submit(&app, "carol@customer.example", "Refund").await.to_string();
    let carol = customer(&app, "carol@customer.example").await;

    ada.call(
        "add_ticket_message",
        &[("number", &number), ("kind", "note"), ("body", "SECRET-NOTE: customer is on thin ice")],
    )
    .await;
    ada.call(
        "add_ticket_message",
        &[("number", &number), ("kind", "reply"), ("body", "Your refund is on its way.")],
    )
    .await;

    for response in [
        carol.call("portal_ticket", &[("number", &number)]).await,
        carol.call("portal_tickets", &[]).await,
        carol.get(&format!("/portal/tickets/{number}")).await,
    ] {
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains("Your refund is on its way."), "the public reply is shown: {body}");
        assert!(!body.contains("SECRET-NOTE"), "an internal note leaked: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_reply_reopens_a_solved_ticket() {
    let app = spawn_app().await;
    let ada = agent(&app).await;
    let number = submit(&app, "carol@customer.example", "Wifi").await.to_string();
    let carol = customer(&app, "carol@customer.example").await;
    let ticket = json(ada.call("get_ticket", &[("number", &number)]).await, StatusCode::OK).await;
    let version = ticket["ticket"]["version"].as_i64().expect("version").to_string();
    json(
        ada.call(
            "update_ticket",
            &[("number", &number), ("version", &version), ("status", "solved")],
        )
        .await,
        StatusCode::OK,
    )
    .await;

    json(
        carol.call("portal_reply", &[("number", &number), ("body", "Still broken!")]).await,
        StatusCode::OK,
    )
    .await;

    let after = json(ada.call("get_ticket", &[("number", &number)]).await, StatusCode::OK).await;
    assert_eq!(after["ticket"]["status"], "open");
    assert_eq!(after["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        after["events"].as_array().and_then(|e| e.last()).map(|e| e["actor"].clone()),
        Some(Value::from("Carol"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cannot_read_or_answer_another_customers_ticket_by_any_route() {
    let app = spawn_app().await;
    let ada = agent(&app).await;
    submit(&app, "carol@customer.example", "Carol's request").await;
    let dave_number = submit(&app, "dave@other.example", "Dave's private matter").await.to_string();
    let carol = customer(&app, "carol@customer.example").await;

    // The portal's own routes: another customer's ticket does not exist for Carol.
    assert_eq!(
        carol.call("portal_ticket", &[("number", &dave_number)]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        carol.call("portal_reply", &[("number", &dave_number), ("body", "hi")]).await.status(),
        StatusCode::NOT_FOUND
    );
    let page =
        carol.get(&format!("/portal/tickets/{dave_number}")).await.text().await.unwrap_or_default();
    assert!(!page.contains("Dave's private matter"), "{page}");
    let list = carol.call("portal_tickets", &[]).await.text().await.unwrap_or_default();
    assert!(!list.contains("Dave"), "{list}");

    // The agent API: a customer session is not an agent session.
    for (function, args) in [
        ("get_ticket", vec![("number", dave_number.as_str())]),
        ("list_queue", vec![("view", "open")]),
        (
            "add_ticket_message",
            vec![("number", dave_number.as_str()), ("kind", "reply"), ("body", "x")],
        ),
        (
            "update_ticket",
            vec![("number", dave_number.as_str()), ("version", "1"), ("status", "closed")],
        ),
        (
            "create_ticket",
            vec![
                ("requester_email", "x@example.com"),
                ("requester_name", "X"),
                ("subject", "s"),
                ("body", "b"),
                ("priority", "low"),
                ("tags", ""),
            ],
        ),
        ("list_agents", vec![]),
        ("list_outbox", vec![]),
    ] {
        assert_eq!(
            carol.call(function, &args).await.status(),
            StatusCode::UNAUTHORIZED,
            "{function}"
        );
    }
    let dave =
        json(ada.call("get_ticket", &[("number", &dave_number)]).await, StatusCode::OK).await;
    assert_eq!(
        dave["messages"].as_array().map(Vec::len),
        Some(1),
        "nothing was added to Dave's ticket"
    );
    assert_eq!(dave["ticket"]["status"], "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_markdown_renders_shallow_html_while_the_server_stays_ready() {
    let app = spawn_app().await;
    let ada = agent(&app).await;
    let hostile = format!("{}boom", ">".repeat(65_000));
    let submit_hostile = |i: usize| {
        let (client, hostile) = (app.client(), hostile.clone());
        async move {
            let email = format!("mallory{i}@example.com");
            let form = [
                ("name", "Mallory"),
                ("email", email.as_str()),
                ("subject", "Quoted"),
                ("body", hostile.as_str()),
            ];
            json(client.call("portal_submit", &form).await, StatusCode::OK)
                .await
                .as_i64()
                .expect("a ticket number")
        }
    };
    let readiness = async {
        let mut slowest = std::time::Duration::ZERO;
        for _ in 0..20 {
            let started = std::time::Instant::now();
            assert_eq!(app.client().get("/readyz").await.status(), StatusCode::OK);
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        slowest
    };

    let (numbers, slowest) =
        futures_util::join!(futures_util::future::join_all((0..4).map(submit_hostile)), readiness);
    let mut details = Vec::new();
    for number in &numbers {
        details.push(ada.call("get_ticket", &[("number", &number.to_string())]).await);
    }

    // Generous: a stalled server took 20 s; a healthy one answers in milliseconds.
    assert!(
        slowest < std::time::Duration::from_secs(2),
        "/readyz took {slowest:?} while hostile messages arrived"
    );
    for detail in details {
        let detail = json(detail, StatusCode::OK).await;
        let html = detail["messages"][0]["body_html"].as_str().expect("rendered HTML");
        assert!(
            html.matches("<blockquote>").count() <= frontdesk_core::platform::markdown::MAX_NESTING,
            "{} levels",
            html.matches("<blockquote>").count()
        );
        assert!(html.contains("boom"), "the text is kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_promises_no_email_while_no_email_is_sent() {
    let app = spawn_app().await;

    let page = app.client().get("/portal").await.text().await.expect("the page");

    assert!(!page.contains("by email"), "no email channel yet: {page}");
    assert!(page.contains("Email delivery is not set up yet"), "it says what happens instead");
}

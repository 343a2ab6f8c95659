//! Customer profiles over HTTP: the timeline, likely duplicates, and merging two profiles so that
//! everything moves and nothing is lost.

use frontdesk_tests::{ApiClient, PASSWORD, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

async fn json(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, expected, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn agent(app: &TestApp) -> (frontdesk_core::agents::Agent, ApiClient) {
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;
    (admin, client)
}

/// How many rows of `table` point at contact `id` through `column`.
async fn count(app: &TestApp, table: &str, column: &str, id: i64) -> i64 {
    use frontdesk_core::platform::db::Db;
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
    match app.ctx.db() {
        Db::Sqlite(pool) => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await,
    }
    .expect("count")
}

const COUNTED: [(&str, &str); 4] = [
    ("tickets", "requester_id"),
    ("contact_emails", "contact_id"),
    ("ticket_messages", "author_contact_id"),
    ("ticket_events", "actor_contact_id"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_moves_everything_to_the_survivor_and_loses_nothing() {
    let app = spawn_app().await;
    let (admin, ada) = agent(&app).await;
    let first = app.create_ticket(&admin, "carol@customer.example", "Printer").await.ticket;
    app.create_ticket(&admin, "carol@customer.example", "Scanner").await;
    let other = app.create_ticket(&admin, "carol.l@home.example", "Invoice").await.ticket;
    let (survivor, merged) = (first.requester.id, other.requester.id);
    let body = frontdesk_core::tickets::MessageBody::parse("Any news?").expect("body");
    frontdesk_core::portal::reply(&app.ctx, merged, other.number, body)
        .await
        .expect("customer reply");
    let mut before = Vec::new();
    for (table, column) in COUNTED {
        before.push(
            count(&app, table, column, survivor).await + count(&app, table, column, merged).await,
        );
    }
    assert_eq!(
        before,
        [3, 2, 1, 1],
        "arranged: 3 tickets, 2 emails, 1 customer message and its event"
    );

    let merge = [
        ("survivor_id", survivor.to_string()),
        ("merged_id", merged.to_string()),
        ("name", "merged".to_owned()),
        ("phone", "survivor".to_owned()),
        ("organization", "survivor".to_owned()),
        ("notes", "survivor".to_owned()),
    ];
    let merge: Vec<(&str, &str)> = merge.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let result = json(ada.call("merge_customers", &merge).await, StatusCode::OK).await;

    assert_eq!(
        result["emails"],
        serde_json::json!(["carol@customer.example", "carol.l@home.example"])
    );
    for (i, (table, column)) in COUNTED.into_iter().enumerate() {
        assert_eq!(
            count(&app, table, column, survivor).await,
            before[i],
            "{table} all moved to the survivor"
        );
        assert_eq!(
            count(&app, table, column, merged).await,
            0,
            "{table} left on the merged contact"
        );
    }
    let gone =
        json(ada.call("get_customer", &[("id", &merged.to_string())]).await, StatusCode::OK).await;
    assert_eq!(gone["merged_into"].as_i64(), Some(survivor));
    let page = ada
        .http
        .get(format!("{}/app/customers/{merged}", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(
        page.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/app/customers/{survivor}").as_str())
    );
    let timeline =
        json(ada.call("customer_timeline", &[("id", &survivor.to_string())]).await, StatusCode::OK)
            .await;
    assert_eq!(timeline["entries"].as_array().map(Vec::len), Some(3));
    let audit = count(&app, "audit_events", "subject_id", survivor).await;
    assert!(audit >= 1, "the merge is in the audit log");
    let again = ada.call("merge_customers", &merge).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "a merged contact cannot be merged twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_signed_in_before_a_merge_still_sees_all_their_tickets() {
    let app = spawn_app().await;
    let (admin, ada) = agent(&app).await;
    let kept = app.create_ticket(&admin, "dana@customer.example", "One").await.ticket.requester.id;
    let number = json(
        app.client()
            .call(
                "portal_submit",
                &[
                    ("name", "Dana"),
                    ("email", "dana@home.example"),
                    ("subject", "Two"),
                    ("body", "Hi"),
                ],
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let link = app.portal_links("dana@home.example").await.remove(0);
    let dana = app.client();
    dana.call("portal_redeem", &[("token", link.rsplit('/').next().expect("token"))]).await;
    let merged =
        json(ada.call("get_ticket", &[("number", &number.to_string())]).await, StatusCode::OK)
            .await["ticket"]["requester"]["id"]
            .as_i64()
            .expect("requester");

    let merge = [
        ("survivor_id", kept.to_string()),
        ("merged_id", merged.to_string()),
        ("name", "survivor".into()),
        ("phone", "survivor".into()),
        ("organization", "survivor".into()),
        ("notes", "survivor".into()),
    ];
    let merge: Vec<(&str, &str)> = merge.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json(ada.call("merge_customers", &merge).await, StatusCode::OK).await;

    let mine = json(dana.call("portal_tickets", &[]).await, StatusCode::OK).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likely_duplicates_are_flagged_by_email_name_and_phone() {
    let app = spawn_app().await;
    let (admin, ada) = agent(&app).await;
    let carol = app.create_ticket(&admin, "carol@customer.example", "A").await.ticket.requester.id;
    let carol_home = app.create_ticket(&admin, "carol@home.example", "B").await.ticket.requester.id;
    let erin = app.create_ticket(&admin, "erin@elsewhere.example", "C").await.ticket.requester.id;
    let unrelated =
        app.create_ticket(&admin, "frank@elsewhere.example", "D").await.ticket.requester.id;
    for (id, name) in [(carol, "Carol"), (erin, "Erin")] {
        let form = [
            ("id", id.to_string()),
            ("name", name.to_owned()),
            ("phone", "+1 555 0100".to_owned()),
            ("notes", String::new()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        json(ada.call("update_customer", &form).await, StatusCode::OK).await;
    }

    let found =
        json(ada.call("customer_duplicates", &[("id", &carol.to_string())]).await, StatusCode::OK)
            .await;

    let ids: Vec<i64> = found
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["contact"]["id"].as_i64())
        .collect();
    assert!(ids.contains(&carol_home), "same email name at another domain: {found}");
    assert!(ids.contains(&erin), "same phone: {found}");
    assert!(!ids.contains(&unrelated) && !ids.contains(&carol), "{found}");
    let bad_phone = [
        ("id", erin.to_string()),
        ("name", "Erin".into()),
        ("phone", "call me maybe".into()),
        ("notes", String::new()),
    ];
    let bad_phone: Vec<(&str, &str)> = bad_phone.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        ada.call("update_customer", &bad_phone).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_pages_newest_first() {
    let app = spawn_app().await;
    let (admin, ada) = agent(&app).await;
    let mut contact = 0;
    for i in 0..30 {
        contact = app
            .create_ticket(&admin, "gina@customer.example", &format!("Ticket {i}"))
            .await
            .ticket
            .requester
            .id;
    }

    let first =
        json(ada.call("customer_timeline", &[("id", &contact.to_string())]).await, StatusCode::OK)
            .await;
    let cursor = first["next_cursor"].as_str().expect("more pages").to_owned();
    let second = json(
        ada.call("customer_timeline", &[("id", &contact.to_string()), ("cursor", &cursor)]).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(first["entries"].as_array().map(Vec::len), Some(25));
    assert_eq!(first["entries"][0]["subject"], "Ticket 29");
    assert_eq!(second["entries"].as_array().map(Vec::len), Some(5));
    assert!(second["next_cursor"].is_null());
    assert_eq!(second["entries"][4]["subject"], "Ticket 0");
}

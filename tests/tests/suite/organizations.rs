//! Organizations and custom customer fields over HTTP: domains that bring contacts in, typed
//! fields with per-field errors, the duplicate review list, and queue filters by customer,
//! organization and dates.

use frontdesk_core::agents::Role;
use frontdesk_tests::{ApiClient, PASSWORD, TestApp, field_error, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

async fn json(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, expected, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn admin(app: &TestApp) -> (frontdesk_core::agents::Agent, ApiClient) {
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;
    (admin, client)
}

fn form<'a>(pairs: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_claims_its_domains_for_existing_and_new_contacts() {
    let app = spawn_app().await;
    let (admin, ada) = admin(&app).await;
    let early = app
        .create_ticket(&admin, "ivy@acme.example", "Before the organization")
        .await
        .ticket
        .requester
        .id;
    app.create_ticket(&admin, "joe@other.example", "Elsewhere").await;

    let args =
        [("name", "Acme".to_owned()), ("domains", "ACME.example, @acme-corp.example".to_owned())];
    let created = ada.call("create_organization", &form(&args)).await;
    assert!(
        created.status().is_success() || created.status() == StatusCode::FOUND,
        "{}",
        created.status()
    );
    let list =
        json(ada.call("list_organizations", &[("query", "acm")]).await, StatusCode::OK).await;
    let acme = &list[0];
    assert_eq!(acme["domains"], serde_json::json!(["acme-corp.example", "acme.example"]));
    assert_eq!(acme["contacts"], 1, "the contact already at acme.example joined: {acme}");
    let org_id = acme["id"].as_i64().expect("id");

    let late =
        app.create_ticket(&admin, "kim@acme-corp.example", "After").await.ticket.requester.id;
    let kim =
        json(ada.call("get_customer", &[("id", &late.to_string())]).await, StatusCode::OK).await;
    assert_eq!(
        kim["organization"]["id"].as_i64(),
        Some(org_id),
        "a new contact at a claimed domain joins"
    );
    let found =
        json(ada.call("get_organization", &[("id", &org_id.to_string())]).await, StatusCode::OK)
            .await;
    let members: Vec<i64> =
        found[1].as_array().expect("members").iter().filter_map(|m| m["id"].as_i64()).collect();
    assert_eq!(members.len(), 2);
    assert!(members.contains(&early) && members.contains(&late));

    let taken = [("name", "Rival".to_owned()), ("domains", "acme.example".to_owned())];
    let body = json(
        ada.call("create_organization", &form(&taken)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        field_error(&body, "domains").as_deref(),
        Some("acme.example already belongs to another organization.")
    );
    let bad = [("name", "Rival".to_owned()), ("domains", "not a domain".to_owned())];
    let body =
        json(ada.call("create_organization", &form(&bad)).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert!(field_error(&body, "domains").is_some(), "{body}");
    let missing = ada.call("get_organization", &[("id", "999999")]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_are_typed_and_only_admins_define_them() {
    let app = spawn_app().await;
    let (admin, ada) = admin(&app).await;
    app.create_agent(&admin, "bo@example.com", "Bo", Role::Agent).await;
    let bo = app.client();
    bo.sign_in("bo@example.com", PASSWORD).await;
    for (label, kind) in [("Seats", "number"), ("Renewal date", "date"), ("VIP", "boolean")] {
        json(
            ada.call("define_contact_field", &[("label", label), ("kind", kind)]).await,
            StatusCode::OK,
        )
        .await;
    }
    assert_eq!(
        bo.call("define_contact_field", &[("label", "Plan"), ("kind", "text")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let duplicate = json(
        ada.call("define_contact_field", &[("label", "seats"), ("kind", "text")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_error(&duplicate, "label").is_some(), "{duplicate}");
    let customer =
        app.create_ticket(&admin, "lea@customer.example", "Hello").await.ticket.requester.id;

    let wrong = [
        ("id", customer.to_string()),
        ("name", "Lea".to_owned()),
        ("phone", String::new()),
        ("notes", String::new()),
        ("fields[seats]", "twelve".to_owned()),
        ("fields[renewal_date]", "2026-02-30".to_owned()),
        ("fields[vip]", "maybe".to_owned()),
    ];
    let body =
        json(bo.call("update_customer", &form(&wrong)).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    for key in ["field.seats", "field.renewal_date", "field.vip"] {
        assert!(field_error(&body, key).is_some(), "{key} is reported: {body}");
    }
    let right = [
        ("id", customer.to_string()),
        ("name", "Lea".to_owned()),
        ("phone", String::new()),
        ("notes", String::new()),
        ("fields[seats]", "12.0".to_owned()),
        ("fields[renewal_date]", "2027-01-31".to_owned()),
        ("fields[vip]", "yes".to_owned()),
    ];
    let saved = json(bo.call("update_customer", &form(&right)).await, StatusCode::OK).await;
    let values: Vec<(String, Value)> = saved["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| (f["field"]["key"].as_str().unwrap_or_default().to_owned(), f["value"].clone()))
        .collect();
    assert_eq!(
        values,
        [
            ("seats".to_owned(), "12".into()),
            ("renewal_date".to_owned(), "2027-01-31".into()),
            ("vip".to_owned(), "true".into())
        ],
        "values are stored in canonical form, in the admins' order"
    );

    json(ada.call("remove_contact_field", &[("key", "seats")]).await, StatusCode::OK).await;
    let after =
        json(bo.call("get_customer", &[("id", &customer.to_string())]).await, StatusCode::OK).await;
    assert_eq!(after["fields"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_keeps_custom_fields_from_both_contacts() {
    let app = spawn_app().await;
    let (admin, ada) = admin(&app).await;
    json(
        ada.call("define_contact_field", &[("label", "Plan"), ("kind", "text")]).await,
        StatusCode::OK,
    )
    .await;
    json(
        ada.call("define_contact_field", &[("label", "Seats"), ("kind", "number")]).await,
        StatusCode::OK,
    )
    .await;
    let a = app.create_ticket(&admin, "max@customer.example", "A").await.ticket.requester.id;
    let b = app.create_ticket(&admin, "max@home.example", "B").await.ticket.requester.id;
    for (id, fields) in [(a, [("fields[plan]", "Pro")]), (b, [("fields[seats]", "5")])] {
        let mut args = vec![
            ("id", id.to_string()),
            ("name", "Max".to_owned()),
            ("phone", String::new()),
            ("notes", String::new()),
        ];
        args.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        json(ada.call("update_customer", &form(&args)).await, StatusCode::OK).await;
    }

    let merge = [
        ("survivor_id", a.to_string()),
        ("merged_id", b.to_string()),
        ("name", "survivor".to_owned()),
        ("phone", "survivor".to_owned()),
        ("organization", "survivor".to_owned()),
        ("notes", "survivor".to_owned()),
        ("fields", "survivor".to_owned()),
    ];
    let merged = json(ada.call("merge_customers", &form(&merge)).await, StatusCode::OK).await;

    let values: Vec<Value> =
        merged["fields"].as_array().expect("fields").iter().map(|f| f["value"].clone()).collect();
    assert_eq!(values, [Value::from("Pro"), Value::from("5")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duplicate_review_lists_pairs_across_all_customers() {
    let app = spawn_app().await;
    let (admin, ada) = admin(&app).await;
    let nia = app.create_ticket(&admin, "nia@customer.example", "A").await.ticket.requester.id;
    let nia_home = app.create_ticket(&admin, "nia@home.example", "B").await.ticket.requester.id;
    let olga = app.create_ticket(&admin, "olga@customer.example", "C").await.ticket.requester.id;
    let pete = app.create_ticket(&admin, "pete@elsewhere.example", "D").await.ticket.requester.id;
    for (id, name) in [(olga, "Olga"), (pete, "Pete")] {
        let args = [
            ("id", id.to_string()),
            ("name", name.to_owned()),
            ("phone", "+44 20 7946 0000".to_owned()),
            ("notes", String::new()),
        ];
        json(ada.call("update_customer", &form(&args)).await, StatusCode::OK).await;
    }

    let pairs = json(ada.call("duplicate_pairs", &[]).await, StatusCode::OK).await;

    let found: Vec<(i64, i64, String)> = pairs
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            (
                p["first"]["id"].as_i64().unwrap_or(0),
                p["second"]["id"].as_i64().unwrap_or(0),
                p["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        found.contains(&(nia, nia_home, "same email name at another domain".to_owned())),
        "{found:?}"
    );
    assert!(found.contains(&(olga, pete, "same phone number".to_owned())), "{found:?}");
    assert_eq!(found.len(), 2, "nothing else looks alike: {found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_filters_by_customer_organization_and_dates() {
    let app = spawn_app().await;
    let (admin, ada) = admin(&app).await;
    let args = [("name", "Globex".to_owned()), ("domains", "globex.example".to_owned())];
    ada.call("create_organization", &form(&args)).await;
    let org = json(ada.call("list_organizations", &[]).await, StatusCode::OK).await[0]["id"]
        .as_i64()
        .expect("org");
    let quinn = app.create_ticket(&admin, "quinn@globex.example", "Quinn's").await.ticket;
    app.create_ticket(&admin, "quinn@globex.example", "Quinn's second").await;
    app.create_ticket(&admin, "rosa@globex.example", "Rosa's").await;
    app.create_ticket(&admin, "sam@elsewhere.example", "Sam's").await;
    let old = app.create_ticket(&admin, "sam@elsewhere.example", "Sam's old one").await.ticket;
    app.execute(&format!("UPDATE tickets SET created_at = 86400000 WHERE id = {}", old.id)).await;

    let subjects = |page: Value| -> Vec<String> {
        let mut list: Vec<String> = page["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .filter_map(|t| t["subject"].as_str().map(str::to_owned))
            .collect();
        list.sort();
        list
    };
    let by_customer = json(
        ada.call(
            "list_queue",
            &[("view", "open"), ("requester_id", &quinn.requester.id.to_string())],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(by_customer), ["Quinn's", "Quinn's second"]);
    let by_org = json(
        ada.call("list_queue", &[("view", "open"), ("organization_id", &org.to_string())]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(by_org), ["Quinn's", "Quinn's second", "Rosa's"]);
    let early = json(
        ada.call("list_queue", &[("view", "open"), ("created_to", "172800000")]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(early), ["Sam's old one"]);
    let recent = json(
        ada.call("list_queue", &[("view", "open"), ("created_from", "172800000")]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(subjects(recent).len(), 4);
}

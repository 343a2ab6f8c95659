//! Teams over HTTP: admins create teams and choose members; tickets are routed to a team and show
//! up in that team's queue.

use frontdesk_core::agents::Role;
use frontdesk_tests::{PASSWORD, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

async fn json(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, expected, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_build_teams_and_tickets_routed_to_a_team_fill_its_queue() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let bob = app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let ada = app.client();
    ada.sign_in("ada@example.com", PASSWORD).await;
    let bob_client = app.client();
    bob_client.sign_in("bob@example.com", PASSWORD).await;

    let team = json(ada.call("create_team", &[("name", "Billing")]).await, StatusCode::OK).await;
    let team_id = team["id"].as_i64().expect("team id").to_string();
    json(
        ada.call(
            "set_team_member",
            &[("team_id", &team_id), ("agent_id", &bob.id.to_string()), ("member", "true")],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        ada.call("create_team", &[("name", "Billing")]).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        bob_client.call("create_team", &[("name", "Rogue")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        bob_client
            .call(
                "set_team_member",
                &[("team_id", &team_id), ("agent_id", &bob.id.to_string()), ("member", "false")]
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let teams = json(bob_client.call("list_teams", &[]).await, StatusCode::OK).await;
    assert_eq!(teams[0]["members"][0]["name"], "Bob");

    let ticket = app.create_ticket(&admin, "carol@customer.example", "Invoice").await.ticket;
    let (number, version) = (ticket.number.to_string(), ticket.version.to_string());
    let routed = json(
        ada.call(
            "update_ticket",
            &[("number", &number), ("version", &version), ("team_id", &team_id)],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(routed["ticket"]["team"]["name"], "Billing");
    let queue = json(
        bob_client.call("list_queue", &[("view", "team"), ("team_id", &team_id)]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(queue["tickets"][0]["number"].as_i64(), Some(ticket.number));
    let bad = ada
        .call(
            "update_ticket",
            &[
                ("number", &number),
                ("version", &routed["ticket"]["version"].to_string()),
                ("team_id", "999999"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

//! The agents' live socket: authentication and origin at the handshake, replay of exactly what a
//! client missed, live events without duplicates, presence, and bad frames closing one socket.

use frontdesk_core::agents::Activity;
use frontdesk_core::agents::Role;
use frontdesk_core::live::{ClientMessage, ServerMessage};
use frontdesk_tests::live::{LiveClient, connect};
use frontdesk_tests::{ApiClient, PASSWORD, TestApp, spawn_app};
use std::time::Duration;
use tokio_tungstenite::tungstenite;

async fn signed_in(app: &TestApp, email: &str) -> (ApiClient, String) {
    let client = app.client();
    client.sign_in(email, PASSWORD).await;
    let cookie = client.session_cookie().expect("signed in");
    (client, cookie)
}

async fn open(app: &TestApp, cookie: &str) -> LiveClient {
    connect(&app.base_url, Some(cookie), None).await.expect("the live socket opens")
}

/// Reads messages until the ticket events collected reach `count`; returns their sequence numbers.
async fn event_seqs(live: &mut LiveClient, count: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        if let ServerMessage::TicketEvent { event, .. } = live.next().await {
            seqs.push(event.seq);
        }
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_needs_a_session_and_our_origin() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let (_, cookie) = signed_in(&app, "ada@example.com").await;

    let anonymous = connect(&app.base_url, None, None).await.err();
    let forged = connect(&app.base_url, Some(&cookie), Some("https://evil.example")).await.err();
    let same_origin = connect(&app.base_url, Some(&cookie), Some(&app.base_url)).await;

    assert!(matches!(anonymous, Some(tungstenite::Error::Http(r)) if r.status() == 401));
    assert!(matches!(forged, Some(tungstenite::Error::Http(r)) if r.status() == 403));
    assert!(same_origin.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_gets_exactly_what_it_missed_in_order_then_live_events() {
    let app = spawn_app().await;
    let ada = app.create_admin("ada@example.com", "Ada").await;
    let ticket = app.create_ticket(&ada, "carol@customer.example", "Printer").await;
    let number = ticket.ticket.number.to_string();
    let (client, cookie) = signed_in(&app, "ada@example.com").await;
    client
        .call("add_ticket_message", &[("number", &number), ("kind", "reply"), ("body", "one")])
        .await;
    // Events so far: 1 created, 2 reply_added, 3 reply_added, 4 status_changed (new -> open).

    let mut live = open(&app, &cookie).await;
    live.send(&ClientMessage::SubscribeTicket { number: ticket.ticket.number, after_seq: 2 }).await;
    assert_eq!(event_seqs(&mut live, 2).await, [3, 4], "replay starts after the last seen");
    client
        .call("add_ticket_message", &[("number", &number), ("kind", "note"), ("body", "two")])
        .await;
    assert_eq!(event_seqs(&mut live, 1).await, [5], "then live, in order");

    // A reconnecting client that saw everything gets nothing old, and then the new.
    drop(live);
    let mut again = open(&app, &cookie).await;
    again
        .send(&ClientMessage::SubscribeTicket { number: ticket.ticket.number, after_seq: 5 })
        .await;
    assert!(matches!(again.next().await, ServerMessage::Presence { .. }), "no replayed events");
    client
        .call("add_ticket_message", &[("number", &number), ("kind", "reply"), ("body", "three")])
        .await;
    assert_eq!(event_seqs(&mut again, 1).await, [6]);
    assert!(again.next_within(Duration::from_millis(300)).await.is_none(), "nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_who_else_is_viewing_and_replying() {
    let app = spawn_app().await;
    let ada = app.create_admin("ada@example.com", "Ada").await;
    app.create_agent(&ada, "bob@example.com", "Bob", Role::Agent).await;
    let number = app.create_ticket(&ada, "carol@customer.example", "Login").await.ticket.number;
    let (_, ada_cookie) = signed_in(&app, "ada@example.com").await;
    let (_, bob_cookie) = signed_in(&app, "bob@example.com").await;
    let mut ada_live = open(&app, &ada_cookie).await;
    let mut bob_live = open(&app, &bob_cookie).await;
    for live in [&mut ada_live, &mut bob_live] {
        live.send(&ClientMessage::SubscribeTicket { number, after_seq: 99 }).await;
    }

    bob_live.send(&ClientMessage::Presence { number, activity: Activity::Replying }).await;

    loop {
        if let ServerMessage::Presence { agents, .. } = ada_live.next().await
            && agents.iter().any(|a| a.name == "Bob" && a.activity == Activity::Replying)
        {
            break;
        }
    }
    drop(bob_live);
    loop {
        if let ServerMessage::Presence { agents, .. } = ada_live.next().await
            && agents.is_empty()
        {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_followers_hear_about_every_ticket_change() {
    let app = spawn_app().await;
    let ada = app.create_admin("ada@example.com", "Ada").await;
    let (_, cookie) = signed_in(&app, "ada@example.com").await;
    let mut live = open(&app, &cookie).await;
    live.send(&ClientMessage::SubscribeQueue).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let number = app.create_ticket(&ada, "carol@customer.example", "New one").await.ticket.number;

    assert_eq!(live.next().await, ServerMessage::QueueChanged { number });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_or_oversized_message_closes_that_socket_only() {
    let app = spawn_app().await;
    let ada = app.create_admin("ada@example.com", "Ada").await;
    let number = app.create_ticket(&ada, "carol@customer.example", "Printer").await.ticket.number;
    let (_, cookie) = signed_in(&app, "ada@example.com").await;
    let mut malformed = open(&app, &cookie).await;
    let mut oversized = open(&app, &cookie).await;
    let mut bystander = open(&app, &cookie).await;

    malformed.send_raw("{\"type\": \"launch_missiles\"}".into()).await.expect("sent");
    assert_eq!(malformed.closed().await, Some(1007));
    let _ = oversized.send_raw("x".repeat(64 * 1024)).await;
    oversized.closed().await;

    bystander.send(&ClientMessage::SubscribeTicket { number, after_seq: 0 }).await;
    assert!(
        matches!(bystander.next().await, ServerMessage::TicketEvent { .. }),
        "other sockets keep working"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_an_unknown_ticket_is_an_error_message_not_a_closed_socket() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let (_, cookie) = signed_in(&app, "ada@example.com").await;
    let mut live = open(&app, &cookie).await;

    live.send(&ClientMessage::SubscribeTicket { number: 424242, after_seq: 0 }).await;

    assert!(
        matches!(live.next().await, ServerMessage::Error { message } if message.contains("not found"))
    );
    live.send(&ClientMessage::SubscribeQueue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_closes_that_sessions_live_socket() {
    let app = spawn_app().await;
    let ada = app.create_admin("ada@example.com", "Ada").await;
    let ticket = app.create_ticket(&ada, "carol@customer.example", "Printer").await;
    let (client, cookie) = signed_in(&app, "ada@example.com").await;
    let mut live = open(&app, &cookie).await;
    live.send(&ClientMessage::SubscribeTicket { number: ticket.ticket.number, after_seq: 100 })
        .await;
    live.send(&ClientMessage::SubscribeQueue).await;
    live.next_matching(|m| matches!(m, ServerMessage::Presence { .. }).then_some(())).await;

    client.call("sign_out", &[]).await;
    let code = live.closed().await;

    assert_eq!(code, Some(1008), "closed as a policy violation: the session ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_or_demoting_an_agent_closes_their_live_sockets() {
    let app = spawn_app().await;
    let ada = app.create_admin("ada@example.com", "Ada").await;
    let bob = app.create_agent(&ada, "bob@example.com", "Bob", Role::Admin).await;
    let cid = app.create_agent(&ada, "cid@example.com", "Cid", Role::Agent).await;
    let (admin, _) = signed_in(&app, "ada@example.com").await;
    let (_, bob_cookie) = signed_in(&app, "bob@example.com").await;
    let (_, cid_cookie) = signed_in(&app, "cid@example.com").await;
    let mut bob_live = open(&app, &bob_cookie).await;
    let mut cid_live = open(&app, &cid_cookie).await;
    bob_live.send(&ClientMessage::SubscribeQueue).await;
    cid_live.send(&ClientMessage::SubscribeQueue).await;

    admin.call("change_agent_role", &[("agent_id", &bob.id.to_string()), ("role", "agent")]).await;
    admin.call("set_agent_active", &[("agent_id", &cid.id.to_string()), ("active", "false")]).await;

    assert_eq!(bob_live.closed().await, Some(1008), "a demoted agent reconnects with the new role");
    assert_eq!(cid_live.closed().await, Some(1008), "a deactivated agent is gone");
    assert!(connect(&app.base_url, Some(&cid_cookie), None).await.is_err(), "and cannot reconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failure_reaches_the_live_socket_only_as_safe_words() {
    let app = spawn_app().await;
    let ada = app.create_admin("ada@example.com", "Ada").await;
    let ticket = app.create_ticket(&ada, "carol@customer.example", "Printer").await;
    let (_, cookie) = signed_in(&app, "ada@example.com").await;
    let mut live = open(&app, &cookie).await;
    app.execute("ALTER TABLE ticket_events RENAME TO ticket_events_gone").await;

    live.send(&ClientMessage::SubscribeTicket { number: ticket.ticket.number, after_seq: 0 }).await;
    let message = live
        .next_matching(
            |m| if let ServerMessage::Error { message } = m { Some(message) } else { None },
        )
        .await;

    assert_eq!(message, frontdesk_core::error::INTERNAL_MESSAGE);
}

//! Live chat over real sockets: the widget's handshake (origin, token, rate), identity
//! verification, messages stored once and replayed exactly, routing to agents, the queue, and the
//! agent's side of the conversation.

use frontdesk_core::agents::Role;
use frontdesk_core::chats::sites::identity_hash;
use frontdesk_core::chats::{
    AgentStatus, ChatMessage, ChatState, Sender, VisitorEvent, VisitorRequest, WidgetSite,
};
use frontdesk_core::live::{ClientMessage, ServerMessage};
use frontdesk_tests::live::{LiveClient, WidgetClient, connect, connect_widget};
use frontdesk_tests::{PASSWORD, TestApp, spawn_app, spawn_app_with};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite;

const SHOP: &str = "https://shop.example.com";

/// An app with an admin and a widget site allowing [`SHOP`].
async fn app_with_site(enforce_identity: bool) -> (TestApp, WidgetSite) {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let site = app.create_widget_site(&admin, SHOP, enforce_identity).await;
    (app, site)
}

/// A new anonymous visitor's socket, resumed (its welcome read).
async fn visitor(app: &TestApp, site: &WidgetSite) -> (String, WidgetClient) {
    let token = app.client().new_visitor(&site.public_token).await;
    let socket = resume(app, site, &token, 0).await;
    (token, socket)
}

async fn resume(app: &TestApp, site: &WidgetSite, token: &str, after_seq: i64) -> WidgetClient {
    let mut socket = connect_widget(&app.base_url, &site.public_token, token, Some(SHOP))
        .await
        .expect("the widget socket opens");
    socket.send(&VisitorRequest::Resume { number: None, after_seq }).await;
    socket.next_matching(|e| matches!(e, VisitorEvent::Welcome { .. }).then_some(())).await;
    socket
}

fn send(client_id: &str, body: &str) -> VisitorRequest {
    VisitorRequest::Send { client_id: client_id.into(), body: body.into(), attachment_id: None }
}

async fn ack(socket: &mut WidgetClient) -> (String, i64, i64) {
    socket
        .next_matching(|e| {
            if let VisitorEvent::Ack { client_id, seq, number } = e {
                Some((client_id, seq, number))
            } else {
                None
            }
        })
        .await
}

async fn message(socket: &mut WidgetClient) -> ChatMessage {
    socket
        .next_matching(|e| {
            if let VisitorEvent::Message { message, .. } = e { Some(message) } else { None }
        })
        .await
}

/// An agent signed in with a console open and online for chats.
async fn online_agent(app: &TestApp, email: &str) -> LiveClient {
    let client = app.client();
    client.sign_in(email, PASSWORD).await;
    let cookie = client.session_cookie().expect("signed in");
    let mut live =
        connect(&app.base_url, Some(&cookie), None).await.expect("the live socket opens");
    live.send(&ClientMessage::SubscribeChats).await;
    live.send(&ClientMessage::SetChatStatus { status: AgentStatus::Online }).await;
    live.next_matching(|m| {
        matches!(m, ServerMessage::ChatInbox { status: AgentStatus::Online, .. }).then_some(())
    })
    .await;
    live
}

async fn stored_messages(app: &TestApp, number: i64) -> Vec<(i64, String)> {
    let sql = "SELECT m.seq, m.client_id FROM chat_messages m JOIN tickets t ON t.id = m.chat_id WHERE t.number = $1 ORDER BY m.seq";
    match app.ctx.db() {
        frontdesk_core::platform::db::Db::Sqlite(pool) => {
            sqlx::query_as(sql).bind(number).fetch_all(pool).await.expect("messages")
        }
        frontdesk_core::platform::db::Db::Postgres(pool) => {
            sqlx::query_as(sql).bind(number).fetch_all(pool).await.expect("messages")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_resent_with_the_same_client_id_is_stored_once_and_acked_with_the_same_seq() {
    let (app, site) = app_with_site(false).await;
    let (_, mut socket) = visitor(&app, &site).await;

    socket.send(&send("c-1", "Hello, is anyone there?")).await;
    let (_, first_seq, number) = ack(&mut socket).await;
    socket.send(&send("c-1", "Hello, is anyone there?")).await;
    let (client_id, again_seq, _) = ack(&mut socket).await;
    socket.send(&send("c-2", "My order is late")).await;
    let (_, second_seq, _) = ack(&mut socket).await;

    assert_eq!((client_id.as_str(), first_seq, again_seq, second_seq), ("c-1", 1, 1, 2));
    assert_eq!(
        stored_messages(&app, number).await,
        vec![(1, "c-1".to_owned()), (2, "c-2".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_visitor_gets_exactly_the_messages_after_its_last_seq_in_order() {
    let (app, site) = app_with_site(false).await;
    let (token, mut socket) = visitor(&app, &site).await;
    for i in 1..=5 {
        socket.send(&send(&format!("c-{i}"), &format!("message {i}"))).await;
        ack(&mut socket).await;
    }
    drop(socket);

    let mut again = resume(&app, &site, &token, 3).await;
    let replayed = [message(&mut again).await, message(&mut again).await];
    let nothing_more = again.next_within(Duration::from_millis(300)).await;

    assert_eq!(
        replayed.iter().map(|m| (m.seq, m.body.as_str())).collect::<Vec<_>>(),
        [(4, "message 4"), (5, "message 5")]
    );
    assert!(nothing_more.is_none(), "nothing is sent twice: {nothing_more:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_chat_goes_to_the_online_agent_who_replies_and_the_visitor_sees_it_in_order() {
    let (app, site) = app_with_site(false).await;
    let admin = app.any_admin().await;
    app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let mut agent = online_agent(&app, "bob@example.com").await;
    let (_, mut socket) = visitor(&app, &site).await;

    socket.send(&send("v-1", "<script>alert(1)</script> help")).await;
    let mut seen = Vec::new();
    let number = socket
        .next_matching(|e| match e {
            VisitorEvent::Message { message, .. } => {
                seen.push(message);
                None
            }
            VisitorEvent::Ack { number, .. } => Some(number),
            _ => None,
        })
        .await;
    let assigned = agent
        .next_matching(|m| match m {
            ServerMessage::ChatInbox { chats, .. } => {
                chats.into_iter().find(|c| c.number == number && c.state == ChatState::Active)
            }
            _ => None,
        })
        .await;
    agent.send(&ClientMessage::SubscribeChat { number, after_seq: 0 }).await;
    let first = agent
        .next_matching(|m| {
            if let ServerMessage::ChatMessage { message, .. } = m { Some(message) } else { None }
        })
        .await;
    agent
        .send(&ClientMessage::ChatSend {
            number,
            client_id: "a-1".into(),
            body: "Hi, Bob here.".into(),
            attachment_id: None,
        })
        .await;
    let agent_ack = agent
        .next_matching(
            |m| if let ServerMessage::ChatAck { seq, .. } = m { Some(seq) } else { None },
        )
        .await;
    while seen.last().is_none_or(|m: &ChatMessage| m.sender != Sender::Agent) {
        seen.push(message(&mut socket).await);
    }

    assert_eq!(assigned.agent.as_deref(), Some("Bob"));
    assert_eq!(
        first.body, "<script>alert(1)</script> help",
        "stored as typed, shown as text by clients"
    );
    assert_eq!(
        seen.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=agent_ack).collect::<Vec<_>>(),
        "every message once, in order"
    );
    assert_eq!(
        seen.get(1).map(|m| (m.sender, m.body.as_str())),
        Some((Sender::System, "Bob joined the chat"))
    );
    assert_eq!(
        seen.last().map(|m| (m.author.as_str(), m.body.as_str())),
        Some(("Bob", "Hi, Bob here."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_read_receipts_reach_the_other_side() {
    let (app, site) = app_with_site(false).await;
    let mut agent = online_agent(&app, "ada@example.com").await;
    let (_, mut socket) = visitor(&app, &site).await;
    socket.send(&send("v-1", "Hello")).await;
    let (_, _, number) = ack(&mut socket).await;
    agent.send(&ClientMessage::SubscribeChat { number, after_seq: 0 }).await;
    agent
        .next_matching(|m| {
            matches!(m, ServerMessage::ChatMessage { message, .. } if message.seq == 2)
                .then_some(())
        })
        .await;

    socket.send(&VisitorRequest::Typing { typing: true }).await;
    let typing = agent
        .next_matching(|m| {
            if let ServerMessage::ChatTyping { typing, .. } = m { Some(typing) } else { None }
        })
        .await;
    agent.send(&ClientMessage::ChatRead { number, seq: 2 }).await;
    let read = socket
        .next_matching(|e| if let VisitorEvent::Read { seq } = e { Some(seq) } else { None })
        .await;

    assert!(typing);
    assert_eq!(read, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_verification_refuses_wrong_and_missing_hashes_under_enforcement() {
    let (app, site) = app_with_site(true).await;
    let client = app.client();
    let good = identity_hash(&site.identity_secret, "user-42");
    let wrong = identity_hash("not the secret", "user-42");

    let missing = client
        .start_visitor(json!({ "site": site.public_token, "user_id": "user-42" }))
        .await
        .status();
    let forged = client
        .start_visitor(
            json!({ "site": site.public_token, "user_id": "user-42", "user_hash": wrong }),
        )
        .await
        .status();
    let other_user = client
        .start_visitor(
            json!({ "site": site.public_token, "user_id": "user-43", "user_hash": good }),
        )
        .await
        .status();
    let verified = client
        .start_visitor(
            json!({ "site": site.public_token, "user_id": "user-42", "user_hash": good }),
        )
        .await;

    assert_eq!(
        (missing, forged, other_user),
        (
            reqwest::StatusCode::FORBIDDEN,
            reqwest::StatusCode::FORBIDDEN,
            reqwest::StatusCode::FORBIDDEN
        )
    );
    assert_eq!(verified.status(), 200);
    let body: serde_json::Value = verified.json().await.expect("JSON");
    assert_eq!(body["identified"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_user_sees_their_chat_on_another_device_and_an_anonymous_visitor_does_not() {
    let (app, site) = app_with_site(false).await;
    let client = app.client();
    let hash = identity_hash(&site.identity_secret, "user-42");
    let identify = json!({ "site": site.public_token, "user_id": "user-42", "user_hash": hash, "name": "Grace" });
    let start = async |body: &serde_json::Value| -> String {
        let answer: serde_json::Value =
            client.start_visitor(body.clone()).await.json().await.expect("JSON");
        answer["token"].as_str().expect("a token").to_owned()
    };
    let laptop = start(&identify).await;
    let mut socket = resume(&app, &site, &laptop, 0).await;
    socket.send(&send("g-1", "Where is my parcel?")).await;
    let (_, _, number) = ack(&mut socket).await;

    let phone = start(&identify).await;
    let mut on_phone = resume(&app, &site, &phone, 0).await;
    let seen_on_phone = message(&mut on_phone).await;
    // Unverified, the same user id must not reach Grace's chat.
    let pretender =
        start(&json!({ "site": site.public_token, "user_id": "user-42", "user_hash": "00" })).await;
    let mut stranger = connect_widget(&app.base_url, &site.public_token, &pretender, Some(SHOP))
        .await
        .expect("opens");
    stranger.send(&VisitorRequest::Resume { number: Some(number), after_seq: 0 }).await;
    let refused = stranger
        .next_matching(|e| if let VisitorEvent::Error { code, .. } = e { Some(code) } else { None })
        .await;

    assert_ne!(laptop, phone);
    assert_eq!(seen_on_phone.body, "Where is my parcel?");
    assert_eq!(refused, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_user_id_with_someone_elses_email_never_reaches_their_conversations() {
    let (app, site) = app_with_site(true).await;
    let client = app.client();
    let start = async |user: &str, email: &str| -> String {
        let hash = identity_hash(&site.identity_secret, user);
        let body = json!({ "site": site.public_token, "user_id": user, "user_hash": hash, "name": "Grace", "email": email });
        let answer: serde_json::Value =
            client.start_visitor(body).await.json().await.expect("JSON");
        answer["token"].as_str().expect("a token").to_owned()
    };
    let grace = start("user-42", "grace@example.com").await;
    let mut socket = resume(&app, &site, &grace, 0).await;
    socket.send(&send("g-1", "My card number is private")).await;
    let (_, _, number) = ack(&mut socket).await;

    // Another user of the shop signs their own id but sends Grace's email.
    let mallory = start("user-99", "grace@example.com").await;
    let mut stranger = connect_widget(&app.base_url, &site.public_token, &mallory, Some(SHOP))
        .await
        .expect("opens");
    stranger.send(&VisitorRequest::Resume { number: None, after_seq: 0 }).await;
    let welcome = stranger
        .next_matching(
            |e| if let VisitorEvent::Welcome { welcome } = e { Some(welcome) } else { None },
        )
        .await;
    stranger.send(&VisitorRequest::Resume { number: Some(number), after_seq: 0 }).await;
    let refused = stranger
        .next_matching(|e| if let VisitorEvent::Error { code, .. } = e { Some(code) } else { None })
        .await;
    let owners: Vec<i64> = app.query_i64s("SELECT contact_id FROM chat_visitors ORDER BY id").await;
    let claimed: Vec<i64> = app
        .query_i64s("SELECT contact_id FROM contact_emails WHERE email = 'grace@example.com'")
        .await;

    assert!(welcome.chat.is_none(), "the stranger sees no chat: {:?}", welcome.chat);
    assert_eq!(refused, "not_found");
    assert_eq!(owners.len(), 2);
    assert_ne!(owners[0], owners[1], "each signed user id has a profile of its own");
    assert!(claimed.is_empty(), "a typed email claims no address: {claimed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_cannot_follow_another_visitors_chat() {
    let (app, site) = app_with_site(false).await;
    let (_, mut alice) = visitor(&app, &site).await;
    alice.send(&send("a-1", "Private question")).await;
    let (_, _, number) = ack(&mut alice).await;
    let mallory = app.client().new_visitor(&site.public_token).await;

    let mut socket = connect_widget(&app.base_url, &site.public_token, &mallory, Some(SHOP))
        .await
        .expect("opens");
    socket.send(&VisitorRequest::Resume { number: Some(number), after_seq: 0 }).await;
    let answer = socket.next().await;
    let leaked = socket.next_within(Duration::from_millis(300)).await;

    assert!(
        matches!(answer, VisitorEvent::Error { ref code, .. } if code == "not_found"),
        "{answer:?}"
    );
    assert!(leaked.is_none(), "nothing of the other chat is sent: {leaked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_is_refused_from_origins_the_site_does_not_allow_and_for_unknown_tokens() {
    let (app, site) = app_with_site(false).await;
    let token = app.client().new_visitor(&site.public_token).await;
    let status = |result: Result<WidgetClient, tungstenite::Error>| match result {
        Ok(_) => 101,
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected failure: {e}"),
    };

    let evil = status(
        connect_widget(&app.base_url, &site.public_token, &token, Some("https://evil.example"))
            .await,
    );
    let no_origin = status(connect_widget(&app.base_url, &site.public_token, &token, None).await);
    let unknown_token =
        status(connect_widget(&app.base_url, &site.public_token, "forged", Some(SHOP)).await);
    let unknown_site = status(connect_widget(&app.base_url, "nope", &token, Some(SHOP)).await);
    let allowed =
        status(connect_widget(&app.base_url, &site.public_token, &token, Some(SHOP)).await);
    let own_panel = status(
        connect_widget(&app.base_url, &site.public_token, &token, Some(&app.base_url)).await,
    );

    assert_eq!((evil, no_origin, unknown_token, unknown_site), (403, 403, 401, 404));
    assert_eq!((allowed, own_panel), (101, 101));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_or_malformed_frame_closes_only_that_socket() {
    let (app, site) = app_with_site(false).await;
    let (_, mut big) = visitor(&app, &site).await;
    let (_, mut garbled) = visitor(&app, &site).await;
    let (_, mut bystander) = visitor(&app, &site).await;

    let _ = big.send_raw("x".repeat(frontdesk_core::chats::MAX_WIDGET_FRAME_BYTES + 1)).await;
    let big_closed = big.closed().await;
    garbled.send_raw("{\"type\":\"send\"".into()).await.expect("sent");
    let garbled_closed = garbled.closed().await;
    bystander.send(&send("b-1", "still here")).await;
    let (_, seq, _) = ack(&mut bystander).await;

    assert!(matches!(big_closed, None | Some(1009)), "too big: {big_closed:?}");
    assert_eq!(garbled_closed, Some(1007));
    assert_eq!(seq, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_past_the_message_rate_is_refused_without_losing_the_socket() {
    let app = spawn_app_with(|serve| serve.chat_messages_per_minute = Some(3)).await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let site = app.create_widget_site(&admin, SHOP, false).await;
    let (_, mut socket) = visitor(&app, &site).await;
    for i in 1..=3 {
        socket.send(&send(&format!("c-{i}"), "hi")).await;
        ack(&mut socket).await;
    }

    socket.send(&send("c-4", "one too many")).await;
    let refused = socket
        .next_matching(|e| if let VisitorEvent::Error { code, .. } = e { Some(code) } else { None })
        .await;
    socket.send(&VisitorRequest::Ping).await;
    let still_open = socket.next_matching(|e| matches!(e, VisitorEvent::Pong).then_some(())).await;

    assert_eq!(refused, "rate_limited");
    assert_eq!(still_open, ());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_opening_sockets_too_fast_is_refused_at_the_handshake() {
    let (app, site) = app_with_site(false).await;
    let token = app.client().new_visitor(&site.public_token).await;
    let mut statuses = Vec::new();
    for _ in 0..frontdesk_core::chats::ChatSettings::default().connections_per_minute + 1 {
        statuses.push(
            match connect_widget(&app.base_url, &site.public_token, &token, Some(SHOP)).await {
                Ok(_) => 101,
                Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
                Err(e) => panic!("unexpected failure: {e}"),
            },
        );
    }

    assert!(statuses[..statuses.len() - 1].iter().all(|s| *s == 101));
    assert_eq!(statuses.last(), Some(&429));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_agent_online_the_widget_says_so_and_a_left_message_becomes_a_ticket() {
    let (app, site) = app_with_site(false).await;
    let token = app.client().new_visitor(&site.public_token).await;
    let mut socket =
        connect_widget(&app.base_url, &site.public_token, &token, Some(SHOP)).await.expect("opens");
    socket.send(&VisitorRequest::Resume { number: None, after_seq: 0 }).await;
    let welcome = socket
        .next_matching(
            |e| if let VisitorEvent::Welcome { welcome } = e { Some(welcome) } else { None },
        )
        .await;

    let leave = VisitorRequest::LeaveMessage {
        client_id: "m-1".into(),
        name: "Carol".into(),
        email: "carol@example.com".into(),
        body: "Call me back".into(),
    };
    socket.send(&leave).await;
    let number = socket
        .next_matching(|e| {
            if let VisitorEvent::MessageLeft { number, .. } = e { Some(number) } else { None }
        })
        .await;
    socket.send(&leave).await;
    let again = socket
        .next_matching(|e| {
            if let VisitorEvent::MessageLeft { number, .. } = e { Some(number) } else { None }
        })
        .await;
    let admin = app.any_admin().await;
    let ticket = frontdesk_core::tickets::get(&app.ctx, &admin, number).await.expect("the ticket");

    assert!(!welcome.agents_online);
    assert_eq!(again, number, "resending creates nothing new");
    assert_eq!(ticket.ticket.status, frontdesk_core::tickets::Status::New);
    assert_eq!(ticket.messages[0].body, "Call me back");
    assert_eq!(ticket.ticket.requester.name, "Carol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_go_round_robin_within_capacity_and_the_rest_wait_seeing_their_place() {
    let (app, site) = app_with_site(false).await;
    let admin = app.any_admin().await;
    app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    app.execute("UPDATE agents SET chat_capacity = 1").await;
    let _ada = online_agent(&app, "ada@example.com").await;
    let _bob = online_agent(&app, "bob@example.com").await;

    let mut agents = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..4 {
        let (_, mut socket) = visitor(&app, &site).await;
        socket.send(&send("first", &format!("visitor {i}"))).await;
        let chat = socket
            .next_matching(|e| if let VisitorEvent::Chat { chat } = e { Some(chat) } else { None })
            .await;
        agents.push((chat.state, chat.agent.clone(), chat.queue_position));
        sockets.push(socket);
    }
    let waiting = agents
        .iter()
        .filter(|(state, ..)| *state == ChatState::Queued)
        .map(|(.., position)| *position)
        .collect::<Vec<_>>();
    let served = agents
        .iter()
        .filter_map(|(_, agent, _)| agent.clone())
        .collect::<std::collections::BTreeSet<_>>();

    assert_eq!(served.into_iter().collect::<Vec<_>>(), ["Ada", "Bob"], "one chat each");
    assert_eq!(waiting, [Some(1), Some(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_whose_agent_goes_offline_returns_to_the_queue() {
    let app = spawn_app_with(|serve| serve.chat_offline_grace_secs = Some(0)).await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let site = app.create_widget_site(&admin, SHOP, false).await;
    let agent = online_agent(&app, "ada@example.com").await;
    let (_, mut socket) = visitor(&app, &site).await;
    socket.send(&send("v-1", "Hello")).await;
    socket
        .next_matching(|e| {
            matches!(e, VisitorEvent::Chat { chat } if chat.state == ChatState::Active)
                .then_some(())
        })
        .await;

    drop(agent);
    let back = socket
        .next_matching(|e| match e {
            VisitorEvent::Chat { chat } if chat.state == ChatState::Queued => Some(chat),
            _ => None,
        })
        .await;

    assert_eq!((back.agent, back.queue_position), (None, Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_is_sent_with_a_message_and_downloads_only_for_its_chat_with_safe_headers() {
    let (app, site) = app_with_site(false).await;
    let (token, mut socket) = visitor(&app, &site).await;
    socket.send(&send("v-1", "Here is the error")).await;
    ack(&mut socket).await;
    let http = app.client();
    let upload = |token: String, bytes: Vec<u8>| {
        let request = http
            .http
            .post(format!(
                "{}/api/widget/attachments?site={}&visitor={token}",
                app.base_url, site.public_token
            ))
            .header("content-type", "text/html")
            .header("x-file-name", "%3Cimg%20src%3Dx%3E.html")
            .body(bytes);
        async move { request.send().await.expect("answered") }
    };

    let uploaded: frontdesk_core::chats::Attachment =
        upload(token.clone(), b"<script>alert(1)</script>".to_vec())
            .await
            .json()
            .await
            .expect("JSON");
    let too_big = upload(token.clone(), vec![0; frontdesk_core::chats::MAX_ATTACHMENT_BYTES + 1])
        .await
        .status();
    socket
        .send(&VisitorRequest::Send {
            client_id: "v-2".into(),
            body: String::new(),
            attachment_id: Some(uploaded.id),
        })
        .await;
    let sent = message(&mut socket).await;
    let own = http
        .get(&format!(
            "/api/chat/attachments/{}?site={}&visitor={token}",
            uploaded.id, site.public_token
        ))
        .await;
    let stranger = http.new_visitor(&site.public_token).await;
    let others = http
        .get(&format!(
            "/api/chat/attachments/{}?site={}&visitor={stranger}",
            uploaded.id, site.public_token
        ))
        .await
        .status();
    let anonymous =
        app.client().get(&format!("/api/chat/attachments/{}", uploaded.id)).await.status();

    assert_eq!(uploaded.file_name, "<img src=x>.html");
    assert_eq!(too_big, 422, "one byte over the cap is refused with a reason");
    assert_eq!(sent.attachment.map(|a| a.id), Some(uploaded.id));
    assert_eq!(own.status(), 200);
    let header = |name: &str| {
        own.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert!(
        header("content-disposition")
            .starts_with("attachment; filename*=UTF-8''%3Cimg%20src%3Dx%3E.html"),
        "{}",
        header("content-disposition")
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("sandbox"));
    assert_eq!(
        (others, anonymous),
        (reqwest::StatusCode::NOT_FOUND, reqwest::StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_with_many_messages_in_flight_gets_them_stored_and_acked_in_the_order_sent() {
    let (app, site) = app_with_site(false).await;
    let (_, mut socket) = visitor(&app, &site).await;
    socket.send(&send("m-0", "The first message starts the chat")).await;
    ack(&mut socket).await;

    for i in 1..=40 {
        socket.send(&send(&format!("m-{i}"), &format!("message {i}"))).await;
    }
    let mut acks = Vec::new();
    for _ in 1..=40 {
        let (client_id, seq, number) = ack(&mut socket).await;
        acks.push((seq, client_id, number));
    }
    let number = acks[0].2;
    let expected: Vec<(i64, String)> = (1..=40).map(|i| (i + 1, format!("m-{i}"))).collect();

    assert_eq!(
        acks.into_iter().map(|(seq, client_id, _)| (seq, client_id)).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(stored_messages(&app, number).await[1..], expected[..]);
}

/// A chat started by a new visitor, and who it went to (one of the online agents).
async fn routed_chat(app: &TestApp, site: &WidgetSite) -> (WidgetClient, i64, String) {
    let (_, mut socket) = visitor(app, site).await;
    socket.send(&send("v-1", "Hello")).await;
    let chat = socket
        .next_matching(|e| match e {
            VisitorEvent::Chat { chat } if chat.state == ChatState::Active => Some(chat),
            _ => None,
        })
        .await;
    (socket, chat.number, chat.agent.expect("an agent has it"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_who_has_a_chat_transfers_it_to_an_online_agent_and_nobody_else_may() {
    use frontdesk_core::chats::{self, TransferTo};
    use frontdesk_core::error::Error;
    let (app, site) = app_with_site(false).await;
    let admin = app.any_admin().await;
    let bob = app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let cy = app.create_agent(&admin, "cy@example.com", "Cy", Role::Agent).await;
    let dee = app.create_agent(&admin, "dee@example.com", "Dee", Role::Agent).await;
    let _bob_console = online_agent(&app, "bob@example.com").await;
    let (mut socket, number, owner) = routed_chat(&app, &site).await;
    assert_eq!(owner, "Bob", "the only agent online gets the chat");

    let by_stranger = chats::transfer(&app.ctx, &cy, number, TransferTo::Agent(cy.id)).await;
    let to_offline = chats::transfer(&app.ctx, &bob, number, TransferTo::Agent(dee.id)).await;
    let _cy_console = online_agent(&app, "cy@example.com").await;
    let moved = chats::transfer(&app.ctx, &bob, number, TransferTo::Agent(cy.id))
        .await
        .expect("Bob transfers to Cy");
    let note = socket
        .next_matching(|e| match e {
            VisitorEvent::Message { message, .. }
                if message.sender == Sender::System && message.body.contains("transferred") =>
            {
                Some(message.body)
            }
            _ => None,
        })
        .await;
    let seen = socket
        .next_matching(|e| match e {
            VisitorEvent::Chat { chat } if chat.agent.as_deref() == Some("Cy") => Some(chat.state),
            _ => None,
        })
        .await;
    let ticket = frontdesk_core::tickets::get(&app.ctx, &admin, number).await.expect("the ticket");

    assert!(matches!(by_stranger, Err(Error::Forbidden)), "{by_stranger:?}");
    assert!(matches!(to_offline, Err(Error::Conflict(_))), "{to_offline:?}");
    assert_eq!((moved.state, moved.agent.as_deref()), (ChatState::Active, Some("Cy")));
    assert_eq!(seen, ChatState::Active);
    assert_eq!(note, "Bob transferred the chat to Cy");
    assert_eq!(ticket.ticket.assignee.map(|a| a.name), Some("Cy".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_chat_solves_its_ticket_or_keeps_it_open_and_closes_it_to_new_messages() {
    use frontdesk_core::chats;
    use frontdesk_core::error::Error;
    use frontdesk_core::tickets::Status;
    let (app, site) = app_with_site(false).await;
    let admin = app.any_admin().await;
    let bob = app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let cy = app.create_agent(&admin, "cy@example.com", "Cy", Role::Agent).await;
    let _console = online_agent(&app, "bob@example.com").await;
    let (mut solved_socket, solved, _) = routed_chat(&app, &site).await;
    let (_, kept_open, _) = routed_chat(&app, &site).await;

    let by_stranger = chats::end(&app.ctx, &cy, solved, true).await;
    let ended = chats::end(&app.ctx, &bob, solved, true).await.expect("Bob ends the chat");
    chats::end(&app.ctx, &bob, kept_open, false).await.expect("Bob ends the other chat");
    let again = chats::end(&app.ctx, &bob, solved, true).await;
    let reply = chats::agent_send(&app.ctx, &bob, solved, "late", "One more thing", None).await;
    solved_socket
        .next_matching(|e| {
            matches!(e, VisitorEvent::Chat { chat } if chat.state == ChatState::Ended).then_some(())
        })
        .await;
    solved_socket.send(&send("v-2", "Actually, another question")).await;
    let (_, _, next_number) = ack(&mut solved_socket).await;
    let status = |number| {
        let (app, admin) = (&app, &admin);
        async move {
            frontdesk_core::tickets::get(&app.ctx, admin, number)
                .await
                .expect("the ticket")
                .ticket
                .status
        }
    };

    assert!(matches!(by_stranger, Err(Error::Forbidden)), "{by_stranger:?}");
    assert_eq!(ended.state, ChatState::Ended);
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    assert!(matches!(reply, Err(Error::Conflict(_))), "{reply:?}");
    assert_eq!((status(solved).await, status(kept_open).await), (Status::Solved, Status::Open));
    assert_ne!(next_number, solved, "writing after the end starts a new chat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_reaches_the_writer_after_its_chat_ended_goes_to_the_visitors_next_chat() {
    use frontdesk_core::chats::sites::visitor_by_token;
    use frontdesk_core::chats::{self, ChatRef};
    let (app, site) = app_with_site(false).await;
    let admin = app.any_admin().await;
    let _console = online_agent(&app, "ada@example.com").await;
    let token = app.client().new_visitor(&site.public_token).await;
    let mut socket = resume(&app, &site, &token, 0).await;
    socket.send(&send("v-1", "Hello")).await;
    let (_, _, number) = ack(&mut socket).await;
    let visitor = visitor_by_token(app.ctx.db(), &site, &token).await.expect("the visitor");
    let id = frontdesk_core::tickets::get(&app.ctx, &admin, number)
        .await
        .expect("the chat's ticket")
        .ticket
        .id;
    chats::end(&app.ctx, &admin, number, true).await.expect("the chat ends");

    // A socket that has not yet heard of the end still believes the chat open.
    let stale = Some(ChatRef { id, number });
    let sending = chats::visitor_send(&app.ctx, &visitor, stale, "v-late", "One more thing", None)
        .await
        .expect("queued");
    let (chat, message) = sending.stored().await.expect("stored");

    assert_ne!(chat.number, number, "it starts the next chat");
    assert_eq!((message.seq, message.body.as_str()), (1, "One more thing"));
    assert!(
        !stored_messages(&app, number).await.iter().any(|(_, client_id)| client_id == "v-late"),
        "nothing lands in the ended chat"
    );
    assert_eq!(
        stored_messages(&app, chat.number).await.first(),
        Some(&(1, "v-late".to_owned())),
        "the new chat begins with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visitor_sees_when_their_agent_steps_away_and_comes_back() {
    let (app, site) = app_with_site(false).await;
    let mut agent = online_agent(&app, "ada@example.com").await;
    let (mut socket, _, _) = routed_chat(&app, &site).await;

    agent.send(&ClientMessage::SetChatStatus { status: AgentStatus::Away }).await;
    let away = socket
        .next_matching(|e| match e {
            VisitorEvent::Chat { chat } if chat.agent_status == Some(AgentStatus::Away) => {
                Some((chat.state, chat.agent))
            }
            _ => None,
        })
        .await;
    agent.send(&ClientMessage::SetChatStatus { status: AgentStatus::Online }).await;
    let back = socket
        .next_matching(|e| match e {
            VisitorEvent::Chat { chat } if chat.agent_status == Some(AgentStatus::Online) => {
                chat.agent_status
            }
            _ => None,
        })
        .await;

    assert_eq!(away, (ChatState::Active, Some("Ada".to_owned())), "still their chat, only away");
    assert_eq!(back, AgentStatus::Online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_raising_an_agents_chat_capacity_routes_a_waiting_chat_to_them() {
    use frontdesk_core::chats::set_capacity;
    use frontdesk_core::error::Error;
    let (app, site) = app_with_site(false).await;
    let admin = app.any_admin().await;
    let bob = app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    set_capacity(&app.ctx, &admin, bob.id, 0).await.expect("an admin sets 0");
    let _console = online_agent(&app, "bob@example.com").await;
    let (_, mut socket) = visitor(&app, &site).await;
    socket.send(&send("v-1", "Anyone?")).await;
    let waiting = socket
        .next_matching(
            |e| if let VisitorEvent::Chat { chat } = e { Some(chat.state) } else { None },
        )
        .await;

    let by_agent = set_capacity(&app.ctx, &bob, bob.id, 5).await;
    let too_many = set_capacity(&app.ctx, &admin, bob.id, 21).await;
    let raised = set_capacity(&app.ctx, &admin, bob.id, 1).await.expect("an admin raises it");
    let taken = socket
        .next_matching(|e| match e {
            VisitorEvent::Chat { chat } if chat.state == ChatState::Active => chat.agent,
            _ => None,
        })
        .await;

    assert_eq!(waiting, ChatState::Queued, "nobody has room");
    assert!(matches!(by_agent, Err(Error::Forbidden)), "{by_agent:?}");
    assert!(matches!(too_many, Err(Error::Invalid(_))), "{too_many:?}");
    assert_eq!(raised.chat_capacity, 1);
    assert_eq!(taken, "Bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solved_chats_transcript_is_searchable_with_what_the_agent_said_as_its_resolution() {
    let (app, site) = app_with_site(false).await;
    let admin = app.any_admin().await;
    let mut agent = online_agent(&app, "ada@example.com").await;
    let (mut socket, number, _) = routed_chat(&app, &site).await;
    socket.send(&send("v-2", "The flux capacitor on my order rattles")).await;
    ack(&mut socket).await;
    let reply = "Tighten the quarkbolt behind the panel";
    agent
        .send(&ClientMessage::ChatSend {
            number,
            client_id: "a-1".into(),
            body: reply.into(),
            attachment_id: None,
        })
        .await;
    agent.next_matching(|m| matches!(m, ServerMessage::ChatAck { .. }).then_some(())).await;
    frontdesk_core::chats::end(&app.ctx, &admin, number, true).await.expect("the chat ends solved");

    let found_ticket = |found: &frontdesk_core::search::Found| {
        found.items.iter().any(|i| i.number == Some(number))
    };
    let (by_visitor_words, _) =
        app.agent_search_until("capacitor rattles", Duration::from_secs(10), found_ticket).await;
    // Until the end is indexed, the ticket may still be found as it was while the chat was open.
    let solved = |found: &frontdesk_core::search::Found| {
        found.items.iter().any(|i| i.number == Some(number) && i.status == "solved")
    };
    let (by_agent_words, _) =
        app.agent_search_until("quarkbolt", Duration::from_secs(10), solved).await;
    let hit = by_agent_words
        .items
        .into_iter()
        .find(|i| i.number == Some(number))
        .expect("the chat's ticket is found by the reply");

    assert!(found_ticket(&by_visitor_words), "the visitor's later message is indexed");
    assert_eq!(hit.resolution.as_deref(), Some(reply));
}

/// Opens a queued chat from a new visitor with the longest name, straight through the services.
async fn open_chat(app: &TestApp, site: &WidgetSite, i: usize) -> i64 {
    use frontdesk_core::chats::{self, sites};
    let hello = sites::Hello { name: Some("😀".repeat(100)), ..sites::Hello::default() };
    let ip = std::net::IpAddr::from([127, 0, 0, (i % 250) as u8 + 1]);
    let session =
        sites::start_visitor(&app.ctx, &site.public_token, hello, ip).await.expect("a visitor");
    let sending = chats::visitor_send(
        &app.ctx,
        &session.visitor,
        None,
        &format!("c-{i}"),
        &"😀".repeat(140),
        None,
    )
    .await
    .expect("sent");
    sending.stored().await.expect("stored").0.number
}

/// Reads inbox pages until a whole inbox that `accept` takes has arrived.
async fn whole_inbox(
    live: &mut LiveClient,
    accept: impl Fn(AgentStatus, &[frontdesk_core::chats::ChatSummary]) -> bool,
) -> Vec<i64> {
    let mut pages = Vec::new();
    loop {
        let (status, chats, more) = live
            .next_matching(|m| {
                if let ServerMessage::ChatInbox { status, chats, more } = m {
                    Some((status, chats, more))
                } else {
                    None
                }
            })
            .await;
        pages.extend(chats);
        if !more {
            if accept(status, &pages) {
                return pages.iter().map(|c| c.number).collect();
            }
            pages.clear();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_with_300_open_chats_stays_connected_and_sees_them_all() {
    let (app, site) = app_with_site(false).await;
    let mut numbers = std::collections::BTreeSet::new();
    for i in 0..300 {
        numbers.insert(open_chat(&app, &site, i).await);
    }
    app.execute("UPDATE agents SET chat_capacity = 0").await;

    let mut console = online_agent(&app, "ada@example.com").await;
    let first = whole_inbox(&mut console, |_, chats| chats.len() >= 300).await;
    let extra = open_chat(&app, &site, 300).await;
    let again = whole_inbox(&mut console, |_, chats| chats.iter().any(|c| c.number == extra)).await;

    assert_eq!(first.into_iter().collect::<std::collections::BTreeSet<_>>(), numbers);
    assert_eq!(again.len(), 301, "the same socket, still connected, sees the new one too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_message_in_4_byte_characters_from_the_longest_name_is_acked_and_replayed() {
    let (app, site) = app_with_site(false).await;
    let (name, body) =
        ("😀".repeat(100), "😀".repeat(frontdesk_core::chats::MAX_CHAT_MESSAGE_CHARS));
    let started: serde_json::Value = app
        .client()
        .start_visitor(json!({ "site": site.public_token, "name": name }))
        .await
        .json()
        .await
        .expect("JSON");
    let token = started["token"].as_str().expect("a token").to_owned();
    let mut socket = resume(&app, &site, &token, 0).await;
    let id = "c".repeat(frontdesk_core::chats::MAX_CLIENT_ID_CHARS);

    socket.send(&send(&id, &body)).await;
    let echoed = message(&mut socket).await;
    let (acked, seq, _) = ack(&mut socket).await;
    drop(socket);
    let mut replays = Vec::new();
    for _ in 0..2 {
        let mut again = connect_widget(&app.base_url, &site.public_token, &token, Some(SHOP))
            .await
            .expect("opens");
        again.send(&VisitorRequest::Resume { number: None, after_seq: 0 }).await;
        replays.push(message(&mut again).await);
    }

    assert_eq!((acked, seq, echoed.body.chars().count()), (id, 1, body.chars().count()));
    for replayed in replays {
        assert_eq!(
            (replayed.seq, replayed.author.as_str(), replayed.body.as_str()),
            (1, name.as_str(), body.as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_the_console_makes_an_agent_available_unless_they_chose_away() {
    let (app, _) = app_with_site(false).await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;
    let cookie = client.session_cookie().expect("signed in");
    let open_console = async || {
        let mut live =
            connect(&app.base_url, Some(&cookie), None).await.expect("the live socket opens");
        live.send(&ClientMessage::SubscribeChats).await;
        let status = live
            .next_matching(|m| {
                if let ServerMessage::ChatInbox { status, .. } = m { Some(status) } else { None }
            })
            .await;
        (live, status)
    };

    let (mut first, on_open) = open_console().await;
    first.send(&ClientMessage::SetChatStatus { status: AgentStatus::Away }).await;
    first
        .next_matching(|m| {
            matches!(m, ServerMessage::ChatInbox { status: AgentStatus::Away, .. }).then_some(())
        })
        .await;
    drop(first);
    let (mut second, after_away) = open_console().await;
    second.send(&ClientMessage::SetChatStatus { status: AgentStatus::Offline }).await;
    second
        .next_matching(|m| {
            matches!(m, ServerMessage::ChatInbox { status: AgentStatus::Offline, .. }).then_some(())
        })
        .await;
    drop(second);
    let (_third, after_offline) = open_console().await;

    assert_eq!(on_open, AgentStatus::Online, "a first console opens available");
    assert_eq!(after_away, AgentStatus::Away, "away is kept across consoles");
    assert_eq!(
        after_offline,
        AgentStatus::Online,
        "going offline ends when the console opens again"
    );
}

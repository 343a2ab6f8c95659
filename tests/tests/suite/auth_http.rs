//! Signing in and out over HTTP: same answers for unknown emails and wrong passwords, rate
//! limits, session cookies, CSRF, first-run setup, roles, deactivation, health probes.

use frontdesk_core::agents::Role;
use frontdesk_tests::{PASSWORD, spawn_app, spawn_app_with};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();

    let wrong_password = client.sign_in("ada@example.com", "not the password").await;
    let (status_a, body_a) =
        (wrong_password.status(), wrong_password.text().await.unwrap_or_default());
    let unknown_email = client.sign_in("nobody@example.com", "not the password").await;
    let (status_b, body_b) =
        (unknown_email.status(), unknown_email.text().await.unwrap_or_default());

    assert_eq!(status_a, StatusCode::UNAUTHORIZED);
    assert_eq!((status_a, &body_a), (status_b, &body_b));
    assert!(body_a.contains("InvalidCredentials"), "body: {body_a}");
    assert_eq!(client.session_cookie(), None, "a failed sign-in must not start a session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_from_one_address_is_slowed_per_account_even_with_the_right_password() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();

    for _ in 0..5 {
        assert_eq!(
            client.sign_in("ada@example.com", "guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = client.sign_in("ada@example.com", PASSWORD).await;

    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(retry_after > 0 && retry_after <= 15 * 60, "Retry-After: {retry_after}");
    // The limit is per account: an unknown email hit just as hard is limited the same way,
    // so the limit does not reveal which accounts exist.
    for _ in 0..5 {
        client.sign_in("ghost@example.com", "guess").await;
    }
    assert_eq!(
        client.sign_in("ghost@example.com", "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_guessing_an_account_cannot_lock_its_owner_out() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let stranger = frontdesk_tests::ApiClient::from_address(
        &app.base_url,
        Some("127.0.0.2".parse().expect("an address")),
    );

    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(stranger.sign_in("ada@example.com", "guess").await.status());
    }
    let owner = app.client();
    let signed_in = owner.sign_in("ada@example.com", PASSWORD).await.status();

    assert!(statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert!(
        statuses[5..].contains(&StatusCode::TOO_MANY_REQUESTS),
        "the stranger is slowed: {statuses:?}"
    );
    assert!(
        owner.session_cookie().is_some(),
        "the owner signs in from their own address: {signed_in}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_rate_limited_per_ip_across_accounts() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let client = app.client();

    for i in 0..20 {
        let status = client.sign_in(&format!("user{i}@example.com"), "guess").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }

    assert_eq!(
        client.sign_in("bob@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_changes_at_sign_in_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    assert_eq!(client.sign_in("ada@example.com", PASSWORD).await.status(), StatusCode::OK);
    let first = client.session_cookie().expect("a session cookie after sign-in");

    assert_eq!(client.sign_in("ada@example.com", PASSWORD).await.status(), StatusCode::OK);
    let second = client.session_cookie().expect("a session cookie after the second sign-in");

    assert_ne!(first, second);
    let with_old_cookie = app.client().call_with_session(&first, "list_agents").await;
    assert_eq!(with_old_cookie.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(client.call("list_agents", &[]).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;

    let response = app.client().sign_in("ada@example.com", PASSWORD).await;

    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("frontdesk_session="))
        .map(str::to_owned)
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP must not mark cookies Secure: {cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_when_configured_for_tls() {
    let app = spawn_app_with(|serve| serve.secure_cookies = true).await;
    app.create_admin("ada@example.com", "Ada").await;

    let response = app.client().sign_in("ada@example.com", PASSWORD).await;

    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("frontdesk_session=") && cookie.contains("Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;
    let cookie = client.session_cookie().expect("signed in");

    assert_eq!(client.call("sign_out", &[]).await.status(), StatusCode::OK);

    let replayed = app.client().call_with_session(&cookie, "list_agents").await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebound_name_with_matching_host_and_origin_cannot_run_first_run_setup() {
    let app = spawn_app().await;
    let port = app.base_url.rsplit(':').next().expect("a port").to_owned();
    let rebound = format!("rebound.evil.example:{port}");

    let answer = app
        .client()
        .http
        .post(format!("{}/api/set_up", app.base_url))
        .header("host", &rebound)
        .header("origin", format!("http://{rebound}"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("name", "Mallory"),
            ("email", "mallory@evil.example"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .expect("answered");

    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.query_i64s("SELECT COUNT(*) FROM agents").await, [0], "no admin was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_post_is_refused_and_a_same_origin_one_is_not() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let host = app.base_url.trim_start_matches("http://").to_owned();
    let post = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut request = app
            .client()
            .http
            .post(format!("{}/api/sign_in", app.base_url))
            .form(&[("email", "ada@example.com"), ("password", PASSWORD)]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };

    let forged = post(Some("https://evil.example"), None).await.expect("answered");
    let forged_modern =
        post(Some("https://evil.example"), Some("cross-site")).await.expect("answered");
    let same_origin = app
        .client()
        .http
        .post(format!("{}/api/sign_in", app.base_url))
        .header("origin", format!("http://{host}"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("answered");

    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(forged_modern.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get("set-cookie").is_none());
    assert_eq!(same_origin.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup_creates_one_admin_and_then_closes() {
    let app = spawn_app().await;
    let client = app.client();
    let setup = [("name", "Ada"), ("email", "ada@example.com"), ("password", PASSWORD)];

    let first = client.call("set_up", &setup).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(client.session_cookie().is_some(), "setup signs the admin in");
    let again = app
        .client()
        .call("set_up", &[("name", "Eve"), ("email", "eve@example.com"), ("password", PASSWORD)])
        .await;

    assert_eq!(again.status(), StatusCode::CONFLICT);
    let agents = client.call("list_agents", &[]).await.text().await.unwrap_or_default();
    assert!(agents.contains("ada@example.com") && !agents.contains("eve@example.com"), "{agents}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_explains_every_invalid_field() {
    let app = spawn_app().await;

    let response = app
        .client()
        .call("set_up", &[("name", ""), ("email", "not-an-email"), ("password", "short")])
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap_or_default();
    for field in ["\"name\"", "\"email\"", "\"password\""] {
        assert!(body.contains(field), "{field} missing from {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_cannot_manage_agents_but_admins_can() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let bob = app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let agent_client = app.client();
    agent_client.sign_in("bob@example.com", PASSWORD).await;
    let admin_client = app.client();
    admin_client.sign_in("ada@example.com", PASSWORD).await;
    let new_agent =
        [("name", "Cy"), ("email", "cy@example.com"), ("role", "agent"), ("password", PASSWORD)];

    let by_agent = agent_client.call("create_agent", &new_agent).await;
    let promote_self = agent_client
        .call("change_agent_role", &[("agent_id", &bob.id.to_string()), ("role", "admin")])
        .await;
    let by_admin = admin_client.call("create_agent", &new_agent).await;
    let duplicate = admin_client.call("create_agent", &new_agent).await;

    assert_eq!(by_agent.status(), StatusCode::FORBIDDEN);
    assert_eq!(promote_self.status(), StatusCode::FORBIDDEN);
    assert_eq!(by_admin.status(), StatusCode::OK);
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.text().await.unwrap_or_default().contains("already exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_deactivate_or_demote_themselves() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;
    let id = admin.id.to_string();

    let deactivate =
        client.call("set_agent_active", &[("agent_id", &id), ("active", "false")]).await;
    let demote = client.call("change_agent_role", &[("agent_id", &id), ("role", "agent")]).await;

    assert_eq!(deactivate.status(), StatusCode::CONFLICT);
    assert_eq!(demote.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_agent_ids_are_404() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await;

    let response =
        client.call("set_agent_active", &[("agent_id", "987654"), ("active", "false")]).await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_an_agent_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let bob = app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let bob_client = app.client();
    bob_client.sign_in("bob@example.com", PASSWORD).await;
    assert_eq!(bob_client.call("list_agents", &[]).await.status(), StatusCode::OK);
    let admin_client = app.client();
    admin_client.sign_in("ada@example.com", PASSWORD).await;

    let response = admin_client
        .call("set_agent_active", &[("agent_id", &bob.id.to_string()), ("active", "false")])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.ctx
            .part::<frontdesk_core::agents::sessions::DbSessionStore>()
            .count_for_agent(bob.id)
            .await
            .unwrap_or(-1),
        0
    );
    assert_eq!(bob_client.call("list_agents", &[]).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bob_client.sign_in("bob@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_and_readyz_fails_when_the_database_is_unreachable() {
    let app = spawn_app().await;
    let client = app.client();
    assert_eq!(client.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(client.get("/readyz").await.status(), StatusCode::OK);

    app.make_database_unreachable().await;

    assert_eq!(client.get("/readyz").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(client.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_redirect_by_state_and_unknown_paths_are_404() {
    let app = spawn_app().await;
    let html = |path: &'static str| {
        app.client()
            .http
            .get(format!("{}{path}", app.base_url))
            .header("accept", "text/html")
            .send()
    };

    let fresh = html("/").await.expect("answered");
    assert_eq!(fresh.status(), StatusCode::FOUND);
    assert_eq!(fresh.headers().get("location").and_then(|v| v.to_str().ok()), Some("/setup"));
    app.create_admin("ada@example.com", "Ada").await;
    let console = html("/app").await.expect("answered");
    assert_eq!(console.headers().get("location").and_then(|v| v.to_str().ok()), Some("/login"));
    let missing = html("/no/such/page").await.expect("answered");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap_or_default().contains("Page not found"));
    assert!(html("/login").await.expect("answered").headers().contains_key("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_sends_a_strict_script_policy_whose_nonce_only_its_own_scripts_carry() {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;

    let mut nonces = Vec::new();
    for path in ["/help", "/login", "/portal"] {
        let page = app.client().get(path).await;
        let policies: Vec<String> = page
            .headers()
            .get_all("content-security-policy")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let body = page.text().await.expect("the page");
        let scripts = policies
            .iter()
            .find(|p| p.contains("script-src"))
            .unwrap_or_else(|| panic!("{path}: a script policy in {policies:?}"));
        for directive in
            ["object-src 'none'", "base-uri 'none'", "form-action 'self'", "'wasm-unsafe-eval'"]
        {
            assert!(scripts.contains(directive), "{path}: {directive} in {scripts}");
        }
        let nonce = scripts
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce")
            .to_owned();
        assert!(nonce.len() >= 16, "{path}: {nonce}");
        assert!(
            body.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: the hydration scripts carry the nonce"
        );
        assert!(
            policies.iter().any(|p| p.contains("frame-ancestors")),
            "{path}: framing is still refused"
        );
        nonces.push(nonce);
    }
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a new nonce for every response");
}

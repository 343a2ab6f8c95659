//! The agents' article editor and the portal's suggested articles, against the running app:
//! revisions with their authors, unchanged saves, field errors, who may call the editor, the
//! preview rendered inert, saved articles reaching search and the help centre, suggestions of
//! published articles only with their own rate budget; and in headless Chromium, an agent
//! writing and publishing an article with the live preview, and a customer seeing a suggestion
//! while typing a request.

use frontdesk_core::agents::{Agent, Role};
use frontdesk_core::search::SearchQuery;
use frontdesk_tests::browser::Browser;
use frontdesk_tests::{ApiClient, PASSWORD, TestApp, field_error, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a saved article may take to become searchable here ("about a second", with room).
const FRESHNESS: Duration = Duration::from_secs(3);

/// Calls `function` and reads its JSON answer, which must come with `status`.
async fn call(
    client: &ApiClient,
    function: &str,
    args: &[(&str, &str)],
    status: StatusCode,
) -> Value {
    let response = client.call(function, args).await;
    let got = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(got, status, "{function}: {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{function} answered no JSON ({e}): {text}"))
}

/// A client signed in as the agent with `email`.
async fn signed_in(app: &TestApp, email: &str) -> ApiClient {
    let client = app.client();
    assert_eq!(client.sign_in(email, PASSWORD).await.status(), StatusCode::OK);
    client
}

/// Ada the admin, signed in.
async fn ada(app: &TestApp) -> (Agent, ApiClient) {
    let admin = app.create_admin("ada@example.com", "Ada").await;
    (admin, signed_in(app, "ada@example.com").await)
}

/// The editor's form fields for an article (`id` empty: a new one).
fn article<'a>(
    id: &'a str,
    title: &'a str,
    slug: &'a str,
    status: &'a str,
    body: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("id", id),
        ("title", title),
        ("slug", slug),
        ("locale", "en"),
        ("category", "Billing"),
        ("tags", "Invoices, cards"),
        ("status", status),
        ("body", body),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_change_keeps_the_previous_version_with_its_author_and_time_and_the_saver_becomes_the_author()
 {
    let app = spawn_app().await;
    let (admin, ada) = ada(&app).await;
    app.create_agent(&admin, "bob@example.com", "Bob", Role::Agent).await;
    let bob = signed_in(&app, "bob@example.com").await;

    let created = call(
        &ada,
        "save_kb_article",
        &article("", "Paying invoices", "", "draft", "Pay by card."),
        StatusCode::OK,
    )
    .await;
    let id = created.as_i64().expect("an article id").to_string();
    let first = call(&ada, "load_kb_article", &[("id", &id)], StatusCode::OK).await;
    assert_eq!(first["draft"]["slug"], "paying-invoices", "the slug is made from the title");
    assert_eq!(first["draft"]["tags"], "invoices, cards");
    assert_eq!(
        (first["author"].as_str(), first["revisions"].as_array().map(Vec::len)),
        (Some("Ada"), Some(0))
    );

    let changed = article(
        &id,
        "Paying invoices",
        "paying-invoices",
        "draft",
        "Pay by card or bank transfer.",
    );
    call(&bob, "save_kb_article", &changed, StatusCode::OK).await;
    let second = call(&ada, "load_kb_article", &[("id", &id)], StatusCode::OK).await;
    assert_eq!(second["author"], "Bob", "the saving agent is the author now");
    assert_eq!(second["draft"]["body"], "Pay by card or bank transfer.\n");
    let revisions = second["revisions"].as_array().expect("revisions");
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0]["author"], "Ada", "the replaced version keeps its author");
    assert_eq!(revisions[0]["created_at"], first["updated_at"], "and the time it was written");
    assert!(second["updated_at"].as_i64() >= first["updated_at"].as_i64());

    // An imported article's replaced version has no agent: the history says "import".
    let starter = call(&ada, "list_kb_articles", &[("status", "published")], StatusCode::OK).await;
    let imported = starter
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["author"].is_null())
        .expect("an imported starter article");
    let imported_id = imported["id"].as_i64().expect("id").to_string();
    let loaded = call(&ada, "load_kb_article", &[("id", &imported_id)], StatusCode::OK).await;
    let d = &loaded["draft"];
    let mut edit: Vec<(&str, &str)> = ["title", "slug", "locale", "category", "tags", "status"]
        .iter()
        .map(|f| (*f, d[*f].as_str().expect("text")))
        .collect();
    edit.extend([("id", imported_id.as_str()), ("body", "Rewritten by Bob.")]);
    call(&bob, "save_kb_article", &edit, StatusCode::OK).await;
    let history = call(&ada, "load_kb_article", &[("id", &imported_id)], StatusCode::OK).await;
    assert!(history["revisions"][0]["author"].is_null(), "{history}");
    let page = ada
        .http
        .get(format!("{}/app/kb/{imported_id}", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    let html = page.text().await.expect("html");
    let revisions = &html[html.find("id=\"revisions\"").expect("the history")..];
    assert!(
        revisions.contains("Current version")
            && revisions.contains("Bob")
            && revisions.contains(">import<"),
        "{revisions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_an_unchanged_article_creates_no_revision() {
    let app = spawn_app().await;
    let (_, ada) = ada(&app).await;
    let body = "# Steps\n\nOpen the billing page.\n";
    let id = call(
        &ada,
        "save_kb_article",
        &article("", "Billing steps", "billing-steps", "published", body),
        StatusCode::OK,
    )
    .await
    .to_string();
    let before = call(&ada, "load_kb_article", &[("id", &id)], StatusCode::OK).await;

    // As a browser posts it: CR LF line ends, and the stored tags as shown.
    let again = article(
        &id,
        "Billing steps",
        "billing-steps",
        "published",
        "# Steps\r\n\r\nOpen the billing page.\r\n",
    );
    call(&ada, "save_kb_article", &again, StatusCode::OK).await;
    let after = call(&ada, "load_kb_article", &[("id", &id)], StatusCode::OK).await;
    assert_eq!(after["revisions"].as_array().map(Vec::len), Some(0));
    assert_eq!(after["updated_at"], before["updated_at"], "nothing was written");

    let changed = article(&id, "Billing steps", "billing-steps", "internal", body);
    call(&ada, "save_kb_article", &changed, StatusCode::OK).await;
    let after = call(&ada, "load_kb_article", &[("id", &id)], StatusCode::OK).await;
    assert_eq!(after["revisions"].as_array().map(Vec::len), Some(1), "a status change is a change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_slug_in_the_same_locale_and_other_invalid_fields_are_field_errors() {
    let app = spawn_app().await;
    let (_, ada) = ada(&app).await;
    call(
        &ada,
        "save_kb_article",
        &article("", "Refunds", "refunds", "draft", "Ask us."),
        StatusCode::OK,
    )
    .await;

    let taken = call(
        &ada,
        "save_kb_article",
        &article("", "Refunds again", "refunds", "draft", "Ask."),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_error(&taken, "slug").is_some_and(|m| m.contains("Another article")), "{taken}");
    let mut german = article("", "Erstattungen", "refunds", "draft", "Fragen Sie uns.");
    german[3] = ("locale", "de");
    call(&ada, "save_kb_article", &german, StatusCode::OK).await;

    // An existing article moved onto a taken slug is refused the same way.
    let other = call(
        &ada,
        "save_kb_article",
        &article("", "Returns", "", "draft", "Send it back."),
        StatusCode::OK,
    )
    .await
    .to_string();
    let moved = call(
        &ada,
        "save_kb_article",
        &article(&other, "Returns", "refunds", "draft", "Send it back."),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_error(&moved, "slug").is_some(), "{moved}");

    let mut bad = article("", "", "Not A Slug", "public", "Body");
    bad[3] = ("locale", "english");
    let answer = call(&ada, "save_kb_article", &bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    for field in ["title", "slug", "locale", "status"] {
        assert!(field_error(&answer, field).is_some(), "{field}: {answer}");
    }
    let titles: Vec<Value> = call(&ada, "list_kb_articles", &[("status", "draft")], StatusCode::OK)
        .await
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["title"].clone())
        .collect();
    assert_eq!(titles.len(), 3, "nothing invalid was saved: {titles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_article_is_not_found() {
    let app = spawn_app().await;
    let (_, ada) = ada(&app).await;
    call(&ada, "load_kb_article", &[("id", "999999")], StatusCode::NOT_FOUND).await;
    call(
        &ada,
        "save_kb_article",
        &article("999999", "Ghost", "ghost", "draft", "Boo."),
        StatusCode::NOT_FOUND,
    )
    .await;
    for path in ["/app/kb/999999", "/app/kb/not-a-number"] {
        let page = ada
            .http
            .get(format!("{}{path}", app.base_url))
            .header("accept", "text/html")
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(page.text().await.expect("html").contains("There is no such article"));
    }
    let list = ada
        .http
        .get(format!("{}/app/kb", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(list.status(), StatusCode::OK);
    assert!(
        list.text().await.expect("html").contains("Getting started with frontdesk"),
        "the starter articles are listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_and_signed_out_visitors_cannot_use_the_editor() {
    let app = spawn_app().await;
    let (admin, _) = ada(&app).await;
    let submitted = app
        .client()
        .call(
            "portal_submit",
            &[
                ("name", "Carol"),
                ("email", "carol@customer.example"),
                ("subject", "Hi"),
                ("body", "Hello."),
            ],
        )
        .await;
    assert_eq!(submitted.status(), StatusCode::OK);
    let link = app.portal_links("carol@customer.example").await.remove(0);
    let customer = app.client();
    let token = link.rsplit('/').next().expect("a token");
    assert_eq!(customer.call("portal_redeem", &[("token", token)]).await.status(), StatusCode::OK);
    assert_eq!(
        customer.call("portal_tickets", &[]).await.status(),
        StatusCode::OK,
        "the customer is signed in"
    );

    for client in [&customer, &app.client()] {
        call(client, "list_kb_articles", &[("status", "")], StatusCode::UNAUTHORIZED).await;
        call(client, "load_kb_article", &[("id", "1")], StatusCode::UNAUTHORIZED).await;
        call(client, "list_kb_categories", &[], StatusCode::UNAUTHORIZED).await;
        call(client, "preview_kb_article", &[("body", "**hi**")], StatusCode::UNAUTHORIZED).await;
        call(
            client,
            "save_kb_article",
            &article("", "Sneaky", "sneaky", "published", "Hi."),
            StatusCode::UNAUTHORIZED,
        )
        .await;
        let page = client
            .http
            .get(format!("{}/app/kb", app.base_url))
            .header("accept", "text/html")
            .send()
            .await
            .expect("page");
        assert_eq!(page.headers().get("location").and_then(|v| v.to_str().ok()), Some("/login"));
    }
    let drafts = frontdesk_core::kb::editor::list(&app.ctx, &admin, None).await.expect("list");
    assert!(drafts.iter().all(|a| a.slug != "sneaky"), "nothing was saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_is_the_help_centres_rendering_with_scripts_and_javascript_links_inert() {
    let app = spawn_app().await;
    let (_, ada) = ada(&app).await;
    let html =
        call(&ada, "preview_kb_article", &[("body", "Some **bold** text")], StatusCode::OK).await;
    assert_eq!(html.as_str().map(str::trim), Some("<p>Some <strong>bold</strong> text</p>"));

    let hostile = "<script>alert('owned')</script>\n\n[Click me](javascript:alert(1)) <img src=x onerror=alert(2)> <a href=\"javascript:alert(3)\">x</a>";
    let html = call(&ada, "preview_kb_article", &[("body", hostile)], StatusCode::OK).await;
    let html = html.as_str().expect("html");
    assert!(
        !html.contains("<script") && !html.contains("javascript:") && !html.contains("onerror"),
        "inert: {html}"
    );
    assert!(html.contains("Click me"), "{html}");

    let huge = "x".repeat(frontdesk_core::kb::MAX_BODY_BYTES + 1);
    let refused =
        call(&ada, "preview_kb_article", &[("body", &huge)], StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert!(field_error(&refused, "body").is_some(), "{refused}");
}

/// The titles a visitor's public search finds for `q`, once `ok` holds or [`FRESHNESS`] passed.
async fn public_titles_until(
    app: &TestApp,
    q: &str,
    ok: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let started = Instant::now();
    loop {
        let query = SearchQuery { q: q.into(), ..SearchQuery::default() };
        let found =
            frontdesk_core::search::search_public(&app.ctx, None, &query).await.expect("search");
        let titles: Vec<String> = found.items.into_iter().map(|i| i.title).collect();
        if ok(&titles) || started.elapsed() > FRESHNESS {
            return titles;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_published_article_is_found_by_the_public_search_and_shown_in_the_help_centre() {
    let app = spawn_app().await;
    let (_, ada) = ada(&app).await;
    let form =
        article("", "Quokka billing cycles", "", "draft", "How quokka billing cycles renew.");
    let id = call(&ada, "save_kb_article", &form, StatusCode::OK).await.to_string();
    app.agent_search_until("quokka", FRESHNESS, |f| f.total == 1).await;
    assert!(
        public_titles_until(&app, "quokka", |_| true).await.is_empty(),
        "a draft is not public"
    );

    let published = article(
        &id,
        "Quokka billing cycles",
        "quokka-billing-cycles",
        "published",
        "How quokka billing cycles renew.",
    );
    call(&ada, "save_kb_article", &published, StatusCode::OK).await;
    let titles = public_titles_until(&app, "quokka", |t| !t.is_empty()).await;
    assert_eq!(titles, ["Quokka billing cycles"], "searchable within {FRESHNESS:?}");
    let help = app.client().get("/help").await.text().await.expect("html");
    assert!(
        help.contains("href=\"/help/articles/quokka-billing-cycles\""),
        "listed in the help centre"
    );
    assert_eq!(
        app.client().get("/help/articles/quokka-billing-cycles").await.status(),
        StatusCode::OK
    );

    let back_to_draft = article(
        &id,
        "Quokka billing cycles",
        "quokka-billing-cycles",
        "draft",
        "How quokka billing cycles renew.",
    );
    call(&ada, "save_kb_article", &back_to_draft, StatusCode::OK).await;
    assert!(
        public_titles_until(&app, "quokka", |t| t.is_empty()).await.is_empty(),
        "unpublished within {FRESHNESS:?}"
    );
    assert_eq!(
        app.client().get("/help/articles/quokka-billing-cycles").await.status(),
        StatusCode::NOT_FOUND
    );
}

/// Imports a published, a draft and an internal article about zebras and waits until all three
/// are searchable; returns the admin it creates to look.
async fn zebra_articles(app: &TestApp) -> Agent {
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let article = |slug: &str, status: &str| {
        (
            format!("{slug}.md"),
            Ok(format!(
                "---\ntitle: Zebra crossing {slug}\nslug: {slug}\nstatus: {status}\n---\nHow to use a zebra crossing safely.\n"
            )),
        )
    };
    let files = vec![
        article("zebra-public", "published"),
        article("zebra-draft", "draft"),
        article("zebra-internal", "internal"),
    ];
    frontdesk_core::kb::import(&app.ctx, files).await.expect("import");
    let zebras = |f: &frontdesk_core::search::Found| {
        f.items.iter().filter(|i| i.title.starts_with("Zebra crossing")).count()
    };
    let (found, took) = app.agent_search_until("zebra", FRESHNESS, |f| zebras(f) == 3).await;
    assert_eq!(zebras(&found), 3, "indexed after {took:?}");
    admin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_published_articles_are_suggested_on_the_request_form() {
    let app = spawn_app().await;
    let admin = zebra_articles(&app).await;
    let visitor = app.client();
    let suggested = call(
        &visitor,
        "suggest_articles",
        &[("text", "Zebra crossing \"internal\" drafts help zebr")],
        StatusCode::OK,
    )
    .await;
    let items = suggested.as_array().expect("a list");
    let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
    assert_eq!(titles.first(), Some(&"Zebra crossing zebra-public"), "{titles:?}");
    assert!(
        !titles.iter().any(|t| t.ends_with("zebra-draft") || t.ends_with("zebra-internal")),
        "never a draft or internal article: {titles:?}"
    );
    assert_eq!(items[0]["url"], "/help/articles/zebra-public");
    assert!(items[0]["snippet_html"].as_str().is_some_and(|s| s.contains("<b>")), "{suggested}");
    assert_eq!(
        call(&visitor, "suggest_articles", &[("text", "ze")], StatusCode::OK).await,
        serde_json::json!([]),
        "too short to ask"
    );
    // Suggestions never count as failed searches.
    call(&visitor, "suggest_articles", &[("text", "quantum teleportation")], StatusCode::OK).await;
    assert!(frontdesk_core::kb::content_gaps(&app.ctx, &admin).await.expect("gaps").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_have_their_own_budget_and_never_use_up_the_searches() {
    use frontdesk_core::portal::{SEARCHES_PER_MINUTE, SUGGESTIONS_PER_MINUTE};
    let app = spawn_app().await;
    let visitor = app.client();
    // More suggestions than the search budget holds, then a search still goes through.
    for i in 0..SUGGESTIONS_PER_MINUTE {
        let status = visitor.call("suggest_articles", &[("text", "pa")]).await.status();
        assert_eq!(status, StatusCode::OK, "suggestion {i}");
    }
    const { assert!(SUGGESTIONS_PER_MINUTE > SEARCHES_PER_MINUTE) };
    let searched = visitor.call("search_help", &[("query[q]", "password")]).await;
    assert_eq!(searched.status(), StatusCode::OK, "typing did not use up the searches");
    let refused = visitor.call("suggest_articles", &[("text", "pa")]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "the suggestion budget has an end");
    assert!(refused.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_writes_an_article_with_a_live_preview_publishes_it_and_it_shows_in_the_help_centre()
 {
    let app = spawn_app().await;
    app.create_admin("ada@example.com", "Ada").await;
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;

    page.click("a[href='/app/kb']").await;
    page.wait_for_text("#kb-articles", "Getting started with frontdesk").await;
    page.click("#new-article").await;
    page.wait_for_path("/app/kb/new").await;
    page.wait_for_hydration().await;
    page.fill("#field-title", "Paying by bank transfer").await;
    page.fill("#field-slug", "Not A Slug").await;
    page.fill("#field-category", "Billing").await;
    page.fill(
        "#field-body",
        "Transfers are **free** and take <script>window.__xss = 1</script>two days.",
    )
    .await;
    page.wait_for_text("#article-preview strong", "free").await;
    assert_eq!(
        page.eval("return document.querySelectorAll('#article-preview script').length").await,
        0
    );
    page.screenshot("kb-editor-preview").await;

    // A bad slug is explained beside the field; what was typed stays.
    page.click("#save-article").await;
    page.wait_for_text("#field-slug-error", "lower-case letters").await;
    assert_eq!(
        page.eval("return document.getElementById('field-title').value").await,
        "Paying by bank transfer"
    );
    assert_eq!(page.path().await, "/app/kb/new");

    page.fill("#field-slug", "").await;
    page.eval("document.getElementById('field-status').value = 'published'; return null").await;
    page.click("#save-article").await;
    let deadline = Instant::now() + frontdesk_tests::browser::WAIT;
    while !page.path().await.trim_start_matches("/app/kb/").parse::<i64>().is_ok_and(|id| id > 0) {
        assert!(
            Instant::now() < deadline,
            "the saved article did not open at its address; at {}",
            page.path().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    page.wait_for_text("#revisions .current", "Ada").await;
    page.wait_for_text("#article-preview strong", "free").await;
    assert_eq!(
        page.eval("return window.__xss ?? null").await,
        Value::Null,
        "the preview ran no script"
    );

    page.goto(&format!("{}/help", app.base_url)).await;
    page.wait_for_text("#help-categories", "Paying by bank transfer").await;
    page.click("a[href='/help/articles/paying-by-bank-transfer']").await;
    page.wait_for_text("#help-article strong", "free").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_typing_a_request_sees_a_suggested_article_before_sending() {
    let app = spawn_app().await;
    zebra_articles(&app).await;
    let mut browser = Browser::start().await;
    let page = browser.open().await;
    page.goto(&format!("{}/portal/new", app.base_url)).await;
    page.wait_for_hydration().await;
    page.fill("#field-name", "Carol").await;
    page.fill("#field-subject", "How do I cross at a zebra").await;
    page.wait_for_text("#suggested-articles", "Zebra crossing zebra-public").await;
    page.screenshot("portal-suggested-articles").await;
    let link = "#suggested-articles a[href='/help/articles/zebra-public']";
    page.find(link).await;
    assert_eq!(
        page.eval(&format!("return document.querySelector(\"{link}\").target")).await,
        "_blank"
    );
    let hidden = page.eval("return document.querySelectorAll(\"#suggested-articles a[href*='zebra-draft'], #suggested-articles a[href*='zebra-internal']\").length").await;
    assert_eq!(hidden, 0, "the draft and the internal article are not suggested");
}

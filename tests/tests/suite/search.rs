//! Search against the running app: freshness, durability across stops and a lost index,
//! visibility per audience, the help-centre search page, failed searches and article votes.

use frontdesk_core::search;
use frontdesk_core::search::{Found, SearchQuery};
use frontdesk_tests::{ServerProcess, TestApp, TestDatabase, frontdesk_binary, spawn_app};
use std::time::{Duration, Instant};

/// The longest a change may take to become searchable in these tests: "about a second", with
/// room for a loaded CI machine.
const FRESHNESS: Duration = Duration::from_secs(3);

fn query(q: &str) -> SearchQuery {
    SearchQuery { q: q.into(), ..SearchQuery::default() }
}

async fn as_agent(app: &TestApp, q: &str) -> Found {
    app.agent_search_until(q, Duration::ZERO, |_| true).await.0
}

fn titles(found: &Found) -> Vec<String> {
    found.items.iter().map(|i| i.title.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ticket_and_a_reply_are_searchable_within_the_freshness_bound() {
    let app = spawn_app().await;
    let admin = app.create_admin("admin@example.com", "Ada Admin").await;
    let ticket =
        app.create_ticket(&admin, "carol@customer.example", "Webhook signature mismatch").await;
    let (found, took) =
        app.agent_search_until("webhook signature", FRESHNESS, |f| !f.items.is_empty()).await;
    assert_eq!(titles(&found), ["Webhook signature mismatch"], "found after {took:?}");

    let body = frontdesk_core::tickets::MessageBody::parse(
        "Rotate the signing secret under Settings, Integrations.",
    )
    .expect("body");
    frontdesk_core::tickets::add_message(
        &app.ctx,
        &admin,
        ticket.ticket.number,
        frontdesk_core::tickets::MessageKind::Reply,
        body,
        None,
    )
    .await
    .expect("reply");
    let (found, took) = app
        .agent_search_until("\"rotate the signing secret\"", FRESHNESS, |f| !f.items.is_empty())
        .await;
    assert_eq!(found.items.len(), 1, "the reply is searchable after {took:?}");
    assert!(found.items[0].snippet_html.contains("<b>"), "{}", found.items[0].snippet_html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_committed_while_frontdesk_was_down_are_indexed_at_the_next_start() {
    let app = spawn_app().await;
    let admin = app.create_admin("admin@example.com", "Ada Admin").await;
    let ticket = app.create_ticket(&admin, "carol@customer.example", "Printer on fire").await;
    app.agent_search_until("printer", FRESHNESS, |f| !f.items.is_empty()).await;
    // Committed to the database, never seen by the indexer: as if the process died right after.
    let id = ticket.ticket.id;
    let app = app
        .restart(async move |db| {
            let sql = format!("UPDATE tickets SET subject = 'Scanner jammed' WHERE id = {id}");
            match db {
                frontdesk_core::platform::db::Db::Sqlite(pool) => {
                    sqlx::query(&sql).execute(pool).await.map(drop)
                }
                frontdesk_core::platform::db::Db::Postgres(pool) => {
                    sqlx::query(&sql).execute(pool).await.map(drop)
                }
            }
            .expect("update while stopped");
        })
        .await;
    let (found, _) =
        app.agent_search_until("scanner jammed", FRESHNESS, |f| !f.items.is_empty()).await;
    assert_eq!(titles(&found), ["Scanner jammed"]);
    assert!(
        as_agent(&app, "printer fire").await.items.is_empty(),
        "the old subject is gone from the index"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_index_directory_is_rebuilt_at_start() {
    let app = spawn_app().await;
    let admin = app.create_admin("admin@example.com", "Ada Admin").await;
    for subject in ["Refund for order 1", "Refund for order 2", "Refund for order 3"] {
        app.create_ticket(&admin, "carol@customer.example", subject).await;
    }
    app.agent_search_until("refund", FRESHNESS, |f| f.total == 3).await;
    let index_dir = app.data_dir.path().join("search-index");
    assert!(index_dir.is_dir());
    let app = app
        .restart(async move |_| std::fs::remove_dir_all(&index_dir).expect("delete the index"))
        .await;
    let (found, _) =
        app.agent_search_until("refund", Duration::from_secs(20), |f| f.total == 3).await;
    assert_eq!(found.total, 3, "every ticket is back");
    let starter = frontdesk_core::kb::STARTER_ARTICLES.len() as u64;
    let indexed = app.ctx.part::<frontdesk_search::SearchIndex>().len();
    assert_eq!(indexed, 3 + starter, "the tickets and the starter articles, once each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_never_find_internal_notes_drafts_internal_articles_or_other_customers_tickets() {
    let app = spawn_app().await;
    let admin = app.create_admin("admin@example.com", "Ada Admin").await;
    let mine = app.create_ticket(&admin, "carol@customer.example", "Zebra export fails").await;
    app.create_ticket(&admin, "dave@other.example", "Zebra import fails").await;
    let note = frontdesk_core::tickets::MessageBody::parse(
        "Zebra internal: customer owes money, do not refund",
    )
    .expect("body");
    frontdesk_core::tickets::add_message(
        &app.ctx,
        &admin,
        mine.ticket.number,
        frontdesk_core::tickets::MessageKind::Note,
        note,
        None,
    )
    .await
    .expect("note");
    let article = |slug: &str, status: &str| {
        (
            format!("{slug}.md"),
            Ok(format!(
                "---\ntitle: Zebra {slug}\nslug: {slug}\nstatus: {status}\n---\nZebra crossing guide.\n"
            )),
        )
    };
    frontdesk_core::kb::import(
        &app.ctx,
        vec![
            article("zebra-public", "published"),
            article("zebra-draft", "draft"),
            article("zebra-internal", "internal"),
        ],
    )
    .await
    .expect("import");
    app.agent_search_until("zebra", FRESHNESS, |f| f.total == 5).await;

    let carol = mine.ticket.requester.id;
    let found =
        search::search_public(&app.ctx, Some(carol), &query("zebra")).await.expect("search");
    let mut seen = titles(&found);
    seen.sort();
    assert_eq!(seen, ["Zebra export fails", "Zebra zebra-public"]);
    assert!(
        found
            .items
            .iter()
            .all(|i| !i.snippet_html.contains("owes money") && i.resolution.is_none())
    );
    assert!(
        search::search_public(&app.ctx, Some(carol), &query("owes money refund"))
            .await
            .expect("search")
            .items
            .is_empty()
    );
    let anonymous = search::search_public(&app.ctx, None, &query("zebra")).await.expect("search");
    assert_eq!(titles(&anonymous), ["Zebra zebra-public"]);
    let portal_link =
        found.items.iter().find(|i| i.kind == "ticket").expect("own ticket").url.clone();
    assert_eq!(portal_link, format!("/portal/tickets/{}", mine.ticket.number));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_help_center_search_page_finds_a_misspelled_article_without_javascript() {
    let app = spawn_app().await;
    app.create_admin("admin@example.com", "Ada Admin").await;
    let (found, _) =
        app.agent_search_until("getting started", FRESHNESS, |f| !f.items.is_empty()).await;
    assert!(!found.items.is_empty(), "the starter articles are indexed");
    let page = app.client().get("/help/search?q=gettin+startd").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    let results = &html[html.find("id=\"search-results\"").expect("results")..];
    assert!(results.contains("href=\"/help/articles/getting-started\""), "{results}");
    assert!(html.contains("value=\"gettin startd\""), "the query stays in the box");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_that_find_nothing_and_unhelpful_articles_become_articles_to_write() {
    let app = spawn_app().await;
    let admin = app.create_admin("admin@example.com", "Ada Admin").await;
    let visitor = app.client();
    for _ in 0..2 {
        let page = visitor.get("/help/search?q=quantum+teleportation").await;
        assert!(page.text().await.expect("body").contains("id=\"no-results\""));
    }
    for helpful in ["false", "false", "true"] {
        let voted = visitor
            .call("rate_article", &[("slug", "getting-started"), ("helpful", helpful)])
            .await;
        assert_eq!(voted.status(), 200);
    }
    assert_eq!(
        visitor
            .call("rate_article", &[("slug", "no-such-article"), ("helpful", "true")])
            .await
            .status(),
        404
    );

    let gaps = frontdesk_core::kb::content_gaps(&app.ctx, &admin).await.expect("gaps");
    let search_gap = gaps.iter().find(|g| g.source == "search").expect("a failed search");
    assert_eq!((search_gap.text.as_str(), search_gap.count), ("quantum teleportation", 2));
    let article_gap = gaps.iter().find(|g| g.source == "article").expect("an unhelpful article");
    assert_eq!((article_gap.slug.as_deref(), article_gap.count), (Some("getting-started"), 2));

    let agent = app
        .create_agent(&admin, "agent@example.com", "Al Agent", frontdesk_core::agents::Role::Agent)
        .await;
    assert!(matches!(
        frontdesk_core::kb::content_gaps(&app.ctx, &agent).await,
        Err(frontdesk_core::error::Error::Forbidden)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similar_answers_offer_solved_tickets_with_their_resolution() {
    let app = spawn_app().await;
    let admin = app.create_admin("admin@example.com", "Ada Admin").await;
    let solved = app.create_ticket(&admin, "carol@customer.example", "CSV export times out").await;
    app.solve_with_reply(
        &admin,
        solved.ticket.number,
        "Large CSV exports are emailed: ask for the export by email.",
    )
    .await;
    let open = app.create_ticket(&admin, "dave@other.example", "Export to CSV times out").await;
    app.agent_search_until("csv", FRESHNESS, |f| {
        f.total == 2 && f.statuses.iter().any(|s| s.value == "solved")
    })
    .await;

    let answers = search::similar(&app.ctx, &admin, open.ticket.number).await.expect("similar");
    assert_eq!(answers.first().map(|a| a.title.as_str()), Some("CSV export times out"));
    assert!(answers[0].resolution.as_deref().is_some_and(|r| r.contains("emailed")));
    assert!(answers.iter().all(|a| a.number != Some(open.ticket.number)), "not the ticket itself");
}

/// How many documents the help-centre search page says it found for `q`, if it answered.
async fn help_total(address: &str, q: &str) -> Option<u64> {
    let html = reqwest::get(format!("http://{address}/help/search?q={q}"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let tag = html.find("id=\"result-count\"")?;
    let at = tag + html[tag..].find('>')? + 1;
    html[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_frontdesk_during_a_burst_of_changes_leaves_the_index_complete_after_restart() {
    const ARTICLES: usize = 300;
    let data = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::create().await;
    let mut server = ServerProcess::start(data.path(), database.url.as_deref());
    let db = frontdesk_core::platform::db::DatabaseTarget::from_config(
        database.url.as_deref(),
        data.path(),
    )
    .expect("target")
    .connect()
    .await
    .expect("connect");
    for i in 0..ARTICLES {
        // One transaction each, committed while the indexer runs; the kill lands mid-burst.
        let sql = format!(
            "INSERT INTO kb_articles (locale, slug, title, body, tags, status, created_at, updated_at)
             VALUES ('en', 'crash-{i}', 'Crashproof article {i}', 'Body {i}.', '[]', 'published', 0, 0)"
        );
        match &db {
            frontdesk_core::platform::db::Db::Sqlite(pool) => {
                sqlx::query(&sql).execute(pool).await.map(drop)
            }
            frontdesk_core::platform::db::Db::Postgres(pool) => {
                sqlx::query(&sql).execute(pool).await.map(drop)
            }
        }
        .expect("insert");
        if i == ARTICLES / 2 {
            server.signal("KILL");
        }
    }
    server.child.wait().expect("killed");
    db.close().await;

    let mut server = ServerProcess::start(data.path(), database.url.as_deref());
    let started = Instant::now();
    let mut total = None;
    while started.elapsed() < Duration::from_secs(20) {
        total = help_total(&server.address, "crashproof").await;
        if total == Some(ARTICLES as u64) {
            break;
        }
        // Slow enough to stay under the public search rate limit.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.signal("KILL");
    server.child.wait().ok();
    assert_eq!(
        total,
        Some(ARTICLES as u64),
        "every committed article is searchable after the restart"
    );
}

#[test]
fn search_reindex_rebuilds_the_index_with_a_progress_bar() {
    let data = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(frontdesk_binary())
        .args(["search", "reindex", "--data-dir", data.path().to_str().expect("utf-8")])
        .env_remove("DATABASE_URL")
        .output()
        .expect("frontdesk runs");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    // A new install has no articles until it serves once: the index is built empty, complete.
    assert!(stderr.contains("100% 0/0 documents"), "{stderr}");
    assert!(stdout.contains("Indexed 0 documents"), "{stdout}");
    assert!(data.path().join("search-index/meta.json").is_file());
}

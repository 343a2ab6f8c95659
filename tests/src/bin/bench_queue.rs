//! `bench-queue`: server-side latency of the agent queue on a large helpdesk.
//!
//! Seeds a database once (1,000,000 tickets and 100,000 customers by default; kept between runs),
//! then, for every queue view, filter and sort, times one page of 50 three ways, interleaved so
//! the machine's noise hits all three alike:
//!
//! - **raw**: the exact SQL the queue runs, through plain sqlx (the baseline);
//! - **core**: `tickets::queue`, which also authorizes, decodes rows and loads tags;
//! - **http**: the `list_queue` server function over loopback with a signed-in session, as the
//!   agent's browser calls it.
//!
//! Run with `cargo xtask bench queue [-- --database-url postgres://...]`; see README.md.

use anyhow::{Context, Result, bail};
use clap::Parser;
use frontdesk_core::AppContext;
use frontdesk_core::agents::Agent;
use frontdesk_core::platform::db::{Db, Param, Params};
use frontdesk_core::platform::time::Timestamp;
use frontdesk_core::seed::{DEMO_PASSWORD, SeedPlan};
use frontdesk_core::tickets::{self, QueueCursor, QueueFilter, QueueSort, QueueView};
use frontdesk_core::tickets::{Priority, Tag};
use frontdesk_server::Application;
use frontdesk_server::config::{Config, GlobalArgs, ServeArgs};
use frontdesk_tests::ApiClient;
use frontdesk_tests::bench::{Samples, first_admin, scalar, seed_once};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Queue latency on a seeded helpdesk: raw sqlx vs frontdesk's queue vs HTTP")]
struct Args {
    /// PostgreSQL URL; without it, a SQLite file in --data-dir.
    #[arg(long)]
    database_url: Option<String>,
    /// Where the SQLite benchmark database lives (kept between runs).
    #[arg(long, default_value = "target/bench/queue")]
    data_dir: PathBuf,
    /// Tickets to seed.
    #[arg(long, default_value_t = 1_000_000)]
    tickets: u64,
    /// Customers to seed.
    #[arg(long, default_value_t = 100_000)]
    customers: u32,
    /// Timed pages per scenario and method.
    #[arg(long, default_value_t = 200)]
    samples: usize,
}

/// One queue request to time.
struct Scenario {
    name: &'static str,
    view: QueueView,
    filter: QueueFilter,
    sort: QueueSort,
    after: Option<QueueCursor>,
    /// The `list_queue` form arguments for the same request.
    form: Vec<(&'static str, String)>,
}

const PAGE: u32 = 50;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let ctx = frontdesk_tests::bench_context(args.database_url.as_deref(), &args.data_dir, None)
        .await?
        .ctx;
    let db = ctx.db().clone();
    let plan = SeedPlan {
        agents: 20,
        teams: 6,
        organizations: 2_000,
        customers: args.customers,
        tickets: args.tickets,
        seed: 7,
        words: 0,
    };
    seed_once(&ctx, plan).await?;

    let global = GlobalArgs {
        data_dir: Some(args.data_dir.clone()),
        database_url: args.database_url.clone(),
        ..GlobalArgs::default()
    };
    let serve = ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        site_dir: Some(frontdesk_tests::site_dir()),
        ..ServeArgs::default()
    };
    let app = Application::build(Config::resolve(&global, &serve)?).await?;
    let base_url = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        stopped.await.ok();
    }));

    let actor = first_admin(&db).await?;
    let client = ApiClient::new(&base_url);
    let signed_in = client.sign_in(&actor.email.to_string(), DEMO_PASSWORD).await;
    if !signed_in.status().is_success() {
        bail!("signing in as {} failed: {}", actor.email, signed_in.status());
    }

    let scenarios = scenarios(&ctx, &actor).await?;
    println!(
        "{} on {} tickets; {} samples per method; times in ms per page of {PAGE}",
        db.backend_name(),
        scalar(&db, "SELECT COUNT(*) FROM tickets").await?,
        args.samples
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "scenario",
        "raw p50",
        "raw p99",
        "core p50",
        "core p99",
        "http p50",
        "http p99",
        "http/raw"
    );
    let mut worst_http_p99 = 0.0_f64;
    for scenario in &scenarios {
        let (sql, params) = tickets::queue_query(
            &actor,
            scenario.view,
            &scenario.filter,
            scenario.sort,
            scenario.after,
            i64::from(PAGE) + 1,
        );
        let (mut raw, mut core, mut http) =
            (Samples::default(), Samples::default(), Samples::default());
        for round in 0..args.samples + 5 {
            let started = Instant::now();
            run_raw(&db, &sql, &params).await?;
            let raw_time = started.elapsed();

            let started = Instant::now();
            tickets::queue(
                &ctx,
                &actor,
                scenario.view,
                &scenario.filter,
                scenario.sort,
                scenario.after,
                PAGE,
            )
            .await?;
            let core_time = started.elapsed();

            let started = Instant::now();
            let form: Vec<(&str, &str)> =
                scenario.form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = client.call("list_queue", &form).await;
            let status = response.status();
            response.bytes().await?;
            if !status.is_success() {
                bail!("{}: list_queue answered {status}", scenario.name);
            }
            let http_time = started.elapsed();

            // The first rounds warm caches and connections.
            if round >= 5 {
                raw.0.push(raw_time);
                core.0.push(core_time);
                http.0.push(http_time);
            }
        }
        let (raw50, raw99) = (raw.percentile(0.5), raw.percentile(0.99));
        let http99 = http.percentile(0.99);
        worst_http_p99 = worst_http_p99.max(http99);
        println!(
            "{:<34} {raw50:>8.2} {raw99:>8.2} {:>8.2} {:>8.2} {:>8.2} {http99:>8.2} {:>9.1}x",
            scenario.name,
            core.percentile(0.5),
            core.percentile(0.99),
            http.percentile(0.5),
            http.percentile(0.99) / raw99.max(0.001),
        );
    }
    println!("worst http p99: {worst_http_p99:.2} ms (target: at most 50 ms)");
    stop.send(()).ok();
    server.await??;
    Ok(())
}

/// The queue requests timed: every view, each filter on the all-open view, each sort, a deep page.
async fn scenarios(ctx: &AppContext, actor: &Agent) -> Result<Vec<Scenario>> {
    let db = ctx.db();
    let team = scalar(db, "SELECT MIN(team_id) FROM tickets").await?;
    let customer =
        scalar(db, "SELECT requester_id FROM tickets WHERE id = (SELECT MAX(id) / 2 FROM tickets)")
            .await?;
    let organization = scalar(db, "SELECT MIN(id) FROM organizations").await?;
    let month_ago =
        Timestamp::from_unix_millis(Timestamp::now().unix_millis() - 30 * 24 * 3600 * 1000);
    let base = |name, view: QueueView, form_view: &str| Scenario {
        name,
        view,
        filter: QueueFilter::default(),
        sort: QueueSort::Updated,
        after: None,
        form: vec![("view", form_view.to_owned())],
    };
    let with = |mut s: Scenario, field: &'static str, value: String| {
        s.form.push((field, value));
        s
    };
    let mut list = vec![
        base("view: unassigned", QueueView::Unassigned, "unassigned"),
        base("view: mine", QueueView::Mine, "mine"),
        base("view: all open", QueueView::AllOpen, "open"),
        base("view: pending", QueueView::Pending, "pending"),
        base("view: recently solved", QueueView::RecentlySolved, "solved"),
        with(base("view: team", QueueView::Team(team), "team"), "team_id", team.to_string()),
    ];
    let open = |name| base(name, QueueView::AllOpen, "open");
    let mut s = with(open("all open, priority urgent"), "priority", "urgent".into());
    s.filter.priority = Some(Priority::Urgent);
    list.push(s);
    let mut s = with(open("all open, tag vip"), "tag", "vip".into());
    s.filter.tag = Some(Tag::parse("vip").map_err(|e| anyhow::anyhow!(e.message))?);
    list.push(s);
    let mut s = with(open("all open, assignee"), "assignee_id", actor.id.to_string());
    s.filter.assignee_id = Some(actor.id);
    list.push(s);
    let mut s = with(open("all open, customer"), "requester_id", customer.to_string());
    s.filter.requester_id = Some(customer);
    list.push(s);
    let mut s = with(open("all open, organization"), "organization_id", organization.to_string());
    s.filter.organization_id = Some(organization);
    list.push(s);
    let mut s = with(
        open("all open, created last 30 days"),
        "created_from",
        month_ago.unix_millis().to_string(),
    );
    s.filter.created_from = Some(month_ago);
    list.push(s);
    let mut s = with(open("all open, sorted by priority"), "sort", "priority".into());
    s.sort = QueueSort::Priority;
    list.push(s);
    let mut s = with(open("all open, sorted by created"), "sort", "created".into());
    s.sort = QueueSort::Created;
    list.push(s);

    // Twenty pages deep, by keyset.
    let mut deep = open("all open, page 20");
    for _ in 0..19 {
        let page = tickets::queue(ctx, actor, deep.view, &deep.filter, deep.sort, deep.after, PAGE)
            .await?;
        deep.after = page.next_cursor;
    }
    let cursor = deep.after.context("the all-open view has fewer than 20 pages")?;
    deep.form.push(("cursor", format!("{}.{}", cursor.key, cursor.id)));
    list.push(deep);
    Ok(list)
}

/// Runs `sql` through sqlx and fetches every row, decoding nothing: the baseline.
async fn run_raw(db: &Db, sql: &str, params: &Params) -> Result<usize> {
    macro_rules! bound {
        ($query:expr) => {{
            let mut query = $query;
            for value in &params.0 {
                query = match value {
                    Param::Int(v) => query.bind(*v),
                    Param::OptInt(v) => query.bind(*v),
                    Param::Text(v) => query.bind(v.as_str()),
                    Param::Bool(v) => query.bind(*v),
                };
            }
            query
        }};
    }
    Ok(match db {
        Db::Sqlite(pool) => bound!(sqlx::query(sql)).fetch_all(pool).await?.len(),
        Db::Postgres(pool) => bound!(sqlx::query(sql)).fetch_all(pool).await?.len(),
    })
}

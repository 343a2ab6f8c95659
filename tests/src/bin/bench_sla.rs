//! `bench-sla`: what SLAs cost on a large helpdesk.
//!
//! Seeds a database (1,000,000 tickets by default, kept between runs), then measures:
//!
//! - **recompute**: after a calendar change marks every unfinished ticket, re-evaluating
//!   100,000 of them from their full histories (`sla::drain`, 200 per batch and transaction),
//!   against a baseline that only reads the same tickets' histories, 200 per query;
//! - **scheduler tick**: `sla::fire_due` when nothing is due and when 1,000 alarms are due,
//!   against a baseline of the bare query that finds due alarms. The tick's cost should follow
//!   the due alarms, not the million tickets.
//!
//! Run with `cargo xtask bench sla [-- --database-url postgres://...]`; see README.md.

use anyhow::{Context, Result};
use clap::Parser;
use frontdesk_core::platform::db::Db;
use frontdesk_core::platform::time::Timestamp;
use frontdesk_core::seed::{self, SeedPlan};
use frontdesk_core::sla::business_time::DAY_MINUTES;
use frontdesk_core::sla::{self, BreachActions, CalendarDef, Conditions, PolicyDef};
use frontdesk_core::tickets::Status;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "SLA recompute and scheduler cost on a seeded helpdesk")]
struct Args {
    /// PostgreSQL URL; without it, a SQLite file in --data-dir.
    #[arg(long)]
    database_url: Option<String>,
    /// Where the SQLite benchmark database lives (kept between runs).
    #[arg(long, default_value = "target/bench/sla")]
    data_dir: PathBuf,
    /// Tickets to seed.
    #[arg(long, default_value_t = 1_000_000)]
    tickets: u64,
    /// Tickets to re-evaluate after the calendar change.
    #[arg(long, default_value_t = 100_000)]
    recompute: i64,
    /// Alarms due in the busy scheduler tick.
    #[arg(long, default_value_t = 1_000)]
    due: i64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let ctx = frontdesk_tests::bench_context(args.database_url.as_deref(), &args.data_dir, None)
        .await?
        .ctx;
    let db = ctx.db().clone();
    if scalar(&db, "SELECT COUNT(*) FROM tickets").await? < i64::try_from(args.tickets)? {
        eprintln!("seeding {} tickets (once; kept for later runs)...", args.tickets);
        let plan = SeedPlan {
            agents: 20,
            teams: 6,
            organizations: 2_000,
            customers: 100_000,
            tickets: args.tickets,
            seed: 11,
            words: 0,
        };
        seed::seed(&ctx, plan, |_, _| {}).await?;
    }
    let admin_id = scalar(&db, "SELECT MIN(id) FROM agents WHERE role = 'admin'").await?;
    let admin = frontdesk_core::agents::find(&db, admin_id).await?.context("the seeded admin")?;
    let tickets = scalar(&db, "SELECT COUNT(*) FROM tickets").await?;
    println!("{} on {tickets} tickets", db.backend_name());

    // A calendar change marks every unfinished ticket; re-evaluate the first `recompute` of them.
    let office: [Vec<(u16, u16)>; 7] =
        std::array::from_fn(
            |day| if day < 5 { vec![(8 * 60, 18 * 60)] } else { vec![(0, DAY_MINUTES)] },
        );
    let calendar = CalendarDef {
        id: 0,
        name: format!("Bench {}", Timestamp::now().unix_millis()),
        time_zone: "Europe/Berlin".into(),
        hours: office,
        holidays: vec![],
    };
    let calendar = sla::save_calendar(&ctx, &admin, &calendar).await?;
    let targets = sla::minutes(Some(4 * 60), Some(8 * 60), Some(3 * 24 * 60));
    let policy = PolicyDef {
        id: 0,
        name: format!("Bench {}", calendar.id),
        position: 0,
        calendar_id: Some(calendar.id),
        conditions: Conditions::default(),
        targets: [targets; 4],
        pause_statuses: vec![Status::Pending, Status::OnHold],
        warn_percent: 75,
        breach_actions: BreachActions::default(),
    };
    sla::save_policy(&ctx, &admin, &policy).await?;
    let marked = scalar(&db, "SELECT COUNT(*) FROM sla_dirty").await?;
    // Fresh planner statistics, as autovacuum keeps them on a normal server (this machine's
    // PostgreSQL runs with autovacuum off, and stale counts of the SLA tables from earlier runs
    // send their deletes to sequential scans).
    db.analyze().await?;

    let ids: Vec<i64> = match &db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT ticket_id FROM sla_dirty ORDER BY ticket_id LIMIT $1")
                .bind(args.recompute)
                .fetch_all(pool)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT ticket_id FROM sla_dirty ORDER BY ticket_id LIMIT $1")
                .bind(args.recompute)
                .fetch_all(pool)
                .await?
        }
    };
    let started = Instant::now();
    // The baseline reads the same histories the way `drain` does, one query per batch of 200.
    for batch in ids.chunks(200) {
        let list = batch.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let history_sql = format!(
            "SELECT ticket_id, seq, kind, actor_agent_id, detail, created_at FROM ticket_events WHERE ticket_id IN ({list}) ORDER BY ticket_id, seq"
        );
        match &db {
            Db::Sqlite(pool) => sqlx::query(&history_sql).fetch_all(pool).await?.len(),
            Db::Postgres(pool) => sqlx::query(&history_sql).fetch_all(pool).await?.len(),
        };
    }
    let baseline = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut done = 0;
    while done < ids.len() {
        let n = sla::drain(&ctx, 200).await?;
        if n == 0 {
            break;
        }
        done += n;
    }
    let recompute = started.elapsed().as_secs_f64();
    println!(
        "recompute after a calendar change: {marked} tickets marked; {done} re-evaluated in {recompute:.1} s ({:.0} tickets/s); \
         reading their histories alone took {baseline:.1} s; ratio {:.1}x",
        done as f64 / recompute,
        recompute / baseline.max(0.001)
    );

    // The scheduler: a tick with nothing due, then one with `due` alarms due.
    let now = Timestamp::now();
    let due_sql = "SELECT ticket_id, metric, started_at, kind, due_at FROM sla_alarms WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT $2";
    // `limit` 0 asks as of the epoch: the idle query.
    let bare = async |limit: i64| -> Result<f64> {
        let (at, limit) =
            (if limit == 0 { Timestamp::from_unix_millis(0) } else { now }, limit.max(1));
        let started = Instant::now();
        match &db {
            Db::Sqlite(pool) => {
                sqlx::query(due_sql).bind(at).bind(limit).fetch_all(pool).await?.len()
            }
            Db::Postgres(pool) => {
                sqlx::query(due_sql).bind(at).bind(limit).fetch_all(pool).await?.len()
            }
        };
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    };
    // Idle: as of an instant before any alarm, so nothing is due.
    let idle_bare = bare(0).await?;
    let started = Instant::now();
    let fired_idle = sla::fire_due(&ctx, Timestamp::from_unix_millis(0), args.due).await?;
    let idle = started.elapsed().as_secs_f64() * 1000.0;
    let make_due = format!(
        "UPDATE sla_alarms SET due_at = {} WHERE fired_at IS NULL AND (ticket_id, metric, started_at, kind) IN
         (SELECT ticket_id, metric, started_at, kind FROM sla_alarms WHERE fired_at IS NULL ORDER BY ticket_id LIMIT {})",
        now.unix_millis() - 1,
        args.due
    );
    match &db {
        Db::Sqlite(pool) => sqlx::query(&make_due).execute(pool).await.map(drop)?,
        Db::Postgres(pool) => sqlx::query(&make_due).execute(pool).await.map(drop)?,
    }
    let busy_bare = bare(args.due).await?;
    let started = Instant::now();
    let fired = sla::fire_due(&ctx, now, args.due).await?;
    let busy = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "scheduler tick, nothing due: {idle:.2} ms ({fired_idle} fired); finding due alarms alone: {idle_bare:.2} ms"
    );
    println!(
        "scheduler tick, {fired} due: {busy:.0} ms ({:.2} ms per alarm fired, each its own transaction with a history entry); \
         finding them alone: {busy_bare:.2} ms",
        busy / fired.max(1) as f64
    );
    Ok(())
}

async fn scalar(db: &Db, sql: &str) -> Result<i64> {
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(pool).await?,
        Db::Postgres(pool) => sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(pool).await?,
    }
    .with_context(|| format!("no value for {sql}"))
}

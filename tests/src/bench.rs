//! What the benchmark programs in `src/bin/` share: a seeded database kept between runs, latency
//! samples with percentiles, one-value queries, and the relevance set's questions.

use anyhow::{Context, Result, bail};
use frontdesk_core::AppContext;
use frontdesk_core::agents::Agent;
use frontdesk_core::platform::db::Db;
use frontdesk_core::seed::{self, SeedPlan};
use std::path::Path;
use std::time::{Duration, Instant};

/// Seeds `plan` into the database unless it already holds as many tickets; a database with
/// some, but fewer, tickets is refused rather than topped up with different data.
pub async fn seed_once(ctx: &AppContext, plan: SeedPlan) -> Result<()> {
    let existing = scalar(ctx.db(), "SELECT COUNT(*) FROM tickets").await?;
    if existing >= i64::try_from(plan.tickets)? {
        return Ok(());
    }
    if existing > 0 {
        bail!(
            "the benchmark database holds {existing} tickets, fewer than the {} asked for; remove it or pass a fresh database",
            plan.tickets
        );
    }
    eprintln!(
        "seeding {} tickets and {} customers (once; kept for later runs)...",
        plan.tickets, plan.customers
    );
    let started = Instant::now();
    seed::seed(ctx, plan, |done, total| {
        if done % 100_000 == 0 || done == total {
            eprintln!("  {done}/{total} tickets, {:.0} s", started.elapsed().as_secs_f64());
        }
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("seeded in {seconds:.0} s ({:.0} tickets/s)", plan.tickets as f64 / seconds);
    Ok(())
}

/// Creates the PostgreSQL database `url` names unless it exists, connecting to the server's
/// `postgres` database to do so.
pub async fn create_database(url: &str) -> Result<()> {
    use sqlx::Connection;
    let Some((server, name)) = url.split('?').next().and_then(|u| u.rsplit_once('/')) else {
        bail!("{url} names no database")
    };
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .with_context(|| format!("connecting to {server}"))?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")))
            .execute(&mut admin)
            .await?;
    }
    Ok(())
}

/// Latency samples of one method.
#[derive(Default)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    /// The `p` quantile (0.5 for the median) in milliseconds, by the nearest-rank method.
    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1000.0
    }
}

/// The one integer `sql` returns.
pub async fn scalar(db: &Db, sql: &str) -> Result<i64> {
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(pool).await?,
        Db::Postgres(pool) => sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(pool).await?,
    }
    .with_context(|| format!("no value for {sql}"))
}

/// The seeded admin (the first active one).
pub async fn first_admin(db: &Db) -> Result<Agent> {
    let id = scalar(db, "SELECT MIN(id) FROM agents WHERE role = 'admin' AND active").await?;
    frontdesk_core::agents::find(db, id).await?.context("the seeded admin")
}

/// A question and its judged answers, best first.
pub struct Question {
    /// As a user would type it.
    pub text: String,
    /// The slugs of the articles that answer it, best first.
    pub answers: Vec<String>,
}

impl Question {
    /// The grade of `slug` for this question: 2 for the best answer, 1 for another, 0 otherwise.
    pub fn grade(&self, slug: &str) -> u32 {
        match self.answers.iter().position(|a| a == slug) {
            Some(0) => 2,
            Some(_) => 1,
            None => 0,
        }
    }
}

/// The questions of a relevance set's `questions.tsv` (`question<TAB>slug,slug`).
pub fn read_questions(path: &Path) -> Result<Vec<Question>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (question, slugs) =
                line.split_once('\t').with_context(|| format!("no tab in {line:?}"))?;
            Ok(Question {
                text: question.trim().to_owned(),
                answers: slugs.split(',').map(|s| s.trim().to_owned()).collect(),
            })
        })
        .collect()
}

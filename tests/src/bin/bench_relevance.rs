//! `bench-relevance`: how well search answers real questions, against PostgreSQL full-text search.
//!
//! Imports the 304 articles of `tests/relevance/` (Git's manual from Debian's `git-doc`) into a
//! fresh frontdesk with `kb import`, builds the search index, and asks every question of
//! `questions.tsv` as a visitor of the help centre would. The same articles go into PostgreSQL
//! (title weighted A, body B, a GIN index) and the same questions are asked there two ways:
//! `websearch_to_tsquery` (every word must match, what a search box on PostgreSQL usually does)
//! and the same words OR-ed. Each ranking is scored on its top 10 against the judged answers: the
//! first listed slug of a question has grade 2, the others grade 1.
//!
//! Run with `cargo xtask bench relevance [-- --postgres-url URL]`; see `tests/relevance/README.md`.

use anyhow::{Context, Result, bail};
use clap::Parser;
use frontdesk_core::search::SearchQuery;
use frontdesk_tests::bench::{Question, read_questions};
use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    about = "MRR and nDCG@10 of frontdesk's search and PostgreSQL full-text search on Git's manual"
)]
struct Args {
    /// A PostgreSQL server for the baseline (a temporary table is used; nothing is kept).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// The evaluation set.
    #[arg(long, default_value = "tests/relevance")]
    set: PathBuf,
    /// Print each question's first relevant rank per method.
    #[arg(long)]
    verbose: bool,
}

/// Scores of one method over all questions.
#[derive(Default)]
struct Scores {
    reciprocal_ranks: Vec<f64>,
    ndcgs: Vec<f64>,
    /// Questions with at least one relevant article in the top 10.
    answered: usize,
    /// Questions with no result at all.
    empty: usize,
}

const CUTOFF: usize = 10;

impl Scores {
    /// Adds one question's ranking (slugs, best first).
    fn add(&mut self, question: &Question, ranking: &[String]) -> Option<usize> {
        let top = &ranking[..ranking.len().min(CUTOFF)];
        let first = top.iter().position(|slug| question.grade(slug) > 0);
        self.reciprocal_ranks.push(first.map_or(0.0, |rank| 1.0 / (rank + 1) as f64));
        let dcg = |grades: &mut dyn Iterator<Item = u32>| -> f64 {
            grades
                .enumerate()
                .map(|(i, g)| f64::from((1_u32 << g) - 1) / ((i + 2) as f64).log2())
                .sum()
        };
        let actual = dcg(&mut top.iter().map(|slug| question.grade(slug)));
        let mut ideal_grades: Vec<u32> =
            question.answers.iter().map(|slug| question.grade(slug)).collect();
        ideal_grades.sort_unstable_by(|a, b| b.cmp(a));
        let ideal = dcg(&mut ideal_grades.into_iter().take(CUTOFF));
        self.ndcgs.push(if ideal > 0.0 { actual / ideal } else { 0.0 });
        self.answered += usize::from(first.is_some());
        self.empty += usize::from(ranking.is_empty());
        first.map(|rank| rank + 1)
    }

    fn mean(values: &[f64]) -> f64 {
        values.iter().sum::<f64>() / values.len().max(1) as f64
    }
}

/// The ways the questions are answered.
const METHODS: [&str; 3] =
    ["frontdesk (tantivy)", "PostgreSQL websearch_to_tsquery", "PostgreSQL OR of words"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let questions = read_questions(&args.set.join("questions.tsv"))?;
    let articles_dir = args.set.join("articles");

    let data_dir = tempfile::tempdir()?;
    let search_dir = data_dir.path().join("search-index");
    let ctx = frontdesk_tests::bench_context(None, data_dir.path(), Some(&search_dir)).await?.ctx;
    let report = frontdesk_core::kb::import_dir(&ctx, &articles_dir).await?;
    if !report.failed.is_empty() {
        bail!("{} articles failed to import: {:?}", report.failed.len(), report.failed);
    }
    let indexed = frontdesk_core::search::rebuild(&ctx, &|_, _| {}).await?;

    let mut pg = PgConnection::connect(&args.postgres_url)
        .await
        .with_context(|| format!("connecting to {}", args.postgres_url))?;
    load_postgres(&mut pg, &articles_dir).await?;

    let mut scores: [Scores; 3] = Default::default();
    for question in &questions {
        let query = SearchQuery { q: question.text.clone(), ..SearchQuery::default() };
        let ours: Vec<String> = frontdesk_core::search::search_public(&ctx, None, &query)
            .await?
            .items
            .into_iter()
            .filter_map(|item| item.url.strip_prefix("/help/articles/").map(str::to_owned))
            .collect();
        let and =
            postgres_top(&mut pg, "websearch_to_tsquery('english', $1)", &question.text).await?;
        let or = postgres_top(
            &mut pg,
            "replace(plainto_tsquery('english', $1)::text, '&', '|')::tsquery",
            &question.text,
        )
        .await?;
        let ranks: Vec<Option<usize>> = scores
            .iter_mut()
            .zip([ours, and, or])
            .map(|(s, ranking)| s.add(question, &ranking))
            .collect();
        if args.verbose {
            let shown: Vec<String> =
                ranks.iter().map(|r| r.map_or("-".into(), |r| r.to_string())).collect();
            println!("{:>3} {:>3} {:>3}  {}", shown[0], shown[1], shown[2], question.text);
        }
    }

    println!(
        "Relevance on {} questions over {indexed} articles (Git's manual, Debian git-doc 1:2.39.5-0+deb12u3)",
        questions.len()
    );
    println!(
        "{:<34} {:>8} {:>8} {:>12} {:>10}",
        "method", "MRR@10", "nDCG@10", "answered@10", "no result"
    );
    for (name, s) in METHODS.iter().zip(&scores) {
        println!(
            "{name:<34} {:>8.3} {:>8.3} {:>9}/{:<2} {:>10}",
            Scores::mean(&s.reciprocal_ranks),
            Scores::mean(&s.ndcgs),
            s.answered,
            questions.len(),
            s.empty
        );
    }
    Ok(())
}

/// The same articles in a temporary PostgreSQL table with a weighted tsvector and a GIN index.
async fn load_postgres(pg: &mut PgConnection, dir: &Path) -> Result<()> {
    sqlx::query("CREATE TEMPORARY TABLE relevance_articles (slug TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, tsv TSVECTOR)")
        .execute(&mut *pg)
        .await?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        let article = frontdesk_core::kb::ArticleSource::parse(&text)
            .map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
        sqlx::query("INSERT INTO relevance_articles (slug, title, body) VALUES ($1, $2, $3)")
            .bind(&article.slug)
            .bind(&article.title)
            .bind(&article.body)
            .execute(&mut *pg)
            .await?;
    }
    sqlx::query("UPDATE relevance_articles SET tsv = setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')")
        .execute(&mut *pg)
        .await?;
    sqlx::query("CREATE INDEX ON relevance_articles USING GIN (tsv)").execute(&mut *pg).await?;
    sqlx::query("ANALYZE relevance_articles").execute(&mut *pg).await?;
    Ok(())
}

/// The top 10 slugs PostgreSQL ranks for `question` with the tsquery built by `tsquery`.
async fn postgres_top(pg: &mut PgConnection, tsquery: &str, question: &str) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT slug FROM relevance_articles, (SELECT {tsquery} AS q) AS query WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, slug LIMIT {CUTOFF}"
    );
    Ok(sqlx::query_scalar(&sql).bind(question).fetch_all(&mut *pg).await?)
}

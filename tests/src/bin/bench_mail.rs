//! `bench-mail`: the email channel's throughput on SQLite, against baselines measured in the same
//! run.
//!
//! 1. **Parsing alone** (the baseline for ingest): the N generated messages parsed by
//!    `frontdesk_core::mail::parse` on one thread.
//! 2. **HTTP**: the real `frontdesk serve` (a child process, fresh SQLite file) takes the same N
//!    messages at `POST /api/mail/inbound/support` from C concurrent clients.
//! 3. **Pipe**: a fresh database takes them through `frontdesk mail receive` (one process per
//!    message, as an MTA runs it), C processes at a time.
//!
//!    After each way, every message must be stored: as many new tickets and replies as were
//!    sent, nothing quarantined, nothing twice.
//! 4. **Outbox**: R agent replies on email tickets sent by frontdesk's sender through a real
//!    Postfix (from the test harness), timed from the server's start until every row is `sent`;
//!    the baseline sends R messages of the same size straight to the same Postfix with lettre,
//!    one after another over one pooled connection, as frontdesk's sender does.
//!
//! The messages: 70% new requests from 2,000 senders, then 30% replies that thread by `In-Reply-To`;
//! each a multipart/alternative of about 3 KB with a quoted history. Acknowledgements are off
//! during ingest, so the figures are ingest alone.
//!
//! Run with `cargo xtask bench mail [-- --messages N --concurrency C --replies R]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use frontdesk_core::agents::{NewAgent, Role};
use frontdesk_core::mail::{self, MailboxInput};
use frontdesk_core::tickets::{self, MessageBody, MessageKind};
use frontdesk_tests::bench::scalar;
use frontdesk_tests::mail::MailServer;
use frontdesk_tests::{PASSWORD, ServerProcess};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

#[derive(Parser)]
#[command(about = "Email ingest (HTTP, pipe) against parsing alone; the outbox against plain SMTP")]
struct Args {
    /// Where the runs keep their data (deleted first).
    #[arg(long, default_value = "target/bench/mail")]
    data_dir: PathBuf,
    /// Messages each way takes in.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Concurrent HTTP clients, and concurrent pipe processes.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Replies sent through the outbox.
    #[arg(long, default_value_t = 2_000)]
    replies: usize,
    /// Leave out the pipe (a process per message takes a few minutes).
    #[arg(long)]
    skip_pipe: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
}

const SUPPORT: &str = "support@example.test";
/// The server's log level: its "listening on" line, warnings, and no request logs (nothing
/// reads the log during a run, and a full pipe would stall the server).
const QUIET: &[(&str, &str)] = &[("RUST_LOG", "warn,frontdesk_server=info")];

async fn run(args: Args) -> Result<()> {
    let messages = generate(args.messages);
    let bytes: usize = messages.iter().map(Vec::len).sum();
    println!(
        "{} messages ({:.1} MB, {} new requests, {} replies), concurrency {}",
        messages.len(),
        bytes as f64 / 1e6,
        messages.len() - replies_in(messages.len()),
        replies_in(messages.len()),
        args.concurrency
    );

    let started = Instant::now();
    for raw in &messages {
        mail::parse::parse(raw).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let parse_rate = messages.len() as f64 / started.elapsed().as_secs_f64();
    println!("parsing alone (one thread): {parse_rate:.0} messages/s");

    let messages = Arc::new(messages);
    let http_dir = args.data_dir.join("http");
    let secret = prepare(&http_dir).await?;
    let server =
        ServerProcess::start_with(&http_dir, None, &["--config", &config(&http_dir, None)?], QUIET);
    let started = Instant::now();
    post_all(&server.base_url(), &secret, messages.clone(), args.concurrency).await?;
    let http_rate = messages.len() as f64 / started.elapsed().as_secs_f64();
    drop(server);
    verify(&http_dir, messages.len()).await?;
    println!(
        "HTTP: {http_rate:.0} messages/s stored (parsing alone is {:.0}x faster)",
        parse_rate / http_rate
    );

    if !args.skip_pipe {
        let pipe_dir = args.data_dir.join("pipe");
        prepare(&pipe_dir).await?;
        let started = Instant::now();
        pipe_all(&pipe_dir, messages.clone(), args.concurrency).await?;
        let pipe_rate = messages.len() as f64 / started.elapsed().as_secs_f64();
        verify(&pipe_dir, messages.len()).await?;
        println!(
            "pipe: {pipe_rate:.0} messages/s stored (parsing alone is {:.0}x faster; a process per message)",
            parse_rate / pipe_rate
        );
    }

    outbox(&http_dir, args.replies).await
}

fn replies_in(n: usize) -> usize {
    n - requests_in(n)
}

/// 70% of the messages are new requests; they come first, then the replies, so every request is
/// stored before a reply to it arrives (with C messages in flight, one may otherwise wait on the
/// database long enough for its reply to overtake it).
fn requests_in(n: usize) -> usize {
    n * 7 / 10
}

/// The benchmark's messages: requests `0..R` from `customer{i % 2000}`, then replies, reply `k`
/// threading onto request `2k`.
fn generate(n: usize) -> Vec<Vec<u8>> {
    let history = "> Thanks for writing to us. Could you tell us which version you use,\n> and what you did just before it happened?\n>\n> The ACME support team\n".repeat(4);
    let requests = requests_in(n);
    (0..n)
        .map(|i| {
            let (subject, threading) = if i >= requests {
                let asked = (2 * (i - requests)) % requests.max(1);
                (format!("Re: Problem {asked}"), format!("In-Reply-To: <m{asked}@customer.test>\r\nReferences: <m{asked}@customer.test>\r\n"))
            } else {
                (format!("Problem {i}"), String::new())
            };
            let text = format!("Hello,\r\n\r\nmessage {i}: the export to CSV stops at 1,000 rows since this morning. We tried two browsers.\r\n\r\nRegards,\r\nCustomer {}\r\n\r\n{}", i % 2000, history.replace('\n', "\r\n"));
            let html = format!("<div dir=\"ltr\"><p>Hello,</p><p>message {i}: the export to CSV stops at 1,000 rows since this morning.</p><div class=\"gmail_quote\"><blockquote>{}</blockquote></div></div>", history.replace('\n', "<br>"));
            format!(
                "From: Customer {c} <customer{c}@example.test>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <m{i}@customer.test>\r\n{threading}Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b{i}\"\r\n\r\n--b{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--b{i}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b{i}--\r\n",
                c = i % 2000
            )
            .into_bytes()
        })
        .collect()
}

/// A fresh SQLite database in `dir` with an admin and the mailbox `support` (acknowledgements
/// off); returns the mailbox's HTTP secret.
async fn prepare(dir: &Path) -> Result<String> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let ctx = frontdesk_tests::bench_context(None, dir, None).await?.ctx;
    let admin = frontdesk_core::agents::create_admin_from_cli(
        &ctx,
        NewAgent::parse("ada@bench.test", "Ada", Role::Admin, PASSWORD)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )
    .await?;
    let input = MailboxInput {
        name: "support".into(),
        address: SUPPORT.into(),
        display_name: "ACME Support".into(),
        acknowledge: false,
        ..MailboxInput::default()
    };
    let mailbox = mail::create_mailbox(&ctx, &admin, input).await?;
    let secret = mail::new_inbound_secret(&ctx, &admin, mailbox.id).await?;
    ctx.tasks().shut_down(Duration::from_secs(5)).await;
    ctx.db().close().await;
    Ok(secret)
}

/// The config file for a run in `dir`: no sender limit, and SMTP when given.
fn config(dir: &Path, smtp_port: Option<u16>) -> Result<String> {
    let mut text = "[mail]\nper_sender_per_hour = 1000000\n".to_owned();
    if let Some(port) = smtp_port {
        text.push_str(&format!(
            "\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\n"
        ));
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, text)?;
    path.to_str().map(str::to_owned).context("a UTF-8 path")
}

async fn post_all(
    base: &str,
    secret: &str,
    messages: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
) -> Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, messages, client) = (next.clone(), messages.clone(), client.clone());
        let (url, auth) = (format!("{base}/api/mail/inbound/support"), format!("Bearer {secret}"));
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(raw) = messages.get(i) else { return Ok::<_, anyhow::Error>(()) };
                let answer = client
                    .post(&url)
                    .header("authorization", &auth)
                    .body(raw.clone())
                    .send()
                    .await?;
                if answer.status() != reqwest::StatusCode::ACCEPTED {
                    bail!(
                        "message {i}: {} {}",
                        answer.status(),
                        answer.text().await.unwrap_or_default()
                    );
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

async fn pipe_all(dir: &Path, messages: Arc<Vec<Vec<u8>>>, concurrency: usize) -> Result<()> {
    let binary = frontdesk_tests::frontdesk_binary();
    let config = config(dir, None)?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, messages, binary, config, dir) =
            (next.clone(), messages.clone(), binary.clone(), config.clone(), dir.to_path_buf());
        workers.push(tokio::task::spawn_blocking(move || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(raw) = messages.get(i) else { return Ok::<_, anyhow::Error>(()) };
                let mut child = Command::new(&binary)
                    .args(["--config", &config, "--data-dir"])
                    .arg(&dir)
                    .args(["mail", "receive", "--mailbox", "support"])
                    .env("RUST_LOG", "warn")
                    .env_remove("DATABASE_URL")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .spawn()?;
                std::io::Write::write_all(&mut child.stdin.take().context("stdin")?, raw)?;
                let status = child.wait()?;
                if !status.success() {
                    bail!("message {i}: frontdesk mail receive exited with {status}");
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

/// Every message is stored once: new requests as tickets, replies on them, nothing held back.
async fn verify(dir: &Path, sent: usize) -> Result<()> {
    let ctx = frontdesk_tests::bench_context(None, dir, None).await?.ctx;
    let db = ctx.db();
    let stored = scalar(db, "SELECT COUNT(*) FROM mail_messages WHERE direction = 'in'").await?;
    let tickets = scalar(db, "SELECT COUNT(*) FROM tickets WHERE channel = 'email'").await?;
    let messages = scalar(db, "SELECT COUNT(*) FROM ticket_messages").await?;
    let held = scalar(db, "SELECT COUNT(*) FROM mail_quarantine").await?;
    let expected_replies = replies_in(sent) as i64;
    let expected_tickets = sent as i64 - expected_replies;
    if stored != sent as i64 || tickets != expected_tickets || messages != sent as i64 || held != 0
    {
        bail!(
            "stored {stored} of {sent}: {tickets} tickets (expected {expected_tickets}), {messages} messages, {held} quarantined"
        );
    }
    ctx.db().close().await;
    Ok(())
}

/// Phase 4: replies through the outbox against plain SMTP to the same Postfix.
async fn outbox(dir: &Path, replies: usize) -> Result<()> {
    let servers = MailServer::start();
    {
        let ctx = frontdesk_tests::bench_context(None, dir, None).await?.ctx;
        let admin = frontdesk_tests::bench::first_admin(ctx.db()).await?;
        let numbers: Vec<i64> = match ctx.db() {
            frontdesk_core::platform::db::Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT number FROM tickets ORDER BY id LIMIT $1")
                    .bind(replies as i64)
                    .fetch_all(pool)
                    .await?
            }
            frontdesk_core::platform::db::Db::Postgres(_) => bail!("SQLite only"),
        };
        let body = MessageBody::parse(&format!(
            "Thank you. {}",
            "We found the cause and fixed it. ".repeat(40)
        ))
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        for number in numbers.iter().cycle().take(replies) {
            tickets::add_message(&ctx, &admin, *number, MessageKind::Reply, body.clone(), None)
                .await?;
        }
        ctx.tasks().shut_down(Duration::from_secs(5)).await;
        ctx.db().close().await;
    }
    let watcher = frontdesk_tests::bench_context(None, dir, None).await?.ctx;
    let started = Instant::now();
    let _server = ServerProcess::start_with(
        dir,
        None,
        &["--config", &config(dir, Some(servers.smtp_port))?],
        QUIET,
    );
    loop {
        let left =
            scalar(watcher.db(), "SELECT COUNT(*) FROM mail_outbox WHERE state <> 'sent'").await?;
        if left == 0 {
            break;
        }
        let failed = scalar(
            watcher.db(),
            "SELECT COUNT(*) FROM mail_outbox WHERE state IN ('failed', 'retrying')",
        )
        .await?;
        if failed > 0 {
            bail!("{failed} emails failed or wait for a retry");
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("{left} emails unsent after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let frontdesk_rate = replies as f64 / started.elapsed().as_secs_f64();

    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(servers.smtp_port)
        .build();
    let text = "We found the cause and fixed it. ".repeat(40);
    let started = Instant::now();
    for i in 0..replies {
        let message = lettre::Message::builder()
            .from("ACME Support <support@example.test>".parse()?)
            .to(format!("customer{}@example.test", i % 2000).parse()?)
            .subject(format!("Re: Problem {i}"))
            .body(text.clone())?;
        transport.send(message).await?;
    }
    let baseline_rate = replies as f64 / started.elapsed().as_secs_f64();
    println!(
        "outbox: {frontdesk_rate:.0} emails/s sent through Postfix (from the server's start), plain SMTP baseline {baseline_rate:.0} emails/s ({:.2}x)",
        frontdesk_rate / baseline_rate
    );
    Ok(())
}

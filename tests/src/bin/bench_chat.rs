//! `bench-chat`: live chat under load, frontdesk against a plain WebSocket relay.
//!
//! Starts the real `frontdesk serve` as a child process (its own file descriptors, its memory read
//! from `/proc/PID/status`) on a fresh database with M agents and one widget site, connects the
//! agents' consoles (`/api/live`) and N widget visitors (`/api/widget/ws`) from this process, and
//! measures:
//!
//! - **throughput**: every visitor keeps up to W messages unacked for D seconds; the figure is the
//!   messages stored (acked) *and* delivered to their agent within those D seconds, per second;
//! - **latency at a fixed rate**: R messages per second in all, spread evenly over the visitors
//!   for D seconds; each body carries its scheduled send time (one clock for every client, so a
//!   client running late counts against the server, not in its favour), and the agent that gets
//!   it measures visitor-to-agent latency: p50, p99, p99.9;
//! - **integrity** after each phase, once in-flight messages have drained: acked messages never
//!   delivered (lost), seqs delivered twice (duplicates), and seqs of a chat that did not arrive
//!   strictly increasing at its agent (out of order). All three must be 0;
//! - **idle memory**: the server's resident memory before and after I more visitors connect and
//!   resume (no chat), per connection.
//!
//! The same clients then run against a **baseline**: this program re-executed as a minimal relay
//! (`--baseline-server`: tokio-tungstenite, no storage, one channel per agent) that speaks the
//! subset of the protocol the clients use, so the client code is literally the same. Ratios are
//! frontdesk/baseline.
//!
//! Agents whose socket is closed for falling behind reconnect and resume each chat after the last
//! seq they have, as the console does; reconnections are reported.
//!
//! Run with `cargo xtask bench chat [-- --database-url postgres://...]` (a PostgreSQL run creates
//! and uses the database `fd_bench_chat` on that server, dropping an earlier one); without it, a
//! fresh SQLite file in `--data-dir` (deleted first).

use anyhow::{Context, Result, bail};
use clap::Parser;
use frontdesk_core::agents::{NewAgent, Role};
use frontdesk_core::chats::{AgentStatus, ChatState, VisitorEvent, VisitorRequest};
use frontdesk_core::live::{ClientMessage, ServerMessage};
use frontdesk_tests::bench::Samples;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Parser)]
#[command(
    about = "Live chat throughput, latency, integrity and memory: frontdesk vs a plain WebSocket relay"
)]
struct Args {
    /// PostgreSQL server URL (the database `fd_bench_chat` is created there); without it, SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// frontdesk's data directory for the run (deleted first).
    #[arg(long, default_value = "target/bench/chat")]
    data_dir: PathBuf,
    /// Visitors chatting at once (one chat each).
    #[arg(long, default_value_t = 200)]
    visitors: usize,
    /// Agents online (chats are routed round robin).
    #[arg(long, default_value_t = 4)]
    agents: usize,
    /// Unacked messages each visitor keeps in flight in the throughput phase.
    #[arg(long, default_value_t = 4)]
    window: usize,
    /// Seconds each measured phase lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages per second in all in the latency phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Idle visitor connections for the memory measurement.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// Skip the idle-memory measurement.
    #[arg(long)]
    skip_idle: bool,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Internal: run only the baseline relay and print its address.
    #[arg(long, hide = true)]
    baseline_server: bool,
}

/// The origin the widget site allows and the visitors send.
const ORIGIN: &str = "http://bench.example";
/// How many connections or visitors are opened at once.
const CONNECT_CONCURRENCY: usize = 200;
/// How long a phase may take to drain its in-flight messages.
const DRAIN: Duration = Duration::from_secs(30);
/// How long setup steps (a socket's first answer, a chat becoming active) may take.
const SETUP_WAIT: Duration = Duration::from_secs(60);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn main() -> Result<()> {
    let args = Args::parse();
    // The same runtime frontdesk's binary builds (a worker per core), for both servers.
    let runtime = tokio::runtime::Runtime::new()?;
    if args.baseline_server {
        return runtime.block_on(baseline::serve());
    }
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let clock = Clock(Instant::now());
    let mut frontdesk = start_frontdesk(&args).await?;
    eprintln!("frontdesk ({}) listening on {}", frontdesk.backend, frontdesk.addr);
    let frontdesk_figures = measure(&frontdesk, &args, clock).await;
    frontdesk.stop();
    let frontdesk_figures = frontdesk_figures?;

    let mut baseline = start_baseline(args.agents)?;
    eprintln!("baseline relay listening on {}", baseline.addr);
    let baseline_figures = measure(&baseline, &args, clock).await;
    baseline.stop();
    let baseline_figures = baseline_figures?;

    let report = report(&args, &frontdesk, &frontdesk_figures, &baseline_figures);
    print!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The servers under test

/// A server under test, running as a child process.
struct Target {
    /// frontdesk's database backend, or "relay".
    backend: &'static str,
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    /// The widget site's public token.
    site: String,
    /// The agents to connect as.
    agents: Vec<AgentLogin>,
    /// Whether visitors are created over HTTP first (frontdesk) or need no token (the relay).
    http_visitors: bool,
    /// What the server logged at WARN or ERROR.
    log: Arc<LogWatch>,
}

/// An agent's id and session cookie.
#[derive(Clone)]
struct AgentLogin {
    id: i64,
    session: String,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Target {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _already_gone = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prepares a fresh database (admin, agents with room for every chat, a widget site), starts
/// `frontdesk serve` on it and signs the agents in.
async fn start_frontdesk(args: &Args) -> Result<Target> {
    let database_url = match &args.database_url {
        Some(server) => Some(fresh_postgres(server).await?),
        None => None,
    };
    match std::fs::remove_dir_all(&args.data_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", args.data_dir.display()));
        }
        _ => {}
    }
    let ctx =
        frontdesk_tests::bench_context(database_url.as_deref(), &args.data_dir, None).await?.ctx;
    let account = |i: usize, role| {
        NewAgent::parse(
            &format!("agent{i}@bench.example"),
            &format!("Agent {i}"),
            role,
            frontdesk_tests::PASSWORD,
        )
    };
    let admin = frontdesk_core::agents::create_admin_from_cli(
        &ctx,
        account(0, Role::Admin).map_err(invalid)?,
    )
    .await?;
    let mut emails = vec![(admin.id, admin.email.clone())];
    for i in 1..args.agents {
        let agent =
            frontdesk_core::agents::create(&ctx, &admin, account(i, Role::Agent).map_err(invalid)?)
                .await?;
        emails.push((agent.id, agent.email));
    }
    execute(ctx.db(), "UPDATE agents SET chat_capacity = 100000").await?;
    let settings =
        frontdesk_core::chats::sites::SiteSettings::parse("Bench", ORIGIN, false, "Hi!", false)
            .map_err(invalid)?;
    let site = frontdesk_core::chats::sites::create(&ctx, &admin, settings).await?;
    ctx.db().close().await;
    drop(ctx);

    let binary = std::env::var_os("FRONTDESK_BIN")
        .map(PathBuf::from)
        .context("FRONTDESK_BIN is not set: run this through `cargo xtask bench chat`")?;
    let mut command = Command::new(&binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&args.data_dir)
        .args([
            "--chat-messages-per-minute",
            "1000000",
            "--chat-visitors-per-ip-per-minute",
            "1000000",
        ])
        .env_remove("DATABASE_URL");
    if let Some(url) = &database_url {
        command.args(["--database-url", url]);
    }
    let (child, addr, log) = spawn_server(command)?;
    let mut target = Target {
        backend: if database_url.is_some() { "PostgreSQL" } else { "SQLite" },
        child,
        addr,
        site: site.public_token,
        agents: Vec::new(),
        http_visitors: true,
        log,
    };
    let base_url = format!("http://{}", target.addr);
    for (id, email) in emails {
        let client = frontdesk_tests::ApiClient::new(&base_url);
        let answer = client.sign_in(&email, frontdesk_tests::PASSWORD).await;
        if !answer.status().is_success() {
            bail!("signing in as {email} failed: {}", answer.status());
        }
        let session = client.session_cookie().context("no session cookie after signing in")?;
        target.agents.push(AgentLogin { id, session });
    }
    Ok(target)
}

/// Starts the baseline relay: this program again, with `--baseline-server`.
fn start_baseline(agents: usize) -> Result<Target> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--baseline-server");
    let (child, addr, log) = spawn_server(command)?;
    let agents = (0..agents).map(|i| AgentLogin { id: i as i64, session: String::new() }).collect();
    Ok(Target {
        backend: "relay",
        child,
        addr,
        site: "-".into(),
        agents,
        http_visitors: false,
        log,
    })
}

/// Spawns a server that logs "listening on http://ADDR" to stderr; returns it, its address, and
/// a watch over the rest of its log (read on a thread so the pipe never fills).
fn spawn_server(mut command: Command) -> Result<(Child, String, Arc<LogWatch>)> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child =
        command.spawn().with_context(|| format!("starting {:?}", command.get_program()))?;
    let mut lines = std::io::BufReader::new(child.stderr.take().context("stderr")?).lines();
    let addr = lines.by_ref().map_while(Result::ok).find_map(|line| {
        line.split("listening on http://")
            .nth(1)
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
    });
    let Some(addr) = addr else {
        let _ = child.kill();
        bail!("{:?} exited without a 'listening on' line", command.get_program());
    };
    let log = Arc::new(LogWatch::default());
    let watch = log.clone();
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|line| watch.line(&line)));
    Ok((child, addr, log))
}

/// Counts a server's warnings and errors and keeps the first few.
#[derive(Default)]
struct LogWatch {
    warnings: AtomicU64,
    errors: AtomicU64,
    first: Mutex<Vec<String>>,
}

impl LogWatch {
    fn line(&self, line: &str) {
        let counter = if line.contains(" ERROR ") {
            &self.errors
        } else if line.contains(" WARN ") {
            &self.warnings
        } else {
            return;
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.len() < 10 {
            first.push(line.to_owned());
        }
    }
}

/// Creates the database `fd_bench_chat` afresh on the PostgreSQL server at `server_url` and
/// returns its URL.
async fn fresh_postgres(server_url: &str) -> Result<String> {
    use sqlx::Connection;
    const NAME: &str = "fd_bench_chat";
    let mut admin = sqlx::PgConnection::connect(server_url)
        .await
        .context("connecting to the PostgreSQL server")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {NAME}")).execute(&mut admin).await?;
    let mut url = reqwest::Url::parse(server_url).context("a PostgreSQL URL")?;
    url.set_path(&format!("/{NAME}"));
    Ok(url.to_string())
}

async fn execute(db: &frontdesk_core::platform::db::Db, sql: &str) -> Result<()> {
    use frontdesk_core::platform::db::Db;
    match db {
        Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
    }
    .with_context(|| sql.to_owned())
}

fn invalid(errors: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("invalid benchmark fixture: {errors:?}")
}

/// A process's resident memory in KB.
fn rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS line")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}

// ---------------------------------------------------------------------------------------------
// The measurement, the same for both servers

/// The run's one time base: bodies carry nanoseconds since it, so latency is measured across
/// clients without clock skew.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn nanos(self, at: Instant) -> u64 {
        at.saturating_duration_since(self.0).as_nanos() as u64
    }
}

/// What one server did.
struct Figures {
    throughput: Phase,
    latency: Phase,
    idle: Option<IdleMemory>,
    reconnects: u64,
    agent_errors: u64,
    warnings: u64,
    errors: u64,
    log_sample: Vec<String>,
}

async fn measure(target: &Target, args: &Args, clock: Clock) -> Result<Figures> {
    let agents = Agents::connect(target, clock).await?;
    let idle = if args.skip_idle { None } else { Some(idle_memory(target, args.idle).await?) };

    eprintln!("{}: opening {} visitors and starting their chats...", target.backend, args.visitors);
    let tokens = visitor_tokens(target, args.visitors).await?;
    let mut visitors: Vec<Visitor> = futures_util::stream::iter(tokens.into_iter().enumerate())
        .map(|(index, token)| Visitor::start_chat(target, index, token, clock))
        .buffer_unordered(CONNECT_CONCURRENCY / 4)
        .try_collect()
        .await?;
    visitors.sort_by_key(|v| v.index);
    agents.wait_for_warm_up(visitors.len()).await?;

    let window = args.window;
    let seconds = Duration::from_secs(args.seconds);
    eprintln!("{}: throughput, {} s...", target.backend, args.seconds);
    let (visitors, throughput) =
        run_phase(visitors, &agents, 't', seconds, clock, |_| Pace::Window(window)).await;
    eprintln!("{}: latency at {} msg/s, {} s...", target.backend, args.rate, args.seconds);
    let every = Duration::from_secs_f64(args.visitors as f64 / args.rate as f64);
    let count = args.visitors as u32;
    let (visitors, latency) = run_phase(visitors, &agents, 'l', seconds, clock, |i| {
        Pace::Every(every, every * i as u32 / count)
    })
    .await;
    drop(visitors);
    let (reconnects, agent_errors) = agents.stop();
    Ok(Figures {
        throughput,
        latency,
        idle,
        reconnects,
        agent_errors,
        warnings: target.log.warnings.load(Ordering::Relaxed),
        errors: target.log.errors.load(Ordering::Relaxed),
        log_sample: target.log.first.lock().map(|l| l.clone()).unwrap_or_default(),
    })
}

/// Server memory with idle visitor connections.
struct IdleMemory {
    before_kb: u64,
    after_kb: u64,
    connections: usize,
}

impl IdleMemory {
    fn per_connection_kb(&self) -> f64 {
        (self.after_kb as f64 - self.before_kb as f64) / self.connections as f64
    }
}

/// Opens `count` visitor sockets that resume and then sit idle; reads the server's memory before
/// (visitors already created) and after.
async fn idle_memory(target: &Target, count: usize) -> Result<IdleMemory> {
    eprintln!("{}: idle memory with {count} connections...", target.backend);
    let tokens = visitor_tokens(target, count).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_kb = rss_kb(target.pid())?;
    let sockets: Vec<Visitor> = futures_util::stream::iter(tokens.into_iter().enumerate())
        .map(|(index, token)| Visitor::open(target, index, token))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .try_collect()
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_kb = rss_kb(target.pid())?;
    drop(sockets);
    Ok(IdleMemory { before_kb, after_kb, connections: count })
}

/// Visitor tokens: created over HTTP on frontdesk; any text on the relay.
async fn visitor_tokens(target: &Target, count: usize) -> Result<Vec<String>> {
    if !target.http_visitors {
        return Ok((0..count).map(|i| format!("v{i}")).collect());
    }
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/widget/visitor", target.addr);
    let body = serde_json::json!({ "site": target.site });
    futures_util::stream::iter(0..count)
        .map(|_| async {
            let answer = http.post(&url).json(&body).send().await?.error_for_status()?;
            let started: serde_json::Value = answer.json().await?;
            started["token"].as_str().map(str::to_owned).context("no token in the visitor's answer")
        })
        .buffer_unordered(CONNECT_CONCURRENCY / 4)
        .try_collect()
        .await
}

// ---------------------------------------------------------------------------------------------
// Visitors

/// How a visitor sends during a phase.
#[derive(Clone, Copy)]
enum Pace {
    /// As fast as acks come back, with up to this many unacked.
    Window(usize),
    /// One message per period, the first after the offset.
    Every(Duration, Duration),
}

/// One widget visitor's socket.
struct Visitor {
    index: usize,
    sink: SplitSink<Ws, Message>,
    stream: SplitStream<Ws>,
    /// Messages sent so far (their client ids are unique per visitor).
    sent: u64,
}

/// What a visitor did in one phase.
#[derive(Default)]
struct Sent {
    sent: u64,
    /// Every acked message: (chat number, seq).
    acked: Vec<(i64, i64)>,
    acked_in_time: u64,
    refused: u64,
    /// 1 when the server closed the socket.
    closed: u64,
}

impl Visitor {
    /// Opens the socket and resumes (nothing to replay yet).
    async fn open(target: &Target, index: usize, token: String) -> Result<Visitor> {
        let url =
            format!("ws://{}/api/widget/ws?v=1&site={}&visitor={token}", target.addr, target.site);
        let (sink, stream) = connect(&url, &[("origin", ORIGIN)]).await?.split();
        let mut visitor = Visitor { index, sink, stream, sent: 0 };
        visitor.send(&VisitorRequest::Resume { number: None, after_seq: 0 }).await?;
        visitor.until(|event| matches!(event, VisitorEvent::Welcome { .. }).then_some(())).await?;
        Ok(visitor)
    }

    /// Opens the socket, sends the first message and waits until an agent has the chat.
    async fn start_chat(
        target: &Target,
        index: usize,
        token: String,
        clock: Clock,
    ) -> Result<Visitor> {
        let mut visitor = Self::open(target, index, token).await?;
        visitor.send_message('w', clock.nanos(Instant::now())).await?;
        // Both the ack and the chat turning active, so neither is left for the first phase.
        let (mut active, mut acked) = (false, false);
        visitor
            .until(|event| {
                match event {
                    VisitorEvent::Chat { chat } => active = chat.state == ChatState::Active,
                    VisitorEvent::Ack { .. } => acked = true,
                    _ => {}
                }
                (active && acked).then_some(())
            })
            .await?;
        Ok(visitor)
    }

    async fn send(&mut self, request: &VisitorRequest) -> Result<()> {
        send_json(&mut self.sink, request).await
    }

    /// Sends message number `self.sent` of `phase`, saying it was sent at `sent_at`.
    async fn send_message(&mut self, phase: char, sent_at: u64) -> Result<()> {
        let body = Body { phase, visitor: self.index, sent_at }.to_string();
        let client_id = format!("{phase}-{}-{}", self.index, self.sent);
        self.sent += 1;
        self.send(&VisitorRequest::Send { client_id, body, attachment_id: None }).await
    }

    /// Reads events until `pick` accepts one.
    async fn until<T>(&mut self, mut pick: impl FnMut(VisitorEvent) -> Option<T>) -> Result<T> {
        let deadline = tokio::time::Instant::now() + SETUP_WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .context("no answer in time")?;
            match Frame::<VisitorEvent>::from(frame) {
                Frame::Message(event) => {
                    if let VisitorEvent::Error { code, message } = &event {
                        bail!("visitor {} refused: {code}: {message}", self.index);
                    }
                    if let Some(found) = pick(event) {
                        return Ok(found);
                    }
                }
                Frame::Skip => {}
                Frame::Closed => bail!("visitor {}'s socket closed", self.index),
            }
        }
    }

    /// Runs one phase: sends at `pace` from `start` until `until`, then waits (up to [`DRAIN`])
    /// for the remaining acks.
    async fn run(
        mut self,
        phase: char,
        pace: Pace,
        start: Instant,
        until: Instant,
        clock: Clock,
    ) -> (Visitor, Sent) {
        let mut done = Sent::default();
        let mut in_flight = 0usize;
        let mut next_send = match pace {
            Pace::Window(_) => start,
            Pace::Every(_, offset) => start + offset,
        };
        tokio::time::sleep_until(start.into()).await;
        loop {
            let now = Instant::now();
            let sending = now < until;
            if let Pace::Window(window) = pace {
                while sending && in_flight < window {
                    if self.send_message(phase, clock.nanos(Instant::now())).await.is_err() {
                        done.closed = 1;
                        return (self, done);
                    }
                    done.sent += 1;
                    in_flight += 1;
                }
            }
            if (!sending && in_flight == 0) || now >= until + DRAIN {
                return (self, done);
            }
            let wake = match pace {
                Pace::Every(..) if sending => next_send,
                _ if sending => until,
                _ => until + DRAIN,
            };
            tokio::select! {
                frame = self.stream.next() => match Frame::<VisitorEvent>::from(frame) {
                    Frame::Message(VisitorEvent::Ack { number, seq, .. }) => {
                        done.acked.push((number, seq));
                        done.acked_in_time += u64::from(Instant::now() <= until);
                        in_flight = in_flight.saturating_sub(1);
                    }
                    Frame::Message(VisitorEvent::Error { .. }) => {
                        done.refused += 1;
                        in_flight = in_flight.saturating_sub(1);
                    }
                    Frame::Message(_) | Frame::Skip => {}
                    Frame::Closed => {
                        done.closed = 1;
                        return (self, done);
                    }
                },
                () = tokio::time::sleep_until(wake.into()) => {
                    if let Pace::Every(period, _) = pace && sending {
                        // The scheduled time, not the actual one: a late client counts as latency.
                        if self.send_message(phase, clock.nanos(next_send)).await.is_err() {
                            done.closed = 1;
                            return (self, done);
                        }
                        done.sent += 1;
                        in_flight += 1;
                        next_send += period;
                    }
                }
            }
        }
    }
}

/// A message body: which phase, which visitor, and when it was (meant to be) sent.
struct Body {
    phase: char,
    visitor: usize,
    sent_at: u64,
}

impl std::fmt::Display for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.phase, self.visitor, self.sent_at)
    }
}

impl Body {
    fn parse(text: &str) -> Option<Body> {
        let mut parts = text.split(':');
        let phase = parts.next()?.chars().next()?;
        let visitor = parts.next()?.parse().ok()?;
        let sent_at = parts.next()?.parse().ok()?;
        Some(Body { phase, visitor, sent_at })
    }
}

/// One measured phase over every visitor.
struct Phase {
    seconds: f64,
    sent: u64,
    acked: u64,
    acked_in_time: u64,
    refused: u64,
    /// Visitor sockets the server closed.
    closed: u64,
    delivered_in_time: u64,
    latency: Samples,
    lost: u64,
    duplicates: u64,
    out_of_order: u64,
}

impl Phase {
    fn delivered_per_second(&self) -> f64 {
        self.delivered_in_time as f64 / self.seconds
    }
}

/// Runs a phase on every visitor at once, drains, and checks what the agents got.
async fn run_phase(
    visitors: Vec<Visitor>,
    agents: &Agents,
    phase: char,
    length: Duration,
    clock: Clock,
    pace: impl Fn(usize) -> Pace,
) -> (Vec<Visitor>, Phase) {
    let start = Instant::now() + Duration::from_millis(200);
    let until = start + length;
    let tasks: Vec<_> = visitors
        .into_iter()
        .map(|visitor| {
            let pace = pace(visitor.index);
            tokio::spawn(visitor.run(phase, pace, start, until, clock))
        })
        .collect();
    let mut visitors = Vec::with_capacity(tasks.len());
    let mut sent = Sent::default();
    for task in tasks {
        let Ok((visitor, done)) = task.await else { continue };
        if done.closed == 0 {
            visitors.push(visitor);
        }
        sent.closed += done.closed;
        sent.sent += done.sent;
        sent.acked.extend(done.acked);
        sent.acked_in_time += done.acked_in_time;
        sent.refused += done.refused;
    }
    agents.wait_for(phase, sent.acked.len()).await;
    let check = agents.check(phase, &sent.acked, until);
    let result = Phase {
        seconds: length.as_secs_f64(),
        sent: sent.sent,
        acked: sent.acked.len() as u64,
        acked_in_time: sent.acked_in_time,
        refused: sent.refused,
        closed: sent.closed,
        delivered_in_time: check.delivered_in_time,
        latency: check.latency,
        lost: check.lost,
        duplicates: check.duplicates,
        out_of_order: check.out_of_order,
    };
    (visitors, result)
}

// ---------------------------------------------------------------------------------------------
// Agents

/// A visitor message as an agent received it.
struct Delivery {
    phase: char,
    number: i64,
    seq: i64,
    /// Whether its seq was above the last one this agent had of that chat.
    in_order: bool,
    received: Instant,
    latency: Duration,
}

/// The agents' consoles, running as tasks, and what they received.
struct Agents {
    log: Arc<AgentLog>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

#[derive(Default)]
struct AgentLog {
    deliveries: Mutex<Vec<Delivery>>,
    /// Agents that are online (they got their inbox).
    ready: AtomicUsize,
    reconnects: AtomicU64,
    errors: AtomicU64,
}

impl AgentLog {
    fn deliveries(&self) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
        self.deliveries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self, phase: char) -> usize {
        self.deliveries().iter().filter(|d| d.phase == phase).count()
    }
}

/// What the agents got of one phase, against what was acked.
struct Check {
    delivered_in_time: u64,
    latency: Samples,
    lost: u64,
    duplicates: u64,
    out_of_order: u64,
}

impl Agents {
    /// Connects every agent and waits until all are online.
    async fn connect(target: &Target, clock: Clock) -> Result<Agents> {
        let log = Arc::new(AgentLog::default());
        let url = format!("ws://{}/api/live?v=1", target.addr);
        let tasks = target
            .agents
            .iter()
            .map(|login| tokio::spawn(agent(url.clone(), login.clone(), log.clone(), clock)))
            .collect();
        let agents = Agents { log, tasks };
        let deadline = Instant::now() + SETUP_WAIT;
        while agents.log.ready.load(Ordering::Relaxed) < target.agents.len() {
            if Instant::now() > deadline {
                bail!("the agents did not come online");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(agents)
    }

    /// Waits until every visitor's first message reached an agent: every chat is followed.
    async fn wait_for_warm_up(&self, chats: usize) -> Result<()> {
        let deadline = Instant::now() + SETUP_WAIT;
        loop {
            let followed: HashSet<i64> =
                self.log.deliveries().iter().filter(|d| d.phase == 'w').map(|d| d.number).collect();
            if followed.len() >= chats {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("only {} of {chats} chats reached an agent", followed.len());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the agents received `expected` messages of `phase`, or nothing more arrives
    /// for a while (then some were lost).
    async fn wait_for(&self, phase: char, expected: usize) {
        let (mut last, mut since) = (0, Instant::now());
        let deadline = Instant::now() + DRAIN;
        loop {
            let count = self.log.count(phase);
            if count >= expected
                || Instant::now() > deadline
                || since.elapsed() > Duration::from_secs(5)
            {
                return;
            }
            if count != last {
                (last, since) = (count, Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn check(&self, phase: char, acked: &[(i64, i64)], until: Instant) -> Check {
        let deliveries = self.log.deliveries();
        let mut times: HashMap<(i64, i64), u32> = HashMap::new();
        let mut check = Check {
            delivered_in_time: 0,
            latency: Samples::default(),
            lost: 0,
            duplicates: 0,
            out_of_order: 0,
        };
        for d in deliveries.iter().filter(|d| d.phase == phase) {
            *times.entry((d.number, d.seq)).or_default() += 1;
            check.delivered_in_time += u64::from(d.received <= until);
            check.out_of_order += u64::from(!d.in_order);
            check.latency.0.push(d.latency);
        }
        check.duplicates = times.values().map(|n| u64::from(n - 1)).sum();
        check.lost = acked.iter().filter(|key| !times.contains_key(key)).count() as u64;
        check
    }

    /// Stops the consoles; returns their reconnections and the errors they were sent.
    fn stop(self) -> (u64, u64) {
        for task in &self.tasks {
            task.abort();
        }
        (self.log.reconnects.load(Ordering::Relaxed), self.log.errors.load(Ordering::Relaxed))
    }
}

/// One agent's console: goes online, follows every active chat it is given, records every
/// visitor message, and reconnects (resuming each chat after its last seq) when the server drops
/// it.
async fn agent(url: String, login: AgentLogin, log: Arc<AgentLog>, clock: Clock) {
    let cookie = format!("frontdesk_session={}", login.session);
    let mut last_seq: HashMap<i64, i64> = HashMap::new();
    let mut online = false;
    loop {
        let Ok(socket) = connect(&url, &[("cookie", cookie.as_str())]).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (mut sink, mut stream) = socket.split();
        let hello = [
            ClientMessage::SubscribeChats,
            ClientMessage::SetChatStatus { status: AgentStatus::Online },
        ];
        for message in &hello {
            if send_json(&mut sink, message).await.is_err() {
                break;
            }
        }
        let mut followed = HashSet::new();
        loop {
            match Frame::<ServerMessage>::from(stream.next().await) {
                Frame::Message(ServerMessage::ChatInbox { status, chats, .. }) => {
                    if status == AgentStatus::Online && !online {
                        online = true;
                        log.ready.fetch_add(1, Ordering::Relaxed);
                    }
                    let mine = chats
                        .iter()
                        .filter(|c| c.state == ChatState::Active && c.agent_id == Some(login.id));
                    for chat in mine {
                        if followed.insert(chat.number) {
                            let after_seq = last_seq.get(&chat.number).copied().unwrap_or(0);
                            let _ = send_json(
                                &mut sink,
                                &ClientMessage::SubscribeChat { number: chat.number, after_seq },
                            )
                            .await;
                        }
                    }
                }
                Frame::Message(ServerMessage::ChatMessage { number, message }) => {
                    let received = Instant::now();
                    let last = last_seq.entry(number).or_insert(0);
                    let in_order = message.seq > *last;
                    *last = (*last).max(message.seq);
                    if let Some(body) = Body::parse(&message.body) {
                        let latency = Duration::from_nanos(
                            clock.nanos(received).saturating_sub(body.sent_at),
                        );
                        log.deliveries().push(Delivery {
                            phase: body.phase,
                            number,
                            seq: message.seq,
                            in_order,
                            received,
                            latency,
                        });
                    }
                }
                Frame::Message(ServerMessage::Error { .. }) => {
                    log.errors.fetch_add(1, Ordering::Relaxed);
                }
                Frame::Message(_) | Frame::Skip => {}
                Frame::Closed => break,
            }
        }
        log.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// Sockets

/// Client sockets: small buffers (10,000 of them share this process), Nagle off.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0)
}

/// Opens a WebSocket to `url` with extra request headers.
async fn connect(url: &str, headers: &[(&'static str, &str)]) -> Result<Ws> {
    let mut request = url.into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse()?);
    }
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(client_config()), true)
            .await
            .with_context(|| format!("connecting to {url}"))?;
    Ok(socket)
}

async fn send_json<S>(sink: &mut S, message: &impl Serialize) -> Result<()>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    sink.send(Message::text(serde_json::to_string(message)?)).await?;
    Ok(())
}

/// A received frame, decoded.
enum Frame<T> {
    Message(T),
    /// Ping, pong, or something this client does not use.
    Skip,
    Closed,
}

impl<T: DeserializeOwned> From<Option<Result<Message, tokio_tungstenite::tungstenite::Error>>>
    for Frame<T>
{
    fn from(frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Self {
        match frame {
            Some(Ok(Message::Text(text))) => {
                serde_json::from_str(text.as_str()).map_or(Frame::Skip, Frame::Message)
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => Frame::Closed,
            Some(Ok(_)) => Frame::Skip,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The report

fn report(args: &Args, target: &Target, frontdesk: &Figures, baseline: &Figures) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "live chat on {}: {} visitors, {} agents; {} s per phase; window {}; fixed rate {} msg/s; {} idle connections",
        target.backend,
        args.visitors,
        args.agents,
        args.seconds,
        args.window,
        args.rate,
        if args.skip_idle { "no".to_owned() } else { args.idle.to_string() },
    );
    let _ = writeln!(out, "{:<46} {:>12} {:>12} {:>10}", "", "frontdesk", "baseline", "ratio");
    let mut row = |name: &str, f: f64, b: f64, decimals: usize| {
        let _ = writeln!(
            out,
            "{name:<46} {f:>12.decimals$} {b:>12.decimals$} {:>9.2}x",
            f / b.max(f64::MIN_POSITIVE)
        );
    };
    let (ft, bt) = (&frontdesk.throughput, &baseline.throughput);
    row(
        "throughput: stored+delivered msg/s",
        ft.delivered_per_second(),
        bt.delivered_per_second(),
        0,
    );
    row(
        "throughput: acked msg/s",
        ft.acked_in_time as f64 / ft.seconds,
        bt.acked_in_time as f64 / bt.seconds,
        0,
    );
    let (fl, bl) = (&frontdesk.latency, &baseline.latency);
    for (name, p) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        row(
            &format!("latency at {} msg/s, visitor to agent, {name} ms", args.rate),
            percentile(&fl.latency, p),
            percentile(&bl.latency, p),
            2,
        );
    }
    row("latency phase: delivered msg/s", fl.delivered_per_second(), bl.delivered_per_second(), 0);
    if let (Some(fi), Some(bi)) = (&frontdesk.idle, &baseline.idle) {
        row("idle memory per connection, KB", fi.per_connection_kb(), bi.per_connection_kb(), 1);
        row(
            "server RSS before idle connections, MB",
            fi.before_kb as f64 / 1024.0,
            bi.before_kb as f64 / 1024.0,
            1,
        );
        row(
            "server RSS with idle connections, MB",
            fi.after_kb as f64 / 1024.0,
            bi.after_kb as f64 / 1024.0,
            1,
        );
    }
    let _ = writeln!(
        out,
        "integrity (must be 0): lost / duplicates / out of order; then sent / acked / refused / visitor sockets closed"
    );
    for (name, f, b) in [("throughput", ft, bt), ("fixed rate", fl, bl)] {
        let _ =
            writeln!(out, "  {name:<12} frontdesk {}   baseline {}", integrity(f), integrity(b));
    }
    let _ = writeln!(
        out,
        "frontdesk: {} agent reconnections, {} errors sent to agents, {} warnings and {} errors logged",
        frontdesk.reconnects, frontdesk.agent_errors, frontdesk.warnings, frontdesk.errors
    );
    let _ = writeln!(
        out,
        "baseline:  {} agent reconnections, {} errors sent to agents",
        baseline.reconnects, baseline.agent_errors
    );
    for line in &frontdesk.log_sample {
        let _ = writeln!(out, "  log: {line}");
    }
    out
}

fn integrity(phase: &Phase) -> String {
    format!(
        "{} / {} / {}; {} / {} / {} / {}",
        phase.lost,
        phase.duplicates,
        phase.out_of_order,
        phase.sent,
        phase.acked,
        phase.refused,
        phase.closed
    )
}

fn percentile(samples: &Samples, p: f64) -> f64 {
    if samples.0.is_empty() { f64::NAN } else { samples.percentile(p) }
}

// ---------------------------------------------------------------------------------------------
// The baseline relay

/// The baseline: a WebSocket relay with nothing but what the protocol needs. Agents connect on
/// `/api/live`, visitors on any other path; a visitor's first message opens chat N, paired with
/// agent N mod agents; every message is numbered, forwarded to that agent, then acked. No
/// storage, no authentication, the same socket buffer sizes as frontdesk's widget socket.
mod baseline {
    use super::send_json;
    use anyhow::Result;
    use frontdesk_core::chats::{
        ChatMessage, ChatState, Sender, VisitorChat, VisitorEvent, VisitorRequest, WidgetWelcome,
    };
    use frontdesk_core::live::{ClientMessage, ServerMessage};
    use frontdesk_core::platform::time::Timestamp;
    use futures_util::{SinkExt, StreamExt};
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Arc, Mutex};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

    /// Messages queued for one agent before visitors wait.
    const AGENT_QUEUE: usize = 1024;

    #[derive(Default)]
    struct Relay {
        agents: Mutex<Vec<mpsc::Sender<String>>>,
        chats: AtomicI64,
    }

    /// Serves until killed.
    pub(super) async fn serve() -> Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        eprintln!("baseline relay listening on http://{}", listener.local_addr()?);
        let relay = Arc::new(Relay::default());
        loop {
            let (tcp, _) = listener.accept().await?;
            let relay = relay.clone();
            tokio::spawn(async move {
                let _ = relay.connection(tcp).await;
            });
        }
    }

    impl Relay {
        async fn connection(&self, tcp: TcpStream) -> Result<()> {
            let mut path = String::new();
            let config = WebSocketConfig::default()
                .read_buffer_size(4 * 1024)
                .write_buffer_size(0)
                .max_write_buffer_size(16 * 1024)
                .max_message_size(Some(16 * 1024))
                .max_frame_size(Some(16 * 1024));
            #[expect(
                clippy::result_large_err,
                reason = "the shape tungstenite's handshake callback must have"
            )]
            let remember_path =
                |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
                    path = request.uri().path().to_owned();
                    Ok(response)
                };
            let socket =
                tokio_tungstenite::accept_hdr_async_with_config(tcp, remember_path, Some(config))
                    .await?;
            if path == "/api/live" { self.agent(socket).await } else { self.visitor(socket).await }
        }

        /// An agent: answers its hello with an empty inbox, then writes what visitors send it.
        async fn agent(&self, socket: WebSocketStream<TcpStream>) -> Result<()> {
            let (mut sink, mut stream) = socket.split();
            let (to_agent, mut queued) = mpsc::channel::<String>(AGENT_QUEUE);
            self.agents.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(to_agent);
            loop {
                tokio::select! {
                    frame = stream.next() => match frame {
                        Some(Ok(Message::Text(text))) => if let Ok(ClientMessage::SubscribeChats | ClientMessage::SetChatStatus { .. }) = serde_json::from_str::<ClientMessage>(text.as_str()) {
                            let inbox = ServerMessage::ChatInbox { status: frontdesk_core::chats::AgentStatus::Online, chats: Vec::new(), more: false };
                            send_json(&mut sink, &inbox).await?;
                        },
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return Ok(()),
                    },
                    Some(text) = queued.recv() => sink.send(Message::text(text)).await?,
                }
            }
        }

        /// A visitor: welcome on resume; on each message, number it, forward it, ack it.
        async fn visitor(&self, socket: WebSocketStream<TcpStream>) -> Result<()> {
            let (mut sink, mut stream) = socket.split();
            let mut chat: Option<(i64, mpsc::Sender<String>)> = None;
            let mut seq = 0;
            while let Some(Ok(frame)) = stream.next().await {
                let Message::Text(text) = frame else { continue };
                match serde_json::from_str::<VisitorRequest>(text.as_str())? {
                    VisitorRequest::Resume { .. } => send_json(&mut sink, &welcome()).await?,
                    VisitorRequest::Send { client_id, body, .. } => {
                        if chat.is_none() {
                            let number = self.chats.fetch_add(1, Ordering::Relaxed) + 1;
                            let agents = self
                                .agents
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .clone();
                            let agent = agents
                                .get(number as usize % agents.len().max(1))
                                .cloned()
                                .ok_or_else(|| anyhow::anyhow!("no agent"))?;
                            chat = Some((number, agent));
                            let view = VisitorChat {
                                number,
                                state: ChatState::Active,
                                agent: Some("Agent".into()),
                                agent_status: None,
                                queue_position: None,
                                agent_read_seq: 0,
                            };
                            send_json(&mut sink, &VisitorEvent::Chat { chat: view }).await?;
                        }
                        let Some((number, agent)) = &chat else { continue };
                        seq += 1;
                        let message = ChatMessage {
                            seq,
                            client_id: client_id.clone(),
                            sender: Sender::Visitor,
                            author: "Website visitor".into(),
                            body,
                            attachment: None,
                            created_at: Timestamp::now(),
                        };
                        agent
                            .send(serde_json::to_string(&ServerMessage::ChatMessage {
                                number: *number,
                                message,
                            })?)
                            .await?;
                        send_json(
                            &mut sink,
                            &VisitorEvent::Ack { client_id, seq, number: *number },
                        )
                        .await?;
                    }
                    VisitorRequest::Ping => send_json(&mut sink, &VisitorEvent::Pong).await?,
                    _ => {}
                }
            }
            Ok(())
        }
    }

    fn welcome() -> VisitorEvent {
        VisitorEvent::Welcome {
            welcome: WidgetWelcome {
                protocol: 1,
                greeting: "Hi!".into(),
                ask_email: false,
                known_name: None,
                agents_online: true,
                chat: None,
            },
        }
    }
}

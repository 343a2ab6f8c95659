//! The test harness: the real frontdesk on port 0 with its own database, and clients to drive it.
//!
//! - [`spawn_app`] starts the application in-process with a fresh data directory and a fresh
//!   database: a SQLite file by default, or a new PostgreSQL database on the server named by
//!   `FRONTDESK_TEST_DATABASE_URL` (so the same tests run on both backends).
//! - [`ApiClient`] speaks HTTP to it with its own cookie jar, like one browser profile would.
//! - [`browser`] drives headless Chromium through ChromeDriver; [`live`] opens the agents'
//!   WebSocket.
//! - [`frontdesk_binary`] finds the built `frontdesk` executable for command-line tests.

pub mod bench;
pub mod browser;
pub mod database;
pub mod live;
pub mod mail;

use frontdesk_core::AppContext;
use frontdesk_core::agents::{Agent, NewAgent, Role};
use frontdesk_core::search::Found;
use frontdesk_server::Application;
use frontdesk_server::config::{Config, GlobalArgs, ServeArgs};
use reqwest::cookie::{CookieStore, Jar};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

pub use database::TestDatabase;

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A ticket's stored SLA due time and whether it waits for re-evaluation.
const SLA_STATE: &str = "SELECT sla_due_at, (SELECT COUNT(*) FROM sla_dirty WHERE ticket_id = $1) FROM tickets WHERE id = $1";

/// A running frontdesk.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The application's services, for arranging data directly.
    pub ctx: AppContext,
    /// The database it uses.
    pub database: TestDatabase,
    /// Its data directory (deleted when the test ends).
    pub data_dir: TempDir,
    /// Stops the server, and the server's task.
    server: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>)>,
}

/// Starts frontdesk on a free port with a fresh data directory and database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with server options changed by `configure` first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("create a temporary data directory");
    let database = TestDatabase::create().await;
    let mut serve = ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        site_dir: Some(site_dir()),
        ..ServeArgs::default()
    };
    configure(&mut serve);
    start(data_dir, database, serve).await
}

/// Like [`spawn_app`], with `config` as the config file (TOML).
pub async fn spawn_app_with_config(config: &str) -> TestApp {
    let data_dir = tempfile::tempdir().expect("create a temporary data directory");
    let database = TestDatabase::create().await;
    let serve = ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        site_dir: Some(site_dir()),
        ..ServeArgs::default()
    };
    let file = data_dir.path().join("frontdesk.toml");
    std::fs::write(&file, config).expect("write the config file");
    start_with(data_dir, database, serve, Some(file)).await
}

async fn start(data_dir: TempDir, database: TestDatabase, serve: ServeArgs) -> TestApp {
    start_with(data_dir, database, serve, None).await
}

async fn start_with(
    data_dir: TempDir,
    database: TestDatabase,
    serve: ServeArgs,
    config: Option<PathBuf>,
) -> TestApp {
    let global = GlobalArgs {
        config,
        data_dir: Some(data_dir.path().to_path_buf()),
        database_url: database.url.clone(),
        ..GlobalArgs::default()
    };
    let config = Config::resolve(&global, &serve).expect("a valid test configuration");
    let app = Application::build(config).await.expect("frontdesk starts");
    let port = app.local_addr().expect("a bound port").port();
    let ctx = app.context().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        stopped.await.ok();
    }));
    TestApp {
        base_url: format!("http://127.0.0.1:{port}"),
        ctx,
        database,
        data_dir,
        server: Some((stop, running)),
    }
}

/// A benchmark's database: PostgreSQL at `url`, or a SQLite file in `data_dir` (created),
/// migrated, with the services around it; with a search index in `search_dir` when given.
pub async fn bench_context(
    url: Option<&str>,
    data_dir: &std::path::Path,
    search_dir: Option<&std::path::Path>,
) -> anyhow::Result<frontdesk_core::app::Built> {
    std::fs::create_dir_all(data_dir)?;
    if let Some(url) = url.filter(|u| u.starts_with("postgres")) {
        bench::create_database(url).await?;
    }
    let db =
        frontdesk_core::platform::db::DatabaseTarget::from_config(url, data_dir)?.connect().await?;
    db.migrate().await?;
    let options = frontdesk_core::app::Options {
        search_dir: search_dir.map(std::path::Path::to_path_buf),
        ..frontdesk_core::app::Options::default()
    };
    Ok(frontdesk_core::app::build(db, options).await?)
}

/// A database (PostgreSQL at `url`, or SQLite in `data_dir`) with the admin `ada@example.com`
/// (password [`PASSWORD`]) and a widget site that allows `origin`; returns the site's public
/// token. The context is shut down and closed again, for a server process to take over.
pub async fn seed_site(url: Option<&str>, data_dir: &std::path::Path, origin: &str) -> String {
    let ctx = bench_context(url, data_dir, None).await.expect("a database").ctx;
    let admin = frontdesk_core::agents::create_admin_from_cli(
        &ctx,
        NewAgent::parse("ada@example.com", "Ada", Role::Admin, PASSWORD).expect("valid"),
    )
    .await
    .expect("an admin");
    let settings =
        frontdesk_core::chats::sites::SiteSettings::parse("Shop", origin, false, "", true)
            .expect("valid site settings");
    let site = frontdesk_core::chats::sites::create(&ctx, &admin, settings).await.expect("a site");
    ctx.tasks().shut_down(std::time::Duration::from_secs(5)).await;
    ctx.db().close().await;
    site.public_token
}

/// The built web assets: `FRONTDESK_SITE_DIR` (set by `cargo xtask test`) or `target/site`.
pub fn site_dir() -> PathBuf {
    std::env::var_os("FRONTDESK_SITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/site"))
}

/// The built `frontdesk` binary: `FRONTDESK_BIN` (set by `cargo xtask test`) or
/// `target/debug/frontdesk`.
pub fn frontdesk_binary() -> PathBuf {
    let path = std::env::var_os("FRONTDESK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/frontdesk"));
    assert!(path.exists(), "{} is missing: run the tests with `cargo xtask test`", path.display());
    path
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl TestApp {
    /// Stops frontdesk (gracefully, as on SIGTERM), runs `while_stopped` on a connection of its
    /// own to the same database, and starts frontdesk again on the same data.
    pub async fn restart(
        mut self,
        while_stopped: impl AsyncFnOnce(&frontdesk_core::platform::db::Db),
    ) -> TestApp {
        if let Some((stop, running)) = self.server.take() {
            stop.send(()).ok();
            running.await.expect("the server task").expect("a clean shutdown");
        }
        let target = frontdesk_core::platform::db::DatabaseTarget::from_config(
            self.database.url.as_deref(),
            self.data_dir.path(),
        )
        .expect("the same database");
        let db = target.connect().await.expect("connect while stopped");
        while_stopped(&db).await;
        db.close().await;
        let serve = ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            site_dir: Some(site_dir()),
            ..ServeArgs::default()
        };
        // The old context holds the search index's writer lock: let it go first.
        let TestApp { ctx, data_dir, database, .. } = self;
        drop(ctx);
        start(data_dir, database, serve).await
    }

    /// Creates an admin directly (as `frontdesk admin create` does), completing first-run setup.
    pub async fn create_admin(&self, email: &str, name: &str) -> Agent {
        let new = NewAgent::parse(email, name, Role::Admin, PASSWORD).expect("valid admin");
        frontdesk_core::agents::create_admin_from_cli(&self.ctx, new).await.expect("admin created")
    }

    /// Creates a widget site, as `by` (an admin), allowing `origins` (one per line).
    pub async fn create_widget_site(
        &self,
        by: &Agent,
        origins: &str,
        enforce_identity: bool,
    ) -> frontdesk_core::chats::WidgetSite {
        let settings = frontdesk_core::chats::sites::SiteSettings::parse(
            "Shop",
            origins,
            enforce_identity,
            "Hi! How can we help?",
            true,
        )
        .expect("valid site settings");
        frontdesk_core::chats::sites::create(&self.ctx, by, settings).await.expect("site created")
    }

    /// Creates an agent with `role`, as `by` (an admin).
    pub async fn create_agent(&self, by: &Agent, email: &str, name: &str, role: Role) -> Agent {
        let new = NewAgent::parse(email, name, role, PASSWORD).expect("valid agent");
        frontdesk_core::agents::create(&self.ctx, by, new).await.expect("agent created")
    }

    /// Creates a ticket from `customer_email`, as `by`, through the core service.
    pub async fn create_ticket(
        &self,
        by: &Agent,
        customer_email: &str,
        subject: &str,
    ) -> frontdesk_core::tickets::TicketDetail {
        use frontdesk_core::agents::{Email, PersonName};
        use frontdesk_core::tickets::{Channel, MessageBody, Priority, Subject};
        let new = frontdesk_core::tickets::NewTicket {
            requester_email: Email::parse(customer_email).expect("a valid email"),
            requester_name: PersonName::parse("Customer").expect("a valid name"),
            subject: Subject::parse(subject).expect("a valid subject"),
            body: MessageBody::parse("Please help.").expect("a valid body"),
            priority: Priority::Normal,
            channel: Channel::Api,
            tags: Vec::new(),
        };
        frontdesk_core::tickets::create(&self.ctx, by, new).await.expect("ticket created")
    }

    /// Adds a public reply to ticket `number` as `by` and solves the ticket with it.
    pub async fn solve_with_reply(&self, by: &Agent, number: i64, reply: &str) {
        use frontdesk_core::tickets::{MessageBody, MessageKind, Status};
        let body = MessageBody::parse(reply).expect("a valid body");
        let detail = frontdesk_core::tickets::add_message(
            &self.ctx,
            by,
            number,
            MessageKind::Reply,
            body,
            None,
        )
        .await
        .expect("reply");
        let changes = frontdesk_core::tickets::TicketChanges {
            version: detail.ticket.version,
            status: Some(Status::Solved),
            resolution_message_id: detail.messages.last().map(|m| m.id),
            ..Default::default()
        };
        frontdesk_core::tickets::update(&self.ctx, by, number, changes).await.expect("solved");
    }

    /// Searches for `q` as an agent until `ok` holds or `within` has passed; returns the last
    /// result and how long it took.
    pub async fn agent_search_until(
        &self,
        q: &str,
        within: Duration,
        ok: impl Fn(&Found) -> bool,
    ) -> (Found, Duration) {
        let admin = self.any_admin().await;
        let query = frontdesk_core::search::SearchQuery { q: q.into(), ..Default::default() };
        let started = std::time::Instant::now();
        loop {
            let found = frontdesk_core::search::search_as_agent(&self.ctx, &admin, &query)
                .await
                .expect("search");
            if ok(&found) || started.elapsed() > within {
                return (found, started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs one SQL statement on the app's database (for arranging states the UI cannot reach,
    /// like an expired link).
    pub async fn execute(&self, sql: &str) {
        use frontdesk_core::platform::db::Db;
        match self.ctx.db() {
            Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The first column of every row of `sql`, as integers (for checking states no page shows).
    pub async fn query_i64s(&self, sql: &str) -> Vec<i64> {
        use frontdesk_core::platform::db::Db;
        match self.ctx.db() {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Waits (up to 10 s) until the SLA worker has evaluated the ticket's whole history and its
    /// stored due time satisfies `ok`; returns that due time.
    pub async fn sla_due_becomes(&self, id: i64, ok: impl Fn(Option<i64>) -> bool) -> Option<i64> {
        use frontdesk_core::platform::db::Db;
        let mut due = None;
        for _ in 0..100 {
            let (read, dirty): (Option<i64>, i64) = match self.ctx.db() {
                Db::Sqlite(pool) => sqlx::query_as(SLA_STATE).bind(id).fetch_one(pool).await,
                Db::Postgres(pool) => sqlx::query_as(SLA_STATE).bind(id).fetch_one(pool).await,
            }
            .expect("SLA state");
            due = read;
            if dirty == 0 && ok(due) {
                return due;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SLA state of ticket {id} did not settle; last due time {due:?}");
    }

    /// Moves a ticket `hours` into the past (its times, events and pending SLA alarms), as if
    /// that much time had passed. Call it once the ticket's SLA state has settled; the alarms move
    /// last, so the SLA worker sees a consistent ticket when they fall due.
    pub async fn age_ticket(&self, id: i64, hours: i64) {
        self.age_ticket_by_minutes(id, hours * 60).await;
    }

    /// Moves a ticket's history (and its SLA alarms) `minutes` into the past.
    /// In one transaction, so the SLA worker never sees the history moved and its alarms not yet.
    pub async fn age_ticket_by_minutes(&self, id: i64, minutes: i64) {
        use frontdesk_core::platform::db::Db;
        let ms = minutes * 60_000;
        let statements = [
            format!(
                "UPDATE tickets SET created_at = created_at - {ms}, updated_at = updated_at - {ms} WHERE id = {id}"
            ),
            format!(
                "UPDATE ticket_events SET created_at = created_at - {ms} WHERE ticket_id = {id}"
            ),
            format!(
                "UPDATE sla_alarms SET due_at = due_at - {ms}, started_at = started_at - {ms} WHERE ticket_id = {id}"
            ),
        ];
        macro_rules! in_one_transaction {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await.expect("a transaction");
                for sql in &statements {
                    sqlx::query(sql)
                        .execute(&mut *tx)
                        .await
                        .unwrap_or_else(|e| panic!("{sql}: {e}"));
                }
                tx.commit().await.expect("aged");
            }};
        }
        match self.ctx.db() {
            Db::Sqlite(pool) => in_one_transaction!(pool),
            Db::Postgres(pool) => in_one_transaction!(pool),
        }
    }

    /// The sign-in links in the outbox for `email`, newest first.
    pub async fn portal_links(&self, email: &str) -> Vec<String> {
        let admin =
            frontdesk_core::agents::list(&self.ctx, &self.any_admin().await).await.expect("agents");
        let admin = admin.into_iter().find(|a| a.is_admin()).expect("an admin");
        frontdesk_core::mail::outbox(&self.ctx, &admin)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|e| e.to_email == email)
            .filter_map(|e| {
                e.body.lines().find(|l| l.contains("/portal/sign-in/")).map(|l| l.trim().to_owned())
            })
            .collect()
    }

    /// Some admin (the first).
    pub async fn any_admin(&self) -> Agent {
        let id: i64 = match self.ctx.db() {
            frontdesk_core::platform::db::Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT id FROM agents WHERE role = 'admin' LIMIT 1")
                    .fetch_one(pool)
                    .await
            }
            frontdesk_core::platform::db::Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT id FROM agents WHERE role = 'admin' LIMIT 1")
                    .fetch_one(pool)
                    .await
            }
        }
        .expect("an admin exists");
        frontdesk_core::agents::find(self.ctx.db(), id).await.expect("query").expect("admin")
    }

    /// A new HTTP client with an empty cookie jar.
    pub fn client(&self) -> ApiClient {
        ApiClient::new(&self.base_url)
    }

    /// Makes the database unreachable for the running app: SQLite's file disappears; the
    /// PostgreSQL database is dropped with its connections.
    pub async fn make_database_unreachable(&self) {
        match &self.database.url {
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let file = self.data_dir.path().join(format!(
                        "{}{suffix}",
                        frontdesk_core::platform::db::SQLITE_FILE_NAME
                    ));
                    std::fs::remove_file(file).ok();
                }
            }
            Some(_) => self.database.drop_now().await,
        }
    }
}

/// An HTTP client for one visitor, with its own cookies. Does not follow redirects.
pub struct ApiClient {
    /// The underlying client.
    pub http: reqwest::Client,
    /// The app's base URL.
    pub base_url: String,
    jar: Arc<Jar>,
}

impl ApiClient {
    /// A client of the app at `base_url` (`http://host:port`).
    pub fn new(base_url: &str) -> Self {
        Self::from_address(base_url, None)
    }

    /// A client whose requests come from `local` (another loopback address, such as 127.0.0.2,
    /// stands for another machine).
    pub fn from_address(base_url: &str, local: Option<std::net::IpAddr>) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .local_address(local)
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // A hung request fails its test with a message instead of stalling the whole run.
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        ApiClient { http, base_url: base_url.to_owned(), jar }
    }

    /// GETs a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base_url)).send().await.expect("GET answered")
    }

    /// A POST to `path` to finish and send (raw bodies, own headers).
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base_url))
    }

    /// Calls a server function with form-encoded arguments, as a page's JavaScript would.
    pub async fn call(&self, function: &str, args: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/api/{function}", self.base_url))
            .header("accept", "application/json")
            .form(args)
            .send()
            .await
            .expect("server function answered")
    }

    /// Calls a server function carrying only the given session cookie (no jar), as a replayed
    /// or stolen cookie would arrive.
    pub async fn call_with_session(&self, session: &str, function: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/{function}", self.base_url))
            .header("accept", "application/json")
            .header("cookie", format!("frontdesk_session={session}"))
            .send()
            .await
            .expect("server function answered")
    }

    /// Starts or resumes a widget visitor: `POST /api/widget/visitor` with a JSON body.
    pub async fn start_visitor(&self, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/widget/visitor", self.base_url))
            .json(&body)
            .send()
            .await
            .expect("visitor endpoint answered")
    }

    /// A new anonymous visitor's token on the site `site`.
    pub async fn new_visitor(&self, site: &str) -> String {
        let answer = self.start_visitor(serde_json::json!({ "site": site })).await;
        assert_eq!(answer.status(), 200, "a visitor starts");
        let body: serde_json::Value = answer.json().await.expect("JSON");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Signs in.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("sign_in", &[("email", email), ("password", password)]).await
    }

    /// The session cookie's value, if the jar has one.
    pub fn session_cookie(&self) -> Option<String> {
        let url = self.base_url.parse().expect("a valid base URL");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix("frontdesk_session=").map(str::to_owned))
    }
}

/// The message a server function's "invalid fields" answer gives for `field`, if any.
pub fn field_error(answer: &serde_json::Value, field: &str) -> Option<String> {
    answer["Invalid"].as_array()?.iter().find(|e| e["field"] == field)?["message"]
        .as_str()
        .map(str::to_owned)
}

/// The real `frontdesk serve` as a child process on port 0, for tests that signal or kill it.
pub struct ServerProcess {
    /// The child.
    pub child: std::process::Child,
    /// `127.0.0.1:PORT`, read from its "listening on" log line.
    pub address: String,
    /// The rest of its log, line by line.
    pub log: std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
}

impl ServerProcess {
    /// Starts `frontdesk serve` on `data_dir` (and `database_url`, else its SQLite file) and
    /// waits until it listens.
    pub fn start(data_dir: &std::path::Path, database_url: Option<&str>) -> ServerProcess {
        Self::start_with(data_dir, database_url, &[], &[])
    }

    /// Like [`Self::start`], with more arguments for `frontdesk` (before `serve`: `--config`)
    /// and environment variables (`RUST_LOG`).
    pub fn start_with(
        data_dir: &std::path::Path,
        database_url: Option<&str>,
        global: &[&str],
        env: &[(&str, &str)],
    ) -> ServerProcess {
        use std::io::BufRead;
        let mut command = std::process::Command::new(frontdesk_binary());
        command
            .args(global)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data_dir.to_str().expect("utf-8"),
            ])
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped());
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        let mut child = command.spawn().expect("frontdesk starts");
        let mut log = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let address = log
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("listening on http://")
                    .nth(1)
                    .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
            })
            .expect("a 'listening on' log line");
        ServerProcess { child, address, log }
    }

    /// The address to reach it at: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Sends `signal` (`TERM`, `KILL`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
    }
}

impl Drop for ServerProcess {
    /// A test that fails midway must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The subcommands. Each returns an error that `run` prints as one line, with a non-zero exit.

use anyhow::{Context, bail};
use frontdesk_core::agents::{NewAgent, Role};
use frontdesk_core::app::{self, Options};
use frontdesk_core::{AppContext, agents};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use crate::config::{
    AdminCommand, Cli, Command, Config, KbCommand, MailCommand, SearchCommand, SeedArgs, ServeArgs,
};
use crate::{Application, telemetry};

/// The exit code an MTA reads as "try again later" (`EX_TEMPFAIL` of sysexits.h).
pub(crate) const EX_TEMPFAIL: u8 = 75;
/// The exit code an MTA reads as "no such user" (`EX_NOUSER`): the mailbox does not exist.
const EX_NOUSER: u8 = 67;

/// Runs the command line and turns the outcome into an exit code: 0 on success, 2 for a
/// configuration problem, 1 for anything else (`mail receive` speaks the MTA's codes instead).
/// Errors print as `frontdesk: error: ...`.
pub fn run(cli: Cli) -> ExitCode {
    if let Some(Command::Mail { command: MailCommand::Receive { mailbox } }) = &cli.command {
        return receive_mail(&cli, mailbox);
    }
    let serve_defaults = ServeArgs::default();
    let serve = match &cli.command {
        Some(Command::Serve(args)) => args,
        _ => &serve_defaults,
    };
    let config = match Config::resolve(&cli.global, serve) {
        Ok(config) => config,
        Err(e) => return fail(&anyhow::Error::new(e), 2),
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime"), 1),
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            None | Some(Command::Serve(_)) => serve_until_signalled(config).await,
            Some(Command::Migrate) => migrate(config).await,
            Some(Command::Seed(args)) => seed(config, &args).await,
            Some(Command::Admin { command: AdminCommand::Create { email, name } }) => {
                create_admin(config, &email, &name).await
            }
            Some(Command::Kb { command: KbCommand::Import { dir } }) => {
                kb_import(config, &dir).await
            }
            Some(Command::Search { command: SearchCommand::Reindex }) => {
                search_reindex(config).await
            }
            Some(Command::Mail { .. }) => unreachable!("mail receive runs before the runtime"),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, 1),
    }
}

fn fail(error: &anyhow::Error, code: u8) -> ExitCode {
    // `{:#}` puts the whole chain of causes on one line.
    eprintln!("frontdesk: error: {error:#}");
    ExitCode::from(code)
}

async fn serve_until_signalled(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    app.run_until(shutdown_signal()).await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = config.database.connect().await?;
    db.migrate().await?;
    println!("The {} database is up to date.", db.backend_name());
    Ok(())
}

async fn create_admin(config: Config, email: &str, name: &str) -> anyhow::Result<()> {
    let password = read_password()?;
    let new = NewAgent::parse(email, name, Role::Admin, &password).map_err(|errors| {
        let problems: Vec<_> =
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        anyhow::anyhow!("{}", problems.join("; "))
    })?;
    let ctx = command_context(&config).await?;
    let admin = agents::create_admin_from_cli(&ctx, new).await?;
    println!("Created admin {} <{}>.", admin.name, admin.email);
    Ok(())
}

async fn search_reindex(config: Config) -> anyhow::Result<()> {
    let dir = config.search_dir();
    let db = config.database.connect().await?;
    db.migrate().await?;
    let options = Options { search_dir: Some(dir.clone()), ..Options::default() };
    let ctx = app::build(db, options).await.map(|built| built.ctx).with_context(|| {
        format!(
            "cannot open the search index in {} (is frontdesk running? stop it first)",
            dir.display()
        )
    })?;
    let started = std::time::Instant::now();
    let bar = Progress::new("documents", started);
    let written =
        frontdesk_core::search::rebuild(&ctx, &|done, total| bar.show(done, total)).await?;
    eprintln!();
    println!("Indexed {written} documents in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

async fn kb_import(config: Config, dir: &std::path::Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let ctx = command_context(&config).await?;
    let report = frontdesk_core::kb::import_dir(&ctx, dir).await?;
    for (file, why) in &report.failed {
        eprintln!("{file}: {why}");
    }
    println!(
        "Imported {}: {} created, {} updated, {} unchanged, {} failed.",
        dir.display(),
        report.created,
        report.updated,
        report.unchanged,
        report.failed.len()
    );
    if !report.failed.is_empty() {
        bail!("{} files could not be imported", report.failed.len());
    }
    Ok(())
}

async fn seed(config: Config, args: &SeedArgs) -> anyhow::Result<()> {
    use frontdesk_core::seed::{self, DEMO_PASSWORD, SeedPlan};
    let ctx = command_context(&config).await?;
    let plan = SeedPlan {
        agents: args.agents,
        teams: args.teams,
        organizations: args.organizations,
        customers: args.customers,
        tickets: args.tickets,
        seed: args.seed,
        words: args.words,
    };
    let started = std::time::Instant::now();
    let bar = Progress::new("tickets", started);
    let report = seed::seed(&ctx, plan, |done, total| bar.show(done, total)).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!();
    println!(
        "Seeded {} agents (password: {DEMO_PASSWORD}), {} customers and {} tickets in {seconds:.1} s.",
        report.agents, report.customers, report.tickets
    );
    Ok(())
}

/// A progress bar on standard error: redrawn in place on a terminal; on a pipe, a line each
/// tenth of the way.
struct Progress {
    unit: &'static str,
    started: std::time::Instant,
    terminal: bool,
    /// The last tenth printed on a pipe.
    tenth: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new(unit: &'static str, started: std::time::Instant) -> Self {
        Self {
            unit,
            started,
            terminal: std::io::stderr().is_terminal(),
            tenth: std::sync::atomic::AtomicU64::new(u64::MAX),
        }
    }

    fn show(&self, done: u64, total: u64) {
        let unit = self.unit;
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let fraction = if total == 0 { 1.0 } else { done as f64 / total as f64 };
        if self.terminal {
            let filled = ((fraction * 30.0).round() as usize).min(30);
            eprint!(
                "\r[{}{}] {:>3.0}% {done}/{total} {unit}, {rate:.0}/s ",
                "#".repeat(filled),
                " ".repeat(30 - filled),
                fraction * 100.0
            );
            std::io::stderr().flush().ok();
        } else if self.tenth.swap((fraction * 10.0) as u64, std::sync::atomic::Ordering::Relaxed)
            != (fraction * 10.0) as u64
        {
            eprintln!("{:>3.0}% {done}/{total} {unit}, {rate:.0}/s", fraction * 100.0);
        }
    }
}

/// One line from standard input, without its line ending. Prompts only on a terminal.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!(
            "Password (at least {} characters): ",
            frontdesk_core::agents::NewPassword::MIN_CHARS
        );
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!(
            "no password on standard input: pipe one in, e.g. `echo \"$PASSWORD\" | frontdesk admin create ...`"
        );
    }
    Ok(password)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing open requests");
}

/// The context a one-off command works in: the database, migrated, and every domain's state
/// except the search index.
async fn command_context(config: &Config) -> anyhow::Result<AppContext> {
    let db = config.database.clone().connect().await?;
    db.migrate().await?;
    let options = Options { mail: config.mail.clone(), ..Options::default() };
    Ok(app::build(db, options).await?.ctx)
}

/// `frontdesk mail receive`: one message from standard input, with the exit codes an MTA
/// understands. Every failure but an unknown mailbox is temporary: the MTA keeps the message.
fn receive_mail(cli: &Cli, mailbox: &str) -> ExitCode {
    let config = match Config::resolve(&cli.global, &ServeArgs::default()) {
        Ok(config) => config,
        Err(e) => return fail(&anyhow::Error::new(e), EX_TEMPFAIL),
    };
    telemetry::init(config.log_format);
    // A mistyped data directory must not become a new, empty database that has no mailboxes
    // (every message would bounce): the database must exist already.
    if let frontdesk_core::platform::db::DatabaseTarget::Sqlite(options) = &config.database
        && !options.get_filename().exists()
    {
        let missing = anyhow::anyhow!(
            "no database at {} (check --data-dir or --database-url)",
            options.get_filename().display()
        );
        return fail(&missing, EX_TEMPFAIL);
    }
    let mut raw = Vec::new();
    let limit = (config.mail.max_message_bytes as u64).saturating_add(1);
    if let Err(e) = std::io::stdin().take(limit).read_to_end(&mut raw) {
        return fail(&anyhow::Error::new(e).context("cannot read the message"), EX_TEMPFAIL);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::new(e), EX_TEMPFAIL),
    };
    let outcome = runtime.block_on(async {
        let ctx = command_context(&config).await?;
        let outcome = frontdesk_core::mail::receive(&ctx, mailbox, raw).await;
        ctx.tasks().shut_down(std::time::Duration::from_secs(5)).await;
        Ok::<_, anyhow::Error>(outcome)
    });
    match outcome {
        Ok(Ok(outcome)) => {
            println!("{}", outcome.describe());
            ExitCode::SUCCESS
        }
        Ok(Err(frontdesk_core::error::Error::NotFound("mailbox"))) => {
            fail(&anyhow::anyhow!("no mailbox is named '{mailbox}'"), EX_NOUSER)
        }
        Ok(Err(e)) => {
            e.log();
            fail(
                &anyhow::anyhow!("the message could not be stored now; try again later"),
                EX_TEMPFAIL,
            )
        }
        Err(e) => fail(&e, EX_TEMPFAIL),
    }
}

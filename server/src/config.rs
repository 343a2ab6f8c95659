//! Configuration: command-line flags, environment variables and an optional TOML file, in that
//! order of precedence, resolved into one validated [`Config`].

use clap::{Args, Parser, Subcommand, ValueEnum};
use frontdesk_core::platform::db::DatabaseTarget;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The default address: local only, so a fresh install is not exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default data directory, relative to where frontdesk starts.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// frontdesk: a self-hosted customer-service helpdesk with live chat.
///
/// One binary with an embedded database. Every option can also be set by the environment
/// variable shown, or in a TOML config file (`--config`) with the option's name in snake_case
/// (`listen`, `data_dir`, `database_url`, `secure_cookies`, `public_url`, `site_dir`,
/// `log_format`, `chat_messages_per_minute`, `chat_visitors_per_ip_per_minute`,
/// `chat_offline_grace_secs`).
#[derive(Debug, Parser)]
#[command(name = "frontdesk", version, about, long_about)]
pub struct Cli {
    /// Options every command understands.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command understands.
#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// TOML file with settings (flags and environment variables win over it).
    #[arg(long, env = "FRONTDESK_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and other local data [default: ./data].
    #[arg(long, env = "FRONTDESK_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user:password@host/db) for larger installs
    /// [default: SQLite in the data directory].
    #[arg(long, env = "DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log format [default: text].
    #[arg(long, env = "FRONTDESK_LOG_FORMAT", global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Fill the database with realistic demo data (agents, teams, customers, tickets).
    Seed(SeedArgs),
    /// Manage admin accounts without the browser.
    Admin {
        /// The admin command.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage the knowledge base.
    Kb {
        /// The knowledge-base command.
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Manage the search index.
    Search {
        /// The search command.
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// The email channel.
    Mail {
        /// The mail command.
        #[command(subcommand)]
        command: MailCommand,
    },
}

/// `frontdesk mail ...`.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Receive one RFC 5322 message from standard input for a mailbox (for an MTA's pipe
    /// transport). Exits 0 when the message is stored (as a ticket, a reply, a duplicate or in the
    /// quarantine), 67 when the mailbox does not exist, and 75 (try again later) on any other
    /// failure, so the MTA keeps the message and retries.
    Receive {
        /// The mailbox's short name (as set up by an admin, like `support`).
        #[arg(long)]
        mailbox: String,
    },
}

/// `frontdesk search ...`.
#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild the search index from the database, with a progress bar. Stop the server first:
    /// a running server rebuilds a missing or damaged index by itself.
    Reindex,
}

/// `frontdesk kb ...`.
#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Import a folder of markdown articles with front matter (title, slug, category, tags,
    /// locale, status); importing again updates them and never duplicates.
    Import {
        /// The folder (subfolders included).
        dir: std::path::PathBuf,
    },
}

/// Options of `serve`.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "FRONTDESK_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Mark cookies Secure: set this when frontdesk is served over HTTPS (directly or by a proxy).
    #[arg(long, env = "FRONTDESK_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The address customers reach frontdesk at, used in links sent to them
    /// [default: http://LISTEN].
    #[arg(long, env = "FRONTDESK_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Directory of the built web assets (pkg/frontdesk.js, .wasm, .css)
    /// [default: site/ next to the binary, or target/site in a source checkout].
    #[arg(long, env = "FRONTDESK_SITE_DIR", value_name = "DIR")]
    pub site_dir: Option<PathBuf>,
    /// Chat messages one widget visitor may send per minute [default: 60].
    #[arg(long, env = "FRONTDESK_CHAT_MESSAGES_PER_MINUTE", value_name = "N")]
    pub chat_messages_per_minute: Option<usize>,
    /// New widget visitors one IP address may start per minute [default: 30].
    #[arg(long, env = "FRONTDESK_CHAT_VISITORS_PER_IP_PER_MINUTE", value_name = "N")]
    pub chat_visitors_per_ip_per_minute: Option<usize>,
    /// Seconds an agent whose last console closed keeps their chats before they return to the
    /// queue [default: 30].
    #[arg(long, env = "FRONTDESK_CHAT_OFFLINE_GRACE_SECS", value_name = "SECS")]
    pub chat_offline_grace_secs: Option<u64>,
}

/// Options of `seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Tickets to create.
    #[arg(long, default_value_t = 1_000)]
    pub tickets: u64,
    /// Customers to create (the tickets' requesters).
    #[arg(long, default_value_t = 200)]
    pub customers: u32,
    /// Organizations to create.
    #[arg(long, default_value_t = 20)]
    pub organizations: u32,
    /// Agents to create (the first is an admin); all get the demo password.
    #[arg(long, default_value_t = 8)]
    pub agents: u32,
    /// Teams to create.
    #[arg(long, default_value_t = 3)]
    pub teams: u32,
    /// Random seed: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Words of generated prose added to each message (for search load tests); 0 keeps the
    /// short demo texts.
    #[arg(long, default_value_t = 0)]
    pub words: u32,
}

/// `frontdesk admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account; the password is read from standard input (one line).
    Create {
        /// The admin's sign-in email.
        #[arg(long)]
        email: String,
        /// The admin's display name.
        #[arg(long)]
        name: String,
    },
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The optional config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    secure_cookies: Option<bool>,
    public_url: Option<String>,
    site_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    chat_messages_per_minute: Option<usize>,
    chat_visitors_per_ip_per_minute: Option<usize>,
    chat_offline_grace_secs: Option<u64>,
    mail: Option<crate::mail_config::MailFile>,
}

/// A configuration problem, reported as one line before frontdesk exits.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `--listen` is not an address.
    #[error("invalid listen address '{0}': expected IP:PORT, like 127.0.0.1:8080")]
    Listen(String),
    /// The data directory cannot be created or written.
    #[error("data directory {path} is not writable: {reason}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The database URL is not usable.
    #[error(transparent)]
    Database(#[from] frontdesk_core::platform::db::DbError),
    /// The `[mail]` settings are not usable.
    #[error("mail settings: {0}")]
    Mail(String),
    /// `--public-url` is not an absolute http(s) address.
    #[error("invalid public URL '{0}': expected an address like https://help.example.com")]
    PublicUrl(String),
}

/// Everything frontdesk needs to start, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Local data: the SQLite file and the search index.
    pub data_dir: PathBuf,
    /// The database to use.
    pub database: DatabaseTarget,
    /// Whether cookies get the `Secure` attribute.
    pub secure_cookies: bool,
    /// The address customers reach frontdesk at.
    pub public_url: String,
    /// The built web assets.
    pub site_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// Live chat limits and timings.
    pub chat: frontdesk_core::chats::ChatSettings,
    /// The email channel.
    pub mail: frontdesk_core::mail::MailSettings,
}

/// The search index's directory inside the data directory.
pub const SEARCH_INDEX_DIR: &str = "search-index";

impl Cli {
    /// Parses the process's arguments (exits with clap's message on a usage error: status 2, or
    /// 75 for `mail receive`, whose caller is an MTA that would bounce the message on any other
    /// failure).
    pub fn parse_args() -> Self {
        Self::try_parse().unwrap_or_else(|e| {
            let args: Vec<String> = std::env::args().collect();
            let receiving = args.windows(2).any(|w| w[0] == "mail" && w[1] == "receive");
            if receiving && e.use_stderr() {
                let _ = e.print();
                std::process::exit(i32::from(crate::cli::EX_TEMPFAIL));
            }
            e.exit()
        })
    }
}

impl Config {
    /// Where the search index lives.
    pub fn search_dir(&self) -> PathBuf {
        self.data_dir.join(SEARCH_INDEX_DIR)
    }

    /// Merges flags and environment (already in `global`/`serve`) over the config file over the
    /// defaults, then validates: the listen address parses, the data directory exists and is
    /// writable, and the database URL is one frontdesk understands.
    pub fn resolve(global: &GlobalArgs, serve: &ServeArgs) -> Result<Self, ConfigError> {
        let mut file = match &global.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let chat = chat_settings(serve, &file);
        let mail = crate::mail_config::resolve(file.mail.take())?;
        let listen_text =
            serve.listen.clone().or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse().map_err(|_| ConfigError::Listen(listen_text.clone()))?;
        let data_dir = global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = global.database_url.clone().or(file.database_url);
        let database = DatabaseTarget::from_config(database_url.as_deref(), &data_dir)?;
        ensure_writable_dir(&data_dir)?;
        let public_url = serve
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let absolute = public_url.parse::<axum::http::Uri>().is_ok_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
        });
        if !absolute {
            return Err(ConfigError::PublicUrl(public_url));
        }
        Ok(Self {
            listen,
            database,
            data_dir,
            secure_cookies: serve.secure_cookies || file.secure_cookies.unwrap_or(false),
            public_url,
            site_dir: serve.site_dir.clone().or(file.site_dir).unwrap_or_else(default_site_dir),
            log_format: global.log_format.or(file.log_format).unwrap_or_default(),
            chat,
            mail,
        })
    }
}

fn chat_settings(serve: &ServeArgs, file: &FileConfig) -> frontdesk_core::chats::ChatSettings {
    let defaults = frontdesk_core::chats::ChatSettings::default();
    frontdesk_core::chats::ChatSettings {
        messages_per_minute: serve
            .chat_messages_per_minute
            .or(file.chat_messages_per_minute)
            .unwrap_or(defaults.messages_per_minute),
        visitors_per_ip_per_minute: serve
            .chat_visitors_per_ip_per_minute
            .or(file.chat_visitors_per_ip_per_minute)
            .unwrap_or(defaults.visitors_per_ip_per_minute),
        offline_grace: serve
            .chat_offline_grace_secs
            .or(file.chat_offline_grace_secs)
            .map_or(defaults.offline_grace, std::time::Duration::from_secs),
        ..defaults
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let error = |reason: String| ConfigError::File { path: path.to_owned(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    toml::from_str(&text).map_err(|e| error(e.message().to_owned()))
}

/// Creates the directory if needed and proves it is writable by writing a file into it.
fn ensure_writable_dir(dir: &Path) -> Result<(), ConfigError> {
    let error =
        |e: std::io::Error| ConfigError::DataDir { path: dir.to_owned(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(error)?;
    // One probe per process: `mail receive` runs many at once on the same directory.
    let probe = dir.join(format!(".frontdesk-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(error)?;
    std::fs::remove_file(&probe).map_err(error)
}

/// `site/` beside the binary (an installed copy), else `target/site` (a source checkout, where
/// the binary is `target/<profile>/frontdesk`).
fn default_site_dir() -> PathBuf {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let candidates =
        exe_dir.iter().flat_map(|dir| [dir.join("site"), dir.join("../site")]).collect::<Vec<_>>();
    candidates
        .iter()
        .find(|dir| dir.join("pkg").is_dir())
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("site"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_locally_on_8080_with_sqlite_in_the_data_dir() -> Result<(), ConfigError> {
        let dir = std::env::temp_dir().join(format!("fd-config-test-{}", std::process::id()));
        let global = GlobalArgs { data_dir: Some(dir.clone()), ..GlobalArgs::default() };
        let config = Config::resolve(&global, &ServeArgs::default())?;
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert!(matches!(config.database, DatabaseTarget::Sqlite(_)));
        std::fs::remove_dir_all(dir).ok();
        Ok(())
    }

    #[test]
    fn a_bad_listen_address_names_itself() {
        let serve = ServeArgs { listen: Some("localhost".into()), ..ServeArgs::default() };
        let err = Config::resolve(&GlobalArgs::default(), &serve).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid listen address 'localhost': expected IP:PORT, like 127.0.0.1:8080")
        );
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

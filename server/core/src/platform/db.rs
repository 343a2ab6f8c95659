//! The database: SQLite (embedded, the default) or PostgreSQL, behind one [`Db`] handle.
//!
//! Each query is written once, in the SQL both engines accept (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`, times as BIGINT milliseconds), and [`on_pool!`](crate::platform::db::on_pool) expands it
//! once per backend so each side keeps its native driver types. Where the dialects differ, the
//! query matches on [`Db`] itself. Each backend has its own forward-only migrations under
//! `migrations/`, embedded in the binary.

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// The name of the SQLite file inside the data directory.
pub const SQLITE_FILE_NAME: &str = "frontdesk.db";

/// Runs `$body` with `$pool` bound to the SQLite or the PostgreSQL pool of a [`Db`].
///
/// The body is expanded twice, so one query text is type-checked against each driver.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::platform::db::Db::Sqlite($pool) => $body,
            $crate::platform::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A value bound into a query whose text is built at run time.
#[derive(Clone, Debug)]
pub enum Param {
    /// An integer (ids, times in milliseconds, counts).
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
}

/// The values of a query built at run time: each [`Params::push`] returns the `$n` placeholder
/// to write into the SQL, and [`bind_params!`](crate::platform::db::bind_params) binds them in order.
#[derive(Debug, Default)]
pub struct Params(pub Vec<Param>, bool);

impl Params {
    /// Values for a statement that names each exactly once, in order (a multi-row `INSERT`).
    /// SQLite then gets anonymous `?` placeholders: it looks a `$n` up by walking the list of
    /// names, which makes binding thousands of them quadratic.
    pub(crate) fn in_order(db: &Db) -> Self {
        Self(Vec::new(), matches!(db, Db::Sqlite(_)))
    }

    /// Adds a value; returns its placeholder.
    pub(crate) fn push(&mut self, value: Param) -> String {
        self.0.push(value);
        if self.1 { "?".to_owned() } else { format!("${}", self.0.len()) }
    }

    /// Adds an integer; returns its placeholder.
    pub(crate) fn int(&mut self, value: i64) -> String {
        self.push(Param::Int(value))
    }

    /// Adds a text; returns its placeholder.
    pub(crate) fn text(&mut self, value: &str) -> String {
        self.push(Param::Text(value.to_owned()))
    }

    /// Adds one row of a multi-row `INSERT`; returns its `($n, $n+1, ...)`.
    pub(crate) fn row(&mut self, values: impl IntoIterator<Item = Param>) -> String {
        let placeholders: Vec<String> = values.into_iter().map(|v| self.push(v)).collect();
        format!("({})", placeholders.join(", "))
    }
}

/// The most values one statement binds: SQLite allows 32,766 and PostgreSQL 65,535.
const MAX_BOUND_VALUES: usize = 30_000;

/// `{head} (..), (..) {tail}` for each group of `rows` that fits in one statement: a multi-row
/// `INSERT` of any length. No rows, no statements.
pub(crate) fn multi_row(
    db: &Db,
    head: &str,
    tail: &str,
    rows: impl IntoIterator<Item = Vec<Param>>,
) -> Vec<(String, Params)> {
    let statement = |(params, values): (Params, Vec<String>)| {
        (format!("{head} {} {tail}", values.join(", ")), params)
    };
    let mut statements = Vec::new();
    let mut current: Option<(Params, Vec<String>)> = None;
    for row in rows {
        let (params, values) = current.get_or_insert_with(|| (Params::in_order(db), Vec::new()));
        values.push(params.row(row));
        if params.0.len() >= MAX_BOUND_VALUES - 64 {
            statements.extend(current.take().map(statement));
        }
    }
    statements.extend(current.map(statement));
    statements
}

/// `IN (...)` over `ids`, with its values.
pub(crate) fn id_list(db: &Db, ids: &[i64]) -> (Params, String) {
    let mut params = Params::in_order(db);
    let list = ids.iter().map(|id| params.int(*id)).collect::<Vec<_>>().join(", ");
    (params, list)
}

/// Binds every value of a [`Params`] to a query, in order.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for value in &$params.0 {
            query = match value {
                $crate::platform::db::Param::Int(v) => query.bind(*v),
                $crate::platform::db::Param::OptInt(v) => query.bind(*v),
                $crate::platform::db::Param::Text(v) => query.bind(v.as_str()),
                $crate::platform::db::Param::Bool(v) => query.bind(*v),
            };
        }
        query
    }};
}
pub(crate) use bind_params;

/// A cloneable handle to the connection pool of the configured backend.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded database in the data directory.
    Sqlite(SqlitePool),
    /// A PostgreSQL server, for larger installs.
    Postgres(PgPool),
}

/// Where the data lives, decided from the configuration before anything connects.
#[derive(Clone, Debug)]
pub enum DatabaseTarget {
    /// A SQLite file.
    Sqlite(SqliteConnectOptions),
    /// A PostgreSQL database.
    Postgres(PgConnectOptions),
}

/// Why the database could not be set up. Each reads as one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is not one frontdesk understands.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// Connecting failed.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl DatabaseTarget {
    /// SQLite in `data_dir` unless `url` names a PostgreSQL (or another SQLite) database.
    pub fn from_config(url: Option<&str>, data_dir: &Path) -> Result<Self, DbError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::Sqlite(
                SqliteConnectOptions::new().filename(data_dir.join(SQLITE_FILE_NAME)),
            ));
        };
        let invalid = |e: sqlx::Error| DbError::InvalidUrl(format!("{}: {e}", redact(url)));
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url).map(Self::Postgres).map_err(invalid)
        } else if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map(Self::Sqlite).map_err(invalid)
        } else {
            Err(DbError::InvalidUrl(format!(
                "{}: expected postgres://... or sqlite:...",
                redact(url)
            )))
        }
    }

    /// Opens a pool. A missing SQLite file is created here (only here), and runs in WAL mode with
    /// foreign keys enforced and a busy timeout; PostgreSQL databases must already exist.
    ///
    /// SQLite syncs the write-ahead log at every commit (`synchronous = FULL`): what frontdesk
    /// acknowledges as stored (a chat message's ack, a saved reply) survives a power loss or an
    /// OS crash, not only a crash of frontdesk. Group commit in the chat writer spreads the cost.
    pub async fn connect(self) -> Result<Db, DbError> {
        match self {
            Self::Sqlite(options) => {
                let options = options
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                // Create the file once, here. The pool's connections must find it, so a database
                // file deleted under a running server fails loudly instead of being silently
                // recreated empty by the next connection.
                let first =
                    SqliteConnection::connect_with(&options.clone().create_if_missing(true))
                        .await
                        .map_err(DbError::Connect)?;
                first.close().await.map_err(DbError::Connect)?;
                let options = options.create_if_missing(false);
                SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .map(Db::Sqlite)
                    .map_err(DbError::Connect)
            }
            Self::Postgres(options) => PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map(Db::Postgres)
                .map_err(DbError::Connect),
        }
    }
}

impl Db {
    /// Applies the migrations the database has not seen yet.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
        .map_err(DbError::Migrate)
    }

    /// Checks that the database answers now: for readiness probes.
    ///
    /// For SQLite this also checks that the file is still on disk: an open connection keeps
    /// answering from a deleted file, which would silently lose every later write.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        if let Db::Sqlite(pool) = self {
            let path = PathBuf::from(pool.connect_options().get_filename());
            if !path.exists() {
                return Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("database file {} is missing", path.display()),
                )));
            }
        }
        on_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))
    }

    /// Refreshes the query planner's statistics, as after a bulk load.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| sqlx::query("ANALYZE").execute(pool).await.map(drop))
    }

    /// Which engine this is, for logs.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection; later queries fail.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing when it
/// upgrades a read lock.
pub(crate) trait BeginWrite {
    /// The driver.
    type Database: sqlx::Database;

    /// Starts the transaction.
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, Self::Database>>;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;

    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;

    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(redact("postgres://ann:secret@db:5432/x"), "postgres://ann:***@db:5432/x");
        assert_eq!(redact("postgres://ann@db/x"), "postgres://ann@db/x");
    }

    #[test]
    fn no_url_means_sqlite_in_the_data_dir() {
        let target = DatabaseTarget::from_config(None, Path::new("/srv/fd"));
        assert!(
            matches!(target, Ok(DatabaseTarget::Sqlite(o)) if o.get_filename() == Path::new("/srv/fd/frontdesk.db"))
        );
    }

    #[test]
    fn unknown_schemes_and_broken_urls_are_refused() {
        for bad in ["mysql://x/y", "postgres://ann@db:notaport/x"] {
            let err = DatabaseTarget::from_config(Some(bad), Path::new(".")).err();
            assert!(matches!(err, Some(DbError::InvalidUrl(_))), "{bad} should be refused");
        }
    }
}

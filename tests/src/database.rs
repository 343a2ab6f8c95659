//! A fresh database per test: nothing (SQLite in the app's data directory), or a new PostgreSQL
//! database when `FRONTDESK_TEST_DATABASE_URL` names a server.
//!
//! PostgreSQL databases are named `fd_test_<pid>_<n>`; databases left by test processes that
//! have exited are dropped when the next test process creates its first one.

use sqlx::{Connection, PgConnection};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;

/// The environment variable that switches the tests to PostgreSQL.
pub const POSTGRES_ENV: &str = "FRONTDESK_TEST_DATABASE_URL";

/// The database of one test.
pub struct TestDatabase {
    /// The URL to give frontdesk; `None` means its default SQLite file.
    pub url: Option<String>,
    server_url: Option<String>,
    name: String,
}

impl TestDatabase {
    /// Creates a fresh database for one test.
    pub async fn create() -> Self {
        let Some(server_url) = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
            return Self { url: None, server_url: None, name: String::new() };
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        static SWEPT: OnceCell<()> = OnceCell::const_new();
        let mut admin = PgConnection::connect(&server_url)
            .await
            .expect("connect to the test PostgreSQL server");
        SWEPT.get_or_init(|| drop_abandoned(&server_url)).await;
        let name =
            format!("fd_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let url = with_database(&server_url, &name);
        Self { url: Some(url), server_url: Some(server_url), name }
    }

    /// Whether this test runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.server_url.is_some()
    }

    /// Drops the database now, ending its connections (PostgreSQL only).
    pub async fn drop_now(&self) {
        let Some(server_url) = &self.server_url else { return };
        let mut admin =
            PgConnection::connect(server_url).await.expect("connect to the test PostgreSQL server");
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
            .execute(&mut admin)
            .await
            .expect("drop the test database");
    }
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) =
        server_url.split_once('?').map_or((server_url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Drops test databases whose process is gone.
async fn drop_abandoned(server_url: &str) {
    let Ok(mut admin) = PgConnection::connect(server_url).await else { return };
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'fd\\_test\\_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ignored = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}

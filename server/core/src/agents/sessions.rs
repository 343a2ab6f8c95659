//! Sessions of signed-in agents, stored in frontdesk's own database (SQLite or PostgreSQL),
//! for `tower-sessions`.
//!
//! Besides the session data (JSON), each row carries the signed-in agent's id in its own column,
//! so that deactivating an agent ends all of that agent's sessions with one `DELETE` in the same
//! transaction (see `agents::set_active`).

use async_trait::async_trait;
use std::collections::HashMap;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use crate::platform::db::{Db, on_pool};
use crate::platform::time::Timestamp;

/// The session key under which the signed-in agent's id is kept.
pub const AGENT_ID_KEY: &str = "agent_id";
/// The session key under which a signed-in customer's contact id is kept (portal).
pub const CONTACT_ID_KEY: &str = "contact_id";

/// A `tower-sessions` store on frontdesk's database.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    /// A store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// How many unexpired sessions an agent has (for tests and the admin UI).
    pub async fn count_for_agent(&self, agent_id: i64) -> Result<i64, sqlx::Error> {
        on_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE agent_id = $1 AND expires_at > $2"
        )
        .bind(agent_id)
        .bind(Timestamp::now())
        .fetch_one(pool)
        .await)
    }

    /// The agent signed in on the unexpired session `id`, if that session still exists.
    pub async fn agent_of(&self, id: &str) -> Result<Option<i64>, sqlx::Error> {
        on_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT agent_id FROM sessions WHERE id = $1 AND expires_at > $2"
        )
        .bind(id)
        .bind(Timestamp::now())
        .fetch_optional(pool)
        .await)
        .map(Option::flatten)
    }

    /// Writes the record; `on_conflict` says what happens when its id exists. Returns whether a
    /// row was written.
    async fn write(&self, record: &Record, on_conflict: &str) -> session_store::Result<bool> {
        let row = Row::from_record(record)?;
        let sql = format!(
            "INSERT INTO sessions (id, agent_id, contact_id, data, expires_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) {on_conflict}"
        );
        on_pool!(&self.db, |pool| sqlx::query(&sql)
            .bind(&row.id)
            .bind(row.agent_id)
            .bind(row.contact_id)
            .bind(&row.data)
            .bind(row.expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1))
        .map_err(backend)
    }
}

/// A record flattened into the columns it is stored in.
struct Row {
    id: String,
    agent_id: Option<i64>,
    contact_id: Option<i64>,
    data: String,
    expires_at: Timestamp,
}

impl Row {
    fn from_record(record: &Record) -> session_store::Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            agent_id: record.data.get(AGENT_ID_KEY).and_then(serde_json::Value::as_i64),
            contact_id: record.data.get(CONTACT_ID_KEY).and_then(serde_json::Value::as_i64),
            data: serde_json::to_string(&record.data)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires_at: Timestamp::from(record.expiry_date),
        })
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits, so a collision is astronomically rare; still, never overwrite.
        while !self.write(record, "DO NOTHING").await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(
            record,
            "DO UPDATE SET agent_id = excluded.agent_id, contact_id = excluded.contact_id, data = excluded.data,
             expires_at = excluded.expires_at",
        )
        .await
        .map(drop)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let found: Option<(String, Timestamp)> = on_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2"
        )
        .bind(id.to_string())
        .bind(Timestamp::now())
        .fetch_optional(pool)
        .await)
        .map_err(backend)?;
        let Some((data, expires_at)) = found else { return Ok(None) };
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *id, data, expiry_date: expires_at.to_datetime() }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        on_pool!(&self.db, |pool| sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(pool)
            .await
            .map(drop))
        .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        on_pool!(&self.db, |pool| sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(Timestamp::now())
            .execute(pool)
            .await
            .map(drop))
        .map_err(backend)
    }
}

//! The chat writer: tasks that store every chat message and read receipt, many per transaction
//! (group commit). Each message gets the next seq of its chat and is deduplicated by its client
//! id; only after the commit is it acked to its sender and published to the chat's subscribers.
//! Batching turns a burst of thousands of messages into a few commits. On SQLite one task does
//! it all, which keeps the single write lock uncontended; on PostgreSQL, where each commit waits
//! for the disk, a few tasks commit side by side. A chat always goes to the same task, so its
//! messages are stored in the order they were submitted.

use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::hub::{ChatHub, ChatNotice};
use crate::chats::{Attachment, ChatMessage, Sender};
use crate::platform::db::{BeginWrite, Db, on_pool};
use crate::platform::tasks::Tasks;
use crate::error::{Error, Result};
use crate::platform::time::Timestamp;

/// The most jobs written in one transaction.
const MAX_BATCH: usize = 512;
/// How many jobs may wait for one writer task; senders wait beyond that (backpressure).
const QUEUE: usize = 8_192;
/// Writer tasks on PostgreSQL.
const POSTGRES_WRITERS: usize = 4;

/// A message to store.
#[derive(Clone, Debug)]
pub(crate) struct NewMessage {
    pub chat_id: i64,
    pub client_id: String,
    pub sender: Sender,
    pub agent_id: Option<i64>,
    /// The name shown with it.
    pub author: String,
    pub body: String,
    pub attachment: Option<Attachment>,
    /// Stored only while the chat has not ended (a visitor's or agent's message); otherwise the
    /// sender gets [`ended`]. frontdesk's own notes and a left message go into ended chats too.
    pub while_live: bool,
}

/// The answer to a message that arrived after its chat ended.
pub(crate) fn ended() -> Error {
    Error::Conflict("This chat has ended.".into())
}

/// A stored message; `fresh` is false when its client id was stored before (a resend).
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub chat_id: i64,
    pub message: Arc<ChatMessage>,
    pub fresh: bool,
}

enum Job {
    Append(NewMessage, oneshot::Sender<Result<Stored>>),
    Read { chat_id: i64, sender: Sender, seq: i64 },
}

/// The handle services send jobs through.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    /// One queue per writer task; chat `id` goes to `tasks[id % len]`.
    tasks: Arc<[mpsc::Sender<Job>]>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Append(m, _) => write!(f, "Append({}, {})", m.chat_id, m.client_id),
            Job::Read { chat_id, seq, .. } => write!(f, "Read({chat_id}, {seq})"),
        }
    }
}

impl Writer {
    /// Starts the writer tasks as members of `tasks`. At shutdown each stops taking jobs, then
    /// commits and acks every job it had accepted before it ends.
    pub(crate) fn start(db: &Db, hub: Arc<ChatHub>, tasks: &Tasks) -> Self {
        let count = match db {
            Db::Sqlite(_) => 1,
            Db::Postgres(_) => POSTGRES_WRITERS,
        };
        let queues = (0..count)
            .map(|_| {
                let (jobs, queue) = mpsc::channel(QUEUE);
                tasks.spawn(run(db.clone(), hub.clone(), queue, tasks.clone()));
                jobs
            })
            .collect();
        Self { tasks: queues }
    }

    /// The queue of the task that writes chat `chat_id`.
    fn task(&self, chat_id: i64) -> &mpsc::Sender<Job> {
        let index = usize::try_from(chat_id.rem_euclid(self.tasks.len() as i64)).unwrap_or(0);
        &self.tasks[index]
    }

    /// Stores a message (or finds its earlier copy) and returns it once committed.
    pub(crate) async fn append(&self, message: NewMessage) -> Result<Stored> {
        self.submit(message).await?.stored().await
    }

    /// Queues a message and returns without waiting for its commit. Messages submitted one after
    /// another are stored in that order, so a sender may have many in flight.
    pub(crate) async fn submit(&self, message: NewMessage) -> Result<Commit> {
        let (reply, stored) = oneshot::channel();
        self.task(message.chat_id)
            .send(Job::Append(message, reply))
            .await
            .map_err(|_| stopped())?;
        Ok(Commit::Pending(stored))
    }

    /// Records that `sender`'s side read chat `chat_id` up to `seq` (never moves backwards).
    pub(crate) async fn read(&self, chat_id: i64, sender: Sender, seq: i64) -> Result<()> {
        self.task(chat_id).send(Job::Read { chat_id, sender, seq }).await.map_err(|_| stopped())
    }
}

/// A submitted message's commit, to wait for.
#[derive(Debug)]
pub(crate) enum Commit {
    /// Committed already.
    Done(Stored),
    /// Queued for the writer, which answers once committed.
    Pending(oneshot::Receiver<Result<Stored>>),
}

impl Commit {
    /// The stored message, once committed.
    pub(crate) async fn stored(self) -> Result<Stored> {
        match self {
            Commit::Done(stored) => Ok(stored),
            Commit::Pending(reply) => reply.await.map_err(|_| stopped())?,
        }
    }
}

/// The writer has stopped taking jobs: frontdesk is shutting down.
fn stopped() -> Error {
    Error::Unavailable
}

async fn run(db: Db, hub: Arc<ChatHub>, mut queue: mpsc::Receiver<Job>, tasks: Tasks) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut closed = false;
    let stopping = tasks.stopping();
    tokio::pin!(stopping);
    loop {
        let taken = tokio::select! {
            biased;
            () = &mut stopping, if !closed => {
                // No new jobs from here on (senders are told frontdesk is restarting); the loop
                // drains the queued ones and ends when the queue is empty.
                queue.close();
                closed = true;
                continue;
            }
            taken = queue.recv_many(&mut jobs, MAX_BATCH) => taken,
        };
        if taken == 0 {
            break;
        }
        let batch = std::mem::take(&mut jobs);
        match write(&db, &batch).await {
            Ok(results) => finish(&hub, batch, results),
            Err(e) => {
                // One bad job (a chat deleted meanwhile) must not fail the others: retry alone.
                tracing::debug!(error = %e, jobs = batch.len(), "chat batch failed; writing its jobs one by one");
                let mut results = Vec::with_capacity(batch.len());
                for job in &batch {
                    results.push(
                        write(&db, std::slice::from_ref(job))
                            .await
                            .and_then(|mut r| r.pop().unwrap_or(Ok(None))),
                    );
                }
                finish(&hub, batch, results);
            }
        }
    }
}

/// Acks every sender and publishes the fresh messages, in the order they were stored.
fn finish(hub: &ChatHub, batch: Vec<Job>, results: Vec<Result<Option<Stored>>>) {
    for (job, result) in batch.into_iter().zip(results) {
        match (job, result) {
            (Job::Append(_, reply), Ok(Some(stored))) => {
                if stored.fresh {
                    hub.publish(stored.chat_id, ChatNotice::Message(stored.message.clone()));
                }
                let _ = reply.send(Ok(stored));
            }
            (Job::Append(_, reply), Ok(None)) => {
                let _ =
                    reply.send(Err(Error::internal("a stored chat message went missing")));
            }
            (Job::Append(_, reply), Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (Job::Read { chat_id, sender, seq }, Ok(_)) => {
                hub.publish(chat_id, ChatNotice::Read { sender, seq })
            }
            (Job::Read { .. }, Err(e)) => {
                tracing::warn!(error = %e, "a read receipt could not be stored")
            }
        }
    }
}

/// Writes a batch in one transaction; one entry per job: the stored message, `None` for a read
/// receipt, or why a message was refused.
async fn write(db: &Db, batch: &[Job]) -> Result<Vec<Result<Option<Stored>>>> {
    let now = Timestamp::now();
    let stored = on_pool!(db, |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let mut stored = Vec::with_capacity(batch.len());
        let mut last_seq: HashMap<i64, i64> = HashMap::new();
        for job in batch {
            match job {
                Job::Append(m, _) => {
                    // Checked in the INSERT itself, so no message slips into a chat as it ends.
                    let inserted: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO chat_messages (chat_id, seq, client_id, sender, agent_id, body, attachment_id, created_at)
                         SELECT $1, next.seq, $2, $3, $4, $5, $6, $7
                         FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM chat_messages WHERE chat_id = $1) AS next
                         WHERE NOT $8 OR NOT EXISTS (SELECT 1 FROM chats WHERE ticket_id = $1 AND state = 'ended')
                         ON CONFLICT (chat_id, client_id) DO NOTHING
                         RETURNING seq",
                    )
                    .bind(m.chat_id)
                    .bind(&m.client_id)
                    .bind(m.sender.as_str())
                    .bind(m.agent_id)
                    .bind(&m.body)
                    .bind(m.attachment.as_ref().map(|a| a.id))
                    .bind(now)
                    .bind(m.while_live)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let result = match inserted {
                        Some(seq) => {
                            last_seq.insert(m.chat_id, seq);
                            Ok(Stored { chat_id: m.chat_id, message: Arc::new(message(m, seq, m.body.clone(), now)), fresh: true })
                        }
                        // A resend of a stored message, or a message after the end.
                        None => {
                            let earlier: Option<(i64, String, Timestamp)> = sqlx::query_as(
                                "SELECT seq, body, created_at FROM chat_messages WHERE chat_id = $1 AND client_id = $2",
                            )
                            .bind(m.chat_id)
                            .bind(&m.client_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                            match earlier {
                                Some((seq, body, at)) => Ok(Stored { chat_id: m.chat_id, message: Arc::new(message(m, seq, body, at)), fresh: false }),
                                None => Err(ended()),
                            }
                        }
                    };
                    stored.push(result.map(Some));
                }
                Job::Read { chat_id, sender, seq } => {
                    let column = if *sender == Sender::Agent { "agent_read_seq" } else { "visitor_read_seq" };
                    sqlx::query(&format!(
                        "UPDATE chats SET {column} = $2 WHERE ticket_id = $1 AND {column} < $2 AND $2 <= last_seq"
                    ))
                    .bind(chat_id)
                    .bind(*seq)
                    .execute(&mut *tx)
                    .await?;
                    stored.push(Ok(None));
                }
            }
        }
        for (chat_id, seq) in last_seq {
            sqlx::query("UPDATE chats SET last_seq = $2 WHERE ticket_id = $1 AND last_seq < $2")
                .bind(chat_id)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<_, Error>(stored)
    }
    .await
    })?;
    Ok(stored)
}

fn message(m: &NewMessage, seq: i64, body: String, created_at: Timestamp) -> ChatMessage {
    ChatMessage {
        seq,
        client_id: m.client_id.clone(),
        sender: m.sender,
        author: m.author.clone(),
        body,
        attachment: m.attachment.clone(),
        created_at,
    }
}

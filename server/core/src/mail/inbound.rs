//! Receiving one message, whichever way it came (IMAP, the MTA pipe, the HTTP endpoint): the
//! guards, the threading, and storing it as a new ticket or a reply in one transaction with its
//! Message-ID, its original bytes, its files, its followers and the acknowledgement it earns.
//!
//! The Message-ID is unique in `mail_messages`, so a message delivered twice (an IMAP server
//! that shows it again after a crash, an MTA that retries) is stored once: the second delivery
//! is [`Outcome::Duplicate`] and is acknowledged like the first. What cannot be read or trips a
//! guard goes to the quarantine with its reason; nothing received is dropped.
//!
//! Threading, in order: `In-Reply-To`/`References` against every Message-ID frontdesk stored or
//! sent; a signed token in a reply address; a signed token in a `[#number-token]` subject tag.
//! Anything else is a new ticket, so a typed `[#123]` never reaches someone else's ticket.

use std::time::Duration;

use serde_json::json;

use crate::customers;
use crate::agents::{Email, PersonName};
use crate::error::{Error, Result};
use crate::mail::content;
use crate::mail::parse::{self, Bounce, Parsed};
use crate::mail::settings::MailSettings;
use crate::mail::threading::ThreadKey;
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, Db, on_pool};
use crate::platform::time::Timestamp;
use crate::tickets::{self, Author, Channel, MessageBody, MessageKind, Priority, Subject};

/// The largest file kept from a message (the same cap as chat files); larger ones stay in the
/// original, which is always kept.
const MAX_FILE_BYTES: usize = crate::chats::MAX_ATTACHMENT_BYTES;
/// How much of an oversized message is kept in the quarantine: enough for its headers.
const OVERSIZED_KEPT_BYTES: usize = 64 * 1024;

/// What became of a received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket.
    Created {
        /// Its number.
        number: i64,
    },
    /// A reply on an existing ticket.
    Added {
        /// The ticket's number.
        number: i64,
    },
    /// The same message was stored before; nothing changed.
    Duplicate,
    /// Held back for an admin.
    Quarantined {
        /// Why.
        reason: String,
    },
    /// A delivery report about one of frontdesk's messages, recorded on it.
    Bounce,
}

impl Outcome {
    /// One line for logs and command output.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Created { number } => format!("new ticket #{number}"),
            Outcome::Added { number } => format!("reply on ticket #{number}"),
            Outcome::Duplicate => "already stored".into(),
            Outcome::Quarantined { reason } => format!("quarantined: {reason}"),
            Outcome::Bounce => "delivery report recorded".into(),
        }
    }
}

/// A mailbox as receiving needs it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct MailboxRow {
    pub id: i64,
    pub team_id: Option<i64>,
    pub acknowledge: bool,
}

/// The mailbox named `name` (the short name), or [`Error::NotFound`].
pub(crate) async fn mailbox_by_name(db: &Db, name: &str) -> Result<MailboxRow> {
    on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, team_id, acknowledge FROM mailboxes WHERE name = $1"
    )
    .bind(name.trim().to_ascii_lowercase())
    .fetch_optional(pool)
    .await)?
    .ok_or(Error::NotFound("mailbox"))
}

/// Receives one raw message for the mailbox named `mailbox`.
pub async fn receive(ctx: &AppContext, mailbox: &str, raw: Vec<u8>) -> Result<Outcome> {
    let mailbox = mailbox_by_name(ctx.db(), mailbox).await?;
    receive_raw(ctx, &mailbox, raw, Guards::On).await
}

/// Whether the guards apply: off only when an admin releases a message from the quarantine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guards {
    On,
    Released,
}

/// Receives one raw message for `mailbox`.
pub(crate) async fn receive_raw(
    ctx: &AppContext,
    mailbox: &MailboxRow,
    raw: Vec<u8>,
    guards: Guards,
) -> Result<Outcome> {
    let settings = ctx.part::<MailSettings>();
    if raw.len() > settings.max_message_bytes {
        let reason = format!(
            "the message is larger than the limit of {:.1} MB (only its first {} KB are kept)",
            mb(settings.max_message_bytes),
            OVERSIZED_KEPT_BYTES / 1024
        );
        let kept = raw[..OVERSIZED_KEPT_BYTES.min(raw.len())].to_vec();
        let id = format!("oversized.{}@frontdesk.invalid", digest(&raw));
        return quarantine(ctx.db(), mailbox.id, &id, None, &reason, Kept::Beginning(kept)).await;
    }
    let (raw, read) = tokio::task::spawn_blocking(move || {
        let read = parse::parse(&raw).map(|parsed| {
            let html = content::to_html(&parsed.text, parsed.html.as_deref());
            (parsed, html)
        });
        (raw, read)
    })
    .await
    .map_err(|e| Error::internal_from("reading a message failed", e))?;
    let (parsed, html) = match read {
        Ok(read) => read,
        Err(unreadable) => {
            let id = format!("unreadable.{}@frontdesk.invalid", digest(&raw));
            return quarantine(ctx.db(), mailbox.id, &id, None, &unreadable.0, Kept::Whole(raw)).await;
        }
    };
    if already_stored(ctx.db(), &parsed.message_id, guards).await? {
        return Ok(Outcome::Duplicate);
    }
    if let Some(bounce) = &parsed.bounce {
        return record_bounce(ctx, mailbox, &parsed, bounce, raw).await;
    }
    let Some(sender) = parsed.from.clone() else {
        return quarantine(ctx.db(), mailbox.id, &parsed.message_id, Some(&parsed), "the message names no sender address", Kept::Whole(raw)).await;
    };
    let own = own_addresses(ctx.db()).await?;
    if guards == Guards::On {
        if own.iter().any(|o| *o == sender.address || is_tagged(&sender.address, o)) {
            let reason = "sent from one of frontdesk's own addresses (a mail loop)";
            return quarantine(ctx.db(), mailbox.id, &parsed.message_id, Some(&parsed), reason, Kept::Whole(raw)).await;
        }
        let limit = settings.per_sender_per_hour;
        if recent_from(ctx.db(), &sender.address).await? >= limit {
            let reason = format!("more than {limit} messages from this sender in an hour");
            return quarantine(ctx.db(), mailbox.id, &parsed.message_id, Some(&parsed), &reason, Kept::Whole(raw)).await;
        }
    }
    let key = ctx.part::<ThreadKey>();
    let target = thread(ctx.db(), key, &parsed, &own).await?;
    if guards == Guards::On
        && target.is_none()
        && let Some(why) = &parsed.automatic
    {
        let reason = format!("automatic mail ({why}) that answers no ticket");
        return quarantine(ctx.db(), mailbox.id, &parsed.message_id, Some(&parsed), &reason, Kept::Whole(raw)).await;
    }
    let name = PersonName::parse(&sender.name)
        .or_else(|_| PersonName::parse(sender.address.split('@').next().unwrap_or("customer")))
        .or_else(|_| PersonName::parse("Customer"))
        .map_err(|e| Error::internal(e.message))?;
    let email = Email::parse(&sender.address).map_err(|e| Error::internal(e.message))?;
    let requester = customers::find_or_create_by_email(ctx.db(), &email, &name).await?;
    // Only people already in the conversation bring others into it: a stranger who threads in
    // (with a forwarded tag or id) is heard, but neither they nor their copies start following.
    let in_conversation = match target {
        None => true,
        Some(ticket_id) => is_participant(ctx.db(), ticket_id, &sender.address, requester).await?,
    };
    let mut followers: Vec<String> = parsed
        .copied
        .iter()
        .chain(std::iter::once(&sender.address))
        .filter(|a| in_conversation && !own.contains(a) && !own.iter().any(|o| is_tagged(a, o)))
        .cloned()
        .collect();
    followers.sort_unstable();
    followers.dedup();
    let mail = Incoming {
        mailbox,
        parsed: &parsed,
        sender: &sender.address,
        requester,
        followers,
        html,
        raw,
    };
    store(ctx, mail, target).await
}

/// Whether `address` (of contact `contact`) is part of ticket `ticket_id`'s conversation: its
/// customer (by address or profile) or a follower.
async fn is_participant(db: &Db, ticket_id: i64, address: &str, contact: i64) -> Result<bool> {
    let found: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets t WHERE t.id = $1 AND (t.requester_id = $3
             OR EXISTS (SELECT 1 FROM ticket_mail m WHERE m.ticket_id = t.id AND m.customer_address = $2)
             OR EXISTS (SELECT 1 FROM ticket_followers f WHERE f.ticket_id = t.id AND f.email = $2))"
    )
    .bind(ticket_id)
    .bind(address)
    .bind(contact)
    .fetch_one(pool)
    .await)?;
    Ok(found > 0)
}

/// `support+tag@example.test` for the mailbox `support@example.test`.
fn is_tagged(address: &str, mailbox: &str) -> bool {
    match (address.split_once('@'), mailbox.split_once('@')) {
        (Some((local, domain)), Some((base, own_domain))) => {
            domain == own_domain && local.split_once('+').is_some_and(|(b, _)| b == base)
        }
        _ => false,
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn digest(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(raw).iter().take(20).map(|b| format!("{b:02x}")).collect()
}

async fn already_stored(db: &Db, message_id: &str, guards: Guards) -> Result<bool> {
    let sql = match guards {
        Guards::On => {
            "SELECT COUNT(*) FROM mail_messages WHERE message_id = $1
             UNION ALL SELECT COUNT(*) FROM mail_quarantine WHERE message_id = $1"
        }
        Guards::Released => "SELECT COUNT(*) FROM mail_messages WHERE message_id = $1",
    };
    let counts: Vec<i64> = on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(message_id)
        .fetch_all(pool)
        .await)?;
    Ok(counts.iter().sum::<i64>() > 0)
}

async fn own_addresses(db: &Db) -> Result<Vec<String>> {
    Ok(on_pool!(db, |pool| sqlx::query_scalar("SELECT address FROM mailboxes")
        .fetch_all(pool)
        .await)?)
}

async fn recent_from(db: &Db, address: &str) -> Result<i64> {
    let hour_ago = Timestamp::from_unix_millis(
        Timestamp::now().unix_millis() - Duration::from_secs(3600).as_millis() as i64,
    );
    Ok(on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_messages WHERE from_address = $1 AND direction = 'in' AND created_at > $2"
    )
    .bind(address)
    .bind(hour_ago)
    .fetch_one(pool)
    .await)?)
}

/// The open ticket this message answers, if one can be proven (see the module docs). A closed
/// ticket is not reopened by mail: the message becomes a new ticket.
async fn thread(db: &Db, key: &ThreadKey, parsed: &Parsed, own: &[String]) -> Result<Option<i64>> {
    for id in &parsed.answers {
        let found: Option<i64> = on_pool!(db, |pool| sqlx::query_scalar(
            "SELECT m.ticket_id FROM mail_messages m JOIN tickets t ON t.id = m.ticket_id
             WHERE m.message_id = $1 AND t.status <> 'closed'"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let mut numbers: Vec<i64> =
        parsed.recipients.iter().filter_map(|r| key.from_address(r, own)).collect();
    numbers.extend(key.from_subject(&parsed.subject));
    for number in numbers {
        let open: Option<i64> = on_pool!(db, |pool| sqlx::query_scalar(
            "SELECT id FROM tickets WHERE number = $1 AND status <> 'closed'"
        )
        .bind(number)
        .fetch_optional(pool)
        .await)?;
        if open.is_some() {
            return Ok(open);
        }
    }
    Ok(None)
}

/// What the quarantine keeps of a message.
enum Kept {
    /// All of it: it can be released.
    Whole(Vec<u8>),
    /// Only its beginning (it was too large): it cannot be released.
    Beginning(Vec<u8>),
}

/// Holds a message back, once per Message-ID.
async fn quarantine(
    db: &Db,
    mailbox_id: i64,
    message_id: &str,
    parsed: Option<&Parsed>,
    reason: &str,
    kept: Kept,
) -> Result<Outcome> {
    let (raw, complete) = match kept {
        Kept::Whole(raw) => (raw, true),
        Kept::Beginning(raw) => (raw, false),
    };
    let from = parsed.and_then(|p| p.from.as_ref()).map(|s| s.address.clone()).unwrap_or_default();
    let subject: String =
        parsed.map(|p| p.subject.chars().take(200).collect()).unwrap_or_default();
    on_pool!(db, |pool| sqlx::query(
        "INSERT INTO mail_quarantine (mailbox_id, message_id, from_address, subject, reason, raw, complete, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING"
    )
    .bind(mailbox_id)
    .bind(message_id)
    .bind(&from)
    .bind(&subject)
    .bind(reason)
    .bind(&raw)
    .bind(complete)
    .bind(Timestamp::now())
    .execute(pool)
    .await
    .map(drop))?;
    tracing::info!(mailbox_id, message_id, from, reason, "mail quarantined");
    Ok(Outcome::Quarantined { reason: reason.to_owned() })
}

/// A delivery report: marks the message it names (failed, or delayed) and the address, and notes
/// it on the ticket. A report about a message frontdesk never sent is quarantined.
async fn record_bounce(
    ctx: &AppContext,
    mailbox: &MailboxRow,
    parsed: &Parsed,
    bounce: &Bounce,
    raw: Vec<u8>,
) -> Result<Outcome> {
    let db = ctx.db();
    let original = bounce.original_message_id.as_deref().unwrap_or_default();
    if !bounce.from_server {
        let reason = "a delivery report that no mail server sent";
        return quarantine(db, mailbox.id, &parsed.message_id, Some(parsed), reason, Kept::Whole(raw)).await;
    }
    // The report must name the message and one of the addresses it went to.
    let sent: Option<(i64, Option<i64>, Option<i64>, bool)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT o.id, o.ticket_id, o.ticket_message_id, o.to_address = $2 FROM mail_outbox o WHERE o.message_id = $1
           AND (o.to_address = $2 OR EXISTS (SELECT 1 FROM ticket_followers f WHERE f.ticket_id = o.ticket_id AND f.email = $2))"
    )
    .bind(original)
    .bind(&bounce.recipient)
    .fetch_optional(pool)
    .await)?;
    let Some((outbox_id, ticket_id, message_id, to_customer)) = sent else {
        let reason = "a delivery report about a message frontdesk did not send to that address";
        return quarantine(db, mailbox.id, &parsed.message_id, Some(parsed), reason, Kept::Whole(raw)).await;
    };
    let now = Timestamp::now();
    let words = if bounce.failed {
        format!("Bounced: {}", bounce.reason)
    } else {
        format!("Delayed: {}", bounce.reason)
    };
    let from = parsed.from.as_ref().map(|s| s.address.clone()).unwrap_or_default();
    let changed = on_pool!(db, |pool| {
        async {
            let mut tx = pool.begin_write().await?;
            // A failed delivery to the customer fails the message; a follower's copy failing
            // marks only the follower's address (the customer got it). Delays are noted.
            if bounce.failed && to_customer {
                sqlx::query("UPDATE mail_outbox SET state = 'failed', last_result = $2 WHERE id = $1")
                    .bind(outbox_id)
                    .bind(&words)
                    .execute(&mut *tx)
                    .await?;
            } else if !bounce.failed {
                sqlx::query("UPDATE mail_outbox SET last_result = $2 WHERE id = $1 AND state <> 'failed'")
                    .bind(outbox_id)
                    .bind(&words)
                    .execute(&mut *tx)
                    .await?;
            }
            if bounce.failed {
                sqlx::query(
                    "INSERT INTO mail_bounces (email, reason, bounced_at) VALUES ($1, $2, $3)
                     ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, bounced_at = excluded.bounced_at",
                )
                .bind(&bounce.recipient)
                .bind(&bounce.reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let mut changed = None;
            if let Some(ticket_id) = ticket_id {
                let stored = sqlx::query(
                    "INSERT INTO mail_messages (message_id, direction, mailbox_id, ticket_id, from_address, auto_submitted, raw, created_at)
                     VALUES ($1, 'in', $2, $3, $4, TRUE, $5, $6) ON CONFLICT (message_id) DO NOTHING",
                )
                .bind(&parsed.message_id)
                .bind(mailbox.id)
                .bind(ticket_id)
                .bind(&from)
                .bind(&raw)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if stored == 1 {
                    let detail = json!({
                        "message_id": message_id, "recipient": bounce.recipient,
                        "reason": bounce.reason, "failed": bounce.failed,
                    });
                    let kind = if bounce.failed { "mail_bounced" } else { "mail_delayed" };
                    let seq = tickets::append_event(&mut *tx, ticket_id, Author::System, kind, detail, true, now).await?;
                    let number: i64 = sqlx::query_scalar("SELECT number FROM tickets WHERE id = $1")
                        .bind(ticket_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    changed = Some((number, seq));
                }
            }
            tx.commit().await?;
            Ok::<_, Error>(changed)
        }
        .await
    })?;
    if let Some((number, seq)) = changed {
        crate::agents::hub::Hub::of(ctx).ticket_changed(number, seq);
    }
    tracing::info!(outbox_id, failed = bounce.failed, recipient = bounce.recipient, "delivery report recorded");
    Ok(Outcome::Bounce)
}

/// Whose turn it is to write a received message. SQLite takes one writer at a time and makes the
/// others sleep and retry (its busy timeout), which wastes most of the time when many messages
/// arrive at once; queueing them here hands the database from one to the next at once. On
/// PostgreSQL, writers run side by side and nobody waits here.
#[derive(Debug, Default)]
pub struct IngestTurn(tokio::sync::Mutex<()>);

/// A readable message that passed the guards, ready to store.
struct Incoming<'a> {
    mailbox: &'a MailboxRow,
    parsed: &'a Parsed,
    sender: &'a str,
    requester: i64,
    followers: Vec<String>,
    html: String,
    raw: Vec<u8>,
}

/// Stores the message as a new ticket (`target` none) or a reply on ticket `target`, in one
/// transaction with its Message-ID, original, files, followers and acknowledgement.
async fn store(ctx: &AppContext, mail: Incoming<'_>, target: Option<i64>) -> Result<Outcome> {
    let Incoming { mailbox, parsed, sender, requester, followers, raw, .. } = &mail;
    let body = MessageBody::lenient(&parsed.text);
    let subject = Subject::lenient(&parsed.subject);
    let (kept, too_big): (Vec<_>, Vec<_>) = parsed
        .files
        .iter()
        .filter(|f| !f.data.is_empty())
        .partition(|f| f.data.len() <= MAX_FILE_BYTES);
    let mut html = mail.html.clone();
    for file in &too_big {
        html.push_str(&format!(
            "<p class=\"mail-file-note\">{} ({:.1} MB) is too large to keep as a file; it is in the original message.</p>",
            crate::platform::html::escape(&file.name),
            mb(file.data.len())
        ));
    }
    let now = Timestamp::now();
    let author = Author::Contact(*requester);
    let acknowledge = mailbox.acknowledge && parsed.automatic.is_none();
    let _turn = match ctx.db() {
        Db::Sqlite(_) => Some(ctx.part::<IngestTurn>().0.lock().await),
        Db::Postgres(_) => None,
    };
    let result = on_pool!(ctx.db(), |pool| {
        async {
            let mut tx = pool.begin_write().await?;
            let (ticket_id, number, seq, message_id, notified, created) = match target {
                Some(ticket_id) => {
                    // An automatic answer (an out-of-office) is kept, but neither reopens the
                    // ticket nor wakes anyone.
                    let quiet = parsed.automatic.is_some();
                    let posted = tickets::post_message_rows(&mut *tx, ticket_id, author, MessageKind::Reply, &body, &html, now, quiet).await?;
                    (ticket_id, posted.number, posted.seq, posted.message_id, posted.notified, false)
                }
                None => {
                    let draft = tickets::Draft {
                        subject: &subject,
                        body: &body,
                        body_html: &html,
                        priority: Priority::Normal,
                        channel: Channel::Email,
                        tags: &[],
                    };
                    let inserted = tickets::insert_ticket_rows(&mut *tx, *requester, &draft, author, now).await?;
                    if let Some(team) = mailbox.team_id {
                        sqlx::query("UPDATE tickets SET team_id = $2 WHERE id = $1")
                            .bind(inserted.id)
                            .bind(team)
                            .execute(&mut *tx)
                            .await?;
                    }
                    (inserted.id, inserted.number, inserted.seq, inserted.message_id, Vec::new(), true)
                }
            };
            sqlx::query(
                "INSERT INTO ticket_mail (ticket_id, mailbox_id, customer_address) VALUES ($1, $2, $3)
                 ON CONFLICT (ticket_id) DO NOTHING",
            )
            .bind(ticket_id)
            .bind(mailbox.id)
            .bind(*sender)
            .execute(&mut *tx)
            .await?;
            let stored = sqlx::query(
                "INSERT INTO mail_messages (message_id, direction, mailbox_id, ticket_id, ticket_message_id, from_address, auto_submitted, raw, created_at)
                 VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(&parsed.message_id)
            .bind(mailbox.id)
            .bind(ticket_id)
            .bind(message_id)
            .bind(*sender)
            .bind(parsed.automatic.is_some())
            .bind(raw.as_slice())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if stored == 0 {
                // Another delivery of the same message won the race: it is stored once.
                tx.rollback().await?;
                return Ok::<_, Error>(None);
            }
            for follower in followers {
                sqlx::query(
                    "INSERT INTO ticket_followers (ticket_id, email) SELECT $1, $2
                     WHERE NOT EXISTS (SELECT 1 FROM ticket_mail WHERE ticket_id = $1 AND customer_address = $2)
                     ON CONFLICT (ticket_id, email) DO NOTHING",
                )
                .bind(ticket_id)
                .bind(follower)
                .execute(&mut *tx)
                .await?;
            }
            for file in &kept {
                sqlx::query(
                    "INSERT INTO mail_attachments (ticket_message_id, file_name, content_type, inline, size, data, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(message_id)
                .bind(&file.name)
                .bind(&file.content_type)
                .bind(file.inline)
                .bind(file.data.len() as i64)
                .bind(&file.data)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if created && acknowledge {
                // At most one acknowledgement per thread: only a new ticket earns one.
                sqlx::query(
                    "INSERT INTO mail_outbox (kind, mailbox_id, ticket_id, to_address, next_attempt_at, created_at)
                     VALUES ('acknowledgement', $1, $2, $3, $4, $4)",
                )
                .bind(mailbox.id)
                .bind(ticket_id)
                .bind(*sender)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE ticket_mail SET acknowledged = TRUE WHERE ticket_id = $1")
                    .bind(ticket_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Some((tickets::Posted { message_id, number, seq, notified }, created)))
        }
        .await
    })?;
    let Some((posted, created)) = result else { return Ok(Outcome::Duplicate) };
    posted.announce(ctx);
    if created {
        Ok(Outcome::Created { number: posted.number })
    } else {
        Ok(Outcome::Added { number: posted.number })
    }
}

//! What admins and agents do with email: admins set up mailboxes (and the secret of the HTTP
//! endpoint), read the outbox, and release or delete quarantined mail; agents see a ticket's
//! email side (followers, each reply's delivery state, originals and files) and choose which
//! notifications they get by email. [`authorize`] is the one place deciding who may do what.

use crate::agents::Agent;
use crate::agents::password::{random_token, token_hash};
use crate::error::{Error, Result};
use crate::mail::inbound::{Guards, MailboxRow, Outcome, receive_raw};
use crate::mail::{
    DeliveryState, MailFile, MailPreferences, Mailbox, MailboxInput, MessageMail, OutboxEmail,
    QuarantinedMail, TicketMail,
};
use crate::mail::settings::MailSettings;
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, Db, on_pool};
use crate::platform::time::Timestamp;

/// What an actor wants to do with email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailAction {
    /// Set up mailboxes, read the outbox, handle the quarantine.
    Administer,
    /// See a ticket's email side and download originals and files.
    Read,
}

/// Decides whether `actor` may do `action`: admins administer, every active agent reads.
pub fn authorize(actor: &Agent, action: MailAction) -> Result<()> {
    match action {
        _ if !actor.active => Err(Error::Unauthenticated),
        MailAction::Administer if !actor.is_admin() => Err(Error::Forbidden),
        MailAction::Administer | MailAction::Read => Ok(()),
    }
}

type MailboxRecord = (i64, String, String, String, Option<i64>, String, bool, String, String, bool, Option<String>);



fn mailbox(r: MailboxRecord) -> Mailbox {
    let settings = MailboxInput {
        name: r.1,
        address: r.2,
        display_name: r.3,
        team_id: r.4,
        signature: r.5,
        acknowledge: r.6,
        ack_subject: r.7,
        ack_body: r.8,
        plus_addressing: r.9,
    };
    Mailbox { id: r.0, settings, has_inbound_secret: r.10.is_some(), imap: None, smtp: None }
}

/// A mailbox with how the configuration connects it: the IMAP account it is read from and the
/// server its mail goes through (no credentials).
fn connected(ctx: &AppContext, mut mailbox: Mailbox) -> Mailbox {
    let settings = ctx.part::<MailSettings>();
    mailbox.imap = settings
        .imap
        .iter()
        .find(|i| i.mailbox == mailbox.settings.name)
        .map(|i| format!("{}@{}:{}", i.username, i.host, i.port));
    mailbox.smtp = settings.smtp.as_ref().map(|s| format!("{}:{}", s.host, s.port));
    mailbox
}

/// Binds a mailbox's settings as `$1` to `$9` and the time as `$10`, in the order of
/// [`MAILBOX_FIELDS`].
macro_rules! bind_mailbox {
    ($query:expr, $input:expr, $now:expr) => {
        $query
            .bind(&$input.name)
            .bind(&$input.address)
            .bind(&$input.display_name)
            .bind($input.team_id)
            .bind(&$input.signature)
            .bind($input.acknowledge)
            .bind(&$input.ack_subject)
            .bind(&$input.ack_body)
            .bind($input.plus_addressing)
            .bind($now)
    };
}

/// The settings columns, in the order [`bind_mailbox!`] binds them.
const MAILBOX_FIELDS: &str = "name, address, display_name, team_id, signature, acknowledge, ack_subject, ack_body, plus_addressing";

/// Every mailbox, by name.
pub async fn mailboxes(ctx: &AppContext, actor: &Agent) -> Result<Vec<Mailbox>> {
    authorize(actor, MailAction::Administer)?;
    let sql = format!("SELECT id, {MAILBOX_FIELDS}, inbound_secret_hash FROM mailboxes ORDER BY name");
    let rows: Vec<MailboxRecord> =
        on_pool!(ctx.db(), |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|row| connected(ctx, mailbox(row))).collect())
}

async fn load_mailbox(db: &Db, id: i64) -> Result<Mailbox> {
    let sql = format!("SELECT id, {MAILBOX_FIELDS}, inbound_secret_hash FROM mailboxes WHERE id = $1");
    let row: Option<MailboxRecord> =
        on_pool!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
    row.map(mailbox).ok_or(Error::NotFound("mailbox"))
}

fn taken(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::Conflict("Another mailbox has this name or address.".into())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::invalid("team_id", "Choose an existing team.")
        }
        _ => Error::Database(e),
    }
}

/// Adds a mailbox.
pub async fn create_mailbox(ctx: &AppContext, actor: &Agent, input: MailboxInput) -> Result<Mailbox> {
    authorize(actor, MailAction::Administer)?;
    let input = input.validate().map_err(Error::Invalid)?;
    let now = Timestamp::now();
    let sql = format!(
        "INSERT INTO mailboxes ({MAILBOX_FIELDS}, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id"
    );
    let id: i64 = on_pool!(ctx.db(), |pool| bind_mailbox!(sqlx::query_scalar(&sql), input, now)
        .fetch_one(pool)
        .await)
    .map_err(taken)?;
    load_mailbox(ctx.db(), id).await
}

/// Changes a mailbox.
pub async fn update_mailbox(
    ctx: &AppContext,
    actor: &Agent,
    id: i64,
    input: MailboxInput,
) -> Result<Mailbox> {
    authorize(actor, MailAction::Administer)?;
    let input = input.validate().map_err(Error::Invalid)?;
    let sql = format!(
        "UPDATE mailboxes SET ({MAILBOX_FIELDS}, updated_at) = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         WHERE id = $11"
    );
    let changed = on_pool!(ctx.db(), |pool| bind_mailbox!(sqlx::query(&sql), input, Timestamp::now())
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
    .map_err(taken)?;
    if changed == 0 {
        return Err(Error::NotFound("mailbox"));
    }
    load_mailbox(ctx.db(), id).await
}

/// Makes a new secret for the mailbox's HTTP endpoint (the old one stops working) and returns
/// it: shown once, only its hash is stored.
pub async fn new_inbound_secret(ctx: &AppContext, actor: &Agent, id: i64) -> Result<String> {
    authorize(actor, MailAction::Administer)?;
    let secret = random_token(32);
    let changed = on_pool!(ctx.db(), |pool| sqlx::query(
        "UPDATE mailboxes SET inbound_secret_hash = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(token_hash(&secret))
    .bind(Timestamp::now())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    if changed == 0 {
        return Err(Error::NotFound("mailbox"));
    }
    Ok(secret)
}

/// Receives a message posted to the HTTP endpoint of mailbox `name` with `secret`. A wrong or
/// missing secret, a mailbox without one, or no such mailbox is [`Error::Unauthenticated`].
pub async fn receive_posted(
    ctx: &AppContext,
    name: &str,
    secret: &str,
    raw: Vec<u8>,
) -> Result<Outcome> {
    let row: Option<(i64, Option<String>)> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT id, inbound_secret_hash FROM mailboxes WHERE name = $1"
    )
    .bind(name.trim().to_ascii_lowercase())
    .fetch_optional(pool)
    .await)?;
    // An unknown mailbox answers like a wrong secret: names cannot be probed.
    let Some((_, stored)) = row else { return Err(Error::Unauthenticated) };
    let given = token_hash(secret);
    let matches = stored.is_some_and(|s| {
        s.len() == given.len() && s.bytes().zip(given.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    });
    if !matches {
        return Err(Error::Unauthenticated);
    }
    crate::mail::receive(ctx, name, raw).await
}

/// The newest outbox emails (admins only).
pub async fn outbox(ctx: &AppContext, actor: &Agent) -> Result<Vec<OutboxEmail>> {
    authorize(actor, MailAction::Administer)?;
    Ok(on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT id, kind, COALESCE(to_address, '') AS to_email, COALESCE(subject, '') AS subject,
                COALESCE(body, '') AS body, state, attempts, last_result, created_at
         FROM mail_outbox ORDER BY id DESC LIMIT 100"
    )
    .fetch_all(pool)
    .await)?)
}

/// The quarantine, newest first.
pub async fn quarantine(ctx: &AppContext, actor: &Agent) -> Result<Vec<QuarantinedMail>> {
    authorize(actor, MailAction::Administer)?;
    let size = match ctx.db() {
        Db::Sqlite(_) => "length(q.raw)",
        Db::Postgres(_) => "octet_length(q.raw)::BIGINT",
    };
    let sql = format!(
        "SELECT q.id, b.name AS mailbox, q.from_address, q.subject, q.reason, {size} AS size, q.created_at
         FROM mail_quarantine q LEFT JOIN mailboxes b ON b.id = q.mailbox_id
         ORDER BY q.id DESC LIMIT 200"
    );
    Ok(on_pool!(ctx.db(), |pool| sqlx::query_as(&sql).fetch_all(pool).await)?)
}

/// Lets a quarantined message through (guards off): it becomes a ticket or a reply like any
/// other mail, then leaves the quarantine. A message that cannot be read stays.
pub async fn release(ctx: &AppContext, actor: &Agent, id: i64) -> Result<Outcome> {
    authorize(actor, MailAction::Administer)?;
    let held: Option<(Option<i64>, Vec<u8>, bool)> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT mailbox_id, raw, complete FROM mail_quarantine WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    let (mailbox_id, raw, complete) = held.ok_or(Error::NotFound("quarantined message"))?;
    if !complete {
        return Err(Error::Conflict(
            "Only the beginning of this message was kept (it was too large): it cannot be released. Ask the sender for a smaller one.".into(),
        ));
    }
    let mailbox: MailboxRow = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT id, team_id, acknowledge FROM mailboxes WHERE id = $1 OR $1 IS NULL ORDER BY id LIMIT 1"
    )
    .bind(mailbox_id)
    .fetch_optional(pool)
    .await)?
    .ok_or(Error::NotFound("mailbox"))?;
    let outcome = receive_raw(ctx, &mailbox, raw, Guards::Released).await?;
    if let Outcome::Quarantined { reason } = &outcome {
        return Err(Error::Conflict(format!("This message cannot be released: {reason}.")));
    }
    delete_quarantined(ctx.db(), id).await?;
    Ok(outcome)
}

/// Deletes a quarantined message for good.
pub async fn delete_from_quarantine(ctx: &AppContext, actor: &Agent, id: i64) -> Result<()> {
    authorize(actor, MailAction::Administer)?;
    if delete_quarantined(ctx.db(), id).await? == 0 {
        return Err(Error::NotFound("quarantined message"));
    }
    Ok(())
}

async fn delete_quarantined(db: &Db, id: i64) -> Result<u64> {
    Ok(on_pool!(db, |pool| sqlx::query("DELETE FROM mail_quarantine WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
}

/// The email side of ticket `number`.
pub async fn ticket_mail(ctx: &AppContext, actor: &Agent, number: i64) -> Result<TicketMail> {
    authorize(actor, MailAction::Read)?;
    let db = ctx.db();
    let ticket_id: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM tickets WHERE number = $1"
    )
    .bind(number)
    .fetch_optional(pool)
    .await)?
    .ok_or(Error::NotFound("ticket"))?;
    let head: Option<(String, String, Option<String>)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT b.address, m.customer_address, x.reason FROM ticket_mail m
         JOIN mailboxes b ON b.id = m.mailbox_id
         LEFT JOIN mail_bounces x ON x.email = m.customer_address
         WHERE m.ticket_id = $1"
    )
    .bind(ticket_id)
    .fetch_optional(pool)
    .await)?;
    let followers: Vec<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT email FROM ticket_followers WHERE ticket_id = $1 ORDER BY email"
    )
    .bind(ticket_id)
    .fetch_all(pool)
    .await)?;
    let deliveries: Vec<(i64, String, Option<String>)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT ticket_message_id, state, last_result FROM mail_outbox
         WHERE ticket_id = $1 AND kind = 'reply' AND ticket_message_id IS NOT NULL ORDER BY id"
    )
    .bind(ticket_id)
    .fetch_all(pool)
    .await)?;
    let originals: Vec<(i64, i64)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT ticket_message_id, id FROM mail_messages
         WHERE ticket_id = $1 AND direction = 'in' AND ticket_message_id IS NOT NULL ORDER BY id"
    )
    .bind(ticket_id)
    .fetch_all(pool)
    .await)?;
    let files: Vec<(i64, i64, String, String, i64)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT f.ticket_message_id, f.id, f.file_name, f.content_type, f.size FROM mail_attachments f
         JOIN ticket_messages m ON m.id = f.ticket_message_id WHERE m.ticket_id = $1 ORDER BY f.id"
    )
    .bind(ticket_id)
    .fetch_all(pool)
    .await)?;
    let mut messages: Vec<MessageMail> = Vec::new();
    for (message, state, result) in deliveries {
        let state: DeliveryState =
            state.parse().map_err(|e: crate::error::FieldError| Error::internal(e.message))?;
        slot(&mut messages, message).delivery = Some((state, result));
    }
    for (message, original) in originals {
        slot(&mut messages, message).original_id = Some(original);
    }
    for (message, id, file_name, content_type, size) in files {
        slot(&mut messages, message).files.push(MailFile { id, file_name, content_type, size });
    }
    let (mailbox, customer_address, customer_bounced) = match head {
        Some((mailbox, customer, bounced)) => (Some(mailbox), Some(customer), bounced),
        None => (None, None, None),
    };
    Ok(TicketMail { mailbox, customer_address, customer_bounced, followers, messages })
}

/// The entry for ticket message `id`, added when missing.
fn slot(messages: &mut Vec<MessageMail>, id: i64) -> &mut MessageMail {
    let at = match messages.iter().position(|m| m.message_id == id) {
        Some(at) => at,
        None => {
            messages.push(MessageMail { message_id: id, delivery: None, original_id: None, files: Vec::new() });
            messages.len() - 1
        }
    };
    &mut messages[at]
}

/// A received message's original bytes, for an `.eml` download.
pub async fn original(ctx: &AppContext, actor: &Agent, id: i64) -> Result<Vec<u8>> {
    authorize(actor, MailAction::Read)?;
    let raw: Option<Option<Vec<u8>>> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "SELECT raw FROM mail_messages WHERE id = $1 AND direction = 'in'"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    raw.flatten().ok_or(Error::NotFound("email"))
}

/// A file that came with an email, and its bytes.
pub async fn file(ctx: &AppContext, actor: &Agent, id: i64) -> Result<(MailFile, Vec<u8>)> {
    authorize(actor, MailAction::Read)?;
    let row: Option<(i64, String, String, i64, Vec<u8>)> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT id, file_name, content_type, size, data FROM mail_attachments WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    let (id, file_name, content_type, size, data) = row.ok_or(Error::NotFound("file"))?;
    Ok((MailFile { id, file_name, content_type, size }, data))
}

/// The notification kinds each preference covers.
const PREFERENCE_KINDS: [(&str, &[&str]); 3] = [
    ("assigned", &["assigned"]),
    ("customer_replied", &["customer_replied"]),
    ("sla", &["sla_warning", "sla_breached"]),
];

/// Which notifications the actor gets by email.
pub async fn preferences(ctx: &AppContext, actor: &Agent) -> Result<MailPreferences> {
    authorize(actor, MailAction::Read)?;
    let off: Vec<String> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "SELECT kind FROM agent_mail_optouts WHERE agent_id = $1"
    )
    .bind(actor.id)
    .fetch_all(pool)
    .await)?;
    let on = |kinds: &[&str]| !kinds.iter().any(|k| off.iter().any(|o| o == k));
    Ok(MailPreferences {
        assigned: on(PREFERENCE_KINDS[0].1),
        customer_replied: on(PREFERENCE_KINDS[1].1),
        sla: on(PREFERENCE_KINDS[2].1),
    })
}

/// Sets which notifications the actor gets by email.
pub async fn set_preferences(
    ctx: &AppContext,
    actor: &Agent,
    wanted: MailPreferences,
) -> Result<MailPreferences> {
    authorize(actor, MailAction::Read)?;
    let flags = [wanted.assigned, wanted.customer_replied, wanted.sla];
    on_pool!(ctx.db(), |pool| {
        async {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM agent_mail_optouts WHERE agent_id = $1")
                .bind(actor.id)
                .execute(&mut *tx)
                .await?;
            for ((_, kinds), on) in PREFERENCE_KINDS.iter().zip(flags) {
                for kind in kinds.iter().filter(|_| !on) {
                    sqlx::query("INSERT INTO agent_mail_optouts (agent_id, kind) VALUES ($1, $2)")
                        .bind(actor.id)
                        .bind(*kind)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await
        }
        .await
    })?;
    preferences(ctx, actor).await
}

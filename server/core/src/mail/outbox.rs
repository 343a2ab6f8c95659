//! Sending the outbox. A sender claims due rows by leasing them (state `sending`, a lease time),
//! so two senders, in one process or two, never send one row at once; a row whose sender died
//! is claimed again when its lease runs out. Each row gets its Message-ID at its first claim,
//! committed before anything is sent, and keeps it across retries, so the threading index knows
//! it before the customer can answer. The mail is composed from the database when sent (the
//! reply's text, the mailbox's name and signature, the thread's ids), recorded with the server's
//! answer, and retried with exponential backoff when the server fails for a while; a permanent
//! refusal, or too many tries, marks it failed with the server's words.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox as Address, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::mail::settings::{MailSettings, Security, SmtpSettings};
use crate::mail::threading::ThreadKey;
use crate::platform::context::AppContext;
use crate::platform::db::{Db, on_pool};
use crate::platform::html::escape;
use crate::platform::time::Timestamp;

/// Rows claimed per round (each one's lease is renewed right before it is sent).
const BATCH: i64 = 16;
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);
/// How many ids a `References` header lists at most.
const MAX_REFERENCES: i64 = 20;

/// What one round of sending did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Accepted by the server.
    pub sent: usize,
    /// To be tried again later.
    pub retrying: usize,
    /// Given up.
    pub failed: usize,
}

impl SendReport {
    /// Rows handled.
    pub fn handled(&self) -> usize {
        self.sent + self.retrying + self.failed
    }
}

/// The connection to the outgoing server, made on first use and shared by every send.
#[derive(Default)]
pub(crate) struct Transport(OnceCell<Arc<AsyncSmtpTransport<Tokio1Executor>>>);

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transport")
    }
}

impl Transport {
    async fn get(&self, smtp: &SmtpSettings) -> Result<Arc<AsyncSmtpTransport<Tokio1Executor>>> {
        self.0
            .get_or_try_init(|| async {
                let builder = match smtp.security {
                    Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
                    Security::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    }
                    Security::Plain => {
                        Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host))
                    }
                }
                .map_err(|e| Error::internal_from("the SMTP settings are not usable", e))?;
                let mut builder = builder.port(smtp.port).timeout(Some(smtp.timeout));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Ok::<_, Error>(Arc::new(builder.build()))
            })
            .await
            .cloned()
    }
}

/// A claimed row.
#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    id: i64,
    kind: String,
    mailbox_id: Option<i64>,
    ticket_id: Option<i64>,
    ticket_message_id: Option<i64>,
    notification_id: Option<i64>,
    to_address: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    message_id: Option<String>,
    attempts: i64,
}

/// Claims the rows that are due and sends them. Without SMTP settings nothing is sent (mail
/// waits, readable by admins). Returns what it did; zero rows handled means the outbox is idle.
pub async fn send_due(ctx: &AppContext) -> Result<SendReport> {
    let settings = ctx.part::<MailSettings>();
    let Some(smtp) = &settings.smtp else { return Ok(SendReport::default()) };
    let token = crate::agents::password::random_token(12);
    let claimed = claim(ctx.db(), settings.lease, BATCH, &token).await?;
    let mut report = SendReport::default();
    if claimed.is_empty() {
        return Ok(report);
    }
    let transport = ctx.part::<Transport>().get(smtp).await?;
    for row in claimed {
        let (id, attempts) = (row.id, row.attempts);
        // The lease runs from now for this send; a row whose lease ran out while earlier ones
        // were sent may belong to another sender by now, and is left to it.
        if !renew(ctx.db(), id, &token, settings.lease).await? {
            continue;
        }
        let outcome = match compose(ctx, row).await {
            Ok(message) => send(&transport, smtp, message).await,
            Err(Error::NotFound(what)) => Err(Failure::Permanent(format!("{what} no longer exists"))),
            Err(Error::Conflict(why)) => Err(Failure::Permanent(why)),
            Err(other) => return Err(other),
        };
        let state = settle(ctx.db(), settings, id, &token, attempts, outcome).await?;
        match state {
            Settled::Sent => report.sent += 1,
            Settled::Retrying => report.retrying += 1,
            Settled::Failed => report.failed += 1,
        }
    }
    Ok(report)
}

/// Extends the lease on row `id` if `token`'s claim still holds it.
async fn renew(db: &Db, id: i64, token: &str, lease: Duration) -> Result<bool> {
    let held = on_pool!(db, |pool| sqlx::query(
        "UPDATE mail_outbox SET lease_until = $3 WHERE id = $1 AND lease_token = $2 AND state = 'sending'"
    )
    .bind(id)
    .bind(token)
    .bind(Timestamp::now().plus(lease))
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(held == 1)
}

async fn claim(db: &Db, lease: Duration, batch: i64, token: &str) -> Result<Vec<Claimed>> {
    let now = Timestamp::now();
    let due = "SELECT id FROM mail_outbox
               WHERE (state IN ('queued', 'retrying') AND next_attempt_at <= $2)
                  OR (state = 'sending' AND lease_until < $2)
               ORDER BY id LIMIT $3";
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE mail_outbox SET state = 'sending', lease_until = $1, lease_token = $4, attempts = attempts + 1
         WHERE id IN ({due}{lock})
         RETURNING id, kind, mailbox_id, ticket_id, ticket_message_id, notification_id, to_address, subject, body, message_id, attempts"
    );
    let mut rows: Vec<Claimed> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(now.plus(lease))
        .bind(now)
        .bind(batch)
        .bind(token)
        .fetch_all(pool)
        .await)?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Why a send failed.
#[derive(Debug)]
enum Failure {
    /// Trying again will not help (a 5xx answer, an unusable address).
    Permanent(String),
    /// It may work later (connection refused, a 4xx answer, a timeout).
    Transient(String),
}

/// Sends the email to its main recipient, then a copy to each other one: a copied address the
/// server refuses must not stop the customer's copy. Only the main recipient's result settles
/// the row; refused copies are named in its result.
async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    smtp: &SmtpSettings,
    mut message: Message,
) -> std::result::Result<String, Failure> {
    if let Some(dkim) = &smtp.dkim {
        let key = lettre::message::dkim::DkimSigningKey::new(
            &dkim.private_key_pem,
            lettre::message::dkim::DkimSigningAlgorithm::Rsa,
        )
        .map_err(|e| Failure::Permanent(format!("the DKIM key is not usable: {e}")))?;
        let config = lettre::message::dkim::DkimConfig::default_config(
            dkim.selector.clone(),
            dkim.domain.clone(),
            key,
        );
        message.sign(&config);
    }
    let envelope = message.envelope().clone();
    let raw = message.formatted();
    let mut recipients = envelope.to().iter();
    let main = recipients.next().cloned().ok_or_else(|| Failure::Permanent("no recipient".into()))?;
    let to = |rcpt: lettre::Address| {
        lettre::address::Envelope::new(envelope.from().cloned(), vec![rcpt])
            .map_err(|e| Failure::Permanent(e.to_string()))
    };
    let mut words = match transport.send_raw(&to(main)?, &raw).await {
        Ok(response) => {
            let words: Vec<&str> = response.message().collect();
            format!("{} {}", response.code(), words.join(" ")).trim().to_owned()
        }
        Err(e) if e.is_permanent() => return Err(Failure::Permanent(server_words(&e))),
        Err(e) => return Err(Failure::Transient(server_words(&e))),
    };
    for copy in recipients {
        if let Err(e) = transport.send_raw(&to(copy.clone())?, &raw).await {
            words.push_str(&format!("; not delivered to {copy}: {}", server_words(&e)));
        }
    }
    Ok(words.chars().take(1000).collect())
}

/// The error as the server said it, with its causes (no secrets are in these).
fn server_words(error: &lettre::transport::smtp::Error) -> String {
    let mut words = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !words.contains(&text) {
            words.push_str(": ");
            words.push_str(&text);
        }
        source = cause.source();
    }
    words.chars().take(500).collect()
}

enum Settled {
    Sent,
    Retrying,
    Failed,
}

async fn settle(
    db: &Db,
    settings: &MailSettings,
    id: i64,
    token: &str,
    attempts: i64,
    outcome: std::result::Result<String, Failure>,
) -> Result<Settled> {
    let now = Timestamp::now();
    let (state, settled, words, next) = match outcome {
        Ok(words) => ("sent", Settled::Sent, words, now),
        Err(Failure::Permanent(words)) => ("failed", Settled::Failed, words, now),
        Err(Failure::Transient(words)) if attempts >= settings.max_attempts => {
            ("failed", Settled::Failed, format!("gave up after {attempts} tries: {words}"), now)
        }
        Err(Failure::Transient(words)) => {
            let exponent = u32::try_from(attempts.saturating_sub(1).min(20)).unwrap_or(20);
            let wait = settings.retry_base.saturating_mul(2u32.saturating_pow(exponent)).min(MAX_BACKOFF);
            ("retrying", Settled::Retrying, words, now.plus(wait))
        }
    };
    if state != "sent" {
        tracing::warn!(outbox_id = id, attempts, state, result = %words, "mail not sent");
    }
    // Only this claim settles the row (a bounce's 'failed' stands). A sign-in link's text is
    // dropped once sent: admins read links only while mail cannot go out.
    on_pool!(db, |pool| sqlx::query(
        "UPDATE mail_outbox SET state = $2, last_result = $3, next_attempt_at = $4, lease_until = NULL, lease_token = NULL,
             sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END,
             body = CASE WHEN $2 = 'sent' AND kind = 'sign_in' THEN NULL ELSE body END
         WHERE id = $1 AND state = 'sending' AND lease_token = $6"
    )
    .bind(id)
    .bind(state)
    .bind(&words)
    .bind(next)
    .bind(now)
    .bind(token)
    .execute(pool)
    .await
    .map(drop))?;
    Ok(settled)
}

/// Who a mailbox sends as.
#[derive(Debug, sqlx::FromRow)]
struct Sender {
    id: i64,
    address: String,
    display_name: String,
    signature: String,
    plus_addressing: bool,
    ack_subject: String,
    ack_body: String,
}

async fn sender(db: &Db, mailbox_id: Option<i64>) -> Result<Sender> {
    let found: Option<Sender> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, address, display_name, signature, plus_addressing, ack_subject, ack_body FROM mailboxes
         WHERE id = $1 OR $1 IS NULL ORDER BY (id = $1) DESC, id LIMIT 1"
    )
    .bind(mailbox_id)
    .fetch_optional(pool)
    .await)?;
    found.ok_or_else(|| Error::Conflict("no mailbox is set up to send from".into()))
}

fn address(email: &str, name: Option<&str>) -> Result<Address> {
    let email = email
        .parse()
        .map_err(|_| Error::Conflict(format!("'{email}' is not an address mail can be sent to")))?;
    Ok(Address::new(name.map(str::to_owned), email))
}

fn bracketed(id: &str) -> String {
    format!("<{id}>")
}

/// Gives the row its Message-ID (once; committed before sending) and, for mail on a ticket,
/// enters it in the threading index. Returns the id.
async fn assign_message_id(db: &Db, row: &Claimed, sender: &Sender) -> Result<String> {
    if let Some(id) = &row.message_id {
        return Ok(id.clone());
    }
    let domain = sender.address.rsplit_once('@').map_or("frontdesk.invalid", |(_, d)| d);
    let id = format!(
        "fd.{}.{}@{domain}",
        row.id,
        crate::agents::password::random_token(9).replace(['-', '_'], "x")
    );
    let id = on_pool!(db, |pool| {
        async {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE mail_outbox SET message_id = $2 WHERE id = $1 AND message_id IS NULL")
                .bind(row.id)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            // Whoever stored one first, that id is the email's.
            let id: String = sqlx::query_scalar("SELECT message_id FROM mail_outbox WHERE id = $1")
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?;
            if let (Some(ticket_id), "reply" | "acknowledgement") = (row.ticket_id, row.kind.as_str()) {
                sqlx::query(
                    "INSERT INTO mail_messages (message_id, direction, mailbox_id, ticket_id, ticket_message_id, from_address, created_at)
                     VALUES ($1, 'out', $2, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING",
                )
                .bind(&id)
                .bind(sender.id)
                .bind(ticket_id)
                .bind(row.ticket_message_id)
                .bind(&sender.address)
                .bind(Timestamp::now())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }
        .await
    })?;
    Ok(id)
}

/// The ids a ticket's mail carries: the newest received one (to answer) and the thread so far.
async fn thread_ids(db: &Db, ticket_id: i64, own: &str) -> Result<(Option<String>, Vec<String>)> {
    let mut ids: Vec<(String, String)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT message_id, direction FROM mail_messages
         WHERE ticket_id = $1 AND message_id <> $2 AND ticket_message_id IS NOT NULL
         ORDER BY id DESC LIMIT $3"
    )
    .bind(ticket_id)
    .bind(own)
    .bind(MAX_REFERENCES)
    .fetch_all(pool)
    .await)?;
    let answering = ids.iter().find(|(_, d)| d == "in").map(|(id, _)| id.clone());
    ids.reverse();
    Ok((answering, ids.into_iter().map(|(id, _)| id).collect()))
}

fn header(name: &str, value: &str) -> HeaderValue {
    HeaderValue::new(
        HeaderName::new_from_ascii(name.to_owned()).expect("a valid header name"),
        value.to_owned(),
    )
}

/// Fills `{name}` placeholders.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| text.replace(&format!("{{{key}}}"), value))
}

async fn compose(ctx: &AppContext, row: Claimed) -> Result<Message> {
    let db = ctx.db();
    let sender = sender(db, row.mailbox_id).await?;
    let message_id = assign_message_id(db, &row, &sender).await?;
    let from = address(&sender.address, Some(&sender.display_name))?;
    let builder = Message::builder().from(from).message_id(Some(bracketed(&message_id))).date_now();
    let key = ctx.part::<ThreadKey>();
    let message = match row.kind.as_str() {
        "reply" => {
            let ticket_id = row.ticket_id.ok_or(Error::NotFound("the ticket"))?;
            let message = row.ticket_message_id.ok_or(Error::NotFound("the reply"))?;
            let (number, subject, customer): (i64, String, String) = on_pool!(db, |pool| sqlx::query_as(
                "SELECT t.number, t.subject, m.customer_address FROM tickets t JOIN ticket_mail m ON m.ticket_id = t.id WHERE t.id = $1"
            )
            .bind(ticket_id)
            .fetch_optional(pool)
            .await)?
            .ok_or(Error::NotFound("the ticket"))?;
            let (text, html): (String, String) = on_pool!(db, |pool| sqlx::query_as(
                "SELECT body, body_html FROM ticket_messages WHERE id = $1 AND kind = 'reply'"
            )
            .bind(message)
            .fetch_optional(pool)
            .await)?
            .ok_or(Error::NotFound("the reply"))?;
            let followers: Vec<String> = on_pool!(db, |pool| sqlx::query_scalar(
                "SELECT email FROM ticket_followers WHERE ticket_id = $1 ORDER BY email"
            )
            .bind(ticket_id)
            .fetch_all(pool)
            .await)?;
            let tag = key.tag(number);
            let (answering, references) = thread_ids(db, ticket_id, &message_id).await?;
            let mut builder = builder
                .to(address(&customer, None)?)
                .subject(format!("Re: {subject} [#{tag}]"));
            for follower in followers.iter().filter(|f| **f != customer) {
                builder = builder.cc(address(follower, None)?);
            }
            if sender.plus_addressing {
                let (local, domain) = sender.address.split_once('@').unwrap_or_default();
                builder = builder.reply_to(address(&format!("{local}+{tag}@{domain}"), Some(&sender.display_name))?);
            }
            if let Some(answering) = answering {
                builder = builder.in_reply_to(bracketed(&answering));
            }
            if !references.is_empty() {
                builder = builder.references(references.iter().map(|r| bracketed(r)).collect::<Vec<_>>().join(" "));
            }
            let (text, html) = with_signature(&text, &html, &sender.signature);
            record_composed(db, row.id, &customer, &format!("Re: {subject}")).await?;
            builder.multipart(MultiPart::alternative_plain_html(text, html))
        }
        "acknowledgement" => {
            let ticket_id = row.ticket_id.ok_or(Error::NotFound("the ticket"))?;
            let to = row.to_address.clone().ok_or(Error::NotFound("the recipient"))?;
            let (number, subject, name): (i64, String, String) = on_pool!(db, |pool| sqlx::query_as(
                "SELECT t.number, t.subject, c.name FROM tickets t JOIN contacts c ON c.id = t.requester_id WHERE t.id = $1"
            )
            .bind(ticket_id)
            .fetch_optional(pool)
            .await)?
            .ok_or(Error::NotFound("the ticket"))?;
            let number_text = number.to_string();
            let values = [("number", number_text.as_str()), ("subject", subject.as_str()), ("name", name.as_str())];
            let title = format!("{} [#{}]", fill(&sender.ack_subject, &values), key.tag(number));
            let text = fill(&sender.ack_body, &values);
            let (answering, _) = thread_ids(db, ticket_id, &message_id).await?;
            let mut builder = builder
                .to(address(&to, None)?)
                .subject(title.clone())
                .raw_header(header("Auto-Submitted", "auto-replied"));
            if let Some(answering) = answering {
                builder = builder.in_reply_to(bracketed(&answering.clone())).references(bracketed(&answering));
            }
            record_composed(db, row.id, &to, &title).await?;
            builder.singlepart(SinglePart::plain(text))
        }
        "sign_in" => {
            let to = row.to_address.clone().ok_or(Error::NotFound("the recipient"))?;
            builder
                .to(address(&to, None)?)
                .subject(row.subject.clone().unwrap_or_default())
                .raw_header(header("Auto-Submitted", "auto-generated"))
                .singlepart(SinglePart::plain(row.body.clone().unwrap_or_default()))
        }
        "notification" => {
            let notification = row.notification_id.ok_or(Error::NotFound("the notification"))?;
            let (email, name, text, number): (String, String, String, i64) = on_pool!(db, |pool| sqlx::query_as(
                "SELECT a.email, a.name, n.body, t.number FROM notifications n
                 JOIN agents a ON a.id = n.agent_id JOIN tickets t ON t.id = n.ticket_id
                 WHERE n.id = $1 AND a.active"
            )
            .bind(notification)
            .fetch_optional(pool)
            .await)?
            .ok_or(Error::NotFound("the notification's agent"))?;
            let link = format!("{}/app/tickets/{number}", ctx.settings().public_url.trim_end_matches('/'));
            let title = format!("[frontdesk] {}", text.chars().take(150).collect::<String>());
            record_composed(db, row.id, &email, &title).await?;
            builder
                .to(address(&email, Some(&name))?)
                .subject(title)
                .raw_header(header("Auto-Submitted", "auto-generated"))
                .singlepart(SinglePart::plain(format!("{text}\n\n{link}\n")))
        }
        other => return Err(Error::internal(format!("unknown outbox kind '{other}'"))),
    };
    message.map_err(|e| Error::Conflict(format!("the email could not be built: {e}")))
}

/// Notes who a composed email went to and its subject, for the admins' outbox view.
async fn record_composed(db: &Db, id: i64, to: &str, subject: &str) -> Result<()> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE mail_outbox SET to_address = $2, subject = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(to)
    .bind(subject)
    .execute(pool)
    .await
    .map(drop))?;
    Ok(())
}

/// A reply's text and HTML with the mailbox's signature under them.
fn with_signature(text: &str, html: &str, signature: &str) -> (String, String) {
    // A signature typed with its own separator gets no second one.
    let signature = signature.trim_start_matches("-- \n").trim_start_matches("--\n");
    if signature.trim().is_empty() {
        return (text.to_owned(), html.to_owned());
    }
    let signature_html = escape(signature).replace('\n', "<br>");
    (format!("{text}\n\n-- \n{signature}\n"), format!("{html}<p class=\"signature\">{signature_html}</p>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_their_placeholders_and_leave_the_rest() {
        let text = fill("#{number}: {subject} {unknown}", &[("number", "7"), ("subject", "Hi")]);
        assert_eq!(text, "#7: Hi {unknown}");
    }

    #[test]
    fn signatures_go_under_the_reply_escaped() {
        let (text, html) = with_signature("Hello", "<p>Hello</p>", "Ann <support>");
        assert_eq!(text, "Hello\n\n-- \nAnn <support>\n");
        assert_eq!(with_signature("Hi", "", "-- \nAnn").0, "Hi\n\n-- \nAnn\n", "one separator");
        assert!(html.ends_with("<p class=\"signature\">Ann &lt;support&gt;</p>"), "{html}");
    }
}

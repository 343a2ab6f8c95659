//! The email channel: support mailboxes, mail in (IMAP, an MTA pipe, an HTTP endpoint; all three
//! through one [`receive`]), threading replies onto their tickets, and mail out through a durable
//! outbox. Shared with the browser: the types admins and agents see.
//!
//! - `parse`: one raw message into sender, ids, text, files, bounce report (pure).
//! - `content`: the thread's HTML for an email, quoted history folded.
//! - `threading`: the signed tokens in subject tags and reply addresses.
//! - `inbound`: guards, threading and storing a received message in one transaction; quarantine.
//! - `outbox`: claiming, composing and sending queued mail with leases, retries and backoff.
//! - `imap`: polling (and IDLE) mailboxes, marking a message only after it is stored.
//! - `service`: admins' mailboxes, quarantine and outbox; what the ticket view shows.
//!
//! Mail out is written in the transaction of its cause: agents' public replies on email tickets
//! and agents' notifications by SQL triggers (see the migration), acknowledgements by
//! `inbound`, sign-in links by the portal. Internal notes never enter the outbox.

store! {
    mod content;
    mod imap;
    mod inbound;
    mod outbox;
    pub mod parse;
    mod service;
    mod settings;
    mod threading;
    pub use imap::poll_forever;
    pub use inbound::{IngestTurn, Outcome, receive};
    pub use outbox::{SendReport, send_due};
    pub(crate) use outbox::Transport;
    pub use service::*;
    pub use settings::{DkimSettings, ImapSettings, MailSettings, Security, SmtpSettings};
    pub use threading::ThreadKey;
}

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::platform::time::Timestamp;

named_enum!(
    /// Where an outgoing email is.
    DeliveryState, "state" {
        /// Waiting for the sender.
        Queued = "queued", "Queued";
        /// Being sent now.
        Sending = "sending", "Sending";
        /// Accepted by the mail server.
        Sent = "sent", "Sent";
        /// The last try failed; it will be tried again.
        Retrying = "retrying", "Retrying";
        /// Given up, or bounced.
        Failed = "failed", "Failed";
    }
);

/// A support address, as admins see it. Credentials never appear here: they live in the
/// config file or the environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Database id.
    pub id: i64,
    /// What admins set.
    pub settings: MailboxInput,
    /// Whether the HTTP endpoint is enabled (a secret was made).
    pub has_inbound_secret: bool,
    /// The IMAP account it is read from (`user@host:port`), when the config names one.
    pub imap: Option<String>,
    /// The server mail is sent through (`host:port`), when one is configured.
    pub smtp: Option<String>,
}

/// A mailbox's settings, as an admin submits them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxInput {
    /// The short name the pipe command, the HTTP endpoint and the config use (`support`).
    pub name: String,
    /// The address customers write to.
    pub address: String,
    /// The name mail is sent under.
    pub display_name: String,
    /// The team new tickets go to.
    pub team_id: Option<i64>,
    /// Added under every reply.
    pub signature: String,
    /// Whether new requests get an acknowledgement.
    pub acknowledge: bool,
    /// The acknowledgement's subject (`{number}` and `{subject}` are filled in).
    pub ack_subject: String,
    /// The acknowledgement's text (`{number}`, `{subject}` and `{name}` are filled in).
    pub ack_body: String,
    /// Whether replies ask to be answered at `name+token@domain`.
    pub plus_addressing: bool,
}

/// The acknowledgement new mailboxes start with.
pub const DEFAULT_ACK_SUBJECT: &str = "We received your request [#{number}]: {subject}";
/// The acknowledgement text new mailboxes start with.
pub const DEFAULT_ACK_BODY: &str = "Hello {name},\n\nthank you for writing. Your request has the number #{number}; we will answer as soon as we can. To add anything, reply to this email.\n";

impl MailboxInput {
    /// Checks every field; returns the cleaned input or each problem by field.
    pub fn validate(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        self.name = self.name.trim().to_ascii_lowercase();
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 40
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            errors.push(FieldError::new(
                "name",
                "Use 1 to 40 letters, digits, '-' or '_' (like support).",
            ));
        }
        match crate::agents::Email::parse(&self.address) {
            Ok(email) if email.as_str().contains('+') => errors.push(FieldError::new(
                "address",
                "Use the address without a +tag; frontdesk adds its own.",
            )),
            Ok(email) => self.address = email.as_str().to_owned(),
            Err(e) => errors.push(FieldError::new("address", e.message)),
        }
        self.display_name = self.display_name.trim().chars().filter(|c| !c.is_control()).collect();
        if self.display_name.is_empty() || self.display_name.chars().count() > 100 {
            errors.push(FieldError::new("display_name", "Enter a name of 1 to 100 characters."));
        }
        for (field, text, max) in
            [("signature", &mut self.signature, 2000), ("ack_body", &mut self.ack_body, 5000)]
        {
            *text = text.replace("\r\n", "\n").trim_end().to_owned();
            if text.chars().count() > max {
                errors.push(FieldError::new(field, format!("Use at most {max} characters.")));
            }
        }
        self.ack_subject = self.ack_subject.trim().chars().filter(|c| !c.is_control()).collect();
        if self.ack_subject.chars().count() > 200 {
            errors.push(FieldError::new("ack_subject", "Use at most 200 characters."));
        }
        if self.acknowledge && (self.ack_subject.is_empty() || self.ack_body.trim().is_empty()) {
            errors.push(FieldError::new(
                "ack_body",
                "An acknowledgement needs a subject and a text (or turn it off).",
            ));
        }
        if errors.is_empty() { Ok(self) } else { Err(errors) }
    }
}

/// An email in the outbox, as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct OutboxEmail {
    /// Database id.
    pub id: i64,
    /// What it is: `reply`, `acknowledgement`, `sign_in` or `notification`.
    pub kind: String,
    /// Recipient (empty until it is composed, for mail composed when sent).
    pub to_email: String,
    /// Subject line (empty until composed).
    pub subject: String,
    /// Plain-text body of mail written whole when queued (sign-in links); empty for others.
    pub body: String,
    /// Where it is.
    #[cfg_attr(feature = "store", sqlx(try_from = "String"))]
    pub state: DeliveryState,
    /// Tries so far.
    pub attempts: i64,
    /// The mail server's last answer.
    pub last_result: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
}

/// A message held back from the tickets, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct QuarantinedMail {
    /// Database id.
    pub id: i64,
    /// The mailbox it came to.
    pub mailbox: Option<String>,
    /// The sender, as far as it could be read.
    pub from_address: String,
    /// The subject, as far as it could be read.
    pub subject: String,
    /// Why it was held.
    pub reason: String,
    /// Its size in bytes.
    pub size: i64,
    /// When it arrived.
    pub created_at: Timestamp,
}

/// An email's side of a ticket: where it came from, who follows it, and for each message sent or
/// received by mail, its delivery state or its original.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketMail {
    /// The mailbox's address, for an email ticket.
    pub mailbox: Option<String>,
    /// Where replies go.
    pub customer_address: Option<String>,
    /// Whether mail to that address bounced, and why.
    pub customer_bounced: Option<String>,
    /// Copied addresses that receive public replies.
    pub followers: Vec<String>,
    /// Per ticket message, what email did with it.
    pub messages: Vec<MessageMail>,
}

/// What email did with one ticket message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMail {
    /// The ticket message.
    pub message_id: i64,
    /// For a reply sent by email: where its delivery is, and the server's words.
    pub delivery: Option<(DeliveryState, Option<String>)>,
    /// For a message received by email: the id to download its original (`.eml`) with.
    pub original_id: Option<i64>,
    /// Files that came with it.
    pub files: Vec<MailFile>,
}

/// A file that came with an email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct MailFile {
    /// Database id (for the download).
    pub id: i64,
    /// The cleaned file name.
    pub file_name: String,
    /// The declared type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// Which notifications an agent wants by email.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailPreferences {
    /// A ticket was assigned to them.
    pub assigned: bool,
    /// A customer replied on a ticket of theirs.
    pub customer_replied: bool,
    /// SLA warnings and breaches.
    pub sla: bool,
}

impl Default for MailPreferences {
    fn default() -> Self {
        Self { assigned: true, customer_replied: true, sla: true }
    }
}

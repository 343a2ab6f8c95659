//! Tickets as agents and customers see them: status, priority, channel, the thread of replies and
//! internal notes, and the history of changes. Shared with the browser.

store! {
    mod service;
    pub use service::*;
}

use crate::agents::PersonRef;
use crate::error::FieldError;
use crate::platform::time::Timestamp;
use serde::{Deserialize, Serialize};

named_enum!(
    /// Where a ticket is in its life.
    Status, "status" {
        /// Nobody has worked on it yet.
        New = "new", "New";
        /// Being worked on.
        Open = "open", "Open";
        /// Waiting for the customer.
        Pending = "pending", "Pending";
        /// Waiting for a third party.
        OnHold = "on_hold", "On hold";
        /// Answered; reopens if the customer writes.
        Solved = "solved", "Solved";
        /// Done for good.
        Closed = "closed", "Closed";
    }
);

named_enum!(
    /// How urgent a ticket is.
    Priority, "priority" {
        /// Whenever there is time.
        Low = "low", "Low";
        /// The default.
        Normal = "normal", "Normal";
        /// Soon.
        High = "high", "High";
        /// Now.
        Urgent = "urgent", "Urgent";
    }
);

named_enum!(
    /// How a ticket reached frontdesk.
    Channel, "channel" {
        /// The public web form.
        WebForm = "web_form", "Web form";
        /// A live chat.
        Chat = "chat", "Chat";
        /// An email.
        Email = "email", "Email";
        /// The API.
        Api = "api", "API";
    }
);

named_enum!(
    /// Who may read a message.
    MessageKind, "kind" {
        /// A public reply: the customer sees it.
        Reply = "reply", "Reply";
        /// An internal note: agents only, never the customer.
        Note = "note", "Internal note";
    }
);

impl Status {
    /// Whether work on the ticket is finished.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Solved | Status::Closed)
    }
}

/// One entry of a customer's timeline: a ticket or a chat (a ticket with channel chat).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct TimelineEntry {
    /// Database id.
    pub id: i64,
    /// Ticket number.
    pub number: i64,
    /// Subject.
    pub subject: String,
    /// Status.
    #[cfg_attr(feature = "store", sqlx(try_from = "String"))]
    pub status: Status,
    /// Channel (chats are tickets with channel chat).
    #[cfg_attr(feature = "store", sqlx(try_from = "String"))]
    pub channel: Channel,
    /// When it was opened.
    pub created_at: Timestamp,
}

/// One page of a timeline, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelinePage {
    /// The entries.
    pub entries: Vec<TimelineEntry>,
    /// Pass back for the next page (`created_at.id`); `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A ticket in a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSummary {
    /// Database id.
    pub id: i64,
    /// The number people quote (`#1001`).
    pub number: i64,
    /// One-line summary.
    pub subject: String,
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Priority,
    /// How it arrived.
    pub channel: Channel,
    /// The customer who asked.
    pub requester: PersonRef,
    /// The agent working on it.
    pub assignee: Option<PersonRef>,
    /// The team it is routed to.
    pub team: Option<PersonRef>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Bumped by every change; a save names the version it started from.
    pub version: i64,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When anything last changed.
    pub updated_at: Timestamp,
    /// When its most urgent running SLA clock comes due (`None`: no SLA running).
    #[serde(default)]
    pub sla_due_at: Option<Timestamp>,
}

/// One message of a ticket's thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Database id.
    pub id: i64,
    /// Reply or internal note.
    pub kind: MessageKind,
    /// Who wrote it.
    pub author: PersonRef,
    /// Whether the author is an agent (else the customer).
    pub by_agent: bool,
    /// The markdown as written.
    pub body: String,
    /// The markdown rendered to sanitized HTML (safe to insert as-is).
    pub body_html: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// One entry of a ticket's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct TicketEvent {
    /// Position in the ticket's stream (1, 2, 3, ...).
    pub seq: i64,
    /// What happened (`created`, `status_changed`, `reply_added`, ...).
    pub kind: String,
    /// Who did it, if a person did.
    pub actor: Option<String>,
    /// The details, as JSON (`{"from": "new", "to": "open"}`).
    pub detail: String,
    /// Internal events (notes) are never shown to customers.
    pub internal: bool,
    /// When.
    pub created_at: Timestamp,
}

/// A ticket with its thread and history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketDetail {
    /// The ticket's fields.
    pub ticket: TicketSummary,
    /// Replies and notes, oldest first.
    pub messages: Vec<Message>,
    /// Which message solved it, once solved.
    pub resolution_message_id: Option<i64>,
    /// Every change, oldest first.
    pub events: Vec<TicketEvent>,
}

/// A ticket as its customer sees it in the portal. Built from public replies and public fields
/// only: internal notes and history have no place in this type, so they cannot leak through it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerTicket {
    /// The number people quote.
    pub number: i64,
    /// One-line summary.
    pub subject: String,
    /// Status.
    pub status: Status,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When anything last changed.
    pub updated_at: Timestamp,
    /// Public replies, oldest first.
    pub messages: Vec<CustomerMessage>,
}

/// A public reply, as the customer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerMessage {
    /// The author's display name.
    pub author: String,
    /// Whether the customer wrote it (else the support team).
    pub from_customer: bool,
    /// Sanitized HTML.
    pub body_html: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A validated ticket subject: trimmed, 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject(String);

impl Subject {
    /// Validates a subject typed into a form.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let subject = input.trim();
        if subject.is_empty() {
            return Err(FieldError::new("subject", "Enter a subject."));
        }
        if subject.chars().count() > 200 {
            return Err(FieldError::new("subject", "Use at most 200 characters."));
        }
        Ok(Self(subject.chars().filter(|c| !c.is_control()).collect()))
    }

    /// A subject from elsewhere (an email): cleaned like a typed one, cut to 200 characters,
    /// "(no subject)" when blank. Never fails.
    pub fn lenient(input: &str) -> Self {
        let cut: String = input.trim().chars().take(200).collect();
        Self::parse(&cut).unwrap_or_else(|_| Self("(no subject)".into()))
    }

    /// The subject.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated message body (markdown): not blank, at most 64 KiB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody(String);

impl MessageBody {
    /// The largest body accepted, in bytes.
    pub const MAX_BYTES: usize = 64 * 1024;

    /// Validates a message typed into a form.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        if input.trim().is_empty() {
            return Err(FieldError::new("body", "Write a message."));
        }
        if input.len() > Self::MAX_BYTES {
            return Err(FieldError::new("body", "This message is too long (64 KiB at most)."));
        }
        Ok(Self(input.trim_end().to_owned()))
    }

    /// Text from elsewhere (an email): cut to [`Self::MAX_BYTES`] at a character boundary,
    /// "(no text)" when blank. Never fails; the whole original is kept beside it.
    pub fn lenient(input: &str) -> Self {
        let cut = &input[..input.floor_char_boundary(Self::MAX_BYTES)];
        Self::parse(cut).unwrap_or_else(|_| Self("(no text)".into()))
    }

    /// The markdown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: lower-case letters, digits, `-` and `_`, 1 to 50 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag(String);

impl Tag {
    /// Validates (and lower-cases) one tag.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let tag = input.trim().to_lowercase();
        let valid = !tag.is_empty()
            && tag.chars().count() <= 50
            && tag.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if valid {
            Ok(Self(tag))
        } else {
            Err(FieldError::new(
                "tags",
                format!("'{}' is not a valid tag: use letters, digits, - and _.", input.trim()),
            ))
        }
    }

    /// Parses a comma- or space-separated list, dropping duplicates.
    pub fn parse_list(input: &str) -> Result<Vec<Self>, FieldError> {
        let mut tags = input
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(*status));
        }
        assert!("reopened".parse::<Status>().is_err());
    }

    #[test]
    fn tag_lists_are_normalised_and_deduplicated() {
        let tags = Tag::parse_list("Billing, refund billing")
            .map(|t| t.into_iter().map(|t| t.0).collect::<Vec<_>>());
        assert_eq!(tags, Ok(vec!["billing".to_owned(), "refund".to_owned()]));
        assert!(Tag::parse_list("ok, not<ok>").is_err());
    }

    #[test]
    fn blank_subjects_and_bodies_are_refused() {
        assert!(Subject::parse("  ").is_err());
        assert!(MessageBody::parse("\n\n").is_err());
        assert_eq!(
            Subject::parse(" Printer on fire ").map(|s| s.0),
            Ok("Printer on fire".to_owned())
        );
    }
}

//! Customer profiles as agents see them: the contact, their organization, their history, and the
//! choices of a merge. Shared with the browser.

use serde::{Deserialize, Serialize};

use crate::ticket::{Channel, PersonRef, Status};
use crate::time::Timestamp;

/// A contact's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Database id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Every email address, primary (oldest) first.
    pub emails: Vec<String>,
    /// Phone number, as typed.
    pub phone: Option<String>,
    /// The organization they belong to.
    pub organization: Option<PersonRef>,
    /// Agents' notes about the customer.
    pub notes: String,
    /// When the profile was created.
    pub created_at: Timestamp,
    /// Set when this contact was merged into another: its page redirects there.
    pub merged_into: Option<i64>,
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

/// Which contact's value survives a merge, per field that differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The surviving contact's value.
    #[default]
    Survivor,
    /// The merged contact's value.
    Merged,
}

/// A possible duplicate of a contact, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// The other contact.
    pub contact: PersonRef,
    /// Why it looks like the same person.
    pub reason: String,
}

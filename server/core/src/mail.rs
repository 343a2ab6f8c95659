//! Email as frontdesk keeps it. Until the email channel exists, messages for customers (sign-in
//! links) wait in an outbox that admins can read.

use serde::{Deserialize, Serialize};

use crate::platform::time::Timestamp;

/// An email waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct OutboxEmail {
    /// Database id.
    pub id: i64,
    /// Recipient.
    pub to_email: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// When it was queued.
    pub created_at: Timestamp,
}

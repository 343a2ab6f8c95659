//! Customer profiles as agents see them: the contact, their organization, their history, and the
//! choices of a merge. Shared with the browser.

store! {
    pub mod organizations;
    mod service;
    pub use service::*;
}

use serde::{Deserialize, Serialize};

use crate::agents::PersonRef;
use crate::platform::time::Timestamp;

/// A contact's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Database id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Every email address, primary (oldest) first.
    pub emails: Vec<String>,
    /// An email the customer typed into the chat widget: unproven, so it never links them to a
    /// profile that owns that address (nor claims it for this one).
    pub unverified_email: Option<String>,
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
    /// Every custom field, in the admins' order, with this contact's value if it has one.
    pub fields: Vec<FieldValue>,
}

named_enum!(
    /// The type of a custom customer field; values are checked and stored in a canonical form.
    FieldKind, "kind" {
        /// Free text, one line.
        Text = "text", "Text";
        /// A decimal number.
        Number = "number", "Number";
        /// A calendar date, YYYY-MM-DD.
        Date = "date", "Date";
        /// Yes or no.
        Boolean = "boolean", "Yes / no";
    }
);

impl FieldKind {
    /// Checks a typed value and returns its canonical text; empty input means "no value".
    pub fn normalize(self, input: &str) -> Result<Option<String>, String> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(None);
        }
        match self {
            FieldKind::Text if input.chars().count() > 500 => {
                Err("Use at most 500 characters.".into())
            }
            FieldKind::Text => Ok(Some(input.to_owned())),
            FieldKind::Number => match input.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(Some(n.to_string())),
                _ => Err(format!("'{input}' is not a number.")),
            },
            FieldKind::Date => {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(input, format)
                    .map(|_| Some(input.to_owned()))
                    .map_err(|_| format!("'{input}' is not a date: use YYYY-MM-DD."))
            }
            FieldKind::Boolean => match input.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Some("true".into())),
                "false" | "no" | "off" | "0" => Ok(Some("false".into())),
                _ => Err(format!("'{input}' is not yes or no.")),
            },
        }
    }
}

/// A custom field of customer profiles, defined by an admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactField {
    /// Stable key (lower-case letters, digits and `_`).
    pub key: String,
    /// What agents read.
    pub label: String,
    /// Its type.
    pub kind: FieldKind,
}

/// A custom field and one contact's value of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    /// The field.
    pub field: ContactField,
    /// The canonical value; `None` when not set.
    pub value: Option<String>,
}

/// An organization: a company whose people are customers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Database id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Email domains whose new contacts join it automatically.
    pub domains: Vec<String>,
    /// How many (unmerged) contacts belong to it.
    pub contacts: i64,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A pair of contacts that look like the same person, for the review list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicatePair {
    /// One contact (the older).
    pub first: PersonRef,
    /// The other.
    pub second: PersonRef,
    /// Why they look alike.
    pub reason: String,
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

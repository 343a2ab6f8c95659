//! Agents and admins: the people who work in frontdesk. The types here are shared with the
//! browser, so forms validate as the person types with exactly the rules the server enforces.

store! {
    pub mod auth;
    pub mod hub;
    pub mod notifications;
    pub mod password;
    pub mod sessions;
    pub mod teams;
    mod service;
    pub use service::*;
}

use crate::error::FieldError;
use crate::platform::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

named_enum!(
    /// What an account may do. Admins do everything agents do, plus settings and managing agents.
    Role, "role" {
        /// Works tickets and chats.
        Agent = "agent", "Agent";
        /// Manages settings and agents, and works tickets.
        Admin = "admin", "Admin";
    }
);

/// An agent account as other agents see it: never the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::FromRow))]
pub struct Agent {
    /// Database id.
    pub id: i64,
    /// Sign-in email, lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// What the account may do.
    #[cfg_attr(feature = "store", sqlx(try_from = "String"))]
    pub role: Role,
    /// Deactivated accounts cannot sign in and their sessions end at once.
    pub active: bool,
    /// How many live chats routing gives them at once (0: none; they may still accept one).
    pub chat_capacity: i64,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// A short reference to a person (agent or contact), for lists and threads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    /// Their id (an agent's or a contact's, as the context says).
    pub id: i64,
    /// Their display name.
    pub name: String,
}

/// The most live chats an admin may set for one agent at once.
pub const MAX_CHAT_CAPACITY: i64 = 20;

impl Agent {
    /// Whether this account is an active admin.
    pub fn is_admin(&self) -> bool {
        self.active && self.role == Role::Admin
    }
}

/// A team of agents; tickets can be routed to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Database id.
    pub id: i64,
    /// Name, unique.
    pub name: String,
    /// Its agents, by name.
    pub members: Vec<crate::agents::PersonRef>,
}

/// A validated, normalised email address (trimmed, lower-cased).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Checks the shape a deliverable address must have; the mail server is the final judge.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let email = input.trim().to_lowercase();
        let invalid = || FieldError::new("email", "Enter an email address like name@example.com.");
        if email.is_empty() {
            return Err(FieldError::new("email", "Enter an email address."));
        }
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        // The WHATWG rule every browser applies to `type=email` (unquoted local parts, host-name
        // labels), with letters beyond ASCII allowed for international addresses.
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let domain_ok = domain.contains('.') && domain.split('.').all(label_ok);
        if !local_ok || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName(String);

impl Agent {
    /// The agent's name as a picker shows it among `all`: with their email when another agent
    /// has the same name, so two agents called alike can be told apart.
    pub fn picker_label(&self, all: &[Agent]) -> String {
        if all.iter().any(|other| other.id != self.id && other.name == self.name) {
            format!("{} ({})", self.name, self.email)
        } else {
            self.name.clone()
        }
    }
}

impl PersonName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Validates a name typed into a form.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "Enter a name."));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new("name", "Use at most 100 characters."));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new("name", "Remove the control characters."));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: long enough to resist guessing, short enough to hash cheaply.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// Fewest characters accepted.
    pub const MIN_CHARS: usize = 12;
    /// Most characters accepted (hashing cost grows with length).
    pub const MAX_CHARS: usize = 256;

    /// Validates a password chosen in a form.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                "password",
                format!("Use at least {} characters.", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(
                "password",
                format!("Use at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// A request to create an account, validated field by field.
#[derive(Clone, Debug)]
pub struct NewAgent {
    /// Sign-in email.
    pub email: Email,
    /// Display name.
    pub name: PersonName,
    /// Role.
    pub role: Role,
    /// Initial password.
    pub password: NewPassword,
}

impl NewAgent {
    /// Validates every field and reports every problem at once.
    pub fn parse(
        email: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let email = Email::parse(email);
        let name = PersonName::parse(name);
        let password = NewPassword::parse(password);
        match (email, name, password) {
            (Ok(email), Ok(name), Ok(password)) => Ok(Self { email, name, role, password }),
            (email, name, password) => {
                Err([email.err(), name.err(), password.err()].into_iter().flatten().collect())
            }
        }
    }
}

/// What an agent is doing on a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Has the ticket open.
    Viewing,
    /// Is typing a reply or note.
    Replying,
    /// Closed the ticket.
    Left,
}

/// One agent's presence on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEntry {
    /// The agent's id.
    pub agent_id: i64,
    /// Their name.
    pub name: String,
    /// What they are doing.
    pub activity: Activity,
}

/// Something an agent should know about a ticket (an SLA warning or breach), stored first and
/// numbered by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Database id: increases with each notification.
    pub id: i64,
    /// The ticket it is about.
    pub ticket_number: i64,
    /// `sla_warning` or `sla_breached`.
    pub kind: String,
    /// What to show.
    pub body: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// Whether the agent has read it.
    pub read: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ann@Example.COM ").map(|e| e.0), Ok("ann@example.com".into()));
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "a b@example.com", "ann@.com"]
        {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn markup_and_quoting_characters_are_refused_everywhere_an_email_is_typed() {
        for bad in [
            "<svg/onload=alert(1)>@x.test",
            "\"a\"@x.test",
            "a(b)@x.test",
            "a;b@x.test",
            "a..b@x.test",
            "a@x_y.test",
            "a@-x.test",
            "a\0@x.test",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["o'brien+tag@mail.example.co.uk", "josé@exämple.test", "a_b-c.d@x-y.test"] {
            assert!(Email::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn agents_with_the_same_name_are_told_apart_by_email_in_pickers() {
        let agent = |id: i64, name: &str, email: &str| Agent {
            id,
            email: email.into(),
            name: name.into(),
            role: Role::Agent,
            active: true,
            chat_capacity: 3,
            created_at: Timestamp::from_unix_millis(0),
        };
        let all = [
            agent(1, "Sam Lee", "sam@a.example"),
            agent(2, "Sam Lee", "sam@b.example"),
            agent(3, "Ada", "ada@a.example"),
        ];

        assert_eq!(all[0].picker_label(&all), "Sam Lee (sam@a.example)");
        assert_eq!(all[1].picker_label(&all), "Sam Lee (sam@b.example)");
        assert_eq!(all[2].picker_label(&all), "Ada");
    }

    #[test]
    fn short_passwords_are_refused_with_the_minimum_named() {
        let err = NewPassword::parse("short").err();
        assert_eq!(err.map(|e| e.message), Some("Use at least 12 characters.".into()));
    }

    #[test]
    fn new_agent_reports_every_invalid_field_at_once() {
        let errors = NewAgent::parse("nope", " ", Role::Agent, "x").err().unwrap_or_default();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "name", "password"]);
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
    }
}

//! Errors of the domain layer. The web layers above map each variant to a status code and a
//! message; nothing here knows about HTTP.

use serde::{Deserialize, Serialize};
#[cfg(feature = "store")]
use std::borrow::Cow;

/// A problem with one field of a form or request, shown next to that field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's name as the form and the API call it (`email`, `password`, ...).
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

/// What a service call can fail with.
#[cfg(feature = "store")]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No signed-in agent, or their session ended.
    #[error("sign in to continue")]
    Unauthenticated,
    /// Sign-in with an unknown email or a wrong password: deliberately one answer for both.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// Signed in, but this actor may not do this.
    #[error("you are not allowed to do that")]
    Forbidden,
    /// The resource does not exist (or the actor may not know that it does).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input failed validation; each problem names its field.
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The change conflicts with the current state (a taken email, the last admin, a finished setup).
    #[error("{0}")]
    Conflict(String),
    /// The ticket changed since the caller read it; nothing was written. Carries the current state.
    #[error("this ticket changed since you opened it")]
    Stale(Box<crate::tickets::TicketDetail>),
    /// Others wrote on the ticket after the agent started composing; nothing was sent. Carries
    /// the new messages, to be read before sending anyway.
    #[error("new messages arrived while you were writing")]
    NewActivity(Vec<crate::tickets::Message>),
    /// Too many attempts; the caller may retry after this many seconds.
    #[error("too many attempts, try again in {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until the next attempt can succeed.
        retry_after_secs: u64,
    },
    /// frontdesk is shutting down; the same request may succeed in a moment (after a restart).
    #[error("frontdesk is restarting, try again in a moment")]
    Unavailable,
    /// The database failed; details go to the log, never to the client.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Any other server-side failure: what failed and, when there is one, the error that caused
    /// it. Logged with its whole chain; never shown to a client.
    #[error("{what}")]
    Internal {
        /// What failed, in the server's words.
        what: Cow<'static, str>,
        /// The cause, kept for the log.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

#[cfg(feature = "store")]
impl Error {
    /// One invalid field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// A server-side failure with no underlying error (a broken invariant).
    pub fn internal(what: impl Into<Cow<'static, str>>) -> Self {
        Self::Internal { what: what.into(), source: None }
    }

    /// A server-side failure caused by `source`.
    pub fn internal_from(
        what: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal { what: what.into(), source: Some(Box::new(source)) }
    }

    /// The wire code a client gets for this error; the same on every socket and API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid",
            Self::Conflict(_) | Self::Stale(_) | Self::NewActivity(_) => "conflict",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Database(_) | Self::Internal { .. } => "internal",
        }
    }

    /// Whether the server failed (rather than the request): logged, and told as one sentence.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, Self::Database(_) | Self::Internal { .. })
    }

    /// What a client may be told of this error, as a short code and a sentence. Server-side
    /// failures (database, internal) are logged here with their whole source chain and told as
    /// one plain sentence, so no driver text, path or internal message ever reaches a client.
    pub fn to_client(&self) -> (&'static str, String) {
        if self.is_server_fault() {
            self.log();
            return (self.code(), INTERNAL_MESSAGE.to_owned());
        }
        (self.code(), self.to_string())
    }

    /// Logs a server-side failure at ERROR with its source chain (client errors are not logged).
    pub fn log(&self) {
        if self.is_server_fault() {
            let mut chain = self.to_string();
            let mut source = std::error::Error::source(self);
            while let Some(cause) = source {
                // A message that already ends with its cause's words does not repeat them.
                let words = cause.to_string();
                if !chain.ends_with(&words) {
                    chain.push_str(": ");
                    chain.push_str(&words);
                }
                source = cause.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
    }

    /// Whether the database refused the write because a unique value already exists.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()))
    }
}

/// What clients are told when the server failed; the cause is in the log.
pub const INTERNAL_MESSAGE: &str = "Something went wrong on our side. Please try again.";

/// The result of a service call.
#[cfg(feature = "store")]
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The error every server function returns, shared by server and browser.

use frontdesk_core::error::FieldError;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words a person can act on. Internal details never leave the server.
#[derive(Clone, Debug, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// Not signed in, or the session ended.
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// Sign-in failed; the same words whether the email or the password was wrong.
    #[error("Wrong email or password.")]
    InvalidCredentials,
    /// Not allowed for this account.
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// The thing asked for does not exist.
    #[error("Not found.")]
    NotFound,
    /// Some fields are invalid; each is named.
    #[error("Check the highlighted fields.")]
    Invalid(Vec<FieldError>),
    /// The request conflicts with the current state; the message says how.
    #[error("{0}")]
    Conflict(String),
    /// The ticket changed since it was loaded; nothing was saved. Carries the current state so
    /// the agent can review it and decide again.
    #[error("This ticket changed since you opened it. Review the changes and try again.")]
    Stale(Box<frontdesk_core::tickets::TicketDetail>),
    /// Others wrote on the ticket while the agent was composing; nothing was sent.
    #[error(
        "New messages arrived while you were writing. Read them, then send anyway if your reply still fits."
    )]
    NewActivity(Vec<frontdesk_core::tickets::Message>),
    /// Too many attempts.
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited {
        /// Seconds until trying again can succeed.
        retry_after_secs: u64,
    },
    /// frontdesk is restarting; the same request may succeed in a moment.
    #[error("frontdesk is restarting. Try again in a moment.")]
    Unavailable,
    /// The server failed; the details are in its log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The server could not read the request (missing, duplicate or malformed fields, a body of
    /// the wrong type); nothing was changed.
    #[error("This request could not be read. Reload the page and try again.")]
    BadRequest,
    /// The request body is larger than the server accepts.
    #[error("This request is too large.")]
    TooLarge,
    /// The request never got a proper answer (network, encoding).
    #[error("Could not reach frontdesk. Check your connection and try again.")]
    Transport(ServerFnErrorErr),
}

impl ApiError {
    /// The message for one form field, if that field is invalid.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            ApiError::Invalid(errors) => {
                errors.iter().find(|e| e.field == name).map(|e| e.message.clone())
            }
            _ => None,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        if let Some(refused) = ssr::unreadable_request(&value) {
            return refused;
        }
        ApiError::Transport(value)
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::ApiError;
    use axum::http::StatusCode;
    use frontdesk_core::error::Error;
    use leptos::server_fn::error::ServerFnErrorErr;

    impl ApiError {
        /// The HTTP status this error is sent with.
        pub fn status(&self) -> StatusCode {
            match self {
                ApiError::Unauthenticated | ApiError::InvalidCredentials => {
                    StatusCode::UNAUTHORIZED
                }
                ApiError::Forbidden => StatusCode::FORBIDDEN,
                ApiError::NotFound => StatusCode::NOT_FOUND,
                ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ApiError::Conflict(_) | ApiError::Stale(_) | ApiError::NewActivity(_) => {
                    StatusCode::CONFLICT
                }
                ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::BadRequest | ApiError::Transport(_) => StatusCode::BAD_REQUEST,
                ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            }
        }
    }

    /// The one way an error becomes an HTTP response, for server functions and axum handlers
    /// alike: its status and its words (never a server-side cause, which
    /// `From<frontdesk_core::error::Error>` logged), and when to retry where that is known.
    impl axum::response::IntoResponse for ApiError {
        fn into_response(self) -> axum::response::Response {
            let retry_after = self.retry_after_secs();
            let mut response = (self.status(), self.to_string()).into_response();
            if let Some(secs) = retry_after {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
            }
            response
        }
    }

    impl ApiError {
        /// When the same request may succeed (`Retry-After`), where that is known.
        pub fn retry_after_secs(&self) -> Option<u64> {
            match self {
                ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
                ApiError::Unavailable => Some(5),
                _ => None,
            }
        }
    }

    /// On the server, a request whose arguments could not be decoded: a client error in plain
    /// words (serde's are logged at debug level, never sent), with its status set on the response.
    pub(super) fn unreadable_request(error: &ServerFnErrorErr) -> Option<ApiError> {
        let refused = match error {
            ServerFnErrorErr::Deserialization(text) if text.contains("length limit") => {
                ApiError::TooLarge
            }
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => ApiError::BadRequest,
            _ => return None,
        };
        tracing::debug!(error = %error, "refused an unreadable server function request");
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(refused.status());
        }
        Some(refused)
    }

    impl From<Error> for ApiError {
        fn from(error: Error) -> Self {
            match error {
                Error::Unauthenticated => ApiError::Unauthenticated,
                Error::InvalidCredentials => ApiError::InvalidCredentials,
                Error::Forbidden => ApiError::Forbidden,
                Error::NotFound(_) => ApiError::NotFound,
                Error::Invalid(fields) => ApiError::Invalid(fields),
                Error::Conflict(message) => ApiError::Conflict(message),
                Error::Stale(current) => ApiError::Stale(current),
                Error::NewActivity(messages) => ApiError::NewActivity(messages),
                Error::RateLimited { retry_after_secs } => {
                    ApiError::RateLimited { retry_after_secs }
                }
                Error::Unavailable => ApiError::Unavailable,
                Error::Database(_) | Error::Internal { .. } => {
                    error.log();
                    ApiError::Internal
                }
            }
        }
    }
}

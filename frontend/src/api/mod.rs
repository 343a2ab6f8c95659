//! Server functions: the API the pages call. Each is a POST under `/api/`, works from a plain
//! HTML form without JavaScript, and returns [`ApiError`] on failure.

mod agents;
mod auth;
mod chat;
mod customers;
mod error;
mod help;
mod kb;
mod mail;
mod notifications;
mod portal;
mod search;
#[cfg(feature = "ssr")]
mod server;
mod slas;
mod tickets;
mod widget;

pub use agents::*;
pub use auth::*;
pub use chat::*;
pub use customers::*;
pub use error::ApiError;
pub use help::*;
pub use kb::*;
pub use mail::*;
pub use notifications::*;
pub use portal::*;
pub use search::*;
#[cfg(feature = "ssr")]
pub use server::agent_of_session;
pub use slas::*;
pub use tickets::*;
pub use widget::*;

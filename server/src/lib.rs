//! # frontdesk-server
//!
//! The `frontdesk` binary as a library, so tests can start the real application on port 0.
//!
//! - [`config`] reads flags, environment variables and the optional config file into one
//!   validated [`config::Config`]; every problem is one readable line.
//! - [`cli`] runs the subcommands (`serve`, `migrate`, `admin create`, `mail receive`, ...).
//! - `mail_config` reads the `[mail]` section and the mail environment variables.
//! - [`startup`] builds the [`startup::Application`]: database, migrations, listener, router,
//!   background tasks, graceful shutdown.
//! - `http` owns the axum router: health checks, CSRF protection, sessions, request ids, and the
//!   Leptos pages and server functions.
//! - `telemetry` sets up structured logs.

pub mod cli;
pub mod config;
mod http;
mod mail_config;
pub mod startup;
pub mod telemetry;

pub use startup::Application;

//! # frontdesk-core
//!
//! The domain of frontdesk and everything below the web layer: no axum and no Leptos here. The
//! HTTP and UI layers sit above this crate and turn its [`error::Error`] into status codes and
//! safe messages in one place each.
//!
//! Each domain is a folder. Its `mod.rs` holds the types the server and the browser share (they
//! compile for wasm with no features); its server side (queries, services, workers) sits in
//! submodules behind the `store` feature, and the domain's service functions are re-exported from
//! the folder, so `tickets::create` and `tickets::TicketDetail` sit side by side. Every service
//! authorizes its own resource in one place (an `authorize` function per domain).
//!
//! The map, from the ground up (a domain uses only those listed before it):
//!
//! - [`platform`]: time, HTML escaping; the database (SQLite or PostgreSQL behind one API),
//!   the application context, rate limits, the audit log, safe markdown, owned background tasks.
//! - [`error`]: what a service call fails with, and what a client may be told of it.
//! - [`agents`]: agents and admins, teams, sign-in and sessions, passwords, notifications, and the
//!   live hub that wakes agents' consoles.
//! - [`customers`]: customer profiles (contacts with email addresses), organizations, custom
//!   fields, merging, the timeline.
//! - [`tickets`]: tickets, the queue, threads, history, and each customer's timeline.
//! - [`chats`]: live chat: widget sites and visitors, the chat hub and writer, routing, canned
//!   responses, and the widget's protocol.
//! - [`sla`]: business-hours calendars, SLA policies and clocks, the SLA worker and report.
//! - [`kb`]: the knowledge base: articles, revisions, the editor, the public help centre.
//! - [`search`]: the tantivy index kept in step with the database, and searching it.
//! - [`live`]: the agents' console protocol over all of the above.
//! - [`mail`]: the email channel: mailboxes, mail in (IMAP, pipe, HTTP), threading, the outbox.
//! - [`portal`]: the customers' portal: requests, sign-in links, their own tickets.
//! - `seed`: demo and benchmark data.
//! - `app`: the composition root: builds the context with every domain's state and starts the
//!   background workers.

#[macro_use]
mod macros;

pub mod agents;
pub mod chats;
pub mod customers;
pub mod error;
pub mod kb;
pub mod live;
pub mod mail;
pub mod platform;
pub mod search;
pub mod sla;
pub mod tickets;

store! {
    pub mod app;
    pub mod portal;
    pub mod seed;
    pub use platform::context::{AppContext, Settings};
}

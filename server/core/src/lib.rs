//! # frontdesk-core
//!
//! The domain of frontdesk and everything below the web layer. It owns:
//!
//! - the types shared by the server and the browser bundle ([`agent`], [`article`], [`ticket`],
//!   [`mail`], [`time`], [`error`]),
//!   which compile for wasm with no features;
//! - behind the `store` feature, the database ([`db`]: SQLite or PostgreSQL behind one API, with
//!   embedded migrations), password hashing ([`password`]), rate limits ([`rate_limit`]), the
//!   session store ([`sessions`]), and the services that web handlers and server functions call
//!   ([`auth`], [`agents`], [`teams`], [`contacts`], [`tickets`], [`portal`], [`kb_editor`], [`chats`], [`canned`], [`widget_sites`]), each authorizing its own resource in one
//!   place, and safe rendering of the markdown people type ([`markdown`]).
//!
//! No axum and no Leptos here: the HTTP and UI layers sit above this crate and translate its
//! errors into status codes and messages.

#[macro_use]
mod macros;

pub mod agent;
pub mod article;
pub mod chat;
pub mod customer;
pub mod error;
pub mod found;
pub mod help;
pub mod html;
pub mod live;
pub mod mail;
pub mod sla_report;
pub mod ticket;
pub mod time;

#[cfg(feature = "store")]
pub mod agents;
#[cfg(feature = "store")]
pub mod audit;
#[cfg(feature = "store")]
pub mod auth;
#[cfg(feature = "store")]
pub mod business_time;
#[cfg(feature = "store")]
pub mod canned;
#[cfg(feature = "store")]
pub mod chats;
#[cfg(feature = "store")]
pub mod contacts;
#[cfg(feature = "store")]
mod context;
#[cfg(feature = "store")]
pub mod db;
#[cfg(feature = "store")]
pub mod ical;
#[cfg(feature = "store")]
pub mod kb;
#[cfg(feature = "store")]
pub mod kb_editor;
#[cfg(feature = "store")]
pub mod markdown;
#[cfg(feature = "store")]
pub mod notifications;
#[cfg(feature = "store")]
pub mod organizations;
#[cfg(feature = "store")]
pub mod password;
#[cfg(feature = "store")]
pub mod portal;
#[cfg(feature = "store")]
pub mod rate_limit;
#[cfg(feature = "store")]
pub mod search;
#[cfg(feature = "store")]
pub mod seed;
#[cfg(feature = "store")]
pub mod sessions;
#[cfg(feature = "store")]
pub mod sla;
#[cfg(feature = "store")]
pub mod sla_clock;
#[cfg(feature = "store")]
pub mod teams;
#[cfg(feature = "store")]
pub mod tickets;
#[cfg(feature = "store")]
pub mod widget_sites;

#[cfg(feature = "store")]
pub use context::{AppContext, Settings};

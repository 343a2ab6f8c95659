//! The black-box test suite, one module per area, linked into a single test binary (one link
//! instead of one per file keeps builds and disk use down). Every test starts its own frontdesk
//! with its own database; see the harness in `tests/src/lib.rs`.

mod auth_http;
mod bad_input;
mod browser;
mod chat;
mod chat_browser;
mod chat_crash;
mod command_line;
mod customers;
mod failures;
mod help_center;
mod kb_editor;
mod live;
mod mail;
mod mail_crash;
mod organizations;
mod portal;
mod search;
mod slas;
mod teams;
mod tickets;
mod xss_sweep;

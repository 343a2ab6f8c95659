//! # frontdesk-frontend
//!
//! Every web page of frontdesk, written once with Leptos: rendered on the server (feature `ssr`,
//! linked into the `frontdesk` binary) and hydrated in the browser (feature `hydrate`, built
//! alone for wasm32 by `cargo xtask`).
//!
//! - [`app`] owns the HTML shell, the router and the page layout.
//! - [`api`] owns the server functions: thin wrappers that find the signed-in agent, call a
//!   `frontdesk-core` service, and map its errors to [`api::ApiError`].
//! - [`live`] keeps the console's WebSocket open and turns its messages into signals.
//! - `pages` holds one module per page; `components` the pieces pages share; `attachments` the
//!   files sent in chats, on both sides.

// The queue's row type nests deeply enough to pass the compiler's default query depth.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
mod attachments;
mod components;
mod keyboard;
pub mod live;
mod pages;
#[cfg(feature = "hydrate")]
mod socket;

pub use app::{App, shell};

/// The browser entry point: attaches Leptos to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}

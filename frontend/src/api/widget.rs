//! The chat widget's panel (`/widget/frame`): the public settings it renders with, and the one
//! header that decides who may embed it. The conversation itself goes over the widget socket
//! (`server/src/http/widget.rs`), not through here.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;

/// What the panel may show before its socket connects: only public settings (never the site's
/// identity secret or its origins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelSettings {
    /// The first thing the widget says.
    pub greeting: String,
    /// Whether the pre-chat form asks for an email.
    pub ask_email: bool,
}

/// The settings of the widget site whose public token is `site`.
///
/// While the panel renders on the server this also sets the page's
/// `Content-Security-Policy: frame-ancestors ...` to the site's allowed origins, so only those
/// pages can show the panel in a frame (`'none'` when the site is unknown), and a 404 status for
/// an unknown site.
// The argument struct gets its own name: `PanelSettings` is the answer's.
#[server(name = LoadPanelSettings, prefix = "/api", endpoint = "widget_frame_settings")]
pub async fn widget_frame_settings(site: String) -> Result<PanelSettings, ApiError> {
    use super::server::context;
    use axum::http::{HeaderValue, header};
    use frontdesk_core::chats::sites;
    use frontdesk_core::error::Error;
    use leptos_axum::ResponseOptions;

    let response = use_context::<ResponseOptions>();
    let frame_ancestors = |value: HeaderValue| {
        if let Some(response) = &response {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    };
    // Refuse every frame until the site says otherwise, so no path leaves the page embeddable.
    frame_ancestors(HeaderValue::from_static("frame-ancestors 'none'"));
    let ctx = context()?;
    let site = match sites::by_public_token(ctx.db(), site.trim()).await {
        Ok(site) => site,
        Err(e) => {
            let error = match e {
                Error::NotFound(_) => ApiError::NotFound,
                other => ApiError::from(other),
            };
            if let Some(response) = &response {
                response.set_status(error.status());
            }
            return Err(error);
        }
    };
    // Stored origins passed `parse_origin` (scheme, host and port only), but check again: a
    // header must never carry a stray `;` or space from the database.
    let origins: Vec<&str> = site
        .allowed_origins
        .iter()
        .map(String::as_str)
        .filter(|o| sites::parse_origin(o).as_deref() == Some(*o))
        .collect();
    let policy = format!("frame-ancestors 'self' {}", origins.join(" "));
    match HeaderValue::from_str(policy.trim_end()) {
        Ok(value) => frame_ancestors(value),
        Err(_) => {
            tracing::error!(site = site.id, "a widget site's origins do not make a valid header");
            frame_ancestors(HeaderValue::from_static("frame-ancestors 'self'"));
        }
    }
    Ok(PanelSettings { greeting: site.greeting, ask_email: site.ask_email })
}

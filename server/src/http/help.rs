//! `GET /help/sitemap.xml`: the public help centre's pages for search engines (the help centre
//! itself is Leptos pages; see `frontdesk_frontend::pages::help`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::AppContext;
use frontdesk_frontend::api::ApiError;

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The sitemap: the help centre's front page and every published article.
pub(super) async fn sitemap(State(ctx): State<AppContext>) -> Result<Response, ApiError> {
    let articles = frontdesk_core::kb::help_sitemap(&ctx).await?;
    let base = xml_escape(ctx.settings().public_url.trim_end_matches('/'));
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n  <url><loc>{base}/help</loc></url>\n"
    );
    for (slug, updated_at) in articles {
        xml.push_str(&format!(
            "  <url><loc>{base}/help/articles/{}</loc><lastmod>{}</lastmod></url>\n",
            xml_escape(&slug),
            updated_at.to_datetime().date()
        ));
    }
    xml.push_str("</urlset>\n");
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"))], xml)
        .into_response())
}

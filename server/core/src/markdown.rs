//! Markdown that people type (ticket messages, later articles), rendered to HTML that is safe to
//! put in a page: CommonMark through pulldown-cmark, then an allow-list sanitizer (ammonia) that
//! drops scripts, event handlers, `javascript:` links and anything else not on the list.

use pulldown_cmark::{Options, Parser, html};

/// Renders markdown to sanitized HTML. Links open in a new tab without leaking the referrer.
pub fn to_safe_html(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_becomes_html() {
        assert_eq!(to_safe_html("**bold** and `code`").trim(), "<p><strong>bold</strong> and <code>code</code></p>");
    }

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = to_safe_html("<script>alert(1)</script>\n\n<img src=x onerror=alert(2)> [x](javascript:alert(3))");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(html.contains("<img src=\"x\">"), "{html}");
    }
}

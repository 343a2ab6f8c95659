//! HTML escaping of text, for the few places that write markup by hand (the server's rendering
//! of raw-text elements, plain-text fallbacks). Browser-safe: no features.

/// Text with `&`, `<`, `>` and `"` escaped, safe as element text and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            super::escape("<a href=\"x\">Tom & Jerry</a> 😀"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&lt;/a&gt; 😀"
        );
    }
}

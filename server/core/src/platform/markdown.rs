//! Markdown that people type (ticket messages, articles), rendered to HTML that is safe to put in
//! a page: CommonMark through pulldown-cmark, then an allow-list sanitizer (ammonia) that drops
//! scripts, event handlers, `javascript:` links and anything else not on the list.
//!
//! Rendering is bounded so that no input can make it slow: container nesting (block quotes and
//! lists) deeper than [`MAX_NESTING`] is flattened into the deepest allowed level, raw HTML tags
//! past [`MAX_RAW_HTML_TAGS`] are shown as text, and input past [`MAX_INPUT_BYTES`] is shown as
//! plain text. Callers on the async threads use [`render`], which runs on the blocking pool;
//! ticket messages are rendered once, when written, and the HTML is stored beside them.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};
use std::borrow::Cow;

/// The deepest nesting of block quotes and lists rendered as such; deeper markers become text
/// of the deepest level. Mail threads quote a few levels deep; nothing legitimate needs more.
pub const MAX_NESTING: usize = 16;
/// Leading whitespace past this many columns (a tab counts four) is cut to it: lists also nest
/// by indentation, and nothing legitimate is indented further.
const MAX_INDENT_COLUMNS: usize = 64;
/// Raw HTML tags past this many in one document are shown as text instead of being parsed.
pub const MAX_RAW_HTML_TAGS: usize = 512;
/// Input past this size is not parsed as markdown at all (articles are at most 512 KiB).
pub const MAX_INPUT_BYTES: usize = 512 * 1024;

/// Renders markdown to sanitized HTML on the blocking thread pool, off the async threads.
pub async fn render(markdown: String) -> crate::error::Result<String> {
    tokio::task::spawn_blocking(move || to_safe_html(&markdown))
        .await
        .map_err(|e| crate::error::Error::internal_from("rendering markdown failed", e))
}

/// Renders markdown to sanitized HTML. Links open in a new tab without leaking the referrer.
/// CPU work proportional to the input: call it through [`render`] from async code.
pub fn to_safe_html(markdown: &str) -> String {
    if markdown.len() > MAX_INPUT_BYTES {
        return format!("<pre>{}</pre>", crate::platform::html::escape(markdown));
    }
    let markdown = limit_nesting(markdown);
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut raw_tags = 0usize;
    let mut too_many_tags = |tag: &str| {
        raw_tags += tag.matches('<').count();
        raw_tags > MAX_RAW_HTML_TAGS
    };
    // Containers past the limit (however they nested) are left out of the HTML, their text kept:
    // `open` says for each open container whether it was kept, `kept` counts those that were.
    let mut open: Vec<bool> = Vec::new();
    let mut kept = 0usize;
    let parser = Parser::new_ext(&markdown, options).filter_map(|event| match event {
        Event::Html(tag) | Event::InlineHtml(tag) if too_many_tags(&tag) => Some(Event::Text(tag)),
        Event::Start(tag @ (Tag::BlockQuote(_) | Tag::List(_) | Tag::Item)) => {
            let keep = kept < 2 * MAX_NESTING;
            kept += usize::from(keep);
            open.push(keep);
            keep.then_some(Event::Start(tag))
        }
        Event::End(end @ (TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item)) => {
            let keep = open.pop().unwrap_or(true);
            kept -= usize::from(keep && kept > 0);
            keep.then_some(Event::End(end))
        }
        other => Some(other),
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    sanitize(&unsafe_html)
}

/// Rendered markdown made safe: the allow-list every HTML frontdesk shows goes through.
fn sanitize(unsafe_html: &str) -> String {
    allow_list().clean(unsafe_html).to_string()
}

fn allow_list() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder.link_rel(Some("noopener noreferrer nofollow")).set_tag_attribute_value("a", "target", "_blank");
    builder
}

/// An email's HTML part made safe to put in a page: the same allow-list as rendered markdown,
/// without images (remote ones would tell the sender when an agent reads the mail; inline ones
/// are kept as files). CPU work proportional to the input: run it off the async threads.
pub fn sanitize_mail(unsafe_html: &str) -> String {
    let mut builder = allow_list();
    builder.rm_tags(["img"]);
    builder.clean(unsafe_html).to_string()
}

/// The text a reader sees in rendered markdown, without its syntax: paragraphs, list items and
/// headings on lines of their own (for search snippets). Bounded like [`to_safe_html`].
pub fn to_plain_text(markdown: &str) -> String {
    let markdown = if markdown.len() > MAX_INPUT_BYTES {
        &markdown[..markdown.floor_char_boundary(MAX_INPUT_BYTES)]
    } else {
        markdown
    };
    let markdown = limit_nesting(markdown);
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(&markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
    {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow,
            ) => text.push('\n'),
            Event::End(TagEnd::TableCell) => text.push(' '),
            _ => {}
        }
    }
    text.trim_end().to_owned()
}

/// The markdown with every line's container markers (`>` and list markers at the start of the
/// line) past [`MAX_NESTING`] removed; borrowed when nothing is that deep.
fn limit_nesting(markdown: &str) -> Cow<'_, str> {
    if !markdown
        .lines()
        .any(|line| indent_columns(line).0 > MAX_INDENT_COLUMNS || too_deep(line).is_some())
    {
        return Cow::Borrowed(markdown);
    }
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.split_inclusive('\n') {
        let line = match indent_columns(line) {
            (columns, bytes) if columns > MAX_INDENT_COLUMNS => {
                Cow::Owned(format!("{}{}", " ".repeat(MAX_INDENT_COLUMNS), &line[bytes..]))
            }
            _ => Cow::Borrowed(line),
        };
        let line = line.as_ref();
        match too_deep(line) {
            Some(cut) => {
                out.push_str(&line[..cut.keep]);
                out.push_str(&line[cut.resume..]);
            }
            None => out.push_str(line),
        }
    }
    Cow::Owned(out)
}

/// The width of a line's leading whitespace in columns (a tab counts four), and its length in bytes.
fn indent_columns(line: &str) -> (usize, usize) {
    let mut columns = 0;
    for (i, b) in line.bytes().enumerate() {
        match b {
            b' ' => columns += 1,
            b'\t' => columns += 4,
            _ => return (columns, i),
        }
    }
    (columns, line.len())
}

/// Where a line's container prefix passes [`MAX_NESTING`]: keep `..keep`, drop up to `resume`.
struct Cut {
    keep: usize,
    resume: usize,
}

/// Finds the container markers of a line's prefix and, when there are more than allowed, where
/// the excess starts and ends.
fn too_deep(line: &str) -> Option<Cut> {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut depth = 0;
    let mut keep = None;
    loop {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        let Some(width) = marker_width(&bytes[i..]) else { break };
        depth += 1;
        if depth == MAX_NESTING + 1 {
            keep = Some(i);
        }
        i += width;
    }
    keep.map(|keep| Cut { keep, resume: i })
}

/// The length of a block quote or list marker at the start of `rest` (with the space after a
/// list marker), if there is one.
fn marker_width(rest: &[u8]) -> Option<usize> {
    let followed_by_space =
        |at: usize| rest.get(at).is_none_or(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    match rest.first()? {
        b'>' => Some(1),
        b'-' | b'*' | b'+' if followed_by_space(1) => Some(1),
        b'0'..=b'9' => {
            let digits = rest.iter().take(10).take_while(|b| b.is_ascii_digit()).count();
            (matches!(rest.get(digits), Some(b'.' | b')')) && followed_by_space(digits + 1))
                .then_some(digits + 1)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_NESTING, to_safe_html};
    use std::time::Instant;

    #[test]
    fn markdown_becomes_html() {
        assert_eq!(
            to_safe_html("**bold** and `code`").trim(),
            "<p><strong>bold</strong> and <code>code</code></p>"
        );
    }

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = to_safe_html(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)> [x](javascript:alert(3))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(html.contains("<img src=\"x\">"), "{html}");
    }

    #[test]
    fn plain_text_keeps_what_a_reader_sees_and_drops_the_syntax() {
        let text = super::to_plain_text(
            "# Reset your password\n\nOpen **Settings** and click [Reset](https://x.example).\n\n- one\n- `two`",
        );
        assert_eq!(text, "Reset your password\nOpen Settings and click Reset.\none\ntwo");
    }

    #[test]
    fn quotes_and_lists_nest_up_to_the_limit_and_no_deeper() {
        let deep = format!("{} deep\n", ">".repeat(65_000));
        let lists = format!("{}item\n", "- ".repeat(30_000));
        let mixed = format!("{}x\n", "> 1. ".repeat(12_000));

        for input in [&deep, &lists, &mixed] {
            let html = to_safe_html(input);
            let depth = html.matches("<blockquote>").count()
                + html.matches("<ul>").count()
                + html.matches("<ol>").count();
            assert!(depth <= MAX_NESTING, "{depth} levels");
        }
        let shallow = to_safe_html("> > quoted twice");
        assert_eq!(shallow.matches("<blockquote>").count(), 2, "{shallow}");
    }

    /// The inputs that made pulldown-cmark or the sanitizer slow (quadratic or worse) in the
    /// past, each as large as a message may be. Each must render; the times are printed for
    /// whoever runs the test with `--nocapture` (the benchmark of record is `/readyz` staying
    /// answered in the HTTP test).
    pub(crate) fn hostile_inputs() -> Vec<(&'static str, String)> {
        let size = 64 * 1024;
        let fill = |unit: &str| unit.repeat(size / unit.len());
        vec![
            ("nested block quotes", fill(">")),
            ("nested lists", fill("- ")),
            ("nested ordered lists", fill("1. ")),
            ("quotes and lists", fill("> - ")),
            ("open brackets", fill("[")),
            ("image brackets", fill("![")),
            ("link openers with text", fill("[a](")),
            ("unclosed emphasis", fill("*a _b ")),
            ("emphasis runs", fill("**_")),
            ("backtick runs", (1..300).map(|n| "`".repeat(n) + "a").collect::<Vec<_>>().join(" ")),
            ("angle brackets", fill("<")),
            ("autolink openers", fill("<a")),
            ("nested raw html", fill("<div>")),
            ("nested formatting tags", fill("<b><i>")),
            ("html comments", fill("<!--")),
            ("link reference definitions", fill("[a]: b\n")),
            ("reference uses", fill("[a][b]")),
            (
                "table columns",
                format!(
                    "{}\n{}\n",
                    fill("|a").get(..size / 2).unwrap_or(""),
                    "|-".repeat(size / 8)
                ),
            ),
            ("entities", fill("&#x")),
            ("tilde fences", fill("~~~\n")),
            ("setext lines", fill("a\n=\n")),
            ("hard breaks", fill("a  \n")),
        ]
    }

    #[test]
    fn lists_nested_by_indentation_are_bounded_too() {
        let input: String =
            (0..120).map(|k| format!("{}{}x\n", "\t".repeat(8 * k), "- ".repeat(16))).collect();
        let html = to_safe_html(&input);
        let (mut depth, mut deepest) = (0usize, 0usize);
        for (i, _) in html.match_indices("ul>") {
            if html[..i].ends_with("</") {
                depth = depth.saturating_sub(1);
            } else if html[..i].ends_with('<') {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
        assert!(deepest <= 2 * MAX_NESTING, "{deepest} lists deep");
        assert!(html.contains('x'), "the text is kept");
    }

    #[test]
    fn hostile_inputs_render_safely_and_shallowly() {
        for (name, input) in hostile_inputs() {
            let started = Instant::now();
            let html = to_safe_html(&input);
            println!(
                "{name}: {} bytes in, {} bytes out, {:?}",
                input.len(),
                html.len(),
                started.elapsed()
            );
            assert!(!html.contains("<script"), "{name}");
            assert!(html.matches("<blockquote>").count() <= MAX_NESTING, "{name}");
            assert!(html.matches("<div>").count() <= super::MAX_RAW_HTML_TAGS, "{name}");
        }
    }
}

//! An email's words as a ticket message: the text is kept whole (the stored body), and the HTML
//! shown in the thread folds the quoted history and the signature away under a "show" toggle, so
//! nothing is deleted and the new words stand out. HTML-only mail goes through the same
//! sanitizer as markdown.

use crate::platform::html::escape;
use crate::platform::markdown;

/// The label of the folded part.
const FOLDED_LABEL: &str = "Show quoted text";
/// The most text shown in the thread (as much as a ticket message keeps); the rest stays in the
/// original.
const MAX_TEXT_BYTES: usize = crate::tickets::MessageBody::MAX_BYTES;
/// HTML past this size, or with more tags than [`MAX_HTML_TAGS`], is shown as its text: the
/// sanitizer's time grows faster than the input with deep nesting.
const MAX_HTML_BYTES: usize = 256 * 1024;
/// See [`MAX_HTML_BYTES`].
const MAX_HTML_TAGS: usize = 4_000;

/// The HTML shown for an email with this text (and HTML, when it had no text part). Bounded:
/// work proportional to at most [`MAX_TEXT_BYTES`] of text or [`MAX_HTML_BYTES`] of HTML. Call
/// it off the async threads.
pub fn to_html(text: &str, html: Option<&str>) -> String {
    let html = html.filter(|h| h.len() <= MAX_HTML_BYTES && h.matches('<').count() <= MAX_HTML_TAGS);
    match html {
        Some(html) => {
            let (new, old) = split_html(html);
            let new = markdown::sanitize_mail(new);
            match old {
                Some(old) => format!("{new}{}", folded(&markdown::sanitize_mail(old))),
                None => new,
            }
        }
        None => {
            let cut = text.len() > MAX_TEXT_BYTES;
            let text = &text[..text.floor_char_boundary(MAX_TEXT_BYTES)];
            let (new, old) = split_text(text);
            let new = paragraphs(new);
            let mut shown = match old.filter(|o| !o.trim().is_empty()) {
                Some(old) => format!("{new}{}", folded(&format!("<pre>{}</pre>", escape(old)))),
                None => new,
            };
            if cut {
                shown.push_str("<p class=\"mail-file-note\">This message is longer than shown here; the original has all of it.</p>");
            }
            shown
        }
    }
}

fn folded(inner: &str) -> String {
    format!(
        "<details class=\"mail-quoted\"><summary>{FOLDED_LABEL}</summary>{inner}</details>"
    )
}

/// Escaped text in paragraphs, single line breaks kept.
fn paragraphs(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim_matches('\n')).replace('\n', "<br>")))
        .collect()
}

/// The new words and the folded rest (quoted history, signature), at the first line where the
/// rest begins: an attribution ("On ... wrote:", in a few languages), an Outlook header block, a
/// signature separator, or a quote that runs to the end.
pub fn split_text(text: &str) -> (&str, Option<&str>) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // For each line, whether it and every line after it are quoted or blank (one pass from the
    // end, so the search below stays linear).
    let mut quoted_to_end = vec![false; lines.len() + 1];
    quoted_to_end[lines.len()] = true;
    for (i, line) in lines.iter().enumerate().rev() {
        let line = line.trim();
        quoted_to_end[i] = quoted_to_end[i + 1] && (line.is_empty() || line.starts_with('>'));
    }
    let mut offset = 0;
    for (i, line) in lines.iter().enumerate() {
        if starts_history(&lines, i, quoted_to_end[i]) {
            return (&text[..offset], Some(&text[offset..]));
        }
        offset += line.len();
    }
    (text, None)
}

fn starts_history(lines: &[&str], i: usize, quoted_to_end: bool) -> bool {
    let line = lines[i].trim_end_matches(['\n', '\r']);
    let trimmed = line.trim();
    if line == "-- " || line == "--" {
        return true;
    }
    if trimmed.starts_with("-----Original Message-----")
        || trimmed.starts_with("-----Ursprüngliche Nachricht-----")
        || trimmed.starts_with("-----Message d'origine-----")
        || (trimmed.len() >= 20 && trimmed.chars().all(|c| c == '_'))
    {
        return true;
    }
    // "On Mon, 1 Jan 2024, Ann <a@b> wrote:", possibly wrapped onto the next line.
    let attribution = |l: &str| {
        let l = l.trim();
        (l.starts_with("On ") && l.ends_with("wrote:"))
            || (l.starts_with("Am ") && l.ends_with("schrieb:"))
            || (l.starts_with("Le ") && (l.ends_with("a écrit :") || l.ends_with("a écrit:")))
            || (l.starts_with("El ") && l.ends_with("escribió:"))
    };
    if attribution(trimmed) {
        return true;
    }
    if let Some(next) = lines.get(i + 1)
        && (trimmed.starts_with("On ") || trimmed.starts_with("Am ") || trimmed.starts_with("Le "))
        && attribution(&format!("{trimmed} {}", next.trim()))
    {
        return true;
    }
    // An Outlook header block: "From: ..." followed by "Sent:"/"Date:" within two lines.
    if trimmed.starts_with("From: ")
        && lines[i + 1..].iter().take(2).any(|l| {
            let l = l.trim_start();
            l.starts_with("Sent: ") || l.starts_with("Date: ")
        })
    {
        return true;
    }
    // A quote that runs to the end (with blank lines): inline answers between quotes stay.
    trimmed.starts_with('>') && quoted_to_end
}

/// The HTML before the quoted history and the history itself, split at the first marker that
/// mail clients put there (Gmail's quote, a blockquote, Outlook's reply header).
fn split_html(html: &str) -> (&str, Option<&str>) {
    let lower = html.to_ascii_lowercase();
    let markers = [
        "<div class=\"gmail_quote",
        "<blockquote",
        "<div id=\"divrplyfwdmsg\"",
        "<div id=\"appendonsend\"",
        "<hr id=\"stopspelling\"",
        "-----original message-----",
    ];
    match markers.iter().filter_map(|m| lower.find(m)).min() {
        // Positions in the lower-cased copy match the original: ASCII lower-casing keeps lengths.
        Some(at) if html.is_char_boundary(at) => (&html[..at], Some(&html[at..])),
        _ => (html, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_history_and_signatures_are_folded_not_deleted() {
        let text = "Thanks, that worked.\n\nOn Mon, 1 Jan 2024 at 10:00, Support <s@x.test> wrote:\n> Try this\n> and that\n";
        let (new, old) = split_text(text);
        assert_eq!(new, "Thanks, that worked.\n\n");
        assert!(old.expect("folded").contains("> Try this"));
        let html = to_html(text, None);
        assert!(html.starts_with("<p>Thanks, that worked.</p><details"), "{html}");
        assert!(html.contains("&gt; Try this"), "{html}");

        let signed = "Hi\n-- \nAnn\nACME Corp\n";
        assert_eq!(split_text(signed), ("Hi\n", Some("-- \nAnn\nACME Corp\n")));
    }

    #[test]
    fn answers_between_quotes_stay_visible() {
        let text = "> Question one?\nAnswer one.\n> Question two?\nAnswer two.\n";
        assert_eq!(split_text(text), (text, None));
        let text = "Answer.\n\n> old\n>\n> older\n";
        assert_eq!(split_text(text).0, "Answer.\n\n");
    }

    #[test]
    fn attributions_in_other_languages_and_outlook_blocks_start_the_history() {
        for text in [
            "Danke\nAm 01.01.2024 um 10:00 schrieb Support:\n> alt\n",
            "Merci\nLe lun. 1 janv. 2024, Support a écrit :\n> vieux\n",
            "Thanks\n-----Original Message-----\nFrom: Support\n",
            "Thanks\n\nFrom: Support <s@x.test>\nSent: Monday\nTo: Ann\n",
        ] {
            assert!(split_text(text).1.is_some(), "{text}");
        }
    }

    #[test]
    fn deep_or_huge_html_is_shown_as_its_text_and_long_text_is_cut() {
        let deep = format!("{}deep{}", "<div>".repeat(50_000), "</div>".repeat(50_000));
        assert_eq!(to_html("deep", Some(&deep)), "<p>deep</p>");
        let quotes = "> q\n".repeat(200_000);
        let shown = to_html(&format!("New\n{quotes}"), None);
        assert!(shown.starts_with("<p>New</p><details"), "{}", &shown[..40]);
        assert!(shown.ends_with("the original has all of it.</p>"));
    }

    #[test]
    fn html_mail_is_sanitized_and_its_quote_folded() {
        let html = "<p onclick=\"x()\">New<script>alert(1)</script></p><div class=\"gmail_quote\">Old <a href=\"javascript:x()\">l</a></div>";
        let out = to_html("", Some(html));
        assert!(!out.contains("script") && !out.contains("onclick") && !out.contains("javascript"), "{out}");
        assert!(out.contains("<details class=\"mail-quoted\">"), "{out}");
        let pixel = to_html("", Some("<p>Hi<img src=\"https://track.example/p.gif\"></p>"));
        assert!(!pixel.contains("img"), "no remote images: {pixel}");
    }
}

//! Reading one raw RFC 5322 message into what frontdesk keeps of it: who sent it and to whom,
//! its Message-ID and the ids it answers, whether a machine sent it, whether it reports a failed
//! delivery, its text and its files. Pure and synchronous (the callers run it on the blocking
//! pool); it never panics on any input, which the property tests below check with random bytes.

use std::borrow::Cow;

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// The longest Message-ID kept as written; longer ones are replaced by a hash of themselves.
const MAX_ID_CHARS: usize = 250;
/// How many ids of `References` are looked at (the newest ones).
const MAX_REFERENCES: usize = 50;
/// How many ids of `In-Reply-To` are looked at (it names one; some clients name a few).
const MAX_IN_REPLY_TO: usize = 5;
/// How many followers one message may add (CC and To beyond the mailbox).
const MAX_COPIED: usize = 20;
/// The longest subject read.
const MAX_SUBJECT_CHARS: usize = 1_000;
/// The longest file name kept.
const MAX_FILE_NAME_CHARS: usize = 120;

/// A message as frontdesk reads it.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The Message-ID without angle brackets; made from a hash of the bytes when missing, so a
    /// redelivered copy still has the same id.
    pub message_id: String,
    /// The sender, if the message names a usable one.
    pub from: Option<Sender>,
    /// The subject, decoded and trimmed (may be empty).
    pub subject: String,
    /// Every address in `To`, `Cc`, `Delivered-To` and `X-Original-To`, lower-cased.
    pub recipients: Vec<String>,
    /// Addresses in `To` and `Cc` (lower-cased), the candidates for followers.
    pub copied: Vec<String>,
    /// The ids this message answers: `In-Reply-To` first, then `References`, newest first.
    pub answers: Vec<String>,
    /// Why a machine sent it (`Auto-Submitted`, `Precedence`, a mailer daemon...), if one did.
    pub automatic: Option<String>,
    /// What it reports about a delivery, if it is a delivery status notification.
    pub bounce: Option<Bounce>,
    /// The text people read: the text part, or the HTML part as text.
    pub text: String,
    /// The HTML part, when the message had no text part of its own.
    pub html: Option<String>,
    /// Files and inline images.
    pub files: Vec<File>,
}

/// Who sent a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    /// The address, lower-cased.
    pub address: String,
    /// The display name, or the address's local part.
    pub name: String,
}

/// What a delivery status notification says about one of our messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bounce {
    /// The Message-ID of the message that could not be delivered, when the report includes it.
    pub original_message_id: Option<String>,
    /// Whether delivery failed for good (`Action: failed`), not only delayed.
    pub failed: bool,
    /// The recipient it was for.
    pub recipient: String,
    /// The server's words: status code and diagnostic.
    pub reason: String,
    /// Whether a mail server sent it: an empty envelope sender, or a mailer-daemon or postmaster
    /// address. Reports from anyone else are not believed.
    pub from_server: bool,
}

/// A file sent with a message.
#[derive(Clone, Debug)]
pub struct File {
    /// A safe file name (no folders, no control characters).
    pub name: String,
    /// The declared type.
    pub content_type: String,
    /// Whether it was shown inside the message (an inline image) rather than attached.
    pub inline: bool,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// Why a message cannot be read at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// Reads a raw message. Fails only when nothing resembling a message is there.
pub fn parse(raw: &[u8]) -> Result<Parsed, Unreadable> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Unreadable("the message is empty".into()));
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| Unreadable("not an RFC 5322 message".into()))?;
    if message.headers().is_empty() {
        return Err(Unreadable("the message has no headers".into()));
    }
    let message_id = message
        .message_id()
        .and_then(normalize_id)
        .unwrap_or_else(|| format!("sha256.{}@frontdesk.invalid", &hex(&Sha256::digest(raw))[..40]));
    let from = message.from().and_then(first_sender).or_else(|| message.sender().and_then(first_sender));
    // A subject is kept at 200 characters; a few more are read for a thread tag at its end.
    let subject: String =
        clean_line(message.subject().unwrap_or_default()).chars().take(MAX_SUBJECT_CHARS).collect();
    let mut recipients = Vec::new();
    let mut copied = Vec::new();
    for address in [message.to(), message.cc()].into_iter().flatten() {
        for address in addresses(address) {
            if copied.len() < MAX_COPIED && !copied.contains(&address) {
                copied.push(address.clone());
            }
            recipients.push(address);
        }
    }
    for name in ["Delivered-To", "X-Original-To"] {
        for value in message.header_values(name) {
            if let Some(text) = value.as_text() {
                recipients.extend(parse_plain_address(text));
            }
        }
    }
    let mut answers = ids(message.in_reply_to(), MAX_IN_REPLY_TO, false);
    let mut references = ids(message.references(), MAX_REFERENCES, true);
    references.reverse();
    for id in references {
        if !answers.contains(&id) {
            answers.push(id);
        }
    }
    let mut bounce = bounce(&message);
    if let Some(bounce) = &mut bounce {
        // The delivering server records the envelope sender as `Return-Path`: a report has an
        // empty one. Without that header (some HTTP providers drop it), the sender must at least
        // be a mailer daemon.
        let has_return_path = message.header_raw("Return-Path").is_some();
        bounce.from_server = empty_envelope_sender(&message)
            || (!has_return_path
                && from.as_ref().is_some_and(|f| {
                    let local = f.address.split('@').next().unwrap_or_default();
                    local == "mailer-daemon" || local == "postmaster"
                }));
    }
    let automatic = automatic(&message, from.as_ref(), bounce.is_some());
    let (text, html) = body(&message);
    let files = files(&message);
    Ok(Parsed {
        message_id,
        from,
        subject,
        recipients,
        copied,
        answers,
        automatic,
        bounce,
        text,
        html,
        files,
    })
}

/// A Message-ID as stored: without brackets and spaces; hashed when absurdly long.
pub fn normalize_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Some(format!("long.{}@frontdesk.invalid", &hex(&Sha256::digest(id))[..40]));
    }
    Some(id.to_owned())
}

/// The ids in a header, at most `keep` of them: the first ones, or with `newest` the last ones
/// (cut before anything else is done with them, so a header of thousands costs nothing).
fn ids(value: &HeaderValue<'_>, keep: usize, newest: bool) -> Vec<String> {
    let list: Vec<&str> = match value {
        HeaderValue::Text(text) => text.split_whitespace().collect(),
        HeaderValue::TextList(list) => list.iter().flat_map(|t| t.split_whitespace()).collect(),
        _ => Vec::new(),
    };
    let kept = if newest { &list[list.len().saturating_sub(keep)..] } else { &list[..keep.min(list.len())] };
    let mut out: Vec<String> = Vec::with_capacity(kept.len());
    for id in kept.iter().copied().filter_map(normalize_id) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn addresses(address: &Address<'_>) -> Vec<String> {
    address.iter().filter_map(|a| a.address()).filter_map(clean_address).collect()
}

fn first_sender(address: &Address<'_>) -> Option<Sender> {
    address.iter().find_map(|a| {
        let address = clean_address(a.address()?)?;
        let name = a
            .name()
            .map(clean_line)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| address.split('@').next().unwrap_or_default().to_owned());
        Some(Sender { address, name: name.chars().take(100).collect() })
    })
}

/// An address as frontdesk stores it (lower-cased), if it has a usable shape.
fn clean_address(address: &str) -> Option<String> {
    crate::agents::Email::parse(address).ok().map(|e| e.as_str().to_owned())
}

fn parse_plain_address(text: &str) -> Option<String> {
    clean_address(text.trim().trim_start_matches('<').trim_end_matches('>'))
}

/// A header as one clean line: no control characters, whitespace collapsed.
fn clean_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a machine sent this message, if one did: what no acknowledgement may answer.
fn automatic(
    message: &mail_parser::Message<'_>,
    from: Option<&Sender>,
    is_bounce: bool,
) -> Option<String> {
    if is_bounce {
        return Some("a delivery status notification".into());
    }
    let header = |name: &str| {
        message.header_raw(name).map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty())
    };
    if let Some(value) = header("Auto-Submitted").filter(|v| v != "no") {
        // Raw header text: cleaned and cut before it becomes a stored reason.
        let value: String = clean_line(&value).chars().take(60).collect();
        return Some(format!("Auto-Submitted: {value}"));
    }
    if let Some(value) =
        header("Precedence").filter(|v| ["bulk", "auto_reply", "list", "junk"].contains(&v.as_str()))
    {
        return Some(format!("Precedence: {value}"));
    }
    for name in ["X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe", "Feedback-ID"] {
        if header(name).is_some() {
            return Some(format!("{name} is present"));
        }
    }
    if empty_envelope_sender(message) {
        return Some("the envelope sender is empty".into());
    }
    let local = from.map(|s| s.address.split('@').next().unwrap_or_default().to_owned());
    if let Some(local) = local.filter(|l| {
        ["mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"]
            .contains(&l.as_str())
    }) {
        return Some(format!("sent by {local}"));
    }
    None
}

/// Whether the envelope sender was empty (`Return-Path: <>`), as it is for delivery reports.
fn empty_envelope_sender(message: &mail_parser::Message<'_>) -> bool {
    message.header_raw("Return-Path").is_some_and(|v| v.trim() == "<>")
        || message.return_address().is_some_and(|r| r.trim_matches(['<', '>', ' ']).is_empty())
}

/// What a delivery status notification reports, if this is one (RFC 3464).
fn bounce(message: &mail_parser::Message<'_>) -> Option<Bounce> {
    let status = message.parts.iter().find(|p| p.is_content_type("message", "delivery-status"))?;
    let report = String::from_utf8_lossy(status.contents());
    let field = |name: &str| {
        report.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| clean_line(value))
        })
    };
    let action = field("Action").unwrap_or_default().to_ascii_lowercase();
    let recipient = field("Final-Recipient")
        .or_else(|| field("Original-Recipient"))
        .map(|r| r.rsplit(';').next().unwrap_or_default().trim().to_lowercase())
        .unwrap_or_default();
    let code = field("Status").unwrap_or_default();
    let diagnostic = field("Diagnostic-Code").unwrap_or_default();
    let reason = match (code.is_empty(), diagnostic.is_empty()) {
        (false, false) => format!("{code} {diagnostic}"),
        (false, true) => code.clone(),
        (true, false) => diagnostic,
        (true, true) => "the receiving server gave no reason".into(),
    };
    let original_message_id = message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(inner) => inner.message_id().and_then(normalize_id),
        _ if part.is_content_type("text", "rfc822-headers") => {
            header_id(&String::from_utf8_lossy(part.contents()))
        }
        _ => None,
    });
    Some(Bounce {
        original_message_id,
        failed: action == "failed" || (action.is_empty() && code.starts_with('5')),
        recipient,
        reason: reason.chars().take(500).collect(),
        from_server: false,
    })
}

/// The Message-ID in a block of headers given as text.
fn header_id(headers: &str) -> Option<String> {
    headers.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case("message-id").then(|| normalize_id(value)).flatten()
    })
}

/// The text and, when the message had no text part, its HTML.
fn body(message: &mail_parser::Message<'_>) -> (String, Option<String>) {
    let mut text = String::new();
    let mut html = None;
    for (position, part_id) in message.text_body.iter().enumerate() {
        let Some(part) = message.parts.get(*part_id as usize) else { continue };
        let piece: Cow<'_, str> = match &part.body {
            PartType::Text(t) => Cow::Borrowed(t.as_ref()),
            PartType::Html(h) => {
                if position == 0 {
                    html = Some(clean_text(h));
                }
                Cow::Owned(mail_parser::decoders::html::html_to_text(h))
            }
            _ => continue,
        };
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&piece);
    }
    (clean_text(&text).trim().to_owned(), html)
}

/// Text without NULs and other control characters (tabs and newlines stay), lines ending in
/// `\n`.
fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

fn files(message: &mail_parser::Message<'_>) -> Vec<File> {
    message
        .attachments()
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match &ct.c_subtype {
                    Some(sub) => format!("{}/{}", ct.c_type, sub),
                    None => ct.c_type.to_string(),
                })
                .map(|t| clean_line(&t).to_ascii_lowercase())
                .filter(|t| !t.is_empty() && t.len() < 100)
                .unwrap_or_else(|| "application/octet-stream".into());
            let inline = part
                .content_disposition()
                .is_some_and(|cd| cd.c_type.eq_ignore_ascii_case("inline"))
                && content_type.starts_with("image/");
            let fallback = if part.message().is_some() { "message.eml" } else { "attachment" };
            File {
                name: safe_file_name(part.attachment_name().unwrap_or(fallback)),
                content_type,
                inline,
                data: part.contents().to_vec(),
            }
        })
        .collect()
}

/// A file name that is only a name: the last path segment, no control characters, no leading
/// dots, at most [`MAX_FILE_NAME_CHARS`].
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    if cleaned.trim().is_empty() { "attachment".into() } else { cleaned }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REPLY: &str = "From: \"Ann Example\" <Ann@Customer.test>\r\nTo: support@example.test\r\nCc: Bob <bob@customer.test>, support@example.test\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= is closed\r\nMessage-ID: <abc@customer.test>\r\nIn-Reply-To: <fd.1@example.test>\r\nReferences: <root@x.test> <fd.1@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n\r\n> quoted\r\n";

    #[test]
    fn a_reply_gives_its_sender_recipients_and_the_ids_it_answers() {
        let parsed = parse(REPLY.as_bytes()).expect("parses");
        assert_eq!(parsed.message_id, "abc@customer.test");
        assert_eq!(
            parsed.from,
            Some(Sender { address: "ann@customer.test".into(), name: "Ann Example".into() })
        );
        assert_eq!(parsed.subject, "Café is closed");
        assert_eq!(parsed.answers, vec!["fd.1@example.test".to_owned(), "root@x.test".into()]);
        assert_eq!(parsed.copied, vec!["support@example.test".to_owned(), "bob@customer.test".into()]);
        assert_eq!(parsed.text, "Hello\n\n> quoted");
        assert!(parsed.automatic.is_none());
    }

    #[test]
    fn a_missing_message_id_is_made_from_the_bytes_so_copies_share_it() {
        let raw = "From: a@b.test\r\nSubject: x\r\n\r\nbody\r\n";
        let one = parse(raw.as_bytes()).expect("parses");
        let two = parse(raw.as_bytes()).expect("parses");
        assert_eq!(one.message_id, two.message_id);
        assert!(one.message_id.ends_with("@frontdesk.invalid"));
    }

    #[test]
    fn machines_are_recognised_by_their_headers_and_addresses() {
        for (header, expected) in [
            ("Auto-Submitted: auto-replied\r\n", true),
            ("Auto-Submitted: no\r\n", false),
            ("Precedence: bulk\r\n", true),
            ("List-Id: <news.example.test>\r\n", true),
            ("", false),
        ] {
            let raw = format!("From: a@b.test\r\n{header}Subject: x\r\n\r\nbody\r\n");
            assert_eq!(parse(raw.as_bytes()).expect("parses").automatic.is_some(), expected, "{header}");
        }
        let daemon = "From: MAILER-DAEMON@example.test\r\nSubject: x\r\n\r\nbody\r\n";
        assert!(parse(daemon.as_bytes()).expect("parses").automatic.is_some());
    }

    #[test]
    fn a_delivery_report_names_the_message_that_failed() {
        let raw = "From: MAILER-DAEMON@example.test\r\nTo: support@example.test\r\nSubject: Undelivered\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.test\r\n\r\nFinal-Recipient: rfc822; nobody@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.test\r\nMessage-ID: <fd.7@example.test>\r\n--b--\r\n";
        let bounce = parse(raw.as_bytes()).expect("parses").bounce.expect("a bounce");
        assert!(bounce.failed);
        assert_eq!(bounce.original_message_id.as_deref(), Some("fd.7@example.test"));
        assert_eq!(bounce.recipient, "nobody@example.test");
        assert!(bounce.reason.contains("User unknown"), "{}", bounce.reason);
        assert!(bounce.from_server, "sent by a mailer daemon");
        let forged = raw.replace("From: MAILER-DAEMON@example.test", "From: eve@example.test");
        assert!(!parse(forged.as_bytes()).expect("parses").bounce.expect("a report").from_server);
        let relayed = format!("Return-Path: <eve@example.test>\r\n{raw}");
        assert!(!parse(relayed.as_bytes()).expect("parses").bounce.expect("a report").from_server);
    }

    #[test]
    fn headers_with_thousands_of_ids_are_cut_to_the_newest_references_and_first_answers() {
        let many: Vec<String> = (0..20_000).map(|i| format!("<id{i}@x.test>")).collect();
        let raw = format!(
            "From: a@b.test\r\nIn-Reply-To: {}\r\nReferences: {}\r\n\r\nbody\r\n",
            many.join(" "),
            many.join(" ")
        );
        let answers = parse(raw.as_bytes()).expect("parses").answers;
        assert_eq!(answers.len(), MAX_IN_REPLY_TO + MAX_REFERENCES);
        assert_eq!(answers[0], "id0@x.test");
        assert_eq!(answers[MAX_IN_REPLY_TO], "id19999@x.test", "newest reference first");
    }

    #[test]
    fn file_names_lose_folders_and_control_characters() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\x\\..\\evil.exe"), "evil.exe");
        assert_eq!(safe_file_name("a\u{0}b\r\n.pdf"), "ab.pdf");
        assert_eq!(safe_file_name("..."), "attachment");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn random_text_after_real_headers_never_panics(body in ".{0,2000}", ct in "(text/plain|text/html|multipart/mixed; boundary=x|multipart/report; report-type=delivery-status; boundary=x|message/rfc822)") {
            let raw = format!("From: a@b.test\r\nContent-Type: {ct}\r\nSubject: s\r\n\r\n{body}");
            let _ = parse(raw.as_bytes());
        }
    }
}

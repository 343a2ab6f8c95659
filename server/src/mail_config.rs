//! The `[mail]` section of the config file, and the `FRONTDESK_SMTP_*` and
//! `FRONTDESK_IMAP_PASSWORD_<MAILBOX>` environment variables, turned into the email channel's
//! settings. Passwords may stay out of the file: the environment fills what the file leaves out.

use std::path::PathBuf;
use std::time::Duration;

use frontdesk_core::mail::{DkimSettings, ImapSettings, MailSettings, Security, SmtpSettings};
use serde::Deserialize;

use crate::config::ConfigError;

/// `[mail]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailFile {
    smtp: Option<SmtpFile>,
    #[serde(default)]
    imap: Vec<ImapFile>,
    max_message_mb: Option<usize>,
    per_sender_per_hour: Option<i64>,
    lease_secs: Option<u64>,
    retry_base_secs: Option<u64>,
    max_attempts: Option<i64>,
}

/// `[mail.smtp]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpFile {
    host: Option<String>,
    port: Option<u16>,
    security: Option<Security>,
    username: Option<String>,
    password: Option<String>,
    timeout_secs: Option<u64>,
    dkim_selector: Option<String>,
    dkim_domain: Option<String>,
    dkim_key_file: Option<PathBuf>,
}

/// One `[[mail.imap]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImapFile {
    mailbox: String,
    host: String,
    port: Option<u16>,
    security: Option<Security>,
    username: String,
    password: Option<String>,
    folder: Option<String>,
    move_to: Option<String>,
    poll_secs: Option<u64>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn invalid(what: impl Into<String>) -> ConfigError {
    ConfigError::Mail(what.into())
}

/// The settings from the file's `[mail]` (if any) and the environment.
pub(crate) fn resolve(file: Option<MailFile>) -> Result<MailSettings, ConfigError> {
    let file = file.unwrap_or_default();
    let defaults = MailSettings::default();
    let smtp = smtp(file.smtp.unwrap_or_default())?;
    let imap = file.imap.into_iter().map(imap).collect::<Result<Vec<_>, _>>()?;
    Ok(MailSettings {
        smtp,
        imap,
        max_message_bytes: file
            .max_message_mb
            .map_or(defaults.max_message_bytes, |mb| mb.saturating_mul(1024 * 1024)),
        per_sender_per_hour: file.per_sender_per_hour.unwrap_or(defaults.per_sender_per_hour),
        lease: file.lease_secs.map_or(defaults.lease, Duration::from_secs),
        retry_base: file.retry_base_secs.map_or(defaults.retry_base, Duration::from_secs),
        max_attempts: file.max_attempts.unwrap_or(defaults.max_attempts).max(1),
    })
}

fn smtp(file: SmtpFile) -> Result<Option<SmtpSettings>, ConfigError> {
    let Some(host) = env("FRONTDESK_SMTP_HOST").or(file.host) else { return Ok(None) };
    let security = match env("FRONTDESK_SMTP_SECURITY") {
        Some(text) => parse_security(&text)?,
        None => file.security.unwrap_or_default(),
    };
    let port = match env("FRONTDESK_SMTP_PORT") {
        Some(text) => text
            .parse()
            .map_err(|_| invalid(format!("FRONTDESK_SMTP_PORT '{text}' is not a port")))?,
        None => file.port.unwrap_or(match security {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::Plain => 25,
        }),
    };
    let dkim = match (file.dkim_selector, file.dkim_domain, file.dkim_key_file) {
        (None, None, None) => None,
        (Some(selector), Some(domain), Some(path)) => {
            let private_key_pem = std::fs::read_to_string(&path)
                .map_err(|e| invalid(format!("DKIM key {}: {e}", path.display())))?;
            Some(DkimSettings { selector, domain, private_key_pem })
        }
        _ => {
            return Err(invalid(
                "DKIM needs dkim_selector, dkim_domain and dkim_key_file together",
            ));
        }
    };
    Ok(Some(SmtpSettings {
        host,
        port,
        security,
        username: env("FRONTDESK_SMTP_USERNAME").or(file.username),
        password: env("FRONTDESK_SMTP_PASSWORD").or(file.password),
        timeout: Duration::from_secs(file.timeout_secs.unwrap_or(30).max(1)),
        dkim,
    }))
}

fn parse_security(text: &str) -> Result<Security, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "starttls" => Ok(Security::Starttls),
        "tls" => Ok(Security::Tls),
        "plain" => Ok(Security::Plain),
        other => Err(invalid(format!("security '{other}': expected starttls, tls or plain"))),
    }
}

fn imap(file: ImapFile) -> Result<ImapSettings, ConfigError> {
    let variable =
        format!("FRONTDESK_IMAP_PASSWORD_{}", file.mailbox.to_ascii_uppercase().replace('-', "_"));
    let password = env(&variable).or(file.password).ok_or_else(|| {
        invalid(format!(
            "IMAP mailbox '{}' has no password (set it in the file or {variable})",
            file.mailbox
        ))
    })?;
    let security = file.security.unwrap_or(Security::Tls);
    Ok(ImapSettings {
        mailbox: file.mailbox,
        host: file.host,
        port: file.port.unwrap_or(if security == Security::Tls { 993 } else { 143 }),
        security,
        username: file.username,
        password,
        folder: file.folder.unwrap_or_else(|| "INBOX".into()),
        move_to: file.move_to,
        poll_interval: Duration::from_secs(file.poll_secs.unwrap_or(60).max(1)),
    })
}

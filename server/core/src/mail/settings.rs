//! How frontdesk reaches mail servers, and the limits of the email channel. Read from the config
//! file and the environment by the server; credentials live only here, never in the database.

use std::time::Duration;

/// How a connection to a mail server is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain first, then upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTP port 465, IMAP port 993).
    Tls,
    /// No encryption: only for a relay on this machine or a test server.
    Plain,
}

/// The outgoing server.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// How the connection is secured.
    pub security: Security,
    /// User name, when the server wants one.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// How long one connection or command may take.
    pub timeout: Duration,
    /// Signing, when configured.
    pub dkim: Option<DkimSettings>,
}

/// DKIM signing of outgoing mail.
#[derive(Clone, Debug)]
pub struct DkimSettings {
    /// The selector (`mail` for `mail._domainkey.example.com`).
    pub selector: String,
    /// The signing domain.
    pub domain: String,
    /// The RSA private key, PKCS#1 PEM.
    pub private_key_pem: String,
}

/// One mailbox read over IMAP.
#[derive(Clone, Debug)]
pub struct ImapSettings {
    /// The frontdesk mailbox (its short name) these messages belong to.
    pub mailbox: String,
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// How the connection is secured.
    pub security: Security,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The folder read (INBOX).
    pub folder: String,
    /// Where stored messages are moved; `None` marks them seen and deleted instead.
    pub move_to: Option<String>,
    /// How often to look when the server cannot IDLE (and the longest IDLE).
    pub poll_interval: Duration,
}

/// The email channel's settings.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// Sending; without it, mail waits in the outbox (where admins can read sign-in links).
    pub smtp: Option<SmtpSettings>,
    /// Mailboxes read over IMAP.
    pub imap: Vec<ImapSettings>,
    /// The largest message accepted; larger ones are quarantined by their headers.
    pub max_message_bytes: usize,
    /// Messages one sender may send per hour before the rest are quarantined.
    pub per_sender_per_hour: i64,
    /// How long a claimed outbox row is reserved for its sender.
    pub lease: Duration,
    /// The first retry's delay; each later one doubles it (capped at an hour).
    pub retry_base: Duration,
    /// Tries before a message is given up as failed.
    pub max_attempts: i64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp: None,
            imap: Vec::new(),
            max_message_bytes: 25 * 1024 * 1024,
            per_sender_per_hour: 60,
            lease: Duration::from_secs(120),
            retry_base: Duration::from_secs(30),
            max_attempts: 10,
        }
    }
}

//! Real mail servers for the email tests: a private Postfix (SMTP) and Dovecot (IMAP) pair from
//! Debian's packages, started by `tests/mail/start.sh` on free loopback ports with their own
//! configuration and state in a temporary folder, and stopped when dropped. Every local part at
//! `example.test` is a mailbox (IMAP login: the address, password `secret`); mail to local parts
//! starting with `nobody` is accepted and then bounced with a delivery status notification.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tempfile::TempDir;

/// The IMAP password of every test mailbox.
pub const IMAP_PASSWORD: &str = "secret";

/// A running Postfix and Dovecot pair.
pub struct MailServer {
    dir: TempDir,
    /// Postfix's SMTP port on 127.0.0.1.
    pub smtp_port: u16,
    /// Dovecot's IMAP port on 127.0.0.1.
    pub imap_port: u16,
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mail")
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn run(script: &str, args: &[&str]) {
    let output = std::process::Command::new(scripts().join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{script} runs: {e}"));
    assert!(
        output.status.success(),
        "{script} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl MailServer {
    /// Starts a fresh pair on free ports (trying other ports if one was taken meanwhile).
    pub fn start() -> MailServer {
        let dir = tempfile::tempdir().expect("a folder for the mail servers");
        for _ in 0..3 {
            let (smtp_port, imap_port) = (free_port(), free_port());
            let args = [path(dir.path()), smtp_port.to_string(), imap_port.to_string()];
            let started = std::process::Command::new(scripts().join("start.sh"))
                .args(&args)
                .output()
                .expect("start.sh runs");
            if started.status.success() {
                return MailServer { dir, smtp_port, imap_port };
            }
            eprintln!("start.sh: {}", String::from_utf8_lossy(&started.stderr).trim());
        }
        panic!("Postfix and Dovecot did not start (see above)");
    }

    /// Stops Postfix only (SMTP refuses connections until [`Self::start_smtp`]).
    pub fn stop_smtp(&self) {
        run("smtp.sh", &[&path(self.dir.path()), "stop"]);
    }

    /// Starts Postfix again.
    pub fn start_smtp(&self) {
        run("smtp.sh", &[&path(self.dir.path()), "start"]);
    }

    /// The `[mail]` settings for frontdesk: send through this Postfix and read `mailbox`'s
    /// address over IMAP for the frontdesk mailbox `name`, with short leases and retries.
    pub fn config(&self, name: &str, address: &str) -> String {
        format!(
            "[mail]\nlease_secs = 3\nretry_base_secs = 1\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\ntimeout_secs = 10\n\n[[mail.imap]]\nmailbox = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"{address}\"\npassword = \"{IMAP_PASSWORD}\"\npoll_secs = 2\n",
            self.smtp_port, self.imap_port
        )
    }

    /// Sends `raw` from `from` to `to` through Postfix, as a customer's mail program would.
    pub async fn send(&self, raw: &[u8], from: &str, to: &[&str]) {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.smtp_port)
            .build();
        let envelope = lettre::address::Envelope::new(
            Some(from.parse().expect("a sender address")),
            to.iter().map(|t| t.parse().expect("a recipient address")).collect(),
        )
        .expect("an envelope");
        transport.send_raw(&envelope, raw).await.expect("Postfix takes the message");
    }

    /// Every message in `user`'s INBOX, oldest first.
    pub async fn inbox(&self, user: &str) -> Vec<Vec<u8>> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .expect("Dovecot answers");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.expect("a greeting").expect("a greeting");
        let mut session =
            client.login(user, IMAP_PASSWORD).await.map_err(|(e, _)| e).expect("IMAP login");
        let mailbox = session.select("INBOX").await.expect("INBOX");
        let mut messages = Vec::new();
        if mailbox.exists > 0 {
            let fetched: Vec<_> = session
                .fetch("1:*", "BODY.PEEK[]")
                .await
                .expect("fetch")
                .try_collect()
                .await
                .expect("fetched");
            messages = fetched.iter().filter_map(|m| m.body().map(<[u8]>::to_vec)).collect();
        }
        session.logout().await.ok();
        messages
    }

    /// Waits (up to 30 s) until `user`'s INBOX holds a message `ok` accepts; returns it.
    pub async fn wait_for(&self, user: &str, ok: impl Fn(&Mail) -> bool) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.inbox(user).await.iter().map(|raw| Mail::parse(raw)).find(|m| ok(m));
            if let Some(found) = found {
                return found;
            }
            assert!(Instant::now() < deadline, "no such message reached {user} within 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every message in `user`'s INBOX, read.
    pub async fn mails(&self, user: &str) -> Vec<Mail> {
        self.inbox(user).await.iter().map(|raw| Mail::parse(raw)).collect()
    }
}

fn path(dir: &Path) -> String {
    dir.to_str().expect("a UTF-8 path").to_owned()
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new(scripts().join("stop.sh")).arg(self.dir.path()).output();
    }
}

/// A received message, as tests look at it.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The Message-ID, without brackets.
    pub message_id: String,
    /// `In-Reply-To`, without brackets.
    pub in_reply_to: Option<String>,
    /// `From`'s address.
    pub from: String,
    /// `To` and `Cc` addresses.
    pub to: Vec<String>,
    /// `Cc` addresses.
    pub cc: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The text.
    pub text: String,
    /// `Auto-Submitted`, if set.
    pub auto_submitted: Option<String>,
    /// The whole message.
    pub raw: Vec<u8>,
}

impl Mail {
    /// Reads a raw message.
    pub fn parse(raw: &[u8]) -> Mail {
        let message = mail_parser::MessageParser::default().parse(raw).expect("a message");
        let addresses = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
            a.map(|a| a.iter().filter_map(|x| x.address()).map(str::to_lowercase).collect())
                .unwrap_or_default()
        };
        Mail {
            message_id: message.message_id().unwrap_or_default().to_owned(),
            in_reply_to: message.in_reply_to().as_text().map(str::to_owned),
            from: addresses(message.from()).into_iter().next().unwrap_or_default(),
            to: addresses(message.to()),
            cc: addresses(message.cc()),
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            auto_submitted: message.header_raw("Auto-Submitted").map(|v| v.trim().to_owned()),
            raw: raw.to_vec(),
        }
    }
}

/// A plain message from `from` to `to`, with extra header lines (each ending in `\r\n`).
pub fn message(from: &str, to: &str, subject: &str, body: &str, headers: &str) -> Vec<u8> {
    let id = format!("{}@customer.test", uuid_like());
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{headers}\r\n{body}\r\n"
    )
    .into_bytes()
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..24)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.gen_range(0..36)]))
        .collect()
}

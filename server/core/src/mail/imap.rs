//! Reading a mailbox over IMAP: fetch every message frontdesk has not stored yet, receive it, and
//! only then mark it (the keyword `$FrontdeskStored` and `\Seen`) or move it to the configured
//! folder. A crash between storing and marking shows the message again next time, and receiving
//! it again is a duplicate, stored once. Between rounds the reader waits with IDLE when the server
//! offers it (new mail arrives within a second) and polls otherwise.

use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::error::{Error, Result};
use crate::mail::inbound::{Guards, mailbox_by_name, receive_raw};
use crate::mail::settings::{ImapSettings, Security};
use crate::platform::context::AppContext;

/// The keyword that marks a stored message.
const STORED: &str = "$FrontdeskStored";
/// How long to wait before reconnecting after a failure (doubling up to the poll interval).
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// A connection, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}
type Session = async_imap::Session<Box<dyn Io>>;

/// Reads the mailbox until the application stops, reconnecting after failures.
pub async fn poll_forever(ctx: AppContext, imap: ImapSettings) {
    let mut retry = FIRST_RETRY;
    while !ctx.tasks().is_stopping() {
        match read_mailbox(&ctx, &imap, &mut retry).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(mailbox = imap.mailbox, host = imap.host, error = %e, "IMAP reading failed; reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(retry) => {}
                    () = ctx.tasks().stopping() => return,
                }
                retry = (retry * 2).min(imap.poll_interval.max(FIRST_RETRY));
            }
        }
    }
}

fn imap_error(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal_from("the IMAP server failed", e)
}

async fn read_mailbox(ctx: &AppContext, imap: &ImapSettings, retry: &mut Duration) -> Result<()> {
    let mailbox = mailbox_by_name(ctx.db(), &imap.mailbox).await?;
    let mut session = connect(imap).await?;
    session.select(&imap.folder).await.map_err(imap_error)?;
    let capabilities = session.capabilities().await.map_err(imap_error)?;
    let (idle, can_move) = (capabilities.has_str("IDLE"), capabilities.has_str("MOVE"));
    *retry = FIRST_RETRY;
    loop {
        let uids = session
            .uid_search(format!("UNKEYWORD {STORED} UNDELETED"))
            .await
            .map_err(imap_error)?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        for uid in uids {
            if ctx.tasks().is_stopping() {
                break;
            }
            let raw = fetch(&mut session, uid).await?;
            let Some(raw) = raw else { continue };
            // A message that cannot be stored now stays unmarked and is tried again next round;
            // it does not hold up the messages after it.
            match receive_raw(ctx, &mailbox, raw, Guards::On).await {
                Ok(outcome) => {
                    tracing::info!(mailbox = imap.mailbox, uid, outcome = outcome.describe(), "mail received over IMAP");
                    mark(&mut session, imap, uid, can_move).await?;
                }
                Err(e) => {
                    tracing::warn!(mailbox = imap.mailbox, uid, "a message could not be stored; it is tried again later");
                    e.log();
                }
            }
        }
        if ctx.tasks().is_stopping() {
            session.logout().await.map_err(imap_error)?;
            return Ok(());
        }
        session = wait(ctx, session, idle, imap.poll_interval).await?;
    }
}

/// A command's responses, all of them.
async fn collect<T>(
    responses: async_imap::error::Result<
        impl futures_util::Stream<Item = async_imap::error::Result<T>>,
    >,
) -> Result<Vec<T>> {
    responses.map_err(imap_error)?.try_collect().await.map_err(imap_error)
}

async fn fetch(session: &mut Session, uid: u32) -> Result<Option<Vec<u8>>> {
    let messages = collect(session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await).await?;
    Ok(messages.iter().find_map(|m| m.body().map(<[u8]>::to_vec)))
}

/// Marks (or moves) a message that is stored: MOVE where the server has it, else COPY, then
/// delete and expunge the original.
async fn mark(session: &mut Session, imap: &ImapSettings, uid: u32, can_move: bool) -> Result<()> {
    let uid = uid.to_string();
    match &imap.move_to {
        Some(folder) if can_move => session.uid_mv(&uid, folder).await.map_err(imap_error),
        Some(folder) => {
            session.uid_copy(&uid, folder).await.map_err(imap_error)?;
            collect(session.uid_store(&uid, "+FLAGS (\\Deleted)").await).await?;
            collect(session.uid_expunge(&uid).await).await.map(drop)
        }
        None => collect(session.uid_store(&uid, format!("+FLAGS ({STORED} \\Seen)")).await)
            .await
            .map(drop),
    }
}

/// Waits for new mail: IDLE until the server says something or `interval` passes, or a plain
/// sleep; returns early when the application stops.
async fn wait(ctx: &AppContext, session: Session, idle: bool, interval: Duration) -> Result<Session> {
    if !idle {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = ctx.tasks().stopping() => {}
        }
        return Ok(session);
    }
    let mut handle = session.idle();
    handle.init().await.map_err(imap_error)?;
    let (response, stop) = handle.wait_with_timeout(interval);
    let outcome = tokio::select! {
        outcome = response => Some(outcome),
        () = ctx.tasks().stopping() => None,
    };
    drop(stop);
    // New data, a timeout or a stop: each ends the wait the same way.
    if let Some(Err(e)) = outcome {
        return Err(imap_error(e));
    }
    let _: Option<IdleResponse> = outcome.and_then(|o| o.ok());
    handle.done().await.map_err(imap_error)
}

async fn connect(imap: &ImapSettings) -> Result<Session> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(30),
        TcpStream::connect((imap.host.as_str(), imap.port)),
    )
    .await
    .map_err(|e| imap_error(std::io::Error::new(std::io::ErrorKind::TimedOut, e)))?
    .map_err(imap_error)?;
    let stream: Box<dyn Io> = match imap.security {
        Security::Tls => Box::new(tls_over(imap, tcp).await?),
        Security::Plain | Security::Starttls => Box::new(tcp),
    };
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .map_err(imap_error)?
        .ok_or_else(|| Error::internal("the IMAP server closed the connection before greeting"))?;
    if imap.security == Security::Starttls {
        client.run_command_and_check_ok("STARTTLS", None).await.map_err(imap_error)?;
        let plain = client.into_inner();
        let upgraded = tls_over(imap, plain).await?;
        client = async_imap::Client::new(Box::new(upgraded));
    }
    client.login(&imap.username, &imap.password).await.map_err(|(e, _)| imap_error(e))
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(imap_error)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn tls_over<S: AsyncRead + AsyncWrite + Unpin>(
    imap: &ImapSettings,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>> {
    let name = rustls::pki_types::ServerName::try_from(imap.host.clone()).map_err(imap_error)?;
    tokio_rustls::TlsConnector::from(tls_config()?).connect(name, stream).await.map_err(imap_error)
}

//! What both WebSockets (the agents' live socket and the widget's) share: reading a client's
//! frame, sending a JSON frame, why a socket ends, and ending it. Errors reach a client only as
//! [`Error::to_client`] words; a socket that fails on the server side is logged with the cause
//! and closed with a plain reason.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use frontdesk_core::error::{Error, INTERNAL_MESSAGE};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;

/// The sending half of a socket.
pub(super) type Sink = SplitSink<WebSocket, Message>;
/// The receiving half of a socket.
pub(super) type Stream = SplitStream<WebSocket>;

/// Why a socket ends.
#[derive(Debug)]
pub(super) enum End {
    /// The client left or the network failed.
    Gone,
    /// The client broke the protocol, fell behind, or may no longer listen; tell it why.
    Refuse(u16, &'static str),
    /// frontdesk is shutting down: the client reconnects to the next one.
    ShuttingDown,
    /// The server failed; the cause is logged, the client told in plain words.
    Failed(Error),
}

impl From<Error> for End {
    fn from(error: Error) -> Self {
        End::Failed(error)
    }
}

/// What one read from a socket brought.
pub(super) enum Incoming<T> {
    /// A request to handle.
    Request(T),
    /// A request refused as it stands (the socket stays open; tell the client why).
    Refused(Error),
    /// Nothing to act on (a ping or a pong).
    Nothing,
}

/// Reads one frame as a `T`: JSON text within the size the upgrade allowed (the codec refuses
/// larger frames, which ends the socket). NUL characters are refused like anywhere else.
pub(super) fn read<T: DeserializeOwned>(
    incoming: Option<Result<Message, axum::Error>>,
) -> Result<Incoming<T>, End> {
    match incoming {
        Some(Ok(Message::Text(text))) if super::input::has_nul(text.as_bytes(), false) => {
            Ok(Incoming::Refused(Error::invalid("message", super::input::NUL_REFUSED)))
        }
        Some(Ok(Message::Text(text))) => serde_json::from_str(text.as_str())
            .map(Incoming::Request)
            .map_err(|_| End::Refuse(close_code::INVALID, "malformed message")),
        Some(Ok(Message::Binary(_))) => {
            Err(End::Refuse(close_code::UNSUPPORTED, "text messages only"))
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(Incoming::Nothing),
        // Closed, failed, or too large.
        Some(Ok(Message::Close(_)) | Err(_)) | None => Err(End::Gone),
    }
}

/// Sends one JSON frame (`socket` names it for the log). A frame that cannot be sent ends that
/// socket; why is logged.
pub(super) async fn send_json<T: serde::Serialize>(
    sink: &mut Sink,
    message: &T,
    socket: &'static str,
) -> Result<(), End> {
    let text = serde_json::to_string(message).map_err(|e| {
        tracing::error!(error = %e, socket, "a frame could not be encoded");
        End::Gone
    })?;
    let bytes = text.len();
    sink.send(Message::Text(text.into())).await.map_err(|e| {
        tracing::info!(bytes, error = %e, socket, "closing a socket: a frame could not be sent");
        End::Gone
    })
}

/// How long a closing socket waits for the client's own close frame.
const CLOSE_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(2);

/// Ends a socket: logs why (with `socket` and the client's `who`, `id`), and unless the client
/// is gone sends it a close frame with a reason it may show, then reads (and drops) what the
/// client still sends until its own close frame arrives, for a short while. That completes the
/// close handshake, and leaves no unread bytes behind that would turn the end of the connection
/// into a reset losing the close frame on its way.
pub(super) async fn close(
    sink: &mut Sink,
    stream: &mut Stream,
    end: End,
    socket: &'static str,
    who: &'static str,
    id: i64,
) {
    let (code, reason): (u16, &'static str) = match &end {
        End::Gone => return,
        End::Refuse(code, reason) => (*code, reason),
        End::ShuttingDown => (close_code::AWAY, "frontdesk is restarting, reconnect"),
        End::Failed(error) => {
            error.log();
            (close_code::ERROR, INTERNAL_MESSAGE)
        }
    };
    tracing::info!(socket, who, id, code, reason, "closing a socket");
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    if sink.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

//! WebSocket clients: `/api/live` as an agent's browser connects (session cookie), and
//! `/api/widget/ws` as the chat widget's panel connects (site and visitor token).

use frontdesk_core::chats::{VisitorEvent, VisitorRequest};
use frontdesk_core::live::{ClientMessage, ServerMessage};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one message.
pub const MESSAGE_WAIT: Duration = Duration::from_secs(10);

/// An open socket that sends `Out` and receives `In`, as JSON text frames.
pub struct Socket<Out, In> {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: PhantomData<fn(Out) -> In>,
    /// The code of the close frame the server sent, once one arrived.
    close_code: Option<u16>,
}

/// An agent's live socket.
pub type LiveClient = Socket<ClientMessage, ServerMessage>;
/// A widget visitor's socket.
pub type WidgetClient = Socket<VisitorRequest, VisitorEvent>;

/// Opens `/api/live` with `session` (the session cookie's value) and optional `origin`.
pub async fn connect(
    base_url: &str,
    session: Option<&str>,
    origin: Option<&str>,
) -> Result<LiveClient, tungstenite::Error> {
    let url = format!("{}/api/live?v=1", base_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request()?;
    if let Some(session) = session {
        request.headers_mut().insert(
            "cookie",
            format!("frontdesk_session={session}").parse().expect("a header value"),
        );
    }
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().expect("a header value"));
    }
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(Socket { socket, protocol: PhantomData, close_code: None })
}

/// Opens `/api/widget/ws` for the visitor holding `token` on the site `site`, from `origin`.
pub async fn connect_widget(
    base_url: &str,
    site: &str,
    token: &str,
    origin: Option<&str>,
) -> Result<WidgetClient, tungstenite::Error> {
    let url = format!(
        "{}/api/widget/ws?v=1&site={site}&visitor={token}",
        base_url.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request()?;
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().expect("a header value"));
    }
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(Socket { socket, protocol: PhantomData, close_code: None })
}

impl<Out: Serialize, In: DeserializeOwned> Socket<Out, In> {
    /// Sends a protocol message.
    pub async fn send(&mut self, message: &Out) {
        let text = serde_json::to_string(message).expect("serializable");
        self.socket.send(Message::text(text)).await.expect("sent");
    }

    /// Sends raw text (for malformed or oversized messages).
    pub async fn send_raw(&mut self, text: String) -> Result<(), tungstenite::Error> {
        self.socket.send(Message::text(text)).await
    }

    /// The next protocol message, or `None` if none arrives within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<In> {
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next()).await.ok()??;
            match frame {
                Ok(Message::Text(text)) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .unwrap_or_else(|e| panic!("bad server message {text}: {e}")),
                    );
                }
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(frame)) => {
                    self.close_code = frame.map(|f| u16::from(f.code));
                    return None;
                }
                _ => return None,
            }
        }
    }

    /// The next protocol message; fails the test after [`MESSAGE_WAIT`].
    pub async fn next(&mut self) -> In {
        self.next_within(MESSAGE_WAIT).await.expect("a server message in time")
    }

    /// The next message `pick` accepts, skipping others; fails the test after [`MESSAGE_WAIT`].
    pub async fn next_matching<T>(&mut self, mut pick: impl FnMut(In) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + MESSAGE_WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message =
                self.next_within(left).await.expect("the expected server message in time");
            if let Some(found) = pick(message) {
                return found;
            }
        }
    }

    /// The code of the close frame the server sent, once [`Socket::next_within`] met one.
    pub fn close_code(&self) -> Option<u16> {
        self.close_code
    }

    /// Waits for the server to close the socket; returns the close code if it sent one.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(MESSAGE_WAIT, self.socket.next())
                .await
                .expect("the socket closes in time")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

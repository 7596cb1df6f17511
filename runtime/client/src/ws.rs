//! WebSocket connections to the API server for the `connect` subresources
//! (`pods/exec`, `pods/attach`, `pods/portforward`), and the channel framing
//! they share.
//!
//! The upgrade goes through [`RestClient`] like any request (credentials,
//! impersonation, user agent, rate limit, typed errors for non-101 answers)
//! but over its HTTP/1.1-only pool: an HTTP/2 connection cannot be upgraded.
//! After `101 Switching Protocols` hyper hands over the connection and
//! tokio-tungstenite speaks WebSocket on it.
//!
//! Channel protocols (`k8s.io/apimachinery/pkg/util/httpstream/wsstream`):
//! every binary message is one channel byte followed by that channel's data.

use bytes::Bytes;
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL};
use http::header::{SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{Method, Request, StatusCode};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::rest::{RestClient, describe};
use kubegen_core::error::{Error, Result};

/// A WebSocket over an upgraded API server connection.
pub(crate) type WsStream = WebSocketStream<TokioIo<Upgraded>>;

/// Remote command protocol v5: v4 plus the CLOSE signal (channel 255) that
/// half-closes stdin.
pub const V5_CHANNEL: &str = "v5.channel.k8s.io";
/// Remote command protocol v4: stdin/stdout/stderr, a `Status` on the error
/// channel, terminal resize. Also the port-forward protocol.
pub const V4_CHANNEL: &str = "v4.channel.k8s.io";

/// Open a WebSocket to `path_and_query` (relative to the server), offering
/// `protocols` in order of preference. Returns the stream and the protocol
/// the server chose.
pub(crate) async fn connect(
    rest: &RestClient,
    path_and_query: &str,
    protocols: &[&'static str],
) -> Result<(WsStream, &'static str)> {
    let key = generate_key();
    let req = Request::builder()
        .method(Method::GET)
        .uri(path_and_query)
        .header(CONNECTION, "Upgrade")
        .header(UPGRADE, "websocket")
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(SEC_WEBSOCKET_KEY, &key)
        .header(SEC_WEBSOCKET_PROTOCOL, protocols.join(", "))
        .body(Bytes::new())
        .map_err(|e| Error::InvalidRequest(format!("{path_and_query}: {e}")))?;
    let what = describe(&req);
    let resp = rest.upgrade(req).await?;
    let fail = |message: String| Error::Transport {
        request: what.clone(),
        message,
        source: None,
    };
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(fail(format!(
            "the server answered {} instead of switching to WebSocket",
            resp.status()
        )));
    }
    let accept = resp.headers().get(SEC_WEBSOCKET_ACCEPT);
    if accept.map(|v| v.as_bytes()) != Some(derive_accept_key(key.as_bytes()).as_bytes()) {
        return Err(fail(
            "the server's Sec-WebSocket-Accept does not match the key sent".into(),
        ));
    }
    let chosen = resp
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(protocol) = protocols.iter().copied().find(|p| *p == chosen) else {
        return Err(fail(format!(
            "the server chose subprotocol {chosen:?}, not one of {protocols:?}"
        )));
    };
    let upgraded = hyper::upgrade::on(resp)
        .await
        .map_err(|e| Error::transport(what.clone(), e))?;
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
    Ok((ws, protocol))
}

/// One binary message: `channel` then `data`.
pub(crate) fn frame(channel: u8, data: &[u8]) -> Bytes {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    v.into()
}

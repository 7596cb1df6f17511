//! `pods/{name}/portforward` over WebSocket (`v4.channel.k8s.io`), as
//! kube-rs's `Api::portforward`.
//!
//! Ports are asked for in the query (`ports=80&ports=443`); port `i` gets the
//! data channel `2i` and the error channel `2i+1`. The first message the
//! server sends on each channel starts with the port number (2 bytes, little
//! endian); the rest is data, and on the error channel a message saying why
//! the kubelet could not reach the port.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::SelectAll;
use futures::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, DuplexStream, ReadBuf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::io::ReaderStream;

use super::ws::{V4_CHANNEL, WsStream, frame};
use kubegen_core::error::{Error, Result};

/// The protocol offered for port forwarding.
pub(crate) const PROTOCOLS: &[&str] = &[V4_CHANNEL];

/// Bytes buffered per direction of each port's pipe.
const PIPE_BUFFER: usize = 64 * 1024;

/// One forwarded port's connection: read what the pod's port sends, write
/// what it should receive.
///
/// The session stays up while the [`Portforwarder`] or any `PortStream` lives.
pub struct PortStream {
    io: DuplexStream,
    // Dropped with the stream; the task ends when every holder is gone.
    _alive: mpsc::Sender<()>,
}

impl std::fmt::Debug for PortStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortStream").finish_non_exhaustive()
    }
}

impl AsyncRead for PortStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for PortStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The ports forwarded by [`Client::portforward`](crate::Client::portforward).
pub struct Portforwarder {
    ports: Vec<u16>,
    streams: Vec<Option<PortStream>>,
    errors: Vec<Option<oneshot::Receiver<String>>>,
    request: String,
    task: JoinHandle<Result<()>>,
}

impl std::fmt::Debug for Portforwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portforwarder")
            .field("request", &self.request)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

impl Portforwarder {
    /// The stream of `port`, once; `None` when the port was not asked for or
    /// was taken already.
    pub fn take_stream(&mut self, port: u16) -> Option<PortStream> {
        let i = self.ports.iter().position(|p| *p == port)?;
        self.streams[i].take()
    }

    /// A future of the error the server reports for `port` (e.g. nothing
    /// listens on it), once; it resolves to `None` when the session ends
    /// without one.
    pub fn take_error(
        &mut self,
        port: u16,
    ) -> Option<impl Future<Output = Option<String>> + Send + 'static> {
        let i = self.ports.iter().position(|p| *p == port)?;
        let rx = self.errors[i].take()?;
        Some(async move { rx.await.ok() })
    }

    /// Wait for the session to end: the server closed it, or every stream
    /// (taken or not) was dropped. Untaken streams are dropped here, so
    /// this returns once the taken ones are.
    pub async fn join(mut self) -> Result<()> {
        self.streams.clear();
        let request = self.request.clone();
        (&mut self.task).await.unwrap_or_else(|e| {
            Err(Error::Transport {
                request,
                message: format!("the port-forward task ended abnormally: {e}"),
                source: None,
            })
        })
    }

    /// End the session now: every stream ends.
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Start the task that serves `ws` for `ports`.
pub(crate) fn start(ws: WsStream, ports: &[u16], request: String) -> Portforwarder {
    let (alive_tx, alive_rx) = mpsc::channel(1);
    let mut streams = Vec::with_capacity(ports.len());
    let mut errors = Vec::with_capacity(ports.len());
    let mut writers = Vec::with_capacity(ports.len());
    let mut readers = SelectAll::new();
    let mut error_tx = Vec::with_capacity(ports.len());
    for i in 0..ports.len() {
        let (user, task) = tokio::io::duplex(PIPE_BUFFER);
        let (r, w) = tokio::io::split(task);
        readers.push(ReaderStream::new(r).map(move |chunk| (i, chunk)).boxed());
        writers.push(Some(w));
        streams.push(Some(PortStream {
            io: user,
            _alive: alive_tx.clone(),
        }));
        let (tx, rx) = oneshot::channel();
        error_tx.push(Some(tx));
        errors.push(Some(rx));
    }
    drop(alive_tx);
    let session = Session {
        ws,
        ports: ports.to_vec(),
        request: request.clone(),
        seen: vec![false; ports.len() * 2],
        writers,
        errors: error_tx,
    };
    let task = tokio::spawn(session.run(readers, alive_rx));
    Portforwarder {
        ports: ports.to_vec(),
        streams,
        errors,
        request,
        task,
    }
}

type Readers = SelectAll<futures::stream::BoxStream<'static, (usize, std::io::Result<Bytes>)>>;

struct Session {
    ws: WsStream,
    ports: Vec<u16>,
    request: String,
    /// Whether each channel's first message (carrying the port) has come.
    seen: Vec<bool>,
    writers: Vec<Option<WriteHalf<DuplexStream>>>,
    errors: Vec<Option<oneshot::Sender<String>>>,
}

impl Session {
    async fn run(mut self, mut readers: Readers, mut alive: mpsc::Receiver<()>) -> Result<()> {
        loop {
            tokio::select! {
                msg = self.ws.next() => match msg {
                    Some(Ok(Message::Binary(b))) => self.received(&b).await?,
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(Error::transport(self.request.clone(), e)),
                },
                chunk = next_or_pend(&mut readers) => match chunk {
                    (i, Ok(data)) => {
                        let channel = u8::try_from(2 * i).map_err(|_| self.protocol("too many ports".into()))?;
                        self.ws
                            .send(Message::Binary(frame(channel, &data)))
                            .await
                            .map_err(|e| Error::transport(self.request.clone(), e))?;
                    }
                    // The caller's side of the pipe failed; its reader stream ends next.
                    (_, Err(_)) => {}
                },
                _ = alive.recv() => {
                    // Every stream and the handle are gone.
                    let _ = self.ws.close(None).await;
                    return Ok(());
                }
            }
        }
    }

    async fn received(&mut self, msg: &[u8]) -> Result<()> {
        let Some((&channel, mut data)) = msg.split_first() else {
            return Ok(());
        };
        let ch = usize::from(channel);
        let i = ch / 2;
        let Some(&port) = self.ports.get(i) else {
            return Err(self.protocol(format!(
                "data on channel {channel}, beyond the ports asked for"
            )));
        };
        if !self.seen[ch] {
            let Some((prefix, rest)) = data.split_first_chunk::<2>() else {
                return Err(self.protocol(format!(
                    "the first message on channel {channel} is shorter than its 2-byte port number"
                )));
            };
            let got = u16::from_le_bytes(*prefix);
            if got != port {
                return Err(self.protocol(format!(
                    "channel {channel} announced port {got}, expected {port}"
                )));
            }
            self.seen[ch] = true;
            data = rest;
        }
        if data.is_empty() {
            return Ok(());
        }
        if ch % 2 == 0 {
            if let Some(w) = &mut self.writers[i]
                && w.write_all(data).await.is_err()
            {
                // The caller dropped the stream: discard what else comes.
                self.writers[i] = None;
            }
        } else if let Some(tx) = self.errors[i].take() {
            let _ = tx.send(String::from_utf8_lossy(data).into_owned());
        }
        Ok(())
    }

    fn protocol(&self, message: String) -> Error {
        Error::Transport {
            request: self.request.clone(),
            message: format!("port-forward protocol: {message}"),
            source: None,
        }
    }
}

async fn next_or_pend(readers: &mut Readers) -> (usize, std::io::Result<Bytes>) {
    match readers.next().await {
        Some(x) => x,
        None => std::future::pending().await,
    }
}

//! `pods/{name}/exec` and `pods/{name}/attach` over WebSocket: the remote
//! command protocol of client-go's `remotecommand.NewWebSocketExecutor` and
//! kube-rs's `Api::exec`.
//!
//! Subprotocol `v5.channel.k8s.io`, falling back to `v4.channel.k8s.io`.
//! Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (one `Status` JSON: the
//! exit status), 4 resize (`{"Width":w,"Height":h}`), and in v5 only 255
//! CLOSE (`[255, 0]` half-closes stdin so the process sees end of input).
//!
//! A background task owns the connection and moves bytes between it and the
//! pipes handed to the caller. Backpressure is end to end: a pipe the caller
//! does not read fills up and then stops the task reading from the server, so
//! read every stream you attached (or drop it: its bytes are then discarded).

use std::future::Future;

use futures::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::ws::{V4_CHANNEL, V5_CHANNEL, WsStream, frame};
use kubegen_core::error::{ApiError, Error, Result};
use kubegen_core::meta::Status;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// Bytes buffered per pipe between the task and the caller.
const PIPE_BUFFER: usize = 64 * 1024;

/// Protocols offered for exec and attach, preferred first.
pub(crate) const PROTOCOLS: &[&str] = &[V5_CHANNEL, V4_CHANNEL];

/// A terminal size, sent on the resize channel when `tty` is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminalSize {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// How the remote process ended, from the `Status` on the error channel.
#[derive(Clone, Debug, PartialEq)]
pub struct ExitStatus {
    /// 0 for `Success`, else the code of a `NonZeroExitCode` status.
    pub code: i32,
    /// The status as the server sent it.
    pub status: Status,
}

impl ExitStatus {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// A process started by [`Client::exec`](crate::Client::exec) or attached to
/// by [`Client::attach`](crate::Client::attach).
///
/// Each stream can be taken once; a stream not attached in the
/// [`AttachParams`](kubegen_core::options::AttachParams) is `None`. The session ends
/// when the server closes it (the process exited) or on [`abort`](Self::abort);
/// dropping the handle does not end it. Output streams are buffered
/// (64 KiB each) and then stall the session until read: take and drop any
/// attached stream you do not read, so its output is discarded instead.
pub struct AttachedProcess {
    stdin: Option<DuplexStream>,
    stdout: Option<DuplexStream>,
    stderr: Option<DuplexStream>,
    resize: Option<mpsc::Sender<TerminalSize>>,
    status: Option<oneshot::Receiver<Result<ExitStatus>>>,
    protocol: &'static str,
    request: String,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for AttachedProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachedProcess")
            .field("request", &self.request)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl AttachedProcess {
    /// The process's stdin. Shut it down (`AsyncWriteExt::shutdown`) or drop
    /// it to signal end of input; that reaches the process only over v5
    /// (see [`protocol`](Self::protocol)), v4 has no way to say it.
    pub fn stdin(&mut self) -> Option<impl AsyncWrite + Unpin + Send + 'static> {
        self.stdin.take()
    }

    /// The process's stdout (with `tty`, the terminal's output). Ends when
    /// the session ends.
    pub fn stdout(&mut self) -> Option<impl AsyncRead + Unpin + Send + 'static> {
        self.stdout.take()
    }

    /// The process's stderr.
    pub fn stderr(&mut self) -> Option<impl AsyncRead + Unpin + Send + 'static> {
        self.stderr.take()
    }

    /// With `tty`: a sender of terminal sizes (send one after connecting, then
    /// one per resize).
    pub fn terminal_size(&mut self) -> Option<mpsc::Sender<TerminalSize>> {
        self.resize.take()
    }

    /// A future of the exit status, resolved when the session ends: `Ok` for
    /// `Success` (code 0) and `NonZeroExitCode`; any other failure `Status`
    /// (e.g. the container is gone) is an [`Error::Api`], a connection that
    /// broke or closed without a status an [`Error::Transport`].
    pub fn take_status(
        &mut self,
    ) -> Option<impl Future<Output = Result<ExitStatus>> + Send + 'static> {
        let rx = self.status.take()?;
        let request = self.request.clone();
        Some(async move {
            rx.await.unwrap_or_else(|_| {
                Err(Error::Transport {
                    request,
                    message: "the session was aborted".into(),
                    source: None,
                })
            })
        })
    }

    /// The subprotocol the server chose (`v5.channel.k8s.io` or `v4.channel.k8s.io`).
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// End the session now: the streams end and the status is an error.
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Start the task that serves `ws` for `params`' streams.
pub(crate) fn start(
    ws: WsStream,
    protocol: &'static str,
    request: String,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
) -> AttachedProcess {
    let (stdin_user, stdin_task) = pipe(stdin);
    let (stdout_user, stdout_task) = pipe(stdout);
    let (stderr_user, stderr_task) = pipe(stderr);
    let (resize_tx, resize_rx) = if tty {
        let (tx, rx) = mpsc::channel(16);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let (status_tx, status_rx) = oneshot::channel();
    let session = Session {
        ws,
        v5: protocol == V5_CHANNEL,
        request: request.clone(),
        stdin: stdin_task,
        stdout: stdout_task,
        stderr: stderr_task,
        resize: resize_rx,
        status: Vec::new(),
    };
    let task = tokio::spawn(async move {
        let _ = status_tx.send(session.run().await);
    });
    AttachedProcess {
        stdin: stdin_user,
        stdout: stdout_user,
        stderr: stderr_user,
        resize: resize_tx,
        status: Some(status_rx),
        protocol,
        request,
        task,
    }
}

fn pipe(on: bool) -> (Option<DuplexStream>, Option<DuplexStream>) {
    if on {
        let (a, b) = tokio::io::duplex(PIPE_BUFFER);
        (Some(a), Some(b))
    } else {
        (None, None)
    }
}

struct Session {
    ws: WsStream,
    v5: bool,
    request: String,
    stdin: Option<DuplexStream>,
    stdout: Option<DuplexStream>,
    stderr: Option<DuplexStream>,
    resize: Option<mpsc::Receiver<TerminalSize>>,
    /// Bytes of the error channel so far.
    status: Vec<u8>,
}

impl Session {
    async fn run(mut self) -> Result<ExitStatus> {
        let ended = self.pump().await;
        // Drop the pipes so the caller's readers see end of file.
        self.stdout = None;
        self.stderr = None;
        self.stdin = None;
        // A complete status decides, even if the connection broke after it.
        if !self.status.is_empty() {
            return exit_status(&self.request, &self.status);
        }
        ended?;
        Err(self.transport("the connection closed without an exit status".into()))
    }

    /// Move bytes until the server closes the connection.
    async fn pump(&mut self) -> Result<()> {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            tokio::select! {
                msg = self.ws.next() => match msg {
                    Some(Ok(Message::Binary(b))) => self.received(&b).await?,
                    Some(Ok(Message::Close(_))) | None => {
                        let _ = self.ws.close(None).await;
                        return Ok(());
                    }
                    // Pings are answered by tungstenite; the binary protocol has no text.
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(Error::transport(self.request.clone(), e)),
                },
                n = read_or_pend(self.stdin.as_mut(), &mut buf) => match n {
                    Ok(n) if n > 0 => self.send(frame(STDIN, &buf[..n])).await?,
                    // End of input (or a failed pipe): half-close where the protocol can.
                    _ => {
                        self.stdin = None;
                        if self.v5 {
                            self.send(frame(CLOSE, &[STDIN])).await?;
                        }
                    }
                },
                size = recv_or_pend(self.resize.as_mut()) => match size {
                    Some(size) => {
                        let json = serde_json::to_vec(&size).map_err(|source| Error::Encode {
                            request: self.request.clone(),
                            source,
                        })?;
                        self.send(frame(RESIZE, &json)).await?;
                    }
                    None => self.resize = None,
                },
            }
        }
    }

    async fn received(&mut self, msg: &[u8]) -> Result<()> {
        let Some((&channel, data)) = msg.split_first() else {
            return Ok(());
        };
        let sink = match channel {
            STDOUT => &mut self.stdout,
            STDERR => &mut self.stderr,
            ERROR => {
                self.status.extend_from_slice(data);
                return Ok(());
            }
            other => {
                tracing::debug!(
                    channel = other,
                    "exec: data on an unexpected channel, ignored"
                );
                return Ok(());
            }
        };
        if let Some(w) = sink
            && !data.is_empty()
            && w.write_all(data).await.is_err()
        {
            // The caller dropped the reader: discard the rest of this stream.
            *sink = None;
        }
        Ok(())
    }

    async fn send(&mut self, data: bytes::Bytes) -> Result<()> {
        self.ws
            .send(Message::Binary(data))
            .await
            .map_err(|e| Error::transport(self.request.clone(), e))
    }

    fn transport(&self, message: String) -> Error {
        Error::Transport {
            request: self.request.clone(),
            message,
            source: None,
        }
    }
}

async fn read_or_pend(r: Option<&mut DuplexStream>, buf: &mut [u8]) -> std::io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_or_pend<T>(r: Option<&mut mpsc::Receiver<T>>) -> Option<T> {
    match r {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// The error channel's `Status` as client-go's `errorDecoderV4` reads it.
fn exit_status(request: &str, body: &[u8]) -> Result<ExitStatus> {
    let status: Status = kubegen_core::error::decode_json(request, body)?;
    if status.status.as_deref() == Some("Success") {
        return Ok(ExitStatus { code: 0, status });
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.trim().parse::<i32>().ok());
        return match code {
            Some(code) => Ok(ExitStatus { code, status }),
            None => Err(Error::Decode {
                request: request.to_owned(),
                path: "details.causes".into(),
                message: "a NonZeroExitCode status without an ExitCode cause holding a number"
                    .into(),
            }),
        };
    }
    let code = status
        .code
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    Err(Error::Api(Box::new(ApiError {
        status,
        code,
        request: request.to_owned(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_is_decoded_as_client_go_does() {
        let ok = exit_status("x", br#"{"metadata":{},"status":"Success"}"#).unwrap();
        assert!(ok.success());
        let nz = exit_status(
            "x",
            br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#,
        )
        .unwrap();
        assert_eq!(nz.code, 3);
        assert!(!nz.success());
        let err = exit_status(
            "x",
            br#"{"status":"Failure","message":"container not found (\"c\")","reason":"InternalError","code":500}"#,
        )
        .unwrap_err();
        assert!(matches!(&err, Error::Api(a) if a.code == 500), "{err}");
        let bad =
            exit_status("x", br#"{"status":"Failure","reason":"NonZeroExitCode"}"#).unwrap_err();
        assert!(matches!(bad, Error::Decode { .. }), "{bad}");
        assert!(matches!(
            exit_status("x", b"not json"),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn terminal_size_is_the_servers_json() {
        let s = serde_json::to_string(&TerminalSize {
            width: 80,
            height: 24,
        })
        .unwrap();
        assert_eq!(s, r#"{"Width":80,"Height":24}"#);
    }
}

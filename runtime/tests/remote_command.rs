//! The exec/attach/portforward protocol against a local WebSocket server
//! (tokio-tungstenite, plain TCP on 127.0.0.1) playing the kubelet: a real API
//! server cannot run a process in the test cluster, which has no nodes (the
//! request path up to the upgrade is tested against it in
//! `tests/e2e/tests/client_exec.rs`).
//!
//! The double's "process": stdin is echoed to stdout and, upper-cased, to
//! stderr; `exit N` on stdin ends it with code N; a v5 CLOSE of stdin ends it
//! with code 3; a resize is reported on stdout.

// tungstenite's handshake callback returns its (large) `ErrorResponse` by value.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use kubegen_runtime::auth::Impersonate;
use kubegen_runtime::client::{TerminalSize, V4_CHANNEL, V5_CHANNEL};
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::options::AttachParams;
use kubegen_runtime::{Client, Config, Error, Object, Resource, RestClient, Scope, verbs};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Pod {
    metadata: ObjectMeta,
}
impl Object for Pod {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
impl Resource for Pod {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "v1";
    const API_VERSION: &'static str = "v1";
    const KIND: &'static str = "Pod";
    const PLURAL: &'static str = "pods";
    const SCOPE: Scope = Scope::Namespaced;
}
impl verbs::Exec for Pod {}
impl verbs::Attach for Pod {}
impl verbs::PortForward for Pod {}

/// What the double does after the handshake.
#[derive(Clone, Copy)]
enum Play {
    Process,
    /// Write to stdout, then drop the TCP connection without a close frame.
    DropMidStream,
    /// Port forward: echo each port's data; port 9999 reports an error.
    PortEcho,
}

/// The request line and headers the double received.
#[derive(Clone, Debug)]
struct Seen {
    uri: String,
    headers: http::HeaderMap,
}

/// Serve one WebSocket connection that speaks the first of `supported` the
/// client offers (none when `supported` is empty).
async fn double(
    supported: &'static [&'static str],
    play: Play,
) -> (Pods, Arc<Mutex<Option<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(None));
    let log = seen.clone();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let mut chosen = "";
        let callback = |req: &Request, mut resp: Response| {
            let offered = req
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            *log.lock().unwrap() = Some(Seen {
                uri: req.uri().to_string(),
                headers: req.headers().clone(),
            });
            if let Some(p) = offered
                .split(',')
                .map(str::trim)
                .find_map(|o| supported.iter().copied().find(|s| *s == o))
            {
                chosen = p;
                resp.headers_mut()
                    .insert("sec-websocket-protocol", p.parse().unwrap());
            }
            Ok::<_, ErrorResponse>(resp)
        };
        let ws = tokio_tungstenite::accept_hdr_async(sock, callback)
            .await
            .unwrap();
        match play {
            Play::Process => process(ws, chosen == V5_CHANNEL).await,
            Play::DropMidStream => {
                let mut ws = ws;
                ws.send(bin(1, b"partial")).await.unwrap();
                drop(ws);
            }
            Play::PortEcho => port_echo(ws, &seen_ports(&log)).await,
        }
    });
    let cfg = Config {
        auth: kubegen_runtime::auth::AuthConfig {
            token: Some("sekret".to_owned().into()),
            ..Default::default()
        },
        ..Config::new(url.parse().unwrap())
    }
    .impersonate(Impersonate::user("jane"));
    let rest = RestClient::new(cfg).unwrap();
    (Client::namespaced(rest, "ns"), seen)
}

type Pods = Client<Pod>;
type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

fn bin(channel: u8, data: &[u8]) -> Message {
    let mut v = vec![channel];
    v.extend_from_slice(data);
    Message::binary(v)
}

fn status(code: i32) -> Vec<u8> {
    let s = if code == 0 {
        serde_json::json!({"metadata": {}, "status": "Success"})
    } else {
        serde_json::json!({
            "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": format!("command terminated with non-zero exit code: exit code {code}"),
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
        })
    };
    serde_json::to_vec(&s).unwrap()
}

async fn process(mut ws: Ws, v5: bool) {
    // As the kubelet, an empty first frame on the output channels.
    ws.send(bin(1, b"")).await.unwrap();
    ws.send(bin(2, b"")).await.unwrap();
    let code = loop {
        let Some(Ok(msg)) = ws.next().await else {
            return;
        };
        let Message::Binary(b) = msg else { continue };
        match (b[0], &b[1..]) {
            (0, data) => {
                let text = String::from_utf8_lossy(data).into_owned();
                if let Some(n) = text.trim().strip_prefix("exit ") {
                    break n.parse().unwrap();
                }
                ws.send(bin(1, data)).await.unwrap();
                ws.send(bin(2, text.to_uppercase().as_bytes()))
                    .await
                    .unwrap();
            }
            (4, json) => {
                let size: serde_json::Value = serde_json::from_slice(json).unwrap();
                let line = format!("resize {}x{}\n", size["Width"], size["Height"]);
                ws.send(bin(1, line.as_bytes())).await.unwrap();
            }
            (255, [0]) if v5 => break 3,
            (ch, _) => panic!("the double got data on channel {ch}"),
        }
    };
    ws.send(bin(3, &status(code))).await.unwrap();
    ws.close(None).await.unwrap();
}

fn seen_ports(log: &Mutex<Option<Seen>>) -> Vec<u16> {
    let uri = log.lock().unwrap().as_ref().unwrap().uri.clone();
    let query = uri.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "ports")
        .map(|(_, v)| v.parse().unwrap())
        .collect()
}

async fn port_echo(mut ws: Ws, ports: &[u16]) {
    for (i, port) in ports.iter().enumerate() {
        let p = port.to_le_bytes();
        ws.send(bin(2 * i as u8, &p)).await.unwrap();
        ws.send(bin(2 * i as u8 + 1, &p)).await.unwrap();
        if *port == 9999 {
            ws.send(bin(2 * i as u8 + 1, b"nothing listens on 9999"))
                .await
                .unwrap();
        }
    }
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Binary(b) = msg else { continue };
        assert_eq!(b[0] % 2, 0, "the client writes only data channels");
        let reply = format!(
            "port {}: {}",
            ports[usize::from(b[0] / 2)],
            String::from_utf8_lossy(&b[1..])
        );
        ws.send(bin(b[0], reply.as_bytes())).await.unwrap();
    }
}

async fn read_to_string(r: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    let mut s = String::new();
    r.read_to_string(&mut s).await.unwrap();
    s
}

#[tokio::test]
async fn exec_over_v5_streams_and_half_closes_stdin() {
    let (pods, seen) = double(&[V5_CHANNEL, V4_CHANNEL], Play::Process).await;
    let mut proc = pods
        .exec(
            "web",
            ["sh", "-c", "cat"],
            &AttachParams::default().stdin(true).container("c"),
        )
        .await
        .unwrap();
    assert_eq!(proc.protocol(), V5_CHANNEL);
    assert!(proc.terminal_size().is_none(), "no terminal was asked for");
    let mut stdin = proc.stdin().unwrap();
    let mut stdout = proc.stdout().unwrap();
    let mut stderr = proc.stderr().unwrap();
    let status = proc.take_status().unwrap();
    assert!(proc.take_status().is_none(), "the status is taken once");

    stdin.write_all(b"hello\n").await.unwrap();
    let mut line = [0u8; 6];
    stdout.read_exact(&mut line).await.unwrap();
    assert_eq!(&line, b"hello\n");
    stdin.write_all(b"world\n").await.unwrap();
    // End of input reaches the process as the v5 CLOSE signal.
    stdin.shutdown().await.unwrap();

    assert_eq!(read_to_string(&mut stdout).await, "world\n");
    assert_eq!(read_to_string(&mut stderr).await, "HELLO\nWORLD\n");
    let exit = status.await.unwrap();
    assert_eq!(exit.code, 3);
    assert!(!exit.success());
    assert_eq!(exit.status.reason.as_deref(), Some("NonZeroExitCode"));

    let seen = seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        seen.uri,
        "/api/v1/namespaces/ns/pods/web/exec?command=sh&command=-c&command=cat&container=c&stdin=true&stdout=true&stderr=true&tty=false"
    );
    let h = |k: &str| seen.headers.get(k).unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        h("sec-websocket-protocol"),
        "v5.channel.k8s.io, v4.channel.k8s.io"
    );
    assert_eq!(h("authorization"), "Bearer sekret");
    assert_eq!(h("impersonate-user"), "jane");
    assert!(h("user-agent").starts_with("kubegen/"));
}

#[tokio::test]
async fn attach_with_a_terminal_sends_resizes() {
    let (pods, seen) = double(&[V5_CHANNEL], Play::Process).await;
    let mut proc = pods
        .attach("web", &AttachParams::interactive_tty())
        .await
        .unwrap();
    assert!(proc.stderr().is_none(), "a terminal has no stderr");
    let resize = proc.terminal_size().unwrap();
    let mut stdin = proc.stdin().unwrap();
    let mut stdout = proc.stdout().unwrap();
    resize
        .send(TerminalSize {
            width: 120,
            height: 40,
        })
        .await
        .unwrap();
    let mut line = vec![0u8; "resize 120x40\n".len()];
    stdout.read_exact(&mut line).await.unwrap();
    assert_eq!(line, b"resize 120x40\n");
    stdin.write_all(b"exit 0\n").await.unwrap();
    assert_eq!(read_to_string(&mut stdout).await, "");
    let exit = proc.take_status().unwrap().await.unwrap();
    assert!(exit.success());
    assert_eq!(exit.code, 0);
    let uri = seen.lock().unwrap().clone().unwrap().uri;
    assert_eq!(
        uri,
        "/api/v1/namespaces/ns/pods/web/attach?stdin=true&stdout=true&stderr=false&tty=true"
    );
}

#[tokio::test]
async fn a_v4_only_server_works_without_half_close() {
    let (pods, _) = double(&[V4_CHANNEL], Play::Process).await;
    let mut proc = pods
        .exec(
            "web",
            ["cat"],
            &AttachParams::default().stdin(true).stderr(false),
        )
        .await
        .unwrap();
    assert_eq!(proc.protocol(), V4_CHANNEL);
    assert!(proc.stderr().is_none());
    let mut stdin = proc.stdin().unwrap();
    let mut stdout = proc.stdout().unwrap();
    stdin.write_all(b"one\n").await.unwrap();
    let mut line = [0u8; 4];
    stdout.read_exact(&mut line).await.unwrap();
    assert_eq!(&line, b"one\n");
    stdin.write_all(b"exit 5\n").await.unwrap();
    // v4 cannot signal end of input: shutting stdin down sends nothing (the
    // double would fail on an unknown channel).
    stdin.shutdown().await.unwrap();
    assert_eq!(read_to_string(&mut stdout).await, "");
    assert_eq!(proc.take_status().unwrap().await.unwrap().code, 5);
}

#[tokio::test]
async fn a_dropped_connection_is_an_error_not_a_panic() {
    let (pods, _) = double(&[V5_CHANNEL], Play::DropMidStream).await;
    let mut proc = pods
        .exec("web", ["sleep", "1000"], &AttachParams::default())
        .await
        .unwrap();
    let mut stdout = proc.stdout().unwrap();
    let mut stderr = proc.stderr().unwrap();
    assert_eq!(read_to_string(&mut stdout).await, "partial");
    assert_eq!(read_to_string(&mut stderr).await, "");
    let err = proc.take_status().unwrap().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("/pods/web/exec"), "{err}");
}

#[tokio::test]
async fn a_server_without_a_channel_protocol_is_refused() {
    let (pods, _) = double(&[], Play::Process).await;
    let err = pods
        .exec("web", ["true"], &AttachParams::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("subprotocol"), "{err}");
}

#[tokio::test]
async fn bad_params_fail_before_connecting() {
    let pods: Pods = Client::namespaced(
        RestClient::new(Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap(),
        "ns",
    );
    let none = AttachParams::default().stdout(false).stderr(false);
    let tty_stderr = AttachParams::default().tty(true);
    let no_command: [&str; 0] = [];
    for r in [
        pods.exec("web", ["true"], &none).await,
        pods.exec("web", ["true"], &tty_stderr).await,
        pods.exec("web", no_command, &AttachParams::default()).await,
        pods.exec("", ["true"], &AttachParams::default()).await,
    ] {
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{r:?}");
    }
    for ports in [&[][..], &[80, 80], &[0]] {
        let r = pods.portforward("web", ports).await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{r:?}");
    }
}

#[tokio::test]
async fn portforward_streams_each_port_and_reports_port_errors() {
    let (pods, seen) = double(&[V4_CHANNEL], Play::PortEcho).await;
    let mut pf = pods.portforward("web", &[80, 9999]).await.unwrap();
    assert!(pf.take_stream(81).is_none(), "not asked for");
    let mut web = pf.take_stream(80).unwrap();
    assert!(pf.take_stream(80).is_none(), "taken once");
    let err = pf.take_error(9999).unwrap().await;
    assert_eq!(err.as_deref(), Some("nothing listens on 9999"));
    let web_err = pf.take_error(80).unwrap();

    web.write_all(b"GET /").await.unwrap();
    let want = b"port 80: GET /";
    let mut got = vec![0u8; want.len()];
    web.read_exact(&mut got).await.unwrap();
    assert_eq!(got, want);
    let mut other = pf.take_stream(9999).unwrap();
    other.write_all(b"x").await.unwrap();
    let mut got = vec![0u8; "port 9999: x".len()];
    other.read_exact(&mut got).await.unwrap();
    assert_eq!(got, b"port 9999: x");

    // Dropping every stream ends the session; the port without an error says so.
    drop((web, other));
    pf.join().await.unwrap();
    assert_eq!(web_err.await, None);
    let uri = seen.lock().unwrap().clone().unwrap().uri;
    assert_eq!(
        uri,
        "/api/v1/namespaces/ns/pods/web/portforward?ports=80&ports=9999"
    );
}

#[tokio::test]
async fn a_dropped_output_stream_is_discarded_without_stalling_the_session() {
    let (pods, _) = double(&[V5_CHANNEL], Play::Process).await;
    let mut proc = pods
        .exec("web", ["cat"], &AttachParams::default().stdin(true))
        .await
        .unwrap();
    // The double copies all input to stderr too: more than its pipe holds.
    drop(proc.stderr());
    let mut stdin = proc.stdin().unwrap();
    let mut stdout = proc.stdout().unwrap();
    let input = vec![b'x'; 300 * 1024];
    let writer = tokio::spawn(async move {
        for chunk in input.chunks(10_000) {
            stdin.write_all(chunk).await.unwrap();
        }
        stdin.shutdown().await.unwrap();
    });
    let out = read_to_string(&mut stdout).await;
    writer.await.unwrap();
    assert_eq!(out.len(), 300 * 1024);
    assert_eq!(proc.take_status().unwrap().await.unwrap().code, 3);
}

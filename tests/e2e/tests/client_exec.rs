//! exec / attach / portforward against the real API server.
//!
//! The test cluster has no nodes, so no process can run. Against the bare
//! cluster these tests prove the request path (URL and query, the HTTP/1.1
//! WebSocket upgrade, credentials) by the server's typed answers: 400 for a
//! pod without a node, NotFound, Forbidden. Then a Node object whose "kubelet"
//! is a local TLS double takes the API server all the way: port-forward data
//! flows client -> API server -> double and back; exec gets a real 101 (v5)
//! and the API server's failure `Status` on the error channel. The protocol
//! in detail (streams, exit codes, resize, half-close) is tested against a
//! double alone in `kubegen-runtime`'s `tests/remote_command.rs`.

// tungstenite's handshake callback returns its (large) `ErrorResponse` by value.
#![allow(clippy::result_large_err)]

use futures::StreamExt;
use kubegen_api::core::v1::{Binding, Node, Pod};
use kubegen_e2e::{admin, drop_namespace, rest, test_namespace};
use kubegen_runtime::options::{AttachParams, LogOptions};
use kubegen_runtime::{Client, CreateOptions, DeleteOptions, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A pod the scheduler never places (there are no nodes).
fn unscheduled(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/none:1"}]}
    }))
    .unwrap()
}

/// The server's answer, which must be a typed API error.
fn api_error<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> (u16, String, String) {
    match r {
        Err(Error::Api(a)) => (
            a.code,
            a.status.reason.clone().unwrap_or_default().into(),
            a.status.message.clone().unwrap_or_default().into(),
        ),
        other => panic!("{what}: expected the server's typed error, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_subresources_of_an_unscheduled_pod_are_bad_requests() {
    let rest = admin();
    let ns = test_namespace(&rest, "exec").await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    pods.create(&unscheduled("p"), &CreateOptions::default())
        .await
        .unwrap();

    let exec = pods
        .exec(
            "p",
            ["sh", "-c", "echo hi"],
            &AttachParams::default().stdin(true),
        )
        .await;
    let (code, reason, message) = api_error(exec, "exec");
    assert_eq!((code, reason.as_str()), (400, "BadRequest"), "{message}");
    assert!(
        message.contains("does not have a host assigned"),
        "{message}"
    );

    let attach = pods
        .attach("p", &AttachParams::interactive_tty().container("c"))
        .await;
    let (code, _, message) = api_error(attach, "attach");
    assert_eq!(code, 400, "{message}");
    assert!(
        message.contains("does not have a host assigned"),
        "{message}"
    );

    let pf = pods.portforward("p", &[8080, 9090]).await;
    let (code, _, message) = api_error(pf, "portforward");
    assert_eq!(code, 400, "{message}");
    assert!(
        message.contains("does not have a host assigned"),
        "{message}"
    );

    // The container is checked before the node: the query reached the server.
    let wrong = pods
        .exec("p", ["true"], &AttachParams::default().container("nope"))
        .await;
    let (code, _, message) = api_error(wrong, "exec in a missing container");
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("nope"), "{message}");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn exec_on_a_missing_pod_is_not_found() {
    let rest = admin();
    let ns = test_namespace(&rest, "exec-nf").await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    let err = pods
        .exec("missing", ["true"], &AttachParams::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = pods.portforward("missing", &[80]).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn the_limited_user_is_forbidden() {
    let admin = admin();
    let ns = test_namespace(&admin, "exec-rbac").await;
    Client::<Pod>::namespaced(admin.clone(), &ns)
        .create(&unscheduled("p"), &CreateOptions::default())
        .await
        .unwrap();
    let pods = Client::<Pod>::namespaced(rest("limited"), &ns);
    for r in [
        pods.exec("p", ["true"], &AttachParams::default())
            .await
            .map(drop),
        pods.attach("p", &AttachParams::default()).await.map(drop),
        pods.portforward("p", &[80]).await.map(drop),
    ] {
        let err = r.unwrap_err();
        assert!(err.is_forbidden(), "{err}");
    }
    drop_namespace(&admin, &ns).await;
}

/// A kubelet double: one TLS connection (the API server's certificate, which
/// the API server does not check for kubelets here) speaking the WebSocket
/// port-forward protocol; each data frame is answered `port P: <data>`.
/// Returns its port and a receiver of the request line it got.
fn kubelet_double(websocket: bool) -> (u16, std::sync::mpsc::Receiver<String>) {
    use tokio_tungstenite::tungstenite;

    let (listener, tls) = kubelet_listener();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(tls).unwrap();
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        if !websocket {
            // Record the request head and hang up: whatever the API server
            // wanted from the kubelet, it does not get it.
            let _ = seen_tx.send(read_head(&mut stream));
            return;
        }
        let callback = |req: &tungstenite::handshake::server::Request,
                        mut resp: tungstenite::handshake::server::Response| {
            let _ = seen_tx.send(req.uri().to_string());
            let offered = req
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if offered.split(',').any(|p| p.trim() == "v4.channel.k8s.io") {
                resp.headers_mut().insert(
                    "sec-websocket-protocol",
                    http::HeaderValue::from_static("v4.channel.k8s.io"),
                );
            }
            Ok(resp)
        };
        let Ok(mut ws) = tungstenite::accept_hdr(stream, callback) else {
            return;
        };
        // One port: data channel 0 and error channel 1 announce it first.
        let frame = |ch: u8, data: &[u8]| {
            let mut v = vec![ch];
            v.extend_from_slice(data);
            tungstenite::Message::binary(v)
        };
        let announce = 8080u16.to_le_bytes();
        if ws.send(frame(0, &announce)).is_err() || ws.send(frame(1, &announce)).is_err() {
            return;
        }
        while let Ok(tungstenite::Message::Binary(b)) = ws.read() {
            let reply = format!("port 8080: {}", String::from_utf8_lossy(&b[1..]));
            if ws.send(frame(b[0], reply.as_bytes())).is_err() {
                return;
            }
        }
    });
    (port, seen_rx)
}

/// A TLS listener on a free loopback port with the API server's certificate
/// (which the API server does not check for kubelets here).
fn kubelet_listener() -> (std::net::TcpListener, std::sync::Arc<rustls::ServerConfig>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let pki = kubegen_e2e::kubeconfig_path().with_file_name("pki");
    let certs = CertificateDer::pem_file_iter(pki.join("apiserver.crt"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(pki.join("apiserver.key")).unwrap();
    let tls = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    (std::net::TcpListener::bind("127.0.0.1:0").unwrap(), tls)
}

/// An HTTP/1.1 request head, read byte by byte (so nothing after it is consumed).
fn read_head(stream: &mut impl std::io::Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A kubelet double serving a container's log over two connections: first
/// the whole log at once, then, for `follow`, one line each time the test
/// sends on the returned channel, then the end. Also returns the request
/// heads it got.
fn log_kubelet_double(
    lines: &'static [&'static str],
) -> (
    u16,
    std::sync::mpsc::Sender<()>,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::Write;

    let (listener, tls) = kubelet_listener();
    let port = listener.local_addr().unwrap().port();
    let (next_tx, next_rx) = std::sync::mpsc::channel::<()>();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for follow in [false, true] {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            let conn = rustls::ServerConnection::new(tls.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            let _ = seen_tx.send(read_head(&mut stream));
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            // One chunk per line, flushed: a follower sees each at once.
            let mut send = |data: &str| {
                let chunk = format!("{:x}\r\n{data}\r\n", data.len());
                stream
                    .write_all(chunk.as_bytes())
                    .and_then(|()| stream.flush())
            };
            for line in lines {
                if follow && next_rx.recv().is_err() {
                    return;
                }
                if send(&format!("{line}\n")).is_err() {
                    return;
                }
            }
            let _ = send("");
        }
    });
    (port, next_tx, seen_rx)
}

/// A Node whose kubelet is at 127.0.0.1:`port`; returns its name.
async fn double_node(rest: &kubegen_runtime::RestClient, port: u16) -> String {
    let node_name = kubegen_e2e::unique("kubegen-e2e-node");
    let node: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": node_name},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}
        }
    }))
    .unwrap();
    Client::<Node>::cluster(rest.clone())
        .create(&node, &CreateOptions::default())
        .await
        .unwrap();
    node_name
}

/// A Node whose kubelet is at 127.0.0.1:`port`, and pod `p` bound to it in a
/// fresh namespace. Returns the namespace and the node's name.
async fn pod_on_a_double_node(rest: &kubegen_runtime::RestClient, port: u16) -> (String, String) {
    let ns = test_namespace(rest, "via-kubelet").await;
    let node_name = double_node(rest, port).await;
    let mut pod = unscheduled("p");
    pod.spec.as_mut().unwrap().node_name = Some(node_name.as_str().into());
    Client::<Pod>::namespaced(rest.clone(), &ns)
        .create(&pod, &CreateOptions::default())
        .await
        .unwrap();
    (ns, node_name)
}

async fn drop_node_and_namespace(rest: &kubegen_runtime::RestClient, node: &str, ns: &str) {
    let _ = Client::<Node>::cluster(rest.clone())
        .delete(node, &DeleteOptions::default())
        .await;
    drop_namespace(rest, ns).await;
}

/// The whole path through the real API server: a Node whose kubelet is the
/// double above, a pod bound to it, and a port-forward that the API server
/// authorizes, resolves to the node and proxies (TLS, HTTP/1.1 upgrade, 101)
/// to the double.
#[tokio::test]
async fn portforward_through_the_api_server_to_a_kubelet_double() {
    let rest = admin();
    let (port, seen) = kubelet_double(true);
    let (ns, node) = pod_on_a_double_node(&rest, port).await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    let result = async {
        let mut pf = pods.portforward("p", &[8080]).await?;
        let mut conn = pf.take_stream(8080).unwrap();
        conn.write_all(b"ping").await?;
        let mut got = vec![0u8; "port 8080: ping".len()];
        conn.read_exact(&mut got).await?;
        drop(conn);
        pf.join().await?;
        Ok::<_, Box<dyn std::error::Error>>(String::from_utf8(got)?)
    }
    .await;
    drop_node_and_namespace(&rest, &node, &ns).await;
    assert_eq!(result.unwrap(), "port 8080: ping");
    assert_eq!(
        seen.recv().unwrap(),
        // The API server renames the client's `ports` to the kubelet's `port`.
        format!("/portForward/{ns}/p?port=8080"),
        "the API server's request to the kubelet"
    );
}

/// exec through the real API server: it upgrades the client to v5 (101) and,
/// since 1.30, translates to SPDY towards the kubelet. The double hangs up on
/// that, so the API server reports an InternalError `Status` on the error
/// channel, which the exit-status future returns as a typed error.
#[tokio::test]
async fn exec_through_the_api_server_reports_a_kubelet_failure_as_a_status() {
    let rest = admin();
    let (port, seen) = kubelet_double(false);
    let (ns, node) = pod_on_a_double_node(&rest, port).await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    let result = async {
        let mut proc = pods
            .exec("p", ["echo", "hi"], &AttachParams::default())
            .await?;
        let protocol = proc.protocol();
        let status = proc.take_status().unwrap().await;
        Ok::<_, Error>((protocol, status))
    }
    .await;
    drop_node_and_namespace(&rest, &node, &ns).await;
    let (protocol, status) = result.unwrap();
    assert_eq!(protocol, kubegen_runtime::client::V5_CHANNEL);
    match status {
        Err(Error::Api(a)) => {
            assert_eq!(a.code, 500, "{a}");
            assert_eq!(a.status.reason.as_deref(), Some("InternalError"), "{a}");
            assert!(a.request.ends_with("/pods/p/exec"), "{a}");
        }
        other => panic!("expected the API server's InternalError status, got {other:?}"),
    }
    let head = seen.recv().unwrap();
    assert!(
        head.starts_with(&format!(
            "POST /exec/{ns}/p/c?command=echo&command=hi&error=1&output=1 HTTP/1.1\r\n"
        )),
        "{head}"
    );
    assert!(head.contains("Upgrade: SPDY/3.1"), "{head}");
}

/// A pod bound to a node through the binding subresource gets the node in
/// its spec; its log then comes from that node's kubelet (a double) through
/// the API server: whole, and followed line by line as the kubelet writes
/// them.
#[tokio::test]
async fn a_bound_pods_log_comes_from_its_kubelet_whole_and_followed() {
    const LINES: &[&str] = &["starting", "serving on :8080", "stopping"];
    let rest = admin();
    let (port, next_line, seen) = log_kubelet_double(LINES);
    let ns = test_namespace(&rest, "logs").await;
    let node_name = double_node(&rest, port).await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    let result = async {
        pods.create(&unscheduled("p"), &CreateOptions::default())
            .await?;
        let binding: Binding = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}
        }))
        .unwrap();
        pods.bind("p", &binding, &CreateOptions::default()).await?;
        let bound = pods.get("p", &Default::default()).await?;
        let whole = pods.logs("p", &LogOptions::default()).await?;
        let mut followed = Vec::new();
        let mut stream = pods
            .log_stream(
                "p",
                &LogOptions {
                    follow: true,
                    ..Default::default()
                },
            )
            .await?;
        for _ in LINES {
            // The next line is written only once the last one arrived.
            next_line.send(()).unwrap();
            let mut line = Vec::new();
            while !line.ends_with(b"\n") {
                line.extend_from_slice(&stream.next().await.unwrap()?);
            }
            followed.push(String::from_utf8(line).unwrap());
        }
        // Then the log ends with the kubelet's (nothing more but empty reads).
        let tail: Vec<_> = stream.collect().await;
        Ok::<_, Error>((bound, whole, followed, tail))
    }
    .await;
    drop_node_and_namespace(&rest, &node_name, &ns).await;
    let (bound, whole, followed, tail) = result.unwrap();
    assert!(
        tail.iter().all(|c| c.as_ref().is_ok_and(|b| b.is_empty())),
        "{tail:?}"
    );
    assert_eq!(
        bound.spec.unwrap().node_name.as_deref(),
        Some(node_name.as_str())
    );
    let want: Vec<String> = LINES.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(whole, want.concat());
    assert_eq!(followed, want);
    let (first, second) = (seen.recv().unwrap(), seen.recv().unwrap());
    assert!(
        first.starts_with(&format!("GET /containerLogs/{ns}/p/c HTTP/1.1")),
        "{first}"
    );
    assert!(
        second.starts_with(&format!("GET /containerLogs/{ns}/p/c?follow=true HTTP/1.1")),
        "{second}"
    );
}

/// `proxy_get` reaches the proxy subresource of nodes, services and pods:
/// the API server resolves each target and answers as it does for its
/// state here (a node's kubelet on loopback and a pod without an IP are not
/// proxied to; a service without endpoints is unavailable). The body of a
/// proxied answer is checked against a double in `kubegen-runtime`'s
/// `tests/client_test_double.rs`.
#[tokio::test]
async fn proxy_get_reaches_nodes_services_and_pods() {
    use kubegen_api::core::v1::Service;
    use kubegen_runtime::options::Query;

    let rest = admin();
    let (port, _seen) = kubelet_double(false);
    let (ns, node) = pod_on_a_double_node(&rest, port).await;
    let service: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {"ports": [{"name": "http", "port": 80}]}
    }))
    .unwrap();
    let services = Client::<Service>::namespaced(rest.clone(), &ns);
    services
        .create(&service, &CreateOptions::default())
        .await
        .unwrap();
    let query: Query = vec![("verbose", "1".into())];
    let node_answer = Client::<Node>::cluster(rest.clone())
        .proxy_get("", &node, "", "healthz", &query)
        .await;
    let service_answer = services
        .proxy_get("", "web", "http", "metrics/x", &query)
        .await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    let pod_answer = pods.proxy_get("https", "p", "8443", "", &query).await;
    let missing_answer = pods.proxy_get("https", "nosuch", "8443", "", &query).await;
    drop_node_and_namespace(&rest, &node, &ns).await;

    let (code, _, message) = api_error(node_answer, "node proxy");
    assert_eq!((code, message.as_str()), (400, "address not allowed"));
    let (code, reason, message) = api_error(service_answer, "service proxy");
    assert_eq!(
        (code, reason.as_str()),
        (503, "ServiceUnavailable"),
        "{message}"
    );
    assert!(message.contains("\"web\""), "{message}");
    let (code, _, message) = api_error(pod_answer, "pod proxy");
    assert_eq!((code, message.as_str()), (400, "address not allowed"));
    // `https:nosuch:8443` names the pod `nosuch`.
    let (code, reason, message) = api_error(missing_answer, "missing pod proxy");
    assert_eq!((code, reason.as_str()), (404, "NotFound"), "{message}");
    assert!(message.contains("\"nosuch\""), "{message}");
}

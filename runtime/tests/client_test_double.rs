//! The faults a real API server will not produce on demand, injected by a
//! tiny HTTP/1.1 server on 127.0.0.1: a malformed body, a connection dropped
//! mid-watch, 429 and 5xx with Retry-After, a connection reset after the
//! request was read, a server that never answers, and `Warning:` headers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kubegen_runtime::{
    ApiResource, Client, Config, DynamicObject, Error, ListOptions, PartialObjectMetadata,
    RestClient, Scope, WatchEvent,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Close the connection with RST after reading the request, answering nothing.
const RESET: &str = "RESET";
/// Read the request and never answer (the connection stays open).
const HANG: &str = "HANG";
/// Prefix: write the rest, then keep the connection open (a body that never ends).
const HOLD: &str = "HOLD:";

/// Serves `responses` in order, one per connection, and records request heads.
async fn serve(responses: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    serve_bytes(responses.into_iter().map(String::into_bytes).collect()).await
}

/// As [`serve`], for answers that are not text (protobuf).
async fn serve_bytes(responses: Vec<Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for resp in responses {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf);
            log.lock().unwrap().push(head.into_owned());
            if resp == RESET.as_bytes() {
                let _ = sock.set_zero_linger();
                continue;
            }
            if let Some(partial) = resp.strip_prefix(HOLD.as_bytes()) {
                let _ = sock.write_all(partial).await;
            }
            if resp == HANG.as_bytes() || resp.starts_with(HOLD.as_bytes()) {
                // Held until the test's runtime ends.
                tokio::spawn(async move {
                    let _keep = sock;
                    std::future::pending::<()>().await
                });
                continue;
            }
            let _ = sock.write_all(&resp).await;
            let _ = sock.shutdown().await;
        }
    });
    (url, seen)
}

fn configmaps(url: &str, tweak: impl FnOnce(&mut Config)) -> Client<DynamicObject> {
    let mut cfg = Config::new(url.parse().unwrap());
    tweak(&mut cfg);
    let rest = RestClient::new(cfg).unwrap();
    let ar = ApiResource {
        group: String::new(),
        version: "v1".into(),
        kind: "ConfigMap".into(),
        plural: "configmaps".into(),
        scope: Scope::Namespaced,
    };
    Client::new_with(rest, ar, Some("d".into()))
}

fn ok(body: &str, extra_headers: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn malformed_body_is_a_decode_error_naming_resource_and_path() {
    let (url, _) = serve(vec![ok(
        r#"{"metadata":{},"items":[{"metadata":{"name":7}}]}"#,
        "",
    )])
    .await;
    let err = configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap_err();
    match &err {
        Error::Decode { request, path, .. } => {
            assert_eq!(request, "GET /api/v1/namespaces/d/configmaps");
            assert_eq!(path, "items[0].metadata.name");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn body_that_is_not_json_at_all_is_a_decode_error() {
    let (url, _) = serve(vec![ok("<html>proxy error</html>", "")]).await;
    let err = configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn truncated_body_is_a_transport_error() {
    let resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"items\":[";
    let (url, _) = serve(vec![resp.into()]).await;
    let err = configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("GET /api/v1/namespaces/d/configmaps"),
        "{err}"
    );
}

#[tokio::test]
async fn watch_connection_dropped_mid_stream_reports_then_ends() {
    let ev = r#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}}"#;
    // One complete chunk, then half of the next, then the socket closes.
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{ev}\n\r\n20\r\n{{\"type\":\"MODIFIED\"",
        ev.len() + 1
    );
    let (url, _) = serve(vec![resp]).await;
    let mut w = configmaps(&url, |_| {})
        .watch(&ListOptions::default())
        .await
        .unwrap();
    assert!(matches!(w.next().await, Some(Ok(WatchEvent::Added(_)))));
    let mut rest = Vec::new();
    while let Some(item) = w.next().await {
        rest.push(item);
    }
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(rest[0].is_err());
}

#[tokio::test]
async fn too_many_requests_with_retry_after_is_retried() {
    let throttled = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
    let (url, seen) = serve(vec![
        throttled.into(),
        ok(r#"{"metadata":{},"items":[]}"#, ""),
    ])
    .await;
    let list = configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap();
    assert!(list.items.is_empty());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn retries_are_bounded() {
    let throttled = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    let (url, seen) = serve(vec![throttled.into(); 3]).await;
    let err = configmaps(&url, |c| c.max_retries = 1)
        .list(&ListOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_too_many_requests(), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 2, "one try and one retry");
}

#[tokio::test]
async fn warnings_reach_the_handler() {
    let (url, _) = serve(vec![ok(
        r#"{"metadata":{},"items":[]}"#,
        "Warning: 299 - \"v1 ConfigMap is fine, really\"\r\n",
    )])
    .await;
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let c = configmaps(&url, move |cfg| {
        *cfg = cfg
            .clone()
            .warning_handler(move |w| sink.lock().unwrap().push(w.to_owned()));
    });
    c.list(&ListOptions::default()).await.unwrap();
    assert_eq!(*got.lock().unwrap(), ["v1 ConfigMap is fine, really"]);
}

#[tokio::test]
async fn requests_carry_the_kubegen_user_agent_and_accept_json() {
    let (url, seen) = serve(vec![ok(r#"{"metadata":{},"items":[]}"#, "")]).await;
    configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap();
    let head = seen.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /api/v1/namespaces/d/configmaps http/1.1"),
        "{head}"
    );
    assert!(
        head.contains(&format!(
            "user-agent: kubegen/{}",
            env!("CARGO_PKG_VERSION")
        )),
        "{head}"
    );
    assert!(head.contains("accept: application/json"), "{head}");
}

fn metadata_of_configmaps(
    url: &str,
    tweak: impl FnOnce(&mut Config),
) -> Client<PartialObjectMetadata> {
    let mut cfg = Config::new(url.parse().unwrap());
    tweak(&mut cfg);
    let rest = RestClient::new(cfg).unwrap();
    Client::new_with(
        rest,
        configmaps(url, |_| {}).resource().clone(),
        Some("d".into()),
    )
}

/// A 200 answer with a binary (protobuf, CBOR) body.
fn protobuf(body: &[u8], content_type: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// `k8s\0` + runtime.Unknown{typeMeta{v1, kind}, raw}.
fn envelope(kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = vec![0x0a, 2, b'v', b'1', 0x12, kind.len() as u8];
    type_meta.extend_from_slice(kind.as_bytes());
    let mut out = b"k8s\0".to_vec();
    out.extend_from_slice(&[0x0a, type_meta.len() as u8]);
    out.extend_from_slice(&type_meta);
    out.push(0x12);
    out.push(raw.len() as u8);
    out.extend_from_slice(raw);
    out
}

#[tokio::test]
async fn protobuf_kinds_accept_protobuf_unless_the_config_forces_json() {
    let obj = envelope("PartialObjectMetadata", &[0x0a, 3, 0x0a, 1, b'm']);
    let list = envelope(
        "PartialObjectMetadataList",
        &[0x0a, 0, 0x12, 5, 0x0a, 3, 0x0a, 1, b'm'],
    );
    let pb = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    let (url, seen) = serve_bytes(vec![
        protobuf(&obj, pb),
        protobuf(&list, pb),
        ok(r#"{"metadata":{"name":"m"}}"#, "").into_bytes(),
    ])
    .await;
    let meta = metadata_of_configmaps(&url, |_| {});
    let got = meta.get("m", &Default::default()).await.unwrap();
    assert_eq!(got.metadata.name.as_deref(), Some("m"));
    assert_eq!(got.kind.as_deref(), Some("PartialObjectMetadata"));
    let listed = meta.list(&ListOptions::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let json = metadata_of_configmaps(&url, |c| c.protobuf = false);
    json.get("m", &Default::default()).await.unwrap();
    let heads: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    assert!(heads[0].contains("accept: application/vnd.kubernetes.protobuf;as=partialobjectmetadata;g=meta.k8s.io;v=v1, application/json;as=partialobjectmetadata;"), "{}", heads[0]);
    assert!(
        heads[1]
            .contains("accept: application/vnd.kubernetes.protobuf;as=partialobjectmetadatalist;"),
        "{}",
        heads[1]
    );
    assert!(heads[2].contains("accept: application/json;as=partialobjectmetadata;g=meta.k8s.io;v=v1, application/json\r\n"), "{}", heads[2]);
    assert!(!heads[2].contains("protobuf"), "{}", heads[2]);
}

/// A 415 answer, as a server without CBOR gives to a CBOR body.
fn unsupported_media_type() -> String {
    let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"UnsupportedMediaType","code":415}"#;
    format!(
        "HTTP/1.1 415 Unsupported Media Type\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Beside the real server's paging tests (tests/e2e/tests/protobuf.rs,
/// client_crud.rs), what they cannot see: the pager asks for page 2 while
/// page 1 is still with its consumer, in protobuf (the token read before the
/// items are decoded) and in JSON (the token read from the decoded page).
#[tokio::test]
async fn the_pager_asks_for_the_next_page_before_it_is_wanted() {
    let pb = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    // ListMeta { continue (3) = "tok" }, items (2) = [{ metadata { name = "a" } }].
    let first = envelope(
        "PartialObjectMetadataList",
        &[
            0x0a, 5, 0x1a, 3, b't', b'o', b'k', 0x12, 5, 0x0a, 3, 0x0a, 1, b'a',
        ],
    );
    let last = envelope(
        "PartialObjectMetadataList",
        &[0x0a, 0, 0x12, 5, 0x0a, 3, 0x0a, 1, b'b'],
    );
    for (pages, protobuf_on) in [
        (vec![protobuf(&first, pb), protobuf(&last, pb)], true),
        (
            vec![
                ok(
                    r#"{"metadata":{"continue":"tok"},"items":[{"metadata":{"name":"a"}}]}"#,
                    "",
                )
                .into_bytes(),
                ok(r#"{"metadata":{},"items":[{"metadata":{"name":"b"}}]}"#, "").into_bytes(),
            ],
            false,
        ),
    ] {
        let (url, seen) = serve_bytes(pages).await;
        let meta = metadata_of_configmaps(&url, |c| c.protobuf = protobuf_on);
        let mut stream = std::pin::pin!(meta.list_pages(&ListOptions::default().limit(1)));
        let page = stream.next().await.unwrap().unwrap();
        assert_eq!(page.items[0].metadata.name.as_deref(), Some("a"));
        // Page 1 is held, the stream not polled: page 2 is asked for anyway.
        tokio::time::timeout(Duration::from_secs(10), async {
            while seen.lock().unwrap().len() < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("page 2 was not asked for while page 1 was held");
        assert!(seen.lock().unwrap()[1].contains("continue=tok"));
        let page = stream.next().await.unwrap().unwrap();
        assert_eq!(page.items[0].metadata.name.as_deref(), Some("b"));
        assert!(stream.next().await.is_none());
        assert_eq!(seen.lock().unwrap().len(), 2, "protobuf {protobuf_on}");
    }
}

// Beside the real servers' tests (tests/e2e/tests/cbor.rs): what goes in the headers.
#[tokio::test]
async fn cbor_is_asked_for_and_sent_until_the_server_refuses_it() {
    let cm = kubegen_runtime::cbor::to_vec(&serde_json::from_str::<serde_json::Value>(CM).unwrap())
        .unwrap();
    let (url, seen) = serve_bytes(vec![
        protobuf(&cm, "application/cbor"),
        unsupported_media_type().into_bytes(),
        ok(CM, "").into_bytes(),
        ok(CM, "").into_bytes(),
    ])
    .await;
    let client = configmaps(&url, |c| c.cbor = true);
    let got = client.get("a", &Default::default()).await.unwrap();
    assert_eq!(got, new_cm());
    client.create(&new_cm(), &Default::default()).await.unwrap();
    client.create(&new_cm(), &Default::default()).await.unwrap();
    let heads: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let accept_cbor = "accept: application/cbor, application/json;q=0.9\r\n";
    assert!(heads[0].contains(accept_cbor), "{}", heads[0]);
    assert!(
        heads[1].contains("content-type: application/cbor\r\n"),
        "{}",
        heads[1]
    );
    // The refused create again, in JSON; and JSON from then on.
    for h in &heads[2..] {
        assert!(h.contains("content-type: application/json\r\n"), "{h}");
        assert!(!h.contains("cbor"), "{h}");
    }
    assert_eq!(heads.len(), 4);
}

#[tokio::test]
async fn a_malformed_protobuf_body_is_a_decode_error_naming_the_path() {
    let pb = "application/vnd.kubernetes.protobuf";
    // metadata.name holds bytes that are not UTF-8.
    let bad_name = envelope("PartialObjectMetadata", &[0x0a, 3, 0x0a, 1, 0xff]);
    // A length that runs past the end.
    let truncated = envelope("PartialObjectMetadata", &[0x0a, 9, 0x0a, 1]);
    let (url, _) = serve_bytes(vec![
        protobuf(&bad_name, pb),
        protobuf(&truncated, pb),
        protobuf(b"k8s", pb),
    ])
    .await;
    let meta = metadata_of_configmaps(&url, |_| {});
    for want in ["metadata.name", "metadata", "."] {
        match meta.get("m", &Default::default()).await.unwrap_err() {
            Error::Decode {
                request,
                path,
                message,
            } => {
                assert_eq!(request, "GET /api/v1/namespaces/d/configmaps/m");
                assert_eq!(path, want, "{message}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_protobuf_watch_frame_longer_than_the_limit_ends_the_stream() {
    let mut body = Vec::new();
    body.extend_from_slice(&u32::MAX.to_be_bytes());
    body.extend_from_slice(b"whatever follows");
    let (url, _) = serve_bytes(vec![protobuf(
        &body,
        "application/vnd.kubernetes.protobuf;stream=watch",
    )])
    .await;
    let meta = metadata_of_configmaps(&url, |_| {});
    let events: Vec<_> = meta
        .watch(&ListOptions::default())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    match &events[0] {
        Err(Error::Decode { message, .. }) => assert!(message.contains("longer than"), "{message}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

fn status(code: u16, retry_after: bool) -> String {
    let retry = if retry_after {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {code} Oops\r\n{retry}Content-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{{}}"
    )
}

const EMPTY_LIST: &str = r#"{"metadata":{},"items":[]}"#;
const CM: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#;

fn new_cm() -> DynamicObject {
    serde_json::from_str(CM).unwrap()
}

#[tokio::test]
async fn get_is_retried_after_a_connection_reset() {
    let (url, seen) = serve(vec![RESET.into(), ok(EMPTY_LIST, "")]).await;
    let list = configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap();
    assert!(list.items.is_empty());
    assert_eq!(seen.lock().unwrap().len(), 2, "one reset, one retry");
}

#[tokio::test]
async fn create_is_not_retried_after_a_connection_reset() {
    // The server read the POST: it may have created the object. Repeating it
    // silently could create it twice (generateName) or hide the outcome.
    let (url, seen) = serve(vec![RESET.into(), ok(CM, "")]).await;
    let err = configmaps(&url, |_| {})
        .create(&new_cm(), &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), 1, "not repeated");
}

#[tokio::test]
async fn server_error_with_retry_after_is_retried_for_reads_only() {
    let (url, seen) = serve(vec![status(500, true), ok(EMPTY_LIST, "")]).await;
    configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (url, seen) = serve(vec![status(503, true), ok(CM, "")]).await;
    let err = configmaps(&url, |_| {})
        .create(&new_cm(), &Default::default())
        .await
        .unwrap_err();
    assert!(err.is_service_unavailable(), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Without Retry-After the server did not ask for a retry.
    let (url, seen) = serve(vec![status(500, false), ok(EMPTY_LIST, "")]).await;
    configmaps(&url, |_| {})
        .list(&ListOptions::default())
        .await
        .unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn refused_connections_are_retried_for_any_verb() {
    // A port with nothing listening yet: the create cannot have been sent.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let url = format!("http://{addr}");
    let server = tokio::spawn(async move {
        // The outage: the port opens after a few refused attempts.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let listener = TcpListener::bind(addr).await.unwrap();
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        sock.write_all(ok(CM, "").as_bytes()).await.unwrap();
    });
    let created = configmaps(&url, |_| {})
        .create(&new_cm(), &Default::default())
        .await
        .expect("retried until the port opened");
    assert_eq!(created.metadata.name.as_deref(), Some("a"));
    server.await.unwrap();
}

#[tokio::test]
async fn watch_response_headers_time_out() {
    let (url, _) = serve(vec![HANG.into()]).await;
    let err = configmaps(&url, |c| {
        c.read_timeout = Some(std::time::Duration::from_millis(300));
        c.max_retries = 0;
    })
    .watch(&ListOptions::default())
    .await
    .err()
    .expect("no headers, no watch");
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn error_body_that_never_ends_is_cut_by_the_read_timeout() {
    let head = "HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"message\":";
    let (url, _) = serve(vec![format!("{HOLD}{head}")]).await;
    let err = configmaps(&url, |c| {
        c.read_timeout = Some(std::time::Duration::from_millis(300));
    })
    .create(&new_cm(), &Default::default())
    .await
    .unwrap_err();
    // Reported with the status code, the body it never finished aside.
    assert!(matches!(&err, Error::Api(e) if e.code == 500), "{err:?}");
}

/// The real server (v1.37) serves continue tokens from its watch cache's
/// snapshots, so an etcd compaction behind its back does not expire them;
/// the 410 a client-go pager falls back on is injected here.
#[tokio::test]
async fn expired_continue_token_lists_the_rest_unpaged_each_object_once() {
    let cm = |name: &str| format!(r#"{{"metadata":{{"name":"{name}","namespace":"d"}}}}"#);
    let page = format!(
        r#"{{"metadata":{{"continue":"tok","resourceVersion":"10"}},"items":[{},{}]}}"#,
        cm("a"),
        cm("b")
    );
    let expired = r#"{"kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"The provided continue parameter is too old"}"#;
    let full = format!(
        r#"{{"metadata":{{"resourceVersion":"20"}},"items":[{},{},{},{}]}}"#,
        cm("a"),
        cm("b"),
        cm("c"),
        cm("late")
    );
    let gone = format!(
        "HTTP/1.1 410 Gone\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{expired}",
        expired.len()
    );
    let (url, seen) = serve(vec![ok(&page, ""), gone, ok(&full, "")]).await;
    let names: Vec<String> = configmaps(&url, |_| {})
        .list_all(&ListOptions::default().limit(2))
        .map(|o| o.unwrap().metadata.name.unwrap().to_string())
        .collect()
        .await;
    assert_eq!(names, ["a", "b", "c", "late"]);
    let seen = seen.lock().unwrap();
    assert!(seen[1].contains("continue=tok"), "{}", seen[1]);
    let last = seen[2].lines().next().unwrap();
    assert!(
        !last.contains("continue") && !last.contains("limit"),
        "fallback is one unpaged list: {last}"
    );
}

/// What a real server cannot show here (the test cluster has no pod it can
/// proxy to): `proxy_get` asks for `{scheme}:{name}:{port}/proxy/{path}`
/// with each path segment escaped and the query passed on, and returns the
/// proxied body as it came. The real server's routing is checked in
/// tests/e2e/tests/client_exec.rs.
#[tokio::test]
async fn proxy_get_asks_the_proxy_path_and_returns_the_body() {
    let body = "# metrics\nup 1\n";
    let (url, seen) = serve(vec![format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )])
    .await;
    let rest = RestClient::new(Config::new(url.parse().unwrap())).unwrap();
    let pods = Client::<kubegen_api::core::v1::Pod>::namespaced(rest, "d");
    let query = vec![("since", "1 h".to_owned())];
    let got = pods
        .proxy_get("https", "web-0", "8443", "/metrics/a b", &query)
        .await
        .unwrap();
    assert_eq!(got, body.as_bytes());
    let head = seen.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("GET /api/v1/namespaces/d/pods/https%3Aweb-0%3A8443/proxy/metrics/a%20b?since=1+h HTTP/1.1"),
        "{head}"
    );
}

//! Per-call timeouts and response compression, against the real API server
//! through the fault proxy (kubegen_e2e::fault_proxy):
//!
//! - `a_call_past_its_timeout_fails_and_the_client_goes_on`: a list whose
//!   answer stalls mid-body fails with `Error::Timeout` at the handle's
//!   limit (not the config's 295 s read timeout); the same client lists
//!   again once the stalled connection is gone, and a watch through a
//!   handle with a limit lives past it (the limit covers its headers only).
//! - `large_answers_come_gzipped_unless_compression_is_disabled`: a list of
//!   ~600 KiB crosses the wire in less than half its size with compression
//!   on (the server gzips bodies over 128 KiB), whole with
//!   `disable_compression`, and both decode to the same objects.
//! - `server_warnings_reach_the_handler_once_each_when_deduplicated`: the
//!   server's warning about a deprecated node label, on each of three pod
//!   creates, reaches a plain handler three times and a deduplicating one
//!   once.
//! - `middleware_changes_requests_and_sees_every_answer`: a middleware
//!   that adds an `Impersonate-User` header makes the server answer as that
//!   user (403 where admin may list), and one that records answers sees the
//!   method, path and status of each request, in the order added.
//! - `the_rate_limit_spaces_requests`: 25 gets at 10 QPS with a burst of 5
//!   take at least the 2 s the token bucket imposes (a lower bound only: a
//!   slow machine cannot fail it; a limiter that does not limit does).

use std::time::{Duration, Instant};

use futures::StreamExt;
use kubegen_api::core::v1::ConfigMap;
use kubegen_e2e::fault_proxy::{FaultProxy, apiserver_addr, via};
use kubegen_e2e::{admin, drop_namespace, test_namespace};
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::{Client, CreateOptions, ListOptions, RestClient, WatchEvent};

/// `n` ConfigMaps of ~`size` bytes of data each.
async fn fill(ns: &str, n: usize, size: usize) {
    let cms = Client::<ConfigMap>::namespaced(admin(), ns);
    for i in 0..n {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(format!("cm-{i}").into()),
                labels: Some([("fill".into(), "yes".into())].into_iter().collect()),
                ..Default::default()
            },
            // Words, not one repeated byte: gzip still shrinks it several
            // times, as it does real objects.
            data: Some(
                [(
                    "data".into(),
                    (0..size / 8)
                        .map(|w| format!("w{:06} ", (w * 7919 + i) % 1000))
                        .collect::<String>()
                        .into(),
                )]
                .into_iter()
                .collect(),
            ),
            ..Default::default()
        };
        cms.create(&cm, &CreateOptions::default()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_timeout_fails_and_the_client_goes_on() {
    let ns = test_namespace(&admin(), "timeout").await;
    fill(&ns, 100, 2048).await;
    let proxy = FaultProxy::start(apiserver_addr()).await;
    let rest = RestClient::new(via(&proxy)).unwrap();
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);

    // The answer (~250 KiB, ~60 KiB gzipped) stalls after 16 KiB.
    proxy.stall_next_after(1, 16 * 1024);
    let started = Instant::now();
    let err = cms
        .with_timeout(Duration::from_millis(500))
        .list(&ListOptions::default())
        .await
        .map(|list| list.items.len())
        .expect_err("the stalled list ended");
    assert!(err.is_timeout(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.faults_injected(), 1, "the stall was hit");

    // The stalled connection gone, the client (with or without a limit)
    // goes on.
    proxy.reset_open();
    let ours = ListOptions::default().label_selector("fill");
    assert_eq!(cms.list(&ours).await.unwrap().items.len(), 100);
    let generous = cms.with_timeout(Duration::from_secs(30));
    assert_eq!(generous.list(&ours).await.unwrap().items.len(), 100);

    // A watch's limit covers its headers: events past it still arrive.
    let limited = cms.with_timeout(Duration::from_millis(300));
    let mut events = limited
        .watch(&ours.clone().resource_version("0").timeout_seconds(30))
        .await
        .unwrap();
    // The initial ADDED events of the 100 ConfigMaps, then one made later
    // than the limit.
    let mut added = 0;
    while added < 100 {
        match events.next().await.unwrap().unwrap() {
            WatchEvent::Added(_) => added += 1,
            _ => panic!("an event other than ADDED"),
        }
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    fill_one(&cms, "late").await;
    let late = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let WatchEvent::Added(cm) = events.next().await.unwrap().unwrap()
                && cm.metadata.name.as_deref() == Some("late")
            {
                break;
            }
        }
    })
    .await;
    assert!(late.is_ok(), "the watch ended at its handle's limit");
    drop_namespace(&admin(), &ns).await;
}

async fn fill_one(cms: &Client<ConfigMap>, name: &str) {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("fill".into(), "yes".into())].into_iter().collect()),
            ..Default::default()
        },
        ..Default::default()
    };
    cms.create(&cm, &CreateOptions::default()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_come_gzipped_unless_compression_is_disabled() {
    let ns = test_namespace(&admin(), "gzip").await;
    fill(&ns, 150, 4096).await;
    let ours = ListOptions::default().label_selector("fill");
    let mut wire = Vec::new();
    let mut lists = Vec::new();
    for disable_compression in [false, true] {
        let proxy = FaultProxy::start(apiserver_addr()).await;
        let mut config = via(&proxy);
        config.disable_compression = disable_compression;
        let cms = Client::<ConfigMap>::namespaced(RestClient::new(config).unwrap(), &ns);
        let list = cms.list(&ours).await.unwrap();
        assert_eq!(list.items.len(), 150);
        wire.push(proxy.bytes_from_server());
        lists.push(list.items);
    }
    let (gzipped, plain) = (wire[0], wire[1]);
    // ~600 KiB of ConfigMaps; gzip takes it to well under half.
    assert!(plain > 600_000, "{plain} bytes without compression");
    assert!(
        gzipped * 2 < plain,
        "{gzipped} bytes gzipped against {plain}"
    );
    assert!(
        lists[0] == lists[1],
        "the two lists decode to the same objects"
    );
    drop_namespace(&admin(), &ns).await;
}

#[tokio::test]
async fn server_warnings_reach_the_handler_once_each_when_deduplicated() {
    use kubegen_api::core::v1::Pod;
    use kubegen_runtime::config::WarningHandler;
    use std::sync::{Arc, Mutex};

    let ns = test_namespace(&admin(), "warnings").await;
    let mut seen = Vec::new();
    for deduplicate in [false, true] {
        let got = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = got.clone();
        let record = move |w: &str| sink.lock().unwrap().push(w.to_owned());
        let mut config = kubegen_e2e::config("admin");
        config.warning_handler = Some(if deduplicate {
            WarningHandler::deduplicating(record)
        } else {
            WarningHandler(Arc::new(record))
        });
        let pods = Client::<Pod>::namespaced(RestClient::new(config).unwrap(), &ns);
        for i in 0..3 {
            let pod: Pod = serde_json::from_value(serde_json::json!({
                "metadata": {"name": format!("p{i}-{deduplicate}")},
                "spec": {
                    "nodeSelector": {"beta.kubernetes.io/arch": "amd64"},
                    "containers": [{"name": "c", "image": "registry.invalid/none:1"}]
                }
            }))
            .unwrap();
            pods.create(&pod, &CreateOptions::default()).await.unwrap();
        }
        seen.push(got.lock().unwrap().clone());
    }
    let (plain, deduplicated) = (&seen[0], &seen[1]);
    assert_eq!(plain.len(), 3, "{plain:?}");
    assert!(plain.iter().all(|w| w == &plain[0]));
    assert!(
        plain[0].contains("beta.kubernetes.io/arch") && plain[0].contains("deprecated"),
        "{plain:?}"
    );
    assert_eq!(deduplicated, &plain[..1]);
    drop_namespace(&admin(), &ns).await;
}

#[tokio::test]
async fn the_rate_limit_spaces_requests() {
    use kubegen_runtime::config::RateLimit;

    let mut config = kubegen_e2e::config("admin");
    config.rate_limit = Some(RateLimit {
        qps: 10.0,
        burst: 5,
    });
    let rest = RestClient::new(config).unwrap();
    let namespaces = Client::<kubegen_api::core::v1::Namespace>::cluster(rest);
    let started = Instant::now();
    for _ in 0..25 {
        namespaces
            .get("default", &Default::default())
            .await
            .unwrap();
    }
    // 5 at once, then 20 at 10 per second.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
}

#[tokio::test]
async fn middleware_changes_requests_and_sees_every_answer() {
    use kubegen_api::core::v1::Secret;
    use kubegen_runtime::config::Middleware;
    use std::sync::{Arc, Mutex};

    /// Acts as the `limited` user (admin may impersonate).
    struct AsLimited;
    impl Middleware for AsLimited {
        fn before(&self, request: &mut http::request::Parts) {
            request.headers.insert(
                "impersonate-user",
                http::HeaderValue::from_static("limited"),
            );
        }
    }
    /// Records what went out and what came back.
    #[derive(Clone, Default)]
    struct Record(Arc<Mutex<Vec<String>>>);
    impl Middleware for Record {
        fn after(
            &self,
            request: &http::request::Parts,
            answer: Result<(http::StatusCode, &http::HeaderMap), &kubegen_runtime::Error>,
            _elapsed: Duration,
        ) {
            let impersonating = request.headers.contains_key("impersonate-user");
            let status = answer.map_or(0, |(status, _)| status.as_u16());
            self.0.lock().unwrap().push(format!(
                "{} {} {status} {impersonating}",
                request.method,
                request.uri.path()
            ));
        }
    }

    let record = Record::default();
    let admin_only = kubegen_e2e::config("admin").with_middleware(record.clone());
    let secrets = Client::<Secret>::namespaced(RestClient::new(admin_only).unwrap(), "kube-system");
    secrets.list(&ListOptions::default()).await.unwrap();
    let as_limited = kubegen_e2e::config("admin")
        .with_middleware(AsLimited)
        .with_middleware(record.clone());
    let secrets = Client::<Secret>::namespaced(RestClient::new(as_limited).unwrap(), "kube-system");
    let refused = secrets.list(&ListOptions::default()).await.unwrap_err();
    assert!(refused.is_forbidden(), "{refused}");
    assert!(refused.to_string().contains("\"limited\""), "{refused}");
    assert_eq!(
        *record.0.lock().unwrap(),
        [
            "GET /api/v1/namespaces/kube-system/secrets 200 false",
            "GET /api/v1/namespaces/kube-system/secrets 403 true",
        ]
    );
}

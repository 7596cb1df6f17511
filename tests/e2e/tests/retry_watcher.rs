//! `controller::retry_watcher` against the real kube-apiserver, with faults
//! injected by [`FaultProxy`].
//!
//! - `changes_made_while_the_connection_is_down_arrive_once_in_order`: the
//!   watch connection is reset and new connections refused; objects are
//!   created, modified and deleted meanwhile (directly, not through the
//!   proxy), and none of it arrives while the link is down. Once the port
//!   reopens, the stream delivers exactly those changes, in order, with the
//!   resourceVersions the writes returned, and nothing twice (a marker
//!   created afterwards comes right after them). Cancelling the token ends
//!   the stream.
//! - `too_old_resource_version_ends_the_stream_with_gone`: a watch from a
//!   resourceVersion that etcd has compacted away yields one 410 error and
//!   ends (PodTemplates, which the test cluster serves without a watch cache,
//!   so the compaction reaches the watch). `""` and `"0"` are refused.
//!
//! Each test has its own namespace (and proxy), so they run in parallel.

use std::time::Duration;

use futures::StreamExt;
use kubegen_api::core::v1::PodTemplate;
use kubegen_e2e::cluster::{etcd_compact, pod_template};
use kubegen_e2e::fault_proxy::{FaultProxy, apiserver_addr, via};
use kubegen_e2e::{ConfigMap, admin, drop_namespace, test_namespace};
use kubegen_runtime::controller::{CancellationToken, retry_watcher};
use kubegen_runtime::{
    Client, DeleteOptions, Error, ListOptions, Object, RestClient, WatchEvent, WatchStream,
};

/// The next item of `stream`, failing the test after 60 s.
async fn next<K>(stream: &mut WatchStream<K>) -> Option<Result<WatchEvent<K>, Error>> {
    tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("the retry watcher yields within 60 s")
}

/// An event as (type, name, resourceVersion), to compare sequences.
fn summary(event: &WatchEvent<ConfigMap>) -> (&'static str, String, String) {
    let (type_, object) = match event {
        WatchEvent::Added(o) => ("ADDED", o),
        WatchEvent::Modified(o) => ("MODIFIED", o),
        WatchEvent::Deleted(o) => ("DELETED", o),
        other => panic!("the retry watcher yields only changes, got {other:?}"),
    };
    let name = object.metadata.name.as_deref().unwrap_or_default();
    (type_, name.to_owned(), version(object))
}

fn version<K: Object>(object: &K) -> String {
    let version = object.metadata().resource_version.as_deref();
    version.unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_while_the_connection_is_down_arrive_once_in_order() {
    let rest = admin();
    let ns = test_namespace(&rest, "retry-watch-outage").await;
    let direct = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    let created = |name: &str| ConfigMap::named(name);
    let first = direct
        .create(&created("first"), &Default::default())
        .await
        .expect("create");

    let proxy = FaultProxy::start(apiserver_addr()).await;
    let proxied = Client::<ConfigMap>::namespaced(
        RestClient::new(via(&proxy)).expect("client through the proxy"),
        &ns,
    );
    let cancel = CancellationToken::new();
    // The controller-manager's CA ConfigMap may land in the namespace any time.
    let mine = ListOptions::default().field_selector("metadata.name!=kube-root-ca.crt");
    let mut stream = retry_watcher(proxied, mine, &version(&first), cancel.clone())
        .expect("a real resourceVersion is accepted");

    let a = direct
        .create(&created("a"), &Default::default())
        .await
        .expect("create");
    let got = next(&mut stream)
        .await
        .expect("an event")
        .expect("no error");
    assert_eq!(summary(&got), ("ADDED", "a".into(), version(&a)));

    // The link goes down; the server changes meanwhile.
    proxy.refuse_new().await;
    assert!(proxy.reset_open() >= 1, "the watch connection was reset");
    let mut want = Vec::new();
    let b = direct
        .create(&created("b"), &Default::default())
        .await
        .expect("create");
    want.push(("ADDED", "b".to_owned(), version(&b)));
    let mut a_changed = a.clone();
    a_changed
        .rest
        .insert("data".into(), serde_json::json!({"k": "v"}));
    let a_changed = direct
        .update(&a_changed, &Default::default())
        .await
        .expect("update");
    want.push(("MODIFIED", "a".to_owned(), version(&a_changed)));
    direct
        .delete("first", &DeleteOptions::default())
        .await
        .expect("delete");
    let c = direct
        .create(&created("c"), &Default::default())
        .await
        .expect("create");
    // Absence cannot be awaited: nothing may arrive for a while (the watcher
    // retries against the closed port meanwhile).
    assert!(
        tokio::time::timeout(Duration::from_secs(2), stream.next())
            .await
            .is_err(),
        "nothing arrives while the link is down"
    );

    proxy.accept_again().await;
    let marker = direct
        .create(&created("after"), &Default::default())
        .await
        .expect("create");
    let mut got = Vec::new();
    loop {
        let event = next(&mut stream)
            .await
            .expect("an event")
            .expect("no error");
        let seen = summary(&event);
        let done = seen.1 == "after";
        got.push(seen);
        if done {
            break;
        }
    }
    // The delete's version is the server's, not known from the write: take
    // it from what arrived, after checking its place in the order.
    assert_eq!(
        got.iter()
            .map(|(t, n, _)| (*t, n.as_str()))
            .collect::<Vec<_>>(),
        [
            ("ADDED", "b"),
            ("MODIFIED", "a"),
            ("DELETED", "first"),
            ("ADDED", "c"),
            ("ADDED", "after")
        ],
        "every change once, in order: {got:?}"
    );
    want.push(got[2].clone());
    want.push(("ADDED", "c".to_owned(), version(&c)));
    want.push(("ADDED", "after".to_owned(), version(&marker)));
    assert_eq!(got, want);
    assert!(
        proxy.accepted() >= 2,
        "the watch was reopened on a new connection"
    );

    cancel.cancel();
    assert!(
        next(&mut stream).await.is_none(),
        "cancelling ends the stream"
    );
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_old_resource_version_ends_the_stream_with_gone() {
    let rest = admin();
    let ns = test_namespace(&rest, "retry-watch-gone").await;
    let templates = Client::<PodTemplate>::namespaced(rest.clone(), &ns);
    for bad in ["", "0"] {
        let refused = retry_watcher(
            templates.clone(),
            ListOptions::default(),
            bad,
            CancellationToken::new(),
        );
        assert!(
            matches!(refused, Err(Error::InvalidRequest(_))),
            "initial resourceVersion {bad:?} is refused"
        );
    }

    let old = templates
        .create(&pod_template("old"), &Default::default())
        .await
        .expect("create");
    // Two later writes: etcd keeps the revision it compacts at, and the
    // watch from `old` starts at the one after it, which must be gone.
    for name in ["new-1", "new-2"] {
        templates
            .create(&pod_template(name), &Default::default())
            .await
            .expect("create");
    }
    tokio::task::spawn_blocking(etcd_compact)
        .await
        .expect("compact");

    let mut stream = retry_watcher(
        templates,
        ListOptions::default(),
        &version(&old),
        CancellationToken::new(),
    )
    .expect("a real resourceVersion is accepted");
    match next(&mut stream).await {
        Some(Err(e)) => {
            assert!(e.is_resource_expired(), "410 Gone / Expired: {e}");
            assert_eq!(e.code(), Some(410));
        }
        other => panic!("expected the Gone error, got {other:?}"),
    }
    assert!(
        next(&mut stream).await.is_none(),
        "the stream ends after it"
    );
    drop_namespace(&rest, &ns).await;
}

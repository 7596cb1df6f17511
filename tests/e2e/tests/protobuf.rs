//! Protobuf and metadata-only reads against the real server.
//!
//! Built-in kinds speak protobuf by default (roundtrip.rs checks every
//! kind's encoding byte for byte against the server's); these tests cover
//! what a whole object does not: watches (events, the initial-events
//! bookmark, an expired resource version's error), paginated lists, error
//! Statuses, and the metadata client and informer. Each reads the same
//! objects through JSON too (`Config::protobuf = false`) and compares.
//! The headers each config sends are checked against a test double in
//! runtime/tests/client_test_double.rs.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kubegen_api::core::v1::{ConfigMap, Container, Pod, PodSpec, PodTemplate};
use kubegen_e2e::cluster::etcd_compact;
use kubegen_e2e::{admin, config, drop_namespace, eventually, test_namespace};
use kubegen_runtime::cache::{FactoryOptions, InformerFactory};
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::options::ResourceVersionMatch;
use kubegen_runtime::selector::Selector;
use kubegen_runtime::{
    Client, DeleteOptions, ListOptions, PartialObjectMetadata, Patch, PatchOptions, Resource,
    RestClient, WatchEvent,
};
use serde_json::json;

/// The admin's client with protobuf off: the JSON reads to compare with.
fn json_only() -> RestClient {
    let mut cfg = config("admin");
    cfg.protobuf = false;
    RestClient::new(cfg).unwrap()
}

fn cm(name: &str, data: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("suite".into(), "protobuf".into())].into()),
            ..Default::default()
        },
        data: Some([("k".into(), data.into())].into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_watch_through_protobuf_carries_events_bookmarks_and_errors() {
    let rest = admin();
    let ns = test_namespace(&rest, "pb-watch").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    cms.create(&cm("a", "1"), &Default::default())
        .await
        .unwrap();

    let opts = ListOptions::default()
        .label_selector("suite=protobuf")
        .send_initial_events(true)
        .resource_version_match(ResourceVersionMatch::NotOlderThan)
        .allow_watch_bookmarks(true)
        .timeout_seconds(30);
    let mut events = cms.watch(&opts).await.unwrap();
    match events.next().await {
        Some(Ok(WatchEvent::Added(c))) => {
            assert_eq!(c.metadata.name.as_deref(), Some("a"));
            assert_eq!(c.data.as_ref().unwrap()["k"], "1");
            assert_eq!(
                c.kind.as_deref(),
                Some("ConfigMap"),
                "the envelope's kind is set"
            );
        }
        other => panic!("expected the initial ADDED, got {other:?}"),
    }
    match events.next().await {
        Some(Ok(WatchEvent::Bookmark(b))) => {
            assert!(b.is_initial_events_end(), "{b:?}");
            assert!(!b.resource_version.is_empty());
        }
        other => panic!("expected the initial-events-end bookmark, got {other:?}"),
    }
    cms.patch(
        "a",
        &Patch::Merge(json!({"data": {"k": "2"}})),
        &PatchOptions::default(),
    )
    .await
    .unwrap();
    cms.delete("a", &DeleteOptions::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match events.next().await.expect("the watch goes on").unwrap() {
            WatchEvent::Modified(c) => seen.push(format!("modified {}", c.data.unwrap()["k"])),
            WatchEvent::Deleted(c) => seen.push(format!("deleted {}", c.metadata.name.unwrap())),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["modified 2", "deleted a"]);

    // An expired resource version: a 410 ERROR event (a Status in protobuf),
    // or the watch request itself refused as expired. The test cluster
    // serves PodTemplates from etcd (no watch cache), so compacting etcd's
    // history expires a version deterministically.
    let templates = Client::<PodTemplate>::namespaced(rest.clone(), &ns);
    let template = |name: &str| -> PodTemplate {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        }))
        .unwrap()
    };
    let old = templates
        .create(&template("t0"), &Default::default())
        .await
        .unwrap();
    templates
        .create(&template("t1"), &Default::default())
        .await
        .unwrap();
    etcd_compact();
    let old_rv = old.metadata.resource_version.unwrap();
    match templates
        .watch(
            &ListOptions::default()
                .resource_version(old_rv.as_str())
                .timeout_seconds(5),
        )
        .await
    {
        Err(e) => assert!(e.is_resource_expired(), "{e}"),
        Ok(mut s) => match s.next().await {
            Some(Ok(WatchEvent::Error(st))) => {
                assert_eq!(st.code, Some(410), "{st:?}");
                assert_eq!(st.kind.as_deref(), Some("Status"));
                assert!(st.message.is_some(), "{st:?}");
            }
            other => panic!("expected a 410 event, got {other:?}"),
        },
    }
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn a_paginated_list_through_protobuf_matches_one_through_json() {
    let rest = admin();
    let ns = test_namespace(&rest, "pb-pages").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    for i in 0..25 {
        cms.create(
            &cm(&format!("cm-{i:02}"), &i.to_string()),
            &Default::default(),
        )
        .await
        .unwrap();
    }
    let opts = ListOptions::default()
        .label_selector("suite=protobuf")
        .limit(10);
    let pages: Vec<_> = cms.list_pages(&opts).try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    assert!(pages[0].continue_token().is_some() && pages[2].continue_token().is_none());
    let names: BTreeSet<String> = pages
        .iter()
        .flat_map(|p| &p.items)
        .map(|c| c.metadata.name.as_deref().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 25);

    let json_cms = Client::<ConfigMap>::namespaced(json_only(), &ns);
    let through_json: Vec<_> = json_cms.list_all(&opts).try_collect().await.unwrap();
    let through_protobuf: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
    assert_eq!(
        through_protobuf, through_json,
        "the same objects, field by field"
    );
    drop_namespace(&rest, &ns).await;
}

/// A list of more than a MiB decodes its items on every core (the
/// `ObjectList::from_protobuf` unit tests cover the order and errors); here,
/// against the server's own bytes.
#[tokio::test]
async fn a_large_list_through_protobuf_matches_one_through_json() {
    let rest = admin();
    let ns = test_namespace(&rest, "pb-large").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    for i in 0..40 {
        let data = format!("{i:02}").repeat(20_000); // 40 KB each, 1.6 MB in all
        cms.create(&cm(&format!("cm-{i:02}"), &data), &Default::default())
            .await
            .unwrap();
    }
    let opts = ListOptions::default().label_selector("suite=protobuf");
    let through_protobuf = cms.list(&opts).await.unwrap();
    let through_json = Client::<ConfigMap>::namespaced(json_only(), &ns)
        .list(&opts)
        .await
        .unwrap();
    assert_eq!(through_protobuf.items.len(), 40);
    assert_eq!(
        through_protobuf.items, through_json.items,
        "the same objects, field by field, in the same order"
    );
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn errors_come_back_typed_from_a_protobuf_status() {
    let rest = admin();
    let ns = test_namespace(&rest, "pb-errors").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    let missing = cms.get("absent", &Default::default()).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(
        missing.to_string().contains("\"absent\" not found"),
        "{missing}"
    );
    cms.create(&cm("twice", "1"), &Default::default())
        .await
        .unwrap();
    let again = cms
        .create(&cm("twice", "1"), &Default::default())
        .await
        .unwrap_err();
    assert!(again.is_already_exists(), "{again}");
    let mut bad = cm("Not_A_Name", "1");
    bad.metadata.labels = None;
    let invalid = cms.create(&bad, &Default::default()).await.unwrap_err();
    assert!(invalid.is_invalid(), "{invalid}");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn the_metadata_client_reads_patches_and_deletes() {
    let rest = admin();
    let ns = test_namespace(&rest, "pb-meta").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    cms.create(&cm("m", "payload"), &Default::default())
        .await
        .unwrap();
    let resource = ConfigMap::api_resource();

    for rest in [rest.clone(), json_only()] {
        let meta =
            Client::<PartialObjectMetadata>::new_with(rest, resource.clone(), Some(ns.clone()));
        let got = meta.get("m", &Default::default()).await.unwrap();
        assert_eq!(got.kind.as_deref(), Some("PartialObjectMetadata"));
        assert_eq!(got.api_version.as_deref(), Some("meta.k8s.io/v1"));
        assert_eq!(got.metadata.labels.as_ref().unwrap()["suite"], "protobuf");
        let list = meta
            .list(&ListOptions::default().label_selector("suite=protobuf"))
            .await
            .unwrap();
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.items[0].metadata.uid, got.metadata.uid);
    }

    let meta = Client::<PartialObjectMetadata>::new_with(rest.clone(), resource, Some(ns.clone()));
    let patched = meta
        .patch(
            "m",
            &Patch::Merge(json!({"metadata": {"labels": {"seen": "yes"}}})),
            &PatchOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.labels.as_ref().unwrap()["seen"], "yes");
    // The object keeps its data: only metadata was asked for, and changed.
    let full = cms.get("m", &Default::default()).await.unwrap();
    assert_eq!(full.data.unwrap()["k"], "payload");
    meta.delete("m", &DeleteOptions::default()).await.unwrap();
    assert!(
        cms.get("m", &Default::default())
            .await
            .unwrap_err()
            .is_not_found()
    );
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_informer_syncs_thousands_of_pods() {
    const PODS: usize = 2000;
    let rest = admin();
    let ns = test_namespace(&rest, "pb-meta-informer").await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    futures::stream::iter(0..PODS)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let p = Pod {
                    metadata: ObjectMeta {
                        name: Some(format!("p-{i:04}").into()),
                        labels: Some([("app".into(), "meta".into())].into()),
                        ..Default::default()
                    },
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "c".into(),
                            image: Some("registry.example/app:1".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                pods.create(&p, &Default::default()).await.unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<()>()
        .await;

    let factory = InformerFactory::with_options(
        rest.clone(),
        Duration::ZERO,
        FactoryOptions::new().namespace(&ns),
    );
    let informer = factory.metadata_informer::<Pod>();
    factory.start();
    assert!(factory.wait_for_cache_sync().await);
    let cached = informer.lister().list(&Selector::everything());
    assert_eq!(cached.len(), PODS);
    assert!(
        cached
            .iter()
            .all(|m| m.metadata.labels.as_ref().unwrap()["app"] == "meta")
    );
    let one = informer.lister().namespaced(&ns).get("p-0007").unwrap();
    assert_eq!(one.metadata.namespace.as_deref(), Some(ns.as_str()));

    // Changes reach the cache through the metadata watch.
    pods.delete("p-0007", &DeleteOptions::default().grace_period_seconds(0))
        .await
        .unwrap();
    let lister = informer.lister();
    eventually(
        Duration::from_secs(30),
        "the deleted pod to leave the cache",
        || {
            let gone = lister.namespaced(&ns).get("p-0007").is_err();
            async move { gone }
        },
    )
    .await;
    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

//! Typed client verbs against the real API server: CRUD, patches, apply,
//! watch, delete_collection, typed errors, pagination.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kubegen_e2e::{ConfigMap, Secret, admin, drop_namespace, test_namespace};
use kubegen_runtime::client::Patch;
use kubegen_runtime::options::{PropagationPolicy, ResourceVersionMatch};
use kubegen_runtime::{
    ApplyOptions, Client, CreateOptions, DeleteOptions, DeleteResponse, GetOptions, ListOptions,
    PatchOptions, SortedMap, UpdateOptions, WatchEvent,
};
use serde_json::json;

fn data(o: &ConfigMap) -> BTreeMap<String, String> {
    serde_json::from_value(o.rest.get("data").cloned().unwrap_or(json!({}))).unwrap_or_default()
}

#[tokio::test]
async fn configmap_crud_patch_apply_and_watch() {
    let rest = admin();
    let ns = test_namespace(&rest, "crud").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);

    let list = cms.list(&ListOptions::default()).await.unwrap();
    let rv = list
        .resource_version()
        .expect("list has a resourceVersion")
        .to_owned();
    let mut events = cms
        .watch(
            &ListOptions::default()
                .resource_version(rv)
                .timeout_seconds(60),
        )
        .await
        .unwrap();

    let created = cms
        .create(
            &ConfigMap::new("cm", json!({"data": {"a": "1"}})),
            &CreateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(data(&created)["a"], "1");

    let mut changed = created.clone();
    changed.rest.insert("data".into(), json!({"a": "2"}));
    let updated = cms
        .update(&changed, &UpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(data(&updated)["a"], "2");

    let merged = cms
        .patch(
            "cm",
            &Patch::Merge(json!({"data": {"b": "3"}})),
            &PatchOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(data(&merged).len(), 2);
    let jsonp = cms
        .patch(
            "cm",
            &Patch::Json(json!([{"op": "replace", "path": "/data/b", "value": "4"}])),
            &PatchOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(data(&jsonp)["b"], "4");
    let strategic = cms
        .patch_strategic("cm", &json!({"data": {"c": "5"}}), &PatchOptions::default())
        .await
        .unwrap();
    assert_eq!(data(&strategic)["c"], "5");

    let applied = cms
        .apply("cm", &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"d": "6"}}), &ApplyOptions::new("kubegen-e2e").force(true))
        .await
        .unwrap();
    assert_eq!(data(&applied)["d"], "6");
    let managers: Vec<_> = applied
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(managers.contains(&"kubegen-e2e".into()), "{managers:?}");

    // Dry run changes nothing.
    cms.patch(
        "cm",
        &Patch::Merge(json!({"data": {"z": "dry"}})),
        &PatchOptions::default().dry_run(true),
    )
    .await
    .unwrap();
    assert!(!data(&cms.get("cm", &GetOptions::default()).await.unwrap()).contains_key("z"));

    match cms.delete("cm", &DeleteOptions::default()).await.unwrap() {
        DeleteResponse::Object(o) => assert_eq!(o.metadata.name.as_deref(), Some("cm")),
        DeleteResponse::Status(s) => assert_eq!(s.status.as_deref(), Some("Success")),
    }

    let mut seen = Vec::new();
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("watch event in time")
    {
        let kind = match ev.unwrap() {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(s) => panic!("watch error {s:?}"),
        };
        seen.push(kind);
        if kind == "DELETED" {
            break;
        }
    }
    assert_eq!(seen.first(), Some(&"ADDED"));
    assert_eq!(seen.last(), Some(&"DELETED"));
    assert!(
        seen.iter().filter(|k| **k == "MODIFIED").count() >= 5,
        "{seen:?}"
    );
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn typed_errors_conflict_not_found_already_exists_invalid() {
    let rest = admin();
    let ns = test_namespace(&rest, "errs").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);

    let err = cms
        .get("missing", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        cms.get_opt("missing", &GetOptions::default())
            .await
            .unwrap(),
        None
    );

    let first = cms
        .create(
            &ConfigMap::new("x", json!({"data": {"k": "v"}})),
            &CreateOptions::default(),
        )
        .await
        .unwrap();
    let err = cms
        .create(&ConfigMap::named("x"), &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");

    let mut newer = first.clone();
    newer.rest.insert("data".into(), json!({"k": "v2"}));
    cms.update(&newer, &UpdateOptions::default()).await.unwrap();
    // `first` still carries the old resourceVersion.
    let err = cms
        .update(&first, &UpdateOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");

    let err = cms
        .create(
            &ConfigMap::named("Not_A_Valid_Name"),
            &CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(
        err.causes()
            .iter()
            .any(|c| c.field.as_deref() == Some("metadata.name")),
        "{:?}",
        err.causes()
    );

    let err = cms.get("", &GetOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("configmaps"), "{err}");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn delete_collection_by_label_leaves_the_rest() {
    let rest = admin();
    let ns = test_namespace(&rest, "delcol").await;
    let secrets = Client::<Secret>::namespaced(rest.clone(), &ns);
    for i in 0..6 {
        let group = if i % 2 == 0 { "even" } else { "odd" };
        let mut s = Secret::new(&format!("s{i}"), json!({"stringData": {"k": "v"}}));
        s.metadata.labels = Some(SortedMap::from([("group".into(), group.into())]));
        secrets.create(&s, &CreateOptions::default()).await.unwrap();
    }
    let sel = ListOptions::default().label_selector("group=even");
    let gone = secrets
        .delete_collection(
            &DeleteOptions::default().propagation_policy(PropagationPolicy::Background),
            &sel,
        )
        .await
        .unwrap();
    if let DeleteResponse::Object(list) = gone {
        assert_eq!(list.items.len(), 3);
    }
    let left = secrets.list(&ListOptions::default()).await.unwrap();
    let mut names: Vec<_> = left
        .items
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["s1", "s3", "s5"]);
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn pages_through_1200_configmaps_100_at_a_time_in_order() {
    let rest = admin();
    let ns = test_namespace(&rest, "pages").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    futures::stream::iter(0..1200)
        .map(|i| {
            let cms = cms.clone();
            let mut cm = ConfigMap::named(&format!("cm-{i:04}"));
            cm.metadata.labels = Some(SortedMap::from([("kubegen-e2e".into(), "page".into())]));
            async move { cms.create(&cm, &CreateOptions::default()).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();

    // The selector leaves out kube-root-ca.crt, which the controller-manager adds to every namespace.
    let mine = ListOptions::default()
        .label_selector("kubegen-e2e=page")
        .limit(100);
    let pages: Vec<_> = cms.list_pages(&mine).try_collect().await.unwrap();
    // The server may end with one empty page: it cannot know that no later key matches.
    let full: Vec<_> = pages.iter().filter(|p| !p.items.is_empty()).collect();
    assert_eq!(full.len(), 12);
    assert!(full.iter().all(|p| p.items.len() == 100));
    assert!(pages.len() <= 13 && pages.last().is_some_and(|p| p.continue_token().is_none()));
    let names: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.items)
        .filter_map(|c| c.metadata.name.map(String::from))
        .collect();
    let want: Vec<String> = (0..1200).map(|i| format!("cm-{i:04}")).collect();
    assert_eq!(names, want);

    // The streaming pager yields the same items.
    let all: Vec<_> = cms.list_all(&mine).try_collect().await.unwrap();
    assert_eq!(all.len(), 1200);

    // A consistent list at a known version.
    let first = cms.list(&ListOptions::default().limit(1)).await.unwrap();
    let rv = first.resource_version().unwrap().to_owned();
    let exact = cms
        .list(
            &ListOptions::default()
                .limit(10)
                .resource_version(rv)
                .resource_version_match(ResourceVersionMatch::NotOlderThan),
        )
        .await
        .unwrap();
    assert_eq!(exact.items.len(), 10);
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn watch_ends_cleanly_when_the_server_closes_it() {
    let rest = admin();
    let ns = test_namespace(&rest, "wclose").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    let opts = ListOptions::default()
        .label_selector("none=here")
        .timeout_seconds(2)
        .allow_watch_bookmarks(true);
    let mut events = cms.watch(&opts).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(30), async {
        let mut others = 0;
        while let Some(ev) = events.next().await {
            if !matches!(
                ev.expect("no error before the server closes the watch"),
                WatchEvent::Bookmark(_)
            ) {
                others += 1;
            }
        }
        others
    })
    .await
    .expect("the stream ends after the server's timeoutSeconds");
    assert_eq!(end, 0, "an empty selection yields only bookmarks");

    // An expired resource version ends the watch with a typed Gone/Expired event or error.
    // Not "1": a young cluster's watch cache still replays from version 1.
    let old = cms
        .watch(
            &ListOptions::default()
                .resource_version("2")
                .timeout_seconds(5),
        )
        .await;
    match old {
        Err(e) => assert!(e.is_resource_expired(), "{e}"),
        Ok(mut s) => match s.next().await {
            Some(Ok(WatchEvent::Error(st))) => assert_eq!(st.code, Some(410), "{st:?}"),
            other => panic!("expected a 410 event, got {other:?}"),
        },
    }
    drop_namespace(&rest, &ns).await;
}

/// Names come from user input in real controllers; none may address another
/// object or add query parameters (measured before the fix: each of these
/// returned or deleted `victim`).
#[tokio::test]
async fn hostile_names_cannot_reach_another_object() {
    let rest = admin();
    let ns = test_namespace(&rest, "names").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    cms.create(&ConfigMap::named("victim"), &CreateOptions::default())
        .await
        .unwrap();
    for name in ["victim#junk", "victim?x=1", "x?dryRun=All", "victim "] {
        let err = cms.get(name, &GetOptions::default()).await.expect_err(name);
        assert!(err.is_not_found(), "get {name:?}: {err}");
        let err = cms
            .delete(name, &DeleteOptions::default())
            .await
            .expect_err(name);
        assert!(err.is_not_found(), "delete {name:?}: {err}");
    }
    // The server rejects these as path segments; so does the client, before sending.
    for name in ["vic%74im", "victim/..", "..", "."] {
        let err = cms.get(name, &GetOptions::default()).await.expect_err(name);
        assert!(
            matches!(err, kubegen_runtime::Error::InvalidRequest(_)),
            "get {name:?}: {err}"
        );
    }
    let hostile_ns = cms.within("other?labelSelector=x");
    let err = hostile_ns
        .get("victim", &GetOptions::default())
        .await
        .expect_err("namespace with a query");
    assert!(err.is_not_found(), "{err}");
    // Still there.
    cms.get("victim", &GetOptions::default()).await.unwrap();
    drop_namespace(&rest, &ns).await;
}

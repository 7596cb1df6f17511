//! CBOR for custom resources (KEP-4222) against real API servers: the test
//! cluster's second kube-apiserver runs with `CBORServingAndStorage` on
//! (kubeconfig context `cbor`), the first without it, both on one etcd.
//!
//! With `Config::cbor`, a custom resource is created and replaced in CBOR,
//! read, listed and watched in CBOR, and what comes back equals a JSON read
//! of the same object from the other server; the server's error Statuses and
//! an informer's watch-list (its initial-events bookmark) come through CBOR
//! too. A server without the gate answers 415 to the CBOR body; the client
//! sends that request again in JSON, and JSON from then on.

mod derive_types;

use std::time::Duration;

use derive_types::{Widget, WidgetStatus, full_spec};
use futures::StreamExt;
use kubegen_e2e::{admin, apply_crd, config, drop_namespace, test_namespace};
use kubegen_runtime::cache::{FactoryOptions, InformerFactory};
use kubegen_runtime::selector::Selector;
use kubegen_runtime::{
    Client, CreateOptions, DeleteOptions, DynamicObject, GetOptions, ListOptions, Resource,
    RestClient, UpdateOptions, WatchEvent,
};

/// A client of `context` that speaks CBOR for custom resources.
fn cbor_client(context: &str) -> RestClient {
    let mut cfg = config(context);
    cfg.cbor = true;
    RestClient::new(cfg).unwrap()
}

async fn install_crd(rest: &RestClient) {
    let crd = Widget::crd().unwrap();
    let name = crd.metadata.name.clone().unwrap();
    apply_crd(rest, &name, &crd, "kubegen-e2e-derive").await;
}

/// The object without what differs between two reads of it by design: none
/// (both servers read the same etcd key), so the whole object compares.
fn widget(name: &str) -> Widget {
    Widget::new(name, full_spec())
}

#[tokio::test]
async fn custom_resources_round_trip_through_cbor() {
    let json_rest = admin();
    install_crd(&json_rest).await;
    let ns = test_namespace(&json_rest, "cbor").await;
    let rest = cbor_client("cbor");
    let widgets = Client::<Widget>::namespaced(rest.clone(), &ns);
    let json_widgets = Client::<Widget>::namespaced(json_rest.clone(), &ns);

    let start = widgets.list(&ListOptions::default()).await.unwrap();
    assert!(start.items.is_empty());
    let mut events = widgets
        .watch(&ListOptions::default().resource_version(start.resource_version().unwrap()))
        .await
        .unwrap();

    // Create: the body goes in CBOR, and the server took it.
    let created = widgets
        .create(&widget("w1"), &CreateOptions::default())
        .await
        .unwrap();
    assert!(rest.cbor(), "the CBOR server refused a CBOR body");
    assert_eq!(created.spec, full_spec());
    let by_json = json_widgets
        .get("w1", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(created, by_json, "CBOR and JSON reads of one object differ");
    assert_eq!(
        widgets.get("w1", &GetOptions::default()).await.unwrap(),
        by_json
    );

    // Replace and the status subresource.
    let mut changed = created.clone();
    changed.spec.replicas = 3;
    changed.spec.labels.insert("tier".into(), "café ☕".into());
    let replaced = widgets
        .update(&changed, &UpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(replaced.spec, changed.spec);
    let mut with_status = replaced.clone();
    with_status.status = Some(WidgetStatus {
        replicas: 3,
        message: Some("ready".into()),
    });
    let updated = widgets
        .update_status(&with_status, &UpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(updated.status, with_status.status);

    widgets
        .create(&widget("w2"), &CreateOptions::default())
        .await
        .unwrap();
    let list = widgets.list(&ListOptions::default()).await.unwrap();
    let json_list = json_widgets.list(&ListOptions::default()).await.unwrap();
    assert_eq!(list.items, json_list.items);
    assert_eq!(list.items.len(), 2);

    // The dynamic client speaks CBOR too, and reads what JSON reads.
    let resource = Widget::api_resource();
    let dynamic =
        Client::<DynamicObject>::new_with(rest.clone(), resource.clone(), Some(ns.clone()));
    let json_dynamic =
        Client::<DynamicObject>::new_with(json_rest.clone(), resource, Some(ns.clone()));
    assert_eq!(
        dynamic.get("w1", &GetOptions::default()).await.unwrap(),
        json_dynamic
            .get("w1", &GetOptions::default())
            .await
            .unwrap()
    );

    // The server's Statuses arrive in CBOR and keep their details.
    let missing = widgets
        .get("missing", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    let status = &missing.api_error().unwrap().status;
    assert!(
        status.message.as_deref().unwrap_or("").contains("missing"),
        "{status:?}"
    );
    let mut too_many = widget("w3");
    too_many.spec.replicas = 9;
    let invalid = widgets
        .create(&too_many, &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(invalid.is_invalid(), "{invalid}");
    assert!(
        invalid
            .causes()
            .iter()
            .any(|c| c.message.as_deref().unwrap_or("").contains("maxReplicas")),
        "{invalid:?}"
    );

    widgets
        .delete("w1", &DeleteOptions::default())
        .await
        .unwrap();

    // The watch saw it all, each event decoded from the CBOR sequence.
    let mut seen = Vec::new();
    while !seen.contains(&("DELETED", "w1".to_owned())) {
        let ev = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("a watch event within 30 s")
            .expect("the watch goes on")
            .unwrap();
        let (kind, w) = match ev {
            WatchEvent::Added(w) => ("ADDED", w),
            WatchEvent::Modified(w) => ("MODIFIED", w),
            WatchEvent::Deleted(w) => ("DELETED", w),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(w.metadata.namespace.as_deref(), Some(ns.as_str()));
        seen.push((kind, w.metadata.name.unwrap().to_string()));
    }
    let kinds_of_w1: Vec<&str> = seen
        .iter()
        .filter(|(_, n)| n == "w1")
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(kinds_of_w1, ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]);
    assert!(seen.contains(&("ADDED", "w2".to_owned())), "{seen:?}");
    drop_namespace(&json_rest, &ns).await;
}

#[tokio::test]
async fn an_informer_syncs_over_a_cbor_watch_list() {
    let json_rest = admin();
    install_crd(&json_rest).await;
    let ns = test_namespace(&json_rest, "cbor-informer").await;
    let rest = cbor_client("cbor");
    let widgets = Client::<Widget>::namespaced(rest.clone(), &ns);
    for i in 0..20 {
        widgets
            .create(&widget(&format!("w{i:02}")), &CreateOptions::default())
            .await
            .unwrap();
    }
    let factory = InformerFactory::with_options(
        rest.clone(),
        Duration::ZERO,
        FactoryOptions::new().namespace(&ns),
    );
    let lister = factory.resource_informer::<Widget>().lister();
    factory.start();
    assert!(factory.wait_for_cache_sync().await);
    let cached = lister.list(&Selector::everything());
    assert_eq!(cached.len(), 20);
    assert!(cached.iter().all(|w| w.spec == full_spec()));
    assert!(rest.cbor());
    factory.shutdown().await;
    drop_namespace(&json_rest, &ns).await;
}

#[tokio::test]
async fn a_server_without_cbor_gets_json_after_its_415() {
    let json_rest = admin();
    install_crd(&json_rest).await;
    let ns = test_namespace(&json_rest, "cbor-415").await;
    // The first server has no CBOR: it answers a CBOR body with 415.
    let rest = cbor_client("admin");
    assert!(rest.cbor());
    let widgets = Client::<Widget>::namespaced(rest.clone(), &ns);
    let created = widgets
        .create(&widget("w1"), &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(created.spec, full_spec());
    assert!(!rest.cbor(), "the 415 did not turn CBOR off");
    // From then on everything is JSON, and works.
    widgets
        .create(&widget("w2"), &CreateOptions::default())
        .await
        .unwrap();
    let list = widgets.list(&ListOptions::default()).await.unwrap();
    assert_eq!(list.items.len(), 2);
    drop_namespace(&json_rest, &ns).await;
}

//! `#[derive(CustomResource)]` against the real API server: the derived CRD
//! installs (apiextensions/v1 only accepts structural schemas) and becomes
//! established, an object round-trips through `Client<Widget>` (spec, status
//! and scale subresources), the server enforces the CEL rules, the enum and
//! the default written as Rust attributes, and the kind feeds an informer, a
//! lister and server-side apply (merging a list-map by key).

mod derive_types;

use std::time::Duration;

use derive_types::{Mode, Port, Widget, WidgetStatus, full_spec};
use kubegen_api::apiextensions::v1::CustomResourceDefinition;
use kubegen_e2e::{admin, apply_crd, crd_condition, drop_namespace, eventually, test_namespace};
use kubegen_runtime::cache::InformerFactory;
use kubegen_runtime::{
    ApplyOptions, Client, CreateOptions, DynamicObject, GetOptions, ListOptions, Resource,
    RestClient, UpdateOptions,
};
use serde_json::json;

/// Apply the derived CRD and wait until the server has established it.
async fn install_crd(rest: &RestClient) -> CustomResourceDefinition {
    let crd = Widget::crd().unwrap_or_else(|e| panic!("Widget::crd(): {e}"));
    let name = crd.metadata.name.clone().expect("the CRD has a name");
    apply_crd(rest, &name, &crd, "kubegen-e2e-derive").await
}

#[tokio::test]
async fn derived_crd_is_accepted_as_structural_and_established() {
    let rest = admin();
    let crd = install_crd(&rest).await;
    assert_eq!(
        crd_condition(&crd, "NamesAccepted").as_deref(),
        Some("True")
    );
    assert_eq!(
        crd_condition(&crd, "NonStructuralSchema"),
        None,
        "the server flagged the schema as non-structural"
    );
    // What the server stored is what we derived (no field was dropped as unknown).
    let stored = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
    let derived = serde_json::to_value(&Widget::crd().unwrap().spec.versions[0].schema).unwrap();
    assert_eq!(stored, derived);
}

#[tokio::test]
async fn derived_object_round_trips_through_the_typed_client() {
    let rest = admin();
    install_crd(&rest).await;
    let ns = test_namespace(&rest, "derive").await;
    let widgets = Client::<Widget>::namespaced(rest.clone(), &ns);

    let created = widgets
        .create(&Widget::new("w1", full_spec()), &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(created.spec, full_spec());
    assert_eq!(created.metadata.namespace.as_deref(), Some(ns.as_str()));
    let got = widgets.get("w1", &GetOptions::default()).await.unwrap();
    assert_eq!(got.spec, full_spec());
    let list = widgets.list(&ListOptions::default()).await.unwrap();
    assert_eq!(
        list.items
            .iter()
            .map(|w| w.metadata.name.as_deref())
            .collect::<Vec<_>>(),
        [Some("w1")]
    );

    let mut with_status = got.clone();
    with_status.status = Some(WidgetStatus {
        replicas: 2,
        message: Some("ready".into()),
    });
    let updated = widgets
        .update_status(&with_status, &UpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(updated.status, with_status.status);
    assert_eq!(
        updated.spec,
        full_spec(),
        "a status update leaves the spec alone"
    );

    let scale = widgets.get_scale("w1").await.unwrap();
    let scale = serde_json::to_value(&scale).unwrap();
    assert_eq!(
        (
            scale["spec"]["replicas"].clone(),
            scale["status"]["replicas"].clone()
        ),
        (2.into(), 2.into())
    );

    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn server_enforces_cel_rules_and_defaults_declared_in_rust() {
    let rest = admin();
    install_crd(&rest).await;
    let ns = test_namespace(&rest, "derive-rules").await;
    let widgets = Client::<Widget>::namespaced(rest.clone(), &ns);

    // The spec-level rule from #[kubegen(validation(...))] on the spec struct.
    let mut too_many = full_spec();
    too_many.replicas = 9;
    let err = widgets
        .create(
            &Widget::new("too-many", too_many),
            &CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(
        err.to_string()
            .contains("replicas must not exceed maxReplicas"),
        "{err}"
    );

    // The field rule on a nested struct (through #[kubegen_runtime::schema]).
    let mut bad_port = full_spec();
    bad_port.ports.push(Port {
        name: "bad".into(),
        port: 70000,
        protocol: None,
    });
    let err = widgets
        .create(
            &Widget::new("bad-port", bad_port),
            &CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(err.to_string().contains("port out of range"), "{err}");

    // The enum, written untyped: a value outside it is refused by the schema.
    let resource = <Widget as Resource>::api_resource();
    let raw = Client::<DynamicObject>::new_with(rest.clone(), resource.clone(), Some(ns.clone()));
    let mut spec = serde_json::to_value(full_spec()).unwrap();
    spec["mode"] = json!("Sideways");
    let obj = DynamicObject::new("sideways", &resource).data(json!({ "spec": spec }));
    let err = raw
        .create(&obj, &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(err.to_string().contains("Sideways"), "{err}");

    // The default: `mode` left out comes back as `Fast`.
    let mut no_mode = full_spec();
    no_mode.mode = None;
    let created = widgets
        .create(
            &Widget::new("defaulted", no_mode),
            &CreateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        created.spec.mode,
        Some(Mode::Fast),
        "the server applied the schema default"
    );

    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn derived_kind_feeds_informer_lister_and_server_side_apply() {
    let rest = admin();
    install_crd(&rest).await;
    let ns = test_namespace(&rest, "derive-informer").await;
    let widgets = Client::<Widget>::namespaced(rest.clone(), &ns);

    let factory = InformerFactory::new(rest.clone(), Duration::from_secs(600));
    let lister = factory.resource_informer::<Widget>().lister();
    factory.start();
    assert!(
        factory.wait_for_cache_sync().await,
        "the Widget informer synced"
    );

    // Server-side apply with the derived type itself as the apply
    // configuration (see kubegen_runtime::crd for why no separate builders).
    let want = Widget::new("applied", full_spec());
    let applied = widgets
        .apply("applied", &want, &ApplyOptions::new("kubegen-e2e-derive"))
        .await
        .unwrap_or_else(|e| panic!("apply a derived Widget: {e}"));
    assert_eq!(applied.spec, full_spec());

    // A second manager takes one port by its list-map key; the first one's
    // ports stay (x-kubernetes-list-type: map from #[kubegen(list_type = "map")]).
    let partial = json!({
        "apiVersion": "e2e.kubegen.dev/v1", "kind": "Widget", "metadata": {"name": "applied"},
        "spec": {"replicas": 2, "maxReplicas": 5, "ports": [{"name": "admin", "port": 9000}]},
    });
    let merged = widgets
        .apply("applied", &partial, &ApplyOptions::new("other-manager"))
        .await
        .unwrap();
    let names: Vec<&str> = merged.spec.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["http", "dns", "admin"], "ports merged by key");

    let ns2 = ns.clone();
    eventually(
        Duration::from_secs(30),
        "the lister to see the applied Widget with 3 ports",
        || {
            let got = lister.namespaced(&ns2).get("applied").ok();
            async move { got.is_some_and(|w| w.spec.ports.len() == 3) }
        },
    )
    .await;

    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

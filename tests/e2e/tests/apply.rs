//! Server-side apply against the real API server, with the generated apply
//! configurations:
//!
//! - two managers applying the same field: the second gets a typed conflict
//!   naming the field and the first manager; with `force` it takes ownership;
//! - a manager that leaves a field out of its next apply makes the server
//!   remove it, while fields another manager owns stay;
//! - extract -> change one field -> apply round trips (Deployment, a Pod's
//!   containers, a Service's ports keyed by port+protocol, the Widget CRD's
//!   ports, and a shared CRD read at test time) change exactly that field:
//!   the whole object is compared before and after, ignoring only
//!   resourceVersion, generation and managedFields timestamps;
//! - `apply_status` on a CRD with a status subresource, and
//!   `extract_<kind>_status`.
//! - an explicit `null` applied to a `nullable` field is stored, owned, read
//!   back as `Nullable::Null`, extracted, and applied again without a change.
//!
//! Needs `make cluster-up`; fails (never skips) without it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kubegen_api::apps::v1 as apps;
use kubegen_api::core::v1 as core;
use kubegen_crd_loop::e2e::v1 as widgets;
use kubegen_e2e::{admin, apply_crd, drop_namespace, eventually, test_namespace, unique};
use kubegen_runtime::apply::ObjectMetaApplyConfiguration;
use kubegen_runtime::managed_fields::owned_fields;
use kubegen_runtime::meta::IntOrString;
use kubegen_runtime::{
    ApiResource, ApplyOptions, Client, DynamicObject, GetOptions, Object, RestClient, Scope,
};
use serde::Serialize;
use serde_json::{Value, json};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The object as JSON with what may legitimately change on a write removed:
/// resourceVersion, generation and the timestamps of managedFields entries.
fn comparable<T: Serialize>(object: &T) -> Value {
    let mut v = serde_json::to_value(object).expect("objects serialize");
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("generation");
        if let Some(entries) = meta.get_mut("managedFields").and_then(Value::as_array_mut) {
            for e in entries.iter_mut() {
                if let Some(e) = e.as_object_mut() {
                    e.remove("time");
                }
            }
            // The server orders entries by operation, then time to the
            // second, then manager: a write that moves one entry's time can
            // move the entry.
            entries.sort_by_key(|e| {
                (
                    e["manager"].to_string(),
                    e["operation"].to_string(),
                    e["subresource"].to_string(),
                )
            });
        }
    }
    v
}

/// Assert `after` is `before` with exactly the change `edit` makes to its JSON.
fn assert_only_change<T: Serialize>(
    before: &T,
    after: &T,
    what: &str,
    edit: impl FnOnce(&mut Value),
) {
    let mut want = comparable(before);
    edit(&mut want);
    let got = comparable(after);
    assert!(
        want == got,
        "{what}: the round trip changed more than the one field\nwant: {}\n got: {}",
        serde_json::to_string_pretty(&want).unwrap_or_default(),
        serde_json::to_string_pretty(&got).unwrap_or_default()
    );
}

fn set(v: &mut Value, pointer: &str, new: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is missing from the object")) = new;
}

/// The managedFields of `object` for `manager` (main resource), as field paths.
fn owned<K: Object>(object: &K, manager: &str) -> String {
    let managed = object.metadata().managed_fields.clone().unwrap_or_default();
    owned_fields(&managed, manager, "")
        .unwrap_or_else(|e| panic!("managedFields of {manager}: {e}"))
        .to_string()
}

fn deployment_config(name: &str, ns: &str, replicas: i32) -> apps::DeploymentApplyConfiguration {
    apps::DeploymentApplyConfiguration::new(name, ns).with_spec(
        apps::DeploymentSpecApplyConfiguration::new()
            .with_replicas(replicas)
            .with_selector(
                kubegen_api::meta::v1::LabelSelectorApplyConfiguration::new()
                    .with_match_labels([("app", name)]),
            )
            .with_template(
                core::PodTemplateSpecApplyConfiguration::new()
                    .with_metadata(ObjectMetaApplyConfiguration::new().with_labels([("app", name)]))
                    .with_spec(
                        core::PodSpecApplyConfiguration::new().with_containers([
                            core::ContainerApplyConfiguration::new()
                                .with_name("app")
                                .with_image("registry.invalid/app:1"),
                        ]),
                    ),
            ),
    )
}

#[tokio::test]
async fn second_manager_gets_a_typed_conflict_and_force_takes_ownership() {
    let rest = admin();
    let ns = test_namespace(&rest, "apply-conflict").await;
    let deployments = Client::<apps::Deployment>::namespaced(rest.clone(), &ns);

    deployments
        .apply(
            "web",
            &deployment_config("web", &ns, 1),
            &ApplyOptions::new("first"),
        )
        .await
        .unwrap_or_else(|e| panic!("first apply: {e}"));

    // "second" wants a different replica count: a field "first" owns.
    let scale = apps::DeploymentApplyConfiguration::new("web", &ns)
        .with_spec(apps::DeploymentSpecApplyConfiguration::new().with_replicas(3));
    let err = deployments
        .apply("web", &scale, &ApplyOptions::new("second"))
        .await
        .expect_err("applying a field another manager owns must conflict");
    assert!(err.is_conflict(), "want a 409 Conflict, got {err}");
    let conflicts = err.apply_conflicts();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].field, ".spec.replicas");
    assert_eq!(conflicts[0].manager, "first");
    let unchanged = deployments
        .get("web", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(unchanged.spec.replicas, Some(1));

    // With force, "second" takes the field; "first" keeps everything else.
    let forced = deployments
        .apply("web", &scale, &ApplyOptions::new("second").force(true))
        .await
        .unwrap_or_else(|e| panic!("forced apply: {e}"));
    assert_eq!(forced.spec.replicas, Some(3));
    assert_eq!(owned(&forced, "second"), ".spec.replicas");
    let first = owned(&forced, "first");
    assert!(
        !first.contains(".spec.replicas"),
        "first still owns replicas: {first}"
    );
    assert!(
        first.contains(".spec.selector"),
        "first lost its other fields: {first}"
    );

    // Now "first" is the one that conflicts.
    let err = deployments
        .apply(
            "web",
            &deployment_config("web", &ns, 1),
            &ApplyOptions::new("first"),
        )
        .await
        .expect_err("first no longer owns replicas");
    let conflicts = err.apply_conflicts();
    assert_eq!(
        conflicts
            .iter()
            .map(|c| (c.field.as_str(), c.manager.as_str()))
            .collect::<Vec<_>>(),
        [(".spec.replicas", "second")]
    );
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn a_field_left_out_of_the_next_apply_is_removed_unless_another_manager_owns_it() {
    let rest = admin();
    let ns = test_namespace(&rest, "apply-remove").await;
    let cms = Client::<core::ConfigMap>::namespaced(rest.clone(), &ns);
    let a = ApplyOptions::new("manager-a");
    let b = ApplyOptions::new("manager-b");

    let cm = |data: &[(&str, &str)]| {
        core::ConfigMapApplyConfiguration::new("settings", &ns).with_data(data.iter().copied())
    };
    cms.apply(
        "settings",
        &cm(&[("keep", "1"), ("drop", "2"), ("shared", "s")]).with_labels([("by-a", "yes")]),
        &a,
    )
    .await
    .unwrap_or_else(|e| panic!("apply as a: {e}"));
    // b sets its own key, and the same value for "shared": co-ownership, no conflict.
    cms.apply("settings", &cm(&[("mine", "b"), ("shared", "s")]), &b)
        .await
        .unwrap_or_else(|e| panic!("apply as b: {e}"));

    // a's next apply says only "keep": "drop" and a's label go, b's keys stay.
    let after = cms
        .apply("settings", &cm(&[("keep", "1")]), &a)
        .await
        .unwrap_or_else(|e| panic!("second apply as a: {e}"));
    let data = after.data.clone().unwrap_or_default();
    let keys: Vec<&str> = data.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        ["keep", "mine", "shared"],
        "data after a dropped fields: {data:?}"
    );
    assert_eq!(after.metadata.labels, None, "a's label was not removed");
    assert_eq!(owned(&after, "manager-a"), ".data.keep");
    assert_eq!(owned(&after, "manager-b"), ".data.mine, .data.shared");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn deployment_extract_change_replicas_apply_changes_nothing_else() {
    let rest = admin();
    let ns = test_namespace(&rest, "apply-rt-deploy").await;
    let deployments = Client::<apps::Deployment>::namespaced(rest.clone(), &ns);
    let applied = deployment_config("web", &ns, 1).with_labels([("team", "a")]);
    deployments
        .apply("web", &applied, &ApplyOptions::new("deployer"))
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    // Another manager's field must survive the round trip untouched.
    deployments
        .apply(
            "web",
            &apps::DeploymentApplyConfiguration::new("web", &ns)
                .with_annotations([("note", "other")]),
            &ApplyOptions::new("annotator"),
        )
        .await
        .unwrap();
    // Let the deployment controller finish its own writes (status, revision).
    eventually(
        Duration::from_secs(30),
        "the deployment controller to observe web",
        || {
            let deployments = deployments.clone();
            async move {
                let d = deployments.get("web", &GetOptions::default()).await.ok();
                d.is_some_and(|d| {
                    d.status.as_ref().and_then(|s| s.observed_generation) == d.metadata.generation
                })
            }
        },
    )
    .await;
    let before = deployments
        .get("web", &GetOptions::default())
        .await
        .unwrap();

    let extracted = apps::extract_deployment(&before, "deployer")
        .unwrap_or_else(|e| panic!("extract_deployment: {e}"));
    assert_eq!(
        extracted, applied,
        "extract must give back exactly what deployer applied"
    );
    let mut changed = extracted;
    changed.spec.as_mut().expect("extracted spec").replicas = Some(2);
    let after = deployments
        .apply("web", &changed, &ApplyOptions::new("deployer"))
        .await
        .unwrap_or_else(|e| panic!("apply the changed extract: {e}"));
    assert_only_change(&before, &after, "Deployment", |v| {
        set(v, "/spec/replicas", json!(2))
    });
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn pod_containers_round_trip_by_name_changes_one_image() {
    let rest = admin();
    let ns = test_namespace(&rest, "apply-rt-pod").await;
    let pods = Client::<core::Pod>::namespaced(rest.clone(), &ns);
    let container = |name: &str, image: &str| {
        core::ContainerApplyConfiguration::new()
            .with_name(name)
            .with_image(image)
            .with_args(["--name", name])
    };
    let applied = core::PodApplyConfiguration::new("p", &ns).with_spec(
        core::PodSpecApplyConfiguration::new()
            .with_containers([container("web", "registry.invalid/web:1")])
            .with_containers([container("log", "registry.invalid/log:1")]),
    );
    pods.apply("p", &applied, &ApplyOptions::new("pod-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply pod: {e}"));
    let before = pods.get("p", &GetOptions::default()).await.unwrap();

    let extracted =
        core::extract_pod(&before, "pod-owner").unwrap_or_else(|e| panic!("extract_pod: {e}"));
    assert_eq!(extracted, applied);
    // Change the second container's image, found by its key.
    let mut changed = extracted;
    let containers = changed
        .spec
        .as_mut()
        .and_then(|s| s.containers.as_mut())
        .expect("extracted containers");
    let log = containers
        .iter_mut()
        .find(|c| c.name.as_deref() == Some("log"))
        .expect("the log container was extracted");
    log.image = Some("registry.invalid/log:2".into());
    let after = pods
        .apply("p", &changed, &ApplyOptions::new("pod-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply the changed extract: {e}"));
    assert_only_change(&before, &after, "Pod", |v| {
        set(
            v,
            "/spec/containers/1/image",
            json!("registry.invalid/log:2"),
        )
    });
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn service_ports_round_trip_by_port_and_protocol() {
    let rest = admin();
    let ns = test_namespace(&rest, "apply-rt-svc").await;
    let services = Client::<core::Service>::namespaced(rest.clone(), &ns);
    let port = |name: &str, port: i32, protocol: &str, target: IntOrString| {
        core::ServicePortApplyConfiguration::new()
            .with_name(name)
            .with_port(port)
            .with_protocol(protocol)
            .with_target_port(target)
    };
    // Port 53 twice: only port+protocol together tell the entries apart.
    let applied = core::ServiceApplyConfiguration::new("dns", &ns).with_spec(
        core::ServiceSpecApplyConfiguration::new()
            .with_selector([("app", "dns")])
            .with_ports([
                port("dns-udp", 53, "UDP", IntOrString::Int(5353)),
                port("dns-tcp", 53, "TCP", IntOrString::Int(5353)),
            ])
            .with_ports([port("http", 80, "TCP", IntOrString::String("web".into()))]),
    );
    services
        .apply("dns", &applied, &ApplyOptions::new("svc-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply service: {e}"));
    let before = services.get("dns", &GetOptions::default()).await.unwrap();
    let fields = owned(&before, "svc-owner");
    assert!(
        fields.contains(r#".spec.ports[port=53,protocol="TCP"]"#)
            && fields.contains(r#".spec.ports[port=53,protocol="UDP"]"#),
        "ports are keyed by port+protocol: {fields}"
    );

    let extracted = core::extract_service(&before, "svc-owner")
        .unwrap_or_else(|e| panic!("extract_service: {e}"));
    assert_eq!(extracted, applied);
    let mut changed = extracted;
    let ports = changed
        .spec
        .as_mut()
        .and_then(|s| s.ports.as_mut())
        .expect("extracted ports");
    let tcp = ports
        .iter_mut()
        .find(|p| p.port == Some(53) && p.protocol.as_deref() == Some("TCP"))
        .expect("53/TCP was extracted");
    tcp.target_port = Some(IntOrString::Int(5354));
    let after = services
        .apply("dns", &changed, &ApplyOptions::new("svc-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply the changed extract: {e}"));
    let index = before
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|p| {
            p.iter()
                .position(|p| p.port == 53 && p.protocol.as_deref() == Some("TCP"))
        })
        .expect("53/TCP in the service");
    assert_only_change(&before, &after, "Service", |v| {
        set(v, &format!("/spec/ports/{index}/targetPort"), json!(5354))
    });
    drop_namespace(&rest, &ns).await;
}

/// Read a CRD manifest at test time and install it (idempotently, by apply),
/// waiting until it is Established.
async fn install_crd(rest: &RestClient, path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read CRD {}: {e}", path.display()));
    let crd: Value = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("parse CRD {}: {e}", path.display()));
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} has no metadata.name", path.display()))
        .to_owned();
    apply_crd(rest, &name, &crd, "kubegen-e2e-apply").await;
    name
}

/// Create or read a Widget the way a fresh client would, retrying while a new
/// CRD's endpoint is still coming up.
async fn apply_until_served<K: Object + kubegen_runtime::verbs::Patch, B: Serialize>(
    client: &Client<K>,
    name: &str,
    config: &B,
    opts: &ApplyOptions,
) -> K {
    let mut last = None;
    for _ in 0..40 {
        match client.apply(name, config, opts).await {
            Ok(k) => return k,
            Err(e) if e.is_not_found() => last = Some(e),
            Err(e) => panic!("apply {name}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("apply {name}: the new CRD is not served: {last:?}");
}

fn widget_port(name: &str, port: i32) -> widgets::WidgetSpecPortsApplyConfiguration {
    widgets::WidgetSpecPortsApplyConfiguration::new()
        .with_name(name)
        .with_port(port)
}

#[tokio::test]
async fn widget_ports_list_map_round_trip_and_apply_status() {
    let rest = admin();
    install_crd(
        &rest,
        &workspace_root().join("tests/crd-loop/widget-crd.yaml"),
    )
    .await;
    let ns = test_namespace(&rest, "apply-widget").await;
    let widgets_client = Client::<widgets::Widget>::namespaced(rest.clone(), &ns);
    let name = unique("w");
    let applied = widgets::WidgetApplyConfiguration::new(&name, &ns).with_spec(
        widgets::WidgetSpecApplyConfiguration::new()
            .with_replicas(1)
            .with_max_replicas(3)
            .with_ports([
                widget_port("http", 80),
                widget_port("dns", 53).with_protocol("UDP"),
            ])
            .with_target(IntOrString::String("http".into()))
            .with_extra(json!({"free": {"form": [1, 2]}}))
            .with_template(
                widgets::WidgetSpecTemplateApplyConfiguration::new()
                    .with_api_version("v1")
                    .with_kind("ConfigMap")
                    .with_metadata(json!({"name": "stamped"}))
                    .with_data([("k", "v")]),
            ),
    );
    apply_until_served(
        &widgets_client,
        &name,
        &applied,
        &ApplyOptions::new("widget-owner"),
    )
    .await;
    // A second manager adds its own port to the same list-map.
    let theirs = widgets::WidgetApplyConfiguration::new(&name, &ns).with_spec(
        widgets::WidgetSpecApplyConfiguration::new().with_ports([widget_port("metrics", 9090)]),
    );
    widgets_client
        .apply(&name, &theirs, &ApplyOptions::new("metrics-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply as metrics-owner: {e}"));
    let before = widgets_client
        .get(&name, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        before.spec.mode.as_deref(),
        Some("Fast"),
        "the CRD default applies"
    );

    let extracted = widgets::extract_widget(&before, "widget-owner")
        .unwrap_or_else(|e| panic!("extract_widget: {e}"));
    assert_eq!(
        extracted, applied,
        "extract gives back what widget-owner applied, not metrics"
    );
    let mut changed = extracted;
    let ports = changed
        .spec
        .as_mut()
        .and_then(|s| s.ports.as_mut())
        .expect("ports");
    let dns = ports
        .iter_mut()
        .find(|p| p.name.as_deref() == Some("dns"))
        .expect("dns port");
    dns.port = Some(5353);
    let after = widgets_client
        .apply(&name, &changed, &ApplyOptions::new("widget-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply the changed extract: {e}"));
    let index = before
        .spec
        .ports
        .as_ref()
        .and_then(|p| p.iter().position(|p| p.name == "dns"))
        .expect("dns in the widget");
    assert_only_change(&before, &after, "Widget", |v| {
        set(v, &format!("/spec/ports/{index}/port"), json!(5353))
    });
    assert!(
        after
            .spec
            .ports
            .iter()
            .flatten()
            .any(|p| p.name == "metrics"),
        "the other manager's port is kept"
    );

    // Status through its subresource, by its own manager.
    let status = widgets::WidgetApplyConfiguration::new(&name, &ns).with_status(
        widgets::WidgetStatusApplyConfiguration::new()
            .with_replicas(1)
            .with_message("ready"),
    );
    let with_status = widgets_client
        .apply_status(&name, &status, &ApplyOptions::new("status-writer"))
        .await
        .unwrap_or_else(|e| panic!("apply_status: {e}"));
    let got = with_status.status.as_ref().expect("status was applied");
    assert_eq!((got.replicas, got.message.as_deref()), (1, Some("ready")));
    assert_eq!(
        with_status.spec, after.spec,
        "apply_status touched the spec"
    );
    let extracted_status = widgets::extract_widget_status(&with_status, "status-writer")
        .unwrap_or_else(|e| panic!("extract_widget_status: {e}"));
    assert_eq!(extracted_status, status);
    // Ownership is per subresource: the status writer owns nothing in the
    // main resource, and the spec owner nothing in status.
    assert_eq!(
        widgets::extract_widget(&with_status, "status-writer").unwrap(),
        widgets::WidgetApplyConfiguration::new(&name, &ns)
    );
    assert_eq!(
        widgets::extract_widget_status(&with_status, "widget-owner").unwrap(),
        widgets::WidgetApplyConfiguration::new(&name, &ns)
    );
    // Status applied to the main resource is ignored by the server.
    let ignored = widgets_client
        .apply(
            &name,
            &widgets::WidgetApplyConfiguration::new(&name, &ns).with_status(
                widgets::WidgetStatusApplyConfiguration::new().with_message("from main"),
            ),
            &ApplyOptions::new("sneaky"),
        )
        .await
        .unwrap();
    assert_eq!(
        ignored
            .status
            .and_then(|s| s.message.into_value())
            .as_deref(),
        Some("ready")
    );
    drop_namespace(&rest, &ns).await;
}

/// A CRD from the shared corpus (Gateway API's Gateway: `listeners` is a
/// list-map keyed by name), read at test time. There is no generated crate
/// for it, so this drives the runtime's JSON-level extract with a
/// `DynamicObject` — the same code the generated `extract_*` functions call.
#[tokio::test]
async fn shared_crd_gateway_listeners_round_trip_by_name() {
    let rest = admin();
    let manifest = Path::new("/work/shared/crds/gateway-api/standard")
        .join("gateway.networking.k8s.io_gateways.yaml");
    assert!(
        manifest.exists(),
        "the shared CRD corpus is missing: no {}",
        manifest.display()
    );
    install_crd(&rest, &manifest).await;
    let ns = test_namespace(&rest, "apply-gateway").await;
    let resource = ApiResource {
        group: "gateway.networking.k8s.io".into(),
        version: "v1".into(),
        kind: "Gateway".into(),
        plural: "gateways".into(),
        scope: Scope::Namespaced,
    };
    let gateways = Client::<DynamicObject>::new_with(rest.clone(), resource, Some(ns.clone()));
    let listener = |name: &str, port: i64| json!({"name": name, "port": port, "protocol": "HTTP"});
    let applied = json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": ns},
        "spec": {"gatewayClassName": "example",
                 "listeners": [listener("http", 80), listener("alt", 8080)]}
    });
    apply_until_served(&gateways, "gw", &applied, &ApplyOptions::new("gw-owner")).await;
    let other = json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": ns},
        "spec": {"listeners": [listener("admin", 9000)]}
    });
    gateways
        .apply("gw", &other, &ApplyOptions::new("admin-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply as admin-owner: {e}"));
    let before = gateways.get("gw", &GetOptions::default()).await.unwrap();

    let before_json = serde_json::to_value(&before).unwrap();
    let mut extracted = kubegen_runtime::managed_fields::extract(&before_json, "gw-owner", "")
        .unwrap_or_else(|e| panic!("extract: {e}"));
    assert_eq!(
        extracted, applied,
        "extract gives back what gw-owner applied"
    );
    let listeners = extracted
        .pointer_mut("/spec/listeners")
        .and_then(Value::as_array_mut)
        .expect("listeners");
    let alt = listeners
        .iter_mut()
        .find(|l| l["name"] == "alt")
        .expect("alt listener");
    alt["port"] = json!(8081);
    let after = gateways
        .apply("gw", &extracted, &ApplyOptions::new("gw-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply the changed extract: {e}"));
    let index = before_json["spec"]["listeners"]
        .as_array()
        .and_then(|ls| ls.iter().position(|l| l["name"] == "alt"))
        .expect("alt in the gateway");
    assert_only_change(&before, &after, "Gateway", |v| {
        set(v, &format!("/spec/listeners/{index}/port"), json!(8081))
    });
    drop_namespace(&rest, &ns).await;
}

/// A `nullable` field applied as an explicit `null`: the server stores the
/// null, owned by the manager; the typed object reads it as `Null`, extract
/// gives it back, and applying the extract again changes nothing.
#[tokio::test]
async fn an_applied_null_is_kept_read_and_extracted() {
    let rest = admin();
    install_crd(
        &rest,
        &workspace_root().join("tests/crd-loop/widget-crd.yaml"),
    )
    .await;
    let ns = test_namespace(&rest, "apply-null").await;
    let widgets_client = Client::<widgets::Widget>::namespaced(rest.clone(), &ns);
    let name = unique("w");
    let applied = widgets::WidgetApplyConfiguration::new(&name, &ns).with_spec(
        widgets::WidgetSpecApplyConfiguration::new()
            .with_replicas(1)
            .with_max_replicas(3)
            .with_target_null(),
    );
    assert_eq!(
        serde_json::to_value(&applied).unwrap()["spec"]["target"],
        Value::Null
    );
    let before = apply_until_served(
        &widgets_client,
        &name,
        &applied,
        &ApplyOptions::new("null-owner"),
    )
    .await;
    assert!(before.spec.target.is_null(), "{:?}", before.spec.target);
    assert!(
        owned(&before, "null-owner").contains(".spec.target"),
        "{}",
        owned(&before, "null-owner")
    );
    let extracted = widgets::extract_widget(&before, "null-owner")
        .unwrap_or_else(|e| panic!("extract_widget: {e}"));
    assert_eq!(extracted, applied, "extract keeps the null");
    let again = widgets_client
        .apply(&name, &extracted, &ApplyOptions::new("null-owner"))
        .await
        .unwrap_or_else(|e| panic!("apply the extract: {e}"));
    assert_eq!(
        again.metadata.resource_version, before.metadata.resource_version,
        "applying the extract changed the object"
    );
    drop_namespace(&rest, &ns).await;
}

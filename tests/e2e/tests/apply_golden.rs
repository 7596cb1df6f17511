//! Golden tests of the generated server-side apply configurations: for each
//! schema shape, the JSON a chain of builders produces is exactly the body a
//! server-side apply must send. No cluster is needed.
//!
//! Shapes: associative list (`x-kubernetes-list-type: map`), set list, atomic
//! list, granular map, atomic map, embedded resource, int-or-string and
//! preserve-unknown-fields; plus the invariants every configuration keeps
//! (unset fields absent, never `null`; `new()` carries the identity) and the
//! extract direction (managedFields -> configuration).

use kubegen_api::apps::v1 as apps;
use kubegen_api::core::v1 as core;
use kubegen_crd_loop::e2e::v1 as widgets;
use kubegen_runtime::meta::IntOrString;
use serde::Serialize;
use serde_json::{Value, json};

/// The SSA body a configuration serializes to.
fn body<T: Serialize>(config: &T) -> Value {
    let value = serde_json::to_value(config).expect("an apply configuration serializes");
    assert_no_nulls(&value, "$");
    value
}

/// An apply configuration never sends `null`: it would clear the field.
fn assert_no_nulls(value: &Value, at: &str) {
    match value {
        Value::Null => panic!("{at} is null in an apply configuration"),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| assert_no_nulls(v, &format!("{at}.{k}"))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(n, v)| assert_no_nulls(v, &format!("{at}[{n}]"))),
        _ => {}
    }
}

fn container(name: &str, image: &str) -> core::ContainerApplyConfiguration {
    core::ContainerApplyConfiguration::new()
        .with_name(name)
        .with_image(image)
}

#[test]
fn new_sets_api_version_kind_name_and_namespace_and_nothing_else() {
    assert_eq!(
        body(&core::PodApplyConfiguration::new("web", "prod")),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "prod"}})
    );
    assert_eq!(
        body(&apps::DeploymentApplyConfiguration::new("web", "prod")),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "prod"}})
    );
    // Cluster-scoped kinds take no namespace.
    assert_eq!(
        body(&core::NodeApplyConfiguration::new("node-1")),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    );
    assert_eq!(
        body(&widgets::WidgetApplyConfiguration::new("w", "ns")),
        json!({"apiVersion": "e2e.kubegen.dev/v1", "kind": "Widget",
               "metadata": {"name": "w", "namespace": "ns"}})
    );
}

#[test]
fn unset_fields_are_absent_never_null_or_default() {
    // A configuration with nothing set is an empty object at every level.
    assert_eq!(body(&core::ContainerApplyConfiguration::new()), json!({}));
    assert_eq!(
        body(&apps::DeploymentSpecApplyConfiguration::new()),
        json!({})
    );
    // Setting a zero value sends it: "unset" and "zero" differ.
    assert_eq!(
        body(
            &apps::DeploymentSpecApplyConfiguration::new()
                .with_replicas(0)
                .with_paused(false)
        ),
        json!({"replicas": 0, "paused": false})
    );
    // Required fields of the type (WidgetSpec.replicas, maxReplicas) are
    // optional in its configuration.
    assert_eq!(
        body(&widgets::WidgetSpecApplyConfiguration::new().with_mode("Slow")),
        json!({"mode": "Slow"})
    );
}

#[test]
fn map_list_containers_append_across_calls() {
    let pod = core::PodApplyConfiguration::new("web", "prod").with_spec(
        core::PodSpecApplyConfiguration::new()
            .with_containers([container("app", "app:1")])
            .with_containers([container("sidecar", "proxy:2").with_ports([
                core::ContainerPortApplyConfiguration::new()
                    .with_container_port(8080)
                    .with_protocol("TCP"),
            ])]),
    );
    assert_eq!(
        body(&pod),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"containers": [
                {"name": "app", "image": "app:1"},
                {"name": "sidecar", "image": "proxy:2",
                 "ports": [{"containerPort": 8080, "protocol": "TCP"}]}
            ]}
        })
    );
}

#[test]
fn crd_map_list_appends_like_built_ins() {
    let spec = widgets::WidgetSpecApplyConfiguration::new()
        .with_ports([widgets::WidgetSpecPortsApplyConfiguration::new()
            .with_name("http")
            .with_port(80)])
        .with_ports([widgets::WidgetSpecPortsApplyConfiguration::new()
            .with_name("dns")
            .with_port(53)
            .with_protocol("UDP")]);
    assert_eq!(
        body(&spec),
        json!({"ports": [
            {"name": "http", "port": 80},
            {"name": "dns", "port": 53, "protocol": "UDP"}
        ]})
    );
}

#[test]
fn set_list_node_pod_cidrs_append_across_calls() {
    let node = core::NodeApplyConfiguration::new("node-1").with_spec(
        core::NodeSpecApplyConfiguration::new()
            .with_pod_cidrs(["10.0.1.0/24"])
            .with_pod_cidrs(["fd00:1::/64"]),
    );
    assert_eq!(
        body(&node),
        json!({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
            "spec": {"podCIDRs": ["10.0.1.0/24", "fd00:1::/64"]}
        })
    );
}

#[test]
fn atomic_list_container_args_are_replaced_by_a_later_call() {
    let c = container("app", "app:1")
        .with_args(["--verbose", "--port=1"])
        .with_args(["--port=2"]);
    assert_eq!(
        body(&c),
        json!({"name": "app", "image": "app:1", "args": ["--port=2"]})
    );
    // An explicitly empty atomic list is sent: it claims "no args".
    assert_eq!(
        body(&container("app", "app:1").with_args(Vec::<String>::new())),
        json!({"name": "app", "image": "app:1", "args": []})
    );
}

#[test]
fn granular_map_config_map_data_merges_per_key() {
    let cm = core::ConfigMapApplyConfiguration::new("settings", "prod")
        .with_data([("a", "1"), ("b", "1")])
        .with_data([("b", "2"), ("c", "3")])
        .with_labels([("app", "web")])
        .with_labels([("tier", "front")]);
    assert_eq!(
        body(&cm),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "prod",
                         "labels": {"app": "web", "tier": "front"}},
            "data": {"a": "1", "b": "2", "c": "3"}
        })
    );
}

#[test]
fn atomic_map_pod_node_selector_is_replaced_by_a_later_call() {
    let spec = core::PodSpecApplyConfiguration::new()
        .with_node_selector([("disk", "ssd"), ("zone", "a")])
        .with_node_selector([("zone", "b")]);
    assert_eq!(body(&spec), json!({"nodeSelector": {"zone": "b"}}));
}

#[test]
fn embedded_resource_is_a_nested_configuration_with_its_own_identity() {
    let spec = widgets::WidgetSpecApplyConfiguration::new().with_template(
        widgets::WidgetSpecTemplateApplyConfiguration::new()
            .with_api_version("v1")
            .with_kind("ConfigMap")
            .with_metadata(json!({"name": "stamped", "labels": {"from": "widget"}}))
            .with_data([("key", "value")])
            .with_data([("other", "x")]),
    );
    assert_eq!(
        body(&spec),
        json!({"template": {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "stamped", "labels": {"from": "widget"}},
            "data": {"key": "value", "other": "x"}
        }})
    );
}

#[test]
fn int_or_string_service_target_port_sends_the_variant_given() {
    let spec = core::ServiceSpecApplyConfiguration::new().with_ports([
        core::ServicePortApplyConfiguration::new()
            .with_port(80)
            .with_protocol("TCP")
            .with_target_port(IntOrString::Int(8080)),
        core::ServicePortApplyConfiguration::new()
            .with_port(443)
            .with_protocol("TCP")
            .with_target_port(IntOrString::String("https".into())),
    ]);
    assert_eq!(
        body(&spec),
        json!({"ports": [
            {"port": 80, "protocol": "TCP", "targetPort": 8080},
            {"port": 443, "protocol": "TCP", "targetPort": "https"}
        ]})
    );
    // The CRD side: Widget.spec.target is x-kubernetes-int-or-string.
    assert_eq!(
        body(&widgets::WidgetSpecApplyConfiguration::new().with_target(IntOrString::Int(9))),
        json!({"target": 9})
    );
}

#[test]
fn preserve_unknown_fields_widget_extra_is_sent_verbatim() {
    let extra = json!({"anything": [1, "two", {"three": true}], "nested": {"deep": {"x": 1.5}}});
    let spec = widgets::WidgetSpecApplyConfiguration::new().with_extra(extra.clone());
    assert_eq!(body(&spec), json!({ "extra": extra }));
}

#[test]
fn extract_builds_the_configuration_a_manager_owns() {
    // A Deployment as the server returns it: two managers, server-set fields.
    let deployment: apps::Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "prod", "uid": "u-1", "resourceVersion": "7",
            "labels": {"app": "web", "team": "ops"},
            "managedFields": [
                {"manager": "me", "operation": "Apply", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:replicas": {}, "f:selector": {},
                        "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
                                ".": {}, "f:name": {}, "f:image": {}, "f:args": {}}}}}}}},
                {"manager": "ops", "operation": "Apply", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:team": {}}},
                    "f:spec": {"f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"log\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}}}
            ]
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "app", "image": "app:1", "args": ["-v"],
                     "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log"},
                    {"name": "log", "image": "log:1"}
                ], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}
            }
        },
        "status": {"replicas": 2}
    }))
    .expect("the test deployment decodes");
    let mine = apps::extract_deployment(&deployment, "me").unwrap();
    let want = apps::DeploymentApplyConfiguration::new("web", "prod")
        .with_labels([("app", "web")])
        .with_spec(
            apps::DeploymentSpecApplyConfiguration::new()
                .with_replicas(2)
                .with_selector(
                    kubegen_api::meta::v1::LabelSelectorApplyConfiguration::new()
                        .with_match_labels([("app", "web")]),
                )
                .with_template(
                    core::PodTemplateSpecApplyConfiguration::new()
                        .with_metadata(
                            kubegen_runtime::apply::ObjectMetaApplyConfiguration::new()
                                .with_labels([("app", "web")]),
                        )
                        .with_spec(
                            core::PodSpecApplyConfiguration::new()
                                .with_containers([container("app", "app:1").with_args(["-v"])]),
                        ),
                ),
        );
    assert_eq!(body(&mine), body(&want));
    assert_eq!(mine, want);
    // The status subresource was never applied by "me".
    let status = apps::extract_deployment_status(&deployment, "me").unwrap();
    assert_eq!(
        body(&status),
        body(&apps::DeploymentApplyConfiguration::new("web", "prod"))
    );
}

//! What `#[derive(CustomResource)]` generates for a kind that uses every kind
//! of field the structural-schema transform handles: the kind's traits, the
//! CRD's names and subresources, and the schema node of each field.

use std::collections::BTreeMap;

use kubegen_runtime::crd::{CrdError, SchemaErrorKind};
use kubegen_runtime::meta::IntOrString;
use kubegen_runtime::{CustomResource, Object, Resource, Scope};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn one() -> i32 {
    1
}

/// A Foo runs `replicas` copies of a deployment.
#[kubegen_runtime::schema]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kubegen(
    group = "samplecontroller.k8s.io",
    version = "v1alpha1",
    kind = "Foo",
    namespaced
)]
#[kubegen(
    status = "FooStatus",
    shortname = "fo",
    category = "all",
    derive = "PartialEq"
)]
#[kubegen(printcolumn(
    name = "Replicas",
    type = "integer",
    json_path = ".spec.replicas",
    priority = 1
))]
#[kubegen(selectable_field = ".spec.deploymentName")]
#[kubegen(scale(
    spec_replicas_path = ".spec.replicas",
    status_replicas_path = ".status.availableReplicas"
))]
#[kubegen(validation(rule = "self.replicas <= 10", message = "at most 10 replicas"))]
#[serde(rename_all = "camelCase")]
pub struct FooSpec {
    /// The deployment to manage.
    pub deployment_name: String,
    /// How many copies.
    #[serde(default = "one")]
    pub replicas: i32,
    #[kubegen(list_type = "map", list_map_keys = ["name"])]
    #[serde(default)]
    pub ports: Vec<Port>,
    pub target: Option<IntOrString>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[kubegen(default = "Fast")]
    #[serde(default)]
    pub mode: Mode,
    pub extra: Option<serde_json::Value>,
    pub probe: Option<Probe>,
}

#[kubegen_runtime::schema]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kubegen(validation(rule = "self.port > 0"))]
pub struct Port {
    pub name: String,
    #[kubegen(validation = "self < 65536")]
    pub port: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum Mode {
    /// Quickly.
    #[default]
    Fast,
    /// Carefully.
    Slow,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Probe {
    Http { path: String, port: u16 },
    Exec { command: Vec<String> },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FooStatus {
    pub available_replicas: i32,
}

fn crd() -> Value {
    Foo::crd_json().unwrap_or_else(|e| panic!("{e}"))
}

fn spec_schema() -> Value {
    crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
}

#[test]
fn kind_carries_resource_facts_and_verbs() {
    assert_eq!(Foo::API_VERSION, "samplecontroller.k8s.io/v1alpha1");
    assert_eq!(Foo::PLURAL, "foos");
    assert_eq!(Foo::SCOPE, Scope::Namespaced);
    fn verbs<
        K: kubegen_runtime::verbs::Get
            + kubegen_runtime::verbs::Status
            + kubegen_runtime::verbs::Scale,
    >() {
    }
    verbs::<Foo>();
    let foo = Foo::new(
        "a",
        FooSpec {
            deployment_name: "d".into(),
            replicas: 2,
            ports: vec![],
            target: None,
            labels: BTreeMap::new(),
            mode: Mode::Slow,
            extra: None,
            probe: None,
        },
    );
    assert_eq!(foo.metadata().name.as_deref(), Some("a"));
    let json = serde_json::to_value(&foo).unwrap();
    assert_eq!(json["apiVersion"], "samplecontroller.k8s.io/v1alpha1");
    assert_eq!(json["kind"], "Foo");
    assert!(
        json.get("status").is_none(),
        "an absent status is not sent: {json}"
    );
    let back: Foo = serde_json::from_value(json).unwrap();
    assert_eq!(back, foo);
}

#[test]
fn crd_names_subresources_columns() {
    let crd = Foo::crd().unwrap();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("foos.samplecontroller.k8s.io")
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.short_names, Some(vec!["fo".into()]));
    assert_eq!(crd.spec.names.categories, Some(vec!["all".into()]));
    let v = &crd.spec.versions[0];
    assert!(v.served && v.storage);
    let sub = v.subresources.as_ref().unwrap();
    assert!(sub.status.is_some());
    assert_eq!(
        sub.scale.as_ref().unwrap().status_replicas_path,
        ".status.availableReplicas"
    );
    let cols = v.additional_printer_columns.as_ref().unwrap();
    assert_eq!(
        (cols[0].json_path.as_str(), cols[0].priority),
        (".spec.replicas", Some(1))
    );
    assert_eq!(
        v.selectable_fields.as_ref().unwrap()[0].json_path,
        ".spec.deploymentName"
    );
}

#[test]
fn schema_is_structural_with_every_extension_in_place() {
    let root = &crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert_eq!(
        root["description"],
        "A Foo runs `replicas` copies of a deployment."
    );
    assert_eq!(root["required"], json!(["spec"]));
    let spec = spec_schema();
    assert_eq!(spec["type"], "object");
    assert_eq!(
        spec["x-kubernetes-validations"],
        json!([{"rule": "self.replicas <= 10", "message": "at most 10 replicas"}])
    );
    let p = &spec["properties"];
    assert_eq!(
        p["deploymentName"],
        json!({"type": "string", "description": "The deployment to manage."})
    );
    assert_eq!(p["replicas"]["default"], 1);
    assert_eq!(p["replicas"]["format"], "int32");
    assert_eq!(p["ports"]["x-kubernetes-list-type"], "map");
    assert_eq!(p["ports"]["x-kubernetes-list-map-keys"], json!(["name"]));
    assert_eq!(
        p["ports"]["items"]["x-kubernetes-validations"],
        json!([{"rule": "self.port > 0"}])
    );
    assert_eq!(
        p["ports"]["items"]["properties"]["port"]["x-kubernetes-validations"],
        json!([{"rule": "self < 65536"}])
    );
    assert_eq!(p["ports"]["items"]["properties"]["port"]["format"], "int64");
    assert_eq!(
        p["target"],
        json!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": true})
    );
    assert_eq!(
        p["labels"]["additionalProperties"],
        json!({"type": "string"})
    );
    assert_eq!(p["mode"]["type"], "string");
    assert_eq!(p["mode"]["enum"], json!(["Fast", "Slow"]));
    assert_eq!(p["mode"]["default"], "Fast");
    assert_eq!(p["extra"]["x-kubernetes-preserve-unknown-fields"], true);
    assert_eq!(
        p["probe"]["properties"]["type"],
        json!({"type": "string", "enum": ["http", "exec"]})
    );
    assert_eq!(p["probe"]["required"], json!(["type"]));
    assert_eq!(
        p["probe"]["anyOf"],
        json!([{"required": ["path", "port"]}, {"required": ["command"]}])
    );
    assert_eq!(p["probe"]["nullable"], true);
    assert_eq!(spec["required"], json!(["deploymentName"]));
    let text = spec.to_string();
    for banned in [
        "$ref",
        "oneOf",
        "const",
        "\"null\"",
        "additionalProperties\":false",
        "$defs",
    ] {
        assert!(!text.contains(banned), "{banned} left in {spec:#}");
    }
}

#[test]
fn status_schema_is_attached() {
    let status = &crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
    assert_eq!(status["properties"]["availableReplicas"]["type"], "integer");
}

/// A type with no structural schema, which only crd() can see (the enum is
/// fine Rust and fine JSON Schema; the mixed shapes live behind a type).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Either {
    Name(String),
    Spec { replicas: i32 },
}

#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[kubegen(group = "example.com", version = "v1", kind = "Mixed")]
pub struct MixedSpec {
    pub choice: Either,
}

#[test]
fn untagged_enum_of_incompatible_shapes_is_a_typed_error_naming_the_field() {
    let err = Mixed::crd().unwrap_err();
    let CrdError::Schema { kind, part, source } = &err else {
        panic!("{err}")
    };
    assert_eq!((kind.as_str(), *part), ("Mixed", "spec"));
    assert_eq!(source.path, ".spec.choice");
    assert_eq!(
        source.kind,
        SchemaErrorKind::MixedTypes(vec!["object".into(), "string".into()])
    );
    assert!(err.to_string().contains("one JSON type"), "{err}");
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Tree {
    pub children: Vec<Tree>,
}

#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[kubegen(group = "example.com", version = "v1", kind = "Forest")]
pub struct ForestSpec {
    pub tree: Tree,
}

#[test]
fn recursive_type_is_a_typed_error() {
    let err = Forest::crd().unwrap_err();
    assert!(err.to_string().contains("contains itself"), "{err}");
    assert_eq!(Forest::SCOPE, Scope::Cluster);
}

mod v2 {
    use super::*;

    #[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
    #[kubegen(
        group = "samplecontroller.k8s.io",
        version = "v1beta1",
        kind = "Foo",
        namespaced
    )]
    #[kubegen(status = "FooStatus", shortname = "fo", category = "all")]
    pub struct FooSpec {
        pub deployment_name: String,
    }
}

#[test]
fn two_versions_merge_into_one_crd_with_one_storage_version() {
    let merged = kubegen_runtime::crd::merge_crds(
        vec![Foo::crd().unwrap(), v2::Foo::crd().unwrap()],
        "v1beta1",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let flags: Vec<(&str, bool)> = merged
        .spec
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.storage))
        .collect();
    assert_eq!(flags, [("v1alpha1", false), ("v1beta1", true)]);
    let yaml = kubegen_runtime::crd::to_yaml(&merged).unwrap();
    assert!(
        yaml.contains("name: foos.samplecontroller.k8s.io"),
        "{yaml}"
    );
}

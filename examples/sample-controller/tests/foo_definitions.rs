//! Foo can be defined either way, and the two agree: Rust types with
//! `#[derive(CustomResource)]` (`src/derived.rs`) -> `foo-crd.yaml` ->
//! `kubegen generate --crd` -> `foo-api/`, the crate the controller uses.
//!
//! The YAML and the generated crate are checked in, so the first two tests
//! fail when either is stale. Refresh both with
//! `KUBEGEN_BLESS=1 cargo test -p sample-controller --test foo_definitions`.
//! No cluster is needed.

// `foo` is the name of this kind's objects here, not a placeholder.
#![allow(clippy::disallowed_names)]

use std::path::{Path, PathBuf};

use kubegen_runtime::Resource;
use kubegen_runtime::meta::ObjectMeta;
use sample_controller::derived;
use sample_controller::foo_api::samplecontroller::v1alpha1 as generated;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Paths relative to the workspace root.
const CRD_YAML: &str = "examples/sample-controller/foo-crd.yaml";
const CRATE_DIR: &str = "examples/sample-controller/foo-api";
const CRATE_NAME: &str = "sample-controller-foo-api";
const STALE: &str = "run `KUBEGEN_BLESS=1 cargo test -p sample-controller --test foo_definitions` and commit examples/sample-controller";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bless() -> bool {
    std::env::var_os("KUBEGEN_BLESS").is_some()
}

#[test]
fn checked_in_crd_yaml_is_what_the_derive_emits() {
    let yaml = derived::crd_yaml().unwrap_or_else(|e| panic!("derived Foo::crd(): {e}"));
    let path = workspace_root().join(CRD_YAML);
    if bless() {
        std::fs::write(&path, &yaml).unwrap_or_else(|e| panic!("write {CRD_YAML}: {e}"));
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == yaml,
        "{CRD_YAML} differs from derived Foo::crd(): {STALE}"
    );
}

#[test]
fn checked_in_crate_is_what_the_generator_emits_from_that_yaml() {
    // Relative inputs, so the "generated from" headers name the same path
    // on every machine.
    std::env::set_current_dir(workspace_root()).unwrap();
    let opts = kubegen::GenerateOptions {
        crds: vec![PathBuf::from(CRD_YAML)],
        out: PathBuf::from(CRATE_DIR),
        crate_name: Some(CRATE_NAME.into()),
        in_workspace: true,
        ..Default::default()
    };
    if bless() {
        kubegen::generate(&opts)
            .unwrap_or_else(|e| panic!("kubegen generate --crd {CRD_YAML}: {e}"));
    }
    let model = kubegen::load_model(&opts)
        .unwrap_or_else(|e| panic!("kubegen generate --crd {CRD_YAML}: {e}"));
    let files = kubegen::emit_files(&model, &opts).unwrap();
    assert!(
        files.keys().any(|p| p.ends_with("foo.rs")),
        "the generator emitted no Foo: {:?}",
        files.keys()
    );
    for (rel, content) in &files {
        let on_disk = std::fs::read_to_string(opts.out.join(rel)).unwrap_or_default();
        assert!(
            on_disk == *content,
            "{CRATE_DIR}/{} is stale: {STALE}",
            rel.display()
        );
    }
}

/// JSON of `obj`, and of the other type after reading that JSON.
fn both_ways<A: Serialize, B: Serialize + DeserializeOwned>(obj: &A) -> (Value, Value) {
    let json = serde_json::to_value(obj).unwrap();
    let other: B = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("the other type cannot read {json}: {e}"));
    (json, serde_json::to_value(&other).unwrap())
}

fn assert_same_json(foo: &derived::Foo) {
    // Derived -> JSON -> generated -> JSON.
    let (from_derived, via_generated) = both_ways::<derived::Foo, generated::Foo>(foo);
    assert_eq!(from_derived, via_generated);
    // And from the generated side's own value back through the derived type.
    let g: generated::Foo = serde_json::from_value(from_derived.clone()).unwrap();
    let (from_generated, via_derived) = both_ways::<generated::Foo, derived::Foo>(&g);
    assert_eq!(from_generated, via_derived);
    assert_eq!(from_generated, from_derived);
}

#[test]
fn derived_and_generated_foo_serialize_the_same_object_identically() {
    // Everything set, as the server returns a synced Foo.
    let mut full = derived::Foo::new(
        "example-foo",
        derived::FooSpec {
            deployment_name: "example-foo".into(),
            replicas: Some(3),
        },
    );
    full.metadata = ObjectMeta {
        name: Some("example-foo".into()),
        namespace: Some("default".into()),
        uid: Some("0b5c7d1e-1111-2222-3333-444455556666".into()),
        resource_version: Some("42".into()),
        generation: Some(2),
        labels: Some([("app".into(), "demo".into())].into()),
        ..ObjectMeta::default()
    };
    full.status = Some(derived::FooStatus {
        available_replicas: 0,
    });
    assert_same_json(&full);
    let json = serde_json::to_value(&full).unwrap();
    assert_eq!(
        json,
        json!({
            "apiVersion": "samplecontroller.k8s.io/v1alpha1",
            "kind": "Foo",
            "metadata": {
                "name": "example-foo",
                "namespace": "default",
                "uid": "0b5c7d1e-1111-2222-3333-444455556666",
                "resourceVersion": "42",
                "generation": 2,
                "labels": {"app": "demo"},
            },
            "spec": {"deploymentName": "example-foo", "replicas": 3},
            // A zero count is written, not left out: the status says "0 available".
            "status": {"availableReplicas": 0},
        })
    );

    // The optional parts left out: no replicas, no status.
    let bare = derived::Foo::new(
        "bare",
        derived::FooSpec {
            deployment_name: "d".into(),
            replicas: None,
        },
    );
    assert_same_json(&bare);
    assert_eq!(
        serde_json::to_value(&bare).unwrap()["spec"],
        json!({"deploymentName": "d"})
    );
}

#[test]
fn both_foos_carry_the_same_resource_facts() {
    assert_eq!(
        (
            derived::Foo::GROUP,
            derived::Foo::VERSION,
            derived::Foo::API_VERSION,
            derived::Foo::KIND,
            derived::Foo::PLURAL,
            derived::Foo::SCOPE,
        ),
        (
            generated::Foo::GROUP,
            generated::Foo::VERSION,
            generated::Foo::API_VERSION,
            generated::Foo::KIND,
            generated::Foo::PLURAL,
            generated::Foo::SCOPE,
        )
    );
    assert_eq!(
        generated::Foo::API_VERSION,
        "samplecontroller.k8s.io/v1alpha1"
    );
}

#[test]
fn both_foos_reject_an_object_without_its_required_fields() {
    // deploymentName is required by the schema: neither type invents one.
    let missing = json!({"apiVersion": "samplecontroller.k8s.io/v1alpha1", "kind": "Foo",
                          "metadata": {"name": "x"}, "spec": {"replicas": 1}});
    let d = serde_json::from_value::<derived::Foo>(missing.clone()).unwrap_err();
    let g = serde_json::from_value::<generated::Foo>(missing).unwrap_err();
    assert!(d.to_string().contains("deploymentName"), "{d}");
    assert!(g.to_string().contains("deploymentName"), "{g}");
}

//! The two directions agree: derive -> CRD YAML -> `kubegen generate --crd` ->
//! generated type, and the generated type serializes every object exactly as
//! the hand-written (derived) one does.
//!
//! The CRD YAML and the generated crate are checked in (`tests/crd-loop/`) so
//! they compile as a normal dependency; the first two tests fail when either
//! is stale. Refresh both with
//! `KUBEGEN_BLESS=1 cargo test -p kubegen-e2e --test derive_loop`.
//! No cluster is needed here.

mod derive_types;

use std::path::{Path, PathBuf};

use derive_types::{Mode, Port, Probe, Protocol, Widget, WidgetSpec, WidgetStatus, full_spec};
use kubegen_crd_loop::e2e::v1 as generated;
use kubegen_runtime::meta::IntOrString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const CRD_YAML: &str = "tests/crd-loop/widget-crd.yaml";
const CRATE_DIR: &str = "tests/crd-loop";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bless() -> bool {
    std::env::var_os("KUBEGEN_BLESS").is_some()
}

const STALE: &str =
    "run `KUBEGEN_BLESS=1 cargo test -p kubegen-e2e --test derive_loop` and commit tests/crd-loop";

#[test]
fn checked_in_crd_yaml_is_what_the_derive_emits() {
    let crd = Widget::crd().unwrap_or_else(|e| panic!("Widget::crd(): {e}"));
    let yaml = kubegen_runtime::crd::to_yaml(&crd).unwrap();
    let path = workspace_root().join(CRD_YAML);
    if bless() {
        std::fs::write(&path, &yaml).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == yaml,
        "{CRD_YAML} differs from Widget::crd(): {STALE}"
    );
}

#[test]
fn checked_in_crate_is_what_the_generator_emits_from_that_yaml() {
    // Relative inputs, so the "generated from" headers name the same path on
    // every machine.
    std::env::set_current_dir(workspace_root()).unwrap();
    let opts = kubegen::GenerateOptions {
        crds: vec![PathBuf::from(CRD_YAML)],
        out: PathBuf::from(CRATE_DIR),
        crate_name: Some("kubegen-crd-loop".into()),
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
        files.keys().any(|p| p.ends_with("widget.rs")),
        "the generator emitted no Widget: {:?}",
        files.keys()
    );
    for (rel, content) in &files {
        let on_disk = std::fs::read_to_string(Path::new(CRATE_DIR).join(rel)).unwrap_or_default();
        assert!(
            on_disk == *content,
            "{CRATE_DIR}/{} is stale: {STALE}",
            rel.display()
        );
    }
}

/// JSON of `obj`, and of the other type after a round trip through it.
fn both_ways<A: Serialize, B: Serialize + DeserializeOwned>(obj: &A) -> (Value, Value) {
    let json = serde_json::to_value(obj).unwrap();
    let other: B = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("the other type cannot read {json}: {e}"));
    (json, serde_json::to_value(&other).unwrap())
}

fn assert_same_json(w: &Widget) {
    // Derived -> generated -> JSON.
    let (derived, via_generated) = both_ways::<Widget, generated::Widget>(w);
    assert_eq!(derived, via_generated);
    // Generated -> derived -> JSON, from the generated side's own value.
    let g: generated::Widget = serde_json::from_value(derived.clone()).unwrap();
    let (from_generated, via_derived) = both_ways::<generated::Widget, Widget>(&g);
    assert_eq!(from_generated, via_derived);
    assert_eq!(from_generated, derived);
}

#[test]
fn generated_and_derived_types_serialize_every_shape_identically() {
    let mut w = Widget::new("w", full_spec());
    w.metadata.namespace = Some("ns".into());
    w.status = Some(WidgetStatus {
        replicas: 1,
        message: Some("ok".into()),
    });
    assert_same_json(&w);

    // The other branches of each shape: int target, exec probe, no options.
    let spec = WidgetSpec {
        replicas: 0,
        max_replicas: 0,
        mode: Some(Mode::Fast),
        ports: vec![Port {
            name: "p".into(),
            port: 1,
            protocol: Some(Protocol::Udp),
        }],
        target: Some(IntOrString::Int(8080)),
        labels: Default::default(),
        probe: Some(Probe::Exec {
            command: vec!["true".into()],
        }),
        extra: None,
        template: None,
    };
    assert_same_json(&Widget::new("w2", spec));
    let bare = WidgetSpec {
        mode: None,
        ports: vec![],
        target: None,
        probe: None,
        template: None,
        ..full_spec()
    };
    assert_same_json(&Widget::new("w3", bare));
}

#[test]
fn generated_type_carries_the_same_resource_facts() {
    use kubegen_runtime::Resource;
    assert_eq!(
        (
            generated::Widget::API_VERSION,
            generated::Widget::PLURAL,
            generated::Widget::SCOPE
        ),
        (Widget::API_VERSION, Widget::PLURAL, Widget::SCOPE)
    );
    assert_eq!(generated::Widget::KIND, Widget::KIND);
}

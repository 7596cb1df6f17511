//! CRDs from tests/fixtures through the public pipeline (`load_model` reading
//! the file, then `emit_files`); tests/crds.rs does the same for every CRD
//! in ../shared.

mod common;

use kubegen::GenerateOptions;

#[test]
fn custom_resources_get_crd_verbs_and_subresources() {
    let opts = GenerateOptions {
        crds: vec![common::fixtures_dir().join("crd_resources.yaml")],
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap_or_else(|e| panic!("{e}"));
    let r = model
        .resources
        .iter()
        .find(|r| r.plural == "widgets" && r.version == "v1")
        .expect("v1 Widget");
    assert!(r.from_crd && r.namespaced && !r.strategic_merge_patch);
    assert!(r.subresources.contains_key("status"));
    assert_eq!(
        r.subresources["scale"].type_id.as_deref(),
        Some("io.k8s.api.autoscaling.v1.Scale")
    );
    assert!(
        r.short_names.contains(&"wd".to_owned()),
        "{:?}",
        r.short_names
    );
    let cluster = model
        .resources
        .iter()
        .find(|r| r.plural == "clusterwidgets")
        .expect("ClusterWidget");
    assert!(!cluster.namespaced && !cluster.subresources.contains_key("scale"));
    // v1alpha1 is not served, so it gets nothing.
    assert!(!model.resources.iter().any(|r| r.version == "v1alpha1"));
    let files = kubegen::emit_files(&model, &opts).unwrap_or_else(|e| panic!("{e}"));
    let widget = &files[std::path::Path::new("src/example/v1/widget.rs")];
    assert!(
        widget.contains("impl kubegen_core::verbs::Scale for Widget {\n    type Scale = kubegen_api::autoscaling::v1::Scale;"),
        "{widget}"
    );
}

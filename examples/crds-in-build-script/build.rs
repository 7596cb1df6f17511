//! Generates the types and clients of the CRDs in `crds/` into
//! `$OUT_DIR/kubegen.rs`; cargo reruns this when a manifest changes.

fn main() {
    kubegen::build_script::generate(&kubegen::GenerateOptions {
        crds: vec!["crds".into()],
        crate_name: Some("crds-in-build-script".into()),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("kubegen: {e}"));
}

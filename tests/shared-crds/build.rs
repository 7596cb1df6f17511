//! Runs the generator on one CRD file per project of `<workspace>/../shared/crds`
//! (read in place, never copied) through `kubegen::build_script`, which
//! writes the generated crate as ONE file, `$OUT_DIR/kubegen.rs`, that
//! `src/lib.rs` includes at its root.

use std::path::PathBuf;

include!("src/chosen.rs");

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let shared = manifest.join("../../../shared/crds");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/chosen.rs");
    let mut crds = Vec::new();
    for c in CHOSEN {
        let path = shared.join(c.file);
        if !path.exists() {
            panic!(
                "the shared CRD corpus is missing {} (expected at {})",
                c.file,
                path.display()
            );
        }
        crds.push(path);
    }
    let opts = kubegen::GenerateOptions {
        crds,
        resources: CHOSEN.iter().map(|c| c.kind.to_owned()).collect(),
        crate_name: Some("kubegen-shared-crds".into()),
        ..Default::default()
    };
    let out = kubegen::build_script::generate(&opts).unwrap_or_else(|e| panic!("kubegen: {e}"));
    // The features the generated Cargo.toml asks of kubegen-api: this crate's
    // Cargo.toml must enable them (checked here so a drift fails loudly).
    let toml = std::fs::read_to_string(out.with_file_name("kubegen").join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("the generated Cargo.toml: {e}"));
    let ours = std::fs::read_to_string(manifest.join("Cargo.toml")).unwrap_or_default();
    for want in toml.split('"').filter(|s| s.starts_with("kubegen-api/")) {
        let feature = want.trim_start_matches("kubegen-api/");
        if !ours.contains(&format!("\"{feature}\"")) {
            panic!("tests/shared-crds/Cargo.toml must enable kubegen-api feature {feature}");
        }
    }
}

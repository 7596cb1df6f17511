//! Every CRD file in ../shared/crds (so only with the `shared-inputs`
//! feature) generates, and all of them compile.
//!
//! The compile test puts all CRDs into as few crates as possible (a CRD
//! published in two variants, such as gateway-api's standard and experimental
//! channels, cannot share a crate with itself), generates them into a small
//! workspace under the target directory and runs `cargo check` on it. The
//! workspace is kept between runs so unchanged output compiles incrementally.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kubegen::GenerateOptions;

fn crd_files() -> Vec<PathBuf> {
    let dir = common::shared_dir().join("crds");
    let files = kubegen::spec::files_under(&dir, &["yaml", "yml", "json"]).unwrap();
    assert!(
        files.len() >= 190,
        "expected the ~195 CRD files under {}",
        dir.display()
    );
    files
}

/// Group, version, kind.
type Gvk = (String, String, String);

fn gvks(file: &Path) -> BTreeSet<Gvk> {
    kubegen::spec::crd::load(file)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .flat_map(|c| {
            c.versions
                .iter()
                .map(|v| (c.group.clone(), v.name.clone(), c.names.kind.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_shared_crd_file_generates() {
    let files = crd_files();
    let mut ok = 0;
    for f in &files {
        let opts = GenerateOptions {
            crds: vec![f.clone()],
            ..Default::default()
        };
        let model = kubegen::load_model(&opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            model.skipped.is_empty(),
            "{}: {:?}",
            f.display(),
            model.skipped
        );
        assert!(!model.resources.is_empty(), "{}: no resources", f.display());
        let files =
            kubegen::emit_files(&model, &opts).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            files.keys().any(|p| p.ends_with("client.rs")),
            "{}: no clients",
            f.display()
        );
        ok += 1;
    }
    eprintln!("{ok} of {} CRD files generate", files.len());
    assert_eq!(ok, files.len());
}

#[test]
fn all_shared_crds_compile() {
    let files = crd_files();
    // Greedy partition into crates whose kinds do not clash.
    let mut crates: Vec<(Vec<PathBuf>, BTreeSet<Gvk>)> = Vec::new();
    for f in &files {
        let g = gvks(f);
        match crates.iter_mut().find(|(_, have)| have.is_disjoint(&g)) {
            Some((fs, have)) => {
                fs.push(f.clone());
                have.extend(g);
            }
            None => crates.push((vec![f.clone()], g)),
        }
    }
    let root = common::workspace_root();
    let ws = common::target_dir().join("crd-check");
    std::fs::create_dir_all(&ws).unwrap();
    let mut members = Vec::new();
    for (i, (fs, _)) in crates.iter().enumerate() {
        // Each crate reads the CRD files through a directory of links, so the
        // generator sees exactly this partition.
        let inputs = ws.join(format!("inputs{i}"));
        let _ = std::fs::remove_dir_all(&inputs);
        std::fs::create_dir_all(&inputs).unwrap();
        for (j, f) in fs.iter().enumerate() {
            std::fs::copy(
                f,
                inputs.join(format!(
                    "{j:03}-{}",
                    f.file_name().unwrap().to_string_lossy()
                )),
            )
            .unwrap();
        }
        let name = format!("crds{i}");
        let opts = GenerateOptions {
            crds: vec![inputs],
            out: ws.join(&name),
            crate_name: Some(format!("kubegen-crd-check-{i}")),
            kubegen_path: Some(root.canonicalize().unwrap()),
            ..Default::default()
        };
        let report = kubegen::generate(&opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        members.push(name);
    }
    common::check_scratch_workspace(&ws, &members, &["--workspace"], "the generated CRD crates");
    eprintln!(
        "{} of {} CRD files compile (in {} crates)",
        files.len(),
        files.len(),
        crates.len()
    );
}

//! The release specs in ../shared/openapi-specs (so only with the
//! `shared-inputs` feature): every one generates, from v2 and from v3
//! inputs, and compiles.
//!
//! The newest release is kubegen-api itself (generated/, built by every
//! workspace test run). This test compiles the oldest release in
//! ../shared/openapi-specs as a standalone crate with all features; `make
//! fidelity` runs the ignored tests beside it: every release, and kubegen-api
//! with each single feature.
//! The crates live in one cargo workspace under the target directory, kept
//! between runs so unchanged output is not rebuilt.

mod common;

use std::path::{Path, PathBuf};

use kubegen::GenerateOptions;

/// Each release's input, oldest first: its swagger.json, else its v3 directory.
fn release_inputs() -> Vec<(String, PathBuf)> {
    let root = common::shared_dir().join("openapi-specs");
    let mut releases: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter_map(|dir| {
            let name = dir.file_name()?.to_string_lossy().into_owned();
            let input = [dir.join("swagger.json"), dir.join("v3")]
                .into_iter()
                .find(|p| p.exists())?;
            Some((name, input))
        })
        .collect();
    // v1.9 would sort after v1.10 as text; compare the minor version as a number.
    releases.sort_by_key(|(name, _)| {
        name.trim_start_matches('v')
            .split('.')
            .map(|n| n.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    assert!(
        releases.len() >= 10,
        "expected the v1.27.. specs under {}",
        root.display()
    );
    releases
}

/// Generates each release into `<target>/release-check/<release>` and runs
/// `cargo check --all-features` on them together.
fn check_releases(releases: &[(String, PathBuf)]) {
    let root = common::workspace_root();
    let names: Vec<&str> = releases.iter().map(|(n, _)| n.as_str()).collect();
    let ws = common::target_dir().join("release-check");
    std::fs::create_dir_all(&ws).unwrap();
    let mut members = Vec::new();
    for (name, input) in releases {
        let dir = name.replace('.', "_");
        generate(input, &ws.join(&dir), &root);
        members.push(dir);
    }
    common::check_scratch_workspace(
        &ws,
        &members,
        &["--workspace", "--all-features"],
        &format!("the crates generated from {names:?}"),
    );
    eprintln!("{} release specs compile: {names:?}", releases.len());
}

fn generate(input: &Path, out: &Path, root: &Path) {
    let crate_name = format!(
        "kubegen-api-{}",
        out.file_name().unwrap().to_string_lossy().replace('_', "-")
    );
    let opts = GenerateOptions {
        specs: vec![input.to_owned()],
        out: out.to_owned(),
        crate_name: Some(crate_name),
        kubegen_path: Some(root.canonicalize().unwrap()),
        ..Default::default()
    };
    let report = kubegen::generate(&opts).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
}

#[test]
fn every_release_spec_generates_without_error() {
    let root = common::shared_dir().join("openapi-specs");
    let mut releases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    releases.sort();
    assert!(
        releases.len() >= 10,
        "expected the v1.27..v1.36 specs under {}",
        root.display()
    );
    let mut checked = 0;
    for rel in releases {
        for input in [rel.join("swagger.json"), rel.join("v3")] {
            if !input.exists() {
                continue;
            }
            let (resources, files) = common::generate_in_memory(vec![input.clone()]);
            assert!(
                resources > 50,
                "{}: only {resources} resources",
                input.display()
            );
            assert!(files > 500, "{}: only {files} files", input.display());
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} spec inputs found");
}

#[test]
fn oldest_release_spec_compiles() {
    let releases = release_inputs();
    check_releases(&releases[..1]);
}

/// Every release: minutes of compiling, so `make fidelity` runs it.
#[test]
#[ignore = "slow: run by `make fidelity`"]
fn every_release_spec_compiles() {
    check_releases(&release_inputs());
}

/// kubegen-api with no default features and exactly one group/version feature
/// (plus what that feature itself enables), for each feature: a user who
/// picks one group must get a crate that compiles. Slow, so `make fidelity`.
#[test]
#[ignore = "slow: run by `make fidelity`"]
fn kubegen_api_compiles_with_each_single_feature() {
    let root = common::workspace_root();
    let manifest = std::fs::read_to_string(root.join("generated/Cargo.toml")).unwrap();
    let features: Vec<&str> = manifest
        .split("[features]")
        .nth(1)
        .expect("generated/Cargo.toml has [features]")
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once(" = ").map(|(name, _)| name.trim()))
        .filter(|name| *name != "default")
        .collect();
    assert!(features.len() > 20, "features: {features:?}");
    let mut failed = Vec::new();
    for feature in &features {
        let args = [
            "-p",
            "kubegen-api",
            "--no-default-features",
            "--features",
            feature,
        ];
        if let Err(stderr) = common::try_cargo_check(&root, &args) {
            failed.push(format!("--features {feature}:\n{stderr}"));
        }
    }
    assert!(
        failed.is_empty(),
        "kubegen-api does not compile cleanly with a single feature:\n{}",
        failed.join("\n")
    );
    eprintln!(
        "kubegen-api compiles with each of its {} features alone",
        features.len()
    );
}

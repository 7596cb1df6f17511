//! Paths shared by the generator's tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root (the repository clone).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `<workspace root>/../shared`, where CI lays out the shared specs and CRDs.
/// Panics with a clear message (failing the test, never skipping it) when
/// it is missing. Only with the `shared-inputs` feature, so a test that
/// reads it without being gated does not compile.
#[cfg(feature = "shared-inputs")]
pub fn shared_dir() -> PathBuf {
    let p = workspace_root().join("../shared");
    assert!(
        p.join("openapi-specs").is_dir() && p.join("crds").is_dir(),
        "the shared inputs are missing: expected {} with openapi-specs/ and crds/ beside the repository clone",
        p.display()
    );
    p
}

/// `codegen/tests/fixtures`: small inputs that each exercise one thing.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Generates `specs` in memory, checking nothing was skipped: the number of
/// resources with a type, and of files.
pub fn generate_in_memory(specs: Vec<PathBuf>) -> (usize, usize) {
    let opts = kubegen::GenerateOptions {
        specs,
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(model.skipped.is_empty());
    let files = kubegen::emit_files(&model, &opts).unwrap_or_else(|e| panic!("{e}"));
    let typed = model
        .resources
        .iter()
        .filter(|r| r.type_id.is_some())
        .count();
    (typed, files.len())
}

/// The release spec kubegen-api is generated from.
pub fn v137_swagger() -> PathBuf {
    let p = workspace_root().join("openapi-specs/v1.37/swagger.json");
    assert!(p.is_file(), "missing {}", p.display());
    p
}

/// The target directory of this build (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// `cargo check` with `args` in `dir` (a scratch workspace, or the repository),
/// in the one target directory every generated-crate check shares, so
/// dependencies build once. `Err(cargo's messages)` on an error or a warning.
pub fn try_cargo_check(dir: &std::path::Path, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("check")
        .args(args)
        .args(["--quiet", "--message-format", "short"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir().join("generated-check"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && !stderr.contains("warning:") {
        Ok(())
    } else {
        Err(stderr)
    }
}

/// Writes a scratch workspace of `members` at `ws` with the repository's
/// Cargo.lock (same dependency versions) and checks it with `args`.
pub fn check_scratch_workspace(
    ws: &std::path::Path,
    members: &[String],
    args: &[&str],
    what: &str,
) {
    let members: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
    std::fs::write(
        ws.join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"3\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    )
    .unwrap();
    std::fs::copy(workspace_root().join("Cargo.lock"), ws.join("Cargo.lock")).unwrap();
    if let Err(stderr) = try_cargo_check(ws, args) {
        panic!("cargo check of {what} failed or warned:\n{stderr}");
    }
}

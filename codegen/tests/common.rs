//! Paths shared by the generator's tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root (the repository clone).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `<workspace root>/../shared`, where CI lays out the shared specs and CRDs.
/// Panics with a clear message (failing the test, never skipping it) when
/// it is missing.
pub fn shared_dir() -> PathBuf {
    let p = workspace_root().join("../shared");
    assert!(
        p.join("openapi-specs").is_dir() && p.join("crds").is_dir(),
        "the shared inputs are missing: expected {} with openapi-specs/ and crds/ beside the repository clone",
        p.display()
    );
    p
}

/// The release spec kubegen-api is generated from.
pub fn v137_swagger() -> PathBuf {
    let p = workspace_root().join("openapi-specs/v1.37/swagger.json");
    assert!(p.is_file(), "missing {}", p.display());
    p
}

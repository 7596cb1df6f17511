//! A program of a user's own, outside this workspace: a crate with its own
//! `[workspace]` on top of a generated crate, built and run by cargo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// This workspace's root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Write a program crate at `app` (`main_rs`; `dependency`, a Cargo.toml
/// line for the generated crate, beside kubegen-client and tokio) and
/// `cargo run` it with `args`. It builds offline with this workspace's lock
/// (every dependency is downloaded already) in `target/outside-crate`,
/// shared by every such program, so later runs are warm.
pub fn cargo_run(app: &Path, dependency: &str, main_rs: &str, args: &[&std::ffi::OsStr]) -> Output {
    let root = workspace_root();
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(app.join("src/main.rs"), main_rs).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            r#"[package]
name = "outside-app"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
{dependency}
kubegen-client = {{ path = {client:?} }}
kubegen-validation = {{ path = {validation:?} }}
tokio = {{ version = "1", features = ["macros", "rt-multi-thread"] }}

[workspace]

[profile.dev]
debug = false
"#,
            client = root.join("runtime/client"),
            validation = root.join("runtime/validation"),
        ),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .current_dir(app)
        .env("CARGO_TARGET_DIR", root.join("target/outside-crate"))
        .args(["run", "--quiet", "--offline", "--"])
        .args(args)
        .output()
        .unwrap()
}

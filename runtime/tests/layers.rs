//! The crates keep their layers (README, "Crates and layers"): the core
//! crate and a types-only generated crate compile no HTTP stack or async
//! runtime, and no hand-written crate carries a copy of a generated API type.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What only the client layer may bring in.
const IO_CRATES: &[&str] = &["tokio", "hyper", "hyper-util", "rustls", "http", "mio"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The crate names in `cargo tree` of `args` (normal dependencies only).
fn dependencies(args: &[&str]) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn assert_no_io(what: &str, deps: &BTreeSet<String>) {
    let found: Vec<&&str> = IO_CRATES.iter().filter(|c| deps.contains(**c)).collect();
    assert!(found.is_empty(), "{what} depends on {found:?}");
    assert!(
        !deps.contains("kubegen-client"),
        "{what} depends on kubegen-client"
    );
}

#[test]
fn core_has_no_io() {
    assert_no_io(
        "kubegen-core",
        &dependencies(&["-p", "kubegen-core", "--all-features"]),
    );
}

#[test]
fn types_only_generated_crate_has_no_io() {
    let deps = dependencies(&[
        "-p",
        "kubegen-api",
        "--no-default-features",
        "--features",
        "core_v1,apps_v1",
    ]);
    assert!(deps.contains("kubegen-core"));
    assert_no_io("kubegen-api without `client`", &deps);
    // The check itself can fail: with `client` the HTTP stack is there.
    let with_client = dependencies(&[
        "-p",
        "kubegen-api",
        "--no-default-features",
        "--features",
        "core_v1,client",
    ]);
    assert!(with_client.contains("hyper") && with_client.contains("tokio"));
}

/// `pub struct X` / `pub enum X` names declared in the `.rs` files under `dir`.
fn declared_types(dir: &Path, names: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            declared_types(&path, names);
        } else if path.extension().is_some_and(|e| e == "rs") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let line = line.trim_start();
                let rest = line
                    .strip_prefix("pub struct ")
                    .or_else(|| line.strip_prefix("pub enum "));
                if let Some(rest) = rest {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            }
        }
    }
}

/// Hand-written types that share a name with a generated one but are not
/// copies of it, each with the reason.
const NOT_COPIES: &[(&str, &str)] = &[
    // Request options of every verb live in core (as `GetOptions` and
    // `ListOptions`, which the spec has no definition of); the spec's
    // meta/v1 `DeleteOptions` is the wire body some kinds embed.
    ("DeleteOptions", "the delete verb's request options"),
    ("Preconditions", "part of the delete verb's request options"),
    // The typed stream item (`Added(K)`, `Bookmark`, ...), not the spec's
    // untyped meta/v1 `WatchEvent` envelope.
    ("WatchEvent", "the typed watch stream's item"),
    // A `&'static` descriptor the derive emits into statics; the CRD it
    // builds holds the generated apiextensions/v1 `ValidationRule`.
    (
        "ValidationRule",
        "the derive's compile-time rule descriptor",
    ),
];

#[test]
fn no_hand_written_copy_of_a_generated_type() {
    let root = workspace_root();
    let mut generated = BTreeSet::new();
    declared_types(&root.join("generated/src"), &mut generated);
    assert!(generated.contains("Lease") && generated.contains("Event"));
    let mut hand_written = BTreeSet::new();
    for layer in ["core", "client", "cache", "tools", "src"] {
        declared_types(&root.join("runtime").join(layer), &mut hand_written);
    }
    let copies: Vec<&String> = hand_written
        .intersection(&generated)
        .filter(|n| !NOT_COPIES.iter().any(|(allowed, _)| allowed == n))
        .collect();
    assert!(
        copies.is_empty(),
        "hand-written types named like generated API types: {copies:?}; use the generated ones"
    );
}

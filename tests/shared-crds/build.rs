//! Runs the generator on one CRD file per project of `<workspace>/../shared/crds`
//! (read in place, never copied) and writes the generated crate as ONE file,
//! `$OUT_DIR/generated.rs`, which `src/lib.rs` includes at its root.
//!
//! The generator writes a module tree (`src/lib.rs`, `src/<group>/mod.rs`, one
//! file per type). `include!` cannot take a tree, so the files are inlined:
//! every `mod x;` becomes `mod x { <x.rs> }` (its inner attributes moved onto
//! the inline module), and `#[cfg(feature = ..)]` gates are dropped, since
//! this crate always wants every module it generated. Nothing else changes, so
//! the compiled code is exactly the generator's output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::visit_mut::VisitMut;

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
        println!("cargo:rerun-if-changed={}", path.display());
        crds.push(path);
    }
    let opts = kubegen::GenerateOptions {
        crds,
        resources: CHOSEN.iter().map(|c| c.kind.to_owned()).collect(),
        crate_name: Some("kubegen-shared-crds".into()),
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap_or_else(|e| panic!("kubegen: {e}"));
    let files = kubegen::emit_files(&model, &opts).unwrap_or_else(|e| panic!("kubegen: {e}"));
    let mut root = parse(&files, Path::new("src/lib.rs"));
    // The crate root's inner attributes (docs, lint allows) belong to lib.rs.
    root.attrs.clear();
    inline_modules(&files, Path::new("src"), &mut root.items);
    DropFeatureGates.visit_file_mut(&mut root);
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("generated.rs");
    std::fs::write(&out, prettyplease::unparse(&root))
        .unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    // The features the generated Cargo.toml asks of kubegen-api: this crate's
    // Cargo.toml must enable them (checked here so a drift fails loudly).
    let toml = &files[Path::new("Cargo.toml")];
    for want in toml.split('"').filter(|s| s.starts_with("kubegen-api/")) {
        let feature = want.trim_start_matches("kubegen-api/");
        let ours = std::fs::read_to_string(manifest.join("Cargo.toml")).unwrap_or_default();
        if !ours.contains(&format!("\"{feature}\"")) {
            panic!("tests/shared-crds/Cargo.toml must enable kubegen-api feature {feature}");
        }
    }
}

fn parse(files: &BTreeMap<PathBuf, String>, path: &Path) -> syn::File {
    let text = files
        .get(path)
        .unwrap_or_else(|| panic!("kubegen emitted no {}", path.display()));
    syn::parse_file(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces each `mod x;` in `items` (of a file whose child modules live in
/// `dir`) by an inline module holding `dir/x.rs` or `dir/x/mod.rs`.
fn inline_modules(files: &BTreeMap<PathBuf, String>, dir: &Path, items: &mut [syn::Item]) {
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        if m.content.is_some() {
            continue;
        }
        let name = m.ident.to_string();
        let flat = dir.join(format!("{name}.rs"));
        let nested = dir.join(&name).join("mod.rs");
        let path = if files.contains_key(&flat) {
            flat
        } else {
            nested
        };
        let mut file = parse(files, &path);
        inline_modules(files, &dir.join(&name), &mut file.items);
        m.attrs.append(&mut file.attrs);
        m.content = Some((Default::default(), file.items));
        m.semi = None;
    }
}

/// Removes `#[cfg(feature = ..)]` / `#[cfg(any(feature = ..))]` everywhere.
struct DropFeatureGates;

impl VisitMut for DropFeatureGates {
    fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
        attrs.retain(|a| {
            !(a.path().is_ident("cfg")
                && matches!(&a.meta, syn::Meta::List(l) if l.tokens.to_string().contains("feature")))
        });
    }
}

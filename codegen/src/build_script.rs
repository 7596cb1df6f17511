//! Generation from a build script: CRD manifests kept beside a crate's code
//! become its types and clients at build time, regenerated when they change.
//!
//! ```no_run
//! // build.rs, in `fn main`:
//! kubegen::build_script::generate(&kubegen::GenerateOptions {
//!     crds: vec!["crds".into()],
//!     ..Default::default()
//! })
//! .unwrap_or_else(|e| panic!("kubegen: {e}"));
//! // src/lib.rs: include!(concat!(env!("OUT_DIR"), "/kubegen.rs"));
//! ```
//!
//! The crate needs the dependencies a generated crate has (`kubegen-core`
//! and, for the kinds' `validate()`, `kubegen-validation`; for the clients
//! `kubegen-client` and `kubegen-cache`; `kubegen-api`
//! when the CRDs name built-in types; `serde`, `serde_json`), as the
//! generated `Cargo.toml` (written to `$OUT_DIR/kubegen/` for reference)
//! lists them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::visit_mut::VisitMut;

use crate::driver::{GenerateOptions, emit_files, load_model};
use crate::error::{Error, Result};

/// Generates from `opts`' inputs into `$OUT_DIR/kubegen.rs`, one file that a
/// single `include!` takes at the crate root, and prints
/// `cargo:rerun-if-changed` for every input. Returns the file's path.
///
/// The generator's module tree is inlined (`include!` cannot take a tree):
/// each `mod x;` becomes `mod x { ... }` with the file's contents, and the
/// per-group/version Cargo feature gates are dropped, since a crate that
/// generates its own types wants all of them. The crate root's inner
/// attributes (docs, lint levels) are left to the including file. The
/// generated `Cargo.toml` and README are written to `$OUT_DIR/kubegen/`
/// for reference. `opts.out` is ignored.
pub fn generate(opts: &GenerateOptions) -> Result<PathBuf> {
    let out_dir =
        PathBuf::from(std::env::var_os("OUT_DIR").ok_or_else(|| {
            Error::Usage("OUT_DIR is not set: call this from a build script".into())
        })?);
    for input in opts.specs.iter().chain(&opts.crds).chain(&opts.proto) {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    let opts = GenerateOptions {
        out: out_dir.join("kubegen"),
        progress: false,
        ..opts.clone()
    };
    let model = load_model(&opts)?;
    let files = emit_files(&model, &opts)?;
    let text = inline_tree(&files)?;
    let path = out_dir.join("kubegen.rs");
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    for name in ["Cargo.toml", "README.md"] {
        if let Some(content) = files.get(Path::new(name)) {
            let target = opts.out.join(name);
            std::fs::write(&target, content).map_err(|e| Error::io(&target, e))?;
        }
    }
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// The generated crate's `src/` tree as one formatted file.
fn inline_tree(files: &BTreeMap<PathBuf, String>) -> Result<String> {
    let mut root = parse(files, Path::new("src/lib.rs"))?;
    root.attrs.clear();
    inline_modules(files, Path::new("src"), &mut root.items)?;
    DropFeatureGates.visit_file_mut(&mut root);
    Ok(prettyplease::unparse(&root))
}

fn parse(files: &BTreeMap<PathBuf, String>, path: &Path) -> Result<syn::File> {
    let text = files.get(path).ok_or_else(|| Error::Format {
        file: path.display().to_string(),
        message: "the generator emitted no such file".into(),
    })?;
    syn::parse_file(text).map_err(|e| Error::Format {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Replaces each `mod x;` in `items` (of a file whose child modules live in
/// `dir`) by an inline module holding `dir/x.rs` or `dir/x/mod.rs`.
fn inline_modules(
    files: &BTreeMap<PathBuf, String>,
    dir: &Path,
    items: &mut [syn::Item],
) -> Result<()> {
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        if m.content.is_some() {
            continue;
        }
        let name = m.ident.to_string();
        let flat = dir.join(format!("{name}.rs"));
        let path = if files.contains_key(&flat) {
            flat
        } else {
            dir.join(&name).join("mod.rs")
        };
        let mut file = parse(files, &path)?;
        inline_modules(files, &dir.join(&name), &mut file.items)?;
        // The file's inner attributes (docs, allows) go onto the inline
        // module, as outer ones after its own.
        for mut attr in file.attrs.drain(..) {
            attr.style = syn::AttrStyle::Outer;
            m.attrs.push(attr);
        }
        m.content = Some((Default::default(), file.items));
        m.semi = None;
    }
    Ok(())
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

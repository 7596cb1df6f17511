//! Test support for the shared CRD corpus (`<workspace>/../shared/crds`):
//!
//! - the Rust types, `Clientset` and informers that kubegen generates, at build
//!   time, from one CRD file per project ([`CHOSEN`]); the CRDs are read in
//!   place and never copied into the repository;
//! - [`synth`]: an object with as many fields set as a CRD's openAPIV3Schema
//!   allows, and the JSON helpers the round-trip test needs.
#![allow(
    missing_docs,
    clippy::all,
    clippy::doc_lazy_continuation,
    clippy::doc_overindented_list_items,
    clippy::upper_case_acronyms,
    clippy::large_enum_variant,
    clippy::too_many_lines,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags
)]

mod chosen;
// Not `cluster`: that name belongs to a generated module (cluster-api's group).
pub mod crd_install;
pub mod synth;

pub use chosen::{CHOSEN, Chosen};

include!(concat!(env!("OUT_DIR"), "/kubegen.rs"));

/// `<workspace>/../shared/crds`, where the chosen files are read from.
pub fn shared_crds_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crds")
}

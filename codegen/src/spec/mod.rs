//! Loading inputs: OpenAPI v2 and v3 documents and CRD manifests.
//!
//! This layer only reads and checks structure; it does not resolve `$ref`s or
//! decide Rust shapes (that is [`crate::model`]). Its outputs keep each schema
//! as raw JSON together with the file and JSON pointer it came from, so later
//! errors can still name the place.
//!
//! Contract: loaders never panic on any byte input; every failure is an
//! [`Error`] naming the file (and pointer where one exists).

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod crd;
pub mod openapi;
pub mod proto;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use crd::{Crd, CrdNames, CrdScale, CrdVersion};
pub use openapi::{Gvk, OpenApiDoc, Operation, SpecVersion};

/// A live cluster to read OpenAPI documents from (`--from-cluster`).
#[derive(Clone, Debug, Default)]
pub struct ClusterSource {
    /// A kubeconfig file; `None` means `$KUBECONFIG`, `~/.kube/config`, then
    /// in-cluster, as kubectl does.
    pub kubeconfig: Option<PathBuf>,
    /// A context name; `None` means the current context.
    pub context: Option<String>,
}

/// What a cluster says: its OpenAPI documents, and of each CRD's served
/// versions what those documents leave out.
pub struct ClusterInputs {
    /// The OpenAPI documents.
    pub docs: Vec<OpenApiDoc>,
    /// Each CRD version, by (group, version, kind).
    pub crd_versions: std::collections::BTreeMap<(String, String, String), ClusterCrdVersion>,
}

/// A served version of a cluster's CRD.
pub struct ClusterCrdVersion {
    /// Whether objects are stored as this version.
    pub storage: bool,
    /// Its `openAPIV3Schema` as the CRD states it (the published OpenAPI
    /// document is a conversion of it), for the kind's `validate()`.
    pub schema: Option<serde_json::Value>,
}

/// Files under `dir` (recursively) whose extension is one of `exts`, sorted so
/// that loading order (and so output) never depends on the file system.
pub fn files_under(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let p = entry.path();
            let ft = entry.file_type().map_err(|e| Error::io(&p, e))?;
            if ft.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a file to a string, naming the file on failure.
pub fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Parses JSON text, naming the file and line on failure.
pub fn parse_json(path: &Path, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        path: path.to_owned(),
        document: None,
        format: "JSON",
        message: e.to_string(),
    })
}

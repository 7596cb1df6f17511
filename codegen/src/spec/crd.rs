//! CustomResourceDefinition manifests (`apiextensions.k8s.io/v1`), from YAML or
//! JSON files holding one or many documents, or `List`s of CRDs as
//! `kubectl get crd -o yaml` prints them.
//!
//! Every *served* version becomes a [`CrdVersion`]; unserved versions are
//! dropped (the server will not answer for them). Documents of other kinds are
//! skipped, so a whole release manifest can be passed in.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{files_under, read_file};
use crate::diagnostics::{Diagnostics, Policy};
use crate::error::{Error, Location, Result};

/// The names block of a CRD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrdNames {
    /// Kind, e.g. `Certificate`.
    pub kind: String,
    /// Resource name in URLs.
    pub plural: String,
    /// Singular name (defaults to the lower-cased kind, as the server does).
    pub singular: String,
    /// kubectl short names.
    pub short_names: Vec<String>,
    /// List kind (defaults to `<Kind>List`).
    pub list_kind: String,
    /// kubectl categories.
    pub categories: Vec<String>,
}

/// The scale subresource's JSON paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrdScale {
    /// `.spec.replicas` path.
    pub spec_replicas_path: String,
    /// `.status.replicas` path.
    pub status_replicas_path: String,
    /// Optional label selector path.
    pub label_selector_path: Option<String>,
}

/// One served version of a CRD.
#[derive(Clone, Debug)]
pub struct CrdVersion {
    /// Version name, e.g. `v1beta1`.
    pub name: String,
    /// Whether this is the storage version.
    pub storage: bool,
    /// Whether the version is deprecated.
    pub deprecated: bool,
    /// The `openAPIV3Schema`, if any.
    pub schema: Option<Value>,
    /// Where the schema is (points at `openAPIV3Schema`).
    pub schema_location: Location,
    /// Whether the status subresource is enabled.
    pub status: bool,
    /// The scale subresource, if enabled.
    pub scale: Option<CrdScale>,
}

/// A CRD, reduced to what the model needs.
#[derive(Clone, Debug)]
pub struct Crd {
    /// The file it came from.
    pub source: PathBuf,
    /// `metadata.name`, e.g. `certificates.cert-manager.io`.
    pub name: String,
    /// API group.
    pub group: String,
    /// Names.
    pub names: CrdNames,
    /// `true` when `scope: Namespaced`.
    pub namespaced: bool,
    /// Served versions, in manifest order.
    pub versions: Vec<CrdVersion>,
    /// Where the CRD document starts.
    pub location: Location,
}

// Typed view of the manifest; serde gives field-level messages, and the
// location is added by the caller.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCrd {
    metadata: RawMeta,
    spec: RawSpec,
}

#[derive(Deserialize)]
struct RawMeta {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    group: String,
    names: RawNames,
    scope: String,
    versions: Vec<RawVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNames {
    kind: String,
    plural: String,
    #[serde(default)]
    singular: Option<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    list_kind: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawVersion {
    name: String,
    served: bool,
    #[serde(default)]
    storage: bool,
    #[serde(default)]
    deprecated: bool,
    #[serde(default)]
    schema: Option<RawValidation>,
    #[serde(default)]
    subresources: Option<RawSubresources>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawValidation {
    #[serde(default, rename = "openAPIV3Schema")]
    open_api_v3_schema: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSubresources {
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    scale: Option<RawScale>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawScale {
    spec_replicas_path: String,
    status_replicas_path: String,
    #[serde(default)]
    label_selector_path: Option<String>,
}

/// Reads one CRD object (already parsed). `location` says where it is.
pub fn crd_from_value(value: Value, location: &Location) -> Result<Crd> {
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version != "apiextensions.k8s.io/v1" {
        return Err(Error::schema(
            &location.child("apiVersion"),
            format!(
                "CustomResourceDefinition apiVersion {api_version:?} is not supported; convert it to apiextensions.k8s.io/v1 (v1beta1 was removed in Kubernetes 1.22)"
            ),
        ));
    }
    let raw: RawCrd = serde_json::from_value(value).map_err(|e| {
        Error::schema(
            location,
            format!("not a valid CustomResourceDefinition: {e}"),
        )
    })?;
    let mut loc = location.clone();
    loc.crd = Some(raw.metadata.name.clone());
    let namespaced = match raw.spec.scope.as_str() {
        "Namespaced" => true,
        "Cluster" => false,
        other => {
            return Err(Error::schema(
                &loc.child("spec").child("scope"),
                format!("scope must be Namespaced or Cluster, not {other:?}"),
            ));
        }
    };
    let names = CrdNames {
        singular: raw
            .spec
            .names
            .singular
            .unwrap_or_else(|| raw.spec.names.kind.to_lowercase()),
        list_kind: raw
            .spec
            .names
            .list_kind
            .unwrap_or_else(|| format!("{}List", raw.spec.names.kind)),
        kind: raw.spec.names.kind,
        plural: raw.spec.names.plural,
        short_names: raw.spec.names.short_names,
        categories: raw.spec.names.categories,
    };
    let mut versions = Vec::new();
    for (i, v) in raw.spec.versions.into_iter().enumerate() {
        if !v.served {
            continue;
        }
        let mut vloc = loc.child("spec").child("versions").child(&i.to_string());
        vloc.crd = Some(format!("{} {}", raw.metadata.name, v.name));
        let sub = v.subresources.unwrap_or(RawSubresources {
            status: None,
            scale: None,
        });
        versions.push(CrdVersion {
            schema: v.schema.and_then(|s| s.open_api_v3_schema),
            schema_location: vloc.child("schema").child("openAPIV3Schema"),
            name: v.name,
            storage: v.storage,
            deprecated: v.deprecated,
            status: sub.status.is_some(),
            scale: sub.scale.map(|s| CrdScale {
                spec_replicas_path: s.spec_replicas_path,
                status_replicas_path: s.status_replicas_path,
                label_selector_path: s.label_selector_path,
            }),
        });
    }
    Ok(Crd {
        source: location.file.clone(),
        name: raw.metadata.name,
        group: raw.spec.group,
        names,
        namespaced,
        versions,
        location: loc,
    })
}

/// Parses every CRD in `text` (YAML or JSON, multi-document, `List`s
/// unpacked). Documents of other kinds are skipped.
pub fn parse_str(source: &Path, text: &str) -> Result<Vec<Crd>> {
    let mut out = Vec::new();
    for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| Error::Parse {
            path: source.to_owned(),
            document: Some(index),
            format: "YAML",
            message: e.to_string(),
        })?;
        let mut loc = Location::new(source, "");
        loc.document = Some(index);
        collect(value, &loc, &mut out)?;
    }
    Ok(out)
}

fn collect(value: Value, loc: &Location, out: &mut Vec<Crd>) -> Result<()> {
    match value.get("kind").and_then(Value::as_str) {
        Some("CustomResourceDefinition") => out.push(crd_from_value(value, loc)?),
        Some("List" | "CustomResourceDefinitionList") => {
            if let Some(Value::Array(items)) = value.get("items") {
                for (i, item) in items.iter().enumerate() {
                    collect(item.clone(), &loc.child("items").child(&i.to_string()), out)?;
                }
            }
        }
        // Null documents (`---` at the end) and other kinds are not CRDs.
        _ => {}
    }
    Ok(())
}

/// Loads the CRDs in a file, or in every `*.yaml`, `*.yml` and `*.json` file
/// under a directory (in path order). Fails at the first broken file.
pub fn load(path: &Path) -> Result<Vec<Crd>> {
    load_with(path, &mut Diagnostics::new(Policy::Stop))
}

/// Like [`load`], with each broken file reported to `diag`, whose policy
/// decides whether it stops the load or is skipped (`--keep-going`). A
/// `path` that cannot be read at all is always an error.
pub fn load_with(path: &Path, diag: &mut Diagnostics) -> Result<Vec<Crd>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let files = if meta.is_dir() {
        files_under(path, &["yaml", "yml", "json"])?
    } else {
        vec![path.to_owned()]
    };
    let mut out = Vec::new();
    for f in files {
        match read_file(&f).and_then(|t| parse_str(&f, &t)) {
            Ok(c) => out.extend(c),
            Err(e) => diag.fail_or_skip(e)?,
        }
    }
    Ok(out)
}

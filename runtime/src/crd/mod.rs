//! CustomResourceDefinitions from Rust types: the run-time half of
//! `#[derive(CustomResource)]` (feature `derive`).
//!
//! The derive (crate `kubegen-derive`, re-exported as
//! [`CustomResource`](crate::CustomResource)) sees only the tokens of the spec
//! struct. Everything that needs the types' schemas happens here, when
//! `Foo::crd()` runs:
//!
//! 1. [`schema_for`] asks schemars for the JSON Schema of the spec (and status)
//!    type, with every subschema inlined;
//! 2. [`structural::structural`] rewrites it into a structural schema, or says
//!    which field cannot be one and why ([`SchemaError`]);
//! 3. [`build`] wraps spec and status into the CRD manifest described by
//!    [`CrdInfo`] (names, scope, subresources, printer columns, ...), as JSON;
//! 4. the derive's generated code decodes that JSON into the typed
//!    `kubegen_api::apiextensions::v1::CustomResourceDefinition` ([`decode`]).
//!
//! The runtime never names `kubegen-api` (that crate depends on this one);
//! [`merge_crds`] and [`to_yaml`] are therefore generic over any serde type,
//! and work on the typed CRD as well as on JSON.
//!
//! ```ignore
//! // Compiled and run as kubegen-derive's `tests/crd.rs` (the crate using the
//! // derive needs kubegen-api for the typed CRD, which this crate cannot name).
//! use kubegen_runtime::CustomResource;
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! /// A Foo runs `replicas` copies of a deployment.
//! #[kubegen_runtime::schema]
//! #[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
//! #[kubegen(group = "samplecontroller.k8s.io", version = "v1alpha1", kind = "Foo", namespaced)]
//! #[kubegen(status = "FooStatus", shortname = "fo")]
//! #[serde(rename_all = "camelCase")]
//! pub struct FooSpec {
//!     pub deployment_name: String,
//!     #[kubegen(validation(rule = "self >= 0", message = "replicas must not be negative"))]
//!     pub replicas: Option<i32>,
//! }
//!
//! #[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
//! #[serde(rename_all = "camelCase")]
//! pub struct FooStatus {
//!     pub available_replicas: i32,
//! }
//!
//! let crd = Foo::crd().unwrap();
//! assert_eq!(crd.metadata.name.as_deref(), Some("foos.samplecontroller.k8s.io"));
//! println!("{}", kubegen_runtime::crd::to_yaml(&crd).unwrap());
//! ```
//!
//! **Field attributes** (`#[kubegen(list_type = "map", list_map_keys = ["name"])]`,
//! `validation(...)`, `map_type`, `preserve_unknown_fields`, `default`, ...)
//! reach the schema through the attribute macro [`schema`](crate::schema),
//! placed above `#[derive(JsonSchema)]` on the spec and on every nested type
//! that uses them: it rewrites them into `#[schemars(extend(...))]`, so the
//! keywords land on the field's node of the schemars output and travel with
//! the type wherever it is nested. One mechanism for every type, and no
//! second derive to keep in step with schemars.
//!
//! **Several versions** of a kind are several Rust types (one module per
//! version, each deriving `CustomResource`); [`merge_crds`] joins their CRDs
//! into one and marks the storage version.

mod meta_schemas;
pub mod structural;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

pub use structural::{SchemaError, SchemaErrorKind};

/// What went wrong building a CRD.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// A Rust type has no structural schema.
    #[error("{kind}: the {part} type has no structural schema: {source}")]
    Schema {
        /// The kind being built.
        kind: String,
        /// `spec` or `status`.
        part: &'static str,
        /// Where in the type, and why.
        #[source]
        source: SchemaError,
    },
    /// CRDs given to [`merge_crds`] do not describe one kind.
    #[error("cannot merge CRDs: {0}")]
    Merge(String),
    /// The CRD did not (de)serialize as the requested type.
    #[error("CRD JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The CRD did not serialize as YAML.
    #[error("CRD YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
}

/// Everything the derive knows about a kind, from its `#[kubegen(...)]`
/// attributes. The derive fills every field; [`build`] turns it into a CRD.
#[derive(Clone, Debug)]
pub struct CrdInfo {
    /// API group, e.g. `samplecontroller.k8s.io`.
    pub group: &'static str,
    /// Version name, e.g. `v1alpha1`.
    pub version: &'static str,
    /// Kind, e.g. `Foo`.
    pub kind: &'static str,
    /// Resource name in URLs, e.g. `foos`.
    pub plural: &'static str,
    /// Singular name, e.g. `foo`.
    pub singular: &'static str,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// `kubectl get fo`.
    pub short_names: &'static [&'static str],
    /// `kubectl get all` and friends.
    pub categories: &'static [&'static str],
    /// Extra `kubectl get` columns.
    pub printer_columns: &'static [PrinterColumn],
    /// JSON paths usable in field selectors.
    pub selectable_fields: &'static [&'static str],
    /// Whether `status` is a subresource.
    pub status_subresource: bool,
    /// The scale subresource, if any.
    pub scale: Option<ScaleSubresource>,
    /// Served by the API server.
    pub served: bool,
    /// The version objects are stored in (one per CRD; see [`merge_crds`]).
    pub storage: bool,
    /// Deprecated version.
    pub deprecated: bool,
    /// Warning returned to clients of a deprecated version.
    pub deprecation_warning: Option<&'static str>,
    /// CEL rules on the whole spec.
    pub spec_validations: &'static [ValidationRule],
    /// Doc comment of the spec type: the kind's description.
    pub description: Option<&'static str>,
}

/// An `additionalPrinterColumns` entry.
#[derive(Clone, Debug)]
pub struct PrinterColumn {
    /// Column header.
    pub name: &'static str,
    /// `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: &'static str,
    /// JSON path into the object, e.g. `.spec.replicas`.
    pub json_path: &'static str,
    /// Column description.
    pub description: Option<&'static str>,
    /// 0 shows by default; higher only with `-o wide`.
    pub priority: i32,
    /// OpenAPI format hint, e.g. `date-time`.
    pub format: Option<&'static str>,
}

/// The `scale` subresource's paths.
#[derive(Clone, Debug)]
pub struct ScaleSubresource {
    /// e.g. `.spec.replicas`.
    pub spec_replicas_path: &'static str,
    /// e.g. `.status.replicas`.
    pub status_replicas_path: &'static str,
    /// e.g. `.status.selector`.
    pub label_selector_path: Option<&'static str>,
}

/// One `x-kubernetes-validations` entry: a CEL rule.
#[derive(Clone, Debug)]
pub struct ValidationRule {
    /// The CEL expression, e.g. `self.min <= self.max`.
    pub rule: &'static str,
    /// Message when the rule fails.
    pub message: Option<&'static str>,
    /// CEL expression producing the message.
    pub message_expression: Option<&'static str>,
    /// `FieldValueInvalid`, `FieldValueForbidden`, ...
    pub reason: Option<&'static str>,
    /// Path of the field the failure is reported on.
    pub field_path: Option<&'static str>,
}

impl ValidationRule {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("rule".into(), json!(self.rule));
        let opt = [
            ("message", self.message),
            ("messageExpression", self.message_expression),
            ("reason", self.reason),
            ("fieldPath", self.field_path),
        ];
        for (k, v) in opt {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        Value::Object(m)
    }
}

/// The raw schemars schema of `T`: JSON Schema 2020-12 with subschemas inlined
/// (recursive types keep a `$ref`, which [`structural::structural`] reports).
pub fn raw_schema_for<T: schemars::JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// The structural schema of `T`, for the node at `path` (used in errors).
pub fn schema_for<T: schemars::JsonSchema>(path: &str) -> Result<Value, SchemaError> {
    structural::structural(raw_schema_for::<T>(), path)
}

/// The CRD of one version of a kind, as JSON, from its facts and the
/// structural schemas of its spec and status.
pub fn build(info: &CrdInfo, spec: Value, status: Option<Value>) -> Value {
    let mut spec = spec;
    if !info.spec_validations.is_empty()
        && let Value::Object(s) = &mut spec
    {
        let rules = s
            .entry("x-kubernetes-validations")
            .or_insert_with(|| json!([]));
        if let Value::Array(rules) = rules {
            rules.extend(info.spec_validations.iter().map(ValidationRule::to_json));
        }
    }
    let mut properties = Map::new();
    properties.insert("apiVersion".into(), json!({"type": "string"}));
    properties.insert("kind".into(), json!({"type": "string"}));
    properties.insert("metadata".into(), json!({"type": "object"}));
    properties.insert("spec".into(), spec);
    if let Some(status) = status {
        properties.insert("status".into(), status);
    }
    let mut root = json!({
        "type": "object",
        "properties": properties,
        "required": ["spec"],
    });
    if let Some(d) = info.description {
        root["description"] = json!(d);
    }

    let mut version = json!({
        "name": info.version,
        "served": info.served,
        "storage": info.storage,
        "schema": {"openAPIV3Schema": root},
    });
    if info.deprecated {
        version["deprecated"] = json!(true);
    }
    if let Some(w) = info.deprecation_warning {
        version["deprecationWarning"] = json!(w);
    }
    let mut subresources = Map::new();
    if info.status_subresource {
        subresources.insert("status".into(), json!({}));
    }
    if let Some(scale) = &info.scale {
        let mut s = json!({
            "specReplicasPath": scale.spec_replicas_path,
            "statusReplicasPath": scale.status_replicas_path,
        });
        if let Some(sel) = scale.label_selector_path {
            s["labelSelectorPath"] = json!(sel);
        }
        subresources.insert("scale".into(), s);
    }
    if !subresources.is_empty() {
        version["subresources"] = Value::Object(subresources);
    }
    if !info.printer_columns.is_empty() {
        let cols: Vec<Value> = info
            .printer_columns
            .iter()
            .map(|c| {
                let mut col = json!({"name": c.name, "type": c.type_, "jsonPath": c.json_path});
                if let Some(d) = c.description {
                    col["description"] = json!(d);
                }
                if c.priority != 0 {
                    col["priority"] = json!(c.priority);
                }
                if let Some(f) = c.format {
                    col["format"] = json!(f);
                }
                col
            })
            .collect();
        version["additionalPrinterColumns"] = Value::Array(cols);
    }
    if !info.selectable_fields.is_empty() {
        version["selectableFields"] = Value::Array(
            info.selectable_fields
                .iter()
                .map(|p| json!({"jsonPath": p}))
                .collect(),
        );
    }

    let mut names = json!({
        "kind": info.kind,
        "listKind": format!("{}List", info.kind),
        "plural": info.plural,
        "singular": info.singular,
    });
    if !info.short_names.is_empty() {
        names["shortNames"] = json!(info.short_names);
    }
    if !info.categories.is_empty() {
        names["categories"] = json!(info.categories);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", info.plural, info.group)},
        "spec": {
            "group": info.group,
            "names": names,
            "scope": if info.namespaced { "Namespaced" } else { "Cluster" },
            "versions": [version],
        },
    })
}

/// JSON into the caller's CRD type (the typed `CustomResourceDefinition`).
pub fn decode<C: DeserializeOwned>(crd: Value) -> Result<C, CrdError> {
    Ok(serde_json::from_value(crd)?)
}

/// One CRD holding every version of a kind, with `storage_version` the only
/// one marked `storage: true`.
///
/// Each input is the CRD of one or more versions of the same kind (same
/// name, group, names and scope); versions must not repeat. Works on the typed
/// `CustomResourceDefinition` or on JSON alike.
pub fn merge_crds<C: Serialize + DeserializeOwned>(
    crds: Vec<C>,
    storage_version: &str,
) -> Result<C, CrdError> {
    let mut values = Vec::with_capacity(crds.len());
    for c in crds {
        values.push(serde_json::to_value(c)?);
    }
    let Some(first) = values.first().cloned() else {
        return Err(CrdError::Merge("no CRDs given".into()));
    };
    let mut versions: Vec<Value> = Vec::new();
    for v in &values {
        for (what, ptr) in [
            ("metadata.name", "/metadata/name"),
            ("spec.group", "/spec/group"),
            ("spec.names", "/spec/names"),
            ("spec.scope", "/spec/scope"),
        ] {
            if v.pointer(ptr) != first.pointer(ptr) {
                return Err(CrdError::Merge(format!(
                    "{what} differs: {} vs {}",
                    first.pointer(ptr).unwrap_or(&Value::Null),
                    v.pointer(ptr).unwrap_or(&Value::Null)
                )));
            }
        }
        let vs = v
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for ver in vs {
            let name = ver.get("name").cloned().unwrap_or(Value::Null);
            if versions
                .iter()
                .any(|existing| existing.get("name") == Some(&name))
            {
                return Err(CrdError::Merge(format!("version {name} appears twice")));
            }
            versions.push(ver);
        }
    }
    let mut found = false;
    for ver in &mut versions {
        let is_storage = ver.get("name").and_then(Value::as_str) == Some(storage_version);
        found |= is_storage;
        ver["storage"] = json!(is_storage);
    }
    if !found {
        let names: Vec<&str> = versions
            .iter()
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .collect();
        return Err(CrdError::Merge(format!(
            "storage version {storage_version:?} is not among the versions {names:?}"
        )));
    }
    let mut merged = first;
    merged["spec"]["versions"] = Value::Array(versions);
    decode(merged)
}

/// The CRD as a YAML document, as `kubectl apply -f` and controller-gen users
/// expect (`cargo run --example crdgen > crd.yaml`).
pub fn to_yaml<C: Serialize>(crd: &C) -> Result<String, CrdError> {
    Ok(serde_yaml_ng::to_string(crd)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: &'static str) -> CrdInfo {
        CrdInfo {
            group: "example.com",
            version,
            kind: "Widget",
            plural: "widgets",
            singular: "widget",
            namespaced: true,
            short_names: &["wd"],
            categories: &[],
            printer_columns: &[PrinterColumn {
                name: "Size",
                type_: "integer",
                json_path: ".spec.size",
                description: None,
                priority: 0,
                format: None,
            }],
            selectable_fields: &[".spec.color"],
            status_subresource: true,
            scale: None,
            served: true,
            storage: true,
            deprecated: false,
            deprecation_warning: None,
            spec_validations: &[ValidationRule {
                rule: "self.size > 0",
                message: Some("size must be positive"),
                message_expression: None,
                reason: None,
                field_path: None,
            }],
            description: Some("A widget."),
        }
    }

    #[test]
    fn build_writes_names_subresources_columns_and_spec_rules() {
        let crd = build(
            &info("v1"),
            json!({"type": "object"}),
            Some(json!({"type": "object"})),
        );
        assert_eq!(crd["metadata"]["name"], "widgets.example.com");
        assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        let v = &crd["spec"]["versions"][0];
        assert_eq!(v["subresources"], json!({"status": {}}));
        assert_eq!(v["additionalPrinterColumns"][0]["jsonPath"], ".spec.size");
        assert_eq!(v["selectableFields"], json!([{"jsonPath": ".spec.color"}]));
        let root = &v["schema"]["openAPIV3Schema"];
        assert_eq!(
            root["properties"]["spec"]["x-kubernetes-validations"],
            json!([{"rule": "self.size > 0", "message": "size must be positive"}])
        );
        assert_eq!(root["description"], "A widget.");
    }

    #[test]
    fn merge_marks_exactly_the_storage_version() {
        let a = build(&info("v1"), json!({"type": "object"}), None);
        let b = build(&info("v2"), json!({"type": "object"}), None);
        let merged: Value = merge_crds(vec![a.clone(), b], "v2").unwrap();
        let versions = merged["spec"]["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0]["storage"], false);
        assert_eq!(versions[1]["storage"], true);

        let e = merge_crds(vec![a.clone(), a.clone()], "v1").unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let e = merge_crds(vec![a], "v9").unwrap_err();
        assert!(e.to_string().contains("\"v9\" is not among"), "{e}");
    }

    #[test]
    fn merge_refuses_different_kinds() {
        let a = build(&info("v1"), json!({"type": "object"}), None);
        let mut b = build(&info("v2"), json!({"type": "object"}), None);
        b["spec"]["scope"] = json!("Cluster");
        let e = merge_crds(vec![a, b], "v1").unwrap_err();
        assert!(e.to_string().contains("spec.scope differs"), "{e}");
    }
}

//! OpenAPI v2 (`swagger.json`) and v3 (one document per group/version, as
//! served at `/openapi/v3/...`) documents, reduced to what the model needs:
//! named schemas and the operations on each path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{files_under, parse_json, read_file};
use crate::error::{Error, Location, Result};

/// Which OpenAPI dialect a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecVersion {
    /// Swagger 2.0: schemas under `/definitions`.
    V2,
    /// OpenAPI 3.x: schemas under `/components/schemas`.
    V3,
}

/// A group/version/kind as the `x-kubernetes-group-version-kind` extension
/// writes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvk {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl Gvk {
    /// Reads a GVK object; `None` when the value is not one.
    pub fn from_value(v: &Value) -> Option<Self> {
        Some(Self {
            group: v.get("group")?.as_str()?.to_owned(),
            version: v.get("version")?.as_str()?.to_owned(),
            kind: v.get("kind")?.as_str()?.to_owned(),
        })
    }
}

/// One operation (path + method) of the API.
#[derive(Clone, Debug)]
pub struct Operation {
    /// URL path template, e.g. `/api/v1/namespaces/{namespace}/pods/{name}`.
    pub path: String,
    /// HTTP method, lower case.
    pub method: String,
    /// `x-kubernetes-action` (get, list, watch, watchlist, create via post, ...).
    pub action: Option<String>,
    /// `x-kubernetes-group-version-kind` of the operation.
    pub gvk: Option<Gvk>,
    /// Request media types accepted (v2 `consumes`, v3 request body content).
    pub consumes: Vec<String>,
    /// Where the operation is, for error messages.
    pub location: Location,
}

/// An OpenAPI document, reduced.
#[derive(Clone, Debug)]
pub struct OpenApiDoc {
    /// The file (as named by the user).
    pub source: PathBuf,
    /// v2 or v3.
    pub version: SpecVersion,
    /// Named schemas, by definition name.
    pub schemas: BTreeMap<String, Value>,
    /// Operations, in path then method order.
    pub operations: Vec<Operation>,
}

impl OpenApiDoc {
    /// The JSON pointer prefix of named schemas in this dialect.
    pub fn schemas_pointer(&self) -> &'static str {
        match self.version {
            SpecVersion::V2 => "/definitions",
            SpecVersion::V3 => "/components/schemas",
        }
    }

    /// Where the named schema `name` is.
    pub fn schema_location(&self, name: &str) -> Location {
        let mut loc = Location::new(&self.source, self.schemas_pointer());
        loc = loc.child(name);
        loc
    }

    /// Reads a parsed document. Errors name `source`.
    pub fn from_value(source: &Path, doc: Value) -> Result<Self> {
        let root = Location::new(source, "");
        let Value::Object(mut map) = doc else {
            return Err(Error::schema(
                &root,
                "an OpenAPI document must be a JSON object",
            ));
        };
        let version = if map.contains_key("swagger") {
            SpecVersion::V2
        } else if map
            .get("openapi")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with('3'))
        {
            SpecVersion::V3
        } else {
            return Err(Error::schema(
                &root,
                "neither a Swagger 2.0 document (no \"swagger\" key) nor an OpenAPI 3 document (no \"openapi\": \"3.x\")",
            ));
        };
        let schemas_value = match version {
            SpecVersion::V2 => map.remove("definitions"),
            SpecVersion::V3 => map
                .get_mut("components")
                .and_then(Value::as_object_mut)
                .and_then(|c| c.remove("schemas")),
        };
        let schemas = match schemas_value {
            None => BTreeMap::new(),
            Some(Value::Object(m)) => m.into_iter().collect(),
            Some(_) => {
                let p = if version == SpecVersion::V2 {
                    "/definitions"
                } else {
                    "/components/schemas"
                };
                return Err(Error::schema(
                    &Location::new(source, p),
                    "expected an object of named schemas",
                ));
            }
        };
        let mut operations = Vec::new();
        if let Some(paths) = map.get("paths") {
            let paths_loc = root.child("paths");
            let Some(paths) = paths.as_object() else {
                return Err(Error::schema(&paths_loc, "expected an object of paths"));
            };
            for (path, item) in paths {
                let item_loc = paths_loc.child(path);
                let Some(item) = item.as_object() else {
                    return Err(Error::schema(&item_loc, "expected a path item object"));
                };
                for (method, op) in item {
                    if !matches!(
                        method.as_str(),
                        "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
                    ) {
                        continue;
                    }
                    let op_loc = item_loc.child(method);
                    let consumes = match version {
                        SpecVersion::V2 => op
                            .get("consumes")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        SpecVersion::V3 => op
                            .pointer("/requestBody/content")
                            .and_then(Value::as_object)
                            .map(|c| c.keys().cloned().collect())
                            .unwrap_or_default(),
                    };
                    operations.push(Operation {
                        path: path.clone(),
                        method: method.clone(),
                        action: op
                            .get("x-kubernetes-action")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        gvk: op
                            .get("x-kubernetes-group-version-kind")
                            .and_then(Gvk::from_value),
                        consumes,
                        location: op_loc,
                    });
                }
            }
        }
        Ok(Self {
            source: source.to_owned(),
            version,
            schemas,
            operations,
        })
    }
}

/// Loads `path`: a single v2/v3 document, or a directory of v3 documents
/// (every `*.json` under it, in name order).
pub fn load(path: &Path) -> Result<Vec<OpenApiDoc>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let files = if meta.is_dir() {
        files_under(path, &["json"])?
    } else {
        vec![path.to_owned()]
    };
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no *.json OpenAPI documents in this directory",
            path.display()
        )));
    }
    files
        .iter()
        .map(|f| OpenApiDoc::from_value(f, parse_json(f, &read_file(f)?)?))
        .collect()
}

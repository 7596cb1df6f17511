//! Server-side apply ownership: a typed view of `metadata.managedFields`.
//!
//! The API server records, per field manager, the set of fields that manager
//! owns, encoded as a `fieldsV1` trie (structured-merge-diff's format):
//!
//! - `f:<name>` — a struct field or map key,
//! - `k:{"name":"web"}` — the element of an associative (`map`) list whose
//!   key fields have these values,
//! - `v:<json>` — the element of a `set` list with this value,
//! - `i:<n>` — the n-th element of an atomic list,
//! - `.` — the node itself is owned (not only some of its children);
//!   an empty `{}` is a leaf, also owned.
//!
//! [`FieldSet`] parses that trie, compares and combines sets, and
//! [`FieldSet::extract`] prunes an object's JSON down to the owned fields.
//! Generated `extract_*` functions are built on [`extract`]: they turn the
//! pruned JSON into an apply configuration, so a controller can read what it
//! owns, change one field and apply again without dropping the rest.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::meta::{FieldsV1, ManagedFieldsEntry};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or map key (`f:`).
    Field(String),
    /// An associative-list element selected by its key fields (`k:`), as
    /// canonical JSON of the key object.
    Key(String),
    /// A set-list element (`v:`), as canonical JSON of the value.
    Value(String),
    /// An atomic-list element by position (`i:`).
    Index(usize),
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(key) => {
                // `[name="web",protocol="TCP"]`, as the server words conflicts.
                let parsed: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={v}]"),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A set of field paths, stored as the trie the server sends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Whether the node itself is a member (a leaf, or marked with `.`).
    member: bool,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// Parse a `fieldsV1` trie. `at` names where it came from, for errors.
    pub fn from_fields_v1(fields: &FieldsV1, at: &str) -> Result<Self> {
        let value = fields
            .to_value()
            .map_err(|e| Error::InvalidRequest(format!("{at}: fieldsV1: {e}")))?;
        Self::parse(&value, at)
    }

    fn parse(value: &Value, at: &str) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::InvalidRequest(format!(
                "{at}: fieldsV1 node is not an object"
            )));
        };
        let mut set = FieldSet {
            member: map.is_empty(),
            children: BTreeMap::new(),
        };
        for (raw, child) in map {
            if raw == "." {
                set.member = true;
                continue;
            }
            let here = format!("{at}/{raw}");
            let element = parse_element(raw).ok_or_else(|| {
                Error::InvalidRequest(format!("{here}: unknown fieldsV1 path element {raw:?}"))
            })?;
            set.children.insert(element, Self::parse(child, &here)?);
        }
        Ok(set)
    }

    /// Encode back into the server's trie format.
    pub fn to_fields_v1(&self) -> FieldsV1 {
        FieldsV1::from_value(&self.to_value())
    }

    fn to_value(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".into(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            let key = match element {
                PathElement::Field(name) => format!("f:{name}"),
                PathElement::Key(k) => format!("k:{k}"),
                PathElement::Value(v) => format!("v:{v}"),
                PathElement::Index(i) => format!("i:{i}"),
            };
            map.insert(key, child.to_value());
        }
        Value::Object(map)
    }

    /// True when the set holds no path.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Whether the path is a member of the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((head, rest)) => self.children.get(head).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Every member path, in a stable order.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        if self.member && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (element, child) in &self.children {
            prefix.push(element.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.member |= other.member;
        for (element, child) in &other.children {
            let merged = match out.children.get(element) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(element.clone(), merged);
        }
        out
    }

    /// Paths in `self` that are not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (element, child) in &self.children {
            let rest = match other.children.get(element) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(element.clone(), rest);
            }
        }
        out
    }

    /// Prune `object` to the fields in this set.
    ///
    /// Members are copied whole; nodes that only have owned children keep just
    /// those. List elements are matched by key fields (`k:`), value (`v:`) or
    /// index (`i:`) and keep their original order.
    pub fn extract(&self, object: &Value) -> Option<Value> {
        if self.member && self.children.is_empty() {
            return Some(object.clone());
        }
        match object {
            Value::Object(fields) => {
                let mut out = Map::new();
                for (element, child) in &self.children {
                    if let PathElement::Field(name) = element
                        && let Some(value) = fields.get(name)
                        && let Some(kept) = child.extract(value)
                    {
                        out.insert(name.clone(), kept);
                    }
                }
                (self.member || !out.is_empty()).then_some(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    let owned = self.children.iter().find(|(element, _)| match element {
                        PathElement::Key(key) => key_matches(key, item),
                        PathElement::Value(v) => canonical(item) == *v,
                        PathElement::Index(i) => *i == index,
                        PathElement::Field(_) => false,
                    });
                    if let Some((_, child)) = owned
                        && let Some(kept) = child.extract(item)
                    {
                        out.push(kept);
                    }
                }
                (self.member || !out.is_empty()).then_some(Value::Array(out))
            }
            // A scalar where the set expected structure: the server owns the
            // scalar as a whole.
            _ => self.member.then(|| object.clone()),
        }
    }
}

impl fmt::Display for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, path) in self.paths().iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            for element in path {
                write!(f, "{element}")?;
            }
        }
        Ok(())
    }
}

fn parse_element(raw: &str) -> Option<PathElement> {
    let (prefix, rest) = raw.split_at_checked(2)?;
    match prefix {
        "f:" => Some(PathElement::Field(rest.to_owned())),
        "k:" => serde_json::from_str::<Value>(rest)
            .ok()
            .map(|v| PathElement::Key(canonical(&v))),
        "v:" => serde_json::from_str::<Value>(rest)
            .ok()
            .map(|v| PathElement::Value(canonical(&v))),
        "i:" => rest.parse().ok().map(PathElement::Index),
        _ => None,
    }
}

/// JSON with object keys sorted (serde_json's map is ordered), so equal values
/// compare equal as strings.
fn canonical(value: &Value) -> String {
    value.to_string()
}

fn key_matches(key: &str, item: &Value) -> bool {
    let Ok(Value::Object(wanted)) = serde_json::from_str::<Value>(key) else {
        return false;
    };
    wanted.iter().all(|(k, v)| item.get(k) == Some(v))
}

/// The fields `manager` owns through server-side apply on `subresource`
/// (`""` for the main resource), or an empty set when it owns none.
pub fn owned_fields(
    managed: &[ManagedFieldsEntry],
    manager: &str,
    subresource: &str,
) -> Result<FieldSet> {
    let mut set = FieldSet::default();
    for (n, entry) in managed.iter().enumerate() {
        let is_apply = entry.operation.as_deref() == Some("Apply");
        let same_subresource = entry.subresource.as_deref().unwrap_or("") == subresource;
        if entry.manager.as_deref() == Some(manager)
            && is_apply
            && same_subresource
            && let Some(fields) = &entry.fields_v1
        {
            let at = format!("metadata.managedFields[{n}].fieldsV1");
            set = set.union(&FieldSet::from_fields_v1(fields, &at)?);
        }
    }
    Ok(set)
}

/// client-go's `ExtractInto`: the part of `object` (as JSON) that `manager`
/// owns through apply on `subresource`, plus the identity an apply
/// configuration always carries (apiVersion, kind, metadata.name,
/// metadata.namespace).
pub fn extract(object: &Value, manager: &str, subresource: &str) -> Result<Value> {
    let managed: Vec<ManagedFieldsEntry> = match object.pointer("/metadata/managedFields") {
        Some(entries) => serde_json::from_value(entries.clone()).map_err(|e| {
            Error::InvalidRequest(format!("metadata.managedFields is malformed: {e}"))
        })?,
        None => Vec::new(),
    };
    let owned = owned_fields(&managed, manager, subresource)?;
    let mut out = match owned.extract(object) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for field in ["apiVersion", "kind"] {
        if let Some(v) = object.get(field) {
            out.insert(field.into(), v.clone());
        }
    }
    let metadata = out
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = metadata {
        for field in ["name", "namespace"] {
            if let Some(v) = object.pointer(&format!("/metadata/{field}")) {
                meta.insert(field.into(), v.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

/// One field that a server-side apply could not take because another manager
/// owns it (a 409 `Conflict` with `FieldManagerConflict` causes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldConflict {
    /// The contested field, as the server names it (`.spec.replicas`).
    pub field: String,
    /// The manager that owns it.
    pub manager: String,
    /// The server's message.
    pub message: String,
}

impl Error {
    /// The per-field conflicts of a failed server-side apply; empty for any
    /// other error. Retry with `ApplyOptions::force(true)` to take ownership.
    pub fn apply_conflicts(&self) -> Vec<FieldConflict> {
        let Error::Api(api) = self else {
            return Vec::new();
        };
        let causes = api.status.details.as_ref().and_then(|d| d.causes.as_ref());
        causes
            .into_iter()
            .flatten()
            .filter(|c| c.reason.as_deref() == Some("FieldManagerConflict"))
            .map(|c| {
                let message = c.message.as_deref().unwrap_or_default().to_owned();
                // `conflict with "other-manager" using apps/v1` or `... with "m": ...`
                let manager = message.split('"').nth(1).unwrap_or_default().to_owned();
                FieldConflict {
                    field: c.field.as_deref().unwrap_or_default().to_owned(),
                    manager,
                    message,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from structured-merge-diff's fieldpath tests (serialization
    //! round trip, set algebra) and client-go's ExtractInto tests (owned
    //! fields only, list elements by key, identity always present).
    use super::*;
    use serde_json::json;

    fn set(v: Value) -> FieldSet {
        FieldSet::from_fields_v1(&FieldsV1::from(v), "test").unwrap()
    }

    fn deployment_fields() -> Value {
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}
                }}}
            }
        })
    }

    #[test]
    fn fields_v1_round_trips_through_the_trie() {
        let raw = deployment_fields();
        assert_eq!(set(raw.clone()).to_fields_v1().to_value().unwrap(), raw);
    }

    #[test]
    fn contains_follows_members_not_intermediate_nodes() {
        let s = set(deployment_fields());
        let f = |n: &str| PathElement::Field(n.into());
        assert!(s.contains(&[f("spec"), f("replicas")]));
        assert!(!s.contains(&[f("spec")]), "spec only has owned children");
        let web = PathElement::Key(r#"{"name":"web"}"#.into());
        let containers = [f("spec"), f("template"), f("spec"), f("containers"), web];
        assert!(s.contains(&containers), ". marks the element itself");
    }

    #[test]
    fn union_and_difference_are_set_algebra() {
        let a = set(json!({"f:spec": {"f:replicas": {}, "f:paused": {}}}));
        let b = set(json!({"f:spec": {"f:paused": {}, "f:strategy": {}}}));
        let u = a.union(&b);
        assert_eq!(u.paths().len(), 3);
        let d = a.difference(&b);
        assert_eq!(d.to_string(), ".spec.replicas");
        assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn key_elements_print_like_server_conflicts() {
        let s = set(
            json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {"f:name": {}}}}}),
        );
        assert_eq!(s.to_string(), r#".spec.ports[port=80,protocol="TCP"].name"#);
    }

    #[test]
    fn malformed_fields_v1_names_the_place() {
        let err =
            FieldSet::from_fields_v1(&FieldsV1::from(json!({"f:spec": {"x:odd": {}}})), "here")
                .unwrap_err();
        assert!(err.to_string().contains("here/f:spec/x:odd"), "{err}");
        let err =
            FieldSet::from_fields_v1(&FieldsV1::from(json!({"f:spec": 3})), "here").unwrap_err();
        assert!(err.to_string().contains("here/f:spec"), "{err}");
    }

    #[test]
    fn extract_keeps_only_owned_fields_and_identity() {
        let object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "default", "uid": "u1",
                "labels": {"app": "web", "team": "other"},
                "managedFields": [
                    {"manager": "me", "operation": "Apply", "apiVersion": "apps/v1",
                     "fieldsType": "FieldsV1", "fieldsV1": deployment_fields()},
                    {"manager": "other", "operation": "Apply",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}}
                ]
            },
            "spec": {
                "replicas": 3, "paused": false,
                "template": {"spec": {"containers": [
                    {"name": "sidecar", "image": "s:1"},
                    {"name": "web", "image": "w:1", "imagePullPolicy": "Always"}
                ]}}
            },
            "status": {"replicas": 3}
        });
        let got = extract(&object, "me", "").unwrap();
        assert_eq!(
            got,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                "spec": {"replicas": 3, "template": {"spec": {"containers": [
                    {"name": "web", "image": "w:1"}
                ]}}}
            })
        );
    }

    #[test]
    fn extract_for_a_manager_owning_nothing_is_just_identity() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "b"}});
        assert_eq!(
            extract(&object, "nobody", "").unwrap(),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}})
        );
    }

    #[test]
    fn extract_matches_set_values_and_indexes() {
        let s = set(json!({"f:finalizers": {"v:\"a\"": {}}, "f:args": {"i:1": {}}}));
        let object = json!({"finalizers": ["a", "b"], "args": ["x", "y", "z"]});
        assert_eq!(
            s.extract(&object).unwrap(),
            json!({"finalizers": ["a"], "args": ["y"]})
        );
    }

    #[test]
    fn apply_conflicts_name_field_and_manager() {
        let status: crate::meta::Status = serde_json::from_value(json!({
            "kind": "Status", "status": "Failure", "code": 409, "reason": "Conflict",
            "message": "Apply failed with 1 conflict: conflict with \"first\" using apps/v1: .spec.replicas",
            "details": {"causes": [{"reason": "FieldManagerConflict",
                "message": "conflict with \"first\" using apps/v1", "field": ".spec.replicas"}]}
        })).unwrap();
        let err = Error::from(crate::error::ApiError {
            status,
            code: 409,
            request: "PATCH x".into(),
        });
        let conflicts = err.apply_conflicts();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, ".spec.replicas");
        assert_eq!(conflicts[0].manager, "first");
        assert!(
            Error::InvalidRequest("x".into())
                .apply_conflicts()
                .is_empty()
        );
    }

    #[test]
    fn update_entries_and_other_subresources_are_not_apply_ownership() {
        let entries: Vec<ManagedFieldsEntry> = serde_json::from_value(json!([
            {"manager": "me", "operation": "Update", "fieldsV1": {"f:a": {}}},
            {"manager": "me", "operation": "Apply", "subresource": "status", "fieldsV1": {"f:b": {}}},
            {"manager": "me", "operation": "Apply", "fieldsV1": {"f:c": {}}}
        ])).unwrap();
        assert_eq!(owned_fields(&entries, "me", "").unwrap().to_string(), ".c");
        assert_eq!(
            owned_fields(&entries, "me", "status").unwrap().to_string(),
            ".b"
        );
    }
}

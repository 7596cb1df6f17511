//! From a schemars schema to a *structural* schema the API server accepts.
//!
//! A CRD's `openAPIV3Schema` must be structural: every node says its `type`
//! (unless it is `x-kubernetes-int-or-string` or
//! `x-kubernetes-preserve-unknown-fields`), there are no `$ref`s, `nullable`
//! replaces `null` types, and `anyOf`/`oneOf`/`allOf` may only add value
//! checks (such as `required`) to fields the surrounding schema already
//! declares. schemars writes JSON Schema 2020-12, so [`structural`] rewrites it:
//!
//! | schemars writes | becomes |
//! |---|---|
//! | `true` (e.g. `serde_json::Value`), or `{}` | `x-kubernetes-preserve-unknown-fields: true` |
//! | `type: [T, "null"]`, `anyOf: [S, {type: null}]`, `null` in `enum` | `T` / `S` with `nullable: true` |
//! | `const: c` | `enum: [c]` |
//! | `oneOf`/`anyOf` of string constants (unit enums with docs) | one `type: string` with the union `enum` |
//! | `oneOf`/`anyOf` of objects (tagged enums) | the union of the variants' properties; differing `required` lists move into `anyOf` |
//! | `allOf` of objects | merged into the node |
//! | `additionalProperties: false` | dropped (not allowed beside `properties`) |
//! | `type: object` with `additionalProperties: true` | `x-kubernetes-preserve-unknown-fields: true` |
//! | `uniqueItems: true` | dropped; `x-kubernetes-list-type: set` for scalar items |
//! | integer formats `uint8`..`uint64` | `int32` or `int64` |
//!
//! and refuses, with a [`SchemaError`] naming the field and the reason, what
//! has no structural form: recursive types (a `$ref` that inlining left
//! behind), tuples, unit types, and alternatives of different JSON types
//! (an untagged enum of a string and a struct). A node marked
//! `x-kubernetes-preserve-unknown-fields` (`#[kubegen(preserve_unknown_fields)]`)
//! keeps its alternatives out of the schema instead: the server stores any value
//! there.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// Why a schema cannot become structural, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: {kind}")]
pub struct SchemaError {
    /// JSON path of the offending node, e.g. `.spec.ports[*].target`.
    pub path: String,
    /// What is wrong there.
    pub kind: SchemaErrorKind,
}

/// The reasons a schema has no structural form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaErrorKind {
    /// A type contains itself; structural schemas are finite trees.
    #[error(
        "the type `{0}` contains itself; a structural schema cannot be recursive \
         (mark the field #[kubegen(preserve_unknown_fields)] and use serde_json::Value there)"
    )]
    Recursive(String),
    /// Alternatives (an untagged enum, several `type`s) of different JSON types.
    #[error(
        "the value may be any of {0:?}, but a structural schema gives every field one JSON type \
         (use a tagged enum, IntOrString for integer-or-string, or #[kubegen(preserve_unknown_fields)])"
    )]
    MixedTypes(Vec<String>),
    /// Variants of an enum declare the same field with different schemas.
    #[error(
        "the enum's variants declare field `{0}` with different schemas; the structural schema \
         merges all variants' fields into one object, so they must agree"
    )]
    VariantsDisagree(String),
    /// Tuples and tuple structs serialize as arrays of mixed items.
    #[error(
        "tuples have no structural schema (items of one array must share one schema); use a struct"
    )]
    Tuple,
    /// `()` or a unit struct: always `null`.
    #[error("the value is always null (a unit type); structural schemas have no null type")]
    Null,
    /// The `false` schema accepts nothing.
    #[error("the schema accepts no value at all")]
    Never,
    /// A map flattened beside named fields.
    #[error(
        "the object has named fields and also arbitrary extra keys (a flattened map); \
         a structural schema allows one or the other"
    )]
    FieldsBesideMap,
    /// Something that is not a JSON schema object.
    #[error("not a schema: {0}")]
    NotASchema(String),
}

/// Turn a schemars-generated (2020-12, subschemas inlined) schema into a
/// structural one. `path` names the root in errors (`.spec`).
pub fn structural(schema: Value, path: &str) -> Result<Value, SchemaError> {
    let mut schema = schema;
    if let Value::Object(root) = &mut schema {
        // Only the root carries these: the meta-schema, leftover definitions
        // (recursion is reported where its $ref is), and the Rust type's name.
        root.remove("$schema");
        root.remove("$defs");
        root.remove("definitions");
        root.remove("title");
    }
    convert(schema, path)
}

/// Keywords a CRD schema does not have; dropping them loses no validation the
/// server would have done.
const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "definitions",
    "readOnly",
    "writeOnly",
    "deprecated",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentEncoding",
    "contentMediaType",
];

fn err(path: &str, kind: SchemaErrorKind) -> SchemaError {
    SchemaError {
        path: path.to_owned(),
        kind,
    }
}

fn preserve_unknown() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "x-kubernetes-preserve-unknown-fields".into(),
        Value::Bool(true),
    );
    m
}

fn flag(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool) == Some(true)
}

fn is_null_schema(v: &Value) -> bool {
    match v.get("type") {
        Some(Value::String(t)) => t == "null",
        _ => v.get("const").is_some_and(Value::is_null) || v.get("enum") == Some(&json!([null])),
    }
}

fn convert(node: Value, path: &str) -> Result<Value, SchemaError> {
    let mut obj = match node {
        Value::Bool(true) => return Ok(Value::Object(preserve_unknown())),
        Value::Bool(false) => return Err(err(path, SchemaErrorKind::Never)),
        Value::Object(m) => m,
        other => return Err(err(path, SchemaErrorKind::NotASchema(other.to_string()))),
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        return Err(err(path, SchemaErrorKind::Recursive(name)));
    }
    for k in DROPPED {
        obj.remove(*k);
    }

    // Option<T> of a schema that is itself a combination: schemars writes
    // `anyOf: [T, {type: null}]`. Collapse to T (outer keywords such as the
    // field's description win) and mark it nullable.
    let mut nullable = false;
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = obj.get_mut(key) else {
            continue;
        };
        let before = branches.len();
        branches.retain(|b| !is_null_schema(b));
        if branches.len() == before {
            continue;
        }
        nullable = true;
        match branches.len() {
            0 => return Err(err(path, SchemaErrorKind::Null)),
            1 => {
                let only = branches.pop().unwrap_or(Value::Bool(true));
                obj.remove(key);
                let mut merged = match only {
                    Value::Object(m) => m,
                    Value::Bool(true) => preserve_unknown(),
                    Value::Bool(false) => return Err(err(path, SchemaErrorKind::Never)),
                    other => return Err(err(path, SchemaErrorKind::NotASchema(other.to_string()))),
                };
                for (k, v) in obj {
                    merged.insert(k, v);
                }
                let mut out = convert(Value::Object(merged), path)?;
                if let Value::Object(o) = &mut out {
                    o.insert("nullable".into(), Value::Bool(true));
                }
                return Ok(out);
            }
            _ => {}
        }
    }

    if let Some(c) = obj.remove("const") {
        obj.entry("enum").or_insert_with(|| Value::Array(vec![c]));
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        let before = values.len();
        values.retain(|v| !v.is_null());
        if values.len() != before {
            nullable = true;
        }
        if values.is_empty() {
            return Err(err(path, SchemaErrorKind::Null));
        }
    }
    match obj.get("type") {
        Some(Value::Array(types)) => {
            let names: Vec<String> = types
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            let non_null: Vec<String> = names.iter().filter(|t| *t != "null").cloned().collect();
            if non_null.len() != names.len() {
                nullable = true;
            }
            match non_null.as_slice() {
                [] => return Err(err(path, SchemaErrorKind::Null)),
                [one] => {
                    obj.insert("type".into(), Value::String(one.clone()));
                }
                _ => return Err(err(path, SchemaErrorKind::MixedTypes(non_null))),
            }
        }
        Some(Value::String(t)) if t == "null" => return Err(err(path, SchemaErrorKind::Null)),
        _ => {}
    }
    if obj.get("default").is_some_and(Value::is_null) {
        // `#[serde(default)]` on an Option: "absent" needs no default.
        obj.remove("default");
    }

    if flag(&obj, "x-kubernetes-int-or-string") {
        // The one place structural schemas allow types inside anyOf:
        // `anyOf: [{type: integer}, {type: string}]` next to the flag.
        obj.remove("type");
        obj.remove("oneOf");
        obj.insert(
            "anyOf".into(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
        return Ok(finish(obj, nullable));
    }
    if flag(&obj, "x-kubernetes-preserve-unknown-fields")
        && (obj.contains_key("anyOf") || obj.contains_key("oneOf"))
    {
        // The user chose "store anything here" for alternatives that have no
        // structural form.
        obj.remove("anyOf");
        obj.remove("oneOf");
        obj.remove("type");
        return Ok(finish(obj, nullable));
    }

    // Take both out first: merging writes an `anyOf` of `required` lists
    // that must not be read back as alternatives.
    let alternatives: Vec<(&str, Value)> = ["oneOf", "anyOf"]
        .into_iter()
        .filter_map(|k| obj.remove(k).map(|v| (k, v)))
        .collect();
    for (key, alternatives) in alternatives {
        {
            let Value::Array(branches) = alternatives else {
                return Err(err(
                    path,
                    SchemaErrorKind::NotASchema(format!("{key} is not a list")),
                ));
            };
            merge_alternatives(&mut obj, branches, path)?;
        }
    }
    if let Some(all) = obj.remove("allOf") {
        let Value::Array(parts) = all else {
            return Err(err(
                path,
                SchemaErrorKind::NotASchema("allOf is not a list".into()),
            ));
        };
        for part in parts {
            let part = match convert(part, path)? {
                Value::Object(m) => m,
                _ => continue,
            };
            merge_object_into(&mut obj, part, path)?;
        }
    }

    if let Some(props) = obj.remove("properties") {
        let Value::Object(props) = props else {
            return Err(err(
                path,
                SchemaErrorKind::NotASchema("properties is not an object".into()),
            ));
        };
        let mut out = Map::new();
        for (name, sub) in props {
            let sub_path = format!("{path}.{name}");
            out.insert(name, convert(sub, &sub_path)?);
        }
        obj.insert("properties".into(), Value::Object(out));
    }
    let has_fields = obj
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    match obj.remove("additionalProperties") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) if !has_fields => {
            obj.insert(
                "x-kubernetes-preserve-unknown-fields".into(),
                Value::Bool(true),
            );
        }
        Some(Value::Object(m)) if m.is_empty() && !has_fields => {
            obj.insert(
                "x-kubernetes-preserve-unknown-fields".into(),
                Value::Bool(true),
            );
        }
        Some(_) if has_fields => return Err(err(path, SchemaErrorKind::FieldsBesideMap)),
        Some(values) => {
            let values = convert(values, &format!("{path}[*]"))?;
            if values
                .as_object()
                .is_some_and(|v| v.len() == 1 && flag(v, "x-kubernetes-preserve-unknown-fields"))
            {
                obj.insert(
                    "x-kubernetes-preserve-unknown-fields".into(),
                    Value::Bool(true),
                );
            } else {
                obj.insert("additionalProperties".into(), values);
            }
        }
    }

    if obj.contains_key("prefixItems") || matches!(obj.get("items"), Some(Value::Array(_))) {
        return Err(err(path, SchemaErrorKind::Tuple));
    }
    if let Some(items) = obj.remove("items") {
        obj.insert("items".into(), convert(items, &format!("{path}[*]"))?);
    }
    if obj.remove("uniqueItems") == Some(Value::Bool(true))
        && !obj.contains_key("x-kubernetes-list-type")
    {
        // The server refuses uniqueItems (quadratic to check); a set list says
        // the same for scalars.
        let scalar_items = obj
            .get("items")
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| matches!(t, "string" | "integer" | "number" | "boolean"));
        if scalar_items {
            obj.insert("x-kubernetes-list-type".into(), Value::String("set".into()));
        }
    }

    if let Some(format) = obj.get("format").and_then(Value::as_str) {
        let mapped = match format {
            "int8" | "int16" | "int32" | "uint8" | "uint16" => Some("int32"),
            "uint32" | "uint64" | "uint" | "int" | "int128" | "uint128" => Some("int64"),
            _ => None,
        };
        if let Some(m) = mapped {
            obj.insert("format".into(), Value::String(m.into()));
        }
    }

    if !obj.contains_key("type") {
        let inferred = if obj.contains_key("properties") || obj.contains_key("additionalProperties")
        {
            Some("object")
        } else if obj.contains_key("items") {
            Some("array")
        } else {
            obj.get("enum")
                .and_then(Value::as_array)
                .and_then(|vals| json_type_of_all(vals))
        };
        match inferred {
            Some(t) => {
                obj.insert("type".into(), Value::String(t.into()));
            }
            None if flag(&obj, "x-kubernetes-preserve-unknown-fields") => {}
            // `{}` or only annotations: any value.
            None => {
                obj.insert(
                    "x-kubernetes-preserve-unknown-fields".into(),
                    Value::Bool(true),
                );
            }
        }
    }
    Ok(finish(obj, nullable))
}

fn finish(mut obj: Map<String, Value>, nullable: bool) -> Value {
    if nullable {
        obj.insert("nullable".into(), Value::Bool(true));
    }
    Value::Object(obj)
}

fn json_type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn json_type_of_all(values: &[Value]) -> Option<&'static str> {
    let first = json_type_of(values.first()?);
    values
        .iter()
        .all(|v| json_type_of(v) == first)
        .then_some(first)
}

/// The JSON type a converted node describes ("any" for preserve-unknown nodes).
fn node_type(node: &Map<String, Value>) -> String {
    if flag(node, "x-kubernetes-int-or-string") {
        return "int-or-string".into();
    }
    node.get("type")
        .and_then(Value::as_str)
        .unwrap_or("any")
        .to_owned()
}

/// Merge the alternatives of a `oneOf`/`anyOf` (an enum) into `obj`.
fn merge_alternatives(
    obj: &mut Map<String, Value>,
    branches: Vec<Value>,
    path: &str,
) -> Result<(), SchemaError> {
    let mut converted = Vec::with_capacity(branches.len());
    for b in branches {
        match convert(b, path)? {
            Value::Object(m) => converted.push(m),
            other => return Err(err(path, SchemaErrorKind::NotASchema(other.to_string()))),
        }
    }
    let mut types: Vec<String> = converted.iter().map(node_type).collect();
    if let Some(own) = obj.get("type").and_then(Value::as_str) {
        types.push(own.to_owned());
    }
    types.sort();
    types.dedup();
    let ty = match types.as_slice() {
        [one] if one != "any" && one != "int-or-string" => one.clone(),
        _ => return Err(err(path, SchemaErrorKind::MixedTypes(types))),
    };
    obj.insert("type".into(), Value::String(ty.clone()));
    if converted.iter().any(|b| flag(b, "nullable")) {
        obj.insert("nullable".into(), Value::Bool(true));
    }
    match ty.as_str() {
        "object" => {
            let mut required_sets: Vec<BTreeSet<String>> = Vec::new();
            for mut branch in converted {
                let req = branch
                    .remove("required")
                    .and_then(|r| r.as_array().cloned())
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                required_sets.push(req);
                branch.remove("description");
                branch.remove("title");
                merge_object_into(obj, branch, path)?;
            }
            set_alternative_required(obj, required_sets);
        }
        "array" => {
            let mut items: Option<Value> = obj.get("items").cloned();
            for branch in &converted {
                match (&items, branch.get("items")) {
                    (_, None) => {}
                    (None, Some(i)) => items = Some(i.clone()),
                    (Some(a), Some(b)) if a == b => {}
                    _ => return Err(err(path, SchemaErrorKind::VariantsDisagree("[*]".into()))),
                }
            }
            if let Some(i) = items {
                obj.insert("items".into(), i);
            }
        }
        _ => {
            // Scalars: a unit enum (each variant a string constant with its
            // own doc) or same-typed alternatives. The enum is the union when
            // every branch is an enum; otherwise any value of the type.
            let mut all: Vec<Value> = Vec::new();
            let mut every_branch_enumerated = true;
            for b in &converted {
                match b.get("enum").and_then(Value::as_array) {
                    Some(vals) => {
                        for v in vals {
                            if !all.contains(v) {
                                all.push(v.clone());
                            }
                        }
                    }
                    None => every_branch_enumerated = false,
                }
            }
            if every_branch_enumerated && !all.is_empty() {
                obj.insert("enum".into(), Value::Array(all));
            }
        }
    }
    Ok(())
}

/// Properties of `part` join `obj`'s; a field declared twice must agree,
/// except string enums (an internally tagged enum's tag), which unite.
fn merge_object_into(
    obj: &mut Map<String, Value>,
    mut part: Map<String, Value>,
    path: &str,
) -> Result<(), SchemaError> {
    if let Some(Value::Object(props)) = part.remove("properties") {
        let target = obj
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(target) = target else {
            return Err(err(
                path,
                SchemaErrorKind::NotASchema("properties is not an object".into()),
            ));
        };
        for (name, schema) in props {
            match target.get_mut(&name) {
                None => {
                    target.insert(name, schema);
                }
                Some(existing) if *existing == schema => {}
                Some(existing) => {
                    if !unite_string_enums(existing, &schema) {
                        return Err(err(path, SchemaErrorKind::VariantsDisagree(name)));
                    }
                }
            }
        }
    }
    if let Some(Value::Array(req)) = part.remove("required") {
        let target = obj
            .entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(target) = target {
            for r in req {
                if !target.contains(&r) {
                    target.push(r);
                }
            }
        }
    }
    part.remove("type");
    for (k, v) in part {
        obj.entry(k).or_insert(v);
    }
    Ok(())
}

fn unite_string_enums(existing: &mut Value, other: &Value) -> bool {
    let is_str_enum = |v: &Value| {
        v.get("type") == Some(&json!("string")) && v.get("enum").is_some_and(Value::is_array)
    };
    if !is_str_enum(existing) || !is_str_enum(other) {
        return false;
    }
    let extra: Vec<Value> = other
        .get("enum")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Array(vals)) = existing.get_mut("enum") {
        for v in extra {
            if !vals.contains(&v) {
                vals.push(v);
            }
        }
    }
    if let Some(o) = existing.as_object_mut() {
        // Each variant's tag had its own description; none fits the union.
        o.remove("description");
    }
    true
}

/// Fields every variant requires stay `required`; the rest become an
/// `anyOf` of `required` lists (value checks on properties declared above,
/// which structural schemas allow). `anyOf` rather than `oneOf`: two variants
/// may require the same fields, and serde accepts such objects.
fn set_alternative_required(obj: &mut Map<String, Value>, sets: Vec<BTreeSet<String>>) {
    let Some(first) = sets.first() else { return };
    let common: BTreeSet<String> = sets.iter().skip(1).fold(first.clone(), |acc, s| &acc & s);
    let mut own: BTreeSet<String> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    own.extend(common.iter().cloned());
    if !own.is_empty() {
        obj.insert("required".into(), json!(own));
    }
    if sets.contains(&common) {
        // Some variant needs nothing beyond the common fields: no extra check.
        return;
    }
    let mut alternatives: Vec<Value> = Vec::new();
    for s in &sets {
        let extra: Vec<&String> = s.difference(&common).collect();
        let alt = json!({ "required": extra });
        if !alternatives.contains(&alt) {
            alternatives.push(alt);
        }
    }
    obj.insert("anyOf".into(), Value::Array(alternatives));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: Value) -> Value {
        structural(v, ".spec").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn option_of_scalar_becomes_nullable() {
        assert_eq!(
            ok(json!({"type": ["string", "null"], "description": "d"})),
            json!({"type": "string", "description": "d", "nullable": true})
        );
    }

    #[test]
    fn option_of_combination_collapses_and_keeps_outer_keys() {
        let s = ok(
            json!({"anyOf": [{"type": "object", "properties": {"a": {"type": "integer", "format": "uint16"}}}, {"type": "null"}], "description": "outer"}),
        );
        assert_eq!(
            s,
            json!({"type": "object", "properties": {"a": {"type": "integer", "format": "int32"}}, "description": "outer", "nullable": true})
        );
    }

    #[test]
    fn free_form_json_preserves_unknown_fields() {
        let s = ok(
            json!({"type": "object", "properties": {"any": true, "map": {"type": "object", "additionalProperties": true}}}),
        );
        assert_eq!(
            s["properties"]["any"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            s["properties"]["map"],
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        );
    }

    #[test]
    fn documented_unit_enum_becomes_one_string_enum() {
        let s = ok(json!({"oneOf": [
            {"type": "string", "const": "Fast", "description": "quick"},
            {"type": "string", "enum": ["Slow", "Steady"]}
        ]}));
        assert_eq!(
            s,
            json!({"type": "string", "enum": ["Fast", "Slow", "Steady"]})
        );
    }

    #[test]
    fn externally_tagged_enum_hoists_variants_and_keeps_required_alternatives() {
        let s = ok(json!({"oneOf": [
            {"type": "object", "properties": {"http": {"type": "string"}}, "required": ["http"], "additionalProperties": false},
            {"type": "object", "properties": {"tcp": {"type": "integer"}}, "required": ["tcp"], "additionalProperties": false}
        ]}));
        assert_eq!(
            s,
            json!({"type": "object",
                   "properties": {"http": {"type": "string"}, "tcp": {"type": "integer"}},
                   "anyOf": [{"required": ["http"]}, {"required": ["tcp"]}]})
        );
    }

    #[test]
    fn internally_tagged_enum_unites_the_tag() {
        let s = ok(json!({"oneOf": [
            {"type": "object", "properties": {"kind": {"type": "string", "const": "A"}, "x": {"type": "string"}}, "required": ["kind", "x"]},
            {"type": "object", "properties": {"kind": {"type": "string", "const": "B"}}, "required": ["kind"]}
        ]}));
        assert_eq!(
            s["properties"]["kind"],
            json!({"type": "string", "enum": ["A", "B"]})
        );
        assert_eq!(s["required"], json!(["kind"]));
        assert!(
            s.get("anyOf").is_none(),
            "variant B needs only the tag: {s}"
        );
    }

    #[test]
    fn untagged_enum_of_string_and_object_is_refused_with_the_reason() {
        let e = structural(
            json!({"type": "object", "properties": {"target": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {}}]}}}),
            ".spec",
        )
        .unwrap_err();
        assert_eq!(e.path, ".spec.target");
        assert_eq!(
            e.kind,
            SchemaErrorKind::MixedTypes(vec!["object".into(), "string".into()])
        );
        assert!(e.to_string().contains("one JSON type"), "{e}");
    }

    #[test]
    fn preserve_unknown_fields_accepts_mixed_alternatives() {
        let s = ok(
            json!({"x-kubernetes-preserve-unknown-fields": true, "anyOf": [{"type": "string"}, {"type": "object"}]}),
        );
        assert_eq!(s, json!({"x-kubernetes-preserve-unknown-fields": true}));
    }

    #[test]
    fn leftover_ref_is_reported_as_recursion() {
        let e = structural(
            json!({"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}}, "$defs": {"Tree": {}}}),
            ".spec",
        )
        .unwrap_err();
        assert_eq!(e.path, ".spec.children[*]");
        assert_eq!(e.kind, SchemaErrorKind::Recursive("Tree".into()));
    }

    #[test]
    fn tuples_are_refused() {
        let e = structural(
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}),
            ".spec",
        )
        .unwrap_err();
        assert_eq!(e.kind, SchemaErrorKind::Tuple);
    }

    #[test]
    fn unique_scalar_items_become_a_set_list() {
        let s = ok(json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true}));
        assert_eq!(
            s,
            json!({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"})
        );
    }

    #[test]
    fn nullable_int_or_string_keeps_the_allowed_any_of() {
        let s = ok(
            json!({"anyOf": [{"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}, {"type": "null"}]}),
        );
        assert_eq!(
            s,
            json!({"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": true})
        );
    }
}

//! The walk over an object and its schema, in the API server's order:
//! defaults, the schema's own checks, then the CEL rules unless a blocking
//! error came first.

use serde_json::Value;

use crate::cel::{self, Verdict};
use crate::schema::{ListType, Node, Type, error};
use crate::{FieldError, Reason, Report, Unevaluated};

/// Errors after which the server does not run CEL rules.
const BLOCKING: &[Reason] = &[
    Reason::NotSupported,
    Reason::Required,
    Reason::TooLong,
    Reason::TooMany,
    Reason::TypeInvalid,
];

#[derive(Default)]
struct Out {
    errors: Vec<FieldError>,
    unevaluated: Vec<Unevaluated>,
    /// Present properties that passed: go-openapi's measure of how near an
    /// `anyOf`/`oneOf` alternative came, to pick the one whose errors it reports.
    matches: usize,
}

impl Out {
    fn error(&mut self, field: &str, reason: Reason, detail: String) {
        self.errors.push(error(field, reason, detail));
    }

    fn unevaluated(&mut self, field: &str, check: String, why: String) {
        if !self.unevaluated.iter().any(|u| u.check == check) {
            self.unevaluated.push(Unevaluated {
                field: field.to_owned(),
                check,
                why,
            });
        }
    }
}

pub(crate) fn validate(
    root: &Node,
    has_rules: bool,
    object: &Value,
    old: Option<&Value>,
) -> Report {
    let mut object = object.clone();
    apply_defaults(root, &mut object);
    let mut out = Out::default();
    schema(root, &object, old, "", true, &mut out);
    if !has_rules {
        // No CEL rules: nothing to skip, and the server says nothing of them.
    } else if out.errors.iter().any(|e| BLOCKING.contains(&e.reason)) {
        out.error(
            "",
            Reason::Invalid,
            "null: some validation rules were not checked because the object was invalid; \
             correct the existing errors to complete validation"
                .to_owned(),
        );
    } else {
        rules(root, &object, old, "", true, &mut out);
    }
    Report {
        errors: out.errors,
        unevaluated: out.unevaluated,
    }
}

/// Whether `node` or a node below it has CEL rules.
pub(crate) fn has_rules(node: &Node) -> bool {
    !node.rules.is_empty()
        || node.properties.values().any(has_rules)
        || [&node.additional_properties, &node.items]
            .into_iter()
            .flatten()
            .any(|n| has_rules(n))
}

/// `path.key`, as schema errors name fields.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A property is there unless absent, or a `null` the server prunes (of a
/// field that is not `nullable`).
fn present<'v>(node: &Node, v: Option<&'v Value>) -> Option<&'v Value> {
    v.filter(|v| !v.is_null() || node.nullable)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What go-openapi takes for an integer: one written as such, or a whole
/// float within ±(2^53 - 1) (past that a float64 cannot tell).
fn is_integer(n: &serde_json::Number) -> bool {
    const MAX: f64 = 9_007_199_254_740_991.0;
    n.is_i64()
        || n.is_u64()
        || n.as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.abs() <= MAX)
}

/// The value as the server quotes it in a message.
fn quoted(v: &Value) -> String {
    v.to_string()
}

/// The checks of `node` on `value` (present) at `path`. Returns whether they
/// all passed.
fn schema(
    node: &Node,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    root: bool,
    out: &mut Out,
) -> bool {
    // Ratcheting: on update, a value the old object holds unchanged is not
    // checked again (a newer schema may refuse what was stored before it).
    if old == Some(value) {
        return true;
    }
    let before = out.errors.len();
    if value.is_null() {
        if !node.nullable && node.ty != Type::Any {
            out.error(
                path,
                Reason::TypeInvalid,
                format!(
                    "\"null\": {path} in body must be of type {}: \"null\"",
                    node.ty.name()
                ),
            );
        }
        return out.errors.len() == before;
    }
    // A wrong type is reported, and the other checks still run as far as
    // they apply to the value as it is (go-openapi's validators each check
    // the kinds of value they know).
    let type_ok = if node.int_or_string {
        matches!(value, Value::String(_)) || matches!(value, Value::Number(n) if is_integer(n))
    } else {
        match (node.ty, value) {
            (Type::Any, _) => true,
            (Type::Object, Value::Object(_))
            | (Type::Array, Value::Array(_))
            | (Type::String, Value::String(_))
            | (Type::Boolean, Value::Bool(_))
            | (Type::Number, Value::Number(_)) => true,
            (Type::Integer, Value::Number(n)) => is_integer(n),
            _ => false,
        }
    };
    if !type_ok {
        let got = json_type(value);
        let want = if node.int_or_string {
            "integer,string"
        } else {
            node.ty.name()
        };
        out.error(
            path,
            Reason::TypeInvalid,
            format!("\"{got}\": {path} in body must be of type {want}: \"{got}\""),
        );
    }
    if node.ty == Type::Integer
        && let Value::Number(n) = value
        && n.as_f64().is_some_and(|f| f.fract() != 0.0)
    {
        out.error(
            "",
            Reason::Invalid,
            format!("\"\": Checked value must be of type integer (default format) in {path}"),
        );
    }
    if !node.enum_values.is_empty() && !node.enum_values.iter().any(|e| same(e, value)) {
        let supported: Vec<String> = node.enum_values.iter().map(quoted).collect();
        out.error(
            path,
            Reason::NotSupported,
            format!(
                "{}: supported values: {}",
                quoted(value),
                supported.join(", ")
            ),
        );
    }
    match value {
        Value::String(s) => string(node, s, path, out),
        Value::Number(n) => number(node, n, value, path, out),
        Value::Array(items) => array(node, items, old, path, out),
        Value::Object(fields) => object(node, fields, value, old, path, root, out),
        _ => {}
    }
    composition(node, value, old, path, out);
    out.errors.len() == before
}

/// JSON equality, numbers by value (`1` equals `1.0`) at any depth.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn string(node: &Node, s: &str, path: &str, out: &mut Out) {
    let q = quoted(&Value::String(s.to_owned()));
    let len = s.chars().count() as u64;
    // Lengths, then the pattern: the first that fails is the one reported.
    if let Some(max) = node.max_length.filter(|&m| len > m) {
        out.error(
            path,
            Reason::TooLong,
            format!("may not be more than {max} bytes"),
        );
    } else if let Some(min) = node.min_length.filter(|&m| len < m) {
        out.error(
            path,
            Reason::Invalid,
            format!("{q}: {path} in body should be at least {min} chars long"),
        );
    } else if let Some(p) = &node.pattern {
        match &p.regex {
            Ok(re) if !re.is_match(s) => out.error(
                path,
                Reason::Invalid,
                format!("{q}: {path} in body should match '{}'", p.source),
            ),
            Ok(_) => {}
            Err(e) => out.unevaluated(
                path,
                format!("pattern `{}`", p.source),
                format!("the regex crate cannot compile it: {e}"),
            ),
        }
    }
    if let Some(f) = &node.format {
        match crate::format::check(f, s) {
            Some(true) => {}
            Some(false) => out.error(
                path,
                Reason::TypeInvalid,
                format!("{q}: {path} in body must be of type {f}: {q}"),
            ),
            None => out.unevaluated(
                path,
                format!("format `{f}`"),
                "this crate does not check it".to_owned(),
            ),
        }
    }
}

fn number(node: &Node, n: &serde_json::Number, value: &Value, path: &str, out: &mut Out) {
    let Some(x) = n.as_f64() else { return };
    let q = quoted(value);
    if let Some(m) = node.multiple_of
        && m != 0.0
        && (x / m).fract() != 0.0
    {
        out.error(
            path,
            Reason::Invalid,
            format!("{q}: {path} in body should be a multiple of {m}"),
        );
    }
    if let Some(max) = node.maximum {
        if node.exclusive_maximum && x >= max {
            out.error(
                path,
                Reason::Invalid,
                format!("{q}: {path} in body should be less than {max}"),
            );
        } else if x > max {
            out.error(
                path,
                Reason::Invalid,
                format!("{q}: {path} in body should be less than or equal to {max}"),
            );
        }
    }
    if let Some(min) = node.minimum {
        if node.exclusive_minimum && x <= min {
            out.error(
                path,
                Reason::Invalid,
                format!("{q}: {path} in body should be greater than {min}"),
            );
        } else if x < min {
            out.error(
                path,
                Reason::Invalid,
                format!("{q}: {path} in body should be greater than or equal to {min}"),
            );
        }
    }
}

fn array(node: &Node, items: &[Value], old: Option<&Value>, path: &str, out: &mut Out) {
    let n = items.len() as u64;
    if let Some(min) = node.min_items.filter(|&m| n < m) {
        out.error(
            path,
            Reason::Invalid,
            format!("{n}: {path} in body should have at least {min} items"),
        );
    }
    if let Some(max) = node.max_items.filter(|&m| n > m) {
        out.error(
            path,
            Reason::TooMany,
            format!("{n}: must have at most {max} items"),
        );
    }
    if node.unique_items
        && items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| same(a, b)))
    {
        out.error(
            path,
            Reason::Invalid,
            format!("\"\": {path} in body shouldn't contain duplicates"),
        );
    }
    if let Some(item) = &node.items {
        for (i, v) in items.iter().enumerate() {
            schema(
                item,
                v,
                correlated(node, old, v),
                &format!("{path}[{i}]"),
                false,
                out,
            );
        }
    }
    // x-kubernetes-list-type: the second of equal items (or keys) is
    // reported, once per value; a map's items must be objects.
    let key_of = |v: &Value| -> Option<Value> {
        match &node.list_type {
            ListType::Atomic => None,
            ListType::Set => Some(v.clone()),
            ListType::Map(names) => {
                let m = v.as_object()?;
                Some(
                    names
                        .iter()
                        .map(|k| m.get(k).cloned().unwrap_or(Value::Null))
                        .collect(),
                )
            }
        }
    };
    if node.list_type == ListType::Atomic {
        return;
    }
    let keys: Vec<Option<Value>> = items.iter().map(key_of).collect();
    for (i, v) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(k) = &keys[i] else {
            out.error(
                &at,
                Reason::Invalid,
                format!(
                    "{}: must be an object for an array of list-type map",
                    quoted(v)
                ),
            );
            continue;
        };
        let earlier = keys[..i]
            .iter()
            .filter(|w| w.as_ref().is_some_and(|w| same(w, k)))
            .count();
        if earlier == 1 {
            let shown = match (&node.list_type, v) {
                (ListType::Map(names), Value::Object(m)) => Value::Object(
                    names
                        .iter()
                        .filter_map(|n| Some((n.clone(), m.get(n)?.clone())))
                        .collect(),
                ),
                _ => v.clone(),
            };
            out.error(&at, Reason::Duplicate, shown.to_string());
        }
    }
}

fn object(
    node: &Node,
    fields: &serde_json::Map<String, Value>,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    root: bool,
    out: &mut Out,
) {
    let n = fields.len() as u64;
    if let Some(min) = node.min_properties.filter(|&m| n < m) {
        out.error(
            path,
            Reason::Invalid,
            format!("{n}: {path} in body should have at least {min} properties"),
        );
    }
    if let Some(max) = node.max_properties.filter(|&m| n > m) {
        out.error(
            path,
            Reason::TooMany,
            format!("{n}: must have at most {max} items"),
        );
    }
    for key in &node.required {
        let child_node = node.property(key);
        let there = match child_node {
            Some(c) => present(c, fields.get(key)).is_some(),
            None => fields.get(key).is_some_and(|v| !v.is_null()),
        };
        if !there {
            out.error(&child(path, key), Reason::Required, String::new());
        }
    }
    for (key, v) in fields {
        if let Some(c) = node.property(key)
            && let Some(v) = present(c, Some(v))
            && schema(
                c,
                v,
                old.and_then(|o| o.get(key)),
                &child(path, key),
                false,
                out,
            )
        {
            out.matches += 1;
        }
    }
    if node.embedded_resource && !root {
        for key in ["apiVersion", "kind"] {
            let at = child(path, key);
            match value.get(key) {
                None => out.error(&at, Reason::Required, "must not be empty".to_owned()),
                Some(Value::String(s)) if s.is_empty() => {
                    out.error(&at, Reason::Invalid, "\"\": must not be empty".to_owned())
                }
                Some(Value::String(_)) => {}
                Some(other) => {
                    out.error(&at, Reason::Invalid, format!("{other}: must be a string"))
                }
            }
        }
    }
}

/// `allOf`, `anyOf`, `oneOf` and `not`, with go-openapi's reports: the
/// composition's own error (on no field, naming the path in its message) and,
/// when no alternative passed, the errors of the one that came nearest.
fn composition(node: &Node, value: &Value, old: Option<&Value>, path: &str, out: &mut Out) {
    let try_one = |n: &Node| {
        let mut o = Out::default();
        schema(n, value, old, path, false, &mut o);
        o
    };
    // The alternative that came nearest: most matches, the first of equals.
    let best = |results: Vec<Out>| results.into_iter().rev().max_by_key(|o| o.matches);
    let merge = |out: &mut Out, o: Out| {
        out.errors.extend(o.errors);
        for u in o.unevaluated {
            out.unevaluated(&u.field, u.check, u.why);
        }
    };
    let what = format!("\"\": \"{path}\"");
    if !node.all_of.is_empty() {
        let results: Vec<Out> = node.all_of.iter().map(try_one).collect();
        let failed = results.iter().filter(|o| !o.errors.is_empty()).count();
        for o in results {
            merge(out, o);
        }
        if failed > 0 {
            out.error(
                "",
                Reason::Invalid,
                format!("{what} must validate all the schemas (allOf)"),
            );
        }
    }
    if !node.any_of.is_empty() {
        let results: Vec<Out> = node.any_of.iter().map(try_one).collect();
        if !results.iter().any(|o| o.errors.is_empty()) {
            out.error(
                "",
                Reason::Invalid,
                format!("{what} must validate at least one schema (anyOf)"),
            );
            if let Some(o) = best(results) {
                merge(out, o);
            }
        }
    }
    if !node.one_of.is_empty() {
        let results: Vec<Out> = node.one_of.iter().map(try_one).collect();
        let valid = results.iter().filter(|o| o.errors.is_empty()).count();
        if valid == 0 {
            out.error(
                "",
                Reason::Invalid,
                format!("{what} must validate one and only one schema (oneOf). Found none valid"),
            );
            if let Some(o) = best(results) {
                merge(out, o);
            }
        } else if valid > 1 {
            out.error("", Reason::Invalid, format!("{what} must validate one and only one schema (oneOf). Found {valid} valid alternatives"));
        }
    }
    if let Some(not) = &node.not
        && try_one(not).errors.is_empty()
    {
        out.error(
            "",
            Reason::Invalid,
            format!("{what} must not validate the schema (not)"),
        );
    }
}

/// The CEL rules of `node` and below, on `value` (and its `old` version).
fn rules(node: &Node, value: &Value, old: Option<&Value>, path: &str, root: bool, out: &mut Out) {
    if value.is_null() {
        return;
    }
    for rule in &node.rules {
        // Ratcheting: an unchanged value's rules are not evaluated again,
        // transition rules excepted.
        if !rule.transition && old == Some(value) {
            continue;
        }
        let old = match (rule.transition, old) {
            (false, _) => None,
            (true, Some(old)) => Some(old),
            (true, None) if rule.optional_old_self => {
                out.unevaluated(
                    path,
                    format!("rule `{}`", rule.source.trim()),
                    "optionalOldSelf rules are not evaluated without an old object".to_owned(),
                );
                continue;
            }
            // A transition rule: checked on update only.
            (true, None) => continue,
        };
        let field = match &rule.field_path {
            Some(p) => join_field_path(path, p),
            None => path.to_owned(),
        };
        match cel::evaluate(rule, node, value, old, root) {
            Verdict::Pass => {}
            Verdict::Fail(message) => {
                let detail = match (rule.reason, value) {
                    (Reason::Invalid, Value::Object(_) | Value::Array(_)) => message,
                    (Reason::Invalid, scalar) => format!("{}: {message}", quoted(scalar)),
                    (_, _) => message,
                };
                out.error(&field, rule.reason, detail);
            }
            Verdict::Unevaluated(why) => {
                out.unevaluated(&field, format!("rule `{}`", rule.source.trim()), why)
            }
        }
    }
    match value {
        Value::Object(fields) => {
            for (key, v) in fields {
                let (c, at) = match node.properties.get(key) {
                    Some(c) => (c, child(path, key)),
                    None => match node.additional_properties.as_deref() {
                        Some(c) => (c, format!("{path}[{key}]")),
                        None => continue,
                    },
                };
                if let Some(v) = present(c, Some(v)) {
                    rules(c, v, old.and_then(|o| o.get(key)), &at, false, out);
                }
            }
        }
        Value::Array(items) => {
            let Some(item) = node.items.as_deref() else {
                return;
            };
            for (i, v) in items.iter().enumerate() {
                rules(
                    item,
                    v,
                    correlated(node, old, v),
                    &format!("{path}[{i}]"),
                    false,
                    out,
                );
            }
        }
        _ => {}
    }
}

/// The old version of list item `item`: the old list's item with the same
/// keys, for a `map` list (other items do not correlate).
fn correlated<'o>(list: &Node, old: Option<&'o Value>, item: &Value) -> Option<&'o Value> {
    let ListType::Map(keys) = &list.list_type else {
        return None;
    };
    old?.as_array()?
        .iter()
        .find(|o| keys.iter().all(|k| o.get(k) == item.get(k)))
}

/// A rule's `fieldPath` (`.a.b`, `['a.b']`, `[0]`) below `path`.
fn join_field_path(path: &str, field_path: &str) -> String {
    let mut at = path.to_owned();
    let mut rest = field_path.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            at = child(&at, &r[..end]);
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            let key = r[..end].trim_matches(|c| c == '\'' || c == '"');
            at = if key.bytes().all(|b| b.is_ascii_digit()) {
                format!("{at}[{key}]")
            } else {
                child(&at, key)
            };
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            at = child(&at, rest);
            break;
        }
    }
    at
}

/// The server's structural defaulting: absent properties with a `default`
/// get it (and so do `null`s of fields that are not `nullable`), then the
/// walk goes on below, through defaulted values too.
pub(crate) fn apply_defaults(node: &Node, value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, c) in &node.properties {
                let missing = match fields.get(key) {
                    None => true,
                    Some(Value::Null) => !c.nullable,
                    Some(_) => false,
                };
                if missing && let Some(d) = &c.default {
                    fields.insert(key.clone(), d.clone());
                }
            }
            for (key, v) in fields.iter_mut() {
                if let Some(c) = node.property(key) {
                    apply_defaults(c, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &node.items {
                for v in items {
                    apply_defaults(item, v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::join_field_path;

    #[test]
    fn field_paths() {
        assert_eq!(join_field_path("spec", ".a.b"), "spec.a.b");
        assert_eq!(join_field_path("spec", ".m['x.y']"), "spec.m.x.y");
        assert_eq!(join_field_path("", ".spec"), "spec");
        assert_eq!(join_field_path("spec", ".l[2]"), "spec.l[2]");
    }
}

#[cfg(test)]
mod integer_tests {
    use serde_json::json;

    #[test]
    fn a_whole_float_is_an_integer_up_to_2_53_less_one() {
        let schema = crate::Schema::from_value(&json!({"type": "object", "properties": {
            "n": {"type": "integer", "format": "int64"}}}));
        let errors = |n: f64| schema.validate(&json!({ "n": n })).errors.len();
        assert_eq!(errors(3.0), 0);
        assert_eq!(errors(9_007_199_254_740_991.0), 0);
        assert_eq!(errors(9_007_199_254_740_992.0), 1);
        // 2.5: the wrong type, and go-openapi's note on the object.
        assert_eq!(errors(2.5), 2);
    }
}

#[cfg(test)]
mod ratcheting_tests {
    use serde_json::json;

    #[test]
    fn an_unchanged_refused_value_passes_an_update_only() {
        let schema = crate::Schema::from_value(&json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "name": {"type": "string", "maxLength": 3},
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "port": {"type": "integer", "maximum": 10}}}},
                "count": {"type": "integer"}}}}}));
        let old = json!({"spec": {"name": "toolong", "count": 1,
            "ports": [{"name": "a", "port": 99}, {"name": "b", "port": 1}]}});
        let errors = |new: &serde_json::Value| -> Vec<String> {
            schema
                .validate_update(new, &old)
                .errors
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            schema.validate(&old).errors.len(),
            2,
            "a create is checked whole"
        );
        // Another field changed; a map-list item reordered and another changed.
        let new = json!({"spec": {"name": "toolong", "count": 2,
            "ports": [{"name": "b", "port": 2}, {"name": "a", "port": 99}]}});
        assert!(errors(&new).is_empty(), "{:?}", errors(&new));
        let new = json!({"spec": {"name": "stilltoolong", "count": 1,
            "ports": [{"name": "a", "port": 98}, {"name": "b", "port": 1}]}});
        assert_eq!(errors(&new), ["spec.name", "spec.ports[0].port"]);
    }
}

//! Objects with many fields set, synthesized from a CRD version's
//! openAPIV3Schema, and the JSON helpers the round-trip test needs.
//!
//! [`synthesize`] fills every property with a value of its type (enum: the
//! first value; formats and simple patterns: a value that matches; minimum,
//! minItems, minLength honoured; maps: one entry; preserve-unknown-fields
//! without properties: a small object; every other `nullable` property an
//! explicit `null`; and, spread over properties by name, integers past 2^53,
//! fractional numbers, empty lists and empty maps). Whatever the server still rejects is
//! taken out by [`prune_at`], using the field path of each `causes[].field`,
//! so the object keeps as many fields as the server accepts.

use regex::Regex;
use serde_json::{Map, Value, json};

/// How deep the synthesizer descends; deeper properties stay unset. Deep
/// enough for every chosen CRD's spec, shallow enough to keep objects small.
pub const MAX_DEPTH: usize = 24;

/// A value for `schema`, with every property it declares filled in.
pub fn synthesize(schema: &Value) -> Value {
    value(schema, 0, "")
}

/// Which of the value forms a property named `key` gets (0 to 3), spread
/// over the properties by name so every form reaches the server somewhere:
/// 1 large integers and fractional numbers, 2 empty lists and maps; the
/// plain forms otherwise.
fn form(key: &str) -> usize {
    key.bytes().map(usize::from).sum::<usize>() % 4
}

fn value(s: &Value, depth: usize, key: &str) -> Value {
    if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return int_or_string(s);
    }
    let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(first) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        if !first.is_null() {
            return first.clone();
        }
    }
    match ty {
        "string" => Value::String(string(s)),
        "integer" => json!(integer(s, form(key))),
        "number" => number(s, form(key)),
        "boolean" => Value::Bool(true),
        "array" => {
            let n = s
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            if form(key) == 2 && s.get("minItems").is_none() {
                return json!([]);
            }
            let items = s.get("items").cloned().unwrap_or(json!({}));
            let one = value(&items, depth + 1, key);
            // Several items only when the schema demands them; vary strings so
            // sets and list-maps get distinct keys.
            Value::Array((0..n).map(|i| distinct(&one, i)).collect())
        }
        _ => object(s, depth, key),
    }
}

fn object(s: &Value, depth: usize, key: &str) -> Value {
    let props = s.get("properties").and_then(Value::as_object);
    let preserve = s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let mut out = Map::new();
    if s.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
        // An embedded object must say what it is.
        out.insert("apiVersion".into(), json!("example.com/v1"));
        out.insert("kind".into(), json!("Example"));
        out.insert("metadata".into(), json!({"name": "embedded"}));
    }
    if depth >= MAX_DEPTH {
        return Value::Object(out);
    }
    if let Some(props) = props {
        let excluded = one_of_exclusions(s);
        let mut nullables = 0;
        for (k, p) in props {
            if excluded.contains(k) {
                continue;
            }
            // Every other `nullable` property is an explicit null, which the
            // server keeps and a round trip must too (not drop as absent).
            let null = p.get("nullable") == Some(&Value::Bool(true)) && {
                nullables += 1;
                nullables % 2 == 1
            };
            let v = if null {
                Value::Null
            } else {
                value(p, depth + 1, k)
            };
            out.insert(k.clone(), v);
        }
    } else if let Some(add) = s.get("additionalProperties").filter(|a| a.is_object()) {
        if form(key) != 2 || s.get("minProperties").is_some() {
            out.insert("key1".into(), value(add, depth + 1, key));
        }
    } else if out.is_empty() && (preserve || s.get("type").is_none()) {
        out.insert("free".into(), json!({"form": "value", "n": 1}));
    }
    Value::Object(out)
}

/// Properties a `oneOf` of `required` alternatives rules out: all but the
/// first alternative's, so the object satisfies exactly one.
fn one_of_exclusions(s: &Value) -> Vec<String> {
    let Some(alts) = s.get("oneOf").and_then(Value::as_array) else {
        return Vec::new();
    };
    let req = |a: &Value| -> Vec<String> {
        a.get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let keep = alts.first().map(req).unwrap_or_default();
    alts.iter()
        .skip(1)
        .flat_map(req)
        .filter(|k| !keep.contains(k))
        .collect()
}

fn distinct(v: &Value, i: u64) -> Value {
    if i == 0 {
        return v.clone();
    }
    match v {
        Value::String(s) => Value::String(format!("{s}{i}")),
        Value::Number(n) => json!(n.as_i64().unwrap_or(1) + i as i64),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), distinct(x, i))).collect())
        }
        other => other.clone(),
    }
}

fn int_or_string(s: &Value) -> Value {
    match s.get("pattern").and_then(Value::as_str) {
        // A pattern (e.g. a percentage) constrains the string form only.
        Some(p) if !matches(p, "1") => Value::String(string(s)),
        _ => json!(1),
    }
}

fn integer(s: &Value, form: usize) -> i64 {
    // Past 2^53, where a float64 would round it.
    let large = form == 1 && s.get("format").and_then(Value::as_str) != Some("int32");
    let mut v = if large { 9_007_199_254_740_993 } else { 1 };
    if let Some(min) = s.get("minimum").and_then(Value::as_i64) {
        let excl = s.get("exclusiveMinimum") == Some(&Value::Bool(true));
        v = v.max(if excl { min + 1 } else { min });
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_i64) {
        let excl = s.get("exclusiveMaximum") == Some(&Value::Bool(true));
        v = v.min(if excl { max - 1 } else { max });
    }
    v
}

fn number(s: &Value, form: usize) -> Value {
    let min = s.get("minimum").and_then(Value::as_f64).unwrap_or(f64::MIN);
    let max = s.get("maximum").and_then(Value::as_f64).unwrap_or(f64::MAX);
    // Mostly a whole value: the server writes it back without a fraction
    // (`2`), which a client must too; for form 1 a fraction.
    let want: f64 = if form == 1 { 2.5 } else { 2.0 };
    json!(want.max(min).min(max))
}

/// Candidate strings, tried in order against `format`/`pattern`/length.
const CANDIDATES: &[&str] = &[
    "example",
    "a",
    "abc",
    "example-name",
    "1",
    "10",
    "10s",
    "1m",
    "5m0s",
    "1h",
    "1Gi",
    "100m",
    "50%",
    "v1",
    "1.0.0",
    "v1.0.0",
    "a.example.com",
    "example.com",
    "*.example.com",
    "https://example.com/path",
    "http://example.com",
    "oci://example.com/repo",
    "/path",
    "10.0.0.1",
    "10.0.0.0/24",
    "example.com/name",
    "example/name:tag",
    "ghcr.io/example/image:v1",
    "key=value",
    "A",
    "Abc",
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0 * * * *",
    "@every 1h",
    "application/json",
    "GET",
    "a@example.com",
    "2024-01-02T03:04:05Z",
    "true",
];

fn string(s: &Value) -> String {
    if let Some(f) = s.get("format").and_then(Value::as_str) {
        let v = match f {
            "date-time" => Some("2024-01-02T03:04:05Z"),
            "date" => Some("2024-01-02"),
            "duration" => Some("1h0m0s"),
            "byte" => Some("YWJj"),
            "uri" | "url" => Some("https://example.com/path"),
            "hostname" => Some("example.com"),
            "ipv4" | "ip" => Some("10.0.0.1"),
            "ipv6" => Some("fd00::1"),
            "cidr" => Some("10.0.0.0/24"),
            "mac" => Some("02:00:00:00:00:01"),
            "uuid" => Some("123e4567-e89b-12d3-a456-426614174000"),
            "email" => Some("a@example.com"),
            "int-or-string" => Some("1"),
            _ => None,
        };
        if let Some(v) = v {
            return v.to_owned();
        }
    }
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let fits = |c: &str| c.len() >= min && max.is_none_or(|m| c.len() <= m);
    let pattern = s.get("pattern").and_then(Value::as_str);
    for c in CANDIDATES {
        if fits(c) && pattern.is_none_or(|p| matches(p, c)) {
            return (*c).to_owned();
        }
    }
    // Nothing fits: a string of the minimum length (the server may still
    // reject it, and then the field is pruned).
    "a".repeat(min.max(1))
}

fn matches(pattern: &str, candidate: &str) -> bool {
    Regex::new(pattern).is_ok_and(|r| r.is_match(candidate))
}

/// One step of a server field path: a property, or `[index]`/`[key]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `.name`
    Key(String),
    /// `[3]` or `[key]`
    Index(String),
}

/// Parses a field path as the API server writes it (`spec.a[0].b`,
/// `spec.labels[x.y]`, `spec.a["k"]`).
pub fn parse_field_path(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !cur.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut cur)));
                }
            }
            '[' => {
                if !cur.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut cur)));
                }
                let mut idx = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    idx.push(d);
                }
                steps.push(Step::Index(idx.trim_matches('"').to_owned()));
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        steps.push(Step::Key(cur));
    }
    steps
}

fn child<'a>(v: &'a Value, step: &Step) -> Option<&'a Value> {
    match (v, step) {
        (Value::Object(m), Step::Key(k) | Step::Index(k)) => m.get(k),
        (Value::Array(a), Step::Index(i)) => i.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

/// What [`prune_at`] took out.
#[derive(Debug, PartialEq)]
pub enum Pruned {
    /// The field (and all below it) was removed.
    Removed(String),
    /// The field exists and holds several members; its last member was
    /// removed (the error was about the object as a whole, e.g. a CEL rule or
    /// "at most one of").
    Shrunk(String),
    /// Nothing under `root_key` could be removed for this path.
    Nothing,
}

/// Removes, from `obj`, what a server cause names. `path` is the cause's
/// field path; only paths under one of `prunable` (top-level keys like
/// `spec`) are touched. The deepest existing node on the path is the target:
/// a missing leaf means a required member is gone, so its parent goes; an
/// existing container with several members loses its last member; anything
/// else is removed.
pub fn prune_at(obj: &mut Value, path: &str, prunable: &[&str]) -> Pruned {
    let steps = parse_field_path(path);
    let Some(Step::Key(top)) = steps.first() else {
        return Pruned::Nothing;
    };
    if !prunable.contains(&top.as_str()) {
        return Pruned::Nothing;
    }
    // The deepest existing prefix.
    let mut depth = 0;
    let mut node = &*obj;
    for s in &steps {
        match child(node, s) {
            Some(c) => {
                node = c;
                depth += 1;
            }
            None => break,
        }
    }
    let exact = depth == steps.len();
    let members = match node {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => 0,
    };
    let target = &steps[..depth];
    let label = render(target);
    if exact && members > 1 {
        let parent = get_mut(obj, target).expect("the path was just walked");
        match parent {
            Value::Object(m) => {
                let last = m.keys().last().cloned().expect("several members");
                m.remove(&last);
            }
            Value::Array(a) => {
                a.pop();
            }
            _ => {}
        }
        return Pruned::Shrunk(label);
    }
    if target.len() <= 1 && !exact {
        // Never drop a whole top-level key for a missing member below it.
        return Pruned::Nothing;
    }
    if target.is_empty() {
        return Pruned::Nothing;
    }
    let (last, parent_steps) = target.split_last().expect("not empty");
    let parent = get_mut(obj, parent_steps).expect("the path was just walked");
    match (parent, last) {
        (Value::Object(m), Step::Key(k) | Step::Index(k)) => {
            m.remove(k);
        }
        (Value::Array(a), Step::Index(i)) => {
            if let Ok(i) = i.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => return Pruned::Nothing,
    }
    Pruned::Removed(label)
}

fn get_mut<'a>(v: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    let mut node = v;
    for s in steps {
        node = match (node, s) {
            (Value::Object(m), Step::Key(k) | Step::Index(k)) => m.get_mut(k)?,
            (Value::Array(a), Step::Index(i)) => a.get_mut(i.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The node at a field path, if it exists.
pub fn lookup<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    parse_field_path(path).iter().try_fold(obj, child)
}

/// Replaces the node at `path` (which must exist); false when there is none.
pub fn set(obj: &mut Value, path: &str, value: Value) -> bool {
    match get_mut(obj, &parse_field_path(path)) {
        Some(node) => {
            *node = value;
            true
        }
        None => false,
    }
}

/// Removes exactly the node at `path`; false when there is none.
pub fn remove(obj: &mut Value, path: &str) -> bool {
    let steps = parse_field_path(path);
    let Some((last, parent)) = steps.split_last() else {
        return false;
    };
    match (get_mut(obj, parent), last) {
        (Some(Value::Object(m)), Step::Key(k) | Step::Index(k)) => m.remove(k).is_some(),
        (Some(Value::Array(a)), Step::Index(i)) => match i.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// Every node below `path` (not `path` itself), deepest first, so that a
/// search for "which removal fixes this" tries the smallest removals first.
pub fn descendants(obj: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(node) = lookup(obj, path) {
        walk(node, &parse_field_path(path), &mut out);
    }
    out.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    out.into_iter().map(|(_, p)| p).collect()
}

fn walk(v: &Value, at: &[Step], out: &mut Vec<(usize, String)>) {
    let kids: Vec<(Step, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, x)| (Step::Key(k.clone()), x)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (Step::Index(i.to_string()), x))
            .collect(),
        _ => Vec::new(),
    };
    for (step, x) in kids {
        let mut p = at.to_vec();
        p.push(step);
        walk(x, &p, out);
        out.push((p.len(), render(&p)));
    }
}

fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) if k.contains(['.', '[', ']']) => {
                out.push('[');
                out.push_str(k);
                out.push(']');
            }
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(i);
                out.push(']');
            }
        }
    }
    out
}

/// Scalar leaves (strings, numbers, booleans, nulls, and empty containers).
pub fn count_leaves(v: &Value) -> usize {
    match v {
        Value::Object(m) if !m.is_empty() => m.values().map(count_leaves).sum(),
        Value::Array(a) if !a.is_empty() => a.iter().map(count_leaves).sum(),
        _ => 1,
    }
}

/// Every place `a` and `b` differ, as JSON pointers with both sides. Numbers
/// compare as written: `2` and `2.0` are the same value but different bytes,
/// and a client that writes back `2.0` for the server's `2` changes the
/// object.
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("", a, b, &mut out);
    out
}

fn diff(ptr: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, p) in x {
                match y.get(k) {
                    Some(q) => diff(&format!("{ptr}/{}", esc(k)), p, q, out),
                    None => out.push(format!("{ptr}/{}: only on the left: {p}", esc(k))),
                }
            }
            for (k, q) in y {
                if !x.contains_key(k) {
                    out.push(format!("{ptr}/{}: only on the right: {q}", esc(k)));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{ptr}/{i}"), p, q, out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{ptr}: {a} vs {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_kind_of_property() {
        let schema = json!({"type": "object", "properties": {
            "e": {"type": "string", "enum": ["B", "A"]},
            "t": {"type": "string", "format": "date-time"},
            "p": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
            "j": {"type": "integer", "minimum": 3},
            "q": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "m": {"type": "object", "additionalProperties": {"type": "string"}},
            "u": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "l": {"type": "array", "minItems": 2, "items": {"type": "string"}},
            "b": {"type": "boolean"}
        }});
        let v = synthesize(&schema);
        assert_eq!(v["e"], "B");
        assert_eq!(v["t"], "2024-01-02T03:04:05Z");
        assert_eq!(v["p"], "10s");
        assert_eq!(v["j"], 3);
        assert_eq!(v["q"], 1);
        assert_eq!(v["m"], json!({"key1": "example"}));
        assert_eq!(v["u"]["free"]["form"], "value");
        assert_eq!(v["l"], json!(["example", "example1"]));
        assert_eq!(v["b"], true);
        assert_eq!(count_leaves(&v), 11);
    }

    #[test]
    fn writes_the_forms_a_round_trip_gets_wrong() {
        // Forms go by the property's name: `i` and `a` get form 1, `f` and `r` form 2.
        let schema = json!({"type": "object", "properties": {
            "i": {"type": "integer"},
            "a": {"type": "number"},
            "n": {"type": "number"},
            "f": {"type": "array", "items": {"type": "string"}},
            "r": {"type": "object", "additionalProperties": {"type": "string"}},
            "x": {"type": "string", "nullable": true},
            "y": {"type": "string", "nullable": true}
        }});
        let v = synthesize(&schema);
        assert_eq!(v["i"], json!(9_007_199_254_740_993_i64));
        assert_eq!(v["a"], json!(2.5));
        assert_eq!(v["n"], json!(2.0));
        assert_eq!(v["f"], json!([]));
        assert_eq!(v["r"], json!({}));
        assert_eq!((&v["x"], &v["y"]), (&Value::Null, &json!("example")));
    }

    #[test]
    fn one_of_keeps_the_first_alternative() {
        let schema = json!({"type": "object",
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}}});
        let v = synthesize(&schema);
        assert!(v.get("a").is_some() && v.get("b").is_none() && v.get("c").is_some());
    }

    #[test]
    fn field_paths_parse_as_the_server_writes_them() {
        assert_eq!(
            parse_field_path("spec.a[0].labels[x.y].b"),
            vec![
                Step::Key("spec".into()),
                Step::Key("a".into()),
                Step::Index("0".into()),
                Step::Key("labels".into()),
                Step::Index("x.y".into()),
                Step::Key("b".into()),
            ]
        );
    }

    #[test]
    fn pruning_removes_the_named_field_or_the_parent_of_a_missing_one() {
        let mut v =
            json!({"spec": {"a": [{"x": 1, "y": 2}], "b": {"c": 1}, "d": 1}, "metadata": {}});
        assert_eq!(
            prune_at(&mut v, "spec.a[0].x", &["spec"]),
            Pruned::Removed("spec.a[0].x".into())
        );
        assert_eq!(
            prune_at(&mut v, "spec.b.missing", &["spec"]),
            Pruned::Removed("spec.b".into())
        );
        assert_eq!(
            prune_at(&mut v, "spec", &["spec"]),
            Pruned::Shrunk("spec".into())
        );
        assert_eq!(v, json!({"spec": {"a": [{"y": 2}]}, "metadata": {}}));
        assert_eq!(
            prune_at(&mut v, "metadata.name", &["spec"]),
            Pruned::Nothing
        );
        assert_eq!(prune_at(&mut v, "spec.gone", &["spec"]), Pruned::Nothing);
    }

    #[test]
    fn descendants_come_deepest_first_and_remove_exactly() {
        let mut v = json!({"spec": {"a": [{"x": 1}], "b.c": 2}});
        let d = descendants(&v, "spec");
        assert_eq!(d, vec!["spec.a[0].x", "spec.a[0]", "spec.a", "spec[b.c]"]);
        assert!(remove(&mut v, "spec[b.c]"));
        assert!(remove(&mut v, "spec.a[0]"));
        assert!(!remove(&mut v, "spec.a[0]"));
        assert_eq!(v, json!({"spec": {"a": []}}));
    }

    #[test]
    fn differences_are_json_pointers() {
        let d = differences(
            &json!({"a": {"b/c": 1, "x": 1.0}}),
            &json!({"a": {"b/c": 2, "x": 1}, "z": null}),
        );
        assert_eq!(
            d,
            vec![
                "/a/b~1c: 1 vs 2".to_owned(),
                // The same value, written differently: a change on the wire.
                "/a/x: 1.0 vs 1".to_owned(),
                "/z: only on the right: null".to_owned()
            ]
        );
    }
}

//! `x-kubernetes-validations` rules: compiled with the `cel` crate, given
//! `self` (and `oldSelf`) as the API server builds them from the schema.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::objects::{Key, Map};
use cel::{Context, Env, ExecutionError, Program};
use serde_json::Value;

use crate::Reason;
use crate::schema::{Node, Type};

/// One rule of `x-kubernetes-validations`.
#[derive(Debug)]
pub(crate) struct Rule {
    pub source: String,
    pub program: Result<Program, String>,
    pub message: Option<String>,
    pub message_expression: Option<Result<Program, String>>,
    pub reason: Reason,
    /// `fieldPath`, e.g. `.spec.replicas` or `['a.b']`.
    pub field_path: Option<String>,
    /// Names `oldSelf`: checked on update only, where the old value exists.
    pub transition: bool,
    pub optional_old_self: bool,
}

impl Rule {
    pub(crate) fn read(v: &Value) -> Option<Self> {
        let source = v.get("rule")?.as_str()?.to_owned();
        let program = compile(&source).and_then(|p| {
            let refs = p.references();
            match KUBERNETES_ONLY.iter().find(|f| refs.has_function(f)) {
                Some(f) => Err(format!(
                    "it calls `{f}` of Kubernetes' CEL libraries, which the cel crate lacks"
                )),
                None => Ok(p),
            }
        });
        let transition = program
            .as_ref()
            .map(|p| p.references().has_variable("oldSelf"))
            .unwrap_or_else(|_| source.contains("oldSelf"));
        Some(Self {
            program,
            message: v
                .get("message")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_owned),
            message_expression: v
                .get("messageExpression")
                .and_then(Value::as_str)
                .map(compile),
            reason: v
                .get("reason")
                .and_then(Value::as_str)
                .and_then(Reason::parse)
                .unwrap_or(Reason::Invalid),
            field_path: v
                .get("fieldPath")
                .and_then(Value::as_str)
                .map(str::to_owned),
            transition,
            optional_old_self: v
                .get("optionalOldSelf")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            source,
        })
    }

    /// The message for a failure of this rule.
    fn message(&self, context: &Context) -> String {
        if let Some(Ok(p)) = &self.message_expression
            && let Ok(cel::Value::String(s)) = p.execute(context)
            && !s.trim().is_empty()
        {
            return s.to_string();
        }
        match &self.message {
            Some(m) => m.clone(),
            None => format!("failed rule: {}", self.source.trim()),
        }
    }
}

/// The environment of Kubernetes' CRD rules that the `cel` crate has: the
/// standard library, optional types, and the strings, lists and math
/// extensions.
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib().with_optional_support(true);
        for extension in [
            cel::extensions::strings,
            cel::extensions::lists,
            cel::extensions::math,
        ] {
            // Each registers distinct names; a clash would only drop one library.
            let _ = extension(&mut env);
        }
        Arc::new(env)
    })
}

/// Functions of Kubernetes' own CEL libraries (quantity, URL, IP and CIDR,
/// semver, regex, lists, sets, format): a rule calling one is reported, not
/// evaluated.
const KUBERNETES_ONLY: &[&str] = &[
    "quantity",
    "isQuantity",
    "isGreaterThan",
    "isLessThan",
    "compareTo",
    "asInteger",
    "asApproximateFloat",
    "isInteger",
    "sign",
    "url",
    "isURL",
    "getScheme",
    "getHost",
    "getHostname",
    "getPort",
    "getEscapedPath",
    "getQuery",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "family",
    "isCanonical",
    "isLoopback",
    "isGlobalUnicast",
    "isUnspecified",
    "isLinkLocalMulticast",
    "isLinkLocalUnicast",
    "containsIP",
    "containsCIDR",
    "masked",
    "prefixLength",
    "semver",
    "isSemver",
    "major",
    "minor",
    "patch",
    "isSorted",
    "sum",
    "find",
    "findAll",
    "sets.contains",
    "sets.equivalent",
    "sets.intersects",
    "format.named",
    "validate",
    "authorizer",
];

fn compile(source: &str) -> Result<Program, String> {
    env().compile(source).map_err(|e| e.to_string())
}

/// What evaluating a rule came to.
pub(crate) enum Verdict {
    Pass,
    /// Failed: the message.
    Fail(String),
    /// Could not be evaluated here: why.
    Unevaluated(String),
}

/// Evaluates `rule` on `value` (and `old`), both of schema `node`.
pub(crate) fn evaluate(
    rule: &Rule,
    node: &Node,
    value: &Value,
    old: Option<&Value>,
    root: bool,
) -> Verdict {
    let program = match &rule.program {
        Ok(p) => p,
        Err(e) => {
            return Verdict::Unevaluated(format!("the CEL interpreter cannot compile it: {e}"));
        }
    };
    let mut context = Context::with_env(Arc::clone(env()));
    context.add_variable_from_value("self", to_cel(node, value, root));
    if let Some(old) = old {
        context.add_variable_from_value("oldSelf", to_cel(node, old, root));
    }
    match program.execute(&context) {
        Ok(cel::Value::Bool(true)) => Verdict::Pass,
        Ok(cel::Value::Bool(false)) => Verdict::Fail(rule.message(&context)),
        Ok(other) => Verdict::Fail(format!(
            "rule {} evaluated to {other:?}, not a bool",
            rule.source.trim()
        )),
        Err(e) if unsupported(&e) => {
            Verdict::Unevaluated(format!("the CEL interpreter cannot evaluate it: {e}"))
        }
        Err(e) => Verdict::Fail(format!("{e} evaluating rule: {}", rule.source.trim())),
    }
}

/// Errors that mean the interpreter lacks what the server has (a function
/// of a Kubernetes library, an overload), not that the rule failed.
fn unsupported(e: &ExecutionError) -> bool {
    matches!(
        e,
        ExecutionError::UndeclaredReference(_)
            | ExecutionError::NoSuchOverload(_)
            | ExecutionError::NotSupportedAsMethod { .. }
            | ExecutionError::UnsupportedTargetType { .. }
            | ExecutionError::InvalidArgumentCount { .. }
            | ExecutionError::MissingArgumentOrTarget
            | ExecutionError::ValuesNotComparable(..)
            | ExecutionError::UnsupportedBinaryOperator(..)
            | ExecutionError::UnexpectedType { .. }
            | ExecutionError::InternalError(_)
    )
}

/// `value` as the server gives it to a rule: numbers by the schema's type,
/// `date-time` strings as timestamps, `duration` as durations, `byte` as
/// bytes, property names escaped, and only `name` and `generateName` of a
/// resource's metadata.
fn to_cel(node: &Node, value: &Value, resource: bool) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (node.ty, n.as_i64()) {
            (Type::Number, _) => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            (_, Some(i)) => cel::Value::Int(i),
            _ => match n.as_u64() {
                Some(u) => cel::Value::UInt(u),
                None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
        },
        Value::String(s) => string_to_cel(node, s),
        Value::Array(items) => {
            let item = node.items.as_deref();
            cel::Value::List(Arc::new(
                items
                    .iter()
                    .map(|v| match item {
                        Some(n) => to_cel(n, v, false),
                        None => untyped(v),
                    })
                    .collect(),
            ))
        }
        Value::Object(fields) => {
            let mut map = HashMap::new();
            for (k, v) in fields {
                let (key, child) = match node.properties.get(k) {
                    Some(child) => match escape(k) {
                        Some(key) => (key, Some(child)),
                        None => continue,
                    },
                    None => (k.clone(), node.additional_properties.as_deref()),
                };
                let cel = if (resource || node.embedded_resource) && k == "metadata" {
                    metadata(v)
                } else {
                    match child {
                        Some(c) => to_cel(c, v, false),
                        None => untyped(v),
                    }
                };
                map.insert(Key::String(Arc::new(key)), cel);
            }
            cel::Value::Map(Map { map: Arc::new(map) })
        }
    }
}

fn string_to_cel(node: &Node, s: &str) -> cel::Value {
    match node.format.as_deref() {
        Some("date-time" | "datetime") => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => cel::Value::Timestamp(t),
            Err(_) => cel::Value::String(Arc::new(s.to_owned())),
        },
        Some("byte") => {
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(b) => cel::Value::Bytes(Arc::new(b)),
                Err(_) => cel::Value::String(Arc::new(s.to_owned())),
            }
        }
        _ => cel::Value::String(Arc::new(s.to_owned())),
    }
}

/// A value below `x-kubernetes-preserve-unknown-fields`: as JSON has it.
fn untyped(v: &Value) -> cel::Value {
    to_cel(&Node::read(&Value::Null), v, false)
}

/// A resource's metadata as rules see it: `name` and `generateName` only.
fn metadata(v: &Value) -> cel::Value {
    let mut map = HashMap::new();
    for k in ["name", "generateName"] {
        if let Some(Value::String(s)) = v.get(k) {
            map.insert(
                Key::String(Arc::new(k.to_owned())),
                cel::Value::String(Arc::new(s.clone())),
            );
        }
    }
    cel::Value::Map(Map { map: Arc::new(map) })
}

/// CEL's reserved words, which a property name is escaped from.
const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// The name a rule uses for property `name` (`__dash__` for `-`, `__dot__`
/// for `.`, `__slash__` for `/`, `__underscores__` for `__`, `__if__` for a
/// reserved word), or `None` when no name reaches it.
fn escape(name: &str) -> Option<String> {
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if chars.peek() == Some(&'_') => {
                chars.next();
                out.push_str("__underscores__");
            }
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
    }
    match out.chars().next() {
        Some(c) if c.is_ascii_digit() => None,
        _ => Some(out),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn names_are_escaped_as_the_server_does() {
        assert_eq!(escape("replicas").as_deref(), Some("replicas"));
        assert_eq!(escape("namespace").as_deref(), Some("__namespace__"));
        assert_eq!(
            escape("a-b.c/d").as_deref(),
            Some("a__dash__b__dot__c__slash__d")
        );
        assert_eq!(escape("a__b").as_deref(), Some("a__underscores__b"));
        assert_eq!(escape("a b"), None);
    }
}

//! A CRD's structural schema, read once: regular expressions and CEL rules
//! compiled when it is read, what cannot be compiled kept with the reason.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cel::Rule;
use crate::{Reason, Report};

/// An `openAPIV3Schema`, ready to validate objects against.
#[derive(Debug)]
pub struct Schema {
    root: Node,
    /// Whether any node has CEL rules (the server's "rules not checked"
    /// note is only given then).
    has_rules: bool,
    /// Why the schema could not be read, if it could not.
    unreadable: Option<String>,
}

impl Schema {
    /// Reads a schema from its JSON text (as generated code holds it). Text
    /// that is not JSON gives a schema that checks nothing and says so in
    /// every report.
    pub fn from_json(text: &str) -> Self {
        match serde_json::from_str(text) {
            Ok(v) => Self::from_value(&v),
            Err(e) => Self {
                root: Node::read(&Value::Null),
                has_rules: false,
                unreadable: Some(format!("the schema is not JSON: {e}")),
            },
        }
    }

    /// Reads a schema (a CRD version's `schema.openAPIV3Schema`). Never fails:
    /// what cannot be compiled is reported by every validation it applies to.
    pub fn from_value(schema: &Value) -> Self {
        let root = Node::read(schema);
        Self {
            has_rules: crate::check::has_rules(&root),
            root,
            unreadable: None,
        }
    }

    /// Checks `object` as the server checks a create.
    pub fn validate(&self, object: &Value) -> Report {
        self.checked(object, None)
    }

    fn checked(&self, object: &Value, old: Option<&Value>) -> Report {
        let mut report = crate::check::validate(&self.root, self.has_rules, object, old);
        report.unevaluated.extend(self.unreadable());
        report
    }

    /// The note that the schema could not be read, if it could not.
    fn unreadable(&self) -> Option<crate::Unevaluated> {
        Some(crate::Unevaluated {
            field: String::new(),
            check: "the schema".to_owned(),
            why: self.unreadable.clone()?,
        })
    }

    /// Checks `object` as the server checks an update from `old`: values
    /// `old` holds unchanged are not checked again (ratcheting).
    pub fn validate_update(&self, object: &Value, old: &Value) -> Report {
        self.checked(object, Some(old))
    }

    /// The checks of this schema that validations cannot make: CEL rules the
    /// interpreter cannot compile or that call Kubernetes' own libraries,
    /// patterns the `regex` crate cannot compile, formats not checked here.
    /// `field` is the schema's place (`[*]` for any item or map value).
    pub fn unsupported(&self) -> Vec<crate::Unevaluated> {
        let mut out: Vec<_> = self.unreadable().into_iter().collect();
        self.root.unsupported("", &mut out);
        out
    }

    /// Fills in the schema's defaults where `object` lacks a value (and
    /// replaces `null`s of fields that are not `nullable` but have one), as
    /// the server does before it validates or stores an object.
    pub fn apply_defaults(&self, object: &mut Value) {
        crate::check::apply_defaults(&self.root, object);
    }
}

/// The JSON type a node asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    /// No `type`: anything (with `x-kubernetes-preserve-unknown-fields` or
    /// `x-kubernetes-int-or-string`).
    Any,
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Type {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Any => "",
            Self::Object => "object",
            Self::Array => "array",
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
        }
    }
}

/// A `pattern`, compiled if the `regex` crate can.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub source: String,
    pub regex: Result<regex::Regex, String>,
}

/// `x-kubernetes-list-type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    Atomic,
    Set,
    /// A map keyed by these fields.
    Map(Vec<String>),
}

/// One node of the schema.
#[derive(Debug)]
pub(crate) struct Node {
    pub ty: Type,
    pub nullable: bool,
    pub int_or_string: bool,
    pub embedded_resource: bool,
    pub enum_values: Vec<Value>,
    pub pattern: Option<Pattern>,
    pub format: Option<String>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: bool,
    pub exclusive_maximum: bool,
    pub multiple_of: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub unique_items: bool,
    pub required: Vec<String>,
    pub properties: BTreeMap<String, Node>,
    pub additional_properties: Option<Box<Node>>,
    pub items: Option<Box<Node>>,
    pub list_type: ListType,
    pub default: Option<Value>,
    pub all_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub not: Option<Box<Node>>,
    pub rules: Vec<Rule>,
}

impl Node {
    pub(crate) fn read(v: &Value) -> Self {
        let str_of = |k: &str| v.get(k).and_then(Value::as_str);
        let f64_of = |k: &str| v.get(k).and_then(Value::as_f64);
        let u64_of = |k: &str| v.get(k).and_then(Value::as_u64);
        let bool_of = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let nodes_of = |k: &str| -> Vec<Node> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Node::read).collect())
                .unwrap_or_default()
        };
        let ty = match str_of("type") {
            Some("object") => Type::Object,
            Some("array") => Type::Array,
            Some("string") => Type::String,
            Some("integer") => Type::Integer,
            Some("number") => Type::Number,
            Some("boolean") => Type::Boolean,
            _ => Type::Any,
        };
        let list_type = match str_of("x-kubernetes-list-type") {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                v.get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(|k| k.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => ListType::Atomic,
        };
        let additional_properties = match v.get("additionalProperties") {
            Some(a @ Value::Object(_)) => Some(Box::new(Node::read(a))),
            Some(Value::Bool(true)) => Some(Box::new(Node::read(&Value::Null))),
            _ => None,
        };
        let rules = v
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .map(|rules| rules.iter().filter_map(Rule::read).collect())
            .unwrap_or_default();
        Self {
            ty,
            nullable: bool_of("nullable"),
            int_or_string: bool_of("x-kubernetes-int-or-string"),
            embedded_resource: bool_of("x-kubernetes-embedded-resource"),
            enum_values: v
                .get("enum")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            pattern: str_of("pattern").map(|p| Pattern {
                source: p.to_owned(),
                regex: regex::Regex::new(p).map_err(|e| e.to_string()),
            }),
            format: str_of("format").map(str::to_owned),
            minimum: f64_of("minimum"),
            maximum: f64_of("maximum"),
            exclusive_minimum: bool_of("exclusiveMinimum"),
            exclusive_maximum: bool_of("exclusiveMaximum"),
            multiple_of: f64_of("multipleOf"),
            min_length: u64_of("minLength"),
            max_length: u64_of("maxLength"),
            min_items: u64_of("minItems"),
            max_items: u64_of("maxItems"),
            min_properties: u64_of("minProperties"),
            max_properties: u64_of("maxProperties"),
            unique_items: bool_of("uniqueItems"),
            required: v
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            properties: v
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.iter().map(|(k, s)| (k.clone(), Node::read(s))).collect())
                .unwrap_or_default(),
            additional_properties,
            items: v.get("items").map(|i| Box::new(Node::read(i))),
            list_type,
            default: v.get("default").cloned(),
            all_of: nodes_of("allOf"),
            any_of: nodes_of("anyOf"),
            one_of: nodes_of("oneOf"),
            not: v.get("not").map(|n| Box::new(Node::read(n))),
            rules,
        }
    }

    fn unsupported(&self, at: &str, out: &mut Vec<crate::Unevaluated>) {
        let mut push = |check: String, why: String| {
            out.push(crate::Unevaluated {
                field: at.to_owned(),
                check,
                why,
            })
        };
        for r in &self.rules {
            if let Err(why) = &r.program {
                push(format!("rule `{}`", r.source.trim()), why.clone());
            }
        }
        if let Some(Pattern {
            source,
            regex: Err(why),
        }) = &self.pattern
        {
            push(format!("pattern `{source}`"), why.clone());
        }
        if let Some(f) = &self.format
            && crate::format::check(f, "").is_none()
        {
            push(
                format!("format `{f}`"),
                "this crate does not check it".to_owned(),
            );
        }
        for (k, c) in &self.properties {
            c.unsupported(&crate::check::child(at, k), out);
        }
        for c in [&self.additional_properties, &self.items]
            .into_iter()
            .flatten()
        {
            c.unsupported(&format!("{at}[*]"), out);
        }
        for c in self
            .all_of
            .iter()
            .chain(&self.any_of)
            .chain(&self.one_of)
            .chain(self.not.as_deref())
        {
            c.unsupported(at, out);
        }
    }

    /// The schema of property `key` of an object of this node.
    pub(crate) fn property(&self, key: &str) -> Option<&Node> {
        self.properties
            .get(key)
            .or(self.additional_properties.as_deref())
    }
}

/// An error at `field`, with the server's wording.
pub(crate) fn error(field: &str, reason: Reason, detail: String) -> crate::FieldError {
    crate::FieldError {
        field: field.to_owned(),
        reason,
        message: if detail.is_empty() {
            reason.label().to_owned()
        } else {
            format!("{}: {detail}", reason.label())
        },
    }
}

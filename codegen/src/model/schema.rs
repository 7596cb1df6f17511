//! Schema nodes (JSON) to shapes and types.
//!
//! One converter serves OpenAPI definitions and CRD schemas. Inline object
//! schemas (everywhere in CRDs, rare in built-ins) become named types called
//! after their path (`Certificate` + `spec` + `issuerRef` ->
//! `CertificateSpecIssuerRef`), made unique within their module in a
//! deterministic order.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::names::{Case, rust_name};
use super::{
    Field, INT_OR_STRING, ModuleId, SchemaFacts, Shape, StructDef, TypeDef, TypeId, TypeKind,
    Validation, pascal_case,
};
use crate::error::{Error, Location, Result};

/// Names a generated type must not take, because generated code names these
/// items unqualified.
const RESERVED: &[&str] = &[
    "Option",
    "Some",
    "None",
    "String",
    "Vec",
    "Box",
    "BTreeMap",
    "Default",
    "Clone",
    "Debug",
    "PartialEq",
    "Serialize",
    "Deserialize",
    "Result",
    "Ok",
    "Err",
    "Self",
];

/// Keywords kept as documentation rather than shape.
const CONSTRAINT_KEYS: &[&str] = &[
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "multipleOf",
    "oneOf",
    "anyOf",
    "not",
    "x-kubernetes-unions",
];

/// Where inline types found under a node go, and what they are called.
#[derive(Clone, Debug)]
pub(crate) struct Inline {
    /// Module of the enclosing type.
    pub module: ModuleId,
    /// Name of the enclosing type; children are named `base` + field.
    pub base: String,
}

/// Converts schemas, collecting the types it creates.
pub(crate) struct Converter<'a> {
    /// Names a `$ref` may point at.
    pub named: &'a BTreeSet<String>,
    /// Types created (inline ones), by id.
    pub types: BTreeMap<TypeId, TypeDef>,
    /// Type names taken per module.
    pub taken: &'a mut BTreeMap<ModuleId, BTreeSet<String>>,
}

/// The `$ref` target name, whatever the dialect.
pub(crate) fn ref_name(r: &str) -> Option<&str> {
    r.strip_prefix("#/definitions/")
        .or_else(|| r.strip_prefix("#/components/schemas/"))
}

/// If a node is only a reference (`$ref`, or the v3 `allOf: [{$ref}]`
/// wrapper that carries a default or description), the `$ref` string.
pub(crate) fn pure_ref(node: &Map<String, Value>) -> Option<&str> {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        return Some(r);
    }
    match node
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([one]) => one.get("$ref").and_then(Value::as_str),
        _ => None,
    }
}

/// Claims a type name in `module`: [`Case::Type`] of `want`, `Type`
/// appended to names generated code uses unqualified (`String`, `Option`...),
/// then `2`, `3`... until no type of the module has it.
pub(crate) fn claim_name(
    taken: &mut BTreeMap<ModuleId, BTreeSet<String>>,
    module: &ModuleId,
    want: &str,
) -> String {
    let taken = taken.entry(module.clone()).or_default();
    let mut base = rust_name(want, Case::Type);
    if RESERVED.contains(&base.as_str()) {
        base.push_str("Type");
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

impl Converter<'_> {
    /// A name for a new type in `module`, unique and not reserved.
    pub fn unique_name(&mut self, module: &ModuleId, want: &str) -> String {
        claim_name(self.taken, module, want)
    }

    fn resolve_ref(&self, r: &str, loc: &Location) -> Result<TypeId> {
        let Some(name) = ref_name(r) else {
            return Err(Error::schema(
                &loc.child("$ref"),
                format!(
                    "unsupported $ref {r:?}: only local references to #/definitions/ or #/components/schemas/ are supported"
                ),
            ));
        };
        if !self.named.contains(name) {
            return Err(Error::schema(
                &loc.child("$ref"),
                format!("dangling $ref: no schema named {name:?} in the inputs"),
            ));
        }
        Ok(name.to_owned())
    }

    /// The shape of a property or item schema. `field` names inline types.
    pub fn shape(
        &mut self,
        node: &Value,
        loc: &Location,
        ctx: &Inline,
        field: &str,
    ) -> Result<Shape> {
        let Some(obj) = node.as_object() else {
            return Err(Error::schema(loc, "a schema must be a JSON object"));
        };
        if let Some(r) = pure_ref(obj) {
            let wrapped = obj.get("$ref").is_none();
            let rloc = if wrapped {
                loc.child("allOf").child("0")
            } else {
                loc.clone()
            };
            return self.resolve_ref(r, &rloc).map(Shape::Ref);
        }
        if obj
            .get("x-kubernetes-int-or-string")
            .and_then(Value::as_bool)
            == Some(true)
        {
            return Ok(Shape::Ref(INT_OR_STRING.to_owned()));
        }
        let format = obj.get("format").and_then(Value::as_str);
        match type_of(obj, loc)? {
            Some("string") if format == Some("int-or-string") => {
                Ok(Shape::Ref(INT_OR_STRING.to_owned()))
            }
            Some("string") => Ok(Shape::String),
            Some("integer") if format == Some("int32") => Ok(Shape::I32),
            Some("integer") => Ok(Shape::I64),
            Some("number") => Ok(Shape::F64),
            Some("boolean") => Ok(Shape::Bool),
            Some("array") => match obj.get("items") {
                None | Some(Value::Array(_)) => Ok(Shape::Array(Box::new(Shape::Any))),
                Some(items) => Ok(Shape::Array(Box::new(self.shape(
                    items,
                    &loc.child("items"),
                    ctx,
                    field,
                )?))),
            },
            Some("object") | None => {
                if obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|p| !p.is_empty())
                {
                    let name = self
                        .unique_name(&ctx.module, &format!("{}{}", ctx.base, pascal_case(field)));
                    let id = format!("{}/{}", ctx.module.0.join("/"), name);
                    let def = self.struct_def(
                        obj,
                        loc,
                        &Inline {
                            module: ctx.module.clone(),
                            base: name.clone(),
                        },
                    )?;
                    self.types.insert(
                        id.clone(),
                        TypeDef {
                            id: id.clone(),
                            module: ctx.module.clone(),
                            name,
                            description: description(obj),
                            gvks: Vec::new(),
                            kind: TypeKind::Struct(Box::new(def)),
                            location: loc.clone(),
                            defaultable: true,
                            external: false,
                        },
                    );
                    return Ok(Shape::Ref(id));
                }
                match obj.get("additionalProperties") {
                    Some(ap @ Value::Object(_)) => Ok(Shape::Map(Box::new(self.shape(
                        ap,
                        &loc.child("additionalProperties"),
                        ctx,
                        field,
                    )?))),
                    Some(Value::Bool(true)) => Ok(Shape::Map(Box::new(Shape::Any))),
                    _ => Ok(Shape::Any),
                }
            }
            Some(other) => Err(Error::schema(
                &loc.child("type"),
                format!(
                    "unsupported schema type {other:?} (expected string, integer, number, boolean, array or object)"
                ),
            )),
        }
    }

    /// The fields of an object schema. Children are named after `ctx.base`.
    pub fn struct_def(
        &mut self,
        obj: &Map<String, Value>,
        loc: &Location,
        ctx: &Inline,
    ) -> Result<StructDef> {
        let required: BTreeSet<&str> = match obj.get("required") {
            None => BTreeSet::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().ok_or_else(|| {
                        Error::schema(&loc.child("required"), "required must list strings")
                    })
                })
                .collect::<Result<_>>()?,
            Some(_) => {
                return Err(Error::schema(
                    &loc.child("required"),
                    "required must be an array of strings",
                ));
            }
        };
        let mut fields = Vec::new();
        match obj.get("properties") {
            None => {}
            Some(Value::Object(props)) => {
                for (name, prop) in props {
                    let ploc = loc.child("properties").child(name);
                    let shape = self.shape(prop, &ploc, ctx, name)?;
                    let pobj = prop.as_object();
                    fields.push(Field {
                        json_name: name.clone(),
                        description: pobj.and_then(description),
                        required: required.contains(name.as_str()),
                        shape,
                        boxed: false,
                        facts: pobj.map(facts).unwrap_or_default(),
                    });
                }
            }
            Some(_) => {
                return Err(Error::schema(
                    &loc.child("properties"),
                    "properties must be an object",
                ));
            }
        }
        Ok(StructDef {
            fields,
            facts: facts(obj),
        })
    }
}

/// The node's `type`, allowing OpenAPI 3.1's `["string", "null"]`.
fn type_of<'v>(obj: &'v Map<String, Value>, loc: &Location) -> Result<Option<&'v str>> {
    match obj.get("type") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(Value::Array(a)) => {
            let non_null: Vec<&str> = a
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            match non_null.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(one)),
                _ => Err(Error::schema(
                    &loc.child("type"),
                    "union types (several non-null types) cannot be expressed",
                )),
            }
        }
        Some(_) => Err(Error::schema(&loc.child("type"), "type must be a string")),
    }
}

/// The node's description, if any.
pub(crate) fn description(obj: &Map<String, Value>) -> Option<String> {
    obj.get("description")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// Everything besides the shape that a schema node says.
pub(crate) fn facts(obj: &Map<String, Value>) -> SchemaFacts {
    let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let b = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut constraints = BTreeMap::new();
    for k in CONSTRAINT_KEYS {
        if let Some(v) = obj.get(*k) {
            constraints.insert((*k).to_owned(), v.clone());
        }
    }
    if pure_ref(obj).is_none()
        && let Some(v) = obj.get("allOf")
    {
        constraints.insert("allOf".to_owned(), v.clone());
    }
    SchemaFacts {
        format: s("format"),
        enum_values: obj
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        default: obj.get("default").cloned(),
        nullable: b("nullable"),
        list_type: s("x-kubernetes-list-type"),
        list_map_keys: obj
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        map_type: s("x-kubernetes-map-type"),
        patch_strategy: s("x-kubernetes-patch-strategy"),
        patch_merge_key: s("x-kubernetes-patch-merge-key"),
        preserve_unknown_fields: b("x-kubernetes-preserve-unknown-fields"),
        embedded_resource: b("x-kubernetes-embedded-resource"),
        int_or_string: b("x-kubernetes-int-or-string")
            || s("format").as_deref() == Some("int-or-string"),
        validations: obj
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| {
                        Some(Validation {
                            rule: v.get("rule")?.as_str()?.to_owned(),
                            message: v.get("message").and_then(Value::as_str).map(str::to_owned),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        constraints,
    }
}

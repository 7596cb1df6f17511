//! One type per file: structs with serde attributes for the server's exact
//! JSON shape, aliases, and the runtime trait impls of top-level kinds.
//!
//! Shape rules (why they are what they are):
//! - Non-required fields are `Option<T>` with `skip_serializing_if`, so an
//!   unset field is absent from the JSON, not `null`.
//! - `nullable: true` fields are `kubegen_core::Nullable<T>` (absent, `null`
//!   or a value; `Option<T>` when also required): the server keeps an explicit
//!   `null` apart from an absent field, and so must a read-modify-write, or it
//!   changes the object.
//! - Strings are `kubegen_core::CompactString` (inline up to 24 bytes), maps
//!   `kubegen_core::SortedMap` (sorted entries, exact capacity), and large
//!   optional structs `Arc<T>`, shared at decode time with equal values
//!   (`kubegen_core::serde_support::shared`): an informer holds every object,
//!   and most Kubernetes strings and maps are small and most sub-objects repeat
//!   (bench/README.md measures what each saves).
//! - Enums are strings with the allowed values in the docs. Kubernetes enums
//!   are open (releases add values; clients must keep values they do not
//!   know), a string round-trips any value exactly, and it costs nothing to
//!   compile, where ~300 Rust enums with an "unknown" variant would.
//! - `metadata: ObjectMeta` of top-level kinds is not optional, so the
//!   runtime's `Object::metadata` can return a reference; it is omitted from
//!   the JSON when empty.
//! - Top-level kinds get a `Default` that fills `apiVersion` and `kind`, so
//!   `Pod { spec, ..Default::default() }` is ready to send; decoding leaves
//!   them as the server sent them (list items carry none).

use proc_macro2::TokenStream;
use quote::quote;

use super::doc_attrs;
use super::names::{extra_field_name, field_names, ident};
use crate::error::Result;
use crate::model::{Field, LABEL_SELECTOR, Model, OBJECT_META, Shape, TypeDef, TypeId, TypeKind};

/// The path of a type as seen from `from` (the module being written).
pub(crate) fn type_path(model: &Model, id: &TypeId, from: &TypeDef) -> TokenStream {
    let Some(t) = model.types.get(id) else {
        // Unreachable after the model's dangling-reference pass; JSON keeps
        // the data intact if it ever happens.
        return quote! { serde_json::Value };
    };
    let name = ident(&t.name);
    if let TypeKind::Runtime(rt) = t.kind {
        let rt = ident(rt);
        return quote! { kubegen_core::meta::#rt };
    }
    let segs = t.module.0.iter().map(|s| ident(s));
    if t.external {
        quote! { kubegen_api:: #( #segs :: )* #name }
    } else if t.module == from.module {
        quote! { super::#name }
    } else {
        quote! { crate:: #( #segs :: )* #name }
    }
}

fn shape_tokens(model: &Model, shape: &Shape, from: &TypeDef, boxed: bool) -> TokenStream {
    let inner = match shape {
        Shape::Bool => quote! { bool },
        Shape::I32 => quote! { i32 },
        Shape::I64 => quote! { i64 },
        Shape::F64 => quote! { f64 },
        Shape::String => quote! { kubegen_core::CompactString },
        Shape::Any => quote! { serde_json::Value },
        Shape::Array(i) => {
            let i = shape_tokens(model, i, from, false);
            quote! { Vec<#i> }
        }
        Shape::Map(i) => {
            let i = shape_tokens(model, i, from, false);
            quote! { kubegen_core::SortedMap<kubegen_core::CompactString, #i> }
        }
        Shape::Ref(id) => type_path(model, id, from),
    };
    if boxed {
        quote! { std::sync::Arc<#inner> }
    } else {
        inner
    }
}

/// Whether this type is a top-level kind with standard object metadata
/// (implements the runtime's `Object`).
pub(crate) fn is_object(t: &TypeDef) -> bool {
    !t.gvks.is_empty() && t.has_object_meta()
}

fn field_doc(f: &Field) -> TokenStream {
    let mut text = f.description.clone().unwrap_or_default();
    let facts = &f.facts;
    if !facts.enum_values.is_empty() {
        let vals: Vec<String> = facts
            .enum_values
            .iter()
            .map(|v| match v.as_str() {
                Some(s) => format!("`{s}`"),
                None => format!("`{v}`"),
            })
            .collect();
        text.push_str(&format!("\n\nKnown values: {}.", vals.join(", ")));
    }
    if let Some(d) = &facts.default {
        let d = d.to_string();
        if d.len() <= 120 {
            text.push_str(&format!("\n\nServer default: `{d}`."));
        }
    }
    for v in &facts.validations {
        match &v.message {
            Some(m) => text.push_str(&format!(
                "\n\nValidation: `{}` ({m})",
                v.rule.replace('\n', " ")
            )),
            None => text.push_str(&format!("\n\nValidation: `{}`", v.rule.replace('\n', " "))),
        }
    }
    doc_attrs(&text)
}

/// The tokens of one type's file.
pub(crate) fn emit_type(model: &Model, t: &TypeDef, protobuf: bool) -> Result<TokenStream> {
    let name = ident(&t.name);
    let mut doc = t.description.clone().unwrap_or_default();
    if let Some(g) = t.single_gvk() {
        let av = if g.group.is_empty() {
            g.version.clone()
        } else {
            format!("{}/{}", g.group, g.version)
        };
        doc.push_str(&format!("\n\nKind `{}` of `{av}`.", g.kind));
        if let Some(r) = model.resource_for(&t.id) {
            if r.storage {
                doc.push_str(
                    " The storage version: the API server stores these objects as this version.",
                );
            }
            if r.deprecated {
                doc.push_str(" Deprecated version.");
            }
        }
    }
    let docs = doc_attrs(&doc);
    match &t.kind {
        TypeKind::Runtime(_) => Ok(TokenStream::new()),
        TypeKind::Alias(shape) => {
            let ty = shape_tokens(model, shape, t, false);
            Ok(quote! { #docs pub type #name = #ty; })
        }
        TypeKind::Struct(s) => {
            let object = is_object(t);
            let names = field_names(&s.fields);
            let mut fields = Vec::new();
            for (f, fname) in s.fields.iter().zip(&names) {
                let field = ident(fname);
                let fdoc = field_doc(f);
                let json = &f.json_name;
                let rename = (fname != json).then(|| quote! { rename = #json, });
                let is_meta = object
                    && f.json_name == "metadata"
                    && matches!(&f.shape, Shape::Ref(r) if r == OBJECT_META);
                let ty = shape_tokens(model, &f.shape, t, f.boxed);
                // Go writes a whole float64 without a fraction (`10`, not
                // `10.0`); so must a read-modify-write, or it changes the object.
                let number = matches!(f.shape, Shape::F64);
                let (ty, attrs) = if is_meta {
                    (
                        ty,
                        quote! { #[serde(#rename default, skip_serializing_if = "kubegen_core::serde_support::is_default")] },
                    )
                } else if f.facts.nullable && f.required {
                    // Present, maybe `null`.
                    let with = number.then(|| {
                        quote! { serialize_with = "kubegen_core::serde_support::optional_number", }
                    });
                    let attrs = (rename.is_some() || with.is_some())
                        .then(|| quote! { #[serde(#rename #with)] });
                    (quote! { Option<#ty> }, quote! { #attrs })
                } else if f.facts.nullable {
                    // Absent, `null` or a value, each kept as it came.
                    let with = number.then(|| {
                        quote! { serialize_with = "kubegen_core::serde_support::nullable_number", }
                    });
                    (
                        quote! { kubegen_core::Nullable<#ty> },
                        quote! { #[serde(#rename default, #with skip_serializing_if = "kubegen_core::Nullable::is_absent")] },
                    )
                } else if f.required {
                    (
                        ty,
                        if number {
                            quote! { #[serde(#rename serialize_with = "kubegen_core::serde_support::number")] }
                        } else if rename.is_some() {
                            quote! { #[serde(#rename)] }
                        } else {
                            quote! {}
                        },
                    )
                } else if number {
                    (
                        quote! { Option<#ty> },
                        quote! { #[serde(#rename default, serialize_with = "kubegen_core::serde_support::optional_number", skip_serializing_if = "Option::is_none")] },
                    )
                } else {
                    (
                        quote! { Option<#ty> },
                        quote! { #[serde(#rename default, skip_serializing_if = "Option::is_none")] },
                    )
                };
                fields.push(quote! { #fdoc #attrs pub #field: #ty, });
            }
            if s.facts.preserve_unknown_fields {
                // Fields the schema does not name are kept, so nothing is lost
                // on a round trip.
                let extra = ident(&extra_field_name(&names));
                fields.push(quote! {
                    /// Fields not named by the schema (`x-kubernetes-preserve-unknown-fields`).
                    #[serde(flatten)]
                    pub #extra: std::collections::BTreeMap<String, serde_json::Value>,
                });
            }
            let api_version_kind = object
                && t.single_gvk().is_some()
                && s.fields
                    .iter()
                    .any(|f| f.json_name == "apiVersion" && !f.required)
                && s.fields
                    .iter()
                    .any(|f| f.json_name == "kind" && !f.required);
            let derive_default = t.defaultable && !api_version_kind;
            // Deserialize is written out (see `lean_deserialize`) unless a
            // flattened map needs serde's buffering.
            let lean = !s.facts.preserve_unknown_fields;
            let de = (!lean).then(|| quote! { serde::Deserialize });
            let derives = if derive_default {
                quote! { #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, #de)] }
            } else {
                quote! { #[derive(Clone, Debug, PartialEq, serde::Serialize, #de)] }
            };
            let mut out = quote! {
                #docs
                #derives
                pub struct #name { #( #fields )* }
            };
            if lean {
                out.extend(lean_deserialize(
                    &t.name,
                    &s.fields,
                    &names,
                    Presence::Schema { object },
                ));
            }
            if t.id == LABEL_SELECTOR {
                out.extend(label_selector_conversions(model, t, &s.fields));
            }
            // `Default` is derived, or written with `apiVersion` and `kind`
            // set, or absent (a required field without a zero).
            let default_gvk = api_version_kind.then(|| t.single_gvk()).flatten();
            let has_default = derive_default || (t.defaultable && default_gvk.is_some());
            if t.defaultable
                && let Some(g) = default_gvk
            {
                let av = if g.group.is_empty() {
                    g.version.clone()
                } else {
                    format!("{}/{}", g.group, g.version)
                };
                let kind = &g.kind;
                let mut inits: Vec<TokenStream> = s
                    .fields
                    .iter()
                    .zip(&names)
                    .map(|(f, n)| {
                        let field = ident(n);
                        match f.json_name.as_str() {
                            "apiVersion" => quote! { #field: Some(#av.into()), },
                            "kind" => quote! { #field: Some(#kind.into()), },
                            _ => quote! { #field: Default::default(), },
                        }
                    })
                    .collect();
                if s.facts.preserve_unknown_fields {
                    let extra = ident(&extra_field_name(&names));
                    inits.push(quote! { #extra: Default::default(), });
                }
                out.extend(quote! {
                    impl Default for #name {
                        /// An empty object with `apiVersion` and `kind` set.
                        fn default() -> Self { Self { #( #inits )* } }
                    }
                });
            }
            if object {
                let meta = s
                    .fields
                    .iter()
                    .zip(&names)
                    .find(|(f, _)| f.json_name == "metadata")
                    .map(|(_, n)| ident(n));
                let field_of = |json: &str| {
                    s.fields
                        .iter()
                        .zip(&names)
                        .find(|(f, _)| {
                            f.json_name == json && !f.required && matches!(f.shape, Shape::String)
                        })
                        .map(|(_, n)| ident(n))
                };
                // A kind without `Default` has no empty value to hold a
                // failed item's place in a parallel decode.
                let codec = if has_default {
                    quote! { kubegen_core::proto::Protobuf::new() }
                } else {
                    quote! { kubegen_core::proto::Protobuf::without_empty() }
                };
                let protobuf = protobuf.then(|| match (field_of("apiVersion"), field_of("kind")) {
                    (Some(av), Some(k)) => quote! {
                        const PROTOBUF: Option<kubegen_core::proto::Protobuf<Self>> = Some(
                            #codec.with_type_meta(|o, api_version, kind| {
                                o.#av = Some(api_version.into());
                                o.#k = Some(kind.into());
                            }),
                        );
                    },
                    _ => quote! {
                        const PROTOBUF: Option<kubegen_core::proto::Protobuf<Self>> = Some(#codec);
                    },
                });
                out.extend(quote! {
                    impl kubegen_core::Object for #name {
                        #protobuf
                        fn metadata(&self) -> &kubegen_core::meta::ObjectMeta { &self.#meta }
                        fn metadata_mut(&mut self) -> &mut kubegen_core::meta::ObjectMeta { &mut self.#meta }
                    }
                });
                if let Some(r) = model.resource_for(&t.id) {
                    out.extend(resource_impls(model, t, r));
                }
            }
            Ok(out)
        }
    }
}

/// `meta/v1` `LabelSelector` to and from `kubegen_core::Selector`
/// (apimachinery's `LabelSelectorAsSelector` and `ParseToLabelSelector`),
/// when the spec's definitions have the shape every release has; nothing
/// otherwise.
fn label_selector_conversions(model: &Model, t: &TypeDef, fields: &[Field]) -> TokenStream {
    let field = |fields: &[Field], name: &str, required: bool| {
        fields
            .iter()
            .find(|f| f.json_name == name && f.required == required && !f.boxed)
            .map(|f| f.shape.clone())
    };
    // The impls build both structs whole: any other field and they are left out.
    if fields.len() != 2 {
        return TokenStream::new();
    }
    let strings = Shape::Array(Box::new(Shape::String));
    let requirement = match (
        field(fields, "matchLabels", false),
        field(fields, "matchExpressions", false),
    ) {
        (Some(Shape::Map(v)), Some(Shape::Array(r))) if *v == Shape::String => match *r {
            Shape::Ref(id) => id,
            _ => return TokenStream::new(),
        },
        _ => return TokenStream::new(),
    };
    let Some(req) = model.types.get(&requirement) else {
        return TokenStream::new();
    };
    let TypeKind::Struct(rs) = &req.kind else {
        return TokenStream::new();
    };
    if rs.fields.len() != 3
        || field(&rs.fields, "key", true) != Some(Shape::String)
        || field(&rs.fields, "operator", true) != Some(Shape::String)
        || field(&rs.fields, "values", false) != Some(strings)
    {
        return TokenStream::new();
    }
    let name = ident(&t.name);
    let req_path = type_path(model, &requirement, t);
    quote! {
        impl TryFrom<&#name> for kubegen_core::Selector {
            type Error = kubegen_core::selector::SelectorError;
            /// The selector this `LabelSelector` stands for; no terms select
            /// everything (apimachinery's `LabelSelectorAsSelector`).
            fn try_from(s: &#name) -> Result<Self, Self::Error> {
                kubegen_core::Selector::from_label_selector(
                    s.match_labels.iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())),
                    s.match_expressions.iter().flatten().map(|r| {
                        (r.key.as_str(), r.operator.as_str(), r.values.iter().flatten().map(|v| v.as_str()))
                    }),
                )
            }
        }
        impl TryFrom<&kubegen_core::Selector> for #name {
            type Error = kubegen_core::selector::SelectorError;
            /// `key=value` terms as `matchLabels`, the others as
            /// `matchExpressions`; `!=`, `>` and `<` are an error
            /// (apimachinery's `ParseToLabelSelector`).
            fn try_from(s: &kubegen_core::Selector) -> Result<Self, Self::Error> {
                let (labels, expressions) = s.to_label_selector()?;
                Ok(Self {
                    match_labels: (!labels.is_empty())
                        .then(|| labels.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
                    match_expressions: (!expressions.is_empty()).then(|| {
                        expressions
                            .into_iter()
                            .map(|(key, operator, values)| #req_path {
                                key: key.into(),
                                operator: operator.into(),
                                values: (!values.is_empty())
                                    .then(|| values.into_iter().map(Into::into).collect()),
                            })
                            .collect()
                    }),
                })
            }
        }
    }
}

/// Which fields a `lean_deserialize` impl requires.
#[derive(Clone, Copy)]
pub(crate) enum Presence {
    /// As the schema says; `object` for a kind whose `metadata` defaults.
    Schema { object: bool },
    /// Every field is an `Option`, or a `Nullable` where the schema says
    /// `nullable` (apply configurations).
    AllOptional,
}

/// A `Deserialize` impl that only does what JSON and YAML need: a map whose
/// keys are matched against the field names. serde's derive also emits a
/// sequence form, an index and a bytes path for field names, and a field
/// enum with its own `Deserialize`; none of that is used for Kubernetes
/// objects, and across ~800 types it is a large part of the crate's build
/// time. The shared key lookup is `kubegen_core::serde_support::FieldSeed`, monomorphized
/// once per deserializer rather than per type.
pub(crate) fn lean_deserialize(
    type_name: &str,
    fields: &[Field],
    names: &[String],
    presence: Presence,
) -> TokenStream {
    let name = ident(type_name);
    let expecting = format!("a {type_name} object");
    let json_names: Vec<&str> = fields.iter().map(|f| f.json_name.as_str()).collect();
    let vars: Vec<_> = (0..fields.len()).map(|i| ident(&format!("f{i}"))).collect();
    let idx: Vec<usize> = (0..fields.len()).collect();
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    for ((f, n), (v, i)) in fields.iter().zip(names).zip(vars.iter().zip(&idx)) {
        let field = ident(n);
        let json = &f.json_name;
        let (required, is_meta, nullable) = match presence {
            Presence::AllOptional => (false, false, f.facts.nullable),
            Presence::Schema { object } => (
                f.required,
                object
                    && f.json_name == "metadata"
                    && matches!(&f.shape, Shape::Ref(r) if r == OBJECT_META),
                f.facts.nullable,
            ),
        };
        let i = proc_macro2::Literal::usize_unsuffixed(*i);
        if nullable && !is_meta {
            // The field's own type (`Option` when required, else
            // `kubegen_core::Nullable`) reads `null`; a missing required one
            // is an error, a missing optional one `Absent`.
            arms.push(quote! { Some(#i) => #v = Some(map.next_value()?), });
            inits.push(if required {
                quote! { #field: #v.ok_or_else(|| <A::Error as serde::de::Error>::missing_field(#json))?, }
            } else {
                quote! { #field: #v.unwrap_or_default(), }
            });
            continue;
        }
        // serde grows a decoded `Vec` to at least 4 slots; cached objects
        // keep whatever capacity decoding left, so lists are trimmed to length.
        if matches!(f.shape, Shape::Array(_)) {
            // `null` is `None` here too; a required list then reads as missing.
            arms.push(quote! { Some(#i) => #v = kubegen_core::serde_support::list(&mut map)?, });
        } else if f.boxed && matches!(presence, Presence::Schema { .. }) {
            // Equal sub-objects of different objects share one allocation.
            arms.push(quote! { Some(#i) => #v = kubegen_core::serde_support::shared(&mut map)?, });
        } else if required || is_meta {
            arms.push(quote! { Some(#i) => #v = Some(map.next_value()?), });
        } else {
            // `null` decodes to `None`, as serde's `Option` does.
            arms.push(quote! { Some(#i) => #v = map.next_value()?, });
        }
        if required || is_meta {
            if is_meta {
                inits.push(quote! { #field: #v.unwrap_or_default(), });
            } else {
                inits.push(quote! {
                    #field: #v.ok_or_else(|| <A::Error as serde::de::Error>::missing_field(#json))?,
                });
            }
        } else {
            inits.push(quote! { #field: #v, });
        }
    }
    quote! {
        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = #name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<#name, A::Error> {
                        #( let mut #vars = None; )*
                        while let Some(key) = map.next_key_seed(kubegen_core::serde_support::FieldSeed(&[ #( #json_names ),* ]))? {
                            match key {
                                #( #arms )*
                                _ => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(#name { #( #inits )* })
                    }
                }
                d.deserialize_map(V)
            }
        }
    }
}

fn resource_impls(model: &Model, t: &TypeDef, r: &crate::model::Resource) -> TokenStream {
    use crate::model::Verb;
    let name = ident(&t.name);
    let (group, version, kind, plural) = (&r.group, &r.version, &r.kind, &r.plural);
    let api_version = if group.is_empty() {
        version.clone()
    } else {
        format!("{group}/{version}")
    };
    let scope = if r.namespaced {
        quote! { Namespaced }
    } else {
        quote! { Cluster }
    };
    let mut out = quote! {
        impl kubegen_core::Resource for #name {
            const GROUP: &'static str = #group;
            const VERSION: &'static str = #version;
            const API_VERSION: &'static str = #api_version;
            const KIND: &'static str = #kind;
            const PLURAL: &'static str = #plural;
            const SCOPE: kubegen_core::Scope = kubegen_core::Scope::#scope;
        }
    };
    let mut traits: Vec<&str> = Vec::new();
    for v in &r.verbs {
        traits.push(match v {
            Verb::Get => "Get",
            Verb::List => "List",
            Verb::Watch => "Watch",
            Verb::Create => "Create",
            Verb::Update => "Update",
            Verb::Patch => "Patch",
            Verb::Delete => "Delete",
            Verb::DeleteCollection => "DeleteCollection",
            Verb::Connect => continue,
        });
    }
    if r.strategic_merge_patch {
        traits.push("StrategicMergePatch");
    }
    for (sub, s) in &r.subresources {
        let marker = match sub.as_str() {
            "status" => Some("Status"),
            "log" => Some("Log"),
            "ephemeralcontainers" => Some("EphemeralContainers"),
            "resize" => Some("Resize"),
            "exec" => Some("Exec"),
            "attach" => Some("Attach"),
            "portforward" => Some("PortForward"),
            "proxy" => Some("Proxy"),
            _ => None,
        };
        if let Some(m) = marker {
            traits.push(m);
            continue;
        }
        let assoc = match sub.as_str() {
            "scale" => Some(("Scale", "Scale")),
            "eviction" => Some(("Eviction", "Eviction")),
            "binding" => Some(("Binding", "Binding")),
            "token" => Some(("Token", "TokenRequest")),
            _ => None,
        };
        if let (Some((tr, assoc)), Some(id)) = (assoc, &s.type_id) {
            // The associated type must be a full object kind.
            if model
                .types
                .get(id)
                .is_some_and(|st| st.external || is_object(st))
            {
                let tr = ident(tr);
                let assoc = ident(assoc);
                let path = type_path(model, id, t);
                out.extend(
                    quote! { impl kubegen_core::verbs::#tr for #name { type #assoc = #path; } },
                );
            }
        }
    }
    let traits = traits.into_iter().map(ident);
    out.extend(quote! { #( impl kubegen_core::verbs::#traits for #name {} )* });
    if let Some(schema) = &r.schema {
        out.extend(validate_impl(&name, schema));
    }
    out
}

/// `Validate` for a CRD kind: its version's schema, kept as the CRD states
/// it and compiled on first use.
fn validate_impl(name: &proc_macro2::Ident, schema: &serde_json::Value) -> TokenStream {
    let json = serde_json::to_string_pretty(schema).unwrap_or_default();
    // A raw string needs more `#`s than any run of them after a `"` inside.
    let hashes = "#".repeat(
        json.split('"')
            .skip(1)
            .map(|s| s.chars().take_while(|&c| c == '#').count())
            .max()
            .unwrap_or(0)
            + 1,
    );
    let literal: proc_macro2::Literal = format!("r{hashes}\"{json}\"{hashes}")
        .parse()
        .expect("a raw string literal parses");
    quote! {
        impl kubegen_validation::Validate for #name {
            fn schema() -> &'static kubegen_validation::Schema {
                static SCHEMA: std::sync::OnceLock<kubegen_validation::Schema> = std::sync::OnceLock::new();
                SCHEMA.get_or_init(|| kubegen_validation::Schema::from_json(#literal))
            }
        }
    }
}

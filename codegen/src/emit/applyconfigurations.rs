//! Server-side apply configurations, like client-go's applyconfiguration-gen.
//!
//! For every struct type reachable from a resource that can be patched, a
//! `<Type>ApplyConfiguration` is emitted into the type's own file: every field
//! optional and absent from the JSON when unset, with chained `with_*`
//! builders whose behaviour follows the schema:
//!
//! - `x-kubernetes-list-type: map | set` lists append (`with_containers`
//!   twice keeps both batches), atomic (or unmarked) lists replace;
//! - maps merge per key unless `x-kubernetes-map-type: atomic` (then a later
//!   call replaces the map);
//! - string items and values take anything `Into<String>`;
//! - nested structs take their own apply configuration.
//!
//! Kinds also get `new(name[, namespace])` with apiVersion/kind set, the
//! metadata shortcuts (`with_labels`, ...) and free `extract_<kind>` /
//! `extract_<kind>_status` functions built on the runtime's generic extract.
//! `ObjectMeta` and `OwnerReference` configurations live in the runtime, with
//! the types; other runtime types (Time, Quantity, IntOrString...) are leaves
//! and are set whole.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{extra_field_name, field_names, ident, ident_for};
use super::types::{Presence, is_object, lean_deserialize, type_path};
use crate::model::{Field, Model, OBJECT_META, Shape, TypeDef, TypeId, TypeKind, Verb};

const OWNER_REFERENCE: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference";

/// The types that get an apply configuration: structs reachable from the
/// type of a resource the server lets clients patch (apply is a patch).
pub(crate) fn reachable(model: &Model) -> BTreeSet<TypeId> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<TypeId> = model
        .resources
        .iter()
        .filter(|r| r.verbs.contains(&Verb::Patch))
        .filter_map(|r| r.type_id.clone())
        .collect();
    while let Some(id) = todo.pop() {
        let Some(t) = model.types.get(&id) else {
            continue;
        };
        if !matches!(t.kind, TypeKind::Struct(_)) || !seen.insert(id) {
            continue;
        }
        todo.extend(t.kind.refs().into_iter().cloned());
    }
    seen
}

/// The name of a type's apply configuration: `<Type>ApplyConfiguration`, or
/// with a number appended when the schema already has a type of that name in
/// the module (Kyverno's `...MutationsApplyConfiguration`).
fn config_name(model: &Model, t: &TypeDef) -> String {
    let base = format!("{}ApplyConfiguration", t.name);
    let taken = |n: &str| {
        model
            .types
            .values()
            .any(|o| o.module == t.module && o.name == n)
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    name
}

/// The Rust type a value of `shape` has inside an apply configuration.
fn config_shape(
    model: &Model,
    shape: &Shape,
    from: &TypeDef,
    reach: &BTreeSet<TypeId>,
) -> TokenStream {
    match shape {
        Shape::Array(i) => {
            let i = config_shape(model, i, from, reach);
            quote! { Vec<#i> }
        }
        Shape::Map(i) => {
            let i = config_shape(model, i, from, reach);
            quote! { std::collections::BTreeMap<String, #i> }
        }
        Shape::Ref(id) if id == OBJECT_META => {
            quote! { kubegen_core::apply::ObjectMetaApplyConfiguration }
        }
        Shape::Ref(id) if id == OWNER_REFERENCE => {
            quote! { kubegen_core::apply::OwnerReferenceApplyConfiguration }
        }
        Shape::Ref(id) if reach.contains(id) => {
            let t = &model.types[id];
            let name = ident(&config_name(model, t));
            let segs = t.module.0.iter().map(|s| ident(s));
            if t.external {
                quote! { kubegen_api:: #( #segs :: )* #name }
            } else if t.module == from.module {
                quote! { super::#name }
            } else {
                quote! { crate:: #( #segs :: )* #name }
            }
        }
        // Leaves: scalars, aliases, runtime value types, free-form JSON.
        Shape::Ref(id) => type_path(model, id, from),
        Shape::Bool => quote! { bool },
        Shape::I32 => quote! { i32 },
        Shape::I64 => quote! { i64 },
        Shape::F64 => quote! { f64 },
        Shape::String => quote! { String },
        Shape::Any => quote! { serde_json::Value },
    }
}

/// How a field's builder treats repeated calls.
enum Builder {
    /// Set the value (a later call wins).
    Set,
    /// Append items (associative and set lists).
    Append,
    /// Replace the whole list or map (atomic lists and maps).
    Replace,
    /// Merge entries per key (granular maps).
    Merge,
}

fn builder_for(f: &Field) -> Builder {
    match &f.shape {
        Shape::Array(_) => match f.facts.list_type.as_deref() {
            Some("map") | Some("set") => Builder::Append,
            _ => Builder::Replace,
        },
        Shape::Map(_) => match f.facts.map_type.as_deref() {
            Some("atomic") => Builder::Replace,
            _ => Builder::Merge,
        },
        _ => Builder::Set,
    }
}

/// The apply configuration of one type, or nothing when it gets none.
pub(crate) fn emit_apply_configuration(
    model: &Model,
    t: &TypeDef,
    reach: &BTreeSet<TypeId>,
) -> TokenStream {
    let TypeKind::Struct(s) = &t.kind else {
        return TokenStream::new();
    };
    if !reach.contains(&t.id) {
        return TokenStream::new();
    }
    let type_name = ident(&t.name);
    let name = ident(&config_name(model, t));
    let names = field_names(&s.fields);
    let mut fields = Vec::new();
    let mut builders = Vec::new();
    for (f, fname) in s.fields.iter().zip(&names) {
        let field = ident(fname);
        let json = &f.json_name;
        let rename = (fname != json).then(|| quote! { rename = #json, });
        let value = config_shape(model, &f.shape, t, reach);
        let stored = if f.boxed {
            quote! { Box<#value> }
        } else {
            value.clone()
        };
        let doc = format!(" `{json}`: see [`{}::{fname}`].", t.name);
        let with = ident(&format!("with_{}", fname.trim_end_matches('_')));
        if f.facts.nullable {
            // An explicit `null` is applied and kept as one (the server
            // stores it, owned by the manager that applied it).
            fields.push(quote! {
                #[doc = #doc]
                #[serde(#rename default, skip_serializing_if = "kubegen_core::Nullable::is_absent")]
                pub #field: kubegen_core::Nullable<#stored>,
            });
            builders.push(nullable_builders(&with, &field, f, &value));
            continue;
        }
        fields.push(quote! {
            #[doc = #doc]
            #[serde(#rename default, skip_serializing_if = "Option::is_none")]
            pub #field: Option<#stored>,
        });
        let item = |shape: &Shape| config_shape(model, shape, t, reach);
        builders.push(field_builder(&with, &field, f, &value, item));
    }
    if s.facts.preserve_unknown_fields {
        // As in the type: fields the schema does not name survive extract.
        let extra = ident(&extra_field_name(&names));
        fields.push(quote! {
            /// Fields not named by the schema (`x-kubernetes-preserve-unknown-fields`).
            #[serde(flatten)]
            pub #extra: std::collections::BTreeMap<String, serde_json::Value>,
        });
    }
    let doc = format!(
        " Apply configuration of [`{}`]: only the fields a field manager owns. \
         Every field is optional and an unset field is absent from the JSON.",
        t.name
    );
    // As for the types: a written-out `Deserialize` unless a flattened map
    // needs serde's buffering.
    let lean = !s.facts.preserve_unknown_fields;
    let de = (!lean).then(|| quote! { serde::Deserialize });
    let mut out = quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, #de)]
        pub struct #name { #( #fields )* }
    };
    if lean {
        out.extend(lean_deserialize(
            &name.to_string(),
            &s.fields,
            &names,
            Presence::AllOptional,
        ));
    }
    let kind = is_object(t).then(|| model.resource_for(&t.id)).flatten();
    let constructor = match (kind, t.single_gvk()) {
        (Some(r), Some(g)) => {
            let api_version = if g.group.is_empty() {
                g.version.clone()
            } else {
                format!("{}/{}", g.group, g.version)
            };
            let kind_name = &g.kind;
            let av = field_ident(s, &names, "apiVersion");
            let k = field_ident(s, &names, "kind");
            let meta = field_ident(s, &names, "metadata");
            let doc = format!(" A `{kind_name}` named `name` with apiVersion and kind set.");
            if r.namespaced {
                quote! {
                    #[doc = #doc]
                    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
                        Self {
                            #av: Some(#api_version.to_owned()),
                            #k: Some(#kind_name.to_owned()),
                            #meta: Some(kubegen_core::apply::ObjectMetaApplyConfiguration::new()
                                .with_name(name).with_namespace(namespace)),
                            ..Default::default()
                        }
                    }
                }
            } else {
                quote! {
                    #[doc = #doc]
                    pub fn new(name: impl Into<String>) -> Self {
                        Self {
                            #av: Some(#api_version.to_owned()),
                            #k: Some(#kind_name.to_owned()),
                            #meta: Some(kubegen_core::apply::ObjectMetaApplyConfiguration::new().with_name(name)),
                            ..Default::default()
                        }
                    }
                }
            }
        }
        _ => quote! {
            /// An empty configuration.
            pub fn new() -> Self { Self::default() }
        },
    };
    let shortcuts = kind
        .map(|_| metadata_shortcuts(s, &names))
        .unwrap_or_default();
    out.extend(quote! {
        impl #name {
            #constructor
            #( #builders )*
            #shortcuts
        }
    });
    if let Some(r) = kind {
        let snake = ident_for(&t.name);
        let extract = ident(&format!("extract_{}", snake.trim_end_matches('_')));
        let doc = format!(
            " The fields of `{}` that `field_manager` owns through server-side apply, \
             as an apply configuration to change and apply again (client-go's `Extract{}`).",
            t.name, t.name
        );
        // `#[inline]`: a non-generic wrapper would be compiled here, with the
        // whole serde_json encode/decode of the kind's type tree, whether or
        // not a program calls it; inline, only the programs that call it do.
        out.extend(quote! {
            #[doc = #doc]
            #[inline]
            pub fn #extract(object: &#type_name, field_manager: &str) -> kubegen_core::Result<#name> {
                kubegen_core::apply::extract(object, field_manager, "")
            }
        });
        if r.subresources.contains_key("status") {
            let extract_status = ident(&format!("extract_{}_status", snake.trim_end_matches('_')));
            let doc = format!(
                " Like [`{extract}`], for the fields owned through the status subresource."
            );
            out.extend(quote! {
                #[doc = #doc]
                #[inline]
                pub fn #extract_status(object: &#type_name, field_manager: &str) -> kubegen_core::Result<#name> {
                    kubegen_core::apply::extract(object, field_manager, "status")
                }
            });
        }
    }
    out
}

fn field_ident(s: &crate::model::StructDef, names: &[String], json: &str) -> TokenStream {
    let n = s
        .fields
        .iter()
        .zip(names)
        .find(|(f, _)| f.json_name == json)
        .map(|(_, n)| n);
    let n = ident(n.map(String::as_str).unwrap_or(json));
    quote! { #n }
}

/// The `with_*` method of one field. `value` is the field's configuration
/// type before any `Box` the cycle pass asked for.
fn field_builder(
    with: &proc_macro2::Ident,
    ident: &proc_macro2::Ident,
    f: &Field,
    value: &TokenStream,
    item: impl Fn(&Shape) -> TokenStream,
) -> TokenStream {
    let json = &f.json_name;
    match (builder_for(f), &f.shape) {
        (builder @ (Builder::Append | Builder::Replace), Shape::Array(i)) => {
            // String items take anything `Into<String>` (`with_args(["-v"])`);
            // other items their own type, so an empty `[]` still infers.
            let (generics, item_ty, extend, iter) = if matches!(**i, Shape::String) {
                let iter = quote! { items.into_iter().map(Into::into) };
                (
                    quote! { <S: Into<String>> },
                    quote! { S },
                    iter.clone(),
                    iter,
                )
            } else {
                let iter = quote! { items.into_iter() };
                (TokenStream::new(), item(i), quote! { items }, iter)
            };
            let (doc, body) = if matches!(builder, Builder::Append) {
                (
                    format!(" Append to `{json}` (a keyed or set list: repeated calls add)."),
                    quote! { self.#ident.get_or_insert_with(Vec::new).extend(#extend); },
                )
            } else {
                (
                    format!(" Set `{json}` (an atomic list: a later call replaces it)."),
                    quote! { self.#ident = Some(#iter.collect()); },
                )
            };
            quote! {
                #[doc = #doc]
                pub fn #with #generics (mut self, items: impl IntoIterator<Item = #item_ty>) -> Self { #body self }
            }
        }
        (builder @ (Builder::Merge | Builder::Replace), Shape::Map(v)) => {
            let v = item(v);
            let (doc, body) = if matches!(builder, Builder::Merge) {
                (
                    format!(
                        " Add entries to `{json}`, overwriting earlier values of the same keys."
                    ),
                    quote! { kubegen_core::apply::merge_map(&mut self.#ident, entries); },
                )
            } else {
                (
                    format!(" Set `{json}` (an atomic map: a later call replaces it)."),
                    quote! {
                        self.#ident = Some(entries.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
                    },
                )
            };
            quote! {
                #[doc = #doc]
                pub fn #with<K: Into<String>, V: Into<#v>>(mut self, entries: impl IntoIterator<Item = (K, V)>) -> Self {
                    #body
                    self
                }
            }
        }
        (_, Shape::String) => {
            let doc = format!(" Set `{json}`.");
            quote! {
                #[doc = #doc]
                pub fn #with(mut self, value: impl Into<String>) -> Self { self.#ident = Some(value.into()); self }
            }
        }
        _ => {
            let doc = format!(" Set `{json}`.");
            let stored = if f.boxed {
                quote! { Box::new(value) }
            } else {
                quote! { value }
            };
            quote! {
                #[doc = #doc]
                pub fn #with(mut self, value: #value) -> Self { self.#ident = Some(#stored); self }
            }
        }
    }
}

/// The builders of a `nullable` field: a value (the whole of it), or `null`.
fn nullable_builders(
    with: &proc_macro2::Ident,
    ident: &proc_macro2::Ident,
    f: &Field,
    value: &TokenStream,
) -> TokenStream {
    let json = &f.json_name;
    let (param, stored) = match (&f.shape, f.boxed) {
        (Shape::String, _) => (quote! { impl Into<String> }, quote! { value.into() }),
        (_, true) => (value.clone(), quote! { Box::new(value) }),
        (_, false) => (value.clone(), quote! { value }),
    };
    let with_null = quote::format_ident!("{}_null", with);
    let doc = format!(" Set `{json}`.");
    let null_doc = format!(" Set `{json}` to an explicit `null` (it is `nullable`).");
    quote! {
        #[doc = #doc]
        pub fn #with(mut self, value: #param) -> Self { self.#ident = kubegen_core::Nullable::Value(#stored); self }
        #[doc = #null_doc]
        pub fn #with_null(mut self) -> Self { self.#ident = kubegen_core::Nullable::Null; self }
    }
}

/// client-go's kind-level shortcuts into `metadata`.
fn metadata_shortcuts(s: &crate::model::StructDef, names: &[String]) -> TokenStream {
    let meta = field_ident(s, names, "metadata");
    let taken = |n: &str| names.iter().any(|x| x == n);
    let mut out = TokenStream::new();
    if !taken("labels") {
        out.extend(quote! {
            /// Add labels (merged per key).
            pub fn with_labels<K: Into<String>, V: Into<String>>(mut self, entries: impl IntoIterator<Item = (K, V)>) -> Self {
                self.#meta = Some(self.#meta.take().unwrap_or_default().with_labels(entries));
                self
            }
        });
    }
    if !taken("annotations") {
        out.extend(quote! {
            /// Add annotations (merged per key).
            pub fn with_annotations<K: Into<String>, V: Into<String>>(mut self, entries: impl IntoIterator<Item = (K, V)>) -> Self {
                self.#meta = Some(self.#meta.take().unwrap_or_default().with_annotations(entries));
                self
            }
        });
    }
    if !taken("owner_references") {
        out.extend(quote! {
            /// Append owner references.
            pub fn with_owner_references(mut self, refs: impl IntoIterator<Item = kubegen_core::apply::OwnerReferenceApplyConfiguration>) -> Self {
                self.#meta = Some(self.#meta.take().unwrap_or_default().with_owner_references(refs));
                self
            }
        });
    }
    if !taken("finalizers") {
        out.extend(quote! {
            /// Append finalizers.
            pub fn with_finalizers<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
                self.#meta = Some(self.#meta.take().unwrap_or_default().with_finalizers(names));
                self
            }
        });
    }
    out
}

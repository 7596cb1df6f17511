//! `#[kubegen_runtime::schema]`: rewrite `#[kubegen(...)]` schema attributes
//! on fields (and on types without `CustomResource`) into
//! `#[schemars(extend(...))]`, before `#[derive(JsonSchema)]` runs.
//!
//! It must therefore sit *above* the derive. It also refuses, at compile time,
//! an untagged enum whose variants serialize as different JSON types: no
//! structural schema can describe it.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Error, Expr, Fields, Item, LitStr, Result, Token, Type};

use crate::attrs::{Rule, ident_of, set_flag, set_once, unknown};

const FIELD_KEYS: &[&str] = &[
    "list_type",
    "list_map_keys",
    "map_type",
    "validation",
    "preserve_unknown_fields",
    "embedded_resource",
    "default",
];
const TYPE_KEYS: &[&str] = &[
    "map_type",
    "validation",
    "preserve_unknown_fields",
    "embedded_resource",
];

#[derive(Default)]
struct Ext {
    list_type: Option<LitStr>,
    list_map_keys: Option<(Span, Vec<LitStr>)>,
    map_type: Option<LitStr>,
    validations: Vec<Rule>,
    preserve_unknown_fields: Option<Span>,
    embedded_resource: Option<Span>,
    default: Option<Expr>,
}

pub fn expand(args: TokenStream, item: TokenStream) -> Result<TokenStream> {
    if !args.is_empty() {
        return Err(Error::new(
            args.span(),
            "#[kubegen_runtime::schema] takes no arguments",
        ));
    }
    let mut item: Item = syn::parse2(item)?;
    match &mut item {
        Item::Struct(s) => {
            check_after_derive(&s.attrs)?;
            if !derives(&s.attrs, "CustomResource") {
                rewrite(&mut s.attrs, TYPE_KEYS)?;
            }
            rewrite_fields(&mut s.fields)?;
        }
        Item::Enum(e) => {
            check_after_derive(&e.attrs)?;
            let preserve = rewrite(&mut e.attrs, TYPE_KEYS)?;
            for v in &mut e.variants {
                if let Some(a) = v.attrs.iter().find(|a| a.path().is_ident("kubegen")) {
                    return Err(Error::new(
                        a.span(),
                        "#[kubegen(...)] on an enum variant has no schema node to attach to; put it on the enum or a field",
                    ));
                }
                rewrite_fields(&mut v.fields)?;
            }
            if !preserve {
                check_untagged(e)?;
            }
        }
        other => {
            return Err(Error::new(
                other.span(),
                "#[kubegen_runtime::schema] applies to structs and enums",
            ));
        }
    }
    Ok(quote!(#item))
}

/// The item with every `#[kubegen(...)]` schema attribute removed (after an
/// error, so the item still compiles as far as it can).
pub fn strip(item: TokenStream) -> TokenStream {
    let Ok(mut item) = syn::parse2::<Item>(item.clone()) else {
        return item;
    };
    let strip_attrs = |attrs: &mut Vec<Attribute>| attrs.retain(|a| !a.path().is_ident("kubegen"));
    match &mut item {
        Item::Struct(s) => {
            if !derives(&s.attrs, "CustomResource") {
                strip_attrs(&mut s.attrs);
            }
            s.fields.iter_mut().for_each(|f| strip_attrs(&mut f.attrs));
        }
        Item::Enum(e) => {
            strip_attrs(&mut e.attrs);
            for v in &mut e.variants {
                strip_attrs(&mut v.attrs);
                v.fields.iter_mut().for_each(|f| strip_attrs(&mut f.attrs));
            }
        }
        _ => {}
    }
    quote!(#item)
}

/// Derives listed *above* this attribute expand before it and have already
/// read the unrewritten attributes; only a `JsonSchema` derive below it sees
/// the rewrite.
fn check_after_derive(attrs: &[Attribute]) -> Result<()> {
    if !derives(attrs, "JsonSchema") {
        return Err(Error::new(
            Span::call_site(),
            "#[kubegen_runtime::schema] must come above #[derive(JsonSchema)] (it rewrites attributes the derive reads)",
        ));
    }
    Ok(())
}

fn derives(attrs: &[Attribute], name: &str) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            a.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
                .is_ok_and(|paths| {
                    paths
                        .iter()
                        .any(|p| p.segments.last().is_some_and(|s| s.ident == name))
                })
        })
}

fn rewrite_fields(fields: &mut Fields) -> Result<()> {
    for f in fields.iter_mut() {
        rewrite(&mut f.attrs, FIELD_KEYS)?;
    }
    Ok(())
}

/// Replace the `#[kubegen(...)]` attributes in `attrs` by one
/// `#[schemars(extend(...))]`. Returns whether `preserve_unknown_fields` was set.
fn rewrite(attrs: &mut Vec<Attribute>, known: &[&str]) -> Result<bool> {
    let mut ext = Ext::default();
    let mut any = false;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("kubegen") {
            kept.push(attr);
            continue;
        }
        any = true;
        attr.parse_nested_meta(|meta| {
            let key = ident_of(&meta)?;
            if !known.contains(&key.as_str()) {
                if FIELD_KEYS.contains(&key.as_str()) {
                    return Err(meta.error(format!("`{key}` belongs on a field, not on a type")));
                }
                return Err(unknown(&meta, &key, "", known));
            }
            match key.as_str() {
                "list_type" => set_once(&mut ext.list_type, meta.value()?.parse()?, &meta, &key),
                "map_type" => set_once(&mut ext.map_type, meta.value()?.parse()?, &meta, &key),
                "list_map_keys" => {
                    let span = meta.path.span();
                    let arr: syn::ExprArray = meta.value()?.parse()?;
                    let mut keys = Vec::new();
                    for e in arr.elems {
                        match e {
                            Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(s),
                                ..
                            }) => keys.push(s),
                            other => {
                                return Err(Error::new(
                                    other.span(),
                                    "list_map_keys lists field names as strings",
                                ));
                            }
                        }
                    }
                    if keys.is_empty() {
                        return Err(meta.error("list_map_keys needs at least one key"));
                    }
                    set_once(&mut ext.list_map_keys, (span, keys), &meta, &key)
                }
                "validation" => {
                    ext.validations.push(Rule::parse(&meta)?);
                    Ok(())
                }
                "preserve_unknown_fields" => {
                    set_flag(&mut ext.preserve_unknown_fields, &meta, &key)
                }
                "embedded_resource" => set_flag(&mut ext.embedded_resource, &meta, &key),
                "default" => {
                    let e: Expr = meta.value()?.parse()?;
                    check_json_literal(&e)?;
                    set_once(&mut ext.default, e, &meta, &key)
                }
                _ => Err(unknown(&meta, &key, "", known)),
            }
        })?;
    }
    *attrs = kept;
    if !any {
        return Ok(false);
    }
    let preserve = ext.preserve_unknown_fields.is_some();
    attrs.push(ext.into_attribute()?);
    Ok(preserve)
}

/// Only JSON-shaped literals can be a schema default: strings, numbers,
/// booleans, and arrays of them. Anything else goes through `#[serde(default)]`.
fn check_json_literal(e: &Expr) -> Result<()> {
    match e {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(_) | syn::Lit::Int(_) | syn::Lit::Float(_) | syn::Lit::Bool(_),
            ..
        }) => Ok(()),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => check_json_literal(expr),
        Expr::Array(a) => a.elems.iter().try_for_each(check_json_literal),
        other => Err(Error::new(
            other.span(),
            "default must be a JSON literal (string, number, bool, or [..] of them); for anything else use #[serde(default = \"path\")]",
        )),
    }
}

impl Ext {
    fn into_attribute(self) -> Result<Attribute> {
        let mut pairs: Vec<TokenStream> = Vec::new();
        if let Some(t) = &self.list_type {
            if !["atomic", "set", "map"].contains(&t.value().as_str()) {
                return Err(Error::new(
                    t.span(),
                    "list_type must be \"atomic\", \"set\" or \"map\"",
                ));
            }
            match (&self.list_map_keys, t.value() == "map") {
                (None, true) => {
                    return Err(Error::new(
                        t.span(),
                        "list_type = \"map\" needs list_map_keys = [\"...\"] (the fields that identify an item)",
                    ));
                }
                (Some((span, _)), false) => {
                    return Err(Error::new(
                        *span,
                        "list_map_keys only applies with list_type = \"map\"",
                    ));
                }
                _ => {}
            }
            pairs.push(quote!("x-kubernetes-list-type" = #t));
        } else if let Some((span, _)) = &self.list_map_keys {
            return Err(Error::new(
                *span,
                "list_map_keys needs list_type = \"map\" as well",
            ));
        }
        if let Some((_, keys)) = &self.list_map_keys {
            pairs.push(quote!("x-kubernetes-list-map-keys" = [#(#keys),*]));
        }
        if let Some(m) = &self.map_type {
            if !["atomic", "granular"].contains(&m.value().as_str()) {
                return Err(Error::new(
                    m.span(),
                    "map_type must be \"atomic\" or \"granular\"",
                ));
            }
            pairs.push(quote!("x-kubernetes-map-type" = #m));
        }
        if !self.validations.is_empty() {
            let rules = self.validations.iter().map(|r| {
                let rule = &r.rule;
                let mut entries = vec![quote!("rule": #rule)];
                for (k, v) in [
                    ("message", &r.message),
                    ("messageExpression", &r.message_expression),
                    ("reason", &r.reason),
                    ("fieldPath", &r.field_path),
                ] {
                    if let Some(v) = v {
                        entries.push(quote!(#k: #v));
                    }
                }
                quote!({ #(#entries),* })
            });
            pairs.push(quote!("x-kubernetes-validations" = [#(#rules),*]));
        }
        if self.preserve_unknown_fields.is_some() {
            pairs.push(quote!("x-kubernetes-preserve-unknown-fields" = true));
        }
        if self.embedded_resource.is_some() {
            pairs.push(quote!("x-kubernetes-embedded-resource" = true));
        }
        if let Some(d) = &self.default {
            pairs.push(quote!("default" = #d));
        }
        Ok(syn::parse_quote!(#[schemars(extend(#(#pairs),*))]))
    }
}

/// The JSON type a variant's payload serializes as, where the tokens say it.
fn json_kind(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Reference(r) => json_kind(&r.elem),
        Type::Array(_) | Type::Slice(_) => Some("array"),
        Type::Tuple(t) if t.elems.is_empty() => Some("null"),
        Type::Tuple(_) => Some("array"),
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            match name.as_str() {
                "String" | "CompactString" | "str" | "char" => Some("string"),
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
                | "u128" | "usize" => Some("integer"),
                "f32" | "f64" => Some("number"),
                "bool" => Some("boolean"),
                "Vec" | "VecDeque" | "HashSet" | "BTreeSet" => Some("array"),
                "HashMap" | "BTreeMap" | "SortedMap" | "Map" => Some("object"),
                "Box" | "Arc" | "Rc" | "Option" => match &last.arguments {
                    syn::PathArguments::AngleBracketed(a) => {
                        a.args.iter().find_map(|arg| match arg {
                            syn::GenericArgument::Type(t) => json_kind(t),
                            _ => None,
                        })
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

fn check_untagged(e: &syn::ItemEnum) -> Result<()> {
    let mut untagged: Option<Span> = None;
    for a in e.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = a.parse_nested_meta(|m| {
            if m.path.is_ident("untagged") {
                untagged = Some(m.path.span());
            }
            // Skip values of other keys (rename = "..." and the like).
            if m.input.peek(Token![=]) {
                let _: Expr = m.value()?.parse()?;
            } else if m.input.peek(syn::token::Paren) {
                let _ = m.parse_nested_meta(|inner| {
                    if inner.input.peek(Token![=]) {
                        let _: Expr = inner.value()?.parse()?;
                    }
                    Ok(())
                });
            }
            Ok(())
        });
    }
    let Some(untagged) = untagged else {
        return Ok(());
    };
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    for v in &e.variants {
        let kind = match &v.fields {
            Fields::Unit => Some("null"),
            Fields::Named(_) => Some("object"),
            Fields::Unnamed(u) if u.unnamed.len() == 1 => {
                u.unnamed.first().and_then(|f| json_kind(&f.ty))
            }
            Fields::Unnamed(_) => Some("array"),
        };
        if let Some(k) = kind
            && !seen.iter().any(|(s, _)| *s == k)
        {
            seen.push((k, v.ident.to_string()));
        }
    }
    if seen.len() > 1 {
        let shapes: Vec<String> = seen
            .iter()
            .map(|(k, v)| format!("{k} (variant `{v}`)"))
            .collect();
        return Err(Error::new(
            untagged,
            format!(
                "this untagged enum serializes as {}; a CRD's structural schema gives every field one JSON type. \
                 Use a tagged enum, IntOrString for integer-or-string, or #[kubegen(preserve_unknown_fields)] on the enum",
                shapes.join(" or ")
            ),
        ));
    }
    Ok(())
}

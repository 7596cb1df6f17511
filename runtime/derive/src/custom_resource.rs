//! `#[derive(CustomResource)]`: read the `#[kubegen(...)]` attributes of a
//! spec struct, check them, and emit the kind struct with its trait impls and
//! `crd()`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, LitBool, LitInt, LitStr, Result, Type};

use crate::attrs::{Rule, ident_of, non_empty, set_flag, set_once, unknown};

const KEYS: &[&str] = &[
    "group",
    "version",
    "kind",
    "plural",
    "singular",
    "namespaced",
    "status",
    "shortname",
    "category",
    "printcolumn",
    "selectable_field",
    "scale",
    "validation",
    "served",
    "storage",
    "deprecated",
    "deprecation_warning",
    "derive",
];

struct PrintColumn {
    name: LitStr,
    type_: LitStr,
    json_path: LitStr,
    description: Option<LitStr>,
    priority: Option<LitInt>,
    format: Option<LitStr>,
}

struct Scale {
    spec_replicas_path: LitStr,
    status_replicas_path: LitStr,
    label_selector_path: Option<LitStr>,
    span: Span,
}

#[derive(Default)]
struct Opts {
    group: Option<LitStr>,
    version: Option<LitStr>,
    kind: Option<LitStr>,
    plural: Option<LitStr>,
    singular: Option<LitStr>,
    namespaced: Option<Span>,
    status: Option<(LitStr, Type)>,
    short_names: Vec<LitStr>,
    categories: Vec<LitStr>,
    printer_columns: Vec<PrintColumn>,
    selectable_fields: Vec<LitStr>,
    scale: Option<Scale>,
    validations: Vec<Rule>,
    served: Option<LitBool>,
    storage: Option<LitBool>,
    deprecated: Option<Span>,
    deprecation_warning: Option<LitStr>,
    derives: Vec<syn::Path>,
}

pub fn expand(input: DeriveInput) -> Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        _ => {
            return Err(Error::new(
                input.ident.span(),
                "CustomResource derives from the spec struct (with named fields) of a kind",
            ));
        }
    };
    if !matches!(fields, Fields::Named(_)) {
        return Err(Error::new(
            input.ident.span(),
            "the spec of a custom resource must be a struct with named fields",
        ));
    }
    if !input.generics.params.is_empty() {
        return Err(Error::new(
            input.generics.span(),
            "a generic spec cannot become a CRD: give it concrete types",
        ));
    }
    for f in fields {
        if let Some(a) = f.attrs.iter().find(|a| a.path().is_ident("kubegen")) {
            return Err(Error::new(
                a.path().span(),
                "field attributes #[kubegen(...)] take effect only through the schema macro: \
                 put #[kubegen_runtime::schema] above #[derive(...)]",
            ));
        }
    }

    let mut opts = Opts::default();
    let mut first_attr: Option<Span> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("kubegen")) {
        first_attr.get_or_insert(attr.path().span());
        attr.parse_nested_meta(|meta| parse_key(&mut opts, &meta))?;
    }
    let at = first_attr.unwrap_or_else(Span::call_site);
    let missing = |key: &str, example: &str| {
        Error::new(
            at,
            format!(
                "missing `{key} = \"...\"` in #[kubegen(...)] (for example {key} = \"{example}\")"
            ),
        )
    };
    let group = opts
        .group
        .clone()
        .ok_or_else(|| missing("group", "example.com"))?;
    let version = opts
        .version
        .clone()
        .ok_or_else(|| missing("version", "v1"))?;
    let kind = opts.kind.clone().ok_or_else(|| missing("kind", "Foo"))?;
    check(&opts, &group, &version, &kind)?;

    let kind_ident = syn::Ident::new(&kind.value(), kind.span());
    let spec = &input.ident;
    if *spec == kind_ident {
        return Err(Error::new(
            spec.span(),
            format!(
                "the derive generates the kind `{k}` itself; name this spec struct `{k}Spec`",
                k = kind.value()
            ),
        ));
    }
    let vis = &input.vis;
    let kind_str = kind.value();
    let group_str = group.value();
    let version_str = version.value();
    let api_version = format!("{group_str}/{version_str}");
    let plural = opts
        .plural
        .as_ref()
        .map_or_else(|| to_plural(&kind_str.to_ascii_lowercase()), LitStr::value);
    let singular = opts
        .singular
        .as_ref()
        .map_or_else(|| kind_str.to_ascii_lowercase(), LitStr::value);
    let namespaced = opts.namespaced.is_some();
    let scope = if namespaced {
        quote!(Namespaced)
    } else {
        quote!(Cluster)
    };
    let doc = doc_of(&input.attrs);
    let description = match &doc {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };

    let rt = quote!(::kubegen_runtime);
    let serde_path = format!("{}::__private::serde", "::kubegen_runtime");
    let derives = &opts.derives;
    let (status_field, status_init, status_schema, status_verb) = match &opts.status {
        Some((_, ty)) => (
            quote! {
                /// The observed state, written by the controller through the status subresource.
                #[serde(default, skip_serializing_if = "::core::option::Option::is_none")]
                pub status: ::core::option::Option<#ty>,
            },
            quote!(status: ::core::option::Option::None,),
            quote! {
                ::core::option::Option::Some(#rt::crd::schema_for::<#ty>(".status").map_err(|source| {
                    #rt::crd::CrdError::Schema { kind: #kind_str.into(), part: "status", source }
                })?)
            },
            quote!(impl #rt::verbs::Status for #kind_ident {}),
        ),
        None => (
            quote!(),
            quote!(),
            quote!(::core::option::Option::None),
            quote!(),
        ),
    };
    let scale_verb = opts.scale.as_ref().map(|_| {
        quote! {
            impl #rt::verbs::Scale for #kind_ident {
                type Scale = #rt::__private::kubegen_api::autoscaling::v1::Scale;
            }
        }
    });

    let opt = |v: &Option<LitStr>| match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let short_names = &opts.short_names;
    let categories = &opts.categories;
    let selectable = &opts.selectable_fields;
    let columns = opts.printer_columns.iter().map(|c| {
        let (name, ty, path) = (&c.name, &c.type_, &c.json_path);
        let description = opt(&c.description);
        let format = opt(&c.format);
        let priority = c
            .priority
            .as_ref()
            .map_or_else(|| quote!(0), |p| quote!(#p));
        quote! {
            #rt::crd::PrinterColumn {
                name: #name, type_: #ty, json_path: #path, description: #description,
                priority: #priority, format: #format,
            }
        }
    });
    let scale = match &opts.scale {
        Some(s) => {
            let (spec_path, status_path) = (&s.spec_replicas_path, &s.status_replicas_path);
            let selector = opt(&s.label_selector_path);
            quote! {
                ::core::option::Option::Some(#rt::crd::ScaleSubresource {
                    spec_replicas_path: #spec_path, status_replicas_path: #status_path, label_selector_path: #selector,
                })
            }
        }
        None => quote!(::core::option::Option::None),
    };
    let rules = opts.validations.iter().map(|r| {
        let rule = &r.rule;
        let (message, expr, reason, path) =
            (opt(&r.message), opt(&r.message_expression), opt(&r.reason), opt(&r.field_path));
        quote! {
            #rt::crd::ValidationRule {
                rule: #rule, message: #message, message_expression: #expr, reason: #reason, field_path: #path,
            }
        }
    });
    let served = opts.served.as_ref().is_none_or(LitBool::value);
    let storage = opts.storage.as_ref().is_none_or(LitBool::value);
    let deprecated = opts.deprecated.is_some();
    let deprecation_warning = opt(&opts.deprecation_warning);
    let status_subresource = opts.status.is_some();
    let kind_doc = format!(
        "The `{kind_str}` custom resource of `{api_version}`, generated by `#[derive(CustomResource)]` on [`{spec}`]."
    );
    let new_doc = format!("A `{kind_str}` named `name` with the given spec and no status.");

    Ok(quote! {
        #[doc = #kind_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, #rt::__private::serde::Serialize, #rt::__private::serde::Deserialize, #(#derives),*)]
        #[serde(crate = #serde_path)]
        #vis struct #kind_ident {
            /// Always the kind's `group/version`.
            #[serde(rename = "apiVersion")]
            pub api_version: ::std::string::String,
            /// Always the kind's name.
            pub kind: ::std::string::String,
            /// Standard object metadata.
            #[serde(default)]
            pub metadata: #rt::meta::ObjectMeta,
            /// The desired state.
            pub spec: #spec,
            #status_field
        }

        impl #kind_ident {
            #[doc = #new_doc]
            pub fn new(name: &str, spec: #spec) -> Self {
                Self {
                    api_version: #api_version.into(),
                    kind: #kind_str.into(),
                    metadata: #rt::meta::ObjectMeta {
                        name: ::core::option::Option::Some(name.into()),
                        ..::core::default::Default::default()
                    },
                    spec,
                    #status_init
                }
            }

            /// The CustomResourceDefinition of this version of the kind,
            /// with the structural schema of spec and status; see
            /// `kubegen_runtime::crd`. Errors name the field whose type has no
            /// structural schema.
            pub fn crd() -> ::core::result::Result<
                #rt::__private::kubegen_api::apiextensions::v1::CustomResourceDefinition,
                #rt::crd::CrdError,
            > {
                #rt::crd::decode(Self::crd_json()?)
            }

            /// [`Self::crd`] as JSON.
            pub fn crd_json() -> ::core::result::Result<#rt::__private::serde_json::Value, #rt::crd::CrdError> {
                const INFO: #rt::crd::CrdInfo = #rt::crd::CrdInfo {
                    group: #group_str,
                    version: #version_str,
                    kind: #kind_str,
                    plural: #plural,
                    singular: #singular,
                    namespaced: #namespaced,
                    short_names: &[#(#short_names),*],
                    categories: &[#(#categories),*],
                    printer_columns: &[#(#columns),*],
                    selectable_fields: &[#(#selectable),*],
                    status_subresource: #status_subresource,
                    scale: #scale,
                    served: #served,
                    storage: #storage,
                    deprecated: #deprecated,
                    deprecation_warning: #deprecation_warning,
                    spec_validations: &[#(#rules),*],
                    description: #description,
                };
                let spec = #rt::crd::schema_for::<#spec>(".spec").map_err(|source| {
                    #rt::crd::CrdError::Schema { kind: #kind_str.into(), part: "spec", source }
                })?;
                let status = #status_schema;
                ::core::result::Result::Ok(#rt::crd::build(&INFO, spec, status))
            }
        }

        impl #rt::Resource for #kind_ident {
            const GROUP: &'static str = #group_str;
            const VERSION: &'static str = #version_str;
            const API_VERSION: &'static str = #api_version;
            const KIND: &'static str = #kind_str;
            const PLURAL: &'static str = #plural;
            const SCOPE: #rt::Scope = #rt::Scope::#scope;
        }

        impl #rt::Object for #kind_ident {
            fn metadata(&self) -> &#rt::meta::ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut #rt::meta::ObjectMeta {
                &mut self.metadata
            }
        }

        // A CRD serves every standard verb; it never takes strategic merge patches.
        impl #rt::verbs::Get for #kind_ident {}
        impl #rt::verbs::List for #kind_ident {}
        impl #rt::verbs::Watch for #kind_ident {}
        impl #rt::verbs::Create for #kind_ident {}
        impl #rt::verbs::Update for #kind_ident {}
        impl #rt::verbs::Patch for #kind_ident {}
        impl #rt::verbs::Delete for #kind_ident {}
        impl #rt::verbs::DeleteCollection for #kind_ident {}
        #status_verb
        #scale_verb

    })
}

fn parse_key(opts: &mut Opts, meta: &syn::meta::ParseNestedMeta) -> Result<()> {
    let key = ident_of(meta)?;
    let lit = |meta: &syn::meta::ParseNestedMeta| -> Result<LitStr> { meta.value()?.parse() };
    match key.as_str() {
        "group" => set_once(&mut opts.group, lit(meta)?, meta, &key),
        "version" => set_once(&mut opts.version, lit(meta)?, meta, &key),
        "kind" => set_once(&mut opts.kind, lit(meta)?, meta, &key),
        "plural" => set_once(&mut opts.plural, lit(meta)?, meta, &key),
        "singular" => set_once(&mut opts.singular, lit(meta)?, meta, &key),
        "namespaced" => set_flag(&mut opts.namespaced, meta, &key),
        "status" => {
            let s = lit(meta)?;
            let ty: Type = s.parse().map_err(|e| Error::new(s.span(), format!("status must name a type: {e}")))?;
            set_once(&mut opts.status, (s, ty), meta, &key)
        }
        "shortname" => {
            opts.short_names.push(lit(meta)?);
            Ok(())
        }
        "category" => {
            opts.categories.push(lit(meta)?);
            Ok(())
        }
        "selectable_field" => {
            opts.selectable_fields.push(lit(meta)?);
            Ok(())
        }
        "printcolumn" => {
            let c = parse_column(meta)?;
            opts.printer_columns.push(c);
            Ok(())
        }
        "scale" => {
            let s = parse_scale(meta)?;
            set_once(&mut opts.scale, s, meta, &key)
        }
        "validation" => {
            opts.validations.push(Rule::parse(meta)?);
            Ok(())
        }
        "served" => set_once(&mut opts.served, meta.value()?.parse()?, meta, &key),
        "storage" => set_once(&mut opts.storage, meta.value()?.parse()?, meta, &key),
        "deprecated" => set_flag(&mut opts.deprecated, meta, &key),
        "deprecation_warning" => set_once(&mut opts.deprecation_warning, lit(meta)?, meta, &key),
        "derive" => {
            let s = lit(meta)?;
            let path: syn::Path = s.parse().map_err(|e| Error::new(s.span(), format!("derive must name a trait: {e}")))?;
            opts.derives.push(path);
            Ok(())
        }
        "list_type" | "list_map_keys" | "map_type" | "preserve_unknown_fields" | "default" => Err(meta.error(format!(
            "`{key}` is a field attribute: put it on a field, with #[kubegen_runtime::schema] above the derive"
        ))),
        other => Err(unknown(meta, other, "", KEYS)),
    }
}

fn parse_column(meta: &syn::meta::ParseNestedMeta) -> Result<PrintColumn> {
    let (mut name, mut type_, mut json_path, mut description, mut priority, mut format) =
        (None, None, None, None, None::<LitInt>, None);
    meta.parse_nested_meta(|m| {
        let key = ident_of(&m)?;
        match key.as_str() {
            "name" => set_once(&mut name, m.value()?.parse()?, &m, &key),
            "type" => set_once(&mut type_, m.value()?.parse()?, &m, &key),
            "json_path" => set_once(&mut json_path, m.value()?.parse()?, &m, &key),
            "description" => set_once(&mut description, m.value()?.parse()?, &m, &key),
            "priority" => set_once(&mut priority, m.value()?.parse()?, &m, &key),
            "format" => set_once(&mut format, m.value()?.parse()?, &m, &key),
            other => Err(unknown(
                &m,
                other,
                "printcolumn(",
                &[
                    "name",
                    "type",
                    "json_path",
                    "description",
                    "priority",
                    "format",
                ],
            )),
        }
    })?;
    let need = |v: Option<LitStr>, k: &str| {
        v.ok_or_else(|| meta.error(format!("printcolumn(...) needs `{k} = \"...\"`")))
    };
    let c = PrintColumn {
        name: need(name, "name")?,
        type_: need(type_, "type")?,
        json_path: need(json_path, "json_path")?,
        description,
        priority,
        format,
    };
    const TYPES: &[&str] = &["integer", "number", "string", "boolean", "date"];
    if !TYPES.contains(&c.type_.value().as_str()) {
        return Err(Error::new(
            c.type_.span(),
            format!("printcolumn type must be one of {}", TYPES.join(", ")),
        ));
    }
    json_path_check(&c.json_path)?;
    non_empty(&c.name, "name")?;
    if let Some(p) = &c.priority {
        p.base10_parse::<i32>()?;
    }
    Ok(c)
}

fn parse_scale(meta: &syn::meta::ParseNestedMeta) -> Result<Scale> {
    let span = meta.path.span();
    let (mut spec_path, mut status_path, mut selector) = (None::<LitStr>, None::<LitStr>, None);
    meta.parse_nested_meta(|m| {
        let key = ident_of(&m)?;
        match key.as_str() {
            "spec_replicas_path" => set_once(&mut spec_path, m.value()?.parse()?, &m, &key),
            "status_replicas_path" => set_once(&mut status_path, m.value()?.parse()?, &m, &key),
            "label_selector_path" => set_once(&mut selector, m.value()?.parse()?, &m, &key),
            other => Err(unknown(
                &m,
                other,
                "scale(",
                &[
                    "spec_replicas_path",
                    "status_replicas_path",
                    "label_selector_path",
                ],
            )),
        }
    })?;
    let spec_replicas_path = spec_path
        .ok_or_else(|| meta.error("scale(...) needs `spec_replicas_path = \".spec.replicas\"`"))?;
    let status_replicas_path = status_path.ok_or_else(|| {
        meta.error("scale(...) needs `status_replicas_path = \".status.replicas\"`")
    })?;
    if !spec_replicas_path.value().starts_with(".spec.") {
        return Err(Error::new(
            spec_replicas_path.span(),
            "spec_replicas_path must start with `.spec.`",
        ));
    }
    if !status_replicas_path.value().starts_with(".status.") {
        return Err(Error::new(
            status_replicas_path.span(),
            "status_replicas_path must start with `.status.`",
        ));
    }
    if let Some(s) = &selector {
        json_path_check(s)?;
    }
    Ok(Scale {
        spec_replicas_path,
        status_replicas_path,
        label_selector_path: selector,
        span,
    })
}

fn json_path_check(p: &LitStr) -> Result<()> {
    if !p.value().starts_with('.') {
        return Err(Error::new(
            p.span(),
            "a JSON path starts with `.`, e.g. `.spec.replicas`",
        ));
    }
    Ok(())
}

/// What the API server would refuse about the names, and the contradictions
/// between keys, as errors on the attribute that causes them.
fn check(opts: &Opts, group: &LitStr, version: &LitStr, kind: &LitStr) -> Result<()> {
    let g = group.value();
    if !g.contains('.') || !is_dns_subdomain(&g) {
        return Err(Error::new(
            group.span(),
            "group must be a lowercase DNS subdomain with at least one dot, e.g. `example.com`",
        ));
    }
    if !is_dns_label(&version.value())
        || !version
            .value()
            .starts_with(|c: char| c.is_ascii_lowercase())
    {
        return Err(Error::new(
            version.span(),
            "version must be a lowercase DNS label such as `v1` or `v1beta1`",
        ));
    }
    let k = kind.value();
    if !k.starts_with(|c: char| c.is_ascii_uppercase())
        || !k.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(Error::new(
            kind.span(),
            "kind must be CamelCase ASCII letters and digits, e.g. `Foo`",
        ));
    }
    for lit in opts
        .plural
        .iter()
        .chain(&opts.singular)
        .chain(&opts.short_names)
        .chain(&opts.categories)
    {
        if !is_dns_label(&lit.value()) {
            return Err(Error::new(
                lit.span(),
                "must be a lowercase DNS label (letters, digits, `-`)",
            ));
        }
    }
    for f in &opts.selectable_fields {
        json_path_check(f)?;
    }
    if let (Some(w), None) = (&opts.deprecation_warning, &opts.deprecated) {
        return Err(Error::new(
            w.span(),
            "deprecation_warning needs `deprecated` as well",
        ));
    }
    if let (Some(s), None) = (&opts.scale, &opts.status) {
        return Err(Error::new(
            s.span,
            "scale reads replicas from `.status`: declare the status type too (status = \"FooStatus\")",
        ));
    }
    if let (Some(st), Some(sv)) = (&opts.storage, &opts.served)
        && st.value()
        && !sv.value()
    {
        return Err(Error::new(sv.span(), "the storage version must be served"));
    }
    Ok(())
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// English plural of a lowercase kind, the way kubectl and controller-gen
/// guess it; override with `plural = "..."`.
fn to_plural(s: &str) -> String {
    if s.ends_with('s')
        || s.ends_with('x')
        || s.ends_with('z')
        || s.ends_with("ch")
        || s.ends_with("sh")
    {
        format!("{s}es")
    } else if let Some(stem) = s.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{s}s")
    }
}

/// The doc comment of an item, as schemars would write it.
pub fn doc_of(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

//! Golden tests of the generator passes, in the style of typify's: a small
//! input from `tests/fixtures/` that exercises one thing goes through the
//! pass, the result is rendered as readable text (per type its module, name,
//! fields with their Rust shapes, boxing and schema facts; per resource its
//! kind, plural, scope, verbs and subresources; per apply configuration its
//! fields and builders) and compared with `tests/golden/<name>.txt`.
//!
//! A difference fails with a line diff. When it is intended, run
//! `KUBEGEN_BLESS=1 cargo test -p kubegen golden` to rewrite the files, and
//! review the diff of `tests/golden/` like any other change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use quote::ToTokens;

use crate::diagnostics::Diagnostics;
use crate::emit::{self, EmitOptions, Files, field_names};
use crate::model::{
    self, BuildOptions, Model, Resource, SchemaFacts, Shape, TYPE_PASSES, TypeDef, TypeKind,
};
use crate::spec::{self, Crd, Gvk, OpenApiDoc};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

/// Loads fixtures: `.json` files are OpenAPI documents, others CRD
/// manifests. They are named `fixtures/<name>` rather than by absolute path,
/// so places in messages are the same on every machine.
fn load(names: &[&str]) -> (Vec<OpenApiDoc>, Vec<Crd>) {
    let (mut docs, mut crds) = (Vec::new(), Vec::new());
    for name in names {
        let text = std::fs::read_to_string(Path::new(FIXTURES).join(name))
            .unwrap_or_else(|e| panic!("fixtures/{name}: {e}"));
        let path = Path::new("fixtures").join(name);
        if name.ends_with(".json") {
            let value = spec::parse_json(&path, &text).unwrap_or_else(|e| panic!("{e}"));
            docs.push(OpenApiDoc::from_value(&path, value).unwrap_or_else(|e| panic!("{e}")));
        } else {
            crds.extend(spec::crd::parse_str(&path, &text).unwrap_or_else(|e| panic!("{e}")));
        }
    }
    (docs, crds)
}

/// The whole model of some fixtures (every pass run).
fn build(names: &[&str], opts: &BuildOptions) -> Model {
    let (docs, crds) = load(names);
    model::build(&docs, &crds, opts, &mut Diagnostics::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Compares `body` with `tests/golden/<name>.txt` (or rewrites the file
/// under `KUBEGEN_BLESS=1`). The file starts with what it shows and why.
fn check(name: &str, about: &str, fixtures: &[&str], body: &str) {
    let inputs: Vec<String> = fixtures.iter().map(|f| format!("fixtures/{f}")).collect();
    let actual = format!(
        "# {about}\n# Input: {}. Rewrite with KUBEGEN_BLESS=1 (see src/golden.rs).\n\n{body}",
        inputs.join(", ")
    );
    let path = Path::new(GOLDEN).join(format!("{name}.txt"));
    if std::env::var_os("KUBEGEN_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(GOLDEN).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with KUBEGEN_BLESS=1 to write it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} does not match this run (- golden, + now); if the change is intended, rerun with KUBEGEN_BLESS=1:\n{}",
        path.display(),
        render_diff(&expected, &actual, 2)
    );
}

/// A line diff by longest common subsequence: each line of `old` and `new`
/// with `' '` (in both), `'-'` (only in `old`) or `'+'` (only in `new`).
fn diff_lines<'a>(old: &'a str, new: &'a str) -> Vec<(char, &'a str)> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    out
}

/// The changed lines of a diff with `context` unchanged lines around each,
/// and `...` for the unchanged lines left out.
fn render_diff(old: &str, new: &str, context: usize) -> String {
    let lines = diff_lines(old, new);
    let near_change = |i: usize| {
        let lo = i.saturating_sub(context);
        let hi = (i + context + 1).min(lines.len());
        lines[lo..hi].iter().any(|(c, _)| *c != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (i, (c, line)) in lines.iter().enumerate() {
        if *c == ' ' && !near_change(i) {
            if !skipped {
                out.push_str("  ...\n");
            }
            skipped = true;
            continue;
        }
        skipped = false;
        let _ = writeln!(out, "{c} {line}");
    }
    out
}

/// How generated code names a type.
fn type_path(model: &Model, id: &str) -> String {
    match model.types.get(id) {
        None => format!("<missing {id}>"),
        Some(t) => match t.kind {
            TypeKind::Runtime(rt) => format!("kubegen_core::meta::{rt}"),
            _ if t.external => format!("kubegen_api::{}::{}", t.module.0.join("::"), t.name),
            _ => format!("{}::{}", t.module.0.join("::"), t.name),
        },
    }
}

fn shape(model: &Model, s: &Shape) -> String {
    match s {
        Shape::Bool => "bool".into(),
        Shape::I32 => "i32".into(),
        Shape::I64 => "i64".into(),
        Shape::F64 => "f64".into(),
        Shape::String => "String".into(),
        Shape::Any => "Value".into(),
        Shape::Array(i) => format!("Vec<{}>", shape(model, i)),
        Shape::Map(i) => format!("BTreeMap<String, {}>", shape(model, i)),
        Shape::Ref(id) => type_path(model, id),
    }
}

/// The facts that are set, as `[a, b=c]`, or nothing.
fn facts(f: &SchemaFacts) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut flag = |on: bool, name: &str| {
        if on {
            out.push(name.to_owned());
        }
    };
    flag(f.nullable, "nullable");
    flag(f.int_or_string, "int-or-string");
    flag(f.preserve_unknown_fields, "preserve-unknown-fields");
    flag(f.embedded_resource, "embedded-resource");
    let named = [
        ("format", &f.format),
        ("list-type", &f.list_type),
        ("map-type", &f.map_type),
        ("patch-strategy", &f.patch_strategy),
        ("patch-merge-key", &f.patch_merge_key),
    ];
    for (name, value) in named {
        if let Some(v) = value {
            out.push(format!("{name}={v}"));
        }
    }
    if !f.list_map_keys.is_empty() {
        out.push(format!("list-map-keys={}", f.list_map_keys.join(",")));
    }
    if !f.enum_values.is_empty() {
        out.push(format!(
            "enum={}",
            serde_json::Value::from(f.enum_values.clone())
        ));
    }
    if let Some(d) = &f.default {
        out.push(format!("default={d}"));
    }
    for v in &f.validations {
        let message = v.message.as_deref().unwrap_or("no message");
        out.push(format!("validation={:?} ({message})", v.rule));
    }
    for (k, v) in &f.constraints {
        out.push(format!("{k}={v}"));
    }
    if out.is_empty() {
        String::new()
    } else {
        format!("  [{}]", out.join(", "))
    }
}

fn gvk(g: &Gvk) -> String {
    format!("{}/{} {}", g.group, g.version, g.kind)
}

/// One type: path and id, what it is, then its fields (`json -> rust: type`).
fn type_summary(model: &Model, t: &TypeDef) -> String {
    let mut out = format!("{} ({})\n", type_path(model, &t.id), t.id);
    let mut about = vec![match &t.kind {
        TypeKind::Struct(s) => format!("struct{}", facts(&s.facts)),
        TypeKind::Alias(s) => format!("alias of {}", shape(model, s)),
        TypeKind::Runtime(rt) => format!("runtime {rt}"),
    }];
    about.extend(t.gvks.iter().map(|g| format!("kind {}", gvk(g))));
    if !t.defaultable {
        about.push("no Default".into());
    }
    if t.external {
        about.push("external (kubegen-api)".into());
    }
    let _ = writeln!(out, "  {}", about.join("; "));
    if let Some(d) = &t.description {
        let _ = writeln!(out, "  doc: {}", d.lines().next().unwrap_or_default());
    }
    if let TypeKind::Struct(s) = &t.kind {
        for (f, name) in s.fields.iter().zip(field_names(&s.fields)) {
            let mut ty = shape(model, &f.shape);
            if f.boxed {
                ty = format!("Box<{ty}>");
            }
            if !f.required {
                ty = format!("Option<{ty}>");
            }
            let _ = writeln!(
                out,
                "  {:?} -> {name}: {ty}{}",
                f.json_name,
                facts(&f.facts)
            );
        }
    }
    out
}

fn verbs<'v>(vs: impl IntoIterator<Item = &'v model::Verb>) -> String {
    let names: Vec<String> = vs
        .into_iter()
        .map(|v| format!("{v:?}").to_lowercase())
        .collect();
    names.join(" ")
}

/// One resource: where it is served, its type, verbs and subresources.
fn resource_summary(model: &Model, r: &Resource) -> String {
    let gv = if r.group.is_empty() {
        r.version.clone()
    } else {
        format!("{}/{}", r.group, r.version)
    };
    let scope = if r.namespaced {
        "namespaced"
    } else {
        "cluster-scoped"
    };
    let ty = r
        .type_id
        .as_deref()
        .map_or("no type".into(), |id| type_path(model, id));
    let mut out = format!("{gv} {}: kind {}, {scope}, {ty}\n", r.plural, r.kind);
    let mut about = vec![
        format!("singular {}", r.singular),
        format!("list {}", r.list_kind),
    ];
    if !r.short_names.is_empty() {
        about.push(format!("short names {}", r.short_names.join(",")));
    }
    if !r.categories.is_empty() {
        about.push(format!("categories {}", r.categories.join(",")));
    }
    if r.strategic_merge_patch {
        about.push("strategic merge patch".into());
    }
    if r.deprecated {
        about.push("deprecated".into());
    }
    let origin = if r.from_crd {
        "from a CRD"
    } else {
        "from paths"
    };
    about.push(origin.into());
    let _ = writeln!(out, "  {}", about.join("; "));
    let _ = writeln!(out, "  verbs: {}", verbs(&r.verbs));
    for (name, s) in &r.subresources {
        let _ = write!(out, "  /{name}: {}", verbs(&s.verbs));
        if let Some(g) = &s.gvk {
            let _ = write!(out, "; speaks {}", gvk(g));
        }
        if let Some(id) = &s.type_id {
            let _ = write!(out, " = {}", type_path(model, id));
        }
        out.push('\n');
    }
    out
}

/// Every type written or referenced from outside (the runtime's own types
/// are the same for every input and left out), then every resource.
fn model_summary(model: &Model) -> String {
    let mut out = String::from("== types\n");
    for t in model.types.values() {
        if !matches!(t.kind, TypeKind::Runtime(_)) {
            out.push_str(&type_summary(model, t));
        }
    }
    out.push_str("\n== resources\n");
    for r in &model.resources {
        out.push_str(&resource_summary(model, r));
    }
    out
}

/// What the type pass `pass` changes in the model of `fixtures`: the types it
/// removes, adds or changes (with the changed lines), then the model after
/// every pass. Fails if the pass changes nothing, as the fixture would then
/// not exercise it.
fn pass_summary(fixtures: &[&str], pass: &str) -> String {
    let (docs, crds) = load(fixtures);
    let opts = BuildOptions::default();
    let mut model = model::convert(&docs, &crds, &opts, &mut Diagnostics::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let per_type = |model: &Model| -> BTreeMap<String, String> {
        let emitted = model.types.values().filter(|t| t.emitted());
        emitted
            .map(|t| (t.id.clone(), type_summary(model, t)))
            .collect()
    };
    let mut changes = None;
    for (name, run) in TYPE_PASSES {
        let before = per_type(&model);
        run(&mut model.types).unwrap_or_else(|e| panic!("{name}: {e}"));
        if *name == pass {
            changes = Some(changed_types(&before, &per_type(&model)));
        }
    }
    let changes = changes.unwrap_or_else(|| panic!("no type pass named {pass}"));
    assert!(!changes.is_empty(), "the {pass} pass changed nothing");
    format!(
        "== changed by the {pass} pass\n{changes}\n{}",
        model_summary(&model)
    )
}

fn changed_types(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> String {
    let ids: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = String::new();
    for id in ids {
        match (before.get(id), after.get(id)) {
            (Some(_), None) => {
                let _ = writeln!(out, "removed {id}");
            }
            (None, Some(_)) => {
                let _ = writeln!(out, "added {id}");
            }
            (Some(b), Some(a)) if a != b => {
                let _ = writeln!(out, "changed {id}");
                for (c, line) in diff_lines(b, a) {
                    if c != ' ' {
                        let _ = writeln!(out, "{c} {line}");
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Tokens as compact Rust (`Option<Box<super::X>>`, not `Option < Box < ...`).
fn rust(tokens: &impl ToTokens) -> String {
    let mut s = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (" : ", ": "),
        (" < ", "<"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        ("& ", "&"),
        // Trailing commas of signatures prettyplease broke over lines.
        (",)", ")"),
        (",>", ">"),
        ("=(", "= ("),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// The first line of an item's doc comment.
fn first_doc_line(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .find_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_default()
}

/// The apply configurations in the emitted `files`, per file: each
/// configuration's fields, its inherent methods (with the first doc line,
/// which says how repeated calls behave) and the `extract_*` functions.
fn apply_summary(files: &Files) -> String {
    let mut out = String::new();
    for (path, text) in files {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let file = syn::parse_file(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let configs: BTreeSet<String> = file
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Struct(s)
                    if first_doc_line(&s.attrs).starts_with("Apply configuration of") =>
                {
                    Some(s.ident.to_string())
                }
                _ => None,
            })
            .collect();
        if configs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}", path.display());
        for item in &file.items {
            match item {
                syn::Item::Struct(s) if configs.contains(&s.ident.to_string()) => {
                    let _ = writeln!(out, "  struct {}", s.ident);
                    for f in &s.fields {
                        let flatten = f.attrs.iter().any(|a| rust(a).contains("flatten"));
                        let _ = writeln!(
                            out,
                            "    {}: {}{}",
                            rust(&f.ident),
                            rust(&f.ty),
                            if flatten { " (flatten)" } else { "" }
                        );
                    }
                }
                syn::Item::Impl(i) if i.trait_.is_none() && configs.contains(&rust(&i.self_ty)) => {
                    let _ = writeln!(out, "  impl {}", rust(&i.self_ty));
                    for m in &i.items {
                        if let syn::ImplItem::Fn(f) = m {
                            let _ = writeln!(out, "    {}", rust(&f.sig));
                            let _ = writeln!(out, "      // {}", first_doc_line(&f.attrs));
                        }
                    }
                }
                syn::Item::Fn(f) if f.sig.ident.to_string().starts_with("extract_") => {
                    let _ = writeln!(out, "  {}", rust(&f.sig));
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn diff_shows_changed_lines_with_context() {
    let old = "a\nb\nc\nd\ne\nf\ng\n";
    let new = "a\nb\nC\nd\ne\nf\ng\nh\n";
    assert_eq!(
        render_diff(old, new, 1),
        "  ...\n  b\n- c\n+ C\n  d\n  ...\n  g\n+ h\n"
    );
    assert!(diff_lines(old, old).iter().all(|(c, _)| *c == ' '));
}

#[test]
fn schema_nodes_become_shapes() {
    let f = ["schema.json"];
    let model = build(&f, &BuildOptions::default());
    check(
        "schema",
        "Schema nodes to Rust shapes (model/schema.rs): scalars and formats, arrays, maps, free-form JSON, int-or-string, allOf-wrapped $refs, inline objects, aliases.",
        &f,
        &model_summary(&model),
    );
}

#[test]
fn dedup_merges_identical_inline_types() {
    let f = ["dedup.json"];
    check(
        "dedup",
        "Identical inline types of a module merge into the one with the shortest name, to a fixpoint (the endpoints merge, then their parents); a documented copy and named definitions stay apart (model/dedup.rs).",
        &f,
        &pass_summary(&f, "dedup"),
    );
}

#[test]
fn recursive_fields_are_boxed() {
    let f = ["cycles.json"];
    check(
        "cycles",
        "By-value fields inside a cycle (direct, mutual, through an alias) are boxed; Vec and map items are not, nor are fields into a cycle from outside (model/cycles.rs).",
        &f,
        &pass_summary(&f, "cycles"),
    );
}

#[test]
fn large_optional_fields_are_boxed() {
    let f = ["layout.json"];
    check(
        "layout",
        "Optional struct fields over four words are boxed; required, small, list, runtime-type fields and a kind's own fields are not (model/layout.rs).",
        &f,
        &pass_summary(&f, "layout"),
    );
}

#[test]
fn types_that_need_a_timestamp_do_not_derive_default() {
    let f = ["defaults.json"];
    check(
        "defaults",
        "A required field whose type has no Default (a timestamp, directly, through a type or an alias) stops a type deriving Default (model/cycles.rs).",
        &f,
        &pass_summary(&f, "defaults"),
    );
}

#[test]
fn identifiers_avoid_keywords_reserved_names_and_collisions() {
    let f = ["names.json"];
    let model = build(&f, &BuildOptions::default());
    check(
        "names",
        "Type, field and module names: keywords, names generated code uses, names that are not identifiers, and clashes between definitions, inline types and fields (model/names.rs, emit/names.rs).",
        &f,
        &model_summary(&model),
    );
}

#[test]
fn resources_get_the_verbs_and_subresources_their_paths_serve() {
    let f = ["resources.json"];
    let model = build(&f, &BuildOptions::default());
    check(
        "resources",
        "Resources from paths and x-kubernetes-action (model/resources.rs): namespaced and cluster-scoped, watch paths, status and scale subresources, strategic merge patch, a create-only kind.",
        &f,
        &model_summary(&model),
    );
}

#[test]
fn filters_keep_what_the_selected_resources_reach() {
    let f = ["resources.json"];
    let opts = BuildOptions {
        resources: vec!["Widgets".into()],
        ..BuildOptions::default()
    };
    let model = build(&f, &opts);
    check(
        "build_filters",
        "--resource widgets (model/build.rs): the resource, its type, what that reaches, its list type and its scale subresource's type stay; everything else goes.",
        &f,
        &model_summary(&model),
    );
}

#[test]
fn documents_merge_and_the_first_definition_wins() {
    let f = ["merge_first.json", "merge_second.json"];
    let model = build(&f, &BuildOptions::default());
    check(
        "build_merge",
        "Two documents (v2 then v3, model/build.rs): a definition in both is taken from the first; a resource's paths in both give the union of its verbs and subresources.",
        &f,
        &model_summary(&model),
    );
}

#[test]
fn crds_give_resources_with_status_and_scale() {
    let f = ["crd_resources.yaml"];
    let model = build(&f, &BuildOptions::default());
    check(
        "crd_resources",
        "CRD versions to resources (model/build.rs): every verb, status and scale when enabled (Scale from kubegen-api), short names, categories, deprecated and unserved versions, a cluster-scoped kind.",
        &f,
        &model_summary(&model),
    );
}

#[test]
fn crd_schema_facts_are_kept() {
    let f = ["crd_facts.yaml"];
    let model = build(&f, &BuildOptions::default());
    check(
        "crd_facts",
        "What a CRD schema says beyond shapes (model/schema.rs): nullable, int-or-string, preserve-unknown-fields with and without properties, embedded resources, list and map types, enums, defaults, validations.",
        &f,
        &model_summary(&model),
    );
}

#[test]
fn apply_configurations_follow_list_and_map_types() {
    let f = ["apply.yaml"];
    let model = build(&f, &BuildOptions::default());
    let files = emit::emit(&model, &EmitOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    check(
        "apply",
        "Apply configurations (emit/applyconfigurations.rs): keyed and set lists append, atomic lists and maps replace, granular maps merge, strings take Into<String>, boxed and nested structs, kept unknown fields, a name clash, namespaced and cluster-scoped constructors, extract functions.",
        &f,
        &apply_summary(&files),
    );
}

//! The generated crate's manifest and README: `Cargo.toml` (dependencies and
//! Cargo features) and `README.md`, filled in from `templates/`.
//!
//! One feature per group/version module. A module's feature enables the
//! features of every module its types name (field types, aliases, and the
//! associated types of subresource impls), so enabling `apps_v1` alone
//! compiles. Types from kubegen-api used by a standalone CRD crate turn into
//! features of its kubegen-api dependency instead.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Model, ModuleId, TypeKind};

use super::EmitOptions;

/// A template from `templates/`, compiled into the generator so it runs
/// from anywhere.
pub(crate) fn template(name: &str) -> &'static str {
    match name {
        "Cargo.toml.workspace" => include_str!("../../../templates/Cargo.toml.workspace"),
        "Cargo.toml.standalone" => include_str!("../../../templates/Cargo.toml.standalone"),
        "README.md" => include_str!("../../../templates/README.md"),
        "lib.rs.md" => include_str!("../../../templates/lib.rs.md"),
        _ => "",
    }
}

/// For each emitted module, the modules (emitted or external) its code names.
pub fn module_dependencies(model: &Model) -> BTreeMap<ModuleId, BTreeSet<ModuleId>> {
    let mut deps: BTreeMap<ModuleId, BTreeSet<ModuleId>> = BTreeMap::new();
    for t in model.types.values().filter(|t| t.emitted()) {
        let mut refs = t.kind.refs();
        if let Some(r) = model.resource_for(&t.id) {
            refs.extend(r.subresources.values().filter_map(|s| s.type_id.as_ref()));
        }
        let entry = deps.entry(t.module.clone()).or_default();
        for r in refs {
            if let Some(target) = model.types.get(r)
                && !matches!(target.kind, TypeKind::Runtime(_))
                && target.module != t.module
            {
                entry.insert(target.module.clone());
            }
        }
    }
    deps
}

fn is_stable(m: &ModuleId) -> bool {
    m.0.last().is_some_and(|v| {
        v.strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    }) || m.0.len() == 1
}

/// `Cargo.toml`.
pub(crate) fn cargo_toml(
    model: &Model,
    opts: &EmitOptions,
    deps: &BTreeMap<ModuleId, BTreeSet<ModuleId>>,
) -> String {
    let external = |m: &ModuleId| {
        model.types.values().any(|t| t.external && &t.module == m) && !deps.contains_key(m)
    };
    let mut lines = Vec::new();
    let mut api_features = BTreeSet::new();
    for (m, ds) in deps {
        let items: Vec<String> = ds
            .iter()
            .map(|d| {
                if external(d) {
                    api_features.insert(d.feature());
                    format!("\"kubegen-api/{}\"", d.feature())
                } else {
                    format!("\"{}\"", d.feature())
                }
            })
            .collect();
        lines.push(format!("{} = [{}]", m.feature(), items.join(", ")));
    }
    // Defaults: everything for CRD crates; the stable (GA) group/versions for
    // a release's crate, as client-go users get them.
    let all_crd = model
        .types
        .values()
        .filter(|t| t.emitted())
        .all(|t| t.id.contains('/'));
    let mut defaults: Vec<String> = deps
        .keys()
        .filter(|m| all_crd || is_stable(m))
        .map(|m| format!("\"{}\"", m.feature()))
        .collect();
    // One dependency line: the workspace's entry (which carries
    // `default-features`), a checkout's path, or the crates.io release.
    let dep = |name: &str, dir: &str, optional: bool, default_features: bool| {
        let mut attrs = String::new();
        if !default_features {
            attrs += ", default-features = false";
        }
        if optional {
            attrs += ", optional = true";
        }
        match &opts.kubegen_path {
            _ if opts.in_workspace && optional => {
                format!("{name} = {{ workspace = true, optional = true }}\n")
            }
            _ if opts.in_workspace => format!("{name}.workspace = true\n"),
            Some(root) => format!("{name} = {{ path = {:?}{attrs} }}\n", root.join(dir)),
            None => format!("{name} = {{ version = \"{}\"{attrs} }}\n", crate::VERSION),
        }
    };
    // The types need kubegen-core alone; clients, informers and listers
    // need the HTTP stack and the cache, so they sit behind `client`.
    let mut runtime_deps = dep("kubegen-core", "runtime/core", false, true);
    let mut client_feature = String::new();
    if opts.clientset {
        runtime_deps += &dep("kubegen-client", "runtime/client", true, true);
        runtime_deps += &dep("kubegen-cache", "runtime/cache", true, true);
        client_feature = "# Typed clients, informers and listers (the HTTP stack and the cache).\n\
            client = [\"dep:kubegen-cache\", \"dep:kubegen-client\"]\n"
            .to_owned();
        defaults.insert(0, "\"client\"".to_owned());
    }
    // `validate()` of CRD kinds: the schema checker and its CEL interpreter.
    if model.resources.iter().any(|r| r.schema.is_some()) {
        runtime_deps += &dep("kubegen-validation", "runtime/validation", false, true);
    }
    let api_dep_line = if api_features.is_empty() {
        String::new()
    } else {
        dep("kubegen-api", "generated", false, false)
    };
    let tmpl = if opts.in_workspace {
        "Cargo.toml.workspace"
    } else {
        "Cargo.toml.standalone"
    };
    template(tmpl)
        .replace("{{crate_name}}", &opts.crate_name)
        .replace("{{version}}", crate::VERSION)
        .replace("{{runtime_deps}}", &runtime_deps)
        .replace("{{client_feature}}", &client_feature)
        .replace("{{api_dep_line}}", &api_dep_line)
        .replace("{{default_features}}", &defaults.join(", "))
        .replace("{{features}}", &lines.join("\n"))
}

/// `README.md`.
pub(crate) fn readme(model: &Model, opts: &EmitOptions, modules: &BTreeSet<ModuleId>) -> String {
    let list: Vec<String> = modules
        .iter()
        .map(|m| {
            let n = model
                .resources_in(m)
                .filter(|r| r.type_id.is_some())
                .count();
            format!("| `{}` | `{}` | {} |", m.0.join("::"), m.feature(), n)
        })
        .collect();
    template("README.md")
        .replace("{{crate_name}}", &opts.crate_name)
        .replace("{{version}}", crate::VERSION)
        .replace("{{inputs}}", &model.inputs.join(", "))
        .replace("{{modules}}", &list.join("\n"))
}

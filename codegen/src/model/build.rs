//! Building the [`Model`] from loaded inputs.
//!
//! [`build`] runs named steps, in this order: merge the named schemas of all
//! documents (first one wins, documents in the order given), register the
//! well-known runtime types, convert every definition, derive resources from
//! paths and link them to their types by GVK, convert every served CRD
//! version, apply the `--group`/`--resource` filters and drop what
//! `--keep-going` skipped (and what depends on it); then the passes over the
//! type arena ([`TYPE_PASSES`]): merge identical inline types, break cycles,
//! box large optional fields, decide `Default`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::names::{Case, module_for_definition, package_module, rust_name, sanitize_module};
use super::resources::from_operations;
use super::schema::{Converter, Inline, claim_name, description, facts};
use super::{
    AUTOSCALING_V1_SCALE, Field, Gvk, Model, ModuleId, OBJECT_META, RUNTIME_TYPES, Resource,
    SchemaFacts, Shape, Subresource, TypeDef, TypeId, TypeKind, Verb, cycles, dedup, layout,
};
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Location, Result};
use crate::spec::{Crd, CrdVersion, OpenApiDoc};

/// What to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Keep only these API groups (`core` or empty for the core group).
    pub groups: Vec<String>,
    /// Keep only these resources (plural or kind, case-insensitive).
    pub resources: Vec<String>,
    /// Input names for headers.
    pub inputs: Vec<String>,
}

/// Named schemas of all documents, by name, with where each is.
type Schemas<'a> = BTreeMap<&'a str, (&'a Value, Location)>;

/// Type names taken, per module.
type Taken = BTreeMap<ModuleId, BTreeSet<String>>;

/// Resources by group, version and plural.
type Resources = BTreeMap<(String, String, String), Resource>;

/// A pass over the type arena.
pub(crate) type TypePass = fn(&mut BTreeMap<TypeId, TypeDef>) -> Result<()>;

/// The passes over the type arena once every input is converted, in order:
/// each needs the ones before it (cycles are found among merged types, sizes
/// are estimated with recursive fields boxed, `Default` needs the final
/// fields). Named, so the golden tests can show what each one changes.
pub(crate) const TYPE_PASSES: &[(&str, TypePass)] = &[
    ("dedup", |types| {
        dedup::merge_identical(types);
        Ok(())
    }),
    ("alias-cycles", |types| cycles::check_alias_cycles(types)),
    ("cycles", |types| {
        cycles::box_recursive_fields(types);
        Ok(())
    }),
    ("layout", |types| {
        layout::box_large_optional_fields(types);
        Ok(())
    }),
    ("defaults", |types| {
        cycles::mark_defaultable(types);
        Ok(())
    }),
];

/// Builds the model. Broken definitions and CRD versions go to `diag`: under
/// [`Policy::Stop`](crate::Policy::Stop) they fail the build together, under
/// [`Policy::KeepGoing`](crate::Policy::KeepGoing) they are left out, with
/// every type that uses them.
pub fn build(
    docs: &[OpenApiDoc],
    crds: &[Crd],
    opts: &BuildOptions,
    diag: &mut Diagnostics,
) -> Result<Model> {
    let mut model = convert(docs, crds, opts, diag)?;
    for (_, pass) in TYPE_PASSES {
        pass(&mut model.types)?;
    }
    Ok(model)
}

/// Every input converted into types and resources and filtered: the model
/// before [`TYPE_PASSES`].
pub(crate) fn convert(
    docs: &[OpenApiDoc],
    crds: &[Crd],
    opts: &BuildOptions,
    diag: &mut Diagnostics,
) -> Result<Model> {
    let schemas = named_schemas(docs);
    // What a `$ref` may name.
    let mut named: BTreeSet<String> = schemas.keys().map(|s| (*s).to_owned()).collect();
    named.extend(RUNTIME_TYPES.iter().map(|(id, _)| (*id).to_owned()));
    let mut types = runtime_types(&schemas);
    let mut taken = Taken::new();
    convert_definitions(&schemas, &named, &mut types, &mut taken, diag);
    let mut resources = resources_from_paths(docs);
    link_resources(&mut resources, &types);
    let served = served_crd_versions(crds, &types, diag);
    convert_crds(
        &served,
        &named,
        &mut types,
        &mut taken,
        &mut resources,
        diag,
    );
    // Without --keep-going, every broken definition and CRD version fails
    // the build here, together.
    diag.checkpoint()?;
    let mut model = Model {
        types,
        resources: resources.into_values().collect(),
        inputs: opts.inputs.clone(),
        skipped: Vec::new(),
    };
    apply_filters(&mut model, opts);
    drop_dangling(&mut model, diag);
    check_features(&model)?;
    Ok(model)
}

/// The named schemas of all documents. A name defined twice is taken from
/// the first document that has it, so the user's order decides (an
/// aggregated API's copy of a built-in type does not replace it).
fn named_schemas(docs: &[OpenApiDoc]) -> Schemas<'_> {
    let mut schemas = Schemas::new();
    for doc in docs {
        for (name, schema) in &doc.schemas {
            schemas
                .entry(name.as_str())
                .or_insert_with(|| (schema, doc.schema_location(name)));
        }
    }
    schemas
}

/// The well-known apimachinery types, always present: the runtime writes
/// them by hand, and a CRD names `ObjectMeta` even when no document is given.
fn runtime_types(schemas: &Schemas<'_>) -> BTreeMap<TypeId, TypeDef> {
    RUNTIME_TYPES
        .iter()
        .map(|(id, rt)| {
            let (module, name) = module_for_definition(id);
            let location = schemas.get(id).map(|(_, l)| l.clone()).unwrap_or_default();
            (
                (*id).to_owned(),
                runtime_def(id, module, name, rt, location),
            )
        })
        .collect()
}

/// Converts every named schema that is not a runtime type. All definition
/// names are claimed first, so an inline type never takes the name of a
/// definition (which is what users look for).
fn convert_definitions(
    schemas: &Schemas<'_>,
    named: &BTreeSet<String>,
    types: &mut BTreeMap<TypeId, TypeDef>,
    taken: &mut Taken,
    diag: &mut Diagnostics,
) {
    let def_names = claim_all(
        taken,
        schemas
            .keys()
            .filter(|name| !types.contains_key(**name))
            .map(|name| {
                let (module, _) = module_for_definition(name);
                let raw = name.rsplit('.').next().unwrap_or(name);
                (*name, module, raw.to_owned())
            }),
    );
    let mut conv = Converter {
        named,
        types: BTreeMap::new(),
        taken,
    };
    for (name, (schema, loc)) in schemas {
        if types.contains_key(*name) {
            continue;
        }
        let tname = def_names.get(name).cloned().unwrap_or_default();
        match definition(&mut conv, name, tname, schema, loc) {
            Ok(t) => {
                types.insert((*name).to_owned(), t);
            }
            Err(e) => diag.report(e),
        }
    }
    types.append(&mut conv.types);
}

/// Resources from the paths of all documents. A v3 spec splits one
/// group/version's paths over documents, so a resource seen twice gets the
/// union of its verbs and subresources.
fn resources_from_paths(docs: &[OpenApiDoc]) -> Resources {
    let mut resources = Resources::new();
    for r in from_operations(docs.iter().flat_map(|d| d.operations.iter())) {
        let key = (r.group.clone(), r.version.clone(), r.plural.clone());
        match resources.get_mut(&key) {
            Some(have) => {
                have.verbs.extend(r.verbs);
                have.namespaced |= r.namespaced;
                have.strategic_merge_patch |= r.strategic_merge_patch;
                for (n, s) in r.subresources {
                    have.subresources.entry(n).or_insert(s);
                }
            }
            None => {
                resources.insert(key, r);
            }
        }
    }
    resources
}

/// Links resources and subresources to their types by GVK: paths name a
/// kind, not a definition, and the definition says which kinds it is.
fn link_resources(resources: &mut Resources, types: &BTreeMap<TypeId, TypeDef>) {
    let by_gvk: BTreeMap<Gvk, TypeId> = types
        .values()
        .filter(|t| !matches!(t.kind, TypeKind::Runtime(_)))
        .flat_map(|t| t.gvks.iter().map(move |g| (g.clone(), t.id.clone())))
        .collect();
    for r in resources.values_mut() {
        let gvk = Gvk {
            group: r.group.clone(),
            version: r.version.clone(),
            kind: r.kind.clone(),
        };
        r.type_id = by_gvk.get(&gvk).cloned();
        for s in r.subresources.values_mut() {
            s.type_id = s.gvk.as_ref().and_then(|g| by_gvk.get(g).cloned());
        }
    }
}

/// A served CRD version and the module its types go to.
struct Served<'c> {
    crd: &'c Crd,
    version: &'c CrdVersion,
    module: ModuleId,
    gvk: Gvk,
}

/// Every served CRD version with its module: the group's module
/// ([`crd_module_names`]) and the version, with a suffix where two modules
/// would share a Cargo feature. A kind defined twice is reported, and only
/// its first definition kept.
fn served_crd_versions<'c>(
    crds: &'c [Crd],
    types: &BTreeMap<TypeId, TypeDef>,
    diag: &mut Diagnostics,
) -> Vec<Served<'c>> {
    let spec_modules: BTreeSet<String> = types.values().map(|t| t.module.0[0].clone()).collect();
    let crd_modules = crd_module_names(crds, &spec_modules);
    let mut features: BTreeMap<String, ModuleId> = types
        .values()
        .map(|t| (t.module.feature(), t.module.clone()))
        .collect();
    let mut seen_kinds: BTreeMap<Gvk, Location> = BTreeMap::new();
    let mut served = Vec::new();
    for crd in crds {
        for v in &crd.versions {
            let gvk = Gvk {
                group: crd.group.clone(),
                version: v.name.clone(),
                kind: crd.names.kind.clone(),
            };
            if let Some(first) = seen_kinds.get(&gvk) {
                diag.report(Error::schema(
                    &v.schema_location,
                    format!(
                        "{}/{} {} is defined twice (first at {first})",
                        gvk.group, gvk.version, gvk.kind
                    ),
                ));
                continue;
            }
            seen_kinds.insert(gvk.clone(), v.schema_location.clone());
            let package = crd_modules
                .get(&crd.group)
                .cloned()
                .unwrap_or_else(|| package_module(&crd.group));
            let version = sanitize_module(&v.name);
            // `a`/`b-v1` and `a-b`/`v1` would share the Cargo feature and the
            // clientset accessor `a_b_v1`: the later one gets a suffix.
            let mut module = ModuleId(vec![package.clone(), version.clone()]);
            let mut n = 2;
            while features
                .get(&module.feature())
                .is_some_and(|m| *m != module)
            {
                module = ModuleId(vec![package.clone(), format!("{version}_{n}")]);
                n += 1;
            }
            features.insert(module.feature(), module.clone());
            served.push(Served {
                crd,
                version: v,
                module,
                gvk,
            });
        }
    }
    served
}

/// Converts each served CRD version into its kind (with inline types) and
/// its resource. The kinds' names are claimed before any inline type can
/// take them; a version that fails leaves none of its types behind.
fn convert_crds(
    served: &[Served<'_>],
    named: &BTreeSet<String>,
    types: &mut BTreeMap<TypeId, TypeDef>,
    taken: &mut Taken,
    resources: &mut Resources,
    diag: &mut Diagnostics,
) {
    let kind_names = claim_all(
        taken,
        served
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.module.clone(), s.crd.names.kind.clone())),
    );
    for (i, s) in served.iter().enumerate() {
        let mut conv = Converter {
            named,
            types: BTreeMap::new(),
            taken: &mut *taken,
        };
        let name = kind_names.get(&i).cloned().unwrap_or_default();
        match crd_root(&mut conv, s.crd, s.version, &s.module, s.gvk.clone(), name) {
            Ok(root) => {
                let r = crd_resource(s.crd, s.version, &root.id);
                types.insert(root.id.clone(), root);
                types.append(&mut conv.types);
                if s.version.scale.is_some() && !types.contains_key(AUTOSCALING_V1_SCALE) {
                    types.insert(AUTOSCALING_V1_SCALE.to_owned(), external_scale());
                }
                resources.insert((r.group.clone(), r.version.clone(), r.plural.clone()), r);
            }
            Err(e) => diag.report(e),
        }
    }
}

/// The resource of a CRD version: the API server serves every verb for
/// custom resources, and get/update/patch on the status and scale
/// subresources when the version enables them.
fn crd_resource(crd: &Crd, v: &CrdVersion, type_id: &TypeId) -> Resource {
    let mut subresources = BTreeMap::new();
    let rw: BTreeSet<Verb> = [Verb::Get, Verb::Update, Verb::Patch].into();
    if v.status {
        subresources.insert(
            "status".to_owned(),
            Subresource {
                verbs: rw.clone(),
                ..Default::default()
            },
        );
    }
    if v.scale.is_some() {
        subresources.insert(
            "scale".to_owned(),
            Subresource {
                verbs: rw,
                gvk: Some(Gvk {
                    group: "autoscaling".into(),
                    version: "v1".into(),
                    kind: "Scale".into(),
                }),
                type_id: Some(AUTOSCALING_V1_SCALE.to_owned()),
            },
        );
    }
    Resource {
        group: crd.group.clone(),
        version: v.name.clone(),
        kind: crd.names.kind.clone(),
        plural: crd.names.plural.clone(),
        singular: crd.names.singular.clone(),
        short_names: crd.names.short_names.clone(),
        categories: crd.names.categories.clone(),
        namespaced: crd.namespaced,
        list_kind: crd.names.list_kind.clone(),
        type_id: Some(type_id.clone()),
        verbs: [
            Verb::Get,
            Verb::List,
            Verb::Watch,
            Verb::Create,
            Verb::Update,
            Verb::Patch,
            Verb::Delete,
            Verb::DeleteCollection,
        ]
        .into(),
        subresources,
        strategic_merge_patch: false,
        deprecated: v.deprecated,
        storage: v.storage,
        from_crd: true,
        schema: v.schema.clone(),
    }
}

fn runtime_def(
    id: &str,
    module: ModuleId,
    name: String,
    rt: &'static str,
    location: Location,
) -> TypeDef {
    TypeDef {
        id: id.to_owned(),
        module,
        name,
        description: None,
        gvks: Vec::new(),
        kind: TypeKind::Runtime(rt),
        location,
        defaultable: true,
        external: false,
    }
}

/// autoscaling/v1 Scale when a CRD crate needs it but the inputs lack it: it
/// is taken from kubegen-api.
fn external_scale() -> TypeDef {
    let (module, name) = module_for_definition(AUTOSCALING_V1_SCALE);
    TypeDef {
        id: AUTOSCALING_V1_SCALE.to_owned(),
        module,
        name,
        description: None,
        gvks: vec![Gvk {
            group: "autoscaling".into(),
            version: "v1".into(),
            kind: "Scale".into(),
        }],
        kind: TypeKind::Alias(Shape::Any),
        location: Location::default(),
        defaultable: true,
        external: true,
    }
}

fn definition(
    conv: &mut Converter<'_>,
    name: &str,
    tname: String,
    schema: &Value,
    loc: &Location,
) -> Result<TypeDef> {
    let Some(obj) = schema.as_object() else {
        return Err(Error::schema(loc, "a schema must be a JSON object"));
    };
    let (module, _) = module_for_definition(name);
    let gvks = obj
        .get("x-kubernetes-group-version-kind")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Gvk::from_value).collect())
        .unwrap_or_default();
    let has_props = obj
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    let kind = if has_props {
        TypeKind::Struct(Box::new(conv.struct_def(
            obj,
            loc,
            &Inline {
                module: module.clone(),
                base: tname.clone(),
            },
        )?))
    } else {
        TypeKind::Alias(conv.shape(
            schema,
            loc,
            &Inline {
                module: module.clone(),
                base: tname.clone(),
            },
            "",
        )?)
    };
    Ok(TypeDef {
        id: name.to_owned(),
        module,
        name: tname,
        description: description(obj),
        gvks,
        kind,
        location: loc.clone(),
        defaultable: true,
        external: false,
    })
}

fn string_field(name: &str, description: &str) -> Field {
    Field {
        json_name: name.to_owned(),
        description: Some(description.to_owned()),
        required: false,
        shape: Shape::String,
        boxed: false,
        facts: SchemaFacts::default(),
    }
}

fn crd_root(
    conv: &mut Converter<'_>,
    crd: &Crd,
    v: &CrdVersion,
    module: &ModuleId,
    gvk: Gvk,
    name: String,
) -> Result<TypeDef> {
    let loc = &v.schema_location;
    let Some(schema) = &v.schema else {
        return Err(Error::schema(
            loc,
            "this served version has no schema.openAPIV3Schema; kubegen needs a structural schema to generate a type",
        ));
    };
    let Some(obj) = schema.as_object() else {
        return Err(Error::schema(loc, "openAPIV3Schema must be a JSON object"));
    };
    if let Some(t) = obj.get("type").and_then(Value::as_str)
        && t != "object"
    {
        return Err(Error::schema(
            &loc.child("type"),
            format!("the root of a CRD schema must be type object, not {t:?}"),
        ));
    }
    let mut def = conv.struct_def(
        obj,
        loc,
        &Inline {
            module: module.clone(),
            base: name.clone(),
        },
    )?;
    // apiVersion, kind and metadata are the server's, whatever the schema
    // says (it may omit them or declare metadata as a bare object).
    def.fields
        .retain(|f| !matches!(f.json_name.as_str(), "apiVersion" | "kind" | "metadata"));
    def.fields.push(string_field(
        "apiVersion",
        "APIVersion defines the versioned schema of this representation of an object.",
    ));
    def.fields.push(string_field(
        "kind",
        "Kind is a string value representing the REST resource this object represents.",
    ));
    def.fields.push(Field {
        json_name: "metadata".to_owned(),
        description: Some("Standard object's metadata.".to_owned()),
        required: false,
        shape: Shape::Ref(OBJECT_META.to_owned()),
        boxed: false,
        facts: SchemaFacts::default(),
    });
    def.fields.sort_by(|a, b| a.json_name.cmp(&b.json_name));
    def.facts = facts(obj);
    Ok(TypeDef {
        id: format!("{}/{}", module.0.join("/"), name),
        module: module.clone(),
        name,
        description: description(obj).or_else(|| {
            Some(format!(
                "{} is the Schema for the {} API ({}).",
                crd.names.kind, crd.names.plural, crd.name
            ))
        }),
        gvks: vec![gvk],
        kind: TypeKind::Struct(Box::new(def)),
        location: loc.clone(),
        defaultable: true,
        external: false,
    })
}

/// Claims type names (see [`claim_name`]) for `(key, module, input name)`s:
/// first the inputs that are already identifiers, then the ones that had to
/// be changed, each in the order given, so sanitising never renames a name
/// that was valid (`Foo-Bar` becomes `FooBar2` when a kind `FooBar` exists).
fn claim_all<K: Ord>(
    taken: &mut BTreeMap<ModuleId, BTreeSet<String>>,
    wants: impl Iterator<Item = (K, ModuleId, String)>,
) -> BTreeMap<K, String> {
    let (valid, changed): (Vec<_>, Vec<_>) =
        wants.partition(|(_, _, raw)| rust_name(raw, Case::Type) == *raw);
    valid
        .into_iter()
        .chain(changed)
        .map(|(k, module, raw)| {
            let name = claim_name(taken, &module, &raw);
            (k, name)
        })
        .collect()
}

/// Module names for CRD groups: the group's first label (`cert-manager.io` ->
/// `cert_manager`), or the whole group when that label is taken by a built-in
/// module or shared with another CRD group in the same run; a numeric suffix
/// (in group order) when two groups still end up with the same name.
fn crd_module_names(crds: &[Crd], spec_modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let groups: BTreeSet<&str> = crds.iter().map(|c| c.group.as_str()).collect();
    let label = |g: &str| package_module(g.split('.').next().unwrap_or(g));
    let mut label_count: BTreeMap<String, usize> = BTreeMap::new();
    for g in &groups {
        *label_count.entry(label(g)).or_default() += 1;
    }
    let mut used = spec_modules.clone();
    groups
        .iter()
        .map(|g| {
            let l = label(g);
            let base = if spec_modules.contains(&l) || label_count.get(&l).copied().unwrap_or(0) > 1
            {
                package_module(g)
            } else {
                l
            };
            let mut name = base.clone();
            let mut n = 2;
            while used.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            used.insert(name.clone());
            ((*g).to_owned(), name)
        })
        .collect()
}

/// Two modules whose paths join to the same Cargo feature and clientset
/// accessor (`a::b_v1` and `a_b::v1`), or a module that is also the package of
/// another (`a` and `a::v1`), cannot both be emitted: an error naming a
/// definition of each. (CRD versions are given distinct modules instead.)
fn check_features(model: &Model) -> Result<()> {
    let mut seen: BTreeMap<String, &TypeDef> = BTreeMap::new();
    let mut packages: BTreeMap<&str, &TypeDef> = BTreeMap::new();
    for t in model.types.values().filter(|t| t.emitted()) {
        if let [p, _] = t.module.0.as_slice() {
            packages.entry(p.as_str()).or_insert(t);
        }
    }
    for t in model.types.values().filter(|t| t.emitted()) {
        if let [m] = t.module.0.as_slice()
            && let Some(other) = packages.get(m.as_str())
        {
            return Err(Error::schema(
                &t.location,
                format!(
                    "{} goes to the Rust module {m}, which is also the package of {} (at {}) in {}; rename one of the packages",
                    t.id,
                    other.id,
                    other.location,
                    other.module.0.join("::"),
                ),
            ));
        }
        let feature = t.module.feature();
        match seen.get(&feature) {
            Some(first) if first.module != t.module => {
                return Err(Error::schema(
                    &t.location,
                    format!(
                        "{} goes to the Rust module {} and {} (at {}) to {}: both would be the Cargo feature and clientset accessor {feature:?}; rename one of the packages",
                        t.id,
                        t.module.0.join("::"),
                        first.id,
                        first.location,
                        first.module.0.join("::"),
                    ),
                ));
            }
            Some(_) => {}
            None => {
                seen.insert(feature, t);
            }
        }
    }
    Ok(())
}

/// Keeps the resources `--group` and `--resource` select and the types they
/// reach (with each kind's list type), plus the runtime types.
fn apply_filters(model: &mut Model, opts: &BuildOptions) {
    if opts.groups.is_empty() && opts.resources.is_empty() {
        return;
    }
    let group_ok = |g: &str| {
        opts.groups.is_empty()
            || opts
                .groups
                .iter()
                .any(|want| want == g || (g.is_empty() && (want == "core" || want.is_empty())))
    };
    let res_ok = |r: &Resource| {
        opts.resources.is_empty()
            || opts
                .resources
                .iter()
                .any(|w| w.eq_ignore_ascii_case(&r.plural) || w.eq_ignore_ascii_case(&r.kind))
    };
    model.resources.retain(|r| group_ok(&r.group) && res_ok(r));
    // Keep what the remaining resources reach.
    let mut keep: BTreeSet<TypeId> = BTreeSet::new();
    let mut todo: Vec<TypeId> = Vec::new();
    for r in &model.resources {
        todo.extend(r.type_id.iter().cloned());
        todo.extend(r.subresources.values().filter_map(|s| s.type_id.clone()));
        // The list type goes with the kind.
        if let Some(t) = r.type_id.as_ref().and_then(|t| model.types.get(t)) {
            let list =
                t.id.rsplit_once('.')
                    .map(|(p, _)| format!("{p}.{}", r.list_kind));
            todo.extend(list.filter(|l| model.types.contains_key(l)));
        }
    }
    while let Some(id) = todo.pop() {
        if !keep.insert(id.clone()) {
            continue;
        }
        if let Some(t) = model.types.get(&id) {
            todo.extend(t.kind.refs().into_iter().cloned());
        }
    }
    model
        .types
        .retain(|id, t| keep.contains(id) || matches!(t.kind, TypeKind::Runtime(_)));
}

/// Removes types that name a type that is not in the model (because it was
/// skipped), transitively, reporting each to `diag`: a type that cannot be
/// written whole is left out rather than written wrong.
fn drop_dangling(model: &mut Model, diag: &mut Diagnostics) {
    loop {
        let mut gone: Vec<(TypeId, TypeId)> = Vec::new();
        for (id, t) in &model.types {
            let refs = t.kind.refs();
            if let Some(missing) = refs.into_iter().find(|r| !model.types.contains_key(*r)) {
                gone.push((id.clone(), missing.clone()));
            }
        }
        if gone.is_empty() {
            break;
        }
        for (id, missing) in gone {
            if let Some(t) = model.types.remove(&id) {
                diag.report(Error::schema(
                    &t.location,
                    format!("skipped {id}: it uses {missing}, which was skipped"),
                ));
            }
        }
    }
    let types = &model.types;
    for r in &mut model.resources {
        if r.type_id.as_ref().is_some_and(|t| !types.contains_key(t)) {
            r.type_id = None;
        }
        for s in r.subresources.values_mut() {
            if s.type_id.as_ref().is_some_and(|t| !types.contains_key(t)) {
                s.type_id = None;
            }
        }
    }
}

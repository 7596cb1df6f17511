//! The one intermediate model every emitter reads: API groups > versions >
//! resources, and an arena of types.
//!
//! Built from any mix of OpenAPI documents and CRDs by [`build`]. All maps are
//! `BTreeMap`s and all lists are sorted, so emitting from the same model gives
//! byte-identical output whatever order the inputs were read in.
//!
//! Everything the spec says that later emitters need (types, clientsets,
//! listers, informers, apply configurations) is kept: the Kubernetes
//! `x-kubernetes-*` extensions as typed [`SchemaFacts`], validations and
//! constraints as documentation, verbs and subresources as the server serves
//! them.

mod build;
mod cycles;
mod dedup;
mod layout;
mod names;
mod resources;
mod schema;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub use build::{BuildOptions, build};
#[cfg(test)]
pub(crate) use build::{TYPE_PASSES, convert};
pub use names::{module_for_definition, pascal_case, snake_case};

/// Naming helpers shared with the emitters.
pub mod names_support {
    pub use super::names::{
        Case, is_ident, is_keyword, package_module, rust_name, sanitize_module, snake_case, words,
    };
}

use crate::error::{Error, Location};
pub use crate::spec::Gvk;

/// Canonical id of a type: the OpenAPI definition name
/// (`io.k8s.api.apps.v1.Deployment`), or for CRD types
/// `<group>/<version>/<TypeName>`.
pub type TypeId = String;

/// A Rust module holding one group/version's types, as path segments
/// (`["apps", "v1"]`, `["meta", "v1"]`, `["version"]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleId(pub Vec<String>);

impl ModuleId {
    /// The Cargo feature that enables the module: segments joined by `_`
    /// (`apps_v1`), without the `_` a keyword or reserved name got
    /// (`informers_::v1` -> `informers_v1`, but `default_` stays). It also
    /// names the clientset accessor, so the model builder keeps it unique.
    pub fn feature(&self) -> String {
        match self.0.as_slice() {
            [one] => one.clone(),
            segs => segs
                .iter()
                .map(|s| s.trim_end_matches('_'))
                .collect::<Vec<_>>()
                .join("_"),
        }
    }
}

/// The intermediate model.
#[derive(Debug, Default)]
pub struct Model {
    /// Every type, by id.
    pub types: BTreeMap<TypeId, TypeDef>,
    /// Every resource, sorted by group, version, plural.
    pub resources: Vec<Resource>,
    /// The inputs, as the user named them (for generated-file headers).
    pub inputs: Vec<String>,
    /// What `--keep-going` left out, with the reason.
    pub skipped: Vec<Error>,
}

impl Model {
    /// The resources of one module, in plural order.
    pub fn resources_in(&self, module: &ModuleId) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| {
            r.type_id
                .as_ref()
                .and_then(|t| self.types.get(t))
                .is_some_and(|t| &t.module == module)
        })
    }

    /// The modules that hold at least one emitted type, sorted.
    pub fn modules(&self) -> BTreeSet<ModuleId> {
        self.types
            .values()
            .filter(|t| t.emitted())
            .map(|t| t.module.clone())
            .collect()
    }

    /// The resource served for a type, if any.
    pub fn resource_for(&self, id: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|r| r.type_id.as_deref() == Some(id))
    }
}

/// A named type.
#[derive(Clone, Debug)]
pub struct TypeDef {
    /// Canonical id.
    pub id: TypeId,
    /// The module it lives in.
    pub module: ModuleId,
    /// Rust type name, unique within its module.
    pub name: String,
    /// Description from the schema.
    pub description: Option<String>,
    /// `x-kubernetes-group-version-kind` entries.
    pub gvks: Vec<Gvk>,
    /// What it is.
    pub kind: TypeKind,
    /// Where it was defined.
    pub location: Location,
    /// Whether `Default` can be derived (all required fields have defaults).
    pub defaultable: bool,
    /// Defined outside the crate being generated (in kubegen-api), referenced
    /// by a CRD crate.
    pub external: bool,
}

impl TypeDef {
    /// Whether the emitters write this type (runtime types and types of
    /// another crate are referenced, not written).
    pub fn emitted(&self) -> bool {
        !self.external && !matches!(self.kind, TypeKind::Runtime(_))
    }

    /// The single GVK of a kind, if it has exactly one.
    pub fn single_gvk(&self) -> Option<&Gvk> {
        match self.gvks.as_slice() {
            [g] => Some(g),
            _ => None,
        }
    }

    /// Whether this is an object with standard `metadata: ObjectMeta` (so it
    /// implements the runtime's `Object`).
    pub fn has_object_meta(&self) -> bool {
        match &self.kind {
            TypeKind::Struct(s) => s.fields.iter().any(|f| {
                f.json_name == "metadata" && matches!(&f.shape, Shape::Ref(r) if r == OBJECT_META)
            }),
            _ => false,
        }
    }
}

/// The shape of a named type.
#[derive(Clone, Debug)]
pub enum TypeKind {
    /// An object with known properties.
    Struct(Box<StructDef>),
    /// A name for another shape (`JSON` = any JSON, a map, a string...).
    Alias(Shape),
    /// A well-known apimachinery type written by hand in
    /// `kubegen_core::meta` under this name.
    Runtime(&'static str),
}

impl TypeKind {
    /// The type ids this type names (its fields' shapes, or the aliased
    /// shape): the edges every walk over the type graph follows.
    pub fn refs(&self) -> BTreeSet<&TypeId> {
        match self {
            TypeKind::Struct(s) => s.fields.iter().filter_map(|f| f.shape.target()).collect(),
            TypeKind::Alias(shape) => shape.target().into_iter().collect(),
            TypeKind::Runtime(_) => BTreeSet::new(),
        }
    }
}

/// An object type's fields and object-level facts.
#[derive(Clone, Debug, Default)]
pub struct StructDef {
    /// Fields in JSON-name order.
    pub fields: Vec<Field>,
    /// Object-level facts (map type, preserve-unknown-fields, validations...).
    pub facts: SchemaFacts,
}

/// One property of an object type.
#[derive(Clone, Debug)]
pub struct Field {
    /// The JSON property name, exactly.
    pub json_name: String,
    /// Description.
    pub description: Option<String>,
    /// Listed in the object's `required`.
    pub required: bool,
    /// The value's shape.
    pub shape: Shape,
    /// Stored behind a pointer (`Arc<T>`, shared at decode time): set by the
    /// cycle pass (to give the type a size) and by the layout pass (a large
    /// optional struct).
    pub boxed: bool,
    /// Everything else the schema says about the value.
    pub facts: SchemaFacts,
}

/// The shape of a value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// `boolean`.
    Bool,
    /// `integer` with format `int32`.
    I32,
    /// `integer` (format `int64` or none).
    I64,
    /// `number`.
    F64,
    /// `string` (any format except int-or-string).
    String,
    /// `array` of items.
    Array(Box<Shape>),
    /// `object` with `additionalProperties` only: string keys to values.
    Map(Box<Shape>),
    /// A named type.
    Ref(TypeId),
    /// Any JSON (`x-kubernetes-preserve-unknown-fields`, untyped schemas).
    Any,
}

impl Shape {
    /// The named type a value of this shape holds, directly or as the items
    /// of arrays and maps (a shape names at most one).
    pub fn target(&self) -> Option<&TypeId> {
        match self {
            Shape::Ref(r) => Some(r),
            Shape::Array(i) | Shape::Map(i) => i.target(),
            _ => None,
        }
    }
}

/// One `x-kubernetes-validations` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    /// CEL rule.
    pub rule: String,
    /// Message shown when it fails.
    pub message: Option<String>,
}

/// What a schema node says beyond its shape: formats, enums, defaults and
/// every Kubernetes extension that matters to some emitter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchemaFacts {
    /// `format` (`int32`, `date-time`, `byte`, `int-or-string`...).
    pub format: Option<String>,
    /// `enum` values (open in Kubernetes: new releases add values).
    pub enum_values: Vec<Value>,
    /// `default`.
    pub default: Option<Value>,
    /// `nullable`.
    pub nullable: bool,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type`: `atomic` or `granular`.
    pub map_type: Option<String>,
    /// `x-kubernetes-patch-strategy` (`merge`, `retainKeys`, `merge,retainKeys`).
    pub patch_strategy: Option<String>,
    /// `x-kubernetes-patch-merge-key`.
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-preserve-unknown-fields`.
    pub preserve_unknown_fields: bool,
    /// `x-kubernetes-embedded-resource`.
    pub embedded_resource: bool,
    /// `x-kubernetes-int-or-string`.
    pub int_or_string: bool,
    /// `x-kubernetes-validations`.
    pub validations: Vec<Validation>,
    /// Other constraints kept as documentation (`pattern`, `minimum`,
    /// `maxLength`, `oneOf`...), by keyword.
    pub constraints: BTreeMap<String, Value>,
}

/// Well-known type ids that map onto `kubegen_core::meta`.
pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/// `LabelSelector`'s definition name: it converts to and from
/// `kubegen_core::Selector`.
pub const LABEL_SELECTOR: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector";
/// `IntOrString`'s definition name.
pub const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
/// `Scale` (autoscaling/v1), the type every scale subresource speaks.
pub const AUTOSCALING_V1_SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

/// Definitions the generator does not emit because the runtime has them, with
/// the runtime's name.
pub const RUNTIME_TYPES: &[(&str, &str)] = &[
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ObjectMeta",
    ),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta", "ListMeta"),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ShardInfo",
        "ShardInfo",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
        "OwnerReference",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
        "ManagedFieldsEntry",
    ),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1", "FieldsV1"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "Status"),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails",
        "StatusDetails",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.StatusCause",
        "StatusCause",
    ),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.Time", "Time"),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
        "MicroTime",
    ),
    ("io.k8s.apimachinery.pkg.api.resource.Quantity", "Quantity"),
    (
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
        "IntOrString",
    ),
    (
        "io.k8s.apimachinery.pkg.runtime.RawExtension",
        "RawExtension",
    ),
];

/// Runtime types that do not implement `Default` (a timestamp has no
/// meaningful zero), so structs requiring them cannot derive it.
pub const RUNTIME_WITHOUT_DEFAULT: &[&str] = &["Time", "MicroTime"];

/// A verb the server offers on a resource or subresource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// Read one object.
    Get,
    /// Read the collection.
    List,
    /// Watch the collection or one object.
    Watch,
    /// Create (POST).
    Create,
    /// Replace (PUT).
    Update,
    /// Patch.
    Patch,
    /// Delete one object.
    Delete,
    /// Delete the collection.
    DeleteCollection,
    /// A streaming connection (exec, attach, portforward, proxy).
    Connect,
}

/// A subresource (`status`, `scale`, `log`, `eviction`...).
#[derive(Clone, Debug, Default)]
pub struct Subresource {
    /// Verbs it offers.
    pub verbs: BTreeSet<Verb>,
    /// The kind its operations speak, when it is another kind than the
    /// resource's (autoscaling/v1 Scale, policy/v1 Eviction...).
    pub gvk: Option<Gvk>,
    /// That kind's type.
    pub type_id: Option<TypeId>,
}

/// A REST resource.
#[derive(Clone, Debug)]
pub struct Resource {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Resource name in URLs.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Short names (CRDs, discovery); OpenAPI does not carry them.
    pub short_names: Vec<String>,
    /// kubectl categories (CRDs).
    pub categories: Vec<String>,
    /// Namespaced (else cluster-scoped).
    pub namespaced: bool,
    /// The list kind.
    pub list_kind: String,
    /// The kind's type, when the inputs define it.
    pub type_id: Option<TypeId>,
    /// Verbs on the resource itself.
    pub verbs: BTreeSet<Verb>,
    /// Subresources by name.
    pub subresources: BTreeMap<String, Subresource>,
    /// Whether patch accepts `application/strategic-merge-patch+json`.
    pub strategic_merge_patch: bool,
    /// Whether this version is deprecated (CRDs).
    pub deprecated: bool,
    /// Whether this is the version its CRD stores objects as (from CRD
    /// manifests, or the cluster's CRDs under `--from-cluster`).
    pub storage: bool,
    /// From a CRD (else from an OpenAPI document).
    pub from_crd: bool,
    /// The CRD version's `openAPIV3Schema`, for the kind's `validate()`.
    pub schema: Option<serde_json::Value>,
}

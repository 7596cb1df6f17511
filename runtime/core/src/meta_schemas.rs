//! With the `schemars` feature: `schemars::JsonSchema` for the apimachinery
//! types in [`crate::meta`] and for [`SortedMap`](crate::SortedMap)
//! (`CompactString`'s comes with compact_str), so a derived spec can hold them. Each schema is what the API server expects for
//! the type inside a CRD (the shapes controller-gen writes), not a literal
//! description of the Rust type.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::meta::{
    FieldsV1, IntOrString, MicroTime, ObjectMeta, OwnerReference, Quantity, RawExtension, Time,
};

macro_rules! inline_schema {
    ($ty:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

inline_schema!(IntOrString, "IntOrString", {
    "x-kubernetes-int-or-string": true,
    "anyOf": [{"type": "integer"}, {"type": "string"}]
});

// The runtime's Quantity is its canonical string form.
inline_schema!(Quantity, "Quantity", { "type": "string" });

inline_schema!(Time, "Time", { "type": "string", "format": "date-time" });

inline_schema!(MicroTime, "MicroTime", { "type": "string", "format": "date-time" });

// Nested metadata (a pod template's, say): keep every field the server sends;
// the top-level `metadata` of the kind is written by the CRD builder itself.
inline_schema!(ObjectMeta, "ObjectMeta", {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": true
});

inline_schema!(RawExtension, "RawExtension", {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": true
});

inline_schema!(FieldsV1, "FieldsV1", {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": true
});

inline_schema!(OwnerReference, "OwnerReference", {
    "type": "object",
    "description": "OwnerReference contains enough information to let you identify an owning object.",
    "properties": {
        "apiVersion": {"type": "string"},
        "blockOwnerDeletion": {"type": "boolean"},
        "controller": {"type": "boolean"},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "uid": {"type": "string"}
    },
    "required": ["apiVersion", "kind", "name", "uid"],
    "x-kubernetes-map-type": "atomic"
});

/// A `SortedMap` is a JSON object, as a `BTreeMap` is.
impl<K, V: JsonSchema> JsonSchema for crate::SortedMap<K, V> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("Map_of_{}", V::schema_name()))
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<V>()
        })
    }
}

/// A `Nullable<T>` field's schema is its `Option`'s, the value's or `null`,
/// which the CRD builder writes as `nullable: true` (as the generator reads
/// it back). The field needs `#[serde(default)]` to be optional.
impl<T: JsonSchema> JsonSchema for crate::Nullable<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        <Option<T>>::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        <Option<T>>::json_schema(generator)
    }
}

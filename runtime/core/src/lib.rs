//! kubegen-core: the API machinery every kubegen crate shares, with no I/O.
//!
//! The [`Resource`] and [`Object`] traits every kind implements, the verb
//! markers in [`verbs`], the shared apimachinery types in [`meta`], label and
//! field [`selector`]s, request [`options`], typed [`error`]s, server-side
//! apply support ([`apply`], [`managed_fields`]), untyped
//! [`DynamicObject`]s, and the serde support generated types call.
//!
//! Strings in API objects are [`CompactString`]s (up to 24 bytes inline, no
//! allocation; most Kubernetes strings are that short) and maps are
//! [`SortedMap`]s (a sorted vector with exact capacity): an informer holds
//! every object it watches, and these two halve what a cached object costs.
//!
//! A crate of generated types depends on this crate alone; the HTTP client
//! (`kubegen-client`) and the cache machinery (`kubegen-cache`) sit on top.
//! This crate never depends on tokio, hyper or rustls (a test checks that).

#![deny(missing_docs)]

pub mod apply;
pub mod cbor;
pub mod dynamic;
pub mod error;
pub mod fields;
pub mod managed_fields;
pub mod meta;
mod meta_proto;
#[cfg(feature = "schemars")]
mod meta_schemas;
pub mod metadata;
pub mod nullable;
pub mod options;
pub mod proto;
pub mod quantity;
pub mod resource;
pub mod resource_version;
pub mod selector;
#[doc(hidden)]
pub mod serde_support;
mod shared_text;
mod shared_values;
pub mod sorted_map;
pub mod verbs;

pub use compact_str::{CompactString, ToCompactString, format_compact};
pub use dynamic::DynamicObject;
pub use error::{Error, Result};
pub use fields::FieldSelector;
pub use metadata::PartialObjectMetadata;
pub use nullable::Nullable;
pub use options::{
    ApplyOptions, CreateOptions, DeleteOptions, GetOptions, ListOptions, PatchOptions,
    UpdateOptions,
};
pub use resource::{ApiResource, Object, Resource, Scope, object_key};
pub use selector::Selector;
pub use sorted_map::SortedMap;

//! kubegen-runtime: the hand-written half of kubegen.
//!
//! Generated crates (such as `kubegen-api`) emit types, thin typed accessors
//! and aliases; everything generic lives here, once: the [`Resource`] and
//! [`Object`] traits every kind implements, the shared apimachinery types in
//! [`meta`], and (in later modules) config, auth, transport, clients and the
//! cache machinery.

#![deny(missing_docs)]

pub mod meta;
pub mod resource;
pub mod verbs;

pub use resource::{ApiResource, Object, Resource, Scope, object_key};

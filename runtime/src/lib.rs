//! kubegen-runtime: the hand-written half of kubegen.
//!
//! Generated crates (such as `kubegen-api`) emit types, thin typed accessors
//! and aliases; everything generic lives here, once: the [`Resource`] and
//! [`Object`] traits every kind implements, the shared apimachinery types in
//! [`meta`], and (in later modules) config, auth, transport, clients and the
//! cache machinery.

#![deny(missing_docs)]

pub mod auth;
pub mod cache;
pub mod client;
pub mod config;
pub mod discovery;
pub mod dynamic;
pub mod error;
pub mod leaderelection;
pub mod managed_fields;
pub mod meta;
pub mod options;
pub mod record;
pub mod resource;
pub mod selector;
pub mod verbs;
mod transport;
pub mod workqueue;

pub use client::{Client, DeleteResponse, ObjectList, Patch, RestClient, WatchEvent, WatchStream};
pub use config::Config;
pub use dynamic::DynamicObject;
pub use error::{Error, Result};
pub use options::{
    ApplyOptions, CreateOptions, DeleteOptions, GetOptions, ListOptions, PatchOptions, UpdateOptions,
};
pub use resource::{ApiResource, Object, Resource, Scope, object_key};

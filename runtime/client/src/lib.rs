//! kubegen-client: talking to a Kubernetes API server.
//!
//! [`Config`] (kubeconfig, in-cluster, [`auth`] providers) makes a
//! [`RestClient`], the untyped HTTP handle (TLS, HTTP/2, keep-alive,
//! proxies, rate limits, retries); [`Client<K>`] is the one typed
//! implementation of every verb for every kind. The generated clientsets
//! only construct it. A verb method exists only when `K` implements the
//! matching marker trait of [`verbs`](mod@kubegen_core::verbs), so the
//! compiler rejects verbs the API does not serve.
//! [`DynamicObject`](kubegen_core::DynamicObject) implements every verb (only
//! the server knows which apply). [`discovery`] finds the resources a server
//! serves; [`retry`] retries conflicting updates.
//!
//! ```no_run
//! # async fn f<Pod: kubegen_core::Object + kubegen_core::verbs::Get>() -> kubegen_core::Result<()> {
//! use kubegen_client::{Client, Config, RestClient};
//! use kubegen_core::GetOptions;
//! let rest = RestClient::new(Config::infer().await?)?;
//! let pods = Client::<Pod>::namespaced(rest, "default");
//! let web = pods.get("web-0", &GetOptions::default()).await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod discovery;
mod proxy;
pub mod retry;
mod transport;

mod exec;
mod list;
mod paths;
mod portforward;
mod requests;
mod rest;
mod streaming;
mod subresources;
mod typed;
mod watch;
#[cfg(test)]
mod watch_props;
mod wire;
mod ws;

use std::marker::PhantomData;

use serde::Serialize;

pub use config::Config;
pub use exec::{AttachedProcess, ExitStatus, TerminalSize};
pub use list::ObjectList;
pub use portforward::{PortStream, Portforwarder};
pub use rest::RestClient;
pub use watch::{
    Bookmark, INITIAL_EVENTS_END_ANNOTATION, MAX_WATCH_EVENT_BYTES, WatchEvent, WatchStream,
};
pub use ws::{V4_CHANNEL, V5_CHANNEL};

use kubegen_core::meta::Status;
use kubegen_core::resource::{ApiResource, Object, Resource, Scope};

const JSON: &str = "application/json";

/// A patch body and its type.
#[derive(Clone, Debug, PartialEq)]
pub enum Patch<T = serde_json::Value> {
    /// RFC 6902 JSON patch (`application/json-patch+json`): a list of operations.
    Json(T),
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    Merge(T),
}

impl<T: Serialize> Patch<T> {
    fn content_type(&self) -> &'static str {
        match self {
            Patch::Json(_) => "application/json-patch+json",
            Patch::Merge(_) => "application/merge-patch+json",
        }
    }
    fn body(&self) -> &T {
        match self {
            Patch::Json(b) | Patch::Merge(b) => b,
        }
    }
}

const STRATEGIC_MERGE: &str = "application/strategic-merge-patch+json";
const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// What a delete returned: the object (still present with a
/// `deletionTimestamp` while finalizers run, or its last state), or a `Status`.
#[allow(clippy::large_enum_variant)] // as WatchEvent: kinds outweigh Status
#[derive(Clone, Debug, PartialEq)]
pub enum DeleteResponse<K> {
    /// The object as the server last had it.
    Object(K),
    /// A success `Status`.
    Status(Status),
}

/// The typed client of one resource, optionally bound to a namespace.
pub struct Client<K> {
    rest: RestClient,
    resource: ApiResource,
    namespace: Option<String>,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Client<K> {
    fn clone(&self) -> Self {
        Self {
            rest: self.rest.clone(),
            resource: self.resource.clone(),
            namespace: self.namespace.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Client<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("resource", &self.resource)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl<K: Object + Resource> Client<K> {
    /// Objects of `K` in `namespace`.
    pub fn namespaced(rest: RestClient, namespace: &str) -> Self {
        Self::new_with(rest, K::api_resource(), Some(namespace.to_owned()))
    }
    /// Objects of `K` in the config's default namespace.
    pub fn default_namespaced(rest: RestClient) -> Self {
        let ns = rest.default_namespace().to_owned();
        Self::new_with(rest, K::api_resource(), Some(ns))
    }
    /// Objects of `K` in all namespaces (list/watch across the cluster).
    pub fn all(rest: RestClient) -> Self {
        Self::new_with(rest, K::api_resource(), None)
    }
    /// Objects of a cluster-scoped `K`.
    pub fn cluster(rest: RestClient) -> Self {
        Self::new_with(rest, K::api_resource(), None)
    }
}

impl<K: Object> Client<K> {
    /// A client for `resource`, for kinds known only at run time. An empty
    /// namespace means all namespaces; a namespace is ignored for cluster-scoped kinds.
    pub fn new_with(rest: RestClient, resource: ApiResource, namespace: Option<String>) -> Self {
        let namespace = namespace.filter(|n| !n.is_empty() && resource.scope == Scope::Namespaced);
        Self {
            rest,
            resource,
            namespace,
            _kind: PhantomData,
        }
    }

    /// The same client in another namespace.
    pub fn within(&self, namespace: &str) -> Self {
        Self::new_with(
            self.rest.clone(),
            self.resource.clone(),
            Some(namespace.to_owned()),
        )
    }

    /// The same client with a limit on each call (see
    /// [`RestClient::with_timeout`]).
    pub fn with_timeout(&self, timeout: std::time::Duration) -> Self {
        Self {
            rest: self.rest.with_timeout(timeout),
            ..self.clone()
        }
    }

    /// The resource this client talks to.
    pub fn resource(&self) -> &ApiResource {
        &self.resource
    }
    /// The namespace, when bound to one.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    /// The underlying untyped client.
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }
}

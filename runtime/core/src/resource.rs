//! What the runtime knows about a kind: where it lives on the API server and how
//! to reach its metadata.
//!
//! Every generated top-level kind implements [`Resource`] (static facts, as
//! associated constants) and [`Object`] (metadata access plus the serde and
//! thread-safety bounds the runtime needs). The runtime's clients, reflectors,
//! informers and listers are generic over [`Object`] and take an
//! [`ApiResource`] value, so the same machinery serves built-in kinds, CRD kinds
//! and untyped [`DynamicObject`](crate::dynamic::DynamicObject)s.

use serde::{Serialize, de::DeserializeOwned};

use crate::meta::ObjectMeta;

/// Whether objects of a kind live in a namespace or at cluster scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Objects are addressed as `namespace/name`.
    Namespaced,
    /// Objects are addressed by name alone.
    Cluster,
}

/// Static facts about a kind, mirroring k8s-openapi's associated constants.
pub trait Resource {
    /// API group; empty for the core (legacy) group.
    const GROUP: &'static str;
    /// API version within the group, e.g. `v1`.
    const VERSION: &'static str;
    /// `group/version`, or just `version` for the core group.
    const API_VERSION: &'static str;
    /// The kind, e.g. `Deployment`.
    const KIND: &'static str;
    /// The resource name used in URLs, e.g. `deployments`.
    const PLURAL: &'static str;
    /// Namespaced or cluster-scoped.
    const SCOPE: Scope;

    /// The same facts as a value, for code that is generic at run time.
    fn api_resource() -> ApiResource {
        ApiResource {
            group: Self::GROUP.into(),
            version: Self::VERSION.into(),
            kind: Self::KIND.into(),
            plural: Self::PLURAL.into(),
            scope: Self::SCOPE,
        }
    }
}

/// Anything with standard object metadata that the runtime can cache and send.
///
/// Cached objects are shared as `Arc<T>`; the bounds here are what makes that
/// sound across tasks.
pub trait Object: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// How the kind travels in protobuf, for the built-in kinds the API
    /// server encodes so (generated from the release's `.proto` files);
    /// `None` for kinds that speak JSON only (custom resources, dynamic
    /// objects).
    const PROTOBUF: Option<crate::proto::Protobuf<Self>> = None;
    /// Whether the kind is the metadata-only view of another resource
    /// ([`PartialObjectMetadata`](crate::PartialObjectMetadata)): requests
    /// ask the server to answer in that form.
    const METADATA_ONLY: bool = false;

    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// The object's metadata, for building or changing an object.
    fn metadata_mut(&mut self) -> &mut ObjectMeta;
}

/// A kind's location on the API server, known at run time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiResource {
    /// API group; empty for the core group.
    pub group: String,
    /// Version within the group.
    pub version: String,
    /// Kind name.
    pub kind: String,
    /// Resource name used in URLs.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
}

impl ApiResource {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The URL prefix of the group/version: `/api/v1` or `/apis/{group}/{version}`.
    pub fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

/// The cache key client-go uses (`MetaNamespaceKeyFunc`): `namespace/name`, or
/// `name` for cluster-scoped objects.
pub fn object_key(meta: &ObjectMeta) -> String {
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_owned(),
    }
}

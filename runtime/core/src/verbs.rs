//! Which verbs and subresources a kind offers, as marker traits.
//!
//! The generator reads the verbs the API really serves (from the spec's paths
//! and `x-kubernetes-action`, or a CRD's defaults) and emits one empty impl per
//! verb, e.g. `impl verbs::Create for Pod {}`. The typed
//! `kubegen_client::Client<K>` offers a method only when `K`
//! implements the matching trait, so calling `create` on a kind the server
//! cannot create does not compile, and the per-kind cost is one line per verb.
//!
//! Subresources that take or return another kind name it as an associated type
//! (the `Scale` of a Deployment is `autoscaling/v1` `Scale`).

use crate::resource::{Object, Resource};

macro_rules! verb {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub trait $name: Resource {}
    )*};
}

verb! {
    /// `GET .../{name}`
    Get,
    /// `GET ...` (collection)
    List,
    /// `GET ...?watch=true`
    Watch,
    /// `POST ...`
    Create,
    /// `PUT .../{name}`
    Update,
    /// `PATCH .../{name}`: JSON patch, merge patch and server-side apply.
    Patch,
    /// `DELETE .../{name}`
    Delete,
    /// `DELETE ...` (collection)
    DeleteCollection,
    /// Built-in kinds accept strategic merge patches; CRDs do not.
    StrategicMergePatch,
    /// `.../status`: get, update, patch and apply of the status subresource.
    Status,
    /// `pods/{name}/log`
    Log,
    /// `pods/{name}/ephemeralcontainers`: get, update, patch with the pod itself.
    EphemeralContainers,
    /// `pods/{name}/resize`: get, update, patch with the pod itself.
    Resize,
    /// `pods/{name}/exec`
    Exec,
    /// `pods/{name}/attach`
    Attach,
    /// `pods/{name}/portforward`
    PortForward,
    /// `{pods,services,nodes}/{name}/proxy/{path}`: the API server forwards
    /// the request to the object's port.
    Proxy,
}

/// `.../scale`: get, update and patch through the autoscaling `Scale` kind.
pub trait Scale: Resource {
    /// The kind the subresource speaks (autoscaling/v1 `Scale`).
    type Scale: Object;
}

/// `pods/{name}/eviction`: create an eviction.
pub trait Eviction: Resource {
    /// The kind posted (policy/v1 `Eviction`).
    type Eviction: Object;
}

/// `pods/{name}/binding`: bind a pod to a node.
pub trait Binding: Resource {
    /// The kind posted (core/v1 `Binding`).
    type Binding: Object;
}

/// `serviceaccounts/{name}/token`: request a token.
pub trait Token: Resource {
    /// The kind posted and returned (authentication/v1 `TokenRequest`).
    type TokenRequest: Object;
}

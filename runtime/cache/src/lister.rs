//! Listers: read-only, typed views of an informer's cache (what lister-gen
//! emits per resource in client-go, written once here).
//!
//! A [`Lister<K>`] answers from the local [`Indexer`], never the server: it is
//! as fresh as the informer feeding it, and cheap (no copies; objects come back
//! as `Arc<K>`). Namespaced lookups use the namespace index when the indexer
//! has it (every informer's does) and fall back to a scan otherwise.
//!
//! `get` of a missing object returns the same typed error the server would:
//! [`Error::is_not_found`](kubegen_core::Error::is_not_found) is true and the message
//! reads `pods "web-0" not found`.
//!
//! Generated code is expected to alias and forward, e.g.
//! `pub type PodLister = Lister<Pod>;` and `lister.pods(ns)` =
//! [`Lister::namespaced`]`(ns)`.

use std::sync::Arc;

use super::index::NAMESPACE_INDEX;
use super::store::Indexer;
use kubegen_core::error::{ApiError, Error, Result};
use kubegen_core::meta::{Status, StatusDetails};
use kubegen_core::resource::{ApiResource, Object, Resource};
use kubegen_core::selector::Selector;

/// Typed, read-only access to a cache of `K`.
pub struct Lister<K> {
    indexer: Indexer<K>,
    group: Arc<str>,
    plural: Arc<str>,
}

impl<K> Clone for Lister<K> {
    fn clone(&self) -> Self {
        Self {
            indexer: self.indexer.clone(),
            group: self.group.clone(),
            plural: self.plural.clone(),
        }
    }
}

impl<K: Object> std::fmt::Debug for Lister<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lister")
            .field("group", &self.group)
            .field("plural", &self.plural)
            .field("indexer", &self.indexer)
            .finish()
    }
}

impl<K: Object + Resource> Lister<K> {
    /// A lister over `indexer` for a kind known at compile time.
    pub fn new(indexer: Indexer<K>) -> Self {
        Self {
            indexer,
            group: K::GROUP.into(),
            plural: K::PLURAL.into(),
        }
    }
}

impl<K: Object> Lister<K> {
    /// A lister for a kind known at run time (e.g. dynamic objects).
    pub fn for_resource(indexer: Indexer<K>, resource: &ApiResource) -> Self {
        Self {
            indexer,
            group: resource.group.as_str().into(),
            plural: resource.plural.as_str().into(),
        }
    }

    /// Every cached object whose labels match `selector`, in all namespaces.
    pub fn list(&self, selector: &Selector) -> Vec<Arc<K>> {
        filter(self.indexer.list(), selector)
    }

    /// A cluster-scoped object by name.
    pub fn get(&self, name: &str) -> Result<Arc<K>> {
        self.indexer
            .get_by_key(name)
            .ok_or_else(|| self.not_found(name))
    }

    /// The view of one namespace.
    pub fn namespaced(&self, namespace: &str) -> NamespaceLister<K> {
        NamespaceLister {
            lister: self.clone(),
            namespace: namespace.to_owned(),
        }
    }

    /// The cache underneath, for index lookups.
    pub fn indexer(&self) -> &Indexer<K> {
        &self.indexer
    }

    fn not_found(&self, name: &str) -> Error {
        let resource = if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        };
        ApiError {
            status: Status {
                status: Some("Failure".into()),
                code: Some(404),
                reason: Some(kubegen_core::error::reason::NOT_FOUND.into()),
                message: Some(kubegen_core::format_compact!(
                    "{resource} \"{name}\" not found"
                )),
                details: Some(StatusDetails {
                    group: Some((*self.group).into()),
                    kind: Some((*self.plural).into()),
                    name: Some(name.into()),
                    ..StatusDetails::default()
                }),
                ..Status::default()
            },
            code: 404,
            request: format!("lister get {resource}/{name}"),
        }
        .into()
    }
}

/// Typed, read-only access to one namespace of a cache.
#[derive(Clone)]
pub struct NamespaceLister<K> {
    lister: Lister<K>,
    namespace: String,
}

impl<K: Object> NamespaceLister<K> {
    /// Objects in this namespace whose labels match `selector`.
    pub fn list(&self, selector: &Selector) -> Vec<Arc<K>> {
        let indexer = &self.lister.indexer;
        let candidates = match indexer.by_index(NAMESPACE_INDEX, &self.namespace) {
            Ok(objs) => objs,
            // No namespace index registered: scan.
            Err(_) => indexer
                .list()
                .into_iter()
                .filter(|o| o.metadata().namespace.as_deref() == Some(self.namespace.as_str()))
                .collect(),
        };
        filter(candidates, selector)
    }

    /// The object `name` in this namespace.
    pub fn get(&self, name: &str) -> Result<Arc<K>> {
        self.lister
            .indexer
            .get_by_key(&format!("{}/{name}", self.namespace))
            .ok_or_else(|| self.lister.not_found(name))
    }
}

fn filter<K: Object>(objs: Vec<Arc<K>>, selector: &Selector) -> Vec<Arc<K>> {
    if selector.is_empty() {
        return objs;
    }
    objs.into_iter()
        .filter(|o| selector.matches_meta(o.metadata()))
        .collect()
}

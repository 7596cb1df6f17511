//! Index functions: named ways to look cached objects up by something other
//! than their key (client-go's `tools/cache/index.go`).
//!
//! An [`IndexFunc`] maps an object to zero or more index values; the
//! [`Indexer`](super::Indexer) keeps, per index name, a map from each value to
//! the keys of the objects that produced it, updated on every add, update and
//! delete. The namespace index ([`NAMESPACE_INDEX`]) is built into every
//! informer's indexer; owner and label indexes are provided here for the
//! common cases, and anything else can be registered with
//! [`Indexer::add_indexers`](super::Indexer::add_indexers).
//!
//! Index functions must be pure: the same object must always yield the same
//! values, since the old values are recomputed to remove an object from the index.

use std::collections::HashMap;
use std::sync::Arc;

use kubegen_core::resource::Object;

/// Computes the index values of an object.
pub type IndexFunc<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// Index functions by index name.
pub type Indexers<K> = HashMap<String, IndexFunc<K>>;

/// Name of the built-in namespace index.
pub const NAMESPACE_INDEX: &str = "namespace";

/// Indexes by namespace; cluster-scoped objects are not indexed
/// (client-go's `MetaNamespaceIndexFunc`).
pub fn namespace_index_func<K: Object>() -> IndexFunc<K> {
    Arc::new(|obj: &K| match obj.metadata().namespace.as_deref() {
        Some(ns) if !ns.is_empty() => vec![ns.to_owned()],
        _ => Vec::new(),
    })
}

/// Indexes by the UID of each owner reference, to find an owner's dependents.
pub fn owner_uid_index_func<K: Object>() -> IndexFunc<K> {
    Arc::new(|obj: &K| {
        obj.metadata()
            .owner_references
            .iter()
            .flatten()
            .map(|o| o.uid.to_string())
            .collect()
    })
}

/// Indexes by the value of one label; objects without the label are not indexed.
pub fn label_index_func<K: Object>(label: impl Into<String>) -> IndexFunc<K> {
    let label = label.into();
    Arc::new(move |obj: &K| {
        obj.metadata()
            .labels
            .as_ref()
            .and_then(|l| l.get(label.as_str()))
            .map(|v| vec![v.to_string()])
            .unwrap_or_default()
    })
}

/// The indexers every informer starts with: the namespace index.
pub fn default_indexers<K: Object>() -> Indexers<K> {
    HashMap::from([(NAMESPACE_INDEX.to_owned(), namespace_index_func::<K>())])
}

/// A lookup named an index that was never registered, or a registration clashed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// `by_index`, `index_keys` or `index` named an unknown index.
    #[error("index `{0}` does not exist")]
    NotFound(String),
    /// `add_indexers` tried to register a name that is already taken.
    #[error("indexer `{0}` is already registered")]
    Conflict(String),
}

impl From<IndexError> for kubegen_core::error::Error {
    fn from(e: IndexError) -> Self {
        kubegen_core::error::Error::InvalidRequest(e.to_string())
    }
}

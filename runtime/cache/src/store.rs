//! The [`Store`] contract a reflector writes into, and [`Indexer`], the
//! thread-safe indexed cache behind every informer and lister (client-go's
//! `store.go` + `index.go`'s `Indexer`).
//!
//! Keys are [`object_key`]: `namespace/name`, or `name` at cluster scope.
//! Values are `Arc<K>`: reading never copies an object, and nobody can mutate a
//! cached object through a shared reference, which replaces client-go's "do not
//! modify objects from the cache" rule with a compile-time one.
//!
//! An [`Indexer`] is a cheap handle (clone it freely); all clones see one cache.

use std::sync::Arc;

use super::index::{IndexError, Indexers};
use super::thread_safe_store::ThreadSafeStore;
use kubegen_core::resource::{Object, object_key};

/// What a [`Reflector`](super::Reflector) needs from the place it mirrors the
/// server into: client-go's `Store` interface. Implemented by [`Indexer`] (a
/// plain cache) and [`DeltaFifo`](super::DeltaFifo) (the informer's queue).
pub trait Store<K>: Send + Sync {
    /// An object appeared (watch `ADDED`).
    fn add(&self, obj: Arc<K>);
    /// An object changed (watch `MODIFIED`).
    fn update(&self, obj: Arc<K>);
    /// An object was deleted (watch `DELETED`); the argument is its last state.
    fn delete(&self, obj: Arc<K>);
    /// The full state after a (re)list, at `resource_version`: objects not in
    /// `list` are gone.
    fn replace(&self, list: Vec<Arc<K>>, resource_version: &str);
    /// Periodic resync: a no-op for plain stores; the `DeltaFifo` queues `Sync`
    /// deltas for every known object.
    fn resync(&self) {}
    /// Every object.
    fn list(&self) -> Vec<Arc<K>>;
    /// Every key.
    fn list_keys(&self) -> Vec<String>;
    /// The object under `key`, if any.
    fn get_by_key(&self, key: &str) -> Option<Arc<K>>;
}

/// Read access by key: what the [`DeltaFifo`](super::DeltaFifo) consults to
/// know which objects the consumer already has (client-go's `KeyListerGetter`).
pub trait KeyListerGetter<K>: Send + Sync {
    /// Every key the consumer knows.
    fn list_keys(&self) -> Vec<String>;
    /// The consumer's copy of the object under `key`.
    fn get_by_key(&self, key: &str) -> Option<Arc<K>>;
}

/// Thread-safe, indexed cache of `Arc<K>` keyed by `namespace/name`.
pub struct Indexer<K> {
    store: Arc<ThreadSafeStore<K>>,
}

impl<K> Clone for Indexer<K> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
        }
    }
}

impl<K: Object> Default for Indexer<K> {
    fn default() -> Self {
        Self::new(Indexers::new())
    }
}

impl<K: Object> std::fmt::Debug for Indexer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("len", &self.store.len())
            .field("indexers", &self.store.indexer_names())
            .finish()
    }
}

impl<K: Object> Indexer<K> {
    /// An empty cache with the given index functions (none for a plain store).
    pub fn new(indexers: Indexers<K>) -> Self {
        Self {
            store: Arc::new(ThreadSafeStore::new(indexers)),
        }
    }

    /// Insert or replace `obj` under its key.
    pub fn add(&self, obj: Arc<K>) {
        self.store.update(object_key(obj.metadata()), obj);
    }

    /// Same as [`add`](Self::add): the store keeps the latest state per key.
    pub fn update(&self, obj: Arc<K>) {
        self.add(obj);
    }

    /// Remove the object with `obj`'s key; returns what was stored.
    pub fn delete(&self, obj: &K) -> Option<Arc<K>> {
        self.store.delete(&object_key(obj.metadata()))
    }

    /// Remove the object under `key`; returns what was stored.
    pub fn delete_by_key(&self, key: &str) -> Option<Arc<K>> {
        self.store.delete(key)
    }

    /// The cached object with `obj`'s key.
    pub fn get(&self, obj: &K) -> Option<Arc<K>> {
        self.store.get(&object_key(obj.metadata()))
    }

    /// The cached object under `key` (`namespace/name` or `name`).
    pub fn get_by_key(&self, key: &str) -> Option<Arc<K>> {
        self.store.get(key)
    }

    /// Every cached object, in no particular order.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.store.list()
    }

    /// Every key, in no particular order.
    pub fn list_keys(&self) -> Vec<String> {
        self.store.list_keys()
    }

    /// Number of cached objects.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Atomically swap the whole content for `list`.
    pub fn replace(&self, list: Vec<Arc<K>>) {
        self.store
            .replace(list.into_iter().map(|o| (object_key(o.metadata()), o)));
    }

    /// Objects sharing an index value with `obj` under `index_name`.
    pub fn index(&self, index_name: &str, obj: &K) -> Result<Vec<Arc<K>>, IndexError> {
        self.store.index(index_name, obj)
    }

    /// Objects whose `index_name` values include `value`.
    pub fn by_index(&self, index_name: &str, value: &str) -> Result<Vec<Arc<K>>, IndexError> {
        self.store.by_index(index_name, value)
    }

    /// Keys of the objects whose `index_name` values include `value`.
    pub fn index_keys(&self, index_name: &str, value: &str) -> Result<Vec<String>, IndexError> {
        self.store.index_keys(index_name, value)
    }

    /// Every value currently present in the index `index_name`.
    pub fn list_index_func_values(&self, index_name: &str) -> Vec<String> {
        self.store.list_index_func_values(index_name)
    }

    /// Names of the registered indexers.
    pub fn indexer_names(&self) -> Vec<String> {
        self.store.indexer_names()
    }

    /// Register more index functions; existing objects are indexed at once.
    /// Registering a name twice is an error.
    pub fn add_indexers(&self, indexers: Indexers<K>) -> Result<(), IndexError> {
        self.store.add_indexers(indexers)
    }
}

impl<K: Object> Store<K> for Indexer<K> {
    fn add(&self, obj: Arc<K>) {
        Indexer::add(self, obj);
    }
    fn update(&self, obj: Arc<K>) {
        Indexer::update(self, obj);
    }
    fn delete(&self, obj: Arc<K>) {
        Indexer::delete(self, &obj);
    }
    fn replace(&self, list: Vec<Arc<K>>, _resource_version: &str) {
        Indexer::replace(self, list);
    }
    fn list(&self) -> Vec<Arc<K>> {
        Indexer::list(self)
    }
    fn list_keys(&self) -> Vec<String> {
        Indexer::list_keys(self)
    }
    fn get_by_key(&self, key: &str) -> Option<Arc<K>> {
        Indexer::get_by_key(self, key)
    }
}

impl<K: Object> KeyListerGetter<K> for Indexer<K> {
    fn list_keys(&self) -> Vec<String> {
        Indexer::list_keys(self)
    }
    fn get_by_key(&self, key: &str) -> Option<Arc<K>> {
        Indexer::get_by_key(self, key)
    }
}

#[cfg(test)]
mod tests {
    //! Ports of client-go's store_test.go and index_test.go behaviours:
    //! - `add_update_delete_get_list_replace`: doTestStore (add, update keeps
    //!   the latest, delete, get by key, list, list keys, replace swaps all).
    //! - `index_by_value_finds_all_sharing_objects`: doTestIndex / TestIndex
    //!   (`index(name, obj)` returns every object sharing an index value).
    //! - `list_index_func_values_lists_current_values`: TestGetIndexFuncValues.
    //! - `multi_valued_index_tracks_updates_and_deletes`: TestMultiIndexKeys
    //!   (by_index/index_keys with several values per object, updates move
    //!   keys between values, deletes remove them).
    //! - `unknown_index_is_an_error`: lookups on an unregistered index fail.
    //! - `cluster_scoped_keys_are_names`: MetaNamespaceKeyFunc without namespace.
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::index::{IndexFunc, label_index_func};
    use crate::testing::{TestObj, obj, obj_labels, sorted};

    fn keys(objs: Vec<Arc<TestObj>>) -> Vec<String> {
        sorted(objs.iter().map(|o| object_key(o.metadata())).collect())
    }

    #[test]
    fn add_update_delete_get_list_replace() {
        let store: Indexer<TestObj> = Indexer::default();
        store.add(obj("ns", "foo", 10));
        store.add(obj("ns", "bar", 1));
        store.update(obj("ns", "foo", 11));
        assert_eq!(store.get_by_key("ns/foo").unwrap().value, 11);
        assert_eq!(store.get(&obj("ns", "bar", 0)).unwrap().value, 1);
        assert_eq!(store.len(), 2);

        assert!(store.delete(&obj("ns", "bar", 0)).is_some());
        assert!(store.get_by_key("ns/bar").is_none());
        assert!(
            store.delete(&obj("ns", "bar", 0)).is_none(),
            "second delete finds nothing"
        );

        store.add(obj("ns", "a", 1));
        store.add(obj("ns", "c", 1));
        assert_eq!(sorted(store.list_keys()), ["ns/a", "ns/c", "ns/foo"]);
        assert_eq!(keys(store.list()), ["ns/a", "ns/c", "ns/foo"]);

        store.replace(vec![obj("ns", "foo", 1), obj("ns", "bar", 2)]);
        assert_eq!(sorted(store.list_keys()), ["ns/bar", "ns/foo"]);
        assert_eq!(store.get_by_key("ns/foo").unwrap().value, 1);
    }

    #[test]
    fn cached_objects_are_shared_not_copied() {
        let store: Indexer<TestObj> = Indexer::default();
        let o = obj("ns", "foo", 1);
        store.add(o.clone());
        assert!(Arc::ptr_eq(&o, &store.get_by_key("ns/foo").unwrap()));
    }

    #[test]
    fn cluster_scoped_keys_are_names() {
        let store: Indexer<TestObj> = Indexer::default();
        store.add(obj("", "node-1", 0));
        assert_eq!(store.list_keys(), ["node-1"]);
    }

    fn by_value() -> IndexFunc<TestObj> {
        Arc::new(|o: &TestObj| vec![o.value.to_string()])
    }

    #[test]
    fn index_by_value_finds_all_sharing_objects() {
        let store = Indexer::new(HashMap::from([("by_val".to_owned(), by_value())]));
        store.add(obj("ns", "a", 1));
        store.add(obj("ns", "b", 1));
        store.add(obj("ns", "c", 2));
        let found = store.index("by_val", &obj("x", "probe", 1)).unwrap();
        assert_eq!(keys(found), ["ns/a", "ns/b"]);
        let found = store.by_index("by_val", "2").unwrap();
        assert_eq!(keys(found), ["ns/c"]);
        assert!(store.by_index("by_val", "3").unwrap().is_empty());
    }

    #[test]
    fn list_index_func_values_lists_current_values() {
        let store = Indexer::new(HashMap::from([(
            "app".to_owned(),
            label_index_func::<TestObj>("app"),
        )]));
        store.add(obj_labels("ns", "a", &[("app", "web")]));
        store.add(obj_labels("ns", "b", &[("app", "db")]));
        store.add(obj_labels("ns", "c", &[("app", "web")]));
        store.add(obj_labels("ns", "d", &[("other", "x")]));
        assert_eq!(sorted(store.list_index_func_values("app")), ["db", "web"]);
        store.delete(&obj("ns", "b", 0));
        assert_eq!(sorted(store.list_index_func_values("app")), ["web"]);
    }

    #[test]
    fn multi_valued_index_tracks_updates_and_deletes() {
        // Each object is indexed under every label value it carries.
        let by_labels: IndexFunc<TestObj> = Arc::new(|o: &TestObj| {
            o.metadata
                .labels
                .iter()
                .flatten()
                .map(|(_, v)| v.to_string())
                .collect()
        });
        let store = Indexer::new(HashMap::from([("by_labels".to_owned(), by_labels)]));
        store.add(obj_labels("ns", "one", &[("a", "x"), ("b", "y")]));
        store.add(obj_labels("ns", "two", &[("a", "y"), ("b", "z")]));
        store.add(obj_labels("ns", "three", &[("a", "z")]));
        assert_eq!(
            sorted(store.index_keys("by_labels", "y").unwrap()),
            ["ns/one", "ns/two"]
        );
        assert_eq!(
            sorted(store.index_keys("by_labels", "z").unwrap()),
            ["ns/three", "ns/two"]
        );

        // An update moves the key between values.
        store.update(obj_labels("ns", "one", &[("a", "z")]));
        assert_eq!(store.index_keys("by_labels", "y").unwrap(), ["ns/two"]);
        assert!(store.index_keys("by_labels", "x").unwrap().is_empty());
        assert_eq!(
            sorted(store.index_keys("by_labels", "z").unwrap()),
            ["ns/one", "ns/three", "ns/two"]
        );

        store.delete(&obj("ns", "two", 0));
        assert!(store.index_keys("by_labels", "y").unwrap().is_empty());
        assert_eq!(
            keys(store.by_index("by_labels", "z").unwrap()),
            ["ns/one", "ns/three"]
        );
    }

    #[test]
    fn unknown_index_is_an_error() {
        let store: Indexer<TestObj> = Indexer::default();
        assert_eq!(
            store.by_index("nope", "x").unwrap_err(),
            IndexError::NotFound("nope".into())
        );
        assert!(store.index_keys("nope", "x").is_err());
        assert!(store.index("nope", &obj("a", "b", 0)).is_err());
        assert!(store.list_index_func_values("nope").is_empty());
    }
}

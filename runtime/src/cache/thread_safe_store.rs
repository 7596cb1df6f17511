//! The locked map under every [`Indexer`](super::Indexer): objects by key plus
//! the indices over them (client-go's `thread_safe_store.go`).
//!
//! Contract: every method takes the lock once, so each call is atomic with
//! respect to the others — an index never shows a key that `get` cannot find.
//! Objects are stored as `Arc<K>` and handed out as clones of the `Arc`, never
//! deep copies; since `Arc<K>` is immutable, readers cannot corrupt the cache.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::RwLock;

use super::index::{IndexError, Indexers};

/// value -> keys of the objects that have that index value.
type Index = HashMap<String, HashSet<String>>;

struct Inner<K> {
    items: HashMap<String, Arc<K>>,
    indexers: Indexers<K>,
    /// index name -> index.
    indices: HashMap<String, Index>,
}

impl<K> Inner<K> {
    /// Move `key` from the index entries of `old` to those of `new`.
    fn update_indices(&mut self, old: Option<&K>, new: Option<&K>, key: &str) {
        for (name, func) in &self.indexers {
            let old_values = old.map(|o| func(o)).unwrap_or_default();
            let new_values = new.map(|n| func(n)).unwrap_or_default();
            // The common case of an update that leaves the index alone.
            if old_values == new_values {
                continue;
            }
            let index = self.indices.entry(name.clone()).or_default();
            for v in &old_values {
                if let Some(set) = index.get_mut(v) {
                    set.remove(key);
                    // Drop empty sets so memory does not grow with churn.
                    if set.is_empty() {
                        index.remove(v);
                    }
                }
            }
            for v in new_values {
                index.entry(v).or_default().insert(key.to_owned());
            }
        }
    }
}

/// Objects by key with indices, behind one read-write lock.
pub(crate) struct ThreadSafeStore<K> {
    inner: RwLock<Inner<K>>,
}

impl<K> ThreadSafeStore<K> {
    pub(crate) fn new(indexers: Indexers<K>) -> Self {
        Self {
            inner: RwLock::new(Inner {
                items: HashMap::new(),
                indexers,
                indices: HashMap::new(),
            }),
        }
    }

    /// Insert or replace the object under `key`.
    pub(crate) fn update(&self, key: String, obj: Arc<K>) {
        let mut inner = self.inner.write();
        let old = inner.items.insert(key.clone(), obj.clone());
        inner.update_indices(old.as_deref(), Some(&obj), &key);
    }

    pub(crate) fn delete(&self, key: &str) -> Option<Arc<K>> {
        let mut inner = self.inner.write();
        let old = inner.items.remove(key)?;
        inner.update_indices(Some(&old), None, key);
        Some(old)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<K>> {
        self.inner.read().items.get(key).cloned()
    }

    pub(crate) fn list(&self) -> Vec<Arc<K>> {
        self.inner.read().items.values().cloned().collect()
    }

    pub(crate) fn list_keys(&self) -> Vec<String> {
        self.inner.read().items.keys().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.read().items.len()
    }

    /// Swap the whole content for `items`, rebuilding every index.
    pub(crate) fn replace(&self, items: HashMap<String, Arc<K>>) {
        let mut inner = self.inner.write();
        inner.items = items;
        let mut indices: HashMap<String, Index> = HashMap::new();
        for (name, func) in &inner.indexers {
            let index = indices.entry(name.clone()).or_default();
            for (key, obj) in &inner.items {
                for v in func(obj) {
                    index.entry(v).or_default().insert(key.clone());
                }
            }
        }
        inner.indices = indices;
    }

    /// Objects that share any index value with `obj` under `index_name`.
    pub(crate) fn index(&self, index_name: &str, obj: &K) -> Result<Vec<Arc<K>>, IndexError> {
        let inner = self.inner.read();
        let func = inner
            .indexers
            .get(index_name)
            .ok_or_else(|| IndexError::NotFound(index_name.to_owned()))?;
        let values = func(obj);
        let Some(index) = inner.indices.get(index_name) else {
            return Ok(Vec::new());
        };
        let keys: HashSet<&String> = values
            .iter()
            .filter_map(|v| index.get(v))
            .flatten()
            .collect();
        Ok(keys
            .into_iter()
            .filter_map(|k| inner.items.get(k).cloned())
            .collect())
    }

    pub(crate) fn by_index(
        &self,
        index_name: &str,
        value: &str,
    ) -> Result<Vec<Arc<K>>, IndexError> {
        let inner = self.inner.read();
        if !inner.indexers.contains_key(index_name) {
            return Err(IndexError::NotFound(index_name.to_owned()));
        }
        Ok(inner
            .indices
            .get(index_name)
            .and_then(|i| i.get(value))
            .into_iter()
            .flatten()
            .filter_map(|k| inner.items.get(k).cloned())
            .collect())
    }

    pub(crate) fn index_keys(
        &self,
        index_name: &str,
        value: &str,
    ) -> Result<Vec<String>, IndexError> {
        let inner = self.inner.read();
        if !inner.indexers.contains_key(index_name) {
            return Err(IndexError::NotFound(index_name.to_owned()));
        }
        Ok(inner
            .indices
            .get(index_name)
            .and_then(|i| i.get(value))
            .into_iter()
            .flatten()
            .cloned()
            .collect())
    }

    pub(crate) fn list_index_func_values(&self, index_name: &str) -> Vec<String> {
        self.inner
            .read()
            .indices
            .get(index_name)
            .map(|i| i.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn indexer_names(&self) -> Vec<String> {
        self.inner.read().indexers.keys().cloned().collect()
    }

    /// Register more index functions and index the objects already stored.
    pub(crate) fn add_indexers(&self, new: Indexers<K>) -> Result<(), IndexError> {
        let mut inner = self.inner.write();
        if let Some(dup) = new.keys().find(|n| inner.indexers.contains_key(*n)) {
            return Err(IndexError::Conflict(dup.clone()));
        }
        for (name, func) in new {
            let mut index = Index::new();
            for (key, obj) in &inner.items {
                for v in func(obj) {
                    index.entry(v).or_default().insert(key.clone());
                }
            }
            inner.indices.insert(name.clone(), index);
            inner.indexers.insert(name, func);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Ports of client-go's thread_safe_store_test.go behaviours:
    //! - `delete_removes_empty_sets_from_index`: TestThreadSafeStoreDeleteRemovesEmptySetsFromIndex.
    //! - `delete_keeps_non_empty_sets`: TestThreadSafeStoreAddKeepsNonEmptySetPostDeleteFromIndex.
    //! - `indexing_functions_with_multiple_values`: TestThreadSafeStoreIndexingFunctionsWithMultipleValues
    //!   (values added/removed on update, sets keyed by value).
    //! - `add_indexers_indexes_existing_items_and_rejects_conflicts`:
    //!   TestThreadSafeStoreAddIndexers / conflict detection.
    //! - `concurrent_writers_and_readers_stay_consistent`: the "thread-safe" part
    //!   (index never points at a missing key under concurrent use).
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::cache::index::IndexFunc;
    use crate::cache::testing::{TestObj, obj, obj_labels, sorted};

    fn index_len(store: &ThreadSafeStore<TestObj>, name: &str) -> usize {
        store.inner.read().indices.get(name).map_or(0, HashMap::len)
    }

    fn by_label_a() -> IndexFunc<TestObj> {
        Arc::new(|o: &TestObj| {
            o.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("a"))
                .map(|v| vec![v.clone()])
                .unwrap_or_default()
        })
    }

    #[test]
    fn delete_removes_empty_sets_from_index() {
        let store = ThreadSafeStore::new(HashMap::from([("a".to_owned(), by_label_a())]));
        store.update("ns/x".into(), obj_labels("ns", "x", &[("a", "1")]));
        assert_eq!(index_len(&store, "a"), 1);
        store.delete("ns/x");
        assert_eq!(
            index_len(&store, "a"),
            0,
            "the value's empty set must be dropped"
        );
    }

    #[test]
    fn delete_keeps_non_empty_sets() {
        let store = ThreadSafeStore::new(HashMap::from([("a".to_owned(), by_label_a())]));
        store.update("ns/x".into(), obj_labels("ns", "x", &[("a", "1")]));
        store.update("ns/y".into(), obj_labels("ns", "y", &[("a", "1")]));
        store.delete("ns/x");
        assert_eq!(store.index_keys("a", "1").unwrap(), ["ns/y"]);
    }

    #[test]
    fn indexing_functions_with_multiple_values() {
        let multi: IndexFunc<TestObj> = Arc::new(|o: &TestObj| {
            o.metadata
                .labels
                .iter()
                .flatten()
                .filter(|(k, _)| k.starts_with('v'))
                .map(|(_, v)| v.clone())
                .collect()
        });
        let store = ThreadSafeStore::new(HashMap::from([("m".to_owned(), multi)]));
        store.update(
            "ns/one".into(),
            obj_labels("ns", "one", &[("v1", "foo"), ("v2", "bar")]),
        );
        store.update("ns/two".into(), obj_labels("ns", "two", &[("v1", "bar")]));
        assert_eq!(
            sorted(store.index_keys("m", "bar").unwrap()),
            ["ns/one", "ns/two"]
        );
        assert_eq!(store.index_keys("m", "foo").unwrap(), ["ns/one"]);

        store.update("ns/one".into(), obj_labels("ns", "one", &[("v1", "baz")]));
        assert!(store.index_keys("m", "foo").unwrap().is_empty());
        assert_eq!(store.index_keys("m", "bar").unwrap(), ["ns/two"]);
        assert_eq!(store.index_keys("m", "baz").unwrap(), ["ns/one"]);
        assert_eq!(sorted(store.list_index_func_values("m")), ["bar", "baz"]);
    }

    #[test]
    fn add_indexers_indexes_existing_items_and_rejects_conflicts() {
        let store: ThreadSafeStore<TestObj> = ThreadSafeStore::new(HashMap::new());
        store.update("ns/x".into(), obj_labels("ns", "x", &[("a", "1")]));
        store
            .add_indexers(HashMap::from([("a".to_owned(), by_label_a())]))
            .unwrap();
        assert_eq!(store.index_keys("a", "1").unwrap(), ["ns/x"]);
        // New items are indexed too.
        store.update("ns/y".into(), obj_labels("ns", "y", &[("a", "1")]));
        assert_eq!(
            sorted(store.index_keys("a", "1").unwrap()),
            ["ns/x", "ns/y"]
        );
        assert_eq!(
            store.add_indexers(HashMap::from([("a".to_owned(), by_label_a())])),
            Err(IndexError::Conflict("a".into()))
        );
    }

    #[test]
    fn concurrent_writers_and_readers_stay_consistent() {
        let store = Arc::new(ThreadSafeStore::new(HashMap::from([(
            "val".to_owned(),
            Arc::new(|o: &TestObj| vec![(o.value % 3).to_string()]) as IndexFunc<TestObj>,
        )])));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        let key = format!("ns/o{}", i % 50);
                        if i % 7 == 0 {
                            store.delete(&key);
                        } else {
                            store.update(key, obj("ns", &format!("o{}", i % 50), i + w));
                        }
                    }
                })
            })
            .collect();
        let reader = {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    for v in ["0", "1", "2"] {
                        // by_index resolves keys under the same lock: every
                        // returned object really has that index value.
                        for o in store.by_index("val", v).unwrap() {
                            assert_eq!((o.value % 3).to_string(), v);
                        }
                    }
                }
            })
        };
        for w in writers {
            w.join().unwrap();
        }
        reader.join().unwrap();
        // Final state: index and items agree exactly.
        let total: usize = ["0", "1", "2"]
            .iter()
            .map(|v| store.index_keys("val", v).unwrap().len())
            .sum();
        assert_eq!(total, store.len());
    }
}

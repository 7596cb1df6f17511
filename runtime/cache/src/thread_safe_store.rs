//! The locked map under every [`Indexer`](super::Indexer): objects by key plus
//! the indices over them (client-go's `thread_safe_store.go`).
//!
//! Contract: every method takes the lock once, so each call is atomic with
//! respect to the others — an index never shows a key that `get` cannot find.
//! Objects are stored as `Arc<K>` and handed out as clones of the `Arc`, never
//! deep copies; since `Arc<K>` is immutable, readers cannot corrupt the cache.
//!
//! Index functions are user code and may panic. Every write runs all the
//! index functions it needs *before* it changes anything, so a panic unwinds
//! out of the call (releasing the lock; `parking_lot` locks do not poison)
//! and leaves items and indices exactly as they were.

use std::sync::Arc;

// hashbrown's maps hash with foldhash: on a sync of 10,000 objects std's
// SipHash was the store's largest cost after the objects themselves.
use hashbrown::{HashMap, HashSet};

use kubegen_core::CompactString;
use parking_lot::RwLock;

use super::index::{IndexError, IndexFunc, Indexers};

/// An object's key, `namespace/name`, held twice per object (in the items
/// and in the namespace index): inline up to 24 bytes, no allocation.
type Key = CompactString;

/// value -> keys of the objects that have that index value.
type Index = HashMap<String, HashSet<Key>>;

struct Inner<K> {
    items: HashMap<Key, Arc<K>>,
    indexers: Indexers<K>,
    /// index name -> index.
    indices: HashMap<String, Index>,
}

/// Per index whose values differ between an object's old and new state: the
/// index name, the old values and the new values.
type IndexChanges<'a> = Vec<(&'a str, Vec<String>, Vec<String>)>;

/// Runs the index functions on `old` and `new` and changes nothing, so a
/// panicking index function leaves the store as it was.
fn index_changes<'a, K>(
    indexers: &'a Indexers<K>,
    old: Option<&K>,
    new: Option<&K>,
) -> IndexChanges<'a> {
    let mut changes = Vec::new();
    for (name, func) in indexers {
        let old_values = old.map(|o| func(o)).unwrap_or_default();
        let new_values = new.map(|n| func(n)).unwrap_or_default();
        // The common case of an update that leaves the index alone.
        if old_values != new_values {
            changes.push((name.as_str(), old_values, new_values));
        }
    }
    changes
}

/// Move `key` from the old index entries to the new ones (runs no user code).
fn apply_index_changes(indices: &mut HashMap<String, Index>, changes: IndexChanges<'_>, key: &str) {
    for (name, old_values, new_values) in changes {
        let index = indices.entry(name.to_owned()).or_default();
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
            index.entry(v).or_default().insert(Key::from(key));
        }
    }
}

/// Builds the index of `items` under `func` (runs user code, changes nothing).
fn build_index<K>(func: &IndexFunc<K>, items: &HashMap<Key, Arc<K>>) -> Index {
    let mut index = Index::new();
    for (key, obj) in items {
        for v in func(obj) {
            index.entry(v).or_default().insert(key.clone());
        }
    }
    index
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
        let mut guard = self.inner.write();
        let Inner {
            items,
            indexers,
            indices,
        } = &mut *guard;
        let changes = index_changes(indexers, items.get(key.as_str()).map(|o| &**o), Some(&*obj));
        apply_index_changes(indices, changes, &key);
        items.insert(Key::from(key), obj);
    }

    pub(crate) fn delete(&self, key: &str) -> Option<Arc<K>> {
        let mut guard = self.inner.write();
        let Inner {
            items,
            indexers,
            indices,
        } = &mut *guard;
        let changes = index_changes(indexers, Some(&**items.get(key)?), None);
        apply_index_changes(indices, changes, key);
        items.remove(key)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<K>> {
        self.inner.read().items.get(key).cloned()
    }

    pub(crate) fn list(&self) -> Vec<Arc<K>> {
        self.inner.read().items.values().cloned().collect()
    }

    pub(crate) fn list_keys(&self) -> Vec<String> {
        self.inner.read().items.keys().map(Key::to_string).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.read().items.len()
    }

    /// Swap the whole content for `items`, rebuilding every index.
    pub(crate) fn replace(&self, items: impl IntoIterator<Item = (String, Arc<K>)>) {
        let items: HashMap<Key, Arc<K>> = items.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let mut inner = self.inner.write();
        let indices: HashMap<String, Index> = inner
            .indexers
            .iter()
            .map(|(name, func)| (name.clone(), build_index(func, &items)))
            .collect();
        inner.items = items;
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
        let keys: HashSet<&Key> = values
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
            .map(Key::to_string)
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
        // Every new index is built before any is registered: all or nothing.
        let built: Vec<(String, IndexFunc<K>, Index)> = new
            .into_iter()
            .map(|(name, func)| {
                let index = build_index(&func, &inner.items);
                (name, func, index)
            })
            .collect();
        for (name, func, index) in built {
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
    //! - `panicking_index_function_leaves_the_store_unchanged`: update, delete,
    //!   replace and add_indexers are all-or-nothing when an index function panics.
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::index::IndexFunc;
    use crate::testing::{TestObj, obj, obj_labels, sorted};

    fn index_len(store: &ThreadSafeStore<TestObj>, name: &str) -> usize {
        store
            .inner
            .read()
            .indices
            .get(name)
            .map_or(0, |index| index.len())
    }

    fn by_label_a() -> IndexFunc<TestObj> {
        Arc::new(|o: &TestObj| {
            o.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("a"))
                .map(|v| vec![v.to_string()])
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
                .map(|(_, v)| v.to_string())
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

    #[test]
    fn panicking_index_function_leaves_the_store_unchanged() {
        use std::panic::{AssertUnwindSafe, catch_unwind};
        // Panics on value 13; `b` sorts after `a`, so with two indexers one
        // may have run before the other panics.
        let panicky: IndexFunc<TestObj> = Arc::new(|o: &TestObj| {
            assert_ne!(o.value, 13, "index function refuses 13");
            vec![o.value.to_string()]
        });
        let store = ThreadSafeStore::new(HashMap::from([
            ("a".to_owned(), by_label_a()),
            ("b".to_owned(), panicky.clone()),
        ]));
        store.update("ns/x".into(), obj_labels("ns", "x", &[("a", "1")]));
        let snapshot = |s: &ThreadSafeStore<TestObj>| {
            let inner = s.inner.read();
            let mut items: Vec<(String, i64)> = inner
                .items
                .iter()
                .map(|(k, o)| (k.to_string(), o.value))
                .collect();
            items.sort();
            let mut indices: Vec<(String, String, Vec<String>)> = inner
                .indices
                .iter()
                .flat_map(|(n, i)| {
                    i.iter().map(|(v, keys)| {
                        (
                            n.clone(),
                            v.clone(),
                            sorted(keys.iter().map(Key::to_string).collect()),
                        )
                    })
                })
                .collect();
            indices.sort();
            (items, indices)
        };
        let before = snapshot(&store);
        let mut bad = Arc::unwrap_or_clone(obj_labels("ns", "x", &[("a", "2")]));
        bad.value = 13;
        let bad = Arc::new(bad);

        let update = catch_unwind(AssertUnwindSafe(|| {
            store.update("ns/x".into(), bad.clone())
        }));
        assert!(update.is_err());
        assert_eq!(snapshot(&store), before, "update left the store unchanged");
        let add = catch_unwind(AssertUnwindSafe(|| {
            store.update("ns/y".into(), bad.clone())
        }));
        assert!(add.is_err());
        assert_eq!(snapshot(&store), before, "add left the store unchanged");
        let replace = catch_unwind(AssertUnwindSafe(|| {
            store.replace(HashMap::from([("ns/x".to_owned(), bad.clone())]))
        }));
        assert!(replace.is_err());
        assert_eq!(snapshot(&store), before, "replace left the store unchanged");

        // A stored object whose index values now panic cannot be deleted
        // halfway either.
        let flaky_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f2 = flaky_calls.clone();
        let flaky: IndexFunc<TestObj> = Arc::new(move |_o: &TestObj| {
            let n = f2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert!(n < 1, "index function fails after its first call");
            vec!["v".to_owned()]
        });
        let store2 = ThreadSafeStore::new(HashMap::from([
            ("a".to_owned(), by_label_a()),
            ("f".to_owned(), flaky),
        ]));
        store2.update("ns/x".into(), obj_labels("ns", "x", &[("a", "1")]));
        let before2 = snapshot(&store2);
        assert!(catch_unwind(AssertUnwindSafe(|| store2.delete("ns/x"))).is_err());
        assert_eq!(
            snapshot(&store2),
            before2,
            "delete left the store unchanged"
        );

        // add_indexers is all or nothing.
        let store3: ThreadSafeStore<TestObj> = ThreadSafeStore::new(HashMap::new());
        let mut z = Arc::unwrap_or_clone(obj("ns", "z", 0));
        z.value = 13;
        store3.update("ns/z".into(), Arc::new(z));
        let added = catch_unwind(AssertUnwindSafe(|| {
            store3.add_indexers(HashMap::from([
                ("a".to_owned(), by_label_a()),
                ("b".to_owned(), panicky.clone()),
            ]))
        }));
        assert!(added.is_err());
        assert!(store3.indexer_names().is_empty(), "no indexer registered");

        // The stores still work.
        store.update("ns/x".into(), obj_labels("ns", "x", &[("a", "3")]));
        assert_eq!(store.index_keys("a", "3").unwrap(), ["ns/x"]);
        assert!(store.index_keys("a", "2").unwrap().is_empty());
    }
}

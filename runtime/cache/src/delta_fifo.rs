//! DeltaFIFO: the queue between a reflector and an informer's processor
//! (client-go's `delta_fifo.go`).
//!
//! Contract:
//! - Changes are queued per key as a list of [`Delta`]s (Added, Updated,
//!   Deleted, Replaced, Sync). A key is in the queue at most once; further
//!   changes to a queued key append to its list, so [`pop`](DeltaFifo::pop)
//!   hands the consumer everything that happened to the object, oldest first,
//!   and keys come out in the order they were first queued.
//! - Two consecutive deletions of a key collapse into one (keeping the real
//!   object over a [`DeletedFinalStateUnknown`] tombstone).
//! - [`replace`](Store::replace) (a relist) queues `Replaced` deltas (or `Sync`
//!   with `emit_delta_type_replaced == false`) for every listed object, and a
//!   `Deleted` delta carrying a [`DeletedFinalStateUnknown`] tombstone for every
//!   key the consumer knew (`known_objects`) or had queued that the list no
//!   longer contains: deletions missed while the watch was down.
//! - [`delete`](Store::delete) of a key that is neither queued nor known is
//!   ignored: a relist already reported it.
//! - [`resync`](Store::resync) queues a `Sync` delta for every known object that
//!   has nothing queued (a queued change is newer than the cache's copy).
//! - [`has_synced`](DeltaFifo::has_synced) turns true once the first
//!   `replace`'s items have all been popped *and processed* (or once anything
//!   was added before a first replace). The process function runs under the
//!   queue's lock, so whatever it does (update the indexer, hand notifications
//!   to handlers) is complete before `has_synced` can be observed true.
//! - The optional transform runs once on each object entering the queue, before
//!   anything caches it; objects coming back from the cache for a `Sync` are
//!   not transformed again. A transform that panics unwinds out of the
//!   [`Store`] call that ran it and leaves the queue as it was (the
//!   informer turns that into a visible failure, see
//!   [`SharedIndexInformer`](super::SharedIndexInformer)).

use std::collections::VecDeque;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::store::{KeyListerGetter, Store};
use kubegen_core::resource::{Object, object_key};

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeltaType {
    /// Watch `ADDED`.
    Added,
    /// Watch `MODIFIED`.
    Updated,
    /// Watch `DELETED`, or a deletion discovered by a relist.
    Deleted,
    /// The object was in a relist's result.
    Replaced,
    /// Periodic resync of a known object (or a relist with Replaced disabled).
    Sync,
}

/// An object deleted while the watch was disconnected: its final state is
/// unknown, `obj` is the last state the cache saw.
#[derive(Debug)]
pub struct DeletedFinalStateUnknown<K> {
    /// Key of the deleted object.
    pub key: String,
    /// Last known state.
    pub obj: Arc<K>,
}

impl<K> Clone for DeletedFinalStateUnknown<K> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            obj: self.obj.clone(),
        }
    }
}

/// The payload of a delta: the object, or a tombstone for a missed deletion.
#[derive(Debug)]
pub enum DeltaObject<K> {
    /// The object as the server sent it (after the transform).
    Object(Arc<K>),
    /// A deletion found by a relist; the object is its last known state.
    Tombstone(DeletedFinalStateUnknown<K>),
}

impl<K> Clone for DeltaObject<K> {
    fn clone(&self) -> Self {
        match self {
            Self::Object(o) => Self::Object(o.clone()),
            Self::Tombstone(t) => Self::Tombstone(t.clone()),
        }
    }
}

impl<K> DeltaObject<K> {
    /// The object, or the tombstone's last known state.
    pub fn object(&self) -> &Arc<K> {
        match self {
            Self::Object(o) => o,
            Self::Tombstone(t) => &t.obj,
        }
    }

    /// Whether this is a [`DeletedFinalStateUnknown`] tombstone.
    pub fn is_tombstone(&self) -> bool {
        matches!(self, Self::Tombstone(_))
    }
}

impl<K: Object> DeltaObject<K> {
    /// The cache key (the tombstone's recorded key for tombstones).
    pub fn key(&self) -> String {
        match self {
            Self::Object(o) => object_key(o.metadata()),
            Self::Tombstone(t) => t.key.clone(),
        }
    }
}

/// One change to one object.
#[derive(Debug)]
pub struct Delta<K> {
    /// What happened.
    pub kind: DeltaType,
    /// The object (or tombstone) after it happened.
    pub object: DeltaObject<K>,
}

impl<K> Clone for Delta<K> {
    fn clone(&self) -> Self {
        Self {
            kind: self.kind,
            object: self.object.clone(),
        }
    }
}

/// Everything that happened to one key while it waited in the queue, oldest first.
#[derive(Debug)]
pub struct Deltas<K> {
    /// The object's key.
    pub key: String,
    /// The changes, oldest first; never empty.
    pub deltas: Vec<Delta<K>>,
}

impl<K> Clone for Deltas<K> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            deltas: self.deltas.clone(),
        }
    }
}

impl<K> Deltas<K> {
    /// The oldest change.
    pub fn oldest(&self) -> Option<&Delta<K>> {
        self.deltas.first()
    }
    /// The newest change.
    pub fn newest(&self) -> Option<&Delta<K>> {
        self.deltas.last()
    }
}

/// Rewrites an object before it is queued and cached (e.g. drop managedFields).
pub type Transformer<K> = Arc<dyn Fn(K) -> K + Send + Sync>;

/// Options of [`DeltaFifo::new`] (client-go's `DeltaFIFOOptions`).
pub struct DeltaFifoOptions<K> {
    /// The consumer's view of what exists, used by `replace`, `delete` and `resync`.
    pub known_objects: Option<Arc<dyn KeyListerGetter<K>>>,
    /// Queue `Replaced` (true) rather than `Sync` (false) deltas on `replace`.
    pub emit_delta_type_replaced: bool,
    /// Applied to every object entering the queue.
    pub transformer: Option<Transformer<K>>,
}

impl<K> Default for DeltaFifoOptions<K> {
    fn default() -> Self {
        Self {
            known_objects: None,
            emit_delta_type_replaced: true,
            transformer: None,
        }
    }
}

/// `pop` on a closed queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("DeltaFIFO: manipulating with closed queue")]
pub struct FifoClosed;

/// Capacity (in keys) an emptied queue keeps without giving memory back.
const SHRINK_ABOVE: usize = 64;

struct State<K> {
    items: HashMap<String, Vec<Delta<K>>>,
    queue: VecDeque<String>,
    /// Anything was added, or the first replace happened.
    populated: bool,
    /// Items of the first replace not yet popped.
    initial_population_count: usize,
    /// The synced hook was called.
    synced_announced: bool,
    closed: bool,
}

/// A queue of per-key change lists; see the module docs for the contract.
pub struct DeltaFifo<K> {
    state: Mutex<State<K>>,
    notify: Notify,
    known_objects: Option<Arc<dyn KeyListerGetter<K>>>,
    emit_delta_type_replaced: bool,
    transformer: Option<Transformer<K>>,
    on_synced: Option<Box<dyn Fn() + Send + Sync>>,
}

impl<K: Object> DeltaFifo<K> {
    /// An empty, open queue.
    pub fn new(options: DeltaFifoOptions<K>) -> Self {
        Self {
            state: Mutex::new(State {
                items: HashMap::new(),
                queue: VecDeque::new(),
                populated: false,
                initial_population_count: 0,
                synced_announced: false,
                closed: false,
            }),
            notify: Notify::new(),
            known_objects: options.known_objects,
            emit_delta_type_replaced: options.emit_delta_type_replaced,
            transformer: options.transformer,
            on_synced: None,
        }
    }

    /// Call `hook` once, under the queue's lock, at the moment
    /// [`has_synced`](Self::has_synced) turns true: after `pop`'s process
    /// function for the last item of the first list has returned, so
    /// whatever it did is complete by then. The hook must not block or call
    /// back into the queue. (The informer's sync signal.)
    pub(crate) fn on_synced(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_synced = Some(Box::new(hook));
        self
    }

    /// Run the synced hook if the queue has just synced.
    fn announce_if_synced(&self, st: &mut State<K>) {
        if !st.synced_announced && st.populated && st.initial_population_count == 0 {
            st.synced_announced = true;
            if let Some(hook) = &self.on_synced {
                hook();
            }
        }
    }

    fn transform(&self, obj: Arc<K>) -> Arc<K> {
        match &self.transformer {
            // unwrap_or_clone is free for objects fresh off the wire (sole owner).
            Some(t) => Arc::new(t(Arc::unwrap_or_clone(obj))),
            None => obj,
        }
    }

    /// Append a delta for `key`, queueing the key if it was not queued. Callers
    /// transform objects new from the server first.
    fn queue_action(
        &self,
        st: &mut State<K>,
        key: String,
        kind: DeltaType,
        object: DeltaObject<K>,
    ) {
        let delta = Delta { kind, object };
        match st.items.get_mut(&key) {
            Some(deltas) => {
                deltas.push(delta);
                dedup_deltas(deltas);
            }
            None => {
                st.queue.push_back(key.clone());
                st.items.insert(key, vec![delta]);
            }
        }
        self.notify.notify_waiters();
    }

    /// Wait for a queued key, remove it, and run `process` on its deltas under
    /// the queue's lock (so it must not block). The flag says whether the item
    /// belongs to the initial list, i.e. the queue had not synced yet.
    ///
    /// Returns [`FifoClosed`] once the queue is closed and empty; items queued
    /// before `close` are still handed out, as in client-go.
    pub async fn pop<R>(
        &self,
        process: impl FnOnce(Deltas<K>, bool) -> R,
    ) -> Result<R, FifoClosed> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register interest before looking, so a push between the check and
            // the await is not missed.
            notified.as_mut().enable();
            {
                let mut st = self.state.lock();
                while let Some(key) = st.queue.pop_front() {
                    let is_in_initial_list = !(st.populated && st.initial_population_count == 0);
                    if st.initial_population_count > 0 {
                        st.initial_population_count -= 1;
                    }
                    let Some(deltas) = st.items.remove(&key) else {
                        tracing::error!(key, "DeltaFIFO: key was queued without deltas; ignoring");
                        continue;
                    };
                    let processed = process(Deltas { key, deltas }, is_in_initial_list);
                    self.announce_if_synced(&mut st);
                    if st.queue.is_empty() && st.items.capacity() > SHRINK_ABOVE {
                        // A relist queued every object at once; an idle
                        // queue need not keep room for all of them.
                        st.items.shrink_to_fit();
                        st.queue.shrink_to_fit();
                    }
                    return Ok(processed);
                }
                if st.closed {
                    return Err(FifoClosed);
                }
            }
            notified.await;
        }
    }

    /// Close the queue: pending and future `pop`s return [`FifoClosed`].
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.notify.notify_waiters();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// True once the first replace's items were all popped and processed, or
    /// once anything was added/updated/deleted before a first replace.
    pub fn has_synced(&self) -> bool {
        let st = self.state.lock();
        st.populated && st.initial_population_count == 0
    }

    /// Queued deltas of `key`, if any.
    pub fn get_by_key(&self, key: &str) -> Option<Deltas<K>> {
        self.state.lock().items.get(key).map(|d| Deltas {
            key: key.to_owned(),
            deltas: d.clone(),
        })
    }

    /// Queued keys in pop order.
    pub fn queued_keys(&self) -> Vec<String> {
        self.state.lock().queue.iter().cloned().collect()
    }

    /// Number of queued keys.
    pub fn len(&self) -> usize {
        self.state.lock().queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queue a tombstone deletion for `key` (what a relist does for a missed delete).
    fn queue_tombstone(&self, st: &mut State<K>, key: String, obj: Arc<K>) {
        let tomb = DeltaObject::Tombstone(DeletedFinalStateUnknown {
            key: key.clone(),
            obj,
        });
        self.queue_action(st, key, DeltaType::Deleted, tomb);
    }
}

impl<K: Object> Store<K> for DeltaFifo<K> {
    fn add(&self, obj: Arc<K>) {
        let key = object_key(obj.metadata());
        // Transformed before the queue is touched: a panic leaves it as it was.
        let obj = self.transform(obj);
        let mut st = self.state.lock();
        st.populated = true;
        self.queue_action(&mut st, key, DeltaType::Added, DeltaObject::Object(obj));
        self.announce_if_synced(&mut st);
    }

    fn update(&self, obj: Arc<K>) {
        let key = object_key(obj.metadata());
        let obj = self.transform(obj);
        let mut st = self.state.lock();
        st.populated = true;
        self.queue_action(&mut st, key, DeltaType::Updated, DeltaObject::Object(obj));
        self.announce_if_synced(&mut st);
    }

    fn delete(&self, obj: Arc<K>) {
        let key = object_key(obj.metadata());
        let mut st = self.state.lock();
        let queued = st.items.contains_key(&key);
        let known = self
            .known_objects
            .as_ref()
            .is_some_and(|k| k.get_by_key(&key).is_some());
        if !queued && !known {
            // Already reported, presumably by a relist's tombstone.
            st.populated = true;
            self.announce_if_synced(&mut st);
            return;
        }
        let obj = self.transform(obj);
        st.populated = true;
        self.queue_action(&mut st, key, DeltaType::Deleted, DeltaObject::Object(obj));
        self.announce_if_synced(&mut st);
    }

    fn replace(&self, list: Vec<Arc<K>>, _resource_version: &str) {
        // Transformed before the queue is touched: a panic leaves it as it was.
        let list: Vec<(String, Arc<K>)> = list
            .into_iter()
            .map(|obj| (object_key(obj.metadata()), self.transform(obj)))
            .collect();
        let mut st = self.state.lock();
        let action = if self.emit_delta_type_replaced {
            DeltaType::Replaced
        } else {
            DeltaType::Sync
        };
        let mut keys = HashSet::with_capacity(list.len());
        for (key, obj) in list {
            keys.insert(key.clone());
            self.queue_action(&mut st, key, action, DeltaObject::Object(obj));
        }

        // Queued keys the list no longer has: deleted while we were away.
        let mut queued_deletions = 0;
        let vanished_queued: Vec<(String, Arc<K>)> = st
            .items
            .iter()
            .filter(|(k, _)| !keys.contains(*k))
            .filter_map(|(k, d)| d.last().map(|n| (k.clone(), n.object.object().clone())))
            .collect();
        for (key, obj) in vanished_queued {
            queued_deletions += 1;
            self.queue_tombstone(&mut st, key, obj);
        }

        // Known keys (in the consumer's cache) the list no longer has.
        if let Some(known) = &self.known_objects {
            for key in known.list_keys() {
                if keys.contains(&key) || st.items.get(&key).is_some_and(|d| !d.is_empty()) {
                    continue;
                }
                let Some(obj) = known.get_by_key(&key) else {
                    // It went away between list_keys and get_by_key: nothing to report.
                    continue;
                };
                queued_deletions += 1;
                self.queue_tombstone(&mut st, key, obj);
            }
        }

        if !st.populated {
            st.populated = true;
            st.initial_population_count = keys.len() + queued_deletions;
        }
        self.announce_if_synced(&mut st);
        self.notify.notify_waiters();
    }

    fn resync(&self) {
        let Some(known) = &self.known_objects else {
            return;
        };
        let mut st = self.state.lock();
        for key in known.list_keys() {
            let Some(obj) = known.get_by_key(&key) else {
                continue;
            };
            // A queued change is newer than the cache's copy; syncing the old
            // copy after it would be a step back.
            if st.items.get(&key).is_some_and(|d| !d.is_empty()) {
                continue;
            }
            self.queue_action(&mut st, key, DeltaType::Sync, DeltaObject::Object(obj));
        }
    }

    /// The newest object of every queued key (tombstones give their last state).
    fn list(&self) -> Vec<Arc<K>> {
        self.state
            .lock()
            .items
            .values()
            .filter_map(|d| d.last().map(|n| n.object.object().clone()))
            .collect()
    }

    fn list_keys(&self) -> Vec<String> {
        self.queued_keys()
    }

    /// The newest object queued under `key`.
    fn get_by_key(&self, key: &str) -> Option<Arc<K>> {
        self.state
            .lock()
            .items
            .get(key)
            .and_then(|d| d.last().map(|n| n.object.object().clone()))
    }
}

/// Collapse the last two deltas if they are both deletions, keeping the one
/// with more information (a real object beats a tombstone).
fn dedup_deltas<K>(deltas: &mut Vec<Delta<K>>) {
    let n = deltas.len();
    if n < 2 {
        return;
    }
    let (older, newer) = (&deltas[n - 2], &deltas[n - 1]);
    if older.kind != DeltaType::Deleted || newer.kind != DeltaType::Deleted {
        return;
    }
    if newer.object.is_tombstone() {
        // Keep the older, real deletion.
        deltas.pop();
    } else {
        deltas.swap_remove(n - 2);
    }
}

#[cfg(test)]
mod tests {
    //! Ports of client-go's delta_fifo_test.go behaviours:
    //! - `pops_in_first_queued_order_with_all_deltas`: TestDeltaFIFO_basic,
    //!   TestDeltaFIFO_addUpdate (a key is queued once; later changes append).
    //! - `delete_of_unknown_key_is_ignored`: TestDeltaFIFO_DeleteExistingNonPropagated
    //!   and the no-lister/with-lister enqueueing cases.
    //! - `consecutive_deletes_are_deduplicated`: TestDedupDeltas (real object
    //!   beats tombstone, different types are kept).
    //! - `replace_emits_tombstones_for_known_keys_gone_from_list`:
    //!   TestDeltaFIFO_ReplaceMakesDeletions / ReplaceMakesDeletionsReplaced.
    //! - `replace_emits_tombstones_for_queued_keys_gone_from_list`:
    //!   TestDeltaFIFO_ReplaceMakesDeletionsForObjectsOnlyInQueue.
    //! - `replace_with_sync_type_when_replaced_disabled`: TestDeltaFIFO_ReplaceDeltaType.
    //! - `resync_skips_keys_with_queued_changes`: TestDeltaFIFO_Resync,
    //!   TestDeltaFIFO_UpdateResyncRace, TestDeltaFIFO_ResyncNonExisting.
    //! - `has_synced_after_initial_list_is_popped`: TestDeltaFIFO_HasSynced,
    //!   TestDeltaFIFO_HasSyncedCorrectOnDeletion, is_in_initial_list flag.
    //! - `synced_hook_runs_once_when_has_synced_turns_true`: the informer's
    //!   sync signal (no client-go counterpart: there HasSynced is polled).
    //! - `pop_unblocks_when_closed`: TestDeltaFIFO_PopShouldUnblockWhenClosed.
    //! - `transformer_runs_once_before_queueing`: TestDeltaFIFO_transformer.
    //! - `panicking_transform_leaves_the_queue_as_it_was` (no client-go
    //!   counterpart: there a panic crashes the process).
    //! - `detect_line_jumpers`: TestDeltaFIFO_detectLineJumpers (a re-added
    //!   key keeps its place; order is first-queued).
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    use parking_lot::Mutex;

    use super::*;
    use crate::testing::{TestObj, obj, sorted};

    /// A fixed set of known objects (client-go's literalListerGetter).
    struct Known(Mutex<HashMap<String, Arc<TestObj>>>);

    impl Known {
        fn new(objs: &[Arc<TestObj>]) -> Arc<Self> {
            Arc::new(Self(Mutex::new(
                objs.iter()
                    .map(|o| (object_key(o.metadata()), o.clone()))
                    .collect(),
            )))
        }
    }

    impl KeyListerGetter<TestObj> for Known {
        fn list_keys(&self) -> Vec<String> {
            self.0.lock().keys().cloned().collect()
        }
        fn get_by_key(&self, key: &str) -> Option<Arc<TestObj>> {
            self.0.lock().get(key).cloned()
        }
    }

    fn fifo() -> DeltaFifo<TestObj> {
        DeltaFifo::new(DeltaFifoOptions::default())
    }

    fn fifo_known(known: Arc<Known>) -> DeltaFifo<TestObj> {
        DeltaFifo::new(DeltaFifoOptions {
            known_objects: Some(known),
            ..DeltaFifoOptions::default()
        })
    }

    async fn pop(f: &DeltaFifo<TestObj>) -> (Deltas<TestObj>, bool) {
        tokio::time::timeout(Duration::from_secs(5), f.pop(|d, initial| (d, initial)))
            .await
            .expect("pop timed out")
            .expect("fifo closed")
    }

    /// (type, key, value, tombstone?) of each delta, for compact assertions.
    fn shape(d: &Deltas<TestObj>) -> Vec<(DeltaType, String, i64, bool)> {
        d.deltas
            .iter()
            .map(|x| {
                (
                    x.kind,
                    x.object.key(),
                    x.object.object().value,
                    x.object.is_tombstone(),
                )
            })
            .collect()
    }

    use DeltaType::*;

    #[tokio::test]
    async fn pops_in_first_queued_order_with_all_deltas() {
        let f = fifo();
        f.add(obj("ns", "a", 1));
        f.add(obj("ns", "b", 1));
        f.update(obj("ns", "a", 2));
        f.update(obj("ns", "a", 3));
        assert_eq!(f.queued_keys(), ["ns/a", "ns/b"]);
        assert_eq!(f.get_by_key("ns/a").unwrap().deltas.len(), 3);
        let (a, _) = pop(&f).await;
        assert_eq!(
            shape(&a),
            [
                (Added, "ns/a".into(), 1, false),
                (Updated, "ns/a".into(), 2, false),
                (Updated, "ns/a".into(), 3, false)
            ]
        );
        assert_eq!(a.newest().unwrap().object.object().value, 3);
        assert_eq!(a.oldest().unwrap().kind, Added);
        let (b, _) = pop(&f).await;
        assert_eq!(shape(&b), [(Added, "ns/b".into(), 1, false)]);
        assert!(f.is_empty());
    }

    #[tokio::test]
    async fn a_drained_queue_gives_back_the_room_a_relist_took() {
        let f = fifo();
        for i in 0..1000 {
            f.add(obj("ns", &format!("o{i}"), i));
        }
        for _ in 0..1000 {
            pop(&f).await;
        }
        let st = f.state.lock();
        assert!(
            st.items.capacity() <= SHRINK_ABOVE,
            "{}",
            st.items.capacity()
        );
        assert!(
            st.queue.capacity() <= SHRINK_ABOVE,
            "{}",
            st.queue.capacity()
        );
    }

    #[tokio::test]
    async fn many_producers_every_change_is_delivered_once_per_key() {
        // TestDeltaFIFO_basic: two producers, one consumer, nothing lost.
        let f = Arc::new(fifo());
        let mut tasks = Vec::new();
        for p in 0..2 {
            let f = f.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    f.add(obj("ns", &format!("p{p}-{i}"), i));
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut seen = Vec::new();
        for _ in 0..100 {
            let (d, _) = pop(&f).await;
            assert_eq!(d.deltas.len(), 1);
            seen.push(d.key);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100);
    }

    #[tokio::test]
    async fn delete_of_unknown_key_is_ignored() {
        // No known objects, nothing queued: a delete is a duplicate report.
        let f = fifo();
        f.delete(obj("ns", "gone", 1));
        assert!(f.is_empty());
        // Queued key: the delete is appended.
        f.add(obj("ns", "a", 1));
        f.delete(obj("ns", "a", 1));
        assert_eq!(
            shape(&pop(&f).await.0),
            [
                (Added, "ns/a".into(), 1, false),
                (Deleted, "ns/a".into(), 1, false)
            ]
        );

        // With known objects: a key the consumer knows is reported even if not queued.
        let f = fifo_known(Known::new(&[obj("ns", "known", 5)]));
        f.delete(obj("ns", "unknown", 1));
        assert!(f.is_empty());
        f.delete(obj("ns", "known", 6));
        assert_eq!(
            shape(&pop(&f).await.0),
            [(Deleted, "ns/known".into(), 6, false)]
        );
    }

    #[test]
    fn consecutive_deletes_are_deduplicated() {
        let real = || Delta {
            kind: Deleted,
            object: DeltaObject::Object(obj("ns", "a", 1)),
        };
        let tomb = || Delta {
            kind: Deleted,
            object: DeltaObject::Tombstone(DeletedFinalStateUnknown {
                key: "ns/a".into(),
                obj: obj("ns", "a", 2),
            }),
        };
        let added = || Delta {
            kind: Added,
            object: DeltaObject::Object(obj("ns", "a", 3)),
        };
        let run = |mut v: Vec<Delta<TestObj>>| {
            dedup_deltas(&mut v);
            v.iter()
                .map(|d| (d.kind, d.object.object().value, d.object.is_tombstone()))
                .collect::<Vec<_>>()
        };
        // real + tombstone -> real kept
        assert_eq!(run(vec![real(), tomb()]), [(Deleted, 1, false)]);
        // tombstone + real -> newer real kept
        assert_eq!(run(vec![tomb(), real()]), [(Deleted, 1, false)]);
        // tombstone + tombstone -> older kept
        assert_eq!(run(vec![tomb(), tomb()]), [(Deleted, 2, true)]);
        // different types are not duplicates
        assert_eq!(
            run(vec![added(), real()]),
            [(Added, 3, false), (Deleted, 1, false)]
        );
        assert_eq!(run(vec![real()]), [(Deleted, 1, false)]);
    }

    #[tokio::test]
    async fn replace_emits_tombstones_for_known_keys_gone_from_list() {
        let f = fifo_known(Known::new(&[
            obj("ns", "foo", 5),
            obj("ns", "bar", 6),
            obj("ns", "baz", 7),
        ]));
        f.delete(obj("ns", "baz", 10));
        f.replace(vec![obj("ns", "foo", 5)], "0");
        let mut got = Vec::new();
        while !f.is_empty() {
            got.extend(shape(&pop(&f).await.0));
        }
        got.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            got,
            [
                // bar is known but not listed: tombstone with the known state.
                (Deleted, "ns/bar".into(), 6, true),
                // baz was already being deleted: the real delete wins the dedup.
                (Deleted, "ns/baz".into(), 10, false),
                (Replaced, "ns/foo".into(), 5, false),
            ]
        );
    }

    #[tokio::test]
    async fn replace_emits_tombstones_for_queued_keys_gone_from_list() {
        let f = fifo_known(Known::new(&[obj("ns", "foo", 5)]));
        f.add(obj("ns", "queued", 1));
        f.update(obj("ns", "queued", 2));
        f.replace(vec![obj("ns", "foo", 5)], "0");
        let (q, _) = pop(&f).await;
        assert_eq!(
            shape(&q),
            [
                (Added, "ns/queued".into(), 1, false),
                (Updated, "ns/queued".into(), 2, false),
                // last queued state is the tombstone's object
                (Deleted, "ns/queued".into(), 2, true),
            ]
        );
        assert_eq!(
            shape(&pop(&f).await.0),
            [(Replaced, "ns/foo".into(), 5, false)]
        );
    }

    #[tokio::test]
    async fn replace_without_known_objects_only_tombstones_queued_keys() {
        let f = fifo();
        f.add(obj("ns", "a", 1));
        f.replace(vec![obj("ns", "b", 2)], "0");
        assert_eq!(
            shape(&pop(&f).await.0),
            [
                (Added, "ns/a".into(), 1, false),
                (Deleted, "ns/a".into(), 1, true)
            ]
        );
        assert_eq!(
            shape(&pop(&f).await.0),
            [(Replaced, "ns/b".into(), 2, false)]
        );
    }

    #[tokio::test]
    async fn replace_with_sync_type_when_replaced_disabled() {
        let f = DeltaFifo::new(DeltaFifoOptions {
            known_objects: Some(Known::new(&[])),
            emit_delta_type_replaced: false,
            transformer: None,
        });
        f.replace(vec![obj("ns", "a", 1)], "0");
        assert_eq!(shape(&pop(&f).await.0), [(Sync, "ns/a".into(), 1, false)]);
    }

    #[tokio::test]
    async fn resync_skips_keys_with_queued_changes() {
        let known = Known::new(&[obj("ns", "a", 1), obj("ns", "b", 1)]);
        let f = fifo_known(known.clone());
        // b has a newer update queued: resyncing the cache's older copy after it
        // would move the consumer backwards (UpdateResyncRace).
        f.update(obj("ns", "b", 2));
        f.resync();
        let mut got = Vec::new();
        while !f.is_empty() {
            got.extend(shape(&pop(&f).await.0));
        }
        got.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            got,
            [
                (Sync, "ns/a".into(), 1, false),
                (Updated, "ns/b".into(), 2, false)
            ]
        );

        // Resync with nothing known, or without a known-objects source, queues nothing.
        known.0.lock().clear();
        f.resync();
        assert!(f.is_empty());
        let plain = fifo();
        plain.resync();
        assert!(plain.is_empty());
    }

    #[tokio::test]
    async fn has_synced_after_initial_list_is_popped() {
        let f = fifo_known(Known::new(&[obj("ns", "old", 1)]));
        assert!(!f.has_synced());
        f.replace(vec![obj("ns", "a", 1), obj("ns", "b", 1)], "0");
        assert!(!f.has_synced());
        // 2 listed + 1 tombstone make up the initial population.
        for i in 0..3 {
            let synced_during = f
                .pop(|_, initial| (initial, f_has_synced_probe()))
                .await
                .unwrap();
            assert!(synced_during.0, "item {i} belongs to the initial list");
            assert_eq!(f.has_synced(), i == 2);
        }
        // Later items are not part of the initial list.
        f.add(obj("ns", "c", 1));
        assert!(!pop(&f).await.1);

        // An add before any replace makes the queue synced at once (client-go's populated).
        let g = fifo();
        g.add(obj("ns", "x", 1));
        assert!(g.has_synced());

        // An empty initial list is synced immediately.
        let h = fifo();
        h.replace(vec![], "0");
        assert!(h.has_synced());
    }

    // The process closure runs under the lock; it must not call back into the
    // queue. This probe stands for "work done while processing".
    fn f_has_synced_probe() {}

    #[tokio::test]
    async fn synced_hook_runs_once_when_has_synced_turns_true() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hooked = |log: &Arc<Mutex<Vec<String>>>| {
            let l2 = log.clone();
            fifo().on_synced(move || l2.lock().push("synced".to_owned()))
        };
        let f = hooked(&log);
        f.replace(vec![obj("ns", "a", 1), obj("ns", "b", 1)], "0");
        assert!(log.lock().is_empty());
        let l2 = log.clone();
        f.pop(|d, _| l2.lock().push(format!("processed {}", d.key)))
            .await
            .unwrap();
        assert_eq!(*log.lock(), ["processed ns/a"]);
        // The hook comes after the last initial item's processing is done.
        let l2 = log.clone();
        f.pop(|d, _| l2.lock().push(format!("processed {}", d.key)))
            .await
            .unwrap();
        assert_eq!(*log.lock(), ["processed ns/a", "processed ns/b", "synced"]);
        // Once only: later lists, adds and pops do not run it again.
        f.replace(vec![obj("ns", "c", 1)], "1");
        f.add(obj("ns", "d", 1));
        pop(&f).await;
        pop(&f).await;
        assert_eq!(log.lock().len(), 3);

        // An empty first list, and an add before any list, sync at once.
        for first in ["replace", "add"] {
            let log = Arc::new(Mutex::new(Vec::new()));
            let g = hooked(&log);
            match first {
                "replace" => g.replace(vec![], "0"),
                _ => g.add(obj("ns", "x", 1)),
            }
            assert_eq!(*log.lock(), ["synced"], "{first}");
        }
    }

    #[tokio::test]
    async fn pop_unblocks_when_closed() {
        let f = Arc::new(fifo());
        let waiter = {
            let f = f.clone();
            tokio::spawn(async move { f.pop(|d, _| d.key).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        f.close();
        let res = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(res, Err(FifoClosed));
        assert!(f.is_closed());

        // Items queued before close are still handed out; then Closed.
        let g = fifo();
        g.add(obj("ns", "a", 1));
        g.close();
        assert_eq!(g.pop(|d, _| d.key).await.unwrap(), "ns/a");
        assert_eq!(g.pop(|d, _| d.key).await, Err(FifoClosed));
    }

    #[tokio::test]
    async fn transformer_runs_once_before_queueing() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = calls.clone();
        let known = Known::new(&[obj("ns", "k", 100)]);
        let f = DeltaFifo::new(DeltaFifoOptions {
            known_objects: Some(known),
            emit_delta_type_replaced: true,
            transformer: Some(Arc::new(move |mut o: TestObj| {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                o.value *= 10;
                o
            })),
        });
        f.add(obj("ns", "a", 1));
        f.update(obj("ns", "a", 2));
        f.replace(vec![obj("ns", "b", 3)], "0");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(
            shape(&pop(&f).await.0),
            [
                (Added, "ns/a".into(), 10, false),
                (Updated, "ns/a".into(), 20, false),
                (Deleted, "ns/a".into(), 20, true)
            ]
        );
        assert_eq!(
            shape(&pop(&f).await.0),
            [(Replaced, "ns/b".into(), 30, false)]
        );
        // The known-but-unlisted object's tombstone is not re-transformed.
        assert_eq!(
            shape(&pop(&f).await.0),
            [(Deleted, "ns/k".into(), 100, true)]
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn detect_line_jumpers() {
        let f = fifo();
        f.add(obj("ns", "foo", 10));
        f.add(obj("ns", "bar", 1));
        f.add(obj("ns", "foo", 11));
        f.add(obj("ns", "foo", 13));
        f.add(obj("ns", "zab", 30));
        assert_eq!(pop(&f).await.0.newest().unwrap().object.object().value, 13);
        f.add(obj("ns", "foo", 14)); // ensure foo doesn't jump back in line
        assert_eq!(pop(&f).await.0.key, "ns/bar");
        assert_eq!(pop(&f).await.0.key, "ns/zab");
        assert_eq!(pop(&f).await.0.newest().unwrap().object.object().value, 14);
        assert_eq!(sorted(f.queued_keys()), Vec::<String>::new());
    }

    #[tokio::test]
    async fn list_and_get_show_newest_queued_state() {
        let f = fifo();
        f.add(obj("ns", "a", 1));
        f.update(obj("ns", "a", 2));
        assert_eq!(Store::get_by_key(&f, "ns/a").unwrap().value, 2);
        assert_eq!(Store::list(&f).len(), 1);
        assert_eq!(Store::list_keys(&f), ["ns/a"]);
    }

    #[test]
    fn panicking_transform_leaves_the_queue_as_it_was() {
        use std::panic::{AssertUnwindSafe, catch_unwind};
        let known = Known::new(&[obj("ns", "k", 1)]);
        let f = DeltaFifo::new(DeltaFifoOptions {
            known_objects: Some(known),
            emit_delta_type_replaced: true,
            transformer: Some(Arc::new(|o: TestObj| {
                assert_ne!(o.value, 13, "transform refuses 13");
                o
            })),
        });
        let add = catch_unwind(AssertUnwindSafe(|| f.add(obj("ns", "a", 13))));
        assert!(add.is_err());
        assert!(f.is_empty());
        assert!(
            !f.has_synced(),
            "nothing was added, so nothing is populated"
        );
        let replace = catch_unwind(AssertUnwindSafe(|| {
            f.replace(vec![obj("ns", "b", 1), obj("ns", "c", 13)], "5")
        }));
        assert!(replace.is_err());
        assert!(f.is_empty(), "no partial replace: {:?}", f.queued_keys());
        assert!(!f.has_synced());
        let delete = catch_unwind(AssertUnwindSafe(|| f.delete(obj("ns", "k", 13))));
        assert!(delete.is_err());
        assert!(f.is_empty());
        assert!(!f.has_synced());
        // Still usable afterwards.
        f.replace(vec![obj("ns", "b", 1)], "6");
        assert_eq!(sorted(f.queued_keys()), ["ns/b", "ns/k"]);
    }
}

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use crossbeam_queue::SegQueue;
use crossbeam_utils::CachePadded;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::metrics::{MetricsProvider, QueueMetrics};

/// How often the unfinished-work gauges are refreshed unless configured.
pub const DEFAULT_UNFINISHED_WORK_UPDATE_PERIOD: Duration = Duration::from_millis(500);

/// Options for building a queue (client-go's `QueueConfig`).
#[derive(Clone)]
pub struct QueueConfig {
    /// The queue's name, used as the metrics label.
    pub name: String,
    /// Where metrics go; `None` records nothing and keeps no timestamps.
    pub metrics_provider: Option<Arc<dyn MetricsProvider>>,
    /// How often the unfinished-work gauges are refreshed.
    pub unfinished_work_update_period: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            name: String::new(),
            metrics_provider: None,
            unfinished_work_update_period: DEFAULT_UNFINISHED_WORK_UPDATE_PERIOD,
        }
    }
}

impl fmt::Debug for QueueConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueConfig")
            .field("name", &self.name)
            .field("metrics_provider", &self.metrics_provider.is_some())
            .field(
                "unfinished_work_update_period",
                &self.unfinished_work_update_period,
            )
            .finish()
    }
}

impl QueueConfig {
    /// A config for a queue with this name and no metrics.
    pub fn new(name: impl Into<String>) -> Self {
        QueueConfig {
            name: name.into(),
            ..QueueConfig::default()
        }
    }

    /// Reports metrics through `provider`.
    ///
    /// The unfinished-work gauges are refreshed by a task spawned on the
    /// current Tokio runtime; built outside one, the queue logs a warning and
    /// leaves those two gauges alone.
    pub fn with_metrics_provider(mut self, provider: Arc<dyn MetricsProvider>) -> Self {
        self.metrics_provider = Some(provider);
        self
    }

    /// Refreshes the unfinished-work gauges this often.
    pub fn with_unfinished_work_update_period(mut self, period: Duration) -> Self {
        self.unfinished_work_update_period = period;
        self
    }
}

/// A deduplicating work queue.
///
/// The basic work queue: a deduplicating FIFO with a processing set, as
/// client-go's `workqueue.Type`.
///
/// # Contract
///
/// - **Dedup.** An item added while it is already waiting is not added again.
/// - **One worker per item.** An item handed out by [`Queue::get`] is
///   *processing* until [`Queue::done`]; it is never handed to a second worker
///   meanwhile. Adding it again while it is processing marks it dirty, and
///   `done` puts it back at the tail, so the change is processed once more.
/// - **FIFO.** Items are handed out in the order they became waiting.
/// - **Shutdown.** After [`Queue::shut_down`] adds are ignored; `get` still
///   hands out what is waiting and then returns `None` for ever.
///   [`Queue::shut_down_with_drain`] also waits until every processing item is
///   `done` (including items that were dirty and went round once more); a
///   later `shut_down` releases that wait at once.
///
/// Handles are cheap clones of one shared queue. `get` is cancel-safe: a
/// dropped `get` future hands out nothing and loses no wake-up.
///
/// ```
/// use kubegen_cache::workqueue::Queue;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let queue: Queue<String> = Queue::new();
/// queue.add("default/web-0".to_owned());
/// queue.add("default/web-0".to_owned()); // deduplicated
/// assert_eq!(queue.len(), 1);
/// while let Some(key) = queue.get().await {
///     // reconcile `key` ...
///     queue.done(&key);
///     if queue.len() == 0 { queue.shut_down(); }
/// }
/// # }
/// ```
///
/// # Why it is built this way
///
/// A producer adds while workers get and finish, all at once, so the queue
/// keeps them off each other's locks. Each item's dirty/processing flags
/// (and, with metrics on, a box of its timestamps) live in one entry of a
/// hash table split into 64 tables, each behind its own lock, chosen by the
/// item's hash (computed before any lock is taken); the FIFO of waiting items
/// is crossbeam's lock-free `SegQueue`, whose tail only producers touch and
/// whose head only workers do. So a hash lookup, which usually misses the CPU
/// cache, never holds up another thread's add, get or done, and no lock is
/// shared by all. Shutdown takes every shard's lock once, so an add either
/// finished before it or sees it. The FIFO holds only hashes: `get` takes a
/// waiting entry with that hash (any one will do if two items share it)
/// without comparing items, and clones the item it hands out, so an add
/// allocates nothing. Waiting workers park on a [`tokio::sync::Notify`],
/// which an add touches only when a worker waits.
pub struct Queue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.inner.name)
            .field("len", &self.inner.fifo.len())
            .field("processing", &self.inner.processing.load(SeqCst))
            .field("shutting_down", &self.inner.shutting_down.load(SeqCst))
            .finish()
    }
}

/// How many tables the items' entries are split over (a power of two).
const SHARDS: usize = 64;

pub(crate) struct Inner<T> {
    name: String,
    hasher: hashbrown::DefaultHashBuilder,
    /// The entries, by [`shard_of`] their hash; each lock on a cache line of
    /// its own, so threads taking different locks do not slow each other.
    shards: Box<[CachePadded<Mutex<Shard<T>>>]>,
    /// The hashes of the items waiting to be handed out, in order. There are
    /// as many of a hash here as entries with it that are dirty and not
    /// processing.
    fifo: SegQueue<u64>,
    /// Entries with `processing` set. Raised before an item leaves the FIFO,
    /// so a drain never misses one that is in neither.
    processing: AtomicUsize,
    /// Set with every shard's lock held; adds read it under theirs.
    shutting_down: AtomicBool,
    drain: AtomicBool,
    /// Workers registered to wait in `get`; an add skips `item_ready` at 0.
    waiting: AtomicUsize,
    /// Wakes workers parked in `get`.
    item_ready: Notify,
    /// Wakes `shut_down_with_drain` when the processing set may have emptied.
    drained: Notify,
    metrics: Option<QueueMetrics>,
}

/// One of the tables the entries are split over.
type Shard<T> = HashTable<Slot<T>>;

struct Slot<T> {
    hash: u64,
    item: T,
    /// Needs processing (client-go's dirty set).
    dirty: bool,
    /// Handed to a worker and not yet done (client-go's processing set).
    processing: bool,
    /// Only with metrics on. Boxed: inline, the two timestamps made every
    /// entry half as large again (72 rather than 48 bytes with a `String`
    /// item), and adds, which mostly wait on memory, ~12% slower.
    times: Option<Box<Times>>,
}

#[derive(Default)]
struct Times {
    /// First add since the last get.
    added_at: Option<Instant>,
    /// When a worker got it.
    started_at: Option<Instant>,
}

impl<T> Slot<T> {
    fn times(&mut self) -> &mut Times {
        self.times.get_or_insert_with(Box::default)
    }
}

impl<T: Eq> Slot<T> {
    /// Whether this is `item`'s entry. The whole hash is compared first: the
    /// table matched only 7 of its bits, and the item usually lies elsewhere
    /// in memory, out of the CPU's cache.
    fn is(&self, hash: u64, item: &T) -> bool {
        self.hash == hash && self.item == *item
    }
}

/// The shard of a hash: bits above those hashbrown uses for a bucket's index
/// (the low ones) and for its control byte (the top seven).
fn shard_of(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// Counts a worker in `waiting` while it lives, also when its `get` is dropped.
struct Registered<'a>(&'a AtomicUsize);

impl<'a> Registered<'a> {
    fn new(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, SeqCst);
        Registered(waiting)
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// No code panics while holding one of the queue's locks, so a poisoned lock
/// still guards consistent state.
fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Inner<T> {
    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard<T>> {
        lock(&self.shards[shard_of(hash)])
    }

    /// Lowers the processing count, waking a drain that waits for 0.
    fn finish_one(&self) {
        if self.processing.fetch_sub(1, SeqCst) == 1 && self.drain.load(SeqCst) {
            self.drained.notify_waiters();
        }
    }

    /// Wakes one worker waiting in `get`, if any registered to wait. Called
    /// after a push; the fence pairs with the one in `get`, so either the
    /// worker sees the item or this sees the worker.
    fn wake_one(&self) {
        fence(SeqCst);
        if self.waiting.load(SeqCst) > 0 {
            self.item_ready.notify_one();
        }
    }
}

impl<T> Default for Queue<T>
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Queue<T>
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    /// A queue without a name or metrics (client-go's `New`).
    pub fn new() -> Self {
        Self::with_config(QueueConfig::default())
    }

    /// A queue built from `config` (client-go's `NewWithConfig`).
    pub fn with_config(config: QueueConfig) -> Self {
        let metrics = config
            .metrics_provider
            .as_deref()
            .map(|provider| QueueMetrics::new(provider, &config.name));
        let with_metrics = metrics.is_some();
        let inner = Arc::new(Inner {
            name: config.name,
            hasher: hashbrown::DefaultHashBuilder::default(),
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(Mutex::new(HashTable::new())))
                .collect(),
            fifo: SegQueue::new(),
            processing: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
            drain: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            item_ready: Notify::new(),
            drained: Notify::new(),
            metrics,
        });
        if with_metrics {
            spawn_unfinished_work_loop(&inner, config.unfinished_work_update_period);
        }
        Queue { inner }
    }

    /// Marks `item` as needing processing. Ignored after shutdown; a no-op when
    /// the item is already waiting; when it is processing, it is queued again
    /// once the worker calls [`done`](Self::done).
    pub fn add(&self, item: T) {
        let inner = &*self.inner;
        let hash = inner.hasher.hash_one(&item);
        let mut shard = inner.shard(hash);
        if inner.shutting_down.load(SeqCst) {
            return;
        }
        match shard.entry(hash, |slot| slot.is(hash, &item), |slot| slot.hash) {
            TableEntry::Occupied(mut occupied) => {
                let slot = occupied.get_mut();
                if slot.dirty {
                    return;
                }
                // Present but not dirty means processing: `done` requeues it.
                slot.dirty = true;
                if let Some(metrics) = &inner.metrics {
                    metrics.add(&mut slot.times().added_at);
                }
            }
            TableEntry::Vacant(vacant) => {
                let mut slot = Slot {
                    hash,
                    item,
                    dirty: true,
                    processing: false,
                    times: None,
                };
                if let Some(metrics) = &inner.metrics {
                    metrics.add(&mut slot.times().added_at);
                }
                vacant.insert(slot);
                inner.fifo.push(hash);
                drop(shard);
                inner.wake_one();
            }
        }
    }

    /// The number of items waiting to be handed out. For information only:
    /// another task may change it right after.
    pub fn len(&self) -> usize {
        self.inner.fifo.len()
    }

    /// Whether no item is waiting (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for the next item and marks it processing; `None` once the queue
    /// is shut down and nothing is left waiting. Call [`done`](Self::done) with
    /// the item when finished with it.
    pub async fn get(&self) -> Option<T> {
        if let Some(next) = self.try_get() {
            return next;
        }
        let inner = &*self.inner;
        loop {
            // Register before looking, so an add between the look and the
            // await still wakes this task; `waiting` is raised before the look
            // too, so that add sees it (the fence pairs with `wake_one`'s).
            let mut notified = pin!(inner.item_ready.notified());
            notified.as_mut().enable();
            let _waiting = Registered::new(&inner.waiting);
            fence(SeqCst);
            if let Some(next) = self.try_get() {
                return next;
            }
            notified.await;
        }
    }

    /// `Some(Some(item))` when an item was taken, `Some(None)` when shut down
    /// and empty, `None` when the caller has to wait.
    fn try_get(&self) -> Option<Option<T>> {
        let inner = &*self.inner;
        // Read first: shutdown happens after every add that pushed before it.
        let shutting_down = inner.shutting_down.load(SeqCst);
        inner.processing.fetch_add(1, SeqCst);
        let Some(hash) = inner.fifo.pop() else {
            inner.finish_one();
            return shutting_down.then_some(None);
        };
        // An add of the item before this lookup finds it dirty and not yet
        // processing, and leaves it to this round: the worker has not started.
        let mut shard = inner.shard(hash);
        let slot = shard
            .find_mut(hash, |slot| {
                slot.hash == hash && slot.dirty && !slot.processing
            })
            .expect("every hash in the FIFO has a waiting entry");
        slot.dirty = false;
        slot.processing = true;
        if let Some(metrics) = &inner.metrics {
            let times = slot.times();
            metrics.get(&mut times.added_at, &mut times.started_at);
        }
        Some(Some(slot.item.clone()))
    }

    /// Marks `item` as finished. If it was added again while processing, it
    /// goes back to the tail of the queue. Calling it for an item that is not
    /// processing does nothing.
    pub fn done(&self, item: &T) {
        let inner = &*self.inner;
        let hash = inner.hasher.hash_one(item);
        let requeued = {
            let mut shard = inner.shard(hash);
            let Ok(mut occupied) = shard.find_entry(hash, |slot| slot.is(hash, item)) else {
                return;
            };
            let slot = occupied.get_mut();
            if !slot.processing {
                return;
            }
            slot.processing = false;
            if let Some(metrics) = &inner.metrics {
                metrics.done(&mut slot.times().started_at);
            }
            if slot.dirty {
                // Even after shutdown, as client-go: a drain waits for it.
                inner.fifo.push(hash);
                true
            } else {
                occupied.remove();
                false
            }
        };
        if requeued {
            inner.wake_one();
        }
        inner.finish_one();
    }

    /// Whether `item` is waiting or processing (client-go's `Find`).
    pub fn contains(&self, item: &T) -> bool {
        let inner = &*self.inner;
        let hash = inner.hasher.hash_one(item);
        inner
            .shard(hash)
            .find(hash, |slot| slot.is(hash, item))
            .is_some()
    }

    /// Ignores further adds and tells workers to stop once nothing is waiting;
    /// does not wait for processing items. Releases a pending
    /// [`shut_down_with_drain`](Self::shut_down_with_drain).
    pub fn shut_down(&self) {
        self.start_shut_down(false);
        self.inner.drained.notify_waiters();
    }

    /// Like [`shut_down`](Self::shut_down), then waits until every processing
    /// item is done. Workers must keep calling `done` after shutdown starts,
    /// or this waits for ever (a later `shut_down` ends the wait).
    pub async fn shut_down_with_drain(&self) {
        self.start_shut_down_with_drain();
        self.wait_for_drain().await;
    }

    /// The synchronous half of `shut_down_with_drain`: shutdown starts now.
    pub(crate) fn start_shut_down_with_drain(&self) {
        self.start_shut_down(true);
    }

    fn start_shut_down(&self, drain: bool) {
        let inner = &*self.inner;
        {
            // Every shard's lock, so no add is between its check and its push.
            let _shards: Vec<_> = inner.shards.iter().map(|shard| lock(shard)).collect();
            inner.shutting_down.store(true, SeqCst);
            inner.drain.store(drain, SeqCst);
        }
        inner.item_ready.notify_waiters();
    }

    /// Waits until nothing is processing or a `shut_down` cancels the drain.
    pub(crate) async fn wait_for_drain(&self) {
        let inner = &*self.inner;
        loop {
            let mut notified = pin!(inner.drained.notified());
            notified.as_mut().enable();
            if inner.processing.load(SeqCst) == 0 || !inner.drain.load(SeqCst) {
                return;
            }
            notified.await;
        }
    }

    /// Whether shutdown has started.
    pub fn shutting_down(&self) -> bool {
        self.inner.shutting_down.load(SeqCst)
    }

    /// The queue's name from its config.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub(crate) fn metrics(&self) -> Option<&QueueMetrics> {
        self.inner.metrics.as_ref()
    }
}

/// Refreshes the unfinished-work gauges until the queue shuts down or is
/// dropped (the task holds only a weak reference).
fn spawn_unfinished_work_loop<T>(inner: &Arc<Inner<T>>, period: Duration)
where
    T: Send + Sync + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            queue = %inner.name,
            "workqueue built outside a Tokio runtime: unfinished-work metrics are not updated"
        );
        return;
    };
    let weak: Weak<Inner<T>> = Arc::downgrade(inner);
    let period = period.max(Duration::from_micros(1));
    // Ticks count from construction, not from when the task first runs.
    let first_tick = Instant::now() + period;
    runtime.spawn(async move {
        let mut ticker = tokio::time::interval_at(first_tick, period);
        loop {
            ticker.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            if inner.shutting_down.load(SeqCst) {
                return;
            }
            if let Some(metrics) = &inner.metrics {
                let mut started = Vec::new();
                for shard in &*inner.shards {
                    started.extend(
                        lock(shard)
                            .iter()
                            .filter_map(|slot| slot.times.as_ref()?.started_at),
                    );
                }
                metrics.update_unfinished_work(started.into_iter());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `queue_test.go`, one test each:
    //! - `TestBasic` -> `many_producers_and_consumers_drain_fully` (both shutdown kinds;
    //!   nothing added after shutdown is handed out; empty at the end)
    //! - `TestAddWhileProcessing` -> `readd_while_processing_runs_again` (dirty-while-processing)
    //! - `TestFind` -> `contains_sees_waiting_and_processing_items`
    //! - `TestLen` -> `len_counts_distinct_waiting_items`
    //! - `TestReinsert` -> `reinsert_during_processing_requeues_after_done`
    //! - `TestQueueDrainageUsingShutDownWithDrain` -> `shut_down_with_drain_waits_for_done`
    //! - `TestNoQueueDrainageUsingShutDown` -> `shut_down_does_not_wait_for_processing`
    //! - `TestForceQueueShutdownUsingShutDown` -> `shut_down_releases_pending_drain`
    //! - `TestQueueDrainageUsingShutDownWithDrainWithDirtyItem` -> `drain_waits_for_dirty_item_round`
    //! - `TestGarbageCollection` -> `done_items_are_released` (the queue keeps no reference)
    //!
    //! Beyond client-go's list: `never_two_workers_on_one_item`, `get_is_cancel_safe`,
    //! `adds_racing_shutdown_leave_nothing_behind`.
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_producers_and_consumers_drain_fully() {
        for drain in [false, true] {
            let queue: Queue<String> = Queue::new();
            let producers: Vec<_> = (0..50)
                .map(|i| {
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        for _ in 0..50 {
                            queue.add(format!("item-{i}"));
                            tokio::time::sleep(Duration::from_micros(100)).await;
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..10)
                .map(|_| {
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        let mut seen = 0;
                        while let Some(item) = queue.get().await {
                            assert_ne!(item, "added after shutdown!");
                            seen += 1;
                            tokio::time::sleep(Duration::from_micros(300)).await;
                            queue.done(&item);
                        }
                        seen
                    })
                })
                .collect();
            for producer in producers {
                producer.await.unwrap();
            }
            if drain {
                queue.shut_down_with_drain().await;
            } else {
                queue.shut_down();
            }
            queue.add("added after shutdown!".to_owned());
            let mut total = 0;
            for consumer in consumers {
                total += consumer.await.unwrap();
            }
            assert!(
                total >= 50,
                "every producer's item was processed at least once"
            );
            assert_eq!(queue.len(), 0);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readd_while_processing_runs_again() {
        for drain in [false, true] {
            let queue: Queue<u32> = Queue::new();
            for i in 0..50 {
                queue.add(i);
            }
            let consumers: Vec<_> = (0..10)
                .map(|_| {
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        let mut counters: HashMap<u32, u32> = HashMap::new();
                        while let Some(item) = queue.get().await {
                            let count = counters.entry(item).or_default();
                            *count += 1;
                            if *count < 2 {
                                queue.add(item);
                            }
                            queue.done(&item);
                        }
                        counters
                    })
                })
                .collect();
            // Let the workers go round before shutting down, as client-go's
            // test does by waiting for its producers.
            while !queue.is_empty() || queue.inner.processing.load(SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if drain {
                queue.shut_down_with_drain().await;
            } else {
                queue.shut_down();
            }
            let mut total = 0;
            for consumer in consumers {
                total += consumer.await.unwrap().values().sum::<u32>();
            }
            // Every item ran at least twice in total (the re-add ran again).
            assert!(total >= 100, "got {total} runs");
            assert_eq!(queue.len(), 0);
        }
    }

    #[tokio::test]
    async fn contains_sees_waiting_and_processing_items() {
        let queue: Queue<&str> = Queue::new();
        assert!(!queue.contains(&"foo"));
        assert!(!queue.shutting_down());
        queue.add("foo");
        assert!(queue.contains(&"foo"), "found while dirty");
        let item = queue.get().await.unwrap();
        assert_eq!(item, "foo");
        assert!(queue.contains(&"foo"), "found while processing");
        queue.done(&item);
        assert!(!queue.contains(&"foo"), "gone once done");
    }

    #[test]
    fn len_counts_distinct_waiting_items() {
        let queue: Queue<&str> = Queue::new();
        queue.add("foo");
        assert_eq!(queue.len(), 1);
        queue.add("bar");
        assert_eq!(queue.len(), 2);
        queue.add("foo");
        assert_eq!(queue.len(), 2, "a duplicate does not grow the queue");
    }

    #[tokio::test]
    async fn reinsert_during_processing_requeues_after_done() {
        let queue: Queue<&str> = Queue::new();
        queue.add("foo");
        let item = queue.get().await.unwrap();
        assert_eq!(item, "foo");
        queue.add(item);
        assert_eq!(queue.len(), 0, "not handed out while processing");
        queue.done(&item);
        assert_eq!(queue.len(), 1);
        let item = queue.get().await.unwrap();
        assert_eq!(item, "foo");
        queue.done(&item);
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test]
    async fn shut_down_with_drain_waits_for_done() {
        let queue: Queue<&str> = Queue::new();
        queue.add("foo");
        queue.add("bar");
        let first = queue.get().await.unwrap();
        let second = queue.get().await.unwrap();
        let drainer = tokio::spawn({
            let queue = queue.clone();
            async move { queue.shut_down_with_drain().await }
        });
        while !queue.shutting_down() {
            tokio::task::yield_now().await;
        }
        assert_eq!(queue.get().await, None);
        settle().await;
        assert!(!drainer.is_finished(), "drain waits for processing items");
        queue.done(&first);
        settle().await;
        assert!(!drainer.is_finished(), "one item is still processing");
        queue.done(&second);
        drainer.await.unwrap();
    }

    #[tokio::test]
    async fn shut_down_does_not_wait_for_processing() {
        let queue: Queue<&str> = Queue::new();
        queue.add("foo");
        queue.add("bar");
        queue.get().await.unwrap();
        queue.get().await.unwrap();
        queue.shut_down();
        assert_eq!(queue.get().await, None);
    }

    #[tokio::test]
    async fn shut_down_releases_pending_drain() {
        let queue: Queue<&str> = Queue::new();
        queue.add("foo");
        queue.add("bar");
        queue.get().await.unwrap();
        queue.get().await.unwrap();
        let drainer = tokio::spawn({
            let queue = queue.clone();
            async move { queue.shut_down_with_drain().await }
        });
        while !queue.shutting_down() {
            tokio::task::yield_now().await;
        }
        settle().await;
        assert!(!drainer.is_finished());
        queue.shut_down();
        drainer.await.unwrap();
    }

    #[tokio::test]
    async fn drain_waits_for_dirty_item_round() {
        let queue: Queue<&str> = Queue::new();
        queue.add("foo");
        let gotten = queue.get().await.unwrap();
        queue.add("foo");
        let drainer = tokio::spawn({
            let queue = queue.clone();
            async move { queue.shut_down_with_drain().await }
        });
        while !queue.shutting_down() {
            tokio::task::yield_now().await;
        }
        // The dirty copy is not handed out while the first is processing.
        assert_eq!(queue.len(), 0);
        queue.done(&gotten);
        // `done` put the dirty item back, so shutdown does not end `get` yet.
        let again = queue.get().await;
        assert_eq!(again, Some("foo"));
        settle().await;
        assert!(!drainer.is_finished());
        queue.done(&"foo");
        assert_eq!(queue.get().await, None, "now really done");
        drainer.await.unwrap();
    }

    #[tokio::test]
    async fn done_items_are_released() {
        let queue: Queue<Arc<String>> = Queue::new();
        let item = Arc::new("hello".to_owned());
        queue.add(Arc::clone(&item));
        let gotten = queue.get().await.unwrap();
        queue.done(&gotten);
        drop(gotten);
        assert_eq!(Arc::strong_count(&item), 1, "the queue kept a reference");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_two_workers_on_one_item() {
        let queue: Queue<u32> = Queue::new();
        let busy: Arc<Vec<AtomicUsize>> = Arc::new((0..8).map(|_| AtomicUsize::new(0)).collect());
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let queue = queue.clone();
                let busy = Arc::clone(&busy);
                tokio::spawn(async move {
                    while let Some(item) = queue.get().await {
                        let slot = &busy[item as usize];
                        assert_eq!(
                            slot.fetch_add(1, Ordering::SeqCst),
                            0,
                            "item {item} doubled"
                        );
                        // Re-adds during processing must wait for `done`.
                        queue.add(item);
                        tokio::task::yield_now().await;
                        slot.fetch_sub(1, Ordering::SeqCst);
                        queue.done(&item);
                    }
                })
            })
            .collect();
        for round in 0..2000u32 {
            queue.add(round % 8);
            if round % 64 == 0 {
                tokio::task::yield_now().await;
            }
        }
        queue.shut_down();
        for worker in workers {
            worker.await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adds_racing_shutdown_leave_nothing_behind() {
        // An add that saw no shutdown has pushed its item before shutdown
        // completes, so the worker's final `None` comes after every item.
        for round in 0..2000u32 {
            let queue: Queue<u32> = Queue::new();
            let adders: Vec<_> = (0..2u32)
                .map(|adder| {
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        let mut i = adder;
                        while !queue.shutting_down() {
                            queue.add(i);
                            i += 2;
                        }
                    })
                })
                .collect();
            let worker = tokio::spawn({
                let queue = queue.clone();
                async move {
                    while let Some(item) = queue.get().await {
                        queue.done(&item);
                    }
                }
            });
            for _ in 0..round % 7 {
                tokio::task::yield_now().await;
            }
            queue.shut_down();
            for adder in adders {
                adder.await.unwrap();
            }
            worker.await.unwrap();
            assert_eq!(queue.len(), 0, "round {round}: an item outlived shutdown");
        }
    }

    #[tokio::test]
    async fn get_is_cancel_safe() {
        let queue: Queue<u32> = Queue::new();
        // A get that is dropped while waiting takes nothing.
        let waited = tokio::time::timeout(Duration::from_millis(5), queue.get()).await;
        assert!(waited.is_err());
        queue.add(7);
        assert_eq!(queue.get().await, Some(7));
    }
}

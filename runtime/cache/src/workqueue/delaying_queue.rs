use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use hashbrown::HashMap;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::queue::{Queue, QueueConfig};

/// Stand-in deadline for delays too long to add to "now" (about 30 years).
const FAR_FUTURE: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

/// A [`Queue`] with [`add_after`](Self::add_after).
///
/// A work queue that can also add items after a delay, as client-go's
/// `DelayingInterface`.
///
/// # Contract
///
/// - [`DelayingQueue::add_after`] adds the item to the underlying [`Queue`]
///   once the delay has passed (a zero delay adds at once). All the queue's
///   guarantees (dedup, one worker per item, FIFO) hold for delayed items too.
/// - An item waiting for its delay is held once: adding it again with an
///   **earlier** deadline moves it forward, a later deadline is ignored.
/// - Items whose deadlines have passed are added in deadline order (ties in
///   call order).
/// - After shutdown, `add_after` is ignored and waiting items are dropped.
/// - Each call to `add_after` counts as a retry in the queue's metrics.
///
/// One timer task per queue sleeps until the earliest deadline (a B-tree keyed
/// by deadline, plus a map from item to its deadline for the dedup) and is
/// woken early only when a new earliest deadline arrives, so waiting items cost
/// no task or timer each. The task is spawned on the Tokio runtime the queue is
/// built in (or, if built outside one, on the runtime of the first
/// `add_after`) and ends when the queue shuts down or its last handle drops.
/// Times come from Tokio's clock, so a paused test clock drives it exactly.
///
/// ```
/// use std::time::Duration;
/// use kubegen_cache::workqueue::DelayingQueue;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let queue: DelayingQueue<&str> = DelayingQueue::new();
/// queue.add_after("default/web-0", Duration::from_secs(30));
/// assert_eq!(queue.len(), 0);
/// tokio::time::sleep(Duration::from_secs(31)).await;
/// assert_eq!(queue.get().await, Some("default/web-0"));
/// # }
/// ```
pub struct DelayingQueue<T> {
    queue: Queue<T>,
    waiting: Arc<Waiting<T>>,
}

impl<T> Clone for DelayingQueue<T> {
    fn clone(&self) -> Self {
        DelayingQueue {
            queue: self.queue.clone(),
            waiting: Arc::clone(&self.waiting),
        }
    }
}

impl<T> fmt::Debug for DelayingQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelayingQueue")
            .field("queue", &self.queue)
            .field("waiting", &self.waiting.state.lock().by_deadline.len())
            .finish()
    }
}

struct Waiting<T> {
    state: Mutex<WaitState<T>>,
    /// Wakes the timer task: a new earliest deadline, shutdown, or drop.
    wake: Arc<Notify>,
}

impl<T> Drop for Waiting<T> {
    fn drop(&mut self) {
        // The last handle is gone: let the timer task notice and end.
        self.wake.notify_one();
    }
}

struct WaitState<T> {
    /// Waiting items by (deadline, sequence number); the sequence keeps equal
    /// deadlines in call order.
    by_deadline: BTreeMap<(Instant, u64), T>,
    /// Each waiting item's key in `by_deadline`, for the earlier-wins dedup.
    keys: HashMap<T, (Instant, u64)>,
    next_seq: u64,
    timer_started: bool,
}

impl<T> Default for DelayingQueue<T>
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<T> DelayingQueue<T>
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    /// A delaying queue without a name or metrics.
    pub fn new() -> Self {
        Self::with_config(QueueConfig::default())
    }

    /// A delaying queue built from `config`.
    pub fn with_config(config: QueueConfig) -> Self {
        let queue = DelayingQueue {
            queue: Queue::with_config(config),
            waiting: Arc::new(Waiting {
                state: Mutex::new(WaitState {
                    by_deadline: BTreeMap::new(),
                    keys: HashMap::new(),
                    next_seq: 0,
                    timer_started: false,
                }),
                wake: Arc::new(Notify::new()),
            }),
        };
        {
            let mut state = queue.waiting.state.lock();
            queue.ensure_timer(&mut state);
        }
        queue
    }

    /// Adds `item` once `delay` has passed; see [`DelayingQueue`] for
    /// how repeated delays of one item combine.
    pub fn add_after(&self, item: T, delay: Duration) {
        if self.queue.shutting_down() {
            return;
        }
        if let Some(metrics) = self.queue.metrics() {
            metrics.retry();
        }
        if delay.is_zero() {
            self.queue.add(item);
            return;
        }
        let now = Instant::now();
        let deadline = now
            .checked_add(delay)
            .or_else(|| now.checked_add(FAR_FUTURE))
            .unwrap_or(now);
        let earliest = {
            let mut guard = self.waiting.state.lock();
            if !self.ensure_timer(&mut guard) {
                drop(guard);
                tracing::warn!(
                    queue = %self.queue.name(),
                    "add_after outside a Tokio runtime: the item is added without its delay"
                );
                self.queue.add(item);
                return;
            }
            let state = &mut *guard;
            let seq = state.next_seq;
            state.next_seq += 1;
            let key = (deadline, seq);
            match state.keys.get_mut(&item) {
                Some(existing) if existing.0 <= deadline => return,
                Some(existing) => {
                    let old = std::mem::replace(existing, key);
                    state.by_deadline.remove(&old);
                    state.by_deadline.insert(key, item);
                }
                None => {
                    state.keys.insert(item.clone(), key);
                    state.by_deadline.insert(key, item);
                }
            }
            state.by_deadline.first_key_value().map(|(first, _)| *first) == Some(key)
        };
        if earliest {
            self.waiting.wake.notify_one();
        }
    }

    /// Starts the timer task if needed; false when there is no runtime to run it on.
    fn ensure_timer(&self, state: &mut WaitState<T>) -> bool {
        if state.timer_started {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        state.timer_started = true;
        runtime.spawn(run_timer(
            self.queue.clone(),
            Arc::downgrade(&self.waiting),
            Arc::clone(&self.waiting.wake),
        ));
        true
    }

    /// The deadline `item` is waiting for, if it is waiting.
    #[cfg(test)]
    pub(crate) fn ready_at(&self, item: &T) -> Option<Instant> {
        self.waiting.state.lock().keys.get(item).map(|key| key.0)
    }

    /// Marks `item` as needing processing now; see [`Queue::add`].
    pub fn add(&self, item: T) {
        self.queue.add(item);
    }

    /// Items ready to be handed out (not those still waiting for a delay).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no item is ready to be handed out.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next item; see [`Queue::get`].
    pub async fn get(&self) -> Option<T> {
        self.queue.get().await
    }

    /// Finishes an item; see [`Queue::done`].
    pub fn done(&self, item: &T) {
        self.queue.done(item);
    }

    /// Whether `item` is ready or processing (not waiting for a delay).
    pub fn contains(&self, item: &T) -> bool {
        self.queue.contains(item)
    }

    /// Shuts down (see [`Queue::shut_down`]), drops waiting items and stops the timer.
    pub fn shut_down(&self) {
        self.queue.shut_down();
        self.stop_waiting();
    }

    /// Shuts down and waits for processing items (see [`Queue::shut_down_with_drain`]);
    /// items still waiting for their delay are dropped.
    pub async fn shut_down_with_drain(&self) {
        self.queue.start_shut_down_with_drain();
        self.stop_waiting();
        self.queue.wait_for_drain().await;
    }

    fn stop_waiting(&self) {
        {
            let mut state = self.waiting.state.lock();
            state.by_deadline.clear();
            state.keys.clear();
        }
        self.waiting.wake.notify_one();
    }

    /// Whether shutdown has started.
    pub fn shutting_down(&self) -> bool {
        self.queue.shutting_down()
    }

    /// The queue's name from its config.
    pub fn name(&self) -> &str {
        self.queue.name()
    }
}

/// Moves items whose deadline passed into `queue`, then sleeps until the next
/// deadline or a wake-up. Holds only a weak reference to the waiting items.
async fn run_timer<T>(queue: Queue<T>, waiting: Weak<Waiting<T>>, wake: Arc<Notify>)
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    let mut ready = Vec::new();
    loop {
        let mut woken = pin!(wake.notified());
        woken.as_mut().enable();
        let next = {
            let Some(waiting) = waiting.upgrade() else {
                return;
            };
            if queue.shutting_down() {
                return;
            }
            let now = Instant::now();
            let mut state = waiting.state.lock();
            let next = loop {
                match state.by_deadline.first_entry() {
                    Some(first) if first.key().0 <= now => {
                        let item = first.remove();
                        state.keys.remove(&item);
                        ready.push(item);
                    }
                    Some(first) => break Some(first.key().0),
                    None => break None,
                }
            };
            drop(state);
            next
        };
        for item in ready.drain(..) {
            queue.add(item);
        }
        match next {
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = &mut woken => {}
                }
            }
            None => woken.await,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `delaying_queue_test.go`:
    //! - `TestSimpleQueue` -> `item_is_added_after_its_delay` (and only once)
    //! - `TestDeduping` -> `earlier_deadline_wins_and_later_is_ignored` (including
    //!   `add_after` of an item that is processing: it stays found)
    //! - `TestAddTwoFireEarly` -> `earlier_deadline_fires_first`
    //! - `TestCopyShifting` -> `ready_items_are_added_in_deadline_order`
    //!
    //! Beyond client-go's list: `zero_delay_adds_at_once`,
    //! `shut_down_drops_waiting_items`, `huge_delay_does_not_overflow`.
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    async fn sleep(d: Duration) {
        tokio::time::sleep(d).await;
    }

    #[tokio::test(start_paused = true)]
    async fn item_is_added_after_its_delay() {
        let queue: DelayingQueue<&str> = DelayingQueue::new();
        queue.add_after("foo", 50 * MS);
        assert_eq!(queue.len(), 0, "not added before its delay");
        sleep(60 * MS).await;
        assert_eq!(queue.len(), 1, "added after its delay");
        let item = queue.get().await.unwrap();
        queue.done(&item);
        // Past client-go's 10 s heartbeat: nothing comes back.
        sleep(Duration::from_secs(10)).await;
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn earlier_deadline_wins_and_later_is_ignored() {
        let queue: DelayingQueue<&str> = DelayingQueue::new();
        let start = Instant::now();
        queue.add_after("foo", 50 * MS);
        queue.add_after("foo", 70 * MS);
        assert_eq!(queue.ready_at(&"foo"), Some(start + 50 * MS));
        assert_eq!(queue.len(), 0);
        sleep(60 * MS).await;
        assert_eq!(queue.len(), 1);
        let item = queue.get().await.unwrap();
        queue.done(&item);
        // The 70 ms add was merged into the 50 ms one.
        sleep(20 * MS).await;
        assert_eq!(queue.len(), 0);

        // This time the earlier add overrides the later.
        let start = Instant::now();
        queue.add_after("foo", 50 * MS);
        queue.add_after("foo", 30 * MS);
        assert_eq!(queue.ready_at(&"foo"), Some(start + 30 * MS));
        assert_eq!(queue.len(), 0);
        sleep(40 * MS).await;
        assert_eq!(queue.len(), 1);
        let item = queue.get().await.unwrap();
        queue.done(&item);
        sleep(20 * MS).await;
        assert_eq!(queue.len(), 0);

        // An item being processed stays found while also waiting.
        queue.add("foo");
        let item = queue.get().await.unwrap();
        assert_eq!(item, "foo");
        queue.add_after("foo", 5 * MS);
        assert!(queue.contains(&"foo"));
        queue.done(&"foo");
    }

    #[tokio::test(start_paused = true)]
    async fn earlier_deadline_fires_first() {
        let queue: DelayingQueue<&str> = DelayingQueue::new();
        queue.add_after("foo", Duration::from_secs(1));
        queue.add_after("bar", 50 * MS);
        assert_eq!(queue.len(), 0);
        sleep(60 * MS).await;
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.get().await, Some("bar"));
        queue.add_after("baz", Duration::from_secs(2));
        sleep(Duration::from_secs(1)).await;
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.get().await, Some("foo"));
        sleep(Duration::from_secs(2)).await;
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.get().await, Some("baz"));
    }

    #[tokio::test(start_paused = true)]
    async fn ready_items_are_added_in_deadline_order() {
        let queue: DelayingQueue<&str> = DelayingQueue::new();
        queue.add_after("foo", Duration::from_secs(1));
        queue.add_after("bar", 500 * MS);
        queue.add_after("baz", 250 * MS);
        assert_eq!(queue.len(), 0);
        // Jump past every deadline at once: they arrive sorted by deadline.
        tokio::time::advance(Duration::from_secs(2)).await;
        sleep(MS).await;
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.get().await, Some("baz"));
        assert_eq!(queue.get().await, Some("bar"));
        assert_eq!(queue.get().await, Some("foo"));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_delay_adds_at_once() {
        let queue: DelayingQueue<&str> = DelayingQueue::new();
        queue.add_after("now", Duration::ZERO);
        assert_eq!(queue.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn shut_down_drops_waiting_items() {
        let queue: DelayingQueue<&str> = DelayingQueue::new();
        queue.add_after("later", 10 * MS);
        queue.shut_down();
        queue.add_after("after shutdown", MS);
        sleep(20 * MS).await;
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.get().await, None);
        assert_eq!(queue.ready_at(&"later"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn huge_delay_does_not_overflow() {
        let queue: DelayingQueue<&str> = DelayingQueue::new();
        queue.add_after("never", Duration::MAX);
        queue.add_after("soon", MS);
        sleep(2 * MS).await;
        assert_eq!(queue.get().await, Some("soon"));
        assert!(queue.ready_at(&"never").is_some());
    }
}

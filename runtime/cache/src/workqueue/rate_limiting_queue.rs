use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use super::default_rate_limiters::RateLimiter;
use super::delaying_queue::DelayingQueue;
use super::queue::QueueConfig;

/// A [`DelayingQueue`] with rate-limited re-adds.
///
/// A delaying queue whose retries are paced by a [`RateLimiter`], as
/// client-go's `RateLimitingInterface`: the queue controllers use.
///
/// [`RateLimitingQueue::add_rate_limited`] asks the limiter how long the item
/// should wait and adds it after that delay; [`RateLimitingQueue::forget`]
/// resets the item's backoff once it was processed successfully. Forgetting is
/// the caller's job: an item that is never forgotten keeps its failure count.
///
/// ```
/// use kubegen_cache::workqueue::{RateLimitingQueue, default_controller_rate_limiter};
///
/// # async fn reconcile(_: &str) -> Result<(), ()> { Ok(()) }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let queue = RateLimitingQueue::new(default_controller_rate_limiter::<String>());
/// queue.add("default/web-0".to_owned());
/// while let Some(key) = queue.get().await {
///     match reconcile(&key).await {
///         Ok(()) => queue.forget(&key),
///         Err(()) => queue.add_rate_limited(key.clone()),
///     }
///     queue.done(&key);
/// #   queue.shut_down();
/// }
/// # }
/// ```
pub struct RateLimitingQueue<T> {
    queue: DelayingQueue<T>,
    limiter: Arc<dyn RateLimiter<T>>,
}

impl<T> Clone for RateLimitingQueue<T> {
    fn clone(&self) -> Self {
        RateLimitingQueue {
            queue: self.queue.clone(),
            limiter: Arc::clone(&self.limiter),
        }
    }
}

impl<T> fmt::Debug for RateLimitingQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitingQueue")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl<T> RateLimitingQueue<T>
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    /// A queue without a name or metrics, paced by `limiter`.
    pub fn new(limiter: impl RateLimiter<T> + 'static) -> Self {
        Self::with_config(limiter, QueueConfig::default())
    }

    /// A queue built from `config`, paced by `limiter`.
    pub fn with_config(limiter: impl RateLimiter<T> + 'static, config: QueueConfig) -> Self {
        Self::with_shared_limiter(Arc::new(limiter), config)
    }

    /// Like [`with_config`](Self::with_config) with a limiter shared with other queues.
    pub fn with_shared_limiter(limiter: Arc<dyn RateLimiter<T>>, config: QueueConfig) -> Self {
        RateLimitingQueue {
            queue: DelayingQueue::with_config(config),
            limiter,
        }
    }

    /// Adds `item` after the delay the limiter chooses (and counts a failure).
    pub fn add_rate_limited(&self, item: T) {
        let delay = self.limiter.when(&item);
        self.queue.add_after(item, delay);
    }

    /// Resets `item`'s backoff; call it when the item was processed successfully.
    pub fn forget(&self, item: &T) {
        self.limiter.forget(item);
    }

    /// How many failures of `item` the limiter is tracking.
    pub fn num_requeues(&self, item: &T) -> usize {
        self.limiter.num_requeues(item)
    }

    /// Adds `item` once `delay` has passed; see [`DelayingQueue::add_after`].
    pub fn add_after(&self, item: T, delay: std::time::Duration) {
        self.queue.add_after(item, delay);
    }

    /// Marks `item` as needing processing now; see [`super::Queue::add`].
    pub fn add(&self, item: T) {
        self.queue.add(item);
    }

    /// Items ready to be handed out.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no item is ready to be handed out.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next item; see [`super::Queue::get`].
    pub async fn get(&self) -> Option<T> {
        self.queue.get().await
    }

    /// Finishes an item; see [`super::Queue::done`].
    pub fn done(&self, item: &T) {
        self.queue.done(item);
    }

    /// Whether `item` is ready or processing.
    pub fn contains(&self, item: &T) -> bool {
        self.queue.contains(item)
    }

    /// Shuts down at once; see [`DelayingQueue::shut_down`].
    pub fn shut_down(&self) {
        self.queue.shut_down();
    }

    /// Shuts down and waits for processing items; see
    /// [`DelayingQueue::shut_down_with_drain`].
    pub async fn shut_down_with_drain(&self) {
        self.queue.shut_down_with_drain().await;
    }

    /// Whether shutdown has started.
    pub fn shutting_down(&self) -> bool {
        self.queue.shutting_down()
    }

    /// The queue's name from its config.
    pub fn name(&self) -> &str {
        self.queue.name()
    }

    /// The delaying queue underneath.
    pub fn delaying_queue(&self) -> &DelayingQueue<T> {
        &self.queue
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `rate_limiting_queue_test.go`:
    //! - `TestRateLimitingQueue` -> `rate_limited_adds_wait_per_the_limiter`
    //!   (per-item backoff, `num_requeues`, `forget` resets)
    //! - `TestNewNamedRateLimitingWithCustomQueue` ->
    //!   `default_limiter_hands_out_item_after_its_delay`
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::workqueue::default_rate_limiters::{
        ItemExponentialFailureRateLimiter, default_controller_rate_limiter,
    };

    const MS: Duration = Duration::from_millis(1);

    /// Adds `item` rate-limited and returns the delay it was given, then lets
    /// it fire so the next add is not merged into this one.
    async fn delay_of(queue: &RateLimitingQueue<&'static str>, item: &'static str) -> Duration {
        let now = Instant::now();
        queue.add_rate_limited(item);
        let ready_at = queue
            .delaying_queue()
            .ready_at(&item)
            .expect("item is waiting");
        tokio::time::sleep_until(ready_at + MS).await;
        assert!(queue.contains(&item), "{item} was added after its delay");
        ready_at - now
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limited_adds_wait_per_the_limiter() {
        let limiter = ItemExponentialFailureRateLimiter::new(MS, Duration::from_secs(1));
        let queue = RateLimitingQueue::new(limiter);
        assert_eq!(delay_of(&queue, "one").await, MS);
        assert_eq!(delay_of(&queue, "one").await, 2 * MS);
        assert_eq!(queue.num_requeues(&"one"), 2);
        assert_eq!(delay_of(&queue, "two").await, MS);
        assert_eq!(delay_of(&queue, "two").await, 2 * MS);
        queue.forget(&"one");
        assert_eq!(queue.num_requeues(&"one"), 0);
        assert_eq!(delay_of(&queue, "one").await, MS);
        // Each rate-limited add became one dedup'd item per key.
        assert_eq!(queue.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn default_limiter_hands_out_item_after_its_delay() {
        let queue = RateLimitingQueue::with_config(
            default_controller_rate_limiter(),
            QueueConfig::new("cluster"),
        );
        queue.add_rate_limited("one");
        assert_eq!(queue.len(), 0, "waits its 5 ms first");
        assert_eq!(queue.get().await, Some("one"));
        assert_eq!(queue.name(), "cluster");
    }
}

//! Work queues for controllers, as client-go's `util/workqueue`.
//!
//! A controller's event handlers add *keys* (usually `namespace/name`) and a
//! few workers take them out and reconcile. The queues here guarantee what
//! such controllers rely on:
//!
//! - [`Queue`]: deduplicated FIFO; an item is never handed to two workers at
//!   once, and an item re-added while processing runs again after `done`.
//! - [`DelayingQueue`]: plus `add_after(item, delay)`, earlier deadline wins.
//! - [`RateLimitingQueue`]: plus `add_rate_limited` / `forget` /
//!   `num_requeues`, paced by a [`RateLimiter`]; the usual one is
//!   [`default_controller_rate_limiter`].
//! - Metrics (depth, adds, latency, work duration, unfinished work, longest
//!   running processor, retries) through a [`MetricsProvider`].
//!
//! Queues are generic over the key type (`T: Clone + Eq + Hash + Send + Sync
//! + 'static`), async (Tokio), and cheap to clone: clones share one queue.
//!
//! ```
//! use kubegen_cache::workqueue::{RateLimitingQueue, default_controller_rate_limiter};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let queue = RateLimitingQueue::new(default_controller_rate_limiter::<String>());
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let queue = queue.clone();
//!         tokio::spawn(async move {
//!             while let Some(key) = queue.get().await {
//!                 // reconcile `key`; on error: queue.add_rate_limited(key.clone())
//!                 queue.forget(&key);
//!                 queue.done(&key);
//!             }
//!         })
//!     })
//!     .collect();
//! queue.add("default/web-0".to_owned());
//! queue.shut_down_with_drain().await;
//! for worker in workers {
//!     worker.await.unwrap();
//! }
//! # }
//! ```

mod default_rate_limiters;
mod delaying_queue;
mod metrics;
mod queue;
mod rate_limiting_queue;

pub use default_rate_limiters::{
    BucketRateLimiter, ItemExponentialFailureRateLimiter, ItemFastSlowRateLimiter,
    MaxOfRateLimiter, RateLimiter, WithMaxWaitRateLimiter, default_controller_rate_limiter,
};
pub use delaying_queue::DelayingQueue;
#[cfg(feature = "metrics")]
pub use metrics::MetricsCrateProvider;
pub use metrics::{
    CounterMetric, GaugeMetric, HistogramMetric, MetricsProvider, NoopMetricsProvider,
    SettableGaugeMetric,
};
pub use queue::{DEFAULT_UNFINISHED_WORK_UPDATE_PERIOD, Queue, QueueConfig};
pub use rate_limiting_queue::RateLimitingQueue;

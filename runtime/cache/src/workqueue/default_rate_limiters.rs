//! Rate limiters that decide how long an item waits before it is retried, as
//! client-go's `default_rate_limiters.go`.
//!
//! A [`RateLimiter`] is asked [`when`](RateLimiter::when) each time an item
//! fails; per-item limiters count failures until [`forget`](RateLimiter::forget).
//! What controllers normally use is [`default_controller_rate_limiter`]: the
//! larger of a per-item exponential backoff (5 ms doubling up to 1000 s) and an
//! overall token bucket (10 per second, bursts of 100), so one broken item backs
//! off on its own while a storm of failures cannot exceed the bucket.
//!
//! Times come from Tokio's clock, so tests with a paused clock are exact.

use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hashbrown::HashMap;
use parking_lot::Mutex;
use tokio::time::Instant;

/// Decides retry delays (client-go's `TypedRateLimiter`).
pub trait RateLimiter<T>: Send + Sync {
    /// How long `item` should wait before it is processed again; counts as a failure.
    fn when(&self, item: &T) -> Duration;
    /// Stops tracking `item` (after it succeeded), resetting its backoff.
    fn forget(&self, item: &T);
    /// How many failures of `item` are being tracked.
    fn num_requeues(&self, item: &T) -> usize;
}

/// client-go's `DefaultControllerRateLimiter`: the maximum of
/// [`ItemExponentialFailureRateLimiter`] (5 ms .. 1000 s) and
/// [`BucketRateLimiter`] (10 qps, burst 100).
pub fn default_controller_rate_limiter<T>() -> MaxOfRateLimiter<T>
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    MaxOfRateLimiter::new(vec![
        Box::new(ItemExponentialFailureRateLimiter::new(
            Duration::from_millis(5),
            Duration::from_secs(1000),
        )),
        Box::new(BucketRateLimiter::new(10.0, 100)),
    ])
}

/// Failures per item, for the per-item limiters.
///
/// `forget` runs after every successful reconcile, almost always for an item
/// that never failed, so it checks a count of tracked items before taking
/// the lock: a limiter with no failures costs the workers no shared lock.
struct Failures<T> {
    counts: Mutex<HashMap<T, u32>>,
    /// `counts.len()`, written under the lock.
    tracked: AtomicUsize,
}

impl<T> Default for Failures<T> {
    fn default() -> Self {
        Failures {
            counts: Mutex::new(HashMap::new()),
            tracked: AtomicUsize::new(0),
        }
    }
}

impl<T> Failures<T> {
    fn tracked(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }
}

impl<T: Clone + Eq + Hash> Failures<T> {
    /// Counts a failure of `item`; returns its failures so far, this one included.
    fn count(&self, item: &T) -> u32 {
        let mut counts = self.counts.lock();
        let count = match counts.get_mut(item) {
            Some(count) => {
                *count = count.saturating_add(1);
                *count
            }
            None => {
                counts.insert(item.clone(), 1);
                1
            }
        };
        self.tracked.store(counts.len(), Ordering::Release);
        count
    }

    fn forget(&self, item: &T) {
        // A failure counted before this call (in any thread this one has
        // synchronized with) was stored with Release, so it is seen here.
        if self.tracked.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut counts = self.counts.lock();
        counts.remove(item);
        self.tracked.store(counts.len(), Ordering::Release);
    }

    fn of(&self, item: &T) -> usize {
        self.counts.lock().get(item).map_or(0, |&n| n as usize)
    }
}

/// Per-item exponential backoff: `base * 2^failures`, capped at `max`.
pub struct ItemExponentialFailureRateLimiter<T> {
    failures: Failures<T>,
    base_delay: Duration,
    max_delay: Duration,
}

impl<T> fmt::Debug for ItemExponentialFailureRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemExponentialFailureRateLimiter")
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("tracked", &self.failures.tracked())
            .finish()
    }
}

impl<T: Clone + Eq + Hash> ItemExponentialFailureRateLimiter<T> {
    /// Backoff from `base_delay`, doubling per failure, never above `max_delay`.
    pub fn new(base_delay: Duration, max_delay: Duration) -> Self {
        ItemExponentialFailureRateLimiter {
            failures: Failures::default(),
            base_delay,
            max_delay,
        }
    }
}

impl<T: Clone + Eq + Hash + Send + Sync> RateLimiter<T> for ItemExponentialFailureRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        let exponent = self.failures.count(item) - 1;
        // Float arithmetic so huge exponents saturate instead of overflowing.
        let backoff = self.base_delay.as_secs_f64() * 2f64.powi(exponent.min(1024) as i32);
        if !backoff.is_finite() || backoff >= self.max_delay.as_secs_f64() {
            return self.max_delay;
        }
        Duration::try_from_secs_f64(backoff).unwrap_or(self.max_delay)
    }

    fn forget(&self, item: &T) {
        self.failures.forget(item);
    }

    fn num_requeues(&self, item: &T) -> usize {
        self.failures.of(item)
    }
}

/// An overall token bucket shared by all items (client-go's
/// `BucketRateLimiter` over `golang.org/x/time/rate`).
///
/// Each call takes one token; when none is left the call reserves a future one
/// and returns how long until it exists, so successive callers queue up at
/// `1/qps` intervals. Written here rather than taken from `governor` because
/// this reservation-in-debt behaviour is what client-go's controllers rely on.
#[derive(Debug)]
pub struct BucketRateLimiter {
    qps: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: tokens already promised to waiting callers.
    tokens: f64,
    last: Instant,
}

impl BucketRateLimiter {
    /// A bucket refilled at `qps` tokens per second holding at most `burst`;
    /// it starts full.
    pub fn new(qps: f64, burst: u32) -> Self {
        BucketRateLimiter {
            qps,
            burst: f64::from(burst),
            bucket: Mutex::new(Bucket {
                tokens: f64::from(burst),
                last: Instant::now(),
            }),
        }
    }
}

impl<T> RateLimiter<T> for BucketRateLimiter {
    fn when(&self, _item: &T) -> Duration {
        let now = Instant::now();
        let mut bucket = self.bucket.lock();
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.qps).min(self.burst);
        bucket.last = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            return Duration::ZERO;
        }
        if self.qps <= 0.0 || !self.qps.is_finite() {
            // x/time/rate with a zero limit never grants beyond the burst;
            // the longest wait a Duration can say is the closest to "never".
            return Duration::MAX;
        }
        Duration::try_from_secs_f64(-bucket.tokens / self.qps).unwrap_or(Duration::MAX)
    }

    fn forget(&self, _item: &T) {}

    fn num_requeues(&self, _item: &T) -> usize {
        0
    }
}

/// Fast retries for the first `max_fast_attempts` failures of an item, then slow ones.
pub struct ItemFastSlowRateLimiter<T> {
    failures: Failures<T>,
    fast_delay: Duration,
    slow_delay: Duration,
    max_fast_attempts: u32,
}

impl<T> fmt::Debug for ItemFastSlowRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemFastSlowRateLimiter")
            .field("fast_delay", &self.fast_delay)
            .field("slow_delay", &self.slow_delay)
            .field("max_fast_attempts", &self.max_fast_attempts)
            .finish()
    }
}

impl<T: Clone + Eq + Hash> ItemFastSlowRateLimiter<T> {
    /// `fast_delay` for the first `max_fast_attempts` failures, `slow_delay` after.
    pub fn new(fast_delay: Duration, slow_delay: Duration, max_fast_attempts: u32) -> Self {
        ItemFastSlowRateLimiter {
            failures: Failures::default(),
            fast_delay,
            slow_delay,
            max_fast_attempts,
        }
    }
}

impl<T: Clone + Eq + Hash + Send + Sync> RateLimiter<T> for ItemFastSlowRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        let attempts = self.failures.count(item);
        if attempts <= self.max_fast_attempts {
            self.fast_delay
        } else {
            self.slow_delay
        }
    }

    fn forget(&self, item: &T) {
        self.failures.forget(item);
    }

    fn num_requeues(&self, item: &T) -> usize {
        self.failures.of(item)
    }
}

/// The worst (longest) answer of several limiters; every limiter sees every call.
pub struct MaxOfRateLimiter<T> {
    limiters: Vec<Box<dyn RateLimiter<T>>>,
}

impl<T> fmt::Debug for MaxOfRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaxOfRateLimiter")
            .field("limiters", &self.limiters.len())
            .finish()
    }
}

impl<T> MaxOfRateLimiter<T> {
    /// Combines `limiters`; with none, every delay is zero.
    pub fn new(limiters: Vec<Box<dyn RateLimiter<T>>>) -> Self {
        MaxOfRateLimiter { limiters }
    }
}

impl<T> RateLimiter<T> for MaxOfRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        self.limiters
            .iter()
            .map(|limiter| limiter.when(item))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn forget(&self, item: &T) {
        for limiter in &self.limiters {
            limiter.forget(item);
        }
    }

    fn num_requeues(&self, item: &T) -> usize {
        self.limiters
            .iter()
            .map(|limiter| limiter.num_requeues(item))
            .max()
            .unwrap_or(0)
    }
}

/// Caps another limiter's delays at `max_delay` (client-go's `WithMaxWaitRateLimiter`).
pub struct WithMaxWaitRateLimiter<T> {
    limiter: Box<dyn RateLimiter<T>>,
    max_delay: Duration,
}

impl<T> fmt::Debug for WithMaxWaitRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithMaxWaitRateLimiter")
            .field("max_delay", &self.max_delay)
            .finish()
    }
}

impl<T> WithMaxWaitRateLimiter<T> {
    /// Wraps `limiter`, never waiting longer than `max_delay`.
    pub fn new(limiter: Box<dyn RateLimiter<T>>, max_delay: Duration) -> Self {
        WithMaxWaitRateLimiter { limiter, max_delay }
    }
}

impl<T> RateLimiter<T> for WithMaxWaitRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        self.limiter.when(item).min(self.max_delay)
    }

    fn forget(&self, item: &T) {
        self.limiter.forget(item);
    }

    fn num_requeues(&self, item: &T) -> usize {
        self.limiter.num_requeues(item)
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `default_rate_limiters_test.go`:
    //! - `TestItemExponentialFailureRateLimiter` -> `exponential_doubles_per_item_and_forget_resets`
    //! - `TestItemExponentialFailureRateLimiterOverFlow` -> `exponential_saturates_at_max_without_overflow`
    //! - `TestItemFastSlowRateLimiter` -> `fast_slow_switches_after_max_fast_attempts`
    //! - `TestMaxOfRateLimiter` -> `max_of_takes_the_longest_and_forgets_everywhere`
    //! - `TestWithMaxWaitRateLimiter` -> `with_max_wait_caps_delays`
    //!
    //! Beyond client-go's list:
    //! - x/time/rate's reservation behaviour, which client-go's `BucketRateLimiter`
    //!   wraps -> `bucket_allows_burst_then_spaces_at_qps`, `bucket_refills_over_time`
    //! - `DefaultControllerRateLimiter` -> `default_controller_limiter_combines_both`
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_doubles_per_item_and_forget_resets() {
        let limiter = ItemExponentialFailureRateLimiter::new(MS, Duration::from_secs(1));
        for expected in [1, 2, 4, 8, 16] {
            assert_eq!(limiter.when(&"one"), expected * MS);
        }
        assert_eq!(limiter.num_requeues(&"one"), 5);
        assert_eq!(limiter.when(&"two"), MS);
        assert_eq!(limiter.when(&"two"), 2 * MS);
        assert_eq!(limiter.num_requeues(&"two"), 2);
        limiter.forget(&"one");
        assert_eq!(limiter.num_requeues(&"one"), 0);
        assert_eq!(limiter.when(&"one"), MS);
    }

    #[test]
    fn exponential_saturates_at_max_without_overflow() {
        let limiter = ItemExponentialFailureRateLimiter::new(MS, Duration::from_secs(1000));
        for _ in 0..5 {
            limiter.when(&"one");
        }
        assert_eq!(limiter.when(&"one"), 32 * MS);
        for _ in 0..1000 {
            limiter.when(&"overflow1");
        }
        assert_eq!(limiter.when(&"overflow1"), Duration::from_secs(1000));

        let minute = Duration::from_secs(60);
        let limiter = ItemExponentialFailureRateLimiter::new(minute, 1000 * 60 * minute);
        for _ in 0..2 {
            limiter.when(&"two");
        }
        assert_eq!(limiter.when(&"two"), 4 * minute);
        for _ in 0..1000 {
            limiter.when(&"overflow2");
        }
        assert_eq!(limiter.when(&"overflow2"), 1000 * 60 * minute);
    }

    #[test]
    fn fast_slow_switches_after_max_fast_attempts() {
        let limiter = ItemFastSlowRateLimiter::new(5 * MS, Duration::from_secs(10), 3);
        for expected in [
            5 * MS,
            5 * MS,
            5 * MS,
            Duration::from_secs(10),
            Duration::from_secs(10),
        ] {
            assert_eq!(limiter.when(&"one"), expected);
        }
        assert_eq!(limiter.num_requeues(&"one"), 5);
        assert_eq!(limiter.when(&"two"), 5 * MS);
        assert_eq!(limiter.when(&"two"), 5 * MS);
        assert_eq!(limiter.num_requeues(&"two"), 2);
        limiter.forget(&"one");
        assert_eq!(limiter.num_requeues(&"one"), 0);
        assert_eq!(limiter.when(&"one"), 5 * MS);
    }

    #[test]
    fn max_of_takes_the_longest_and_forgets_everywhere() {
        let limiter: MaxOfRateLimiter<&str> = MaxOfRateLimiter::new(vec![
            Box::new(ItemFastSlowRateLimiter::new(
                5 * MS,
                Duration::from_secs(3),
                3,
            )),
            Box::new(ItemExponentialFailureRateLimiter::new(
                MS,
                Duration::from_secs(1),
            )),
        ]);
        for expected in [
            5 * MS,
            5 * MS,
            5 * MS,
            Duration::from_secs(3),
            Duration::from_secs(3),
        ] {
            assert_eq!(limiter.when(&"one"), expected);
        }
        assert_eq!(limiter.num_requeues(&"one"), 5);
        assert_eq!(limiter.when(&"two"), 5 * MS);
        assert_eq!(limiter.when(&"two"), 5 * MS);
        assert_eq!(limiter.num_requeues(&"two"), 2);
        limiter.forget(&"one");
        assert_eq!(limiter.num_requeues(&"one"), 0);
        assert_eq!(limiter.when(&"one"), 5 * MS);
    }

    /// client-go's test helper: `threshold` calls at `base`, then `max`, for any item.
    struct StepRateLimiter {
        count: Mutex<u32>,
        threshold: u32,
        base: Duration,
        max: Duration,
    }

    impl RateLimiter<u32> for StepRateLimiter {
        fn when(&self, _: &u32) -> Duration {
            let mut count = self.count.lock();
            *count += 1;
            if *count <= self.threshold {
                self.base
            } else {
                self.max
            }
        }
        fn forget(&self, _: &u32) {}
        fn num_requeues(&self, _: &u32) -> usize {
            0
        }
    }

    #[test]
    fn with_max_wait_caps_delays() {
        let step = StepRateLimiter {
            count: Mutex::new(0),
            threshold: 100,
            base: 5 * MS,
            max: Duration::from_secs(1000),
        };
        let limiter = WithMaxWaitRateLimiter::new(Box::new(step), Duration::from_secs(500));
        for i in 0..100 {
            assert_eq!(limiter.when(&i), 5 * MS);
        }
        for i in 100..200 {
            assert_eq!(limiter.when(&i), Duration::from_secs(500));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_burst_then_spaces_at_qps() {
        let limiter = BucketRateLimiter::new(10.0, 100);
        for i in 0..100u32 {
            assert_eq!(
                limiter.when(&i),
                Duration::ZERO,
                "call {i} is within the burst"
            );
        }
        // Tokens go into debt: each further caller waits one more 1/qps.
        assert_eq!(limiter.when(&0u32), 100 * MS);
        assert_eq!(limiter.when(&0u32), 200 * MS);
        assert_eq!(RateLimiter::<u32>::num_requeues(&limiter, &0), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_refills_over_time() {
        let limiter = BucketRateLimiter::new(10.0, 2);
        assert_eq!(limiter.when(&()), Duration::ZERO);
        assert_eq!(limiter.when(&()), Duration::ZERO);
        assert_eq!(limiter.when(&()), 100 * MS);
        // 300 ms refill 3 tokens: pays the debt of one, leaves two (the burst).
        tokio::time::advance(Duration::from_millis(300)).await;
        assert_eq!(limiter.when(&()), Duration::ZERO);
        assert_eq!(limiter.when(&()), Duration::ZERO);
        assert_eq!(limiter.when(&()), 100 * MS);
        // Refill never exceeds the burst, however long the pause.
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(limiter.when(&()), Duration::ZERO);
        assert_eq!(limiter.when(&()), Duration::ZERO);
        assert_eq!(limiter.when(&()), 100 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn default_controller_limiter_combines_both() {
        let limiter = default_controller_rate_limiter::<String>();
        let key = "ns/a".to_owned();
        // Per item: 5 ms, 10 ms, 20 ms ...
        assert_eq!(limiter.when(&key), 5 * MS);
        assert_eq!(limiter.when(&key), 10 * MS);
        assert_eq!(limiter.num_requeues(&key), 2);
        limiter.forget(&key);
        assert_eq!(limiter.num_requeues(&key), 0);
        // Across items: after the burst of 100 the bucket dominates.
        for i in 0..98 {
            limiter.when(&format!("ns/{i}"));
        }
        // 100 tokens taken; the next distinct item waits for the bucket.
        assert_eq!(limiter.when(&"ns/fresh".to_owned()), 100 * MS);
    }
}

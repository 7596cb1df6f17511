//! Workqueue metrics through a small pluggable provider, as client-go's
//! `workqueue.MetricsProvider`.
//!
//! A queue built with a [`MetricsProvider`] asks it once, at construction, for
//! one handle per metric (all labelled with the queue's name) and then updates
//! them while it holds its own lock, so the numbers are consistent with each
//! other. Handles must therefore be cheap and must not call back into the
//! queue. A queue without a provider records nothing and keeps no timestamps.
//!
//! The metrics and their meaning (names as client-go's Prometheus adapter):
//!
//! | handle | kind | what it measures |
//! |---|---|---|
//! | `workqueue_depth` | gauge | items waiting to be handed out (dirty items) |
//! | `workqueue_adds_total` | counter | adds that were not deduplicated away |
//! | `workqueue_queue_duration_seconds` | histogram | time from add to `get` |
//! | `workqueue_work_duration_seconds` | histogram | time from `get` to `done` |
//! | `workqueue_unfinished_work_seconds` | settable gauge | sum of the running times of in-flight items |
//! | `workqueue_longest_running_processor_seconds` | settable gauge | running time of the oldest in-flight item |
//! | `workqueue_retries_total` | counter | delayed or rate-limited re-adds |
//!
//! The two settable gauges are refreshed by a background task every
//! `unfinished_work_update_period` (500 ms by default) until the queue shuts down.
//!
//! With the `metrics` cargo feature, [`MetricsCrateProvider`] reports through
//! the `metrics` crate facade, so any exporter installed for it (Prometheus,
//! StatsD, ...) sees the queue.

use std::sync::Arc;

use tokio::time::Instant;

/// A value that goes up and down (client-go's `GaugeMetric`).
pub trait GaugeMetric: Send + Sync {
    /// Adds one.
    fn inc(&self);
    /// Subtracts one.
    fn dec(&self);
}

/// A value that is set outright (client-go's `SettableGaugeMetric`).
pub trait SettableGaugeMetric: Send + Sync {
    /// Replaces the value.
    fn set(&self, value: f64);
}

/// A value that only goes up (client-go's `CounterMetric`).
pub trait CounterMetric: Send + Sync {
    /// Adds one.
    fn inc(&self);
}

/// A distribution of observations, in seconds here (client-go's `HistogramMetric`).
pub trait HistogramMetric: Send + Sync {
    /// Records one observation.
    fn observe(&self, value: f64);
}

/// Builds the metric handles of one named queue (client-go's `MetricsProvider`).
pub trait MetricsProvider: Send + Sync {
    /// Current depth of the queue.
    fn new_depth_metric(&self, name: &str) -> Arc<dyn GaugeMetric>;
    /// Total number of adds.
    fn new_adds_metric(&self, name: &str) -> Arc<dyn CounterMetric>;
    /// Seconds an item waited in the queue before `get`.
    fn new_latency_metric(&self, name: &str) -> Arc<dyn HistogramMetric>;
    /// Seconds an item spent being processed.
    fn new_work_duration_metric(&self, name: &str) -> Arc<dyn HistogramMetric>;
    /// Seconds of work in progress that has not been observed by the work
    /// duration yet; large values point at stuck workers.
    fn new_unfinished_work_seconds_metric(&self, name: &str) -> Arc<dyn SettableGaugeMetric>;
    /// Seconds the longest-running worker has been busy with its item.
    fn new_longest_running_processor_seconds_metric(
        &self,
        name: &str,
    ) -> Arc<dyn SettableGaugeMetric>;
    /// Total number of retries (delayed and rate-limited adds).
    fn new_retries_metric(&self, name: &str) -> Arc<dyn CounterMetric>;
}

/// A provider whose handles do nothing; what a queue uses when none is given.
///
/// A queue given this provider still pays for timestamps; pass no provider at
/// all to skip them.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopMetricsProvider;

struct Noop;

impl GaugeMetric for Noop {
    fn inc(&self) {}
    fn dec(&self) {}
}
impl SettableGaugeMetric for Noop {
    fn set(&self, _: f64) {}
}
impl CounterMetric for Noop {
    fn inc(&self) {}
}
impl HistogramMetric for Noop {
    fn observe(&self, _: f64) {}
}

impl MetricsProvider for NoopMetricsProvider {
    fn new_depth_metric(&self, _: &str) -> Arc<dyn GaugeMetric> {
        Arc::new(Noop)
    }
    fn new_adds_metric(&self, _: &str) -> Arc<dyn CounterMetric> {
        Arc::new(Noop)
    }
    fn new_latency_metric(&self, _: &str) -> Arc<dyn HistogramMetric> {
        Arc::new(Noop)
    }
    fn new_work_duration_metric(&self, _: &str) -> Arc<dyn HistogramMetric> {
        Arc::new(Noop)
    }
    fn new_unfinished_work_seconds_metric(&self, _: &str) -> Arc<dyn SettableGaugeMetric> {
        Arc::new(Noop)
    }
    fn new_longest_running_processor_seconds_metric(
        &self,
        _: &str,
    ) -> Arc<dyn SettableGaugeMetric> {
        Arc::new(Noop)
    }
    fn new_retries_metric(&self, _: &str) -> Arc<dyn CounterMetric> {
        Arc::new(Noop)
    }
}

/// The handles of one queue, built once from its provider.
pub(crate) struct QueueMetrics {
    depth: Arc<dyn GaugeMetric>,
    adds: Arc<dyn CounterMetric>,
    latency: Arc<dyn HistogramMetric>,
    work_duration: Arc<dyn HistogramMetric>,
    unfinished_work_seconds: Arc<dyn SettableGaugeMetric>,
    longest_running_processor: Arc<dyn SettableGaugeMetric>,
    retries: Arc<dyn CounterMetric>,
}

impl QueueMetrics {
    pub(crate) fn new(provider: &dyn MetricsProvider, name: &str) -> Self {
        QueueMetrics {
            depth: provider.new_depth_metric(name),
            adds: provider.new_adds_metric(name),
            latency: provider.new_latency_metric(name),
            work_duration: provider.new_work_duration_metric(name),
            unfinished_work_seconds: provider.new_unfinished_work_seconds_metric(name),
            longest_running_processor: provider.new_longest_running_processor_seconds_metric(name),
            retries: provider.new_retries_metric(name),
        }
    }

    /// An item became dirty. `added_at` is its slot for the add timestamp; only
    /// the first add since the last `get` counts for latency.
    pub(crate) fn add(&self, added_at: &mut Option<Instant>) {
        self.adds.inc();
        self.depth.inc();
        if added_at.is_none() {
            *added_at = Some(Instant::now());
        }
    }

    /// An item was handed to a worker.
    pub(crate) fn get(&self, added_at: &mut Option<Instant>, started_at: &mut Option<Instant>) {
        self.depth.dec();
        let now = Instant::now();
        *started_at = Some(now);
        if let Some(added) = added_at.take() {
            self.latency
                .observe(now.saturating_duration_since(added).as_secs_f64());
        }
    }

    /// A worker finished an item.
    pub(crate) fn done(&self, started_at: &mut Option<Instant>) {
        if let Some(started) = started_at.take() {
            self.work_duration.observe(started.elapsed().as_secs_f64());
        }
    }

    /// Publishes the in-flight totals, given the start times of in-flight items.
    pub(crate) fn update_unfinished_work(&self, started: impl Iterator<Item = Instant>) {
        let now = Instant::now();
        let mut total = 0.0;
        let mut oldest = 0.0_f64;
        for start in started {
            let secs = now.saturating_duration_since(start).as_secs_f64();
            total += secs;
            oldest = oldest.max(secs);
        }
        self.unfinished_work_seconds.set(total);
        self.longest_running_processor.set(oldest);
    }

    /// A delayed or rate-limited add.
    pub(crate) fn retry(&self) {
        self.retries.inc();
    }
}

#[cfg(feature = "metrics")]
pub use metrics_crate::MetricsCrateProvider;

#[cfg(feature = "metrics")]
mod metrics_crate {
    use std::sync::Arc;

    use super::{
        CounterMetric, GaugeMetric, HistogramMetric, MetricsProvider, SettableGaugeMetric,
    };

    /// Reports workqueue metrics through the `metrics` crate facade, with
    /// client-go's metric names and a `name` label holding the queue's name.
    ///
    /// Install any `metrics` recorder (e.g. `metrics-exporter-prometheus`)
    /// before building queues; handles are resolved once per queue.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct MetricsCrateProvider;

    struct Gauge(metrics::Gauge);
    struct Counter(metrics::Counter);
    struct Histogram(metrics::Histogram);

    impl GaugeMetric for Gauge {
        fn inc(&self) {
            self.0.increment(1.0);
        }
        fn dec(&self) {
            self.0.decrement(1.0);
        }
    }
    impl SettableGaugeMetric for Gauge {
        fn set(&self, value: f64) {
            self.0.set(value);
        }
    }
    impl CounterMetric for Counter {
        fn inc(&self) {
            self.0.increment(1);
        }
    }
    impl HistogramMetric for Histogram {
        fn observe(&self, value: f64) {
            self.0.record(value);
        }
    }

    fn label(name: &str) -> [(&'static str, String); 1] {
        [("name", name.to_owned())]
    }

    impl MetricsProvider for MetricsCrateProvider {
        fn new_depth_metric(&self, name: &str) -> Arc<dyn GaugeMetric> {
            Arc::new(Gauge(metrics::gauge!("workqueue_depth", &label(name))))
        }
        fn new_adds_metric(&self, name: &str) -> Arc<dyn CounterMetric> {
            Arc::new(Counter(metrics::counter!(
                "workqueue_adds_total",
                &label(name)
            )))
        }
        fn new_latency_metric(&self, name: &str) -> Arc<dyn HistogramMetric> {
            Arc::new(Histogram(metrics::histogram!(
                "workqueue_queue_duration_seconds",
                &label(name)
            )))
        }
        fn new_work_duration_metric(&self, name: &str) -> Arc<dyn HistogramMetric> {
            Arc::new(Histogram(metrics::histogram!(
                "workqueue_work_duration_seconds",
                &label(name)
            )))
        }
        fn new_unfinished_work_seconds_metric(&self, name: &str) -> Arc<dyn SettableGaugeMetric> {
            Arc::new(Gauge(metrics::gauge!(
                "workqueue_unfinished_work_seconds",
                &label(name)
            )))
        }
        fn new_longest_running_processor_seconds_metric(
            &self,
            name: &str,
        ) -> Arc<dyn SettableGaugeMetric> {
            Arc::new(Gauge(metrics::gauge!(
                "workqueue_longest_running_processor_seconds",
                &label(name)
            )))
        }
        fn new_retries_metric(&self, name: &str) -> Arc<dyn CounterMetric> {
            Arc::new(Counter(metrics::counter!(
                "workqueue_retries_total",
                &label(name)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `metrics_test.go`:
    //! - `TestMetricShutdown` -> `unfinished_work_updates_stop_at_shutdown`
    //! - `TestMetrics` -> `queue_reports_adds_depth_latency_duration_and_unfinished_work`
    //!
    //! Beyond client-go's list: `add_after_counts_retries`.
    use std::time::Duration;

    use parking_lot::Mutex;

    use super::*;
    use crate::workqueue::{DelayingQueue, Queue, QueueConfig};

    #[derive(Default)]
    struct TestMetric {
        values: Mutex<Values>,
    }

    #[derive(Default)]
    struct Values {
        inc: i64,
        dec: i64,
        set: f64,
        sets: usize,
        observed_value: f64,
        observed_count: usize,
    }

    impl TestMetric {
        fn gauge_value(&self) -> f64 {
            let v = self.values.lock();
            if v.set != 0.0 {
                v.set
            } else {
                (v.inc - v.dec) as f64
            }
        }
        fn observation(&self) -> (f64, usize) {
            let v = self.values.lock();
            (v.observed_value, v.observed_count)
        }
        fn sets(&self) -> usize {
            self.values.lock().sets
        }
    }

    impl GaugeMetric for TestMetric {
        fn inc(&self) {
            self.values.lock().inc += 1;
        }
        fn dec(&self) {
            self.values.lock().dec += 1;
        }
    }
    impl CounterMetric for TestMetric {
        fn inc(&self) {
            self.values.lock().inc += 1;
        }
    }
    impl SettableGaugeMetric for TestMetric {
        fn set(&self, value: f64) {
            let mut v = self.values.lock();
            v.set = value;
            v.sets += 1;
        }
    }
    impl HistogramMetric for TestMetric {
        fn observe(&self, value: f64) {
            let mut v = self.values.lock();
            v.observed_value = value;
            v.observed_count += 1;
        }
    }

    #[derive(Default)]
    struct TestProvider {
        depth: Arc<TestMetric>,
        adds: Arc<TestMetric>,
        latency: Arc<TestMetric>,
        duration: Arc<TestMetric>,
        unfinished: Arc<TestMetric>,
        longest: Arc<TestMetric>,
        retries: Arc<TestMetric>,
    }

    impl MetricsProvider for TestProvider {
        fn new_depth_metric(&self, _: &str) -> Arc<dyn GaugeMetric> {
            self.depth.clone()
        }
        fn new_adds_metric(&self, _: &str) -> Arc<dyn CounterMetric> {
            self.adds.clone()
        }
        fn new_latency_metric(&self, _: &str) -> Arc<dyn HistogramMetric> {
            self.latency.clone()
        }
        fn new_work_duration_metric(&self, _: &str) -> Arc<dyn HistogramMetric> {
            self.duration.clone()
        }
        fn new_unfinished_work_seconds_metric(&self, _: &str) -> Arc<dyn SettableGaugeMetric> {
            self.unfinished.clone()
        }
        fn new_longest_running_processor_seconds_metric(
            &self,
            _: &str,
        ) -> Arc<dyn SettableGaugeMetric> {
            self.longest.clone()
        }
        fn new_retries_metric(&self, _: &str) -> Arc<dyn CounterMetric> {
            self.retries.clone()
        }
    }

    fn config(provider: &Arc<TestProvider>, period: Duration) -> QueueConfig {
        QueueConfig::new("test")
            .with_metrics_provider(provider.clone())
            .with_unfinished_work_update_period(period)
    }

    /// Lets the unfinished-work task run until it has published `n` updates.
    async fn wait_for_updates(metric: &TestMetric, n: usize) {
        for _ in 0..100 {
            if metric.sets() >= n {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!(
            "expected {n} unfinished-work updates, saw {}",
            metric.sets()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unfinished_work_updates_stop_at_shutdown() {
        let provider = Arc::new(TestProvider::default());
        let queue: Queue<&str> = Queue::with_config(config(&provider, Duration::from_millis(1)));
        tokio::time::advance(Duration::from_millis(1)).await;
        wait_for_updates(&provider.unfinished, 1).await;
        queue.shut_down();
        let before = provider.unfinished.sets();
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            provider.unfinished.sets(),
            before,
            "no update after shutdown"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn queue_reports_adds_depth_latency_duration_and_unfinished_work() {
        let provider = Arc::new(TestProvider::default());
        let queue: Queue<&str> = Queue::with_config(config(&provider, Duration::from_millis(1)));

        queue.add("foo");
        assert_eq!(provider.adds.gauge_value(), 1.0);
        assert_eq!(provider.depth.gauge_value(), 1.0);

        tokio::time::advance(Duration::from_micros(50)).await;
        let item = queue.get().await.unwrap();
        assert_eq!(item, "foo");
        assert_eq!(provider.latency.observation(), (5e-05, 1));

        // Re-adds while processing are deduplicated to one.
        for _ in 0..5 {
            queue.add(item);
        }
        assert_eq!(provider.adds.gauge_value(), 2.0);
        assert_eq!(
            provider.depth.gauge_value(),
            1.0,
            "one thing remains queued"
        );

        tokio::time::advance(Duration::from_micros(25)).await;
        queue.done(&item);
        assert_eq!(provider.duration.observation(), (2.5e-05, 1));
        assert_eq!(provider.depth.gauge_value(), 1.0);

        let item = queue.get().await.unwrap();
        assert_eq!(item, "foo");
        assert_eq!(provider.latency.observation(), (2.5e-05, 2));

        let seen = provider.unfinished.sets();
        tokio::time::advance(Duration::from_millis(1)).await;
        wait_for_updates(&provider.unfinished, seen + 1).await;
        assert_eq!(provider.unfinished.gauge_value(), 0.001);
        assert_eq!(provider.longest.gauge_value(), 0.001);

        queue.done(&item);
        assert_eq!(provider.duration.observation(), (0.001, 2));
        queue.shut_down();
    }

    #[tokio::test(start_paused = true)]
    async fn add_after_counts_retries() {
        let provider = Arc::new(TestProvider::default());
        let queue: DelayingQueue<&str> =
            DelayingQueue::with_config(config(&provider, Duration::from_secs(1)));
        queue.add_after("a", Duration::from_millis(5));
        queue.add_after("b", Duration::ZERO);
        assert_eq!(provider.retries.gauge_value(), 2.0);
        queue.shut_down();
        queue.add_after("c", Duration::from_millis(5));
        assert_eq!(provider.retries.gauge_value(), 2.0, "not after shutdown");
    }
}

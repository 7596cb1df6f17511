use std::collections::HashMap;
use std::collections::HashSet;
use std::hash::Hash;
use std::time::Duration;

use tokio::time::Instant;

use super::event::event_name;
use kubegen_api::core::v1::{Event, ObjectReference};
use kubegen_core::CompactString;
use kubegen_core::meta::Time;

/// Entries per cache before the least recently used one is dropped.
pub const MAX_LRU_CACHE_ENTRIES: usize = 4096;
/// Distinct messages of similar events before they are aggregated.
pub const DEFAULT_AGGREGATE_MAX_EVENTS: usize = 10;
/// Window in which similar events count towards aggregation.
pub const DEFAULT_AGGREGATE_INTERVAL: Duration = Duration::from_secs(600);
/// Spam filter burst per source + object.
pub const DEFAULT_SPAM_BURST: u32 = 25;
/// Spam filter refill rate per source + object: one event per 5 minutes.
pub const DEFAULT_SPAM_QPS: f64 = 1.0 / 300.0;

/// Prefix of aggregated events' messages.
pub const AGGREGATED_MESSAGE_PREFIX: &str = "(combined from similar events): ";

/// Knobs of an [`EventCorrelator`] (client-go's `CorrelatorOptions`).
#[derive(Clone, Debug)]
pub struct CorrelatorOptions {
    /// Entries per cache.
    pub lru_cache_size: usize,
    /// Distinct messages before aggregation.
    pub max_events: usize,
    /// Aggregation window.
    pub max_interval: Duration,
    /// Spam filter burst.
    pub burst_size: u32,
    /// Spam filter refill rate in events per second.
    pub qps: f64,
}

impl Default for CorrelatorOptions {
    fn default() -> Self {
        CorrelatorOptions {
            lru_cache_size: MAX_LRU_CACHE_ENTRIES,
            max_events: DEFAULT_AGGREGATE_MAX_EVENTS,
            max_interval: DEFAULT_AGGREGATE_INTERVAL,
            burst_size: DEFAULT_SPAM_BURST,
            qps: DEFAULT_SPAM_QPS,
        }
    }
}

/// What to do with a recorded event.
#[derive(Clone, Debug, PartialEq)]
pub struct Correlated {
    /// The event to write (possibly aggregated, with count and name of an
    /// earlier occurrence).
    pub event: Event,
    /// A merge patch for the existing event, when this repeats one.
    pub patch: Option<serde_json::Value>,
    /// True when the spam filter dropped the event: write nothing.
    pub skip: bool,
    /// The cache key to pass to [`EventCorrelator::update_state`].
    pub key: String,
}

/// Correlates events. Owned by the one task that
/// writes events, so it needs no lock.
///
/// Event correlation, as client-go's `tools/record/events_cache.go`: what turns
/// a stream of recorded events into few API writes.
///
/// [`EventCorrelator::correlate`] runs three steps on each new event:
///
/// 1. **Aggregate.** Events that differ only in their message (same source,
///    object, type and reason) are counted per 10-minute window; from the 10th
///    distinct message on, they become one event whose message is
///    `(combined from similar events): <latest message>`.
/// 2. **Observe.** An event identical to one written before (same key, which
///    includes the message) is not created again: it takes the earlier event's
///    name and first timestamp, its count becomes the previous count + 1, and
///    the correlator returns a merge patch of `count`, `lastTimestamp` and
///    `message` to send instead of a create.
/// 3. **Spam filter.** A token bucket per source + involved object (burst 25,
///    one token per 5 minutes) drops events beyond the rate.
///
/// After the server accepted a create or patch, [`EventCorrelator::update_state`]
/// records the server's name and resourceVersion for the next patch. Caches are
/// bounded (4096 entries each, least recently used out first).
#[derive(Debug)]
pub struct EventCorrelator {
    options: CorrelatorOptions,
    aggregates: LruCache<String, AggregateRecord>,
    observations: LruCache<String, Observation>,
    spam: LruCache<String, TokenBucket>,
}

#[derive(Debug)]
struct AggregateRecord {
    messages: HashSet<String>,
    last: Instant,
}

#[derive(Debug, Clone)]
struct Observation {
    count: i32,
    first_timestamp: Option<Time>,
    name: Option<CompactString>,
    resource_version: Option<CompactString>,
}

impl Default for EventCorrelator {
    fn default() -> Self {
        Self::new(CorrelatorOptions::default())
    }
}

impl EventCorrelator {
    /// A correlator with `options`.
    pub fn new(options: CorrelatorOptions) -> Self {
        let size = options.lru_cache_size.max(1);
        EventCorrelator {
            aggregates: LruCache::new(size),
            observations: LruCache::new(size),
            spam: LruCache::new(size),
            options,
        }
    }

    /// Decides how to write `event`; see [`EventCorrelator`].
    pub fn correlate(&mut self, event: Event) -> Correlated {
        let now = Instant::now();
        let (event, key) = self.aggregate(event, now);
        let (event, patch) = self.observe(event, &key);
        let skip = !self.allow(&event, now);
        Correlated {
            event,
            patch,
            skip,
            key,
        }
    }

    /// Remembers the server's copy of an event written under `key`, so the
    /// next repeat patches it.
    pub fn update_state(&mut self, key: &str, written: &Event) {
        self.observations.put(
            key.to_owned(),
            Observation {
                count: written.count.unwrap_or(1),
                first_timestamp: written.first_timestamp,
                name: written.metadata.name.clone(),
                resource_version: written.metadata.resource_version.clone(),
            },
        );
    }

    fn aggregate(&mut self, event: Event, now: Instant) -> (Event, String) {
        let aggregate_key = aggregate_key(&event);
        let message = event.message.as_deref().unwrap_or_default().to_owned();
        let max_interval = self.options.max_interval;
        let record = self
            .aggregates
            .get_or_insert_with(aggregate_key.clone(), || AggregateRecord {
                messages: HashSet::new(),
                last: now,
            });
        if now.saturating_duration_since(record.last) > max_interval {
            record.messages.clear();
        }
        record.messages.insert(message);
        record.last = now;
        if record.messages.len() < self.options.max_events {
            let key = event_key(&event);
            return (event, key);
        }
        // Keep the set from growing past the limit.
        if let Some(any) = record.messages.iter().next().cloned() {
            record.messages.remove(&any);
        }
        let wall = Time::now();
        let name = event_name(event.involved_object.name.as_deref().unwrap_or_default());
        let mut aggregated = Event {
            count: Some(1),
            first_timestamp: Some(wall),
            last_timestamp: Some(wall),
            involved_object: event.involved_object.clone(),
            message: Some(kubegen_core::format_compact!(
                "{AGGREGATED_MESSAGE_PREFIX}{}",
                event.message.as_deref().unwrap_or_default()
            )),
            type_: event.type_.clone(),
            reason: event.reason.clone(),
            source: event.source.clone(),
            reporting_component: event.reporting_component.clone(),
            reporting_instance: event.reporting_instance.clone(),
            ..Event::default()
        };
        aggregated.metadata.name = Some(name);
        aggregated.metadata.namespace = event.metadata.namespace.clone();
        (aggregated, aggregate_key)
    }

    fn observe(&mut self, mut event: Event, key: &str) -> (Event, Option<serde_json::Value>) {
        let mut patch = None;
        if let Some(last) = self.observations.get(key).cloned() {
            event.metadata.name = last.name;
            event.metadata.resource_version = last.resource_version;
            event.first_timestamp = last.first_timestamp;
            event.count = Some(last.count.saturating_add(1));
            patch = Some(serde_json::json!({
                "count": event.count,
                "lastTimestamp": event.last_timestamp,
                "message": event.message,
            }));
        }
        self.observations.put(
            key.to_owned(),
            Observation {
                count: event.count.unwrap_or(1),
                first_timestamp: event.first_timestamp,
                name: event.metadata.name.clone(),
                resource_version: event.metadata.resource_version.clone(),
            },
        );
        (event, patch)
    }

    fn allow(&mut self, event: &Event, now: Instant) -> bool {
        let (burst, qps) = (self.options.burst_size, self.options.qps);
        self.spam
            .get_or_insert_with(spam_key(event), || TokenBucket::new(burst, qps, now))
            .try_accept(now)
    }
}

fn source_parts(event: &Event) -> [&str; 2] {
    let source = event.source.as_ref();
    [
        source
            .and_then(|s| s.component.as_deref())
            .unwrap_or_default(),
        source.and_then(|s| s.host.as_deref()).unwrap_or_default(),
    ]
}

pub(crate) fn object_parts(object: &ObjectReference) -> [&str; 5] {
    [
        object.kind.as_deref().unwrap_or_default(),
        object.namespace.as_deref().unwrap_or_default(),
        object.name.as_deref().unwrap_or_default(),
        object.uid.as_deref().unwrap_or_default(),
        object.api_version.as_deref().unwrap_or_default(),
    ]
}

/// Identical events share this key (client-go's `getEventKey`); parts are
/// joined with a NUL so that different splits cannot collide.
pub(crate) fn event_key(event: &Event) -> String {
    let o = &event.involved_object;
    let [component, host] = source_parts(event);
    [
        component,
        host,
        o.kind.as_deref().unwrap_or_default(),
        o.namespace.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default(),
        o.field_path.as_deref().unwrap_or_default(),
        o.uid.as_deref().unwrap_or_default(),
        o.api_version.as_deref().unwrap_or_default(),
        event.type_.as_deref().unwrap_or_default(),
        event.reason.as_deref().unwrap_or_default(),
        event.message.as_deref().unwrap_or_default(),
    ]
    .join("\0")
}

/// Similar events (any message) share this key (client-go's `EventAggregatorByReasonFunc`).
fn aggregate_key(event: &Event) -> String {
    let mut parts: Vec<&str> = source_parts(event).to_vec();
    parts.extend(object_parts(&event.involved_object));
    parts.extend([
        event.type_.as_deref().unwrap_or_default(),
        event.reason.as_deref().unwrap_or_default(),
        event.reporting_component.as_deref().unwrap_or_default(),
        event.reporting_instance.as_deref().unwrap_or_default(),
    ]);
    parts.join("\0")
}

/// Events of one source about one object share a spam bucket (client-go's `getSpamKey`).
fn spam_key(event: &Event) -> String {
    let mut parts: Vec<&str> = source_parts(event).to_vec();
    parts.extend(object_parts(&event.involved_object));
    parts.join("\0")
}

/// A passive token bucket: `try_accept` takes a token if one is there
/// (client-go's `TokenBucketPassiveRateLimiter`).
#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    burst: f64,
    qps: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(burst: u32, qps: f64, now: Instant) -> Self {
        TokenBucket {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            qps,
            last: now,
        }
    }

    fn try_accept(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A small bounded map that drops the least recently used entry when full.
#[derive(Debug)]
struct LruCache<K, V> {
    map: HashMap<K, (V, u64)>,
    capacity: usize,
    tick: u64,
}

impl<K: Eq + Hash + Clone, V> LruCache<K, V> {
    fn new(capacity: usize) -> Self {
        LruCache {
            map: HashMap::new(),
            capacity,
            tick: 0,
        }
    }

    fn touch(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let tick = self.touch();
        self.map.get_mut(key).map(|(value, used)| {
            *used = tick;
            &*value
        })
    }

    fn put(&mut self, key: K, value: V) {
        let tick = self.touch();
        if !self.map.contains_key(&key) {
            self.evict_if_full();
        }
        self.map.insert(key, (value, tick));
    }

    fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let tick = self.touch();
        if !self.map.contains_key(&key) {
            self.evict_if_full();
        }
        let entry = self.map.entry(key).or_insert_with(|| (make(), tick));
        entry.1 = tick;
        &mut entry.0
    }

    fn evict_if_full(&mut self) {
        if self.map.len() < self.capacity {
            return;
        }
        let oldest = self
            .map
            .iter()
            .min_by_key(|(_, (_, used))| *used)
            .map(|(key, _)| key.clone());
        if let Some(oldest) = oldest {
            self.map.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `events_cache_test.go`:
    //! - `TestEventAggregatorByReasonFunc` -> `aggregate_key_ignores_only_the_message`
    //! - `TestEventAggregatorByReasonMessageFunc` -> `aggregated_message_is_prefixed`
    //! - `TestEventCorrelator` cases: "create-a-single-event" ->
    //!   `a_single_event_is_created`; "the-same-event-should-just-count" ->
    //!   `the_same_event_just_counts`; "the-same-event-should-not-be-aggregated"
    //!   -> `repeats_of_one_event_are_not_aggregated`; "similar-events-should-aggregate-event"
    //!   -> `similar_events_aggregate_after_max_events`; "different-event-should-not-aggregate"
    //!   -> `different_reasons_do_not_aggregate`; "similar-events-whose-interval-is-greater-than-aggregate-interval-do-not-aggregate"
    //!   -> `aggregation_window_expires`
    //! - `TestEventSpamFilter` / `TestEventCorrelatorSpamKeyFunc` ->
    //!   `spam_filter_limits_per_source_and_object`
    //!
    //! Beyond client-go's list: `update_state_keeps_the_server_name_and_version`,
    //! `lru_cache_drops_the_least_recently_used`.
    use super::*;
    use crate::record::event::event_source;

    fn event(reason: &str, message: &str, object: &str) -> Event {
        let now = Time::now();
        let mut event = Event {
            count: Some(1),
            first_timestamp: Some(now),
            last_timestamp: Some(now),
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(object.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{object}").into()),
                ..ObjectReference::default()
            },
            message: Some(message.into()),
            reason: Some(reason.into()),
            source: Some(event_source("test")),
            type_: Some("Normal".into()),
            ..Event::default()
        };
        event.metadata.name = Some(format!("{object}.{message}").into());
        event.metadata.namespace = Some("default".into());
        event
    }

    #[test]
    fn aggregate_key_ignores_only_the_message() {
        let a = event("Started", "one", "web-0");
        let b = event("Started", "two", "web-0");
        assert_eq!(aggregate_key(&a), aggregate_key(&b));
        assert_ne!(event_key(&a), event_key(&b));
        assert_ne!(
            aggregate_key(&a),
            aggregate_key(&event("Killed", "one", "web-0"))
        );
        assert_ne!(
            aggregate_key(&a),
            aggregate_key(&event("Started", "one", "web-1"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_event_is_created() {
        let mut c = EventCorrelator::default();
        let e = event("Started", "hello", "web-0");
        let out = c.correlate(e.clone());
        assert_eq!(out.event, e);
        assert_eq!(out.patch, None);
        assert!(!out.skip);
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_event_just_counts() {
        let mut c = EventCorrelator::default();
        let first = c.correlate(event("Started", "hello", "web-0"));
        let mut written = first.event.clone();
        written.metadata.resource_version = Some("7".into());
        c.update_state(&first.key, &written);
        let mut again = event("Started", "hello", "web-0");
        again.metadata.name = Some("a-new-name".into());
        let second = c.correlate(again);
        assert_eq!(second.event.count, Some(2));
        assert_eq!(
            second.event.metadata.name, first.event.metadata.name,
            "patches the first event"
        );
        assert_eq!(second.event.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(second.event.first_timestamp, first.event.first_timestamp);
        let patch = second.patch.expect("a repeat becomes a patch");
        assert_eq!(patch["count"], 2);
        assert_eq!(patch["message"], "hello");
        assert!(patch.get("lastTimestamp").is_some());
        let third = c.correlate(event("Started", "hello", "web-0"));
        assert_eq!(third.event.count, Some(3));
    }

    #[tokio::test(start_paused = true)]
    async fn repeats_of_one_event_are_not_aggregated() {
        let mut c = EventCorrelator::default();
        for i in 1..=20 {
            let out = c.correlate(event("Started", "same", "web-0"));
            assert_eq!(out.event.count, Some(i));
            assert_eq!(out.event.message.as_deref(), Some("same"));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn similar_events_aggregate_after_max_events() {
        let mut c = EventCorrelator::default();
        for i in 0..9 {
            let out = c.correlate(event("Failed", &format!("message {i}"), "web-0"));
            assert_eq!(out.patch, None, "message {i} is new");
            assert_eq!(
                out.event.message.as_deref(),
                Some(format!("message {i}").as_str())
            );
        }
        let tenth = c.correlate(event("Failed", "message 9", "web-0"));
        assert_eq!(
            tenth.event.message.as_deref(),
            Some("(combined from similar events): message 9")
        );
        assert_eq!(tenth.patch, None, "the aggregate is created once");
        c.update_state(&tenth.key, &tenth.event);
        let eleventh = c.correlate(event("Failed", "message 10", "web-0"));
        assert_eq!(
            eleventh.event.message.as_deref(),
            Some("(combined from similar events): message 10")
        );
        assert_eq!(eleventh.event.count, Some(2), "then it counts");
        assert_eq!(eleventh.event.metadata.name, tenth.event.metadata.name);
        assert!(eleventh.patch.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn aggregated_message_is_prefixed() {
        let mut c = EventCorrelator::new(CorrelatorOptions {
            max_events: 2,
            ..CorrelatorOptions::default()
        });
        c.correlate(event("Failed", "a", "web-0"));
        let out = c.correlate(event("Failed", "b", "web-0"));
        assert_eq!(
            out.event.message.as_deref(),
            Some("(combined from similar events): b")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn different_reasons_do_not_aggregate() {
        let mut c = EventCorrelator::default();
        for i in 0..20 {
            let out = c.correlate(event(&format!("Reason{i}"), "message", "web-0"));
            assert_eq!(out.event.message.as_deref(), Some("message"));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn aggregation_window_expires() {
        let mut c = EventCorrelator::default();
        for i in 0..9 {
            c.correlate(event("Failed", &format!("message {i}"), "web-0"));
        }
        tokio::time::advance(DEFAULT_AGGREGATE_INTERVAL + Duration::from_secs(1)).await;
        let out = c.correlate(event("Failed", "message 9", "web-0"));
        assert_eq!(
            out.event.message.as_deref(),
            Some("message 9"),
            "the window restarted"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn spam_filter_limits_per_source_and_object() {
        let mut c = EventCorrelator::default();
        for i in 0..25 {
            let out = c.correlate(event(&format!("R{i}"), "m", "web-0"));
            assert!(!out.skip, "event {i} is within the burst");
        }
        assert!(
            c.correlate(event("R25", "m", "web-0")).skip,
            "the 26th is spam"
        );
        assert!(
            !c.correlate(event("R0", "m", "web-1")).skip,
            "another object has its own bucket"
        );
        tokio::time::advance(Duration::from_secs(300)).await;
        assert!(
            !c.correlate(event("R26", "m", "web-0")).skip,
            "one token per 5 minutes"
        );
        assert!(c.correlate(event("R27", "m", "web-0")).skip);
    }

    #[tokio::test(start_paused = true)]
    async fn update_state_keeps_the_server_name_and_version() {
        let mut c = EventCorrelator::default();
        let first = c.correlate(event("Started", "hello", "web-0"));
        let mut written = first.event.clone();
        written.metadata.name = Some("server-name".into());
        written.metadata.resource_version = Some("99".into());
        c.update_state(&first.key, &written);
        let again = c.correlate(event("Started", "hello", "web-0"));
        assert_eq!(again.event.metadata.name.as_deref(), Some("server-name"));
        assert_eq!(again.event.metadata.resource_version.as_deref(), Some("99"));
    }

    #[test]
    fn lru_cache_drops_the_least_recently_used() {
        let mut cache = LruCache::new(2);
        cache.put("a", 1);
        cache.put("b", 2);
        assert_eq!(cache.get(&"a"), Some(&1));
        cache.put("c", 3);
        assert_eq!(cache.get(&"b"), None, "b was least recently used");
        assert_eq!(cache.get(&"a"), Some(&1));
        assert_eq!(cache.get(&"c"), Some(&3));
    }
}

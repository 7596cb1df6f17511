use std::time::Duration;

use kubegen_api::core::v1::ObjectReference;
use kubegen_api::events::v1::Event;
use kubegen_core::CompactString;
use kubegen_core::meta::{MicroTime, ObjectMeta};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::series::{SERIES_FINISH_TIME, SERIES_REFRESH_INTERVAL, SeriesCache};
use crate::record::EventSink;
use crate::record::broadcast::{
    Fanout, MAX_TRIES_PER_EVENT, Outcome, RETRY_SLEEP, outcome, patch_or_create, write_with_retries,
};
use crate::record::event::{event_name, valid_event_type};

/// The longest note the API server accepts, in bytes; longer notes are cut
/// to it (at a character boundary) rather than have the event rejected.
pub const MAX_NOTE_BYTES: usize = 1024;

/// Fans events.k8s.io/v1 events out to watchers and writes them to a sink
/// (client-go's `events.EventBroadcaster`). Clones share one broadcaster.
///
/// Recording never blocks: each watcher has a bounded queue (1000 events)
/// and an event that finds it full is dropped with a log, as with
/// [`record::EventBroadcaster`](crate::record::EventBroadcaster). The sink
/// writer turns repeats into series (see the [module docs](super)); errors
/// the server answered are logged and not retried, failures to reach it are
/// retried up to 12 times, 10 s apart (the first wait randomised).
/// [`EventBroadcaster::shutdown`] stops accepting events and waits until the
/// queues are written out.
#[derive(Clone, Debug, Default)]
pub struct EventBroadcaster {
    fanout: Fanout<Event>,
}

impl EventBroadcaster {
    /// A broadcaster with no watchers yet.
    pub fn new() -> Self {
        EventBroadcaster::default()
    }

    /// A recorder that reports as `reporting_controller` (a qualified name,
    /// e.g. `example.com/foo-controller`) and `reporting_instance` (which
    /// replica: client-go uses `<controller>-<hostname>`; at most 128 bytes).
    pub fn new_recorder(
        &self,
        reporting_controller: impl Into<CompactString>,
        reporting_instance: impl Into<CompactString>,
    ) -> EventRecorder {
        EventRecorder {
            fanout: self.fanout.clone(),
            reporting_controller: reporting_controller.into(),
            reporting_instance: reporting_instance.into(),
        }
    }

    /// Writes every event to `sink` (usually a
    /// [`ClientEventSink`](crate::record::ClientEventSink)), repeats as
    /// series. Call it once, inside a Tokio runtime (it spawns the writer).
    pub fn start_recording_to_sink(&self, sink: impl EventSink<Event>) {
        self.fanout
            .start_watcher(move |events| write_to_sink(sink, events));
    }

    /// Calls `handler` with every recorded event, in order, on a task of its own.
    pub fn start_event_watcher(&self, handler: impl Fn(&Event) + Send + Sync + 'static) {
        self.fanout.start_event_watcher(handler);
    }

    /// Stops accepting events, then waits until every watcher has handled
    /// what was queued (the sink writer including its retries). Counts of
    /// running series not yet written are not flushed, as in client-go.
    pub async fn shutdown(&self) {
        self.fanout.shutdown().await;
    }
}

/// Records events.k8s.io/v1 events on behalf of one controller (client-go's
/// `events.EventRecorder`). Cheap to clone; never blocks.
#[derive(Clone, Debug)]
pub struct EventRecorder {
    fanout: Fanout<Event>,
    reporting_controller: CompactString,
    reporting_instance: CompactString,
}

impl EventRecorder {
    /// Records that `action` was taken on (or failed for) `regarding`, with
    /// `related` as a secondary object if any. `type_` must be `Normal` or
    /// `Warning` (anything else is logged and dropped, as client-go does);
    /// `reason` is a short UpperCamelCase word; `note` is for humans, cut to
    /// [`MAX_NOTE_BYTES`].
    pub fn eventf(
        &self,
        regarding: &ObjectReference,
        related: Option<&ObjectReference>,
        type_: &str,
        reason: &str,
        action: &str,
        note: &str,
    ) {
        if !valid_event_type(type_, reason) {
            return;
        }
        let note = &note[..note.floor_char_boundary(MAX_NOTE_BYTES)];
        // Events about cluster-scoped objects live in `default`, as in client-go.
        let namespace = regarding
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "default".into());
        let event = Event {
            action: Some(action.into()),
            api_version: None,
            deprecated_count: None,
            deprecated_first_timestamp: None,
            deprecated_last_timestamp: None,
            deprecated_source: None,
            event_time: MicroTime::now(),
            kind: None,
            metadata: ObjectMeta {
                name: Some(event_name(regarding.name.as_deref().unwrap_or_default())),
                namespace: Some(namespace),
                ..ObjectMeta::default()
            },
            note: Some(note.into()),
            reason: Some(reason.into()),
            regarding: Some(regarding.clone()),
            related: related.cloned(),
            reporting_controller: Some(self.reporting_controller.clone()),
            reporting_instance: Some(self.reporting_instance.clone()),
            series: None,
            type_: Some(type_.into()),
        };
        self.fanout.distribute(event, reason);
    }
}

/// The sink writer: writes what the series cache says, and on its timers
/// refreshes running series and finishes ended ones.
async fn write_to_sink(sink: impl EventSink<Event>, mut events: mpsc::Receiver<Event>) {
    let mut cache = SeriesCache::default();
    let mut refresh = every(SERIES_REFRESH_INTERVAL);
    let mut finish = every(SERIES_FINISH_TIME);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return };
                let Some(event) = cache.observe(event, MicroTime::now()) else {
                    continue;
                };
                let reason = event.reason.as_deref().unwrap_or_default();
                write_with_retries(MAX_TRIES_PER_EVENT, RETRY_SLEEP, reason, || {
                    write_event(&sink, &event)
                })
                .await;
            }
            _ = refresh.tick() => {
                // One attempt each: the next refresh tries again.
                for (key, event) in cache.running() {
                    if let Outcome::Written(written) = write_event(&sink, &event).await {
                        cache.store(key, *written);
                    }
                }
            }
            _ = finish.tick() => {
                for (key, event) in cache.take_finished(jiff::Timestamp::now()) {
                    if let Outcome::Retry = write_event(&sink, &event).await {
                        cache.store(key, event);
                    }
                }
            }
        }
    }
}

/// A timer firing every `period`, first after one period; late ticks are
/// not bunched up.
fn every(period: Duration) -> Interval {
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// Creates a new event; a series is a merge patch of `series` onto the
/// event first written (which is created if the server no longer has it).
async fn write_event(sink: &impl EventSink<Event>, event: &Event) -> Outcome<Event> {
    let patch = event
        .series
        .as_ref()
        .map(|series| serde_json::json!({ "series": series }));
    // A series' create can race with another writer's create of the same
    // event: retried, it becomes a patch.
    outcome(
        patch_or_create(sink, event, patch.as_ref()).await,
        patch.is_some(),
    )
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `event_broadcaster_test.go` and
    //! `eventseries_test.go`:
    //! - `TestEventSeriesf` -> `repeat_is_a_series_patch_then_counts_until_refresh`
    //!   (create, then a patch with series count 2; the 3rd repeat is written
    //!   by the 30-minute refresh as count 3)
    //! - `TestEventSeriesWithEventSinkImplRace` / a vanished event ->
    //!   `series_of_a_vanished_event_is_created_again`
    //! - `TestRecordEventToSink` (different reason) + `ValidateEventType` ->
    //!   `distinct_events_are_created_invalid_types_dropped`
    //! - note length -> `long_notes_are_cut_at_a_character_boundary`
    use super::*;
    use crate::record::broadcast::testing::{FakeSink, pod};

    fn setup() -> (EventBroadcaster, EventRecorder, FakeSink<Event>) {
        let sink = FakeSink::default();
        let broadcaster = EventBroadcaster::new();
        broadcaster.start_recording_to_sink(sink.clone());
        let recorder = broadcaster.new_recorder("example.com/test", "test-1");
        (broadcaster, recorder, sink)
    }

    fn counts(sink: &FakeSink<Event>) -> Vec<Option<i32>> {
        let stored = sink.stored.lock();
        stored
            .iter()
            .map(|e| e.series.as_ref().map(|s| s.count))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn repeat_is_a_series_patch_then_counts_until_refresh() {
        let (broadcaster, recorder, sink) = setup();
        for _ in 0..3 {
            recorder.eventf(&pod(), None, "Warning", "Failed", "Pull", "pull failed");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(*sink.calls.lock(), ["create", "patch"]);
        assert_eq!(counts(&sink), [Some(2)], "one Event, its series at 2");
        let stored = sink.stored.lock()[0].clone();
        assert_eq!(stored.metadata.namespace.as_deref(), Some("prod"));
        assert!(
            stored
                .metadata
                .name
                .as_deref()
                .unwrap()
                .starts_with("web-0.")
        );
        assert_eq!(stored.regarding, Some(pod()));
        assert_eq!(stored.action.as_deref(), Some("Pull"));
        assert_eq!(
            stored.reporting_controller.as_deref(),
            Some("example.com/test")
        );
        assert_eq!(stored.reporting_instance.as_deref(), Some("test-1"));

        tokio::time::sleep(SERIES_REFRESH_INTERVAL).await;
        assert_eq!(*sink.calls.lock(), ["create", "patch", "patch"]);
        assert_eq!(counts(&sink), [Some(3)], "the refresh wrote the count");
        broadcaster.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn series_of_a_vanished_event_is_created_again() {
        let (broadcaster, recorder, sink) = setup();
        recorder.eventf(&pod(), None, "Normal", "Synced", "Sync", "ok");
        tokio::time::sleep(Duration::from_millis(10)).await;
        sink.stored.lock().clear(); // the server dropped it (TTL)
        recorder.eventf(&pod(), None, "Normal", "Synced", "Sync", "ok");
        broadcaster.shutdown().await;
        assert_eq!(*sink.calls.lock(), ["create", "patch", "create"]);
        assert_eq!(counts(&sink), [Some(2)], "created with its series");
    }

    #[tokio::test(start_paused = true)]
    async fn distinct_events_are_created_invalid_types_dropped() {
        let (broadcaster, recorder, sink) = setup();
        recorder.eventf(&pod(), None, "Normal", "Synced", "Sync", "ok");
        recorder.eventf(&pod(), None, "Normal", "Deleted", "Sync", "ok");
        recorder.eventf(&pod(), Some(&pod()), "Normal", "Synced", "Sync", "ok");
        recorder.eventf(&pod(), None, "Fatal", "Boom", "Sync", "not a valid type");
        broadcaster.shutdown().await;
        assert_eq!(*sink.calls.lock(), ["create", "create", "create"]);
        assert_eq!(counts(&sink), [None, None, None]);
    }

    #[tokio::test(start_paused = true)]
    async fn long_notes_are_cut_at_a_character_boundary() {
        let (broadcaster, recorder, sink) = setup();
        // 'é' is two bytes: 1023 ASCII bytes then 'é' would end at byte 1025.
        let note = format!("{}é and more", "x".repeat(MAX_NOTE_BYTES - 1));
        recorder.eventf(&pod(), None, "Normal", "Long", "Sync", &note);
        broadcaster.shutdown().await;
        let stored = sink.stored.lock()[0].note.clone().unwrap();
        assert_eq!(stored.len(), MAX_NOTE_BYTES - 1);
        assert!(note.starts_with(stored.as_str()));
    }
}

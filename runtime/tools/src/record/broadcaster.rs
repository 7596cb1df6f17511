use std::future::Future;
use std::time::Duration;

use super::broadcast::{
    Fanout, MAX_TRIES_PER_EVENT, RETRY_SLEEP, outcome, patch_or_create, write_with_retries,
};
use super::event::{event_name, object_reference, valid_event_type};
use super::events_cache::{CorrelatorOptions, EventCorrelator};
use kubegen_api::core::v1::{Event, EventSource, ObjectReference};
use kubegen_client::{Client, Patch, RestClient};
use kubegen_core::error::{Error, Result};
use kubegen_core::meta::Time;
use kubegen_core::options::{CreateOptions, PatchOptions};
use kubegen_core::resource::{Object, Resource};
use kubegen_core::verbs;

/// Where the sink writer writes events (client-go's `EventSink`): core/v1
/// `Event`s by default, events.k8s.io/v1 ones for [`crate::events`].
pub trait EventSink<E = Event>: Send + Sync + 'static {
    /// Creates `event` in its namespace.
    fn create(&self, event: &E) -> impl Future<Output = Result<E>> + Send;
    /// Applies a merge `patch` to the existing `event` (same name and namespace).
    fn patch(&self, event: &E, patch: &serde_json::Value)
    -> impl Future<Output = Result<E>> + Send;
}

/// Writes Events (core/v1 or events.k8s.io/v1) through the API server.
#[derive(Clone, Debug)]
pub struct ClientEventSink {
    rest: RestClient,
}

impl ClientEventSink {
    /// A sink writing through `rest`.
    pub fn new(rest: RestClient) -> Self {
        ClientEventSink { rest }
    }

    fn client<E: Object + Resource>(&self, event: &E) -> Client<E> {
        let namespace = event.metadata().namespace.as_deref().unwrap_or("default");
        Client::namespaced(self.rest.clone(), namespace)
    }
}

impl<E> EventSink<E> for ClientEventSink
where
    E: Object + Resource + verbs::Create + verbs::Patch,
{
    async fn create(&self, event: &E) -> Result<E> {
        self.client(event)
            .create(event, &CreateOptions::default())
            .await
    }

    async fn patch(&self, event: &E, patch: &serde_json::Value) -> Result<E> {
        let name =
            event.metadata().name.as_deref().ok_or_else(|| {
                Error::InvalidRequest("patching an event without a name".to_owned())
            })?;
        self.client(event)
            .patch(name, &Patch::Merge(patch), &PatchOptions::default())
            .await
    }
}

/// How the sink writer retries (client-go's `maxTriesPerEvent` and `sleepDuration`).
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// Correlation settings.
    pub correlator: CorrelatorOptions,
    /// Attempts per event when the server cannot be reached.
    pub max_tries: u32,
    /// Pause between attempts.
    pub retry_sleep: Duration,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            correlator: CorrelatorOptions::default(),
            max_tries: MAX_TRIES_PER_EVENT,
            retry_sleep: RETRY_SLEEP,
        }
    }
}

/// Fans events out to watchers. Clones share
/// one broadcaster.
///
/// The event broadcaster and recorder (client-go's `tools/record/event.go`).
///
/// An [`EventBroadcaster`] fans recorded events out to its watchers: a sink
/// writer ([`EventBroadcaster::start_recording_to_sink`]), a log writer, or any
/// function. Each watcher has its own bounded queue (1000 events); when a queue
/// is full the event is dropped for that watcher, so recording never blocks a
/// controller. [`EventRecorder::event`] only builds the event and queues it.
///
/// The sink writer runs every event through an
/// [`EventCorrelator`](super::EventCorrelator) (aggregation, repeat counting,
/// spam filter), then creates the event or patches the earlier one. Errors the
/// server answered (a rejected event) are logged and not retried; failures to
/// reach it are retried up to 12 times, 10 s apart, the first wait randomised
/// so replicas do not retry in step. [`EventBroadcaster::shutdown`] stops
/// accepting events and waits until every queue is written out.
#[derive(Clone, Debug, Default)]
pub struct EventBroadcaster {
    fanout: Fanout<Event>,
}

impl EventBroadcaster {
    /// A broadcaster with no watchers yet.
    pub fn new() -> Self {
        EventBroadcaster::default()
    }

    /// A recorder that stamps events with `source`.
    pub fn new_recorder(&self, source: EventSource) -> EventRecorder {
        EventRecorder {
            broadcaster: self.clone(),
            source,
        }
    }

    /// Writes every event to `sink` with default options. Must be called
    /// inside a Tokio runtime (it spawns the writer task).
    pub fn start_recording_to_sink(&self, sink: impl EventSink) {
        self.start_recording_to_sink_with(sink, SinkOptions::default());
    }

    /// Writes every event to `sink` with `options`.
    pub fn start_recording_to_sink_with(&self, sink: impl EventSink, options: SinkOptions) {
        self.fanout.start_watcher(move |mut events| async move {
            let mut correlator = EventCorrelator::new(options.correlator.clone());
            while let Some(event) = events.recv().await {
                record_to_sink(&sink, &mut correlator, event, &options).await;
            }
        });
    }

    /// Calls `handler` with every event, in order, on a task of its own.
    pub fn start_event_watcher(&self, handler: impl Fn(&Event) + Send + Sync + 'static) {
        self.fanout.start_event_watcher(handler);
    }

    /// Logs every event with `tracing` at info level.
    pub fn start_structured_logging(&self) {
        self.start_event_watcher(|event| {
            tracing::info!(
                object = ?event.involved_object,
                r#type = event.type_.as_deref().unwrap_or_default(),
                reason = event.reason.as_deref().unwrap_or_default(),
                message = event.message.as_deref().unwrap_or_default(),
                "event occurred"
            );
        });
    }

    fn distribute(&self, event: Event) {
        let reason = event.reason.clone().unwrap_or_default();
        self.fanout.distribute(event, &reason);
    }

    /// Stops accepting events, then waits until every watcher has handled
    /// what was queued (the sink writer including its retries).
    pub async fn shutdown(&self) {
        self.fanout.shutdown().await;
    }
}

/// Records events about objects on behalf of one source (client-go's
/// `EventRecorder`). Cheap to clone; never blocks.
#[derive(Clone, Debug)]
pub struct EventRecorder {
    broadcaster: EventBroadcaster,
    source: EventSource,
}

impl EventRecorder {
    /// Records an event about `object`. `type_` must be `Normal` or `Warning`
    /// (anything else is logged and dropped, as client-go does); `reason` is a
    /// short UpperCamelCase word; `message` is for humans.
    pub fn event(&self, object: &ObjectReference, type_: &str, reason: &str, message: &str) {
        if !valid_event_type(type_, reason) {
            return;
        }
        self.broadcaster
            .distribute(self.make_event(object, type_, reason, message));
    }

    /// Records an event about a typed object (its reference is taken for you).
    pub fn event_for<K: Object + Resource>(
        &self,
        object: &K,
        type_: &str,
        reason: &str,
        message: &str,
    ) {
        self.event(&object_reference(object), type_, reason, message);
    }

    fn make_event(
        &self,
        object: &ObjectReference,
        type_: &str,
        reason: &str,
        message: &str,
    ) -> Event {
        let now = Time::now();
        let mut event = Event {
            involved_object: object.clone(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            first_timestamp: Some(now),
            last_timestamp: Some(now),
            count: Some(1),
            type_: Some(type_.into()),
            source: Some(self.source.clone()),
            reporting_component: self.source.component.clone(),
            reporting_instance: self.source.host.clone(),
            ..Event::default()
        };
        // Events about cluster-scoped objects live in `default`, as in client-go.
        let namespace = object
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "default".into());
        event.metadata.name = Some(event_name(object.name.as_deref().unwrap_or_default()));
        event.metadata.namespace = Some(namespace);
        event
    }
}

/// Correlates `event` and writes it, retrying while the server is unreachable.
async fn record_to_sink(
    sink: &impl EventSink,
    correlator: &mut EventCorrelator,
    event: Event,
    options: &SinkOptions,
) {
    let correlated = correlator.correlate(event);
    if correlated.skip {
        return;
    }
    let reason = correlated.event.reason.as_deref().unwrap_or_default();
    let write = || async {
        let result = patch_or_create(sink, &correlated.event, correlated.patch.as_ref()).await;
        outcome(result, false)
    };
    if let Some(written) =
        write_with_retries(options.max_tries, options.retry_sleep, reason, write).await
    {
        correlator.update_state(&correlated.key, &written);
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `event_test.go`:
    //! - `TestEventf` (events reach the sink with source, type, reason, count) ->
    //!   `recorded_events_reach_the_sink`
    //! - `TestMultiSinkCache` / repeat counting ->
    //!   `recording_twice_creates_then_patches`
    //! - `TestUpdateExpiredEvent` -> `patch_of_a_vanished_event_creates_it_again`
    //! - `TestWriteEventError` -> `unreachable_server_is_retried_rejections_are_not`
    //! - `ValidateEventType` -> `invalid_event_type_is_dropped`
    //! - `TestEventWatcher`-like fan-out -> `every_watcher_sees_every_event`
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::record::broadcast::testing::{FakeSink, pod};
    use crate::record::event_source;
    use kubegen_core::error::ApiError;

    fn setup() -> (EventBroadcaster, EventRecorder, FakeSink<Event>) {
        let sink = FakeSink::default();
        let broadcaster = EventBroadcaster::new();
        broadcaster.start_recording_to_sink(sink.clone());
        let recorder = broadcaster.new_recorder(event_source("test-controller"));
        (broadcaster, recorder, sink)
    }

    #[tokio::test(start_paused = true)]
    async fn recorded_events_reach_the_sink() {
        let (broadcaster, recorder, sink) = setup();
        recorder.event(&pod(), "Normal", "Started", "started web-0");
        broadcaster.shutdown().await;
        let stored = sink.stored.lock().clone();
        assert_eq!(stored.len(), 1);
        let e = &stored[0];
        assert_eq!(e.metadata.namespace.as_deref(), Some("prod"));
        assert!(e.metadata.name.as_deref().unwrap().starts_with("web-0."));
        assert_eq!(e.reason.as_deref(), Some("Started"));
        assert_eq!(e.type_.as_deref(), Some("Normal"));
        assert_eq!(e.count, Some(1));
        assert_eq!(e.source, Some(event_source("test-controller")));
        assert_eq!(e.reporting_component.as_deref(), Some("test-controller"));
        assert_eq!(e.involved_object, pod());
    }

    #[tokio::test(start_paused = true)]
    async fn recording_twice_creates_then_patches() {
        let (broadcaster, recorder, sink) = setup();
        recorder.event(&pod(), "Warning", "Failed", "pull failed");
        recorder.event(&pod(), "Warning", "Failed", "pull failed");
        broadcaster.shutdown().await;
        assert_eq!(*sink.calls.lock(), ["create", "patch"]);
        let stored = sink.stored.lock().clone();
        assert_eq!(stored.len(), 1, "one Event object");
        assert_eq!(stored[0].count, Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn patch_of_a_vanished_event_creates_it_again() {
        let (broadcaster, recorder, sink) = setup();
        recorder.event(&pod(), "Normal", "Synced", "ok");
        tokio::time::sleep(Duration::from_millis(10)).await;
        sink.stored.lock().clear(); // the server dropped it (TTL)
        recorder.event(&pod(), "Normal", "Synced", "ok");
        broadcaster.shutdown().await;
        assert_eq!(*sink.calls.lock(), ["create", "patch", "create"]);
        let stored = sink.stored.lock().clone();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].count, Some(2), "the count carries over");
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_server_is_retried_rejections_are_not() {
        let (broadcaster, recorder, sink) = setup();
        let transport = || Error::Transport {
            request: "POST events".into(),
            message: "connection refused".into(),
            source: None,
        };
        sink.fail.lock().extend([transport(), transport()]);
        recorder.event(&pod(), "Normal", "A", "first");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(*sink.calls.lock(), ["create", "create", "create"]);
        assert_eq!(sink.stored.lock().len(), 1, "written on the third try");

        sink.fail
            .lock()
            .push(Error::Api(Box::new(ApiError::from_code(
                422,
                "POST events",
                "invalid",
            ))));
        recorder.event(&pod(), "Normal", "B", "second");
        broadcaster.shutdown().await;
        assert_eq!(
            sink.calls.lock().len(),
            4,
            "a rejected event is not retried"
        );
        assert_eq!(sink.stored.lock().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_event_type_is_dropped() {
        let (broadcaster, recorder, sink) = setup();
        recorder.event(&pod(), "Fatal", "Boom", "not a valid type");
        broadcaster.shutdown().await;
        assert!(sink.calls.lock().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn every_watcher_sees_every_event() {
        let (broadcaster, recorder, sink) = setup();
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        broadcaster.start_event_watcher(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        for i in 0..5 {
            recorder.event(&pod(), "Normal", &format!("R{i}"), "m");
        }
        broadcaster.shutdown().await;
        assert_eq!(seen.load(Ordering::SeqCst), 5);
        assert_eq!(sink.stored.lock().len(), 5);
        // After shutdown events go nowhere, without error.
        recorder.event(&pod(), "Normal", "Late", "m");
        assert_eq!(sink.stored.lock().len(), 5);
    }
}

//! Recording Kubernetes Events about objects, as client-go's `tools/record`.
//!
//! A controller creates one [`EventBroadcaster`], starts writing to the API
//! server with [`EventBroadcaster::start_recording_to_sink`], and hands out
//! [`EventRecorder`]s; `recorder.event_for(&foo, "Normal", "Synced", "...")`
//! never blocks. Repeats of an identical event become a `count` update of one
//! core/v1 Event instead of new objects, many similar events are aggregated,
//! and a token bucket per source + object filters spam (see
//! [`EventCorrelator`]).
//!
//! Events are written as core/v1 `Event`s (what `kubectl describe` shows and
//! what client-go's `record` package writes), as the generated
//! `kubegen_api::core::v1::Event`.
//!
//! ```no_run
//! use kubegen_tools::record::{ClientEventSink, EventBroadcaster, ObjectReference, event_source};
//! # async fn demo(rest: kubegen_client::RestClient) {
//! let broadcaster = EventBroadcaster::new();
//! broadcaster.start_recording_to_sink(ClientEventSink::new(rest));
//! let recorder = broadcaster.new_recorder(event_source("sample-controller"));
//! let foo = ObjectReference {
//!     api_version: Some("samplecontroller.k8s.io/v1alpha1".into()),
//!     kind: Some("Foo".into()),
//!     name: Some("example-foo".into()),
//!     namespace: Some("default".into()),
//!     ..Default::default()
//! };
//! recorder.event(&foo, "Normal", "Synced", "Foo synced successfully");
//! broadcaster.shutdown().await; // flush before exiting
//! # }
//! ```

pub(crate) mod broadcast;
mod broadcaster;
pub(crate) mod event;
pub(crate) mod events_cache;

pub use broadcast::MAX_QUEUED_EVENTS;
pub use broadcaster::{ClientEventSink, EventBroadcaster, EventRecorder, EventSink, SinkOptions};
pub use event::{EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, event_source, object_reference};
pub use events_cache::{
    AGGREGATED_MESSAGE_PREFIX, Correlated, CorrelatorOptions, DEFAULT_AGGREGATE_INTERVAL,
    DEFAULT_AGGREGATE_MAX_EVENTS, DEFAULT_SPAM_BURST, DEFAULT_SPAM_QPS, EventCorrelator,
    MAX_LRU_CACHE_ENTRIES,
};
/// The generated core/v1 types the recorder writes (re-exported, not copies).
pub use kubegen_api::core::v1::{Event, EventSource, ObjectReference};

//! Recording `events.k8s.io/v1` Events, as client-go's `tools/events`: the
//! newer Event API, beside the core/v1 one of [`record`](crate::record).
//!
//! A controller creates one [`EventBroadcaster`], starts writing to the API
//! server with [`EventBroadcaster::start_recording_to_sink`], and hands out
//! [`EventRecorder`]s; `recorder.eventf(&regarding, related, type, reason,
//! action, note)` only queues the event and never blocks.
//!
//! Each event says which controller (`reportingController`) and which replica
//! of it (`reportingInstance`) took which `action` about which object
//! (`regarding`, and optionally a `related` one), at `eventTime`. Repeats are
//! not new objects: events that agree on type, action, reason, reporting
//! controller and instance, `regarding` and `related` are *isomorphic*, and
//! the first repeat turns the first event into a series, written as a patch
//! of `series: {count: 2, lastObservedTime}`. Later repeats only count in
//! memory; the counts of running series are written every 30 minutes
//! ([`SERIES_REFRESH_INTERVAL`]), and a series with no repeat for 6 minutes
//! ([`SERIES_FINISH_TIME`]) has its final count written and is forgotten, so
//! the next occurrence starts a new Event. These are client-go's rules and
//! durations.
//!
//! ```no_run
//! use kubegen_api::coordination::v1::Lease;
//! use kubegen_tools::events::{ClientEventSink, EventBroadcaster, object_reference};
//! # async fn demo(rest: kubegen_client::RestClient, lease: Lease) {
//! let broadcaster = EventBroadcaster::new();
//! broadcaster.start_recording_to_sink(ClientEventSink::new(rest));
//! let recorder = broadcaster.new_recorder("example.com/lease-keeper", "lease-keeper-0");
//! let regarding = object_reference(&lease);
//! recorder.eventf(&regarding, None, "Normal", "Renewed", "Renew", "lease renewed");
//! broadcaster.shutdown().await; // flush before exiting
//! # }
//! ```

mod broadcaster;
mod series;

pub use broadcaster::{EventBroadcaster, EventRecorder, MAX_NOTE_BYTES};
pub use series::{SERIES_FINISH_TIME, SERIES_REFRESH_INTERVAL};

/// The sink and helpers both recorders share, re-exported from [`record`](crate::record).
pub use crate::record::{
    ClientEventSink, EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, EventSink, MAX_QUEUED_EVENTS,
    object_reference,
};
/// The generated types the recorder writes (re-exported, not copies).
pub use kubegen_api::core::v1::ObjectReference;
pub use kubegen_api::events::v1::{Event, EventSeries};

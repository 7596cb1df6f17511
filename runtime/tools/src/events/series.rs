//! The broadcaster's memory of recent events (client-go's `eventCache` in
//! `tools/events/event_broadcaster.go`): which recorded event repeats an
//! earlier one, and when a series of repeats has ended.

use std::collections::HashMap;
use std::time::Duration;

use kubegen_api::core::v1::ObjectReference;
use kubegen_api::events::v1::{Event, EventSeries};
use kubegen_core::meta::MicroTime;

use crate::record::events_cache::object_parts;

/// A series with no repeat for this long has ended: its final count is
/// written and it is forgotten. A single event is forgotten this long after
/// it happened. Checked this often too (client-go's `finishTime`).
pub const SERIES_FINISH_TIME: Duration = Duration::from_secs(6 * 60);
/// How often the counts of running series are written (client-go's
/// `refreshTime`), so the server's copy does not expire while it runs.
pub const SERIES_REFRESH_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// Events recorded recently, by [`isomorphic_key`]. Owned by the one task
/// that writes events, so it needs no lock.
#[derive(Debug, Default)]
pub(crate) struct SeriesCache {
    events: HashMap<String, Event>,
}

impl SeriesCache {
    /// Takes a recorded event and says what to write now: the event itself
    /// when it is new; the earlier event with a series of count 2 when it is
    /// the first repeat; nothing for later repeats, which only count (their
    /// count is written by the refresh and when the series ends).
    pub(crate) fn observe(&mut self, event: Event, now: MicroTime) -> Option<Event> {
        let key = isomorphic_key(&event);
        let Some(earlier) = self.events.get_mut(&key) else {
            self.events.insert(key, event.clone());
            return Some(event);
        };
        match &mut earlier.series {
            Some(series) => {
                series.count = series.count.saturating_add(1);
                series.last_observed_time = now;
                None
            }
            None => {
                earlier.series = Some(EventSeries {
                    count: 2,
                    last_observed_time: now,
                });
                Some(earlier.clone())
            }
        }
    }

    /// The events with a running series, to write their counts.
    pub(crate) fn running(&self) -> Vec<(String, Event)> {
        self.events
            .iter()
            .filter(|(_, event)| event.series.is_some())
            .map(|(key, event)| (key.clone(), event.clone()))
            .collect()
    }

    /// Remembers `event` under `key` (the server's copy after a write, or an
    /// ended series whose final write must be tried again).
    pub(crate) fn store(&mut self, key: String, event: Event) {
        self.events.insert(key, event);
    }

    /// Forgets what is older than [`SERIES_FINISH_TIME`] at `now`, and
    /// returns the series among it: their final counts are to be written.
    pub(crate) fn take_finished(&mut self, now: jiff::Timestamp) -> Vec<(String, Event)> {
        let finish_time =
            jiff::SignedDuration::try_from(SERIES_FINISH_TIME).unwrap_or(jiff::SignedDuration::MAX);
        let ended = |event: &Event| {
            let last = match &event.series {
                Some(series) => series.last_observed_time,
                None => event.event_time,
            };
            now.duration_since(last.0) > finish_time
        };
        let keys: Vec<String> = self
            .events
            .iter()
            .filter(|(_, event)| ended(event))
            .map(|(key, _)| key.clone())
            .collect();
        keys.into_iter()
            .filter_map(|key| self.events.remove_entry(&key))
            .filter(|(_, event)| event.series.is_some())
            .collect()
    }
}

/// Events that agree on this key are repeats of one another (client-go's
/// `getKey`): same type, action, reason, reporting controller and instance,
/// and the same `regarding` and `related` references, every field of them.
/// Parts are joined with a NUL so that different splits cannot collide.
pub(crate) fn isomorphic_key(event: &Event) -> String {
    let mut parts = vec![
        event.type_.as_deref().unwrap_or_default(),
        event.action.as_deref().unwrap_or_default(),
        event.reason.as_deref().unwrap_or_default(),
        event.reporting_controller.as_deref().unwrap_or_default(),
        event.reporting_instance.as_deref().unwrap_or_default(),
    ];
    // No `related` is keyed as an empty reference, as client-go does.
    let empty = ObjectReference::default();
    for reference in [&event.regarding, &event.related] {
        let reference = reference.as_ref().unwrap_or(&empty);
        parts.extend(object_parts(reference));
        parts.extend([
            reference.field_path.as_deref().unwrap_or_default(),
            reference.resource_version.as_deref().unwrap_or_default(),
        ]);
    }
    parts.join("\0")
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `eventseries_test.go` and the rules of
    //! `recordToSink` / `finishSeries`:
    //! - `repeats_become_a_series_written_once`: first event written, first
    //!   repeat written as a series of 2, later repeats only counted.
    //! - `any_differing_field_is_another_event`: reason, action, related and
    //!   the regarding object's version each make a new key.
    //! - `ended_series_are_returned_and_singletons_forgotten`: after 6 quiet
    //!   minutes a series is handed back for its final write, a single event
    //!   is dropped, and a recent one stays.
    use super::*;
    use kubegen_core::meta::ObjectMeta;

    fn at(seconds: i64) -> MicroTime {
        MicroTime(jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn event(reason: &str, time: MicroTime) -> Event {
        Event {
            action: Some("Sync".into()),
            api_version: None,
            deprecated_count: None,
            deprecated_first_timestamp: None,
            deprecated_last_timestamp: None,
            deprecated_source: None,
            event_time: time,
            kind: None,
            metadata: ObjectMeta {
                name: Some(format!("web-0.{reason}").into()),
                ..ObjectMeta::default()
            },
            note: Some("note".into()),
            reason: Some(reason.into()),
            regarding: Some(ObjectReference {
                kind: Some("Pod".into()),
                name: Some("web-0".into()),
                namespace: Some("prod".into()),
                resource_version: Some("7".into()),
                ..ObjectReference::default()
            }),
            related: None,
            reporting_controller: Some("example.com/ctl".into()),
            reporting_instance: Some("ctl-1".into()),
            series: None,
            type_: Some("Normal".into()),
        }
    }

    #[test]
    fn repeats_become_a_series_written_once() {
        let mut cache = SeriesCache::default();
        let first = cache.observe(event("Synced", at(100)), at(100)).unwrap();
        assert_eq!(first.series, None);
        let repeat = cache.observe(event("Synced", at(101)), at(101)).unwrap();
        assert_eq!(
            repeat.metadata.name, first.metadata.name,
            "the first event's name"
        );
        assert_eq!(repeat.event_time, at(100), "the first event's time");
        assert_eq!(
            repeat.series,
            Some(EventSeries {
                count: 2,
                last_observed_time: at(101)
            })
        );
        assert_eq!(cache.observe(event("Synced", at(102)), at(102)), None);
        let running = cache.running();
        assert_eq!(running.len(), 1);
        assert_eq!(
            running[0].1.series,
            Some(EventSeries {
                count: 3,
                last_observed_time: at(102)
            })
        );
    }

    #[test]
    fn any_differing_field_is_another_event() {
        let base = event("Synced", at(0));
        let key = isomorphic_key(&base);
        let mut note = base.clone();
        note.note = Some("another note".into());
        note.event_time = at(5);
        assert_eq!(isomorphic_key(&note), key, "note and time do not count");
        let mut related_empty = base.clone();
        related_empty.related = Some(ObjectReference::default());
        assert_eq!(isomorphic_key(&related_empty), key);

        let mut reason = base.clone();
        reason.reason = Some("Failed".into());
        let mut action = base.clone();
        action.action = Some("Delete".into());
        let mut related = base.clone();
        related.related = base.regarding.clone();
        let mut version = base.clone();
        if let Some(r) = version.regarding.as_mut() {
            r.resource_version = Some("8".into());
        }
        for other in [reason, action, related, version] {
            assert_ne!(isomorphic_key(&other), key, "{other:?}");
        }
    }

    #[test]
    fn ended_series_are_returned_and_singletons_forgotten() {
        let mut cache = SeriesCache::default();
        cache.observe(event("Series", at(0)), at(0));
        cache.observe(event("Series", at(10)), at(10));
        cache.observe(event("Single", at(0)), at(0));
        cache.observe(event("Recent", at(300)), at(300));

        let now = at(10 + 6 * 60 + 1).0;
        let finished = cache.take_finished(now);
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0].1.reason.as_deref(), Some("Series"));
        assert_eq!(finished[0].1.series.as_ref().map(|s| s.count), Some(2));
        // Only the recent one is left: a new "Series" event starts over.
        let mut has_series = |reason| {
            let written = cache.observe(event(reason, at(400)), at(400));
            written.map(|e| e.series.is_some())
        };
        assert_eq!(has_series("Series"), Some(false));
        assert_eq!(has_series("Recent"), Some(true));
    }
}

//! What the core/v1 broadcaster ([`record`](crate::record)) and the
//! events.k8s.io/v1 one ([`events`](crate::events)) share: per-watcher bounded
//! queues, and writing one event to a sink with retries.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::EventSink;
use kubegen_core::error::{Error, Result};
use kubegen_core::resource::Object;

/// Events queued per watcher before new ones are dropped.
pub const MAX_QUEUED_EVENTS: usize = 1000;
/// Attempts per event while the server cannot be reached (client-go's `maxTriesPerEvent`).
pub(crate) const MAX_TRIES_PER_EVENT: u32 = 12;
/// Pause between attempts (client-go's `defaultSleepDuration`).
pub(crate) const RETRY_SLEEP: Duration = Duration::from_secs(10);

/// Fans events out to watchers, each on a task of its own with its own
/// bounded queue. Clones share one fan-out.
pub(crate) struct Fanout<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    /// `None` once shut down.
    watchers: Mutex<Option<Vec<mpsc::Sender<E>>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl<E> Clone for Fanout<E> {
    fn clone(&self) -> Self {
        Fanout {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E> Default for Fanout<E> {
    fn default() -> Self {
        Fanout {
            inner: Arc::new(Inner {
                watchers: Mutex::new(Some(Vec::new())),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl<E> fmt::Debug for Fanout<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let watchers = self.inner.watchers.lock().as_ref().map(Vec::len);
        f.debug_struct("Fanout")
            .field("watchers", &watchers)
            .finish()
    }
}

impl<E: Clone + Send + 'static> Fanout<E> {
    /// Spawns `run` on the receiving end of a new watcher's queue.
    pub(crate) fn start_watcher<F, Fut>(&self, run: F)
    where
        F: FnOnce(mpsc::Receiver<E>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(MAX_QUEUED_EVENTS);
        {
            let mut watchers = self.inner.watchers.lock();
            let Some(watchers) = watchers.as_mut() else {
                tracing::warn!("event watcher started after the broadcaster shut down");
                return;
            };
            watchers.push(tx);
        }
        let task = tokio::spawn(run(rx));
        self.inner.tasks.lock().push(task);
    }

    /// Calls `handler` with every event, in order, on a task of its own.
    pub(crate) fn start_event_watcher(&self, handler: impl Fn(&E) + Send + Sync + 'static) {
        self.start_watcher(move |mut events| async move {
            while let Some(event) = events.recv().await {
                handler(&event);
            }
        });
    }

    /// Queues `event` for every watcher without waiting: a full queue drops
    /// it for that watcher (`reason` names it in the log).
    pub(crate) fn distribute(&self, event: E, reason: &str) {
        let watchers = self.inner.watchers.lock();
        let Some(watchers) = watchers.as_ref() else {
            return;
        };
        for watcher in watchers {
            if watcher.try_send(event.clone()).is_err() {
                tracing::warn!(reason, "event queue full or closed: event dropped");
            }
        }
    }

    /// Stops accepting events, then waits until every watcher has handled
    /// what was queued.
    pub(crate) async fn shutdown(&self) {
        self.inner.watchers.lock().take();
        let tasks = std::mem::take(&mut *self.inner.tasks.lock());
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!("event watcher failed: {e}");
            }
        }
    }
}

/// What one attempt to write an event came to.
pub(crate) enum Outcome<E> {
    Written(Box<E>),
    GiveUp,
    Retry,
}

/// Patches `event` with `patch` (creating it when the server no longer has
/// it), or creates it when there is no patch.
pub(crate) async fn patch_or_create<E: Object>(
    sink: &impl EventSink<E>,
    event: &E,
    patch: Option<&serde_json::Value>,
) -> Result<E> {
    let Some(patch) = patch else {
        return sink.create(event).await;
    };
    match sink.patch(event, patch).await {
        // The event was deleted (or expired): write it anew.
        Err(e) if e.is_not_found() => {
            let mut event = event.clone();
            event.metadata_mut().resource_version = None;
            sink.create(&event).await
        }
        other => other,
    }
}

/// Sorts a write's result: the server's answers are final (logged), failures
/// to reach it are retried. `retry_already_exists` retries a create that
/// raced with another writer of the same event (a patch that fell back to a
/// create).
pub(crate) fn outcome<E>(result: Result<E>, retry_already_exists: bool) -> Outcome<E> {
    match result {
        Ok(written) => Outcome::Written(Box::new(written)),
        Err(e) if retry_already_exists && e.is_already_exists() => Outcome::Retry,
        Err(e @ Error::Api(_)) => {
            if !e.is_already_exists() {
                tracing::error!("server rejected event (will not retry): {e}");
            }
            Outcome::GiveUp
        }
        Err(e @ (Error::InvalidRequest(_) | Error::Encode { .. })) => {
            tracing::error!("unable to construct event (will not retry): {e}");
            Outcome::GiveUp
        }
        Err(e) => {
            tracing::warn!("unable to write event (may retry after sleeping): {e}");
            Outcome::Retry
        }
    }
}

/// Runs `write` until it succeeds or gives up, at most `max_tries` times,
/// `retry_sleep` apart; the first wait is randomised so that many clients do
/// not retry in step. `reason` names the event in the log.
pub(crate) async fn write_with_retries<E, Fut>(
    max_tries: u32,
    retry_sleep: Duration,
    reason: &str,
    mut write: impl FnMut() -> Fut,
) -> Option<E>
where
    Fut: Future<Output = Outcome<E>>,
{
    let max_tries = max_tries.max(1);
    for attempt in 1..=max_tries {
        match write().await {
            Outcome::Written(written) => return Some(*written),
            Outcome::GiveUp => return None,
            Outcome::Retry if attempt == max_tries => {
                tracing::error!(
                    reason,
                    "unable to write event after {attempt} tries: dropped"
                );
            }
            Outcome::Retry => {
                let pause = if attempt == 1 {
                    retry_sleep.mul_f64(fastrand::f64())
                } else {
                    retry_sleep
                };
                tokio::time::sleep(pause).await;
            }
        }
    }
    None
}

/// What the broadcasters' unit tests share.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use parking_lot::Mutex;

    use super::EventSink;
    use kubegen_api::core::v1::ObjectReference;
    use kubegen_core::error::{ApiError, Error, Result};
    use kubegen_core::resource::Object;

    /// An in-memory sink: stores what is created (at resourceVersion 1),
    /// merges patches into it, and logs its calls; `fail` holds errors to
    /// return before succeeding.
    pub(crate) struct FakeSink<E> {
        pub(crate) stored: Arc<Mutex<Vec<E>>>,
        pub(crate) calls: Arc<Mutex<Vec<&'static str>>>,
        pub(crate) fail: Arc<Mutex<Vec<Error>>>,
    }

    impl<E> Default for FakeSink<E> {
        fn default() -> Self {
            FakeSink {
                stored: Arc::default(),
                calls: Arc::default(),
                fail: Arc::default(),
            }
        }
    }

    impl<E> Clone for FakeSink<E> {
        fn clone(&self) -> Self {
            FakeSink {
                stored: Arc::clone(&self.stored),
                calls: Arc::clone(&self.calls),
                fail: Arc::clone(&self.fail),
            }
        }
    }

    impl<E: Object> FakeSink<E> {
        /// Logs the call; the next queued failure, if any.
        fn call(&self, verb: &'static str) -> Result<()> {
            self.calls.lock().push(verb);
            self.fail.lock().pop().map_or(Ok(()), Err)
        }
    }

    impl<E: Object> EventSink<E> for FakeSink<E> {
        async fn create(&self, event: &E) -> Result<E> {
            self.call("create")?;
            let mut stored = event.clone();
            stored.metadata_mut().resource_version = Some("1".into());
            self.stored.lock().push(stored.clone());
            Ok(stored)
        }

        async fn patch(&self, event: &E, patch: &serde_json::Value) -> Result<E> {
            self.call("patch")?;
            let mut stored = self.stored.lock();
            let name = &event.metadata().name;
            let Some(existing) = stored.iter_mut().find(|e| &e.metadata().name == name) else {
                let not_found = ApiError::from_code(404, "PATCH event", "");
                return Err(Error::Api(Box::new(not_found)));
            };
            let mut merged = serde_json::to_value(&*existing).expect("events serialize");
            json_patch::merge(&mut merged, patch);
            *existing = serde_json::from_value(merged).expect("a patched event deserializes");
            Ok(existing.clone())
        }
    }

    /// The object the tests' events are about.
    pub(crate) fn pod() -> ObjectReference {
        ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some("web-0".into()),
            namespace: Some("prod".into()),
            uid: Some("uid-1".into()),
            ..ObjectReference::default()
        }
    }
}

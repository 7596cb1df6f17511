//! Reflector: keeps a [`Store`] equal to one collection on the server
//! (client-go's `reflector.go`).
//!
//! Contract, per round of [`run`](Reflector::run):
//! 1. **Initial state.** With watch-list enabled (the default), open a watch
//!    with `sendInitialEvents=true`, `resourceVersionMatch=NotOlderThan`: the
//!    server streams the current objects as `ADDED` events into a temporary
//!    store and marks their end with a bookmark annotated
//!    `k8s.io/initial-events-end`; then the store is replaced with them and the
//!    same watch goes on. If the server rejects or cannot finish that request,
//!    the round falls back to a **paged list** (limit 500; a relist at a known
//!    resource version lists unpaged from the watch cache, as client-go does)
//!    and [`Store::replace`]; a server that rejects the parameters outright is
//!    not asked again.
//! 2. **Watch** from the list's resource version with bookmarks and a
//!    randomised server timeout in `[min_watch_timeout, 2 × min_watch_timeout)`,
//!    so many informers do not reconnect in step. Events go to the store
//!    (`ADDED` → add, `MODIFIED` → update, `DELETED` → delete); every event and
//!    bookmark advances [`last_sync_resource_version`](Reflector::last_sync_resource_version).
//!    A watch the server closes normally is reopened from there, with no
//!    relist. A watch that cannot be opened because the connection is refused
//!    or the server answers 429 is retried after a backoff, also without relist.
//! 3. **410 Gone / Expired** (the resource version was compacted) ends the
//!    round; the next round relists. If listing at the last known version is
//!    itself expired, the reflector lists at the latest state (`""`).
//! 4. Between rounds the reflector always waits (exponential backoff 800 ms →
//!    30 s with jitter, reset after 2 quiet minutes): a failing server is never
//!    hot-looped. Errors of a round go to the watch-error handler (default: a
//!    `tracing` warning).
//! 5. **Resync**: with a non-zero resync period, every period the store's
//!    [`resync`](Store::resync) is called (if `should_resync` agrees), while a
//!    watch is running.
//!
//! `run` is one explicit state machine, as kube-rs's watcher `State`: a
//! private `Phase` (initial, watch-list streaming, listing, watching,
//! backoff) that each step matches on and replaces with the next.
//!
//! Cancelling the token ends `run` promptly, including mid-request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::backoff::Backoff;
use super::listwatch::{DynListerWatcher, ListerWatcher};
use super::store::{Indexer, Store};
use kubegen_client::{WatchEvent, WatchStream};
use kubegen_core::error::{Error, Result};
use kubegen_core::options::{ListOptions, ResourceVersionMatch};
use kubegen_core::resource::Object;

/// Decides at each resync tick whether to resync (the informer asks its handlers).
pub type ShouldResyncFn = Arc<dyn Fn() -> bool + Send + Sync>;
/// Told about every error that ends a list-and-watch round.
pub type WatchErrorHandler = Arc<dyn Fn(&Error) + Send + Sync>;

/// The page size client-go's pager uses.
pub const DEFAULT_PAGE_SIZE: i64 = 500;
/// Watches last between this and twice this (client-go's `minWatchTimeout`).
pub const DEFAULT_MIN_WATCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// A watch silent for this long is restarted. The API server sends watchers
/// that ask for bookmarks one about every minute, so a live watch is never
/// this quiet.
pub const DEFAULT_WATCH_PROGRESS_DEADLINE: Duration = Duration::from_secs(90);

#[derive(Default)]
struct RvState {
    last_sync: String,
    /// The last sync version is known to be expired: relist at "" next.
    unavailable: bool,
}

/// Mirrors a collection into a [`Store`]; see the module docs.
pub struct Reflector<K> {
    name: String,
    lw: Arc<dyn DynListerWatcher<K>>,
    store: Arc<dyn Store<K>>,
    resync_period: Duration,
    page_size: i64,
    min_watch_timeout: Duration,
    progress_deadline: Duration,
    backoff: Backoff,
    use_watch_list: AtomicBool,
    paginated_result: AtomicBool,
    rv: Mutex<RvState>,
    should_resync: Option<ShouldResyncFn>,
    watch_error_handler: Option<WatchErrorHandler>,
}

/// Where a reflector's run loop is (as kube-rs's watcher `State`): `run`
/// matches on it, and each step names the next phase.
///
/// ```text
/// Initial --watch-list on--> WatchListStreaming --initial-events-end--> Watching{stream}
///    |                          | refused, 429: Backoff -> WatchListStreaming
///    |                          | expired: WatchListStreaming again, at ""
///    |                          | anything else: falls back, same round
///    '--watch-list off------> Listing --listed--> Watching{no stream}
///
/// Watching --closed, stalled--> Watching (from the last version: no relist)
///          --refused, 429-----> Backoff -> Watching
///          --expired, error---> end of round
/// Listing  --error------------> end of round
/// end of round: the error handler is told (not for expiry), Backoff -> Initial
/// ```
enum Phase<K> {
    /// A new round: get the initial state, streamed if watch-list is
    /// enabled, else listed.
    Initial,
    /// A watch-list request (`sendInitialEvents`) streams the current objects
    /// into a temporary store until the initial-events-end bookmark; then the
    /// store is replaced and the same watch goes on.
    WatchListStreaming,
    /// A paged list replaces the store.
    Listing,
    /// Watching from the last synced resource version (see
    /// [`Reflector::last_sync_resource_version`]): `stream` is an open watch
    /// to go on with (the watch-list's), else one is opened. `resync` keeps
    /// the round's resync loop running; it stops when the round ends.
    Watching {
        stream: Option<WatchStream<K>>,
        resync: Option<DropGuard>,
    },
    /// Waiting the next backoff step, then `next`.
    Backoff { next: Box<Phase<K>> },
    /// Cancelled.
    Stopped,
}

/// Where a watch's events go.
enum Sink<'a, K> {
    /// A watch-list's initial events: a temporary store, until the
    /// initial-events-end bookmark; versions are committed only at its end.
    InitialEvents(&'a Indexer<K>),
    /// The reflector's store; every event advances the last synced version.
    Store,
}

/// How a watch's event loop ended.
enum WatchOutcome {
    /// The server closed the stream (or the connection broke): rewatch.
    Closed,
    /// Nothing arrived within the progress deadline: rewatch.
    Stalled,
    /// The watch-list's initial events are complete, at this resource version.
    InitialEventsEnd(String),
    /// Cancelled.
    Stopped,
}

impl<K: Object> Reflector<K> {
    /// A reflector that mirrors what `lw` lists and watches into `store`.
    pub fn new(lw: impl ListerWatcher<K>, store: Arc<dyn Store<K>>) -> Self {
        Self::from_dyn(Arc::new(lw), store)
    }

    pub(crate) fn from_dyn(lw: Arc<dyn DynListerWatcher<K>>, store: Arc<dyn Store<K>>) -> Self {
        Self {
            name: std::any::type_name::<K>()
                .rsplit("::")
                .next()
                .unwrap_or("object")
                .to_owned(),
            lw,
            store,
            resync_period: Duration::ZERO,
            page_size: DEFAULT_PAGE_SIZE,
            min_watch_timeout: DEFAULT_MIN_WATCH_TIMEOUT,
            progress_deadline: DEFAULT_WATCH_PROGRESS_DEADLINE,
            backoff: Backoff::default(),
            use_watch_list: AtomicBool::new(true),
            paginated_result: AtomicBool::new(false),
            rv: Mutex::new(RvState::default()),
            should_resync: None,
            watch_error_handler: None,
        }
    }

    /// Name used in logs (default: the kind's type name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Call the store's `resync` this often while watching (zero: never).
    pub fn resync_period(mut self, period: Duration) -> Self {
        self.resync_period = period;
        self
    }

    /// Items per list page (0: unpaged).
    pub fn page_size(mut self, size: i64) -> Self {
        self.page_size = size;
        self
    }

    /// Lower bound of the randomised watch timeout.
    pub fn min_watch_timeout(mut self, timeout: Duration) -> Self {
        self.min_watch_timeout = timeout;
        self
    }

    /// Restart a watch that has delivered nothing for this long.
    pub fn watch_progress_deadline(mut self, deadline: Duration) -> Self {
        self.progress_deadline = deadline;
        self
    }

    /// Delays between rounds.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Try watch-list streaming for the initial state (default true).
    pub fn use_watch_list(self, enabled: bool) -> Self {
        self.use_watch_list.store(enabled, Ordering::Relaxed);
        self
    }

    /// Consulted at each resync tick.
    pub fn should_resync(mut self, f: ShouldResyncFn) -> Self {
        self.should_resync = Some(f);
        self
    }

    /// Told about errors that end a round.
    pub fn watch_error_handler(mut self, f: WatchErrorHandler) -> Self {
        self.watch_error_handler = Some(f);
        self
    }

    /// The resource version of the last list or watch event seen ("" before the first).
    pub fn last_sync_resource_version(&self) -> String {
        self.rv.lock().last_sync.clone()
    }

    /// Whether the next round will try watch-list first.
    pub fn is_watch_list_enabled(&self) -> bool {
        self.use_watch_list.load(Ordering::Relaxed)
    }

    fn set_last_sync(&self, rv: &str) {
        if !rv.is_empty() {
            self.rv.lock().last_sync = rv.to_owned();
        }
    }

    fn set_unavailable(&self, unavailable: bool) {
        self.rv.lock().unavailable = unavailable;
    }

    /// Version to relist at: "" after expiry (latest, from etcd), "0" before the
    /// first sync (any, from the watch cache), else the last one seen.
    fn relist_resource_version(&self) -> String {
        let st = self.rv.lock();
        if st.unavailable {
            String::new()
        } else if st.last_sync.is_empty() {
            "0".into()
        } else {
            st.last_sync.clone()
        }
    }

    /// Version a watch-list starts from: "" (latest) before a sync or after expiry.
    fn rewatch_resource_version(&self) -> String {
        let st = self.rv.lock();
        if st.unavailable {
            String::new()
        } else {
            st.last_sync.clone()
        }
    }

    fn watch_timeout_seconds(&self) -> i64 {
        let secs = self.min_watch_timeout.as_secs_f64() * (1.0 + fastrand::f64());
        (secs as i64).max(1)
    }

    /// List and watch until `cancel` fires, recovering from every failure:
    /// one phase (listing, streaming, watching, backing off) after
    /// another, each step naming the next.
    pub async fn run(&self, cancel: CancellationToken) {
        let mut backoff = self.backoff.clone();
        tracing::debug!(reflector = %self.name, "starting reflector");
        let mut phase = Phase::Initial;
        loop {
            if cancel.is_cancelled() {
                break;
            }
            phase = match phase {
                Phase::Initial => {
                    if self.is_watch_list_enabled() {
                        Phase::WatchListStreaming
                    } else {
                        Phase::Listing
                    }
                }
                Phase::WatchListStreaming => self.stream_initial_events(&cancel).await,
                Phase::Listing => match self.list(&cancel).await {
                    Ok(true) => Phase::Watching {
                        stream: None,
                        resync: self.start_resync(&cancel),
                    },
                    Ok(false) => Phase::Stopped,
                    Err(e) => self.end_round(Some(e), &cancel),
                },
                Phase::Watching { stream, resync } => self.watch(stream, resync, &cancel).await,
                Phase::Backoff { next } => {
                    if sleep_or_cancel(backoff.next_backoff(), &cancel).await {
                        *next
                    } else {
                        Phase::Stopped
                    }
                }
                Phase::Stopped => break,
            };
        }
        tracing::debug!(reflector = %self.name, "reflector stopped");
    }

    /// The end of a round: the watch-error handler hears of `error`, if any,
    /// and the next round (a relist) comes after a backoff, always: a
    /// failing server is never hot-looped.
    fn end_round(&self, error: Option<Error>, cancel: &CancellationToken) -> Phase<K> {
        if let Some(e) = error {
            if cancel.is_cancelled() {
                return Phase::Stopped;
            }
            match &self.watch_error_handler {
                Some(h) => h(&e),
                None => {
                    tracing::warn!(reflector = %self.name, error = %e, "list and watch failed")
                }
            }
        }
        Phase::Backoff {
            next: Box::new(Phase::Initial),
        }
    }

    /// The round's resync loop, if resyncing; it runs until the guard drops
    /// (the round ends) or `cancel` fires.
    fn start_resync(&self, cancel: &CancellationToken) -> Option<DropGuard> {
        if self.resync_period.is_zero() {
            return None;
        }
        let resync = cancel.child_token();
        tokio::spawn(resync_loop(
            self.store.clone(),
            self.should_resync.clone(),
            self.resync_period,
            resync.clone(),
        ));
        Some(resync.drop_guard())
    }

    /// Paged list then replace. Returns false if cancelled.
    async fn list(&self, cancel: &CancellationToken) -> Result<bool> {
        let rv = self.relist_resource_version();
        // A relist at a known version is served unpaged from the watch cache
        // (paging would force it to etcd); "0" and "" are paged.
        let page_size =
            if !rv.is_empty() && rv != "0" && !self.paginated_result.load(Ordering::Relaxed) {
                0
            } else {
                self.page_size
            };
        let options = ListOptions::default().resource_version(rv);
        let listed = match self.list_pages(options, page_size, cancel).await {
            Err(e) if is_expired(&e) || is_too_large_resource_version(&e) => {
                // The version is gone: list the latest state instead.
                self.set_unavailable(true);
                let options =
                    ListOptions::default().resource_version(self.relist_resource_version());
                self.list_pages(options, page_size, cancel).await?
            }
            other => other?,
        };
        let Some((items, rv)) = listed else {
            return Ok(false);
        };
        self.set_unavailable(false);
        tracing::debug!(reflector = %self.name, items = items.len(), resource_version = %rv, "listed");
        self.store.replace(items, &rv);
        self.set_last_sync(&rv);
        Ok(true)
    }

    /// Follow `continue` tokens until the list is complete. None if cancelled.
    async fn list_pages(
        &self,
        options: ListOptions,
        page_size: i64,
        cancel: &CancellationToken,
    ) -> Result<Option<(Vec<Arc<K>>, String)>> {
        let mut items = Vec::new();
        let mut page = options.clone();
        if page_size > 0 {
            page.limit = Some(page_size);
        }
        loop {
            let result = tokio::select! {
                _ = cancel.cancelled() => return Ok(None),
                r = self.lw.list(&page) => r,
            };
            let list = match result {
                Ok(list) => list,
                Err(e) if page.continue_.is_some() && is_expired(&e) => {
                    // The continue token expired mid-way: one unpaged list at
                    // the original version, as client-go's pager falls back.
                    let mut full = options.clone();
                    full.limit = None;
                    full.continue_ = None;
                    let list = tokio::select! {
                        _ = cancel.cancelled() => return Ok(None),
                        r = self.lw.list(&full) => r?,
                    };
                    let rv = list.resource_version().unwrap_or_default().to_owned();
                    return Ok(Some((list.items.into_iter().map(Arc::new).collect(), rv)));
                }
                Err(e) => return Err(e),
            };
            let next = list
                .continue_token()
                .filter(|c| !c.is_empty())
                .map(str::to_owned);
            let rv = list.resource_version().unwrap_or_default().to_owned();
            items.extend(list.items.into_iter().map(Arc::new));
            match next {
                Some(token) => {
                    self.paginated_result.store(true, Ordering::Relaxed);
                    // The token pins the version; the server rejects both.
                    page.continue_ = Some(token);
                    page.resource_version = None;
                    page.resource_version_match = None;
                }
                None => return Ok(Some((items, rv))),
            }
        }
    }

    /// [`Phase::WatchListStreaming`]: one watch-list request. Its initial
    /// events replace the store, and its watch goes on ([`Phase::Watching`]);
    /// if it fails, it is retried or the round falls back to a list.
    async fn stream_initial_events(&self, cancel: &CancellationToken) -> Phase<K> {
        let options = ListOptions {
            resource_version: Some(self.rewatch_resource_version()),
            resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
            send_initial_events: Some(true),
            allow_watch_bookmarks: true,
            timeout_seconds: Some(self.watch_timeout_seconds()),
            ..ListOptions::default()
        };
        let start = Instant::now();
        let opened = tokio::select! {
            _ = cancel.cancelled() => return Phase::Stopped,
            r = self.lw.watch(&options) => r,
        };
        let mut stream = match opened {
            Ok(s) => s,
            Err(e) => return self.watch_list_failed(e),
        };
        let temp: Indexer<K> = Indexer::default();
        let outcome = self
            .handle_watch(&mut stream, Sink::InitialEvents(&temp), start, cancel)
            .await;
        match outcome {
            Ok(WatchOutcome::InitialEventsEnd(rv)) => {
                self.set_unavailable(false);
                let items = temp.list();
                // The temporary store lets go first: each object then has one
                // owner, and a transform takes it without copying it.
                drop(temp);
                tracing::debug!(reflector = %self.name, items = items.len(), resource_version = %rv, "initial events streamed");
                self.store.replace(items, &rv);
                self.set_last_sync(&rv);
                Phase::Watching {
                    stream: Some(stream),
                    resync: self.start_resync(cancel),
                }
            }
            Ok(WatchOutcome::Stopped) => Phase::Stopped,
            Ok(WatchOutcome::Closed | WatchOutcome::Stalled) => {
                self.fall_back_to_list(ended_early(
                    &self.name,
                    "watch-list ended or stalled before the initial-events-end bookmark",
                ))
            }
            Err(e) => self.watch_list_failed(e),
        }
    }

    /// client-go's `isErrorRetriableWithSideEffects` for watch-list: back off
    /// on refused connections and 429; on expiry, forget the version and
    /// retry at once; anything else falls back to a list.
    fn watch_list_failed(&self, e: Error) -> Phase<K> {
        if is_retriable_watch_error(&e) {
            return Phase::Backoff {
                next: Box::new(Phase::WatchListStreaming),
            };
        }
        if is_expired(&e) || is_too_large_resource_version(&e) {
            self.set_unavailable(true);
            return Phase::WatchListStreaming;
        }
        self.fall_back_to_list(e)
    }

    /// The same round gets its initial state by [`Phase::Listing`] instead.
    fn fall_back_to_list(&self, e: Error) -> Phase<K> {
        if e.is_bad_request() || e.is_invalid() {
            // The server does not know sendInitialEvents: stop asking.
            self.use_watch_list.store(false, Ordering::Relaxed);
        }
        tracing::info!(reflector = %self.name, error = %e,
            "watch-list failed; falling back to list + watch");
        Phase::Listing
    }

    /// [`Phase::Watching`]: one watch, from the last synced version unless
    /// `stream` is already open, until it ends. A normal close or a stall
    /// rewatches; a refused connection or 429 backs off and rewatches (no
    /// relist); expiry or another error ends the round.
    async fn watch(
        &self,
        stream: Option<WatchStream<K>>,
        resync: Option<DropGuard>,
        cancel: &CancellationToken,
    ) -> Phase<K> {
        let start = Instant::now();
        let mut s = match stream {
            Some(s) => s,
            None => {
                let options = ListOptions {
                    resource_version: Some(self.last_sync_resource_version()),
                    allow_watch_bookmarks: true,
                    timeout_seconds: Some(self.watch_timeout_seconds()),
                    ..ListOptions::default()
                };
                let opened = tokio::select! {
                    _ = cancel.cancelled() => return Phase::Stopped,
                    r = self.lw.watch(&options) => r,
                };
                match opened {
                    Ok(s) => s,
                    Err(e) if is_retriable_watch_error(&e) => {
                        // The server is down or busy: the watch can resume
                        // where it stopped once it answers, no relist needed.
                        tracing::debug!(reflector = %self.name, error = %e, "watch not accepted; backing off");
                        return Phase::Backoff {
                            next: Box::new(Phase::Watching {
                                stream: None,
                                resync,
                            }),
                        };
                    }
                    Err(e) => {
                        drop(resync);
                        return self.end_round(Some(e), cancel);
                    }
                }
            }
        };
        match self.handle_watch(&mut s, Sink::Store, start, cancel).await {
            Ok(WatchOutcome::Stopped) => Phase::Stopped,
            Ok(_) => Phase::Watching {
                stream: None,
                resync,
            },
            Err(e) if is_expired(&e) => {
                // Relist at the last seen version; the server decides if
                // it is still available.
                tracing::debug!(reflector = %self.name, error = %e, "watch expired; relisting");
                drop(resync);
                self.end_round(None, cancel)
            }
            Err(e) if e.is_too_many_requests() => Phase::Backoff {
                next: Box::new(Phase::Watching {
                    stream: None,
                    resync,
                }),
            },
            // Ends the round: the watch-error handler hears of it, and the
            // next round relists.
            Err(e) => {
                drop(resync);
                self.end_round(Some(e), cancel)
            }
        }
    }

    /// Apply a watch's events to `sink` until it ends (or, for a watch-list's
    /// initial events, until the initial-events-end bookmark).
    async fn handle_watch(
        &self,
        stream: &mut WatchStream<K>,
        sink: Sink<'_, K>,
        start: Instant,
        cancel: &CancellationToken,
    ) -> Result<WatchOutcome> {
        let (store, until_initial_end): (&dyn Store<K>, bool) = match sink {
            Sink::InitialEvents(temp) => (temp, true),
            Sink::Store => (self.store.as_ref(), false),
        };
        let mut events = 0usize;
        // One timer, pushed back by every item, rather than one per item.
        let silence = tokio::time::sleep(self.progress_deadline);
        tokio::pin!(silence);
        loop {
            let item = tokio::select! {
                _ = cancel.cancelled() => return Ok(WatchOutcome::Stopped),
                () = &mut silence => {
                    tracing::warn!(reflector = %self.name, deadline = ?self.progress_deadline,
                        "watch made no progress; restarting it");
                    return Ok(WatchOutcome::Stalled);
                }
                item = stream.next() => item,
            };
            silence
                .as_mut()
                .reset(Instant::now() + self.progress_deadline);
            let event = match item {
                None => break,
                Some(Ok(ev)) => ev,
                // A line that does not decode would leave the store wrong: relist.
                Some(Err(e @ Error::Decode { .. })) => return Err(e),
                Some(Err(e)) => {
                    // A broken connection ends the watch like a server close.
                    tracing::debug!(reflector = %self.name, error = %e, "watch stream broke");
                    break;
                }
            };
            events += 1;
            match event {
                WatchEvent::Added(obj) => {
                    let rv = obj.metadata().resource_version.clone();
                    store.add(Arc::new(obj));
                    self.set_last_sync_opt(rv.as_deref(), until_initial_end);
                }
                WatchEvent::Modified(obj) => {
                    let rv = obj.metadata().resource_version.clone();
                    store.update(Arc::new(obj));
                    self.set_last_sync_opt(rv.as_deref(), until_initial_end);
                }
                WatchEvent::Deleted(obj) => {
                    let rv = obj.metadata().resource_version.clone();
                    store.delete(Arc::new(obj));
                    self.set_last_sync_opt(rv.as_deref(), until_initial_end);
                }
                WatchEvent::Bookmark(b) => {
                    if until_initial_end && b.is_initial_events_end() {
                        return Ok(WatchOutcome::InitialEventsEnd(b.resource_version));
                    }
                    self.set_last_sync_opt(Some(&b.resource_version), until_initial_end);
                }
                WatchEvent::Error(status) => {
                    let request = format!("watch {}", self.name);
                    return Err(WatchEvent::<K>::Error(status)
                        .into_result(&request)
                        .err()
                        .unwrap_or_else(|| ended_early(&self.name, "watch error event")));
                }
            }
        }
        if start.elapsed() < Duration::from_secs(1) && events == 0 {
            return Err(ended_early(
                &self.name,
                "very short watch: the watch closed within a second without any event",
            ));
        }
        Ok(WatchOutcome::Closed)
    }

    /// During a watch-list's initial events the version is only committed at
    /// the end bookmark, so a failure midway restarts from the old one.
    fn set_last_sync_opt(&self, rv: Option<&str>, initial: bool) {
        if !initial && let Some(rv) = rv {
            self.set_last_sync(rv);
        }
    }
}

async fn resync_loop<K>(
    store: Arc<dyn Store<K>>,
    should_resync: Option<ShouldResyncFn>,
    period: Duration,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval_at(Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                if should_resync.as_ref().is_none_or(|f| f()) {
                    store.resync();
                }
            }
        }
    }
}

/// Sleep unless cancelled first; false if cancelled.
async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

fn ended_early(name: &str, reason: &'static str) -> Error {
    Error::WatchEndedEarly {
        watch: name.to_owned(),
        reason,
    }
}

/// 410 Gone or reason Expired: the resource version was compacted away.
pub(crate) fn is_expired(e: &Error) -> bool {
    e.is_resource_expired() || e.code() == Some(410)
}

/// The server has not caught up with the requested version yet (504 with
/// cause `ResourceVersionTooLarge`).
fn is_too_large_resource_version(e: &Error) -> bool {
    e.causes()
        .iter()
        .any(|c| c.reason.as_deref() == Some("ResourceVersionTooLarge"))
}

/// Watch errors worth retrying without a relist: refused connections (the
/// server is restarting) and 429.
fn is_retriable_watch_error(e: &Error) -> bool {
    e.is_too_many_requests() || is_connection_refused(e)
}

fn is_connection_refused(e: &Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        cur = err.source();
    }
    matches!(e, Error::Transport { message, .. } if message.to_ascii_lowercase().contains("connection refused"))
}

#[cfg(test)]
mod tests {
    //! Ports of client-go's reflector_test.go (and reflector_watchlist_test.go)
    //! behaviours, against an in-memory fake server with real resourceVersion,
    //! compaction and paging semantics, on tokio's paused clock:
    //! - `lists_then_watches_from_list_version`: TestReflectorListAndWatch
    //!   (list at "0" with limit 500, watch from the list's version with
    //!   bookmarks and a timeout in [5, 10) minutes; events reach the store).
    //! - `rewatches_from_last_event_without_relist`: TestReflectorListAndWatch's
    //!   second watch starting at the last event's version.
    //! - `bookmarks_advance_last_sync_resource_version`: TestReflectorResourceVersionUpdate.
    //! - `relist_after_410_lists_latest_and_converges`: TestReflectorExpiredExactResourceVersion /
    //!   TestReflectorFullListIfExpired (410 → relist at last version → 410 → "").
    //! - `paged_list_follows_continue_tokens`: TestReflectorListPaging / pager.
    //! - `expired_continue_token_falls_back_to_full_list`: pager's expired-token fallback.
    //! - `list_errors_back_off_and_never_hot_loop`: TestReflectorListAndWatchWithErrors +
    //!   backoff manager (each retry waits at least the 800 ms-doubling step).
    //! - `watch_429_and_refused_connections_back_off_without_relist`:
    //!   TestBackoffOnTooManyRequests, TestReflectorListAndWatchInitConnBackoff.
    //! - `very_short_watch_is_an_error_and_backs_off`: "very short watch" guard.
    //! - `watch_error_event_relists`: TestReflectorWatchHandler's error event path.
    //! - `watch_list_streams_initial_state_then_keeps_watching`: TestWatchList
    //!   (sendInitialEvents, NotOlderThan, initial-events-end bookmark, no LIST).
    //! - `watch_list_falls_back_to_list_when_unsupported`: TestWatchListFallback.
    //! - `resync_calls_store_resync_when_asked`: TestReflectorResync + shouldResync.
    //! - `cancel_stops_run_promptly`: TestRunUntil / TestReflectorStopWatch.
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::testing::{FakeServer, TestObj, api_error, connection_refused, gone_status, sorted};

    fn values(store: &Indexer<TestObj>) -> Vec<(String, i64)> {
        let mut v: Vec<_> = store
            .list()
            .iter()
            .map(|o| (kubegen_core::resource::object_key(o.metadata()), o.value))
            .collect();
        v.sort();
        v
    }

    fn server_values(server: &FakeServer) -> Vec<(String, i64)> {
        server
            .state
            .lock()
            .objects
            .iter()
            .map(|(k, o)| (k.clone(), o.value))
            .collect()
    }

    async fn eventually(what: &str, f: impl Fn() -> bool) {
        for _ in 0..100_000 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    struct Running {
        reflector: Arc<Reflector<TestObj>>,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    impl Running {
        async fn stop(self) {
            self.cancel.cancel();
            tokio::time::timeout(Duration::from_secs(5), self.task)
                .await
                .expect("run did not stop")
                .expect("run panicked");
        }
    }

    fn start(reflector: Reflector<TestObj>) -> Running {
        let reflector = Arc::new(reflector);
        let cancel = CancellationToken::new();
        let task = tokio::spawn({
            let (r, c) = (reflector.clone(), cancel.clone());
            async move { r.run(c).await }
        });
        Running {
            reflector,
            cancel,
            task,
        }
    }

    fn reflector(server: &FakeServer, store: &Indexer<TestObj>) -> Reflector<TestObj> {
        Reflector::new(server.clone(), Arc::new(store.clone())).use_watch_list(false)
    }

    #[tokio::test(start_paused = true)]
    async fn lists_then_watches_from_list_version() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        server.upsert("ns", "b", 2);
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("initial list", || values(&store).len() == 2).await;
        eventually("watch open", || server.open_watches() == 1).await;

        let list = &server.list_calls()[0];
        assert_eq!(list.resource_version.as_deref(), Some("0"));
        assert_eq!(list.limit, Some(500));
        let watch = &server.watch_calls()[0];
        assert_eq!(watch.resource_version.as_deref(), Some("3"));
        assert!(watch.allow_watch_bookmarks);
        let t = watch.timeout_seconds.unwrap();
        assert!((300..600).contains(&t), "timeout {t}");

        server.upsert("ns", "a", 10);
        server.upsert("ns", "c", 3);
        server.delete("ns", "b");
        eventually("watch events applied", || {
            values(&store) == server_values(&server)
        })
        .await;
        assert_eq!(r.reflector.last_sync_resource_version(), "6");
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn rewatches_from_last_event_without_relist() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("watch open", || server.open_watches() == 1).await;
        let rv = server.upsert("ns", "a", 2);
        eventually("event applied", || {
            values(&store) == [("ns/a".to_owned(), 2)]
        })
        .await;
        server.close_watches();
        eventually("second watch", || server.watch_calls().len() == 2).await;
        assert_eq!(
            server.watch_calls()[1].resource_version,
            Some(rv.to_string())
        );
        assert_eq!(
            server.list_calls().len(),
            1,
            "a normal close does not relist"
        );
        // Changes made while reconnecting are not lost.
        server.upsert("ns", "b", 1);
        eventually("converged", || values(&store) == server_values(&server)).await;
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn silent_watch_is_restarted_after_the_progress_deadline() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let store = Indexer::default();
        let r = start(reflector(&server, &store).watch_progress_deadline(Duration::from_secs(20)));
        eventually("watch open", || server.open_watches() == 1).await;
        // The connection dies silently; a change made now never reaches it.
        server.stall_watches();
        let stalled_at = Instant::now();
        let rv = server.upsert("ns", "a", 2);
        eventually("second watch", || server.watch_calls().len() == 2).await;
        let waited = stalled_at.elapsed();
        assert!(
            waited >= Duration::from_secs(20) && waited < Duration::from_secs(25),
            "restarted after {waited:?}"
        );
        assert_eq!(
            server.watch_calls()[1].resource_version.as_deref(),
            Some("2"),
            "resumed from the last version seen, not {rv}"
        );
        eventually("converged", || values(&store) == server_values(&server)).await;
        assert_eq!(server.list_calls().len(), 1, "a stall does not relist");
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn bookmarks_keep_a_quiet_watch_alive() {
        let server = FakeServer::new();
        let store = Indexer::default();
        let r = start(reflector(&server, &store).watch_progress_deadline(Duration::from_secs(20)));
        eventually("watch open", || server.open_watches() == 1).await;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(15)).await;
            server.bookmark();
        }
        assert_eq!(server.watch_calls().len(), 1, "bookmarks are progress");
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn bookmarks_advance_last_sync_resource_version() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("watch open", || server.open_watches() == 1).await;
        // Changes elsewhere move the version on; a bookmark tells us.
        server.state.lock().rv = 42;
        server.bookmark();
        eventually("bookmark seen", || {
            r.reflector.last_sync_resource_version() == "42"
        })
        .await;
        server.close_watches();
        eventually("rewatch", || server.watch_calls().len() == 2).await;
        assert_eq!(
            server.watch_calls()[1].resource_version.as_deref(),
            Some("42")
        );
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn relist_after_410_lists_latest_and_converges() {
        let server = FakeServer::new();
        for i in 0..5 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("synced", || values(&store).len() == 5).await;
        eventually("watch open", || server.open_watches() == 1).await;
        let before = r.reflector.last_sync_resource_version();

        // Disconnect; while away, objects change and history is compacted.
        {
            server
                .state
                .lock()
                .fail_watches
                .push_back(Some(connection_refused()));
        }
        server.close_watches();
        server.delete("ns", "o1");
        server.upsert("ns", "o2", 20);
        server.upsert("ns", "new", 9);
        server.compact();

        eventually("converged after relist", || {
            values(&store) == server_values(&server)
        })
        .await;
        let lists = server.list_calls();
        assert_eq!(lists.len(), 3, "{lists:?}");
        // First relist tries the last known version, which is expired ...
        assert_eq!(lists[1].resource_version, Some(before));
        // ... so the reflector lists the latest state.
        assert_eq!(lists[2].resource_version.as_deref(), Some(""));
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn paged_list_follows_continue_tokens() {
        let server = FakeServer::new();
        for i in 0..1200 {
            server.upsert("ns", &format!("o{i:04}"), i);
        }
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("synced", || store.len() == 1200).await;
        let lists = server.list_calls();
        assert_eq!(lists.len(), 3);
        assert!(lists.iter().all(|l| l.limit == Some(500)));
        assert_eq!(lists[0].continue_, None);
        assert!(lists[1].continue_.is_some() && lists[1].resource_version.is_none());
        assert!(lists[2].continue_.is_some());
        assert_eq!(values(&store), server_values(&server));
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn expired_continue_token_falls_back_to_full_list() {
        let server = FakeServer::new();
        for i in 0..700 {
            server.upsert("ns", &format!("o{i:04}"), i);
        }
        {
            let mut st = server.state.lock();
            st.fail_lists.push_back(None);
            st.fail_lists.push_back(Some(api_error(410, "Expired")));
        }
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("synced", || store.len() == 700).await;
        let lists = server.list_calls();
        assert_eq!(lists.len(), 3);
        assert_eq!(lists[2].limit, None, "fallback is unpaged");
        assert_eq!(lists[2].continue_, None);
        assert_eq!(lists[2].resource_version.as_deref(), Some("0"));
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn list_errors_back_off_and_never_hot_loop() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        {
            let mut st = server.state.lock();
            for _ in 0..5 {
                st.fail_lists
                    .push_back(Some(api_error(500, "InternalError")));
            }
        }
        let errors = Arc::new(AtomicUsize::new(0));
        let e2 = errors.clone();
        let store = Indexer::default();
        let started = Instant::now();
        let r = start(reflector(&server, &store).watch_error_handler(Arc::new(
            move |e: &Error| {
                assert!(e.is_internal_error());
                e2.fetch_add(1, Ordering::SeqCst);
            },
        )));
        eventually("synced", || store.len() == 1).await;
        let waited = started.elapsed();
        assert_eq!(server.list_calls().len(), 6);
        assert_eq!(errors.load(Ordering::SeqCst), 5);
        // 0.8 + 1.6 + 3.2 + 6.4 + 12.8 s at least (jitter only adds).
        assert!(
            waited >= Duration::from_millis(24_800),
            "retried too fast: {waited:?}"
        );
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn watch_429_and_refused_connections_back_off_without_relist() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        {
            let mut st = server.state.lock();
            st.fail_watches
                .push_back(Some(api_error(429, "TooManyRequests")));
            st.fail_watches.push_back(Some(connection_refused()));
            st.fail_watches.push_back(Some(connection_refused()));
        }
        let store = Indexer::default();
        let started = Instant::now();
        let r = start(reflector(&server, &store));
        eventually("watch open", || server.open_watches() == 1).await;
        assert!(started.elapsed() >= Duration::from_millis(800 + 1600 + 3200));
        let watches = server.watch_calls();
        assert_eq!(watches.len(), 4);
        assert!(
            watches
                .iter()
                .all(|w| w.resource_version.as_deref() == Some("2"))
        );
        assert_eq!(server.list_calls().len(), 1, "the watch resumes; no relist");
        server.upsert("ns", "a", 2);
        eventually("event", || values(&store) == [("ns/a".to_owned(), 2)]).await;
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn very_short_watch_is_an_error_and_backs_off() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        server.state.lock().instant_close_watches = 3;
        let store = Indexer::default();
        let started = Instant::now();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let seen = errors.clone();
        let r = start(reflector(&server, &store).watch_error_handler(Arc::new(
            move |e: &Error| seen.lock().push(format!("{e:?}")),
        )));
        eventually("watch open", || server.open_watches() == 1).await;
        // Each instantly closed watch ends the round: backoff, relist.
        assert_eq!(server.list_calls().len(), 4);
        let errors = errors.lock().clone();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors.iter().all(|e| e.starts_with("WatchEndedEarly")),
            "{errors:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(800 + 1600 + 3200));
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn watch_error_event_relists() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("watch open", || server.open_watches() == 1).await;
        server.error_watches(gone_status());
        eventually("relisted", || server.list_calls().len() == 2).await;
        eventually("watching again", || server.open_watches() == 1).await;
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn watch_list_streams_initial_state_then_keeps_watching() {
        let server = FakeServer::new();
        server.state.lock().supports_watch_list = true;
        server.upsert("ns", "a", 1);
        server.upsert("ns", "b", 2);
        let store = Indexer::default();
        let r = start(Reflector::new(server.clone(), Arc::new(store.clone())));
        eventually("synced", || values(&store).len() == 2).await;
        assert!(server.list_calls().is_empty(), "watch-list needs no LIST");
        let w = &server.watch_calls()[0];
        assert_eq!(w.send_initial_events, Some(true));
        assert_eq!(
            w.resource_version_match,
            Some(ResourceVersionMatch::NotOlderThan)
        );
        assert_eq!(w.resource_version.as_deref(), Some(""));
        assert!(w.allow_watch_bookmarks);
        assert_eq!(r.reflector.last_sync_resource_version(), "3");
        // The same watch carries on.
        server.upsert("ns", "c", 3);
        server.delete("ns", "a");
        eventually("converged", || values(&store) == server_values(&server)).await;
        assert_eq!(server.watch_calls().len(), 1);
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn watch_list_hands_the_store_sole_owners() {
        // A transform downstream then takes each object without a copy (two
        // copies of a cluster at once, and the holes they leave, otherwise).
        let server = FakeServer::new();
        server.state.lock().supports_watch_list = true;
        server.upsert("ns", "a", 1);
        server.upsert("ns", "b", 2);
        let store = Arc::new(CountingStore::default());
        let r = start(Reflector::new(server.clone(), store.clone()));
        eventually("synced", || store.inner.list().len() == 2).await;
        assert!(server.list_calls().is_empty(), "synced by watch-list");
        assert_eq!(store.shared_on_replace.load(Ordering::SeqCst), 0);
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn watch_list_falls_back_to_list_when_unsupported() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let store = Indexer::default();
        let r = start(Reflector::new(server.clone(), Arc::new(store.clone())));
        eventually("synced", || values(&store).len() == 1).await;
        eventually("watch open", || server.open_watches() == 1).await;
        assert_eq!(server.list_calls().len(), 1);
        assert!(
            !r.reflector.is_watch_list_enabled(),
            "an unsupported server is not asked again"
        );
        let watches = server.watch_calls();
        assert_eq!(watches[0].send_initial_events, Some(true));
        assert_eq!(watches[1].send_initial_events, None);
        r.stop().await;
    }

    #[derive(Default)]
    struct CountingStore {
        inner: Indexer<TestObj>,
        resyncs: AtomicUsize,
        /// Objects a `replace` received that something else still held.
        shared_on_replace: AtomicUsize,
    }

    impl Store<TestObj> for CountingStore {
        fn add(&self, obj: Arc<TestObj>) {
            self.inner.add(obj);
        }
        fn update(&self, obj: Arc<TestObj>) {
            self.inner.update(obj);
        }
        fn delete(&self, obj: Arc<TestObj>) {
            self.inner.delete(&obj);
        }
        fn replace(&self, list: Vec<Arc<TestObj>>, _rv: &str) {
            let shared = list.iter().filter(|o| Arc::strong_count(o) > 1).count();
            self.shared_on_replace.fetch_add(shared, Ordering::SeqCst);
            self.inner.replace(list);
        }
        fn resync(&self) {
            self.resyncs.fetch_add(1, Ordering::SeqCst);
        }
        fn list(&self) -> Vec<Arc<TestObj>> {
            self.inner.list()
        }
        fn list_keys(&self) -> Vec<String> {
            sorted(self.inner.list_keys())
        }
        fn get_by_key(&self, key: &str) -> Option<Arc<TestObj>> {
            self.inner.get_by_key(key)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn resync_calls_store_resync_when_asked() {
        let server = FakeServer::new();
        let store = Arc::new(CountingStore::default());
        let allow = Arc::new(AtomicBool::new(true));
        let a2 = allow.clone();
        let r = start(
            Reflector::new(server.clone(), store.clone())
                .use_watch_list(false)
                .resync_period(Duration::from_secs(10))
                .should_resync(Arc::new(move || a2.load(Ordering::SeqCst))),
        );
        eventually("watch open", || server.open_watches() == 1).await;
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(store.resyncs.load(Ordering::SeqCst), 3);
        allow.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(
            store.resyncs.load(Ordering::SeqCst),
            3,
            "should_resync=false skips resync"
        );
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_stops_run_promptly() {
        let server = FakeServer::new();
        let store = Indexer::default();
        let r = start(reflector(&server, &store));
        eventually("watch open", || server.open_watches() == 1).await;
        r.stop().await;
        eventually("watch closed", || server.open_watches() == 0).await;

        // Also while backing off from a failing server.
        let failing = FakeServer::new();
        for _ in 0..100 {
            failing
                .state
                .lock()
                .fail_lists
                .push_back(Some(api_error(500, "InternalError")));
        }
        let r = start(reflector(&failing, &store));
        tokio::time::sleep(Duration::from_secs(3)).await;
        r.stop().await;
    }
}

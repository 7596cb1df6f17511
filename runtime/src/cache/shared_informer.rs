//! SharedIndexInformer: one reflector, one cache, many event handlers
//! (client-go's `shared_informer.go` + `controller.go`).
//!
//! Contract:
//! - **One watch, one cache.** The informer runs a [`Reflector`] into a
//!   [`DeltaFifo`] whose known objects are the informer's [`Indexer`]; a
//!   process loop pops each key's deltas, applies them to the indexer and
//!   hands notifications to every handler. The indexer is always updated
//!   *before* handlers hear about a change, so a handler that reads the lister
//!   sees at least that state.
//! - **Handlers** implement [`ResourceEventHandler`] (or use
//!   [`EventHandlerFuncs`]): `on_add(obj, is_in_initial_list)`,
//!   `on_update(old, new)`, `on_delete(obj or tombstone)`. Each handler has its
//!   own unbounded buffer and its own thread, so a slow handler delays only
//!   itself; each handler sees notifications in order.
//! - **Late handlers**: a handler added after start first receives an `on_add`
//!   (with `is_in_initial_list = true`) for every object in the cache, exactly
//!   once, atomically with respect to new deltas (no gap, no duplicate).
//! - **Registrations** ([`ResourceEventHandlerRegistration`]) have their own
//!   `has_synced`: true once the informer synced and this handler has
//!   *processed* all of its initial-list notifications. They can be removed;
//!   after removal the handler receives nothing more (a call in progress ends).
//! - **Resync**: each handler may ask for its own period (at least 1 s; at
//!   least the informer's check period once started). On resync, `on_update`
//!   with `old == new` goes only to the handlers that are due. A relist that
//!   finds an object unchanged (same resourceVersion) is treated as a resync.
//! - **Transform** ([`set_transform`](SharedIndexInformer::set_transform),
//!   before start) rewrites each object once before it is cached and handed out.
//! - **Watch errors** go to [`set_watch_error_handler`](SharedIndexInformer::set_watch_error_handler)'s
//!   function (default: logged), and so do the panics below.
//! - **Shutdown**: cancel the token given to [`run`](SharedIndexInformer::run);
//!   the reflector stops, the queue closes, handler threads exit after their
//!   current call, and `run` returns. A stopped informer cannot be restarted
//!   or take handlers.
//!
//! # Panics in user callbacks
//!
//! Every panic of a callback the informer runs is caught and reported to the
//! error handler as [`Error::CallbackPanic`] (`callback` names which one,
//! `message` is the panic's message); without an error handler it is logged.
//!
//! - **Event handler** (`on_add`, `on_update`, `on_delete`): contained. That
//!   call is abandoned; the same handler receives the next notification,
//!   other handlers and the informer are unaffected, and the registration
//!   still syncs. Each one counts in
//!   [`handler_panics`](SharedIndexInformer::handler_panics) (and, with the
//!   `metrics` feature, in the `informer_handler_panics_total{informer}`
//!   counter).
//! - **Transform** and **index function**: the informer *fails*. A cache that
//!   silently skipped an object would be wrong, so the informer stops as if
//!   cancelled: the reflector (list, watch, resync) stops, the queue is
//!   closed and dropped, handler threads exit, and `run` returns. The change
//!   that panicked is not applied (the indexer applies a change with all its
//!   index values or not at all), so the cache stays consistent, readable and
//!   stale. [`failure`](SharedIndexInformer::failure) returns the error,
//!   [`has_failed`](SharedIndexInformer::has_failed) is true,
//!   [`has_synced`](SharedIndexInformer::has_synced) is false from then on
//!   (also when the failure came after the first sync), and every sync waiter
//!   (`wait_for_sync`, a registration's `wait_for_sync`, the factory's
//!   `wait_for_cache_sync`) returns false instead of waiting. A failed
//!   informer cannot be restarted; build a new one.
//! - A panic elsewhere in the reflector's task (a custom
//!   [`ListerWatcher`], the watch error handler itself) fails the informer the
//!   same way, with `callback` `"reflector"`. A panic of the error handler
//!   while it is told about a caught panic is logged and otherwise ignored.
//! - [`add_indexers`](SharedIndexInformer::add_indexers) runs the new index
//!   functions on the caller's thread: a panic there reaches the caller and
//!   registers none of them.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kubegen_runtime::Object;
//! use kubegen_runtime::cache::{EventHandlerFuncs, SharedIndexInformer};
//! use tokio_util::sync::CancellationToken;
//!
//! async fn demo<K: Object>(informer: SharedIndexInformer<K>) {
//!     let reg = informer
//!         .add_event_handler(EventHandlerFuncs::new().add_func(|obj: &Arc<K>, _initial| {
//!             println!("added {:?}", obj.metadata().name);
//!         }))
//!         .expect("informer is running");
//!     let stop = CancellationToken::new();
//!     let task = tokio::spawn({
//!         let (informer, stop) = (informer.clone(), stop.clone());
//!         async move { informer.run(stop).await }
//!     });
//!     reg.wait_for_sync(&stop).await;
//!     // ... the handler has seen every object of the initial list ...
//!     stop.cancel();
//!     let _ = task.await;
//! }
//! ```

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::delta_fifo::{DeltaFifo, DeltaFifoOptions, DeltaObject, DeltaType, Deltas, Transformer};
use super::index::{IndexError, Indexers, default_indexers};
use super::lister::Lister;
use super::listwatch::{DynListerWatcher, ListerWatcher};
use super::reflector::{Reflector, WatchErrorHandler};
use super::store::Indexer;
use crate::error::{Error, panic_message};
use crate::resource::{Object, Resource};

/// Shortest resync period a handler may ask for (client-go's `minimumResyncPeriod`).
pub const MINIMUM_RESYNC_PERIOD: Duration = Duration::from_secs(1);
/// How often sync waiters poll (client-go's `syncedPollPeriod`).
const SYNCED_POLL_PERIOD: Duration = Duration::from_millis(100);

/// Reacts to changes of cached objects. All methods have empty defaults.
///
/// Calls run on the handler's own thread, in order; they should be quick
/// (typically: enqueue a key on a workqueue). Objects are shared `Arc`s.
pub trait ResourceEventHandler<K>: Send + Sync + 'static {
    /// An object appeared; `is_in_initial_list` is true for objects of the
    /// first list (or the replay a late handler receives).
    fn on_add(&self, obj: &Arc<K>, is_in_initial_list: bool) {
        let _ = (obj, is_in_initial_list);
    }
    /// An object changed, or a resync (then `old` and `new` are the same object).
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        let _ = (old, new);
    }
    /// An object was deleted; a tombstone if the deletion was discovered by a relist.
    fn on_delete(&self, obj: &DeltaObject<K>) {
        let _ = obj;
    }
}

type AddFn<K> = Box<dyn Fn(&Arc<K>, bool) + Send + Sync>;
type UpdateFn<K> = Box<dyn Fn(&Arc<K>, &Arc<K>) + Send + Sync>;
type DeleteFn<K> = Box<dyn Fn(&DeltaObject<K>) + Send + Sync>;

/// A handler from closures (client-go's `ResourceEventHandlerFuncs`); unset ones do nothing.
pub struct EventHandlerFuncs<K> {
    add: Option<AddFn<K>>,
    update: Option<UpdateFn<K>>,
    delete: Option<DeleteFn<K>>,
}

impl<K> Default for EventHandlerFuncs<K> {
    fn default() -> Self {
        Self {
            add: None,
            update: None,
            delete: None,
        }
    }
}

impl<K> EventHandlerFuncs<K> {
    /// A handler that does nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Called on add with `(obj, is_in_initial_list)`.
    pub fn add_func(mut self, f: impl Fn(&Arc<K>, bool) + Send + Sync + 'static) -> Self {
        self.add = Some(Box::new(f));
        self
    }
    /// Called on update with `(old, new)`.
    pub fn update_func(mut self, f: impl Fn(&Arc<K>, &Arc<K>) + Send + Sync + 'static) -> Self {
        self.update = Some(Box::new(f));
        self
    }
    /// Called on delete with the object or its tombstone.
    pub fn delete_func(mut self, f: impl Fn(&DeltaObject<K>) + Send + Sync + 'static) -> Self {
        self.delete = Some(Box::new(f));
        self
    }
}

impl<K: Send + Sync + 'static> ResourceEventHandler<K> for EventHandlerFuncs<K> {
    fn on_add(&self, obj: &Arc<K>, initial: bool) {
        if let Some(f) = &self.add {
            f(obj, initial);
        }
    }
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        if let Some(f) = &self.update {
            f(old, new);
        }
    }
    fn on_delete(&self, obj: &DeltaObject<K>) {
        if let Some(f) = &self.delete {
            f(obj);
        }
    }
}

/// Why an informer refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InformerError {
    /// The informer was stopped; it takes no more handlers and cannot run again.
    #[error("the informer has stopped; it takes no handlers and cannot be restarted")]
    Stopped,
    /// Transform and watch-error handler must be set before `run`.
    #[error("the informer has already started; {0} must be set before run")]
    AlreadyStarted(&'static str),
}

enum Notification<K> {
    Add { obj: Arc<K>, initial: bool },
    Update { old: Arc<K>, new: Arc<K> },
    Delete(DeltaObject<K>),
}

impl<K> Clone for Notification<K> {
    fn clone(&self) -> Self {
        match self {
            Self::Add { obj, initial } => Self::Add {
                obj: obj.clone(),
                initial: *initial,
            },
            Self::Update { old, new } => Self::Update {
                old: old.clone(),
                new: new.clone(),
            },
            Self::Delete(o) => Self::Delete(o.clone()),
        }
    }
}

/// One handler's buffer and resync schedule (client-go's `processorListener`).
struct Listener<K> {
    id: u64,
    tx: mpsc::Sender<Notification<K>>,
    requested_resync: Duration,
    resync: Mutex<ResyncState>,
    pending_initial: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
}

struct ResyncState {
    period: Duration,
    next: Instant,
}

impl<K> Listener<K> {
    fn send(&self, n: Notification<K>) {
        if let Notification::Add { initial: true, .. } = n {
            self.pending_initial.fetch_add(1, Ordering::SeqCst);
        }
        // A send fails only after the thread ended (removal or shutdown).
        let _ = self.tx.send(n);
    }
}

fn spawn_listener_thread<K: Send + Sync + 'static>(
    handler: Box<dyn ResourceEventHandler<K>>,
    rx: mpsc::Receiver<Notification<K>>,
    pending_initial: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
    reporter: Arc<Reporter>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("informer-handler".into())
        .spawn(move || {
            while let Ok(n) = rx.recv() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let initial = matches!(n, Notification::Add { initial: true, .. });
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| match &n {
                    Notification::Add { obj, initial } => handler.on_add(obj, *initial),
                    Notification::Update { old, new } => handler.on_update(old, new),
                    Notification::Delete(o) => handler.on_delete(o),
                }));
                if let Err(payload) = outcome {
                    reporter.handler_panicked(panic_message(&*payload));
                }
                if initial {
                    pending_initial.fetch_sub(1, Ordering::SeqCst);
                }
            }
        })
        .map(|_| ())
}

/// Where an informer's caught panics go (see the module docs): counted,
/// told to the error handler, and, for the ones that stop the informer,
/// recorded as its failure. Shared with the handler threads and the
/// transform wrapper, which hold no reference to the informer itself.
struct Reporter {
    informer: String,
    error_handler: Mutex<Option<WatchErrorHandler>>,
    handler_panics: AtomicU64,
    /// The first failure: which callback panicked, and its message.
    failure: Mutex<Option<(&'static str, String)>>,
    failure_announced: AtomicBool,
}

impl Reporter {
    /// Hand `err` to the error handler; false if there is none.
    fn tell(&self, err: &Error) -> bool {
        let Some(handler) = self.error_handler.lock().clone() else {
            return false;
        };
        if std::panic::catch_unwind(AssertUnwindSafe(|| handler(err))).is_err() {
            tracing::error!(informer = %self.informer, error = %err,
                "the informer's error handler panicked while told about this error");
        }
        true
    }

    /// An event handler panicked: count it and tell the error handler.
    fn handler_panicked(&self, message: String) {
        self.handler_panics.fetch_add(1, Ordering::SeqCst);
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "informer_handler_panics_total",
            &[("informer", self.informer.clone())]
        )
        .increment(1);
        let err = Error::CallbackPanic {
            callback: "event handler",
            message,
        };
        if !self.tell(&err) {
            tracing::error!(informer = %self.informer, error = %err,
                "informer event handler panicked; it keeps receiving events");
        }
    }

    /// Record what stops the informer; the first failure wins. Runs no user
    /// code, so it may be called under the queue's locks.
    fn fail(&self, callback: &'static str, message: String) {
        let mut failure = self.failure.lock();
        if failure.is_none() {
            *failure = Some((callback, message));
        }
    }

    fn failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .as_ref()
            .map(|&(callback, ref message)| Error::CallbackPanic {
                callback,
                message: message.clone(),
            })
    }

    fn has_failed(&self) -> bool {
        self.failure.lock().is_some()
    }

    /// Log the failure and tell the error handler, once; called by `run`
    /// after the informer stopped, holding no lock.
    fn announce_failure(&self) {
        let Some(err) = self.failure() else {
            return;
        };
        if self.failure_announced.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::error!(informer = %self.informer, error = %err,
            "informer failed and stopped; its cache is no longer updated");
        self.tell(&err);
    }
}

/// Handle to a handler added to an informer.
#[derive(Clone)]
pub struct ResourceEventHandlerRegistration {
    id: u64,
    informer_synced: Arc<dyn Fn() -> bool + Send + Sync>,
    /// The informer stopped or failed (or is gone): it will never sync.
    informer_done: Arc<dyn Fn() -> bool + Send + Sync>,
    pending_initial: Arc<AtomicUsize>,
}

impl std::fmt::Debug for ResourceEventHandlerRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceEventHandlerRegistration")
            .field("id", &self.id)
            .field("has_synced", &self.has_synced())
            .finish()
    }
}

impl ResourceEventHandlerRegistration {
    /// True once the informer synced and this handler processed every
    /// notification of its initial list (or its late-join replay).
    pub fn has_synced(&self) -> bool {
        (self.informer_synced)() && self.pending_initial.load(Ordering::SeqCst) == 0
    }

    /// Wait until [`has_synced`](Self::has_synced); false if `cancel` fires,
    /// or the informer stops or fails, first.
    pub async fn wait_for_sync(&self, cancel: &CancellationToken) -> bool {
        loop {
            if self.has_synced() {
                return true;
            }
            if (self.informer_done)() {
                return false;
            }
            tokio::select! {
                _ = cancel.cancelled() => return false,
                _ = tokio::time::sleep(SYNCED_POLL_PERIOD) => {}
            }
        }
    }
}

/// Wait until every check is true (polling as client-go does), or `cancel`
/// fires; returns false if cancelled first. A bare check cannot tell that an
/// informer failed: prefer [`SharedIndexInformer::wait_for_sync`] or
/// [`ResourceEventHandlerRegistration::wait_for_sync`], which return false then.
pub async fn wait_for_cache_sync(
    cancel: &CancellationToken,
    checks: &[&(dyn Fn() -> bool + Sync)],
) -> bool {
    loop {
        if checks.iter().all(|c| c()) {
            return true;
        }
        tokio::select! {
            _ = cancel.cancelled() => return false,
            _ = tokio::time::sleep(SYNCED_POLL_PERIOD) => {}
        }
    }
}

/// client-go's `determineResyncPeriod`.
fn determine_resync_period(desired: Duration, check: Duration) -> Duration {
    if desired.is_zero() {
        Duration::ZERO
    } else if check.is_zero() {
        tracing::warn!(
            ?desired,
            "resync requested but the informer does not resync; disabled"
        );
        Duration::ZERO
    } else {
        desired.max(check)
    }
}

struct Processor<K> {
    listeners: RwLock<Vec<Arc<Listener<K>>>>,
    /// Listeners due for resync, computed by `should_resync`.
    syncing: Mutex<Vec<u64>>,
}

impl<K> Processor<K> {
    fn distribute(&self, n: Notification<K>, sync: bool) {
        let listeners = self.listeners.read();
        if sync {
            let syncing = self.syncing.lock();
            for l in listeners.iter().filter(|l| syncing.contains(&l.id)) {
                l.send(n.clone());
            }
        } else {
            for l in listeners.iter() {
                l.send(n.clone());
            }
        }
    }

    fn should_resync(&self) -> bool {
        let now = Instant::now();
        let listeners = self.listeners.read();
        let mut syncing = self.syncing.lock();
        syncing.clear();
        for l in listeners.iter() {
            let mut r = l.resync.lock();
            if !r.period.is_zero() && now >= r.next {
                syncing.push(l.id);
                // Step from the schedule, not from `now`: ticks arrive a little
                // late, and `now + period` would make a handler whose period
                // equals the check period skip every other tick.
                let period = r.period;
                r.next += period;
                if r.next <= now {
                    r.next = now + period;
                }
            }
        }
        !syncing.is_empty()
    }

    fn stop_all(&self) {
        for l in self.listeners.write().drain(..) {
            l.stopped.store(true, Ordering::SeqCst);
        }
    }
}

struct Inner<K> {
    name: String,
    indexer: Indexer<K>,
    lw: Arc<dyn DynListerWatcher<K>>,
    processor: Processor<K>,
    /// Held while deltas are applied and while a late handler is replayed the
    /// cache, so the replay and new notifications neither overlap nor gap.
    block_deltas: Mutex<()>,
    started: AtomicBool,
    stopped: AtomicBool,
    fifo: OnceLock<Arc<DeltaFifo<K>>>,
    reflector: OnceLock<Arc<Reflector<K>>>,
    resync_check_period: Mutex<Duration>,
    default_handler_resync: Duration,
    transform: Mutex<Option<Transformer<K>>>,
    reporter: Arc<Reporter>,
    use_watch_list: Mutex<Option<bool>>,
    next_id: AtomicU64,
}

/// An informer for kind `K`; clone freely, all clones share one informer.
pub struct SharedIndexInformer<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for SharedIndexInformer<K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<K: Object> std::fmt::Debug for SharedIndexInformer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedIndexInformer")
            .field("name", &self.inner.name)
            .field("started", &self.inner.started.load(Ordering::SeqCst))
            .field("stopped", &self.inner.stopped.load(Ordering::SeqCst))
            .field("failed", &self.has_failed())
            .field("has_synced", &self.has_synced())
            .finish()
    }
}

impl<K: Object> SharedIndexInformer<K> {
    /// An informer over `lw` with the namespace index and `default_resync` as
    /// both the resync check period and the default per-handler period
    /// (zero: no resync).
    pub fn new(lw: impl ListerWatcher<K>, default_resync: Duration) -> Self {
        Self::with_indexers(lw, default_resync, default_indexers())
    }

    /// Like [`new`](Self::new) with these indexers instead of the default ones.
    pub fn with_indexers(
        lw: impl ListerWatcher<K>,
        default_resync: Duration,
        indexers: Indexers<K>,
    ) -> Self {
        Self::from_dyn(Arc::new(lw), default_resync, indexers)
    }

    pub(crate) fn from_dyn(
        lw: Arc<dyn DynListerWatcher<K>>,
        default_resync: Duration,
        indexers: Indexers<K>,
    ) -> Self {
        let name = std::any::type_name::<K>()
            .rsplit("::")
            .next()
            .unwrap_or("object")
            .to_owned();
        Self {
            inner: Arc::new(Inner {
                reporter: Arc::new(Reporter {
                    informer: name.clone(),
                    error_handler: Mutex::new(None),
                    handler_panics: AtomicU64::new(0),
                    failure: Mutex::new(None),
                    failure_announced: AtomicBool::new(false),
                }),
                name,
                indexer: Indexer::new(indexers),
                lw,
                processor: Processor {
                    listeners: RwLock::new(Vec::new()),
                    syncing: Mutex::new(Vec::new()),
                },
                block_deltas: Mutex::new(()),
                started: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                fifo: OnceLock::new(),
                reflector: OnceLock::new(),
                resync_check_period: Mutex::new(default_resync),
                default_handler_resync: default_resync,
                transform: Mutex::new(None),
                use_watch_list: Mutex::new(None),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Whether `self` and `other` are handles to the same informer.
    pub fn is_same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The cache. Read it; writing to it would desynchronise the informer.
    pub fn indexer(&self) -> &Indexer<K> {
        &self.inner.indexer
    }

    /// Register more indexes (also after start: existing objects are indexed,
    /// on the caller's thread; if an index function panics, the panic reaches
    /// the caller and none of `indexers` is registered).
    pub fn add_indexers(&self, indexers: Indexers<K>) -> Result<(), IndexError> {
        self.inner.indexer.add_indexers(indexers)
    }

    /// Whether the first list has been fully processed into the cache; false
    /// once the informer [failed](Self::has_failed).
    pub fn has_synced(&self) -> bool {
        self.inner.synced()
    }

    /// Wait until [`has_synced`](Self::has_synced); false if the informer
    /// stopped or failed first.
    pub async fn wait_for_sync(&self) -> bool {
        loop {
            if self.has_synced() {
                return true;
            }
            if self.is_stopped() || self.has_failed() {
                return false;
            }
            tokio::time::sleep(SYNCED_POLL_PERIOD.min(Duration::from_millis(20))).await;
        }
    }

    /// The resource version of the last list or watch event the reflector saw.
    pub fn last_sync_resource_version(&self) -> String {
        self.inner
            .reflector
            .get()
            .map(|r| r.last_sync_resource_version())
            .unwrap_or_default()
    }

    /// Whether `run` has been called.
    pub fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// Whether `run` has returned.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Whether a transform, index function or reflector panic stopped the
    /// informer (see the module docs); true from the moment it is caught,
    /// slightly before `run` returns.
    pub fn has_failed(&self) -> bool {
        self.inner.reporter.has_failed()
    }

    /// The panic that stopped the informer, as [`Error::CallbackPanic`]
    /// naming the callback and its message; `None` while it has not failed.
    pub fn failure(&self) -> Option<Error> {
        self.inner.reporter.failure()
    }

    /// How many times an event handler of this informer panicked (each one
    /// was caught; the handlers kept receiving).
    pub fn handler_panics(&self) -> u64 {
        self.inner.reporter.handler_panics.load(Ordering::SeqCst)
    }

    /// Rewrite every object before it is cached (e.g. drop `managedFields`).
    /// Must be called before `run`; runs once per object entering the queue.
    pub fn set_transform(
        &self,
        transform: impl Fn(K) -> K + Send + Sync + 'static,
    ) -> Result<(), InformerError> {
        if self.is_started() {
            return Err(InformerError::AlreadyStarted("the transform"));
        }
        *self.inner.transform.lock() = Some(Arc::new(transform));
        Ok(())
    }

    /// Receive the errors that end a list-and-watch round, and every caught
    /// callback panic as [`Error::CallbackPanic`] (see the module docs). It
    /// runs on the reflector's task or a handler's thread and should be quick.
    /// Before `run` only.
    pub fn set_watch_error_handler(
        &self,
        handler: impl Fn(&Error) + Send + Sync + 'static,
    ) -> Result<(), InformerError> {
        if self.is_started() {
            return Err(InformerError::AlreadyStarted("the watch error handler"));
        }
        *self.inner.reporter.error_handler.lock() = Some(Arc::new(handler));
        Ok(())
    }

    /// Force watch-list streaming on or off (default: on, with fallback). Before `run`.
    pub fn set_use_watch_list(&self, enabled: bool) -> Result<(), InformerError> {
        if self.is_started() {
            return Err(InformerError::AlreadyStarted("watch-list use"));
        }
        *self.inner.use_watch_list.lock() = Some(enabled);
        Ok(())
    }

    /// Add a handler with the informer's default resync period.
    pub fn add_event_handler(
        &self,
        handler: impl ResourceEventHandler<K>,
    ) -> Result<ResourceEventHandlerRegistration, InformerError> {
        self.add_event_handler_with_resync_period(handler, self.inner.default_handler_resync)
    }

    /// Add a handler that wants a resync every `resync_period` (zero: never).
    pub fn add_event_handler_with_resync_period(
        &self,
        handler: impl ResourceEventHandler<K>,
        resync_period: Duration,
    ) -> Result<ResourceEventHandlerRegistration, InformerError> {
        let inner = &self.inner;
        if inner.stopped.load(Ordering::SeqCst) {
            return Err(InformerError::Stopped);
        }
        let mut desired = resync_period;
        if !desired.is_zero() {
            if desired < MINIMUM_RESYNC_PERIOD {
                tracing::warn!(
                    ?desired,
                    "resync period too short; using {MINIMUM_RESYNC_PERIOD:?}"
                );
                desired = MINIMUM_RESYNC_PERIOD;
            }
            let mut check = inner.resync_check_period.lock();
            if desired < *check {
                if inner.started.load(Ordering::SeqCst) {
                    tracing::warn!(?desired, check = ?*check,
                        "resync period shorter than the running informer's check period; using the check period");
                    desired = *check;
                } else {
                    *check = desired;
                    // Listeners registered so far are re-fitted to the new check period.
                    for l in inner.processor.listeners.read().iter() {
                        l.resync.lock().period =
                            determine_resync_period(l.requested_resync, desired);
                    }
                }
            }
        }
        let check = *inner.resync_check_period.lock();
        let period = determine_resync_period(desired, check);

        let (tx, rx) = mpsc::channel();
        let pending_initial = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicBool::new(false));
        let id = inner.next_id.fetch_add(1, Ordering::SeqCst);
        let listener = Arc::new(Listener {
            id,
            tx,
            requested_resync: desired,
            resync: Mutex::new(ResyncState {
                period,
                next: Instant::now() + period,
            }),
            pending_initial: pending_initial.clone(),
            stopped: stopped.clone(),
        });
        if let Err(e) = spawn_listener_thread(
            Box::new(handler),
            rx,
            pending_initial.clone(),
            stopped,
            inner.reporter.clone(),
        ) {
            tracing::error!(error = %e, "could not start a handler thread");
            return Err(InformerError::Stopped);
        }

        {
            // Replay under the deltas lock: no delta is applied between the
            // snapshot and the registration, so nothing is missed or doubled.
            let _blocked = inner.block_deltas.lock();
            if inner.stopped.load(Ordering::SeqCst) {
                listener.stopped.store(true, Ordering::SeqCst);
                return Err(InformerError::Stopped);
            }
            if inner.started.load(Ordering::SeqCst) {
                for obj in inner.indexer.list() {
                    listener.send(Notification::Add { obj, initial: true });
                }
            }
            inner.processor.listeners.write().push(listener);
        }

        let synced_inner = Arc::downgrade(inner);
        let done_inner = Arc::downgrade(inner);
        Ok(ResourceEventHandlerRegistration {
            id,
            informer_synced: Arc::new(move || synced_inner.upgrade().is_some_and(|i| i.synced())),
            informer_done: Arc::new(move || {
                done_inner
                    .upgrade()
                    .is_none_or(|i| i.stopped.load(Ordering::SeqCst) || i.reporter.has_failed())
            }),
            pending_initial,
        })
    }

    /// Remove a handler; it receives nothing after its current call, if any.
    /// Removing twice, or a registration of another informer, is a no-op.
    pub fn remove_event_handler(&self, registration: &ResourceEventHandlerRegistration) {
        let _blocked = self.inner.block_deltas.lock();
        let mut listeners = self.inner.processor.listeners.write();
        if let Some(pos) = listeners.iter().position(|l| l.id == registration.id) {
            let l = listeners.remove(pos);
            l.stopped.store(true, Ordering::SeqCst);
        }
    }

    /// Number of handlers currently registered.
    pub fn handler_count(&self) -> usize {
        self.inner.processor.listeners.read().len()
    }

    /// Run until `cancel` fires, or until the informer fails (a transform,
    /// index function or reflector panic, see the module docs): reflector
    /// plus process loop. A second call while running, or a call after stop,
    /// returns at once.
    pub async fn run(&self, cancel: CancellationToken) {
        let inner = &self.inner;
        if inner.stopped.load(Ordering::SeqCst) {
            tracing::warn!(informer = %inner.name, "run called on a stopped informer");
            return;
        }
        if inner.started.swap(true, Ordering::SeqCst) {
            tracing::warn!(informer = %inner.name, "informer already running");
            return;
        }
        let transformer = inner.transform.lock().clone().map(|t| {
            let reporter = inner.reporter.clone();
            Arc::new(move |obj: K| {
                match std::panic::catch_unwind(AssertUnwindSafe(|| t(obj))) {
                    Ok(obj) => obj,
                    Err(payload) => {
                        reporter.fail("transform", panic_message(&*payload));
                        // Ends the reflector's task (the queue was left as it
                        // was); the process loop sees that and stops.
                        std::panic::resume_unwind(payload)
                    }
                }
            }) as Transformer<K>
        });
        let fifo = Arc::new(DeltaFifo::new(DeltaFifoOptions {
            known_objects: Some(Arc::new(inner.indexer.clone())),
            emit_delta_type_replaced: true,
            transformer,
        }));
        let _ = inner.fifo.set(fifo.clone());

        let weak = Arc::downgrade(inner);
        let mut reflector = Reflector::from_dyn(inner.lw.clone(), fifo.clone())
            .name(inner.name.clone())
            .resync_period(*inner.resync_check_period.lock())
            .should_resync(Arc::new(move || {
                weak.upgrade().is_some_and(|i| i.processor.should_resync())
            }));
        if let Some(h) = inner.reporter.error_handler.lock().clone() {
            reflector = reflector.watch_error_handler(h);
        }
        if let Some(enabled) = *inner.use_watch_list.lock() {
            reflector = reflector.use_watch_list(enabled);
        }
        let reflector = Arc::new(reflector);
        let _ = inner.reflector.set(reflector.clone());
        // Its own token, so a failure can stop it (and its resync loop).
        let reflector_cancel = cancel.child_token();
        let mut reflector_task = tokio::spawn({
            let cancel = reflector_cancel.clone();
            async move { reflector.run(cancel).await }
        });

        let mut reflector_result = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                // The reflector returns only when cancelled, or by panic.
                joined = &mut reflector_task => {
                    reflector_result = Some(joined);
                    break;
                }
                popped = fifo.pop(|deltas, initial| inner.process_deltas(deltas, initial)) => {
                    match popped {
                        Ok(true) => {}
                        // Failed, or closed.
                        Ok(false) | Err(_) => break,
                    }
                }
            }
        }

        reflector_cancel.cancel();
        fifo.close();
        let joined = match reflector_result {
            Some(joined) => joined,
            None => reflector_task.await,
        };
        if let Err(e) = joined {
            if e.is_panic() {
                // A transform panic was recorded first; anything else in the
                // reflector's task is recorded here.
                inner
                    .reporter
                    .fail("reflector", panic_message(&*e.into_panic()));
            } else {
                tracing::error!(informer = %inner.name, error = %e, "reflector task failed");
            }
        }
        {
            let _blocked = inner.block_deltas.lock();
            inner.stopped.store(true, Ordering::SeqCst);
            inner.processor.stop_all();
        }
        inner.reporter.announce_failure();
        tracing::debug!(informer = %inner.name, "informer stopped");
    }
}

impl<K: Object + Resource> SharedIndexInformer<K> {
    /// A typed lister over this informer's cache.
    pub fn lister(&self) -> Lister<K> {
        Lister::new(self.inner.indexer.clone())
    }
}

impl<K: Object> Inner<K> {
    /// The first list is in the cache, and the informer has not failed.
    fn synced(&self) -> bool {
        // Failure is recorded under the queue's lock, so once the queue says
        // synced, a failure while processing the last item is visible here.
        self.fifo.get().is_some_and(|f| f.has_synced()) && !self.reporter.has_failed()
    }

    /// [`handle_deltas`](Self::handle_deltas) with its panic (an index
    /// function's: the only user code it runs) caught and recorded as the
    /// informer's failure; false then, and the informer stops.
    fn process_deltas(&self, deltas: Deltas<K>, is_in_initial_list: bool) -> bool {
        match std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.handle_deltas(deltas, is_in_initial_list)
        })) {
            Ok(()) => !self.reporter.has_failed(),
            Err(payload) => {
                self.reporter
                    .fail("index function", panic_message(&*payload));
                false
            }
        }
    }

    /// Apply one key's deltas to the cache, then notify (client-go's
    /// `processDeltas`). Runs under the queue's lock.
    fn handle_deltas(&self, deltas: Deltas<K>, is_in_initial_list: bool) {
        let _blocked = self.block_deltas.lock();
        for d in deltas.deltas {
            match d.kind {
                DeltaType::Sync | DeltaType::Replaced | DeltaType::Added | DeltaType::Updated => {
                    let new = d.object.object().clone();
                    if let Some(old) = self.indexer.get_by_key(&deltas.key) {
                        self.indexer.update(new.clone());
                        let is_sync = match d.kind {
                            DeltaType::Sync => true,
                            // A relist that found the object unchanged is a resync.
                            DeltaType::Replaced => {
                                old.metadata().resource_version.is_some()
                                    && old.metadata().resource_version
                                        == new.metadata().resource_version
                            }
                            _ => false,
                        };
                        self.processor
                            .distribute(Notification::Update { old, new }, is_sync);
                    } else {
                        self.indexer.add(new.clone());
                        self.processor.distribute(
                            Notification::Add {
                                obj: new,
                                initial: is_in_initial_list,
                            },
                            false,
                        );
                    }
                }
                DeltaType::Deleted => {
                    self.indexer.delete_by_key(&deltas.key);
                    self.processor
                        .distribute(Notification::Delete(d.object), false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Ports of client-go's shared_informer_test.go and controller_test.go
    //! behaviours, against the in-memory fake server (real time: handlers run
    //! on their own threads):
    //! - `events_reach_handlers_in_order_and_cache_first`: controller_test
    //!   TestUpdate (every change seen in order, final state correct) and
    //!   the cache being updated before handlers are told.
    //! - `late_handler_receives_every_existing_object_once`:
    //!   TestSharedInformerInitializationRace / adding handlers after start.
    //! - `registration_has_synced_waits_for_its_own_initial_events`:
    //!   TestSharedInformerHandlerSyncs (per-handler HasSynced).
    //! - `slow_handler_does_not_block_others`: the per-listener buffer
    //!   (TestSharedInformerWatchDisruption's independent listeners).
    //! - `removed_handler_receives_nothing_more`: TestRemoveWhileActive,
    //!   TestSharedInformerRemoveHandler, removing twice.
    //! - `stopped_informer_rejects_handlers_and_restart`: TestAddOnStoppedSharedInformer,
    //!   TestSharedInformerMultipleRun.
    //! - `transform_runs_before_caching`: TestSharedInformerTransformer.
    //! - `relist_after_410_delivers_tombstones`: DeletedFinalStateUnknown
    //!   delivery for deletions missed while disconnected.
    //! - `listener_resync_periods`: TestListenerResyncPeriods (each handler
    //!   resyncs on its own period; zero means never).
    //! - `relist_with_unchanged_objects_is_not_an_update`: Replaced deltas
    //!   with an unchanged resourceVersion only go to resyncing handlers.
    //! - `watch_error_handler_receives_round_errors`: TestSharedInformerWatchErrorHandler.
    //! - `set_transform_and_error_handler_after_start_fail`.
    //!
    //! Panics (no client-go counterpart: there a panic crashes the process):
    //! - `panicking_handler_is_contained_counted_and_reported`.
    //! - `panicking_transform_fails_the_informer` (in the first list, and
    //!   in a watch event after sync).
    //! - `panicking_index_function_fails_the_informer` (same two cases).
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::cache::testing::{FakeServer, TestObj, api_error, connection_refused, gone_status};

    #[derive(Clone, Default)]
    struct Recorder {
        events: Arc<Mutex<Vec<String>>>,
    }

    impl Recorder {
        fn events(&self) -> Vec<String> {
            self.events.lock().clone()
        }
        fn count(&self, prefix: &str) -> usize {
            self.events
                .lock()
                .iter()
                .filter(|e| e.starts_with(prefix))
                .count()
        }
    }

    impl ResourceEventHandler<TestObj> for Recorder {
        fn on_add(&self, obj: &Arc<TestObj>, initial: bool) {
            let key = crate::resource::object_key(obj.metadata());
            self.events
                .lock()
                .push(format!("add {key}={} initial={initial}", obj.value));
        }
        fn on_update(&self, old: &Arc<TestObj>, new: &Arc<TestObj>) {
            let key = crate::resource::object_key(new.metadata());
            self.events
                .lock()
                .push(format!("update {key} {}->{}", old.value, new.value));
        }
        fn on_delete(&self, obj: &DeltaObject<TestObj>) {
            let kind = if obj.is_tombstone() {
                "tombstone"
            } else {
                "object"
            };
            self.events
                .lock()
                .push(format!("delete {} {kind}", obj.key()));
        }
    }

    async fn eventually(what: &str, f: impl Fn() -> bool) {
        for _ in 0..1000 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    struct Running {
        informer: SharedIndexInformer<TestObj>,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    impl Running {
        async fn stop(self) {
            self.cancel.cancel();
            tokio::time::timeout(Duration::from_secs(5), self.task)
                .await
                .expect("informer did not stop")
                .expect("informer panicked");
            assert!(self.informer.is_stopped());
        }
    }

    fn informer(server: &FakeServer, resync: Duration) -> SharedIndexInformer<TestObj> {
        let i = SharedIndexInformer::new(server.clone(), resync);
        i.set_use_watch_list(false).unwrap();
        i
    }

    fn start(informer: &SharedIndexInformer<TestObj>) -> Running {
        let cancel = CancellationToken::new();
        let task = tokio::spawn({
            let (i, c) = (informer.clone(), cancel.clone());
            async move { i.run(c).await }
        });
        Running {
            informer: informer.clone(),
            cancel,
            task,
        }
    }

    fn cache_values(i: &SharedIndexInformer<TestObj>) -> Vec<(String, i64)> {
        let mut v: Vec<_> = i
            .indexer()
            .list()
            .iter()
            .map(|o| (crate::resource::object_key(o.metadata()), o.value))
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

    #[tokio::test]
    async fn events_reach_handlers_in_order_and_cache_first() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 0);
        let inf = informer(&server, Duration::ZERO);
        let rec = Recorder::default();
        // The cache already holds what the handler is told about.
        let cache = inf.indexer().clone();
        let stale = Arc::new(AtomicUsize::new(0));
        let s2 = stale.clone();
        inf.add_event_handler(rec.clone()).unwrap();
        inf.add_event_handler(EventHandlerFuncs::new().update_func(
            move |_old, new: &Arc<TestObj>| {
                // Deleted meanwhile counts as newer.
                let cached = cache.get(new).map_or(i64::MAX, |c| c.value);
                if cached < new.value {
                    s2.fetch_add(1, Ordering::SeqCst);
                }
            },
        ))
        .unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        for v in 1..=20 {
            server.upsert("ns", "a", v);
        }
        server.delete("ns", "a");
        eventually("delete seen", || rec.count("delete") == 1).await;
        let ev = rec.events();
        assert_eq!(ev[0], "add ns/a=0 initial=true");
        for v in 1..=20 {
            assert_eq!(ev[v as usize], format!("update ns/a {}->{v}", v - 1));
        }
        assert_eq!(ev[21], "delete ns/a object");
        assert_eq!(stale.load(Ordering::SeqCst), 0);
        assert!(inf.indexer().is_empty());
        r.stop().await;
    }

    #[tokio::test]
    async fn late_handler_receives_every_existing_object_once() {
        let server = FakeServer::new();
        for i in 0..50 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        let inf = informer(&server, Duration::ZERO);
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        // Keep writing while the late handler joins: no gap, no duplicate.
        let writer = {
            let server = server.clone();
            tokio::spawn(async move {
                for i in 50..100 {
                    server.upsert("ns", &format!("o{i}"), i);
                    tokio::task::yield_now().await;
                }
            })
        };
        let late = Recorder::default();
        let reg = inf.add_event_handler(late.clone()).unwrap();
        writer.await.unwrap();
        eventually("late handler saw all", || late.count("add") == 100).await;
        eventually("cache", || inf.indexer().len() == 100).await;
        let mut keys: Vec<String> = late
            .events()
            .iter()
            .filter(|e| e.starts_with("add"))
            .map(|e| {
                e.split_whitespace()
                    .nth(1)
                    .unwrap()
                    .split('=')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 100, "every object exactly once");
        assert_eq!(late.count("update"), 0);
        eventually("registration synced", || reg.has_synced()).await;
        r.stop().await;
    }

    #[tokio::test]
    async fn registration_has_synced_waits_for_its_own_initial_events() {
        let server = FakeServer::new();
        for i in 0..5 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        let inf = informer(&server, Duration::ZERO);
        let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let g2 = gate.clone();
        let slow = inf
            .add_event_handler(
                EventHandlerFuncs::new().add_func(move |_o: &Arc<TestObj>, _| {
                    let (m, c) = &*g2;
                    let mut open = m.lock().unwrap();
                    while !*open {
                        open = c.wait(open).unwrap();
                    }
                }),
            )
            .unwrap();
        let fast = inf.add_event_handler(Recorder::default()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        eventually("fast handler synced", || fast.has_synced()).await;
        assert!(
            !slow.has_synced(),
            "the blocked handler has not processed its initial list"
        );
        {
            let (m, c) = &*gate;
            *m.lock().unwrap() = true;
            c.notify_all();
        }
        let cancel = CancellationToken::new();
        assert!(
            tokio::time::timeout(Duration::from_secs(5), slow.wait_for_sync(&cancel))
                .await
                .unwrap()
        );
        r.stop().await;
    }

    #[tokio::test]
    async fn slow_handler_does_not_block_others() {
        let server = FakeServer::new();
        let inf = informer(&server, Duration::ZERO);
        let blocked = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let b2 = blocked.clone();
        inf.add_event_handler(
            EventHandlerFuncs::new().add_func(move |_o: &Arc<TestObj>, _| {
                let (m, c) = &*b2;
                let mut open = m.lock().unwrap();
                while !*open {
                    open = c.wait(open).unwrap();
                }
            }),
        )
        .unwrap();
        let quick = Recorder::default();
        inf.add_event_handler(quick.clone()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        for i in 0..200 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        eventually("quick handler got everything", || quick.count("add") == 200).await;
        eventually("cache", || inf.indexer().len() == 200).await;
        let (m, c) = &*blocked;
        *m.lock().unwrap() = true;
        c.notify_all();
        r.stop().await;
    }

    #[tokio::test]
    async fn removed_handler_receives_nothing_more() {
        let server = FakeServer::new();
        let inf = informer(&server, Duration::ZERO);
        let keep = Recorder::default();
        let gone = Recorder::default();
        inf.add_event_handler(keep.clone()).unwrap();
        let reg = inf.add_event_handler(gone.clone()).unwrap();
        assert_eq!(inf.handler_count(), 2);
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        server.upsert("ns", "a", 1);
        eventually("both saw a", || {
            keep.count("add") == 1 && gone.count("add") == 1
        })
        .await;
        inf.remove_event_handler(&reg);
        inf.remove_event_handler(&reg); // twice is a no-op
        assert_eq!(inf.handler_count(), 1);
        server.upsert("ns", "b", 1);
        eventually("kept handler saw b", || keep.count("add") == 2).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gone.events(), ["add ns/a=1 initial=false"]);
        r.stop().await;
    }

    #[tokio::test]
    async fn stopped_informer_rejects_handlers_and_restart() {
        let server = FakeServer::new();
        let inf = informer(&server, Duration::ZERO);
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        // A second run while running returns at once.
        tokio::time::timeout(Duration::from_secs(1), inf.run(CancellationToken::new()))
            .await
            .expect("second run must return immediately");
        r.stop().await;
        assert_eq!(
            inf.add_event_handler(Recorder::default()).unwrap_err(),
            InformerError::Stopped
        );
        tokio::time::timeout(Duration::from_secs(1), inf.run(CancellationToken::new()))
            .await
            .expect("run after stop must return immediately");
        assert_eq!(server.open_watches(), 0);
    }

    #[tokio::test]
    async fn transform_runs_before_caching() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let inf = informer(&server, Duration::ZERO);
        inf.set_transform(|mut o: TestObj| {
            o.value *= 100;
            o.metadata.labels = None;
            o
        })
        .unwrap();
        let rec = Recorder::default();
        inf.add_event_handler(rec.clone()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        server.upsert("ns", "a", 2);
        eventually("update", || rec.count("update") == 1).await;
        assert_eq!(
            rec.events(),
            ["add ns/a=100 initial=true", "update ns/a 100->200"]
        );
        assert_eq!(cache_values(&inf), [("ns/a".to_owned(), 200)]);
        r.stop().await;
    }

    #[tokio::test]
    async fn relist_after_410_delivers_tombstones() {
        let server = FakeServer::new();
        for i in 0..3 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        let inf = informer(&server, Duration::ZERO);
        let rec = Recorder::default();
        inf.add_event_handler(rec.clone()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        eventually("watching", || server.open_watches() == 1).await;

        // Disconnected: the delete happens, then history is compacted away.
        server
            .state
            .lock()
            .fail_watches
            .push_back(Some(connection_refused()));
        server.close_watches();
        server.delete("ns", "o1");
        server.upsert("ns", "o2", 22);
        server.compact();

        eventually("converged", || cache_values(&inf) == server_values(&server)).await;
        eventually("tombstone", || rec.count("delete") == 1).await;
        assert!(rec.events().contains(&"delete ns/o1 tombstone".to_owned()));
        assert!(rec.events().contains(&"update ns/o2 2->22".to_owned()));
        r.stop().await;
    }

    #[tokio::test]
    async fn listener_resync_periods() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let inf = informer(&server, Duration::from_secs(1));
        let never = Recorder::default();
        let every_1s = Recorder::default();
        let every_2s = Recorder::default();
        inf.add_event_handler_with_resync_period(never.clone(), Duration::ZERO)
            .unwrap();
        inf.add_event_handler_with_resync_period(every_1s.clone(), Duration::from_secs(1))
            .unwrap();
        inf.add_event_handler_with_resync_period(every_2s.clone(), Duration::from_secs(2))
            .unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(never.count("update"), 0);
        assert_eq!(every_1s.count("update"), 2, "{:?}", every_1s.events());
        assert_eq!(every_2s.count("update"), 1, "{:?}", every_2s.events());
        // A resync is an update with old == new.
        assert_eq!(every_2s.events()[1], "update ns/a 1->1");
        r.stop().await;
    }

    #[tokio::test]
    async fn relist_with_unchanged_objects_is_not_an_update() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        server.upsert("ns", "b", 1);
        let inf = informer(&server, Duration::ZERO);
        let rec = Recorder::default();
        inf.add_event_handler(rec.clone()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        eventually("watching", || server.open_watches() == 1).await;
        server.error_watches(gone_status());
        eventually("relisted", || server.list_calls().len() == 2).await;
        eventually("watching again", || server.open_watches() == 1).await;
        server.upsert("ns", "b", 2);
        eventually("b update", || rec.count("update") == 1).await;
        assert_eq!(rec.events()[2..], ["update ns/b 1->2".to_owned()]);
        r.stop().await;
    }

    #[tokio::test]
    async fn watch_error_handler_receives_round_errors() {
        let server = FakeServer::new();
        server
            .state
            .lock()
            .fail_lists
            .push_back(Some(api_error(403, "Forbidden")));
        let inf = informer(&server, Duration::ZERO);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        inf.set_watch_error_handler(move |e| s2.lock().push(e.is_forbidden()))
            .unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        assert_eq!(*seen.lock(), [true]);
        r.stop().await;
    }

    #[tokio::test]
    async fn set_transform_and_error_handler_after_start_fail() {
        let server = FakeServer::new();
        let inf = informer(&server, Duration::ZERO);
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        assert!(matches!(
            inf.set_transform(|o| o),
            Err(InformerError::AlreadyStarted(_))
        ));
        assert!(matches!(
            inf.set_watch_error_handler(|_| {}),
            Err(InformerError::AlreadyStarted(_))
        ));
        r.stop().await;
    }

    #[tokio::test]
    async fn lister_reads_the_informer_cache() {
        let server = FakeServer::new();
        server.upsert("ns1", "a", 1);
        server.upsert("ns2", "b", 2);
        let inf = informer(&server, Duration::ZERO);
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        let lister = inf.lister();
        let all = crate::selector::Selector::everything();
        assert_eq!(lister.list(&all).len(), 2);
        assert_eq!(lister.namespaced("ns1").list(&all).len(), 1);
        assert_eq!(lister.namespaced("ns2").get("b").unwrap().value, 2);
        let err = lister.namespaced("ns1").get("b").unwrap_err();
        assert!(err.is_not_found());
        assert!(
            err.to_string()
                .contains("testobjs.test.kubegen.io \"b\" not found"),
            "{err}"
        );
        r.stop().await;
    }

    /// Records every `Error::CallbackPanic` the error handler is told about,
    /// as `callback: message`.
    fn panic_log(inf: &SharedIndexInformer<TestObj>) -> Arc<Mutex<Vec<String>>> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l2 = log.clone();
        inf.set_watch_error_handler(move |e| {
            if let Error::CallbackPanic { callback, message } = e {
                l2.lock().push(format!("{callback}: {message}"));
            }
        })
        .unwrap();
        log
    }

    #[tokio::test]
    async fn panicking_handler_is_contained_counted_and_reported() {
        let server = FakeServer::new();
        server.upsert("ns", "o1", 1);
        server.upsert("ns", "o2", 2);
        let inf = informer(&server, Duration::ZERO);
        let log = panic_log(&inf);
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let panicky = inf
            .add_event_handler(
                EventHandlerFuncs::new()
                    .add_func(move |o: &Arc<TestObj>, _| {
                        c2.fetch_add(1, Ordering::SeqCst);
                        assert!(o.value % 2 == 0, "odd value {}", o.value);
                    })
                    .update_func(|_old, new: &Arc<TestObj>| {
                        assert!(new.value % 2 == 0, "odd update {}", new.value);
                    }),
            )
            .unwrap();
        let rec = Recorder::default();
        inf.add_event_handler(rec.clone()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        let cancel = CancellationToken::new();
        assert!(
            tokio::time::timeout(Duration::from_secs(5), panicky.wait_for_sync(&cancel))
                .await
                .unwrap(),
            "a handler that panicked on its initial list still syncs"
        );
        for i in 3..=10 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        server.upsert("ns", "o2", 21);
        eventually("the other handler saw everything", || {
            rec.count("add") == 10 && rec.count("update") == 1
        })
        .await;
        eventually("the panicking handler saw every add", || {
            calls.load(Ordering::SeqCst) == 10
        })
        .await;
        // Adds of 1, 3, 5, 7, 9 and the update to 21.
        eventually("six panics reported", || log.lock().len() == 6).await;
        assert_eq!(inf.handler_panics(), 6);
        let mut reported = log.lock().clone();
        reported.sort();
        assert_eq!(
            reported,
            [
                "event handler: odd update 21",
                "event handler: odd value 1",
                "event handler: odd value 3",
                "event handler: odd value 5",
                "event handler: odd value 7",
                "event handler: odd value 9",
            ]
        );
        assert!(!inf.has_failed() && inf.failure().is_none());
        assert!(inf.has_synced());
        assert_eq!(inf.indexer().len(), 10);
        r.stop().await;
    }

    /// Runs `inf` until it fails by itself, checking what a failed informer
    /// shows; returns the failure's `callback: message`.
    async fn run_until_failed(
        inf: &SharedIndexInformer<TestObj>,
        reg: &ResourceEventHandlerRegistration,
        task: tokio::task::JoinHandle<()>,
    ) -> String {
        let bound = Duration::from_secs(5);
        let synced = tokio::time::timeout(bound, inf.wait_for_sync())
            .await
            .expect("wait_for_sync must not hang on a failed informer");
        assert!(!synced, "a failed informer is not synced");
        let cancel = CancellationToken::new();
        let reg_synced = tokio::time::timeout(bound, reg.wait_for_sync(&cancel))
            .await
            .expect("a registration's wait_for_sync must not hang either");
        assert!(!reg_synced);
        assert!(!cancel.is_cancelled());
        tokio::time::timeout(bound, task)
            .await
            .expect("run returns by itself after a failure")
            .expect("run itself does not panic");
        assert!(inf.is_stopped() && inf.has_failed() && !inf.has_synced());
        assert!(!reg.has_synced());
        assert_eq!(
            inf.add_event_handler(Recorder::default()).unwrap_err(),
            InformerError::Stopped
        );
        match inf.failure() {
            Some(Error::CallbackPanic { callback, message }) => format!("{callback}: {message}"),
            other => panic!("expected a CallbackPanic failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn panicking_transform_fails_the_informer() {
        for in_first_list in [true, false] {
            let server = FakeServer::new();
            server.upsert("ns", "a", 1);
            if in_first_list {
                server.upsert("ns", "b", 13);
            }
            let inf = informer(&server, Duration::ZERO);
            inf.set_transform(|o: TestObj| {
                assert_ne!(o.value, 13, "transform refuses 13");
                o
            })
            .unwrap();
            let log = panic_log(&inf);
            let rec = Recorder::default();
            let reg = inf.add_event_handler(rec.clone()).unwrap();
            let r = start(&inf);
            if !in_first_list {
                assert!(inf.wait_for_sync().await);
                eventually("watching", || server.open_watches() == 1).await;
                server.upsert("ns", "b", 13);
                eventually("failed", || inf.has_failed()).await;
            }
            let failure = run_until_failed(&inf, &reg, r.task).await;
            assert!(
                failure.starts_with("transform: ") && failure.contains("transform refuses 13"),
                "{failure}"
            );
            assert_eq!(*log.lock(), [failure], "told once");
            assert_eq!(server.open_watches(), 0, "the reflector stopped");
            let lists = server.list_calls().len();
            // The cache holds what came before the panic, never the object
            // that panicked.
            if in_first_list {
                assert!(inf.indexer().is_empty());
            } else {
                assert_eq!(cache_values(&inf), [("ns/a".to_owned(), 1)]);
                assert_eq!(rec.events(), ["add ns/a=1 initial=true"]);
            }
            // Nothing restarts it: `run` returned after joining the
            // reflector, so no list or watch is left to see this change.
            server.upsert("ns", "c", 2);
            assert_eq!(server.list_calls().len(), lists);
            assert_eq!(server.open_watches(), 0);
        }
    }

    #[tokio::test]
    async fn panicking_index_function_fails_the_informer() {
        for in_first_list in [true, false] {
            let server = FakeServer::new();
            server.upsert("ns", "a", 1);
            if in_first_list {
                server.upsert("ns", "b", 13);
            }
            let mut indexers = crate::cache::index::default_indexers();
            indexers.insert(
                "value".to_owned(),
                Arc::new(|o: &TestObj| {
                    assert_ne!(o.value, 13, "index function refuses 13");
                    vec![o.value.to_string()]
                }),
            );
            let inf = SharedIndexInformer::with_indexers(server.clone(), Duration::ZERO, indexers);
            inf.set_use_watch_list(false).unwrap();
            let log = panic_log(&inf);
            let rec = Recorder::default();
            let reg = inf.add_event_handler(rec.clone()).unwrap();
            let r = start(&inf);
            if !in_first_list {
                assert!(inf.wait_for_sync().await);
                eventually("watching", || server.open_watches() == 1).await;
                server.upsert("ns", "a", 13);
                eventually("failed", || inf.has_failed()).await;
            }
            let failure = run_until_failed(&inf, &reg, r.task).await;
            assert!(
                failure.starts_with("index function: ")
                    && failure.contains("index function refuses 13"),
                "{failure}"
            );
            assert_eq!(*log.lock(), [failure], "told once");
            assert_eq!(server.open_watches(), 0, "the reflector stopped");
            // The change that panicked was not applied, halfway or at all;
            // the cache stays readable and consistent.
            assert_eq!(cache_values(&inf), [("ns/a".to_owned(), 1)]);
            let by_value = inf.indexer().by_index("value", "1").unwrap();
            assert_eq!(by_value.len(), 1);
            assert!(inf.indexer().by_index("value", "13").unwrap().is_empty());
            assert_eq!(inf.indexer().by_index("namespace", "ns").unwrap().len(), 1);
            if !in_first_list {
                assert_eq!(rec.events(), ["add ns/a=1 initial=true"]);
            }
        }
    }
}

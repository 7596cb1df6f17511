//! SharedIndexInformer: one reflector, one cache, many event handlers
//! (client-go's `shared_informer.go` + `controller.go`).
//!
//! Contract:
//! - **Configured, then run.** An informer is configured by an
//!   [`InformerBuilder`] ([`SharedIndexInformer::builder`]): indexers,
//!   transform, watch-error handler, watch-list use. Those settings are
//!   consumed by [`build`](InformerBuilder::build), so there is no way to
//!   change them once the informer exists, let alone once it runs.
//!   [`run`](SharedIndexInformer::run) then runs it once: a second call
//!   while it runs, or a call after it stopped, returns at once.
//! - **One watch, one cache.** The informer runs a [`Reflector`] into a
//!   [`DeltaFifo`] whose known objects are the informer's [`Indexer`]; a
//!   process loop pops each key's deltas, applies them to the indexer and
//!   hands notifications to every handler. The indexer is always updated
//!   *before* handlers hear about a change, so a handler that reads the lister
//!   sees at least that state.
//! - **Handlers** implement [`ResourceEventHandler`] (or use
//!   [`EventHandlerFuncs`]): `on_add(obj, is_in_initial_list)`,
//!   `on_update(old, new)`, `on_delete(obj or tombstone)`. Each handler has its
//!   own unbounded buffer and its own delivery task (started when the
//!   informer runs), which hands what is buffered to the handler on Tokio's
//!   blocking pool, a batch at a time. So a slow or blocking handler delays
//!   only itself (it holds a pool thread, never a runtime worker), and each
//!   handler sees notifications in order. Calls should still be quick
//!   (typically: enqueue a key on a workqueue); one that never returns keeps
//!   its pool thread, and a Tokio runtime waits for it when dropped.
//! - **Late handlers**: handlers can be added before and after `run`. A
//!   handler added after start first receives an `on_add` (with
//!   `is_in_initial_list = true`) for every object in the cache, exactly once,
//!   atomically with respect to new deltas (no gap, no duplicate).
//! - **Sync signal**: [`has_synced`](SharedIndexInformer::has_synced) turns
//!   true once the first list has been delivered to the cache and to the
//!   handlers' buffers (every item popped and processed). The informer flips
//!   one [`tokio::sync::watch`] value at that moment (and when it stops
//!   or fails), so every waiter (`wait_for_sync`, a registration's
//!   `wait_for_sync`, [`wait_for_cache_sync`], the factory's
//!   `wait_for_cache_sync`) awaits a change instead of polling.
//! - **Registrations** ([`ResourceEventHandlerRegistration`]) have their own
//!   `has_synced`: true once the informer synced and this handler has
//!   *processed* all of its initial-list notifications. They can be removed;
//!   after removal the handler receives nothing more (a call in progress ends).
//! - **Resync**: each handler may ask for its own period (at least 1 s; at
//!   least the informer's check period once started). On resync, `on_update`
//!   with `old == new` goes only to the handlers that are due. A relist that
//!   finds an object unchanged (same resourceVersion) is treated as a resync.
//! - **Transform** ([`InformerBuilder::transform`]) rewrites each object once
//!   before it is cached and handed out.
//! - **Watch errors** go to [`InformerBuilder::watch_error_handler`]'s
//!   function (default: logged), and so do the panics below.
//! - **Shutdown**: cancel the token given to [`run`](SharedIndexInformer::run);
//!   the reflector stops, the queue closes, handler tasks exit after their
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
//!   closed and dropped, handler tasks exit, and `run` returns. The change
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
//! use std::time::Duration;
//! use kubegen_core::Object;
//! use kubegen_cache::{EventHandlerFuncs, ListerWatcher, SharedIndexInformer};
//! use tokio_util::sync::CancellationToken;
//!
//! async fn demo<K: Object>(lw: impl ListerWatcher<K>) {
//!     let informer = SharedIndexInformer::builder(lw, Duration::ZERO)
//!         .transform(|mut obj: K| {
//!             obj.metadata_mut().managed_fields = None;
//!             obj
//!         })
//!         .build();
//!     let reg = informer
//!         .add_event_handler(EventHandlerFuncs::new().add_func(|obj: &Arc<K>, _initial| {
//!             println!("added {:?}", obj.metadata().name);
//!         }))
//!         .expect("informer has not stopped");
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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::delta_fifo::{DeltaFifo, DeltaFifoOptions, DeltaObject, DeltaType, Deltas, Transformer};
use super::index::{IndexError, Indexers, default_indexers};
use super::lister::Lister;
use super::listwatch::{DynListerWatcher, ListerWatcher};
use super::reflector::{Reflector, WatchErrorHandler};
use super::store::Indexer;
use kubegen_core::error::{Error, panic_message};
use kubegen_core::resource::{Object, Resource};

/// Shortest resync period a handler may ask for (client-go's `minimumResyncPeriod`).
pub const MINIMUM_RESYNC_PERIOD: Duration = Duration::from_secs(1);

/// Reacts to changes of cached objects. All methods have empty defaults.
///
/// Calls for one handler run one at a time and in order, on Tokio's blocking
/// pool; they should be quick (typically: enqueue a key on a workqueue).
/// Objects are shared `Arc`s.
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

/// What sync waiters watch: one value per informer, changed only by the
/// informer (its queue's synced hook, a caught failure, the end of `run`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Status {
    /// The first list is in the cache and in the handlers' buffers: the
    /// queue popped and processed every item of it.
    listed: bool,
    /// `run` returned.
    stopped: bool,
    /// A transform, index function or reflector panic stopped the informer.
    failed: bool,
}

impl Status {
    /// [`SharedIndexInformer::has_synced`].
    fn synced(self) -> bool {
        self.listed && !self.failed
    }

    /// It will not sync any more (or again).
    fn done(self) -> bool {
        self.stopped || self.failed
    }
}

/// One handler's buffer and resync schedule (client-go's `processorListener`).
struct Listener<K> {
    id: u64,
    tx: mpsc::UnboundedSender<Notification<K>>,
    requested_resync: Duration,
    resync: Mutex<ResyncState>,
    /// Initial-list notifications handed to the handler and not yet processed.
    pending_initial: watch::Sender<usize>,
    stopped: Arc<AtomicBool>,
}

struct ResyncState {
    period: Duration,
    next: Instant,
}

impl<K> Listener<K> {
    fn send(&self, n: Notification<K>) {
        if let Notification::Add { initial: true, .. } = n {
            self.pending_initial.send_modify(|p| *p += 1);
        }
        // A send fails only after the task ended (removal or shutdown).
        let _ = self.tx.send(n);
    }
}

/// Most notifications a handler is handed in one blocking-pool call.
const DELIVERY_BATCH: usize = 256;

/// A handler's delivery loop: the other end of its [`Listener`], run as a
/// Tokio task while the informer runs.
struct Delivery<K> {
    handler: Box<dyn ResourceEventHandler<K>>,
    rx: mpsc::UnboundedReceiver<Notification<K>>,
    pending_initial: watch::Sender<usize>,
    stopped: Arc<AtomicBool>,
    reporter: Arc<Reporter>,
}

impl<K: Send + Sync + 'static> Delivery<K> {
    /// Hand the notifications to the handler, in order, until the listener
    /// is removed or the informer stops. Waiting is async; the calls run on
    /// Tokio's blocking pool, a batch of what is buffered at a time, so a
    /// handler that blocks holds a pool thread and never a runtime worker
    /// (nor the tasks that worker would run next), and so, on a paused test
    /// clock, time stands still while a handler runs.
    async fn run(self) {
        let Self {
            handler,
            mut rx,
            pending_initial,
            stopped,
            reporter,
        } = self;
        let handler: Arc<dyn ResourceEventHandler<K>> = Arc::from(handler);
        let mut batch = Vec::with_capacity(DELIVERY_BATCH);
        while rx.recv_many(&mut batch, DELIVERY_BATCH).await > 0 {
            let (handler, pending, halt, reporter) = (
                handler.clone(),
                pending_initial.clone(),
                stopped.clone(),
                reporter.clone(),
            );
            let calls = tokio::task::spawn_blocking(move || {
                for n in batch.drain(..) {
                    if halt.load(Ordering::SeqCst) {
                        break;
                    }
                    deliver(handler.as_ref(), &n, &reporter);
                    if let Notification::Add { initial: true, .. } = n {
                        pending.send_modify(|p| *p -= 1);
                    }
                }
                batch.clear();
                batch
            });
            match calls.await {
                Ok(emptied) => batch = emptied,
                // Only when the runtime shuts down: a handler's panic is
                // caught in `deliver`.
                Err(_) => break,
            }
            if stopped.load(Ordering::SeqCst) {
                break;
            }
        }
    }
}

/// One handler call; a panic ends that call only, and is counted and reported.
fn deliver<K: 'static>(
    handler: &dyn ResourceEventHandler<K>,
    n: &Notification<K>,
    reporter: &Reporter,
) {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| match n {
        Notification::Add { obj, initial } => handler.on_add(obj, *initial),
        Notification::Update { old, new } => handler.on_update(old, new),
        Notification::Delete(o) => handler.on_delete(o),
    }));
    if let Err(payload) = outcome {
        reporter.handler_panicked(panic_message(&*payload));
    }
}

/// Where an informer's caught panics go (see the module docs): counted,
/// told to the error handler, and, for the ones that stop the informer,
/// recorded as its failure and flipped into its [`Status`]. Shared with the
/// handler tasks and the transform wrapper, which hold no reference to the
/// informer itself.
struct Reporter {
    informer: String,
    error_handler: Option<WatchErrorHandler>,
    handler_panics: AtomicU64,
    /// The first failure: which callback panicked, and its message.
    failure: Mutex<Option<(&'static str, String)>>,
    failure_announced: AtomicBool,
    status: watch::Sender<Status>,
}

impl Reporter {
    /// Hand `err` to the error handler; false if there is none.
    fn tell(&self, err: &Error) -> bool {
        let Some(handler) = &self.error_handler else {
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
            self.status.send_modify(|s| s.failed = true);
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
        self.status.borrow().failed
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
    /// The informer's status; closed once the informer is gone.
    informer: watch::Receiver<Status>,
    /// This handler's unprocessed initial-list notifications.
    pending_initial: watch::Sender<usize>,
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
        // A closed channel: the informer is gone, it will never sync.
        self.informer.has_changed().is_ok()
            && self.informer.borrow().synced()
            && *self.pending_initial.borrow() == 0
    }

    /// Wait until [`has_synced`](Self::has_synced); false if `cancel` fires,
    /// or the informer stops or fails, first.
    pub async fn wait_for_sync(&self, cancel: &CancellationToken) -> bool {
        let mut informer = self.informer.clone();
        let mut pending = self.pending_initial.subscribe();
        loop {
            // Mark both as seen before looking, so no change is missed.
            let status = *informer.borrow_and_update();
            let pending_now = *pending.borrow_and_update();
            if informer.has_changed().is_err() {
                return false;
            }
            if status.synced() && pending_now == 0 {
                return true;
            }
            if status.done() {
                return false;
            }
            tokio::select! {
                _ = cancel.cancelled() => return false,
                changed = informer.changed() => if changed.is_err() {
                    return false;
                },
                // The sender lives in `self`: this never closes.
                _ = pending.changed() => {}
            }
        }
    }
}

/// What [`wait_for_cache_sync`] waits on: an informer or a handler
/// registration (client-go's `InformerSynced`, awaited instead of polled).
pub trait InformerSynced: Send + Sync {
    /// Whether it has synced now.
    fn has_synced(&self) -> bool;
    /// Wait until it has synced; false if `cancel` fires, or it stops or
    /// fails, first.
    fn wait_until_synced<'a>(&'a self, cancel: &'a CancellationToken) -> BoxFuture<'a, bool>;
}

impl InformerSynced for ResourceEventHandlerRegistration {
    fn has_synced(&self) -> bool {
        ResourceEventHandlerRegistration::has_synced(self)
    }
    fn wait_until_synced<'a>(&'a self, cancel: &'a CancellationToken) -> BoxFuture<'a, bool> {
        Box::pin(self.wait_for_sync(cancel))
    }
}

impl<K: Object> InformerSynced for SharedIndexInformer<K> {
    fn has_synced(&self) -> bool {
        SharedIndexInformer::has_synced(self)
    }
    fn wait_until_synced<'a>(&'a self, cancel: &'a CancellationToken) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            tokio::select! {
                // Synced wins over a cancel that is already there.
                biased;
                synced = self.wait_for_sync() => synced,
                _ = cancel.cancelled() => false,
            }
        })
    }
}

/// Wait until every one of `synced` has synced (client-go's
/// `WaitForCacheSync`, on the informers' sync signals rather than a poll);
/// false as soon as `cancel` fires or one of them stops or fails.
pub async fn wait_for_cache_sync(
    cancel: &CancellationToken,
    synced: &[&dyn InformerSynced],
) -> bool {
    wait_all(cancel, synced.iter().copied()).await
}

/// Wait for all of `synced` together; false at the first that cannot sync.
pub(crate) async fn wait_all<'a>(
    cancel: &CancellationToken,
    synced: impl Iterator<Item = &'a dyn InformerSynced> + Clone,
) -> bool {
    loop {
        let waits = synced.clone().map(|s| async move {
            if s.wait_until_synced(cancel).await {
                Ok(())
            } else {
                Err(())
            }
        });
        if futures::future::try_join_all(waits).await.is_err() {
            return false;
        }
        // One that synced early may have failed since (a failure clears
        // has_synced for good, so this ends): look again.
        if synced.clone().all(|s| s.has_synced()) {
            return true;
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

/// Where an informer is in its life; `run` moves it forward, never back.
enum Lifecycle<K> {
    /// Built, `run` not called yet: what `run` consumes.
    Ready(Box<Startup<K>>),
    /// `run` is running the reflector and the process loop.
    Running {
        /// Where handlers added from now on get their task.
        runtime: tokio::runtime::Handle,
        reflector: Arc<Reflector<K>>,
        /// Fixed at start: the reflector's resync period.
        resync_check_period: Duration,
    },
    /// `run` returned (cancelled or failed): no handlers, no second run.
    Stopped { reflector: Arc<Reflector<K>> },
}

impl<K> Lifecycle<K> {
    fn name(&self) -> &'static str {
        match self {
            Self::Ready(_) => "ready",
            Self::Running { .. } => "running",
            Self::Stopped { .. } => "stopped",
        }
    }
}

/// What a built informer hands to `run`.
struct Startup<K> {
    fifo: Arc<DeltaFifo<K>>,
    use_watch_list: Option<bool>,
    /// Lowered by handlers added before start that want a shorter period.
    resync_check_period: Duration,
    /// Handlers added before start, whose tasks `run` spawns.
    deliveries: Vec<Delivery<K>>,
}

/// What `run` runs, from [`SharedIndexInformer::start`].
struct Started<K> {
    fifo: Arc<DeltaFifo<K>>,
    reflector: Arc<Reflector<K>>,
}

struct Inner<K> {
    name: String,
    indexer: Indexer<K>,
    lw: Arc<dyn DynListerWatcher<K>>,
    processor: Processor<K>,
    /// Held while deltas are applied and while a late handler is replayed the
    /// cache, so the replay and new notifications neither overlap nor gap.
    block_deltas: Mutex<()>,
    /// Taken before `block_deltas` when both are needed.
    lifecycle: Mutex<Lifecycle<K>>,
    default_handler_resync: Duration,
    reporter: Arc<Reporter>,
    /// The sync signal; the reporter holds the sender.
    status: watch::Receiver<Status>,
    next_id: AtomicU64,
}

/// Settings of a [`SharedIndexInformer`] that must be fixed before it runs,
/// consumed by [`build`](Self::build). From [`SharedIndexInformer::builder`]
/// (or, with a factory's settings, `InformerFactory::informer_builder`).
pub struct InformerBuilder<K> {
    lw: Arc<dyn DynListerWatcher<K>>,
    default_resync: Duration,
    indexers: Indexers<K>,
    transform: Option<Transformer<K>>,
    watch_error_handler: Option<WatchErrorHandler>,
    use_watch_list: Option<bool>,
}

impl<K> std::fmt::Debug for InformerBuilder<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InformerBuilder")
            .field("default_resync", &self.default_resync)
            .field("indexers", &self.indexers.keys().collect::<Vec<_>>())
            .field("transform", &self.transform.is_some())
            .field("watch_error_handler", &self.watch_error_handler.is_some())
            .field("use_watch_list", &self.use_watch_list)
            .finish()
    }
}

impl<K: Object> InformerBuilder<K> {
    pub(crate) fn from_dyn(lw: Arc<dyn DynListerWatcher<K>>, default_resync: Duration) -> Self {
        Self {
            lw,
            default_resync,
            indexers: default_indexers(),
            transform: None,
            watch_error_handler: None,
            use_watch_list: None,
        }
    }

    /// These indexers instead of the default ones (the namespace index).
    pub fn indexers(mut self, indexers: Indexers<K>) -> Self {
        self.indexers = indexers;
        self
    }

    /// Rewrite every object before it is cached (e.g. drop `managedFields`);
    /// runs once per object entering the queue. A panic fails the informer
    /// (see the module docs).
    pub fn transform(mut self, transform: impl Fn(K) -> K + Send + Sync + 'static) -> Self {
        self.transform = Some(Arc::new(transform));
        self
    }

    /// Like [`transform`](Self::transform), with a shared transformer; `None`
    /// leaves the objects as they are.
    pub(crate) fn transformer(mut self, transform: Option<Transformer<K>>) -> Self {
        self.transform = transform;
        self
    }

    /// Receive the errors that end a list-and-watch round, and every caught
    /// callback panic as [`Error::CallbackPanic`] (see the module docs). It
    /// runs where the error happened (the reflector's task, the thread of
    /// the handler that panicked) and should be quick.
    pub fn watch_error_handler(mut self, handler: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.watch_error_handler = Some(Arc::new(handler));
        self
    }

    /// Force watch-list streaming on or off (default: on, with fallback).
    pub fn use_watch_list(mut self, enabled: bool) -> Self {
        self.use_watch_list = Some(enabled);
        self
    }

    /// [`use_watch_list`](Self::use_watch_list) if `enabled` is set.
    pub(crate) fn maybe_use_watch_list(mut self, enabled: Option<bool>) -> Self {
        if enabled.is_some() {
            self.use_watch_list = enabled;
        }
        self
    }

    /// The informer, ready to take handlers and to [`run`](SharedIndexInformer::run).
    pub fn build(self) -> SharedIndexInformer<K> {
        let name = std::any::type_name::<K>()
            .rsplit("::")
            .next()
            .unwrap_or("object")
            .to_owned();
        let (status_tx, status) = watch::channel(Status::default());
        let reporter = Arc::new(Reporter {
            informer: name.clone(),
            error_handler: self.watch_error_handler,
            handler_panics: AtomicU64::new(0),
            failure: Mutex::new(None),
            failure_announced: AtomicBool::new(false),
            status: status_tx,
        });
        let indexer = Indexer::new(self.indexers);
        let transformer = self.transform.map(|t| {
            let reporter = reporter.clone();
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
        let synced = reporter.clone();
        let fifo = DeltaFifo::new(DeltaFifoOptions {
            known_objects: Some(Arc::new(indexer.clone())),
            emit_delta_type_replaced: true,
            transformer,
        })
        // The one place the informer syncs: under the queue's lock, after
        // the last item of the first list was processed.
        .on_synced(move || synced.status.send_modify(|s| s.listed = true));
        SharedIndexInformer {
            inner: Arc::new(Inner {
                name,
                indexer,
                lw: self.lw,
                processor: Processor {
                    listeners: RwLock::new(Vec::new()),
                    syncing: Mutex::new(Vec::new()),
                },
                block_deltas: Mutex::new(()),
                lifecycle: Mutex::new(Lifecycle::Ready(Box::new(Startup {
                    fifo: Arc::new(fifo),
                    use_watch_list: self.use_watch_list,
                    resync_check_period: self.default_resync,
                    deliveries: Vec::new(),
                }))),
                default_handler_resync: self.default_resync,
                reporter,
                status,
                next_id: AtomicU64::new(1),
            }),
        }
    }
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
            .field("lifecycle", &self.inner.lifecycle.lock().name())
            .field("failed", &self.has_failed())
            .field("has_synced", &self.has_synced())
            .finish()
    }
}

impl<K: Object> SharedIndexInformer<K> {
    /// Configure an informer over `lw` with `default_resync` as both the
    /// resync check period and the default per-handler period (zero: no
    /// resync); [`build`](InformerBuilder::build) it.
    pub fn builder(lw: impl ListerWatcher<K>, default_resync: Duration) -> InformerBuilder<K> {
        InformerBuilder::from_dyn(Arc::new(lw), default_resync)
    }

    /// An informer over `lw` with the namespace index and nothing else set:
    /// `builder(lw, default_resync).build()`.
    pub fn new(lw: impl ListerWatcher<K>, default_resync: Duration) -> Self {
        Self::builder(lw, default_resync).build()
    }

    /// Like [`new`](Self::new) with these indexers instead of the default ones.
    pub fn with_indexers(
        lw: impl ListerWatcher<K>,
        default_resync: Duration,
        indexers: Indexers<K>,
    ) -> Self {
        Self::builder(lw, default_resync).indexers(indexers).build()
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

    /// Whether the first list has been fully processed into the cache (and
    /// handed to every handler's buffer); false once the informer
    /// [failed](Self::has_failed).
    pub fn has_synced(&self) -> bool {
        self.inner.status.borrow().synced()
    }

    /// Wait until [`has_synced`](Self::has_synced); false if the informer
    /// stopped or failed first. Awaits the informer's sync signal: no polling.
    pub async fn wait_for_sync(&self) -> bool {
        let mut status = self.inner.status.clone();
        // The sender lives as long as `self.inner`: `wait_for` cannot fail.
        status
            .wait_for(|s| s.synced() || s.done())
            .await
            .is_ok_and(|s| s.synced())
    }

    /// The resource version of the last list or watch event the reflector saw
    /// ("" before `run`).
    pub fn last_sync_resource_version(&self) -> String {
        match &*self.inner.lifecycle.lock() {
            Lifecycle::Ready(_) => String::new(),
            Lifecycle::Running { reflector, .. } | Lifecycle::Stopped { reflector } => {
                reflector.last_sync_resource_version()
            }
        }
    }

    /// Whether `run` has returned.
    pub fn is_stopped(&self) -> bool {
        self.inner.status.borrow().stopped
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

    /// Add a handler with the informer's default resync period.
    pub fn add_event_handler(
        &self,
        handler: impl ResourceEventHandler<K>,
    ) -> Result<ResourceEventHandlerRegistration, InformerError> {
        self.add_event_handler_with_resync_period(handler, self.inner.default_handler_resync)
    }

    /// Add a handler that wants a resync every `resync_period` (zero: never).
    /// Before `run`, a period shorter than the informer's check period lowers
    /// it; once running, the check period is fixed and such a period is
    /// raised to it.
    pub fn add_event_handler_with_resync_period(
        &self,
        handler: impl ResourceEventHandler<K>,
        resync_period: Duration,
    ) -> Result<ResourceEventHandlerRegistration, InformerError> {
        let inner = &self.inner;
        let mut desired = resync_period;
        if !desired.is_zero() && desired < MINIMUM_RESYNC_PERIOD {
            tracing::warn!(
                ?desired,
                "resync period too short; using {MINIMUM_RESYNC_PERIOD:?}"
            );
            desired = MINIMUM_RESYNC_PERIOD;
        }
        // Held until the listener is registered: `run` cannot start or stop
        // in between, so the handler gets its task and stops with the rest.
        let mut lifecycle = inner.lifecycle.lock();
        let check = match &mut *lifecycle {
            Lifecycle::Stopped { .. } => return Err(InformerError::Stopped),
            Lifecycle::Ready(startup) => {
                if !desired.is_zero() && desired < startup.resync_check_period {
                    startup.resync_check_period = desired;
                    // Listeners registered so far are re-fitted to the new check period.
                    for l in inner.processor.listeners.read().iter() {
                        l.resync.lock().period =
                            determine_resync_period(l.requested_resync, desired);
                    }
                }
                startup.resync_check_period
            }
            Lifecycle::Running {
                resync_check_period,
                ..
            } => {
                if !desired.is_zero() && desired < *resync_check_period {
                    tracing::warn!(?desired, check = ?*resync_check_period,
                        "resync period shorter than the running informer's check period; using the check period");
                    desired = *resync_check_period;
                }
                *resync_check_period
            }
        };
        let period = determine_resync_period(desired, check);

        let (tx, rx) = mpsc::unbounded_channel();
        let (pending_initial, _) = watch::channel(0);
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
        let delivery = Delivery {
            handler: Box::new(handler),
            rx,
            pending_initial: pending_initial.clone(),
            stopped,
            reporter: inner.reporter.clone(),
        };
        {
            // Replay under the deltas lock: no delta is applied between the
            // snapshot and the registration, so nothing is missed or doubled.
            let _blocked = inner.block_deltas.lock();
            match &mut *lifecycle {
                Lifecycle::Ready(startup) => startup.deliveries.push(delivery),
                Lifecycle::Running { runtime, .. } => {
                    for obj in inner.indexer.list() {
                        listener.send(Notification::Add { obj, initial: true });
                    }
                    runtime.spawn(delivery.run());
                }
                Lifecycle::Stopped { .. } => unreachable!("checked above, under the same lock"),
            }
            inner.processor.listeners.write().push(listener);
        }

        Ok(ResourceEventHandlerRegistration {
            id,
            informer: inner.status.clone(),
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

    /// Move from ready to running: build the reflector and start the tasks
    /// of the handlers added so far. None (with a warning) if the informer
    /// runs or ran already.
    fn start(&self) -> Option<Started<K>> {
        let inner = &self.inner;
        let mut lifecycle = inner.lifecycle.lock();
        let startup = match &*lifecycle {
            Lifecycle::Ready(startup) => startup,
            Lifecycle::Running { .. } => {
                tracing::warn!(informer = %inner.name, "informer already running");
                return None;
            }
            Lifecycle::Stopped { .. } => {
                tracing::warn!(informer = %inner.name, "run called on a stopped informer");
                return None;
            }
        };
        let fifo = startup.fifo.clone();
        let resync_check_period = startup.resync_check_period;
        let weak = Arc::downgrade(inner);
        let mut reflector = Reflector::from_dyn(inner.lw.clone(), fifo.clone())
            .name(inner.name.clone())
            .resync_period(resync_check_period)
            .should_resync(Arc::new(move || {
                weak.upgrade().is_some_and(|i| i.processor.should_resync())
            }));
        if let Some(h) = inner.reporter.error_handler.clone() {
            reflector = reflector.watch_error_handler(h);
        }
        if let Some(enabled) = startup.use_watch_list {
            reflector = reflector.use_watch_list(enabled);
        }
        let reflector = Arc::new(reflector);
        let runtime = tokio::runtime::Handle::current();
        let running = Lifecycle::Running {
            runtime: runtime.clone(),
            reflector: reflector.clone(),
            resync_check_period,
        };
        let Lifecycle::Ready(startup) = std::mem::replace(&mut *lifecycle, running) else {
            unreachable!("matched above, under the same lock")
        };
        for delivery in startup.deliveries {
            runtime.spawn(delivery.run());
        }
        Some(Started { fifo, reflector })
    }

    /// Run until `cancel` fires, or until the informer fails (a transform,
    /// index function or reflector panic, see the module docs): reflector
    /// plus process loop. Runs once: a second call while running, or a call
    /// after stop, returns at once.
    pub async fn run(&self, cancel: CancellationToken) {
        let Some(Started { fifo, reflector }) = self.start() else {
            return;
        };
        let inner = &self.inner;
        // Its own token, so a failure can stop it (and its resync loop).
        let reflector_cancel = cancel.child_token();
        let mut reflector_task = tokio::spawn({
            let cancel = reflector_cancel.clone();
            let reflector = reflector.clone();
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
            let mut lifecycle = inner.lifecycle.lock();
            let _blocked = inner.block_deltas.lock();
            *lifecycle = Lifecycle::Stopped { reflector };
            inner.reporter.status.send_modify(|s| s.stopped = true);
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
    //! behaviours, against the in-memory fake server, on tokio's paused
    //! clock: handlers run on Tokio tasks, so virtual time only moves when
    //! the informer, its reflector and every handler are idle. Results are
    //! decided by conditions (the sync signal, handler events awaited on a
    //! channel), never by how long a sleep was; the timeouts are hang guards.
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
    //! - `resync_check_period_is_fixed_at_start`: TestSharedInformerResyncPeriod
    //!   (a handler added before start lowers the check period; after start,
    //!   a shorter period is raised to it).
    //! - `relist_with_unchanged_objects_is_not_an_update`: Replaced deltas
    //!   with an unchanged resourceVersion only go to resyncing handlers.
    //! - `watch_error_handler_receives_round_errors`: TestSharedInformerWatchErrorHandler.
    //! - `sync_waiters_wake_on_the_signal_not_on_a_poll`: every sync waiter
    //!   returns at the virtual instant the informer synced.
    //!
    //! Panics (no client-go counterpart: there a panic crashes the process):
    //! - `panicking_handler_is_contained_counted_and_reported`.
    //! - `panicking_transform_fails_the_informer` (in the first list, and
    //!   in a watch event after sync).
    //! - `panicking_index_function_fails_the_informer` (same two cases).
    use std::sync::atomic::AtomicUsize;

    use futures::FutureExt;

    use super::*;
    use crate::testing::{FakeServer, TestObj, api_error, connection_refused, gone_status};

    /// Bounds every wait: on the paused clock a wait that cannot end jumps
    /// here at once and fails, instead of hanging the test.
    const HANG: Duration = Duration::from_secs(300);

    /// Records every notification as text, with the (virtual) time it came.
    #[derive(Clone)]
    struct Recorder {
        events: Arc<watch::Sender<Vec<(Instant, String)>>>,
    }

    impl Default for Recorder {
        fn default() -> Self {
            Self {
                events: Arc::new(watch::channel(Vec::new()).0),
            }
        }
    }

    impl Recorder {
        fn push(&self, event: String) {
            self.events.send_modify(|e| e.push((Instant::now(), event)));
        }
        fn events(&self) -> Vec<String> {
            self.events
                .borrow()
                .iter()
                .map(|(_, e)| e.clone())
                .collect()
        }
        /// When each event starting with `prefix` came, after `since`.
        fn times(&self, prefix: &str, since: Instant) -> Vec<Duration> {
            self.events
                .borrow()
                .iter()
                .filter(|(_, e)| e.starts_with(prefix))
                .map(|(t, _)| t.duration_since(since))
                .collect()
        }
        fn count(&self, prefix: &str) -> usize {
            count(&self.events.borrow(), prefix)
        }
        /// Wait until the events satisfy `done`.
        async fn wait(&self, what: &str, done: impl Fn(&[(Instant, String)]) -> bool) {
            let mut rx = self.events.subscribe();
            tokio::time::timeout(HANG, rx.wait_for(|e| done(e)))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for: {what}"))
                .expect("the sender lives in self");
        }
        /// Wait until `n` events start with `prefix`.
        async fn wait_count(&self, prefix: &str, n: usize) {
            self.wait(&format!("{n} x {prefix}"), |e| count(e, prefix) >= n)
                .await;
            assert_eq!(self.count(prefix), n, "{:?}", self.events());
        }
    }

    fn count(events: &[(Instant, String)], prefix: &str) -> usize {
        events.iter().filter(|(_, e)| e.starts_with(prefix)).count()
    }

    impl ResourceEventHandler<TestObj> for Recorder {
        fn on_add(&self, obj: &Arc<TestObj>, initial: bool) {
            let key = kubegen_core::resource::object_key(obj.metadata());
            self.push(format!("add {key}={} initial={initial}", obj.value));
        }
        fn on_update(&self, old: &Arc<TestObj>, new: &Arc<TestObj>) {
            let key = kubegen_core::resource::object_key(new.metadata());
            self.push(format!("update {key} {}->{}", old.value, new.value));
        }
        fn on_delete(&self, obj: &DeltaObject<TestObj>) {
            let kind = if obj.is_tombstone() {
                "tombstone"
            } else {
                "object"
            };
            self.push(format!("delete {} {kind}", obj.key()));
        }
    }

    /// Wait for a condition on state nothing signals (the fake server's
    /// connections, the cache), looking each time the runtime is idle: on
    /// the paused clock a sleep ends only once every task is waiting.
    async fn eventually(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + HANG;
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    struct Running {
        informer: SharedIndexInformer<TestObj>,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    impl Running {
        async fn stop(self) {
            self.cancel.cancel();
            tokio::time::timeout(HANG, self.task)
                .await
                .expect("informer did not stop")
                .expect("informer panicked");
            assert!(self.informer.is_stopped());
        }
    }

    fn builder(server: &FakeServer, resync: Duration) -> InformerBuilder<TestObj> {
        SharedIndexInformer::builder(server.clone(), resync).use_watch_list(false)
    }

    fn informer(server: &FakeServer, resync: Duration) -> SharedIndexInformer<TestObj> {
        builder(server, resync).build()
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

    #[tokio::test(start_paused = true)]
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
        rec.wait_count("delete", 1).await;
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

    #[tokio::test(start_paused = true)]
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
        tokio::task::yield_now().await;
        let late = Recorder::default();
        let reg = inf.add_event_handler(late.clone()).unwrap();
        writer.await.unwrap();
        late.wait_count("add", 100).await;
        assert_eq!(inf.indexer().len(), 100);
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
        let cancel = CancellationToken::new();
        assert!(reg.wait_for_sync(&cancel).await, "registration synced");
        r.stop().await;
    }

    /// A gate a handler blocks on until the test opens it.
    #[derive(Clone, Default)]
    struct Gate(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

    impl Gate {
        fn pass(&self) {
            let (m, c) = &*self.0;
            let mut open = m.lock().unwrap();
            while !*open {
                open = c.wait(open).unwrap();
            }
        }
        fn open(&self) {
            let (m, c) = &*self.0;
            *m.lock().unwrap() = true;
            c.notify_all();
        }
    }

    // The gated handler blocks a blocking-pool thread, never the runtime's
    // one thread: the informer and the other handler go on. While it blocks
    // the paused clock stands still, which nothing here needs.
    #[tokio::test(start_paused = true)]
    async fn registration_has_synced_waits_for_its_own_initial_events() {
        let server = FakeServer::new();
        for i in 0..5 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        let inf = informer(&server, Duration::ZERO);
        let gate = Gate::default();
        let g2 = gate.clone();
        let slow = inf
            .add_event_handler(
                EventHandlerFuncs::new().add_func(move |_o: &Arc<TestObj>, _| g2.pass()),
            )
            .unwrap();
        let fast = inf.add_event_handler(Recorder::default()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        let cancel = CancellationToken::new();
        assert!(
            tokio::time::timeout(HANG, fast.wait_for_sync(&cancel))
                .await
                .unwrap(),
            "the fast handler synced"
        );
        assert!(
            !slow.has_synced(),
            "the blocked handler has not processed its initial list"
        );
        gate.open();
        assert!(
            tokio::time::timeout(HANG, slow.wait_for_sync(&cancel))
                .await
                .unwrap()
        );
        r.stop().await;
    }

    // As above: the blocked handler holds a pool thread, not the runtime.
    #[tokio::test(start_paused = true)]
    async fn slow_handler_does_not_block_others() {
        let server = FakeServer::new();
        let inf = informer(&server, Duration::ZERO);
        let gate = Gate::default();
        let g2 = gate.clone();
        inf.add_event_handler(
            EventHandlerFuncs::new().add_func(move |_o: &Arc<TestObj>, _| g2.pass()),
        )
        .unwrap();
        let quick = Recorder::default();
        inf.add_event_handler(quick.clone()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        for i in 0..200 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        quick.wait_count("add", 200).await;
        assert_eq!(inf.indexer().len(), 200);
        gate.open();
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
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
        keep.wait_count("add", 1).await;
        gone.wait_count("add", 1).await;
        inf.remove_event_handler(&reg);
        inf.remove_event_handler(&reg); // twice is a no-op
        assert_eq!(inf.handler_count(), 1);
        server.upsert("ns", "b", 1);
        // b's notification was handed to every registered handler at once,
        // before the kept one could see it; the removed one was no longer
        // registered then, so it can never receive b.
        keep.wait_count("add", 2).await;
        assert_eq!(gone.events(), ["add ns/a=1 initial=false"]);
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn stopped_informer_rejects_handlers_and_restart() {
        let server = FakeServer::new();
        let inf = informer(&server, Duration::ZERO);
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        // A second run while running returns at its first poll.
        assert!(
            inf.run(CancellationToken::new()).now_or_never().is_some(),
            "second run must return immediately"
        );
        r.stop().await;
        assert_eq!(
            inf.add_event_handler(Recorder::default()).unwrap_err(),
            InformerError::Stopped
        );
        assert!(
            inf.run(CancellationToken::new()).now_or_never().is_some(),
            "run after stop must return immediately"
        );
        assert_eq!(server.open_watches(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn transform_runs_before_caching() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let inf = builder(&server, Duration::ZERO)
            .transform(|mut o: TestObj| {
                o.value *= 100;
                o.metadata.labels = None;
                o
            })
            .build();
        let rec = Recorder::default();
        inf.add_event_handler(rec.clone()).unwrap();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        server.upsert("ns", "a", 2);
        rec.wait_count("update", 1).await;
        assert_eq!(
            rec.events(),
            ["add ns/a=100 initial=true", "update ns/a 100->200"]
        );
        assert_eq!(cache_values(&inf), [("ns/a".to_owned(), 200)]);
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
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

        rec.wait_count("delete", 1).await;
        rec.wait_count("update", 1).await;
        assert!(rec.events().contains(&"delete ns/o1 tombstone".to_owned()));
        assert!(rec.events().contains(&"update ns/o2 2->22".to_owned()));
        // The cache was updated before the handler heard of either.
        assert_eq!(cache_values(&inf), server_values(&server));
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
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
        let started = Instant::now();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        // The 2 s handler's first resync comes with the 1 s handler's second.
        every_2s.wait_count("update", 1).await;
        every_1s.wait_count("update", 2).await;
        let s = Duration::from_secs;
        assert_eq!(every_1s.times("update", started), [s(1), s(2)]);
        assert_eq!(every_2s.times("update", started), [s(2)]);
        // Two ticks went by: a handler with a period would have resynced.
        assert_eq!(never.count("update"), 0);
        // A resync is an update with old == new.
        assert_eq!(every_2s.events()[1], "update ns/a 1->1");
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn resync_check_period_is_fixed_at_start() {
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        let inf = informer(&server, Duration::from_secs(10));
        // Before start a shorter period lowers the check period to 3 s.
        let early = Recorder::default();
        inf.add_event_handler_with_resync_period(early.clone(), Duration::from_secs(3))
            .unwrap();
        let started = Instant::now();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        // After start, 1 s is raised to the fixed 3 s check period.
        let late = Recorder::default();
        inf.add_event_handler_with_resync_period(late.clone(), Duration::from_secs(1))
            .unwrap();
        early.wait_count("update", 2).await;
        late.wait_count("update", 2).await;
        let s = Duration::from_secs;
        assert_eq!(early.times("update", started), [s(3), s(6)]);
        assert_eq!(late.times("update", started), [s(3), s(6)]);
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
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
        // The relist's Replaced deltas were handled before this watch event.
        rec.wait_count("update", 1).await;
        assert_eq!(rec.events()[2..], ["update ns/b 1->2".to_owned()]);
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn watch_error_handler_receives_round_errors() {
        let server = FakeServer::new();
        server
            .state
            .lock()
            .fail_lists
            .push_back(Some(api_error(403, "Forbidden")));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let inf = builder(&server, Duration::ZERO)
            .watch_error_handler(move |e| s2.lock().push(e.is_forbidden()))
            .build();
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        assert_eq!(*seen.lock(), [true]);
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn sync_waiters_wake_on_the_signal_not_on_a_poll() {
        let server = FakeServer::new();
        // The first list fails: the sync comes after a jittered backoff
        // step, at a virtual instant a poll period would not line up with.
        server
            .state
            .lock()
            .fail_lists
            .push_back(Some(api_error(500, "InternalError")));
        for i in 0..3 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        let inf = informer(&server, Duration::ZERO);
        let rec = Recorder::default();
        let reg = inf.add_event_handler(rec.clone()).unwrap();
        let started = Instant::now();
        let r = start(&inf);
        let cancel = CancellationToken::new();
        let (informer_woke, reg_woke, all_woke) = tokio::join!(
            async {
                assert!(inf.wait_for_sync().await);
                Instant::now()
            },
            async {
                assert!(reg.wait_for_sync(&cancel).await);
                Instant::now()
            },
            async {
                assert!(wait_for_cache_sync(&cancel, &[&reg, &inf]).await);
                Instant::now()
            },
        );
        let adds = rec.times("add", started);
        assert_eq!(adds.len(), 3);
        let synced_at = adds[2];
        assert!(
            synced_at >= Duration::from_millis(800),
            "after the backoff: {synced_at:?}"
        );
        // The sync, the handler's last initial add and every wake-up are at
        // the same virtual instant: no waiter slept a poll period.
        for woke in [informer_woke, reg_woke, all_woke] {
            assert_eq!(woke.duration_since(started), synced_at);
        }
        r.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn lister_reads_the_informer_cache() {
        let server = FakeServer::new();
        server.upsert("ns1", "a", 1);
        server.upsert("ns2", "b", 2);
        let inf = informer(&server, Duration::ZERO);
        let r = start(&inf);
        assert!(inf.wait_for_sync().await);
        let lister = inf.lister();
        let all = kubegen_core::selector::Selector::everything();
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

    /// An error handler recording every `Error::CallbackPanic` it is told
    /// about, as `callback: message`, and that record.
    fn panic_log() -> (Recorder, impl Fn(&Error) + Send + Sync + 'static) {
        let log = Recorder::default();
        let l2 = log.clone();
        let handler = move |e: &Error| {
            if let Error::CallbackPanic { callback, message } = e {
                l2.push(format!("{callback}: {message}"));
            }
        };
        (log, handler)
    }

    #[tokio::test(start_paused = true)]
    async fn panicking_handler_is_contained_counted_and_reported() {
        let server = FakeServer::new();
        server.upsert("ns", "o1", 1);
        server.upsert("ns", "o2", 2);
        let (log, on_error) = panic_log();
        let inf = builder(&server, Duration::ZERO)
            .watch_error_handler(on_error)
            .build();
        let calls = Recorder::default();
        let c2 = calls.clone();
        let panicky = inf
            .add_event_handler(
                EventHandlerFuncs::new()
                    .add_func(move |o: &Arc<TestObj>, _| {
                        c2.push(format!("add {}", o.value));
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
            tokio::time::timeout(HANG, panicky.wait_for_sync(&cancel))
                .await
                .unwrap(),
            "a handler that panicked on its initial list still syncs"
        );
        for i in 3..=10 {
            server.upsert("ns", &format!("o{i}"), i);
        }
        server.upsert("ns", "o2", 21);
        rec.wait_count("add", 10).await;
        rec.wait_count("update", 1).await;
        // The panicking handler saw every add ...
        calls.wait_count("add", 10).await;
        // ... and panicked on 1, 3, 5, 7, 9 and the update to 21.
        log.wait_count("", 6).await;
        assert_eq!(inf.handler_panics(), 6);
        let mut reported = log.events();
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
        let synced = tokio::time::timeout(HANG, inf.wait_for_sync())
            .await
            .expect("wait_for_sync must not hang on a failed informer");
        assert!(!synced, "a failed informer is not synced");
        let cancel = CancellationToken::new();
        let reg_synced = tokio::time::timeout(HANG, reg.wait_for_sync(&cancel))
            .await
            .expect("a registration's wait_for_sync must not hang either");
        assert!(!reg_synced);
        assert!(!cancel.is_cancelled());
        let all_synced = tokio::time::timeout(HANG, wait_for_cache_sync(&cancel, &[reg, inf]))
            .await
            .expect("nor wait_for_cache_sync");
        assert!(!all_synced);
        tokio::time::timeout(HANG, task)
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

    #[tokio::test(start_paused = true)]
    async fn panicking_transform_fails_the_informer() {
        for in_first_list in [true, false] {
            let server = FakeServer::new();
            server.upsert("ns", "a", 1);
            if in_first_list {
                server.upsert("ns", "b", 13);
            }
            let (log, on_error) = panic_log();
            let inf = builder(&server, Duration::ZERO)
                .transform(|o: TestObj| {
                    assert_ne!(o.value, 13, "transform refuses 13");
                    o
                })
                .watch_error_handler(on_error)
                .build();
            let rec = Recorder::default();
            let reg = inf.add_event_handler(rec.clone()).unwrap();
            let r = start(&inf);
            if !in_first_list {
                // The handler has processed its initial list before the
                // failure stops it (buffered notifications die with it).
                assert!(reg.wait_for_sync(&CancellationToken::new()).await);
                eventually("watching", || server.open_watches() == 1).await;
                server.upsert("ns", "b", 13);
                eventually("failed", || inf.has_failed()).await;
            }
            let failure = run_until_failed(&inf, &reg, r.task).await;
            assert!(
                failure.starts_with("transform: ") && failure.contains("transform refuses 13"),
                "{failure}"
            );
            assert_eq!(log.events(), [failure], "told once");
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

    #[tokio::test(start_paused = true)]
    async fn panicking_index_function_fails_the_informer() {
        for in_first_list in [true, false] {
            let server = FakeServer::new();
            server.upsert("ns", "a", 1);
            if in_first_list {
                server.upsert("ns", "b", 13);
            }
            let mut indexers = crate::index::default_indexers();
            indexers.insert(
                "value".to_owned(),
                Arc::new(|o: &TestObj| {
                    assert_ne!(o.value, 13, "index function refuses 13");
                    vec![o.value.to_string()]
                }),
            );
            let (log, on_error) = panic_log();
            let inf = builder(&server, Duration::ZERO)
                .indexers(indexers)
                .watch_error_handler(on_error)
                .build();
            let rec = Recorder::default();
            let reg = inf.add_event_handler(rec.clone()).unwrap();
            let r = start(&inf);
            if !in_first_list {
                // The handler has processed its initial list before the
                // failure stops it (buffered notifications die with it).
                assert!(reg.wait_for_sync(&CancellationToken::new()).await);
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
            assert_eq!(log.events(), [failure], "told once");
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

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
//!   itself; each handler sees notifications in order. A handler that panics
//!   is logged and keeps receiving.
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
//!   function (default: logged).
//! - **Shutdown**: cancel the token given to [`run`](SharedIndexInformer::run);
//!   the reflector stops, the queue closes, handler threads exit after their
//!   current call, and `run` returns. A stopped informer cannot be restarted
//!   or take handlers.
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
                if outcome.is_err() {
                    tracing::error!("informer event handler panicked; it keeps receiving events");
                }
                if initial {
                    pending_initial.fetch_sub(1, Ordering::SeqCst);
                }
            }
        })
        .map(|_| ())
}

/// Handle to a handler added to an informer.
#[derive(Clone)]
pub struct ResourceEventHandlerRegistration {
    id: u64,
    informer_synced: Arc<dyn Fn() -> bool + Send + Sync>,
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

    /// Wait until [`has_synced`](Self::has_synced) or `cancel`; false if cancelled.
    pub async fn wait_for_sync(&self, cancel: &CancellationToken) -> bool {
        wait_for_cache_sync(cancel, &[&|| self.has_synced()]).await
    }
}

/// Wait until every check is true (polling as client-go does), or `cancel`
/// fires; returns false if cancelled first.
pub async fn wait_for_cache_sync(cancel: &CancellationToken, checks: &[&(dyn Fn() -> bool + Sync)]) -> bool {
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
        tracing::warn!(?desired, "resync requested but the informer does not resync; disabled");
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
                r.next = now + r.period;
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
    watch_error_handler: Mutex<Option<WatchErrorHandler>>,
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
    pub fn with_indexers(lw: impl ListerWatcher<K>, default_resync: Duration, indexers: Indexers<K>) -> Self {
        Self::from_dyn(Arc::new(lw), default_resync, indexers)
    }

    pub(crate) fn from_dyn(lw: Arc<dyn DynListerWatcher<K>>, default_resync: Duration, indexers: Indexers<K>) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: std::any::type_name::<K>().rsplit("::").next().unwrap_or("object").to_owned(),
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
                watch_error_handler: Mutex::new(None),
                use_watch_list: Mutex::new(None),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The cache. Read it; writing to it would desynchronise the informer.
    pub fn indexer(&self) -> &Indexer<K> {
        &self.inner.indexer
    }

    /// Register more indexes (also after start: existing objects are indexed).
    pub fn add_indexers(&self, indexers: Indexers<K>) -> Result<(), IndexError> {
        self.inner.indexer.add_indexers(indexers)
    }

    /// Whether the first list has been fully processed into the cache.
    pub fn has_synced(&self) -> bool {
        self.inner.fifo.get().is_some_and(|f| f.has_synced())
    }

    /// Wait until [`has_synced`](Self::has_synced); false if the informer stopped first.
    pub async fn wait_for_sync(&self) -> bool {
        loop {
            if self.has_synced() {
                return true;
            }
            if self.is_stopped() {
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

    /// Rewrite every object before it is cached (e.g. drop `managedFields`).
    /// Must be called before `run`; runs once per object entering the queue.
    pub fn set_transform(&self, transform: impl Fn(K) -> K + Send + Sync + 'static) -> Result<(), InformerError> {
        if self.is_started() {
            return Err(InformerError::AlreadyStarted("the transform"));
        }
        *self.inner.transform.lock() = Some(Arc::new(transform));
        Ok(())
    }

    /// Receive the errors that end a list-and-watch round. Before `run` only.
    pub fn set_watch_error_handler(
        &self,
        handler: impl Fn(&crate::error::Error) + Send + Sync + 'static,
    ) -> Result<(), InformerError> {
        if self.is_started() {
            return Err(InformerError::AlreadyStarted("the watch error handler"));
        }
        *self.inner.watch_error_handler.lock() = Some(Arc::new(handler));
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
                tracing::warn!(?desired, "resync period too short; using {MINIMUM_RESYNC_PERIOD:?}");
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
                        l.resync.lock().period = determine_resync_period(l.requested_resync, desired);
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
        if let Err(e) = spawn_listener_thread(Box::new(handler), rx, pending_initial.clone(), stopped) {
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
        Ok(ResourceEventHandlerRegistration {
            id,
            informer_synced: Arc::new(move || {
                synced_inner
                    .upgrade()
                    .and_then(|i| i.fifo.get().map(|f| f.has_synced()))
                    .unwrap_or(false)
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

    /// Run until `cancel` fires: reflector plus process loop. A second call
    /// while running, or a call after stop, returns at once.
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
        let fifo = Arc::new(DeltaFifo::new(DeltaFifoOptions {
            known_objects: Some(Arc::new(inner.indexer.clone())),
            emit_delta_type_replaced: true,
            transformer: inner.transform.lock().clone(),
        }));
        let _ = inner.fifo.set(fifo.clone());

        let weak = Arc::downgrade(inner);
        let mut reflector = Reflector::from_dyn(inner.lw.clone(), fifo.clone())
            .name(inner.name.clone())
            .resync_period(*inner.resync_check_period.lock())
            .should_resync(Arc::new(move || {
                weak.upgrade().is_some_and(|i| i.processor.should_resync())
            }));
        if let Some(h) = inner.watch_error_handler.lock().clone() {
            reflector = reflector.watch_error_handler(h);
        }
        if let Some(enabled) = *inner.use_watch_list.lock() {
            reflector = reflector.use_watch_list(enabled);
        }
        let reflector = Arc::new(reflector);
        let _ = inner.reflector.set(reflector.clone());
        let reflector_task = tokio::spawn({
            let cancel = cancel.clone();
            async move { reflector.run(cancel).await }
        });

        loop {
            let popped = tokio::select! {
                _ = cancel.cancelled() => break,
                r = fifo.pop(|deltas, initial| inner.handle_deltas(deltas, initial)) => r,
            };
            if popped.is_err() {
                break;
            }
        }

        fifo.close();
        if let Err(e) = reflector_task.await {
            tracing::error!(informer = %inner.name, error = %e, "reflector task failed");
        }
        {
            let _blocked = inner.block_deltas.lock();
            inner.stopped.store(true, Ordering::SeqCst);
            inner.processor.stop_all();
        }
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
                                    && old.metadata().resource_version == new.metadata().resource_version
                            }
                            _ => false,
                        };
                        self.processor.distribute(Notification::Update { old, new }, is_sync);
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
                    self.processor.distribute(Notification::Delete(d.object), false);
                }
            }
        }
    }
}

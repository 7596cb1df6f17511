//! A controller runtime: the informers, workqueue and workers a controller
//! needs, wired once (controller-runtime's builder, kube-runtime's
//! `Controller`).
//!
//! ```no_run
//! # use std::{sync::Arc, time::Duration};
//! # use kubegen_api::core::v1::{ConfigMap, Secret};
//! # use kubegen_cache::InformerFactory;
//! # use kubegen_tools::controller::{Action, Controller};
//! # use tokio_util::sync::CancellationToken;
//! # async fn demo(factory: InformerFactory, cancel: CancellationToken) {
//! async fn reconcile(cm: Arc<ConfigMap>, _ctx: Arc<()>) -> Result<Action, kubegen_core::Error> {
//!     // Read from caches, write through clients, converge.
//!     Ok(Action::Requeue(Duration::from_secs(300)))
//! }
//! let controller = Controller::<ConfigMap>::new(&factory, "configmaps")
//!     .unwrap()
//!     .owns::<Secret>()
//!     .unwrap()
//!     .concurrency(2);
//! factory.start();
//! controller
//!     .run(reconcile, |_, _, _| Action::Backoff, Arc::new(()), cancel)
//!     .await
//!     .unwrap();
//! # }
//! ```
//!
//! Events on the primary kind enqueue its key; events on an owned kind
//! enqueue the key of its controller owner (when that is of the primary
//! kind); [`watches`](Controller::watches) maps any other kind to keys.
//! Workers take keys off a rate-limited [`RateLimitingQueue`]: a key is never
//! reconciled by two workers at once, and one enqueued many times while
//! waiting is reconciled once. Each reconcile reads the primary object from
//! the informer's cache (an object no longer there is skipped: it is gone,
//! and [`finalizer`] is how to act on a deletion) and says what comes next
//! as an [`Action`]; an error goes to the error policy, which says the same.
//!
//! Each reconcile runs in a `reconcile` tracing span with the controller's
//! name and the object's key, and is counted through the `metrics` facade
//! under controller-runtime's names: `controller_runtime_reconcile_total`
//! (label `result`: `success`, `error`, `requeue_after`),
//! `controller_runtime_reconcile_errors_total` and
//! `controller_runtime_reconcile_time_seconds`, each labelled `controller`;
//! the queue reports `workqueue_*` under the controller's name.

mod finalizer;
mod owner;
mod retry_watcher;
mod wait;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::leaderelection::{LeaderCallbacks, LeaderElectionConfig, LeaderElector, LeaseLock};
use kubegen_cache::workqueue::{
    BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter, QueueConfig,
    RateLimiter, RateLimitingQueue,
};
use kubegen_cache::{
    DeltaObject, EventHandlerFuncs, InformerError, InformerFactory, Lister,
    ResourceEventHandlerRegistration, wait_for_cache_sync,
};
use kubegen_core::resource::{Object, Resource, Scope};
use kubegen_core::verbs;
use tokio::task::JoinSet;
use tracing::Instrument as _;

pub use finalizer::{FinalizerError, FinalizerEvent, finalizer};
pub use owner::{controller_of, controller_reference, is_controlled_by, refers_to};
pub use retry_watcher::retry_watcher;
/// What stops a [`Controller`], re-exported so a controller needs no other crate for it.
pub use tokio_util::sync::CancellationToken;
pub use wait::await_condition;

/// The key of an object: its namespace (none for cluster-scoped kinds) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// Namespace; `None` for a cluster-scoped object.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// The key of a namespaced object.
    pub fn namespaced(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// The key of a cluster-scoped object.
    pub fn cluster(name: impl Into<String>) -> Self {
        Self {
            namespace: None,
            name: name.into(),
        }
    }

    /// The key of `obj`; `None` when it has no name.
    pub fn of<K: Object>(obj: &K) -> Option<Self> {
        let meta = obj.metadata();
        Some(Self {
            namespace: meta
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            name: meta.name.as_deref().filter(|n| !n.is_empty())?.to_owned(),
        })
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// What follows a reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Reconcile the object again after this long (and sooner if it changes).
    Requeue(Duration),
    /// Reconcile it again after the queue's per-key exponential backoff
    /// (5 ms, doubling to 1000 s): what an error usually wants.
    Backoff,
    /// Nothing until the object, or something mapped to it, changes.
    AwaitChange,
}

/// Why [`Controller::run`] stopped without running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Cancelled (or an informer stopped) before the caches synced.
    #[error("controller {0}: cancelled before the caches synced")]
    CacheSync(String),
    /// The leader election could not start (its config is invalid).
    #[error("controller {0}: leader election: {1}")]
    LeaderElection(String, String),
    /// Another replica took the lease; this one stopped reconciling.
    #[error("controller {0}: lost the lease")]
    LeaseLost(String),
}

/// A controller of kind `K`; see the [module docs](self).
pub struct Controller<K> {
    name: String,
    factory: InformerFactory,
    lister: Lister<K>,
    queue: RateLimitingQueue<ObjectRef>,
    synced: Vec<ResourceEventHandlerRegistration>,
    concurrency: usize,
    election: Option<(LeaderElectionConfig, LeaseLock)>,
}

impl<K> fmt::Debug for Controller<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("name", &self.name)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// Client-go's default controller limiter: [`rate_limiter`]`(10.0, 100)`.
pub fn default_rate_limiter() -> MaxOfRateLimiter<ObjectRef> {
    rate_limiter(10.0, 100)
}

/// Client-go's controller limiter shape: per-key exponential backoff (5 ms
/// to 1000 s), max'ed with an overall token bucket of `qps`, `burst`.
pub fn rate_limiter(qps: f64, burst: u32) -> MaxOfRateLimiter<ObjectRef> {
    MaxOfRateLimiter::new(vec![
        Box::new(ItemExponentialFailureRateLimiter::new(
            Duration::from_millis(5),
            Duration::from_secs(1000),
        )),
        Box::new(BucketRateLimiter::new(qps, burst)),
    ])
}

impl<K> Controller<K>
where
    K: Object + Resource + verbs::List + verbs::Watch,
{
    /// A controller of `K` on `factory`'s informers (the caller starts the
    /// factory), named `name` in logs, metrics and its queue, retrying with
    /// [`default_rate_limiter`].
    pub fn new(factory: &InformerFactory, name: &str) -> Result<Self, InformerError> {
        Self::with_rate_limiter(factory, name, default_rate_limiter())
    }

    /// [`new`](Self::new), pacing retries and backoffs with `limiter`.
    pub fn with_rate_limiter(
        factory: &InformerFactory,
        name: &str,
        limiter: impl RateLimiter<ObjectRef> + 'static,
    ) -> Result<Self, InformerError> {
        let queue = RateLimitingQueue::with_config(limiter, QueueConfig::new(name));
        let informer = factory.resource_informer::<K>();
        let registration = informer
            .informer()
            .add_event_handler(enqueue_mapped(&queue, |o: &K| ObjectRef::of(o)))?;
        Ok(Self {
            name: name.to_owned(),
            factory: factory.clone(),
            lister: informer.lister(),
            queue,
            synced: vec![registration],
            concurrency: 1,
            election: None,
        })
    }

    /// Also reconcile the controller owner (of kind `K`) of every `O` that
    /// changes, is created or is deleted.
    pub fn owns<O>(self) -> Result<Self, InformerError>
    where
        O: Object + Resource + verbs::List + verbs::Watch,
    {
        self.watches::<O, _>(|o: &O| {
            let meta = o.metadata();
            let owner = controller_of(meta).filter(|r| refers_to::<K>(r))?;
            Some(ObjectRef {
                namespace: match K::SCOPE {
                    Scope::Namespaced => meta.namespace.as_deref().map(str::to_owned),
                    Scope::Cluster => None,
                },
                name: owner.name.to_string(),
            })
        })
    }

    /// Also reconcile the keys `map` gives for every `O` that changes, is
    /// created or is deleted.
    pub fn watches<O, I>(
        mut self,
        map: impl Fn(&O) -> I + Send + Sync + 'static,
    ) -> Result<Self, InformerError>
    where
        O: Object + Resource + verbs::List + verbs::Watch,
        I: IntoIterator<Item = ObjectRef>,
    {
        let registration = self
            .factory
            .informer_for::<O>()
            .add_event_handler(enqueue_mapped(&self.queue, map))?;
        self.synced.push(registration);
        Ok(self)
    }

    /// Reconcile up to `n` keys at once (at least 1; 1 by default).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Reconcile only while leading the election on `lock` (one Lease per
    /// controller; candidates are the controller's replicas). Caches sync
    /// either way, so a new leader starts warm; losing the lease stops the
    /// run, as controller-runtime's manager does.
    pub fn leader_election(mut self, config: LeaderElectionConfig, lock: LeaseLock) -> Self {
        self.election = Some((config, lock));
        self
    }

    /// The controller's queue: to enqueue a key by hand, or watch its depth.
    pub fn queue(&self) -> &RateLimitingQueue<ObjectRef> {
        &self.queue
    }

    /// Waits for the caches to sync (and, with
    /// [`leader_election`](Self::leader_election), for the lease), then
    /// reconciles keys on `concurrency` workers until `cancel` fires or the
    /// lease is lost; then takes no new keys, lets the reconciles under way
    /// finish, and returns.
    pub async fn run<C, E, R, F>(
        mut self,
        reconcile: R,
        error_policy: impl Fn(&Arc<K>, &E, &Arc<C>) -> Action + Send + Sync + 'static,
        ctx: Arc<C>,
        cancel: CancellationToken,
    ) -> Result<(), RunError>
    where
        C: Send + Sync + 'static,
        E: fmt::Display + 'static,
        R: Fn(Arc<K>, Arc<C>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Action, E>> + Send + 'static,
    {
        let synced: Vec<&dyn kubegen_cache::InformerSynced> =
            self.synced.iter().map(|r| r as _).collect();
        if !wait_for_cache_sync(&cancel, &synced).await {
            self.queue.shut_down();
            return Err(RunError::CacheSync(self.name));
        }
        let stop = cancel;
        let mut elector = None;
        let cancel = match self.election.take() {
            None => stop.clone(),
            Some((config, lock)) => match lead(&self.name, config, lock, &stop).await {
                Ok(Some((leading, task))) => {
                    elector = Some(task);
                    leading
                }
                // Cancelled while campaigning.
                Ok(None) => {
                    self.queue.shut_down();
                    return Ok(());
                }
                Err(e) => {
                    self.queue.shut_down();
                    return Err(RunError::LeaderElection(self.name, e));
                }
            },
        };
        tracing::info!(controller = %self.name, workers = self.concurrency, "caches synced; starting workers");
        let worker = Arc::new(Worker {
            name: self.name,
            lister: self.lister,
            queue: self.queue.clone(),
            reconcile,
            error_policy,
            ctx,
        });
        let mut workers = JoinSet::new();
        for _ in 0..self.concurrency {
            let worker = Arc::clone(&worker);
            workers.spawn(async move { while worker.process_next().await {} });
        }
        cancel.cancelled().await;
        tracing::info!(controller = %worker.name, "shutting down: finishing the reconciles under way");
        self.queue.shut_down();
        while let Some(joined) = workers.join_next().await {
            if let Err(e) = joined {
                tracing::error!(controller = %worker.name, error = %e, "a worker failed");
            }
        }
        if let Some(elector) = elector {
            // Done reconciling: give up the lease (with `release_on_cancel`).
            cancel.cancel();
            let _ = elector.await;
            if !stop.is_cancelled() {
                return Err(RunError::LeaseLost(worker.name.clone()));
            }
        }
        Ok(())
    }
}

/// Campaigns for the lease until leading (`Some`: a token cancelled when
/// leadership ends or `cancel` fires, and the elector's task) or `cancel`
/// fires first (`None`).
async fn lead(
    name: &str,
    mut config: LeaderElectionConfig,
    lock: LeaseLock,
    cancel: &CancellationToken,
) -> Result<Option<(CancellationToken, tokio::task::JoinHandle<()>)>, String> {
    if config.name.is_empty() {
        config.name = name.to_owned();
    }
    let leading = cancel.child_token();
    let (started, became_leader) = tokio::sync::oneshot::channel::<()>();
    let started = std::sync::Mutex::new(Some(started));
    let (on_lost, on_end) = (leading.clone(), leading.clone());
    let callbacks = LeaderCallbacks::new(
        move |lease: CancellationToken| {
            if let Some(started) = started.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = started.send(());
            }
            let on_lost = on_lost.clone();
            async move {
                lease.cancelled().await;
                on_lost.cancel();
            }
        },
        move || on_end.cancel(),
    );
    let elector = LeaderElector::new(config, lock, callbacks).map_err(|e| e.to_string())?;
    let run_until = leading.clone();
    let task = tokio::spawn(async move { elector.run(run_until).await });
    tracing::info!(controller = name, "waiting for the lease");
    Ok(tokio::select! {
        led = became_leader => led.ok().map(|()| (leading, task)),
        _ = cancel.cancelled() => None,
    })
}

struct Worker<K, R, P, C> {
    name: String,
    lister: Lister<K>,
    queue: RateLimitingQueue<ObjectRef>,
    reconcile: R,
    error_policy: P,
    ctx: Arc<C>,
}

impl<K, R, P, C, E, F> Worker<K, R, P, C>
where
    K: Object,
    R: Fn(Arc<K>, Arc<C>) -> F,
    P: Fn(&Arc<K>, &E, &Arc<C>) -> Action,
    E: fmt::Display,
    F: Future<Output = Result<Action, E>>,
{
    /// Reconciles one key; false once the queue is shut down.
    async fn process_next(&self) -> bool {
        let Some(key) = self.queue.get().await else {
            return false;
        };
        let cached = match &key.namespace {
            Some(ns) => self.lister.namespaced(ns).get(&key.name),
            None => self.lister.get(&key.name),
        };
        match cached {
            Ok(obj) => {
                let span = tracing::info_span!("reconcile", controller = %self.name, object = %key);
                let action = self.reconcile_one(obj).instrument(span).await;
                self.queue.forget(&key);
                match action {
                    Action::Requeue(after) => self.queue.add_after(key.clone(), after),
                    Action::Backoff => self.queue.add_rate_limited(key.clone()),
                    Action::AwaitChange => {}
                }
            }
            // Gone from the cache: deleted, nothing to converge.
            Err(_) => self.queue.forget(&key),
        }
        self.queue.done(&key);
        true
    }

    async fn reconcile_one(&self, obj: Arc<K>) -> Action {
        let labels = [("controller", self.name.clone())];
        let start = Instant::now();
        let outcome = (self.reconcile)(Arc::clone(&obj), Arc::clone(&self.ctx)).await;
        metrics::histogram!("controller_runtime_reconcile_time_seconds", &labels)
            .record(start.elapsed().as_secs_f64());
        let (result, action) = match outcome {
            Ok(action) => {
                let result = match action {
                    Action::AwaitChange => "success",
                    Action::Requeue(_) | Action::Backoff => "requeue_after",
                };
                (result, action)
            }
            Err(e) => {
                tracing::warn!(error = %e, "reconcile failed");
                metrics::counter!("controller_runtime_reconcile_errors_total", &labels)
                    .increment(1);
                ("error", (self.error_policy)(&obj, &e, &self.ctx))
            }
        };
        let labels = [
            ("controller", self.name.clone()),
            ("result", result.to_owned()),
        ];
        metrics::counter!("controller_runtime_reconcile_total", &labels).increment(1);
        action
    }
}

/// Handlers that put on `queue` the keys `map` gives for each added,
/// changed or deleted object (for a change, the new object's keys and those
/// of the old one it no longer maps to: an owner that changed is a change to
/// both).
fn enqueue_mapped<O, I>(
    queue: &RateLimitingQueue<ObjectRef>,
    map: impl Fn(&O) -> I + Send + Sync + 'static,
) -> EventHandlerFuncs<O>
where
    O: Object,
    I: IntoIterator<Item = ObjectRef>,
{
    let map = Arc::new(map);
    let (q_add, q_update, q_delete) = (queue.clone(), queue.clone(), queue.clone());
    let (m_add, m_update, m_delete) = (map.clone(), map.clone(), map);
    EventHandlerFuncs::new()
        .add_func(move |o: &Arc<O>, _| m_add(o).into_iter().for_each(|k| q_add.add(k)))
        .update_func(move |old: &Arc<O>, new: &Arc<O>| {
            let keys: Vec<ObjectRef> = m_update(new).into_iter().collect();
            let gone: Vec<ObjectRef> = m_update(old)
                .into_iter()
                .filter(|k| !keys.contains(k))
                .collect();
            keys.into_iter().chain(gone).for_each(|k| q_update.add(k));
        })
        .delete_func(move |o: &DeltaObject<O>| {
            m_delete(o.object())
                .into_iter()
                .for_each(|k| q_delete.add(k))
        })
}

//! InformerFactory: one shared informer per kind for a whole program — the
//! runtime-generic half of client-go's generated `SharedInformerFactory`
//! (`informers/factory.go`).
//!
//! Contract:
//! - [`informer_for::<K>()`](InformerFactory::informer_for) returns the
//!   **same** [`SharedIndexInformer<K>`] on every call (keyed by `K`'s type),
//!   so every controller in a program shares one watch and one cache per kind.
//!   [`dynamic_informer_for`](InformerFactory::dynamic_informer_for) does the
//!   same for untyped [`DynamicObject`]s, keyed by the [`ApiResource`] (GVR).
//! - Informers list and watch through the factory's [`RestClient`], in the
//!   factory's namespace (all namespaces when unset; cluster-scoped kinds
//!   ignore it), with the tweak function applied to every request's
//!   [`ListOptions`] (selectors), the per-kind resync period (else the
//!   default), the per-kind transform and watch-list use, as set in
//!   [`FactoryOptions`]. Those are informer settings fixed at build time
//!   ([`InformerBuilder`]); [`informer_builder`](InformerFactory::informer_builder)
//!   applies them to an informer over a custom lister-watcher.
//! - [`start`](InformerFactory::start) runs every informer requested so far
//!   that is not yet running (call it again after requesting more);
//!   [`wait_for_cache_sync`](InformerFactory::wait_for_cache_sync) awaits the
//!   sync signals of all started informers (false as soon as one stopped or
//!   failed, e.g. its transform panicked); [`shutdown`](InformerFactory::shutdown)
//!   stops them all and waits for them to finish. After shutdown, `start`
//!   does nothing.
//!
//! ## What generated code emits on top (informer-gen's shape)
//!
//! ```text
//! pub struct SharedInformerFactory { factory: InformerFactory }
//! impl SharedInformerFactory {
//!     pub fn new(cs: Clientset, resync: Duration) -> Self { .. }
//!     pub fn with_options(cs: Clientset, resync: Duration, o: FactoryOptions) -> Self { .. }
//!     pub fn core(&self) -> CoreInformers<'_> { CoreInformers(&self.factory) }  // per API package
//!     pub fn start(&self) { self.factory.start() }
//!     pub async fn wait_for_cache_sync(&self) -> bool { .. }
//!     pub async fn shutdown(&self) { .. }
//!     pub fn factory(&self) -> &InformerFactory { &self.factory }
//! }
//! // per package and version: CoreInformers(&factory).v1() -> core::v1::CoreV1Informers
//! // per resource:
//! pub type PodInformer = ResourceInformer<Pod>;
//! impl CoreV1Informers<'_> {
//!     pub fn pods(&self) -> PodInformer { self.0.resource_informer::<Pod>() }
//! }
//! ```
//!
//! [`ResourceInformer<K>`] carries `informer()` and `lister()`; `Lister<K>`
//! gives `namespaced(ns)`, which a generated `pods(ns)` forwards to.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::delta_fifo::Transformer;
use super::lister::Lister;
use super::listwatch::{DynListerWatcher, ListerWatcher, TweakFn, TweakListOptions};
use super::shared_informer::{InformerBuilder, InformerSynced, SharedIndexInformer, wait_all};
use kubegen_client::{Client, RestClient};
use kubegen_core::dynamic::DynamicObject;
use kubegen_core::metadata::PartialObjectMetadata;
use kubegen_core::options::ListOptions;
use kubegen_core::resource::{ApiResource, Object, Resource, Scope};
use kubegen_core::verbs;

/// Options of an [`InformerFactory`] (client-go's `SharedInformerOption`s).
#[derive(Default, Clone)]
pub struct FactoryOptions {
    namespace: Option<String>,
    tweak_list_options: Option<TweakFn>,
    custom_resync: HashMap<TypeId, Duration>,
    transforms: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    use_watch_list: Option<bool>,
}

impl std::fmt::Debug for FactoryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactoryOptions")
            .field("namespace", &self.namespace)
            .field("tweak_list_options", &self.tweak_list_options.is_some())
            .field("custom_resync", &self.custom_resync.len())
            .field("transforms", &self.transforms.len())
            .field("use_watch_list", &self.use_watch_list)
            .finish()
    }
}

impl FactoryOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Watch only this namespace (`WithNamespace`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Edit every list and watch request (`WithTweakListOptions`).
    pub fn tweak_list_options(
        mut self,
        tweak: impl Fn(&mut ListOptions) + Send + Sync + 'static,
    ) -> Self {
        self.tweak_list_options = Some(Arc::new(tweak));
        self
    }

    /// Resync period for kind `K` instead of the default (`WithCustomResyncConfig`).
    pub fn custom_resync<K: 'static>(mut self, period: Duration) -> Self {
        self.custom_resync.insert(TypeId::of::<K>(), period);
        self
    }

    /// Transform for kind `K`'s objects before caching (`WithTransform`, per kind).
    pub fn transform<K: Object>(mut self, f: impl Fn(K) -> K + Send + Sync + 'static) -> Self {
        let t: Transformer<K> = Arc::new(f);
        self.transforms.insert(TypeId::of::<K>(), Arc::new(t));
        self
    }

    /// Force watch-list streaming on or off for every informer of the
    /// factory (default: on, with fallback to list + watch; see
    /// [`InformerBuilder::use_watch_list`]).
    pub fn use_watch_list(mut self, enabled: bool) -> Self {
        self.use_watch_list = Some(enabled);
        self
    }

    fn transform_for<K: Object>(&self) -> Option<Transformer<K>> {
        self.transforms
            .get(&TypeId::of::<K>())
            .and_then(|t| t.downcast_ref::<Transformer<K>>().cloned())
    }
}

/// What the factory needs from an informer without knowing its kind: its
/// sync signal, and its run.
trait Control: InformerSynced {
    fn run(&self, cancel: CancellationToken) -> BoxFuture<'static, ()>;
}

impl<K: Object> Control for SharedIndexInformer<K> {
    fn run(&self, cancel: CancellationToken) -> BoxFuture<'static, ()> {
        let informer = self.clone();
        Box::pin(async move { informer.run(cancel).await })
    }
}

struct Entry {
    informer: Box<dyn Any + Send + Sync>,
    control: Arc<dyn Control>,
    started: bool,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Type(TypeId),
    Dynamic(ApiResource),
    Metadata(ApiResource),
}

struct Inner {
    rest: RestClient,
    default_resync: Duration,
    options: FactoryOptions,
    informers: Mutex<HashMap<Key, Entry>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    cancel: CancellationToken,
    shutting_down: AtomicBool,
}

/// One shared informer per kind; see the module docs. Cheap to clone.
#[derive(Clone)]
pub struct InformerFactory {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for InformerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InformerFactory")
            .field("default_resync", &self.inner.default_resync)
            .field("options", &self.inner.options)
            .field("informers", &self.inner.informers.lock().len())
            .finish()
    }
}

/// A kind's shared informer with its lister: what generated `pods()` returns.
pub struct ResourceInformer<K> {
    informer: SharedIndexInformer<K>,
    lister: Lister<K>,
}

impl<K> Clone for ResourceInformer<K> {
    fn clone(&self) -> Self {
        Self {
            informer: self.informer.clone(),
            lister: self.lister.clone(),
        }
    }
}

impl<K: Object> ResourceInformer<K> {
    /// The shared informer (add handlers here).
    pub fn informer(&self) -> &SharedIndexInformer<K> {
        &self.informer
    }
    /// A lister over the informer's cache.
    pub fn lister(&self) -> Lister<K> {
        self.lister.clone()
    }
}

impl InformerFactory {
    /// A factory whose informers resync every `default_resync` (zero: never).
    pub fn new(rest: RestClient, default_resync: Duration) -> Self {
        Self::with_options(rest, default_resync, FactoryOptions::default())
    }

    /// A factory with namespace, tweak, per-kind resync and transforms.
    pub fn with_options(
        rest: RestClient,
        default_resync: Duration,
        options: FactoryOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                rest,
                default_resync,
                options,
                informers: Mutex::new(HashMap::new()),
                tasks: Mutex::new(Vec::new()),
                cancel: CancellationToken::new(),
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    /// The client informers are built on.
    pub fn rest(&self) -> &RestClient {
        &self.inner.rest
    }

    /// The namespace informers are limited to, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.inner.options.namespace.as_deref()
    }

    /// The shared informer of kind `K`: created on the first call, the same
    /// one afterwards.
    pub fn informer_for<K>(&self) -> SharedIndexInformer<K>
    where
        K: Object + Resource + verbs::List + verbs::Watch,
    {
        self.informer_for_with(|f| {
            let rest = f.inner.rest.clone();
            let client = match (K::SCOPE, f.namespace()) {
                (Scope::Namespaced, Some(ns)) => Client::<K>::namespaced(rest, ns),
                (Scope::Namespaced, None) => Client::<K>::all(rest),
                (Scope::Cluster, _) => Client::<K>::cluster(rest),
            };
            f.new_informer::<K>(f.wrap(client))
        })
    }

    /// The shared informer of kind `K`, created by `new_informer` on the first
    /// call (client-go's `InformerFor`; for kinds with a custom lister-watcher).
    pub fn informer_for_with<K: Object>(
        &self,
        new_informer: impl FnOnce(&Self) -> SharedIndexInformer<K>,
    ) -> SharedIndexInformer<K> {
        let key = Key::Type(TypeId::of::<K>());
        if let Some(existing) = self.lookup::<K>(&key) {
            return existing;
        }
        // Built outside the lock; if another caller won the race, theirs is kept.
        let created = new_informer(self);
        self.insert(key, created)
    }

    /// [`informer_for`](Self::informer_for) plus a lister.
    pub fn resource_informer<K>(&self) -> ResourceInformer<K>
    where
        K: Object + Resource + verbs::List + verbs::Watch,
    {
        let informer = self.informer_for::<K>();
        let lister = Lister::new(informer.indexer().clone());
        ResourceInformer { informer, lister }
    }

    /// The shared informer of untyped objects of `resource`, keyed by the
    /// resource (the dynamic informer factory's `ForResource`).
    pub fn dynamic_informer_for(&self, resource: &ApiResource) -> ResourceInformer<DynamicObject> {
        self.resource_informer_of::<DynamicObject>(Key::Dynamic(resource.clone()), resource)
    }

    /// The shared informer of the metadata of `resource`'s objects (client-go's
    /// metadata informer factory's `ForResource`): names, labels, owners and
    /// finalizers without spec or status, for any resource, custom ones
    /// included, at a fraction of what caching whole objects takes.
    pub fn metadata_informer_for(
        &self,
        resource: &ApiResource,
    ) -> ResourceInformer<PartialObjectMetadata> {
        self.resource_informer_of::<PartialObjectMetadata>(
            Key::Metadata(resource.clone()),
            resource,
        )
    }

    /// The metadata informer of kind `K`'s resource.
    pub fn metadata_informer<K: Resource>(&self) -> ResourceInformer<PartialObjectMetadata> {
        self.metadata_informer_for(&K::api_resource())
    }

    /// The informer of `K` objects of a resource known at run time.
    fn resource_informer_of<K>(&self, key: Key, resource: &ApiResource) -> ResourceInformer<K>
    where
        K: Object + verbs::List + verbs::Watch,
    {
        let informer = match self.lookup::<K>(&key) {
            Some(i) => i,
            None => {
                let ns = match resource.scope {
                    Scope::Namespaced => self.namespace().map(str::to_owned),
                    Scope::Cluster => None,
                };
                let client = Client::<K>::new_with(self.inner.rest.clone(), resource.clone(), ns);
                let informer = self.new_informer::<K>(self.wrap(client));
                self.insert(key, informer)
            }
        };
        let lister = Lister::for_resource(informer.indexer().clone(), resource);
        ResourceInformer { informer, lister }
    }

    fn wrap<K: Object>(&self, client: Client<K>) -> Arc<dyn DynListerWatcher<K>>
    where
        Client<K>: super::listwatch::ListerWatcher<K>,
    {
        match &self.inner.options.tweak_list_options {
            Some(t) => Arc::new(TweakListOptions::new(client, t.clone())),
            None => Arc::new(client),
        }
    }

    /// An informer builder over `lw` with this factory's settings for `K`:
    /// its resync period (custom or default), its transform and watch-list
    /// use. Build it inside [`informer_for_with`](Self::informer_for_with) to
    /// share it; anything set on the builder afterwards overrides the factory.
    pub fn informer_builder<K: Object>(&self, lw: impl ListerWatcher<K>) -> InformerBuilder<K> {
        self.builder_dyn(Arc::new(lw))
    }

    fn builder_dyn<K: Object>(&self, lw: Arc<dyn DynListerWatcher<K>>) -> InformerBuilder<K> {
        let options = &self.inner.options;
        let resync = options
            .custom_resync
            .get(&TypeId::of::<K>())
            .copied()
            .unwrap_or(self.inner.default_resync);
        InformerBuilder::from_dyn(lw, resync)
            .transformer(options.transform_for::<K>())
            .maybe_use_watch_list(options.use_watch_list)
    }

    fn new_informer<K: Object>(&self, lw: Arc<dyn DynListerWatcher<K>>) -> SharedIndexInformer<K> {
        self.builder_dyn(lw).build()
    }

    fn lookup<K: Object>(&self, key: &Key) -> Option<SharedIndexInformer<K>> {
        self.inner
            .informers
            .lock()
            .get(key)
            .and_then(|e| e.informer.downcast_ref::<SharedIndexInformer<K>>().cloned())
    }

    fn insert<K: Object>(
        &self,
        key: Key,
        informer: SharedIndexInformer<K>,
    ) -> SharedIndexInformer<K> {
        let mut map = self.inner.informers.lock();
        let entry = map.entry(key).or_insert_with(|| Entry {
            control: Arc::new(informer.clone()),
            informer: Box::new(informer.clone()),
            started: false,
        });
        entry
            .informer
            .downcast_ref::<SharedIndexInformer<K>>()
            .cloned()
            .unwrap_or(informer)
    }

    /// Run every requested informer that is not running yet. Must be called
    /// inside a Tokio runtime (otherwise nothing starts and an error is logged).
    pub fn start(&self) {
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                "InformerFactory::start must be called inside a Tokio runtime; nothing started"
            );
            return;
        };
        let mut map = self.inner.informers.lock();
        let mut tasks = self.inner.tasks.lock();
        for entry in map.values_mut().filter(|e| !e.started) {
            entry.started = true;
            tasks.push(handle.spawn(entry.control.run(self.inner.cancel.child_token())));
        }
    }

    /// Wait until every started informer has synced, on their sync signals
    /// (no polling). Returns false if the factory was shut down, or an
    /// informer stopped or failed (a transform or index function panicked),
    /// first.
    pub async fn wait_for_cache_sync(&self) -> bool {
        let controls: Vec<Arc<dyn Control>> = self
            .inner
            .informers
            .lock()
            .values()
            .filter(|e| e.started)
            .map(|e| e.control.clone())
            .collect();
        wait_all(
            &self.inner.cancel,
            controls.iter().map(|c| c.as_ref() as &dyn InformerSynced),
        )
        .await
    }

    /// Stop every informer and wait until all have finished.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        self.inner.cancel.cancel();
        let tasks: Vec<JoinHandle<()>> = self.inner.tasks.lock().drain(..).collect();
        for t in tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "informer task failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! - `wait_for_cache_sync_returns_false_when_a_transform_panics`: the
    //!   factory's per-kind transform panics in the first list; the factory's
    //!   wait ends (false) instead of waiting for a sync that cannot come.
    //! - `wait_for_cache_sync_wakes_when_the_informers_sync`: the factory's
    //!   wait returns at the virtual instant its informer syncs (no poll),
    //!   and the informer got the factory's settings (no watch-list).
    use super::*;
    use crate::testing::{FakeServer, TestObj, api_error};
    use kubegen_client::config::Config;
    use tokio::time::Instant;

    /// Never contacted: the informers list and watch fake servers.
    fn rest() -> RestClient {
        RestClient::new(Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_cache_sync_wakes_when_the_informers_sync() {
        let options = FactoryOptions::new().use_watch_list(false);
        let factory = InformerFactory::with_options(rest(), Duration::ZERO, options);
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        // The first list fails: the sync comes after a jittered backoff.
        server
            .state
            .lock()
            .fail_lists
            .push_back(Some(api_error(500, "InternalError")));
        let informer = factory.informer_for_with(|f| f.informer_builder(server.clone()).build());
        factory.start();
        let started = Instant::now();
        let (factory_woke, informer_woke) = tokio::join!(
            async {
                assert!(factory.wait_for_cache_sync().await);
                started.elapsed()
            },
            async {
                assert!(informer.wait_for_sync().await);
                started.elapsed()
            },
        );
        assert!(
            factory_woke >= Duration::from_millis(800),
            "{factory_woke:?}"
        );
        assert_eq!(factory_woke, informer_woke, "no poll period in between");
        assert!(
            server
                .watch_calls()
                .iter()
                .all(|w| w.send_initial_events.is_none()),
            "watch-list is off, as the factory's options say"
        );
        factory.shutdown().await;
        assert!(informer.is_stopped());
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_cache_sync_returns_false_when_a_transform_panics() {
        let rest = rest();
        let options = FactoryOptions::new()
            .use_watch_list(false)
            .transform::<TestObj>(|o| {
                assert_ne!(o.value, 13, "transform refuses 13");
                o
            });
        let factory = InformerFactory::with_options(rest, Duration::ZERO, options);
        let server = FakeServer::new();
        server.upsert("ns", "a", 1);
        server.upsert("ns", "b", 13);
        let informer = factory.informer_for_with(|f| f.informer_builder(server.clone()).build());
        factory.start();
        let synced = tokio::time::timeout(Duration::from_secs(5), factory.wait_for_cache_sync())
            .await
            .expect("wait_for_cache_sync must not hang on a failed informer");
        assert!(!synced);
        assert!(informer.has_failed());
        let failure = informer.failure().unwrap().to_string();
        assert!(
            failure.starts_with("transform panicked: ") && failure.contains("transform refuses 13"),
            "{failure}"
        );
        tokio::time::timeout(Duration::from_secs(5), factory.shutdown())
            .await
            .expect("shutdown");
    }
}

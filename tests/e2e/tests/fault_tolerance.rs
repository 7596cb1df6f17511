//! Faults between the client and the real API server, injected by
//! [`FaultProxy`]: every test runs a ConfigMap informer through the proxy,
//! breaks the connection in one way, changes objects directly (not through
//! the proxy), and ends with the informer invariant: the cache equals a fresh
//! list from the server (names, resourceVersions, data) and a handler's
//! mirror equals the cache. Detection times are printed for the tests' README.
//!
//! - `silent_stall_of_the_watch_connection_is_detected_with_default_settings`:
//!   the connection stops moving bytes with its sockets open (a NAT or load
//!   balancer that forgot it). With the default HTTP/2 health check (30 s idle
//!   + 15 s ping) the informer sees a change made after the stall within 60 s.
//! - `stall_during_the_initial_watch_list_is_detected`: the stall hits before
//!   the initial-events-end bookmark; a shorter health check (configurable)
//!   finds it and the informer still syncs every object.
//! - `reset_watch_connection_recovers_at_once`: RST on the open connection.
//! - `slow_link_still_syncs_and_follows`: every chunk delayed 20 ms.
//! - `truncated_initial_stream_recovers`: the first connection is cut mid-body
//!   while the initial state streams.
//! - `stall_mid_list_page_is_detected`, `truncated_list_body_recovers`: the
//!   same faults on a paged list (watch-list off).
//! - `refused_connections_for_20_s_then_back`: the port is closed for 20 s
//!   (with the watch connection reset); objects change meanwhile.
//! - `get_through_a_stalled_connection_is_retried`: a GET on a dead pooled
//!   connection fails by the health check and is retried on a new one.
//! - `partitioned_leader_steps_down_before_another_leads`: the leader's
//!   connection is reset and new ones refused; it stops leading within its
//!   renew deadline, the other candidate takes over, the Lease counts one
//!   transition, and the two leadership intervals never overlap.

//!
//! - `watch_expired_by_compaction_while_the_server_stays_up_relists`: the
//!   informer's connection is cut, objects change and etcd is compacted; the
//!   resumed watch gets 410 Gone and the informer relists (deletes arrive as
//!   tombstones). PodTemplates, which the test cluster serves without a watch
//!   cache, so compaction reaches the watch.
//!
//! Each test has its own namespace and proxy, so they run in parallel.

use std::sync::Arc;
use std::time::Duration;

use kubegen_api::coordination::v1::Lease;
use kubegen_e2e::cluster::{etcd_compact, pod_template};
use kubegen_e2e::fault_proxy::{FaultProxy, apiserver_addr, via};
use kubegen_e2e::leadership::Intervals;
use kubegen_e2e::mirror::{Mirror, assert_converged, cached};
use kubegen_e2e::{ConfigMap, admin, drop_namespace, eventually, test_namespace};
use kubegen_runtime::cache::{FactoryOptions, InformerFactory};
use kubegen_runtime::leaderelection::{
    CancellationToken, LeaderElectionConfig, LeaderElector, LeaseLock,
};
use kubegen_runtime::{Client, Config, DeleteOptions, GetOptions, RestClient};
use tokio::time::Instant;

/// A health check of 3 s idle + 2 s ping instead of the default 30 s + 15 s,
/// so a dead connection is found in seconds.
fn fast_check(cfg: &mut Config) {
    cfg.http2_read_idle_timeout = Some(Duration::from_secs(3));
    cfg.http2_ping_timeout = Duration::from_secs(2);
}

struct Setup {
    proxy: FaultProxy,
    ns: String,
    /// Direct to the server, for changes and fresh lists.
    direct: Client<ConfigMap>,
    factory: InformerFactory,
    mirror: Mirror,
}

impl Setup {
    /// A namespace with `objects` ConfigMaps and a started, synced informer on
    /// it through a new proxy (`tune` adjusts the proxied client's config).
    async fn new(prefix: &str, objects: usize, tune: impl FnOnce(&mut Config)) -> Self {
        Self::prepare(prefix, objects, tune, |_, options| options)
            .await
            .started()
            .await
    }

    /// As `new`, with `before_start` run on the proxy before the informer
    /// starts; it returns the factory's options (given with the namespace
    /// set), which fix the informer's settings.
    async fn prepare(
        prefix: &str,
        objects: usize,
        tune: impl FnOnce(&mut Config),
        before_start: impl FnOnce(&FaultProxy, FactoryOptions) -> FactoryOptions,
    ) -> Unstarted {
        let rest = admin();
        let ns = test_namespace(&rest, prefix).await;
        let direct = Client::<ConfigMap>::namespaced(rest, &ns);
        for i in 0..objects {
            let cm = ConfigMap::new(
                &format!("cm-{i}"),
                serde_json::json!({"data": {"payload": "x".repeat(1024)}}),
            );
            direct
                .create(&cm, &Default::default())
                .await
                .expect("create");
        }
        let proxy = FaultProxy::start(apiserver_addr()).await;
        let mut cfg = via(&proxy);
        tune(&mut cfg);
        let options = before_start(&proxy, FactoryOptions::new().namespace(&ns));
        let factory = InformerFactory::with_options(
            RestClient::new(cfg).expect("client through the proxy"),
            Duration::ZERO,
            options,
        );
        let mirror = Mirror::default();
        factory
            .informer_for::<ConfigMap>()
            .add_event_handler(mirror.clone())
            .expect("add handler");
        Unstarted(Self {
            proxy,
            ns,
            direct,
            factory,
            mirror,
        })
    }

    fn has(&self, name: &str) -> bool {
        cached(&self.factory).contains_key(name)
    }

    /// Create `name` directly and return how long until the informer has it.
    async fn time_until_seen(&self, name: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        self.direct
            .create(&ConfigMap::named(name), &Default::default())
            .await
            .expect("create");
        eventually(limit, &format!("informer sees {name}"), || {
            let seen = self.has(name);
            async move { seen }
        })
        .await;
        start.elapsed()
    }

    async fn finish(self) {
        assert_converged(
            &self.factory,
            &self.mirror,
            &self.direct,
            Duration::from_secs(30),
        )
        .await;
        self.factory.shutdown().await;
        drop_namespace(&admin(), &self.ns).await;
    }
}

struct Unstarted(Setup);

impl Unstarted {
    async fn started(self) -> Setup {
        let s = self.0;
        s.factory.start();
        assert!(s.factory.wait_for_cache_sync().await, "informer synced");
        s
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_stall_of_the_watch_connection_is_detected_with_default_settings() {
    let s = Setup::new("fault-stall", 5, |_| {}).await;
    s.time_until_seen("before", Duration::from_secs(10)).await;

    let accepted = s.proxy.accepted();
    assert!(s.proxy.stall_open() >= 1, "a connection to stall");
    let took = s.time_until_seen("after", Duration::from_secs(90)).await;
    eprintln!("stall mid-watch (defaults) detected and recovered in {took:?}");
    assert!(
        took < Duration::from_secs(60),
        "the default health check bounds a silent stall at 60 s, took {took:?}"
    );
    assert!(
        s.proxy.accepted() > accepted,
        "recovered on a new connection"
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_during_the_initial_watch_list_is_detected() {
    // 300 objects of 1 KiB: the initial events are far longer than 64 KiB.
    let setup = Setup::prepare("fault-stall-initial", 300, fast_check, |p, options| {
        p.stall_next_after(1, 64 * 1024);
        options
    })
    .await;
    let start = Instant::now();
    let s = setup.started().await;
    eprintln!(
        "stall during watch-list (3 s + 2 s health check): synced after {:?}",
        start.elapsed()
    );
    assert_eq!(s.proxy.faults_injected(), 1, "the stall happened");
    assert!(s.has("cm-0") && s.has("cm-299"));
    s.finish().await;
}

/// The initial state by a paged list (watch-list off), cut by `fault` after
/// 64 KiB of a 300 KiB page.
async fn faulted_paged_list(prefix: &str, stall: bool) {
    let tune = |cfg: &mut Config| {
        fast_check(cfg);
        // The page crosses the wire whole, so the cut lands in it (gzipped,
        // these repetitive ConfigMaps would be a few KiB).
        cfg.disable_compression = true;
    };
    let setup = Setup::prepare(prefix, 300, tune, |p, options| {
        if stall {
            p.stall_next_after(1, 64 * 1024);
        } else {
            p.truncate_next(1, 64 * 1024);
        }
        options.use_watch_list(false)
    })
    .await;
    let start = Instant::now();
    let s = setup.started().await;
    eprintln!(
        "{} mid-list page: synced after {:?}",
        if stall { "stall" } else { "truncation" },
        start.elapsed()
    );
    assert_eq!(s.proxy.faults_injected(), 1, "the fault happened");
    assert!(s.has("cm-0") && s.has("cm-299"));
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_mid_list_page_is_detected() {
    faulted_paged_list("fault-stall-list", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_list_body_recovers() {
    faulted_paged_list("fault-truncate-list", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_link_still_syncs_and_follows() {
    // Every chunk either way waits 20 ms: a slow, far-away API server.
    let setup = Setup::prepare(
        "fault-slow",
        300,
        |_| {},
        |p, options| {
            p.delay_new(Duration::from_millis(20));
            options
        },
    )
    .await;
    let start = Instant::now();
    let s = setup.started().await;
    let synced = start.elapsed();
    let took = s.time_until_seen("after", Duration::from_secs(30)).await;
    eprintln!("slow link (20 ms a chunk): synced after {synced:?}, change seen after {took:?}");
    assert!(
        synced >= Duration::from_millis(100),
        "the delay applied (synced after {synced:?})"
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_watch_connection_recovers_at_once() {
    let s = Setup::new("fault-reset", 5, |_| {}).await;
    assert!(s.proxy.reset_open() >= 1, "a connection to reset");
    let took = s
        .time_until_seen("after-reset", Duration::from_secs(30))
        .await;
    eprintln!("reset mid-watch recovered in {took:?}");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_initial_stream_recovers() {
    let setup = Setup::prepare(
        "fault-truncate",
        300,
        |_| {},
        |p, options| {
            p.truncate_next(1, 64 * 1024);
            options
        },
    )
    .await;
    let start = Instant::now();
    let s = setup.started().await;
    eprintln!(
        "truncated initial stream: synced after {:?}",
        start.elapsed()
    );
    assert_eq!(s.proxy.faults_injected(), 1, "the cut happened");
    assert!(s.has("cm-0") && s.has("cm-299"));
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_for_20_s_then_back() {
    let s = Setup::new("fault-refuse", 10, |_| {}).await;
    s.proxy.refuse_new().await;
    assert!(s.proxy.reset_open() >= 1, "a connection to reset");
    // The server changes while the informer cannot reach it.
    for i in 0..3 {
        s.direct
            .delete(&format!("cm-{i}"), &DeleteOptions::default())
            .await
            .expect("delete");
    }
    s.direct
        .create(&ConfigMap::named("while-down"), &Default::default())
        .await
        .expect("create");
    // The outage itself: a fixed span of refused connections.
    tokio::time::sleep(Duration::from_secs(20)).await;
    s.proxy.accept_again().await;
    let back = Instant::now();
    eventually(Duration::from_secs(60), "informer has the change", || {
        let seen = s.has("while-down") && !s.has("cm-0");
        async move { seen }
    })
    .await;
    eprintln!(
        "refused for 20 s: caught up {:?} after the port reopened",
        back.elapsed()
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_through_a_stalled_connection_is_retried() {
    let rest = admin();
    let ns = test_namespace(&rest, "fault-get").await;
    Client::<ConfigMap>::namespaced(rest.clone(), &ns)
        .create(&ConfigMap::named("target"), &Default::default())
        .await
        .expect("create");
    let proxy = FaultProxy::start(apiserver_addr()).await;
    let mut cfg = via(&proxy);
    fast_check(&mut cfg);
    let client = Client::<ConfigMap>::namespaced(RestClient::new(cfg).expect("client"), &ns);
    client
        .get("target", &GetOptions::default())
        .await
        .expect("first get");
    // The pooled connection dies silently; the next GET goes out on it.
    assert_eq!(proxy.stall_open(), 1);
    let start = Instant::now();
    let got = client
        .get("target", &GetOptions::default())
        .await
        .expect("GET retried on a new connection");
    eprintln!(
        "GET on a stalled connection: answered after {:?}",
        start.elapsed()
    );
    assert_eq!(got.metadata.name.as_deref(), Some("target"));
    assert_eq!(proxy.accepted(), 2, "one new connection");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_leader_steps_down_before_another_leads() {
    let lease_name = kubegen_e2e::unique("fault-le");
    let config = LeaderElectionConfig {
        lease_duration: Duration::from_secs(6),
        renew_deadline: Duration::from_secs(4),
        retry_period: Duration::from_secs(1),
        release_on_cancel: true,
        name: "fault".into(),
    };
    let intervals = Intervals::default();
    let proxy = FaultProxy::start(apiserver_addr()).await;
    let through_proxy = RestClient::new(via(&proxy)).expect("client");
    let elector = |rest: RestClient, id: &str| {
        let lock = LeaseLock::new(rest, "default", &lease_name, id);
        Arc::new(
            LeaderElector::new(config.clone(), lock, intervals.callbacks(id)).expect("elector"),
        )
    };
    let a = elector(through_proxy, "partitioned");
    let b = elector(admin(), "direct");
    let cancel = CancellationToken::new();
    let run_a = tokio::spawn(Arc::clone(&a).run_shared(cancel.clone()));
    eventually(
        Duration::from_secs(10),
        "the proxied candidate leads",
        || {
            let leads = a.is_leader();
            async move { leads }
        },
    )
    .await;
    let run_b = tokio::spawn(Arc::clone(&b).run_shared(cancel.clone()));
    let leases: Client<Lease> = Client::namespaced(admin(), "default");
    let before = leases
        .get(&lease_name, &GetOptions::default())
        .await
        .expect("lease");

    // The leader loses the API server: no new connections, the open one broken.
    proxy.refuse_new().await;
    proxy.reset_open();
    let cut = Instant::now();
    // Stepping down is when its guarded work is told to stop.
    let work_stopped = || {
        intervals
            .snapshot()
            .iter()
            .find(|i| i.0 == "partitioned")
            .and_then(|i| i.2)
    };
    eventually(
        Duration::from_secs(15),
        "the partitioned leader steps down",
        || {
            let stopped = work_stopped().is_some();
            async move { stopped }
        },
    )
    .await;
    let stepped_down = work_stopped().expect("stopped") - cut;
    eventually(Duration::from_secs(20), "the other candidate leads", || {
        let leads = b.is_leader();
        async move { leads }
    })
    .await;
    let taken_over = cut.elapsed();
    eprintln!(
        "leader partitioned: stepped down after {stepped_down:?}, other led after {taken_over:?}"
    );
    // Renewals are tried until the renew deadline (4 s), a retry period apart
    // (1 s, up to 1.2 s with jitter), each bounded by the deadline too.
    assert!(
        stepped_down <= Duration::from_secs(7),
        "a partitioned leader must stop within its renew deadline, took {stepped_down:?}"
    );
    let after = leases
        .get(&lease_name, &GetOptions::default())
        .await
        .expect("lease");
    assert_eq!(
        after.spec.as_ref().unwrap().holder_identity.as_deref(),
        Some("direct")
    );
    let transitions = |l: &Lease| {
        l.spec
            .as_ref()
            .and_then(|s| s.lease_transitions)
            .unwrap_or_default()
    };
    assert_eq!(
        transitions(&after),
        transitions(&before) + 1,
        "one transition"
    );

    cancel.cancel();
    run_a.await.expect("partitioned candidate ends");
    run_b.await.expect("direct candidate ends");
    intervals.assert_never_two_leaders();
    let _ = leases.delete(&lease_name, &DeleteOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_expired_by_compaction_while_the_server_stays_up_relists() {
    use kubegen_api::core::v1::PodTemplate;
    // The cluster serves podtemplates from etcd (no watch cache), so etcd's
    // compaction reaches a resumed watch as 410 Gone.
    let rest = admin();
    let ns = test_namespace(&rest, "fault-410-watch").await;
    let direct = Client::<PodTemplate>::namespaced(rest.clone(), &ns);
    for i in 0..10 {
        direct
            .create(&pod_template(&format!("pt-{i}")), &Default::default())
            .await
            .expect("create");
    }
    let proxy = FaultProxy::start(apiserver_addr()).await;
    let factory = InformerFactory::with_options(
        RestClient::new(via(&proxy)).expect("client"),
        Duration::ZERO,
        FactoryOptions::new().namespace(&ns),
    );
    let informer = factory.informer_for::<PodTemplate>();
    let tombstones = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = tombstones.clone();
    informer
        .add_event_handler(
            kubegen_runtime::cache::EventHandlerFuncs::new().delete_func(
                move |d: &kubegen_runtime::cache::DeltaObject<PodTemplate>| {
                    let name = d
                        .object()
                        .metadata
                        .name
                        .as_deref()
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().unwrap().push((name, d.is_tombstone()));
                },
            ),
        )
        .expect("handler");
    factory.start();
    assert!(factory.wait_for_cache_sync().await);

    // Cut the informer off, change the collection, compact the history away.
    proxy.refuse_new().await;
    assert!(proxy.reset_open() >= 1);
    for i in 0..3 {
        direct
            .delete(&format!("pt-{i}"), &DeleteOptions::default())
            .await
            .expect("delete");
    }
    direct
        .create(&pod_template("pt-late"), &Default::default())
        .await
        .expect("create");
    tokio::task::spawn_blocking(etcd_compact)
        .await
        .expect("compact");
    proxy.accept_again().await;

    // Name -> resourceVersion.
    let versions = |objs: &mut dyn Iterator<Item = &PodTemplate>| {
        objs.map(|o| {
            let m = &o.metadata;
            (
                m.name.clone().unwrap_or_default(),
                m.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect::<std::collections::BTreeMap<_, _>>()
    };
    let want = versions(
        &mut direct
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .iter(),
    );
    eventually(Duration::from_secs(60), "cache equals a fresh list", || {
        let cached = informer.indexer().list();
        let ok = versions(&mut cached.iter().map(|o| o.as_ref())) == want;
        async move { ok }
    })
    .await;
    // The deletes could only come from a relist: as tombstones. Handlers get
    // their notifications on their own tasks, after the cache has changed.
    eventually(
        Duration::from_secs(30),
        "the relist's tombstones reach the handler",
        || {
            let deleted = tombstones.lock().unwrap().clone();
            let all = (0..3).all(|i| deleted.contains(&(format!("pt-{i}"), true)));
            async move { all }
        },
    )
    .await;
    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

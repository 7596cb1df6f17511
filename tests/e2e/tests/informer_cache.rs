//! Informers, listers and the informer factory against the real test cluster.
//!
//! - `cache_equals_fresh_list_after_random_writes`: 4 writers make 2,000 random
//!   create/update/delete operations on ConfigMaps; afterwards the informer's
//!   cache equals a fresh list (names, resourceVersions and data), and a
//!   handler that rebuilt the state from its events agrees too. Runs with
//!   watch-list streaming (the default) for the initial state.
//! - `late_handler_receives_every_existing_object_once`: 120 objects, a handler
//!   added after sync receives 120 initial adds, each object once, and its
//!   registration syncs. Uses list + watch (watch-list off).
//! - `factory_shares_informers_and_serves_dynamic_objects`: `informer_for`
//!   returns the same informer on every call; the dynamic informer for
//!   configmaps lists the same objects; the label-selector tweak and the
//!   lister filter apply.
//! - `cache_converges_across_apiserver_kill`: kill -9 the kube-apiserver while
//!   an informer watches, restart it, change objects at once; the cache
//!   converges and every deleted object is reported to the handler; objects
//!   deleted (in etcd) while it was down, with etcd's history compacted, come
//!   as DeletedFinalStateUnknown tombstones after the forced relist (410).
//!   Needs the cluster harness `tests/cluster/cluster.sh kill-apiserver|start-apiserver`
//!   and `curl` for etcd's JSON gateway.
//!
//! Every test fails (never skips) when the cluster is not running.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubegen_e2e::cluster::{base64, cluster_script, etcd, etcd_compact};
use kubegen_e2e::mirror::{Mirror, cached, fresh_list};
use kubegen_e2e::{ConfigMap, admin, drop_namespace, eventually, test_namespace};
use kubegen_runtime::cache::{EventHandlerFuncs, FactoryOptions, InformerFactory};
use kubegen_runtime::selector::Selector;
use kubegen_runtime::{ApiResource, Client, DeleteOptions, Scope, SortedMap};

/// The kill test stops the shared kube-apiserver; the other tests of this
/// binary (which cargo runs in parallel) hold the read side so they never
/// overlap with it.
static APISERVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A small deterministic PRNG (xorshift), so a failing run can be replayed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn factory_in(ns: &str, options: FactoryOptions) -> InformerFactory {
    InformerFactory::with_options(admin(), Duration::ZERO, options.namespace(ns))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_equals_fresh_list_after_random_writes() {
    let _apiserver = APISERVER.read().await;
    let rest = admin();
    let ns = test_namespace(&rest, "informer-random").await;
    let client = Client::<ConfigMap>::namespaced(rest.clone(), &ns);

    // Some objects exist before the informer starts.
    for i in 0..30 {
        let cm = ConfigMap::new(&format!("pre-{i}"), serde_json::json!({"data": {"v": "0"}}));
        client
            .create(&cm, &Default::default())
            .await
            .expect("create");
    }

    let factory = factory_in(&ns, FactoryOptions::new());
    let informer = factory.informer_for::<ConfigMap>();
    let mirror = Mirror::default();
    informer
        .add_event_handler(mirror.clone())
        .expect("add handler");
    factory.start();
    assert!(factory.wait_for_cache_sync().await, "informer synced");
    // Synced: every object made before the start is cached as the server has
    // it, and nothing else but what the server has. (The controller manager
    // adds kube-root-ca.crt to a new namespace at its own pace: a fresh list
    // may hold it when the cache does not yet.)
    let synced = cached(&factory);
    let listed = fresh_list(&client).await;
    for i in 0..30 {
        let name = format!("pre-{i}");
        assert!(synced.contains_key(&name), "{name} is not cached");
    }
    for (name, object) in &synced {
        assert_eq!(listed.get(name), Some(object), "{name}");
    }

    const WRITERS: u64 = 4;
    const OPS: u64 = 500;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((w + 1) * 0x1000_0001));
            // This writer's objects: name -> last object the server returned.
            let mut mine: HashMap<String, ConfigMap> = HashMap::new();
            for op in 0..OPS {
                let name = format!("w{w}-{}", rng.below(25));
                match (mine.get(&name).cloned(), rng.below(3)) {
                    (None, _) => {
                        let cm = ConfigMap::new(
                            &name,
                            serde_json::json!({"data": {"v": op.to_string()}}),
                        );
                        let created = client
                            .create(&cm, &Default::default())
                            .await
                            .expect("create");
                        mine.insert(name, created);
                    }
                    (Some(mut cm), 0) => {
                        client
                            .delete(&name, &DeleteOptions::default())
                            .await
                            .expect("delete");
                        mine.remove(&name);
                        cm.metadata.resource_version = None;
                    }
                    (Some(mut cm), _) => {
                        cm.rest.insert(
                            "data".into(),
                            serde_json::json!({"v": op.to_string(), "w": w.to_string()}),
                        );
                        let updated = client
                            .update(&cm, &Default::default())
                            .await
                            .expect("update");
                        mine.insert(name, updated);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }

    let want = fresh_list(&client).await;
    eventually(Duration::from_secs(30), "cache equals a fresh list", || {
        let got = cached(&factory);
        let want = want.clone();
        async move { got == want }
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "handler mirror equals a fresh list",
        || {
            let got = mirror.snapshot();
            let want = want.clone();
            async move { got == want }
        },
    )
    .await;
    // The lister sees the same.
    let lister = factory.resource_informer::<ConfigMap>().lister();
    assert_eq!(
        lister.namespaced(&ns).list(&Selector::everything()).len(),
        want.len()
    );
    assert!(!informer.last_sync_resource_version().is_empty());

    factory.shutdown().await;
    assert!(informer.is_stopped());
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_handler_receives_every_existing_object_once() {
    let _apiserver = APISERVER.read().await;
    let rest = admin();
    let ns = test_namespace(&rest, "informer-late").await;
    let client = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    for i in 0..120 {
        client
            .create(&ConfigMap::named(&format!("cm-{i}")), &Default::default())
            .await
            .expect("create");
    }
    let factory = factory_in(&ns, FactoryOptions::new().use_watch_list(false));
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    assert!(factory.wait_for_cache_sync().await);

    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let s2 = seen.clone();
    let reg = informer
        .add_event_handler(
            EventHandlerFuncs::new().add_func(move |o: &Arc<ConfigMap>, initial| {
                s2.lock()
                    .unwrap()
                    .push((o.metadata.name.clone().unwrap_or_default().into(), initial));
            }),
        )
        .expect("add late handler");
    eventually(Duration::from_secs(10), "late registration synced", || {
        let synced = reg.has_synced();
        async move { synced }
    })
    .await;
    // The controller-manager adds kube-root-ca.crt to every namespace, maybe
    // late; count ours.
    let seen: Vec<(String, bool)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n.starts_with("cm-"))
        .cloned()
        .collect();
    assert_eq!(seen.len(), 120, "one add per existing object");
    assert!(
        seen.iter().all(|(_, initial)| *initial),
        "replayed adds are initial-list adds"
    );
    let distinct: HashSet<_> = seen.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(distinct.len(), 120, "no object twice");
    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factory_shares_informers_and_serves_dynamic_objects() {
    let _apiserver = APISERVER.read().await;
    let rest = admin();
    let ns = test_namespace(&rest, "informer-factory").await;
    let client = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    for (i, tier) in ["web", "web", "db"].iter().enumerate() {
        let mut cm = ConfigMap::named(&format!("cm-{i}"));
        cm.metadata.labels = Some(SortedMap::from([("tier".into(), (*tier).into())]));
        client
            .create(&cm, &Default::default())
            .await
            .expect("create");
    }
    // Only objects with a tier label are watched (tweak list options).
    let factory = factory_in(
        &ns,
        FactoryOptions::new().tweak_list_options(|o| o.label_selector = Some("tier".into())),
    );
    let a = factory.informer_for::<ConfigMap>();
    let b = factory.informer_for::<ConfigMap>();
    assert!(a.is_same(&b), "one shared informer per kind");
    let configmaps = ApiResource {
        group: String::new(),
        version: "v1".into(),
        kind: "ConfigMap".into(),
        plural: "configmaps".into(),
        scope: Scope::Namespaced,
    };
    let dynamic = factory.dynamic_informer_for(&configmaps);
    assert!(
        dynamic
            .informer()
            .is_same(factory.dynamic_informer_for(&configmaps).informer())
    );
    // Unlabelled objects are not watched.
    client
        .create(&ConfigMap::named("unlabelled"), &Default::default())
        .await
        .expect("create");

    factory.start();
    assert!(factory.wait_for_cache_sync().await);
    let typed = factory.resource_informer::<ConfigMap>().lister();
    let web: Selector = "tier=web".parse().expect("selector");
    assert_eq!(typed.namespaced(&ns).list(&web).len(), 2);
    assert_eq!(typed.list(&Selector::everything()).len(), 3);
    assert!(
        typed
            .namespaced(&ns)
            .get("unlabelled")
            .expect_err("filtered")
            .is_not_found()
    );
    let dyn_lister = dynamic.lister();
    assert_eq!(
        dyn_lister
            .namespaced(&ns)
            .list(&"tier in (db)".parse().expect("selector"))
            .len(),
        1
    );
    assert_eq!(
        dyn_lister
            .namespaced(&ns)
            .get("cm-0")
            .expect("cached")
            .metadata
            .name
            .as_deref(),
        Some("cm-0")
    );
    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_converges_across_apiserver_kill() {
    let _apiserver = APISERVER.write().await;
    let rest = admin();
    let ns = test_namespace(&rest, "informer-kill").await;
    let client = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    for i in 0..40 {
        client
            .create(&ConfigMap::named(&format!("cm-{i}")), &Default::default())
            .await
            .expect("create");
    }
    let factory = factory_in(&ns, FactoryOptions::new());
    let informer = factory.informer_for::<ConfigMap>();
    let mirror = Mirror::default();
    informer
        .add_event_handler(mirror.clone())
        .expect("add handler");
    factory.start();
    assert!(factory.wait_for_cache_sync().await);

    tokio::task::spawn_blocking(|| cluster_script("kill-apiserver"))
        .await
        .expect("kill");
    // While it is down, objects disappear behind its back (as through another
    // apiserver) and etcd compacts its history: the informer cannot resume its
    // watch and must relist, reporting these as DeletedFinalStateUnknown.
    let ns2 = ns.clone();
    tokio::task::spawn_blocking(move || {
        for i in 0..5 {
            let key = base64(format!("/registry/configmaps/{ns2}/cm-{i}").as_bytes());
            let r = etcd("/v3/kv/deleterange", &format!(r#"{{"key":"{key}"}}"#));
            assert_eq!(r["deleted"], "1", "etcd delete of cm-{i}: {r}");
        }
        etcd_compact();
    })
    .await
    .expect("etcd changes");
    tokio::task::spawn_blocking(|| cluster_script("start-apiserver"))
        .await
        .expect("start");

    // Right after the restart, more changes through the API.
    let mut deleted: Vec<String> = (0..5).map(|i| format!("cm-{i}")).collect();
    for i in 5..10 {
        let name = format!("cm-{i}");
        client
            .delete(&name, &DeleteOptions::default())
            .await
            .expect("delete after restart");
        deleted.push(name);
    }
    for i in 40..50 {
        client
            .create(&ConfigMap::named(&format!("cm-{i}")), &Default::default())
            .await
            .expect("create after restart");
    }

    let want = fresh_list(&client).await;
    eventually(
        Duration::from_secs(90),
        "cache converges after the restart",
        || {
            let got = cached(&factory);
            let want = want.clone();
            async move { got == want }
        },
    )
    .await;
    eventually(Duration::from_secs(30), "handler saw every delete", || {
        let names: HashSet<String> = mirror
            .deleted
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        let all = deleted.iter().all(|d| names.contains(d));
        async move { all }
    })
    .await;
    let tombstones = mirror
        .deleted
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t)| *t)
        .count();
    eprintln!(
        "deletes delivered: {} ({tombstones} as tombstones)",
        mirror.deleted.lock().unwrap().len()
    );
    assert_eq!(mirror.snapshot(), want);
    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

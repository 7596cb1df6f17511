//! kube-rs-bench: the kube-rs column of the benchmark (issue 8).
//!
//! Runs one workload with kube 5 and k8s-openapi 0.29 the way kube-rs users
//! write it: `Api<K>`, the `watcher` + `reflector` store, the controller
//! runtime's `applier` (scheduler + runner) as the closest thing kube-rs has
//! to client-go's workqueue, and its `Controller`.
//!
//! ```text
//! kube-rs-bench <list|informer|metadata-informer|watch|workqueue|crud|decode|controller> --kubeconfig F [--context C] --namespace NS [flags]
//! ```
//!
//! Each workload prints one JSON line of results on stdout (and `watch`
//! prints `READY` once its store is synced); see bench/README.md for the
//! definitions, which are shared with the Go and kubegen programs.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use bench_common::{
    Flags, SENT_ANNOTATION, STAMP_ANNOTATION, Tally, configmap_fixture, ms, nanos_now, per_object,
    percentile, settled_rss, workqueue_keys,
};
use futures::{StreamExt, TryStreamExt, future, stream};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{DeleteParams, ListParams, PartialObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt as _, applier, watcher};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

fn main() {
    // The controller's phase 1 counts from here: before clients and caches.
    let start = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let Some(workload) = args.get(1).cloned() else {
        eprintln!(
            "usage: kube-rs-bench <list|informer|metadata-informer|watch|workqueue|crud|decode|controller> [--name value]..."
        );
        std::process::exit(2);
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
        .and_then(|rt| rt.block_on(run(&workload, &args[2..], start)));
    match result {
        Ok(mut v) => {
            v["client"] = json!("kube-rs");
            v["workload"] = json!(workload);
            if let Ok(peak) = bench_common::peak_rss_bytes() {
                v["peak_rss_bytes"] = json!(peak);
            }
            println!("{v}");
        }
        Err(e) => {
            eprintln!("{workload}: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run(workload: &str, args: &[String], start: Instant) -> Result<Value> {
    let flags = Flags::parse(args)?;
    let timeout = Duration::from_secs(flags.num("timeout-secs", 300)? as u64);
    if workload == "controller" {
        // Bounds its own waits, to say how far it got.
        return controller(&flags, start, start + timeout).await;
    }
    let work = async {
        match workload {
            "list" => list(&flags).await,
            "informer" => informer(&flags).await,
            "metadata-informer" => metadata_informer(&flags).await,
            "watch" => watch(&flags).await,
            "workqueue" => workqueue(&flags).await,
            "crud" => crud(&flags).await,
            "decode" => decode(&flags),
            other => bail!(
                "unknown workload {other:?} (want list, informer, metadata-informer, watch, workqueue, crud, decode or controller)"
            ),
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .with_context(|| format!("did not finish within {timeout:?}"))?
}

async fn client(flags: &Flags) -> Result<Client> {
    let path = flags.str("kubeconfig")?;
    let kubeconfig = Kubeconfig::read_from(path).with_context(|| format!("kubeconfig {path}"))?;
    let options = KubeConfigOptions {
        context: flags.opt("context").map(str::to_owned),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("kubeconfig {path}"))?;
    // kube-rs has no client-side rate limit to turn off.
    Client::try_from(config).context("building the client")
}

/// Workload a: list every ConfigMap of the namespace in pages of 500,
/// keeping all decoded items.
async fn list(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    let api: Api<ConfigMap> = Api::namespaced(client(flags).await?, ns);
    let start = Instant::now();
    let mut items = Vec::new();
    let mut pages = 0;
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api
            .list(&params)
            .await
            .with_context(|| format!("listing configmaps in {ns} (page {})", pages + 1))?;
        pages += 1;
        items.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    let elapsed = start.elapsed();
    if items.len() < want {
        bail!(
            "listed {} configmaps in {ns}, want at least {want}",
            items.len()
        );
    }
    Ok(json!({"items": items.len(), "pages": pages, "elapsed_ms": ms(elapsed)}))
}

/// Workload b: cold sync of a reflector store of the namespace's Pods.
async fn informer(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    let strip = match flags.opt("transform") {
        None => false,
        Some("strip-managed-fields") => true,
        Some(other) => bail!("--transform {other:?}: only strip-managed-fields is known"),
    };
    let api: Api<Pod> = Api::namespaced(client(flags).await?, ns);
    let rss_before = settled_rss()?;
    let start = Instant::now();
    let (reader, writer) = reflector::store();
    // kube-runtime's way to trim objects before the store: `modify`.
    let events = watcher(api, watcher::Config::default()).modify(move |pod: &mut Pod| {
        if strip {
            pod.metadata.managed_fields = None;
        }
    });
    let stream = reflector::reflector(writer, events);
    let driver = tokio::spawn(stream.for_each(|_| future::ready(())));
    reader
        .wait_until_ready()
        .await
        .context("the reflector stopped before it synced")?;
    let sync = start.elapsed();
    let n = reader.len();
    if n < want {
        bail!("store holds {n} pods of {ns}, want at least {want}");
    }
    let rss_after = settled_rss()?;
    driver.abort();
    Ok(json!({
        "items": n,
        "sync_ms": ms(sync),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "bytes_per_object": per_object(rss_after, rss_before, n),
    }))
}

/// Workload b-meta: cold sync of a reflector store of the same Pods'
/// metadata only. An `Api<PartialObjectMeta<Pod>>` asks for
/// `as=PartialObjectMetadata` (what kube's deprecated `metadata_watcher`
/// does, and what its deprecation note says to use instead); measured as b.
async fn metadata_informer(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    let api: Api<PartialObjectMeta<Pod>> = Api::namespaced(client(flags).await?, ns);
    let rss_before = settled_rss()?;
    let start = Instant::now();
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()));
    let driver = tokio::spawn(stream.for_each(|_| future::ready(())));
    reader
        .wait_until_ready()
        .await
        .context("the reflector stopped before it synced")?;
    let sync = start.elapsed();
    let n = reader.len();
    if n < want {
        bail!("store holds {n} pods of {ns}, want at least {want}");
    }
    let rss_after = settled_rss()?;
    driver.abort();
    Ok(json!({
        "items": n,
        "sync_ms": ms(sync),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "bytes_per_object": per_object(rss_after, rss_before, n),
    }))
}

/// Workload c: a synced reflector store counts the writer's updates as they
/// come out of the reflector (i.e. after the store applied them).
async fn watch(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    if want == 0 {
        bail!("--count (the number of updates to wait for) must be > 0");
    }
    let api: Api<ConfigMap> = Api::namespaced(client(flags).await?, ns);
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()));
    let counter = tokio::spawn(async move {
        let mut lags = Vec::with_capacity(want);
        let mut first = None;
        let mut last = Instant::now();
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.try_next().await? {
            let watcher::Event::Apply(cm) = event else {
                continue;
            };
            let Some(sent) = cm
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SENT_ANNOTATION))
            else {
                continue;
            };
            let Ok(sent) = sent.parse::<i128>() else {
                continue;
            };
            let now = Instant::now();
            first.get_or_insert(now);
            last = now;
            lags.push((nanos_now() - sent) as f64 / 1e6);
            if lags.len() == want {
                break;
            }
        }
        anyhow::Ok((lags, first, last))
    });
    reader
        .wait_until_ready()
        .await
        .context("the reflector stopped before it synced")?;
    println!("READY");
    let (mut lags, first, last) = counter.await.context("the watch task panicked")??;
    if lags.len() < want {
        bail!("the watch ended after {} of {want} updates", lags.len());
    }
    let span = first.map(|f| last - f).unwrap_or_default();
    Ok(json!({
        "events": lags.len(),
        "elapsed_ms": ms(span),
        "events_per_s": lags.len() as f64 / span.as_secs_f64(),
        "lag_p50_ms": percentile(&mut lags, 50.0),
        "lag_p99_ms": percentile(&mut lags, 99.0),
    }))
}

/// Workload d: kube-runtime's `applier` (its scheduler deduplicates queued
/// requests; its runner never runs one object twice at once, like the
/// workqueue's processing set) fed the shared key sequence, with
/// `concurrency` = workers and a reconciler that does nothing. kube-rs
/// reconciles objects from a store, so the store holds one ConfigMap per key.
///
/// The applier drops what is still queued when its input stream ends (that
/// is its shutdown), so the input stays open until the queue is drained:
/// `Drain` tracks keys added but not yet reconciled, like the workqueue's
/// dirty set, and ends the input once the producer is done and none is left.
async fn workqueue(flags: &Flags) -> Result<Value> {
    let workers = flags.num("workers", 1)?;
    let adds = flags.num("adds", 1_000_000)?;
    if workers == 0 || workers > u16::MAX as usize {
        bail!("--workers must be in 1..=65535");
    }
    let keys = workqueue_keys(adds);
    let distinct = adds / 2;
    // Fill the store as a watcher's initial list does; the applier waits
    // for the store to be ready (InitDone) before it runs anything. The key
    // index rides in metadata.generation, so the reconciler finds it cheaply.
    let (store, mut writer) = reflector::store::<ConfigMap>();
    writer.apply_watcher_event(&watcher::Event::Init);
    for k in 0..distinct {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(format!("object-{k}"));
        cm.metadata.namespace = Some("bench-ns".to_owned());
        cm.metadata.generation = Some(k as i64);
        writer.apply_watcher_event(&watcher::Event::InitApply(cm));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    let refs: Vec<(usize, ObjectRef<ConfigMap>)> = keys
        .iter()
        .map(|&k| (k, ObjectRef::new(&format!("object-{k}")).within("bench-ns")))
        .collect();

    let drain = Arc::new(Drain::new(distinct));
    let gets = Arc::new(AtomicUsize::new(0));
    let (on_add, on_reconcile, on_end, counted) =
        (drain.clone(), drain.clone(), drain, gets.clone());
    let start = Instant::now();
    let input = stream::iter(refs).map(move |(k, r)| {
        on_add.added(k);
        Ok::<_, Infallible>(r)
    });
    let tail = stream::once(async move { on_end.producer_done().await })
        .filter_map(|()| future::ready(None));
    let results = applier(
        move |cm: Arc<ConfigMap>, _ctx: Arc<()>| {
            counted.fetch_add(1, Ordering::Relaxed);
            on_reconcile.reconciled(cm.metadata.generation.unwrap_or_default() as usize);
            future::ready(Ok::<_, Infallible>(Action::await_change()))
        },
        |_cm, _err: &Infallible, _ctx| Action::await_change(),
        Arc::new(()),
        store,
        input.chain(tail),
        ControllerConfig::default().concurrency(workers as u16),
    );
    let failed = results.filter(|r| future::ready(r.is_err())).count().await;
    let elapsed = start.elapsed();
    if failed > 0 {
        bail!("{failed} reconciles failed");
    }
    let gets = gets.load(Ordering::Relaxed);
    let ops = adds + 2 * gets;
    Ok(json!({
        "workers": workers,
        "adds": adds,
        "gets": gets,
        "elapsed_ms": ms(elapsed),
        "ops_per_s": ops as f64 / elapsed.as_secs_f64(),
        "queue": "kube-runtime applier (scheduler + runner)",
    }))
}

/// Keys added to the applier but not reconciled since (the dirty set).
struct Drain {
    dirty: Vec<AtomicBool>,
    outstanding: AtomicUsize,
    producer_done: AtomicBool,
    empty: Notify,
}

impl Drain {
    fn new(keys: usize) -> Self {
        Self {
            dirty: (0..keys).map(|_| AtomicBool::new(false)).collect(),
            outstanding: AtomicUsize::new(0),
            producer_done: AtomicBool::new(false),
            empty: Notify::new(),
        }
    }

    fn added(&self, k: usize) {
        if !self.dirty[k].swap(true, Ordering::SeqCst) {
            self.outstanding.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn reconciled(&self, k: usize) {
        if self
            .dirty
            .get(k)
            .is_some_and(|d| d.swap(false, Ordering::SeqCst))
            && self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1
            && self.producer_done.load(Ordering::SeqCst)
        {
            self.empty.notify_one();
        }
    }

    /// Called after the last add; returns once every added key ran.
    async fn producer_done(&self) {
        self.producer_done.store(true, Ordering::SeqCst);
        if self.outstanding.load(Ordering::SeqCst) > 0 {
            self.empty.notified().await;
        }
    }
}

/// Workload h: kube-runtime's `Controller` over the namespace's ConfigMaps
/// (its own watcher and store, `watcher::Config::default()`) with
/// `concurrency` = `--workers`; each reconcile reads the object it is handed
/// (from the controller's store) and records it. Phase 1: from process start
/// until each of the `--count` ConfigMaps was reconciled once; then READY,
/// and phase 2 until each of the `--updates` ConfigMaps the harness stamps
/// was reconciled carrying `--stamp`.
async fn controller(flags: &Flags, start: Instant, deadline: Instant) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let count = flags.num("count", 0)?;
    let updates = flags.num("updates", 0)?;
    let workers = flags.num("workers", 2)?;
    let stamp = flags.str("stamp")?;
    if count == 0 || updates == 0 || updates > count || workers == 0 || workers > u16::MAX as usize
    {
        bail!(
            "want 0 < --updates ({updates}) <= --count ({count}) and --workers ({workers}) in 1..=65535"
        );
    }
    let tally = Arc::new(Tally::new(count, updates, stamp));
    let api: Api<ConfigMap> = Api::namespaced(client(flags).await?, ns);
    // Graceful shutdown: no new reconciles, those under way finish, then
    // the stream ends.
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let results = Controller::new(api, watcher::Config::default())
        .with_config(ControllerConfig::default().concurrency(workers as u16))
        .graceful_shutdown_on(async move {
            let _ = on_shutdown.await;
        })
        .run(reconcile, |_, e: &Infallible, _| match *e {}, tally.clone());
    // The stream reports each reconcile, and the watcher's errors (which it
    // retries); those are counted and reported.
    let mut run = tokio::spawn(async move {
        let mut errors = 0usize;
        let mut first_error = None;
        let mut results = std::pin::pin!(results);
        while let Some(r) = results.next().await {
            if let Err(e) = r {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
        (errors, first_error)
    });
    tokio::select! {
        waited = tally.wait_all_once(deadline) => waited?,
        stopped = &mut run => bail!("the controller stopped before phase 1 ended: {stopped:?}"),
    }
    tally.ready();
    println!("READY");
    tokio::select! {
        waited = tally.wait_all_stamped(deadline) => waited?,
        stopped = &mut run => bail!("the controller stopped before phase 2 ended: {stopped:?}"),
    }
    let _ = shutdown.send(());
    let (errors, first_error) = run.await.context("the controller task panicked")?;
    let mut result = tally.result(start)?;
    result["workers"] = json!(workers);
    result["errors"] = json!(errors);
    if let Some(e) = first_error {
        result["first_error"] = json!(e);
    }
    Ok(result)
}

/// h's reconcile: the object comes from the controller's store.
async fn reconcile(cm: Arc<ConfigMap>, tally: Arc<Tally>) -> Result<Action, Infallible> {
    let annotations = cm.metadata.annotations.as_ref();
    let stamp = annotations.and_then(|a| a.get(STAMP_ANNOTATION));
    let sent = annotations.and_then(|a| a.get(SENT_ANNOTATION));
    tally.reconciled(
        cm.metadata.name.as_deref().unwrap_or_default(),
        stamp.map(String::as_str),
        sent.map(String::as_str),
    );
    Ok(Action::await_change())
}

/// The ~1 KB fixture ConfigMap (bench_common::configmap_fixture).
fn fixture_configmap(ns: &str, name: &str, i: usize) -> ConfigMap {
    let (labels, data) = configmap_fixture(i);
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.to_owned());
    cm.metadata.namespace = Some(ns.to_owned());
    cm.metadata.labels = Some(labels);
    cm.data = Some(data);
    cm
}

/// Workload e: create, then update, then delete N ConfigMaps one request at
/// a time; latency percentiles per verb.
async fn crud(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let n = flags.num("count", 0)?;
    if n == 0 {
        bail!("--count must be > 0");
    }
    let api: Api<ConfigMap> = Api::namespaced(client(flags).await?, ns);
    let prefix = format!("crud-{}-", std::process::id());
    let (mut create, mut update, mut delete) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let pp = PostParams::default();
    let start = Instant::now();
    let mut created = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let t = Instant::now();
        let cm = api
            .create(&pp, &fixture_configmap(ns, &name, i))
            .await
            .with_context(|| format!("create {name}"))?;
        create.push(ms(t.elapsed()));
        created.push(cm);
    }
    for mut cm in created {
        let name = cm.metadata.name.clone().unwrap_or_default();
        cm.data
            .get_or_insert_with(Default::default)
            .insert("seq".to_owned(), "1".to_owned());
        let t = Instant::now();
        api.replace(&name, &pp, &cm)
            .await
            .with_context(|| format!("update {name}"))?;
        update.push(ms(t.elapsed()));
    }
    let dp = DeleteParams::default();
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let t = Instant::now();
        api.delete(&name, &dp)
            .await
            .with_context(|| format!("delete {name}"))?;
        delete.push(ms(t.elapsed()));
    }
    let elapsed = start.elapsed();
    Ok(json!({
        "objects": n,
        "elapsed_ms": ms(elapsed),
        "create_p50_ms": percentile(&mut create, 50.0),
        "create_p99_ms": percentile(&mut create, 99.0),
        "update_p50_ms": percentile(&mut update, 50.0),
        "update_p99_ms": percentile(&mut update, 99.0),
        "delete_p50_ms": percentile(&mut delete, 50.0),
        "delete_p99_ms": percentile(&mut delete, 99.0),
    }))
}

/// Workload g: decode a PodList JSON file with serde_json into
/// k8s-openapi's typed `List<Pod>`. The file is read before the clock starts.
fn decode(flags: &Flags) -> Result<Value> {
    let path = flags.str("file")?;
    let want = flags.num("count", 0)?;
    let data = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let start = Instant::now();
    let list: k8s_openapi::List<Pod> =
        serde_json::from_slice(&data).with_context(|| format!("decoding {path}"))?;
    let elapsed = start.elapsed();
    if list.items.len() < want {
        bail!(
            "{path} holds {} pods, want at least {want}",
            list.items.len()
        );
    }
    Ok(json!({
        "items": list.items.len(),
        "bytes": data.len(),
        "elapsed_ms": ms(elapsed),
        "mb_per_s": data.len() as f64 / 1e6 / elapsed.as_secs_f64(),
    }))
}

//! kubegen-bench: the kubegen column of the benchmark (issue 8).
//!
//! Runs one workload with kubegen-api (the generated `Clientset` and types)
//! (its `SharedInformerFactory` of typed informers and listers) and
//! kubegen-runtime (the rate-limiting workqueue, the controller runtime),
//! written the way a kubegen user would (as examples/sample-controller).
//!
//! ```text
//! kubegen-bench <list|informer|metadata-informer|watch|workqueue|crud|decode|controller> --kubeconfig F [--context C] --namespace NS [flags]
//! ```
//!
//! Each workload prints one JSON line of results on stdout (and `watch`
//! prints `READY` once its cache is synced); the definitions are shared with
//! the client-go and kube-rs programs (see bench/README.md).
//!
//! kubegen speaks protobuf to the server for built-in kinds (as client-go);
//! `--content-type application/json` forces JSON (`Config::protobuf = false`),
//! for the benchmark's "kubegen (JSON)" column.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use bench_common::{
    Flags, SENT_ANNOTATION, STAMP_ANNOTATION, Tally, configmap_fixture, ms, nanos_now, per_object,
    percentile, settled_rss, workqueue_keys,
};
use futures::StreamExt as _;
use kubegen_api::core::v1::{ConfigMap, Pod, PodListerExt as _};
use kubegen_api::{Clientset, SharedInformerFactory};
use kubegen_runtime::cache::transform::strip_managed_fields;
use kubegen_runtime::cache::{EventHandlerFuncs, FactoryOptions};
use kubegen_runtime::controller::{Action, CancellationToken, Controller};
use kubegen_runtime::selector::Selector;
use kubegen_runtime::workqueue::{RateLimitingQueue, default_controller_rate_limiter};
use kubegen_runtime::{
    Config, CreateOptions, DeleteOptions, ListOptions, ObjectList, UpdateOptions,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

fn main() {
    // The controller's phase 1 counts from here: before clients and caches.
    let start = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let Some(workload) = args.get(1).cloned() else {
        eprintln!(
            "usage: kubegen-bench <list|informer|metadata-informer|watch|workqueue|crud|decode|controller> [--name value]..."
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
            v["client"] = json!("kubegen");
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

fn clientset(flags: &Flags) -> Result<Clientset> {
    let path = flags.str("kubeconfig")?;
    // kubegen's Config has client-side rate limiting off by default.
    let mut config = Config::from_kubeconfig(path, flags.opt("context"))
        .with_context(|| format!("kubeconfig {path}"))?;
    match flags.opt("content-type") {
        None | Some("application/vnd.kubernetes.protobuf") => {}
        Some("application/json") => config.protobuf = false,
        Some(other) => bail!(
            "--content-type {other:?}: want application/json or application/vnd.kubernetes.protobuf"
        ),
    }
    Clientset::new(config).context("building the clientset")
}

/// Workload a: list every ConfigMap of the namespace in pages of 500,
/// keeping all decoded items, with the client's pager (`list_pages`: it asks
/// for each next page as soon as the current one's continue token is known).
async fn list(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    let cms = clientset(flags)?.core_v1().config_maps(ns);
    let start = Instant::now();
    let mut items = Vec::new();
    let mut pages = 0;
    let mut stream = std::pin::pin!(cms.list_pages(&ListOptions::default().limit(500)));
    while let Some(page) = stream.next().await {
        let page =
            page.with_context(|| format!("listing configmaps in {ns} (page {})", pages + 1))?;
        pages += 1;
        items.extend(page.items);
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

/// Workload b: cold sync of a shared Pod informer of the namespace; time to
/// synced and memory per cached object.
async fn informer(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    let cs = clientset(flags)?;
    let mut options = FactoryOptions::new().namespace(ns);
    match flags.opt("transform") {
        None => {}
        Some("strip-managed-fields") => options = options.transform(strip_managed_fields::<Pod>),
        Some(other) => bail!("--transform {other:?}: only strip-managed-fields is known"),
    }
    let rss_before = settled_rss()?;
    let start = Instant::now();
    let factory = SharedInformerFactory::with_options(cs, Duration::ZERO, options);
    let lister = factory.core().v1().pods().lister();
    factory.start();
    if !factory.wait_for_cache_sync().await {
        bail!("the pod informer stopped before it synced");
    }
    let sync = start.elapsed();
    let n = lister.pods(ns).list(&Selector::everything()).len();
    if n < want {
        bail!("cache holds {n} pods of {ns}, want at least {want}");
    }
    let rss_after = settled_rss()?;
    factory.shutdown().await;
    Ok(json!({
        "items": n,
        "sync_ms": ms(sync),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "bytes_per_object": per_object(rss_after, rss_before, n),
    }))
}

/// Workload b-meta: cold sync of a metadata-only informer of the same Pods
/// (the runtime factory's `metadata_informer`, objects cached as
/// `PartialObjectMetadata`); measured as b.
async fn metadata_informer(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    let cs = clientset(flags)?;
    let rss_before = settled_rss()?;
    let start = Instant::now();
    let factory = SharedInformerFactory::with_options(
        cs,
        Duration::ZERO,
        FactoryOptions::new().namespace(ns),
    );
    let lister = factory.factory().metadata_informer::<Pod>().lister();
    factory.start();
    if !factory.wait_for_cache_sync().await {
        bail!("the pod metadata informer stopped before it synced");
    }
    let sync = start.elapsed();
    let n = lister.list(&Selector::everything()).len();
    if n < want {
        bail!("cache holds {n} pods of {ns}, want at least {want}");
    }
    let rss_after = settled_rss()?;
    factory.shutdown().await;
    Ok(json!({
        "items": n,
        "sync_ms": ms(sync),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "bytes_per_object": per_object(rss_after, rss_before, n),
    }))
}

/// What the watch handler collects: lags (ms) and the first/last event time.
struct Seen {
    lags: Vec<f64>,
    first: Option<Instant>,
    last: Option<Instant>,
    done: Option<oneshot::Sender<()>>,
}

/// Workload c: a synced ConfigMap informer counts the writer's updates in
/// its update handler (called after the cache applied them).
async fn watch(flags: &Flags) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let want = flags.num("count", 0)?;
    if want == 0 {
        bail!("--count (the number of updates to wait for) must be > 0");
    }
    let cs = clientset(flags)?;
    let factory = SharedInformerFactory::with_options(
        cs,
        Duration::ZERO,
        FactoryOptions::new().namespace(ns),
    );
    let informer = factory.core().v1().config_maps();
    let (tx, rx) = oneshot::channel();
    let seen = Arc::new(Mutex::new(Seen {
        lags: Vec::with_capacity(want),
        first: None,
        last: None,
        done: Some(tx),
    }));
    let handler_seen = seen.clone();
    informer
        .informer()
        .add_event_handler(EventHandlerFuncs::new().update_func(
            move |_old, new: &Arc<ConfigMap>| {
                let Some(sent) = new
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(SENT_ANNOTATION))
                else {
                    return;
                };
                let Ok(sent) = sent.parse::<i128>() else {
                    return;
                };
                let now = Instant::now();
                let lag = (nanos_now() - sent) as f64 / 1e6;
                let Ok(mut s) = handler_seen.lock() else {
                    return;
                };
                s.first.get_or_insert(now);
                s.last = Some(now);
                s.lags.push(lag);
                if s.lags.len() == want
                    && let Some(done) = s.done.take()
                {
                    let _ = done.send(());
                }
            },
        ))
        .context("adding the update handler")?;
    factory.start();
    if !factory.wait_for_cache_sync().await {
        bail!("the configmap informer stopped before it synced");
    }
    println!("READY");
    rx.await
        .context("the informer stopped before all updates arrived")?;
    factory.shutdown().await;
    let mut s = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("the update handler panicked"))?;
    let span = match (s.first, s.last) {
        (Some(f), Some(l)) => l - f,
        _ => Duration::ZERO,
    };
    let events = s.lags.len();
    Ok(json!({
        "events": events,
        "elapsed_ms": ms(span),
        "events_per_s": events as f64 / span.as_secs_f64(),
        "lag_p50_ms": percentile(&mut s.lags, 50.0),
        "lag_p99_ms": percentile(&mut s.lags, 99.0),
    }))
}

/// Workload d: one producer adds the shared key sequence (50% duplicates)
/// to a rate-limiting queue while N worker tasks get, forget and done, as
/// sample-controller's workers do; then the queue is shut down and drained.
async fn workqueue(flags: &Flags) -> Result<Value> {
    let workers = flags.num("workers", 1)?;
    let adds = flags.num("adds", 1_000_000)?;
    if workers == 0 {
        bail!("--workers must be >= 1");
    }
    let keys: Vec<String> = workqueue_keys(adds)
        .into_iter()
        .map(|k| format!("bench-ns/object-{k}"))
        .collect();
    let queue: RateLimitingQueue<String> =
        RateLimitingQueue::new(default_controller_rate_limiter());
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut n = 0usize;
                while let Some(key) = queue.get().await {
                    queue.forget(&key);
                    queue.done(&key);
                    n += 1;
                }
                n
            })
        })
        .collect();
    for key in keys {
        queue.add(key);
    }
    queue.shut_down_with_drain().await;
    let mut gets = 0;
    for t in tasks {
        gets += t.await.context("a worker panicked")?;
    }
    let elapsed = start.elapsed();
    let ops = adds + 2 * gets;
    Ok(json!({
        "workers": workers,
        "adds": adds,
        "gets": gets,
        "elapsed_ms": ms(elapsed),
        "ops_per_s": ops as f64 / elapsed.as_secs_f64(),
    }))
}

/// Workload h: kubegen's controller runtime over the namespace's ConfigMaps
/// with `--workers` concurrent reconciles, each reading the object from the
/// informer's cache (the `Arc<ConfigMap>` it is handed) and recording it.
/// Phase 1: from process start until each of the `--count` ConfigMaps was
/// reconciled once; then READY, and phase 2 until each of the `--updates`
/// ConfigMaps the harness stamps was reconciled carrying `--stamp`.
async fn controller(flags: &Flags, start: Instant, deadline: Instant) -> Result<Value> {
    let ns = flags.str("namespace")?;
    let count = flags.num("count", 0)?;
    let updates = flags.num("updates", 0)?;
    let workers = flags.num("workers", 2)?;
    let stamp = flags.str("stamp")?;
    if count == 0 || updates == 0 || updates > count || workers == 0 {
        bail!("want 0 < --updates ({updates}) <= --count ({count}) and --workers ({workers}) >= 1");
    }
    let tally = Arc::new(Tally::new(count, updates, stamp));
    let factory = SharedInformerFactory::with_options(
        clientset(flags)?,
        Duration::ZERO,
        FactoryOptions::new().namespace(ns),
    );
    let controller = Controller::<ConfigMap>::new(factory.factory(), "bench")
        .context("building the controller")?
        .concurrency(workers);
    factory.start();
    let cancel = CancellationToken::new();
    let mut run = tokio::spawn(controller.run(
        reconcile,
        |_, e: &Infallible, _| match *e {},
        tally.clone(),
        cancel.clone(),
    ));
    // A controller that stops on its own (its caches never synced) ends the
    // waits too, with its error.
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
    cancel.cancel();
    run.await
        .context("the controller panicked")?
        .context("the controller failed")?;
    factory.shutdown().await;
    let mut result = tally.result(start)?;
    result["workers"] = json!(workers);
    Ok(result)
}

/// h's reconcile: the object comes from the informer's cache.
async fn reconcile(cm: Arc<ConfigMap>, tally: Arc<Tally>) -> Result<Action, Infallible> {
    let annotations = cm.metadata.annotations.as_ref();
    let stamp = annotations.and_then(|a| a.get(STAMP_ANNOTATION));
    let sent = annotations.and_then(|a| a.get(SENT_ANNOTATION));
    tally.reconciled(
        cm.metadata.name.as_deref().unwrap_or_default(),
        stamp.map(|v| v.as_str()),
        sent.map(|v| v.as_str()),
    );
    Ok(Action::AwaitChange)
}

/// The ~1 KB fixture ConfigMap (bench_common::configmap_fixture).
fn fixture_configmap(ns: &str, name: &str, i: usize) -> ConfigMap {
    let (labels, data) = configmap_fixture(i);
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.into());
    cm.metadata.namespace = Some(ns.into());
    cm.metadata.labels = Some(
        labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    );
    cm.data = Some(
        data.into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    );
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
    let cms = clientset(flags)?.core_v1().config_maps(ns);
    let prefix = format!("crud-{}-", std::process::id());
    let (mut create, mut update, mut delete) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let start = Instant::now();
    let mut created = Vec::with_capacity(n);
    let (co, uo, dopts) = (
        CreateOptions::default(),
        UpdateOptions::default(),
        DeleteOptions::default(),
    );
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let t = Instant::now();
        let cm = cms
            .create(&fixture_configmap(ns, &name, i), &co)
            .await
            .with_context(|| format!("create {name}"))?;
        create.push(ms(t.elapsed()));
        created.push(cm);
    }
    for mut cm in created {
        cm.data
            .get_or_insert_with(Default::default)
            .insert("seq".into(), "1".into());
        let t = Instant::now();
        cms.update(&cm, &uo)
            .await
            .with_context(|| format!("update {:?}", cm.metadata.name))?;
        update.push(ms(t.elapsed()));
    }
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let t = Instant::now();
        cms.delete(&name, &dopts)
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

/// Workload g: decode a PodList file into kubegen's typed `ObjectList<Pod>`:
/// JSON with serde_json, or the server's protobuf (the file starts with the
/// `k8s\0` envelope). The file is read before the clock starts.
fn decode(flags: &Flags) -> Result<Value> {
    let path = flags.str("file")?;
    let want = flags.num("count", 0)?;
    let data = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let start = Instant::now();
    let list: ObjectList<Pod> = if data.starts_with(b"k8s\0") {
        ObjectList::from_protobuf(&data).with_context(|| format!("decoding {path}"))?
    } else {
        serde_json::from_slice(&data).with_context(|| format!("decoding {path}"))?
    };
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

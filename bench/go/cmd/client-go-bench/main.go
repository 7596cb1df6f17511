// Command client-go-bench runs one benchmark workload with client-go, the way
// client-go's own users (sample-controller and friends) write it: the typed
// clientset, shared informers and listers, and the rate-limiting workqueue.
//
// Usage (the same shape for all three clients):
//
//	client-go-bench <workload> --kubeconfig F [--context C] --namespace NS [flags]
//
// Workloads: list (a), informer (b), metadata-informer (b-meta), watch (c),
// workqueue (d), crud (e), decode (g). Each prints exactly one JSON line with its results on stdout;
// watch first prints the line READY once its cache is synced, then waits for
// the harness's writer. Client-side rate limits are off (QPS < 0).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"

	"github.com/kubegen/kubegen/bench/go/internal/benchutil"
	"github.com/kubegen/kubegen/bench/go/internal/fixture"
)

type options struct {
	kubeconfig string
	context    string
	namespace  string
	count      int
	workers    int
	adds       int
	file       string
	timeout    time.Duration
	// contentType, when set, replaces client-go's wire format (protobuf for
	// built-in kinds) for requests and responses.
	contentType string
	// transform names a transform for the informer's objects (b).
	transform string
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: client-go-bench <list|informer|metadata-informer|watch|workqueue|crud|decode> [flags]")
		os.Exit(2)
	}
	workload := os.Args[1]
	fs := flag.NewFlagSet(workload, flag.ExitOnError)
	var o options
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&o.context, "context", "", "kubeconfig context (default: current-context)")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the workload's objects")
	fs.IntVar(&o.count, "count", 0, "objects expected (list, informer), updates expected (watch), objects to create (crud)")
	fs.IntVar(&o.workers, "workers", 1, "workqueue workers")
	fs.IntVar(&o.adds, "adds", 1_000_000, "workqueue adds (half of them duplicate keys)")
	fs.StringVar(&o.file, "file", "", "decode: the PodList file (JSON, or protobuf if it starts with k8s\\0)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.StringVar(&o.transform, "transform", "", "informer: strip-managed-fields drops metadata.managedFields before caching")
	fs.StringVar(&o.contentType, "content-type", "", "wire format, e.g. application/json (default: client-go's, protobuf for built-in kinds)")
	if err := fs.Parse(os.Args[2:]); err != nil {
		benchutil.Fail(workload, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	var result map[string]any
	var err error
	switch workload {
	case "list":
		result, err = runList(ctx, o)
	case "informer":
		result, err = runInformer(ctx, o)
	case "metadata-informer":
		result, err = runMetadataInformer(ctx, o)
	case "watch":
		result, err = runWatch(ctx, o)
	case "workqueue":
		result, err = runWorkqueue(o)
	case "crud":
		result, err = runCrud(ctx, o)
	case "decode":
		result, err = runDecode(o)
	default:
		err = fmt.Errorf("unknown workload %q (want list, informer, metadata-informer, watch, workqueue, crud or decode)", workload)
	}
	if err != nil {
		benchutil.Fail(workload, err)
	}
	result["client"] = "client-go"
	result["workload"] = workload
	benchutil.Emit(result)
}

func restConfig(o options) (*rest.Config, error) {
	if o.kubeconfig == "" {
		return nil, fmt.Errorf("--kubeconfig is required")
	}
	if o.namespace == "" {
		return nil, fmt.Errorf("--namespace is required")
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: o.kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: o.context},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", o.kubeconfig, err)
	}
	cfg.QPS = -1 // no client-side rate limit
	if o.contentType != "" {
		cfg.ContentType = o.contentType
		cfg.AcceptContentTypes = o.contentType
	}
	return cfg, nil
}

func clientset(o options) (*kubernetes.Clientset, error) {
	cfg, err := restConfig(o)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// runList is workload a: list all ConfigMaps of the namespace in pages of
// 500, keeping every decoded item, as a pager-based List does.
func runList(ctx context.Context, o options) (map[string]any, error) {
	cs, err := clientset(o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var items []corev1.ConfigMap
	pages := 0
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := cs.CoreV1().ConfigMaps(o.namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing configmaps in %s (page %d): %w", o.namespace, pages+1, err)
		}
		pages++
		items = append(items, list.Items...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	elapsed := time.Since(start)
	if len(items) < o.count {
		return nil, fmt.Errorf("listed %d configmaps in %s, want at least %d", len(items), o.namespace, o.count)
	}
	return map[string]any{"items": len(items), "pages": pages, "elapsed_ms": benchutil.Ms(elapsed)}, nil
}

// settle returns freed memory to the OS so RSS reflects live data only.
func settle() (rss uint64, heap uint64, err error) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rss, err = benchutil.RSSBytes()
	return rss, m.HeapAlloc, err
}

// runInformer is workload b: a cold shared-informer sync of the namespace's
// Pods; time to HasSynced and memory per cached object.
func runInformer(ctx context.Context, o options) (map[string]any, error) {
	cs, err := clientset(o)
	if err != nil {
		return nil, err
	}
	rssBefore, heapBefore, err := settle()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(o.namespace))
	podInformer := factory.Core().V1().Pods()
	informer := podInformer.Informer()
	switch o.transform {
	case "":
	case "strip-managed-fields":
		// What controller-runtime's TransformStripManagedFields does.
		strip := func(obj any) (any, error) {
			if pod, ok := obj.(*corev1.Pod); ok {
				pod.ManagedFields = nil
			}
			return obj, nil
		}
		if err := informer.SetTransform(strip); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("--transform %q: only strip-managed-fields is known", o.transform)
	}
	lister := podInformer.Lister()
	factory.Start(ctx.Done())
	synced := factory.WaitForCacheSync(ctx.Done())
	for typ, ok := range synced {
		if !ok {
			return nil, fmt.Errorf("informer for %v did not sync within %s", typ, o.timeout)
		}
	}
	syncTime := time.Since(start)
	pods, err := lister.Pods(o.namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing the cache: %w", err)
	}
	n := len(pods)
	if n < o.count {
		return nil, fmt.Errorf("cache holds %d pods of %s, want at least %d", n, o.namespace, o.count)
	}
	rssAfter, heapAfter, err := settle()
	if err != nil {
		return nil, err
	}
	runtime.KeepAlive(informer)
	return map[string]any{
		"items":                 n,
		"sync_ms":               benchutil.Ms(syncTime),
		"rss_before":            rssBefore,
		"rss_after":             rssAfter,
		"bytes_per_object":      perObject(rssAfter, rssBefore, n),
		"heap_bytes_per_object": perObject(heapAfter, heapBefore, n),
	}, nil
}

// runMetadataInformer is workload b-meta: the cold sync of a metadata-only
// informer (client-go's metadata client and metadata informer factory, the
// objects cached as *metav1.PartialObjectMetadata) over the same Pods as b;
// time to synced and memory per cached object, measured as in b. The
// metadata client always speaks protobuf (metadata.ConfigFor), whatever
// --content-type says.
func runMetadataInformer(ctx context.Context, o options) (map[string]any, error) {
	cfg, err := restConfig(o)
	if err != nil {
		return nil, err
	}
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	rssBefore, heapBefore, err := settle()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	factory := metadatainformer.NewFilteredSharedInformerFactory(mc, 0, o.namespace, nil)
	pods := factory.ForResource(corev1.SchemeGroupVersion.WithResource("pods"))
	informer := pods.Informer()
	lister := pods.Lister()
	factory.Start(ctx.Done())
	for gvr, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("metadata informer for %v did not sync within %s", gvr, o.timeout)
		}
	}
	syncTime := time.Since(start)
	objs, err := lister.ByNamespace(o.namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing the cache: %w", err)
	}
	n := len(objs)
	if n < o.count {
		return nil, fmt.Errorf("cache holds %d pods of %s, want at least %d", n, o.namespace, o.count)
	}
	if _, ok := objs[0].(*metav1.PartialObjectMetadata); !ok {
		return nil, fmt.Errorf("cache holds %T, want *v1.PartialObjectMetadata", objs[0])
	}
	rssAfter, heapAfter, err := settle()
	if err != nil {
		return nil, err
	}
	runtime.KeepAlive(informer)
	return map[string]any{
		"items":                 n,
		"sync_ms":               benchutil.Ms(syncTime),
		"rss_before":            rssBefore,
		"rss_after":             rssAfter,
		"bytes_per_object":      perObject(rssAfter, rssBefore, n),
		"heap_bytes_per_object": perObject(heapAfter, heapBefore, n),
	}, nil
}

func perObject(after, before uint64, n int) float64 {
	if n == 0 || after < before {
		return 0
	}
	return float64(after-before) / float64(n)
}

// runWatch is workload c: a synced ConfigMap informer counts the updates the
// harness's writer makes; lag = time the update handler sees the object -
// the send time the writer put in SentAnnotation.
func runWatch(ctx context.Context, o options) (map[string]any, error) {
	cs, err := clientset(o)
	if err != nil {
		return nil, err
	}
	if o.count <= 0 {
		return nil, fmt.Errorf("--count (the number of updates to wait for) must be > 0")
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(o.namespace))
	informer := factory.Core().V1().ConfigMaps().Informer()
	var mu sync.Mutex
	lags := make([]float64, 0, o.count)
	var first, last time.Time
	done := make(chan struct{})
	_, err = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, newObj any) {
			cm, ok := newObj.(*corev1.ConfigMap)
			if !ok {
				return
			}
			sent, ok := cm.Annotations[fixture.SentAnnotation]
			if !ok {
				return
			}
			ns, err := strconv.ParseInt(sent, 10, 64)
			if err != nil {
				return
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if len(lags) == 0 {
				first = now
			}
			last = now
			lags = append(lags, float64(now.UnixNano()-ns)/1e6)
			if len(lags) == o.count {
				close(done)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	fmt.Println("READY")
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		got := len(lags)
		mu.Unlock()
		return nil, fmt.Errorf("saw %d of %d updates before the timeout", got, o.count)
	}
	mu.Lock()
	defer mu.Unlock()
	span := last.Sub(first)
	return map[string]any{
		"events":       len(lags),
		"elapsed_ms":   benchutil.Ms(span),
		"events_per_s": float64(len(lags)) / span.Seconds(),
		"lag_p50_ms":   benchutil.Percentile(lags, 50),
		"lag_p99_ms":   benchutil.Percentile(lags, 99),
	}, nil
}

// runWorkqueue is workload d: one producer adds the shared key sequence (50%
// duplicates) to a rate-limiting queue while N workers Get, Forget and Done,
// as sample-controller's workers do; the queue is shut down after the last
// add and drained.
func runWorkqueue(o options) (map[string]any, error) {
	if o.workers < 1 {
		return nil, fmt.Errorf("--workers must be >= 1")
	}
	keys := benchutil.WorkqueueKeys(o.adds)
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	var gets sync.WaitGroup
	counts := make([]int, o.workers)
	start := time.Now()
	for w := 0; w < o.workers; w++ {
		gets.Add(1)
		go func(w int) {
			defer gets.Done()
			for {
				key, shutdown := queue.Get()
				if shutdown {
					return
				}
				queue.Forget(key)
				queue.Done(key)
				counts[w]++
			}
		}(w)
	}
	for _, k := range keys {
		queue.Add(k)
	}
	queue.ShutDownWithDrain()
	gets.Wait()
	elapsed := time.Since(start)
	total := 0
	for _, c := range counts {
		total += c
	}
	// adds + (get + done) per processed item
	ops := len(keys) + 2*total
	return map[string]any{
		"workers":    o.workers,
		"adds":       len(keys),
		"gets":       total,
		"elapsed_ms": benchutil.Ms(elapsed),
		"ops_per_s":  float64(ops) / elapsed.Seconds(),
	}, nil
}

// runCrud is workload e: create, then update, then delete N ConfigMaps one
// request at a time; latency percentiles per verb.
func runCrud(ctx context.Context, o options) (map[string]any, error) {
	cs, err := clientset(o)
	if err != nil {
		return nil, err
	}
	if o.count <= 0 {
		return nil, fmt.Errorf("--count must be > 0")
	}
	api := cs.CoreV1().ConfigMaps(o.namespace)
	prefix := fmt.Sprintf("crud-%d-", os.Getpid())
	created := make([]*corev1.ConfigMap, o.count)
	var createLat, updateLat, deleteLat []float64
	start := time.Now()
	for i := 0; i < o.count; i++ {
		t := time.Now()
		cm, err := api.Create(ctx, fixture.ConfigMap(o.namespace, prefix+strconv.Itoa(i), i), metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create %s%d: %w", prefix, i, err)
		}
		createLat = append(createLat, benchutil.Ms(time.Since(t)))
		created[i] = cm
	}
	for i, cm := range created {
		cm.Data["seq"] = "1"
		t := time.Now()
		if _, err := api.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("update %s: %w", cm.Name, err)
		}
		updateLat = append(updateLat, benchutil.Ms(time.Since(t)))
		created[i] = nil
	}
	for i := 0; i < o.count; i++ {
		name := prefix + strconv.Itoa(i)
		t := time.Now()
		if err := api.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return nil, fmt.Errorf("delete %s: %w", name, err)
		}
		deleteLat = append(deleteLat, benchutil.Ms(time.Since(t)))
	}
	elapsed := time.Since(start)
	return map[string]any{
		"objects":       o.count,
		"elapsed_ms":    benchutil.Ms(elapsed),
		"create_p50_ms": benchutil.Percentile(createLat, 50),
		"create_p99_ms": benchutil.Percentile(createLat, 99),
		"update_p50_ms": benchutil.Percentile(updateLat, 50),
		"update_p99_ms": benchutil.Percentile(updateLat, 99),
		"delete_p50_ms": benchutil.Percentile(deleteLat, 50),
		"delete_p99_ms": benchutil.Percentile(deleteLat, 99),
	}, nil
}

// runDecode is workload g: decode a PodList file into client-go's typed
// PodList: JSON with encoding/json, or, if the file starts with the
// protobuf envelope k8s\0, with apimachinery's protobuf serializer (what
// the clientset decodes protobuf answers with). The file is read before the
// clock starts.
func runDecode(o options) (map[string]any, error) {
	if o.file == "" {
		return nil, fmt.Errorf("--file is required")
	}
	data, err := os.ReadFile(o.file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", o.file, err)
	}
	start := time.Now()
	var list corev1.PodList
	if bytes.HasPrefix(data, []byte("k8s\x00")) {
		obj, _, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(data, nil, &list)
		if err != nil {
			return nil, fmt.Errorf("decoding %s (protobuf): %w", o.file, err)
		}
		if obj != &list {
			return nil, fmt.Errorf("decoding %s (protobuf): got a %T, not the PodList given", o.file, obj)
		}
	} else if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", o.file, err)
	}
	elapsed := time.Since(start)
	if len(list.Items) < o.count {
		return nil, fmt.Errorf("%s holds %d pods, want at least %d", o.file, len(list.Items), o.count)
	}
	return map[string]any{
		"items":      len(list.Items),
		"bytes":      len(data),
		"elapsed_ms": benchutil.Ms(elapsed),
		"mb_per_s":   float64(len(data)) / 1e6 / elapsed.Seconds(),
	}, nil
}

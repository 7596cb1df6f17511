// Command controller-runtime-bench runs workload h (the controller) with
// sigs.k8s.io/controller-runtime, the way its users write a controller: a
// manager, a controller built with ControllerManagedBy(...).For(...), and a
// reconciler reading through the manager's cached client. In the report it
// fills the client-go column of h (controller-runtime is built on client-go
// and is what Go controllers use).
//
// Usage (the same shape as client-go-bench):
//
//	controller-runtime-bench controller --kubeconfig F [--context C] --namespace NS \
//	    --count N --updates M --workers W --stamp S
//
// Phase 1: from process start until each of the namespace's N ConfigMaps has
// been reconciled once. Then it prints READY, the harness updates M of them
// (each gets the annotation bench.kubegen.io/stamp = S), and phase 2 lasts
// until each of those was reconciled carrying S. It prints one JSON line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubegen/kubegen/bench/go/internal/benchutil"
	"github.com/kubegen/kubegen/bench/go/internal/fixture"
)

// processStart is phase 1's start: before flags, clients and caches.
var processStart = time.Now()

type options struct {
	kubeconfig string
	context    string
	namespace  string
	count      int
	updates    int
	workers    int
	stamp      string
	timeout    time.Duration
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "controller" {
		fmt.Fprintln(os.Stderr, "usage: controller-runtime-bench controller --kubeconfig F --namespace NS --count N --updates M --workers W --stamp S")
		os.Exit(2)
	}
	workload := os.Args[1]
	fs := flag.NewFlagSet(workload, flag.ExitOnError)
	var o options
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&o.context, "context", "", "kubeconfig context (default: current-context)")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the ConfigMaps")
	fs.IntVar(&o.count, "count", 0, "ConfigMaps in the namespace (phase 1 waits for each)")
	fs.IntVar(&o.updates, "updates", 0, "ConfigMaps the harness updates with the stamp (phase 2 waits for each)")
	fs.IntVar(&o.workers, "workers", 2, "concurrent reconciles (MaxConcurrentReconciles)")
	fs.StringVar(&o.stamp, "stamp", "", "the value the harness's updates put in bench.kubegen.io/stamp")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long (from process start)")
	if err := fs.Parse(os.Args[2:]); err != nil {
		benchutil.Fail(workload, err)
	}
	result, err := run(o)
	if err != nil {
		benchutil.Fail(workload, err)
	}
	result["client"] = "controller-runtime"
	result["workload"] = workload
	result["workers"] = o.workers
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "sigs.k8s.io/controller-runtime" {
				result["controller_runtime"] = d.Version
			}
		}
	}
	benchutil.Emit(result)
}

// reconciler reads the object from the manager's cache and records it.
type reconciler struct {
	client client.Client
	tally  *benchutil.Tally
}

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var cm corev1.ConfigMap
	if err := r.client.Get(ctx, req.NamespacedName, &cm); err != nil {
		// Not found: deleted, nothing to do (none are, in this workload).
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	r.tally.Reconciled(cm.Name, cm.Annotations[fixture.StampAnnotation], cm.Annotations[fixture.SentAnnotation])
	return reconcile.Result{}, nil
}

func run(o options) (map[string]any, error) {
	switch {
	case o.kubeconfig == "" || o.namespace == "" || o.stamp == "":
		return nil, errors.New("--kubeconfig, --namespace and --stamp are required")
	case o.count <= 0 || o.updates <= 0 || o.updates > o.count:
		return nil, fmt.Errorf("want 0 < --updates (%d) <= --count (%d)", o.updates, o.count)
	case o.workers < 1:
		return nil, errors.New("--workers must be >= 1")
	}
	ctx, cancel := context.WithDeadlineCause(context.Background(), processStart.Add(o.timeout),
		fmt.Errorf("the timeout (%s from process start) passed", o.timeout))
	defer cancel()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: o.kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: o.context},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", o.kubeconfig, err)
	}
	cfg.QPS = -1 // no client-side rate limit (what ctrl.GetConfig sets too)

	// Logs off, as the Rust programs run without a tracing subscriber.
	log.SetLogger(logr.Discard())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{o.namespace: {}}},
	})
	if err != nil {
		return nil, fmt.Errorf("building the manager: %w", err)
	}
	tally := benchutil.NewTally(o.count, o.updates, o.stamp)
	err = ctrl.NewControllerManagedBy(mgr).
		For(&corev1.ConfigMap{}).
		Named("bench").
		WithOptions(controller.Options{MaxConcurrentReconciles: o.workers}).
		Complete(&reconciler{client: mgr.GetClient(), tally: tally})
	if err != nil {
		return nil, fmt.Errorf("building the controller: %w", err)
	}

	// The waits end at the timeout, or when the manager stops on its own
	// (its caches failed): either way with an error saying how far it got.
	waitCtx, managerStopped := context.WithCancelCause(ctx)
	mgrCtx, stop := context.WithCancel(ctx)
	defer stop()
	stopped := make(chan error, 1)
	go func() {
		err := mgr.Start(mgrCtx)
		managerStopped(fmt.Errorf("the manager stopped: %v", err))
		stopped <- err
	}()
	if err := tally.WaitAllOnce(waitCtx); err != nil {
		return nil, err
	}
	tally.Ready()
	fmt.Println("READY")
	if err := tally.WaitAllStamped(waitCtx); err != nil {
		return nil, err
	}
	stop()
	if err := <-stopped; err != nil {
		return nil, fmt.Errorf("the manager stopped with: %w", err)
	}
	return tally.Result(processStart)
}

// Command harness runs the side-by-side benchmark of issue 8: kubegen vs
// client-go vs kube-rs against the test cluster of `make cluster-up`.
//
// It creates the fixtures (ConfigMaps and Pods in bench-* namespaces, with
// many concurrent client-go requests), runs every workload `--runs` times
// with the clients interleaved (run r starts with a different client), takes
// wall time, CPU time and peak RSS of every process from wait4, fetches a's
// and b's bytes raw itself for the server's floor (floor.go), measures the
// build times of workload f with fresh target directories, writes
// results/latest.md and results/latest.json, and deletes the namespaces it
// made. The whole run stops by itself at --deadline: later runs are skipped
// and reported as missing, never waited for.
//
// bench/run.sh builds the three client binaries and calls this; see
// bench/README.md for what each workload measures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubegen/kubegen/bench/go/internal/fixture"
)

// params are the sizes of the run; --scale sets them all in proportion.
type params struct {
	scale         int // ConfigMaps listed (a), Pods synced (b) and decoded (g)
	watchObjects  int // ConfigMaps the writer of c spreads its updates over
	watchUpdates  int // updates the writer of c makes per run
	crud          int // objects created, updated and deleted per run of e
	adds          int // workqueue adds per run of d
	ctrlObjects   int // ConfigMaps the controller of h reconciles (0: h does not run)
	ctrlUpdates   int // of them, the ones the writer of h updates per run
	ctrlWorkers   int // concurrent reconciles in h, the same for every client
	parallel      int // concurrent requests of the fixture loader and writer
	writerThreads int
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func main() {
	var (
		kubeconfig   = flag.String("kubeconfig", ".cache/cluster/kubeconfig", "kubeconfig of the test cluster")
		kubeContext  = flag.String("context", "admin", "kubeconfig context")
		repo         = flag.String("repo", ".", "repository root (for workload f and README.md)")
		out          = flag.String("out", "bench/results", "directory for latest.md and latest.json")
		scale        = flag.Int("scale", 10000, "objects for a, b (and its floor), g, h; the other sizes follow (c and h: scale/2 updates, e: scale/5, d: 100*scale adds)")
		runs         = flag.Int("runs", 3, "runs of each workload per client")
		workloads    = flag.String("workloads", "a,b,c,d,e,f,g,h", "workloads to run")
		kubegenBin   = flag.String("kubegen", "", "kubegen bench binary (empty: column left out)")
		kubeRsBin    = flag.String("kube-rs", "", "kube-rs bench binary (empty: column left out)")
		clientGoBin  = flag.String("client-go", "", "client-go bench binary (empty: column left out)")
		crBin        = flag.String("controller-runtime", "", "controller-runtime bench binary: the client-go column of workload h (empty: that cell stays empty)")
		ctrlWorkers  = flag.Int("ctrl-workers", 2, "concurrent reconciles of every controller in workload h")
		deadlineUnix = flag.Int64("deadline-unix", 0, "stop starting work after this Unix time (0: now + --budget)")
		budget       = flag.Duration("budget", 28*time.Minute, "time budget when --deadline-unix is not given")
		keep         = flag.Bool("keep-fixtures", false, "leave the bench namespaces in place (for repeated development runs)")
		cacheDir     = flag.String("cache", filepath.Join(os.TempDir(), "kubegen-bench"), "scratch directory (decode file)")
		updateReadme = flag.Bool("update-readme", true, "replace the headline block of README.md between the bench markers")
		checkOnly    = flag.Bool("check-cluster", false, "only check that the test cluster answers; exit 0 if it does")
	)
	flag.Parse()
	if *checkOnly {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, _, err := connect(ctx, *kubeconfig, *kubeContext); err != nil {
			logf("%v", err)
			os.Exit(1)
		}
		return
	}
	deadline := time.Now().Add(*budget)
	if *deadlineUnix > 0 {
		deadline = time.Unix(*deadlineUnix, 0)
	}
	selected, err := parseWorkloads(*workloads)
	if err != nil {
		fail(err)
	}
	p := params{
		scale:         *scale,
		watchObjects:  min(500, *scale),
		watchUpdates:  max(1, *scale/2),
		crud:          max(1, *scale/5),
		adds:          100 * *scale,
		parallel:      48,
		writerThreads: 16,
		ctrlWorkers:   *ctrlWorkers,
	}
	if selected["h"] {
		p.ctrlObjects, p.ctrlUpdates = *scale, max(1, *scale/2)
	}
	var clients []client
	// kubegen and client-go speak protobuf to the server for built-in kinds;
	// their "(JSON)" columns force JSON, kube-rs's only wire format, for the
	// workloads that talk to the server. kube-rs cannot decode protobuf (gp).
	// The metadata-only informer (bm) has no (JSON) runs: client-go's
	// metadata client speaks protobuf whatever its config says.
	jsonFlags := []string{"--content-type", "application/json"}
	jsonCases := []string{"a", "b", "bs", "c", "e"}
	// The client-go column of the controller (h) is controller-runtime, the
	// controller runtime Go controllers use, built on client-go.
	clientGo := client{name: "client-go", bin: *clientGoBin, caseBins: map[string]string{"h": *crBin}}
	if *crBin == "" {
		logf("no controller-runtime binary given: the client-go cells of h stay empty")
		clientGo = client{name: "client-go", bin: *clientGoBin, except: []string{"h"}}
	}
	for _, c := range []client{
		{name: "kubegen", bin: *kubegenBin},
		{name: kubegenJSON, bin: *kubegenBin, flags: jsonFlags, cases: jsonCases},
		clientGo,
		{name: clientGoJSON, bin: *clientGoBin, flags: jsonFlags, cases: jsonCases},
		{name: "kube-rs", bin: *kubeRsBin, except: []string{"gp"}},
	} {
		if c.bin == "" {
			logf("no %s binary given: its column stays empty", c.name)
			continue
		}
		abs, err := filepath.Abs(c.bin)
		if err != nil {
			fail(err)
		}
		c.bin = abs
		for id, bin := range c.caseBins {
			if c.caseBins[id], err = filepath.Abs(bin); err != nil {
				fail(err)
			}
		}
		clients = append(clients, c)
	}
	if err := os.MkdirAll(*cacheDir, 0o755); err != nil {
		fail(fmt.Errorf("scratch directory %s: %w", *cacheDir, err))
	}
	kubeconfigAbs, err := filepath.Abs(*kubeconfig)
	if err != nil {
		fail(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(2*time.Minute))
	defer cancel()

	rep := newReport(p, *runs, clients, selected)
	needCluster := selected["a"] || selected["b"] || selected["c"] || selected["e"] || selected["g"] || selected["h"]
	var cs *kubernetes.Clientset
	if needCluster {
		var cfg *rest.Config
		cs, cfg, err = connect(ctx, kubeconfigAbs, *kubeContext)
		if err != nil {
			fail(err)
		}
		rep.Machine.Server = serverVersion(cs)
		if selected["a"] || selected["b"] {
			// The floor: the harness fetches a's and b's bytes itself, in
			// both wire formats, interleaved with the clients.
			f, err := newFetcher(cfg, cs, p)
			if err != nil {
				fail(err)
			}
			floors := []client{f.floorClient(floorProtobuf, acceptProtobuf), f.floorClient(floorJSON, acceptJSON)}
			clients = append(clients, floors...)
			for _, c := range floors {
				rep.Floors = append(rep.Floors, c.name)
			}
		}
		if !*keep {
			defer func() {
				if !*keep {
					deleteNamespaces(cs, 2*time.Minute)
				}
			}()
			cleanup = func() { deleteNamespaces(cs, 2*time.Minute) }
		}
		logf("creating fixtures (scale %d)", p.scale)
		if err := createFixtures(ctx, cs, p); err != nil {
			rep.note("fixtures failed: %v", err)
			finish(rep, *out, *repo, *updateReadme)
			fail(err)
		}
	}
	decodeFile := filepath.Join(*cacheDir, "pods.json")
	decodeFilePB := filepath.Join(*cacheDir, "pods.pb")
	if selected["g"] {
		n, err := dumpPodList(ctx, cs, decodeFile, "application/json")
		if err != nil {
			fail(err)
		}
		logf("decode file %s: %d bytes", decodeFile, n)
		rep.Config["decode_file_bytes"] = n
		n, err = dumpPodList(ctx, cs, decodeFilePB, "application/vnd.kubernetes.protobuf")
		if err != nil {
			fail(err)
		}
		logf("decode file %s: %d bytes", decodeFilePB, n)
		rep.Config["decode_file_protobuf_bytes"] = n
	}

	common := []string{"--kubeconfig", kubeconfigAbs, "--context", *kubeContext}
	cases := []benchCase{
		{id: "a", args: append([]string{"list", "--namespace", fixture.NamespaceList, "--count", strconv.Itoa(p.scale)}, common...)},
		{id: "b", args: append([]string{"informer", "--namespace", fixture.NamespacePods, "--count", strconv.Itoa(p.scale)}, common...)},
		{id: "bs", args: append([]string{"informer", "--namespace", fixture.NamespacePods, "--count", strconv.Itoa(p.scale), "--transform", "strip-managed-fields"}, common...)},
		{id: "bm", args: append([]string{"metadata-informer", "--namespace", fixture.NamespacePods, "--count", strconv.Itoa(p.scale)}, common...)},
		{id: "c", args: append([]string{"watch", "--namespace", fixture.NamespaceWatch, "--count", strconv.Itoa(p.watchUpdates)}, common...),
			onReady: func(ctx context.Context) error {
				rate, err := writeUpdates(ctx, cs, p.watchObjects, p.watchUpdates, p.writerThreads)
				if err == nil {
					rep.writerRates = append(rep.writerRates, rate)
				}
				return err
			}},
		{id: "d1", args: []string{"workqueue", "--workers", "1", "--adds", strconv.Itoa(p.adds)}},
		{id: "d2", args: []string{"workqueue", "--workers", "2", "--adds", strconv.Itoa(p.adds)}},
		{id: "d8", args: []string{"workqueue", "--workers", "8", "--adds", strconv.Itoa(p.adds)}},
		{id: "e", args: append([]string{"crud", "--namespace", fixture.NamespaceCrud, "--count", strconv.Itoa(p.crud)}, common...)},
		{id: "g", args: []string{"decode", "--file", decodeFile, "--count", strconv.Itoa(p.scale)}},
		{id: "gp", args: []string{"decode", "--file", decodeFilePB, "--count", strconv.Itoa(p.scale)}},
		{id: "h", args: append([]string{"controller", "--namespace", fixture.NamespaceCtrl, "--count", strconv.Itoa(ctrlConfigMaps(p)),
			"--updates", strconv.Itoa(p.ctrlUpdates), "--workers", strconv.Itoa(p.ctrlWorkers)}, common...),
			// A fresh stamp per process: the objects still carry the last
			// run's, so only this run's updates match it.
			perRun: func() ([]string, func(context.Context) error) {
				stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
				return []string{"--stamp", stamp}, func(ctx context.Context) error {
					rate, err := stampUpdates(ctx, cs, p.ctrlUpdates, p.writerThreads, stamp)
					if err == nil {
						rep.ctrlWriterRates = append(rep.ctrlWriterRates, rate)
					}
					return err
				}
			}},
	}

	for r := 0; r < *runs; r++ {
		for _, bc := range cases {
			if !selected[bc.id[:1]] {
				continue
			}
			for i := range clients {
				c := clients[(i+r)%len(clients)] // interleave: each run starts with another client
				if !c.runs(bc.id) {
					continue
				}
				if time.Now().After(deadline) {
					rep.note("deadline reached: %s run %d of %s skipped", bc.id, r+1, c.name)
					continue
				}
				if ctx.Err() != nil {
					rep.note("interrupted: %s run %d of %s skipped", bc.id, r+1, c.name)
					continue
				}
				if waited, quiet, err := awaitQuiet(); err != nil {
					rep.note("waiting for a quiet machine: %v", err)
				} else if !quiet {
					rep.note("%s run %d of %s started on a busy machine (not quiet after %s)", bc.id, r+1, c.name, waited.Round(time.Second))
				}
				logf("run %d/%d: %s %s", r+1, *runs, c.name, bc.id)
				var res runResult
				var err error
				if c.floor != nil {
					res, err = c.floor(ctx, bc.id)
				} else {
					args, onReady := bc.args, bc.onReady
					if bc.perRun != nil {
						extra, ready := bc.perRun()
						args, onReady = append(slices.Clone(args), extra...), ready
					}
					if bin, ok := c.caseBins[bc.id]; ok {
						c.bin = bin
					}
					res, err = runClient(ctx, c, 5*time.Minute, args, onReady)
				}
				if err != nil {
					rep.note("%s run %d of %s failed: %v", bc.id, r+1, c.name, err)
					logf("FAILED: %v", err)
					continue
				}
				res.Case, res.Run = bc.id, r+1
				rep.Runs = append(rep.Runs, res)
			}
		}
	}
	if cs != nil && !*keep {
		// Free the server before the builds, so f is not measured beside
		// the namespace controller's deletions, and so that a time-out in f still
		// leaves the cluster clean.
		deleteNamespaces(cs, 2*time.Minute)
		cleanup = func() {}
		*keep = true
	}
	if selected["f"] {
		rep.Builds = buildTimes(ctx, *repo, deadline, rep)
	}
	finish(rep, *out, *repo, *updateReadme)
}

// benchCase is one row group: a workload with its arguments; onReady runs
// when the client prints READY (the writer of c). perRun, if set, gives
// each process more arguments and its own onReady (h's stamp and writer).
type benchCase struct {
	id      string
	args    []string
	onReady func(context.Context) error
	perRun  func() (args []string, onReady func(context.Context) error)
}

func parseWorkloads(s string) (map[string]bool, error) {
	sel := map[string]bool{}
	for _, w := range splitComma(s) {
		switch w {
		case "a", "b", "c", "d", "e", "f", "g", "h":
			sel[w] = true
		default:
			return nil, fmt.Errorf("--workloads: unknown workload %q (want letters a..h)", w)
		}
	}
	return sel, nil
}

func connect(ctx context.Context, kubeconfig, kubeContext string) (*kubernetes.Clientset, *rest.Config, error) {
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, nil, fmt.Errorf("no test cluster: %s not found; run `make cluster-up` first", kubeconfig)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext},
	).ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.QPS = -1
	cfg.Timeout = time.Minute
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return nil, nil, fmt.Errorf("test cluster at %s does not answer (run `make cluster-up`): %w", cfg.Host, err)
	}
	return cs, cfg, nil
}

func serverVersion(cs *kubernetes.Clientset) string {
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return v.GitVersion
}

// cleanup deletes the fixtures; fail runs it, since os.Exit skips defers.
var cleanup = func() {}

func fail(err error) {
	logf("error: %v", err)
	cleanup()
	os.Exit(1)
}

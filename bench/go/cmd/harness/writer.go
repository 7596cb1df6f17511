package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubegen/kubegen/bench/go/internal/fixture"
)

// writeUpdates is the writer of workload c: `updates` merge patches spread
// over the bench-watch ConfigMaps, `parallel` at a time, as fast as the
// server accepts them. Each patch stamps SentAnnotation with its send time,
// so the watching client can compute lag.
func writeUpdates(ctx context.Context, cs kubernetes.Interface, objects, updates, parallel int) (float64, error) {
	return patchEach(ctx, cs, fixture.NamespaceWatch, updates, parallel, func(i int) (string, string) {
		return watchName(i % objects), fmt.Sprintf(`{"metadata":{"annotations":{%q:"%d"}},"data":{"seq":"%d"}}`,
			fixture.SentAnnotation, time.Now().UnixNano(), i)
	})
}

// stampUpdates is the writer of workload h: one merge patch to each of the
// bench-ctrl ConfigMaps ctrl-0 .. ctrl-(updates-1), `parallel` at a time,
// setting StampAnnotation to the run's stamp (and SentAnnotation to the
// send time, for the lag).
func stampUpdates(ctx context.Context, cs kubernetes.Interface, updates, parallel int, stamp string) (float64, error) {
	return patchEach(ctx, cs, fixture.NamespaceCtrl, updates, parallel, func(i int) (string, string) {
		return ctrlName(i), fmt.Sprintf(`{"metadata":{"annotations":{%q:%q,%q:"%d"}}}`,
			fixture.StampAnnotation, stamp, fixture.SentAnnotation, time.Now().UnixNano())
	})
}

// patchEach makes n merge patches in namespace ns, `parallel` at a time;
// patch(i) gives the i-th one's object name and body (built at send time).
// A failed patch is retried (the clients wait for exactly n updates). It
// returns the patches per second.
func patchEach(ctx context.Context, cs kubernetes.Interface, ns string, n, parallel int, patch func(i int) (name, body string)) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	start := time.Now()
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var name string
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					var body string
					name, body = patch(i)
					_, err = cs.CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{})
					if err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer: patching %s/%s: %w", ns, name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

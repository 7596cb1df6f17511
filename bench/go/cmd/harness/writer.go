package main

import (
	"context"
	"fmt"
	"strconv"
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
// so the watching client can compute lag. A failed patch is retried (the
// client waits for exactly `updates` events).
func writeUpdates(ctx context.Context, cs kubernetes.Interface, objects, updates, parallel int) (float64, error) {
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
				if i >= updates {
					return
				}
				name := "watch-" + strconv.Itoa(i%objects)
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"%d"}},"data":{"seq":"%d"}}`,
						fixture.SentAnnotation, time.Now().UnixNano(), i)
					_, err = cs.CoreV1().ConfigMaps(fixture.NamespaceWatch).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
					if err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer: patching %s/%s: %w", fixture.NamespaceWatch, name, err)
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
	return float64(updates) / time.Since(start).Seconds(), nil
}

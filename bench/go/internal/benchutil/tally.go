package benchutil

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Tally is the bookkeeping of workload h (the controller), shared by every
// reconcile: which ConfigMaps were reconciled at least once (phase 1), and
// which were reconciled carrying the run's stamp (phase 2), with the lag
// from the writer's send time. bench/common's Tally is the same for the
// Rust programs.
type Tally struct {
	count, updates int
	stamp          string

	mu         sync.Mutex
	reconciles int
	seen       map[string]struct{}
	stamped    map[string]struct{}
	lags       []float64
	allOnceAt  time.Time
	readyAt    time.Time
	firstAt    time.Time // the first reconcile that saw the stamp
	allAt      time.Time // the reconcile that saw the last stamped object
	allOnce    chan struct{}
	allStamped chan struct{}
}

// NewTally waits for count objects to be reconciled once, then for updates
// objects to be reconciled carrying stamp.
func NewTally(count, updates int, stamp string) *Tally {
	return &Tally{
		count:      count,
		updates:    updates,
		stamp:      stamp,
		seen:       make(map[string]struct{}, count),
		stamped:    make(map[string]struct{}, updates),
		lags:       make([]float64, 0, updates),
		allOnce:    make(chan struct{}),
		allStamped: make(chan struct{}),
	}
}

// Reconciled records one reconcile of the object name, which carries the
// stamp and sent annotations given ("" when absent).
func (t *Tally) Reconciled(name, stamp, sent string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reconciles++
	if _, ok := t.seen[name]; !ok {
		t.seen[name] = struct{}{}
		if len(t.seen) == t.count {
			t.allOnceAt = now
			close(t.allOnce)
		}
	}
	if stamp != t.stamp {
		return
	}
	if _, ok := t.stamped[name]; ok {
		return
	}
	t.stamped[name] = struct{}{}
	if ns, err := strconv.ParseInt(sent, 10, 64); err == nil {
		t.lags = append(t.lags, float64(now.UnixNano()-ns)/1e6)
	}
	if len(t.stamped) == 1 {
		t.firstAt = now
	}
	if len(t.stamped) == t.updates {
		t.allAt = now
		close(t.allStamped)
	}
}

// WaitAllOnce returns once every object was reconciled, or, when ctx ends
// first, an error saying how many were and why it ended.
func (t *Tally) WaitAllOnce(ctx context.Context) error {
	return t.wait(ctx, t.allOnce, func() string {
		return fmt.Sprintf("reconciled %d of %d ConfigMaps", len(t.seen), t.count)
	})
}

// Ready marks the start of phase 2; the caller prints READY right after.
func (t *Tally) Ready() {
	t.mu.Lock()
	t.readyAt = time.Now()
	t.mu.Unlock()
}

// WaitAllStamped returns once every updated object was reconciled carrying
// the stamp, or, when ctx ends first, an error saying how many were and why
// it ended.
func (t *Tally) WaitAllStamped(ctx context.Context) error {
	return t.wait(ctx, t.allStamped, func() string {
		return fmt.Sprintf("reconciled %d of %d updated ConfigMaps carrying stamp %s", len(t.stamped), t.updates, t.stamp)
	})
}

// wait returns once done is closed, or, when ctx ends first, an error of
// progress (called with the lock held) and why ctx ended.
func (t *Tally) wait(ctx context.Context, done <-chan struct{}, progress func() string) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		t.mu.Lock()
		defer t.mu.Unlock()
		return fmt.Errorf("%s: %v", progress(), context.Cause(ctx))
	}
}

// Result is the JSON result of a finished run; start is the process start.
func (t *Tally) Result(start time.Time) (map[string]any, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.seen) != t.count {
		// Phase 1 ended at the count-th distinct object: with more objects
		// in the namespace it ended early.
		return nil, fmt.Errorf("reconciled %d distinct ConfigMaps, but --count is %d: the namespace holds other objects", len(t.seen), t.count)
	}
	return map[string]any{
		"objects":               t.count,
		"updates":               t.updates,
		"reconciles":            t.reconciles,
		"sync_reconciled_ms":    Ms(t.allOnceAt.Sub(start)),
		"updates_reconciled_ms": Ms(t.allAt.Sub(t.readyAt)),
		"updates_span_ms":       Ms(t.allAt.Sub(t.firstAt)),
		"lag_p50_ms":            Percentile(t.lags, 50),
		"lag_p99_ms":            Percentile(t.lags, 99),
	}, nil
}

package benchutil

import (
	"math"
	"testing"
)

// The Rust programs (bench/common) must produce the very same sequence; its
// test checks the same first keys.
func TestWorkqueueKeysAddEachKeyTwiceInTheSharedOrder(t *testing.T) {
	keys := WorkqueueKeys(1000)
	if len(keys) != 1000 {
		t.Fatalf("got %d keys, want 1000", len(keys))
	}
	counts := map[string]int{}
	for _, k := range keys {
		counts[k]++
	}
	if len(counts) != 500 {
		t.Fatalf("got %d distinct keys, want 500", len(counts))
	}
	for k, c := range counts {
		if c != 2 {
			t.Fatalf("key %s added %d times, want 2", k, c)
		}
	}
	want := []string{"bench-ns/object-201", "bench-ns/object-48", "bench-ns/object-227", "bench-ns/object-398", "bench-ns/object-153", "bench-ns/object-375"}
	for i, w := range want {
		if keys[i] != w {
			t.Fatalf("keys[%d] = %s, want %s (bench/common's test expects the same)", i, keys[i], w)
		}
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(100 - i)
	}
	if p := Percentile(v, 50); p != 50 {
		t.Errorf("p50 = %v, want 50", p)
	}
	if p := Percentile(v, 99); p != 99 {
		t.Errorf("p99 = %v, want 99", p)
	}
	if p := Percentile(nil, 50); !math.IsNaN(p) {
		t.Errorf("p50 of nothing = %v, want NaN", p)
	}
}

package benchutil

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bench/common's Tally test checks the same sequence.
func TestTallyCountsEachObjectOnceAndEachStampOnce(t *testing.T) {
	start := time.Now()
	tally := NewTally(3, 2, "s1")
	sent := strconv.FormatInt(time.Now().UnixNano(), 10)
	for _, name := range []string{"a", "b", "a", "c"} {
		tally.Reconciled(name, "s0", sent) // the last run's stamp counts for phase 1 only
	}
	if err := tally.WaitAllOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	tally.Ready()
	tally.Reconciled("a", "s1", sent)
	tally.Reconciled("a", "s1", sent) // seen with the stamp already
	tally.Reconciled("c", "", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := tally.WaitAllStamped(ctx); err == nil || !strings.Contains(err.Error(), "reconciled 1 of 2") {
		t.Fatalf("WaitAllStamped with one of two stamped: %v", err)
	}
	tally.Reconciled("b", "s1", sent)
	if err := tally.WaitAllStamped(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := tally.Result(start)
	if err != nil {
		t.Fatal(err)
	}
	if got["reconciles"] != 8 || got["objects"] != 3 || got["updates"] != 2 {
		t.Fatalf("result %v", got)
	}
	tally.Reconciled("d", "", "")
	if _, err := tally.Result(start); err == nil {
		t.Fatal("a fourth object when --count is 3: want an error")
	}
}

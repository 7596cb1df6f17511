// Package benchutil holds the small pieces every benchmark program shares:
// reading the process's resident memory, percentiles, the workqueue key
// sequence, and the one-JSON-line result format the harness parses.
//
// The Rust bench programs (bench/kube-rs, bench/kubegen) reimplement the same
// pieces with the same definitions; a change here must be made there too.
package benchutil

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RSSBytes returns the current resident set size (VmRSS) of this process.
func RSSBytes() (uint64, error) { return statusBytes("VmRSS:") }

// PeakRSSBytes returns this process's peak resident set size (VmHWM). Unlike
// wait4's ru_maxrss it does not include the parent's RSS at fork time.
func PeakRSSBytes() (uint64, error) { return statusBytes("VmHWM:") }

func statusBytes(key string) (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading /proc/self/status: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if rest, ok := strings.CutPrefix(line, key); ok {
			fields := strings.Fields(rest)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("/proc/self/status: unexpected %s line %q", key, line)
			}
			kb, err := strconv.ParseUint(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/self/status: %s %q: %w", key, fields[0], err)
			}
			return kb * 1024, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, fmt.Errorf("reading /proc/self/status: %w", err)
	}
	return 0, fmt.Errorf("/proc/self/status has no %s line", key)
}

// Ms is d in milliseconds, as the result lines give times.
func Ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// Percentile returns the nearest-rank percentile p (0..100] of values, which
// it sorts in place. It returns NaN for an empty slice.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sort.Float64s(values)
	rank := int(math.Ceil(p / 100 * float64(len(values))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(values) {
		rank = len(values)
	}
	return values[rank-1]
}

// WorkqueueKeys returns the key sequence of workload d: adds keys, drawn from
// adds/2 distinct keys each added exactly twice (50% duplicates), in an order
// shuffled by Fisher-Yates with xorshift64* seeded with 0x9E3779B97F4A7C15.
// Every client uses this exact sequence.
func WorkqueueKeys(adds int) []string {
	distinct := adds / 2
	idx := make([]int, 0, 2*distinct)
	for i := 0; i < distinct; i++ {
		idx = append(idx, i, i)
	}
	state := uint64(0x9E3779B97F4A7C15)
	next := func() uint64 {
		state ^= state >> 12
		state ^= state << 25
		state ^= state >> 27
		return state * 0x2545F4914F6CDD1D
	}
	for i := len(idx) - 1; i > 0; i-- {
		j := int(next() % uint64(i+1))
		idx[i], idx[j] = idx[j], idx[i]
	}
	keys := make([]string, len(idx))
	for i, k := range idx {
		keys[i] = "bench-ns/object-" + strconv.Itoa(k)
	}
	return keys
}

// Emit prints one result as a single JSON line on stdout: the harness reads
// the last line that parses as a JSON object.
func Emit(result map[string]any) {
	if peak, err := PeakRSSBytes(); err == nil {
		result["peak_rss_bytes"] = peak
	}
	b, err := json.Marshal(result)
	if err != nil {
		fmt.Fprintf(os.Stderr, "encoding result: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(b))
}

// Fail prints a message naming the workload to stderr and exits non-zero.
func Fail(workload string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", workload, err)
	os.Exit(1)
}

package main

// Each run starts on a quiet machine. Runs of different clients are
// interleaved, so without this a run may start while the API server is
// still busy with the run before (collecting the garbage of a JSON
// watch-list of 10,000 Pods, say), and which client pays for that depends
// on the order, not on the client.

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// quietWindow is how long the machine is watched at a time.
	quietWindow = 200 * time.Millisecond
	// quietBusy is the share of all cores a quiet window may keep busy.
	quietBusy = 0.10
	// quietTimeout bounds the wait: a machine that never quiets (a busy
	// controller manager) is noted, and the run starts anyway.
	quietTimeout = 15 * time.Second
)

// cpuTicks reads the machine's busy and total CPU ticks from /proc/stat.
func cpuTicks() (busy, total uint64, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, 0, fmt.Errorf("reading /proc/stat: %w", err)
	}
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, s := range fields[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: field %d: %w", i+1, err)
		}
		total += v
		// idle (4th) and iowait (5th) are not busy.
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, total, nil
}

// awaitQuiet waits until a whole window keeps the cores at most quietBusy
// busy. It returns how long it waited, and false if it gave up.
func awaitQuiet() (time.Duration, bool, error) {
	start := time.Now()
	for time.Since(start) < quietTimeout {
		busy0, total0, err := cpuTicks()
		if err != nil {
			return 0, false, err
		}
		time.Sleep(quietWindow)
		busy1, total1, err := cpuTicks()
		if err != nil {
			return 0, false, err
		}
		if total1 > total0 && float64(busy1-busy0) <= quietBusy*float64(total1-total0) {
			return time.Since(start), true, nil
		}
	}
	return time.Since(start), false, nil
}

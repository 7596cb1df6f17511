package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// client is one benchmarked implementation: a binary with the shared CLI
// shape `<bin> <workload> --kubeconfig F --namespace NS ...`, or the floor,
// which the harness measures itself.
type client struct {
	name   string
	bin    string
	flags  []string // appended to every run's arguments
	cases  []string // the case ids it runs (b, bs, bm, gp, ...); empty: all
	except []string // case ids it cannot run (kube-rs: gp, no protobuf)
	// caseBins runs another binary for a case id in this column (client-go's
	// column runs controller-runtime-bench for h).
	caseBins map[string]string
	// floor, if set, is run in-process instead of bin (floor.go).
	floor func(ctx context.Context, caseID string) (runResult, error)
}

// runs says whether the client takes part in case id.
func (c client) runs(id string) bool {
	return !slices.Contains(c.except, id) && (len(c.cases) == 0 || slices.Contains(c.cases, id))
}

// runResult is one process run: what the program reported plus what the
// kernel measured for the whole process.
type runResult struct {
	Client   string         `json:"client"`
	Case     string         `json:"case"`
	Run      int            `json:"run"`
	WallMS   float64        `json:"process_wall_ms"`
	CPUMS    float64        `json:"process_cpu_ms"`
	MaxRSSKB int64          `json:"process_max_rss_kb"`
	Reported map[string]any `json:"reported"`
}

// runClient starts c with args, waits for it and returns its last JSON line
// with the process's wall time, CPU time (user + system) and peak RSS from
// wait4's rusage. If onReady is set, it is called when the program prints
// READY (the watch workload), and the program's result is awaited after it
// returns.
func runClient(ctx context.Context, c client, timeout time.Duration, args []string, onReady func(context.Context) error) (runResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(append([]string{}, args...), c.flags...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return runResult{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return runResult{}, fmt.Errorf("starting %s: %w", c.bin, err)
	}
	var last string
	var readyErr error
	scanner := bufio.NewScanner(stdout)
	scanner.Buffer(make([]byte, 1<<16), 1<<24)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		switch {
		case line == "READY" && onReady != nil:
			readyErr = onReady(ctx)
			if readyErr != nil {
				cancel()
			}
		case strings.HasPrefix(line, "{"):
			last = line
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	wall := time.Since(start)
	if readyErr != nil {
		return runResult{}, fmt.Errorf("%s %s: %w", c.name, args[0], readyErr)
	}
	if waitErr != nil {
		msg := strings.TrimSpace(stderr.String())
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = fmt.Sprintf("killed after %s; %s", timeout, msg)
		}
		return runResult{}, fmt.Errorf("%s %s: %v: %s", c.name, strings.Join(args, " "), waitErr, tail(msg, 2000))
	}
	if last == "" {
		return runResult{}, fmt.Errorf("%s %s printed no JSON result; stderr: %s", c.name, args[0], tail(stderr.String(), 2000))
	}
	var reported map[string]any
	if err := json.Unmarshal([]byte(last), &reported); err != nil {
		return runResult{}, fmt.Errorf("%s %s: result line %q: %w", c.name, args[0], tail(last, 200), err)
	}
	r := runResult{Client: c.name, WallMS: ms(wall), Reported: reported}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.CPUMS = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
		r.MaxRSSKB = ru.Maxrss // kilobytes on Linux
	}
	return r, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

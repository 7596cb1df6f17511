package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// kubegenJSON and clientGoJSON are kubegen and client-go forced to JSON (see
// main); without the suffix both speak protobuf for built-in kinds.
const (
	kubegenJSON  = "kubegen (JSON)"
	clientGoJSON = "client-go (JSON)"
)

// ctrlRuntime names what the client-go column runs in workload h.
const ctrlRuntime = "controller-runtime"

// columns are the clients' columns, in table order.
var columns = []string{"kubegen", kubegenJSON, "client-go", clientGoJSON, "kube-rs"}

// ratio is a ratio column: num's median / den's median.
type ratio struct{ num, den string }

func (q ratio) String() string { return q.num + " / " + q.den }

// ratios are the ratio columns: kubegen against each peer in their default
// wire formats (protobuf for kubegen and client-go, JSON for kube-rs), and
// the two on JSON, like for like.
var ratios = []ratio{
	{"kubegen", "client-go"},
	{kubegenJSON, clientGoJSON},
	{"kubegen", "kube-rs"},
}

// wireFloor is the floor column in each client's wire format.
var wireFloor = map[string]string{
	"kubegen":    floorProtobuf,
	kubegenJSON:  floorJSON,
	"client-go":  floorProtobuf,
	clientGoJSON: floorJSON,
	"kube-rs":    floorJSON,
}

// report is everything latest.json holds: the machine, the sizes, every raw
// run, the summary rows and notes about anything that did not run.
type report struct {
	Date        string         `json:"date"`
	Machine     machineInfo    `json:"machine"`
	Config      map[string]any `json:"config"`
	Clients     []string       `json:"clients"`
	Floors      []string       `json:"floors"`
	Rows        []summaryRow   `json:"rows"`
	FloorRows   []summaryRow   `json:"floor_rows"`
	Builds      []buildResult  `json:"builds"`
	Notes       []string       `json:"notes"`
	Runs        []runResult    `json:"runs"`
	WriterRates []float64      `json:"writer_updates_per_s"`
	// CtrlWriterRates are the writer of h's patches per second, per run.
	CtrlWriterRates []float64 `json:"ctrl_writer_updates_per_s"`

	p               params
	selected        map[string]bool
	writerRates     []float64
	ctrlWriterRates []float64
}

// stat is the median with min and max of one metric over the runs.
type stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

type summaryRow struct {
	Case   string           `json:"case"`
	Metric string           `json:"metric"`
	Unit   string           `json:"unit"`
	Better string           `json:"better"` // "lower" or "higher"
	Stats  map[string]*stat `json:"stats"`  // by client (and floor)
	// Ratios are medians' ratios: in Rows by ratio column ("kubegen /
	// client-go"), in FloorRows the client's median / the floor's in its
	// wire format, by client.
	Ratios map[string]float64 `json:"ratios"`
}

func newReport(p params, runs int, clients []client, selected map[string]bool) *report {
	r := &report{
		Date:     time.Now().UTC().Format(time.RFC3339),
		Machine:  collectMachine(),
		p:        p,
		selected: selected,
		Config: map[string]any{
			"runs":               runs,
			"scale":              p.scale,
			"watch_objects":      p.watchObjects,
			"watch_updates":      p.watchUpdates,
			"writer_parallelism": p.writerThreads,
			"crud_objects":       p.crud,
			"workqueue_adds":     p.adds,
			"list_page_size":     500,
			"ctrl_objects":       p.ctrlObjects,
			"ctrl_updates":       p.ctrlUpdates,
			"ctrl_workers":       p.ctrlWorkers,
		},
	}
	for _, c := range clients {
		r.Clients = append(r.Clients, c.name)
	}
	return r
}

func (r *report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// metric says how to read one number out of a run.
type metric struct {
	caseID, name, unit, better string
	get                        func(runResult) (float64, bool)
}

func reported(key string) func(runResult) (float64, bool) {
	return func(r runResult) (float64, bool) {
		v, ok := r.Reported[key].(float64)
		return v, ok && !math.IsNaN(v)
	}
}

func reportedMB(key string) func(runResult) (float64, bool) {
	return func(r runResult) (float64, bool) {
		v, ok := r.Reported[key].(float64)
		return v / (1 << 20), ok
	}
}

func cpuMS(r runResult) (float64, bool) { return r.CPUMS, true }

// peakMB prefers the program's own VmHWM: wait4's ru_maxrss of a child
// starts at the harness's RSS at fork time (Linux keeps the pre-exec peak).
func peakMB(r runResult) (float64, bool) {
	if v, ok := r.Reported["peak_rss_bytes"].(float64); ok && v > 0 {
		return v / (1 << 20), true
	}
	return float64(r.MaxRSSKB) / 1024, r.MaxRSSKB > 0
}

func (r *report) metrics() []metric {
	p := r.p
	return []metric{
		{"a", fmt.Sprintf("a. list %d ConfigMaps, pages of 500: time", p.scale), "ms", "lower", reported("elapsed_ms")},
		{"a", "a. list: process CPU time", "ms", "lower", cpuMS},
		{"a", "a. list: peak RSS", "MiB", "lower", peakMB},
		{"b", fmt.Sprintf("b. informer cold sync of %d Pods: time to synced", p.scale), "ms", "lower", reported("sync_ms")},
		{"b", "b. informer: RSS per cached Pod", "bytes", "lower", reported("bytes_per_object")},
		{"b", "b. informer: RSS after sync", "MiB", "lower", reportedMB("rss_after")},
		{"b", "b. informer: peak RSS", "MiB", "lower", peakMB},
		{"b", "b. informer: process CPU time", "ms", "lower", cpuMS},
		{"bs", "b. informer, managedFields stripped: RSS per cached Pod", "bytes", "lower", reported("bytes_per_object")},
		{"bm", fmt.Sprintf("b-meta. metadata-only informer of the %d Pods: time to synced", p.scale), "ms", "lower", reported("sync_ms")},
		{"bm", "b-meta. metadata-only informer: RSS per cached Pod", "bytes", "lower", reported("bytes_per_object")},
		{"bm", "b-meta. metadata-only informer: peak RSS", "MiB", "lower", peakMB},
		{"bm", "b-meta. metadata-only informer: process CPU time", "ms", "lower", cpuMS},
		{"c", fmt.Sprintf("c. watch %d updates: events/s applied to the cache", p.watchUpdates), "1/s", "higher", reported("events_per_s")},
		{"c", "c. watch: lag p50", "ms", "lower", reported("lag_p50_ms")},
		{"c", "c. watch: lag p99", "ms", "lower", reported("lag_p99_ms")},
		{"c", "c. watch: process CPU time", "ms", "lower", cpuMS},
		{"d1", "d. workqueue, 1 worker: ops/s", "1/s", "higher", reported("ops_per_s")},
		{"d2", "d. workqueue, 2 workers: ops/s", "1/s", "higher", reported("ops_per_s")},
		{"d8", "d. workqueue, 8 workers: ops/s", "1/s", "higher", reported("ops_per_s")},
		{"e", fmt.Sprintf("e. create %d ConfigMaps: p50", p.crud), "ms", "lower", reported("create_p50_ms")},
		{"e", "e. create: p99", "ms", "lower", reported("create_p99_ms")},
		{"e", "e. update: p50", "ms", "lower", reported("update_p50_ms")},
		{"e", "e. update: p99", "ms", "lower", reported("update_p99_ms")},
		{"e", "e. delete: p50", "ms", "lower", reported("delete_p50_ms")},
		{"e", "e. delete: p99", "ms", "lower", reported("delete_p99_ms")},
		{"e", "e. crud: process CPU time", "ms", "lower", cpuMS},
		{"g", fmt.Sprintf("g. decode a %d-Pod list from a file: time", p.scale), "ms", "lower", reported("elapsed_ms")},
		{"g", "g. decode: peak RSS", "MiB", "lower", peakMB},
		{"gp", "g. decode the same list from protobuf: time", "ms", "lower", reported("elapsed_ms")},
		{"gp", "g. decode from protobuf: peak RSS", "MiB", "lower", peakMB},
		{"h", fmt.Sprintf("h. controller over %d ConfigMaps, %d workers (client-go column: %s): time to reconcile each once", p.ctrlObjects, p.ctrlWorkers, ctrlRuntime),
			"ms", "lower", reported("sync_reconciled_ms")},
		{"h", fmt.Sprintf("h. controller: time to reconcile %d updates, from READY", p.ctrlUpdates), "ms", "lower", reported("updates_reconciled_ms")},
		{"h", "h. controller: update-to-reconcile lag p50", "ms", "lower", reported("lag_p50_ms")},
		{"h", "h. controller: update-to-reconcile lag p99", "ms", "lower", reported("lag_p99_ms")},
		{"h", "h. controller: process CPU time", "ms", "lower", cpuMS},
		{"h", "h. controller: peak RSS", "MiB", "lower", peakMB},
	}
}

// floorMetric is one row of the floor table: a way of fetching the bytes
// of a or b, the floor's time for it, and the clients that fetch so.
type floorMetric struct {
	caseID, name string
	floor        func(runResult) (float64, bool) // from the floor's runs
	client       func(runResult) (float64, bool) // the clients' time to set against it
	clients      []string                        // the columns that fetch this way
}

func (r *report) floorMetrics() []floorMetric {
	p := r.p
	return []floorMetric{
		{"a", fmt.Sprintf("a. %d ConfigMaps in pages of 500 (a's time)", p.scale), reported("elapsed_ms"), reported("elapsed_ms"),
			columns},
		{"b", fmt.Sprintf("b. %d Pods as a watch-list, to the initial-events-end bookmark (b's time to synced)", p.scale), reported("watchlist_ms"), reported("sync_ms"),
			[]string{"kubegen", kubegenJSON, "client-go", clientGoJSON}},
		{"b", "b. the Pods in pages of 500 (b's time to synced)", reported("paged_list_ms"), reported("sync_ms"),
			[]string{"kube-rs"}},
		{"b", "b. the Pods in one unpaged GET", reported("list_ms"), nil, nil},
	}
}

// medianOf is the summary of metric get over client's runs of caseID.
func (r *report) medianOf(client, caseID string, get func(runResult) (float64, bool)) *stat {
	var vals []float64
	for _, run := range r.Runs {
		if run.Client == client && run.Case == caseID {
			if v, ok := get(run); ok {
				vals = append(vals, v)
			}
		}
	}
	if len(vals) == 0 {
		return nil
	}
	return summarize(vals)
}

func (r *report) computeFloorRows() {
	r.FloorRows = nil
	for _, m := range r.floorMetrics() {
		if !r.selected[m.caseID] {
			continue
		}
		row := summaryRow{Case: m.caseID, Metric: m.name, Unit: "ms", Better: "lower", Stats: map[string]*stat{}, Ratios: map[string]float64{}}
		for _, f := range r.Floors {
			if s := r.medianOf(f, m.caseID, m.floor); s != nil {
				row.Stats[f] = s
			}
		}
		for _, c := range m.clients {
			cs := r.medianOf(c, m.caseID, m.client)
			fs := row.Stats[wireFloor[c]]
			if cs == nil || fs == nil || fs.Median == 0 {
				continue
			}
			row.Stats[c] = cs
			row.Ratios[c] = cs.Median / fs.Median
		}
		r.FloorRows = append(r.FloorRows, row)
	}
}

func summarize(values []float64) *stat {
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return &stat{Median: med, Min: v[0], Max: v[n-1], Values: values}
}

func (r *report) computeRows() {
	r.Rows = nil
	for _, m := range r.metrics() {
		if !r.selected[m.caseID[:1]] {
			continue
		}
		row := summaryRow{Case: m.caseID, Metric: m.name, Unit: m.unit, Better: m.better, Stats: map[string]*stat{}, Ratios: map[string]float64{}}
		for _, c := range r.Clients {
			var vals []float64
			for _, run := range r.Runs {
				if run.Client == c && run.Case == m.caseID {
					if v, ok := m.get(run); ok {
						vals = append(vals, v)
					}
				}
			}
			if len(vals) > 0 {
				row.Stats[c] = summarize(vals)
			}
		}
		for _, q := range ratios {
			num, ok1 := row.Stats[q.num]
			den, ok2 := row.Stats[q.den]
			if ok1 && ok2 && den.Median != 0 {
				row.Ratios[q.String()] = num.Median / den.Median
			}
		}
		r.Rows = append(r.Rows, row)
	}
	r.computeFloorRows()
}

func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100000:
		return fmt.Sprintf("%.3g", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func cell(s *stat) string {
	if s == nil {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s)", fmtNum(s.Median), fmtNum(s.Min), fmtNum(s.Max))
}

func ratioCell(row summaryRow, key string) string {
	v, ok := row.Ratios[key]
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v)
}

// markdown renders the report; headline=true renders only the README block.
func (r *report) markdown(headline bool) string {
	var b strings.Builder
	col := func(name string) bool {
		for _, c := range r.Clients {
			if c == name {
				return true
			}
		}
		return false
	}
	if !headline {
		b.WriteString("# kubegen benchmark: kubegen vs client-go vs kube-rs\n\n")
		b.WriteString("Written by `make bench` (bench/run.sh); do not edit by hand. What each row measures: bench/README.md.\n\n")
	}
	m := r.Machine
	fmt.Fprintf(&b, "Run %s on %d cores (%s), %s memory, Linux %s; kube-apiserver %s; %s; %s; %s.\n",
		r.Date, m.Cores, m.CPUModel, m.Memory, m.Kernel, m.Server, m.Go, m.Rust, m.Versions)
	fmt.Fprintf(&b, "Median of %v runs per client (min–max in brackets), clients interleaved. "+
		"kubegen and client-go speak protobuf to the server, their (JSON) columns JSON, kube-rs JSON. "+
		"Ratios are medians' ratios; the *better* column says which way is good.\n\n",
		r.Config["runs"])
	b.WriteString("| metric | better")
	for _, c := range columns {
		b.WriteString(" | " + c)
	}
	for _, q := range ratios {
		b.WriteString(" | " + q.String())
	}
	b.WriteString(" |\n|---|---" + strings.Repeat("|---", len(columns)+len(ratios)) + "|\n")
	for _, row := range r.Rows {
		if headline && !isHeadline(row) {
			continue
		}
		fmt.Fprintf(&b, "| %s (%s) | %s", row.Metric, row.Unit, row.Better)
		for _, c := range columns {
			if !col(c) {
				b.WriteString(" | not run")
				continue
			}
			b.WriteString(" | " + cell(row.Stats[c]))
		}
		for _, q := range ratios {
			b.WriteString(" | " + ratioCell(row, q.String()))
		}
		b.WriteString(" |\n")
	}
	if len(r.FloorRows) > 0 {
		b.WriteString("\n**The server's floor**: the harness fetching the same bytes itself (raw HTTP on a fresh connection, read to the end, not decoded), " +
			"in ms, and each client's time as a multiple of the floor in its own wire format (protobuf for kubegen and client-go, JSON for the others).\n\n")
		b.WriteString("| fetch | " + floorProtobuf + " | " + floorJSON)
		for _, c := range columns {
			b.WriteString(" | " + c)
		}
		b.WriteString(" |\n|---" + strings.Repeat("|---", 2+len(columns)) + "|\n")
		for _, row := range r.FloorRows {
			b.WriteString("| " + row.Metric)
			for _, f := range []string{floorProtobuf, floorJSON} {
				b.WriteString(" | " + cell(row.Stats[f]))
			}
			for _, c := range columns {
				b.WriteString(" | " + ratioCell(row, c))
			}
			b.WriteString(" |\n")
		}
	}
	if len(r.Builds) > 0 {
		b.WriteString("\n**f. Generator and cold release builds** (one run each: a cold build takes minutes on this machine).\n\n")
		b.WriteString("| build | cold build incl. dependencies (s) | the crate alone, dependencies built (s) |\n|---|---|---|\n")
		for _, br := range r.Builds {
			if headline && br.Name == "kubegen generate (v1.37 spec)" {
				continue
			}
			crate := "—"
			if br.CrateSeconds > 0 {
				crate = fmtNum(br.CrateSeconds)
			}
			total := "failed"
			if br.Seconds > 0 {
				total = fmtNum(br.Seconds)
			}
			if len(br.Values) > 1 {
				total = cell(summarize(br.Values))
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", br.Name, total, crate)
		}
	}
	if !headline {
		if len(r.WriterRates) > 0 {
			fmt.Fprintf(&b, "\nWriter of c (shared by all clients): %s updates/s median over all runs.\n", fmtNum(summarize(r.WriterRates).Median))
		}
		if r.selected["h"] {
			fmt.Fprintf(&b, "\nh. controller: the client-go column is %s %s (on client-go), so its kubegen / client-go ratio is kubegen / %s; "+
				"the (JSON) columns do not run h.", ctrlRuntime, r.ctrlRuntimeVersion(), ctrlRuntime)
			if len(r.CtrlWriterRates) > 0 {
				fmt.Fprintf(&b, " Writer of h (shared by all clients): %s updates/s median over all runs.", fmtNum(summarize(r.CtrlWriterRates).Median))
			}
			b.WriteString("\n")
		}
		if len(r.Notes) > 0 {
			b.WriteString("\n## Notes\n\n")
			for _, n := range r.Notes {
				fmt.Fprintf(&b, "- %s\n", n)
			}
		}
	}
	return b.String()
}

// ctrlRuntimeVersion is the controller-runtime version the h runs reported.
func (r *report) ctrlRuntimeVersion() string {
	for _, run := range r.Runs {
		if v, ok := run.Reported["controller_runtime"].(string); ok && run.Case == "h" {
			return v
		}
	}
	return "(version not reported)"
}

func isHeadline(row summaryRow) bool {
	switch {
	case strings.HasSuffix(row.Metric, ": time") && (row.Case == "a" || row.Case == "g" || row.Case == "gp"):
		return true
	case strings.Contains(row.Metric, "time to synced"), strings.Contains(row.Metric, "per cached Pod"):
		return true
	case strings.Contains(row.Metric, "events/s"), row.Case == "d8", strings.HasSuffix(row.Metric, "ConfigMaps: p50"):
		return true
	case row.Case == "h" && strings.HasSuffix(row.Metric, "reconcile each once"):
		return true
	}
	return false
}

const (
	readmeBegin = "<!-- bench:begin -->"
	readmeEnd   = "<!-- bench:end -->"
)

// finish computes the summary and writes latest.md, latest.json, the table
// on stdout and (if README.md has the markers) the README headline block.
func finish(r *report, out, repo string, updateReadme bool) {
	r.WriterRates = r.writerRates
	r.CtrlWriterRates = r.ctrlWriterRates
	r.computeRows()
	if err := os.MkdirAll(out, 0o755); err != nil {
		logf("results directory %s: %v", out, err)
		return
	}
	md := r.markdown(false)
	if err := writeAtomic(filepath.Join(out, "latest.md"), []byte(md)); err != nil {
		logf("%v", err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err == nil {
		err = writeAtomic(filepath.Join(out, "latest.json"), append(js, '\n'))
	}
	if err != nil {
		logf("%v", err)
	}
	fmt.Println(md)
	logf("wrote %s and %s", filepath.Join(out, "latest.md"), filepath.Join(out, "latest.json"))
	if updateReadme {
		writeReadmeHeadline(filepath.Join(repo, "README.md"), r.markdown(true))
	}
}

func writeReadmeHeadline(path, block string) {
	data, err := os.ReadFile(path)
	if err != nil {
		logf("README headline not written: %v", err)
		return
	}
	s := string(data)
	i := strings.Index(s, readmeBegin)
	j := strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		logf("README headline not written: %s has no %s ... %s block", path, readmeBegin, readmeEnd)
		return
	}
	s = s[:i+len(readmeBegin)] + "\n" + block + s[j:]
	if err := writeAtomic(path, []byte(s)); err != nil {
		logf("%v", err)
	}
}

// writeAtomic writes through a .tmp file and a rename, so an interrupted run
// never leaves a half-written result.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming %s: %w", tmp, err)
	}
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

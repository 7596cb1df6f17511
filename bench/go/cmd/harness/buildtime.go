package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// buildResult is one row of workload f.
type buildResult struct {
	Name         string    `json:"name"`
	Command      string    `json:"command"`
	Seconds      float64   `json:"seconds"`       // cold: fresh target dir, all dependencies
	CrateSeconds float64   `json:"crate_seconds"` // the crate alone, after `cargo clean -p`
	Values       []float64 `json:"values,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// buildTimes is workload f. Every build gets a fresh temporary target
// directory (removed afterwards), so it compiles all of its dependencies;
// then the measured crates are cleaned with `cargo clean -p` and rebuilt, to
// show the crate's own share. The cargo registry stays warm: downloads are
// not part of the figure.
func buildTimes(ctx context.Context, repo string, deadline time.Time, rep *report) []buildResult {
	repo, _ = filepath.Abs(repo)
	var results []buildResult
	type build struct {
		name     string
		manifest string   // Cargo.toml to build
		args     []string // after `cargo build --release`
		crates   []string // cleaned for the crate-only figure (none: no such figure, to save time)
	}
	ws := filepath.Join(repo, "Cargo.toml")
	builds := []build{
		{"kubegen-api, all features", ws, []string{"-p", "kubegen-api", "--all-features"}, []string{"kubegen-api"}},
		{"kubegen-api, core/v1 types only (no HTTP stack)", ws, []string{"-p", "kubegen-api", "--no-default-features", "--features", "core_v1"}, nil},
		{"kubegen-api, core/v1 with clients and informers", ws, []string{"-p", "kubegen-api", "--no-default-features", "--features", "core_v1,client"}, nil},
		{"k8s-openapi 0.29, feature v1_37", filepath.Join(repo, "bench/buildtime/k8s-openapi/Cargo.toml"), nil, []string{"k8s-openapi"}},
		{"kube 5 (client + runtime) with k8s-openapi", filepath.Join(repo, "bench/buildtime/kube/Cargo.toml"), nil, nil},
	}

	// The generator: release build in the repository's target dir (as
	// `make generate` does), then time `kubegen generate` into a scratch dir.
	if gen, err := generatorTimes(ctx, repo, deadline); err != nil {
		rep.note("f: generator timing failed: %v", err)
	} else {
		results = append(results, gen)
	}

	for _, b := range builds {
		if time.Now().After(deadline) {
			rep.note("deadline reached: f build %q skipped", b.name)
			continue
		}
		logf("f: cold release build of %s", b.name)
		target, err := os.MkdirTemp("", "kubegen-bench-build-")
		if err != nil {
			rep.note("f: %v", err)
			continue
		}
		args := append([]string{"build", "--release", "--quiet", "--manifest-path", b.manifest, "--target-dir", target}, b.args...)
		r := buildResult{Name: b.name, Command: "cargo " + strings.Join(args[:4], " ") + " " + relTo(repo, b.manifest) + " --target-dir <fresh> " + strings.Join(b.args, " ")}
		secs, err := timeCommand(ctx, deadline, repo, "cargo", args...)
		if err != nil {
			r.Error = err.Error()
			rep.note("f: %s: %v", b.name, err)
		} else if r.Seconds = secs; len(b.crates) > 0 {
			clean := []string{"clean", "--release", "--quiet", "--manifest-path", b.manifest, "--target-dir", target}
			for _, c := range b.crates {
				clean = append(clean, "-p", c)
			}
			if _, err := timeCommand(ctx, deadline, repo, "cargo", clean...); err != nil {
				rep.note("f: %s: cargo clean: %v", b.name, err)
			} else if secs, err := timeCommand(ctx, deadline, repo, "cargo", args...); err != nil {
				rep.note("f: %s: crate-only rebuild: %v", b.name, err)
			} else {
				r.CrateSeconds = secs
			}
		}
		results = append(results, r)
		if err := os.RemoveAll(target); err != nil {
			rep.note("f: removing %s: %v", target, err)
		}
	}
	return results
}

func generatorTimes(ctx context.Context, repo string, deadline time.Time) (buildResult, error) {
	r := buildResult{Name: "kubegen generate (v1.37 spec)", Command: "target/release/kubegen generate --spec openapi-specs/v1.37/swagger.json --out <scratch>"}
	logf("f: building the generator (release)")
	if _, err := timeCommand(ctx, deadline, repo, "cargo", "build", "--release", "--quiet", "-p", "kubegen"); err != nil {
		return r, err
	}
	bin := filepath.Join(cargoTargetDir(repo), "release", "kubegen")
	for i := 0; i < 3; i++ {
		out, err := os.MkdirTemp("", "kubegen-bench-generate-")
		if err != nil {
			return r, err
		}
		secs, err := timeCommand(ctx, deadline, repo, bin, "generate", "--spec", "openapi-specs/v1.37/swagger.json", "--out", out)
		os.RemoveAll(out)
		if err != nil {
			return r, err
		}
		r.Values = append(r.Values, secs)
	}
	r.Seconds = summarize(r.Values).Median
	return r, nil
}

// cargoTargetDir is where a plain `cargo build` in repo puts its output.
func cargoTargetDir(repo string) string {
	if d := os.Getenv("CARGO_TARGET_DIR"); d != "" {
		return d
	}
	return filepath.Join(repo, "target")
}

func relTo(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil {
		return r
	}
	return path
}

// timeCommand runs a command in dir and returns its wall time in seconds;
// it is killed at the deadline.
func timeCommand(ctx context.Context, deadline time.Time, dir, name string, args ...string) (float64, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s %s: stopped at the deadline", name, strings.Join(args, " "))
		}
		return 0, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, tail(strings.TrimSpace(stderr.String()), 1500))
	}
	return secs, nil
}

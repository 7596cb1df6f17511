package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
)

// machineInfo is what the results say about where they came from.
type machineInfo struct {
	Cores    int    `json:"cores"`
	CPUModel string `json:"cpu_model"`
	Memory   string `json:"memory"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Rust     string `json:"rust"`
	Server   string `json:"kube_apiserver"`
	Versions string `json:"client_versions"`
	Commit   string `json:"kubegen_commit"`
}

func collectMachine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), Go: runtime.Version(), Server: "not contacted"}
	m.CPUModel = firstField("/proc/cpuinfo", "model name")
	if kb := firstField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int64
		if _, err := fmt.Sscanf(kb, "%d kB", &n); err == nil {
			m.Memory = fmt.Sprintf("%.1f GiB", float64(n)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.Rust = commandLine("rustc", "--version")
	m.Commit = commandLine("git", "rev-parse", "--short", "HEAD")
	var versions []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" {
				versions = append(versions, "client-go "+d.Version)
			}
		}
	}
	// controller-runtime (workload h) is not linked into the harness.
	if v := goModVersion("bench/go/go.mod", "sigs.k8s.io/controller-runtime"); v != "" {
		versions = append(versions, "controller-runtime "+v)
	}
	versions = append(versions, cargoLockVersions("bench/kube-rs/Cargo.lock", "kube", "k8s-openapi")...)
	versions = append(versions, "kubegen "+m.Commit)
	m.Versions = strings.Join(versions, ", ")
	return m
}

func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func commandLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return name + " unavailable"
	}
	return strings.TrimSpace(string(out))
}

// goModVersion reads the version go.mod at path requires of module.
func goModVersion(path, module string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == module {
			return f[1]
		}
	}
	return ""
}

// cargoLockVersions reads the resolved versions of the named packages.
func cargoLockVersions(path string, names ...string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	blocks := strings.Split(string(data), "[[package]]")
	for _, want := range names {
		for _, b := range blocks {
			if strings.Contains(b, "\nname = \""+want+"\"\n") {
				if _, v, ok := strings.Cut(b, "\nversion = \""); ok {
					v, _, _ = strings.Cut(v, "\"")
					out = append(out, want+" "+v)
				}
			}
		}
	}
	return out
}

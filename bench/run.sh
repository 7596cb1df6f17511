#!/usr/bin/env bash
# make bench: kubegen vs client-go vs kube-rs against the test cluster, as
# ratios (issue 8). Builds the three client programs, starts the test cluster
# if none answers (and stops it again afterwards), runs bench/go's harness,
# which writes bench/results/latest.{md,json} and prints the table.
#
# The whole run is bounded: BENCH_BUDGET_SECS (default 2400 = 40 min) from
# the start of this script; the harness skips whatever would start after it
# and says so in the results. Smaller development runs:
#   BENCH_ARGS="--scale 1000 --runs 1 --workloads a,b,g" bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start=$(date +%s)
deadline=$((start + ${BENCH_BUDGET_SECS:-2400}))
kubeconfig=${KUBEGEN_TEST_KUBECONFIG:-$repo/.cache/cluster/kubeconfig}
bin=$repo/bench/.bin
mkdir -p "$bin"

log() { echo "[bench $(date +%T)] $*" >&2; }

command -v go >/dev/null || { echo "bench: Go is required (apt-get install -y golang-go)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "bench: cargo is required (rustup)" >&2; exit 1; }

log "building the harness, the client-go and the controller-runtime programs"
(cd bench/go && go build -o "$bin/" ./cmd/harness ./cmd/client-go-bench ./cmd/controller-runtime-bench)

# Start the cluster only if none answers; stop only what we started.
started_cluster=0
if ! "$bin/harness" -check-cluster -kubeconfig "$kubeconfig" 2>/dev/null; then
  log "no test cluster answers at $kubeconfig: starting one (tests/cluster/cluster.sh up)"
  KUBEGEN_CLUSTER_CBOR=0 tests/cluster/cluster.sh up
  started_cluster=1
  kubeconfig=$repo/.cache/cluster/kubeconfig
fi
cleanup() { if [ "$started_cluster" = 1 ]; then tests/cluster/cluster.sh down || true; fi; }
trap cleanup EXIT

# Each Rust program is its own Cargo workspace; they share one target dir
# (CARGO_TARGET_DIR if set), so the dependencies they have in common (tokio,
# hyper, rustls, serde) are built once.
bench_target=${CARGO_TARGET_DIR:-$repo/bench/target}
rust_bin() { # <binary name> -> path of the release binary
  echo "$bench_target/release/$1"
}
args=()
log "building the kube-rs program (release)"
if cargo build --release --quiet --manifest-path bench/kube-rs/Cargo.toml --target-dir "$bench_target"; then
  args+=(--kube-rs "$(rust_bin kube-rs-bench)")
else
  log "kube-rs program did not build: its column stays empty"
fi
log "building the kubegen program (release)"
if cargo build --release --quiet --manifest-path bench/kubegen/Cargo.toml --target-dir "$bench_target"; then
  args+=(--kubegen "$(rust_bin kubegen-bench)")
else
  log "kubegen program did not build: its column stays empty"
fi
args+=(--client-go "$bin/client-go-bench")
args+=(--controller-runtime "$bin/controller-runtime-bench") # the client-go column of h

# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
"$bin/harness" -kubeconfig "$kubeconfig" -context admin -repo "$repo" -out "$repo/bench/results" \
  -deadline-unix "$deadline" "${args[@]}" ${BENCH_ARGS:-}
log "done in $(( $(date +%s) - start ))s"

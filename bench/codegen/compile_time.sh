#!/usr/bin/env bash
# Generator and generated-crate costs, measured side by side in one run:
#   1. `kubegen generate` of the full v1.37 spec (release binary, warm);
#   2. release build of kubegen-api (all features) vs k8s-openapi (feature
#      v1_37), each crate alone with its dependencies already built, and each
#      cold including dependencies (kubegen-api's include the runtime's HTTP
#      stack, so the crate-alone figure is the like-for-like one).
# Writes a Markdown table to bench/results/codegen-compile-time.md.
# Usage: bench/codegen/compile_time.sh   (from the repository root; ~10-20 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=${KUBEGEN_BENCH_DIR:-/tmp/kubegen-bench-compile}
out=bench/results/codegen-compile-time.md
rm -rf "$work"; mkdir -p "$work" bench/results

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.1f}')"; }

# 1. Generation time (median of 5).
cargo build --quiet --release -p kubegen --target-dir "$work/gen-target"
gen_times=()
for _ in 1 2 3 4 5; do
  t0=$(now)
  "$work/gen-target/release/kubegen" generate --spec openapi-specs/v1.37/swagger.json --out "$work/gen-out" --in-workspace --quiet
  gen_times+=("$(secs "$t0" "$(now)")")
done
gen=$(printf '%s\n' "${gen_times[@]}" | sort -n | sed -n 3p)

# 2a. kubegen-api, cold (dependencies included), then alone.
t0=$(now)
cargo build --quiet --release -p kubegen-api --all-features --target-dir "$work/api-target"
api_cold=$(secs "$t0" "$(now)")
cargo clean --quiet --release -p kubegen-api --target-dir "$work/api-target"
t0=$(now)
cargo build --quiet --release -p kubegen-api --all-features --target-dir "$work/api-target"
api_alone=$(secs "$t0" "$(now)")

# 2b. k8s-openapi v1_37 in a scratch crate, same toolchain and profile.
mkdir -p "$work/k8s/src"
cat > "$work/k8s/Cargo.toml" <<TOML
[package]
name = "k8s-openapi-compile-time"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
k8s-openapi = { version = "0.29", features = ["v1_37"] }
[workspace]
TOML
echo 'pub use k8s_openapi;' > "$work/k8s/src/lib.rs"
cp rust-toolchain.toml "$work/k8s/"
t0=$(now)
(cd "$work/k8s" && cargo build --quiet --release --target-dir "$work/k8s-target")
k8s_cold=$(secs "$t0" "$(now)")
(cd "$work/k8s" && cargo clean --quiet --release -p k8s-openapi --target-dir "$work/k8s-target")
t0=$(now)
(cd "$work/k8s" && cargo build --quiet --release --target-dir "$work/k8s-target")
k8s_alone=$(secs "$t0" "$(now)")

types=$(find "$work/gen-out/src" -name '*.rs' | wc -l)
loc_api=$(cat $(find generated/src -name '*.rs') | wc -l)
cat > "$out" <<MD
# Generator and generated-crate compile time

Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(rustc --version)), by bench/codegen/compile_time.sh.
The machine is shared, so absolute numbers are noisy; the two crates are measured in the same run.

| what | seconds |
|---|---|
| kubegen generate, full v1.37 spec (median of 5) | $gen |
| kubegen-api --all-features, crate alone (release) | $api_alone |
| k8s-openapi v1_37, crate alone (release) | $k8s_alone |
| kubegen-api --all-features, cold incl. dependencies (release) | $api_cold |
| k8s-openapi v1_37, cold incl. dependencies (release) | $k8s_cold |

kubegen-api: $types generated files, $loc_api lines (types, trait impls, clientset).
MD
cat "$out"

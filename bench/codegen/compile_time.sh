#!/usr/bin/env bash
# Generator and generated-crate costs, measured side by side in one run:
#   1. `kubegen generate` of the full v1.37 spec (release binary, warm);
#   2. release build of kubegen-api (all features; and core_v1 only) vs
#      k8s-openapi (feature v1_37), each crate alone with its dependencies
#      already built (twice, alternating, so load from other users hits both),
#      and each cold including dependencies (kubegen-api's include the
#      runtime's HTTP stack, so the crate-alone figure is the like-for-like one).
# CPU time (user+sys) is the steadier figure on a shared machine; wall time is
# reported too. Writes a Markdown table to bench/results/codegen-compile-time.md.
# Usage: bench/codegen/compile_time.sh   (from the repository root; ~10-20 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${KUBEGEN_BENCH_DIR:-/tmp/kubegen-bench-compile}
out=bench/results/codegen-compile-time.md
rm -rf "$work"; mkdir -p "$work" bench/results

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.1f}')"; }
# timed NAME CMD...: runs CMD, records "wall cpu" (seconds) in $work/NAME.
timed() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$work/$name.time" "$@"
  awk '{printf "%.1f %.1f\n", $1, $2 + $3}' "$work/$name.time" > "$work/$name"
}
wall() { cut -d' ' -f1 "$work/$1"; }
cpu() { cut -d' ' -f2 "$work/$1"; }

# 1. Generation time (median of 5).
cargo build --quiet --release -p kubegen --target-dir "$work/gen-target"
gen_times=()
for _ in 1 2 3 4 5; do
  t0=$(now)
  "$work/gen-target/release/kubegen" generate --spec openapi-specs/v1.37/swagger.json --out "$work/gen-out" --in-workspace --quiet
  gen_times+=("$(secs "$t0" "$(now)")")
done
gen=$(printf '%s\n' "${gen_times[@]}" | sort -n | sed -n 3p)
types=$(find "$work/gen-out/src" -name '*.rs' | wc -l)
rm -rf "$work/gen-target" "$work/gen-out" # disk is shared and tight

# 2. k8s-openapi v1_37 in a scratch crate, same toolchain and profile.
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
api=(cargo build --quiet --release -p kubegen-api --target-dir "$work/api-target")
k8s=(cargo build --quiet --release --manifest-path "$work/k8s/Cargo.toml" --target-dir "$work/k8s-target")
api_clean() { cargo clean --quiet --release -p kubegen-api --target-dir "$work/api-target"; }
k8s_clean() { cargo clean --quiet --release -p k8s-openapi --manifest-path "$work/k8s/Cargo.toml" --target-dir "$work/k8s-target"; }

# Cold, dependencies included.
timed api_cold "${api[@]}" --all-features
timed k8s_cold "${k8s[@]}"
# Crate alone, two alternating rounds.
for round in 1 2; do
  api_clean; timed "api_alone$round" "${api[@]}" --all-features
  k8s_clean; timed "k8s_alone$round" "${k8s[@]}"
done
api_clean; timed api_core "${api[@]}" --no-default-features --features core_v1

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
loc_api=$(cat $(find generated/src -name '*.rs') | wc -l)
row() { echo "| $1 | $(wall "$2") | $(cpu "$2") |"; }
cat > "$out" <<MD
# Generator and generated-crate compile time

Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(rustc --version)), by bench/codegen/compile_time.sh,
at commit $(git rev-parse --short HEAD). The machine is shared, so absolute numbers are noisy; the two crates are
measured in the same run, the crate-alone builds alternating. CPU is user+sys.

| what | wall s | CPU s |
|---|---|---|
| kubegen generate, full v1.37 spec (median of 5) | $gen | |
$(row "kubegen-api --all-features, crate alone (release), round 1" api_alone1)
$(row "k8s-openapi v1_37, crate alone (release), round 1" k8s_alone1)
$(row "kubegen-api --all-features, crate alone (release), round 2" api_alone2)
$(row "k8s-openapi v1_37, crate alone (release), round 2" k8s_alone2)
$(row "kubegen-api core_v1 only, crate alone (release)" api_core)
$(row "kubegen-api --all-features, cold incl. dependencies (release)" api_cold)
$(row "k8s-openapi v1_37, cold incl. dependencies (release)" k8s_cold)

Crate alone, kubegen-api / k8s-openapi: CPU $(ratio "$(cpu api_alone1)" "$(cpu k8s_alone1)") and $(ratio "$(cpu api_alone2)" "$(cpu k8s_alone2)"),
wall $(ratio "$(wall api_alone1)" "$(wall k8s_alone1)") and $(ratio "$(wall api_alone2)" "$(wall k8s_alone2)") (rounds 1 and 2).

kubegen-api: $types generated files, $loc_api lines (types, trait impls, apply configurations, clientset, informers).
MD
cat "$out"

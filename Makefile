# kubegen — see README.md. Every target installs or builds what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CLUSTER := tests/cluster/cluster.sh
export KUBEGEN_TEST_KUBECONFIG ?= $(CURDIR)/.cache/cluster/kubeconfig
SPEC := openapi-specs/v1.37

.PHONY: all generate test test-unit bench cluster-up cluster-down specs fmt lint fidelity check-generated

all: generate

## generate: regenerate the kubegen-api crate (generated/) from the spec in openapi-specs/
generate:
	cargo run --quiet --release -p kubegen -- generate --spec $(SPEC)/swagger.json --proto $(SPEC)/proto --out generated --in-workspace

## test: start the test cluster, run every test of every crate, stop the cluster (also on failure)
test:
	$(CLUSTER) up
	status=0; cargo test --workspace --all-features --no-fail-fast || status=$$?; \
	$(CLUSTER) down; exit $$status

## cluster-up / cluster-down: the real etcd + kube-apiserver + kube-controller-manager on 127.0.0.1
cluster-up:
	$(CLUSTER) up

cluster-down:
	$(CLUSTER) down

## specs: refresh openapi-specs/ from the k8s.io/kubernetes module pinned in tests/cluster/go.mod
specs:
	tests/cluster/specs.sh

## bench: side-by-side benchmarks (kubegen vs client-go vs kube-rs)
bench:
	bench/run.sh

## fidelity: generate and compile every release spec in ../shared/openapi-specs (slow)
fidelity:
	cargo test -p kubegen --features shared-inputs --test release_compile -- --include-ignored

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	cargo clippy -p kubegen --all-targets --no-default-features -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --all-features

## check-generated: fail if `make generate` changes generated/
check-generated: generate
	@git diff --exit-code --stat -- generated || { echo "generated/ is stale: run make generate and commit it" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- generated)" || { git status --porcelain -- generated; echo "generated/ has untracked output: run make generate and commit it" >&2; exit 1; }

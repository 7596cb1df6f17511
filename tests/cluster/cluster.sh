#!/usr/bin/env bash
# The test cluster: etcd + kube-apiserver + kube-controller-manager, built from
# their Go modules (see go.mod here) and run on 127.0.0.1 with TLS; and a
# second kube-apiserver with CBOR on (kubeconfig context `cbor`) unless
# KUBEGEN_CLUSTER_CBOR=0; and a small OpenID Connect issuer (cmd/oidc) the
# API servers trust, for the client's `oidc` auth-provider tests.
#
#   cluster.sh build               build the binaries (and the tests' proxy and aggregated API server) into .cache/bin/<version>/ (once per version)
#   cluster.sh up                  start everything (restarts cleanly if already up), write the kubeconfig
#   cluster.sh down                stop exactly what `up` started, remove its data
#   cluster.sh kill-apiserver      kill -9 the kube-apiserver (for reconnect tests)
#   cluster.sh start-apiserver     start it again on the same port, wait until ready
#
# State lives in .cache/cluster/: pid files, logs, PKI, kubeconfig, and `env`
# (ports and endpoints for tests). etcd's data lives in a temp dir named there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
state="$root/.cache/cluster"
k8s_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/go.mod")
etcd_version=$(sed -nE 's#^(require)?[[:space:]]*go\.etcd\.io/etcd/server/v3 (v[^ ]+).*#\2#p' "$here/go.mod" | head -n1)
bin="$root/.cache/bin/k8s-$k8s_version-etcd-$etcd_version"

need_go() {
  command -v go >/dev/null 2>&1 || {
    echo "cluster: Go is required to build kube-apiserver and etcd: apt-get install -y golang-go (or see https://go.dev/doc/install)" >&2
    exit 1
  }
}

build() {
  # The harness changes more often than the rest (new test certificates): rebuild it alone.
  if [[ -x "$bin/harness" && "$here/cmd/harness/main.go" -nt "$bin/harness" ]]; then
    need_go
    (cd "$here" && go build -trimpath -o "$bin/" ./cmd/harness)
  fi
  if [[ -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" && -x "$bin/etcd" && -x "$bin/harness" && -x "$bin/proxy" && -x "$bin/oidc" && -x "$bin/aggregated" ]]; then
    return
  fi
  need_go
  echo "cluster: building kube-apiserver, kube-controller-manager $k8s_version and etcd $etcd_version (first time only) ..."
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(cut -d. -f2 <<<"$k8s_version") -X $pkg.gitTreeState=clean"
  mkdir -p "$bin.tmp"
  (cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$bin.tmp/" \
    ./cmd/etcd ./cmd/harness ./cmd/proxy ./cmd/oidc ./cmd/aggregated k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
}

pid_alive() { [[ -f "$state/$1.pid" ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

stop() {
  local name=$1 pid
  [[ -f "$state/$name.pid" ]] || return 0
  pid=$(cat "$state/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$state/$name.pid"
}

down() {
  stop kube-controller-manager
  stop kube-apiserver-cbor
  stop kube-apiserver
  stop etcd
  stop oidc
  if [[ -f "$state/datadir" ]]; then rm -rf "$(cat "$state/datadir")"; fi
  rm -rf "$state"
}

# Start one component in the background; its pid goes to a pid file, its output to a log.
launch() {
  local name=$1; shift
  setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
}

logs_and_fail() {
  echo "cluster: $1" >&2
  for c in etcd oidc kube-apiserver kube-apiserver-cbor kube-controller-manager; do
    if [[ -f "$state/$c.log" ]]; then
      echo "---- last lines of $c.log ----" >&2
      tail -n 25 "$state/$c.log" >&2
    fi
  done
  down
  exit 1
}

# PodTemplates bypass the watch cache (--watch-cache-sizes=podtemplates#0):
# their watches are served by etcd, so a test can make a resumed watch expire
# (410) by compacting etcd while the API server stays up.
start_apiserver() {
  # shellcheck disable=SC1091
  source "$state/env"
  launch_apiserver kube-apiserver "$APISERVER_PORT"
  wait_apiserver kube-apiserver "$APISERVER_URL"
}

# A second API server on the same etcd with CBOR on (KEP-4222; the gate is
# alpha and off by default in v1.37), for the CBOR tests; the first one
# stays as users' servers are, and answers 415 to a CBOR body.
# KUBEGEN_CLUSTER_CBOR=0 leaves it out (the bench: its watch caches would
# share the machine with what is measured).
cbor_wanted() { [[ "${KUBEGEN_CLUSTER_CBOR:-1}" != 0 ]]; }

start_cbor_apiserver() {
  cbor_wanted || return 0
  launch_apiserver kube-apiserver-cbor "$APISERVER_CBOR_PORT" --feature-gates=CBORServingAndStorage=true
}

launch_apiserver() {
  local name=$1 port=$2; shift 2
  launch "$name" "$bin/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
    --endpoint-reconciler-type=none \
    --etcd-servers="$ETCD_ENDPOINT" \
    --tls-cert-file="$state/pki/apiserver.crt" --tls-private-key-file="$state/pki/apiserver.key" \
    --client-ca-file="$state/pki/ca.crt" \
    --token-auth-file="$state/tokens.csv" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$state/pki/sa.pub" \
    --service-account-signing-key-file="$state/pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    --profiling=false \
    --watch-cache-sizes=podtemplates#0 \
    --oidc-issuer-url="$OIDC_ISSUER_URL" --oidc-client-id=kubegen --oidc-ca-file="$state/pki/ca.crt" \
    --oidc-username-claim=sub --oidc-username-prefix=oidc: \
    --v=1 "$@"
}

wait_apiserver() {
  "$bin/harness" wait "$2/readyz" "$state/pki/ca.crt" "$ADMIN_TOKEN" 120 "$state/$1.pid" ||
    logs_and_fail "$1 did not become ready"
}

up() {
  build
  down
  mkdir -p "$state"
  local data
  data=$(mktemp -d "${TMPDIR:-/tmp}/kubegen-cluster.XXXXXX")
  echo "$data" >"$state/datadir"
  "$bin/harness" pki "$state/pki"
  mapfile -t ports < <("$bin/harness" ports 6)
  local admin_token limited_token oidc_secret
  admin_token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  limited_token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  oidc_secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  cat >"$state/tokens.csv" <<CSV
$admin_token,kubegen-admin,uid-admin,"system:masters"
$limited_token,kubegen-limited,uid-limited
CSV
  cat >"$state/env" <<ENV
ETCD_ENDPOINT=http://127.0.0.1:${ports[0]}
ETCD_PEER_PORT=${ports[1]}
APISERVER_PORT=${ports[2]}
APISERVER_URL=https://127.0.0.1:${ports[2]}
KCM_PORT=${ports[3]}
APISERVER_CBOR_PORT=${ports[4]}
APISERVER_CBOR_URL=https://127.0.0.1:${ports[4]}
ADMIN_TOKEN=$admin_token
LIMITED_TOKEN=$limited_token
PROXY_BIN=$bin/proxy
AGGREGATED_BIN=$bin/aggregated
OIDC_ISSUER_URL=https://127.0.0.1:${ports[5]}
OIDC_CLIENT_SECRET=$oidc_secret
ENV
  chmod 600 "$state/env" "$state/tokens.csv"
  # shellcheck disable=SC1091
  source "$state/env"

  launch etcd "$bin/etcd" --name=kubegen --data-dir="$data/etcd" \
    --listen-client-urls="$ETCD_ENDPOINT" --advertise-client-urls="$ETCD_ENDPOINT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="kubegen=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level=warn
  # The API servers read the issuer's discovery document as they start.
  OIDC_CLIENT_SECRET=$OIDC_CLIENT_SECRET launch oidc "$bin/oidc" "127.0.0.1:${ports[5]}" \
    "$state/pki/apiserver.crt" "$state/pki/apiserver.key"
  "$bin/harness" wait "$OIDC_ISSUER_URL/.well-known/openid-configuration" "$state/pki/ca.crt" "" 30 "$state/oidc.pid" ||
    logs_and_fail "the OIDC issuer did not start"

  start_cbor_apiserver
  start_apiserver
  if cbor_wanted; then wait_apiserver kube-apiserver-cbor "$APISERVER_CBOR_URL"; fi
  write_kubeconfig
  cat >"$state/kcm.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$APISERVER_URL", certificate-authority: "$state/pki/ca.crt"}}]
users: [{name: u, user: {token: "$ADMIN_TOKEN"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
KC
  launch kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$state/kcm.kubeconfig" \
    --authentication-kubeconfig="$state/kcm.kubeconfig" --authorization-kubeconfig="$state/kcm.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
    --tls-cert-file="$state/pki/apiserver.crt" --tls-private-key-file="$state/pki/apiserver.key" \
    --service-account-private-key-file="$state/pki/sa.key" --root-ca-file="$state/pki/ca.crt" \
    --cluster-signing-cert-file="$state/pki/ca.crt" --cluster-signing-key-file="$state/pki/ca.key" \
    --leader-elect=false --controllers='*' --v=1
  "$bin/harness" wait "https://127.0.0.1:$KCM_PORT/healthz" "$state/pki/ca.crt" "$ADMIN_TOKEN" 60 "$state/kube-controller-manager.pid" ||
    logs_and_fail "kube-controller-manager did not become healthy"
  # Pods need the default service account, which the controller-manager creates.
  "$bin/harness" wait "$APISERVER_URL/api/v1/namespaces/default/serviceaccounts/default" "$state/pki/ca.crt" "$ADMIN_TOKEN" 60 ||
    logs_and_fail "the default service account did not appear"
  echo "cluster: up at $APISERVER_URL; kubeconfig $state/kubeconfig"
}

write_kubeconfig() {
  local ca crt key
  ca=$(base64 -w0 "$state/pki/ca.crt")
  crt=$(base64 -w0 "$state/pki/admin.crt")
  key=$(base64 -w0 "$state/pki/admin.key")
  cat >"$state/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kubegen-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $ca
- name: kubegen-test-cbor
  cluster:
    server: $APISERVER_CBOR_URL
    certificate-authority-data: $ca
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
- name: limited
  user:
    token: $LIMITED_TOKEN
- name: cert
  user:
    client-certificate-data: $crt
    client-key-data: $key
contexts:
- name: admin
  context: {cluster: kubegen-test, user: admin, namespace: default}
- name: limited
  context: {cluster: kubegen-test, user: limited, namespace: default}
- name: cert
  context: {cluster: kubegen-test, user: cert, namespace: default}
- name: cbor
  context: {cluster: kubegen-test-cbor, user: admin, namespace: default}
current-context: admin
KC
  chmod 600 "$state/kubeconfig"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  kill-apiserver) pid_alive kube-apiserver && kill -9 "$(cat "$state/kube-apiserver.pid")"; rm -f "$state/kube-apiserver.pid" ;;
  start-apiserver) start_apiserver ;;
  *) echo "usage: $0 build|up|down|kill-apiserver|start-apiserver" >&2; exit 2 ;;
esac

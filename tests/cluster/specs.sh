#!/usr/bin/env bash
# Copy the Kubernetes OpenAPI spec (v2 swagger.json and the v3 per-group-version
# documents) of the k8s.io/kubernetes module named in go.mod into openapi-specs/.
# The module ships them under api/openapi-spec/, generated from the same
# source the kube-apiserver binary is built from.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/go.mod")
minor=$(cut -d. -f1,2 <<<"$version")
dir=$(cd "$here" && go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[[ -d "$dir/api/openapi-spec" ]] || { echo "specs: no api/openapi-spec in $dir" >&2; exit 1; }
out="$root/openapi-specs/$minor"
rm -rf "$out"
mkdir -p "$out/v3"
install -m 0644 "$dir/api/openapi-spec/swagger.json" "$out/swagger.json"
install -m 0644 "$dir"/api/openapi-spec/v3/*.json "$out/v3/"
echo "$version" >"$out/VERSION"
echo "specs: k8s.io/kubernetes $version -> openapi-specs/$minor ($(ls "$out/v3" | wc -l) v3 documents)"

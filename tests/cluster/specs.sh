#!/usr/bin/env bash
# Copy the Kubernetes OpenAPI spec (v2 swagger.json and the v3 per-group-version
# documents) of the k8s.io/kubernetes module named in go.mod into openapi-specs/.
# The module ships them under api/openapi-spec/, generated from the same
# source the kube-apiserver binary is built from. Beside them, under proto/,
# the generated.proto files of the k8s.io/api and k8s.io/apimachinery modules
# the same build uses (protobuf field numbers), and presence.tsv: the fields
# whose zero value read from protobuf means unset (cmd/protofacts).
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

# Protobuf: the .proto files of the modules the server is built from, kept at
# their import paths (k8s.io/api/core/v1/generated.proto).
for module in k8s.io/api k8s.io/apimachinery; do
  mversion=$(cd "$here" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$module")
  mdir=$(cd "$here" && go mod download -json "$module@$mversion" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  (cd "$mdir" && find . -name generated.proto -not -path '*/testapigroup/*' -not -path '*/testdata/*' | sort) |
    while read -r f; do install -D -m 0644 "$mdir/$f" "$out/proto/$module/${f#./}"; done
  echo "$module $mversion" >>"$out/proto/SOURCES"
done
(cd "$here" && go run ./cmd/protofacts) >"$out/proto/presence.tsv"
echo "specs: k8s.io/kubernetes $version -> openapi-specs/$minor ($(ls "$out/v3" | wc -l) v3 documents, $(find "$out/proto" -name '*.proto' | wc -l) .proto files)"

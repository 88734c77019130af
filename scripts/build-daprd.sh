#!/usr/bin/env bash
# Builds the real Dapr runtime (daprd, placement, scheduler) from its Go module into .dapr/bin/.
#
# Why build inside the module directory: dapr's go.mod has `replace` directives, which
# `go install pkg@version` refuses; building in the directory that `go mod download` unpacks
# uses dapr's own go.mod, replace directives and go.sum, exactly as dapr's Makefile does.
#
# Why these tags: component registrations in cmd/daprd/components sit behind build tags; a build
# without tags has no components at all. `allcomponents` registers everything `dapr init --slim`
# ships, among them conversation.echo (the notebooks' offline LLM path) and nameresolution
# sqlite (which the launcher uses instead of mDNS multicast, see cookbook/sidecar.py). Measured
# here: `stablecomponents,conversation_echo` lacks sqlite name resolution and saved only ~1 min
# of a cold build (DAPRD_TAGS overrides).
#
# Why these flags: CGO_ENABLED=0 as dapr's Makefile; -trimpath -ldflags "-s -w" make smaller
# binaries (no debug symbols); buildinfo.version stamps the version, else daprd says "edge".
#
# Which version: 1.18.3 is the runtime dapr SDK 1.18.3 and dapr-agents 1.0.9 pair with. When the
# module proxy refuses a module that a version needs (seen here: dapr 1.18.3 needs
# github.com/dapr/durabletask-go v0.12.4, answered "403 This module version is not available"),
# the next older 1.18.x is tried and the refused modules are printed. DAPR_VERSION=x.y.z builds
# that one only. The version built is written to .dapr/bin/VERSION.
#
# Idempotent: does nothing when the three binaries of a listed version are already built.
set -euo pipefail

VERSIONS="${DAPR_VERSION:-1.18.3 1.18.2 1.18.1 1.18.0}"
TAGS="${DAPRD_TAGS:-allcomponents}"
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${DAPRD_BUILD_DIR:-$here/.dapr/bin}"

for v in $VERSIONS; do
  if [ -f "$out/.built-$v-${TAGS//,/+}" ] && [ -x "$out/daprd" ] && [ -x "$out/placement" ] && [ -x "$out/scheduler" ]; then
    echo "build-daprd: daprd $v already built in $out"
    exit 0
  fi
done
if ! command -v go >/dev/null 2>&1; then
  echo "build-daprd: the go command is not on PATH (Go 1.26 is needed to build daprd from its Go module)." >&2
  echo "  Other ways to get daprd: 'dapr init --slim' (binaries in ~/.dapr/bin), or none: the local sidecar runs." >&2
  exit 3
fi

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

# Prints the module directory of a dapr version whose build dependencies can all be fetched.
fetch() {
  local v="$1" dir log
  dir="$(go mod download -json "github.com/dapr/dapr@v$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$dir" ] || [ ! -f "$dir/go.mod" ]; then
    echo "build-daprd: dapr v$v: the module proxy gave no github.com/dapr/dapr@v$v" >&2
    return 1
  fi
  log="$(mktemp)"
  if ! (cd "$dir" && go list -deps -tags "$TAGS" ./cmd/daprd ./cmd/placement ./cmd/scheduler >/dev/null 2>"$log"); then
    echo "build-daprd: dapr v$v cannot be built here; modules the go command could not fetch:" >&2
    grep -oE '[^ :]+@v[^ :]+: reading [^ ]+: [0-9]{3} [A-Za-z ]+' "$log" | sed -E 's/: reading [^ ]+: /: /' | sort -u | sed 's/^/    /' >&2 \
      || tail -5 "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  echo "$dir"
}

DAPR_VERSION="" dir=""
for v in $VERSIONS; do
  echo "build-daprd: fetching github.com/dapr/dapr@v$v and its dependencies (tags: $TAGS)"
  if dir="$(fetch "$v")"; then DAPR_VERSION="$v"; break; fi
done
if [ -z "$DAPR_VERSION" ]; then
  echo "build-daprd: no dapr version of [$VERSIONS] could be fetched completely (see above)" >&2
  exit 1
fi
stamp="$out/.built-$DAPR_VERSION-${TAGS//,/+}"
commit="$(sed -n 's/^[[:space:]]*"Hash": "\(.*\)",\{0,1\}$/\1/p' "$(dirname "$dir")/cache/download/github.com/dapr/dapr/@v/v$DAPR_VERSION.info" 2>/dev/null || true)"
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
ldflags="$ldflags -X github.com/dapr/dapr/pkg/buildinfo.gitversion=v$DAPR_VERSION"
[ -n "$commit" ] && ldflags="$ldflags -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=$commit"

mkdir -p "$out"
cd "$dir"
for bin in daprd placement scheduler; do
  echo "build-daprd: building $bin (tags: $TAGS)"
  start=$(date +%s)
  go build -trimpath -tags "$TAGS" -ldflags "$ldflags" -o "$out/$bin.tmp" "./cmd/$bin"
  mv "$out/$bin.tmp" "$out/$bin"
  echo "build-daprd: $bin built in $(( $(date +%s) - start )) s"
done
rm -f "$out"/.built-*
touch "$stamp"
echo "$DAPR_VERSION" > "$out/VERSION"
"$out/daprd" --version

#!/usr/bin/env bash
# Prints the directory holding the pinned Temporal server, its SQL schema tool and the server's
# docker configuration on stdout (progress goes to stderr): <dir>/temporal-server,
# <dir>/temporal-sql-tool, <dir>/config/docker.yaml (the template the server image renders from
# its environment) and <dir>/config/dynamicconfig/docker.yaml.
#
# The production topology (docker-compose.temporal.yml) runs temporalio/auto-setup on PostgreSQL;
# the production test tier (test/production) runs the same server version, built from its Go
# module, on the machine's PostgreSQL. Where it looks, in order:
#   1. TEMPORAL_SERVER_DIR, if set (used as given, never rebuilt);
#   2. the cache outside the checkout, shared by every clone on the machine;
#   3. otherwise it builds the pinned tag with `go install` into that cache.
# v1.29.1 is the compose file's tag; its go.mod has no `replace` directive, so `go install pkg@tag`
# works, and the schema tool carries the PostgreSQL schemas inside (--schema-name).
set -euo pipefail

readonly PINNED_VERSION="1.29.1"
readonly MODULE="go.temporal.io/server"
cache_root="${OPSFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opsflow}"
cache_dir="$cache_root/temporal-server-v$PINNED_VERSION"

log() { echo "temporal-server: $*" >&2; }
# shellcheck source=lib/pinned-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-build.sh"
what="the Temporal server v$PINNED_VERSION and temporal-sql-tool"
# Measured on this project's build machine: 42 min with other builds and tests running (load ~30
# on 2 cores), 42 s when Go's build cache holds every package (link only).
estimate="typically 10-45 min"
# `go list -deps ./cmd/server ./cmd/tools/sql` at v1.29.1, standard library included.
packages_total=1260
lock_file="$cache_root/.temporal-server.lock"
status_file="$cache_root/.temporal-server.status"

# `temporal-server --version` prints "temporal version 1.29.1"; the sql tool has no version flag,
# so both binaries being present and the server's version matching is the cache check.
version_of() { "$1" --version 2>/dev/null | awk '{ print $3; exit }'; }
cached() {
  [[ -x "$1/temporal-server" && -x "$1/temporal-sql-tool" && -f "$1/config/docker.yaml" && -f "$1/config/dynamicconfig/docker.yaml" &&
    "$(version_of "$1/temporal-server")" == "$PINNED_VERSION" ]]
}

if [[ -n "${TEMPORAL_SERVER_DIR:-}" ]]; then
  if ! cached "$TEMPORAL_SERVER_DIR"; then
    log "TEMPORAL_SERVER_DIR=$TEMPORAL_SERVER_DIR does not hold temporal-server $PINNED_VERSION, temporal-sql-tool,"
    log "config/docker.yaml and config/dynamicconfig/docker.yaml (the layout this script builds)"
    exit 1
  fi
  echo "$TEMPORAL_SERVER_DIR"
  exit 0
fi

if cached "$cache_dir"; then
  echo "$cache_dir"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "no Temporal server $PINNED_VERSION found and Go is not installed to build it."
  log "Install Go (https://go.dev/dl/) and run this again, or point TEMPORAL_SERVER_DIR at a"
  log "directory laid out as this script builds it (see its first lines)."
  exit 1
fi

mkdir -p "$cache_root"
# Two clones (or two test runs) starting at once must not build twice or see half a binary.
exec 9>"$lock_file"
take_build_lock
if cached "$cache_dir"; then
  echo "$cache_dir"
  exit 0
fi

log "no cached copy of $what: building them with $(go version | awk '{ print $3 }') into $cache_dir."
staging=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$staging"' EXIT
# One `go install` for both: they share most packages, and one module version resolves once.
# -v: each compiled package is a line, which is what the progress lines count.
GOBIN="$staging" run_build_with_progress go install -v -trimpath -ldflags "-s -w" \
  "$MODULE/cmd/server@v$PINNED_VERSION" "$MODULE/cmd/tools/sql@v$PINNED_VERSION"
mv -f "$staging/server" "$staging/temporal-server"
mv -f "$staging/sql" "$staging/temporal-sql-tool"
# The image's configuration comes with the module's source, which the build just downloaded.
module_dir=$(go mod download -json "$MODULE@v$PINNED_VERSION" | awk -F'"' '$2 == "Dir" { print $4 }')
mkdir -p "$staging/config/dynamicconfig"
cp "$module_dir/config/docker.yaml" "$staging/config/docker.yaml"
cp "$module_dir/config/dynamicconfig/docker.yaml" "$staging/config/dynamicconfig/docker.yaml"
# The directory appears whole or not at all.
rm -rf "$cache_dir"
mv "$staging" "$cache_dir"
trap - EXIT
echo "$cache_dir"

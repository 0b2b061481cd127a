#!/usr/bin/env bash
# Prints the path of the pinned Temporal CLI on stdout (progress goes to stderr).
#
# Where it looks, in order:
#   1. TEMPORAL_CLI_PATH, if set (used as given, never rebuilt);
#   2. `temporal` on PATH, if its version is the pinned one;
#   3. the cache outside the checkout, shared by every clone on the machine;
#   4. otherwise it builds the pinned tag with `go install` into that cache.
# v1.5.1 is pinned because its go.mod has no `replace` directive, so `go install pkg@tag` works.
set -euo pipefail

readonly PINNED_VERSION="1.5.1"
readonly MODULE="github.com/temporalio/cli/cmd/temporal"
cache_root="${OPSFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opsflow}"
cache_dir="$cache_root/temporal-cli-v$PINNED_VERSION"
cached_bin="$cache_dir/temporal"

log() { echo "temporal-cli: $*" >&2; }
# shellcheck source=lib/pinned-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-build.sh"
what="the Temporal CLI v$PINNED_VERSION"
# Measured on this project's build machine: 182 s idle, 9.7 and 14.5 min with other builds and tests running.
estimate="typically 3-15 min"
# `go list -deps ./cmd/temporal` at v1.5.1, standard library included; fewer compile when cached.
packages_total=1300
lock_file="$cache_root/.temporal-cli.lock"
status_file="$cache_root/.temporal-cli.status"

# `temporal --version` prints "temporal version 1.5.1 (Server ..., UI ...)".
version_of() { "$1" --version 2>/dev/null | awk '{ print $3; exit }'; }

if [[ -n "${TEMPORAL_CLI_PATH:-}" ]]; then
  if [[ ! -x "$TEMPORAL_CLI_PATH" ]]; then
    log "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable file"
    exit 1
  fi
  echo "$TEMPORAL_CLI_PATH"
  exit 0
fi

if on_path=$(command -v temporal 2>/dev/null) && [[ "$(version_of "$on_path")" == "$PINNED_VERSION" ]]; then
  echo "$on_path"
  exit 0
fi

if [[ -x "$cached_bin" && "$(version_of "$cached_bin")" == "$PINNED_VERSION" ]]; then
  echo "$cached_bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "no Temporal CLI $PINNED_VERSION found and Go is not installed to build it."
  log "Install it one of these ways, then run this again:"
  log "  - install Go (https://go.dev/dl/) and let this script build it, or"
  log "  - download temporal $PINNED_VERSION from https://github.com/temporalio/cli/releases and"
  log "    put it on PATH, or point TEMPORAL_CLI_PATH at it."
  exit 1
fi

mkdir -p "$cache_root"
# Two clones (or two test runs) starting at once must not build twice or see half a binary.
exec 9>"$lock_file"
take_build_lock
if [[ -x "$cached_bin" && "$(version_of "$cached_bin")" == "$PINNED_VERSION" ]]; then
  echo "$cached_bin"
  exit 0
fi

log "no cached copy of $what: building it with $(go version | awk '{ print $3 }') into $cache_dir."
staging=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$staging"' EXIT
# A plain `go install` would report version 0.0.0-DEV; stamp the pinned version as releases do.
# -v: each compiled package is a line, which is what the progress lines count.
GOBIN="$staging" run_build_with_progress go install -v -trimpath \
  -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$PINNED_VERSION" \
  "$MODULE@v$PINNED_VERSION"
mkdir -p "$cache_dir"
mv -f "$staging/temporal" "$cached_bin"
echo "$cached_bin"

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
exec 9>"$cache_root/.temporal-cli.lock"
flock 9
if [[ -x "$cached_bin" && "$(version_of "$cached_bin")" == "$PINNED_VERSION" ]]; then
  echo "$cached_bin"
  exit 0
fi

log "building Temporal CLI v$PINNED_VERSION with $(go version | awk '{ print $3 }') (first run only; a few minutes)..."
staging=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$staging"' EXIT
started=$SECONDS
# A plain `go install` would report version 0.0.0-DEV; stamp the pinned version as releases do.
GOBIN="$staging" go install -trimpath \
  -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$PINNED_VERSION" \
  "$MODULE@v$PINNED_VERSION" >&2
mkdir -p "$cache_dir"
mv -f "$staging/temporal" "$cached_bin"
log "built $cached_bin in $((SECONDS - started)) s"
echo "$cached_bin"

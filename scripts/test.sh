#!/usr/bin/env bash
# `npm test`: every check opsflow has, ending with one plain line "N passed, N failed".
# Lint and the type check count as one check each; jest's tests count one each.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
mkdir -p .opsflow
passed=0
failed=0

check() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else echo "== $name FAILED"; failed=$((failed + 1)); fi
}

# Debian packages the droplet hosts need (bubblewrap, OpenSSH server and client, sftp-server).
if ! bash scripts/host-packages.sh --tests; then
  echo "0 passed, 1 failed"
  exit 1
fi

# The pinned Temporal CLI: built once per machine, reused by every clone afterwards.
if ! TEMPORAL_CLI_PATH_RESOLVED=$(bash scripts/temporal-cli.sh); then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "== Temporal CLI: $TEMPORAL_CLI_PATH_RESOLVED"

# The Temporal server the production compose file pins, and its schema tool (test/production).
if ! TEMPORAL_SERVER_DIR_RESOLVED=$(bash scripts/temporal-server.sh); then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "== Temporal server: $TEMPORAL_SERVER_DIR_RESOLVED"

# The local cloud's Spaces (MinIO), likewise built once per machine before any test needs it.
if ! S3_SERVER_RESOLVED=$(bash scripts/s3-server.sh); then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "== S3 server: $S3_SERVER_RESOLVED"

# The DOKS clusters' control plane (etcd, kube-apiserver, ..., kubectl, kwok), likewise.
if ! KUBE_PLANE_RESOLVED=$(bash scripts/kube-plane.sh); then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "== Kubernetes control plane: $KUBE_PLANE_RESOLVED"

check "build" "$bin/tsc" -b tsconfig.build.json  # -b builds the local cloud package (a project reference) first
check "lint" "$bin/eslint" .
check "format" "$bin/prettier" --check --log-level warn .
check "typecheck" "$bin/tsc" -p tsconfig.json --noEmit

results=.opsflow/jest-results.json
rm -f "$results"
echo "== jest"
"$bin/jest" --json --outputFile="$results" "$@"
jest_passed=0
jest_failed=1
if [[ -f "$results" ]]; then
  read -r jest_passed jest_failed < <(node -e '
    const r = require(process.argv[1]);
    // A suite that fails to load has no tests of its own; count it as a failure.
    const brokenSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + brokenSuites);' "$PWD/$results") || { jest_passed=0; jest_failed=1; }
fi
passed=$((passed + jest_passed))
failed=$((failed + jest_failed))

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

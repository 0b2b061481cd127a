#!/usr/bin/env bash
# Prints the path of the pinned S3 server (MinIO) on stdout (progress goes to stderr).
#
# Where it looks, in order:
#   1. OPSFLOW_S3_SERVER_PATH, if set (used as given, never rebuilt);
#   2. `minio` on PATH, if it was built from the pinned commit;
#   3. the cache outside the checkout, shared by every clone on the machine;
#   4. otherwise it builds the pinned commit with `go install` into that cache.
#
# Why MinIO, and why this version: the local cloud's Spaces must be a real S3 server, and MinIO is
# the most S3-faithful one that can be built here (only the Go module proxy, Debian and npm are
# reachable; Debian has no MinIO, and its radosgw needs a whole Ceph cluster). Unlike versitygw, a
# MinIO with no region configured accepts SigV4 signed for any region, as Spaces accepts both
# `us-east-1` and its own `fra1`-style names. The community edition is source-only and no longer
# maintained; the pin is its final commit (RELEASE.2025-10-15T17-29-55Z plus a few bug fixes), the
# only version the module proxy serves here; release tags are not semver, so it is a pseudo-version.
# Its go.mod has no `replace` directive, so `go install pkg@version` works.
set -euo pipefail

readonly PINNED_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
readonly PINNED_COMMIT="7aac2a2c5b7c882e68c1ce017d8256be2feea27f"
readonly COMMIT_TIME="2026-02-12T20:18:48Z"
readonly MODULE="github.com/minio/minio"
cache_root="${OPSFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opsflow}"
cache_dir="$cache_root/minio-$PINNED_VERSION"
cached_bin="$cache_dir/minio"

log() { echo "s3-server: $*" >&2; }
# No silent waits: the checkout's shared lock-wait and build-progress helpers (this package is only
# ever built inside the opsflow checkout).
# shellcheck source=../../../scripts/lib/pinned-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib/pinned-build.sh"
what="MinIO (the local cloud's S3 server) ${PINNED_COMMIT:0:12}"
# Seen on this project's build machine: 9.7 min with other builds and tests running; less when idle.
estimate="typically 5-15 min"
# `go list -deps .` of the pinned module: 1301 packages, standard library included; fewer compile when cached.
packages_total=1300
lock_file="$cache_root/.minio.lock"
status_file="$cache_root/.minio.status"

# `minio --version` prints "minio version DEVELOPMENT.<time> (commit-id=<sha>)" then runtime lines.
commit_of() { "$1" --version 2>/dev/null | sed -n 's/.*(commit-id=\([0-9a-f]*\)).*/\1/p' | head -n 1; }

if [[ -n "${OPSFLOW_S3_SERVER_PATH:-}" ]]; then
  if [[ ! -x "$OPSFLOW_S3_SERVER_PATH" ]]; then
    log "OPSFLOW_S3_SERVER_PATH=$OPSFLOW_S3_SERVER_PATH is not an executable file"
    exit 1
  fi
  echo "$OPSFLOW_S3_SERVER_PATH"
  exit 0
fi

if on_path=$(command -v minio 2>/dev/null) && [[ "$(commit_of "$on_path")" == "$PINNED_COMMIT" ]]; then
  echo "$on_path"
  exit 0
fi

if [[ -x "$cached_bin" && "$(commit_of "$cached_bin")" == "$PINNED_COMMIT" ]]; then
  echo "$cached_bin"
  exit 0
fi

# Go's tarball installs outside PATH; a non-login shell (npm, jest) may not have it there.
go_bin=$(command -v go 2>/dev/null || true)
if [[ -z "$go_bin" && -x /usr/local/go/bin/go ]]; then go_bin=/usr/local/go/bin/go; fi
if [[ -z "$go_bin" ]]; then
  log "no MinIO built from commit ${PINNED_COMMIT:0:12} found and Go is not installed to build it."
  log "Install it one of these ways, then run this again:"
  log "  - install Go 1.24 or newer (https://go.dev/dl/) and let this script build it, or"
  log "  - point OPSFLOW_S3_SERVER_PATH at a MinIO server binary (a recent release works; this one"
  log "    is built with: go install $MODULE@$PINNED_VERSION)."
  exit 1
fi

mkdir -p "$cache_root"
# Two clones (or two test runs) starting at once must not build twice or see half a binary.
exec 9>"$lock_file"
take_build_lock
if [[ -x "$cached_bin" && "$(commit_of "$cached_bin")" == "$PINNED_COMMIT" ]]; then
  echo "$cached_bin"
  exit 0
fi

log "no cached copy of $what: building $PINNED_VERSION with $("$go_bin" version | awk '{ print $3 }') into $cache_dir."
staging=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$staging"' EXIT
# A plain `go install` stamps "DEVELOPMENT.GOGET"; stamp what MinIO's own build (gen-ldflags.go)
# would, so the version check above can tell this commit from any other. CGO off as in its releases.
# nice: the build takes both cores for minutes on machines shared with running tests.
ldflags="-s -w -X $MODULE/cmd.Version=$COMMIT_TIME -X $MODULE/cmd.ReleaseTag=DEVELOPMENT.${COMMIT_TIME//:/-}"
ldflags+=" -X $MODULE/cmd.CommitID=$PINNED_COMMIT -X $MODULE/cmd.ShortCommitID=${PINNED_COMMIT:0:12}"
ldflags+=" -X $MODULE/cmd.CopyrightYear=2026"
# -v: each compiled package is a line, which is what the progress lines count.
CGO_ENABLED=0 GOBIN="$staging" run_build_with_progress nice -n 10 "$go_bin" install -v -trimpath -ldflags "$ldflags" \
  "$MODULE@$PINNED_VERSION"
mkdir -p "$cache_dir"
mv -f "$staging/minio" "$cached_bin"
echo "$cached_bin"

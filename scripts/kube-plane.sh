#!/usr/bin/env bash
# Prints the directory holding the pinned Kubernetes control plane binaries on stdout (progress goes
# to stderr): etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok and
# prometheus. The local cloud starts one such plane per DOKS cluster; its pods of prom/prometheus
# images run that prometheus.
#
# Where it looks, in order:
#   1. OPSFLOW_KUBE_BIN_DIR, if set (used as given, never rebuilt; it must hold all seven binaries);
#   2. the cache outside the checkout, shared by every clone on the machine;
#   3. otherwise it builds whatever is missing there from the Go module proxy.
#
# Why wrapper modules: `go install k8s.io/kubernetes/cmd/...@v1.34.3` fails, because its go.mod
# replaces every staging module (k8s.io/api, client-go, ...) with a directory of its own repository.
# A wrapper module requiring k8s.io/kubernetes with one `replace k8s.io/X => k8s.io/X v0.34.3` per
# staging module resolves the same code from the proxy. etcd's server is a library since 3.5, so its
# binary is a five-line main around etcdmain.Main (Debian's etcd 3.4 is too old for this apiserver:
# its watch progress requests fail). kwok v0.8.0 has no replace lines and installs as it is, but it
# needs k8s.io libraries 0.36, so it cannot share the 1.34 wrapper module.
set -euo pipefail

readonly KUBE_VERSION="1.34.3"
readonly STAGING_VERSION="0.34.3"
readonly ETCD_VERSION="3.6.16"
readonly KWOK_VERSION="0.8.0"
# Prometheus for prom/prometheus pods: Debian's is built without Kubernetes service discovery
# ("field kubernetes_sd_configs not found"), which stack D's Prometheus needs. Module v0.316.0.
readonly PROMETHEUS_VERSION="0.316.0"
# Every module k8s.io/kubernetes v1.34.3 replaces with ./staging/src/k8s.io/<name>.
readonly STAGING_MODULES=(
  api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller
)
readonly KUBE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
readonly ALL_BINARIES=(etcd "${KUBE_COMMANDS[@]}" kwok prometheus)

cache_root="${OPSFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opsflow}"
kube_root="$cache_root/kube"
bin_dir="$kube_root/bin-k$KUBE_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION"
src_root="$kube_root/src"

log() { echo "kube-plane: $*" >&2; }
# shellcheck source=lib/pinned-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-build.sh"
lock_file="$cache_root/.kube-plane.lock"
status_file="$cache_root/.kube-plane.status"

missing_binaries() {
  local name
  for name in "${ALL_BINARIES[@]}"; do
    [[ -x "$1/$name" ]] || echo "$name"
  done
}

if [[ -n "${OPSFLOW_KUBE_BIN_DIR:-}" ]]; then
  missing=$(missing_binaries "$OPSFLOW_KUBE_BIN_DIR")
  if [[ -n "$missing" ]]; then
    log "OPSFLOW_KUBE_BIN_DIR=$OPSFLOW_KUBE_BIN_DIR lacks: $(echo "$missing" | tr '\n' ' ')"
    exit 1
  fi
  echo "$OPSFLOW_KUBE_BIN_DIR"
  exit 0
fi

if [[ -z "$(missing_binaries "$bin_dir")" ]]; then
  echo "$bin_dir"
  exit 0
fi

# Go's tarball installs outside PATH; a non-login shell (npm, jest) may not have it there.
go_bin=$(command -v go 2>/dev/null || true)
if [[ -z "$go_bin" && -x /usr/local/go/bin/go ]]; then go_bin=/usr/local/go/bin/go; fi
if [[ -z "$go_bin" ]]; then
  log "the Kubernetes control plane binaries are not built and Go is not installed to build them."
  log "Install Go 1.26 or newer (https://go.dev/dl/) and run this again, or point"
  log "OPSFLOW_KUBE_BIN_DIR at a directory holding: ${ALL_BINARIES[*]}."
  exit 1
fi

mkdir -p "$cache_root" "$bin_dir" "$src_root"
# Two clones (or two test runs) starting at once must not build twice or see half a binary.
exec 9>"$lock_file"
what="the Kubernetes control plane (v$KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
# Measured on this project's build machine at load 20-33 (other builds and tests): etcd 5 min,
# Kubernetes 76 min, kwok 61 min alongside it; 402 MB of binaries.
estimate="typically 40-90 min in all the first time"
take_build_lock
# Another clone may have built them while this one waited.
if [[ -z "$(missing_binaries "$bin_dir")" ]]; then
  echo "$bin_dir"
  exit 0
fi
log "building into $bin_dir with $("$go_bin" version | awk '{ print $3 }'); each binary is kept as soon as it is built."
# Static binaries, as Kubernetes releases are; the same settings for all three builds so that the
# packages they share (grpc, protobuf, otel, ...) compile once into Go's build cache.
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# Moves what a build left in the staging directory into the cache, one binary at a time (atomic).
keep_built() {
  local name
  for name in "$@"; do mv -f "$staging/$name" "$bin_dir/$name"; done
  rm -rf "$staging"
}

build_etcd() {
  local dir="$src_root/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module opsflow.local/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
EOF
  cat >"$dir/main.go" <<'EOF'
// The etcd server binary: etcd ships its server as a library (etcdmain) since 3.5.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  log "resolving etcd $ETCD_VERSION's modules"
  "$go_bin" -C "$dir" mod tidy >&2
  # packages_total: `go list -deps` of what is built, standard library included (fewer compile when cached).
  what="etcd $ETCD_VERSION" estimate="typically 3-8 min" packages_total=580
  staging=$(mktemp -d "$cache_root/build.XXXXXX")
  run_build_with_progress nice -n 10 "$go_bin" -C "$dir" build -v -trimpath -ldflags "-s -w" -o "$staging/etcd" .
  keep_built etcd
}

build_kube() {
  local dir="$src_root/kubernetes-$KUBE_VERSION" name ldflags package="k8s.io/component-base/version"
  mkdir -p "$dir"
  {
    printf 'module opsflow.local/kubernetes\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes v%s\n\n' "$KUBE_VERSION"
    for name in "${STAGING_MODULES[@]}"; do
      printf 'replace k8s.io/%s => k8s.io/%s v%s\n' "$name" "$name" "$STAGING_VERSION"
    done
  } >"$dir/go.mod"
  # Blank imports of the commands keep their dependencies in go.mod; never compiled (build tag).
  {
    printf '//go:build tools\n\n// Only for `go mod tidy`: the commands this module builds.\npackage tools\n\nimport (\n'
    for name in "${KUBE_COMMANDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$name"; done
    printf ')\n'
  } >"$dir/tools.go"
  log "resolving Kubernetes $KUBE_VERSION's modules (a few hundred; the first time takes minutes)"
  "$go_bin" -C "$dir" mod tidy >&2
  # A plain build reports v0.0.0-master; stamp the version as Kubernetes' own build does, so that
  # kubectl and kwok see a real server version.
  ldflags="-s -w -X $package.gitVersion=v$KUBE_VERSION -X $package.gitMajor=${KUBE_VERSION%%.*}"
  ldflags+=" -X $package.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X $package.gitTreeState=clean"
  ldflags+=" -X $package.buildDate=1970-01-01T00:00:00Z"
  what="Kubernetes $KUBE_VERSION (${KUBE_COMMANDS[*]})" estimate="typically 30-80 min" packages_total=2530
  staging=$(mktemp -d "$cache_root/build.XXXXXX")
  local packages=()
  for name in "${KUBE_COMMANDS[@]}"; do packages+=("k8s.io/kubernetes/cmd/$name"); done
  run_build_with_progress nice -n 10 "$go_bin" -C "$dir" build -v -trimpath -ldflags "$ldflags" -o "$staging/" "${packages[@]}"
  keep_built "${KUBE_COMMANDS[@]}"
}

build_kwok() {
  what="kwok $KWOK_VERSION" estimate="typically 10-60 min" packages_total=1500
  staging=$(mktemp -d "$cache_root/build.XXXXXX")
  GOBIN="$staging" run_build_with_progress nice -n 10 "$go_bin" install -v -trimpath \
    -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  keep_built kwok
}

build_prometheus() {
  what="Prometheus (module v$PROMETHEUS_VERSION)" estimate="typically 5-20 min" packages_total=1200
  staging=$(mktemp -d "$cache_root/build.XXXXXX")
  GOBIN="$staging" run_build_with_progress nice -n 10 "$go_bin" install -v -trimpath \
    -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/prometheus@v$PROMETHEUS_VERSION"
  keep_built prometheus
}

started=$SECONDS
missing=$(missing_binaries "$bin_dir")
if grep -qx etcd <<<"$missing"; then build_etcd; fi
if grep -qE '^kube' <<<"$missing"; then build_kube; fi
if grep -qx kwok <<<"$missing"; then build_kwok; fi
if grep -qx prometheus <<<"$missing"; then build_prometheus; fi
log "the control plane binaries are ready after $(human_duration $((SECONDS - started))) ($(du -sh "$bin_dir" | cut -f1) of binaries)."
echo "$bin_dir"

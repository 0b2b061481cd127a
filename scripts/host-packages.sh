#!/usr/bin/env bash
# Installs the Debian packages opsflow needs on this machine that are missing:
#   bubblewrap           sandboxes the local cloud's droplet commands
#   nftables             keeps droplets off the machine's own services (Temporal, metrics)
#   iproute2             ip: makes the DOKS pods' address blocks local to the machine
#   openssh-client       ssh-keygen (host keys, fingerprints)
#   openssh-server       sshd, the real SSH server the SSH client and activity tests run against
#   openssh-sftp-server  SFTP for that server
#   nginx-light          the real nginx the rollout traffic tests weight upstreams with
#   prometheus           the real Prometheus the rollout analysis tests query
#   rabbitmq-server      DOKS pods of rabbitmq images run its node (and register on the epmd it runs)
#   mariadb-server       mariadbd: DOKS pods of mariadb and mysql images run it; the failover tests
#                        start their own replicating pairs on free ports
# and, with --tests (npm test; not npm start):
#   chromium             the headless browser the Web UI test looks at runs with (playwright-core drives it)
#   strace               holds bubblewrap's process order open (delayed syscalls) in the sandbox lifetime test
#   redis-server         redis-server: the failover and failback tests start their own Redis pairs
#
# Prints one summary line. Needs root only when something is missing (then: apt-get update and
# apt-get install -y --no-install-recommends). Services are not started by the install: the
# tests start their own sshd, nginx and Prometheus on free ports, and nothing should listen on
# port 22, 80 or 9090 because of us.
set -euo pipefail

PACKAGES=(bubblewrap nftables iproute2 openssh-client openssh-server openssh-sftp-server nginx-light prometheus rabbitmq-server mariadb-server)
if [[ "${1:-}" == "--tests" ]]; then PACKAGES+=(chromium strace redis-server); fi
readonly PACKAGES

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "host-packages: this is not a Debian-based system (no dpkg-query); install by hand: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "host-packages: all ${#PACKAGES[@]} present (${PACKAGES[*]})"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "host-packages: missing ${missing[*]}; run this script as root (sudo bash scripts/host-packages.sh) to install them" >&2
  exit 1
fi

log="$(mktemp)"
policy=/usr/sbin/policy-rc.d
made_policy=""
cleanup() {
  rm -f "$log"
  if [[ -n "$made_policy" ]]; then rm -f "$policy"; fi
}
trap cleanup EXIT

# Keep maintainer scripts from starting the system sshd (only if no policy is in place already).
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update >"$log" 2>&1; then
  echo "host-packages: apt-get update failed; its last lines:" >&2
  tail -n 15 "$log" >&2
  exit 1
fi
if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  echo "host-packages: apt-get install ${missing[*]} failed; its last lines:" >&2
  tail -n 15 "$log" >&2
  exit 1
fi

still=()
for pkg in "${missing[@]}"; do
  installed "$pkg" || still+=("$pkg")
done
if [[ ${#still[@]} -gt 0 ]]; then
  echo "host-packages: apt-get finished but ${still[*]} still not installed" >&2
  exit 1
fi
echo "host-packages: installed ${missing[*]}; all ${#PACKAGES[@]} present"

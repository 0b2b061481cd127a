#!/usr/bin/env bash
# `npm run bench`: every benchmark, each writing its table to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
# backup.ts needs PostgreSQL on 127.0.0.1:5432 (user postgres) and creates, then drops, a 1 GB
# database; backup-child.ts is its helper process, not a benchmark of its own.
# provision.ts runs the production worker (dist/worker.js) as a child process, so it builds first;
# it needs bubblewrap (scripts/host-packages.sh) and binds droplet addresses 127.98.x.y.
# terraform.ts needs terraform and DigitalOcean's provider build (README, "Terraform against the
# local cloud"); without them it says so and is skipped. It binds droplet addresses 127.97.x.y.
# rollout.ts runs the rollout tests' stack (two droplets, Debian's nginx and Prometheus: scripts/host-packages.sh).
# kubernetes.ts needs the Kubernetes plane (scripts/kube-plane.sh) and binds addresses 127.96.x.y.
# kubernetes-canary.ts runs rolloutRelease's canary on a DOKS cluster (the plane, and Prometheus as rollout.ts).
# failover.ts runs failoverSite and failbackSite on the failover tests' stage (Debian's MariaDB).
node_modules/.bin/tsc -p tsconfig.build.json
for bench in bench/localcloud-*.ts bench/backup.ts bench/provision.ts bench/terraform.ts bench/rollout.ts bench/kubernetes.ts bench/kubernetes-canary.ts bench/failover.ts; do
  [[ -e "$bench" ]] || continue
  echo "== $bench"
  node_modules/.bin/tsx "$bench"
done

#!/usr/bin/env bash
# `npm run bench`: every benchmark, each writing its table to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
# backup.ts needs PostgreSQL on 127.0.0.1:5432 (user postgres) and creates, then drops, a 1 GB
# database; backup-child.ts is its helper process, not a benchmark of its own.
for bench in bench/localcloud-*.ts bench/backup.ts; do
  [[ -e "$bench" ]] || continue
  echo "== $bench"
  node_modules/.bin/tsx "$bench"
done

#!/usr/bin/env bash
# `npm run bench`: every benchmark, each writing its table to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in bench/localcloud-*.ts bench/backup*.ts; do
  [[ -e "$bench" ]] || continue
  echo "== $bench"
  node_modules/.bin/tsx "$bench"
done

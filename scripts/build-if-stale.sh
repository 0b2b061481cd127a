#!/usr/bin/env bash
# `npm start` builds only when a source changed since the last build. `npm ci` has just built (its
# `prepare` runs tsc); a second tsc here cost about a minute on a busy machine and said nothing.
# The check is cheap and errs towards building: the build's newest mark (the build-info file `tsc -b`
# rewrites on every build that changes anything, else the CLI entry plain tsc rewrites) is as new
# as the build; any source, tsconfig or package.json newer than it means rebuild.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck disable=SC2012 # names are ours, without newlines
stamp=$(ls -t dist/*.tsbuildinfo dist/client/cli.js 2>/dev/null | head -n 1 || true)
sources=(src tsconfig.json tsconfig.build.json package.json)
# Workspace packages built with the product (their sources and build settings, not their output).
for pkg in packages/*/; do
  [[ -d "$pkg" ]] || continue
  for part in src tsconfig.json tsconfig.build.json package.json; do [[ -e "$pkg$part" ]] && sources+=("$pkg$part"); done
done

if [[ -n "$stamp" ]]; then
  newer=$(find "${sources[@]}" -newer "$stamp" -print -quit 2>/dev/null || true)
  if [[ -z "$newer" ]]; then
    echo "opsflow: dist/ is up to date with the sources; not building again." >&2
    exit 0
  fi
  echo "opsflow: $newer changed since the last build; building (tsc, about a minute)..." >&2
else
  echo "opsflow: no build yet; building (tsc, about a minute)..." >&2
fi
exec npm run --silent build

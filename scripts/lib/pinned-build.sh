# Shared by scripts/temporal-cli.sh and scripts/s3-server.sh (sourced, not run): no long wait is
# silent. Waiting on another clone's build lock and the Go build itself both say what they wait
# for, how long it has been, how far the build is, and how long it usually takes. Everything goes
# to stderr: the callers' stdout is the binary's path only.
#
# The caller sets: log() (prefixes its name), what ("the Temporal CLI v1.5.1"), estimate
# ("typically 3-15 min"), packages_total (measured with `go list -deps`), lock_file, status_file.

# Seconds between progress lines; tests shorten it.
progress_interval="${OPSFLOW_PROGRESS_INTERVAL:-20}"

# A line that is only an import path (no spaces or colons): what `go install -v` prints per package.
import_path_line='^[[:alnum:]._~/-]+$'

human_duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# The pid holding an flock on $1, from /proc/locks (the lock's device and inode); empty if unknown.
# Read from the kernel rather than from a note, so a clone running an older script is named too.
lock_holder_pid() {
  local inode
  inode=$(stat -c %i "$1" 2>/dev/null) || return 0
  # "1: FLOCK  ADVISORY  WRITE 4242 00:2a:123456 0 EOF"; waiters' lines carry "->" and are skipped.
  awk -v inode="$inode" '$2 == "FLOCK" { split($6, id, ":"); if (id[3] == inode) { print $5; exit } }' /proc/locks 2>/dev/null || true
}

describe_pid() {
  local pid=$1 args elapsed
  if [[ -z "$pid" ]]; then echo "another process (its pid is not visible here)"; return; fi
  args=$(ps -o args= -p "$pid" 2>/dev/null | cut -c1-120) || true
  elapsed=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ') || true
  if [[ -z "$args" ]]; then echo "pid $pid"; return; fi
  echo "pid $pid ($args, running $(human_duration "${elapsed:-0}"))"
}

# Takes the lock on fd 9 (opened by the caller on $lock_file). When another process holds it,
# says who, and repeats how long this has waited and what the holder last reported.
take_build_lock() {
  if flock -n 9; then return 0; fi
  local started=$SECONDS holder report
  holder=$(lock_holder_pid "$lock_file")
  log "waiting for the build lock $lock_file, held by $(describe_pid "$holder"):"
  log "  another clone or test run is building $what ($estimate); this continues when it is done."
  until flock -w "$progress_interval" 9; do
    holder=$(lock_holder_pid "$lock_file")
    report=""
    # Only the holder's own report: a file left by a build that died says nothing about this one.
    if [[ -n "$holder" ]] && head -n 1 "$status_file" 2>/dev/null | grep -q "^pid $holder "; then
      report=$(tail -n 1 "$status_file" 2>/dev/null || true)
    fi
    log "still waiting for $what after $(human_duration $((SECONDS - started))) (lock held by $(describe_pid "$holder"))${report:+; it reports: $report}"
  done
  log "got the build lock after $(human_duration $((SECONDS - started)))."
}

# Counts in the build's log ($1): sets modules, packages and current (the package compiling now).
build_counts() {
  modules=$(grep -c '^go: downloading ' "$1" 2>/dev/null || true)
  # `go install -v` prints each package's import path, alone on its line, as it compiles it.
  packages=$(grep -cE "$import_path_line" "$1" 2>/dev/null || true)
  current=$(grep -E "$import_path_line" "$1" 2>/dev/null | tail -n 1 | cut -c1-80 || true)
  modules=${modules:-0} packages=${packages:-0}
}

# One progress line for the build logging to $1, started at $2 (SECONDS).
build_progress_line() {
  local modules packages current elapsed
  build_counts "$1"
  elapsed="$(human_duration $((SECONDS - $2))) elapsed"
  if ((packages > 0)); then
    echo "$elapsed; $modules modules downloaded, $packages of at most ~$packages_total packages compiled (now: $current)"
  elif ((modules > 0)); then
    echo "$elapsed; downloading modules ($modules so far)"
  else
    # Nothing to download or compile yet: Go is resolving the module or linking from its build cache.
    echo "$elapsed; resolving modules and reusing Go's build cache (nothing compiled yet)"
  fi
}

# Runs a `go install -v ...` command with its output in a log, printing progress every interval and
# keeping $status_file current for any clone waiting on the lock. On failure prints the log's tail.
run_build_with_progress() {
  local build_log started=$SECONDS last=$SECONDS pid line code=0
  build_log=$(mktemp "${TMPDIR:-/tmp}/opsflow-build.XXXXXX")
  log "building $what: first run on this machine only, $estimate; progress every ${progress_interval} s."
  echo "pid $$ started building $what at $(date -u +%H:%M:%S) UTC" >"$status_file"
  "$@" >"$build_log" 2>&1 &
  pid=$!
  # A Ctrl-C or a failure here must not leave the build running on its own.
  trap 'kill '"$pid"' 2>/dev/null || true; rm -f "'"$build_log"'"; rm -rf "${staging:-}"' EXIT
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1 # polling cadence for the progress line, not a proof of anything
    if ((SECONDS - last >= progress_interval)); then
      line=$(build_progress_line "$build_log" "$started")
      # The status first: whoever has read the printed line finds the file at least as new.
      echo "$line" >>"$status_file"
      log "building $what: $line; $estimate"
      last=$SECONDS
    fi
  done
  wait "$pid" || code=$?
  rm -f "$status_file"
  if ((code != 0)); then
    log "building $what failed (exit $code) after $(human_duration $((SECONDS - started))); the last lines of its output:"
    tail -n 30 "$build_log" | sed 's/^/  /' >&2
    rm -f "$build_log"
    return "$code"
  fi
  local modules packages current
  build_counts "$build_log"
  log "built $what in $((SECONDS - started)) s ($modules modules downloaded, $packages packages compiled)."
  rm -f "$build_log"
}

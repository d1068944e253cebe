#!/usr/bin/env bash
# Runs the libFuzzer targets of a HERALD_FUZZ build for a bounded time each, in parallel.
# Usage: run-fuzzers.sh BUILD_DIR SECONDS [message|uri ...]
# New corpus entries go to a temporary folder (the seeds are read in place); crashes are kept
# in BUILD_DIR/fuzz-findings/. Exit 1 on any finding.
set -uo pipefail
build=$(cd "$1" && pwd)
seconds=$2
shift 2
targets=("${@:-message uri}")
[[ $# -eq 0 ]] && targets=(message uri)
src=$(cd "$(dirname "$0")/.." && pwd)
shared=${HERALD_SHARED_DIR:-$src/../shared}
findings=$build/fuzz-findings
mkdir -p "$findings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pids=()
for t in "${targets[@]}"; do
  case $t in
    message) seeds=("$shared/testdata/rfc4475/messages" "$src/tests/data/sip") ;;
    uri) seeds=("$src/fuzz/corpus/uri") ;;
    *) echo "unknown fuzz target $t" >&2; exit 2 ;;
  esac
  work=$(mktemp -d)
  (
    "$build/fuzz/${t}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -dict="$src/fuzz/sip.dict" -artifact_prefix="$findings/$t-" -print_final_stats=1 \
      "$work" "${seeds[@]}" >"$build/fuzz-$t.log" 2>&1
    rc=$?
    rm -rf "$work"
    exit $rc
  ) &
  pids+=($!)
done
status=0
i=0
for pid in "${pids[@]}"; do
  t=${targets[$i]}
  if wait "$pid"; then
    echo "$t: $(grep -E 'stat::number_of_executed_units' "$build/fuzz-$t.log" | awk '{print $2}') runs in ${seconds}s, no finding"
  else
    echo "$t: FINDING (see $build/fuzz-$t.log and $findings/)"
    tail -n 40 "$build/fuzz-$t.log"
    status=1
  fi
  i=$((i + 1))
done
exit $status

#!/usr/bin/env bash
# Measures the function's cold start through `deployer serve`: the time from
# starting the function process to its first response, one signed
# delivery whose secret is not cached yet. Repeats RUNS times (default 7),
# each with a new serve and function process, and prints every run and the
# median. The figure comes from serve's own "cold start" log line.
#
# Usage: scripts/bench-cold-start.sh        (RUNS=N to change the count)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"

runs="${RUNS:-7}"
bench_setup

cold_starts=()
round_trips=()
for run in $(seq 1 "$runs"); do
    bench_start_serve
    output="$("$bench_deployer" send --tenant "$bench_tenant" --expect 200 --output json)"
    bench_stop_serve

    cold="$(sed -n 's/^cold start: first response \([0-9.]*\) ms.*/\1/p' "$bench_state/serve.err" | head -n 1)"
    trip="$(python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["latencyMs"])' <<<"$output")"
    if [[ -z "$cold" ]]; then
        bench_log "run $run: serve logged no cold start; see $bench_state/serve.err"
        exit 1
    fi
    cold_starts+=("$cold")
    round_trips+=("$trip")
    echo "run $run: cold start $cold ms (client round trip $trip ms)"
done

echo "cold start median over $runs runs: $(bench_median "${cold_starts[@]}") ms" \
    "(client round trip median $(bench_median "${round_trips[@]}") ms)"
echo "artifact: $(stat -c %s "$bench_zip") bytes ($bench_zip)"
echo "machine: $(nproc) cores, $(uname -sr)"

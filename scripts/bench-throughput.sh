#!/usr/bin/env bash
# Measures warm throughput and latency through `deployer serve` with
# `deployer send --count COUNT --concurrency CONCURRENCY`, first with the
# stack's secret cache and then with it disabled (SECRET_CACHE_TTL_SECONDS=0),
# so that every request reads DynamoDB (moto). Serve runs INSTANCES function
# processes (default: CONCURRENCY). Also prints the artifact size and the
# function processes' peak resident memory (VmHWM).
#
# Usage: scripts/bench-throughput.sh   (COUNT, CONCURRENCY, INSTANCES, WARMUP)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"

count="${COUNT:-2000}"
concurrency="${CONCURRENCY:-8}"
instances="${INSTANCES:-$concurrency}"
warmup="${WARMUP:-200}"
bench_setup

# Runs one scenario: name, then extra `deployer serve` options.
scenario() {
    local name="$1"
    shift
    bench_start_serve --instances "$instances" "$@"
    "$bench_deployer" send --tenant "$bench_tenant" --count "$warmup" \
        --concurrency "$concurrency" >/dev/null
    local summary peak
    summary="$("$bench_deployer" send --tenant "$bench_tenant" --count "$count" \
        --concurrency "$concurrency" --output json)" || true
    peak="$(bench_function_peak_kib)"
    bench_stop_serve

    SUMMARY="$summary" python3 - "$name" "$peak" <<'EOF'
import json, os, sys
name, peak = sys.argv[1], int(sys.argv[2])
s = json.loads(os.environ["SUMMARY"])
l = s["latencyMs"]
failed = ", ".join(f"{k}: {v}" for k, v in s["failuresByStatus"].items()) or "none"
print(f"{name}: {s['succeeded']}/{s['deliveries']} succeeded (failures: {failed}), "
      f"{s['responsesPerSecond']:.0f} req/s, latency ms p50 {l['p50']:.2f} "
      f"p95 {l['p95']:.2f} p99 {l['p99']:.2f} max {l['max']:.2f}, "
      f"function peak RSS {peak / 1024:.1f} MiB")
EOF
}

echo "send --count $count --concurrency $concurrency; serve --instances $instances; warm-up $warmup"
scenario "secret cache on (stack default)"
scenario "secret cache off (SECRET_CACHE_TTL_SECONDS=0)" --env SECRET_CACHE_TTL_SECONDS=0
echo "artifact: $(stat -c %s "$bench_zip") bytes ($bench_zip)"
echo "machine: $(nproc) cores, $(uname -sr)"

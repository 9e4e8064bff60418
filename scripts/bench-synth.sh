#!/usr/bin/env bash
# Measures the wall time of `deployer synth` with default settings, writing
# the template to a temporary file. Uses hyperfine when it is on PATH.
# Otherwise, it runs the command RUNS times (default 50) and prints the
# median, minimum and maximum in milliseconds.
#
# Usage: scripts/bench-synth.sh            (debug build)
#        scripts/bench-synth.sh --release  (release build; slow to compile)
#        RUNS=N scripts/bench-synth.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

profile="debug"
cargo_flags=()
if [[ "${1:-}" == "--release" ]]; then
    profile="release"
    cargo_flags=(--release)
fi

runs="${RUNS:-50}"
deployer="$root/target/$profile/deployer"
out="$(mktemp --suffix=.yaml)"
json="$(mktemp --suffix=.json)"
trap 'rm -f "$out" "$json"' EXIT

cargo build --quiet -p deployer "${cargo_flags[@]}"
# --config points at a file that does not exist, so a local deployer.toml
# cannot change what is measured.
command=("$deployer" --config "$out.missing" synth --out "$out")

echo "deployer synth ($profile build), $runs runs"
if command -v hyperfine >/dev/null; then
    hyperfine --warmup 3 --runs "$runs" --shell=none --export-json "$json" "${command[*]}"
    python3 -c 'import json, sys
result = json.load(open(sys.argv[1]))["results"][0]
print("median %.2f ms, min %.2f ms, max %.2f ms" % tuple(1000 * result[key] for key in ("median", "min", "max")))' "$json"
    exit 0
fi

durations=()
for _ in $(seq 1 "$runs"); do
    start="$(date +%s%N)"
    "${command[@]}"
    end="$(date +%s%N)"
    durations+=("$(( (end - start) / 1000 ))")
done
printf '%s\n' "${durations[@]}" | sort -n | awk '
    { values[NR] = $1 }
    END {
        median = (NR % 2) ? values[(NR + 1) / 2] : (values[NR / 2] + values[NR / 2 + 1]) / 2
        printf "median %.2f ms, min %.2f ms, max %.2f ms\n", median / 1000, values[1] / 1000, values[NR] / 1000
    }'

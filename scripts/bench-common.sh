# Shared steps of the benchmark scripts; source it, do not run it.
# It starts a fresh moto server on a free loopback port, deploys with
# `deployer up` (a cargo-lambda release build), seeds one tenant whose
# targetUrl points at `deployer serve`, and stops everything on exit.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_state="$bench_root/.local/bench"
bench_deployer="$bench_root/target/debug/deployer"
bench_zip="$bench_root/target/lambda/webhook-receiver/bootstrap.zip"
bench_tenant="bench"
bench_moto_pid=""
bench_serve_pid=""

bench_log() {
    echo "bench: $*" >&2
}

bench_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

bench_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    bench_stop_serve
    if [[ -n "$bench_moto_pid" ]] && kill -0 "$bench_moto_pid" 2>/dev/null; then
        kill -TERM "$bench_moto_pid" 2>/dev/null || true
        wait "$bench_moto_pid" 2>/dev/null || true
    fi
    exit "$status"
}

# Polls `url` until it responds to HTTP, for at most 60 s or until `pid` exits.
bench_wait_for_http() {
    local url="$1" pid="$2"
    for _ in $(seq 1 300); do
        curl -s -o /dev/null --max-time 2 "$url" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# Builds the deployer, starts moto, deploys (building the release artifact)
# and seeds.
bench_setup() {
    cd "$bench_root"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$bench_state"

    scripts/setup.sh
    source scripts/env.sh
    cargo build --quiet -p deployer

    local moto_port
    moto_port="$(bench_free_port)"
    bench_serve_port="$(bench_free_port)"
    export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
    export AWS_REGION="us-east-1"
    export AWS_ACCESS_KEY_ID="testing"
    export AWS_SECRET_ACCESS_KEY="testing"
    export AWS_EC2_METADATA_DISABLED="true"
    unset AWS_PROFILE AWS_SESSION_TOKEN DEPLOYER_OUTPUT

    "$bench_root/.venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$bench_state/moto.log" 2>&1 &
    bench_moto_pid=$!
    bench_wait_for_http "$AWS_ENDPOINT_URL/moto-api/" "$bench_moto_pid"

    "$bench_deployer" up >"$bench_state/up.log"
    "$bench_deployer" seed --tenant "$bench_tenant" \
        --target-base "http://127.0.0.1:$bench_serve_port/prod" --output json >/dev/null
}

# Starts `deployer serve` with extra options and waits until it listens.
bench_start_serve() {
    "$bench_deployer" serve --port "$bench_serve_port" "$@" \
        >"$bench_state/serve.log" 2>"$bench_state/serve.err" &
    bench_serve_pid=$!
    if ! bench_wait_for_http "http://127.0.0.1:$bench_serve_port/" "$bench_serve_pid"; then
        bench_log "deployer serve did not start; see $bench_state/serve.err"
        return 1
    fi
}

bench_stop_serve() {
    if [[ -n "$bench_serve_pid" ]] && kill -0 "$bench_serve_pid" 2>/dev/null; then
        kill -TERM "$bench_serve_pid" 2>/dev/null || true
        wait "$bench_serve_pid" 2>/dev/null || true
    fi
    bench_serve_pid=""
}

# Prints the largest peak resident set size (VmHWM, in KiB) of the function
# processes that the running `deployer serve` started.
bench_function_peak_kib() {
    local peak=0 pid kib
    for pid in $(pgrep -P "$bench_serve_pid" -x bootstrap); do
        kib="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
        (( kib > peak )) && peak="$kib"
    done
    echo "$peak"
}

# Prints the median of the numbers given as arguments.
bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

#!/usr/bin/env bash
# End-to-end demo on one machine: deploys the webhook receiver to a fresh
# local AWS emulator (moto), serves it on 127.0.0.1 with `deployer serve`,
# seeds a tenant, sends four signed deliveries, checks each status, prints a
# report and tears everything down again.
#
# Usage: scripts/demo.sh
# Environment: DEMO_MOTO_PORT and DEMO_SERVE_PORT pick fixed loopback ports
# (default: free ones). Exit status 0 only when every expectation held.
#
# Uses the debug build of the deployer (target/debug/deployer); `deployer up`
# builds the function itself with `cargo lambda build --release`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

state="$root/.local/demo"
mkdir -p "$state"
deployer="$root/target/debug/deployer"
tenant="acme"

moto_pid=""
serve_pid=""
stack_created=0
results=()
failures=0

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

log() {
    echo "demo: $*" >&2
}

# Stops what this script started, in reverse order: serve, the stack, moto.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$serve_pid" ]] && kill -0 "$serve_pid" 2>/dev/null; then
        log "stopping deployer serve (pid $serve_pid)"
        kill -TERM "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
    fi
    if (( stack_created )); then
        log "deleting the stack after an early stop"
        "$deployer" down --yes >>"$state/down.log" 2>&1 || log "deployer down failed; see $state/down.log"
    fi
    if [[ -n "$moto_pid" ]] && kill -0 "$moto_pid" 2>/dev/null; then
        log "stopping moto (pid $moto_pid)"
        kill -TERM "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Polls `url` until it responds to HTTP at all, or fails after 60 s or when
# process `pid` exits.
wait_for_http() {
    local url="$1" pid="$2" name="$3"
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null --max-time 2 "$url"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited during start-up"
            return 1
        fi
        sleep 0.2
    done
    log "$name did not answer at $url within 60 s"
    return 1
}

# Records one expectation: name, expected status, actual status, detail.
record() {
    local name="$1" expected="$2" actual="$3" detail="$4" verdict="ok"
    if [[ "$expected" != "$actual" ]]; then
        verdict="FAILED"
        failures=$((failures + 1))
    fi
    results+=("$(printf '%-26s expected %-4s got %-4s %-7s %s' "$name" "$expected" "$actual" "$verdict" "$detail")")
}

# Sends one delivery with `deployer send` and records its status.
check_send() {
    local name="$1" expected="$2"
    shift 2
    local output status latency
    output="$("$deployer" send --output json --expect "$expected" "$@" 2>>"$state/send.log")" || true
    status="$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("status") or "none")' <<<"$output" 2>/dev/null || echo none)"
    latency="$(python3 -c 'import json,sys; print("%.1f ms" % json.load(sys.stdin)["latencyMs"])' <<<"$output" 2>/dev/null || echo "")"
    record "$name" "$expected" "$status" "$latency"
}

# Requests `url` with curl and records its status.
check_curl() {
    local name="$1" expected="$2" method="$3" url="$4" status
    status="$(curl -s -o /dev/null -w '%{http_code}' -X "$method" --max-time 30 "$url" || echo none)"
    record "$name" "$expected" "$status" "$method $url"
}

log "installing tools (scripts/setup.sh)"
scripts/setup.sh
source scripts/env.sh

log "building the deployer (cargo build -p deployer)"
cargo build --quiet -p deployer

moto_port="${DEMO_MOTO_PORT:-$(free_port)}"
serve_port="${DEMO_SERVE_PORT:-$(free_port)}"

export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_REGION="us-east-1"
export AWS_ACCESS_KEY_ID="testing"
export AWS_SECRET_ACCESS_KEY="testing"
export AWS_EC2_METADATA_DISABLED="true"
unset AWS_PROFILE AWS_SESSION_TOKEN DEPLOYER_OUTPUT

log "starting moto on 127.0.0.1:$moto_port"
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 &
moto_pid=$!
wait_for_http "$AWS_ENDPOINT_URL/moto-api/" "$moto_pid" "moto"

log "deploying (deployer up)"
stack_created=1
"$deployer" up >"$state/up.log"

log "starting deployer serve on 127.0.0.1:$serve_port"
"$deployer" serve --port "$serve_port" >"$state/serve.log" 2>"$state/serve.err" &
serve_pid=$!
base="http://127.0.0.1:$serve_port/prod"
wait_for_http "http://127.0.0.1:$serve_port/" "$serve_pid" "deployer serve"

log "seeding tenant $tenant"
"$deployer" seed --tenant "$tenant" --target-base "$base" --output json >"$state/seed.json"

webhook_url="$base/v1/receiver/$tenant/webhook"
check_curl "health check" 200 GET "$base/v1/receiver/health"
check_send "valid delivery" 200 --tenant "$tenant"
check_send "tampered body" 401 --tenant "$tenant" --tamper
check_send "timestamp one hour old" 401 --tenant "$tenant" --timestamp "$(($(date +%s) - 3600))"
check_send "unknown tenant" 404 --tenant "no-such-tenant" \
    --url "$base/v1/receiver/no-such-tenant/webhook" --secret "whsec_demo_unknown_tenant"
check_curl "unknown route" 403 GET "$webhook_url/extra"

log "stopping deployer serve"
kill -TERM "$serve_pid"
wait "$serve_pid" || true
serve_pid=""

log "deleting the stack (deployer down --yes)"
if "$deployer" down --yes >"$state/down.log" 2>&1; then
    record "deployer down" 0 0 ""
else
    record "deployer down" 0 1 "see $state/down.log"
fi
stack_created=0

echo
echo "Webhook receiver demo (moto on 127.0.0.1:$moto_port, serve on 127.0.0.1:$serve_port)"
for line in "${results[@]}"; do
    echo "  $line"
done
echo "Access log of deployer serve:"
sed 's/^/  /' "$state/serve.log"
if (( failures > 0 )); then
    echo "demo: $failures expectation(s) failed; logs are in $state" >&2
    exit 1
fi
echo "demo: every expectation held"

#!/usr/bin/env bash
# Starts, stops or reports the local AWS emulator (moto's server mode) on
# 127.0.0.1. Its pid and log are kept in .local/moto/.
#
# Usage: scripts/moto.sh start [PORT]   (default port 5000; prints the endpoint URL)
#        scripts/moto.sh stop
#        scripts/moto.sh status
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.local/moto"
pid_file="$state/pid"
port_file="$state/port"
log_file="$state/server.log"

running_pid() {
    [[ -f "$pid_file" ]] || return 1
    local pid
    pid="$(cat "$pid_file")"
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

start() {
    local port="${1:-5000}"
    if pid="$(running_pid)"; then
        echo "http://127.0.0.1:$(cat "$port_file")"
        return 0
    fi
    "$root/scripts/setup.sh"
    mkdir -p "$state"
    "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    echo "$port" >"$port_file"

    for _ in $(seq 1 150); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
            echo "http://127.0.0.1:$port"
            return 0
        fi
        if ! running_pid >/dev/null; then
            echo "moto: server exited at start; see $log_file" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "moto: no response on port $port after 30 s; see $log_file" >&2
    stop
    return 1
}

stop() {
    if pid="$(running_pid)"; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$pid_file" "$port_file"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop ;;
    status)
        if running_pid >/dev/null; then
            echo "running at http://127.0.0.1:$(cat "$port_file")"
        else
            echo "not running"
            exit 1
        fi
        ;;
    *)
        echo "usage: scripts/moto.sh start [PORT] | stop | status" >&2
        exit 2
        ;;
esac

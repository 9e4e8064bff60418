# Puts the project's tools first on PATH. Source it: `source scripts/env.sh`.
# cargo-lambda finds zig through the ziglang package of the same venv.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_root/.venv/bin:$PATH"
unset _root

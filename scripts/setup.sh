#!/usr/bin/env bash
# Installs the project's Python-packaged tools into .venv/ beside the
# repository: moto (local AWS emulator), cfn-lint (template linter),
# cargo-lambda and ziglang (Lambda build and cross-linker).
#
# Safe to rerun: it only installs when the pinned set changed.
# Usage: scripts/setup.sh          then: source scripts/env.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.installed"

packages=(
    "moto[server]==5.2.5"
    "cfn-lint==1.58.0"
    "cargo-lambda==1.9.2"
    "ziglang==0.14.1"
)
wanted="${packages[*]}"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    exit 0
fi

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null; then
    echo "setup: $python not found; install Python 3.9 or newer and rerun" >&2
    exit 1
fi

echo "setup: installing ${packages[*]} into $venv" >&2
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
echo "$wanted" > "$stamp"

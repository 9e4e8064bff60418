#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and integration tests (each
# integration test run starts its own moto server on a free loopback port),
# the template linter, the Lambda artifact build and the end-to-end demo.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh
source scripts/env.sh

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== cargo lambda build"
scripts/build-function.sh

echo "== end-to-end demo"
scripts/demo.sh

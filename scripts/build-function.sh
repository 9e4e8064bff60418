#!/usr/bin/env bash
# Builds the Lambda artifact with cargo-lambda, exactly as `deployer up`
# does, and prints its path and size. Fails when the zip reaches 4 MiB.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh

cargo lambda build --release --output-format zip -p webhook-receiver
zip="target/lambda/webhook-receiver/bootstrap.zip"
size="$(stat -c %s "$zip")"
echo "artifact: $zip ($size bytes)"
if (( size >= 4 * 1024 * 1024 )); then
    echo "artifact is $size bytes, over the 4 MiB budget" >&2
    exit 1
fi

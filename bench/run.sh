#!/usr/bin/env bash
# Runs every benchmark: each bench/*/run.sh that exists, in name order, given the build dir.
# Usage: bench/run.sh [BUILD_DIR]   (default: build; `make bench` passes it)
# Exit: 0 when every bench exited 0, else 1 (every bench still runs). Results: bench/results/.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
failed=()
ran=0
for script in "$here"/*/run.sh; do
    [ -f "$script" ] || continue
    name=$(basename "$(dirname "$script")")
    echo "== bench/$name"
    ran=$((ran + 1))
    bash "$script" "$build" || failed+=("$name")
done
if [ "$ran" -eq 0 ]; then
    echo "bench: no bench/*/run.sh found"
    exit 0
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "bench: failed: ${failed[*]}"
    exit 1
fi
echo "bench: $ran bench(es) done; results in bench/results/"

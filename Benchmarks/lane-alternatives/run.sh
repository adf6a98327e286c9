#!/bin/sh
# Builds lane_alternatives.c with gcc (not SwiftPM) and runs it: round trips between two
# processes over a Unix socket (what lanes do), a pipe pair, shared memory + futex, and
# shared memory + a short spin before the futex; pinned and unpinned. Prints a Markdown table.
#   Benchmarks/lane-alternatives/run.sh [ROUNDS [ROUND_TRIPS_PER_ROUND [SPIN_US]]]
# The binary goes to $LANE_ALTERNATIVES_OUT (default .build/lane-alternatives, from the repository root).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${LANE_ALTERNATIVES_OUT:-$here/../../.build/lane-alternatives}
mkdir -p "$out"
${CC:-gcc} -O2 -std=gnu11 -Wall -Wextra -o "$out/lane_alternatives" "$here/lane_alternatives.c"
exec "$out/lane_alternatives" "$@"

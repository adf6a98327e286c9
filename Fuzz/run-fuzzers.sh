#!/usr/bin/env bash
# Runs each fuzz target named on the command line, one after the other (one
# core: the machine is shared), for FUZZ_SECONDS each (0: only replay the
# corpus), and prints per target how long it ran, how many inputs it tried and
# whether it found anything. Called by `make fuzz` after the build.
#
# Corpus: the scratch folder .build-fuzz/corpus/NAME comes first so that new
# inputs libFuzzer keeps are written there, never into the committed seeds in
# Corpus/NAME. Crashes, hangs and out-of-memory inputs go to Crashes/.
set -u
cd "$(dirname "$0")"
bin=.build-fuzz/release
seconds=${FUZZ_SECONDS:-60}
# Swift's own crash backtracer reads the dying process's memory in a way
# AddressSanitizer reports as an overflow of its own, hiding the real crash.
export SWIFT_BACKTRACE=enable=no

# Longest input per target: enough for a real manifest or config, a long URL,
# a number, and the small ELF seeds (about 4.5 KB) with room to grow.
max_len() {
    case $1 in
        manifest | hostconfig) echo 4096 ;;
        route) echo 1024 ;;
        typedvalue) echo 128 ;;
        elf) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

mkdir -p Crashes .build-fuzz/logs
found=0
summary=()
for name in "$@"; do
    scratch=.build-fuzz/corpus/$name
    log=.build-fuzz/logs/$name.log
    mkdir -p "$scratch"
    options=(-max_len="$(max_len "$name")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
             -artifact_prefix="Crashes/$name-")
    if [ "$seconds" -gt 0 ]; then options+=(-max_total_time="$seconds"); else options+=(-runs=0); fi
    if [ -f "Dictionaries/$name.dict" ]; then options+=(-dict="Dictionaries/$name.dict"); fi

    echo "fuzz-$name: running ${seconds}s (log in Fuzz/$log)"
    start=$(date +%s)
    "$bin/fuzz-$name" "${options[@]}" "$scratch" "Corpus/$name" >"$log" 2>&1
    status=$?
    elapsed=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$status" -eq 0 ]; then
        result="nothing found"
    else
        found=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        reason=$(grep -m1 -E 'Fatal error|Assertion|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|SUMMARY' "$log")
        result="FOUND (exit $status): ${reason:-see log} -> Fuzz/${artifact:-Crashes/}"
    fi
    summary+=("$(printf '%-12s %4ss %10s runs  %s' "$name" "$elapsed" "${runs:-?}" "$result")")
done

echo
printf 'target       time       executions  result\n'
printf '%s\n' "${summary[@]}"
exit "$found"

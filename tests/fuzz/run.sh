#!/bin/bash
# Build the libFuzzer harnesses with clang under ASan+UBSan and run each one
# for a bounded time against its seed corpus.
#   tests/fuzz/run.sh [SECONDS_EACH]       (default 60)
# Longer campaigns: FUZZ_SECONDS=3600 tests/fuzz/run.sh, or run a harness by
# hand: build-fuzz/tests/fuzz/fuzz-config -max_total_time=3600 DIR tests/fuzz/corpus/config
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-60}}
bdir=${FUZZ_BUILD:-build-fuzz}
if [ ! -f "$bdir/build.ninja" ]; then
        # Every library the harnesses link is instrumented for coverage
        # (fuzzer-no-link), not just the harnesses themselves: the fuzzer
        # steers by what the parsers do.
        CC=clang meson setup "$bdir" -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
                -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$bdir" tests/fuzz/fuzz-config tests/fuzz/fuzz-request tests/fuzz/fuzz-seccomp tests/fuzz/fuzz-json >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fail=0
names=(config request seccomp json)
for name in "${names[@]}"; do
        work=$(mktemp -d)
        cp tests/fuzz/corpus/$name/* "$work/"
        log=$(mktemp)
        if "$bdir/tests/fuzz/fuzz-$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
                -max_len=65536 -print_final_stats=1 "$work" >"$log" 2>&1; then
                execs=$(awk '/stat::number_of_executed_units/{print $2}' "$log")
                rate=$(awk '/stat::average_exec_per_sec/{print $2}' "$log")
                echo "fuzz-$name: ok, ${execs:-?} executions in ${secs}s (${rate:-?}/s), corpus $(ls "$work" | wc -l) inputs"
        else
                echo "fuzz-$name: FAILED"; tail -40 "$log"; fail=$((fail + 1))
        fi
        rm -rf "$work" "$log"
done
echo "$((${#names[@]} - fail)) passed, $fail failed"
exit $fail

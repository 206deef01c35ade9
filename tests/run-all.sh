#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-all.sh — every test tier, as root, on Debian 12:
#
#   1. install the dependencies (scripts/install-deps.sh)
#   2. a clean build with warnings as errors (build-ci/)
#   3. the unit tests (meson test --suite unit: the C tests, TAP)
#   4. the system tests (meson test --suite system: pytest, as root:
#      isolation, enforcement, CLI, clean-up, config errors, daemon)
#   5. the same build, unit and system tests under ASan+UBSan (build-asan/)
#   5b. the libFuzzer harnesses, a bounded time each (tests/fuzz/run.sh)
#       and a sample of the mutant list (tests/mutants/run.py)
#   6. the cgroup v2 tier in a QEMU guest (tests/vm/cgroup-v2-tier.sh)
#   7. jailerd under real systemd in a QEMU guest (tests/vm/systemd-tier.sh)
#   8. the Debian packages installed, upgraded and purged in that guest
#
# Prints a summary; exits non-zero if anything failed.  A tier that cannot
# run here is reported as skipped, with the reason.
#
# Environment:
#   JAILER_SKIP_DEPS=1    do not run scripts/install-deps.sh
#   JAILER_SKIP_ASAN=1    leave out the sanitizer tier
#   JAILER_SKIP_VM=1      leave out the VM tiers
#   JAILER_SKIP_BENCH=1   leave out the benchmark harness's --quick run
#   JAILER_SKIP_FUZZ=1    leave out the fuzzers; JAILER_FUZZ_SECONDS=N each (60)
#   JAILER_SKIP_MUTANTS=1 leave out the mutant sample; JAILER_MUTANTS_SAMPLE=N (8)
#   PYTEST_ARGS="..."     extra pytest arguments (e.g. "-x -k isolation")
#   JAILER_CI_BUDGET=S    the whole run's bound in seconds (5000); each tier
#                         also has its own (TIER_BOUND below).  A tier past
#                         its bound is killed with everything it started and
#                         counted as failed, so the run always ends.
set -u
set -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
LOGDIR=$REPO/build-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
T_START=$(date +%s)
BUDGET=${JAILER_CI_BUDGET:-5000}
# shellcheck source=tests/lib/bounded.sh
. "$REPO/tests/lib/bounded.sh"

# Each tier's bound in seconds: several times what it takes here, well
# inside the whole run's budget.
declare -A TIER_BOUND=(
  [deps]=1200 [build]=600 ["unit tests"]=600 ["system tests"]=1800
  ["asan+ubsan build"]=600 ["asan+ubsan unit"]=900 ["asan+ubsan system"]=2400
  [fuzz]=900 ["mutants (sample)"]=1200 ["bench --quick"]=900 ["cgroup v2 (VM)"]=1800 ["kernel 5.10 (VM)"]=3000 ["systemd (VM)"]=1800 ["package (VM)"]=1800
)

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1

# Per step: name, status (pass/fail/skip), seconds, counts, note.
STEPS=()
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0

banner() { printf '\n======== %s ========\n' "$*"; }

# counts LOG: "passed failed skipped" from a pytest, meson or plain
# "N passed, N failed" closing line in LOG (the last one found).
counts() {
  /usr/bin/python3 - "$1" <<'EOF'
import re, sys
text = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1], errors="replace").read())
p = f = s = 0
pytest_lines = [l for l in text.splitlines()
                if re.search(r"\b(passed|failed|error|errors|no tests ran)\b.* in [0-9.]+s", l)]
meson = re.findall(r"^(Ok|Fail|Skipped|Timeout|Unexpected Pass|Expected Fail):\s+(\d+)", text, re.M)
plain = re.findall(r"^(?:[\w-]+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$", text, re.M)
if pytest_lines:
    # every pytest session in the log (the VM tier has one plus a unit binary)
    for l in pytest_lines:
        for n, what in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", l):
            n = int(n)
            if what == "passed" or what == "xfailed":
                p += n
            elif what == "skipped":
                s += n
            else:
                f += n
    for m in re.finditer(r"^(?:# )?(\d+) passed, (\d+) failed$", text, re.M):   # unit binaries (TAP)
        p += int(m.group(1)); f += int(m.group(2))
elif meson:
    for k, n in meson:
        n = int(n)
        if k in ("Ok", "Expected Fail"):
            p += n
        elif k == "Skipped":
            s += n
        else:
            f += n
elif plain:
    a, b, c = plain[-1]
    p, f, s = int(a), int(b), int(c or 0)
print(p, f, s)
EOF
}

# step NAME COUNTED COMMAND...: run, log, time, record.  COUNTED=1 adds the
# test counts found in the output to the totals.
step() {
  local name=$1 counted=$2
  shift 2
  local log="$LOGDIR/${name// /-}.log" t0 t1 rc p f s status note=""
  banner "$name"
  t0=$(date +%s)
  local bound=${TIER_BOUND[$name]:-600} left=$((BUDGET - (t0 - T_START)))
  [ "$left" -lt "$bound" ] && bound=$left
  if [ "$bound" -le 0 ]; then
    echo "run-all: the run's budget of ${BUDGET}s is spent; $name not started" | tee "$log"
    rc=124
  else
    run_tier "$log" "$bound" "$@"
    rc=$?
  fi
  t1=$(date +%s)
  [ "$rc" = 124 ] && note="killed at its bound of ${bound}s"
  read -r p f s < <(counts "$log")
  if [ "$rc" = 0 ]; then
    status=pass
  elif [ "$rc" = 77 ]; then
    status=skip
    note=$(grep -E 'cannot run|skip' "$log" | tail -1)
  else
    status=fail
    [ "$f" = 0 ] && f=1   # a failure without a test count (build, crash) still counts
  fi
  if [ "$counted" = 1 ]; then
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
    TOTAL_SKIPPED=$((TOTAL_SKIPPED + s))
  elif [ "$status" = fail ]; then
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
  fi
  [ "$status" = skip ] && [ "$counted" = 1 ] && [ "$p$f$s" = 000 ] && TOTAL_SKIPPED=$((TOTAL_SKIPPED + 1))
  STEPS+=("$(printf '%-22s %-5s %5ss  %s' "$name" "$status" $((t1 - t0)) \
            "$([ "$counted" = 1 ] && echo "$p passed, $f failed, $s skipped") ${note:+($note)}")")
  return "$rc"
}

skip_step() {  # NAME REASON
  banner "$1"
  echo "skipped: $2"
  STEPS+=("$(printf '%-22s %-5s %5ss  %s' "$1" skip 0 "($2)")")
}

# The unit and system suites through meson (tests/meson.build).  The system
# suite is tests/lib/system-tier.sh: pytest as root, with PYTEST_ARGS; meson
# starts it in a session of its own and, on the SIGTERM at a tier's bound,
# kills that session; what escapes is still found by the tier's token.
unit_suite() {  # BUILD_DIR
  meson test -C "$1" --suite unit --print-errorlogs
}

system_suite() {  # BUILD_DIR
  meson test -C "$1" --suite system --print-errorlogs
}

# The build directory is made private (0700), as a checkout in root's home
# is: whatever a test hands to another uid must then be copied somewhere
# that uid can reach (jailtest.for_others), and a test that forgets fails
# here rather than on a newcomer's machine.
build() {  # DIR MESON-ARGS...
  local dir=$1
  shift
  rm -rf "$dir"
  mkdir -m 0700 "$dir" && meson setup "$dir" --werror "$@" && ninja -C "$dir"
}

# ------------------------------------------------------------------ 0. root
if [ "$(id -u)" != 0 ]; then
  echo "run-all: the tests jail programs and create cgroups: run as root (sudo $0)" >&2
  exit 1
fi

# ------------------------------------------------------------------ 1. dependencies
if [ "${JAILER_SKIP_DEPS:-0}" = 1 ]; then
  skip_step deps "JAILER_SKIP_DEPS=1"
elif ! TIER_SWEEP=0 step deps 0 scripts/install-deps.sh; then
  echo "run-all: cannot install the dependencies; stopping" >&2
  exit 1
fi

# ------------------------------------------------------------------ 2-4. build and test
if step build 0 build build-ci; then
  step "unit tests" 1 unit_suite build-ci
  step "system tests" 1 system_suite build-ci
  BUILT=1
else
  BUILT=0
  skip_step "unit tests" "the build failed"
  skip_step "system tests" "the build failed"
fi

# ------------------------------------------------------------------ 5. sanitizers
if [ "${JAILER_SKIP_ASAN:-0}" = 1 ]; then
  skip_step "asan+ubsan" "JAILER_SKIP_ASAN=1"
elif step "asan+ubsan build" 0 build build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
  step "asan+ubsan unit" 1 unit_suite build-asan
  step "asan+ubsan system" 1 system_suite build-asan
else
  skip_step "asan+ubsan tests" "the sanitizer build failed"
fi

# ------------------------------------------------------------------ 5b. fuzzing
# The config, request and seccomp-profile parsers under libFuzzer with
# ASan+UBSan, a bounded time each (tests/fuzz/run.sh says how to run longer).
if [ "${JAILER_SKIP_FUZZ:-0}" = 1 ]; then
  skip_step "fuzz" "JAILER_SKIP_FUZZ=1"
else
  rm -rf build-fuzz
  step "fuzz" 1 env FUZZ_BUILD=build-fuzz tests/fuzz/run.sh "${JAILER_FUZZ_SECONDS:-60}"
fi

# ------------------------------------------------------------------ 5b'. mutants, a sample
# Known one-line security bugs applied one at a time to a copy of the tree:
# the tests named for each must catch it.  A rotating sample (seeded by the
# commit) fits CI's time; `sudo tests/mutants/run.py --all` runs them all.
if [ "${JAILER_SKIP_MUTANTS:-0}" = 1 ]; then
  skip_step "mutants (sample)" "JAILER_SKIP_MUTANTS=1"
else
  seed=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || date +%F)
  step "mutants (sample)" 1 /usr/bin/python3 tests/mutants/run.py --sample "${JAILER_MUTANTS_SAMPLE:-8}" --seed "$seed"
fi

# ------------------------------------------------------------------ 5c. benchmarks, quick
# Keeps the harness working; asserts no timing (docs/benchmarks.md has the
# figures of a full run).
if [ "${JAILER_SKIP_BENCH:-0}" = 1 ]; then
  skip_step "bench --quick" "JAILER_SKIP_BENCH=1"
elif [ "$BUILT" = 1 ]; then
  step "bench --quick" 0 /usr/bin/python3 bench/run.py --quick --build build-ci
else
  skip_step "bench --quick" "the build failed"
fi

# ------------------------------------------------------------------ 6. cgroup v2 in a VM
if [ "${JAILER_SKIP_VM:-0}" = 1 ]; then
  skip_step "cgroup v2 (VM)" "JAILER_SKIP_VM=1"
elif [ "$BUILT" = 1 ]; then
  step "cgroup v2 (VM)" 1 tests/vm/cgroup-v2-tier.sh build-ci
else
  skip_step "cgroup v2 (VM)" "the build failed"
fi

# ------------------------------------------------------------------ 6b. Linux 5.10 in a VM
# Debian 11's kernel (fetched through a private apt configuration under the
# VM cache): isolation, enforcement, clean-up, the escape suite, the
# fallbacks and the daemon, on the kernel most microVM hosts run.
if [ "${JAILER_SKIP_VM:-0}" = 1 ]; then
  skip_step "kernel 5.10 (VM)" "JAILER_SKIP_VM=1"
elif [ "$BUILT" = 1 ]; then
  step "kernel 5.10 (VM)" 1 env JAILER_VM_KERNEL_SUITE=bullseye tests/vm/cgroup-v2-tier.sh build-ci
else
  skip_step "kernel 5.10 (VM)" "the build failed"
fi

# ------------------------------------------------------------------ 7. systemd in a VM
if [ -x tests/vm/systemd-tier.sh ]; then
  if [ "${JAILER_SKIP_VM:-0}" = 1 ]; then
    skip_step "systemd (VM)" "JAILER_SKIP_VM=1"
  elif [ "$BUILT" = 1 ]; then
    step "systemd (VM)" 1 tests/vm/systemd-tier.sh build-ci
  else
    skip_step "systemd (VM)" "the build failed"
  fi
fi

# ------------------------------------------------------------------ 8. the .deb in a VM
# The Debian packages built from the tree, installed on Debian 12 with
# systemd as PID 1: socket enabled, group made, a member's run, an upgrade
# with a jail running, a purge.
if [ "${JAILER_SKIP_VM:-0}" = 1 ]; then
  skip_step "package (VM)" "JAILER_SKIP_VM=1"
elif [ "$BUILT" = 1 ]; then
  step "package (VM)" 1 tests/vm/systemd-tier.sh --package build-ci
else
  skip_step "package (VM)" "the build failed"
fi

# ------------------------------------------------------------------ summary
T_END=$(date +%s)
banner "summary ($((T_END - T_START)) s; logs in build-logs/)"
printf '%s\n' "${STEPS[@]}"
echo
echo "run-all: $TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
[ "$TOTAL_FAILED" = 0 ]

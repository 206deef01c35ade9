#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cgroup-v2-tier.sh — the cgroup v2 backend, tested for real in a QEMU guest
# whose only cgroup hierarchy is cgroup2 (tests/vm/run-in-vm.sh).
#
#   tests/vm/cgroup-v2-tier.sh [BUILD_DIR]      (as root, from anywhere)
#
# In the guest: the cgroup unit test binary (BUILD_DIR/tests/unit-cgroup/
# test-cgroup), then the isolation and enforcement system tests and a
# clean-up subset, every jail forced to --cgroup-version v2.
#
# With JAILER_VM_KERNEL_SUITE=bullseye the guest boots Debian 11's kernel
# (Linux 5.10: no mount_setattr, cgroup.kill, memory.peak) and the escape
# suite, the fallback tests and the daemon's end-to-end tests run there too:
# the hosts fleets run today, proven whole (tests/run-all.sh: "kernel 5.10
# (VM)").
#
# Exit status: 0 all passed; 1 something failed; 77 the tier cannot run on
# this machine (the reason is printed); 125 the VM failed.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

if [ "${1:-}" != --guest ]; then
  BUILD=${1:-${JAILER_BUILD:-build}}
  case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
  for f in client/jailer tests/probe/probe; do
    [ -x "$BUILD/$f" ] || { echo "cgroup-v2-tier: $BUILD/$f is not built" >&2; exit 1; }
  done
  cd "$REPO" || exit 1
  # Guest processes are slow under emulation: generous limits.
  limit=${JAILER_VM_TIMEOUT:-1500}
  [ -n "${JAILER_VM_KERNEL_SUITE:-}" ] && limit=${JAILER_VM_TIMEOUT:-2300}
  exec "$HERE/run-in-vm.sh" --timeout "$limit" --mem 2048 --cpus 2 -- \
    "$HERE/cgroup-v2-tier.sh" --guest "$BUILD"
fi

# ------------------------------------------------------------------ in the guest
BUILD=$2
failed=0
passed=0
skipped=0
note() { echo "cgroup-v2-tier: $*"; }

CG=/sys/fs/cgroup
if [ "$(stat -f -c %T $CG)" != cgroup2fs ]; then
  note "FAIL: $CG is not cgroup2 in the guest"; exit 1
fi
note "guest $(uname -r), cgroup2 controllers for children: $(cat $CG/cgroup.subtree_control)"
for c in cpu memory pids; do
  grep -qw $c $CG/cgroup.subtree_control || { note "FAIL: no $c controller"; exit 1; }
done
# Nothing of cgroup v1 may be visible: the backend must pick v2 on its own too.
if grep -q ' - cgroup ' /proc/self/mountinfo; then
  note "FAIL: a cgroup v1 hierarchy is mounted in the guest"; exit 1
fi
JAILER_VERSION_LINE=$("$BUILD/client/jailer" --version 2>&1)
note "$JAILER_VERSION_LINE"
case $JAILER_VERSION_LINE in
  *"cgroup v2"*) passed=$((passed + 1)); note "PASS: auto-detection picks v2" ;;
  *) failed=$((failed + 1)); note "FAIL: auto-detection does not pick v2" ;;
esac

# 1. the cgroup backends' own test binary
UNIT=$BUILD/tests/unit-cgroup/test-cgroup
if [ -x "$UNIT" ]; then
  note "running $UNIT"
  unit_log=$(mktemp)
  timeout 600 "$UNIT" | tee "$unit_log"
  rc=${PIPESTATUS[0]}
  # TAP: a skipped binary says "1..0 # SKIP reason" and exits 0.
  if [ "$rc" = 0 ] && grep -q '^1\.\.0 # SKIP' "$unit_log"; then
    rc=77
  fi
  rm -f "$unit_log"
  case $rc in
    0) passed=$((passed + 1)); note "PASS: unit-cgroup" ;;
    77) skipped=$((skipped + 1)); note "SKIP: unit-cgroup skipped itself" ;;
    *) failed=$((failed + 1)); note "FAIL: unit-cgroup exited with $rc" ;;
  esac
else
  failed=$((failed + 1))
  note "FAIL: $UNIT is not built"
fi

# 2. the system tests, every jail on cgroup v2
note "running the system tests with --cgroup-version v2"
JAILER_BUILD=$BUILD JAILER_TEST_CGROUP_VERSION=v2 JAILER_TEST_TIMEOUT=180 \
  timeout 1200 /usr/bin/pytest-3 -p no:cacheprovider --color=no -q -rfEs \
  tests/test_isolation.py tests/test_enforcement.py tests/test_pinning.py tests/test_io_limits.py \
  tests/test_disturbance.py \
  "tests/test_cleanup.py::test_nothing_left_behind" \
  -k "not test_nothing_left_behind or absent"
rc=$?
if [ -n "${JAILER_VM_KERNEL_SUITE:-}" ] && [ $rc = 0 ]; then
  note "running the escape suite, the fallbacks and the daemon's tests on $(uname -r)"
  JAILER_BUILD=$BUILD JAILER_TEST_CGROUP_VERSION=v2 JAILER_TEST_TIMEOUT=180 \
    timeout 1800 /usr/bin/pytest-3 -p no:cacheprovider --color=no -q -rfEs \
    tests/test_escape.py tests/test_fallbacks.py tests/test_daemon_e2e.py tests/test_daemon_prepared.py
  rc=$?
fi
if [ $rc = 0 ]; then
  passed=$((passed + 1)); note "PASS: system tests"
else
  failed=$((failed + 1)); note "FAIL: system tests (pytest exit $rc)"
fi

# 3. nothing of ours is left in the guest's hierarchy
left=$(find $CG -mindepth 1 -maxdepth 1 -type d -name 'jailer*' 2>/dev/null)
if [ -n "$left" ]; then
  failed=$((failed + 1)); note "FAIL: cgroups left behind: $left"
else
  passed=$((passed + 1)); note "PASS: no cgroup left behind"
fi

echo "cgroup-v2-tier: $passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cgroup-v2-tier.sh — the cgroup v2 backend, tested for real in a QEMU guest
# whose only cgroup hierarchy is cgroup2 (tests/vm/run-in-vm.sh).
#
#   tests/vm/cgroup-v2-tier.sh [BUILD_DIR]      (as root, from anywhere)
#
# In the guest: the cgroup unit test binary (BUILD_DIR/tests/unit-cgroup/
# test-cgroup), then the isolation, enforcement, pinning, I/O and
# disturbance system tests and a clean-up subset, every jail forced to
# --cgroup-version v2; then the escape suite, the fallback tests and the
# daemon's end-to-end, prepared-jail and live-figure tests.
#
# With JAILER_VM_KERNEL_SUITE=bullseye the guest boots Debian 11's kernel
# (Linux 5.10: no mount_setattr, cgroup.kill, memory.peak), and a QEMU in a
# jail boots the guest's own kernel there too (the core of
# tests/test_vmm.py): the hosts fleets run today, proven whole
# (tests/run-all.sh: "kernel 5.10 (VM)").
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
  [ -n "${JAILER_VM_KERNEL_SUITE:-}" ] && limit=${JAILER_VM_TIMEOUT:-2900}
  exec "$HERE/run-in-vm.sh" --timeout "$limit" --mem 2048 --cpus 2 -- \
    "$HERE/cgroup-v2-tier.sh" --guest "$BUILD"
fi

# ------------------------------------------------------------------ in the guest
BUILD=$2
# The nested QEMU boots in 75 to 120 s on a 2-core host (TCG inside TCG is
# some 30 times slower than TCG): each wait for it may take 420 s; all the
# VMM tests, about 12 minutes there, twice that.
VMM_TIMEOUT=420
VMM_BUDGET=1500
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

# The core of tests/test_vmm.py, for both front ends (jailer, jailerctl run):
VMM_TESTS=(
  "test_boot_marker"                       # the guest boots in the jail, the report is right
  "test_qmp_roundtrip_from_host"           # QMP through the socket in the jail root, quit ends the jail
  "test_kill_running_vm_cleans_up"         # stopping a running VM leaves nothing behind
  "test_overrun_is_stopped_and_leaves_nothing"  # a VM stopped while it starts leaves nothing either
  "test_oom_with_too_small_memory_limit"   # QEMU OOM-killed, the report says so (no boot: seconds)
  "test_kill_during_startup_ends_the_jail" # jailerd's SIGKILL after its grace (no boot: seconds)
  "test_example_config_validates"          # every example config is accepted (no boot)
)
# Left out, each a nested boot more (about 2 minutes) for what is proven
# here already or does not depend on the kernel:
VMM_LEFT_OUT="test_running_qemu_seen_from_host (a jailed process's caps, no_new_privs, seccomp, uid:
  test_isolation.py, test_escape.py), the two network tests (no virtio-net modules for this guest
  kernel at hand), test_console_of_a_jail_without_stdio_is_kept (jailerd's console capture)"
vmm_tests() {
  local kdir=${JAILER_VM_KERNEL_DIR:-} guest=/tmp/vmm-guest sel t rc
  if [ ! -r "$kdir/vmlinuz" ]; then
    failed=$((failed + 1)); note "FAIL: VMM: the guest's kernel (JAILER_VM_KERNEL_DIR=$kdir) is not readable here"
    return
  fi
  sel=$(printf ' or %s' "${VMM_TESTS[@]}"); sel=${sel# or }
  note "the VMM in a jail on $(uname -r): QEMU (TCG in TCG) boots $(basename "$kdir") with JAILER_VMM_TIMEOUT=$VMM_TIMEOUT s"
  note "VMM tests selected (-k): $sel"
  note "VMM tests left out: $VMM_LEFT_OUT"
  t=$SECONDS
  JAILER_VMM_KERNEL=$kdir/vmlinuz tests/vmm/make-initramfs.sh "$guest" > /dev/null || {
    failed=$((failed + 1)); note "FAIL: VMM: cannot prepare the guest in $guest"; return; }
  note "VMM guest prepared in $((SECONDS - t)) s"
  JAILER_BUILD=$BUILD JAILER_TEST_CGROUP_VERSION=v2 JAILER_VMM_KERNEL=$kdir/vmlinuz JAILER_VMM_GUEST=$guest \
    JAILER_VMM_TIMEOUT=$VMM_TIMEOUT \
    timeout -k 30 "$VMM_BUDGET" /usr/bin/pytest-3 -p no:cacheprovider --color=no -q -rfEs --durations=12 \
    tests/test_vmm.py -k "$sel"
  rc=$?
  case $rc in
    0) passed=$((passed + 1)); note "PASS: VMM tests" ;;
    *) failed=$((failed + 1)); note "FAIL: VMM tests (pytest exit $rc)" ;;
  esac
}

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
if [ $rc = 0 ]; then
  # On every guest kernel: what a jail can reach (the escape suite), the
  # fallbacks this kernel needs, and jailerd's life cycle with its live
  # figures (per-cgroup pressure exists only on v2).
  note "running the escape suite, the fallbacks and the daemon's tests on $(uname -r)"
  JAILER_BUILD=$BUILD JAILER_TEST_CGROUP_VERSION=v2 JAILER_TEST_TIMEOUT=180 \
    timeout 1800 /usr/bin/pytest-3 -p no:cacheprovider --color=no -q -rfEs \
    tests/test_escape.py tests/test_fallbacks.py tests/test_daemon_e2e.py tests/test_daemon_prepared.py \
    tests/test_daemon_stats.py
  rc=$?
fi
if [ $rc = 0 ]; then
  passed=$((passed + 1)); note "PASS: system tests"
else
  failed=$((failed + 1)); note "FAIL: system tests (pytest exit $rc)"
fi

# 3. (5.10) a real VMM in a jail: QEMU inside this guest, itself emulated,
# boots the kernel the guest runs on (TCG inside TCG, the slowest boot
# there is).  Only the core of tests/test_vmm.py, each boot being minutes.
if [ -n "${JAILER_VM_KERNEL_SUITE:-}" ]; then
  vmm_tests
fi

# 4. nothing of ours is left in the guest's hierarchy
left=$(find $CG -mindepth 1 -maxdepth 1 -type d -name 'jailer*' 2>/dev/null)
if [ -n "$left" ]; then
  failed=$((failed + 1)); note "FAIL: cgroups left behind: $left"
else
  passed=$((passed + 1)); note "PASS: no cgroup left behind"
fi

echo "cgroup-v2-tier: $passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]

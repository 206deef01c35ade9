#!/bin/bash
# SPDX-License-Identifier: MIT
#
# vm-bench.sh — the same side-by-side comparison as bench/run.py, on a pure
# cgroup v2 host: inside a throw-away QEMU guest (tests/vm/run-in-vm.sh),
# where jails are born in their cgroup (clone3 CLONE_INTO_CGROUP) instead of
# being attached by pid as on this project's cgroup-v1 test host.
#
#   sudo bench/vm-bench.sh [OUT_DIR] [-- RUN.PY OPTIONS...]
#
# Writes OUT_DIR/benchmarks.md (default: a new directory under /tmp, named
# on stdout) with the latency and throughput tables and the targets.  The
# guest is emulated (TCG) when KVM cannot run it: every figure is then many
# times the native one, and only ratios between contenders measured in the
# same run mean anything — and even they are distorted, since an emulated
# system call costs more relative to an emulated instruction than a native
# one does (docs/benchmarks.md compares them with the host's).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

if [ "${1:-}" != --guest ]; then
  [ "$(id -u)" = 0 ] || { echo "vm-bench: needs root" >&2; exit 77; }
  OUT=
  if [ $# -gt 0 ] && [ "$1" != -- ]; then
    OUT=$1
    shift
  fi
  [ "${1:-}" = -- ] && shift
  [ -n "$OUT" ] || OUT=$(mktemp -d /tmp/jailer-vm-bench.XXXXXX) || exit 1
  mkdir -p "$OUT" && chmod 755 "$OUT" || exit 1
  OUT=$(cd "$OUT" && pwd)
  echo "vm-bench: results go to $OUT"
  "$REPO/tests/vm/run-in-vm.sh" --timeout 1800 --cpus 2 --mem 2048 --rw "$OUT" -- \
    "$HERE/vm-bench.sh" --guest "$OUT" "$@"
  exit $?
fi

# ------------------------------------------------------------------ in the guest
OUT=$2
shift 2
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "vm-bench: no cgroup2 in the guest"; exit 1; }
echo "vm-bench: kernel $(uname -r), $(nproc) cpus, $(grep -c '' /proc/cpuinfo >/dev/null && grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
exec /usr/bin/python3 "$REPO/bench/run.py" --quick --no-profile --only latency,throughput \
  --out "$OUT" --json "$OUT/results.json" "$@"

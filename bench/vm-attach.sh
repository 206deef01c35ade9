#!/bin/bash
# SPDX-License-Identifier: MIT
#
# vm-attach.sh — what entering a cgroup costs when jails are asked for one at
# a time, on a pure cgroup v2 host: born in it (clone3 CLONE_INTO_CGROUP, as
# the jail core does on v2) against attached by pid (a write to cgroup.procs,
# as v1 forces), each with and without the favordynmods mount option.
#
#   sudo bench/vm-attach.sh          (runs in a throw-away QEMU guest through
#                                     tests/vm/run-in-vm.sh; ~1 min)
#
# Prints, per variant, the floor's step "child released" (from clone3 to the
# child running in its cgroup) for jails 300 ms apart, in microseconds.  The
# guest is emulated (TCG) when KVM is not usable: every figure is inflated,
# compare the variants with each other only.  The user namespace is left out
# (the guest's root is not a mount namespace root, so the kernel refuses one
# there); it plays no part in the cgroup step.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

if [ "${1:-}" != --guest ]; then
  [ "$(id -u)" = 0 ] || { echo "vm-attach: needs root" >&2; exit 77; }
  # In the tree (ignored, removed at exit): the guest mounts its own /tmp.
  BIN=$(mktemp -d "$REPO/build-bench-vm.XXXXXX") || exit 1
  trap 'rm -rf "$BIN"' EXIT
  chmod 755 "$BIN"
  cc -O2 -Wall -Wextra -Werror -static -o "$BIN/stamp" "$HERE/stamp.c" &&
    cc -O2 -Wall -Wextra -Werror -o "$BIN/floor" "$HERE/floor.c" || exit 1
  "$REPO/tests/vm/run-in-vm.sh" --timeout 900 --cpus 2 -- "$HERE/vm-attach.sh" --guest "$BIN"
  exit $?
fi

# ------------------------------------------------------------------ in the guest
BIN=$2
ROOT=/tmp/vm-attach-root
mkdir -p $ROOT/bin $ROOT/proc $ROOT/dev && cp "$BIN/stamp" $ROOT/bin/ || exit 1
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "vm-attach: no cgroup2 in the guest"; exit 1; }

variant() {
  local name=$1; shift
  "$BIN/floor" --root $ROOT --reps 15 --gap 300 --skip user "$@" -- /bin/stamp |
    awk '{ print $4 - $3 }' | sort -n |
    awk -v name="$name" '{ x[NR] = $1 }
      END { printf "%-36s p50 %7.0f  p90 %7.0f  (%d jails)\n", name, x[int((NR + 1) / 2)], x[int(NR * 0.9)], NR }'
}

echo "cgroup2 mount: $(grep ' /sys/fs/cgroup ' /proc/mounts)"
variant "CLONE_INTO_CGROUP"
variant "attach by pid (cgroup.procs)" --no-clone-into
mount -o remount,favordynmods /sys/fs/cgroup || { echo "vm-attach: this kernel has no favordynmods"; exit 0; }
variant "attach by pid, favordynmods" --no-clone-into
variant "CLONE_INTO_CGROUP, favordynmods"

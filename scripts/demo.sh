#!/bin/bash
# SPDX-License-Identifier: MIT
#
# demo.sh — a real VMM in a jail, from a fresh Debian 12 machine, as root:
#
#   sudo scripts/demo.sh
#
#   1. installs what it needs (apt-get: build tools and libraries, QEMU,
#      busybox-static; Debian's kernel is fetched with `apt-get download`,
#      not installed)
#   2. builds jailer, jailerd and jailerctl (meson + ninja, in ./build)
#   3. prepares the guest: Debian's kernel and a busybox initramfs whose
#      /init prints "JAILER-GUEST-MARKER ok ..." and powers off
#   4. starts jailerd on a private socket
#   5. boots the VM with `jailerctl run --config` (examples/qemu.json with
#      this machine's paths): QEMU as an unprivileged uid with no
#      capabilities, in its own namespaces, cgroup (1 CPU, 512 MiB),
#      seccomp filter and pivot_root'd jail; its serial console is this
#      terminal
#   6. shows the guest's marker line and the exit report (wall time, CPU,
#      memory peak)
#   7. stops jailerd (by pid) and removes everything it created (jail root,
#      daemon state, cgroups); the build and the guest stay in ./build
#
# Environment: JAILER_BUILD (build directory, default "build"),
# JAILER_VMM_ACCEL=auto|kvm|tcg (default auto: KVM when it boots the guest
# here, else TCG), JAILER_SKIP_DEPS=1 (do not run apt-get).
# Exit status: 0 when the guest booted and the jail exited 0.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD=${JAILER_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: sudo $0"

# ------------------------------------------------------------------ 1. packages
PACKAGES=(
  build-essential meson ninja-build pkg-config
  libcap-dev libjson-c-dev libseccomp-dev libsystemd-dev
  qemu-system-x86 qemu-system-data busybox-static cpio xz-utils python3
)
if [ "${JAILER_SKIP_DEPS:-0}" != 1 ]; then
  step "1. packages"
  missing=()
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
  done
  # The kernel is fetched with `apt-get download`, which needs package lists.
  policy=$(apt-cache policy linux-image-amd64 2>/dev/null || true)
  if [ ${#missing[@]} -gt 0 ] || ! grep -q 'Candidate: [0-9]' <<< "$policy"; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "all ${#PACKAGES[@]} packages are installed"
  fi
fi

# ------------------------------------------------------------------ 2. build
step "2. build ($BUILD)"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" | tail -1
JAILERD=$BUILD/daemon/jailerd
JAILERCTL=$BUILD/client/jailerctl
SUPERVISOR=$BUILD/daemon/jailer-supervisor
for f in "$JAILERD" "$JAILERCTL" "$SUPERVISOR"; do
  [ -x "$f" ] || die "$f was not built"
done

# ------------------------------------------------------------------ 3. guest
step "3. guest: Debian's kernel + busybox initramfs"
GUEST=$(tests/vmm/make-initramfs.sh "$BUILD/vmm-guest")
echo "kernel $(cat "$GUEST/kernel.version"), in $GUEST"
ACCEL=$(tests/vmm/accel.sh "$GUEST")
echo "accelerator: $ACCEL"

# ------------------------------------------------------------------ 4. jailerd
# Everything this run creates lives in $WORK (and the cgroup parent), and
# goes away on exit, whatever happens.
WORK=$(mktemp -d /tmp/jailer-demo.XXXXXX)
CGROUP_PARENT=jailer-demo-$$
JAILERD_PID=
cleanup() {
  local rc=$?
  if [ -n "$JAILERD_PID" ] && kill -0 "$JAILERD_PID" 2>/dev/null; then
    kill -TERM "$JAILERD_PID"
    wait "$JAILERD_PID" 2>/dev/null || true
  fi
  for h in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT"; do
    [ -d "$h" ] && rmdir "$h" 2>/dev/null
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "4. jailerd on a private socket"
SOCK=$WORK/jailerd.sock
"$JAILERD" --socket "$SOCK" --state-dir "$WORK/state" --jails-dir "$WORK/jails" \
  --cgroup-parent "$CGROUP_PARENT" --supervisor "$SUPERVISOR" --stop-jails-on-exit \
  </dev/null >"$WORK/jailerd.log" 2>&1 &
JAILERD_PID=$!
for _ in $(seq 100); do
  [ -S "$SOCK" ] && break
  kill -0 "$JAILERD_PID" 2>/dev/null || { cat "$WORK/jailerd.log" >&2; die "jailerd did not start"; }
  sleep 0.1
done
[ -S "$SOCK" ] || die "jailerd did not create $SOCK"
echo "jailerd pid $JAILERD_PID, socket $SOCK"
"$JAILERCTL" --socket "$SOCK" version

# ------------------------------------------------------------------ 5. the jailed VM
step "5. boot the jailed VM: jailerctl run --config examples/qemu.json (adapted)"
ROOT=$WORK/root
UID_GID=$(/usr/bin/python3 -c 'import json; c = json.load(open("examples/qemu.json")); print(c["uid"], c["gid"])')
read -r JUID JGID <<< "$UID_GID"
# The jail root, and in it run/: the one directory the jailed QEMU may
# write to, where it creates its QMP socket (examples/README.md).
install -d -m 0755 "$ROOT"
install -d -m 0700 -o "$JUID" -g "$JGID" "$ROOT/run"
/usr/bin/python3 tests/vmm/vmm.py config --guest "$GUEST" --jail-root "$ROOT" --accel "$ACCEL" \
  --id demo-vm > "$WORK/qemu.json"
echo "QEMU as uid $JUID in jail root $ROOT; guest $GUEST bound read-only at /guest"
echo "--- guest serial console ---"
set +e
"$JAILERCTL" --socket "$SOCK" run --config "$WORK/qemu.json" --report "$WORK/report.json" \
  </dev/null 2>"$WORK/jailerctl.err" | tee "$WORK/console.log"
status=${PIPESTATUS[0]}
set -e
echo "--- end of console ---"

# ------------------------------------------------------------------ 6. results
step "6. result"
marker=$(grep -m1 '^JAILER-GUEST-MARKER ok' "$WORK/console.log" || true)
if [ -n "$marker" ]; then
  echo "guest marker: $marker"
else
  echo "guest marker: NOT SEEN"
fi
cat "$WORK/jailerctl.err"
if [ -s "$WORK/report.json" ]; then
  echo "exit report:"
  /usr/bin/python3 - "$WORK/report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps(r, indent=2))
print(f"wall time {r['wall_time_us'] / 1e6:.2f} s, CPU {r['cpu_usage_us'] / 1e6:.2f} s, "
      f"memory peak {r['memory_peak_bytes'] / 2**20:.1f} MiB, exit code {r['exit_code']}, "
      f"signal {r['signal']}, OOM killed {r['oom_killed']}")
EOF
fi

# ------------------------------------------------------------------ 7. clean-up
step "7. stop jailerd, remove what the demo created"
kill -TERM "$JAILERD_PID"
wait "$JAILERD_PID" 2>/dev/null || true
JAILERD_PID=
echo "jailerd stopped; removing $WORK and cgroup parent $CGROUP_PARENT"

[ -n "$marker" ] && [ "$status" = 0 ] || die "the jailed VM did not boot (jailerctl status $status)"
echo "demo: OK"

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-in-vm.sh — run one command as root inside a throw-away QEMU guest whose
# only cgroup hierarchy is cgroup2 with cpu, memory and pids enabled.  This is
# how the cgroup-v2 backend is tested on hosts whose own cgroups are v1 or
# hybrid (and it works the same on a pure-v2 host).
#
#   tests/vm/run-in-vm.sh [OPTIONS] [--] COMMAND [ARGS...]
#
#   --timeout SEC   host-side limit for the whole VM run (default 1200)
#   --mem MIB       guest memory (default 2048)
#   --cpus N        guest vCPUs (default 2)
#   --rw DIR        share host DIR read-write at the same path (repeatable);
#                   everything else of the host is read-only in the guest
#   --env NAME      pass host variable NAME into the guest (repeatable);
#                   PATH, HOME, LANG, TERM, CI and JAILER_* always are
#   --verbose       show the guest kernel's console on stderr
#
# The guest runs Debian's own kernel (linux-image-amd64, fetched once with
# `apt-get download` into the cache directory).  Its root file system is the
# host's /, shared read-only over virtio-9p, under a tmpfs overlay so the
# guest can write anywhere (writes are thrown away).  So the host's build tree,
# binaries and libraries are used as they are, at the same paths.  COMMAND
# runs in the same working directory, stdin /dev/null, its stdout+stderr on
# this script's stdout, from a leaf cgroup ("/vm-runner"); the root cgroup has
# +cpu +memory +pids (+io +cpuset when offered) in cgroup.subtree_control.
#
# Exit status: COMMAND's; 77 when the VM cannot run on this machine (missing
# tool, no kernel package reachable: the reason is printed); 125 when the VM
# itself failed (boot failure, timeout: the guest console is printed).
#
# Environment: JAILER_VM_CACHE (cache directory, default tests/.vm),
# JAILER_VM_KERNEL_SUITE (a Debian release whose kernel the guest boots,
# e.g. bullseye for Linux 5.10; default: the host's release),
# JAILER_VM_ACCEL (auto|kvm|tcg; auto = KVM when /dev/kvm works, else TCG),
# JAILER_VM_KVM_GRACE (seconds a KVM boot may take to show a sign of life
# before TCG is used instead; 20).  For the harness's own tests only:
# JAILER_VM_TEST_KVM_USABLE=1 treats /dev/kvm as usable without asking it.
# In the guest, JAILER_VM_KERNEL_DIR names the cache directory of the kernel
# it booted (vmlinuz, and vmlinux when it could be extracted), readable at the
# same path: a VMM inside the guest can boot the same kernel.
set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/lib/bounded.sh
. "$REPO/tests/lib/bounded.sh"
CACHE=${JAILER_VM_CACHE:-$REPO/tests/.vm}
ACCEL=${JAILER_VM_ACCEL:-auto}
TIMEOUT=1200
MEM=2048
CPUS=2
VERBOSE=0
RW_DIRS=()
PASS_ENV=(PATH HOME LANG LC_ALL TERM CI)

say() { echo "run-in-vm: $*" >&2; }
cannot_run() { say "cannot run the VM here: $*"; exit 77; }
vm_failed() { say "VM failure: $*"; exit 125; }

while [ $# -gt 0 ]; do
  case $1 in
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    --rw) d=$(realpath -e "$2") || exit 2; RW_DIRS+=("$d"); shift 2 ;;
    --env) PASS_ENV+=("$2"); shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    --) shift; break ;;
    -*) echo "usage: $0 [--timeout SEC] [--mem MIB] [--cpus N] [--rw DIR]... [--env NAME]... [--verbose] [--] COMMAND [ARGS...]" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [OPTIONS] [--] COMMAND [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || cannot_run "needs root (9p passthrough of the host's root file system)"

# ------------------------------------------------------------------ tools
for tool in qemu-system-x86_64 busybox cpio gzip depmod dpkg-deb apt-get timeout; do
  command -v "$tool" >/dev/null 2>&1 ||
    cannot_run "'$tool' is missing (apt-get install qemu-system-x86 busybox-static cpio kmod)"
done
BUSYBOX=$(command -v busybox)
if ! LC_ALL=C file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
  # `file` may be absent; then trust ldd.
  if ldd "$BUSYBOX" >/dev/null 2>&1; then
    cannot_run "$BUSYBOX is dynamically linked (apt-get install busybox-static)"
  fi
fi

# ------------------------------------------------------------------ kernel + initramfs (cached)
# The modules the guest needs, whatever is built in: the 9p root, the
# overlay on top of it, tun so that /dev/net/tun exists in the guest, loop
# for the I/O limit tests' block devices, and ext4 for a file system on one
# (the memory-pressure test needs page cache that can be written back), with
# the crc32c ext4 asks the crypto API for at every mount.
GUEST_MODULES="virtio_pci 9pnet_virtio 9p overlay tun loop ext4 crc32c_generic"

# JAILER_VM_KERNEL_SUITE=bullseye (say): the guest boots that Debian
# release's kernel instead of the host's (bullseye: Linux 5.10), fetched from
# the same archive through a private sources list and apt state under the
# cache directory: the host's apt configuration is never touched.
SUITE=${JAILER_VM_KERNEL_SUITE:-}
APT_OPTS=()
private_apt() {
  local dir=$CACHE/apt-$SUITE uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  uri=${uri:-http://deb.debian.org/debian}
  mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/etc" || return 1
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $SUITE main" > "$dir/etc/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$dir/etc/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
            -o "Dir::State=$dir" -o "Dir::State::Lists=$dir/lists" -o "Dir::State::status=/var/lib/dpkg/status"
            -o "Dir::Cache=$dir" -o "Dir::Cache::Archives=$dir/archives" -o "Debug::NoLocking=1"
            -o "APT::Get::List-Cleanup=0")
  if [ ! -s "$dir/updated" ]; then
    apt-get "${APT_OPTS[@]}" update > "$dir/update.log" 2>&1 || return 1
    date > "$dir/updated"
  fi
}

kernel_package() {
  apt-cache "${APT_OPTS[@]}" depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

build_initramfs() {  # $1 = extracted package root, $2 = kernel version, $3 = output dir
  local kroot=$1 kver=$2 out=$3 tmp
  tmp=$(mktemp -d "$CACHE/initramfs.XXXXXX") || return 1
  mkdir -p "$tmp"/{bin,dev,proc,sys,lower,upper,newroot,ctl,modules}
  cp "$BUSYBOX" "$tmp/bin/busybox"
  depmod -b "$kroot" "$kver" || return 1
  local dep="$kroot/lib/modules/$kver/modules.dep" builtin="$kroot/lib/modules/$kver/modules.builtin"
  # Dependency closure, dependencies first.
  local order
  order=$(awk -v want="$GUEST_MODULES" '
    function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p); return p }
    FNR == 1 { file++ }
    file == 1 { split($0, a, ":"); m = base(a[1]); path[m] = a[1]; deps[m] = a[2]; next }
    function visit(m,   d, n, i) {
      if (m in done) return; done[m] = 1
      n = split(deps[m], d, " ")
      for (i = 1; i <= n; i++) visit(base(d[i]))
      print path[m]
    }
    END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (w[i] in path) visit(w[i]) }
  ' "$dep") || return 1
  local m name
  : > "$tmp/modules/order"
  for m in $order; do
    name=$(basename "$m"); name=${name%%.ko*}.ko
    case $m in
      *.ko.xz)  xz -dc "$kroot/lib/modules/$kver/$m" > "$tmp/modules/$name" ;;
      *.ko.zst) zstd -qdc "$kroot/lib/modules/$kver/$m" > "$tmp/modules/$name" ;;
      *.ko.gz)  gzip -dc "$kroot/lib/modules/$kver/$m" > "$tmp/modules/$name" ;;
      *)        cp "$kroot/lib/modules/$kver/$m" "$tmp/modules/$name" ;;
    esac || return 1
    echo "$name" >> "$tmp/modules/order"
  done
  for m in $GUEST_MODULES; do
    grep -q "/${m//_/[-_]}\.ko" "$builtin" 2>/dev/null && continue
    grep -q "^$m\.ko\$" "$tmp/modules/order" || { say "module $m not found in $kver"; return 1; }
  done
  cp "$HERE/guest-init.sh" "$tmp/init" && chmod 755 "$tmp/init"
  (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.img.tmp" || return 1
  mv "$out/initramfs.img.tmp" "$out/initramfs.img"
  rm -rf "$tmp"
}

# The uncompressed ELF kernel boots through its PVH entry point: under TCG
# this saves the seconds the compressed image spends unpacking itself.  The
# payload's place is in the bzImage header (boot protocol >= 2.08).
extract_vmlinux() {  # $1 = bzImage, $2 = output
  local info off len magic
  info=$(/usr/bin/python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read(0x300)
setup = (b[0x1f1] or 4) + 1
off, length = struct.unpack_from("<II", b, 0x248)
print(setup * 512 + off, length)' "$1") || return 1
  read -r off len <<< "$info"
  magic=$(tail -c +$((off + 1)) "$1" | head -c 6 | od -An -tx1 | tr -d ' \n')
  case $magic in
    fd377a585a00) tail -c +$((off + 1)) "$1" | head -c "$len" | xz -dc --single-stream > "$2.tmp" 2>/dev/null ;;
    1f8b*)        tail -c +$((off + 1)) "$1" | head -c "$len" | gzip -dc > "$2.tmp" 2>/dev/null ;;
    28b52ffd*)    tail -c +$((off + 1)) "$1" | head -c "$len" | zstd -qdc > "$2.tmp" 2>/dev/null ;;
    *) return 1 ;;
  esac
  if [ "$(head -c 4 "$2.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
    mv "$2.tmp" "$2"
  else
    rm -f "$2.tmp"
    return 1
  fi
}

prepare_kernel() {
  mkdir -p "$CACHE" || cannot_run "cannot create the cache directory $CACHE"
  local pkg
  # Here, not in kernel_package's subshell: APT_OPTS serves the download too.
  if [ -n "$SUITE" ] && ! private_apt; then
    cannot_run "apt cannot fetch $SUITE's package lists (see $CACHE/apt-$SUITE/update.log)"
  fi
  pkg=$(kernel_package)
  if [ -z "$pkg" ]; then
    # Offline or no package lists: use whatever kernel was cached before.
    [ -z "$SUITE" ] || cannot_run "apt cannot resolve $SUITE's linux-image-amd64 (see $CACHE/apt-$SUITE/update.log)"
    KDIR=$(ls -d "$CACHE"/kernel-* 2>/dev/null | tail -1)
    [ -n "$KDIR" ] && [ -s "$KDIR/vmlinuz" ] ||
      cannot_run "no kernel cached in $CACHE and apt cannot resolve linux-image-amd64 (run apt-get update)"
  else
    KDIR=$CACHE/kernel-${pkg#linux-image-}
  fi
  # The initramfs depends on guest-init.sh: rebuild it when that changes.
  local stamp
  stamp=$(cat "$HERE/guest-init.sh" "$0" | md5sum | cut -d' ' -f1)
  if [ -s "$KDIR/vmlinuz" ] && [ -s "$KDIR/initramfs.img" ] && [ "$(cat "$KDIR/stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  say "preparing the guest kernel ($pkg) in $KDIR"
  mkdir -p "$KDIR"
  local deb
  deb=$(ls "$KDIR"/"$pkg"_*.deb 2>/dev/null | tail -1)
  if [ -z "$deb" ]; then
    (cd "$KDIR" && apt-get "${APT_OPTS[@]}" download "$pkg" >"$KDIR/download.log" 2>&1) ||
      cannot_run "apt-get download $pkg failed: $(tail -1 "$KDIR/download.log")"
    deb=$(ls "$KDIR"/"$pkg"_*.deb | tail -1)
  fi
  local kroot=$KDIR/root
  rm -rf "$kroot"
  dpkg-deb -x "$deb" "$kroot" || vm_failed "cannot unpack $deb"
  local kver=${pkg#linux-image-}
  cp "$kroot/boot/vmlinuz-$kver" "$KDIR/vmlinuz" || vm_failed "no vmlinuz-$kver in $deb"
  extract_vmlinux "$KDIR/vmlinuz" "$KDIR/vmlinux" ||
    say "note: cannot extract vmlinux; booting the compressed image (slower under TCG)"
  build_initramfs "$kroot" "$kver" "$KDIR" || vm_failed "cannot build the initramfs"
  rm -rf "$kroot"
  echo "$stamp" > "$KDIR/stamp"
}

KDIR=
prepare_kernel
export JAILER_VM_KERNEL_DIR=$KDIR

# ------------------------------------------------------------------ accelerator
# KVM when /dev/kvm works, else TCG (software emulation: slower, same result).
# Some hosts (nested virtualisation) offer a /dev/kvm that creates VMs but
# never runs the guest: a KVM boot that shows no sign of life within
# KVM_GRACE seconds is abandoned for TCG, and that is remembered in the cache.
KVM_GRACE=${JAILER_VM_KVM_GRACE:-20}
KVM_BROKEN=$CACHE/kvm-does-not-boot.$(uname -r)
FALLBACK=0
kvm_usable() {
  [ "${JAILER_VM_TEST_KVM_USABLE:-0}" = 1 ] && return 0
  [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  /usr/bin/python3 -c '
import fcntl, os
fd = os.open("/dev/kvm", os.O_RDWR)
assert fcntl.ioctl(fd, 0xAE00) == 12          # KVM_GET_API_VERSION
os.close(fcntl.ioctl(fd, 0xAE01, 0))          # KVM_CREATE_VM
' 2>/dev/null
}
case $ACCEL in
  auto)
    if kvm_usable && [ ! -e "$KVM_BROKEN" ]; then ACCEL=kvm; FALLBACK=1; else ACCEL=tcg; fi ;;
  kvm) kvm_usable || cannot_run "JAILER_VM_ACCEL=kvm but /dev/kvm does not work here" ;;
  tcg) ;;
  *) echo "JAILER_VM_ACCEL must be auto, kvm or tcg" >&2; exit 2 ;;
esac

# ------------------------------------------------------------------ this run
RUN=$(mktemp -d "$CACHE/run.XXXXXX") || vm_failed "mktemp"
QEMU_PID=
TAIL_PID=
cleanup() {
  bg_stop "$QEMU_PID"
  bg_stop "$TAIL_PID"
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  for v in "${PASS_ENV[@]}" $(compgen -e | grep '^JAILER_' || true); do
    [ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
  done
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$RUN/command.sh"
printf '%s\n' "${RW_DIRS[@]}" > "$RUN/rw-dirs"

SHARES=(-virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap"
        -virtfs "local,path=$RUN,mount_tag=ctl,security_model=passthrough")
i=0
for d in "${RW_DIRS[@]}"; do
  SHARES+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=passthrough,multidevs=remap")
  i=$((i + 1))
done
BIOS=()
[ -f /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom)   # boots faster than SeaBIOS

stop_tail() {
  [ -n "$TAIL_PID" ] || return 0
  sleep 0.2
  kill "$TAIL_PID" 2>/dev/null
  wait "$TAIL_PID" 2>/dev/null
  TAIL_PID=
}

# boot ACCEL: run the guest to the end; sets QRC.  Returns 3 (after stopping
# it) when a KVM guest showed no sign of life within KVM_GRACE seconds.
boot() {
  local accel=$1 args
  if [ "$accel" = kvm ]; then
    args=(-accel kvm -cpu host)
  else
    args=(-accel tcg,thread=multi -cpu max)
  fi
  rm -f "$RUN/status"
  : > "$RUN/console.log"
  if [ "$VERBOSE" = 1 ]; then
    tail -n +1 -f "$RUN/console.log" >&2 &
    TAIL_PID=$!
  fi
  # ttyS0: the guest console, to a log (shown on failure or with --verbose);
  # ttyS1: the command's output, to our stdout.  QEMU is started directly,
  # so that QEMU_PID is QEMU's and killing it leaves nothing behind.
  local t0=$SECONDS
  qemu-system-x86_64 \
    "${args[@]}" -smp "$CPUS" -m "$MEM" -machine pc \
    -nodefaults -no-user-config -display none -no-reboot "${BIOS[@]}" \
    -kernel "$KERNEL" -initrd "$KDIR/initramfs.img" \
    -append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init mitigations=off" \
    -chardev "file,id=console,path=$RUN/console.log" -serial chardev:console \
    -chardev stdio,id=out,signal=off -serial chardev:out \
    "${SHARES[@]}" -nic none </dev/null 2>"$RUN/qemu.err" &
  QEMU_PID=$!
  if [ "$accel" = kvm ] && [ "$FALLBACK" = 1 ]; then
    local waited=0
    until grep -q 'guest-init: started' "$RUN/console.log"; do
      if [ $waited -ge $((KVM_GRACE * 10)) ] || ! kill -0 "$QEMU_PID" 2>/dev/null; then
        bg_stop "$QEMU_PID"
        QEMU_PID=
        stop_tail
        return 3
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  fi
  bg_wait "$QEMU_PID" $((TIMEOUT - (SECONDS - t0)))
  QRC=$?
  QEMU_PID=
  stop_tail
  return 0
}

KERNEL=$KDIR/vmlinuz
[ -s "$KDIR/vmlinux" ] && [ ${#BIOS[@]} -gt 0 ] && KERNEL=$KDIR/vmlinux
say "booting $(basename "$KDIR") with $ACCEL, ${MEM} MiB, $CPUS vCPUs"
T0=$(date +%s%N)
QRC=0
if ! boot "$ACCEL"; then
  say "KVM did not start the guest within ${KVM_GRACE}s ($(tail -c 300 "$RUN/qemu.err" | tr '\n' ' ')); using TCG from now on"
  : > "$KVM_BROKEN"
  ACCEL=tcg
  T0=$(date +%s%N)
  boot tcg
fi
T1=$(date +%s%N)
WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')

if [ -s "$RUN/status" ]; then
  rc=$(cat "$RUN/status")
  say "exit status $rc, wall ${WALL}s ($ACCEL)"
  exit "$rc"
fi
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
  why="timed out after ${TIMEOUT}s"
else
  why="qemu exited with $QRC and no command status"
fi
{
  echo "---- qemu stderr"; cat "$RUN/qemu.err" 2>/dev/null
  echo "---- guest console (last 60 lines)"; tail -60 "$RUN/console.log" 2>/dev/null
} >&2
vm_failed "$why (wall ${WALL}s)"

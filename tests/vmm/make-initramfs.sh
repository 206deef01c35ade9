#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make-initramfs.sh — prepare the guest that a jailed VMM boots: Debian's
# kernel and a tiny busybox initramfs whose /init prints
#   JAILER-GUEST-MARKER ok ...
# on the serial console and powers off (see guest-init.sh for the modes).
#
#   tests/vmm/make-initramfs.sh OUTDIR
#
# Leaves in OUTDIR (created, mode 0755; every file 0644 so that a jail's
# unprivileged uid can read what is bound into it):
#   vmlinuz          the kernel of Debian's linux-image-amd64 (bzImage)
#   vmlinux          the same kernel uncompressed (ELF, PVH entry point):
#                    QEMU (with qboot), Firecracker and Cloud Hypervisor
#                    boot it directly; under TCG it saves the seconds the
#                    bzImage spends decompressing itself
#   initramfs.cpio.gz
#   kernel.version   e.g. 6.1.0-57-amd64
# and prints OUTDIR's absolute path.  A second run with the same inputs
# (kernel package, busybox, guest-init.sh, this script) does nothing.
#
# Where the kernel comes from: the package linux-image-amd64 points at is
# fetched with `apt-get download` and only its /boot/vmlinuz-* is unpacked
# into OUTDIR.  The kernel package is deliberately NOT installed on the host:
# that would run initramfs-tools and bootloader hooks and change what the
# host boots, for a file we only read.  When apt cannot resolve or fetch the
# package (offline, no package lists), a kernel already in OUTDIR is reused,
# else the host's own /boot/vmlinuz-$(uname -r) if it exists (Debian installs
# it 0600, hence the copy to OUTDIR, readable by the jail's uid).
# JAILER_VMM_KERNEL=FILE boots that bzImage instead and asks apt nothing
# (a guest without network, such as the VM tiers', boots the kernel it runs
# on: tests/vm/cgroup-v2-tier.sh); a vmlinux beside FILE, not older than it,
# is taken as its uncompressed form.  No network modules then.
#
# Needs: busybox-static, cpio, xz-utils (the rest is in every Debian 12).
# Exit status: 0 ready; 77 cannot be prepared here (the reason is printed);
# 1 other failure.
set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { echo "make-initramfs: $*" >&2; }
cannot() { say "cannot prepare the guest: $*"; exit 77; }
fail() { say "$*"; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1" || fail "cannot create $1"
OUT=$(cd "$1" && pwd)
chmod 0755 "$OUT"

for tool in busybox cpio gzip xz dpkg-deb apt-get apt-cache tar flock dd od; do
  command -v "$tool" >/dev/null 2>&1 ||
    cannot "'$tool' is missing (apt-get install busybox-static cpio xz-utils)"
done
BUSYBOX=$(command -v busybox)
# A dynamically linked busybox would need its libraries in the initramfs.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
  cannot "$BUSYBOX is dynamically linked (apt-get install busybox-static)"
fi

# One preparer at a time per OUTDIR (a test run and the demo may overlap).
exec 9>"$OUT/.lock" || fail "cannot create $OUT/.lock"
flock 9 || fail "cannot lock $OUT/.lock"

# ------------------------------------------------------------------ kernel
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

fetch_kernel() {  # $1 = package name; installs $OUT/vmlinuz and $OUT/kernel.version
  local pkg=$1 kver=${1#linux-image-} tmp
  tmp=$(mktemp -d "$OUT/.kernel.XXXXXX") || return 1
  chmod 0755 "$tmp"   # apt's download sandbox user must be able to write here
  if ! (cd "$tmp" && apt-get download "$pkg" >"$tmp/download.log" 2>&1); then
    say "apt-get download $pkg failed: $(tail -1 "$tmp/download.log")"
    rm -rf "$tmp"
    return 1
  fi
  # Only the kernel image: the modules are not needed by this guest.
  if ! dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb |
       tar -x -C "$tmp" "./boot/vmlinuz-$kver"; then
    say "no /boot/vmlinuz-$kver in $pkg"
    rm -rf "$tmp"
    return 1
  fi
  install -m 0644 "$tmp/boot/vmlinuz-$kver" "$OUT/vmlinuz.tmp" &&
    mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz" &&
    echo "$kver" > "$OUT/kernel.version"
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

# The version string of a bzImage: at 0x200 + the offset in its header.
bzimage_version() {  # $1 = bzImage
  local off
  off=$(od -An -tu2 -j $((0x20e)) -N2 "$1" | tr -d ' ') || return 1
  dd if="$1" bs=1 skip=$((off + 0x200)) count=64 status=none | tr '\0' '\n' | head -1 | awk '{print $1}'
}

use_given_kernel() {  # $1 = bzImage
  local kver
  kver=$(bzimage_version "$1")
  [ -n "$kver" ] || fail "JAILER_VMM_KERNEL=$1: not a bzImage"
  [ "$(cat "$OUT/kernel.version" 2>/dev/null)" = "$kver" ] && [ -s "$OUT/vmlinuz" ] && return 0
  say "using the kernel $1 ($kver)"
  install -m 0644 "$1" "$OUT/vmlinuz" && echo "$kver" > "$OUT/kernel.version" || fail "cannot copy $1"
  rm -f "$OUT/vmlinux"
  local elf
  elf=$(dirname "$1")/vmlinux
  if [ -s "$elf" ] && ! [ "$elf" -ot "$1" ]; then
    install -m 0644 "$elf" "$OUT/vmlinux" && touch "$OUT/vmlinux" || fail "cannot copy $elf"
  fi
}

if [ -n "${JAILER_VMM_KERNEL:-}" ]; then
  use_given_kernel "$JAILER_VMM_KERNEL"
  PKG=
else
  PKG=$(kernel_package)
fi
if [ -n "$PKG" ]; then
  if [ ! -s "$OUT/vmlinuz" ] || [ "$(cat "$OUT/kernel.version" 2>/dev/null)" != "${PKG#linux-image-}" ]; then
    say "fetching $PKG (apt-get download) into $OUT"
    fetch_kernel "$PKG" || say "falling back to a kernel already prepared, if any"
  fi
fi
if [ ! -s "$OUT/vmlinuz" ]; then
  host=/boot/vmlinuz-$(uname -r)
  [ -r "$host" ] || cannot "apt cannot fetch linux-image-amd64 (run apt-get update) and $host does not exist"
  say "using the host's $host"
  install -m 0644 "$host" "$OUT/vmlinuz" && uname -r > "$OUT/kernel.version" || fail "cannot copy $host"
fi
chmod 0644 "$OUT/vmlinuz" "$OUT/kernel.version"

# The guest's network driver (virtio-net and what it needs), from the same
# package as the kernel: Debian builds them as modules.  Only these are unpacked, into OUTDIR/modules; without them (offline) the guest
# boots as before and only jailer.guest=net cannot bring eth0 up.
NET_MODULES="kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
  kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_pci_legacy_dev.ko
  kernel/drivers/virtio/virtio_pci.ko kernel/net/core/failover.ko kernel/drivers/net/net_failover.ko
  kernel/drivers/net/virtio_net.ko"
fetch_modules() {  # $1 = kernel version
  local kver=$1 pkg=linux-image-$1 tmp m
  tmp=$(mktemp -d "$OUT/.modules.XXXXXX") || return 1
  chmod 0755 "$tmp"
  if ! (cd "$tmp" && apt-get download "$pkg" >"$tmp/download.log" 2>&1); then
    say "apt-get download $pkg failed (no network modules): $(tail -1 "$tmp/download.log")"
    rm -rf "$tmp"
    return 1
  fi
  set --
  for m in $NET_MODULES; do set -- "$@" "./lib/modules/$kver/$m"; done
  if dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb | tar -x -C "$tmp" "$@"; then
    mkdir -p "$OUT/modules" && chmod 0755 "$OUT/modules"
    for m in $NET_MODULES; do
      install -m 0644 "$tmp/lib/modules/$kver/$m" "$OUT/modules/$(basename "$m")"
    done
  fi
  rm -rf "$tmp"
}
KVER=$(cat "$OUT/kernel.version")
if [ -n "${JAILER_VMM_KERNEL:-}" ]; then
  [ "$(cat "$OUT/modules/kernel.version" 2>/dev/null)" = "$KVER" ] || rm -rf "$OUT/modules"
elif [ ! -s "$OUT/modules/virtio_pci.ko" ] || [ "$(cat "$OUT/modules/kernel.version" 2>/dev/null)" != "$KVER" ]; then
  rm -rf "$OUT/modules"
  fetch_modules "$KVER" && echo "$KVER" > "$OUT/modules/kernel.version"
fi

# The payload of a bzImage: its offset (after the setup sectors) and length
# are in the boot protocol header (>= 2.08), at 0x248 and 0x24c.
extract_vmlinux() {  # $1 = bzImage, $2 = output
  local setup off len start magic
  setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$1" | tr -d ' ') || return 1
  [ "$setup" = 0 ] && setup=4
  read -r off len < <(od -An -tu4 -j $((0x248)) -N8 "$1") || return 1
  start=$(( (setup + 1) * 512 + off ))
  payload() { dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$start" count="$2" status=none; }
  magic=$(payload "$1" 6 | od -An -tx1 | tr -d ' \n')
  case $magic in
    fd377a585a00) payload "$1" "$len" | xz -dc --single-stream ;;
    1f8b*)        payload "$1" "$len" | gzip -dc ;;
    28b52ffd*)    payload "$1" "$len" | zstd -qdc ;;
    *) say "unknown kernel compression (magic $magic)"; return 1 ;;
  esac > "$2.tmp" 2>/dev/null || { rm -f "$2.tmp"; return 1; }
  if [ "$(head -c 4 "$2.tmp" | od -An -tx1 | tr -d ' \n')" != 7f454c46 ]; then
    rm -f "$2.tmp"
    return 1
  fi
  chmod 0644 "$2.tmp" && mv "$2.tmp" "$2"
}
if [ ! -s "$OUT/vmlinux" ] || [ "$OUT/vmlinux" -ot "$OUT/vmlinuz" ]; then
  extract_vmlinux "$OUT/vmlinuz" "$OUT/vmlinux" || fail "cannot extract vmlinux from $OUT/vmlinuz (xz-utils missing?)"
fi

# ------------------------------------------------------------------ initramfs
stamp=$( { cat "$HERE/guest-init.sh" "$0"; md5sum < "$BUSYBOX"; cat "$OUT"/modules/*.ko 2>/dev/null | md5sum; } |
         md5sum | cut -d' ' -f1)
if [ -s "$OUT/initramfs.cpio.gz" ] && [ "$(cat "$OUT/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$OUT"
  exit 0
fi
tmp=$(mktemp -d "$OUT/.initramfs.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,dev,proc}
cp "$BUSYBOX" "$tmp/bin/busybox" && chmod 0755 "$tmp/bin/busybox" || fail "cannot copy busybox"
cp "$HERE/guest-init.sh" "$tmp/init" && chmod 0755 "$tmp/init" || fail "cannot copy guest-init.sh"
if [ -s "$OUT/modules/virtio_net.ko" ]; then
  mkdir -p "$tmp/lib/modules" && cp "$OUT"/modules/*.ko "$tmp/lib/modules/" || fail "cannot copy the modules"
fi
# Owned by root inside the guest whoever builds it; stable order and times
# so that the archive only changes when its inputs do.
(cd "$tmp" && find . -mindepth 1 -newermt @0 -exec touch -h -d @0 {} + &&
   find . -mindepth 1 | LC_ALL=C sort |
   cpio -o -H newc -R 0:0 --quiet | gzip -9n) > "$OUT/initramfs.cpio.gz.tmp" ||
  fail "cannot build the initramfs"
chmod 0644 "$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
echo "$stamp" > "$OUT/initramfs.stamp"
chmod 0644 "$OUT/initramfs.stamp"
echo "$OUT"

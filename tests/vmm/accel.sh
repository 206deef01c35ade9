#!/bin/bash
# SPDX-License-Identifier: MIT
#
# accel.sh — which QEMU accelerator boots the test guest on this machine:
# prints "kvm" or "tcg".
#
#   tests/vmm/accel.sh GUESTDIR        (GUESTDIR as made by make-initramfs.sh)
#
# JAILER_VMM_ACCEL=kvm|tcg forces the answer; auto (the default) answers kvm
# only when a real boot of the guest under KVM reaches its marker line.
# Opening /dev/kvm, or even creating a VM, is not proof: on some hosts KVM
# is there but cannot run a stock kernel (nested set-ups such as PVM, the
# "pagetable-based virtual machine", accept KVM_CREATE_VM and only boot guest
# kernels built for them; Debian's hangs in early boot).  The probe runs
# once per host boot and kernel, unjailed, as the caller (root): a jail gives
# /dev/kvm to its uid whenever the host has it, so what works here works in
# the jail.  Its verdict is cached in GUESTDIR/accel.probe.
# JAILER_VM_KVM_GRACE: seconds the KVM boot may take (20).  For the harness's
# own tests only: JAILER_VM_TEST_KVM_USABLE=1 probes even without /dev/kvm.
set -u

[ $# -eq 1 ] || { echo "usage: $0 GUESTDIR" >&2; exit 2; }
GUEST=$1
# shellcheck source=tests/lib/bounded.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/bounded.sh"
say() { echo "accel: $*" >&2; }

case ${JAILER_VMM_ACCEL:-auto} in
  kvm|tcg) echo "$JAILER_VMM_ACCEL"; exit 0 ;;
  auto) ;;
  *) echo "JAILER_VMM_ACCEL must be auto, kvm or tcg" >&2; exit 2 ;;
esac

if [ ! -c /dev/kvm ] && [ "${JAILER_VM_TEST_KVM_USABLE:-0}" != 1 ]; then
  echo tcg
  exit 0
fi

key="$(cat /proc/sys/kernel/random/boot_id) $(cat "$GUEST/kernel.version" 2>/dev/null) $(cat "$GUEST/initramfs.stamp" 2>/dev/null)"
if [ -r "$GUEST/accel.probe" ]; then
  read -r cached_key_and_answer < "$GUEST/accel.probe"
  if [ "${cached_key_and_answer% *}" = "$key" ]; then
    echo "${cached_key_and_answer##* }"
    exit 0
  fi
fi

if [ -f /usr/share/qemu/qboot.rom ] && [ -s "$GUEST/vmlinux" ]; then
  KERNEL=$GUEST/vmlinux BIOS=(-bios /usr/share/qemu/qboot.rom)
else
  KERNEL=$GUEST/vmlinuz BIOS=()
fi
# A working KVM reaches the marker in about a second; give it plenty.  QEMU
# is started directly (QEMU_PID is QEMU's own) and killed for sure: a KVM
# that hangs the guest must not leave a QEMU behind.
GRACE=${JAILER_VM_KVM_GRACE:-20}
LOGF=$(mktemp) || exit 1
QEMU_PID=
trap 'bg_stop "$QEMU_PID"; rm -f "$LOGF"' EXIT
trap 'exit 130' INT TERM
qemu-system-x86_64 -accel kvm -m 128M -smp 1 -nodefaults -no-user-config \
  -display none -no-reboot "${BIOS[@]}" -kernel "$KERNEL" -initrd "$GUEST/initramfs.cpio.gz" \
  -append "console=ttyS0 quiet panic=-1 jailer.guest=marker" -serial stdio -nic none \
  </dev/null >"$LOGF" 2>&1 &
QEMU_PID=$!
bg_wait "$QEMU_PID" "$GRACE"
rc=$?
QEMU_PID=
out=$(cat "$LOGF")
if grep -q '^JAILER-GUEST-MARKER ok' <<< "$out"; then
  answer=kvm
else
  answer=tcg
  [ $rc = 124 ] && why="no marker within $GRACE s" || why="exit status $rc"
  say "/dev/kvm exists but the guest does not boot with it ($why: $(tail -c 200 <<< "$out" | tr '\n' ' ')); using TCG"
fi
echo "$key $answer" > "$GUEST/accel.probe.tmp" && mv "$GUEST/accel.probe.tmp" "$GUEST/accel.probe"
echo "$answer"

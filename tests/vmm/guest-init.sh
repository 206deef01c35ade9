#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: MIT
#
# PID 1 of the tiny guest that the VMM examples and tests boot (packed into
# the initramfs by make-initramfs.sh).  It proves that the guest kernel ran
# user space: it prints one marker line on the console and powers off.
#
# Kernel command line switches (anything else is ignored):
#   jailer.guest=marker   (default) print the marker, power off at once
#   jailer.guest=wait     print the marker, then wait until the VMM is told to
#                         stop (QMP "quit", a signal): for tests that look at
#                         the running VMM from the host
#   jailer.off=poweroff   (default) end with an ACPI power-off (QEMU, Cloud
#                         Hypervisor)
#   jailer.off=reboot     end with a reboot instead: Firecracker has no ACPI
#                         and exits when the guest resets (with reboot=k);
#                         QEMU with -no-reboot exits too
export PATH=/bin
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
/bin/busybox mount -t proc proc /proc

mode=marker off=poweroff
for arg in $(/bin/busybox cat /proc/cmdline); do
  case $arg in
    jailer.guest=*) mode=${arg#jailer.guest=} ;;
    jailer.off=*) off=${arg#jailer.off=} ;;
  esac
done

read -r up _ < /proc/uptime
echo "JAILER-GUEST-MARKER ok kernel=$(/bin/busybox uname -r) uptime=${up}s mode=$mode"

case $mode in
  wait)
    while :; do /bin/busybox sleep 3600; done ;;
esac
case $off in
  reboot) /bin/busybox reboot -f ;;
  *) /bin/busybox poweroff -f ;;
esac

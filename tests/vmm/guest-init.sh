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
#   jailer.guest=net      load virtio-net, give eth0 the address of
#                         jailer.ip=ADDR/PREFIX, print the marker, then wait
#                         (the kernel answers pings)
#   jailer.off=poweroff   (default) end with an ACPI power-off (QEMU, Cloud
#                         Hypervisor)
#   jailer.off=reboot     end with a reboot instead: Firecracker has no ACPI
#                         and exits when the guest resets (with reboot=k);
#                         QEMU with -no-reboot exits too
export PATH=/bin
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
/bin/busybox mount -t proc proc /proc

mode=marker off=poweroff ip=
for arg in $(/bin/busybox cat /proc/cmdline); do
  case $arg in
    jailer.guest=*) mode=${arg#jailer.guest=} ;;
    jailer.off=*) off=${arg#jailer.off=} ;;
    jailer.ip=*) ip=${arg#jailer.ip=} ;;
  esac
done

if [ "$mode" = net ]; then
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover \
           virtio_net; do /bin/busybox insmod "/lib/modules/$m.ko"; done
  /bin/busybox ip addr add "$ip" dev eth0 && /bin/busybox ip link set eth0 up ||
    echo "JAILER-GUEST-NET cannot configure eth0 with '$ip'"
fi

read -r up _ < /proc/uptime
echo "JAILER-GUEST-MARKER ok kernel=$(/bin/busybox uname -r) uptime=${up}s mode=$mode"

case $mode in
  wait | net)
    while :; do /bin/busybox sleep 3600; done ;;
esac
case $off in
  reboot) /bin/busybox reboot -f ;;
  *) /bin/busybox poweroff -f ;;
esac

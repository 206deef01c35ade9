#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# PID 1 of the test guest (packed into the initramfs by run-in-vm.sh).
# Builds the guest's root from the host's (9p, read-only) under a tmpfs
# overlay, mounts a pure cgroup2 hierarchy with every controller enabled for
# children, runs /ctl/command.sh (at /run/vm-ctl in the new root) as root with
# its output on ttyS1, writes its exit status to /ctl/status, powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "guest-init: started" > /dev/console

log() { echo "guest-init: $*" > /dev/console; }
fail() {
  log "$*"
  echo 125 > /ctl/status 2>/dev/null
  sync
  poweroff -f
}

while read -r m; do
  [ -n "$m" ] && { insmod "/modules/$m" || log "insmod $m failed"; }
done < /modules/order

NINEP=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$NINEP,cache=none" ctl /ctl || fail "cannot mount the control share"
mount -t 9p -o "$NINEP,ro,cache=loose" hostroot /lower || fail "cannot mount the host root"
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
  fail "cannot mount the overlay root"

R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mkdir -p $R/run/vm-ctl
mount --bind /ctl $R/run/vm-ctl

i=0
while read -r d; do
  [ -n "$d" ] || continue
  mkdir -p "$R$d"
  mount -t 9p -o "$NINEP,cache=none" "rw$i" "$R$d" || fail "cannot mount $d read-write"
  i=$((i + 1))
done < /ctl/rw-dirs

# Pure cgroup v2: no v1 hierarchy exists in the guest, so every controller
# is on cgroup2.  The command runs in a leaf of its own, as under systemd.
CG=$R/sys/fs/cgroup
mount -t cgroup2 -o nsdelegate cgroup2 $CG || mount -t cgroup2 cgroup2 $CG || fail "cannot mount cgroup2"
mkdir $CG/vm-runner
echo $$ > $CG/vm-runner/cgroup.procs || fail "cannot move into /vm-runner"
for c in $(cat $CG/cgroup.controllers); do
  echo "+$c" > $CG/cgroup.subtree_control || log "cannot enable the $c controller"
done
for c in cpu memory pids; do
  grep -qw $c $CG/cgroup.subtree_control || fail "controller $c unavailable on cgroup2"
done

hostname jailer-vm
stty -F /dev/ttyS1 raw -echo 2>/dev/null

# Make the new root the real root of the mount namespace (as switch_root
# does), not a chroot: the kernel refuses to create user namespaces from a
# chroot, and jails need them.  The rest runs from there, as PID 1 still.
mkdir -p $R/run/vm-init && cp /bin/busybox $R/run/vm-init/busybox
cat > $R/run/vm-init/finish.sh <<'EOF'
/bin/sh /run/vm-ctl/command.sh < /dev/null > /dev/ttyS1 2>&1
echo $? > /run/vm-ctl/status
/run/vm-init/busybox sync
/run/vm-init/busybox poweroff -f
EOF
cd $R || fail "cannot enter the new root"
mount --move . / || fail "cannot move the new root to /"
exec chroot . /run/vm-init/busybox sh /run/vm-init/finish.sh

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# systemd-tier.sh — jailerd under real systemd (PID 1), cgroup v2, in a QEMU
# guest: the project's units as `meson install` puts them, socket activation
# by systemd itself, delegation, journald.
#
#   tests/vm/systemd-tier.sh [BUILD_DIR]        (as root, from anywhere)
#
# The guest is a Debian bookworm (systemd 252) made with debootstrap from the
# Debian archive once, cached in tests/.vm/systemd-rootfs (JAILER_VM_CACHE).
# Each run boots it under a throw-away overlay (host writes go to the run's
# directory), with the build installed by `meson install --destdir` (prefix
# as configured: /usr/local by default, which systemd reads too) and the
# probe.  The guest kernel and its modules are those tests/vm/run-in-vm.sh
# prepares; this script only swaps in an /init that boots the guest's own
# systemd.
#
# In the guest, a unit started after multi-user.target runs this script with
# --guest: systemctl start jailerd.socket; a jailerctl call activates
# jailerd; the cgroup layout under delegation; journalctl JAIL_ID=... tells
# the jail's story (also with -u jailerd); an unprivileged member of the
# jailer group runs a jail, a non-member is refused; a running jail survives
# `systemctl restart jailerd` and a crash of jailerd, and its report reaches
# the daemon that runs then.
#
# Exit status: 0 all passed; 1 something failed; 77 the tier cannot run here
# (reason printed); 125 the VM failed.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PROBE_DIR=/usr/local/libexec/jailer-tests
RESULT=/var/tmp/jailer-systemd-tier.result
LOG=/var/tmp/jailer-systemd-tier.log

if [ "${1:-}" = --guest-package ]; then
# ================================================================== in the guest: the .deb
# The packages built from the tree (DEBS/v1) and the same with a bumped
# version (DEBS/v2): install, use, upgrade with a jail running, purge.
exec > >(tee -a "$LOG" > /dev/ttyS0) 2>&1
passed=0 failed=0 xfailed=0
note() { echo "systemd-tier: $*"; }
pass() { passed=$((passed + 1)); note "PASS: $*"; }
fail() { failed=$((failed + 1)); note "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
finish() {
  note "$passed passed, $failed failed"
  echo "passed=$passed failed=$failed xfailed=0" > "$RESULT"
  sync
  systemctl poweroff --no-block
  exit 0
}
DEBS=/var/tmp/jailer-debs
PROBE=$PROBE_DIR/probe
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
state=$(timeout 300 systemctl is-system-running --wait)
case $state in running|degraded) pass "boot ($state)" ;; *) fail "boot: $state"; finish ;; esac

why() {  # what systemd says of the units, for a failure
  systemctl status --no-pager jailerd.socket jailerd.service 2>&1 | sed 's/^/    /' | head -30
  journalctl -b --no-pager -n 20 -u jailerd.socket -u jailerd.service 2>&1 | sed 's/^/    /'
}
out=$(timeout 600 dpkg -i "$DEBS"/v1/*.deb 2>&1); rc=$?
note "dpkg -i v1: rc=$rc: $(echo "$out" | tail -3 | tr '\n' ' ')"
check "the packages install (rc=$rc)" test $rc = 0
check "the jailer group exists" getent group jailer
check "jailerd.socket is enabled" test "$(systemctl is-enabled jailerd.socket)" = enabled
check "jailerd.socket is listening" systemctl -q is-active jailerd.socket
check "the socket is root:jailer 0660" test "$(stat -c '%a %U %G' /run/jailer/jailerd.sock)" = "660 root jailer"
systemctl -q is-active jailerd.socket || why
check "the example policy is a conffile" grep -qx /etc/jailer/jailerd.json.example /var/lib/dpkg/info/jailer.conffiles
check "libjailer.so.0 is installed" test -e "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/libjailer.so.0"
for m in jailer.1 jailerctl.1 jailerd.8 jailerd.json.5 libjailer.3; do
  check "man page $m is installed" sh -c "ls /usr/share/man/man*/$m.gz > /dev/null 2>&1"
done
check "bash completion for jailerctl is installed" test -s /usr/share/bash-completion/completions/jailerctl
useradd -m -G jailer alice 2>/dev/null
out=$(setpriv --reuid alice --regid alice --init-groups jailerctl run --id pkg-alice --exec "$PROBE" -- exit 0 2>&1); rc=$?
note "member's run: rc=$rc $(echo "$out" | tail -1)"
check "a group member runs a jail with no other step (rc=$rc)" test $rc = 0

out=$(jailerctl --json create --id pkg-long --exec "$PROBE" -- sleep 600 2>&1)
pid=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
check "a long jail runs (pid $pid)" alive "$pid"
out=$(timeout 600 dpkg -i "$DEBS"/v2/*.deb 2>&1); rc=$?
note "dpkg -i v2: rc=$rc: $(echo "$out" | tail -3 | tr '\n' ' ')"
check "the upgrade installs (rc=$rc)" test $rc = 0
check "the upgraded version is installed" test "$(dpkg-query -W -f '${Version}' jailer)" = "$(cat "$DEBS/v2/VERSION")"
check "the jail survives the upgrade" alive "$pid"
systemctl -q is-active jailerd.socket || why
check "the upgraded jailerd lists it as running" sh -c "jailerctl list | grep pkg-long | grep -q running"
jailerctl kill pkg-long SIGKILL > /dev/null 2>&1
out=$(jailerctl --json wait pkg-long 2>&1)
check "its report arrives after the upgrade" grep -q '"signal":"SIGKILL"' <<< "$out"

out=$(timeout 600 dpkg --purge jailer libjailer-dev libjailer0 2>&1); rc=$?
note "dpkg --purge: rc=$rc: $(echo "$out" | tail -2 | tr '\n' ' ')"
check "the packages purge (rc=$rc)" test $rc = 0
check "no jailerd left" test ! -e /usr/sbin/jailerd
check "no units left" sh -c '! ls /lib/systemd/system/jailerd* /etc/systemd/system/*/jailerd* 2>/dev/null | grep -q .'
check "the socket is gone" test ! -e /run/jailer/jailerd.sock
check "/etc/jailer is gone" test ! -e /etc/jailer
check "/var/lib/jailer is gone (no jail was running)" test ! -e /var/lib/jailer
finish
fi

if [ "${1:-}" = --guest ]; then
# ================================================================== in the guest
exec > >(tee -a "$LOG" > /dev/ttyS0) 2>&1
passed=0 failed=0 xfailed=0
note() { echo "systemd-tier: $*"; }
pass() { passed=$((passed + 1)); note "PASS: $*"; }
fail() { failed=$((failed + 1)); note "FAIL: $*"; }
xfail() { xfailed=$((xfailed + 1)); note "XFAIL: $*"; }
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  note "expected failures: $xfailed"
  note "$passed passed, $failed failed"
  echo "passed=$passed failed=$failed xfailed=$xfailed" > "$RESULT"
  sync
  systemctl poweroff --no-block
  exit 0
}
PROBE=$PROBE_DIR/probe
CTL=/usr/local/bin/jailerctl
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

state=$(timeout 300 systemctl is-system-running --wait)
note "systemd $(systemctl --version | head -1 | cut -d' ' -f2), is-system-running: $state, kernel $(uname -r)"
case $state in running|degraded) pass "boot" ;; *) fail "boot: $state"; finish ;; esac
[ "$state" = degraded ] && systemctl --failed --no-legend
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || { fail "the guest does not run cgroup v2"; finish; }

# sysusers.d and tmpfiles.d, applied at boot
check "sysusers.d made the jailer group" getent group jailer
check "tmpfiles.d made /run/jailer/jails 0700" test "$(stat -c %a /run/jailer/jails 2>/dev/null)" = 700
check "tmpfiles.d made /var/lib/jailer/jails" test -d /var/lib/jailer/jails

# socket activation by systemd
systemctl start jailerd.socket
check "jailerd.socket is active" systemctl -q is-active jailerd.socket
check "jailerd.service waits for a client" test "$(systemctl is-active jailerd.service)" = inactive
check "the socket is root:jailer 0660" test "$(stat -c '%a %U %G' /run/jailer/jailerd.sock)" = "660 root jailer"

out=$($CTL run --id sd-run --exec "$PROBE" -- exit 3 2>&1); rc=$?
note "jailerctl run: rc=$rc: $(echo "$out" | tail -2 | tr '\n' ' ')"
check "a jailerctl call activates jailerd and runs a jail (exit 3)" test $rc = 3
check "jailerd.service is active" systemctl -q is-active jailerd.service

# cgroups: jailerd alone in its unit, jails in jailerd-jails.service's
main=$(systemctl show -P MainPID jailerd.service)
own=$(systemctl show -P ControlGroup jailerd.service)
jcg=/sys/fs/cgroup$(systemctl show -P ControlGroup jailerd-jails.service)
note "jailerd $main in $(cut -d: -f3 /proc/$main/cgroup); $jcg: $(ls $jcg | grep -v '\.' | tr '\n' ' ')"
check "jailerd-jails.service is active" systemctl -q is-active jailerd-jails.service
check "jailerd stays in its unit's cgroup, which has no controllers for children" \
  sh -c "test \"\$(cut -d: -f3 /proc/$main/cgroup)\" = $own && test -z \"\$(cat /sys/fs/cgroup$own/cgroup.subtree_control)\""
check "the keeper sits in jailerd-jails.service/keeper" \
  grep -qx "$(systemctl show -P MainPID jailerd-jails.service)" $jcg/keeper/cgroup.procs
check "jails/ has cpu, memory and pids" \
  sh -c "grep -qw memory $jcg/jails/cgroup.controllers && grep -qw pids $jcg/jails/cgroup.controllers && grep -qw cpu $jcg/jails/cgroup.controllers"
systemctl stop jailerd-jails.service 2>/dev/null
check "jailerd-jails.service refuses a manual stop" systemctl -q is-active jailerd-jails.service

# the journal tells the jail's story, with the unit attached
out=$($CTL create --id sd-out --exec "$PROBE" -- report 2>&1); note "create sd-out: $out"
$CTL wait sd-out > /dev/null 2>&1
journalctl --sync 2>/dev/null
j=$(journalctl --all JAIL_ID=sd-run -o json --no-pager)
check "journal: sd-run started (MESSAGE_ID)" grep -q '"MESSAGE_ID":"191432ec9359491ebf22c7931eb96f38"' <<< "$j"
check "journal: sd-run exited with JAIL_EXIT_CODE=3" \
  sh -c 'grep "d4b88583c77d4ce184dad29392eae860" | grep -q "\"JAIL_EXIT_CODE\":\"3\""' <<< "$j"
check "journal: PEER_UID on sd-run's request" grep -q '"PEER_UID":"0"' <<< "$j"
j=$(journalctl --all -u jailerd JAIL_ID=sd-out -o json --no-pager)
check "journal -u jailerd: sd-out's stdout line with JAIL_ID" \
  sh -c 'grep "\"JAIL_STREAM\":\"stdout\"" | grep -q "probe"' <<< "$j"
j=$(journalctl --all -u jailerd JAIL_ID=sd-run -o json --no-pager)
check "journal -u jailerd: sd-run's started entry" grep -q '"MESSAGE_ID":"191432ec9359491ebf22c7931eb96f38"' <<< "$j"
note "journalctl -u jailerd JAIL_ID=sd-out:"
journalctl -u jailerd JAIL_ID=sd-out --no-pager -o short | cut -c1-160 | sed 's/^/systemd-tier:     /'

# an unprivileged member of the group, and a non-member
useradd -m -G jailer alice 2>/dev/null; useradd -m bob 2>/dev/null
out=$(setpriv --reuid alice --regid alice --init-groups $CTL run --id sd-alice --exec "$PROBE" -- exit 0 2>&1); rc=$?
check "a member of jailer runs a jail (rc=$rc)" test $rc = 0
out=$(setpriv --reuid bob --regid bob --init-groups $CTL list 2>&1); rc=$?
check "a non-member is refused (rc=$rc: $(echo "$out" | head -1))" test $rc != 0

# run/ of a root jailerd makes: a size-limited tmpfs the host sees, so the
# host reaches a VMM's control socket there
out=$($CTL --json create --id sd-sock --exec "$PROBE" -- serve /run/vmm.sock 120 2>&1)
root=$(echo "$out" | sed -n 's/.*"jail_root":"\([^"]*\)".*/\1/p')
note "create sd-sock: $out"
for i in $(seq 100); do [ -S "$root/run/vmm.sock" ] && break; sleep 0.2; done
check "the host sees run/ as a tmpfs" sh -c "findmnt -n -o FSTYPE --target '$root/run' | grep -qx tmpfs"
out=$("$PROBE" connect "$root/run/vmm.sock" 2>&1)
check "the host reaches the VMM's socket in run/ ($out)" grep -q '"ok":true' <<< "$out"
$CTL kill sd-sock SIGKILL > /dev/null 2>&1
$CTL wait sd-sock > /dev/null 2>&1
check "run/'s tmpfs is gone after the jail" sh -c "! findmnt -n '$root/run' > /dev/null"

# reload: a bad policy file makes `systemctl reload` fail, the policy in
# force stays and serves; with the file gone, the built-in default again
pol=$(ls /usr/local/etc/jailer/jailerd.json.example /etc/jailer/jailerd.json.example 2>/dev/null | head -1)
pol=${pol%.example}
if [ -n "$pol" ]; then
  echo '{"clients": [' > "$pol"
  systemctl reload jailerd.service 2>/dev/null; rc=$?
  check "systemctl reload fails on a bad policy file (rc=$rc)" test $rc != 0
  check "jailerd is still active after the refused reload" systemctl -q is-active jailerd.service
  out=$(setpriv --reuid alice --regid alice --init-groups $CTL run --id sd-after-bad-reload --exec "$PROBE" -- exit 0 2>&1); rc=$?
  check "the policy in force still serves a member (rc=$rc)" test $rc = 0
  rm -f "$pol"
  systemctl reload jailerd.service; rc=$?
  check "reload with no policy file succeeds (rc=$rc)" test $rc = 0
else
  fail "no jailerd.json.example installed under /usr/local/etc/jailer or /etc/jailer"
fi

# `systemctl stop jailerd` leaves jails running; its status says how many
out=$($CTL --json create --id sd-keep --exec "$PROBE" -- sleep 600 2>&1)
kpid=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
systemctl stop jailerd.service
st=$(systemctl show -P StatusText jailerd.service)
note "after stop: StatusText=$st"
check "jailerd's status after a stop counts the jail left running" grep -q "1 jails left running" <<< "$st"
check "the jail outlives systemctl stop jailerd" kill -0 "$kpid"
$CTL kill sd-keep SIGKILL > /dev/null 2>&1
$CTL wait sd-keep > /dev/null 2>&1

# clients ride through `systemctl restart jailerd`: a `jailerctl run`
# waiting for its jail gets the jail's exit status, and `jailerctl events`
# sees every event exactly once (a jail that starts before and ends after
# the restart, and one after it)
$CTL --json events > /var/tmp/sd-events.out 2> /var/tmp/sd-events.err &
evpid=$!
$CTL run --id sd-ride --exec "$PROBE" -- sleep 4 > /var/tmp/sd-ride.out 2> /var/tmp/sd-ride.err &
runpid=$!
for i in $(seq 100); do $CTL list 2> /dev/null | grep -q 'sd-ride .*running' && break; sleep 0.1; done
systemctl restart jailerd.service
wait $runpid; rc=$?
check "jailerctl run gets its status through systemctl restart jailerd (rc=$rc: $(tail -2 /var/tmp/sd-ride.err | tr '\n' ' '))" test $rc = 0
$CTL run --id sd-ride2 --exec "$PROBE" -- exit 0 > /dev/null 2>&1
for i in $(seq 100); do grep -q '"method":"exited".*"jail":"sd-ride2"' /var/tmp/sd-events.out && break; sleep 0.1; done
sleep 0.5
kill "$evpid"; wait "$evpid" 2> /dev/null
for ev in started exited; do
  for j in sd-ride sd-ride2; do
    n=$(grep -c "\"method\":\"$ev\".*\"jail\":\"$j\"" /var/tmp/sd-events.out)
    check "jailerctl events saw $ev $j once through the restart (n=$n)" test "$n" = 1
  done
done
check "jailerctl events went on through the restart" grep -q reconnecting /var/tmp/sd-events.err

# a running jail survives `systemctl restart jailerd`
out=$($CTL --json create --id sd-long --memory 64M --exec "$PROBE" -- sleep 600 2>&1)
pid=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
note "create sd-long: $out"
check "sd-long is in its own leaf under jails/" grep -qx "$pid" $jcg/jails/sd-long/cgroup.procs
check "sd-long's memory.max is 64M" test "$(cat $jcg/jails/sd-long/memory.max)" = 67108864
systemctl restart jailerd.service; rc=$?
sleep 1
check "the jail still runs after systemctl restart jailerd" kill -0 "$pid"
if [ $rc = 0 ] && systemctl -q is-active jailerd.service; then
  pass "jailerd restarted with a jail running"
  check "the new jailerd lists sd-long as running" sh -c "$CTL list | grep sd-long | grep -q running"
  # A crash: systemd restarts jailerd (Restart=on-failure), the jail stays.
  old=$(systemctl show -P MainPID jailerd.service)
  systemctl kill --kill-who=main -s SIGKILL jailerd.service
  for i in $(seq 100); do
    new=$(systemctl show -P MainPID jailerd.service)
    [ "$new" != 0 ] && [ "$new" != "$old" ] && systemctl -q is-active jailerd.service && break
    sleep 0.1
  done
  check "systemd restarts a SIGKILLed jailerd ($old -> $new)" sh -c "[ $new != $old ] && systemctl -q is-active jailerd.service"
  check "the jail still runs after jailerd's crash" kill -0 "$pid"
  check "the restarted jailerd lists sd-long as running" sh -c "$CTL list | grep sd-long | grep -q running"
  $CTL kill sd-long SIGKILL > /dev/null
else
  # systemd < 254 puts the new main process into the service's cgroup,
  # which is an inner node while jails run: EBUSY.  254+ honours
  # DelegateSubgroup=supervisor and starts it in the leaf.
  v=$(systemctl --version | head -1 | cut -d' ' -f2)
  msg="systemctl restart jailerd with a jail running (systemd $v): $(journalctl -u jailerd -n 3 --no-pager -o cat | tr '\n' ' ')"
  if [ "$v" -lt 254 ]; then xfail "$msg"; else fail "$msg"; fi
  # The jail ends while jailerd is down; its report must still arrive.
  kill -KILL "$pid"
  for i in $(seq 100); do [ -e /run/jailer/jails/sd-long/report.json ] && break; sleep 0.1; done
  sleep 1
  systemctl reset-failed jailerd.service
  systemctl start jailerd.service
  check "jailerd starts again once the jail has ended" systemctl -q is-active jailerd.service
fi
out=$($CTL --json wait sd-long 2>&1)
note "wait sd-long: $out"
check "sd-long's report (SIGKILL) reaches the jailerd that runs now" grep -q '"signal":"SIGKILL"' <<< "$out"

systemctl stop jailerd.service jailerd.socket
check "stopping jailerd.socket removes the socket" test ! -e /run/jailer/jailerd.sock
finish
fi

# ================================================================== on the host
# shellcheck source=tests/lib/bounded.sh
. "$REPO/tests/lib/bounded.sh"
say() { echo "systemd-tier: $*" >&2; }
cannot_run() { say "cannot run here: $*"; exit 77; }
MODE=install
if [ "${1:-}" = --package ]; then
  MODE=package
  shift
fi
BUILD=${1:-${JAILER_BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
CACHE=${JAILER_VM_CACHE:-$REPO/tests/.vm}
ROOTFS=$CACHE/systemd-rootfs
[ "$(id -u)" = 0 ] || cannot_run "needs root"
for f in daemon/jailerd daemon/jailer-supervisor client/jailerctl tests/probe/probe; do
  [ -x "$BUILD/$f" ] || { say "$BUILD/$f is not built"; exit 1; }
done
for t in qemu-system-x86_64 debootstrap cpio gzip meson; do
  command -v $t > /dev/null || cannot_run "'$t' is missing (apt-get install qemu-system-x86 debootstrap cpio)"
done
mkdir -p "$CACHE" || cannot_run "cannot create $CACHE"

# 1. the guest's Debian, once
if [ ! -e "$ROOTFS/.complete" ]; then
  say "debootstrap bookworm into $ROOTFS (once; a few minutes)"
  rm -rf "$ROOTFS.tmp"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,libjson-c5,libcap2,libseccomp2,libsystemd0,procps,passwd \
    bookworm "$ROOTFS.tmp" "${JAILER_DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$CACHE/debootstrap.log" 2>&1 ||
    cannot_run "debootstrap failed: $(tail -2 "$CACHE/debootstrap.log" | tr '\n' ' ')"
  R=$ROOTFS.tmp
  echo jailer-vm > "$R/etc/hostname"
  : > "$R/etc/fstab"
  # No getty competing for the console; nothing to log in to.
  ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
  ln -sf /dev/null "$R/etc/systemd/system/getty@tty1.service"
  systemd-machine-id-setup --root="$R" > /dev/null 2>&1 || true
  touch "$R/.complete"
  rm -rf "$ROOTFS"
  mv "$R" "$ROOTFS"
fi

# 2. the kernel and modules run-in-vm.sh prepares, with our own /init
KDIR=$(ls -d "$CACHE"/kernel-* 2>/dev/null | tail -1)
if [ -z "$KDIR" ] || [ ! -s "$KDIR/initramfs.img" ]; then
  "$HERE/run-in-vm.sh" true > /dev/null 2>&1
  rc=$?
  [ $rc = 77 ] && cannot_run "run-in-vm.sh cannot prepare a guest kernel"
  KDIR=$(ls -d "$CACHE"/kernel-* 2>/dev/null | tail -1)
  [ -n "$KDIR" ] && [ -s "$KDIR/initramfs.img" ] || { say "no guest kernel (run-in-vm.sh rc=$rc)"; exit 125; }
fi
INITRD=$KDIR/systemd-initramfs.img
stamp=$( (cat "$KDIR/initramfs.img"; sed -n '/^write_init()/,/^}/p' "$0") | md5sum | cut -d' ' -f1)
write_init() {
cat > "$1" <<'EOF'
#!/bin/busybox sh
# Boot the guest's own systemd from the 9p share "sysroot".
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do [ -n "$m" ] && insmod "/modules/$m"; done < /modules/order
mkdir -p /newroot
o=trans=virtio,version=9p2000.L,msize=524288,cache=mmap
mount -t 9p -o $o,posixacl sysroot /newroot || mount -t 9p -o $o sysroot /newroot ||
  { echo "init: cannot mount the sysroot" > /dev/console; poweroff -f; }
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
EOF
}
if [ "$(cat "$INITRD.stamp" 2>/dev/null)" != "$stamp" ]; then
  t=$(mktemp -d "$CACHE/initrd.XXXXXX")
  (cd "$t" && gzip -dc "$KDIR/initramfs.img" | cpio -id --quiet) || { say "cannot unpack the initramfs"; exit 125; }
  write_init "$t/init"; chmod 755 "$t/init"
  (cd "$t" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD" && echo "$stamp" > "$INITRD.stamp"
  rm -rf "$t"
fi
KERNEL=$KDIR/vmlinuz
BIOS=()
[ -f /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom) && [ -s "$KDIR/vmlinux" ] && KERNEL=$KDIR/vmlinux

# 3. this run: an overlay of the cached root, the project installed in it
RUN=$(mktemp -d "$CACHE/systemd-run.XXXXXX")
MERGED=$RUN/root
QEMU_PID=
cleanup() {
  bg_stop "$QEMU_PID"
  umount "$MERGED" 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$RUN/upper" "$RUN/work" "$MERGED"
mount -t overlay -o "lowerdir=$ROOTFS,upperdir=$RUN/upper,workdir=$RUN/work" overlay "$MERGED" ||
  cannot_run "cannot mount an overlay of $ROOTFS"
if [ "$MODE" = package ]; then
  # The .deb files, built from the tree, and a copy with a bumped version.
  "$HERE/../package/build-debs.sh" "$MERGED/var/tmp/jailer-debs" > "$RUN/debs.log" 2>&1 ||
    { say "building the packages failed: $(tail -5 "$RUN/debs.log")"; exit 1; }
  GUEST_ARG=--guest-package
else
  meson install -C "$BUILD" --no-rebuild --quiet --destdir "$MERGED" > "$RUN/install.log" 2>&1 ||
    { say "meson install failed: $(tail -3 "$RUN/install.log")"; exit 1; }
  GUEST_ARG=--guest
fi
mkdir -p "$MERGED$PROBE_DIR"
cp "$BUILD/tests/probe/probe" "$MERGED$PROBE_DIR/probe"
cp "$0" "$MERGED$PROBE_DIR/systemd-tier.sh"
chmod 755 "$MERGED$PROBE_DIR/systemd-tier.sh"
cat > "$MERGED/etc/systemd/system/jailer-systemd-tier.service" <<EOF
[Unit]
Description=jailer systemd tier
After=multi-user.target
# simple, not oneshot: is-system-running --wait must not wait for us
[Service]
Type=simple
ExecStart=/bin/bash $PROBE_DIR/systemd-tier.sh $GUEST_ARG
[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$MERGED/etc/systemd/system/multi-user.target.wants"
ln -sf ../jailer-systemd-tier.service "$MERGED/etc/systemd/system/multi-user.target.wants/"
rm -f "$MERGED$RESULT" "$MERGED$LOG"

# 4. boot; the guest powers off when done
ACCEL=(-accel tcg,thread=multi -cpu max)
say "booting Debian bookworm with systemd ($(basename "$KDIR"), TCG); this takes a few minutes"
T0=$(date +%s)
# QEMU is started directly, so that QEMU_PID is QEMU's own pid.
qemu-system-x86_64 "${ACCEL[@]}" -smp 2 -m 2048 -machine pc \
  -nodefaults -no-user-config -display none -no-reboot "${BIOS[@]}" \
  -kernel "$KERNEL" -initrd "$INITRD" \
  -append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init mitigations=off systemd.show_status=0" \
  -chardev "file,id=con,path=$RUN/console.log" -serial chardev:con \
  -virtfs "local,path=$MERGED,mount_tag=sysroot,security_model=passthrough,multidevs=remap" \
  -nic none < /dev/null 2> "$RUN/qemu.err" &
QEMU_PID=$!
bg_wait "$QEMU_PID" "${JAILER_VM_TIMEOUT:-1500}"
qrc=$?
QEMU_PID=
say "guest ran $(( $(date +%s) - T0 ))s (qemu rc=$qrc)"
grep -a '^systemd-tier:' "$MERGED$LOG" 2>/dev/null || true
if [ ! -s "$MERGED$RESULT" ]; then
  say "the guest left no result; its console:"
  tail -40 "$RUN/console.log" | sed 's/^/    /' >&2
  tail -5 "$RUN/qemu.err" >&2
  exit 125
fi
. "$MERGED$RESULT"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]

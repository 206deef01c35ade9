# SPDX-License-Identifier: MIT
"""A real VMM in the jail: QEMU boots Debian's kernel with a tiny initramfs
(tests/vmm/make-initramfs.sh) under the config of examples/qemu.json.

Proven here, with the one-shot `jailer` and through jailerd (`jailerctl run`):
  - the guest boots: its marker line reaches the jail's stdout, exit 0;
  - QMP from the host: the socket QEMU creates inside the jail at
    /run/qmp.sock is <jail_root>/run/qmp.sock on the host; qmp_capabilities,
    query-status (running) and quit (the jail then ends) work;
  - a memory limit below what QEMU needs gets it OOM-killed and the exit
    report says so;
  - stopping a running VM (a signal to jailer, `jailerctl kill`) leaves
    nothing behind: no cgroup, no mount, the jail root as it was, no process;
  - what the running QEMU process is, seen from the host through /proc:
    no capabilities in any set, NoNewPrivs 1, Seccomp 2 (filter mode), the
    configured uid/gid, the jail's cgroup;
  - the jail's network namespace has only lo, and the documented way to add
    a tap (examples/README.md) works for the unprivileged QEMU;
  - a jail that joins a prepared network namespace with a tap of its own:
    the guest answers ping from a second namespace over a veth pair;
  - jailerd only: a stop during QEMU's start-up still ends the jail (SIGKILL
    after the grace period), and the console of a jail created without
    stdio is kept in its console.log;
  - every example config passes config validation.

Run as root from the repository root: /usr/bin/pytest-3 tests/test_vmm.py
(JAILER_BUILD names the build directory, default "build"; the guest is
prepared once in $JAILER_BUILD/vmm-guest, or in $JAILER_VMM_GUEST to share
one between build directories).  JAILER_VMM_ACCEL=kvm|tcg forces
the accelerator (default: KVM when it boots the guest here, else TCG).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import jailtest

sys.path.insert(0, str(Path(__file__).resolve().parent / "vmm"))
import vmm  # noqa: E402

BOOT_TIMEOUT = float(os.environ.get("JAILER_VMM_TIMEOUT", "180"))
# Kernel command line words that only make the guest boot sooner: the
# crypto self-tests are a third of a stock kernel's boot under emulation, and
# this guest uses no kernel crypto.  JAILER_VMM_KERNEL_ARGS adds more.
KERNEL_ARGS = " ".join(["cryptomgr.notests", os.environ.get("JAILER_VMM_KERNEL_ARGS", "")]).strip()
# How long a front end that overran its time may take to end after a
# SIGTERM (it passes it on, the one-shot jailer escalates to SIGKILL after
# 10 s, jailerd after its --kill-grace) before it is SIGKILLed.
STOP_GRACE = 60
JAILERCTL = jailtest.BUILD / "client" / "jailerctl"
JAILERD = jailtest.BUILD / "daemon" / "jailerd"
# Too small for QEMU itself (its binary, libraries and guest RAM as soon as
# the kernel is loaded): the jail must be OOM-killed, not fail to start.
OOM_LIMIT = 24 * 1024 * 1024


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def guest(built):
    """The guest directory (kernel, initramfs), prepared once per build dir."""
    try:
        return vmm.prepare_guest(os.environ.get("JAILER_VMM_GUEST") or jailtest.BUILD / "vmm-guest")
    except vmm.Unavailable as e:
        pytest.skip(f"no VMM guest on this machine: {e}")


@pytest.fixture(scope="session")
def accel_name(guest):
    return vmm.accel(guest)


def unused_uid():
    """A uid no process here has: any process of it after a run is the VM's."""
    while True:
        uid = random.randint(200_000, 2_000_000)
        if not jailtest.processes_of_uid(uid):
            return uid


class VM:
    """One jailed QEMU: its config (examples/qemu.json adapted to this
    machine), its jail root with run/ for the QMP socket, the way it is
    started (one-shot jailer or jailerctl run) and what it leaves behind."""

    def __init__(self, tmp, front, guest, accel_name, name):
        self.tmp = Path(tmp)
        self.front = front
        self.guest = guest
        self.accel = accel_name
        self.id = jailtest.unique_id(f"vmm-{name}")
        self.root = self.tmp / "root"
        self.uid = self.gid = unused_uid()
        self.cgroup_parent = jailtest.SESSION_CGROUP_PARENT
        self.created = vmm.make_jail_root(self.root, self.uid, self.gid)
        self.qmp_path = self.root / "run" / "qmp.sock"
        self.report_path = self.tmp / "report.json"
        self.proc = None
        self.out = self.err = ""
        # The host before the VM: compared with after it by assert_clean().
        self.mounts = jailtest.mount_keys()
        self.root_snap = jailtest.tree_snapshot(self.root)
        self.cgroups = jailtest.cgroup_tree(self.cgroup_parent)

    def config(self, mode="marker", memory=None, sandbox=True, devices=()):
        c = vmm.jail_config(guest=self.guest, jail_root=self.root, accel_name=self.accel,
                            mode=mode, jail_id=self.id, memory=memory,
                            cgroup_parent=self.cgroup_parent, sandbox=sandbox,
                            kernel_args=KERNEL_ARGS)
        c["uid"], c["gid"] = self.uid, self.gid
        c["devices"] = c.get("devices", []) + list(devices)
        if jailtest.CGROUP_VERSION:
            c["cgroup_version"] = jailtest.CGROUP_VERSION
        return c

    def start(self, mode="marker", memory=None, sandbox=True, devices=(), edit=None):
        """edit(config), when given, changes the config before it is used."""
        path = self.tmp / "qemu.json"
        cfg = self.config(mode, memory, sandbox, devices)
        if edit:
            edit(cfg)
        path.write_text(json.dumps(cfg, indent=2))
        self.proc = self.front.start(self, path)
        # Read the console as it comes, to know when the guest is up.
        self._lines = {"out": [], "err": []}
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(f, k), daemon=True)
                         for f, k in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for t in self._readers:
            t.start()
        return self.proc

    def _read(self, f, key):
        for line in f:
            with self._cond:
                self._lines[key].append(line)
                self._cond.notify_all()
        with self._cond:
            self._lines[key].append(None)   # end of stream
            self._cond.notify_all()

    def _collect(self):
        with self._cond:
            self.out = "".join(x for x in self._lines["out"] if x is not None)
            self.err = "".join(x for x in self._lines["err"] if x is not None)

    def wait_marker(self, timeout=BOOT_TIMEOUT):
        """Wait until the guest has printed its marker (it is up and running)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                lines = self._lines["out"]
                if any(x is not None and x.startswith(vmm.MARKER) for x in lines):
                    return
                left = deadline - time.monotonic()
                if None in lines or left <= 0:
                    break
                self._cond.wait(left)
        self.end_front()
        self.wait(timeout=30)
        raise AssertionError(f"no guest marker within {timeout}s\n{self.describe()}")

    def wait(self, timeout=BOOT_TIMEOUT):
        """Wait for the front end to exit; returns its exit status."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.end_front()
            for t in self._readers:
                t.join(timeout=STOP_GRACE)
            self._collect()
            raise AssertionError(f"the VM did not end within {timeout}s\n{self.describe()}")
        for t in self._readers:
            t.join(timeout=STOP_GRACE)
        self._collect()
        return self.proc.returncode

    def run(self, mode="marker", memory=None, timeout=BOOT_TIMEOUT):
        self.start(mode, memory)
        return self.wait(timeout)

    def report(self):
        return self.front.report(self)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def end_front(self):
        """End a front end that overran its time the way an operator does:
        SIGTERM, which it passes on to the jail and after which it cleans
        up; SIGKILL only if that has not ended it within STOP_GRACE seconds.
        A SIGKILLed one-shot jailer runs no more code: the jail dies with it,
        but the mountpoints it made in the jail root (proc, dev, one per
        bind) and its cgroup stay."""
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def wait_qmp(self, timeout=BOOT_TIMEOUT):
        ok = vmm.wait_for_socket(self.qmp_path, timeout, self.alive)
        if not ok:
            self.end_front()
            self.wait(timeout=30)
            raise AssertionError(f"no QMP socket at {self.qmp_path}\n{self.describe()}")

    def qemu_pid(self):
        return self.front.qemu_pid(self)

    def describe(self):
        return (f"front end: {self.front.name}, rc={self.proc.returncode if self.proc else None}\n"
                f"stdout: {self.out[-3000:]}\nstderr: {self.err[-3000:]}")

    def assert_clean(self, killed_vmm=False):
        """Nothing of the VM is left on the host.  killed_vmm: the VMM was
        SIGKILLed, so its control socket, which only it can remove, may stay
        in run/ (the operator's directory: removed with it)."""
        problems = []
        new_mounts = jailtest.mounts_touching(jailtest.mount_keys() - self.mounts, [self.tmp])
        if new_mounts:
            problems.append(f"new host mounts: {new_mounts}")
        after = jailtest.tree_snapshot(self.root)
        if killed_vmm and after:
            after.pop("./run/" + self.qmp_path.name, None)
        if after != self.root_snap:
            diff = sorted(k for k in set(self.root_snap) | set(after or {})
                          if self.root_snap.get(k) != (after or {}).get(k))
            problems.append(f"jail root changed: {diff}")
        leaves = jailtest.cgroup_dirs_named(self.cgroup_parent, self.id)
        if leaves:
            problems.append(f"cgroup left: {leaves}")
        live = [p for p in jailtest.processes_of_uid(self.uid) if jailtest.pid_alive(p)]
        if live:
            jailtest.kill_pids(live)   # the VM's own: this uid was unused before
            problems.append(f"processes left running: {live}")
        assert not problems, "\n".join(problems) + "\n" + self.describe()

    def cleanup(self):
        self.end_front()
        for d in jailtest.cgroup_dirs_named(self.cgroup_parent, self.id):
            jailtest.remove_cgroup_tree(d)
        jailtest.kill_pids([p for p in jailtest.processes_of_uid(self.uid)])
        vmm.remove_jail_root(self.created)


def children_of(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


class OneShot:
    """The one-shot CLI: jailer --config FILE --report FILE."""
    name = "jailer"

    def start(self, vm, config_path):
        argv = [str(jailtest.JAILER), "--config", str(config_path), "--report", str(vm.report_path)]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace")

    def report(self, vm):
        if not vm.report_path.exists() or not vm.report_path.stat().st_size:
            return None
        return json.loads(vm.report_path.read_text())

    def qemu_pid(self, vm, timeout=30):
        """The jailed process is jailer's child (PID 1 of the jail)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for kid in children_of(vm.proc.pid):
                try:
                    if os.readlink(f"/proc/{kid}/exe") == vmm.QEMU:
                        return kid
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"no QEMU child of jailer {vm.proc.pid}")

    def stop(self, vm):
        """What an operator does: a signal to jailer, which passes it on."""
        vm.proc.send_signal(signal.SIGTERM)


class Daemon:
    """jailerd and its client: jailerctl run --config FILE --report FILE,
    with jailerctl's stdio passed to the jail."""
    name = "jailerctl"

    def __init__(self):
        self.socket = None

    def ctl(self, *args, timeout=30):
        p = subprocess.run([str(JAILERCTL), "--socket", str(self.socket), *map(str, args)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        assert p.returncode == 0, f"jailerctl {' '.join(map(str, args))}: rc={p.returncode} {p.stderr}"
        return p.stdout

    def start(self, vm, config_path):
        argv = [str(JAILERCTL), "--socket", str(self.socket), "run", "--config", str(config_path),
                "--report", str(vm.report_path)]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace")

    report = OneShot.report

    def qemu_pid(self, vm, timeout=30):
        """The pid jailerd reports for the jail (status --json)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = subprocess.run([str(JAILERCTL), "--socket", str(self.socket), "--json", "status", vm.id],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=30)
            if p.returncode == 0:
                st = json.loads(p.stdout)
                if st.get("state") == "running":
                    return st["pid"]
            time.sleep(0.05)
        raise AssertionError(f"jailerd does not list {vm.id} as running")

    def stop(self, vm):
        self.ctl("kill", vm.id)


FRONTS = {"jailer": OneShot(), "jailerctl": Daemon()}
KILL_GRACE = 3   # jailerd --kill-grace for the session's daemon


@pytest.fixture(scope="session")
def jailerd(built, tmp_path_factory):
    """A private jailerd for the session: its own socket, state and jails
    directories, the session's cgroup parent; stopped (by pid) at the end
    with every jail it still holds."""
    missing = [str(p) for p in (JAILERD, JAILERCTL, JAILERD.parent / "jailer-supervisor")
               if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(f"jailerd not built: {', '.join(missing)}")
    d = tmp_path_factory.mktemp("jailerd")
    sock = d / "jailerd.sock"
    log = open(d / "jailerd.log", "w")
    proc = subprocess.Popen([str(JAILERD), "--socket", str(sock), "--state-dir", str(d / "state"),
                             "--jails-dir", str(d / "jails"),
                             "--cgroup-parent", jailtest.SESSION_CGROUP_PARENT,
                             "--supervisor", str(JAILERD.parent / "jailer-supervisor"),
                             "--kill-grace", str(KILL_GRACE), "--stop-jails-on-exit"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not vmm.wait_for_socket(sock, 30, lambda: proc.poll() is None):
            pytest.fail(f"jailerd did not start: {(d / 'jailerd.log').read_text()[-2000:]}",
                        pytrace=False)
        yield sock
    finally:
        jailtest.terminate(proc, 60)
        log.close()


@pytest.fixture(params=sorted(FRONTS))
def front(request):
    f = FRONTS[request.param]
    if isinstance(f, Daemon):
        f.socket = request.getfixturevalue("jailerd")
    return f


@pytest.fixture
def vm(front, guest, accel_name, tmp_path, request):
    v = VM(tmp_path, front, guest, accel_name, request.node.originalname.replace("test_", ""))
    yield v
    v.cleanup()


@pytest.fixture
def daemon_vm(jailerd, guest, accel_name, tmp_path, request):
    """A VM for what only the daemon does."""
    front = FRONTS["jailerctl"]
    front.socket = jailerd
    v = VM(tmp_path, front, guest, accel_name, request.node.originalname.replace("test_", ""))
    yield v
    v.cleanup()


# ------------------------------------------------------------------ tests

def test_boot_marker(vm):
    rc = vm.run()
    assert rc == 0, vm.describe()
    assert any(line.startswith(vmm.MARKER) for line in vm.out.splitlines()), vm.describe()
    rep = vm.report()
    assert rep is not None, vm.describe()
    assert rep["exit_code"] == 0 and rep["signal"] is None and not rep["oom_killed"], rep
    peak = jailtest.memory_peak(rep)
    assert rep["wall_time_us"] > 0 and rep["cpu_usage_us"] > 0 and (peak is None or peak > 0), rep
    vm.assert_clean()


def test_qmp_roundtrip_from_host(vm):
    vm.start(mode="wait")
    vm.wait_marker()
    vm.wait_qmp()
    # The socket QEMU made inside the jail, seen on the host under the jail root.
    st = os.stat(vm.qmp_path)
    assert st.st_uid == vm.uid, f"{vm.qmp_path} owned by {st.st_uid}, expected the jail's {vm.uid}"
    qmp = vmm.QMP(vm.qmp_path)
    try:
        assert "QMP" in qmp.greeting, qmp.greeting
        assert qmp.command("qmp_capabilities") == {"return": {}}
        status = qmp.command("query-status")
        assert status["return"]["status"] == "running" and status["return"]["running"] is True, status
        assert qmp.command("quit") == {"return": {}}
    finally:
        qmp.close()
    rc = vm.wait(timeout=60)
    assert rc == 0, vm.describe()
    assert any(line.startswith(vmm.MARKER) for line in vm.out.splitlines()), vm.describe()
    vm.assert_clean()


def test_oom_with_too_small_memory_limit(vm):
    rc = vm.run(memory=OOM_LIMIT)
    rep = vm.report()
    assert rep is not None, vm.describe()
    assert rep["oom_killed"] is True, f"report: {rep}\n{vm.describe()}"
    assert rep["signal"] == "SIGKILL" and rc == 128 + signal.SIGKILL, f"rc={rc} report: {rep}"
    assert not any(line.startswith(vmm.MARKER) for line in vm.out.splitlines())
    vm.assert_clean(killed_vmm=True)


def test_kill_running_vm_cleans_up(vm, front):
    vm.start(mode="wait")
    # A running VM (the guest is up): QEMU, PID 1 of the jail, has its
    # SIGTERM handler by then; before it does, the kernel drops a SIGTERM
    # sent to a namespace's init from outside.
    vm.wait_marker()
    pid = vm.qemu_pid()
    front.stop(vm)
    rc = vm.wait(timeout=60)
    # QEMU ends on SIGTERM by itself ("terminating on signal 15"), status 0.
    assert rc in (0, 128 + signal.SIGTERM), vm.describe()
    assert not jailtest.pid_alive(pid)
    vm.assert_clean()
    assert not vm.qmp_path.exists()


def test_overrun_is_stopped_and_leaves_nothing(vm):
    """A VM that overruns the time given to it (here: one that never ends,
    given a second) is stopped as an operator does, with SIGTERM to the
    front end, whatever QEMU is doing by then: the jail ends and nothing is
    left, not even the mountpoints the one-shot jailer made in the jail root
    (a SIGKILLed jailer cannot remove them)."""
    vm.start(mode="wait")
    with pytest.raises(AssertionError, match="did not end within"):
        vm.wait(timeout=1)
    assert vm.proc.returncode in (0, 128 + signal.SIGTERM, 128 + signal.SIGKILL), vm.describe()
    vm.assert_clean(killed_vmm=True)


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def test_running_qemu_seen_from_host(vm):
    # Without QEMU's own seccomp filter (-sandbox): the filter seen must be
    # the jail's.
    vm.start(mode="wait", sandbox=False)
    vm.wait_marker()
    vm.wait_qmp()
    pid = vm.qemu_pid()
    st = status_fields(pid)
    cgroups = Path(f"/proc/{pid}/cgroup").read_text()
    qmp = vmm.QMP(vm.qmp_path)
    try:
        qmp.command("qmp_capabilities")
        qmp.command("quit")
    finally:
        qmp.close()
    assert vm.wait(timeout=60) == 0, vm.describe()

    problems = []
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if int(st[cap], 16) != 0:
            problems.append(f"{cap} {st[cap]}")
    if st.get("NoNewPrivs") != "1":
        problems.append(f"NoNewPrivs {st.get('NoNewPrivs')}")
    if st["Uid"].split() != [str(vm.uid)] * 4:
        problems.append(f"Uid {st['Uid']} (configured {vm.uid})")
    if st["Gid"].split() != [str(vm.gid)] * 4:
        problems.append(f"Gid {st['Gid']} (configured {vm.gid})")
    if st.get("Groups", "") != "":
        problems.append(f"Groups {st['Groups']}")
    # The jail's cgroup in every hierarchy that has the limits (v1), or the
    # unified one (v2): a path ending in the jail's id.
    wanted = {"memory", "pids", "cpu"} if jailtest.effective_cgroup_version() == "v1" else {""}
    for line in cgroups.splitlines():
        _, ctrls, path = line.split(":", 2)
        if set(ctrls.split(",")) & wanted or (ctrls == "" and "" in wanted):
            if not path.rstrip("/").endswith("/" + vm.id):
                problems.append(f"cgroup {line!r} is not the jail's")
    # The jail's seccomp baseline (filter mode).
    if st.get("Seccomp") != "2":
        problems.append(f"Seccomp {st.get('Seccomp')} (expected 2: the jail's seccomp filter)")
    if "Seccomp_filters" in st and int(st["Seccomp_filters"]) < 1:
        problems.append(f"Seccomp_filters {st['Seccomp_filters']}")
    assert not problems, f"QEMU pid {pid}: " + "; ".join(problems) + f"\n{cgroups}"
    vm.assert_clean()


def test_kill_during_startup_ends_the_jail(daemon_vm):
    """A stop request while QEMU is still starting (its QMP socket is there,
    its SIGTERM handler may not be yet): the kernel drops a SIGTERM sent to a
    namespace's init that has no handler, so jailerd must escalate to
    SIGKILL after its grace period.  Either way the jail ends, cleanly.
    (The one-shot jailer forwards a signal once and has no grace period.)"""
    vm = daemon_vm
    vm.start(mode="wait")
    vm.wait_qmp()
    vm.front.stop(vm)
    rc = vm.wait(timeout=KILL_GRACE + 60)
    rep = vm.report()
    assert rep is not None, vm.describe()
    assert rc in (0, 128 + signal.SIGTERM, 128 + signal.SIGKILL), vm.describe()
    vm.assert_clean(killed_vmm=rep["signal"] == "SIGKILL")


def test_network_is_lo_only_until_the_operator_adds_a_tap(vm):
    """The jail's network namespace has only lo.  The documented way to give
    a VM a network (examples/README.md): root on the host creates a tap owned
    by the jail's uid inside that namespace, and the jailed, unprivileged
    QEMU attaches it through QMP (netdev_add + device_add)."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    nsenter = shutil.which("nsenter") or "/usr/bin/nsenter"
    if not (os.access(ip, os.X_OK) and os.access(nsenter, os.X_OK) and os.path.exists("/dev/net/tun")):
        pytest.skip("needs ip (iproute2), nsenter (util-linux) and /dev/net/tun")
    vm.start(mode="wait", devices=["/dev/net/tun"])
    vm.wait_marker()
    vm.wait_qmp()
    pid = vm.qemu_pid()
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")

    def in_netns(*args):
        p = subprocess.run([nsenter, f"--net=/proc/{pid}/ns/net", ip, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        assert p.returncode == 0, f"ip {' '.join(args)}: {p.stdout}"
        return p.stdout

    links = [line.split()[0] for line in in_netns("-br", "link").splitlines() if line.strip()]
    assert links == ["lo"], f"the jail's network namespace has {links}"
    in_netns("tuntap", "add", "tap0", "mode", "tap", "user", str(vm.uid), "group", str(vm.gid))
    in_netns("link", "set", "tap0", "up")
    qmp = vmm.QMP(vm.qmp_path)
    try:
        assert qmp.command("qmp_capabilities") == {"return": {}}
        r = qmp.command("netdev_add", type="tap", id="net0", ifname="tap0", script="no", downscript="no")
        assert r == {"return": {}}, f"QEMU (uid {vm.uid}, no capabilities) cannot open tap0: {r}"
        r = qmp.command("device_add", driver="virtio-net-pci", netdev="net0", id="nic0")
        assert r == {"return": {}}, r
        assert qmp.command("quit") == {"return": {}}
    finally:
        qmp.close()
    assert vm.wait(timeout=60) == 0, vm.describe()
    vm.assert_clean()


def test_guest_answers_ping_through_its_tap_in_a_joined_netns(vm):
    """The CNI shape (docs/vmm.md, "Networking"), built by the test: two
    network namespaces with a veth pair between them (link-local addresses
    only; the host's namespace is not touched).  QEMU, jailed with no
    capability as a fresh uid, joins the first one ("netns") and opens the
    tap the jailer made for it ("taps"); the operator's side splices the tap
    onto the veth as tc-redirect-tap does (tc mirred, both ways).  The guest
    brings up virtio-net at 169.254.77.3 and answers ping from the second
    namespace.  When the VM is stopped its tap is gone."""
    import test_netns as tn
    if not (vm.guest / "modules" / "virtio_pci.ko").exists():
        pytest.skip("the guest has no virtio-net module (make-initramfs.sh could not fetch it)")
    for tool in ("ip", "tc", "busybox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    host_before = tn.host_net_state()
    nets = tn.Nets()
    try:
        nets.create()

        def join(c):
            args = c["exec_args"]
            i = args.index("-nic")
            args[i:i + 2] = ["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
                             "-device", "virtio-net-pci,netdev=n0,mac=02:00:00:00:00:03"]
            i = args.index("-append")
            args[i + 1] += " jailer.ip=169.254.77.3/24"
            c["namespaces"].pop("network")
            c["netns"] = nets.path(nets.a)
            c["taps"] = [{"name": "tap0", "vnet_hdr": True}]

        vm.start(mode="net", edit=join)
        deadline = time.monotonic() + 60
        while "tap0" not in tn.taps_in(nets.a) and vm.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        tap = tn.taps_in(nets.a).get("tap0")
        assert tap, vm.describe()
        assert tap["linkinfo"]["info_data"]["user"] == vm.uid
        for dev, to in ((nets.va, "tap0"), ("tap0", nets.va)):
            tn.ip("netns", "exec", nets.a, "tc", "qdisc", "add", "dev", dev, "ingress")
            tn.ip("netns", "exec", nets.a, "tc", "filter", "add", "dev", dev, "parent", "ffff:", "protocol", "all",
                  "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", to)
        vm.wait_marker()
        pid = vm.qemu_pid()
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(nets.path(nets.a)).st_ino
        status = Path(f"/proc/{pid}/status").read_text()
        assert "CapEff:\t0000000000000000" in status, status
        answered = None
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline and vm.alive():
            p = subprocess.run(["ip", "netns", "exec", nets.b, "busybox", "ping", "-c", "1", "-W", "1", "169.254.77.3"],
                               capture_output=True, text=True)
            if p.returncode == 0:
                answered = p.stdout
                break
        assert answered and "1 packets received" in answered, vm.describe()
        vm.front.stop(vm)
        vm.wait(timeout=60)
        assert "tap0" not in tn.links(nets.a), tn.links(nets.a)
        vm.assert_clean(killed_vmm=True)
    finally:
        nets.delete()
    assert tn.host_net_state() == host_before, "the host's network namespace changed"


@pytest.mark.parametrize("name", ["qemu.json", "firecracker.json", "cloud-hypervisor.json", "qemu-net.json",
                                  "firecracker-net.json", "cloud-hypervisor-net.json"])
def test_example_config_validates(built, name):
    """Every example passes config validation: jailer stops later (the jail
    root or the VMM binary is not on this machine), never at the config."""
    p = subprocess.run([str(jailtest.JAILER), "--config", str(vmm.REPO / "examples" / name),
                        "--cgroup-parent", jailtest.SESSION_CGROUP_PARENT, "--timeout", "1"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    assert not p.stderr.startswith("jailer: config:"), p.stderr
    if p.returncode in (125, 126, 127):
        # A failed start names its step: rootfs (no jail root here) or exec.
        assert p.stderr.startswith(("jailer: rootfs:", "jailer: exec:")), p.stderr


def test_console_of_a_jail_without_stdio_is_kept(daemon_vm):
    """A VM created without stdio (jailerctl create): its serial console goes
    to jailerd's log (journald, JAIL_ID=) and to console.log in the jail's
    state directory, where the operator finds the guest's marker."""
    vm, front = daemon_vm, daemon_vm.front
    path = vm.tmp / "qemu.json"
    path.write_text(json.dumps(vm.config(), indent=2))
    out = front.ctl("create", "--config", path)
    assert vm.id in out, out
    report = json.loads(front.ctl("--json", "wait", vm.id, timeout=BOOT_TIMEOUT))
    assert report["exit_code"] == 0, report
    console = front.socket.parent / "state" / "jails" / vm.id / "console.log"
    text = console.read_text()
    # The console as the guest wrote it (jailerctl logs reads it back).
    assert any(vmm.MARKER in line for line in text.splitlines()), text
    vm.assert_clean()

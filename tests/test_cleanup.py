# SPDX-License-Identifier: MIT
"""Nothing is left behind, whatever way a jail ends: no mount in the host's
namespace, the jail root exactly as it was (gone if jailer created it), no
cgroup directory in any hierarchy, no process of the jail's uid."""
import os
import random
import stat
import subprocess
import time

import pytest

import jailtest

TUN = "/dev/net/tun"


def unused_uid():
    """A uid no process on this machine has, so that any process of it after
    the run is one this test started."""
    while True:
        uid = random.randint(200_000, 2_000_000)
        if not jailtest.processes_of_uid(uid):
            return uid


class HostState:
    """Snapshot of everything a jail could leave behind."""

    def __init__(self, jail, uid):
        self.jail = jail
        self.uid = uid
        self.mounts = jailtest.mount_keys()
        self.root = jailtest.tree_snapshot(jail.root)
        self.cgroups = jailtest.cgroup_tree(jail.cgroup_parent)

    def assert_unchanged(self, extra_pids=()):
        j = self.jail
        problems = []
        new_mounts = jailtest.mount_keys() - self.mounts
        touching = jailtest.mounts_touching(new_mounts, [j.tmp])
        if touching:
            problems.append(f"new host mounts: {touching}")
        after = jailtest.tree_snapshot(j.root)
        if after != self.root:
            if self.root is None:
                problems.append(f"jail root left behind: {sorted(after or {})}")
            else:
                diff = {k for k in set(self.root) | set(after or {})
                        if self.root.get(k) != (after or {}).get(k)}
                problems.append(f"jail root changed: {sorted(diff)}")
        leaves = jailtest.cgroup_dirs_named(j.cgroup_parent, j.id)
        if leaves:
            problems.append(f"cgroup left: {leaves}")
        new_cgroups = jailtest.cgroup_tree(j.cgroup_parent) - self.cgroups
        if new_cgroups:
            problems.append(f"new cgroup directories: {sorted(new_cgroups)}")
        live = [p for p in jailtest.processes_of_uid(self.uid) if jailtest.pid_alive(p)]
        live += [p for p in extra_pids if jailtest.pid_alive(p) and p not in live]
        if live:
            jailtest.kill_pids(live)     # ours: started by this test, as this uid
            problems.append(f"processes left running: {live}")
        assert not problems, "\n".join(problems)


def populate_root(root):
    """A jail root that already has content, including a mountpoint."""
    root.mkdir()
    (root / "keep.txt").write_text("pre-existing\n")
    (root / "data").mkdir()
    (root / "sub").mkdir(mode=0o750)
    (root / "sub" / "nested.bin").write_bytes(b"\0" * 100)
    (root / "link").symlink_to("keep.txt")
    os.chmod(root, 0o755)


SCENARIOS = {
    # name: (probe args, extra flags, expected status)
    "success": (("exit", "0"), [], 0),
    "failure": (("exit", "9"), [], 9),
    "signal": (("kill", "TERM"), ["--no-pid-ns"], 128 + 15),
    "fault": (("fault", "segv"), [], 128 + 11),
    "oom": (("alloc", "256"), ["--memory", "32M"], 128 + 9),
    "timeout": (("sleep", "30"), ["--timeout", "300"], 128 + 9),
    "orphans": (("forks", "3", "--leave"), [], 0),
    "orphans-no-pid-ns": (("forks", "3", "--leave"), ["--no-pid-ns"], 0),
    "refused-missing-bind-source": (("report",), ["--bind", "/nonexistent-jailer-test:/x"], 125),
    "refused-missing-workdir": (("report",), ["--workdir", "/no-such-workdir"], 125),
    "refused-missing-device": (("report",), ["--device", "/dev/nonexistent-jailer-test"], 125),
    "exec-not-found": (("report",), ["EXEC:missing"], 127),
    "exec-not-executable": (("report",), ["EXEC:noexec"], 126),
}


@pytest.mark.parametrize("root_state", ["absent", "present"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_nothing_left_behind(jail, tmp_path, shared_dir, scenario, root_state):
    probe_args, extra, expected = SCENARIOS[scenario]
    uid = unused_uid()
    if root_state == "present":
        populate_root(jail.root)
    kernel = tmp_path / "kernel.img"
    kernel.write_bytes(b"fake kernel\n")

    flags = ["--uid", str(uid), "--gid", str(uid),
             "--bind", f"{shared_dir}:/data:rw",             # mountpoint exists when present
             "--bind", f"{kernel}:/boot/deep/kernel.img"]     # mountpoints to create
    if os.path.exists(TUN) and stat.S_ISCHR(os.stat(TUN).st_mode):
        flags += ["--device", TUN]
    exec_path = None
    for f in extra:
        if f == "EXEC:missing":
            exec_path = tmp_path / "no-such-program"
        elif f == "EXEC:noexec":
            exec_path = tmp_path / "not-executable"
            exec_path.write_bytes(b"\x7fELF")
            exec_path.chmod(0o644)
        else:
            flags.append(f)

    state = HostState(jail, uid)
    res = jail.run(*probe_args, flags=flags, exec_path=exec_path)
    assert res.rc == expected, res
    if expected in (125, 126, 127):
        assert res.json is None, res
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("jailer: "), res.stderr
    else:
        jailtest.assert_report_shape(res.report, jail.id)
    children = []
    forks = res.line("forks")
    if forks and "--no-pid-ns" in flags:
        children = forks["children"]     # host pids: no pid namespace
        assert len(children) == 3, forks
    state.assert_unchanged(extra_pids=children)


def test_jailer_created_root_is_removed(jail):
    assert not jail.root.exists()
    res = jail.run("exit", "0")
    assert res.rc == 0, res
    assert not jail.root.exists()


def test_refusal_before_anything_leaves_parent_dirs_alone(jail, tmp_path):
    """A jail root whose parent does not exist: jailer may create the jail
    root, but nothing above it may appear or stay."""
    root = tmp_path / "a" / "b" / "root"
    before = jailtest.tree_snapshot(tmp_path)
    res = jail.run("report", jail_root=root, flags=["--bind", "/nonexistent-jailer-test:/x"])
    assert res.rc == 125, res
    after = jailtest.tree_snapshot(tmp_path)
    ignored = lambda snap: {k: v for k, v in snap.items() if not k.startswith("./report-")}
    assert ignored(after) == ignored(before)


def test_sequential_jails_same_id(jail):
    """Clean-up is complete enough that the same id can be used again at once."""
    for _ in range(3):
        res = jail.run("exit", "0")
        assert res.rc == 0, res
    assert not jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id)


def _jail_pids(jail):
    """The pids in the jail's cgroup (any hierarchy), as the host sees them."""
    pids = set()
    for d in jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id):
        pids.update(jailtest.cgroup_procs(d))
    return pids


@pytest.mark.parametrize("pidns", ["pid-ns", "no-pid-ns"])
def test_jail_dies_with_a_killed_jailer(jail, pidns):
    """SIGKILL the jailer CLI itself (nothing of it runs any more, no clean-up
    code): the jailed program must not run on as an orphan.  The
    parent-death signal has to survive the jail's change of uid, which
    clears it."""
    flags = [] if pidns == "pid-ns" else ["--no-pid-ns"]
    argv = jail.argv(("sleep", "300"), flags=flags)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        pids = set()
        while time.monotonic() < deadline:
            pids = _jail_pids(jail)
            # Under the filter: past the last step of set-up, after the
            # death signal was re-armed.
            if pids and all(_status_of(p, "Seccomp") == "2" for p in pids):
                break
            assert proc.poll() is None, f"jailer exited {proc.returncode} before the jail ran"
            time.sleep(0.05)
        assert pids, "the jail never showed up in its cgroup"
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(jailtest.pid_alive(p) for p in pids):
            time.sleep(0.05)
        alive = [p for p in pids if jailtest.pid_alive(p)]
        assert not alive, f"jailed processes {alive} outlived the SIGKILLed jailer"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _status_of(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split()[1]
    except OSError:
        pass
    return None

# SPDX-License-Identifier: MIT
"""Isolation, proven from inside the jail: the probe reports what the jailed
process sees and can do, and each test asserts one property of the spec."""
import os
import sys
import socket
import stat

import pytest

import jailtest
from jailtest import NOBODY

ZERO_CAPS = "0000000000000000"
BASE_DEV = {  # name: (major, minor), all crw-rw-rw-
    "/dev/null": (1, 3),
    "/dev/zero": (1, 5),
    "/dev/urandom": (1, 9),
}
KVM = ("/dev/kvm", (10, 232))
TUN = ("/dev/net/tun", (10, 200))
NAMESPACES = ("user", "pid", "mnt", "net", "uts", "ipc", "cgroup")


def host_has(path):
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def idmap(lines):
    """["  65534  65534  1"] -> [(65534, 65534, 1)]"""
    return [tuple(int(x) for x in line.split()) for line in lines]


def mount_at(report, mountpoint):
    """The topmost mount at mountpoint in the probe's mount table."""
    hits = [m for m in report["mounts"] if m["mountpoint"] == mountpoint]
    assert hits, f"nothing mounted at {mountpoint}: {report['mountinfo']}"
    return hits[-1]


def opts(m):
    return set(m["options"].split(","))


def check(report, path):
    for c in report["checks"]:
        if c["path"] == path:
            return c
    raise KeyError(path)


# ------------------------------------------------------------------ identity

def test_default_uid_gid_is_nobody(jail):
    r = jail.probe_report()
    assert (r["uid"], r["euid"], r["suid"]) == (NOBODY,) * 3
    assert (r["gid"], r["egid"], r["sgid"]) == (NOBODY,) * 3
    # The same ids on the host: the user namespace maps the jail's uid to
    # itself, never to root.
    assert idmap(r["uid_map"]) == [(NOBODY, NOBODY, 1)]
    assert idmap(r["gid_map"]) == [(NOBODY, NOBODY, 1)]


def test_custom_uid_gid(jail):
    r = jail.probe_report(flags=["--uid", "1234", "--gid", "4321"])
    assert (r["uid"], r["euid"], r["suid"]) == (1234,) * 3
    assert (r["gid"], r["egid"], r["sgid"]) == (4321,) * 3
    assert idmap(r["uid_map"]) == [(1234, 1234, 1)]
    assert idmap(r["gid_map"]) == [(4321, 4321, 1)]


def test_host_sees_the_jail_uid(jail, shared_dir):
    """A file the jailed program creates belongs to the jail's uid/gid on the
    host too (so host-side it is never root)."""
    res = jail.run("write", "/data/made-inside",
                   flags=["--uid", "1234", "--gid", "4321", "--bind", f"{shared_dir}:/data:rw"])
    assert res.rc == 0, res
    st = os.stat(shared_dir / "made-inside")
    assert (st.st_uid, st.st_gid) == (1234, 4321)


def test_no_supplementary_groups(jail):
    r = jail.probe_report()
    assert r["groups"] == []


# Groups a caller run through sudo typically has (root in adm and sudo).
CALLER_GROUPS = "4,27"


@pytest.mark.parametrize("userns", ["user-ns", "no-user-ns"])
def test_no_supplementary_groups_even_when_the_caller_has_some(jail, userns):
    """The runner's root has no supplementary groups, so the test above
    cannot tell whether jailer clears them: give jailer's caller some first.
    With a user namespace an uncleared group would show as the overflow gid,
    without one as itself."""
    flags = [] if userns == "user-ns" else ["--no-user-ns"]
    res = jail.run("report", flags=flags, wrap=["setpriv", "--groups", CALLER_GROUPS, "--"])
    assert res.rc == 0, res
    assert res.json["groups"] == [], res.json["groups"]


def test_setgroups_denied_in_the_user_namespace(jail):
    """setgroups is denied before gid_map is written: no process of the jail
    can ever call setgroups(), whatever capability it regains inside."""
    assert jail.probe_report()["setgroups"] == ["deny"]


def test_all_capability_sets_empty(jail):
    r = jail.probe_report()
    assert r["caps"] == {k: ZERO_CAPS for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def test_capability_sets_empty_even_when_the_caller_has_inheritable_and_ambient(jail):
    """Root's inheritable and ambient sets are usually empty, which would hide
    a jailer that forgets them: give the caller some first."""
    wrap = ["setpriv", "--inh-caps", "+net_raw,+sys_admin", "--ambient-caps", "+net_raw,+sys_admin", "--"]
    res = jail.run("report", wrap=wrap)
    assert res.rc == 0, res
    assert res.json["caps"] == {k: ZERO_CAPS for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


# SECBIT_NOROOT, _NOROOT_LOCKED, _NO_SETUID_FIXUP_LOCKED, _KEEP_CAPS_LOCKED,
# _NO_CAP_AMBIENT_RAISE, _NO_CAP_AMBIENT_RAISE_LOCKED
LOCKED_SECUREBITS = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 6) | (1 << 7)


def test_securebits_locked(jail):
    assert jail.probe_report()["securebits"] == LOCKED_SECUREBITS


@pytest.mark.parametrize("seccomp", ["default", "none"])
def test_no_new_privs(jail, seccomp):
    """Set by jailer itself, not only as a side effect of a seccomp filter."""
    r = jail.probe_report(flags=["--seccomp", seccomp])
    assert r["no_new_privs"] == 1
    assert r["no_new_privs_prctl"] == 1


# The jailer's parent ignores SIGUSR1 and SIGHUP (and SIGPIPE, as Python
# does) and blocks SIGUSR2; all of that survives its execve of the jailer.
IGNORE_AND_BLOCK = [sys.executable, "-c",
                    "import os, signal, sys\n"
                    "signal.signal(signal.SIGUSR1, signal.SIG_IGN)\n"
                    "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
                    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})\n"
                    "os.execv(sys.argv[1], sys.argv[1:])"]


def test_signals_default_whatever_the_parent_had(jail):
    """Ignored dispositions and the blocked mask survive execve: the jailed
    program starts with every signal at its default and none blocked, even
    when the jailer was started with some ignored and some blocked."""
    r = jail.probe_report(wrap=IGNORE_AND_BLOCK)
    assert r["signals"] == {"ignored": "0" * 16, "blocked": "0" * 16}, r["signals"]


def test_seccomp_mode(jail):
    """A filter by default, and one that denies: unshare(0), a no-op that
    always succeeds without a filter, gets EPERM (an allow-all filter would
    pass the mode check alone)."""
    r = jail.probe_report()
    assert r["seccomp"] == 2
    assert r["filtered"]["unshare0"] == "EPERM", r["filtered"]
    r = jail.probe_report(flags=["--seccomp", "none"])
    assert r["seccomp"] == 0
    assert r["filtered"]["unshare0"] is None, r["filtered"]


def test_terminal_injection_ioctls_filtered(jail):
    """TIOCSTI and TIOCLINUX are denied by the filter itself.  On fd -1 the
    kernel answers EBADF; only the filter (which looks at the request before
    the fd) answers EPERM.  (On a real terminal setsid() alone already makes
    TIOCSTI fail with EPERM, which would hide a missing rule.)"""
    r = jail.probe_report()
    assert r["filtered"]["tiocsti"] == "EPERM", r["filtered"]
    assert r["filtered"]["tioclinux"] == "EPERM", r["filtered"]
    r = jail.probe_report(flags=["--seccomp", "none"])
    assert r["filtered"]["tiocsti"] == "EBADF", r["filtered"]
    assert r["filtered"]["tioclinux"] == "EBADF", r["filtered"]


# ------------------------------------------------------------------ process

def test_pid_one_in_own_pid_namespace(jail):
    res = jail.run("report")
    assert res.rc == 0, res
    r = res.json
    assert r["pid"] == 1
    assert r["ppid"] == 0
    # The jail's /proc belongs to its pid namespace: NStgid starts there.
    assert r["nstgid"].split() == ["1"]
    assert res.report["pid"] > 1


def test_pid_one_is_shielded_from_its_own_signals(jail):
    """Only the init of a new pid namespace ignores a default-action signal
    sent from inside it: the probe survives its own SIGTERM."""
    res = jail.run("kill", "TERM")
    assert res.rc == 1, res
    assert res.line("kill").get("survived") is True


def test_own_session(jail):
    r = jail.probe_report()
    assert r["sid"] == r["pid"]
    assert r["pgid"] == r["pid"]


def test_fds_0_to_2_only(jail):
    """jailer is handed an extra open fd (jailtest does it on every run): it
    must not reach the jail, nor anything jailer itself opened."""
    r = jail.probe_report()
    assert sorted(f["fd"] for f in r["fds"]) == [0, 1, 2], r["fds"]


def test_environment_empty_by_default(jail):
    r = jail.probe_report()
    assert r["environ"] == []


def test_environment_exactly_the_env_flags(jail):
    r = jail.probe_report(flags=["--env", "ALPHA=1", "--env", "BETA=two=2", "--env", "EMPTY="])
    assert sorted(r["environ"]) == ["ALPHA=1", "BETA=two=2", "EMPTY="]


def test_workdir_default_is_root(jail):
    assert jail.probe_report()["cwd"] == "/"


def test_workdir(jail, shared_dir):
    r = jail.probe_report(flags=["--bind", f"{shared_dir}:/data", "--workdir", "/data"])
    assert r["cwd"] == "/data"


def test_cgroup_view_is_root(jail):
    r = jail.probe_report()
    assert r["cgroup"], "empty /proc/self/cgroup"
    for line in r["cgroup"]:
        assert line.split(":", 2)[2] == "/", r["cgroup"]


def test_every_namespace_is_new(jail):
    r = jail.probe_report()
    for ns in NAMESPACES:
        assert r["namespaces"][ns] != jailtest.ns_inode(ns), ns


# ------------------------------------------------------------------ uts, net

def test_hostname_defaults_to_id(jail):
    host = socket.gethostname()
    assert jail.probe_report()["hostname"] == jail.id
    assert socket.gethostname() == host


def test_hostname_flag(jail):
    assert jail.probe_report(flags=["--hostname", "vmm-host"])["hostname"] == "vmm-host"


def test_network_only_loopback(jail):
    r = jail.probe_report()
    assert [i["name"] for i in r["interfaces"]] == ["lo"]
    assert r["interfaces"][0]["loopback"] is True


# ------------------------------------------------------------------ filesystem

def test_root_is_the_jail_root(jail):
    jail.root.mkdir()
    (jail.root / "visible-inside").write_text("jail root content\n")
    r = jail.probe_report(checks=["/visible-inside"])
    assert check(r, "/visible-inside")["exists"], "the jail root's own file is not at /"
    root = mount_at(r, "/")
    # mountinfo's root field is the path within the source file system.
    assert str(jail.root).endswith(root["root"]) and root["root"] != "/", root


def test_root_reached_through_a_root_owned_symlink(jail, tmp_path):
    """A jail root whose path goes through a symlink root owns (as /var/run
    -> /run on many hosts) is the directory it leads to; the child, which
    re-opens the path in its own mount namespace following no symlink at
    first, takes the trusted walk for it."""
    real = tmp_path / "real"
    (real / "jr").mkdir(parents=True)
    (real / "jr" / "visible-inside").write_text("through the link\n")
    link = tmp_path / "link"
    link.symlink_to(real)
    assert link.lstat().st_uid == 0 and os.geteuid() == 0
    r = jail.probe_report(checks=["/visible-inside"], jail_root=link / "jr")
    assert check(r, "/visible-inside")["exists"], "the directory behind the link is not at /"
    assert mount_at(r, "/")["root"].endswith("/real/jr"), mount_at(r, "/")


def test_mount_table_has_nothing_of_the_host(jail):
    r = jail.probe_report()
    mps = [m["mountpoint"] for m in r["mounts"]]
    devs = {p for p in BASE_DEV} | {KVM[0]}
    proc = mount_at(r, "/proc")
    assert proc["fstype"] == "proc"
    # Hardening of the jail's own proc is allowed below /proc, read-only:
    # views of the same proc instance (/proc/sys) and the null device
    # mounted over files that must not be read (/proc/kallsyms...).
    proc_ro = [m["mountpoint"] for m in r["mounts"] if m["mountpoint"].startswith("/proc/")
               and "ro" in opts(m)
               and (m["dev"] == proc["dev"] or m["root"] in ("/null", "/dev/null"))]
    unexpected = [mp for mp in mps if mp not in ("/", "/proc", "/dev") and mp not in devs
                  and mp not in proc_ro]
    assert not unexpected, r["mountinfo"]
    dev = mount_at(r, "/dev")
    assert dev["fstype"] == "tmpfs"
    assert {"nosuid", "noexec", "ro"} <= opts(dev), dev


def test_root_mount_is_nosuid_nodev(jail):
    """The jail root is mounted nosuid,nodev: a setuid file or a device node
    someone put into the jail root gives nothing (no_new_privs would hide a
    missing nosuid from an exec test, so the options are checked)."""
    r = jail.probe_report()
    root = mount_at(r, "/")
    assert {"nosuid", "nodev"} <= opts(root), root


def test_proc_sys_is_read_only(jail):
    r = jail.probe_report()
    m = mount_at(r, "/proc/sys")
    assert m["fstype"] == "proc" and "ro" in opts(m), m


# What jailer masks in the jail's /proc when the kernel has it (common/mount.c).
MASKED_PROC = ("/proc/kallsyms", "/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/timer_list",
               "/proc/sched_debug", "/proc/latency_stats", "/proc/sysrq-trigger")


def test_proc_kernel_files_masked_by_the_null_device(jail):
    """Masked means the null device is mounted on top, read-only: the file
    reads as empty and writes go nowhere, whatever the host's sysctls
    (kptr_restrict, perf_event_paranoid) would have shown."""
    present = [p for p in MASKED_PROC if os.path.exists(p)]
    if not present:
        pytest.skip("this kernel has none of the masked /proc files")
    r = jail.probe_report(checks=present)
    for p in present:
        c = check(r, p)
        assert c["exists"] and c["type"] == "c" and (c["major"], c["minor"]) == (1, 3), c
        m = mount_at(r, p)
        assert "ro" in opts(m), m


def test_dev_contents_exact(jail):
    r = jail.probe_report()
    expected = dict(BASE_DEV)
    if host_has(KVM[0]):
        expected[KVM[0]] = KVM[1]
    seen = {d["path"]: d for d in r["dev"]}
    assert set(seen) == set(expected), sorted(seen)
    for path, (major, minor) in expected.items():
        d = seen[path]
        assert d["type"] == "c" and (d["major"], d["minor"]) == (major, minor), d
    for path in BASE_DEV:
        assert seen[path]["mode"] == 0o666, seen[path]


def test_dev_nodes_work(jail):
    r = jail.probe_report(checks=list(BASE_DEV))
    for path in BASE_DEV:
        c = check(r, path)
        assert c["readable"] and c["writable"], c


def test_dev_is_read_only(jail):
    r = jail.probe_report(checks=["/dev"])
    c = check(r, "/dev")
    assert not c["writable"] and c["write_errno"] == "EROFS", c


@pytest.mark.skipif(not host_has(KVM[0]), reason="the host has no /dev/kvm")
def test_kvm_usable_by_the_jail_user(jail):
    r = jail.probe_report(checks=[KVM[0]])
    c = check(r, KVM[0])
    assert c["exists"] and c["type"] == "c" and (c["major"], c["minor"]) == KVM[1], c
    assert c["readable"] and c["writable"], c


@pytest.mark.skipif(not host_has(KVM[0]), reason="the host has no /dev/kvm")
@pytest.mark.parametrize("uid", [NOBODY, 1234])
def test_kvm_mode_0600_owned_by_the_jail_user(jail, uid):
    """/dev/kvm belongs to the jail's uid alone: mode 0600, not world-usable
    (another jail sharing a uid range, or a process that changed uid, must
    not reach it).  Inside the user namespace an unmapped owner (root) shows
    as 65534, so only the 1234 case can tell a root-owned node apart."""
    r = jail.probe_report(checks=[KVM[0]], flags=["--uid", str(uid), "--gid", str(uid)])
    c = check(r, KVM[0])
    assert c["exists"] and c["type"] == "c", c
    assert (c["mode"], c["uid"], c["gid"]) == (0o600, uid, uid), c


@pytest.mark.skipif(not host_has(TUN[0]), reason="the host has no /dev/net/tun")
@pytest.mark.parametrize("uid", [NOBODY, 1234])
def test_device_flag_adds_usable_node(jail, uid):
    r = jail.probe_report(checks=[TUN[0]], flags=["--device", TUN[0], "--uid", str(uid)])
    c = check(r, TUN[0])
    assert c["exists"] and c["type"] == "c" and (c["major"], c["minor"]) == TUN[1], c
    assert c["uid"] == uid, c
    assert c["readable"] and c["writable"], c
    seen = {d["path"] for d in r["dev"] if d["type"] == "c"}
    assert TUN[0] in seen


def test_host_files_invisible(jail, host_marker):
    secret = "/etc/shadow"
    r = jail.probe_report(checks=[str(host_marker), secret, "/etc", "/tmp", "/home", "/root",
                                  str(jailtest.REPO), str(jailtest.PROBE)])
    for c in r["checks"]:
        assert not c["exists"] and c["errno"] == "ENOENT", c


def test_jail_root_not_writable(jail):
    r = jail.probe_report(checks=["/"])
    c = check(r, "/")
    assert not c["writable"] and c["write_errno"] in ("EACCES", "EROFS"), c


def test_bind_read_only_by_default(jail, shared_dir):
    res = jail.run("report", "--check-path", "/data/existing", "--check-path", "/data",
                   flags=["--bind", f"{shared_dir}:/data"])
    assert res.rc == 0, res
    r = res.json
    f = check(r, "/data/existing")
    assert f["readable"], f
    assert not f["writable"] and f["write_errno"] == "EROFS", f
    d = check(r, "/data")
    assert not d["writable"] and d["write_errno"] == "EROFS", d
    m = mount_at(r, "/data")
    assert {"ro", "nosuid", "nodev"} <= opts(m), m
    res = jail.run("write", "/data/new", flags=["--bind", f"{shared_dir}:/data:ro"])
    assert res.rc == 1 and res.line("write")["errno"] == "EROFS", res
    assert not (shared_dir / "new").exists()


def test_bind_read_write(jail, shared_dir):
    res = jail.run("write", "/data/new", flags=["--bind", f"{shared_dir}:/data:rw"])
    assert res.rc == 0, res
    assert (shared_dir / "new").read_text() == "written by probe\n"
    r = jail.probe_report(flags=["--bind", f"{shared_dir}:/data:rw"])
    m = mount_at(r, "/data")
    assert "rw" in opts(m) and {"nosuid", "nodev"} <= opts(m), m


def test_bind_file(jail, tmp_path):
    src = tmp_path / "kernel.img"
    src.write_bytes(b"\x7fELF fake kernel")
    r = jail.probe_report(checks=["/kernel"], flags=["--bind", f"{src}:/kernel"])
    c = check(r, "/kernel")
    assert c["type"] == "f" and c["size"] == src.stat().st_size and c["readable"], c
    assert not c["writable"], c


# ------------------------------------------------------------------ rlimits

def test_rlimit_defaults(jail):
    rl = jail.probe_report()["rlimits"]
    assert rl["NOFILE"] == {"soft": 1024, "hard": 1024}
    assert rl["NPROC"] == {"soft": 64, "hard": 64}
    assert rl["FSIZE"] == {"soft": "unlimited", "hard": "unlimited"}
    assert rl["CORE"] == {"soft": 0, "hard": 0}


def test_rlimit_flags(jail):
    rl = jail.probe_report(flags=["--max-fds", "100", "--max-procs", "20",
                                  "--max-file-size", "1M"])["rlimits"]
    assert rl["NOFILE"] == {"soft": 100, "hard": 100}
    assert rl["NPROC"] == {"soft": 20, "hard": 20}
    assert rl["FSIZE"] == {"soft": 1 << 20, "hard": 1 << 20}
    assert rl["CORE"] == {"soft": 0, "hard": 0}


# ------------------------------------------------------------------ each namespace off

def test_no_user_ns(jail):
    r = jail.probe_report(flags=["--no-user-ns"])
    assert r["namespaces"]["user"] == jailtest.ns_inode("user")
    assert (r["uid"], r["euid"], r["suid"], r["gid"], r["egid"], r["sgid"]) == (NOBODY,) * 6
    assert r["groups"] == []
    assert set(r["caps"].values()) == {ZERO_CAPS}
    assert r["no_new_privs"] == 1
    assert r["pid"] == 1 and [i["name"] for i in r["interfaces"]] == ["lo"]


def test_no_pid_ns(jail):
    res = jail.run("report", flags=["--no-pid-ns"])
    assert res.rc == 0, res
    r = res.json
    assert r["namespaces"]["pid"] == jailtest.ns_inode("pid")
    assert r["pid"] != 1 and r["pid"] == res.report["pid"]
    assert r["uid"] == NOBODY and set(r["caps"].values()) == {ZERO_CAPS}
    assert mount_at(r, "/proc")["fstype"] == "proc"


def test_no_net_ns(jail):
    r = jail.probe_report(flags=["--no-net-ns"])
    assert r["namespaces"]["net"] == jailtest.ns_inode("net")
    assert sorted(i["name"] for i in r["interfaces"]) == jailtest.host_interfaces()
    assert r["uid"] == NOBODY and r["pid"] == 1


def test_no_uts_ns(jail):
    host = socket.gethostname()
    try:
        r = jail.probe_report(flags=["--no-uts-ns"])
        assert r["namespaces"]["uts"] == jailtest.ns_inode("uts")
        assert r["hostname"] == host
        assert r["uid"] == NOBODY and r["pid"] == 1
    finally:
        if socket.gethostname() != host:   # a jailer bug renamed the host: undo it
            socket.sethostname(host)
            pytest.fail(f"the host's hostname was changed to {socket.gethostname()!r}")


def test_no_ipc_ns(jail):
    r = jail.probe_report(flags=["--no-ipc-ns"])
    assert r["namespaces"]["ipc"] == jailtest.ns_inode("ipc")
    assert r["uid"] == NOBODY and r["pid"] == 1


def test_no_cgroup_ns(jail):
    r = jail.probe_report(flags=["--no-cgroup-ns"])
    assert r["namespaces"]["cgroup"] == jailtest.ns_inode("cgroup")
    # Without a cgroup namespace the jail sees where it really is: its leaf.
    assert any(line.rstrip("/").endswith("/" + jail.id) for line in r["cgroup"]), r["cgroup"]
    assert r["uid"] == NOBODY and r["pid"] == 1


def test_no_mount_ns(jail, host_marker):
    """No mount namespace means no jail file system: the program sees the
    host's, and nothing may be mounted in the host's namespace for it."""
    before = jailtest.mount_keys()
    r = jail.probe_report(checks=[str(host_marker)], flags=["--no-mount-ns"])
    assert r["namespaces"]["mnt"] == jailtest.ns_inode("mnt")
    assert check(r, str(host_marker))["exists"]
    assert r["uid"] == NOBODY and set(r["caps"].values()) == {ZERO_CAPS}
    new = jailtest.mount_keys() - before
    assert not jailtest.mounts_touching(new, [jail.tmp, "/proc", "/dev"]), new

# SPDX-License-Identifier: MIT
"""Networking for jailed VMMs (docs/vmm.md): a jail joins a prepared network
namespace ("netns") and gets taps of its own ("taps").

The test builds the CNI shape itself: two network namespaces made with
`ip netns add` under unique names, a veth pair between them with link-local
addresses (169.254.0.0/16) only; nothing in the host's own namespace is
touched (checked), and both namespaces are deleted at the end.

From inside the jail (the probe): only the joined namespace's interfaces
are seen; addresses, flags, MTU, routes cannot be changed, no tap can be
made, no other namespace entered (EPERM); the jail's own tap can be attached
to with no capability.  The taps are owned by the jail's uid/gid, and gone
when the jail ends, also after a SIGKILL of the jailed program, and when a
jail's supervisor is SIGKILLed (jailerd removes them then).  A netns
that is a symlink planted by another user, a regular file, a mount
namespace, or (through jailerd) one outside the policy's netns_paths is
refused with the field and the value, and nothing is left: no tap, no
cgroup, no jail root.  Through both `jailer` and `jailerctl run`.

Run as root from the repository root:
    /usr/bin/pytest-3 tests/test_netns.py      (JAILER_BUILD=build-...)
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

import jailtest
import test_daemon_e2e as dt
import test_daemon_perms as tp
from jailtest import unique_id

EPERM = "EPERM"


def ip(*args, check=True):
    p = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check:
        assert p.returncode == 0, f"ip {' '.join(args)}: {p.stderr}"
    return p.stdout


def links(ns):
    """{name: details} of the links in netns ns (ip -d -j link)."""
    return {l["ifname"]: l for l in json.loads(ip("-n", ns, "-d", "-j", "link", "show") or "[]")}


class Nets:
    """Namespaces a and b, a veth pair va (in a, 169.254.77.1) - vb (in b,
    169.254.77.2): what a CNI ptp plugin makes, built here."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.a, self.b = f"jlt{tag}a", f"jlt{tag}b"
        self.va, self.vb = f"jv{tag}a", f"jv{tag}b"
        self.made = []

    def create(self):
        for ns in (self.a, self.b):
            ip("netns", "add", ns)
            self.made.append(ns)
        ip("link", "add", self.va, "netns", self.a, "type", "veth", "peer", "name", self.vb, "netns", self.b)
        for ns, dev, addr in ((self.a, self.va, "169.254.77.1/24"), (self.b, self.vb, "169.254.77.2/24")):
            ip("-n", ns, "addr", "add", addr, "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
        return self

    def path(self, ns):
        return f"/run/netns/{ns}"

    def delete(self):
        for ns in self.made:
            ip("netns", "del", ns, check=False)


def host_net_state():
    """What the host's own namespace has: links and addresses, routes."""
    return (jailtest.host_interfaces(), ip("-o", "addr", "show"), ip("route", "show"))


@pytest.fixture(scope="module")
def nets():
    if shutil.which("ip") is None:
        pytest.skip("iproute2 (ip) is not installed")
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("the host has no /dev/net/tun")
    before = host_net_state()
    n = Nets()
    try:
        yield n.create()
    finally:
        n.delete()
    assert host_net_state() == before, "the host's network namespace changed"


def taps_in(ns):
    return {name: l for name, l in links(ns).items()
            if l.get("linkinfo", {}).get("info_kind") == "tun"}


# --------------------------------------------------------------- jailer

def test_jail_sees_only_the_joined_namespace_and_cannot_change_it(jail, nets):
    before = links(nets.a)
    addrs = ip("-n", nets.a, "-o", "addr", "show")
    routes = ip("-n", nets.a, "route", "show")
    res = jail.run("net", nets.va, "--tap", "tap0", flags=["--netns", nets.path(nets.a), "--tap", "tap0"])
    assert res.rc == 0, res
    r = res.line("net")
    for what in ("set_addr", "set_flags", "set_mtu", "add_route", "create_tap", "unshare_net", "setns"):
        assert r[what] == EPERM, (what, r)
    # Its own tap: attached to by name, with no capability.
    assert r["open_tap"] is None, r
    # Nothing changed in the namespace, and the tap is gone with the jail.
    assert links(nets.a).keys() == before.keys()
    assert ip("-n", nets.a, "-o", "addr", "show") == addrs
    assert ip("-n", nets.a, "route", "show") == routes

    rep = jail.probe_report(flags=["--netns", nets.path(nets.a), "--tap", "tap0"])
    assert sorted(i["name"] for i in rep["interfaces"]) == sorted(["lo", nets.va, "tap0"])
    assert not taps_in(nets.a)


def test_jail_cannot_enter_another_namespace(jail, nets):
    """The second namespace's file, bound into the jail, cannot be joined."""
    res = jail.run("net", nets.va, "--setns", "/other-netns",
                   flags=["--netns", nets.path(nets.a), "--bind", f"{nets.path(nets.b)}:/other-netns"])
    assert res.rc == 0, res
    assert res.line("net")["setns"] == EPERM, res


def test_tap_is_owned_by_the_jail_with_its_options(jail, nets, tmp_path):
    cfg = tmp_path / "jail.json"
    cfg.write_text(json.dumps({
        "netns": nets.path(nets.a), "uid": 4242, "gid": 4343,
        "taps": [{"name": "tapq", "vnet_hdr": True, "multi_queue": True, "mtu": 1400, "mac": "02:00:00:aa:bb:cc"},
                 {"name": "tapp"}],
    }))
    p = subprocess.Popen(jail.argv(("sleep", "30"), flags=["--config", cfg]), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(taps_in(nets.a)) < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        taps = taps_in(nets.a)
        assert set(taps) == {"tapq", "tapp"}, (taps, p.poll())
        q = taps["tapq"]
        data = q["linkinfo"]["info_data"]
        assert (data["type"], data["user"], data["group"]) == ("tap", 4242, 4343), data
        assert data["vnet_hdr"] and data["multi_queue"] and data["persist"] and not data["pi"], data
        assert (q["mtu"], q["address"]) == (1400, "02:00:00:aa:bb:cc"), q
        # SIGKILL of the jailed program: the jailer still removes its taps.
        pid = int(Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert not taps_in(nets.a)


def test_existing_tap_name_is_refused_and_kept(jail, nets):
    ip("-n", nets.a, "tuntap", "add", "tapx", "mode", "tap")
    try:
        res = jail.run(flags=["--netns", nets.path(nets.a), "--tap", "tapy", "--tap", "tapx"])
        assert res.rc != 0, res
        assert "taps[1]" in res.stderr and '"tapx" already exists' in res.stderr, res.stderr
        # The one the jailer made first is gone; the operator's is left.
        assert set(taps_in(nets.a)) == {"tapx"}
    finally:
        ip("-n", nets.a, "link", "del", "tapx", check=False)
    assert not jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id)


def test_new_namespace_taps_go_with_it(jail):
    res = jail.run("report", flags=["--tap", "tapn"])
    assert res.rc == 0, res
    assert sorted(i["name"] for i in res.json["interfaces"]) == ["lo", "tapn"]


def assert_refused(jail, res, *words):
    assert res.rc != 0, res
    line = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else ""
    for w in words:
        assert w in line, (w, res.stderr)
    assert not jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id)
    assert not jail.root.exists()


def test_refusals_leave_nothing(jail, nets):
    top = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        top.chmod(0o1777)
        planted = top / "planted"
        os.symlink(nets.path(nets.a), planted)
        os.lchown(planted, 65534, 65534)
        regular = top / "regular"
        regular.write_text("not a namespace\n")
        before = links(nets.a)
        for path, words in ((planted, ["netns", str(planted), "symlink"]),
                            (regular, ["netns", str(regular), "not a network namespace"]),
                            ("/proc/1/ns/mnt", ["netns", "/proc/1/ns/mnt"]),
                            (nets.path(nets.a) + "-nope", ["netns", nets.path(nets.a) + "-nope"])):
            res = jail.run(flags=["--netns", path, "--tap", "tapr"])
            assert_refused(jail, res, *words)
            assert links(nets.a).keys() == before.keys()
        # A mount namespace file, mounted as `ip netns` mounts a network one
        # (of a newer namespace than ours: the kernel refuses loops).
        mnt = top / "mntns"
        mnt.write_text("")
        holder = subprocess.Popen(["unshare", "--mount", "sleep", "60"])
        try:
            deadline = time.monotonic() + 10
            while (os.readlink(f"/proc/{holder.pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
                   and time.monotonic() < deadline):
                time.sleep(0.02)
            subprocess.run(["mount", "--bind", f"/proc/{holder.pid}/ns/mnt", str(mnt)], check=True)
            try:
                res = jail.run(flags=["--netns", mnt, "--tap", "tapr"])
                assert_refused(jail, res, "netns", str(mnt), "a mount namespace, not a network namespace")
            finally:
                subprocess.run(["umount", str(mnt)], check=True)
        finally:
            holder.kill()
            holder.wait()
        cfg = top / "both.json"
        cfg.write_text(json.dumps({"netns": nets.path(nets.a), "namespaces": {"network": True}}))
        res = jail.run(flags=["--config", cfg])
        assert_refused(jail, res, "netns", "namespaces.network: true")
        res = jail.run(flags=["--no-net-ns", "--tap", "tapr"])
        assert_refused(jail, res, "taps", "not the host's")
        assert links(nets.a).keys() == before.keys()
    finally:
        shutil.rmtree(top, ignore_errors=True)


# --------------------------------------------------------------- jailerd, jailerctl run

@pytest.fixture(scope="module")
def accounts():
    yield from tp.module_accounts()


@pytest.fixture(scope="module")
def daemon(accounts, nets):
    import test_daemon_policy as pt
    d = pt.PolicyDaemon("netns", accounts)
    d.probe = pt.copy_probe(d.top / "probe")
    d.top.chmod(0o755)
    d.write_policy({"clients": [{"socket_group": True, "rights": ["create", "see_own", "kill_own"]}],
                    "netns_paths": [nets.path(nets.a)]})
    d.start()
    yield d
    try:
        assert d.alive(), f"jailerd died during the tests:\n{d.log_text()}"
    finally:
        d.cleanup()


def test_jailerctl_run_joins_an_allowed_namespace(daemon, accounts, nets):
    alice = accounts.ids("alice")
    p = dt.run_ctl(daemon, "run", "--id", unique_id("ctlnet"), "--exec", daemon.probe, "--netns",
                   nets.path(nets.a), "--tap", "tap0", "--", "net", nets.va, "--tap", "tap0", user=alice)
    assert p.returncode == 0, (p.stdout, p.stderr, daemon.log_text())
    r = next(m for m in dt.json_lines(p.stdout) if m.get("probe") == "net")
    for what in ("set_addr", "set_flags", "set_mtu", "add_route", "create_tap", "unshare_net", "setns"):
        assert r[what] == EPERM, (what, r)
    assert r["open_tap"] is None, r
    assert not taps_in(nets.a)


def test_jailerd_refuses_namespaces_outside_its_list(daemon, accounts, nets):
    import test_daemon_policy as pt
    top = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        top.chmod(0o1777)
        planted = top / "planted"
        os.symlink(nets.path(nets.a), planted)
        os.lchown(planted, *accounts.ids("bob"))
        for path, rule in ((nets.path(nets.b), "netns_paths"), (planted, "netns_paths"),
                           ("/proc/1/ns/net", "host_access")):
            jid = unique_id("netns-no")
            cfg = dt.jail_config(jid, "exit", "0", exec_path=str(daemon.probe), netns=str(path),
                                 taps=[{"name": "tapd"}])
            e = pt.refused(pt.create_as(daemon, accounts, "alice", cfg), rule, "netns")
            assert str(path) in e["message"], e
            daemon.assert_nothing_left(jid)
            assert not taps_in(nets.a) and not taps_in(nets.b)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_taps_are_removed_when_the_supervisor_dies(daemon, nets):
    """A jail's supervisor SIGKILLed: it cannot remove its taps, and the jail
    is lost; jailerd removes them (the namespace is a joined one: they would
    not go by themselves)."""
    jid = unique_id("netns-lost")
    daemon.call("create", dt.jail_config(jid, "sleep", "60", exec_path=str(daemon.probe), netns=nets.path(nets.a),
                                         taps=[{"name": "tapk"}]))
    deadline = time.monotonic() + 30
    while "tapk" not in taps_in(nets.a) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "tapk" in taps_in(nets.a)
    # The jail's supervisor, as its state names it (jailerd's launcher forks
    # the supervisors: they are not jailerd's children).
    sup = json.loads((daemon.state_dir / "jails" / jid / "state.json").read_text())["supervisor_pid"]
    os.kill(sup, signal.SIGKILL)
    with pytest.raises(dt.RpcError):
        daemon.call("wait", {"jail": jid})      # lost: an error that says so
    assert "tapk" not in taps_in(nets.a)
    daemon.assert_nothing_left(jid, state_too=False)


def test_a_listed_directory_allows_the_namespaces_in_it(daemon, accounts, nets):
    """netns_paths: ["/run/netns"] allows each namespace file in it (by the
    namespace, whatever path the client gives)."""
    import test_daemon_policy as pt
    policy = json.loads(daemon.policy_path.read_text())
    try:
        daemon.write_policy({**policy, "netns_paths": ["/run/netns"]})
        assert daemon.reload() == "reloaded"
        jid = unique_id("netns-dir")
        cfg = dt.jail_config(jid, "exit", "0", exec_path=str(daemon.probe), netns=nets.path(nets.b))
        pt.started(daemon, pt.create_as(daemon, accounts, "alice", cfg))
        assert dt.wait_report(daemon, jid)["exit_code"] == 0
    finally:
        daemon.write_policy(policy)
        assert daemon.reload() == "reloaded"
    jid = unique_id("netns-dir-no")
    cfg = dt.jail_config(jid, "exit", "0", exec_path=str(daemon.probe), netns=nets.path(nets.b))
    pt.refused(pt.create_as(daemon, accounts, "alice", cfg), "netns_paths", "netns")

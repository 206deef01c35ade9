# SPDX-License-Identifier: MIT
"""Two hostile members of jailerd's group cannot reach each other's jails.

alice (A) attacks, bob (B) is the victim, mallory (M) is a host user outside
the group.  Every attack runs against a jailerd with the built-in default
policy (no policy file) and against one with a strict policy file.  B's jail
is a VMM stand-in: the probe listening on a control socket in its run/
(/run/vmm.sock in the jail, <jail_root>/run/vmm.sock on the host), with a
0600 file of its own beside it.  After each attack the test checks that
nothing of B's changed (bytes, mode and owner of everything in run/; the
process neither stopped nor gone; the socket still answers) and that jailerd
still answers B about its jail within 1 s.

What the attacks try (each got through before the defaults changed):
- a read-only bind of "/" (or of a directory holding the jails), then B's
  socket and files through it;
- "namespaces": {"pid": false}, then kill -STOP of B's VMM;
- "uid": the uid of B's jail;
- "seccomp": "none", or a profile weaker than the baseline;
- a create with the id of B's ended jail, whose report jailerd keeps for B;
- a jail root of A's own that holds B's jail root.
Under a lenient policy that lets the pid namespace go, the allocated uids
still keep A's jail from signalling B's VMM.

Users and a group are made for the module under unique names and deleted at
the end; everything handed to them (the probe, profiles) lives in a
mkdtemp(dir="/tmp") directory of mode 0755, removed at the end.  Daemons and
jails are stopped by pid and id.

Run as root from the repository root:
    /usr/bin/pytest-3 tests/test_tenants.py      (JAILER_BUILD=build-...)
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import daemonlib as dl
import test_daemon_policy as tpol
from jailtest import PROBE, unique_id

PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

# The built-in range jailerd allocates jails' uids from (docs/policy.md).
JAIL_UID_FIRST, JAIL_UID_LAST = 0x7F000000, 0x7F00FFFF

# Requests one after the other, each answered before the next, as the user
# this runs as; replies printed one per line, each with the seconds it took
# from connect to reply ("_seconds").  With "stdio", a create passes our
# stdin and stderr and, as stdout, a file of ours, printed at the end: the
# jail's output, never mixed into a reply's line.
CLIENT = r"""
import array, json, socket, sys, tempfile, time
timeout = float(sys.argv[2])
jail_out = tempfile.TemporaryFile()
t0 = time.monotonic()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(timeout)
s.connect(sys.argv[1])
f = s.makefile("rb")
for i, arg in enumerate(sys.argv[3:], 1):
    req = json.loads(arg)
    stdio = req.pop("stdio", False)
    line = json.dumps({"jsonrpc": "2.0", "id": i, **req}).encode() + b"\n"
    if stdio:
        fds = array.array("i", [0, jail_out.fileno(), 2])
        s.sendmsg([line], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
    else:
        s.sendall(line)
    while True:
        m = json.loads(f.readline())
        if m.get("id") == i:
            m["_seconds"] = time.monotonic() - t0
            print(json.dumps(m), flush=True)
            break
jail_out.seek(0)
sys.stdout.write(jail_out.read().decode(errors="replace"))
"""


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def accounts():
    yield from dl.module_accounts()


@pytest.fixture(scope="module")
def work():
    """What the users get: a copy of the probe (root's, 0755) and seccomp
    profiles, in a directory everyone may search (the checkout may not be)."""
    top = Path(tempfile.mkdtemp(prefix="jailer-tenants-", dir="/tmp"))
    try:
        top.chmod(0o755)
        probe = top / "probe"
        shutil.copy(PROBE, probe)
        probe.chmod(0o755)
        profiles = {
            "log-default": {"defaultAction": "SCMP_ACT_LOG"},
            "allow-default": {"defaultAction": "SCMP_ACT_ALLOW"},
            "allows-ptrace": {"defaultAction": "SCMP_ACT_ERRNO",
                              "syscalls": [{"names": ["ptrace", "unshare", "mount", "setns"],
                                            "action": "SCMP_ACT_ALLOW"}]},
        }
        for name, prof in profiles.items():
            p = top / f"{name}.json"
            p.write_text(json.dumps(prof))
            p.chmod(0o644)
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def strict_policy(accounts, work):
    """The strict example: only the probe, no binds outside work/images,
    allocated uids only, no namespace off, no seccomp choice, /dev/kvm only
    for bob."""
    images = work / "images"
    images.mkdir(exist_ok=True)
    images.chmod(0o755)
    return {
        "_comment": "the strict policy of test_tenants.py",
        "clients": [
            {"socket_group": True, "rights": ["create", "see_own", "kill_own"]},
            {"user": accounts.names["bob"], "rights": ["kvm"]},
        ],
        "exec_paths": [str(work / "probe")],
        "bind_sources": [str(images)],
        "read_write_binds": False,
        "devices": ["/dev/kvm"],
        "ceilings": {"memory_bytes": "256M", "pids": 64, "timeout_ms": 600000},
        "totals": {"jails_per_client": 4},
        "uid_range": [JAIL_UID_FIRST + 0x100, JAIL_UID_FIRST + 0x1FF],
        "allocate_uid": True,
        "allow_own_uid": False,
        "may_disable_namespaces": [],
        "seccomp": {"allow_none": False, "profiles": [], "allow_syscalls": []},
    }


@pytest.fixture(scope="module", params=["default", "strict"])
def daemon(request, accounts, work):
    if request.param == "default":
        if os.path.exists("/etc/jailer/jailerd.json"):
            pytest.skip("/etc/jailer/jailerd.json exists: jailerd would not run with its built-in default")
        d = dl.Daemon("tenants", group=accounts.group)
    else:
        d = tpol.PolicyDaemon("tenants-strict", accounts, strict_policy(accounts, work))
    d.kind = request.param
    try:
        d.start()
        yield d
        assert d.alive(), f"jailerd died during the tests:\n{d.log_text()}"
    finally:
        if d.alive():
            tpol.kill_all(d)
        d.cleanup()


# --------------------------------------------------------------- clients

def call(daemon, accounts, who, *requests, stdio=False, timeout=dl.CALL_TIMEOUT):
    """Send requests ((method, params) tuples) as who; (replies, the other
    JSON lines of stdout: the jail's, with stdio)."""
    argv = [PYTHON, "-c", CLIENT, str(daemon.socket), str(timeout)]
    for i, (method, params) in enumerate(requests):
        r = {"method": method, "params": params}
        if stdio and i == 0:
            r["stdio"] = True
        argv.append(json.dumps(r))
    uid, gid = accounts.ids(who)
    argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups"] + argv
    # stdin a pipe (input=""), stdout and stderr pipes: what a jail gets.
    p = subprocess.run(argv, input="", capture_output=True, text=True, timeout=timeout + 30)
    lines = dl.json_lines(p.stdout)
    replies = [m for m in lines if m.get("jsonrpc") == "2.0"]
    assert len(replies) == len(requests), \
        f"client as {who}: rc {p.returncode}\n{p.stdout}\n{p.stderr}\n{daemon.log_text()}"
    return replies, [m for m in lines if "probe" in m]


def attack(daemon, accounts, work, jid, *probe_args, **extra):
    """alice creates a jail running the probe and waits for it: (create
    reply, the probe's lines)."""
    cfg = dl.jail_config(jid, *probe_args, exec_path=str(work / "probe"), **extra)
    (created, waited), out = call(daemon, accounts, "alice", ("create", cfg), ("wait", {"jail": jid}), stdio=True)
    return created, out


def refused_by(reply, rule, field=None):
    assert "error" in reply, f"the attack was not refused (expected policy rule {rule}): {reply}"
    data = reply["error"].get("data") or {}
    assert data.get("reason") == "permission_denied", reply
    assert data.get("rule") == rule, reply
    if field is not None:
        assert data.get("field") == field, reply
    assert rule in reply["error"]["message"], reply


# --------------------------------------------------------------- the victim

def proc_state(pid):
    """(state letter, uid, gid) of a host process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    f = dict(l.split(":", 1) for l in text.splitlines() if ":" in l)
    return f["State"].split()[0], int(f["Uid"].split()[0]), int(f["Gid"].split()[0])


def snapshot(root):
    """Every entry under root: mode, owner, and the bytes of files."""
    out = {}
    for p in [root] + sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid,
                                         p.read_bytes() if stat.S_ISREG(st.st_mode) else None)
    return out


def ask_vmm(path, timeout=5):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        return s.recv(256)


class Victim:
    """bob's jail: a VMM stand-in serving /run/vmm.sock, a secret beside it."""

    SECRET = b"bob's VMM state: not for alice\n"

    def __init__(self, daemon, accounts, work):
        self.daemon, self.accounts = daemon, accounts
        self.jid = unique_id("bob-vmm")
        cfg = dl.jail_config(self.jid, "serve", "/run/vmm.sock", "600", exec_path=str(work / "probe"))
        (reply,), _ = call(daemon, accounts, "bob", ("create", cfg))
        assert "result" in reply, (reply, daemon.log_text())
        self.pid = reply["result"]["pid"]
        self.root = Path(reply["result"]["jail_root"])
        self.run = self.root / "run"
        self.sock = self.run / "vmm.sock"
        deadline = time.monotonic() + 15
        while not self.sock.exists():
            assert time.monotonic() < deadline, f"bob's VMM made no socket:\n{daemon.log_text()}"
            time.sleep(0.05)
        st = self.run.stat()
        self.uid, self.gid = st.st_uid, st.st_gid
        secret = self.run / "state"
        secret.write_bytes(self.SECRET)
        os.chown(secret, self.uid, self.gid)
        secret.chmod(0o600)
        self.before = snapshot(self.run)

    def assert_untouched(self):
        """Nothing of bob's changed, his VMM runs and answers, and jailerd
        answers him about it within 1 s."""
        assert snapshot(self.run) == self.before, "bob's run/ changed"
        state = proc_state(self.pid)
        assert state is not None, "bob's VMM is gone"
        assert state[0] not in ("T", "t", "Z", "X"), f"bob's VMM is {state[0]}"
        assert ask_vmm(self.sock) == b"vmm /run/vmm.sock\n"
        (reply,), _ = call(self.daemon, self.accounts, "bob", ("status", {"jail": self.jid}), timeout=1.0)
        assert reply.get("result", {}).get("state") == "running", reply
        assert reply["_seconds"] < 1.0, f"jailerd took {reply['_seconds']:.2f} s to answer bob"

    def stop(self):
        with self.daemon.conn() as c:
            try:
                c.call("kill", {"jail": self.jid, "signal": "SIGKILL"})
                c.call("wait", {"jail": self.jid})
            except dl.RpcError:
                pass


@pytest.fixture
def victim(daemon, accounts, work):
    v = Victim(daemon, accounts, work)
    try:
        yield v
    finally:
        v.stop()


# --------------------------------------------------------------- the attacks

def test_jails_get_uids_of_their_own(daemon, accounts, work, victim):
    """Each jail runs as a host uid (gid = uid) no other jail and no account
    has, from the reserved range, and its run/ is that uid's: neither the
    other member nor a non-member can enter it."""
    a1 = unique_id("alice-1")
    cfg = dl.jail_config(a1, "sleep", "60", exec_path=str(work / "probe"))
    (reply,), _ = call(daemon, accounts, "alice", ("create", cfg))
    assert "result" in reply, (reply, daemon.log_text())
    try:
        a_ids = proc_state(reply["result"]["pid"])[1:]
        b_ids = proc_state(victim.pid)[1:]
        lo, hi = ((JAIL_UID_FIRST, JAIL_UID_LAST) if daemon.kind == "default"
                  else (JAIL_UID_FIRST + 0x100, JAIL_UID_FIRST + 0x1FF))
        for uid, gid in (a_ids, b_ids):
            assert uid == gid and lo <= uid <= hi, (a_ids, b_ids)
        assert a_ids != b_ids
        assert (victim.uid, victim.gid) == b_ids
        assert stat.S_IMODE(victim.run.stat().st_mode) == 0o700
        for who in ("alice", "mallory"):
            uid, gid = accounts.ids(who)
            p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
                                PYTHON, "-c", "import os, sys; os.listdir(sys.argv[1])", str(victim.run)],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode != 0 and "PermissionError" in p.stderr, (who, p)
    finally:
        with daemon.conn() as c:
            c.call("kill", {"jail": a1, "signal": "SIGKILL"})
    victim.assert_untouched()


@pytest.mark.parametrize("source", ["/", "top", "state"])
def test_bind_of_the_host_reaches_no_other_jail(daemon, accounts, work, victim, source):
    """A read-only bind of "/" or of the directory that holds jailerd's jails
    directory, then bob's VMM socket and his file through it; or of
    jailerd's state directory, then its socket from inside."""
    if source == "state":
        src, targets = str(daemon.state_dir), (("connect", "/host/jailerd.sock"),)
    else:
        src = "/" if source == "/" else str(daemon.top)
        rel = victim.run.relative_to(src)
        targets = (("connect", f"/host/{rel}/vmm.sock"), ("read", f"/host/{rel}/state"))
    for args in targets:
        jid = unique_id("alice-bind")
        created, out = attack(daemon, accounts, work, jid, *args,
                              bind_mounts=[{"source": src, "dest": "/host", "read_only": True}])
        assert not any(m.get("ok") for m in out), f"alice reached bob's jail: {out}"
        refused_by(created, "other_jails" if daemon.kind == "default" else "bind_sources",
                   "bind_mounts[0].source")
        daemon.assert_nothing_left(jid)
    victim.assert_untouched()


@pytest.mark.parametrize("ns", ["pid", "user", "mount", "network", "uts", "ipc", "cgroup"])
def test_no_namespace_may_be_turned_off(daemon, accounts, work, victim, ns):
    """Without its pid namespace, alice's jail would see bob's VMM and stop
    it (kill -STOP, then -9)."""
    for sig in ("STOP", "KILL"):
        jid = unique_id(f"alice-no-{ns}")
        created, out = attack(daemon, accounts, work, jid, "signal", str(victim.pid), sig,
                              namespaces={ns: False})
        assert not any(m.get("ok") for m in out), f"alice signalled bob's VMM: {out}"
        refused_by(created, "may_disable_namespaces", f"namespaces.{ns}")
        daemon.assert_nothing_left(jid)
    victim.assert_untouched()


def test_no_uid_of_anothers_jail(daemon, accounts, work, victim):
    """alice asks for the uid (and gid) bob's jail runs as."""
    for extra, field in (({"uid": victim.uid, "gid": victim.gid}, "uid"), ({"uid": victim.uid}, "uid"),
                         ({"gid": victim.gid}, "gid")):
        jid = unique_id("alice-as-bob")
        created, out = attack(daemon, accounts, work, jid, "report", **extra)
        assert not any(m.get("uid") == victim.uid or m.get("gid") == victim.gid for m in out), \
            f"alice's jail ran with the ids of bob's: {out}"
        refused_by(created, "allocate_uid", field)
        daemon.assert_nothing_left(jid)
    # a jail that runs as alice herself: hers to have by default (it gives
    # her nothing she has not), refused by the strict policy
    uid, gid = accounts.ids("alice")
    jid = unique_id("alice-self")
    created, out = attack(daemon, accounts, work, jid, "report", uid=uid, gid=gid)
    if daemon.kind == "default":
        assert "result" in created, created
        assert [(m["uid"], m["gid"]) for m in out if m.get("probe") == "report"] == [(uid, gid)], out
    else:
        refused_by(created, "allocate_uid", "uid")
    victim.assert_untouched()


@pytest.mark.parametrize("mode", ["none", "log-default", "allow-default", "allows-ptrace", "exception"])
def test_no_weaker_seccomp(daemon, accounts, work, victim, mode):
    """seccomp "none", a profile that logs or allows what the baseline
    denies, or a baseline exception: all refused."""
    jid = unique_id(f"alice-seccomp-{mode}")
    if mode == "none":
        extra, rule = {"seccomp": "none"}, "seccomp.allow_none"
    elif mode == "exception":
        extra, rule = {"seccomp_allow": ["ptrace"]}, "seccomp.allow_syscalls"
    else:
        extra, rule = {"seccomp": str(work / f"{mode}.json")}, "seccomp.profiles"
    created, out = attack(daemon, accounts, work, jid, "report", **extra)
    refused_by(created, rule)
    daemon.assert_nothing_left(jid)
    victim.assert_untouched()


def test_kept_report_is_not_taken_over(daemon, accounts, work):
    """bob's jail has ended; jailerd keeps its report for him.  alice's
    create with that id is refused; bob still waits for and sees his own;
    bob himself may use the id again."""
    jid = unique_id("bob-ended")
    cfg = dl.jail_config(jid, "exit", "7", exec_path=str(work / "probe"))
    (created, waited), _ = call(daemon, accounts, "bob", ("create", cfg), ("wait", {"jail": jid}))
    assert waited["result"]["exit_code"] == 7, waited

    (taken,), _ = call(daemon, accounts, "alice",
                       ("create", dl.jail_config(jid, "exit", "0", exec_path=str(work / "probe"))))
    assert "error" in taken, f"alice took over bob's id: {taken}"
    assert taken["error"]["data"].get("reason") == "exists" and taken["error"]["data"].get("field") == "id", taken

    (waited, status), _ = call(daemon, accounts, "bob", ("wait", {"jail": jid}), ("status", {"jail": jid}),
                               timeout=1.0)
    assert waited["result"]["exit_code"] == 7 and waited["_seconds"] < 1.0, waited
    assert status["result"]["state"] == "exited", status
    (listing,), _ = call(daemon, accounts, "alice", ("list", {}))
    assert all(e["jail"] != jid for e in listing["result"]["jails"]), listing
    # mallory, outside the group, does not get in at all
    uid, gid = accounts.ids("mallory")
    p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", PYTHON, "-c", CLIENT,
                        str(daemon.socket), "5", json.dumps({"method": "version"})],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "PermissionError" in p.stderr, p

    # the owner reuses his id
    (again, waited), _ = call(daemon, accounts, "bob",
                              ("create", dl.jail_config(jid, "exit", "3", exec_path=str(work / "probe"))),
                              ("wait", {"jail": jid}))
    assert waited["result"]["exit_code"] == 3, (again, waited)


def test_kvm_is_the_policys_decision(daemon, accounts, work):
    """/dev/kvm (0600 root here: no member may open it on the host) is in a
    member's jail when the policy gives it the right "kvm": the built-in
    default gives it to the socket's group; the strict policy to bob only."""
    if not os.path.exists("/dev/kvm"):
        pytest.skip("the host has no /dev/kvm")
    seen = {}
    for who in ("alice", "bob"):
        jid = unique_id(f"{who}-kvm")
        cfg = dl.jail_config(jid, "report", exec_path=str(work / "probe"))
        (created, waited), out = call(daemon, accounts, who, ("create", cfg), ("wait", {"jail": jid}), stdio=True)
        assert "result" in created, created
        (rep,) = [m for m in out if m.get("probe") == "report"]
        seen[who] = any(e.get("path") == "/dev/kvm" for e in rep["dev"])
    expected = {"alice": True, "bob": True} if daemon.kind == "default" else {"alice": False, "bob": True}
    assert seen == expected, (seen, daemon.kind)


def test_jail_root_holding_anothers_root(daemon, accounts, work):
    """bob's jail root lies in a directory of alice's (she let him make it
    there); alice asks for that directory as her own jail's root, where her
    jail would see his."""
    a_dir = work / unique_id("alice-dir")
    a_dir.mkdir(mode=0o755)
    os.chown(a_dir, *accounts.ids("alice"))
    b_root = a_dir / "bob-root"
    b_root.mkdir(mode=0o755)
    os.chown(b_root, *accounts.ids("bob"))
    bob = unique_id("bob-own-root")
    cfg = dl.jail_config(bob, "sleep", "60", exec_path=str(work / "probe"), jail_root=str(b_root))
    (reply,), _ = call(daemon, accounts, "bob", ("create", cfg))
    assert "result" in reply, (reply, daemon.log_text())
    try:
        before = snapshot(b_root)
        jid = unique_id("alice-around-bob")
        created, out = attack(daemon, accounts, work, jid, "report", jail_root=str(a_dir))
        refused_by(created, "other_jails", "jail_root")
        assert snapshot(b_root) == before
        (status,), _ = call(daemon, accounts, "bob", ("status", {"jail": bob}), timeout=1.0)
        assert status["result"]["state"] == "running" and status["_seconds"] < 1.0, status
    finally:
        with daemon.conn() as c:
            c.call("kill", {"jail": bob, "signal": "SIGKILL"})
            c.call("wait", {"jail": bob})


def test_uids_hold_where_a_lenient_policy_lets_a_namespace_go(accounts, work):
    """An operator lets members turn the pid namespace off; jailerd still
    allocates uids: alice's jail then sees bob's VMM but may not signal it
    (EPERM), which the shared uid of the old default allowed."""
    d = tpol.PolicyDaemon("tenants-lenient", accounts, {"may_disable_namespaces": ["pid"]})
    try:
        d.start()
        victim = Victim(d, accounts, work)
        try:
            jid = unique_id("alice-lenient")
            created, out = attack(d, accounts, work, jid, "signal", str(victim.pid), "STOP",
                                  namespaces={"pid": False})
            assert "result" in created, created
            (sig,) = [m for m in out if m.get("probe") == "signal"]
            assert not sig["ok"] and sig["errno"] == "EPERM", sig
            victim.assert_untouched()
        finally:
            victim.stop()
    finally:
        if d.alive():
            tpol.kill_all(d)
        d.cleanup()

# SPDX-License-Identifier: MIT
"""jailerd's policy file (docs/policy.md): a bad file stops the start with a
message naming the key; each rule refuses what it should (permission_denied
or limit_reached, data.field, data.rule, logged with PEER_UID and
JAILER_RULE, nothing created) and allows what it should; uid allocation
gives concurrent jails distinct host uids, also across a daemon restart;
SIGHUP reloads the policy without touching running jails, and a broken file
on reload keeps the policy in force.

Users and a group are made for the module under unique names (as in
daemonlib.py) and deleted at the end; their requests are sent by a
small Python client run through setpriv --reuid/--regid/--init-groups.
Every daemon is private (its own socket, state, jails directory, cgroup
parent and --config) and stopped by pid.

Run as root from the repository root:
    /usr/bin/pytest-3 tests/test_daemon_policy.py      (JAILER_BUILD=build-...)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import daemonlib as dl
import jailtest
from jailtest import unique_id

# Members name the probe: a copy they can reach wherever the checkout is.
PROBE = jailtest.for_others(jailtest.PROBE)

REPO = jailtest.REPO
# The system's, which every user may run (not one under root's home).
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
EXAMPLE = REPO / "units" / "jailerd.json.example"

PERMISSION_DENIED = -32001
LIMIT_REACHED = -32004

# A uid range no account on a test host has: jails run as these.
UID_BASE = 3_500_000_000 + (os.getpid() % 10000) * 16

# One request per argument (a JSON object with method and params), each
# answered before the next; the replies are printed one per line.  With
# "stdio": true the client passes its own stdin/stdout/stderr with a create.
CLIENT = r"""
import array, json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rb")
for i, arg in enumerate(sys.argv[2:], 1):
    req = json.loads(arg)
    stdio = req.pop("stdio", False)
    line = json.dumps({"jsonrpc": "2.0", "id": i, **req}).encode() + b"\n"
    if stdio:
        s.sendmsg([line], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
    else:
        s.sendall(line)
    while True:
        m = json.loads(f.readline())
        if m.get("id") == i:
            print(json.dumps(m), flush=True)
            break
"""


# --------------------------------------------------------------- helpers

class PolicyDaemon(dl.Daemon):
    """A private jailerd started with --config FILE (in its own directory)."""

    def __init__(self, name, accounts, policy=None):
        super().__init__(name, group=accounts.group)
        self.policy_path = self.top / "jailerd.json"
        self.extra = ["--config", str(self.policy_path)]
        if policy is not None:
            self.write_policy(policy)

    def write_policy(self, policy):
        text = policy if isinstance(policy, str) else json.dumps(policy, indent=2)
        tmp = self.policy_path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o644)
        tmp.replace(self.policy_path)

    def log_count(self, needle):
        try:
            return self.log_path.read_text(errors="replace").count(needle)
        except OSError:
            return 0

    def reload(self):
        """SIGHUP, then wait until jailerd says how it went: "reloaded" or
        "kept"."""
        before = {k: self.log_count(m) for k, m in (("reloaded", "Reloaded policy"),
                                                    ("kept", "Policy not reloaded"))}
        os.kill(self.pid, signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for k, m in (("reloaded", "Reloaded policy"), ("kept", "Policy not reloaded")):
                if self.log_count(m) > before[k]:
                    return k
            time.sleep(0.05)
        raise AssertionError(f"jailerd did not log the reload (journald may have the log):\n{self.log_text()}")


def call_as(daemon, accounts, who, *requests, timeout=dl.CALL_TIMEOUT):
    """Send requests ((method, params) or dicts) as user who; the replies.
    who=None: as root."""
    argv = [PYTHON, "-c", CLIENT, str(daemon.socket)]
    for r in requests:
        if isinstance(r, tuple):
            r = {"method": r[0], "params": r[1]}
        argv.append(json.dumps(r))
    if who is not None:
        uid, gid = accounts.ids(who)
        argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups"] + argv
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    replies = [m for m in dl.json_lines(p.stdout) if m.get("jsonrpc") == "2.0"]
    assert len(replies) == len(requests), f"client as {who}: rc {p.returncode}\n{p.stderr}\n{daemon.log_text()}"
    return replies, p.stdout


def create_as(daemon, accounts, who, cfg):
    (reply,), _ = call_as(daemon, accounts, who, ("create", cfg))
    return reply


def refused(reply, rule, field=None, code=PERMISSION_DENIED):
    """Assert the reply is the policy's refusal by rule (and field)."""
    assert "error" in reply, f"expected a refusal by {rule}, got {reply}"
    e = reply["error"]
    data = e.get("data") or {}
    assert e["code"] == code, e
    assert data.get("reason") == ("permission_denied" if code == PERMISSION_DENIED else "limit_reached"), e
    assert data.get("rule") == rule, e
    if field is not None:
        assert data.get("field") == field, e
    assert rule in e["message"], e
    return e


def started(daemon, reply):
    assert "result" in reply, (reply, daemon.log_text())
    return reply["result"]["pid"]


def kill_all(daemon):
    with daemon.conn() as c:
        for e in c.call("list")["jails"]:
            if e["state"] == "running":
                try:
                    c.call("kill", {"jail": e["jail"], "signal": "SIGKILL"})
                    c.call("wait", {"jail": e["jail"]})
                except dl.RpcError:
                    pass


def proc_ids(pid):
    """(real uid, real gid) of a host process, from /proc/PID/status."""
    uid = gid = None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("Gid:"):
            gid = int(line.split()[1])
    return uid, gid


def proc_limit(pid, name):
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(name):
            return line[len(name):].split()[0]
    raise AssertionError(f"no {name} in /proc/{pid}/limits")


def cgroup_value(daemon, jid, *files):
    """The first of files found in the jail's cgroup directories."""
    for d in daemon.cgroups_of(jid):
        for f in files:
            p = Path(d, f)
            if p.exists():
                return p.read_text().strip()
    raise AssertionError(f"none of {files} in the cgroups of {jid}: {daemon.cgroups_of(jid)}")


def mkdir(path, owner=(0, 0), mode=0o755):
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, *owner)
    path.chmod(mode)
    return path


def copy_probe(path, owner=(0, 0), mode=0o755):
    shutil.copy(PROBE, path)
    os.chown(path, *owner)
    path.chmod(mode)
    return path


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def accounts():
    yield from dl.module_accounts()


class Layout:
    """Host files the strict policy names, under the daemon's directory."""

    def __init__(self, top, accounts):
        alice, bob = accounts.ids("alice"), accounts.ids("bob")
        self.vmm = mkdir(top / "vmm")                            # allowed directory
        self.probe = copy_probe(self.vmm / "probe")
        self.alice_dir = mkdir(self.vmm / "alice", owner=alice)  # alice may write here
        self.exact_dir = mkdir(top / "bin")
        self.exact = copy_probe(self.exact_dir / "allowed-exactly")
        self.not_listed = copy_probe(self.exact_dir / "not-listed")
        self.images = mkdir(top / "images")
        (self.images / "disk.img").write_text("image\n")
        (self.images / "disk.img").chmod(0o644)
        self.elsewhere = mkdir(top / "elsewhere")
        (self.elsewhere / "secret").write_text("not for jails\n")
        (self.elsewhere / "secret").chmod(0o644)
        self.roots = mkdir(top / "roots")
        self.alice_roots = mkdir(self.roots / "alice", owner=alice)
        self.bob_roots = mkdir(self.roots / "bob", owner=bob)
        self.outside_roots = mkdir(top / "other-roots" / "alice", owner=alice)


def strict_policy(accounts, lay):
    return {
        "_comment": "the policy of test_daemon_policy.py",
        "clients": [
            {"socket_group": True, "rights": ["create", "see_own", "kill_own"]},
            {"uid": accounts.ids("mallory")[0], "rights": ["see_all"],
             "_comment": "a watcher outside the group"},
        ],
        "exec_paths": [str(lay.vmm) + "/", str(lay.exact)],
        "bind_sources": [str(lay.images)],
        "read_write_binds": False,
        "jail_root_base": str(lay.roots),
        "devices": ["/dev/net/tun"],
        "ceilings": {"memory_bytes": "256M", "cpus": 1, "pids": 64, "max_fds": 512, "max_procs": 128,
                     "max_file_size": "1G", "timeout_ms": 600000, "pinned_cpus": 1, "io_weight": 100},
        "totals": {"jails_per_client": 2},
        "uid_range": [UID_BASE, UID_BASE + 9],
        "_comment_allocate_uid": "clients name their uid (of the range): what this module tests",
        "allocate_uid": False,
        "may_disable_namespaces": ["network"],
        "seccomp": {"allow_none": False},
    }


@pytest.fixture(scope="module")
def strict(accounts):
    d = PolicyDaemon("policy", accounts)
    d.lay = Layout(d.top, accounts)
    d.write_policy(strict_policy(accounts, d.lay))
    d.start()
    yield d
    try:
        kill_all(d)
        assert d.alive(), f"jailerd died during the tests:\n{d.log_text()}"
    finally:
        d.cleanup()


@pytest.fixture
def jails(strict):
    """Jails a test starts; all killed at its end."""
    yield
    kill_all(strict)


def req(strict, jid, *args, **extra):
    """A create request that the strict policy allows: an allowed program,
    a uid and gid from the range."""
    cfg = dl.jail_config(jid, *(args or ("exit", "0")), exec_path=str(strict.lay.probe),
                         uid=UID_BASE, gid=UID_BASE)
    cfg.update(extra)
    return cfg


# --------------------------------------------------------------- a bad file stops the start

BAD_POLICIES = [
    ("unknown key", '{"exec_pathz": []}', ["exec_pathz", "unknown key"]),
    ("bad size", '{"ceilings": {"memory_bytes": "lots"}}', ["ceilings.memory_bytes", "lots"]),
    ("below minimum", '{"ceilings": {"memory_bytes": 12}}', ["ceilings.memory_bytes", "12"]),
    ("pinned_cpus beyond cpu lists", '{"ceilings": {"pinned_cpus": 4097}}', ["ceilings.pinned_cpus", "4097"]),
    ("io_weight beyond the kernel's", '{"ceilings": {"io_weight": 10001}}', ["ceilings.io_weight", "10001"]),
    ("wrong type", '{"read_write_binds": "yes"}', ["read_write_binds", '"yes"']),
    ("unknown right", '{"clients": [{"uid": 1000, "rights": ["destroy"]}]}',
     ["clients[0].rights[0]", "destroy"]),
    ("no selector", '{"clients": [{"rights": ["create"]}]}', ["clients[0]", "names nobody"]),
    ("unknown group", '{"clients": [{"group": "no-such-group-jlt", "rights": ["create"]}]}',
     ["clients[0].group", "no-such-group-jlt"]),
    ("relative path", '{"exec_paths": ["usr/bin/qemu"]}', ["exec_paths[0]", "usr/bin/qemu"]),
    ("dot-dot", '{"bind_sources": ["/srv/../etc"]}', ["bind_sources[0]", "/srv/../etc"]),
    ("device outside /dev", '{"devices": ["/etc/passwd"]}', ["devices[0]", "/etc/passwd"]),
    ("range backwards", '{"uid_range": [200010, 200000]}', ["uid_range", "200010"]),
    ("range with root", '{"uid_range": [0, 10]}', ["uid_range", "root"]),
    ("gids without the allocated uids", '{"gid_range": [200000, 200009]}', ["gid_range", "allocate_uid"]),
    ("duplicate key", '{"read_write_binds": true, "read_write_binds": false}', ["read_write_binds", "duplicate key"]),
    ("duplicate key spelled with an escape", '{"read_write_binds": true, "read_write\\u005fbinds": false}',
     ["read_write_binds", "duplicate key"]),
    ("not json", '{"clients": [', ["end of input"]),
    ("trailing text", '{} {}', ["byte 3"]),
    ("NaN", '{"ceilings": {"max_fds": NaN}}', ["invalid JSON"]),
    ("a raw control character", '{"_comment": "a\x01b"}', ["control character"]),
    ("an integer beyond 64 bits", '{"ceilings": {"max_fds": 18446744073709551617}}', ["ceilings.max_fds", "out of range"]),
    ("unknown namespace", '{"may_disable_namespaces": ["time"]}', ["may_disable_namespaces[0]", "time"]),
    ("unknown syscall", '{"seccomp": {"allow_syscalls": ["read"]}}', ["seccomp.allow_syscalls[0]", "read"]),
    ("bad comment", '{"_comment": 5}', ["_comment"]),
]


def start_fails(d):
    """Run jailerd with the daemon's arguments; it must exit non-zero at once.
    Its output."""
    try:
        p = subprocess.run(d.argv(), capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("jailerd started with a bad policy file") from None
    assert p.returncode != 0, p
    assert not d.socket.exists(), "jailerd made its socket before checking the policy"
    out = p.stdout + p.stderr
    assert "Sanitizer" not in out and "runtime error:" not in out, out
    return out


@pytest.mark.parametrize("name,text,needles", BAD_POLICIES, ids=[b[0] for b in BAD_POLICIES])
def test_bad_policy_refuses_to_start(accounts, name, text, needles):
    d = PolicyDaemon("badpolicy", accounts, text)
    try:
        out = start_fails(d)
        for n in needles:
            assert n in out, f"{n!r} not in jailerd's complaint:\n{out}"
        assert str(d.policy_path) in out, out
        # --check-config says the same and exits 1.
        p = subprocess.run([str(dl.JAILERD), "--config", str(d.policy_path), "--check-config"],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 1 and needles[0] in p.stderr and "Sanitizer" not in p.stderr, p
    finally:
        d.cleanup()


def test_missing_or_unsafe_file_refuses_to_start(accounts):
    d = PolicyDaemon("nopolicy", accounts)      # --config names a file that does not exist
    try:
        out = start_fails(d)
        assert "No such file" in out and str(d.policy_path) in out, out
        # writable by others: the file decides what everybody may do
        d.write_policy("{}")
        d.policy_path.chmod(0o666)
        out = start_fails(d)
        assert "writable by root alone" in out, out
    finally:
        d.cleanup()


def test_shipped_example_is_valid(tmp_path):
    """units/jailerd.json.example, the file installed beside /etc/jailer,
    passes --check-config (paths it names need not exist here).  Checked
    from a root-owned copy: the checkout may belong to anyone."""
    dl.daemon_ready()
    copy = tmp_path / "jailerd.json"
    shutil.copy(EXAMPLE, copy)
    copy.chmod(0o644)
    p = subprocess.run([str(dl.JAILERD), "--config", str(copy), "--check-config"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0 and ": ok:" in p.stdout, p


# --------------------------------------------------------------- each rule

def test_allowed_request_runs(strict, accounts, jails):
    """The control: a request within every rule runs, as the uid asked."""
    jid = unique_id("ok")
    pid = started(strict, create_as(strict, accounts, "alice", req(strict, jid, "sleep", "30")))
    assert proc_ids(pid) == (UID_BASE, UID_BASE)


def test_root_is_not_bound_by_the_rules(strict, accounts, jails):
    """Root: any program, the default uid (nobody, outside the range)."""
    jid = unique_id("root")
    reply = create_as(strict, accounts, None, dl.jail_config(jid, "exit", "0"))
    started(strict, reply)
    assert dl.wait_report(strict, jid)["exit_code"] == 0


def test_exec_outside_the_allow_list(strict, accounts):
    jid = unique_id("exec-out")
    for path in (PROBE, strict.lay.not_listed):
        refused(create_as(strict, accounts, "alice", req(strict, jid, exec_path=str(path))), "exec_paths", "exec_path")
        strict.assert_nothing_left(jid)


def test_exec_exact_entry_allows_that_file_only(strict, accounts, jails):
    jid = unique_id("exec-exact")
    started(strict, create_as(strict, accounts, "bob", req(strict, jid, exec_path=str(strict.lay.exact))))
    assert dl.wait_report(strict, jid)["exit_code"] == 0


def test_symlink_planted_in_allowed_dir(strict, accounts):
    """alice plants a link in the allowed directory she may write to,
    pointing outside it: the link is never followed, for anyone."""
    link = strict.lay.alice_dir / "vmm"
    subprocess.run(["setpriv", f"--reuid={accounts.ids('alice')[0]}", f"--regid={accounts.ids('alice')[1]}",
                    "--init-groups", "ln", "-sfn", str(PROBE), str(link)], check=True)
    assert link.is_symlink() and link.lstat().st_uid == accounts.ids("alice")[0]
    for who in ("bob", "alice"):
        jid = unique_id(f"planted-{who}")
        e = refused(create_as(strict, accounts, who, req(strict, jid, exec_path=str(link))), "exec_paths",
                    "exec_path")
        assert "symlink" in e["message"], e
        strict.assert_nothing_left(jid)


def test_root_symlink_out_of_allowed_dir(strict, accounts):
    """A link root made in the allowed directory is followed, and its
    target judged: outside the list, refused; the message says where it
    really leads."""
    link = strict.lay.vmm / "to-outside"
    if not link.is_symlink():
        link.symlink_to(strict.lay.not_listed)
    jid = unique_id("rootlink")
    e = refused(create_as(strict, accounts, "bob", req(strict, jid, exec_path=str(link))), "exec_paths", "exec_path")
    assert str(strict.lay.not_listed) in e["message"], e
    strict.assert_nothing_left(jid)


def test_exec_writable_by_requester(strict, accounts, jails):
    """A program the requester could change is refused for it, allowed for
    another member: writable through its group, owned by it, or in a
    directory it may write to."""
    alice_uid, alice_gid = accounts.ids("alice")
    group_writable = copy_probe(strict.lay.vmm / "group-writable", owner=(0, alice_gid), mode=0o775)
    owned = copy_probe(strict.lay.vmm / "alice-owned", owner=(alice_uid, alice_gid), mode=0o755)
    in_her_dir = copy_probe(strict.lay.alice_dir / "root-owned", owner=(0, 0), mode=0o755)
    for path in (group_writable, owned, in_her_dir):
        jid = unique_id("writable")
        e = refused(create_as(strict, accounts, "alice", req(strict, jid, exec_path=str(path))), "exec_writable",
                    "exec_path")
        assert "writable" in e["message"] or "write to the directory" in e["message"], e
        strict.assert_nothing_left(jid)
    jid = unique_id("writable-bob")
    started(strict, create_as(strict, accounts, "bob", req(strict, jid, exec_path=str(group_writable))))
    assert dl.wait_report(strict, jid)["exit_code"] == 0


def test_exec_writable_through_an_acl(strict, accounts):
    """A POSIX ACL entry giving alice write access counts, though the mode
    bits say 0755."""
    path = copy_probe(strict.lay.vmm / "acl-writable")
    uid = accounts.ids("alice")[0]
    # version 2; USER_OBJ rwx, USER alice rwx, GROUP_OBJ r-x, MASK rwx, OTHER r-x
    entries = [(0x01, 7, 0xFFFFFFFF), (0x02, 7, uid), (0x04, 5, 0xFFFFFFFF), (0x10, 7, 0xFFFFFFFF),
               (0x20, 5, 0xFFFFFFFF)]
    blob = (2).to_bytes(4, "little") + b"".join(
        t.to_bytes(2, "little") + p.to_bytes(2, "little") + i.to_bytes(4, "little") for t, p, i in entries)
    try:
        os.setxattr(path, "system.posix_acl_access", blob)
    except OSError as e:
        pytest.skip(f"no POSIX ACLs on this file system: {e}")
    jid = unique_id("acl")
    refused(create_as(strict, accounts, "alice", req(strict, jid, exec_path=str(path))), "exec_writable",
            "exec_path")
    strict.assert_nothing_left(jid)


def test_bind_sources(strict, accounts, jails):
    lay = strict.lay
    ok = unique_id("bind-ok")
    started(strict, create_as(strict, accounts, "alice", req(
        strict, ok, bind_mounts=[{"source": str(lay.images / "disk.img"), "dest": "/disk.img",
                                  "read_only": True}])))
    assert dl.wait_report(strict, ok)["exit_code"] == 0

    jid = unique_id("bind-out")
    refused(create_as(strict, accounts, "alice", req(
        strict, jid, bind_mounts=[{"source": str(lay.elsewhere / "secret"), "dest": "/secret", "read_only": True}])),
        "bind_sources", "bind_mounts[0].source")
    strict.assert_nothing_left(jid)

    # a prefix is a directory, not a string: "images-evil" is not under "images"
    evil = mkdir(lay.images.parent / "images-evil")
    (evil / "x").write_text("x")
    refused(create_as(strict, accounts, "alice", req(
        strict, jid, bind_mounts=[{"source": str(evil / "x"), "dest": "/x", "read_only": True}])),
        "bind_sources", "bind_mounts[0].source")
    strict.assert_nothing_left(jid)


def test_read_write_bind_refused(strict, accounts):
    jid = unique_id("bind-rw")
    refused(create_as(strict, accounts, "alice", req(
        strict, jid, bind_mounts=[{"source": str(strict.lay.images), "dest": "/images", "read_only": False}])),
        "read_write_binds", "bind_mounts[0].read_only")
    strict.assert_nothing_left(jid)


def test_jail_root_base(strict, accounts, jails):
    lay = strict.lay
    ok = unique_id("root-ok")
    started(strict, create_as(strict, accounts, "alice", req(strict, ok, jail_root=str(lay.alice_roots / ok))))
    assert dl.wait_report(strict, ok)["exit_code"] == 0
    assert not (lay.alice_roots / ok).exists(), "the jail root jailer made is not removed"

    jid = unique_id("root-out")
    refused(create_as(strict, accounts, "alice", req(strict, jid, jail_root=str(lay.outside_roots / jid))),
            "jail_root_base", "jail_root")
    assert not (lay.outside_roots / jid).exists()
    refused(create_as(strict, accounts, "alice", req(strict, jid, jail_root=str(lay.bob_roots / jid))),
            "jail_root_owner", "jail_root")
    assert not (lay.bob_roots / jid).exists()
    strict.assert_nothing_left(jid)


CEILINGS = [
    ("memory_bytes", {"memory_bytes": 512 << 20}, "limits.memory_bytes"),
    ("cpus", {"cpu_quota_us": 200000, "cpu_period_us": 100000}, "limits.cpu_quota_us"),
    ("pids", {"pids": 65}, "limits.pids"),
    ("max_fds", {"max_fds": 513}, "limits.max_fds"),
    ("max_procs", {"max_procs": 129}, "limits.max_procs"),
    ("max_file_size", {"max_file_size": (1 << 30) + 1}, "limits.max_file_size"),
    ("timeout_ms", {"timeout_ms": 600001}, "limits.timeout_ms"),
    ("pinned_cpus", {"cpus": "0-1"}, "limits.cpus"),
    ("io_weight", {"io_weight": 101}, "limits.io_weight"),
]


@pytest.mark.parametrize("name,limits,field", CEILINGS, ids=[c[0] for c in CEILINGS])
def test_ceiling(strict, accounts, name, limits, field):
    jid = unique_id(f"ceil-{name}")
    refused(create_as(strict, accounts, "alice", req(strict, jid, limits=limits)), f"ceilings.{name}", field)
    strict.assert_nothing_left(jid)


def test_io_weight_within_the_ceiling_passes_the_policy(strict, accounts, jails):
    """limits.io_weight at the ceiling is not the policy's to refuse: the
    jail runs, or (a kernel without I/O weights, such as this host's v1
    blkio without BFQ) libjailer refuses it for the kernel's sake, naming
    the field, with nothing left."""
    jid = unique_id("iow-ok")
    reply = create_as(strict, accounts, "alice", req(strict, jid, limits={"io_weight": 100}))
    if "error" in reply:
        e = reply["error"]
        assert (e.get("data") or {}).get("rule") is None, e
        assert "limits.io_weight: 100: this kernel offers no I/O weight" in e["message"], e
        strict.assert_nothing_left(jid)
        return
    started(strict, reply)


def test_pinning_within_the_ceiling_runs_pinned(strict, accounts, jails):
    """One cpu is within ceilings.pinned_cpus: the jail runs, and its
    cpuset holds that cpu.  Leaving limits.cpus out stays unpinned."""
    cpu = int(Path("/sys/devices/system/cpu/online").read_text().strip().split(",")[-1].split("-")[-1])
    jid = unique_id("pin-one")
    reply = create_as(strict, accounts, "alice", req(strict, jid, "sleep", "30", limits={"cpus": str(cpu)}))
    if "error" in reply and "cpuset" in reply["error"]["message"]:
        pytest.skip(f"no cpuset controller for jails here: {reply['error']['message']}")
    started(strict, reply)
    assert cgroup_value(strict, jid, "cpuset.cpus") == str(cpu)
    # The report jailerd hands on (wait, and the exited notification, the
    # same object) says where it ran and whether it was disturbed.
    with strict.conn() as c:
        c.call("kill", {"jail": jid, "signal": "SIGKILL"})
        rep = c.call("wait", {"jail": jid})
    assert rep["cpus"] == str(cpu), rep
    assert rep["cpu_throttled_periods"] is not None and "involuntary_switches" in rep, rep


def test_exclusive_cpus(strict, accounts, jails):
    """limits.cpus_exclusive: while the holder runs, no other jail of the
    daemon (another client's, root's) is pinned to its cpu, refused naming
    the holder; an exclusive request on a cpu a running jail is pinned to
    is refused too; another cpu is fine; the cpu is free once the holder
    has ended."""
    online = Path("/sys/devices/system/cpu/online").read_text().strip()
    cpus = sorted({int(x) for part in online.split(",")
                   for x in range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1)})
    if len(cpus) < 2:
        pytest.skip("one online cpu: no second cpu to show exclusivity against")
    mine, other = cpus[-1], cpus[0]
    holder = unique_id("excl")
    reply = create_as(strict, accounts, "alice",
                      req(strict, holder, "sleep", "30", limits={"cpus": str(mine), "cpus_exclusive": True}))
    if "error" in reply and "cpuset" in reply["error"]["message"]:
        pytest.skip(f"no cpuset controller for jails here: {reply['error']['message']}")
    started(strict, reply)

    jid = unique_id("excl-bob")
    e = refused(create_as(strict, accounts, "bob", req(strict, jid, limits={"cpus": str(mine)})),
                "cpus_exclusive", "limits.cpus", code=LIMIT_REACHED)
    assert f"cpu {mine} is held exclusively by jail {holder}" in e["message"], e
    strict.assert_nothing_left(jid)
    root_cfg = dl.jail_config(jid, "exit", "0", exec_path=str(strict.lay.probe))
    root_cfg["limits"] = {"cpus": str(mine)}
    refused(create_as(strict, accounts, None, root_cfg), "cpus_exclusive", "limits.cpus", code=LIMIT_REACHED)

    bob = unique_id("excl-bob-other")
    started(strict, create_as(strict, accounts, "bob", req(strict, bob, "sleep", "30",
                                                            limits={"cpus": str(other)})))
    jid = unique_id("excl-second")
    e = refused(create_as(strict, accounts, "alice",
                          req(strict, jid, limits={"cpus": str(other), "cpus_exclusive": True})),
                "cpus_exclusive", "limits.cpus", code=LIMIT_REACHED)
    assert f"used by jail {bob}" in e["message"], e

    with strict.conn() as c:
        c.call("kill", {"jail": holder, "signal": "SIGKILL"})
        c.call("wait", {"jail": holder})
    started(strict, create_as(strict, accounts, "bob", req(strict, unique_id("excl-after"), "exit", "0",
                                                            limits={"cpus": str(mine)})))


def whole_disk(dev):
    """major:minor of the disk that st_dev dev is on (itself, or for a
    partition its disk), or None when it is no block device."""
    sysfs = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    if not sysfs.exists():
        return None
    if (sysfs / "partition").exists():
        return (sysfs.resolve().parent / "dev").read_text().strip()
    return f"{os.major(dev)}:{os.minor(dev)}"


def test_io_device_path_resolved_as_the_client(strict, accounts, jails):
    """A client's limits.io device path is opened as the client: one it
    cannot reach is refused (host_access), one it can becomes the
    major:minor of its disk in the jail's cgroup."""
    private = mkdir(strict.top / "private-io", mode=0o700)
    (private / "f").write_text("root's\n")
    jid = unique_id("io-private")
    refused(create_as(strict, accounts, "alice",
                      req(strict, jid, limits={"io": [{"device": str(private / "f"), "rbps": 1 << 20}]})),
            "host_access", "limits.io[0].device")
    strict.assert_nothing_left(jid)

    disk = whole_disk(os.stat(strict.lay.probe).st_dev)
    if disk is None:
        pytest.skip(f"{strict.lay.probe} is on no block device: nothing to throttle")
    jid = unique_id("io-own")
    reply = create_as(strict, accounts, "alice", req(strict, jid, "sleep", "30",
                                                     limits={"io": [{"device": str(strict.lay.probe),
                                                                     "rbps": 1 << 20}]}))
    if "error" in reply and "controller" in reply["error"]["message"]:
        pytest.skip(f"no blkio/io controller for jails here: {reply['error']['message']}")
    started(strict, reply)
    value = cgroup_value(strict, jid, "io.max", "blkio.throttle.read_bps_device")
    assert value.split()[0] == disk and str(1 << 20) in value, value


def test_ceilings_are_the_defaults(strict, accounts, jails):
    """Limits a request leaves out get the ceiling, and the jail really runs
    into it: the rlimits as the kernel reports them for the process, an OOM
    kill above the memory ceiling, a failed fork above the pids ceiling.
    One at the ceiling runs."""
    jid = unique_id("ceil-default")
    pid = started(strict, create_as(strict, accounts, "alice", req(strict, jid, "sleep", "30")))
    assert proc_limit(pid, "Max open files") == "512"
    assert proc_limit(pid, "Max processes") == "128"
    assert proc_limit(pid, "Max file size") == str(1 << 30)
    # One CPU: a one-thread probe cannot show throttling at that quota, so
    # this is the value the scheduler was given (test_enforcement.py proves
    # that a quota throttles).
    quota = cgroup_value(strict, jid, "cpu.max", "cpu.cfs_quota_us").split()[0]
    assert quota == "100000", quota

    oom = unique_id("ceil-memory")
    started(strict, create_as(strict, accounts, "alice", req(strict, oom, "alloc", "300")))
    rep = dl.wait_report(strict, oom)
    assert rep["oom_killed"] is True and rep["signal"] == "SIGKILL", rep   # 300 MiB > the 256 MiB ceiling

    at = unique_id("ceil-at")
    started(strict, create_as(strict, accounts, "bob", req(strict, at, limits={"memory_bytes": 256 << 20,
                                                                               "max_fds": 512})))
    assert dl.wait_report(strict, at)["exit_code"] == 0

    # 80 children: under max_procs' 128, over the pids ceiling of 64 (which
    # counts the probe itself): a fork fails and the probe exits 1.
    forks = unique_id("ceil-pids")
    started(strict, create_as(strict, accounts, "bob", req(strict, forks, "forks", "80")))
    rep = dl.wait_report(strict, forks)
    assert rep["exit_code"] == 1, rep
    fits = unique_id("ceil-pids-fit")
    started(strict, create_as(strict, accounts, "bob", req(strict, fits, "forks", "40")))
    assert dl.wait_report(strict, fits)["exit_code"] == 0


def test_jails_per_client(strict, accounts, jails):
    a1, a2, a3, b1 = (unique_id(n) for n in ("per-a1", "per-a2", "per-a3", "per-b1"))
    started(strict, create_as(strict, accounts, "alice", req(strict, a1, "sleep", "30")))
    started(strict, create_as(strict, accounts, "alice", req(strict, a2, "sleep", "30")))
    refused(create_as(strict, accounts, "alice", req(strict, a3, "sleep", "30")), "totals.jails_per_client",
            code=LIMIT_REACHED)
    strict.assert_nothing_left(a3)
    # another client is not counted against alice
    started(strict, create_as(strict, accounts, "bob", req(strict, b1, "exit", "0")))
    # once one of hers ends, alice may start another
    with strict.conn() as c:
        c.call("kill", {"jail": a1, "signal": "SIGKILL"})
        c.call("wait", {"jail": a1})
    started(strict, create_as(strict, accounts, "alice", req(strict, a3, "exit", "0")))


def test_devices(strict, accounts, jails):
    """Only the listed devices; a listed one is granted even though alice
    could not open it herself (/dev/net/tun is 0600 root here)."""
    if not os.path.exists("/dev/net/tun") or not os.path.exists("/dev/userfaultfd"):
        pytest.skip("needs /dev/net/tun and /dev/userfaultfd on the host")
    jid = unique_id("dev-no")
    refused(create_as(strict, accounts, "alice", req(strict, jid, devices=["/dev/userfaultfd"])), "devices",
            "devices[0]")
    strict.assert_nothing_left(jid)
    ok = unique_id("dev-ok")
    started(strict, create_as(strict, accounts, "alice", req(strict, ok, devices=["/dev/net/tun"])))
    assert dl.wait_report(strict, ok)["exit_code"] == 0


def test_uid_and_gid_range(strict, accounts):
    for extra, rule, field in (({"uid": UID_BASE + 10}, "uid_range", "uid"),
                               ({"uid": 65534}, "uid_range", "uid"),
                               ({"uid": accounts.ids("alice")[0]}, "uid_range", "uid"),
                               ({"gid": UID_BASE - 1}, "gid_range", "gid")):
        jid = unique_id("range")
        refused(create_as(strict, accounts, "alice", req(strict, jid, **extra)), rule, field)
        strict.assert_nothing_left(jid)


def test_namespaces_and_seccomp(strict, accounts, jails):
    jid = unique_id("ns")
    refused(create_as(strict, accounts, "alice", req(strict, jid, namespaces={"pid": False})),
            "may_disable_namespaces", "namespaces.pid")
    refused(create_as(strict, accounts, "alice", req(strict, jid, seccomp="none")), "seccomp.allow_none", "seccomp")
    refused(create_as(strict, accounts, "alice", req(strict, jid, seccomp_allow=["io_uring_setup"])),
            "seccomp.allow_syscalls", "seccomp_allow[0]")
    strict.assert_nothing_left(jid)
    ok = unique_id("ns-ok")
    started(strict, create_as(strict, accounts, "alice", req(strict, ok, namespaces={"network": False})))
    assert dl.wait_report(strict, ok)["exit_code"] == 0


def test_cgroup_parent_refused(strict, accounts):
    jid = unique_id("cgparent")
    refused(create_as(strict, accounts, "alice", req(strict, jid, cgroup_parent="elsewhere")), "cgroup_parent",
            "cgroup_parent")
    strict.assert_nothing_left(jid)


def test_rights_of_a_watcher(strict, accounts, jails):
    """mallory is outside the socket's group but a uid rule gives her
    see_all: she lists and waits for alice's jail, and may neither create
    nor kill."""
    jid = unique_id("watched")
    started(strict, create_as(strict, accounts, "alice", req(strict, jid, "sleep", "30")))
    mode = os.stat(strict.socket).st_mode & 0o777
    os.chmod(strict.socket, 0o666)     # so that she reaches it at all
    try:
        (listing, kill, create), _ = call_as(
            strict, accounts, "mallory", ("list", {}), ("kill", {"jail": jid}),
            ("create", req(strict, unique_id("mallory"))))
        assert any(e["jail"] == jid for e in listing["result"]["jails"]), listing
        refused(kill, "clients", "jail")
        refused(create, "clients")
        # bob (see_own) still does not see alice's jail
        (bl,), _ = call_as(strict, accounts, "bob", ("list", {}))
        assert all(e["jail"] != jid for e in bl["result"]["jails"]), bl
    finally:
        os.chmod(strict.socket, mode)


def test_refusal_is_logged_with_peer_and_rule(strict, accounts):
    jid = unique_id("logged")
    refused(create_as(strict, accounts, "alice", req(strict, jid, exec_path=str(PROBE))), "exec_paths")
    uid = accounts.ids("alice")[0]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [l for l in strict.log_path.read_text(errors="replace").splitlines()
                 if jid in l and "JAILER_EVENT=refused" in l]
        if any(f"PEER_UID={uid}" in l and "JAILER_RULE=exec_paths" in l and "JAILER_FIELD=exec_path" in l
               for l in lines):
            return
        time.sleep(0.1)
    pytest.fail(f"no refused entry for {jid} with PEER_UID={uid} JAILER_RULE=exec_paths "
                f"(journald may have the log):\n{strict.log_text()}")


def test_rights_by_group_name_and_user_name(accounts):
    """Rules name a group and a user by name.  The group may create and see
    its own but not kill them; bob, by name, may also kill every jail."""
    policy = {"clients": [{"group": accounts.group, "rights": ["create", "see_own"]},
                          {"user": accounts.names["bob"], "rights": ["kill_all"]}]}
    d = PolicyDaemon("rights", accounts, policy)
    d.start()
    try:
        jid = unique_id("rights")
        started(d, create_as(d, accounts, "alice", dl.jail_config(jid, "sleep", "30")))
        (listing, kill), _ = call_as(d, accounts, "alice", ("list", {}), ("kill", {"jail": jid}))
        assert [e["jail"] for e in listing["result"]["jails"]] == [jid], listing
        refused(kill, "clients", "jail")
        # bob sees only his own (none), but may kill alice's
        (bl, bk), _ = call_as(d, accounts, "bob", ("list", {}), ("kill", {"jail": jid, "signal": "SIGKILL"}))
        assert bl["result"]["jails"] == [] and bk.get("result") == {}, (bl, bk)
        assert dl.wait_report(d, jid)["signal"] == "SIGKILL"
    finally:
        kill_all(d)
        d.cleanup()


def test_total_jails_holds_root_too(accounts):
    """totals.jails counts every jail, root's included; limit_reached, and
    a create works again once one has ended."""
    d = PolicyDaemon("totals", accounts, {"totals": {"jails": 1}})
    d.start()
    try:
        first, second = unique_id("total1"), unique_id("total2")
        started(d, create_as(d, accounts, None, dl.jail_config(first, "sleep", "30")))
        for who in (None, "alice"):
            refused(create_as(d, accounts, who, dl.jail_config(second, "exit", "0")), "totals.jails",
                    code=LIMIT_REACHED)
            d.assert_nothing_left(second)
        with d.conn() as c:
            c.call("kill", {"jail": first, "signal": "SIGKILL"})
            c.call("wait", {"jail": first})
        started(d, create_as(d, accounts, "alice", dl.jail_config(second, "exit", "0")))
    finally:
        kill_all(d)
        d.cleanup()


# --------------------------------------------------------------- uid allocation

def test_allocate_uid(accounts):
    """Two concurrent jails get different host uids (gid = uid) from the
    range; a uid in use stays taken across a daemon restart; a full range
    is limit_reached; a request naming a uid is refused."""
    lo = UID_BASE + 12
    policy = {"uid_range": [lo, lo + 1], "allocate_uid": True}
    d = PolicyDaemon("alloc", accounts, policy)
    d.start()
    try:
        a, b, c3 = unique_id("alloc-a"), unique_id("alloc-b"), unique_id("alloc-c")
        pa = started(d, create_as(d, accounts, "alice", dl.jail_config(a, "sleep", "60")))
        pb = started(d, create_as(d, accounts, "bob", dl.jail_config(b, "sleep", "60")))
        ua, ub = proc_ids(pa), proc_ids(pb)
        assert ua[0] == ua[1] and ub[0] == ub[1], (ua, ub)
        assert {ua[0], ub[0]} == {lo, lo + 1}, (ua, ub)

        refused(create_as(d, accounts, "alice", dl.jail_config(c3, "exit", "0")), "allocate_uid", "uid",
                code=LIMIT_REACHED)
        d.assert_nothing_left(c3)
        refused(create_as(d, accounts, "alice", dl.jail_config(c3, "exit", "0", uid=lo)), "allocate_uid", "uid")
        d.assert_nothing_left(c3)

        # A crash and a new daemon: it must learn which uids the running
        # jails hold (from their state), not hand out b's again.
        d.kill9()
        d.start()
        with d.conn() as c:
            c.call("kill", {"jail": a, "signal": "SIGKILL"})
            c.call("wait", {"jail": a})
        pc = started(d, create_as(d, accounts, "alice", dl.jail_config(c3, "sleep", "60")))
        assert proc_ids(pc) == ua, (proc_ids(pc), ua, ub)
        assert proc_ids(pb) == ub
        # root's default (nobody) is allocated too: the range is full
        refused(create_as(d, accounts, None, dl.jail_config(unique_id("alloc-root"), "exit", "0")),
                "allocate_uid", code=LIMIT_REACHED)
    finally:
        kill_all(d)
        d.cleanup()


def test_pinned_cpus_zero_refuses_pinning(accounts):
    """ceilings.pinned_cpus 0: no client jail may be pinned (refused with
    the rule, nothing left); without limits.cpus the same request runs."""
    d = PolicyDaemon("nopin", accounts)
    lay = Layout(d.top, accounts)
    d.write_policy({"exec_paths": [str(lay.vmm)], "ceilings": {"pinned_cpus": 0}})
    d.start()
    try:
        jid = unique_id("nopin")
        cfg = dl.jail_config(jid, "exit", "0", exec_path=str(lay.probe))
        cfg["limits"] = {"cpus": "0"}
        e = refused(create_as(d, accounts, "alice", cfg), "ceilings.pinned_cpus", "limits.cpus")
        assert '"0"' in e["message"], e
        d.assert_nothing_left(jid)
        del cfg["limits"]
        started(d, create_as(d, accounts, "alice", cfg))
    finally:
        kill_all(d)
        d.cleanup()


# --------------------------------------------------------------- reload

def test_reload_keeps_jails_and_bad_file_keeps_policy(accounts, monkeypatch):
    from test_daemon_activation import Notify

    d = PolicyDaemon("reload", accounts)
    lay = Layout(d.top, accounts)
    allow_vmm = {"exec_paths": [str(lay.vmm)]}
    d.write_policy(allow_vmm)
    notify = Notify(d.top / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    d.start()
    monkeypatch.delenv("NOTIFY_SOCKET")
    try:
        running = unique_id("reload-run")
        started(d, create_as(d, accounts, "alice", dl.jail_config(running, "sleep", "60", exec_path=str(lay.probe))))

        # Narrow the policy: the running jail is not touched, new ones obey.
        d.write_policy({"exec_paths": [str(lay.exact)]})
        notify.messages.clear()
        assert d.reload() == "reloaded"
        def ready_after_reloading():
            lines = [m.split("\n") for m in notify.messages]
            first = next((i for i, m in enumerate(lines) if "RELOADING=1" in m), None)
            return first is not None and any("READY=1" in m for m in lines[first + 1:])

        deadline = time.monotonic() + 15
        while not ready_after_reloading():
            assert time.monotonic() < deadline, f"no RELOADING=1 then READY=1 among {notify.messages}"
            notify.read(0.2)
        # Unread, its queue would fill and block jailerd's next sd_notify().
        notify.close()
        jid = unique_id("reload-new")
        refused(create_as(d, accounts, "alice", dl.jail_config(jid, "exit", "0", exec_path=str(lay.probe))),
                "exec_paths", "exec_path")
        d.assert_nothing_left(jid)
        with d.conn() as c:
            assert [e["state"] for e in c.call("list")["jails"] if e["jail"] == running] == ["running"]

        # A broken file: logged, and the narrowed policy stays (not the
        # built-in default, which would allow the probe again).
        d.write_policy('{"exec_paths": ["/usr/bin/qemu"], "ceilings": {"memory_bytes": "lots"}}')
        assert d.reload() == "kept"
        assert "ceilings.memory_bytes" in d.log_text()
        refused(create_as(d, accounts, "alice", dl.jail_config(jid, "exit", "0", exec_path=str(lay.probe))),
                "exec_paths", "exec_path")
        ok = unique_id("reload-exact")
        started(d, create_as(d, accounts, "alice", dl.jail_config(ok, "exit", "0", exec_path=str(lay.exact))))
        assert d.alive()

        # The jail from before both reloads is still there, and its report arrives.
        with d.conn() as c:
            c.call("kill", {"jail": running, "signal": "SIGKILL"})
            rep = c.call("wait", {"jail": running})
        assert rep["signal"] == "SIGKILL", rep

        # Fixed again: the wider policy applies.
        d.write_policy(allow_vmm)
        assert d.reload() == "reloaded"
        again = unique_id("reload-again")
        started(d, create_as(d, accounts, "alice", dl.jail_config(again, "exit", "0", exec_path=str(lay.probe))))
    finally:
        notify.close()
        kill_all(d)
        d.cleanup()

# SPDX-License-Identifier: MIT
"""Who may use jailerd: root everything; members of the socket's group may
run jails and see, wait for and kill their own only; anyone else cannot
connect (socket 0660 root:group) or, should they reach the socket, is
refused with permission_denied.  Users and groups are made for the module
under unique names and deleted at the end; clients run through
setpriv --reuid/--regid/--init-groups."""
import grp
import json
import os
import stat
import time

import pytest

import daemonlib as dl
import jailtest
from daemonlib import Accounts, module_accounts  # noqa: F401 - re-exported while other modules still import them from here
from jailtest import unique_id

# Members name the probe: a copy they can reach wherever the checkout is.
PROBE = jailtest.for_others(jailtest.PROBE)


@pytest.fixture(scope="module")
def accounts():
    yield from dl.module_accounts()


@pytest.fixture(scope="module")
def daemon(accounts):
    d = dl.Daemon("perms", group=accounts.group)
    if not d.offers("--group"):
        pytest.fail("jailerd has no --group option to name the socket's group", pytrace=False)
    yield from dl.serve(d.start())


def ctl(daemon, accounts, who, *args, **kw):
    return dl.run_ctl(daemon, *args, user=accounts.ids(who), **kw)


def ctl_json(daemon, accounts, who, *args):
    p = ctl(daemon, accounts, who, "--json", *args)
    assert p.returncode == 0, p
    return json.loads(p.stdout)


def start_jail(daemon, accounts, who, *probe_args):
    jid = unique_id(f"{who}")
    p = ctl(daemon, accounts, who, "create", "--id", jid, "--exec", PROBE, "--", *probe_args)
    assert p.returncode == 0, (p, daemon.log_text())
    return jid


def test_socket_mode_and_group(daemon, accounts):
    st = os.stat(daemon.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert st.st_uid == 0
    assert st.st_gid == grp.getgrnam(accounts.group).gr_gid


def test_outsider_cannot_connect(daemon, accounts):
    p = ctl(daemon, accounts, "mallory", "version")
    assert p.returncode != 0, p
    assert "Permission denied" in p.stderr, p.stderr


def test_outsider_refused_even_when_reaching_the_socket(daemon, accounts):
    """With the socket opened up by mistake, SO_PEERCRED still refuses."""
    mode = stat.S_IMODE(os.stat(daemon.socket).st_mode)
    os.chmod(daemon.socket, 0o666)
    try:
        p = ctl(daemon, accounts, "mallory", "version")
        assert p.returncode == 1 and "permission_denied" in p.stderr, p
        jid = unique_id("mallory")
        p = ctl(daemon, accounts, "mallory", "run", "--id", jid, "--exec", PROBE, "--", "exit", "0")
        assert p.returncode == 77 and "permission_denied" in p.stderr, p
        daemon.assert_nothing_left(jid)
    finally:
        os.chmod(daemon.socket, mode)


def test_member_runs_a_jail(daemon, accounts):
    jid = unique_id("alice-run")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--", "report")
    assert p.returncode == 0, (p, daemon.log_text())
    lines = dl.json_lines(p.stdout)
    assert lines and lines[0].get("probe") == "report"
    # it ran as a uid of its own, allocated from the range reserved for
    # jails (docs/policy.md), gid = uid, with no groups of alice's
    seen = lines[0]
    assert 0x7F000000 <= seen["uid"] <= 0x7F00FFFF, seen
    assert (seen["euid"], seen["gid"], seen["egid"]) == (seen["uid"],) * 3, seen
    assert seen["groups"] == [], seen
    rep = dl.wait_report(daemon, jid)
    assert rep["exit_code"] == 0


def test_member_sees_and_kills_only_its_own(daemon, accounts):
    alice_uid = accounts.ids("alice")[0]
    jid = start_jail(daemon, accounts, "alice", "sleep", "60")
    try:
        # alice sees it, with her uid as owner
        mine = [e for e in ctl_json(daemon, accounts, "alice", "list")["jails"] if e["jail"] == jid]
        assert len(mine) == 1 and mine[0]["uid"] == alice_uid, mine
        assert ctl_json(daemon, accounts, "alice", "status", jid)["uid"] == alice_uid
        p = ctl(daemon, accounts, "alice", "stats", "--interval", "100", jid)
        assert p.returncode == 0 and f"{jid} running" in " ".join(p.stdout.split()), p

        # bob neither sees it nor may touch it
        assert all(e["jail"] != jid for e in ctl_json(daemon, accounts, "bob", "list")["jails"])
        for args in (("kill", jid), ("kill", jid, "KILL"), ("status", jid), ("stats", jid),
                     ("stats", "-f", "--interval", "100", jid)):
            p = ctl(daemon, accounts, "bob", *args)
            assert p.returncode == 1 and "permission_denied" in p.stderr, (args, p)
        p = ctl(daemon, accounts, "bob", "wait", jid, timeout=30)
        assert p.returncode == 77 and "permission_denied" in p.stderr, p

        # root sees everything
        with daemon.conn() as c:
            assert any(e["jail"] == jid and e["uid"] == alice_uid for e in c.call("list")["jails"])

        # alice kills her own
        p = ctl(daemon, accounts, "alice", "kill", jid, "SIGKILL")
        assert p.returncode == 0, p
        p = ctl(daemon, accounts, "alice", "wait", jid)
        assert p.returncode == 128 + 9, p
    finally:
        with daemon.conn() as c:
            try:
                c.call("kill", {"jail": jid, "signal": "SIGKILL"})
            except dl.RpcError:
                pass


def test_member_events_only_its_own(daemon, accounts):
    """A member's subscription shows its own jails, not other users'."""
    def bob_runs(jid):
        p = ctl(daemon, accounts, "bob", "run", "--id", jid, "--exec", PROBE, "--", "exit", "0")
        assert p.returncode == 0, p

    ev = dl.Events(daemon, user=accounts.ids("bob"))
    try:
        ev.subscribed(bob_runs)
        alice_jid = unique_id("alice-ev")
        p = ctl(daemon, accounts, "alice", "run", "--id", alice_jid, "--exec", PROBE, "--", "exit", "0")
        assert p.returncode == 0, p
        # bob's next jail comes after alice's on the same stream
        bob_jid = unique_id("bob-ev")
        bob_runs(bob_jid)
        assert ev.wait_for(lambda m: m["params"].get("jail") == bob_jid and m["method"] == "exited")
        assert ev.of(alice_jid) == [], ev.lines
        assert ev.of(bob_jid) == ["started", "exited"]
    finally:
        ev.stop()


def test_member_cannot_run_as_another_user(daemon, accounts):
    """A member's jail runs as an allocated uid or itself, never as someone else
    (uid 0 is refused for everyone, by validation)."""
    bob_uid, bob_gid = accounts.ids("bob")
    for flags, field in ((("--uid", bob_uid), "uid"), (("--gid", bob_gid), "gid")):
        jid = unique_id("alice-as-bob")
        p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, *flags, "--", "exit", "0")
        assert p.returncode == 77 and "permission_denied" in p.stderr and f"field {field}" in p.stderr, p
        daemon.assert_nothing_left(jid)
    jid = unique_id("alice-root")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--uid", "0", "--", "exit", "0")
    assert p.returncode == 125 and "field uid" in p.stderr, p   # invalid config, not a refusal
    daemon.assert_nothing_left(jid)
    # her own uid is fine
    alice_uid, alice_gid = accounts.ids("alice")
    p = ctl(daemon, accounts, "alice", "run", "--id", unique_id("alice-self"), "--exec", PROBE,
            "--uid", alice_uid, "--gid", alice_gid, "--", "exit", "0")
    assert p.returncode == 0, p


def test_member_cannot_choose_cgroup_parent(daemon, accounts):
    jid = unique_id("alice-cg")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--cgroup-parent", "elsewhere",
            "--", "exit", "0")
    assert p.returncode == 77 and "permission_denied" in p.stderr, p
    daemon.assert_nothing_left(jid)


def test_peer_uid_in_log(daemon, accounts):
    """The request of an unprivileged peer is logged with its uid."""
    alice_uid = accounts.ids("alice")[0]
    jid = unique_id("alice-log")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--", "exit", "0")
    assert p.returncode == 0, p
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = daemon.log_path.read_text(errors="replace")
        lines = [l for l in log.splitlines() if jid in l]
        if any(str(alice_uid) in l for l in lines):
            return
        time.sleep(0.1)
    pytest.fail(f"no log line of {jid} names uid {alice_uid} (journald may have taken the log):\n"
                f"{daemon.log_text()}")


def test_outsider_is_told_which_group_opens_the_socket(daemon, accounts):
    """A user outside the socket's group gets EACCES from connect(); the
    message names the group and how to join it, not just the errno."""
    p = ctl(daemon, accounts, "mallory", "version")
    assert p.returncode == 1, p
    assert "Permission denied" in p.stderr and accounts.group in p.stderr and "usermod -aG" in p.stderr, p


def test_kill_all_signals_only_what_the_caller_may_see(daemon, accounts):
    """jailerctl kill --all: a member's kills her own running jails and
    nothing else; root's kills every jail."""
    a1 = start_jail(daemon, accounts, "alice", "sleep", "60")
    a2 = start_jail(daemon, accounts, "alice", "sleep", "60")
    b1 = start_jail(daemon, accounts, "bob", "sleep", "60")
    p = ctl(daemon, accounts, "alice", "kill", "--all", "KILL")
    assert p.returncode == 0 and "signalled 2 jails" in p.stdout, p
    for jid in (a1, a2):
        w = ctl(daemon, accounts, "alice", "wait", jid, timeout=30)
        assert w.returncode == 128 + 9, w
    assert ctl_json(daemon, accounts, "bob", "status", b1)["state"] == "running"
    p = dl.run_ctl(daemon, "--json", "kill", "--all", "KILL")
    assert p.returncode == 0 and json.loads(p.stdout)["signalled"] >= 1, p
    w = ctl(daemon, accounts, "bob", "wait", b1, timeout=30)
    assert w.returncode == 128 + 9, w


def test_json_run_prints_a_refusal_as_json_and_exits_77(daemon, accounts):
    bob_uid, _ = accounts.ids("bob")
    jid = unique_id("alice-json")
    p = ctl(daemon, accounts, "alice", "--json", "run", "--id", jid, "--exec", PROBE, "--uid", bob_uid,
            "--", "exit", "0")
    assert p.returncode == 77, p
    err = json.loads(p.stdout.strip().splitlines()[-1])["error"]
    assert err["code"] == -32001 and err["data"]["reason"] == "permission_denied" and err["data"]["field"] == "uid"
    daemon.assert_nothing_left(jid)

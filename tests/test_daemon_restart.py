# SPDX-License-Identifier: MIT
"""Jails outlive jailerd: SIGKILL the daemon (by pid) while a jail runs,
start it again on the same state directory: the jail still runs, is
listed, and its exit report arrives to a wait on the new daemon, even when
it ended while no daemon was there."""
import time

import pytest

import daemonlib as dl
import jailtest
from jailtest import unique_id


@pytest.fixture
def daemon():
    d = dl.make_daemon("restart")
    yield d
    d.cleanup()


def test_jail_survives_sigkill_of_daemon(daemon):
    jid = unique_id("survivor")
    with daemon.conn() as c:
        res = c.call("create", dl.jail_config(jid, "sleep", "4"))
    pid = res["pid"]
    started = time.monotonic()

    daemon.kill9()
    assert jailtest.pid_alive(pid), "the jail died with the daemon"
    daemon.start()

    with daemon.conn() as c:
        mine = [e for e in c.call("list")["jails"] if e["jail"] == jid]
        assert len(mine) == 1, (mine, daemon.log_text())
        dl.assert_jail_entry(mine[0], jid)
        assert mine[0]["pid"] == pid
        if time.monotonic() - started < 3:
            assert mine[0]["state"] == "running", mine
        rep = c.call("wait", {"jail": jid}, timeout=60)
    dl.assert_report_shape(rep, jid)
    assert rep["exit_code"] == 0 and rep["pid"] == pid, rep
    daemon.assert_nothing_left(jid, state_too=False)


def test_exit_while_daemon_is_down(daemon):
    jid = unique_id("orphan")
    with daemon.conn() as c:
        res = c.call("create", dl.jail_config(jid, "exit", "0"))  # ends at once
        c.call("create", dl.jail_config(jid + "-b", "sleep", "0.5"))
    daemon.kill9()
    time.sleep(1.5)  # both exit with no daemon
    daemon.start()
    for j, pid in ((jid, res["pid"]), (jid + "-b", None)):
        rep = dl.wait_report(daemon, j, timeout=30)
        dl.assert_report_shape(rep, j)
        assert rep["exit_code"] == 0, rep
        if pid:
            assert rep["pid"] == pid
        daemon.assert_nothing_left(j, state_too=False)


def test_kill_after_restart(daemon):
    jid = unique_id("killafter")
    with daemon.conn() as c:
        c.call("create", dl.jail_config(jid, "sleep", "60"))
    daemon.kill9()
    daemon.start()
    with daemon.conn() as c:
        st = c.call("status", {"jail": jid})
        assert st["state"] == "running" and st["usage"]["pids_current"] >= 1, st
        c.call("kill", {"jail": jid, "signal": "SIGKILL"})
        rep = c.call("wait", {"jail": jid}, timeout=60)
    assert rep["signal"] == "SIGKILL", rep
    daemon.assert_nothing_left(jid, state_too=False)


# jailerctl run riding out a restart (SIGKILL and SIGTERM):
# tests/test_daemon_resume.py.


def test_stale_state_cleaned(daemon):
    """A state directory whose supervisor is gone and left no report is not
    listed as running forever: the jail is lost (tests/test_daemon_resume.py
    checks what is said about it)."""
    jid = unique_id("stale")
    with daemon.conn() as c:
        res = c.call("create", dl.jail_config(jid, "sleep", "60"))
    daemon.kill9()
    # kill the jail and its supervisor behind the daemon's back, by pid
    sup = None
    try:
        with open(f"/proc/{res['pid']}/status") as f:
            for line in f:
                if line.startswith("PPid:"):
                    sup = int(line.split()[1])
    except OSError:
        pass
    if sup:
        jailtest.kill_pids([sup])
    jailtest.kill_pids([res["pid"]])
    time.sleep(0.5)
    daemon.start()
    with daemon.conn() as c:
        entries = [e for e in c.call("list")["jails"] if e["jail"] == jid]
        assert [e["state"] for e in entries] == ["lost"], entries
        m = c.reply(c.send("wait", {"jail": jid}), timeout=30)
        assert m["error"]["data"]["reason"] == "lost", m
    daemon.assert_nothing_left(jid, state_too=False)


def test_report_of_an_earlier_version_says_lost(daemon):
    """Earlier versions of jailerd wrote a report of their own, with
    "error", for a jail whose supervisor died: a restarted jailerd still
    answers such a jail as lost, with that message, and takes the rest of
    the report as it is; a report without "error" is the jail's."""
    import json
    jid, kept = unique_id("oldrep"), unique_id("newrep")
    for j in (jid, kept):
        dl.create_and_wait(daemon, j, "exit", "3")
    daemon.kill9()
    path = daemon.state_dir / "jails" / jid / "report.json"
    old = json.loads(path.read_text())
    old["error"] = "its supervisor died (written by an earlier jailerd)"
    path.write_text(json.dumps(old))
    daemon.start()
    with daemon.conn() as c:
        states = {e["jail"]: e["state"] for e in c.call("list")["jails"] if e["jail"] in (jid, kept)}
        assert states == {jid: "lost", kept: "exited"}, (states, daemon.log_text())
        m = c.reply(c.send("wait", {"jail": jid}), timeout=30)
        assert m["error"]["data"]["reason"] == "lost", m
        assert "written by an earlier jailerd" in json.dumps(m), m
        rep = c.call("wait", {"jail": kept}, timeout=30)
    dl.assert_report_shape(rep, kept)
    assert rep["exit_code"] == 3, rep
    for j in (jid, kept):
        daemon.assert_nothing_left(j, state_too=False)


def test_exclusive_cpus_survive_a_restart(daemon):
    """A restarted jailerd still keeps other jails off the cpu a running
    jail holds exclusively (it reads it back from the jail's config.json),
    and frees it once that jail has ended."""
    online = open("/sys/devices/system/cpu/online").read().strip()
    cpu = int(online.split(",")[-1].split("-")[-1])
    holder, other = unique_id("excl-holder"), unique_id("excl-other")
    cfg = dl.jail_config(holder, "sleep", "60")
    cfg["limits"] = {"cpus": str(cpu), "cpus_exclusive": True}
    with daemon.conn() as c:
        try:
            c.call("create", cfg)
        except dl.RpcError as e:
            if "cpuset" in (e.message or ""):
                pytest.skip(f"no cpuset controller for jails here: {e.message}")
            raise
    daemon.kill9()
    daemon.start()
    cfg2 = dl.jail_config(other, "exit", "0")
    cfg2["limits"] = {"cpus": str(cpu)}
    with daemon.conn() as c:
        with pytest.raises(dl.RpcError) as e:
            c.call("create", cfg2)
        assert e.value.reason == "limit_reached" and e.value.data.get("rule") == "cpus_exclusive", e.value
        assert f"held exclusively by jail {holder}" in e.value.message, e.value
        c.call("kill", {"jail": holder, "signal": "SIGKILL"})
        c.call("wait", {"jail": holder}, timeout=60)
        c.call("create", cfg2)
        rep = c.call("wait", {"jail": other}, timeout=60)
    assert rep["exit_code"] == 0 and rep["cpus"] == str(cpu), rep
    daemon.assert_nothing_left(holder, state_too=False)

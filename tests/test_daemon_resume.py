# SPDX-License-Identifier: MIT
"""A restart of jailerd loses nothing a client waits for and repeats
nothing it was told: `jailerctl run`/`wait` and `jailerctl events` ride
through a SIGKILL and a SIGTERM (what `systemctl restart` sends) of jailerd;
every event arrives exactly once, in order, with a cursor that grows; an
exit is logged once; a jail whose supervisor died is answered `lost`, not
`not_found`.  (Under real systemd: tests/vm/systemd-tier.sh.)"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

import jailtest
import test_daemon_e2e as dt
from jailtest import PROBE, unique_id


@pytest.fixture
def daemon():
    d = dt.make_daemon("resume")
    yield d
    d.cleanup()


def supervisor_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


def wait_gone(pid, timeout=30):
    deadline = time.monotonic() + timeout
    while jailtest.pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.05)


def cursor_seq(cursor):
    epoch, seq = cursor.split(":")
    assert re.fullmatch(r"[0-9a-f]{32}", epoch), cursor
    return epoch, int(seq)


def assert_events_once_in_order(lines, expected):
    """lines: the notifications as jailerctl --json events printed them;
    expected: [(method, jail)] that must appear, each exactly once, in this
    order relative to each other; cursors strictly increasing throughout."""
    seen = [(m["method"], m["params"]["jail"]) for m in lines]
    for ev in expected:
        assert seen.count(ev) == 1, (ev, seen)
    idx = [seen.index(ev) for ev in expected]
    assert idx == sorted(idx), (expected, seen)
    seqs = [cursor_seq(m["params"]["cursor"]) for m in lines]
    assert len({e for e, _ in seqs}) == 1, seqs
    nums = [n for _, n in seqs]
    assert nums == sorted(set(nums)), f"cursors repeat or go back: {nums}"


def test_subscribe_reply_has_cursor_and_bad_cursor_refused(daemon):
    with daemon.conn() as c:
        res = c.call("subscribe")
        cursor_seq(res["cursor"])
    for bad in ("nope", "0:1", "a" * 32 + ":x", "a" * 32 + ":-1", 5):
        with daemon.conn() as c:
            err = c.error("subscribe", {"cursor": bad})
        assert err.reason == "invalid_params" and err.field == "cursor", (bad, err)


def test_replay_after_cursor(daemon):
    """A subscriber that comes back with a cursor gets exactly what came
    after it, and nothing before it."""
    a, b = unique_id("repa"), unique_id("repb")
    with daemon.conn() as c:
        start = c.call("subscribe")["cursor"]
    dt.create_and_wait(daemon, a, "exit", "0")
    with daemon.conn() as c:
        mid = c.call("subscribe")["cursor"]
    dt.create_and_wait(daemon, b, "exit", "3")
    with daemon.conn() as c:
        c.call("subscribe", {"cursor": start})
        got = [c.notification() for _ in range(4)]
    assert [(m["method"], m["params"]["jail"]) for m in got] == \
        [("started", a), ("exited", a), ("started", b), ("exited", b)], got
    assert got[1]["params"]["report"]["exit_code"] == 0 and got[3]["params"]["report"]["exit_code"] == 3
    with daemon.conn() as c:
        c.call("subscribe", {"cursor": mid})
        got = [c.notification(), c.notification()]
        assert [(m["method"], m["params"]["jail"]) for m in got] == [("started", b), ("exited", b)], got
        with pytest.raises(Exception):
            c.notification(timeout=1)


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_events_ride_through_restart(daemon, how):
    """`jailerctl events` through a restart of jailerd: the exit of a jail
    that ended while no jailerd ran, and the jails after, each once."""
    ev = dt.Events(daemon)
    try:
        ev.subscribed(lambda j: dt.create_and_wait(daemon, j, "exit", "0"))
        a, b = unique_id("evra"), unique_id("evrb")
        with daemon.conn() as c:
            c.call("create", dt.jail_config(a, "sleep", "1.5"))
        assert ev.wait_for(lambda m: m["method"] == "started" and m["params"]["jail"] == a)
        if how == "sigkill":
            daemon.kill9()
        else:
            assert daemon.stop() == 0, daemon.log_text()
        time.sleep(2.5)  # a ends with no jailerd
        daemon.start()
        dt.create_and_wait(daemon, b, "exit", "0")
        assert ev.wait_for(lambda m: m["method"] == "exited" and m["params"]["jail"] == b), ev.lines
        time.sleep(0.5)  # anything repeated would come now
        with ev.cond:
            lines = [m for m in ev.lines if m["params"]["jail"] in (a, b)]
            everything = list(ev.lines)
        assert_events_once_in_order(lines, [("started", a), ("exited", a), ("started", b), ("exited", b)])
        assert_events_once_in_order(everything, [])
        assert ev.proc.poll() is None, ev.proc.stderr.read()
    finally:
        ev.stop()


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_run_rides_through_restart(daemon, how):
    """jailerctl run gets its jail's exit status although jailerd was
    restarted while it waited (SIGTERM: jailerd answers the wait with
    shutting_down; jailerctl asks the next one)."""
    jid = unique_id("runrst")
    p = subprocess.Popen([str(dt.JAILERCTL), "--socket", str(daemon.socket), "run", "--id", jid,
                          "--exec", str(PROBE), "--", "sleep", "3"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with daemon.conn() as c:
                if any(e["jail"] == jid and e["state"] == "running" for e in c.call("list")["jails"]):
                    break
            time.sleep(0.05)
        if how == "sigkill":
            daemon.kill9()
        else:
            assert daemon.stop() == 0, daemon.log_text()
        time.sleep(0.5)
        daemon.start()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
    assert p.returncode == 0, (p.returncode, err, daemon.log_text())
    assert "reconnecting" in err, err


def exited_lines(daemon, jid):
    return [l for l in daemon.log_path.read_text(errors="replace").splitlines()
            if f"Jail {jid} exited" in l or f"Jail {jid} was killed" in l or f"Jail {jid} was lost" in l]


def test_exit_logged_once_across_restarts(daemon):
    """An exit seen live is not logged again by the next jailerd; one that
    happened while none ran is logged once, with the time it happened."""
    live, away = unique_id("logl"), unique_id("loga")
    dt.create_and_wait(daemon, live, "exit", "0")
    with daemon.conn() as c:
        c.call("create", dt.jail_config(away, "sleep", "0.3"))
    daemon.kill9()
    time.sleep(1.5)
    daemon.start()
    dt.wait_report(daemon, away)
    daemon.kill9()
    daemon.start()
    assert len(exited_lines(daemon, live)) == 1, daemon.log_text()
    lines = exited_lines(daemon, away)
    assert len(lines) == 1, daemon.log_text()
    assert "while jailerd was not running" in lines[0] and re.search(r" at \d{4}-\d\d-\d\dT", lines[0]), lines
    with daemon.conn() as c:
        (entry,) = [e for e in c.call("list")["jails"] if e["jail"] == away]
    dt.parse_rfc3339(entry["exited_at"])


def assert_lost(daemon, jid, pid):
    with daemon.conn() as c:
        err = c.error("wait", {"jail": jid}, timeout=30)
        (entry,) = [e for e in c.call("list")["jails"] if e["jail"] == jid]
        st = c.call("status", {"jail": jid})
    assert err.reason == "lost", err
    assert err.code == -32009 and err.data["pid"] == pid and err.data["killed"] is True, err
    assert jid in err.message and "killed" in err.message, err
    dt.parse_rfc3339(err.data["started_at"])
    assert entry["state"] == "lost" and "report" not in entry and entry["error"], entry
    assert st["state"] == "lost", st
    # jailerctl says so, and does not make up an exit status
    p = dt.run_ctl(daemon, "wait", jid)
    assert p.returncode == 125 and "lost" in p.stderr, p


def test_lost_when_supervisor_dies_while_daemon_down(daemon):
    jid = unique_id("lostdown")
    with daemon.conn() as c:
        res = c.call("create", dt.jail_config(jid, "sleep", "60"))
    pid = res["pid"]
    sup = supervisor_of(pid)
    daemon.kill9()
    jailtest.kill_pids([sup])
    wait_gone(sup)
    daemon.start()
    wait_gone(pid)
    assert_lost(daemon, jid, pid)
    daemon.assert_nothing_left(jid, state_too=False)
    # the record outlives another restart, and is logged once
    daemon.kill9()
    daemon.start()
    assert_lost(daemon, jid, pid)
    assert len(exited_lines(daemon, jid)) == 1, daemon.log_text()


def test_lost_when_supervisor_dies_while_daemon_up(daemon):
    jid = unique_id("lostup")
    with daemon.conn() as c:
        res = c.call("create", dt.jail_config(jid, "sleep", "60"))
        w = c.send("wait", {"jail": jid})
        jailtest.kill_pids([supervisor_of(res["pid"])])
        m = c.reply(w, timeout=30)
    assert m["error"]["data"]["reason"] == "lost" and m["error"]["data"]["pid"] == res["pid"], m
    wait_gone(res["pid"])
    assert_lost(daemon, jid, res["pid"])
    daemon.assert_nothing_left(jid, state_too=False)


def test_numbers_never_go_back_when_records_are_removed():
    """A removed record takes its event numbers with it; the numbers go on
    from above them after a restart all the same.  jailerd saves the floor
    only when a record it removes has a number the saved floor does not
    cover: the first removal covers a jail still running, and the removal
    of that jail later must save again."""
    d = dt.make_daemon("resume-floor", extra=("--retention", "1"))
    try:
        early, late, after = unique_id("flra"), unique_id("flrb"), unique_id("flrc")
        with d.conn() as c:
            c.call("create", dt.jail_config(late, "sleep", "3"))
        dt.create_and_wait(d, early, "exit", "0")

        def removed(jid):
            with d.conn() as c:
                m = c.reply(c.send("status", {"jail": jid}))
            return m.get("error", {}).get("data", {}).get("reason") == "not_found"

        deadline = time.monotonic() + 30
        while not removed(early):
            assert time.monotonic() < deadline, f"{early} kept past its retention"
            time.sleep(0.1)
        # late still runs: the floor saved at early's removal is below its exit
        dt.wait_report(d, late)
        while not removed(late):
            assert time.monotonic() < deadline, f"{late} kept past its retention"
            time.sleep(0.1)
        with d.conn() as c:
            epoch, last = cursor_seq(c.call("subscribe")["cursor"])
        assert last >= 4, last     # two jails, two events each
        d.kill9()                  # nothing saved on the way out
        d.start()
        with d.conn() as c:
            now = cursor_seq(c.call("subscribe")["cursor"])
            assert now[0] == epoch and now[1] >= last, (now, last)
            c.call("create", dt.jail_config(after, "exit", "0"))
            started = c.notification()
        assert started["method"] == "started" and started["params"]["jail"] == after, started
        assert cursor_seq(started["params"]["cursor"])[1] > last, (started, last)
    finally:
        d.cleanup()

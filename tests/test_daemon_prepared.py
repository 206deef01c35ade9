# SPDX-License-Identifier: MIT
"""Prepared jails: `create` with "start": false does everything up to the
program's execve (cgroup, namespaces, mounts, pivot_root, user namespace,
privileges) and answers; `start` runs it.  Proven from the outside (the
program has not run: no output, no started event, the wall time counts from
start) and from inside (the probe sees the same jail as a jail started at
once), and for every way a prepared jail can end: start, kill, its timeout
with nobody there, a restart of jailerd in between; start twice, and start
of another user's jail, are refused."""
import json
import os
import re
import select
import signal
import time

import pytest

import jailtest
import test_daemon_e2e as dt
import test_daemon_perms as tp
import test_tenants as tt
from jailtest import PROBE, unique_id


@pytest.fixture
def daemon():
    d = dt.make_daemon("prepared")
    yield d
    d.cleanup()


def prepare(daemon, jid, *args, **extra):
    cfg = dt.jail_config(jid, *args, **extra)
    cfg["start"] = False
    with daemon.conn() as c:
        res = c.call("create", cfg)
    assert res["jail"] == jid and res["state"] == "prepared" and res["pid"] > 0, res
    return res


def state_of(daemon, jid):
    with daemon.conn() as c:
        return [e["state"] for e in c.call("list")["jails"] if e["jail"] == jid]


def test_prepare_start_report(daemon):
    jid = unique_id("prep")
    ev = dt.Events(daemon)
    try:
        ev.subscribed(lambda j: dt.create_and_wait(daemon, j, "exit", "0"))
        out_r, out_w = os.pipe()
        cfg = dt.jail_config(jid, "exit", "4")
        cfg["start"] = False
        with daemon.conn() as c:
            res = c.call("create", cfg, fds=[0, out_w, 2])
        os.close(out_w)
        assert res["state"] == "prepared", res
        assert state_of(daemon, jid) == ["prepared"]
        # Ready, but its program has not run: no output, no started event.
        os.set_blocking(out_r, False)
        time.sleep(1.0)
        with pytest.raises(BlockingIOError):
            os.read(out_r, 4096)
        assert "started" not in ev.of(jid), ev.of(jid)
        with daemon.conn() as c:
            assert c.call("status", {"jail": jid})["state"] == "prepared"
            started = c.call("start", {"jail": jid})
            rep = c.call("wait", {"jail": jid})
        assert started == {"jail": jid, "pid": res["pid"]}, started
        dt.assert_report_shape(rep, jid)
        assert rep["exit_code"] == 4 and rep["pid"] == res["pid"], rep
        # wall time counts from start, not from create (1 s before)
        assert rep["wall_time_us"] < 1_000_000, rep
        os.set_blocking(out_r, True)
        assert json.loads(os.read(out_r, 4096).decode().splitlines()[0])["probe"] == "exit"
        os.close(out_r)
        assert ev.wait_for(lambda m: m["method"] == "exited" and m["params"]["jail"] == jid)
        assert ev.of(jid) == ["started", "exited"], ev.of(jid)
        daemon.assert_nothing_left(jid, state_too=False)
    finally:
        ev.stop()


def probe_report(daemon, jid, prepared):
    r, w = os.pipe()
    cfg = dt.jail_config(jid, "report")
    if prepared:
        cfg["start"] = False
    with daemon.conn() as c:
        c.call("create", cfg, fds=[0, w, 2])
        os.close(w)
        if prepared:
            c.call("start", {"jail": jid})
        rep = c.call("wait", {"jail": jid})
    assert rep["exit_code"] == 0, rep
    with os.fdopen(r) as f:
        return json.loads(f.read().splitlines()[0])


def normalized(report, jid):
    """A probe report without what differs between any two jails: pids,
    times, inode and mount numbers, the jail's own id."""
    out = json.loads(json.dumps(report).replace(jid, "ID"))
    # mountinfo is the raw form of "mounts", compared below without ids
    for k in ("pid", "ppid", "hostname", "time", "boot_id", "cgroup", "start_time", "uptime", "mountinfo"):
        out.pop(k, None)
    out["fds"] = [dict(f, target=re.sub(r"\[\d+\]", "[N]", f["target"])) for f in out.get("fds", [])]
    out["mounts"] = [{k: v for k, v in m.items() if k not in ("id", "parent", "dev")} for m in out.get("mounts", [])]
    host = {n: os.readlink(f"/proc/self/ns/{n}") for n in out.get("namespaces", {})}
    out["namespaces"] = {n: v != host[n] for n, v in out.get("namespaces", {}).items()}
    return out


def test_prepared_jail_is_the_same_jail_from_inside(daemon):
    """What the probe sees and may do inside a prepared-then-started jail
    is what it sees in a jail started at once."""
    a, b = unique_id("same-now"), unique_id("same-prep")
    now = normalized(probe_report(daemon, a, False), a)
    later = normalized(probe_report(daemon, b, True), b)
    assert all(now["namespaces"].values()), now["namespaces"]
    differ = {k for k in set(now) | set(later) if now.get(k) != later.get(k)}
    assert not differ, {k: (now.get(k), later.get(k)) for k in differ}


def test_prepare_kill_leaves_nothing(daemon):
    jid = unique_id("prepkill")
    res = prepare(daemon, jid, "exit", "0")
    with daemon.conn() as c:
        c.call("kill", {"jail": jid, "signal": "SIGTERM"})  # a prepared jail goes at once
        rep = c.call("wait", {"jail": jid}, timeout=30)
    assert rep["signal"] == "SIGKILL" and rep["pid"] == res["pid"], rep
    daemon.assert_nothing_left(jid, state_too=False)


def test_prepare_timeout_with_client_gone(daemon):
    jid = unique_id("preptmo")
    prepare(daemon, jid, "exit", "0", prepare_timeout_ms=300)
    # the client is gone (its connection closed); nobody starts it
    deadline = time.monotonic() + 30
    while state_of(daemon, jid) != ["exited"]:
        assert time.monotonic() < deadline, state_of(daemon, jid)
        time.sleep(0.1)
    rep = dt.wait_report(daemon, jid)
    assert rep["signal"] == "SIGKILL", rep
    assert "not started within 300 ms" in daemon.log_path.read_text(errors="replace"), daemon.log_text()
    daemon.assert_nothing_left(jid, state_too=False)


def test_prepare_restart_start(daemon):
    jid = unique_id("preprst")
    res = prepare(daemon, jid, "exit", "6")
    daemon.kill9()
    daemon.start()
    assert state_of(daemon, jid) == ["prepared"], daemon.log_text()
    with daemon.conn() as c:
        assert c.call("start", {"jail": jid})["pid"] == res["pid"]
        rep = c.call("wait", {"jail": jid})
    assert rep["exit_code"] == 6, rep
    daemon.assert_nothing_left(jid, state_too=False)


def test_start_twice_and_bad_starts(daemon):
    jid = unique_id("preptwice")
    prepare(daemon, jid, "sleep", "2")
    with daemon.conn() as c:
        c.call("start", {"jail": jid})
        err = c.error("start", {"jail": jid})
        assert err.reason == "not_prepared" and err.code == -32010 and "started already" in err.message, err
        running = unique_id("notprep")
        c.call("create", dt.jail_config(running, "sleep", "2"))
        err = c.error("start", {"jail": running})
        assert err.reason == "not_prepared", err
        assert c.error("start", {"jail": unique_id("nosuch")}).reason == "not_found"
        for bad in ({"start": "no"}, {"start": True, "prepare_timeout_ms": 5}, {"start": False, "prepare_timeout_ms": 0}):
            cfg = dt.jail_config(unique_id("badprep"), "exit", "0")
            cfg.update(bad)
            err = c.error("create", cfg)
            assert err.reason == "invalid_params" and err.field in bad, (bad, err)
        c.call("wait", {"jail": jid}, timeout=30)
        c.call("wait", {"jail": running}, timeout=30)


@pytest.fixture(scope="module")
def accounts():
    yield from tp.module_accounts()


def test_start_of_another_users_jail_refused(accounts):
    d = dt.Daemon("prepperm", group=accounts.group).start()
    probe = jailtest.for_others(PROBE)
    try:
        jid = unique_id("prepother")
        cfg = dt.jail_config(jid, "exit", "0", exec_path=str(probe))
        cfg["start"] = False
        (made,), _ = tt.call(d, accounts, "alice", ("create", cfg))
        assert made.get("result", {}).get("state") == "prepared", made
        (refused,), _ = tt.call(d, accounts, "bob", ("start", {"jail": jid}))
        assert refused["error"]["data"]["reason"] in ("permission_denied", "not_found"), refused
        assert state_of(d, jid) == ["prepared"]
        (started, waited), _ = tt.call(d, accounts, "alice", ("start", {"jail": jid}), ("wait", {"jail": jid}))
        assert started["result"]["jail"] == jid and waited["result"]["exit_code"] == 0, (started, waited)
    finally:
        d.cleanup()


def seccomp_mode(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Seccomp:"))


@pytest.mark.parametrize("profile,early", [
    (None, True),
    # the wait's recvfrom() would be refused: the filter waits for start
    ('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["recvfrom"],'
     '"action":"SCMP_ACT_ERRNO","errnoRet":13}]}', False),
    # allowed only with flags 0: it depends on the arguments, so it waits too
    ('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["recvfrom"],"action":"SCMP_ACT_ERRNO",'
     '"errnoRet":13,"args":[{"index":3,"op":"SCMP_CMP_NE","value":0}]}]}', False),
], ids=["default", "profile-denies-the-wait", "profile-looks-at-arguments"])
def test_filter_loaded_before_start_only_when_the_wait_passes(daemon, tmp_path, profile, early):
    """A prepared jail loads its filter while it waits when the filter lets
    the wait through (start then pays no load), and at start otherwise; the
    program runs under it either way."""
    jid = unique_id("prepsc")
    extra = {}
    if profile:
        path = tmp_path / "profile.json"
        path.write_text(profile)
        extra["seccomp"] = str(path)
    r, w = os.pipe()
    cfg = dt.jail_config(jid, "report", **extra)
    cfg["start"] = False
    with daemon.conn() as c:
        res = c.call("create", cfg, fds=[0, w, 2])
        os.close(w)
        # the jail's process, waiting: filter mode 2 once loaded, 0 before
        assert seccomp_mode(res["pid"]) == (2 if early else 0), res
        c.call("start", {"jail": jid})
        rep = c.call("wait", {"jail": jid})
    assert rep["exit_code"] == 0, rep
    with os.fdopen(r) as f:
        inside = json.loads(f.read().splitlines()[0])
    assert inside["seccomp"] == 2, inside
    daemon.assert_nothing_left(jid, state_too=False)


def supervisor_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def ended(pid):
    """Exited (a zombie, or reaped). A process being reaped as we read can
    give ESRCH rather than ENOENT (seen on 5.10)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def first_line(fd, timeout):
    """The first line written to fd within timeout seconds, or None."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        buf += chunk
    return json.loads(buf.split(b"\n")[0])


def test_start_runs_the_jail_without_its_supervisor(daemon):
    """jailerd releases a prepared jail itself: its program runs while its
    supervisor is stopped; woken, the supervisor finds it started, and the
    start's answer, the report and the events come as usual."""
    jid = unique_id("prepdir")
    ev = dt.Events(daemon)
    r, w = os.pipe()
    sup = stopped = None
    try:
        ev.subscribed(lambda j: dt.create_and_wait(daemon, j, "exit", "0"))
        cfg = dt.jail_config(jid, "exit", "5")
        cfg["start"] = False
        with daemon.conn() as c:
            res = c.call("create", cfg, fds=[0, w, 2])
            os.close(w)
            w = None
            sup = supervisor_of_pid = supervisor_of(res["pid"])
            os.kill(sup, signal.SIGSTOP)
            sent = c.send("start", {"jail": jid})
            line = first_line(r, 10)
            assert line and line["probe"] == "exit", line
            # jailerd hears of the start only once the supervisor is gone
            # (the jail ended): the answer still says it started.
            os.kill(daemon.proc.pid, signal.SIGSTOP)
            stopped = daemon.proc.pid
            os.kill(sup, signal.SIGCONT)
            sup = None
            deadline = time.monotonic() + 10
            while not ended(supervisor_of_pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(stopped, signal.SIGCONT)
            stopped = None
            started = c.reply(sent)
            assert started.get("result") == {"jail": jid, "pid": res["pid"]}, started
            rep = c.call("wait", {"jail": jid})
        assert rep["exit_code"] == 5, rep
        assert ev.wait_for(lambda m: m["method"] == "exited" and m["params"]["jail"] == jid)
        assert ev.of(jid) == ["started", "exited"], ev.of(jid)
        daemon.assert_nothing_left(jid, state_too=False)
    finally:
        if stopped:
            os.kill(stopped, signal.SIGCONT)
        if sup:
            os.kill(sup, signal.SIGCONT)
        os.close(r)
        if w is not None:
            os.close(w)
        ev.stop()


def test_start_survives_jailerd_dying_after_the_release(daemon):
    """jailerd dies between releasing a prepared jail and hearing from its
    supervisor: the supervisor sees the start by itself, and the next
    jailerd has the jail running, then its report."""
    jid = unique_id("prepdie")
    r, w = os.pipe()
    sup = None
    try:
        cfg = dt.jail_config(jid, "exit", "9")
        cfg["start"] = False
        with daemon.conn() as c:
            res = c.call("create", cfg, fds=[0, w, 2])
            os.close(w)
            w = None
            sup = supervisor_of(res["pid"])
            os.kill(sup, signal.SIGSTOP)
            c.send("start", {"jail": jid})
            line = first_line(r, 10)
            assert line and line["probe"] == "exit", line
        daemon.kill9()
        os.kill(sup, signal.SIGCONT)
        sup = None
        daemon.start()
        rep = dt.wait_report(daemon, jid)
        assert rep["exit_code"] == 9 and rep["pid"] == res["pid"], rep
        assert rep.get("lost") is None, rep
        daemon.assert_nothing_left(jid, state_too=False)
    finally:
        if sup:
            os.kill(sup, signal.SIGCONT)
        os.close(r)
        if w is not None:
            os.close(w)


def test_concurrent_starts_one_wins(daemon):
    """Two starts of one prepared jail at once: one runs it, the other is
    refused (not_prepared), never both answered as the starter."""
    jid = unique_id("prep2x")
    res = prepare(daemon, jid, "exit", "0")
    sup = supervisor_of(res["pid"])
    os.kill(sup, signal.SIGSTOP)
    try:
        a, b = daemon.conn(), daemon.conn()
        ia = a.send("start", {"jail": jid})
        ib = b.send("start", {"jail": jid})
        rb = b.reply(ib)
        os.kill(sup, signal.SIGCONT)
        sup = None
        ra = a.reply(ia)
        a.close()
        b.close()
    finally:
        if sup:
            os.kill(sup, signal.SIGCONT)
    assert ra.get("result") == {"jail": jid, "pid": res["pid"]}, ra
    assert rb.get("error", {}).get("data", {}).get("reason") == "not_prepared" or \
        "not_prepared" in json.dumps(rb), rb
    assert dt.wait_report(daemon, jid)["exit_code"] == 0
    daemon.assert_nothing_left(jid, state_too=False)


def test_start_close_to_the_prepare_timeout(daemon):
    """A start that comes shortly before the jail's prepare timeout runs
    out: its supervisor, which keeps the timeout, decides (jailerd does not
    release it behind the timer's back); the start wins and the jail runs."""
    jid = unique_id("preplate")
    res = prepare(daemon, jid, "exit", "3", prepare_timeout_ms=400)
    time.sleep(0.34)
    with daemon.conn() as c:
        assert c.call("start", {"jail": jid}) == {"jail": jid, "pid": res["pid"]}
        rep = c.call("wait", {"jail": jid})
    assert rep["exit_code"] == 3, rep
    daemon.assert_nothing_left(jid, state_too=False)

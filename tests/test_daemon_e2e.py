# SPDX-License-Identifier: MIT
"""End-to-end tests of jailerd over its real socket, and of jailerctl.

The module starts a private jailerd and stops it by pid at the end; the
harness (Daemon, Conn, run_ctl, ...) is tests/daemonlib.py.

Run as root from the repository root:  /usr/bin/pytest-3 tests/test_daemon_e2e.py
(JAILER_BUILD names the build directory; JAILER_TEST_KEEP_LOGS=DIR keeps
each jailerd's log there.)
"""
import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

import jailtest
from daemonlib import *  # noqa: F401,F403 - re-exported while other modules still import test_daemon_e2e
from daemonlib import (CALL_TIMEOUT, JAILER, JAILERCTL, Events, assert_jail_entry, assert_report_shape,
                       create_and_wait, jail_config, json_lines, make_daemon, run_ctl, serve, wait_report)
from jailtest import PROBE, unique_id

# --------------------------------------------------------------- this module's daemon

@pytest.fixture(scope="module")
def daemon():
    yield from serve(make_daemon("e2e"))


# --------------------------------------------------------------- tests

def test_version(daemon):
    v = daemon.call("version")
    assert isinstance(v["version"], str) and v["version"]
    assert v["protocol"] == 1
    assert v["cgroup"] == jailtest.effective_cgroup_version()


def test_exit_success(daemon):
    jid = unique_id("ok")
    _, rep = create_and_wait(daemon, jid, "exit", 0)
    assert rep["exit_code"] == 0 and rep["signal"] is None
    assert not rep["oom_killed"] and not rep["timed_out"]
    daemon.assert_nothing_left(jid, state_too=False)


def test_exit_nonzero(daemon):
    jid = unique_id("nonzero")
    _, rep = create_and_wait(daemon, jid, "exit", 7)
    assert rep["exit_code"] == 7 and rep["signal"] is None
    daemon.assert_nothing_left(jid, state_too=False)


def test_killed_by_signal(daemon):
    """A synchronous fault kills even a PID 1."""
    jid = unique_id("segv")
    _, rep = create_and_wait(daemon, jid, "fault", "segv")
    assert rep["exit_code"] is None and rep["signal"] == "SIGSEGV", rep
    daemon.assert_nothing_left(jid, state_too=False)


def test_oom_killed(daemon):
    jid = unique_id("oom")
    _, rep = create_and_wait(daemon, jid, "alloc", 256, limits={"memory_bytes": 32 << 20})
    assert rep["oom_killed"] is True, rep
    assert rep["signal"] == "SIGKILL", rep
    daemon.assert_nothing_left(jid, state_too=False)


def test_timeout(daemon):
    jid = unique_id("timeout")
    t0 = time.monotonic()
    _, rep = create_and_wait(daemon, jid, "sleep", 30, limits={"timeout_ms": 500})
    assert rep["timed_out"] is True and rep["signal"] == "SIGKILL", rep
    assert time.monotonic() - t0 < 20


def test_create_reply_after_exec(daemon):
    """create answers once the program runs: its pid is alive and in the jail."""
    jid = unique_id("running")
    with daemon.conn() as c:
        res = c.call("create", jail_config(jid, "sleep", 30))
        assert jailtest.pid_alive(res["pid"])
        status = Path(f"/proc/{res['pid']}/status").read_text()
        nspid = [l.split()[1:] for l in status.splitlines() if l.startswith("NSpid:")][0]
        assert nspid[0] == str(res["pid"]) and nspid[-1] == "1", f"not PID 1 of its namespace: {nspid}"
        assert "probe" in os.readlink(f"/proc/{res['pid']}/exe")
        c.call("kill", {"jail": jid, "signal": "SIGKILL"})
        rep = c.call("wait", {"jail": jid})
    assert rep["signal"] == "SIGKILL"


def test_wait_before_and_after_exit_two_waiters(daemon):
    jid = unique_id("waiters")
    with daemon.conn() as a, daemon.conn() as b:
        a.call("create", jail_config(jid, "sleep", 1))
        ida = a.send("wait", {"jail": jid})
        idb = b.send("wait", {"jail": jid})
        ra, rb = a.reply(ida), b.reply(idb)
    assert "result" in ra and "result" in rb, (ra, rb)
    assert ra["result"] == rb["result"]
    assert ra["result"]["exit_code"] == 0
    # after the exit: at once, the same report
    t0 = time.monotonic()
    late = wait_report(daemon, jid, timeout=10)
    assert time.monotonic() - t0 < 5
    assert late == ra["result"]


def test_wait_pipelined_does_not_block_connection(daemon):
    """A pending wait does not delay later requests on the same connection."""
    jid = unique_id("pipelined")
    with daemon.conn() as c:
        c.call("create", jail_config(jid, "sleep", 30))
        wid = c.send("wait", {"jail": jid})
        v = c.call("version", timeout=10)
        assert v["protocol"] == 1
        st = c.call("status", {"jail": jid}, timeout=10)
        assert st["state"] == "running"
        c.call("kill", {"jail": jid, "signal": "SIGKILL"}, timeout=10)
        m = c.reply(wid)
    assert m["result"]["signal"] == "SIGKILL"


def test_kill_by_name_and_number(daemon):
    for sig in ("SIGKILL", "KILL", 9):
        jid = unique_id("kill")
        with daemon.conn() as c:
            c.call("create", jail_config(jid, "sleep", 30))
            assert c.call("kill", {"jail": jid, "signal": sig}) == {}
            rep = c.call("wait", {"jail": jid})
        assert rep["signal"] == "SIGKILL", (sig, rep)
        daemon.assert_nothing_left(jid, state_too=False)


def test_kill_escalates_when_pid1_ignores_sigterm(daemon):
    """PID 1 of a pid namespace ignores SIGTERM it has no handler for: the
    daemon's grace period ends with SIGKILL."""
    if not (daemon.offers("--kill-grace") or "grace" in daemon.help):
        pytest.skip("this jailerd offers no kill grace period")
    jid = unique_id("escalate")
    with daemon.conn() as c:
        c.call("create", jail_config(jid, "sleep", 60))
        t0 = time.monotonic()
        assert c.call("kill", {"jail": jid}) == {}  # default SIGTERM
        rep = c.call("wait", {"jail": jid}, timeout=60)
    assert rep["signal"] == "SIGKILL", rep
    assert time.monotonic() - t0 < 30


def test_kill_errors(daemon):
    jid = unique_id("killerr")
    create_and_wait(daemon, jid, "exit", 0)
    with daemon.conn() as c:
        e = c.error("kill", {"jail": jid})
        assert (e.code, e.reason) == (-32007, "not_running"), e
        e = c.error("kill", {"jail": unique_id("nosuch")})
        assert (e.code, e.reason) == (-32003, "not_found"), e
        e = c.error("wait", {"jail": unique_id("nosuch")})
        assert (e.code, e.reason) == (-32003, "not_found"), e
        e = c.error("status", {"jail": unique_id("nosuch")})
        assert (e.code, e.reason) == (-32003, "not_found"), e


def test_list_and_status(daemon):
    jid = unique_id("listed")
    with daemon.conn() as c:
        res = c.call("create", jail_config(jid, "sleep", 30))
        jails = c.call("list")["jails"]
        mine = [e for e in jails if e["jail"] == jid]
        assert len(mine) == 1, jails
        assert_jail_entry(mine[0], jid, "running")
        assert mine[0]["pid"] == res["pid"] and mine[0]["uid"] == 0

        st = c.call("status", {"jail": jid})
        assert_jail_entry(st, jid, "running")
        u = st["usage"]
        for k in ("cpu_usage_us", "memory_current_bytes", "pids_current"):
            assert isinstance(u[k], int) and u[k] >= 0, u
        jailtest.memory_peak(u)
        assert u["pids_current"] >= 1 and u["memory_current_bytes"] > 0, u

        c.call("kill", {"jail": jid, "signal": "SIGKILL"})
        rep = c.call("wait", {"jail": jid})
        st = c.call("status", {"jail": jid})
        assert_jail_entry(st, jid, "exited")
        assert st["report"] == rep
        mine = [e for e in c.call("list")["jails"] if e["jail"] == jid]
        assert len(mine) == 1 and mine[0]["state"] == "exited"


def test_subscribe_started_and_exited(daemon):
    jid = unique_id("events")
    with daemon.conn() as sub, daemon.conn() as c:
        assert set(sub.call("subscribe")) == {"cursor"}
        res = c.call("create", jail_config(jid, "exit", 5))
        rep = c.call("wait", {"jail": jid})
        seen = {}
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            n = sub.notification(timeout=30)
            assert "id" not in n and n["method"] in ("started", "exited"), n
            if n["params"].get("jail") == jid:
                seen[n["method"]] = n["params"]
        assert set(seen) == {"started", "exited"}, seen
        assert_jail_entry(seen["started"], jid, "running")
        assert seen["started"]["pid"] == res["pid"]
        assert_jail_entry(seen["exited"], jid, "exited")
        assert seen["exited"]["report"] == rep
        # a subscriber's connection still takes requests
        assert sub.call("version")["protocol"] == 1


def test_stdio_passed_with_create(daemon, tmp_path):
    """The three fds sent with create are the jail's stdin/stdout/stderr."""
    jid = unique_id("stdio")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    devnull = os.open("/dev/null", os.O_RDONLY)
    try:
        with daemon.conn() as c:
            c.call("create", jail_config(jid, "report"), fds=[devnull, out_w, err_w])
            os.close(out_w)
            os.close(err_w)
            out_w = err_w = -1
            rep = c.call("wait", {"jail": jid})
        out = b""
        while True:
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            out += chunk
    finally:
        for fd in (out_r, err_r, devnull, out_w, err_w):
            if fd >= 0:
                os.close(fd)
    assert rep["exit_code"] == 0, rep
    lines = json_lines(out.decode(errors="replace"))
    assert lines and lines[0].get("probe") == "report", out[:2000]


def test_jailerctl_run_passthrough_and_status(daemon):
    jid = unique_id("ctlrun")
    p = run_ctl(daemon, "run", "--id", jid, "--exec", PROBE, "--", "report")
    assert p.returncode == 0, p
    lines = json_lines(p.stdout)
    assert lines and lines[0].get("probe") == "report", p.stdout[:2000]
    assert jid in p.stderr and "exited with code 0" in p.stderr, p.stderr

    p = run_ctl(daemon, "run", "--id", unique_id("ctl7"), "--exec", PROBE, "--", "exit", "7")
    assert p.returncode == 7, p
    p = run_ctl(daemon, "run", "--id", unique_id("ctlsegv"), "--exec", PROBE, "--", "fault", "segv")
    assert p.returncode == 128 + signal.SIGSEGV, p


def test_jailerctl_run_pinned_and_throttled(daemon):
    """`jailerctl run --cpus N --cpu 0.2` on a busy loop: the jail runs
    pinned, and the summary on stderr says where and that it was throttled."""
    cpu = int(open("/sys/devices/system/cpu/online").read().strip().split(",")[-1].split("-")[-1])
    p = run_ctl(daemon, "run", "--id", unique_id("ctlpin"), "--exec", PROBE, "--cpus", str(cpu),
                "--cpu", "0.2", "--", "burn", "0.1")
    if p.returncode != 0 and "cpuset" in p.stderr:
        pytest.skip(f"no cpuset controller for jails here: {p.stderr.strip()}")
    assert p.returncode == 0, p
    assert f"pinned to cpus {cpu}" in p.stderr, p.stderr
    assert "throttled in " in p.stderr, p.stderr


def test_jailerctl_run_json_report(daemon, tmp_path):
    jid = unique_id("ctljson")
    report_file = tmp_path / "report.json"
    p = run_ctl(daemon, "run", "--id", jid, "--exec", PROBE, "--report", report_file, "--", "exit", "3")
    assert p.returncode == 3, p
    rep = json.loads(report_file.read_text())
    assert_report_shape(rep, jid)
    assert rep["exit_code"] == 3
    p = run_ctl(daemon, "--json", "run", "--exec", PROBE, "--", "exit", "4")
    assert p.returncode == 4, p
    rep = json_lines(p.stdout)[-1]
    assert_report_shape(rep)
    assert rep["exit_code"] == 4 and rep["jail"].startswith("jailerctl-")


def test_jailerctl_run_config_file(daemon, tmp_path):
    jid = unique_id("ctlcfg")
    cfg = tmp_path / "jail.json"
    cfg.write_text(json.dumps(jail_config(jid, "exit", 9)))
    p = run_ctl(daemon, "run", "--config", cfg)
    assert p.returncode == 9, p
    # flags override the file, as with jailer
    p = run_ctl(daemon, "run", "--config", cfg, "--id", unique_id("ctlcfg2"), "--", "exit", "11")
    assert p.returncode == 11, p


def test_jailerctl_run_errors_match_jailer(daemon, tmp_path):
    """An invalid config exits 125 with the daemon's message naming the field;
    a missing program exits as jailer does."""
    p = run_ctl(daemon, "run", "--id", unique_id("ctlbad"), "--exec", PROBE, "--memory", "12")
    assert p.returncode == 125, p
    assert "limits.memory_bytes" in p.stderr, p.stderr

    jid = unique_id("ctlnoexec")
    p = run_ctl(daemon, "run", "--id", jid, "--exec", "/nonexistent/vmm")
    j = subprocess.run([str(JAILER), "--id", unique_id("jnoexec"), "--exec", "/nonexistent/vmm",
                        "--jail-root", str(tmp_path / "root"), "--cgroup-parent", jailtest.SESSION_CGROUP_PARENT],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == j.returncode, (p, j)
    assert "/nonexistent/vmm" in p.stderr, p.stderr
    daemon.assert_nothing_left(jid)


def test_jailerctl_run_sigint_kills_jail(daemon):
    """^C asks the daemon to signal the jail, a second ^C kills it; the
    report still arrives and gives the status."""
    jid = unique_id("ctlint")
    argv = [str(JAILERCTL), "--socket", str(daemon.socket), "run", "--id", jid, "--exec", str(PROBE),
            "--", "sleep", "60"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with daemon.conn() as c:
                if any(e["jail"] == jid and e["state"] == "running" for e in c.call("list")["jails"]):
                    break
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode in (128 + signal.SIGINT, 128 + signal.SIGKILL), (p.returncode, err)
    assert jid in err
    rep = wait_report(daemon, jid)
    assert jailtest.signum(rep["signal"]) + 128 == p.returncode


def test_jailerctl_commands(daemon):
    jid = unique_id("ctlcmds")
    p = run_ctl(daemon, "create", "--id", jid, "--exec", PROBE, "--", "sleep", "30")
    assert p.returncode == 0, p
    name, pid = p.stdout.split()
    assert name == jid and int(pid) > 0

    p = run_ctl(daemon, "--json", "create", "--id", unique_id("ctlcreate2"), "--exec", PROBE, "--", "exit", "0")
    assert p.returncode == 0, p
    assert set(json.loads(p.stdout)) >= {"jail", "pid"}

    p = run_ctl(daemon, "list")
    assert p.returncode == 0 and jid in p.stdout and "running" in p.stdout, p
    assert p.stdout.splitlines()[0].split()[:3] == ["JAIL", "PID", "STATE"], p.stdout
    p = run_ctl(daemon, "--json", "list")
    assert any(e["jail"] == jid for e in json.loads(p.stdout)["jails"])

    p = run_ctl(daemon, "status", jid)
    assert p.returncode == 0 and "running" in p.stdout and pid in p.stdout, p
    p = run_ctl(daemon, "status", jid, "--json")
    assert json.loads(p.stdout)["usage"]["pids_current"] >= 1

    p = run_ctl(daemon, "kill", jid, "KILL")
    assert p.returncode == 0, p
    p = run_ctl(daemon, "wait", jid)
    assert p.returncode == 128 + 9 and "SIGKILL" in p.stdout, p
    p = run_ctl(daemon, "--json", "wait", jid)
    assert json.loads(p.stdout)["signal"] == "SIGKILL"

    p = run_ctl(daemon, "kill", jid)
    assert p.returncode == 1 and "not_running" in p.stderr, p
    p = run_ctl(daemon, "status", unique_id("nosuch"))
    assert p.returncode == 1 and "not_found" in p.stderr, p

    p = run_ctl(daemon, "version")
    assert p.returncode == 0 and "protocol 1" in p.stdout, p
    p = run_ctl(daemon, "--json", "version")
    assert json.loads(p.stdout)["protocol"] == 1


def test_jailerctl_socket_from_environment(daemon):
    env = dict(os.environ, JAILER_SOCKET=str(daemon.socket))
    p = subprocess.run([str(JAILERCTL), "--json", "version"], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 0, p
    assert json.loads(p.stdout)["protocol"] == 1


def test_jailerctl_events(daemon):
    ev = Events(daemon)
    try:
        ev.subscribed(lambda canary: create_and_wait(daemon, canary, "exit", 0))
        jid = unique_id("ctlevents")
        create_and_wait(daemon, jid, "exit", 0)
        assert ev.wait_for(lambda m: m["params"].get("jail") == jid and m["method"] == "exited")
        assert ev.of(jid) == ["started", "exited"], ev.lines
        exited = [m for m in ev.lines if m["params"].get("jail") == jid][1]
        assert exited["params"]["report"]["exit_code"] == 0
    finally:
        ev.stop()


def test_daemon_made_root_has_a_run_dir_for_control_sockets(daemon):
    """Without jail_root the daemon makes one, says where (create's
    jail_root), and gives the jail one writable place, run/, owned by its
    uid: where a VMM puts its QMP or API socket for the host to reach.
    The jail sleeps until it is killed, so run/ is looked at while the jail
    certainly runs (not racing its exit and clean-up)."""
    jid = unique_id("rundir")
    c = daemon.conn()
    res = c.call("create", jail_config(jid, "sleep", 300))
    try:
        root = res.get("jail_root")
        assert root, res
        run = os.path.join(root, "run")
        st = os.stat(run)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (jailtest.NOBODY, jailtest.NOBODY, 0o700)
    finally:
        assert c.call("kill", {"jail": jid, "signal": "KILL"}) == {}
    rep = c.call("wait", {"jail": jid}, timeout=30)
    assert rep["signal"] == "SIGKILL", rep
    # Nothing of it is left once the jail has ended.
    deadline = time.monotonic() + 10
    while os.path.exists(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(root)
    c.close()
    daemon.assert_nothing_left(jid, state_too=False)  # the report is kept a while


def test_jailerctl_says_when_the_socket_is_not_there(tmp_path):
    p = subprocess.run([str(JAILERCTL), "--socket", str(tmp_path / "nope.sock"), "list"],
                       capture_output=True, text=True, timeout=CALL_TIMEOUT)
    assert p.returncode == 1 and "socket is not there" in p.stderr and "jailerd.socket" in p.stderr, p


@pytest.mark.parametrize("cmd", ["wait", "kill", "list", "status", "events", "version"])
def test_jailerctl_subcommand_help(cmd):
    """`jailerctl CMD --help` explains that command, not the general help."""
    p = subprocess.run([str(JAILERCTL), cmd, "--help"], capture_output=True, text=True, timeout=CALL_TIMEOUT)
    assert p.returncode == 0, p
    first = p.stdout.splitlines()[0]
    assert first.startswith("Usage: jailerctl") and f" {cmd}" in first, p.stdout
    assert "Commands:" not in p.stdout

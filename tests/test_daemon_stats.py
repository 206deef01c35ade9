# SPDX-License-Identifier: MIT
"""A running jail's disturbance figures, live: `status` carries the report
so far in its usage (wall time, throttling, memory events, pressure,
involuntary switches, pinned cpus and who else used them), and `jailerctl
stats [-f] ID` prints them as table rows until the jail ends.

The figures are the kernel's (the jail's cgroup, /proc): a throttled jail is
seen as throttled while it runs, and its figures only grow.  No timing
assertions: only bounds that load cannot break."""
from pathlib import Path

import json
import time

import pytest

import jailtest
import test_daemon_e2e as dt
from jailtest import unique_id

FIGURES = ["wall_time_us", "oom_killed", "pids_peak", "cpus", "cpu_periods", "cpu_throttled_periods",
           "cpu_throttled_us", "memory_high_events", "memory_max_events", "involuntary_switches",
           "pinned_cpus_other_us"] + [f"{r}_pressure_{k}_us" for r in ("cpu", "memory", "io")
                                       for k in ("some", "full")]
ENDING = ["exit_code", "signal", "timed_out", "seccomp_killed"]
HEADER = ["JAIL", "STATE", "CPU%", "MEM", "PEAK", "PIDS", "THR%", "THR-TIME", "NIVCSW", "PIN-OTHER",
          "PSI-CPU", "PSI-MEM", "PSI-IO"]


@pytest.fixture
def daemon():
    d = dt.make_daemon("stats")
    yield d
    d.cleanup()


def last_cpu():
    text = Path("/sys/devices/system/cpu/online").read_text().strip()
    return int(text.split(",")[-1].split("-")[-1])


def has_cpuset():
    return any("cpuset" in c for _, v, c in jailtest.cgroup_hierarchies()
               if v == jailtest.effective_cgroup_version())


def create(daemon, jid, *args, **limits):
    cfg = dt.jail_config(jid, *args)
    if limits:
        cfg["limits"] = limits
    with daemon.conn() as c:
        return c.call("create", cfg)


def status(daemon, jid):
    with daemon.conn() as c:
        return c.call("status", {"jail": jid})


def busy_limits():
    """20% of a cpu, and pinned to one when the hierarchy can pin."""
    lim = {"cpu_quota_us": 20000, "cpu_period_us": 100000}
    if has_cpuset():
        lim["cpus"] = str(last_cpu())
    return lim


def test_status_has_the_live_figures_of_a_throttled_jail(daemon):
    jid = unique_id("st")
    lim = busy_limits()
    create(daemon, jid, "spin", "30", **lim)
    try:
        first = status(daemon, jid)
        # Throttled periods are counted once the quota has run out: wait
        # until the kernel has counted some (bounded by the spin itself).
        deadline = time.monotonic() + 25
        while True:
            st = status(daemon, jid)
            if st["usage"]["cpu_throttled_periods"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert st["state"] == "running", st
        u = st["usage"]
        for k in FIGURES:
            assert k in u, f"status usage lacks {k}: {u}"
        for k in ENDING:
            assert k not in u, f"status usage has the ending member {k}: {u}"
        assert u["cpu_throttled_periods"] >= 1 and u["cpu_throttled_us"] > 0, u
        assert u["cpu_throttled_periods"] <= u["cpu_periods"], u
        assert u["pids_current"] >= 1 and (u["pids_peak"] is None or u["pids_peak"] >= 1), u
        assert u["involuntary_switches"] is not None and u["involuntary_switches"] >= 0, u
        # The figures only grow.
        f = first["usage"]
        assert u["wall_time_us"] > f["wall_time_us"] and u["cpu_usage_us"] >= f["cpu_usage_us"], (f, u)
        assert u["cpu_periods"] >= f["cpu_periods"], (f, u)
        if "cpus" in lim:
            assert u["cpus"] == lim["cpus"] and u["pinned_cpus_other_us"] is not None, u
        else:
            assert u["cpus"] is None, u
        if jailtest.effective_cgroup_version() == "v1":
            assert u["cpu_pressure_some_us"] is None and u["memory_max_events"] is None, u
        elif Path("/proc/pressure/cpu").exists():
            # Throttled time is time the jail wanted a cpu and had none.
            assert isinstance(u["cpu_pressure_some_us"], int) and isinstance(u["memory_max_events"], int), u
    finally:
        with daemon.conn() as c:
            c.call("kill", {"jail": jid, "signal": 9})
            c.call("wait", {"jail": jid})
    daemon.assert_nothing_left(jid, state_too=False)


def test_status_of_prepared_and_exited_jails_has_no_live_figures(daemon):
    jid = unique_id("st")
    cfg = dt.jail_config(jid, "exit", "0")
    cfg["start"] = False
    with daemon.conn() as c:
        c.call("create", cfg)
        st = c.call("status", {"jail": jid})
        assert st["state"] == "prepared" and "usage" not in st, st
        c.call("start", {"jail": jid})
        rep = c.call("wait", {"jail": jid})
        st = c.call("status", {"jail": jid})
    assert st["state"] == "exited" and "usage" not in st and st["report"] == rep, st


def rows(out):
    lines = [l.split() for l in out.splitlines() if l.strip()]
    assert lines and lines[0] == HEADER, out
    return [dict(zip(HEADER, l)) for l in lines[1:]]


def test_jailerctl_status_prints_the_figures(daemon):
    jid = unique_id("st")
    create(daemon, jid, "spin", "30", **busy_limits())
    try:
        time.sleep(0.5)
        p = dt.run_ctl(daemon, "status", jid)
        assert p.returncode == 0, p.stderr
        for label in ("wall:", "pinned:", "throttled:", "memory events:", "pressure:", "involuntary switches:"):
            assert label in p.stdout, p.stdout
    finally:
        dt.run_ctl(daemon, "kill", jid, "KILL")
        dt.run_ctl(daemon, "wait", jid)


def test_jailerctl_stats_rows_until_the_jail_ends(daemon):
    jid = unique_id("st")
    create(daemon, jid, "spin", "1.5", **busy_limits())
    p = dt.run_ctl(daemon, "stats", "-f", "--interval", "200", jid, timeout=60)
    assert p.returncode == 0, p.stderr
    rs = rows(p.stdout)
    assert len(rs) >= 2, p.stdout
    assert all(r["JAIL"] == jid for r in rs), rs
    # Every row but the last is the running jail's; the last, its report's.
    assert all(r["STATE"] == "running" for r in rs[:-1]), rs
    assert rs[-1]["STATE"] == "exited", rs
    for r in rs[:-1]:
        cpu = float(r["CPU%"].rstrip("%"))
        # 20% of one cpu: never much more over an interval, whatever the load
        # (a period straddling the interval's edges can add one quota).
        assert 0 <= cpu <= 20 * (1 + 100 / 200) + 1, rs
    assert rs[-1]["PIDS"] == "-" and rs[-1]["MEM"] == "-", rs


def test_jailerctl_stats_once_and_as_json(daemon):
    jid = unique_id("st")
    create(daemon, jid, "sleep", "30")
    try:
        p = dt.run_ctl(daemon, "stats", "--interval", "100", jid)
        assert p.returncode == 0, p.stderr
        rs = rows(p.stdout)
        assert len(rs) == 1 and rs[0]["STATE"] == "running" and rs[0]["PIDS"] == "1", rs
        p = dt.run_ctl(daemon, "--json", "stats", "--interval", "100", jid)
        assert p.returncode == 0, p.stderr
        replies = [json.loads(l) for l in p.stdout.splitlines()]
        assert len(replies) == 2 and all(r["jail"] == jid and "wall_time_us" in r["usage"] for r in replies), replies
        assert replies[1]["usage"]["wall_time_us"] > replies[0]["usage"]["wall_time_us"], replies
    finally:
        dt.run_ctl(daemon, "kill", jid, "KILL")
        dt.run_ctl(daemon, "wait", jid)


@pytest.mark.parametrize("args", [[], ["--interval", "5"], ["--interval", "x", "j"], ["--bogus", "j"],
                                  ["a", "b"]])
def test_jailerctl_stats_usage_errors(daemon, args):
    p = dt.run_ctl(daemon, "stats", *args)
    assert p.returncode == 2 and p.stdout == "", p
    assert "stats" in p.stderr, p.stderr


def test_jailerctl_stats_of_unknown_jail(daemon):
    p = dt.run_ctl(daemon, "stats", unique_id("nosuch"))
    assert p.returncode == 1 and "not_found" in p.stderr and p.stdout == "", p

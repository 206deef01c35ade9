# SPDX-License-Identifier: MIT
"""Limits enforced for real: the probe runs into each one from inside the
jail, and the exit report tells what happened."""
import os
import subprocess
import time

import pytest

import jailtest
from jailtest import assert_report_shape

MiB = 1 << 20


def test_memory_limit_oom_kills(jail):
    res = jail.run("alloc", "256", flags=["--memory", "32M"])
    assert res.rc == 128 + 9, res
    rep = res.report
    assert_report_shape(rep, jail.id)
    assert rep["oom_killed"] is True, rep
    assert rep["signal"] == "SIGKILL" and rep["exit_code"] is None, rep
    assert rep["timed_out"] is False
    peak = jailtest.memory_peak(rep)
    assert peak is None or 16 * MiB < peak <= 33 * MiB, rep
    assert res.line("alloc") is None, "the probe finished allocating 256 MiB under a 32 MiB limit"


def test_memory_below_limit_runs(jail):
    res = jail.run("alloc", "8", flags=["--memory", "64M"])
    assert res.rc == 0, res
    assert res.line("alloc")["allocated_mib"] == 8
    assert res.report["oom_killed"] is False
    peak = jailtest.memory_peak(res.report)
    assert peak is None or peak >= 8 * MiB, res.report


def test_pids_limit(jail):
    res = jail.run("forks", "20", flags=["--pids", "8"])
    assert res.rc == 1, res
    f = res.line("forks")
    # pids.max counts the probe itself: 7 children fit, the 8th fork fails.
    assert f["ok"] == 7 and f["errno"] == "EAGAIN", f
    peak = res.report["pids_peak"]
    assert peak is None or 7 <= peak <= 8, res.report


def test_max_procs_rlimit(jail):
    res = jail.run("forks", "20", flags=["--max-procs", "5"])
    assert res.rc == 1, res
    f = res.line("forks")
    # RLIMIT_NPROC counts the jail uid's processes in the jail's user namespace.
    assert f["ok"] == 4 and f["errno"] == "EAGAIN", f


def test_max_fds_emfile(jail):
    res = jail.run("openfds", "100", flags=["--max-fds", "32"])
    assert res.rc == 1, res
    o = res.line("openfds")
    assert o["opened"] == 32 - 3 and o["errno"] == "EMFILE", o


def test_max_file_size_sigxfsz(jail, shared_dir):
    """A process over RLIMIT_FSIZE dies of SIGXFSZ, and jailer passes the
    status on.  The probe writes from a child: PID 1 of a namespace is immune
    to SIGXFSZ and would only see EFBIG (next test)."""
    res = jail.run("--child", "fsize", str(2 * MiB), "/out/big",
                   flags=["--max-file-size", "1M", "--bind", f"{shared_dir}:/out:rw"])
    assert res.rc == 128 + 25, res
    assert res.line("child")["signal"] == "SIGXFSZ", res
    assert (shared_dir / "big").stat().st_size == MiB


def test_max_file_size_as_pid_one(jail, shared_dir):
    res = jail.run("fsize", str(2 * MiB), "/out/big",
                   flags=["--max-file-size", "1M", "--bind", f"{shared_dir}:/out:rw"])
    assert res.rc == 1, res
    f = res.line("fsize")
    assert f["written"] == MiB and f["errno"] == "EFBIG", f
    assert (shared_dir / "big").stat().st_size == MiB


def test_max_file_size_kills_without_pid_ns(jail, shared_dir):
    res = jail.run("fsize", str(2 * MiB), "/out/big",
                   flags=["--no-pid-ns", "--max-file-size", "1M", "--bind", f"{shared_dir}:/out:rw"])
    assert res.rc == 128 + 25, res
    assert res.report["signal"] == "SIGXFSZ" and res.report["exit_code"] is None, res.report
    assert (shared_dir / "big").stat().st_size == MiB


def test_cpu_limit_throttles(jail):
    res = jail.run("spin", "3", flags=["--cpu", "0.2"])
    assert res.rc == 0, res
    s = res.line("spin")
    # An upper bound only: a loaded host can lower the share, never raise it.
    assert 0 < s["cpu_us"] and s["cpu_ratio"] <= 0.45, s
    # The cgroup's accounting agrees with the probe's own (loosely).
    assert 0.5 * s["cpu_us"] <= res.report["cpu_usage_us"] <= 2 * s["cpu_us"] + 200000, \
        (s, res.report)


def _cpu_cgroup_dir(jail):
    """The jail's directory in the hierarchy that carries cpu (v1) or its
    only directory (v2), while it runs."""
    for d in jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id):
        if os.path.exists(os.path.join(d, "cpu.stat")) and (
                os.path.exists(os.path.join(d, "cpu.max")) or os.path.exists(os.path.join(d, "cpu.cfs_quota_us"))):
            return d
    return None


def _stat_key(path, key):
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if k == key:
                    return int(v)
    except (OSError, ValueError):
        pass
    return None


def spin_watching_throttling(jail, flags, action=("burn", "0.03")):
    """Run a busy probe and read the kernel's own count of throttled periods
    (cpu.stat nr_throttled) while it runs; returns (rc, stdout, stderr, the
    last count seen, the quota as the cgroup holds it)."""
    argv = jail.argv(action, flags=flags)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    throttled, quota = None, None
    try:
        while proc.poll() is None:
            d = _cpu_cgroup_dir(jail)
            if d:
                n = _stat_key(os.path.join(d, "cpu.stat"), "nr_throttled")
                if n is not None:
                    throttled = n
                try:
                    quota = (open(os.path.join(d, "cpu.max")).read().split()[0]
                             if os.path.exists(os.path.join(d, "cpu.max"))
                             else open(os.path.join(d, "cpu.cfs_quota_us")).read().strip())
                except OSError:
                    pass
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err, throttled, quota


def test_cpu_limit_throttles_by_the_kernels_count(jail):
    """Enforcement as the scheduler counts it: a jail that must use 30 ms of
    CPU under a quota of 1 ms per 100 ms period is throttled (no timing
    involved: on a loaded host it takes longer, and is throttled all the
    same as soon as it runs more than 1 ms in a period)."""
    rc, out, err, throttled, quota = spin_watching_throttling(jail, ["--cpu", "0.01"])
    assert rc == 0, (out, err)
    assert throttled is not None, "never saw the jail's cpu.stat"
    assert throttled > 0, (throttled, quota)


def test_cpu_unlimited_spins_freely(jail):
    """The control for the tests above: the same spin without a limit is
    never throttled, and its cgroup has no quota.  (Proven by the kernel's
    counters, not by a CPU share, which depends on the load of the host.)"""
    rc, out, err, throttled, quota = spin_watching_throttling(jail, [], action=("spin", "1"))
    assert rc == 0, (out, err)
    assert throttled == 0, (throttled, quota)
    assert quota in ("max", "-1"), quota


def test_oom_kills_the_whole_jail(jail):
    """cgroup v2's memory.oom.group: when the OOM killer picks one process of
    the jail it takes them all, so PID 1 (which only waits for its child)
    dies too instead of living on with a crippled VMM."""
    if jailtest.effective_cgroup_version() != "v2":
        pytest.skip("memory.oom.group is a cgroup v2 feature; this host's jails use v1 "
                    "(the cgroup v2 VM tier runs this)")
    res = jail.run("--child", "alloc", "256", flags=["--memory", "32M"])
    assert res.rc == 128 + 9, res
    rep = res.report
    assert rep["oom_killed"] is True, rep
    # Without the group, PID 1 would report its child's death and exit 137
    # itself: the report tells the two apart.
    assert rep["signal"] == "SIGKILL" and rep["exit_code"] is None, rep
    assert res.line("child") is None, "PID 1 outlived its OOM-killed child"


def test_timeout_kills(jail):
    res = jail.run("sleep", "30", flags=["--timeout", "500"])
    assert res.rc == 128 + 9, res
    rep = res.report
    assert_report_shape(rep, jail.id)
    assert rep["timed_out"] is True and rep["signal"] == "SIGKILL", rep
    assert rep["oom_killed"] is False
    assert 400_000 <= rep["wall_time_us"] < 10_000_000, rep
    assert res.duration < 15


def test_timeout_not_reached(jail):
    res = jail.run("sleep", "0.1", flags=["--timeout", "20000"])
    assert res.rc == 0, res
    assert res.report["timed_out"] is False


def test_report_plausible(jail):
    res = jail.run("--child", "spin", "0.5", flags=["--memory", "256M"])
    assert res.rc == 0, res
    rep = res.report
    assert_report_shape(rep, jail.id)
    assert rep["exit_code"] == 0 and rep["signal"] is None
    assert rep["oom_killed"] is False and rep["timed_out"] is False
    assert rep["pid"] > 1 and rep["pid"] != os.getpid()
    assert rep["wall_time_us"] >= 500_000, rep
    assert rep["cpu_usage_us"] >= 100_000, rep
    peak = jailtest.memory_peak(rep)
    assert peak is None or peak > 0, rep
    if rep["pids_peak"] is not None:
        assert rep["pids_peak"] >= 2, rep     # the probe and its child


def test_jail_is_in_its_own_leaf_of_the_backend_in_use(jail):
    """The session's backend (v1 on hybrid hosts, v2 in the VM tier) holds the
    jail: seen without a cgroup namespace, the jail sits in <parent>/<id> of
    the hierarchies that carry cpu, memory and pids."""
    r = jail.probe_report(flags=["--memory", "64M", "--pids", "16", "--cpu", "1",
                                 "--no-cgroup-ns"])
    leaf = f"/{jail.cgroup_parent}/{jail.id}"
    paths = {}
    for line in r["cgroup"]:
        _, ctrls, path = line.split(":", 2)
        for c in (ctrls.split(",") if ctrls else [""]):
            paths[c] = path
    if jailtest.effective_cgroup_version() == "v2":
        assert paths[""].endswith(leaf), r["cgroup"]
    else:
        for c in ("cpu", "memory", "pids"):
            assert paths[c].endswith(leaf), (c, r["cgroup"])

# SPDX-License-Identifier: MIT
"""The exit report says whether the run was disturbed: the pinned cpus, CPU
throttling from the kernel's cpu.stat, memory events, pressure stall totals
(v2 PSI; null on v1) and involuntary context switches.  No timing
assertions: a throttled jail is counted as throttled however loaded the
host is, and only bounds that load cannot break are checked.

Runs on whatever backend the session uses: v1 here, v2 in the guest tier."""
from pathlib import Path

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import jailtest

PRESSURE = [f"{r}_pressure_{k}_us" for r in ("cpu", "memory", "io") for k in ("some", "full")]
COUNTS = ["cpu_periods", "cpu_throttled_periods", "cpu_throttled_us", "memory_high_events",
          "memory_max_events", "involuntary_switches", "pinned_cpus_other_us"] + PRESSURE


def last_cpu():
    text = Path("/sys/devices/system/cpu/online").read_text().strip()
    return int(text.split(",")[-1].split("-")[-1])


def assert_counts_shape(rep):
    for k in COUNTS:
        assert k in rep, f"report lacks {k}: {rep}"
        assert rep[k] is None or (isinstance(rep[k], int) and rep[k] >= 0), (k, rep)


def test_pinned_and_throttled_run_says_so(jail):
    """`--cpus N --cpu 0.2` on a busy loop: the report names the cpu and
    counts throttled periods and time (the kernel's own count)."""
    if jailtest.cgroup_hierarchies() and not any("cpuset" in c for mp, v, c in jailtest.cgroup_hierarchies()
                                                 if v == jailtest.effective_cgroup_version()):
        pytest.skip("no cpuset controller for this session's cgroups: cannot pin")
    cpu = last_cpu()
    res = jail.run("burn", "0.1", flags=["--cpus", str(cpu), "--cpu", "0.2"])
    assert res.rc == 0, res
    rep = res.report
    jailtest.assert_report_shape(rep, jail.id)
    assert_counts_shape(rep)
    assert rep["cpus"] == str(cpu), rep
    # 100 ms of CPU at 20 ms per 100 ms period: the quota it starts with,
    # then at least 4 refills (the kernel counts a period when its timer
    # refills the quota), and every period in which it used its 20 ms is a
    # throttled one.
    assert rep["cpu_periods"] >= 4, rep
    assert 1 <= rep["cpu_throttled_periods"] <= rep["cpu_periods"], rep
    assert 0 < rep["cpu_throttled_us"] <= rep["wall_time_us"], rep
    assert rep["involuntary_switches"] is not None, rep


def test_unthrottled_run_reports_none(jail):
    res = jail.run("burn", "0.05")
    assert res.rc == 0, res
    rep = res.report
    assert_counts_shape(rep)
    assert rep["cpus"] is None and rep["pinned_cpus_other_us"] is None, rep
    assert rep["cpu_throttled_periods"] == 0 and rep["cpu_throttled_us"] == 0, rep


def test_pressure_is_null_on_v1_and_counted_on_v2(jail):
    res = jail.run("burn", "0.05")
    assert res.rc == 0, res
    rep = res.report
    if jailtest.effective_cgroup_version() == "v1":
        assert all(rep[k] is None for k in PRESSURE), rep
        assert rep["memory_high_events"] is None, rep
    elif not Path("/proc/pressure/cpu").exists():
        pytest.skip("the kernel runs without PSI (psi=0 or not built): nothing to count")
    else:
        assert all(isinstance(rep[k], int) for k in ("cpu_pressure_some_us", "memory_pressure_some_us",
                                                      "io_pressure_some_us")), rep
        assert isinstance(rep["memory_high_events"], int), rep


def test_memory_limit_reached_is_counted(jail):
    """A jail that allocates past its limit reaches it (and is OOM-killed):
    memory_max_events counts it on v2 (memory.events max); v1 says null
    (its memory.failcnt stays 0 on recent kernels, even here)."""
    res = jail.run("alloc", "256", flags=["--memory", "32M"])
    assert res.rc == 128 + 9, res
    rep = res.report
    assert rep["oom_killed"] is True, rep
    if jailtest.effective_cgroup_version() == "v1":
        assert rep["memory_max_events"] is None, rep
    else:
        assert rep["memory_max_events"] is not None and rep["memory_max_events"] > 0, rep


MiB = 1 << 20
# File systems whose page cache the kernel can write back and reclaim.
DISK_FS = {0xEF53: "ext2/3/4", 0x58465342: "xfs", 0x9123683E: "btrfs"}


def fs_magic(path):
    return int(subprocess.run(["stat", "-f", "-c", "%t", str(path)], capture_output=True, text=True,
                              check=True).stdout.strip(), 16)


@pytest.fixture
def disk_dir():
    """A directory on a disk-backed file system, writable by the jail's uid:
    under /var/tmp or /tmp when one of them is (the host), else on an ext4
    of the test's own in a loop-mounted image (the guest tier, whose /tmp
    is tmpfs: tmpfs pages cannot be reclaimed without swap).  The image is
    written out in full first, so that writing back into it allocates
    nothing new."""
    for base in ("/var/tmp", "/tmp"):
        if os.path.isdir(base) and fs_magic(base) in DISK_FS:
            top = tempfile.mkdtemp(dir=base, prefix="jailer-mp-")
            os.chmod(top, 0o755)
            data = Path(top) / "data"
            data.mkdir()
            os.chown(data, 65534, 65534)
            try:
                yield data
            finally:
                shutil.rmtree(top)
            return
    if not shutil.which("mkfs.ext4"):
        pytest.skip("no disk-backed /var/tmp or /tmp, and no mkfs.ext4 to make one")
    top = Path(tempfile.mkdtemp(dir="/tmp", prefix="jailer-mp-"))
    os.chmod(top, 0o755)
    ram, mnt = top / "ram", top / "mnt"
    img = ram / "disk.img"
    mounts = []
    try:
        # The image on a ramfs of its own, every page of it written here:
        # the loop device charges the pages it allocates in its backing
        # file to the memory cgroup of the writer (the jail, once cgroup
        # writeback is on), and a tmpfs image would get them allocated
        # anew (mkfs punches holes in it) as unreclaimable shmem, which
        # OOM-kills the jail.  ramfs has no holes to punch.
        ram.mkdir()
        if subprocess.run(["mount", "-t", "ramfs", "-o", "mode=0755", "ramfs", str(ram)]).returncode != 0:
            pytest.skip("cannot mount a ramfs for the disk image")
        mounts.append(ram)
        with open(img, "wb") as f:
            for _ in range(96):
                f.write(b"\0" * MiB)
        mnt.mkdir()
        for argv in (["mkfs.ext4", "-q", "-F", "-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0", str(img)],
                     ["mount", "-o", "loop", str(img), str(mnt)]):
            p = subprocess.run(argv, capture_output=True, text=True)
            if p.returncode != 0:
                pytest.skip(f"cannot make a disk-backed directory: {' '.join(argv)}: {p.stderr.strip()}")
        mounts.insert(0, mnt)
        data = mnt / "data"
        data.mkdir()
        os.chown(data, 65534, 65534)
        yield data
    finally:
        for m in mounts:
            subprocess.run(["umount", str(m)], check=False)
        shutil.rmtree(top)


def test_memory_pressure_run_says_so(jail, disk_dir):
    """A jail writing 4 times its memory limit to a disk-backed directory:
    its page cache reaches the limit over and over and is reclaimed there,
    and the run still completes.  Each MiB is written back before the next
    is written (fill --sync): the cache is clean, so reclaim can always
    take it.  Dirty pages can only be reclaimed once written back, so with
    a slow disk (an emulated loop device) the jail could meet its limit
    with nothing reclaimable and be OOM-killed.  On v2 the report counts
    the limit reached (memory.events max) and the memory pressure stall
    time; on v1 both are null, as documented: v1 has no per-cgroup events
    or PSI."""
    res = jail.run("fill", "/data", str(64 * MiB), "--sync",
                   flags=["--memory", "16M", "--bind", f"{disk_dir}:/data:rw"])
    assert res.rc == 0, res
    assert res.line("fill")["written"] == 64 * MiB, res
    rep = res.report
    assert rep["oom_killed"] is False, rep
    assert_counts_shape(rep)
    peak = jailtest.memory_peak(rep)
    if peak is not None:
        assert 12 * MiB <= peak <= 16 * MiB, f"the page cache did not reach the 16 MiB limit: {rep}"
    if jailtest.effective_cgroup_version() == "v1":
        assert rep["memory_max_events"] is None and rep["memory_pressure_some_us"] is None, rep
        return
    assert rep["memory_max_events"] > 0, rep
    if not Path("/proc/pressure/memory").exists():
        assert rep["memory_pressure_some_us"] is None, rep
        pytest.skip("the kernel runs without PSI: memory pressure cannot be shown")
    # Reclaim at the limit is a memory stall the kernel accounts (measured
    # in the 6.1 guest: 246 max events, 88 ms of memory pressure).
    assert isinstance(rep["memory_pressure_some_us"], int) and rep["memory_pressure_some_us"] > 0, rep
    print(f"memory_max_events {rep['memory_max_events']}, memory_pressure_some_us "
          f"{rep['memory_pressure_some_us']}, full {rep['memory_pressure_full_us']}")


def test_other_task_on_the_pinned_cpu_is_seen(jail):
    """A host process busy on the jail's pinned cpu for the whole run: the
    report counts busy time of that cpu that was not the jail's.  The fair
    scheduler gives the competitor a good share of the cpu while both are
    runnable; the bound asserted (2 ticks of 10 ms) is far below it."""
    if not any("cpuset" in c for _, v, c in jailtest.cgroup_hierarchies()
               if v == jailtest.effective_cgroup_version()):
        pytest.skip("no cpuset controller for this session's cgroups: cannot pin")
    cpu = last_cpu()
    hog = subprocess.Popen([sys.executable, "-c", "import os, sys, time\n"
                            f"os.sched_setaffinity(0, {{{cpu}}})\n"
                            "end = time.monotonic() + 60\n"
                            "print('spinning', flush=True)\n"
                            "while time.monotonic() < end: pass\n"],
                           stdout=subprocess.PIPE, text=True)
    try:
        # Only once it spins (a slow machine, or an emulated guest, takes a
        # while to start Python) does the jail run.
        assert hog.stdout.readline().strip() == "spinning"
        res = jail.run("burn", "0.5", flags=["--cpus", str(cpu)])
    finally:
        hog.kill()
        hog.wait()
    assert res.rc == 0, res
    rep = res.report
    assert rep["cpus"] == str(cpu), rep
    assert rep["pinned_cpus_other_us"] >= 20_000, rep

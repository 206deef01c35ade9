# SPDX-License-Identifier: MIT
"""I/O limits (limits.io, --io): the jail's cgroup holds the values (v2
io.max, v1 blkio.throttle.*), and a read of a throttled loop device from
inside the jail (O_DIRECT, past the page cache) is held back.  The only
time check is a lower bound (a loaded host can only make the read slower).
Devices the host lacks and bad values are refused with nothing left behind.

Runs on whatever backend the session uses: v1 here, v2 in the guest tier."""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import jailtest

EXIT_JAILER = 125
MiB = 1 << 20


def io_hierarchy():
    v = jailtest.effective_cgroup_version()
    want = "blkio" if v == "v1" else "io"
    for mp, ver, ctrls in jailtest.cgroup_hierarchies():
        if ver == v and want in ctrls:
            return Path(mp), ver
    return None


@pytest.fixture
def io_cgroup():
    h = io_hierarchy()
    if h is None:
        pytest.skip(f"the {jailtest.effective_cgroup_version()} cgroup hierarchy has no "
                    "blkio/io controller: I/O limits cannot be shown")
    return h


@pytest.fixture
def loopdev():
    """A 16 MiB loop device of the test's own, detached at the end."""
    if not shutil.which("losetup"):
        pytest.skip("no losetup: cannot make a block device to throttle")
    top = tempfile.mkdtemp(dir="/tmp", prefix="jailer-io-")
    img = Path(top) / "disk.img"
    with open(img, "wb") as f:
        f.truncate(16 * MiB)
    p = subprocess.run(["losetup", "--find", "--show", str(img)], capture_output=True, text=True)
    if p.returncode != 0:
        shutil.rmtree(top)
        pytest.skip(f"losetup could not attach a loop device: {p.stderr.strip()}")
    dev = p.stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)
        shutil.rmtree(top)


def devnum(dev):
    st = os.stat(dev)
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def leaf(jail, mp):
    for d in jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id):
        if d.startswith(str(mp) + "/"):
            return Path(d)
    return None


def test_io_limits_in_the_cgroup_files(jail, io_cgroup, loopdev):
    mp, ver = io_cgroup
    num = devnum(loopdev)
    argv = jail.argv(("sleep", "3"), flags=["--io", f"{loopdev},rbps=1M,wbps=2M,riops=100,wiops=200"])
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = None
    try:
        deadline = time.monotonic() + 30
        while seen is None and proc.poll() is None and time.monotonic() < deadline:
            d = leaf(jail, mp)
            try:
                if d and ver == "v2":
                    seen = (d / "io.max").read_text().strip() or None
                elif d:
                    files = ("read_bps", "write_bps", "read_iops", "write_iops")
                    vals = [(d / f"blkio.throttle.{f}_device").read_text().strip() for f in files]
                    seen = vals if all(vals) else None
            except OSError:
                pass
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, (out, err)
    if ver == "v2":
        assert seen == f"{num} rbps={MiB} wbps={2 * MiB} riops=100 wiops=200", seen
    else:
        assert seen == [f"{num} {MiB}", f"{num} {2 * MiB}", f"{num} 100", f"{num} 200"], seen
    assert jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id) == []


def test_throttled_read_from_inside(jail, io_cgroup, loopdev):
    """2 MiB read at 1 MiB/s cannot take less than about a second; the
    bound asserted is half that.  Unthrottled the same read takes
    milliseconds, which is not asserted (timing)."""
    res = jail.run("readdev", loopdev, str(2 * MiB),
                   flags=["--device", loopdev, "--io", f"{devnum(loopdev)},rbps=1M"])
    assert res.rc == 0, res
    r = res.line("readdev")
    assert r["bytes"] == 2 * MiB, r
    assert r["wall_us"] >= 500_000, f"2 MiB at 1 MiB/s read in {r['wall_us']} µs: not throttled"
    assert jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id) == []


@pytest.mark.parametrize("spec,field,says", [
    ("4095:1048575,rbps=1M", "limits.io[0].device", "not a block device of this host"),
    ("/no/such/device,rbps=1M", "limits.io[0].device", "No such file or directory"),
    ("7:0,rbps=0", "limits.io[0].rbps", "0 would stop all I/O"),
    ("7:0", "limits.io[0]", "no limit given"),
    ("7:0,rbsp=1M", "--io", '"rbsp"'),
    ("7:0,wiops=lots", "--io", '"lots"'),
    ("loop,rbps=1M", "limits.io[0].device", "neither major:minor"),
])
def test_bad_io_limit_refused(jail, spec, field, says):
    before = jailtest.cgroup_tree(jail.cgroup_parent)
    res = jail.run("exit", "0", flags=["--io", spec], report=False)
    assert res.rc == EXIT_JAILER, res
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and f"{field}:" in err and says in err, err
    assert jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id) == []
    assert jailtest.cgroup_tree(jail.cgroup_parent) - before == set()
    assert not jail.root.exists()


def test_io_limit_through_config_file(jail, io_cgroup, loopdev, tmp_path):
    cfg = tmp_path / "io.json"
    cfg.write_text('{"limits": {"io": [{"device": "%s", "rbps": 1048576}]}}' % loopdev)
    res = jail.run("readdev", loopdev, str(2 * MiB), flags=["--config", cfg, "--device", loopdev])
    assert res.rc == 0, res
    assert res.line("readdev")["wall_us"] >= 500_000, res.line("readdev")


# limits.io_weight: the files each backend tries, best first.
WEIGHT_FILES = {"v2": ("io.weight", "io.bfq.weight"), "v1": ("blkio.bfq.weight", "blkio.weight")}


def test_io_weight_in_the_cgroup_or_refused(jail, io_cgroup):
    """--io-weight 300: the running jail's cgroup holds it in the first
    weight file the kernel offers; a kernel with none refuses the jail in
    one line naming the field, the value and the files it lacks, and
    leaves nothing behind (then the test skips, saying so: the weight
    itself cannot be shown on that kernel)."""
    mp, ver = io_cgroup
    before = jailtest.cgroup_tree(jail.cgroup_parent)
    argv = jail.argv(("sleep", "3"), flags=["--io-weight", "300"])
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = None
    try:
        deadline = time.monotonic() + 30
        while seen is None and proc.poll() is None and time.monotonic() < deadline:
            d = leaf(jail, mp)
            # Once the jail's process is in it, every limit has been
            # written: before, the file may still hold the default.
            for name in WEIGHT_FILES[ver] if d and jailtest.cgroup_procs(d) else ():
                try:
                    seen = (name, (d / name).read_text())
                    break
                except OSError:
                    pass
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode == EXIT_JAILER and "offers no I/O weight" in err:
        line = err.strip()
        assert len(line.splitlines()) == 1 and "limits.io_weight: 300:" in line, line
        assert all(f in line for f in WEIGHT_FILES[ver]), line
        assert jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id) == []
        assert jailtest.cgroup_tree(jail.cgroup_parent) - before == set()
        assert not jail.root.exists()
        pytest.skip(f"refused as it should be, the weight cannot be shown: {line}")
    assert proc.returncode == 0, (out, err)
    assert seen is not None, "no weight file seen in the running jail's cgroup"
    name, text = seen
    # io.weight and v2's io.bfq.weight say "default 300" (and per-disk
    # lines); v1's files hold the bare number.
    assert "default 300" in text.splitlines() or text.strip() == "300", seen
    assert jailtest.cgroup_dirs_named(jail.cgroup_parent, jail.id) == []


def test_io_weight_through_config_file(jail, io_cgroup, tmp_path):
    """limits.io_weight in a file reaches the cgroup the same way: the run
    either succeeds or is refused for the kernel's sake, never for the
    file's."""
    cfg = tmp_path / "w.json"
    cfg.write_text('{"limits": {"io_weight": 250}}')
    res = jail.run("exit", "0", flags=["--config", cfg], report=False)
    if res.rc == EXIT_JAILER:
        assert "limits.io_weight: 250: this kernel offers no I/O weight" in res.stderr, res
        pytest.skip(f"the kernel offers no I/O weight: {res.stderr.strip()}")
    assert res.rc == 0, res

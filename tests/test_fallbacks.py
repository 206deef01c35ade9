# SPDX-License-Identifier: MIT
"""The jail's fallback paths, run for real: the same jail with syscalls the
kernel (or a service manager's seccomp filter) may not offer made to fail
with ENOSYS, through tests/helpers/enosys."""
import json
from pathlib import Path

import pytest

import jailtest

ENOSYS = Path(jailtest.BUILD) / "tests" / "helpers" / "enosys"


@pytest.fixture
def enosys():
    if not ENOSYS.exists():
        pytest.fail(f"{ENOSYS} is not built")
    return str(ENOSYS)


def test_without_openat2_the_jail_is_the_same(jail, tmp_path, enosys):
    """openat2 hidden (systemd's RestrictSUIDSGID= does that): mountpoints
    are still resolved beneath the jail root without following symlinks."""
    src = tmp_path / "bindsrc"
    src.mkdir()
    (src / "marker").write_text("bound\n")
    before = jailtest.mount_keys()
    argv = [enosys, "openat2", "--"] + jail.argv(
        ("report", "--check-path", "/data/marker"),
        flags=["--bind", f"{src}:/data"], report_path=tmp_path / "rep.json")
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 0, err
    r = json.loads(out.splitlines()[0])
    assert r["pid"] == 1
    marker = [c for c in r["checks"] if c["path"] == "/data/marker"][0]
    assert marker["readable"] and not marker["writable"], marker
    mounts = {m["mountpoint"]: m["fstype"] for m in r["mounts"]}
    assert mounts.get("/proc") == "proc" and mounts.get("/dev") == "tmpfs", mounts
    assert {"/dev/null", "/dev/urandom", "/dev/zero"} <= {d["path"] for d in r["dev"]}
    assert jailtest.mount_keys() == before
    assert not jail.root.exists(), "the jail root jailer created was not removed"


def test_without_openat2_a_symlinked_mountpoint_is_refused(jail, tmp_path, enosys):
    """The hand-made walk refuses a symlink inside the jail root just as
    RESOLVE_NO_SYMLINKS does."""
    src = tmp_path / "bindsrc"
    src.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    jail.root.mkdir()
    (jail.root / "data").symlink_to(outside)
    argv = [enosys, "openat2", "--"] + jail.argv(("exit", "0"), flags=["--bind", f"{src}:/data/x"])
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 125, (rc, err)
    assert "symlink" in err, err
    assert list(outside.iterdir()) == [], "a mountpoint was created through the symlink"

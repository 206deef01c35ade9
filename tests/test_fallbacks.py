# SPDX-License-Identifier: MIT
"""The jail's fallback paths, run for real: the same jail with syscalls the
kernel (or a service manager's seccomp filter) may not offer made to fail
with ENOSYS, through tests/helpers/enosys.  (tests/test_escape.py runs the
escape suite under each of them too.)"""
import json
import os
import re
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


# What a kernel before the call's version (or a seccomp filter) takes away,
# and the jailer does without: clone3 (5.3: clone() with CLONE_PIDFD, the
# cgroup joined by pid), mount_setattr (5.12: MS_REMOUNT|MS_BIND through the
# mount's fd, on it and every mount below), close_range (5.9), pidfd_open
# (5.3), openat2 (5.6).  Each alone and all together.
FALLBACKS = ["clone3", "mount_setattr", "close_range", "pidfd_open", "openat2",
             "clone3,mount_setattr,close_range,pidfd_open,openat2"]


def report_of(jail, tmp_path, enosys, without, name):
    src = tmp_path / f"src-{name}"
    src.mkdir()
    (src / "marker").write_text("bound\n")
    sub = tmp_path / f"sub-{name}"
    sub.mkdir()
    root = tmp_path / f"root-{name}"
    argv = jail.argv(("report", "--check-path", "/data/marker"), jail_root=root,
                     jail_id=f"{jail.id}-{name}", flags=["--bind", f"{src}:/data", "--bind", f"{sub}:/rw:rw"])
    if without:
        argv = [enosys, without, "--"] + argv
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 0, (without, err)
    assert not root.exists(), "the jail root jailer created was not removed"
    return json.loads(out.splitlines()[0])


def comparable(r):
    """A probe report without what differs between any two jails."""
    out = json.loads(re.sub(r"-(normal|shim)\b", "-X", json.dumps(r)))
    for k in ("pid", "ppid", "time", "boot_id", "start_time", "uptime", "mountinfo", "cgroup"):
        out.pop(k, None)
    out["fds"] = [dict(f, target=re.sub(r"\[\d+\]", "[N]", f["target"])) for f in out.get("fds", [])]
    out["mounts"] = sorted((json.dumps({k: v for k, v in m.items() if k not in ("id", "parent", "dev")},
                                       sort_keys=True) for m in out.get("mounts", [])))
    host = {n: os.readlink(f"/proc/self/ns/{n}") for n in out.get("namespaces", {})}
    out["namespaces"] = {n: v != host[n] for n, v in out.get("namespaces", {}).items()}
    return out


@pytest.mark.parametrize("without", FALLBACKS)
def test_the_jail_is_the_same_without(jail, tmp_path, enosys, without):
    """From inside, a jail made without these calls is the jail made with
    them: namespaces, mounts and their flags (the jail root nosuid,nodev,
    binds read-only unless asked, /dev and /proc/sys read-only), credentials,
    capabilities, seccomp, fds."""
    normal = comparable(report_of(jail, tmp_path, enosys, None, "normal"))
    shimmed = comparable(report_of(jail, tmp_path, enosys, without, "shim"))
    assert all(normal["namespaces"].values()), normal["namespaces"]
    mounts = {json.loads(m)["mountpoint"]: json.loads(m)["options"].split(",") for m in shimmed["mounts"]}
    assert {"nosuid", "nodev"} <= set(mounts["/"]), mounts
    assert {"ro", "nosuid", "nodev"} <= set(mounts["/data"]), mounts
    assert "rw" in mounts["/rw"] and {"nosuid", "nodev"} <= set(mounts["/rw"]), mounts
    assert "ro" in mounts["/dev"] and "ro" in mounts["/proc/sys"], mounts
    differ = {k for k in set(normal) | set(shimmed) if normal.get(k) != shimmed.get(k)}
    assert not differ, {k: (normal.get(k), shimmed.get(k)) for k in differ}
    # nothing of either jail is left mounted on the host
    assert not jailtest.mounts_touching(jailtest.mount_keys(), [tmp_path])


@pytest.mark.parametrize("without", ["open_tree", "move_mount", "fsopen"])
def test_without_the_mount_api_one_clear_line(jail, tmp_path, enosys, without):
    """The new mount API itself (Linux 5.2) is required: without it the jail
    is refused in one line that says so, and nothing is left."""
    argv = [enosys, without, "--"] + jail.argv(("exit", "0"))
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 125, (rc, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and "Linux 5.2" in lines[0] and without in lines[0], err
    assert not jailtest.mounts_touching(jailtest.mount_keys(), [tmp_path])
    assert not jail.root.exists()


@pytest.mark.parametrize("without", ["clone3", "openat2", "close_range", "pidfd_open", "mount_setattr"])
def test_version_names_what_this_kernel_lacks(enosys, without):
    """`jailer --version` says which calls it does without here: with one
    hidden, exactly that one (and the cgroup files this kernel lacks)."""
    argv = [str(jailtest.BUILD / "client" / "jailer"), "--version"]
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 0, err
    plain = [l for l in out.splitlines() if l.startswith("this kernel (")]
    assert len(plain) == 1 and (plain[0].endswith("has them all") or "does without" in plain[0]), out
    before = set(plain[0].split("does without ")[1].split(", ")) if "does without" in plain[0] else set()
    rc, out, err, _ = jailtest.run_command([enosys, without, "--"] + argv)
    assert rc == 0, err
    shim = [l for l in out.splitlines() if l.startswith("this kernel (")]
    assert len(shim) == 1 and "does without" in shim[0], out
    assert set(shim[0].split("does without ")[1].split(", ")) == before | {without}, (plain, shim)

# SPDX-License-Identifier: MIT
"""What jailerd and the supervisor remove when a jail ends, against a member
who controls the jail's run/ (its jail runs as the member's own uid, which
the policy here allows) and against a jail that fills or nests run/.

- Files of another member, moved into run/ (or linked from it) by the jail's
  owner, survive: clean-up removes only what the owner of run/ could.
- 30 000 nested directories in run/ neither crash the supervisor nor
  jailerd at its next start; the daemon keeps serving.
- A mount found inside a jail root is not descended into.
- run/ is a size-limited tmpfs: a jail writing past it gets ENOSPC and the
  host's disk gets nothing.

Each test runs against a jailerd with the default run/ (a tmpfs) and with
--run-size 0 (a plain directory on the jails dir's disk), where the removal
itself is what protects.  Users are made for the module (see
daemonlib.py) and deleted at the end."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import daemonlib as dl
import jailtest
from jailtest import unique_id

# Members name the probe: a copy they can reach wherever the checkout is.
PROBE = jailtest.for_others(jailtest.PROBE)

NEST = 30000
RUN_SIZE = 16 << 20


@pytest.fixture(scope="module")
def accounts():
    yield from dl.module_accounts("mount", "umount")


@pytest.fixture(scope="module")
def work():
    """A directory both members can reach, on the same file system as the
    daemon's jails dir (both under /tmp): what a member moves into run/."""
    d = Path(tempfile.mkdtemp(dir="/tmp", prefix="jlt-tenant-"))
    d.chmod(0o755)
    yield d
    rm_tree(d)


def rm_tree(path):
    # rm(1) walks any depth; shutil.rmtree recurses once per level.
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], capture_output=True)


@pytest.fixture(scope="module", params=["tmpfs", "plain"])
def daemon(request, accounts, work):
    mode = request.param
    uid, gid = accounts.ids("alice")
    policy = work / f"policy-{mode}.json"
    # Alice's jails run as alice (the default allow_own_uid): run/ is hers.
    policy.write_text(json.dumps({"allow_own_uid": True}))
    policy.chmod(0o644)
    d = dl.Daemon(f"tenant-{mode}", group=accounts.group, extra=["--config", str(policy)])
    if mode == "plain":
        if not d.offers("--run-size"):
            shutil.rmtree(d.top, ignore_errors=True)
            pytest.skip("this jailerd has no --run-size (run/ is always a plain directory)")
        d.extra += ["--run-size", "0"]
    d.mode = mode
    d.start()
    yield d
    try:
        assert d.alive(), f"jailerd died during the tests:\n{d.log_text()}"
    finally:
        for p in d.jails_dir.iterdir() if d.jails_dir.is_dir() else ():
            unmount_below(p)
            rm_tree(p)
        d.cleanup()


def as_user(accounts, who, code, *args):
    """Run python code as a member (its uid, gid and groups)."""
    uid, gid = accounts.ids(who)
    argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "/usr/bin/python3", "-c", code]
    return subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True, timeout=120)


def ctl(daemon, accounts, who, *args, **kw):
    return dl.run_ctl(daemon, *args, user=accounts.ids(who), **kw)


def mounts_below(path):
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def unmount_below(path):
    for mp in sorted(mounts_below(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def supervisor_gone(jail_root, timeout=120):
    """Wait for the supervisor of jail_root (its argv names it) to end: its
    clean-up is done then."""
    needle = str(jail_root).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"jailer-supervisor") and needle in argv:
                busy = True
                break
        if not busy:
            return
        time.sleep(0.1)
    raise AssertionError(f"the supervisor of {jail_root} did not end within {timeout}s")


def snapshot(top):
    """Every file and directory below top: bytes, mode, owner."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            data = p.read_bytes() if stat.S_ISREG(st.st_mode) else None
            out[str(p.relative_to(top))] = (data, st.st_mode, st.st_uid, st.st_gid)
    return out


def assert_serves(daemon, accounts, who="bob"):
    t = time.monotonic()
    p = ctl(daemon, accounts, who, "version", timeout=10)
    assert p.returncode == 0, (p, daemon.log_text())
    assert time.monotonic() - t < 5, "jailerd took more than 5 s to answer"


def supervisor_pid(jail_root):
    needle = str(jail_root).encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"jailer-supervisor") and needle in argv:
                return int(pid)
    raise AssertionError(f"no supervisor for {jail_root}")


@pytest.mark.parametrize("end", ["kill", "supervisor_dies"])
def test_files_moved_into_run_by_its_owner_survive(daemon, accounts, work, end):
    """alice owns her jail's run/; bob keeps files in a directory of alice's
    (where he may create, not she may delete), alice moves that directory
    into run/ and links bob's own directory from there, then kills the
    jail (or its supervisor dies, and jailerd removes what is left): every
    file of bob's is unchanged."""
    a_uid, a_gid = accounts.ids("alice")
    b_uid, b_gid = accounts.ids("bob")
    base = Path(tempfile.mkdtemp(dir=work))
    base.chmod(0o755)
    # alice's: base/a (0755) / shared (0777), where bob made bdir (0700) and
    # bopen (0755, a file alice may read, not remove); bob's: base/b.
    a = base / "a"
    shared = a / "shared"
    a.mkdir()
    shared.mkdir()
    os.chown(a, a_uid, a_gid)
    os.chown(shared, a_uid, a_gid)
    shared.chmod(0o777)
    for name, mode, fmode in (("bdir", 0o700, 0o600), ("bopen", 0o755, 0o644)):
        d = shared / name
        d.mkdir()
        (d / "secret").write_bytes(f"bob's {name}\n".encode())
        (d / "sub").mkdir()
        (d / "sub" / "deeper").write_bytes(b"more of bob's\n")
        for p in (d / "sub" / "deeper", d / "sub", d / "secret", d):
            os.chown(p, b_uid, b_gid)
        for p in (d / "sub" / "deeper", d / "secret"):
            p.chmod(fmode)
        (d / "sub").chmod(mode)
        d.chmod(mode)
    b = base / "b"
    b.mkdir()
    (b / "file").write_bytes(b"bob's own\n")
    os.chown(b / "file", b_uid, b_gid)
    os.chown(b, b_uid, b_gid)
    before_shared = {k: v for k, v in snapshot(shared).items() if k.split("/")[0] in ("bdir", "bopen")}
    before_b = snapshot(b)

    jid = unique_id("tenant-move")
    p = ctl(daemon, accounts, "alice", "create", "--id", jid, "--uid", a_uid, "--gid", a_gid,
            "--exec", PROBE, "--", "sleep", "60")
    assert p.returncode == 0, (p, daemon.log_text())
    root = daemon.jails_dir / jid
    run = root / "run"
    try:
        assert os.stat(run).st_uid == a_uid
        moved = as_user(accounts, "alice", "import os, sys; os.rename(sys.argv[1], sys.argv[2])",
                        shared, run / "shared")
        if daemon.mode == "plain":
            assert moved.returncode == 0, moved.stderr
        elif moved.returncode != 0:
            # run/ is a file system of its own: nothing moves into it.
            assert "Invalid cross-device link" in moved.stderr, moved
        linked = as_user(accounts, "alice",
                         "import os, sys; os.symlink(sys.argv[1], sys.argv[3]); os.symlink(sys.argv[2], sys.argv[4])",
                         b, b / "file", run / "blink", run / "bfile")
        assert linked.returncode == 0, linked.stderr
    finally:
        if end == "supervisor_dies":
            os.kill(supervisor_pid(root), 9)
        else:
            p = ctl(daemon, accounts, "alice", "kill", jid, "SIGKILL")
            assert p.returncode == 0, p
        ctl(daemon, accounts, "alice", "wait", jid)
        supervisor_gone(root)

    where = run / "shared" if moved.returncode == 0 else shared
    after = {k: v for k, v in snapshot(where).items() if k.split("/")[0] in ("bdir", "bopen")} \
        if where.exists() else {}
    assert after == before_shared, f"bob's files in {where} changed:\n{daemon.log_text()}"
    assert snapshot(b) == before_b
    assert_serves(daemon, accounts)
    if moved.returncode == 0:
        # What alice could not remove stays where she put it, and is said so.
        rm_tree(root)


def nest_as(accounts, who, top, n):
    code = ("import os, sys\n"
            "os.chdir(sys.argv[1])\n"
            "for _ in range(int(sys.argv[2])):\n"
            "    os.mkdir('d'); os.chdir('d')\n")
    p = as_user(accounts, who, code, top, n)
    assert p.returncode == 0, p.stderr


def test_deeply_nested_run_is_removed_without_crash(daemon, accounts):
    """A jail nests 30 000 directories in run/ and ends: its supervisor ends
    normally (no made-up report), jailerd lives and serves; the jail root
    goes.  Then a jail directory left so by a crash: jailerd's next start
    removes it and serves (no crash loop)."""
    a_uid, a_gid = accounts.ids("alice")
    jid = unique_id("tenant-nest")
    p = ctl(daemon, accounts, "alice", "run", "--json", "--id", jid, "--uid", a_uid, "--gid", a_gid,
            "--exec", PROBE, "--", "nest", NEST, "/run", timeout=600)
    lines = dl.json_lines(p.stdout)
    nest = [l for l in lines if l.get("probe") == "nest"]
    assert nest, (p, daemon.log_text())
    # run/'s tmpfs has one inode per KiB: it may stop the nesting first.
    assert nest[0]["depth"] == NEST or (daemon.mode == "tmpfs" and nest[0]["errno"] == "ENOSPC"
                                        and nest[0]["depth"] > 4096), nest
    rep = [l for l in lines if "exit_code" in l]
    assert rep and not rep[-1].get("error"), (p.stdout, daemon.log_text())
    root = daemon.jails_dir / jid
    supervisor_gone(root, timeout=600)
    assert not root.exists(), f"{root} is left:\n{daemon.log_text()}"
    assert daemon.alive()
    assert_serves(daemon, accounts)

    # As if the supervisor had been killed mid-way: a jail directory whose
    # run/ (alice's) nests 30 000 directories, found at jailerd's start.
    assert daemon.stop() == 0
    stale = daemon.jails_dir / unique_id("tenant-stale")
    (stale / "run").mkdir(parents=True)
    stale.chmod(0o755)
    os.chown(stale / "run", a_uid, a_gid)
    (stale / "run").chmod(0o700)
    nest_as(accounts, "alice", stale / "run", NEST)
    daemon.start()
    # jailerd serves at once; a janitor of its own removes the stale tree.
    assert_serves(daemon, accounts)
    deadline = time.monotonic() + 600
    while stale.exists():
        assert time.monotonic() < deadline, f"{stale} is left:\n{daemon.log_text()}"
        time.sleep(0.2)
    jid = unique_id("tenant-after")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--uid", a_uid, "--gid", a_gid,
            "--exec", PROBE, "--", "exit", "0")
    assert p.returncode == 0, (p, daemon.log_text())


def test_mount_inside_jail_root_is_not_descended_into(daemon, accounts):
    """A tmpfs mounted (by root, here the test) on run/x of a jail root
    jailerd made keeps its files when the jail ends; once it is unmounted,
    jailerd's next start removes what is left."""
    jid = unique_id("tenant-mnt")
    with daemon.conn() as c:
        res = c.call("create", dl.jail_config(jid, "sleep", "60"))
    root = Path(res.get("jail_root") or daemon.jails_dir / jid)
    x = root / "run" / "x"
    mounted = False
    try:
        x.mkdir()
        # Owned by run/'s owner, who could remove all of it: only the mount
        # boundary keeps it.
        st = os.stat(root / "run")
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=1m,mode=0700,uid={st.st_uid},gid={st.st_gid}",
                        "jlt-keep", str(x)], check=True)
        mounted = True
        (x / "keep").write_bytes(b"not yours to remove\n")
        (x / "dir").mkdir()
        (x / "dir" / "more").write_bytes(b"nor this\n")
        for p in (x / "keep", x / "dir", x / "dir" / "more"):
            os.chown(p, st.st_uid, st.st_gid)
        with daemon.conn() as c:
            c.call("kill", {"jail": jid, "signal": "SIGKILL"})
            c.call("wait", {"jail": jid}, timeout=30)
        supervisor_gone(root)
        assert os.path.ismount(x)
        assert (x / "keep").read_bytes() == b"not yours to remove\n", daemon.log_text()
        assert (x / "dir" / "more").read_bytes() == b"nor this\n"
        assert_serves(daemon, accounts)
    finally:
        if mounted:
            subprocess.run(["umount", str(x)], check=True)
    # What is left is ours again: the next start removes it, mounts and all.
    assert daemon.stop() == 0
    daemon.start()
    deadline = time.monotonic() + 120
    while root.exists():
        assert time.monotonic() < deadline, f"{root} is left:\n{daemon.log_text()}"
        time.sleep(0.1)
    assert not mounts_below(daemon.jails_dir), mounts_below(daemon.jails_dir)


def test_run_is_bounded(daemon, accounts):
    """run/ is a tmpfs of 16 MiB (nosuid, nodev, noexec, 0700, the jail's
    uid) on the host: a jail writing 64 MiB there gets ENOSPC after about
    16 MiB, none of it on the host's disk; nothing is left when it ends."""
    if daemon.mode != "tmpfs":
        pytest.skip("--run-size 0: run/ is a plain directory, unbounded by choice")
    a_uid, a_gid = accounts.ids("alice")
    jid = unique_id("tenant-fill")
    p = ctl(daemon, accounts, "alice", "create", "--id", jid, "--uid", a_uid, "--gid", a_gid,
            "--exec", PROBE, "--", "sleep", "60")
    assert p.returncode == 0, (p, daemon.log_text())
    run = daemon.jails_dir / jid / "run"
    try:
        line = [l for l in open("/proc/self/mountinfo") if l.split()[4] == str(os.path.realpath(run))]
        assert len(line) == 1, f"run/ is not a mount point: {mounts_below(daemon.jails_dir)}"
        fields = line[0].split()
        sep = fields.index("-")
        fstype, opts = fields[sep + 1], fields[sep + 3] + "," + fields[5]
        assert fstype == "tmpfs", line
        for opt in ("nosuid", "nodev", "noexec", f"size={RUN_SIZE // 1024}k", "mode=700",
                    f"uid={a_uid}", f"gid={a_gid}"):
            assert opt in opts.split(","), (opt, line)
    finally:
        ctl(daemon, accounts, "alice", "kill", jid, "SIGKILL")
        ctl(daemon, accounts, "alice", "wait", jid)

    jid = unique_id("tenant-fill")
    p = ctl(daemon, accounts, "alice", "run", "--json", "--id", jid, "--uid", a_uid, "--gid", a_gid,
            "--exec", PROBE, "--", "fill", "/run", 64 << 20, timeout=120)
    fill = [l for l in dl.json_lines(p.stdout) if l.get("probe") == "fill"]
    assert fill, (p, daemon.log_text())
    assert fill[0]["errno"] in ("ENOSPC", "EDQUOT"), fill
    assert fill[0]["written"] <= RUN_SIZE, fill
    supervisor_gone(daemon.jails_dir / jid)
    assert not (daemon.jails_dir / jid).exists()
    assert not mounts_below(daemon.jails_dir), mounts_below(daemon.jails_dir)

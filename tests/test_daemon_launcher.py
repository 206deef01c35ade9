# SPDX-License-Identifier: MIT
"""The supervisor launcher: jailerd starts one `jailer-supervisor --launcher`
that forks a supervisor per jail (daemon/launcher.c).

- a supervisor is the launcher's child, runs the supervisor program, and
  names its jail in its command line;
- with two jails running, neither supervisor nor jailed program holds an fd
  of jailerd's (its listening socket, its clients, the launcher channel), of
  the launcher's, or of the other jail (its stdio pipes, its sockets, its
  directories); the launcher holds nothing of a jail between requests and
  no socket a client could reach;
- a supervisor maps no libsystemd (nor what it pulls in);
- SIGKILL of the launcher leaves running jails alone, and the next create
  gets a new launcher; SIGKILL of jailerd leaves the supervisors running,
  the launcher exits, and a restarted jailerd reattaches.

Run as root: /usr/bin/pytest-3 tests/test_daemon_launcher.py
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import daemonlib as dl
import test_daemon_e2e as dt
from jailtest import unique_id


@pytest.fixture
def daemon():
    d = dt.make_daemon("launcher")
    try:
        yield d
    finally:
        d.cleanup()


# --------------------------------------------------------------- /proc helpers

def ppid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    raise AssertionError(f"no PPid in /proc/{pid}/status")


def cmdline_of(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def fd_targets(pid, lowest=0):
    """{fd: readlink target} of a process (fds >= lowest)."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) < lowest:
            continue
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def objects(pid, lowest=0):
    """What an fd target names for good: sockets and pipes by inode."""
    return {t for t in fd_targets(pid, lowest).values() if t.startswith(("socket:[", "pipe:["))}


def launcher_of(d):
    """The pid of jailerd's launcher: its child running --launcher."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if ppid_of(int(p)) == d.pid and "--launcher" in cmdline_of(int(p)):
                found.append(int(p))
        except (OSError, AssertionError):
            continue
    assert len(found) == 1, f"jailerd {d.pid} has {len(found)} launchers: {found}\n{d.log_text()}"
    return found[0]


def wait_until(pred, what, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def supervisor_pid(d, jid):
    import json
    return json.loads((d.state_dir / "jails" / jid / "state.json").read_text())["supervisor_pid"]


class Jail:
    """A sleeping jail whose stdio is pipes of ours."""

    def __init__(self, d, name, secs=60):
        self.id = unique_id(name)
        self.stdin_r, self.stdin_w = os.pipe()
        self.out_r, self.out_w = os.pipe()
        self.err_r, self.err_w = os.pipe()
        self.pipes = {f"pipe:[{os.fstat(fd).st_ino}]" for fd in (self.stdin_r, self.out_r, self.err_r)}
        with d.conn() as c:
            res = c.call("create", dt.jail_config(self.id, "sleep", str(secs)),
                         fds=[self.stdin_r, self.out_w, self.err_w])
        for fd in (self.stdin_r, self.out_w, self.err_w):
            os.close(fd)
        self.pid = res["pid"]
        self.supervisor = supervisor_pid(d, self.id)
        self.state_dir = str(d.state_dir / "jails" / self.id)

    def close(self):
        for fd in (self.stdin_w, self.out_r, self.err_r):
            os.close(fd)


def kill_and_wait(d, jid):
    with d.conn() as c:
        c.call("kill", {"jail": jid, "signal": "SIGKILL"})
        return c.call("wait", {"jail": jid})


# --------------------------------------------------------------- tests

def test_supervisor_is_forked_by_the_launcher(daemon):
    j = Jail(daemon, "lnch-parent")
    try:
        launcher = launcher_of(daemon)
        # Forked by the launcher, not exec'd by jailerd; yet it shows what
        # it holds, as an exec'd one would.
        assert ppid_of(j.supervisor) == launcher, daemon.log_text()
        argv = cmdline_of(j.supervisor)
        assert argv[0] == "jailer-supervisor" and "--state-dir" in argv, argv
        assert argv[argv.index("--state-dir") + 1] == j.state_dir, argv
        assert os.readlink(f"/proc/{j.supervisor}/exe") == str(dt.SUPERVISOR.resolve())
        assert ppid_of(j.pid) == j.supervisor
        # The launcher: its own program image, not jailerd's.
        assert os.readlink(f"/proc/{launcher}/exe") == str(dt.SUPERVISOR.resolve())
        rep = kill_and_wait(daemon, j.id)
        assert rep["signal"] == "SIGKILL", rep
    finally:
        j.close()
    daemon.assert_nothing_left(j.id, state_too=False)


def mapped_files(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[5] for line in f if len(line.split()) > 5 and line.split()[5].startswith("/")}


def test_supervisor_maps_only_what_it_needs(daemon):
    """A supervisor's address space is what the jail's clone3() copies and
    its execve() tears down: no libsystemd there, nor what libsystemd pulls
    in (gcrypt, compressors); jailerd itself does use it."""
    heavy = ("libsystemd", "libgcrypt", "libgpg-error", "liblz4", "libzstd", "liblzma")
    j = Jail(daemon, "lnch-maps")
    try:
        for pid, who in ((j.supervisor, "the supervisor"), (launcher_of(daemon), "the launcher")):
            libs = sorted(os.path.basename(m) for m in mapped_files(pid) if ".so" in m)
            assert not [m for m in libs if m.startswith(heavy)], f"{who} maps {libs}"
            assert any(m.startswith("libc.so") for m in libs), libs    # the check reads real maps
        assert [m for m in mapped_files(daemon.pid) if "libsystemd" in m], "jailerd without libsystemd?"
        kill_and_wait(daemon, j.id)
    finally:
        j.close()
    daemon.assert_nothing_left(j.id, state_too=False)


def test_no_fd_of_jailerd_or_of_another_jail(daemon):
    a = Jail(daemon, "lnch-a")
    b = Jail(daemon, "lnch-b")
    try:
        launcher = launcher_of(daemon)
        listen = f"socket:[{os.stat(daemon.socket).st_ino}]"
        # jailerd's own fds (0-2 are handed down by design: its log here).
        daemon_objs = objects(daemon.pid, lowest=3)
        launcher_objs = objects(launcher, lowest=3)
        assert launcher_objs, "the launcher holds no channel?"
        # The launcher channel: jailerd's end and the launcher's.
        assert daemon_objs and launcher_objs

        for me, other in ((a, b), (b, a)):
            other_objs = other.pipes | objects(other.supervisor) | objects(other.pid)
            for pid, what in ((me.supervisor, "supervisor"), (me.pid, "jailed program")):
                mine = objects(pid)
                paths = fd_targets(pid).values()
                where = f"{what} of {me.id} (pid {pid}): {fd_targets(pid)}"
                assert not mine & daemon_objs, f"{where} holds jailerd's {mine & daemon_objs}"
                assert not mine & launcher_objs, f"{where} holds the launcher's {mine & launcher_objs}"
                assert not mine & other.pipes, f"{where} holds {other.id}'s stdio pipes"
                assert not (mine - me.pipes) & other_objs, f"{where} holds {other.id}'s {mine & other_objs}"
                assert not any(p == other.state_dir or p.startswith(other.state_dir + "/") for p in paths), where
            # The jailed program has its stdio and nothing else that names
            # an object of anyone's.
            assert objects(me.pid) <= me.pipes, fd_targets(me.pid)
        # The launcher keeps nothing of a jail once it has forked it, and
        # no socket of its own is bound to a name a client could connect to.
        assert not launcher_objs & (a.pipes | b.pipes)
        assert listen not in launcher_objs
        inodes = {o[len("socket:["):-1] for o in launcher_objs if o.startswith("socket:[")}
        with open("/proc/net/unix") as f:
            next(f)
            named = {l.split()[6] for l in f if len(l.split()) >= 8}
        assert not inodes & named, f"the launcher holds a named socket: {inodes & named}"
        assert all(p.startswith(("socket:[", "anon_inode:", "/dev/null")) or fd < 3
                   for fd, p in fd_targets(launcher).items()), fd_targets(launcher)
        for j in (a, b):
            rep = kill_and_wait(daemon, j.id)
            assert rep["signal"] == "SIGKILL", rep
    finally:
        a.close()
        b.close()


def test_killed_launcher_leaves_jails_alone(daemon):
    j = Jail(daemon, "lnch-survive")
    try:
        old = launcher_of(daemon)
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: not alive(old), "the launcher to die")
        time.sleep(0.2)
        assert alive(j.supervisor) and alive(j.pid)
        with daemon.conn() as c:
            st = c.call("status", {"jail": j.id})
            assert st["state"] == "running", st

        # The next create gets a new launcher, and works.
        jid = unique_id("lnch-after")
        with daemon.conn() as c:
            c.call("create", dt.jail_config(jid, "exit", "7"))
            rep = c.call("wait", {"jail": jid})
        assert rep["exit_code"] == 7, rep
        new = launcher_of(daemon)
        assert new != old

        # The orphaned supervisor still reports its jail's end.
        rep = kill_and_wait(daemon, j.id)
        assert rep["signal"] == "SIGKILL", rep
        wait_until(lambda: not alive(j.supervisor), "the old supervisor to end")
    finally:
        j.close()
    daemon.assert_nothing_left(j.id, state_too=False)
    assert daemon.alive()


def test_sigkill_of_jailerd_then_reattach(daemon):
    j = Jail(daemon, "lnch-reattach")
    try:
        launcher = launcher_of(daemon)
        daemon.kill9()
        # The launcher sees its channel end and goes; the supervisor stays.
        wait_until(lambda: not alive(launcher), "the launcher to exit after jailerd")
        assert alive(j.supervisor) and alive(j.pid)
        daemon.start()
        with daemon.conn() as c:
            st = c.call("status", {"jail": j.id})
        assert st["state"] == "running" and st["pid"] == j.pid, st
        assert launcher_of(daemon) != launcher
        rep = kill_and_wait(daemon, j.id)
        assert rep["signal"] == "SIGKILL", rep
    finally:
        j.close()


def test_stop_jails_on_exit_reaches_launched_supervisors():
    """--stop-jails-on-exit stops jails whose supervisors the launcher
    forked; the launcher goes with jailerd."""
    d = dt.make_daemon("lnch-stop", extra=["--stop-jails-on-exit"])
    try:
        j = Jail(d, "lnch-stop")
        launcher = launcher_of(d)
        assert ppid_of(j.supervisor) == launcher
        assert d.stop() == 0, d.log_text()
        for pid, what in ((j.pid, "jail"), (j.supervisor, "supervisor"), (launcher, "launcher")):
            wait_until(lambda: not alive(pid), f"the {what} {pid} to end after jailerd stopped")
        d.assert_nothing_left(j.id, state_too=False)
        j.close()
    finally:
        d.cleanup()


def test_jail_without_stdio_holds_nothing_of_the_launcher(daemon):
    """A jail whose output goes to the journal gets fewer fds from jailerd:
    the fd numbers the launcher used are not all reused, and must be closed."""
    a = Jail(daemon, "lnch-with")
    jid = unique_id("lnch-nostdio")
    daemon.call("create", dt.jail_config(jid, "sleep", "60"))
    sup = supervisor_pid(daemon, jid)
    try:
        launcher = launcher_of(daemon)
        assert ppid_of(sup) == launcher
        theirs = objects(daemon.pid, lowest=3) | objects(launcher, lowest=3) | a.pipes | objects(a.supervisor)
        assert not objects(sup) & theirs, fd_targets(sup)
        kinds = [t for t in fd_targets(sup).values() if t == "anon_inode:[signalfd]"]
        assert len(kinds) <= 1, f"the supervisor holds {len(kinds)} signalfds (the launcher's?): {fd_targets(sup)}"
        kill_and_wait(daemon, jid)
        kill_and_wait(daemon, a.id)
    finally:
        a.close()



def test_jail_environment_is_only_its_config(daemon):
    """The launcher and the supervisors run with an environment of jailerd's
    choosing (its path, malloc's tunables); a jail sees none of it: only
    what its config's env sets."""
    for extra, want in (({}, []), ({"env": [["ALPHA", "1"], ["EMPTY", ""]]}, ["ALPHA=1", "EMPTY="])):
        jid = unique_id("lnch-env")
        r, w = os.pipe()
        with daemon.conn() as c:
            c.call("create", dt.jail_config(jid, "report", **extra), fds=[0, w, 2])
            os.close(w)
            rep = c.call("wait", {"jail": jid})
        assert rep["exit_code"] == 0, rep
        with os.fdopen(r) as f:
            inside = json.loads(f.read().splitlines()[0])
        assert sorted(inside["environ"]) == want, inside["environ"]


def sig_masks(pid):
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in f)
                if k in ("SigIgn", "SigBlk", "SigCgt")}


def test_jail_starts_with_default_signals(daemon):
    """jailerd starts its launcher with posix_spawn(), whose child gets
    glibc's two internal real-time signals (32, 33) ignored; an ignored
    signal stays ignored across execve.  The launcher sets every
    disposition back to the default, and a jail's program starts with none
    ignored and none blocked (seen from inside by the probe)."""
    jid = unique_id("lnch-sig")
    r, w = os.pipe()
    with daemon.conn() as c:
        c.call("create", dt.jail_config(jid, "report"), fds=[0, w, 2])
        os.close(w)
        rep = c.call("wait", {"jail": jid})
    assert rep["exit_code"] == 0, rep
    with os.fdopen(r) as f:
        inside = json.loads(f.read().splitlines()[0])
    assert inside["signals"] == {"ignored": "0" * 16, "blocked": "0" * 16}, inside["signals"]
    launcher = sig_masks(launcher_of(daemon))
    assert launcher["SigIgn"] == "0" * 16 and launcher["SigCgt"] == "0" * 16, launcher


def test_launcher_reads_the_config_once_before_the_fork(daemon, tmp_path):
    """The launcher reads and checks a jail's config.json before it forks
    the supervisor (a warm process parses it several times faster than a
    fresh copy, which pays a copy-on-write fault per page it writes); the
    supervisor then uses that and does not read the file again.  Seen by
    strace on the launcher and every process it forks."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (scripts/install-deps.sh installs it)")
    launcher = launcher_of(daemon)
    out = tmp_path / "strace.txt"
    st = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=openat,open", "-e", "signal=none",
                           "-o", str(out), "-p", str(launcher)], stderr=subprocess.DEVNULL)
    try:
        def traced():
            with open(f"/proc/{launcher}/status") as f:
                return any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f)
        wait_until(traced, "strace to attach to the launcher")
        jid = unique_id("lnch-cfg")
        _, rep = dt.create_and_wait(daemon, jid, "exit", "0")
        assert rep["exit_code"] == 0, rep
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(timeout=30)
    opened = {}
    for line in out.read_text().splitlines():
        pid, _, call = line.partition(" ")
        if f"/{jid}/config.json" in call:
            opened.setdefault(int(pid), []).append(call.strip())
    assert launcher in opened, f"the launcher did not read {jid}'s config.json:\n{out.read_text()}"
    assert set(opened) == {launcher}, f"read by others too: {opened}"
    daemon.assert_nothing_left(jid, state_too=False)


def forks_of(pid, out):
    """The process-creating calls strace saw pid make."""
    calls = ("clone(", "clone3(", "fork(", "vfork(")
    return [line for line in out.read_text().splitlines()
            if line.partition(" ")[0] == str(pid) and line.partition(" ")[2].lstrip().startswith(calls)]


def test_jailerd_removes_a_jails_state_in_its_own_process(daemon, tmp_path):
    """jailerd removes the state directory of a jail it no longer keeps
    (here: the same id created again) in its own process.  A fork of the
    daemon for each jail copies and then tears down its whole address
    space, which cost more CPU than the rest of jailerd's work for the jail.
    A state directory that holds a directory (not one jailerd makes) still
    goes, through the walk in a child.  Seen by strace on jailerd."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (scripts/install-deps.sh installs it)")
    jid = unique_id("lnch-rm")
    state = daemon.state_dir / "jails" / jid

    def create_again():
        """Right after a report the jail's supervisor may still be tearing
        it down, and its id is `busy` until it is gone: ask again (a
        refusal forks nothing, and removes nothing)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return dt.create_and_wait(daemon, jid, "exit", "0")
            except dl.RpcError as e:
                if e.reason != "busy" or time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def traced_create_again():
        out = tmp_path / f"strace-{len(list(tmp_path.iterdir()))}.txt"
        st = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=clone,clone3,fork,vfork", "-e", "signal=none",
                               "-o", str(out), "-p", str(daemon.proc.pid)], stderr=subprocess.DEVNULL)
        try:
            def traced():
                with open(f"/proc/{daemon.proc.pid}/status") as f:
                    return any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f)
            wait_until(traced, "strace to attach to jailerd")
            _, rep = create_again()
            assert rep["exit_code"] == 0, rep
        finally:
            st.send_signal(signal.SIGINT)
            st.wait(timeout=30)
        return out

    def hold():
        """An fd on each of the state's files (jailerd's temporaries,
        renamed any moment, aside): its link count says later whether
        jailerd removed that very file, whatever inode numbers the file
        system hands out again (ext4 reuses them)."""
        fds = {}
        for p in state.iterdir():
            try:
                if not p.name.startswith("."):
                    fds[p.name] = os.open(p, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                pass
        return fds

    _, rep = dt.create_and_wait(daemon, jid, "exit", "0")
    assert rep["exit_code"] == 0, rep
    old = hold()
    try:
        assert old, f"{state} holds nothing"
        out = traced_create_again()
        assert forks_of(daemon.proc.pid, out) == [], out.read_text()
        # The old files went: none of them is linked anywhere any more.
        kept = sorted(n for n, fd in old.items() if os.fstat(fd).st_nlink > 0)
        assert not kept, (kept, sorted(p.name for p in state.iterdir()))
    finally:
        for fd in old.values():
            os.close(fd)

    # Something jailerd never makes in a state directory: the walk sees to it.
    (state / "sub" / "deeper").mkdir(parents=True)
    (state / "sub" / "deeper" / "f").write_text("x")
    out = traced_create_again()
    assert not (state / "sub").exists(), sorted(p.name for p in state.iterdir())
    assert forks_of(daemon.proc.pid, out), f"no walk in a child:\n{out.read_text()}"
    daemon.assert_nothing_left(jid, state_too=False)

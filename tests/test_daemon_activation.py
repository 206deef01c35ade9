# SPDX-License-Identifier: MIT
"""jailerd under a service manager, without systemd as PID 1:

- socket activation through `systemd-socket-activate -l PATH jailerd ...`,
  which passes a listening socket exactly as systemd does (LISTEN_FDS,
  LISTEN_PID): the first client call starts jailerd, which serves it on the
  passed socket, never binds its own, keeps the passed socket out of the
  jails' supervisors and leaves it in place when it stops;
- the sd_notify protocol (Type=notify): READY=1, STATUS= with live counts,
  STOPPING=1, and WATCHDOG=1 keep-alives when WATCHDOG_USEC asks for them.

Run as root from the repository root: /usr/bin/pytest-3 tests/test_daemon_activation.py
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import daemonlib as dl
import jailtest
from jailtest import BUILD, PROBE, unique_id

JAILERD = BUILD / "daemon" / "jailerd"
SUPERVISOR = BUILD / "daemon" / "jailer-supervisor"
SOCKET_ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"
TIMEOUT = float(os.environ.get("JAILER_TEST_TIMEOUT", "60"))


def call(path, method, params=None, timeout=TIMEOUT):
    """One request on a fresh connection; the whole reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        msg = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            msg["params"] = params
        s.sendall(json.dumps(msg).encode() + b"\n")
        buf = b""
        while True:
            while b"\n" not in buf:
                chunk = s.recv(65536)
                assert chunk, "jailerd closed the connection"
                buf += chunk
            line, _, buf = buf.partition(b"\n")
            reply = json.loads(line)
            if reply.get("id") == 1:
                return reply


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def socket_inodes(pid):
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if t.startswith("socket:["):
                out.add(t)
    except OSError:
        pass
    return out


def listening_inode(path):
    """The socket:[ino] of the listening socket bound at path."""
    want = os.stat(path).st_ino
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            # Connections accepted from it carry its path too: only the one
            # with __SO_ACCEPTCON in Flags listens.
            if len(parts) >= 8 and parts[7] == str(path) and int(parts[3], 16) & 0x10000:
                return f"socket:[{parts[6]}]"
    raise AssertionError(f"no socket bound at {path} (inode {want}) in /proc/net/unix")


class Private:
    """Directories and a cgroup parent of the test's own."""

    def __init__(self, name):
        self.top = Path(tempfile.mkdtemp(prefix=f"jailerd-{name}-"))
        self.top.chmod(0o755)
        self.socket = self.top / "jailerd.sock"
        self.state_dir = self.top / "state"
        self.jails_dir = self.top / "jails"
        self.cgroup_parent = f"{jailtest.SESSION_CGROUP_PARENT}/{name}-{os.getpid()}"
        self.log = open(self.top / "log", "wb")
        self.procs = []

    def jailerd_args(self):
        return [str(JAILERD), "--state-dir", str(self.state_dir), "--jails-dir", str(self.jails_dir),
                "--cgroup-parent", self.cgroup_parent, "--supervisor", str(SUPERVISOR), "--kill-grace", "0.5"]

    def spawn(self, argv, env=None):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                             env=env)
        self.procs.append(p)
        return p

    def log_text(self):
        self.log.flush()
        return (self.top / "log").read_text(errors="replace")[-6000:]

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                jailtest.terminate(p, 20)
        self.log.close()
        for d in jailtest.cgroup_parent_dirs(self.cgroup_parent):
            jailtest.remove_cgroup_tree(d)
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def private(request):
    dl.daemon_ready((JAILERD, SUPERVISOR, PROBE))
    p = Private(request.node.name.replace("test_", "", 1)[:20])
    yield p
    p.cleanup()


def wait_for(pred, what, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_socket_activation(private):
    if not os.access(SOCKET_ACTIVATE, os.X_OK):
        pytest.skip("systemd-socket-activate is not installed")
    sock = private.top / "activated.sock"
    act = private.spawn([SOCKET_ACTIVATE, "-l", str(sock), *private.jailerd_args()])
    wait_for(lambda: sock.exists(), "systemd-socket-activate to listen")
    # Nothing runs jailerd yet: the listener is systemd-socket-activate.
    assert exe_of(act.pid) != str(JAILERD.resolve())

    # The first call starts jailerd (exec'd in place, same pid) and works.
    r = call(sock, "version")
    assert r["result"]["protocol"] == 1, r
    assert wait_for(lambda: exe_of(act.pid) == str(JAILERD.resolve()), "jailerd to be exec'd")
    # It did not bind a socket of its own.
    assert not (private.state_dir / "jailerd.sock").exists()

    jid = unique_id("activated")
    r = call(sock, "create", {"id": jid, "exec_path": str(PROBE), "exec_args": ["sleep", "2"]})
    assert "result" in r, f"{r}\n{private.log_text()}"
    state = json.loads((private.state_dir / "jails" / jid / "state.json").read_text())
    # The passed socket (inherited without O_CLOEXEC from the service
    # manager) must not reach the supervisor nor, through it, the jail.
    listen = listening_inode(sock)
    assert listen in socket_inodes(act.pid)
    assert listen not in socket_inodes(state["supervisor_pid"])
    assert listen not in socket_inodes(r["result"]["pid"])

    r = call(sock, "wait", {"jail": jid})
    assert r["result"]["exit_code"] == 0, r

    # Stopping leaves the passed socket alone: it is the manager's.
    act.send_signal(signal.SIGTERM)
    assert act.wait(timeout=20) == 0, private.log_text()
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)


def test_socket_activation_queued_connections(private):
    """Clients that connect before jailerd runs wait in the socket's queue
    and are all served."""
    if not os.access(SOCKET_ACTIVATE, os.X_OK):
        pytest.skip("systemd-socket-activate is not installed")
    sock = private.top / "activated.sock"
    private.spawn([SOCKET_ACTIVATE, "-l", str(sock), *private.jailerd_args()])
    wait_for(lambda: sock.exists(), "systemd-socket-activate to listen")
    conns = []
    for i in range(5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(str(sock))
        s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": "version"}).encode() + b"\n")
        conns.append(s)
    for i, s in enumerate(conns):
        line = s.makefile("rb").readline()
        assert json.loads(line)["id"] == i
        s.close()


class Notify:
    """A NOTIFY_SOCKET of our own, as systemd offers it to Type=notify services."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def until(self, pred, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if pred(m):
                    return m
            self.read(0.2)
        raise AssertionError(f"no such notification among {self.messages}")

    def close(self):
        self.sock.close()


def test_sd_notify(private):
    notify = Notify(private.top / "notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    sock = private.top / "jailerd.sock"
    d = private.spawn([*private.jailerd_args(), "--socket", str(sock)], env=env)
    try:
        notify.until(lambda m: "READY=1" in m.split("\n"))
        # STATUS= says how many jails run, and follows them.
        notify.until(lambda m: "STATUS=" in m and "0 jails running" in m)
        jid = unique_id("notify")
        r = call(sock, "create", {"id": jid, "exec_path": str(PROBE), "exec_args": ["sleep", "30"]})
        assert "result" in r, r
        notify.until(lambda m: "STATUS=" in m and "1 jails running" in m)
        # Keep-alives at about half of WATCHDOG_USEC.
        notify.messages.clear()
        notify.read(1.0)
        assert sum("WATCHDOG=1" in m for m in notify.messages) >= 2, notify.messages
        assert call(sock, "kill", {"jail": jid, "signal": "SIGKILL"}).get("result") == {}
        assert "result" in call(sock, "wait", {"jail": jid})

        d.send_signal(signal.SIGTERM)
        notify.until(lambda m: "STOPPING=1" in m.split("\n"))
        assert d.wait(timeout=20) == 0, private.log_text()
        # Our own socket, we remove.
        assert not sock.exists()
    finally:
        notify.close()


def test_sd_notify_status_after_stop_counts_the_jails_left_running(private):
    """After a stop that leaves jails running (the default), the last
    STATUS= says how many were left, rather than a count of 0 that freeing
    the table at exit would give."""
    notify = Notify(private.top / "notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    sock = private.top / "jailerd.sock"
    d = private.spawn([*private.jailerd_args(), "--socket", str(sock)], env=env)
    jid = unique_id("left")
    try:
        notify.until(lambda m: "READY=1" in m.split("\n"))
        r = call(sock, "create", {"id": jid, "exec_path": str(PROBE), "exec_args": ["sleep", "60"]})
        assert "result" in r, r
        notify.until(lambda m: "STATUS=" in m and "1 jails running" in m)
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=20) == 0, private.log_text()
        notify.read(0.5)
        statuses = [m for m in notify.messages if "STATUS=" in m]
        assert statuses and "Stopped: 1 jails left running" in statuses[-1], statuses
    finally:
        notify.close()
        # The jail outlived jailerd, as it should: a new jailerd ends it.
        d2 = private.spawn([*private.jailerd_args(), "--socket", str(sock)])
        # The first jailerd's socket file may still be there: wait until
        # the new one answers, not until a file exists.
        deadline = time.monotonic() + 20
        while True:
            try:
                call(sock, "version")
                break
            except (FileNotFoundError, ConnectionRefusedError):
                assert time.monotonic() < deadline and d2.poll() is None, private.log_text()
                time.sleep(0.05)
        call(sock, "kill", {"jail": jid, "signal": "SIGKILL"})
        call(sock, "wait", {"jail": jid})
        d2.send_signal(signal.SIGTERM)
        d2.wait(timeout=20)

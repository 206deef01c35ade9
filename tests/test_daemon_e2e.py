# SPDX-License-Identifier: MIT
"""End-to-end tests of jailerd over its real socket, and of jailerctl.

Each test module starts a private jailerd (its own socket, state directory,
jails directory and cgroup parent) and stops it by pid at the end.  The
helpers here (Daemon, Conn, run_ctl, ...) are shared by the other
test_daemon_*.py modules, which import this module.

Run as root from the repository root:  /usr/bin/pytest-3 tests/test_daemon_e2e.py
(JAILER_BUILD names the build directory; JAILER_TEST_KEEP_LOGS=DIR keeps each
jailerd's log there.)
"""
import array
import atexit
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import jailtest
from jailtest import BUILD, PROBE, unique_id

JAILERD = BUILD / "daemon" / "jailerd"
SUPERVISOR = BUILD / "daemon" / "jailer-supervisor"
JAILERCTL = BUILD / "client" / "jailerctl"
JAILER = BUILD / "client" / "jailer"

START_TIMEOUT = 15.0
CALL_TIMEOUT = float(os.environ.get("JAILER_TEST_TIMEOUT", "60"))
KILL_GRACE_MS = 500


# --------------------------------------------------------------- a raw client

class RpcError(Exception):
    def __init__(self, error):
        super().__init__(f"{error.get('code')} {error.get('data')}: {error.get('message')}")
        self.error = error
        self.code = error.get("code")
        self.data = error.get("data") or {}
        self.reason = self.data.get("reason")
        self.field = self.data.get("field")
        self.message = error.get("message")


class Conn:
    """A client written from PROTOCOL.md alone, with Python's socket module:
    one JSON object per line, replies matched by id, notifications kept."""

    def __init__(self, path, timeout=CALL_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""
        self.queue = []
        self.next_id = 1
        self.eof = False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send_raw(self, data, fds=()):
        if fds:
            n = self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            if n < len(data):
                self.sock.sendall(data[n:])
        else:
            self.sock.sendall(data)

    def send(self, method, params=None, fds=(), id=None):
        if id is None:
            id = self.next_id
            self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_raw(json.dumps(msg, separators=(",", ":")).encode() + b"\n", fds)
        return id

    def _read_line(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.eof = True
                    raise ConnectionError("jailerd closed the connection")
                self.buf += chunk
        finally:
            if timeout is not None:
                self.sock.settimeout(CALL_TIMEOUT)
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def read_msg(self, timeout=None):
        line = self._read_line(timeout)
        msg = json.loads(line)
        assert isinstance(msg, dict) and msg.get("jsonrpc") == "2.0", f"not a JSON-RPC 2.0 message: {line!r}"
        return msg

    def reply(self, id, timeout=None):
        """The whole reply message to request id (result or error)."""
        for i, m in enumerate(self.queue):
            if "id" in m and m["id"] == id:
                return self.queue.pop(i)
        while True:
            m = self.read_msg(timeout)
            if "id" in m and (m["id"] == id or (m["id"] is None and "error" in m)):
                return m
            self.queue.append(m)

    def call(self, method, params=None, fds=(), timeout=None):
        """The result, or raise RpcError."""
        m = self.reply(self.send(method, params, fds), timeout)
        if "error" in m:
            raise RpcError(m["error"])
        assert "result" in m, m
        return m["result"]

    def error(self, method, params=None, fds=(), timeout=None):
        """The error of a call that must fail."""
        m = self.reply(self.send(method, params, fds), timeout)
        assert "error" in m, f"{method} {params} should have failed, got {m}"
        return RpcError(m["error"])

    def notification(self, timeout=CALL_TIMEOUT):
        for i, m in enumerate(self.queue):
            if "id" not in m:
                return self.queue.pop(i)
        while True:
            m = self.read_msg(timeout)
            if "id" not in m:
                return m
            self.queue.append(m)


# --------------------------------------------------------------- a private daemon

def _help_text(binary):
    try:
        p = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=10)
        return p.stdout + p.stderr
    except OSError:
        return ""


# Every Daemon made, so that one whose start failed (before its fixture
# could clean up) is stopped and its directory removed when the tests end.
_made = []


@atexit.register
def _clean_up_daemons():
    for d in _made:
        if d.top.exists():
            try:
                d.cleanup()
            except Exception:  # noqa: BLE001 - at exit, what is left is removed anyway
                shutil.rmtree(d.top, ignore_errors=True)


class Daemon:
    """A private jailerd: socket, state, jails directory and cgroup parent
    of its own, all under a directory that unprivileged test users can
    traverse.  Options are passed only when this jailerd offers them."""

    def __init__(self, name, group=None, extra=(), grace_ms=KILL_GRACE_MS, max_jails=None):
        self.name = name
        self.top = Path(tempfile.mkdtemp(prefix=f"jailerd-{name}-"))
        _made.append(self)
        self.top.chmod(0o755)
        self.socket = self.top / "jailerd.sock"
        self.state_dir = self.top / "state"
        self.jails_dir = self.top / "jails"
        self.cgroup_parent = f"{jailtest.SESSION_CGROUP_PARENT}/jailerd-{name}-{os.getpid()}"
        self.log_path = self.top / "jailerd.log"
        self.group = group
        self.extra = list(extra)
        self.grace_ms = grace_ms
        self.max_jails = max_jails
        self.proc = None
        self.help = _help_text(JAILERD)

    def offers(self, option):
        return re.search(rf"(^|\s){re.escape(option)}([\s=,]|$)", self.help, re.M) is not None

    def argv(self):
        a = [str(JAILERD), "--socket", str(self.socket)]
        wanted = [("--state-dir", str(self.state_dir)),
                  ("--jails-dir", str(self.jails_dir)),
                  ("--cgroup-parent", self.cgroup_parent),
                  ("--supervisor", str(SUPERVISOR)),
                  ("--kill-grace", f"{self.grace_ms / 1000:g}" if self.grace_ms else None),
                  ("--group", self.group or None),
                  ("--max-jails", str(self.max_jails) if self.max_jails else None)]
        for opt, val in wanted:
            if val is not None and self.offers(opt):
                a += [opt, val]
        if self.offers("--verbose"):
            a.append("--verbose")
        return a + self.extra

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        # journald may be absent: jailerd falls back to stderr, our log file
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jailerd exited with {self.proc.returncode} at start:\n{self.log_text()}")
            try:
                with Conn(self.socket, timeout=5) as c:
                    c.call("version")
                return self
            except (OSError, ConnectionError):
                time.sleep(0.05)
        raise AssertionError(f"jailerd did not answer within {START_TIMEOUT}s:\n{self.log_text()}")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL jailerd (by pid), as a crash would."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    def conn(self, timeout=CALL_TIMEOUT):
        return Conn(self.socket, timeout=timeout)

    def call(self, method, params=None, fds=(), timeout=None):
        with self.conn() as c:
            return c.call(method, params, fds, timeout)

    # -- what a jail leaves behind

    def cgroups_of(self, jail_id):
        return jailtest.cgroup_dirs_named(self.cgroup_parent, jail_id)

    def state_entries(self):
        """Entries of the per-jail state directories, wherever this jailerd
        keeps them under its state dir."""
        out = set()
        for d in (self.state_dir / "jails", self.state_dir):
            if d.is_dir():
                out |= {p.name for p in d.iterdir()}
        return out

    def jail_dirs(self):
        return sorted(p.name for p in self.jails_dir.iterdir()) if self.jails_dir.is_dir() else []

    def mounts_under_dirs(self):
        return jailtest.mounts_touching(jailtest.mount_keys(), [self.top])

    def assert_nothing_left(self, jail_id, state_too=True):
        """No cgroup, no jail directory, no mount (and, for a refused jail,
        no state) of jail_id."""
        deadline = time.monotonic() + 10
        while True:
            left = []
            if self.cgroups_of(jail_id):
                left.append(f"cgroups {self.cgroups_of(jail_id)}")
            if jail_id in self.jail_dirs():
                left.append(f"jail dir {self.jails_dir / jail_id}")
            if state_too and jail_id in self.state_entries():
                left.append(f"state dir of {jail_id}")
            mounts = [m for m in self.mounts_under_dirs() if jail_id in m[1] or jail_id in m[3]]
            if mounts:
                left.append(f"mounts {mounts}")
            if not left:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{jail_id} left behind: {'; '.join(left)}\n{self.log_text()}")
            time.sleep(0.1)

    def sanitizer_reports(self):
        """Lines of AddressSanitizer/UBSan/LeakSanitizer reports in the log
        (a sanitizer build of jailerd writes them to stderr)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [l for l in text.splitlines() if "Sanitizer" in l or "runtime error:" in l]

    def cleanup(self):
        """Stop jailerd, remove what the tests left; then fail if jailerd did
        not stop cleanly or a sanitizer complained."""
        rc = self.stop()
        reports = self.sanitizer_reports()
        log = self.log_text()
        for d in jailtest.cgroup_parent_dirs(self.cgroup_parent):
            jailtest.remove_cgroup_tree(d)
        keep = os.environ.get("JAILER_TEST_KEEP_LOGS")
        if keep and self.log_path.exists():
            os.makedirs(keep, exist_ok=True)
            shutil.copy(self.log_path, Path(keep) / f"{self.top.name}.log")
        shutil.rmtree(self.top, ignore_errors=True)
        assert not reports, f"sanitizer reports from jailerd or its supervisors:\n{log}"
        assert rc in (None, 0), f"jailerd exited with {rc} on SIGTERM:\n{log}"


def assert_report_shape(rep, jail_id=None):
    """The exit report has at least the documented fields, with sane types;
    more may come (clients ignore unknown members, PROTOCOL.md)."""
    assert isinstance(rep, dict), rep
    missing = jailtest.REPORT_KEYS - set(rep)
    assert not missing, f"report lacks {sorted(missing)}: {rep}"
    jailtest.assert_report_shape({k: rep[k] for k in jailtest.REPORT_KEYS}, jail_id)


def daemon_ready():
    """Skip (or fail) the way the other system tests do; fail clearly when
    jailerd or jailerctl is not built."""
    reason = jailtest.why_not_runnable()
    if reason:
        pytest.skip(reason)
    missing = [str(p) for p in (JAILERD, JAILERCTL, PROBE) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (ninja -C {BUILD.name}, or set JAILER_BUILD)", pytrace=False)


def make_daemon(name, **kw):
    daemon_ready()
    d = Daemon(name, **kw)
    d.start()
    return d


def jail_config(jail_id, *args, **extra):
    """A create request's params: the probe with args, no jail_root.  The
    probe is the copy every uid can reach: members send these too."""
    cfg = {"id": jail_id, "exec_path": str(jailtest.for_others(PROBE)), "exec_args": [str(a) for a in args]}
    if jailtest.CGROUP_VERSION:
        cfg["cgroup_version"] = jailtest.CGROUP_VERSION
    cfg.update(extra)
    return cfg


def run_ctl(daemon, *args, user=None, timeout=CALL_TIMEOUT, stdin=subprocess.DEVNULL, env=None):
    """Run jailerctl --socket S ARGS (as user: (uid, gid) with its groups)."""
    argv = [str(JAILERCTL), "--socket", str(daemon.socket)] + [str(a) for a in args]
    if user is not None:
        argv[0] = str(jailtest.for_others(JAILERCTL))
        argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--init-groups"] + argv
    p = subprocess.run(argv, stdin=stdin, capture_output=True, text=True, timeout=timeout, env=env)
    return p


class Events:
    """`jailerctl --json events` running in the background (as user, when
    given), its notifications read by a thread."""

    def __init__(self, daemon, user=None):
        argv = [str(JAILERCTL), "--socket", str(daemon.socket), "--json", "events"]
        if user is not None:
            argv[0] = str(jailtest.for_others(JAILERCTL))
            argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--init-groups"] + argv
        self.daemon = daemon
        self.user = user
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(json.loads(line))
                self.cond.notify_all()

    def wait_for(self, pred, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(pred(m) for m in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return False
                self.cond.wait(left)
            return True

    def of(self, jail_id):
        with self.cond:
            return [m["method"] for m in self.lines if m["params"].get("jail") == jail_id]

    def subscribed(self, run_jail):
        """Wait until the subscription is live: run canary jails (with
        run_jail(id)) until one shows up."""
        for _ in range(50):
            canary = unique_id("canary")
            run_jail(canary)
            if self.wait_for(lambda m: m["params"].get("jail") == canary and m["method"] == "exited", 2):
                return
        raise AssertionError(f"jailerctl events never showed a jail: {self.proc.stderr}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        self.thread.join(10)


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def parse_rfc3339(s):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?Z", s)
    assert m, f"not RFC 3339 UTC: {s!r}"
    t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return t + (float(m.group(2)) if m.group(2) else 0.0)


def assert_jail_entry(e, jail_id=None, state=None):
    for k in ("jail", "pid", "state", "started_at", "uid"):
        assert k in e, f"{k} missing from {e}"
    assert isinstance(e["pid"], int) and e["pid"] > 0, e
    assert e["state"] in ("running", "exited"), e
    assert isinstance(e["uid"], int), e
    started = parse_rfc3339(e["started_at"])
    assert abs(started - time.time()) < 3600, f"started_at {e['started_at']} is not about now"
    if jail_id:
        assert e["jail"] == jail_id
    if state:
        assert e["state"] == state, e


def wait_report(daemon, jail_id, timeout=CALL_TIMEOUT):
    with daemon.conn() as c:
        return c.call("wait", {"jail": jail_id}, timeout=timeout)


def create_and_wait(daemon, jail_id, *args, **extra):
    with daemon.conn() as c:
        res = c.call("create", jail_config(jail_id, *args, **extra))
        assert res["jail"] == jail_id and isinstance(res["pid"], int) and res["pid"] > 0, res
        rep = c.call("wait", {"jail": jail_id})
    assert_report_shape(rep, jail_id)
    assert rep["pid"] == res["pid"]
    return res, rep


# --------------------------------------------------------------- this module's daemon

@pytest.fixture(scope="module")
def daemon():
    d = make_daemon("e2e")
    yield d
    try:
        assert d.alive(), f"jailerd died during the tests:\n{d.log_text()}"
    finally:
        d.cleanup()


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
        for k in ("cpu_usage_us", "memory_current_bytes", "memory_peak_bytes", "pids_current"):
            assert isinstance(u[k], int) and u[k] >= 0, u
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

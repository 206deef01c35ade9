# SPDX-License-Identifier: MIT
"""The harness of the jailerd tests: a private jailerd (Daemon), a raw
client written from PROTOCOL.md alone (Conn), jailerctl runs as root or as
a member (run_ctl, Events), request and report helpers, and the temporary
accounts (a group; alice and bob in it, mallory not) that the tests about
members share (Accounts, module_accounts).

Each test module starts its own jailerd (own socket, state directory,
jails directory and cgroup parent) and stops it by pid at the end.
JAILER_BUILD names the build directory; JAILER_TEST_KEEP_LOGS=DIR keeps
each jailerd's log there.
"""
import array
import atexit
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
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
        rc = jailtest.terminate(self.proc, 20)
        self.log.close()
        return rc

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


def daemon_ready(binaries=(JAILERD, JAILERCTL, PROBE)):
    """Skip (or fail) the way the other system tests do; fail clearly when
    one of the binaries (jailerd, jailerctl, the probe) is not built."""
    reason = jailtest.why_not_runnable()
    if reason:
        pytest.skip(reason)
    missing = [str(p) for p in binaries if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (ninja -C {BUILD.name}, or set JAILER_BUILD)", pytrace=False)


def make_daemon(name, **kw):
    daemon_ready()
    d = Daemon(name, **kw)
    d.start()
    return d


def serve(d):
    """The body of a module's `daemon` fixture (`yield from` it), after d is
    started: d for the tests, then a failure if jailerd died during them, and
    d's clean-up whatever happened."""
    yield d
    try:
        assert d.alive(), f"jailerd died during the tests:\n{d.log_text()}"
    finally:
        d.cleanup()


def req(method, params=None, id=1, **top):
    """A request line's bytes (without the newline); top: more members,
    or members that replace the usual ones."""
    m = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    m.update(top)
    return json.dumps(m, separators=(",", ":")).encode()


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


# --------------------------------------------------------------- accounts for members

def _sh(*argv):
    subprocess.run(list(argv), check=True, capture_output=True, text=True)


class Accounts:
    """A group and three users: alice and bob in the group, mallory not."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.group = f"jlt{tag}"
        self.names = {k: f"jlt{tag}{k[0]}" for k in ("alice", "bob", "mallory")}
        self.made_group = False
        self.made_users = []

    def create(self):
        _sh("groupadd", "--system", self.group)
        self.made_group = True
        for who, name in self.names.items():
            argv = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"]
            if who != "mallory":
                argv += ["--groups", self.group]
            _sh(*argv, name)
            self.made_users.append(name)
        return self

    def ids(self, who):
        pw = pwd.getpwnam(self.names[who])
        return pw.pw_uid, pw.pw_gid

    def delete(self):
        for name in self.made_users:
            subprocess.run(["userdel", name], capture_output=True)
        if self.made_group:
            subprocess.run(["groupdel", self.group], capture_output=True)


def module_accounts(*tools):
    """The body of a module's `accounts` fixture (`yield from` it): a group
    and alice, bob and mallory, made for the module and deleted after; the
    test is skipped, saying why, when a tool it needs is missing."""
    daemon_ready()
    for tool in ("useradd", "groupadd", "setpriv", *tools):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    a = Accounts()
    try:
        a.create()
        yield a
    finally:
        a.delete()

# SPDX-License-Identifier: MIT
"""jailerd's journald entries: every lifecycle event of a jail is a
structured entry with JAIL_ID= (and JAIL_PID=, JAIL_EXIT_CODE=, JAIL_SIGNAL=,
JAIL_OOM=, PEER_UID=, PEER_PID=, a stable MESSAGE_ID=), and the jail's own
output lines carry JAIL_ID= too, so that `journalctl JAIL_ID=x` tells the
jail's whole story.

PID 1 here need not be systemd: the test runs a private systemd-journald in
a mount namespace of its own (its own /run/systemd/journal and journal
directory), and jailerd inside that same namespace, so that its entries (and
its supervisors', in journald's native protocol) reach the private journald
and nothing reaches the host's journal.  The test talks to jailerd over its socket (a path outside
the private mounts), stops it and journald by pid, then reads the journal
directory with `journalctl -D DIR -o json`.

Run as root from the repository root: /usr/bin/pytest-3 tests/test_daemon_journal.py
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import jailtest
from jailtest import BUILD, PROBE, unique_id

JAILERD = BUILD / "daemon" / "jailerd"
SUPERVISOR = BUILD / "daemon" / "jailer-supervisor"
JOURNALD = Path("/lib/systemd/systemd-journald")
JOURNALCTL = shutil.which("journalctl") or "/usr/bin/journalctl"

# The MESSAGE_IDs are part of jailerd's interface (users filter on them):
# they must never change.
MESSAGE_IDS = {
    "request": "6cccce46a9e54ef8b8fac72853c41215",
    "refused": "e004a07453bf41c09776129a0a585db9",
    "started": "191432ec9359491ebf22c7931eb96f38",
    "failed": "8d31da58d2f84f40ad71576424ab73a2",
    "exited": "d4b88583c77d4ce184dad29392eae860",
    "kill": "ad5c6494d31641cfab28fdeba2ae4714",
    "reattached": "6c9f6f89ad1b480aa2d7c4b2c07a6271",
    "cleanup": "f167f79ee16545ce900d8fb271f043c0",
    "output": "f4461838a72247059646a77a32c37c5f",
    "daemon": "a9a68f4ed0f04092842af10300a49f46",
    "lost": "677eab1165704860811bbce827221fd3",
}

TIMEOUT = float(os.environ.get("JAILER_TEST_TIMEOUT", "60"))

# An exec path no jail can have, with newlines and would-be fields in it:
# its error entries carry it in a field's value.
NEWLINE_PATH = "/nonexistent/vmm\nJAILER_FORGED=1\nJAIL_ID=forged\n"

# Runs in the private mount namespace: journald on private /run/systemd and
# /run/log/journal (bound to the test's directory; /var/log/journal hidden so
# that nothing is flushed to the host's persistent journal), then jailerd.
SCRIPT = r"""
set -eu
T="$1"; shift
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir -p /run/systemd/journal
mount -t tmpfs -o mode=0755 tmpfs /run/log
mkdir -p /run/log/journal
mount --bind "$T/journal" /run/log/journal
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
/lib/systemd/systemd-journald </dev/null >"$T/journald.log" 2>&1 &
echo $! > "$T/journald.pid"
i=0
while [ ! -S /run/systemd/journal/socket ]; do
    i=$((i + 1)); [ $i -lt 500 ] || { echo "journald did not start" >&2; exit 1; }
    sleep 0.02
done
"$@" </dev/null >"$T/jailerd.log" 2>&1 &
echo $! > "$T/jailerd.pid"
rc=0
wait $! || rc=$?
kill -TERM "$(cat "$T/journald.pid")"
wait "$(cat "$T/journald.pid")" || true
exit $rc
"""


def _read_pid(path, deadline):
    while time.monotonic() < deadline:
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


class Client:
    """Just enough of the protocol: one request at a time, replies by id."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(str(path))
        self.buf = b""
        self.next_id = 1

    def close(self):
        self.sock.close()

    def call(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                assert chunk, "jailerd closed the connection"
                self.buf += chunk
            line, _, self.buf = self.buf.partition(b"\n")
            reply = json.loads(line)
            if reply.get("id") == rid:
                return reply


class PrivateJournal:
    """journald + jailerd in a private mount namespace, both ours by pid."""

    def __init__(self):
        self.top = Path(tempfile.mkdtemp(prefix="jailerd-journal-"))
        self.top.chmod(0o755)
        self.journal_dir = self.top / "journal"
        self.journal_dir.mkdir()
        self.state_dir = self.top / "state"
        self.jails_dir = self.top / "jails"
        self.socket = self.top / "jailerd.sock"
        self.cgroup_parent = f"{jailtest.SESSION_CGROUP_PARENT}/journal-{os.getpid()}"
        self.proc = None
        self.jailerd_pid = None
        self.journald_pid = None

    def seed_stale_jail(self, jail_id):
        """A state directory without supervisor or report, as a crash
        before the jail started would leave: jailerd must clean it up."""
        d = self.state_dir / "jails" / jail_id
        d.mkdir(parents=True, mode=0o700)
        (d / "config.json").write_text("{}")
        return d

    def start(self):
        argv = [str(JAILERD), "--socket", str(self.socket), "--state-dir", str(self.state_dir),
                "--jails-dir", str(self.jails_dir), "--cgroup-parent", self.cgroup_parent,
                "--supervisor", str(SUPERVISOR), "--kill-grace", "0.5"]
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--fork", "--",
                                      "/bin/sh", "-c", SCRIPT, "sh", str(self.top), *argv],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        self.journald_pid = _read_pid(self.top / "journald.pid", deadline)
        self.jailerd_pid = _read_pid(self.top / "jailerd.pid", deadline)
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"namespace script ended: {self.output()}"
            try:
                c = Client(self.socket)
                c.call("version")
                return c
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"jailerd did not answer: {self.output()}")

    def output(self):
        out = ""
        for name in ("jailerd.log", "journald.log"):
            try:
                out += f"\n--- {name}\n" + (self.top / name).read_text(errors="replace")[-4000:]
            except OSError:
                pass
        return out

    def stop(self):
        """SIGTERM jailerd; the script then stops journald (it flushes)."""
        if self.proc is None:
            return
        if self.proc.poll() is None and self.jailerd_pid:
            try:
                os.kill(self.jailerd_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for pid in (self.jailerd_pid, self.journald_pid, self.proc.pid):
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.proc.wait()
        self.proc.stdout.close()

    def entries(self, *matches):
        # --all: -o json gives null for fields over 4 KiB (a probe report line)
        out = subprocess.run([JOURNALCTL, "-D", str(self.journal_dir), "--no-pager", "--all", "-o", "json", *matches],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def cleanup(self):
        self.stop()
        for d in jailtest.cgroup_parent_dirs(self.cgroup_parent):
            jailtest.remove_cgroup_tree(d)
        shutil.rmtree(self.top, ignore_errors=True)


def field(entry, name):
    """A journal field as text (journalctl gives byte arrays for non-UTF-8
    and lists for repeated fields)."""
    v = entry.get(name)
    if isinstance(v, list) and v and isinstance(v[0], int):
        return bytes(v).decode(errors="replace")
    if isinstance(v, list):
        return v[0]
    return v


def of_kind(entries, kind):
    return [e for e in entries if field(e, "MESSAGE_ID") == MESSAGE_IDS[kind]]


def one(entries, kind, jail_id):
    found = of_kind(entries, kind)
    assert found, f"no {kind} entry for {jail_id} among {[field(e, 'MESSAGE') for e in entries]}"
    return found[0]


@pytest.fixture(scope="module")
def story():
    """One private journal holding the stories of a few jails: a jail that
    prints and exits 0, one killed by a signal, one over its time limit, one
    whose program does not exist, a refused config, a stale state directory
    cleaned up at start."""
    reason = jailtest.why_not_runnable()
    if reason:
        pytest.skip(reason)
    if not JOURNALD.exists() or not shutil.which("unshare"):
        pytest.skip(f"needs {JOURNALD} and unshare(1)")
    missing = [str(p) for p in (JAILERD, SUPERVISOR, PROBE) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)}", pytrace=False)

    pj = PrivateJournal()
    ids = {k: unique_id(f"journal-{k}") for k in ("ok", "killed", "timeout", "noexec", "newline", "refused",
                                                  "stale")}
    pj.seed_stale_jail(ids["stale"])
    results = {}
    try:
        c = pj.start()
        r = c.call("create", {"id": ids["ok"], "exec_path": str(PROBE), "exec_args": ["report"]})
        assert "result" in r, r
        results["ok"] = r["result"]
        results["ok_report"] = c.call("wait", {"jail": ids["ok"]})["result"]

        r = c.call("create", {"id": ids["killed"], "exec_path": str(PROBE), "exec_args": ["sleep", "60"]})
        assert "result" in r, r
        results["killed"] = r["result"]
        assert "result" in c.call("kill", {"jail": ids["killed"], "signal": "SIGKILL"})
        results["killed_report"] = c.call("wait", {"jail": ids["killed"]})["result"]

        r = c.call("create", {"id": ids["timeout"], "exec_path": str(PROBE), "exec_args": ["sleep", "60"],
                              "limits": {"timeout_ms": 300}})
        assert "result" in r, r
        results["timeout_report"] = c.call("wait", {"jail": ids["timeout"]})["result"]

        results["noexec"] = c.call("create", {"id": ids["noexec"], "exec_path": "/nonexistent/vmm"})
        results["newline"] = c.call("create", {"id": ids["newline"], "exec_path": NEWLINE_PATH})
        results["refused"] = c.call("create", {"id": ids["refused"], "exec_path": str(PROBE),
                                               "limits": {"memory_bytes": 12}})
        c.close()
        pj.stop()
        yield pj, ids, results
    finally:
        output = pj.output()
        pj.cleanup()
        if os.environ.get("JAILER_TEST_VERBOSE"):
            print(output)


def test_jail_whole_story(story):
    pj, ids, res = story
    jid = ids["ok"]
    entries = pj.entries(f"JAIL_ID={jid}")
    assert entries, f"nothing with JAIL_ID={jid} in the journal:{pj.output()}"

    req = one(entries, "request", jid)
    assert field(req, "PEER_UID") == "0"
    assert field(req, "PEER_PID") == str(os.getpid())
    assert field(req, "JAILER_METHOD") == "create"

    started = one(entries, "started", jid)
    assert field(started, "JAIL_PID") == str(res["ok"]["pid"])
    assert field(started, "PEER_UID") == "0"
    assert field(started, "PEER_PID") == str(os.getpid())
    assert field(started, "SYSLOG_IDENTIFIER") == "jailerd"
    assert field(started, "_PID") == str(pj.jailerd_pid)

    out = of_kind(entries, "output")
    assert out, "the jail's stdout did not reach the journal"
    line = field(out[0], "MESSAGE")
    assert json.loads(line)["probe"] == "report", line
    assert field(out[0], "JAIL_STREAM") == "stdout"
    assert field(out[0], "JAIL_PID") == str(res["ok"]["pid"])

    exited = one(entries, "exited", jid)
    assert field(exited, "JAIL_EXIT_CODE") == "0"
    assert field(exited, "JAIL_OOM") == "0"
    assert field(exited, "JAIL_TIMED_OUT") == "0"
    assert "JAIL_SIGNAL" not in exited
    assert field(exited, "JAIL_PID") == str(res["ok"]["pid"])
    assert int(field(exited, "JAIL_WALL_TIME_US")) == res["ok_report"]["wall_time_us"]

    # In order: the request, the start, the end; the output before the end
    # (it may be logged before jailerd has heard of the start).
    kinds = [k for e in entries for k, v in MESSAGE_IDS.items() if field(e, "MESSAGE_ID") == v]
    assert kinds.index("request") < kinds.index("started") < kinds.index("exited"), kinds
    assert kinds.index("output") < kinds.index("exited"), kinds


def test_killed_jail(story):
    pj, ids, res = story
    jid = ids["killed"]
    entries = pj.entries(f"JAIL_ID={jid}")
    # jailerd logs who asked; the supervisor logs that it sent the signal.
    kill = one([e for e in entries if field(e, "SYSLOG_IDENTIFIER") == "jailerd"], "kill", jid)
    assert field(kill, "JAIL_SIGNAL") == "SIGKILL"
    assert field(kill, "PEER_UID") == "0"
    assert field(kill, "PEER_PID") == str(os.getpid())
    sent = one([e for e in entries if field(e, "SYSLOG_IDENTIFIER") == "jailer-supervisor"], "kill", jid)
    assert field(sent, "JAIL_PID") == str(res["killed"]["pid"])
    exited = one(entries, "exited", jid)
    assert field(exited, "JAIL_SIGNAL") == "SIGKILL"
    assert "JAIL_EXIT_CODE" not in exited
    assert res["killed_report"]["signal"] == "SIGKILL"


def test_timed_out_jail(story):
    pj, ids, res = story
    entries = pj.entries(f"JAIL_ID={ids['timeout']}")
    exited = one(entries, "exited", ids["timeout"])
    assert field(exited, "JAIL_TIMED_OUT") == "1"
    assert res["timeout_report"]["timed_out"] is True
    kill = one(entries, "kill", ids["timeout"])
    assert field(kill, "JAIL_TIMED_OUT") == "1"


def test_failed_and_refused(story):
    pj, ids, res = story
    assert res["noexec"]["error"]["data"]["reason"] == "spawn_failed", res["noexec"]
    failed = one(pj.entries(f"JAIL_ID={ids['noexec']}"), "failed", ids["noexec"])
    assert field(failed, "JAILER_ERROR") == "spawn_failed"
    assert field(failed, "JAILER_STEP") == res["noexec"]["error"]["data"]["step"]
    assert field(failed, "PEER_UID") == "0"

    assert res["refused"]["error"]["data"]["reason"] == "invalid_config", res["refused"]
    refused = one(pj.entries(f"JAIL_ID={ids['refused']}"), "refused", ids["refused"])
    assert field(refused, "JAILER_ERROR") == "invalid_config"
    assert field(refused, "JAILER_FIELD") == "limits.memory_bytes"
    assert field(refused, "PEER_UID") == "0"
    assert field(refused, "PEER_PID") == str(os.getpid())
    # Nothing was started for either.
    assert not of_kind(pj.entries(f"JAIL_ID={ids['refused']}"), "started")
    assert not of_kind(pj.entries(f"JAIL_ID={ids['noexec']}"), "started")


def test_a_value_with_newlines_forges_no_field(story):
    """A client's value with newlines in it (here an exec path that names a
    field of its own) stays inside its field: no entry gains the forged
    field, and the entry still names the real jail."""
    pj, ids, res = story
    assert "error" in res["newline"], res["newline"]
    entries = pj.entries(f"JAIL_ID={ids['newline']}")
    kinds = [k for e in entries for k, v in MESSAGE_IDS.items() if field(e, "MESSAGE_ID") == v]
    assert "request" in kinds and ("failed" in kinds or "refused" in kinds), (kinds, pj.output())
    assert not pj.entries("JAILER_FORGED=1"), pj.entries("JAILER_FORGED=1")
    assert not pj.entries("JAIL_ID=forged"), pj.entries("JAIL_ID=forged")
    failed = [e for e in entries if "could not be started" in (field(e, "MESSAGE") or "")]
    assert failed and "JAILER_FORGED=1" in field(failed[0], "MESSAGE"), [field(e, "MESSAGE") for e in entries]


def test_cleanup_of_stale_state(story):
    pj, ids, res = story
    cleanup = one(pj.entries(f"JAIL_ID={ids['stale']}"), "cleanup", ids["stale"])
    assert "JAIL_KILLED_PROCESSES" in cleanup


def test_daemon_start_and_stop(story):
    pj, ids, res = story
    daemon = pj.entries(f"MESSAGE_ID={MESSAGE_IDS['daemon']}", f"_PID={pj.jailerd_pid}")
    messages = [field(e, "MESSAGE") for e in daemon]
    assert any("ready" in m for m in messages), messages
    assert any("stopping" in m for m in messages), messages


def test_message_ids_are_the_documented_ones(story):
    """Every entry jailerd and its supervisors wrote with JAILER_EVENT= has
    the MESSAGE_ID of that event kind."""
    pj, ids, res = story
    seen = set()
    for e in pj.entries("SYSLOG_IDENTIFIER=jailerd") + pj.entries("SYSLOG_IDENTIFIER=jailer-supervisor"):
        kind = field(e, "JAILER_EVENT")
        if kind is None:
            continue
        assert field(e, "MESSAGE_ID") == MESSAGE_IDS[kind], e
        seen.add(kind)
    assert {"request", "refused", "started", "failed", "exited", "kill", "cleanup", "output", "daemon"} <= seen

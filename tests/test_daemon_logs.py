# SPDX-License-Identifier: MIT
"""`logs` and `jailerctl logs [-f] ID`: the console output of a jail created
without stdio, byte for byte, from its console.log in jailerd's state
directory; followed while the jail runs; seen only by whoever may see the
jail (as `status`); one bounded chunk per reply, held while the client does
not read.

The probe's `output BYTES [SEC]` writes a pattern holding every byte value
(NUL, newlines, bytes that are not UTF-8) to its stdout, then sleeps.
Members run their clients through setpriv; everything they are handed lives
in jailtest.for_others()'s directory."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import shutil
from pathlib import Path

import pytest

import daemonlib as dl
import jailtest
from jailtest import unique_id

CONSOLE_MAX = 1024 * 1024
CHUNK = 64 * 1024
NOTE = b"\n[console.log reached its size limit; further output only in the journal]\n"
MAX_PENDING = 64
MAX_BUFFER = 1024 * 1024


def pattern(n):
    return bytes((i * 7 + i // 256) & 0xFF for i in range(n))


@pytest.fixture(scope="module")
def accounts():
    yield from dl.module_accounts()


@pytest.fixture(scope="module")
def daemon(accounts):
    d = dl.Daemon("logs", group=accounts.group,
                  extra=["--max-pending-per-uid", str(MAX_PENDING), "--max-buffer-per-uid", str(MAX_BUFFER)])
    yield from dl.serve(d.start())


def ctl(daemon, *args, user=None, timeout=dl.CALL_TIMEOUT):
    """jailerctl with bytes out (the jail's output is not text)."""
    argv = [str(dl.JAILERCTL), "--socket", str(daemon.socket)] + [str(a) for a in args]
    if user is not None:
        argv[0] = str(jailtest.for_others(dl.JAILERCTL))
        argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--init-groups"] + argv
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def start(daemon, *args, user=None):
    jid = unique_id("logs")
    p = ctl(daemon, "create", "--id", jid, "--exec", jailtest.for_others(dl.PROBE), "--", *args, user=user)
    assert p.returncode == 0, (p, daemon.log_text())
    return jid


def finished(daemon, *args, user=None):
    jid = start(daemon, *args, user=user)
    rep = dl.wait_report(daemon, jid)
    assert rep["exit_code"] == 0 or args[0] != "output", rep
    return jid


def read_all(conn, jid):
    """The whole log through the protocol, checking each reply's shape."""
    out, offset = b"", 0
    while True:
        r = conn.call("logs", {"jail": jid, "offset": offset})
        assert set(r) >= {"jail", "offset", "next_offset", "data", "end"}, r
        data = base64.b64decode(r["data"], validate=True)
        assert r["jail"] == jid and r["offset"] == offset, r
        assert r["next_offset"] == offset + len(data) and len(data) <= CHUNK, (r["next_offset"], len(data))
        out += data
        offset = r["next_offset"]
        if r["end"]:
            return out
        assert data, "an empty chunk of an exited jail must say end"


def test_exited_jail_byte_exact(daemon):
    n = 200_000  # several chunks, not a multiple of one
    jid = finished(daemon, "output", n)
    p = ctl(daemon, "logs", jid)
    assert p.returncode == 0, p
    assert p.stdout == pattern(n), (len(p.stdout), p.stdout[:64])
    assert b"\xff" in p.stdout and b"\0" in p.stdout
    p = ctl(daemon, "--json", "logs", jid)
    assert p.returncode == 0, p
    chunks = [json.loads(line) for line in p.stdout.splitlines()]
    assert b"".join(base64.b64decode(c["data"]) for c in chunks) == pattern(n) and chunks[-1]["end"], p.stdout[-200:]
    with daemon.conn() as c:
        first = c.call("logs", {"jail": jid})
        assert first["next_offset"] == CHUNK and first["end"] is False, {k: first[k] for k in first if k != "data"}
        assert read_all(c, jid) == pattern(n)
        # At the end: nothing more, and it says so.
        r = c.call("logs", {"jail": jid, "offset": n, "follow": True})
        assert r["data"] == "" and r["end"] is True and r["next_offset"] == n, r


def test_output_beyond_the_cap_keeps_its_first_mib(daemon):
    """More than console.log keeps: its first 1 MiB exactly, then the note
    (the journal has the rest)."""
    n = CONSOLE_MAX + CONSOLE_MAX // 2
    jid = finished(daemon, "output", n)
    p = ctl(daemon, "logs", jid)
    assert p.returncode == 0, p
    assert len(p.stdout) == CONSOLE_MAX + len(NOTE)
    assert p.stdout == pattern(CONSOLE_MAX) + NOTE
    # `jailerctl logs ID | head -c 10`: a reader that stops is no error.
    proc = subprocess.Popen([str(dl.JAILERCTL), "--socket", str(daemon.socket), "logs", jid],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10) == pattern(10)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=dl.CALL_TIMEOUT) == 0 and err == b"", (proc.returncode, err)


def test_stderr_is_in_the_logs(daemon):
    jid = finished(daemon, "no-such-action")
    p = ctl(daemon, "logs", jid)
    assert p.returncode == 0, p
    assert b"usage: probe" in p.stdout, p.stdout


def test_jail_with_our_stdio_has_no_logs(daemon):
    jid = unique_id("logs-stdio")
    p = ctl(daemon, "run", "--id", jid, "--exec", jailtest.for_others(dl.PROBE), "--", "output", "100")
    assert p.returncode == 0 and p.stdout == pattern(100), p
    p = ctl(daemon, "logs", jid)
    assert p.returncode == 0 and p.stdout == b"", p


def test_follow_a_running_jail_until_it_exits(daemon):
    n = 100_000
    jid = start(daemon, "output", n, 600)
    # Without -f: what is there, and out, while the jail still runs.
    with daemon.conn() as c:
        while c.call("logs", {"jail": jid, "offset": 0})["next_offset"] == 0:
            pass
    p = ctl(daemon, "logs", jid)
    assert p.returncode == 0 and pattern(n).startswith(p.stdout) and p.stdout, p
    assert dl.run_ctl(daemon, "--json", "status", jid).stdout.count('"running"') == 1

    proc = subprocess.Popen([str(dl.JAILERCTL), "--socket", str(daemon.socket), "logs", "-f", jid],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        box = {}

        def reader():
            box["data"] = proc.stdout.read(n)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(dl.CALL_TIMEOUT)
        got = box.get("data")
        assert got == pattern(n), "jailerctl logs -f did not print the running jail's output"
        assert proc.poll() is None, "jailerctl logs -f ended while the jail runs"
        assert dl.run_ctl(daemon, "kill", jid, "KILL").returncode == 0
        rest, err = proc.communicate(timeout=dl.CALL_TIMEOUT)
        assert proc.returncode == 0 and rest == b"", (proc.returncode, rest[:100], err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_not_found(daemon):
    p = ctl(daemon, "logs", "no-such-jail")
    assert p.returncode == 1 and b"not_found" in p.stderr and p.stdout == b"", p
    with daemon.conn() as c:
        e = c.error("logs", {"jail": "no-such-jail", "follow": True})
        assert e.reason == "not_found" and e.code == -32003, e.error


def test_bad_params(daemon):
    jid = finished(daemon, "output", 10)
    with daemon.conn() as c:
        for params, field in [({"jail": jid, "offset": 11}, "offset"),
                              ({"jail": jid, "offset": -1}, "offset"),
                              ({"jail": jid, "offset": "0"}, "offset"),
                              ({"jail": jid, "follow": "yes"}, "follow"),
                              ({"jail": jid, "tail": 5}, "tail"),
                              ({"offset": 0}, "jail"),
                              ({"jail": "../x"}, "jail")]:
            e = c.error("logs", params)
            assert e.reason == "invalid_params" and e.field == field, (params, e.error)
        assert read_all(c, jid) == pattern(10)
    for args in (["logs"], ["logs", "-x", jid], ["logs", jid, jid]):
        assert ctl(daemon, *args).returncode == 2, args


def test_console_log_is_opened_safely(daemon):
    """console.log replaced by a symlink or a FIFO (only root could, but
    the daemon must not follow the one nor hang on the other)."""
    for kind in ("symlink", "fifo"):
        jid = unique_id(f"logs-{kind}")
        p = ctl(daemon, "run", "--id", jid, "--exec", jailtest.for_others(dl.PROBE), "--", "exit", "0")
        assert p.returncode == 0, p
        path = daemon.state_dir / "jails" / jid / "console.log"
        assert not path.exists()
        if kind == "symlink":
            path.symlink_to("/etc/shadow")
        else:
            os.mkfifo(path, 0o600)
        with daemon.conn() as c:
            e = c.error("logs", {"jail": jid})
            assert e.reason == "internal", e.error
            assert "shadow" not in e.message and "root:" not in json.dumps(e.error)
        path.unlink()
    assert daemon.call("version")


# --------------------------------------------------------------- members

def test_member_reads_own_and_not_anothers(daemon, accounts):
    alice, bob = accounts.ids("alice"), accounts.ids("bob")
    jid = finished(daemon, "output", 5000, user=alice)
    p = ctl(daemon, "logs", jid, user=alice)
    assert p.returncode == 0 and p.stdout == pattern(5000), p
    for args in (["logs", jid], ["logs", "-f", jid]):
        p = ctl(daemon, *args, user=bob)
        assert p.returncode == 1 and b"permission_denied" in p.stderr and p.stdout == b"", p
    # Root sees every jail.
    p = ctl(daemon, "logs", jid)
    assert p.returncode == 0 and p.stdout == pattern(5000), p


CLIENT = r'''
import json, socket, sys, time
path, mode, jail = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
f = s.makefile("rb")
def send(i, params, method="logs"):
    s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}).encode() + b"\n")
if mode == "waits":
    for i in range(1, int(sys.argv[4]) + 2):
        send(i, {"jail": jail}, "wait")
    print(f.readline().decode().strip(), flush=True)
elif mode == "pending":
    # Follow requests at the end of a running jail's output are held.
    offset = int(sys.argv[4])
    for i in range(1, int(sys.argv[5]) + 2):
        send(i, {"jail": jail, "offset": offset, "follow": True})
    print(f.readline().decode().strip(), flush=True)
else:
    # Many chunks asked for at once, none read for a while.
    n = int(sys.argv[4])
    for i in range(1, n + 1):
        send(i, {"jail": jail, "offset": 0})
    time.sleep(2)
    for i in range(n):
        line = f.readline()
        if not line:
            print(json.dumps({"closed_after": i}), flush=True)
            break
        m = json.loads(line)
        print(json.dumps({"id": m.get("id"), "ok": "result" in m, "error": m.get("error")}), flush=True)
'''


def member_client(accounts, who, daemon, *args):
    d = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        d.chmod(0o755)
        script = d / "client.py"
        script.write_text(CLIENT)
        uid, gid = accounts.ids(who)
        p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", sys.executable,
                            str(script), str(daemon.socket)] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=dl.CALL_TIMEOUT)
        assert p.returncode == 0, p
        return [json.loads(line) for line in p.stdout.splitlines()]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_follow_counts_as_pending(daemon, accounts):
    alice = accounts.ids("alice")
    jid = start(daemon, "output", 10, 600, user=alice)
    try:
        with daemon.conn() as c:
            while c.call("logs", {"jail": jid, "offset": 0})["next_offset"] < 10:
                pass
        (first,) = member_client(accounts, "alice", daemon, "pending", jid, 10, MAX_PENDING)
        # The one past the limit is answered first: the others are held.
        assert first["id"] == MAX_PENDING + 1, first
        assert first["error"]["data"]["reason"] == "limit_reached", first
        assert first["error"]["data"]["rule"] == "--max-pending-per-uid", first
        # That client has gone: its held requests are released although the
        # jail runs on (else alice could ask nothing more until it ends).
        pending_released(daemon, accounts, jid)
    finally:
        dl.run_ctl(daemon, "kill", jid, "KILL")
        dl.wait_report(daemon, jid)


def pending_released(daemon, accounts, jid):
    """Wait (bounded) until alice may ask something again."""
    deadline = time.monotonic() + dl.CALL_TIMEOUT
    while True:
        p = ctl(daemon, "status", jid, user=accounts.ids("alice"))
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        assert b"--max-pending-per-uid" in p.stderr, p
        time.sleep(0.1)
    assert p.returncode == 0, p


def test_closed_client_frees_its_waits(daemon, accounts):
    """The same for waits: a client that closed its socket (not just shut
    down writing) can read no answer; jailerd drops it with its requests
    at once rather than hold them, its epoll reporting the hang-up again
    and again, until the jail ends."""
    alice = accounts.ids("alice")
    jid = start(daemon, "sleep", 600, user=alice)
    try:
        (first,) = member_client(accounts, "alice", daemon, "waits", jid, MAX_PENDING)
        assert first["id"] == MAX_PENDING + 1, first
        assert first["error"]["data"]["rule"] == "--max-pending-per-uid", first
        pending_released(daemon, accounts, jid)
    finally:
        dl.run_ctl(daemon, "kill", jid, "KILL")
        dl.wait_report(daemon, jid)


def test_slow_reader_is_not_sent_more(daemon, accounts):
    """A member asks for 40 chunks of 64 KiB at once (3.4 MiB of replies)
    and reads nothing for a while: jailerd holds the requests it cannot
    send rather than queue their output past --max-buffer-per-uid (1 MiB
    here), and each gets its answer once the client reads."""
    alice = accounts.ids("alice")
    jid = finished(daemon, "output", CONSOLE_MAX, user=alice)
    n = 40
    lines = member_client(accounts, "alice", daemon, "slow", jid, n)
    assert all(m.get("ok") for m in lines) and len(lines) == n, (lines[-3:], daemon.log_text())
    assert sorted(m["id"] for m in lines) == list(range(1, n + 1))


def test_follow_survives_a_jailerd_restart():
    """Jails outlive jailerd, and so does their output: logs -f reconnects
    when jailerd is killed and started again, and goes on from where it
    was, without repeating or losing a byte."""
    d = dl.make_daemon("logs-restart")
    proc = None
    try:
        jid = unique_id("logs-restart")
        d.call("create", dl.jail_config(jid, "output", 1000, 600))
        proc = subprocess.Popen([str(dl.JAILERCTL), "--socket", str(d.socket), "logs", "-f", jid],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.read(1000) == pattern(1000)
        d.kill9()
        d.start()
        assert proc.poll() is None, proc.stderr.read()
        d.call("kill", {"jail": jid, "signal": "SIGKILL"})
        rest, err = proc.communicate(timeout=dl.CALL_TIMEOUT)
        assert proc.returncode == 0 and rest == b"", (proc.returncode, rest[:100], err)
        assert b"reconnecting" in err, err
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        d.cleanup()

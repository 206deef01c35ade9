# SPDX-License-Identifier: MIT
"""Malformed requests to jailerd: each gets the documented error (code,
data.reason, data.field), the connection keeps serving where the protocol
allows it, the daemon keeps serving, and nothing is left behind: no cgroup,
no state directory, no jail directory, no mount."""
import os
import socket
import time

import pytest

import daemonlib as dl
import jailtest
from daemonlib import req
from jailtest import PROBE, unique_id


@pytest.fixture(scope="module")
def daemon():
    yield from dl.serve(dl.make_daemon("badinput"))


def create_req(jail_id, **cfg):
    return req("create", dl.jail_config(jail_id, "exit", "0", **cfg))


# Each case: (name, line bytes without "\n", code, reason, field, id echoed?).
# field None: not checked; "": must be absent.
CASES = [
    ("not JSON", b"hello jailerd", -32700, "parse_error", "", False),
    ("truncated JSON", b'{"jsonrpc":"2.0","id":1,"method":"list"', -32700, "parse_error", "", False),
    ("text after the object", req("list") + b" trailing", -32700, "parse_error", "", False),
    ("invalid UTF-8", b'{"jsonrpc":"2.0","id":"\xff\xfe","method":"list"}', -32700, "parse_error", "", False),
    ("NUL byte", b'{"jsonrpc":"2.0",\x00"id":1,"method":"list"}', -32700, "parse_error", "", False),
    ("empty line", b"", -32700, "parse_error", "", False),
    ("an array (batch)", b"[" + req("list") + b"]", -32600, "invalid_request", "", False),
    ("a number", b"42", -32600, "invalid_request", "", False),
    ("a string", b'"list"', -32600, "invalid_request", "", False),
    ("no id", b'{"jsonrpc":"2.0","method":"list"}', -32600, "invalid_request", "id", False),
    ("null id", req("list", id=None), -32600, "invalid_request", "id", False),
    ("boolean id", req("list", id=True), -32600, "invalid_request", "id", False),
    ("fractional id", b'{"jsonrpc":"2.0","id":1.5,"method":"list"}', -32600, "invalid_request", "id", False),
    ("no jsonrpc", b'{"id":1,"method":"list"}', -32600, "invalid_request", "jsonrpc", True),
    ("jsonrpc 1.0", b'{"jsonrpc":"1.0","id":1,"method":"list"}', -32600, "invalid_request", "jsonrpc", True),
    ("no method", b'{"jsonrpc":"2.0","id":1}', -32600, "invalid_request", "method", True),
    ("method a number", b'{"jsonrpc":"2.0","id":1,"method":7}', -32600, "invalid_request", "method", True),
    ("params an array", req("wait", ["x"]), -32600, "invalid_request", "params", True),
    ("params a string", req("wait", "x"), -32600, "invalid_request", "params", True),
    ("unknown top-level member", req("list", extra=1), -32600, "invalid_request", "extra", True),
    ("unknown method", req("destroy", {"jail": "x"}), -32601, "method_not_found", "method", True),
    ("method in upper case", req("LIST"), -32601, "method_not_found", "method", True),
    ("wait without jail", req("wait", {}), -32602, "invalid_params", "jail", True),
    ("wait, jail a number", req("wait", {"jail": 5}), -32602, "invalid_params", "jail", True),
    ("wait, jail with a slash", req("wait", {"jail": "../etc"}), -32602, "invalid_params", "jail", True),
    ("wait, unknown member", req("wait", {"jail": "x", "timeout": 5}), -32602, "invalid_params", "timeout", True),
    ("kill, unknown signal", req("kill", {"jail": "x", "signal": "SIGFOO"}), -32602, "invalid_params", "signal", True),
    ("kill, signal 0", req("kill", {"jail": "x", "signal": 0}), -32602, "invalid_params", "signal", True),
    ("kill, signal a list", req("kill", {"jail": "x", "signal": [9]}), -32602, "invalid_params", "signal", True),
    ("list with a member", req("list", {"all": True}), -32602, "invalid_params", "all", True),
    ("version with a member", req("version", {"x": 1}), -32602, "invalid_params", "x", True),
    ("NUL escape in params", req("status", {"jail": "a\u0000b"}), -32602, "invalid_params", "jail", True),
]


def check_error(msg, code, reason, field, id_echoed, id=1):
    assert "error" in msg and "result" not in msg, msg
    err = msg["error"]
    assert err["code"] == code, msg
    assert isinstance(err["message"], str) and err["message"], msg
    data = err.get("data") or {}
    assert data.get("reason") == reason, msg
    if field == "":
        assert "field" not in data, msg
    elif field is not None:
        assert data.get("field") == field, msg
    assert msg["id"] == (id if id_echoed else None), msg


def still_serving(conn):
    """The connection (or, given the daemon, a new one) answers."""
    if isinstance(conn, dl.Daemon):
        with conn.conn() as c:
            return still_serving(c)
    assert conn.call("version", timeout=10)["protocol"] == 1


@pytest.mark.parametrize("name,line,code,reason,field,id_echoed", CASES, ids=[c[0] for c in CASES])
def test_bad_request(daemon, name, line, code, reason, field, id_echoed):
    with daemon.conn() as c:
        c.send_raw(line + b"\n")
        check_error(c.read_msg(timeout=10), code, reason, field, id_echoed)
        still_serving(c)
    still_serving(daemon)


def test_many_errors_on_one_connection(daemon):
    """Every bad line of the table, back to back on one connection: one
    error each, in order, then the connection still serves."""
    with daemon.conn() as c:
        c.send_raw(b"".join(case[1] + b"\n" for case in CASES))
        for name, _, code, reason, field, id_echoed in CASES:
            msg = c.read_msg(timeout=10)
            try:
                check_error(msg, code, reason, field, id_echoed)
            except AssertionError as e:
                raise AssertionError(f"{name}: {e}")
        still_serving(c)


def test_oversized_line(daemon):
    with daemon.conn() as c:
        big = b'{"jsonrpc":"2.0","id":1,"method":"list","params":{"x":"' + b"x" * (1 << 20) + b'"}}\n'
        c.send_raw(big)
        msg = c.read_msg(timeout=30)
        check_error(msg, -32600, "oversized", None, False)
        # the rest of the line was discarded, the next one is read
        still_serving(c)


def test_oversized_line_without_newline_then_close(daemon):
    with daemon.conn() as c:
        c.send_raw(b"x" * ((1 << 20) + 4096))
        msg = c.read_msg(timeout=30)
        check_error(msg, -32600, "oversized", None, False)
    still_serving(daemon)


def test_half_a_request_then_close(daemon):
    with daemon.conn() as c:
        c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"cre')
    still_serving(daemon)


def test_abrupt_close_with_pending_wait(daemon):
    jid = unique_id("abandon")
    with daemon.conn() as c:
        c.call("create", dl.jail_config(jid, "sleep", "1"))
        c.send("wait", {"jail": jid})
    # the waiter is gone; the daemon still reports to others
    rep = dl.wait_report(daemon, jid)
    assert rep["exit_code"] == 0
    daemon.assert_nothing_left(jid, state_too=False)


# --------------------------------------------------------------- create refused

CREATE_CASES = [
    # (name, config overrides, expected code, reason, field)
    ("memory below the minimum", {"limits": {"memory_bytes": 12}}, -32602, "invalid_config", "limits.memory_bytes"),
    ("misspelled limit", {"limits": {"memroy_bytes": 1 << 30}}, -32602, "invalid_config", "limits.memroy_bytes"),
    ("unknown key", {"colour": "blue"}, -32602, "invalid_config", "colour"),
    ("uid a string", {"uid": "root"}, -32602, "invalid_config", "uid"),
    ("namespaces not an object", {"namespaces": True}, -32602, "invalid_config", "namespaces"),
    ("relative exec_path", {"exec_path": "probe"}, -32602, "invalid_config", "exec_path"),
    ("bind dest outside the jail", {"bind_mounts": [{"source": "/etc", "dest": "/../etc"}]}, -32602,
     "invalid_config", "bind_mounts[0].dest"),
    ("env not pairs", {"env": [["A"]]}, -32602, "invalid_config", None),
    ("exec_args not strings", {"exec_args": [1, 2]}, -32602, "invalid_config", None),
]


def no_state_of(daemon, jid):
    daemon.assert_nothing_left(jid, state_too=True)
    with daemon.conn() as c:
        e = c.error("status", {"jail": jid})
        assert e.reason == "not_found", e


@pytest.mark.parametrize("name,over,code,reason,field", CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_create_refused(daemon, name, over, code, reason, field):
    jid = unique_id("refused")
    with daemon.conn() as c:
        c.send_raw(req("create", dl.jail_config(jid, "exit", "0", **over), id="c1") + b"\n")
        msg = c.reply("c1", timeout=30)
        check_error(msg, code, reason, field, True, id="c1")
        if field is None:
            assert msg["error"]["data"].get("field"), msg
        still_serving(c)
    no_state_of(daemon, jid)


def test_create_missing_fields(daemon):
    for params, field in (({}, None), ({"id": "x"}, "exec_path"), ({"exec_path": str(PROBE)}, "id")):
        with daemon.conn() as c:
            e = c.error("create", params)
        assert (e.code, e.reason) == (-32602, "invalid_config"), e
        assert e.field and (field is None or e.field == field), e


def test_create_bind_source_missing(daemon, tmp_path):
    """A valid config whose bind source does not exist: refused naming the
    field and the path, and nothing is left."""
    jid = unique_id("nobind")
    missing = tmp_path / "does-not-exist"
    with daemon.conn() as c:
        e = c.error("create", dl.jail_config(jid, "exit", "0",
                                             bind_mounts=[{"source": str(missing), "dest": "/data"}]))
    assert (e.code, e.reason) in ((-32602, "invalid_config"), (-32006, "spawn_failed")), e
    assert e.field == "bind_mounts[0].source", e
    assert str(missing) in e.message, e
    no_state_of(daemon, jid)


def test_create_exec_missing(daemon):
    jid = unique_id("noexec")
    with daemon.conn() as c:
        e = c.error("create", dl.jail_config(jid, exec_path="/nonexistent/vmm"))
    assert (e.code, e.reason) in ((-32602, "invalid_config"), (-32006, "spawn_failed")), e
    if e.code == -32006:
        assert e.data.get("step") and e.data.get("errno") == "ENOENT", e
    assert "/nonexistent/vmm" in e.message, e
    no_state_of(daemon, jid)


def test_create_duplicate_id(daemon):
    jid = unique_id("dup")
    with daemon.conn() as c:
        c.call("create", dl.jail_config(jid, "sleep", "30"))
        e = c.error("create", dl.jail_config(jid, "exit", "0"))
        assert (e.code, e.reason) == (-32002, "exists"), e
        c.call("kill", {"jail": jid, "signal": "SIGKILL"})
        assert c.call("wait", {"jail": jid})["signal"] == "SIGKILL"
    daemon.assert_nothing_left(jid, state_too=False)


def _send_with_fds(conn, line, fds):
    conn.send_raw(line + b"\n", fds)


def test_fds_with_wrong_method(daemon):
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        with daemon.conn() as c:
            _send_with_fds(c, req("list"), [fd, fd, fd])
            msg = c.read_msg(timeout=10)
            check_error(msg, -32602, "invalid_fds", None, True)
            still_serving(c)
    finally:
        os.close(fd)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_create_with_wrong_number_of_fds(daemon, n):
    jid = unique_id(f"fds{n}")
    fd = os.open("/dev/null", os.O_RDWR)
    try:
        with daemon.conn() as c:
            _send_with_fds(c, create_req(jid), [fd] * n)
            msg = c.read_msg(timeout=10)
            check_error(msg, -32602, "invalid_fds", None, True)
            still_serving(c)
    finally:
        os.close(fd)
    no_state_of(daemon, jid)


def test_daemon_holds_no_fds_of_refused_requests(daemon):
    """fds passed with refused requests are closed by the daemon: the write
    end of our pipe is not kept open there."""
    r, w = os.pipe()
    try:
        with daemon.conn() as c:
            _send_with_fds(c, req("version"), [w, w, w])
            c.read_msg(timeout=10)
            _send_with_fds(c, create_req(unique_id("fdleak"), limits={"memory_bytes": 1}), [w, w, w])
            c.read_msg(timeout=10)
        os.close(w)
        w = -1
        os.set_blocking(r, False)
        deadline = time.monotonic() + 10
        while True:
            try:
                assert os.read(r, 1) == b""  # EOF: no writer anywhere
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "jailerd kept a passed fd open"
                time.sleep(0.05)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_garbage_flood_then_serving(daemon):
    """Random bytes with and without newlines do not kill the daemon."""
    import random
    rnd = random.Random(1234)
    for _ in range(20):
        with daemon.conn() as c:
            blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 4096)))
            try:
                c.send_raw(blob + b"\n")
                c.read_msg(timeout=10)
            except (ConnectionError, OSError, ValueError):
                pass
    still_serving(daemon)


def test_nothing_left_after_all(daemon):
    """After every refusal above: no state of a refused jail, and the daemon
    is alive."""
    assert daemon.alive()
    with daemon.conn() as c:
        for e in c.call("list")["jails"]:
            assert "refused" not in e["jail"] and "nobind" not in e["jail"] and "noexec" not in e["jail"], e
    for m in daemon.mounts_under_dirs():
        raise AssertionError(f"a mount is left under the daemon's directories: {m}")


def test_limit_reached():
    """With --max-jails 1, a second running jail is refused with
    limit_reached and leaves nothing; once the first ends, a create works."""
    d = dl.make_daemon("limit", max_jails=1)
    try:
        if not d.offers("--max-jails"):
            pytest.skip("this jailerd has no --max-jails")
        first, second = unique_id("limit1"), unique_id("limit2")
        with d.conn() as c:
            c.call("create", dl.jail_config(first, "sleep", "30"))
            e = c.error("create", dl.jail_config(second, "exit", "0"))
            assert (e.code, e.reason) == (-32004, "limit_reached"), e
            d.assert_nothing_left(second)
            c.call("kill", {"jail": first, "signal": "SIGKILL"})
            c.call("wait", {"jail": first})
            c.call("create", dl.jail_config(second, "exit", "0"))
            assert c.call("wait", {"jail": second})["exit_code"] == 0
    finally:
        d.cleanup()

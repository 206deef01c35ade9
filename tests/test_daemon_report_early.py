# SPDX-License-Identifier: MIT
"""The exit report comes before the slow part of the tear-down: a client's
wait is answered once the jail's processes are gone, its cgroup's figures
read and what the client can see (cgroup, mountpoints in its jail root,
taps) removed, while its supervisor still removes the jail root jailerd
made (here with a run/ the jail filled with thousands of nested
directories, removed as their owner).
Meanwhile the id stays taken: a create with it gets `busy`, never a
collision; once the supervisor is done, the id is free again."""
import time

import pytest

import daemonlib as dl
import jailtest
from jailtest import unique_id

NEST = 12000


@pytest.fixture
def daemon():
    d = dl.make_daemon("early")
    yield d
    d.cleanup()


def supervisor_pid(daemon, jid):
    import json
    st = json.loads((daemon.state_dir / "jails" / jid / "state.json").read_text())
    return st["supervisor_pid"]


def test_report_before_tear_down_and_busy_id(daemon):
    jid = unique_id("early")
    with daemon.conn() as c:
        c.call("create", dl.jail_config(jid, "nest", str(NEST), "/run"))
        sup = supervisor_pid(daemon, jid)
        rep = c.call("wait", {"jail": jid}, timeout=300)
        # the report is here; the supervisor is still tearing the jail down
        tearing_down = jailtest.pid_alive(sup)
        busy = c.error("create", dl.jail_config(jid, "exit", "0")) if tearing_down else None
    assert rep["exit_code"] == 0, rep
    assert tearing_down, "the report came only after the supervisor had finished"
    assert busy.reason == "busy" and busy.code == -32011 and busy.field == "id", busy
    deadline = time.monotonic() + 300
    while jailtest.pid_alive(sup):
        assert time.monotonic() < deadline, daemon.log_text()
        time.sleep(0.05)
    # the supervisor is gone: the id is free for its owner again
    deadline = time.monotonic() + 30
    while True:
        with daemon.conn() as c:
            try:
                c.call("create", dl.jail_config(jid, "exit", "0"))
                break
            except dl.RpcError as e:
                assert e.reason == "busy" and time.monotonic() < deadline, (e, daemon.log_text())
        time.sleep(0.05)
    assert dl.wait_report(daemon, jid)["exit_code"] == 0
    daemon.assert_nothing_left(jid, state_too=False)


def test_jailerctl_run_rides_out_a_busy_id(daemon):
    """`jailerctl run` with the id of a jail whose supervisor is still
    tearing down does not fail with `busy`: it asks again until the id is
    free (bounded), then runs."""
    jid = unique_id("early-ctl")
    with daemon.conn() as c:
        c.call("create", dl.jail_config(jid, "nest", str(NEST), "/run"))
        sup = supervisor_pid(daemon, jid)
        c.call("wait", {"jail": jid}, timeout=300)
    assert jailtest.pid_alive(sup), "the report came only after the supervisor had finished"
    t0 = time.monotonic()
    p = dl.run_ctl(daemon, "run", "--id", jid, "--exec", dl.PROBE, "--", "exit", "7", timeout=120)
    took = time.monotonic() - t0
    assert p.returncode == 7, (p.returncode, p.stderr, daemon.log_text())
    assert not jailtest.pid_alive(sup)
    print(f"jailerctl run waited {took:.2f} s for the id")
    dl.wait_report(daemon, jid)
    daemon.assert_nothing_left(jid, state_too=False)

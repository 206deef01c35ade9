# SPDX-License-Identifier: MIT
"""Load: 200 concurrent clients, each on its own connection creating a
short jail and waiting for its report.  Every report arrives, with the
right exit code and a distinct pid, within a bounded time; nothing is lost
or left behind; the daemon still serves afterwards."""
import os
import threading
import time

import pytest

import daemonlib as dl
import jailtest
from jailtest import unique_id

N_CLIENTS = int(os.environ.get("JAILER_TEST_LOAD_CLIENTS", "200"))
BOUND_S = float(os.environ.get("JAILER_TEST_LOAD_SECONDS", "300"))


@pytest.fixture(scope="module")
def daemon():
    yield from dl.serve(dl.make_daemon("load", max_jails=N_CLIENTS + 56))


def _client(daemon, i, jid, results, barrier):
    try:
        with dl.Conn(daemon.socket, timeout=BOUND_S) as c:
            barrier.wait(timeout=60)
            t0 = time.monotonic()
            res = c.call("create", dl.jail_config(jid, "exit", str(i % 200)))
            t1 = time.monotonic()
            rep = c.call("wait", {"jail": jid})
            results[i] = ("ok", res, rep, t1 - t0)
    except Exception as e:  # noqa: BLE001 - every failure is reported below
        results[i] = ("error", repr(e))


def test_200_concurrent_clients(daemon):
    prefix = unique_id("load")
    ids = [f"{prefix}-{i}" for i in range(N_CLIENTS)]
    results = [None] * N_CLIENTS
    barrier = threading.Barrier(N_CLIENTS)
    threads = [threading.Thread(target=_client, args=(daemon, i, ids[i], results, barrier), daemon=True)
               for i in range(N_CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, BOUND_S - (time.monotonic() - t0)))
    elapsed = time.monotonic() - t0

    missing = [ids[i] for i, r in enumerate(results) if r is None]
    errors = [(ids[i], r[1]) for i, r in enumerate(results) if r and r[0] == "error"]
    assert not missing, f"{len(missing)} reports never arrived in {BOUND_S}s: {missing[:10]}"
    assert not errors, f"{len(errors)} clients failed: {errors[:10]}\n{daemon.log_text()}"

    pids = set()
    for i, (_, res, rep, _) in enumerate(results):
        dl.assert_report_shape(rep, ids[i])
        assert rep["exit_code"] == i % 200, (ids[i], rep)
        assert rep["pid"] == res["pid"]
        pids.add(res["pid"])
    assert len(pids) == N_CLIENTS

    lat = sorted(r[3] for r in results)
    print(f"\n{N_CLIENTS} clients in {elapsed:.1f}s; create latency p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
          f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.0f} ms")

    with daemon.conn() as c:
        assert c.call("version")["protocol"] == 1
    for jid in ids:
        daemon.assert_nothing_left(jid, state_too=False)


def test_concurrent_jailerctl_runs(daemon):
    """The same through jailerctl processes (a smaller number, they are
    processes): every one exits with its jail's status."""
    import subprocess
    n = min(N_CLIENTS, 50)
    prefix = unique_id("ctlload")
    procs = []
    for i in range(n):
        procs.append(subprocess.Popen([str(dl.JAILERCTL), "--socket", str(daemon.socket), "run",
                                       "--id", f"{prefix}-{i}", "--exec", str(dl.PROBE), "--", "exit", str(i)],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + BOUND_S
    bad = []
    for i, p in enumerate(procs):
        try:
            _, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            bad.append((i, "timeout", err))
            continue
        if p.returncode != i:
            bad.append((i, p.returncode, err))
    assert not bad, bad[:10]

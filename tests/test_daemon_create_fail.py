# SPDX-License-Identifier: MIT
"""A create that fails after jailerd made the jail's directory and its
run/ (here: its supervisor dies before the jail starts) leaves nothing
behind, and the next create with that id is not refused as a collision."""
import os
import tempfile

import test_daemon_e2e as dt
from jailtest import unique_id


def test_failed_create_leaves_nothing():
    top = tempfile.mkdtemp(dir="/tmp", prefix="jailer-createfail-")
    sup = os.path.join(top, "supervisor")
    with open(sup, "w") as f:
        f.write("#!/bin/sh\nexit 3\n")
    os.chmod(sup, 0o755)
    d = dt.make_daemon("createfail", extra=("--supervisor", sup))
    try:
        before = d.state_entries()
        jid = unique_id("cfail")
        for attempt in range(2):
            with d.conn() as c:
                err = c.error("create", dt.jail_config(jid, "exit", "0"))
            assert err.reason == "internal" and "status 3" in err.message, (attempt, err)
            assert not d.jail_dirs(), (attempt, d.jail_dirs())
            assert d.state_entries() == before, (attempt, d.state_entries())
            assert not d.mounts_under_dirs(), (attempt, d.mounts_under_dirs())
            assert not d.cgroups_of(jid), (attempt, d.cgroups_of(jid))
        with d.conn() as c:
            assert c.call("version")["protocol"] == 1
    finally:
        d.cleanup()
        os.unlink(sup)
        os.rmdir(top)

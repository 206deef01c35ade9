# SPDX-License-Identifier: MIT
"""pytest fixtures shared by the system tests (run as root from the
repository root: `sudo /usr/bin/pytest-3 tests/`).  The helpers themselves
live in jailtest.py."""
import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The daemon tests' harness asserts too: show the compared values, as in a test.
pytest.register_assert_rewrite("daemonlib")
import jailtest  # noqa: E402


def pytest_report_header(config):
    return [f"jailer build: {jailtest.BUILD}",
            f"cgroup: session parent {jailtest.SESSION_CGROUP_PARENT!r}, "
            f"forced version {jailtest.CGROUP_VERSION or '(auto)'}"]


def pytest_terminal_summary(terminalreporter):
    """Per test file: passed, failed, skipped, on the kernel that ran them
    (what a tier proved where, at a glance)."""
    counts = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            path = getattr(rep, "nodeid", "").split("::")[0]
            if not path:
                continue
            kind = "failed" if outcome == "error" else outcome
            c = counts.setdefault(path, {"passed": 0, "failed": 0, "skipped": 0})
            # a setup error and a teardown error of one test count once
            if outcome == "error" and rep.when == "teardown" and c["passed"]:
                c["passed"] -= 1
            c[kind] += 1
    if not counts:
        return
    tw = terminalreporter
    tw.write_sep("-", f"per file, kernel {os.uname().release}")
    for path in sorted(counts):
        c = counts[path]
        tw.write_line(f"{path:<40} passed {c['passed']:>4}  failed {c['failed']:>3}  skipped {c['skipped']:>3}")


@pytest.fixture(scope="session", autouse=True)
def _session_cgroups():
    """Remove the session's cgroup parent from every hierarchy at the end."""
    yield
    if os.geteuid() == 0:
        jailtest.remove_session_cgroups()


@pytest.fixture(scope="session")
def built():
    """Skip when not root (with the reason); fail when the build is missing."""
    reason = jailtest.why_not_runnable()
    if reason:
        pytest.skip(reason)
    missing = jailtest.missing_binaries()
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (meson setup {jailtest.BUILD.name} && "
                    f"ninja -C {jailtest.BUILD.name}, or set JAILER_BUILD)", pytrace=False)
    return jailtest.BUILD


@pytest.fixture
def jail(built, tmp_path, request):
    """A per-test jail: unique id, a jail root under the test's own temporary
    directory (not created: jailer creates it), the session's cgroup parent."""
    j = jailtest.Jail(tmp_path, request.node.name.replace("test_", "", 1))
    yield j
    j.cleanup()


@pytest.fixture
def host_marker():
    """A file in the host's /tmp that no jail may see."""
    p = Path("/tmp") / f"jailer-test-marker-{uuid.uuid4().hex}"
    p.write_text("host secret\n")
    yield p
    p.unlink()


@pytest.fixture
def shared_dir(tmp_path):
    """A host directory the jail user may write to, for :rw binds."""
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(0o777)
    (d / "existing").write_text("from the host\n")
    (d / "existing").chmod(0o666)
    return d

# SPDX-License-Identifier: MIT
"""The daemon's files call one way (daemon/daemon.h, jd_hooks):
jailerd.c -> server.c -> jails.c -> events.c.  A call back up the chain —
the jail table calling the server, the server calling jailerd.c — goes
through the hooks jailerd.c fills in, never by name.  Checked on the
sources, so that a shortcut cannot creep back in."""
import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "daemon"
CHAIN = ["jailerd.c", "server.c", "jails.c", "events.c"]


def code(path):
    """The file without comments and string literals."""
    text = path.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def defined(path):
    """The functions a file defines for the others (not static)."""
    return set(re.findall(r"^(?!static)[a-z_][\w \*]*?\b(jd_\w+)\s*\([^;]*?\)\s*\{", code(path), re.M | re.S))


def called(path):
    return set(re.findall(r"\b(jd_\w+)\s*\(", code(path)))


def test_each_file_calls_only_down_the_chain():
    defs = {name: defined(SRC / name) for name in CHAIN}
    assert all(defs.values()), defs
    back = []
    for i, name in enumerate(CHAIN):
        calls = called(SRC / name) - defs[name]
        for upper in CHAIN[:i]:
            for fn in sorted(calls & defs[upper]):
                back.append(f"{name} calls {fn}() of {upper}")
    assert not back, "calls up the chain (use the hooks in daemon.h):\n" + "\n".join(back)


def test_the_check_sees_a_call_up_the_chain(tmp_path):
    """The check itself: a jails.c that called the server by name fails it."""
    bad = tmp_path / "jails.c"
    bad.write_text((SRC / "jails.c").read_text() + "\nstatic void x(jd_client *c) { jd_client_send(c, NULL); }\n")
    assert "jd_client_send" in called(bad) & defined(SRC / "server.c")

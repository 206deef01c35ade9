# SPDX-License-Identifier: MIT
"""One member of the jailer group must not be able to deny jailerd to
another, nor to root (PROTOCOL.md, "Limits").

Two temporary members of the socket's group, A (the attacker) and B (the
victim), against a private jailerd with the built-in default policy.  Each
attack is bounded in count and time, scaled down from the figures that were
measured by hand, and run by a process of A's own uid.  While A holds what
it took, B's version, list and a jail of B's (create + wait, through
jailerctl run) are served, and so is root; when A has gone, jailerd's open
fds (/proc/PID/fd) and its RSS come back near their baseline (FD_SLACK fds,
RSS_SLACK bytes).  The time bounds are availability bounds (was B served at
all), not performance figures.

Options a jailerd does not offer are left out, so that this file can be run
against an older jailerd to see each attack succeed there.
"""
import json
import os
import select
import subprocess
import sys
import time

import pytest

import daemonlib as dl
import jailtest
from jailtest import unique_id

# Members name the probe: a copy they can reach wherever the checkout is.
PROBE = jailtest.for_others(jailtest.PROBE)

MIB = 1024 * 1024
FD_SLACK = 2                # fds over the baseline once A has gone
RSS_SLACK = 8 * MIB         # RSS over the baseline once A has gone
SERVE_TIMEOUT = 5           # B's version/list, root's version: answered within
JAIL_TIMEOUT = 20           # B's jail: created, run and waited for within
SETTLE_TIMEOUT = 15         # for fds and RSS to come back
JAIL_FDS = 32               # the jails' RLIMIT_NOFILE: below a jailerd run with few fds


def _sanitized():
    try:
        p = subprocess.run(["ldd", str(dl.JAILERD)], capture_output=True, text=True, timeout=10)
        return "libasan" in p.stdout
    except OSError:
        return False


# AddressSanitizer keeps freed memory in quarantine (256 MiB): RSS says
# nothing about what jailerd holds, so the RSS bounds are not checked there.
SANITIZED = _sanitized()


def assert_rss_below(daemon, start, limit, what):
    if SANITIZED:
        print(f"RSS bound not checked ({what}): jailerd is a sanitizer build")
        return
    grown = daemon.rss() - start
    assert grown < limit, f"{what}: {grown / MIB:.0f} MiB of jailerd's memory (bound {limit / MIB:.0f} MiB)"

# The attacker, run as A.  It takes what its mode says, prints one JSON line
# saying what it got, and holds it all until its stdin closes (or a "next"
# line asks for the next step, for modes that have one).
ATTACKER = r'''
import array, json, os, socket, sys, time

mode, path = sys.argv[1], sys.argv[2]
args = [int(a) if a.lstrip("-").isdigit() else a for a in sys.argv[3:]]
held = []

def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
    return s

def read_line(s, timeout):
    """One line from s: its JSON, "eof", or "timeout"."""
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return "eof"
            buf += chunk
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return "error " + e.__class__.__name__
    return json.loads(buf.split(b"\n")[0])

def rule_of(m):
    return m["error"].get("data", {}).get("rule") if isinstance(m, dict) and "error" in m else None

def request(method, id, params=None):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"

def wait_step():
    line = sys.stdin.readline()
    return line.strip()

if mode == "fds":
    # nconn connections, each sending npieces one-byte pieces of a line
    # with three fds each, and no newline; then, on "next", the newline.
    nconn, npieces = args
    null = os.open("/dev/null", os.O_RDONLY)
    fds = array.array("i", [null] * 3)
    sent = failed = 0
    conns = [connect() for _ in range(nconn)]
    first = b'{"jsonrpc":"2.0","id":1,"method":"version"'
    for i in range(npieces):
        for s in conns:
            try:
                s.sendmsg([first if i == 0 else b" "], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                sent += 1
            except OSError:
                failed += 1
    say({"sent": sent, "failed": failed})
    if wait_step() == "next":
        replies = []
        for s in conns:
            try:
                s.sendall(b"}\n")
            except OSError:
                pass
            replies.append(read_line(s, 10))
        say({"replies": replies})
        wait_step()

elif mode == "conns":
    # n connections, then a version on each: who was served, who refused
    # (and by which rule), who left waiting (still queued: "pending")?
    import select
    n, = args
    conns = []
    for _ in range(n):
        try:
            conns.append(connect())
        except OSError:
            pass
    for i, s in enumerate(conns):
        try:
            s.sendall(request("version", i))
        except OSError:
            pass
    bufs = {s: b"" for s in conns}
    open_ = set(conns)
    served, rules, other = 0, {}, []
    deadline = time.monotonic() + 5
    poller = select.poll()
    by_fd = {s.fileno(): s for s in conns}
    for s in conns:
        poller.register(s, select.POLLIN)
    while open_ and time.monotonic() < deadline:
        ready = [by_fd[fd] for fd, _ in poller.poll(200)]
        for s in ready:
            poller.unregister(s)
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            bufs[s] += chunk
            if b"\n" in bufs[s] or not chunk:
                open_.discard(s)
                if b"\n" not in bufs[s]:
                    other.append("eof")
                    continue
                m = json.loads(bufs[s].split(b"\n")[0])
                if "result" in m:
                    served += 1
                elif rule_of(m):
                    rules[rule_of(m)] = rules.get(rule_of(m), 0) + 1
                else:
                    other.append(m)
    say({"connected": len(conns), "served": served, "rules": rules, "pending": len(open_), "other": other[:5]})
    wait_step()

elif mode == "waits":
    # nhuge waits of jail with ids of idsize bytes over nconn connections,
    # then nsmall waits with small ids on one more connection.
    jail, nconn, nhuge, idsize, nsmall = args
    conns = [connect() for _ in range(nconn)]
    for i in range(nhuge):
        big = ("%d-" % i) + "x" * idsize
        conns[i % nconn].sendall(request("wait", big, {"jail": jail}))
    replies = []
    for s in conns:
        deadline = time.monotonic() + 5
        got = 0
        s.settimeout(0.5)
        buf = b""
        while got < nhuge // nconn and time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            got = buf.count(b"\n")
        replies += [json.loads(l) for l in buf.split(b"\n") if l.strip()]
    huge_rules = {}
    for m in replies:
        huge_rules[str(rule_of(m))] = huge_rules.get(str(rule_of(m)), 0) + 1
    s = connect()
    for i in range(nsmall):
        s.sendall(request("wait", i, {"jail": jail}))
    small = []
    s.settimeout(0.5)
    buf = b""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if buf.count(b"\n") > 0:
                break
            continue
        if not chunk:
            break
        buf += chunk
    small = [json.loads(l) for l in buf.split(b"\n") if l.strip()]
    small_rules = {}
    for m in small:
        small_rules[str(rule_of(m))] = small_rules.get(str(rule_of(m)), 0) + 1
    say({"huge_replies": len(replies), "huge_rules": huge_rules, "huge_ids_echoed": sum(1 for m in replies if m.get("id")),
         "small_replies": len(small), "small_rules": small_rules})
    wait_step()

elif mode == "half":
    # nconn connections, each sending size bytes of a line and no newline.
    nconn, size = args
    piece = b'{"jsonrpc":"2.0","id":1,"method":"version","params":{"x":"' + b"x" * (size - 60)
    conns = [connect() for _ in range(nconn)]
    closed = 0
    for s in conns:
        s.settimeout(10)
        try:
            s.sendall(piece)
        except OSError:
            closed += 1
    time.sleep(1)
    rules = {}
    for s in conns:
        s.setblocking(False)
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            closed += 1
            continue
        for l in data.split(b"\n"):
            if l.strip():
                r = str(rule_of(json.loads(l)))
                rules[r] = rules.get(r, 0) + 1
    say({"sent": nconn, "send_failed": closed, "rules": rules})
    wait_step()

elif mode == "idle":
    # one connection that sends nothing, one with a wait of a running jail:
    # which does the daemon close within limit seconds?
    jail, limit = args
    idle = connect()
    busy = connect()
    busy.sendall(request("wait", 1, {"jail": jail}))
    t0 = time.monotonic()
    first = read_line(idle, limit)
    after = read_line(idle, 2) if isinstance(first, dict) else first
    idle_closed = time.monotonic() - t0
    busy.setblocking(False)
    try:
        data = busy.recv(65536)
        busy_state = "eof" if data == b"" else data.decode(errors="replace")[:200]
    except BlockingIOError:
        busy_state = "open"
    say({"idle_first": first, "idle_then": after, "idle_closed_after": idle_closed, "busy": busy_state})
    wait_step()
'''


class Attacker:
    """ATTACKER in a process of uid A (setpriv), ended by pid."""

    def __init__(self, accounts, who, daemon, mode, *args):
        uid, gid = accounts.ids(who)
        argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
                sys.executable, "-c", ATTACKER, mode, str(daemon.socket)] + [str(a) for a in args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def result(self, timeout=120):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            self.stop()
            raise AssertionError(f"the attacker said nothing within {timeout}s: {self.proc.stderr.read()}")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise AssertionError(f"the attacker failed: {self.proc.stderr.read()}")
        return json.loads(line)

    def next(self):
        self.proc.stdin.write("next\n")
        self.proc.stdin.flush()

    def stop(self):
        """A goes: everything it held is closed."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# --------------------------------------------------------------- fixtures and checks

@pytest.fixture(scope="module")
def accounts():
    yield from dl.module_accounts("prlimit")


class LimitedDaemon(dl.Daemon):
    """A private jailerd with the built-in default policy, the limits asked
    for (when it has the option) and, when nofile is given, that many fds."""

    def __init__(self, name, accounts, nofile=None, **limits):
        super().__init__(name, group=accounts.group)
        self.nofile = nofile
        for opt, val in limits.items():
            opt = "--" + opt.replace("_", "-")
            if self.offers(opt):
                self.extra += [opt, str(val)]

    def argv(self):
        a = super().argv()
        if self.nofile:
            # prlimit execs jailerd: the pid stays jailerd's
            a = ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--"] + a
        return a

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@pytest.fixture
def make_daemon(accounts):
    made = []

    def make(name, **kw):
        d = LimitedDaemon(name, accounts, **kw)
        made.append(d)
        d.start()
        return d

    yield make
    for d in made:
        try:
            assert d.alive(), f"jailerd died during the test:\n{d.log_text()}"
        finally:
            d.cleanup()


def ctl(daemon, accounts, who, *args, timeout=SERVE_TIMEOUT):
    return dl.run_ctl(daemon, *args, user=accounts.ids(who), timeout=timeout)


def victim_served(daemon, accounts, what):
    """B's version and list, a jail of B's run to its end, root's version:
    each served, within an availability bound."""
    try:
        p = ctl(daemon, accounts, "bob", "version")
        assert p.returncode == 0, f"{what}: B's version refused: {p.stderr}"
        p = ctl(daemon, accounts, "bob", "--json", "list")
        assert p.returncode == 0, f"{what}: B's list refused: {p.stderr}"
        jid = unique_id("victim")
        p = ctl(daemon, accounts, "bob", "run", "--id", jid, "--exec", PROBE, "--max-fds", JAIL_FDS,
                "--", "exit", "0", timeout=JAIL_TIMEOUT)
        assert p.returncode == 0, f"{what}: B's jail did not run: {p.stderr}"
        with dl.Conn(daemon.socket, timeout=SERVE_TIMEOUT) as c:
            assert c.call("version")["protocol"] == 1
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{what}: B was not served within {e.timeout}s:\n{daemon.log_text()}")
    except (OSError, ConnectionError) as e:
        raise AssertionError(f"{what}: root was not served: {e}\n{daemon.log_text()}")


def baseline(daemon, accounts):
    """Warm up (the paths B and root take), then jailerd's fds and RSS."""
    victim_served(daemon, accounts, "before the attack")
    time.sleep(0.3)
    return daemon.fds(), daemon.rss()


def assert_back_to_baseline(daemon, base):
    fds0, rss0 = base
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        fds, rss = daemon.fds(), daemon.rss()
        if fds <= fds0 + FD_SLACK and (SANITIZED or rss <= rss0 + RSS_SLACK):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"after A went jailerd holds {fds} fds (baseline {fds0}) and "
                                 f"{rss / MIB:.1f} MiB RSS (baseline {rss0 / MIB:.1f} MiB)")
        time.sleep(0.2)


def start_jail(daemon, accounts, who, *probe_args):
    jid = unique_id(who)
    p = ctl(daemon, accounts, who, "create", "--id", jid, "--exec", PROBE, "--max-fds", JAIL_FDS,
            "--", *probe_args, timeout=JAIL_TIMEOUT)
    assert p.returncode == 0, (p, daemon.log_text())
    return jid


def kill_jail(daemon, jid):
    with daemon.conn() as c:
        try:
            c.call("kill", {"jail": jid, "signal": "SIGKILL"})
            c.call("wait", {"jail": jid})
        except dl.RpcError:
            pass


def log_lines(daemon, needle):
    try:
        return sum(1 for l in daemon.log_path.read_text(errors="replace").splitlines() if needle in l)
    except OSError:
        return 0


# --------------------------------------------------------------- the attacks

def test_fd_flood(make_daemon, accounts):
    """Pieces of a line with three fds each, no newline: jailerd keeps at
    most the first piece's three per connection and closes the others at
    once.  Measured by hand: 7000 one-byte messages with 3 fds each took a
    jailerd with 20000 fds to its limit, then accept() spun on EMFILE.  Here
    the same against a jailerd with 256 fds: 4 connections x 100 pieces
    would need 1200."""
    d = make_daemon("dos-fds", nofile=256)
    base = baseline(d, accounts)
    a = Attacker(accounts, "alice", d, "fds", 4, 100)
    try:
        got = a.result()
        assert got["sent"] > 0, got
        held = d.fds()
        assert held <= base[0] + 4 * 4 + FD_SLACK, \
            f"jailerd holds {held} fds with A's pieces pending (baseline {base[0]})"
        victim_served(d, accounts, "fds held by A's unfinished lines")
        # the line ends: its request is refused, with the reason
        a.next()
        replies = a.result()["replies"]
        for m in replies:
            assert isinstance(m, dict) and m["error"]["data"]["reason"] == "invalid_fds", replies
    finally:
        a.stop()
    victim_served(d, accounts, "after A went")
    n = log_lines(d, "accept")
    assert n <= 50, f"{n} accept errors logged: they flood the log"
    assert_back_to_baseline(d, base)


def test_accept_backs_off_when_out_of_fds(make_daemon, accounts):
    """When jailerd has no fd left for a new connection, accept() fails with
    EMFILE and the connection stays queued: jailerd must rest the listening
    socket, not retry at once (measured by hand: 10 M log lines in 20 s),
    and serve again once fds are free.  A jailerd with 64 fds, A opening
    100 connections (within its own share of the table)."""
    d = make_daemon("dos-emfile", nofile=64)
    base = baseline(d, accounts)
    a = Attacker(accounts, "alice", d, "conns", 100)
    try:
        a.result()
        time.sleep(2)
        n = log_lines(d, "accept")
        assert n <= 20, f"{n} accept errors logged in 2 s"
    finally:
        a.stop()
    victim_served(d, accounts, "after A went")
    assert_back_to_baseline(d, base)


def test_connection_flood(make_daemon, accounts):
    """A opens more connections than its share: its own are refused past
    --max-clients-per-uid (default 128), B and root are still let in.
    Measured by hand: 4096 idle connections of A locked out B and root;
    here a table of 200 and 250 connections."""
    d = make_daemon("dos-conns", max_clients=200)
    base = baseline(d, accounts)
    a = Attacker(accounts, "alice", d, "conns", 250)
    try:
        got = a.result()
        assert got["served"] <= 128, got
        assert got["rules"].get("--max-clients-per-uid", 0) >= 250 - 128, got
        victim_served(d, accounts, "A holding its connections")
    finally:
        a.stop()
    assert_back_to_baseline(d, base)


def test_root_reserve(make_daemon, accounts):
    """With the whole table taken, root still gets in (--root-reserve)."""
    d = make_daemon("dos-root", max_clients=16, max_clients_per_uid=16)
    base = baseline(d, accounts)
    a = Attacker(accounts, "alice", d, "conns", 20)
    try:
        got = a.result()
        assert got["served"] == 16, got
        for _ in range(3):
            with dl.Conn(d.socket, timeout=SERVE_TIMEOUT) as c:
                try:
                    assert c.call("version")["protocol"] == 1
                except (OSError, ConnectionError, dl.RpcError) as e:
                    raise AssertionError(f"root locked out by a full table: {e}")
        # B is refused while the table is full, and told why
        p = ctl(d, accounts, "bob", "version")
        assert p.returncode != 0, p
    finally:
        a.stop()
    victim_served(d, accounts, "after A went")
    assert_back_to_baseline(d, base)


def test_pending_waits_with_huge_ids(make_daemon, accounts):
    """Waits of a running jail of A's with 256 KiB ids are refused at once
    (--max-id-length), never kept; small-id waits stop at
    --max-pending-per-uid (64 here).  Measured by hand: 1500 waits with
    1 MiB ids took jailerd to 1.5 GB, not given back after A went; here
    200 waits with 256 KiB ids (50 MiB) and 100 small ones."""
    d = make_daemon("dos-waits", max_pending_per_uid=64)
    base = baseline(d, accounts)
    jid = start_jail(d, accounts, "alice", "sleep", "120")
    rss_before = d.rss()
    a = Attacker(accounts, "alice", d, "waits", jid, 4, 200, 256 * 1024, 100)
    try:
        got = a.result()
        assert_rss_below(d, rss_before, 24 * MIB, f"A's waits {got}")
        assert got["huge_rules"].get("--max-id-length") == 200 and got["huge_ids_echoed"] == 0, got
        assert got["small_rules"].get("--max-pending-per-uid") == 100 - 64, got
        victim_served(d, accounts, "A's waits pending")
    finally:
        a.stop()
        kill_jail(d, jid)
    assert_back_to_baseline(d, base)


def test_half_lines(make_daemon, accounts):
    """Unfinished lines: what one uid makes jailerd buffer is capped
    (--max-buffer-per-uid, 16 MiB by default); the connection that goes
    past it is closed.  Measured by hand: 300 unfinished 1 MiB lines cost
    311 MB; here 64 (64 MiB)."""
    d = make_daemon("dos-half")
    base = baseline(d, accounts)
    a = Attacker(accounts, "alice", d, "half", 64, MIB - 16)
    try:
        got = a.result()
        assert_rss_below(d, base[1], 32 * MIB, f"A's unfinished lines {got}")
        assert got["rules"].get("--max-buffer-per-uid", 0) > 0 or got["send_failed"] > 0, got
        victim_served(d, accounts, "A's unfinished lines")
    finally:
        a.stop()
    assert_back_to_baseline(d, base)


def test_idle_connection_closed(make_daemon, accounts):
    """A connection with nothing pending that sends nothing is closed after
    --idle-timeout (1 s here); one with a pending wait is kept."""
    d = make_daemon("dos-idle", idle_timeout=1)
    base = baseline(d, accounts)
    jid = start_jail(d, accounts, "alice", "sleep", "120")
    a = Attacker(accounts, "alice", d, "idle", jid, 10)
    try:
        got = a.result()
        first = got["idle_first"]
        assert isinstance(first, dict) and first["error"]["data"].get("rule") == "--idle-timeout", got
        assert got["idle_then"] == "eof", got
        assert got["busy"] == "open", got
    finally:
        a.stop()
        kill_jail(d, jid)
    victim_served(d, accounts, "after A went")
    assert_back_to_baseline(d, base)

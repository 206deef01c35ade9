# SPDX-License-Identifier: MIT
"""What a member of jailerd's group names and passes is checked once, on the
object that is then used.

  * stdio: a directory or an O_PATH fd passed as the jail's stdin would let
    the jail openat() into the host; they are refused, naming the fd and what
    it is, while pipes, sockets, regular files and /dev/null are accepted.
  * the seccomp profile is opened once, as the member, non-blocking, and the
    supervisor reads that fd: a FIFO is refused at once (it used to hang the
    supervisor for good); a root-only file is refused the same way whether
    it exists or not, and no byte of it ever reaches an error message; a
    member swapping its profile's directory with a symlink to root's
    secret, while jails start, never makes root read the secret.
  * the environment: LD_PRELOAD and the rest of the loader's variables are
    refused to a member under the default policy (with them, exec_paths
    would name a program but not the code that runs).

A private jailerd with the built-in default policy; temporary members made
for the module (daemonlib.Accounts) and deleted at the end.  What a
member must reach lives in a per-test mkdtemp(dir="/tmp"), mode 0755.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

import daemonlib as dl
import jailtest
from jailtest import BUILD, unique_id

# Members name the probe and run the racer: copies they can reach.
PROBE = jailtest.for_others(jailtest.PROBE)

RACER = BUILD / "tests" / "race" / "racer"
RACE_TRIES = int(os.environ.get("JAILER_TEST_PROFILE_RACE_TRIES", "40"))
# A bound on a request that must be answered at once, so that a hang fails
# the test instead of stalling the suite; not a timing assertion.
ANSWER_BOUND_S = 30


@pytest.fixture(scope="module")
def accounts():
    yield from dl.module_accounts()


@pytest.fixture(scope="module")
def profiles_top():
    """Where every test's arena lies: the one directory whose profiles the
    policy lists (a client may name only the operator's profiles)."""
    top = tempfile.mkdtemp(dir="/tmp", prefix="jlt-tenant-")
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon(accounts, profiles_top):
    """The built-in default policy, but for the profiles it lets members
    name: those under profiles_top (the default lets them name none)."""
    policy = os.path.join(profiles_top, "jailerd.json")
    with open(policy, "w") as f:
        json.dump({"seccomp": {"profiles": [profiles_top + "/"]}}, f)
    d = dl.Daemon("tenant-paths", group=accounts.group, extra=("--config", policy))
    yield from dl.serve(d.start())


@pytest.fixture
def arena(accounts, profiles_top):
    """A directory of the test's own that every uid may search; alice owns
    arena/alice."""
    top = tempfile.mkdtemp(dir=profiles_top, prefix="arena-")
    os.chmod(top, 0o755)
    mine = os.path.join(top, "alice")
    os.mkdir(mine, 0o755)
    uid, gid = accounts.ids("alice")
    os.chown(mine, uid, gid)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def ctl(daemon, accounts, who, *args, **kw):
    return dl.run_ctl(daemon, *args, user=accounts.ids(who), **kw)


def as_user(accounts, who, fn):
    """Run fn() in a child process as who (uid, gid, its groups)."""
    uid, gid = accounts.ids(who)
    pid = os.fork()
    if pid == 0:
        try:
            os.initgroups(accounts.names[who], gid)
            os.setgid(gid)
            os.setuid(uid)
            fn()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"{fn} failed as {who}"


def still_serves(daemon, accounts):
    """The daemon answers another member at once."""
    p = ctl(daemon, accounts, "bob", "version", timeout=ANSWER_BOUND_S)
    assert p.returncode == 0, (p, daemon.log_text())


# --------------------------------------------------------------- (a) stdio

def run_with_stdin(daemon, accounts, stdin):
    jid = unique_id("alice-stdin")
    p = ctl(daemon, accounts, "alice", "--json", "run", "--id", jid, "--exec", PROBE, "--", "report",
            stdin=stdin, timeout=ANSWER_BOUND_S)
    return jid, p


@pytest.mark.parametrize("kind", ["directory", "O_PATH directory", "O_PATH file"])
def test_stdin_directory_or_o_path_refused(daemon, accounts, arena, kind):
    """The fd is opened by the member itself: it could pass it, but its jail
    must not get a handle into the host's tree."""
    path = arena if kind.endswith("directory") else "/etc/hostname"
    flags = os.O_PATH if kind.startswith("O_PATH") else os.O_RDONLY | os.O_DIRECTORY
    fd = os.open(path, flags)
    try:
        jid, p = run_with_stdin(daemon, accounts, fd)
    finally:
        os.close(fd)
    assert p.returncode != 0, f"a jail got {kind} as stdin: {p}"
    assert "invalid_fds" in p.stderr and "stdin" in p.stderr, p.stderr
    what = "O_PATH" if kind.startswith("O_PATH") else "a directory"
    assert what in p.stderr, p.stderr
    daemon.assert_nothing_left(jid)
    still_serves(daemon, accounts)


def test_stdin_accepted_kinds(daemon, accounts, arena):
    """Pipes, sockets, regular files, a terminal and /dev/null pass, and the
    jail gets them as its fd 0."""
    reg = os.path.join(arena, "alice", "input")
    with open(reg, "w") as f:
        f.write("hello\n")
    a, b = socket.socketpair()
    r, w = os.pipe()
    pty_master, pty_slave = os.openpty()
    os.chown(os.ttyname(pty_slave), *accounts.ids("alice"))
    cases = {
        "terminal": (pty_slave, ""),
        "pipe": (r, "pipe:["),
        "socket": (a.fileno(), "socket:["),
        "regular file": (os.open(reg, os.O_RDONLY), reg),
        "/dev/null": (os.open("/dev/null", os.O_RDONLY), "/dev/null"),
    }
    try:
        for kind, (fd, target) in cases.items():
            jid, p = run_with_stdin(daemon, accounts, fd)
            assert p.returncode == 0, (kind, p, daemon.log_text())
            rep = next(l for l in dl.json_lines(p.stdout) if l.get("probe") == "report")
            fd0 = [e for e in rep["fds"] if e["fd"] == 0]
            assert fd0 and fd0[0].get("target", "").startswith(target), (kind, fd0)
    finally:
        for kind, (fd, _) in cases.items():
            if kind != "socket":
                os.close(fd)
        os.close(w)
        os.close(pty_master)
        a.close()
        b.close()


# --------------------------------------------------------------- (b) a FIFO as the profile

def test_fifo_profile_refused_at_once(daemon, accounts, arena):
    fifo = os.path.join(arena, "alice", "profile.json")
    as_user(accounts, "alice", lambda: os.mkfifo(fifo, 0o644))
    jid = unique_id("alice-fifo")
    try:
        p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--seccomp", fifo, "--",
                "exit", "0", timeout=ANSWER_BOUND_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a FIFO as the seccomp profile was not refused within {ANSWER_BOUND_S} s "
                    f"(the supervisor opens it and blocks)")
    assert p.returncode == 77, p
    assert "seccomp" in p.stderr and "FIFO" in p.stderr, p.stderr
    daemon.assert_nothing_left(jid)
    still_serves(daemon, accounts)


# --------------------------------------------------------------- (c) a root-only profile

def root_secret(arena, name="profile.json"):
    """A 0700 root directory holding a 0600 root file whose only key is a
    token that must never be seen outside."""
    secret_dir = os.path.join(arena, "secret")
    os.mkdir(secret_dir, 0o700)
    token = "SECRETKEY" + uuid.uuid4().hex
    path = os.path.join(secret_dir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, ('{"%s": 1}\n' % token).encode())
    os.close(fd)
    return secret_dir, path, token


def test_root_only_profile_no_content_no_oracle(daemon, accounts, arena):
    """Refused, with no byte of it in the message, and refused the same way
    as a file that does not exist there: the member learns nothing it
    could not learn with its own open()."""
    secret_dir, secret, token = root_secret(arena)
    messages = {}
    for name, path in (("exists", secret), ("missing", os.path.join(secret_dir, "nope.json"))):
        jid = unique_id("alice-secret")
        p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--seccomp", path, "--",
                "exit", "0", timeout=ANSWER_BOUND_S)
        assert p.returncode == 77 and "seccomp" in p.stderr, p
        assert token not in p.stderr and "SECRETKEY" not in p.stderr, p.stderr
        messages[name] = p.stderr.replace(path, "<path>").replace(jid, "<id>")
        daemon.assert_nothing_left(jid)
    assert messages["exists"] == messages["missing"], messages
    assert token not in daemon.log_text()
    still_serves(daemon, accounts)


# --------------------------------------------------------------- (d) the rename race

def test_profile_rename_race_never_reads_the_secret(daemon, accounts, arena):
    """alice's profile is arena/alice/p/profile.json; the racer (as alice)
    swaps the directory p with a symlink to root's 0700 directory holding a
    0600 profile.json, over and over, while alice starts jails.  Each run
    either uses alice's own profile or is refused; root never reads the
    secret: no reply and no log line carries a byte of it."""
    if not RACER.exists():
        pytest.skip(f"{RACER} is not built")
    secret_dir, _, token = root_secret(arena)
    uid, gid = accounts.ids("alice")
    pdir = os.path.join(arena, "alice", "p")
    os.mkdir(pdir, 0o755)
    prof = os.path.join(pdir, "profile.json")
    with open(prof, "w") as f:
        f.write('{"defaultAction": "SCMP_ACT_ALLOW"}\n')
    os.chown(pdir, uid, gid)
    os.chown(prof, uid, gid)

    out = open(os.path.join(arena, "racer.out"), "w+")
    racer = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
                              str(jailtest.for_others(RACER)),
                              "exchange", pdir, secret_dir], stdout=out, stderr=subprocess.STDOUT)
    ok = refused = 0
    leaks = []
    try:
        for _ in range(RACE_TRIES):
            jid = unique_id("alice-race")
            p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--seccomp", prof, "--",
                    "exit", "0", timeout=ANSWER_BOUND_S)
            if token in p.stdout + p.stderr or "SECRETKEY" in p.stdout + p.stderr:
                leaks.append(p.stderr.strip())
            if p.returncode == 0:
                ok += 1
            else:
                assert p.returncode == 77 and "seccomp" in p.stderr, p
                refused += 1
    finally:
        racer.terminate()
        racer.wait(30)
        out.seek(0)
        racer_out = out.read()
        out.close()
    print(f"profile race: {ok} ran with alice's profile, {refused} refused, {len(leaks)} leaked")
    assert '"racer":"done"' in racer_out, racer_out
    assert not leaks, f"root read the secret and said so {len(leaks)} times of {RACE_TRIES}: {leaks[:3]}"
    assert token not in daemon.log_text()
    still_serves(daemon, accounts)


def test_readable_profile_works(daemon, accounts, arena):
    """A profile of alice's own is read from the fd jailerd opened."""
    prof = os.path.join(arena, "alice", "deny.json")
    with open(prof, "w") as f:
        f.write('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                '[{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}\n')
    jid = unique_id("alice-prof")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--seccomp", prof, "--",
            "exit", "0", timeout=ANSWER_BOUND_S)
    assert p.returncode == 0, (p, daemon.log_text())


def test_profile_parse_error_names_field_not_value(daemon, accounts, arena):
    """The member's own bad profile: the message says which field is wrong,
    not its bytes."""
    prof = os.path.join(arena, "alice", "bad.json")
    with open(prof, "w") as f:
        f.write('{"defaultAction": "SCMP_ACT_ALLOW", "MYKEYVALUE": 1}\n')
    jid = unique_id("alice-bad")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--seccomp", prof, "--",
            "exit", "0", timeout=ANSWER_BOUND_S)
    assert p.returncode != 0 and "seccomp" in p.stderr, p
    assert "MYKEYVALUE" not in p.stderr, p.stderr
    assert "key 1 of the top-level object" in p.stderr, p.stderr
    daemon.assert_nothing_left(jid)


# --------------------------------------------------------------- (e) the loader's environment

@pytest.mark.parametrize("var", ["LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "GLIBC_TUNABLES", "GCONV_PATH"])
def test_loader_env_refused_for_a_member(daemon, accounts, arena, var):
    jid = unique_id("alice-ld")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--env", f"{var}=/tmp/x.so",
            "--", "exit", "0", timeout=ANSWER_BOUND_S)
    assert p.returncode == 77, f"{var} reached a member's jail: {p}"
    assert "permission_denied" in p.stderr and "loader_env" in p.stderr and var in p.stderr, p.stderr
    daemon.assert_nothing_left(jid)


def test_plain_env_and_root_loader_env_allowed(daemon, accounts):
    jid = unique_id("alice-env")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--env", "FOO=bar",
            "--env", "TMPDIR=/tmp", "--", "exit", "0", timeout=ANSWER_BOUND_S)
    assert p.returncode == 0, p
    # root's own jails are root's business
    jid = unique_id("root-ld")
    p = dl.run_ctl(daemon, "run", "--id", jid, "--exec", PROBE, "--env", "LD_BIND_NOW=1", "--", "exit", "0")
    assert p.returncode == 0, p


# --------------------------------------------------------------- the one-shot jailer too

def test_cli_fifo_profile_refused_at_once(jail, tmp_path):
    """libjailer itself opens a named profile non-blocking and type-checks
    it first: root's own jailer is refused at once too."""
    fifo = tmp_path / "profile.json"
    os.mkfifo(fifo)
    try:
        r = jail.run("exit", "0", flags=["--seccomp", str(fifo)], timeout=ANSWER_BOUND_S)
    except AssertionError as e:
        pytest.fail(f"jailer with a FIFO as its profile did not finish: {e}")
    assert r.rc == 125 and "seccomp" in r.stderr and "FIFO" in r.stderr, (r.rc, r.stderr)


def test_profile_too_large_refused_before_start(daemon, accounts, arena):
    """The daemon reads the profile once, bounded: a 2 MiB one is refused as
    a bad config value, and nothing starts."""
    prof = os.path.join(arena, "alice", "huge.json")
    with open(prof, "w") as f:
        f.write('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [' + " " * (2 << 20) + "]}\n")
    jid = unique_id("alice-huge")
    p = ctl(daemon, accounts, "alice", "run", "--id", jid, "--exec", PROBE, "--seccomp", prof, "--",
            "exit", "0", timeout=ANSWER_BOUND_S)
    assert p.returncode == 125 and "invalid_config" in p.stderr and "1 MiB" in p.stderr, p
    daemon.assert_nothing_left(jid)

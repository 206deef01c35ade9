# SPDX-License-Identifier: MIT
"""Symlinks planted and directories swapped while jails are being set up
never redirect a mount, a mkdir or a removal outside where it belongs.

An attacker — the unprivileged user 65534, owning the directories it
attacks, as a user of a shared host or an escaped jail writing to a
read-write bind would — runs tests/race/racer while jails are set up in a
loop, by `jailer` (with and without openat2) and by `jailerctl run` against a
private jailerd (as root, and as the attacker itself, a member of the
daemon's group).  The racer, with threads of its own:

  * swaps a bind source, or a directory on its way, with a symlink to a
    secret host directory (root's, mode 0700), with renameat2
    RENAME_EXCHANGE and with rename + symlink + rename back;
  * swaps mountpoints inside a jail root of its own (a bind's destination
    directory, /proc, /dev) with symlinks to a host directory, and moves a
    destination's directory out of the jail root and back while it is being
    walked;
  * swaps the jail root itself, and a directory above it, with symlinks to a
    host directory.

A second racer, as root, witnesses the host: inotify on the secret and the
host directories (nothing may be created, removed, written or changed in
them) and the host's mount table (no mount may appear that names the test's
directories).  Inside each jail tests/race/race-report says which directory
each bind shows (device and inode, entries, mount root).  Every run either
succeeds with the intended directories (never the secret) or is refused
with a message naming the field; the counts of both, and of each refusal,
are printed.

Environment: JAILER_TEST_RACE_ITERATIONS (runs per test, default 200),
JAILER_TEST_RACE_SECONDS (time budget of one test's loop, default 90).
"""
import grp
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

import daemonlib as dl
import jailtest
from jailtest import BUILD, unique_id

RACER = BUILD / "tests" / "race" / "racer"
REPORTER = BUILD / "tests" / "race" / "race-report"
ENOSYS = BUILD / "tests" / "helpers" / "enosys"
ATTACKER = 65534
ITERATIONS = int(os.environ.get("JAILER_TEST_RACE_ITERATIONS", "200"))
BUDGET_S = float(os.environ.get("JAILER_TEST_RACE_SECONDS", "90"))
# Fewer runs than asked for only when the time budget ran out first.
MIN_ITERATIONS = min(ITERATIONS, 20)
RUN_TIMEOUT = 30


# --------------------------------------------------------------- the arena

class Arena:
    """The directories of one test, under a fresh directory of /tmp that
    the attacker can traverse:

      secret/           root 0700: SECRET marker, data/SECRET marker
      host/             root 0755: HOST marker, jr/ (root 0755, HOST marker)
      jails/            root 0755: the CLI's jail roots, made by jailer
      att/              the attacker's; everything below is its own
        comp-x/data/ comp-s/data/ leaf-x/ leaf-s/ stable/   INTENDED marker
        file                      INTENDED content
        root/{mnt,mv,proc,dev}/   a jail root
        outside/                  outside every jail root
        jr/  p/jr/                jail roots
    """

    def __init__(self):
        self.top = Path(tempfile.mkdtemp(prefix="jailer-race-"))
        self.top.chmod(0o755)
        self.token = self.top.name
        self.intended_name = f"INTENDED-{self.token}"
        self.secret_name = f"SECRET-{self.token}"
        self.host_name = f"HOST-{self.token}"

        self.secret = self._dir("secret", 0, 0o700)
        (self.secret / self.secret_name).write_text("secret\n")
        self._dir("secret/data", 0, 0o755)
        (self.secret / "data" / self.secret_name).write_text("secret\n")
        self.host = self._dir("host", 0, 0o755)
        (self.host / self.host_name).write_text("host\n")
        self._dir("host/jr", 0, 0o755)
        (self.host / "jr" / self.host_name).write_text("host\n")
        self.jails = self._dir("jails", 0, 0o755)

        self.att = self._dir("att", ATTACKER, 0o755)
        for rel in ("comp-x", "comp-s", "root", "p"):
            self._dir(f"att/{rel}", ATTACKER, 0o755)
        for rel in ("comp-x/data", "comp-s/data", "leaf-x", "leaf-s", "stable"):
            d = self._dir(f"att/{rel}", ATTACKER, 0o755)
            f = d / self.intended_name
            f.write_text("intended\n")
            os.chown(f, ATTACKER, ATTACKER)
        for rel in ("root/mnt", "root/mv", "root/proc", "root/dev", "outside", "jr", "p/jr"):
            self._dir(f"att/{rel}", ATTACKER, 0o755)
        self.file = self.att / "file"
        self.file.write_text("intended\n")
        os.chown(self.file, ATTACKER, ATTACKER)
        self.snapshots = self.host_snapshots()
        # As the root field of mountinfo names them.
        self.secret_rel = jailtest.fs_relative(self.secret).rstrip("/")
        self.host_rel = jailtest.fs_relative(self.host).rstrip("/")
        # Taken now: during the race the attacker moves these directories.
        self.inodes = {}
        for dirpath, dirnames, filenames in os.walk(self.att):
            for n in dirnames + filenames:
                p = Path(dirpath, n)
                st = p.lstat()
                self.inodes[str(p.relative_to(self.att))] = (st.st_dev, st.st_ino)

    def _dir(self, rel, uid, mode):
        d = self.top / rel
        d.mkdir()
        os.chown(d, uid, uid)
        d.chmod(mode)
        return d

    def a(self, rel):
        return self.att / rel

    def ino(self, rel):
        """(device, inode) of att/rel as it was before the race."""
        return self.inodes[rel]

    def host_snapshots(self):
        return {"secret": jailtest.tree_snapshot(self.secret), "host": jailtest.tree_snapshot(self.host)}

    def root_owned_under(self, rel):
        """Entries under att/rel that root owns (att itself is the attacker's)."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.att / rel):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if os.lstat(p).st_uid == 0:
                    out.append(p)
        return out

    def remove(self):
        shutil.rmtree(self.top, ignore_errors=True)


# --------------------------------------------------------------- scenarios
#
# Each: the racer's attacks, and for run i the jail root (None: the front
# end's default), the binds and what race-report must see at each path.

def scenario_bind_source(ar):
    return {
        "attacks": ["exchange", ar.a("comp-x"), ar.secret,
                    "swap", ar.a("comp-s"), ar.secret,
                    "exchange", ar.a("leaf-x"), ar.secret / "data",
                    "swap", ar.a("leaf-s"), ar.secret / "data"],
        # One attacked source per run, in turn: four at once would leave
        # almost no run whose view can be checked.
        "jail_root": lambda i: None,
        "binds": lambda i: [[(ar.a("comp-x/data"), "/ra")], [(ar.a("comp-s/data"), "/rb")],
                            [(ar.a("leaf-x"), "/rc")], [(ar.a("leaf-s"), "/rd")]][i % 4],
        "expect": lambda i: [{"/ra": ar.ino("comp-x/data")}, {"/rb": ar.ino("comp-s/data")},
                             {"/rc": ar.ino("leaf-x")}, {"/rd": ar.ino("leaf-s")}][i % 4],
    }


def scenario_mountpoints(ar):
    return {
        # Every run meets all three attacks (/proc and /dev are always made):
        # a longer honest spell between attacks lets enough runs through.
        "racer_opts": ["--honest-us", "1000"],
        "attacks": ["exchange", ar.a("root/mnt"), ar.host,
                    "swap", ar.a("root/proc"), ar.host,
                    "exchange", ar.a("root/dev"), ar.host],
        "jail_root": lambda i: ar.a("root"),
        "binds": lambda i: [(ar.a("stable"), "/mnt/x/dest")],
        "expect": lambda i: {"/mnt/x/dest": ar.ino("stable"), "/": ar.ino("root")},
    }


def scenario_moved_out(ar):
    """A directory on the way to a mountpoint is moved out of the jail root
    while the jailer walks it and makes what is missing (directories, and
    an empty file for a file's bind)."""
    return {
        "attacks": ["moveout", ar.a("root/mv"), ar.a("outside")],
        "jail_root": lambda i: ar.a("root"),
        "binds": lambda i: [(ar.a("stable"), "/mv/a/b/c/dest"), (ar.file, "/mv/f")],
        "expect": lambda i: {"/mv/a/b/c/dest": ar.ino("stable"), "/mv/f": ar.ino("file"),
                             "/": ar.ino("root")},
    }


def scenario_jail_root(ar):
    roots = ["jr", "p/jr"]
    return {
        "attacks": ["exchange", ar.a("jr"), ar.host,
                    "swap", ar.a("p"), ar.host],
        "jail_root": lambda i: ar.a(roots[i % 2]),
        "binds": lambda i: [(ar.a("stable"), "/data")],
        "expect": lambda i: {"/data": ar.ino("stable"), "/": ar.ino(roots[i % 2])},
    }


SCENARIOS = {"bind-source": scenario_bind_source,
             "mountpoints": scenario_mountpoints,
             "moved-out": scenario_moved_out,
             "jail-root": scenario_jail_root}


# --------------------------------------------------------------- racers

class Racer:
    """tests/race/racer in the background (as uid, when given), its JSON
    lines in a file; stopped by pid."""

    def __init__(self, tmpdir, name, args, uid=None, opts=()):
        self.out_path = Path(tmpdir) / f"racer-{name}.out"
        self.err_path = Path(tmpdir) / f"racer-{name}.err"
        argv = [str(RACER), "--seconds", str(int(BUDGET_S * 3 + 120)), *opts] + [str(a) for a in args]
        if uid is not None:
            argv[0] = str(jailtest.for_others(RACER))
            argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] + argv
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = time.monotonic() + 10
        while not any(m.get("racer") == "ready" for m in self.lines()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"racer {name} did not start: {self.err_path.read_text()}")
            time.sleep(0.01)

    def lines(self):
        try:
            text = self.out_path.read_text()
        except OSError:
            return []
        return [json.loads(l) for l in text.splitlines() if l.startswith("{") and l.endswith("}")]

    def violations(self):
        return [m for m in self.lines() if m.get("racer") == "violation"]

    def outside(self):
        """What was made or removed outside the jail root that was not
        root's (the racer's own, or gone before it could be looked at)."""
        return [m for m in self.lines() if m.get("racer") == "outside"]

    def stop(self):
        if self.proc.poll() is None:
            jailtest.terminate(self.proc, 30)
        return [m for m in self.lines() if m.get("racer") == "done"]


# --------------------------------------------------------------- front ends

def jail_argv(frontend, jail_id, jail_root, binds, paths, daemon, arena):
    flags = ["--id", jail_id, "--exec", str(jailtest.for_others(REPORTER))]
    if jail_root is not None:
        flags += ["--jail-root", str(jail_root)]
    elif frontend.startswith("cli"):
        flags += ["--jail-root", str(arena.jails / jail_id)]
    for src, dest in binds:
        flags += ["--bind", f"{src}:{dest}"]
    if jailtest.CGROUP_VERSION:
        flags += ["--cgroup-version", jailtest.CGROUP_VERSION]
    if frontend.startswith("cli"):
        argv = [str(dl.JAILER)] + flags + ["--cgroup-parent", jailtest.SESSION_CGROUP_PARENT]
        if frontend == "cli-no-openat2":
            argv = [str(ENOSYS), "openat2", "--"] + argv
    else:
        argv = [str(dl.JAILERCTL), "--socket", str(daemon.socket), "run"] + flags
        if frontend == "daemon-member":
            argv[0] = str(jailtest.for_others(dl.JAILERCTL))
            argv = ["setpriv", f"--reuid={ATTACKER}", f"--regid={ATTACKER}",
                    f"--groups={daemon.race_gid}"] + argv
    return argv + ["--"] + list(paths)


def normalize(msg, arena, daemon):
    """A refusal's message with the test's paths, ids and numbers taken
    out, to count refusals by kind."""
    msg = msg.strip().splitlines()[-1] if msg.strip() else "(no message)"
    msg = msg.replace(str(arena.top), "<arena>")
    if daemon is not None:
        msg = msg.replace(str(daemon.top), "<daemon>")
    msg = re.sub(r"t\d+-\d+-race[\w-]*", "<id>", msg)
    msg = re.sub(r"\d+", "N", msg)
    return msg[:200]


# A refusal must say which field it refused, or that the policy did.
CLEAR_REFUSAL = re.compile(r"jail_root|bind_mounts\[\d\]\.(source|dest)|(proc|dev): mountpoint|permission_denied|"
                           r"you may not read|not a directory of yours")


def check_report(out, expect, arena):
    """What is wrong with one successful run's view ([] when nothing)."""
    rep = next((json.loads(l) for l in out.splitlines() if l.startswith('{"report":"race"')), None)
    if rep is None:
        return [f"no report from inside the jail: {out[-500:]!r}"]
    wrong = []
    # Whatever the names say now: no mount of the jail comes from the
    # secret or the host directory (their paths cannot change: root's).
    for m in rep.get("mounts", []):
        for d in (arena.secret_rel, arena.host_rel):
            if m["root"] == d or m["root"].startswith(d + "/"):
                wrong.append(f"{m['point']} is a mount of {m['root']}")
    seen = {p["path"]: p for p in rep["paths"]}
    for path, (dev, ino) in expect.items():
        p = seen.get(path)
        if p is None or p.get("errno") != "0":
            wrong.append(f"{path}: cannot stat it in the jail: {p}")
            continue
        entries = p.get("entries") or []
        if arena.secret_name in entries or arena.host_name in entries:
            wrong.append(f"{path} shows a host directory: {p}")
        elif (p["dev"], p["ino"]) != (dev, ino):
            wrong.append(f"{path} is not the intended directory (dev {dev} ino {ino}): {p}")
        elif path != "/" and stat.S_ISDIR(p["mode"]) and arena.intended_name not in entries:
            wrong.append(f"{path} lacks the intended marker: {p}")
    return wrong


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def race_built():
    reason = jailtest.why_not_runnable()
    if reason:
        pytest.skip(reason)
    missing = [str(p) for p in (dl.JAILER, dl.JAILERD, dl.JAILERCTL, RACER, REPORTER, ENOSYS)
               if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (ninja -C {BUILD.name}, or set JAILER_BUILD)",
                    pytrace=False)
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to run the attacker unprivileged", pytrace=False)


@pytest.fixture(scope="module")
def race_daemon(race_built):
    """A private jailerd whose group the attacker's client joins."""
    if shutil.which("groupadd") is None:
        pytest.fail("groupadd is needed to make the daemon's group", pytrace=False)
    group = f"jlr{uuid.uuid4().hex[:6]}"
    subprocess.run(["groupadd", "--system", group], check=True, capture_output=True)
    d = None
    try:
        d = dl.Daemon("race", group=group)
        d.race_gid = grp.getgrnam(group).gr_gid
        d.start()
        yield d
        assert d.alive(), f"jailerd died during the race:\n{d.log_text()}"
    finally:
        if d is not None:
            d.cleanup()
        subprocess.run(["groupdel", group], capture_output=True)


@pytest.fixture
def arena(race_built):
    ar = Arena()
    yield ar
    ar.remove()


# --------------------------------------------------------------- the test

FRONTENDS = ["cli", "cli-no-openat2", "daemon-root", "daemon-member"]


def runs_tmpfs(v, daemon):
    """The tmpfs jailerd mounts on purpose on <jails-dir>/<id>/run (its
    --run-size) is not root acting in the host's directories."""
    if daemon is None or v.get("event") != "mounted":
        return False
    m = re.match(r"\S+ \S+ \S+ / (\S+) .* - tmpfs jailer-run ", v.get("name", ""))
    return bool(m) and re.fullmatch(re.escape(str(daemon.jails_dir)) + r"/[A-Za-z0-9_-]+/run", m.group(1)) is not None


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_path_race(scenario, frontend, arena, request, tmp_path):
    daemon = request.getfixturevalue("race_daemon") if frontend.startswith("daemon") else None
    sc = SCENARIOS[scenario](arena)
    mounts_before = jailtest.mount_keys()

    witness = Racer(tmp_path, "witness", ["watch", arena.secret, "watch", arena.host,
                                          "mounts", arena.token]
                    + (["mounts", daemon.top.name] if daemon else []))
    attacker = None
    try:
        attacker = Racer(tmp_path, "attacker", sc["attacks"], uid=ATTACKER, opts=sc.get("racer_opts", ()))
        ok, refused, kinds, wrong, unexpected = 0, 0, Counter(), [], []
        t0 = time.monotonic()
        runs = 0
        while runs < ITERATIONS and time.monotonic() - t0 < BUDGET_S:
            jid = unique_id(f"race-{scenario[:4]}")
            expect = sc["expect"](runs)
            argv = jail_argv(frontend, jid, sc["jail_root"](runs), sc["binds"](runs), list(expect), daemon,
                             arena)
            rc, out, err, _ = jailtest.run_command(argv, timeout=RUN_TIMEOUT)
            runs += 1
            if rc == 0:
                problems = check_report(out, expect, arena)
                if problems:
                    wrong.append((jid, problems))
                else:
                    ok += 1
            elif rc in (125, 77) and CLEAR_REFUSAL.search(err):   # 77: jailerctl, a policy refusal
                refused += 1
                kinds[normalize(err, arena, daemon)] += 1
            else:
                unexpected.append((jid, rc, err[-800:], out[-300:]))
        elapsed = time.monotonic() - t0
    finally:
        done = attacker.stop() if attacker else []
        witness.stop()

    print(f"\n{scenario} via {frontend}: {runs} runs in {elapsed:.1f}s: {ok} succeeded with the intended "
          f"directories, {refused} refused, {len(wrong)} wrong, {len(unexpected)} unexpected")
    if attacker and attacker.outside():
        print(f"  {len(attacker.outside())} entries not root's made or removed outside the jail root")
    for d in done:
        print(f"  racer {d['action']} {Path(d['path']).name}: {d['rounds']} rounds, {d['errors']} failed steps")
    for k, n in kinds.most_common():
        print(f"  refused {n:4d}x  {k}")
    for jid, problems in wrong[:5]:
        print(f"  wrong: {jid}: {'; '.join(problems)}")
    for jid, rc, err, out in unexpected[:5]:
        print(f"  unexpected: {jid} exit {rc}: {err.strip()[-400:]!r} {out.strip()[-200:]!r}")

    violations = [v for v in witness.violations() if not runs_tmpfs(v, daemon)] + \
        (attacker.violations() if attacker else [])
    leftover_outside = arena.root_owned_under("outside")
    added = jailtest.mount_keys() - mounts_before
    new_mounts = jailtest.mounts_touching(added, [arena.top])
    if added and not new_mounts:
        print(f"  (mounts that appeared meanwhile elsewhere on the host, not ours: {sorted(added)[:5]})")
    snapshots = arena.host_snapshots()

    assert not violations, ("root acted outside the jail root or in the host's directories:\n" +
                            "\n".join(json.dumps(v) for v in violations[:20]))
    assert not wrong, f"{len(wrong)} jails saw the wrong directory: {wrong[:5]}"
    assert not unexpected, f"{len(unexpected)} runs neither succeeded nor were refused clearly: {unexpected[:5]}"
    assert not new_mounts, f"mounts appeared in the host's namespace: {new_mounts}"
    assert snapshots == arena.snapshots, "the secret or the host directory changed"
    assert not leftover_outside, f"root made these outside the jail root: {leftover_outside}"
    assert runs >= MIN_ITERATIONS, f"only {runs} runs in {BUDGET_S}s"
    assert ok > 0, "no run succeeded: the intended directories were never checked"
    attacks = [d for d in done if d["action"] in ("exchange", "swap", "moveout")]
    assert attacks and all(d["rounds"] > 0 for d in attacks), f"the attacker did not race: {done}"
    if daemon is not None:
        assert daemon.alive(), daemon.log_text()

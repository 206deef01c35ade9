# SPDX-License-Identifier: MIT
"""Helpers for the system tests: run `jailer` with the probe, parse what the
probe saw from inside the jail, and take snapshots of the host (mount table,
jail root contents, cgroup directories, processes) to prove that a jail left
nothing behind.

Environment:
  JAILER_BUILD                 build directory (default "build"), relative to
                               the repository root unless absolute
  JAILER_TEST_CGROUP_VERSION   v1|v2|auto: passed as --cgroup-version to every
                               jail (the VM tier sets v2)
  JAILER_TEST_TIMEOUT          seconds one jailer run may take (default 60)
"""
import atexit
import errno
import itertools
import json
import os
import re
import signal
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_build = Path(os.environ.get("JAILER_BUILD", "build"))
BUILD = _build if _build.is_absolute() else REPO / _build
JAILER = BUILD / "client" / "jailer"
PROBE = BUILD / "tests" / "probe" / "probe"

# What other uids run or read — the probe as a member's jail's program,
# jailerctl as a group member, the race attacker — is copied into one
# directory per session that every uid can reach (mode 0755 under /tmp,
# removed at exit): the checkout itself may be in a private home (0700).
_SHARED = None


def for_others(path):
    """A copy of path (a build output or test file) that any uid may read
    and execute; the same copy for the whole session."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Path(tempfile.mkdtemp(prefix="jailer-tests-", dir="/tmp"))
        os.chmod(_SHARED, 0o755)
        atexit.register(shutil.rmtree, _SHARED, True)
    path = Path(path)
    if not path.exists():
        return path          # not built: the caller's check says so
    rel = path.relative_to(BUILD) if path.is_relative_to(BUILD) else Path(path.name)
    copy = _SHARED / str(rel).replace("/", "_")
    if not copy.exists():
        shutil.copy(path, copy)
        os.chmod(copy, 0o755)
    return copy


CGROUP_VERSION = os.environ.get("JAILER_TEST_CGROUP_VERSION") or None
DEFAULT_TIMEOUT = float(os.environ.get("JAILER_TEST_TIMEOUT", "60"))

# One cgroup parent per pytest session, removed from every hierarchy at the
# end of the session (conftest.py); never the default "jailer".
SESSION_CGROUP_PARENT = f"jailer-test-{os.getpid()}"

NOBODY = 65534

REPORT_KEYS = {"jail", "pid", "exit_code", "signal", "oom_killed", "timed_out",
               "wall_time_us", "cpu_usage_us", "memory_peak_bytes", "pids_peak"}

_ids = itertools.count(1)


def why_not_runnable():
    """None when the system tests can run here, else the reason."""
    if os.geteuid() != 0:
        return "the system tests need root (run: sudo /usr/bin/pytest-3 tests/)"
    return None


def missing_binaries():
    """Paths of the build outputs the tests need that do not exist."""
    return [str(p) for p in (JAILER, PROBE) if not os.access(p, os.X_OK)]


def unique_id(hint=""):
    """A jail id unique to this session: [A-Za-z0-9_-], at most 64 chars."""
    hint = re.sub(r"[^A-Za-z0-9_-]", "-", hint)[:30].strip("-")
    base = f"t{os.getpid()}-{next(_ids)}"
    return f"{base}-{hint}" if hint else base


# --------------------------------------------------------------- results

class JailResult:
    """What one jailer run produced."""

    def __init__(self, argv, proc_rc, stdout, stderr, report, duration):
        self.argv = argv
        self.rc = proc_rc
        self.stdout = stdout
        self.stderr = stderr
        self.report = report
        self.duration = duration
        self.lines = []
        for line in stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    pass

    @property
    def json(self):
        """The first JSON line the probe printed (None if it printed none)."""
        return self.lines[0] if self.lines else None

    def line(self, probe_action):
        """The last JSON line of the given probe action ("forks", "child"...)."""
        for obj in reversed(self.lines):
            if obj.get("probe") == probe_action:
                return obj
        return None

    def __repr__(self):
        return (f"JailResult(rc={self.rc}, argv={' '.join(map(str, self.argv))!r},\n"
                f"  stdout={self.stdout[-2000:]!r},\n  stderr={self.stderr[-2000:]!r},\n"
                f"  report={self.report!r})")


def run_command(argv, *, timeout=None, pass_fds=(), env=None, stdin=subprocess.DEVNULL):
    """Run argv, capture stdout/stderr; on timeout kill the process we started
    (by pid) and fail with what it printed so far."""
    t0 = time.monotonic()
    proc = subprocess.Popen([str(a) for a in argv], stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, pass_fds=pass_fds, env=env, text=True,
                            errors="replace")
    try:
        out, err = proc.communicate(timeout=timeout or DEFAULT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"timed out after {timeout or DEFAULT_TIMEOUT}s: {argv}\n"
                             f"stdout: {out[-2000:]}\nstderr: {err[-2000:]}")
    return proc.returncode, out, err, time.monotonic() - t0


def terminate(proc, timeout):
    """SIGTERM proc (a Popen of ours), wait for it up to timeout seconds,
    then SIGKILL it; its exit status."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# --------------------------------------------------------------- a jail per test

class Jail:
    """One test's jail: a unique id, a jail root (not created: jailer creates
    it) under the test's own temporary directory, the session's cgroup parent.

    run() starts `jailer` with the probe exec'd from its fd (nothing bound),
    the report written to a file, and an extra open fd handed to jailer so that
    tests can check it does not reach the jail."""

    def __init__(self, tmp_path, name=""):
        self.tmp = Path(tmp_path)
        self.id = unique_id(name)
        self.root = self.tmp / "root"
        self.cgroup_parent = SESSION_CGROUP_PARENT
        self.results = []
        self._canary = self.tmp / "canary-fd"
        self._canary.write_text("an fd jailer must not pass on\n")

    def argv(self, probe_args=("report",), *, flags=(), exec_path=None, jail_id=None,
             jail_root=None, report_path=None, defaults=True):
        """The jailer command line.  defaults=False leaves out --id, --exec,
        --jail-root, --cgroup-parent and --cgroup-version (for --config runs)."""
        argv = [JAILER]
        if defaults:
            argv += ["--id", jail_id or self.id,
                     "--exec", exec_path or PROBE,
                     "--jail-root", jail_root or self.root,
                     "--cgroup-parent", self.cgroup_parent]
            if CGROUP_VERSION and not any(str(f).startswith("--cgroup-version") for f in flags):
                argv += ["--cgroup-version", CGROUP_VERSION]
        argv += list(flags)
        if report_path is not None:
            argv += ["--report", report_path]
        argv += ["--", *probe_args]
        return [str(a) for a in argv]

    def run(self, *probe_args, flags=(), exec_path=None, jail_id=None, jail_root=None,
            report=True, timeout=None, defaults=True, env=None, wrap=()):
        """Run the probe (default: `probe report`) in the jail.  wrap is a
        command prefix jailer runs under (e.g. setpriv giving the caller
        supplementary groups)."""
        if not probe_args:
            probe_args = ("report",)
        report_path = None
        if report:
            report_path = self.tmp / f"report-{len(self.results)}.json"
            if report_path.exists():
                report_path.unlink()
        argv = self.argv(probe_args, flags=flags, exec_path=exec_path, jail_id=jail_id,
                         jail_root=jail_root, report_path=report_path, defaults=defaults)
        argv = [str(a) for a in wrap] + argv
        run_env = dict(os.environ if env is None else env)
        run_env["JAILER_TEST_CANARY"] = "this variable must not reach the jail"
        canary_fd = os.open(self._canary, os.O_RDONLY)
        try:
            rc, out, err, dur = run_command(argv, timeout=timeout, pass_fds=(canary_fd,),
                                            env=run_env)
        finally:
            os.close(canary_fd)
        rep = None
        if report_path is not None and report_path.exists() and report_path.stat().st_size:
            rep = json.loads(report_path.read_text())
        res = JailResult(argv, rc, out, err, rep, dur)
        self.results.append(res)
        return res

    def probe_report(self, checks=(), flags=(), **kw):
        """`probe report` in the jail; asserts it ran and returns its JSON."""
        args = ["report"]
        for c in checks:
            args += ["--check-path", str(c)]
        res = self.run(*args, flags=flags, **kw)
        assert res.rc == 0, res
        assert res.json is not None and res.json.get("probe") == "report", res
        return res.json

    def cleanup(self):
        """Best effort: a jail cgroup that jailer failed to remove is emptied
        (killing only the processes in it, by pid) and removed, so that one
        failing test does not disturb the next."""
        for d in cgroup_dirs_named(self.cgroup_parent, self.id):
            remove_cgroup_tree(d)


# --------------------------------------------------------------- host snapshots

def mountinfo(pid="self"):
    """The mount table as a list of dicts (id, parent, root, mountpoint,
    options, fstype, source, super_options)."""
    out = []
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            left, _, right = line.rstrip("\n").partition(" - ")
            a = left.split(" ")
            b = right.split(" ")
            unesc = lambda s: re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)
            out.append({"id": int(a[0]), "parent": int(a[1]), "dev": a[2], "root": unesc(a[3]),
                        "mountpoint": unesc(a[4]), "options": a[5], "fstype": b[0],
                        "source": b[1] if len(b) > 1 else "",
                        "super_options": b[2] if len(b) > 2 else ""})
    return out


def mount_keys(pid="self"):
    """Comparable identities of the mounts (mount ids are never reused while
    mounted, so a new mount is a new key)."""
    return {(m["id"], m["mountpoint"], m["fstype"], m["root"]) for m in mountinfo(pid)}


def fs_relative(path):
    """path as the root field of mountinfo shows it: relative to the root of
    the file system that holds it."""
    path = os.path.realpath(path)
    best = None
    for m in mountinfo():
        mp = m["mountpoint"]
        if path == mp or path.startswith(mp.rstrip("/") + "/"):
            if best is None or len(mp) >= len(best["mountpoint"]):
                best = m
    if best is None:
        return path
    rest = path[len(best["mountpoint"].rstrip("/")):]
    return (best["root"].rstrip("/") + rest) or "/"


def mounts_touching(keys, paths):
    """The mounts among keys whose mountpoint, or whose source (root field),
    lies at or under one of paths."""
    targets = []
    for p in paths:
        targets.append(str(p).rstrip("/"))
        targets.append(fs_relative(p).rstrip("/"))
    hits = []
    for k in keys:
        _, mp, _, root = k
        if any(x and (s == x or s.startswith(x + "/")) for x in targets for s in (mp, root)):
            hits.append(k)
    return hits


def tree_snapshot(path):
    """Every entry under path (path included) with type, mode, owner, size and
    link target; None when path does not exist."""
    path = Path(path)
    if not os.path.lexists(path):
        return None
    snap = {}

    def add(p, rel):
        st = os.lstat(p)
        entry = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                 st.st_size if stat.S_ISREG(st.st_mode) else 0,
                 os.readlink(p) if stat.S_ISLNK(st.st_mode) else None)
        snap[rel] = entry
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(p)):
                add(os.path.join(p, name), os.path.join(rel, name))

    add(str(path), ".")
    return snap


def host_interfaces():
    return sorted(name for _, name in socket.if_nameindex())


def ns_inode(kind, pid="self"):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def processes_of_uid(uid):
    """Host pids whose real uid is uid."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(d))
                        break
        except OSError:
            pass
    return pids


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return False
    return data.rsplit(")", 1)[1].split()[0] != "Z"


def kill_pids(pids):
    """SIGKILL exactly these pids (ones the test itself started)."""
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------- cgroups

def memory_peak_known():
    """Does this kernel give a cgroup's peak memory to the backend in use:
    v1's memory.max_usage_in_bytes, or v2's memory.peak (Linux 5.19)?
    Without it the report says null — never a number made up."""
    hier = cgroup_hierarchies()
    v1_memory = any(v == "v1" and "memory" in c for _, v, c in hier)
    if CGROUP_VERSION == "v1" or (CGROUP_VERSION is None and v1_memory):
        return True
    for mp, v, c in hier:
        if v == "v2" and "memory" in c:
            return any(p.is_dir() and (p / "memory.peak").exists() for p in Path(mp).iterdir())
    return True


def memory_peak(rep, key="memory_peak_bytes"):
    """rep[key], checked to be null exactly when the kernel does not say."""
    v = rep[key]
    if v is None:
        assert not memory_peak_known(), f"{key} is null on a kernel that gives it: {rep}"
    else:
        assert isinstance(v, int) and v >= 0, rep
    return v


def cgroup_hierarchies():
    """Mounted cgroup hierarchies: list of (mountpoint, version, controllers)."""
    out = []
    for m in mountinfo():
        if m["fstype"] == "cgroup2":
            try:
                ctrls = set(Path(m["mountpoint"], "cgroup.controllers").read_text().split())
            except OSError:
                ctrls = set()
            out.append((m["mountpoint"], "v2", ctrls))
        elif m["fstype"] == "cgroup":
            opts = set(m["super_options"].split(","))
            ctrls = {o for o in opts if o not in ("rw", "ro", "relatime", "noprefix", "xattr",
                                                  "clone_children", "nsdelegate")
                     and not o.startswith("release_agent=")}
            out.append((m["mountpoint"], "v1", ctrls))
    # A hierarchy may be mounted more than once (e.g. bind mounts): keep the first.
    seen, uniq = set(), []
    for mp, v, c in out:
        key = (v, frozenset(c))
        if key not in seen:
            seen.add(key)
            uniq.append((mp, v, c))
    return uniq


def cgroup_parent_dirs(parent=SESSION_CGROUP_PARENT):
    """The parent's directory in every hierarchy where it exists."""
    return [Path(mp, parent) for mp, _, _ in cgroup_hierarchies() if Path(mp, parent).is_dir()]


def cgroup_tree(parent=SESSION_CGROUP_PARENT):
    """Every cgroup directory below the parent, in every hierarchy."""
    out = set()
    for d in cgroup_parent_dirs(parent):
        for dirpath, dirnames, _ in os.walk(d):
            for n in dirnames:
                out.add(os.path.join(dirpath, n))
    return out


def cgroup_dirs_named(parent, name):
    """Directories called name anywhere below the parent, in every hierarchy."""
    return sorted(p for p in cgroup_tree(parent) if os.path.basename(p) == name)


def cgroup_procs(d):
    try:
        return [int(x) for x in Path(d, "cgroup.procs").read_text().split()]
    except OSError:
        return []


def remove_cgroup_tree(top):
    """Kill the processes in top and below (they are the tests' own: the
    cgroups were created for them), then remove the directories bottom-up."""
    top = Path(top)
    if not top.is_dir():
        return
    dirs = [Path(dp) for dp, _, _ in os.walk(top)]
    for d in reversed(dirs):
        for _ in range(100):
            pids = cgroup_procs(d)
            if not pids:
                break
            kill_pids(pids)
            time.sleep(0.02)
        try:
            d.rmdir()
        except FileNotFoundError:
            pass
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                raise


def remove_session_cgroups():
    for d in cgroup_parent_dirs(SESSION_CGROUP_PARENT):
        remove_cgroup_tree(d)


def host_cgroup_v2_complete():
    """True when one cgroup2 hierarchy offers cpu, memory and pids."""
    return any(v == "v2" and {"cpu", "memory", "pids"} <= c for _, v, c in cgroup_hierarchies())


def effective_cgroup_version():
    """The backend the jails of this session use: the forced one, else what
    jailer's auto-detection picks (v2 when cgroup2 has cpu+memory+pids)."""
    if CGROUP_VERSION in ("v1", "v2"):
        return CGROUP_VERSION
    return "v2" if host_cgroup_v2_complete() else "v1"


# --------------------------------------------------------------- report checks

def assert_report_shape(rep, jail_id=None):
    """The exit report has (at least) the documented fields, with sane types."""
    assert rep is not None, "no exit report written"
    missing = REPORT_KEYS - set(rep)
    assert not missing, f"report lacks {sorted(missing)}: {rep}"
    if jail_id is not None:
        assert rep["jail"] == jail_id
    assert isinstance(rep["pid"], int) and rep["pid"] > 0
    assert (rep["exit_code"] is None) != (rep["signal"] is None), rep
    if rep["signal"] is not None:
        assert re.fullmatch(r"SIG[A-Z0-9]+", rep["signal"]), rep
    for k in ("oom_killed", "timed_out", "seccomp_killed"):
        assert k not in rep or isinstance(rep[k], bool), rep
    for k in ("wall_time_us", "cpu_usage_us"):
        assert isinstance(rep[k], int) and rep[k] >= 0, rep
    memory_peak(rep)
    assert rep["pids_peak"] is None or (isinstance(rep["pids_peak"], int) and rep["pids_peak"] >= 0)


def signum(name):
    return int(getattr(signal, name))

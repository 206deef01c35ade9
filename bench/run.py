#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmarks of jail start-up, throughput and footprint, side by side with
the kernel's floor and the peers, in one run on one machine.

    sudo /usr/bin/python3 bench/run.py            full run, writes docs/
    sudo /usr/bin/python3 bench/run.py --quick    a few repetitions of
                                                  everything (CI), writes
                                                  nothing into the tree

What is measured (docs/benchmarks.md explains the method):
  latency     process start (or request written) -> the jailed program's
              main(), and -> reaped, for: the floor (bench/floor.c, in
              process and as a command), jailer, jailerd over its socket,
              jailerctl run, bwrap, unshare, runc; interleaved rounds,
              warm-up, p50/p90/p99
  throughput  jails started and reaped per second at concurrency 1, 2, 8, 32
  scale       N concurrent sleeping jails: daemon RSS, memory and fds per
              jail outside the jail, exit-notification latency with N
              running vs 1
  profile     (full runs, or --profile) the floor's step times and the cost
              of each step (floor --skip), strace -c of jailer, perf
              (cpu-clock) of a loop of jailer runs, callgrind of jailer,
              strace of jailerd + supervisor during one create

Needs root, Debian's python3 and cc; uses whatever of bwrap, unshare, runc,
hyperfine, strace, perf, valgrind, python3-matplotlib is installed and says
what it skipped and why.  Timing is reported, never asserted: the exit status
is 0 unless the harness itself fails.

Everything it creates lives under one work directory in /tmp, cgroups named
jailer-bench-<pid>-*, jail ids jb*-<pid>-*; all of it is removed at the end,
and only processes it started are ever signalled.
"""
import argparse
import array
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PID = os.getpid()
CG_PREFIX = f"jailer-bench-{PID}"
CG_MOUNT = Path("/sys/fs/cgroup")

# The limits every contender that has cgroups applies (same as floor.c).
MEMORY = "256M"
PIDS = "64"
CPUS = "1"

started = []          # Popen objects we started and must end
log_lines = []


def say(*a):
    msg = " ".join(str(x) for x in a)
    print(msg, flush=True)
    log_lines.append(msg)


# ------------------------------------------------------------------ stats

def pct(xs, p):
    """Percentile with linear interpolation between closest ranks."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = (len(s) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def summary(xs):
    return {"n": len(xs), "p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99),
            "min": min(xs) if xs else float("nan"), "mean": statistics.fmean(xs) if xs else float("nan")}


def ms(us):
    return "–" if us != us else f"{us / 1000:.2f}"


# ------------------------------------------------------------------ machine

def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, **kw)


def machine():
    m = {}
    m["nproc"] = os.cpu_count()
    with open("/proc/meminfo") as f:
        mi = dict(line.split(":", 1) for line in f)
    m["mem_gib"] = round(int(mi["MemTotal"].split()[0]) / 1024 / 1024, 1)
    m["kernel"] = platform.release()
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    m["cpu"] = model
    m["cgroup"] = cgroup_mode()
    try:
        with open("/etc/debian_version") as f:
            m["debian"] = f.read().strip()
    except OSError:
        m["debian"] = "?"
    m["kvm"] = os.path.exists("/dev/kvm")
    m["loadavg_start"] = os.getloadavg()
    vers = {}
    for name, cmd in [("bwrap", ["bwrap", "--version"]), ("runc", ["runc", "--version"]),
                      ("unshare", ["unshare", "--version"]), ("hyperfine", ["hyperfine", "--version"]),
                      ("perf", ["perf", "--version"]), ("strace", ["strace", "-V"]),
                      ("valgrind", ["valgrind", "--version"]), ("cc", ["cc", "--version"])]:
        if shutil.which(cmd[0]):
            out = sh(cmd).stdout.strip().splitlines()
            vers[name] = out[0] if out else "?"
    m["versions"] = vers
    return m


def cgroup_mode():
    r = sh(["stat", "-f", "-c", "%T", str(CG_MOUNT)]).stdout.strip()
    if r == "cgroup2fs":
        return "v2 (unified)"
    if (CG_MOUNT / "unified").is_dir():
        return "hybrid (v1 controllers; cgroup2 at /sys/fs/cgroup/unified)"
    return "v1"


def is_v2():
    return cgroup_mode().startswith("v2")


# ------------------------------------------------------------------ set-up

class Env:
    """Paths and binaries of one run."""

    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix=f"jailer-bench-{PID}-"))
        self.bin = self.work / "bin"
        self.root = self.work / "root"
        self.logs = self.work / "logs"
        for d in (self.bin, self.root / "bin", self.root / "proc", self.root / "dev", self.logs):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work, 0o755)
        build = Path(args.build)
        self.build = build if build.is_absolute() else REPO / build
        self.jailer = self.build / "client" / "jailer"
        self.jailerctl = self.build / "client" / "jailerctl"
        self.jailerd = self.build / "daemon" / "jailerd"
        self.supervisor = self.build / "daemon" / "jailer-supervisor"
        self.stamp = self.root / "bin" / "stamp"
        self.floor = self.bin / "floor"
        self.lat = self.bin / "lat"
        self.daemon = None
        self.skipped = {}

    def compile(self):
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise SystemExit("bench: no C compiler (apt-get install gcc)")
        flags = ["-O2", "-Wall", "-Wextra", "-Werror"]
        for src, out, extra in [("stamp.c", self.stamp, ["-static"]),
                                ("floor.c", self.floor, []),
                                ("lat.c", self.lat, [])]:
            r = sh([cc, *flags, *extra, "-o", str(out), str(HERE / src)])
            if r.returncode != 0:
                raise SystemExit(f"bench: cc {src} failed:\n{r.stderr}")

    def cleanup(self):
        if self.daemon:
            self.daemon.stop()
        for p in started:
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(timeout=10)
                except Exception:
                    pass
        remove_cgroups()
        shutil.rmtree(self.work, ignore_errors=True)


def cg_parent(tag):
    return f"{CG_PREFIX}-{tag}"


def make_cg_parent(tag):
    """Create our parent in every v1 hierarchy jails use (or in v2)."""
    name = cg_parent(tag)
    if is_v2():
        d = CG_MOUNT / name
        d.mkdir(exist_ok=True)
        (d / "cgroup.subtree_control").write_text("+cpu +memory +pids")
        return name
    for h in ("memory", "pids", "cpu", "cpuacct"):
        (CG_MOUNT / h / name).mkdir(exist_ok=True)
    return name


def remove_cgroups():
    """Remove every cgroup this run created (jailer-bench-<pid>-*), deepest
    first, in every hierarchy (runc makes them in all of them)."""
    for h in ([CG_MOUNT] if is_v2() else [p for p in CG_MOUNT.iterdir() if p.is_dir()]):
        for top in h.glob(f"{CG_PREFIX}-*"):
            dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
            for d in dirs + [top]:
                for _ in range(100):
                    try:
                        d.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.05)


# ------------------------------------------------------------------ contenders

def jail_flags(env, jid):
    """The jailer/jailerctl flags of every jail here; jid may hold %N."""
    return ["--id", jid, "--exec", str(env.stamp), "--jail-root", str(env.root),
            "--memory", MEMORY, "--pids", PIDS, "--cpu", CPUS]


def contenders(env):
    """Command lines, each run through bench/lat.  name -> (argv, note)."""
    c = {}
    c["exec, no isolation"] = ([str(env.stamp)], "fork+exec of the stamp: process start alone")
    c["floor"] = ([str(env.floor), "--root", str(env.root), "--cgroup-parent", make_cg_parent("floorcmd"),
                   "--", "/bin/stamp"], "bench/floor.c as a command")
    if os.access(env.jailer, os.X_OK):
        c["jailer"] = ([str(env.jailer), *jail_flags(env, f"jb-{PID}-%N"), "--cgroup-parent",
                        make_cg_parent("jailer")], "one-shot CLI")
        # The floor installs no seccomp filter; this row prices the jail core's baseline filter.
        c["jailer --seccomp none"] = ([str(env.jailer), *jail_flags(env, f"jbn-{PID}-%N"), "--cgroup-parent",
                                       make_cg_parent("jailer"), "--seccomp", "none"],
                                      "one-shot CLI without its seccomp filter: the floor's isolation")
    else:
        env.skipped["jailer"] = f"{env.jailer} not built"
    if env.daemon and os.access(env.jailerctl, os.X_OK):
        c["jailerctl run"] = ([str(env.jailerctl), "--socket", str(env.daemon.sock), "run",
                               *jail_flags(env, f"jc-{PID}-%N")], "client → jailerd → supervisor → jail")
    elif "jailerctl run" not in env.skipped:
        env.skipped["jailerctl run"] = "jailerd or jailerctl not built"
    if shutil.which("bwrap"):
        c["bwrap"] = ([shutil.which("bwrap"), "--unshare-all", "--die-with-parent", "--ro-bind", str(env.root), "/",
                       "--proc", "/proc", "--dev", "/dev", "--uid", "65534", "--gid", "65534",
                       "--cap-drop", "ALL", "--hostname", "bw", "/bin/stamp"],
                      "--unshare-all, pivot_root, own /proc and /dev; no cgroup")
    else:
        env.skipped["bwrap"] = "not installed (apt-get install bubblewrap)"
    if shutil.which("unshare"):
        c["unshare"] = ([shutil.which("unshare"), "-Urpf", "--mount-proc", "-m", "-n", "-u", "-i", "-C", "--root",
                         str(env.root), "/bin/stamp"], "all 7 namespaces, chroot, own /proc; no cgroup, no /dev")
    else:
        env.skipped["unshare"] = "not installed (util-linux)"
    if shutil.which("runc"):
        c["runc"] = ([shutil.which("runc"), "--root", str(env.work / "runc"), "run", "--bundle",
                      str(env.work / "bundles" / "w%W"), f"jbr-{PID}-%N"],
                     "OCI bundle: same namespaces, limits, no caps")
        runc_bundles(env, 32)
    else:
        env.skipped["runc"] = "not installed (apt-get install runc)"
    if shutil.which("crun"):
        # Tried so that its answer is on record: crun 1.8 refuses hybrid hosts.
        c["crun"] = ([shutil.which("crun"), "--root", str(env.work / "crun"), "run", "--bundle",
                      str(env.work / "bundles" / "w%W"), f"jbcr-{PID}-%N"], "same OCI bundle as runc")
        runc_bundles(env, 32)
    else:
        env.skipped["crun"] = "not installed (apt-get install crun)"
    return c


def runc_bundles(env, n):
    """One bundle per concurrent worker (each gets its own cgroup path)."""
    parent = cg_parent("runc")
    for w in range(n):
        b = env.work / "bundles" / f"w{w}"
        b.mkdir(parents=True, exist_ok=True)
        cfg = {
            "ociVersion": "1.0.2",
            "process": {
                "terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/bin/stamp"], "env": [],
                "cwd": "/", "noNewPrivileges": True,
                "capabilities": {k: [] for k in ("bounding", "effective", "permitted", "ambient",
                                                 "inheritable")},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                            {"type": "RLIMIT_NPROC", "hard": 64, "soft": 64},
                            {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
            },
            "root": {"path": str(env.root), "readonly": True},
            "hostname": "runc",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "noexec", "mode=755", "size=64k"]},
            ],
            "linux": {
                # uid 0 of the container is host uid 65534, as ours runs as 65534.
                "uidMappings": [{"containerID": 0, "hostID": 65534, "size": 1}],
                "gidMappings": [{"containerID": 0, "hostID": 65534, "size": 1}],
                "resources": {"memory": {"limit": 268435456}, "pids": {"limit": 64},
                              "cpu": {"quota": 100000, "period": 100000}},
                "cgroupsPath": f"/{parent}/w{w}",
                "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup",
                                                     "user")],
                "maskedPaths": [],
                "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
            },
        }
        (b / "config.json").write_text(json.dumps(cfg))


# ------------------------------------------------------------------ jailerd

class Daemon:
    """A private jailerd: its socket in the work directory, its state on a
    tmpfs of its own mount namespace (as /run is on a systemd host; this
    host's /run is on ext4, where the state's fsyncs cost milliseconds —
    --daemon-state-on-disk measures that instead)."""

    def __init__(self, env, on_disk=False):
        self.env = env
        d = env.work / "jailerd"
        self.dir = d
        self.sock = d / "jailerd.sock"
        self.state = d / "state"
        self.jails = d / "jails"
        for p in (self.state, self.jails):
            p.mkdir(parents=True, exist_ok=True)
        self.cg = cg_parent("jailerd")
        self.log = open(env.logs / "jailerd.log", "w")
        argv = [str(env.jailerd), "--socket", str(self.sock), "--state-dir", str(self.state),
                "--jails-dir", str(self.jails), "--cgroup-parent", self.cg, "--group", "root",
                "--retention", "5", "--stop-jails-on-exit", "--max-jails", "0", "--max-clients", "0"]
        if os.access(env.supervisor, os.X_OK):
            argv += ["--supervisor", str(env.supervisor)]
        if on_disk:
            self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log)
        else:
            # exec keeps the pid: the Popen is jailerd itself.
            script = ('mount -t tmpfs -o mode=0755 jailer-bench "$1" && shift && exec "$@"')
            self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                          script, "sh", str(self.state), *argv],
                                         stdout=self.log, stderr=self.log)
        started.append(self.proc)
        for _ in range(200):
            if self.sock.exists():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"jailerd exited with {self.proc.returncode}: "
                                   f"{(env.logs / 'jailerd.log').read_text()[-500:]}")
            time.sleep(0.02)
        else:
            raise RuntimeError("jailerd did not create its socket")
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Client:
    """JSON-RPC over the daemon's socket, no library of ours."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(str(path))
        self.f = self.s.makefile("rb")
        self.next = 1

    def send(self, method, params=None, fds=None):
        i = self.next
        self.next += 1
        msg = {"jsonrpc": "2.0", "id": i, "method": method}
        if params is not None:
            msg["params"] = params
        line = json.dumps(msg, separators=(",", ":")).encode() + b"\n"
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.s.sendmsg([line], anc)
        return i

    def recv(self, want_id):
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("jailerd closed the connection")
            msg = json.loads(line)
            if msg.get("id") == want_id:
                if "error" in msg:
                    raise RuntimeError(f"jailerd: {msg['error']}")
                return msg["result"]

    def call(self, method, params=None, fds=None):
        return self.recv(self.send(method, params, fds))

    def close(self):
        self.f.close()
        self.s.close()


def jail_config(env, jid, args=None):
    return {"id": jid, "exec_path": str(env.stamp), "exec_args": args or [], "jail_root": str(env.root),
            "limits": {"memory_bytes": 256 << 20, "cpu_quota_us": 100000, "cpu_period_us": 100000,
                       "pids": 64}}


def read_stamp(fd, timeout=30):
    """The stamp's line from a pipe: (start_ns, end_ns)."""
    import select
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
        if not r:
            raise RuntimeError("no stamp from the jail")
        chunk = os.read(fd, 256)
        if not chunk:
            break
        buf += chunk
    m = re.search(rb"stamp (\d+) (\d+)", buf)
    if not m:
        raise RuntimeError(f"no stamp in {buf!r}")
    return int(m.group(1)), int(m.group(2))


def daemon_latency(env, reps, warmup, tag, gap_ms=0, prepared=False):
    """create written -> stamp; -> create reply; -> wait reply (exit report).
    prepared: the jail is made by create with "start": false first (not
    timed), and the clock starts when `start` is written."""
    cl = Client(env.daemon.sock)
    devnull = os.open("/dev/null", os.O_RDWR)
    out = {"to_stamp": [], "to_reply": [], "to_report": [], "notify": []}
    try:
        for i in range(warmup + reps):
            if gap_ms and i:
                time.sleep(gap_ms / 1000)
            r, w = os.pipe()
            jid = f"jd-{PID}-{tag}-{'p' if prepared else ''}{i}"
            cfg = jail_config(env, jid)
            if prepared:
                cfg["start"] = False
                cl.recv(cl.send("create", cfg, [devnull, w, devnull]))
                t0 = time.monotonic_ns()
                cl.recv(cl.send("start", {"jail": jid}))
            else:
                t0 = time.monotonic_ns()
                cl.recv(cl.send("create", cfg, [devnull, w, devnull]))
            t_reply = time.monotonic_ns()
            os.close(w)
            wid = cl.send("wait", {"jail": jid})
            rep = cl.recv(wid)
            t_report = time.monotonic_ns()
            start, end = read_stamp(r)
            os.close(r)
            if rep.get("exit_code") != 0:
                raise RuntimeError(f"jail {jid}: {rep}")
            if i >= warmup:
                out["to_stamp"].append((start - t0) / 1000)
                out["to_reply"].append((t_reply - t0) / 1000)
                out["to_report"].append((t_report - t0) / 1000)
                out["notify"].append((t_report - end) / 1000)
    finally:
        os.close(devnull)
        cl.close()
    return out


def lat_throughput(env, name, conc, duration, args):
    """`lat --workers conc --duration duration ARGS`: runs per second."""
    r = subprocess.run([str(env.lat), "--workers", str(conc), "--duration", str(duration), *args],
                       capture_output=True, text=True, timeout=600)
    m = re.search(r"throughput \d+ (\d+) ([\d.]+) (\d+)", r.stdout)
    if not m:
        say(f"  {name} c={conc}: lat said {(r.stdout + r.stderr)[-300:]!r}")
        return float("nan")
    if int(m.group(3)):
        say(f"  {name} c={conc}: {m.group(3)} runs failed {r.stderr[-300:]!r}")
    return int(m.group(1)) / float(m.group(2))


def daemon_throughput(env, conc, duration):
    """conc clients, each create+wait in a loop on its own connection: lat's
    C clients (bench/lat.c --jailerd), as lean as the floor's workers."""
    config = json.dumps(jail_config(env, f"jt-{PID}-{conc}-%N"), separators=(",", ":"))
    return lat_throughput(env, "jailerd", conc, duration, ["--jailerd", str(env.daemon.sock), "--", config])


class FloorServer:
    """bench/floor.c --serve: the floor behind a socket, jailing each
    request in the serving process itself (no process per jail but the
    jail's own), as a daemon with one supervisor for many jails would.
    What it adds to the in-process floor is the price of being a daemon
    at all: the request's hop in, the reply's hop out."""

    def __init__(self, env, workers=1):
        self.path = env.work / f"floor-{len(started)}.sock"
        self.proc = subprocess.Popen([str(env.floor), "--root", str(env.root), "--cgroup-parent",
                                      make_cg_parent("floorsrv"), "--serve", str(self.path),
                                      "--workers", str(workers), "--", "/bin/stamp"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(self.proc)
        if self.proc.stdout.readline() != b"ready\n":
            self.stop()
            raise RuntimeError(f"floor --serve did not start: {self.proc.stderr.read().decode()[-300:]}")

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(60)  # a jail of the stamp takes milliseconds: never wait for ever
        s.connect(str(self.path))
        return s

    @staticmethod
    def jail(s):
        """One jail: (start_ns, end_ns) of the stamp, after the reply."""
        s.send(b"jail")
        f = s.recv(256).split()
        if len(f) != 4 or f[0] != b"served" or f[3] != b"0":
            raise RuntimeError(f"floor --serve: {f!r}")
        return int(f[1]), int(f[2])

    def stop(self):
        """Ends at its standard input's end (its clients closed first)."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode:
            say(f"  floor --serve exited with {self.proc.returncode}: {self.proc.stderr.read().decode()[-300:]}")
        self.proc.stdout.close()
        self.proc.stderr.close()


def served_latency(env, reps, warmup):
    """Request sent -> stamp; -> reply (reaped, leaves removed)."""
    srv = FloorServer(env)
    out = {"to_stamp": [], "to_exit": [], "tail": []}
    try:
        s = srv.connect()
        try:
            for i in range(warmup + reps):
                t0 = time.monotonic_ns()
                start, end = srv.jail(s)
                t1 = time.monotonic_ns()
                if i >= warmup:
                    out["to_stamp"].append((start - t0) / 1000)
                    out["to_exit"].append((t1 - t0) / 1000)
                    out["tail"].append((t1 - end) / 1000)
        finally:
            s.close()
    finally:
        srv.stop()
    return out


def served_throughput(env, conc, duration):
    """conc clients (lat --served), each on its own connection to its own
    worker."""
    srv = FloorServer(env, conc)
    try:
        return lat_throughput(env, "floor, served", conc, duration, ["--served", str(srv.path)])
    finally:
        srv.stop()


# ------------------------------------------------------------------ latency

def children_cpu_us():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1e6


def proc_cpu_us(pid):
    """utime+stime+cutime+cstime of pid, in µs (clock-tick resolution)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(x) for x in f[11:15]) * 1e6 / os.sysconf("SC_CLK_TCK")


def launcher_pids(dpid):
    """jailerd's supervisor launcher (jailer-supervisor --launcher), if any."""
    out = []
    for c in children(dpid):
        try:
            if b"--launcher" in Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0"):
                out.append(c)
        except OSError:
            pass
    return out


def supervisor_pids(dpid):
    """jailerd's supervisors: forked by its launcher, or its own children
    (exec'd, when there is no launcher)."""
    ls = launcher_pids(dpid)
    return [c for c in children(dpid) if c not in ls] + [c for l in ls for c in children(l)]


def daemon_cpu_us(dpid):
    """CPU time of jailerd and of the supervisors it or its launcher reaped."""
    return proc_cpu_us(dpid) + sum(proc_cpu_us(l) for l in launcher_pids(dpid))


def stderr_log(env, argv):
    return env.logs / (Path(argv[0]).name + ".stderr")


def run_lat(env, argv, reps, warmup, gap_ms=0):
    r = subprocess.run([str(env.lat), "--reps", str(reps), "--warmup", str(warmup), "--gap", str(gap_ms), "--stderr",
                        str(stderr_log(env, argv)), "--", *argv],
                       capture_output=True, text=True, timeout=600)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"lat {argv[0]}: {r.stderr.strip()}")
    rows = []
    for line in r.stdout.splitlines():
        f = line.split()
        if f and f[0] == "lat":
            rows.append((float(f[1]), float(f[2]), int(f[3]), float(f[4])))
    return rows


def run_floor_reps(env, reps, extra=None):
    argv = [str(env.floor), "--root", str(env.root), "--cgroup-parent", make_cg_parent("floor"),
            "--reps", str(reps)]
    if extra:
        argv += extra
    r = subprocess.run([*argv, "--", "/bin/stamp"], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"floor failed: {r.stderr.strip()}")
    rows = []
    for line in r.stdout.splitlines():
        f = line.split()
        if f and f[0] == "floor":
            rows.append([float(x) for x in f[1:]])
    return rows


FLOOR_STEPS = ["cgroup + limits", "clone3 (namespaces)", "child released (in its cgroups)", "mounts",
               "pivot_root", "hostname, lo, rlimits", "user namespace", "uid/gid maps",
               "privileges dropped", "execve → main()"]


def latency(env, cmds, res):
    a = env.args
    rounds, per, warm = a.rounds, a.reps_per_round, a.warmup
    lat = {name: {"to_stamp": [], "to_exit": [], "tail": [], "fail": 0} for name in cmds}
    lat["floor, in process"] = {"to_stamp": [], "to_exit": [], "tail": [], "fail": 0, "steps": []}
    lat["floor, served"] = {"to_stamp": [], "to_exit": [], "tail": [], "fail": 0}
    if env.daemon:
        for n in ("jailerd create (socket)", "jailerd start (prepared)"):
            lat[n] = {"to_stamp": [], "to_exit": [], "tail": [], "fail": 0, "to_reply": [], "notify": []}
    names = list(lat)
    for L in lat.values():
        L["cpu_us"] = 0.0
        L["cpu_jails"] = 0
    say(f"latency: {rounds} rounds × {per} runs of each of {len(names)} contenders (+{warm} warm-up each round)")
    for rnd in range(rounds):
        order = names[:]
        random.Random(rnd).shuffle(order)  # no contender always runs after the same one
        for name in order:
            L = lat[name]
            # CPU time of everything the contender ran (reaped children, recursively; for
            # jailerd the daemon's own and its reaped supervisors'): robust where wall-clock
            # time is not, on a shared machine.  Kernel threads (netns clean-up, RCU) excluded.
            cpu0 = children_cpu_us()
            d0 = daemon_cpu_us(env.daemon.pid) if env.daemon else 0
            if name == "floor, in process":
                rows = run_floor_reps(env, per + warm)[warm:]
                for row in rows:
                    L["to_stamp"].append(row[9])
                    L["to_exit"].append(row[11])
                    L["tail"].append(row[11] - row[12])
                    L["steps"].append(row)
            elif name == "floor, served":
                o = served_latency(env, per, warm)
                for k in ("to_stamp", "to_exit", "tail"):
                    L[k] += o[k]
            elif name.startswith("jailerd "):
                o = daemon_latency(env, per, warm, f"r{rnd}", prepared=name == "jailerd start (prepared)")
                L["to_stamp"] += o["to_stamp"]
                L["to_exit"] += o["to_report"]
                L["to_reply"] += o["to_reply"]
                L["notify"] += o["notify"]
                L["tail"] += o["notify"]
            else:
                for s, e, st, tail in run_lat(env, cmds[name][0], per, warm):
                    if st != 0 or s < 0:
                        L["fail"] += 1
                        continue
                    L["to_stamp"].append(s)
                    L["to_exit"].append(e)
                    L["tail"].append(tail)
            L["cpu_us"] += children_cpu_us() - cpu0
            if name.startswith("jailerd") or name == "jailerctl run":
                L["cpu_us"] += daemon_cpu_us(env.daemon.pid) - d0
            L["cpu_jails"] += per + warm
        # What one hop between processes costs here (a blocked reader woken
        # by a write after a quiet millisecond): the kernel's share of each
        # hop a request makes through the daemon.
        r = sh([str(env.lat), "--wake", str(per), "--gap-us", "1000"])
        res.setdefault("wake_us", []).extend(float(x.split()[1]) for x in r.stdout.splitlines()
                                             if x.startswith("wake "))
        say(f"  round {rnd + 1}/{rounds} done, load {os.getloadavg()[0]:.2f}")
    res["latency"] = lat
    if shutil.which("hyperfine") and not a.quick:
        # A second opinion on the end-to-end figures, from a tool that is not ours.
        hf = {}
        for name in ("floor", "jailer", "jailerctl run", "bwrap", "unshare"):
            if name not in cmds:
                continue
            argv = [x.replace("%N", "hf").replace("%W", "0") for x in cmds[name][0]]
            j = env.work / "hyperfine.json"
            r = sh(["hyperfine", "-N", "--style", "none", "--warmup", "5", "--runs", str(min(200, rounds * per)),
                    "--export-json", str(j), " ".join(shq(x) for x in argv)])
            if r.returncode == 0 and j.exists():
                d = json.loads(j.read_text())["results"][0]
                hf[name] = {"median_ms": d["median"] * 1e3, "mean_ms": d["mean"] * 1e3,
                            "stddev_ms": (d.get("stddev") or 0) * 1e3}
        res["hyperfine"] = hf


def spaced(env, cmds, res):
    """Jails asked for one at a time after a quiet spell, as a service sees
    them: on cgroup v1 the first cgroup.procs write after a pause waits for
    an RCU grace period (cgroup_threadgroup_rwsem), which back-to-back runs
    never see; a child that moves itself in (the floor's default, and the
    jail core's) does without it.  The row "floor, attach by pid" shows it."""
    a = env.args
    names = ["floor, in process"] + (["floor, in process, attach by pid"] if not is_v2() else []) + \
        (["jailerd create (socket)"] if env.daemon else []) + \
        [n for n in ("floor", "jailer", "jailerctl run", "bwrap", "runc") if n in cmds]
    out = {n: {"to_stamp": [], "attach": []} for n in names}
    rounds = a.spaced_rounds
    per = max(1, a.spaced_reps // rounds)
    say(f"spaced: {rounds} rounds × {per} jails of each, {a.gap} ms apart")
    for rnd in range(rounds):
        order = names[:]
        random.Random(1000 + rnd).shuffle(order)
        for name in order:
            if name.startswith("floor, in process"):
                extra = ["--attach-by-pid"] if name.endswith("by pid") else []
                for row in run_floor_reps(env, per, extra=["--gap", str(a.gap), *extra]):
                    out[name]["to_stamp"].append(row[9])
                    out[name]["attach"].append(row[2] - row[1])
            elif name == "jailerd create (socket)":
                out[name]["to_stamp"] += daemon_latency(env, per, 0, f"s{rnd}", gap_ms=a.gap)["to_stamp"]
            else:
                for s_, e, st, tail in run_lat(env, cmds[name][0], per, 0, gap_ms=a.gap):
                    if st == 0 and s_ >= 0:
                        out[name]["to_stamp"].append(s_)
            time.sleep(a.gap / 1000)
    res["spaced"] = out


# ------------------------------------------------------------------ throughput

def throughput_point(env, cmds, name, conc, duration):
    if name == "floor, in process":
        r = subprocess.run([str(env.floor), "--root", str(env.root), "--cgroup-parent", make_cg_parent("floor"),
                            "--workers", str(conc), "--duration", str(duration), "--", "/bin/stamp"],
                           capture_output=True, text=True, timeout=600)
        m = re.search(r"throughput \d+ (\d+) ([\d.]+)", r.stdout)
        return int(m.group(1)) / float(m.group(2)) if m else float("nan")
    if name == "jailerd create+wait (socket)":
        return daemon_throughput(env, conc, duration)
    if name == "floor, served":
        return served_throughput(env, conc, duration)
    return lat_throughput(env, name, conc, duration,
                          ["--stderr", str(stderr_log(env, cmds[name][0])), "--", *cmds[name][0]])


def throughput(env, cmds, res):
    """Rounds of short points, contenders shuffled within each concurrency
    level, so that a noisy minute hits every contender alike; the median of
    the rounds is reported."""
    a = env.args
    names = ["floor, in process", "floor, served"] + \
        [n for n in cmds if n not in ("exec, no isolation", "jailer --seccomp none")]
    if env.daemon:
        names.insert(1, "jailerd create+wait (socket)")
    rounds = a.tput_rounds
    per = a.duration / rounds
    samples = {n: {c: [] for c in a.concurrency} for n in names}
    say(f"throughput: concurrency {a.concurrency}, {rounds} rounds of {per:.1f} s per point")
    for rnd in range(rounds):
        for conc in a.concurrency:
            order = names[:]
            random.Random(rnd * 100 + conc).shuffle(order)
            for name in order:
                time.sleep(a.settle)  # let the previous point's namespaces finish dying
                samples[name][conc].append(throughput_point(env, cmds, name, conc, per))
        say(f"  round {rnd + 1}/{rounds} done, load {os.getloadavg()[0]:.2f}")
    out = {n: {c: statistics.median(v) for c, v in row.items()} for n, row in samples.items()}
    for n, row in out.items():
        say(f"  {n:32s} " + "  ".join(f"c={c}: {row[c]:6.1f}/s" for c in a.concurrency))
    res["throughput"] = out
    res["throughput_samples"] = samples


# ------------------------------------------------------------------ scale

def proc_status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def nfds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def scale_daemon(env, n, probes):
    """n sleeping jails through jailerd: footprint, and exit-notification
    latency of short jails with 1 and with n running."""
    cl = Client(env.daemon.sock)
    devnull = os.open("/dev/null", os.O_RDWR)
    out = {"n_target": n}
    created = []

    def notify_latency(tag):
        xs = []
        for i in range(probes):
            r, w = os.pipe()
            jid = f"jn-{PID}-{tag}-{i}"
            cl.call("create", jail_config(env, jid), [devnull, w, devnull])
            os.close(w)
            rep = cl.call("wait", {"jail": jid})
            t = time.monotonic_ns()
            _, end = read_stamp(r)
            os.close(r)
            if rep.get("exit_code") == 0:
                xs.append((t - end) / 1000)
        return xs

    try:
        rss_idle = proc_status(env.daemon.pid, "VmRSS")
        # One sleeping jail, then the baseline.
        def add(k):
            jid = f"js-{PID}-{k}"
            cl.call("create", jail_config(env, jid, ["sleep"]), [devnull, devnull, devnull])
            created.append(jid)
        add(0)
        out["notify_1"] = notify_latency("one")
        mem0 = mem_available_kib()
        sup0 = set(children(env.daemon.pid))
        t0 = time.monotonic()
        try:
            while len(created) < n:
                add(len(created))
        except Exception as e:
            out["stopped_at"] = len(created)
            out["stop_reason"] = str(e)
            say(f"  jailerd: stopped at {len(created)} jails: {e}")
        out["create_secs"] = time.monotonic() - t0
        out["n"] = len(created)
        time.sleep(1)
        dpid = env.daemon.pid
        sups = supervisor_pids(dpid)
        lpids = launcher_pids(dpid)
        out["launcher_pss_kib"] = sum(pss_kib(p) for p in lpids)
        out["daemon_rss_kib_idle"] = rss_idle
        out["daemon_rss_kib"] = proc_status(dpid, "VmRSS")
        out["daemon_pss_kib"] = pss_kib(dpid)
        out["daemon_fds"] = nfds(dpid)
        out["supervisors"] = len(sups)
        pss = [pss_kib(p) for p in sups]
        rss = [proc_status(p, "VmRSS") for p in sups]
        fds = [nfds(p) for p in sups]
        out["supervisor_pss_kib"] = summary(pss) if pss else None
        out["supervisor_rss_kib"] = summary(rss) if rss else None
        out["supervisor_fds"] = summary(fds) if fds else None
        out["system_kib_per_jail"] = (mem0 - mem_available_kib()) / max(1, len(created) - 1)
        out["notify_n"] = notify_latency("many")
        # Tear down: SIGKILL every jail, then wait for each report.
        t0 = time.monotonic()
        for jid in created:
            try:
                cl.call("kill", {"jail": jid, "signal": "SIGKILL"})
            except RuntimeError:
                pass
        for jid in created:
            try:
                cl.call("wait", {"jail": jid})
            except RuntimeError:
                pass
        out["teardown_secs"] = time.monotonic() - t0
        created.clear()
    finally:
        for jid in created:
            try:
                cl.call("kill", {"jail": jid, "signal": "SIGKILL"})
            except Exception:
                pass
        os.close(devnull)
        cl.close()
    return out


def scale_jailer(env, n):
    """n one-shot jailer processes, each holding a sleeping jail."""
    out = {"n_target": n}
    procs = []
    mem0 = mem_available_kib()
    t0 = time.monotonic()
    devnull = open(os.devnull, "w")
    try:
        for k in range(n):
            p = subprocess.Popen([str(env.jailer), *jail_flags(env, f"jbs-{PID}-{k}"), "--cgroup-parent",
                                  make_cg_parent("jailer"), "--", "sleep"],
                                 stdout=subprocess.PIPE, stderr=devnull)
            started.append(p)
            procs.append(p)
            line = p.stdout.readline()  # the stamp: the jail runs
            if not line.startswith(b"stamp"):
                out["stopped_at"] = k
                out["stop_reason"] = f"jailer exited {p.wait()}"
                say(f"  jailer: stopped at {k} jails: exit {p.returncode}")
                procs.pop()
                break
        out["create_secs"] = time.monotonic() - t0
        out["n"] = len(procs)
        time.sleep(1)
        pids = [p.pid for p in procs]
        pss = [pss_kib(p) for p in pids]
        rss = [proc_status(p, "VmRSS") for p in pids]
        fds = [nfds(p) for p in pids]
        out["jailer_pss_kib"] = summary(pss)
        out["jailer_rss_kib"] = summary(rss)
        out["jailer_fds"] = summary(fds)
        out["system_kib_per_jail"] = (mem0 - mem_available_kib()) / max(1, len(procs))
    finally:
        t0 = time.monotonic()
        for p in procs:
            for c in children(p.pid):  # the jail's PID 1: the jailer then reaps and cleans up
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stdout.close()
        out["teardown_secs"] = time.monotonic() - t0
        devnull.close()
    return out


def scale(env, res):
    n = env.args.scale
    out = {}
    limits = {"pid_max": int(Path("/proc/sys/kernel/pid_max").read_text()),
              "max_user_namespaces": int(Path("/proc/sys/user/max_user_namespaces").read_text()),
              "max_net_namespaces": int(Path("/proc/sys/user/max_net_namespaces").read_text()),
              "nofile": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)}
    out["host_limits"] = limits
    if env.daemon:
        say(f"scale: {n} sleeping jails through jailerd")
        out["jailerd"] = scale_daemon(env, n, env.args.probes)
        d = out["jailerd"]
        say(f"  jailerd: {d.get('n')} jails, daemon RSS {d.get('daemon_rss_kib')} KiB "
            f"(idle {d.get('daemon_rss_kib_idle')}), supervisor PSS p50 "
            f"{(d.get('supervisor_pss_kib') or {}).get('p50')} KiB, notify p50 "
            f"{ms(pct(d['notify_1'], 50))} ms with 1 vs {ms(pct(d['notify_n'], 50))} ms with {d.get('n')}")
    if os.access(env.jailer, os.X_OK):
        time.sleep(env.args.settle)
        say(f"scale: {n} sleeping jails, one jailer process each")
        out["jailer"] = scale_jailer(env, n)
        j = out["jailer"]
        say(f"  jailer: {j.get('n')} jails, PSS per jailer p50 {j['jailer_pss_kib']['p50']:.0f} KiB, "
            f"fds {j['jailer_fds']['p50']:.0f}, system memory per jail {j['system_kib_per_jail']:.0f} KiB")
    res["scale"] = out


# ------------------------------------------------------------------ profile

def profile(env, cmds, res):
    out = {}
    pdir = env.work / "profile"
    pdir.mkdir(exist_ok=True)

    # 1. The floor, step by step, and what leaving each step out saves.
    reps = env.args.profile_reps
    base = run_floor_reps(env, reps)
    steps = []
    prev = [0.0] * len(base)
    for k, name in enumerate(FLOOR_STEPS):
        col = 9 if k == 9 else k
        xs = [row[col] - (p if k else 0) for row, p in zip(base, prev)]
        prev = [row[col] for row in base]
        steps.append((name, pct(xs, 50), pct(xs, 90)))
    teardown = [row[11] - row[9] for row in base]
    out["floor_steps"] = steps
    out["floor_teardown_p50"] = pct(teardown, 50)
    # Interleaved rounds: each variant runs as often, and as close in time, as the full floor.
    variants = {"full": None, **{f"no {k}": ["--skip", k] for k in
                ["net", "user", "cgroup", "limits", "mnt", "proc,dev", "pid", "ipc", "uts", "cgns", "caps"]},
                "new mount API": ["--mount-api", "new"], "attach by pid": ["--attach-by-pid"],
                "attach by pid, overlapped": ["--attach-by-pid", "--overlap"],
                "new mount API + attach by pid, overlapped": ["--mount-api", "new", "--attach-by-pid", "--overlap"]}
    rows_of = {k: [] for k in variants}
    round_p50 = {k: [] for k in variants}
    rounds = max(1, reps // 20)
    for rnd in range(rounds):
        order = list(variants.items())
        random.Random(2000 + rnd).shuffle(order)
        for k, extra in order:
            rows = run_floor_reps(env, max(1, reps // rounds), extra=extra)
            rows_of[k] += rows
            round_p50[k].append((pct([r[9] for r in rows], 50), pct([r[11] for r in rows], 50)))
    abl = {}
    for k, rows in rows_of.items():
        # "saves": the median over rounds of (full - variant), each pair measured minutes
        # apart at most, which cancels the machine's slow drifts.
        d_main = statistics.median(f[0] - v[0] for f, v in zip(round_p50["full"], round_p50[k]))
        d_done = statistics.median(f[1] - v[1] for f, v in zip(round_p50["full"], round_p50[k]))
        abl[k] = (pct([r[9] for r in rows], 50), pct([r[11] for r in rows], 50),
                  pct([r[9] for r in rows], 90), d_main, d_done)
    out["floor_full"] = abl.pop("full")
    out["floor_ablation"] = abl
    say("profile: floor steps and ablation done")

    jl = cmds.get("jailer")
    if jl and shutil.which("strace"):
        # 2. strace -c over many runs; a -T timeline of a few.
        argv = [a.replace("%N", f"s{i}") for i, a in enumerate(jl[0])]
        f = pdir / "strace-c.txt"
        script = ("i=0; while [ $i -lt {n} ]; do {cmd} --id jbp-{pid}-$i >/dev/null || exit 1; "
                  "i=$((i+1)); done").format(n=reps, pid=PID,
                                             cmd=" ".join(shq(x) for x in _without_id(argv)))
        sh(["strace", "-c", "-f", "-S", "time", "-o", str(f), "sh", "-c", script])
        out["strace_c"] = f.read_text() if f.exists() else ""
        tl = pdir / "strace-T.txt"
        sh(["strace", "-f", "--seccomp-bpf", "-ttt", "-T", "-o", str(tl), "-e",
            "trace=%process,openat,mkdirat,write,unshare,pivot_root,move_mount,fsmount,open_tree,mount,umount2,"
            "sendto,recvfrom,unlinkat,rmdir,seccomp,socketpair,sethostname,ioctl,mount_setattr,setresuid,capset",
            *_without_id(argv), "--id", f"jbt-{PID}"])
        out["strace_timeline"] = strace_timeline(tl)
        say("profile: strace done")
    if jl and shutil.which("perf") and sh(["perf", "stat", "-e", "task-clock", "true"]).returncode == 0:
        hw = sh(["perf", "stat", "-e", "instructions", "true"])
        out["perf_hw"] = "not supported" not in hw.stderr
        data = pdir / "perf.data"
        script = ("i=0; while [ $i -lt {n} ]; do {cmd} --id jbq-{pid}-$i >/dev/null || exit 1; "
                  "i=$((i+1)); done").format(n=reps, pid=PID, cmd=" ".join(shq(x) for x in _without_id(jl[0])))
        st = sh(["perf", "stat", "-e", "task-clock,context-switches,cpu-migrations,page-faults", "--",
                 "sh", "-c", script])
        out["perf_stat"] = st.stderr
        # Only the jailer runs and what they start (not -a: the machine is shared).
        sh(["perf", "record", "-q", "-e", "cpu-clock", "-F", "20000", "-g", "-o", str(data), "--",
            "sh", "-c", script.replace("jbq-", "jbr-")])
        rep = sh(["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", "symbol",
                  "-g", "none", "--percent-limit", "0.7"])
        out["perf_report"] = "\n".join(l for l in rep.stdout.splitlines() if l and not l.startswith("#"))[:6000]
        rep = sh(["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", "comm,dso",
                  "-g", "none", "--percent-limit", "0.5"])
        out["perf_comm"] = "\n".join(l for l in rep.stdout.splitlines() if l and not l.startswith("#"))[:2000]
        say("profile: perf done")
    if jl and shutil.which("valgrind"):
        cg = pdir / "callgrind.out"
        sh(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}", *_without_id(jl[0]),
            "--id", f"jbc-{PID}"])
        if cg.exists():
            ann = sh(["callgrind_annotate", "--inclusive=yes", str(cg)])
            out["callgrind"] = "\n".join(ann.stdout.splitlines()[:60])
        say("profile: callgrind done")
    if env.daemon and shutil.which("strace"):
        tl = pdir / "strace-daemon.txt"
        tr = subprocess.Popen(["strace", "-f", "-ttt", "-T", "-s", "96", "-o", str(tl), "-e",
                               "trace=%process,accept4,recvmsg,sendmsg,sendto,write,openat,mkdir,mkdirat,"
                               "rmdir,unlinkat,fsync,renameat,execveat,pidfd_open,waitid,pivot_root,unshare",
                               "-p", str(env.daemon.pid),
                               *[a for l in launcher_pids(env.daemon.pid) for a in ("-p", str(l))]],
                              stderr=subprocess.DEVNULL)
        started.append(tr)
        time.sleep(1.0)
        daemon_latency(env, 1, 0, "strace")
        time.sleep(0.3)
        tr.send_signal(signal.SIGINT)
        tr.wait(timeout=30)
        out["daemon_timeline"] = daemon_timeline(tl, env.daemon.pid, launcher_pids(env.daemon.pid))
        say("profile: jailerd strace done")
    res["profile"] = out


def shq(s):
    import shlex
    return shlex.quote(s)


def _without_id(argv):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--id":
            skip = True
            continue
        out.append(a)
    return out


def strace_lines(path):
    pat = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*?)(?:\s+<(\d+\.\d+)>)?$")
    for line in Path(path).read_text().splitlines():
        m = pat.match(line)
        if m:
            yield int(m.group(1)), float(m.group(2)), m.group(3), float(m.group(4) or 0)


def daemon_timeline(path, dpid, lpids=()):
    """One create through jailerd, syscall by syscall: time since the request
    was read, who (daemon, supervisor, jail), how long the call took."""
    rows = list(strace_lines(path))
    role = {dpid: "jailerd", **{l: "launcher" for l in lpids}}
    out, t0 = [], None
    for pid, t, call, dur in rows:
        if t0 is None:
            if pid == dpid and call.startswith("recvmsg") and "create" in call:
                t0 = t
            else:
                continue
        if "execve(" in call and "supervisor" in call:
            role[pid] = "supervisor"
        elif role.get(pid) == "launcher" and call.startswith(("clone", "fork", "vfork")):
            m = re.search(r"= (\d+)$", call)
            if m:
                role[int(m.group(1))] = "supervisor"
        elif call.startswith("execveat"):
            role[pid] = "jail"
        who = role.get(pid, "child")
        if "EAGAIN" in call:
            continue
        out.append(f"{(t - t0) * 1e3:8.3f} ms  {who:10s} {dur * 1e3:7.3f} ms  {call[:96]}")
    return out[:150]


def strace_slowest(path, n):
    rows = sorted(strace_lines(path), key=lambda r: -r[3])
    return [f"{r[3] * 1e3:7.3f} ms  {r[2][:110]}" for r in rows[:n] if "epoll_wait" not in r[2]
            and "wait4" not in r[2] and "waitid" not in r[2] and "poll(" not in r[2]]


def strace_timeline(path):
    """Syscalls of one jailer run, with time since the first, the slowest and
    the jail's life marks (clone3, maps, execveat)."""
    rows = list(strace_lines(path))
    if not rows:
        return []
    t0 = rows[0][1]
    keep = []
    first = rows[0][0]
    for pid, t, call, dur in rows:
        if "ld.so" in call or "/lib/" in call or "/etc/ld" in call:
            continue
        who = "jailer" if pid == first else "child"
        keep.append(f"{(t - t0) * 1e3:8.3f} ms  {who:6s} {dur * 1e3:6.3f} ms  {call[:100]}")
    return keep[:160]


# ------------------------------------------------------------------ report

TARGETS = [
    ("create→exec p50 ≤ 1.5× the floor", "p50"),
    ("create→exec p99 ≤ 3× the floor", "p99"),
    ("jailerctl run end to end faster than bwrap --unshare-all", "e2e"),
    ("throughput at concurrency 2 ≥ 70% of the floor's", "tput"),
    ("per-jail memory outside the jail ≤ 256 KiB", "perjail"),
    ("daemon RSS ≤ 16 MiB with 1000 jails", "rss"),
    ("exit-notification latency with 1000 jails ≤ 2× with 1", "notify"),
]


def evaluate(res):
    """Each target: (verdict, evidence)."""
    L = res.get("latency", {})
    T = res.get("throughput", {})
    S = res.get("scale", {})
    ev = {}

    def p(name, key, q):
        xs = L.get(name, {}).get(key, [])
        return pct(xs, q) if xs else None

    fl50, fl99 = p("floor, in process", "to_stamp", 50), p("floor, in process", "to_stamp", 99)
    fc50, fc99 = p("floor", "to_stamp", 50), p("floor", "to_stamp", 99)
    parts50, parts99 = [], []
    ok50 = ok99 = None
    if p("jailerd create (socket)", "to_stamp", 50) is not None and fl50:
        r50 = p("jailerd create (socket)", "to_stamp", 50) / fl50
        r99 = p("jailerd create (socket)", "to_stamp", 99) / fl99
        parts50.append(f"jailerd create→stamp {r50:.2f}× the in-process floor")
        parts99.append(f"jailerd create→stamp {r99:.2f}× the in-process floor")
        ok50, ok99 = r50 <= 1.5, r99 <= 3
    if p("jailer", "to_stamp", 50) is not None and fc50:
        r50 = p("jailer", "to_stamp", 50) / fc50
        r99 = p("jailer", "to_stamp", 99) / fc99
        parts50.append(f"jailer start→stamp {r50:.2f}× the floor command")
        parts99.append(f"jailer start→stamp {r99:.2f}× the floor command")
        ok50 = (r50 <= 1.5) if ok50 is None else ok50
        ok99 = (r99 <= 3) if ok99 is None else ok99
    ev["p50"] = (ok50, "; ".join(parts50))
    ev["p99"] = (ok99, "; ".join(parts99))

    jc, bw = p("jailerctl run", "to_exit", 50), p("bwrap", "to_exit", 50)
    if jc is not None and bw is not None:
        ev["e2e"] = (jc < bw, f"jailerctl run {ms(jc)} ms vs bwrap {ms(bw)} ms (p50, start→reaped); "
                              f"jailer {ms(p('jailer', 'to_exit', 50) or float('nan'))} ms")
    else:
        ev["e2e"] = (None, "jailerctl or bwrap not measured")

    fl = T.get("floor, in process", {}).get(2)
    ours = [(n, T[n].get(2)) for n in ("jailerd create+wait (socket)", "jailerctl run", "jailer") if n in T]
    if fl and ours:
        txt = ", ".join(f"{n} {v / fl * 100:.0f}%" for n, v in ours if v)
        best = ours[0][1]
        ev["tput"] = (best / fl >= 0.7, f"at c=2, of the floor's {fl:.0f}/s: {txt}")
    else:
        ev["tput"] = (None, "not measured")

    d = S.get("jailerd")
    if d and d.get("supervisor_pss_kib"):
        per = d["supervisor_pss_kib"]["p50"] + (d["daemon_pss_kib"] - 0) / max(1, d["n"])
        ev["perjail"] = (per <= 256, f"supervisor PSS p50 {d['supervisor_pss_kib']['p50']:.0f} KiB "
                                     f"(+ daemon {d['daemon_pss_kib'] / max(1, d['n']):.1f} KiB/jail) "
                                     f"with {d['n']} jails")
        full = d["n"] >= 1000
        note = "" if full else f" (only {d['n']} jails: not the target's 1000)"
        ev["rss"] = ((d["daemon_rss_kib"] <= 16384) if full else None,
                     f"{d['daemon_rss_kib'] / 1024:.1f} MiB with {d['n']} jails (idle "
                     f"{d['daemon_rss_kib_idle'] / 1024:.1f} MiB){note}")
        n1, nn = pct(d["notify_1"], 50), pct(d["notify_n"], 50)
        ev["notify"] = ((nn <= 2 * n1) if full else None,
                        f"p50 {ms(n1)} ms with 1, {ms(nn)} ms with {d['n']} ({nn / n1:.2f}×){note}")
    else:
        j = S.get("jailer")
        if j:
            ev["perjail"] = (j["jailer_pss_kib"]["p50"] <= 256,
                             f"one-shot jailer PSS p50 {j['jailer_pss_kib']['p50']:.0f} KiB (no daemon)")
        else:
            ev["perjail"] = (None, "not measured")
        ev["rss"] = (None, "jailerd not measured")
        ev["notify"] = (None, "jailerd not measured")
    return ev


# jailerd at the kernel's floor: the daemon, not the one-shot CLI, measured
# against the in-process floor and bwrap.
FLOOR_TARGETS = [
    ("jailerd create→main() p50 ≤ 1.3× the in-process floor", "p50"),
    ("jailerd create→main() p99 ≤ 1.5× the in-process floor", "p99"),
    ("`jailerctl run` start→reaped p50 < 1.0× `bwrap --unshare-all`", "e2e"),
    ("throughput at concurrency 2 ≥ 75% of the in-process floor's", "tput"),
    ("per-jail memory outside the jail (PSS) ≤ 128 KiB", "perjail"),
    ("one jail every 250 ms: create→main() p50 ≤ 1.5× bwrap's", "spaced"),
    ("`start` of a prepared jail → main() p50 ≤ 0.5 ms", "prepared"),
]


def evaluate_floor(res):
    """Each of FLOOR_TARGETS: (verdict, evidence)."""
    L = res.get("latency", {})
    T = res.get("throughput", {})
    S = res.get("scale", {})
    SP = res.get("spaced", {})
    ev = {}

    def p(src, name, key, q):
        xs = src.get(name, {}).get(key, [])
        return pct(xs, q) if xs else None

    fl50, fl99 = p(L, "floor, in process", "to_stamp", 50), p(L, "floor, in process", "to_stamp", 99)
    j50, j99 = p(L, "jailerd create (socket)", "to_stamp", 50), p(L, "jailerd create (socket)", "to_stamp", 99)
    s50 = p(L, "floor, served", "to_stamp", 50)
    if j50 is not None and fl50:
        ev["p50"] = (j50 / fl50 <= 1.3, f"{j50 / fl50:.2f}× ({ms(j50)} vs {ms(fl50)} ms)" +
                     (f"; the floor served over a socket: {s50 / fl50:.2f}×" if s50 else ""))
        ev["p99"] = (j99 / fl99 <= 1.5, f"{j99 / fl99:.2f}× ({ms(j99)} vs {ms(fl99)} ms)")
    jc, bw = p(L, "jailerctl run", "to_exit", 50), p(L, "bwrap", "to_exit", 50)
    if jc is not None and bw:
        ev["e2e"] = (jc < bw, f"{ms(jc)} vs {ms(bw)} ms ({jc / bw:.2f}×)")
    fl = T.get("floor, in process", {}).get(2)
    ours = T.get("jailerd create+wait (socket)", {}).get(2)
    served = T.get("floor, served", {}).get(2)
    if fl and ours:
        ev["tput"] = (ours / fl >= 0.75, f"{ours / fl * 100:.0f}% ({ours:.0f}/s vs {fl:.0f}/s)" +
                      (f"; the floor served over a socket: {served / fl * 100:.0f}%" if served else ""))
    d = S.get("jailerd")
    if d and d.get("supervisor_pss_kib"):
        n = max(1, d["n"])
        shared = (d["daemon_pss_kib"] + d.get("launcher_pss_kib", 0)) / n
        per = d["supervisor_pss_kib"]["p50"] + shared
        ev["perjail"] = (per <= 128, f"{per:.0f} KiB: supervisor PSS p50 {d['supervisor_pss_kib']['p50']:.0f} KiB "
                                     f"+ jailerd and launcher {shared:.1f} KiB/jail, with {d['n']} jails")
    sj, sb = p(SP, "jailerd create (socket)", "to_stamp", 50), p(SP, "bwrap", "to_stamp", 50)
    if sj is not None and sb:
        ev["spaced"] = (sj <= 1.5 * sb, f"{ms(sj)} vs {ms(sb)} ms ({sj / sb:.2f}×)")
    pr = p(L, "jailerd start (prepared)", "to_stamp", 50)
    if pr is not None:
        # What the kernel's execve of the same program costs in the same
        # jail, from the in-process floor's steps in this run: the part of
        # start no daemon can take away.
        rows = L.get("floor, in process", {}).get("steps", [])
        ex = pct([r[9] - r[8] for r in rows], 50) if rows else None
        wk = pct(res["wake_us"], 50) if res.get("wake_us") else None
        ev["prepared"] = (pr <= 500, f"{ms(pr)} ms" + (f"; the kernel's execve → main() alone: {ms(ex)} ms "
                                                       f"(the floor's step, this run)" if ex else "") +
                          (f"; a hop between processes {wk:.0f} µs" if wk else ""))
    return ev


def verdict(ok):
    return "**met**" if ok is True else ("**not met**" if ok is False else "not measured")


def render(env, res):
    m = res["machine"]
    L = res["latency"]
    out = []
    w = out.append
    w(f"Run of {res['date']} ({'quick' if env.args.quick else 'full'}), `bench/run.py "
      f"{' '.join(res.get('argv', sys.argv[1:]))}`.\n")
    if res.get("updated"):
        w(f"(This run measured {', '.join(res['updated'])}; the rest is from the run of "
          f"{res.get('first_date', '?')}.)\n")
    w("### The machine\n")
    w(f"- {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}, Debian {m['debian']}")
    w(f"- cgroups: {m['cgroup']}; /dev/kvm: {'yes' if m['kvm'] else 'no'}")
    w(f"- load average at start {m['loadavg_start'][0]:.2f}, at end {res['loadavg_end'][0]:.2f} "
      "(the machine is shared: compare ratios from the same run, not absolute figures across runs)")
    w("- " + "; ".join(f"{k}: {v}" for k, v in m["versions"].items()))
    w("")
    w("### Latency (ms)\n")
    w("*to main()*: from just before `posix_spawn()` of the command (for the in-process rows: from the "
      "jail being asked for) to the jailed program's `main()`; *to reaped*: to the command reaped "
      "(jailerd: to the `wait` reply, the exit report). "
      f"{res['latency_reps']} runs each, interleaved rounds.\n")
    fl = L.get("floor", {}).get("to_stamp", [])
    bw = L.get("bwrap", {}).get("to_stamp", [])
    fle = L.get("floor", {}).get("to_exit", [])
    bwe = L.get("bwrap", {}).get("to_exit", [])
    jl = L.get("jailer", {}).get("to_stamp", [])
    jle = L.get("jailer", {}).get("to_exit", [])
    w("| contender | to main() p50 | p90 | p99 | to reaped p50 | p90 | p99 | exit→reaped p50 | CPU per jail | "
      "×floor (p50 main / reaped) | ×bwrap (p50 main / reaped) | ×jailer (p50 main / reaped) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    order = ["floor, in process", "floor, served", "jailerd create (socket)", "jailerd start (prepared)",
             "exec, no isolation", "floor", "jailer", "jailer --seccomp none", "jailerctl run", "bwrap", "unshare", "runc"]
    in_process = ("floor, in process", "floor, served", "jailerd create (socket)", "jailerd start (prepared)")
    for name in order:
        if name not in L or not L[name]["to_stamp"]:
            continue
        a, e = L[name]["to_stamp"], L[name]["to_exit"]
        if name in in_process:
            base, basee = L["floor, in process"]["to_stamp"], L["floor, in process"]["to_exit"]
        else:
            base, basee = fl, fle
        rf = (f"{pct(a, 50) / pct(base, 50):.2f} / {pct(e, 50) / pct(basee, 50):.2f}"
              if base and basee else "–")
        cmdline = name not in in_process
        rb = (f"{pct(a, 50) / pct(bw, 50):.2f} / {pct(e, 50) / pct(bwe, 50):.2f}"
              if bw and cmdline else "–")
        rj = (f"{pct(a, 50) / pct(jl, 50):.2f} / {pct(e, 50) / pct(jle, 50):.2f}"
              if jl and cmdline else "–")
        fail = f" ({L[name]['fail']} failed)" if L[name].get("fail") else ""
        w(f"| {name}{fail} | {ms(pct(a, 50))} | {ms(pct(a, 90))} | {ms(pct(a, 99))} | {ms(pct(e, 50))} | "
          f"{ms(pct(e, 90))} | {ms(pct(e, 99))} | {ms(pct(L[name]['tail'], 50))} | "
          f"{ms(L[name]['cpu_us'] / max(1, L[name]['cpu_jails']))} | {rf} | {rb} | {rj} |")
    w("")
    w("In-process rows are compared with the floor measured in process; command lines with the floor "
      "run as a command (`floor` row), which also pays a process start. *exit→reaped*: from the jailed "
      "program's last instant to the command reaped (jailerd: to the exit report): the tear-down the "
      "caller waits for. *CPU per jail*: user+system time of every process the contender ran (for "
      "jailerd rows, plus the daemon's and its supervisors'), per jail; work the kernel defers to its "
      "own threads (network namespace and cgroup release) is not in it.")
    hf = res.get("hyperfine")
    if hf:
        w("Cross-check with `hyperfine -N` (whole command, median; compare with *to reaped p50*): " +
          ", ".join(f"{n} {v['median_ms']:.2f} ms" for n, v in hf.items()) + ".\n")
    jd = L.get("jailerd create (socket)")
    if jd and jd["to_stamp"]:
        w(f"jailerd: request written → `create` reply p50 {ms(pct(jd['to_reply'], 50))} ms "
          f"(p99 {ms(pct(jd['to_reply'], 99))}); jailed program's exit → exit report p50 "
          f"{ms(pct(jd['notify'], 50))} ms (p99 {ms(pct(jd['notify'], 99))}).")
    jp = L.get("jailerd start (prepared)")
    if jp and jp["to_stamp"]:
        w(f"jailerd start (prepared): the jail was made by `create` with `\"start\": false` beforehand (not "
          f"timed); timed from the `start` request written: → main() p50 {ms(pct(jp['to_stamp'], 50))} ms, "
          f"→ `start` reply p50 {ms(pct(jp['to_reply'], 50))} ms.")
    for name, why in env.skipped.items():
        w(f"- *{name}*: {why}")
    w("")
    SP = res.get("spaced")
    if SP:
        w(f"### Spaced out: one jail at a time, {env.args.gap} ms apart\n")
        w("As a service sees its requests: after a quiet spell, rather than back to back. "
          f"{env.args.spaced_reps} jails each, interleaved.\n")
        w("| contender | to main() p50 | p90 | p99 | back to back p50 | spaced / back to back |")
        w("|---|---:|---:|---:|---:|---:|")
        for name, d in SP.items():
            xs = d["to_stamp"]
            if not xs:
                continue
            b2b = L.get(name, {}).get("to_stamp", [])
            rel = f"{pct(xs, 50) / pct(b2b, 50):.2f}×" if b2b else "–"
            w(f"| {name} | {ms(pct(xs, 50))} | {ms(pct(xs, 90))} | {ms(pct(xs, 99))} | "
              f"{ms(pct(b2b, 50)) if b2b else '–'} | {rel} |")
        fa = SP.get("floor, in process", {}).get("attach", [])
        fp = SP.get("floor, in process, attach by pid", {}).get("attach", [])
        steps = L.get("floor, in process", {}).get("steps", [])
        if fa and fp and steps:
            b = [r[2] - r[1] for r in steps]
            w(f"\nThe floor's step *child released* (on v1: in every hierarchy), spaced out: p50 "
              f"{ms(pct(fp, 50))} ms (p90 {ms(pct(fp, 90))}) when the parent writes the child's pid into "
              f"each `cgroup.procs`, {ms(pct(fa, 50))} ms (p90 {ms(pct(fa, 90))}) when the child writes 0 "
              f"into each `tasks` (moves itself); back to back, moving itself: {ms(pct(b, 50))} ms.")
        w("")
    T = res.get("throughput")
    if T:
        w("### Throughput (jails started and reaped per second)\n")
        w(f"Each point: {env.args.tput_rounds} rounds of {env.args.duration / env.args.tput_rounds:.1f} s, "
          "contenders shuffled within each round; the median round.\n")
        concs = env.args.concurrency
        w("| contender | " + " | ".join(f"c={c}" for c in concs) + " | c=2 vs floor in process |")
        w("|---|" + "---:|" * (len(concs) + 1))
        f2 = T.get("floor, in process", {}).get(2)
        for name, row in T.items():
            rel = f"{row.get(2) / f2 * 100:.0f}%" if f2 and row.get(2) else "–"
            w(f"| {name} | " + " | ".join(f"{row.get(c, float('nan')):.0f}" for c in concs) + f" | {rel} |")
        w("")
    S = res.get("scale")
    if S:
        w("### Scale and footprint\n")
        lim = S["host_limits"]
        w(f"Host limits: pid_max {lim['pid_max']}, max user namespaces {lim['max_user_namespaces']}, "
          f"max net namespaces {lim['max_net_namespaces']}, RLIMIT_NOFILE {lim['nofile'][0]}.\n")
        d = S.get("jailerd")
        if d:
            w(f"**jailerd**, {d['n']} sleeping jails (asked for {d['n_target']}"
              + (f"; stopped: {d['stop_reason']}" if d.get("stop_reason") else "") + "):\n")
            w(f"- created in {d['create_secs']:.1f} s; all killed and reported in {d['teardown_secs']:.1f} s")
            w(f"- daemon RSS {d['daemon_rss_kib'] / 1024:.1f} MiB (idle {d['daemon_rss_kib_idle'] / 1024:.1f} MiB),"
              f" PSS {d['daemon_pss_kib'] / 1024:.1f} MiB, {d['daemon_fds']} fds open")
            if d.get("supervisor_pss_kib"):
                w(f"- per jail outside it: {d['supervisors']} supervisor processes, PSS p50 "
                  f"{d['supervisor_pss_kib']['p50']:.0f} KiB (RSS p50 {d['supervisor_rss_kib']['p50']:.0f} KiB), "
                  f"{d['supervisor_fds']['p50']:.0f} fds each")
            w(f"- whole-system memory per jail (MemAvailable drop / jails; kernel objects of the namespaces "
              f"and cgroups, the jailed program, the supervisor): {d['system_kib_per_jail']:.0f} KiB")
            w(f"- exit → report (`wait` reply) for a short jail: p50 {ms(pct(d['notify_1'], 50))} ms "
              f"(p90 {ms(pct(d['notify_1'], 90))}) with 1 jail running; p50 {ms(pct(d['notify_n'], 50))} ms "
              f"(p90 {ms(pct(d['notify_n'], 90))}) with {d['n']} running")
            w("")
        j = S.get("jailer")
        if j:
            w(f"**jailer** (one-shot), {j['n']} sleeping jails, one `jailer` process each"
              + (f" (stopped: {j['stop_reason']})" if j.get("stop_reason") else "") + ":\n")
            w(f"- started in {j['create_secs']:.1f} s, all ended in {j['teardown_secs']:.1f} s")
            w(f"- per jail outside it: the jailer process, PSS p50 {j['jailer_pss_kib']['p50']:.0f} KiB "
              f"(RSS {j['jailer_rss_kib']['p50']:.0f} KiB), {j['jailer_fds']['p50']:.0f} fds")
            w(f"- whole-system memory per jail: {j['system_kib_per_jail']:.0f} KiB")
            w("")
    w("### Targets: start-up, throughput, footprint\n")
    w("| target | verdict | measured |")
    w("|---|---|---|")
    ev = evaluate(res)
    for text, key in TARGETS:
        ok, why = ev.get(key, (None, ""))
        w(f"| {text} | {verdict(ok)} | {why} |")
    w("")
    w("### Targets: jailerd at the kernel's floor\n")
    w("| target | verdict | measured |")
    w("|---|---|---|")
    ev = evaluate_floor(res)
    for text, key in FLOOR_TARGETS:
        ok, why = ev.get(key, (None, "not measured"))
        w(f"| {text} | {verdict(ok)} | {why} |")
    w("")
    P = res.get("profile")
    if P:
        w("### Profile data (this run)\n")
        w("The floor, step by step (p50 / p90 of each step's own duration, µs):\n")
        w("| step | p50 | p90 |")
        w("|---|---:|---:|")
        for name, a, b in P["floor_steps"]:
            w(f"| {name} | {a:.0f} | {b:.0f} |")
        w(f"| (after main(): exit, reap, rmdir of the cgroups) | {P['floor_teardown_p50']:.0f} | |")
        w("")
        full = P["floor_full"]
        w(f"The floor without one step, and variants of the way it is made (p50 to main() / to cgroups removed, µs; "
          f"full floor {full[0]:.0f} / {full[1]:.0f}, p90 to main() {full[2]:.0f}). *saves*: the median "
          f"over {max(1, env.args.profile_reps // 20)} interleaved rounds of the full floor's p50 minus "
          "the variant's, in the same round:\n")
        w("| floor | to main() p50 | saves | p90 | to removed p50 | saves |")
        w("|---|---:|---:|---:|---:|---:|")
        for k, v in P["floor_ablation"].items():
            a_, b_, c_ = v[:3]
            sm, sd = (v[3], v[4]) if len(v) > 3 else (full[0] - a_, full[1] - b_)
            w(f"| {k} | {a_:.0f} | {sm:.0f} | {c_:.0f} | {b_:.0f} | {sd:.0f} |")
        w("")
        if P.get("strace_c"):
            w("`strace -c -f` of jailer runs (the jailer and its child, all syscalls, sorted by time):\n")
            w("```")
            w("\n".join(P["strace_c"].strip().splitlines()[:24]))
            w("```\n")
        if P.get("perf_stat"):
            w("`perf stat` (software events; this VM has no PMU, `perf stat -e instructions` is "
              f"{'supported' if P.get('perf_hw') else 'not supported'}) of a loop of jailer runs:\n")
            w("```")
            w("\n".join(l for l in P["perf_stat"].strip().splitlines() if l.strip()))
            w("```\n")
        if P.get("perf_report"):
            w("`perf record -e cpu-clock -g` of a loop of jailer runs (inherited by every process they "
              "start), by command and object, then by symbol:\n")
            w("```")
            w(P.get("perf_comm", "").strip())
            w("")
            w("\n".join(P["perf_report"].strip().splitlines()[:40]))
            w("```\n")
        if P.get("callgrind"):
            w("`valgrind --tool=callgrind` of one jailer run (user-space instructions; valgrind "
              f"{res['machine']['versions'].get('valgrind', '')} does not know open_tree(2), so the run "
              "stops at the first mount-tree clone: this covers start-up, parsing and validation):\n")
            w("```")
            w("\n".join(P["callgrind"].splitlines()[:40]))
            w("```\n")
        if P.get("daemon_timeline"):
            w("<details><summary>One <code>create</code> through jailerd, syscall by syscall "
              "(<code>strace -f -T</code>, selected calls; strace slows every call down)</summary>\n")
            w("```")
            w("\n".join(P["daemon_timeline"]))
            w("```\n</details>\n")
        if P.get("strace_timeline"):
            w("<details><summary>One jailer run, syscall by syscall (<code>strace -f -T</code>)"
              "</summary>\n")
            w("```")
            w("\n".join(P["strace_timeline"]))
            w("```\n</details>\n")
    return "\n".join(out)


def plot(env, res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say("plot: skipped (apt-get install python3-matplotlib)")
        return False
    L = res["latency"]
    order = ["floor, in process", "jailerd create (socket)", "exec, no isolation", "floor", "jailer",
             "jailerctl run", "bwrap", "unshare", "runc", "jailer --seccomp none", "jailerd start (prepared)",
             "floor, served"]
    palette = plt.get_cmap("tab10").colors
    color = {n: palette[i % 10] for i, n in enumerate(order)}
    color["jailerd create+wait (socket)"] = color["jailerd create (socket)"]
    ours = ("jailer", "jailerctl run", "jailerd create (socket)", "jailerd create+wait (socket)",
            "jailerd start (prepared)")

    def style(n):
        return dict(color=color.get(n), linewidth=2.4 if n in ours else 1.2,
                    linestyle="--" if n.startswith("floor") else "-")

    fig, grid = plt.subplots(2, 2, figsize=(16, 11))
    axes = [grid[0][0], grid[0][1], grid[1][1], grid[1][0]]
    ax = axes[0]
    names = [n for n in order if n in L and L[n]["to_stamp"]]
    for name in names:
        xs = sorted(x / 1000 for x in L[name]["to_stamp"])
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        ax.step(xs, ys, where="post", label=name, **style(name))
    ax.set_xscale("log")
    ax.set_xlabel("start → jailed program's main() (ms, log scale)")
    ax.set_ylabel("fraction of runs (ECDF)")
    ax.set_title("Start latency, back to back")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")

    ax = axes[3]
    SP = res.get("spaced", {})
    for name in order:
        xs = sorted(x / 1000 for x in SP.get(name, {}).get("to_stamp", []))
        if not xs:
            continue
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        ax.step(xs, ys, where="post", label=name, **style(name))
    ax.set_xscale("log")
    ax.set_xlabel("start → jailed program's main() (ms, log scale)")
    ax.set_ylabel("fraction of runs (ECDF)")
    ax.set_title(f"Start latency, one jail every {env.args.gap} ms (cgroup v1 attach after a pause)")
    ax.grid(True, which="both", alpha=0.3)
    if SP:
        ax.legend(fontsize=8, loc="lower right")

    ax = axes[1]
    names = [n for n in reversed(order) if n in L and L[n]["to_exit"]]
    data = [[x / 1000 for x in L[n]["to_exit"]] for n in names]
    bp = ax.boxplot(data, vert=False, labels=names, whis=(1, 99), showfliers=False, patch_artist=True)
    for patch, n in zip(bp["boxes"], names):
        patch.set_facecolor(color.get(n))
        patch.set_alpha(0.55)
    ax.set_xscale("log")
    ax.set_xlabel("start → reaped, or → exit report (ms, log scale; box p25–p75, whiskers p1–p99)")
    ax.set_title("End to end")
    ax.grid(True, which="both", axis="x", alpha=0.3)
    ax.tick_params(axis="y", labelsize=8)

    ax = axes[2]
    T = res.get("throughput", {})
    for name, row in T.items():
        cs = sorted(row)
        ax.plot(cs, [row[c] for c in cs], marker="o", label=name, **style(name))
    ax.set_xscale("log", base=2)
    ax.set_xticks(env.args.concurrency)
    ax.set_xticklabels([str(c) for c in env.args.concurrency])
    ax.set_xlabel("concurrency (jails in flight)")
    ax.set_ylabel("jails started and reaped per second")
    ax.set_title("Throughput")
    ax.grid(True, alpha=0.3)
    if T:
        ax.legend(fontsize=8)
    m = res["machine"]
    fig.suptitle(f"jailer benchmarks — {m['nproc']} CPUs, {m['mem_gib']} GiB, Linux {m['kernel']}, "
                 f"cgroup {m['cgroup'].split(' ')[0]}, {res['date']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


BEGIN = "<!-- bench/run.py: results begin -->"
END = "<!-- bench/run.py: results end -->"


def write_doc(path, text):
    doc = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in doc:
        doc += f"\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few repetitions of everything (CI); writes nothing "
                    "into the tree unless --out is given")
    ap.add_argument("--build", default=os.environ.get("JAILER_BUILD", "build"), help="meson build directory")
    ap.add_argument("--out", help="directory for benchmarks.md and benchmarks.png (default: docs/ on full "
                    "runs, the work directory with --quick)")
    ap.add_argument("--json", help="also write the raw results here (default: bench/results.json on full runs)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--reps-per-round", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--duration", type=float, help="seconds per throughput point, over all rounds")
    ap.add_argument("--tput-rounds", type=int, help="rounds the throughput points are split into")
    ap.add_argument("--concurrency", default="1,2,8,32")
    ap.add_argument("--gap", type=int, help="ms between the spaced-out jails (0: skip that part)")
    ap.add_argument("--spaced-reps", type=int)
    ap.add_argument("--spaced-rounds", type=int)
    ap.add_argument("--scale", type=int, help="sleeping jails for the footprint test (default 1000)")
    ap.add_argument("--probes", type=int, help="short jails timed for exit notification")
    ap.add_argument("--settle", type=float, help="seconds of pause between throughput points")
    ap.add_argument("--profile", action="store_true", help="profile even with --quick")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--profile-reps", type=int)
    ap.add_argument("--only", help="comma-separated: latency,throughput,scale,profile; or 'report' to "
                    "measure nothing and rewrite the page and the plot from bench/results.json")
    ap.add_argument("--daemon-state-on-disk", action="store_true",
                    help="keep jailerd's state on this host's /tmp file system instead of a tmpfs")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, profiles)")
    ap.add_argument("--update", action="store_true", help="with --only: keep the other parts from "
                    "bench/results.json and rewrite the page with both")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECS",
                    help="first wait up to SECS for the 1-minute load average to fall below --quiet-load")
    ap.add_argument("--quiet-load", type=float, default=1.0)
    a = ap.parse_args()
    q = a.quick
    defaults = dict(rounds=(1 if q else 10), reps_per_round=(8 if q else 50), warmup=(2 if q else 5),
                    duration=(0.4 if q else 6.0), tput_rounds=(1 if q else 5), scale=(16 if q else 1000), probes=(5 if q else 30),
                    settle=(0.2 if q else 1.0), profile_reps=(10 if q else 300),
                    gap=(50 if q else 250), spaced_reps=(2 if q else 40), spaced_rounds=(1 if q else 4))
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.concurrency = [int(x) for x in a.concurrency.split(",")]
    parts = set((a.only or "latency,throughput,scale,profile").split(","))
    if (q and not a.profile) or a.no_profile:
        parts.discard("profile")

    if parts == {"report"}:
        # Measure nothing: rewrite the page and the plot from bench/results.json.
        res = json.loads((HERE / "results.json").read_text())
        for k in ("throughput", "throughput_samples"):
            if k in res:
                res[k] = {n: {int(c): v for c, v in row.items()} for n, row in res[k].items()}
        env = argparse.Namespace(args=a, skipped=res.get("skipped", {}))
        out = Path(a.out) if a.out else REPO / "docs"
        write_doc(out / "benchmarks.md", render(env, res))
        plot(env, res, out / "benchmarks.png")
        print(f"bench: rewrote {out / 'benchmarks.md'} and {out / 'benchmarks.png'} from {HERE / 'results.json'}")
        return 0
    if os.geteuid() != 0:
        print("bench: skipped: needs root (namespaces, cgroups, jailerd)", file=sys.stderr)
        return 0
    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    if a.wait_quiet:
        t_end = time.monotonic() + a.wait_quiet
        try:
            while os.getloadavg()[0] >= a.quiet_load and time.monotonic() < t_end:
                time.sleep(10)
        except KeyboardInterrupt:
            return 130
        print(f"bench: load average {os.getloadavg()[0]:.2f} "
              f"({'quiet enough' if os.getloadavg()[0] < a.quiet_load else 'gave up waiting'})", flush=True)
    env = Env(a)
    res = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "args": vars(a), "argv": sys.argv[1:]}
    try:
        res["machine"] = machine()
        say(f"bench: work directory {env.work}; {res['machine']['nproc']} CPUs, kernel "
            f"{res['machine']['kernel']}, cgroups {res['machine']['cgroup']}, load "
            f"{res['machine']['loadavg_start'][0]:.2f}")
        env.compile()
        if os.access(env.jailerd, os.X_OK) and os.access(env.jailerctl, os.X_OK):
            try:
                env.daemon = Daemon(env, on_disk=a.daemon_state_on_disk)
                say(f"bench: jailerd {env.daemon.pid} on {env.daemon.sock}")
            except Exception as e:
                env.skipped["jailerd"] = f"could not start: {e}"
        else:
            env.skipped["jailerd"] = f"{env.jailerd} or {env.jailerctl} not built: daemon rows skipped"
        for name, why in env.skipped.items():
            say(f"bench: skipping {name}: {why}")
        cmds = contenders(env)
        # One run of each, to fail early with a clear reason.
        for name, (argv, _) in list(cmds.items()):
            try:
                rows = run_lat(env, argv, 1, 0)
            except RuntimeError as e:
                rows, err = [], str(e)
            else:
                log = stderr_log(env, argv)
                err = log.read_text().strip()[-400:] if log.exists() else ""
            if not rows or rows[0][2] != 0 or rows[0][0] < 0:
                env.skipped[name] = f"does not run here: {err.splitlines()[-1] if err else rows}"
                say(f"bench: skipping {name}: {env.skipped[name]}")
                del cmds[name]
        res["contenders"] = {n: {"argv": v[0], "note": v[1]} for n, v in cmds.items()}
        res["latency_reps"] = a.rounds * a.reps_per_round
        if a.update:
            # Keep what this run does not measure from the last full run.
            old = json.loads((HERE / "results.json").read_text())
            res["first_date"] = old.get("first_date", old["date"])
            for k in ("throughput", "throughput_samples"):  # JSON made the concurrency keys strings
                if k in old:
                    old[k] = {n: {int(c): v for c, v in row.items()} for n, row in old[k].items()}
            for k, v in old.items():
                if k not in res or (k == "latency_reps" and "latency" not in parts):
                    res[k] = v
            res["updated"] = sorted(parts)
        # Order matters: a thousand jails, or a throughput run, leave the kernel
        # destroying their network namespaces for seconds afterwards.
        if "latency" in parts:
            latency(env, cmds, res)
        elif "latency" not in res:
            res["latency"] = {}
        if "latency" in parts and a.gap > 0:
            spaced(env, cmds, res)
        if "profile" in parts:
            profile(env, cmds, res)
        if "throughput" in parts:
            throughput(env, cmds, res)
        if "scale" in parts:
            time.sleep(a.settle * 5)
            scale(env, res)
        res["loadavg_end"] = os.getloadavg()
        res["skipped"] = env.skipped

        text = render(env, res)
        print()
        print(text)
        out = Path(a.out) if a.out else (None if q else REPO / "docs")
        if out:
            out.mkdir(parents=True, exist_ok=True)
            write_doc(out / "benchmarks.md", text)
            plotted = plot(env, res, out / "benchmarks.png") if res["latency"] else False
            say(f"\nbench: wrote {out / 'benchmarks.md'}" + (f" and {out / 'benchmarks.png'}" if plotted else ""))
        else:
            # Still draw it, so that the plotting code is exercised too.
            plot(env, res, env.work / "benchmarks.png") if res["latency"] else None
        jpath = Path(a.json) if a.json else (None if q else HERE / "results.json")
        if jpath:
            jpath.write_text(json.dumps(res, indent=1, default=str))
            say(f"bench: wrote {jpath}")
    except KeyboardInterrupt:
        say("bench: interrupted, cleaning up")
        return 130
    finally:
        if a.keep:
            if env.daemon:
                env.daemon.stop()
            remove_cgroups()
            say(f"bench: work directory kept: {env.work}")
        else:
            env.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: MIT
"""The escape suite: a static program inside a default jail tries, one by
one, to get out (tests/escape/escape.c), and every attempt must fail.

The host side prepares what the attempts aim at: a host process, a second
jail with a marker file in its root, a listener on the host's 127.0.0.1, a
listening Unix socket (by path and abstract), a System V message queue, a
file handle of a host file, a setuid-root and a file-capabilities copy of the
program in a writable bind, a read-only bind over a world-writable directory,
a pty that is the caller's controlling terminal as stdin, and an inherited fd.
Then it checks from the outside that nothing moved: the host process and the
other jail still run, no listener saw a connection, no byte was pushed into
the terminal, no file changed.

The table (one line per attempt with its errno) is printed to the terminal
even when pytest captures output.  See docs/escape-suite.md.

Run as root from the repository root: sudo /usr/bin/pytest-3 tests/test_escape.py
"""
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import termios
import time
import tty
import uuid
from pathlib import Path

import pytest

import jailtest

ESCAPE = jailtest.BUILD / "tests" / "escape" / "escape"
LAYERS = jailtest.BUILD / "tests" / "escape" / "escape-layers"
JAIL_UID = jailtest.NOBODY
MIN_ATTEMPTS = 30
RUN_TIMEOUT = 180

# Attempts that only the seccomp filter stops in a default jail, or that
# depend on a host sysctl when the filter is off (kernel.unprivileged_bpf_
# disabled, vm.unprivileged_userfaultfd, kernel.dmesg_restrict,
# kernel.perf_event_paranoid).  Without the filter they may succeed, inside
# the jail's own namespaces; every other attempt must still fail.  (tiocsti:
# without the filter setsid() still stops the push, but the attempt tests
# the filter and reports its absence.)
SECCOMP_ONLY = {
    "tiocsti",
    "name_to_handle_at", "unshare_user", "clone_newuser", "clone3_newuser",
    "compat_int80_unshare", "x32_unshare", "ptrace_traceme", "ptrace_attach_jail_init",
    "perf_event_open", "keyctl", "add_key", "io_uring_setup", "personality", "mknod_fifo",
}
HOST_SYSCTL = {"bpf_prog_load", "userfaultfd", "syslog_read"}

libc = ctypes.CDLL(None, use_errno=True)


# --------------------------------------------------------------- host helpers

class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]


def file_handle(path):
    """name_to_handle_at(path) as "TYPE:HEX", checked to open path on the
    host (so that the jail's open_by_handle_at would work if it were allowed)."""
    fh = FileHandle(handle_bytes=128)
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(-100, str(path).encode(), ctypes.byref(fh), ctypes.byref(mount_id), 0) < 0:
        e = ctypes.get_errno()
        pytest.skip(f"name_to_handle_at({path}): {os.strerror(e)}")
    mnt = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = libc.open_by_handle_at(mnt, ctypes.byref(fh), os.O_RDONLY)
        assert fd >= 0, f"the host cannot open its own handle: {os.strerror(ctypes.get_errno())}"
        os.close(fd)
    finally:
        os.close(mnt)
    return f"{fh.handle_type}:{bytes(fh.f_handle[:fh.handle_bytes]).hex()}"


class SysVQueue:
    """A System V message queue on the host, removed by close()."""
    IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0

    def __init__(self):
        for _ in range(100):
            key = random.randint(0x10000000, 0x7FFFFFFF)
            qid = libc.msgget(key, self.IPC_CREAT | self.IPC_EXCL | 0o666)
            if qid >= 0:
                self.key, self.id = key, qid
                return
            if ctypes.get_errno() != errno.EEXIST:
                pytest.skip(f"msgget: {os.strerror(ctypes.get_errno())}")
        pytest.skip("no free System V key")

    def close(self):
        libc.msgctl(self.id, self.IPC_RMID, None)


def vfs_cap_data_all():
    """security.capability (revision 2, effective): every capability permitted."""
    return struct.pack("<IIIII", 0x02000001, 0xFFFFFFFF, 0, 0x000001FF, 0)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def listener_saw_connection(sock):
    r, _, _ = select.select([sock], [], [], 0)
    return bool(r)


def children_of(pid):
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def jailer_argv(jail_id, root, program_args, *, exec_path=ESCAPE, binds=(), flags=(), report=None):
    argv = [jailtest.JAILER, "--id", jail_id, "--exec", exec_path, "--jail-root", root,
            "--cgroup-parent", jailtest.SESSION_CGROUP_PARENT]
    if jailtest.CGROUP_VERSION:
        argv += ["--cgroup-version", jailtest.CGROUP_VERSION]
    for b in binds:
        argv += ["--bind", b]
    argv += list(flags)
    if report:
        argv += ["--report", report]
    return [str(a) for a in argv + ["--", *program_args]]


def end_process(proc, timeout=10):
    """End a process this test started, by its pid."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


# --------------------------------------------------------------- the table

def parse_attempts(stdout):
    rows, summary = [], None
    for line in stdout.splitlines():
        if line.startswith("ATTEMPT "):
            parts = line.split(None, 3)
            rows.append((parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
        elif line.startswith("SUMMARY "):
            summary = dict(kv.split("=", 1) for kv in line.split()[1:])
    return rows, summary


def format_table(title, rows):
    width = max([len(n) for n, _, _ in rows] + [7])
    out = [title, f"  {'attempt':<{width}}  result   errno / detail",
           f"  {'-' * width}  -------  --------------"]
    out += [f"  {n:<{width}}  {v:<7}  {d}" for n, v, d in rows]
    return "\n".join(out)


def show(capsys, text):
    """Print to the terminal even when pytest captures output."""
    with capsys.disabled():
        print("\n" + text, flush=True)


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def escape_built():
    reason = jailtest.why_not_runnable()
    if reason:
        pytest.skip(reason)
    missing = [str(p) for p in (jailtest.JAILER, ESCAPE) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (meson setup {jailtest.BUILD.name} && "
                    f"ninja -C {jailtest.BUILD.name}, or set JAILER_BUILD)", pytrace=False)


@pytest.fixture(scope="module")
def targets(escape_built, tmp_path_factory):
    """Everything on the host the attempts aim at; all of it ended or
    removed at the end, by pid or by path."""
    tmp = tmp_path_factory.mktemp("escape")
    t = {"tmp": tmp}
    started = []
    closers = []
    try:
        # A host file outside every jail root, on the same file system as
        # the jail roots (so that its handle would decode through them).
        host_file = tmp / "host-secret"
        host_file.write_text("a host file no jail may read\n")
        t["host_file"] = host_file
        t["handle"] = file_handle(host_file)

        # A host process.
        sleeper = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL)
        started.append(sleeper)
        t["host_pid"] = sleeper.pid

        # A listener on the host's loopback, a Unix socket by path, an
        # abstract one.
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(8)
        closers.append(tcp.close)
        t["tcp"], t["port"] = tcp, tcp.getsockname()[1]

        unix_path = tmp / "host.sock"
        ux = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ux.bind(str(unix_path))
        ux.listen(8)
        os.chmod(unix_path, 0o777)
        closers.append(ux.close)
        t["unix"], t["unix_path"] = ux, unix_path

        abstract = f"jailer-escape-{uuid.uuid4().hex}"
        ab = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ab.bind("\0" + abstract)
        ab.listen(8)
        closers.append(ab.close)
        t["abstract_sock"], t["abstract"] = ab, abstract

        q = SysVQueue()
        closers.append(q.close)
        t["sysv_key"] = q.key

        # A second jail, asleep, with a marker in its root.
        other_root = tmp / "other-root"
        other_root.mkdir(mode=0o755)
        other_marker = other_root / "marker"
        other_marker.write_text("the other jail's file\n")
        t["other_marker"] = other_marker
        other = subprocess.Popen(
            jailer_argv(jailtest.unique_id("escape-other"), other_root, ["sleep", "600"]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(other)
        r, _, _ = select.select([other.stdout], [], [], 30)
        line = other.stdout.readline().decode() if r else ""
        assert line.startswith("SLEEPING"), \
            f"the second jail did not start: {line!r} {other.stderr.read1(4096) if other.poll() is not None else ''}"
        kids = children_of(other.pid)
        assert len(kids) == 1, f"jailer {other.pid} has children {kids}"
        t["other_pid"], t["other_jailer"] = kids[0], other

        # Binds: a writable one holding a setuid-root and a file-capabilities
        # copy of the program; a read-only one over a world-writable
        # directory and file (only the read-only mount stands in the way).
        rw = tmp / "rw"
        rw.mkdir()
        rw.chmod(0o777)
        suid = rw / "suid-escape"
        shutil.copyfile(ESCAPE, suid)
        os.chown(suid, 0, 0)
        suid.chmod(0o6755)
        fcaps = rw / "fcaps-escape"
        shutil.copyfile(ESCAPE, fcaps)
        os.chown(fcaps, 0, 0)
        fcaps.chmod(0o755)
        os.setxattr(fcaps, "security.capability", vfs_cap_data_all())
        t["rw"], t["suid"], t["fcaps"] = rw, suid, fcaps

        ro = tmp / "ro"
        ro.mkdir()
        ro.chmod(0o777)
        (ro / "file").write_text("read-only bind\n")
        (ro / "file").chmod(0o666)
        t["ro"] = ro

        # A host file for the leaked fd.
        leak = tmp / "leaked"
        leak.write_text("reached through a leaked fd\n")
        t["leak"] = leak

        t["fingerprints"] = {p: sha256(p) for p in (host_file, other_marker, ro / "file", suid, fcaps, ESCAPE)}
        yield t
    finally:
        other = t.get("other_jailer")
        if t.get("other_pid"):
            # The second jail's program, then its jailer (both ours).
            try:
                os.kill(t["other_pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
            if other:
                try:
                    other.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
        for p in started:
            end_process(p)
        for close in closers:
            close()


def escape_args(t):
    return ["run",
            "--host-pid", t["host_pid"], "--other-pid", t["other_pid"], "--port", t["port"],
            "--unix-path", t["unix_path"], "--abstract", t["abstract"],
            "--host-file", t["host_file"], "--other-file", t["other_marker"],
            "--handle", t["handle"], "--suid", "/rw/suid-escape", "--fcaps", "/rw/fcaps-escape",
            "--ro-dir", "/ro", "--rw-dir", "/rw", "--sysv-key", t["sysv_key"]]


def binds(t):
    return [f"{t['rw']}:/rw:rw", f"{t['ro']}:/ro:ro"]


def run_in_jail(t, argv):
    """Run argv (a jailer command line) with a pty as stdin that is the
    caller's controlling terminal, and an inherited fd on a host file."""
    master, slave = os.openpty()
    tty.setraw(slave)  # so that a single pushed byte would be readable at once
    leak_fd = os.open(t["leak"], os.O_RDONLY)  # inheritable, no O_CLOEXEC

    def take_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, pass_fds=(leak_fd,), preexec_fn=take_terminal)
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            end_process(proc)
            out, err = proc.communicate()
            raise AssertionError(f"timed out: {argv}\n{out.decode()[-3000:]}\n{err.decode()[-2000:]}")
        os.set_blocking(slave, False)
        try:
            pushed = os.read(slave, 4096)
        except (BlockingIOError, OSError):
            pushed = b""
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), pushed
    finally:
        os.close(leak_fd)
        os.close(slave)
        os.close(master)


def assert_host_untouched(t, pushed):
    assert jailtest.pid_alive(t["host_pid"]), "the host process was killed"
    assert jailtest.pid_alive(t["other_pid"]), "the other jail was killed"
    assert not listener_saw_connection(t["tcp"]), "the host's 127.0.0.1 listener saw a connection"
    assert not listener_saw_connection(t["unix"]), "the host's Unix socket saw a connection"
    assert not listener_saw_connection(t["abstract_sock"]), "the host's abstract socket saw a connection"
    assert pushed == b"", f"bytes were pushed into the terminal: {pushed!r}"
    for path, digest in t["fingerprints"].items():
        assert sha256(path) == digest, f"{path} changed"
    assert sorted(os.listdir(t["ro"])) == ["file"], os.listdir(t["ro"])
    assert sorted(os.listdir(t["rw"])) == ["fcaps-escape", "suid-escape"], os.listdir(t["rw"])


# --------------------------------------------------------------- the tests

# Each fallback of the jailer (tests/test_fallbacks.py), forced by making
# the call fail with ENOSYS for the jailer (and, inherited, for the jail: an
# attempt that uses such a call is then stopped by the shim, and the suite,
# which wants each attempt stopped by its own layer, would say so).  Not
# pidfd_open: the suite's pidfd_open_host attempt needs it to show the pid
# namespace at work; the fallback itself is proven by test_fallbacks.py.
FALLBACKS = ["clone3", "mount_setattr", "close_range", "openat2", "clone3,mount_setattr,close_range,openat2"]
ENOSYS = jailtest.BUILD / "tests" / "helpers" / "enosys"


@pytest.mark.parametrize("without", [None] + FALLBACKS)
def test_escape_attempts_all_blocked(targets, tmp_path, capsys, without):
    t = targets
    jail_id = jailtest.unique_id("escape")
    report = tmp_path / "report.json"
    argv = jailer_argv(jail_id, tmp_path / "root", escape_args(t), binds=binds(t), report=report)
    if without:
        argv = [str(ENOSYS), without, "--"] + argv
    rc, out, err, pushed = run_in_jail(t, argv)
    rows, summary = parse_attempts(out)
    table = format_table(f"escape suite: {len(rows)} attempts from inside a default jail"
                         + (f" (jailer without {without})" if without else ""), rows)
    show(capsys, table)

    context = f"\n{table}\njailer rc={rc}\nstderr: {err[-2000:]}"
    assert summary is not None, f"no SUMMARY line{context}"
    assert len(rows) >= MIN_ATTEMPTS, f"only {len(rows)} attempts{context}"
    assert len({n for n, _, _ in rows}) == len(rows), f"duplicate attempt names{context}"
    not_blocked = [(n, v, d) for n, v, d in rows if v != "BLOCKED"]
    assert not not_blocked, f"not blocked: {not_blocked}{context}"
    assert int(summary["escaped"]) == 0 and int(summary["skipped"]) == 0, context
    assert rc == 0, f"escape exited {rc}{context}"
    rep = json.loads(report.read_text())
    assert rep["exit_code"] == 0 and not rep["oom_killed"], rep
    assert_host_untouched(t, pushed)


def test_escape_layers_without_seccomp(targets, tmp_path, capsys):
    """The same attempts with the seccomp filter off: every attempt outside
    SECCOMP_ONLY/HOST_SYSCTL is still stopped by another layer (namespaces,
    pivot_root, the user namespace, capabilities, no_new_privs, mount
    flags).  The table shows what the filter alone stands for."""
    if not os.access(LAYERS, os.X_OK):
        pytest.fail(f"not built: {LAYERS}", pytrace=False)
    t = targets
    argv = [LAYERS, "--seccomp", "none", "--id", jailtest.unique_id("escape-noseccomp"),
            "--exec", ESCAPE, "--jail-root", tmp_path / "root",
            "--cgroup-parent", jailtest.SESSION_CGROUP_PARENT]
    if jailtest.CGROUP_VERSION:
        argv += ["--cgroup-version", jailtest.CGROUP_VERSION]
    for b in binds(t):
        argv += ["--bind", b]
    argv += ["--", *escape_args(t)]
    rc, out, err, pushed = run_in_jail(t, argv)
    rows, summary = parse_attempts(out)
    marked = [(n, v, d + ("   [seccomp only]" if n in SECCOMP_ONLY else
                          "   [host sysctl]" if n in HOST_SYSCTL else "")) for n, v, d in rows]
    table = format_table(f"escape suite without seccomp: {len(rows)} attempts", marked)
    show(capsys, table)

    context = f"\n{table}\nrc={rc}\nstderr: {err[-2000:]}"
    assert summary is not None and len(rows) >= MIN_ATTEMPTS, context
    unknown = (SECCOMP_ONLY | HOST_SYSCTL) - {n for n, _, _ in rows}
    assert not unknown, f"SECCOMP_ONLY/HOST_SYSCTL name attempts that do not exist: {unknown}"
    holes = [(n, v, d) for n, v, d in rows if v != "BLOCKED" and n not in SECCOMP_ONLY | HOST_SYSCTL]
    assert not holes, f"only seccomp stops these: {holes}{context}"
    assert_host_untouched(t, pushed)


def test_memory_limit_oom_kill(escape_built, tmp_path):
    report = tmp_path / "report.json"
    argv = jailer_argv(jailtest.unique_id("escape-oom"), tmp_path / "root", ["alloc", "512"],
                       flags=["--memory", "32M"], report=report)
    rc, out, err, _ = jailtest.run_command(argv, timeout=RUN_TIMEOUT)
    rep = json.loads(report.read_text())
    assert rc == 128 + signal.SIGKILL, (rc, out[-500:], err[-1000:], rep)
    assert rep["oom_killed"] is True and rep["signal"] == "SIGKILL", rep
    assert "ALLOC done" not in out, out[-500:]
    peak = jailtest.memory_peak(rep)
    assert peak is None or peak <= 33 << 20, rep


def test_pids_limit_fork_eagain(escape_built, tmp_path):
    argv = jailer_argv(jailtest.unique_id("escape-pids"), tmp_path / "root", ["forks", "32"],
                       flags=["--pids", "8"])
    rc, out, err, _ = jailtest.run_command(argv, timeout=RUN_TIMEOUT)
    line = next((l for l in out.splitlines() if l.startswith("FORKS ")), None)
    assert line is not None, (rc, out, err)
    # pids.max counts the program itself: 7 children fit, the 8th fork fails.
    assert line == "FORKS ok=7 errno=EAGAIN", (line, err)
    assert rc == 1, (rc, out, err)


def test_exec_file_writable_by_the_jail_user(escape_built, tmp_path):
    """CVE-2019-5736 in its patient form.  The jail keeps an O_PATH fd of
    /proc/self/exe (the program's host file), re-execs itself from a memfd so
    that nothing in the jail runs the file any more, then reopens the fd for
    writing.  A root-owned program is safe (EACCES: see exe_overwrite_via_
    reexec in the suite); one the jail user owns must be refused by jailer
    (the security model: the exec file must not be writable by the jailed uid),
    or at least come out unchanged."""
    vmm = tmp_path / "bin" / "vmm"
    vmm.parent.mkdir()
    shutil.copyfile(ESCAPE, vmm)
    os.chown(vmm, JAIL_UID, JAIL_UID)
    vmm.chmod(0o755)
    before = sha256(vmm)
    argv = jailer_argv(jailtest.unique_id("escape-exe"), tmp_path / "root", ["overwrite-exe"], exec_path=vmm)
    rc, out, err, _ = jailtest.run_command(argv, timeout=RUN_TIMEOUT)
    after = sha256(vmm)
    refused = rc == 125 and "OVERWRITE" not in out
    assert refused or after == before, (
        f"the jail rewrote its program's file on the host ({vmm}, owned by uid {JAIL_UID}): "
        f"rc={rc} out={out.strip()!r} err={err.strip()[-500:]!r}")


def test_symlink_planted_by_a_jail_redirects_no_later_bind(escape_built, tmp_path):
    """A jail writes a symbolic link into its writable bind, pointing at a
    host directory it could never reach.  A later jail of the same workload
    binds that path (a VM's state directory, then a file in it): the link
    must not bring the host directory into the later jail: every path of a
    request is resolved without following symlinks a user planted (the
    security model).  jailer may refuse the bind; it must not follow the link."""
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)
    secret_dir = tmp_path / "host-only"
    secret_dir.mkdir()
    (secret_dir / "secret").write_text("host-only data\n")

    plant = jailer_argv(jailtest.unique_id("escape-plant"), tmp_path / "root1",
                        ["symlink", str(secret_dir), "/state/disk"], binds=[f"{state}:/state:rw"])
    rc, out, err, _ = jailtest.run_command(plant, timeout=RUN_TIMEOUT)
    assert rc == 0 and out.startswith("SYMLINK ok"), (rc, out, err)
    link = state / "disk"
    assert link.is_symlink() and os.lstat(link).st_uid == JAIL_UID, os.lstat(link)

    later = jailer_argv(jailtest.unique_id("escape-later"), tmp_path / "root2",
                        ["read", "/disk/secret"], binds=[f"{link}:/disk"])
    rc, out, err, _ = jailtest.run_command(later, timeout=RUN_TIMEOUT)
    refused = rc == 125 and "READ" not in out
    assert refused or "READ ok" not in out, (
        f"a symlink planted by one jail ({link} -> {secret_dir}) brought a host directory into "
        f"the next jail: rc={rc} out={out.strip()!r} err={err.strip()[-300:]!r}")

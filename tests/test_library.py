# SPDX-License-Identifier: MIT
"""libjailer as a package installs it: a program outside the tree builds
against the installed library with `pkg-config --cflags --libs jailer` alone
and runs a jail through it; the shared library exports jailer.h's API and
nothing else, every function it declares; jailerd and jailer-supervisor
reach libjailer through jailer.h alone; and the library, jailer and jailerctl
build without libsystemd (-Ddaemon=false)."""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import jailtest

CONSUMER = r"""
#include <jailer.h>   /* pkg-config adds include/jailer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
        if (argc != 5)
                return 2;
        jailer_error err = {0};
        jailer_config *c = jailer_config_new("libtest", argv[1], argv[2]);
        jailer_config_add_arg(c, "exit");
        jailer_config_add_arg(c, "7");
        jailer_config_set_cgroup_parent(c, argv[3]);
        if (strcmp(argv[4], "v2") == 0)
                jailer_config_set_cgroup_version(c, JAILER_CGROUP_V2);
        else if (strcmp(argv[4], "v1") == 0)
                jailer_config_set_cgroup_version(c, JAILER_CGROUP_V1);
        jailer_report rep;
        if (jailer_run(c, NULL, &rep, &err) < 0) {
                fprintf(stderr, "consumer: %s\n", err.message);
                return 3;
        }
        printf("exit %d %s\n", rep.exit_code, jailer_version());
        jailer_config_free(c);
        return 0;
}
"""


@pytest.fixture(scope="module")
def installed():
    """`meson install` of the build under test into a private DESTDIR."""
    if shutil.which("pkg-config") is None or shutil.which("cc") is None:
        pytest.fail("pkg-config and cc are needed (scripts/install-deps.sh installs them)", pytrace=False)
    dest = Path(tempfile.mkdtemp(prefix="jailer-install-", dir="/tmp"))
    try:
        p = subprocess.run(["meson", "install", "-C", str(jailtest.BUILD), "--no-rebuild", "--quiet",
                            "--destdir", str(dest)], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        yield dest
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def pc_dir(dest):
    found = list(dest.rglob("pkgconfig/jailer.pc"))
    assert len(found) == 1, f"jailer.pc installed {len(found)} times: {found}"
    return found[0].parent


def test_installed_files(installed):
    libs = sorted(p.name for p in installed.rglob("libjailer.so*"))
    assert libs == ["libjailer.so", "libjailer.so.0", "libjailer.so.0.1.0"], libs
    headers = list(installed.rglob("include/jailer/jailer.h"))
    assert len(headers) == 1, "the header is not installed under include/jailer/"
    assert not list(installed.rglob("libjailer.a")), "the internal static library is installed"
    so = next(installed.rglob("libjailer.so.0.1.0"))
    soname = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True).stdout
    assert "Library soname: [libjailer.so.0]" in soname


def test_only_the_public_api_is_exported(installed):
    so = next(installed.rglob("libjailer.so.0.1.0"))
    out = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True, text=True).stdout
    names = [l.split()[-1] for l in out.splitlines() if l.strip()]
    names = [n.split("@")[0] for n in names if n != "JAILER_0"]
    assert names, "nothing exported"
    assert all(n.startswith("jailer_") for n in names), [n for n in names if not n.startswith("jailer_")]
    header = (jailtest.REPO / "common" / "jailer.h").read_text()
    missing = [n for n in names if n not in header]
    assert not missing, f"exported but not in jailer.h: {missing}"


def test_every_function_of_the_header_is_exported(installed):
    so = next(installed.rglob("libjailer.so.0.1.0"))
    out = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True, text=True).stdout
    exported = {l.split()[-1].split("@")[0] for l in out.splitlines() if l.strip()}
    header = (jailtest.REPO / "common" / "jailer.h").read_text()
    declared = set(re.findall(r"\b(jailer_[a-z0-9_]+)\(", header))
    assert declared, "no function found in jailer.h"
    missing = sorted(declared - exported)
    assert not missing, f"declared in jailer.h but not exported: {missing}"


@pytest.fixture(scope="module")
def lib(installed):
    """The installed libjailer.so.0, loaded as a program outside the tree would."""
    import ctypes
    so = next(installed.rglob("libjailer.so.0.1.0"))
    lib = ctypes.CDLL(str(so), use_errno=True)
    c_u64, c_char_p, c_void_p = ctypes.c_uint64, ctypes.c_char_p, ctypes.c_void_p
    lib.jailer_config_new.restype = c_void_p
    lib.jailer_config_new.argtypes = [c_char_p, c_char_p, c_char_p]
    lib.jailer_config_free.argtypes = [c_void_p]
    for name in ("exec_path", "jail_root", "seccomp", "cgroup_parent", "id"):
        getattr(lib, f"jailer_config_get_{name}").restype = c_char_p
        getattr(lib, f"jailer_config_get_{name}").argtypes = [c_void_p]
    for name in ("memory_limit", "pids_limit", "max_fds", "max_procs", "max_file_size", "timeout_ms",
                 "cpu_quota", "cpu_period"):
        getattr(lib, f"jailer_config_get_{name}").restype = c_u64
        getattr(lib, f"jailer_config_get_{name}").argtypes = [c_void_p]
    for name in ("memory_limit", "pids_limit", "max_fds", "max_procs", "max_file_size", "timeout_ms"):
        getattr(lib, f"jailer_config_set_{name}").argtypes = [c_void_p, c_u64]
    lib.jailer_config_set_cpu_quota.argtypes = [c_void_p, c_u64, c_u64]
    lib.jailer_config_get_uid.restype = ctypes.c_uint
    lib.jailer_config_get_uid.argtypes = [c_void_p]
    lib.jailer_config_set_uid.argtypes = [c_void_p, ctypes.c_uint]
    lib.jailer_config_get_namespace.restype = ctypes.c_bool
    lib.jailer_config_get_namespace.argtypes = [c_void_p, ctypes.c_int]
    lib.jailer_config_set_namespace.argtypes = [c_void_p, ctypes.c_int, ctypes.c_bool]
    lib.jailer_config_add_bind_mount.argtypes = [c_void_p, c_char_p, c_char_p, ctypes.c_bool]
    lib.jailer_config_n_bind_mounts.restype = ctypes.c_size_t
    lib.jailer_config_n_bind_mounts.argtypes = [c_void_p]
    lib.jailer_config_get_bind_mount.restype = c_char_p
    lib.jailer_config_get_bind_mount.argtypes = [c_void_p, ctypes.c_size_t, ctypes.POINTER(c_char_p),
                                                 ctypes.POINTER(ctypes.c_bool)]
    lib.jailer_config_add_env.argtypes = [c_void_p, c_char_p, c_char_p]
    lib.jailer_config_get_env.restype = c_char_p
    lib.jailer_config_get_env.argtypes = [c_void_p, ctypes.c_size_t, ctypes.POINTER(c_char_p)]
    lib.jailer_config_set_exec_fd.argtypes = [c_void_p, ctypes.c_int]
    lib.jailer_config_get_exec_fd.argtypes = [c_void_p]
    lib.jailer_namespace_name.restype = c_char_p
    lib.jailer_parse_size.argtypes = [c_char_p, ctypes.POINTER(c_u64)]
    return lib


def test_the_getters_give_back_what_the_setters_set(lib):
    import ctypes
    LIMIT_NONE = 2**64 - 1
    c = lib.jailer_config_new(b"get-1", b"/usr/bin/true", b"/tmp/root")
    assert c
    try:
        assert lib.jailer_config_get_id(c) == b"get-1"
        assert lib.jailer_config_get_exec_path(c) == b"/usr/bin/true"
        assert lib.jailer_config_get_jail_root(c) == b"/tmp/root"
        # The defaults of jailer.h: no memory, pids, cpu or file size limit; 1024 fds, 64 procs, no timeout.
        assert [lib.jailer_config_get_memory_limit(c), lib.jailer_config_get_pids_limit(c),
                lib.jailer_config_get_cpu_quota(c), lib.jailer_config_get_max_file_size(c)] == [LIMIT_NONE] * 4
        assert (lib.jailer_config_get_max_fds(c), lib.jailer_config_get_max_procs(c),
                lib.jailer_config_get_timeout_ms(c), lib.jailer_config_get_cpu_period(c)) == (1024, 64, 0, 100000)
        assert lib.jailer_config_get_uid(c) == 65534
        assert lib.jailer_config_get_seccomp(c) is None and lib.jailer_config_get_cgroup_parent(c) is None

        for name, value in (("memory_limit", 64 << 20), ("pids_limit", 32), ("max_fds", 77), ("max_procs", 9),
                            ("max_file_size", 4096), ("timeout_ms", 1500)):
            assert getattr(lib, f"jailer_config_set_{name}")(c, value) == 0
            assert getattr(lib, f"jailer_config_get_{name}")(c) == value, name
        assert lib.jailer_config_set_memory_limit(c, LIMIT_NONE) == 0
        assert lib.jailer_config_get_memory_limit(c) == LIMIT_NONE
        assert lib.jailer_config_set_cpu_quota(c, 50000, 200000) == 0
        assert (lib.jailer_config_get_cpu_quota(c), lib.jailer_config_get_cpu_period(c)) == (50000, 200000)
        assert lib.jailer_config_set_uid(c, 4242) == 0 and lib.jailer_config_get_uid(c) == 4242

        names = [lib.jailer_namespace_name(i).decode() for i in range(7)]
        assert names == ["user", "pid", "mount", "network", "uts", "ipc", "cgroup"]
        assert lib.jailer_namespace_name(7) is None
        assert lib.jailer_config_get_namespace(c, 3)
        assert lib.jailer_config_set_namespace(c, 3, False) == 0 and not lib.jailer_config_get_namespace(c, 3)
        assert not lib.jailer_config_get_namespace(c, 99)

        assert lib.jailer_config_add_bind_mount(c, b"/srv/a", b"/a", True) == 0
        assert lib.jailer_config_add_bind_mount(c, b"/srv/b", b"/b", False) == 0
        assert lib.jailer_config_n_bind_mounts(c) == 2
        dest, ro = ctypes.c_char_p(), ctypes.c_bool()
        assert lib.jailer_config_get_bind_mount(c, 1, ctypes.byref(dest), ctypes.byref(ro)) == b"/srv/b"
        assert (dest.value, ro.value) == (b"/b", False)
        assert lib.jailer_config_get_bind_mount(c, 2, None, None) is None
        assert lib.jailer_config_add_env(c, b"K", b"v") == 0
        value = ctypes.c_char_p()
        assert lib.jailer_config_get_env(c, 0, ctypes.byref(value)) == b"K" and value.value == b"v"

        # The fd forms keep a duplicate of their own, and the getter gives that one.
        fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            assert lib.jailer_config_set_exec_fd(c, fd) == 0
            mine = lib.jailer_config_get_exec_fd(c)
            assert mine >= 0 and mine != fd
            assert os.path.samestat(os.fstat(mine), os.fstat(fd))
        finally:
            os.close(fd)
    finally:
        lib.jailer_config_free(c)
    # A NULL config: nothing, not a crash.
    assert lib.jailer_config_get_exec_path(None) is None
    assert lib.jailer_config_get_memory_limit(None) == LIMIT_NONE
    assert lib.jailer_config_get_exec_fd(None) == -1


def test_setters_report_in_errno_as_the_header_says(lib):
    import ctypes
    import errno
    c = lib.jailer_config_new(None, None, None)
    try:
        ctypes.set_errno(0)
        assert lib.jailer_config_set_namespace(c, 42, True) == -1
        assert ctypes.get_errno() == errno.EINVAL
        ctypes.set_errno(0)
        assert lib.jailer_config_add_bind_mount(c, None, b"/x", True) == -1
        assert ctypes.get_errno() == errno.EINVAL
        ctypes.set_errno(0)
        assert lib.jailer_config_set_exec_path(None, b"/x") == -1
        assert ctypes.get_errno() == errno.EINVAL
    finally:
        lib.jailer_config_free(c)
    out = ctypes.c_uint64()
    assert lib.jailer_parse_size(b"512M", ctypes.byref(out)) == 0 and out.value == 512 << 20
    assert lib.jailer_parse_size(b"-1", ctypes.byref(out)) == -1


# What jailerd and jailer-supervisor may include from libjailer's directory:
# its public header, and the tree's own headers that are no library API (the
# cleanup macros, the strict JSON reader every input goes through, json-c
# helpers).  Never jailer-internal.h or another header of libjailer's
# private structures.
DAEMON_MAY_REACH = {"jailer.h", "macro.h", "json-strict.h", "json-util.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def test_the_daemon_uses_libjailer_through_its_public_header_only():
    repo = jailtest.REPO
    # The directories of the daemon's build, in the order the compiler searches them
    # after the including file's own directory (daemon/meson.build and its dependencies).
    search = [repo / "daemon", repo / "protocol", repo / "common"]
    sources = sorted((repo / "daemon").glob("*.[ch]"))
    assert sources, "no daemon sources found"
    seen = {}
    todo = [(src, [src.name]) for src in sources]
    while todo:
        path, chain = todo.pop()
        for name in INCLUDE.findall(path.read_text()):
            found = next((d / name for d in [path.parent] + search if (d / name).is_file()), None)
            assert found is not None, f"{' -> '.join(chain)} includes \"{name}\", which is nowhere in the tree"
            if found not in seen:
                seen[found] = chain + [name]
                todo.append((found, chain + [name]))
    reached = {p: c for p, c in seen.items() if p.parent == repo / "common"}
    bad = [" -> ".join(c) for p, c in sorted(reached.items()) if p.name not in DAEMON_MAY_REACH]
    assert not bad, f"the daemon reaches libjailer's internal headers: {bad}"
    assert any(p.name == "jailer.h" for p in reached), "the check found no include of jailer.h at all"


def test_a_program_outside_the_tree_builds_with_pkg_config_and_runs_a_jail(installed, tmp_path):
    env = dict(os.environ, PKG_CONFIG_PATH=str(pc_dir(installed)), PKG_CONFIG_SYSROOT_DIR=str(installed))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "jailer"], env=env,
                           capture_output=True, text=True)
    assert flags.returncode == 0, flags.stderr
    src = tmp_path / "consumer.c"
    src.write_text(CONSUMER)
    exe = tmp_path / "consumer"
    # A sanitizer build's library needs its runtime loaded first: the
    # consumer is built the same way.
    so = next(installed.rglob("libjailer.so.0.1.0")).read_bytes()
    sanitize = ["-fsanitize=address,undefined"] if b"__asan_init" in so else []
    cc = subprocess.run(["cc", "-Wall", "-Werror", *sanitize, "-o", str(exe), str(src), *flags.stdout.split()],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    libdir = next(installed.rglob("libjailer.so.0")).parent
    root = Path(tempfile.mkdtemp(prefix="jailer-lib-", dir="/tmp")) / "root"
    try:
        run = subprocess.run([str(exe), str(jailtest.for_others(jailtest.PROBE)), str(root),
                              jailtest.SESSION_CGROUP_PARENT, jailtest.CGROUP_VERSION or "auto"],
                             env=dict(os.environ, LD_LIBRARY_PATH=str(libdir)),
                             capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].startswith("exit 7 "), run.stdout
    assert '"pid":1' in run.stdout, "the program did not run as pid 1 of its own namespace"
    ldd = subprocess.run(["ldd", str(exe)], env=dict(os.environ, LD_LIBRARY_PATH=str(libdir)),
                         capture_output=True, text=True).stdout
    assert str(libdir) in ldd, "the program did not use the installed shared library"


def test_the_library_builds_without_libsystemd(tmp_path):
    """With libsystemd hidden from pkg-config, -Ddaemon=false configures and
    builds libjailer, jailer and jailerctl; the default configuration
    refuses, naming libsystemd."""
    if shutil.which("meson") is None:
        pytest.fail("meson is needed", pytrace=False)
    hidden = tmp_path / "pkgconfig"
    hidden.mkdir()
    dirs = subprocess.run(["pkg-config", "--variable", "pc_path", "pkg-config"],
                          capture_output=True, text=True).stdout.strip().split(":")
    for d in dirs:
        for pc in Path(d).glob("*.pc") if Path(d).is_dir() else []:
            if pc.name != "libsystemd.pc" and not (hidden / pc.name).exists():
                (hidden / pc.name).symlink_to(pc)
    env = dict(os.environ, PKG_CONFIG_LIBDIR=str(hidden))
    env.pop("PKG_CONFIG_PATH", None)
    with_daemon = subprocess.run(["meson", "setup", str(tmp_path / "b1")], cwd=jailtest.REPO, env=env,
                                 capture_output=True, text=True)
    assert with_daemon.returncode != 0 and "libsystemd" in with_daemon.stdout + with_daemon.stderr
    b = tmp_path / "b2"
    p = subprocess.run(["meson", "setup", str(b), "-Ddaemon=false"], cwd=jailtest.REPO, env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    p = subprocess.run(["ninja", "-C", str(b), "common/libjailer.so.0.1.0", "client/jailer", "client/jailerctl"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:]
    for f in ("common/libjailer.so", "client/jailer", "client/jailerctl"):
        assert (b / f).exists()

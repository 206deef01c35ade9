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


# The getters and the setters' errno, as a C program outside the tree sees
# them through the installed header and library.  Each CHECK prints what
# failed; the last line is "ok".
GETTERS = r"""
#define _GNU_SOURCE
#include <jailer.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failed;
#define CHECK(cond) do { if (!(cond)) { printf("FAILED line %d: %s\n", __LINE__, #cond); failed = 1; } } while (0)
#define STREQ(a, b) ((a) && strcmp((a), (b)) == 0)

int main(void)
{
        jailer_config *c = jailer_config_new("get-1", "/usr/bin/true", "/tmp/root");
        const char *dest = NULL, *value = NULL;
        bool ro = true;
        uint64_t size = 0;
        struct stat a, b;
        int fd, mine;

        CHECK(c != NULL);
        CHECK(STREQ(jailer_config_get_id(c), "get-1"));
        CHECK(STREQ(jailer_config_get_exec_path(c), "/usr/bin/true"));
        CHECK(STREQ(jailer_config_get_jail_root(c), "/tmp/root"));
        /* The defaults jailer.h documents. */
        CHECK(jailer_config_get_memory_limit(c) == JAILER_LIMIT_NONE);
        CHECK(jailer_config_get_pids_limit(c) == JAILER_LIMIT_NONE);
        CHECK(jailer_config_get_cpu_quota(c) == JAILER_LIMIT_NONE);
        CHECK(jailer_config_get_max_file_size(c) == JAILER_LIMIT_NONE);
        CHECK(jailer_config_get_max_fds(c) == 1024 && jailer_config_get_max_procs(c) == 64);
        CHECK(jailer_config_get_timeout_ms(c) == 0 && jailer_config_get_cpu_period(c) == 100000);
        CHECK(jailer_config_get_uid(c) == 65534 && jailer_config_get_gid(c) == 65534);
        CHECK(jailer_config_get_seccomp(c) == NULL && jailer_config_get_cgroup_parent(c) == NULL);
        CHECK(jailer_config_get_kvm(c));

        /* What a setter stores, its getter gives back. */
        CHECK(jailer_config_set_memory_limit(c, 64 << 20) == 0 && jailer_config_get_memory_limit(c) == 64 << 20);
        CHECK(jailer_config_set_memory_limit(c, JAILER_LIMIT_NONE) == 0);
        CHECK(jailer_config_get_memory_limit(c) == JAILER_LIMIT_NONE);
        CHECK(jailer_config_set_pids_limit(c, 32) == 0 && jailer_config_get_pids_limit(c) == 32);
        CHECK(jailer_config_set_max_fds(c, 77) == 0 && jailer_config_get_max_fds(c) == 77);
        CHECK(jailer_config_set_max_procs(c, 9) == 0 && jailer_config_get_max_procs(c) == 9);
        CHECK(jailer_config_set_max_file_size(c, 4096) == 0 && jailer_config_get_max_file_size(c) == 4096);
        CHECK(jailer_config_set_timeout_ms(c, 1500) == 0 && jailer_config_get_timeout_ms(c) == 1500);
        CHECK(jailer_config_set_cpu_quota(c, 50000, 200000) == 0);
        CHECK(jailer_config_get_cpu_quota(c) == 50000 && jailer_config_get_cpu_period(c) == 200000);
        CHECK(jailer_config_set_uid(c, 4242) == 0 && jailer_config_get_uid(c) == 4242);
        CHECK(jailer_config_set_kvm(c, false) == 0 && !jailer_config_get_kvm(c));
        CHECK(jailer_config_set_seccomp(c, "none") == 0 && STREQ(jailer_config_get_seccomp(c), "none"));

        CHECK(STREQ(jailer_namespace_name(JAILER_NS_NETWORK), "network"));
        CHECK(jailer_namespace_name(JAILER_NS_COUNT) == NULL);
        CHECK(jailer_config_get_namespace(c, JAILER_NS_NETWORK));
        CHECK(jailer_config_set_namespace(c, JAILER_NS_NETWORK, false) == 0);
        CHECK(!jailer_config_get_namespace(c, JAILER_NS_NETWORK));
        CHECK(!jailer_config_get_namespace(c, (jailer_namespace) 99));

        CHECK(jailer_config_add_bind_mount(c, "/srv/a", "/a", true) == 0);
        CHECK(jailer_config_add_bind_mount(c, "/srv/b", "/b", false) == 0);
        CHECK(jailer_config_n_bind_mounts(c) == 2);
        CHECK(STREQ(jailer_config_get_bind_mount(c, 1, &dest, &ro), "/srv/b") && STREQ(dest, "/b") && !ro);
        CHECK(jailer_config_get_bind_mount(c, 2, NULL, NULL) == NULL);
        CHECK(jailer_config_add_env(c, "K", "v") == 0 && jailer_config_n_env(c) == 1);
        CHECK(STREQ(jailer_config_get_env(c, 0, &value), "K") && STREQ(value, "v"));
        CHECK(jailer_config_add_device(c, "/dev/net/tun") == 0 && jailer_config_n_devices(c) == 1);
        CHECK(STREQ(jailer_config_get_device(c, 0), "/dev/net/tun") && jailer_config_get_device(c, 1) == NULL);
        CHECK(jailer_config_add_seccomp_allow(c, "io_uring_setup") == 0 && jailer_config_n_seccomp_allow(c) == 1);
        CHECK(STREQ(jailer_config_get_seccomp_allow(c, 0), "io_uring_setup"));

        /* The fd forms keep a duplicate of their own: the getter gives that one. */
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(jailer_config_get_exec_fd(c) == -1);
        CHECK(jailer_config_set_exec_fd(c, fd) == 0);
        mine = jailer_config_get_exec_fd(c);
        CHECK(mine >= 0 && mine != fd && fstat(mine, &a) == 0 && fstat(fd, &b) == 0 && a.st_ino == b.st_ino);
        CHECK(jailer_config_set_bind_source_fd(c, 0, fd) == 0 && jailer_config_get_bind_source_fd(c, 0) >= 0);
        CHECK(jailer_config_get_bind_source_fd(c, 1) == -1 && jailer_config_get_device_fd(c, 0) == -1);
        close(fd);

        /* Setters take no jailer_error: -1 with errno. */
        errno = 0;
        CHECK(jailer_config_set_namespace(c, (jailer_namespace) 42, true) == -1 && errno == EINVAL);
        errno = 0;
        CHECK(jailer_config_add_bind_mount(c, NULL, "/x", true) == -1 && errno == EINVAL);
        errno = 0;
        CHECK(jailer_config_set_exec_path(NULL, "/x") == -1 && errno == EINVAL);
        jailer_config_free(c);

        /* A NULL config: nothing, not a crash. */
        CHECK(jailer_config_get_exec_path(NULL) == NULL && jailer_config_get_exec_fd(NULL) == -1);
        CHECK(jailer_config_get_memory_limit(NULL) == JAILER_LIMIT_NONE && jailer_config_n_env(NULL) == 0);

        CHECK(jailer_parse_size("512M", &size) == 0 && size == 512u << 20);
        CHECK(jailer_parse_size("-1", &size) == -1);
        CHECK(jailer_seccomp_allowable("io_uring_setup"));
        CHECK(!jailer_seccomp_allowable("read"));

        jailer_error err = { 0 };
        CHECK(jailer_error_set(&err, JAILER_STEP_CONFIG, ENOENT, "exec_path", "/nope") == -1);
        CHECK(err.step == JAILER_STEP_CONFIG && err.code == ENOENT && STREQ(err.field, "exec_path"));
        CHECK(strstr(err.message, "exec_path: /nope: ") == err.message);
        printf(failed ? "failed\n" : "ok\n");
        return failed;
}
"""


def build_consumer(installed, tmp_path, source, name):
    """Build a C program against the installed library with pkg-config alone;
    its path, and the environment to run it in."""
    env = dict(os.environ, PKG_CONFIG_PATH=str(pc_dir(installed)), PKG_CONFIG_SYSROOT_DIR=str(installed))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "jailer"], env=env,
                           capture_output=True, text=True)
    assert flags.returncode == 0, flags.stderr
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    exe = tmp_path / name
    # A sanitizer build's library needs its runtime loaded first: the
    # consumer is built the same way.
    so = next(installed.rglob("libjailer.so.0.1.0")).read_bytes()
    sanitize = ["-fsanitize=address,undefined"] if b"__asan_init" in so else []
    cc = subprocess.run(["cc", "-Wall", "-Werror", *sanitize, "-o", str(exe), str(src), *flags.stdout.split()],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    libdir = next(installed.rglob("libjailer.so.0")).parent
    return exe, dict(os.environ, LD_LIBRARY_PATH=str(libdir))


def test_the_getters_give_back_what_the_setters_set(installed, tmp_path):
    exe, env = build_consumer(installed, tmp_path, GETTERS, "getters")
    run = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.splitlines()[-1] == "ok", run.stdout + run.stderr


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
    exe, env = build_consumer(installed, tmp_path, CONSUMER, "consumer")
    libdir = next(installed.rglob("libjailer.so.0")).parent
    root = Path(tempfile.mkdtemp(prefix="jailer-lib-", dir="/tmp")) / "root"
    try:
        run = subprocess.run([str(exe), str(jailtest.for_others(jailtest.PROBE)), str(root),
                              jailtest.SESSION_CGROUP_PARENT, jailtest.CGROUP_VERSION or "auto"],
                             env=env, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].startswith("exit 7 "), run.stdout
    assert '"pid":1' in run.stdout, "the program did not run as pid 1 of its own namespace"
    ldd = subprocess.run(["ldd", str(exe)], env=env, capture_output=True, text=True).stdout
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

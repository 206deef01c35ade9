/* SPDX-License-Identifier: MIT */
/*
 * The seccomp program cache and the OCI profile reader:
 *  - the program jl_seccomp_prepare() hands out is byte for byte what
 *    libseccomp exports for the same config (default profile in each of its
 *    shapes, an OCI profile), and what the kernel holds after the child
 *    loaded it (PTRACE_SECCOMP_GET_FILTER; as root);
 *  - the same filter is compiled once (same program), different ones are
 *    not shared, and a profile is keyed by its bytes, not its name;
 *  - every error of the profile reader names the element at fault and
 *    quotes nothing of the profile;
 *  - what the program answers for a system call, as jl_seccomp_prog_verdict()
 *    reads it, is what the kernel does with that call once the program is
 *    loaded (allowed, refused with that errno, killed), and the reader says
 *    "it depends" where the program looks at the arguments; a prepared jail
 *    loads the filter before its wait only when the wait's calls pass.
 * TAP output.
 */
#include "jailer-internal.h"
#include "tap.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

static char dir[] = "/tmp/test-seccomp-XXXXXX";

static char *write_profile(const char *name, const char *json)
{
        char *path;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                abort();
        FILE *f = fopen(path, "we");
        if (!f || fputs(json, f) < 0 || fclose(f) != 0)
                abort();
        return path;
}

/* What libseccomp itself exports for c: as compiled (level 0), or at an
 * optimisation level of its own (1: the list in rule order). */
static int libseccomp_bytes(const jailer_config *c, uint32_t level, char **out, size_t *len)
{
        scmp_filter_ctx_t ctx = NULL;
        jailer_error err = { 0 };
        if (jl_seccomp_compile(c, &ctx, &err) < 0 || !ctx)
                return -1;
        int fd = memfd_create("want", MFD_CLOEXEC);
        int r = (level && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, level) < 0) || seccomp_export_bpf(ctx, fd) < 0
                        ? -1
                        : jl_read_fd_all(fd, 1 << 20, true, out, len);
        close(fd);
        seccomp_release(ctx);
        return r;
}

/* Load p in a child and read back what the kernel holds. */
static int kernel_bytes(const jl_seccomp_prog *p, char **out, size_t *len)
{
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                jailer_error err = { 0 };
                /* Traced before the filter, which may deny ptrace. */
                if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 || jl_seccomp_apply_child(p, &err) < 0)
                        _exit(1);
                raise(SIGSTOP);
                _exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -1;
        }
        long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
        int r = -1;
        if (n > 0) {
                *len = (size_t) n * sizeof(struct sock_filter);
                *out = malloc(*len);
                if (*out && ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, *out) == n)
                        r = 0;
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return r;
}

static void same_as_libseccomp(const char *what, jailer_config *c)
{
        jailer_error err = { 0 };
        jl_seccomp_prog *p = NULL;
        if (!ok(jl_seccomp_prepare(c, &p, &err) == 0 && p, "%s: prepared (%s)", what, err.message))
                return;
        const void *insns;
        size_t len;
        jl_seccomp_prog_bpf(p, &insns, &len);

        _cleanup_free_ char *want = NULL;
        size_t want_len = 0;
        bool have = libseccomp_bytes(c, 0, &want, &want_len) == 0;
        ok(have && want_len == len && memcmp(want, insns, len) == 0, "%s: the %zu bytes are libseccomp's (%zu)",
           what, len, want_len);

        if (geteuid() == 0) {
                _cleanup_free_ char *got = NULL;
                size_t got_len = 0;
                bool read_back = kernel_bytes(p, &got, &got_len) == 0;
                ok(read_back && got_len == len && memcmp(got, insns, len) == 0,
                   "%s: the kernel holds those bytes (%zu)", what, got_len);
        } else
                ok(true, "# SKIP %s: reading the kernel's filter needs root", what);

        jl_seccomp_prog *again = NULL;
        ok(jl_seccomp_prepare(c, &again, &err) == 0 && again == p, "%s: the second prepare reuses it", what);
        jl_seccomp_release(again);
        jl_seccomp_release(p);
}

static jl_seccomp_prog *prepared(jailer_config *c)
{
        jailer_error err = { 0 };
        jl_seccomp_prog *p = NULL;
        if (jl_seccomp_prepare(c, &p, &err) < 0)
                printf("# prepare: %s\n", err.message);
        return p;
}

static void test_programs(void)
{
        static const char deny_getppid[] =
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},{\"names\":[\"personality\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_NE\",\"value\":0}]}]}\n";
        _cleanup_free_ char *prof = write_profile("deny.json", deny_getppid);
        _cleanup_free_ char *twin = write_profile("twin.json", deny_getppid);
        _cleanup_free_ char *other = write_profile("other.json", "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");

        jailer_config *def = jailer_config_new("s1", "/bin/true", dir);
        jailer_config *kill = jailer_config_new("s2", "/bin/true", dir);
        jailer_config *allow = jailer_config_new("s3", "/bin/true", dir);
        jailer_config *oci = jailer_config_new("s4", "/bin/true", dir);
        jailer_config *oci_twin = jailer_config_new("s5", "/bin/true", dir);
        jailer_config *oci_other = jailer_config_new("s6", "/bin/true", dir);
        jailer_config *none = jailer_config_new("s7", "/bin/true", dir);
        jailer_config_set_seccomp_kill(kill, true);
        jailer_config_add_seccomp_allow(allow, "io_uring_setup");
        jailer_config_set_seccomp(oci, prof);
        jailer_config_set_seccomp(oci_twin, twin);
        jailer_config_set_seccomp(oci_other, other);
        jailer_config_set_seccomp(none, "none");

        same_as_libseccomp("default", def);
        same_as_libseccomp("default, deny by kill", kill);
        same_as_libseccomp("default, io_uring_setup allowed", allow);
        same_as_libseccomp("OCI profile", oci);

        jl_seccomp_prog *p[6] = { prepared(def), prepared(kill), prepared(allow), prepared(oci),
                                  prepared(oci_twin), prepared(oci_other) };
        bool distinct = true;
        for (size_t i = 0; i < 4; i++)
                for (size_t j = i + 1; j < 4; j++)
                        distinct &= p[i] != p[j];
        ok(distinct && p[5] != p[3], "different filters get different programs");
        ok(p[3] && p[3] == p[4], "an OCI profile is keyed by its bytes: the same bytes under another name share it");
        for (size_t i = 0; i < ELEMENTSOF(p); i++)
                jl_seccomp_release(p[i]);
        ok(prepared(none) == NULL, "\"none\" has no program");

        jailer_error err = { 0 };
        ok(jailer_seccomp_prepare(def, &err) == 0, "jailer_seccomp_prepare() of the default: %s", err.message);

        /* More distinct profiles than the cache keeps: each still gets its
         * own program. */
        bool all = true;
        for (int i = 0; i < 40; i++) {
                char json[160], name[32];
                snprintf(json, sizeof(json),
                         "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],"
                         "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":%d}]}",
                         i + 1);
                snprintf(name, sizeof(name), "p%d.json", i);
                _cleanup_free_ char *path = write_profile(name, json);
                jailer_config *c = jailer_config_new("s8", "/bin/true", dir);
                jailer_config_set_seccomp(c, path);
                jl_seccomp_prog *q = prepared(c);
                const void *insns;
                size_t len;
                _cleanup_free_ char *want = NULL;
                size_t want_len = 0;
                if (!q || libseccomp_bytes(c, 0, &want, &want_len) < 0)
                        all = false;
                else {
                        jl_seccomp_prog_bpf(q, &insns, &len);
                        all &= len == want_len && memcmp(insns, want, len) == 0;
                }
                jl_seccomp_release(q);
                unlink(path);
                jailer_config_free(c);
        }
        ok(all, "40 distinct profiles (more than the cache keeps) each get their own right program");

        jailer_config *cs[] = { def, kill, allow, oci, oci_twin, oci_other, none };
        for (size_t i = 0; i < ELEMENTSOF(cs); i++)
                jailer_config_free(cs[i]);
        unlink(prof);
        unlink(twin);
        unlink(other);
}

/* What the kernel does with system call nr once p is loaded: the errno
 * (0 when it succeeded), or -SIGSYS when the process was killed; -1000
 * when the child said nothing within 10 s (it is killed then).  All
 * arguments are -1: each call below then fails harmlessly, never with
 * EPERM (which the filters use to refuse).  Under the filter the child
 * makes raw system calls only: a sanitizer's runtime runs before a
 * noreturn call such as _exit(), and may be refused. */
static int kernel_verdict(const jl_seccomp_prog *p, int nr)
{
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -1000;
        pid_t pid = fork();
        if (pid < 0)
                return -1000;
        if (pid == 0) {
                jailer_error err = { 0 };
                close(fds[0]);
                if (jl_seccomp_apply_child(p, &err) < 0)
                        _exit(1);
                long r = syscall(nr, -1L, -1L, -1L, -1L, -1L, -1L);
                int e = r < 0 ? errno : 0;
                (void) syscall(SYS_write, fds[1], &e, sizeof e);
                for (;;)
                        (void) syscall(SYS_exit_group, 0);
        }
        close(fds[1]);
        int e = -1000, st;
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        if (poll(&pfd, 1, 10000) != 1 || read(fds[0], &e, sizeof e) != sizeof e)
                e = -1000;
        close(fds[0]);
        /* Done, or dead, or stuck (a filter that refused its exit): its
         * status is kept if it died by itself. */
        kill(pid, SIGKILL);
        if (waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
                return -SIGSYS;
        return e;
}

static void test_verdicts(void)
{
        static const char deny_recv[] =
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"recvfrom\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}";
        static const char recv_if[] =
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"recvfrom\"],"
                "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":3,\"op\":\"SCMP_CMP_EQ\",\"value\":0}]},"
                "{\"names\":[\"sendto\",\"write\",\"execve\",\"execveat\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
        /* Allowed: what the test's child calls, and what a sanitizer's
         * runtime calls in it. */
        static const char allowlist[] =
                "{\"defaultAction\":\"SCMP_ACT_KILL_PROCESS\",\"syscalls\":[{\"names\":[\"recvfrom\",\"sendto\","
                "\"write\",\"exit_group\",\"getppid\",\"mmap\",\"munmap\",\"mprotect\",\"madvise\",\"sigaltstack\","
                "\"rt_sigaction\",\"rt_sigprocmask\",\"prctl\",\"getpid\",\"gettid\",\"futex\",\"openat\",\"read\","
                "\"close\",\"newfstatat\",\"readlink\",\"sched_yield\",\"exit\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"ptrace\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}";
        _cleanup_free_ char *p_deny = write_profile("deny-recv.json", deny_recv);
        _cleanup_free_ char *p_if = write_profile("recv-if.json", recv_if);
        _cleanup_free_ char *p_allow = write_profile("allowlist.json", allowlist);
        jailer_config *cs[] = {
                jailer_config_new("v1", "/bin/true", dir), jailer_config_new("v2", "/bin/true", dir),
                jailer_config_new("v3", "/bin/true", dir), jailer_config_new("v4", "/bin/true", dir),
                jailer_config_new("v5", "/bin/true", dir),
        };
        static const char *const what[] = { "default", "default, deny by kill", "OCI, recvfrom denied",
                                            "OCI, recvfrom if flags == 0", "OCI allowlist, kill by default" };
        static const bool early_want[] = { true, true, false, false, true };
        jailer_config_set_seccomp_kill(cs[1], true);
        jailer_config_set_seccomp(cs[2], p_deny);
        jailer_config_set_seccomp(cs[3], p_if);
        jailer_config_set_seccomp(cs[4], p_allow);

        static const int nrs[] = { SYS_getppid, SYS_recvfrom, SYS_sendto, SYS_ptrace, SYS_keyctl, SYS_bpf,
                                   SYS_unshare, SYS_perf_event_open, SYS_mknodat, SYS_personality, SYS_clone };
        uint32_t arch = seccomp_arch_native();
        for (size_t i = 0; i < ELEMENTSOF(cs); i++) {
                jl_seccomp_prog *p = prepared(cs[i]);
                if (!ok(p != NULL, "%s: prepared", what[i]))
                        continue;
                ok(jl_seccomp_early(p) == early_want[i], "%s: %s before a prepared jail's wait", what[i],
                   early_want[i] ? "loaded" : "not loaded");
                unsigned known = 0, agree = 0;
                for (size_t k = 0; k < ELEMENTSOF(nrs); k++) {
                        uint32_t ret;
                        if (jl_seccomp_prog_verdict(p, arch, nrs[k], &ret) < 0)
                                continue;
                        known++;
                        int got = kernel_verdict(p, nrs[k]);
                        uint32_t action = ret & SECCOMP_RET_ACTION_FULL;
                        bool same = action == SECCOMP_RET_ALLOW ? got >= 0 && got != EPERM
                                  : action == SECCOMP_RET_ERRNO ? got == (int) (ret & SECCOMP_RET_DATA)
                                  : action == SECCOMP_RET_KILL_PROCESS || action == SECCOMP_RET_KILL_THREAD
                                          ? got == -SIGSYS
                                          : false;
                        if (same)
                                agree++;
                        else
                                printf("# %s: syscall %d: read 0x%x, the kernel did %d\n", what[i], nrs[k], ret, got);
                }
                ok(known >= 8 && agree == known, "%s: the reader agrees with the kernel on %u of %u calls it can answer",
                   what[i], agree, known);
                jl_seccomp_release(p);
        }
        /* The default filter looks at personality()'s and clone()'s
         * arguments: the reader must not guess. */
        jl_seccomp_prog *p = prepared(cs[0]);
        uint32_t ret;
        ok(p && jl_seccomp_prog_verdict(p, arch, SYS_personality, &ret) < 0 &&
                   jl_seccomp_prog_verdict(p, arch, SYS_clone, &ret) < 0,
           "default: personality() and clone() depend on their arguments");
        ok(p && jl_seccomp_prog_verdict(p, AUDIT_ARCH_I386, SYS_getppid, &ret) == 0 &&
                   (ret & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW,
           "default: a foreign architecture's call is not allowed (0x%x)", p ? ret : 0);
        jl_seccomp_release(p);
        for (size_t i = 0; i < ELEMENTSOF(cs); i++)
                jailer_config_free(cs[i]);
        unlink(p_deny);
        unlink(p_if);
        unlink(p_allow);
}

static void test_errors(void)
{
        static const struct {
                const char *json, *want;
        } cases[] = {
                { "[]", "seccomp: p.json: the profile must be a JSON object" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"SECRETKEY\":1}",
                  "key 1 of the top-level object is not an OCI seccomp key" },
                { "{}", "seccomp: p.json: defaultAction: missing or not an SCMP_ACT_ action" },
                { "{\"defaultAction\":\"SCMP_ACT_SECRET\"}", "defaultAction: missing or not an SCMP_ACT_ action" },
                { "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":5000}",
                  "defaultErrnoRet: not an errno number" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"SECRET\"}", "architectures: not an array" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SECRET\"]}",
                  "architectures[1]: not an SCMP_ARCH_ name" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_SECRET\"]}",
                  "architectures[0]: not an architecture libseccomp knows" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}", "syscalls: not an array" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\"},\"SECRET\"]}",
                  "syscalls[1]: not an object" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_SECRET\"}]}",
                  "syscalls[0]: action is missing or not an SCMP_ACT_ action" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\",\"errnoRet\":-1}]}",
                  "syscalls[0]: errnoRet is not an errno number" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
                  "syscalls[0]: names is not an array" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\"},{\"names\":[\"read\",7],\"action\":\"SCMP_ACT_ERRNO\"}]}",
                  "seccomp: p.json: syscalls[1].names[1]: not a string" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\",\"args\":[1,2,3,4,5,6,7]}]}",
                  "syscalls[0].args: not an array of at most 6" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"},\"SECRET\"]}]}",
                  "syscalls[0].args[1]: not an object" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_SECRET\"}]}]}",
                  "syscalls[0].args[0]: op is missing or not an SCMP_CMP_ operator" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":9,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                  "syscalls[0].args[0]: index is missing or not 0 to 5" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,\"op\":\"SCMP_CMP_EQ\",\"value\":\"SECRET\"}]}]}",
                  "syscalls[0].args[0]: value or valueTwo is not an unsigned integer" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"SECRET\"", "seccomp: p.json: invalid JSON at line 1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                scmp_filter_ctx_t ctx = NULL;
                jailer_error err = { 0 };
                int r = jl_seccomp_parse_oci(cases[i].json, strlen(cases[i].json), "p.json", &ctx, &err);
                ok(r < 0 && !ctx && err.step == JAILER_STEP_SECCOMP && strstr(err.message, cases[i].want) &&
                           !strstr(err.message, "SECRET"),
                   "error %zu: \"%s\"", i, err.message);
                if (ctx)
                        seccomp_release(ctx);
        }

        /* A syscall this libseccomp does not know is skipped, not an error:
         * profiles list the syscalls of every kernel. */
        static const char unknown[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                                      "[\"no_such_syscall\",\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
        scmp_filter_ctx_t ctx = NULL;
        jailer_error err = { 0 };
        ok(jl_seccomp_parse_oci(unknown, strlen(unknown), "p.json", &ctx, &err) == 0 && ctx,
           "an unknown syscall name is skipped (%s)", err.message);
        if (ctx)
                seccomp_release(ctx);
}

/* A filter of many rules is compiled as a binary tree of syscall numbers:
 * its program is not the list libseccomp makes by default, and it answers
 * every system call number of every architecture as that list does. */
static void test_tree(void)
{
        static const char allowlist[] =
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"write\",\"openat\","
                "\"close\",\"mmap\",\"munmap\",\"brk\",\"futex\",\"exit_group\",\"ioctl\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}";
        static const char few[] =
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"ptrace\"],"
                "\"action\":\"SCMP_ACT_ERRNO\"}]}";
        _cleanup_free_ char *p_allow = write_profile("tree-allow.json", allowlist);
        _cleanup_free_ char *p_few = write_profile("tree-few.json", few);
        jailer_config *cs[] = { jailer_config_new("t1", "/bin/true", dir), jailer_config_new("t2", "/bin/true", dir),
                                jailer_config_new("t3", "/bin/true", dir), jailer_config_new("t4", "/bin/true", dir) };
        static const char *const what[] = { "default", "default, with allowances", "OCI allowlist",
                                            "OCI, one rule" };
        static const bool tree_want[] = { true, true, true, false };
        static const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64,
                                           AUDIT_ARCH_ARM, 0 };
        jailer_config_add_seccomp_allow(cs[1], "ptrace");
        jailer_config_add_seccomp_allow(cs[1], "bpf");
        jailer_config_add_seccomp_allow(cs[1], "clone3");
        jailer_config_set_seccomp(cs[2], p_allow);
        jailer_config_set_seccomp(cs[3], p_few);

        for (size_t i = 0; i < ELEMENTSOF(cs); i++) {
                _cleanup_free_ char *got = NULL, *list = NULL;
                size_t got_len = 0, list_len = 0;
                unsigned same = 0, checked = 0;

                /* As compiled (what jl_seccomp_prepare() exports), then the default list. */
                if (!ok(libseccomp_bytes(cs[i], 0, &got, &got_len) == 0 &&
                                libseccomp_bytes(cs[i], 1, &list, &list_len) == 0,
                        "%s: compiled and exported", what[i]))
                        continue;
                ok((got_len != list_len || memcmp(got, list, got_len) != 0) == tree_want[i], "%s: %s", what[i],
                   tree_want[i] ? "a tree, not the list" : "the list (too few rules for a tree)");
                /* x32's calls are x86-64's with bit 30 set. */
                for (size_t a = 0; arches[a]; a++)
                        for (int k = 0; k < 2048; k++) {
                                int nr = k < 1024 ? k : 0x40000000 + (k - 1024);
                                uint32_t r1 = 0, r2 = 0;
                                int k1 = jl_seccomp_bpf_verdict((const struct sock_filter *) got,
                                                                got_len / sizeof(struct sock_filter), arches[a], nr, &r1);
                                int k2 = jl_seccomp_bpf_verdict((const struct sock_filter *) list,
                                                                list_len / sizeof(struct sock_filter), arches[a], nr, &r2);
                                checked++;
                                if (k1 == k2 && (k1 < 0 || r1 == r2))
                                        same++;
                                else
                                        printf("# %s: arch 0x%x syscall %d: 0x%x (%d) as compiled, 0x%x (%d) as the list\n",
                                               what[i], arches[a], nr, r1, k1, r2, k2);
                        }
                ok(same == checked, "%s: the same verdict as the list for %u of %u calls", what[i], same, checked);
        }
        for (size_t i = 0; i < ELEMENTSOF(cs); i++)
                jailer_config_free(cs[i]);
        unlink(p_allow);
        unlink(p_few);
}

int main(void)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp: %m\n");
                return 1;
        }
        test_programs();
        test_verdicts();
        test_tree();
        test_errors();
        rmdir(dir);
        return done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The cgroup backends against the real kernel, as root: limits written and
 * read back from cgroupfs, processes attached (and born in the cgroup with
 * clone3(CLONE_INTO_CGROUP) on v2), memory/pids/cpu limits enforced for
 * real, statistics, kill_all on a process tree, removal, refused requests
 * leaving nothing behind.
 *
 * Everything is created under a parent of the test's own,
 * jailer-test-<pid>/jails, in every hierarchy, and removed at exit.
 * The expected hierarchies are found here independently of the library
 * (from /proc/self/mountinfo) so that the checks do not trust the code
 * under test.
 *
 * TAP, one test point per check (tests/lib/tap.h); skips the whole plan
 * ("1..0 # SKIP <reason>") when not root or when the host has no backend.
 */
#include "cgroup-internal.h"
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define MiB (1024ULL * 1024)

static bool is_v2;
static char top_name[64];    /* jailer-test-<pid> */
static char parent_name[96]; /* jailer-test-<pid>/jails */

/* The hierarchies a jail's leaves go to, as this test sees them. */
#define MAX_HIER 8
static struct hier {
        char mnt[PATH_MAX];
        char ctl[64];           /* "cpu", "cpu,cpuacct", ..., "" on v2 */
} hiers[MAX_HIER];
static size_t n_hiers;

static pid_t kids[64];
static size_t n_kids;

/* snprintf for paths and messages: truncation would make a check look at
 * the wrong file, so it is a failure of the test itself. */
_printf_(3, 4) static void pathf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= size) {
                fprintf(stderr, "test-cgroup: string too long: %s\n", buf);
                exit(2);
        }
}

_printf_(2, 3) static bool check(bool pass, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vok(pass, fmt, ap);
        va_end(ap);
        return pass;
}

/* ------------------------------------------------------------ files */

static char *read_file(const char *path)
{
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        int ch;
        while ((ch = fgetc(f)) != EOF)
                fputc(ch, m);
        fclose(f);
        fclose(m);
        return buf;
}

static bool read_u64(const char *path, uint64_t *v)
{
        _cleanup_free_ char *s = read_file(path);
        if (!s)
                return false;
        if (strncmp(s, "max", 3) == 0) {
                *v = UINT64_MAX;
                return true;
        }
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno || end == s)
                return false;
        *v = x;
        return true;
}

/* "key N" in a flat keyed file. */
static bool read_key(const char *path, const char *key, uint64_t *v)
{
        _cleanup_free_ char *s = read_file(path);
        if (!s)
                return false;
        size_t kl = strlen(key);
        for (char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
                        *v = strtoull(l + kl + 1, NULL, 10);
                        return true;
                }
        return false;
}

/* Read a number from a cgroup file and compare. */
static void check_u64(const char *path, uint64_t want, const char *why)
{
        uint64_t v = 0;
        bool ok = read_u64(path, &v);
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (ok)
                check(v == want, "%s is %" PRIu64 "%s%s", name, v, why[0] ? " " : "", why);
        else
                check(false, "%s: cannot read %s", name, path);
}

static bool exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

static const char *leaf(size_t h, const char *id)
{
        static char buf[MAX_HIER][PATH_MAX];
        pathf(buf[h], sizeof(buf[h]), "%s/%s/%s", hiers[h].mnt, parent_name, id);
        return buf[h];
}

/* Is word one of the comma-separated items of list? */
static bool list_has(const char *list, const char *word)
{
        char l[1100], w[64];
        pathf(l, sizeof(l), ",%s,", list);
        pathf(w, sizeof(w), ",%s,", word);
        return strstr(l, w) != NULL;
}

/* The hierarchy holding a v1 controller (the only one on v2), or -1. */
static ssize_t find_hier(const char *ctl)
{
        for (size_t h = 0; h < n_hiers; h++)
                if (is_v2 || list_has(hiers[h].ctl, ctl))
                        return (ssize_t) h;
        return -1;
}

static size_t hier_of(const char *ctl)
{
        ssize_t h = find_hier(ctl);
        return h < 0 ? 0 : (size_t) h;
}

static const char *file_in(const char *ctl, const char *id, const char *file)
{
        static char buf[4][PATH_MAX];
        static unsigned k;
        char *b = buf[k++ % 4];
        pathf(b, PATH_MAX, "%s/%s", leaf(hier_of(ctl), id), file);
        return b;
}

static bool no_leaf_anywhere(const char *id, char *which, size_t size)
{
        for (size_t h = 0; h < n_hiers; h++)
                if (exists(leaf(h, id))) {
                        pathf(which, size, "%s", leaf(h, id));
                        return false;
                }
        pathf(which, size, "none");
        return true;
}

static bool procs_empty_everywhere(const char *id)
{
        for (size_t h = 0; h < n_hiers; h++) {
                char p[PATH_MAX];
                pathf(p, sizeof(p), "%s/cgroup.procs", leaf(h, id));
                _cleanup_free_ char *s = read_file(p);
                if (!s || s[0])
                        return false;
        }
        return true;
}

/* ------------------------------------------------------------ the hierarchies, independently */

static void find_hierarchies(void)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        while (f && fgets(line, sizeof(line), f)) {
                char mp[PATH_MAX], fstype[64], opts[1024];
                char *dash = strstr(line, " - ");
                if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
                    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
                        continue;
                if (is_v2 && strcmp(fstype, "cgroup2") == 0) {
                        char p[PATH_MAX + 32];
                        pathf(p, sizeof(p), "%s/cgroup.controllers", mp);
                        _cleanup_free_ char *c = read_file(p);
                        if (c && strstr(c, "memory") && strstr(c, "pids") && n_hiers == 0) {
                                pathf(hiers[0].mnt, PATH_MAX, "%s", mp);
                                n_hiers = 1;
                        }
                } else if (!is_v2 && strcmp(fstype, "cgroup") == 0) {
                        /* The first mount of each controller; co-mounted
                         * controllers share one hierarchy. */
                        static const char *const names[] = { "cpu", "cpuacct", "memory", "pids" };
                        char ctl[64] = "";
                        bool fresh = false;
                        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                                if (list_has(opts, names[i])) {
                                        if (find_hier(names[i]) < 0)
                                                fresh = true;
                                        if (ctl[0])
                                                strcat(ctl, ",");
                                        strcat(ctl, names[i]);
                                }
                        if (fresh && n_hiers < MAX_HIER) {
                                pathf(hiers[n_hiers].mnt, PATH_MAX, "%s", mp);
                                pathf(hiers[n_hiers].ctl, sizeof(hiers[n_hiers].ctl), "%s", ctl);
                                n_hiers++;
                        }
                }
        }
        if (f)
                fclose(f);
}

/* ------------------------------------------------------------ clean-up */

static void kill_listed(const char *dir)
{
        char p[PATH_MAX + 16];
        pathf(p, sizeof(p), "%s/cgroup.procs", dir);
        _cleanup_free_ char *s = read_file(p);
        for (char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                pid_t pid = (pid_t) atoi(l);
                /* Only processes of this test can be in the test's cgroups. */
                if (pid > 0)
                        kill(pid, SIGKILL);
        }
}

static void remove_tree(const char *dir)
{
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d)))
                if (e->d_type == DT_DIR && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                        char sub[PATH_MAX];
                        pathf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
                        remove_tree(sub);
                }
        closedir(d);
        for (int i = 0; i < 200; i++) {
                kill_listed(dir);
                if (rmdir(dir) == 0 || errno == ENOENT)
                        return;
                usleep(10000);
        }
        fprintf(stderr, "test-cgroup: cannot remove %s: %m\n", dir);
}

static void reap_all(void)
{
        for (size_t i = 0; i < n_kids; i++)
                if (kids[i] > 0)
                        kill(kids[i], SIGKILL);
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

static void cleanup(void)
{
        reap_all();
        for (size_t h = 0; h < n_hiers; h++) {
                char top[PATH_MAX];
                pathf(top, sizeof(top), "%s/%s", hiers[h].mnt, top_name);
                remove_tree(top);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

/* ------------------------------------------------------------ children */

/* A child that waits for "go" (so that it can be put into its cgroup
 * first), then runs fn, which reports through res. */
struct kid {
        pid_t pid;
        int go;         /* write end: parent says go */
        int res;        /* read end: child reports */
};

typedef void (*kid_fn)(int res);

static bool kid_start(struct kid *k, kid_fn fn)
{
        int go[2], res[2];
        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
                return false;
        k->pid = fork();
        if (k->pid < 0)
                return false;
        if (k->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(go[1]);
                close(res[0]);
                char c;
                if (read(go[0], &c, 1) != 1)
                        _exit(99);
                fn(res[1]);
                _exit(0);
        }
        kids[n_kids++ % ELEMENTSOF(kids)] = k->pid;
        close(go[0]);
        close(res[1]);
        k->go = go[1];
        k->res = res[0];
        return true;
}

static void kid_go(struct kid *k)
{
        if (write(k->go, "g", 1) != 1)
                perror("go");
        close(k->go);
        k->go = -1;
}

static bool kid_read(struct kid *k, void *buf, size_t len)
{
        size_t got = 0;
        while (got < len) {
                ssize_t n = read(k->res, (char *) buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false;
                got += (size_t) n;
        }
        return true;
}

static int kid_wait(struct kid *k, struct rusage *ru)
{
        int status = -1;
        struct rusage dummy;
        while (wait4(k->pid, &status, 0, ru ? ru : &dummy) < 0 && errno == EINTR)
                ;
        if (k->res >= 0)
                close(k->res);
        if (k->go >= 0)
                close(k->go);
        k->res = k->go = -1;
        for (size_t i = 0; i < ELEMENTSOF(kids); i++)
                if (kids[i] == k->pid)
                        kids[i] = 0;
        return status;
}

static const char *status_str(int st)
{
        static char buf[64];
        if (WIFEXITED(st))
                pathf(buf, sizeof(buf), "exit %d", WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
                pathf(buf, sizeof(buf), "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
                pathf(buf, sizeof(buf), "status %#x", st);
        return buf;
}

static void fn_wait(int res)
{
        pause();
}

/* Allocate and touch 4x the 32 MiB limit. */
static void fn_hog(int res)
{
        size_t len = 128 * MiB;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                _exit(2);
        for (size_t i = 0; i < len; i += 4096)
                p[i] = 1;
        _exit(0);
}

/* Fork until it fails; report (forks that worked, errno of the failure). */
static void fn_forker(int res)
{
        int out[2] = { 0, 0 };
        for (int i = 0; i < 16; i++) {
                pid_t p = fork();
                if (p == 0) {
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        pause();
                        _exit(0);
                }
                if (p < 0) {
                        out[1] = errno;
                        break;
                }
                out[0]++;
        }
        if (write(res, out, sizeof(out)) != sizeof(out))
                _exit(3);
        pause();
}

static void fn_spin(int res)
{
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        do
                clock_gettime(CLOCK_MONOTONIC, &b);
        while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 2000000000L);
        _exit(0);
}

/* A child and a grandchild in a session of its own, both waiting. */
static void fn_tree(int res)
{
        pid_t g = fork();
        if (g == 0) {
                setsid();
                pause();
                _exit(0);
        }
        if (write(res, &g, sizeof(g)) != sizeof(g))
                _exit(3);
        pause();
}

/* ------------------------------------------------------------ helpers */

static void cfg_init(struct jailer_config *c, const char *id)
{
        memset(c, 0, sizeof(*c));
        c->id = (char *) id;
        c->cgroup_parent = parent_name;
        c->cgroup_version = JAILER_CGROUP_AUTO;
        c->limits.cpu_quota_us = JL_UNSET;
        c->limits.cpu_period_us = 100000;
        c->limits.memory_bytes = JL_UNSET;
        c->limits.pids = JL_UNSET;
        c->limits.max_file_size = JL_UNSET;
        c->limits.io_weight = JL_UNSET;
}

static struct jl_cgroup *create_or_fail(const struct jailer_config *c)
{
        jailer_error err = { 0 };
        struct jl_cgroup *cg = NULL;
        int r = jl_cgroup_create(c, &cg, &err);
        check(r == 0 && cg, "create cgroup '%s'%s%s", c->id, r == 0 ? "" : ": ", r == 0 ? "" : err.message);
        return r == 0 ? cg : NULL;
}

static void destroy_and_check(struct jl_cgroup *cg, const char *id)
{
        int r = jl_cgroup_destroy(cg);
        char which[PATH_MAX];
        bool gone = no_leaf_anywhere(id, which, sizeof(which));
        check(r == 0 && gone, "destroy '%s' removes its leaf in all %zu hierarch%s (left: %s)", id, n_hiers,
              n_hiers == 1 ? "y" : "ies", which);
}

/* Does /proc/pid/cgroup name our leaf for every hierarchy? */
static bool in_leaf(pid_t pid, const char *id, char *why, size_t size)
{
        char p[64];
        pathf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        _cleanup_free_ char *s = read_file(p);
        if (!s) {
                pathf(why, size, "cannot read %s", p);
                return false;
        }
        char want[PATH_MAX];
        pathf(want, sizeof(want), "/%s/%s", parent_name, id);
        for (size_t h = 0; h < n_hiers; h++) {
                bool found = false;
                for (char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                        if (!c2)
                                continue;
                        char ctl[128] = "";
                        pathf(ctl, sizeof(ctl), "%.*s", (int) (c2 - c1 - 1), c1 + 1);
                        char *nl = strchr(c2, '\n');
                        size_t plen = nl ? (size_t) (nl - c2 - 1) : strlen(c2 + 1);
                        char first[64];
                        pathf(first, sizeof(first), "%s", hiers[h].ctl);
                        strtok(first, ",");
                        bool ctl_ok = is_v2 ? ctl[0] == '\0' : list_has(ctl, first);
                        if (ctl_ok && plen == strlen(want) && strncmp(c2 + 1, want, plen) == 0)
                                found = true;
                }
                if (!found) {
                        pathf(why, size, "no \"%s:%s\" line in %s", is_v2 ? "0:" : hiers[h].ctl, want, p);
                        return false;
                }
        }
        pathf(why, size, "%s", want);
        return true;
}

/* ------------------------------------------------------------ tests */

static void test_limits(void)
{
        struct jailer_config c;
        cfg_init(&c, "limits");
        c.limits.cpu_quota_us = 20000;
        c.limits.memory_bytes = 32 * MiB + 100; /* the kernel rounds down to a page */
        c.limits.pids = 4;
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        const char *id = c.id;
        check(jl_cgroup_is_v2(cg) == is_v2, "backend is %s", is_v2 ? "v2" : "v1");
        const char *expect_path = leaf(hier_of("memory"), id);
        check(strcmp(jl_cgroup_path(cg), expect_path) == 0, "jl_cgroup_path is %s", jl_cgroup_path(cg));

        if (is_v2) {
                _cleanup_free_ char *cpu = read_file(file_in("cpu", id, "cpu.max"));
                bool ok = cpu && strcmp(cpu, "20000 100000\n") == 0;
                if (cpu)
                        cpu[strcspn(cpu, "\n")] = '\0';
                check(ok, "cpu.max is \"%s\"", cpu ? cpu : "unreadable");
                check_u64(file_in("memory", id, "memory.max"), 32 * MiB, "(32 MiB + 100 rounded down to a page)");
                if (exists(file_in("memory", id, "memory.swap.max")))
                        check_u64(file_in("memory", id, "memory.swap.max"), 0, "(swap cannot extend the limit)");
                else
                        diag("memory.swap.max absent (no swap accounting): nothing to check");
                check_u64(file_in("memory", id, "memory.oom.group"), 1, "");
                check_u64(file_in("pids", id, "pids.max"), 4, "");

                /* The leaf's parents hand it the three controllers. */
                char lvl[PATH_MAX];
                ok = true;
                const char *lvls[] = { "", top_name, parent_name };
                for (size_t i = 0; i < ELEMENTSOF(lvls); i++) {
                        pathf(lvl, sizeof(lvl), "%s/%s/cgroup.subtree_control", hiers[0].mnt, lvls[i]);
                        _cleanup_free_ char *s = read_file(lvl);
                        if (!s || !strstr(s, "cpu") || !strstr(s, "memory") || !strstr(s, "pids"))
                                ok = false;
                }
                check(ok, "cpu memory pids enabled in subtree_control from the root down to %s", parent_name);

                int fd = jl_cgroup_clone_fd(cg);
                struct stat a, b;
                check(fd >= 0 && fstat(fd, &a) == 0 && stat(expect_path, &b) == 0 && a.st_ino == b.st_ino &&
                              (fcntl(fd, F_GETFD) & FD_CLOEXEC),
                      "clone_fd is a close-on-exec fd of the leaf");
        } else {
                check_u64(file_in("cpu", id, "cpu.cfs_period_us"), 100000, "");
                check_u64(file_in("cpu", id, "cpu.cfs_quota_us"), 20000, "");
                check_u64(file_in("memory", id, "memory.limit_in_bytes"), 32 * MiB,
                          "(32 MiB + 100 rounded down to a page)");
                if (exists(file_in("memory", id, "memory.memsw.limit_in_bytes")))
                        check_u64(file_in("memory", id, "memory.memsw.limit_in_bytes"), 32 * MiB,
                                  "(swap cannot extend the limit)");
                else
                        diag("memory.memsw.limit_in_bytes absent (no swap accounting)");
                check_u64(file_in("pids", id, "pids.max"), 4, "");
                check(jl_cgroup_clone_fd(cg) == -1, "clone_fd is -1 on v1");
                for (size_t h = 0; h < n_hiers; h++)
                        check(exists(leaf(h, id)), "leaf exists in the %s hierarchy: %s", hiers[h].ctl, leaf(h, id));
        }
        destroy_and_check(cg, id);
}

static void test_attach(void)
{
        struct jailer_config c;
        cfg_init(&c, "attach");
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        struct kid k;
        if (!check(kid_start(&k, fn_wait), "fork a waiting child"))
                return;
        jailer_error err = { 0 };
        int r = jl_cgroup_attach(cg, k.pid, &err);
        check(r == 0, "attach pid %d%s%s", (int) k.pid, r ? ": " : "", r ? err.message : "");
        char why[PATH_MAX + 64];
        check(in_leaf(k.pid, c.id, why, sizeof(why)), "/proc/%d/cgroup names the leaf in every hierarchy: %s",
              (int) k.pid, why);

        jl_cgroup_stats st;
        r = jl_cgroup_stats_read(cg, &st);
        check(r == 0 && st.pids_current == 1, "stats: pids_current %" PRIu64, st.pids_current);

        /* attach of a pid that does not exist fails with a message. */
        err = (jailer_error){ 0 };
        r = jl_cgroup_attach(cg, INT32_MAX - 1, &err);
        check(r < 0 && err.step == JAILER_STEP_CGROUP && strstr(err.message, "cgroup.procs"),
              "attach of a missing pid fails: %s", err.message);

        /* destroy without kill_all first: it kills what is left itself. */
        destroy_and_check(cg, c.id);
        int ws = kid_wait(&k, NULL);
        check(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "destroy killed the child left inside: %s",
              status_str(ws));
}

static void test_clone3(void)
{
        struct jailer_config c;
        cfg_init(&c, "clone3");
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        int go[2];
        if (pipe2(go, O_CLOEXEC) < 0)
                return;
        struct clone_args args = {
                .flags = CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) jl_cgroup_clone_fd(cg),
        };
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid == 0) {
                char ch;
                close(go[1]);
                (void) !read(go[0], &ch, 1);
                _exit(0);
        }
        close(go[0]);
        if (pid < 0) {
                check(errno == ENOSYS || errno == E2BIG, "clone3(CLONE_INTO_CGROUP): %m");
                diag("kernel without CLONE_INTO_CGROUP: attach() is the way in");
        } else {
                kids[n_kids++ % ELEMENTSOF(kids)] = (pid_t) pid;
                char why[PATH_MAX + 64];
                check(in_leaf((pid_t) pid, c.id, why, sizeof(why)),
                      "clone3(CLONE_INTO_CGROUP) child is born in the leaf: %s", why);
                close(go[1]);
                int st;
                waitpid((pid_t) pid, &st, 0);
        }
        destroy_and_check(cg, c.id);
}

static void test_memory(void)
{
        struct jailer_config c;
        cfg_init(&c, "memory");
        c.limits.memory_bytes = 32 * MiB;
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        struct kid k;
        jailer_error err = { 0 };
        if (!kid_start(&k, fn_hog) || jl_cgroup_attach(cg, k.pid, &err) < 0) {
                check(false, "start the memory hog: %s", err.message);
                jl_cgroup_destroy(cg);
                return;
        }
        kid_go(&k);
        int st = kid_wait(&k, NULL);
        check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child touching 128 MiB under a 32 MiB limit: %s",
              status_str(st));

        jl_cgroup_stats s;
        int r = jl_cgroup_stats_read(cg, &s);
        check(r == 0 && s.oom_killed, "stats: oom_killed %s", s.oom_killed ? "true" : "false");
        if (s.memory_peak_bytes == JAILER_UNKNOWN) {
                /* Only where the kernel does not say: cgroup v2 before 5.19. */
                char peak[PATH_MAX];

                snprintf(peak, sizeof(peak), "%s/memory.peak", jl_cgroup_path(cg));
                check(access(peak, F_OK) < 0 && errno == ENOENT,
                      "stats: memory_peak unknown (null), and this kernel has no %s", peak);
        } else
                check(s.memory_peak_bytes >= 24 * MiB && s.memory_peak_bytes <= 33 * MiB,
                      "stats: memory_peak %.1f MiB, near the 32 MiB limit", (double) s.memory_peak_bytes / MiB);
        check(jl_cgroup_kill_all(cg) == 0, "kill_all on an empty cgroup returns at once");
        destroy_and_check(cg, c.id);
}

static void test_pids(void)
{
        struct jailer_config c;
        cfg_init(&c, "pids");
        c.limits.pids = 4;
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        struct kid k;
        jailer_error err = { 0 };
        if (!kid_start(&k, fn_forker) || jl_cgroup_attach(cg, k.pid, &err) < 0) {
                check(false, "start the forker: %s", err.message);
                jl_cgroup_destroy(cg);
                return;
        }
        kid_go(&k);
        int out[2] = { -1, -1 };
        bool got = kid_read(&k, out, sizeof(out));
        check(got && out[0] == 3 && out[1] == EAGAIN,
              "pids.max 4: the child plus %d forks fit, the next fork fails with %s", out[0],
              got && out[1] ? strerrorname_np(out[1]) : "nothing");

        jl_cgroup_stats s;
        int r = jl_cgroup_stats_read(cg, &s);
        check(r == 0 && s.pids_current == 4, "stats: pids_current %" PRIu64, s.pids_current);
        if (s.pids_peak >= 0)
                check(s.pids_peak == 4, "stats: pids_peak %" PRId64 " (the kernel has pids.peak)", s.pids_peak);
        else
                diag("stats: pids_peak -1: this kernel has no pids.peak on %s", is_v2 ? "v2" : "v1");

        r = jl_cgroup_kill_all(cg);
        check(r == 0, "kill_all kills the forker and its 3 children");
        int st = kid_wait(&k, NULL);
        check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "forker: %s", status_str(st));
        check(procs_empty_everywhere(c.id), "cgroup.procs empty in every hierarchy");
        destroy_and_check(cg, c.id);
}

static void test_cpu(void)
{
        struct jailer_config c;
        cfg_init(&c, "cpu");
        c.limits.cpu_quota_us = 20000;
        c.limits.cpu_period_us = 100000;
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        struct kid k;
        jailer_error err = { 0 };
        if (!kid_start(&k, fn_spin) || jl_cgroup_attach(cg, k.pid, &err) < 0) {
                check(false, "start the spinner: %s", err.message);
                jl_cgroup_destroy(cg);
                return;
        }
        kid_go(&k);
        struct rusage ru;
        int st = kid_wait(&k, &ru);
        double cpu = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
                     ru.ru_stime.tv_usec / 1e6;
        check(WIFEXITED(st) && cpu >= 0.1 && cpu <= 0.8,
              "cpu quota 20%%: a 2 s spin got %.3f s of CPU (expected about 0.4, 0.1-0.8 accepted)", cpu);

        uint64_t thr = 0;
        bool have = read_key(file_in("cpu", c.id, "cpu.stat"), "nr_throttled", &thr);
        check(have && thr > 0, "cpu.stat nr_throttled %" PRIu64 " > 0", thr);

        jl_cgroup_stats s;
        int r = jl_cgroup_stats_read(cg, &s);
        double us = (double) s.cpu_usage_us / 1e6;
        check(r == 0 && us >= cpu * 0.5 - 0.05 && us <= cpu * 1.5 + 0.05,
              "stats: cpu_usage %.3f s, consistent with the child's rusage %.3f s", us, cpu);
        destroy_and_check(cg, c.id);
}

/* A cgroup for jail ID holding a child and its grandchild (fn_tree: the
 * grandchild in a session of its own).  *g is the grandchild's pid and
 * *got whether the child told it.  NULL, after a failed check, when the
 * tree cannot be started in the cgroup. */
static struct jl_cgroup *tree_in_cgroup(struct jailer_config *c, const char *id, struct kid *k, pid_t *g,
                                        bool *got)
{
        cfg_init(c, id);
        struct jl_cgroup *cg = create_or_fail(c);
        if (!cg)
                return NULL;

        jailer_error err = { 0 };
        if (!kid_start(k, fn_tree) || jl_cgroup_attach(cg, k->pid, &err) < 0) {
                check(false, "start the tree: %s", err.message);
                jl_cgroup_destroy(cg);
                return NULL;
        }
        kid_go(k);
        *g = -1;
        *got = kid_read(k, g, sizeof(*g));
        return cg;
}

static void test_kill_all(void)
{
        struct jailer_config c;
        struct kid k;
        pid_t g;
        bool got;
        struct jl_cgroup *cg = tree_in_cgroup(&c, "kill", &k, &g, &got);
        if (!cg)
                return;

        check(got && g > 0, "child %d forked grandchild %d (own session)", (int) k.pid,
              (int) g);

        jl_cgroup_stats s;
        jl_cgroup_stats_read(cg, &s);
        check(s.pids_current == 2, "stats: pids_current %" PRIu64 " before kill_all", s.pids_current);

        uint64_t t0 = jl_now_monotonic_ns();
        int r = jl_cgroup_kill_all(cg);
        double ms = (double) (jl_now_monotonic_ns() - t0) / 1e6;
        check(r == 0, "kill_all returned %d after %.1f ms", r, ms);
        check(procs_empty_everywhere(c.id), "cgroup.procs empty in every hierarchy");
        if (is_v2) {
                uint64_t pop = 1;
                check(read_key(file_in("memory", c.id, "cgroup.events"), "populated", &pop) && pop == 0,
                      "cgroup.events: populated 0");
        }

        int st = kid_wait(&k, NULL);
        check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child: %s", status_str(st));
        /* The grandchild is re-parented to us (a subreaper) once the child
         * is gone; that can lag a moment behind the cgroup emptying. */
        int gst = -1;
        pid_t w = -1;
        for (int i = 0; i < 200; i++) {
                w = waitpid(g, &gst, WNOHANG);
                if (w == g || (w < 0 && errno != ECHILD))
                        break;
                usleep(5000);
        }
        check(w == g && WIFSIGNALED(gst) && WTERMSIG(gst) == SIGKILL, "grandchild: %s",
              w == g ? status_str(gst) : "not reaped");
        destroy_and_check(cg, c.id);
}

/* v2 without cgroup.kill (before Linux 5.14) falls back to killing what
 * cgroup.procs lists, round after round: exercise that path directly. */
static void test_kill_procs_fallback(void)
{
        struct jailer_config c;
        struct kid k;
        pid_t g;
        bool got;
        struct jl_cgroup *cg = tree_in_cgroup(&c, "killprocs", &k, &g, &got);
        if (!cg)
                return;

        int fd = open(jl_cgroup_path(cg), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int listed = -1, rounds = 0;
        for (; rounds < 500; rounds++) {
                listed = jl_cg_kill_procs(fd);
                if (listed <= 0)
                        break;
                usleep(2000);
        }
        close(fd);
        check(got && listed == 0, "kill by cgroup.procs (no cgroup.kill): empty after %d rounds", rounds);
        int st = kid_wait(&k, NULL);
        check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child: %s", status_str(st));
        for (int i = 0; i < 200 && waitpid(g, NULL, WNOHANG) != g; i++)
                usleep(5000);
        destroy_and_check(cg, c.id);
}

/* v2 gives controllers only to children of cgroups without processes: a
 * parent holding one makes the request fail, saying which file and why. */
static void test_busy_parent(void)
{
        char busy[PATH_MAX];
        pathf(busy, sizeof(busy), "%s/busy", parent_name);
        char busy_dir[PATH_MAX];
        pathf(busy_dir, sizeof(busy_dir), "%s/%s", hiers[0].mnt, busy);
        if (mkdir(busy_dir, 0755) < 0) {
                check(false, "mkdir %s: %m", busy_dir);
                return;
        }

        struct kid k;
        if (!kid_start(&k, fn_wait))
                return;
        char procs[PATH_MAX];
        pathf(procs, sizeof(procs), "%s/cgroup.procs", busy_dir);
        FILE *f = fopen(procs, "we");
        bool moved = f && fprintf(f, "%d\n", (int) k.pid) > 0;
        moved = f && fclose(f) == 0 && moved;

        struct jailer_config c;
        cfg_init(&c, "underbusy");
        c.cgroup_parent = busy;
        jailer_error err = { 0 };
        struct jl_cgroup *cg = NULL;
        int r = jl_cgroup_create(&c, &cg, &err);
        check(moved && r < 0 && err.code == EBUSY && strstr(err.message, "cgroup.subtree_control") &&
                      strstr(err.message, busy_dir),
              "parent with a process of its own: %s", err.message);
        char leaf_dir[PATH_MAX];
        pathf(leaf_dir, sizeof(leaf_dir), "%s/underbusy", busy_dir);
        check(!exists(leaf_dir), "and no leaf was made");

        kill(k.pid, SIGKILL);
        kid_wait(&k, NULL);
        for (int i = 0; i < 100 && rmdir(busy_dir) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

static void test_eexist(void)
{
        struct jailer_config c;
        cfg_init(&c, "dup");
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        jailer_error err = { 0 };
        struct jl_cgroup *cg2 = NULL;
        int r = jl_cgroup_create(&c, &cg2, &err);
        check(r < 0 && err.code == EEXIST && err.step == JAILER_STEP_CGROUP && strcmp(err.field, "id") == 0 &&
                      strstr(err.message, "already exists") && strstr(err.message, jl_cgroup_path(cg)),
              "a second jail with the same id: %s", err.message);
        bool all = true;
        for (size_t h = 0; h < n_hiers; h++)
                all = all && exists(leaf(h, "dup"));
        check(all, "the first jail's leaves are untouched");
        destroy_and_check(cg, c.id);

        /* A leftover of a crash in one hierarchy only, in turn in each of
         * them: the refusal must undo the leaves it made in the others, and
         * leave the leftover alone (it is not ours). */
        for (size_t h = 0; h < n_hiers; h++) {
                cfg_init(&c, "leftover");
                if (mkdir(leaf(h, "leftover"), 0755) < 0) {
                        check(false, "mkdir %s: %m", leaf(h, "leftover"));
                        return;
                }
                err = (jailer_error){ 0 };
                r = jl_cgroup_create(&c, &cg2, &err);
                check(r < 0 && err.code == EEXIST && strstr(err.message, leaf(h, "leftover")),
                      "leftover %s: %s", leaf(h, "leftover"), err.message);
                bool others_clean = true;
                for (size_t i = 0; i < n_hiers; i++)
                        if (i != h)
                                others_clean = others_clean && !exists(leaf(i, "leftover"));
                check(others_clean && exists(leaf(h, "leftover")),
                      "the refusal removed only what it made; the leftover stays");
                rmdir(leaf(h, "leftover"));
        }
}

static void test_refusals(void)
{
        char which[PATH_MAX];
        struct jailer_config c;
        jailer_error err;
        struct jl_cgroup *cg = NULL;

        /* The kernel refuses a quota below 1 ms after the leaf exists. */
        cfg_init(&c, "badcpu");
        c.limits.cpu_quota_us = 10;
        c.limits.memory_bytes = 64 * MiB;
        err = (jailer_error){ 0 };
        int r = jl_cgroup_create(&c, &cg, &err);
        check(r < 0 && strcmp(err.field, "limits.cpu_quota_us") == 0 && err.code == EINVAL,
              "cpu quota 10 us refused: [%s] %s", err.field, err.message);
        check(no_leaf_anywhere("badcpu", which, sizeof(which)), "refused request left no leaf (found: %s)", which);

        cfg_init(&c, "escape");
        c.cgroup_parent = (char *) "../../escape";
        err = (jailer_error){ 0 };
        r = jl_cgroup_create(&c, &cg, &err);
        check(r < 0 && strcmp(err.field, "cgroup_parent") == 0, "cgroup_parent \"../../escape\" refused: %s",
              err.message);

        cfg_init(&c, "../x");
        err = (jailer_error){ 0 };
        r = jl_cgroup_create(&c, &cg, &err);
        check(r < 0 && strcmp(err.field, "id") == 0, "id \"../x\" refused: %s", err.message);

        /* The version this host does not have. */
        cfg_init(&c, "wrongver");
        c.cgroup_version = is_v2 ? JAILER_CGROUP_V1 : JAILER_CGROUP_V2;
        err = (jailer_error){ 0 };
        r = jl_cgroup_create(&c, &cg, &err);
        check(r < 0 && err.step == JAILER_STEP_CGROUP && strcmp(err.field, "cgroup_version") == 0 &&
                      strstr(err.message, is_v2 ? "v1" : "v2"),
              "cgroup %s requested on a %s host fails: %s", is_v2 ? "v1" : "v2", is_v2 ? "v2" : "v1", err.message);
        check(no_leaf_anywhere("wrongver", which, sizeof(which)), "and leaves nothing (found: %s)", which);

        /* And the one it has, asked for by name. */
        cfg_init(&c, "rightver");
        c.cgroup_version = is_v2 ? JAILER_CGROUP_V2 : JAILER_CGROUP_V1;
        cg = create_or_fail(&c);
        if (cg)
                destroy_and_check(cg, c.id);
}

/* jailer_cgroup_remove(): what a service does with a jail nothing holds
 * any more.  Given only the path the jail reported, it kills the process
 * tree and removes the leaf (and a sub-cgroup in it) from every hierarchy;
 * paths outside the hierarchies or with ".." are refused. */
static void test_remove_leftover(void)
{
        struct jailer_config c;
        cfg_init(&c, "leftover");
        struct jl_cgroup *cg = create_or_fail(&c);
        if (!cg)
                return;

        struct kid k;
        jailer_error err = { 0 };
        if (!kid_start(&k, fn_tree) || jl_cgroup_attach(cg, k.pid, &err) < 0) {
                check(false, "start the tree: %s", err.message);
                jl_cgroup_destroy(cg);
                return;
        }
        kid_go(&k);
        pid_t g = -1;
        bool got = kid_read(&k, &g, sizeof(g));
        check(got && g > 0, "leftover: child %d forked grandchild %d", (int) k.pid, (int) g);
        char sub[PATH_MAX];
        pathf(sub, sizeof(sub), "%s/sub", leaf(0, c.id));
        check(mkdir(sub, 0755) == 0, "leftover: a sub-cgroup %s", sub);

        /* Removed from another process, as a service would, while this
         * one reaps the killed. */
        _cleanup_free_ char *path = strdup(jl_cgroup_path(cg));
        int fds[2];
        if (pipe(fds) < 0)
                return;
        pid_t rm = fork();
        if (rm == 0) {
                int res[2] = { jailer_cgroup_remove(path, &err), err.code };
                _exit(write(fds[1], res, sizeof(res)) == sizeof(res) ? 0 : 1);
        }
        close(fds[1]);
        int st = kid_wait(&k, NULL);
        check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "leftover: child %s", status_str(st));
        int gst = -1;
        for (int i = 0; i < 400 && waitpid(g, &gst, WNOHANG) != g; i++)
                usleep(5000);
        check(WIFSIGNALED(gst) && WTERMSIG(gst) == SIGKILL, "leftover: grandchild %s", status_str(gst));
        int res[2] = { -2, 0 };
        bool read_ok = read(fds[0], res, sizeof(res)) == sizeof(res);
        close(fds[0]);
        (void) waitpid(rm, NULL, 0);
        check(read_ok && res[0] == 2, "jailer_cgroup_remove(%s) found %d processes (want 2), code %d", path, res[0],
              res[1]);
        char which[PATH_MAX];
        check(no_leaf_anywhere(c.id, which, sizeof(which)), "leftover: no leaf in any hierarchy (%s)", which);

        char rel[PATH_MAX];
        pathf(rel, sizeof(rel), "%s/%s", parent_name, c.id);
        err = (jailer_error) { 0 };
        int r = jailer_cgroup_remove(rel, &err);
        check(r == -1 && err.code == ENOENT, "leftover: again, relative (%s): ENOENT (%d, %s)", rel, r, err.message);

        static const char *const bad[] = { "/etc/passwd", "jailer/../..", "jailer//x", "/sys/fs/cgroup" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = (jailer_error) { 0 };
                r = jailer_cgroup_remove(bad[i], &err);
                check(r == -1 && err.code == EINVAL, "jailer_cgroup_remove(\"%s\") refused: %s", bad[i],
                      err.message);
        }
        (void) jl_cgroup_destroy(cg);   /* already gone: frees it */
}

int main(void)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (geteuid() != 0) {
                skip_all("not root (cgroups are created for real)");
                return 0;
        }
        const char *v = jl_cgroup_detect();
        if (!v) {
                skip_all("no cgroup backend on this host (neither v2 nor v1 offers cpu, memory and pids)");
                return 0;
        }
        is_v2 = strcmp(v, "v2") == 0;
        pathf(top_name, sizeof(top_name), "jailer-test-%d", (int) getpid());
        pathf(parent_name, sizeof(parent_name), "%s/jails", top_name);
        find_hierarchies();
        if (n_hiers == 0) {
                check(false, "the library detected %s, but this test finds no such hierarchy", v);
                return done();
        }
        atexit(cleanup);
        /* Grandchildren come back to us to be reaped. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);

        check(jailer_cgroup_detect() && strcmp(jailer_cgroup_detect(), v) == 0, "detected backend: %s", v);
        for (size_t h = 0; h < n_hiers; h++)
                diag("hierarchy %s%s%s", hiers[h].mnt, hiers[h].ctl[0] ? " " : "", hiers[h].ctl);

        test_limits();
        test_attach();
        if (is_v2)
                test_clone3();
        test_memory();
        test_pids();
        test_cpu();
        test_kill_all();
        if (is_v2) {
                test_kill_procs_fallback();
                test_busy_parent();
        }
        test_eexist();
        test_refusals();
        test_remove_leftover();

        cleanup();
        bool clean = true;
        for (size_t h = 0; h < n_hiers; h++) {
                char top[PATH_MAX];
                pathf(top, sizeof(top), "%s/%s", hiers[h].mnt, top_name);
                clean = clean && !exists(top);
        }
        check(clean, "the test's parent %s is gone from every hierarchy", top_name);

        return done();
}

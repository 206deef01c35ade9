/* SPDX-License-Identifier: MIT */
/*
 * floor: the kernel's floor for a jail with the isolation `jailer` gives.
 *
 * Only the system calls the isolation needs, in the order the jail core
 * makes them, with no validation, no error reporting channel and no
 * clean-up beyond the cgroup leaf:
 *
 *   parent                                   child
 *   cgroup leaf in each hierarchy, limits
 *   v1: each leaf's tasks file opened
 *   clone3(NEWNS|NEWPID|NEWNET|NEWUTS|NEWIPC
 *          [|CLONE_INTO_CGROUP on v2]) ────► v1: "0" into every tasks file
 *                                            (moves itself), waits on a pipe
 *   "go" ───────────────────────────────────► unshare(NEWCGROUP)
 *                                            / private, bind the root
 *                                            (nosuid,nodev), /proc,
 *                                            /proc/sys ro, tmpfs /dev +
 *                                            null, zero, urandom, ro
 *                                            pivot_root, detach old root
 *                                            hostname, lo up, rlimits
 *                                            setgroups(0), unshare(NEWUSER)
 *   setgroups deny, uid_map, gid_map ◄────── "maps"
 *   "go" ───────────────────────────────────► bounding+ambient sets dropped,
 *                                            setresgid/uid, capset(0),
 *                                            no_new_privs, execve
 *   waitid, rmdir the leaves
 *
 * Modes:
 *   floor [OPTS] -- PROG [ARGS]              one jail on our stdio; exit
 *                                            with its status
 *   floor --reps N [OPTS] -- PROG [ARGS]     N jails one after the other;
 *                                            one line per jail with the
 *                                            times of each step (below)
 *   floor --workers C --duration S [OPTS] -- PROG [ARGS]
 *                                            C processes making jails in a
 *                                            loop for S seconds; prints
 *                                            "throughput C JAILS SECONDS"
 *   floor --serve PATH [--workers C] [OPTS] -- PROG [ARGS]
 *                                            the same jails behind a
 *                                            socket, one per request
 *                                            (mode_serve() says how)
 *
 * PROG is a path inside the jail root (--root), which must hold it, proc/
 * and dev/.  --reps captures the jailed program's stdout and expects the
 * stamp's line (bench/stamp.c); the line printed per jail is
 *
 *   floor T_CG T_CLONE T_GO T_MNT T_PIVOT T_MISC T_USERNS T_MAPS T_PRIVS
 *         T_STAMP T_REAPED T_DONE T_STAMP_END
 *
 * each in microseconds since the jail was asked for (before the cgroup
 * mkdir): cgroup made with limits; clone3 returned in the parent; child
 * released (in its cgroups); mounts made; pivot_root done; hostname, lo and
 * rlimits done; user namespace made; maps written; privileges dropped
 * (just before execve); the jailed program's main(); reaped; leaves
 * removed; the jailed program's last instant before it exited.  The child's times come through a shared page, read with the
 * vDSO clock: no system call is added to the path.
 *
 * --skip LIST leaves out steps (comma-separated): cgroup, limits, user,
 * pid, net, mnt, uts, ipc, cgns, proc, dev, lo, caps: the harness uses it
 * to price each step.  Two variants try what the jail core could change:
 * --mount-api new builds the mounts as the jail core does (open_tree of the
 * root in the parent, fsopen/fsmount/move_mount in the child) instead of
 * mount(2); --overlap lets the child build its mounts while the parent
 * attaches it to the v1 cgroups, and waits for "go" only before the cgroup
 * and user namespaces (nothing of the jailed program runs before either).
 * --no-clone-into attaches by pid on v2 too; --attach-by-pid has the parent
 * write the child's pid into every v1 cgroup.procs instead of the child
 * moving itself (which takes the global cgroup_threadgroup_rwsem for
 * writing: an RCU grace period after a quiet spell).  --gap MS sleeps
 * between the jails of --reps: a jail asked for after a quiet spell, as a
 * service sees them, rather than back to back.  --cgroup-parent NAME (default jailer-bench-floor-PID)
 * is created in every hierarchy unless it exists, and then removed at the
 * end; the leaves (f<pid>-<n>) always are.  Several floors may share a
 * parent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

enum {
        SKIP_CGROUP = 1 << 0,
        SKIP_LIMITS = 1 << 1,
        SKIP_USER = 1 << 2,
        SKIP_PID = 1 << 3,
        SKIP_NET = 1 << 4,
        SKIP_MNT = 1 << 5,
        SKIP_UTS = 1 << 6,
        SKIP_IPC = 1 << 7,
        SKIP_CGNS = 1 << 8,
        SKIP_PROC = 1 << 9,
        SKIP_DEV = 1 << 10,
        SKIP_LO = 1 << 11,
        SKIP_CAPS = 1 << 12,
};

static const char *const skip_names[] = {
        "cgroup", "limits", "user", "pid", "net", "mnt", "uts", "ipc", "cgns", "proc", "dev", "lo", "caps",
};

/* Step times, written by parent and child into a shared page. */
enum {
        T_CG, T_CLONE, T_GO, T_MNT, T_PIVOT, T_MISC, T_USERNS, T_MAPS, T_PRIVS, T_STAMP, T_REAPED, T_DONE,
        T_COUNT
};

struct opts {
        const char *root;
        char **argv;
        unsigned skip;
        uid_t uid;
        gid_t gid;
        int reps;
        int workers;
        double duration;
        bool overlap;
        bool new_api;
        bool no_clone_into;
        bool attach_by_pid;
        int gap_ms;
        const char *serve;
};

static struct opts O = { .uid = 65534, .gid = 65534 };
static bool in_child;
static volatile int64_t *T;   /* shared page: T[T_COUNT] */
static int cap_last = 40;

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
        va_list ap;
        int e = errno;
        va_start(ap, fmt);
        fputs("floor: ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(e));
        if (in_child)
                _exit(125);
        exit(125);
}

/* ------------------------------------------------------------------ cgroups */

#define MAX_HIER 4
static const char *const v1_ctls[MAX_HIER] = { "memory", "pids", "cpu", "cpuacct" };

struct cgroups {
        bool v2;
        bool made[MAX_HIER];          /* the parent is ours to remove */
        int n;
        int parent_fd[MAX_HIER];      /* our parent in each hierarchy */
        char parent_path[MAX_HIER][256];
};
static struct cgroups CG;
static char cg_parent_name[96];

static int write_at(int dirfd, const char *file, const char *val)
{
        int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = write(fd, val, strlen(val));
        int e = errno;
        close(fd);
        errno = e;
        return n == (ssize_t) strlen(val) ? 0 : -1;
}

static void cg_init(void)
{
        struct statfs sf;
        if (statfs("/sys/fs/cgroup", &sf) < 0)
                die("statfs /sys/fs/cgroup");
        CG.v2 = sf.f_type == CGROUP2_SUPER_MAGIC;
        if (CG.v2) {
                int root = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root < 0)
                        die("open /sys/fs/cgroup");
                CG.made[0] = mkdirat(root, cg_parent_name, 0755) == 0;
                if (!CG.made[0] && errno != EEXIST)
                        die("mkdir /sys/fs/cgroup/%s", cg_parent_name);
                CG.parent_fd[0] = openat(root, cg_parent_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (CG.parent_fd[0] < 0)
                        die("open /sys/fs/cgroup/%s", cg_parent_name);
                if (write_at(CG.parent_fd[0], "cgroup.subtree_control", "+cpu +memory +pids") < 0)
                        die("enable cpu, memory, pids in /sys/fs/cgroup/%s", cg_parent_name);
                snprintf(CG.parent_path[0], sizeof(CG.parent_path[0]), "/sys/fs/cgroup/%s", cg_parent_name);
                close(root);
                CG.n = 1;
                return;
        }
        dev_t seen[MAX_HIER];
        for (int i = 0; i < MAX_HIER; i++) {
                char path[128];
                struct stat st;
                snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", v1_ctls[i]);
                if (stat(path, &st) < 0)
                        die("stat %s", path);
                bool dup = false;
                for (int j = 0; j < CG.n; j++)
                        dup |= seen[j] == st.st_dev;
                if (dup)
                        continue; /* co-mounted with one we have */
                int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        die("open %s", path);
                CG.made[CG.n] = mkdirat(fd, cg_parent_name, 0755) == 0;
                if (!CG.made[CG.n] && errno != EEXIST)
                        die("mkdir %s/%s", path, cg_parent_name);
                seen[CG.n] = st.st_dev;
                CG.parent_fd[CG.n] = openat(fd, cg_parent_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (CG.parent_fd[CG.n] < 0)
                        die("open %s/%s", path, cg_parent_name);
                snprintf(CG.parent_path[CG.n], sizeof(CG.parent_path[0]), "%s/%s", path, cg_parent_name);
                close(fd);
                CG.n++;
        }
}

static void cg_fini(void)
{
        for (int i = 0; i < CG.n; i++) {
                close(CG.parent_fd[i]);
                /* As for the leaves: busy for a moment after the last one. */
                for (int tries = 0; CG.made[i] && rmdir(CG.parent_path[i]) < 0 && errno == EBUSY && tries < 1000;
                     tries++)
                        usleep(100);
        }
}

/* Make the leaf `name` in every hierarchy and write the limits `jailer
 * --memory 256M --pids 64 --cpu 1` writes.  leaf_fd[] get the open leaves. */
static void cg_make(const char *name, int leaf_fd[MAX_HIER])
{
        for (int i = 0; i < CG.n; i++) {
                if (mkdirat(CG.parent_fd[i], name, 0755) < 0)
                        die("mkdir %s/%s", CG.parent_path[i], name);
                leaf_fd[i] = openat(CG.parent_fd[i], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (leaf_fd[i] < 0)
                        die("open %s/%s", CG.parent_path[i], name);
        }
        if (O.skip & SKIP_LIMITS)
                return;
        int ok = 0;
        if (CG.v2) {
                ok |= write_at(leaf_fd[0], "memory.max", "268435456");
                ok |= write_at(leaf_fd[0], "pids.max", "64");
                ok |= write_at(leaf_fd[0], "cpu.max", "100000 100000");
        } else {
                for (int i = 0; i < CG.n; i++) {
                        const char *ctl = CG.parent_path[i] + strlen("/sys/fs/cgroup/");
                        if (strncmp(ctl, "memory/", 7) == 0) {
                                ok |= write_at(leaf_fd[i], "memory.limit_in_bytes", "268435456");
                                (void) write_at(leaf_fd[i], "memory.memsw.limit_in_bytes", "268435456");
                        } else if (strncmp(ctl, "pids/", 5) == 0) {
                                ok |= write_at(leaf_fd[i], "pids.max", "64");
                        } else if (strncmp(ctl, "cpu/", 4) == 0) {
                                ok |= write_at(leaf_fd[i], "cpu.cfs_period_us", "100000");
                                ok |= write_at(leaf_fd[i], "cpu.cfs_quota_us", "100000");
                        }
                }
        }
        if (ok < 0)
                die("write the limits of %s", name);
}

static void cg_attach(int leaf_fd[MAX_HIER], pid_t pid)
{
        char buf[16];
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        for (int i = 0; i < CG.n; i++)
                if (write_at(leaf_fd[i], "cgroup.procs", buf) < 0)
                        die("attach %d", (int) pid);
}

/* v1: the leaves' tasks files, for the child to write "0" into: a thread
 * moving itself does without the global rwsem (Linux 6.2+). */
static void cg_join_open(int leaf_fd[MAX_HIER], int join_fd[MAX_HIER])
{
        for (int i = 0; i < CG.n; i++) {
                join_fd[i] = openat(leaf_fd[i], "tasks", O_WRONLY | O_CLOEXEC);
                if (join_fd[i] < 0)
                        die("open tasks");
        }
}

static void cg_join_self(const int join_fd[MAX_HIER])
{
        for (int i = 0; i < CG.n; i++)
                if (join_fd[i] >= 0 && write(join_fd[i], "0", 1) != 1)
                        die("child: join its cgroup");
}

static void cg_remove(const char *name, int leaf_fd[MAX_HIER])
{
        for (int i = 0; i < CG.n; i++) {
                close(leaf_fd[i]);
                /* A v1 memory cgroup can stay busy for a moment after its
                 * last task was reaped. */
                for (int tries = 0; unlinkat(CG.parent_fd[i], name, AT_REMOVEDIR) < 0; tries++) {
                        if (errno != EBUSY || tries > 1000)
                                die("rmdir %s/%s", CG.parent_path[i], name);
                        usleep(100);
                }
        }
}

/* ------------------------------------------------------------------ child */

static void rd(int fd)
{
        char c;
        while (read(fd, &c, 1) < 0 && errno == EINTR)
                ;
}

static void wr(int fd)
{
        while (write(fd, "x", 1) < 0 && errno == EINTR)
                ;
}

#define CHECK(x, what)                                 \
        do {                                            \
                if ((x) < 0)                            \
                        die("child: %s", what);         \
        } while (0)

static void mount_jail(void)
{
        const char *r = O.root;
        char p[4096];

        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private");
        CHECK(mount(r, r, NULL, MS_BIND | MS_REC, NULL), "bind the root");
        CHECK(mount(NULL, r, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL), "root nosuid,nodev");
        if (!(O.skip & SKIP_PROC)) {
                snprintf(p, sizeof(p), "%s/proc", r);
                CHECK(mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount /proc");
                snprintf(p, sizeof(p), "%s/proc/sys", r);
                CHECK(mount(p, p, NULL, MS_BIND | MS_REC, NULL), "bind /proc/sys");
                CHECK(mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                            NULL),
                      "/proc/sys ro");
        }
        if (!(O.skip & SKIP_DEV)) {
                snprintf(p, sizeof(p), "%s/dev", r);
                CHECK(mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64"),
                      "mount /dev");
                static const struct {
                        const char *n;
                        unsigned mj, mn;
                } d[] = { { "null", 1, 3 }, { "zero", 1, 5 }, { "urandom", 1, 9 } };
                int dfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
                CHECK(dfd, "open /dev");
                for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
                        CHECK(mknodat(dfd, d[i].n, S_IFCHR | 0666, makedev(d[i].mj, d[i].mn)), "mknod");
                close(dfd);
                CHECK(mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL),
                      "/dev ro");
        }
        T[T_MNT] = now_ns();
        CHECK(chdir(r), "chdir root");
        CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root");
        CHECK(umount2(".", MNT_DETACH), "detach the old root");
        CHECK(chdir("/"), "chdir /");
        T[T_PIVOT] = now_ns();
}

static int root_tree = -1; /* --mount-api new: cloned by the parent */

static void prepare_tree(void)
{
        root_tree = open_tree(AT_FDCWD, O.root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (root_tree < 0)
                die("open_tree %s", O.root);
        struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, .propagation = MS_PRIVATE };
        if (mount_setattr(root_tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                die("mount_setattr %s", O.root);
}

static int new_fs(const char *type, const char *opts[][2], unsigned attrs)
{
        int fs = fsopen(type, FSOPEN_CLOEXEC);
        CHECK(fs, "fsopen");
        for (int i = 0; opts && opts[i][0]; i++)
                CHECK(fsconfig(fs, FSCONFIG_SET_STRING, opts[i][0], opts[i][1], 0), "fsconfig");
        CHECK(fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0), "fsconfig create");
        int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        CHECK(m, "fsmount");
        close(fs);
        return m;
}

static void mount_jail_new_api(void)
{
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private");
        CHECK(move_mount(root_tree, "", AT_FDCWD, O.root, MOVE_MOUNT_F_EMPTY_PATH), "move_mount root");
        int r = root_tree;
        if (!(O.skip & SKIP_PROC)) {
                int p = new_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
                CHECK(move_mount(p, "", r, "proc", MOVE_MOUNT_F_EMPTY_PATH), "move_mount proc");
                close(p);
                int sys = open_tree(r, "proc/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                CHECK(sys, "open_tree proc/sys");
                struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                    MOUNT_ATTR_NOEXEC };
                CHECK(mount_setattr(sys, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)), "proc/sys ro");
                CHECK(move_mount(sys, "", r, "proc/sys", MOVE_MOUNT_F_EMPTY_PATH), "move_mount proc/sys");
                close(sys);
        }
        if (!(O.skip & SKIP_DEV)) {
                const char *opts[][2] = { { "mode", "0755" }, { "size", "64k" }, { "nr_inodes", "64" }, { NULL } };
                int d = new_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
                CHECK(mknodat(d, "null", S_IFCHR | 0666, makedev(1, 3)), "mknod");
                CHECK(mknodat(d, "zero", S_IFCHR | 0666, makedev(1, 5)), "mknod");
                CHECK(mknodat(d, "urandom", S_IFCHR | 0666, makedev(1, 9)), "mknod");
                struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
                CHECK(mount_setattr(d, "", AT_EMPTY_PATH, &a, sizeof(a)), "/dev ro");
                CHECK(move_mount(d, "", r, "dev", MOVE_MOUNT_F_EMPTY_PATH), "move_mount dev");
                close(d);
        }
        T[T_MNT] = now_ns();
        CHECK(fchdir(r), "fchdir root");
        CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root");
        CHECK(umount2(".", MNT_DETACH), "detach the old root");
        CHECK(chdir("/"), "chdir /");
        T[T_PIVOT] = now_ns();
}

static void lo_up(void)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(s, "socket");
        struct ifreq ifr = { 0 };
        strcpy(ifr.ifr_name, "lo");
        CHECK(ioctl(s, SIOCGIFFLAGS, &ifr), "lo flags");
        ifr.ifr_flags |= IFF_UP;
        CHECK(ioctl(s, SIOCSIFFLAGS, &ifr), "lo up");
        close(s);
}

_Noreturn static void child(int go_rd, int maps_wr, const int join_fd[MAX_HIER])
{
        in_child = true;
        umask(0);
        cg_join_self(join_fd);
        if (!O.overlap) {
                rd(go_rd); /* in every cgroup now */
                T[T_GO] = now_ns();
                if (!(O.skip & (SKIP_CGNS | SKIP_CGROUP)))
                        CHECK(unshare(CLONE_NEWCGROUP), "unshare cgroup ns");
        }
        CHECK(setsid(), "setsid");

        if (O.skip & SKIP_MNT)
                T[T_MNT] = T[T_PIVOT] = now_ns();
        else if (O.new_api)
                mount_jail_new_api();
        else
                mount_jail();

        if (!(O.skip & SKIP_UTS))
                CHECK(sethostname("floor", 5), "sethostname");
        if (!(O.skip & (SKIP_NET | SKIP_LO)))
                lo_up();
        struct rlimit rl = { 1024, 1024 };
        CHECK(setrlimit(RLIMIT_NOFILE, &rl), "rlimit");
        rl = (struct rlimit) { 0, 0 };
        CHECK(setrlimit(RLIMIT_CORE, &rl), "rlimit");
        T[T_MISC] = now_ns();
        if (O.overlap) {
                rd(go_rd); /* in every cgroup now: only then the cgroup namespace */
                T[T_GO] = now_ns();
                if (!(O.skip & (SKIP_CGNS | SKIP_CGROUP)))
                        CHECK(unshare(CLONE_NEWCGROUP), "unshare cgroup ns");
        }

        if (!(O.skip & SKIP_USER)) {
                CHECK(setgroups(0, NULL), "setgroups");
                CHECK(unshare(CLONE_NEWUSER), "unshare user ns");
                T[T_USERNS] = now_ns();
                wr(maps_wr);
                rd(go_rd);
        } else {
                T[T_USERNS] = now_ns();
        }
        T[T_MAPS] = now_ns();
        rl = (struct rlimit) { 64, 64 };
        CHECK(setrlimit(RLIMIT_NPROC, &rl), "rlimit");

        if (!(O.skip & SKIP_CAPS)) {
                for (int c = 0; c <= cap_last; c++)
                        CHECK(prctl(PR_CAPBSET_DROP, c, 0, 0, 0), "drop bounding");
                CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient");
        }
        CHECK(setresgid(O.gid, O.gid, O.gid), "setresgid");
        CHECK(setresuid(O.uid, O.uid, O.uid), "setresuid");
        if (!(O.skip & SKIP_CAPS)) {
                struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
                struct __user_cap_data_struct d[2] = { 0 };
                CHECK(syscall(SYS_capset, &h, d), "capset");
        }
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs");
        T[T_PRIVS] = now_ns();

        char path[4096];
        if (O.skip & SKIP_MNT)
                snprintf(path, sizeof(path), "%s%s", O.root, O.argv[0]);
        else
                snprintf(path, sizeof(path), "%s", O.argv[0]);
        extern char **environ;
        execve(path, O.argv, environ);
        die("child: execve %s", path);
}

/* ------------------------------------------------------------------ parent */

/* One jail, start to reaped and removed.  out_fd: the child's stdout (-1:
 * ours).  Returns the wait status. */
static int one_jail(const char *leaf, int out_fd, int64_t *t0_out)
{
        int leaf_fd[MAX_HIER] = { -1, -1, -1, -1 };
        int join_fd[MAX_HIER] = { -1, -1, -1, -1 };
        int go[2], maps[2];
        int64_t t0 = now_ns();
        if (t0_out)
                *t0_out = t0;

        for (int i = 0; i < T_COUNT; i++)
                T[i] = 0;
        if (!(O.skip & SKIP_CGROUP))
                cg_make(leaf, leaf_fd);
        T[T_CG] = now_ns();

        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(maps, O_CLOEXEC) < 0)
                die("pipe");
        if (O.new_api && !(O.skip & SKIP_MNT))
                prepare_tree();

        uint64_t flags = CLONE_PIDFD;
        flags |= (O.skip & SKIP_MNT) ? 0 : CLONE_NEWNS;
        flags |= (O.skip & SKIP_PID) ? 0 : CLONE_NEWPID;
        flags |= (O.skip & SKIP_NET) ? 0 : CLONE_NEWNET;
        flags |= (O.skip & SKIP_UTS) ? 0 : CLONE_NEWUTS;
        flags |= (O.skip & SKIP_IPC) ? 0 : CLONE_NEWIPC;
        bool into = CG.v2 && !(O.skip & SKIP_CGROUP) && !O.no_clone_into;
        bool join = !CG.v2 && !(O.skip & SKIP_CGROUP) && !O.attach_by_pid;
        if (join)
                cg_join_open(leaf_fd, join_fd);
        int pidfd = -1;
        struct clone_args args = {
                .flags = flags | (into ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = into ? (uint64_t) leaf_fd[0] : 0,
        };
        pid_t pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                die("clone3");
        if (pid == 0) {
                close(go[1]);
                close(maps[0]);
                if (out_fd >= 0) {
                        dup2(out_fd, 1);
                }
                child(go[0], maps[1], join_fd);
        }
        for (int i = 0; i < MAX_HIER; i++)
                if (join_fd[i] >= 0)
                        close(join_fd[i]);
        T[T_CLONE] = now_ns();
        close(go[0]);
        close(maps[1]);
        if (root_tree >= 0) {
                close(root_tree);
                root_tree = -1;
        }

        if (!into && !join && !(O.skip & SKIP_CGROUP))
                cg_attach(leaf_fd, pid);
        wr(go[1]);
        if (!(O.skip & SKIP_USER)) {
                rd(maps[0]);
                char path[64], map[64];
                int dfd;
                snprintf(path, sizeof(path), "/proc/%d", (int) pid);
                dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0 || write_at(dfd, "setgroups", "deny") < 0)
                        die("setgroups deny");
                snprintf(map, sizeof(map), "%u %u 1", (unsigned) O.uid, (unsigned) O.uid);
                if (write_at(dfd, "uid_map", map) < 0)
                        die("uid_map");
                snprintf(map, sizeof(map), "%u %u 1", (unsigned) O.gid, (unsigned) O.gid);
                if (write_at(dfd, "gid_map", map) < 0)
                        die("gid_map");
                close(dfd);
                wr(go[1]);
        }
        close(go[1]);
        close(maps[0]);

        siginfo_t si;
        while (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
                if (errno != EINTR)
                        die("waitid");
        T[T_REAPED] = now_ns();
        close(pidfd);
        if (!(O.skip & SKIP_CGROUP))
                cg_remove(leaf, leaf_fd);
        T[T_DONE] = now_ns();

        /* Relative to t0, in ns, for the caller. */
        for (int i = 0; i < T_COUNT; i++)
                if (T[i])
                        T[i] -= t0;
        return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static long long parse_stamp(const char *buf, long long *end)
{
        long long start;
        const char *p = strstr(buf, "stamp ");
        if (!p || sscanf(p, "stamp %lld %lld", &start, end) != 2)
                return -1;
        return start;
}

static int mode_reps(void)
{
        char leaf[64];
        for (int r = 0; r < O.reps; r++) {
                if (r > 0 && O.gap_ms > 0) {
                        struct timespec gap = { O.gap_ms / 1000, (O.gap_ms % 1000) * 1000000L };
                        while (nanosleep(&gap, &gap) < 0 && errno == EINTR)
                                ;
                }
                snprintf(leaf, sizeof(leaf), "f%d-%d", (int) getpid(), r);
                int out[2];
                if (pipe2(out, O_CLOEXEC) < 0)
                        die("pipe");
                int64_t t0;
                /* The child writes into the pipe; we read it after the
                 * reap (the stamp's one line fits in the pipe). */
                int st = one_jail(leaf, out[1], &t0);
                close(out[1]);
                char buf[256];
                ssize_t n = read(out[0], buf, sizeof(buf) - 1);
                close(out[0]);
                buf[n > 0 ? n : 0] = '\0';
                long long e = 0, s = parse_stamp(buf, &e);
                if (st != 0 || s < 0) {
                        fprintf(stderr, "floor: jail %d: status %d, output \"%s\"\n", r, st, buf);
                        return 1;
                }
                T[T_STAMP] = s - t0;
                printf("floor");
                for (int i = 0; i < T_COUNT; i++)
                        printf(" %.1f", (double) T[i] / 1000.0);
                printf(" %.1f\n", (double) (e - t0) / 1000.0);
                fflush(stdout);
        }
        return 0;
}

static int mode_workers(void)
{
        int res[2];
        if (pipe(res) < 0)
                die("pipe");
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int64_t start = now_ns();
        int64_t end = start + (int64_t) (O.duration * 1e9);
        pid_t kids[1024];
        for (int w = 0; w < O.workers; w++) {
                kids[w] = fork();
                if (kids[w] < 0)
                        die("fork");
                if (kids[w] == 0) {
                        /* Own page for step times. */
                        T = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                        long n = 0;
                        char leaf[64];
                        while (now_ns() < end) {
                                snprintf(leaf, sizeof(leaf), "f%d-%ld", (int) getpid(), n);
                                if (one_jail(leaf, devnull, NULL) != 0)
                                        _exit(1);
                                n++;
                        }
                        if (write(res[1], &n, sizeof(n)) != sizeof(n))
                                _exit(1);
                        _exit(0);
                }
        }
        close(res[1]);
        long total = 0, n;
        int got = 0, failed = 0;
        while (read(res[0], &n, sizeof(n)) == sizeof(n)) {
                total += n;
                got++;
        }
        for (int w = 0; w < O.workers; w++) {
                int st;
                while (waitpid(kids[w], &st, 0) < 0 && errno == EINTR)
                        ;
                failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
        }
        double secs = (double) (now_ns() - start) / 1e9;
        printf("throughput %d %ld %.3f\n", O.workers, total, secs);
        return failed || got != O.workers;
}

/* One worker of --serve: on each connection, a jail per message (its
 * content is not read), answered once the jail is reaped and its leaves
 * removed with "served START END STATUS": the stamp's CLOCK_MONOTONIC times
 * of its main() and of its last instant, and the jail's status. */
static void serve_worker(int lfd)
{
        long n = 0;
        char leaf[64], buf[256];

        for (;;) {
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        _exit(0);       /* the listener was shut down */
                }
                while (recv(c, buf, sizeof(buf), 0) > 0) {
                        int out[2];
                        if (pipe2(out, O_CLOEXEC) < 0)
                                die("pipe");
                        snprintf(leaf, sizeof(leaf), "f%d-%ld", (int) getpid(), n++);
                        int st = one_jail(leaf, out[1], NULL);
                        close(out[1]);
                        ssize_t k = read(out[0], buf, sizeof(buf) - 1);
                        close(out[0]);
                        buf[k > 0 ? k : 0] = '\0';
                        long long e = 0, s = parse_stamp(buf, &e);
                        int len = snprintf(buf, sizeof(buf), "served %lld %lld %d", s, e, st);
                        if (send(c, buf, (size_t) len, MSG_NOSIGNAL) < 0)
                                break;
                }
                close(c);
        }
}

/* --serve PATH: the floor behind a socket, as a daemon that jails each
 * request itself would be (no process per jail but the jail's own):
 * --workers C processes (default 1) accept on a SOCK_SEQPACKET socket at
 * PATH, each serving its connections one jail at a time.  "ready" on
 * stdout once listening; standard input reaching its end stops it (the
 * harness closes its connections first). */
static int mode_serve(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int workers = O.workers > 0 ? O.workers : 1;
        pid_t kids[1024];
        int failed = 0;

        if (strlen(O.serve) >= sizeof(sa.sun_path))
                die("--serve %s: path too long", O.serve);
        strcpy(sa.sun_path, O.serve);
        int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0)
                die("listen on %s", O.serve);
        for (int w = 0; w < workers; w++) {
                kids[w] = fork();
                if (kids[w] < 0)
                        die("fork");
                if (kids[w] == 0) {
                        T = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                        if (T == MAP_FAILED)
                                die("mmap");
                        serve_worker(lfd);
                }
        }
        printf("ready\n");
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0)
                ;
        /* Wakes every worker blocked in accept(): they exit. */
        (void) shutdown(lfd, SHUT_RDWR);
        for (int w = 0; w < workers; w++) {
                int st;
                while (waitpid(kids[w], &st, 0) < 0 && errno == EINTR)
                        ;
                failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
        }
        close(lfd);
        (void) unlink(O.serve);
        return failed;
}

static void usage(void)
{
        fprintf(stderr, "usage: floor --root DIR [--reps N | --workers C --duration S | --serve PATH [--workers C]]\n"
                        "             [--skip LIST]\n"
                        "             [--mount-api old|new] [--overlap] [--no-clone-into] [--attach-by-pid] [--gap MS]\n"
                        "             [--cgroup-parent NAME]\n"
                        "             [--uid N] [--gid N] -- PROG [ARGS]\n");
        exit(2);
}

int main(int argc, char **argv)
{
        snprintf(cg_parent_name, sizeof(cg_parent_name), "jailer-bench-floor-%d", (int) getpid());
        int i;
        for (i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                } else if (strcmp(a, "--root") == 0 && v) {
                        O.root = v, i++;
                } else if (strcmp(a, "--reps") == 0 && v) {
                        O.reps = atoi(v), i++;
                } else if (strcmp(a, "--workers") == 0 && v) {
                        O.workers = atoi(v), i++;
                } else if (strcmp(a, "--duration") == 0 && v) {
                        O.duration = atof(v), i++;
                } else if (strcmp(a, "--uid") == 0 && v) {
                        O.uid = (uid_t) atoi(v), i++;
                } else if (strcmp(a, "--gid") == 0 && v) {
                        O.gid = (gid_t) atoi(v), i++;
                } else if (strcmp(a, "--serve") == 0 && v) {
                        O.serve = v, i++;
                } else if (strcmp(a, "--gap") == 0 && v) {
                        O.gap_ms = atoi(v), i++;
                } else if (strcmp(a, "--no-clone-into") == 0) {
                        O.no_clone_into = true;
                } else if (strcmp(a, "--attach-by-pid") == 0) {
                        O.attach_by_pid = true;
                } else if (strcmp(a, "--overlap") == 0) {
                        O.overlap = true;
                } else if (strcmp(a, "--mount-api") == 0 && v) {
                        O.new_api = strcmp(v, "new") == 0, i++;
                } else if (strcmp(a, "--cgroup-parent") == 0 && v) {
                        snprintf(cg_parent_name, sizeof(cg_parent_name), "%s", v), i++;
                } else if (strcmp(a, "--skip") == 0 && v) {
                        char *s = strdup(v), *save = NULL;
                        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                                size_t k;
                                for (k = 0; k < sizeof(skip_names) / sizeof(skip_names[0]); k++)
                                        if (strcmp(t, skip_names[k]) == 0)
                                                break;
                                if (k == sizeof(skip_names) / sizeof(skip_names[0])) {
                                        fprintf(stderr, "floor: unknown step to skip: %s\n", t);
                                        usage();
                                }
                                O.skip |= 1u << k;
                        }
                        free(s);
                        i++;
                } else {
                        usage();
                }
        }
        if (!O.root || i >= argc || O.workers > 1024 || (O.workers > 0 && O.duration <= 0 && !O.serve))
                usage();
        O.argv = argv + i;

        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        if (f) {
                if (fscanf(f, "%d", &cap_last) != 1)
                        cap_last = 40;
                fclose(f);
        }
        T = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (T == MAP_FAILED)
                die("mmap");
        if (!(O.skip & SKIP_CGROUP))
                cg_init();

        int rc;
        if (O.serve)
                rc = mode_serve();
        else if (O.workers > 0)
                rc = mode_workers();
        else if (O.reps > 0)
                rc = mode_reps();
        else {
                char leaf[64];
                snprintf(leaf, sizeof(leaf), "f%d", (int) getpid());
                fflush(stdout);
                rc = one_jail(leaf, -1, NULL);
        }
        if (!(O.skip & SKIP_CGROUP))
                cg_fini();
        return rc;
}

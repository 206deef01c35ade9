/* SPDX-License-Identifier: MIT */
/*
 * One jail, start to end.  jailer_spawn() is the security model, step by
 * step; each step lives in its own file (cgroup*.c, mount.c, ns.c, rlimit.c,
 * caps.c).
 *
 *   parent (root, host namespaces)         child
 *   ------------------------------         -----
 *   validate the config
 *   prepare the jail root (mount.c)
 *   open the exec file (O_PATH)
 *   open and check the netns to join (net.c)
 *   create the cgroup with its limits
 *   clone3(new mount/pid/net/uts/ipc
 *          namespaces, CLONE_INTO_CGROUP) ──► waits for "go"
 *   taps, in the jail's network namespace
 *   v1: write the pid into every hierarchy
 *   "go" ─────────────────────────────────► join the netns (no new net namespace then)
 *                                           cgroup namespace (now "/" is its leaf)
 *                                           setsid, stdio
 *                                           mounts, pivot_root (mount.c)
 *                                           hostname, lo
 *                                           rlimits
 *                                           clear groups, new user namespace
 *   write uid_map/gid_map  ◄──────────────  "need maps"
 *   "go" ─────────────────────────────────► RLIMIT_NPROC
 *                                           uid/gid, drop all capabilities,
 *                                           no_new_privs (caps.c)
 *                                           chdir workdir
 *                                           every fd but 0-2 close-on-exec
 *   EOF on the socket = exec'd  ◄────────── execveat(exec fd)
 *
 * The child runs no code of the jailed program before it is in its cgroup,
 * and the jailed program starts with nothing the jailer held: the sync
 * socket, the exec fd, the mount trees and everything else are O_CLOEXEC.
 */
#include "jailer-internal.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct jailer_jail {
        char id[JAILER_ID_MAX + 1];
        struct jl_cgroup *cg;
        struct jl_rootfs rootfs;
        pid_t pid;
        int pidfd;
        uint64_t start_us;
        uint64_t deadline_us;
        bool timed_out;
        bool seccomp_kill; /* the filter kills: SIGSYS means a seccomp kill */
        int sync_fd;       /* a prepared jail's set-up channel, until it is started; else -1 */
        uint64_t timeout_ms;
        int netns_fd;      /* the network namespace joined (config "netns"), or -1 */
        bool cg_empty;     /* collected: the program reaped, its cgroup found empty */
        struct jl_taps taps; /* the taps made for the jail, removed at the end */
};

enum msg_type {
        MSG_GO = 1,        /* parent -> child: carry on */
        MSG_NEED_MAPS,     /* child -> parent: user namespace created, write the maps */
        MSG_EXEC,          /* child -> parent: about to execve */
        MSG_READY,         /* child -> parent: prepared, waiting for "go" to execve */
        MSG_ERROR,         /* child -> parent: a step failed (err) */
};

struct msg {
        enum msg_type type;
        /* MSG_GO that starts a prepared jail: when it was sent
         * (CLOCK_MONOTONIC); MSG_EXEC echoes it.  Else 0. */
        uint64_t at_us;
        jailer_error err;
};

static int send_msg_flags(int sock, enum msg_type type, const jailer_error *err, uint64_t at_us, int flags)
{
        struct msg m = { .type = type, .at_us = at_us };
        if (err)
                m.err = *err;
        ssize_t n;
        do
                n = send(sock, &m, sizeof(m), MSG_NOSIGNAL | flags);
        while (n < 0 && errno == EINTR);
        return n == (ssize_t) sizeof(m) ? 0 : -1;
}

static int send_msg_at(int sock, enum msg_type type, const jailer_error *err, uint64_t at_us)
{
        return send_msg_flags(sock, type, err, at_us, 0);
}

static int send_msg(int sock, enum msg_type type, const jailer_error *err)
{
        return send_msg_at(sock, type, err, 0);
}

/* 1 on a message, 0 on EOF, -1 on error. */
static int recv_msg(int sock, struct msg *m)
{
        ssize_t n;
        do
                n = recv(sock, m, sizeof(*m), 0);
        while (n < 0 && errno == EINTR);
        if (n == 0)
                return 0;
        if (n != (ssize_t) sizeof(*m))
                return -1;
        m->err.message[sizeof(m->err.message) - 1] = '\0';
        m->err.field[sizeof(m->err.field) - 1] = '\0';
        return 1;
}

static int wait_go_at(int sock, uint64_t *at_us, jailer_error *err)
{
        struct msg m;
        int r = recv_msg(sock, &m);
        if (r <= 0 || m.type != MSG_GO)
                return jl_error(err, JAILER_STEP_SPAWN, r < 0 ? errno : 0, NULL,
                                "the jailer went away during set-up");
        if (at_us)
                *at_us = m.at_us;
        return 0;
}

static int wait_go(int sock, jailer_error *err)
{
        return wait_go_at(sock, NULL, err);
}

/* ------------------------------------------------------------------ child */

static int setup_stdio(const jailer_spawn_opts *o, jailer_error *err)
{
        int want[3] = { o ? o->stdin_fd : -1, o ? o->stdout_fd : -1, o ? o->stderr_fd : -1 };
        int tmp[3] = { -1, -1, -1 };
        /* Move out of the way first: a source may itself be 0, 1 or 2. */
        for (int i = 0; i < 3; i++)
                if (want[i] >= 0 && (tmp[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 3)) < 0)
                        return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "stdio fd %d", want[i]);
        for (int i = 0; i < 3; i++)
                if (tmp[i] >= 0 && dup2(tmp[i], i) < 0)
                        return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "dup2 stdio %d", i);
        return 0;
}

static void reset_signals(void)
{
        /* Ignored signals stay ignored across execve: give the jailed program
         * the defaults and an empty mask, whatever its parent had.  By the
         * system call: glibc's sigaction() refuses the two real-time
         * signals it keeps for itself (32 and 33), which its posix_spawn()
         * leaves ignored in the child it starts (jailerd's launcher, say),
         * and which would reach the jail ignored.  An all-zero
         * kernel sigaction is SIG_DFL, no flags, an empty mask, whatever
         * the architecture's field order. */
        static const unsigned long dfl[8];

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t) (_NSIG / 8));
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

static char **build_envp(const jailer_config *c)
{
        char **envp = calloc(c->n_env + 1, sizeof(char *));
        if (!envp)
                return NULL;
        for (size_t i = 0; i < c->n_env; i++)
                if (asprintf(&envp[i], "%s=%s", c->env[i].key, c->env[i].value) < 0)
                        return NULL;
        return envp;
}

static char **build_argv(const jailer_config *c)
{
        char **argv = calloc(c->n_exec_args + 2, sizeof(char *));
        if (!argv)
                return NULL;
        argv[0] = c->exec_path;
        for (size_t i = 0; i < c->n_exec_args; i++)
                argv[i + 1] = c->exec_args[i];
        return argv;
}

static int child_run(const jailer_config *c, const struct jl_rootfs *rootfs, const jailer_spawn_opts *o, int sock,
                     int exec_fd, int netns_fd, const jl_seccomp_prog *filter, struct jl_cgroup *join,
                     jailer_error *err)
{
        jailer_error go_err = { 0 };
        uint64_t released_us = 0;
        int joined = 0;

        /* Not traceable or dumpable while privileged. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "PR_SET_DUMPABLE");
        if ((!o || o->die_with_parent) && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "PR_SET_PDEATHSIG");

        /* Into the jail's cgroup before anything else runs: on v1 we move
         * ourselves (join), while the parent makes the taps; on v2 clone3
         * did it.  "go" says the parent is done; a failed join is reported
         * after it, so that the parent is listening. */
        if (join)
                joined = jl_cgroup_join_child(join, err);
        if (wait_go(sock, joined < 0 ? &go_err : err) < 0 || joined < 0)
                return -1;

        /* A prepared network namespace is joined while we are still root of
         * the initial user namespace: it keeps that owner, so the jail can
         * never reconfigure it, nor leave it (setns needs CAP_SYS_ADMIN
         * there). */
        if (jl_netns_join_child(netns_fd, err) < 0)
                return -1;

        /* The cgroup namespace is rooted where we stand: the jail's leaf. */
        if (c->ns[JAILER_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "namespaces.cgroup", "unshare cgroup namespace");

        /* Own session, no controlling terminal: TIOCSTI into the caller's
         * terminal is refused (CVE-2017-5226). */
        if (setsid() < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "setsid");
        if (setup_stdio(o, err) < 0)
                return -1;
        reset_signals();

        if (jl_mount_setup_child(c, rootfs, err) < 0 || jl_uts_setup_child(c, err) < 0 ||
            jl_net_setup_child(c, err) < 0 || jl_rlimits_apply_child(c, err) < 0)
                return -1;

        /* The user namespace comes last so that every other namespace and
         * mount is owned by the initial one.  Supplementary groups go first:
         * inside, setgroups will be denied. */
        if (c->ns[JAILER_NS_USER]) {
                if (setgroups(0, NULL) < 0)
                        return jl_error(err, JAILER_STEP_USERNS, errno, NULL, "setgroups");
                if (unshare(CLONE_NEWUSER) < 0)
                        return jl_error(err, JAILER_STEP_USERNS, errno, "namespaces.user", "unshare user namespace");
                if (send_msg(sock, MSG_NEED_MAPS, NULL) < 0 || wait_go(sock, err) < 0)
                        return jl_error(err, JAILER_STEP_USERNS, errno, NULL, "uid/gid maps were not written");
        }
        if (jl_rlimit_nproc_apply_child(c, err) < 0)
                return -1;

        if (jl_privs_drop_child(c, err) < 0)
                return -1;
        /* Changing credentials cleared the parent-death signal: set it again. */
        if ((!o || o->die_with_parent) && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return jl_error(err, JAILER_STEP_PRIVS, errno, NULL, "PR_SET_PDEATHSIG");

        /* As the jailed user, so that permissions apply. */
        if (chdir(c->workdir ? c->workdir : "/") < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "workdir", "workdir: %s", c->workdir);

        /* Everything but 0-2 closes on exec: the sync socket stays usable to
         * report an execve failure, and nothing else reaches the jail. */
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
                for (int fd = 3; fd < 65536; fd++)
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }

        char **argv = build_argv(c);
        char **envp = build_envp(c);
        if (!argv || !envp)
                return jl_error(err, JAILER_STEP_EXEC, ENOMEM, NULL, "argv/envp");

        /* A prepared jail waits here, with everything done but the execve,
         * until it is started (or killed).  The filter goes first when it
         * lets the wait through: loading it (the kernel compiles it) is
         * then no part of start. */
        bool early = o && o->prepare_only && jl_seccomp_early(filter);
        if (early && jl_seccomp_apply_child(filter, err) < 0)
                return -1;
        if (o && o->prepare_only &&
            (send_msg(sock, MSG_READY, NULL) < 0 || wait_go_at(sock, &released_us, err) < 0))
                return -1;

        /* Last: the filter may deny what the steps above needed. */
        if (!early && jl_seccomp_apply_child(filter, err) < 0)
                return -1;

        if (send_msg_at(sock, MSG_EXEC, NULL, released_us) < 0)
                return jl_error(err, JAILER_STEP_EXEC, errno, NULL, "sync");
        /* From the fd opened and checked before any namespace existed: the
         * path is never resolved again (and need not exist in the jail). */
        syscall(SYS_execveat, exec_fd, "", argv, envp, AT_EMPTY_PATH);
        if (errno == ENOENT || errno == ENOSYS) {
                /* Some kernels (seen on Debian 11's 5.10) refuse execveat()
                 * of an fd with ENOENT, whatever the file: the same open
                 * file through its magic link, which names no path either. */
                char self[64];

                snprintf(self, sizeof(self), "/proc/self/fd/%d", exec_fd);
                execve(self, argv, envp);
        }
        if (errno == ENOENT)
                /* The file was there: its ELF interpreter is not, in the jail. */
                return jl_error(err, JAILER_STEP_EXEC, errno, "exec_path",
                                "exec_path: execve %s (its ELF interpreter or a library is missing in the jail; "
                                "bind it, or use a static program)",
                                c->exec_path);
        return jl_error(err, JAILER_STEP_EXEC, errno, "exec_path", "exec_path: execve %s", c->exec_path);
}

_Noreturn static void child_main(const jailer_config *c, const struct jl_rootfs *rootfs, const jailer_spawn_opts *o,
                                 int sock, int exec_fd, int netns_fd, const jl_seccomp_prog *filter,
                                 struct jl_cgroup *join)
{
        jailer_error err = { 0 };
        (void) child_run(c, rootfs, o, sock, exec_fd, netns_fd, filter, join, &err);
        (void) send_msg(sock, MSG_ERROR, &err);
        _exit(125);
}

/* ------------------------------------------------------------------ parent */

static pid_t clone_child(uint64_t flags, int cgroup_fd, int *pidfd)
{
        struct clone_args args = {
                .flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t) (uintptr_t) pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = cgroup_fd >= 0 ? (uint64_t) cgroup_fd : 0,
        };
        pid_t pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));

        if (pid >= 0 || errno != ENOSYS || cgroup_fd >= 0)
                return pid;
        /* No clone3 (before 5.3, or hidden by a seccomp filter such as
         * systemd's RestrictNamespaces= or a container's profile): clone()
         * with the same namespaces and a pidfd (5.2), no stack of its own —
         * the child goes on like a fork().  Its cgroup is then joined by pid
         * before it does anything (the caller's attach path).  The pidfd is
         * returned through the parent_tid argument, the third on every
         * architecture we build for. */
        return (pid_t) syscall(SYS_clone, (unsigned long) (flags | CLONE_PIDFD | SIGCHLD), NULL, pidfd, NULL, NULL);
}

static void jail_free(struct jailer_jail *j)
{
        if (!j)
                return;
        /* destroy kills whatever is still inside before removing; after a
         * collect there is nothing (and nothing of the jail is left that
         * could enter): no second listing of every hierarchy. */
        if (j->cg)
                (void) (j->cg_empty ? jl_cgroup_remove(j->cg) : jl_cgroup_destroy(j->cg));
        /* Nothing of the jail runs any more: its taps go. */
        jl_taps_remove(&j->taps);
        if (j->netns_fd >= 0)
                close(j->netns_fd);
        jl_rootfs_cleanup(&j->rootfs);
        if (j->pidfd >= 0)
                close(j->pidfd);
        if (j->sync_fd >= 0)
                close(j->sync_fd);
        free(j);
}

/* The child failed or died before execve: make sure it is gone, reap it. */
static void abort_child(struct jailer_jail *j)
{
        if (j->pidfd < 0)
                return;
        (void) syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
        siginfo_t si;
        while (waitid((idtype_t) P_PIDFD, (id_t) j->pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
}

static int open_exec(const jailer_config *c, jailer_error *err)
{
        /* What gets executed is this very inode, through the fd: the path
         * is never resolved again (CVE-2019-5736 overwrote a runtime through
         * a path it re-opened). */
        char why[256] = "";
        _cleanup_close_ int fd = c->exec_fd >= 0 ? fcntl(c->exec_fd, F_DUPFD_CLOEXEC, 3)
                                                 : jl_open_trusted(c->exec_path, O_PATH, why, sizeof(why));
        if (fd < 0)
                return jl_error(err, JAILER_STEP_EXEC, errno, "exec_path", "exec_path: %s%s%s", c->exec_path,
                                why[0] ? ": " : "", why);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return jl_error(err, JAILER_STEP_EXEC, errno, "exec_path", "exec_path: %s", c->exec_path);
        if (!S_ISREG(st.st_mode))
                return jl_error(err, JAILER_STEP_EXEC, EACCES, "exec_path", "exec_path: %s is not a regular file",
                                c->exec_path);
        if (!(st.st_mode & 0111))
                return jl_error(err, JAILER_STEP_EXEC, EACCES, "exec_path", "exec_path: %s is not executable",
                                c->exec_path);
        /* The jailed user must not be able to change the program it runs:
         * through /proc/self/exe it could rewrite it for whoever runs it next,
         * on the host. */
        if (st.st_uid == c->uid || (st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid == c->gid))
                return jl_error(err, JAILER_STEP_EXEC, EACCES, "exec_path",
                                "exec_path: %s is writable by the jail's uid %u or gid %u (owner %u, mode %04o); "
                                "the program a jail runs must not be changeable from inside it",
                                c->exec_path, (unsigned) c->uid, (unsigned) c->gid, (unsigned) st.st_uid,
                                (unsigned) (st.st_mode & 07777));
        return TAKE_FD(fd);
}

/* Answer the child until it has exec'd (the channel closes on exec) or,
 * when it is a prepared one, until it is ready.  The maps of its user
 * namespace are written here, and its errors are passed on. */
static int sync_child(struct jailer_jail *j, const jailer_config *c, int sock, jailer_error *err)
{
        bool execing = false;

        for (;;) {
                struct msg m;
                int r = recv_msg(sock, &m);

                if (r < 0)
                        return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "sync with the jail");
                if (r == 0)
                        break;
                switch (m.type) {
                case MSG_NEED_MAPS:
                        if (jl_userns_write_maps(j->pid, c->uid, c->gid, err) < 0)
                                return -1;
                        if (send_msg(sock, MSG_GO, NULL) < 0)
                                return jl_error(err, JAILER_STEP_USERNS, errno, NULL, "sync with the jail");
                        break;
                case MSG_READY:
                        return 0;
                case MSG_EXEC:
                        execing = true;
                        break;
                case MSG_ERROR:
                        if (err)
                                *err = m.err;
                        return -1;
                case MSG_GO:
                default:
                        return jl_error(err, JAILER_STEP_SPAWN, EPROTO, NULL, "unexpected message from the jail");
                }
        }
        if (!execing) {
                siginfo_t si = { 0 };
                (void) waitid((idtype_t) P_PIDFD, (id_t) j->pidfd, &si, WEXITED | WNOWAIT);
                return jl_error(err, JAILER_STEP_SPAWN, 0, NULL, "the jail's set-up process died (%s %d) before execve",
                                si.si_code == CLD_EXITED ? "exit status" : "signal", si.si_status);
        }
        return 0;
}

/* Wall time and limits.timeout_ms count from start_us: the clone (or the
 * start of a prepared jail). */
static void start_clock(struct jailer_jail *j, uint64_t start_us)
{
        j->start_us = start_us;
        if (j->timeout_ms > 0)
                j->deadline_us = j->start_us + j->timeout_ms * 1000u;
}

/* The namespaces the child is born in. */
static uint64_t clone_flags(const jailer_config *c)
{
        uint64_t flags = 0;

        if (c->ns[JAILER_NS_MOUNT])
                flags |= CLONE_NEWNS;
        if (c->ns[JAILER_NS_PID])
                flags |= CLONE_NEWPID;
        if (jl_config_new_netns(c))
                flags |= CLONE_NEWNET;
        if (c->ns[JAILER_NS_UTS])
                flags |= CLONE_NEWUTS;
        if (c->ns[JAILER_NS_IPC])
                flags |= CLONE_NEWIPC;
        return flags;
}

/* The child, born in its cgroup (v2, CLONE_INTO_CGROUP) or, where the
 * kernel cannot, to be attached by pid (*attach) before it does anything. */
static pid_t clone_into_jail(struct jailer_jail *j, const jailer_config *c, bool *attach)
{
        /* A pinned jail joins its cgroup by pid: before Linux 6.3 a child
         * born in a cpuset cgroup (CLONE_INTO_CGROUP) kept its parent's
         * cpus (seen on 5.10); attaching applies the cpuset on every
         * kernel. */
        int cgfd = c->limits.cpus || c->limits.mems ? -1 : jl_cgroup_clone_fd(j->cg);
        pid_t pid = clone_child(clone_flags(c), cgfd, &j->pidfd);

        *attach = cgfd < 0;
        if (pid < 0 && cgfd >= 0 && (errno == EINVAL || errno == ENOSYS || errno == E2BIG)) {
                pid = clone_child(clone_flags(c), -1, &j->pidfd);
                *attach = true;
        }
        return pid;
}

int jailer_spawn(const jailer_config *c, const jailer_spawn_opts *opts, jailer_jail **out, jailer_error *err)
{
        if (geteuid() != 0)
                return jl_error(err, JAILER_STEP_SPAWN, EPERM, NULL, "the jailer must run as root");
        if (jailer_config_validate(c, err) < 0)
                return -1;

        struct jailer_jail *j = calloc(1, sizeof(*j));
        if (!j)
                return jl_error(err, JAILER_STEP_SPAWN, ENOMEM, NULL, "jail");
        j->pidfd = -1;
        j->sync_fd = -1;
        j->rootfs.root_fd = -1;
        j->rootfs.root_tree = -1;
        j->rootfs.root_parent_fd = -1;
        j->netns_fd = -1;
        j->taps.nl_fd = -1;
        snprintf(j->id, sizeof(j->id), "%s", c->id);
        j->seccomp_kill = c->seccomp_kill && !(c->seccomp && strcmp(c->seccomp, "none") == 0);

        _cleanup_close_ int exec_fd = -1;
        jl_seccomp_prog *filter = NULL;
        int sv[2] = { -1, -1 };

        /* 1. the jail root: mountpoints, mount trees, device list */
        if (jl_rootfs_prepare(c, &j->rootfs, err) < 0)
                goto fail;
        exec_fd = open_exec(c, err);
        if (exec_fd < 0)
                goto fail;
        if (jl_seccomp_prepare(c, &filter, err) < 0)
                goto fail;
        if (c->netns && (j->netns_fd = jl_netns_open(c, err)) < 0)
                goto fail;

        /* 2. the cgroup, limits written before anything runs in it */
        if (jl_cgroup_create(c, &j->cg, err) < 0)
                goto fail;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "socketpair");
                goto fail;
        }

        /* 3. the child, in its new namespaces, born inside its cgroup on v2;
         * on v1 it moves itself in (join), else we attach it by pid. */
        bool attach;
        int join = jl_cgroup_join_open(j->cg, err);
        if (join < 0)
                goto fail;
        j->start_us = jl_now_monotonic_us();
        pid_t pid = clone_into_jail(j, c, &attach);
        if (pid < 0) {
                jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "clone");
                goto fail;
        }
        if (pid == 0) {
                close(sv[0]);
                child_main(c, &j->rootfs, opts, sv[1], exec_fd, j->netns_fd, filter,
                           attach && join > 0 ? j->cg : NULL);
        }
        jl_cgroup_join_close(j->cg);
        attach = attach && join <= 0;
        j->pid = pid;
        close(sv[1]);
        sv[1] = -1;
        /* The child has its own references to the mount trees now. */
        jl_rootfs_release_trees(&j->rootfs);

        /* The taps, in the namespace the child joins or was born in, before
         * it runs anything. */
        if (jl_taps_create(c, j->netns_fd >= 0 ? j->netns_fd : j->pidfd, &j->taps, err) < 0)
                goto fail_child;

        if (attach && jl_cgroup_attach(j->cg, pid, err) < 0)
                goto fail_child;
        if (send_msg(sv[0], MSG_GO, NULL) < 0) {
                jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "sync with the jail");
                goto fail_child;
        }

        if (sync_child(j, c, sv[0], err) < 0)
                goto fail_child;
        jl_seccomp_release(filter);
        j->timeout_ms = c->limits.timeout_ms;
        if (opts && opts->prepare_only)
                j->sync_fd = TAKE_FD(sv[0]);
        else {
                close(sv[0]);
                start_clock(j, j->start_us);
        }
        *out = j;
        return 0;

fail_child:
        abort_child(j);
fail:
        jl_seccomp_release(filter);
        if (sv[0] >= 0)
                close(sv[0]);
        if (sv[1] >= 0)
                close(sv[1]);
        jail_free(j);
        return -1;
}

pid_t jailer_jail_pid(const jailer_jail *j)
{
        return j->pid;
}

int jailer_jail_pidfd(const jailer_jail *j)
{
        return j->pidfd;
}

const char *jailer_jail_cgroup_path(const jailer_jail *j)
{
        return jl_cgroup_path(j->cg);
}

uint64_t jailer_jail_deadline_us(const jailer_jail *j)
{
        return j->deadline_us;
}

bool jailer_jail_prepared(const jailer_jail *j)
{
        return j->sync_fd >= 0;
}

int jailer_jail_release_fd(const jailer_jail *j)
{
        if (j->sync_fd < 0) {
                errno = EALREADY;
                return -1;
        }
        return fcntl(j->sync_fd, F_DUPFD_CLOEXEC, 3);
}

int jailer_release(int fd)
{
        /* Called from a daemon's event loop: never wait.  A jail waiting to
         * be released has nothing queued (one "go" is all it ever reads),
         * so the send goes through at once; anything else (EAGAIN, EPIPE
         * from a jail gone) is the caller's to handle, not to sit in. */
        return send_msg_flags(fd, MSG_GO, NULL, jl_now_monotonic_us(), MSG_DONTWAIT);
}

int jailer_jail_start_fd(const jailer_jail *j)
{
        return j->sync_fd;
}

/* recv_msg() on a prepared jail's channel.  A jail released twice (by two
 * holders of the channel) execs with the second "go" unread, and that
 * leaves ECONNRESET on our end, which the kernel reports before what is
 * queued (its MSG_EXEC, its MSG_ERROR): reported once, it is cleared, and
 * the queue is read as usual. */
static int recv_settled(int sock, struct msg *m)
{
        int r = recv_msg(sock, m);
        for (int i = 0; r < 0 && errno == ECONNRESET && i < 4; i++)
                r = recv_msg(sock, m);
        return r;
}

int jailer_jail_finish_start(jailer_jail *j, jailer_error *err)
{
        _cleanup_close_ int sock = j->sync_fd;
        uint64_t now = jl_now_monotonic_us();
        bool released = false;
        struct msg m;
        int r;

        if (sock < 0)
                return jl_error(err, JAILER_STEP_SPAWN, EALREADY, NULL, "jail %s is not a prepared jail", j->id);
        j->sync_fd = -1;
        /* MSG_EXEC, then EOF: the channel closed on execve.  An error: the
         * filter or the execve failed, and the program is gone (the caller
         * waits).  EOF alone: it died before it was released. */
        r = recv_settled(sock, &m);
        while (r > 0 && m.type == MSG_EXEC) {
                /* The releaser's clock reading, if it is one the jail
                 * could have been released at: it is the start. */
                start_clock(j, m.at_us > j->start_us && m.at_us <= now ? m.at_us : now);
                released = true;
                r = recv_settled(sock, &m);
        }
        if (r > 0 && m.type == MSG_ERROR) {
                if (err)
                        *err = m.err;
                return -1;
        }
        if (r < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "start jail %s", j->id);
        if (!released)
                return jl_error(err, JAILER_STEP_SPAWN, ESRCH, NULL, "jail %s ended before it was started", j->id);
        return 0;
}

int jailer_jail_start(jailer_jail *j, jailer_error *err)
{
        if (j->sync_fd < 0)
                return jl_error(err, JAILER_STEP_SPAWN, EALREADY, NULL, "jail %s is not a prepared jail", j->id);
        /* The peer gone (it ended, or was released and exec'd already):
         * what it said on the channel is the answer.  Else the jail still
         * waits, unreleased. */
        if (jailer_release(j->sync_fd) < 0 && errno != EPIPE && errno != ECONNRESET)
                return jl_error(err, JAILER_STEP_SPAWN, errno, NULL, "start jail %s", j->id);
        return jailer_jail_finish_start(j, err);
}

int jailer_jail_usage(const jailer_jail *j, jailer_usage *u, jailer_error *err)
{
        jl_cgroup_stats st = { 0 };
        if (jl_cgroup_stats_read(j->cg, &st) < 0)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "read usage of %s", jl_cgroup_path(j->cg));
        *u = (jailer_usage) {
                .cpu_usage_us = st.cpu_usage_us,
                .memory_current_bytes = st.memory_current_bytes,
                .memory_peak_bytes = st.memory_peak_bytes,
                .pids_current = st.pids_current,
        };
        return 0;
}

int jailer_jail_kill(jailer_jail *j, int sig)
{
        return syscall(SYS_pidfd_send_signal, j->pidfd, sig, NULL, 0) < 0 ? -1 : 0;
}

int jailer_jail_expire(jailer_jail *j)
{
        j->timed_out = true;
        (void) jailer_jail_kill(j, SIGKILL);
        return jl_cgroup_kill_all(j->cg);
}

/* The report's figures from the cgroup's, at monotonic time now; the
 * caller says how it ended. */
static void report_fill(const jailer_jail *j, const jl_cgroup_stats *st, uint64_t now, jailer_report *r)
{
        *r = (jailer_report) {
                .pid = j->pid,
                .exit_code = -1,
                .oom_killed = st->oom_killed,
                .timed_out = j->timed_out,
                .wall_time_us = now > j->start_us ? now - j->start_us : 0,
                .cpu_usage_us = st->cpu_usage_us,
                .memory_peak_bytes = st->memory_peak_bytes,
                .pids_peak = st->pids_peak,
                .measured = true,
                .cpu_periods = st->cpu_periods,
                .cpu_throttled_periods = st->cpu_throttled_periods,
                .cpu_throttled_us = st->cpu_throttled_us,
                .memory_high_events = st->memory_high_events,
                .memory_max_events = st->memory_max_events,
                .cpu_pressure_some_us = st->pressure[JL_PSI_CPU][0],
                .cpu_pressure_full_us = st->pressure[JL_PSI_CPU][1],
                .memory_pressure_some_us = st->pressure[JL_PSI_MEMORY][0],
                .memory_pressure_full_us = st->pressure[JL_PSI_MEMORY][1],
                .io_pressure_some_us = st->pressure[JL_PSI_IO][0],
                .io_pressure_full_us = st->pressure[JL_PSI_IO][1],
                .involuntary_switches = -1,
                .pinned_cpus_other_us = st->pinned_other_us,
        };
        snprintf(r->id, sizeof(r->id), "%s", j->id);
        snprintf(r->cpus, sizeof(r->cpus), "%s", st->cpus);
}

int jailer_jail_snapshot(const jailer_jail *j, jailer_report *r, jailer_error *err)
{
        jl_cgroup_stats st = { .pids_peak = -1 };

        if (jl_cgroup_stats_read(j->cg, &st) < 0)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "read the figures of %s",
                                jl_cgroup_path(j->cg));
        /* The wall time of the CPU time's reading, not of the end of all
         * the reads: a caller that divides one interval's CPU time by its
         * wall time (a CPU share) would otherwise count whatever delayed
         * the reads in between (a busy host) as the jail's. */
        report_fill(j, &st,
                    jailer_jail_prepared(j) ? j->start_us : st.cpu_read_us ? st.cpu_read_us : jl_now_monotonic_us(),
                    r);
        /* Live, the threads in the jail now; at the end, the program's
         * rusage (its own and its waited-for children's). */
        (void) jl_cgroup_threads_nivcsw(j->cg, &r->involuntary_switches);
        return 0;
}

int jailer_jail_collect(jailer_jail *j, jailer_report *r, jailer_error *err)
{
        for (;;) {
                int timeout = -1;
                if (j->deadline_us && !j->timed_out) {
                        uint64_t now = jl_now_monotonic_us();
                        if (now >= j->deadline_us) {
                                (void) jailer_jail_expire(j);
                                continue;
                        }
                        uint64_t left = (j->deadline_us - now + 999) / 1000;
                        timeout = left > INT32_MAX ? INT32_MAX : (int) left;
                }
                struct pollfd p = { .fd = j->pidfd, .events = POLLIN };
                int n = poll(&p, 1, timeout);
                if (n < 0 && errno != EINTR)
                        return jl_error(err, JAILER_STEP_WAIT, errno, NULL, "poll");
                if (n > 0)
                        break;
        }

        siginfo_t si = { 0 };
        struct rusage ru = { 0 };
        /* The raw call: glibc's waitid() has no rusage, whose ru_nivcsw is
         * the program's (and its waited-for children's) involuntary
         * context switches. */
        while (syscall(SYS_waitid, P_PIDFD, j->pidfd, &si, WEXITED, &ru) < 0) {
                if (errno != EINTR)
                        return jl_error(err, JAILER_STEP_WAIT, errno, NULL, "waitid");
        }
        uint64_t end = jl_now_monotonic_us();

        /* Whatever the program left behind (daemonized children when there
         * is no pid namespace) dies with it; then the cgroup's final word. */
        j->cg_empty = jl_cgroup_kill_all(j->cg) == 0;
        jl_cgroup_stats st = { .pids_peak = -1 };
        (void) jl_cgroup_stats_read(j->cg, &st);

        report_fill(j, &st, end, r);
        r->exit_code = si.si_code == CLD_EXITED ? si.si_status : -1;
        r->signal = si.si_code == CLD_EXITED ? 0 : si.si_status;
        r->seccomp_killed = j->seccomp_kill && si.si_code != CLD_EXITED && si.si_status == SIGSYS;
        r->involuntary_switches = ru.ru_nivcsw;
        return 0;
}

void jailer_jail_free(jailer_jail *j)
{
        jail_free(j);
}

int jailer_jail_wait(jailer_jail *j, jailer_report *r, jailer_error *err)
{
        int ret = jailer_jail_collect(j, r, err);

        jail_free(j);
        return ret;
}

int jailer_run(const jailer_config *c, const jailer_spawn_opts *opts, jailer_report *r, jailer_error *err)
{
        jailer_jail *j = NULL;
        if (jailer_spawn(c, opts, &j, err) < 0)
                return -1;
        return jailer_jail_wait(j, r, err);
}

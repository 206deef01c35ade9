/* SPDX-License-Identifier: MIT */
/*
 * The supervisor launcher process (see launcher.h): `jailer-supervisor
 * --launcher FD`, which forks a supervisor per request on the channel.
 *
 * What an attacker would want from it: the launcher is root and holds a
 * channel to jailerd.  Nothing but jailerd reaches it (a socketpair, no
 * name in any filesystem; not dumpable, so not ptrace-able by a jail's
 * uid), and every supervisor it forks closes the channel, the launcher's
 * signalfd and any fd of another request before it runs: the only fds a
 * supervisor (and so its jail) can ever see are the ones jailerd sent for
 * that jail.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"
#include "jailer.h"
#include "macro.h"
#include "log.h"

static int pidfd_open_(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* The launcher logs to stderr (jailerd's, so the journal under systemd): it
 * opens no journal socket, which every supervisor it forks would inherit
 * only to close it. */
static void launcher_log(const char *fmt, ...) _printf_(1, 2);
static void launcher_log(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fprintf(stderr, "jailer-launcher[%d]: ", (int) getpid());
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

static void reply_send(int chan, int error, pid_t pid, int pidfd)
{
        jd_launcher_reply rep = { .error = error, .pid = pid };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } cbuf;
        struct iovec iov = { .iov_base = &rep, .iov_len = sizeof rep };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (pidfd >= 0) {
                struct cmsghdr *c;

                memset(&cbuf, 0, sizeof cbuf);
                mh.msg_control = &cbuf;
                mh.msg_controllen = sizeof cbuf;
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
        }
        /* jailerd may be gone: then nobody waits for the answer. */
        (void) sendmsg(chan, &mh, MSG_NOSIGNAL);
}

/* fds[i] becomes targets[i]; every other fd above 2 is closed. */
static int place_fds(const int *fds, const int32_t *targets, size_t n)
{
        int high[JD_LAUNCHER_MAX_FDS];
        int base = 3;

        for (size_t i = 0; i < n; i++)
                if (targets[i] + 1 > base)
                        base = targets[i] + 1;
        /* First all above every target, so that no dup2() clobbers a source. */
        for (size_t i = 0; i < n; i++) {
                high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, base);
                if (high[i] < 0)
                        return -errno;
        }
        for (size_t i = 0; i < n; i++)
                if (dup2(high[i], targets[i]) < 0)          /* without FD_CLOEXEC */
                        return -errno;
        if (close_range((unsigned) base, ~0U, 0) < 0)
                return -errno;
        for (int fd = 3; fd < base; fd++) {
                bool keep = false;

                for (size_t i = 0; i < n && !keep; i++)
                        keep = targets[i] == fd;
                if (!keep)
                        (void) close(fd);
        }
        return 0;
}

/* The launcher's own argv area, which the kernel shows as
 * /proc/PID/cmdline: jailerd gives it JD_LAUNCHER_CMDLINE_ROOM empty
 * arguments, room for a supervisor's command line. */
static char *cmdline_area;
static size_t cmdline_len, cmdline_used;

static void cmdline_init(int argc, char **argv)
{
        char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;

        for (int i = 1; i < argc; i++)
                if (argv[i] != argv[i - 1] + strlen(argv[i - 1]) + 1)
                        return;         /* not one block: leave it */
        cmdline_area = argv[0];
        cmdline_len = (size_t) (end - argv[0]);
        for (int i = 0; i < argc && argv[i][0]; i++)
                cmdline_used = (size_t) (argv[i] + strlen(argv[i]) + 1 - argv[0]);
}

/* The child's /proc/PID/cmdline becomes the supervisor's argv, as if it had
 * been exec'd: ps, and whoever looks for a jail's supervisor, see which jail
 * it holds.  Written over the launcher's argv area (PR_SET_MM would need
 * CAP_SYS_RESOURCE, which a service may lack); cut short if it does not
 * fit.  Only the pages written become the child's own: the last byte, the
 * NUL the kernel put there (at the stack's top page, another page), is
 * never written. */
static void cmdline_set(char **argv, size_t argc)
{
        size_t off = 0;

        if (!cmdline_area || cmdline_len < 2)
                return;
        memset(cmdline_area, 0, cmdline_used);
        for (size_t i = 0; i < argc && off < cmdline_len - 1; i++) {
                size_t k = strlen(argv[i]) + 1;

                if (k > cmdline_len - 1 - off)
                        k = cmdline_len - 1 - off;
                memcpy(cmdline_area + off, argv[i], k);
                off += k;
        }
}

static _Noreturn void child_run(const int *fds, const int32_t *targets, size_t n_fds, char **argv, size_t argc,
                                const jd_launcher_ops *ops, void *prepared)
{
        sigset_t none;

        /* What jailerd's posix_spawn() gives an exec'd supervisor: default
         * dispositions (ours are, see default_signals()) and nothing
         * blocked (we block SIGCHLD, and the jail would inherit it). */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        /* Before anything of the supervisor runs: the channel to jailerd,
         * our signalfd, other requests' fds, all gone. */
        if (place_fds(fds, targets, n_fds) < 0)
                _exit(127);
        cmdline_set(argv, argc);
        (void) prctl(PR_SET_NAME, "jailer-supervis", 0, 0, 0);
        optind = 0;     /* getopt starts afresh */
        exit(ops->run((int) argc, argv, prepared));
}

/* Checks a request; *ret_argv points into buf.  0 or an errno. */
static int request_parse(char *buf, size_t n, size_t n_fds, const int32_t **ret_targets, char ***ret_argv,
                         size_t *ret_argc)
{
        jd_launcher_request req;
        const int32_t *tg;
        char *args, **argv;
        size_t argc = 0;

        if (n < sizeof req)
                return EBADMSG;
        memcpy(&req, buf, sizeof req);
        if (req.magic != JD_LAUNCHER_MAGIC || req.n_fds != n_fds || req.n_fds > JD_LAUNCHER_MAX_FDS ||
            req.n_args == 0 || req.n_args > JD_LAUNCHER_MAX_ARGS || req.args_len == 0 ||
            n != sizeof req + req.n_fds * sizeof(int32_t) + req.args_len)
                return EBADMSG;
        tg = (const int32_t *) (buf + sizeof req);
        for (size_t i = 0; i < n_fds; i++) {
                if (tg[i] < 3 || tg[i] >= JD_LAUNCHER_MAX_TARGET)
                        return EBADF;
                for (size_t k = 0; k < i; k++)
                        if (tg[k] == tg[i])
                                return EBADF;
        }
        args = buf + sizeof req + n_fds * sizeof(int32_t);
        if (args[req.args_len - 1] != '\0')
                return EBADMSG;
        argv = calloc(req.n_args + 1, sizeof(char *));
        if (!argv)
                return ENOMEM;
        for (size_t off = 0; off < req.args_len && argc < req.n_args; argc++) {
                argv[argc] = args + off;
                off += strlen(args + off) + 1;
        }
        if (argc != req.n_args) {
                free(argv);
                return EBADMSG;
        }
        *ret_targets = tg;
        *ret_argv = argv;
        *ret_argc = argc;
        return 0;
}

/* One request.  1: go on; 0: the channel ended; -errno: it broke. */
static int serve_one(int chan, const jd_launcher_ops *ops)
{
        static char buf[JD_LAUNCHER_MAX_MSG] __attribute__((aligned(8)));
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * JD_LAUNCHER_MAX_FDS)];
        } cbuf;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cbuf, .msg_controllen = sizeof cbuf };
        int fds[JD_LAUNCHER_MAX_FDS];
        const int32_t *targets = NULL;
        char **argv = NULL;
        void *prepared = NULL;
        size_t n_fds = 0, argc = 0;
        int error, pidfd = -1;
        pid_t pid = 0;
        ssize_t n;

        n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                size_t k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (n_fds < JD_LAUNCHER_MAX_FDS)
                                fds[n_fds++] = fd;
                        else
                                close(fd);
                }
        }
        if (n == 0 && n_fds == 0)
                return 0;

        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                error = EMSGSIZE;
        else
                error = request_parse(buf, (size_t) n, n_fds, &targets, &argv, &argc);
        if (error == 0) {
                prepared = ops->prepare ? ops->prepare(argv, argc) : NULL;
                pid = fork();
                if (pid == 0)
                        child_run(fds, targets, n_fds, argv, argc, ops, prepared);
                if (pid < 0)
                        error = errno;
        }
        if (pid > 0) {
                /* Before it can be reaped (only our own loop does that): the
                 * pidfd names this process and no later one. */
                pidfd = pidfd_open_(pid);
                if (pidfd < 0) {
                        error = errno;
                        (void) kill(pid, SIGKILL);
                        launcher_log("pidfd_open(%d): %m; killed it", (int) pid);
                }
        }
        if (error != 0 && error != ENOMEM)
                launcher_log("refused a request: %s", strerror(error));
        reply_send(chan, error, error ? 0 : pid, pidfd);
        /* The child has its copy: ours goes after the reply, and its pages
         * (shared with the child until one of us writes) are copied for us,
         * not on the child's path. */
        if (prepared)
                ops->release(prepared);
        if (pidfd >= 0)
                close(pidfd);
        for (size_t i = 0; i < n_fds; i++)
                close(fds[i]);
        free(argv);
        return 1;
}

/* Every disposition to its default, once: we install no handler and
 * ignore nothing after this, so every supervisor we fork starts with
 * default dispositions without 64 sigaction() calls of its own on the way
 * to its jail. */
static void default_signals(void)
{
        /* By the system call, as libjailer's child does: glibc's
         * posix_spawn() (jailerd's) leaves its own two real-time signals
         * ignored, and its sigaction() will not reset them.  All zero is
         * SIG_DFL, no flags, an empty mask. */
        static const unsigned long dfl[8];

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t) (_NSIG / 8));
}

static void reap(int sfd)
{
        struct signalfd_siginfo si;

        while (read(sfd, &si, sizeof si) > 0)
                ;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

/* The default seccomp program, compiled once here: every supervisor forked
 * later finds it in libjailer's cache and loads the BPF as it is, instead of
 * compiling the same filter again per jail. */
static void warm_seccomp(void)
{
        jailer_config *c = jailer_config_new("launcher", "/bin/true", "/");
        jailer_error err = { 0 };

        if (c && jailer_seccomp_prepare(c, &err) < 0)
                launcher_log("default seccomp program not compiled ahead: %s", err.message);
        jailer_config_free(c);
}

/* The host's cgroup mounts, found once here rather than by every
 * supervisor from /proc/self/mountinfo; a host whose hierarchies change
 * under a running jailerd needs jailerd restarted, which starts a new us. */
static void warm_cgroup_host(void)
{
        jailer_error err = { 0 };

        if (jailer_cgroup_host_pin(&err) < 0)
                launcher_log("cgroup hierarchies not found ahead: %s", err.message);
}

int jd_launcher_main(int argc, char **argv, const jd_launcher_ops *ops)
{
        const char *fd_arg = argv[2];
        struct pollfd p[2];
        sigset_t mask;
        uint64_t v;
        int chan, sfd, self, r;

        if (jailer_parse_u64(fd_arg, &v) < 0 || v < 3 || v > INT32_MAX) {
                launcher_log("--launcher %s: not a file descriptor number", fd_arg);
                return 2;
        }
        chan = (int) v;
        cmdline_init(argc, argv);
        if (fcntl(chan, F_SETFD, FD_CLOEXEC) < 0) {
                launcher_log("--launcher %d: %m", chan);
                return 2;
        }
        /* Nothing else of whoever started us reaches a supervisor: a socket
         * passed by the service manager, say. */
        if (chan > 3)
                (void) close_range(3, (unsigned) chan - 1, 0);
        (void) close_range((unsigned) chan + 1, ~0U, 0);

        /* Root, and forks every supervisor: no core dumps, no ptrace but by
         * root with CAP_SYS_PTRACE.  Our own session: no terminal signals. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        (void) prctl(PR_SET_NAME, "jailer-launcher", 0, 0, 0);
        (void) setsid();

        default_signals();
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

        /* jailerd watches supervisors by the pidfds we hand it: without
         * pidfd_open() (valgrind before 3.22, say) we are no use. */
        self = pidfd_open_(getpid());
        r = self < 0 ? errno : (sfd < 0 ? EMFILE : 0);
        if (self >= 0)
                close(self);
        reply_send(chan, r, getpid(), -1);
        if (r != 0)
                return 1;
        warm_seccomp();
        /* Where a supervisor's entries go, and the unit they name (a stat
         * and /proc/self/cgroup): the same for every supervisor we fork, so
         * learnt once, here. */
        jd_log_open("jailer-supervisor");
        warm_cgroup_host();

        p[0] = (struct pollfd) { .fd = chan, .events = POLLIN };
        p[1] = (struct pollfd) { .fd = sfd, .events = POLLIN };
        for (;;) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        launcher_log("poll: %m");
                        return 1;
                }
                if (p[1].revents)
                        reap(sfd);
                if (p[0].revents) {
                        r = serve_one(chan, ops);
                        if (r == 0)
                                break;
                        if (r < 0) {
                                launcher_log("channel: %s", strerror(-r));
                                return 1;
                        }
                }
        }
        /* jailerd closed the channel: its supervisors go on without us. */
        return 0;
}

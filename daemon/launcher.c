/* SPDX-License-Identifier: MIT */
/*
 * The supervisor launcher (see launcher.h), jailerd's side: it starts the
 * launcher process (launcher-main.c, which says what an attacker would
 * want from it) and asks it for supervisors over a socketpair.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "launcher.h"
#include "jailer.h"
#include "macro.h"
#include "log.h"

#define LAUNCHER_TIMEOUT_MS 10000               /* a greeting or a reply that does not come */

/* One reply, with at most one fd.  0 or -errno (-ETIMEDOUT, -ECONNRESET at
 * the end of the channel). */
static int reply_recv(int fd, jd_launcher_reply *rep, int *ret_fd, int timeout_ms)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } cbuf;
        struct iovec iov = { .iov_base = rep, .iov_len = sizeof *rep };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cbuf, .msg_controllen = sizeof cbuf };
        struct pollfd p = { .fd = fd, .events = POLLIN };
        struct cmsghdr *c;
        ssize_t n;
        int r;

        *ret_fd = -1;
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        if (n == 0)
                return -ECONNRESET;
        if ((size_t) n != sizeof *rep || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                if (*ret_fd >= 0)
                        close(*ret_fd);
                *ret_fd = -1;
                return -EBADMSG;
        }
        return 0;
}

/* ------------------------------------------------------------------ jailerd's side */

struct jd_launcher {
        sd_event *event;
        char *path;
        int fd;                                 /* the channel; -1: no launcher now */
        pid_t pid;
        sd_event_source *child_src;
        bool given_up;                          /* replaced once, failed again: exec from now on */
};

static int on_launcher_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        jd_launcher *l = userdata;

        if (si->si_code == CLD_EXITED)
                log_warning("supervisor launcher %d exited with status %d; a new one starts with the next jail",
                            (int) si->si_pid, si->si_status);
        else
                log_warning("supervisor launcher %d was killed by %s; a new one starts with the next jail",
                            (int) si->si_pid, jailer_signal_name(si->si_status) ?: "a signal");
        /* sd-event reaps it once we return. */
        l->child_src = sd_event_source_disable_unref(l->child_src);
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -1;
        l->pid = 0;
        return 0;
}

/* Reap a launcher (it is our child): one that does not answer is killed
 * first; one that declined exits by itself at the end of its channel. */
static void launcher_drop(jd_launcher *l, bool kill_it)
{
        l->child_src = sd_event_source_disable_unref(l->child_src);
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -1;
        if (l->pid > 0) {
                if (kill_it)
                        (void) kill(l->pid, SIGKILL);
                while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        l->pid = 0;
}

static int launcher_start(jd_launcher *l)
{
        _cleanup_free_ char **argv = calloc(4 + JD_LAUNCHER_CMDLINE_ROOM, sizeof(char *));
        char *envp[] = JD_SUPERVISOR_ENVP;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        jd_launcher_reply hello;
        sigset_t none, all;
        int sp[2], r, extra;
        pid_t pid;

        if (!argv)
                return -ENOMEM;
        argv[0] = (char *) "jailer-supervisor";
        argv[1] = (char *) "--launcher";
        argv[2] = (char *) "3";
        for (size_t i = 3; i < 3 + JD_LAUNCHER_CMDLINE_ROOM; i++)
                argv[i] = (char *) "";
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, sp[1], 3);
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        sigfillset(&all);
        /* Our blocked signals and ignored SIGPIPE are not the launcher's
         * (nor, through it, any supervisor's). */
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = -posix_spawn(&pid, l->path, &fa, &attr, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(sp[1]);
        if (r < 0) {
                close(sp[0]);
                return r;
        }
        l->fd = sp[0];
        l->pid = pid;

        r = reply_recv(l->fd, &hello, &extra, LAUNCHER_TIMEOUT_MS);
        if (extra >= 0)
                close(extra);
        if (r == 0 && hello.error > 0) {
                launcher_drop(l, false);
                return -hello.error;
        }
        if (r == 0 && hello.pid != pid)
                r = -EBADMSG;
        if (r == 0)
                r = sd_event_add_child(l->event, &l->child_src, pid, WEXITED, on_launcher_exit, l);
        if (r < 0) {
                launcher_drop(l, true);
                return r;
        }
        log_info("supervisor launcher %d started (%s --launcher)", (int) pid, l->path);
        return 0;
}

int jd_launcher_new(sd_event *event, const char *path, jd_launcher **ret)
{
        jd_launcher *l = calloc(1, sizeof *l);
        int r;

        if (!l)
                return -ENOMEM;
        l->event = event;
        l->fd = -1;
        l->path = strdup(path);
        if (!l->path) {
                free(l);
                return -ENOMEM;
        }
        r = launcher_start(l);
        if (r < 0) {
                free(l->path);
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

jd_launcher *jd_launcher_free(jd_launcher *l)
{
        if (!l)
                return NULL;
        /* No kill: it sees the end of the channel, and exits. */
        l->child_src = sd_event_source_disable_unref(l->child_src);
        if (l->fd >= 0)
                close(l->fd);
        free(l->path);
        free(l);
        return NULL;
}

static int request_send(int fd, char *const *argv, const int *fds, const int *targets, size_t n_fds)
{
        jd_launcher_request req = { .magic = JD_LAUNCHER_MAGIC, .n_fds = (uint32_t) n_fds };
        int32_t tg[JD_LAUNCHER_MAX_FDS];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * JD_LAUNCHER_MAX_FDS)];
        } cbuf;
        struct iovec iov[3];
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
        _cleanup_free_ char *args = NULL;
        size_t len = 0, off = 0;
        ssize_t n;

        for (size_t i = 0; argv[i]; i++) {
                len += strlen(argv[i]) + 1;
                req.n_args++;
        }
        if (req.n_args == 0 || req.n_args > JD_LAUNCHER_MAX_ARGS ||
            sizeof req + n_fds * sizeof(int32_t) + len > JD_LAUNCHER_MAX_MSG)
                return -E2BIG;
        args = malloc(len);
        if (!args)
                return -ENOMEM;
        for (size_t i = 0; argv[i]; i++) {
                size_t k = strlen(argv[i]) + 1;

                memcpy(args + off, argv[i], k);
                off += k;
        }
        req.args_len = (uint32_t) len;
        for (size_t i = 0; i < n_fds; i++)
                tg[i] = targets[i];

        iov[0] = (struct iovec) { .iov_base = &req, .iov_len = sizeof req };
        iov[1] = (struct iovec) { .iov_base = tg, .iov_len = n_fds * sizeof(int32_t) };
        iov[2] = (struct iovec) { .iov_base = args, .iov_len = len };
        if (n_fds > 0) {
                struct cmsghdr *c;

                memset(&cbuf, 0, sizeof cbuf);
                mh.msg_control = &cbuf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
                return -errno;
        return (size_t) n == sizeof req + n_fds * sizeof(int32_t) + len ? 0 : -EMSGSIZE;
}

/* One round trip.  0: started.  > 0: nothing started (the launcher said
 * no, or the request never left: an errno).  -EPIPE and the like: the
 * request was not delivered (the launcher is gone).  -EIO: it was, and no
 * answer came: a supervisor may run. */
static int spawn_once(jd_launcher *l, char *const *argv, const int *fds, const int *targets, size_t n_fds,
                      pid_t *ret_pid, int *ret_pidfd)
{
        jd_launcher_reply rep;
        int r, pidfd;

        r = request_send(l->fd, argv, fds, targets, n_fds);
        if (r == -E2BIG || r == -ENOMEM)
                return -r;
        if (r < 0)
                return r;
        r = reply_recv(l->fd, &rep, &pidfd, LAUNCHER_TIMEOUT_MS);
        if (r < 0) {
                log_error("supervisor launcher %d: no answer: %s", (int) l->pid, strerror(-r));
                return -EIO;
        }
        if (rep.error != 0) {
                if (pidfd >= 0)
                        close(pidfd);
                return rep.error > 0 ? rep.error : EPROTO;
        }
        if (pidfd < 0 || rep.pid <= 0) {
                if (pidfd >= 0)
                        close(pidfd);
                log_error("supervisor launcher %d: an answer without a pidfd", (int) l->pid);
                return -EIO;
        }
        *ret_pid = rep.pid;
        *ret_pidfd = pidfd;
        return 0;
}

int jd_launcher_spawn(jd_launcher *l, char *const *argv, const int *fds, const int *targets, size_t n_fds,
                      pid_t *ret_pid, int *ret_pidfd)
{
        int r;

        if (!l || l->given_up)
                return -EHOSTDOWN;
        if (n_fds > JD_LAUNCHER_MAX_FDS)
                return -EHOSTDOWN;
        for (int attempt = 0; attempt < 2; attempt++) {
                if (l->fd < 0) {
                        r = launcher_start(l);
                        if (r < 0) {
                                log_error("cannot start the supervisor launcher (%s): %s; supervisors are exec'd "
                                          "from now on", l->path, strerror(-r));
                                l->given_up = true;
                                return -EHOSTDOWN;
                        }
                }
                r = spawn_once(l, argv, fds, targets, n_fds, ret_pid, ret_pidfd);
                if (r == 0)
                        return 0;
                if (r > 0) {
                        log_warning("supervisor launcher %d: %s; this supervisor is exec'd", (int) l->pid,
                                    strerror(r));
                        return -EHOSTDOWN;
                }
                /* A launcher that does not answer is not asked again.  When
                 * the request got through, a supervisor may run: starting
                 * another for the same jail would be worse than failing. */
                launcher_drop(l, true);
                if (r == -EIO)
                        return -EIO;
                log_warning("supervisor launcher gone (%s); starting a new one", strerror(-r));
        }
        log_error("the new supervisor launcher failed too; supervisors are exec'd from now on");
        l->given_up = true;
        return -EHOSTDOWN;
}

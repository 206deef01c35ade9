/* SPDX-License-Identifier: MIT */
/*
 * lat: run a command line many times and time it from outside, the same way
 * for every contender.
 *
 *   lat --reps N [--warmup W] [--gap MS] -- CMD [ARGS]
 *       runs CMD W+N times, one after the other (MS milliseconds apart
 *       with --gap), with stdout on a pipe;
 *       for each of the N measured runs prints
 *           lat TO_STAMP_US TO_EXIT_US STATUS TAIL_US
 *       TO_STAMP_US: from just before posix_spawn() of CMD to the jailed
 *       stamp's main() (its line on stdout, bench/stamp.c), -1 if none;
 *       TO_EXIT_US: to CMD reaped.  STATUS: its exit status (128+N: signal).
 *       TAIL_US: from the stamp's last instant (just before it exits) to CMD
 *       reaped: what tearing the jail down costs the caller; -1 if none.
 *
 *   lat --wake N [--gap-us US]
 *       the kernel's price of one hop between processes: a process blocked
 *       in read() on a socket is written to after US microseconds (default
 *       200) of quiet; prints "wake LAT_US" N times, from just before the
 *       write to the reader's return from read() (what each hop of a
 *       request through a daemon pays, whatever the daemon does).
 *
 *   lat --workers C --duration S -- CMD [ARGS]
 *       C processes run CMD in a loop for S seconds (stdout to /dev/null);
 *       prints "throughput C RUNS SECONDS FAILED".
 *
 *   lat --workers C --duration S --jailerd SOCK -- CONFIG
 *       the same, each run a jail of jailerd's: every worker on its own
 *       connection to SOCK sends `create` with CONFIG (a jail config as
 *       JSON, %N in its id) and /dev/null as the jail's stdio, then `wait`;
 *       a run that does not end with exit code 0 failed.
 *
 *   lat --workers C --duration S --served SOCK
 *       the same against `floor --serve SOCK` (bench/floor.c): "jail",
 *       then its answer, on a connection per worker.
 *
 *       A daemon's clients here are as lean as the in-process floor's
 *       workers, which have none: what the rate measures is the daemon,
 *       not the interpreter a harness is written in.
 *
 * In CMD's arguments, %N becomes a token unique to the run and %W the
 * worker's number (0 with --reps): jail ids, container ids and per-worker
 * bundles that concurrent runs must not share.
 *
 * stderr of CMD is ours, or --stderr FILE (appended).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char **cmd;
static int err_fd = -1;
static int worker;
static long run_no;

/* What %N becomes: unique to this run of this worker of this lat. */
static int run_token(char *buf, size_t size)
{
        return snprintf(buf, size, "%d-%d-%ld", (int) getpid(), worker, run_no);
}

/* arg with %N and %W replaced (malloc'd), or arg itself. */
static char *subst(char *arg)
{
        if (!strchr(arg, '%'))
                return arg;
        char out[4096];
        size_t o = 0;
        for (const char *p = arg; *p && o < sizeof(out) - 64; p++) {
                if (p[0] == '%' && p[1] == 'N') {
                        o += (size_t) run_token(out + o, sizeof(out) - o);
                        p++;
                } else if (p[0] == '%' && p[1] == 'W') {
                        o += (size_t) snprintf(out + o, sizeof(out) - o, "%d", worker);
                        p++;
                } else {
                        out[o++] = *p;
                }
        }
        out[o] = '\0';
        return strdup(out);
}

/* Spawn cmd with stdout on out_fd; returns the pid. */
static pid_t spawn(int out_fd)
{
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        if (err_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
        size_t n = 0;
        while (cmd[n])
                n++;
        char *argv[n + 1];
        for (size_t i = 0; i <= n; i++)
                argv[i] = cmd[i] ? subst(cmd[i]) : NULL;
        run_no++;
        pid_t pid;
        int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        for (size_t i = 0; i < n; i++)
                if (argv[i] != cmd[i])
                        free(argv[i]);
        if (r != 0) {
                fprintf(stderr, "lat: %s: %s\n", cmd[0], strerror(r));
                exit(125);
        }
        return pid;
}

static int reap(pid_t pid)
{
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int one_run(bool print)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                perror("lat: pipe");
                exit(125);
        }
        int64_t t0 = now_ns();
        pid_t pid = spawn(p[1]);
        close(p[1]);
        char buf[4096];
        size_t len = 0;
        for (;;) {
                ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len >= sizeof(buf) - 1)
                        len = 0; /* keep reading; only the stamp line matters */
        }
        buf[len] = '\0';
        close(p[0]);
        int st = reap(pid);
        int64_t t1 = now_ns();
        long long stamp = -1, stamp_end = -1;
        const char *s = strstr(buf, "stamp ");
        if (!s || sscanf(s, "stamp %lld %lld", &stamp, &stamp_end) != 2)
                stamp = stamp_end = -1;
        if (print)
                printf("lat %.1f %.1f %d %.1f\n", stamp < 0 ? -1.0 : (double) (stamp - t0) / 1000.0,
                       (double) (t1 - t0) / 1000.0, st,
                       stamp_end < 0 ? -1.0 : (double) (t1 - stamp_end) / 1000.0);
        return st;
}

/* See "lat --wake" above.  0, or 125 on a set-up failure. */
static int wake(int n, int gap_us)
{
        int to[2], back[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, to) < 0 ||
            socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, back) < 0)
                return 125;
        pid_t pid = fork();
        if (pid < 0)
                return 125;
        if (pid == 0) {
                int64_t t0, lat;
                close(to[0]);
                close(back[0]);
                while (read(to[1], &t0, sizeof(t0)) == sizeof(t0)) {
                        lat = now_ns() - t0;
                        if (write(back[1], &lat, sizeof(lat)) != sizeof(lat))
                                _exit(1);
                }
                _exit(0);
        }
        close(to[1]);
        close(back[1]);
        for (int i = 0; i < n; i++) {
                int64_t t0, lat;
                usleep((useconds_t) gap_us);
                t0 = now_ns();
                if (write(to[0], &t0, sizeof(t0)) != sizeof(t0) || read(back[0], &lat, sizeof(lat)) != sizeof(lat))
                        break;
                printf("wake %.1f\n", (double) lat / 1000);
        }
        close(to[0]);
        close(back[0]);
        (void) reap(pid);
        return 0;
}

/* ------------------------------------------------------- daemon clients */

static int connect_to(const char *path, int type)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                return -1;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* A connection to jailerd: its socket and the bytes read past a line. */
typedef struct conn {
        int fd;
        char buf[65536];
        size_t len;
} conn;

/* The reply to request id (a line with "id":ID, notifications skipped),
 * NUL-terminated at c->buf; its length, or -1. */
static ssize_t reply_line(conn *c, long id)
{
        char want[32];
        int k = snprintf(want, sizeof want, "\"id\":%ld", id);

        for (;;) {
                char *nl = memchr(c->buf, '\n', c->len);

                if (nl) {
                        size_t n = (size_t) (nl - c->buf);
                        const char *at;

                        *nl = '\0';
                        at = strstr(c->buf, want);
                        /* "id":1 is not "id":10 */
                        if (at && (at[k] < '0' || at[k] > '9'))
                                return (ssize_t) n;
                        memmove(c->buf, nl + 1, c->len - n - 1);
                        c->len -= n + 1;
                        continue;
                }
                if (c->len == sizeof c->buf)
                        return -1;
                ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                c->len += (size_t) r;
        }
}

/* Drop the reply line just returned by reply_line(). */
static void reply_done(conn *c, ssize_t n)
{
        memmove(c->buf, c->buf + n + 1, c->len - (size_t) n - 1);
        c->len -= (size_t) n + 1;
}

static int send_line(int fd, const char *line, size_t len, const int *fds, size_t n_fds)
{
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(3 * sizeof(int))];
        } cb;
        struct iovec iov = { .iov_base = (void *) line, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds) {
                memset(&cb, 0, sizeof cb);
                mh.msg_control = &cb;
                mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
                struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
                h->cmsg_level = SOL_SOCKET;
                h->cmsg_type = SCM_RIGHTS;
                h->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
                memcpy(CMSG_DATA(h), fds, n_fds * sizeof(int));
        }
        return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t) len ? 0 : -1;
}

/* One jail through jailerd: create, then wait.  0 if it exited 0.  The
 * config's id is the JSON string around its %N. */
static int jailerd_run(conn *c, const char *config, int devnull, long *id)
{
        const char *at = strstr(config, "%N"), *open_q, *close_q;
        int fds[3] = { devnull, devnull, devnull };
        char line[8192], tok[64];
        ssize_t n;
        bool ok;
        int k;

        if (!at || !(close_q = strchr(at + 2, '"')))
                return -1;
        for (open_q = at; open_q > config && open_q[-1] != '"'; open_q--)
                ;
        run_token(tok, sizeof tok);
        run_no++;
        k = snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"create\",\"params\":%.*s%s%s}\n",
                     ++*id, (int) (at - config), config, tok, at + 2);
        if (k <= 0 || (size_t) k >= sizeof line || send_line(c->fd, line, (size_t) k, fds, 3) < 0)
                return -1;
        n = reply_line(c, *id);
        if (n < 0)
                return -1;
        ok = strstr(c->buf, "\"result\"") != NULL;
        reply_done(c, n);
        if (!ok)
                return 1;
        k = snprintf(line, sizeof line,
                     "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"wait\",\"params\":{\"jail\":\"%.*s%s%.*s\"}}\n",
                     ++*id, (int) (at - open_q), open_q, tok, (int) (close_q - at - 2), at + 2);
        if (k <= 0 || (size_t) k >= sizeof line || send_line(c->fd, line, (size_t) k, NULL, 0) < 0)
                return -1;
        n = reply_line(c, *id);
        if (n < 0)
                return -1;
        ok = strstr(c->buf, "\"result\"") && strstr(c->buf, "\"exit_code\":0,");
        reply_done(c, n);
        return ok ? 0 : 1;
}

/* One jail through floor --serve.  0 if it exited 0. */
static int served_run(int fd)
{
        char buf[256];
        ssize_t n;
        unsigned long long a, b;
        int st;

        if (send(fd, "jail", 4, MSG_NOSIGNAL) != 4)
                return -1;
        n = recv(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        if (sscanf(buf, "served %llu %llu %d", &a, &b, &st) != 3)
                return -1;
        return st == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        int reps = 0, warmup = 0, workers = 0, gap_ms = 0, wakes = 0, gap_us = 200;
        const char *jailerd = NULL, *served = NULL;
        double duration = 0;
        int i;
        for (i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                } else if (strcmp(a, "--reps") == 0 && v) {
                        reps = atoi(v), i++;
                } else if (strcmp(a, "--warmup") == 0 && v) {
                        warmup = atoi(v), i++;
                } else if (strcmp(a, "--gap") == 0 && v) {
                        gap_ms = atoi(v), i++;
                } else if (strcmp(a, "--wake") == 0 && v) {
                        wakes = atoi(v), i++;
                } else if (strcmp(a, "--gap-us") == 0 && v) {
                        gap_us = atoi(v), i++;
                } else if (strcmp(a, "--workers") == 0 && v) {
                        workers = atoi(v), i++;
                } else if (strcmp(a, "--jailerd") == 0 && v) {
                        jailerd = v, i++;
                } else if (strcmp(a, "--served") == 0 && v) {
                        served = v, i++;
                } else if (strcmp(a, "--duration") == 0 && v) {
                        duration = atof(v), i++;
                } else if (strcmp(a, "--stderr") == 0 && v) {
                        err_fd = open(v, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                        if (err_fd < 0) {
                                perror(v);
                                return 125;
                        }
                        i++;
                } else {
                        break;
                }
        }
        if (wakes > 0)
                return wake(wakes, gap_us);
        if ((served || jailerd) && (workers <= 0 || duration <= 0 || (jailerd && i >= argc))) {
                fprintf(stderr, "usage: lat --workers C --duration S --jailerd SOCK -- CONFIG\n"
                                "       lat --workers C --duration S --served SOCK\n");
                return 2;
        }
        if (!served && !jailerd && (i >= argc || (reps <= 0 && workers <= 0) || (workers > 0 && duration <= 0))) {
                fprintf(stderr, "usage: lat --reps N [--warmup W] [--gap MS] [--stderr FILE] -- CMD [ARGS]\n"
                                "       lat --wake N [--gap-us US]\n"
                                "       lat --workers C --duration S [--stderr FILE] -- CMD [ARGS]\n"
                                "       lat --workers C --duration S --jailerd SOCK -- CONFIG\n"
                                "       lat --workers C --duration S --served SOCK\n");
                return 2;
        }
        cmd = argv + i;

        if (workers <= 0) {
                for (int w = 0; w < warmup; w++)
                        (void) one_run(false);
                int bad = 0;
                for (int r = 0; r < reps; r++) {
                        if (gap_ms > 0)
                                usleep((useconds_t) gap_ms * 1000);
                        bad |= one_run(true) != 0;
                        fflush(stdout);
                }
                return bad;
        }

        int res[2];
        if (pipe(res) < 0)
                return 125;
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        int64_t start = now_ns(), end = start + (int64_t) (duration * 1e9);
        pid_t kids[1024];
        if (workers > 1024)
                workers = 1024;
        for (int w = 0; w < workers; w++) {
                kids[w] = fork();
                if (kids[w] == 0) {
                        worker = w;
                        static conn c;
                        long r[2] = { 0, 0 }, id = 0;
                        int fd = -1;

                        if (jailerd || served) {
                                fd = connect_to(jailerd ?: served, jailerd ? SOCK_STREAM : SOCK_SEQPACKET);
                                if (fd < 0) {
                                        perror(jailerd ?: served);
                                        _exit(125);
                                }
                                c.fd = fd;
                        }
                        while (now_ns() < end) {
                                int st = jailerd ? jailerd_run(&c, cmd[0], devnull, &id)
                                                 : served ? served_run(fd) : reap(spawn(devnull));
                                if (st < 0) {
                                        fprintf(stderr, "lat: %s: the connection broke\n", jailerd ?: served);
                                        r[1]++;
                                        break;
                                }
                                r[st == 0 ? 0 : 1]++;
                        }
                        if (fd >= 0)
                                close(fd);
                        _exit(write(res[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
                }
        }
        close(res[1]);
        long total = 0, failed = 0, r[2];
        while (read(res[0], r, sizeof(r)) == sizeof(r)) {
                total += r[0];
                failed += r[1];
        }
        for (int w = 0; w < workers; w++)
                (void) reap(kids[w]);
        printf("throughput %d %ld %.3f %ld\n", workers, total, (double) (now_ns() - start) / 1e9, failed);
        return failed != 0;
}

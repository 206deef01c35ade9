/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "journal.h"
#include "macro.h"

#define SNDBUF_WANTED (8 * 1024 * 1024)

/* The socket to journald, made by this process: a forked child (a
 * supervisor) makes its own, and never uses the number it inherited, which
 * the launcher's close-everything may have closed and reused. */
static int journal_fd = -1;
static pid_t journal_pid;

static int journal_socket(void)
{
        int size = SNDBUF_WANTED;

        if (journal_fd >= 0 && journal_pid == getpid())
                return journal_fd;
        journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (journal_fd < 0)
                return -errno;
        journal_pid = getpid();
        /* Each entry is one datagram, which must fit in the socket's
         * buffer.  Ours are a few KiB (a jail's output lines are cut at 8
         * KiB); one that does not fit fails with EMSGSIZE and goes to
         * stderr instead.  Best effort: the default size serves. */
        (void) setsockopt(journal_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        return journal_fd;
}

static const struct sockaddr_un journal_addr = {
        .sun_family = AF_UNIX,
        .sun_path = JD_JOURNAL_SOCKET,
};

int jd_journal_sendv(const struct iovec *iov, size_t n)
{
        static const char nl = '\n';
        _cleanup_free_ struct iovec *w = NULL;
        _cleanup_free_ uint64_t *lens = NULL;
        struct msghdr mh = { .msg_name = (void *) &journal_addr, .msg_namelen = sizeof journal_addr };
        size_t k = 0;
        int sock;

        if (n == 0 || n > 1024)
                return -EINVAL;
        w = calloc(n * 5, sizeof *w);
        lens = calloc(n, sizeof *lens);
        if (!w || !lens)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *f = iov[i].iov_base, *eq = memchr(f, '=', iov[i].iov_len);
                size_t klen, vlen;

                if (!eq || eq == f)
                        return -EINVAL;
                klen = (size_t) (eq - f);
                vlen = iov[i].iov_len - klen - 1;
                if (!memchr(eq + 1, '\n', vlen)) {
                        /* FIELD=value\n */
                        w[k++] = iov[i];
                        w[k++] = (struct iovec) { (void *) &nl, 1 };
                        continue;
                }
                /* FIELD\n, the value's size (64 bits, little endian), the
                 * value, \n: a value with newlines. */
                lens[i] = htole64((uint64_t) vlen);
                w[k++] = (struct iovec) { (void *) f, klen };
                w[k++] = (struct iovec) { (void *) &nl, 1 };
                w[k++] = (struct iovec) { &lens[i], sizeof lens[i] };
                w[k++] = (struct iovec) { (void *) (eq + 1), vlen };
                w[k++] = (struct iovec) { (void *) &nl, 1 };
        }
        sock = journal_socket();
        if (sock < 0)
                return sock;
        mh.msg_iov = w;
        mh.msg_iovlen = k;
        if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

/* A unit's name: "name.type", of the characters systemd allows. */
static bool unit_name_ok(const char *s, size_t n)
{
        const char *dot = memrchr(s, '.', n);

        if (n == 0 || n > 255 || !dot || dot == s || dot == s + n - 1)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@", s[i]))
                        return false;
        return true;
}

int jd_unit_of_self(char **ret)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
        _cleanup_free_ char *line = NULL, *unified = NULL, *named = NULL;
        const char *path, *p;
        size_t cap = 0;
        ssize_t len;

        if (!f)
                return -errno;
        /* systemd's own tree: the unified one ("0::"), or on a v1 host, where
         * that line says "/", the named hierarchy "name=systemd". */
        while ((len = getline(&line, &cap, f)) > 0) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                char **dst = NULL;

                if (line[len - 1] == '\n')
                        line[len - 1] = '\0';
                if (!c2)
                        continue;
                if (strncmp(line, "0::", 3) == 0)
                        dst = &unified;
                else if (strncmp(c1 + 1, "name=systemd:", strlen("name=systemd:")) == 0)
                        dst = &named;
                if (dst && !*dst && !(*dst = strdup(c2 + 1)))
                        return -ENOMEM;
        }
        path = unified && strcmp(unified, "/") != 0 ? unified : named;
        if (!path)
                return -ENXIO;
        /* The first component that is not a slice names the unit:
         * /system.slice/jailerd.service/supervisors -> jailerd.service. */
        for (p = path; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n > strlen(".slice") && strncmp(p + n - strlen(".slice"), ".slice", strlen(".slice")) == 0) {
                        p += n;
                        continue;
                }
                if (!unit_name_ok(p, n))
                        break;
                *ret = strndup(p, n);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENXIO;
}

int jd_notify(const char *state)
{
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        size_t n;

        if (!e || !*e)
                return 0;
        n = strlen(e);
        if ((e[0] != '/' && e[0] != '@') || n >= sizeof sa.sun_path)
                return -EINVAL;
        memcpy(sa.sun_path, e, n);
        if (e[0] == '@')
                sa.sun_path[0] = '\0';          /* abstract */
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa,
                   (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n)) < 0)
                return -errno;
        return 0;
}

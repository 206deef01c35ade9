/* SPDX-License-Identifier: MIT */
/*
 * Line framing for the jailerd protocol: bytes and SCM_RIGHTS fds in,
 * complete '\n'-terminated lines out.
 *
 * On a stream socket the kernel hands out the fds of a sendmsg() with the
 * first read that returns any of that sendmsg()'s bytes, and ends that read
 * with that sendmsg()'s data: bytes of earlier sends may precede them in the
 * same read, later ones never follow.  A client sends a request line and its
 * fds with one sendmsg(), so the fds of a read belong to the last line that
 * starts in it.
 *
 * What a peer can make us hold is bounded: fds are taken only when they come
 * with the first bytes of a line, and only as many as one request may carry
 * (JL_PROTOCOL_MAX_FDS).  Any other fds are closed at once and the line they
 * came with is marked, so that its request is refused (fds_truncated): a
 * line sent in a thousand pieces with fds each holds at most one set.  The
 * buffer holds only the bytes of lines not yet taken (nothing at all between
 * requests), at most one line plus one read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jailer-internal.h"
#include "protocol.h"

/* Room to see every fd the kernel lets a sender attach (SCM_MAX_FD), so that
 * none is dropped silently and a sender of too many is told so. */
#define JL_FRAMER_CMSG_FDS 253
#define JL_FRAMER_READ_CHUNK (64 * 1024)
/* Never more than this, unless fed more (jl_framer_feed): a line too long is
 * known as soon as it has JL_PROTOCOL_MAX_LINE + 1 bytes. */
#define JL_FRAMER_MAX_CAP (JL_PROTOCOL_MAX_LINE + 1 + JL_FRAMER_READ_CHUNK)

struct jl_fdrec {
        uint64_t offset;        /* stream offset of the first byte read with these fds */
        int fds[JL_PROTOCOL_MAX_FDS];
        size_t n_fds;
        bool truncated;         /* more than fit, or MSG_CTRUNC: all closed already */
};

struct jl_framer {
        char *buf;
        size_t start;           /* first byte not yet taken */
        size_t len;             /* bytes in buf */
        size_t cap;
        size_t scanned;         /* buf[start..scanned) holds no '\n' */
        uint64_t base;          /* stream offset of buf[0] */
        bool discarding;        /* inside an oversized line: drop up to the next '\n' */
        bool mid_line;          /* the last byte received was not a '\n' */
        struct jl_fdrec *recs;
        size_t n_recs;
};

static void fdrec_close(struct jl_fdrec *r)
{
        for (size_t i = 0; i < r->n_fds; i++)
                if (r->fds[i] >= 0)
                        close(r->fds[i]);
        r->n_fds = 0;
}

void jl_line_free(jl_line *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n_fds; i++)
                if (l->fds[i] >= 0)
                        close(l->fds[i]);
        free(l->data);
        free(l);
}

jl_framer *jl_framer_new(void)
{
        return calloc(1, sizeof(jl_framer));
}

void jl_framer_free(jl_framer *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n_recs; i++)
                fdrec_close(&f->recs[i]);
        free(f->recs);
        free(f->buf);
        free(f);
}

size_t jl_framer_pending(const jl_framer *f)
{
        return f->len - f->start;
}

/* Make room for at least n more bytes after buf[len]. */
static int framer_reserve(jl_framer *f, size_t n)
{
        if (f->start > 0 && (f->start == f->len || f->cap - f->len < n)) {
                memmove(f->buf, f->buf + f->start, f->len - f->start);
                f->base += f->start;
                f->len -= f->start;
                f->scanned -= f->start;
                f->start = 0;
        }
        if (f->cap - f->len >= n)
                return 0;

        size_t want = f->len + n;
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < want)
                cap *= 2;
        if (cap > JL_FRAMER_MAX_CAP)
                cap = MAX(want, (size_t) JL_FRAMER_MAX_CAP);
        char *b = realloc(f->buf, cap);
        if (!b)
                return -ENOMEM;
        f->buf = b;
        f->cap = cap;
        return 0;
}

/* Drop buffered bytes up to (not including) buf[end]. */
static void framer_consume(jl_framer *f, size_t end)
{
        f->start = end;
        if (f->scanned < end)
                f->scanned = end;
        if (f->start == f->len) {
                f->base += f->len;
                f->start = f->len = f->scanned = 0;
                /* Between lines we hold no buffer: an idle peer costs nothing. */
                free(f->buf);
                f->buf = NULL;
                f->cap = 0;
        }
}

/* Close fds whose bytes were discarded, i.e. arrived before stream offset
 * 'upto' and were not claimed by a line. */
static void framer_drop_recs_before(jl_framer *f, uint64_t upto)
{
        size_t k = 0;
        for (size_t i = 0; i < f->n_recs; i++) {
                if (f->recs[i].offset < upto)
                        fdrec_close(&f->recs[i]);
                else
                        f->recs[k++] = f->recs[i];
        }
        f->n_recs = k;
}

/* Move the fds that arrived with bytes in [from, to) into the line. */
static void framer_claim_fds(jl_framer *f, uint64_t from, uint64_t to, jl_line *l)
{
        size_t k = 0;
        for (size_t i = 0; i < f->n_recs; i++) {
                struct jl_fdrec *r = &f->recs[i];

                if (r->offset >= to) {
                        f->recs[k++] = *r;
                        continue;
                }
                if (r->offset < from || l->oversized || r->truncated ||
                    l->fds_truncated || l->n_fds + r->n_fds > JL_PROTOCOL_MAX_FDS) {
                        /* Too many for one line, or not attached to a line we
                         * hand out: close them, and say so when they were the
                         * line's. */
                        if (r->offset >= from && !l->oversized) {
                                l->fds_truncated = true;
                                for (size_t j = 0; j < l->n_fds; j++)
                                        close(l->fds[j]);
                                l->n_fds = 0;
                        }
                        fdrec_close(r);
                        continue;
                }
                for (size_t j = 0; j < r->n_fds; j++)
                        l->fds[l->n_fds++] = r->fds[j];
                r->n_fds = 0;
        }
        f->n_recs = k;
}

/* Append bytes that have arrived. */
static int framer_append(jl_framer *f, const void *buf, size_t len)
{
        if (len == 0)
                return 0;
        if (framer_reserve(f, len) < 0)
                return -ENOMEM;
        memcpy(f->buf + f->len, buf, len);
        f->len += len;
        f->mid_line = ((const char *) buf)[len - 1] != '\n';
        return 0;
}

int jl_framer_feed(jl_framer *f, const void *buf, size_t len)
{
        return framer_append(f, buf, len);
}

static void close_all(const int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
}

static int framer_add_rec(jl_framer *f, uint64_t offset, const int *fds, size_t n, bool truncated)
{
        struct jl_fdrec *recs = reallocarray(f->recs, f->n_recs + 1, sizeof(*recs));
        if (!recs) {
                close_all(fds, n);
                return -ENOMEM;
        }
        f->recs = recs;

        struct jl_fdrec *r = &f->recs[f->n_recs++];
        *r = (struct jl_fdrec) { .offset = offset, .truncated = truncated || n > JL_PROTOCOL_MAX_FDS };
        if (r->truncated) {
                close_all(fds, n);
                return 0;
        }
        memcpy(r->fds, fds, n * sizeof(int));
        r->n_fds = n;
        return 0;
}

/* Fds that came with later bytes of a line than its first: close them now
 * and mark the line, so that its request is refused.  At most one record
 * per line, however many pieces it comes in. */
static int framer_refuse_fds(jl_framer *f, uint64_t offset, const int *fds, size_t n)
{
        close_all(fds, n);
        if (f->discarding)
                return 0;       /* an oversized line: already refused */

        /* The line these bytes continue starts after the last '\n' we hold
         * (buf[start..scanned) has none). */
        const char *nl = f->len > f->scanned ? memrchr(f->buf + f->scanned, '\n', f->len - f->scanned) : NULL;
        uint64_t line_start = f->base + (nl ? (size_t) (nl - f->buf) + 1 : f->start);

        if (f->n_recs > 0 && f->recs[f->n_recs - 1].offset >= line_start) {
                struct jl_fdrec *r = &f->recs[f->n_recs - 1];

                fdrec_close(r);
                r->truncated = true;
                return 0;
        }
        return framer_add_rec(f, offset, NULL, 0, true);
}

ssize_t jl_framer_read(jl_framer *f, int fd)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * JL_FRAMER_CMSG_FDS)];
        } control;
        char chunk[JL_FRAMER_READ_CHUNK];
        ssize_t n;
        int r;

        /* Read into a chunk of our own and keep only what is not a whole
         * line yet: the buffer is as large as the pending bytes, never as
         * large as the socket's backlog. */
        struct iovec iov = { .iov_base = chunk, .iov_len = sizeof(chunk) };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };

        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;

        int fds[JL_FRAMER_CMSG_FDS];
        size_t n_fds = 0;
        bool truncated = mh.msg_flags & MSG_CTRUNC;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                const unsigned char *p = CMSG_DATA(c);
                for (size_t i = 0; i < k; i++) {
                        int x;
                        memcpy(&x, p + i * sizeof(int), sizeof(int));
                        if (n_fds < ELEMENTSOF(fds))
                                fds[n_fds++] = x;
                        else {
                                close(x);
                                truncated = true;
                        }
                }
        }

        if (n_fds > 0 || truncated) {
                /* Where the last line starting in this read begins: after
                 * its last '\n' that is not its final byte; or at its first
                 * byte when that starts a line. */
                const char *nl = n > 1 ? memrchr(chunk, '\n', (size_t) n - 1) : NULL;
                uint64_t offset = f->base + f->len + (nl ? (size_t) (nl - chunk) + 1 : 0);
                bool line_start = nl || !f->mid_line;

                if (n == 0) {
                        /* fds with no byte to attach them to */
                        close_all(fds, n_fds);
                        r = 0;
                } else if (line_start)
                        r = framer_add_rec(f, offset, fds, n_fds, truncated);
                else
                        r = framer_refuse_fds(f, offset, fds, n_fds);
                if (r < 0)
                        return r;
        }

        r = framer_append(f, chunk, (size_t) n);
        if (r < 0)
                return r;
        return n;
}

size_t jl_framer_memory(const jl_framer *f)
{
        return sizeof(*f) + f->cap + f->n_recs * sizeof(struct jl_fdrec);
}

int jl_framer_next(jl_framer *f, jl_line **out)
{
        *out = NULL;

        for (;;) {
                char *nl;

                if (f->start == f->len)
                        return 0;

                if (f->discarding) {
                        nl = memchr(f->buf + f->start, '\n', f->len - f->start);
                        size_t end = nl ? (size_t) (nl - f->buf) + 1 : f->len;
                        framer_drop_recs_before(f, f->base + end);
                        framer_consume(f, end);
                        if (!nl)
                                return 0;
                        f->discarding = false;
                        continue;
                }

                nl = memchr(f->buf + f->scanned, '\n', f->len - f->scanned);
                size_t line_len = (nl ? (size_t) (nl - f->buf) : f->len) - f->start;

                if (!nl && line_len <= JL_PROTOCOL_MAX_LINE) {
                        f->scanned = f->len;
                        return 0;
                }

                _cleanup_free_ jl_line *l = calloc(1, sizeof(jl_line));
                if (!l)
                        return -ENOMEM;
                uint64_t from = f->base + f->start;

                if (line_len > JL_PROTOCOL_MAX_LINE) {
                        l->oversized = true;
                        l->len = line_len;
                        framer_claim_fds(f, from, f->base + f->start + line_len + (nl ? 1 : 0), l);
                        if (nl)
                                framer_consume(f, (size_t) (nl - f->buf) + 1);
                        else {
                                framer_consume(f, f->len);
                                f->discarding = true;
                        }
                        *out = TAKE_PTR(l);
                        return 1;
                }

                l->data = malloc(line_len + 1);
                if (!l->data)
                        return -ENOMEM;
                memcpy(l->data, f->buf + f->start, line_len);
                l->data[line_len] = 0;
                l->len = line_len;
                framer_claim_fds(f, from, from + line_len + 1, l);
                framer_consume(f, f->start + line_len + 1);
                *out = TAKE_PTR(l);
                return 1;
        }
}

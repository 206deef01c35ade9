/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's event loop (see evloop.h).  Every source is an fd in one
 * epoll set: the caller's for io, a timerfd for a timer, and one signalfd
 * for all the signals.  Handlers run in the order epoll reports; a source freed while a
 * batch is dispatched is only marked, taken out of the set at once, and its
 * memory released after the batch, so that a later event of the same batch
 * never reaches freed memory.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "jailer.h"
#include "macro.h"

#define BATCH 16

typedef enum source_kind {
        SOURCE_IO,
        SOURCE_TIMER,
        SOURCE_SIGNALFD,        /* the loop's one signalfd, for every signal source */
        SOURCE_SIGNAL,          /* one signal, served by the signalfd (fd -1) */
} source_kind;

struct jd_source {
        jd_loop *loop;
        source_kind kind;
        int fd;
        bool own_fd;            /* closed with the source (timers, signals: always) */
        bool dead;
        union {
                jd_io_handler io;
                jd_time_handler time;
                jd_signal_handler signal;
        } cb;
        void *userdata;
        int sig;                /* SOURCE_SIGNAL */
        jd_source *next;        /* every source of the loop */
};

struct jd_loop {
        int epfd;
        bool exiting;
        bool dispatching;
        int exit_code;
        jd_source *sources;
        jd_source *sigfd;       /* made with the first signal source */
        sigset_t sigmask;
};

int jd_loop_new(jd_loop **ret)
{
        jd_loop *l = calloc(1, sizeof *l);

        if (!l)
                return -ENOMEM;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
                int r = -errno;

                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

static void source_release(jd_source *s)
{
        if (s->own_fd && s->fd >= 0)
                close(s->fd);
        free(s);
}

/* Unlink and free the dead sources (or, at the end, all of them). */
static void sweep(jd_loop *l, bool all)
{
        jd_source **p = &l->sources;

        while (*p) {
                jd_source *s = *p;

                if (s->dead || all) {
                        *p = s->next;
                        source_release(s);
                } else
                        p = &s->next;
        }
}

jd_loop *jd_loop_free(jd_loop *l)
{
        if (!l)
                return NULL;
        sweep(l, true);
        close(l->epfd);
        free(l);
        return NULL;
}

static int source_add(jd_loop *l, jd_source **ret, source_kind kind, int fd, bool own_fd, uint32_t events,
                      void *userdata, jd_source **out)
{
        struct epoll_event ev = { .events = events };
        jd_source *s = calloc(1, sizeof *s);

        if (!s)
                return -ENOMEM;
        *s = (jd_source) { .loop = l, .kind = kind, .fd = fd, .own_fd = own_fd, .userdata = userdata };
        ev.data.ptr = s;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;

                free(s);
                return r;
        }
        s->next = l->sources;
        l->sources = s;
        if (ret)
                *ret = s;
        *out = s;
        return 0;
}

int jd_loop_add_io(jd_loop *l, jd_source **ret, int fd, uint32_t events, jd_io_handler cb, void *userdata)
{
        jd_source *s;
        int r;

        if (fd < 0 || !cb)
                return -EINVAL;
        r = source_add(l, ret, SOURCE_IO, fd, false, events, userdata, &s);
        if (r < 0)
                return r;
        s->cb.io = cb;
        return 0;
}

void jd_source_set_fd_own(jd_source *s, bool own)
{
        if (s && s->kind == SOURCE_IO)
                s->own_fd = own;
}

int jd_source_set_time(jd_source *s, uint64_t usec)
{
        struct itimerspec its = { 0 };

        if (!s || s->kind != SOURCE_TIMER || s->dead)
                return -EINVAL;
        /* 0 would disarm a timerfd: the past, as soon as possible. */
        if (usec == 0)
                usec = 1;
        its.it_value.tv_sec = (time_t) (usec / 1000000u);
        its.it_value.tv_nsec = (long) (usec % 1000000u) * 1000;
        if (timerfd_settime(s->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return -errno;
        return 0;
}

int jd_loop_add_timer(jd_loop *l, jd_source **ret, uint64_t usec, jd_time_handler cb, void *userdata)
{
        _cleanup_close_ int fd = -1;
        jd_source *s;
        int r;

        if (!cb)
                return -EINVAL;
        fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        r = source_add(l, ret, SOURCE_TIMER, fd, true, EPOLLIN, userdata, &s);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        s->cb.time = cb;
        r = jd_source_set_time(s, usec);
        if (r < 0) {
                (void) jd_source_free(s);
                if (ret)
                        *ret = NULL;
        }
        return r;
}

int jd_loop_add_signal(jd_loop *l, jd_source **ret, int sig, jd_signal_handler cb, void *userdata)
{
        sigset_t mask;
        jd_source *s;
        int fd;

        if (!cb || sig <= 0 || sig >= _NSIG)
                return -EINVAL;
        /* One signalfd for all of them, as its mask grows. */
        if (l->sigfd)
                mask = l->sigmask;
        else
                sigemptyset(&mask);
        if (sigaddset(&mask, sig) < 0)
                return -EINVAL;
        fd = signalfd(l->sigfd ? l->sigfd->fd : -1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (!l->sigfd) {
                int r = source_add(l, NULL, SOURCE_SIGNALFD, fd, true, EPOLLIN, NULL, &l->sigfd);

                if (r < 0) {
                        close(fd);
                        return r;
                }
        }
        l->sigmask = mask;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (jd_source) { .loop = l, .kind = SOURCE_SIGNAL, .fd = -1, .cb.signal = cb, .userdata = userdata,
                           .sig = sig, .next = l->sources };
        l->sources = s;
        if (ret)
                *ret = s;
        return 0;
}

static void dispatch_signal(jd_loop *l, const struct signalfd_siginfo *si)
{
        for (jd_source *s = l->sources; s; s = s->next)
                if (s->kind == SOURCE_SIGNAL && !s->dead && s->sig == (int) si->ssi_signo) {
                        (void) s->cb.signal(s, si, s->userdata);
                        return;
                }
}

jd_source *jd_source_free(jd_source *s)
{
        if (!s || s->dead)
                return NULL;
        s->dead = true;
        if (s->fd >= 0)
                (void) epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        /* Its fd goes now: a handler that frees a source and opens a new
         * one gets the number back, as with any close(). */
        if (s->own_fd && s->fd >= 0)
                close(s->fd);
        s->fd = -1;
        if (!s->loop->dispatching)
                sweep(s->loop, false);
        return NULL;
}

void jd_loop_exit(jd_loop *l, int code)
{
        l->exiting = true;
        l->exit_code = code;
}

static void dispatch(jd_source *s, uint32_t revents)
{
        switch (s->kind) {
        case SOURCE_IO:
                (void) s->cb.io(s, s->fd, revents, s->userdata);
                break;
        case SOURCE_TIMER: {
                uint64_t ticks;

                /* One-shot: read (and so disarm) it, then call. */
                if (read(s->fd, &ticks, sizeof ticks) != (ssize_t) sizeof ticks)
                        return;
                (void) s->cb.time(s, jailer_now_monotonic_us(), s->userdata);
                break;
        }
        case SOURCE_SIGNALFD: {
                struct signalfd_siginfo si;

                while (!s->dead && !s->loop->exiting && read(s->fd, &si, sizeof si) == (ssize_t) sizeof si)
                        dispatch_signal(s->loop, &si);
                break;
        }
        default:
                break;
        }
}

int jd_loop_run(jd_loop *l)
{
        struct epoll_event ev[BATCH];

        while (!l->exiting) {
                int n = epoll_wait(l->epfd, ev, BATCH, -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                l->dispatching = true;
                for (int i = 0; i < n && !l->exiting; i++) {
                        jd_source *s = ev[i].data.ptr;

                        if (!s->dead)
                                dispatch(s, ev[i].events);
                }
                l->dispatching = false;
                sweep(l, false);
        }
        return l->exit_code;
}

/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's event loop: an epoll set of fds, one-shot CLOCK_MONOTONIC
 * timers (a timerfd each) and signals (one signalfd).
 *
 * A supervisor is forked per jail and watches a handful of sources (the
 * jail's pidfd, its two output pipes, control.sock and its connections, two
 * timers, two signals).  This is all it needs of an event loop; sd-event
 * would bring libsystemd, and with it five more shared libraries, into
 * every supervisor's address space, where each jail's clone3() copies and
 * its execve() tears down their mappings.
 *
 *     jd_loop *l;
 *     jd_source *s;
 *     jd_loop_new(&l);
 *     jd_loop_add_io(l, &s, fd, EPOLLIN, on_input, userdata);
 *     r = jd_loop_run(l);          // until a handler calls jd_loop_exit()
 *
 * Sources may be freed from any handler, their own included: the memory
 * goes after the current batch of events.  A source added with ret == NULL
 * belongs to the loop (freed with it, or by its handler).
 */
#ifndef JAILERD_EVLOOP_H
#define JAILERD_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

typedef struct jd_loop jd_loop;
typedef struct jd_source jd_source;

typedef int (*jd_io_handler)(jd_source *s, int fd, uint32_t revents, void *userdata);
typedef int (*jd_time_handler)(jd_source *s, uint64_t usec, void *userdata);
typedef int (*jd_signal_handler)(jd_source *s, const struct signalfd_siginfo *si, void *userdata);

int jd_loop_new(jd_loop **ret);
/* Frees every source still there (closing the fds they own). */
jd_loop *jd_loop_free(jd_loop *l);

/* Watch fd for events (EPOLLIN, ...); the fd stays the caller's unless
 * jd_source_set_fd_own(). */
int jd_loop_add_io(jd_loop *l, jd_source **ret, int fd, uint32_t events, jd_io_handler cb, void *userdata);
void jd_source_set_fd_own(jd_source *s, bool own);

/* Call cb once, at usec on CLOCK_MONOTONIC (jailer_now_monotonic_us() + delay). */
int jd_loop_add_timer(jd_loop *l, jd_source **ret, uint64_t usec, jd_time_handler cb, void *userdata);
/* Arm a timer source again (or anew), at usec. */
int jd_source_set_time(jd_source *s, uint64_t usec);

/* sig must be blocked already (sigprocmask), as for any signalfd. */
int jd_loop_add_signal(jd_loop *l, jd_source **ret, int sig, jd_signal_handler cb, void *userdata);

/* Stop watching; NULL, for s = jd_source_free(s). */
jd_source *jd_source_free(jd_source *s);

/* Dispatch until jd_loop_exit(); its code, or -errno if epoll failed. */
int jd_loop_run(jd_loop *l);
void jd_loop_exit(jd_loop *l, int code);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The supervisor launcher: one small root process, started by jailerd with
 * `jailer-supervisor --launcher FD`, that fork()s a supervisor per jail.  A
 * fork of a process that has already loaded the supervisor's libraries costs
 * neither an exec nor a dynamic load, and its pages are shared with the
 * launcher's until written; jailerd's own heap is in none of them.
 *
 * The channel is a SOCK_SEQPACKET socketpair, one request per message, one
 * reply each, in order:
 *
 *   launcher -> jailerd, once at start:   jd_launcher_reply {error, pid}
 *   jailerd -> launcher:                  jd_launcher_request, then
 *       int32 target[n_fds], then n_args NUL-terminated strings (the argv);
 *       SCM_RIGHTS: n_fds fds, fd i becomes fd target[i] in the supervisor
 *   launcher -> jailerd:                  jd_launcher_reply {0, pid} with the
 *       supervisor's pidfd (SCM_RIGHTS), or {errno, 0} and nothing runs
 *
 * The supervisor gets exactly those fds (and 0-2, the launcher's, which are
 * jailerd's), default signal dispositions, an empty signal mask, and
 * outlives both the launcher and jailerd.  The launcher reaps its children
 * and exits when the channel reaches its end.
 */
#ifndef JAILERD_LAUNCHER_H
#define JAILERD_LAUNCHER_H

#include <stdint.h>
#include <sys/types.h>

/* jailerd's side runs in its sd-event loop; the launcher process has none. */
typedef struct sd_event sd_event;

#define JD_LAUNCHER_MAGIC 0x4a4c4e31u          /* "JLN1" */
#define JD_LAUNCHER_MAX_FDS 250                /* under the kernel's SCM_MAX_FD (253) */
#define JD_LAUNCHER_MAX_MSG (64 * 1024)
#define JD_LAUNCHER_MAX_TARGET 1024            /* fd numbers the supervisor may be given */
#define JD_LAUNCHER_MAX_ARGS 1024
#define JD_LAUNCHER_CMDLINE_ROOM 8192          /* empty arguments: bytes for a supervisor's cmdline */

/* The whole environment of the launcher and of an exec'd supervisor (a
 * jail gets only its config's).  No malloc tcache: a supervisor lives as
 * long as its jail on what little it keeps after the start, and the chunks
 * the start freed would otherwise stay in the tcache, in use as far as
 * malloc_trim() knows, keeping 10 of its heap pages resident and its own
 * (pagemap); without it they coalesce and are handed back.  Nothing here
 * allocates often enough to miss it. */
#define JD_SUPERVISOR_ENVP { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", \
                             (char *) "GLIBC_TUNABLES=glibc.malloc.tcache_count=0", NULL }

typedef struct jd_launcher_request {
        uint32_t magic;
        uint32_t n_fds;
        uint32_t n_args;
        uint32_t args_len;                      /* bytes of the strings, NULs included */
} jd_launcher_request;

typedef struct jd_launcher_reply {
        int32_t error;                          /* 0 or an errno */
        int32_t pid;
} jd_launcher_reply;

/* ---- jailerd's side */

typedef struct jd_launcher jd_launcher;

/* Start the launcher (the supervisor executable at path) and wait for its
 * greeting.  0, or -errno with nothing left running. */
int jd_launcher_new(sd_event *event, const char *path, jd_launcher **ret);

/* Start a supervisor: argv, and fds[i] as fd targets[i] (3 <= target <
 * JD_LAUNCHER_MAX_TARGET).  On success *ret_pidfd pins the supervisor, which
 * is not jailerd's child.  -EHOSTDOWN: nothing was started, exec it instead
 * (no launcher, or it declined; a launcher found gone is replaced once, and
 * when that fails too there is none from then on).  -EIO: the launcher got
 * the request and did not answer: a supervisor may run, start no other. */
int jd_launcher_spawn(jd_launcher *l, char *const *argv, const int *fds, const int *targets, size_t n_fds,
                      pid_t *ret_pid, int *ret_pidfd);

/* Close the channel: the launcher exits, the supervisors go on. */
jd_launcher *jd_launcher_free(jd_launcher *l);

/* ---- the launcher process (jailer-supervisor --launcher FD) */

/* What the launcher runs for a request. */
typedef struct jd_launcher_ops {
        /* In the launcher, before the fork (may be NULL): work the child
         * would otherwise do in a fresh copy of our memory, paying a
         * copy-on-write fault for every page it writes.  What it returns
         * is the child's to use, and is released in the launcher after
         * the fork.  NULL: nothing (the child does it all). */
        void *(*prepare)(char *const *argv, size_t argc);
        void (*release)(void *prepared);
        /* In the child: the supervisor; its return is the exit status. */
        int (*run)(int argc, char **argv, void *prepared);
} jd_launcher_ops;

/* argv: jailer-supervisor --launcher FD ["" ...].  Serve the channel FD
 * until it ends; each request is a child running ops->run(). */
int jd_launcher_main(int argc, char **argv, const jd_launcher_ops *ops);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A jail's state directory, <state-dir>/jails/<id>/ (0700, root), shared by
 * jailerd and the jail's supervisor:
 *
 *   config.json    the jail config, written by jailerd before it starts the
 *                  supervisor (jail_root and cgroup_parent filled in)
 *   state.json     written atomically by the supervisor: first when it
 *                  starts ("starting"), again once the program runs
 *                  ("running"); names the supervisor (pid + start time, so
 *                  that a restarted jailerd can tell it from a reused pid),
 *                  the jail's pid and cgroup, who created it
 *   control.sock   the supervisor's control socket (SOCK_SEQPACKET, root only)
 *   console.log    the jail's stdout/stderr when the client passed no fds,
 *                  byte for byte as read, capped at JD_CONSOLE_LOG_MAX bytes
 *                  (the `logs` method reads it)
 *   report.json    the exit report, written atomically once by the
 *                  supervisor just before it exits
 *   record.json    jailerd's own: the numbers of the jail's started and
 *                  exited events (so that a restarted jailerd neither
 *                  repeats an event nor loses one), when the exit was seen,
 *                  and why the jail was lost when its supervisor died
 *                  without a report
 *
 * jailerd removes the directory when the report's retention ends; the
 * supervisor removes it itself when the jail could not be started.
 */
#ifndef JAILERD_STATE_H
#define JAILERD_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jailer.h"

#define JD_CONFIG_FILE "config.json"
#define JD_STATE_FILE "state.json"
#define JD_REPORT_FILE "report.json"
#define JD_RECORD_FILE "record.json"
#define JD_CONTROL_SOCKET "control.sock"
#define JD_CONSOLE_LOG "console.log"
#define JD_CONSOLE_LOG_MAX (1024 * 1024)

/* fds the supervisor gets from jailerd (fixed numbers, see supervisor.c) */
#define JD_SUPERVISOR_NOTIFY_FD 3
#define JD_SUPERVISOR_STDIO_FD 4        /* 4, 5, 6: the jail's stdin, stdout, stderr */

typedef enum jd_phase {
        JD_PHASE_STARTING,
        JD_PHASE_RUNNING,
        JD_PHASE_PREPARED,              /* ready to run, waiting for "start" */
} jd_phase;

typedef struct jd_state {
        char id[JAILER_ID_MAX + 1];
        jd_phase phase;
        pid_t supervisor_pid;
        uint64_t supervisor_starttime;  /* /proc/PID/stat field 22 */
        pid_t jail_pid;                 /* 0 while starting */
        char *cgroup_path;              /* jailer_jail_cgroup_path(), NULL while starting */
        uid_t owner_uid;                /* SO_PEERCRED of the creating client */
        pid_t owner_pid;
        uint64_t created_at_us;         /* CLOCK_REALTIME */
        uint64_t started_at_us;         /* CLOCK_REALTIME, 0 while starting or prepared */
        char *jail_dir;                 /* a jail root jailerd made for this jail, removed at the end */
        bool own_stdio;                 /* the client passed its stdio fds */
} jd_state;

void jd_state_done(jd_state *s);
/* Atomically (re)write state.json in the directory dirfd. */
int jd_state_write(int dirfd, const jd_state *s);
/* 0, or -errno (-ENOENT: no state.json, -EBADMSG: unreadable). */
int jd_state_read(int dirfd, jd_state *s);

/* record.json.  A number 0 means "no such event yet". */
typedef struct jd_record {
        uint64_t started_seq;
        uint64_t exited_seq;
        uint64_t exited_at_us;          /* CLOCK_REALTIME, when the exit (or the loss) was seen */
        char *lost;                     /* why the jail was lost, or NULL */
} jd_record;

void jd_record_done(jd_record *r);
int jd_record_write(int dirfd, const jd_record *r);
/* 0, or -errno (-ENOENT: none yet, -EBADMSG: unreadable). */
int jd_record_read(int dirfd, jd_record *r);

/* Is the process the state names still the supervisor it was?  pid alive
 * and same start time. */
bool jd_state_supervisor_alive(const jd_state *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Structured logging for jailerd and jailer-supervisor: journald entries with
 * our own fields (JAIL_ID=, JAIL_PID=, PEER_UID=, ...) and a stable
 * MESSAGE_ID= per kind of event, or one line on stderr when journald is not
 * there.
 *
 *     jd_entry e = JD_ENTRY_INIT;
 *     jd_entry_add(&e, "JAIL_ID=%s", id);
 *     jd_entry_add(&e, "JAIL_PID=%d", pid);
 *     jd_entry_submit(&e, JD_EV_STARTED, LOG_INFO, "Jail %s started as pid %d", id, pid);
 */
#ifndef JAILERD_LOG_H
#define JAILERD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "jailer.h"
#include "macro.h"

typedef enum jd_event {
        JD_EV_NONE = 0,         /* a plain message, no MESSAGE_ID */
        JD_EV_REQUEST,          /* a client request was received */
        JD_EV_REFUSED,          /* a request was refused (policy, config, limits) */
        JD_EV_STARTED,          /* a jail's program was exec'd */
        JD_EV_FAILED,           /* a jail could not be started */
        JD_EV_EXITED,           /* a jail ended; its report is in */
        JD_EV_KILL,             /* a signal was sent to a jail (by request, escalation or timeout) */
        JD_EV_REATTACHED,       /* a running jail was found again after a daemon restart */
        JD_EV_CLEANUP,          /* leftovers of a jail that is gone were removed */
        JD_EV_OUTPUT,           /* one line the jailed program wrote to stdout/stderr */
        JD_EV_DAEMON,           /* the daemon started or stopped */
        JD_EV_LOST,             /* a jail's supervisor died without its report: the jail was killed */
        _JD_EV_MAX,
} jd_event;

/* "started", "exited", ...: the JAILER_EVENT= field. */
const char *jd_event_name(jd_event ev);
/* The MESSAGE_ID of an event kind (32 lower-case hex digits), NULL for JD_EV_NONE. */
const char *jd_event_message_id(jd_event ev);

/* Decide once where log entries go: journald when its socket exists, else
 * stderr.  ident is SYSLOG_IDENTIFIER and the stderr prefix. */
void jd_log_open(const char *ident);
/* Whether jd_log_open() has run in this process (or in the one that forked it). */
bool jd_log_is_open(void);
bool jd_log_to_journal(void);
/* Learn (again) the systemd unit this process runs in, which every entry
 * then names in OBJECT_SYSTEMD_UNIT= (jd_log_open() does it once). */
void jd_log_name_unit(void);
/* "OBJECT_SYSTEMD_UNIT=unit", or NULL outside a unit. */
const char *jd_log_unit_field(void);
/* Raise the stderr threshold (LOG_DEBUG shows everything). */
void jd_log_set_max_priority(int prio);

#define JD_ENTRY_MAX_FIELDS 24

typedef struct jd_entry {
        char *fields[JD_ENTRY_MAX_FIELDS]; /* "KEY=value", malloc'd */
        size_t n;
} jd_entry;

#define JD_ENTRY_INIT { .n = 0 }

/* Add one "KEY=value" field; silently dropped on ENOMEM or when full. */
void jd_entry_add(jd_entry *e, const char *fmt, ...) _printf_(2, 3);
/* Log the entry with MESSAGE=, PRIORITY=, MESSAGE_ID=, JAILER_EVENT= and
 * free its fields. */
void jd_entry_submit(jd_entry *e, jd_event ev, int prio, const char *fmt, ...) _printf_(4, 5);
/* The entry to journald only, whatever the threshold; -errno when there is
 * no journald or it cannot be reached, and the caller says it its own way.
 * Frees the fields either way. */
int jd_entry_journal(jd_entry *e, jd_event ev, int prio, const char *fmt, ...) _printf_(4, 5);
/* Free the fields without logging. */
void jd_entry_clear(jd_entry *e);

/* A plain message. */
void jd_log(int prio, const char *fmt, ...) _printf_(2, 3);

#define log_debug(...) jd_log(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) jd_log(LOG_INFO, __VA_ARGS__)
#define log_notice(...) jd_log(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) jd_log(LOG_WARNING, __VA_ARGS__)
#define log_error(...) jd_log(LOG_ERR, __VA_ARGS__)

#endif

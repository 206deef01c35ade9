/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "journal.h"

/* Generated once with `systemd-id128 new`; never change them: users filter
 * on them (journalctl MESSAGE_ID=...). */
static const struct {
        const char *name;
        const char *id;
} events[_JD_EV_MAX] = {
        [JD_EV_NONE] = { NULL, NULL },
        [JD_EV_REQUEST] = { "request", "6cccce46a9e54ef8b8fac72853c41215" },
        [JD_EV_REFUSED] = { "refused", "e004a07453bf41c09776129a0a585db9" },
        [JD_EV_STARTED] = { "started", "191432ec9359491ebf22c7931eb96f38" },
        [JD_EV_FAILED] = { "failed", "8d31da58d2f84f40ad71576424ab73a2" },
        [JD_EV_EXITED] = { "exited", "d4b88583c77d4ce184dad29392eae860" },
        [JD_EV_KILL] = { "kill", "ad5c6494d31641cfab28fdeba2ae4714" },
        [JD_EV_REATTACHED] = { "reattached", "6c9f6f89ad1b480aa2d7c4b2c07a6271" },
        [JD_EV_CLEANUP] = { "cleanup", "f167f79ee16545ce900d8fb271f043c0" },
        [JD_EV_OUTPUT] = { "output", "f4461838a72247059646a77a32c37c5f" },
        [JD_EV_DAEMON] = { "daemon", "a9a68f4ed0f04092842af10300a49f46" },
        [JD_EV_LOST] = { "lost", "677eab1165704860811bbce827221fd3" },
};

static const char *log_ident = "jailerd";
static bool log_opened;
static bool log_journal;
/* "OBJECT_SYSTEMD_UNIT=<our unit>", or NULL outside a unit. */
static char *log_unit_field;
static int log_max_prio = LOG_INFO;

const char *jd_event_name(jd_event ev)
{
        return ev > JD_EV_NONE && ev < _JD_EV_MAX ? events[ev].name : NULL;
}

const char *jd_event_message_id(jd_event ev)
{
        return ev > JD_EV_NONE && ev < _JD_EV_MAX ? events[ev].id : NULL;
}

void jd_log_open(const char *ident)
{
        struct stat st;

        log_ident = ident;
        log_opened = true;
        /* journald can run without systemd as PID 1 (a private instance in
         * a test's mount namespace): its socket decides, not PID 1. */
        log_journal = stat(JD_JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
        jd_log_name_unit();
}

bool jd_log_is_open(void)
{
        return log_opened;
}

void jd_log_name_unit(void)
{
        _cleanup_free_ char *unit = NULL;

        /* journald learns a sender's unit from its /proc/PID/cgroup when it
         * reads the entry: a supervisor that has exited by then (a short
         * jail, a slow journald) leaves its entries without _SYSTEMD_UNIT,
         * and `journalctl -u jailerd` misses them.  Root's entries that
         * name the unit themselves are matched by -u all the same. */
        free(log_unit_field);
        log_unit_field = NULL;
        if (jd_unit_of_self(&unit) >= 0 && asprintf(&log_unit_field, "OBJECT_SYSTEMD_UNIT=%s", unit) < 0)
                log_unit_field = NULL;
}

const char *jd_log_unit_field(void)
{
        return log_unit_field;
}

bool jd_log_to_journal(void)
{
        return log_journal;
}

void jd_log_set_max_priority(int prio)
{
        log_max_prio = prio;
}

void jd_entry_add(jd_entry *e, const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        if (e->n >= JD_ENTRY_MAX_FIELDS)
                return;
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        e->fields[e->n++] = s;
}

void jd_entry_clear(jd_entry *e)
{
        for (size_t i = 0; i < e->n; i++)
                free(e->fields[i]);
        e->n = 0;
}

static void submit_stderr(const jd_entry *e, jd_event ev, int prio, const char *msg)
{
        /* One line, the fields after the message so that a human reads the
         * message first and grep finds JAIL_ID=x all the same. */
        char buf[8192];
        size_t off = 0;
        int r;

        r = snprintf(buf, sizeof buf, "%s[%d]: %s", log_ident, (int) getpid(), msg);
        if (r < 0)
                return;
        off = (size_t) r < sizeof buf ? (size_t) r : sizeof buf - 1;
        for (size_t i = 0; i < e->n && off < sizeof buf - 1; i++) {
                r = snprintf(buf + off, sizeof buf - off, " %s", e->fields[i]);
                if (r < 0)
                        break;
                off += (size_t) r < sizeof buf - off ? (size_t) r : sizeof buf - off - 1;
        }
        if (ev != JD_EV_NONE && off < sizeof buf - 1) {
                r = snprintf(buf + off, sizeof buf - off, " JAILER_EVENT=%s", jd_event_name(ev));
                if (r > 0)
                        off += (size_t) r < sizeof buf - off ? (size_t) r : sizeof buf - off - 1;
        }
        buf[off] = '\0';
        fprintf(stderr, "%s\n", buf);
}

static int submit_journal(const jd_entry *e, jd_event ev, int prio, const char *msg)
{
        struct iovec iov[JD_ENTRY_MAX_FIELDS + 7];
        _cleanup_free_ char *m = NULL, *p = NULL, *id = NULL, *ident = NULL, *evname = NULL;
        size_t n = 0;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0 ||
            asprintf(&p, "PRIORITY=%d", prio) < 0 ||
            asprintf(&ident, "SYSLOG_IDENTIFIER=%s", log_ident) < 0)
                return -ENOMEM;
        iov[n++] = (struct iovec) { m, strlen(m) };
        iov[n++] = (struct iovec) { p, strlen(p) };
        iov[n++] = (struct iovec) { ident, strlen(ident) };
        if (ev != JD_EV_NONE) {
                if (asprintf(&id, "MESSAGE_ID=%s", jd_event_message_id(ev)) < 0 ||
                    asprintf(&evname, "JAILER_EVENT=%s", jd_event_name(ev)) < 0)
                        return -ENOMEM;
                iov[n++] = (struct iovec) { id, strlen(id) };
                iov[n++] = (struct iovec) { evname, strlen(evname) };
        }
        for (size_t i = 0; i < e->n; i++)
                iov[n++] = (struct iovec) { e->fields[i], strlen(e->fields[i]) };
        if (log_unit_field)
                iov[n++] = (struct iovec) { log_unit_field, strlen(log_unit_field) };

        return jd_journal_sendv(iov, n);
}

static void submit(jd_entry *e, jd_event ev, int prio, const char *msg)
{
        if (prio > log_max_prio)
                ;
        else if (!log_journal || submit_journal(e, ev, prio, msg) < 0)
                submit_stderr(e, ev, prio, msg);
        jd_entry_clear(e);
}

void jd_entry_submit(jd_entry *e, jd_event ev, int prio, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                msg = NULL;
        submit(e, ev, prio, msg ? msg : fmt);
}

int jd_entry_journal(jd_entry *e, jd_event ev, int prio, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (!log_journal)
                r = -ENOTCONN;
        else
                r = r < 0 ? -ENOMEM : submit_journal(e, ev, prio, msg);
        jd_entry_clear(e);
        return r;
}

void jd_log(int prio, const char *fmt, ...)
{
        jd_entry e = JD_ENTRY_INIT;
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                msg = NULL;
        submit(&e, JD_EV_NONE, prio, msg ? msg : fmt);
}

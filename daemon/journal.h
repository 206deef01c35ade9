/* SPDX-License-Identifier: MIT */
/*
 * journald's native protocol and the service manager's notification socket,
 * spoken directly: what jailerd and every supervisor need of sd-journal,
 * sd-login and sd-daemon, without libsystemd in a supervisor's address space
 * (see evloop.h for why that matters).  The formats are systemd's stable,
 * documented interfaces: https://systemd.io/JOURNAL_NATIVE_PROTOCOL/ and
 * sd_notify(3).
 */
#ifndef JAILERD_JOURNAL_H
#define JAILERD_JOURNAL_H

#include <stddef.h>
#include <sys/uio.h>

#define JD_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* One entry: each iov is "FIELD=value" (the value may hold any byte,
 * newlines included).  0, or -errno: the caller falls back to stderr. */
int jd_journal_sendv(const struct iovec *iov, size_t n);

/* The systemd unit this process runs in ("jailerd.service"), from
 * /proc/self/cgroup; -ENXIO outside one. */
int jd_unit_of_self(char **ret);

/* sd_notify(): state to $NOTIFY_SOCKET.  0 when there is none. */
int jd_notify(const char *state);

#endif

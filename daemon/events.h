/* SPDX-License-Identifier: MIT */
/*
 * Numbered events.  Every `started` and `exited` notification carries a
 * cursor, "EPOCH:SEQ": SEQ grows by one per event and never goes back
 * while the state directory lives; EPOCH names the state directory's life
 * (made afresh when it is empty, i.e. after a reboot).  A jail's numbers are
 * kept in its record.json and the highest number given out so far in
 * <state_dir>/events whenever a record goes, so that a restarted jailerd
 * goes on counting where the last one stopped.  A subscriber that comes back
 * with the cursor of the last event it read is sent, from the jails whose
 * records are kept, exactly the events it has not seen, in order.
 */
#ifndef JAILERD_EVENTS_H
#define JAILERD_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"

#define JD_CURSOR_MAX 48

/* Read (or start) <state_dir>/events: the epoch and the floor of SEQ. */
int jd_events_init(jd_daemon *d);
/* A number seen in a kept record (at recovery): never give it out again. */
void jd_events_seen(jd_daemon *d, uint64_t seq);
uint64_t jd_events_next(jd_daemon *d);
/* A record with numbers up to seq is about to go: save the floor unless it
 * covers seq already, so that no number is given out twice. */
void jd_events_forget(jd_daemon *d, uint64_t seq);

void jd_cursor_format(const jd_daemon *d, uint64_t seq, char buf[static JD_CURSOR_MAX]);
/* The events after which a cursor stands: 0 for another epoch's cursor (all
 * kept events are new to its holder).  -EINVAL when it is not a cursor. */
int jd_cursor_parse(const jd_daemon *d, const char *s, uint64_t *after);

/* Every kept event numbered after `after` of a jail peer may see, in
 * order: emit(jail, exited, userdata) for each. */
void jd_events_replay(const jd_daemon *d, const jd_peer *peer, uint64_t after,
                      void (*emit)(const jd_jail *j, bool exited, void *userdata), void *userdata);

#endif

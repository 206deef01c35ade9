/* SPDX-License-Identifier: MIT */
#include "events.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fsutil.h"
#include "log.h"
#include "policy.h"
#include "state.h"

#define EVENTS_FILE "events"

_Static_assert(JD_EPOCH_LEN == 32, "the sscanf() width below");

static bool epoch_valid(const char *s)
{
        if (strlen(s) != JD_EPOCH_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static int epoch_new(char epoch[static JD_EPOCH_LEN + 1])
{
        uint8_t b[JD_EPOCH_LEN / 2];

        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
                return -errno;
        for (size_t i = 0; i < sizeof b; i++)
                snprintf(epoch + 2 * i, 3, "%02x", b[i]);
        return 0;
}

/* The highest number in any kept record: a jailerd killed before it saved
 * the floor gave them out. */
static void seen_in_records(jd_daemon *d)
{
        DIR *dir = opendir(d->jails_state_dir);
        struct dirent *de;

        if (!dir)
                return;
        while ((de = readdir(dir))) {
                _cleanup_close_ int dfd = -1;
                jd_record rec;

                if (de->d_name[0] == '.')
                        continue;
                dfd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0 || jd_record_read(dfd, &rec) < 0)
                        continue;
                jd_events_seen(d, rec.started_seq);
                jd_events_seen(d, rec.exited_seq);
                jd_record_done(&rec);
        }
        closedir(dir);
}

/* Keep the highest number given out. */
static void events_save(jd_daemon *d)
{
        char buf[JD_EPOCH_LEN + 32];
        int n, r;

        n = snprintf(buf, sizeof buf, "%s %" PRIu64 "\n", d->event_epoch, d->event_seq);
        r = jd_write_atomic_at(d->state_dirfd, EVENTS_FILE, buf, (size_t) n, 0600);
        if (r < 0)
                log_warning("%s/%s: %s", d->opt.state_dir, EVENTS_FILE, strerror(-r));
        else
                d->event_saved = d->event_seq;
}

int jd_events_init(jd_daemon *d)
{
        _cleanup_free_ char *buf = NULL;
        char epoch[JD_EPOCH_LEN + 1];
        uint64_t floor;
        int r;

        r = jd_read_file_at(d->state_dirfd, EVENTS_FILE, 256, &buf, NULL);
        if (r >= 0 && sscanf(buf, "%32s %" SCNu64, epoch, &floor) == 2 &&
            epoch_valid(epoch)) {
                memcpy(d->event_epoch, epoch, sizeof epoch);
                d->event_seq = d->event_saved = floor;
                seen_in_records(d);
                return 0;
        }
        if (r >= 0)
                log_warning("%s/%s is not what jailerd writes: event numbers start again", d->opt.state_dir,
                            EVENTS_FILE);
        r = epoch_new(d->event_epoch);
        if (r < 0)
                return r;
        d->event_seq = 0;
        seen_in_records(d);
        events_save(d);
        return 0;
}

void jd_events_forget(jd_daemon *d, uint64_t seq)
{
        /* The floor saved is the highest number given out when it was
         * saved: every record removed since with a number under it is
         * covered already.  Saved once per batch of removals (per
         * retention period when jails come and go steadily), not once per
         * jail. */
        if (seq > d->event_saved)
                events_save(d);
}

void jd_events_seen(jd_daemon *d, uint64_t seq)
{
        if (seq > d->event_seq)
                d->event_seq = seq;
}

uint64_t jd_events_next(jd_daemon *d)
{
        return ++d->event_seq;
}

void jd_cursor_format(const jd_daemon *d, uint64_t seq, char buf[static JD_CURSOR_MAX])
{
        snprintf(buf, JD_CURSOR_MAX, "%s:%" PRIu64, d->event_epoch, seq);
}

int jd_cursor_parse(const jd_daemon *d, const char *s, uint64_t *after)
{
        const char *colon = strchr(s, ':');
        char epoch[JD_EPOCH_LEN + 1];
        char *end;
        uint64_t seq;

        if (!colon || (size_t) (colon - s) != JD_EPOCH_LEN)
                return -EINVAL;
        memcpy(epoch, s, JD_EPOCH_LEN);
        epoch[JD_EPOCH_LEN] = '\0';
        if (!epoch_valid(epoch) || colon[1] < '0' || colon[1] > '9')
                return -EINVAL;
        errno = 0;
        seq = strtoull(colon + 1, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *after = strcmp(epoch, d->event_epoch) == 0 ? seq : 0;
        return 0;
}

typedef struct replay_item {
        uint64_t seq;
        const jd_jail *jail;
        bool exited;
} replay_item;

static int item_cmp(const void *a, const void *b)
{
        const replay_item *x = a, *y = b;

        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void jd_events_replay(const jd_daemon *d, const jd_peer *peer, uint64_t after,
                      void (*emit)(const jd_jail *j, bool exited, void *userdata), void *userdata)
{
        _cleanup_free_ replay_item *items = NULL;
        size_t n = 0, max = 0;

        for (const jd_jail *j = d->jails; j; j = j->next)
                max += 2;
        if (!max)
                return;
        items = calloc(max, sizeof *items);
        if (!items) {
                log_error("cannot replay events to a subscriber: out of memory");
                return;
        }
        for (const jd_jail *j = d->jails; j; j = j->next) {
                if (!jd_policy_may_see(d, peer, j->owner_uid))
                        continue;
                if (j->started_seq > after)
                        items[n++] = (replay_item) { j->started_seq, j, false };
                if (j->exited_seq > after)
                        items[n++] = (replay_item) { j->exited_seq, j, true };
        }
        qsort(items, n, sizeof *items, item_cmp);
        for (size_t i = 0; i < n; i++)
                emit(items[i].jail, items[i].exited, userdata);
}

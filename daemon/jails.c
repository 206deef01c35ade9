/* SPDX-License-Identifier: MIT */
/*
 * The jail table.  Each jail is held by its supervisor (supervisor.c), a
 * separate process jailerd execs per jail; jailerd only keeps a record that
 * it can always rebuild from the state directory:
 *
 *   create    mkdir <state>/jails/<id> (0700), write config.json, exec the
 *             supervisor with a SOCK_SEQPACKET start channel on fd 3 (and the
 *             client's stdio on 4-6), watch its pidfd
 *   started   the start channel says "started" (or the error): answer the
 *             create, log, tell subscribers
 *   control   kill and status go to the supervisor's control.sock, answered
 *             when it replies (never waited for in place)
 *   exited    the supervisor's pidfd fires: read report.json, answer
 *             waiters, log, tell subscribers, keep the report for
 *             --retention, then remove the state directory
 *   restart   jails_recover(): a directory whose flock is held has a live
 *             supervisor (reattach by pidfd_open + start-time check); one
 *             with a report ended while we were away; one with neither
 *             crashed: kill what is left in its cgroup, remove it all
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "daemon.h"
#include "events.h"
#include "fsutil.h"
#include "launcher.h"
#include "log.h"
#include "policy.h"
#include "siphash.h"
#include "state.h"
#include "svctl.h"

typedef struct jd_control {
        jd_daemon *daemon;
        jd_jail *jail;
        jd_pending *req;                /* NULL: our own request (stop on shutdown) */
        int fd;
        sd_event_source *src;
        sd_event_source *timer;
        struct jd_control *prev, *next;
} jd_control;

static int pidfd_open_(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* ------------------------------------------------------------------ pending requests */

jd_pending *jd_pending_new(jd_client *c, json_object *id, jl_method method)
{
        jd_pending *p = calloc(1, sizeof *p);

        if (!p)
                return NULL;
        p->client = c;
        p->id = json_object_get(id);
        p->method = method;
        if (c)
                c->n_pending++;
        return p;
}

void jd_pending_free(jd_pending *p)
{
        if (!p)
                return;
        json_object_put(p->id);
        free(p);
}

/* Send msg (a whole reply) to p's client, if it is still there, and free p. */
static void pending_send(jd_daemon *d, jd_pending *p, json_object *msg)
{
        jd_client *c = p->client;

        if (c) {
                d->hooks->hold(c);
                d->hooks->send(c, msg);
                d->hooks->request_done(c);
                d->hooks->release(c);
        } else
                json_object_put(msg);
        jd_pending_free(p);
}

/* Answer and free. */
static void pending_reply(jd_daemon *d, jd_pending *p, json_object *result)
{
        pending_send(d, p, jl_reply_result(p->id, result));
}

static void pending_error(jd_daemon *d, jd_pending *p, const jl_rpc_error *e)
{
        pending_send(d, p, jl_reply_error(p->id, e));
}

/* ------------------------------------------------------------------ the table */

/* The jails by id: every request names one, and ended jails are kept
 * for --retention (thousands, under load).  Clients choose the ids: the
 * hash is keyed (SipHash, a random key), so that no client can pick ids
 * that fill one bucket and make every lookup in it a walk. */
static size_t id_hash(const uint8_t key[static JD_SIPHASH_KEY_SIZE], const char *id)
{
        return (size_t) jd_siphash24(id, strlen(id), key);
}

/* A table of twice the buckets (64 to begin with), made from d->jails
 * under a new key.  Without the memory, the table stays as it is (longer
 * chains, the same answers) and this returns false.  Without randomness
 * (getrandom() before the pool is ready, in early boot) the key stays. */
static bool index_rebuild(jd_daemon *d)
{
        size_t size = d->jail_index_size ? 2 * d->jail_index_size : 64;
        jd_jail **t = calloc(size, sizeof *t);
        uint8_t key[JD_SIPHASH_KEY_SIZE];

        if (!t)
                return false;
        if (getrandom(key, sizeof key, GRND_NONBLOCK) != (ssize_t) sizeof key)
                memcpy(key, d->jail_index_key, sizeof key);
        for (jd_jail *j = d->jails; j; j = j->next) {
                size_t b = id_hash(key, j->id) & (size - 1);

                j->index_next = t[b];
                t[b] = j;
        }
        free(d->jail_index);
        d->jail_index = t;
        d->jail_index_size = size;
        memcpy(d->jail_index_key, key, sizeof key);
        return true;
}

/* j is on d->jails, and counted, already. */
static void index_add(jd_daemon *d, jd_jail *j)
{
        size_t b;

        if (d->n_starting + d->n_running + d->n_exited > d->jail_index_size && index_rebuild(d))
                return;         /* j is in */
        if (!d->jail_index)
                return;         /* jd_jail_find() walks the list */
        b = id_hash(d->jail_index_key, j->id) & (d->jail_index_size - 1);
        j->index_next = d->jail_index[b];
        d->jail_index[b] = j;
}

static void index_remove(jd_daemon *d, jd_jail *j)
{
        if (!d->jail_index)
                return;
        for (jd_jail **p = &d->jail_index[id_hash(d->jail_index_key, j->id) & (d->jail_index_size - 1)]; *p;
             p = &(*p)->index_next)
                if (*p == j) {
                        *p = j->index_next;
                        break;
                }
        j->index_next = NULL;
}

jd_jail *jd_jail_find(jd_daemon *d, const char *id)
{
        if (!d->jail_index) {
                /* No table (no memory for one yet): the list has them all. */
                for (jd_jail *j = d->jails; j; j = j->next)
                        if (strcmp(j->id, id) == 0)
                                return j;
                return NULL;
        }
        for (jd_jail *j = d->jail_index[id_hash(d->jail_index_key, id) & (d->jail_index_size - 1)]; j;
             j = j->index_next)
                if (strcmp(j->id, id) == 0)
                        return j;
        return NULL;
}

bool jd_jail_visible(const jd_jail *j, const jd_peer *p)
{
        return jd_policy_may_see(j->daemon, p, j->owner_uid);
}

/* The uid and gid a jail runs as and its jail root, from the config.json
 * jailerd wrote for it: a restarted jailerd knows which uids jails hold
 * (uid allocation must not hand them out again) and where their roots are
 * (no other client may bind them). */
/* Which cpus a jail is pinned to, and whether alone: a restarted jailerd
 * still keeps other jails off an exclusive jail's cpus. */
static int jd_jail_set_cpus(jd_jail *j, const jailer_config *c)
{
        const char *cpus = jailer_config_get_cpus(c);

        free(j->cpus);
        j->cpus = cpus ? strdup(cpus) : NULL;
        j->cpus_exclusive = cpus && jailer_config_get_cpus_exclusive(c);
        return cpus && !j->cpus ? -1 : 0;
}

static void read_jail_ids(jd_jail *j, int dfd)
{
        _cleanup_free_ char *buf = NULL;
        jailer_config *c = NULL;
        jailer_error je = { 0 };
        size_t len;

        if (jd_read_file_at(dfd, JD_CONFIG_FILE, 4 * 1024 * 1024, &buf, &len) < 0 ||
            jailer_config_from_json(buf, len, &c, &je) < 0) {
                log_warning("jail %s: cannot read its uid from %s/%s%s%s", j->id, j->state_dir, JD_CONFIG_FILE,
                            je.message[0] ? ": " : "", je.message);
                return;
        }
        j->uid = jailer_config_get_uid(c);
        j->gid = jailer_config_get_gid(c);
        j->has_ids = true;
        if (jailer_config_get_jail_root(c) && !j->jail_root)
                j->jail_root = strdup(jailer_config_get_jail_root(c));
        jd_jail_set_cpus(j, c);
        jailer_config_free(c);
}

/* An ended jail's report.  It is malloc'd then, not carried by every
 * running jail (half a KiB each, thousands of them); when that malloc
 * failed, a report that says nothing but the failure. */
static const jailer_report *jail_report(const jd_jail *j)
{
        static const jailer_report none = { .exit_code = -1, .pids_peak = -1 };

        return j->report ?: &none;
}

/* Keep a copy of r as j's report: 0, or -ENOMEM (j's report unchanged). */
static int report_set(jd_jail *j, const jailer_report *r)
{
        jailer_report *copy = malloc(sizeof *copy);

        if (!copy)
                return -ENOMEM;
        *copy = *r;
        free(j->report);
        j->report = copy;
        return 0;
}

static json_object *jail_info(const jd_jail *j, const jailer_usage *usage, const jailer_report *figures,
                              bool as_started)
{
        jl_jail_info i = {
                .pid = j->pid,
                .started_at_us = j->started_at_us,
                .uid = j->owner_uid,
        };
        bool ended = !as_started && j->state == JD_JAIL_EXITED;
        json_object *o;
        char ts[32];

        snprintf(i.jail, sizeof i.jail, "%s", j->id);
        if (ended)
                i.state = j->lost ? JL_JAIL_LOST : JL_JAIL_EXITED;
        else
                i.state = !as_started && j->state == JD_JAIL_PREPARED ? JL_JAIL_PREPARED : JL_JAIL_RUNNING;
        if (usage) {
                i.has_usage = true;
                i.usage = *usage;
        }
        if (usage && figures) {
                i.has_figures = true;
                i.figures = *figures;
        }
        if (ended && !j->lost) {
                i.has_report = true;
                i.report = *jail_report(j);
        }
        o = jl_jail_info_to_json(&i);
        if (o && ended && j->lost)
                json_object_object_add(o, "error", json_object_new_string(j->lost));
        if (o && ended && j->exited_at_us && jl_format_rfc3339(j->exited_at_us, ts) == 0)
                json_object_object_add(o, "exited_at", json_object_new_string(ts));
        return o;
}

json_object *jd_jail_info(const jd_jail *j, const jailer_usage *usage, const jailer_report *figures)
{
        return jail_info(j, usage, figures, false);
}

json_object *jd_jail_event_params(const jd_jail *j, bool exited)
{
        json_object *o = jail_info(j, NULL, NULL, !exited);
        char cursor[JD_CURSOR_MAX];

        jd_cursor_format(j->daemon, exited ? j->exited_seq : j->started_seq, cursor);
        if (o)
                json_object_object_add(o, "cursor", json_object_new_string(cursor));
        return o;
}

/* The answer to a wait for a lost jail: an error that says what is known. */
static json_object *lost_error(const jd_jail *j, json_object *id)
{
        json_object *msg, *error, *data;
        jl_rpc_error e;
        char ts[32];

        jl_rpc_error_set(&e, JL_RPC_LOST, NULL, "jail",
                         "jail %s was lost: %s; its program (pid %d) was killed with its cgroup, its exit status "
                         "is not known",
                         j->id, j->lost, (int) j->pid);
        msg = jl_reply_error(id, &e);
        if (msg && json_object_object_get_ex(msg, "error", &error) && json_object_object_get_ex(error, "data", &data)) {
                json_object_object_add(data, "jail", json_object_new_string(j->id));
                json_object_object_add(data, "pid", json_object_new_int64(j->pid));
                if (j->started_at_us && jl_format_rfc3339(j->started_at_us, ts) == 0)
                        json_object_object_add(data, "started_at", json_object_new_string(ts));
                json_object_object_add(data, "killed", json_object_new_boolean(true));
        }
        return msg;
}

static void count(jd_daemon *d, jd_jail_state s, int delta)
{
        unsigned *n = s == JD_JAIL_STARTING || s == JD_JAIL_PREPARED ? &d->n_starting :
                      s == JD_JAIL_RUNNING                             ? &d->n_running :
                                                                         &d->n_exited;

        *n = (unsigned) ((int) *n + delta);
}

static void set_state(jd_jail *j, jd_jail_state s)
{
        if (s != JD_JAIL_PREPARED && j->release_fd >= 0) {
                close(j->release_fd);
                j->release_fd = -1;
        }
        count(j->daemon, j->state, -1);
        j->state = s;
        count(j->daemon, s, +1);
        j->daemon->hooks->changed(j->daemon);
}

static jd_jail *jail_new(jd_daemon *d, const char *id, jd_jail_state state)
{
        jd_jail *j = calloc(1, sizeof *j);

        if (!j)
                return NULL;
        j->daemon = d;
        snprintf(j->id, sizeof j->id, "%s", id);
        j->state = state;
        j->supervisor_pidfd = -1;
        j->notify_fd = -1;
        j->release_fd = -1;
        j->netns_fd = -1;
        if (asprintf(&j->state_dir, "%s/%s", d->jails_state_dir, id) < 0) {
                free(j);
                return NULL;
        }
        j->next = d->jails;
        if (d->jails)
                d->jails->prev = j;
        d->jails = j;
        count(d, state, +1);
        index_add(d, j);
        return j;
}

static void control_finish(jd_control *ctl, json_object *result, const jl_rpc_error *e);

static void strv_free(char **v)
{
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

/* Drop a jail from the table; with remove_state, its state directory too. */
static void jail_free(jd_jail *j, bool remove_state)
{
        jd_daemon *d = j->daemon;
        jl_rpc_error e;
        int r;

        for (jd_control *ctl = d->controls, *next; ctl; ctl = next) {
                next = ctl->next;
                if (ctl->jail == j) {
                        jl_rpc_error_set(&e, JL_RPC_NOT_RUNNING, NULL, NULL, "jail %s is not running", j->id);
                        control_finish(ctl, NULL, &e);
                }
        }
        jl_rpc_error_set(&e, JL_RPC_SHUTTING_DOWN, NULL, NULL, "jailerd is stopping");
        if (j->create)
                pending_error(d, TAKE_PTR(j->create), &e);
        while (j->waiters) {
                jd_pending *p = j->waiters;

                j->waiters = p->next;
                pending_error(d, p, &e);
        }

        if (j->prev)
                j->prev->next = j->next;
        else
                d->jails = j->next;
        if (j->next)
                j->next->prev = j->prev;
        index_remove(d, j);
        count(d, j->state, -1);

        j->supervisor_src = sd_event_source_disable_unref(j->supervisor_src);
        if (j->supervisor_pidfd >= 0)
                close(j->supervisor_pidfd);
        j->notify_src = sd_event_source_disable_unref(j->notify_src);
        if (j->notify_fd >= 0)
                close(j->notify_fd);
        if (j->release_fd >= 0)
                close(j->release_fd);
        j->retention_src = sd_event_source_disable_unref(j->retention_src);

        if (remove_state) {
                /* Its numbers go with its record: keep the highest. */
                jd_events_forget(d, j->exited_seq > j->started_seq ? j->exited_seq : j->started_seq);
                r = jd_rm_rf_at(d->jails_dirfd, j->id);
                if (r < 0)
                        log_warning("cannot remove %s: %s", j->state_dir, strerror(-r));
        }
        free(j->state_dir);
        free(j->jail_dir);
        free(j->jail_root);
        free(j->cpus);
        free(j->cgroup_path);
        free(j->lost);
        free(j->start_error);
        free(j->report);
        if (j->netns_fd >= 0)
                close(j->netns_fd);
        strv_free(j->taps);
        free(j);
        d->hooks->changed(d);
}

void jd_jails_free(jd_daemon *d)
{
        while (d->jails)
                jail_free(d->jails, false);
        free(d->jail_index);
        d->jail_index = NULL;
        d->jail_index_size = 0;
}

void jd_jails_forget_client(jd_daemon *d, jd_client *c)
{
        for (jd_jail *j = d->jails; j; j = j->next) {
                if (j->create && j->create->client == c)
                        j->create->client = NULL;
                for (jd_pending **p = &j->waiters; *p;) {
                        if ((*p)->client == c) {
                                jd_pending *gone = *p;

                                *p = gone->next;
                                jd_pending_free(gone);
                        } else
                                p = &(*p)->next;
                }
        }
        for (jd_control *ctl = d->controls; ctl; ctl = ctl->next)
                if (ctl->req && ctl->req->client == c)
                        ctl->req->client = NULL;
}

void jd_jail_wait(jd_jail *j, jd_client *c, json_object *id)
{
        const jd_hooks *h = j->daemon->hooks;
        jd_pending *p;
        jl_rpc_error e;

        if (j->state == JD_JAIL_EXITED && j->lost) {
                h->send(c, lost_error(j, id));
                return;
        }
        if (j->state == JD_JAIL_EXITED) {
                h->send(c, jl_reply_result(id, jl_report_to_json(jail_report(j))));
                return;
        }
        p = jd_pending_new(c, id, JL_METHOD_WAIT);
        if (!p) {
                jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                h->send(c, jl_reply_error(id, &e));
                return;
        }
        p->next = j->waiters;
        j->waiters = p;
}

/* Answer every wait: the report, or that the jail was lost. */
static void answer_waiters(jd_jail *j)
{
        while (j->waiters) {
                jd_pending *p = j->waiters;

                j->waiters = p->next;
                pending_send(j->daemon, p,
                             j->lost ? lost_error(j, p->id) : jl_reply_result(p->id, jl_report_to_json(jail_report(j))));
        }
}

/* ------------------------------------------------------------------ records and events */

/* The jail's state directory, opened under jailerd's jails/ by its id:
 * one component to resolve, not its whole path again. */
static int state_dir_open(const jd_jail *j, int flags)
{
        return openat(j->daemon->jails_dirfd, j->id, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static void record_save(jd_jail *j)
{
        _cleanup_close_ int dfd = state_dir_open(j, O_RDONLY);
        jd_record rec = {
                .started_seq = j->started_seq,
                .exited_seq = j->exited_seq,
                .exited_at_us = j->exited_at_us,
                .lost = j->lost,
        };
        int r = dfd < 0 ? -errno : jd_record_write(dfd, &rec);

        if (r < 0)
                log_warning("jail %s: %s/%s: %s", j->id, j->state_dir, JD_RECORD_FILE, strerror(-r));
}

/* What a restarted jailerd finds in a jail's record.json: its events are
 * not numbered (nor logged) again. */
static void record_load(jd_jail *j, int dfd)
{
        jd_record rec;

        if (jd_record_read(dfd, &rec) < 0)
                return;
        j->started_seq = rec.started_seq;
        j->exited_seq = rec.exited_seq;
        j->exited_at_us = rec.exited_at_us;
        if (rec.lost && !j->lost)
                j->lost = TAKE_PTR(rec.lost);
        jd_events_seen(j->daemon, rec.started_seq);
        jd_events_seen(j->daemon, rec.exited_seq);
        jd_record_done(&rec);
}

/* Number the event, keep the number with the jail, then tell subscribers:
 * a restart in between neither repeats nor loses it. */
static void jail_event(jd_jail *j, bool exited)
{
        jd_daemon *d = j->daemon;

        if (exited)
                j->exited_seq = jd_events_next(d);
        else
                j->started_seq = jd_events_next(d);
        record_save(j);
        d->hooks->notify(d, j, exited);
}

/* ------------------------------------------------------------------ logging */

/* The end of a jail, logged once: when it was seen, or at the restart that
 * found it ended (with the time it happened). */
static void log_exited(jd_jail *j, bool while_away)
{
        const jailer_report *r = jail_report(j);
        jd_entry e = JD_ENTRY_INIT;
        const char *sig = r->signal ? jailer_signal_name(r->signal) : NULL;
        char at[32] = "", status[64];

        if (j->exited_at_us)
                (void) jl_format_rfc3339(j->exited_at_us, at);
        jd_entry_add(&e, "JAIL_ID=%s", j->id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) (r->pid ?: j->pid));
        jd_entry_add(&e, "JAIL_OWNER_UID=%u", (unsigned) j->owner_uid);
        if (at[0])
                jd_entry_add(&e, "JAIL_EXITED_AT=%s", at);
        if (j->lost) {
                jd_entry_add(&e, "JAILER_ERROR=%s", j->lost);
                jd_entry_submit(&e, JD_EV_LOST, LOG_WARNING,
                                "Jail %s was lost: %s; its program (pid %d) was killed with its cgroup", j->id,
                                j->lost, (int) j->pid);
                return;
        }
        if (r->exit_code >= 0)
                jd_entry_add(&e, "JAIL_EXIT_CODE=%d", r->exit_code);
        if (sig)
                jd_entry_add(&e, "JAIL_SIGNAL=%s", sig);
        jd_entry_add(&e, "JAIL_OOM=%d", r->oom_killed ? 1 : 0);
        jd_entry_add(&e, "JAIL_TIMED_OUT=%d", r->timed_out ? 1 : 0);
        jd_entry_add(&e, "JAIL_WALL_TIME_US=%llu", (unsigned long long) r->wall_time_us);
        jd_entry_add(&e, "JAIL_CPU_USAGE_US=%llu", (unsigned long long) r->cpu_usage_us);
        if (r->memory_peak_bytes != JAILER_UNKNOWN)
                jd_entry_add(&e, "JAIL_MEMORY_PEAK_BYTES=%llu", (unsigned long long) r->memory_peak_bytes);
        if (r->exit_code >= 0)
                snprintf(status, sizeof status, "exited with status %d", r->exit_code);
        else
                snprintf(status, sizeof status, "was killed by %s", sig ?: "a signal");
        jd_entry_submit(&e, JD_EV_EXITED, LOG_INFO, "Jail %s %s%s%s%s%s%s", j->id, status,
                        r->oom_killed ? " (OOM kill)" : "", r->timed_out ? " (time limit)" : "",
                        while_away && at[0] ? " at " : "", while_away ? at : "",
                        while_away ? ", while jailerd was not running" : "");
}

/* ------------------------------------------------------------------ retention */

static int on_retention(sd_event_source *s, uint64_t usec, void *userdata)
{
        jd_jail *j = userdata;

        log_debug("jail %s: report no longer kept", j->id);
        jail_free(j, true);
        return 0;
}

static void start_retention(jd_jail *j)
{
        jd_daemon *d = j->daemon;
        int r;

        r = sd_event_add_time_relative(d->event, &j->retention_src, CLOCK_MONOTONIC, d->opt.retention_us,
                                       1000 * 1000, on_retention, j);
        if (r < 0)
                log_warning("jail %s: no retention timer: %s", j->id, strerror(-r));
}

/* A jail has ended (or was lost): number, keep, log and tell it once,
 * answer its waiters, keep its record for --retention. */
static void jail_ended(jd_jail *j, bool while_away)
{
        if (j->state != JD_JAIL_EXITED)
                set_state(j, JD_JAIL_EXITED);
        if (!j->exited_at_us)
                j->exited_at_us = jd_now_realtime_us();
        /* Whoever waits for the report first: the record, the event and
         * the journal entry do not change it, and the waiter (a CI job,
         * an orchestrator) is the one in a hurry. */
        answer_waiters(j);
        jail_event(j, true);
        log_exited(j, while_away);
        if (!j->cleaning)
                start_retention(j);
        j->daemon->hooks->settled(j->daemon);
}

/* ------------------------------------------------------------------ crash clean-up */

/* A supervisor that dies cannot remove the taps it made in a joined
 * network namespace (in a new one they go with it): keep what finds them,
 * the namespace by fd and their names; the jail's uid owns them. */
static int remember_taps(jd_jail *j, const jailer_config *c)
{
        const char *netns = jailer_config_get_netns(c);
        size_t n = jailer_config_n_taps(c);
        int fd = jailer_config_get_netns_fd(c);

        if (!netns || n == 0)
                return 0;
        j->netns_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : jailer_open_host(netns, JAILER_FILE_REG, O_RDONLY, NULL, 0);
        if (j->netns_fd < 0)
                return 0;       /* the supervisor's libjailer refuses it, and says why */
        j->taps = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; j->taps && i < n; i++)
                if (!(j->taps[i] = strdup(jailer_config_get_tap(c, i)->name)))
                        return -ENOMEM;
        return j->taps ? 0 : -ENOMEM;
}

static void remove_taps(jd_jail *j)
{
        size_t n = 0;
        int r;

        if (j->netns_fd < 0 || !j->taps)
                return;
        while (j->taps[n])
                n++;
        r = jailer_netns_remove_taps(j->netns_fd, (const char *const *) j->taps, n, j->uid);
        if (r < 0)
                log_warning("jail %s: cannot remove its taps: %s", j->id, strerror(errno));
        else if (r > 0)
                log_info("jail %s: removed %d tap(s) its supervisor left", j->id, r);
}

/* Remove what a jail without a supervisor left: processes and cgroup, the
 * jail directory we made, and (when asked) the state directory. */
static void cleanup_leftovers(jd_daemon *d, const char *id, const char *cgroup_path, const char *jail_dir,
                              const char *state_dir, const char *why)
{
        _cleanup_free_ char *derived = NULL;
        jd_entry e = JD_ENTRY_INIT;
        jailer_error err = { 0 };
        int killed = 0, failures = 0, r;

        /* No state.json to name the cgroup: where it would be, relative to
         * the hierarchies' root (libjailer finds it on each of them). */
        if (!cgroup_path && d->cgroup_parent && asprintf(&derived, "%s/%s", d->cgroup_parent, id) >= 0)
                cgroup_path = derived;
        if (cgroup_path) {
                r = jailer_cgroup_remove(cgroup_path, &err);
                if (r > 0)
                        killed = r;
                else if (r < 0 && err.code != ENOENT) {
                        failures++;
                        log_warning("jail %s: %s", id, err.message);
                }
        }
        if (jail_dir && (r = jd_jail_dir_remove(jail_dir)) < 0) {
                failures++;
                log_warning("jail %s: cannot remove %s: %s", id, jail_dir, strerror(-r));
        }
        if (state_dir && (r = jd_rm_rf(state_dir)) < 0) {
                failures++;
                log_warning("jail %s: cannot remove %s: %s", id, state_dir, strerror(-r));
        }

        jd_entry_add(&e, "JAIL_ID=%s", id);
        if (cgroup_path)
                jd_entry_add(&e, "JAIL_CGROUP=%s", cgroup_path);
        jd_entry_add(&e, "JAIL_KILLED_PROCESSES=%d", killed);
        jd_entry_submit(&e, JD_EV_CLEANUP, failures ? LOG_WARNING : LOG_NOTICE,
                        "Cleaned up jail %s (%s): %d processes killed%s", id, why, killed,
                        failures ? ", some leftovers could not be removed" : "");
}

/* ------------------------------------------------------------------ supervisor events */

static jailer_step step_from_name(const char *name)
{
        for (int s = JAILER_STEP_NONE; s <= JAILER_STEP_WAIT; s++)
                if (name && jailer_step_name((jailer_step) s) && strcmp(jailer_step_name((jailer_step) s), name) == 0)
                        return (jailer_step) s;
        return JAILER_STEP_NONE;
}

static const char *json_str(json_object *o, const char *k)
{
        json_object *m;

        if (!json_object_object_get_ex(o, k, &m) || !json_object_is_type(m, json_type_string))
                return NULL;
        return json_object_get_string(m);
}

static int64_t json_int(json_object *o, const char *k)
{
        json_object *m;

        if (!json_object_object_get_ex(o, k, &m))
                return 0;
        return json_object_get_int64(m);
}

static void jail_started(jd_jail *j)
{
        jd_daemon *d = j->daemon;
        jd_entry e = JD_ENTRY_INIT;

        set_state(j, JD_JAIL_RUNNING);
        jd_entry_add(&e, "JAIL_ID=%s", j->id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) j->pid);
        jd_entry_add(&e, "JAIL_SUPERVISOR_PID=%d", (int) j->supervisor_pid);
        if (j->cgroup_path)
                jd_entry_add(&e, "JAIL_CGROUP=%s", j->cgroup_path);
        jd_entry_add(&e, "PEER_UID=%u", (unsigned) j->owner_uid);
        jd_entry_add(&e, "PEER_PID=%d", (int) j->owner_pid);
        jd_entry_submit(&e, JD_EV_STARTED, LOG_INFO, "Jail %s started, pid %d", j->id, (int) j->pid);

        if (j->create) {
                json_object *res = jl_create_result(j->id, j->pid);
                /* A root the daemon chose: say where it is on the host (the
                 * jail's control sockets are under it).  Additive: clients
                 * ignore members they do not know. */
                if (res && j->jail_dir)
                        (void) json_object_object_add(res, "jail_root", json_object_new_string(j->jail_dir));
                pending_reply(d, TAKE_PTR(j->create), res);
        }
        jail_event(j, false);

        /* Stopping with --stop-jails-on-exit: this one came too late to be
         * told with the others. */
        if (d->shutting_down && d->opt.stop_jails_on_exit)
                (void) jd_jail_control(j, NULL, NULL, JL_METHOD_KILL, SIGTERM, NULL);
}

/* Ready and held before its execve: answer the create, wait for start. */
static void jail_prepared(jd_jail *j)
{
        jd_entry e = JD_ENTRY_INIT;

        j->prepared_mono_us = jailer_now_monotonic_us();
        set_state(j, JD_JAIL_PREPARED);
        jd_entry_add(&e, "JAIL_ID=%s", j->id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) j->pid);
        jd_entry_add(&e, "JAIL_SUPERVISOR_PID=%d", (int) j->supervisor_pid);
        jd_entry_add(&e, "PEER_UID=%u", (unsigned) j->owner_uid);
        jd_entry_submit(&e, JD_EV_NONE, LOG_INFO, "Jail %s prepared, pid %d: waiting for start", j->id,
                        (int) j->pid);
        if (j->create) {
                json_object *res = jl_create_result(j->id, j->pid);

                if (res) {
                        json_object_object_add(res, "state", json_object_new_string("prepared"));
                        if (j->jail_dir)
                                json_object_object_add(res, "jail_root", json_object_new_string(j->jail_dir));
                }
                pending_reply(j->daemon, TAKE_PTR(j->create), res);
        }
}

/* One message on the start channel (or its end). */
static void notify_close(jd_jail *j)
{
        j->notify_src = sd_event_source_disable_unref(j->notify_src);
        if (j->notify_fd >= 0)
                close(j->notify_fd);
        j->notify_fd = -1;
}

static void start_error(jd_jail *j, json_object *m)
{
        jailer_error je = { 0 };
        const char *s;

        je.step = step_from_name(json_str(m, "step"));
        je.code = (int) json_int(m, "code");
        if ((s = json_str(m, "field")))
                snprintf(je.field, sizeof je.field, "%s", s);
        if ((s = json_str(m, "message")))
                snprintf(je.message, sizeof je.message, "%s", s);
        j->start_failed = true;
        if (!j->start_error && !(j->start_error = malloc(sizeof *j->start_error)))
                return;         /* jail_start_failed() says it failed, without the details */
        if (je.step == JAILER_STEP_NONE)
                jl_rpc_error_set(j->start_error, JL_RPC_INTERNAL, NULL, NULL, "%s", je.message);
        else
                jl_rpc_error_from_jailer(j->start_error, &je);
}

static void jail_reported(jd_jail *j);

/* One message on the start channel: "started" or "prepared" (the channel
 * stays open), then "exited" (the report is written: the tear-down runs
 * still), or the error that ended the start.  1 when one was read. */
static int read_notify(jd_jail *j)
{
        char buf[JD_SVCTL_MAX_MSG + 1];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } c;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf };
        _cleanup_close_ int fd = -1;
        json_object *o = NULL, *m;
        ssize_t n;

        if (j->notify_fd < 0)
                return 0;
        n = recvmsg(j->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        /* "prepared" comes with the handle that releases the jail; an fd
         * with anything else is closed. */
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); n >= 0 && h; h = CMSG_NXTHDR(&mh, h))
                if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
                    h->cmsg_len == CMSG_LEN(sizeof(int)) && fd < 0)
                        memcpy(&fd, CMSG_DATA(h), sizeof fd);
        if (n <= 0 || (mh.msg_flags & MSG_CTRUNC)) {
                notify_close(j);        /* no (more) word: the pidfd will tell */
                return 0;
        }
        buf[n] = '\0';
        o = json_tokener_parse(buf);
        if (!o) {
                notify_close(j);
                return 0;
        }

        if ((json_object_object_get_ex(o, "started", &m) || json_object_object_get_ex(o, "prepared", &m)) &&
            j->state == JD_JAIL_STARTING) {
                const char *cg = json_str(m, "cgroup");

                j->pid = (pid_t) json_int(m, "pid");
                j->started_at_us = (uint64_t) json_int(m, "started_at_us");
                if (cg)
                        j->cgroup_path = strdup(cg);
                if (json_object_object_get_ex(o, "prepared", NULL)) {
                        j->release_fd = TAKE_FD(fd);
                        jail_prepared(j);
                } else
                        jail_started(j);
        } else if (json_object_object_get_ex(o, "started", &m) && j->state == JD_JAIL_PREPARED) {
                /* A prepared jail's start, as its supervisor saw it: before
                 * its end on this channel, whoever released it. */
                j->started_at_us = (uint64_t) json_int(m, "started_at_us");
                jail_started(j);
        } else if (json_object_object_get_ex(o, "exited", NULL)) {
                notify_close(j);
                jail_reported(j);
        } else {
                notify_close(j);
                if (json_object_object_get_ex(o, "error", &m))
                        start_error(j, m);
        }
        json_object_put(o);
        return 1;
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        read_notify(userdata);
        return 0;
}

static void jail_start_failed(jd_jail *j, const char *how)
{
        jd_daemon *d = j->daemon;
        jd_entry e = JD_ENTRY_INIT;
        jl_rpc_error err;

        if (j->start_error)
                err = *j->start_error;
        else if (j->start_failed)
                jl_rpc_error_set(&err, JL_RPC_INTERNAL, NULL, NULL,
                                 "the supervisor of jail %s could not start it (no memory for its reason)", j->id);
        else
                jl_rpc_error_set(&err, JL_RPC_INTERNAL, NULL, NULL,
                                 "the supervisor of jail %s %s before the jail started", j->id, how);
        jd_entry_add(&e, "JAIL_ID=%s", j->id);
        jd_entry_add(&e, "PEER_UID=%u", (unsigned) j->owner_uid);
        jd_entry_add(&e, "PEER_PID=%d", (int) j->owner_pid);
        jd_entry_add(&e, "JAILER_ERROR=%s", err.reason);
        if (err.step[0])
                jd_entry_add(&e, "JAILER_STEP=%s", err.step);
        if (err.field[0])
                jd_entry_add(&e, "JAILER_FIELD=%s", err.field);
        jd_entry_submit(&e, JD_EV_FAILED, LOG_WARNING, "Jail %s could not be started: %s", j->id, err.message);

        /* The supervisor removes what it made when the jail fails to start;
         * if it died instead, do it for it.  Either way the reply goes out
         * only when nothing of the jail is left. */
        if (!j->start_failed) {
                cleanup_leftovers(d, j->id, NULL, j->jail_dir, j->state_dir, "its supervisor died while starting it");
                remove_taps(j);
        } else {
                if (j->jail_dir)
                        (void) jd_jail_dir_remove(j->jail_dir);
                (void) jd_rm_rf_at(d->jails_dirfd, j->id);
        }
        if (j->create)
                pending_error(j->daemon, TAKE_PTR(j->create), &err);
        jail_free(j, false);
}

/* report.json: the library's report.  (Earlier versions of jailerd made
 * one up, with "error", when a supervisor died: such a jail is lost.) */
static int report_parse(const char *buf, jailer_report *r, char **lost, jailer_error *je)
{
        json_object *o, *m;
        int ret;

        /* The reports jailerd and its supervisors write now have no
         * "error" (json-c writes a key as it is): parsed once. */
        if (!strstr(buf, "\"error\""))
                return jailer_report_from_json(buf, r, je);
        o = json_tokener_parse(buf);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return jailer_error_set(je, JAILER_STEP_NONE, 0, NULL, "not a JSON object");
        }
        if (json_object_object_get_ex(o, "error", &m)) {
                if (json_object_is_type(m, json_type_string) && !*lost)
                        *lost = strdup(json_object_get_string(m));
                json_object_object_del(o, "error");
        }
        ret = jailer_report_from_json(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), r, je);
        json_object_put(o);
        return ret;
}

/* report.json into j->report: 0, or -errno. */
static int read_report(jd_jail *j)
{
        _cleanup_close_ int dfd = state_dir_open(j, O_RDONLY);
        _cleanup_free_ char *buf = NULL;
        jailer_error je = { 0 };
        jailer_report rep = { 0 };
        int r;

        r = dfd < 0 ? -errno : jd_read_file_at(dfd, JD_REPORT_FILE, 64 * 1024, &buf, NULL);
        if (r >= 0 && report_parse(buf, &rep, &j->lost, &je) < 0)
                r = -EBADMSG;
        if (r >= 0)
                r = report_set(j, &rep);
        return r;
}

/* The supervisor wrote the report and tears the jail down: answer now; the
 * id stays taken (a create with it is "busy") until the supervisor is gone. */
static void jail_reported(jd_jail *j)
{
        if (j->state != JD_JAIL_RUNNING || read_report(j) < 0)
                return;         /* the pidfd will tell */
        j->cleaning = true;
        jail_ended(j, false);
}

static void supervisor_gone(jd_jail *j, const char *how)
{
        jd_daemon *d = j->daemon;
        int r;

        j->supervisor_src = sd_event_source_disable_unref(j->supervisor_src);
        if (j->supervisor_pidfd >= 0) {
                close(j->supervisor_pidfd);
                j->supervisor_pidfd = -1;
        }
        /* The start channel and the pidfd race: read what it says first. */
        while (read_notify(j) > 0)
                ;
        notify_close(j);

        if (j->state == JD_JAIL_STARTING) {
                jail_start_failed(j, how);
                d->hooks->settled(d);
                return;
        }
        if (j->state == JD_JAIL_EXITED) {
                /* Reported already: the tear-down is done now. */
                if (j->cleaning) {
                        j->cleaning = false;
                        start_retention(j);
                        d->hooks->settled(d);
                }
                return;
        }

        r = read_report(j);
        if (r < 0) {
                jd_state st;
                _cleanup_close_ int dfd = state_dir_open(j, O_RDONLY);

                /* No report: the jail is lost.  Its program goes with its
                 * cgroup; the record says so, and outlives a restart. */
                free(j->lost);
                if (asprintf(&j->lost, "its supervisor %s without writing the exit report", how) < 0) {
                        j->lost = NULL;
                        (void) report_set(j, &(jailer_report) { .pid = j->pid, .exit_code = -1, .signal = SIGKILL });
                }
                if (dfd >= 0 && jd_state_read(dfd, &st) == 0) {
                        if (!j->cgroup_path && st.cgroup_path)
                                j->cgroup_path = strdup(st.cgroup_path);
                        jd_state_done(&st);
                }
                cleanup_leftovers(d, j->id, j->cgroup_path, j->jail_dir, NULL, "its supervisor died");
                remove_taps(j);
        }
        jail_ended(j, false);
}

static int on_supervisor_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        jd_jail *j = userdata;
        char how[64];

        if (si->si_code == CLD_EXITED)
                snprintf(how, sizeof how, "exited with status %d", si->si_status);
        else
                snprintf(how, sizeof how, "was killed by %s", jailer_signal_name(si->si_status) ?: "a signal");
        /* The pidfd belongs to the source: let it go with it. */
        j->supervisor_pidfd = -1;
        supervisor_gone(j, how);
        return 0;
}

static int on_supervisor_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        /* Not our child (we were restarted): its parent reaps it. */
        supervisor_gone(userdata, "ended");
        return 0;
}

/* ------------------------------------------------------------------ create */

static int dup_high(int fd)
{
        return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static const char *supervisor_path(jd_daemon *d)
{
        return d->opt.supervisor;
}

/* What the policy check opened for the client (the config's fd forms): a
 * duplicate above the stdio targets in out[i], its field in fields[i] (for
 * the supervisor's --path-fd FIELD=FD).  out has room for every one.  All
 * or none: a supervisor without one of them would open the path again. */
static int path_fds(const jailer_config *c, char (*fields)[48], int *out, size_t *ret_n)
{
        size_t n = 0;
        bool failed = false;

#define ADD(fd, ...)                                                            \
        do {                                                                    \
                if ((fd) >= 0 && (out[n] = dup_high(fd)) < 0)                   \
                        failed = true;                                          \
                else if ((fd) >= 0)                                             \
                        snprintf(fields[n++], 48, __VA_ARGS__);                 \
        } while (0)
        ADD(jailer_config_get_exec_fd(c), "exec_path");
        ADD(jailer_config_get_seccomp_fd(c), "seccomp");
        ADD(jailer_config_get_netns_fd(c), "netns");
        ADD(jailer_config_get_jail_root_fd(c), "jail_root");
        ADD(jailer_config_get_jail_root_parent_fd(c), "jail_root.parent");
        for (size_t i = 0; i < jailer_config_n_bind_mounts(c); i++)
                ADD(jailer_config_get_bind_source_fd(c, i), "bind_mounts[%zu].source", i);
        for (size_t i = 0; i < jailer_config_n_devices(c); i++)
                ADD(jailer_config_get_device_fd(c, i), "devices[%zu]", i);
#undef ADD
        *ret_n = n;
        if (!failed)
                return 0;
        for (size_t i = 0; i < n; i++)
                close(out[i]);
        *ret_n = 0;
        return -EMFILE;
}

/* The launcher's way: the same argv, the fds as numbers 3 (start channel),
 * 4-6 (stdio) and 7... (paths) in the new supervisor. */
static int launch_supervisor(jd_jail *j, char **argv, char (*path_args)[72], char (*fields)[48],
                             const int *path_high, size_t n_paths, int notify, bool own_stdio, int fds[3],
                             pid_t *ret_pid, int *ret_pidfd)
{
        int src[JD_LAUNCHER_MAX_FDS], tg[JD_LAUNCHER_MAX_FDS];
        size_t n = 0;

        if (4 + n_paths > JD_LAUNCHER_MAX_FDS)
                return -EHOSTDOWN;      /* more than one message carries: exec it */
        src[n] = notify;
        tg[n++] = JD_SUPERVISOR_NOTIFY_FD;
        for (int i = 0; own_stdio && i < 3; i++) {
                src[n] = fds[i];
                tg[n++] = JD_SUPERVISOR_STDIO_FD + i;
        }
        for (size_t i = 0; i < n_paths; i++) {
                src[n] = path_high[i];
                tg[n] = JD_SUPERVISOR_STDIO_FD + 3 + (int) i;
                snprintf(path_args[i], 72, "%s=%d", fields[i], tg[n]);
                n++;
        }
        return jd_launcher_spawn(j->daemon->launcher, argv, src, tg, n, ret_pid, ret_pidfd);
}

/* Start the jail's supervisor: forked by the launcher (*ret_pidfd >= 0; not
 * our child), or else exec'd (our child, *ret_pidfd = -1). */
/* The numbers a supervisor's command line carries, kept alive as long as
 * its argv. */
typedef struct sv_numbers {
        char uid[16], ppid[16], prepare_timeout[24];
} sv_numbers;

/* The supervisor's command line: the same whether the launcher forks it or
 * it is exec'd. */
static void supervisor_argv(const jd_jail *j, bool own_stdio, char (*path_args)[72], size_t n_paths, sv_numbers *nums,
                            char **argv)
{
        size_t n = 0;

        snprintf(nums->prepare_timeout, sizeof nums->prepare_timeout, "%llu",
                 (unsigned long long) j->prepare_timeout_ms);
        snprintf(nums->uid, sizeof nums->uid, "%u", (unsigned) j->owner_uid);
        snprintf(nums->ppid, sizeof nums->ppid, "%d", (int) j->owner_pid);
        argv[n++] = (char *) "jailer-supervisor";
        argv[n++] = (char *) "--state-dir";
        argv[n++] = j->state_dir;
        argv[n++] = (char *) "--owner-uid";
        argv[n++] = nums->uid;
        argv[n++] = (char *) "--owner-pid";
        argv[n++] = nums->ppid;
        if (j->jail_dir) {
                argv[n++] = (char *) "--jail-dir";
                argv[n++] = j->jail_dir;
        }
        if (own_stdio)
                argv[n++] = (char *) "--stdio";
        if (j->prepare)
                argv[n++] = (char *) "--prepare";
        if (j->prepare_timeout_ms) {
                argv[n++] = (char *) "--prepare-timeout";
                argv[n++] = nums->prepare_timeout;
        }
        for (size_t i = 0; i < n_paths; i++) {
                argv[n++] = (char *) "--path-fd";
                argv[n++] = path_args[i];
        }
        argv[n] = NULL;
}

/* Without a launcher: exec the supervisor, its start channel on fd 3, the
 * client's stdio on 4-6, the path fds at their numbers.  Takes sp1 and the
 * path fds. */
static int exec_supervisor(jd_daemon *d, char **argv, int sp1, bool own_stdio, int fds[3], char (*path_args)[72],
                           char (*fields)[48], int *path_high, size_t n_paths, pid_t *ret_pid)
{
        char *envp[] = JD_SUPERVISOR_ENVP;
        int high[4] = { -1, -1, -1, -1 };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        pid_t pid;
        int r;

        /* Every source fd above the targets 3-6, so that no dup2() of the
         * file actions clobbers another's source. */
        high[0] = dup_high(sp1);
        for (int i = 0; own_stdio && i < 3; i++)
                high[i + 1] = dup_high(fds[i]);
        close(sp1);
        for (size_t i = 0; i < n_paths; i++)
                snprintf(path_args[i], 72, "%s=%d", fields[i], path_high[i]);

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, high[0], JD_SUPERVISOR_NOTIFY_FD);
        for (int i = 0; own_stdio && i < 3; i++)
                posix_spawn_file_actions_adddup2(&fa, high[i + 1], JD_SUPERVISOR_STDIO_FD + i);
        /* dup2 onto itself: the same number, without FD_CLOEXEC. */
        for (size_t i = 0; i < n_paths; i++)
                posix_spawn_file_actions_adddup2(&fa, path_high[i], path_high[i]);
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        sigfillset(&all);
        /* Our blocked signals and ignored SIGPIPE are not the supervisor's. */
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        r = posix_spawn(&pid, supervisor_path(d), &fa, &attr, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        for (int i = 0; i < 4; i++)
                if (high[i] >= 0)
                        close(high[i]);
        for (size_t i = 0; i < n_paths; i++)
                close(path_high[i]);
        if (r != 0)
                return -r;
        *ret_pid = pid;
        return 0;
}

static int spawn_supervisor(jd_jail *j, const jailer_config *c, bool own_stdio, int fds[3], pid_t *ret_pid,
                            int *ret_pidfd, int *ret_notify)
{
        jd_daemon *d = j->daemon;
        sv_numbers args;
        int sp[2] = { -1, -1 };
        size_t n_paths, max_paths = 5 + jailer_config_n_bind_mounts(c) + jailer_config_n_devices(c);
        _cleanup_free_ char **argv = calloc(16 + 2 * max_paths, sizeof(char *));
        _cleanup_free_ char (*path_args)[72] = calloc(max_paths, 72);
        _cleanup_free_ char (*fields)[48] = calloc(max_paths, 48);
        _cleanup_free_ int *path_high = calloc(max_paths, sizeof(int));
        pid_t pid;
        int r;

        if (!argv || !path_args || !fields || !path_high)
                return -ENOMEM;
        r = path_fds(c, fields, path_high, &n_paths);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = -errno;
                for (size_t i = 0; i < n_paths; i++)
                        close(path_high[i]);
                return r;
        }

        supervisor_argv(j, own_stdio, path_args, n_paths, &args, argv);
        r = launch_supervisor(j, argv, path_args, fields, path_high, n_paths, sp[1], own_stdio, fds, &pid,
                              ret_pidfd);
        if (r == 0) {
                close(sp[1]);
                for (size_t i = 0; i < n_paths; i++)
                        close(path_high[i]);
                *ret_pid = pid;
                *ret_notify = sp[0];
                return 0;
        }
        if (r != -EHOSTDOWN) {
                close(sp[0]);
                close(sp[1]);
                for (size_t i = 0; i < n_paths; i++)
                        close(path_high[i]);
                return r;
        }
        *ret_pidfd = -1;

        r = exec_supervisor(d, argv, sp[1], own_stdio, fds, path_args, fields, path_high, n_paths, &pid);
        if (r < 0) {
                close(sp[0]);
                return r;
        }
        *ret_pid = pid;
        *ret_notify = sp[0];
        return 0;
}

/* A create that failed before its jail started: forget the request (the
 * caller answers it) and the jail. */
static void create_abandon(jd_jail *j)
{
        jd_pending *p = TAKE_PTR(j->create);

        if (p && p->client && p->client->n_pending > 0)
                p->client->n_pending--;
        jd_pending_free(p);
        jail_free(j, false);
}

/* May a jail with this id be created now?  An ended one's record gives
 * way (to its owner or root only: anyone else would take the report from
 * the owner's wait and status) once its supervisor is gone. */
static int create_allowed(jd_daemon *d, const jd_client *client, const char *jid, jl_rpc_error *err)
{
        jd_jail *old = jd_jail_find(d, jid);

        if (old && old->state != JD_JAIL_EXITED)
                return jl_rpc_error_set(err, JL_RPC_EXISTS, NULL, "id", "jail %s exists", jid);
        if (d->opt.max_jails && d->n_starting + d->n_running >= d->opt.max_jails)
                return jl_rpc_error_set(err, JL_RPC_LIMIT_REACHED, NULL, NULL, "%u jails are running, the limit",
                                        d->opt.max_jails);
        if (old && client && !client->peer.root && old->owner_uid != client->peer.uid)
                return jl_rpc_error_set(err, JL_RPC_EXISTS, NULL, "id",
                                        "jail %s exists (ended; its report is kept for its owner)", jid);
        if (old && old->cleaning)
                return jl_rpc_error_set(err, JL_RPC_BUSY, NULL, "id",
                                        "jail %s has ended and is being cleaned up; its id is free again in a moment",
                                        jid);
        if (old)
                jail_free(old, true);
        return 0;
}

/* The table's record of the new jail, with whom to answer: made before
 * anything else, since a create that could not be remembered would never
 * be answered. */
static jd_jail *create_record(jd_daemon *d, jd_client *client, json_object *id, const jailer_config *c,
                              const jl_create_opts *o)
{
        jd_jail *j = jail_new(d, jailer_config_get_id(c), JD_JAIL_STARTING);

        if (!j)
                return NULL;
        j->create = jd_pending_new(client, id, JL_METHOD_CREATE);
        j->jail_root = strdup(jailer_config_get_jail_root(c));
        if (!j->create || !j->jail_root) {
                create_abandon(j);
                return NULL;
        }
        j->owner_uid = client ? client->peer.uid : 0;
        j->owner_pid = client ? client->peer.pid : 0;
        j->prepare = !o->start;
        j->prepare_timeout_ms = o->prepare_timeout_ms;
        j->uid = jailer_config_get_uid(c);
        j->gid = jailer_config_get_gid(c);
        j->has_ids = true;
        if (remember_taps(j, c) < 0 || jd_jail_set_cpus(j, c) < 0) {
                create_abandon(j);
                return NULL;
        }
        return j;
}

/* A jail root of ours, and its run/: the one place in it the jail may
 * write, where a VMM puts its control socket (QMP, --api-sock), reachable
 * from the host at <jail_root>/run.  A tmpfs of --run-size bytes, so that a
 * jail cannot fill the host's disk through it; its pages count against the
 * jail's memory cgroup (the jail writes them).  Removed with the rest. */
static int make_jail_dir(jd_jail *j, jl_rpc_error *err)
{
        _cleanup_close_ int rfd = -1;
        int r;

        j->jail_dir = strdup(j->jail_root);
        /* A leftover that is empty is harmless; anything else is not ours to reuse. */
        if (!j->jail_dir || ((mkdir(j->jail_dir, 0755) < 0 &&
                              (errno != EEXIST || rmdir(j->jail_dir) < 0 || mkdir(j->jail_dir, 0755) < 0)))) {
                jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "jail directory %s: %s", j->jail_root,
                                 strerror(errno));
                free(TAKE_PTR(j->jail_dir));
                return -1;
        }
        rfd = open(j->jail_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rfd < 0 || mkdirat(rfd, "run", 0700) < 0 || fchownat(rfd, "run", j->uid, j->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "jail directory %s/run: %s", j->jail_root,
                                        strerror(errno));
        if (j->daemon->opt.run_size && (r = jd_jail_dir_mount_run(rfd, j->daemon->opt.run_size, j->uid, j->gid)) < 0)
                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "jail directory %s/run: tmpfs: %s",
                                        j->jail_root, strerror(-r));
        return 0;
}

/* The jail's state directory: ours only when we make it now. */
static int make_state_dir(jd_jail *j, jl_rpc_error *err)
{
        if (mkdirat(j->daemon->jails_dirfd, j->id, 0700) == 0)
                return 0;
        if (errno == EEXIST)
                return jl_rpc_error_set(err, JL_RPC_EXISTS, NULL, "id", "jail %s: its state directory %s exists",
                                        j->id, j->state_dir);
        return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "%s: %s", j->state_dir, strerror(errno));
}

/* The config.json the supervisor reads. */
static int write_config(jd_jail *j, const jailer_config *c, jl_rpc_error *err)
{
        _cleanup_free_ char *json = NULL;
        _cleanup_close_ int dfd = -1;
        int r;

        json = jailer_config_to_json(c);
        dfd = state_dir_open(j, O_RDONLY);
        if (!json || dfd < 0)
                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "%s: %s", j->state_dir,
                                        json ? strerror(errno) : "out of memory");
        r = jd_write_atomic_at(dfd, JD_CONFIG_FILE, json, strlen(json), 0600);
        if (r < 0)
                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "%s/%s: %s", j->state_dir, JD_CONFIG_FILE,
                                        strerror(-r));
        return 0;
}

/* Watch the new supervisor's end and its start channel. */
static int watch_supervisor(jd_jail *j)
{
        jd_daemon *d = j->daemon;
        bool launched = j->supervisor_pidfd >= 0;
        int r;

        if (launched)
                /* The launcher's child, not ours: watched like a reattached one. */
                r = sd_event_add_io(d->event, &j->supervisor_src, j->supervisor_pidfd, EPOLLIN,
                                    on_supervisor_pidfd, j);
        else if ((j->supervisor_pidfd = pidfd_open_(j->supervisor_pid)) >= 0)
                r = sd_event_add_child_pidfd(d->event, &j->supervisor_src, j->supervisor_pidfd, WEXITED,
                                             on_supervisor_child, j);
        else if (errno == ENOSYS)
                /* No pidfd_open (an old kernel, or valgrind before 3.22): the
                 * supervisor is our child, so a plain SIGCHLD watch works. */
                r = sd_event_add_child(d->event, &j->supervisor_src, j->supervisor_pid, WEXITED,
                                       on_supervisor_child, j);
        else
                r = -errno;
        if (r < 0)
                return r;
        if (j->supervisor_pidfd >= 0 && !launched)
                (void) sd_event_source_set_child_pidfd_own(j->supervisor_src, true);
        return sd_event_add_io(d->event, &j->notify_src, j->notify_fd, EPOLLIN, on_notify, j);
}

/* A supervisor we cannot watch: stop it (its own clean-up runs), remove
 * what is left. */
static void abandon_unwatched(jd_jail *j, bool launched, int r, jl_rpc_error *err)
{
        log_error("jail %s: cannot watch supervisor %d: %s", j->id, (int) j->supervisor_pid, strerror(-r));
        if (launched) {
                /* Its parent reaps it; the pidfd says when it is gone. */
                (void) syscall(SYS_pidfd_send_signal, j->supervisor_pidfd, SIGKILL, NULL, 0);
                (void) poll(&(struct pollfd) { .fd = j->supervisor_pidfd, .events = POLLIN }, 1, 5000);
        } else {
                (void) kill(j->supervisor_pid, SIGKILL);
                (void) waitpid(j->supervisor_pid, NULL, 0);
        }
        cleanup_leftovers(j->daemon, j->id, NULL, j->jail_dir, j->state_dir, "it could not be watched");
        jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "cannot watch the supervisor: %s", strerror(-r));
        create_abandon(j);
}

static void close_fds(int fds[3])
{
        for (int i = 0; i < 3; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

int jd_jail_create(jd_daemon *d, jd_client *client, json_object *id, jailer_config *c, const jl_create_opts *o,
                   bool made_root, int fds[3], jl_rpc_error *err)
{
        bool own_stdio = fds[0] >= 0, launched;
        jd_jail *j = NULL;
        int r;

        if (create_allowed(d, client, jailer_config_get_id(c), err) < 0)
                goto out;
        j = create_record(d, client, id, c, o);
        if (!j) {
                jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                goto out;
        }
        if (make_state_dir(j, err) < 0) {
                create_abandon(j);
                goto out;
        }
        if ((made_root && make_jail_dir(j, err) < 0) || write_config(j, c, err) < 0)
                goto undo;
        r = spawn_supervisor(j, c, own_stdio, fds, &j->supervisor_pid, &j->supervisor_pidfd, &j->notify_fd);
        if (r < 0) {
                jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "cannot start %s: %s", supervisor_path(d),
                                 strerror(-r));
                goto undo;
        }
        close_fds(fds);
        jailer_config_free(c);
        launched = j->supervisor_pidfd >= 0;
        r = watch_supervisor(j);
        if (r < 0) {
                abandon_unwatched(j, launched, r, err);
                return -1;
        }
        log_debug("jail %s: supervisor %d started", j->id, (int) j->supervisor_pid);
        return 0;

undo:
        if (j->jail_dir)
                (void) jd_jail_dir_remove(j->jail_dir);
        (void) jd_rm_rf_at(d->jails_dirfd, j->id);
        create_abandon(j);
out:
        close_fds(fds);
        jailer_config_free(c);
        return -1;
}

/* ------------------------------------------------------------------ control requests */

static void control_free(jd_control *ctl)
{
        jd_daemon *d = ctl->daemon;

        if (ctl->prev)
                ctl->prev->next = ctl->next;
        else
                d->controls = ctl->next;
        if (ctl->next)
                ctl->next->prev = ctl->prev;
        ctl->src = sd_event_source_disable_unref(ctl->src);
        ctl->timer = sd_event_source_disable_unref(ctl->timer);
        if (ctl->fd >= 0)
                close(ctl->fd);
        free(ctl);
}

static void control_finish(jd_control *ctl, json_object *result, const jl_rpc_error *e)
{
        jd_daemon *d = ctl->daemon;
        jd_pending *p = TAKE_PTR(ctl->req);

        control_free(ctl);
        if (!p) {
                json_object_put(result);
                return;
        }
        if (e)
                pending_error(d, p, e);
        else
                pending_reply(d, p, result);
}

/* The supervisor cannot be asked (it is finishing): answer from what we know. */
static void control_answer_gone(jd_control *ctl)
{
        jd_jail *j = ctl->jail;
        jl_rpc_error e;

        /* A start whose jail has run (and ended) by now: it started.  The
         * start channel says so ("started" before "exited"), and may
         * still hold it: the supervisor has gone without answering. */
        if (ctl->req && ctl->req->method == JL_METHOD_START)
                while (read_notify(j) > 0)
                        ;
        if (ctl->req && ctl->req->method == JL_METHOD_START && j->started_seq) {
                control_finish(ctl, jl_create_result(j->id, j->pid), NULL);
                return;
        }
        if (ctl->req && ctl->req->method == JL_METHOD_STATUS) {
                control_finish(ctl, jd_jail_info(ctl->jail, NULL, NULL), NULL);
                return;
        }
        jl_rpc_error_set(&e, JL_RPC_NOT_RUNNING, NULL, NULL, "jail %s is not running", ctl->jail->id);
        control_finish(ctl, NULL, &e);
}

/* The supervisor started a prepared jail: it runs from now (if its
 * "started" on the start channel has not said so already). */
static void control_started(jd_control *ctl, json_object *reply)
{
        jd_jail *j = ctl->jail;

        if (j->state == JD_JAIL_PREPARED) {
                j->started_at_us = (uint64_t) json_int(reply, "started_at_us");
                jail_started(j);
        }
        control_finish(ctl, jl_create_result(j->id, j->pid), NULL);
}

static int on_control_reply(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        jd_control *ctl = userdata;
        char buf[JD_SVCTL_MAX_MSG + 1];
        json_object *o, *ok, *u, *peak, *fig;
        jl_rpc_error e;
        const char *reason;
        ssize_t n;

        n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                control_answer_gone(ctl);
                return 0;
        }
        buf[n] = '\0';
        o = json_tokener_parse(buf);
        if (!o || !json_object_object_get_ex(o, "ok", &ok)) {
                json_object_put(o);
                jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "jail %s: unreadable reply from its supervisor",
                                 ctl->jail->id);
                control_finish(ctl, NULL, &e);
                return 0;
        }
        if (json_object_get_boolean(ok) && ctl->req && ctl->req->method == JL_METHOD_START) {
                control_started(ctl, o);
                json_object_put(o);
                return 0;
        }
        if (json_object_get_boolean(ok)) {
                if (ctl->req && ctl->req->method == JL_METHOD_STATUS &&
                    json_object_object_get_ex(o, "usage", &u)) {
                        jailer_usage usage = {
                                .cpu_usage_us = (uint64_t) json_int(u, "cpu_usage_us"),
                                .memory_current_bytes = (uint64_t) json_int(u, "memory_current_bytes"),
                                .memory_peak_bytes = json_object_object_get_ex(u, "memory_peak_bytes", &peak) && !peak ?
                                                             JAILER_UNKNOWN :
                                                             (uint64_t) json_int(u, "memory_peak_bytes"),
                                .pids_current = (uint64_t) json_int(u, "pids_current"),
                        };
                        jailer_report figures;
                        bool has_figures = json_object_object_get_ex(o, "figures", &fig) &&
                                           jl_report_from_json(fig, &figures, &e) == 0;

                        if (has_figures)
                                figures.exit_code = -1;  /* it has not ended */

                        control_finish(ctl, jd_jail_info(ctl->jail, &usage, has_figures ? &figures : NULL), NULL);
                } else
                        control_finish(ctl, NULL, NULL);
                json_object_put(o);
                return 0;
        }
        reason = json_str(o, "reason");
        if (reason && strcmp(reason, "not_running") == 0)
                control_answer_gone(ctl);
        else if (reason && strcmp(reason, "spawn_failed") == 0) {
                /* start: the filter or the execve failed; the supervisor
                 * reports the jail's end as usual. */
                jailer_error je = { .step = step_from_name(json_str(o, "step")), .code = (int) json_int(o, "code") };

                snprintf(je.message, sizeof je.message, "%s", json_str(o, "message") ?: "start failed");
                snprintf(je.field, sizeof je.field, "%s", json_str(o, "field") ?: "");
                jl_rpc_error_from_jailer(&e, &je);
                control_finish(ctl, NULL, &e);
        } else if (reason && strcmp(reason, "not_prepared") == 0) {
                jl_rpc_error_set(&e, JL_RPC_NOT_PREPARED, NULL, "jail", "jail %s: %s", ctl->jail->id,
                                 json_str(o, "message") ?: "not prepared");
                control_finish(ctl, NULL, &e);
        } else {
                jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "jail %s: %s", ctl->jail->id,
                                 json_str(o, "message") ?: "its supervisor refused");
                control_finish(ctl, NULL, &e);
        }
        json_object_put(o);
        return 0;
}

static int on_control_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        jd_control *ctl = userdata;
        jl_rpc_error e;

        jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "jail %s: its supervisor does not answer", ctl->jail->id);
        control_finish(ctl, NULL, &e);
        return 0;
}

/* A connected socket to j's control.sock (through a directory fd: the state
 * directory's path may be longer than sun_path allows), or -ESRCH when the
 * supervisor is gone or going (between the jail's end and its own), or
 * -errno. */
static int control_connect(const jd_jail *j)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        _cleanup_close_ int dfd = -1;

        if (fd < 0)
                return -errno;
        dfd = state_dir_open(j, O_PATH);
        if (dfd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, JD_CONTROL_SOCKET);
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return errno == ENOENT || errno == ECONNREFUSED ? -ESRCH : -errno;
        return TAKE_FD(fd);
}

static void log_kill(const jd_jail *j, const jd_client *c, int sig)
{
        jd_entry e = JD_ENTRY_INIT;

        jd_entry_add(&e, "JAIL_ID=%s", j->id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) j->pid);
        jd_entry_add(&e, "JAIL_SIGNAL=%s", jailer_signal_name(sig) ?: "?");
        if (c) {
                jd_entry_add(&e, "PEER_UID=%u", (unsigned) c->peer.uid);
                jd_entry_add(&e, "PEER_PID=%d", (int) c->peer.pid);
        }
        jd_entry_submit(&e, JD_EV_KILL, LOG_INFO, "Sending %s to jail %s%s", jailer_signal_name(sig) ?: "a signal",
                        j->id, c ? "" : " (jailerd is stopping)");
}

static void control_message(const jd_jail *j, jl_method method, int sig, bool released, char *msg, size_t size)
{
        if (method == JL_METHOD_KILL)
                snprintf(msg, size, "{\"op\":\"kill\",\"signal\":%d,\"grace_ms\":%llu}", sig,
                         (unsigned long long) j->daemon->opt.kill_grace_ms);
        else if (method == JL_METHOD_START)
                snprintf(msg, size, "{\"op\":\"start\",\"released\":%s}", released ? "true" : "false");
        else
                snprintf(msg, size, "{\"op\":\"status\"}");
}

int jd_jail_control(jd_jail *j, jd_client *c, json_object *id, jl_method method, int sig, jl_rpc_error *err)
{
        jd_daemon *d = j->daemon;
        jd_control *ctl;
        bool released = false;
        char msg[128];
        int r;

        ctl = calloc(1, sizeof *ctl);
        if (!ctl)
                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
        ctl->daemon = d;
        ctl->jail = j;
        ctl->fd = -1;
        ctl->next = d->controls;
        if (d->controls)
                d->controls->prev = ctl;
        d->controls = ctl;
        if (c) {
                ctl->req = jd_pending_new(c, id, method);
                if (!ctl->req) {
                        control_free(ctl);
                        return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                }
        }

        ctl->fd = r = control_connect(j);
        if (r >= 0)
                r = sd_event_add_io(d->event, &ctl->src, ctl->fd, EPOLLIN, on_control_reply, ctl);
        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &ctl->timer, CLOCK_MONOTONIC, JD_CONTROL_TIMEOUT_US,
                                               100 * 1000, on_control_timeout, ctl);
        /* start: once the supervisor can be asked, the jail is released
         * here, through its handle, and the supervisor asked how it went
         * (its answer comes once the program is exec'd): the jail need not
         * wait for the supervisor to wake.  Without the handle (jailerd
         * restarted), or close to the jail's prepare timeout (which the
         * supervisor keeps, and which must not kill a jail released a
         * moment before), the supervisor releases it. */
        if (r >= 0 && method == JL_METHOD_START) {
                j->starting = true;
                if (j->release_fd >= 0 &&
                    (!j->prepare_timeout_ms || jailer_now_monotonic_us() + JD_RELEASE_MARGIN_US <
                                                       j->prepared_mono_us + j->prepare_timeout_ms * 1000))
                        released = jailer_release(j->release_fd) == 0;
                if (j->release_fd >= 0)
                        close(j->release_fd);
                j->release_fd = -1;
        }
        control_message(j, method, sig, released, msg, sizeof msg);
        if (r >= 0 && send(ctl->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                r = errno == EPIPE || errno == ECONNRESET ? -ESRCH : -errno;
        if (r == -ESRCH) {
                control_answer_gone(ctl);
                return 0;
        }
        if (r < 0) {
                if (ctl->req) {
                        /* The caller answers with err; this pending must not count. */
                        if (ctl->req->client)
                                ctl->req->client->n_pending--;
                        jd_pending_free(TAKE_PTR(ctl->req));
                }
                control_free(ctl);
                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "jail %s: cannot reach its supervisor: %s",
                                        j->id, strerror(-r));
        }
        if (method == JL_METHOD_KILL)
                log_kill(j, c, sig);
        return 0;
}

void jd_jails_stop_all(jd_daemon *d)
{
        for (jd_jail *j = d->jails; j; j = j->next)
                if (j->state == JD_JAIL_RUNNING || j->state == JD_JAIL_PREPARED)
                        (void) jd_jail_control(j, NULL, NULL, JL_METHOD_KILL,
                                               j->state == JD_JAIL_PREPARED ? SIGKILL : SIGTERM, NULL);
}

/* ------------------------------------------------------------------ recovery */

static bool dir_locked(int dfd)
{
        if (flock(dfd, LOCK_SH | LOCK_NB) == 0) {
                (void) flock(dfd, LOCK_UN);
                return false;
        }
        return errno == EWOULDBLOCK;
}

/* A jail record rebuilt from its state directory. */
static jd_jail *recovered_new(jd_daemon *d, const char *id, jd_jail_state state, jd_state *st, int dfd)
{
        jd_jail *j = jail_new(d, id, state);

        if (!j)
                return NULL;
        j->owner_uid = st->owner_uid;
        j->owner_pid = st->owner_pid;
        j->pid = st->jail_pid;
        j->started_at_us = st->started_at_us;
        j->supervisor_pid = st->supervisor_pid;
        j->cgroup_path = TAKE_PTR(st->cgroup_path);
        j->jail_dir = TAKE_PTR(st->jail_dir);
        read_jail_ids(j, dfd);
        record_load(j, dfd);
        return j;
}

/* A live supervisor holds the directory: watch it again.  false when it
 * cannot be reattached. */
static bool recover_running(jd_daemon *d, const char *id, int dfd)
{
        jd_state st = { 0 };
        jd_entry e = JD_ENTRY_INIT;
        jd_jail *j;
        int pidfd, r = -ENOENT;

        /* It may be between its start and its "running" state.json: give
         * it a moment. */
        for (int i = 0; i < 100; i++) {
                r = jd_state_read(dfd, &st);
                if (r == 0 && st.phase != JD_PHASE_STARTING)
                        break;
                if (r == 0)
                        jd_state_done(&st);
                r = -EAGAIN;
                if (!dir_locked(dfd))
                        break;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
        if (r < 0)
                return false;
        /* Checked after pidfd_open(): the pidfd now pins the process the
         * start time names. */
        pidfd = pidfd_open_(st.supervisor_pid);
        if (pidfd < 0 || !jd_state_supervisor_alive(&st) ||
            !(j = recovered_new(d, id, st.phase == JD_PHASE_PREPARED ? JD_JAIL_PREPARED : JD_JAIL_RUNNING, &st, dfd))) {
                if (pidfd >= 0)
                        close(pidfd);
                jd_state_done(&st);
                return false;
        }
        jd_state_done(&st);
        j->supervisor_pidfd = pidfd;
        r = sd_event_add_io(d->event, &j->supervisor_src, pidfd, EPOLLIN, on_supervisor_pidfd, j);
        if (r < 0)
                log_error("jail %s: cannot watch supervisor %d: %s", id, (int) j->supervisor_pid, strerror(-r));
        /* Started under a jailerd that died before it could number it. */
        if (!j->started_seq && j->state == JD_JAIL_RUNNING)
                jail_event(j, false);
        jd_entry_add(&e, "JAIL_ID=%s", id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) j->pid);
        jd_entry_add(&e, "JAIL_SUPERVISOR_PID=%d", (int) j->supervisor_pid);
        jd_entry_submit(&e, JD_EV_REATTACHED, LOG_INFO, "Jail %s (pid %d) still %s: reattached to its supervisor %d",
                        id, (int) j->pid, j->state == JD_JAIL_PREPARED ? "waits for start" : "runs",
                        (int) j->supervisor_pid);
        return true;
}

/* The jail ended with a report: keep it.  Logged and numbered here only
 * when the jailerd that saw it end did not (it was not running). */
static void recover_ended(jd_daemon *d, const char *id, int dfd, jd_state *st, const char *report)
{
        jailer_error je = { 0 };
        jailer_report rep = { 0 };
        struct stat sb;
        jd_jail *j = recovered_new(d, id, JD_JAIL_EXITED, st, dfd);

        if (!j)
                return;
        if (report_parse(report, &rep, &j->lost, &je) < 0) {
                if (!j->lost && asprintf(&j->lost, "its exit report is unreadable: %s", je.message) < 0)
                        j->lost = NULL;
                rep = (jailer_report) { .exit_code = -1, .pids_peak = -1 };
                snprintf(rep.id, sizeof rep.id, "%s", j->id);
        }
        (void) report_set(j, &rep);
        if (!j->pid)
                j->pid = rep.pid;
        if (j->exited_seq) {
                start_retention(j);
                return;
        }
        if (!j->exited_at_us && fstatat(dfd, JD_REPORT_FILE, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                j->exited_at_us = (uint64_t) sb.st_mtim.tv_sec * 1000000 + (uint64_t) sb.st_mtim.tv_nsec / 1000;
        jail_ended(j, true);
}

/* No supervisor and no report: its program is killed with its cgroup, and
 * the jail is kept as lost (wait answers `lost`, not `not_found`). */
static void recover_lost(jd_daemon *d, const char *id, int dfd, jd_state *st)
{
        jd_jail *j;

        cleanup_leftovers(d, id, st->cgroup_path, st->jail_dir, NULL,
                          "its supervisor ended while jailerd was not running, without a report");
        j = recovered_new(d, id, JD_JAIL_EXITED, st, dfd);
        if (!j)
                return;
        if (j->exited_seq && j->lost) {
                start_retention(j);
                return;
        }
        free(j->lost);
        if (asprintf(&j->lost, "its supervisor ended while jailerd was not running, without writing the exit report") <
            0)
                j->lost = NULL;
        jail_ended(j, true);
}

static void recover_one(jd_daemon *d, const char *id)
{
        _cleanup_free_ char *dir = NULL, *buf = NULL;
        _cleanup_close_ int dfd = -1;
        jd_state st = { 0 };
        int r;

        if (asprintf(&dir, "%s/%s", d->jails_state_dir, id) < 0)
                return;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return;

        if (dir_locked(dfd)) {
                if (recover_running(d, id, dfd))
                        return;
                if (dir_locked(dfd)) {
                        log_warning("jail %s: its supervisor holds %s but cannot be reattached; leaving it", id, dir);
                        return;
                }
        }

        r = jd_state_read(dfd, &st);
        if (jd_read_file_at(dfd, JD_REPORT_FILE, 64 * 1024, &buf, NULL) == 0)
                recover_ended(d, id, dfd, &st, buf);
        else if (r == 0)
                recover_lost(d, id, dfd, &st);
        else
                cleanup_leftovers(d, id, st.cgroup_path, st.jail_dir, dir, "it never got a supervisor");
        jd_state_done(&st);
}

static int on_janitor_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("the clean-up of stale jail directories ended with %s %d",
                            si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
        return 0;
}

/* Remove stale jail directories, logging each (in the janitor process). */
static _Noreturn void janitor(const jd_daemon *d, char **names, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                jd_entry e = JD_ENTRY_INIT;
                int r;

                if (asprintf(&path, "%s/%s", d->opt.jails_dir, names[i]) < 0)
                        continue;
                r = jd_jail_dir_remove(path);
                jd_entry_add(&e, "JAIL_ID=%s", names[i]);
                jd_entry_add(&e, "JAIL_DIR=%s", path);
                if (r < 0)
                        jd_entry_submit(&e, JD_EV_CLEANUP, LOG_WARNING,
                                        "Stale jail directory %s could not be removed: %s", path, strerror(-r));
                else
                        jd_entry_submit(&e, JD_EV_CLEANUP, LOG_NOTICE, "Removed stale jail directory %s", path);
        }
        _exit(0);
}

/* Jail directories no jail holds: left by a crash, or by a supervisor that
 * could not remove them (a mount inside, what its owner could not remove).
 * A tree of any depth, owned by a jail's user, may take long to remove: a
 * janitor process of its own does it, while jailerd already serves. */
static void clean_jails_dir(jd_daemon *d)
{
        DIR *dir = opendir(d->opt.jails_dir);
        _cleanup_free_ char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        pid_t pid;

        if (!dir)
                return;
        while ((de = readdir(dir))) {
                jd_jail *j;

                if (de->d_name[0] == '.' || !jl_jail_id_valid(de->d_name))
                        continue;
                /* A running jail's is its supervisor's. */
                j = jd_jail_find(d, de->d_name);
                if (j && j->state != JD_JAIL_EXITED)
                        continue;
                if (n == cap) {
                        char **grown = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
                        if (!grown)
                                break;
                        names = grown;
                }
                names[n] = strdup(de->d_name);
                if (names[n])
                        n++;
        }
        closedir(dir);
        if (n == 0)
                return;
        pid = fork();
        if (pid == 0)
                janitor(d, names, n);
        if (pid < 0 || sd_event_add_child(d->event, NULL, pid, WEXITED, on_janitor_exit, d) < 0) {
                if (pid > 0)
                        (void) waitpid(pid, NULL, 0);
                else
                        log_warning("cannot start the clean-up of stale jail directories: %s", strerror(errno));
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
}

int jd_jails_recover(jd_daemon *d)
{
        DIR *dir = opendir(d->jails_state_dir);
        struct dirent *de;

        if (!dir)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                if (!jl_jail_id_valid(de->d_name)) {
                        log_warning("%s/%s: not a jail id, left alone", d->jails_state_dir, de->d_name);
                        continue;
                }
                recover_one(d, de->d_name);
        }
        closedir(dir);
        clean_jails_dir(d);
        jd_cgroups_clean_stale(d);
        d->hooks->changed(d);
        return 0;
}

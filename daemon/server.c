/* SPDX-License-Identifier: MIT */
/*
 * The listening socket and the clients.  Every client socket is
 * non-blocking; each has its own input framer (lines of at most 1 MiB) and
 * output queue, capped at JD_CLIENT_OUTBUF_MAX: a client that stops reading
 * is dropped when its queue is full, so it never holds the daemon up.
 *
 * One uid must not be able to deny the daemon to another: what each uid
 * other than root holds over all its connections is counted in its tenant
 * (connections, bytes buffered) and capped (jd_options, PROTOCOL.md
 * "Limits"); a full table still lets root in, up to a reserve of its own;
 * a connection with nothing pending that sends nothing is closed after a
 * while; when accept() runs out of fds the listening socket rests instead
 * of spinning; and the messages an attacker can provoke are rate-limited.
 */
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "events.h"
#include "fsutil.h"
#include "json-util.h"
#include "log.h"
#include "policy.h"
#include "state.h"

#define READS_PER_WAKEUP 16     /* then let other clients have a turn */
#define ACCEPTS_PER_WAKEUP 64
#define ACCEPT_BACKOFF_US (100 * 1000)  /* rest after EMFILE, as systemd and nginx do */
#define TRIM_ABOVE_BYTES (256 * 1024)   /* give memory back after a uid that held this much */
#define LOG_INTERVAL_US (10 * 1000 * 1000)
#define LOG_BURST 10
#define LOGS_POLL_US (250 * 1000)       /* a held logs request looks for more output this often */
#define LOGS_OUT_HIGH (4 * JL_LOGS_CHUNK_MAX) /* queued for a client: read no more output for it */

/* What one uid holds over all its connections. */
typedef struct jd_tenant {
        uid_t uid;
        unsigned n_clients;
        size_t buffered;        /* framer and output queue memory of its clients */
        size_t peak;            /* the most it held since it came */
        struct jd_tenant *next;
} jd_tenant;

static int on_client_io(sd_event_source *src, int fd, uint32_t revents, void *userdata);
static void logs_forget_client(jd_client *c);

/* ------------------------------------------------------------------ rate-limited messages */

/* At most LOG_BURST messages of one kind per LOG_INTERVAL_US; the next one
 * after that says how many were left out. */
typedef struct ratelimit {
        uint64_t begin;
        unsigned n;
        unsigned suppressed;
} ratelimit;

static bool ratelimit_pass(ratelimit *rl, unsigned *suppressed)
{
        uint64_t now = jailer_now_monotonic_us();

        *suppressed = 0;
        if (rl->begin == 0 || now - rl->begin >= LOG_INTERVAL_US) {
                *suppressed = rl->suppressed;
                rl->begin = now;
                rl->n = 0;
                rl->suppressed = 0;
        }
        if (rl->n >= LOG_BURST) {
                rl->suppressed++;
                return false;
        }
        rl->n++;
        return true;
}

/* ------------------------------------------------------------------ tenants */

static jd_tenant *tenant_get(jd_daemon *d, uid_t uid)
{
        jd_tenant *t;

        for (t = d->tenants; t; t = t->next)
                if (t->uid == uid)
                        return t;
        t = calloc(1, sizeof *t);
        if (!t)
                return NULL;
        t->uid = uid;
        t->next = d->tenants;
        d->tenants = t;
        return t;
}

static void tenant_put(jd_daemon *d, jd_tenant *t)
{
        bool trim;

        if (!t || --t->n_clients > 0)
                return;
        trim = t->peak >= TRIM_ABOVE_BYTES;
        for (jd_tenant **p = &d->tenants; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        free(t);
        /* glibc keeps freed memory for reuse; a uid that made us hold
         * megabytes is gone, so hand them back. */
        if (trim)
                (void) malloc_trim(0);
}

/* Count what the client's buffers hold now against its uid. */
static void client_account(jd_client *c)
{
        size_t now = 0;

        if (!c->tenant)
                return;         /* not counted (any more) */
        if (c->framer)
                now += jl_framer_memory(c->framer);
        if (c->out)
                now += jl_outbuf_memory(c->out);
        c->tenant->buffered = c->tenant->buffered - c->accounted + now;
        c->tenant->peak = MAX(c->tenant->peak, c->tenant->buffered);
        c->accounted = now;
}

/* Requests of the client's uid that hold something until answered. */
static unsigned tenant_pending(const jd_daemon *d, const jd_tenant *t)
{
        unsigned n = 0;

        for (const jd_client *c = d->clients; c; c = c->next)
                if (c->tenant == t)
                        n += c->n_pending + (c->subscribed ? 1 : 0);
        return n;
}

/* ------------------------------------------------------------------ clients */

void jd_client_ref(jd_client *c)
{
        c->refs++;
}

void jd_client_unref(jd_client *c)
{
        if (!c || --c->refs > 0)
                return;
        jd_peer_done(&c->peer);
        free(c);
}

void jd_client_disconnect(jd_client *c)
{
        jd_daemon *d = c->daemon;

        if (c->dead)
                return;
        c->dead = true;
        if (c->prev)
                c->prev->next = c->next;
        else
                d->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        d->n_clients--;

        c->src = sd_event_source_disable_unref(c->src);
        c->idle_src = sd_event_source_disable_unref(c->idle_src);
        close(c->fd);
        c->fd = -1;
        jl_framer_free(c->framer);
        c->framer = NULL;
        jl_outbuf_free(c->out);
        c->out = NULL;
        logs_forget_client(c);
        jd_jails_forget_client(d, c);
        client_account(c);
        tenant_put(d, TAKE_PTR(c->tenant));
        log_debug("client uid %u pid %d disconnected", (unsigned) c->peer.uid, (int) c->peer.pid);
        d->hooks->changed(d);
        d->hooks->settled(d);
        jd_client_unref(c);     /* the list's reference */
}

static void client_update_events(jd_client *c)
{
        uint32_t ev = 0;

        if (c->dead)
                return;
        if (!c->read_eof)
                ev |= EPOLLIN;
        if (jl_outbuf_pending(c->out) > 0)
                ev |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->src, ev);
}

static bool client_finished(const jd_client *c)
{
        return c->read_eof && c->n_pending == 0 && jl_outbuf_pending(c->out) == 0;
}

static void client_flush(jd_client *c)
{
        int r;

        if (c->dead)
                return;
        r = jl_outbuf_flush(c->out, c->fd);
        client_account(c);
        if (r < 0 && r != -EAGAIN) {
                jd_client_disconnect(c);
                return;
        }
        if (client_finished(c)) {
                jd_client_disconnect(c);
                return;
        }
        client_update_events(c);
}

/* An error reply, with data.rule when rule is not NULL. */
static json_object *error_with_rule(json_object *id, const jl_rpc_error *e, const char *rule)
{
        json_object *msg = jl_reply_error(id, e), *error, *data;

        if (rule && msg && json_object_object_get_ex(msg, "error", &error) &&
            json_object_object_get_ex(error, "data", &data))
                json_object_object_add(data, "rule", json_object_new_string(rule));
        return msg;
}

void jd_client_send(jd_client *c, json_object *msg);

static void send_error_rule(jd_client *c, json_object *id, const jl_rpc_error *e, const char *rule)
{
        if (!c || c->dead)
                return;
        jd_client_send(c, error_with_rule(id, e, rule));
}

static bool client_over_buffer(jd_client *c);

/* Answer with a limit_reached error naming the limit (data.rule, the
 * jailerd option that sets it), and log it, rate-limited: a client that
 * runs into a limit on purpose must not flood the journal either. */
static void refuse_limit(jd_client *c, json_object *id, const char *method, int code, const char *reason,
                         const char *field, const char *rule, const char *fmt, ...) _printf_(8, 9);

static void refuse_limit(jd_client *c, json_object *id, const char *method, int code, const char *reason,
                         const char *field, const char *rule, const char *fmt, ...)
{
        static ratelimit rl;
        unsigned suppressed;
        jl_rpc_error e;
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        jl_rpc_error_set(&e, code, reason, field, "%s (jailerd %s)", msg, rule);

        if (ratelimit_pass(&rl, &suppressed)) {
                jd_entry en = JD_ENTRY_INIT;

                jd_entry_add(&en, "PEER_UID=%u", (unsigned) c->peer.uid);
                jd_entry_add(&en, "PEER_PID=%d", (int) c->peer.pid);
                if (method)
                        jd_entry_add(&en, "JAILER_METHOD=%s", method);
                jd_entry_add(&en, "JAILER_ERROR=%s", e.reason);
                jd_entry_add(&en, "JAILER_RULE=%s", rule);
                jd_entry_submit(&en, JD_EV_REFUSED, LOG_NOTICE, "Refused %s from uid %u pid %d: %s%s",
                                method ?: "request", (unsigned) c->peer.uid, (int) c->peer.pid, e.message,
                                suppressed ? " (and more refusals by limits, not logged)" : "");
        }
        send_error_rule(c, id, &e, rule);
}

/* The client's uid holds more than --max-buffer-per-uid: say so, and the
 * caller drops the connection, which frees what it held. */
static bool client_over_buffer(jd_client *c)
{
        jd_daemon *d = c->daemon;
        jd_tenant *t = c->tenant;

        if (c->peer.root || !t || !d->opt.max_buffer_per_uid || t->buffered <= d->opt.max_buffer_per_uid)
                return false;
        /* Stop counting this client: it goes, and its last reply must not
         * bring it here again. */
        t->buffered -= c->accounted;
        c->accounted = 0;
        c->tenant = NULL;
        refuse_limit(c, NULL, NULL, JL_RPC_LIMIT_REACHED, NULL, NULL, "--max-buffer-per-uid",
                     "uid %u holds more than %" PRIu64 " bytes of unfinished requests and unread replies: "
                     "connection closed",
                     (unsigned) c->peer.uid, d->opt.max_buffer_per_uid);
        if (c->dead)
                tenant_put(d, t);
        else
                c->tenant = t;
        return true;
}

void jd_client_send(jd_client *c, json_object *msg)
{
        if (!msg)
                return;
        if (!c || c->dead) {
                json_object_put(msg);
                return;
        }
        if (jl_outbuf_append(c->out, msg) < 0) {
                json_object_put(msg);
                jd_client_disconnect(c);
                return;
        }
        json_object_put(msg);
        client_account(c);
        if (jl_outbuf_pending(c->out) > JD_CLIENT_OUTBUF_MAX) {
                static ratelimit rl;
                unsigned suppressed;

                if (ratelimit_pass(&rl, &suppressed))
                        log_warning("client uid %u pid %d does not read its replies (%zu bytes queued): "
                                    "disconnected (%u such messages suppressed)",
                                    (unsigned) c->peer.uid, (int) c->peer.pid, jl_outbuf_pending(c->out),
                                    suppressed);
                jd_client_disconnect(c);
                return;
        }
        client_flush(c);
        if (!c->dead && client_over_buffer(c))
                jd_client_disconnect(c);
}

void jd_client_reply(jd_client *c, json_object *id, json_object *result)
{
        if (!c || c->dead) {
                json_object_put(result);
                return;
        }
        jd_client_send(c, jl_reply_result(id, result));
}

void jd_client_reply_error(jd_client *c, json_object *id, const jl_rpc_error *e)
{
        if (!c || c->dead)
                return;
        jd_client_send(c, jl_reply_error(id, e));
}

void jd_client_pending_done(jd_client *c)
{
        if (!c)
                return;
        if (c->n_pending > 0)
                c->n_pending--;
        if (!c->dead && client_finished(c))
                jd_client_disconnect(c);
}

void jd_broadcast(jd_daemon *d, const jd_jail *j, bool exited)
{
        json_object *params = NULL;
        bool built = false;

        for (jd_client *c = d->clients, *next; c; c = next) {
                next = c->next;
                if (!c->subscribed || c->dead || !jd_jail_visible(j, &c->peer))
                        continue;
                /* Built once, for the first subscriber that may see it: a
                 * daemon that nobody watches builds none (two jail records
                 * with their reports turned to JSON, per jail). */
                if (!built) {
                        params = jd_jail_event_params(j, exited);
                        built = true;
                }
                jd_client_send(c, jl_notification(exited ? JL_NOTIFY_EXITED : JL_NOTIFY_STARTED,
                                                  json_object_get(params)));
        }
        json_object_put(params);
}

/* ------------------------------------------------------------------ requests */

static void log_request(jd_client *c, const char *method, const char *jail)
{
        jd_entry e = JD_ENTRY_INIT;

        jd_entry_add(&e, "PEER_UID=%u", (unsigned) c->peer.uid);
        jd_entry_add(&e, "PEER_GID=%u", (unsigned) c->peer.gid);
        jd_entry_add(&e, "PEER_PID=%d", (int) c->peer.pid);
        jd_entry_add(&e, "JAILER_METHOD=%s", method);
        if (jail)
                jd_entry_add(&e, "JAIL_ID=%s", jail);
        jd_entry_submit(&e, JD_EV_REQUEST, LOG_INFO, "Request %s%s%s from uid %u pid %d", method,
                        jail ? " " : "", jail ?: "", (unsigned) c->peer.uid, (int) c->peer.pid);
}

/* Answer with an error and log the refusal; rule names the policy rule
 * that refused (data.rule, JAILER_RULE=), or is NULL. */
static void refuse_rule(jd_client *c, json_object *id, const char *method, const char *jail, const jl_rpc_error *e,
                        const char *rule)
{
        jd_entry en = JD_ENTRY_INIT;

        jd_entry_add(&en, "PEER_UID=%u", (unsigned) c->peer.uid);
        jd_entry_add(&en, "PEER_PID=%d", (int) c->peer.pid);
        if (method)
                jd_entry_add(&en, "JAILER_METHOD=%s", method);
        if (jail)
                jd_entry_add(&en, "JAIL_ID=%s", jail);
        jd_entry_add(&en, "JAILER_ERROR=%s", e->reason);
        if (e->field[0])
                jd_entry_add(&en, "JAILER_FIELD=%s", e->field);
        if (rule)
                jd_entry_add(&en, "JAILER_RULE=%s", rule);
        jd_entry_submit(&en, JD_EV_REFUSED, LOG_NOTICE, "Refused %s%s%s from uid %u pid %d: %s",
                        method ?: "request", jail ? " of " : "", jail ?: "", (unsigned) c->peer.uid,
                        (int) c->peer.pid, e->message);
        send_error_rule(c, id, e, rule);
}

static void refuse(jd_client *c, json_object *id, const char *method, const char *jail, const jl_rpc_error *e)
{
        refuse_rule(c, id, method, jail, e, NULL);
}

/* The jail a wait, status, logs or kill names, if the peer may see it (kill:
 * may kill it). */
static jd_jail *lookup(jd_client *c, json_object *id, jl_method method, const char *jail)
{
        const char *name = jl_method_to_string(method);
        jd_jail *j = jd_jail_find(c->daemon, jail);
        jl_rpc_error e;
        bool allowed;

        if (!j || (j->state == JD_JAIL_STARTING && !c->peer.root && j->owner_uid != c->peer.uid)) {
                jl_rpc_error_set(&e, JL_RPC_NOT_FOUND, NULL, "jail", "no jail %s", jail);
                refuse(c, id, name, jail, &e);
                return NULL;
        }
        if (method == JL_METHOD_KILL)
                allowed = jd_policy_may_kill(c->daemon, &c->peer, j->owner_uid);
        else if (method == JL_METHOD_START)
                /* Its creator's to start, as it was its creator's to create. */
                allowed = c->peer.root || j->owner_uid == c->peer.uid;
        else
                allowed = jd_jail_visible(j, &c->peer);
        if (!allowed) {
                if (j->owner_uid == c->peer.uid)
                        jl_rpc_error_set(&e, JL_RPC_PERMISSION_DENIED, NULL, "jail",
                                         "jail %s: the policy does not let uid %u %s its own jails (policy rule "
                                         "clients)",
                                         jail, (unsigned) c->peer.uid,
                                         method == JL_METHOD_KILL ? "kill" : method == JL_METHOD_START ? "start" : "see");
                else
                        jl_rpc_error_set(&e, JL_RPC_PERMISSION_DENIED, NULL, "jail",
                                         "jail %s belongs to another user (policy rule clients)", jail);
                refuse_rule(c, id, name, jail, &e, "clients");
                return NULL;
        }
        return j;
}

/* The daemon's controlling terminal (0: none), from /proc/self/stat. */
static dev_t own_ctty(void)
{
        _cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        char buf[1024];
        const char *p;
        ssize_t n;
        int tty_nr;

        if (fd < 0 || (n = read(fd, buf, sizeof buf - 1)) <= 0)
                return 0;
        buf[n] = '\0';
        if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %*c %*d %*d %*d %d", &tty_nr) != 1 || tty_nr == 0)
                return 0;
        /* proc(5): major in bits 15-8, minor in 31-20 and 7-0. */
        return makedev(((unsigned) tty_nr >> 8) & 0xff,
                       ((unsigned) tty_nr & 0xff) | (((unsigned) tty_nr >> 12) & 0xfff00));
}

/* Is rdev the terminal jailerd runs on: its controlling one, or its own
 * stdio's?  A jail must not read or ioctl() its way into that. */
static bool own_tty(dev_t rdev)
{
        dev_t ctty = own_ctty();
        struct stat st;

        if (ctty != 0 && rdev == ctty)
                return true;
        for (int fd = 0; fd < 3; fd++)
                if (isatty(fd) && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev)
                        return true;
        return false;
}

/* Character devices that give nothing away, and are commonly passed:
 * /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom (mem 1:N). */
static bool harmless_chr(dev_t rdev)
{
        return major(rdev) == 1 && (minor(rdev) == 3 || minor(rdev) == 5 || minor(rdev) == 7 || minor(rdev) == 8 ||
                                    minor(rdev) == 9);
}

/* What a jail may get as its stdio (PROTOCOL.md, "File descriptors"): a
 * pipe, a socket, a regular file, a terminal that is not ours, or a
 * harmless character device — never a directory, an O_PATH fd, another
 * device: the jail would openat() or ioctl() through it into the host.
 * Checked before anything else is done with the request. */
static int check_stdio_fds(const jl_request *req, jl_rpc_error *e)
{
        static const char *const names[3] = { "stdin", "stdout", "stderr" };

        for (size_t i = 0; i < req->n_fds && i < 3; i++) {
                int fd = req->fds[i], fl = fcntl(fd, F_GETFL);
                const char *what = NULL;
                struct stat st;

                if (fl < 0 || fstat(fd, &st) < 0)
                        what = "not an open file";
                else if (fl & O_PATH)
                        what = "an O_PATH file descriptor";
                else if (S_ISCHR(st.st_mode)) {
                        if (!harmless_chr(st.st_rdev) && !isatty(fd))
                                what = "a character device other than a terminal or /dev/null";
                        else if (isatty(fd) && own_tty(st.st_rdev))
                                what = "jailerd's own terminal";
                } else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
                        what = jailer_file_type_name(st.st_mode);
                if (what)
                        return jl_rpc_error_set(e, JL_RPC_INVALID_PARAMS, JL_REASON_INVALID_FDS, names[i],
                                                "%s: the file descriptor passed is %s; only pipes, sockets, "
                                                "regular files, terminals and /dev/null may be passed",
                                                names[i], what);
        }
        return 0;
}


/* ------------------------------------------------------------------ logs */

/* A logs request: the jail's console.log from offset on, one chunk of at
 * most JL_LOGS_CHUNK_MAX bytes per reply; the client asks again from
 * next_offset.  When there is nothing to send yet (follow, the jail runs)
 * or the client has not read what it was sent (LOGS_OUT_HIGH queued), the
 * request is held, counted as pending, and looked at again every
 * LOGS_POLL_US: memory per request is one chunk, and a slow reader only
 * slows itself. */
typedef struct jd_logs {
        jd_client *client;
        json_object *id;
        char jail[JAILER_ID_MAX + 1];
        const jd_jail *j;               /* the jail asked about, compared, never used once it is gone */
        uint64_t started_at_us;
        uint64_t offset;
        bool follow;
        int fd;                         /* console.log, -1 until it exists */
        sd_event_source *timer;
        struct jd_logs *next;
} jd_logs;

static void logs_free(jd_logs *r)
{
        if (!r)
                return;
        r->timer = sd_event_source_disable_unref(r->timer);
        if (r->fd >= 0)
                close(r->fd);
        json_object_put(r->id);
        free(r);
}

static void logs_unlink(jd_logs *r)
{
        for (jd_logs **p = &r->client->logs; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        return;
                }
}

static void logs_forget_client(jd_client *c)
{
        while (c->logs) {
                jd_logs *r = c->logs;

                c->logs = r->next;
                logs_free(r);
        }
}

/* The jail's console.log, opened once and read by fd.  The state
 * directory is root's (0700) and the jail never writes there but through
 * its supervisor; still, take only a regular file, follow no symlink and do
 * not block on a FIFO.  -ENOENT: no output kept (yet). */
static int logs_open(const jd_jail *j)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (!j->state_dir || asprintf(&path, "%s/%s", j->state_dir, JD_CONSOLE_LOG) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return TAKE_FD(fd);
}

/* The reply to r now, or NULL to hold it (*e set and NULL returned: an
 * error reply). */
static json_object *logs_answer(jd_logs *r, jl_rpc_error *e, bool *failed)
{
        jd_daemon *d = r->client->daemon;
        _cleanup_free_ unsigned char *buf = NULL;
        const jd_jail *j = jd_jail_find(d, r->jail);
        bool same, ended;
        uint64_t size = 0;
        struct stat st;
        ssize_t n;

        *failed = false;
        if (jl_outbuf_pending(r->client->out) > LOGS_OUT_HIGH)
                return NULL;    /* the client reads slowly: send nothing more yet */

        /* First whether the jail has ended, then how much output there is:
         * its supervisor wrote all of it before it exited. */
        same = j && j == r->j && (r->started_at_us == 0 || j->started_at_us == r->started_at_us);
        ended = !same || j->state == JD_JAIL_EXITED;
        if (same)
                r->started_at_us = j->started_at_us;
        if (r->fd < 0 && same) {
                int fd = logs_open(j);

                if (fd < 0 && fd != -ENOENT) {
                        *failed = true;
                        jl_rpc_error_set(e, JL_RPC_INTERNAL, NULL, NULL, "jail %s: %s: %s", r->jail, JD_CONSOLE_LOG,
                                         strerror(-fd));
                        return NULL;
                }
                r->fd = fd;
        }
        if (r->fd >= 0) {
                if (fstat(r->fd, &st) < 0) {
                        *failed = true;
                        jl_rpc_error_set(e, JL_RPC_INTERNAL, NULL, NULL, "jail %s: %s: %m", r->jail, JD_CONSOLE_LOG);
                        return NULL;
                }
                size = (uint64_t) st.st_size;
        }
        if (r->offset > size) {
                *failed = true;
                jl_rpc_error_set(e, JL_RPC_INVALID_PARAMS, NULL, "offset",
                                 "offset: %" PRIu64 " is beyond the end of jail %s's output (%" PRIu64 " bytes)",
                                 r->offset, r->jail, size);
                return NULL;
        }
        if (r->offset == size) {
                if (r->follow && !ended)
                        return NULL;
                return jl_logs_result(r->jail, r->offset, "", 0, ended);
        }

        n = (ssize_t) MIN(size - r->offset, (uint64_t) JL_LOGS_CHUNK_MAX);
        buf = malloc((size_t) n);
        if (buf)
                n = pread(r->fd, buf, (size_t) n, (off_t) r->offset);
        if (!buf || n < 0) {
                *failed = true;
                jl_rpc_error_set(e, JL_RPC_INTERNAL, NULL, NULL, "jail %s: %s: %s", r->jail, JD_CONSOLE_LOG,
                                 buf ? strerror(errno) : "out of memory");
                return NULL;
        }
        return jl_logs_result(r->jail, r->offset, buf, (size_t) n,
                              ended && r->offset + (uint64_t) n == size);
}

/* Answer r if it can be; true when it was (r is then unlinked but not
 * freed). */
static bool logs_try(jd_logs *r, bool held)
{
        jd_client *c = r->client;
        json_object *msg;
        jl_rpc_error e;
        bool failed;

        msg = logs_answer(r, &e, &failed);
        if (!msg && !failed)
                return false;
        if (held)
                logs_unlink(r);
        jd_client_ref(c);
        if (msg)
                jd_client_reply(c, r->id, msg);
        else
                refuse(c, r->id, "logs", r->jail, &e);
        if (held)
                jd_client_pending_done(c);
        jd_client_unref(c);
        return true;
}

static int on_logs_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        jd_logs *r = userdata;

        if (logs_try(r, true)) {
                logs_free(r);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, LOGS_POLL_US);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static void do_logs(jd_client *c, jl_request *req)
{
        jd_daemon *d = c->daemon;
        const char *jail = NULL;
        jd_logs *r;
        jl_rpc_error e;
        uint64_t offset;
        bool follow;
        jd_jail *j;

        if (jl_logs_params_decode(req->params, &jail, &offset, &follow, &e) < 0) {
                log_request(c, "logs", NULL);
                refuse(c, req->id, "logs", NULL, &e);
                return;
        }
        /* One reading is many requests (one per chunk): log its first. */
        if (offset == 0)
                log_request(c, "logs", jail);
        j = lookup(c, req->id, JL_METHOD_LOGS, jail);
        if (!j)
                return;

        r = calloc(1, sizeof *r);
        if (!r) {
                jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                refuse(c, req->id, "logs", jail, &e);
                return;
        }
        *r = (jd_logs) { .client = c, .id = json_object_get(req->id), .j = j, .started_at_us = j->started_at_us,
                         .offset = offset, .follow = follow, .fd = -1 };
        snprintf(r->jail, sizeof r->jail, "%s", jail);
        if (logs_try(r, false)) {
                logs_free(r);
                return;
        }
        if (sd_event_add_time_relative(d->event, &r->timer, CLOCK_MONOTONIC, LOGS_POLL_US, 50 * 1000,
                                       on_logs_timer, r) < 0) {
                jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                refuse(c, req->id, "logs", jail, &e);
                logs_free(r);
                return;
        }
        r->next = c->logs;
        c->logs = r;
        c->n_pending++;
}

static void do_create(jd_client *c, jl_request *req)
{
        jd_daemon *d = c->daemon;
        jailer_config *cfg = NULL;
        jl_rpc_error e;
        bool root_given = false;
        const char *id, *rule = NULL;
        char jail_id[JAILER_ID_MAX + 1] = "";
        int fds[3] = { -1, -1, -1 };
        jl_create_opts opts;

        if (d->shutting_down) {
                jl_rpc_error_set(&e, JL_RPC_SHUTTING_DOWN, NULL, NULL, "jailerd is stopping");
                goto refused;
        }
        if (check_stdio_fds(req, &e) < 0)
                goto refused;
        if (jl_create_opts_take(req->params, &opts, &e) < 0 ||
            jl_create_params_parse(req->params, &cfg, &root_given, &e) < 0)
                goto refused;

        id = jailer_config_get_id(cfg);
        if (id && jl_jail_id_valid(id))
                snprintf(jail_id, sizeof jail_id, "%s", id);
        log_request(c, "create", jail_id[0] ? jail_id : NULL);

        if (!root_given) {
                /* Our own directory for this jail; with a bad id the
                 * validator below names the id as the culprit. */
                _cleanup_free_ char *root = NULL;

                if (asprintf(&root, "%s/%s", d->opt.jails_dir, jail_id[0] ? jail_id : "_") < 0 ||
                    jailer_config_set_jail_root(cfg, root) < 0) {
                        jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                        goto refused;
                }
        }
        if (jl_create_params_validate(cfg, &e) < 0)
                goto refused;
        if (jd_policy_check_create(d, &c->peer, cfg, root_given, &e, &rule) < 0)
                goto refused;
        /* The policy may have filled in limits and ids: still a valid jail? */
        if (jl_create_params_validate(cfg, &e) < 0)
                goto refused;
        if (!jailer_config_get_cgroup_parent(cfg) && jailer_config_set_cgroup_parent(cfg, d->cgroup_parent) < 0) {
                jl_rpc_error_set(&e, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                goto refused;
        }

        if (req->n_fds == 3)
                for (size_t i = 0; i < 3; i++) {
                        fds[i] = req->fds[i];
                        req->fds[i] = -1;
                }
        if (jd_jail_create(d, c, req->id, TAKE_PTR(cfg), &opts, !root_given, fds, &e) < 0)
                goto refused;
        return;

refused:
        if (!jail_id[0])
                log_request(c, "create", NULL);
        jailer_config_free(cfg);
        refuse_rule(c, req->id, "create", jail_id[0] ? jail_id : NULL, &e, rule);
}

static void replay_one(const jd_jail *j, bool exited, void *userdata)
{
        jd_client_send(userdata, jl_notification(exited ? JL_NOTIFY_EXITED : JL_NOTIFY_STARTED,
                                                 jd_jail_event_params(j, exited)));
}

/* subscribe [cursor]: the events after the cursor first (those of kept
 * records), then every new one as it happens. */
static void do_subscribe(jd_client *c, jl_request *req)
{
        jd_daemon *d = c->daemon;
        const char *cursor = NULL;
        char now[JD_CURSOR_MAX];
        uint64_t after = UINT64_MAX;
        json_object *res;
        jl_rpc_error e;

        log_request(c, "subscribe", NULL);
        if (jl_subscribe_params_decode(req->params, &cursor, &e) < 0) {
                refuse(c, req->id, "subscribe", NULL, &e);
                return;
        }
        if (cursor && jd_cursor_parse(d, cursor, &after) < 0) {
                jl_rpc_error_set(&e, JL_RPC_INVALID_PARAMS, NULL, "cursor",
                                 "cursor: \"%.64s\" is not a cursor (EPOCH:SEQ, as a notification's \"cursor\")",
                                 cursor);
                refuse(c, req->id, "subscribe", NULL, &e);
                return;
        }
        if (!(jd_policy_rights(d, &c->peer) & (JD_RIGHT_SEE_OWN | JD_RIGHT_SEE_ALL))) {
                jl_rpc_error_set(&e, JL_RPC_PERMISSION_DENIED, NULL, NULL,
                                 "uid %u may not see jails: no rule of the policy gives it see_own or see_all "
                                 "(policy rule clients)",
                                 (unsigned) c->peer.uid);
                refuse_rule(c, req->id, "subscribe", NULL, &e, "clients");
                return;
        }
        jd_cursor_format(d, d->event_seq, now);
        res = json_object_new_object();
        if (res)
                json_object_object_add(res, "cursor", json_object_new_string(now));
        jd_client_reply(c, req->id, res);
        if (cursor)
                jd_events_replay(d, &c->peer, after, replay_one, c);
        c->subscribed = true;
}

static void do_version(jd_client *c, jl_request *req)
{
        jl_rpc_error e;

        log_request(c, "version", NULL);
        if (jl_empty_params_decode(req->params, &e) < 0)
                refuse(c, req->id, "version", NULL, &e);
        else
                jd_client_reply(c, req->id, jl_version_result(jailer_version(), c->daemon->cgroup_version));
}

static void do_list(jd_client *c, jl_request *req)
{
        json_object *list;
        jl_rpc_error e;

        log_request(c, "list", NULL);
        if (jl_empty_params_decode(req->params, &e) < 0) {
                refuse(c, req->id, "list", NULL, &e);
                return;
        }
        list = jl_list_result_new();
        for (jd_jail *j = c->daemon->jails; j; j = j->next)
                if (j->state != JD_JAIL_STARTING && jd_jail_visible(j, &c->peer))
                        (void) jl_list_result_add(list, jd_jail_info(j, NULL, NULL));
        jd_client_reply(c, req->id, list);
}

/* The jail a request names, once its params were decoded (decoded < 0:
 * they were not, *e says why): logged, looked up, refused when the peer
 * may not see it.  NULL when the request has been answered. */
static jd_jail *request_jail(jd_client *c, jl_request *req, int decoded, const char *jail, const jl_rpc_error *e)
{
        const char *method = jl_method_to_string(req->method);

        if (decoded < 0) {
                log_request(c, method, NULL);
                refuse(c, req->id, method, NULL, e);
                return NULL;
        }
        log_request(c, method, jail);
        return lookup(c, req->id, req->method, jail);
}

/* The jail of a request whose params are {"jail": ID} (wait, status,
 * start), or NULL when the request has been answered. */
static jd_jail *named_jail(jd_client *c, jl_request *req, const char **jail, jl_rpc_error *e)
{
        int r = jl_jail_params_decode(req->params, jail, e);

        return request_jail(c, req, r, *jail, e);
}

static void do_wait(jd_client *c, jl_request *req)
{
        const char *jail = NULL;
        jl_rpc_error e;
        jd_jail *j = named_jail(c, req, &jail, &e);

        if (j)
                jd_jail_wait(j, c, req->id);
}

static void do_status(jd_client *c, jl_request *req)
{
        const char *jail = NULL;
        jl_rpc_error e;
        jd_jail *j = named_jail(c, req, &jail, &e);

        if (!j)
                return;
        if (j->state != JD_JAIL_RUNNING)
                jd_client_reply(c, req->id, jd_jail_info(j, NULL, NULL));
        else if (jd_jail_control(j, c, req->id, JL_METHOD_STATUS, 0, &e) < 0)
                refuse(c, req->id, "status", jail, &e);
}

static void do_kill(jd_client *c, jl_request *req)
{
        const char *jail = NULL;
        jl_rpc_error e;
        int sig = 0;
        int r = jl_kill_params_decode(req->params, &jail, &sig, &e);
        jd_jail *j = request_jail(c, req, r, jail, &e);

        if (!j)
                return;
        if (j->state != JD_JAIL_RUNNING && j->state != JD_JAIL_PREPARED) {
                jl_rpc_error_set(&e, JL_RPC_NOT_RUNNING, NULL, NULL, "jail %s is %s", jail,
                                 j->state == JD_JAIL_EXITED ? "not running" : "still starting");
                refuse(c, req->id, "kill", jail, &e);
                return;
        }
        /* A prepared jail's program has not run: it is removed, whatever
         * the signal (its PID 1 would ignore most). */
        if (j->state == JD_JAIL_PREPARED)
                sig = SIGKILL;
        if (jd_jail_control(j, c, req->id, JL_METHOD_KILL, sig, &e) < 0)
                refuse(c, req->id, "kill", jail, &e);
}

static void do_start(jd_client *c, jl_request *req)
{
        const char *jail = NULL;
        jl_rpc_error e;
        jd_jail *j = named_jail(c, req, &jail, &e);

        if (!j)
                return;
        if (j->state == JD_JAIL_PREPARED && j->starting) {
                jl_rpc_error_set(&e, JL_RPC_NOT_PREPARED, NULL, "jail", "jail %s is being started", jail);
                refuse(c, req->id, "start", jail, &e);
        } else if (j->state != JD_JAIL_PREPARED) {
                jl_rpc_error_set(&e, JL_RPC_NOT_PREPARED, NULL, "jail", "jail %s is not a prepared jail: it %s", jail,
                                 j->state == JD_JAIL_RUNNING  ? "runs (started already)" :
                                 j->state == JD_JAIL_EXITED   ? "has ended" :
                                                                "is still being created");
                refuse(c, req->id, "start", jail, &e);
        } else if (jd_jail_control(j, c, req->id, JL_METHOD_START, 0, &e) < 0)
                refuse(c, req->id, "start", jail, &e);
}

/* Every method: its handler, and whether it may be held until something
 * happens (a jail starts or ends, a supervisor answers, output comes) —
 * such requests count against the uid's pending requests. */
static const struct {
        void (*run)(jd_client *c, jl_request *req);
        bool held;
} handlers[_JL_METHOD_MAX] = {
        [JL_METHOD_VERSION] = { do_version, false },
        [JL_METHOD_CREATE] = { do_create, true },
        [JL_METHOD_WAIT] = { do_wait, true },
        [JL_METHOD_KILL] = { do_kill, true },
        [JL_METHOD_LIST] = { do_list, false },
        [JL_METHOD_STATUS] = { do_status, true },
        [JL_METHOD_SUBSCRIBE] = { do_subscribe, true },
        [JL_METHOD_LOGS] = { do_logs, true },
        [JL_METHOD_START] = { do_start, true },
};

/* Refuse a request that may be held when the uid's pending requests are
 * full. */
static bool over_pending(jd_client *c, const jl_request *req)
{
        jd_daemon *d = c->daemon;
        unsigned n;

        if (c->peer.root || !d->opt.max_pending_per_uid || !c->tenant || !handlers[req->method].held)
                return false;
        if (req->method == JL_METHOD_SUBSCRIBE && c->subscribed)
                return false;
        n = tenant_pending(d, c->tenant);
        if (n < d->opt.max_pending_per_uid)
                return false;
        refuse_limit(c, req->id, jl_method_to_string(req->method), JL_RPC_LIMIT_REACHED, NULL, NULL,
                     "--max-pending-per-uid",
                     "uid %u has %u requests pending (waits, subscriptions, ...), the most one uid may have",
                     (unsigned) c->peer.uid, n);
        return true;
}

static void do_request(jd_client *c, jl_request *req)
{
        jd_daemon *d = c->daemon;
        const char *method = jl_method_to_string(req->method);
        jl_rpc_error e;

        if (!jd_policy_rights(d, &c->peer)) {
                log_request(c, method, NULL);
                jl_rpc_error_set(&e, JL_RPC_PERMISSION_DENIED, NULL, NULL,
                                 "uid %u is neither root nor given any right by the policy %s (policy rule clients)",
                                 (unsigned) c->peer.uid, jd_policy_source(d->policy));
                refuse_rule(c, req->id, method, NULL, &e, "clients");
                return;
        }
        if (req->method < 0 || req->method >= _JL_METHOD_MAX || !handlers[req->method].run) {
                jl_rpc_error_set(&e, JL_RPC_METHOD_NOT_FOUND, NULL, "method", "unknown method");
                refuse(c, req->id, method, NULL, &e);
                return;
        }
        if (over_pending(c, req))
                return;
        handlers[req->method].run(c, req);
}

/* A string id longer than --max-id-length: the daemon would keep it as
 * long as the request is pending, and echo it. */
static bool id_too_long(const jd_daemon *d, json_object *id)
{
        return id && d->opt.max_id_length && json_object_is_type(id, json_type_string) &&
               (size_t) json_object_get_string_len(id) > d->opt.max_id_length;
}

static void handle_line(jd_client *c, jl_line *line)
{
        jd_daemon *d = c->daemon;
        jl_request req = { 0 };
        json_object *id = NULL;
        jl_rpc_error e;

        if (jl_request_decode(line, &req, &id, &e) < 0) {
                if (id_too_long(d, id))
                        json_putp(&id);  /* answer with "id": null rather than echo it */
                refuse(c, id, NULL, NULL, &e);
                json_object_put(id);
                return;
        }
        if (id_too_long(d, req.id)) {
                refuse_limit(c, NULL, jl_method_to_string(req.method), JL_RPC_INVALID_REQUEST, NULL, "id",
                             "--max-id-length", "id: a string of %zu bytes, longer than the %u bytes allowed",
                             (size_t) json_object_get_string_len(req.id), d->opt.max_id_length);
                jl_request_done(&req);
                return;
        }
        do_request(c, &req);
        jl_request_done(&req);
}

/* ------------------------------------------------------------------ idle connections */

/* A connection that has nothing pending and sends nothing for
 * --idle-timeout is closed: idle connections must not fill the table. */
static int on_client_idle(sd_event_source *src, uint64_t usec, void *userdata)
{
        jd_client *c = userdata;
        jd_daemon *d = c->daemon;

        if (c->n_pending > 0 || c->subscribed || jl_outbuf_pending(c->out) > 0) {
                (void) sd_event_source_set_time_relative(src, d->opt.idle_timeout_us);
                (void) sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
                return 0;
        }
        jd_client_ref(c);
        refuse_limit(c, NULL, NULL, JL_RPC_LIMIT_REACHED, NULL, NULL, "--idle-timeout",
                     "connection idle for %" PRIu64 " s with nothing pending: closed",
                     d->opt.idle_timeout_us / 1000000);
        if (!c->dead)
                (void) jl_outbuf_flush(c->out, c->fd);
        jd_client_disconnect(c);
        jd_client_unref(c);
        return 0;
}

static int client_watch_idle(jd_client *c)
{
        jd_daemon *d = c->daemon;

        if (!d->opt.idle_timeout_us)
                return 0;
        return sd_event_add_time_relative(d->event, &c->idle_src, CLOCK_MONOTONIC, d->opt.idle_timeout_us,
                                          100 * 1000, on_client_idle, c);
}

/* The client sent something: its idle time starts again. */
static void client_heard(jd_client *c)
{
        if (!c->idle_src)
                return;
        (void) sd_event_source_set_time_relative(c->idle_src, c->daemon->opt.idle_timeout_us);
        (void) sd_event_source_set_enabled(c->idle_src, SD_EVENT_ONESHOT);
}

static int on_client_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        jd_client *c = userdata;

        jd_client_ref(c);
        if (revents & EPOLLOUT)
                client_flush(c);

        if (!c->dead && !c->read_eof && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                for (int i = 0; i < READS_PER_WAKEUP && !c->dead; i++) {
                        ssize_t n = jl_framer_read(c->framer, c->fd);
                        jl_line *line;

                        if (n == -EAGAIN)
                                break;
                        if (n < 0) {
                                jd_client_disconnect(c);
                                break;
                        }
                        client_heard(c);
                        while (!c->dead && jl_framer_next(c->framer, &line) > 0) {
                                handle_line(c, line);
                                jl_line_free(line);
                        }
                        if (c->dead)
                                break;
                        client_account(c);
                        if (client_over_buffer(c)) {
                                jd_client_disconnect(c);
                                break;
                        }
                        if (n == 0) {
                                /* Half-closed: what is pending still gets
                                 * its answer, then the connection goes. */
                                c->read_eof = true;
                                break;
                        }
                }
        }

        if (!c->dead) {
                /* EPOLLHUP on a Unix socket: the peer has shut down both
                 * ways (closed it).  It can read no answer: drop it now
                 * with what it has pending (a wait, a logs -f stopped by
                 * ^C), or epoll reports the hang-up again and again until
                 * that jail ends.  A peer that only shut down writing
                 * (read_eof without EPOLLHUP) still gets its answers. */
                if (c->read_eof && (revents & (EPOLLHUP | EPOLLERR)))
                        jd_client_disconnect(c);
                else
                        client_flush(c);
        }
        jd_client_unref(c);
        return 0;
}

/* ------------------------------------------------------------------ listening */

/* Refuse a connection before it costs anything: one line, best effort, and
 * close. */
static void refuse_connection(jd_daemon *d, int fd, const jd_peer *peer, const char *rule, const char *fmt, ...)
        _printf_(5, 6);

static void refuse_connection(jd_daemon *d, int fd, const jd_peer *peer, const char *rule, const char *fmt, ...)
{
        static ratelimit rl;
        _cleanup_json_ json_object *msg = NULL;
        _cleanup_free_ char *line = NULL;
        unsigned suppressed;
        jl_rpc_error e;
        char text[256];
        size_t len;
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        jl_rpc_error_set(&e, JL_RPC_LIMIT_REACHED, NULL, NULL, "%s (jailerd %s)", text, rule);
        msg = error_with_rule(NULL, &e, rule);
        line = msg ? jl_message_serialize(msg, &len) : NULL;
        if (line)
                (void) send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        close(fd);

        if (ratelimit_pass(&rl, &suppressed)) {
                jd_entry en = JD_ENTRY_INIT;

                jd_entry_add(&en, "PEER_UID=%u", (unsigned) peer->uid);
                jd_entry_add(&en, "PEER_PID=%d", (int) peer->pid);
                jd_entry_add(&en, "JAILER_ERROR=%s", e.reason);
                jd_entry_add(&en, "JAILER_RULE=%s", rule);
                jd_entry_submit(&en, JD_EV_REFUSED, LOG_NOTICE, "Refused a connection from uid %u pid %d: %s%s",
                                (unsigned) peer->uid, (int) peer->pid, e.message,
                                suppressed ? " (and more refused connections, not logged)" : "");
        }
}

/* May this peer have one more connection?  Root is not counted against a
 * full table up to root_reserve connections more; nobody else may go past
 * the table or its uid's share of it. */
static bool admit(jd_daemon *d, int fd, const jd_peer *peer, const jd_tenant *t)
{
        const jd_options *o = &d->opt;

        if (peer->root) {
                if (o->max_clients && d->n_clients >= o->max_clients + o->root_reserve) {
                        refuse_connection(d, fd, peer, "--max-clients",
                                          "too many clients (%u, and root's reserve of %u is in use)",
                                          o->max_clients, o->root_reserve);
                        return false;
                }
                return true;
        }
        if (o->max_clients && d->n_clients >= o->max_clients) {
                refuse_connection(d, fd, peer, "--max-clients", "too many clients (%u)", o->max_clients);
                return false;
        }
        if (o->max_clients_per_uid && t->n_clients >= o->max_clients_per_uid) {
                refuse_connection(d, fd, peer, "--max-clients-per-uid",
                                  "uid %u has %u connections, the most one uid may have", (unsigned) peer->uid,
                                  t->n_clients);
                return false;
        }
        return true;
}

static void new_client(jd_daemon *d, int fd)
{
        jd_client *c;
        jd_tenant *t;

        c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return;
        }
        c->daemon = d;
        c->refs = 1;
        c->fd = fd;
        if (jd_peer_read(fd, d, &c->peer) < 0 || !(t = tenant_get(d, c->peer.uid))) {
                jd_peer_done(&c->peer);
                free(c);
                close(fd);
                return;
        }
        if (!admit(d, fd, &c->peer, t)) {
                t->n_clients++;
                tenant_put(d, t);       /* frees it when it was new */
                jd_peer_done(&c->peer);
                free(c);
                return;
        }
        c->tenant = t;
        t->n_clients++;
        c->framer = jl_framer_new();
        c->out = jl_outbuf_new();
        if (!c->framer || !c->out || sd_event_add_io(d->event, &c->src, fd, EPOLLIN, on_client_io, c) < 0 ||
            client_watch_idle(c) < 0) {
                c->src = sd_event_source_disable_unref(c->src);
                jl_framer_free(c->framer);
                jl_outbuf_free(c->out);
                tenant_put(d, TAKE_PTR(c->tenant));
                jd_peer_done(&c->peer);
                free(c);
                close(fd);
                return;
        }
        client_account(c);
        c->next = d->clients;
        if (d->clients)
                d->clients->prev = c;
        d->clients = c;
        d->n_clients++;

        log_debug("client uid %u pid %d connected", (unsigned) c->peer.uid, (int) c->peer.pid);
        d->hooks->changed(d);
}

static int on_accept_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        jd_daemon *d = userdata;

        d->accept_retry = sd_event_source_disable_unref(d->accept_retry);
        if (d->listen_src)
                (void) sd_event_source_set_enabled(d->listen_src, SD_EVENT_ON);
        return 0;
}

/* Out of fds (or memory): the connection stays in the backlog and the
 * socket stays readable, so trying again at once would spin.  Rest the
 * listening socket a little instead; clients that go free fds meanwhile. */
static void accept_backoff(jd_daemon *d, int error)
{
        static ratelimit rl;
        unsigned suppressed;

        if (ratelimit_pass(&rl, &suppressed))
                log_warning("accept: %s: not accepting connections for %d ms (%u such messages suppressed)",
                            strerror(error), ACCEPT_BACKOFF_US / 1000, suppressed);
        if (d->accept_retry)
                return;
        if (sd_event_add_time_relative(d->event, &d->accept_retry, CLOCK_MONOTONIC, ACCEPT_BACKOFF_US, 10 * 1000,
                                       on_accept_retry, d) < 0)
                return; /* cannot rest: keep trying */
        (void) sd_event_source_set_enabled(d->listen_src, SD_EVENT_OFF);
}

static int on_listen(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        jd_daemon *d = userdata;

        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                break;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                accept_backoff(d, errno);
                                break;
                        }
                        static ratelimit rl;
                        unsigned suppressed;

                        if (ratelimit_pass(&rl, &suppressed))
                                log_warning("accept: %m (%u such messages suppressed)", suppressed);
                        break;
                }
                new_client(d, cfd);
        }
        return 0;
}

static void resolve_group(jd_daemon *d, gid_t socket_gid)
{
        struct group grp, *res = NULL;
        char buf[4096];

        /* A passed socket's group is what systemd made it (SocketGroup=). */
        if (socket_gid != 0 && socket_gid != (gid_t) -1) {
                d->group = socket_gid;
                d->have_group = true;
                return;
        }
        if (getgrnam_r(d->opt.group, &grp, buf, sizeof buf, &res) == 0 && res) {
                d->group = res->gr_gid;
                d->have_group = true;
        }
}

static int socket_gid_of(int fd, gid_t *gid)
{
        struct sockaddr_un sa;
        socklen_t len = sizeof sa;
        struct stat st;

        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return -errno;
        if (len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                return -EINVAL;
        sa.sun_path[MIN(len - offsetof(struct sockaddr_un, sun_path), sizeof sa.sun_path - 1)] = '\0';
        if (stat(sa.sun_path, &st) < 0)
                return -errno;
        *gid = st.st_gid;
        return 0;
}

static int mkdir_parents(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        return 0;
}

static int bind_own(jd_daemon *d, const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        struct stat st;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof sa.sun_path) {
                log_error("socket path %s is too long", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);

        r = mkdir_parents(path, 0755);
        if (r < 0) {
                log_error("cannot create the directory of %s: %s", path, strerror(-r));
                return r;
        }

        if (lstat(path, &st) == 0) {
                _cleanup_close_ int probe = -1;

                if (!S_ISSOCK(st.st_mode)) {
                        log_error("%s exists and is not a socket", path);
                        return -EEXIST;
                }
                probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof sa) == 0) {
                        log_error("another daemon listens on %s", path);
                        return -EADDRINUSE;
                }
                (void) unlink(path);    /* stale: its daemon is gone */
        }

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        old = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0) {
                r = -errno;
                log_error("cannot bind %s: %s", path, strerror(-r));
                return r;
        }
        d->bound_path = strdup(path);

        resolve_group(d, (gid_t) -1);
        if (d->have_group) {
                if (chown(path, 0, d->group) < 0 || chmod(path, 0660) < 0)
                        log_warning("cannot give %s to group %s: %m", path, d->opt.group);
        } else
                log_warning("group %s does not exist: %s is root's only (0600)", d->opt.group, path);

        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        d->listen_fd = TAKE_FD(fd);
        return 0;
}

int jd_server_listen(jd_daemon *d)
{
        int n, r;

        n = sd_listen_fds(true);
        if (n < 0) {
                log_error("sd_listen_fds: %s", strerror(-n));
                return n;
        }
        if (n > 1) {
                log_error("got %d sockets from the service manager, expected one", n);
                return -EINVAL;
        }
        if (n == 1) {
                int fd = SD_LISTEN_FDS_START;
                gid_t gid = (gid_t) -1;

                if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
                        log_error("the passed fd %d is not a listening Unix stream socket", fd);
                        return -EINVAL;
                }
                /* Passed without O_CLOEXEC: supervisors must not inherit it. */
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                (void) jd_fd_nonblock(fd, true);
                d->listen_fd = fd;
                d->listen_passed = true;
                (void) socket_gid_of(fd, &gid);
                resolve_group(d, gid);
                if (!d->have_group)
                        log_warning("the socket's group is root and group %s does not exist: only root may use it",
                                    d->opt.group);
        } else {
                r = bind_own(d, d->opt.socket_path);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_io(d->event, &d->listen_src, d->listen_fd, EPOLLIN, on_listen, d);
        if (r < 0)
                return r;
        return 0;
}

void jd_server_stop_listening(jd_daemon *d)
{
        struct stat st;

        d->listen_src = sd_event_source_disable_unref(d->listen_src);
        d->accept_retry = sd_event_source_disable_unref(d->accept_retry);
        if (d->listen_fd < 0)
                return;
        /* A socket systemd passed is systemd's: it keeps listening (and
         * queueing connections that will start us again); only close our
         * copy.  Our own socket we remove. */
        if (!d->listen_passed && d->bound_path && lstat(d->bound_path, &st) == 0 && S_ISSOCK(st.st_mode))
                (void) unlink(d->bound_path);
        close(d->listen_fd);
        d->listen_fd = -1;
}

void jd_clients_shutdown(jd_daemon *d)
{
        /* Whatever can still be written goes out now; then every client is
         * dropped. */
        for (jd_client *c = d->clients, *next; c; c = next) {
                next = c->next;
                jd_client_ref(c);
                if (!c->dead)
                        (void) jl_outbuf_flush(c->out, c->fd);
                jd_client_disconnect(c);
                jd_client_unref(c);
        }
}

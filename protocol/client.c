/* SPDX-License-Identifier: MIT */
/*
 * A small blocking client of the jailerd protocol, for jailerctl and tests.
 * Requests may be pipelined; replies are matched by id, and messages that
 * arrive while waiting for something else are kept for later.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jailer-internal.h"
#include "protocol.h"

struct jl_client {
        int fd;
        jl_framer *framer;
        int64_t next_id;
        bool has_mask;
        sigset_t mask;
        json_object **queue;    /* received, not yet consumed */
        size_t n_queue;
        bool eof;
};

const char *jl_client_socket_path(const char *explicit_path)
{
        const char *e;

        if (explicit_path && explicit_path[0])
                return explicit_path;
        e = getenv(JL_PROTOCOL_SOCKET_ENV);
        if (e && e[0])
                return e;
        return JL_PROTOCOL_DEFAULT_SOCKET;
}

/* A failed connect, with what a person should check next. */
static int connect_error(const char *path, int e, jl_rpc_error *err)
{
        struct stat st;
        char group[64] = "";

        if (e == EACCES || e == EPERM) {
                if (stat(path, &st) == 0) {
                        struct group *g = getgrgid(st.st_gid);

                        if (g)
                                snprintf(group, sizeof(group), "%s", g->gr_name);
                        else
                                snprintf(group, sizeof(group), "%u", (unsigned) st.st_gid);
                }
                return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL,
                                        "connect to %s: %s: only root and members of the socket's group%s%s may "
                                        "use jailerd (see `id`; an administrator adds you with `usermod -aG %s "
                                        "USER`, then log in again)",
                                        path, strerror(e), group[0] ? ", " : "", group, group[0] ? group : "GROUP");
        }
        if (e == ENOENT)
                return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL,
                                        "connect to %s: %s: jailerd's socket is not there (is jailerd.socket "
                                        "running? `systemctl status jailerd.socket`; or give --socket or $%s)",
                                        path, strerror(e), JL_PROTOCOL_SOCKET_ENV);
        if (e == ECONNREFUSED)
                return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL,
                                        "connect to %s: %s: nothing listens there (jailerd is not running: "
                                        "`systemctl status jailerd`)",
                                        path, strerror(e));
        return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL, "connect to %s: %s", path, strerror(e));
}

int jl_client_connect(const char *path, jl_client **out, jl_rpc_error *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        jl_client *c;

        *out = NULL;
        if (strlen(path) >= sizeof(sa.sun_path))
                return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL, "%s: socket path too long", path);
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL, "socket: %m");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return connect_error(path, errno, err);

        c = calloc(1, sizeof(*c));
        if (!c)
                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
        c->framer = jl_framer_new();
        if (!c->framer) {
                free(c);
                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
        }
        c->fd = TAKE_FD(fd);
        c->next_id = 1;
        *out = c;
        return 0;
}

void jl_client_free(jl_client *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_queue; i++)
                json_object_put(c->queue[i]);
        free(c->queue);
        jl_framer_free(c->framer);
        if (c->fd >= 0)
                close(c->fd);
        free(c);
}

int jl_client_fd(const jl_client *c)
{
        return c->fd;
}

void jl_client_set_sigmask(jl_client *c, const sigset_t *mask)
{
        c->has_mask = mask != NULL;
        if (mask)
                c->mask = *mask;
}

int jl_client_send(jl_client *c, const char *method, json_object *params, const int *fds, size_t n_fds,
                   int64_t *id, jl_rpc_error *err)
{
        int64_t my_id = c->next_id++;
        json_object *req = jl_request_new(my_id, method, params);
        _cleanup_free_ char *line = NULL;
        size_t len, done = 0;

        if (!req)
                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
        line = jl_message_serialize(req, &len);
        json_object_put(req);
        if (!line)
                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
        if (len - 1 > JL_PROTOCOL_MAX_LINE)
                return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL,
                                        "%s request is longer than %d bytes", method, JL_PROTOCOL_MAX_LINE);

        while (done < len) {
                /* The fds go with the first byte of the line. */
                ssize_t n = jl_send_line(c->fd, line + done, len - done, done == 0 ? fds : NULL,
                                         done == 0 ? n_fds : 0);
                if (n < 0) {
                        errno = (int) -n;
                        return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL, "send to jailerd: %m");
                }
                done += (size_t) n;
        }
        if (id)
                *id = my_id;
        return 0;
}

static int64_t now_ms(void)
{
        return (int64_t) (jl_now_monotonic_us() / 1000);
}

/* Read one more message into the queue, waiting until deadline (< 0: none). */
static int client_fill(jl_client *c, int64_t deadline, jl_rpc_error *err)
{
        for (;;) {
                jl_line *l = NULL;
                int r = jl_framer_next(c->framer, &l);
                if (r < 0)
                        return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
                if (r > 0) {
                        if (l->oversized) {
                                jl_line_free(l);
                                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL,
                                                        "jailerd sent a line longer than %d bytes",
                                                        JL_PROTOCOL_MAX_LINE);
                        }
                        json_object *m = json_tokener_parse(l->data);
                        jl_line_free(l);
                        if (!m || !json_object_is_type(m, json_type_object)) {
                                json_object_put(m);
                                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL,
                                                        "jailerd sent a line that is not a JSON object");
                        }
                        json_object **q = reallocarray(c->queue, c->n_queue + 1, sizeof(*q));
                        if (!q) {
                                json_object_put(m);
                                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
                        }
                        c->queue = q;
                        c->queue[c->n_queue++] = m;
                        return 0;
                }

                if (c->eof)
                        return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL, "jailerd closed the connection");

                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                struct timespec ts, *tsp = NULL;
                if (deadline >= 0) {
                        int64_t left = deadline - now_ms();
                        if (left <= 0)
                                return jl_rpc_error_set(err, 0, JL_REASON_TIMEOUT, NULL, "no reply from jailerd in time");
                        ts = (struct timespec) { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };
                        tsp = &ts;
                }
                r = ppoll(&p, 1, tsp, c->has_mask ? &c->mask : NULL);
                if (r < 0) {
                        if (errno == EINTR)
                                return jl_rpc_error_set(err, 0, JL_REASON_INTERRUPTED, NULL, "interrupted");
                        return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL, "poll: %m");
                }
                if (r == 0)
                        continue; /* the deadline check above reports it */

                ssize_t n = jl_framer_read(c->framer, c->fd);
                if (n == -EAGAIN)
                        continue;
                if (n < 0) {
                        errno = (int) -n;
                        return jl_rpc_error_set(err, 0, JL_REASON_CONNECTION, NULL, "read from jailerd: %m");
                }
                if (n == 0)
                        c->eof = true;
        }
}

static json_object *queue_take(jl_client *c, size_t i)
{
        json_object *m = c->queue[i];
        memmove(c->queue + i, c->queue + i + 1, (c->n_queue - i - 1) * sizeof(*c->queue));
        c->n_queue--;
        return m;
}

static int rpc_error_from_json(json_object *e, jl_rpc_error *err)
{
        json_object *v, *data;
        int code = 0;
        const char *msg = "error without a message";

        if (!json_object_is_type(e, json_type_object))
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL, "jailerd sent an invalid error object");
        if (json_object_object_get_ex(e, "code", &v) && json_object_is_type(v, json_type_int))
                code = json_object_get_int(v);
        if (json_object_object_get_ex(e, "message", &v) && json_object_is_type(v, json_type_string))
                msg = json_object_get_string(v);
        jl_rpc_error_set(err, code, NULL, NULL, "%s", msg);
        if (!err)
                return -1;
        if (code == 0)
                snprintf(err->reason, sizeof(err->reason), "%s", JL_REASON_PROTOCOL);
        if (json_object_object_get_ex(e, "data", &data) && json_object_is_type(data, json_type_object)) {
                if (json_object_object_get_ex(data, "reason", &v) && json_object_is_type(v, json_type_string))
                        snprintf(err->reason, sizeof(err->reason), "%s", json_object_get_string(v));
                if (json_object_object_get_ex(data, "field", &v) && json_object_is_type(v, json_type_string))
                        snprintf(err->field, sizeof(err->field), "%s", json_object_get_string(v));
                if (json_object_object_get_ex(data, "step", &v) && json_object_is_type(v, json_type_string))
                        snprintf(err->step, sizeof(err->step), "%s", json_object_get_string(v));
                if (json_object_object_get_ex(data, "errno", &v) && json_object_is_type(v, json_type_string))
                        snprintf(err->errno_name, sizeof(err->errno_name), "%s", json_object_get_string(v));
        }
        return -1;
}

/* Is m the reply to request id?  A reply with "id": null answers a request
 * the daemon could not read; it is taken as the answer to whoever waits. */
static bool is_reply_to(json_object *m, int64_t id)
{
        json_object *v;

        if (!json_object_object_get_ex(m, "id", &v))
                return false;
        if (!v)
                return json_object_object_get_ex(m, "error", NULL);
        return json_object_is_type(v, json_type_int) && json_object_get_int64(v) == id;
}

int jl_client_recv_reply(jl_client *c, int64_t id, int timeout_ms, json_object **result, jl_rpc_error *err)
{
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        size_t seen = 0;

        *result = NULL;
        for (;;) {
                for (; seen < c->n_queue; seen++) {
                        if (!is_reply_to(c->queue[seen], id))
                                continue;
                        json_object *m = queue_take(c, seen);
                        json_object *v;
                        int r;

                        if (json_object_object_get_ex(m, "result", &v)) {
                                *result = json_object_get(v);
                                r = 0;
                        } else if (json_object_object_get_ex(m, "error", &v))
                                r = rpc_error_from_json(v, err);
                        else
                                r = jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL,
                                                     "jailerd sent a reply with neither result nor error");
                        json_object_put(m);
                        return r;
                }
                if (client_fill(c, deadline, err) < 0)
                        return -1;
        }
}

int jl_client_call(jl_client *c, const char *method, json_object *params, const int *fds, size_t n_fds,
                   int timeout_ms, json_object **result, jl_rpc_error *err)
{
        int64_t id;

        *result = NULL;
        if (jl_client_send(c, method, params, fds, n_fds, &id, err) < 0)
                return -1;
        for (;;) {
                int r = jl_client_recv_reply(c, id, timeout_ms, result, err);
                /* A signal is the caller's business only when it asked for
                 * interruptions with a mask; otherwise keep waiting. */
                if (r < 0 && err && err->code == 0 && strcmp(err->reason, JL_REASON_INTERRUPTED) == 0 &&
                    !c->has_mask)
                        continue;
                return r;
        }
}

int jl_client_next_notification(jl_client *c, int timeout_ms, char **method, json_object **params,
                                jl_rpc_error *err)
{
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        size_t seen = 0;

        *method = NULL;
        *params = NULL;
        for (;;) {
                for (; seen < c->n_queue; seen++) {
                        json_object *m = c->queue[seen], *v;
                        if (json_object_object_get_ex(m, "id", NULL) ||
                            !json_object_object_get_ex(m, "method", &v) || !json_object_is_type(v, json_type_string))
                                continue;
                        m = queue_take(c, seen);
                        *method = strdup(json_object_get_string(v));
                        if (!*method) {
                                json_object_put(m);
                                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
                        }
                        if (json_object_object_get_ex(m, "params", &v) && v)
                                *params = json_object_get(v);
                        else
                                *params = json_object_new_object();
                        json_object_put(m);
                        return 0;
                }
                if (client_fill(c, deadline, err) < 0)
                        return -1;
        }
}

/* SPDX-License-Identifier: MIT */
/*
 * The jailerd protocol's messages: errors, request decoding, per-method
 * params, replies and notifications, typed results.  See PROTOCOL.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jailer-internal.h"
#include "protocol.h"
#include "json-strict.h"
#include "json-util.h"



/* ------------------------------------------------------------------ errors */

const char *jl_rpc_code_reason(int code)
{
        switch (code) {
        case JL_RPC_PARSE_ERROR:
                return JL_REASON_PARSE_ERROR;
        case JL_RPC_INVALID_REQUEST:
                return JL_REASON_INVALID_REQUEST;
        case JL_RPC_METHOD_NOT_FOUND:
                return JL_REASON_METHOD_NOT_FOUND;
        case JL_RPC_INVALID_PARAMS:
                return JL_REASON_INVALID_PARAMS;
        case JL_RPC_PERMISSION_DENIED:
                return JL_REASON_PERMISSION_DENIED;
        case JL_RPC_EXISTS:
                return JL_REASON_EXISTS;
        case JL_RPC_NOT_FOUND:
                return JL_REASON_NOT_FOUND;
        case JL_RPC_LIMIT_REACHED:
                return JL_REASON_LIMIT_REACHED;
        case JL_RPC_SPAWN_FAILED:
                return JL_REASON_SPAWN_FAILED;
        case JL_RPC_NOT_RUNNING:
                return JL_REASON_NOT_RUNNING;
        case JL_RPC_SHUTTING_DOWN:
                return JL_REASON_SHUTTING_DOWN;
        case JL_RPC_LOST:
                return JL_REASON_LOST;
        case JL_RPC_NOT_PREPARED:
                return JL_REASON_NOT_PREPARED;
        case JL_RPC_BUSY:
                return JL_REASON_BUSY;
        case JL_RPC_INTERNAL_ERROR:
        case JL_RPC_INTERNAL:
        default:
                return JL_REASON_INTERNAL;
        }
}

static void copy_str(char *dst, size_t size, const char *src)
{
        if (!src)
                src = "";
        size_t n = strnlen(src, size - 1);
        memcpy(dst, src, n);
        dst[n] = 0;
}

int jl_rpc_error_set(jl_rpc_error *e, int code, const char *reason, const char *field, const char *fmt, ...)
{
        va_list ap;

        if (!e)
                return -1;
        *e = (jl_rpc_error) { .code = code };
        copy_str(e->reason, sizeof(e->reason), reason ?: jl_rpc_code_reason(code));
        copy_str(e->field, sizeof(e->field), field);
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
        return -1;
}

int jl_rpc_error_from_jailer(jl_rpc_error *e, const jailer_error *je)
{
        const char *msg = je->message[0] ? je->message : "unknown error";

        switch (je->step) {
        case JAILER_STEP_CONFIG:
                return jl_rpc_error_set(e, JL_RPC_INVALID_PARAMS, JL_REASON_INVALID_CONFIG, je->field, "%s", msg);
        case JAILER_STEP_NONE:
                return jl_rpc_error_set(e, JL_RPC_INTERNAL, NULL, je->field, "%s", msg);
        default:
                jl_rpc_error_set(e, JL_RPC_SPAWN_FAILED, NULL, je->field, "%s", msg);
                if (e) {
                        copy_str(e->step, sizeof(e->step), jailer_step_name(je->step));
                        if (je->code > 0)
                                copy_str(e->errno_name, sizeof(e->errno_name), strerrorname_np(je->code));
                }
                return -1;
        }
}

/* ------------------------------------------------------------------ methods */

static const char *const method_names[_JL_METHOD_MAX] = {
        [JL_METHOD_VERSION] = "version",
        [JL_METHOD_CREATE] = "create",
        [JL_METHOD_WAIT] = "wait",
        [JL_METHOD_KILL] = "kill",
        [JL_METHOD_LIST] = "list",
        [JL_METHOD_STATUS] = "status",
        [JL_METHOD_SUBSCRIBE] = "subscribe",
        [JL_METHOD_LOGS] = "logs",
        [JL_METHOD_START] = "start",
};

const char *jl_method_to_string(jl_method m)
{
        if (m < 0 || m >= _JL_METHOD_MAX)
                return NULL;
        return method_names[m];
}

jl_method jl_method_from_string(const char *s)
{
        if (!s)
                return _JL_METHOD_INVALID;
        for (jl_method m = 0; m < _JL_METHOD_MAX; m++)
                if (strcmp(method_names[m], s) == 0)
                        return m;
        return _JL_METHOD_INVALID;
}

static const char *const state_names[_JL_JAIL_STATE_MAX] = {
        [JL_JAIL_RUNNING] = "running",
        [JL_JAIL_EXITED] = "exited",
        [JL_JAIL_LOST] = "lost",
        [JL_JAIL_PREPARED] = "prepared",
};

const char *jl_jail_state_to_string(jl_jail_state s)
{
        if (s < 0 || s >= _JL_JAIL_STATE_MAX)
                return NULL;
        return state_names[s];
}

jl_jail_state jl_jail_state_from_string(const char *s)
{
        if (!s)
                return _JL_JAIL_STATE_INVALID;
        for (jl_jail_state i = 0; i < _JL_JAIL_STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0)
                        return i;
        return _JL_JAIL_STATE_INVALID;
}

/* ------------------------------------------------------------------ decoding */

/* Find a string (or key) holding a NUL (from a "\u0000" escape) anywhere in
 * o; fill path with where. */
static bool json_has_nul(json_object *o, char *path, size_t size)
{
        switch (json_object_get_type(o)) {
        case json_type_string:
                if (strlen(json_object_get_string(o)) != (size_t) json_object_get_string_len(o))
                        return true;
                return false;
        case json_type_object: {
                json_object_object_foreach(o, key, val) {
                        size_t used = strlen(path);
                        if (used + 1 < size)
                                snprintf(path + used, size - used, "%s%s", used ? "." : "", key);
                        if (json_has_nul(val, path, size))
                                return true;
                        path[used] = 0;
                }
                return false;
        }
        case json_type_array: {
                size_t n = json_object_array_length(o);
                for (size_t i = 0; i < n; i++) {
                        size_t used = strlen(path);
                        if (used + 1 < size)
                                snprintf(path + used, size - used, "[%zu]", i);
                        if (json_has_nul(json_object_array_get_idx(o, i), path, size))
                                return true;
                        path[used] = 0;
                }
                return false;
        }
        case json_type_null:
        case json_type_boolean:
        case json_type_double:
        case json_type_int:
        default:
                return false;
        }
}

static const char *json_type_label(json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a fraction";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        default:
                return "unknown";
        }
}

/* Parse one request line with the strict reader every input goes through
 * (json-strict.h).  Not JSON: parse error; JSON against the reader's rules
 * (a duplicate key, an integer beyond 64 bits, too deep): invalid request,
 * naming the field.  NULL with *err filled on failure; *is_null tells JSON
 * null (valid JSON that is not a request) apart. */
static json_object *parse_json(const char *data, size_t len, bool *is_null, jl_rpc_error *err)
{
        static const jl_json_limits limits = { .max_bytes = JL_PROTOCOL_MAX_LINE, .max_depth = 16 };
        json_object *o = NULL;
        jl_json_error e;

        *is_null = false;
        if (jl_json_parse(data, len, &limits, &o, &e) < 0) {
                switch (e.fault) {
                case JL_JSON_SYNTAX:
                        jl_rpc_error_set(err, JL_RPC_PARSE_ERROR, NULL, NULL, "%s", e.message);
                        break;
                case JL_JSON_TOO_LARGE:
                        jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, JL_REASON_OVERSIZED, NULL, "line too long");
                        break;
                case JL_JSON_NO_MEMORY:
                        jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                        break;
                case JL_JSON_REFUSED:
                default:
                        jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, e.path[0] ? e.path : NULL, "%s%s%s",
                                         e.path, e.path[0] ? ": " : "", e.message);
                        break;
                }
                return NULL;
        }
        *is_null = !o;
        return o;
}

static void close_fds(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

/* The envelope: jsonrpc, method (returned), params (an object or absent),
 * nothing else. */
static const char *check_envelope(json_object *msg, json_object **params, jl_rpc_error *err)
{
        json_object *v, *m;

        if (!json_object_object_get_ex(msg, "jsonrpc", &v)) {
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, "jsonrpc", "jsonrpc: missing");
                return NULL;
        }
        if (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "2.0") != 0) {
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, "jsonrpc", "jsonrpc: must be \"2.0\"");
                return NULL;
        }
        if (!json_object_object_get_ex(msg, "method", &m)) {
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, "method", "method: missing");
                return NULL;
        }
        if (!json_object_is_type(m, json_type_string)) {
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, "method", "method: must be a string, not %s",
                                 json_type_label(m));
                return NULL;
        }
        if (json_object_object_get_ex(msg, "params", params) && !json_object_is_type(*params, json_type_object)) {
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, "params", "params: must be an object, not %s",
                                 json_type_label(*params));
                return NULL;
        }
        json_object_object_foreach(msg, key, val) {
                (void) val;
                if (!strcmp(key, "jsonrpc") || !strcmp(key, "id") || !strcmp(key, "method") ||
                    !strcmp(key, "params"))
                        continue;
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, key, "unknown member \"%s\"", key);
                return NULL;
        }
        /* A NUL inside the name would make it look like a method it is not. */
        if (strlen(json_object_get_string(m)) != (size_t) json_object_get_string_len(m)) {
                jl_rpc_error_set(err, JL_RPC_METHOD_NOT_FOUND, NULL, "method", "unknown method \"%.64s\"",
                                 json_object_get_string(m));
                return NULL;
        }
        return json_object_get_string(m);
}

/* The fds sent with the line: only create takes them, 0 or 3. */
static int check_fds(const jl_line *line, jl_method method, const char *method_name, jl_rpc_error *err)
{
        if (line->fds_truncated)
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, JL_REASON_INVALID_FDS, NULL,
                                        "file descriptors refused: at most %d, all sent with the first "
                                        "piece of the request line (every one was closed)",
                                        JL_PROTOCOL_MAX_FDS);
        if (line->n_fds > 0 && method != JL_METHOD_CREATE)
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, JL_REASON_INVALID_FDS, NULL,
                                        "%s takes no file descriptors, %zu passed", method_name, line->n_fds);
        if (line->n_fds != 0 && line->n_fds != 3)
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, JL_REASON_INVALID_FDS, NULL,
                                        "create takes 0 or 3 file descriptors (stdin, stdout, stderr), %zu passed",
                                        line->n_fds);
        return 0;
}

/* The id first, so that every later error can be answered with it. */
static int take_id(json_object *msg, json_object **id_out, jl_rpc_error *err)
{
        json_object *id;

        if (!json_object_object_get_ex(msg, "id", &id))
                return jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, "id", "id: missing");
        if (!json_object_is_type(id, json_type_string) && !json_object_is_type(id, json_type_int))
                return jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, "id",
                                        "id: must be a string or an integer, not %s", json_type_label(id));
        *id_out = json_object_get(id);
        return 0;
}

/* The line as one JSON object (not null, not a batch). */
static json_object *parse_request(const jl_line *line, jl_rpc_error *err)
{
        json_object *msg;
        bool is_null;

        if (line->oversized) {
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, JL_REASON_OVERSIZED, NULL, "line longer than %d bytes",
                                 JL_PROTOCOL_MAX_LINE);
                return NULL;
        }
        msg = parse_json(line->data, line->len, &is_null, err);
        if (!msg && is_null)
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, NULL, "a request must be a JSON object, not null");
        if (!msg)
                return NULL;
        if (json_object_is_type(msg, json_type_array))
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, NULL, "batch requests are not supported");
        else if (!json_object_is_type(msg, json_type_object))
                jl_rpc_error_set(err, JL_RPC_INVALID_REQUEST, NULL, NULL, "a request must be a JSON object, not %s",
                                 json_type_label(msg));
        else
                return msg;
        json_object_put(msg);
        return NULL;
}

int jl_request_decode(jl_line *line, jl_request *out, json_object **id_out, jl_rpc_error *err)
{
        _cleanup_json_ json_object *msg = NULL;
        json_object *params = NULL;
        const char *method_name;
        char path[96] = "";

        *id_out = NULL;
        *out = (jl_request) { .method = _JL_METHOD_INVALID };

        msg = parse_request(line, err);
        if (!msg || take_id(msg, id_out, err) < 0)
                return -1;
        method_name = check_envelope(msg, &params, err);
        if (!method_name)
                return -1;
        out->method = jl_method_from_string(method_name);
        if (out->method == _JL_METHOD_INVALID)
                return jl_rpc_error_set(err, JL_RPC_METHOD_NOT_FOUND, NULL, "method", "unknown method \"%.64s\"",
                                        method_name);
        if (params && json_has_nul(params, path, sizeof(path)))
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS,
                                        out->method == JL_METHOD_CREATE ? JL_REASON_INVALID_CONFIG
                                                                        : JL_REASON_INVALID_PARAMS,
                                        path, "%s: strings must not contain NUL (\\u0000)", path);
        if (check_fds(line, out->method, method_name, err) < 0)
                return -1;

        out->params = params ? json_object_get(params) : json_object_new_object();
        if (!out->params)
                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
        out->id = json_object_get(*id_out);
        for (size_t i = 0; i < JL_PROTOCOL_MAX_FDS; i++)
                out->fds[i] = -1;
        for (size_t i = 0; i < line->n_fds; i++) {
                out->fds[i] = line->fds[i];
                line->fds[i] = -1;
        }
        out->n_fds = line->n_fds;
        line->n_fds = 0;
        /* *id_out is for error replies only; the request holds the id now. */
        json_object_put(TAKE_PTR(*id_out));
        return 0;
}

void jl_request_done(jl_request *r)
{
        if (!r)
                return;
        json_putp(&r->id);
        json_putp(&r->params);
        r->id = r->params = NULL;
        close_fds(r->fds, r->n_fds);
        r->n_fds = 0;
}

/* ------------------------------------------------------------------ method params */

bool jl_jail_id_valid(const char *id)
{
        size_t n = 0;

        if (!id)
                return false;
        for (const char *p = id; *p; p++, n++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_'))
                        return false;
        }
        return n >= 1 && n <= JAILER_ID_MAX;
}

/* Refuse members of params other than those listed (NULL-terminated). */
static int check_members(json_object *params, const char *const *allowed, jl_rpc_error *err)
{
        json_object_object_foreach(params, key, val) {
                (void) val;
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                        if (strcmp(*a, key) == 0)
                                ok = true;
                if (!ok)
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, key, "unknown member \"%.64s\"",
                                                key);
        }
        return 0;
}

static int get_jail(json_object *params, const char **jail, jl_rpc_error *err)
{
        json_object *v;

        if (!json_object_object_get_ex(params, "jail", &v))
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "jail", "jail: missing");
        if (!json_object_is_type(v, json_type_string))
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "jail", "jail: must be a string, not %s",
                                        json_type_label(v));
        if (!jl_jail_id_valid(json_object_get_string(v)))
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "jail",
                                        "jail: \"%.80s\" is not a jail id (1-64 of A-Z a-z 0-9 - _)",
                                        json_object_get_string(v));
        *jail = json_object_get_string(v);
        return 0;
}

int jl_jail_params_decode(json_object *params, const char **jail, jl_rpc_error *err)
{
        static const char *const allowed[] = { "jail", NULL };

        if (check_members(params, allowed, err) < 0)
                return -1;
        return get_jail(params, jail, err);
}

int jl_kill_params_decode(json_object *params, const char **jail, int *sig, jl_rpc_error *err)
{
        static const char *const allowed[] = { "jail", "signal", NULL };
        json_object *v;

        if (check_members(params, allowed, err) < 0 || get_jail(params, jail, err) < 0)
                return -1;

        *sig = SIGTERM;
        if (!json_object_object_get_ex(params, "signal", &v))
                return 0;
        if (json_object_is_type(v, json_type_int)) {
                int64_t n = json_object_get_int64(v);
                if (n < 1 || n > 64)
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "signal",
                                                "signal: %" PRIi64 " is not a signal number (1-64)", n);
                *sig = (int) n;
                return 0;
        }
        if (json_object_is_type(v, json_type_string)) {
                int n = jailer_signal_from_name(json_object_get_string(v));
                if (n < 1 || n > 64)
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "signal",
                                                "signal: \"%.32s\" is not a signal name", json_object_get_string(v));
                *sig = n;
                return 0;
        }
        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "signal",
                                "signal: must be a name or a number, not %s", json_type_label(v));
}

int jl_logs_params_decode(json_object *params, const char **jail, uint64_t *offset, bool *follow,
                          jl_rpc_error *err)
{
        static const char *const allowed[] = { "jail", "offset", "follow", NULL };
        json_object *v;

        if (check_members(params, allowed, err) < 0 || get_jail(params, jail, err) < 0)
                return -1;
        *offset = 0;
        *follow = false;
        if (json_object_object_get_ex(params, "offset", &v)) {
                if (!json_object_is_type(v, json_type_int))
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "offset",
                                                "offset: must be an integer, not %s", json_type_label(v));
                if (json_object_get_int64(v) < 0)
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "offset",
                                                "offset: %" PRIi64 " is negative", json_object_get_int64(v));
                *offset = (uint64_t) json_object_get_int64(v);
        }
        if (json_object_object_get_ex(params, "follow", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "follow",
                                                "follow: must be true or false, not %s", json_type_label(v));
                *follow = json_object_get_boolean(v);
        }
        return 0;
}

int jl_empty_params_decode(json_object *params, jl_rpc_error *err)
{
        static const char *const allowed[] = { NULL };

        return check_members(params, allowed, err);
}

int jl_create_opts_take(json_object *params, jl_create_opts *o, jl_rpc_error *err)
{
        json_object *v;
        int64_t ms;

        *o = (jl_create_opts) { .start = true };
        if (!params)
                return 0;
        if (json_object_object_get_ex(params, "start", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "start",
                                                "start: must be true or false, not %s", json_type_label(v));
                o->start = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(params, "prepare_timeout_ms", &v)) {
                if (o->start)
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "prepare_timeout_ms",
                                                "prepare_timeout_ms: only for a prepared jail (\"start\": false)");
                ms = json_object_get_int64(v);
                if (!json_object_is_type(v, json_type_int) || ms < 1 || (uint64_t) ms > JL_PREPARE_TIMEOUT_MAX_MS)
                        return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "prepare_timeout_ms",
                                                "prepare_timeout_ms: must be an integer from 1 to %llu (24 h)",
                                                (unsigned long long) JL_PREPARE_TIMEOUT_MAX_MS);
                o->prepare_timeout_ms = (uint64_t) ms;
        }
        json_object_object_del(params, "start");
        json_object_object_del(params, "prepare_timeout_ms");
        return 0;
}

int jl_subscribe_params_decode(json_object *params, const char **cursor, jl_rpc_error *err)
{
        static const char *const allowed[] = { "cursor", NULL };
        json_object *v;

        *cursor = NULL;
        if (check_members(params, allowed, err) < 0)
                return -1;
        if (!json_object_object_get_ex(params, "cursor", &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > 64)
                return jl_rpc_error_set(err, JL_RPC_INVALID_PARAMS, NULL, "cursor",
                                        "cursor: must be a string of at most 64 bytes, as a notification's "
                                        "\"cursor\"");
        *cursor = json_object_get_string(v);
        return 0;
}

int jl_create_params_parse(json_object *params, jailer_config **out, bool *root_given, jl_rpc_error *err)
{
        jailer_error je = {};

        *out = NULL;
        /* The request line went through the strict reader, whose limits (1
         * MiB, 16 levels) hold the config's: no need to print the params
         * and read them again. */
        if (jl_config_from_object(params, out, &je) < 0) {
                *out = NULL;
                if (je.step == JAILER_STEP_NONE && je.code == 0)
                        je.step = JAILER_STEP_CONFIG;
                return jl_rpc_error_from_jailer(err, &je);
        }
        if (root_given) {
                json_object *v = NULL;
                /* null means "the default", as everywhere in the config */
                *root_given = json_object_object_get_ex(params, "jail_root", &v) && v;
        }
        return 0;
}

int jl_create_params_validate(const jailer_config *c, jl_rpc_error *err)
{
        jailer_error je = {};

        if (jailer_config_validate(c, &je) >= 0)
                return 0;
        /* Every validation failure is the config's fault. */
        if (je.step == JAILER_STEP_NONE)
                je.step = JAILER_STEP_CONFIG;
        return jl_rpc_error_from_jailer(err, &je);
}

/* ------------------------------------------------------------------ messages out */

static json_object *new_envelope(void)
{
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        if (json_object_object_add(o, "jsonrpc", json_object_new_string("2.0")) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *jl_reply_result(json_object *id, json_object *result)
{
        _cleanup_json_ json_object *r = result ?: json_object_new_object();
        _cleanup_json_ json_object *o = new_envelope();

        if (!o || !r)
                return NULL;
        json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
        if (json_object_object_add(o, "result", TAKE_PTR(r)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_object *jl_reply_error(json_object *id, const jl_rpc_error *e)
{
        _cleanup_json_ json_object *o = new_envelope();
        json_object *error, *data;

        if (!o)
                return NULL;
        json_object_object_add(o, "id", id ? json_object_get(id) : NULL);

        error = json_object_new_object();
        if (!error || json_object_object_add(o, "error", error) < 0)
                return NULL;
        json_object_object_add(error, "code", json_object_new_int(e->code));
        json_object_object_add(error, "message", json_object_new_string(e->message[0] ? e->message : e->reason));
        data = json_object_new_object();
        if (!data || json_object_object_add(error, "data", data) < 0)
                return NULL;
        json_object_object_add(data, "reason",
                               json_object_new_string(e->reason[0] ? e->reason : jl_rpc_code_reason(e->code)));
        if (e->field[0])
                json_object_object_add(data, "field", json_object_new_string(e->field));
        if (e->step[0])
                json_object_object_add(data, "step", json_object_new_string(e->step));
        if (e->errno_name[0])
                json_object_object_add(data, "errno", json_object_new_string(e->errno_name));
        return TAKE_PTR(o);
}

json_object *jl_notification(const char *method, json_object *params)
{
        _cleanup_json_ json_object *p = params ?: json_object_new_object();
        _cleanup_json_ json_object *o = new_envelope();

        if (!o || !p)
                return NULL;
        json_object_object_add(o, "method", json_object_new_string(method));
        if (json_object_object_add(o, "params", TAKE_PTR(p)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_object *jl_request_new(int64_t id, const char *method, json_object *params)
{
        _cleanup_json_ json_object *p = params ?: json_object_new_object();
        _cleanup_json_ json_object *o = new_envelope();

        if (!o || !p)
                return NULL;
        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "method", json_object_new_string(method));
        if (json_object_object_add(o, "params", TAKE_PTR(p)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

char *jl_message_serialize(json_object *msg, size_t *len)
{
        size_t n;
        const char *s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                          &n);
        if (!s)
                return NULL;
        char *buf = malloc(n + 2);
        if (!buf)
                return NULL;
        memcpy(buf, s, n);
        buf[n] = '\n';
        buf[n + 1] = 0;
        if (len)
                *len = n + 1;
        return buf;
}

ssize_t jl_send_line(int fd, const char *buf, size_t len, const int *fds, size_t n_fds)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * JL_PROTOCOL_MAX_FDS)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (n_fds > JL_PROTOCOL_MAX_FDS)
                return -EINVAL;
        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

struct jl_outbuf {
        char *buf;
        size_t start, len, cap;
};

jl_outbuf *jl_outbuf_new(void)
{
        return calloc(1, sizeof(jl_outbuf));
}

void jl_outbuf_free(jl_outbuf *o)
{
        if (!o)
                return;
        free(o->buf);
        free(o);
}

size_t jl_outbuf_pending(const jl_outbuf *o)
{
        return o->len - o->start;
}

size_t jl_outbuf_memory(const jl_outbuf *o)
{
        return sizeof(*o) + o->cap;
}

int jl_outbuf_append(jl_outbuf *o, json_object *msg)
{
        size_t n;
        _cleanup_free_ char *s = jl_message_serialize(msg, &n);

        if (!s)
                return -ENOMEM;
        if (o->start > 0) {
                memmove(o->buf, o->buf + o->start, o->len - o->start);
                o->len -= o->start;
                o->start = 0;
        }
        if (o->cap - o->len < n) {
                size_t cap = o->cap ? o->cap : 4096;
                while (cap - o->len < n)
                        cap *= 2;
                char *b = realloc(o->buf, cap);
                if (!b)
                        return -ENOMEM;
                o->buf = b;
                o->cap = cap;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        return 0;
}

int jl_outbuf_flush(jl_outbuf *o, int fd)
{
        while (o->start < o->len) {
                ssize_t n = send(fd, o->buf + o->start, o->len - o->start, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
                }
                o->start += (size_t) n;
        }
        /* All written: hold nothing until the next message. */
        free(o->buf);
        o->buf = NULL;
        o->start = o->len = o->cap = 0;
        return 0;
}

/* ------------------------------------------------------------------ results */

json_object *jl_version_result(const char *version, const char *cgroup)
{
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_string(version ?: ""));
        json_object_object_add(o, "protocol", json_object_new_int(JL_PROTOCOL_VERSION));
        json_object_object_add(o, "cgroup", cgroup ? json_object_new_string(cgroup) : NULL);
        return o;
}

json_object *jl_create_result(const char *jail, pid_t pid)
{
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "jail", json_object_new_string(jail));
        json_object_object_add(o, "pid", json_object_new_int64(pid));
        return o;
}

static int get_member(json_object *o, const char *key, json_type type, bool nullable, json_object **v,
                      jl_rpc_error *err)
{
        if (!json_object_object_get_ex(o, key, v))
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, key, "reply lacks \"%s\"", key);
        if (nullable && !*v)
                return 0;
        if (!json_object_is_type(*v, type))
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, key, "reply's \"%s\" is %s", key,
                                        json_type_label(*v));
        return 0;
}

int jl_create_result_parse(json_object *result, char jail[JAILER_ID_MAX + 1], pid_t *pid, jl_rpc_error *err)
{
        json_object *v;

        if (!json_object_is_type(result, json_type_object))
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL, "create result is not an object");
        if (get_member(result, "jail", json_type_string, false, &v, err) < 0)
                return -1;
        copy_str(jail, JAILER_ID_MAX + 1, json_object_get_string(v));
        if (get_member(result, "pid", json_type_int, false, &v, err) < 0)
                return -1;
        *pid = (pid_t) json_object_get_int64(v);
        return 0;
}

/* ------------------------------------------------------------------ logs */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 base64 with padding; malloc'd, NUL-terminated, NULL on ENOMEM. */
static char *base64_encode(const unsigned char *in, size_t len)
{
        char *out, *o;

        if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
                return NULL;
        out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        o = out;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16;

                if (i + 1 < len)
                        v |= (uint32_t) in[i + 1] << 8;
                if (i + 2 < len)
                        v |= in[i + 2];
                *o++ = b64_alphabet[v >> 18 & 63];
                *o++ = b64_alphabet[v >> 12 & 63];
                *o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
                *o++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

static int b64_value(char c)
{
        const char *p = c ? strchr(b64_alphabet, c) : NULL;

        return p ? (int) (p - b64_alphabet) : -1;
}

/* Strict: a multiple of 4 characters of the alphabet, '=' only as padding
 * at the end.  0, -EINVAL or -ENOMEM. */
static int base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
        unsigned char *buf, *o;

        if (len % 4 != 0)
                return -EINVAL;
        buf = malloc(len / 4 * 3 + 1);
        if (!buf)
                return -ENOMEM;
        o = buf;
        for (size_t i = 0; i < len; i += 4) {
                bool last = i + 4 == len;
                int a = b64_value(in[i]), b = b64_value(in[i + 1]);
                int c = last && in[i + 2] == '=' && in[i + 3] == '=' ? -2 : b64_value(in[i + 2]);
                int d = last && in[i + 3] == '=' ? -2 : b64_value(in[i + 3]);

                if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2)) {
                        free(buf);
                        return -EINVAL;
                }
                *o++ = (unsigned char) (a << 2 | b >> 4);
                if (c >= 0)
                        *o++ = (unsigned char) ((b & 15) << 4 | c >> 2);
                if (d >= 0)
                        *o++ = (unsigned char) ((c & 3) << 6 | d);
        }
        *out = buf;
        *out_len = (size_t) (o - buf);
        return 0;
}

json_object *jl_logs_result(const char *jail, uint64_t offset, const void *data, size_t len, bool end)
{
        _cleanup_free_ char *b64 = base64_encode(data, len);
        json_object *o;

        if (!b64 || !(o = json_object_new_object()))
                return NULL;
        json_object_object_add(o, "jail", json_object_new_string(jail));
        json_object_object_add(o, "offset", json_object_new_int64((int64_t) offset));
        json_object_object_add(o, "next_offset", json_object_new_int64((int64_t) (offset + len)));
        json_object_object_add(o, "data", json_object_new_string(b64));
        json_object_object_add(o, "end", json_object_new_boolean(end));
        return o;
}

int jl_logs_result_parse(json_object *result, uint64_t *next_offset, void **data, size_t *len, bool *end,
                         jl_rpc_error *err)
{
        unsigned char *buf = NULL;
        json_object *v;
        int r;

        if (!json_object_is_type(result, json_type_object))
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL, "logs result is not an object");
        if (get_member(result, "next_offset", json_type_int, false, &v, err) < 0)
                return -1;
        if (json_object_get_int64(v) < 0)
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, "next_offset", "reply's \"next_offset\" is negative");
        *next_offset = (uint64_t) json_object_get_int64(v);
        if (get_member(result, "end", json_type_boolean, false, &v, err) < 0)
                return -1;
        *end = json_object_get_boolean(v);
        if (get_member(result, "data", json_type_string, false, &v, err) < 0)
                return -1;
        r = base64_decode(json_object_get_string(v), (size_t) json_object_get_string_len(v), &buf, len);
        if (r == -ENOMEM)
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, "data", "out of memory");
        if (r < 0)
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, "data", "reply's \"data\" is not base64");
        *data = buf;
        return 0;
}

json_object *jl_report_to_json(const jailer_report *r)
{
        _cleanup_free_ char *s = jailer_report_to_json(r);

        if (!s)
                return NULL;
        return json_tokener_parse(s);
}

int jl_report_from_json(json_object *o, jailer_report *r, jl_rpc_error *err)
{
        jailer_error je = {};

        if (!json_object_is_type(o, json_type_object))
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL, "exit report is not an object");
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!s)
                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
        if (jailer_report_from_json(s, r, &je) < 0)
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, je.field, "exit report: %s", je.message);
        return 0;
}

int jl_format_rfc3339(uint64_t realtime_us, char buf[static 32])
{
        time_t t = (time_t) (realtime_us / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        if (strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
                return -EINVAL;
        snprintf(buf + 19, 32 - 19, ".%06" PRIu64 "Z", realtime_us % 1000000);
        return 0;
}

int jl_parse_rfc3339(const char *s, uint64_t *realtime_us)
{
        struct tm tm = {};
        const char *p;
        uint64_t frac = 0;

        if (!s)
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
                        if (digits >= 9)
                                return -EINVAL;
                        if (digits < 6)
                                frac = frac * 10 + (uint64_t) (*p - '0');
                }
                if (digits == 0)
                        return -EINVAL;
                for (int i = digits; i < 6; i++)
                        frac *= 10;
        }
        if (strcmp(p, "Z") != 0)
                return -EINVAL;
        time_t t = timegm(&tm);
        if (t < 0)
                return -EINVAL;
        *realtime_us = (uint64_t) t * 1000000 + frac;
        return 0;
}

/* The members of a report that say how it ended, or who: not figures. */
static bool ending_key(const char *key)
{
        static const char *const keys[] = { "jail", "pid", "exit_code", "signal", "timed_out", "seccomp_killed" };

        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if (strcmp(key, keys[k]) == 0)
                        return true;
        return false;
}

/* A running jail's report so far, into its usage object: its figures
 * under the report's own names. */
static int add_figures(json_object *u, const jailer_report *figures)
{
        _cleanup_json_ json_object *r = jl_report_to_json(figures);

        if (!r)
                return -ENOMEM;
        json_object_object_foreach(r, key, v) {
                if (ending_key(key) || json_object_object_get_ex(u, key, NULL))
                        continue;
                if (json_object_object_add(u, key, json_object_get(v)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The figures in a usage object (those with "wall_time_us") back into a
 * report that has not ended. */
static int figures_from_usage(json_object *u, const jl_jail_info *i, jailer_report *r, jl_rpc_error *err)
{
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return jl_rpc_error_set(err, 0, JL_REASON_INTERNAL, NULL, "out of memory");
        json_object_object_foreach(u, key, v)
                if (!ending_key(key))
                        json_object_object_add(o, key, json_object_get(v));
        json_object_object_add(o, "jail", json_object_new_string(i->jail));
        json_object_object_add(o, "pid", json_object_new_int64(i->pid));
        /* a report says how it ended: this one has not */
        json_object_object_add(o, "exit_code", json_object_new_int(0));
        if (jl_report_from_json(o, r, err) < 0)
                return -1;
        r->exit_code = -1;
        return 0;
}

json_object *jl_jail_info_to_json(const jl_jail_info *i)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        char ts[32];

        if (!o)
                return NULL;
        if (jl_format_rfc3339(i->started_at_us, ts) < 0)
                ts[0] = 0;
        json_object_object_add(o, "jail", json_object_new_string(i->jail));
        json_object_object_add(o, "pid", json_object_new_int64(i->pid));
        json_object_object_add(o, "state", json_object_new_string(jl_jail_state_to_string(i->state) ?: "exited"));
        json_object_object_add(o, "started_at", json_object_new_string(ts));
        json_object_object_add(o, "uid", json_object_new_int64(i->uid));
        if (i->has_usage) {
                json_object *u = json_object_new_object();
                if (!u || json_object_object_add(o, "usage", u) < 0)
                        return NULL;
                json_object_object_add(u, "cpu_usage_us", json_object_new_uint64(i->usage.cpu_usage_us));
                json_object_object_add(u, "memory_current_bytes",
                                       json_object_new_uint64(i->usage.memory_current_bytes));
                /* null (json-c's NULL) when the kernel does not say */
                json_object_object_add(u, "memory_peak_bytes",
                                       i->usage.memory_peak_bytes == JAILER_UNKNOWN ?
                                               NULL :
                                               json_object_new_uint64(i->usage.memory_peak_bytes));
                json_object_object_add(u, "pids_current", json_object_new_uint64(i->usage.pids_current));
                if (i->has_figures && add_figures(u, &i->figures) < 0)
                        return NULL;
        }
        if (i->has_report) {
                json_object *r = jl_report_to_json(&i->report);
                if (!r || json_object_object_add(o, "report", r) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

static uint64_t get_u64(json_object *o, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return json_object_get_uint64(v);
}

int jl_jail_info_from_json(json_object *o, jl_jail_info *i, jl_rpc_error *err)
{
        json_object *v, *m;

        *i = (jl_jail_info) {};
        if (!json_object_is_type(o, json_type_object))
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, NULL, "jail entry is not an object");
        if (get_member(o, "jail", json_type_string, false, &v, err) < 0)
                return -1;
        copy_str(i->jail, sizeof(i->jail), json_object_get_string(v));
        if (get_member(o, "pid", json_type_int, false, &v, err) < 0)
                return -1;
        i->pid = (pid_t) json_object_get_int64(v);
        if (get_member(o, "state", json_type_string, false, &v, err) < 0)
                return -1;
        i->state = jl_jail_state_from_string(json_object_get_string(v));
        if (get_member(o, "started_at", json_type_string, false, &v, err) < 0)
                return -1;
        if (jl_parse_rfc3339(json_object_get_string(v), &i->started_at_us) < 0)
                return jl_rpc_error_set(err, 0, JL_REASON_PROTOCOL, "started_at", "started_at: \"%.40s\" is not RFC 3339",
                                        json_object_get_string(v));
        if (get_member(o, "uid", json_type_int, false, &v, err) < 0)
                return -1;
        i->uid = (uid_t) json_object_get_int64(v);

        if (json_object_object_get_ex(o, "usage", &v) && json_object_is_type(v, json_type_object)) {
                i->has_usage = true;
                i->usage.cpu_usage_us = get_u64(v, "cpu_usage_us");
                i->usage.memory_current_bytes = get_u64(v, "memory_current_bytes");
                i->usage.memory_peak_bytes = get_u64(v, "memory_peak_bytes");
                if (json_object_object_get_ex(v, "memory_peak_bytes", &m) && !m)
                        i->usage.memory_peak_bytes = JAILER_UNKNOWN;
                i->usage.pids_current = get_u64(v, "pids_current");
                if (json_object_object_get_ex(v, "wall_time_us", NULL)) {
                        if (figures_from_usage(v, i, &i->figures, err) < 0)
                                return -1;
                        i->has_figures = true;
                }
        }
        if (json_object_object_get_ex(o, "report", &v) && json_object_is_type(v, json_type_object)) {
                if (jl_report_from_json(v, &i->report, err) < 0)
                        return -1;
                i->has_report = true;
        }
        return 0;
}

json_object *jl_list_result_new(void)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *a = json_object_new_array();

        if (!o || !a || json_object_object_add(o, "jails", a) < 0) {
                if (a && o && !json_object_object_get_ex(o, "jails", NULL))
                        json_object_put(a);
                return NULL;
        }
        return TAKE_PTR(o);
}

int jl_list_result_add(json_object *list, json_object *info)
{
        json_object *a;

        if (!info)
                return -ENOMEM;
        if (!json_object_object_get_ex(list, "jails", &a) || json_object_array_add(a, info) < 0) {
                json_object_put(info);
                return -ENOMEM;
        }
        return 0;
}

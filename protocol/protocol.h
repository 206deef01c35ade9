/* SPDX-License-Identifier: MIT */
/*
 * The jailerd wire protocol: JSON-RPC 2.0, one JSON object per line
 * (UTF-8, '\n'-terminated) over a SOCK_STREAM Unix socket.  The reference
 * is protocol/PROTOCOL.md.  Everything that encodes or decodes the wire format
 * lives here and is shared by jailerd and jailerctl.
 *
 * Layers, bottom up:
 *   framing        jl_framer: bytes (and SCM_RIGHTS fds) in, complete lines out
 *   messages       jl_request_decode(): one line -> a checked request, or a
 *                  jl_rpc_error ready to be sent back; builders and a
 *                  serialiser for replies and notifications; jl_outbuf for
 *                  non-blocking writers; jl_send_line() for fds
 *   method params  jl_*_params_decode(): per-method parameter checking
 *   results        builders (daemon side) and parsers (client side) for the
 *                  typed results: version, create, jail info, report
 *   client         jl_client: a small blocking client for jailerctl and tests
 *
 * Conventions: int-returning functions return >= 0 on success and -1 (with
 * *err filled when err is not NULL) or a negative errno value on failure, as
 * each comment says.  Nothing here prints or exits.  Every fd this library
 * creates or receives is O_CLOEXEC.
 */
#ifndef JAILER_PROTOCOL_H
#define JAILER_PROTOCOL_H

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jailer.h"

#define JL_PROTOCOL_VERSION 1
#define JL_PROTOCOL_MAX_LINE (1024 * 1024) /* a longer line is refused */
#define JL_PROTOCOL_MAX_FDS 3              /* stdin, stdout, stderr with "create" */
#define JL_PROTOCOL_DEFAULT_SOCKET "/run/jailer/jailerd.sock"
#define JL_PROTOCOL_SOCKET_ENV "JAILER_SOCKET"

/* JSON-RPC error codes */
enum {
        JL_RPC_PARSE_ERROR = -32700,
        JL_RPC_INVALID_REQUEST = -32600,
        JL_RPC_METHOD_NOT_FOUND = -32601,
        JL_RPC_INVALID_PARAMS = -32602,
        JL_RPC_INTERNAL_ERROR = -32603,
        /* ours, -32000..-32099; data.reason says the same in words */
        JL_RPC_PERMISSION_DENIED = -32001, /* "permission_denied" */
        JL_RPC_EXISTS = -32002,            /* "exists" */
        JL_RPC_NOT_FOUND = -32003,         /* "not_found" */
        JL_RPC_LIMIT_REACHED = -32004,     /* "limit_reached" */
        JL_RPC_INTERNAL = -32005,          /* "internal" */
        JL_RPC_SPAWN_FAILED = -32006,      /* "spawn_failed": the jail could not be started */
        JL_RPC_NOT_RUNNING = -32007,       /* "not_running": kill of a jail that has exited */
        JL_RPC_SHUTTING_DOWN = -32008,     /* "shutting_down": the daemon is stopping */
        JL_RPC_LOST = -32009,              /* "lost": the jail's supervisor died without its report */
        JL_RPC_NOT_PREPARED = -32010,      /* "not_prepared": start of a jail that is not prepared */
        JL_RPC_BUSY = -32011,              /* "busy": create with the id of a jail still being cleaned up */
};

/* data.reason values.  Each code has one default reason; -32602 has two. */
#define JL_REASON_PARSE_ERROR "parse_error"
#define JL_REASON_INVALID_REQUEST "invalid_request"
#define JL_REASON_METHOD_NOT_FOUND "method_not_found"
#define JL_REASON_INVALID_PARAMS "invalid_params" /* -32602, a method's params */
#define JL_REASON_INVALID_CONFIG "invalid_config" /* -32602, create's jail config */
#define JL_REASON_INVALID_FDS "invalid_fds"       /* -32602, wrong number of passed fds */
#define JL_REASON_OVERSIZED "oversized"           /* -32600, line > JL_PROTOCOL_MAX_LINE */
#define JL_REASON_PERMISSION_DENIED "permission_denied"
#define JL_REASON_EXISTS "exists"
#define JL_REASON_NOT_FOUND "not_found"
#define JL_REASON_LIMIT_REACHED "limit_reached"
#define JL_REASON_INTERNAL "internal"
#define JL_REASON_SPAWN_FAILED "spawn_failed"
#define JL_REASON_NOT_RUNNING "not_running"
#define JL_REASON_SHUTTING_DOWN "shutting_down"
#define JL_REASON_LOST "lost"
#define JL_REASON_NOT_PREPARED "not_prepared"
#define JL_REASON_BUSY "busy"
/* Not on the wire: errors the client library makes up itself (code 0). */
#define JL_REASON_CONNECTION "connection"   /* connect/read/write failed, peer closed */
#define JL_REASON_PROTOCOL "protocol"       /* the daemon sent something we cannot read */
#define JL_REASON_INTERRUPTED "interrupted" /* a signal interrupted a blocking call */
#define JL_REASON_TIMEOUT "timeout"         /* a blocking call's timeout expired */

/* The default data.reason of a code ("internal" for codes we do not know). */
const char *jl_rpc_code_reason(int code);

/* One error, as sent in a reply ("error":{"code","message","data":{...}})
 * or as received by a client.  Empty strings are left out of data. */
typedef struct jl_rpc_error {
        int code;               /* JL_RPC_*, or 0 for a client-side error */
        char reason[32];        /* data.reason */
        char field[96];         /* data.field: the member at fault, e.g. "limits.memory_bytes" */
        char step[16];          /* data.step: jailer_step_name(), spawn_failed only */
        char message[1024];     /* "message": one line, names the field and the value */
        char errno_name[24];    /* data.errno: "ENOENT", ..., spawn_failed only, when known */
} jl_rpc_error;

/* Fill *e (when not NULL) and return -1.  reason NULL = the code's default;
 * field NULL = none. */
int jl_rpc_error_set(jl_rpc_error *e, int code, const char *reason, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* From a libjailer error: config errors (step CONFIG) become -32602
 * invalid_config with je->field; any other step becomes -32006 spawn_failed
 * with data.step = jailer_step_name(je->step) and data.errno = the name of
 * je->code when it is not 0.  Returns -1. */
int jl_rpc_error_from_jailer(jl_rpc_error *e, const jailer_error *je);

/* ------------------------------------------------------------------ framing */

/* One complete line taken from a jl_framer, with the fds that were sent
 * with it (see framer.c for how they are attributed).  The line is NUL-terminated at len (it may contain other
 * NULs: decoding refuses those).  jl_line_free() closes every fd still >= 0:
 * take an fd by copying it and setting the slot to -1. */
typedef struct jl_line {
        char *data;             /* without the '\n' */
        size_t len;
        bool oversized;         /* longer than JL_PROTOCOL_MAX_LINE: data is NULL, len the bytes dropped */
        bool fds_truncated;     /* more than JL_PROTOCOL_MAX_FDS fds, fds sent with a later piece
                                 * of the line than its first, or MSG_CTRUNC: all were closed */
        int fds[JL_PROTOCOL_MAX_FDS];
        size_t n_fds;
} jl_line;

void jl_line_free(jl_line *l);  /* frees l too; NULL is fine */

typedef struct jl_framer jl_framer;

jl_framer *jl_framer_new(void);  /* NULL on ENOMEM */
void jl_framer_free(jl_framer *f);  /* closes every fd it still holds */

/* Append bytes (tests, or a transport of one's own).  0 or -ENOMEM. */
int jl_framer_feed(jl_framer *f, const void *buf, size_t len);

/* One recvmsg() on a (typically non-blocking) socket, with room for
 * SCM_RIGHTS fds (received MSG_CMSG_CLOEXEC).  Returns the number of bytes
 * read (> 0), 0 at end of stream, or -errno (-EAGAIN: nothing to read now;
 * -EINTR is retried internally). */
ssize_t jl_framer_read(jl_framer *f, int fd);

/* Take the next complete line: 1 with *out set (free with jl_line_free), 0
 * when no complete line is buffered, -ENOMEM.  A line longer than
 * JL_PROTOCOL_MAX_LINE is returned once as oversized, as soon as its length
 * is exceeded; the rest of it, up to the next '\n', is discarded as it comes
 * in, and the next line is read normally. */
int jl_framer_next(jl_framer *f, jl_line **out);

/* Bytes buffered that do not yet form a complete line (a peer that closes
 * with a partial line pending sent a truncated request). */
size_t jl_framer_pending(const jl_framer *f);
/* The memory the framer holds for its peer, in bytes (0 buffer between lines). */
size_t jl_framer_memory(const jl_framer *f);

/* ------------------------------------------------------------------ requests */

typedef enum jl_method {
        JL_METHOD_VERSION,
        JL_METHOD_CREATE,
        JL_METHOD_WAIT,
        JL_METHOD_KILL,
        JL_METHOD_LIST,
        JL_METHOD_STATUS,
        JL_METHOD_SUBSCRIBE,
        JL_METHOD_LOGS,
        JL_METHOD_START,
        _JL_METHOD_MAX,
        _JL_METHOD_INVALID = -1,
} jl_method;

const char *jl_method_to_string(jl_method m);  /* NULL for an invalid value */
jl_method jl_method_from_string(const char *s); /* _JL_METHOD_INVALID when unknown */

/* Notifications the daemon sends to subscribers. */
#define JL_NOTIFY_STARTED "started"
#define JL_NOTIFY_EXITED "exited"

typedef struct jl_request {
        json_object *id;        /* a string or an integer (owned reference) */
        jl_method method;
        json_object *params;    /* always an object; {} when omitted (owned reference) */
        int fds[JL_PROTOCOL_MAX_FDS]; /* moved from the jl_line; -1 when taken */
        size_t n_fds;
} jl_request;

/* Decode and check one line's envelope: valid UTF-8 JSON without NULs
 * (-32700), an object with exactly "jsonrpc":"2.0", "id" (string or integer),
 * "method" (string), optional "params" (object) and nothing else (-32600),
 * a method we know (-32601), fds only with "create" and then 0 or 3 of them
 * (-32602 invalid_fds).  The method's params are not checked here (see
 * jl_*_params_decode()).  An oversized line gives -32600 "oversized".
 *
 * On success returns 0, fills *out (release with jl_request_done()), moves
 * the line's fds into it and leaves *id_out NULL (the id is out->id).  On failure returns -1, fills *err and sets *id_out
 * to the request's id when one could be read (a new reference, to echo in
 * the error reply), else NULL (reply with "id":null).  The line's fds are
 * left in the line, to be closed by jl_line_free(). */
int jl_request_decode(jl_line *line, jl_request *out, json_object **id_out, jl_rpc_error *err);
void jl_request_done(jl_request *r);  /* drops refs, closes fds still >= 0 */

/* ------------------------------------------------------------------ method params */

/* A jail id, as in the config's "id": 1-64 of [A-Za-z0-9_-]. */
bool jl_jail_id_valid(const char *id);

/* create: params are a jail config in the config file format, "jail_root"
 * optional.  Parse it (types, unknown keys: -32602 invalid_config with
 * data.field); does not validate values, so that the daemon can first fill in
 * a jail_root of its own when *root_given is false.  Then call
 * jl_create_params_validate(). */
int jl_create_params_parse(json_object *params, jailer_config **out, bool *root_given, jl_rpc_error *err);
/* jailer_config_validate(), mapped to -32602 invalid_config + data.field. */
int jl_create_params_validate(const jailer_config *c, jl_rpc_error *err);

/* create's own members beside the jail config: "start" (boolean, default
 * true) and "prepare_timeout_ms" (an integer 1..JL_PREPARE_TIMEOUT_MAX_MS,
 * only with "start": false; 0 when absent: no limit).  Checked and taken
 * out of params, which then hold the config alone. */
#define JL_PREPARE_TIMEOUT_MAX_MS (24ull * 3600 * 1000)
typedef struct jl_create_opts {
        bool start;
        uint64_t prepare_timeout_ms;
} jl_create_opts;
int jl_create_opts_take(json_object *params, jl_create_opts *o, jl_rpc_error *err);

/* wait, status, start: {"jail": ID}.  *jail points into params. */
int jl_jail_params_decode(json_object *params, const char **jail, jl_rpc_error *err);
/* kill: {"jail": ID, "signal": "SIGTERM" | "TERM" | 15}; signal optional
 * (SIGTERM).  Numbers 1..64. */
int jl_kill_params_decode(json_object *params, const char **jail, int *sig, jl_rpc_error *err);
/* logs: {"jail": ID, "offset": N, "follow": BOOL}; offset (default 0) is an
 * integer >= 0, follow (default false) a boolean. */
int jl_logs_params_decode(json_object *params, const char **jail, uint64_t *offset, bool *follow,
                          jl_rpc_error *err);
/* version, list: {} (any member is -32602 invalid_params). */
int jl_empty_params_decode(json_object *params, jl_rpc_error *err);
/* subscribe: {"cursor": "EPOCH:SEQ"}, optional (*cursor NULL); a string of
 * at most 64 bytes, its form checked by the daemon.  Points into params. */
int jl_subscribe_params_decode(json_object *params, const char **cursor, jl_rpc_error *err);

/* ------------------------------------------------------------------ messages out */

/* {"jsonrpc":"2.0","id":ID,"result":RESULT}.  Takes ownership of result
 * (NULL = {}); id is referenced, not taken.  NULL on ENOMEM. */
json_object *jl_reply_result(json_object *id, json_object *result);
/* {"jsonrpc":"2.0","id":ID|null,"error":{"code","message","data":{"reason",
 * "field"?,"step"?,"errno"?}}}.  id may be NULL. */
json_object *jl_reply_error(json_object *id, const jl_rpc_error *e);
/* {"jsonrpc":"2.0","method":METHOD,"params":PARAMS}; takes params. */
json_object *jl_notification(const char *method, json_object *params);
/* A request, for clients: {"jsonrpc":"2.0","id":ID,"method","params"}; takes
 * params (NULL = {}). */
json_object *jl_request_new(int64_t id, const char *method, json_object *params);

/* One line: compact JSON (no '\n' inside, '/' unescaped) plus '\n'.
 * malloc'd, *len without the terminating NUL; NULL on ENOMEM. */
char *jl_message_serialize(json_object *msg, size_t *len);

/* One sendmsg() of buf with fds attached (SCM_RIGHTS) when n_fds > 0;
 * MSG_NOSIGNAL.  Returns the bytes sent (may be short on a non-blocking
 * socket: send the rest with n_fds = 0) or -errno. */
ssize_t jl_send_line(int fd, const char *buf, size_t len, const int *fds, size_t n_fds);

/* An output queue for non-blocking writers: messages are appended whole and
 * written as far as the socket takes them. */
typedef struct jl_outbuf jl_outbuf;
jl_outbuf *jl_outbuf_new(void);
void jl_outbuf_free(jl_outbuf *o);
int jl_outbuf_append(jl_outbuf *o, json_object *msg);  /* 0 or -ENOMEM */
/* Write what the socket takes: 0 when everything was written, -EAGAIN when
 * bytes remain (wait for EPOLLOUT), another -errno on error (-EPIPE: the
 * peer is gone). */
int jl_outbuf_flush(jl_outbuf *o, int fd);
size_t jl_outbuf_pending(const jl_outbuf *o);
/* The memory the queue holds (its buffer is released once written out). */
size_t jl_outbuf_memory(const jl_outbuf *o);

/* ------------------------------------------------------------------ results */

/* version: {"version":"0.1.0","protocol":1,"cgroup":"v2"|"v1"}; cgroup NULL
 * gives null. */
json_object *jl_version_result(const char *version, const char *cgroup);

/* create: {"jail":ID,"pid":HOST_PID} */
json_object *jl_create_result(const char *jail, pid_t pid);
int jl_create_result_parse(json_object *result, char jail[JAILER_ID_MAX + 1], pid_t *pid, jl_rpc_error *err);

/* logs: {"jail":ID,"offset":N,"next_offset":N+len,"data":BASE64,"end":BOOL}.
 * The bytes of one reply: at most JL_LOGS_CHUNK_MAX.  The jail's output is
 * arbitrary bytes, so "data" is base64 (RFC 4648, padded): the JSON text
 * stays valid UTF-8 whatever the jail wrote. */
#define JL_LOGS_CHUNK_MAX (64 * 1024)
json_object *jl_logs_result(const char *jail, uint64_t offset, const void *data, size_t len, bool end);
/* *data is malloc'd (never NULL on success, even when *len is 0). */
int jl_logs_result_parse(json_object *result, uint64_t *next_offset, void **data, size_t *len, bool *end,
                         jl_rpc_error *err);

/* An exit report as JSON (jailer_report_to_json()'s object). */
json_object *jl_report_to_json(const jailer_report *r);
int jl_report_from_json(json_object *o, jailer_report *r, jl_rpc_error *err);

typedef enum jl_jail_state {
        JL_JAIL_RUNNING,
        JL_JAIL_EXITED,
        JL_JAIL_LOST,           /* its supervisor died without the exit report */
        JL_JAIL_PREPARED,       /* created with "start": false, waiting for start */
        _JL_JAIL_STATE_MAX,
        _JL_JAIL_STATE_INVALID = -1,
} jl_jail_state;

const char *jl_jail_state_to_string(jl_jail_state s);
jl_jail_state jl_jail_state_from_string(const char *s);

/* One jail as list, status and the notifications show it:
 *   {"jail","pid","state","started_at","uid"}
 *   + "usage":{"cpu_usage_us","memory_current_bytes","memory_peak_bytes",
 *              "pids_current"}      when has_usage (status of a running jail),
 *              and with has_figures the report's figures so far in it:
 *              "wall_time_us", "oom_killed", "pids_peak" and the
 *              disturbance keys ("cpus", "cpu_throttled_us", ...)
 *   + "report":{...}               when has_report (exited) */
typedef struct jl_jail_info {
        char jail[JAILER_ID_MAX + 1];
        pid_t pid;                 /* host pid of the jailed program */
        jl_jail_state state;
        uint64_t started_at_us;    /* CLOCK_REALTIME, µs since the epoch */
        uid_t uid;                 /* the uid that created it (SO_PEERCRED) */
        bool has_usage;
        jailer_usage usage;
        bool has_figures;          /* only with has_usage */
        jailer_report figures;     /* the report so far: exit_code -1, signal 0 */
        bool has_report;
        jailer_report report;
} jl_jail_info;

json_object *jl_jail_info_to_json(const jl_jail_info *i);
/* Unknown members are ignored (results may grow). */
int jl_jail_info_from_json(json_object *o, jl_jail_info *i, jl_rpc_error *err);

/* list: {"jails":[info, ...]}; takes each element as jl_jail_info_to_json()
 * made it.  Build with jl_list_result_new() + jl_list_result_add(). */
json_object *jl_list_result_new(void);
int jl_list_result_add(json_object *list, json_object *info);  /* takes info; 0 or -ENOMEM */

/* RFC 3339 UTC with microseconds: "2026-11-29T18:31:00.123456Z". */
int jl_format_rfc3339(uint64_t realtime_us, char buf[static 32]);
int jl_parse_rfc3339(const char *s, uint64_t *realtime_us);  /* 0 or -EINVAL; accepts 0-9 fraction digits, "Z" only */

/* ------------------------------------------------------------------ client */

typedef struct jl_client jl_client;

/* The socket path: explicit (--socket) if not NULL, else $JAILER_SOCKET if
 * set and non-empty, else JL_PROTOCOL_DEFAULT_SOCKET. */
const char *jl_client_socket_path(const char *explicit_path);

/* Connect (blocking, SOCK_CLOEXEC).  On failure err: code 0, reason
 * "connection", message naming the path and errno. */
int jl_client_connect(const char *path, jl_client **out, jl_rpc_error *err);
void jl_client_free(jl_client *c);
int jl_client_fd(const jl_client *c);

/* While blocked in poll, the calling thread's signal mask is replaced by
 * *mask (ppoll), so that signals kept blocked otherwise can interrupt a call
 * without a race: the call then fails with reason "interrupted".  NULL (the
 * default) keeps the current mask. */
void jl_client_set_sigmask(jl_client *c, const sigset_t *mask);

/* Send a request (with fds, for create) and return its id in *id; params
 * is taken (NULL = {}). */
int jl_client_send(jl_client *c, const char *method, json_object *params, const int *fds, size_t n_fds,
                   int64_t *id, jl_rpc_error *err);
/* Wait for the reply to request id.  0 with *result (a new reference) on
 * success; -1 with *err filled otherwise: the daemon's error (its code, data
 * and message), or code 0 with reason "connection", "protocol",
 * "interrupted" or "timeout".  After "interrupted" or "timeout" the call
 * can be repeated.  Notifications and other replies arriving meanwhile are
 * kept.  timeout_ms < 0 waits forever. */
int jl_client_recv_reply(jl_client *c, int64_t id, int timeout_ms, json_object **result, jl_rpc_error *err);
/* send + recv_reply; params is taken (NULL = {}). */
int jl_client_call(jl_client *c, const char *method, json_object *params, const int *fds, size_t n_fds,
                   int timeout_ms, json_object **result, jl_rpc_error *err);
/* The next notification: 0 with *method (malloc'd) and *params (a new
 * reference), or -1 as for jl_client_recv_reply(). */
int jl_client_next_notification(jl_client *c, int timeout_ms, char **method, json_object **params,
                                jl_rpc_error *err);

#endif

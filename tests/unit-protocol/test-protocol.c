/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the wire protocol: framing, request decoding with its error
 * classes, params, builders, fd passing over a socketpair and the client's
 * reply matching.  TAP, one test point per case (tests/lib/tap.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jailer-internal.h"
#include "protocol.h"
#include "tap.h"

static char failure[4096];

static void fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(int line, const char *fmt, ...)
{
        va_list ap;
        int n = snprintf(failure, sizeof(failure), "line %d: ", line);

        va_start(ap, fmt);
        vsnprintf(failure + n, sizeof(failure) - (size_t) n, fmt, ap);
        va_end(ap);
}

/* Append context to the failure message. */
static void fail_more(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_more(const char *fmt, ...)
{
        va_list ap;
        size_t n = strlen(failure);

        va_start(ap, fmt);
        vsnprintf(failure + n, sizeof(failure) - n, fmt, ap);
        va_end(ap);
}

/* A check inside a case: on failure remember why and leave the case. */
#define CHECK(cond, ...)                              \
        do {                                          \
                if (!(cond)) {                        \
                        fail(__LINE__, __VA_ARGS__);  \
                        return -1;                    \
                }                                     \
        } while (0)

/* A case is one test point; when it fails, the failed check as a diagnostic. */
static void report(const char *name, int r)
{
        if (!ok(r == 0, "%s", name))
                diag("%s", failure);
        failure[0] = 0;
}

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        if (!d)
                return -1;
        while (readdir(d))
                n++;
        closedir(d);
        return n - 3; /* ".", "..", the DIR's own fd */
}

/* ------------------------------------------------------------------ framing */

/* Feed s in chunks of size chunk; collect the lines into out (joined by '|',
 * oversized lines as "<OVERSIZED>"). */
static int frame_all(const char *s, size_t len, size_t chunk, char *out, size_t out_size)
{
        jl_framer *f = jl_framer_new();
        unsigned n_lines = 0;

        out[0] = 0;
        for (size_t off = 0; off < len; off += chunk) {
                size_t n = len - off < chunk ? len - off : chunk;
                if (jl_framer_feed(f, s + off, n) < 0)
                        return -1;
                jl_line *l;
                while (jl_framer_next(f, &l) > 0) {
                        size_t used = strlen(out);
                        snprintf(out + used, out_size - used, "%s%s", n_lines++ ? "|" : "",
                                 l->oversized ? "<OVERSIZED>" : l->data);
                        jl_line_free(l);
                }
        }
        jl_framer_free(f);
        return 0;
}

static int t_frame_one_line(void)
{
        char out[256];
        CHECK(frame_all("abc\n", 4, 4, out, sizeof(out)) == 0, "frame");
        CHECK(strcmp(out, "abc") == 0, "got %s", out);
        return 0;
}

static int t_frame_partial_reads(void)
{
        const char *s = "{\"a\":1}\n{\"b\":2}\n";
        char out[256];
        CHECK(frame_all(s, strlen(s), 1, out, sizeof(out)) == 0, "frame");
        CHECK(strcmp(out, "{\"a\":1}|{\"b\":2}") == 0, "got %s", out);
        return 0;
}

static int t_frame_several_lines_one_read(void)
{
        const char *s = "one\ntwo\nthree\nfour";
        char out[256];
        CHECK(frame_all(s, strlen(s), strlen(s), out, sizeof(out)) == 0, "frame");
        CHECK(strcmp(out, "one|two|three") == 0, "got %s (partial 'four' must stay buffered)", out);
        return 0;
}

static int t_frame_empty_lines(void)
{
        char out[256];
        CHECK(frame_all("\n\nx\n", 4, 4, out, sizeof(out)) == 0, "frame");
        CHECK(strcmp(out, "||x") == 0, "got %s", out);
        return 0;
}

static int oversized_then_valid(size_t chunk)
{
        size_t big = JL_PROTOCOL_MAX_LINE + 10;
        const char *tail = "\n{\"ok\":1}\n";
        size_t len = big + strlen(tail);
        _cleanup_free_ char *s = malloc(len);
        char out[256];

        CHECK(s, "malloc");
        memset(s, 'x', big);
        memcpy(s + big, tail, strlen(tail));
        CHECK(frame_all(s, len, chunk, out, sizeof(out)) == 0, "frame");
        CHECK(strcmp(out, "<OVERSIZED>|{\"ok\":1}") == 0, "got %s", out);
        return 0;
}

static int t_frame_oversized_then_valid(void)
{
        return oversized_then_valid(JL_PROTOCOL_MAX_LINE * 2);
}

static int t_frame_oversized_in_chunks(void)
{
        return oversized_then_valid(4096 + 7);
}

static int t_frame_max_line_accepted(void)
{
        jl_framer *f = jl_framer_new();
        _cleanup_free_ char *s = malloc(JL_PROTOCOL_MAX_LINE + 1);
        jl_line *l = NULL;

        CHECK(f && s, "alloc");
        memset(s, 'y', JL_PROTOCOL_MAX_LINE);
        s[JL_PROTOCOL_MAX_LINE] = '\n';
        CHECK(jl_framer_feed(f, s, JL_PROTOCOL_MAX_LINE + 1) == 0, "feed");
        int r = jl_framer_next(f, &l);
        bool ok = r == 1 && !l->oversized && l->len == JL_PROTOCOL_MAX_LINE;
        jl_line_free(l);
        jl_framer_free(f);
        CHECK(ok, "a line of exactly the maximum must pass");
        return 0;
}

static int t_frame_nul_byte_kept(void)
{
        jl_framer *f = jl_framer_new();
        jl_line *l = NULL;

        CHECK(jl_framer_feed(f, "a\0b\n", 4) == 0, "feed");
        int r = jl_framer_next(f, &l);
        bool ok = r == 1 && l->len == 3 && l->data[1] == 0;
        jl_line_free(l);
        jl_framer_free(f);
        CHECK(ok, "a NUL byte must be kept in the line for decoding to refuse");
        return 0;
}

/* ------------------------------------------------------------------ decoding */

struct decode_case {
        const char *name;
        const char *line;
        size_t len;             /* 0: strlen(line) */
        int code;               /* 0: must decode */
        const char *reason;
        const char *field;      /* NULL: no check; "": must be empty */
        bool id_echoed;
};

static int decode_one(const struct decode_case *c)
{
        jl_line l = {};
        jl_request req;
        json_object *id = NULL;
        jl_rpc_error e = {};

        l.len = c->len ? c->len : strlen(c->line);
        l.data = malloc(l.len + 1);
        CHECK(l.data, "malloc");
        memcpy(l.data, c->line, l.len);
        l.data[l.len] = 0;

        int r = jl_request_decode(&l, &req, &id, &e);
        free(l.data);
        bool had_id = id != NULL;
        json_object_put(id);

        if (c->code == 0) {
                bool has_req_id = req.id != NULL;
                jl_request_done(&req);
                CHECK(r == 0, "expected success, got %d %s field=%s: %s", e.code, e.reason, e.field, e.message);
                CHECK(!had_id && has_req_id, "on success the id belongs to the request only");
                return 0;
        }
        jl_request_done(&req);
        CHECK(r < 0, "expected error %d, decoded", c->code);
        CHECK(e.code == c->code, "code %d, expected %d (%s)", e.code, c->code, e.message);
        CHECK(strcmp(e.reason, c->reason) == 0, "reason %s, expected %s", e.reason, c->reason);
        CHECK(!c->field || strcmp(e.field, c->field) == 0, "field \"%s\", expected \"%s\"", e.field, c->field);
        CHECK(had_id == c->id_echoed, "id %s echoed", had_id ? "was" : "was not");
        CHECK(e.message[0], "empty message");
        return 0;
}

static const struct decode_case decode_cases[] = {
        { "decode: version", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"version\"}", 0, 0, NULL, NULL, true },
        { "decode: string id, params {}", "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"list\",\"params\":{}}", 0, 0,
          NULL, NULL, true },
        { "decode: trailing whitespace and CR", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"version\"} \r", 0, 0, NULL,
          NULL, true },
        { "decode: not JSON", "hello", 0, JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: empty line", "", 0, JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: truncated JSON", "{\"jsonrpc\":\"2.0\",\"id\":1", 0, JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: text after JSON", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list\"} x", 0, JL_RPC_PARSE_ERROR,
          "parse_error", "", false },
        { "decode: two objects", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list\"}{}", 0, JL_RPC_PARSE_ERROR,
          "parse_error", "", false },
        { "decode: NUL byte", "{\"jsonrpc\":\"2.0\",\0\"id\":1}", 23, JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"list\"}", 0, JL_RPC_PARSE_ERROR,
          "parse_error", "", false },
        { "decode: overlong UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":\"\xc0\xaf\",\"method\":\"list\"}", 0,
          JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: UTF-8 surrogate", "{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\",\"method\":\"list\"}", 0,
          JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: valid UTF-8 id", "{\"jsonrpc\":\"2.0\",\"id\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"method\":\"list\"}",
          0, 0, NULL, NULL, true },
        { "decode: single quotes", "{'jsonrpc':'2.0'}", 0, JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: array (batch)", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list\"}]", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "", false },
        { "decode: a number", "42", 0, JL_RPC_INVALID_REQUEST, "invalid_request", "", false },
        { "decode: a string", "\"list\"", 0, JL_RPC_INVALID_REQUEST, "invalid_request", "", false },
        { "decode: missing id", "{\"jsonrpc\":\"2.0\",\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "id", false },
        { "decode: null id", "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "id", false },
        { "decode: fractional id", "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "id", false },
        { "decode: boolean id", "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "id", false },
        { "decode: object id", "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "id", false },
        { "decode: missing jsonrpc", "{\"id\":7,\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST, "invalid_request",
          "jsonrpc", true },
        { "decode: jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "jsonrpc", true },
        { "decode: jsonrpc number", "{\"jsonrpc\":2.0,\"id\":7,\"method\":\"list\"}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "jsonrpc", true },
        { "decode: missing method", "{\"jsonrpc\":\"2.0\",\"id\":7}", 0, JL_RPC_INVALID_REQUEST, "invalid_request",
          "method", true },
        { "decode: method not a string", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":5}", 0, JL_RPC_INVALID_REQUEST,
          "invalid_request", "method", true },
        { "decode: params an array", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"wait\",\"params\":[\"x\"]}", 0,
          JL_RPC_INVALID_REQUEST, "invalid_request", "params", true },
        { "decode: params null", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"list\",\"params\":null}", 0,
          JL_RPC_INVALID_REQUEST, "invalid_request", "params", true },
        { "decode: unknown top-level member", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"list\",\"extra\":1}", 0,
          JL_RPC_INVALID_REQUEST, "invalid_request", "extra", true },
        { "decode: unknown method", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"destroy\"}", 0,
          JL_RPC_METHOD_NOT_FOUND, "method_not_found", "method", true },
        { "decode: method with NUL escape", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"list\\u0000x\"}", 0,
          JL_RPC_METHOD_NOT_FOUND, "method_not_found", "method", true },
        { "decode: method case matters", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"LIST\"}", 0,
          JL_RPC_METHOD_NOT_FOUND, "method_not_found", "method", true },
        { "decode: NUL escape in params", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"wait\",\"params\":{\"jail\":\"a\\u0000b\"}}",
          0, JL_RPC_INVALID_PARAMS, "invalid_params", "jail", true },
        { "decode: NUL escape in config", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"create\",\"params\":{\"exec_args\":[\"a\",\"b\\u0000\"]}}",
          0, JL_RPC_INVALID_PARAMS, "invalid_config", "exec_args[1]", true },
        { "decode: too deep", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"list\",\"params\":{\"a\":"
          "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}", 0,
          JL_RPC_INVALID_REQUEST, "invalid_request", NULL, false },
        /* The strict reader's rules, the same as for config and policy files. */
        { "decode: a duplicate method", "{\"jsonrpc\":\"2.0\",\"id\":\"dup\",\"method\":\"nosuch\",\"method\":\"version\"}",
          0, JL_RPC_INVALID_REQUEST, "invalid_request", "method", false },
        { "decode: a duplicate key in create's config",
          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"create\",\"params\":{\"id\":\"a\",\"limits\":"
          "{\"max_fds\":1,\"max_fds\":100000000}}}", 0, JL_RPC_INVALID_REQUEST, "invalid_request",
          "params.limits.max_fds", false },
        { "decode: a duplicate key spelled with an escape",
          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list\",\"\\u006dethod\":\"version\"}", 0,
          JL_RPC_INVALID_REQUEST, "invalid_request", "method", false },
        { "decode: an id beyond 64 bits", "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551617,\"method\":\"version\"}",
          0, JL_RPC_INVALID_REQUEST, "invalid_request", "id", false },
        { "decode: null", "null", 0, JL_RPC_INVALID_REQUEST, "invalid_request", "", false },
        { "decode: a raw control byte in a string", "{\"jsonrpc\":\"2.0\",\"id\":\"a\x01\",\"method\":\"list\"}", 0,
          JL_RPC_PARSE_ERROR, "parse_error", "", false },
        { "decode: NaN", "{\"jsonrpc\":\"2.0\",\"id\":NaN,\"method\":\"list\"}", 0, JL_RPC_PARSE_ERROR,
          "parse_error", "", false },
        { "decode: Infinity", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list\",\"params\":{\"x\":Infinity}}", 0,
          JL_RPC_PARSE_ERROR, "parse_error", "", false },
};

static int t_decode_oversized(void)
{
        jl_line l = { .oversized = true, .len = JL_PROTOCOL_MAX_LINE + 1 };
        jl_request req;
        json_object *id = NULL;
        jl_rpc_error e = {};

        CHECK(jl_request_decode(&l, &req, &id, &e) < 0, "decoded");
        CHECK(e.code == JL_RPC_INVALID_REQUEST && strcmp(e.reason, "oversized") == 0, "%d %s", e.code, e.reason);
        CHECK(!id, "id");
        return 0;
}

/* ------------------------------------------------------------------ params */

static json_object *P(const char *s)
{
        return json_tokener_parse(s);
}

static int params_err(int r, const jl_rpc_error *e, const char *reason, const char *field)
{
        CHECK(r < 0, "accepted");
        CHECK(e->code == JL_RPC_INVALID_PARAMS, "code %d", e->code);
        CHECK(strcmp(e->reason, reason) == 0, "reason %s, expected %s", e->reason, reason);
        CHECK(strcmp(e->field, field) == 0, "field \"%s\", expected \"%s\" (%s)", e->field, field, e->message);
        return 0;
}

static int t_params_jail(void)
{
        const char *jail = NULL;
        jl_rpc_error e = {};
        json_object *p;
        int r;

        p = P("{\"jail\":\"web-1_A\"}");
        r = jl_jail_params_decode(p, &jail, &e);
        CHECK(r == 0 && strcmp(jail, "web-1_A") == 0, "valid jail refused: %s", e.message);
        json_object_put(p);

        static const char *const bad[][2] = {
                { "{}", "jail" },
                { "{\"jail\":5}", "jail" },
                { "{\"jail\":null}", "jail" },
                { "{\"jail\":\"\"}", "jail" },
                { "{\"jail\":\"a/b\"}", "jail" },
                { "{\"jail\":\"../x\"}", "jail" },
                { "{\"jail\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "jail" },
                { "{\"jail\":\"a\",\"signal\":\"KILL\"}", "signal" },
                { "{\"jail\":\"a\",\"x\":1}", "x" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                p = P(bad[i][0]);
                CHECK(p, "test JSON %s", bad[i][0]);
                r = jl_jail_params_decode(p, &jail, &e);
                json_object_put(p);
                if (params_err(r, &e, "invalid_params", bad[i][1]) < 0) {
                        fail_more(" [%s]", bad[i][0]);
                        return -1;
                }
        }
        return 0;
}

static int t_params_kill(void)
{
        static const struct {
                const char *json;
                int sig;
                const char *field;
        } cases[] = {
                { "{\"jail\":\"a\"}", SIGTERM, NULL },
                { "{\"jail\":\"a\",\"signal\":\"SIGKILL\"}", SIGKILL, NULL },
                { "{\"jail\":\"a\",\"signal\":\"INT\"}", SIGINT, NULL },
                { "{\"jail\":\"a\",\"signal\":9}", SIGKILL, NULL },
                { "{\"jail\":\"a\",\"signal\":64}", 64, NULL },
                { "{\"jail\":\"a\",\"signal\":0}", 0, "signal" },
                { "{\"jail\":\"a\",\"signal\":65}", 0, "signal" },
                { "{\"jail\":\"a\",\"signal\":-9}", 0, "signal" },
                { "{\"jail\":\"a\",\"signal\":\"SIGFOO\"}", 0, "signal" },
                { "{\"jail\":\"a\",\"signal\":9.0}", 0, "signal" },
                { "{\"jail\":\"a\",\"signal\":true}", 0, "signal" },
                { "{\"signal\":9}", 0, "jail" },
                { "{\"jail\":\"a\",\"sig\":9}", 0, "sig" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_object *p = P(cases[i].json);
                const char *jail = NULL;
                jl_rpc_error e = {};
                int sig = -1;

                CHECK(p, "test JSON %s", cases[i].json);
                int r = jl_kill_params_decode(p, &jail, &sig, &e);
                json_object_put(p);
                if (!cases[i].field) {
                        CHECK(r == 0 && sig == cases[i].sig, "%s: r=%d sig=%d (%s)", cases[i].json, r, sig, e.message);
                        continue;
                }
                if (params_err(r, &e, "invalid_params", cases[i].field) < 0) {
                        fail_more(" [%s]", cases[i].json);
                        return -1;
                }
        }
        return 0;
}

static int t_params_empty(void)
{
        jl_rpc_error e = {};
        json_object *p = P("{}");

        CHECK(jl_empty_params_decode(p, &e) == 0, "{} refused");
        json_object_put(p);
        p = P("{\"all\":true}");
        int r = jl_empty_params_decode(p, &e);
        json_object_put(p);
        return params_err(r, &e, "invalid_params", "all");
}

static int create_err(const char *json, const char *field)
{
        json_object *p = P(json);
        jailer_config *c = NULL;
        jl_rpc_error e = {};
        bool given;

        CHECK(p, "test JSON %s", json);
        int r = jl_create_params_parse(p, &c, &given, &e);
        json_object_put(p);
        if (r == 0) {
                r = jl_create_params_validate(c, &e);
                jailer_config_free(c);
        }
        if (params_err(r, &e, "invalid_config", field) < 0) {
                fail_more(" [%s]", json);
                return -1;
        }
        return 0;
}

static int t_create_valid_no_root(void)
{
        json_object *p = P("{\"id\":\"job-1\",\"exec_path\":\"/bin/true\",\"exec_args\":[\"x\"]}");
        jailer_config *c = NULL;
        jl_rpc_error e = {};
        bool given = true;

        int r = jl_create_params_parse(p, &c, &given, &e);
        json_object_put(p);
        CHECK(r == 0, "refused: %s %s", e.field, e.message);
        CHECK(!given, "jail_root reported as given");
        CHECK(strcmp(jailer_config_get_id(c), "job-1") == 0, "id");
        r = jailer_config_set_jail_root(c, "/run/jailer/jails/job-1/root");
        if (r == 0)
                r = jl_create_params_validate(c, &e);
        jailer_config_free(c);
        CHECK(r == 0, "valid config refused after filling jail_root: %s %s", e.field, e.message);
        return 0;
}

static int t_create_root_given(void)
{
        json_object *p = P("{\"id\":\"job-1\",\"exec_path\":\"/bin/true\",\"jail_root\":\"/srv/j\"}");
        jailer_config *c = NULL;
        jl_rpc_error e = {};
        bool given = false;

        int r = jl_create_params_parse(p, &c, &given, &e);
        json_object_put(p);
        jailer_config_free(c);
        CHECK(r == 0 && given, "r=%d given=%d %s", r, given, e.message);

        p = P("{\"id\":\"job-1\",\"exec_path\":\"/bin/true\",\"jail_root\":null}");
        r = jl_create_params_parse(p, &c, &given, &e);
        json_object_put(p);
        jailer_config_free(c);
        CHECK(r == 0 && !given, "null jail_root: r=%d given=%d %s", r, given, e.message);
        return 0;
}

static int t_create_memory_too_small(void)
{
        return create_err("{\"id\":\"j\",\"exec_path\":\"/bin/true\",\"jail_root\":\"/srv/j\",\"limits\":{\"memory_bytes\":12}}",
                          "limits.memory_bytes");
}

static int t_create_unknown_key(void)
{
        return create_err("{\"id\":\"j\",\"exec_path\":\"/bin/true\",\"jail_root\":\"/srv/j\",\"limits\":{\"memroy_bytes\":1}}",
                          "limits.memroy_bytes");
}

static int t_create_wrong_type(void)
{
        return create_err("{\"id\":\"j\",\"exec_path\":\"/bin/true\",\"jail_root\":\"/srv/j\",\"uid\":\"root\"}", "uid");
}

static int t_create_bad_id(void)
{
        return create_err("{\"id\":\"a b\",\"exec_path\":\"/bin/true\",\"jail_root\":\"/srv/j\"}", "id");
}

static int t_create_relative_bind(void)
{
        return create_err("{\"id\":\"j\",\"exec_path\":\"/bin/true\",\"jail_root\":\"/srv/j\","
                          "\"bind_mounts\":[{\"source\":\"/a\",\"dest\":\"/a\"},{\"source\":\"rel\",\"dest\":\"/b\"}]}",
                          "bind_mounts[1].source");
}

static int t_create_missing_exec(void)
{
        return create_err("{\"id\":\"j\",\"jail_root\":\"/srv/j\"}", "exec_path");
}

static int expect_line(json_object *msg, const char *want);

static int t_error_from_jailer(void)
{
        jailer_error je = { .step = JAILER_STEP_EXEC, .code = ENOENT };
        jl_rpc_error e;

        snprintf(je.message, sizeof(je.message), "exec: /nope: No such file or directory");
        CHECK(jl_rpc_error_from_jailer(&e, &je) == -1, "return");
        CHECK(e.code == JL_RPC_SPAWN_FAILED && strcmp(e.reason, "spawn_failed") == 0, "%d %s", e.code, e.reason);
        CHECK(strcmp(e.step, jailer_step_name(JAILER_STEP_EXEC)) == 0, "step %s", e.step);
        CHECK(strstr(e.message, "/nope"), "message %s", e.message);
        CHECK(strcmp(e.errno_name, "ENOENT") == 0, "errno %s", e.errno_name);
        return expect_line(jl_reply_error(NULL, &e),
                           "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32006,\"message\":\"exec: /nope: "
                           "No such file or directory\",\"data\":{\"reason\":\"spawn_failed\",\"step\":\"exec\","
                           "\"errno\":\"ENOENT\"}}}");
}

/* ------------------------------------------------------------------ builders */

static int expect_line(json_object *msg, const char *want)
{
        size_t len;
        _cleanup_free_ char *s = jl_message_serialize(msg, &len);
        json_object_put(msg);
        CHECK(s, "serialize");
        CHECK(len == strlen(s) && s[len - 1] == '\n', "not one line");
        s[len - 1] = 0;
        CHECK(!strchr(s, '\n'), "newline inside");
        CHECK(strcmp(s, want) == 0, "\n   got  %s\n   want %s", s, want);
        return 0;
}

static int t_build_error(void)
{
        jl_rpc_error e;
        json_object *id = json_object_new_int(3);

        jl_rpc_error_set(&e, JL_RPC_INVALID_PARAMS, JL_REASON_INVALID_CONFIG, "limits.memory_bytes",
                         "limits.memory_bytes: 12 is below the 1 MiB minimum");
        int r = expect_line(jl_reply_error(id, &e),
                            "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32602,\"message\":\"limits.memory_bytes: "
                            "12 is below the 1 MiB minimum\",\"data\":{\"reason\":\"invalid_config\",\"field\":"
                            "\"limits.memory_bytes\"}}}");
        json_object_put(id);
        if (r < 0)
                return r;
        jl_rpc_error_set(&e, JL_RPC_PARSE_ERROR, NULL, NULL, "invalid JSON at byte 0");
        return expect_line(jl_reply_error(NULL, &e),
                           "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"invalid JSON at "
                           "byte 0\",\"data\":{\"reason\":\"parse_error\"}}}");
}

static int t_build_result(void)
{
        json_object *id = json_object_new_string("x/1");
        int r = expect_line(jl_reply_result(id, jl_create_result("web-1", 4242)),
                            "{\"jsonrpc\":\"2.0\",\"id\":\"x/1\",\"result\":{\"jail\":\"web-1\",\"pid\":4242}}");
        json_object_put(id);
        if (r < 0)
                return r;
        return expect_line(jl_reply_result(NULL, jl_version_result("0.1.0", "v1")),
                           "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{\"version\":\"0.1.0\",\"protocol\":1,"
                           "\"cgroup\":\"v1\"}}");
}

static int t_build_notification(void)
{
        jl_jail_info i = {
                .pid = 10,
                .state = JL_JAIL_EXITED,
                .started_at_us = 1796063460123456ULL,
                .uid = 1000,
                .has_report = true,
                .report = { .id = "web-1", .pid = 10, .exit_code = -1, .signal = SIGKILL, .oom_killed = true,
                            .wall_time_us = 5, .cpu_usage_us = 6, .memory_peak_bytes = 7, .pids_peak = -1 },
        };
        strcpy(i.jail, "web-1");
        return expect_line(jl_notification(JL_NOTIFY_EXITED, jl_jail_info_to_json(&i)),
                           "{\"jsonrpc\":\"2.0\",\"method\":\"exited\",\"params\":{\"jail\":\"web-1\",\"pid\":10,"
                           "\"state\":\"exited\",\"started_at\":\"2026-11-30T18:31:00.123456Z\",\"uid\":1000,"
                           "\"report\":{\"jail\":\"web-1\",\"pid\":10,\"exit_code\":null,\"signal\":\"SIGKILL\","
                           "\"oom_killed\":true,\"timed_out\":false,\"seccomp_killed\":false,\"wall_time_us\":5,\"cpu_usage_us\":6,"
                           "\"memory_peak_bytes\":7,\"pids_peak\":null}}}");
}

static int t_jail_info_roundtrip(void)
{
        jl_jail_info a = {
                .pid = 77,
                .state = JL_JAIL_RUNNING,
                .started_at_us = 1796063460000001ULL,
                .uid = 65534,
                .has_usage = true,
                .usage = { 1, 2, 3, 4 },
        }, b;
        jl_rpc_error e;
        strcpy(a.jail, "x");

        json_object *o = jl_jail_info_to_json(&a);
        CHECK(o, "to_json");
        json_object_object_add(o, "added_later", json_object_new_int(1));
        int r = jl_jail_info_from_json(o, &b, &e);
        json_object_put(o);
        CHECK(r == 0, "from_json: %s", e.message);
        CHECK(strcmp(b.jail, "x") == 0 && b.pid == 77 && b.state == JL_JAIL_RUNNING &&
              b.started_at_us == a.started_at_us && b.uid == 65534 && b.has_usage && !b.has_report &&
              b.usage.cpu_usage_us == 1 && b.usage.memory_current_bytes == 2 && b.usage.memory_peak_bytes == 3 &&
              b.usage.pids_current == 4, "fields differ");
        return 0;
}

/* A running jail's figures: under usage with the report's names, nothing
 * that says how it ended, and read back as they were. */
static int t_jail_info_figures(void)
{
        jl_jail_info a = {
                .pid = 77,
                .state = JL_JAIL_RUNNING,
                .started_at_us = 1796063460000001ULL,
                .has_usage = true,
                .usage = { 10, 20, 30, 1 },
                .has_figures = true,
                .figures = {
                        .pid = 77, .exit_code = -1, .wall_time_us = 500, .cpu_usage_us = 10,
                        .memory_peak_bytes = 30, .pids_peak = 2, .measured = true, .cpus = "1",
                        .cpu_periods = 5, .cpu_throttled_periods = 4, .cpu_throttled_us = 300,
                        .memory_high_events = -1, .memory_max_events = -1,
                        .cpu_pressure_some_us = -1, .cpu_pressure_full_us = -1,
                        .memory_pressure_some_us = -1, .memory_pressure_full_us = -1,
                        .io_pressure_some_us = -1, .io_pressure_full_us = -1,
                        .involuntary_switches = 9, .pinned_cpus_other_us = 0,
                },
        }, b;
        json_object *u, *v;
        jl_rpc_error e;
        strcpy(a.jail, "x");
        strcpy(a.figures.id, "x");

        json_object *o = jl_jail_info_to_json(&a);
        CHECK(o && json_object_object_get_ex(o, "usage", &u), "to_json");
        CHECK(!json_object_object_get_ex(u, "exit_code", NULL) && !json_object_object_get_ex(u, "signal", NULL) &&
              !json_object_object_get_ex(u, "timed_out", NULL) && !json_object_object_get_ex(u, "jail", NULL),
              "usage says how a running jail ended: %s", json_object_to_json_string(u));
        CHECK(json_object_object_get_ex(u, "cpu_throttled_us", &v) && json_object_get_int64(v) == 300 &&
              json_object_object_get_ex(u, "memory_max_events", &v) && !v &&
              json_object_object_get_ex(u, "memory_current_bytes", &v) && json_object_get_int64(v) == 20,
              "usage: %s", json_object_to_json_string(u));
        int r = jl_jail_info_from_json(o, &b, &e);
        json_object_put(o);
        CHECK(r == 0, "from_json: %s", e.message);
        CHECK(b.has_usage && b.has_figures && b.figures.exit_code == -1 && b.figures.signal == 0 &&
              b.figures.wall_time_us == 500 && strcmp(b.figures.cpus, "1") == 0 &&
              b.figures.cpu_throttled_periods == 4 && b.figures.memory_max_events == -1 &&
              b.figures.involuntary_switches == 9 && b.usage.memory_current_bytes == 20, "figures differ");

        /* Without figures (an older jailerd): none read. */
        a.has_figures = false;
        o = jl_jail_info_to_json(&a);
        r = jl_jail_info_from_json(o, &b, &e);
        json_object_put(o);
        CHECK(r == 0 && b.has_usage && !b.has_figures, "figures made up");
        return 0;
}

static int t_rfc3339(void)
{
        char buf[32];
        uint64_t t;

        CHECK(jl_format_rfc3339(0, buf) == 0 && strcmp(buf, "1970-01-01T00:00:00.000000Z") == 0, "%s", buf);
        CHECK(jl_parse_rfc3339("2026-11-29T18:31:00.5Z", &t) == 0 && t == 1795977060500000ULL, "parse .5");
        CHECK(jl_parse_rfc3339("2026-11-29T18:31:00Z", &t) == 0 && t == 1795977060000000ULL, "parse no fraction");
        CHECK(jl_parse_rfc3339("2026-11-29T18:31:00+01:00", &t) < 0, "offset accepted");
        CHECK(jl_parse_rfc3339("2026-11-29T18:31:00.Z", &t) < 0, "empty fraction accepted");
        CHECK(jl_parse_rfc3339("yesterday", &t) < 0, "junk accepted");
        return 0;
}

static int t_method_names(void)
{
        for (jl_method m = 0; m < _JL_METHOD_MAX; m++)
                CHECK(jl_method_from_string(jl_method_to_string(m)) == m, "method %d", m);
        CHECK(jl_method_from_string("nope") == _JL_METHOD_INVALID, "unknown");
        CHECK(strcmp(jl_rpc_code_reason(JL_RPC_NOT_FOUND), "not_found") == 0, "reason");
        return 0;
}

/* ------------------------------------------------------------------ sockets and fds */

static int send_raw(int fd, const char *s, const int *fds, size_t n)
{
        ssize_t r = jl_send_line(fd, s, strlen(s), fds, n);
        return r == (ssize_t) strlen(s) ? 0 : -1;
}

/* Read from fd until the framer has a line (the socket is blocking). */
static jl_line *read_line(jl_framer *f, int fd)
{
        for (;;) {
                jl_line *l = NULL;
                if (jl_framer_next(f, &l) > 0)
                        return l;
                if (jl_framer_read(f, fd) <= 0)
                        return NULL;
        }
}

static int t_fds_three_with_create(void)
{
        int sp[2], p[2];
        jl_framer *f = jl_framer_new();
        jl_request req;
        json_object *id = NULL;
        jl_rpc_error e;
        char buf[8] = {};

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "socketpair");
        CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe");
        int fds[3] = { p[0], p[1], p[1] };
        CHECK(send_raw(sp[0], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"create\",\"params\":{}}\n", fds, 3) == 0,
              "send");
        jl_line *l = read_line(f, sp[1]);
        CHECK(l && l->n_fds == 3 && !l->fds_truncated, "line with 3 fds expected, got %zu", l ? l->n_fds : 0);
        for (size_t i = 0; i < 3; i++)
                CHECK(fcntl(l->fds[i], F_GETFD) & FD_CLOEXEC, "received fd %zu without O_CLOEXEC", i);
        int r = jl_request_decode(l, &req, &id, &e);
        json_object_put(id);
        CHECK(r == 0, "decode: %s", e.message);
        CHECK(req.n_fds == 3 && l->n_fds == 0, "fds not moved into the request");
        /* The received stdout works: it is our pipe. */
        CHECK(write(req.fds[1], "hi", 2) == 2, "write");
        CHECK(read(p[0], buf, sizeof(buf)) == 2 && strcmp(buf, "hi") == 0, "read back");
        jl_request_done(&req);
        jl_line_free(l);
        jl_framer_free(f);
        close(sp[0]);
        close(sp[1]);
        close(p[0]);
        close(p[1]);
        return 0;
}

static int decode_fd_error(const char *line, int nfds, const char *expect_reason)
{
        int sp[2];
        int fds[8];
        jl_framer *f = jl_framer_new();
        jl_request req;
        json_object *id = NULL;
        jl_rpc_error e;

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "socketpair");
        for (int i = 0; i < nfds; i++)
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        /* jl_send_line() refuses more than JL_PROTOCOL_MAX_FDS: build it by hand. */
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) line, .iov_len = strlen(line) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (nfds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
        }
        CHECK(sendmsg(sp[0], &mh, 0) == (ssize_t) strlen(line), "sendmsg");
        for (int i = 0; i < nfds; i++)
                close(fds[i]);

        jl_line *l = read_line(f, sp[1]);
        CHECK(l, "no line");
        int r = jl_request_decode(l, &req, &id, &e);
        json_object_put(id);
        jl_request_done(&req);
        jl_line_free(l);
        jl_framer_free(f);
        close(sp[0]);
        close(sp[1]);
        CHECK(r < 0, "decoded");
        CHECK(e.code == JL_RPC_INVALID_PARAMS && strcmp(e.reason, expect_reason) == 0, "%d %s: %s", e.code, e.reason,
              e.message);
        return 0;
}

static int t_fds_four_refused(void)
{
        return decode_fd_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"create\",\"params\":{}}\n", 4, "invalid_fds");
}

static int t_fds_two_refused(void)
{
        return decode_fd_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"create\",\"params\":{}}\n", 2, "invalid_fds");
}

static int t_fds_with_list_refused(void)
{
        return decode_fd_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"list\"}\n", 3, "invalid_fds");
}

/* Fds sent with the second line go to the second line, even when both
 * lines are read by one framer and the first arrived in pieces. */
static int t_fds_attach_to_their_line(void)
{
        int sp[2], fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        jl_framer *f = jl_framer_new();
        int three[3] = { fd, fd, fd };

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "socketpair");
        CHECK(send_raw(sp[0], "{\"a\":", NULL, 0) == 0, "send 1");
        CHECK(send_raw(sp[0], "1}\n", NULL, 0) == 0, "send 2");
        CHECK(send_raw(sp[0], "{\"b\":2}\n", three, 3) == 0, "send 3");
        CHECK(send_raw(sp[0], "{\"c\":3}\n", NULL, 0) == 0, "send 4");
        close(fd);

        jl_line *a = read_line(f, sp[1]), *b = read_line(f, sp[1]), *c = read_line(f, sp[1]);
        bool ok = a && b && c && a->n_fds == 0 && b->n_fds == 3 && c->n_fds == 0 && strcmp(b->data, "{\"b\":2}") == 0;
        size_t na = a ? a->n_fds : 99, nb = b ? b->n_fds : 99, nc = c ? c->n_fds : 99;
        jl_line_free(a);
        jl_line_free(b);
        jl_line_free(c);
        jl_framer_free(f);
        close(sp[0]);
        close(sp[1]);
        CHECK(ok, "fds per line: %zu %zu %zu, expected 0 3 0", na, nb, nc);
        return 0;
}

/* Fds sent with a later piece of a line than its first are closed at once,
 * before the line ends, and its request is marked; a line in many pieces
 * with fds each holds at most the first piece's. */
static int t_fds_later_piece_closed_at_once(void)
{
        int sp[2], p[2], fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        jl_framer *f = jl_framer_new();
        int three[3] = { fd, fd, fd };
        char c;

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "socketpair");
        CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe");
        int wends[3] = { p[1], p[1], p[1] };

        CHECK(send_raw(sp[0], "{\"a\":", three, 3) == 0, "send 1");
        CHECK(jl_framer_read(f, sp[1]) > 0, "read 1");
        CHECK(send_raw(sp[0], " ", wends, 3) == 0, "send 2");
        CHECK(jl_framer_read(f, sp[1]) > 0, "read 2");
        /* The framer must not hold the pipe's write end any more: with ours
         * closed too, the read end sees EOF. */
        close(p[1]);
        CHECK(read(p[0], &c, 1) == 0, "the framer still holds an fd sent with a later piece");
        for (int i = 0; i < 50; i++) {
                CHECK(send_raw(sp[0], " ", three, 3) == 0, "send more");
                CHECK(jl_framer_read(f, sp[1]) > 0, "read more");
        }
        CHECK(send_raw(sp[0], "1}\n", NULL, 0) == 0, "send end");
        jl_line *l = read_line(f, sp[1]);
        bool ok = l && l->fds_truncated && l->n_fds == 0;
        jl_line_free(l);
        jl_framer_free(f);
        close(fd);
        close(p[0]);
        close(sp[0]);
        close(sp[1]);
        CHECK(ok, "the line must be marked (fds_truncated) and carry no fd");
        return 0;
}

/* Fds sent with bytes of an oversized line are closed, and the next line
 * is read normally. */
static int t_fds_oversized_closed(void)
{
        int sp[2], fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        jl_framer *f = jl_framer_new();
        int three[3] = { fd, fd, fd };
        size_t big = JL_PROTOCOL_MAX_LINE + 100;
        _cleanup_free_ char *s = malloc(big + 1);

        CHECK(s, "malloc");
        memset(s, ' ', big);
        s[big] = 0;
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "socketpair");
        int sz = 4 * 1024 * 1024;
        setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));

        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
                close(sp[1]);
                bool ok = send_raw(sp[0], s, three, 3) == 0 && send_raw(sp[0], "\n{\"ok\":1}\n", NULL, 0) == 0;
                _exit(ok ? 0 : 1);
        }
        close(sp[0]);
        close(fd);
        jl_line *a = read_line(f, sp[1]), *b = read_line(f, sp[1]);
        int status;
        waitpid(pid, &status, 0);
        bool ok = a && a->oversized && a->n_fds == 0 && b && !b->oversized && strcmp(b->data, "{\"ok\":1}") == 0;
        jl_line_free(a);
        jl_line_free(b);
        jl_framer_free(f);
        close(sp[1]);
        CHECK(ok, "oversized line then a valid one expected");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender failed");
        return 0;
}

static int t_outbuf(void)
{
        int sp[2];
        jl_outbuf *o = jl_outbuf_new();
        jl_framer *f = jl_framer_new();

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) == 0, "socketpair");
        json_object *m = jl_notification(JL_NOTIFY_STARTED, NULL);
        for (int i = 0; i < 1000; i++)
                CHECK(jl_outbuf_append(o, m) == 0, "append");
        json_object_put(m);
        size_t total = jl_outbuf_pending(o);
        int r = jl_outbuf_flush(o, sp[0]);
        CHECK(r == 0 || r == -EAGAIN, "flush: %s", strerror(-r));
        int lines = 0;
        while (lines < 1000) {
                jl_line *l;
                while (jl_framer_next(f, &l) > 0) {
                        lines++;
                        jl_line_free(l);
                }
                if (lines == 1000)
                        break;
                ssize_t n = jl_framer_read(f, sp[1]);
                CHECK(n > 0 || n == -EAGAIN, "read: %zd", n);
                r = jl_outbuf_flush(o, sp[0]);
                CHECK(r == 0 || r == -EAGAIN, "flush: %s", strerror(-r));
        }
        CHECK(jl_outbuf_pending(o) == 0, "bytes left");
        CHECK(total > 0, "nothing queued");
        close(sp[1]);
        m = jl_notification(JL_NOTIFY_STARTED, NULL);
        jl_outbuf_append(o, m);
        json_object_put(m);
        CHECK(jl_outbuf_flush(o, sp[0]) == -EPIPE, "peer gone must be -EPIPE");
        close(sp[0]);
        jl_outbuf_free(o);
        jl_framer_free(f);
        return 0;
}

/* A fake daemon for the client: answers requests out of order and sends a
 * notification in between. */
static void fake_daemon(int lfd)
{
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        jl_framer *f = jl_framer_new();
        json_object *ids[2] = {};
        int got = 0;
        size_t len;

        while (got < 2) {
                jl_line *l = read_line(f, c);
                jl_request req;
                json_object *id;
                jl_rpc_error e;
                if (!l)
                        _exit(2);
                if (jl_request_decode(l, &req, &id, &e) < 0)
                        _exit(3);
                ids[got++] = json_object_get(req.id);
                json_object_put(id);
                jl_request_done(&req);
                jl_line_free(l);
        }
        /* second first, then a notification, then the first (an error) */
        json_object *m = jl_reply_result(ids[1], jl_create_result("b", 2));
        char *s = jl_message_serialize(m, &len);
        send_raw(c, s, NULL, 0);
        free(s);
        json_object_put(m);
        m = jl_notification(JL_NOTIFY_STARTED, jl_create_result("n", 3));
        s = jl_message_serialize(m, &len);
        send_raw(c, s, NULL, 0);
        free(s);
        json_object_put(m);
        jl_rpc_error e;
        jl_rpc_error_set(&e, JL_RPC_NOT_FOUND, NULL, "jail", "no jail \"a\"");
        m = jl_reply_error(ids[0], &e);
        s = jl_message_serialize(m, &len);
        send_raw(c, s, NULL, 0);
        free(s);
        json_object_put(m);
        _exit(0);
}

static int t_client_matching(void)
{
        char dir[] = "/tmp/jl-proto-XXXXXX";
        char path[128];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        jl_client *c = NULL;
        jl_rpc_error e = {};
        int64_t id1, id2;
        json_object *res = NULL;
        char *method = NULL;

        CHECK(mkdtemp(dir), "mkdtemp");
        snprintf(path, sizeof(path), "%s/s", dir);
        strcpy(sa.sun_path, path);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0, "bind");
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0)
                fake_daemon(lfd);
        close(lfd);

        int r = jl_client_connect(path, &c, &e);
        CHECK(r == 0, "connect: %s", e.message);
        CHECK(jl_client_send(c, "wait", P("{\"jail\":\"a\"}"), NULL, 0, &id1, &e) == 0, "send 1");
        CHECK(jl_client_send(c, "status", P("{\"jail\":\"b\"}"), NULL, 0, &id2, &e) == 0, "send 2");
        CHECK(id1 != id2, "ids");
        r = jl_client_recv_reply(c, id1, 5000, &res, &e);
        CHECK(r < 0 && e.code == JL_RPC_NOT_FOUND && strcmp(e.reason, "not_found") == 0 &&
              strcmp(e.field, "jail") == 0, "reply 1: r=%d %d %s", r, e.code, e.message);
        r = jl_client_recv_reply(c, id2, 5000, &res, &e);
        CHECK(r == 0 && res, "reply 2: %s", e.message);
        json_object_put(res);
        json_object *params = NULL;
        r = jl_client_next_notification(c, 5000, &method, &params, &e);
        CHECK(r == 0 && strcmp(method, "started") == 0, "notification: %s", e.message);
        free(method);
        json_object_put(params);
        r = jl_client_next_notification(c, 5000, &method, &params, &e);
        CHECK(r < 0 && strcmp(e.reason, "connection") == 0, "EOF expected, got %s", e.reason);
        jl_client_free(c);
        int status;
        waitpid(pid, &status, 0);
        unlink(path);
        rmdir(dir);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake daemon failed: %d", status);
        return 0;
}

static volatile sig_atomic_t got_alarm;
static void on_alarm(int sig)
{
        (void) sig;
        got_alarm = 1;
}

/* A signal blocked outside the client's waits interrupts a wait (and only
 * the wait) when the client was given a mask; the wait can be resumed. */
static int t_client_interrupted(void)
{
        char dir[] = "/tmp/jl-proto-XXXXXX";
        char path[128];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        jl_client *c = NULL;
        jl_rpc_error e = {};
        json_object *res = NULL;
        int64_t id;
        sigset_t block, old, empty;

        CHECK(mkdtemp(dir), "mkdtemp");
        snprintf(path, sizeof(path), "%s/s", dir);
        strcpy(sa.sun_path, path);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0, "bind");

        sigemptyset(&block);
        sigaddset(&block, SIGALRM);
        sigemptyset(&empty);
        sigprocmask(SIG_BLOCK, &block, &old);
        struct sigaction sa_alarm = { .sa_handler = on_alarm }, sa_old;
        sigaction(SIGALRM, &sa_alarm, &sa_old);

        int r = jl_client_connect(path, &c, &e);
        CHECK(r == 0, "connect: %s", e.message);
        jl_client_set_sigmask(c, &empty);
        CHECK(jl_client_send(c, "version", NULL, NULL, 0, &id, &e) == 0, "send");
        got_alarm = 0;
        alarm(1);
        r = jl_client_recv_reply(c, id, 10000, &res, &e);
        bool interrupted = r < 0 && strcmp(e.reason, "interrupted") == 0 && got_alarm;

        /* resumable: the (silent) daemon now times out instead */
        r = jl_client_recv_reply(c, id, 100, &res, &e);
        bool timed_out = r < 0 && strcmp(e.reason, "timeout") == 0;

        jl_client_free(c);
        close(lfd);
        unlink(path);
        rmdir(dir);
        sigaction(SIGALRM, &sa_old, NULL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        CHECK(interrupted, "wait not interrupted by SIGALRM (reason %s)", e.reason);
        CHECK(timed_out, "resumed wait did not time out");
        return 0;
}

static int t_client_socket_path(void)
{
        unsetenv("JAILER_SOCKET");
        CHECK(strcmp(jl_client_socket_path(NULL), "/run/jailer/jailerd.sock") == 0, "default");
        setenv("JAILER_SOCKET", "/tmp/x.sock", 1);
        CHECK(strcmp(jl_client_socket_path(NULL), "/tmp/x.sock") == 0, "env");
        CHECK(strcmp(jl_client_socket_path("/a"), "/a") == 0, "explicit");
        unsetenv("JAILER_SOCKET");
        return 0;
}

static int t_client_connect_error(void)
{
        jl_client *c = NULL;
        jl_rpc_error e = {};

        CHECK(jl_client_connect("/nonexistent/jailerd.sock", &c, &e) < 0, "connected");
        CHECK(e.code == 0 && strcmp(e.reason, "connection") == 0 && strstr(e.message, "/nonexistent/jailerd.sock"),
              "%s %s", e.reason, e.message);
        return 0;
}

/* logs: every length round-trips through base64 (all byte values, so
 * NULs and bytes that are not UTF-8), the JSON stays a string, and data
 * that is not strict base64 is refused. */
static int t_logs_roundtrip(void)
{
        static const char *const bad[] = { "A", "AB", "ABC", "AB=C", "A===", "====", "AB==AB==", "AB\nC",
                                           "AB-_", "ABC\xc3\xa9" };
        unsigned char in[300];

        for (size_t i = 0; i < sizeof in; i++)
                in[i] = (unsigned char) (i * 7 + 3);
        for (size_t len = 0; len <= sizeof in; len++) {
                json_object *o = jl_logs_result("j", 10, in, len, len == 7), *v;
                void *data = NULL;
                uint64_t next = 0;
                size_t out_len = 0;
                bool end = false;
                jl_rpc_error e = {};

                CHECK(o, "logs result of %zu bytes", len);
                CHECK(json_object_object_get_ex(o, "data", &v) && json_object_is_type(v, json_type_string) &&
                              (size_t) json_object_get_string_len(v) == (len + 2) / 3 * 4,
                      "data of %zu bytes is a base64 string", len);
                CHECK(jl_logs_result_parse(o, &next, &data, &out_len, &end, &e) == 0, "parse: %s", e.message);
                json_object_put(o);
                CHECK(next == 10 + len && out_len == len && end == (len == 7) && memcmp(data, in, len) == 0,
                      "round trip of %zu bytes", len);
                free(data);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *o = P("{\"jail\":\"j\",\"offset\":0,\"next_offset\":3,\"end\":false,\"data\":\"\"}");
                void *data = NULL;
                uint64_t next;
                size_t len;
                bool end;
                jl_rpc_error e = {};

                CHECK(o, "test JSON");
                json_object_object_add(o, "data", json_object_new_string(bad[i]));
                CHECK(jl_logs_result_parse(o, &next, &data, &len, &end, &e) < 0 && strcmp(e.field, "data") == 0,
                      "\"%s\" is refused as base64", bad[i]);
                json_object_put(o);
        }
        return 0;
}

static int t_params_logs(void)
{
        static const struct {
                const char *json;
                uint64_t offset;
                bool follow;
                const char *field;
        } cases[] = {
                { "{\"jail\":\"a\"}", 0, false, NULL },
                { "{\"jail\":\"a\",\"offset\":65536,\"follow\":true}", 65536, true, NULL },
                { "{\"jail\":\"a\",\"offset\":-1}", 0, false, "offset" },
                { "{\"jail\":\"a\",\"offset\":1.5}", 0, false, "offset" },
                { "{\"jail\":\"a\",\"offset\":\"1\"}", 0, false, "offset" },
                { "{\"jail\":\"a\",\"follow\":1}", 0, false, "follow" },
                { "{\"jail\":\"a\",\"follow\":null}", 0, false, "follow" },
                { "{\"offset\":0}", 0, false, "jail" },
                { "{\"jail\":\"a\",\"tail\":10}", 0, false, "tail" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_object *p = P(cases[i].json);
                const char *jail = NULL;
                jl_rpc_error e = {};
                uint64_t offset = 99;
                bool follow = false;

                CHECK(p, "test JSON %s", cases[i].json);
                int r = jl_logs_params_decode(p, &jail, &offset, &follow, &e);
                json_object_put(p);
                if (cases[i].field)
                        CHECK(r < 0 && e.code == JL_RPC_INVALID_PARAMS && strcmp(e.field, cases[i].field) == 0,
                              "%s: refused naming %s (got %d, field %s)", cases[i].json, cases[i].field, r, e.field);
                else
                        CHECK(r == 0 && offset == cases[i].offset && follow == cases[i].follow, "%s: accepted",
                              cases[i].json);
        }
        return 0;
}

int main(void)
{
        int fds_before;

        signal(SIGPIPE, SIG_IGN);
        fds_before = count_fds();

        report("frame: one line", t_frame_one_line());
        report("frame: partial reads (1 byte at a time)", t_frame_partial_reads());
        report("frame: several lines in one read", t_frame_several_lines_one_read());
        report("frame: empty lines", t_frame_empty_lines());
        report("frame: oversized line then a valid one", t_frame_oversized_then_valid());
        report("frame: oversized line arriving in chunks", t_frame_oversized_in_chunks());
        report("frame: line of exactly 1 MiB accepted", t_frame_max_line_accepted());
        report("frame: NUL byte passed to the decoder", t_frame_nul_byte_kept());
        for (size_t i = 0; i < ELEMENTSOF(decode_cases); i++)
                report(decode_cases[i].name, decode_one(&decode_cases[i]));
        report("decode: oversized", t_decode_oversized());
        report("params: wait/status", t_params_jail());
        report("params: kill", t_params_kill());
        report("params: version/list/subscribe", t_params_empty());
        report("params: logs", t_params_logs());
        report("build: logs result round trip, strict base64", t_logs_roundtrip());
        report("params: create without jail_root", t_create_valid_no_root());
        report("params: create with jail_root", t_create_root_given());
        report("params: create memory too small", t_create_memory_too_small());
        report("params: create unknown key", t_create_unknown_key());
        report("params: create wrong type", t_create_wrong_type());
        report("params: create bad id", t_create_bad_id());
        report("params: create relative bind source", t_create_relative_bind());
        report("params: create without exec_path", t_create_missing_exec());
        report("error: from a libjailer spawn error", t_error_from_jailer());
        report("build: error reply", t_build_error());
        report("build: result reply", t_build_result());
        report("build: exited notification", t_build_notification());
        report("build: jail info round trip", t_jail_info_roundtrip());
        report("build: a running jail's figures", t_jail_info_figures());
        report("build: RFC 3339", t_rfc3339());
        report("names: methods and reasons", t_method_names());
        report("fds: 3 with create, usable, CLOEXEC", t_fds_three_with_create());
        report("fds: 4 refused, all closed", t_fds_four_refused());
        report("fds: 2 refused", t_fds_two_refused());
        report("fds: with list refused", t_fds_with_list_refused());
        report("fds: attached to their own line", t_fds_attach_to_their_line());
        report("fds: with a later piece, closed at once", t_fds_later_piece_closed_at_once());
        report("fds: with an oversized line, closed", t_fds_oversized_closed());
        report("outbuf: queue, partial writes, EPIPE", t_outbuf());
        report("client: replies matched by id, notifications kept", t_client_matching());
        report("client: interrupted by a signal, then resumable", t_client_interrupted());
        report("client: socket path", t_client_socket_path());
        report("client: connect error names the path", t_client_connect_error());

        int fds_after = count_fds();
        if (fds_after != fds_before) {
                fail(__LINE__, "%d fds open before, %d after", fds_before, fds_after);
                report("no fd leaked", -1);
        } else
                report("no fd leaked", 0);

        return done();
}

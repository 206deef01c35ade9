/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the strict JSON reader (common/json-strict.c), the one every
 * config file, policy file, request line and seccomp profile goes through.
 * TAP, one test point per case (tests/lib/tap.h).
 */
#include <stdio.h>
#include <string.h>

#include "json-strict.h"
#include "tap.h"

struct json_case {
        const char *name;
        const char *text;
        size_t len;                /* 0: strlen(text) */
        int fault;                 /* 0: accepted */
        const char *path;          /* the field named in the error (NULL: not checked) */
        const char *message;       /* a part of the message */
        json_type type;            /* when accepted */
};

#define OK(n, t, ty) { n, t, 0, 0, "", "", ty }
#define SYNTAX(n, t, m) { n, t, 0, JL_JSON_SYNTAX, "", m, 0 }
#define REFUSED(n, t, p, m) { n, t, 0, JL_JSON_REFUSED, p, m, 0 }

static const struct json_case cases[] = {
        OK("an object", "{\"a\": 1, \"b\": [true, false, null, \"x\", 1.5e3]}", json_type_object),
        OK("null is JSON (the caller decides it is not an object)", "null", json_type_null),
        OK("a bare number", " 12 ", json_type_int),
        OK("the largest unsigned 64-bit integer", "18446744073709551615", json_type_int),
        OK("the smallest signed 64-bit integer", "-9223372036854775808", json_type_int),
        OK("escapes, including a surrogate pair", "{\"k\": \"\\u00e9\\ud83d\\ude00\\n\\t\\\"\"}", json_type_object),
        OK("UTF-8 in a string", "{\"k\": \"\xc3\xa9\"}", json_type_object),
        OK("depth at the limit", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", json_type_array),

        REFUSED("duplicate key", "{\"max_fds\": 1, \"max_fds\": 100000000}", "max_fds", "duplicate key"),
        REFUSED("duplicate method (a request line)",
                "{\"jsonrpc\":\"2.0\",\"id\":\"dup\",\"method\":\"nosuch\",\"method\":\"version\"}", "method",
                "duplicate key"),
        REFUSED("duplicate key spelled with an escape",
                "{\"read_write_binds\": [], \"read_write\\u005fbinds\": []}", "read_write_binds", "duplicate key"),
        REFUSED("duplicate key deep inside: the path names it", "{\"a\": [{\"b\": 1}, {\"c\": {\"d\": 1, \"d\": 2}}]}",
                "a[1].c.d", "duplicate key"),
        REFUSED("a key with a NUL byte", "{\"a\\u0000b\": 1}", "", "NUL byte"),
        REFUSED("integer beyond 64 bits (an id)", "{\"id\": 18446744073709551617}", "id", "out of range"),
        REFUSED("negative integer beyond 64 bits", "[-9223372036854775809]", "[0]", "out of range"),
        REFUSED("a double that overflows", "{\"x\": 1e999}", "x", "out of range"),
        REFUSED("nested too deeply", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", NULL, "nested"),

        SYNTAX("a raw control character in a string", "{\"k\": \"a\x01b\"}", "control character"),
        SYNTAX("a raw newline in a string", "{\"k\": \"a\nb\"}", "control character"),
        SYNTAX("a raw tab in a string", "{\"k\": \"a\tb\"}", "control character"),
        SYNTAX("NaN", "{\"x\": NaN}", "not a JSON value"),
        SYNTAX("Infinity", "{\"x\": Infinity}", "not a JSON value"),
        SYNTAX("-Infinity", "{\"x\": -Infinity}", "not a JSON value"),
        SYNTAX("a plus sign", "{\"x\": +1}", "not a JSON value"),
        SYNTAX("a leading zero", "{\"x\": 01}", "leading zero"),
        SYNTAX("no digit after the point", "{\"x\": 1.}", "after '.'"),
        SYNTAX("no digit in the exponent", "{\"x\": 1e}", "exponent"),
        SYNTAX("a point first", "{\"x\": .5}", "not a JSON value"),
        SYNTAX("single quotes", "{'x': 1}", "single-quoted"),
        SYNTAX("a trailing comma", "{\"x\": 1,}", "expected a double-quoted key"),
        SYNTAX("trailing text", "{} x", "after the value"),
        SYNTAX("two values", "{} {}", "after the value"),
        SYNTAX("unterminated", "{\"x\": 1", "unexpected end of input"),
        SYNTAX("empty", "", "unexpected end of input"),
        SYNTAX("a comment", "/* c */ {}", "not a JSON value"),
        SYNTAX("invalid UTF-8", "{\"k\": \"\xff\"}", "invalid JSON"),
        SYNTAX("a bare word", "{\"x\": yes}", "not a JSON value"),
        { "a NUL byte in the text", "{\"k\": 1}\0", 9, JL_JSON_SYNTAX, "", "NUL byte", 0 },
};

static int check(const struct json_case *c, char *why, size_t size)
{
        size_t len = c->len ? c->len : strlen(c->text);
        json_object *out = (json_object *) 1;
        jl_json_error e;
        int r = jl_json_parse(c->text, len, NULL, &out, &e);

        if (c->fault == 0) {
                if (r < 0)
                        return snprintf(why, size, "refused: %s (path \"%s\")", e.message, e.path), -1;
                if (json_object_get_type(out) != c->type)
                        return snprintf(why, size, "type %d, expected %d", json_object_get_type(out), c->type), -1;
                json_object_put(out);
                return 0;
        }
        if (r == 0) {
                json_object_put(out);
                return snprintf(why, size, "accepted"), -1;
        }
        if (out != (json_object *) 1)
                return snprintf(why, size, "*out changed on failure"), -1;
        if ((int) e.fault != c->fault)
                return snprintf(why, size, "fault %d, expected %d (%s)", e.fault, c->fault, e.message), -1;
        if (c->path && strcmp(e.path, c->path) != 0)
                return snprintf(why, size, "path \"%s\", expected \"%s\" (%s)", e.path, c->path, e.message), -1;
        if (!strstr(e.message, c->message))
                return snprintf(why, size, "message \"%s\" lacks \"%s\"", e.message, c->message), -1;
        return 0;
}

static int limits(char *why, size_t size)
{
        jl_json_limits lim = { .max_bytes = 8, .max_depth = 2 };
        json_object *out = NULL;
        jl_json_error e;

        if (jl_json_parse("{\"a\": 12345}", 12, &lim, &out, &e) == 0 || e.fault != JL_JSON_TOO_LARGE)
                return snprintf(why, size, "a 12-byte text passed max_bytes 8"), -1;
        lim.max_bytes = 0;
        if (jl_json_parse("[[[1]]]", 7, &lim, &out, &e) == 0 || e.fault != JL_JSON_REFUSED)
                return snprintf(why, size, "depth 3 passed max_depth 2"), -1;
        if (jl_json_parse("[[1]]", 5, &lim, &out, &e) < 0)
                return snprintf(why, size, "depth 2 refused with max_depth 2: %s", e.message), -1;
        json_object_put(out);
        return 0;
}

int main(void)
{
        size_t n = sizeof(cases) / sizeof(cases[0]);
        char why[512];

        plan((unsigned) n + 1);
        for (size_t i = 0; i < n; i++)
                if (!ok(check(&cases[i], why, sizeof(why)) == 0, "%s", cases[i].name))
                        diag("%s", why);
        if (!ok(limits(why, sizeof(why)) == 0, "max_bytes and max_depth"))
                diag("%s", why);
        return done();
}

/* SPDX-License-Identifier: MIT */
/*
 * json-strict.h — the one reader for JSON that comes from outside: config
 * files, jailerd's policy file, every request line on jailerd's socket,
 * OCI seccomp profiles.
 *
 * json-c parses; this adds what json-c lets through, so that every entry
 * point holds a text to RFC 8259 and to the same extra rules:
 *   - duplicate keys, compared after unescaping ("a" and "\u0061" are the
 *     same key): json-c would keep the last one without a word;
 *   - keys containing a NUL byte;
 *   - raw control characters (below 0x20) inside strings;
 *   - anything that is not a JSON number where a number stands: NaN,
 *     Infinity, "+1", "01", "1.";
 *   - numbers out of range: integers outside [-2^63, 2^64 - 1] (json-c
 *     would clamp them, so an id or a limit would silently change), and
 *     numbers whose value overflows a double ("1e999");
 *   - nesting deeper than a limit; texts larger than a limit; NUL bytes.
 * Errors carry the field path ("limits.max_fds", "bind_mounts[2].source")
 * and, for syntax errors, the line, column and byte.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define JL_JSON_PATH_MAX 96

typedef enum jl_json_fault {
        JL_JSON_SYNTAX = 1,  /* not JSON at all (JSON-RPC: parse error) */
        JL_JSON_REFUSED,     /* JSON, but against the rules above */
        JL_JSON_TOO_LARGE,   /* longer than max_bytes */
        JL_JSON_NO_MEMORY,
} jl_json_fault;

typedef struct jl_json_error {
        jl_json_fault fault;
        size_t offset, line, column;    /* where (syntax errors; 1-based line/column) */
        char path[JL_JSON_PATH_MAX];    /* the field at fault, "" for the whole text */
        char message[256];              /* one line; may quote a key or a number of the text */
        const char *reason;             /* static, quotes nothing of the text: "a duplicate key",
                                         * "invalid UTF-8", ... (with line and column for syntax) */
} jl_json_error;

typedef struct jl_json_limits {
        size_t max_bytes;       /* 0: no limit beyond INT_MAX */
        unsigned max_depth;     /* 0: 32 */
} jl_json_limits;

/*
 * Parse len bytes of text under the rules above.  On success returns 0 and
 * stores the value in *out (NULL for the JSON literal null: the caller
 * checks the type it expects).  On failure returns -1, *out untouched, and
 * fills *e.
 */
int jl_json_parse(const char *text, size_t len, const jl_json_limits *lim, json_object **out, jl_json_error *e);

/* "string \"abc\"", "number 1.5", "an array", "null", ... for messages
 * ("expected X, got Y"); strings quoted up to quote_max bytes. */
const char *jl_json_describe(json_object *v, char *buf, size_t size, int quote_max);

/* path + "." + key, or path + "[i]"; a path too long ends in "...". */
void jl_json_path_key(char *out, size_t size, const char *parent, const char *key);
void jl_json_path_index(char *out, size_t size, const char *parent, size_t i);

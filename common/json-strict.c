/* SPDX-License-Identifier: MIT */
/*
 * The strict JSON reader (json-strict.h): json-c parses the text, then a
 * scanner walks the same text once more and refuses what json-c accepts but
 * RFC 8259 or our rules do not.
 */
#include "json-strict.h"

#include "jailer-internal.h"
#include "json-util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define DEFAULT_DEPTH 32
#define MIN_SIZE(a, b) ((a) < (b) ? (a) : (b))

struct scanner {
        const char *s;
        size_t len;
        size_t pos;
        unsigned max_depth;
        jl_json_error *e;
};

struct key {
        char *s;
        size_t len;
};

/* ------------------------------------------------------------ errors */

static void position(const char *s, size_t off, size_t *line, size_t *col)
{
        *line = 1;
        *col = 1;
        for (size_t i = 0; i < off; i++) {
                if (s[i] == '\n') {
                        (*line)++;
                        *col = 1;
                } else
                        (*col)++;
        }
}

/* reason: what is wrong in words that quote nothing of the text (for
 * callers that must not echo it); fmt: the full message. */
static int fail(jl_json_error *e, jl_json_fault fault, const char *reason, const char *path, const char *fmt, ...)
        _printf_(5, 6);
static int fail(jl_json_error *e, jl_json_fault fault, const char *reason, const char *path, const char *fmt, ...)
{
        va_list ap;

        e->fault = fault;
        e->reason = reason;
        snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
        return -1;
}

static int syntax(struct scanner *sc, size_t off, const char *reason)
{
        jl_json_error *e = sc->e;

        e->offset = off;
        position(sc->s, off, &e->line, &e->column);
        return fail(e, JL_JSON_SYNTAX, reason, NULL, "invalid JSON at line %zu, column %zu (byte %zu): %s", e->line,
                    e->column, off, reason);
}

/* ------------------------------------------------------------ paths */

static void mark_truncated(char *out, size_t size, int n)
{
        if (n >= 0 && (size_t) n >= size && size > 4)
                memcpy(out + size - 4, "...", 4);
}

void jl_json_path_key(char *out, size_t size, const char *parent, const char *key)
{
        int n;

        if (parent && parent[0])
                n = snprintf(out, size, "%s.%s", parent, key);
        else
                n = snprintf(out, size, "%s", key);
        mark_truncated(out, size, n);
}

void jl_json_path_index(char *out, size_t size, const char *parent, size_t i)
{
        mark_truncated(out, size, snprintf(out, size, "%s[%zu]", parent ? parent : "", i));
}

const char *jl_json_describe(json_object *v, char *buf, size_t size, int quote_max)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return json_object_get_boolean(v) ? "boolean true" : "boolean false";
        case json_type_int:
        case json_type_double:
                snprintf(buf, size, "number %.64s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
                return buf;
        case json_type_string: {
                const char *s = json_object_get_string(v);
                int len = json_object_get_string_len(v);

                snprintf(buf, size, "string \"%.*s%s\"", quote_max, s, len > quote_max ? "..." : "");
                return buf;
        }
        case json_type_array:
                return "an array";
        case json_type_object:
                return "an object";
        default:
                return "an unknown JSON type";
        }
}

/* ------------------------------------------------------------ strings */

static int hex4(const char *p, unsigned *out)
{
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char ch = p[i];

                v <<= 4;
                if (ch >= '0' && ch <= '9')
                        v |= (unsigned) (ch - '0');
                else if (ch >= 'a' && ch <= 'f')
                        v |= (unsigned) (ch - 'a' + 10);
                else if (ch >= 'A' && ch <= 'F')
                        v |= (unsigned) (ch - 'A' + 10);
                else
                        return -1;
        }
        *out = v;
        return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
        if (cp < 0x80) {
                o[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char) (0xc0 | (cp >> 6));
                o[1] = (char) (0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                o[0] = (char) (0xe0 | (cp >> 12));
                o[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                o[2] = (char) (0x80 | (cp & 0x3f));
                return 3;
        }
        o[0] = (char) (0xf0 | (cp >> 18));
        o[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char) (0x80 | (cp & 0x3f));
        return 4;
}

/* One escape sequence at sc->pos ('\\'); appends its bytes to buf at *o
 * when buf is not NULL. */
static int scan_escape(struct scanner *sc, char *buf, size_t *o)
{
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        char ch;

        if (sc->pos + 1 >= sc->len)
                return -1;
        ch = sc->s[sc->pos + 1];
        if (ch == 'u') {
                unsigned cp, lo;

                if (sc->pos + 6 > sc->len || hex4(sc->s + sc->pos + 2, &cp) < 0)
                        return -1;
                sc->pos += 6;
                if (cp >= 0xd800 && cp < 0xdc00 && sc->pos + 6 <= sc->len && sc->s[sc->pos] == '\\' &&
                    sc->s[sc->pos + 1] == 'u' && hex4(sc->s + sc->pos + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        sc->pos += 6;
                }
                if (buf)
                        *o += put_utf8(buf + *o, cp);
                return 0;
        }

        const char *p = ch ? strchr(from, ch) : NULL;
        if (!p)
                return -1;
        if (buf)
                buf[(*o)++] = to[p - from];
        sc->pos += 2;
        return 0;
}

/* Consume a double-quoted string at sc->pos; when out is not NULL, store
 * its unescaped bytes there (malloc'd, NUL-terminated, *outlen bytes). */
static int scan_string(struct scanner *sc, char **out, size_t *outlen)
{
        size_t start = sc->pos, o = 0;
        _cleanup_free_ char *buf = NULL;

        sc->pos++; /* the opening quote */
        if (out) {
                /* Unescaping never makes a string longer than its source. */
                buf = malloc(sc->len - start + 1);
                if (!buf)
                        return fail(sc->e, JL_JSON_NO_MEMORY, "out of memory", NULL, "out of memory");
        }

        while (sc->pos < sc->len) {
                unsigned char ch = (unsigned char) sc->s[sc->pos];

                if (ch == '"') {
                        sc->pos++;
                        if (out) {
                                buf[o] = '\0';
                                *outlen = o;
                                *out = TAKE_PTR(buf);
                        }
                        return 0;
                }
                if (ch < 0x20)
                        return syntax(sc, sc->pos, "control character in a string (write it as an escape)");
                if (ch == '\\') {
                        if (scan_escape(sc, buf, &o) < 0)
                                break;
                        continue;
                }
                if (buf)
                        buf[o++] = (char) ch;
                sc->pos++;
        }

        return syntax(sc, start, "unterminated or malformed string");
}

/* ------------------------------------------------------------ numbers and literals */

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* A number, by RFC 8259's grammar, within range; or true/false/null. */
static int scan_scalar(struct scanner *sc, const char *path)
{
        const char *s = sc->s;
        size_t start = sc->pos, p = sc->pos;
        bool integer = true;

        static const char *const literals[] = { "true", "false", "null" };
        for (size_t i = 0; i < ELEMENTSOF(literals); i++) {
                size_t n = strlen(literals[i]);

                if (sc->len - p >= n && memcmp(s + p, literals[i], n) == 0) {
                        sc->pos = p + n;
                        return 0;
                }
        }

        if (p < sc->len && s[p] == '-')
                p++;
        if (p >= sc->len || !is_digit(s[p]))
                return syntax(sc, start, "not a JSON value (numbers are digits, with no NaN or Infinity)");
        if (s[p] == '0' && p + 1 < sc->len && is_digit(s[p + 1]))
                return syntax(sc, start, "a number with a leading zero");
        while (p < sc->len && is_digit(s[p]))
                p++;
        if (p < sc->len && s[p] == '.') {
                integer = false;
                p++;
                if (p >= sc->len || !is_digit(s[p]))
                        return syntax(sc, start, "a number with no digit after '.'");
                while (p < sc->len && is_digit(s[p]))
                        p++;
        }
        if (p < sc->len && (s[p] == 'e' || s[p] == 'E')) {
                integer = false;
                p++;
                if (p < sc->len && (s[p] == '+' || s[p] == '-'))
                        p++;
                if (p >= sc->len || !is_digit(s[p]))
                        return syntax(sc, start, "a number with no digit in its exponent");
                while (p < sc->len && is_digit(s[p]))
                        p++;
        }
        sc->pos = p;

        /* The token is well formed; now its value. */
        char tok[64];
        size_t n = p - start;

        if (n >= sizeof(tok))
                return fail(sc->e, JL_JSON_REFUSED, "a number out of range", path, "number of %zu characters is out of range", n);
        memcpy(tok, s + start, n);
        tok[n] = '\0';
        errno = 0;
        if (integer) {
                if (tok[0] == '-')
                        (void) strtoll(tok, NULL, 10);
                else
                        (void) strtoull(tok, NULL, 10);
                if (errno == ERANGE)
                        return fail(sc->e, JL_JSON_REFUSED, "an integer out of range", path, "integer %s is out of range (64 bits)", tok);
        } else if (!isfinite(strtod(tok, NULL)))
                return fail(sc->e, JL_JSON_REFUSED, "a number out of range", path, "number %s is out of range", tok);
        return 0;
}

/* ------------------------------------------------------------ objects and arrays */

static int key_cmp(const void *a, const void *b)
{
        const struct key *x = a, *y = b;
        size_t n = MIN_SIZE(x->len, y->len);
        int r = memcmp(x->s, y->s, n);

        if (r != 0)
                return r;
        return (x->len > y->len) - (x->len < y->len);
}

struct keys {
        struct key *v;
        size_t n, cap;
};

static void keys_done(struct keys *k)
{
        for (size_t i = 0; i < k->n; i++)
                free(k->v[i].s);
        free(k->v);
}

static int keys_add(struct keys *k, struct key key)
{
        if (k->n == k->cap) {
                size_t cap = k->cap ? k->cap * 2 : 16;
                struct key *p = reallocarray(k->v, cap, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                k->v = p;
                k->cap = cap;
        }
        k->v[k->n++] = key;
        return 0;
}

/* Duplicates among the keys of one object (sorts them). */
static int keys_check(struct scanner *sc, struct keys *k, const char *path)
{
        qsort(k->v, k->n, sizeof(*k->v), key_cmp);
        for (size_t i = 1; i < k->n; i++)
                if (key_cmp(&k->v[i - 1], &k->v[i]) == 0) {
                        char child[JL_JSON_PATH_MAX];

                        jl_json_path_key(child, sizeof(child), path, k->v[i].s);
                        return fail(sc->e, JL_JSON_REFUSED, "a duplicate key", child, "duplicate key");
                }
        return 0;
}

static void skip_ws(struct scanner *sc)
{
        while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) && sc->s[sc->pos])
                sc->pos++;
}

/* After a member or an element: what was expected, or the end of input. */
static int expected(struct scanner *sc, const char *what)
{
        return syntax(sc, sc->pos, sc->pos >= sc->len ? "unexpected end of input" : what);
}

static int scan_value(struct scanner *sc, const char *path, unsigned depth);

/* One "key": value member; its unescaped key goes to *key. */
static int scan_member(struct scanner *sc, const char *path, unsigned depth, struct key *key)
{
        char child[JL_JSON_PATH_MAX];

        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
                return syntax(sc, sc->pos,
                              sc->pos < sc->len && sc->s[sc->pos] == '\'' ? "single-quoted strings are not JSON" :
                                                                             "expected a double-quoted key");
        if (scan_string(sc, &key->s, &key->len) < 0)
                return -1;
        if (strlen(key->s) != key->len)
                return fail(sc->e, JL_JSON_REFUSED, "a key with a NUL byte", path, "key \"%.*s\\0...\" contains a NUL byte", 64, key->s);
        jl_json_path_key(child, sizeof(child), path, key->s);

        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                return expected(sc, "expected ':'");
        sc->pos++;
        return scan_value(sc, child, depth + 1);
}

static int scan_object(struct scanner *sc, const char *path, unsigned depth)
{
        _cleanup_(keys_done) struct keys keys = { 0 };

        sc->pos++; /* '{' */
        skip_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
                sc->pos++;
                return 0;
        }

        for (;;) {
                struct key k = { 0 };
                int r = scan_member(sc, path, depth, &k);

                if (k.s && keys_add(&keys, k) < 0) {
                        free(k.s);
                        return fail(sc->e, JL_JSON_NO_MEMORY, "out of memory", path, "out of memory");
                }
                if (r < 0)
                        return -1;
                skip_ws(sc);
                if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
                        sc->pos++;
                        continue;
                }
                if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
                        sc->pos++;
                        return keys_check(sc, &keys, path);
                }
                return expected(sc, "expected ',' or '}'");
        }
}

static int scan_array(struct scanner *sc, const char *path, unsigned depth)
{
        sc->pos++; /* '[' */
        skip_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
                sc->pos++;
                return 0;
        }

        for (size_t i = 0;; i++) {
                char child[JL_JSON_PATH_MAX];

                jl_json_path_index(child, sizeof(child), path, i);
                if (scan_value(sc, child, depth + 1) < 0)
                        return -1;
                skip_ws(sc);
                if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
                        sc->pos++;
                        continue;
                }
                if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
                        sc->pos++;
                        return 0;
                }
                return expected(sc, "expected ',' or ']'");
        }
}

static int scan_value(struct scanner *sc, const char *path, unsigned depth)
{
        skip_ws(sc);
        if (sc->pos >= sc->len)
                return syntax(sc, sc->pos, "unexpected end of input");
        if (strchr("{[", sc->s[sc->pos]) && sc->s[sc->pos] && depth >= sc->max_depth)
                return fail(sc->e, JL_JSON_REFUSED, "nested too deeply", path, "nested more than %u levels deep", sc->max_depth);

        switch (sc->s[sc->pos]) {
        case '{':
                return scan_object(sc, path, depth);
        case '[':
                return scan_array(sc, path, depth);
        case '"':
                return scan_string(sc, NULL, NULL);
        case '\'':
                return syntax(sc, sc->pos, "single-quoted strings are not JSON");
        default:
                return scan_scalar(sc, path);
        }
}

/* ------------------------------------------------------------ the reader */

/* Offset of the first invalid UTF-8 sequence, or -1 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static ssize_t utf8_invalid_at(const unsigned char *s, size_t len)
{
        size_t i = 0;

        while (i < len) {
                unsigned char c = s[i];
                size_t n;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                } else
                        return (ssize_t) i;

                if (len - i <= n)
                        return (ssize_t) i;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return (ssize_t) i;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return (ssize_t) i;
                i += n + 1;
        }
        return -1;
}


int jl_json_parse(const char *text, size_t len, const jl_json_limits *lim, json_object **out, jl_json_error *e)
{
        jl_json_limits none = { 0 };
        struct scanner sc = { .s = text, .len = len, .e = e };
        _cleanup_(tokener_freep) json_tokener *tok = NULL;
        _cleanup_json_ json_object *root = NULL;
        const char *nul;

        *e = (jl_json_error) { 0 };
        if (!lim)
                lim = &none;
        sc.max_depth = lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
        if (!text)
                return fail(e, JL_JSON_SYNTAX, "no JSON text", NULL, "no JSON text");
        if ((lim->max_bytes && len > lim->max_bytes) || len >= INT_MAX)
                return fail(e, JL_JSON_TOO_LARGE, "too large", NULL, "the text is %zu bytes, more than the %zu allowed", len,
                            lim->max_bytes ? lim->max_bytes : (size_t) INT_MAX - 1);
        nul = memchr(text, '\0', len);
        if (nul)
                return syntax(&sc, (size_t) (nul - text), "NUL byte in the text");
        ssize_t bad = utf8_invalid_at((const unsigned char *) text, len);
        if (bad >= 0)
                return syntax(&sc, (size_t) bad, "invalid UTF-8");

        /* Our scanner first: it bounds the depth before json-c recurses,
         * and its errors name the field. */
        if (scan_value(&sc, "", 0) < 0)
                return -1;
        skip_ws(&sc);
        if (sc.pos != len)
                return syntax(&sc, sc.pos, "unexpected text after the value");

        tok = json_tokener_new_ex(sc.max_depth + 1);
        if (!tok)
                return fail(e, JL_JSON_NO_MEMORY, "out of memory", NULL, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int) len);
        enum json_tokener_error je = json_tokener_get_error(tok);
        if (!root && je == json_tokener_continue) {
                /* A top-level literal ("null", "12") is complete only at
                 * the end of input, which a NUL byte marks. */
                root = json_tokener_parse_ex(tok, "", 1);
                je = json_tokener_get_error(tok);
        }
        if (je != json_tokener_success)
                return syntax(&sc, MIN_SIZE(json_tokener_get_parse_end(tok), len), json_tokener_error_desc(je));

        *out = TAKE_PTR(root);
        return 0;
}

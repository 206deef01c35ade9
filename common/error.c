/* SPDX-License-Identifier: MIT */
/*
 * Error reporting.  A failing function fills a jailer_error and returns -1;
 * callers may add context with jl_error_prefix() on the way up.
 *
 * Messages are guaranteed to be one printable line: they end up on a
 * terminal or in the journal, and they quote values that come from users
 * (paths, keys, ids), so control characters are escaped here, once, for
 * every caller.
 */
#include "jailer-internal.h"

#include <stdio.h>
#include <string.h>

/* Copy src into dst (size dstsz, always NUL-terminated), writing "\n",
 * "\t", "\xNN" for bytes < 0x20 and 0x7f, and for the UTF-8 encodings of
 * the C1 controls (U+0080..U+009F, e.g. the 8-bit CSI a terminal may obey).
 * Other bytes >= 0x80 are kept so that UTF-8 paths stay readable.
 * Truncation never splits an escape sequence. */
static void sanitize(char *dst, size_t dstsz, const char *src)
{
        size_t o = 0;

        if (dstsz == 0)
                return;

        for (const unsigned char *p = (const unsigned char *) src; *p; p++) {
                char esc[9];
                size_t n;

                if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                        n = (size_t) snprintf(esc, sizeof(esc), "\\xc2\\x%02x", p[1]);
                        p++;
                } else if (*p == '\n')
                        n = (size_t) snprintf(esc, sizeof(esc), "\\n");
                else if (*p == '\t')
                        n = (size_t) snprintf(esc, sizeof(esc), "\\t");
                else if (*p < 0x20 || *p == 0x7f)
                        n = (size_t) snprintf(esc, sizeof(esc), "\\x%02x", *p);
                else {
                        esc[0] = (char) *p;
                        esc[1] = '\0';
                        n = 1;
                }

                if (o + n >= dstsz)
                        break;
                memcpy(dst + o, esc, n);
                o += n;
        }
        dst[o] = '\0';
}

/* snprintf that marks a cut-off message with "..." instead of hiding it. */
static void bprintf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static void bprintf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);

        if (n >= 0 && (size_t) n >= size && size > 4)
                memcpy(buf + size - 4, "...", 4);
}

static int verror(jailer_error *err, jailer_step step, int code, const char *field, const char *fmt, va_list ap)
        _printf_(5, 0);
static int verror(jailer_error *err, jailer_step step, int code, const char *field, const char *fmt, va_list ap)
{
        char raw[sizeof(err->message)];
        size_t fl = 0;

        if (code != 0)
                errno = code;
        if (!err)
                return -1;

        err->step = step;
        err->code = code;
        sanitize(err->field, sizeof(err->field), field ?: "");

        /* The message names the field it is about.  Callers may write the
         * field themselves at the start of the message; otherwise it is
         * prepended here, so that no message can lose it. */
        if (field && field[0])
                fl = strlen(field);
        if (fl > 0) {
                char body[sizeof(raw)];

                vsnprintf(body, sizeof(body), fmt, ap);
                if (strncmp(body, field, fl) == 0 && body[fl] == ':')
                        bprintf(raw, sizeof(raw), "%s", body);
                else
                        bprintf(raw, sizeof(raw), "%s: %s", field, body);
        } else
                vsnprintf(raw, sizeof(raw), fmt, ap);

        if (code != 0) {
                char buf[256];
                const char *s = strerror_r(code, buf, sizeof(buf));
                size_t n = strlen(raw);

                bprintf(raw + n, sizeof(raw) - n, ": %s", s);
        }

        sanitize(err->message, sizeof(err->message), raw);
        return -1;
}

int jl_error(jailer_error *err, jailer_step step, int code, const char *field, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = verror(err, step, code, field, fmt, ap);
        va_end(ap);
        return r;
}

int jailer_error_set(jailer_error *err, jailer_step step, int code, const char *field, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = verror(err, step, code, field, fmt, ap);
        va_end(ap);
        return r;
}

void jl_error_prefix(jailer_error *err, const char *fmt, ...)
{
        char prefix[sizeof(err->message)];
        char raw[sizeof(err->message)];
        va_list ap;

        if (!err)
                return;

        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);

        if (err->message[0])
                bprintf(raw, sizeof(raw), "%s: %s", prefix, err->message);
        else
                bprintf(raw, sizeof(raw), "%s", prefix);
        sanitize(err->message, sizeof(err->message), raw);
}

const char *jailer_step_name(jailer_step step)
{
        switch (step) {
        case JAILER_STEP_NONE:
                return "none";
        case JAILER_STEP_CONFIG:
                return "config";
        case JAILER_STEP_CGROUP:
                return "cgroup";
        case JAILER_STEP_ROOTFS:
                return "rootfs";
        case JAILER_STEP_SPAWN:
                return "spawn";
        case JAILER_STEP_USERNS:
                return "userns";
        case JAILER_STEP_PRIVS:
                return "privileges";
        case JAILER_STEP_SECCOMP:
                return "seccomp";
        case JAILER_STEP_EXEC:
                return "exec";
        case JAILER_STEP_WAIT:
                return "wait";
        default:
                return "unknown";
        }
}

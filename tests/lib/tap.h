/* SPDX-License-Identifier: MIT */
/*
 * tap.h — the one harness of the C unit tests: TAP on stdout, as
 * `meson test --protocol tap` reads it.  Header-only; each test binary is a
 * single translation unit.
 *
 *   ok(cond, "name %d", i)       one test point, "ok N - name"; returns cond
 *   is_str(got, want, "name")    ok() on strcmp, both strings shown on failure
 *   diag("why %s", s)            a comment line, "# why ..." (vdiag: va_list)
 *   plan(n)                      the number of points, when known up front
 *   skip_all("reason")           nothing can run here: "1..0 # SKIP reason"
 *   return done();               the plan if none was given, a closing
 *                                "# N passed, N failed" comment; exit status
 *
 * Every line is flushed at once: the tests fork, and a line left in the
 * buffer would be printed twice.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_run, tap_failed;
static bool tap_planned;

static inline void tap_vline(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static inline void tap_vline(const char *prefix, const char *fmt, va_list ap)
{
        fputs(prefix, stdout);
        vprintf(fmt, ap);
        putchar('\n');
        fflush(stdout);
}

static inline void plan(unsigned n)
{
        printf("1..%u\n", n);
        fflush(stdout);
        tap_planned = true;
}

static inline void vdiag(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static inline void vdiag(const char *fmt, va_list ap)
{
        tap_vline("# ", fmt, ap);
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vdiag(fmt, ap);
        va_end(ap);
}

static inline bool vok(bool cond, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static inline bool vok(bool cond, const char *fmt, va_list ap)
{
        char prefix[48];

        tap_run++;
        tap_failed += !cond;
        snprintf(prefix, sizeof(prefix), "%s %u - ", cond ? "ok" : "not ok", tap_run);
        tap_vline(prefix, fmt, ap);
        return cond;
}

static inline bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool ok(bool cond, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vok(cond, fmt, ap);
        va_end(ap);
        return cond;
}

static inline bool is_str(const char *got, const char *want, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static inline bool is_str(const char *got, const char *want, const char *fmt, ...)
{
        bool same = got && want ? strcmp(got, want) == 0 : got == want;
        va_list ap;

        va_start(ap, fmt);
        vok(same, fmt, ap);
        va_end(ap);
        if (!same)
                diag("got \"%s\", expected \"%s\"", got ? got : "(null)", want ? want : "(null)");
        return same;
}

static inline void skip_all(const char *reason)
{
        printf("1..0 # SKIP %s\n", reason);
        fflush(stdout);
}

static inline int done(void)
{
        if (!tap_planned)
                printf("1..%u\n", tap_run);
        printf("# %u passed, %u failed\n", tap_run - tap_failed, tap_failed);
        fflush(stdout);
        return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: MIT */
/*
 * cpu and NUMA node lists as the kernel writes them ("0-3,8,10-11"): parsed
 * into a bitmap so that a jail's pinning can be checked against the host's
 * online set and its parent cgroup's, and written back in one canonical
 * form.  Only the plain syntax is accepted (no "0-7:2" strides).
 */
#include "jailer-internal.h"

#include <stdio.h>
#include <string.h>

static void set_bit(jl_cpuset *s, unsigned n)
{
        s->bits[n / 64] |= UINT64_C(1) << (n % 64);
}

bool jl_cpuset_has(const jl_cpuset *s, unsigned n)
{
        return n < JL_CPUS_MAX && (s->bits[n / 64] >> (n % 64)) & 1;
}

/* A decimal number of at most 9 digits at *p; -1 when there is none. */
static long number(const char **p)
{
        long v = 0;
        int digits = 0;

        while (**p >= '0' && **p <= '9' && digits < 10) {
                v = v * 10 + (**p - '0');
                (*p)++;
                digits++;
        }
        return digits == 0 || digits > 9 ? -1 : v;
}

int jl_cpulist_parse(const char *text, jl_cpuset *out, char *why, size_t why_size)
{
        const char *p = text;

        memset(out, 0, sizeof(*out));
        /* What the kernel writes ends in a newline, and an empty set is
         * one newline. */
        if (p[0] == '\0' || (p[0] == '\n' && p[1] == '\0'))
                return 0;
        for (;;) {
                long lo = number(&p), hi = lo;
                if (lo >= 0 && *p == '-') {
                        p++;
                        hi = number(&p);
                }
                if (lo < 0 || hi < 0 || hi < lo || (*p != ',' && *p != '\0' && strcmp(p, "\n") != 0)) {
                        snprintf(why, why_size, "\"%.64s\" is not a list such as \"2-3\" or \"4,6\"", text);
                        return -1;
                }
                if (hi >= JL_CPUS_MAX) {
                        snprintf(why, why_size, "%ld is above the %d maximum", hi, JL_CPUS_MAX - 1);
                        return -1;
                }
                for (long n = lo; n <= hi; n++)
                        set_bit(out, (unsigned) n);
                if (*p != ',')
                        return 0;
                p++;
        }
}

size_t jl_cpuset_count(const jl_cpuset *s)
{
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(s->bits); i++)
                n += (size_t) __builtin_popcountll(s->bits[i]);
        return n;
}

int jl_cpuset_first_outside(const jl_cpuset *want, const jl_cpuset *have)
{
        for (unsigned n = 0; n < JL_CPUS_MAX; n++)
                if (jl_cpuset_has(want, n) && !jl_cpuset_has(have, n))
                        return (int) n;
        return -1;
}

void jl_cpuset_format(const jl_cpuset *s, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (unsigned n = 0; n < JL_CPUS_MAX; n++) {
                if (!jl_cpuset_has(s, n))
                        continue;
                unsigned hi = n;
                while (jl_cpuset_has(s, hi + 1))
                        hi++;
                int k = hi == n ? snprintf(buf + len, size - len, "%s%u", len ? "," : "", n)
                                : snprintf(buf + len, size - len, "%s%u-%u", len ? "," : "", n, hi);
                if (k < 0 || (size_t) k >= size - len) {
                        buf[len] = '\0';        /* cut at the last whole range */
                        return;
                }
                len += (size_t) k;
                n = hi;
        }
}

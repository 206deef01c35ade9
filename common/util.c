/* SPDX-License-Identifier: MIT */
/* Small parsers and name tables shared by the config, the CLI and reports. */
#include "jailer-internal.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef JAILER_VERSION
#error "JAILER_VERSION must be defined by the build system"
#endif

const char *const jl_namespace_names[JAILER_NS_COUNT] = {
        [JAILER_NS_USER] = "user",
        [JAILER_NS_PID] = "pid",
        [JAILER_NS_MOUNT] = "mount",
        [JAILER_NS_NETWORK] = "network",
        [JAILER_NS_UTS] = "uts",
        [JAILER_NS_IPC] = "ipc",
        [JAILER_NS_CGROUP] = "cgroup",
};

const char *jailer_namespace_name(jailer_namespace ns)
{
        return (unsigned) ns < JAILER_NS_COUNT ? jl_namespace_names[ns] : NULL;
}

const char *jailer_version(void)
{
        return JAILER_VERSION;
}

/* A call the kernel lacks answers ENOSYS (so does a seccomp filter that
 * hides it).  Each probe's arguments get it refused when the call exists
 * (EINVAL, EBADF): it never does anything. */
static bool lacks(long nr, long a, long b, long c, long d, long e)
{
        return syscall(nr, a, b, c, d, e) < 0 && errno == ENOSYS;
}

int jailer_kernel_fallbacks(char *buf, size_t size)
{
        const struct {
                const char *name;
                long nr, args[5];
        } calls[] = {
                { "clone3", SYS_clone3, { 0, 0 } },                     /* size 0 */
                { "openat2", SYS_openat2, { -1, 0, 0, 0 } },            /* size 0 */
                { "close_range", SYS_close_range, { 2, 1, 0 } },        /* first > last */
                { "pidfd_open", SYS_pidfd_open, { getpid(), ~0L } },    /* unknown flags */
                { "mount_setattr", SYS_mount_setattr, { -1, 0, 0, 0, 0 } }, /* size 0 */
        };
        size_t n = 0;

        if (!buf || size == 0) {
                errno = EINVAL;
                return -1;
        }
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                const long *a = calls[i].args;
                if (lacks(calls[i].nr, a[0], a[1], a[2], a[3], a[4]))
                        n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? ", " : "", calls[i].name);
        }
        if (n >= size || jl_cgroup_kernel_fallbacks(buf, size) < 0) {
                errno = ENOSPC;
                return -1;
        }
        return 0;
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Parse the leading run of decimal digits of s.  *end points past it.
 * No sign, no whitespace, no base prefix: only [0-9]+. */
static int parse_digits(const char *s, const char **end, uint64_t *out)
{
        uint64_t v = 0;
        const char *p = s;

        if (!s || !is_digit(*p)) {
                errno = EINVAL;
                return -1;
        }

        for (; is_digit(*p); p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10) {
                        errno = ERANGE;
                        return -1;
                }
                v = v * 10 + d;
        }

        *end = p;
        *out = v;
        return 0;
}

int jl_parse_u64(const char *s, uint64_t *out)
{
        const char *end;
        uint64_t v;

        if (parse_digits(s, &end, &v) < 0)
                return -1;
        if (*end != '\0') {
                errno = EINVAL;
                return -1;
        }

        *out = v;
        return 0;
}

/* Sizes are binary multiples: "K" and "KiB" both mean 1024.  A bare number
 * is bytes.  Lower-case single letters are accepted as well ("512m"), as
 * users type them for other tools. */
int jl_parse_size(const char *s, uint64_t *out)
{
        static const struct {
                const char *suffix;
                unsigned shift;
        } suffixes[] = {
                { "", 0 },
                { "K", 10 }, { "KiB", 10 }, { "k", 10 },
                { "M", 20 }, { "MiB", 20 }, { "m", 20 },
                { "G", 30 }, { "GiB", 30 }, { "g", 30 },
                { "T", 40 }, { "TiB", 40 }, { "t", 40 },
        };
        const char *end;
        uint64_t v;

        if (parse_digits(s, &end, &v) < 0)
                return -1;

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                if (strcmp(end, suffixes[i].suffix) != 0)
                        continue;
                if (suffixes[i].shift > 0 && v > (UINT64_MAX >> suffixes[i].shift)) {
                        errno = ERANGE;
                        return -1;
                }
                *out = v << suffixes[i].shift;
                return 0;
        }

        errno = EINVAL;
        return -1;
}

int jailer_parse_u64(const char *s, uint64_t *out)
{
        return jl_parse_u64(s, out);
}

uint64_t jailer_now_monotonic_us(void)
{
        return jl_now_monotonic_us();
}

int jailer_read_fd(int fd, size_t max, char **out, size_t *len)
{
        return jl_read_fd_all(fd, max, false, out, len);
}

int jailer_parse_size(const char *s, uint64_t *out)
{
        return jl_parse_size(s, out);
}

/* ------------------------------------------------------------ signals */

static const char *const signal_names[] = {
        [SIGHUP] = "SIGHUP",
        [SIGINT] = "SIGINT",
        [SIGQUIT] = "SIGQUIT",
        [SIGILL] = "SIGILL",
        [SIGTRAP] = "SIGTRAP",
        [SIGABRT] = "SIGABRT",
        [SIGBUS] = "SIGBUS",
        [SIGFPE] = "SIGFPE",
        [SIGKILL] = "SIGKILL",
        [SIGUSR1] = "SIGUSR1",
        [SIGSEGV] = "SIGSEGV",
        [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE",
        [SIGALRM] = "SIGALRM",
        [SIGTERM] = "SIGTERM",
#ifdef SIGSTKFLT
        [SIGSTKFLT] = "SIGSTKFLT",
#endif
        [SIGCHLD] = "SIGCHLD",
        [SIGCONT] = "SIGCONT",
        [SIGSTOP] = "SIGSTOP",
        [SIGTSTP] = "SIGTSTP",
        [SIGTTIN] = "SIGTTIN",
        [SIGTTOU] = "SIGTTOU",
        [SIGURG] = "SIGURG",
        [SIGXCPU] = "SIGXCPU",
        [SIGXFSZ] = "SIGXFSZ",
        [SIGVTALRM] = "SIGVTALRM",
        [SIGPROF] = "SIGPROF",
        [SIGWINCH] = "SIGWINCH",
        [SIGIO] = "SIGIO",
#ifdef SIGPWR
        [SIGPWR] = "SIGPWR",
#endif
        [SIGSYS] = "SIGSYS",
};

/* Other names the kernel headers give to the same numbers. */
static const struct {
        const char *name;
        int sig;
} signal_aliases[] = {
        { "SIGIOT", SIGABRT },
        { "SIGPOLL", SIGIO },
        { "SIGCLD", SIGCHLD },
};

static const char *const rt_names[] = {
        "SIGRTMIN", "SIGRTMIN+1", "SIGRTMIN+2", "SIGRTMIN+3", "SIGRTMIN+4",
        "SIGRTMIN+5", "SIGRTMIN+6", "SIGRTMIN+7", "SIGRTMIN+8", "SIGRTMIN+9",
        "SIGRTMIN+10", "SIGRTMIN+11", "SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14",
        "SIGRTMIN+15", "SIGRTMIN+16", "SIGRTMIN+17", "SIGRTMIN+18", "SIGRTMIN+19",
        "SIGRTMIN+20", "SIGRTMIN+21", "SIGRTMIN+22", "SIGRTMIN+23", "SIGRTMIN+24",
        "SIGRTMIN+25", "SIGRTMIN+26", "SIGRTMIN+27", "SIGRTMIN+28", "SIGRTMIN+29",
        "SIGRTMIN+30", "SIGRTMIN+31", "SIGRTMIN+32",
};

const char *jailer_signal_name(int sig)
{
        if (sig > 0 && (size_t) sig < ELEMENTSOF(signal_names) && signal_names[sig])
                return signal_names[sig];
        if (sig >= SIGRTMIN && sig <= SIGRTMAX && (size_t) (sig - SIGRTMIN) < ELEMENTSOF(rt_names))
                return rt_names[sig - SIGRTMIN];
        return NULL;
}

/* "SIGRTMIN", "SIGRTMIN+n", "SIGRTMAX", "SIGRTMAX-n" (the "SIG" already
 * stripped); -1 when it is none of those or out of the realtime range. */
static int rt_from_name(const char *name)
{
        uint64_t n = 0;
        int base, sign;
        const char *rest;

        if (strncasecmp(name, "RTMIN", 5) == 0) {
                base = SIGRTMIN;
                sign = 1;
        } else if (strncasecmp(name, "RTMAX", 5) == 0) {
                base = SIGRTMAX;
                sign = -1;
        } else
                return -1;

        rest = name + 5;
        if (*rest != '\0') {
                if (*rest != (sign > 0 ? '+' : '-'))
                        return -1;
                if (jl_parse_u64(rest + 1, &n) < 0 || n > (uint64_t) (SIGRTMAX - SIGRTMIN))
                        return -1;
        }

        return base + sign * (int) n;
}

int jailer_signal_from_name(const char *name)
{
        const char *bare;
        uint64_t n;

        if (!name || !*name)
                return -1;

        if (is_digit(name[0])) {
                if (jl_parse_u64(name, &n) < 0 || n < 1 || n > (uint64_t) SIGRTMAX)
                        return -1;
                return (int) n;
        }

        bare = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
        if (!*bare)
                return -1;

        for (size_t i = 1; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i] && strcasecmp(signal_names[i] + 3, bare) == 0)
                        return (int) i;
        for (size_t i = 0; i < ELEMENTSOF(signal_aliases); i++)
                if (strcasecmp(signal_aliases[i].name + 3, bare) == 0)
                        return signal_aliases[i].sig;

        return rt_from_name(bare);
}

uint64_t jl_now_monotonic_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

uint64_t jl_now_monotonic_us(void)
{
        return jl_now_monotonic_ns() / 1000u;
}

int jl_read_fd_all(int fd, size_t max, bool from_start, char **out, size_t *len)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;

        if (max > SIZE_MAX / 2)
                return -EINVAL;
        for (;;) {
                /* Room for one byte beyond max (to see that there is more)
                 * and the NUL. */
                if (alloc - size < 2) {
                        size_t na = alloc ? alloc * 2 : 4096;
                        if (na > max + 2)
                                na = max + 2;
                        char *nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        alloc = na;
                }
                ssize_t n = from_start ? pread(fd, buf + size, alloc - size - 1, (off_t) size)
                                       : read(fd, buf + size, alloc - size - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        if (len)
                *len = size;
        *out = TAKE_PTR(buf);
        return 0;
}

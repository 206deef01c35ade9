/* SPDX-License-Identifier: MIT */
/*
 * stamp: the jailed program of every benchmark.  Static, so that it runs in
 * a jail root holding nothing else, and tiny, so that its own start-up is
 * the same for every contender.
 *
 * It reads CLOCK_MONOTONIC first thing in main() and prints one line on
 * stdout:
 *
 *     stamp START_NS END_NS
 *
 * START_NS is the time main() was entered; END_NS the time just before it
 * exits.  No time namespace is involved, so the clock is the host's and the
 * harness compares it with its own readings.
 *
 *     stamp               print, exit 0
 *     stamp sleep [SECS]  print START at once, then sleep (until killed, or
 *                         SECS seconds) and print a second line at the end
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void say(long long start, long long end)
{
        char line[64];
        int n = snprintf(line, sizeof(line), "stamp %lld %lld\n", start, end);
        /* One write: a pipe shared by several jails never interleaves it. */
        while (write(1, line, (size_t) n) < 0 && errno == EINTR)
                ;
}

int main(int argc, char **argv)
{
        long long start = now_ns();

        if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
                say(start, start);
                if (argc > 2) {
                        struct timespec ts = { .tv_sec = atol(argv[2]) };
                        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                                ;
                } else {
                        for (;;)
                                pause();
                }
        }
        say(start, now_ns());
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * jailer — run one program in a jail, wait for it, report.
 *
 *   jailer --id ID --exec PATH --jail-root DIR [--memory 512M] [--cpu 1.0] ... -- ARGS
 *   jailer --config FILE [--report FILE|-]
 *
 * Exit status: the jailed program's, or 128+N when signal N killed it; 125
 * when the jailer itself failed (one line on stderr says which step and
 * why), 126 when the program could not be executed, 127 when it was not found.
 */
#include "cli.h"
#include "jailer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define EXIT_JAILER 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

struct options {
        const char *report;
        bool help;
        bool version;
};

static const struct jl_cli_flag extra_flags[] = {
        { "report", true },
        { "help", false },
        { "version", false },
        { NULL, false },
};

static int on_extra(void *userdata, const char *name, const char *value, jailer_error *err)
{
        struct options *o = userdata;
        if (strcmp(name, "report") == 0)
                o->report = value;
        else if (strcmp(name, "help") == 0)
                o->help = true;
        else if (strcmp(name, "version") == 0)
                o->version = true;
        (void) err;
        return 0;
}

static int fail(const jailer_error *err)
{
        fprintf(stderr, "jailer: %s: %s\n", jailer_step_name(err->step), err->message);
        if (err->step == JAILER_STEP_EXEC) {
                if (err->code == ENOENT)
                        return EXIT_NOT_FOUND;
                return EXIT_CANNOT_EXEC;
        }
        return EXIT_JAILER;
}

static int write_report(const char *dest, const jailer_report *r)
{
        char *json = jailer_report_to_json(r);
        if (!json) {
                fprintf(stderr, "jailer: report: out of memory\n");
                return -1;
        }
        int rc = 0;
        if (strcmp(dest, "-") == 0) {
                printf("%s\n", json);
                fflush(stdout);
        } else {
                FILE *f = fopen(dest, "we");
                if (!f || fprintf(f, "%s\n", json) < 0 || fclose(f) != 0) {
                        fprintf(stderr, "jailer: report: %s: %s\n", dest, strerror(errno));
                        rc = -1;
                }
        }
        free(json);
        return rc;
}

static uint64_t mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

#define KILL_GRACE_US (10 * 1000000ull)

static uint64_t earliest(uint64_t a, uint64_t b)
{
        if (!a)
                return b;
        if (!b)
                return a;
        return a < b ? a : b;
}

/* Wait for the jail while forwarding the signals an operator sends to us:
 * the jail has its own session, so a terminal's ^C reaches only the jailer,
 * which passes it on and still cleans up afterwards.  The jailed program is
 * PID 1 of its namespace, and the kernel drops signals it has no handler
 * for: if it is still running KILL_GRACE_US after the first signal, or when
 * a second one comes, it gets SIGKILL. */
static int supervise(jailer_jail *j, jailer_report *r, jailer_error *err, int sfd)
{
        uint64_t kill_at = 0;
        unsigned signals = 0;

        for (;;) {
                int timeout = -1;
                uint64_t timeout_at = jailer_jail_deadline_us(j);
                uint64_t wake = earliest(timeout_at, kill_at);
                if (wake) {
                        uint64_t now = mono_us();
                        if (timeout_at && now >= timeout_at) {
                                (void) jailer_jail_expire(j);
                                break;
                        }
                        if (kill_at && now >= kill_at) {
                                (void) jailer_jail_kill(j, SIGKILL);
                                kill_at = 0;
                                continue;
                        }
                        timeout = (int) ((wake - now + 999) / 1000);
                }
                struct pollfd p[2] = {
                        { .fd = jailer_jail_pidfd(j), .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                };
                int n = poll(p, 2, timeout);
                if (n < 0 && errno != EINTR)
                        break;
                if (n > 0 && (p[0].revents & POLLIN))
                        break;
                if (n > 0 && (p[1].revents & POLLIN)) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) != (ssize_t) sizeof(si))
                                continue;
                        if (++signals > 1) {
                                (void) jailer_jail_kill(j, SIGKILL);
                                continue;
                        }
                        (void) jailer_jail_kill(j, (int) si.ssi_signo);
                        kill_at = mono_us() + KILL_GRACE_US;
                }
        }
        return jailer_jail_wait(j, r, err);
}

/* Which of those this kernel lacks, as libjailer finds them. */
static void print_kernel_fallbacks(void)
{
        struct utsname u;
        char what[256];

        if (uname(&u) < 0)
                snprintf(u.release, sizeof(u.release), "?");
        if (jailer_kernel_fallbacks(what, sizeof(what)) < 0)
                printf("this kernel (%s): cannot tell which it lacks: %m\n", u.release);
        else if (!what[0])
                printf("this kernel (%s): has them all\n", u.release);
        else
                printf("this kernel (%s): does without %s\n", u.release, what);
}

int main(int argc, char **argv)
{
        struct options o = { 0 };
        jailer_error err = { 0 };
        jailer_config *c = NULL;

        if (jl_cli_parse(argc, argv, extra_flags, on_extra, &o, &c, &err) < 0) {
                if (o.help || o.version)
                        goto info;
                fprintf(stderr, "jailer: %s: %s\n", jailer_step_name(JAILER_STEP_CONFIG), err.message);
                return EXIT_JAILER;
        }
info:
        if (o.help) {
                printf("Usage: jailer [FLAGS] -- [ARGS...]\n"
                       "       jailer --config FILE [FLAGS]\n\n"
                       "Run one program inside a jail: namespaces, cgroup limits, pivot_root,\n"
                       "rlimits, no capabilities; wait for it and report.\n\n"
                       "%s\n"
                       "  --report FILE|-         write the JSON exit report to FILE (or stdout)\n"
                       "  --help                  show this help\n"
                       "  --version               show the version\n\n"
                       "Exit status: the program's, or 128+N when signal N killed it;\n"
                       "125 jailer failure, 126 cannot execute, 127 not found.\n",
                       jl_cli_usage());
                jailer_config_free(c);
                return 0;
        }
        if (o.version) {
                printf("jailer %s (cgroup %s)\n", jailer_version(), jailer_cgroup_detect() ?: "unavailable");
                printf("needs Linux 5.2 or later (the new mount API: open_tree, move_mount, fsopen);\n"
                       "does without, where the kernel or a seccomp filter lacks them: clone3 (5.3),\n"
                       "openat2 (5.6), close_range (5.9), mount_setattr (5.12), cgroup.kill (5.14),\n"
                       "memory.peak (5.19) -- see README.md, \"Kernel\"\n");
                print_kernel_fallbacks();
                jailer_config_free(c);
                return 0;
        }

        /* Exclusive cores are a promise between the jails of one jailerd;
         * jailer runs one jail and knows of no other: refused, not ignored. */
        if (jailer_config_get_cpus_exclusive(c)) {
                fprintf(stderr, "jailer: config: limits.cpus_exclusive: only jailerd keeps its other jails off a "
                                "jail's cpus (jailer runs one jail and knows no others)\n");
                jailer_config_free(c);
                return EXIT_JAILER;
        }

        sigset_t fwd;
        sigemptyset(&fwd);
        sigaddset(&fwd, SIGINT);
        sigaddset(&fwd, SIGTERM);
        sigaddset(&fwd, SIGHUP);
        sigaddset(&fwd, SIGQUIT);
        sigprocmask(SIG_BLOCK, &fwd, NULL);
        int sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                fprintf(stderr, "jailer: spawn: signalfd: %s\n", strerror(errno));
                jailer_config_free(c);
                return EXIT_JAILER;
        }

        jailer_spawn_opts opts = JAILER_SPAWN_OPTS_INIT;
        jailer_jail *j = NULL;
        if (jailer_spawn(c, &opts, &j, &err) < 0) {
                jailer_config_free(c);
                return fail(&err);
        }
        jailer_config_free(c);

        jailer_report r;
        if (supervise(j, &r, &err, sfd) < 0)
                return fail(&err);
        close(sfd);

        if (o.report && write_report(o.report, &r) < 0)
                return EXIT_JAILER;
        return jailer_report_status(&r);
}

/* SPDX-License-Identifier: MIT */
/*
 * jailerctl — the client of jailerd.
 *
 *   jailerctl [--socket PATH] [--json] COMMAND [ARGS...]
 *
 *   run [JAIL FLAGS] [--report FILE|-] [-- ARGS]   create a jail wired to our
 *                               stdio, wait for it, exit with its status
 *   create [JAIL FLAGS] [--stdio] [--no-start [--prepare-timeout MS]] [-- ARGS]
 *                              create a jail, print its id and pid; with
 *                              --no-start, prepared up to its execve
 *   start ID                   start a prepared jail
 *   wait ID                    wait for a jail's exit report
 *   kill ID [SIGNAL]           signal a jail (default SIGTERM)
 *   list                       list jails
 *   status ID                  a jail's state and live usage
 *   events                     print started/exited notifications as they come
 *   logs [-f] ID               a jail's console output, raw; -f follows it
 *   version                    versions of jailerctl, jailerd and the protocol
 *
 * Exit status: run and wait exit with the jail's status (its exit code, or
 * 128+N when signal N killed it), 126/127 when its program could not be
 * executed or found, and 125 when jailerd or jailerctl failed.  run, create
 * and wait exit 77 when jailerd refused the request (permission_denied: the
 * policy or the jail's owner says no) and 75 when it cannot take it now
 * (limit_reached, shutting_down, busy): try again later (run and create ask
 * again by themselves while the id is busy, up to CREATE_BUSY_MS).  The other commands exit
 * 0 on success, 1 when jailerd refused or failed, 2 on a usage error.
 * Errors go to stderr with jailerd's message (with --json, run and create
 * print them as a JSON object on stdout too).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jailer-internal.h"
#include "protocol.h"

#define EXIT_RUN_FAILED 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_NOPERM 77   /* sysexits' EX_NOPERM: jailerd refused the request */
#define EXIT_TEMPFAIL 75 /* sysexits' EX_TEMPFAIL: jailerd cannot take it now */

/* How long run, wait, events and logs keep trying to reach a restarting
 * jailerd, and the pause between tries (doubled each time, up to the
 * second). */
#define RECONNECT_TIMEOUT_MS (60 * 1000)
#define CREATE_BUSY_MS 10000    /* how long create asks again while its id is "busy" */
#define RECONNECT_PAUSE_MIN_MS 50
#define RECONNECT_PAUSE_MAX_MS 1000

static inline void json_object_putp(json_object **o)
{
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

static inline void jl_client_freep(jl_client **c)
{
        jl_client_free(*c);
}
#define _cleanup_client_ _cleanup_(jl_client_freep)

static struct {
        const char *socket;
        bool json;
} arg = {};

static const char *cmd_name = "jailerctl";

/* The last error logged, for the exit status; run and create with --json
 * also print errors as JSON on stdout. */
static jl_rpc_error last_error;
static bool json_errors;

static void print_error_json(const jl_rpc_error *e);

static void log_rpc_error(const char *what, const jl_rpc_error *e)
{
        last_error = *e;
        if (json_errors)
                print_error_json(e);
        if (e->code == 0) {
                fprintf(stderr, "jailerctl: %s: %s\n", what, e->message);
                return;
        }
        fprintf(stderr, "jailerctl: %s: %s", what, e->message);
        if (e->step[0])
                fprintf(stderr, " (step %s)", e->step);
        fprintf(stderr, " [%s%s%s]\n", e->reason, e->field[0] ? ", field " : "", e->field);
}

/* The exit status of run, create and wait for a request jailerd refused or
 * could not take, or `otherwise`. */
static int exit_for_refusal(const jl_rpc_error *e, int otherwise)
{
        if (e->code == JL_RPC_PERMISSION_DENIED)
                return EXIT_NOPERM;
        if (e->code == JL_RPC_LIMIT_REACHED || e->code == JL_RPC_SHUTTING_DOWN || e->code == JL_RPC_BUSY)
                return EXIT_TEMPFAIL;
        return otherwise;
}

/* An error as jailerd's JSON-RPC error reply ("id": null), on stdout
 * (--json); client-side errors have code 0 and data.reason "connection". */
static void print_error_json(const jl_rpc_error *e)
{
        _cleanup_(json_object_putp) json_object *o = jl_reply_error(NULL, e);

        if (!o)
                return;
        fprintf(stdout, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
}

static int client_open(jl_client **c, jl_rpc_error *e)
{
        return jl_client_connect(jl_client_socket_path(arg.socket), c, e);
}

/* One request on a fresh connection; logs its error. */
static int call_once(const char *method, json_object *params, json_object **result)
{
        _cleanup_client_ jl_client *c = NULL;
        jl_rpc_error e = {};

        if (client_open(&c, &e) < 0 || jl_client_call(c, method, params, NULL, 0, -1, result, &e) < 0) {
                if (!c)
                        json_object_put(params);
                log_rpc_error(method, &e);
                return -1;
        }
        return 0;
}

static void print_json(FILE *f, json_object *o)
{
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(f);
}

static json_object *jail_params(const char *jail)
{
        json_object *p = json_object_new_object();
        if (p)
                json_object_object_add(p, "jail", json_object_new_string(jail));
        return p;
}

/* ------------------------------------------------------------------ formatting */

static const char *fmt_bytes(uint64_t b, char buf[static 32])
{
        if (b == JAILER_UNKNOWN)
                snprintf(buf, 32, "unknown");
        else if (b >= 1024ULL * 1024 * 1024)
                snprintf(buf, 32, "%.1f GiB", (double) b / (1024.0 * 1024 * 1024));
        else if (b >= 1024 * 1024)
                snprintf(buf, 32, "%.1f MiB", (double) b / (1024.0 * 1024));
        else if (b >= 1024)
                snprintf(buf, 32, "%.1f KiB", (double) b / 1024.0);
        else
                snprintf(buf, 32, "%" PRIu64 " B", b);
        return buf;
}

static const char *fmt_us(uint64_t us, char buf[static 32])
{
        if (us >= 60ULL * 1000000)
                snprintf(buf, 32, "%" PRIu64 "m%02" PRIu64 "s", us / 60000000, us / 1000000 % 60);
        else if (us >= 1000000)
                snprintf(buf, 32, "%.2f s", (double) us / 1e6);
        else
                snprintf(buf, 32, "%.1f ms", (double) us / 1e3);
        return buf;
}

/* "2026-11-29T18:31:00.123456Z" -> "2026-11-29 18:31:00Z" */
static const char *fmt_time(uint64_t us, char buf[static 32])
{
        if (jl_format_rfc3339(us, buf) < 0)
                return "-";
        buf[10] = ' ';
        buf[19] = 'Z';
        buf[20] = 0;
        return buf;
}

/* Whether the run was disturbed, one line, only what says something:
 * pinning, throttling, other tasks on the pinned cpus, memory events. */
static void print_disturbance_human(FILE *f, const jailer_report *r)
{
        char a[32], b[32];
        bool any = false;

        if (!r->measured)
                return;
        if (r->cpus[0]) {
                fprintf(f, "  pinned to cpus %.*s", (int) sizeof(r->cpus) - 1, r->cpus);
                if (r->pinned_cpus_other_us >= 0)
                        fprintf(f, " (others used them %s)", fmt_us((uint64_t) r->pinned_cpus_other_us, a));
                any = true;
        }
        if (r->cpu_throttled_periods > 0) {
                fprintf(f, "%sthrottled in %" PRIi64 " of %" PRIi64 " cpu periods (%s)", any ? "; " : "  ",
                        r->cpu_throttled_periods, r->cpu_periods,
                        fmt_us(r->cpu_throttled_us > 0 ? (uint64_t) r->cpu_throttled_us : 0, b));
                any = true;
        }
        if (r->memory_high_events > 0 || r->memory_max_events > 0) {
                fprintf(f, "%smemory: %" PRIi64 " high, %" PRIi64 " max events", any ? "; " : "  ",
                        r->memory_high_events > 0 ? r->memory_high_events : 0,
                        r->memory_max_events > 0 ? r->memory_max_events : 0);
                any = true;
        }
        if (any)
                fprintf(f, "\n");
}

static void print_report_human(FILE *f, const jailer_report *r)
{
        char a[32], b[32], c[32];
        int status = jailer_report_status(r);

        if (r->signal > 0)
                fprintf(f, "jail %s: killed by %s (status %d)", r->id, jailer_signal_name(r->signal) ?: "a signal",
                        status);
        else
                fprintf(f, "jail %s: exited with code %d", r->id, r->exit_code);
        if (r->oom_killed)
                fprintf(f, ", out of memory");
        if (r->timed_out)
                fprintf(f, ", timed out");
        fprintf(f, "; wall %s, cpu %s, memory peak %s", fmt_us(r->wall_time_us, a), fmt_us(r->cpu_usage_us, b),
                fmt_bytes(r->memory_peak_bytes, c));
        if (r->pids_peak >= 0)
                fprintf(f, ", pids peak %" PRIi64, r->pids_peak);
        fprintf(f, "\n");
        print_disturbance_human(f, r);
        fflush(f);
}

static int write_report_file(const char *dest, json_object *report)
{
        if (strcmp(dest, "-") == 0) {
                print_json(stdout, report);
                return 0;
        }
        FILE *f = fopen(dest, "we");
        if (!f) {
                fprintf(stderr, "jailerctl: report: %s: %m\n", dest);
                return -1;
        }
        print_json(f, report);
        if (ferror(f) | (fclose(f) != 0)) {
                fprintf(stderr, "jailerctl: report: %s: %m\n", dest);
                return -1;
        }
        return 0;
}

/* ------------------------------------------------------------------ run, create, wait */

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t n_signals;

static void on_signal(int sig)
{
        got_signal = sig;
        n_signals++;
}

struct run_opts {
        const char *report;
        bool stdio;
        bool help;
        bool json;
        bool no_start;
        const char *prepare_timeout;
};

static const struct jl_cli_flag run_flags[] = {
        { "report", true },
        { "stdio", false },
        { "json", false },
        { "help", false },
        { "no-start", false },
        { "prepare-timeout", true },
        { NULL, false },
};

static int on_run_flag(void *userdata, const char *name, const char *value, jailer_error *err)
{
        struct run_opts *o = userdata;

        if (strcmp(name, "report") == 0)
                o->report = value;
        else if (strcmp(name, "stdio") == 0)
                o->stdio = true;
        else if (strcmp(name, "json") == 0)
                o->json = true;
        else if (strcmp(name, "help") == 0)
                o->help = true;
        else if (strcmp(name, "no-start") == 0)
                o->no_start = true;
        else if (strcmp(name, "prepare-timeout") == 0)
                o->prepare_timeout = value;
        (void) err;
        return 0;
}

/* Ask jailerd, on a connection of its own, to signal the jail. */
static void kill_jail(const char *jail, int sig)
{
        _cleanup_json_ json_object *res = NULL;
        json_object *p = jail_params(jail);

        if (p)
                json_object_object_add(p, "signal", json_object_new_string(jailer_signal_name(sig) ?: "SIGTERM"));
        if (call_once("kill", p, &res) == 0)
                fprintf(stderr, "jailerctl: sent %s to jail %s%s\n", jailer_signal_name(sig) ?: "a signal", jail,
                        sig == SIGKILL ? "" : " (again to kill it)");
}

/* The signal to send for the n-th operator signal: the one received first,
 * SIGKILL from the second on (a PID 1 may ignore SIGINT/SIGTERM). */
static int forward_signal(void)
{
        return n_signals > 1 ? SIGKILL : got_signal;
}

static int exit_for_spawn_error(const jl_rpc_error *e)
{
        if (e->code == JL_RPC_SPAWN_FAILED && strcmp(e->step, "exec") == 0)
                return strcmp(e->errno_name, "ENOENT") == 0 ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
        return EXIT_RUN_FAILED;
}

static long elapsed_ms(const struct timespec *since)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (long) ((now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000);
}

/* Does e say that jailerd went away (or is going) while the request was
 * pending?  A restart: what was asked can be asked again of the next one. */
static bool daemon_gone(const jl_rpc_error *e)
{
        return e->code == JL_RPC_SHUTTING_DOWN || (e->code == 0 && strcmp(e->reason, JL_REASON_CONNECTION) == 0);
}

/* Reconnecting to a restarting jailerd, with a bounded backoff. */
typedef struct reconnect {
        bool active;
        struct timespec since;
        unsigned pause_ms;
} reconnect;

/* Drop *cp and pause before the next try; false once RECONNECT_TIMEOUT_MS
 * have passed without a connection. */
static bool reconnect_pause(reconnect *rc, jl_client **cp, const jl_rpc_error *e)
{
        if (!rc->active) {
                fprintf(stderr, "jailerctl: lost jailerd (%s), reconnecting\n", e->message);
                clock_gettime(CLOCK_MONOTONIC, &rc->since);
                rc->active = true;
                rc->pause_ms = RECONNECT_PAUSE_MIN_MS;
        } else if (elapsed_ms(&rc->since) > RECONNECT_TIMEOUT_MS)
                return false;
        jl_client_free(*cp);
        *cp = NULL;
        usleep(rc->pause_ms * 1000);
        rc->pause_ms = rc->pause_ms * 2 > RECONNECT_PAUSE_MAX_MS ? RECONNECT_PAUSE_MAX_MS : rc->pause_ms * 2;
        return true;
}

/* Wait for the report of jail, forwarding operator signals as kills, and
 * reconnecting when jailerd restarts (jails outlive it, and it keeps their
 * reports).  0 with *report, or -1 after logging. */
static int wait_report(jl_client **cp, const char *jail, bool forward, json_object **report)
{
        reconnect rc = {};
        jl_rpc_error e = {};
        int handled = 0;
        int64_t id;

        for (;;) {
                if (!*cp) {
                        if (client_open(cp, &e) < 0) {
                                /* Not reachable at all: not a restart. */
                                if (!rc.active || !reconnect_pause(&rc, cp, &e)) {
                                        log_rpc_error("wait", &e);
                                        return -1;
                                }
                                continue;
                        }
                        if (forward) {
                                sigset_t empty;
                                sigemptyset(&empty);
                                jl_client_set_sigmask(*cp, &empty);
                        }
                }
                if (jl_client_send(*cp, "wait", jail_params(jail), NULL, 0, &id, &e) < 0)
                        goto lost;
                for (;;) {
                        if (jl_client_recv_reply(*cp, id, -1, report, &e) == 0)
                                return 0;
                        if (e.code == 0 && strcmp(e.reason, JL_REASON_INTERRUPTED) == 0) {
                                while (handled < n_signals) {
                                        handled++;
                                        kill_jail(jail, forward_signal());
                                }
                                continue;
                        }
                        break;
                }
        lost:
                if (!daemon_gone(&e) || !reconnect_pause(&rc, cp, &e)) {
                        log_rpc_error("wait", &e);
                        return -1;
                }
        }
}

static void run_usage(const char *cmd)
{
        bool run = strcmp(cmd, "run") == 0;

        printf("Usage: jailerctl [--socket PATH] [--json] %s [FLAGS] [-- ARGS...]\n", cmd);
        printf("       jailerctl %s --config FILE [FLAGS]\n\n", cmd);
        fputs(run ? "Create a jail whose stdin, stdout and stderr are ours, wait for it,\n"
                    "print its exit report and exit with its status.\n" :
                    "Create a jail and print its id and host pid.  Its output goes to\n"
                    "jailerd's log unless --stdio is given.\n",
              stdout);
        fputs("\n", stdout);
        fputs(jl_cli_usage(), stdout);
        fputs("\n", stdout);
        if (strcmp(cmd, "run") == 0)
                printf("  --report FILE|-         write the JSON exit report to FILE (or stdout)\n"
                       "  --json                  print the JSON exit report on stdout instead of\n"
                       "                          the summary on stderr\n\n"
                       "Without --id, a unique id is made up.  ^C asks jailerd to send SIGINT to\n"
                       "the jail, a second ^C SIGKILL; the report is still awaited.\n"
                       "Exit status: the jail's (or 128+N for signal N); 126 cannot execute,\n"
                       "127 not found, 125 jailerd or jailerctl failed.\n");
        else
                printf("  --stdio                 pass our stdin, stdout and stderr to the jail\n"
                       "  --no-start              prepare the jail up to its program's execve and\n"
                       "                          leave it so: 'jailerctl start ID' runs it\n"
                       "  --prepare-timeout MS    with --no-start: remove the jail if it is not\n"
                       "                          started within MS milliseconds\n");
}

static int cmd_run_or_create(int argc, char **argv, bool run)
{
        struct run_opts o = { .stdio = run, .json = arg.json };
        json_errors = arg.json;
        jailer_error jerr = {};
        jailer_config *c = NULL;
        _cleanup_client_ jl_client *client = NULL;
        _cleanup_json_ json_object *res = NULL, *report = NULL;
        _cleanup_free_ char *config_json = NULL;
        jl_rpc_error e = {};
        char jail[JAILER_ID_MAX + 1];
        int fds[3] = { 0, 1, 2 }, devnull[3] = { -1, -1, -1 };
        pid_t pid;
        int64_t id;
        int r, ret = EXIT_RUN_FAILED;

        if (jl_cli_parse(argc, argv, run_flags, on_run_flag, &o, &c, &jerr) < 0) {
                if (o.help) {
                        run_usage(argv[0]);
                        return 0;
                }
                fprintf(stderr, "jailerctl %s: %s\nTry 'jailerctl %s --help'.\n", argv[0], jerr.message, argv[0]);
                return run ? EXIT_RUN_FAILED : EXIT_USAGE;
        }
        if (o.help) {
                jailer_config_free(c);
                run_usage(argv[0]);
                return 0;
        }
        json_errors = o.json;
        if ((o.no_start || o.prepare_timeout) && run) {
                jailer_config_free(c);
                fprintf(stderr, "jailerctl run: --no-start and --prepare-timeout are for create\n");
                return EXIT_RUN_FAILED;
        }
        if (o.prepare_timeout && !o.no_start) {
                jailer_config_free(c);
                fprintf(stderr, "jailerctl create: --prepare-timeout needs --no-start\n");
                return EXIT_USAGE;
        }

        if (!jailer_config_get_id(c)) {
                uint64_t rnd;
                char idbuf[JAILER_ID_MAX + 1];
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                rnd = ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) getpid() ^ ((uint64_t) ts.tv_sec << 40);
                snprintf(idbuf, sizeof(idbuf), "jailerctl-%016" PRIx64, rnd);
                if (jailer_config_set_id(c, idbuf) < 0) {
                        jailer_config_free(c);
                        fprintf(stderr, "jailerctl: out of memory\n");
                        return EXIT_RUN_FAILED;
                }
        }
        config_json = jailer_config_to_json(c);
        jailer_config_free(c);
        json_object *params = config_json ? json_tokener_parse(config_json) : NULL;
        if (!params) {
                fprintf(stderr, "jailerctl: cannot encode the jail config\n");
                return EXIT_RUN_FAILED;
        }
        if (o.no_start) {
                uint64_t ms = 0;

                json_object_object_add(params, "start", json_object_new_boolean(false));
                if (o.prepare_timeout) {
                        if (jl_parse_u64(o.prepare_timeout, &ms) < 0 || ms == 0 || ms > INT64_MAX) {
                                json_object_put(params);
                                fprintf(stderr, "jailerctl create: --prepare-timeout: \"%s\" is not a number of "
                                                "milliseconds\n",
                                        o.prepare_timeout);
                                return EXIT_USAGE;
                        }
                        json_object_object_add(params, "prepare_timeout_ms", json_object_new_int64((int64_t) ms));
                }
        }

        /* Pass our stdio; a closed one becomes /dev/null rather than
         * failing the whole request. */
        if (o.stdio)
                for (int i = 0; i < 3; i++)
                        if (fcntl(i, F_GETFD) < 0) {
                                devnull[i] = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
                                fds[i] = devnull[i];
                        }

        /* While a jail of ours may exist, SIGINT/SIGTERM/SIGHUP are turned
         * into kill requests.  They stay blocked but while we wait in
         * ppoll(), so none is lost between two checks. */
        sigset_t block, empty;
        sigemptyset(&block);
        sigemptyset(&empty);
        if (run) {
                struct sigaction sa = { .sa_handler = on_signal };
                sigaddset(&block, SIGINT);
                sigaddset(&block, SIGTERM);
                sigaddset(&block, SIGHUP);
                sigprocmask(SIG_BLOCK, &block, NULL);
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
                sigaction(SIGHUP, &sa, NULL);
        }

        if (client_open(&client, &e) < 0) {
                json_object_put(params);
                log_rpc_error(argv[0], &e);
                goto out;
        }
        if (run)
                jl_client_set_sigmask(client, &empty);

        /* "busy": a jail with this id has ended and its supervisor is
         * still removing what it left, a matter of milliseconds.  A script
         * that reuses its ids should not fail for it: ask again, for up to
         * CREATE_BUSY_MS. */
        bool sent = false;
        for (unsigned pause_ms = 1, waited_ms = 0;; waited_ms += pause_ms, pause_ms = pause_ms < 64 ? pause_ms * 2 : 64) {
                /* The request takes a reference: ours stays for another try. */
                r = jl_client_send(client, "create", json_object_get(params), o.stdio ? fds : NULL, o.stdio ? 3 : 0,
                                   &id, &e);
                sent = r >= 0;
                if (!sent)
                        break;
                while ((r = jl_client_recv_reply(client, id, -1, &res, &e)) < 0 && e.code == 0 &&
                       strcmp(e.reason, JL_REASON_INTERRUPTED) == 0)
                        ; /* a signal during create: handled once we know the jail */
                if (r >= 0 || e.code != JL_RPC_BUSY || waited_ms >= CREATE_BUSY_MS || n_signals > 0)
                        break;
                usleep(pause_ms * 1000);
        }
        json_object_put(params);
        for (int i = 0; i < 3; i++)
                if (devnull[i] >= 0)
                        close(devnull[i]);
        if (!sent) {
                log_rpc_error("create", &e);
                goto out;
        }
        if (r < 0) {
                log_rpc_error("create", &e);
                ret = exit_for_refusal(&e, run ? exit_for_spawn_error(&e) : EXIT_REFUSED);
                goto out;
        }
        if (jl_create_result_parse(res, jail, &pid, &e) < 0) {
                log_rpc_error("create", &e);
                goto out;
        }

        if (!run) {
                if (o.json)
                        print_json(stdout, res);
                else {
                        printf("%s %d\n", jail, (int) pid);
                        fflush(stdout);
                }
                ret = 0;
                goto out;
        }

        if (n_signals > 0)
                kill_jail(jail, forward_signal());
        if (wait_report(&client, jail, true, &report) < 0) {
                ret = exit_for_refusal(&last_error, EXIT_RUN_FAILED);
                goto out;
        }

        jailer_report rep;
        if (jl_report_from_json(report, &rep, &e) < 0) {
                log_rpc_error("wait", &e);
                goto out;
        }
        if (o.report && write_report_file(o.report, report) < 0)
                goto out;
        if (o.json)
                print_json(stdout, report);
        else if (!o.report)
                print_report_human(stderr, &rep);
        ret = jailer_report_status(&rep);
out:
        return ret;
}

/* start ID: run a prepared jail's program; prints its id and pid. */
static int cmd_start(int argc, char **argv)
{
        _cleanup_json_ json_object *res = NULL;
        char jail[JAILER_ID_MAX + 1];
        jl_rpc_error e = {};
        pid_t pid;

        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr, "Usage: jailerctl start ID\n");
                return EXIT_USAGE;
        }
        if (call_once("start", jail_params(argv[1]), &res) < 0)
                return last_error.code == JL_RPC_SPAWN_FAILED ? exit_for_spawn_error(&last_error) :
                                                                exit_for_refusal(&last_error, EXIT_REFUSED);
        if (arg.json)
                print_json(stdout, res);
        else if (jl_create_result_parse(res, jail, &pid, &e) < 0) {
                log_rpc_error("start", &e);
                return EXIT_RUN_FAILED;
        } else
                printf("%s %d\n", jail, (int) pid);
        return 0;
}

static int cmd_wait(int argc, char **argv)
{
        _cleanup_client_ jl_client *c = NULL;
        _cleanup_json_ json_object *report = NULL;
        jailer_report rep;
        jl_rpc_error e = {};

        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr, "Usage: jailerctl wait ID\n");
                return EXIT_USAGE;
        }
        if (wait_report(&c, argv[1], false, &report) < 0)
                return exit_for_refusal(&last_error, EXIT_RUN_FAILED);
        if (arg.json) {
                print_json(stdout, report);
        } else {
                if (jl_report_from_json(report, &rep, &e) < 0) {
                        log_rpc_error("wait", &e);
                        return EXIT_RUN_FAILED;
                }
                print_report_human(stdout, &rep);
        }
        if (jl_report_from_json(report, &rep, &e) < 0) {
                log_rpc_error("wait", &e);
                return EXIT_RUN_FAILED;
        }
        return jailer_report_status(&rep);
}

/* ------------------------------------------------------------------ the others */

static json_object *signal_param(const char *sig)
{
        uint64_t n;

        if (jl_parse_u64(sig, &n) == 0 && n <= 64)
                return json_object_new_int((int) n);
        return json_object_new_string(sig);
}

/* kill --all [SIGNAL]: every jail the caller may see that has not exited. */
static int kill_all(const char *sig)
{
        _cleanup_json_ json_object *res = NULL;
        json_object *jails;
        jl_rpc_error e = {};
        unsigned sent = 0, failed = 0;

        if (call_once("list", NULL, &res) < 0)
                return EXIT_REFUSED;
        if (!json_object_object_get_ex(res, "jails", &jails) || !json_object_is_type(jails, json_type_array)) {
                fprintf(stderr, "jailerctl: list: jailerd sent no \"jails\" array\n");
                return EXIT_REFUSED;
        }
        for (size_t i = 0; i < json_object_array_length(jails); i++) {
                _cleanup_json_ json_object *r = NULL;
                jl_jail_info info;
                json_object *p;

                if (jl_jail_info_from_json(json_object_array_get_idx(jails, i), &info, &e) < 0) {
                        log_rpc_error("list", &e);
                        return EXIT_REFUSED;
                }
                if (info.has_report)
                        continue; /* exited; only its report is kept */
                p = jail_params(info.jail);
                if (sig)
                        json_object_object_add(p, "signal", signal_param(sig));
                if (call_once("kill", p, &r) < 0) {
                        /* It may have exited since the list: not a failure. */
                        if (last_error.code != JL_RPC_NOT_RUNNING && last_error.code != JL_RPC_NOT_FOUND)
                                failed++;
                        continue;
                }
                sent++;
        }
        if (!arg.json)
                printf("signalled %u jail%s\n", sent, sent == 1 ? "" : "s");
        else
                printf("{\"signalled\":%u,\"failed\":%u}\n", sent, failed);
        return failed ? EXIT_REFUSED : 0;
}

static int cmd_kill(int argc, char **argv)
{
        _cleanup_json_ json_object *res = NULL;
        json_object *p;

        if (argc >= 2 && strcmp(argv[1], "--all") == 0) {
                if (argc > 3) {
                        fprintf(stderr, "Usage: jailerctl kill --all [SIGNAL]\n");
                        return EXIT_USAGE;
                }
                return kill_all(argc == 3 ? argv[2] : NULL);
        }
        if (argc < 2 || argc > 3 || argv[1][0] == '-') {
                fprintf(stderr, "Usage: jailerctl kill ID [SIGNAL]\n       jailerctl kill --all [SIGNAL]\n");
                return EXIT_USAGE;
        }
        p = jail_params(argv[1]);
        if (argc == 3)
                json_object_object_add(p, "signal", signal_param(argv[2]));
        if (call_once("kill", p, &res) < 0)
                return EXIT_REFUSED;
        if (arg.json)
                print_json(stdout, res);
        return 0;
}

static int cmd_list(int argc, char **argv)
{
        _cleanup_json_ json_object *res = NULL;
        json_object *jails;
        jl_rpc_error e = {};

        if (argc != 1) {
                fprintf(stderr, "Usage: jailerctl list\n");
                return EXIT_USAGE;
        }
        if (call_once("list", NULL, &res) < 0)
                return EXIT_REFUSED;
        if (arg.json) {
                print_json(stdout, res);
                return 0;
        }
        if (!json_object_object_get_ex(res, "jails", &jails) || !json_object_is_type(jails, json_type_array)) {
                fprintf(stderr, "jailerctl: list: jailerd sent no \"jails\" array\n");
                return EXIT_REFUSED;
        }
        printf("%-24s %8s %-8s %-21s %6s\n", "JAIL", "PID", "STATE", "STARTED", "UID");
        for (size_t i = 0; i < json_object_array_length(jails); i++) {
                jl_jail_info info;
                char t[32];

                if (jl_jail_info_from_json(json_object_array_get_idx(jails, i), &info, &e) < 0) {
                        log_rpc_error("list", &e);
                        return EXIT_REFUSED;
                }
                printf("%-24s %8d %-8s %-21s %6u\n", info.jail, (int) info.pid,
                       jl_jail_state_to_string(info.state) ?: "?", fmt_time(info.started_at_us, t),
                       (unsigned) info.uid);
        }
        return 0;
}

/* "12ms" for a figure, "-" where the kernel does not say. */
static const char *fmt_figure_us(int64_t us, char buf[static 32])
{
        if (us < 0)
                return "-";
        return fmt_us((uint64_t) us, buf);
}

/* A running jail's disturbance figures so far, as status shows them. */
static void print_figures_human(const jailer_report *r)
{
        char a[32], b[32], c[32], d[32], e[32], f[32];

        printf("wall:        %s\n", fmt_us(r->wall_time_us, a));
        if (r->cpus[0])
                printf("pinned:      cpus %.*s, others used them %s\n", (int) sizeof(r->cpus) - 1, r->cpus,
                       fmt_figure_us(r->pinned_cpus_other_us, a));
        else
                printf("pinned:      no\n");
        if (r->cpu_periods >= 0)
                printf("throttled:   %" PRIi64 " of %" PRIi64 " cpu periods, %s\n", r->cpu_throttled_periods,
                       r->cpu_periods, fmt_figure_us(r->cpu_throttled_us, a));
        else
                printf("throttled:   - (no cpu bandwidth figures)\n");
        if (r->memory_max_events >= 0)
                printf("memory events: %" PRIi64 " high, %" PRIi64 " max\n", r->memory_high_events,
                       r->memory_max_events);
        else
                printf("memory events: - (not counted on cgroup v1)\n");
        if (r->cpu_pressure_some_us >= 0)
                printf("pressure:    cpu %s/%s, memory %s/%s, io %s/%s (some/full)\n",
                       fmt_figure_us(r->cpu_pressure_some_us, a), fmt_figure_us(r->cpu_pressure_full_us, b),
                       fmt_figure_us(r->memory_pressure_some_us, c), fmt_figure_us(r->memory_pressure_full_us, d),
                       fmt_figure_us(r->io_pressure_some_us, e), fmt_figure_us(r->io_pressure_full_us, f));
        else
                printf("pressure:    - (no per-cgroup pressure figures: cgroup v1, or no PSI)\n");
        if (r->involuntary_switches >= 0)
                printf("involuntary switches: %" PRIi64 " (threads now in the jail)\n", r->involuntary_switches);
}

static int cmd_status(int argc, char **argv)
{
        _cleanup_json_ json_object *res = NULL;
        jl_jail_info i;
        jl_rpc_error e = {};
        char a[32], b[32];

        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr, "Usage: jailerctl status ID\n");
                return EXIT_USAGE;
        }
        if (call_once("status", jail_params(argv[1]), &res) < 0)
                return EXIT_REFUSED;
        if (arg.json) {
                print_json(stdout, res);
                return 0;
        }
        if (jl_jail_info_from_json(res, &i, &e) < 0) {
                log_rpc_error("status", &e);
                return EXIT_REFUSED;
        }
        printf("jail:        %s\n", i.jail);
        printf("pid:         %d\n", (int) i.pid);
        printf("state:       %s\n", jl_jail_state_to_string(i.state) ?: "?");
        printf("started at:  %s\n", fmt_time(i.started_at_us, a));
        printf("uid:         %u\n", (unsigned) i.uid);
        if (i.has_usage) {
                printf("cpu:         %s\n", fmt_us(i.usage.cpu_usage_us, a));
                printf("memory:      %s (peak %s)\n", fmt_bytes(i.usage.memory_current_bytes, a),
                       fmt_bytes(i.usage.memory_peak_bytes, b));
                printf("pids:        %" PRIu64 "\n", i.usage.pids_current);
        }
        if (i.has_figures)
                print_figures_human(&i.figures);
        if (i.has_report) {
                printf("report:      ");
                print_report_human(stdout, &i.report);
        }
        return 0;
}

static void print_event(const char *method, json_object *params)
{
        jl_jail_info i;
        jl_rpc_error e;
        char t[32];

        if (arg.json) {
                _cleanup_json_ json_object *n = jl_notification(method, json_object_get(params));
                if (n)
                        print_json(stdout, n);
                return;
        }
        if (jl_jail_info_from_json(params, &i, &e) < 0)
                printf("%s %s\n", method, json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN));
        else if (i.has_report)
                printf("%s %-8s %-24s pid %d uid %u status %d%s%s\n", fmt_time(i.started_at_us, t), method, i.jail,
                       (int) i.pid, (unsigned) i.uid, jailer_report_status(&i.report),
                       i.report.oom_killed ? " oom" : "", i.report.timed_out ? " timed-out" : "");
        else
                printf("%s %-8s %-24s pid %d uid %u%s\n", fmt_time(i.started_at_us, t), method, i.jail, (int) i.pid,
                       (unsigned) i.uid, i.state == JL_JAIL_LOST ? " lost" : "");
        fflush(stdout);
}

/* subscribe, from *cursor on when we have one.  The reply's cursor is where
 * the daemon stands; the events it replays follow. */
static int subscribe(jl_client **cp, char **cursor, jl_rpc_error *e)
{
        _cleanup_json_ json_object *res = NULL;
        json_object *p = NULL, *v;

        if (*cursor) {
                p = json_object_new_object();
                if (p)
                        json_object_object_add(p, "cursor", json_object_new_string(*cursor));
        }
        if (client_open(cp, e) < 0) {
                json_object_put(p);
                return -1;
        }
        if (jl_client_call(*cp, "subscribe", p, NULL, 0, -1, &res, e) < 0)
                return -1;
        if (!*cursor && json_object_object_get_ex(res, "cursor", &v) && json_object_is_type(v, json_type_string))
                *cursor = strdup(json_object_get_string(v));
        return 0;
}

/* events: every started/exited notification, once each and in order, also
 * across restarts of jailerd (the cursor of the last one printed tells the
 * next jailerd where to go on). */
static int cmd_events(int argc, char **argv)
{
        _cleanup_client_ jl_client *c = NULL;
        _cleanup_free_ char *cursor = NULL;
        reconnect rc = {};
        jl_rpc_error e = {};

        if (argc != 1) {
                fprintf(stderr, "Usage: jailerctl events\n");
                return EXIT_USAGE;
        }
        for (;;) {
                _cleanup_free_ char *method = NULL;
                _cleanup_json_ json_object *params = NULL;
                json_object *v;

                if (!c && subscribe(&c, &cursor, &e) < 0) {
                        if (!(rc.active || c) || !daemon_gone(&e) || !reconnect_pause(&rc, &c, &e)) {
                                log_rpc_error("subscribe", &e);
                                return EXIT_REFUSED;
                        }
                        continue;
                }
                rc.active = false;
                if (jl_client_next_notification(c, -1, &method, &params, &e) < 0) {
                        if (!daemon_gone(&e) || !reconnect_pause(&rc, &c, &e)) {
                                log_rpc_error("events", &e);
                                return EXIT_REFUSED;
                        }
                        continue;
                }
                print_event(method, params);
                if (json_object_object_get_ex(params, "cursor", &v) && json_object_is_type(v, json_type_string)) {
                        free(cursor);
                        cursor = strdup(json_object_get_string(v));
                }
        }
}


/* One request on *cp; when jailerd goes away meanwhile (a restart: jails,
 * their figures and their output outlive it), reconnect for up to
 * RECONNECT_TIMEOUT_MS and ask again.  Takes params.  0 with *res, or -1
 * with *e. */
static int call_through_restarts(jl_client **cp, const char *method, json_object *params, json_object **res,
                                 jl_rpc_error *e)
{
        _cleanup_json_ json_object *p = params;
        reconnect rc = {};

        for (;;) {
                if (!*cp && client_open(cp, e) < 0) {
                        if (!rc.active || !reconnect_pause(&rc, cp, e))
                                return -1;
                        continue;
                }
                if (jl_client_call(*cp, method, json_object_get(p), NULL, 0, -1, res, e) == 0)
                        return 0;
                if (!daemon_gone(e) || !reconnect_pause(&rc, cp, e))
                        return -1;
        }
}

static int logs_call(jl_client **cp, const char *jail, uint64_t offset, bool follow, json_object **res,
                     jl_rpc_error *e)
{
        json_object *p = jail_params(jail);

        if (p) {
                json_object_object_add(p, "offset", json_object_new_int64((int64_t) offset));
                json_object_object_add(p, "follow", json_object_new_boolean(follow));
        }
        return call_through_restarts(cp, "logs", p, res, e);
}

/* logs [-f] ID: the jail's console output, written as it is (raw bytes)
 * to stdout, one chunk per request from where the last one ended. */
static int cmd_logs(int argc, char **argv)
{
        _cleanup_client_ jl_client *c = NULL;
        const char *jail = NULL;
        jl_rpc_error e = {};
        uint64_t offset = 0;
        bool follow = false;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0)
                        follow = true;
                else if (argv[i][0] != '-' && !jail)
                        jail = argv[i];
                else {
                        fprintf(stderr, "Usage: jailerctl logs [-f] ID\n");
                        return EXIT_USAGE;
                }
        }
        if (!jail) {
                fprintf(stderr, "Usage: jailerctl logs [-f] ID\n");
                return EXIT_USAGE;
        }
        for (;;) {
                _cleanup_json_ json_object *res = NULL;
                _cleanup_free_ void *data = NULL;
                uint64_t next;
                size_t len;
                bool end;

                if (logs_call(&c, jail, offset, follow, &res, &e) < 0 ||
                    jl_logs_result_parse(res, &next, &data, &len, &end, &e) < 0) {
                        log_rpc_error("logs", &e);
                        return EXIT_REFUSED;
                }
                if (arg.json)
                        print_json(stdout, res);
                else if (len > 0)
                        (void) fwrite(data, 1, len, stdout);
                if (fflush(stdout) != 0 || ferror(stdout)) {
                        /* `jailerctl logs ID | head` is not an error. */
                        if (errno == EPIPE)
                                return 0;
                        fprintf(stderr, "jailerctl: logs: stdout: %m\n");
                        return EXIT_REFUSED;
                }
                if (next != offset + len) {
                        fprintf(stderr, "jailerctl: logs: jailerd sent a chunk that does not follow the last\n");
                        return EXIT_REFUSED;
                }
                offset = next;
                if (end || (!follow && len == 0))
                        return 0;
        }
}

static int cmd_version(int argc, char **argv)
{
        _cleanup_json_ json_object *res = NULL;
        json_object *v;

        if (argc != 1) {
                fprintf(stderr, "Usage: jailerctl version\n");
                return EXIT_USAGE;
        }
        if (call_once("version", NULL, &res) < 0)
                return EXIT_REFUSED;
        if (arg.json) {
                print_json(stdout, res);
                return 0;
        }
        printf("jailerctl %s (protocol %d)\n", JAILER_VERSION, JL_PROTOCOL_VERSION);
        printf("jailerd   %s", json_object_object_get_ex(res, "version", &v) ? json_object_get_string(v) : "?");
        if (json_object_object_get_ex(res, "protocol", &v))
                printf(" (protocol %s", json_object_get_string(v));
        if (json_object_object_get_ex(res, "cgroup", &v) && v)
                printf(", cgroup %s", json_object_get_string(v));
        printf(")\n");
        return 0;
}

/* ------------------------------------------------------------------ stats */

#define STATS_INTERVAL_MS_DEFAULT 1000
#define STATS_INTERVAL_MS_MIN 100
#define STATS_INTERVAL_MS_MAX 3600000

/* One status of the jail, parsed; -1 after logging. */
static int stats_sample(jl_client **cp, const char *jail, jl_jail_info *i)
{
        _cleanup_json_ json_object *res = NULL;
        jl_rpc_error e = {};

        if (call_through_restarts(cp, "status", jail_params(jail), &res, &e) < 0 ||
            jl_jail_info_from_json(res, i, &e) < 0) {
                log_rpc_error("stats", &e);
                return -1;
        }
        if (arg.json)
                print_json(stdout, res);
        return 0;
}

/* 100 * part / whole into buf, "" when it cannot be said. */
static void fmt_percent(int64_t part, int64_t whole, char buf[static 32])
{
        if (part < 0 || whole <= 0)
                buf[0] = 0;
        else
                snprintf(buf, 32, "%.1f%%", 100.0 * (double) part / (double) whole);
}

static const char *fmt_percent_or_dash(const char *buf)
{
        return buf[0] ? buf : "-";
}

/* A table cell: "1.5MiB", "20.0ms" (no spaces in cells). */
static const char *compact(const char *s, char buf[static 32])
{
        size_t n = 0;

        for (; *s && n < 31; s++)
                if (*s != ' ')
                        buf[n++] = *s;
        buf[n] = 0;
        return buf;
}

static const char *cell_us(int64_t us, char buf[static 32])
{
        char t[32];

        return compact(fmt_figure_us(us, t), buf);
}

static void stats_header(void)
{
        printf("%-20s %-8s %7s %9s %9s %5s %7s %9s %8s %9s %9s %9s %9s\n", "JAIL", "STATE", "CPU%", "MEM", "PEAK",
               "PIDS", "THR%", "THR-TIME", "NIVCSW", "PIN-OTHER", "PSI-CPU", "PSI-MEM", "PSI-IO");
}

/* One row: the running jail's figures now, its CPU% and THR% (throttled
 * periods of all periods) since prev (the start of the jail without one);
 * an ended jail's from its report. */
static void stats_row(const jl_jail_info *now, const jl_jail_info *prev)
{
        const jailer_report *r = now->has_figures ? &now->figures : now->has_report ? &now->report : NULL;
        const jailer_report *p = prev && prev->has_figures ? &prev->figures : NULL;
        char cpu[32], mem[32], peak[32], pids[32], thr[32], thrt[32], niv[32], other[32], pc[32], pm[32], pi[32];
        char t[32];

        if (!r || !r->measured) {
                printf("%-20s %-8s %7s %9s %9s %5s %7s %9s %8s %9s %9s %9s %9s\n", now->jail,
                       jl_jail_state_to_string(now->state) ?: "?", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
                       "-");
                return;
        }
        /* Over the interval when there is one, else since the start. */
        if (p && r->wall_time_us > p->wall_time_us && r->cpu_usage_us >= p->cpu_usage_us)
                fmt_percent((int64_t) (r->cpu_usage_us - p->cpu_usage_us),
                            (int64_t) (r->wall_time_us - p->wall_time_us), cpu);
        else
                fmt_percent((int64_t) r->cpu_usage_us, (int64_t) r->wall_time_us, cpu);
        if (p && p->cpu_throttled_periods >= 0 && r->cpu_periods > p->cpu_periods)
                fmt_percent(r->cpu_throttled_periods - p->cpu_throttled_periods, r->cpu_periods - p->cpu_periods, thr);
        else
                fmt_percent(r->cpu_throttled_periods, r->cpu_periods, thr);
        snprintf(mem, sizeof(mem), "-");
        snprintf(pids, sizeof(pids), "-");
        if (now->has_usage) {
                compact(fmt_bytes(now->usage.memory_current_bytes, t), mem);
                snprintf(pids, sizeof(pids), "%" PRIu64, now->usage.pids_current);
        }
        compact(fmt_bytes(r->memory_peak_bytes, t), peak);
        snprintf(niv, sizeof(niv), "-");
        if (r->involuntary_switches >= 0)
                snprintf(niv, sizeof(niv), "%" PRIi64, r->involuntary_switches);
        printf("%-20s %-8s %7s %9s %9s %5s %7s %9s %8s %9s %9s %9s %9s\n", now->jail,
               jl_jail_state_to_string(now->state) ?: "?", fmt_percent_or_dash(cpu), mem,
               peak, pids, fmt_percent_or_dash(thr),
               cell_us(r->cpu_throttled_us, thrt), niv, r->cpus[0] ? cell_us(r->pinned_cpus_other_us, other) : "-",
               cell_us(r->cpu_pressure_some_us, pc), cell_us(r->memory_pressure_some_us, pm),
               cell_us(r->io_pressure_some_us, pi));
}

static int stats_usage(void)
{
        fprintf(stderr, "Usage: jailerctl stats [-f] [--interval MS] ID\n");
        return EXIT_USAGE;
}

static bool stats_ended(const jl_jail_info *i)
{
        return i->state == JL_JAIL_EXITED || i->state == JL_JAIL_LOST;
}

/* stats [-f] [--interval MS] ID: the live figures of a jail, as one row
 * (CPU% over one interval), or -f a row every interval until it ends. */
static int cmd_stats(int argc, char **argv)
{
        _cleanup_client_ jl_client *c = NULL;
        const char *jail = NULL;
        unsigned long interval = STATS_INTERVAL_MS_DEFAULT;
        bool follow = false;
        jl_jail_info prev, now;
        char *end;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0)
                        follow = true;
                else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
                        errno = 0;
                        interval = strtoul(argv[++i], &end, 10);
                        if (errno || end == argv[i] || *end || argv[i][0] == '-' ||
                            interval < STATS_INTERVAL_MS_MIN || interval > STATS_INTERVAL_MS_MAX) {
                                fprintf(stderr, "jailerctl: stats: --interval \"%s\": want milliseconds from %d to %d\n",
                                        argv[i], STATS_INTERVAL_MS_MIN, STATS_INTERVAL_MS_MAX);
                                return EXIT_USAGE;
                        }
                } else if (argv[i][0] != '-' && !jail)
                        jail = argv[i];
                else
                        return stats_usage();
        }
        if (!jail)
                return stats_usage();
        if (stats_sample(&c, jail, &prev) < 0)
                return EXIT_REFUSED;
        if (!arg.json)
                stats_header();
        if (stats_ended(&prev)) {
                if (!arg.json)
                        stats_row(&prev, NULL);
                return 0;
        }
        for (;;) {
                usleep((useconds_t) interval * 1000);
                if (stats_sample(&c, jail, &now) < 0)
                        return EXIT_REFUSED;
                if (!arg.json)
                        stats_row(&now, stats_ended(&now) ? NULL : &prev);
                if (fflush(stdout) != 0 || ferror(stdout))
                        return errno == EPIPE ? 0 : EXIT_REFUSED;
                if (!follow || stats_ended(&now))
                        return 0;
                prev = now;
        }
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: jailerctl [--socket PATH] [--json] COMMAND [ARGS...]\n\n"
                "Talk to jailerd, the jail daemon.\n\n"
                "Commands:\n"
                "  run [JAIL FLAGS] [-- ARGS]     run a jail on our stdio, wait, exit with its status\n"
                "  create [JAIL FLAGS] [-- ARGS]  create a jail, print its id and pid\n"
                "  start ID                       start a jail made with create --no-start\n"
                "  wait ID                        wait for a jail's exit report\n"
                "  kill ID [SIGNAL]               send a signal (default SIGTERM)\n"
                "  kill --all [SIGNAL]            signal every running jail you may see\n"
                "  list                           list jails\n"
                "  status ID                      show a jail's state and usage\n"
                "  stats [-f] ID                  print a jail's live figures (-f: every second)\n"
                "  events                         print jails starting and exiting\n"
                "  logs [-f] ID                   print a jail's output (-f: follow it)\n"
                "  version                        show versions\n\n"
                "Options:\n"
                "  --socket PATH   jailerd's socket (default $%s, else %s)\n"
                "  --json          machine-readable output\n"
                "  --help          this help; 'jailerctl COMMAND --help' tells more of one\n"
                "                  ('jailerctl run --help' lists the jail flags)\n\n"
                "Exit status: run and wait exit with the jail's; 125 jailerd or jailerctl\n"
                "failed; 77 jailerd refused (policy or owner); 75 jailerd cannot take it now.\n",
                JL_PROTOCOL_SOCKET_ENV, JL_PROTOCOL_DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*fn)(int argc, char **argv);
                const char *usage;
                const char *help;
        } commands[] = {
                { "start", cmd_start, "ID",
                  "Start a jail that create prepared but did not start: its program is exec'd\n"
                  "at once (everything else was done at create).  Prints its id and host pid.\n"
                  "Only its creator (or root) may start it.  Exit 1 when jailerd refused (no\n"
                  "such jail, not a prepared one), 77 for another user's jail, 126/127 when the\n"
                  "program could not be exec'd or found, 125 for other failures." },
                { "wait", cmd_wait, "ID",
                  "Wait for a jail's exit report, print it, and exit with the jail's status\n"
                  "(its exit code, or 128+N when signal N killed it).  Reconnects while jailerd\n"
                  "restarts.  Exit 125 when jailerd failed, 77 when it refused (another user's\n"
                  "jail).  With --json the report is printed as JSON." },
                { "kill", cmd_kill, "ID [SIGNAL]\n       jailerctl kill --all [SIGNAL]",
                  "Send SIGNAL (a name such as KILL or SIGKILL, or a number; default TERM) to a\n"
                  "jail's program.  --all signals every jail you may see that is still running\n"
                  "(root: every jail of this jailerd) and says how many.  A jail that does not\n"
                  "end on TERM is killed by jailerd after its grace period." },
                { "list", cmd_list, "",
                  "List the jails you may see (root: all), running and exited ones whose report\n"
                  "is kept: id, pid, state, start time, uid." },
                { "status", cmd_status, "ID",
                  "Show a jail's state, pid, uid, start time, live cpu, memory and pids usage,\n"
                  "its disturbance figures so far (pinning, throttling, memory events,\n"
                  "pressure, involuntary switches), and its exit report once it has exited." },
                { "stats", cmd_stats, "[-f|--follow] [--interval MS] ID",
                  "Print a jail's live figures as a table row: CPU% over one interval (default\n"
                  "1000 ms), memory now and peak, pids, THR% (throttled of all cpu periods in\n"
                  "the interval) and throttled time, involuntary switches, busy time of its\n"
                  "pinned cpus that was not its own, and pressure stall totals (some); \"-\"\n"
                  "where the kernel does not say (cgroup v1: no pressure).  -f, --follow: a row\n"
                  "every interval until the jail ends, then its row from the exit report.\n"
                  "With --json, each status reply as a line of JSON.  Reconnects while jailerd\n"
                  "restarts.  Exit 1 when jailerd refused (another user's jail, no such jail)." },
                { "events", cmd_events, "",
                  "Print jails starting and exiting, one line each, as they happen (only your\n"
                  "own jails unless you are root); --json prints the notifications as JSON." },
                { "logs", cmd_logs, "[-f|--follow] ID",
                  "Print what a jail created without stdio wrote to its stdout and stderr, byte\n"
                  "for byte as it came (jailerd keeps the first 1 MiB in the jail's console.log;\n"
                  "the journal, JAIL_ID=ID, has every line).  -f, --follow: keep printing while\n"
                  "the jail runs, and end when it has exited and all of its output was printed.\n"
                  "Works for an exited jail while jailerd keeps its report; reconnects while\n"
                  "jailerd restarts.  With --json, each chunk is printed as jailerd's reply\n"
                  "(base64 \"data\").  Exit 1 when jailerd refused (another user's jail, no such\n"
                  "jail)." },
                { "version", cmd_version, "",
                  "Show the versions of jailerctl and jailerd, the protocol and the cgroup mode." },
        };
        int i;

        signal(SIGPIPE, SIG_IGN);

        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--json") == 0)
                        arg.json = true;
                else if (strcmp(a, "--socket") == 0 && i + 1 < argc)
                        arg.socket = argv[++i];
                else if (strncmp(a, "--socket=", 9) == 0)
                        arg.socket = a + 9;
                else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(a, "--version") == 0) {
                        printf("jailerctl %s (protocol %d)\n", JAILER_VERSION, JL_PROTOCOL_VERSION);
                        return 0;
                } else {
                        fprintf(stderr, "jailerctl: unknown option %s\n", a);
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (i >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }

        cmd_name = argv[i];
        int cargc = argc - i;
        char **cargv = argv + i;

        if (strcmp(cmd_name, "run") == 0)
                return cmd_run_or_create(cargc, cargv, true);
        if (strcmp(cmd_name, "create") == 0)
                return cmd_run_or_create(cargc, cargv, false);

        for (size_t c = 0; c < ELEMENTSOF(commands); c++) {
                if (strcmp(commands[c].name, cmd_name) != 0)
                        continue;
                /* The other commands also take --json after the command name. */
                int k = 1;
                for (int j = 1; j < cargc; j++) {
                        if (strcmp(cargv[j], "--json") == 0)
                                arg.json = true;
                        else if (strcmp(cargv[j], "--help") == 0 || strcmp(cargv[j], "-h") == 0) {
                                printf("Usage: jailerctl [--socket PATH] [--json] %s%s%s\n\n%s\n", cmd_name,
                                       commands[c].usage[0] ? " " : "", commands[c].usage, commands[c].help);
                                return 0;
                        } else
                                cargv[k++] = cargv[j];
                }
                return commands[c].fn(k, cargv);
        }

        fprintf(stderr, "jailerctl: unknown command \"%s\"\n", cmd_name);
        usage(stderr);
        return EXIT_USAGE;
}

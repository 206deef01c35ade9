/* SPDX-License-Identifier: MIT */
/*
 * jailerd — runs jails for clients of a Unix socket (protocol/PROTOCOL.md).
 *
 * One sd-event loop, no threads.  Each jail is held by its own supervisor
 * process (jailer-supervisor), so that jails and their exit reports survive
 * a restart or a crash of jailerd; see jails.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "events.h"
#include "fsutil.h"
#include "launcher.h"
#include "log.h"
#include "policy.h"

#ifndef JAILER_LIBEXECDIR
#error "JAILER_LIBEXECDIR must be defined by the build system"
#endif

#define DEFAULT_STATE_DIR "/run/jailer"
#define DEFAULT_JAILS_DIR "/var/lib/jailer/jails"
#define DEFAULT_GROUP "jailer"
#define DEFAULT_RETENTION_SEC 300
#define DEFAULT_KILL_GRACE_SEC 10
#define DEFAULT_MAX_JAILS 4096
#define DEFAULT_MAX_CLIENTS 4096
/* What one uid other than root may hold: a member cannot fill the table,
 * the fd table or the memory that the others need (PROTOCOL.md, "Limits"). */
#define DEFAULT_MAX_CLIENTS_PER_UID 128
#define DEFAULT_ROOT_RESERVE 16
#define DEFAULT_MAX_PENDING_PER_UID 1024
#define DEFAULT_MAX_BUFFER_PER_UID_MIB 16
#define DEFAULT_MAX_ID_LENGTH 128
#define DEFAULT_IDLE_TIMEOUT_SEC 60
#define DEFAULT_RUN_SIZE (16u << 20)
#define SUPERVISOR_NAME "jailer-supervisor"

static void help(void)
{
        printf("Usage: jailerd [OPTIONS]\n"
               "\n"
               "Run jails for clients of a Unix socket (JSON-RPC 2.0, one object per line;\n"
               "see PROTOCOL.md).  Must run as root.  Each jail is held by its own\n"
               "jailer-supervisor process: jails keep running, and their exit reports are\n"
               "kept, when jailerd stops, restarts or crashes.\n"
               "\n"
               "Options:\n"
               "  --socket PATH         listen on PATH (default: STATE_DIR/jailerd.sock, i.e.\n"
               "                        " JL_PROTOCOL_DEFAULT_SOCKET "); ignored when the service\n"
               "                        manager passes a socket (socket activation)\n"
               "  --state-dir DIR       per-jail state: DIR/jails/ID/ (default " DEFAULT_STATE_DIR ")\n"
               "  --jails-dir DIR       where jail roots go when a create has no jail_root,\n"
               "                        one directory per jail, removed when it ends\n"
               "                        (default " DEFAULT_JAILS_DIR ")\n"
               "  --cgroup-parent REL   cgroup parent of the jails, relative to the hierarchy\n"
               "                        root.  Default: under systemd, jailerd-jails.service's\n"
               "                        delegated cgroup + /jails; else, when our own cgroup\n"
               "                        is delegated, OWN/jails with jailerd moving itself to\n"
               "                        OWN/supervisor; else \"jailer\"\n"
               "  --retention SEC       how long an exited jail's report is kept (default %d)\n"
               "  --kill-grace SEC      after a kill with another signal, SIGKILL a jail still\n"
               "                        running after SEC seconds; 0 never (default %d)\n"
               "  --max-jails N         running jails at most, 0 = no limit (default %d)\n"
               "  --max-clients N       connected clients at most, 0 = no limit (default %d)\n"
               "  --root-reserve N      connections root may still open when the client table is\n"
               "                        full (default %d)\n"
               "  --max-clients-per-uid N\n"
               "                        connections of one uid other than root at most, 0 = no\n"
               "                        limit (default %d)\n"
               "  --max-pending-per-uid N\n"
               "                        requests of one uid (not root) held until something\n"
               "                        happens (wait, subscribe, create, kill, status) at\n"
               "                        most, 0 = no limit (default %d)\n"
               "  --max-buffer-per-uid BYTES\n"
               "                        unfinished request lines and unread replies of one uid\n"
               "                        (not root) at most, over all its connections; past it\n"
               "                        the connection is closed; K, M, G suffixes; 0 = no limit\n"
               "                        (default %dM)\n"
               "  --max-id-length N     longest string request id, in bytes (default %d)\n"
               "  --idle-timeout SEC    close a connection that has nothing pending and sent\n"
               "                        nothing for SEC seconds; 0 never (default %d)\n"
               "  --run-size BYTES      the tmpfs on run/ of a root jailerd makes: at most\n"
               "                        BYTES (K, M, G suffixes) and one inode per KiB; 0 = a\n"
               "                        plain directory on the jails dir's disk, unbounded\n"
               "                        (default 16M)\n"
               "  --stop-jails-on-exit  on SIGTERM, stop every jail and wait for it (default:\n"
               "                        leave jails running)\n"
               "  --supervisor PATH     the supervisor executable (default\n"
               "                        " JAILER_LIBEXECDIR "/" SUPERVISOR_NAME ", else the one\n"
               "                        beside jailerd's own executable)\n"
               "  --group NAME          the socket's group: without a policy file, its members\n"
               "                        may create jails and see and kill their own (default\n"
               "                        \"" DEFAULT_GROUP "\"; a passed socket's group wins when not root)\n"
               "  --config PATH         the policy: who may connect and what they may ask for\n"
               "                        (default " JD_POLICY_DEFAULT_PATH "; when that does not\n"
               "                        exist, the built-in default).  See docs/policy.md\n"
               "  --check-config        read and check the policy file, say what is wrong, exit\n"
               "  -v, --verbose         debug messages\n"
               "  -h, --help            this text\n"
               "      --version         the version\n"
               "\n"
               "Signals: SIGTERM, SIGINT stop (socket closed, clients told, jails left\n"
               "running unless --stop-jails-on-exit); SIGHUP reads the policy file again\n"
               "(running jails are not touched; a bad file keeps the policy in force).\n"
               "Logs go to journald (fields JAIL_ID=, JAIL_PID=, PEER_UID=, MESSAGE_ID=...)\n"
               "when its socket exists, else to stderr.\n",
               DEFAULT_RETENTION_SEC, DEFAULT_KILL_GRACE_SEC, DEFAULT_MAX_JAILS, DEFAULT_MAX_CLIENTS,
               DEFAULT_ROOT_RESERVE, DEFAULT_MAX_CLIENTS_PER_UID, DEFAULT_MAX_PENDING_PER_UID,
               DEFAULT_MAX_BUFFER_PER_UID_MIB, DEFAULT_MAX_ID_LENGTH, DEFAULT_IDLE_TIMEOUT_SEC);
}

static int parse_seconds(const char *s, uint64_t *usec)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e9)
                return -EINVAL;
        *usec = (uint64_t) llround(v * 1e6);
        return 0;
}

static int parse_unsigned(const char *s, unsigned *out)
{
        uint64_t v;

        if (jailer_parse_u64(s, &v) < 0 || v > UINT_MAX)
                return -EINVAL;
        *out = (unsigned) v;
        return 0;
}

/* A byte count: digits with an optional K, M or G (powers of 1024). */
static int parse_bytes(const char *s, uint64_t *out)
{
        _cleanup_free_ char *digits = strdup(s);
        size_t n = digits ? strlen(digits) : 0;
        unsigned shift = 0;
        uint64_t v;

        if (!digits)
                return -ENOMEM;
        if (n > 1 && strchr("KMG", digits[n - 1])) {
                shift = digits[n - 1] == 'K' ? 10 : digits[n - 1] == 'M' ? 20 : 30;
                digits[n - 1] = '\0';
        }
        if (jailer_parse_u64(digits, &v) < 0 || v > (UINT64_MAX >> shift))
                return -EINVAL;
        *out = v << shift;
        return 0;
}

static char *default_supervisor(void)
{
        char self[PATH_MAX];
        ssize_t n;
        char *slash, *p;

        if (access(JAILER_LIBEXECDIR "/" SUPERVISOR_NAME, X_OK) == 0)
                return strdup(JAILER_LIBEXECDIR "/" SUPERVISOR_NAME);
        /* Not installed: the one built beside us (a build tree). */
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                self[n] = '\0';
                slash = strrchr(self, '/');
                if (slash) {
                        *slash = '\0';
                        if (asprintf(&p, "%s/" SUPERVISOR_NAME, self) >= 0) {
                                if (access(p, X_OK) == 0)
                                        return p;
                                free(p);
                        }
                }
        }
        return strdup(JAILER_LIBEXECDIR "/" SUPERVISOR_NAME);
}

static const char *long_name(const struct option *opts, int val)
{
        for (; opts->name; opts++)
                if (opts->val == val)
                        return opts->name;
        return "?";
}

enum {
        OPT_SOCKET = 0x100, OPT_STATE_DIR, OPT_JAILS_DIR, OPT_CGROUP_PARENT, OPT_RETENTION,
        OPT_KILL_GRACE, OPT_MAX_JAILS, OPT_MAX_CLIENTS, OPT_RUN_SIZE, OPT_STOP_JAILS, OPT_SUPERVISOR, OPT_GROUP,
        OPT_CONFIG, OPT_CHECK_CONFIG, OPT_VERSION, OPT_ROOT_RESERVE, OPT_MAX_CLIENTS_PER_UID,
        OPT_MAX_PENDING_PER_UID, OPT_MAX_BUFFER_PER_UID, OPT_MAX_ID_LENGTH, OPT_IDLE_TIMEOUT,
};

static const struct option options[] = {
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "jails-dir", required_argument, NULL, OPT_JAILS_DIR },
        { "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
        { "retention", required_argument, NULL, OPT_RETENTION },
        { "kill-grace", required_argument, NULL, OPT_KILL_GRACE },
        { "max-jails", required_argument, NULL, OPT_MAX_JAILS },
        { "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
        { "run-size", required_argument, NULL, OPT_RUN_SIZE },
        { "stop-jails-on-exit", no_argument, NULL, OPT_STOP_JAILS },
        { "supervisor", required_argument, NULL, OPT_SUPERVISOR },
        { "group", required_argument, NULL, OPT_GROUP },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
        { "root-reserve", required_argument, NULL, OPT_ROOT_RESERVE },
        { "max-clients-per-uid", required_argument, NULL, OPT_MAX_CLIENTS_PER_UID },
        { "max-pending-per-uid", required_argument, NULL, OPT_MAX_PENDING_PER_UID },
        { "max-buffer-per-uid", required_argument, NULL, OPT_MAX_BUFFER_PER_UID },
        { "max-id-length", required_argument, NULL, OPT_MAX_ID_LENGTH },
        { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        {}
};

/* The options that set a field of jd_options from their argument. */
static const struct {
        int opt;
        enum { STRING, SECONDS_US, SECONDS_MS, COUNT, BYTES } kind;
        size_t offset;
        const char *what;               /* in "--x: VALUE is not ..." */
} fields[] = {
        { OPT_SOCKET, STRING, offsetof(jd_options, socket_path), NULL },
        { OPT_STATE_DIR, STRING, offsetof(jd_options, state_dir), NULL },
        { OPT_JAILS_DIR, STRING, offsetof(jd_options, jails_dir), NULL },
        { OPT_CGROUP_PARENT, STRING, offsetof(jd_options, cgroup_parent), NULL },
        { OPT_SUPERVISOR, STRING, offsetof(jd_options, supervisor), NULL },
        { OPT_GROUP, STRING, offsetof(jd_options, group), NULL },
        { OPT_RETENTION, SECONDS_US, offsetof(jd_options, retention_us), "a number of seconds" },
        { OPT_IDLE_TIMEOUT, SECONDS_US, offsetof(jd_options, idle_timeout_us), "a number of seconds" },
        { OPT_KILL_GRACE, SECONDS_MS, offsetof(jd_options, kill_grace_ms), "a number of seconds" },
        { OPT_MAX_JAILS, COUNT, offsetof(jd_options, max_jails), "a count" },
        { OPT_MAX_CLIENTS, COUNT, offsetof(jd_options, max_clients), "a count" },
        { OPT_ROOT_RESERVE, COUNT, offsetof(jd_options, root_reserve), "a count" },
        { OPT_MAX_CLIENTS_PER_UID, COUNT, offsetof(jd_options, max_clients_per_uid), "a count" },
        { OPT_MAX_PENDING_PER_UID, COUNT, offsetof(jd_options, max_pending_per_uid), "a count" },
        { OPT_MAX_ID_LENGTH, COUNT, offsetof(jd_options, max_id_length), "a count" },
        { OPT_MAX_BUFFER_PER_UID, BYTES, offsetof(jd_options, max_buffer_per_uid), "a size in bytes" },
};

/* One field option: 0, or -EINVAL after saying which and why. */
static int set_field(jd_options *o, size_t i, const char *arg)
{
        void *p = (char *) o + fields[i].offset;
        uint64_t us;
        int r = 0;

        switch (fields[i].kind) {
        case STRING:
                *(const char **) p = arg;
                break;
        case SECONDS_US:
                r = parse_seconds(arg, p);
                break;
        case SECONDS_MS:
                r = parse_seconds(arg, &us);
                if (r >= 0)
                        *(uint64_t *) p = (us + 999) / 1000;
                break;
        case COUNT:
                r = parse_unsigned(arg, p);
                break;
        case BYTES:
                r = parse_bytes(arg, p);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0) {
                fprintf(stderr, "jailerd: --%s: %s is not %s\n", long_name(options, fields[i].opt), arg,
                        fields[i].what);
                return -EINVAL;
        }
        return 0;
}

/* One option from the command line. */
static int apply_option(int c, const char *arg, jd_options *o, bool *check_config)
{
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].opt == c)
                        return set_field(o, i, arg);
        switch (c) {
        case OPT_RUN_SIZE:
                if (jailer_parse_size(arg, &o->run_size) < 0 || (o->run_size && o->run_size < 4096)) {
                        fprintf(stderr, "jailerd: --run-size: %s is not 0 or a size of at least 4K\n", arg);
                        return -EINVAL;
                }
                return 0;
        case OPT_STOP_JAILS:
                o->stop_jails_on_exit = true;
                return 0;
        case OPT_CONFIG:
                o->config_path = arg;
                o->config_given = true;
                return 0;
        case OPT_CHECK_CONFIG:
                *check_config = true;
                return 0;
        case 'v':
                o->verbose = true;
                return 0;
        case 'h':
                help();
                exit(0);
        case OPT_VERSION:
                printf("jailerd %s\n", jailer_version());
                exit(0);
        default:
                return -EINVAL;
        }
}

/* Absolute paths, and the socket and supervisor they imply. */
static int finish_options(jd_options *o, char **socket_alloc, char **supervisor_alloc)
{
        for (const char **p = (const char *[]) { o->state_dir, o->jails_dir, o->config_path, NULL }; *p; p++)
                if ((*p)[0] != '/') {
                        fprintf(stderr, "jailerd: %s: directories and the policy file must be absolute paths\n",
                                *p);
                        return -EINVAL;
                }
        if (!o->socket_path) {
                if (asprintf(socket_alloc, "%s/jailerd.sock", o->state_dir) < 0)
                        return -ENOMEM;
                o->socket_path = *socket_alloc;
        }
        if (!o->supervisor) {
                *supervisor_alloc = default_supervisor();
                if (!*supervisor_alloc)
                        return -ENOMEM;
                o->supervisor = *supervisor_alloc;
        }
        return 0;
}

static int parse_args(int argc, char **argv, jd_options *o, char **socket_alloc, char **supervisor_alloc,
                      bool *check_config)
{
        int c;

        *o = (jd_options) {
                .state_dir = DEFAULT_STATE_DIR,
                .jails_dir = DEFAULT_JAILS_DIR,
                .group = DEFAULT_GROUP,
                .config_path = JD_POLICY_DEFAULT_PATH,
                .retention_us = DEFAULT_RETENTION_SEC * 1000000ull,
                .kill_grace_ms = DEFAULT_KILL_GRACE_SEC * 1000ull,
                .max_jails = DEFAULT_MAX_JAILS,
                .max_clients = DEFAULT_MAX_CLIENTS,
                .root_reserve = DEFAULT_ROOT_RESERVE,
                .max_clients_per_uid = DEFAULT_MAX_CLIENTS_PER_UID,
                .max_pending_per_uid = DEFAULT_MAX_PENDING_PER_UID,
                .max_buffer_per_uid = DEFAULT_MAX_BUFFER_PER_UID_MIB * 1024ull * 1024,
                .max_id_length = DEFAULT_MAX_ID_LENGTH,
                .idle_timeout_us = DEFAULT_IDLE_TIMEOUT_SEC * 1000000ull,
                .run_size = DEFAULT_RUN_SIZE,
        };
        while ((c = getopt_long(argc, argv, "vh", options, NULL)) >= 0)
                if (apply_option(c, optarg, o, check_config) < 0)
                        return -EINVAL;
        if (optind < argc) {
                fprintf(stderr, "jailerd: unexpected argument %s\n", argv[optind]);
                return -EINVAL;
        }
        return finish_options(o, socket_alloc, supervisor_alloc);
}

/* ------------------------------------------------------------------ status, shutdown */

void jd_update_status(jd_daemon *d)
{
        if (d->status_final)
                return; /* freeing the table at exit is not news */
        (void) sd_notifyf(false, "STATUS=%s%u jails running, %u starting, %u exited (kept); %u clients",
                          d->shutting_down ? "Stopping: " : "", d->n_running, d->n_starting, d->n_exited,
                          d->n_clients);
}

static void finish_shutdown(jd_daemon *d)
{
        jl_rpc_error e;

        d->shutdown_timer = sd_event_source_disable_unref(d->shutdown_timer);
        /* Pending creates and waits are told, then every client goes. */
        jl_rpc_error_set(&e, JL_RPC_SHUTTING_DOWN, NULL, NULL, "jailerd is stopping");
        for (jd_jail *j = d->jails; j; j = j->next) {
                if (j->create) {
                        jd_pending *p = TAKE_PTR(j->create);

                        if (p->client) {
                                jd_client_reply_error(p->client, p->id, &e);
                                p->client->n_pending--;
                        }
                        jd_pending_free(p);
                }
                while (j->waiters) {
                        jd_pending *p = j->waiters;

                        j->waiters = p->next;
                        if (p->client) {
                                jd_client_reply_error(p->client, p->id, &e);
                                p->client->n_pending--;
                        }
                        jd_pending_free(p);
                }
        }
        jd_clients_shutdown(d);
        /* What `systemctl status` keeps showing after the stop. */
        if (d->n_running + d->n_starting > 0)
                (void) sd_notifyf(false, "STATUS=Stopped: %u jails left running under their supervisors",
                                  d->n_running + d->n_starting);
        else
                (void) sd_notify(false, "STATUS=Stopped: no jail running");
        d->status_final = true;
        sd_event_exit(d->event, 0);
}

void jd_maybe_finish_shutdown(jd_daemon *d)
{
        if (!d->shutting_down || !d->opt.stop_jails_on_exit || !d->shutdown_timer)
                return;
        if (d->n_running + d->n_starting == 0)
                finish_shutdown(d);
}

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        jd_daemon *d = userdata;

        log_warning("%u jails did not stop in time; leaving them to their supervisors",
                    d->n_running + d->n_starting);
        finish_shutdown(d);
        return 0;
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        jd_daemon *d = userdata;
        jd_entry e = JD_ENTRY_INIT;
        int r;

        if (d->shutting_down) {
                log_notice("second stop signal: exiting now");
                finish_shutdown(d);
                return 0;
        }
        d->shutting_down = true;
        (void) sd_notify(false, "STOPPING=1");
        jd_update_status(d);
        jd_server_stop_listening(d);

        jd_entry_add(&e, "JAIL_COUNT=%u", d->n_running + d->n_starting);
        jd_entry_submit(&e, JD_EV_DAEMON, LOG_INFO, "jailerd stopping (%s): %u jails %s",
                        jailer_signal_name((int) si->ssi_signo) ?: "signal", d->n_running + d->n_starting,
                        d->opt.stop_jails_on_exit ? "to stop" : "left running");

        if (d->opt.stop_jails_on_exit && d->n_running + d->n_starting > 0) {
                uint64_t limit = (d->opt.kill_grace_ms ? d->opt.kill_grace_ms * 1000 : 10 * 1000 * 1000) +
                                 5 * 1000 * 1000;

                jd_jails_stop_all(d);
                r = sd_event_add_time_relative(d->event, &d->shutdown_timer, CLOCK_MONOTONIC, limit, 100 * 1000,
                                               on_shutdown_timeout, d);
                if (r >= 0)
                        return 0;
        }
        finish_shutdown(d);
        return 0;
}

/* The policy file, or the built-in default when the default path does not
 * exist.  A file named with --config must exist.  0, or -errno with the
 * reason in err. */
static int policy_read(const jd_options *o, jd_policy **out, char *err, size_t err_size)
{
        int r = jd_policy_load(o->config_path, out, err, err_size);

        if (r == -ENOENT && !o->config_given) {
                *out = jd_policy_new_default();
                return *out ? 0 : -ENOMEM;
        }
        if (r == -ENOENT)
                snprintf(err, err_size, "%s: %s", o->config_path, strerror(ENOENT));
        return r;
}

static void log_policy(const jd_daemon *d, const char *what)
{
        jd_entry e = JD_ENTRY_INIT;
        char summary[512];

        jd_policy_describe(d->policy, summary, sizeof summary);
        jd_entry_add(&e, "JAILER_POLICY=%s", jd_policy_source(d->policy));
        jd_entry_submit(&e, JD_EV_DAEMON, LOG_INFO, "%s policy %s: %s", what, jd_policy_source(d->policy), summary);
}

/* SIGHUP (systemctl reload): read the policy again.  Running jails keep
 * what they were given; a bad file changes nothing. */
static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        jd_daemon *d = userdata;
        jd_policy *p = NULL;
        char err[1024];
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) jailer_now_monotonic_us());
        r = policy_read(&d->opt, &p, err, sizeof err);
        if (r < 0) {
                jd_entry e = JD_ENTRY_INIT;

                jd_entry_add(&e, "JAILER_POLICY=%s", d->opt.config_path);
                jd_entry_add(&e, "JAILER_ERROR=%s", err);
                jd_entry_submit(&e, JD_EV_DAEMON, LOG_ERR, "Policy not reloaded, the one in force stays, %s: %s",
                                jd_policy_source(d->policy), err);
        } else {
                jd_policy_free(d->policy);
                d->policy = p;
                log_policy(d, "Reloaded");
        }
        (void) sd_notify(false, "READY=1");
        jd_update_status(d);
        return 0;
}

/* ------------------------------------------------------------------ start-up */

static int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                if (!s)
                        break;
                *s = '/';
        }
        return 0;
}

static int setup_dirs(jd_daemon *d)
{
        struct stat st;
        int r;

        r = mkdir_p(d->opt.state_dir, 0755);
        if (r < 0) {
                log_error("cannot create %s: %s", d->opt.state_dir, strerror(-r));
                return r;
        }
        d->state_dirfd = open(d->opt.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->state_dirfd < 0) {
                r = -errno;
                log_error("cannot open %s: %s", d->opt.state_dir, strerror(-r));
                return r;
        }
        /* Two daemons on one state directory would clean up each other's
         * jails. */
        if (flock(d->state_dirfd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                log_error("another jailerd uses %s", d->opt.state_dir);
                return r;
        }
        if (asprintf(&d->jails_state_dir, "%s/jails", d->opt.state_dir) < 0)
                return -ENOMEM;
        if (mkdir(d->jails_state_dir, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                log_error("cannot create %s: %s", d->jails_state_dir, strerror(-r));
                return r;
        }
        if (stat(d->jails_state_dir, &st) == 0 && (st.st_mode & 077))
                (void) chmod(d->jails_state_dir, 0700);
        d->jails_dirfd = openat(d->state_dirfd, "jails", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d->jails_dirfd < 0) {
                r = -errno;
                log_error("cannot open %s: %s", d->jails_state_dir, strerror(-r));
                return r;
        }

        /* The jails' uids must get through to their roots (they are not
         * root on the host, not even in their user namespace). */
        r = mkdir_p(d->opt.jails_dir, 0711);
        if (r < 0) {
                log_error("cannot create %s: %s", d->opt.jails_dir, strerror(-r));
                return r;
        }
        return 0;
}

static void raise_nofile(void)
{
        struct rlimit rl;

        /* One fd per client, a few per jail. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* What the jail table and the server tell the rest (daemon.h, jd_hooks). */
static const jd_hooks hooks = {
        .send = jd_client_send,
        .request_done = jd_client_pending_done,
        .hold = jd_client_ref,
        .release = jd_client_unref,
        .notify = jd_broadcast,
        .changed = jd_update_status,
        .settled = jd_maybe_finish_shutdown,
};

/* Supervisors are forked by a launcher started now, a fresh image of the
 * supervisor program: none of our memory, no exec per jail.  Without one
 * they are exec'd, as before it. */
static void start_launcher(jd_daemon *d)
{
        int r = jd_launcher_new(d->event, d->opt.supervisor, &d->launcher);

        if (r < 0)
                log_warning("no supervisor launcher (%s --launcher: %s): supervisors are exec'd", d->opt.supervisor,
                            strerror(-r));
}

/* The policy, read before anything else: a bad one stops the start (better
 * no daemon than one that lets clients do what its operator meant to
 * forbid).  1 when done (--check-config, or a refusal: *status says how),
 * 0 to go on. */
static int read_policy_first(jd_daemon *d, bool check_config, int *status)
{
        char err[1024], summary[512];

        if (policy_read(&d->opt, &d->policy, err, sizeof err) < 0) {
                if (!check_config)
                        log_error("bad policy, not starting: %s", err);
                if (jd_log_to_journal() || check_config)
                        fprintf(stderr, "jailerd: %s\n", err);
                *status = 1;
                return 1;
        }
        if (check_config) {
                jd_policy_describe(d->policy, summary, sizeof summary);
                printf("%s: ok: %s\n", jd_policy_source(d->policy), summary);
                *status = 0;
                return 1;
        }
        if (geteuid() != 0) {
                log_error("jailerd must run as root");
                *status = 1;
                return 1;
        }
        if (access(d->opt.supervisor, X_OK) < 0) {
                log_error("supervisor %s: %m", d->opt.supervisor);
                *status = 1;
                return 1;
        }
        return 0;
}

/* The process: umask, file limit, allocation, the signals the loop takes. */
static void setup_process(void)
{
        sigset_t mask;

        umask(0022);
        raise_nofile();
        /* Buffers of a client's unfinished line can be a megabyte: keep
         * them mmap()ed, so that they go back to the system when freed.
         * Left to itself glibc raises the threshold after the first such
         * free and keeps the next ones on the heap, where a client that has
         * gone would leave the daemon its RSS. */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        (void) signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
}

/* Directories, the event loop and its signals, cgroups, the event numbers,
 * the jails a previous jailerd left, the socket, the launcher. */
static int start_daemon(jd_daemon *d)
{
        jd_entry e = JD_ENTRY_INIT;
        int r;

        r = setup_dirs(d);
        if (r < 0)
                return r;
        r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        (void) sd_event_set_watchdog(d->event, true);
        if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_stop, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGINT, on_stop, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGHUP, on_hup, d)) < 0) {
                log_error("cannot watch signals: %s", strerror(-r));
                return r;
        }
        r = jd_cgroups_setup(d);
        if (r < 0) {
                log_error("cgroup set-up failed: %s", strerror(-r));
                return r;
        }
        d->hooks = &hooks;
        r = jd_events_init(d);
        if (r < 0) {
                log_error("%s/events: %s", d->opt.state_dir, strerror(-r));
                return r;
        }
        r = jd_jails_recover(d);
        if (r < 0)
                log_warning("cannot read %s: %s", d->jails_state_dir, strerror(-r));
        r = jd_server_listen(d);
        if (r < 0)
                return r;
        start_launcher(d);

        jd_entry_add(&e, "JAILER_SOCKET=%s", d->listen_passed ? "(passed by the service manager)" : d->opt.socket_path);
        jd_entry_add(&e, "JAILER_CGROUP_PARENT=%s", d->cgroup_parent);
        jd_entry_add(&e, "JAIL_COUNT=%u", d->n_running);
        jd_entry_submit(&e, JD_EV_DAEMON, LOG_INFO, "jailerd %s ready on %s: cgroup %s parent %s, %u jails running",
                        jailer_version(), d->listen_passed ? "a passed socket" : d->opt.socket_path,
                        d->cgroup_version ?: "(none)", d->cgroup_parent, d->n_running);
        log_policy(d, "Using");
        (void) sd_notify(false, "READY=1");
        jd_update_status(d);
        return 0;
}

static void stop_daemon(jd_daemon *d)
{
        jd_clients_shutdown(d);
        jd_server_stop_listening(d);
        /* The launcher sees the end of its channel and exits; the
         * supervisors it started are not its children any more then, but
         * they run on (and --stop-jails-on-exit has stopped them already). */
        d->launcher = jd_launcher_free(d->launcher);
        jd_jails_free(d);
        /* Only our own shutdown kills can be left: nobody to answer. */
        d->controls = NULL;
        sd_event_unref(d->event);
        free(d->jails_state_dir);
        free(d->cgroup_parent);
        free(d->cgroup_parent_abs);
        free(d->bound_path);
        jd_policy_free(d->policy);
        if (d->jails_dirfd >= 0)
                close(d->jails_dirfd);
        if (d->state_dirfd >= 0)
                close(d->state_dirfd);
}

int main(int argc, char **argv)
{
        _cleanup_free_ char *socket_alloc = NULL, *supervisor_alloc = NULL;
        jd_daemon d = { .listen_fd = -1, .state_dirfd = -1, .jails_dirfd = -1 };
        bool check_config = false;
        int r, status;

        if (parse_args(argc, argv, &d.opt, &socket_alloc, &supervisor_alloc, &check_config) < 0)
                return 2;
        jd_log_open("jailerd");
        if (d.opt.verbose)
                jd_log_set_max_priority(LOG_DEBUG);
        if (read_policy_first(&d, check_config, &status)) {
                jd_policy_free(d.policy);
                return status;
        }
        setup_process();
        r = start_daemon(&d);
        if (r >= 0) {
                r = sd_event_loop(d.event);
                if (r < 0)
                        log_error("event loop: %s", strerror(-r));
        }
        stop_daemon(&d);
        if (r >= 0)
                log_info("jailerd stopped");
        return r < 0 ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * jailer-supervisor — holds one jail for jailerd, and outlives it.
 *
 * jailerd has one started per jail with the jail's state directory, in
 * which it has written config.json: forked by the supervisor launcher
 * (launcher.c, this same program run with --launcher, which has no daemon
 * memory to pass on), or exec'd by jailerd when there is no launcher.
 * Either way it gets the same arguments and fds, and nothing else.  The
 * supervisor
 *
 *   1. takes an exclusive flock on the state directory for its whole life
 *      (a restarted jailerd tells a live supervisor from a dead one by it)
 *      and writes state.json ("starting");
 *   2. starts the jail with jailer_spawn(): the client's stdio when jailerd
 *      passed it, else /dev/null and pipes whose lines go to journald
 *      (JAIL_ID=) and to console.log;
 *   3. writes state.json ("running"), opens control.sock, and tells jailerd
 *      "started" (or the error, after removing everything it made);
 *   4. runs an event loop: the jail's pidfd, its output, the control socket
 *      (kill with escalation to SIGKILL, status), the wall-clock deadline;
 *   5. when the jail's program ends: jailer_jail_wait() (kill what is left,
 *      collect usage, remove the cgroup), report.json written atomically,
 *      the jail directory removed, exit.
 *
 * jailerd watches the supervisor's pidfd; the exit status of the jail is
 * in report.json whether or not jailerd was there to see it.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "evloop.h"
#include "fsutil.h"
#include "jailer.h"
#include "journal.h"
#include "launcher.h"
#include "macro.h"
#include "log.h"
#include "state.h"
#include "svctl.h"

#define OUTPUT_LINE_MAX 8192            /* longer lines are split */
#define DEFAULT_GRACE_MS 10000          /* SIGTERM to the supervisor itself */

typedef struct supervisor supervisor;

typedef struct stream {
        supervisor *sv;
        const char *name;
        int prio;
        int fd;
        jd_source *src;
        size_t len;
        char *buf;              /* OUTPUT_LINE_MAX bytes */
} stream;

struct supervisor {
        jd_loop *event;
        const char *state_dir;
        int dirfd;
        int notify_fd;
        bool own_stdio;
        jailer_config *config;
        jailer_jail *jail;
        jd_state state;

        int console_fd;
        uint64_t console_written;
        bool console_full;
        stream out, err;

        int control_fd;
        jd_source *control_src;
        jd_source *pidfd_src;
        jd_source *deadline_src;
        jd_source *prepare_src;   /* a prepared jail not started in time is removed */
        uint64_t prepare_timeout_ms;
        /* Prepared: the jail's start channel, readable once jailerd has
         * released it; then how the start went (0: not yet, 1: it runs,
         * -1: start_err), for the start request that follows. */
        jd_source *release_src;
        int start_result;
        jailer_error start_err;
        jd_source *grace_src;
        bool ended;
};

/* ------------------------------------------------------------------ output */

/* console.log keeps the jail's output byte for byte as it came (stdout and
 * stderr in the order they were read), for `jailerctl logs`, up to
 * JD_CONSOLE_LOG_MAX bytes; then a note, and the rest goes only to the
 * journal. */
static void console_append(supervisor *sv, const void *data, size_t len)
{
        static const char note[] = "\n[console.log reached its size limit; further output only in the journal]\n";
        const char *p = data;
        size_t room;

        if (sv->console_fd < 0 || sv->console_full)
                return;
        room = sv->console_written >= JD_CONSOLE_LOG_MAX ? 0 : (size_t) (JD_CONSOLE_LOG_MAX - sv->console_written);
        if (len > room) {
                console_append(sv, data, room);
                sv->console_full = true;
                (void) !write(sv->console_fd, note, sizeof note - 1);
                return;
        }
        while (len > 0) {
                ssize_t n = write(sv->console_fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        sv->console_full = true; /* disk full or the like: stop trying */
                        return;
                }
                sv->console_written += (uint64_t) n;
                p += n;
                len -= (size_t) n;
        }
}

static void emit_line(stream *s, const char *line, size_t len)
{
        supervisor *sv = s->sv;
        jd_entry e = JD_ENTRY_INIT;

        if (len > 0 && line[len - 1] == '\r')
                len--;

        if (jd_log_to_journal()) {
                jd_entry_add(&e, "JAIL_ID=%s", sv->state.id);
                jd_entry_add(&e, "JAIL_PID=%d", (int) sv->state.jail_pid);
                jd_entry_add(&e, "JAIL_STREAM=%s", s->name);
                if (jd_entry_journal(&e, JD_EV_OUTPUT, s->prio, "%.*s", (int) len, line) >= 0)
                        return;
        }
        fprintf(stderr, "jail %s %s: %.*s\n", sv->state.id, s->name, (int) len, line);
}

/* Read what is there; emit complete lines (and full buffers).  Returns 0
 * at end of stream, 1 when more may come. */
static int stream_read(stream *s)
{
        for (;;) {
                ssize_t n = read(s->fd, s->buf + s->len, OUTPUT_LINE_MAX - s->len);
                size_t start = 0;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 1 : 0;
                }
                if (n == 0)
                        return 0;
                console_append(s->sv, s->buf + s->len, (size_t) n);
                s->len += (size_t) n;
                for (size_t i = 0; i < s->len; i++)
                        if (s->buf[i] == '\n') {
                                emit_line(s, s->buf + start, i - start);
                                start = i + 1;
                        }
                if (start == 0 && s->len == OUTPUT_LINE_MAX) {
                        emit_line(s, s->buf, s->len);
                        start = s->len;
                }
                memmove(s->buf, s->buf + start, s->len - start);
                s->len -= start;
        }
}

static void stream_close(stream *s)
{
        if (s->len > 0) {
                emit_line(s, s->buf, s->len);
                s->len = 0;
        }
        s->src = jd_source_free(s->src);
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
}

static int on_stream(jd_source *src, int fd, uint32_t revents, void *userdata)
{
        stream *s = userdata;

        if (stream_read(s) == 0)
                stream_close(s);
        return 0;
}

/* ------------------------------------------------------------------ kill, deadline */

static int on_grace(jd_source *src, uint64_t usec, void *userdata)
{
        supervisor *sv = userdata;
        jd_entry e = JD_ENTRY_INIT;

        if (sv->ended)
                return 0;
        jd_entry_add(&e, "JAIL_ID=%s", sv->state.id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) sv->state.jail_pid);
        jd_entry_add(&e, "JAIL_SIGNAL=SIGKILL");
        jd_entry_submit(&e, JD_EV_KILL, LOG_NOTICE,
                        "Jail %s still runs after the grace period, sending SIGKILL", sv->state.id);
        (void) jailer_jail_kill(sv->jail, SIGKILL);
        return 0;
}

static int jail_signal(supervisor *sv, int sig, uint64_t grace_ms)
{
        int r;

        if (sv->ended)
                return -ESRCH;
        if (jailer_jail_kill(sv->jail, sig) < 0)
                return errno == ESRCH ? -ESRCH : -errno;
        if (sig == SIGKILL || grace_ms == 0)
                return 0;

        /* PID 1 of a pid namespace ignores every signal it has no handler
         * for, SIGTERM included: without this a "kill" could do nothing. */
        if (sv->grace_src) {
                r = jd_source_set_time(sv->grace_src, jailer_now_monotonic_us() + grace_ms * 1000);
        } else
                r = jd_loop_add_timer(sv->event, &sv->grace_src, jailer_now_monotonic_us() + grace_ms * 1000, on_grace, sv);
        return r < 0 ? r : 0;
}

static int on_deadline(jd_source *src, uint64_t usec, void *userdata)
{
        supervisor *sv = userdata;
        jd_entry e = JD_ENTRY_INIT;

        if (sv->ended)
                return 0;
        jd_entry_add(&e, "JAIL_ID=%s", sv->state.id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) sv->state.jail_pid);
        jd_entry_add(&e, "JAIL_SIGNAL=SIGKILL");
        jd_entry_add(&e, "JAIL_TIMED_OUT=1");
        jd_entry_submit(&e, JD_EV_KILL, LOG_NOTICE, "Jail %s reached its time limit, killing it", sv->state.id);
        (void) jailer_jail_expire(sv->jail);
        return 0;
}

static int on_term(jd_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        supervisor *sv = userdata;

        /* Someone stops the supervisor itself: stop the jail the polite
         * way; the report is written when it has ended. */
        log_notice("jail %s: supervisor got %s, stopping the jail", sv->state.id,
                   jailer_signal_name((int) si->ssi_signo) ?: "a signal");
        (void) jail_signal(sv, SIGTERM, DEFAULT_GRACE_MS);
        return 0;
}

/* ------------------------------------------------------------------ control socket */

static json_object *reply_error(const char *reason, const char *fmt, ...) _printf_(2, 3);
static json_object *reply_error(const char *reason, const char *fmt, ...)
{
        json_object *o = json_object_new_object();
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        json_object_object_add(o, "ok", json_object_new_boolean(false));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        json_object_object_add(o, "message", json_object_new_string(msg));
        return o;
}

static void watch_deadline(supervisor *sv)
{
        uint64_t deadline = jailer_jail_deadline_us(sv->jail);

        if (deadline > 0)
                (void) jd_loop_add_timer(sv->event, &sv->deadline_src, deadline, on_deadline, sv);
}

/* Has the prepared jail said something (released: "about to execve"; or
 * ended: EOF) that we have not read yet? */
static bool start_channel_has_word(const supervisor *sv)
{
        return poll(&(struct pollfd) { .fd = jailer_jail_start_fd(sv->jail), .events = POLLIN }, 1, 0) > 0;
}

static int on_prepare_timeout(jd_source *src, uint64_t usec, void *userdata)
{
        supervisor *sv = userdata;
        jd_entry e = JD_ENTRY_INIT;

        if (sv->ended || !jailer_jail_prepared(sv->jail))
                return 0;
        /* Released in the meantime (its start channel has word), not yet
         * seen: it is being started, not left waiting. */
        if (start_channel_has_word(sv))
                return 0;
        jd_entry_add(&e, "JAIL_ID=%s", sv->state.id);
        jd_entry_add(&e, "JAIL_PID=%d", (int) sv->state.jail_pid);
        jd_entry_add(&e, "JAIL_SIGNAL=SIGKILL");
        jd_entry_submit(&e, JD_EV_KILL, LOG_NOTICE, "Jail %s was not started within %llu ms, removing it",
                        sv->state.id, (unsigned long long) sv->prepare_timeout_ms);
        (void) jailer_jail_kill(sv->jail, SIGKILL);
        return 0;
}

static void notify_started(supervisor *sv);

/* The prepared jail's start: released by us (release) or by jailerd, its
 * program exec'd, and it runs from now; or it failed (start_err). */
static int finish_start(supervisor *sv, bool release)
{
        int r;

        sv->release_src = jd_source_free(sv->release_src);
        sv->prepare_src = jd_source_free(sv->prepare_src);
        r = release ? jailer_jail_start(sv->jail, &sv->start_err) : jailer_jail_finish_start(sv->jail, &sv->start_err);
        sv->start_result = r < 0 ? -1 : 1;
        if (r < 0)
                return -1;      /* the program is gone; its end is reported as any other */
        sv->state.phase = JD_PHASE_RUNNING;
        sv->state.started_at_us = jd_now_realtime_us();
        r = jd_state_write(sv->dirfd, &sv->state);
        if (r < 0)
                log_error("jail %s: could not write %s: %s", sv->state.id, JD_STATE_FILE, strerror(-r));
        watch_deadline(sv);
        /* On the start channel, so that jailerd hears it before the end. */
        notify_started(sv);
        return 0;
}

/* jailerd released the jail through its own handle (its start request
 * follows), or the jail ended while it waited. */
static int on_released(jd_source *src, int fd, uint32_t revents, void *userdata)
{
        supervisor *sv = userdata;

        if (!sv->ended && jailer_jail_prepared(sv->jail))
                (void) finish_start(sv, false);
        else
                sv->release_src = jd_source_free(sv->release_src);
        return 0;
}

/* start: the prepared jail's program is exec'd now; released: jailerd
 * released it already, and asks how that went. */
static json_object *control_start(supervisor *sv, bool released)
{
        json_object *o;

        if (sv->start_result == 0) {
                if (sv->ended || !jailer_jail_prepared(sv->jail))
                        return reply_error("not_prepared", "jail %s has ended", sv->state.id);
                /* Released already by a jailerd that did not live to ask:
                 * its start channel has word. */
                if (!released &&
                    start_channel_has_word(sv))
                        released = true;
                (void) finish_start(sv, !released);
        } else if (!released)
                return reply_error("not_prepared", "jail %s was started already", sv->state.id);

        if (sv->start_result < 0 && sv->start_err.code == ESRCH)
                return reply_error("not_prepared", "jail %s ended before it was started", sv->state.id);
        if (sv->start_result < 0) {
                /* The program is gone; its end is reported as any other. */
                o = reply_error("spawn_failed", "%s", sv->start_err.message);
                json_object_object_add(o, "step", json_object_new_string(jailer_step_name(sv->start_err.step)));
                json_object_object_add(o, "code", json_object_new_int(sv->start_err.code));
                json_object_object_add(o, "field", json_object_new_string(sv->start_err.field));
                return o;
        }
        o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        json_object_object_add(o, "pid", json_object_new_int(sv->state.jail_pid));
        json_object_object_add(o, "started_at_us", json_object_new_uint64(sv->state.started_at_us));
        return o;
}

/* Live figures: the usage, and the exit report so far ("figures"), in
 * the report's JSON form. */
static json_object *control_status(supervisor *sv)
{
        jailer_usage u = { 0 };
        jailer_report rep;
        jailer_error err = { 0 };
        _cleanup_free_ char *figures = NULL;
        json_object *o, *uo;

        if (sv->ended)
                return reply_error("not_running", "jail %s is not running", sv->state.id);
        if (jailer_jail_usage(sv->jail, &u, &err) < 0 || jailer_jail_snapshot(sv->jail, &rep, &err) < 0)
                return reply_error("internal", "%s", err.message);
        /* A report says how the program ended; this one has not: its
         * ending members are dropped where the figures are shown
         * (jl_jail_info_to_json()), but must read back meanwhile. */
        rep.exit_code = 0;
        figures = jailer_report_to_json(&rep);
        o = json_object_new_object();
        uo = json_object_new_object();
        json_object_object_add(uo, "cpu_usage_us", json_object_new_uint64(u.cpu_usage_us));
        json_object_object_add(uo, "memory_current_bytes", json_object_new_uint64(u.memory_current_bytes));
        json_object_object_add(uo, "memory_peak_bytes",
                               u.memory_peak_bytes == JAILER_UNKNOWN ? NULL :
                                                                       json_object_new_uint64(u.memory_peak_bytes));
        json_object_object_add(uo, "pids_current", json_object_new_uint64(u.pids_current));
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        json_object_object_add(o, "pid", json_object_new_int(sv->state.jail_pid));
        json_object_object_add(o, "usage", uo);
        if (figures)
                json_object_object_add(o, "figures", json_tokener_parse(figures));
        return o;
}

static json_object *handle_control(supervisor *sv, json_object *req)
{
        json_object *op, *m, *o;
        const char *ops;

        if (!json_object_is_type(req, json_type_object) || !json_object_object_get_ex(req, "op", &op) ||
            !json_object_is_type(op, json_type_string))
                return reply_error("invalid", "request without \"op\"");
        ops = json_object_get_string(op);

        if (strcmp(ops, "kill") == 0) {
                int64_t sig = SIGTERM, grace = 0;
                int r;

                if (json_object_object_get_ex(req, "signal", &m))
                        sig = json_object_get_int64(m);
                if (json_object_object_get_ex(req, "grace_ms", &m))
                        grace = json_object_get_int64(m);
                if (sig < 1 || sig > 64 || grace < 0)
                        return reply_error("invalid", "bad signal or grace_ms");
                r = jail_signal(sv, (int) sig, (uint64_t) grace);
                if (r == -ESRCH)
                        return reply_error("not_running", "jail %s is not running", sv->state.id);
                if (r < 0)
                        return reply_error("internal", "kill: %s", strerror(-r));
                {
                        jd_entry e = JD_ENTRY_INIT;

                        jd_entry_add(&e, "JAIL_ID=%s", sv->state.id);
                        jd_entry_add(&e, "JAIL_PID=%d", (int) sv->state.jail_pid);
                        jd_entry_add(&e, "JAIL_SIGNAL=%s", jailer_signal_name((int) sig) ?: "?");
                        jd_entry_submit(&e, JD_EV_KILL, LOG_INFO, "Sent %s to jail %s",
                                        jailer_signal_name((int) sig) ?: "a signal", sv->state.id);
                }
                o = json_object_new_object();
                json_object_object_add(o, "ok", json_object_new_boolean(true));
                return o;
        }

        if (strcmp(ops, "status") == 0)
                return control_status(sv);

        if (strcmp(ops, "start") == 0)
                return control_start(sv, json_object_object_get_ex(req, "released", &m) &&
                                                 json_object_get_boolean(m));

        return reply_error("invalid", "unknown op \"%s\"", ops);
}

static int on_control_conn(jd_source *src, int fd, uint32_t revents, void *userdata)
{
        supervisor *sv = userdata;
        char buf[JD_SVCTL_MAX_MSG + 1];
        json_object *req, *reply;
        const char *txt;
        ssize_t n;

        n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                jd_source_free(src);  /* owns and closes fd */
                return 0;
        }
        buf[n] = '\0';
        req = json_tokener_parse(buf);
        reply = req ? handle_control(sv, req) : reply_error("invalid", "not JSON");
        json_object_put(req);
        txt = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
        (void) send(fd, txt, strlen(txt), MSG_DONTWAIT | MSG_NOSIGNAL);
        json_object_put(reply);
        return 0;
}

static int on_control_accept(jd_source *src, int fd, uint32_t revents, void *userdata)
{
        supervisor *sv = userdata;
        jd_source *cs = NULL;
        struct ucred cred;
        socklen_t len = sizeof cred;
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        /* The directory is root's and 0700; check anyway. */
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                close(cfd);
                return 0;
        }
        /* The loop's, not ours: it goes when the peer hangs up, or with
         * the loop. */
        if (jd_loop_add_io(sv->event, &cs, cfd, EPOLLIN, on_control_conn, sv) < 0) {
                close(cfd);
                return 0;
        }
        jd_source_set_fd_own(cs, true);
        return 0;
}

static int control_open(supervisor *sv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        int r;

        /* Through our directory fd: the state directory's path may be
         * longer than sun_path allows. */
        r = snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", sv->dirfd, JD_CONTROL_SOCKET);
        if (r < 0 || (size_t) r >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlinkat(sv->dirfd, JD_CONTROL_SOCKET, 0);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        if (fchmodat(sv->dirfd, JD_CONTROL_SOCKET, 0600, 0) < 0)
                return -errno;
        if (listen(fd, 16) < 0)
                return -errno;
        r = jd_loop_add_io(sv->event, &sv->control_src, fd, EPOLLIN, on_control_accept, sv);
        if (r < 0)
                return r;
        sv->control_fd = TAKE_FD(fd);
        return 0;
}

/* ------------------------------------------------------------------ start and end */

/* One message on the start channel; the last one closes it.  After
 * "started" (or "prepared") it stays open for "exited": the report is
 * written, and the tear-down follows. */
static void notify_daemon_fd(supervisor *sv, json_object *msg, bool last, int fd)
{
        const char *txt;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } c = { 0 };
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (sv->notify_fd < 0)
                return;
        txt = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        iov = (struct iovec) { .iov_base = (void *) txt, .iov_len = strlen(txt) };
        if (fd >= 0) {
                mh.msg_control = c.buf;
                mh.msg_controllen = sizeof c.buf;
                c.h.cmsg_level = SOL_SOCKET;
                c.h.cmsg_type = SCM_RIGHTS;
                c.h.cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(&c.h), &fd, sizeof fd);
        }
        /* The daemon may be gone (restarted): then nobody is waiting. */
        (void) sendmsg(sv->notify_fd, &mh, MSG_NOSIGNAL);
        if (last) {
                close(sv->notify_fd);
                sv->notify_fd = -1;
        }
}

static void notify_daemon(supervisor *sv, json_object *msg, bool last)
{
        notify_daemon_fd(sv, msg, last, -1);
}

static void notify_error(supervisor *sv, const jailer_error *err)
{
        json_object *o = json_object_new_object(), *e = json_object_new_object();

        json_object_object_add(e, "step", json_object_new_string(jailer_step_name(err->step)));
        json_object_object_add(e, "code", json_object_new_int(err->code));
        json_object_object_add(e, "field", json_object_new_string(err->field));
        json_object_object_add(e, "message", json_object_new_string(err->message));
        json_object_object_add(o, "error", e);
        notify_daemon(sv, o, true);
        json_object_put(o);
}

/* "started", or "prepared" for a jail that waits for start. */
static void notify_started(supervisor *sv)
{
        json_object *o = json_object_new_object(), *s = json_object_new_object();

        json_object_object_add(s, "pid", json_object_new_int(sv->state.jail_pid));
        json_object_object_add(s, "started_at_us", json_object_new_uint64(sv->state.started_at_us));
        if (sv->state.cgroup_path)
                json_object_object_add(s, "cgroup", json_object_new_string(sv->state.cgroup_path));
        json_object_object_add(o, sv->state.phase == JD_PHASE_PREPARED ? "prepared" : "started", s);
        if (sv->state.phase == JD_PHASE_PREPARED) {
                /* jailerd's handle to release the jail with at start (it
                 * holds it for as long as the jail waits). */
                _cleanup_close_ int fd = jailer_jail_release_fd(sv->jail);

                notify_daemon_fd(sv, o, false, fd);
        } else
                notify_daemon(sv, o, false);
        json_object_put(o);
}

/* The report is in report.json: jailerd may answer before the tear-down. */
static void notify_exited(supervisor *sv)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "exited", json_object_new_boolean(true));
        notify_daemon(sv, o, true);
        json_object_put(o);
}

static void remove_jail_dir(supervisor *sv)
{
        int r;

        if (!sv->state.jail_dir)
                return;
        r = jd_jail_dir_remove(sv->state.jail_dir);
        if (r < 0)
                log_warning("jail %s: could not remove %s: %s", sv->state.id, sv->state.jail_dir, strerror(-r));
}

static int on_jail_exit(jd_source *src, int fd, uint32_t revents, void *userdata)
{
        supervisor *sv = userdata;
        jailer_report rep = { 0 };
        jailer_error err = { 0 };
        _cleanup_free_ char *json = NULL;
        int r;

        /* Released and run already (its start channel has word), not yet
         * seen: it started, before it ended. */
        if (sv->start_result == 0 && jailer_jail_prepared(sv->jail) &&
            start_channel_has_word(sv))
                (void) finish_start(sv, false);
        sv->ended = true;
        sv->pidfd_src = jd_source_free(sv->pidfd_src);
        sv->deadline_src = jd_source_free(sv->deadline_src);
        sv->grace_src = jd_source_free(sv->grace_src);
        sv->prepare_src = jd_source_free(sv->prepare_src);
        sv->release_src = jd_source_free(sv->release_src);

        /* Reaps PID 1, kills whatever is left in the cgroup, collects the
         * figures: the jail's processes are gone, its cgroup is empty. */
        r = jailer_jail_collect(sv->jail, &rep, &err);
        if (r < 0)
                log_error("jail %s: %s", sv->state.id, err.message);
        if (!rep.id[0])
                snprintf(rep.id, sizeof rep.id, "%s", sv->state.id);
        if (rep.pid == 0)
                rep.pid = sv->state.jail_pid;

        /* Every writer of the pipes is gone now: read them to the end. */
        if (sv->out.fd >= 0) {
                (void) stream_read(&sv->out);
                stream_close(&sv->out);
        }
        if (sv->err.fd >= 0) {
                (void) stream_read(&sv->err);
                stream_close(&sv->err);
        }

        /* What the client can see goes before the report: the cgroup, the
         * mountpoints made in its jail root, its taps.  A client that reuses
         * its jail root or its network namespace once it has the report
         * finds them as they were. */
        jailer_jail_free(TAKE_PTR(sv->jail));

        json = jailer_report_to_json(&rep);
        if (!json)
                r = -ENOMEM;
        else
                r = jd_write_atomic_at(sv->dirfd, JD_REPORT_FILE, json, strlen(json), 0600);
        if (r < 0)
                log_error("jail %s: could not write %s: %s", sv->state.id, JD_REPORT_FILE, strerror(-r));
        else
                notify_exited(sv);

        /* Then what is ours alone, which may take long: a jail root jailerd
         * made, with whatever the jail left in its run/, removed as its
         * owner.  jailerd keeps the id until we are gone. */
        remove_jail_dir(sv);
        jd_loop_exit(sv->event, r < 0 ? 1 : 0);
        return 0;
}

static int stdio_setup(supervisor *sv, jailer_spawn_opts *opts, int pipe_out[2], int pipe_err[2])
{
        if (sv->own_stdio) {
                opts->stdin_fd = JD_SUPERVISOR_STDIO_FD;
                opts->stdout_fd = JD_SUPERVISOR_STDIO_FD + 1;
                opts->stderr_fd = JD_SUPERVISOR_STDIO_FD + 2;
                return 0;
        }
        opts->stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (opts->stdin_fd < 0)
                return -errno;
        if (pipe2(pipe_out, O_CLOEXEC) < 0 || pipe2(pipe_err, O_CLOEXEC) < 0)
                return -errno;
        opts->stdout_fd = pipe_out[1];
        opts->stderr_fd = pipe_err[1];
        sv->console_fd = openat(sv->dirfd, JD_CONSOLE_LOG,
                                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        return 0;
}

static int stream_start(supervisor *sv, stream *s, const char *name, int prio, int fd)
{
        s->sv = sv;
        s->name = name;
        s->prio = prio;
        s->fd = fd;
        (void) jd_fd_nonblock(fd, true);
        return jd_loop_add_io(sv->event, &s->src, fd, EPOLLIN, on_stream, s);
}

static void fail_cleanup(supervisor *sv)
{
        /* A jail that did not start leaves nothing: no jail directory, no
         * state directory (jailerd has the error from the start channel). */
        remove_jail_dir(sv);
        (void) jd_rm_rf(sv->state_dir);
}

/* --keep-cgroup: the main process of jailerd-jails.service, whose delegated
 * cgroup holds the jails (see cgroups.c).  It only moves itself into a leaf
 * (a cgroup that gives controllers to children may hold no process), makes
 * jails/ with cpu, memory and pids, and waits to be stopped. */
static int keep_cgroup(void)
{
        _cleanup_free_ char *own = jailer_cgroup_self(), *abs = NULL, *jails = NULL, *ready = NULL;
        jailer_error err = { 0 };
        sigset_t mask;
        size_t n;
        int r, sig;

        jd_log_open("jailer-supervisor");
        if (!own || strcmp(own, "/") == 0) {
                log_error("--keep-cgroup: not in a cgroup v2 cgroup of our own");
                return 1;
        }
        n = strlen(own);
        /* DelegateSubgroup=keeper (systemd >= 254) put us in the leaf already. */
        if (n > strlen("/keeper") && strcmp(own + n - strlen("/keeper"), "/keeper") == 0)
                own[n - strlen("/keeper")] = '\0';
        if (asprintf(&abs, "/sys/fs/cgroup%s", own) < 0 || asprintf(&jails, "%s/jails", abs) < 0)
                return 1;
        if (!jailer_cgroup_is_delegated(abs))
                log_warning("%s is not delegated to us (Delegate=yes missing?)", abs);
        if (jailer_cgroup_move_self(abs, "keeper", &err) < 0) {
                log_error("%s", err.message);
                return 1;
        }
        if (mkdir(jails, 0755) < 0 && errno != EEXIST) {
                log_error("cannot create %s: %m", jails);
                return 1;
        }
        if (jailer_cgroup_enable_controllers(abs, &err) != 0)
                log_warning("%s", err.message);
        if (jailer_cgroup_enable_controllers(jails, &err) != 0)
                log_warning("%s", err.message);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        if (asprintf(&ready, "READY=1\nSTATUS=Holding %s for jailerd's jails", jails) >= 0)
                (void) jd_notify(ready);
        do
                r = sigwait(&mask, &sig);
        while (r == 0 && sig == SIGHUP);
        (void) jd_notify("STOPPING=1");
        return 0;
}

/* --path-fd FIELD=FD: what jailerd opened, as the client, for a path of the
 * config; the jail is made from these fds, never from the paths again. */
#define MAX_PATH_FDS (4 + 256 + 64)

typedef struct path_fd {
        char field[40];
        int fd;
} path_fd;

static int path_fd_parse(const char *arg, path_fd *out)
{
        const char *eq = strrchr(arg, '=');
        uint64_t v;

        if (!eq || (size_t) (eq - arg) >= sizeof out->field || jailer_parse_u64(eq + 1, &v) < 0 || v < 3 ||
            v > INT32_MAX)
                return -EINVAL;
        snprintf(out->field, sizeof out->field, "%.*s", (int) (eq - arg), arg);
        out->fd = (int) v;
        /* Ours alone from now on, even before the config is read. */
        if (fcntl(out->fd, F_SETFD, FD_CLOEXEC) < 0)
                return -EBADF;
        return 0;
}

/* Give the config each fd (it keeps a duplicate) and close ours. */
static int path_fds_apply(jailer_config *c, path_fd *p, size_t n, jailer_error *err)
{
        int ret = 0, root = -1, root_parent = -1;

        for (size_t i = 0; i < n; i++) {
                size_t idx;
                int r = -1;
                char tail;

                if (strcmp(p[i].field, "exec_path") == 0)
                        r = jailer_config_set_exec_fd(c, p[i].fd);
                else if (strcmp(p[i].field, "seccomp") == 0)
                        r = jailer_config_set_seccomp_fd(c, p[i].fd);
                else if (strcmp(p[i].field, "netns") == 0)
                        r = jailer_config_set_netns_fd(c, p[i].fd);
                else if (strcmp(p[i].field, "jail_root") == 0 && root < 0) {
                        root = TAKE_FD(p[i].fd);
                        continue;
                } else if (strcmp(p[i].field, "jail_root.parent") == 0 && root_parent < 0) {
                        root_parent = TAKE_FD(p[i].fd);
                        continue;
                }
                else if (sscanf(p[i].field, "bind_mounts[%zu].sourc%c", &idx, &tail) == 2 && tail == 'e')
                        r = jailer_config_set_bind_source_fd(c, idx, p[i].fd);
                else if (sscanf(p[i].field, "devices[%zu%c", &idx, &tail) == 2 && tail == ']')
                        r = jailer_config_set_device_fd(c, idx, p[i].fd);
                if (r < 0 && ret == 0)
                        ret = jailer_error_set(err, JAILER_STEP_NONE, errno, p[i].field, "--path-fd %s", p[i].field);
                close(p[i].fd);
                p[i].fd = -1;
        }
        if ((root >= 0 || root_parent >= 0) && jailer_config_set_jail_root_fd(c, root, root_parent) < 0 && ret == 0)
                ret = jailer_error_set(err, JAILER_STEP_NONE, errno, "jail_root", "--path-fd jail_root");
        if (root >= 0)
                close(root);
        if (root_parent >= 0)
                close(root_parent);
        return ret;
}

static _Noreturn void usage(int status)
{
        fprintf(status ? stderr : stdout,
                "Usage: jailer-supervisor --state-dir DIR --owner-uid UID [--owner-pid PID]\n"
                "                         [--jail-dir DIR] [--stdio] [--path-fd FIELD=FD]...\n"
                "                         [--prepare [--prepare-timeout MS]]\n"
                "       jailer-supervisor --keep-cgroup\n"
                "       jailer-supervisor --launcher FD\n"
                "Runs one jail for jailerd; not meant to be started by hand.\n"
                "With --keep-cgroup: the main process of jailerd-jails.service, whose\n"
                "delegated cgroup holds the jails.\n"
                "With --launcher: jailerd's supervisor launcher, which forks supervisors\n"
                "on requests read from the socket FD.\n"
                "DIR holds config.json; fd %d carries the start result to jailerd;\n"
                "with --stdio, fds %d-%d are the jail's stdin, stdout and stderr;\n"
                "--path-fd: what jailerd opened for the config's FIELD (exec_path, seccomp,\n"
                "jail_root, jail_root.parent, bind_mounts[N].source, devices[N]), used\n"
                "instead of the path.  --prepare: hold the jail before its execve until\n"
                "a \"start\" on control.sock (removed after MS milliseconds without one).\n",
                JD_SUPERVISOR_NOTIFY_FD, JD_SUPERVISOR_STDIO_FD, JD_SUPERVISOR_STDIO_FD + 2);
        exit(status);
}

/* What the command line asks for, beside what goes into sv. */
typedef struct sv_args {
        jailer_spawn_opts sopts;
        bool keep_cgroup;
        size_t n_paths;
        path_fd paths[MAX_PATH_FDS];    /* last: only the first n_paths are touched */
} sv_args;

static void parse_options(int argc, char **argv, supervisor *sv, sv_args *a)
{
        static const struct option opts[] = {
                { "state-dir", required_argument, NULL, 's' },
                { "owner-uid", required_argument, NULL, 'u' },
                { "owner-pid", required_argument, NULL, 'p' },
                { "jail-dir", required_argument, NULL, 'j' },
                { "stdio", no_argument, NULL, 'S' },
                { "path-fd", required_argument, NULL, 'P' },
                { "keep-cgroup", no_argument, NULL, 'K' },
                { "prepare", no_argument, NULL, 'R' },
                { "prepare-timeout", required_argument, NULL, 'T' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        uint64_t v;
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 's':
                        sv->state_dir = optarg;
                        break;
                case 'u':
                        if (jailer_parse_u64(optarg, &v) < 0 || v > UINT32_MAX)
                                usage(2);
                        sv->state.owner_uid = (uid_t) v;
                        break;
                case 'p':
                        if (jailer_parse_u64(optarg, &v) < 0 || v > INT32_MAX)
                                usage(2);
                        sv->state.owner_pid = (pid_t) v;
                        break;
                case 'j':
                        sv->state.jail_dir = strdup(optarg);
                        break;
                case 'S':
                        sv->own_stdio = true;
                        break;
                case 'P':
                        if (a->n_paths >= MAX_PATH_FDS || path_fd_parse(optarg, &a->paths[a->n_paths]) < 0)
                                usage(2);
                        a->n_paths++;
                        break;
                case 'K':
                        a->keep_cgroup = true;
                        return;
                case 'R':
                        a->sopts.prepare_only = true;
                        break;
                case 'T':
                        if (jailer_parse_u64(optarg, &sv->prepare_timeout_ms) < 0 || sv->prepare_timeout_ms == 0)
                                usage(2);
                        break;
                case 'h':
                        usage(0);
                default:
                        usage(2);
                }
        if (!sv->state_dir || optind != argc)
                usage(2);
}

/* The start failed: tell jailerd why, remove what we made. */
static int fail_start(supervisor *sv, const jailer_error *err)
{
        notify_error(sv, err);
        fail_cleanup(sv);
        return -1;
}

/* The start channel and, with --stdio, the jail's stdio: ours, kept from
 * the jail (close-on-exec: jailer_spawn() hands it the stdio itself). */
static int take_fds(supervisor *sv)
{
        if (fcntl(JD_SUPERVISOR_NOTIFY_FD, F_GETFD) >= 0) {
                sv->notify_fd = JD_SUPERVISOR_NOTIFY_FD;
                (void) fcntl(sv->notify_fd, F_SETFD, FD_CLOEXEC);
        }
        if (sv->own_stdio)
                for (int fd = JD_SUPERVISOR_STDIO_FD; fd < JD_SUPERVISOR_STDIO_FD + 3; fd++)
                        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
                                log_error("--stdio given but fd %d is not open", fd);
                                return -1;
                        }
        return 0;
}

/* The state directory, locked for our whole life (jailerd's proof that
 * this jail has a keeper), the config jailerd wrote there, and the first
 * state.json ("starting"). */
static int open_state(supervisor *sv, sv_args *a)
{
        jailer_error err = { 0 };
        char path[4096];
        int r;

        sv->dirfd = open(sv->state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sv->dirfd < 0) {
                jailer_error_set(&err, JAILER_STEP_NONE, errno, NULL, "state directory %s", sv->state_dir);
                notify_error(sv, &err);
                return -1;
        }
        if (flock(sv->dirfd, LOCK_EX | LOCK_NB) < 0) {
                jailer_error_set(&err, JAILER_STEP_NONE, errno, NULL, "state directory %s is locked", sv->state_dir);
                notify_error(sv, &err);
                return -1;
        }
        snprintf(path, sizeof path, "%s/%s", sv->state_dir, JD_CONFIG_FILE);
        if (!sv->config && (jailer_config_from_file(path, &sv->config, &err) < 0 ||
                            jailer_config_validate(sv->config, &err) < 0))
                return fail_start(sv, &err);
        if (path_fds_apply(sv->config, a->paths, a->n_paths, &err) < 0)
                return fail_start(sv, &err);
        snprintf(sv->state.id, sizeof sv->state.id, "%s", jailer_config_get_id(sv->config));
        sv->state.phase = JD_PHASE_STARTING;
        sv->state.supervisor_pid = getpid();
        /* supervisor_starttime (a read of /proc/self/stat) is not here: a
         * restarted jailerd waits for a state past "starting" before it
         * checks who holds the directory.  It is read in start_jail(),
         * once the jail's process has been made. */
        sv->state.created_at_us = jd_now_realtime_us();
        sv->state.own_stdio = sv->own_stdio;
        r = jd_state_write(sv->dirfd, &sv->state);
        if (r < 0) {
                jailer_error_set(&err, JAILER_STEP_NONE, -r, NULL, "%s/%s", sv->state_dir, JD_STATE_FILE);
                return fail_start(sv, &err);
        }
        return 0;
}

static void close_pair(int p[2])
{
        for (int i = 0; i < 2; i++)
                if (p[i] >= 0)
                        close(p[i]);
}

/* The jail, started (or prepared), and state.json saying so. */
static int start_jail(supervisor *sv, jailer_spawn_opts *sopts, int pipe_out[2], int pipe_err[2])
{
        jailer_error err = { 0 };
        int r;

        r = jd_loop_new(&sv->event);
        if (r < 0 || (r = stdio_setup(sv, sopts, pipe_out, pipe_err)) < 0) {
                jailer_error_set(&err, JAILER_STEP_NONE, -r, NULL, "supervisor set-up");
                return fail_start(sv, &err);
        }
        /* The jail dies with us (PR_SET_PDEATHSIG): a jail whose supervisor
         * is gone has nobody to record its end, and the next jailerd
         * cleans it up as a crash.  Signal dispositions and the mask are
         * inherited by the jail: they stay default until it runs. */
        sopts->die_with_parent = true;
        r = jailer_spawn(sv->config, sopts, &sv->jail, &err);
        if (!sv->own_stdio) {
                /* The jail's ends are its own now (or nobody's). */
                if (sopts->stdin_fd >= 0)
                        close(sopts->stdin_fd);
                if (r < 0) {
                        close_pair(pipe_out);
                        close_pair(pipe_err);
                } else {
                        close(pipe_out[1]);
                        close(pipe_err[1]);
                }
        } else if (r >= 0)
                for (int fd = JD_SUPERVISOR_STDIO_FD; fd < JD_SUPERVISOR_STDIO_FD + 3; fd++)
                        close(fd);
        if (r < 0)
                return fail_start(sv, &err);

        sv->state.phase = sopts->prepare_only ? JD_PHASE_PREPARED : JD_PHASE_RUNNING;
        (void) jd_proc_starttime(getpid(), &sv->state.supervisor_starttime);
        sv->state.jail_pid = jailer_jail_pid(sv->jail);
        sv->state.started_at_us = jd_now_realtime_us();   /* a prepared jail: when it was made ready */
        if (jailer_jail_cgroup_path(sv->jail))
                sv->state.cgroup_path = strdup(jailer_jail_cgroup_path(sv->jail));
        r = jd_state_write(sv->dirfd, &sv->state);
        if (r < 0)
                log_error("jail %s: could not write %s: %s", sv->state.id, JD_STATE_FILE, strerror(-r));
        return 0;
}

/* Everything the event loop watches: our signals, the jail's output, its
 * end, its deadline (or, prepared, the time it may wait), control.sock. */
static void watch_jail(supervisor *sv, const jailer_spawn_opts *sopts, int out_fd, int err_fd)
{
        sigset_t mask;
        int r;

        (void) signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) jd_loop_add_signal(sv->event, NULL, SIGTERM, on_term, sv);
        (void) jd_loop_add_signal(sv->event, NULL, SIGINT, on_term, sv);
        (void) signal(SIGHUP, SIG_IGN);

        if (!sv->own_stdio) {
                (void) stream_start(sv, &sv->out, "stdout", LOG_INFO, out_fd);
                (void) stream_start(sv, &sv->err, "stderr", LOG_NOTICE, err_fd);
        }
        r = jd_loop_add_io(sv->event, &sv->pidfd_src, jailer_jail_pidfd(sv->jail), EPOLLIN, on_jail_exit, sv);
        if (r < 0) {
                log_error("jail %s: cannot watch the jail's pidfd: %s", sv->state.id, strerror(-r));
                (void) jailer_jail_kill(sv->jail, SIGKILL);
        }
        if (!sopts->prepare_only)
                watch_deadline(sv);
        else {
                if (sv->prepare_timeout_ms)
                        (void) jd_loop_add_timer(sv->event, &sv->prepare_src,
                                                 jailer_now_monotonic_us() + sv->prepare_timeout_ms * 1000,
                                                 on_prepare_timeout, sv);
                /* Without it, a start by jailerd's handle is still seen
                 * when jailerd's request does not come (it died). */
                r = jd_loop_add_io(sv->event, &sv->release_src, jailer_jail_start_fd(sv->jail), EPOLLIN, on_released,
                                   sv);
                if (r < 0)
                        log_error("jail %s: cannot watch the start channel: %s", sv->state.id, strerror(-r));
        }
        r = control_open(sv);
        if (r < 0)
                log_error("jail %s: no control socket: %s", sv->state.id, strerror(-r));
}

static void supervisor_done(supervisor *sv)
{
        if (sv->control_fd >= 0) {
                sv->control_src = jd_source_free(sv->control_src);
                close(sv->control_fd);
                (void) unlinkat(sv->dirfd, JD_CONTROL_SOCKET, 0);
        }
        if (sv->console_fd >= 0)
                close(sv->console_fd);
        jailer_config_free(sv->config);
        jd_state_done(&sv->state);
        sv->event = jd_loop_free(sv->event);
        if (sv->dirfd >= 0)
                close(sv->dirfd);
        if (sv->notify_fd >= 0)
                close(sv->notify_fd);
}

/* A process's stack mapping: [low, high). */
typedef struct stack_range {
        uintptr_t low, high;
} stack_range;

/* This process's stack mapping, from /proc/self/maps; all zero if not
 * found. */
static stack_range stack_range_read(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
        _cleanup_free_ char *line = NULL;
        stack_range r = { 0 };
        size_t cap = 0;
        ssize_t n;

        if (!f)
                return r;
        while ((n = getline(&line, &cap, f)) > 0) {
                static const char tag[] = " [stack]\n";

                if ((size_t) n > sizeof tag - 1 && strcmp(line + n - (sizeof tag - 1), tag) == 0) {
                        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &r.low, &r.high) != 2)
                                r = (stack_range) { 0 };
                        return r;
                }
        }
        return r;
}

/* The stack mapping as the launcher found it, once, before it forked any of
 * us (preload_config()).  A stack mapping only grows down, so ours reaches
 * at least as low: the range from there up is all our own stack.  All zero
 * in an exec'd supervisor, which reads its own. */
static stack_range launcher_stack;

/* Starting the jail (the jail core, json-c, the seccomp loader) runs call
 * chains far deeper than the event loop's: every stack page they wrote is
 * this process's own copy, kept for the jail's whole life (40 of a forked
 * supervisor's 160 KiB).  Below this frame, less room for the loop's own
 * calls, the stack is dead: hand those pages back; reached again, they read
 * as zeros.  Only the stack mapping is touched: from its low end (above),
 * never below it. */
static void stack_release(void)
{
        const uintptr_t keep = 4096;
        uintptr_t sp = (uintptr_t) __builtin_frame_address(0), end;
        uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
        stack_range st = launcher_stack.low ? launcher_stack : stack_range_read();

        if (st.low == 0 || sp <= st.low || sp > st.high || sp - st.low <= keep)
                return;
        end = (sp - keep) & ~(page - 1);
        if (end > st.low)
                (void) madvise((void *) st.low, end - st.low, MADV_DONTNEED);
}

/* The config, read and checked by the launcher before it forks us (see
 * jd_launcher_ops): the launcher, a warm process, reads and parses it in
 * about 65 µs; a supervisor just forked took about 130 µs more for the
 * same, in copy-on-write faults on every page the parse writes (kernel
 * traces of both, on the test host).  Used only for the state directory it
 * was read from; if the launcher could not read it, we do, and report what
 * is wrong. */
typedef struct preload {
        char *state_dir;
        jailer_config *config;
} preload;

static void preload_free(void *data)
{
        preload *p = data;

        if (!p)
                return;
        jailer_config_free(p->config);
        free(p->state_dir);
        free(p);
}

static void preload_freep(preload **p)
{
        preload_free(*p);
}

static void *preload_config(char *const *argv, size_t argc)
{
        _cleanup_free_ char *path = NULL;
        jailer_error err = { 0 };
        const char *dir = NULL;
        preload *p;

        if (!launcher_stack.low)
                launcher_stack = stack_range_read();
        /* jailerd's argv, which parse_options() reads again in the child:
         * what it finds there is compared with what we read here. */
        for (size_t i = 1; i + 1 < argc; i++)
                if (strcmp(argv[i], "--state-dir") == 0)
                        dir = argv[++i];
        if (!dir || asprintf(&path, "%s/%s", dir, JD_CONFIG_FILE) < 0)
                return NULL;
        p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        if (!(p->state_dir = strdup(dir)) || jailer_config_from_file(path, &p->config, &err) < 0 ||
            jailer_config_validate(p->config, &err) < 0) {
                preload_free(p);
                return NULL;
        }
        return p;
}

static int supervisor_main(int argc, char **argv, void *prepared)
{
        _cleanup_(preload_freep) preload *pre = prepared;
        /* Once per process, and static: its output buffers and path fd
         * table (30 KiB) are zero pages nobody has touched, not a stack
         * area zeroed (so made private) for every jail the launcher forks.
         * Only what is set here, and what is used, is written. */
        static supervisor sv;
        static sv_args a;
        static char out_buf[OUTPUT_LINE_MAX], err_buf[OUTPUT_LINE_MAX];
        int pipe_out[2] = { -1, -1 }, pipe_err[2] = { -1, -1 };
        int ret = 1;

        sv.dirfd = sv.notify_fd = sv.console_fd = sv.control_fd = -1;
        sv.out = (stream) { .fd = -1, .buf = out_buf };
        sv.err = (stream) { .fd = -1, .buf = err_buf };
        a.sopts = (jailer_spawn_opts) JAILER_SPAWN_OPTS_INIT;

        parse_options(argc, argv, &sv, &a);
        if (a.keep_cgroup)
                return keep_cgroup();
        if (pre && strcmp(pre->state_dir, sv.state_dir) == 0)
                sv.config = TAKE_PTR(pre->config);

        /* Root, holding a jail's secrets: no core dumps, no ptrace by
         * anyone but root with CAP_SYS_PTRACE.  Our own session: no
         * terminal signals from jailerd's, and the jail gets none either
         * (TIOCSTI). */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        (void) setsid();
        if (!jd_log_is_open())          /* the launcher did it for all of us */
                jd_log_open("jailer-supervisor");

        if (take_fds(&sv) == 0 && open_state(&sv, &a) == 0 && start_jail(&sv, &a.sopts, pipe_out, pipe_err) == 0) {
                watch_jail(&sv, &a.sopts, pipe_out[0], pipe_err[0]);
                notify_started(&sv);
                /* What starting the jail needed (the config, the seccomp
                 * program, libjailer's buffers) is freed: give its pages
                 * back, for the jail's whole life. */
                stack_release();
                (void) malloc_trim(0);
                ret = jd_loop_run(sv.event);
                ret = ret < 0 ? 1 : ret;
        }
        supervisor_done(&sv);
        return ret;
}

/* Two ways in, one supervisor: exec'd by jailerd with its arguments, or
 * forked by the launcher (launcher.c) with the same arguments and fds. */
int main(int argc, char **argv)
{
        static const jd_launcher_ops ops = {
                .prepare = preload_config,
                .release = preload_free,
                .run = supervisor_main,
        };

        if (argc >= 3 && strcmp(argv[1], "--launcher") == 0)
                return jd_launcher_main(argc, argv, &ops);
        return supervisor_main(argc, argv, NULL);
}

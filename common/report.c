/* SPDX-License-Identifier: MIT */
/*
 * The exit report and its JSON form, one line:
 * {"jail":"id","pid":N,"exit_code":N|null,"signal":"SIGKILL"|null,
 *  "oom_killed":b,"timed_out":b,"seccomp_killed":b,"wall_time_us":N,"cpu_usage_us":N,
 *  "memory_peak_bytes":N|null,"pids_peak":N|null, and whether the run was disturbed:
 *  "cpus":"LIST"|null, "cpu_periods", "cpu_throttled_periods", "cpu_throttled_us",
 *  "memory_high_events", "memory_max_events", "{cpu,memory,io}_pressure_{some,full}_us",
 *  "involuntary_switches": N|null}
 *
 * The reader checks types strictly but ignores keys it does not know, so
 * that an older client can read the report of a newer jailer.
 */
#include "jailer-internal.h"
#include "json-util.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

/* The disturbance figures: int64_t, -1 (null) where the kernel does not say. */
static const struct {
        const char *key;
        size_t off;
} disturbance[] = {
#define F(name) { #name, offsetof(jailer_report, name) }
        F(cpu_periods),
        F(cpu_throttled_periods),
        F(cpu_throttled_us),
        F(memory_high_events),
        F(memory_max_events),
        F(cpu_pressure_some_us),
        F(cpu_pressure_full_us),
        F(memory_pressure_some_us),
        F(memory_pressure_full_us),
        F(io_pressure_some_us),
        F(io_pressure_full_us),
        F(involuntary_switches),
        F(pinned_cpus_other_us),
#undef F
};

static int64_t *field_of(jailer_report *r, size_t i)
{
        return (int64_t *) ((char *) r + disturbance[i].off);
}

/* Only a report with the jail's figures has these keys: one made up
 * without them (a lost jail) reads as it always did. */
static void add_disturbance(json_object *o, const jailer_report *r, bool *ok)
{
        char cpus[sizeof(r->cpus)];

        if (!r->measured)
                return;

        /* r->cpus may come from anywhere: never read past its array. */
        snprintf(cpus, sizeof(cpus), "%.*s", (int) sizeof(r->cpus) - 1, r->cpus);
        if (cpus[0])
                json_add(o, "cpus", json_object_new_string(cpus), ok);
        else
                json_add_null(o, "cpus", ok);
        for (size_t i = 0; i < ELEMENTSOF(disturbance); i++) {
                int64_t v = *field_of((jailer_report *) r, i);
                if (v >= 0)
                        json_add(o, disturbance[i].key, json_object_new_int64(v), ok);
                else
                        json_add_null(o, disturbance[i].key, ok);
        }
}

char *jailer_report_to_json(const jailer_report *r)
{
        _cleanup_(json_putp) json_object *o = NULL;
        char id[JAILER_ID_MAX + 1];
        bool ok = true;
        char *s;

        if (!r) {
                errno = EINVAL;
                return NULL;
        }

        o = json_object_new_object();
        if (!o)
                return NULL;

        /* r->id may come from anywhere: never read past its array. */
        snprintf(id, sizeof(id), "%.*s", JAILER_ID_MAX, r->id);
        json_add(o, "jail", json_object_new_string(id), &ok);
        json_add(o, "pid", json_object_new_int64(r->pid), &ok);

        if (r->signal > 0) {
                const char *name = jailer_signal_name(r->signal);
                char num[16];

                /* A signal without a name (32, 33) is written as its number,
                 * which jailer_signal_from_name() reads back. */
                if (!name) {
                        snprintf(num, sizeof(num), "%d", r->signal);
                        name = num;
                }
                json_add_null(o, "exit_code", &ok);
                json_add(o, "signal", json_object_new_string(name), &ok);
        } else {
                json_add(o, "exit_code", json_object_new_int64(r->exit_code), &ok);
                json_add_null(o, "signal", &ok);
        }

        json_add(o, "oom_killed", json_object_new_boolean(r->oom_killed), &ok);
        json_add(o, "timed_out", json_object_new_boolean(r->timed_out), &ok);
        json_add(o, "seccomp_killed", json_object_new_boolean(r->seccomp_killed), &ok);
        json_add(o, "wall_time_us", json_object_new_uint64(r->wall_time_us), &ok);
        json_add(o, "cpu_usage_us", json_object_new_uint64(r->cpu_usage_us), &ok);
        if (r->memory_peak_bytes == JAILER_UNKNOWN)
                json_add_null(o, "memory_peak_bytes", &ok);
        else
                json_add(o, "memory_peak_bytes", json_object_new_uint64(r->memory_peak_bytes), &ok);
        if (r->pids_peak < 0)
                json_add_null(o, "pids_peak", &ok);
        else
                json_add(o, "pids_peak", json_object_new_int64(r->pids_peak), &ok);
        add_disturbance(o, r, &ok);

        if (!ok) {
                errno = ENOMEM;
                return NULL;
        }

        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!s)
                errno = ENOMEM;
        return s;
}

/* A report refused: "report: FIELD: what is wrong". */
#define rbad(err, field, ...) \
        (jl_error((err), JAILER_STEP_WAIT, 0, (field), __VA_ARGS__), jl_error_prefix((err), "report"), -1)

/* An integer in [0, max]; doubles and negatives are refused.  json-c
 * saturates at UINT64_MAX, so that value is refused as out of range. */
static int get_uint(jailer_error *err, const char *field, json_object *v, uint64_t max, uint64_t *out)
{
        uint64_t u;

        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return rbad(err, field, "expected a non-negative integer, got %s",
                            json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        u = json_object_get_uint64(v);
        if (u > max || u == UINT64_MAX)
                return rbad(err, field, "%llu is out of range", (unsigned long long) u);
        *out = u;
        return 0;
}

static int get_boolean(jailer_error *err, const char *field, json_object *v, bool *out)
{
        if (!json_object_is_type(v, json_type_boolean))
                return rbad(err, field, "expected a boolean, got %s",
                            json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        *out = json_object_get_boolean(v);
        return 0;
}

/* The first disturbance key seen: the report has the figures, each
 * unknown (-1) until given. */
static void measured(jailer_report *r)
{
        if (r->measured)
                return;
        r->measured = true;
        for (size_t i = 0; i < ELEMENTSOF(disturbance); i++)
                *field_of(r, i) = -1;
}

/* The text as one JSON object. */
static json_object *report_parse(const char *json, jailer_error *err)
{
        json_object *o;
        json_tokener *tok = json_tokener_new();

        if (!tok) {
                jl_error(err, JAILER_STEP_WAIT, ENOMEM, NULL, "report");
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, json, (int) strnlen(json, INT_MAX));
        if (!o) {
                enum json_tokener_error e = json_tokener_get_error(tok);
                size_t off = json_tokener_get_parse_end(tok);

                json_tokener_free(tok);
                if (e == json_tokener_success) /* JSON null */
                        (void) rbad(err, NULL, "expected a JSON object, got null");
                else
                        (void) rbad(err, NULL, "invalid JSON at byte %zu: %s", off,
                             e == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(e));
                return NULL;
        }
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                (void) rbad(err, NULL, "expected a JSON object");
                return NULL;
        }
        return o;
}

typedef struct report_seen {
        bool jail, exit, signal;
} report_seen;

/* jail, pid, exit_code, signal: who ended how.  1 when key is not one of
 * them. */
static int status_member(jailer_report *rep, report_seen *seen, const char *key, json_object *v, jailer_error *err)
{
        uint64_t u;
        const char *s;
        int sig;

        if (strcmp(key, "jail") == 0) {
                if (!json_object_is_type(v, json_type_string))
                        return rbad(err, key, "expected a string");
                s = json_object_get_string(v);
                if ((size_t) json_object_get_string_len(v) != strlen(s) || strlen(s) > JAILER_ID_MAX)
                        return rbad(err, key, "not a jail id");
                snprintf(rep->id, sizeof(rep->id), "%s", s);
                seen->jail = true;
        } else if (strcmp(key, "pid") == 0) {
                if (get_uint(err, key, v, INT_MAX, &u) < 0)
                        return -1;
                rep->pid = (pid_t) u;
        } else if (strcmp(key, "exit_code") == 0) {
                if (json_object_is_type(v, json_type_null))
                        return 0;
                if (get_uint(err, key, v, 255, &u) < 0)
                        return -1;
                rep->exit_code = (int) u;
                seen->exit = true;
        } else if (strcmp(key, "signal") == 0) {
                if (json_object_is_type(v, json_type_null))
                        return 0;
                if (!json_object_is_type(v, json_type_string))
                        return rbad(err, key, "expected a signal name or null");
                sig = jailer_signal_from_name(json_object_get_string(v));
                if (sig <= 0)
                        return rbad(err, key, "\"%.32s\" is not a signal", json_object_get_string(v));
                rep->signal = sig;
                seen->signal = true;
        } else
                return 1;
        return 0;
}

/* The flags and the cgroup's figures. */
static int figure_member(jailer_report *rep, const char *key, json_object *v, jailer_error *err)
{
        uint64_t u;

        if (strcmp(key, "oom_killed") == 0)
                return get_boolean(err, key, v, &rep->oom_killed);
        if (strcmp(key, "timed_out") == 0)
                return get_boolean(err, key, v, &rep->timed_out);
        if (strcmp(key, "seccomp_killed") == 0)
                return get_boolean(err, key, v, &rep->seccomp_killed);
        if (strcmp(key, "wall_time_us") == 0)
                return get_uint(err, key, v, UINT64_MAX, &rep->wall_time_us);
        if (strcmp(key, "cpu_usage_us") == 0)
                return get_uint(err, key, v, UINT64_MAX, &rep->cpu_usage_us);
        if (strcmp(key, "memory_peak_bytes") == 0) {
                if (json_object_is_type(v, json_type_null)) {
                        rep->memory_peak_bytes = JAILER_UNKNOWN;
                        return 0;
                }
                return get_uint(err, key, v, UINT64_MAX - 1, &rep->memory_peak_bytes);
        }
        if (strcmp(key, "pids_peak") == 0) {
                if (json_object_is_type(v, json_type_null))
                        return 0;
                if (get_uint(err, key, v, INT64_MAX, &u) < 0)
                        return -1;
                rep->pids_peak = (int64_t) u;
        }
        return 0;
}

/* Whether the run was disturbed: the pinned cpus and the counts. */
static int disturbance_member(jailer_report *rep, const char *key, json_object *v, jailer_error *err)
{
        uint64_t u;

        if (strcmp(key, "cpus") == 0) {
                measured(rep);
                if (json_object_is_type(v, json_type_null))
                        return 0;
                if (!json_object_is_type(v, json_type_string) ||
                    (size_t) json_object_get_string_len(v) >= sizeof(rep->cpus) ||
                    (size_t) json_object_get_string_len(v) != strlen(json_object_get_string(v)))
                        return rbad(err, key, "expected a cpu list or null");
                snprintf(rep->cpus, sizeof(rep->cpus), "%s", json_object_get_string(v));
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(disturbance); i++) {
                if (strcmp(key, disturbance[i].key) != 0)
                        continue;
                measured(rep);
                if (json_object_is_type(v, json_type_null))
                        return 0;
                if (get_uint(err, key, v, INT64_MAX, &u) < 0)
                        return -1;
                *field_of(rep, i) = (int64_t) u;
        }
        return 0;
}

int jailer_report_from_json(const char *json, jailer_report *r, jailer_error *err)
{
        _cleanup_(json_putp) json_object *o = NULL;
        jailer_report rep = { .exit_code = -1, .pids_peak = -1 };
        report_seen seen = { 0 };

        if (!json || !r)
                return jl_error(err, JAILER_STEP_WAIT, EINVAL, NULL, "report");
        o = report_parse(json, err);
        if (!o)
                return -1;
        json_object_object_foreach(o, key, v) {
                /* keys a newer jailer writes are ignored */
                int k = status_member(&rep, &seen, key, v, err);
                if (k == 1)
                        k = figure_member(&rep, key, v, err) < 0 ? -1 : disturbance_member(&rep, key, v, err);
                if (k < 0)
                        return -1;
        }
        if (!seen.jail)
                return rbad(err, "jail", "is missing");
        /* A program either exited or was killed by a signal. */
        if (seen.exit == seen.signal)
                return rbad(err, "exit_code", "exactly one of exit_code and signal must be given");
        *r = rep;
        return 0;
}

int jailer_report_status(const jailer_report *r)
{
        if (!r)
                return -1;
        if (r->signal > 0)
                return 128 + r->signal;
        return r->exit_code;
}

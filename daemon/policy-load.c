/* SPDX-License-Identifier: MIT */
/*
 * Reading jailerd's policy file (docs/policy.md has every key).
 *
 * Strict, like the jail config reader: unknown keys, duplicate keys, wrong
 * types, fractions where a count is due and values out of range are errors
 * that name the key path and the value, and the daemon does not start with
 * them (or, on SIGHUP, keeps the policy it has).  Keys that start with
 * "_comment" are allowed in every object and ignored: JSON has no comments.
 *
 * Paths in allow-lists are resolved here, once per load, the way requests
 * are resolved later (jailer_open_trusted(): only root's symlinks are
 * followed), so that "/bin/qemu-system-x86_64" in the file matches the
 * request's real path "/usr/bin/qemu-system-x86_64".  A path that does not
 * exist yet is kept as written, with a warning.
 */
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "policy.h"
#include "json-strict.h"
#include "json-util.h"

#define MAX_LIST 1024           /* entries in any one list */
#define QUOTE_MAX 120

typedef struct load_ctx {
        const char *path;
        char *err;
        size_t err_size;
} load_ctx;


static void policy_freep(jd_policy **p)
{
        jd_policy_free(*p);
}

/* ------------------------------------------------------------------ the model */

static void path_list_done(jd_path_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->paths[i]);
        free(l->paths);
        *l = (jd_path_list) { 0 };
}

void jd_policy_free(jd_policy *p)
{
        if (!p)
                return;
        free(p->source);
        free(p->clients);
        path_list_done(&p->exec_paths);
        path_list_done(&p->bind_sources);
        path_list_done(&p->devices);
        path_list_done(&p->netns_paths);
        path_list_done(&p->seccomp.profiles);
        for (size_t i = 0; i < p->seccomp.n_syscalls; i++)
                free(p->seccomp.syscalls[i]);
        free(p->seccomp.syscalls);
        free(p->jail_root_base);
        free(p);
}

/* Without a file, or a file without "clients": the socket's group may
 * create jails with /dev/kvm, and see and kill its own. */
static int add_default_clients(jd_policy *p)
{
        p->clients = calloc(1, sizeof *p->clients);
        if (!p->clients)
                return -ENOMEM;
        p->clients[0] = (jd_client_rule) {
                .socket_group = true,
                .rights = JD_RIGHT_CREATE | JD_RIGHT_SEE_OWN | JD_RIGHT_KILL_OWN | JD_RIGHT_KVM,
        };
        snprintf(p->clients[0].label, sizeof p->clients[0].label, "clients (default)");
        p->n_clients = 1;
        return 0;
}

static jd_policy *policy_new(void)
{
        jd_policy *p = calloc(1, sizeof *p);

        if (!p)
                return NULL;
        /* What a key left out means: each client's jails under a uid of
         * their own, every namespace, the baseline seccomp filter (no
         * "none", no profile, no exception), read-write binds of what the
         * client may write itself. */
        p->read_write_binds = true;
        p->uid_min = p->gid_min = JD_JAIL_UID_FIRST;
        p->uid_max = p->gid_max = JD_JAIL_UID_LAST;
        p->allocate_uid = true;
        p->allow_own_uid = true;
        return p;
}

jd_policy *jd_policy_new_default(void)
{
        jd_policy *p = policy_new();

        if (!p || add_default_clients(p) < 0) {
                jd_policy_free(p);
                return NULL;
        }
        return p;
}

const char *jd_policy_source(const jd_policy *p)
{
        return p && p->source ? p->source : "(built-in default)";
}

/* ------------------------------------------------------------------ errors */

static int fail(load_ctx *x, const char *field, const char *fmt, ...) _printf_(3, 4);
static int fail(load_ctx *x, const char *field, const char *fmt, ...)
{
        char msg[768];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (field && field[0])
                snprintf(x->err, x->err_size, "%s: %s: %s", x->path, field, msg);
        else
                snprintf(x->err, x->err_size, "%s: %s", x->path, msg);
        return -EINVAL;
}

static int type_error(load_ctx *x, const char *field, const char *expected, json_object *v)
{
        char buf[QUOTE_MAX + 16];

        return fail(x, field, "expected %s, got %s", expected, jl_json_describe(v, buf, sizeof buf, QUOTE_MAX));
}

static void field_key(char *out, size_t size, const char *parent, const char *key)
{
        if (parent && parent[0])
                snprintf(out, size, "%s.%s", parent, key);
        else
                snprintf(out, size, "%s", key);
}

/* ------------------------------------------------------------------ syntax */

/* The strict reader every input goes through (json-strict.h): a policy
 * whose second "exec_paths" silently won, or whose "read_write\u005fbinds"
 * sat beside "read_write_binds", is not what its author reviewed. */
static int parse_text(load_ctx *x, const char *text, size_t len, json_object **out)
{
        static const jl_json_limits limits = { .max_depth = 16 };
        _cleanup_json_ json_object *root = NULL;
        jl_json_error e;

        if (jl_json_parse(text, len, &limits, &root, &e) < 0) {
                if (e.fault == JL_JSON_NO_MEMORY)
                        return -ENOMEM;
                return fail(x, e.path, "%s", e.message);
        }
        if (!json_object_is_type(root, json_type_object))
                return type_error(x, NULL, "a JSON object at the top level", root);
        *out = TAKE_PTR(root);
        return 0;
}

/* ------------------------------------------------------------------ typed getters */

/* "_comment", or "_comment..." ("_comment_uid_range"): one object may
 * carry several, one beside each key it explains. */
static bool is_comment(const char *key)
{
        return strncmp(key, "_comment", strlen("_comment")) == 0;
}

/* A comment: a string or an array of strings, ignored. */
static int check_comment(load_ctx *x, const char *field, json_object *v)
{
        if (json_object_is_type(v, json_type_string))
                return 0;
        if (json_object_is_type(v, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                                return type_error(x, field, "a string or an array of strings", v);
                return 0;
        }
        return type_error(x, field, "a string or an array of strings", v);
}

/* Every key of o must be one of keys (or "_comment"). */
static int check_keys(load_ctx *x, const char *parent, json_object *o, const char *const *keys)
{
        json_object_object_foreach(o, k, v) {
                char field[128];
                bool known = false;

                field_key(field, sizeof field, parent, k);
                if (is_comment(k)) {
                        int r = check_comment(x, field, v);

                        if (r < 0)
                                return r;
                        continue;
                }
                for (const char *const *p = keys; *p; p++)
                        if (strcmp(*p, k) == 0)
                                known = true;
                if (!known)
                        return fail(x, field, "unknown key (see docs/policy.md for the keys there are)");
        }
        return 0;
}

static int get_u64(load_ctx *x, const char *field, json_object *v, uint64_t min, uint64_t max, uint64_t *out)
{
        uint64_t u;

        if (!json_object_is_type(v, json_type_int))
                return type_error(x, field, "a non-negative integer", v);
        if (json_object_get_int64(v) < 0)
                return fail(x, field, "%lld is negative", (long long) json_object_get_int64(v));
        u = json_object_get_uint64(v);
        if (u < min || u > max)
                return fail(x, field, "%llu is out of range (%llu to %llu)", (unsigned long long) u,
                            (unsigned long long) min, (unsigned long long) max);
        *out = u;
        return 0;
}

/* An integer, or a string such as "512M", "4GiB" (jailer_parse_size()). */
static int get_size(load_ctx *x, const char *field, json_object *v, uint64_t min, uint64_t max, uint64_t *out)
{
        uint64_t u;

        if (json_object_is_type(v, json_type_int))
                return get_u64(x, field, v, min, max, out);
        if (!json_object_is_type(v, json_type_string))
                return type_error(x, field, "a number of bytes or a size such as \"512M\"", v);
        if (jailer_parse_size(json_object_get_string(v), &u) < 0)
                return fail(x, field, "\"%.*s\" is not a size (bytes, or a number with K, M, G or T)", QUOTE_MAX,
                            json_object_get_string(v));
        if (u < min || u > max)
                return fail(x, field, "\"%s\" (%llu bytes) is out of range (%llu to %llu)", json_object_get_string(v),
                            (unsigned long long) u, (unsigned long long) min, (unsigned long long) max);
        *out = u;
        return 0;
}

static int get_bool(load_ctx *x, const char *field, json_object *v, bool *out)
{
        if (!json_object_is_type(v, json_type_boolean))
                return type_error(x, field, "true or false", v);
        *out = json_object_get_boolean(v);
        return 0;
}

static int get_array(load_ctx *x, const char *field, json_object *v)
{
        if (!json_object_is_type(v, json_type_array))
                return type_error(x, field, "an array", v);
        if (json_object_array_length(v) > MAX_LIST)
                return fail(x, field, "%zu entries, at most %d are allowed", json_object_array_length(v), MAX_LIST);
        return 0;
}

/* ------------------------------------------------------------------ paths */

/* Absolute, no "." or ".." or "//": the same shape jail configs must have. */
static int check_path_shape(load_ctx *x, const char *field, const char *p)
{
        size_t len = strlen(p);

        if (p[0] != '/')
                return fail(x, field, "\"%.*s\" is not an absolute path", QUOTE_MAX, p);
        if (len >= PATH_MAX)
                return fail(x, field, "the path is longer than %d bytes", PATH_MAX - 1);
        for (const char *s = p + 1; *s;) {
                size_t n = strcspn(s, "/");

                if (n == 0 && s[0] == '/')
                        return fail(x, field, "\"%.*s\" contains an empty component (\"//\")", QUOTE_MAX, p);
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return fail(x, field, "\"%.*s\" contains \".\" or \"..\"", QUOTE_MAX, p);
                s += n;
                if (*s == '/')
                        s++;
        }
        return 0;
}

/* The path as requests will be compared with it: resolved like libjailer
 * resolves (root's symlinks followed, nobody else's), or as written (less
 * trailing slashes) when it does not exist. */
static int canonical_path(load_ctx *x, const char *field, const char *p, char **out)
{
        char why[256] = "";
        _cleanup_close_ int fd = -1;
        int r;

        r = check_path_shape(x, field, p);
        if (r < 0)
                return r;
        fd = jailer_open_trusted(p, O_PATH, why, sizeof why);
        if (fd < 0) {
                size_t n = strlen(p);

                if (errno != ENOENT)
                        return fail(x, field, "\"%s\": %s", p, why[0] ? why : strerror(errno));
                log_warning("%s: %s: \"%s\" does not exist (yet); it is kept as written", x->path, field, p);
                while (n > 1 && p[n - 1] == '/')
                        n--;
                *out = strndup(p, n);
                return *out ? 0 : -ENOMEM;
        }
        r = jd_fd_real_path(fd, out);
        if (r < 0)
                return fail(x, field, "\"%s\": cannot tell its real path: %s", p, strerror(-r));
        return 0;
}

static int get_path_list(load_ctx *x, const char *field, json_object *v, jd_path_list *l)
{
        int r;

        r = get_array(x, field, v);
        if (r < 0)
                return r;
        l->set = true;
        l->n = 0;
        l->paths = calloc(json_object_array_length(v) + 1, sizeof *l->paths);
        if (!l->paths)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                char f[160];

                snprintf(f, sizeof f, "%s[%zu]", field, i);
                if (!json_object_is_type(e, json_type_string))
                        return type_error(x, f, "an absolute path", e);
                r = canonical_path(x, f, json_object_get_string(e), &l->paths[l->n]);
                if (r < 0)
                        return r;
                l->n++;
        }
        return 0;
}

/* ------------------------------------------------------------------ clients */

static const struct {
        const char *name;
        unsigned right;
} right_names[] = {
        { "create", JD_RIGHT_CREATE },
        { "see_own", JD_RIGHT_SEE_OWN },
        { "kill_own", JD_RIGHT_KILL_OWN },
        { "see_all", JD_RIGHT_SEE_ALL },
        { "kill_all", JD_RIGHT_KILL_ALL },
        { "kvm", JD_RIGHT_KVM },
};

const char *jd_right_name(unsigned right)
{
        for (size_t i = 0; i < ELEMENTSOF(right_names); i++)
                if (right_names[i].right == right)
                        return right_names[i].name;
        return "?";
}

static int get_id(load_ctx *x, const char *field, json_object *v, uint32_t *out)
{
        uint64_t u;
        int r = get_u64(x, field, v, 0, UINT32_MAX - 1, &u);

        if (r < 0)
                return r;
        *out = (uint32_t) u;
        return 0;
}

/* Who a client rule is about, by user: "uid" or "user". */
static int parse_client_user(load_ctx *x, const char *field, json_object *o, jd_client_rule *rule)
{
        json_object *v;
        char f[160];
        int r;

        if (json_object_object_get_ex(o, "uid", &v) && json_object_object_get_ex(o, "user", NULL))
                return fail(x, field, "\"uid\" and \"user\" name the same thing: give one");
        if (json_object_object_get_ex(o, "uid", &v)) {
                field_key(f, sizeof f, field, "uid");
                r = get_id(x, f, v, &rule->uid);
                if (r < 0)
                        return r;
                rule->match_uid = true;
        }
        if (json_object_object_get_ex(o, "user", &v)) {
                struct passwd pw, *res = NULL;
                char buf[4096];

                field_key(f, sizeof f, field, "user");
                if (!json_object_is_type(v, json_type_string))
                        return type_error(x, f, "a user name", v);
                if (getpwnam_r(json_object_get_string(v), &pw, buf, sizeof buf, &res) != 0 || !res)
                        return fail(x, f, "no user \"%.*s\" on this host", QUOTE_MAX, json_object_get_string(v));
                rule->uid = res->pw_uid;
                rule->match_uid = true;
        }
        return 0;
}

/* Who a client rule is about, by group: one of "gid", "group" and
 * "socket_group". */
static int parse_client_group(load_ctx *x, const char *field, json_object *o, jd_client_rule *rule)
{
        json_object *v;
        char f[160];
        int r;

        int n_group = json_object_object_get_ex(o, "gid", NULL) + json_object_object_get_ex(o, "group", NULL) +
                      json_object_object_get_ex(o, "socket_group", NULL);
        if (n_group > 1)
                return fail(x, field, "give one of \"gid\", \"group\" and \"socket_group\"");
        if (json_object_object_get_ex(o, "gid", &v)) {
                field_key(f, sizeof f, field, "gid");
                r = get_id(x, f, v, &rule->gid);
                if (r < 0)
                        return r;
                rule->match_gid = true;
        }
        if (json_object_object_get_ex(o, "group", &v)) {
                struct group gr, *res = NULL;
                char buf[16384];

                field_key(f, sizeof f, field, "group");
                if (!json_object_is_type(v, json_type_string))
                        return type_error(x, f, "a group name", v);
                if (getgrnam_r(json_object_get_string(v), &gr, buf, sizeof buf, &res) != 0 || !res)
                        return fail(x, f, "no group \"%.*s\" on this host", QUOTE_MAX, json_object_get_string(v));
                rule->gid = res->gr_gid;
                rule->match_gid = true;
        }
        if (json_object_object_get_ex(o, "socket_group", &v)) {
                field_key(f, sizeof f, field, "socket_group");
                r = get_bool(x, f, v, &rule->socket_group);
                if (r < 0)
                        return r;
                if (!rule->socket_group)
                        return fail(x, f, "false matches nobody: leave the key out instead");
        }
        return 0;
}

/* What a client rule grants: "rights", required and not empty. */
static int parse_client_rights(load_ctx *x, const char *field, json_object *o, jd_client_rule *rule)
{
        json_object *v;
        char f[160];
        int r;

        field_key(f, sizeof f, field, "rights");
        if (!json_object_object_get_ex(o, "rights", &v))
                return fail(x, f, "is required: a list of create, see_own, kill_own, see_all, kill_all, kvm");
        r = get_array(x, f, v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                char fi[192];
                bool found = false;

                snprintf(fi, sizeof fi, "%s[%zu]", f, i);
                if (!json_object_is_type(e, json_type_string))
                        return type_error(x, fi, "a right's name", e);
                for (size_t k = 0; k < ELEMENTSOF(right_names); k++)
                        if (strcmp(right_names[k].name, json_object_get_string(e)) == 0) {
                                rule->rights |= right_names[k].right;
                                found = true;
                        }
                if (!found)
                        return fail(x, fi, "\"%.*s\" is not a right (create, see_own, kill_own, see_all, kill_all, "
                                           "kvm)",
                                    QUOTE_MAX, json_object_get_string(e));
        }
        if (!rule->rights)
                return fail(x, f, "is empty: a rule must grant something");
        return 0;
}

static int parse_client(load_ctx *x, const char *field, json_object *o, jd_client_rule *rule)
{
        static const char *const keys[] = { "uid", "user", "gid", "group", "socket_group", "rights", NULL };
        int r;

        if (!json_object_is_type(o, json_type_object))
                return type_error(x, field, "an object such as {\"group\": \"ci\", \"rights\": [\"create\"]}", o);
        r = check_keys(x, field, o, keys);
        if (r < 0)
                return r;
        snprintf(rule->label, sizeof rule->label, "%s", field);

        r = parse_client_user(x, field, o, rule);
        if (r < 0)
                return r;
        r = parse_client_group(x, field, o, rule);
        if (r < 0)
                return r;
        if (!rule->match_uid && !rule->match_gid && !rule->socket_group)
                return fail(x, field, "names nobody: give \"uid\" or \"user\", and/or \"gid\", \"group\" or "
                                      "\"socket_group\"");
        return parse_client_rights(x, field, o, rule);
}

static int parse_clients(load_ctx *x, json_object *v, jd_policy *p)
{
        size_t n;
        int r;

        r = get_array(x, "clients", v);
        if (r < 0)
                return r;
        n = json_object_array_length(v);
        p->clients = calloc(n + 1, sizeof *p->clients);
        if (!p->clients)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char f[32];

                snprintf(f, sizeof f, "clients[%zu]", i);
                r = parse_client(x, f, json_object_array_get_idx(v, i), &p->clients[i]);
                if (r < 0)
                        return r;
                p->n_clients++;
        }
        return 0;
}

/* ------------------------------------------------------------------ the rest */

/* The maxima libjailer accepts (common/config.c), so that a ceiling is a
 * value a jail can have. */
#define MEMORY_MIN (1024ull * 1024)
#define MEMORY_MAX (1ull << 62)
#define TASKS_MAX 4194304ull
#define FDS_MAX 1048576ull
#define TIMEOUT_MAX 2592000000ull
#define CPUS_MIN 0.01   /* 1000 µs of quota in the default 100 ms period */
#define CPUS_MAX 1024.0
#define PINNED_CPUS_MAX 4096ull /* libjailer's cpu lists name cpus 0-4095 */
#define IO_WEIGHT_MAX 10000ull

static int parse_ceilings(load_ctx *x, json_object *o, jd_policy *p)
{
        static const char *const keys[] = { "memory_bytes", "cpus",       "pids", "max_fds", "max_procs",
                                            "max_file_size", "timeout_ms", "pinned_cpus", "io_weight", NULL };
        json_object *v;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return type_error(x, "ceilings", "an object", o);
        r = check_keys(x, "ceilings", o, keys);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(o, "memory_bytes", &v) &&
            (r = get_size(x, "ceilings.memory_bytes", v, MEMORY_MIN, MEMORY_MAX, &p->ceilings.memory_bytes)) < 0)
                return r;
        if (json_object_object_get_ex(o, "cpus", &v)) {
                double d;

                if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                        return type_error(x, "ceilings.cpus", "a number of CPUs such as 2 or 0.5", v);
                d = json_object_get_double(v);
                if (!isfinite(d) || d < CPUS_MIN || d > CPUS_MAX)
                        return fail(x, "ceilings.cpus", "%g is out of range (%g to %g)", d, CPUS_MIN, CPUS_MAX);
                p->ceilings.cpus = d;
        }
        if (json_object_object_get_ex(o, "pids", &v) &&
            (r = get_u64(x, "ceilings.pids", v, 1, TASKS_MAX, &p->ceilings.pids)) < 0)
                return r;
        if (json_object_object_get_ex(o, "max_fds", &v) &&
            (r = get_u64(x, "ceilings.max_fds", v, 1, FDS_MAX, &p->ceilings.max_fds)) < 0)
                return r;
        if (json_object_object_get_ex(o, "max_procs", &v) &&
            (r = get_u64(x, "ceilings.max_procs", v, 1, TASKS_MAX, &p->ceilings.max_procs)) < 0)
                return r;
        if (json_object_object_get_ex(o, "max_file_size", &v) &&
            (r = get_size(x, "ceilings.max_file_size", v, 1, UINT64_MAX - 1, &p->ceilings.max_file_size)) < 0)
                return r;
        if (json_object_object_get_ex(o, "timeout_ms", &v) &&
            (r = get_u64(x, "ceilings.timeout_ms", v, 1, TIMEOUT_MAX, &p->ceilings.timeout_ms)) < 0)
                return r;
        if (json_object_object_get_ex(o, "pinned_cpus", &v)) {
                if ((r = get_u64(x, "ceilings.pinned_cpus", v, 0, PINNED_CPUS_MAX, &p->ceilings.pinned_cpus)) < 0)
                        return r;
                p->ceilings.has_pinned_cpus = true;
        }
        if (json_object_object_get_ex(o, "io_weight", &v) &&
            (r = get_u64(x, "ceilings.io_weight", v, 1, IO_WEIGHT_MAX, &p->ceilings.io_weight)) < 0)
                return r;
        return 0;
}

static int parse_totals(load_ctx *x, json_object *o, jd_policy *p)
{
        static const char *const keys[] = { "jails", "jails_per_client", NULL };
        json_object *v;
        uint64_t u;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return type_error(x, "totals", "an object", o);
        r = check_keys(x, "totals", o, keys);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(o, "jails", &v)) {
                r = get_u64(x, "totals.jails", v, 1, UINT_MAX, &u);
                if (r < 0)
                        return r;
                p->totals.jails = (unsigned) u;
        }
        if (json_object_object_get_ex(o, "jails_per_client", &v)) {
                r = get_u64(x, "totals.jails_per_client", v, 1, UINT_MAX, &u);
                if (r < 0)
                        return r;
                p->totals.jails_per_client = (unsigned) u;
        }
        return 0;
}

static int get_range(load_ctx *x, const char *field, json_object *v, uint32_t *min, uint32_t *max)
{
        int r;

        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2)
                return type_error(x, field, "[first, last], such as [200000, 200999]", v);
        r = get_id(x, field, json_object_array_get_idx(v, 0), min);
        if (r >= 0)
                r = get_id(x, field, json_object_array_get_idx(v, 1), max);
        if (r < 0)
                return r;
        if (*min == 0)
                return fail(x, field, "0 is root: jails never run as root");
        if (*min > *max)
                return fail(x, field, "[%u, %u]: the first is above the last", *min, *max);
        return 0;
}

static int parse_namespaces(load_ctx *x, json_object *v, jd_policy *p)
{
        int r;

        r = get_array(x, "may_disable_namespaces", v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < JAILER_NS_COUNT; i++)
                p->ns_may_disable[i] = false;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                char f[64];
                bool found = false;

                snprintf(f, sizeof f, "may_disable_namespaces[%zu]", i);
                if (!json_object_is_type(e, json_type_string))
                        return type_error(x, f, "a namespace's name", e);
                for (size_t k = 0; k < JAILER_NS_COUNT; k++)
                        if (strcmp(jailer_namespace_name(k), json_object_get_string(e)) == 0) {
                                p->ns_may_disable[k] = true;
                                found = true;
                        }
                if (!found)
                        return fail(x, f, "\"%.*s\" is not a namespace (user, pid, mount, network, uts, ipc, cgroup)",
                                    QUOTE_MAX, json_object_get_string(e));
        }
        return 0;
}

static int parse_seccomp(load_ctx *x, json_object *o, jd_policy *p)
{
        static const char *const keys[] = { "allow_none", "profiles", "allow_syscalls", NULL };
        json_object *v;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return type_error(x, "seccomp", "an object", o);
        r = check_keys(x, "seccomp", o, keys);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(o, "allow_none", &v) &&
            (r = get_bool(x, "seccomp.allow_none", v, &p->seccomp.allow_none)) < 0)
                return r;
        if (json_object_object_get_ex(o, "profiles", &v) &&
            (r = get_path_list(x, "seccomp.profiles", v, &p->seccomp.profiles)) < 0)
                return r;
        if (json_object_object_get_ex(o, "allow_syscalls", &v)) {
                r = get_array(x, "seccomp.allow_syscalls", v);
                if (r < 0)
                        return r;
                p->seccomp.syscalls = calloc(json_object_array_length(v) + 1, sizeof(char *));
                if (!p->seccomp.syscalls)
                        return -ENOMEM;
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        char f[64];

                        snprintf(f, sizeof f, "seccomp.allow_syscalls[%zu]", i);
                        if (!json_object_is_type(e, json_type_string))
                                return type_error(x, f, "a system call's name", e);
                        if (!jailer_seccomp_allowable(json_object_get_string(e)))
                                return fail(x, f, "\"%.*s\" is not one of the calls the baseline filter denies",
                                            QUOTE_MAX, json_object_get_string(e));
                        p->seccomp.syscalls[p->seccomp.n_syscalls] = strdup(json_object_get_string(e));
                        if (!p->seccomp.syscalls[p->seccomp.n_syscalls])
                                return -ENOMEM;
                        p->seccomp.n_syscalls++;
                }
        }
        return 0;
}

/* Rules written before the "kvm" right give it to nobody: say so once,
 * since a VMM without /dev/kvm fails only when it starts. */
static void warn_no_kvm(load_ctx *x, const jd_policy *p)
{
        unsigned all = 0;

        for (size_t i = 0; i < p->n_clients; i++)
                all |= p->clients[i].rights;
        if ((all & JD_RIGHT_CREATE) && !(all & JD_RIGHT_KVM))
                log_notice("%s: no rule of \"clients\" gives the right \"kvm\": clients' jails get no /dev/kvm",
                           x->path);
}

/* What a client may name on the host: programs, bind sources, whether
 * read-write, where jail roots go, devices. */
static int parse_host_paths(load_ctx *x, json_object *root, jd_policy *p)
{
        json_object *v;
        int r;

        if (json_object_object_get_ex(root, "exec_paths", &v) &&
            (r = get_path_list(x, "exec_paths", v, &p->exec_paths)) < 0)
                return r;
        if (json_object_object_get_ex(root, "bind_sources", &v) &&
            (r = get_path_list(x, "bind_sources", v, &p->bind_sources)) < 0)
                return r;
        if (json_object_object_get_ex(root, "read_write_binds", &v) &&
            (r = get_bool(x, "read_write_binds", v, &p->read_write_binds)) < 0)
                return r;
        if (json_object_object_get_ex(root, "jail_root_base", &v)) {
                if (!json_object_is_type(v, json_type_string))
                        return type_error(x, "jail_root_base", "an absolute path", v);
                r = canonical_path(x, "jail_root_base", json_object_get_string(v), &p->jail_root_base);
                if (r < 0)
                        return r;
                if (strcmp(p->jail_root_base, "/") == 0)
                        return fail(x, "jail_root_base", "\"/\" would allow every directory: leave the key out");
        }
        if (json_object_object_get_ex(root, "devices", &v)) {
                r = get_path_list(x, "devices", v, &p->devices);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < p->devices.n; i++)
                        if (strncmp(p->devices.paths[i], "/dev/", 5) != 0) {
                                char f[32];

                                snprintf(f, sizeof f, "devices[%zu]", i);
                                return fail(x, f, "\"%s\" is not under /dev", p->devices.paths[i]);
                        }
        }
        if (json_object_object_get_ex(root, "netns_paths", &v) &&
            (r = get_path_list(x, "netns_paths", v, &p->netns_paths)) < 0)
                return r;
        return 0;
}

/* The uids and gids jails run as: ranges, allocation. */
static int parse_ids(load_ctx *x, json_object *root, jd_policy *p)
{
        json_object *v;
        int r;

        if (json_object_object_get_ex(root, "uid_range", &v)) {
                r = get_range(x, "uid_range", v, &p->uid_min, &p->uid_max);
                if (r < 0)
                        return r;
                p->has_uid_range = true;
                /* One range for both, unless the file says otherwise. */
                p->gid_min = p->uid_min;
                p->gid_max = p->uid_max;
                p->has_gid_range = true;
        }
        if (json_object_object_get_ex(root, "gid_range", &v)) {
                r = get_range(x, "gid_range", v, &p->gid_min, &p->gid_max);
                if (r < 0)
                        return r;
                p->has_gid_range = true;
        }
        if (json_object_object_get_ex(root, "allocate_uid", &v)) {
                r = get_bool(x, "allocate_uid", v, &p->allocate_uid);
                if (r < 0)
                        return r;
                /* Said in so many words: root's default uid is allocated too. */
                p->allocate_root = p->allocate_uid;
        }
        if (json_object_object_get_ex(root, "allow_own_uid", &v) &&
            (r = get_bool(x, "allow_own_uid", v, &p->allow_own_uid)) < 0)
                return r;
        /* An allocated jail gets gid = uid. */
        if (p->allocate_uid && (p->uid_min < p->gid_min || p->uid_max > p->gid_max))
                return fail(x, "gid_range", "[%u, %u] must contain the uid range [%u, %u]%s: an allocated jail runs "
                                            "with gid = uid (or set allocate_uid to false)",
                            p->gid_min, p->gid_max, p->uid_min, p->uid_max, p->has_uid_range ? "" : " (built-in)");
        return 0;
}

static int parse_policy(load_ctx *x, json_object *root, jd_policy *p)
{
        static const char *const keys[] = {
                "clients",   "exec_paths", "bind_sources", "read_write_binds",       "jail_root_base", "devices",
                "ceilings",  "totals",     "uid_range",    "gid_range",              "allocate_uid",
                "allow_own_uid", "netns_paths",
                "may_disable_namespaces",  "seccomp",      "loader_env", NULL,
        };
        json_object *v;
        int r;

        r = check_keys(x, NULL, root, keys);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(root, "loader_env", &v) &&
            (r = get_bool(x, "loader_env", v, &p->loader_env)) < 0)
                return r;

        if (json_object_object_get_ex(root, "clients", &v))
                r = parse_clients(x, v, p);
        else
                r = add_default_clients(p);
        if (r < 0)
                return r;
        warn_no_kvm(x, p);

        r = parse_host_paths(x, root, p);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(root, "ceilings", &v) && (r = parse_ceilings(x, v, p)) < 0)
                return r;
        if (json_object_object_get_ex(root, "totals", &v) && (r = parse_totals(x, v, p)) < 0)
                return r;
        r = parse_ids(x, root, p);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(root, "may_disable_namespaces", &v) && (r = parse_namespaces(x, v, p)) < 0)
                return r;
        if (json_object_object_get_ex(root, "seccomp", &v) && (r = parse_seccomp(x, v, p)) < 0)
                return r;
        return 0;
}

int jd_policy_load(const char *path, jd_policy **out, char *err, size_t err_size)
{
        _cleanup_(policy_freep) jd_policy *p = NULL;
        _cleanup_json_ json_object *root = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        load_ctx x = { .path = path, .err = err, .err_size = err_size };
        struct stat st;
        size_t len = 0;
        int r;

        err[0] = '\0';
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r != -ENOENT)
                        snprintf(err, err_size, "%s: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(err, err_size, "%s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(err, err_size, "%s: not a regular file", path);
                return -EINVAL;
        }
        /* It decides what every client may do: only root may write it. */
        if (st.st_uid != 0 || (st.st_mode & 0022)) {
                snprintf(err, err_size, "%s: must be owned by root and writable by root alone (owner %u, mode %04o)",
                         path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        r = jailer_read_fd(fd, JD_POLICY_MAX_SIZE, &text, &len);
        if (r == -EFBIG) {
                snprintf(err, err_size, "%s: larger than %d bytes", path, JD_POLICY_MAX_SIZE);
                return r;
        }
        if (r < 0) {
                snprintf(err, err_size, "%s: %s", path, strerror(-r));
                return r;
        }
        r = parse_text(&x, text, len, &root);
        if (r < 0)
                goto fail;
        p = policy_new();
        if (!p) {
                r = -ENOMEM;
                goto fail;
        }
        r = parse_policy(&x, root, p);
        if (r < 0)
                goto fail;
        p->source = strdup(path);
        if (!p->source) {
                r = -ENOMEM;
                goto fail;
        }
        *out = TAKE_PTR(p);
        return 0;

fail:
        if (r == -ENOMEM)
                snprintf(err, err_size, "%s: out of memory", path);
        else if (!err[0])
                snprintf(err, err_size, "%s: %s", path, strerror(-r));
        return r;
}

/* ------------------------------------------------------------------ a summary for the log */

void jd_policy_describe(const jd_policy *p, char *buf, size_t size)
{
        FILE *f;

        if (size == 0)
                return;
        buf[0] = '\0';
        f = fmemopen(buf, size, "w");
        if (!f) {
                snprintf(buf, size, "%s", jd_policy_source(p));
                return;
        }
        fprintf(f, "%zu client rule%s", p->n_clients, p->n_clients == 1 ? "" : "s");
        if (p->exec_paths.set)
                fprintf(f, ", %zu exec path%s", p->exec_paths.n, p->exec_paths.n == 1 ? "" : "s");
        if (p->bind_sources.set)
                fprintf(f, ", %zu bind source%s", p->bind_sources.n, p->bind_sources.n == 1 ? "" : "s");
        if (!p->read_write_binds)
                fprintf(f, ", read-only binds");
        if (p->jail_root_base)
                fprintf(f, ", jail roots under %s", p->jail_root_base);
        if (p->devices.set)
                fprintf(f, ", %zu device%s", p->devices.n, p->devices.n == 1 ? "" : "s");
        if (p->netns_paths.set)
                fprintf(f, ", %zu netns path%s", p->netns_paths.n, p->netns_paths.n == 1 ? "" : "s");
        if (p->allocate_uid)
                fprintf(f, ", uids allocated from %u-%u", p->uid_min, p->uid_max);
        else if (p->has_uid_range)
                fprintf(f, ", uids %u-%u", p->uid_min, p->uid_max);
        else
                fprintf(f, ", uids chosen by clients");
        for (size_t i = 0; i < JAILER_NS_COUNT; i++)
                if (p->ns_may_disable[i])
                        fprintf(f, ", %s namespace optional", jailer_namespace_name(i));
        if (p->seccomp.allow_none)
                fprintf(f, ", seccomp may be off");
        if (p->totals.jails)
                fprintf(f, ", at most %u jails", p->totals.jails);
        if (p->totals.jails_per_client)
                fprintf(f, ", %u per client", p->totals.jails_per_client);
        fclose(f);
        buf[size - 1] = '\0';     /* fmemopen() leaves no NUL when the text filled it */
}

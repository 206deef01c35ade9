/* SPDX-License-Identifier: MIT */
/*
 * The JSON config file format: the spec's format, plus "hostname",
 * "devices", "cgroup_version", "cgroup_parent", and "max_file_size", "pids",
 * "timeout_ms", "cpus", "mems", "io", "io_weight" in "limits".
 *
 * The reader is strict on purpose: a typo must not silently weaken a jail.
 * Unknown keys, duplicate keys, wrong types, fractions, negative or
 * out-of-range numbers and strings with NUL bytes are all errors naming the
 * full field path.  JSON null means "the default" for every optional value.
 * Values are not range-checked here: that is jailer_config_validate()'s job.
 */
#include "jailer-internal.h"
#include "json-strict.h"
#include "json-util.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
/* The same maxima jailer_config_validate() applies; checked here too so that
 * a 1 MiB text of tiny entries cannot make parsing quadratic. */
#define MAX_ARGS 4096
#define MAX_ENV 4096
#define MAX_BINDS 256
#define MAX_DEVICES 64
#define MAX_SECCOMP_ALLOW 64
#define MAX_TAPS 16
#define QUOTE_MAX 200
#define FIELD_MAX 96 /* sizeof(jailer_error.field) */


static void config_freep(jailer_config **c)
{
        jailer_config_free(*c);
}

/* ------------------------------------------------------------ error helpers */

static int type_error(jailer_error *err, const char *field, const char *expected, json_object *v)
{
        char buf[QUOTE_MAX + 64];

        return jl_config_bad(err, field, "expected %s, got %s", expected, jl_json_describe(v, buf, sizeof(buf), QUOTE_MAX));
}

/* ------------------------------------------------------------ typed getters */

/* A non-negative integer no larger than max.  Doubles are refused even when
 * integral ("1.0", "1e3"), so that no rounding ever happens to a limit.
 * json-c saturates integers beyond 64 bits at UINT64_MAX / INT64_MIN, so
 * UINT64_MAX itself (which no field accepts) also stands for "too large". */
static int get_u64(jailer_error *err, const char *field, json_object *v, uint64_t max, uint64_t *out)
{
        uint64_t u;

        if (!json_object_is_type(v, json_type_int))
                return type_error(err, field, "a non-negative integer", v);
        if (json_object_get_int64(v) < 0)
                return jl_config_bad(err, field, "expected a non-negative integer, got number %lld",
                                (long long) json_object_get_int64(v));
        u = json_object_get_uint64(v);
        if (u == UINT64_MAX)
                return jl_config_bad(err, field, "number out of range (at most %llu)",
                                (unsigned long long) (max == UINT64_MAX ? UINT64_MAX - 1 : max));
        if (u > max)
                return jl_config_bad(err, field, "%llu is out of range (at most %llu)", (unsigned long long) u,
                                (unsigned long long) max);
        *out = u;
        return 0;
}

static int get_string(jailer_error *err, const char *field, json_object *v, const char **out)
{
        const char *s;

        if (!json_object_is_type(v, json_type_string))
                return type_error(err, field, "a string", v);
        s = json_object_get_string(v);
        if (strlen(s) != (size_t) json_object_get_string_len(v))
                return jl_config_bad(err, field, "\"%.*s\\0...\" contains a NUL byte", QUOTE_MAX, s);
        *out = s;
        return 0;
}

static int get_bool(jailer_error *err, const char *field, json_object *v, bool *out)
{
        if (!json_object_is_type(v, json_type_boolean))
                return type_error(err, field, "a boolean", v);
        *out = json_object_get_boolean(v);
        return 0;
}

static int enomem(jailer_error *err, const char *field)
{
        return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, field, "cannot store the value");
}

/* ------------------------------------------------------------ parsing */

static int parse_json(const char *json, size_t len, json_object **out, jailer_error *err)
{
        static const jl_json_limits limits = { .max_bytes = CONFIG_MAX_BYTES, .max_depth = 16 };
        _cleanup_json_ json_object *root = NULL;
        jl_json_error e;

        if (jl_json_parse(json, len, &limits, &root, &e) < 0) {
                if (e.fault == JL_JSON_NO_MEMORY)
                        return enomem(err, e.path[0] ? e.path : NULL);
                if (e.fault == JL_JSON_TOO_LARGE)
                        return jl_config_bad(err, NULL, "the config is %zu bytes, more than the 1 MiB allowed", len);
                return jl_config_bad(err, e.path[0] ? e.path : NULL, "%s", e.message);
        }
        if (!json_object_is_type(root, json_type_object))
                return type_error(err, NULL, "a JSON object at the top level", root);

        *out = TAKE_PTR(root);
        return 0;
}

/* A getter that treats JSON null as "keep the default". */
#define IF_SET(v) if (!json_object_is_type((v), json_type_null))

static int set_failed(jailer_error *err, const char *field)
{
        return enomem(err, field);
}

static int check_count(jailer_error *err, const char *field, size_t n, size_t max)
{
        if (n > max)
                return jl_config_bad(err, field, "%zu entries, at most %zu are allowed", n, max);
        return 0;
}

static int parse_string_array(jailer_error *err, const char *field, json_object *v, jailer_config *c,
                              size_t max, int (*add)(jailer_config *, const char *))
{
        size_t n;

        if (!json_object_is_type(v, json_type_array))
                return type_error(err, field, "an array of strings", v);

        n = json_object_array_length(v);
        if (check_count(err, field, n, max) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                char f[FIELD_MAX];
                const char *s;

                jl_json_path_index(f, sizeof(f), field, i);
                if (get_string(err, f, json_object_array_get_idx(v, i), &s) < 0)
                        return -1;
                if (add(c, s) < 0)
                        return set_failed(err, f);
        }
        return 0;
}

/* limits.io[i]: {"device": "8:0" or a path, "rbps", "wbps", "riops", "wiops"}. */
static int parse_io_entry(jailer_error *err, const char *field, json_object *obj, jailer_config *c)
{
        const char *device = NULL;
        uint64_t v[4] = { JL_UNSET, JL_UNSET, JL_UNSET, JL_UNSET };
        static const char *const names[4] = { "rbps", "wbps", "riops", "wiops" };

        if (!json_object_is_type(obj, json_type_object))
                return type_error(err, field, "an object {\"device\", \"rbps\", \"wbps\", \"riops\", \"wiops\"}",
                                  obj);
        json_object_object_foreach(obj, key, val) {
                char f[FIELD_MAX];
                size_t i;

                jl_json_path_key(f, sizeof(f), field, key);
                if (strcmp(key, "device") == 0) {
                        if (get_string(err, f, val, &device) < 0)
                                return -1;
                        continue;
                }
                for (i = 0; i < ELEMENTSOF(names); i++)
                        if (strcmp(key, names[i]) == 0)
                                break;
                if (i == ELEMENTSOF(names))
                        return jl_config_bad(err, f, "unknown key");
                IF_SET(val) {
                        if (get_u64(err, f, val, JL_UNSET - 1, &v[i]) < 0)
                                return -1;
                }
        }
        if (!device) {
                char f[FIELD_MAX];
                jl_json_path_key(f, sizeof(f), field, "device");
                return jl_config_bad(err, f, "is required");
        }
        if (jailer_config_add_io_limit(c, device, v[0], v[1], v[2], v[3]) < 0)
                return set_failed(err, field);
        return 0;
}

static int parse_io(jailer_error *err, json_object *arr, jailer_config *c)
{
        if (!json_object_is_type(arr, json_type_array))
                return type_error(err, "limits.io", "an array", arr);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                char f[FIELD_MAX];

                jl_json_path_index(f, sizeof(f), "limits.io", i);
                if (parse_io_entry(err, f, json_object_array_get_idx(arr, i), c) < 0)
                        return -1;
        }
        return 0;
}

static int parse_limits(jailer_error *err, json_object *obj, jailer_config *c)
{
        const struct {
                const char *name;
                uint64_t *slot;
        } fields[] = {
                { "cpu_quota_us", &c->limits.cpu_quota_us },
                { "cpu_period_us", &c->limits.cpu_period_us },
                { "memory_bytes", &c->limits.memory_bytes },
                { "max_fds", &c->limits.max_fds },
                { "max_procs", &c->limits.max_procs },
                { "max_file_size", &c->limits.max_file_size },
                { "pids", &c->limits.pids },
                { "timeout_ms", &c->limits.timeout_ms },
                { "io_weight", &c->limits.io_weight },
        };

        if (!json_object_is_type(obj, json_type_object))
                return type_error(err, "limits", "an object", obj);

        json_object_object_foreach(obj, key, v) {
                char f[FIELD_MAX];
                size_t i;

                jl_json_path_key(f, sizeof(f), "limits", key);
                /* Pinning: cpu lists, strings. */
                if (strcmp(key, "cpus") == 0 || strcmp(key, "mems") == 0) {
                        const char *s = NULL;
                        IF_SET(v) {
                                if (get_string(err, f, v, &s) < 0)
                                        return -1;
                        }
                        if ((key[0] == 'c' ? jailer_config_set_cpus : jailer_config_set_mems)(c, s) < 0)
                                return set_failed(err, f);
                        continue;
                }
                if (strcmp(key, "cpus_exclusive") == 0) {
                        IF_SET(v) {
                                if (get_bool(err, f, v, &c->limits.cpus_exclusive) < 0)
                                        return -1;
                        }
                        continue;
                }
                if (strcmp(key, "io") == 0) {
                        IF_SET(v) {
                                if (parse_io(err, v, c) < 0)
                                        return -1;
                        }
                        continue;
                }
                for (i = 0; i < ELEMENTSOF(fields); i++)
                        if (strcmp(key, fields[i].name) == 0)
                                break;
                if (i == ELEMENTSOF(fields))
                        return jl_config_bad(err, f, "unknown key");
                IF_SET(v) {
                        if (get_u64(err, f, v, UINT64_MAX, fields[i].slot) < 0)
                                return -1;
                }
        }
        return 0;
}

static int parse_namespaces(jailer_error *err, json_object *obj, jailer_config *c)
{
        if (!json_object_is_type(obj, json_type_object))
                return type_error(err, "namespaces", "an object", obj);

        json_object_object_foreach(obj, key, v) {
                char f[FIELD_MAX];
                size_t i;

                jl_json_path_key(f, sizeof(f), "namespaces", key);
                for (i = 0; i < JAILER_NS_COUNT; i++)
                        if (strcmp(key, jl_namespace_names[i]) == 0)
                                break;
                if (i == JAILER_NS_COUNT)
                        return jl_config_bad(err, f, "unknown key");
                IF_SET(v) {
                        if (get_bool(err, f, v, &c->ns[i]) < 0)
                                return -1;
                        c->ns_given[i] = true;
                }
        }
        return 0;
}

static int parse_bind(jailer_error *err, const char *field, json_object *obj, jailer_config *c)
{
        const char *source = NULL, *dest = NULL;
        bool read_only = true;

        if (!json_object_is_type(obj, json_type_object))
                return type_error(err, field, "an object {\"source\", \"dest\", \"read_only\"}", obj);

        json_object_object_foreach(obj, key, v) {
                char f[FIELD_MAX];

                jl_json_path_key(f, sizeof(f), field, key);
                if (strcmp(key, "source") == 0) {
                        if (get_string(err, f, v, &source) < 0)
                                return -1;
                } else if (strcmp(key, "dest") == 0) {
                        if (get_string(err, f, v, &dest) < 0)
                                return -1;
                } else if (strcmp(key, "read_only") == 0) {
                        IF_SET(v) {
                                if (get_bool(err, f, v, &read_only) < 0)
                                        return -1;
                        }
                } else
                        return jl_config_bad(err, f, "unknown key");
        }

        if (!source) {
                char f[FIELD_MAX];

                jl_json_path_key(f, sizeof(f), field, "source");
                return jl_config_bad(err, f, "is required");
        }
        if (!dest) {
                char f[FIELD_MAX];

                jl_json_path_key(f, sizeof(f), field, "dest");
                return jl_config_bad(err, f, "is required");
        }
        if (jailer_config_add_bind_mount(c, source, dest, read_only) < 0)
                return set_failed(err, field);
        return 0;
}

static int parse_binds(jailer_error *err, json_object *arr, jailer_config *c)
{
        size_t n;

        if (!json_object_is_type(arr, json_type_array))
                return type_error(err, "bind_mounts", "an array", arr);

        n = json_object_array_length(arr);
        if (check_count(err, "bind_mounts", n, MAX_BINDS) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                char f[FIELD_MAX];

                jl_json_path_index(f, sizeof(f), "bind_mounts", i);
                if (parse_bind(err, f, json_object_array_get_idx(arr, i), c) < 0)
                        return -1;
        }
        return 0;
}

static int parse_tap(jailer_error *err, const char *field, json_object *obj, jailer_config *c)
{
        jailer_tap t = { 0 };
        uint64_t mtu = 0;

        if (!json_object_is_type(obj, json_type_object))
                return type_error(err, field, "an object {\"name\", \"vnet_hdr\", \"multi_queue\", \"mtu\", \"mac\"}",
                                  obj);
        json_object_object_foreach(obj, key, v) {
                char f[FIELD_MAX];
                int r = 0;

                jl_json_path_key(f, sizeof(f), field, key);
                if (strcmp(key, "name") == 0)
                        r = get_string(err, f, v, &t.name);
                else if (strcmp(key, "mac") == 0) {
                        IF_SET(v) r = get_string(err, f, v, &t.mac);
                } else if (strcmp(key, "vnet_hdr") == 0) {
                        IF_SET(v) r = get_bool(err, f, v, &t.vnet_hdr);
                } else if (strcmp(key, "multi_queue") == 0) {
                        IF_SET(v) r = get_bool(err, f, v, &t.multi_queue);
                } else if (strcmp(key, "mtu") == 0) {
                        IF_SET(v) r = get_u64(err, f, v, UINT32_MAX, &mtu);
                } else
                        r = jl_config_bad(err, f, "unknown key");
                if (r < 0)
                        return -1;
        }
        if (!t.name) {
                char f[FIELD_MAX];

                jl_json_path_key(f, sizeof(f), field, "name");
                return jl_config_bad(err, f, "is required");
        }
        t.mtu = (unsigned) mtu;
        if (jailer_config_add_tap(c, &t) < 0)
                return set_failed(err, field);
        return 0;
}

static int parse_taps(jailer_error *err, json_object *arr, jailer_config *c)
{
        size_t n;

        if (!json_object_is_type(arr, json_type_array))
                return type_error(err, "taps", "an array", arr);
        n = json_object_array_length(arr);
        if (check_count(err, "taps", n, MAX_TAPS) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                char f[FIELD_MAX];

                jl_json_path_index(f, sizeof(f), "taps", i);
                if (parse_tap(err, f, json_object_array_get_idx(arr, i), c) < 0)
                        return -1;
        }
        return 0;
}

static int parse_env(jailer_error *err, json_object *arr, jailer_config *c)
{
        size_t n;

        if (!json_object_is_type(arr, json_type_array))
                return type_error(err, "env", "an array of [name, value] pairs", arr);

        n = json_object_array_length(arr);
        if (check_count(err, "env", n, MAX_ENV) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                json_object *pair = json_object_array_get_idx(arr, i);
                const char *k, *v;
                char f[FIELD_MAX], fk[FIELD_MAX], fv[FIELD_MAX];

                jl_json_path_index(f, sizeof(f), "env", i);
                if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
                        return type_error(err, f, "a [name, value] pair of strings", pair);
                jl_json_path_index(fk, sizeof(fk), f, 0);
                jl_json_path_index(fv, sizeof(fv), f, 1);
                if (get_string(err, fk, json_object_array_get_idx(pair, 0), &k) < 0 ||
                    get_string(err, fv, json_object_array_get_idx(pair, 1), &v) < 0)
                        return -1;

                /* A name given twice is almost surely a mistake; the API
                 * would silently keep the last one. */
                for (size_t j = 0; j < c->n_env; j++)
                        if (strcmp(c->env[j].key, k) == 0)
                                return jl_config_bad(err, f, "variable \"%.*s%s\" is given twice", QUOTE_MAX, k,
                                                strlen(k) > QUOTE_MAX ? "..." : "");
                if (jailer_config_add_env(c, k, v) < 0)
                        return set_failed(err, f);
        }
        return 0;
}

static int parse_cgroup_version(jailer_error *err, json_object *v, jailer_config *c)
{
        const char *s;

        if (get_string(err, "cgroup_version", v, &s) < 0)
                return -1;
        if (strcmp(s, "auto") == 0)
                c->cgroup_version = JAILER_CGROUP_AUTO;
        else if (strcmp(s, "v1") == 0)
                c->cgroup_version = JAILER_CGROUP_V1;
        else if (strcmp(s, "v2") == 0)
                c->cgroup_version = JAILER_CGROUP_V2;
        else
                return jl_config_bad(err, "cgroup_version", "\"%.*s%s\" is not one of \"auto\", \"v1\", \"v2\"", QUOTE_MAX,
                                s, strlen(s) > QUOTE_MAX ? "..." : "");
        return 0;
}

/* uid_t and gid_t are 32 bits wide; (uid_t) -1 parses, validate refuses it. */
_Static_assert(sizeof(uid_t) == sizeof(unsigned) && sizeof(gid_t) == sizeof(unsigned), "32-bit uid_t");
static int parse_id_number(jailer_error *err, const char *field, json_object *v, unsigned *out)
{
        uint64_t u;

        if (get_u64(err, field, v, UINT32_MAX, &u) < 0)
                return -1;
        *out = (unsigned) u;
        return 0;
}

static int parse_string_field(jailer_error *err, const char *field, json_object *v, jailer_config *c,
                              int (*set)(jailer_config *, const char *))
{
        const char *s;

        if (get_string(err, field, v, &s) < 0)
                return -1;
        if (set(c, s) < 0)
                return set_failed(err, field);
        return 0;
}

static int parse_root(jailer_error *err, json_object *root, jailer_config *c)
{
        json_object_object_foreach(root, key, v) {
                bool null = json_object_is_type(v, json_type_null);
                int r = 0;

                if (strcmp(key, "id") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_id);
                } else if (strcmp(key, "exec_path") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_exec_path);
                } else if (strcmp(key, "exec_args") == 0) {
                        if (!null)
                                r = parse_string_array(err, key, v, c, MAX_ARGS, jailer_config_add_arg);
                } else if (strcmp(key, "jail_root") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_jail_root);
                } else if (strcmp(key, "uid") == 0) {
                        if (!null)
                                r = parse_id_number(err, key, v, &c->uid);
                } else if (strcmp(key, "gid") == 0) {
                        if (!null)
                                r = parse_id_number(err, key, v, &c->gid);
                } else if (strcmp(key, "limits") == 0) {
                        if (!null)
                                r = parse_limits(err, v, c);
                } else if (strcmp(key, "namespaces") == 0) {
                        if (!null)
                                r = parse_namespaces(err, v, c);
                } else if (strcmp(key, "bind_mounts") == 0) {
                        if (!null)
                                r = parse_binds(err, v, c);
                } else if (strcmp(key, "workdir") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_workdir);
                } else if (strcmp(key, "env") == 0) {
                        if (!null)
                                r = parse_env(err, v, c);
                } else if (strcmp(key, "hostname") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_hostname);
                } else if (strcmp(key, "devices") == 0) {
                        if (!null)
                                r = parse_string_array(err, key, v, c, MAX_DEVICES, jailer_config_add_device);
                } else if (strcmp(key, "netns") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_netns);
                } else if (strcmp(key, "taps") == 0) {
                        if (!null)
                                r = parse_taps(err, v, c);
                } else if (strcmp(key, "cgroup_version") == 0) {
                        if (!null)
                                r = parse_cgroup_version(err, v, c);
                } else if (strcmp(key, "cgroup_parent") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_cgroup_parent);
                } else if (strcmp(key, "seccomp") == 0) {
                        if (!null)
                                r = parse_string_field(err, key, v, c, jailer_config_set_seccomp);
                } else if (strcmp(key, "kvm") == 0) {
                        if (!null)
                                r = get_bool(err, key, v, &c->kvm);
                } else if (strcmp(key, "seccomp_kill") == 0) {
                        if (!null)
                                r = get_bool(err, key, v, &c->seccomp_kill);
                } else if (strcmp(key, "seccomp_allow") == 0) {
                        if (!null)
                                r = parse_string_array(err, key, v, c, MAX_SECCOMP_ALLOW,
                                                       jailer_config_add_seccomp_allow);
                } else
                        r = jl_config_bad(err, key, "unknown key");

                if (r < 0)
                        return -1;
        }
        return 0;
}

int jailer_config_from_json(const char *json, size_t len, jailer_config **out, jailer_error *err)
{
        _cleanup_json_ json_object *root = NULL;

        if (!out)
                return jl_error(err, JAILER_STEP_CONFIG, EINVAL, NULL, "no place to store the config");
        if (parse_json(json, len, &root, err) < 0)
                return -1;
        return jl_config_from_object(root, out, err);
}

int jl_config_from_object(json_object *root, jailer_config **out, jailer_error *err)
{
        _cleanup_(config_freep) jailer_config *c = NULL;

        if (!json_object_is_type(root, json_type_object))
                return type_error(err, NULL, "a JSON object at the top level", root);
        c = jailer_config_new(NULL, NULL, NULL);
        if (!c)
                return enomem(err, NULL);
        if (parse_root(err, root, c) < 0)
                return -1;

        *out = TAKE_PTR(c);
        return 0;
}

int jailer_config_from_file(const char *path, jailer_config **out, jailer_error *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        if (!path)
                return jl_error(err, JAILER_STEP_CONFIG, EINVAL, NULL, "no config file name");

        /* O_NONBLOCK: a FIFO must not hang us before the S_ISREG check.
         * Symlinked config files are fine: what is read is checked. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return jl_error(err, JAILER_STEP_CONFIG, errno, NULL, "%s", path);
        if (fstat(fd, &st) < 0)
                return jl_error(err, JAILER_STEP_CONFIG, errno, NULL, "%s", path);
        if (!S_ISREG(st.st_mode))
                return jl_error(err, JAILER_STEP_CONFIG, 0, NULL, "%s: not a regular file", path);
        if (st.st_size > CONFIG_MAX_BYTES)
                return jl_error(err, JAILER_STEP_CONFIG, 0, NULL, "%s: %lld bytes, more than the 1 MiB allowed", path,
                                (long long) st.st_size);

        /* Read up to one byte past the limit, in case the file grew. */
        buf = malloc(CONFIG_MAX_BYTES + 1);
        if (!buf)
                return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, NULL, "%s", path);
        while (len <= CONFIG_MAX_BYTES) {
                ssize_t n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return jl_error(err, JAILER_STEP_CONFIG, errno, NULL, "%s", path);
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > CONFIG_MAX_BYTES)
                return jl_error(err, JAILER_STEP_CONFIG, 0, NULL, "%s: more than the 1 MiB allowed", path);

        if (jailer_config_from_json(buf, len, out, err) < 0) {
                jl_error_prefix(err, "%s", path);
                return -1;
        }
        return 0;
}

/* ------------------------------------------------------------ writing */


static void add_str(json_object *obj, const char *key, const char *s, bool *ok)
{
        if (s)
                json_add(obj, key, json_object_new_string(s), ok);
        else
                json_add_null(obj, key, ok);
}

/* JL_UNSET ("no limit") is written as null. */
static void add_limit(json_object *obj, const char *key, uint64_t v, bool *ok)
{
        if (v == JL_UNSET)
                json_add_null(obj, key, ok);
        else
                json_add(obj, key, json_object_new_uint64(v), ok);
}

static void append(json_object *arr, json_object *v, bool *ok)
{
        if (!v) {
                *ok = false;
                return;
        }
        if (json_object_array_add(arr, v) < 0) {
                json_object_put(v);
                *ok = false;
        }
}

static const char *cgroup_version_name(jailer_cgroup_version v)
{
        switch (v) {
        case JAILER_CGROUP_V1:
                return "v1";
        case JAILER_CGROUP_V2:
                return "v2";
        case JAILER_CGROUP_AUTO:
        default:
                return "auto";
        }
}

static void add_io(json_object *limits, const jailer_config *c, bool *ok)
{
        json_object *arr;

        if (!c->limits.n_io)
                return;
        json_add(limits, "io", arr = json_object_new_array(), ok);
        for (size_t i = 0; arr && i < c->limits.n_io; i++) {
                const struct jl_io *io = &c->limits.io[i];
                json_object *o = json_object_new_object();

                append(arr, o, ok);
                if (!o)
                        break;
                add_str(o, "device", io->device, ok);
                add_limit(o, "rbps", io->rbps, ok);
                add_limit(o, "wbps", io->wbps, ok);
                add_limit(o, "riops", io->riops, ok);
                add_limit(o, "wiops", io->wiops, ok);
        }
}

char *jailer_config_to_json(const jailer_config *c)
{
        _cleanup_json_ json_object *root = NULL;
        json_object *args, *limits, *ns, *binds, *env, *devices, *seccomp_allow, *taps;
        bool ok = true;
        char *s;

        if (!c) {
                errno = EINVAL;
                return NULL;
        }

        root = json_object_new_object();
        if (!root)
                return NULL;

        /* The spec's keys, in the spec's order, then ours. */
        add_str(root, "id", c->id, &ok);
        add_str(root, "exec_path", c->exec_path, &ok);
        json_add(root, "exec_args", args = json_object_new_array(), &ok);
        for (size_t i = 0; args && i < c->n_exec_args; i++)
                append(args, json_object_new_string(c->exec_args[i]), &ok);
        add_str(root, "jail_root", c->jail_root, &ok);
        json_add(root, "uid", json_object_new_uint64(c->uid), &ok);
        json_add(root, "gid", json_object_new_uint64(c->gid), &ok);

        json_add(root, "limits", limits = json_object_new_object(), &ok);
        if (limits) {
                add_limit(limits, "cpu_quota_us", c->limits.cpu_quota_us, &ok);
                json_add(limits, "cpu_period_us", json_object_new_uint64(c->limits.cpu_period_us), &ok);
                add_limit(limits, "memory_bytes", c->limits.memory_bytes, &ok);
                json_add(limits, "max_fds", json_object_new_uint64(c->limits.max_fds), &ok);
                json_add(limits, "max_procs", json_object_new_uint64(c->limits.max_procs), &ok);
                add_limit(limits, "max_file_size", c->limits.max_file_size, &ok);
                add_limit(limits, "pids", c->limits.pids, &ok);
                json_add(limits, "timeout_ms", json_object_new_uint64(c->limits.timeout_ms), &ok);
                if (c->limits.cpus)
                        add_str(limits, "cpus", c->limits.cpus, &ok);
                if (c->limits.mems)
                        add_str(limits, "mems", c->limits.mems, &ok);
                if (c->limits.cpus_exclusive)
                        json_add(limits, "cpus_exclusive", json_object_new_boolean(true), &ok);
                add_io(limits, c, &ok);
                if (c->limits.io_weight != JL_UNSET)
                        json_add(limits, "io_weight", json_object_new_uint64(c->limits.io_weight), &ok);
        }

        json_add(root, "namespaces", ns = json_object_new_object(), &ok);
        for (size_t i = 0; ns && i < JAILER_NS_COUNT; i++)
                json_add(ns, jl_namespace_names[i], json_object_new_boolean(jailer_config_get_namespace(c, i)), &ok);

        json_add(root, "bind_mounts", binds = json_object_new_array(), &ok);
        for (size_t i = 0; binds && i < c->n_binds; i++) {
                json_object *b = json_object_new_object();

                append(binds, b, &ok);
                if (!b)
                        break;
                add_str(b, "source", c->binds[i].source, &ok);
                add_str(b, "dest", c->binds[i].dest, &ok);
                json_add(b, "read_only", json_object_new_boolean(c->binds[i].read_only), &ok);
        }

        add_str(root, "workdir", c->workdir, &ok);

        json_add(root, "env", env = json_object_new_array(), &ok);
        for (size_t i = 0; env && i < c->n_env; i++) {
                json_object *pair = json_object_new_array();

                append(env, pair, &ok);
                if (!pair)
                        break;
                append(pair, json_object_new_string(c->env[i].key ?: ""), &ok);
                append(pair, json_object_new_string(c->env[i].value ?: ""), &ok);
        }

        add_str(root, "hostname", c->hostname, &ok);
        json_add(root, "devices", devices = json_object_new_array(), &ok);
        for (size_t i = 0; devices && i < c->n_devices; i++)
                append(devices, json_object_new_string(c->devices[i]), &ok);
        add_str(root, "netns", c->netns, &ok);
        json_add(root, "taps", taps = json_object_new_array(), &ok);
        for (size_t i = 0; taps && i < c->n_taps; i++) {
                json_object *t = json_object_new_object();

                append(taps, t, &ok);
                if (!t)
                        break;
                add_str(t, "name", c->taps[i].name, &ok);
                json_add(t, "vnet_hdr", json_object_new_boolean(c->taps[i].vnet_hdr), &ok);
                json_add(t, "multi_queue", json_object_new_boolean(c->taps[i].multi_queue), &ok);
                json_add(t, "mtu", json_object_new_uint64(c->taps[i].mtu), &ok);
                if (c->taps[i].mac)
                        add_str(t, "mac", c->taps[i].mac, &ok);
        }
        json_add(root, "cgroup_version", json_object_new_string(cgroup_version_name(c->cgroup_version)), &ok);
        add_str(root, "cgroup_parent", c->cgroup_parent, &ok);
        json_add(root, "kvm", json_object_new_boolean(c->kvm), &ok);
        json_add(root, "seccomp", json_object_new_string(c->seccomp ? c->seccomp : "default"), &ok);
        json_add(root, "seccomp_kill", json_object_new_boolean(c->seccomp_kill), &ok);
        json_add(root, "seccomp_allow", seccomp_allow = json_object_new_array(), &ok);
        for (size_t i = 0; seccomp_allow && i < c->n_seccomp_allow; i++)
                append(seccomp_allow, json_object_new_string(c->seccomp_allow[i]), &ok);

        if (!ok) {
                errno = ENOMEM;
                return NULL;
        }

        s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!s)
                errno = ENOMEM;
        return s;
}

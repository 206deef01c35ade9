/* SPDX-License-Identifier: MIT */
/*
 * The jail-config flags shared by `jailer` and `jailerctl run` (see cli.h).
 *
 * Two passes over argv: the first checks the syntax of every flag and finds
 * --config, which is loaded before anything else so that every other flag
 * overrides the file wherever it stands; the second applies the flags in
 * order.  Numbers are parsed strictly (no sign, no junk, no overflow), and
 * every error names the flag and the value.  Range checks are left to
 * jailer_config_validate(), which judges flags and files alike.
 */
#include "cli.h"
#include "jailer-internal.h"

#include <stdio.h>
#include <string.h>

#define QUOTE_MAX 200
#define Q(s) QUOTE_MAX, (s), (strlen(s) > QUOTE_MAX ? "..." : "")
#define CPUS_MAX 1024

enum opt_id {
        OPT_CONFIG,
        OPT_ID,
        OPT_EXEC,
        OPT_JAIL_ROOT,
        OPT_MEMORY,
        OPT_CPU,
        OPT_CPU_QUOTA,
        OPT_CPU_PERIOD,
        OPT_PIDS,
        OPT_MAX_FDS,
        OPT_MAX_PROCS,
        OPT_MAX_FILE_SIZE,
        OPT_TIMEOUT,
        OPT_UID,
        OPT_GID,
        OPT_BIND,
        OPT_ENV,
        OPT_WORKDIR,
        OPT_HOSTNAME,
        OPT_DEVICE,
        OPT_NETNS,
        OPT_TAP,
        OPT_NO_NS,
        OPT_CGROUP_VERSION,
        OPT_CGROUP_PARENT,
        OPT_SECCOMP,
        OPT_NO_KVM,
        OPT_SECCOMP_KILL,
        OPT_SECCOMP_ALLOW,
        /* pinning */
        OPT_CPUS,
        OPT_MEMS,
        OPT_CPUS_EXCLUSIVE,
        /* I/O limits */
        OPT_IO,
        OPT_IO_WEIGHT,
};

struct opt {
        const char *name;
        bool has_arg;
        enum opt_id id;
        jailer_namespace ns; /* OPT_NO_NS only */
};

static const struct opt options[] = {
        { "config", true, OPT_CONFIG, 0 },
        { "id", true, OPT_ID, 0 },
        { "exec", true, OPT_EXEC, 0 },
        { "jail-root", true, OPT_JAIL_ROOT, 0 },
        { "memory", true, OPT_MEMORY, 0 },
        { "cpu", true, OPT_CPU, 0 },
        { "cpu-quota", true, OPT_CPU_QUOTA, 0 },
        { "cpu-period", true, OPT_CPU_PERIOD, 0 },
        { "pids", true, OPT_PIDS, 0 },
        { "max-fds", true, OPT_MAX_FDS, 0 },
        { "max-procs", true, OPT_MAX_PROCS, 0 },
        { "max-file-size", true, OPT_MAX_FILE_SIZE, 0 },
        { "timeout", true, OPT_TIMEOUT, 0 },
        { "uid", true, OPT_UID, 0 },
        { "gid", true, OPT_GID, 0 },
        { "bind", true, OPT_BIND, 0 },
        { "env", true, OPT_ENV, 0 },
        { "workdir", true, OPT_WORKDIR, 0 },
        { "hostname", true, OPT_HOSTNAME, 0 },
        { "device", true, OPT_DEVICE, 0 },
        { "netns", true, OPT_NETNS, 0 },
        { "tap", true, OPT_TAP, 0 },
        { "no-user-ns", false, OPT_NO_NS, JAILER_NS_USER },
        { "no-pid-ns", false, OPT_NO_NS, JAILER_NS_PID },
        { "no-mount-ns", false, OPT_NO_NS, JAILER_NS_MOUNT },
        { "no-net-ns", false, OPT_NO_NS, JAILER_NS_NETWORK },
        { "no-uts-ns", false, OPT_NO_NS, JAILER_NS_UTS },
        { "no-ipc-ns", false, OPT_NO_NS, JAILER_NS_IPC },
        { "no-cgroup-ns", false, OPT_NO_NS, JAILER_NS_CGROUP },
        { "cgroup-version", true, OPT_CGROUP_VERSION, 0 },
        { "cgroup-parent", true, OPT_CGROUP_PARENT, 0 },
        { "seccomp", true, OPT_SECCOMP, 0 },
        { "no-kvm", false, OPT_NO_KVM, 0 },
        { "seccomp-kill", false, OPT_SECCOMP_KILL, 0 },
        { "seccomp-allow", true, OPT_SECCOMP_ALLOW, 0 },
        /* pinning */
        { "cpus", true, OPT_CPUS, 0 },
        { "mems", true, OPT_MEMS, 0 },
        { "cpus-exclusive", false, OPT_CPUS_EXCLUSIVE, 0 },
        /* I/O limits */
        { "io", true, OPT_IO, 0 },
        { "io-weight", true, OPT_IO_WEIGHT, 0 },
};

const char *jl_cli_usage(void)
{
        return "Jail options:\n"
               "  --config FILE            load a JSON config first; other flags override it\n"
               "  --id ID                  jail id: letters, digits, '-', '_' (1-64)\n"
               "  --exec PATH              absolute path of the program to run\n"
               "  --jail-root DIR          directory that becomes the jail's /\n"
               "  --memory SIZE            memory limit, e.g. 512M, 1G (K/M/G/T or KiB..TiB)\n"
               "  --cpu CPUS               CPU limit in CPUs, e.g. 0.5 or 2\n"
               "  --cpu-quota US           CPU quota per period, in microseconds\n"
               "  --cpu-period US          CPU period in microseconds (default 100000)\n"
               "  --pids N                 maximum number of tasks in the jail's cgroup\n"
               "  --cpus LIST              pin to these cpus, e.g. 2-3 or 4,6 (cpuset)\n"
               "  --mems LIST              pin memory to these NUMA nodes, e.g. 0\n"
               "  --cpus-exclusive         jailerd keeps its other pinned jails off --cpus\n"
               "  --io DEV,KEY=N[,...]     I/O limit of a block device (MAJ:MIN or a path):\n"
               "                           rbps, wbps (bytes/s, e.g. 10M), riops, wiops\n"
               "                           (repeatable)\n"
               "  --io-weight N            proportional I/O weight, 1-10000 (default 100)\n"
               "  --max-fds N              RLIMIT_NOFILE (default 1024)\n"
               "  --max-procs N            RLIMIT_NPROC (default 64)\n"
               "  --max-file-size SIZE     RLIMIT_FSIZE, or 'unlimited' (default)\n"
               "  --timeout MS             kill the jail after MS milliseconds (0: never)\n"
               "  --uid N, --gid N         the jailed program's uid/gid (default 65534)\n"
               "  --bind SRC:DEST[:ro|:rw] bind mount SRC at DEST in the jail (default ro)\n"
               "  --env NAME=VALUE         set an environment variable (repeatable)\n"
               "  --workdir DIR            working directory inside the jail (default /)\n"
               "  --hostname NAME          hostname inside the jail (default: the id)\n"
               "  --device PATH            extra device node, e.g. /dev/net/tun (repeatable)\n"
               "  --netns PATH             join this network namespace, e.g. /run/netns/NAME\n"
               "  --tap NAME               a tap owned by the jail in its network namespace\n"
               "                           (repeatable; options in the config's \"taps\")\n"
               "  --no-kvm                 no /dev/kvm, even when the host has it\n"
               "  --no-user-ns, --no-pid-ns, --no-mount-ns, --no-net-ns, --no-uts-ns,\n"
               "  --no-ipc-ns, --no-cgroup-ns\n"
               "                           leave out one namespace\n"
               "  --cgroup-version auto|v1|v2\n"
               "                           cgroup backend (default auto)\n"
               "  --cgroup-parent REL      parent cgroup, relative to the hierarchy root\n"
               "  --seccomp default|none|PROFILE\n"
               "                           seccomp filter: the baseline (default), none, or\n"
               "                           an OCI runtime-spec profile (JSON file)\n"
               "  --seccomp-kill           a denied syscall kills the process (default: EPERM)\n"
               "  --seccomp-allow NAME     let one syscall of the baseline through (repeatable)\n"
               "  -- ARGS...               arguments of the jailed program\n";
}

/* ------------------------------------------------------------ tokenizing */

struct flag {
        const char *name;       /* points into argv, without "--" */
        size_t name_len;
        char label[64];         /* "--name" for messages, truncated */
        const struct opt *opt;  /* one of ours, or NULL */
        const struct jl_cli_flag *extra;
        const char *value;      /* NULL for flags without a value */
};

/* Read the flag at argv[*i] and its value.  Returns 1 with *f filled and
 * *i advanced, 0 at "--" (with *i past it) or at the end, -1 on error. */
static int next_flag(int argc, char **argv, int *i, const struct jl_cli_flag *extra, struct flag *f,
                     jailer_error *err)
{
        const char *arg, *eq;

        if (*i >= argc)
                return 0;
        arg = argv[*i];
        if (strcmp(arg, "--") == 0) {
                (*i)++;
                return 0;
        }
        if (arg[0] != '-' || arg[1] == '\0')
                return jl_config_bad(err, NULL, "unexpected argument \"%.*s%s\" (the program's arguments go after --)",
                               Q(arg));
        if (arg[1] != '-') {
                char label[64];

                snprintf(label, sizeof(label), "%s", arg);
                return jl_config_bad(err, label, "unknown option");
        }

        *f = (struct flag) { .name = arg + 2 };
        eq = strchr(f->name, '=');
        f->name_len = eq ? (size_t) (eq - f->name) : strlen(f->name);
        snprintf(f->label, sizeof(f->label), "--%.*s", (int) f->name_len, f->name);

        for (const struct jl_cli_flag *e = extra; e && e->name; e++)
                if (strlen(e->name) == f->name_len && strncmp(e->name, f->name, f->name_len) == 0) {
                        f->extra = e;
                        break;
                }
        if (!f->extra)
                for (size_t k = 0; k < ELEMENTSOF(options); k++)
                        if (strlen(options[k].name) == f->name_len &&
                            strncmp(options[k].name, f->name, f->name_len) == 0) {
                                f->opt = &options[k];
                                break;
                        }
        if (!f->opt && !f->extra)
                return jl_config_bad(err, f->label, "unknown option");

        (*i)++;
        if (!(f->opt ? f->opt->has_arg : f->extra->has_arg)) {
                if (eq)
                        return jl_config_bad(err, f->label, "takes no value");
                return 1;
        }

        if (eq)
                f->value = eq + 1;
        else if (*i < argc && strcmp(argv[*i], "--") != 0)
                f->value = argv[(*i)++];
        else
                return jl_config_bad(err, f->label, "missing value");
        return 1;
}

/* ------------------------------------------------------------ values */

static int parse_number(jailer_error *err, const struct flag *f, uint64_t max, uint64_t *out)
{
        uint64_t v;

        if (jl_parse_u64(f->value, &v) < 0) {
                if (errno == ERANGE)
                        return jl_config_bad(err, f->label, "\"%.*s%s\" is too large", Q(f->value));
                return jl_config_bad(err, f->label, "\"%.*s%s\" is not a non-negative decimal number", Q(f->value));
        }
        if (v > max)
                return jl_config_bad(err, f->label, "\"%.*s%s\" is too large (at most %llu)", Q(f->value),
                               (unsigned long long) max);
        *out = v;
        return 0;
}

static int parse_size_value(jailer_error *err, const struct flag *f, uint64_t *out)
{
        uint64_t v;

        if (jl_parse_size(f->value, &v) < 0) {
                if (errno == ERANGE)
                        return jl_config_bad(err, f->label, "\"%.*s%s\" is too large", Q(f->value));
                return jl_config_bad(err, f->label, "\"%.*s%s\" is not a size (use e.g. 512M, 1G)", Q(f->value));
        }
        /* JL_UNSET means "no limit"; it cannot be a size someone asked for. */
        if (v == JL_UNSET)
                return jl_config_bad(err, f->label, "\"%.*s%s\" is too large", Q(f->value));
        *out = v;
        return 0;
}

/* A decimal number of CPUs: "2", "0.5", ".25".  No sign, no exponent, no
 * locale: the decimal separator is always '.'. */
static int parse_cpus(jailer_error *err, const struct flag *f, double *out)
{
        const char *s = f->value;
        double ip = 0, frac = 0, scale = 1;
        size_t digits = 0;

        for (; *s >= '0' && *s <= '9'; s++, digits++)
                if (ip <= CPUS_MAX * 10.0)
                        ip = ip * 10 + (*s - '0');
        if (*s == '.') {
                s++;
                for (; *s >= '0' && *s <= '9'; s++, digits++)
                        if (scale < 1e15) {
                                scale *= 10;
                                frac = frac * 10 + (*s - '0');
                        }
        }
        if (*s != '\0' || digits == 0)
                return jl_config_bad(err, f->label, "\"%.*s%s\" is not a number of CPUs (e.g. 0.5 or 2)", Q(f->value));

        *out = ip + frac / scale;
        if (*out <= 0)
                return jl_config_bad(err, f->label, "\"%.*s%s\" must be more than 0", Q(f->value));
        if (*out > CPUS_MAX)
                return jl_config_bad(err, f->label, "\"%.*s%s\" is more than %d CPUs", Q(f->value), CPUS_MAX);
        return 0;
}

static int parse_bind(jailer_error *err, const struct flag *f, jailer_config *c)
{
        _cleanup_free_ char *copy = strdup(f->value);
        char *parts[4] = { 0 };
        size_t n = 0;
        bool read_only = true;

        if (!copy)
                return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, f->label, "cannot store the value");

        /* Paths containing ':' cannot be given here; the config file takes them. */
        for (char *p = copy, *tok; (tok = strsep(&p, ":"));) {
                if (n == ELEMENTSOF(parts))
                        goto bad;
                parts[n++] = tok;
        }
        if (n < 2 || n > 3 || parts[0][0] == '\0' || parts[1][0] == '\0')
                goto bad;
        if (n == 3) {
                if (strcmp(parts[2], "ro") == 0)
                        read_only = true;
                else if (strcmp(parts[2], "rw") == 0)
                        read_only = false;
                else
                        goto bad;
        }

        if (jailer_config_add_bind_mount(c, parts[0], parts[1], read_only) < 0)
                return jl_error(err, JAILER_STEP_CONFIG, errno, f->label, "cannot store the value");
        return 0;

bad:
        return jl_config_bad(err, f->label, "\"%.*s%s\" is not SRC:DEST[:ro|:rw]", Q(f->value));
}

static int parse_env(jailer_error *err, const struct flag *f, jailer_config *c)
{
        const char *eq = strchr(f->value, '=');
        _cleanup_free_ char *key = NULL;

        if (!eq || eq == f->value)
                return jl_config_bad(err, f->label, "\"%.*s%s\" is not NAME=VALUE", Q(f->value));
        key = strndup(f->value, (size_t) (eq - f->value));
        if (!key || jailer_config_add_env(c, key, eq + 1) < 0)
                return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, f->label, "cannot store the value");
        return 0;
}

/* --io DEVICE,KEY=VALUE[,KEY=VALUE...]: KEY rbps, wbps (sizes, e.g. 10M),
 * riops, wiops. */
static int parse_io(jailer_error *err, const struct flag *f, jailer_config *c)
{
        static const char *const names[4] = { "rbps", "wbps", "riops", "wiops" };
        uint64_t v[4] = { JL_UNSET, JL_UNSET, JL_UNSET, JL_UNSET };
        _cleanup_free_ char *copy = strdup(f->value);
        char *save = NULL;

        if (!copy)
                return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, f->label, "cannot store the value");
        char *device = strtok_r(copy, ",", &save);
        if (!device || f->value[0] == ',')
                return jl_config_bad(err, f->label, "\"%.*s%s\" is not DEVICE,KEY=VALUE[,...]", Q(f->value));
        for (char *kv = strtok_r(NULL, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(kv, '=');
                size_t i;

                if (eq)
                        *eq = '\0';
                for (i = 0; i < ELEMENTSOF(names); i++)
                        if (strcmp(kv, names[i]) == 0)
                                break;
                if (!eq || i == ELEMENTSOF(names))
                        return jl_config_bad(err, f->label,
                                             "\"%.*s%s\": \"%s\" is not one of rbps=, wbps=, riops=, wiops=",
                                             Q(f->value), kv);
                if (jl_parse_size(eq + 1, &v[i]) < 0 || v[i] == JL_UNSET)
                        return jl_config_bad(err, f->label, "\"%.*s%s\": %s: \"%s\" is not a number (e.g. 100, 10M)",
                                             Q(f->value), kv, eq + 1);
        }
        if (jailer_config_add_io_limit(c, device, v[0], v[1], v[2], v[3]) < 0)
                return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, f->label, "cannot store the value");
        return 0;
}

static int parse_cgroup_version(jailer_error *err, const struct flag *f, jailer_config *c)
{
        jailer_cgroup_version v;

        if (strcmp(f->value, "auto") == 0)
                v = JAILER_CGROUP_AUTO;
        else if (strcmp(f->value, "v1") == 0)
                v = JAILER_CGROUP_V1;
        else if (strcmp(f->value, "v2") == 0)
                v = JAILER_CGROUP_V2;
        else
                return jl_config_bad(err, f->label, "\"%.*s%s\" is not one of auto, v1, v2", Q(f->value));
        return jailer_config_set_cgroup_version(c, v);
}

static void clear_args(jailer_config *c)
{
        for (size_t i = 0; i < c->n_exec_args; i++)
                free(c->exec_args[i]);
        c->n_exec_args = 0;
        if (c->exec_args)
                c->exec_args[0] = NULL;
}

struct cpu_flags {
        bool cpu_given;
        double cpus;
        bool quota_given;
};

/* The flags whose value is a string the config keeps as it is. */
static int (*string_setter(int id))(jailer_config *, const char *)
{
        switch (id) {
        case OPT_ID:
                return jailer_config_set_id;
        case OPT_EXEC:
                return jailer_config_set_exec_path;
        case OPT_JAIL_ROOT:
                return jailer_config_set_jail_root;
        case OPT_WORKDIR:
                return jailer_config_set_workdir;
        case OPT_HOSTNAME:
                return jailer_config_set_hostname;
        case OPT_DEVICE:
                return jailer_config_add_device;
        case OPT_NETNS:
                return jailer_config_set_netns;
        case OPT_CGROUP_PARENT:
                return jailer_config_set_cgroup_parent;
        case OPT_SECCOMP:
                return jailer_config_set_seccomp;
        case OPT_SECCOMP_ALLOW:
                return jailer_config_add_seccomp_allow;
        case OPT_CPUS:
                return jailer_config_set_cpus;
        case OPT_MEMS:
                return jailer_config_set_mems;
        default:
                return NULL;
        }
}

/* The limits: sizes, counts, the cpu share. */
static int apply_limit(jailer_error *err, const struct flag *f, jailer_config *c, struct cpu_flags *cpu)
{
        uint64_t v;

        switch (f->opt->id) {
        case OPT_MEMORY:
                if (parse_size_value(err, f, &v) < 0)
                        return -1;
                c->limits.memory_bytes = v;
                return 0;
        case OPT_MAX_FILE_SIZE:
                if (strcmp(f->value, "unlimited") == 0) {
                        c->limits.max_file_size = JL_UNSET;
                        return 0;
                }
                if (parse_size_value(err, f, &v) < 0)
                        return -1;
                c->limits.max_file_size = v;
                return 0;
        case OPT_CPU:
                cpu->cpu_given = true;
                return parse_cpus(err, f, &cpu->cpus);
        case OPT_CPU_QUOTA:
                cpu->quota_given = true;
                return parse_number(err, f, JL_UNSET - 1, &c->limits.cpu_quota_us);
        case OPT_CPU_PERIOD:
                return parse_number(err, f, JL_UNSET - 1, &c->limits.cpu_period_us);
        case OPT_PIDS:
                return parse_number(err, f, JL_UNSET - 1, &c->limits.pids);
        case OPT_MAX_FDS:
                return parse_number(err, f, JL_UNSET - 1, &c->limits.max_fds);
        case OPT_MAX_PROCS:
                return parse_number(err, f, JL_UNSET - 1, &c->limits.max_procs);
        case OPT_TIMEOUT:
                return parse_number(err, f, JL_UNSET - 1, &c->limits.timeout_ms);
        case OPT_IO:
                return parse_io(err, f, c);
        case OPT_IO_WEIGHT:
                return parse_number(err, f, JL_UNSET - 1, &c->limits.io_weight);
        default:
                return 1;
        }
}

static int apply(jailer_error *err, const struct flag *f, jailer_config *c, struct cpu_flags *cpu)
{
        int (*set_str)(jailer_config *, const char *) = string_setter(f->opt->id);
        uint64_t v;
        int r;

        if (set_str) {
                if (set_str(c, f->value) < 0)
                        return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, f->label, "cannot store the value");
                return 0;
        }
        r = apply_limit(err, f, c, cpu);
        if (r <= 0)
                return r;
        switch (f->opt->id) {
        case OPT_CONFIG:
                return 0; /* loaded before the first flag */
        case OPT_TAP:
                if (jailer_config_add_tap(c, &(jailer_tap) { .name = f->value }) < 0)
                        return jl_config_bad(err, f->label, "%s", strerror(errno));
                return 0;
        case OPT_SECCOMP_KILL:
                c->seccomp_kill = true;
                return 0;
        case OPT_NO_KVM:
                c->kvm = false;
                return 0;
        case OPT_CPUS_EXCLUSIVE:
                c->limits.cpus_exclusive = true;
                return 0;
        case OPT_UID:
        case OPT_GID:
                if (parse_number(err, f, UINT32_MAX, &v) < 0)
                        return -1;
                if (f->opt->id == OPT_UID)
                        c->uid = (uid_t) v;
                else
                        c->gid = (gid_t) v;
                return 0;
        case OPT_BIND:
                return parse_bind(err, f, c);
        case OPT_ENV:
                return parse_env(err, f, c);
        case OPT_NO_NS:
                return jailer_config_set_namespace(c, f->opt->ns, false);
        case OPT_CGROUP_VERSION:
                return parse_cgroup_version(err, f, c);
        default:
                return jl_config_bad(err, f->label, "unhandled option");
        }
}

static void config_freep(jailer_config **c)
{
        jailer_config_free(*c);
}

int jl_cli_parse(int argc, char **argv, const struct jl_cli_flag *extra, jl_cli_extra_fn fn, void *userdata,
                 jailer_config **out, jailer_error *err)
{
        _cleanup_(config_freep) jailer_config *c = NULL;
        const char *config_file = NULL;
        struct cpu_flags cpu = { 0 };
        struct flag f;
        int i, r;

        if (!argv || !out)
                return jl_error(err, JAILER_STEP_CONFIG, EINVAL, NULL, "no arguments");

        /* Pass 1: syntax of every flag, and where the config file is. */
        for (i = 1; (r = next_flag(argc, argv, &i, extra, &f, err)) > 0;)
                if (f.opt && f.opt->id == OPT_CONFIG) {
                        if (config_file)
                                return jl_config_bad(err, f.label, "given twice");
                        config_file = f.value;
                }
        if (r < 0)
                return -1;

        if (config_file) {
                if (jailer_config_from_file(config_file, &c, err) < 0)
                        return -1;
        } else {
                c = jailer_config_new(NULL, NULL, NULL);
                if (!c)
                        return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, NULL, "cannot allocate the config");
        }

        /* Pass 2: apply the flags in order; later ones win. */
        for (i = 1; (r = next_flag(argc, argv, &i, extra, &f, err)) > 0;) {
                if (f.extra) {
                        if (!fn)
                                return jl_config_bad(err, f.label, "unknown option");
                        if (fn(userdata, f.extra->name, f.value, err) < 0)
                                return -1;
                        continue;
                }
                if (apply(err, &f, c, &cpu) < 0)
                        return -1;
        }
        if (r < 0)
                return -1;

        /* "--" replaces the arguments a config file gave, even with none. */
        if (i <= argc && i > 1 && strcmp(argv[i - 1], "--") == 0) {
                clear_args(c);
                for (; i < argc; i++)
                        if (jailer_config_add_arg(c, argv[i]) < 0)
                                return jl_error(err, JAILER_STEP_CONFIG, ENOMEM, NULL, "cannot store the arguments");
        }

        /* --cpu is a share of the period, whichever flag came first. */
        if (cpu.cpu_given) {
                if (cpu.quota_given)
                        return jl_config_bad(err, "--cpu", "cannot be combined with --cpu-quota");
                if (jailer_config_set_cpu_limit(c, cpu.cpus) < 0)
                        return jl_config_bad(err, "--cpu", "%g CPUs cannot be applied to a period of %llu us", cpu.cpus,
                                       (unsigned long long) c->limits.cpu_period_us);
        }

        *out = TAKE_PTR(c);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The jail config: its lifecycle, setters, and jailer_config_validate().
 *
 * Setters only store; every rule lives in jailer_config_validate(), so that a
 * config built by the API, by JSON or by CLI flags is judged the same way,
 * and the first problem is reported with the field at fault and its value.
 */
#include "jailer-internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_NOBODY 65534
#define DEFAULT_MAX_FDS 1024
#define DEFAULT_MAX_PROCS 64
#define DEFAULT_CPU_PERIOD_US 100000

#define CPU_PERIOD_MIN 1000ULL
#define CPU_PERIOD_MAX 1000000ULL
#define CPU_QUOTA_MIN 1000ULL
#define CPU_QUOTA_MAX (1000000ULL * 1024) /* 1024 CPUs at the longest period */
#define MEMORY_MIN (1ULL << 20)
#define MEMORY_MAX (1ULL << 62)
#define MAX_FDS_MAX 1048576ULL
#define TASKS_MAX 4194304ULL /* the kernel's PID_MAX_LIMIT on 64-bit */
#define TIMEOUT_MAX (30ULL * 24 * 3600 * 1000)

#define MAX_ARGS 4096
#define MAX_ENV 4096
#define MAX_BINDS 256
#define MAX_IO 16
/* limits.io_weight: cgroup v2's io.weight range (BFQ's is 1-1000). */
#define IO_WEIGHT_MIN 1ULL
#define IO_WEIGHT_MAX 10000ULL
#define MAX_DEVICES 64
#define HOSTNAME_MAX 64
#define CGROUP_PARENT_MAX 255

/* How much of a user-supplied value is quoted back in a message. */
#define QUOTE_MAX 200
#define Q(s) QUOTE_MAX, (s), (strlen(s) > QUOTE_MAX ? "..." : "")

/* ------------------------------------------------------------ lifecycle */

static int set_str(char **slot, const char *value)
{
        char *copy = NULL;

        if (value) {
                copy = strdup(value);
                if (!copy)
                        return -1;
        }
        free(*slot);
        *slot = copy;
        return 0;
}

/* Grow an array of elem-sized items so that it can hold n + extra items. */
static int grow(void **array, size_t n, size_t extra, size_t elem)
{
        void *p;

        if (n > SIZE_MAX / elem - extra) {
                errno = ENOMEM;
                return -1;
        }
        p = realloc(*array, (n + extra) * elem);
        if (!p)
                return -1;
        *array = p;
        return 0;
}

jailer_config *jailer_config_new(const char *id, const char *exec_path, const char *jail_root)
{
        jailer_config *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;

        c->uid = DEFAULT_NOBODY;
        c->gid = DEFAULT_NOBODY;
        c->limits.cpu_quota_us = JL_UNSET;
        c->limits.cpu_period_us = DEFAULT_CPU_PERIOD_US;
        c->limits.memory_bytes = JL_UNSET;
        c->limits.max_fds = DEFAULT_MAX_FDS;
        c->limits.max_procs = DEFAULT_MAX_PROCS;
        c->limits.max_file_size = JL_UNSET;
        c->limits.pids = JL_UNSET;
        c->limits.timeout_ms = 0;
        c->limits.io_weight = JL_UNSET;
        for (size_t i = 0; i < JAILER_NS_COUNT; i++)
                c->ns[i] = true;
        c->cgroup_version = JAILER_CGROUP_AUTO;
        c->kvm = true;
        c->exec_fd = -1;
        c->seccomp_fd = -1;
        c->jail_root_fd = -1;
        c->jail_root_parent_fd = -1;
        c->netns_fd = -1;

        /* exec_args is always a valid NULL-terminated array. */
        c->exec_args = calloc(1, sizeof(char *));
        c->workdir = strdup("/");
        if (!c->exec_args || !c->workdir || set_str(&c->id, id) < 0 || set_str(&c->exec_path, exec_path) < 0 ||
            set_str(&c->jail_root, jail_root) < 0) {
                jailer_config_free(c);
                errno = ENOMEM;
                return NULL;
        }

        return c;
}

void jailer_config_free(jailer_config *c)
{
        if (!c)
                return;

        free(c->id);
        free(c->exec_path);
        if (c->exec_args)
                for (size_t i = 0; i < c->n_exec_args; i++)
                        free(c->exec_args[i]);
        free(c->exec_args);
        free(c->jail_root);
        for (size_t i = 0; i < c->n_binds; i++) {
                free(c->binds[i].source);
                free(c->binds[i].dest);
        }
        free(c->binds);
        free(c->workdir);
        for (size_t i = 0; i < c->n_env; i++) {
                free(c->env[i].key);
                free(c->env[i].value);
        }
        free(c->env);
        free(c->hostname);
        for (size_t i = 0; i < c->n_devices; i++)
                free(c->devices[i]);
        free(c->devices);
        free(c->cgroup_parent);
        free(c->limits.cpus);
        free(c->limits.mems);
        for (size_t i = 0; i < c->limits.n_io; i++)
                free(c->limits.io[i].device);
        free(c->limits.io);
        free(c->seccomp);
        for (size_t i = 0; i < c->n_seccomp_allow; i++)
                free(c->seccomp_allow[i]);
        free(c->seccomp_allow);
        free(c->netns);
        for (size_t i = 0; i < c->n_taps; i++) {
                free((char *) c->taps[i].name);
                free((char *) c->taps[i].mac);
        }
        free(c->taps);
        closep(&c->netns_fd);
        closep(&c->exec_fd);
        closep(&c->seccomp_fd);
        closep(&c->jail_root_fd);
        closep(&c->jail_root_parent_fd);
        for (size_t i = 0; i < c->n_bind_fds; i++)
                closep(&c->bind_fds[i]);
        free(c->bind_fds);
        for (size_t i = 0; i < c->n_device_fds; i++)
                closep(&c->device_fds[i]);
        free(c->device_fds);
        free(c);
}

/* ------------------------------------------------------------ setters */

#define CHECK_CONFIG(c)                         \
        do {                                    \
                if (!(c)) {                     \
                        errno = EINVAL;         \
                        return -1;              \
                }                               \
        } while (0)

int jailer_config_set_id(jailer_config *c, const char *id)
{
        CHECK_CONFIG(c);
        return set_str(&c->id, id);
}

int jailer_config_set_exec_path(jailer_config *c, const char *path)
{
        CHECK_CONFIG(c);
        return set_str(&c->exec_path, path);
}

int jailer_config_set_jail_root(jailer_config *c, const char *path)
{
        CHECK_CONFIG(c);
        return set_str(&c->jail_root, path);
}

int jailer_config_add_arg(jailer_config *c, const char *arg)
{
        char *copy;

        CHECK_CONFIG(c);
        if (!arg) {
                errno = EINVAL;
                return -1;
        }

        /* n entries plus the new one plus the terminating NULL */
        if (grow((void **) &c->exec_args, c->n_exec_args, 2, sizeof(char *)) < 0)
                return -1;
        copy = strdup(arg);
        if (!copy)
                return -1;
        c->exec_args[c->n_exec_args++] = copy;
        c->exec_args[c->n_exec_args] = NULL;
        return 0;
}

int jailer_config_set_uid(jailer_config *c, uid_t uid)
{
        CHECK_CONFIG(c);
        c->uid = uid;
        return 0;
}

int jailer_config_set_gid(jailer_config *c, gid_t gid)
{
        CHECK_CONFIG(c);
        c->gid = gid;
        return 0;
}

int jailer_config_set_memory_limit(jailer_config *c, uint64_t bytes)
{
        CHECK_CONFIG(c);
        c->limits.memory_bytes = bytes;
        return 0;
}

/* quota = round(cpus * period) with the period currently set. */
int jailer_config_set_cpu_limit(jailer_config *c, double cpus)
{
        double q;

        CHECK_CONFIG(c);
        if (!isfinite(cpus) || cpus <= 0) {
                errno = EINVAL;
                return -1;
        }

        /* Round half up (q is positive); no libm needed.  Beyond 2^63 the
         * conversion would be undefined, and validate() refuses anything
         * near that anyway. */
        q = cpus * (double) c->limits.cpu_period_us + 0.5;
        if (q >= 9223372036854775808.0) {
                errno = ERANGE;
                return -1;
        }
        c->limits.cpu_quota_us = (uint64_t) q;
        return 0;
}

int jailer_config_set_cpu_quota(jailer_config *c, uint64_t quota_us, uint64_t period_us)
{
        CHECK_CONFIG(c);
        c->limits.cpu_quota_us = quota_us;
        c->limits.cpu_period_us = period_us;
        return 0;
}

int jailer_config_set_pids_limit(jailer_config *c, uint64_t pids)
{
        CHECK_CONFIG(c);
        c->limits.pids = pids;
        return 0;
}

int jailer_config_set_max_fds(jailer_config *c, uint64_t n)
{
        CHECK_CONFIG(c);
        c->limits.max_fds = n;
        return 0;
}

int jailer_config_set_max_procs(jailer_config *c, uint64_t n)
{
        CHECK_CONFIG(c);
        c->limits.max_procs = n;
        return 0;
}

int jailer_config_set_max_file_size(jailer_config *c, uint64_t bytes)
{
        CHECK_CONFIG(c);
        c->limits.max_file_size = bytes;
        return 0;
}

int jailer_config_set_timeout_ms(jailer_config *c, uint64_t ms)
{
        CHECK_CONFIG(c);
        c->limits.timeout_ms = ms;
        return 0;
}

/* ---- pinning (cpuset) */

int jailer_config_set_cpus(jailer_config *c, const char *list)
{
        CHECK_CONFIG(c);
        return set_str(&c->limits.cpus, list);
}

int jailer_config_set_mems(jailer_config *c, const char *list)
{
        CHECK_CONFIG(c);
        return set_str(&c->limits.mems, list);
}

int jailer_config_set_cpus_exclusive(jailer_config *c, bool on)
{
        CHECK_CONFIG(c);
        c->limits.cpus_exclusive = on;
        return 0;
}

/* ---- I/O limits */

int jailer_config_add_io_limit(jailer_config *c, const char *device, uint64_t rbps, uint64_t wbps, uint64_t riops,
                               uint64_t wiops)
{
        CHECK_CONFIG(c);
        if (!device) {
                errno = EINVAL;
                return -1;
        }
        if (grow((void **) &c->limits.io, c->limits.n_io, 1, sizeof(*c->limits.io)) < 0)
                return -1;
        struct jl_io *io = &c->limits.io[c->limits.n_io];
        *io = (struct jl_io) { .rbps = rbps, .wbps = wbps, .riops = riops, .wiops = wiops };
        if (set_str(&io->device, device) < 0)
                return -1;
        c->limits.n_io++;
        return 0;
}

int jailer_config_set_io_weight(jailer_config *c, uint64_t weight)
{
        CHECK_CONFIG(c);
        c->limits.io_weight = weight;
        return 0;
}

int jailer_config_set_io_limit_device(jailer_config *c, size_t i, const char *device)
{
        CHECK_CONFIG(c);
        if (i >= c->limits.n_io || !device) {
                errno = EINVAL;
                return -1;
        }
        return set_str(&c->limits.io[i].device, device);
}

/* ---- */

int jailer_config_set_namespace(jailer_config *c, jailer_namespace ns, bool on)
{
        CHECK_CONFIG(c);
        if ((unsigned) ns >= JAILER_NS_COUNT) {
                errno = EINVAL;
                return -1;
        }
        c->ns[ns] = on;
        c->ns_given[ns] = true;
        return 0;
}

int jailer_config_add_bind_mount(jailer_config *c, const char *source, const char *dest, bool read_only)
{
        _cleanup_free_ char *s = NULL, *d = NULL;

        CHECK_CONFIG(c);
        if (!source || !dest) {
                errno = EINVAL;
                return -1;
        }

        s = strdup(source);
        d = strdup(dest);
        if (!s || !d)
                return -1;
        if (grow((void **) &c->binds, c->n_binds, 1, sizeof(*c->binds)) < 0)
                return -1;
        c->binds[c->n_binds++] = (struct jl_bind) {
                .source = TAKE_PTR(s),
                .dest = TAKE_PTR(d),
                .read_only = read_only,
        };
        return 0;
}

/* Setting a key that is already present replaces its value: the jailed
 * program must never see the same name twice in its environment. */
int jailer_config_add_env(jailer_config *c, const char *key, const char *value)
{
        _cleanup_free_ char *k = NULL, *v = NULL;

        CHECK_CONFIG(c);
        if (!key || !value) {
                errno = EINVAL;
                return -1;
        }

        v = strdup(value);
        if (!v)
                return -1;

        for (size_t i = 0; i < c->n_env; i++)
                if (strcmp(c->env[i].key, key) == 0) {
                        free(c->env[i].value);
                        c->env[i].value = TAKE_PTR(v);
                        return 0;
                }

        k = strdup(key);
        if (!k)
                return -1;
        if (grow((void **) &c->env, c->n_env, 1, sizeof(*c->env)) < 0)
                return -1;
        c->env[c->n_env++] = (struct jl_env) {
                .key = TAKE_PTR(k),
                .value = TAKE_PTR(v),
        };
        return 0;
}

/* NULL restores the default, "/". */
int jailer_config_set_workdir(jailer_config *c, const char *path)
{
        CHECK_CONFIG(c);
        return set_str(&c->workdir, path ?: "/");
}

/* NULL restores the default: the jail id. */
int jailer_config_set_hostname(jailer_config *c, const char *hostname)
{
        CHECK_CONFIG(c);
        return set_str(&c->hostname, hostname);
}

int jailer_config_add_device(jailer_config *c, const char *path)
{
        char *copy;

        CHECK_CONFIG(c);
        if (!path) {
                errno = EINVAL;
                return -1;
        }

        if (grow((void **) &c->devices, c->n_devices, 1, sizeof(char *)) < 0)
                return -1;
        copy = strdup(path);
        if (!copy)
                return -1;
        c->devices[c->n_devices++] = copy;
        return 0;
}

int jailer_config_set_netns(jailer_config *c, const char *path)
{
        CHECK_CONFIG(c);
        return set_str(&c->netns, path);
}

int jailer_config_add_tap(jailer_config *c, const jailer_tap *tap)
{
        jailer_tap t;

        CHECK_CONFIG(c);
        if (!tap || !tap->name) {
                errno = EINVAL;
                return -1;
        }
        if (grow((void **) &c->taps, c->n_taps, 1, sizeof(*c->taps)) < 0)
                return -1;
        t = *tap;
        t.name = strdup(tap->name);
        t.mac = tap->mac ? strdup(tap->mac) : NULL;
        if (!t.name || (tap->mac && !t.mac)) {
                free((char *) t.name);
                free((char *) t.mac);
                errno = ENOMEM;
                return -1;
        }
        c->taps[c->n_taps++] = t;
        return 0;
}

int jailer_config_set_cgroup_version(jailer_config *c, jailer_cgroup_version v)
{
        CHECK_CONFIG(c);
        switch (v) {
        case JAILER_CGROUP_AUTO:
        case JAILER_CGROUP_V1:
        case JAILER_CGROUP_V2:
                c->cgroup_version = v;
                return 0;
        default:
                errno = EINVAL;
                return -1;
        }
}

/* NULL restores the default parent ("jailer"). */
int jailer_config_set_cgroup_parent(jailer_config *c, const char *relpath)
{
        CHECK_CONFIG(c);
        return set_str(&c->cgroup_parent, relpath);
}

/* NULL restores the default ("default"). */
int jailer_config_set_seccomp(jailer_config *c, const char *mode)
{
        CHECK_CONFIG(c);
        return set_str(&c->seccomp, mode);
}

int jailer_config_set_kvm(jailer_config *c, bool kvm)
{
        CHECK_CONFIG(c);
        c->kvm = kvm;
        return 0;
}

int jailer_config_set_seccomp_kill(jailer_config *c, bool kill)
{
        CHECK_CONFIG(c);
        c->seccomp_kill = kill;
        return 0;
}

int jailer_config_add_seccomp_allow(jailer_config *c, const char *syscall_name)
{
        char *copy;

        CHECK_CONFIG(c);
        if (!syscall_name) {
                errno = EINVAL;
                return -1;
        }
        if (grow((void **) &c->seccomp_allow, c->n_seccomp_allow, 1, sizeof(char *)) < 0)
                return -1;
        copy = strdup(syscall_name);
        if (!copy)
                return -1;
        c->seccomp_allow[c->n_seccomp_allow++] = copy;
        return 0;
}

/* ------------------------------------------------------------ fd forms */

/* Replace *slot with a private duplicate of fd (-1: forget it). */
static int set_fd(int *slot, int fd)
{
        int copy = -1;

        if (fd >= 0) {
                copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (copy < 0)
                        return -1;
        }
        closep(slot);
        *slot = copy;
        return 0;
}

/* Slot i of a lazily allocated array of n fds, all -1 to begin with. */
static int *fd_slot(int **fds, size_t *n_fds, size_t n, size_t i)
{
        if (i >= n) {
                errno = EINVAL;
                return NULL;
        }
        if (*n_fds < n) {
                int *nf = realloc(*fds, n * sizeof(int));

                if (!nf)
                        return NULL;
                for (size_t k = *n_fds; k < n; k++)
                        nf[k] = -1;
                *fds = nf;
                *n_fds = n;
        }
        return &(*fds)[i];
}

int jailer_config_set_exec_fd(jailer_config *c, int fd)
{
        CHECK_CONFIG(c);
        return set_fd(&c->exec_fd, fd);
}

int jailer_config_set_seccomp_fd(jailer_config *c, int fd)
{
        CHECK_CONFIG(c);
        return set_fd(&c->seccomp_fd, fd);
}

int jailer_config_set_jail_root_fd(jailer_config *c, int root_fd, int parent_fd)
{
        CHECK_CONFIG(c);
        return set_fd(&c->jail_root_fd, root_fd) < 0 ? -1 : set_fd(&c->jail_root_parent_fd, parent_fd);
}

int jailer_config_set_bind_source_fd(jailer_config *c, size_t index, int fd)
{
        CHECK_CONFIG(c);
        int *slot = fd_slot(&c->bind_fds, &c->n_bind_fds, c->n_binds, index);
        return slot ? set_fd(slot, fd) : -1;
}

int jailer_config_set_device_fd(jailer_config *c, size_t index, int fd)
{
        CHECK_CONFIG(c);
        int *slot = fd_slot(&c->device_fds, &c->n_device_fds, c->n_devices, index);
        return slot ? set_fd(slot, fd) : -1;
}

int jailer_config_set_netns_fd(jailer_config *c, int fd)
{
        CHECK_CONFIG(c);
        return set_fd(&c->netns_fd, fd);
}

int jl_config_bind_fd(const jailer_config *c, size_t i)
{
        return i < c->n_bind_fds ? c->bind_fds[i] : -1;
}

int jl_config_device_fd(const jailer_config *c, size_t i)
{
        return i < c->n_device_fds ? c->device_fds[i] : -1;
}

/* ------------------------------------------------------------ getters */

/* A getter's body: the field, or `none` for a NULL config. */
#define GET(c, expr, none) ((c) ? (expr) : (none))

const char *jailer_config_get_id(const jailer_config *c) { return GET(c, c->id, NULL); }
const char *jailer_config_get_exec_path(const jailer_config *c) { return GET(c, c->exec_path, NULL); }
const char *jailer_config_get_jail_root(const jailer_config *c) { return GET(c, c->jail_root, NULL); }
uid_t jailer_config_get_uid(const jailer_config *c) { return GET(c, c->uid, (uid_t) -1); }
gid_t jailer_config_get_gid(const jailer_config *c) { return GET(c, c->gid, (gid_t) -1); }

uint64_t jailer_config_get_memory_limit(const jailer_config *c) { return GET(c, c->limits.memory_bytes, JL_UNSET); }
uint64_t jailer_config_get_cpu_quota(const jailer_config *c) { return GET(c, c->limits.cpu_quota_us, JL_UNSET); }
uint64_t jailer_config_get_cpu_period(const jailer_config *c) { return GET(c, c->limits.cpu_period_us, 0); }
uint64_t jailer_config_get_pids_limit(const jailer_config *c) { return GET(c, c->limits.pids, JL_UNSET); }
uint64_t jailer_config_get_max_fds(const jailer_config *c) { return GET(c, c->limits.max_fds, 0); }
uint64_t jailer_config_get_max_procs(const jailer_config *c) { return GET(c, c->limits.max_procs, 0); }
uint64_t jailer_config_get_max_file_size(const jailer_config *c) { return GET(c, c->limits.max_file_size, JL_UNSET); }
uint64_t jailer_config_get_timeout_ms(const jailer_config *c) { return GET(c, c->limits.timeout_ms, 0); }

/* ---- pinning (cpuset) */
const char *jailer_config_get_cpus(const jailer_config *c) { return GET(c, c->limits.cpus, NULL); }
const char *jailer_config_get_mems(const jailer_config *c) { return GET(c, c->limits.mems, NULL); }
bool jailer_config_get_cpus_exclusive(const jailer_config *c) { return GET(c, c->limits.cpus_exclusive, false); }

int jailer_cpulist_first_common(const char *a, const char *b)
{
        jl_cpuset sa, sb;
        char why[128];

        if (!a || !b || jl_cpulist_parse(a, &sa, why, sizeof(why)) < 0 ||
            jl_cpulist_parse(b, &sb, why, sizeof(why)) < 0) {
                errno = EINVAL;
                return -2;
        }
        for (unsigned n = 0; n < JL_CPUS_MAX; n++)
                if (jl_cpuset_has(&sa, n) && jl_cpuset_has(&sb, n))
                        return (int) n;
        return -1;
}

long jailer_config_count_cpus(const jailer_config *c)
{
        jl_cpuset set;
        char why[128];

        if (!c || !c->limits.cpus)
                return 0;
        if (jl_cpulist_parse(c->limits.cpus, &set, why, sizeof(why)) < 0) {
                errno = EINVAL;
                return -1;
        }
        return (long) jl_cpuset_count(&set);
}

/* ---- I/O limits */
size_t jailer_config_n_io_limits(const jailer_config *c) { return GET(c, c->limits.n_io, 0); }
uint64_t jailer_config_get_io_weight(const jailer_config *c) { return GET(c, c->limits.io_weight, JL_UNSET); }

const char *jailer_config_get_io_limit(const jailer_config *c, size_t i, uint64_t *rbps, uint64_t *wbps,
                                       uint64_t *riops, uint64_t *wiops)
{
        if (!c || i >= c->limits.n_io)
                return NULL;
        const struct jl_io *io = &c->limits.io[i];
        if (rbps)
                *rbps = io->rbps;
        if (wbps)
                *wbps = io->wbps;
        if (riops)
                *riops = io->riops;
        if (wiops)
                *wiops = io->wiops;
        return io->device;
}
/* ---- */

bool jailer_config_get_namespace(const jailer_config *c, jailer_namespace ns)
{
        /* A joined network namespace is not a new one. */
        if (c && ns == JAILER_NS_NETWORK)
                return jl_config_new_netns(c);
        return c && (unsigned) ns < JAILER_NS_COUNT && c->ns[ns];
}

size_t jailer_config_n_bind_mounts(const jailer_config *c) { return GET(c, c->n_binds, 0); }

const char *jailer_config_get_bind_mount(const jailer_config *c, size_t i, const char **dest, bool *read_only)
{
        if (!c || i >= c->n_binds)
                return NULL;
        if (dest)
                *dest = c->binds[i].dest;
        if (read_only)
                *read_only = c->binds[i].read_only;
        return c->binds[i].source;
}

size_t jailer_config_n_env(const jailer_config *c) { return GET(c, c->n_env, 0); }

const char *jailer_config_get_env(const jailer_config *c, size_t i, const char **value)
{
        if (!c || i >= c->n_env)
                return NULL;
        if (value)
                *value = c->env[i].value;
        return c->env[i].key;
}

size_t jailer_config_n_devices(const jailer_config *c) { return GET(c, c->n_devices, 0); }

const char *jailer_config_get_device(const jailer_config *c, size_t i)
{
        return c && i < c->n_devices ? c->devices[i] : NULL;
}

const char *jailer_config_get_netns(const jailer_config *c) { return GET(c, c->netns, NULL); }
size_t jailer_config_n_taps(const jailer_config *c) { return GET(c, c->n_taps, 0); }

const jailer_tap *jailer_config_get_tap(const jailer_config *c, size_t i)
{
        return c && i < c->n_taps ? &c->taps[i] : NULL;
}

bool jailer_config_get_kvm(const jailer_config *c) { return GET(c, c->kvm, false); }
const char *jailer_config_get_cgroup_parent(const jailer_config *c) { return GET(c, c->cgroup_parent, NULL); }
const char *jailer_config_get_seccomp(const jailer_config *c) { return GET(c, c->seccomp, NULL); }
size_t jailer_config_n_seccomp_allow(const jailer_config *c) { return GET(c, c->n_seccomp_allow, 0); }

const char *jailer_config_get_seccomp_allow(const jailer_config *c, size_t i)
{
        return c && i < c->n_seccomp_allow ? c->seccomp_allow[i] : NULL;
}

int jailer_config_get_exec_fd(const jailer_config *c) { return GET(c, c->exec_fd, -1); }
int jailer_config_get_seccomp_fd(const jailer_config *c) { return GET(c, c->seccomp_fd, -1); }
int jailer_config_get_jail_root_fd(const jailer_config *c) { return GET(c, c->jail_root_fd, -1); }
int jailer_config_get_jail_root_parent_fd(const jailer_config *c) { return GET(c, c->jail_root_parent_fd, -1); }
int jailer_config_get_bind_source_fd(const jailer_config *c, size_t i) { return GET(c, jl_config_bind_fd(c, i), -1); }
int jailer_config_get_device_fd(const jailer_config *c, size_t i) { return GET(c, jl_config_device_fd(c, i), -1); }
int jailer_config_get_netns_fd(const jailer_config *c) { return GET(c, c->netns_fd, -1); }

/* ------------------------------------------------------------ validation */

static int bad(jailer_error *err, const char *field, const char *fmt, ...) _printf_(3, 4);
static int bad(jailer_error *err, const char *field, const char *fmt, ...)
{
        char msg[sizeof(err->message)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        return jl_error(err, JAILER_STEP_CONFIG, 0, field, "%s", msg);
}

enum {
        PATH_NOT_ROOT = 1 << 0, /* "/" itself is refused */
};

/* The rules every path of the config follows: absolute, shorter than
 * PATH_MAX, and made only of real names: no "..", no ".", no empty
 * component other than a trailing slash.  Such a path means the same thing
 * whichever directory it is resolved under, and can never climb out of it
 * lexically (symlinks are the mount code's business: it resolves beneath the
 * jail root). */
static int check_path(jailer_error *err, const char *field, const char *p, unsigned flags)
{
        size_t len;

        if (!p)
                return bad(err, field, "is required");
        len = strlen(p);
        if (len == 0)
                return bad(err, field, "must not be empty");
        if (p[0] != '/')
                return bad(err, field, "\"%.*s%s\" is not an absolute path", Q(p));
        if (len >= PATH_MAX)
                return bad(err, field, "\"%.*s%s\" is longer than %d bytes", Q(p), PATH_MAX - 1);

        for (const char *s = p + 1; *s;) {
                size_t n = strcspn(s, "/");

                if (n == 0 && s[0] == '/')
                        return bad(err, field, "\"%.*s%s\" must not contain empty components (\"//\")", Q(p));
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return bad(err, field, "\"%.*s%s\" must not contain \"..\"", Q(p));
                if (n == 1 && s[0] == '.')
                        return bad(err, field, "\"%.*s%s\" must not contain \".\" components", Q(p));
                s += n;
                if (*s == '/')
                        s++;
        }

        if ((flags & PATH_NOT_ROOT) && strcmp(p, "/") == 0)
                return bad(err, field, "\"/\" is not allowed");

        return 0;
}

/* Length of p without trailing slashes (but "/" stays 1). */
static size_t trimmed_len(const char *p)
{
        size_t n = strlen(p);

        while (n > 1 && p[n - 1] == '/')
                n--;
        return n;
}

/* Whether p (a checked path) is dir or lies beneath it. */
static bool path_is_or_under(const char *p, const char *dir)
{
        size_t dl = strlen(dir);

        if (strncmp(p, dir, dl) != 0)
                return false;
        return p[dl] == '\0' || p[dl] == '/';
}

static bool paths_equal(const char *a, const char *b)
{
        size_t la = trimmed_len(a), lb = trimmed_len(b);

        return la == lb && strncmp(a, b, la) == 0;
}

static int check_range(jailer_error *err, const char *field, uint64_t v, uint64_t min, const char *min_s, uint64_t max,
                       const char *max_s)
{
        if (v < min)
                return bad(err, field, "%llu is below the %s minimum", (unsigned long long) v, min_s);
        if (v > max)
                return bad(err, field, "%llu is above the %s maximum", (unsigned long long) v, max_s);
        return 0;
}

static bool is_alnum(char ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static int check_id(const jailer_config *c, jailer_error *err)
{
        size_t len;

        if (!c->id)
                return bad(err, "id", "is required");
        len = strlen(c->id);
        if (len == 0)
                return bad(err, "id", "must not be empty");
        if (len > JAILER_ID_MAX)
                return bad(err, "id", "\"%.*s%s\" is longer than %d characters", Q(c->id), JAILER_ID_MAX);
        for (size_t i = 0; i < len; i++)
                if (!is_alnum(c->id[i]) && c->id[i] != '-' && c->id[i] != '_')
                        return bad(err, "id", "\"%.*s%s\" may contain only ASCII letters, digits, '-' and '_'",
                                   Q(c->id));
        return 0;
}

static int check_ids(const jailer_config *c, jailer_error *err)
{
        if (c->uid == 0)
                return bad(err, "uid", "0 is not allowed: the jail must never run as host root");
        if (c->uid == (uid_t) -1)
                return bad(err, "uid", "%u is not a valid uid", (unsigned) c->uid);
        if (c->gid == 0)
                return bad(err, "gid", "0 is not allowed: the jail must never run as host root");
        if (c->gid == (gid_t) -1)
                return bad(err, "gid", "%u is not a valid gid", (unsigned) c->gid);
        return 0;
}

/* A cpu or node list: well formed and not empty.  Whether the host has
 * those cpus, and the parent cgroup lets the jail use them, is the cgroup
 * step's question (the daemon may validate on one host a config that runs
 * on another). */
static int check_cpulist(jailer_error *err, const char *field, const char *list)
{
        jl_cpuset set;
        char why[128];

        if (!list)
                return 0;
        if (jl_cpulist_parse(list, &set, why, sizeof(why)) < 0)
                return bad(err, field, "%s", why);
        if (jl_cpuset_count(&set) == 0)
                return bad(err, field, "\"%.*s%s\" is empty: leave it out to run anywhere", Q(list));
        return 0;
}

/* "major:minor" in decimal; *maj and *min when not NULL. */
bool jl_io_parse_devnum(const char *s, unsigned *maj, unsigned *min)
{
        unsigned long a, b;
        char *end;

        if (!(s[0] >= '0' && s[0] <= '9'))
                return false;
        errno = 0;
        a = strtoul(s, &end, 10);
        if (errno || *end != ':' || !(end[1] >= '0' && end[1] <= '9') || a > 0xfff)
                return false;
        b = strtoul(end + 1, &end, 10);
        if (errno || *end || b > 0xfffff)
                return false;
        if (maj)
                *maj = (unsigned) a;
        if (min)
                *min = (unsigned) b;
        return true;
}

static int check_io(const jailer_config *c, jailer_error *err)
{
        char field[48];

        if (c->limits.n_io > MAX_IO)
                return bad(err, "limits.io", "%zu entries, at most %d are allowed", c->limits.n_io, MAX_IO);
        for (size_t i = 0; i < c->limits.n_io; i++) {
                const struct jl_io *io = &c->limits.io[i];
                const struct {
                        const char *name;
                        uint64_t v;
                } v[] = { { "rbps", io->rbps }, { "wbps", io->wbps }, { "riops", io->riops }, { "wiops", io->wiops } };
                bool any = false;

                snprintf(field, sizeof(field), "limits.io[%zu].device", i);
                if (!jl_io_parse_devnum(io->device, NULL, NULL) && check_path(err, field, io->device, 0) < 0)
                        return bad(err, field, "\"%.*s%s\" is neither major:minor (e.g. 8:0) nor an absolute path",
                                   Q(io->device));
                for (size_t k = 0; k < ELEMENTSOF(v); k++) {
                        snprintf(field, sizeof(field), "limits.io[%zu].%s", i, v[k].name);
                        if (v[k].v == 0)
                                return bad(err, field, "0 would stop all I/O (leave it out for no limit)");
                        any |= v[k].v != JL_UNSET;
                }
                if (!any) {
                        snprintf(field, sizeof(field), "limits.io[%zu]", i);
                        return bad(err, field, "%s: no limit given (rbps, wbps, riops or wiops)", io->device);
                }
                for (size_t j = 0; j < i; j++)
                        if (strcmp(c->limits.io[j].device, io->device) == 0) {
                                snprintf(field, sizeof(field), "limits.io[%zu].device", i);
                                return bad(err, field, "%s is already limited by limits.io[%zu]", io->device, j);
                        }
        }
        return 0;
}

static int check_limits(const jailer_config *c, jailer_error *err)
{
        const typeof(c->limits) *l = &c->limits;

        if (l->cpu_quota_us != JL_UNSET &&
            check_range(err, "limits.cpu_quota_us", l->cpu_quota_us, CPU_QUOTA_MIN, "1000", CPU_QUOTA_MAX,
                        "1024000000 (1024 CPUs)") < 0)
                return -1;
        if (check_range(err, "limits.cpu_period_us", l->cpu_period_us, CPU_PERIOD_MIN, "1000", CPU_PERIOD_MAX,
                        "1000000") < 0)
                return -1;
        if (l->memory_bytes != JL_UNSET &&
            check_range(err, "limits.memory_bytes", l->memory_bytes, MEMORY_MIN, "1 MiB", MEMORY_MAX,
                        "4 EiB (2^62)") < 0)
                return -1;
        if (check_range(err, "limits.max_fds", l->max_fds, 1, "1", MAX_FDS_MAX, "1048576") < 0)
                return -1;
        if (check_range(err, "limits.max_procs", l->max_procs, 1, "1", TASKS_MAX, "4194304") < 0)
                return -1;
        if (l->max_file_size != JL_UNSET && l->max_file_size < 1)
                return bad(err, "limits.max_file_size", "0 is below the 1 minimum (leave it unset for no limit)");
        if (l->pids != JL_UNSET && check_range(err, "limits.pids", l->pids, 1, "1", TASKS_MAX, "4194304") < 0)
                return -1;
        if (l->timeout_ms > TIMEOUT_MAX)
                return bad(err, "limits.timeout_ms", "%llu is above the 2592000000 (30 days) maximum",
                           (unsigned long long) l->timeout_ms);
        if (check_cpulist(err, "limits.cpus", l->cpus) < 0 || check_cpulist(err, "limits.mems", l->mems) < 0)
                return -1;
        if (l->cpus_exclusive && !l->cpus)
                return bad(err, "limits.cpus_exclusive", "true needs limits.cpus: which cpus to keep");
        if (l->io_weight != JL_UNSET &&
            check_range(err, "limits.io_weight", l->io_weight, IO_WEIGHT_MIN, "1", IO_WEIGHT_MAX, "10000") < 0)
                return -1;
        return check_io(c, err);
}

static int check_exec_args(const jailer_config *c, jailer_error *err)
{
        if (c->n_exec_args > MAX_ARGS)
                return bad(err, "exec_args", "%zu arguments, at most %d are allowed", c->n_exec_args, MAX_ARGS);
        for (size_t i = 0; i < c->n_exec_args; i++)
                if (!c->exec_args[i]) {
                        char field[32];

                        snprintf(field, sizeof(field), "exec_args[%zu]", i);
                        return bad(err, field, "is missing");
                }
        return 0;
}

static int check_binds(const jailer_config *c, jailer_error *err)
{
        char field[64];

        if (c->n_binds > MAX_BINDS)
                return bad(err, "bind_mounts", "%zu entries, at most %d are allowed", c->n_binds, MAX_BINDS);

        for (size_t i = 0; i < c->n_binds; i++) {
                const struct jl_bind *b = &c->binds[i];

                snprintf(field, sizeof(field), "bind_mounts[%zu].source", i);
                if (check_path(err, field, b->source, 0) < 0)
                        return -1;

                snprintf(field, sizeof(field), "bind_mounts[%zu].dest", i);
                if (check_path(err, field, b->dest, PATH_NOT_ROOT) < 0)
                        return -1;
                /* The jail's /proc and /dev are made by the jail itself;
                 * a bind over them would replace what we vouch for. */
                if (path_is_or_under(b->dest, "/proc") || path_is_or_under(b->dest, "/dev"))
                        return bad(err, field, "\"%.*s%s\" must not be /proc, /dev or beneath them", Q(b->dest));
                for (size_t j = 0; j < i; j++)
                        if (paths_equal(c->binds[j].dest, b->dest))
                                return bad(err, field, "\"%.*s%s\" is also the dest of bind_mounts[%zu]", Q(b->dest),
                                           j);
        }
        return 0;
}

static int check_env(const jailer_config *c, jailer_error *err)
{
        char field[32];

        if (c->n_env > MAX_ENV)
                return bad(err, "env", "%zu entries, at most %d are allowed", c->n_env, MAX_ENV);

        for (size_t i = 0; i < c->n_env; i++) {
                const struct jl_env *e = &c->env[i];

                snprintf(field, sizeof(field), "env[%zu]", i);
                if (!e->key || !e->value)
                        return bad(err, field, "is missing its key or value");
                if (e->key[0] == '\0')
                        return bad(err, field, "the variable name must not be empty");
                if (strchr(e->key, '='))
                        return bad(err, field, "variable name \"%.*s%s\" must not contain '='", Q(e->key));
        }
        return 0;
}

static int check_hostname(const jailer_config *c, jailer_error *err)
{
        const char *h = c->hostname;
        size_t len;

        if (!h)
                return 0;
        len = strlen(h);
        if (len == 0)
                return bad(err, "hostname", "must not be empty");
        if (len > HOSTNAME_MAX)
                return bad(err, "hostname", "\"%.*s%s\" is longer than %d characters", Q(h), HOSTNAME_MAX);
        if (h[0] == '-' || h[0] == '.')
                return bad(err, "hostname", "\"%.*s%s\" must not start with '-' or '.'", Q(h));
        for (size_t i = 0; i < len; i++)
                if (!is_alnum(h[i]) && h[i] != '-' && h[i] != '.')
                        return bad(err, "hostname", "\"%.*s%s\" may contain only ASCII letters, digits, '-' and '.'",
                                   Q(h));
        return 0;
}

static int check_devices(const jailer_config *c, jailer_error *err)
{
        static const char *const always[] = { "/dev/null", "/dev/zero", "/dev/urandom" };
        char field[32];

        if (c->n_devices > MAX_DEVICES)
                return bad(err, "devices", "%zu entries, at most %d are allowed", c->n_devices, MAX_DEVICES);

        for (size_t i = 0; i < c->n_devices; i++) {
                const char *d = c->devices[i];

                snprintf(field, sizeof(field), "devices[%zu]", i);
                if (check_path(err, field, d, 0) < 0)
                        return -1;
                if (!path_is_or_under(d, "/dev") || trimmed_len(d) <= strlen("/dev"))
                        return bad(err, field, "\"%.*s%s\" is not beneath /dev/", Q(d));
                for (size_t j = 0; j < ELEMENTSOF(always); j++)
                        if (paths_equal(d, always[j]))
                                return bad(err, field, "\"%s\" is always present and must not be listed", always[j]);
                for (size_t j = 0; j < i; j++)
                        if (paths_equal(c->devices[j], d))
                                return bad(err, field, "\"%.*s%s\" is also devices[%zu]", Q(d), j);
        }
        return 0;
}

static int check_cgroup(const jailer_config *c, jailer_error *err)
{
        const char *p = c->cgroup_parent;
        size_t len;

        switch (c->cgroup_version) {
        case JAILER_CGROUP_AUTO:
        case JAILER_CGROUP_V1:
        case JAILER_CGROUP_V2:
                break;
        default:
                return bad(err, "cgroup_version", "%d is not auto, v1 or v2", (int) c->cgroup_version);
        }

        if (!p)
                return 0;
        len = strlen(p);
        if (len == 0)
                return bad(err, "cgroup_parent", "must not be empty");
        if (len > CGROUP_PARENT_MAX)
                return bad(err, "cgroup_parent", "\"%.*s%s\" is longer than %d characters", Q(p), CGROUP_PARENT_MAX);
        if (p[0] == '/')
                return bad(err, "cgroup_parent", "\"%.*s%s\" must be relative to the cgroup hierarchy root", Q(p));

        for (const char *s = p; *s;) {
                size_t n = strcspn(s, "/");

                if (n == 0)
                        return bad(err, "cgroup_parent", "\"%.*s%s\" must not contain empty components", Q(p));
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return bad(err, "cgroup_parent", "\"%.*s%s\" must not contain \".\" or \"..\" components",
                                   Q(p));
                for (size_t i = 0; i < n; i++)
                        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                                return bad(err, "cgroup_parent",
                                           "\"%.*s%s\" may contain only ASCII letters, digits, '.', '_', '-' and '/'",
                                           Q(p));
                s += n;
                if (*s == '/') {
                        s++;
                        if (*s == '\0')
                                return bad(err, "cgroup_parent", "\"%.*s%s\" must not end with '/'", Q(p));
                }
        }
        return 0;
}

/* Without a mount namespace there is no jail filesystem: nothing could be
 * bound, no /dev could be made, and a workdir would name a host directory. */
static int check_mount_ns(const jailer_config *c, jailer_error *err)
{
        if (c->ns[JAILER_NS_MOUNT])
                return 0;
        if (c->n_binds > 0)
                return bad(err, "bind_mounts", "%zu bind mount(s) need a mount namespace, but namespaces.mount is false",
                           c->n_binds);
        if (c->n_devices > 0)
                return bad(err, "devices", "%zu device(s) need a mount namespace, but namespaces.mount is false",
                           c->n_devices);
        if (c->workdir && strcmp(c->workdir, "/") != 0)
                return bad(err, "workdir", "\"%.*s%s\" needs a mount namespace, but namespaces.mount is false",
                           Q(c->workdir));
        return 0;
}

#define MAX_TAPS 16
#define TAP_MTU_MIN 68
#define TAP_MTU_MAX 65521 /* the tun driver's MAX_MTU */

/* A joined namespace, or a new one: never the host's, where taps would be
 * the host's interfaces. */
static int check_netns(const jailer_config *c, jailer_error *err)
{
        if (c->netns) {
                if (c->netns[0] != '/')
                        return bad(err, "netns", "\"%.*s%s\" is not an absolute path", Q(c->netns));
                if (check_path(err, "netns", c->netns, PATH_NOT_ROOT) < 0)
                        return -1;
                if (c->ns[JAILER_NS_NETWORK] && c->ns_given[JAILER_NS_NETWORK])
                        return bad(err, "netns",
                                   "joining \"%.*s%s\" and namespaces.network: true (a new network namespace) "
                                   "exclude each other; leave namespaces.network out",
                                   Q(c->netns));
        }
        if (c->n_taps == 0)
                return 0;
        if (c->n_taps > MAX_TAPS)
                return bad(err, "taps", "%zu entries, at most %d are allowed", c->n_taps, MAX_TAPS);
        if (!c->netns && !c->ns[JAILER_NS_NETWORK])
                return bad(err, "taps", "%zu tap(s) need a network namespace of the jail (netns, or "
                                        "namespaces.network), not the host's", c->n_taps);
        if (!c->ns[JAILER_NS_MOUNT])
                return bad(err, "taps", "%zu tap(s) need /dev/net/tun in the jail, but namespaces.mount is false",
                           c->n_taps);
        return 0;
}

static bool parse_mac(const char *s, unsigned char mac[6])
{
        for (int i = 0; i < 6; i++, s += 3) {
                unsigned v;
                if (!isxdigit((unsigned char) s[0]) || !isxdigit((unsigned char) s[1]) ||
                    s[2] != (i == 5 ? '\0' : ':') || sscanf(s, "%2x", &v) != 1)
                        return false;
                mac[i] = (unsigned char) v;
        }
        return true;
}

bool jl_tap_mac(const char *s, unsigned char mac[6])
{
        return s && parse_mac(s, mac) && !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static int check_tap(const jailer_config *c, size_t i, jailer_error *err)
{
        const jailer_tap *t = &c->taps[i];
        unsigned char mac[6];
        char field[48];

        snprintf(field, sizeof(field), "taps[%zu].name", i);
        size_t n = strlen(t->name);
        if (n == 0 || n > 15)
                return bad(err, field, "\"%.*s%s\" must have 1 to 15 characters", Q(t->name));
        for (const char *p = t->name; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("-_.", *p))
                        return bad(err, field, "\"%.*s%s\" may contain only ASCII letters, digits, '-', '_' and '.'",
                                   Q(t->name));
        if (t->name[0] == '.' || t->name[0] == '-')
                return bad(err, field, "\"%.*s%s\" must not start with '.' or '-'", Q(t->name));
        for (size_t j = 0; j < i; j++)
                if (strcmp(c->taps[j].name, t->name) == 0)
                        return bad(err, field, "\"%s\" is also taps[%zu].name", t->name, j);
        snprintf(field, sizeof(field), "taps[%zu].mtu", i);
        if (t->mtu && (t->mtu < TAP_MTU_MIN || t->mtu > TAP_MTU_MAX))
                return bad(err, field, "%u is not between %d and %d", t->mtu, TAP_MTU_MIN, TAP_MTU_MAX);
        snprintf(field, sizeof(field), "taps[%zu].mac", i);
        if (t->mac && !jl_tap_mac(t->mac, mac))
                return bad(err, field, "\"%.*s%s\" is not a unicast MAC address like 02:00:00:00:00:01",
                           Q(t->mac));
        return 0;
}

static int check_taps(const jailer_config *c, jailer_error *err)
{
        if (check_netns(c, err) < 0)
                return -1;
        for (size_t i = 0; i < c->n_taps && i < MAX_TAPS; i++)
                if (check_tap(c, i, err) < 0)
                        return -1;
        return 0;
}

#define MAX_SECCOMP_ALLOW 64

static int check_seccomp(const jailer_config *c, jailer_error *err)
{
        if (c->seccomp && strcmp(c->seccomp, "default") != 0 && strcmp(c->seccomp, "none") != 0) {
                if (c->seccomp[0] != '/')
                        return bad(err, "seccomp", "\"%.*s%s\" is not \"default\", \"none\" or an absolute path",
                                   Q(c->seccomp));
                if (check_path(err, "seccomp", c->seccomp, PATH_NOT_ROOT) < 0)
                        return -1;
        }
        if (c->n_seccomp_allow > MAX_SECCOMP_ALLOW)
                return bad(err, "seccomp_allow", "has %zu entries, more than %d", c->n_seccomp_allow,
                           MAX_SECCOMP_ALLOW);
        for (size_t i = 0; i < c->n_seccomp_allow; i++) {
                char field[48];
                snprintf(field, sizeof(field), "seccomp_allow[%zu]", i);
                if (!jl_seccomp_allowable(c->seccomp_allow[i]))
                        return bad(err, field, "\"%.*s%s\" is not a syscall the default filter denies",
                                   Q(c->seccomp_allow[i]));
        }
        return 0;
}

int jailer_config_validate(const jailer_config *c, jailer_error *err)
{
        if (!c)
                return jl_error(err, JAILER_STEP_CONFIG, EINVAL, NULL, "no config");

        /* In the order of the config file, so that the first problem a user
         * sees is the first one in their file. */
        if (check_id(c, err) < 0)
                return -1;
        if (check_path(err, "exec_path", c->exec_path, 0) < 0)
                return -1;
        if (check_exec_args(c, err) < 0)
                return -1;
        if (check_path(err, "jail_root", c->jail_root, PATH_NOT_ROOT) < 0)
                return -1;
        if (check_ids(c, err) < 0)
                return -1;
        if (check_limits(c, err) < 0)
                return -1;
        if (check_binds(c, err) < 0)
                return -1;
        if (check_path(err, "workdir", c->workdir, 0) < 0)
                return -1;
        if (check_env(c, err) < 0)
                return -1;
        if (check_hostname(c, err) < 0)
                return -1;
        if (check_devices(c, err) < 0)
                return -1;
        if (check_cgroup(c, err) < 0)
                return -1;
        if (check_mount_ns(c, err) < 0)
                return -1;
        if (check_seccomp(c, err) < 0)
                return -1;
        if (check_taps(c, err) < 0)
                return -1;

        return 0;
}

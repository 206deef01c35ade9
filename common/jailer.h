/* SPDX-License-Identifier: MIT */
/*
 * libjailer — run one program (typically a VMM) inside every Linux isolation
 * layer we can stack: user/pid/mount/net/uts/ipc/cgroup namespaces, a cgroup
 * with cpu/memory/pids limits (v2, or v1 on hybrid hosts), pivot_root into a
 * jail root with a minimal /dev, read-only bind mounts, rlimits, no_new_privs,
 * every capability dropped, then execve.
 *
 * This header is the whole public API.  It is meant to be read on its own.
 *
 * Typical use (the caller must be root):
 *
 *     jailer_error err = {0};
 *     jailer_config *c = jailer_config_new("benchmark-123",
 *                                          "/usr/lib/vmm/vmm",
 *                                          "/var/lib/jailer/jails/benchmark-123");
 *     jailer_config_add_arg(c, "--kernel");
 *     jailer_config_add_arg(c, "/kernel");
 *     jailer_config_set_memory_limit(c, 512 << 20);
 *     jailer_config_set_cpu_limit(c, 1.0);
 *     jailer_config_add_bind_mount(c, "/srv/images/vmlinux", "/kernel", true);
 *
 *     jailer_report rep;
 *     if (jailer_run(c, NULL, &rep, &err) < 0)
 *             fprintf(stderr, "jailer: %s\n", err.message);
 *     else
 *             printf("exit %d, peak %llu bytes\n", rep.exit_code,
 *                    (unsigned long long) rep.memory_peak_bytes);
 *     jailer_config_free(c);
 *
 * Conventions: functions returning int return 0 (or a non-negative value) on
 * success and -1 on failure.  A function that takes a jailer_error *err
 * fills it (when err is not NULL) with the step, the errno value, the field
 * and a one-line message; one that takes none (the setters, the fd forms,
 * the opening helpers, jailer_jail_kill()) sets errno.  No function of this
 * library calls exit() or prints.
 */
#ifndef JAILER_H
#define JAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef _WIN32
/* Windows has no uid_t or gid_t; there, libjailer is a stub whose every
 * call fails with "jailer: only Linux is supported". */
typedef unsigned int uid_t;
typedef unsigned int gid_t;
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define JAILER_ID_MAX 64

/* ------------------------------------------------------------------ errors */

/* Which part of the jail set-up failed; also decides the CLI exit code. */
typedef enum {
        JAILER_STEP_NONE = 0,
        JAILER_STEP_CONFIG,     /* the configuration is invalid */
        JAILER_STEP_CGROUP,     /* creating or limiting the cgroup */
        JAILER_STEP_ROOTFS,     /* preparing the jail root, mounts, /dev */
        JAILER_STEP_SPAWN,      /* clone3 / namespaces */
        JAILER_STEP_USERNS,     /* uid/gid maps */
        JAILER_STEP_PRIVS,      /* rlimits, capabilities, no_new_privs */
        JAILER_STEP_SECCOMP,    /* installing the seccomp filter */
        JAILER_STEP_EXEC,       /* execve of the jailed program */
        JAILER_STEP_WAIT,       /* waiting, accounting, clean-up */
} jailer_step;

typedef struct jailer_error {
        jailer_step step;
        int code;               /* errno value, 0 when not a system error */
        char field[96];         /* config field at fault ("limits.memory_bytes"), or "" */
        char message[1024];     /* one line, names the field and the value */
} jailer_error;

const char *jailer_step_name(jailer_step step);

/* Fill *err (when not NULL) as libjailer does, and return -1, so that a
 * caller can report its own failures in the same shape: code is an errno
 * value or 0 (when not 0, errno is set to it and ": strerror(code)" ends
 * the message), field may be NULL (otherwise the message starts with it). */
int jailer_error_set(jailer_error *err, jailer_step step, int code, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* ------------------------------------------------------------------ config */

typedef struct jailer_config jailer_config;

typedef enum {
        JAILER_NS_USER = 0,
        JAILER_NS_PID,
        JAILER_NS_MOUNT,
        JAILER_NS_NETWORK,
        JAILER_NS_UTS,
        JAILER_NS_IPC,
        JAILER_NS_CGROUP,
        JAILER_NS_COUNT,
} jailer_namespace;

typedef enum {
        JAILER_CGROUP_AUTO = 0, /* v2 when the host has cpu/memory/pids on cgroup2, else v1 */
        JAILER_CGROUP_V1,
        JAILER_CGROUP_V2,
} jailer_cgroup_version;

/* A config with the spec's defaults: uid/gid 65534, RLIMIT_NOFILE 1024,
 * RLIMIT_NPROC 64, RLIMIT_FSIZE unlimited, RLIMIT_CORE 0, cpu period 100000
 * µs, no cpu/memory/pids limit, every namespace on, workdir "/", empty
 * environment.  Any argument may be NULL and set later.  NULL on ENOMEM. */
jailer_config *jailer_config_new(const char *id, const char *exec_path, const char *jail_root);
void jailer_config_free(jailer_config *c);

/* Parse the JSON config file format (see README "Config file").  Unknown keys
 * and wrong types are errors.  Does not validate values beyond their types:
 * call jailer_config_validate(). */
int jailer_config_from_json(const char *json, size_t len, jailer_config **out, jailer_error *err);
int jailer_config_from_file(const char *path, jailer_config **out, jailer_error *err);
/* Serialise back to the same JSON format (malloc'd string, NULL on ENOMEM). */
char *jailer_config_to_json(const jailer_config *c);

/* Check every field; the first problem found is reported with its field name
 * and value.  jailer_run() validates too. */
int jailer_config_validate(const jailer_config *c, jailer_error *err);

/* Setters.  Each copies its strings.  They take no jailer_error: -1 with
 * errno ENOMEM, or EINVAL for a NULL config or argument or an unknown enum
 * value (ERANGE for a cpu limit too large to store).  Whether a value is in
 * range is jailer_config_validate()'s question, which reports in *err.
 * JAILER_LIMIT_NONE removes a memory, cpu quota, pids or file size limit. */
#define JAILER_LIMIT_NONE UINT64_MAX
int jailer_config_set_id(jailer_config *c, const char *id);
int jailer_config_set_exec_path(jailer_config *c, const char *path);
int jailer_config_set_jail_root(jailer_config *c, const char *path);
int jailer_config_add_arg(jailer_config *c, const char *arg);
int jailer_config_set_uid(jailer_config *c, uid_t uid);
int jailer_config_set_gid(jailer_config *c, gid_t gid);
int jailer_config_set_memory_limit(jailer_config *c, uint64_t bytes);
int jailer_config_set_cpu_limit(jailer_config *c, double cpus);          /* quota = cpus * period */
int jailer_config_set_cpu_quota(jailer_config *c, uint64_t quota_us, uint64_t period_us);
int jailer_config_set_pids_limit(jailer_config *c, uint64_t pids);       /* cgroup pids.max */
int jailer_config_set_max_fds(jailer_config *c, uint64_t n);             /* RLIMIT_NOFILE */
int jailer_config_set_max_procs(jailer_config *c, uint64_t n);           /* RLIMIT_NPROC */
int jailer_config_set_max_file_size(jailer_config *c, uint64_t bytes);   /* RLIMIT_FSIZE */
int jailer_config_set_timeout_ms(jailer_config *c, uint64_t ms);         /* wall-clock limit, 0 = none */
/* Pinning: the cpus and NUMA nodes the jail may use, as cpu lists
 * ("2-3", "4,6"); NULL removes it.  Written to the jail's cpuset. */
int jailer_config_set_cpus(jailer_config *c, const char *list);
int jailer_config_set_mems(jailer_config *c, const char *list);
/* Ask jailerd to keep its other pinned jails off these cpus while this one
 * runs (libjailer itself only carries the flag). */
int jailer_config_set_cpus_exclusive(jailer_config *c, bool on);
/* I/O limits of one block device, named "major:minor" or by a path (a block
 * device node, or a file whose file system's disk is meant): read and
 * write bytes/s and operations/s, JAILER_LIMIT_NONE for no limit.
 * _set_io_limit_device replaces entry i's device (e.g. a path by the
 * "major:minor" it resolved to). */
int jailer_config_add_io_limit(jailer_config *c, const char *device, uint64_t rbps, uint64_t wbps, uint64_t riops,
                               uint64_t wiops);
int jailer_config_set_io_limit_device(jailer_config *c, size_t i, const char *device);
/* The jail's proportional I/O weight against its sibling cgroups, 1-10000
 * (the kernel's default is 100), on every disk: io.weight, else
 * io.bfq.weight (1-1000) on v2; blkio.bfq.weight or blkio.weight on v1.
 * A kernel with none of them refuses the jail.  JAILER_LIMIT_NONE: the
 * kernel's default. */
int jailer_config_set_io_weight(jailer_config *c, uint64_t weight);
int jailer_config_set_namespace(jailer_config *c, jailer_namespace ns, bool on);
int jailer_config_add_bind_mount(jailer_config *c, const char *source, const char *dest, bool read_only);
int jailer_config_add_env(jailer_config *c, const char *key, const char *value);
int jailer_config_set_workdir(jailer_config *c, const char *path);
int jailer_config_set_hostname(jailer_config *c, const char *hostname);
int jailer_config_add_device(jailer_config *c, const char *path);       /* e.g. "/dev/net/tun" */
/* Networking (docs/vmm.md).  netns: join this existing network namespace
 * (a file such as /run/netns/NAME, or the fd form below) instead of making
 * a new one; NULL (the default) leaves it to namespaces.network.  It is
 * joined before the user namespace is made, so it stays owned by the
 * initial one and the jail cannot reconfigure it.  Taps: created in the
 * jail's network namespace (joined or new), owned by the jail's uid/gid,
 * with /dev/net/tun in the jail's /dev, and removed when the jail ends. */
int jailer_config_set_netns(jailer_config *c, const char *path);
typedef struct jailer_tap {
        const char *name;       /* interface name, 1-15 characters */
        bool vnet_hdr;          /* IFF_VNET_HDR */
        bool multi_queue;       /* IFF_MULTI_QUEUE */
        unsigned mtu;           /* 0: the kernel's default */
        const char *mac;        /* "02:00:00:00:00:01"; NULL: a random one */
} jailer_tap;
int jailer_config_add_tap(jailer_config *c, const jailer_tap *tap);
/* Give the jail /dev/kvm when the host has it (the default), or not. */
int jailer_config_set_kvm(jailer_config *c, bool kvm);
int jailer_config_set_cgroup_version(jailer_config *c, jailer_cgroup_version v);
int jailer_config_set_cgroup_parent(jailer_config *c, const char *relpath);
/* Seccomp: "default" (the baseline filter, the default), "none", or the
 * absolute path of a profile in the OCI runtime-spec format. */
int jailer_config_set_seccomp(jailer_config *c, const char *mode);
/* Deny by killing the process (the report then says seccomp_killed) instead
 * of failing the call with EPERM. */
int jailer_config_set_seccomp_kill(jailer_config *c, bool kill);
/* Let one syscall of the baseline's deny list through, e.g. "io_uring_setup". */
int jailer_config_add_seccomp_allow(jailer_config *c, const char *syscall_name);

/* fd forms.  A caller that has already opened what a path names (jailerd
 * opens what its client names, once, as the client) hands libjailer the
 * fd, which is then used instead of the path: the path is not resolved
 * again and only names the object in messages.  The config keeps its own
 * duplicate (close yours when you like) and jailer_config_free() closes it.
 * What each fd must be is checked again when the jail is prepared:
 *   exec       the program, a regular file (O_PATH is enough: it is run
 *              with execveat(AT_EMPTY_PATH))
 *   seccomp    the OCI profile set with jailer_config_set_seccomp(), a
 *              regular file open for reading (read with pread(): the offset
 *              is not used)
 *   jail root  the jail root directory (root_fd) and its parent
 *              (parent_fd), O_PATH | O_DIRECTORY; root_fd -1 when it does not
 *              exist yet: it is then made in parent_fd under the last name
 *              of jail_root (and removed at the end).  Inside its own mount
 *              namespace the jail looks the path up once more, to mount on
 *              it, and refuses to start unless that is the very root_fd.
 *   bind source index  the file or directory bind_mounts[index] mounts
 *              (O_PATH is enough)
 *   device index       the device node of devices[index] (O_PATH is enough)
 * The index ones need the entry added first.  fd -1 forgets a given fd.
 * -1 with errno on a bad index, or when the fd cannot be duplicated. */
int jailer_config_set_exec_fd(jailer_config *c, int fd);
int jailer_config_set_seccomp_fd(jailer_config *c, int fd);
int jailer_config_set_jail_root_fd(jailer_config *c, int root_fd, int parent_fd);
int jailer_config_set_bind_source_fd(jailer_config *c, size_t index, int fd);
int jailer_config_set_device_fd(jailer_config *c, size_t index, int fd);
/*   netns      the network namespace file (an nsfs file, e.g. opened
 *              O_RDONLY from /run/netns/NAME); checked to be a network
 *              namespace when the jail is prepared */
int jailer_config_set_netns_fd(jailer_config *c, int fd);

/* Getters, for a caller that judges a config before it runs it (jailerd's
 * policy does: it decides on these, then clamps limits with the setters).
 * Strings belong to the config: valid until it is changed or freed; NULL
 * when not set.  For a NULL config or an index out of range: NULL, a count
 * of 0, false, -1 for an fd, (uid_t) -1 and (gid_t) -1, JAILER_LIMIT_NONE
 * for a limit that can be unset, and 0 for the other limits. */
const char *jailer_config_get_id(const jailer_config *c);
const char *jailer_config_get_exec_path(const jailer_config *c);
const char *jailer_config_get_jail_root(const jailer_config *c);
uid_t jailer_config_get_uid(const jailer_config *c);
gid_t jailer_config_get_gid(const jailer_config *c);
/* Limits as the setters above store them: JAILER_LIMIT_NONE when there is
 * none (memory, cpu quota, pids, file size), 0 for no timeout; max_fds and
 * max_procs always have a value (the defaults of jailer_config_new()). */
uint64_t jailer_config_get_memory_limit(const jailer_config *c);
uint64_t jailer_config_get_cpu_quota(const jailer_config *c);            /* µs per period */
uint64_t jailer_config_get_cpu_period(const jailer_config *c);           /* µs */
uint64_t jailer_config_get_pids_limit(const jailer_config *c);
uint64_t jailer_config_get_max_fds(const jailer_config *c);
uint64_t jailer_config_get_max_procs(const jailer_config *c);
uint64_t jailer_config_get_max_file_size(const jailer_config *c);
uint64_t jailer_config_get_timeout_ms(const jailer_config *c);
/* The pinning lists as set, NULL when not pinned; how many cpus the cpu
 * list names (0: not pinned, -1 with errno EINVAL: not a list). */
const char *jailer_config_get_cpus(const jailer_config *c);
const char *jailer_config_get_mems(const jailer_config *c);
long jailer_config_count_cpus(const jailer_config *c);
bool jailer_config_get_cpus_exclusive(const jailer_config *c);
/* The lowest cpu both lists name, -1 when none, -2 (errno EINVAL) when
 * either is not a cpu list. */
int jailer_cpulist_first_common(const char *a, const char *b);
/* I/O limit i, 0 <= i < jailer_config_n_io_limits(): its device, and its
 * limits through the pointers that are not NULL. */
size_t jailer_config_n_io_limits(const jailer_config *c);
const char *jailer_config_get_io_limit(const jailer_config *c, size_t i, uint64_t *rbps, uint64_t *wbps,
                                       uint64_t *riops, uint64_t *wiops);
uint64_t jailer_config_get_io_weight(const jailer_config *c);
/* Whether the jail gets a new namespace of that kind: for the network one,
 * false when the config joins one ("netns"). */
bool jailer_config_get_namespace(const jailer_config *c, jailer_namespace ns);
/* Bind mount i, 0 <= i < jailer_config_n_bind_mounts(): its source, and
 * its destination and read_only flag through the pointers that are not
 * NULL. */
size_t jailer_config_n_bind_mounts(const jailer_config *c);
const char *jailer_config_get_bind_mount(const jailer_config *c, size_t i, const char **dest, bool *read_only);
/* Environment variable i: its name, and its value through value. */
size_t jailer_config_n_env(const jailer_config *c);
const char *jailer_config_get_env(const jailer_config *c, size_t i, const char **value);
size_t jailer_config_n_devices(const jailer_config *c);
const char *jailer_config_get_device(const jailer_config *c, size_t i);
const char *jailer_config_get_netns(const jailer_config *c);
/* Tap i: its fields belong to the config, like the strings above. */
size_t jailer_config_n_taps(const jailer_config *c);
const jailer_tap *jailer_config_get_tap(const jailer_config *c, size_t i);
bool jailer_config_get_kvm(const jailer_config *c);
const char *jailer_config_get_cgroup_parent(const jailer_config *c);   /* NULL: the default, "jailer" */
const char *jailer_config_get_seccomp(const jailer_config *c);         /* NULL: the default, "default" */
size_t jailer_config_n_seccomp_allow(const jailer_config *c);
const char *jailer_config_get_seccomp_allow(const jailer_config *c, size_t i);
/* The fds given with the fd forms (the config's own: do not close them),
 * or -1. */
int jailer_config_get_exec_fd(const jailer_config *c);
int jailer_config_get_seccomp_fd(const jailer_config *c);
int jailer_config_get_jail_root_fd(const jailer_config *c);
int jailer_config_get_jail_root_parent_fd(const jailer_config *c);
int jailer_config_get_bind_source_fd(const jailer_config *c, size_t i);
int jailer_config_get_device_fd(const jailer_config *c, size_t i);
int jailer_config_get_netns_fd(const jailer_config *c);

/* After the process that made a jail's taps died without removing them
 * (jailer_jail_wait() removes them otherwise): remove each of names that is
 * a tun device owned by uid in the network namespace of netns_fd.  The
 * number removed, or -1 with errno. */
int jailer_netns_remove_taps(int netns_fd, const char *const *names, size_t n, uid_t uid);

/* "user", "pid", "mount", "network", "uts", "ipc", "cgroup": the keys of
 * the config's "namespaces"; NULL for a value out of range. */
const char *jailer_namespace_name(jailer_namespace ns);

/* ------------------------------------------------------------------ host paths */

/* Opening a host path as libjailer opens what a config names, for a caller
 * that opens it first and hands over the fd (the fd forms above).  Both
 * return an O_CLOEXEC fd, or -1 with errno; when a symlink that root does
 * not own, or the type of the file, is the reason, why (if not NULL) says
 * so in a phrase (why[0] stays '\0' otherwise). */

/* The path as root, following only the symlinks root owns.  flags are
 * openat() flags. */
int jailer_open_trusted(const char *path, int flags, char *why, size_t why_size);

/* File types for jailer_open_host() (a mask). */
enum {
        JAILER_FILE_REG = 1 << 0,
        JAILER_FILE_DIR = 1 << 1,
        JAILER_FILE_CHR = 1 << 2,
        JAILER_FILE_BLK = 1 << 3,
        JAILER_FILE_SOCK = 1 << 4,
};
/* jailer_open_trusted() to an O_PATH fd, its type checked against types (a
 * wrong type fails with EINVAL), then, unless flags has O_PATH, that same
 * inode reopened with flags | O_NONBLOCK | O_NOCTTY.  Use the fd from then
 * on, never the path. */
int jailer_open_host(const char *path, unsigned types, int flags, char *why, size_t why_size);
/* "a regular file", "a directory", "a FIFO", ... for messages. */
const char *jailer_file_type_name(mode_t mode);

/* ------------------------------------------------------------------ seccomp */

/* Is name a syscall the baseline filter denies, and so one that
 * jailer_config_add_seccomp_allow() may name? */
bool jailer_seccomp_allowable(const char *name);
/* The OCI profile behind fd (a regular file open for reading), read once,
 * checked as jailer_spawn() checks it, into a sealed memfd: whoever judges
 * its contents and the jail that loads it (jailer_config_set_seccomp_fd())
 * see the same bytes, whatever happens to the file.  name only names it in
 * messages, which never quote the file's bytes.  The memfd, or -1 with
 * *err filled. */
int jailer_seccomp_profile_snapshot(int fd, const char *name, jailer_error *err);

/* ------------------------------------------------------------------ parsing */

/* A decimal number, strictly: no sign, no space, no junk, no overflow. */
int jailer_parse_u64(const char *s, uint64_t *out);
/* A size as the config writes it: "4096", "512K", "512M", "1GiB" (powers
 * of 1024); overflow, junk and negatives are refused.  -1 with errno. */
int jailer_parse_size(const char *s, uint64_t *out);

/* ------------------------------------------------------------------ small helpers */

/* CLOCK_MONOTONIC in microseconds. */
uint64_t jailer_now_monotonic_us(void);
/* Read fd to its end (from where it stands) into a malloc'd, NUL-terminated
 * *out (its length in *len when len is not NULL): 0, or -EFBIG when there is
 * more than max bytes, -errno on other failures (nothing in *out). */
int jailer_read_fd(int fd, size_t max, char **out, size_t *len);

/* ------------------------------------------------------------------ report */

typedef struct jailer_report {
        char id[JAILER_ID_MAX + 1];
        pid_t pid;                  /* host pid of the jailed program */
        int exit_code;              /* exit status, or -1 when killed by a signal */
        int signal;                 /* terminating signal number, 0 if none */
        bool oom_killed;            /* the cgroup's OOM killer killed a process */
        bool timed_out;             /* limits.timeout_ms expired and the jail was killed */
        bool seccomp_killed;        /* killed by SIGSYS from a seccomp filter's kill action */
        uint64_t wall_time_us;      /* from spawn to exit */
        uint64_t cpu_usage_us;      /* user+system CPU of the whole cgroup */
        uint64_t memory_peak_bytes; /* peak memory of the cgroup, JAILER_UNKNOWN when the kernel does not say */
        int64_t pids_peak;          /* peak number of tasks, -1 when the kernel does not say */
        /* Was the run disturbed?  Only when measured is true (a report made
         * up without the jail's figures has none of these keys in JSON);
         * then each -1 (null in JSON) where the kernel does not say. */
        bool measured;
        char cpus[256];             /* the cpus it was pinned to ("1", "2-3"); "" when not pinned */
        int64_t cpu_periods;        /* cpu.stat nr_periods: bandwidth periods in which it ran */
        int64_t cpu_throttled_periods; /* nr_throttled: of those, periods it was throttled in */
        int64_t cpu_throttled_us;   /* time throttled */
        int64_t memory_high_events; /* memory.events high: reclaimed over memory.high (v2) */
        int64_t memory_max_events;  /* memory.events max: times at the limit (v2) */
        /* Pressure stall totals of the cgroup (v2 PSI, µs); -1 on v1 */
        int64_t cpu_pressure_some_us, cpu_pressure_full_us;
        int64_t memory_pressure_some_us, memory_pressure_full_us;
        int64_t io_pressure_some_us, io_pressure_full_us;
        /* Involuntary context switches of the program and of the children
         * it waited for (its rusage). */
        int64_t involuntary_switches;
        /* Busy time of the pinned cpus (from /proc/stat) that was not the
         * jail's: other tasks, kernel threads, interrupts. */
        int64_t pinned_cpus_other_us;
} jailer_report;

/* A figure the kernel does not give: memory_peak_bytes on cgroup v2 before
 * Linux 5.19 (no memory.peak).  JSON null, never a number made up. */
#define JAILER_UNKNOWN UINT64_MAX

/* The exit report as JSON:
 * {"jail":"id","pid":N,"exit_code":N|null,"signal":"SIGKILL"|null,
 *  "oom_killed":b,"timed_out":b,"seccomp_killed":b,"wall_time_us":N,"cpu_usage_us":N,
 *  "memory_peak_bytes":N|null,"pids_peak":N|null,"cpus":"1"|null,"cpu_periods":N|null,
 *  "cpu_throttled_periods":N|null,"cpu_throttled_us":N|null,"memory_high_events":N|null,
 *  "memory_max_events":N|null,"cpu_pressure_some_us":N|null,... (cpu, memory, io;
 *  some, full),"involuntary_switches":N|null}
 * malloc'd, NULL on ENOMEM. */
char *jailer_report_to_json(const jailer_report *r);
int jailer_report_from_json(const char *json, jailer_report *r, jailer_error *err);

/* The shell-style status: exit_code, or 128+signal. */
int jailer_report_status(const jailer_report *r);

/* ------------------------------------------------------------------ running */

/* Where the jail's stdio goes.  -1 means "inherit the caller's". */
typedef struct jailer_spawn_opts {
        int stdin_fd;
        int stdout_fd;
        int stderr_fd;
        /* Kill the jail when the calling process dies (PR_SET_PDEATHSIG). */
        bool die_with_parent;
        /* A prepared jail: jailer_spawn() returns once everything is done
         * but the execve — cgroup, namespaces, mounts, pivot_root, user
         * namespace, privileges, and the seccomp filter if it lets the wait
         * through (else it is loaded at start) — and the program runs only
         * at jailer_jail_start(). */
        bool prepare_only;
} jailer_spawn_opts;

#define JAILER_SPAWN_OPTS_INIT { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .die_with_parent = true }

typedef struct jailer_jail jailer_jail;

/* Create the cgroup, prepare the jail, start the program.  Returns once the
 * jailed program has been exec'd (or failed to be: then *err says which step
 * failed, and nothing is left behind). */
int jailer_spawn(const jailer_config *c, const jailer_spawn_opts *opts, jailer_jail **out, jailer_error *err);

/* Release a prepared jail (jailer_spawn_opts.prepare_only): its program is
 * exec'd; returns once it has been (or failed to be: then *err says why,
 * and jailer_jail_wait() collects what is left).  The report's wall time and
 * limits.timeout_ms count from here.  -1 with EALREADY in *err when the jail
 * was not prepared or was started already. */
int jailer_jail_start(jailer_jail *j, jailer_error *err);
/* Starting a prepared jail from another process (jailerd does, so that
 * start need not wake the jail's supervisor first):
 * jailer_jail_release_fd() gives a new fd (close-on-exec) that
 * jailer_release() releases the jail through, from any process that holds
 * it; the jail's own process then sees jailer_jail_start_fd() readable and
 * calls jailer_jail_finish_start(), which returns once the program has
 * been exec'd (or failed to be, as jailer_jail_start()), and counts the
 * wall time from the release.  -1 with errno EALREADY (release_fd) or
 * EALREADY in *err (finish_start) when the jail is not prepared, ESRCH in
 * *err when it ended before it was released. */
int jailer_jail_release_fd(const jailer_jail *j);
int jailer_release(int fd);
int jailer_jail_start_fd(const jailer_jail *j);
int jailer_jail_finish_start(jailer_jail *j, jailer_error *err);
/* Is the jail prepared and not yet started? */
bool jailer_jail_prepared(const jailer_jail *j);

pid_t jailer_jail_pid(const jailer_jail *j);
/* A pidfd of the jailed program (owned by the jail; poll it for exit). */
int jailer_jail_pidfd(const jailer_jail *j);
/* Directory of the jail's cgroup (v2) or of its memory cgroup (v1). */
const char *jailer_jail_cgroup_path(const jailer_jail *j);

/* Live usage, while the jail runs. */
typedef struct jailer_usage {
        uint64_t cpu_usage_us;
        uint64_t memory_current_bytes;
        uint64_t memory_peak_bytes;     /* JAILER_UNKNOWN: see jailer_report */
        uint64_t pids_current;
} jailer_usage;
int jailer_jail_usage(const jailer_jail *j, jailer_usage *u, jailer_error *err);
/* The exit report so far, while the jail runs: wall time until now (0 for
 * a prepared jail), the cgroup's figures and the disturbance figures, with
 * involuntary_switches those of the threads in the jail now (at the end:
 * the program's and its waited-for children's).  exit_code is -1 and
 * signal 0: it has not ended. */
int jailer_jail_snapshot(const jailer_jail *j, jailer_report *r, jailer_error *err);

/* Send a signal to the jailed program (its PID 1). */
int jailer_jail_kill(jailer_jail *j, int sig);

/* limits.timeout_ms as an absolute CLOCK_MONOTONIC deadline in µs (0: none),
 * for callers that run their own event loop around the jail's pidfd. */
uint64_t jailer_jail_deadline_us(const jailer_jail *j);
/* The deadline has passed: SIGKILL the whole jail; the report will say
 * timed_out.  jailer_jail_wait() does this itself when it is the one waiting. */
int jailer_jail_expire(jailer_jail *j);

/* Wait for the program to end (enforcing limits.timeout_ms), kill whatever is
 * left in its cgroup, collect usage, remove the cgroup and everything the
 * jail created, fill *r.  Then free the jail. */
int jailer_jail_wait(jailer_jail *j, jailer_report *r, jailer_error *err);
/* jailer_jail_wait() in two halves, for a caller that hands the report on
 * before the tear-down: collect waits for the program (enforcing
 * limits.timeout_ms), kills what is left in its cgroup and reads the
 * cgroup's figures into *r — the jail's processes are all gone then;
 * jailer_jail_free() removes the cgroup and everything the jail created,
 * and frees it.  Between the two, only jailer_jail_free() may be called. */
int jailer_jail_collect(jailer_jail *j, jailer_report *r, jailer_error *err);
void jailer_jail_free(jailer_jail *j);

/* spawn + wait.  opts may be NULL (inherit stdio, die with parent). */
int jailer_run(const jailer_config *c, const jailer_spawn_opts *opts, jailer_report *r, jailer_error *err);

/* Which cgroup backend this host gets with JAILER_CGROUP_AUTO: "v2" or "v1",
 * NULL when neither offers cpu, memory and pids. */
const char *jailer_cgroup_detect(void);

/* ------------------------------------------------------------------ cgroups of a service
 * For a service that places jails (jailerd): the cgroup work beyond one
 * jail's lifetime.  Paths are walked without following symlinks. */

/* Kill every process of the cgroup at path and of its sub-cgroups, on every
 * hierarchy jails use that has it (v2, or each v1 hierarchy of cpu, cpuacct,
 * memory and pids), then remove them.  path is what
 * jailer_jail_cgroup_path() reported, or the same relative to the
 * hierarchies' root ("jailer/ID").  cgroup.kill goes first on v2 where the
 * kernel has it; each process is then signalled through a pidfd, so a pid
 * reused meanwhile by a process outside the cgroup is never hit.  Returns
 * how many processes the cgroup held (>= 0), or -1 with *err (err->code is
 * ENOENT when no hierarchy has it). */
int jailer_cgroup_remove(const char *path, jailer_error *err);
/* The calling process's cgroup v2 path relative to its hierarchy's root
 * ("/system.slice/x.service"), malloc'd; NULL when it is in none. */
char *jailer_cgroup_self(void);
/* The next three take the absolute path of a cgroup v2 directory. */
/* Has systemd delegated it (the trusted.delegate or user.delegate xattr)? */
bool jailer_cgroup_is_delegated(const char *path);
/* Give cpu, memory and pids to its children.  0; 1 when it does not offer
 * them all (the others are enabled, *err names the missing ones); -1 with
 * *err when one cannot be enabled. */
int jailer_cgroup_enable_controllers(const char *path, jailer_error *err);
/* Move the calling process into path/leaf, made when missing. */
int jailer_cgroup_move_self(const char *path, const char *leaf, jailer_error *err);

/* Compile the seccomp filter c asks for now, rather than at the next
 * jailer_spawn().  Compiled filters are kept per process (the default
 * profile per its settings and architecture, an OCI profile per its bytes),
 * bounded to a few, so that every later jail with the same filter loads the
 * kept BPF program; a process that calls this and then forks hands them to
 * its children.  Safe from several threads and across fork(). */
int jailer_seccomp_prepare(const jailer_config *c, jailer_error *err);

/* Find this host's cgroup hierarchies now (statfs(2), /proc/self/mountinfo)
 * and answer every later jail of this process, and of the processes it
 * forks, from what was found, rather than looking again per jail.  For a
 * process that forks one supervisor per jail.  Hierarchies mounted or
 * unmounted afterwards are not seen: a jail then fails naming the path it
 * could not open, and the process must be restarted. */
int jailer_cgroup_host_pin(jailer_error *err);

const char *jailer_version(void);

/* What libjailer does without on this kernel (or under this seccomp
 * filter), ", "-separated into buf: the calls clone3, openat2,
 * close_range, pidfd_open, mount_setattr, and on cgroup v2 the files
 * cgroup.kill and memory.peak; "" when it needs no fallback.  0, or -1
 * with errno (ENOSPC: buf too small). */
int jailer_kernel_fallbacks(char *buf, size_t size);

/* Signal names, "SIGKILL" <-> 9.  name_to_signal accepts "KILL", "SIGKILL"
 * or "9"; returns -1 when unknown. */
const char *jailer_signal_name(int sig);
int jailer_signal_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif

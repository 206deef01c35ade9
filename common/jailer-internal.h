/* SPDX-License-Identifier: MIT */
/* Internal to libjailer: its private structures and the helpers its files
 * share (the cleanup macros are in macro.h).  jailerd and jailer-supervisor
 * do not include it: they use libjailer through jailer.h only, as any other
 * program would (tests/test_library.py checks that). */
#ifndef JAILER_INTERNAL_H
#define JAILER_INTERNAL_H

#include "jailer.h"
#include "macro.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

/* ------------------------------------------------------------ errors */

/* Fill *err (when not NULL) and return -1.  code is an errno value or 0;
 * field may be NULL.  When code != 0, ": strerror(code)" is appended. */
int jl_error(jailer_error *err, jailer_step step, int code, const char *field, const char *fmt, ...) _printf_(5, 6);
/* Prefix an existing error message with more context. */
void jl_error_prefix(jailer_error *err, const char *fmt, ...) _printf_(2, 3);
/* A config value refused (no errno): "FIELD: what is wrong". */
#define jl_config_bad(err, field, ...) jl_error((err), JAILER_STEP_CONFIG, 0, (field), __VA_ARGS__)

/* ------------------------------------------------------------ config model */

#define JL_UNSET JAILER_LIMIT_NONE /* a limit that was not given */

struct jl_bind {
        char *source;
        char *dest;
        bool read_only;
};

/* One block device's I/O limits (JL_UNSET: not limited). */
struct jl_io {
        char *device;   /* "major:minor", or a path whose device is meant */
        uint64_t rbps, wbps, riops, wiops;
};

struct jl_env {
        char *key;
        char *value;
};

struct jailer_config {
        char *id;
        char *exec_path;
        char **exec_args; /* NULL-terminated, n_exec_args entries */
        size_t n_exec_args;
        char *jail_root;
        uid_t uid;
        gid_t gid;
        struct {
                uint64_t cpu_quota_us;  /* JL_UNSET: no cpu limit */
                uint64_t cpu_period_us; /* default 100000 */
                uint64_t memory_bytes;  /* JL_UNSET: no memory limit */
                uint64_t max_fds;       /* RLIMIT_NOFILE, default 1024 */
                uint64_t max_procs;     /* RLIMIT_NPROC, default 64 */
                uint64_t max_file_size; /* RLIMIT_FSIZE, JL_UNSET = unlimited */
                uint64_t pids;          /* cgroup pids.max, JL_UNSET = none */
                uint64_t timeout_ms;    /* wall clock, 0 = none */
                /* Pinning (cpuset): lists as given, NULL = not pinned. */
                char *cpus;
                char *mems;
                bool cpus_exclusive;    /* jailerd keeps its other jails off these cpus */
                /* I/O limits per block device (io.max, blkio.throttle.*). */
                struct jl_io *io;
                size_t n_io;
                /* Proportional I/O weight of the whole jail (io.weight,
                 * io.bfq.weight, blkio.*weight), JL_UNSET = the kernel's. */
                uint64_t io_weight;
        } limits;
        bool ns[JAILER_NS_COUNT];       /* network: a new network namespace (not with netns) */
        bool ns_given[JAILER_NS_COUNT]; /* set explicitly (a setter, the file, a flag) */
        char *netns;                    /* join this network namespace; NULL: none */
        jailer_tap *taps;               /* strings owned */
        size_t n_taps;
        struct jl_bind *binds;
        size_t n_binds;
        char *workdir;                  /* default "/" */
        struct jl_env *env;
        size_t n_env;
        char *hostname;                 /* NULL: the jail id */
        bool kvm;                       /* /dev/kvm when the host has it (default true) */
        char **devices;                 /* extra device nodes, e.g. "/dev/net/tun" */
        size_t n_devices;
        jailer_cgroup_version cgroup_version;
        char *cgroup_parent;            /* relative to the hierarchy root; NULL = "jailer" */
        char *seccomp;                  /* NULL/"default": the baseline; "none"; or an OCI profile path */
        bool seccomp_kill;              /* deny by killing the process instead of EPERM */
        char **seccomp_allow;           /* syscalls the baseline should let through, e.g. io_uring_setup */
        size_t n_seccomp_allow;
        /* The fd forms (jailer_config_set_*_fd): -1, or what the path names,
         * opened once by the caller; used instead of the path. */
        int exec_fd;
        int seccomp_fd;
        int jail_root_fd;
        int jail_root_parent_fd;
        int *bind_fds;                  /* n_bind_fds entries, -1 when not given */
        size_t n_bind_fds;
        int *device_fds;                /* n_device_fds entries, -1 when not given */
        size_t n_device_fds;
        int netns_fd;
};

/* Does the jail get a network namespace of its own (new, or joined)? */
static inline bool jl_config_new_netns(const jailer_config *c)
{
        return c->ns[JAILER_NS_NETWORK] && !c->netns;
}

/* The fd given for bind i / device i, or -1. */
int jl_config_bind_fd(const jailer_config *c, size_t i);
int jl_config_device_fd(const jailer_config *c, size_t i);

extern const char *const jl_namespace_names[JAILER_NS_COUNT]; /* "user", "pid", ... */

/* Parse "512M", "1GiB", "4096" into bytes; rejects overflow, junk, negatives. */
int jl_parse_size(const char *s, uint64_t *out);
/* Parse a decimal uint64 strictly (no sign, no junk, no overflow). */
int jl_parse_u64(const char *s, uint64_t *out);

/* CLOCK_MONOTONIC in µs and ns: the one clock every timeout and deadline of
 * libjailer, jailerd and the clients counts in. */
uint64_t jl_now_monotonic_us(void);
uint64_t jl_now_monotonic_ns(void);

/* Read what fd holds into a NUL-terminated malloc'd buffer: at most max
 * bytes (-EFBIG when there is more; at most one byte more is read, whatever
 * the size the file claims).  from_start: pread() from offset 0, leaving
 * the fd's offset alone (it may be shared with whoever passed the fd).
 * len may be NULL.  0 or -errno. */
int jl_read_fd_all(int fd, size_t max, bool from_start, char **out, size_t *len);

/* ------------------------------------------------------------ host paths */

/* Open an absolute host path as root without following any symlink that
 * root does not own (path.c).  On ELOOP from such a link, *why (if given)
 * says which one.  flags are openat() flags; O_CLOEXEC is added. */
int jl_open_trusted(const char *path, int flags, char *why, size_t why_size);
/* Open rel beneath dirfd refusing every symlink and "..": the fallback for
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). */
int jl_open_beneath_nofollow(int dirfd, const char *rel, int flags);

/* File types jl_open_host() accepts (a mask). */
enum {
        JL_TYPE_REG = JAILER_FILE_REG,
        JL_TYPE_DIR = JAILER_FILE_DIR,
        JL_TYPE_CHR = JAILER_FILE_CHR,
        JL_TYPE_BLK = JAILER_FILE_BLK,
        JL_TYPE_SOCK = JAILER_FILE_SOCK,
};
/* Open a host path that a config or a client names, once: jl_open_trusted()
 * to an O_PATH fd, its type checked against types (JL_TYPE_*; a wrong type
 * fails with EINVAL and *why says what it is), then, unless flags has
 * O_PATH, the same inode reopened with flags | O_NONBLOCK | O_NOCTTY |
 * O_CLOEXEC.  Use the fd from then on, never the path. */
int jl_open_host(const char *path, unsigned types, int flags, char *why, size_t why_size);
/* "a regular file", "a directory", "a FIFO", ... for messages. */
const char *jl_file_type_name(mode_t mode);

/* ------------------------------------------------------------ cgroups */

/* One jail's cgroup, whichever backend.  Created before the child exists,
 * limits written at creation, removed by jl_cgroup_destroy(). */
struct jl_cgroup;

typedef struct jl_cgroup_stats {
        uint64_t cpu_usage_us;
        uint64_t cpu_read_us;   /* monotonic, just after cpu_usage_us was read; 0 if it was not */
        uint64_t memory_current_bytes;
        uint64_t memory_peak_bytes;
        uint64_t pids_current;
        int64_t pids_peak;      /* -1 when the kernel does not report it */
        bool oom_killed;        /* oom_kill count > 0 */
        /* Disturbance: -1 where the backend or kernel has nothing. */
        int64_t cpu_periods, cpu_throttled_periods, cpu_throttled_us;
        int64_t memory_high_events, memory_max_events;
        int64_t pressure[3][2]; /* cpu, memory, io x some, full: µs */
        char cpus[256];         /* pinned cpus, canonical list; "" when not pinned */
        int64_t pinned_other_us; /* busy time of the pinned cpus not the jail's */
} jl_cgroup_stats;

enum { JL_PSI_CPU, JL_PSI_MEMORY, JL_PSI_IO };

/* Resolve which backend to use for this config ("v1"/"v2"); fails with a
 * clear message when the requested one is unavailable. */
int jl_cgroup_create(const jailer_config *c, struct jl_cgroup **out, jailer_error *err);
bool jl_cgroup_is_v2(const struct jl_cgroup *cg);
/* v2: an O_DIRECTORY fd of the leaf for clone3(CLONE_INTO_CGROUP); -1 on v1. */
int jl_cgroup_clone_fd(const struct jl_cgroup *cg);
/* Move pid into the cgroup (every hierarchy on v1).  Used on v1, and on v2
 * when CLONE_INTO_CGROUP is unavailable. */
int jl_cgroup_attach(struct jl_cgroup *cg, pid_t pid, jailer_error *err);
/* Where the backend lets a child move itself in (v1): open what it needs,
 * before the clone.  1: the child is to call jl_cgroup_join_child(); 0: the
 * backend has no such way (attach by pid); -1 on error.  The parent closes
 * its copies with jl_cgroup_join_close() once the child has them. */
int jl_cgroup_join_open(struct jl_cgroup *cg, jailer_error *err);
int jl_cgroup_join_child(struct jl_cgroup *cg, jailer_error *err);
void jl_cgroup_join_close(struct jl_cgroup *cg);
int jl_cgroup_stats_read(const struct jl_cgroup *cg, jl_cgroup_stats *st);
/* Kill every process in the cgroup and wait (bounded) until it is empty. */
int jl_cgroup_kill_all(struct jl_cgroup *cg);
/* Append ", "-separated the cgroup files this kernel lacks that libjailer
 * does without (cgroup.kill, memory.peak on v2) to buf.  0, or -1. */
int jl_cgroup_kernel_fallbacks(char *buf, size_t size);
/* The involuntary context switches of the threads now in the cgroup.
 * 0, or -1 with errno. */
int jl_cgroup_threads_nivcsw(const struct jl_cgroup *cg, int64_t *out);
/* Remove the cgroup directories (after kill_all); frees cg. */
int jl_cgroup_destroy(struct jl_cgroup *cg);
/* The same for a cgroup that kill_all found empty after the last process
 * that could enter it was reaped: no listing of it first. */
int jl_cgroup_remove(struct jl_cgroup *cg);
const char *jl_cgroup_path(const struct jl_cgroup *cg);
/* "v1"/"v2" or NULL: what AUTO resolves to on this host. */
const char *jl_cgroup_detect(void);


/* ------------------------------------------------------------ the jail's steps
 *
 * jail.c runs these in the order of the security model; each file holds one
 * layer.  Functions named *_child run in the jailed process before execve and
 * may only report errors through *err (the caller ships it to the parent).
 */

/* What the parent prepared in the host, before the child exists (mount.c).
 * Every path created in the jail root is recorded so that it can be removed
 * after the jail ends: nothing is left in the jail root that was not there. */
struct jl_created {
        char *relpath;          /* relative to the jail root */
        bool is_dir;
};

struct jl_rootfs {
        int root_fd;            /* O_PATH|O_DIRECTORY of the jail root */
        int root_tree;          /* detached nosuid,nodev clone of it (open_tree) */
        char *root_path;
        int root_parent_fd;     /* its parent directory, and its name there */
        char *root_leaf;
        bool created_root;      /* we made the jail root directory: remove it */
        int *bind_src_fds;      /* detached mount tree of each bind source */
        size_t n_binds;
        bool *bind_nested;      /* dest lies under an earlier bind's dest */
        struct jl_created *created;
        size_t n_created;
        struct jl_dev {
                char *name;     /* path below /dev, e.g. "net/tun" */
                mode_t mode;    /* S_IFCHR/S_IFBLK | permissions */
                dev_t rdev;
                bool jail_owned; /* chown to the jail's uid/gid */
        } *devs;
        size_t n_devs;
};

int jl_rootfs_prepare(const jailer_config *c, struct jl_rootfs *r, jailer_error *err);
/* Close the detached mount trees once the child holds its own copies. */
void jl_rootfs_release_trees(struct jl_rootfs *r);
/* Remove what prepare created (after the jail's mount namespace is gone). */
void jl_rootfs_cleanup(struct jl_rootfs *r);
/* Child: build the jail's mount tree and pivot_root into it. */
int jl_mount_setup_child(const jailer_config *c, const struct jl_rootfs *r, jailer_error *err);

/* ns.c */
int jl_uts_setup_child(const jailer_config *c, jailer_error *err);
int jl_net_setup_child(const jailer_config *c, jailer_error *err);

/* net.c: the jail's network.  Parent: open and check the netns to join
 * (an fd, or -1 when none is asked for). */
int jl_netns_open(const jailer_config *c, jailer_error *err);
/* Child, first of all: join it (before any other namespace step). */
int jl_netns_join_child(int netns_fd, jailer_error *err);
/* The taps the jailer made, to be removed when the jail ends: a netlink
 * socket of their namespace and their interface indexes. */
struct jl_taps {
        int nl_fd;
        int *ifindex;
        size_t n;
};
/* Parent: create the config's taps in the namespace of ns_fd (an nsfs fd
 * or the child's pidfd), owned by the jail's uid/gid. */
int jl_taps_create(const jailer_config *c, int ns_fd, struct jl_taps *t, jailer_error *err);
/* config.c: a unicast, non-zero "xx:xx:xx:xx:xx:xx" into mac. */
bool jl_tap_mac(const char *s, unsigned char mac[6]);
/* Remove what jl_taps_create() made; closes the socket. */
void jl_taps_remove(struct jl_taps *t);
/* Parent: write /proc/PID/{setgroups,uid_map,gid_map} mapping the jail's
 * uid/gid to themselves (and nothing else). */
int jl_userns_write_maps(pid_t pid, uid_t uid, gid_t gid, jailer_error *err);

/* rlimit.c: those that may need privilege to raise (before the user
 * namespace), and RLIMIT_NPROC (after it, see rlimit.c for why). */
/* ------------------------------------------------------------ cpu lists (cpulist.c) */

#define JL_CPUS_MAX 4096        /* cpus and NUMA nodes 0..JL_CPUS_MAX-1 */
typedef struct {
        uint64_t bits[JL_CPUS_MAX / 64];
} jl_cpuset;

/* "0-3,8" (a trailing newline allowed; "" is the empty set) into *out;
 * -1 with why filled ("... is not a list such as ...") when malformed. */
int jl_cpulist_parse(const char *text, jl_cpuset *out, char *why, size_t why_size);
bool jl_cpuset_has(const jl_cpuset *s, unsigned n);
size_t jl_cpuset_count(const jl_cpuset *s);
/* The lowest member of want that is not in have, or -1. */
int jl_cpuset_first_outside(const jl_cpuset *want, const jl_cpuset *have);
/* The canonical list ("0-3,8") in buf, cut after the last range that
 * fits; JL_CPULIST_MAX always fits ("0,2,4,...": 5 bytes a cpu at most). */
#define JL_CPULIST_MAX (5 * JL_CPUS_MAX + 1)
void jl_cpuset_format(const jl_cpuset *s, char *buf, size_t size);

/* "major:minor" (decimal) of limits.io[].device; false for anything else. */
bool jl_io_parse_devnum(const char *s, unsigned *maj, unsigned *min);

int jl_rlimits_apply_child(const jailer_config *c, jailer_error *err);
int jl_rlimit_nproc_apply_child(const jailer_config *c, jailer_error *err);

/* seccomp.c: the filter (baseline or an OCI profile), installed last. */
/* Is name a syscall the baseline denies (and so one seccomp_allow may name)? */
bool jl_seccomp_allowable(const char *name);
typedef void *scmp_filter_ctx_t;
/* A compiled filter: the BPF program libseccomp built, shared with the
 * per-process cache of seccomp.c (reference-counted). */
typedef struct jl_seccomp_prog jl_seccomp_prog;
/* Parent: the program the config asks for (NULL for "none"), compiled or
 * taken from the cache; release it when done. */
int jl_seccomp_prepare(const jailer_config *c, jl_seccomp_prog **out, jailer_error *err);
void jl_seccomp_release(jl_seccomp_prog *p);
/* Child: load it, as seccomp_load() would. */
int jl_seccomp_apply_child(const jl_seccomp_prog *p, jailer_error *err);
/* May a prepared jail install it before it waits for start (it lets the
 * wait's and the release's system calls through, whatever their
 * arguments)?  Then start pays no filter load. */
bool jl_seccomp_early(const jl_seccomp_prog *p);
/* What the program answers for system call nr of architecture arch
 * (AUDIT_ARCH_*): 0 and *ret, or -1 when that depends on more than the two. */
int jl_seccomp_prog_verdict(const jl_seccomp_prog *p, uint32_t arch, int nr, uint32_t *ret);
/* The same for a program of len instructions. */
struct sock_filter;
int jl_seccomp_bpf_verdict(const struct sock_filter *insns, size_t len, uint32_t arch, int nr, uint32_t *ret);
/* The program's instructions (struct sock_filter), len in bytes. */
int jl_seccomp_prog_bpf(const jl_seccomp_prog *p, const void **insns, size_t *len);
/* libseccomp's context for the config's filter, never cached (NULL for
 * "none"): what jl_seccomp_prepare() compiles. */
int jl_seccomp_compile(const jailer_config *c, scmp_filter_ctx_t *out, jailer_error *err);
/* An OCI profile's bytes to a context.  Error messages name the profile
 * and the element at fault ("syscalls[3].names[1]: not a string"), never
 * its bytes: the file may be one the requester could not read. */
int jl_seccomp_parse_oci(const char *json, size_t len, const char *path, scmp_filter_ctx_t *out, jailer_error *err);
/* The profile behind fd, read once (the same checks as above) into a sealed
 * memfd: whoever checks its contents and whoever loads it later read the
 * same bytes, whatever happens to the file meanwhile.  The memfd, or -1. */
int jl_seccomp_profile_snapshot(int fd, const char *name, jailer_error *err);

/* caps.c: switch to the jail's uid/gid and drop every capability from all
 * five sets; then no_new_privs. */
int jl_privs_drop_child(const jailer_config *c, jailer_error *err);

#endif

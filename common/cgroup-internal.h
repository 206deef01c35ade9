/* SPDX-License-Identifier: MIT */
/*
 * Shared between cgroup.c (detection, file helpers, dispatch) and the two
 * backends cgroup-v1.c and cgroup-v2.c.  Nothing outside these three files
 * (and the cgroup unit test) should need it: the rest of libjailer uses the
 * jl_cgroup_* interface of jailer-internal.h.
 */
#ifndef JAILER_CGROUP_INTERNAL_H
#define JAILER_CGROUP_INTERNAL_H

#include "jailer-internal.h"

#include <stdint.h>
#include <time.h>

/* The v1 controllers a jail uses, as indexes: every jail the first
 * JL_CG1_REQUIRED, blkio only a jail with I/O limits, and cpuset only a
 * jail that is pinned (a new v1 cpuset
 * starts empty, and its cpus and mems have to be filled in before a task
 * may join it). */
enum {
        JL_CG1_CPU = 0,
        JL_CG1_CPUACCT,
        JL_CG1_MEMORY,
        JL_CG1_PIDS,
        JL_CG1_REQUIRED,
        JL_CG1_CPUSET = JL_CG1_REQUIRED,
        JL_CG1_BLKIO,           /* only a jail with I/O limits */
        JL_CG1_COUNT,
};
extern const char *const jl_cg1_controller_names[JL_CG1_COUNT];

#define JL_CG_DEFAULT_PARENT "jailer"
#define JL_CG_DEFAULT_PERIOD_US 100000ULL

/* What this host offers, from statfs() and /proc/self/mountinfo. */
struct jl_cg_host {
        /* A cgroup2 mount offering cpu, memory and pids, or NULL. */
        char *v2_mount;
        /* When v2_mount is NULL: why not, for error messages. */
        char v2_why[256];
        /* Mount point of the (first) v1 hierarchy holding each controller,
         * and that hierarchy's "major:minor" (co-mounted controllers share it). */
        char *v1_mount[JL_CG1_COUNT];
        char v1_dev[JL_CG1_COUNT][32];
};

int jl_cg_host_probe(struct jl_cg_host *h);
/* Probe once and answer every later jl_cg_host_probe() of this process,
 * and of the processes it forks, from that: for a launcher that forks one
 * supervisor per jail, which would each parse /proc/self/mountinfo again.
 * Cgroup hierarchies mounted or unmounted later are not seen (a jail then
 * fails with the path it could not open): restart the process. */
int jl_cg_host_pin(void);
void jl_cg_host_done(struct jl_cg_host *h);
bool jl_cg_host_has_v1(const struct jl_cg_host *h);
/* "memory, pids": the v1 controllers with no hierarchy, in buf. */
void jl_cg_host_v1_missing(const struct jl_cg_host *h, char *buf, size_t size);

/* One directory of a jail: the v2 leaf, or one v1 hierarchy's leaf. */
struct jl_cg_dir {
        char *path;     /* absolute path of the leaf */
        int parent_fd;  /* O_DIRECTORY fd of its parent, for unlinkat() */
        int fd;         /* O_DIRECTORY fd of the leaf */
        bool created;   /* we made it, so we remove it */
};

struct jl_cgroup {
        const struct jl_cg_ops *ops;
        char *id;
        struct jl_cg_dir dirs[JL_CG1_COUNT];
        size_t n_dirs;
        /* v1: which dirs[] entry serves each controller. */
        size_t cg1_dir[JL_CG1_COUNT];
        /* v1: each leaf's "tasks", open for the child to join itself
         * (jl_cgroup_join_open()); n_join of them. */
        int join_fd[JL_CG1_COUNT];
        size_t n_join;
        /* Pinning, from the config and checked against the host; the busy
         * time of the pinned cpus when the cgroup was made (-1: unknown). */
        struct jl_cg_pin *pin;
        int64_t pinned_busy_start_us;
        /* I/O limits, their devices resolved to whole disks. */
        struct jl_cg_io *io;
        size_t n_io;
};

/* ------------------------------------------------------ file helpers
 * All take a directory fd and a plain file name, open with O_NOFOLLOW |
 * O_CLOEXEC, and return 0 or a negative errno. */

/* Whole file, NUL-terminated, malloc'd. */
int jl_cg_read_at(int dirfd, const char *name, char **out);
/* One write(2) of the whole value: a cgroup file parses each write on its
 * own, so a short write is an error (-EIO), never continued. */
int jl_cg_write_at(int dirfd, const char *name, const char *value);
int jl_cg_writef_at(int dirfd, const char *name, const char *fmt, ...) _printf_(3, 4);
/* A single number ("max" reads as UINT64_MAX), trailing newline allowed. */
int jl_cg_read_u64_at(int dirfd, const char *name, uint64_t *out);
/* The value of "key N" in a flat keyed file (cpu.stat, memory.events,
 * memory.oom_control); -ENOKEY when the key is absent. */
int jl_cg_read_key_at(int dirfd, const char *name, const char *key, uint64_t *out);
/* The same, in a file's text already read (jl_cg_read_at()): a file with
 * several keys wanted is read once. */
int jl_cg_key_in(const char *text, const char *key, uint64_t *out);
bool jl_cg_exists_at(int dirfd, const char *name);
/* Is word (space/newline separated) in text? */
bool jl_cg_has_word(const char *text, const char *word);

/* Open (creating missing components, mode 0755, when create) the directory
 * mount/parent without following symlinks; level(), when not NULL, is called
 * for the mount root and for every component, top down, before descending.
 * Returns the fd of the last component, or -1 with *err filled. */
typedef int (*jl_cg_level_fn)(int fd, const char *path, void *data, jailer_error *err);
int jl_cg_open_parent(const char *mount, const char *parent, jl_cg_level_fn level, void *data,
                      char **path_out, jailer_error *err);

/* mkdir the leaf "id" under parent_fd and open it.  EEXIST is reported as
 * "cgroup <path> already exists: is a jail with this id running?". */
int jl_cg_dir_make(struct jl_cg_dir *d, int parent_fd, const char *parent_path,
                   const char *id, jailer_error *err);
/* rmdir the leaf when we created it (retrying briefly on EBUSY), close fds.
 * 0 or a negative errno. */
int jl_cg_dir_remove(struct jl_cg_dir *d, const char *id);

/* SIGKILL every pid listed in dirfd's cgroup.procs.  Returns how many pids
 * were listed (0: empty) or a negative errno. */
int jl_cg_kill_procs(int dirfd);

/* The involuntary context switches of the threads now in dirfd's cgroup
 * (cgroup.threads on v2, tasks on v1), summed from /proc.  0 or -errno. */
int jl_cg_threads_nivcsw(int dirfd, int64_t *out);

/* Wait a little between polls: 1 ms, doubling up to 20 ms. */
void jl_cg_backoff(unsigned *round);

#define JL_CG_KILL_TIMEOUT_NS (5ULL * 1000 * 1000 * 1000)
#define JL_CG_RMDIR_TIMEOUT_NS (2ULL * 1000 * 1000 * 1000)

/* Stats: remember the first error of several reads in *first (0 or
 * -errno), so that one missing file does not hide the others' values. */
static inline void jl_cg_keep(int *first, int r)
{
        if (r < 0 && *first == 0)
                *first = r;
}
/* pids.peak, the same file on v1 and v2 (recent kernels only: without it
 * *out stays -1).  0 or -errno. */
int jl_cg_read_pids_peak(int dirfd, int64_t *out);
/* A key of a flat keyed file into *out when present (else *out unchanged);
 * 0 or -errno, a missing file or key is not an error. */
int jl_cg_read_key_opt(int dirfd, const char *name, const char *key, int64_t *out);
/* A file that may be missing (ENOENT, EOPNOTSUPP): then 0 and *out NULL. */
int jl_cg_read_opt_at(int dirfd, const char *name, char **out);
/* jl_cg_read_key_opt() in a text read by jl_cg_read_opt_at() (NULL: the
 * file is missing, nothing is set). */
int jl_cg_key_opt_in(const char *text, const char *key, int64_t *out);
/* The "total=" of the "some" and "full" lines of a PSI file (cpu.pressure,
 * ...), µs; *some and *full unchanged when absent.  0 or -errno. */
int jl_cg_read_psi_at(int dirfd, const char *name, int64_t *some, int64_t *full);

/* ------------------------------------------------------ pinning (cpuset)
 * The cpus and nodes of limits.cpus and limits.mems, parsed, checked
 * against what the host has online (jl_cg_pin_parse), then against the
 * parent cgroup's set (jl_cg_pin_check_parent) before the leaf is made. */
struct jl_cg_pin {
        bool cpus_set, mems_set;
        jl_cpuset cpus, mems;
};

/* The cpuset file names of one backend. */
struct jl_cg_pin_files {
        const char *cpus, *mems;                        /* the leaf's setting */
        const char *effective_cpus, *effective_mems;    /* what a cgroup really has */
};

/* *out = NULL when the config pins nothing; else a malloc'd pin.  0 or -1
 * with *err naming the field and the offending cpu or node. */
int jl_cg_pin_parse(const jailer_config *c, struct jl_cg_pin **out, jailer_error *err);
/* Is every pinned cpu and node in the parent's effective set? */
int jl_cg_pin_check_parent(const struct jl_cg_pin *p, int parent_fd, const char *parent_path,
                           const struct jl_cg_pin_files *f, jailer_error *err);
/* The busy time (all but idle and iowait) of the cpus in set since boot,
 * from /proc/stat, in µs (to a USER_HZ tick per cpu).  0 or -errno. */
int jl_cg_cpus_busy_us(const jl_cpuset *set, uint64_t *out);
/* Write the pinned cpus and nodes into the leaf d; those not pinned are
 * left alone when inherit (v2: an empty setting means the parent's), or
 * copied from the parent's effective set (v1: empty means none). */
int jl_cg_pin_write(const struct jl_cg_pin *p, struct jl_cg_dir *d, const struct jl_cg_pin_files *f,
                    bool inherit, jailer_error *err);

/* ------------------------------------------------------ I/O limits
 * limits.io with each device resolved (jl_cg_io_resolve) before anything
 * is made: "major:minor" as given, a block device node its st_rdev, any
 * other path the disk of its file system; a partition stands for its disk
 * (the throttles are per disk), and a device the host does not have is an
 * error naming the entry. */
struct jl_cg_io {
        unsigned major, minor;
        uint64_t rbps, wbps, riops, wiops;      /* JL_UNSET: no limit */
};

int jl_cg_io_resolve(const jailer_config *c, struct jl_cg_io **out, size_t *n_out, jailer_error *err);

/* limits.io_weight: one backend's weight files, best first, with the range
 * each takes and whether it wants "default W" rather than "W". */
struct jl_cg_weight_file {
        const char *name;
        uint64_t min, max;
        bool keyed;
};
/* Write weight into the first of files that leaf d has; 0, or -1 with *err
 * naming the field, the value and what the kernel lacks (needs: what would
 * give it one). */
int jl_cg_io_weight_write(struct jl_cg_dir *d, const struct jl_cg_weight_file *files, size_t n, uint64_t weight,
                          const char *needs, jailer_error *err);

/* ------------------------------------------------------ backends
 * One table of operations per backend, chosen once by jl_cgroup_create():
 * cgroup.c calls through cg->ops, a backend never calls back into
 * cgroup.c, and both use the helpers above (cgroup-fs.c). */
struct jl_cg_ops {
        const char *name;       /* "v1", "v2" */
        /* Make the leaves and write the limits; on failure the dirs made
         * so far are counted in cg->n_dirs (the caller removes them). */
        int (*create)(const jailer_config *c, const struct jl_cg_host *h, struct jl_cgroup *cg,
                      jailer_error *err);
        int (*attach)(struct jl_cgroup *cg, pid_t pid, jailer_error *err);
        /* Open what a child needs to move itself in (cg->join_fd), or NULL
         * when the backend has no such way. */
        int (*join_open)(struct jl_cgroup *cg, jailer_error *err);
        /* Fill what the backend has (st comes zeroed, pids_peak -1);
         * 0 or the first -errno. */
        int (*stats_read)(const struct jl_cgroup *cg, jl_cgroup_stats *st);
        /* Kill every process and wait (bounded) until none is left;
         * 0 or -errno (-EBUSY: some survived the wait). */
        int (*kill_all)(struct jl_cgroup *cg);
        /* The fd for clone3(CLONE_INTO_CGROUP), or -1. */
        int (*clone_fd)(const struct jl_cgroup *cg);
        /* The directory jailer_jail_cgroup_path() reports. */
        const char *(*path)(const struct jl_cgroup *cg);
};

extern const struct jl_cg_ops jl_cg1_ops;
extern const struct jl_cg_ops jl_cg2_ops;

#endif

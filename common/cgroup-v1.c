/* SPDX-License-Identifier: MIT */
/*
 * cgroup v1 backend, for hybrid hosts: one leaf <mnt>/<parent>/<id> in each
 * of the cpu, cpuacct, memory and pids hierarchies, in the cpuset one when
 * the jail is pinned and in the blkio one when it has I/O limits (one leaf
 * serves controllers that are co-mounted).  v1 has no CLONE_INTO_CGROUP:
 * the child moves itself into every hierarchy (join_open(), then
 * jl_cgroup_join_child()) before it does anything; attach() by pid is
 * there for callers that move another process.
 */
#include "cgroup-internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static struct jl_cg_dir *dir_of(struct jl_cgroup *cg, int ctl)
{
        return &cg->dirs[cg->cg1_dir[ctl]];
}

static int write_limit(struct jl_cg_dir *d, const char *file, const char *field, uint64_t value,
                       jailer_error *err)
{
        int r = jl_cg_writef_at(d->fd, file, "%" PRIu64, value);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, field, "cannot write \"%" PRIu64 "\" to %s/%s",
                                value, d->path, file);
        return 0;
}

static const struct jl_cg_pin_files cpuset_files = {
        .cpus = "cpuset.cpus",
        .mems = "cpuset.mems",
        .effective_cpus = "cpuset.effective_cpus",
        .effective_mems = "cpuset.effective_mems",
};

/* One setting of a parent cpuset: v1 creates a cpuset with empty cpus and
 * mems, and neither a task nor a child's setting fits into an empty one,
 * so a parent left empty (we made it, or someone did without filling it)
 * gets its own parent's values, top down.  The mount root is never empty. */
static int cpuset_fill_one(int fd, const char *path, const char *file, jailer_error *err)
{
        _cleanup_free_ char *cur = NULL, *up = NULL;
        int r = jl_cg_read_at(fd, file, &cur);
        if (r == 0 && cur[strspn(cur, "\n")] != '\0')
                return 0;

        _cleanup_close_ int pfd = -EBADF;
        if (r == 0) {
                pfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = pfd < 0 ? -errno : jl_cg_read_at(pfd, file, &up);
        }
        if (r == 0)
                r = jl_cg_write_at(fd, file, up);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, "cgroup_parent", "cannot fill %s/%s from its parent",
                                path, file);
        return 0;
}

static int cpuset_fill(int fd, const char *path, _unused_ void *data, jailer_error *err)
{
        if (cpuset_fill_one(fd, path, cpuset_files.cpus, err) < 0)
                return -1;
        return cpuset_fill_one(fd, path, cpuset_files.mems, err);
}

/* limits.io into blkio.throttle.*: one "maj:min value" line per file. */
static int write_io(struct jl_cgroup *cg, jailer_error *err)
{
        static const struct {
                const char *file, *key;
                size_t off;
        } files[] = {
                { "blkio.throttle.read_bps_device", "rbps", offsetof(struct jl_cg_io, rbps) },
                { "blkio.throttle.write_bps_device", "wbps", offsetof(struct jl_cg_io, wbps) },
                { "blkio.throttle.read_iops_device", "riops", offsetof(struct jl_cg_io, riops) },
                { "blkio.throttle.write_iops_device", "wiops", offsetof(struct jl_cg_io, wiops) },
        };

        for (size_t i = 0; i < cg->n_io; i++)
                for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                        const struct jl_cg_io *io = &cg->io[i];
                        uint64_t v = *(const uint64_t *) ((const char *) io + files[k].off);
                        struct jl_cg_dir *d = dir_of(cg, JL_CG1_BLKIO);
                        char field[48];

                        if (v == JL_UNSET)
                                continue;
                        snprintf(field, sizeof(field), "limits.io[%zu].%s", i, files[k].key);
                        int r = jl_cg_writef_at(d->fd, files[k].file, "%u:%u %" PRIu64, io->major, io->minor, v);
                        if (r < 0)
                                return jl_error(err, JAILER_STEP_CGROUP, -r, field,
                                                "cannot write \"%u:%u %" PRIu64 "\" to %s/%s", io->major, io->minor,
                                                v, d->path, files[k].file);
                }
        return 0;
}

/* limits.io_weight: BFQ's blkio.bfq.weight, else CFQ's blkio.weight
 * (kernels before 5.0). */
static int write_io_weight(const jailer_config *c, struct jl_cgroup *cg, jailer_error *err)
{
        static const struct jl_cg_weight_file files[] = {
                { "blkio.bfq.weight", 1, 1000, false },
                { "blkio.weight", 10, 1000, false },
        };

        if (c->limits.io_weight == JL_UNSET)
                return 0;
        return jl_cg_io_weight_write(dir_of(cg, JL_CG1_BLKIO), files, ELEMENTSOF(files), c->limits.io_weight,
                                     "the BFQ I/O scheduler loaded; blk-iocost's io.weight is cgroup v2's only",
                                     err);
}

static int cg1_create(const jailer_config *c, const struct jl_cg_host *h, struct jl_cgroup *cg,
                      jailer_error *err)
{
        const char *parent = c->cgroup_parent ? c->cgroup_parent : JL_CG_DEFAULT_PARENT;

        if (cg->pin && !h->v1_mount[JL_CG1_CPUSET])
                return jl_error(err, JAILER_STEP_CGROUP, 0, cg->pin->cpus_set ? "limits.cpus" : "limits.mems",
                                "pinning needs the cpuset controller, and no v1 hierarchy has it");
        bool blkio = cg->n_io || c->limits.io_weight != JL_UNSET;
        if (blkio && !h->v1_mount[JL_CG1_BLKIO])
                return jl_error(err, JAILER_STEP_CGROUP, 0, cg->n_io ? "limits.io" : "limits.io_weight",
                                "%s the blkio controller, and no v1 hierarchy has it",
                                cg->n_io ? "I/O limits need" : "an I/O weight needs");

        /* Memory first: it is the jail's main path.  Every leaf is counted in
         * n_dirs before it is made, so that a failure half-way removes the
         * ones made (and only those: a leftover of a crashed jail in one
         * hierarchy is reported, never removed). */
        int order[JL_CG1_COUNT] = { JL_CG1_MEMORY, JL_CG1_PIDS, JL_CG1_CPU, JL_CG1_CPUACCT };
        size_t n_order = JL_CG1_REQUIRED;
        if (cg->pin)
                order[n_order++] = JL_CG1_CPUSET;
        if (blkio)
                order[n_order++] = JL_CG1_BLKIO;
        for (size_t k = 0; k < n_order; k++) {
                int ctl = order[k];
                bool shared = false;
                for (size_t j = 0; j < k; j++)
                        if (strcmp(h->v1_dev[order[j]], h->v1_dev[ctl]) == 0) {
                                cg->cg1_dir[ctl] = cg->cg1_dir[order[j]];
                                shared = true;
                                break;
                        }
                if (shared)
                        continue;

                /* The cpuset hierarchy (maybe co-mounted with another):
                 * its parents filled in, the pinning checked against them
                 * before the leaf is made. */
                bool cpuset = cg->pin && strcmp(h->v1_dev[ctl], h->v1_dev[JL_CG1_CPUSET]) == 0;
                _cleanup_free_ char *parent_path = NULL;
                int pfd = jl_cg_open_parent(h->v1_mount[ctl], parent, cpuset ? cpuset_fill : NULL, NULL,
                                            &parent_path, err);
                if (pfd < 0)
                        return -1;
                struct jl_cg_dir *d = &cg->dirs[cg->n_dirs];
                d->parent_fd = pfd;
                cg->cg1_dir[ctl] = cg->n_dirs++;
                if (cpuset && jl_cg_pin_check_parent(cg->pin, pfd, parent_path, &cpuset_files, err) < 0)
                        return -1;
                if (jl_cg_dir_make(d, pfd, parent_path, c->id, err) < 0)
                        return -1;
        }

        /* Before any task joins: an empty v1 cpuset refuses them. */
        if (cg->pin && jl_cg_pin_write(cg->pin, dir_of(cg, JL_CG1_CPUSET), &cpuset_files, false, err) < 0)
                return -1;

        uint64_t period = c->limits.cpu_period_us;
        if (period == JL_UNSET || period == 0)
                period = JL_CG_DEFAULT_PERIOD_US;
        /* Period before quota: the kernel checks each write against the
         * other value in place. */
        if (write_limit(dir_of(cg, JL_CG1_CPU), "cpu.cfs_period_us", "limits.cpu_period_us", period, err) < 0)
                return -1;
        if (c->limits.cpu_quota_us != JL_UNSET &&
            write_limit(dir_of(cg, JL_CG1_CPU), "cpu.cfs_quota_us", "limits.cpu_quota_us",
                        c->limits.cpu_quota_us, err) < 0)
                return -1;

        if (c->limits.memory_bytes != JL_UNSET) {
                struct jl_cg_dir *m = dir_of(cg, JL_CG1_MEMORY);
                /* memsw (memory + swap) must never be below the memory
                 * limit, so the memory limit goes first (memsw is still
                 * unlimited), then memsw gets the same value: swap cannot
                 * extend the jail's memory.  The kernel rounds both down to
                 * a page alike. */
                if (write_limit(m, "memory.limit_in_bytes", "limits.memory_bytes", c->limits.memory_bytes,
                                err) < 0)
                        return -1;
                if (jl_cg_exists_at(m->fd, "memory.memsw.limit_in_bytes")) {
                        if (write_limit(m, "memory.memsw.limit_in_bytes", "limits.memory_bytes",
                                        c->limits.memory_bytes, err) < 0)
                                return -1;
                } else
                        /* No swap accounting (swapaccount=0): at least keep
                         * this cgroup's own reclaim from swapping. */
                        (void) jl_cg_write_at(m->fd, "memory.swappiness", "0");
        }

        if (c->limits.pids != JL_UNSET &&
            write_limit(dir_of(cg, JL_CG1_PIDS), "pids.max", "limits.pids", c->limits.pids, err) < 0)
                return -1;
        if (write_io(cg, err) < 0)
                return -1;
        return write_io_weight(c, cg, err);
}

static int cg1_attach(struct jl_cgroup *cg, pid_t pid, jailer_error *err)
{
        for (size_t i = 0; i < cg->n_dirs; i++) {
                int r = jl_cg_writef_at(cg->dirs[i].fd, "cgroup.procs", "%d", (int) pid);
                if (r < 0)
                        return jl_error(err, JAILER_STEP_CGROUP, -r, NULL,
                                        "cannot move pid %d into %s/cgroup.procs", (int) pid, cg->dirs[i].path);
        }
        return 0;
}

/* Each leaf's "tasks" file, for the child to write "0" into: a thread that
 * moves itself is moved without the global cgroup_threadgroup_rwsem (Linux
 * 6.2+), whose writers otherwise wait for an RCU grace period after a quiet
 * spell (~10 ms per jail on a service that starts one now and then).  Our
 * child has one thread, so moving it moves the process.  Opened by us, as
 * root: the kernel checks the opener's credentials. */
static int cg1_join_open(struct jl_cgroup *cg, jailer_error *err)
{
        for (size_t i = 0; i < cg->n_dirs; i++) {
                int fd = openat(cg->dirs[i].fd, "tasks", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

                if (fd < 0)
                        return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "cannot open %s/tasks",
                                        cg->dirs[i].path);
                cg->join_fd[cg->n_join++] = fd;
        }
        return 0;
}

static int cg1_stats_read(const struct jl_cgroup *cg, jl_cgroup_stats *st)
{
        int cpuacct = cg->dirs[cg->cg1_dir[JL_CG1_CPUACCT]].fd;
        int mem = cg->dirs[cg->cg1_dir[JL_CG1_MEMORY]].fd;
        int pids = cg->dirs[cg->cg1_dir[JL_CG1_PIDS]].fd;
        int first = 0, r;
        uint64_t v;

        /* Nanoseconds; dividing cannot overflow (multiplying µs would). */
        r = jl_cg_read_u64_at(cpuacct, "cpuacct.usage", &v);
        if (r == 0) {
                st->cpu_read_us = jl_now_monotonic_us();
                st->cpu_usage_us = v / 1000;
        }
        jl_cg_keep(&first, r);
        jl_cg_keep(&first, jl_cg_read_u64_at(mem, "memory.usage_in_bytes", &st->memory_current_bytes));
        jl_cg_keep(&first, jl_cg_read_u64_at(mem, "memory.max_usage_in_bytes", &st->memory_peak_bytes));
        jl_cg_keep(&first, jl_cg_read_u64_at(pids, "pids.current", &st->pids_current));
        jl_cg_keep(&first, jl_cg_read_pids_peak(pids, &st->pids_peak));

        /* Disturbance: v1 has no per-cgroup PSI and no memory.high.  One
         * read of cpu.stat for its three keys. */
        int cpu = cg->dirs[cg->cg1_dir[JL_CG1_CPU]].fd;
        _cleanup_free_ char *cpu_stat = NULL;
        r = jl_cg_read_opt_at(cpu, "cpu.stat", &cpu_stat);
        jl_cg_keep(&first, r);
        jl_cg_keep(&first, jl_cg_key_opt_in(cpu_stat, "nr_periods", &st->cpu_periods));
        jl_cg_keep(&first, jl_cg_key_opt_in(cpu_stat, "nr_throttled", &st->cpu_throttled_periods));
        jl_cg_keep(&first, jl_cg_key_opt_in(cpu_stat, "throttled_time", &st->cpu_throttled_us));
        if (st->cpu_throttled_us > 0)
                st->cpu_throttled_us /= 1000;   /* ns */
        /* No memory events either: memory.failcnt would be the count of
         * charges refused at the limit, but recent kernels (6.18 here)
         * leave it at 0 even for a jail OOM-killed at its limit, and a 0
         * that means nothing is worse than null. */

        r = jl_cg_read_key_at(mem, "memory.oom_control", "oom_kill", &v);
        if (r == 0)
                st->oom_killed = v > 0;
        else if (r != -ENOKEY)  /* "oom_kill" appeared in Linux 4.13 */
                jl_cg_keep(&first, r);
        return first;
}

static int cg1_kill_all(struct jl_cgroup *cg)
{
        /* v1 has no cgroup.kill and no populated notification: kill what
         * each hierarchy lists until they all list nothing.  A process
         * forked between two rounds is caught by the next one. */
        uint64_t deadline = jl_now_monotonic_ns() + JL_CG_KILL_TIMEOUT_NS;
        unsigned round = 0;

        for (;;) {
                int listed = 0;
                for (size_t i = 0; i < cg->n_dirs; i++) {
                        int r = jl_cg_kill_procs(cg->dirs[i].fd);
                        if (r < 0)
                                return r;
                        listed += r;
                }
                if (listed == 0)
                        return 0;
                if (jl_now_monotonic_ns() >= deadline)
                        return -EBUSY;
                jl_cg_backoff(&round);
        }
}

static int cg1_clone_fd(_unused_ const struct jl_cgroup *cg)
{
        return -1;      /* v1 has no CLONE_INTO_CGROUP */
}

static const char *cg1_path(const struct jl_cgroup *cg)
{
        return dir_of((struct jl_cgroup *) cg, JL_CG1_MEMORY)->path;
}

const struct jl_cg_ops jl_cg1_ops = {
        .name = "v1",
        .create = cg1_create,
        .attach = cg1_attach,
        .join_open = cg1_join_open,
        .stats_read = cg1_stats_read,
        .kill_all = cg1_kill_all,
        .clone_fd = cg1_clone_fd,
        .path = cg1_path,
};

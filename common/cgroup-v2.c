/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 backend: one leaf <mount>/<parent>/<id> with cpu, memory and
 * pids limits.  The jailed child is born in it with clone3(CLONE_INTO_CGROUP)
 * on the leaf's fd (jl_cgroup_clone_fd), or moved in with attach().
 */
#include "cgroup-internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>

static int enable(int fd, const char *path, const char *const *want, size_t n_want, jailer_error *err)
{
        _cleanup_free_ char *cur = NULL;

        int r = jl_cg_read_at(fd, "cgroup.subtree_control", &cur);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, "cgroup_parent",
                                "cannot read %s/cgroup.subtree_control", path);

        char add[64] = "";
        for (size_t i = 0; i < n_want; i++)
                if (!jl_cg_has_word(cur, want[i])) {
                        if (add[0])
                                strcat(add, " ");
                        strcat(add, "+");
                        strcat(add, want[i]);
                }
        if (!add[0])
                return 0;

        r = jl_cg_write_at(fd, "cgroup.subtree_control", add);
        if (r < 0) {
                const char *why = r == -EBUSY ? " (that cgroup holds processes of its own, and v2 gives "
                                                "controllers only to the children of cgroups without any)"
                                : r == -ENOENT ? " (not offered by its parent: see cgroup.controllers)"
                                : "";
                return jl_error(err, JAILER_STEP_CGROUP, -r, "cgroup_parent",
                                "cannot write \"%s\" to %s/cgroup.subtree_control%s", add, path, why);
        }
        return 0;
}

/* The controllers a jail needs given to the children of every level: cpu,
 * memory and pids, and cpuset or io when it is pinned or I/O-limited. */
struct wanted {
        const char *names[5];
        size_t n;
};

static int enable_controllers(int fd, const char *path, void *data, jailer_error *err)
{
        const struct wanted *w = data;
        return enable(fd, path, w->names, w->n, err);
}

static const struct jl_cg_pin_files cpuset_files = {
        .cpus = "cpuset.cpus",
        .mems = "cpuset.mems",
        .effective_cpus = "cpuset.cpus.effective",
        .effective_mems = "cpuset.mems.effective",
};

/* Is controller offered at the mount root? */
static int offered(const struct jl_cg_host *h, const char *controller, const char *field, const char *what,
                   jailer_error *err)
{
        _cleanup_close_ int fd = open(h->v2_mount, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *ctl = NULL;
        int r = fd < 0 ? -errno : jl_cg_read_at(fd, "cgroup.controllers", &ctl);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot read %s/cgroup.controllers",
                                h->v2_mount);
        if (!jl_cg_has_word(ctl, controller))
                return jl_error(err, JAILER_STEP_CGROUP, 0, field,
                                "%s needs the %s controller, and the cgroup2 hierarchy at %s does not offer it", what,
                                controller, h->v2_mount);
        return 0;
}

/* limits.io into io.max: one line per disk, only the keys given. */
static int write_io(struct jl_cgroup *cg, jailer_error *err)
{
        struct jl_cg_dir *d = &cg->dirs[0];

        for (size_t i = 0; i < cg->n_io; i++) {
                const struct jl_cg_io *io = &cg->io[i];
                const struct {
                        const char *key;
                        uint64_t v;
                } kv[] = { { "rbps", io->rbps }, { "wbps", io->wbps }, { "riops", io->riops }, { "wiops", io->wiops } };
                char line[160], field[32];
                int len = snprintf(line, sizeof(line), "%u:%u", io->major, io->minor);

                for (size_t k = 0; k < ELEMENTSOF(kv); k++)
                        if (kv[k].v != JL_UNSET)
                                len += snprintf(line + len, sizeof(line) - (size_t) len, " %s=%" PRIu64, kv[k].key,
                                                kv[k].v);
                snprintf(field, sizeof(field), "limits.io[%zu]", i);
                int r = jl_cg_write_at(d->fd, "io.max", line);
                if (r < 0)
                        return jl_error(err, JAILER_STEP_CGROUP, -r, field, "cannot write \"%s\" to %s/io.max", line,
                                        d->path);
        }
        return 0;
}

/* limits.io_weight: blk-iocost's io.weight, else BFQ's io.bfq.weight. */
static int write_io_weight(const jailer_config *c, struct jl_cgroup *cg, jailer_error *err)
{
        static const struct jl_cg_weight_file files[] = {
                { "io.weight", 1, 10000, true },
                { "io.bfq.weight", 1, 1000, false },
        };

        if (c->limits.io_weight == JL_UNSET)
                return 0;
        return jl_cg_io_weight_write(&cg->dirs[0], files, ELEMENTSOF(files), c->limits.io_weight,
                                     "a kernel with blk-iocost, or the BFQ I/O scheduler loaded", err);
}

static int write_limit(struct jl_cg_dir *d, const char *file, const char *field, const char *value,
                       jailer_error *err)
{
        int r = jl_cg_write_at(d->fd, file, value);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, field, "cannot write \"%s\" to %s/%s",
                                value, d->path, file);
        return 0;
}

static int cg2_create(const jailer_config *c, const struct jl_cg_host *h, struct jl_cgroup *cg,
                      jailer_error *err)
{
        const char *parent = c->cgroup_parent ? c->cgroup_parent : JL_CG_DEFAULT_PARENT;
        struct jl_cg_dir *d = &cg->dirs[0];
        char buf[64];

        struct wanted want = { { "cpu", "memory", "pids" }, 3 };
        if (cg->pin) {
                if (offered(h, "cpuset", cg->pin->cpus_set ? "limits.cpus" : "limits.mems", "pinning", err) < 0)
                        return -1;
                want.names[want.n++] = "cpuset";
        }
        if (cg->n_io || c->limits.io_weight != JL_UNSET) {
                if (offered(h, "io", cg->n_io ? "limits.io" : "limits.io_weight",
                            cg->n_io ? "an I/O limit" : "an I/O weight", err) < 0)
                        return -1;
                want.names[want.n++] = "io";
        }

        _cleanup_free_ char *parent_path = NULL;
        int pfd = jl_cg_open_parent(h->v2_mount, parent, enable_controllers, &want, &parent_path, err);
        if (pfd < 0)
                return -1;
        d->parent_fd = pfd;
        cg->n_dirs = 1;
        /* v2 takes any list and runs the jail on its intersection with
         * the parent's: a cpu outside it would be silently dropped. */
        if (cg->pin && jl_cg_pin_check_parent(cg->pin, pfd, parent_path, &cpuset_files, err) < 0)
                return -1;
        if (jl_cg_dir_make(d, pfd, parent_path, c->id, err) < 0)
                return -1;
        if (cg->pin && jl_cg_pin_write(cg->pin, d, &cpuset_files, true, err) < 0)
                return -1;

        uint64_t period = c->limits.cpu_period_us;
        if (period == JL_UNSET || period == 0)
                period = JL_CG_DEFAULT_PERIOD_US;
        if (c->limits.cpu_quota_us != JL_UNSET)
                snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, c->limits.cpu_quota_us, period);
        else
                snprintf(buf, sizeof(buf), "max %" PRIu64, period);
        if (write_limit(d, "cpu.max", c->limits.cpu_quota_us != JL_UNSET ? "limits.cpu_quota_us"
                                                                           : "limits.cpu_period_us",
                        buf, err) < 0)
                return -1;

        if (c->limits.memory_bytes != JL_UNSET) {
                snprintf(buf, sizeof(buf), "%" PRIu64, c->limits.memory_bytes);
                if (write_limit(d, "memory.max", "limits.memory_bytes", buf, err) < 0)
                        return -1;
                /* Without this, a jail could page out to swap and use far
                 * more than memory.max.  (No swap controller: no swap file.) */
                if (jl_cg_exists_at(d->fd, "memory.swap.max") &&
                    write_limit(d, "memory.swap.max", "limits.memory_bytes", "0", err) < 0)
                        return -1;
        }

        /* The jail is one unit: when the OOM killer picks a process of it,
         * it takes the whole jail rather than leaving a crippled VMM. */
        if (jl_cg_exists_at(d->fd, "memory.oom.group") &&
            write_limit(d, "memory.oom.group", NULL, "1", err) < 0)
                return -1;

        if (c->limits.pids != JL_UNSET) {
                snprintf(buf, sizeof(buf), "%" PRIu64, c->limits.pids);
                if (write_limit(d, "pids.max", "limits.pids", buf, err) < 0)
                        return -1;
        }
        if (write_io(cg, err) < 0)
                return -1;
        return write_io_weight(c, cg, err);
}

static int cg2_attach(struct jl_cgroup *cg, pid_t pid, jailer_error *err)
{
        int r = jl_cg_writef_at(cg->dirs[0].fd, "cgroup.procs", "%d", (int) pid);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot move pid %d into %s/cgroup.procs",
                                (int) pid, cg->dirs[0].path);
        return 0;
}

static int cg2_stats_read(const struct jl_cgroup *cg, jl_cgroup_stats *st)
{
        int fd = cg->dirs[0].fd, first = 0, r;
        _cleanup_free_ char *cpu_stat = NULL, *mem_events = NULL;
        uint64_t v;

        /* cpu.stat and memory.events are read once each, for all their
         * keys (cpu.stat is always there on v2; memory.events is not
         * without the memory controller). */
        r = jl_cg_read_at(fd, "cpu.stat", &cpu_stat);
        if (r == 0)
                st->cpu_read_us = jl_now_monotonic_us();
        jl_cg_keep(&first, r == 0 ? jl_cg_key_in(cpu_stat, "usage_usec", &st->cpu_usage_us) : r);
        jl_cg_keep(&first, jl_cg_read_u64_at(fd, "memory.current", &st->memory_current_bytes));
        jl_cg_keep(&first, jl_cg_read_u64_at(fd, "pids.current", &st->pids_current));

        r = jl_cg_read_u64_at(fd, "memory.peak", &v);
        if (r == -ENOENT)       /* before Linux 5.19: not known (a sampled maximum would be made up) */
                st->memory_peak_bytes = JAILER_UNKNOWN;
        else {
                jl_cg_keep(&first, r);
                st->memory_peak_bytes = r == 0 ? v : 0;
        }
        jl_cg_keep(&first, jl_cg_read_pids_peak(fd, &st->pids_peak));

        jl_cg_keep(&first, jl_cg_key_opt_in(cpu_stat, "nr_periods", &st->cpu_periods));
        jl_cg_keep(&first, jl_cg_key_opt_in(cpu_stat, "nr_throttled", &st->cpu_throttled_periods));
        jl_cg_keep(&first, jl_cg_key_opt_in(cpu_stat, "throttled_usec", &st->cpu_throttled_us));
        jl_cg_keep(&first, jl_cg_read_opt_at(fd, "memory.events", &mem_events));
        jl_cg_keep(&first, jl_cg_key_opt_in(mem_events, "high", &st->memory_high_events));
        jl_cg_keep(&first, jl_cg_key_opt_in(mem_events, "max", &st->memory_max_events));
        static const char *const psi[] = { [JL_PSI_CPU] = "cpu.pressure", [JL_PSI_MEMORY] = "memory.pressure",
                                           [JL_PSI_IO] = "io.pressure" };
        for (size_t i = 0; i < ELEMENTSOF(psi); i++)
                jl_cg_keep(&first, jl_cg_read_psi_at(fd, psi[i], &st->pressure[i][0], &st->pressure[i][1]));

        r = mem_events ? jl_cg_key_in(mem_events, "oom_kill", &v) : -ENOENT;
        if (r == 0)
                st->oom_killed = v > 0;
        else
                jl_cg_keep(&first, r);
        return first;
}

/* 1 when cgroup.events says populated 0, 0 when still populated, -errno. */
static int is_empty(int fd)
{
        uint64_t populated;
        int r = jl_cg_read_key_at(fd, "cgroup.events", "populated", &populated);
        if (r < 0)
                return r;
        return populated == 0;
}

static int cg2_kill_all(struct jl_cgroup *cg)
{
        struct jl_cg_dir *d = &cg->dirs[0];
        uint64_t deadline = jl_now_monotonic_ns() + JL_CG_KILL_TIMEOUT_NS;

        int r = is_empty(d->fd);
        if (r != 0)
                return r < 0 ? r : 0;

        /* cgroup.kill (Linux 5.14) kills every process, including those
         * forking right now, in one go.  Without it we kill what is listed
         * and go round again for whatever was forked meanwhile. */
        bool have_kill = jl_cg_write_at(d->fd, "cgroup.kill", "1") == 0;

        /* cgroup.events is modified (IN_MODIFY) when populated changes. */
        _cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ino >= 0) {
                _cleanup_free_ char *events = NULL;
                if (asprintf(&events, "%s/cgroup.events", d->path) < 0 ||
                    inotify_add_watch(ino, events, IN_MODIFY | IN_DONT_FOLLOW) < 0) {
                        close(ino);
                        ino = -1;
                }
        }

        unsigned round = 0;
        for (;;) {
                if (!have_kill) {
                        r = jl_cg_kill_procs(d->fd);
                        if (r < 0)
                                return r;
                }
                r = is_empty(d->fd);
                if (r != 0)
                        return r < 0 ? r : 0;

                uint64_t now = jl_now_monotonic_ns();
                if (now >= deadline)
                        return -EBUSY;
                if (ino >= 0 && have_kill) {
                        uint64_t left_ms = (deadline - now) / 1000000 + 1;
                        struct pollfd p = { .fd = ino, .events = POLLIN };
                        if (poll(&p, 1, left_ms > 1000 ? 1000 : (int) left_ms) > 0) {
                                char buf[4096];
                                while (read(ino, buf, sizeof(buf)) > 0)
                                        ;
                        }
                } else
                        jl_cg_backoff(&round);
        }
}

static int cg2_clone_fd(const struct jl_cgroup *cg)
{
        return cg->dirs[0].fd;
}

static const char *cg2_path(const struct jl_cgroup *cg)
{
        return cg->dirs[0].path;
}

const struct jl_cg_ops jl_cg2_ops = {
        .name = "v2",
        .create = cg2_create,
        .attach = cg2_attach,
        .stats_read = cg2_stats_read,
        .kill_all = cg2_kill_all,
        .clone_fd = cg2_clone_fd,
        .path = cg2_path,
};

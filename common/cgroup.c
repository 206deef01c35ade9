/* SPDX-License-Identifier: MIT */
/*
 * cgroups, whichever version the host has: detection, and the jl_cgroup_*
 * entry points, which call the backend chosen at creation (cgroup-v2.c or
 * cgroup-v1.c) through its table of operations.  The file helpers they all
 * share are in cgroup-fs.c.
 */
#include "cgroup-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

const char *const jl_cg1_controller_names[JL_CG1_COUNT] = {
        [JL_CG1_CPU] = "cpu",
        [JL_CG1_CPUACCT] = "cpuacct",
        [JL_CG1_MEMORY] = "memory",
        [JL_CG1_PIDS] = "pids",
        [JL_CG1_CPUSET] = "cpuset",
        [JL_CG1_BLKIO] = "blkio",
};

/* The v2 controllers a jail needs. */
static const char *const v2_controllers[] = { "cpu", "memory", "pids" };

/* ------------------------------------------------------------ detection */

/* Undo mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

static bool opts_have(const char *opts, const char *want)
{
        size_t wlen = strlen(want);
        for (const char *p = opts; p && *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t) (comma - p) : strlen(p);
                if (len == wlen && memcmp(p, want, len) == 0)
                        return true;
                p = comma ? comma + 1 : NULL;
        }
        return false;
}

/* Does the cgroup2 mount at mp offer cpu, memory and pids?  If not, say
 * why in h->v2_why (first reason wins). */
static bool v2_usable(struct jl_cg_host *h, const char *mp)
{
        _cleanup_close_ int fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *ctl = NULL;
        int r = fd < 0 ? -errno : jl_cg_read_at(fd, "cgroup.controllers", &ctl);
        if (r < 0) {
                if (!h->v2_why[0])
                        snprintf(h->v2_why, sizeof(h->v2_why), "cannot read %s/cgroup.controllers: %s",
                                 mp, strerror(-r));
                return false;
        }

        char missing[64] = "";
        for (size_t i = 0; i < ELEMENTSOF(v2_controllers); i++)
                if (!jl_cg_has_word(ctl, v2_controllers[i])) {
                        if (missing[0])
                                strcat(missing, ", ");
                        strcat(missing, v2_controllers[i]);
                }
        if (!missing[0])
                return true;

        if (!h->v2_why[0]) {
                size_t l = strlen(ctl);
                while (l > 0 && (ctl[l - 1] == '\n' || ctl[l - 1] == ' '))
                        ctl[--l] = '\0';
                snprintf(h->v2_why, sizeof(h->v2_why),
                         "the cgroup2 hierarchy at %s lacks %s (it offers: %s)", mp, missing,
                         ctl[0] ? ctl : "nothing");
        }
        return false;
}

/* The host as a long-lived process saw it once (jl_cg_host_pin()). */
static struct jl_cg_host pinned_host;
static bool host_pinned;

static int host_copy(struct jl_cg_host *dst, const struct jl_cg_host *src)
{
        *dst = *src;
        dst->v2_mount = NULL;
        memset(dst->v1_mount, 0, sizeof(dst->v1_mount));
        if (src->v2_mount && !(dst->v2_mount = strdup(src->v2_mount)))
                goto oom;
        for (size_t i = 0; i < JL_CG1_COUNT; i++)
                if (src->v1_mount[i] && !(dst->v1_mount[i] = strdup(src->v1_mount[i])))
                        goto oom;
        return 0;
oom:
        jl_cg_host_done(dst);
        return -ENOMEM;
}

static int host_probe(struct jl_cg_host *h);

int jl_cg_host_probe(struct jl_cg_host *h)
{
        if (host_pinned)
                return host_copy(h, &pinned_host);
        return host_probe(h);
}

int jl_cg_host_pin(void)
{
        struct jl_cg_host h;
        int r;

        if (host_pinned)
                return 0;
        r = host_probe(&h);
        if (r < 0)
                return r;
        pinned_host = h;
        host_pinned = true;
        return 0;
}

static int host_probe(struct jl_cg_host *h)
{
        memset(h, 0, sizeof(*h));

        struct statfs sfs;
        bool root_is_v2 = statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
        if (root_is_v2 && v2_usable(h, CGROUP_ROOT)) {
                h->v2_mount = strdup(CGROUP_ROOT);
                if (!h->v2_mount)
                        return -ENOMEM;
        }

        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;

        bool saw_v2 = root_is_v2;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
                /* id parent major:minor root mountpoint opts [optional...] - fstype source superopts */
                char *fields[6], *save = NULL, *p = line;
                size_t n = 0;
                for (char *t; n < ELEMENTSOF(fields) && (t = strtok_r(p, " \n", &save)); p = NULL)
                        fields[n++] = t;
                if (n < ELEMENTSOF(fields))
                        continue;
                char *t, *fstype = NULL, *superopts = NULL;
                while ((t = strtok_r(NULL, " \n", &save)))
                        if (strcmp(t, "-") == 0) {
                                fstype = strtok_r(NULL, " \n", &save);
                                (void) strtok_r(NULL, " \n", &save); /* source */
                                superopts = strtok_r(NULL, " \n", &save);
                                break;
                        }
                if (!fstype || !superopts)
                        continue;
                char *dev = fields[2], *mp = fields[4];
                unescape(mp);

                if (strcmp(fstype, "cgroup2") == 0) {
                        if (strcmp(mp, CGROUP_ROOT) == 0 && root_is_v2)
                                continue; /* checked above */
                        saw_v2 = true;
                        if (!h->v2_mount && v2_usable(h, mp)) {
                                h->v2_mount = strdup(mp);
                                if (!h->v2_mount) {
                                        fclose(f);
                                        return -ENOMEM;
                                }
                        }
                } else if (strcmp(fstype, "cgroup") == 0) {
                        for (size_t i = 0; i < JL_CG1_COUNT; i++) {
                                if (h->v1_mount[i] || !opts_have(superopts, jl_cg1_controller_names[i]))
                                        continue;
                                h->v1_mount[i] = strdup(mp);
                                if (!h->v1_mount[i]) {
                                        fclose(f);
                                        return -ENOMEM;
                                }
                                snprintf(h->v1_dev[i], sizeof(h->v1_dev[i]), "%s", dev);
                        }
                }
        }
        fclose(f);

        if (!h->v2_mount && !saw_v2)
                snprintf(h->v2_why, sizeof(h->v2_why), "no cgroup2 file system is mounted");
        return 0;
}

void jl_cg_host_done(struct jl_cg_host *h)
{
        free(h->v2_mount);
        for (size_t i = 0; i < JL_CG1_COUNT; i++)
                free(h->v1_mount[i]);
        memset(h, 0, sizeof(*h));
}

bool jl_cg_host_has_v1(const struct jl_cg_host *h)
{
        for (size_t i = 0; i < JL_CG1_REQUIRED; i++)
                if (!h->v1_mount[i])
                        return false;
        return true;
}

void jl_cg_host_v1_missing(const struct jl_cg_host *h, char *buf, size_t size)
{
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < JL_CG1_REQUIRED; i++)
                if (!h->v1_mount[i] && len < size) {
                        int k = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                                         jl_cg1_controller_names[i]);
                        if (k > 0)
                                len += (size_t) k;
                }
}

/* Does a cgroup below the v2 mount (ours, else the first child of the
 * root: the root itself has fewer files) have file?  1, 0, or -1 when there
 * is no such cgroup to look at. */
static int v2_cgroup_has(const char *mount, const char *file)
{
        _cleanup_free_ char *line = NULL, *path = NULL;
        size_t cap = 0;
        FILE *f = fopen("/proc/self/cgroup", "re");
        const char *own = NULL;
        struct dirent *e;
        int has = -1;

        if (f) {
                while (getline(&line, &cap, f) > 0)
                        if (strncmp(line, "0::", 3) == 0) {
                                line[strcspn(line, "\n")] = 0;
                                own = line + 3;
                                break;
                        }
                fclose(f);
        }
        if (own && strcmp(own, "/") != 0) {
                if (asprintf(&path, "%s%s/%s", mount, own, file) < 0)
                        return -1;
                return access(path, F_OK) == 0;
        }
        DIR *d = opendir(mount);
        while (d && (e = readdir(d)))
                if (e->d_type == DT_DIR && e->d_name[0] != '.') {
                        has = faccessat(dirfd(d), e->d_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
                              asprintf(&path, "%s/%s/%s", mount, e->d_name, file) >= 0 ? access(path, F_OK) == 0 : -1;
                        break;
                }
        if (d)
                closedir(d);
        return has;
}

int jl_cgroup_kernel_fallbacks(char *buf, size_t size)
{
        struct jl_cg_host h;
        size_t n = strlen(buf);

        if (jl_cg_host_probe(&h) < 0)
                return -1;
        if (h.v2_mount) {
                if (v2_cgroup_has(h.v2_mount, "cgroup.kill") == 0)
                        n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%scgroup.kill", n ? ", " : "");
                if (v2_cgroup_has(h.v2_mount, "memory.peak") == 0)
                        n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%smemory.peak", n ? ", " : "");
        }
        jl_cg_host_done(&h);
        return n < size ? 0 : -1;
}

const char *jl_cgroup_detect(void)
{
        struct jl_cg_host h;
        const char *v = NULL;

        if (jl_cg_host_probe(&h) == 0)
                v = h.v2_mount ? "v2" : jl_cg_host_has_v1(&h) ? "v1" : NULL;
        jl_cg_host_done(&h);
        return v;
}

const char *jailer_cgroup_detect(void)
{
        return jl_cgroup_detect();
}

/* ------------------------------------------------------------ dispatch */

static void cgroup_free(struct jl_cgroup *cg, int *first_error)
{
        if (!cg)
                return;
        jl_cgroup_join_close(cg);
        for (size_t i = 0; i < cg->n_dirs; i++) {
                int r = jl_cg_dir_remove(&cg->dirs[i], cg->id);
                if (r < 0 && first_error && *first_error == 0)
                        *first_error = r;
        }
        free(cg->pin);
        free(cg->io);
        free(cg->id);
        free(cg);
}

static bool id_is_sane(const char *id)
{
        /* The config validator is stricter; this only guarantees the id is a
         * single path component. */
        return id && id[0] && !strchr(id, '/') && strcmp(id, ".") != 0 && strcmp(id, "..") != 0 &&
               strlen(id) <= JAILER_ID_MAX;
}

static int parent_check(const char *parent, jailer_error *err)
{
        if (!parent[0])
                return jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_parent",
                                "cgroup_parent: empty path (jails must not sit in the hierarchy root)");
        if (parent[0] == '/')
                return jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_parent",
                                "cgroup_parent: %s: must be relative to the cgroup hierarchy root", parent);

        _cleanup_free_ char *copy = strdup(parent);
        if (!copy)
                return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, NULL, "cgroup_parent");
        char *save = NULL;
        bool any = false;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
                        return jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_parent",
                                        "cgroup_parent: %s: \".\" and \"..\" are not allowed", parent);
                any = true;
        }
        if (!any)
                return jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_parent",
                                "cgroup_parent: %s: names no cgroup", parent);
        return 0;
}

int jl_cgroup_create(const jailer_config *c, struct jl_cgroup **out, jailer_error *err)
{
        if (!id_is_sane(c->id))
                return jl_error(err, JAILER_STEP_CGROUP, 0, "id", "id: \"%s\" cannot name a cgroup",
                                c->id ? c->id : "");
        if (parent_check(c->cgroup_parent ? c->cgroup_parent : JL_CG_DEFAULT_PARENT, err) < 0)
                return -1;

        /* Pinning is checked against the host before anything is made. */
        _cleanup_free_ struct jl_cg_pin *pin = NULL;
        if (jl_cg_pin_parse(c, &pin, err) < 0)
                return -1;
        /* So are the I/O limits' devices. */
        _cleanup_free_ struct jl_cg_io *io = NULL;
        size_t n_io;
        if (jl_cg_io_resolve(c, &io, &n_io, err) < 0)
                return -1;

        struct jl_cg_host h;
        int r = jl_cg_host_probe(&h);
        if (r < 0) {
                jl_cg_host_done(&h);
                return jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot read /proc/self/mountinfo");
        }

        char v1_missing[64];
        jl_cg_host_v1_missing(&h, v1_missing, sizeof(v1_missing));
        bool v2;
        switch (c->cgroup_version) {
        case JAILER_CGROUP_V2:
                if (!h.v2_mount) {
                        jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_version",
                                 "cgroup v2 requested, but %s", h.v2_why);
                        jl_cg_host_done(&h);
                        return -1;
                }
                v2 = true;
                break;
        case JAILER_CGROUP_V1:
                if (!jl_cg_host_has_v1(&h)) {
                        jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_version",
                                 "cgroup v1 requested, but no v1 hierarchy is mounted for: %s", v1_missing);
                        jl_cg_host_done(&h);
                        return -1;
                }
                v2 = false;
                break;
        case JAILER_CGROUP_AUTO:
                if (h.v2_mount)
                        v2 = true;
                else if (jl_cg_host_has_v1(&h))
                        v2 = false;
                else {
                        jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_version",
                                 "no usable cgroup hierarchy: for v2, %s; for v1, nothing is mounted for %s",
                                 h.v2_why, v1_missing);
                        jl_cg_host_done(&h);
                        return -1;
                }
                break;
        default:
                jl_cg_host_done(&h);
                return jl_error(err, JAILER_STEP_CGROUP, 0, "cgroup_version", "cgroup_version: %d is unknown",
                                (int) c->cgroup_version);
        }

        struct jl_cgroup *cg = calloc(1, sizeof(*cg));
        if (!cg || !(cg->id = strdup(c->id))) {
                free(cg);
                jl_cg_host_done(&h);
                return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, NULL, "cgroup");
        }
        cg->ops = v2 ? &jl_cg2_ops : &jl_cg1_ops;
        cg->pin = TAKE_PTR(pin);
        uint64_t busy;
        cg->pinned_busy_start_us = cg->pin && cg->pin->cpus_set && jl_cg_cpus_busy_us(&cg->pin->cpus, &busy) == 0
                                           ? (int64_t) busy
                                           : -1;
        cg->io = TAKE_PTR(io);
        cg->n_io = n_io;
        for (size_t i = 0; i < ELEMENTSOF(cg->dirs); i++)
                cg->dirs[i].fd = cg->dirs[i].parent_fd = -1;

        r = cg->ops->create(c, &h, cg, err);
        jl_cg_host_done(&h);
        if (r < 0) {
                /* A refused request leaves nothing behind: remove every leaf
                 * this call made (and only those). */
                cgroup_free(cg, NULL);
                return -1;
        }
        *out = cg;
        return 0;
}

bool jl_cgroup_is_v2(const struct jl_cgroup *cg)
{
        return cg->ops == &jl_cg2_ops;
}

int jl_cgroup_clone_fd(const struct jl_cgroup *cg)
{
        return cg->ops->clone_fd(cg);
}

int jl_cgroup_attach(struct jl_cgroup *cg, pid_t pid, jailer_error *err)
{
        return cg->ops->attach(cg, pid, err);
}

int jl_cgroup_join_open(struct jl_cgroup *cg, jailer_error *err)
{
        if (!cg->ops->join_open)
                return 0;
        if (cg->ops->join_open(cg, err) < 0) {
                jl_cgroup_join_close(cg);
                return -1;
        }
        return 1;
}

int jl_cgroup_join_child(struct jl_cgroup *cg, jailer_error *err)
{
        for (size_t i = 0; i < cg->n_join; i++) {
                ssize_t n;

                do
                        n = write(cg->join_fd[i], "0", 1);
                while (n < 0 && errno == EINTR);
                if (n != 1)
                        return jl_error(err, JAILER_STEP_CGROUP, n < 0 ? errno : EIO, NULL,
                                        "cannot join %s (tasks)", cg->dirs[i].path);
        }
        jl_cgroup_join_close(cg);
        return 0;
}

void jl_cgroup_join_close(struct jl_cgroup *cg)
{
        for (size_t i = 0; i < cg->n_join; i++)
                close(cg->join_fd[i]);
        cg->n_join = 0;
}

int jl_cgroup_stats_read(const struct jl_cgroup *cg, jl_cgroup_stats *st)
{
        memset(st, 0, sizeof(*st));
        st->pids_peak = -1;
        st->cpu_periods = st->cpu_throttled_periods = st->cpu_throttled_us = -1;
        st->memory_high_events = st->memory_max_events = -1;
        for (size_t i = 0; i < ELEMENTSOF(st->pressure); i++)
                st->pressure[i][0] = st->pressure[i][1] = -1;
        if (cg->pin && cg->pin->cpus_set)
                jl_cpuset_format(&cg->pin->cpus, st->cpus, sizeof(st->cpus));
        st->pinned_other_us = -1;
        int r = cg->ops->stats_read(cg, st);
        /* Who else ran on the pinned cpus: their busy time since the
         * cgroup was made, less the jail's own. */
        uint64_t busy;
        if (cg->pinned_busy_start_us >= 0 && jl_cg_cpus_busy_us(&cg->pin->cpus, &busy) == 0 &&
            busy >= (uint64_t) cg->pinned_busy_start_us) {
                uint64_t since = busy - (uint64_t) cg->pinned_busy_start_us;
                st->pinned_other_us = since > st->cpu_usage_us ? (int64_t) (since - st->cpu_usage_us) : 0;
        }
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return 0;
}

int jl_cgroup_threads_nivcsw(const struct jl_cgroup *cg, int64_t *out)
{
        /* Every v1 hierarchy lists the same tasks: the first will do. */
        int r = cg->n_dirs ? jl_cg_threads_nivcsw(cg->dirs[0].fd, out) : -ENOENT;
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return 0;
}

int jl_cgroup_kill_all(struct jl_cgroup *cg)
{
        int r = cg->ops->kill_all(cg);
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return 0;
}

/* Free cg, its leaves removed; r: an error already met (kept first). */
static int cgroup_free_errno(struct jl_cgroup *cg, int r)
{
        cgroup_free(cg, &r);
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return 0;
}

int jl_cgroup_destroy(struct jl_cgroup *cg)
{
        if (!cg)
                return 0;
        /* Callers kill first; on an error path one may not have, and a
         * process left running in a cgroup we no longer track would escape
         * its limits' clean-up.  On an empty cgroup this is one read. */
        return cgroup_free_errno(cg, cg->ops ? cg->ops->kill_all(cg) : 0);
}

int jl_cgroup_remove(struct jl_cgroup *cg)
{
        /* Each leaf's rmdir still waits out a kernel that is slow to let
         * the last process go (EBUSY); it fails, and the leaf is reported,
         * only if something did enter, which takes root. */
        return cgroup_free_errno(cg, 0);
}

const char *jl_cgroup_path(const struct jl_cgroup *cg)
{
        return cg->ops->path(cg);
}

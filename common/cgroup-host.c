/* SPDX-License-Identifier: MIT */
/*
 * cgroups beyond one jail's lifetime, for a service that places jails:
 * removing what a jail left when nothing holds its jl_cgroup any more (its
 * supervisor died), and the cgroup v2 delegation steps (our own cgroup, is
 * it delegated, give controllers to children, move into a leaf).
 *
 * Like the rest of the cgroup code, every path is walked from the mount
 * point one component at a time with O_NOFOLLOW, files are opened by
 * directory fd, and processes are signalled through pidfds
 * (jl_cg_kill_procs): a pid that was reused by a process outside the
 * cgroup is never signalled.
 */
#include "cgroup-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

/* How deep jails' own sub-cgroups are followed when killing and removing. */
#define TREE_MAX_DEPTH 32

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* The cgroup mounts jails live on: the v2 mount, and each distinct v1
 * hierarchy of the controllers jails use.  Pointers into h. */
static size_t jail_mounts(const struct jl_cg_host *h, const char *out[JL_CG1_COUNT + 1])
{
        size_t n = 0;

        if (h->v2_mount)
                out[n++] = h->v2_mount;
        for (size_t i = 0; i < JL_CG1_COUNT; i++) {
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        seen |= h->v1_mount[j] && strcmp(h->v1_dev[j], h->v1_dev[i]) == 0;
                if (h->v1_mount[i] && !seen)
                        out[n++] = h->v1_mount[i];
        }
        return n;
}

/* path relative to a hierarchy root: an absolute path is mapped through
 * the mount it lies under, a relative one is taken as is.  Each component
 * must be a plain name: no "", ".", "..". */
static int relative_part(const char *path, const char *const *mounts, size_t n, const char **rel,
                         jailer_error *err)
{
        *rel = path;
        if (path[0] == '/') {
                *rel = NULL;
                for (size_t i = 0; i < n; i++) {
                        size_t l = strlen(mounts[i]);
                        if (strncmp(path, mounts[i], l) == 0 && path[l] == '/')
                                *rel = path + l + 1;
                }
                if (!*rel)
                        return jl_error(err, JAILER_STEP_CGROUP, EINVAL, NULL,
                                        "%s is not under a cgroup hierarchy jails use", path);
        }

        const char *p = *rel;
        for (;;) {
                size_t len = strcspn(p, "/");
                if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return jl_error(err, JAILER_STEP_CGROUP, EINVAL, NULL,
                                        "%s does not name a cgroup below a hierarchy root", path);
                if (!p[len])
                        return 0;
                p += len + 1;
        }
}

/* Open mount/rel (existing, never created) without following symlinks;
 * the fd of its parent in *parent_fd, its last component in *leaf.
 * -errno (-ENOENT: not there). */
static int open_existing(const char *mount, const char *rel, int *parent_fd, const char **leaf)
{
        _cleanup_close_ int fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        if (sfs.f_type != CGROUP2_SUPER_MAGIC && sfs.f_type != CGROUP_SUPER_MAGIC)
                return -EXDEV;

        _cleanup_free_ char *copy = strdup(rel);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        _cleanup_close_ int parent = -1;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0)
                        return -errno;
                if (parent >= 0)
                        close(parent);
                parent = TAKE_FD(fd);
                fd = nfd;
        }
        *leaf = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        *parent_fd = TAKE_FD(parent);
        return TAKE_FD(fd);
}

typedef int (*subdir_fn)(int parent_fd, const char *name, int fd, unsigned depth);

/* Call fn for every sub-cgroup of fd (depth first, children before their
 * parent's call).  The sum of fn's non-negative results, or the first
 * -errno. */
static int for_each_subdir(int fd, unsigned depth, subdir_fn fn)
{
        if (depth >= TREE_MAX_DEPTH)
                return -ELOOP;
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return -errno;
        _cleanup_(closedirp) DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -errno;
        }
        /* The dup shares fd's offset, which an earlier walk left at the end. */
        rewinddir(d);

        int sum = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue;       /* gone meanwhile */
                int r = fn(fd, de->d_name, sub, depth + 1);
                if (r < 0)
                        return r;
                sum += r;
        }
        return sum;
}

/* Kill what fd and its sub-cgroups list; how many were listed. */
static int kill_tree(_unused_ int parent_fd, _unused_ const char *name, int fd, unsigned depth)
{
        int below = for_each_subdir(fd, depth, kill_tree);
        if (below < 0)
                return below;
        int here = jl_cg_kill_procs(fd);
        return here < 0 ? here : here + below;
}

/* rmdir parent_fd/name after its sub-cgroups, retrying EBUSY a moment
 * (the kernel may still be tearing the last process down). */
static int remove_tree(int parent_fd, const char *name, int fd, unsigned depth)
{
        int r = for_each_subdir(fd, depth, remove_tree);
        if (r < 0)
                return r;

        uint64_t deadline = jl_now_monotonic_ns() + JL_CG_RMDIR_TIMEOUT_NS;
        unsigned round = 0;
        while (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY || jl_now_monotonic_ns() >= deadline)
                        return -errno;
                jl_cg_backoff(&round);
        }
        return 0;
}

/* Kill and remove mount/rel; how many processes it held at first. */
static int remove_one(const char *mount, const char *rel)
{
        _cleanup_close_ int parent = -1;
        const char *leaf = rel;
        _cleanup_close_ int fd = open_existing(mount, rel, &parent, &leaf);
        if (fd < 0)
                return fd;

        /* A first pass pid by pid, which counts what the cgroup held; then
         * cgroup.kill (v2, Linux 5.14) for the whole subtree in one go,
         * forks included; then, and on v1 only, pid by pid until none is
         * left.  A process stuck in D state keeps the cgroup: bounded. */
        int found = kill_tree(parent, leaf, fd, 0);
        if (found < 0)
                return found;
        (void) jl_cg_write_at(fd, "cgroup.kill", "1");
        uint64_t deadline = jl_now_monotonic_ns() + JL_CG_KILL_TIMEOUT_NS;
        unsigned round = 0;
        for (;;) {
                int r = kill_tree(parent, leaf, fd, 0);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (jl_now_monotonic_ns() >= deadline)
                        return -EBUSY;
                jl_cg_backoff(&round);
        }

        int r = remove_tree(parent, leaf, fd, 0);
        return r < 0 ? r : found;
}

int jailer_cgroup_remove(const char *path, jailer_error *err)
{
        if (!path || !path[0])
                return jl_error(err, JAILER_STEP_CGROUP, EINVAL, NULL, "no cgroup path given");

        struct jl_cg_host h;
        int r = jl_cg_host_probe(&h);
        if (r < 0) {
                jl_cg_host_done(&h);
                return jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot read /proc/self/mountinfo");
        }
        const char *mounts[JL_CG1_COUNT + 1];
        size_t n = jail_mounts(&h, mounts);
        const char *rel;
        if (relative_part(path, mounts, n, &rel, err) < 0) {
                jl_cg_host_done(&h);
                return -1;
        }

        /* On v1 one process is listed in every hierarchy: the count is the
         * largest of them, not their sum. */
        int found = 0, first_error = 0;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
                r = remove_one(mounts[i], rel);
                if (r == -ENOENT)
                        continue;
                any = true;
                if (r < 0) {
                        if (!first_error)
                                jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot remove cgroup %s/%s",
                                         mounts[i], rel);
                        first_error = r;
                } else if (r > found)
                        found = r;
        }
        jl_cg_host_done(&h);
        if (first_error)
                return -1;
        if (!any) {
                jl_error(err, JAILER_STEP_CGROUP, 0, NULL, "no cgroup hierarchy has %s", path);
                if (err)
                        err->code = ENOENT;
                errno = ENOENT;
                return -1;
        }
        return found;
}

/* ------------------------------------------------------------ delegation */

/* Open an absolute path of a cgroup v2 directory, refusing symlinks at
 * every step and anything that is not cgroup2. */
static int open_v2_dir(const char *path, jailer_error *err)
{
        char why[256] = "";
        _cleanup_close_ int fd = jl_open_trusted(path, O_RDONLY | O_DIRECTORY, why, sizeof(why));
        if (fd < 0)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "cannot open %s%s%s", path,
                                why[0] ? ": " : "", why);
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "%s", path);
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return jl_error(err, JAILER_STEP_CGROUP, ENOTDIR, NULL, "%s is not a cgroup v2 directory", path);
        return TAKE_FD(fd);
}

char *jailer_cgroup_self(void)
{
        _cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        if (fd < 0 || jl_read_fd_all(fd, 64 * 1024, false, &buf, NULL) < 0)
                return NULL;

        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strncmp(line, "0::", 3) == 0)
                        return strdup(line + 3);
        return NULL;
}

bool jailer_cgroup_is_delegated(const char *path)
{
        static const char *const names[] = { "trusted.delegate", "user.delegate" };
        _cleanup_close_ int fd = open_v2_dir(path, NULL);
        if (fd < 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char v[8] = "";
                if (fgetxattr(fd, names[i], v, sizeof(v) - 1) > 0 && v[0] == '1')
                        return true;
        }
        return false;
}

int jailer_cgroup_enable_controllers(const char *path, jailer_error *err)
{
        static const char *const wanted[] = { "cpu", "memory", "pids" };
        _cleanup_close_ int fd = open_v2_dir(path, err);
        if (fd < 0)
                return -1;

        _cleanup_free_ char *avail = NULL;
        int r = jl_cg_read_at(fd, "cgroup.controllers", &avail);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot read %s/cgroup.controllers", path);

        /* Each on its own: one the parent cannot give does not keep the
         * others from the jails. */
        char missing[64] = "";
        int failed = 0;
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                if (!jl_cg_has_word(avail, wanted[i])) {
                        if (missing[0])
                                strcat(missing, ", ");
                        strcat(missing, wanted[i]);
                        continue;
                }
                char ctl[16];
                snprintf(ctl, sizeof(ctl), "+%s", wanted[i]);
                r = jl_cg_write_at(fd, "cgroup.subtree_control", ctl);
                if (r < 0 && !failed) {
                        jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot write \"%s\" to %s/cgroup.subtree_control",
                                 ctl, path);
                        failed = r;
                }
        }
        if (failed) {
                errno = -failed;
                return -1;
        }
        if (missing[0]) {
                jl_error(err, JAILER_STEP_CGROUP, 0, NULL, "cgroup %s lacks %s: jails get no such limits", path,
                         missing);
                return 1;
        }
        return 0;
}

int jailer_cgroup_host_pin(jailer_error *err)
{
        int r = jl_cg_host_pin();

        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot read /proc/self/mountinfo");
        return 0;
}

int jailer_cgroup_move_self(const char *path, const char *leaf, jailer_error *err)
{
        if (!leaf || !leaf[0] || strchr(leaf, '/') || strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0)
                return jl_error(err, JAILER_STEP_CGROUP, EINVAL, NULL, "\"%s\" is not a cgroup name",
                                leaf ? leaf : "");
        _cleanup_close_ int fd = open_v2_dir(path, err);
        if (fd < 0)
                return -1;
        if (mkdirat(fd, leaf, 0755) < 0 && errno != EEXIST)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "cannot create cgroup %s/%s", path, leaf);
        _cleanup_close_ int lfd = openat(fd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (lfd < 0)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "cannot open cgroup %s/%s", path, leaf);
        /* "0": the writer itself. */
        int r = jl_cg_write_at(lfd, "cgroup.procs", "0");
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, NULL, "cannot move into %s/%s", path, leaf);
        return 0;
}

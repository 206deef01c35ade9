/* SPDX-License-Identifier: MIT */
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <linux/magic.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

uint64_t jd_now_realtime_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t jd_now_monotonic_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int jd_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;

        for (;;) {
                ssize_t n;

                if (alloc - size < 4096) {
                        size_t na = alloc ? alloc * 2 : 4096;
                        char *nb;

                        if (na > max + 4096 + 1)
                                na = max + 4096 + 1;
                        nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        alloc = na;
                }
                n = read(fd, buf + size, alloc - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        if (len)
                *len = size;
        *out = TAKE_PTR(buf);
        return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int jd_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
        _cleanup_close_ int fd = -1;
        char tmp[NAME_MAX + 1];
        int r;

        r = snprintf(tmp, sizeof tmp, ".%s.tmp", name);
        if (r < 0 || (size_t) r >= sizeof tmp)
                return -ENAMETOOLONG;

        (void) unlinkat(dirfd, tmp, 0);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        /* The rename is durable only once the directory is. */
        if (dirfd == AT_FDCWD) {
                _cleanup_close_ int d = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (d >= 0)
                        (void) fsync(d);
        } else
                (void) fsync(dirfd);
        return 0;
}

int jd_proc_starttime(pid_t pid, uint64_t *out)
{
        _cleanup_free_ char *buf = NULL;
        char path[64];
        const char *p;
        unsigned long long v;
        int r;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        r = jd_read_file_at(AT_FDCWD, path, 8192, &buf, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;

        /* comm may contain anything, ')' included: skip to the last one.
         * Then field 3 (state) is first; starttime is field 22. */
        p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p++;
        for (int field = 2; field < 21; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        if (sscanf(p, " %llu", &v) != 1)
                return -EIO;
        *out = v;
        return 0;
}

static int statx_mnt(int dirfd, const char *name, int flags, struct statx *sx)
{
        if (statx(dirfd, name, flags | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
                  STATX_TYPE | STATX_MNT_ID, sx) < 0)
                return -errno;
        return 0;
}

static bool same_mount(const struct statx *a, const struct statx *b)
{
        if (a->stx_dev_major != b->stx_dev_major || a->stx_dev_minor != b->stx_dev_minor)
                return false;
        if ((a->stx_mask & STATX_MNT_ID) && (b->stx_mask & STATX_MNT_ID))
                return a->stx_mnt_id == b->stx_mnt_id;
        return true;
}

static int rm_rf_children(int fd, const struct statx *top)
{
        DIR *d;
        struct dirent *de;
        int ret = 0;

        d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                struct statx sx;
                int r;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = statx_mnt(dirfd(d), de->d_name, 0, &sx);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        ret = ret ?: r;
                        continue;
                }
                if (S_ISDIR(sx.stx_mode)) {
                        int cfd;

                        /* Never descend into another mount: a bind mount
                         * left in a jail root must not lose its files. */
                        if (!same_mount(&sx, top)) {
                                ret = ret ?: -EBUSY;
                                continue;
                        }
                        cfd = openat(dirfd(d), de->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                        if (cfd < 0) {
                                if (errno != ENOENT)
                                        ret = ret ?: -errno;
                                continue;
                        }
                        r = rm_rf_children(cfd, top);
                        if (r < 0) {
                                ret = ret ?: r;
                                continue;
                        }
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                                ret = ret ?: -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        ret = ret ?: -errno;
        }
        if (errno != 0)
                ret = ret ?: -errno;
        closedir(d);
        return ret;
}

int jd_rm_rf_at(int dirfd, const char *name)
{
        struct statx top;
        int fd, r;

        r = statx_mnt(dirfd, name, 0, &top);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!S_ISDIR(top.stx_mode)) {
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = rm_rf_children(fd, &top);
        if (r < 0)
                return r;
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int jd_rm_rf(const char *path)
{
        return jd_rm_rf_at(AT_FDCWD, path);
}

/* ------------------------------------------------------------------ cgroups */

static int write_string(const char *dir, const char *file, const char *s)
{
        _cleanup_close_ int fd = -1;
        char path[PATH_MAX];

        if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int) sizeof path)
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                return -errno;
        return 0;
}

/* SIGKILL every pid listed in dir/cgroup.procs and in its sub-cgroups.
 * Returns how many were found. */
static int kill_procs(const char *dir)
{
        _cleanup_free_ char *buf = NULL;
        char path[PATH_MAX];
        DIR *d;
        struct dirent *de;
        int n = 0;

        if (snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= (int) sizeof path)
                return -ENAMETOOLONG;
        if (jd_read_file_at(AT_FDCWD, path, 16 << 20, &buf, NULL) < 0)
                return 0;
        for (char *p = buf, *end; *p; p = end) {
                long pid = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (pid > 0) {
                        (void) kill((pid_t) pid, SIGKILL);
                        n++;
                }
                while (*end == '\n')
                        end++;
        }

        d = opendir(dir);
        if (!d)
                return n;
        while ((de = readdir(d))) {
                char sub[PATH_MAX];
                int r;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name) >= (int) sizeof sub)
                        continue;
                r = kill_procs(sub);
                if (r > 0)
                        n += r;
        }
        closedir(d);
        return n;
}

static int rmdir_tree(const char *dir)
{
        DIR *d;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                char sub[PATH_MAX];

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name) >= (int) sizeof sub)
                        continue;
                (void) rmdir_tree(sub);
        }
        closedir(d);
        if (rmdir(dir) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int jd_cgroup_kill_remove(const char *path)
{
        struct stat st;
        int found = 0, r;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;

        /* v2 (5.14+) kills the whole subtree at once, racing no fork. */
        (void) write_string(path, "cgroup.kill", "1");

        /* Then (and on v1, only) kill pid by pid until nothing is left;
         * a bounded wait: processes stuck in D state keep the cgroup. */
        for (int i = 0; i < 200; i++) {
                r = kill_procs(path);
                if (i == 0)
                        found = r > 0 ? r : 0;
                if (r <= 0)
                        break;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }

        /* A cgroup whose last process just exited may take a moment to be
         * removable (EBUSY). */
        for (int i = 0; i < 100; i++) {
                r = rmdir_tree(path);
                if (r != -EBUSY)
                        break;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        if (r < 0)
                return r;
        return found;
}

void jd_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

static bool is_cgroup_fs(const char *path)
{
        struct statfs sf;

        if (statfs(path, &sf) < 0)
                return false;
        return sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC;
}

char **jd_cgroup_all_paths(const char *path)
{
        static const char root[] = "/sys/fs/cgroup/";
        struct statfs sf;
        const char *rel;
        char **v;
        size_t n = 0, alloc = 16;
        int slashes = 0;
        DIR *d;
        struct dirent *de;

        v = calloc(alloc + 1, sizeof *v);
        if (!v)
                return NULL;

        /* Pure v2, or a path we do not know how to map: just the one. */
        if (statfs("/sys/fs/cgroup", &sf) < 0 || sf.f_type == CGROUP2_SUPER_MAGIC ||
            strncmp(path, root, strlen(root)) != 0) {
                v[0] = strdup(path);
                if (!v[0]) {
                        free(v);
                        return NULL;
                }
                return v;
        }

        /* v1: path is /sys/fs/cgroup/<hierarchy>/<rel>. */
        rel = NULL;
        for (const char *p = path; *p && !rel; p++)
                if (*p == '/' && ++slashes == 5)
                        rel = p;
        if (!rel || rel[1] == '\0') {
                v[0] = strdup(path);
                return v[0] ? v : (free(v), NULL);
        }
        rel++;

        d = opendir("/sys/fs/cgroup");
        if (!d) {
                free(v);
                return NULL;
        }
        while ((de = readdir(d)) && n < alloc) {
                char hier[PATH_MAX], full[PATH_MAX];
                struct stat st;

                /* "cpu" -> "cpu,cpuacct" symlinks name a hierarchy twice. */
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(hier, sizeof hier, "/sys/fs/cgroup/%s", de->d_name);
                if (!is_cgroup_fs(hier))
                        continue;
                if (snprintf(full, sizeof full, "%s/%s", hier, rel) >= (int) sizeof full)
                        continue;
                if (stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                v[n] = strdup(full);
                if (!v[n])
                        break;
                n++;
        }
        closedir(d);
        return v;
}

static int write_file_at_path(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                return -errno;
        return 0;
}

/* Our cgroup v2 path ("/system.slice/jailerd.service"), or NULL. */
char *jd_cgroup_own_v2(void)
{
        _cleanup_free_ char *buf = NULL;
        char *line, *save = NULL;

        if (jd_read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &buf, NULL) < 0)
                return NULL;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strncmp(line, "0::", 3) == 0)
                        return strdup(line + 3);
        return NULL;
}

bool jd_cgroup_is_delegated(const char *abs)
{
        char v[8] = "";

        if (getxattr(abs, "trusted.delegate", v, sizeof v - 1) > 0 && v[0] == '1')
                return true;
        if (getxattr(abs, "user.delegate", v, sizeof v - 1) > 0 && v[0] == '1')
                return true;
        return false;
}

static bool has_word(const char *list, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

/* Give the controllers jails need (of those the node has) to its children. */
int jd_cgroup_enable_controllers(const char *abs)
{
        static const char *const wanted[] = { "cpu", "memory", "pids" };
        _cleanup_free_ char *avail = NULL;
        char path[4096], ctl[64];
        int r, ret = 0;

        snprintf(path, sizeof path, "%s/cgroup.controllers", abs);
        r = jd_read_file_at(AT_FDCWD, path, 4096, &avail, NULL);
        if (r < 0)
                return r;
        snprintf(path, sizeof path, "%s/cgroup.subtree_control", abs);
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                if (!has_word(avail, wanted[i])) {
                        log_warning("cgroup %s lacks the %s controller: jails get no %s limits", abs, wanted[i],
                                    wanted[i]);
                        continue;
                }
                snprintf(ctl, sizeof ctl, "+%s", wanted[i]);
                r = write_file_at_path(path, ctl);
                if (r < 0) {
                        log_warning("cannot enable %s in %s: %s", wanted[i], path, strerror(-r));
                        ret = ret ?: r;
                }
        }
        return ret;
}

int jd_cgroup_move_self(const char *abs, const char *leaf)
{
        char path[4096];

        snprintf(path, sizeof path, "%s/%s", abs, leaf);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
        snprintf(path, sizeof path, "%s/%s/cgroup.procs", abs, leaf);
        return write_file_at_path(path, "0");
}

int jd_peer_may_access(const char *path, uid_t uid, const gid_t *gids, size_t n_gids, bool write)
{
        struct stat st;
        mode_t bits;

        if (stat(path, &st) < 0)
                return -errno;
        if (uid == 0)
                return 0;
        if (st.st_uid == uid)
                bits = (st.st_mode >> 6) & 7;
        else {
                bool in_group = false;

                for (size_t i = 0; i < n_gids; i++)
                        if (gids[i] == st.st_gid)
                                in_group = true;
                bits = in_group ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
        }
        if (!(bits & 4) || (write && !(bits & 2)))
                return -EACCES;
        return 0;
}

int jd_fd_nonblock(int fd, bool nonblock)
{
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0)
                return -errno;
        flags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (fcntl(fd, F_SETFL, flags) < 0)
                return -errno;
        return 0;
}

int jd_fd_move_above_stdio(int fd)
{
        int nfd;

        if (fd < 0 || fd > 2)
                return fd;
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        close(fd);
        return nfd;
}

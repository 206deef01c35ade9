/* SPDX-License-Identifier: MIT */
/*
 * The cgroup file-system helpers both backends (cgroup-v1.c, cgroup-v2.c)
 * and the front (cgroup.c) build on: reading and writing cgroup files by
 * directory fd, walking to a parent without following symlinks, making and
 * removing a leaf, and killing what a cgroup lists.  They call nothing above
 * them: cgroup.c dispatches to a backend, a backend uses these.
 *
 * Every path below a cgroup mount is walked one component at a time with
 * openat(O_NOFOLLOW), and every file is opened relative to a directory fd
 * with O_NOFOLLOW: nothing we write to as root can be redirected by a
 * symlink.  cgroupfs has no symlinks of its own, so this only ever refuses
 * something that should not be there.
 */
#include "cgroup-internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* ------------------------------------------------------------ file helpers */

int jl_cg_read_at(int dirfd, const char *name, char **out)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        return jl_read_fd_all(fd, 64u << 20, false, out, NULL);
}

int jl_cg_write_at(int dirfd, const char *name, const char *value)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;

        size_t len = strlen(value);
        ssize_t k;
        do
                k = write(fd, value, len);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        /* Continuing a short write would hand the kernel the rest of the
         * value as a second, different value. */
        if ((size_t) k != len)
                return -EIO;
        return 0;
}

int jl_cg_writef_at(int dirfd, const char *name, const char *fmt, ...)
{
        char buf[128];
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(buf))
                return -EINVAL;
        return jl_cg_write_at(dirfd, name, buf);
}

/* Strict decimal u64 of s[0..len), or "max". */
static int parse_u64_n(const char *s, size_t len, uint64_t *out)
{
        if (len == 3 && memcmp(s, "max", 3) == 0) {
                *out = UINT64_MAX;
                return 0;
        }
        if (len == 0)
                return -EINVAL;

        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                unsigned d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *out = v;
        return 0;
}

int jl_cg_read_u64_at(int dirfd, const char *name, uint64_t *out)
{
        _cleanup_free_ char *s = NULL;
        int r = jl_cg_read_at(dirfd, name, &s);
        if (r < 0)
                return r;

        size_t len = strlen(s);
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
                len--;
        return parse_u64_n(s, len, out);
}

int jl_cg_read_pids_peak(int dirfd, int64_t *out)
{
        uint64_t v;
        int r = jl_cg_read_u64_at(dirfd, "pids.peak", &v);
        if (r == -ENOENT)
                return 0;
        if (r == 0)
                *out = v > INT64_MAX ? INT64_MAX : (int64_t) v;
        return r;
}

int jl_cg_key_in(const char *text, const char *key, uint64_t *out)
{
        size_t klen = strlen(key);
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t llen = nl ? (size_t) (nl - line) : strlen(line);
                if (llen > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ')
                        return parse_u64_n(line + klen + 1, llen - klen - 1, out);
                line = nl ? nl + 1 : NULL;
        }
        return -ENOKEY;
}

int jl_cg_read_key_at(int dirfd, const char *name, const char *key, uint64_t *out)
{
        _cleanup_free_ char *s = NULL;
        int r = jl_cg_read_at(dirfd, name, &s);
        if (r < 0)
                return r;
        return jl_cg_key_in(s, key, out);
}

bool jl_cg_exists_at(int dirfd, const char *name)
{
        return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

bool jl_cg_has_word(const char *text, const char *word)
{
        size_t wlen = strlen(word);
        for (const char *p = text; (p = strstr(p, word)); p += wlen) {
                bool start = p == text || p[-1] == ' ' || p[-1] == '\n';
                bool end = p[wlen] == '\0' || p[wlen] == ' ' || p[wlen] == '\n';
                if (start && end)
                        return true;
        }
        return false;
}

void jl_cg_backoff(unsigned *round)
{
        long ms = 1L << (*round < 5 ? *round : 5);
        if (ms > 20)
                ms = 20;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
        (void) nanosleep(&ts, NULL);
        (*round)++;
}

/* ------------------------------------------------------------ directories */

static bool is_cgroup_fs(int fd)
{
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return false;
        return sfs.f_type == CGROUP2_SUPER_MAGIC || sfs.f_type == CGROUP_SUPER_MAGIC;
}

static char *path_join(const char *a, const char *b)
{
        char *p;
        if (asprintf(&p, "%s%s%s", a, (a[0] && a[strlen(a) - 1] == '/') ? "" : "/", b) < 0)
                return NULL;
        return p;
}

int jl_cg_open_parent(const char *mount, const char *parent, jl_cg_level_fn level, void *data,
                      char **path_out, jailer_error *err)
{
        _cleanup_close_ int fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "cannot open cgroup mount %s", mount);
        if (!is_cgroup_fs(fd))
                return jl_error(err, JAILER_STEP_CGROUP, 0, NULL, "%s is not a cgroup file system", mount);

        _cleanup_free_ char *path = strdup(mount);
        _cleanup_free_ char *copy = strdup(parent);
        if (!path || !copy)
                return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, NULL, "cgroup path");

        if (level && level(fd, path, data, err) < 0)
                return -1;

        char *save = NULL;
        for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                _cleanup_free_ char *next = path_join(path, comp);
                if (!next)
                        return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, NULL, "cgroup path");

                /* Parents are shared by every jail: another one may be
                 * creating the same component right now, so EEXIST is fine,
                 * and we never remove them. */
                if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
                        return jl_error(err, JAILER_STEP_CGROUP, errno, "cgroup_parent",
                                        "cannot create cgroup %s", next);
                int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0)
                        return jl_error(err, JAILER_STEP_CGROUP, errno, "cgroup_parent",
                                        "cannot open cgroup %s", next);
                close(fd);
                fd = nfd;
                free(path);
                path = TAKE_PTR(next);

                if (level && level(fd, path, data, err) < 0)
                        return -1;
        }

        *path_out = TAKE_PTR(path);
        return TAKE_FD(fd);
}

int jl_cg_dir_make(struct jl_cg_dir *d, int parent_fd, const char *parent_path,
                   const char *id, jailer_error *err)
{
        d->path = path_join(parent_path, id);
        if (!d->path)
                return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, NULL, "cgroup path");

        if (mkdirat(parent_fd, id, 0755) < 0) {
                if (errno == EEXIST) {
                        /* The question is the useful end of this line, so
                         * no ": File exists" after it; the code says EEXIST. */
                        jl_error(err, JAILER_STEP_CGROUP, 0, "id",
                                 "cgroup %s already exists: is a jail with this id running?", d->path);
                        if (err)
                                err->code = EEXIST;
                        errno = EEXIST;
                        return -1;
                }
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "cannot create cgroup %s", d->path);
        }
        d->created = true;

        d->fd = openat(parent_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d->fd < 0)
                return jl_error(err, JAILER_STEP_CGROUP, errno, NULL, "cannot open cgroup %s", d->path);
        return 0;
}

int jl_cg_dir_remove(struct jl_cg_dir *d, const char *id)
{
        int r = 0;

        if (d->fd >= 0)
                close(d->fd);
        d->fd = -1;

        if (d->created && d->parent_fd >= 0) {
                /* Right after the last process left, the kernel may still be
                 * tearing it down and refuse with EBUSY for a moment. */
                uint64_t deadline = jl_now_monotonic_ns() + JL_CG_RMDIR_TIMEOUT_NS;
                unsigned round = 0;
                for (;;) {
                        if (unlinkat(d->parent_fd, id, AT_REMOVEDIR) == 0 || errno == ENOENT)
                                break;
                        if (errno != EBUSY || jl_now_monotonic_ns() >= deadline) {
                                r = -errno;
                                break;
                        }
                        jl_cg_backoff(&round);
                }
                if (r == 0)
                        d->created = false;
        }

        if (d->parent_fd >= 0)
                close(d->parent_fd);
        d->parent_fd = -1;
        free(d->path);
        d->path = NULL;
        return r;
}

/* ------------------------------------------------------------ killing */

static int sys_pidfd_open(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
        return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Parse a list of ids (cgroup.procs, cgroup.threads, tasks) into a
 * malloc'd array. */
static int read_ids(int dirfd, const char *name, pid_t **out, size_t *n_out)
{
        _cleanup_free_ char *s = NULL;
        int r = jl_cg_read_at(dirfd, name, &s);
        if (r < 0)
                return r;

        size_t n = 0, cap = 0;
        _cleanup_free_ pid_t *pids = NULL;
        for (char *line = s; line && *line;) {
                char *nl = strchr(line, '\n');
                size_t llen = nl ? (size_t) (nl - line) : strlen(line);
                uint64_t v;
                if (parse_u64_n(line, llen, &v) == 0 && v > 0 && v <= INT32_MAX) {
                        if (n == cap) {
                                cap = cap ? cap * 2 : 16;
                                pid_t *p = realloc(pids, cap * sizeof(*p));
                                if (!p)
                                        return -ENOMEM;
                                pids = p;
                        }
                        pids[n++] = (pid_t) v;
                }
                line = nl ? nl + 1 : NULL;
        }
        *out = TAKE_PTR(pids);
        *n_out = n;
        return 0;
}

static int read_pids(int dirfd, pid_t **out, size_t *n_out)
{
        return read_ids(dirfd, "cgroup.procs", out, n_out);
}

/* "nonvoluntary_ctxt_switches:" of /proc/TID/status, the thread's own. */
static int thread_nivcsw(pid_t tid, uint64_t *out)
{
        char path[64], line[256];
        bool found = false;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) tid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0) {
                        char *p = line + 27;
                        p += strspn(p, " \t");
                        found = parse_u64_n(p, strcspn(p, "\n"), out) == 0;
                        break;
                }
        return found ? 0 : -ENOKEY;
}

int jl_cg_threads_nivcsw(int dirfd, int64_t *out)
{
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0;
        uint64_t sum = 0;
        /* v2 lists a cgroup's threads in cgroup.threads, v1 in tasks. */
        int r = read_ids(dirfd, "cgroup.threads", &tids, &n);
        if (r == -ENOENT)
                r = read_ids(dirfd, "tasks", &tids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                uint64_t v;
                /* A thread that ended since the list was read is gone with
                 * its count; a tid reused meanwhile by a thread outside the
                 * jail adds that thread's count: a statistic, never acted
                 * upon. */
                if (thread_nivcsw(tids[i], &v) == 0 && v <= INT64_MAX - sum)
                        sum += v;
        }
        *out = (int64_t) sum;
        return 0;
}

static bool pid_listed(const pid_t *pids, size_t n, pid_t pid)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

int jl_cg_kill_procs(int dirfd)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = read_pids(dirfd, &pids, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;

        /* A pid read from cgroup.procs may have exited and been reused by a
         * process outside the jail by the time we signal it.  So: pin each
         * process with a pidfd, read the list again, and signal only pinned
         * processes still listed (a live process owns its pid, so a listed
         * pid is the pinned process). */
        _cleanup_free_ int *pidfds = calloc(n, sizeof(int));
        if (!pidfds)
                return -ENOMEM;
        bool have_pidfd = true;
        for (size_t i = 0; i < n; i++) {
                pidfds[i] = sys_pidfd_open(pids[i]);
                if (pidfds[i] < 0 && errno == ENOSYS)
                        have_pidfd = false;
        }

        _cleanup_free_ pid_t *again = NULL;
        size_t n_again = 0;
        r = read_pids(dirfd, &again, &n_again);

        for (size_t i = 0; i < n; i++) {
                if (r == 0 && pid_listed(again, n_again, pids[i])) {
                        if (pidfds[i] >= 0)
                                (void) sys_pidfd_send_signal(pidfds[i], SIGKILL);
                        else if (!have_pidfd)
                                /* Kernels before 5.3: no better way. */
                                (void) kill(pids[i], SIGKILL);
                }
                if (pidfds[i] >= 0)
                        close(pidfds[i]);
        }
        if (r < 0)
                return r;
        return (int) (n_again > INT32_MAX ? INT32_MAX : n_again);
}

/* ------------------------------------------------------------ pinning */

/* A cpu list file of the kernel's into *out: 0 or -errno (-EINVAL when it
 * does not parse).  fallback, when not NULL, stands for a missing file. */
static int read_list(int dirfd, const char *name, const char *fallback, jl_cpuset *out)
{
        _cleanup_free_ char *text = NULL;
        char why[128];

        int r = jl_cg_read_at(dirfd, name, &text);
        if (r == -ENOENT && fallback)
                r = (text = strdup(fallback)) ? 0 : -ENOMEM;
        if (r < 0)
                return r;
        return jl_cpulist_parse(text, out, why, sizeof(why)) < 0 ? -EINVAL : 0;
}

struct pin_kind {
        const char *field;      /* "limits.cpus" */
        const char *what;       /* "cpu" */
        const char *host_dir;   /* where the host says what is online */
        const char *fallback;   /* no such file: what the host has */
};

static const struct pin_kind pin_cpus = { "limits.cpus", "cpu", "/sys/devices/system/cpu", NULL };
/* A kernel without NUMA has no node directory, and one node, 0. */
static const struct pin_kind pin_mems = { "limits.mems", "NUMA node", "/sys/devices/system/node", "0" };

static int pin_one(const struct pin_kind *k, const char *list, jl_cpuset *want, jailer_error *err)
{
        char why[128], have[256];
        jl_cpuset host;

        if (jl_cpulist_parse(list, want, why, sizeof(why)) < 0)
                return jl_error(err, JAILER_STEP_CONFIG, 0, k->field, "%s", why);
        if (jl_cpuset_count(want) == 0)
                return jl_error(err, JAILER_STEP_CONFIG, 0, k->field, "\"%s\" is empty", list);

        _cleanup_close_ int fd = open(k->host_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;
        if (fd >= 0)
                r = read_list(fd, "online", k->fallback, &host);
        else if (errno == ENOENT && k->fallback)
                r = jl_cpulist_parse(k->fallback, &host, why, sizeof(why)) < 0 ? -EINVAL : 0;
        else
                r = -errno;
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, k->field, "cannot read %s/online", k->host_dir);

        int n = jl_cpuset_first_outside(want, &host);
        if (n >= 0) {
                jl_cpuset_format(&host, have, sizeof(have));
                return jl_error(err, JAILER_STEP_CONFIG, 0, k->field,
                                "%s %d (of \"%s\") is not online on this host (online: %s)", k->what, n, list,
                                have);
        }
        return 0;
}

int jl_cg_pin_parse(const jailer_config *c, struct jl_cg_pin **out, jailer_error *err)
{
        *out = NULL;
        if (!c->limits.cpus && !c->limits.mems)
                return 0;

        _cleanup_free_ struct jl_cg_pin *p = calloc(1, sizeof(*p));
        if (!p)
                return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, NULL, "cpuset");
        p->cpus_set = c->limits.cpus != NULL;
        p->mems_set = c->limits.mems != NULL;
        if (p->cpus_set && pin_one(&pin_cpus, c->limits.cpus, &p->cpus, err) < 0)
                return -1;
        if (p->mems_set && pin_one(&pin_mems, c->limits.mems, &p->mems, err) < 0)
                return -1;
        *out = TAKE_PTR(p);
        return 0;
}

static int check_within(const struct pin_kind *k, const jl_cpuset *want, int parent_fd, const char *parent_path,
                        const char *file, jailer_error *err)
{
        jl_cpuset have;
        char have_s[256];

        int r = read_list(parent_fd, file, NULL, &have);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, k->field, "cannot read %s/%s", parent_path, file);
        int n = jl_cpuset_first_outside(want, &have);
        if (n < 0)
                return 0;
        jl_cpuset_format(&have, have_s, sizeof(have_s));
        return jl_error(err, JAILER_STEP_CGROUP, 0, k->field,
                        "%s %d is not in the parent cgroup's set (%s/%s: %s)", k->what, n, parent_path, file,
                        have_s[0] ? have_s : "empty");
}

int jl_cg_pin_check_parent(const struct jl_cg_pin *p, int parent_fd, const char *parent_path,
                           const struct jl_cg_pin_files *f, jailer_error *err)
{
        if (p->cpus_set && check_within(&pin_cpus, &p->cpus, parent_fd, parent_path, f->effective_cpus, err) < 0)
                return -1;
        if (p->mems_set && check_within(&pin_mems, &p->mems, parent_fd, parent_path, f->effective_mems, err) < 0)
                return -1;
        return 0;
}

static int write_list(struct jl_cg_dir *d, const char *field, const char *file, const jl_cpuset *set,
                      jailer_error *err)
{
        /* Whole, never cut: a shorter list would pin to fewer cpus. */
        _cleanup_free_ char *buf = malloc(JL_CPULIST_MAX);
        if (!buf)
                return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, field, "cpuset");
        jl_cpuset_format(set, buf, JL_CPULIST_MAX);
        int r = jl_cg_write_at(d->fd, file, buf);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, field, "cannot write \"%s\" to %s/%s", buf, d->path,
                                file);
        return 0;
}

/* The parent's effective set of file into the leaf's setting: v1 starts a
 * cpuset empty, and an empty cpuset takes no task. */
static int copy_parent(struct jl_cg_dir *d, const struct pin_kind *k, const char *effective, const char *file,
                       jailer_error *err)
{
        jl_cpuset have;
        int r = read_list(d->parent_fd, effective, NULL, &have);
        if (r < 0)
                return jl_error(err, JAILER_STEP_CGROUP, -r, k->field, "cannot read the parent of %s: %s",
                                d->path, effective);
        return write_list(d, k->field, file, &have, err);
}

int jl_cg_pin_write(const struct jl_cg_pin *p, struct jl_cg_dir *d, const struct jl_cg_pin_files *f,
                    bool inherit, jailer_error *err)
{
        int r;

        if (p->cpus_set)
                r = write_list(d, pin_cpus.field, f->cpus, &p->cpus, err);
        else
                r = inherit ? 0 : copy_parent(d, &pin_cpus, f->effective_cpus, f->cpus, err);
        if (r < 0)
                return -1;
        if (p->mems_set)
                return write_list(d, pin_mems.field, f->mems, &p->mems, err);
        return inherit ? 0 : copy_parent(d, &pin_mems, f->effective_mems, f->mems, err);
}

/* ------------------------------------------------------------ I/O limits */

/* The whole disk of the block device maj:min: itself, or for a partition
 * the disk sysfs puts it under.  0, -ENODEV when the host has no such
 * block device, or -errno. */
static int whole_disk(unsigned *maj, unsigned *min)
{
        char path[96];
        _cleanup_free_ char *text = NULL;

        snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", *maj, *min);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ENODEV : -errno;
        if (!jl_cg_exists_at(fd, "partition"))
                return 0;
        /* /sys/dev/block/M:m links to .../disk/partition: "..", taken
         * after the link, is the disk. */
        _cleanup_close_ int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = up < 0 ? -errno : jl_cg_read_at(up, "dev", &text);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        return jl_io_parse_devnum(text, maj, min) ? 0 : -EINVAL;
}

/* The device entry i names, as a (not yet whole-disk) maj:min. */
static int io_devnum(const char *field, const char *device, unsigned *maj, unsigned *min, jailer_error *err)
{
        if (jl_io_parse_devnum(device, maj, min))
                return 0;
        /* jailer's caller names this path: root's own config (the daemon
         * resolves a client's path itself, as the client). */
        _cleanup_close_ int fd = open(device, O_PATH | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return jl_error(err, JAILER_STEP_CONFIG, errno, field, "%s", device);
        dev_t d = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
        *maj = major(d);
        *min = minor(d);
        return 0;
}

int jl_cg_io_resolve(const jailer_config *c, struct jl_cg_io **out, size_t *n_out, jailer_error *err)
{
        *out = NULL;
        *n_out = 0;
        if (!c->limits.n_io)
                return 0;

        _cleanup_free_ struct jl_cg_io *io = calloc(c->limits.n_io, sizeof(*io));
        if (!io)
                return jl_error(err, JAILER_STEP_CGROUP, ENOMEM, NULL, "limits.io");
        for (size_t i = 0; i < c->limits.n_io; i++) {
                const struct jl_io *in = &c->limits.io[i];
                char field[48];
                unsigned maj, min;

                snprintf(field, sizeof(field), "limits.io[%zu].device", i);
                if (io_devnum(field, in->device, &maj, &min, err) < 0)
                        return -1;
                unsigned dmaj = maj, dmin = min;
                int r = whole_disk(&dmaj, &dmin);
                if (r == -ENODEV && jl_io_parse_devnum(in->device, NULL, NULL))
                        return jl_error(err, JAILER_STEP_CONFIG, 0, field, "%s is not a block device of this host",
                                        in->device);
                if (r == -ENODEV)
                        return jl_error(err, JAILER_STEP_CONFIG, 0, field,
                                        "%s: its device %u:%u is not a block device of this host (a file on "
                                        "tmpfs, overlayfs, ... has none)",
                                        in->device, maj, min);
                if (r < 0)
                        return jl_error(err, JAILER_STEP_CGROUP, -r, field, "%s: cannot find the disk of %u:%u",
                                        in->device, maj, min);
                for (size_t j = 0; j < i; j++)
                        if (io[j].major == dmaj && io[j].minor == dmin)
                                return jl_error(err, JAILER_STEP_CONFIG, 0, field,
                                                "%s: disk %u:%u is already limited by limits.io[%zu]", in->device,
                                                dmaj, dmin, j);
                io[i] = (struct jl_cg_io) { .major = dmaj, .minor = dmin, .rbps = in->rbps, .wbps = in->wbps,
                                            .riops = in->riops, .wiops = in->wiops };
        }
        *n_out = c->limits.n_io;
        *out = TAKE_PTR(io);
        return 0;
}

/* The first weight file the leaf has, in the backend's order of
 * preference; none at all refuses the jail, naming what was looked for:
 * a weight the kernel would quietly ignore is a run that looks shielded
 * from its neighbours' I/O and is not. */
int jl_cg_io_weight_write(struct jl_cg_dir *d, const struct jl_cg_weight_file *files, size_t n, uint64_t weight,
                          const char *needs, jailer_error *err)
{
        char tried[160] = "";

        for (size_t i = 0; i < n; i++) {
                const struct jl_cg_weight_file *f = &files[i];

                if (!jl_cg_exists_at(d->fd, f->name)) {
                        size_t len = strlen(tried);
                        snprintf(tried + len, sizeof(tried) - len, "%s%s", len ? " or " : "", f->name);
                        continue;
                }
                if (weight < f->min || weight > f->max)
                        return jl_error(err, JAILER_STEP_CGROUP, 0, "limits.io_weight",
                                        "%" PRIu64 " is outside %" PRIu64 "-%" PRIu64 ", the range of %s, the "
                                        "I/O weight this kernel offers%s%s%s",
                                        weight, f->min, f->max, f->name, tried[0] ? " (it has no " : "", tried,
                                        tried[0] ? ")" : "");
                int r = jl_cg_writef_at(d->fd, f->name, "%s%" PRIu64, f->keyed ? "default " : "", weight);
                if (r < 0)
                        return jl_error(err, JAILER_STEP_CGROUP, -r, "limits.io_weight",
                                        "cannot write \"%s%" PRIu64 "\" to %s/%s", f->keyed ? "default " : "", weight,
                                        d->path, f->name);
                return 0;
        }
        return jl_error(err, JAILER_STEP_CGROUP, 0, "limits.io_weight",
                        "%" PRIu64 ": this kernel offers no I/O weight, the jail's cgroup has no %s (that needs %s)",
                        weight, tried, needs);
}

/* ------------------------------------------------------------ disturbance */

int jl_cg_read_opt_at(int dirfd, const char *name, char **out)
{
        int r = jl_cg_read_at(dirfd, name, out);
        if (r == -ENOENT || r == -EOPNOTSUPP) {
                *out = NULL;
                return 0;
        }
        return r;
}

int jl_cg_key_opt_in(const char *text, const char *key, int64_t *out)
{
        uint64_t v;
        int r = text ? jl_cg_key_in(text, key, &v) : -ENOKEY;
        if (r == -ENOKEY)
                return 0;
        if (r < 0)
                return r;
        *out = v > INT64_MAX ? INT64_MAX : (int64_t) v;
        return 0;
}

int jl_cg_read_key_opt(int dirfd, const char *name, const char *key, int64_t *out)
{
        _cleanup_free_ char *s = NULL;
        int r = jl_cg_read_opt_at(dirfd, name, &s);
        if (r < 0)
                return r;
        return jl_cg_key_opt_in(s, key, out);
}

static void psi_total(const char *line, int64_t *out)
{
        const char *t = strstr(line, " total=");
        if (!t)
                return;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(t + 7, &end, 10);
        if (errno == 0 && end != t + 7 && v <= INT64_MAX)
                *out = (int64_t) v;
}

int jl_cg_read_psi_at(int dirfd, const char *name, int64_t *some, int64_t *full)
{
        _cleanup_free_ char *text = NULL;
        int r = jl_cg_read_at(dirfd, name, &text);
        /* No file (v1, or an old kernel), or PSI off (psi=0): nothing. */
        if (r == -ENOENT || r == -EOPNOTSUPP)
                return 0;
        if (r < 0)
                return r;
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                if (strncmp(line, "some ", 5) == 0)
                        psi_total(line, some);
                else if (strncmp(line, "full ", 5) == 0)
                        psi_total(line, full);
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

int jl_cg_cpus_busy_us(const jl_cpuset *set, uint64_t *out)
{
        FILE *f = fopen("/proc/stat", "re");
        if (!f)
                return -errno;
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t ticks = 0;
        char line[512];

        while (fgets(line, sizeof(line), f)) {
                unsigned cpu;
                unsigned long long v[8] = { 0 };
                /* cpuN user nice system idle iowait irq softirq steal */
                if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3],
                           &v[4], &v[5], &v[6], &v[7]) < 5 ||
                    !jl_cpuset_has(set, cpu))
                        continue;
                ticks += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        }
        fclose(f);
        if (hz <= 0)
                return -EINVAL;
        *out = ticks * (1000000 / (uint64_t) hz);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * cgroups, whichever version the host has: detection, the file helpers both
 * backends share, and the jl_cgroup_* entry points that dispatch to
 * cgroup-v2.c or cgroup-v1.c.
 *
 * Every path below a cgroup mount is walked one component at a time with
 * openat(O_NOFOLLOW), and every file is opened relative to a directory fd
 * with O_NOFOLLOW: nothing we write to as root can be redirected by a
 * symlink.  cgroupfs has no symlinks of its own, so this only ever refuses
 * something that should not be there.
 */
#include "cgroup-internal.h"

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
};

/* The v2 controllers a jail needs. */
static const char *const v2_controllers[] = { "cpu", "memory", "pids" };

/* ------------------------------------------------------------ file helpers */

int jl_cg_read_at(int dirfd, const char *name, char **out)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;

        size_t size = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(size);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                if (len + 1 >= size) {
                        if (size >= 64u << 20)
                                return -EFBIG;
                        char *n = realloc(buf, size * 2);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        size *= 2;
                }
                ssize_t k = read(fd, buf + len, size - len - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        buf[len] = '\0';
        *out = TAKE_PTR(buf);
        return 0;
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

int jl_cg_read_key_at(int dirfd, const char *name, const char *key, uint64_t *out)
{
        _cleanup_free_ char *s = NULL;
        int r = jl_cg_read_at(dirfd, name, &s);
        if (r < 0)
                return r;

        size_t klen = strlen(key);
        for (char *line = s; line && *line;) {
                char *nl = strchr(line, '\n');
                size_t llen = nl ? (size_t) (nl - line) : strlen(line);
                if (llen > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ')
                        return parse_u64_n(line + klen + 1, llen - klen - 1, out);
                line = nl ? nl + 1 : NULL;
        }
        return -ENOKEY;
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

uint64_t jl_cg_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
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

int jl_cg_open_parent(const char *mount, const char *parent, jl_cg_level_fn level,
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

        if (level && level(fd, path, err) < 0)
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

                if (level && level(fd, path, err) < 0)
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
                uint64_t deadline = jl_cg_now_ns() + JL_CG_RMDIR_TIMEOUT_NS;
                unsigned round = 0;
                for (;;) {
                        if (unlinkat(d->parent_fd, id, AT_REMOVEDIR) == 0 || errno == ENOENT)
                                break;
                        if (errno != EBUSY || jl_cg_now_ns() >= deadline) {
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

/* Parse cgroup.procs into a malloc'd array. */
static int read_pids(int dirfd, pid_t **out, size_t *n_out)
{
        _cleanup_free_ char *s = NULL;
        int r = jl_cg_read_at(dirfd, "cgroup.procs", &s);
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

int jl_cg_host_probe(struct jl_cg_host *h)
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
        for (size_t i = 0; i < JL_CG1_COUNT; i++)
                if (!h->v1_mount[i])
                        return false;
        return true;
}

void jl_cg_host_v1_missing(const struct jl_cg_host *h, char *buf, size_t size)
{
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < JL_CG1_COUNT; i++)
                if (!h->v1_mount[i] && len < size) {
                        int k = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                                         jl_cg1_controller_names[i]);
                        if (k > 0)
                                len += (size_t) k;
                }
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
        for (size_t i = 0; i < cg->n_dirs; i++) {
                int r = jl_cg_dir_remove(&cg->dirs[i], cg->id);
                if (r < 0 && first_error && *first_error == 0)
                        *first_error = r;
        }
        free(cg->memory_seen_max);
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
        cg->v2 = v2;
        for (size_t i = 0; i < ELEMENTSOF(cg->dirs); i++)
                cg->dirs[i].fd = cg->dirs[i].parent_fd = -1;

        r = v2 ? jl_cg2_create(c, &h, cg, err) : jl_cg1_create(c, &h, cg, err);
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
        return cg->v2;
}

int jl_cgroup_clone_fd(const struct jl_cgroup *cg)
{
        return cg->v2 ? cg->dirs[0].fd : -1;
}

int jl_cgroup_attach(struct jl_cgroup *cg, pid_t pid, jailer_error *err)
{
        return cg->v2 ? jl_cg2_attach(cg, pid, err) : jl_cg1_attach(cg, pid, err);
}

int jl_cgroup_stats_read(const struct jl_cgroup *cg, jl_cgroup_stats *st)
{
        memset(st, 0, sizeof(*st));
        st->pids_peak = -1;
        return cg->v2 ? jl_cg2_stats_read(cg, st) : jl_cg1_stats_read(cg, st);
}

int jl_cgroup_kill_all(struct jl_cgroup *cg)
{
        return cg->v2 ? jl_cg2_kill_all(cg) : jl_cg1_kill_all(cg);
}

int jl_cgroup_destroy(struct jl_cgroup *cg)
{
        int r = 0;

        if (!cg)
                return 0;
        /* Callers kill first; on an error path one may not have, and a
         * process left running in a cgroup we no longer track would escape
         * its limits' clean-up.  On an empty cgroup this is one read. */
        if (jl_cgroup_kill_all(cg) < 0)
                r = -errno;
        cgroup_free(cg, &r);
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return 0;
}

const char *jl_cgroup_path(const struct jl_cgroup *cg)
{
        return cg->v2 ? cg->dirs[0].path : cg->dirs[cg->cg1_dir[JL_CG1_MEMORY]].path;
}

/* SPDX-License-Identifier: MIT */
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <linux/magic.h>

uint64_t jd_now_realtime_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int jd_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

        if (fd < 0)
                return -errno;
        return jailer_read_fd(fd, max, out, len);
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

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && errno == EEXIST) {
                /* A leftover of a writer that crashed before its rename. */
                (void) unlinkat(dirfd, tmp, 0);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        }
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        /* No fsync(), of the file or of the directory: what is written here
         * (state.json, report.json, config.json) describes jails, and no
         * jail survives a reboot, so neither need its files.  What must
         * hold is that a reader never sees half a file, after a crash of
         * jailerd or of a supervisor too: the rename gives that, because
         * the page cache outlives any process.  A sync here cost a jail
         * start milliseconds where the state directory is on disk. */
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
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

/* ------------------------------------------------------------- removal
 *
 * Jail directories hold trees that a jail (or the client that chose its
 * uid) controls: run/ belongs to the jail's uid, which may move its own
 * directories into it, nest directories as deep as it likes, or leave a
 * mount behind.  Root must not remove anything there that the owner could
 * not remove itself.  So:
 *  - the walk runs in a child process, never in jailerd or the supervisor
 *    themselves: whatever a tree does to it (depth, size, time), they live;
 *  - a directory owned by a user is emptied by a grandchild that has become
 *    that user (uid, gid, no supplementary groups, not dumpable): what it
 *    cannot search or unlink stays, another user's 0700 directory moved in
 *    among them included.  Root works only on directories root owns;
 *  - it descends by fd only (openat O_NOFOLLOW | O_DIRECTORY), never
 *    follows a symlink (one is unlinked like any file) and never enters
 *    another mount: a mount point found inside is left, and reported;
 *  - it is iterative, one fd per level, at most JD_RM_MAX_DEPTH levels deep.
 *    A directory deeper than that is moved up to the top (by its owner, who
 *    may) and removed from there on another pass over the top; one that
 *    cannot be moved is left, and reported.
 */

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

#define RM_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_INO | STATX_MNT_ID)

/* What a walk left, as bits: a child process's exit status. */
enum {
        RM_LEFT = 1 << 0,       /* something could not be removed */
        RM_MOUNT = 1 << 1,      /* a mount point was left alone */
        RM_TOO_DEEP = 1 << 2,   /* directories below JD_RM_MAX_DEPTH were left */
        RM_DENIED = 1 << 3,     /* the owner may not remove something */
        RM_FAILED = 1 << 4,     /* the walk itself failed (no memory, no process) */
};

struct rm_level {
        int fd;
        off_t resume;           /* where to read on once the entry below is done */
        char name[NAME_MAX + 1];
};

struct rm_walk {
        struct statx top;       /* the tree's top: its mount is the only one we enter */
        bool as_root;           /* root: hand users' directories to their owner */
        unsigned max_depth;
        struct rm_level *levels;
        unsigned hoisted;       /* directories moved up to the top so far */
        bool again;             /* ... during this pass over the top */
        int flags;
};

#define RM_MAX_PASSES 4096u

static int statx_at(int dirfd, const char *name, struct statx *sx)
{
        int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] ? 0 : AT_EMPTY_PATH);

        if (statx(dirfd, name, flags, RM_STATX_MASK, sx) < 0)
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

static int rm_walk_as(int fd, const struct statx *top, uid_t uid, gid_t gid);

static void rm_note(struct rm_walk *w, int err)
{
        w->flags |= RM_LEFT;
        if (err == EACCES || err == EPERM)
                w->flags |= RM_DENIED;
}

static void rm_rmdir(struct rm_walk *w, int dirfd, const char *name)
{
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                rm_note(w, errno);
}

/* Move the directory dirfd/name, too deep to enter, up to the top; the
 * next pass over the top removes it from there. */
static int rm_hoist(struct rm_walk *w, int dirfd, const char *name)
{
        for (int tries = 0; tries < 16; tries++) {
                char to[32];

                snprintf(to, sizeof to, ".jailer-rm-%u", w->hoisted++);
                if (renameat2(dirfd, name, w->levels[0].fd, to, RENAME_NOREPLACE) == 0) {
                        w->again = true;
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* One entry of the directory dirfd at depth.  Returns an fd to descend
 * into, or -1 when the entry is done with (removed or left). */
static int rm_entry(struct rm_walk *w, int dirfd, unsigned depth, const char *name)
{
        _cleanup_close_ int cfd = -1;
        struct statx sx, csx;
        int r;

        r = statx_at(dirfd, name, &sx);
        if (r == -ENOENT)
                return -1;
        if (r < 0) {
                rm_note(w, -r);
                return -1;
        }
        if (!S_ISDIR(sx.stx_mode)) {
                /* Symlinks included: the link goes, never its target. */
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        rm_note(w, errno);
                return -1;
        }
        if (!same_mount(&sx, &w->top)) {
                w->flags |= RM_LEFT | RM_MOUNT;
                return -1;
        }
        if (depth + 1 > w->max_depth) {
                if (rm_hoist(w, dirfd, name) < 0)
                        w->flags |= RM_LEFT | RM_TOO_DEEP;
                return -1;
        }
        cfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (cfd < 0) {
                if (errno != ENOENT)
                        rm_note(w, errno);
                return -1;
        }
        /* What we opened, not what we looked at: it may have been swapped. */
        r = statx_at(cfd, "", &csx);
        if (r < 0 || !S_ISDIR(csx.stx_mode) || !same_mount(&csx, &w->top)) {
                w->flags |= RM_LEFT | (r < 0 ? 0 : RM_MOUNT);
                return -1;
        }
        if (w->as_root && csx.stx_uid != 0) {
                /* A user's directory: its owner empties it. */
                w->flags |= rm_walk_as(cfd, &w->top, csx.stx_uid, csx.stx_gid);
                rm_rmdir(w, dirfd, name);
                return -1;
        }
        return TAKE_FD(cfd);
}

/* Empty the directory fd (level 0), depth first, one fd per level. */
static void rm_contents(struct rm_walk *w, int fd)
{
        _Alignas(struct dirent64) char buf[16384];
        unsigned depth = 0, passes = 0;

        w->levels[0].fd = fd;
        for (;;) {
                struct rm_level *l = &w->levels[depth];
                ssize_t n = getdents64(l->fd, buf, sizeof buf);
                ssize_t off = 0;

                if (n < 0) {
                        rm_note(w, errno);
                        n = 0;
                }
                if (n == 0) {
                        /* This directory is done: back to its parent, remove
                         * it there, and read on after it. */
                        if (depth == 0) {
                                /* Once more if directories were moved up. */
                                if (!w->again || ++passes >= RM_MAX_PASSES || lseek(l->fd, 0, SEEK_SET) < 0)
                                        return;
                                w->again = false;
                                continue;
                        }
                        close(l->fd);
                        l = &w->levels[--depth];
                        rm_rmdir(w, l->fd, l->name);
                        if (lseek(l->fd, l->resume, SEEK_SET) < 0) {
                                rm_note(w, errno);
                                return;
                        }
                        continue;
                }
                while (off < n) {
                        struct dirent64 *de = (struct dirent64 *) (buf + off);
                        int cfd;

                        off += de->d_reclen;
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        cfd = rm_entry(w, l->fd, depth, de->d_name);
                        if (cfd < 0)
                                continue;
                        /* Down one level; the rest of this buffer is read
                         * again from de's position when we come back. */
                        l->resume = de->d_off;
                        snprintf(l->name, sizeof l->name, "%s", de->d_name);
                        w->levels[++depth].fd = cfd;
                        break;
                }
        }
}

/* The walk, in the child, on the directory at fd 3.  Returns RM_ bits. */
static int rm_walk_here(const struct statx *top, bool as_root)
{
        struct rm_walk w = { .top = *top, .as_root = as_root, .max_depth = JD_RM_MAX_DEPTH };
        struct rlimit rl;

        /* One fd per level: make room for them, within the hard limit. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rlim_t want = JD_RM_MAX_DEPTH + 64;

                rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
                if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
                        w.max_depth = rl.rlim_cur > 96 ? (unsigned) rl.rlim_cur - 64 : 32;
        }
        w.levels = calloc(w.max_depth + 1, sizeof *w.levels);
        if (!w.levels)
                return RM_LEFT | RM_FAILED;
        rm_contents(&w, 3);
        free(w.levels);
        return w.flags;
}

/* The child: drop to uid/gid unless as_root, then walk fd 3. */
static int rm_child(const struct statx *top, bool as_root, uid_t uid, gid_t gid)
{
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (!as_root) {
                int ufd;

                /* Not dumpable first: from the moment the uid is the
                 * user's, the user's own processes must not ptrace us or
                 * reach root's fd 3 through /proc/PID/fd (the kernel's
                 * suid_dumpable rule covers this only while it is 0).
                 * Then for good, in this order because each step needs the
                 * privilege the next one gives up: no groups of root's,
                 * the gid, the uid, with no way back. */
                if (prctl(PR_SET_DUMPABLE, 0) < 0 || setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        return RM_LEFT | RM_FAILED;
                /* Re-open the directory as the user: root's fd could list
                 * what the user may not read. */
                ufd = openat(3, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
                if (ufd < 0)
                        return RM_LEFT | (errno == EACCES ? RM_DENIED : 0);
                if (dup2(ufd, 3) < 0)
                        return RM_LEFT | RM_FAILED;
                close(ufd);
        }
        return rm_walk_here(top, as_root);
}

/* Empty the directory fd in a child process: as root (as_root, handing
 * users' directories to their owners), or as uid/gid.  Returns RM_ bits. */
static int rm_walk_in_child(int fd, const struct statx *top, bool as_root, uid_t uid, gid_t gid)
{
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return RM_LEFT | RM_FAILED;
        if (pid == 0) {
                /* Nothing of the parent's but the directory, at fd 3. */
                status = dup2(fd, 3) < 0 ? RM_LEFT | RM_FAILED : 0;
                (void) close_range(4, ~0U, 0);
                if (status == 0)
                        status = rm_child(top, as_root, uid, gid);
                (void) close_range(3, ~0U, 0);
                _exit(status);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return RM_LEFT | RM_FAILED;
        if (!WIFEXITED(status))
                return RM_LEFT | RM_FAILED;
        return WEXITSTATUS(status);
}

static int rm_walk_as(int fd, const struct statx *top, uid_t uid, gid_t gid)
{
        return rm_walk_in_child(fd, top, false, uid, gid);
}

static int rm_flags_to_errno(int flags)
{
        if (flags & RM_MOUNT)
                return -EBUSY;
        if (flags & RM_FAILED)
                return -ECHILD;
        if (flags & RM_TOO_DEEP)
                return -ELOOP;
        if (flags & RM_DENIED)
                return -EACCES;
        return -ENOTEMPTY;
}

static void rm_log(const char *name, int flags)
{
        char deep[64] = "";

        if (!flags)
                return;
        if (flags & RM_TOO_DEEP)
                snprintf(deep, sizeof deep, " directories nested deeper than %u;", JD_RM_MAX_DEPTH);
        log_warning("%s: left in place:%s%s%s%s", name,
                    flags & RM_MOUNT ? " a mount inside (not descended into);" : "", deep,
                    flags & RM_DENIED ? " what its owner may not remove;" : "",
                    flags & RM_FAILED ? " the removal process failed;" : "");
}

/* The first pass over a top of root's, in this process: every entry that is
 * not a directory is unlinked, as the walk's root child would (the link
 * goes, never its target).  jailerd's own directories (a jail's state: its
 * config and state files) hold nothing else, and are gone without a fork of
 * the daemon, whose address space a fork would copy and tear down for every
 * jail.  Returns true when the top may still hold something (a directory,
 * an entry that would not go): the walk in a child then does the rest, and
 * reports what it leaves. */
static bool rm_files_here(int fd)
{
        _Alignas(struct dirent64) char buf[4096];
        /* Read through a description of our own: the walk's starts at the
         * top's first entry. */
        _cleanup_close_ int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
        bool more = false;
        ssize_t n;

        if (dfd < 0)
                return true;
        while ((n = getdents64(dfd, buf, sizeof buf)) > 0) {
                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *de = (struct dirent64 *) (buf + off);

                        off += de->d_reclen;
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
                                more = true;
                                continue;
                        }
                        /* EISDIR: swapped for a directory since; EBUSY: a
                         * mount point.  The walk sees to both. */
                        if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
                                more = true;
                }
        }
        return n < 0 || more;
}

int jd_rm_rf_at(int dirfd, const char *name)
{
        _cleanup_close_ int fd = -1;
        struct statx top, got;
        bool as_root;
        int r, flags;

        r = statx_at(dirfd, name, &top);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!S_ISDIR(top.stx_mode)) {
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = statx_at(fd, "", &got);
        if (r < 0)
                return r;
        if (got.stx_ino != top.stx_ino || !same_mount(&got, &top))
                return -EAGAIN;
        /* The top's own owner (root, for the directories jailerd makes)
         * decides who empties it. */
        as_root = got.stx_uid == 0;
        flags = as_root && !rm_files_here(fd) ? 0 : rm_walk_in_child(fd, &got, as_root, got.stx_uid, got.stx_gid);
        rm_log(name, flags);
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return flags ? rm_flags_to_errno(flags) : -errno;
        return 0;
}

int jd_rm_rf(const char *path)
{
        return jd_rm_rf_at(AT_FDCWD, path);
}

/* The tmpfs jailerd mounts on a jail's run/ (jd_jail_dir_mount_run):
 * unmount it when it is one, so that its files go with it.  A mount on it
 * (someone else's) keeps it: unmounting would take that one along. */
static bool has_submounts(uint64_t mnt_id)
{
        _cleanup_free_ char *buf = NULL;

        if (jd_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 64u << 20, &buf, NULL) < 0)
                return true;
        for (char *line = buf; line && *line;) {
                unsigned long long id, parent;
                char *nl = strchr(line, '\n');

                if (sscanf(line, "%llu %llu", &id, &parent) == 2 && parent == mnt_id && id != mnt_id)
                        return true;
                line = nl ? nl + 1 : NULL;
        }
        return false;
}

static int unmount_run(int jail_dirfd, const char *path)
{
        _cleanup_close_ int fd = -1;
        struct statx dir, run;
        struct statfs sf;
        char proc[64];

        fd = openat(jail_dirfd, "run", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        if (statx_at(jail_dirfd, "", &dir) < 0 || statx_at(fd, "", &run) < 0 || fstatfs(fd, &sf) < 0)
                return -errno;
        if (same_mount(&dir, &run) || sf.f_type != TMPFS_MAGIC)
                return 0;
        if (!(run.stx_mask & STATX_MNT_ID) || has_submounts(run.stx_mnt_id)) {
                log_warning("%s/run: a mount on it: left mounted", path);
                return -EBUSY;
        }
        /* Detached, it goes once nothing uses it any more (a host process
         * may still hold one of its sockets). */
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (umount2(proc, MNT_DETACH) < 0)
                return -errno;
        return 0;
}

int jd_jail_dir_remove(const char *path)
{
        _cleanup_close_ int dfd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r;

        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = unmount_run(dfd, path);
        if (r < 0 && r != -EBUSY)
                log_warning("%s/run: cannot unmount: %s", path, strerror(-r));
        return jd_rm_rf(path);
}

int jd_jail_dir_mount_run(int jail_dirfd, uint64_t size, uid_t uid, gid_t gid)
{
        _cleanup_close_ int fd = -1;
        char proc[64], opts[160];

        fd = openat(jail_dirfd, "run", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* As many inodes as 1 KiB pages: their kernel memory counts too. */
        snprintf(opts, sizeof opts, "size=%" PRIu64 ",nr_inodes=%" PRIu64 ",mode=0700,uid=%u,gid=%u", size,
                 size / 1024 ?: 1, (unsigned) uid, (unsigned) gid);
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (mount("jailer-run", proc, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return -errno;
        return 0;
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

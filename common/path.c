/* SPDX-License-Identifier: MIT */
/*
 * Opening host paths named by a config without trusting what users planted.
 *
 * A bind source, the exec file, the jail root and device paths are opened by
 * root.  A plain open() follows every symlink on the way, so a symlink that a
 * jail (or any user) left in a directory it can write — a read-write bind, a
 * shared scratch directory — would redirect a later jail's bind mount to
 * wherever it points, past the permissions of the directories in between.
 *
 * jl_open_trusted() walks the path one component at a time from "/", each
 * step an openat(O_PATH | O_NOFOLLOW) relative to the directory fd of the
 * previous one, so nothing can be swapped between a check and its use.  A
 * symlink is followed only when root owns it: users cannot create those,
 * while the distribution's own (/bin -> usr/bin, /lib64 -> usr/lib64) keep
 * working.  Everything else is refused with ELOOP and a message naming the
 * link.
 */
#include "jailer-internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LINKS 40

/* The walk both callers share.  follow_root_links: follow symlinks that
 * root owns (host paths, from "/"); otherwise refuse every symlink and every
 * ".." (paths inside a jail root, which must stay beneath dirfd). */
static int walk(int dirfd, const char *path, int flags, bool follow_root_links, char *why, size_t why_size)
{
        /* The remaining path, rewritten when a link is followed. */
        char rest[PATH_MAX * 2];
        if (snprintf(rest, sizeof(rest), "%s", path) >= (int) sizeof(rest)) {
                errno = ENAMETOOLONG;
                return -1;
        }

        _cleanup_close_ int dir = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (dir < 0)
                return -1;
        unsigned links = 0;
        char *p = rest;

        for (;;) {
                while (*p == '/')
                        p++;
                if (*p == '\0')
                        /* The path ended on a directory: reopen it as asked. */
                        return openat(dir, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC);

                size_t n = strcspn(p, "/");
                char comp[NAME_MAX + 1];
                if (n > NAME_MAX) {
                        errno = ENAMETOOLONG;
                        return -1;
                }
                memcpy(comp, p, n);
                comp[n] = '\0';
                p += n;
                while (*p == '/')
                        p++;
                bool last = *p == '\0';

                if (!follow_root_links && strcmp(comp, "..") == 0) {
                        errno = EXDEV;
                        return -1;
                }

                struct stat st;
                if (fstatat(dir, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -1;

                if (S_ISLNK(st.st_mode)) {
                        if (!follow_root_links || st.st_uid != 0) {
                                if (why && follow_root_links)
                                        snprintf(why, why_size,
                                                 "refusing to follow the symlink \"%s\" owned by uid %u "
                                                 "(only root's symlinks are followed)",
                                                 comp, (unsigned) st.st_uid);
                                errno = ELOOP;
                                return -1;
                        }
                        if (++links > MAX_LINKS) {
                                errno = ELOOP;
                                return -1;
                        }
                        char target[PATH_MAX];
                        ssize_t len = readlinkat(dir, comp, target, sizeof(target) - 1);
                        if (len < 0)
                                return -1;
                        target[len] = '\0';

                        /* New remaining path: the target, then what was left. */
                        char next[PATH_MAX * 2];
                        if (snprintf(next, sizeof(next), "%s/%s", target, p) >= (int) sizeof(next)) {
                                errno = ENAMETOOLONG;
                                return -1;
                        }
                        memcpy(rest, next, strlen(next) + 1);
                        p = rest;
                        if (target[0] == '/') {
                                int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                                if (root < 0)
                                        return -1;
                                close(dir);
                                dir = root;
                        }
                        continue;
                }

                if (last) {
                        int fd = openat(dir, comp, flags | O_NOFOLLOW | O_CLOEXEC);
                        /* Swapped for a symlink since fstatat: O_PATH would
                         * hand back the link itself.  Refuse it. */
                        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
                                close(fd);
                                errno = ELOOP;
                                return -1;
                        }
                        return fd;
                }

                int next = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return -1;
                close(dir);
                dir = next;
        }
}

int jl_open_trusted(const char *path, int flags, char *why, size_t why_size)
{
        if (!path || path[0] != '/') {
                errno = EINVAL;
                return -1;
        }
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -1;
        return walk(root, path, flags, true, why, why_size);
}

int jailer_open_trusted(const char *path, int flags, char *why, size_t why_size)
{
        return jl_open_trusted(path, flags, why, why_size);
}

int jl_open_beneath_nofollow(int dirfd, const char *rel, int flags)
{
        return walk(dirfd, rel, flags, false, NULL, 0);
}

const char *jl_file_type_name(mode_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFREG:
                return "a regular file";
        case S_IFDIR:
                return "a directory";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        case S_IFIFO:
                return "a FIFO";
        case S_IFSOCK:
                return "a socket";
        case S_IFLNK:
                return "a symlink";
        default:
                return "of an unknown type";
        }
}

static bool type_wanted(mode_t mode, unsigned types)
{
        switch (mode & S_IFMT) {
        case S_IFREG:
                return types & JL_TYPE_REG;
        case S_IFDIR:
                return types & JL_TYPE_DIR;
        case S_IFCHR:
                return types & JL_TYPE_CHR;
        case S_IFBLK:
                return types & JL_TYPE_BLK;
        case S_IFSOCK:
                return types & JL_TYPE_SOCK;
        default:
                return false;
        }
}

/* The one way a host path someone else named is opened.  The walk gives an
 * O_PATH fd, which opens nothing: a FIFO does not block, a device sees no
 * open(), a terminal does not become ours.  Only once its type is one the
 * caller wants is the same inode opened for real, through /proc/self/fd
 * (which checks the permissions again, as whoever we are now: with a
 * client's fsuid, as the client), never by its name again. */
int jl_open_host(const char *path, unsigned types, int flags, char *why, size_t why_size)
{
        _cleanup_close_ int fd = jl_open_trusted(path, O_PATH, why, why_size);
        struct stat st, st2;

        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0)
                return -1;
        if (!type_wanted(st.st_mode, types)) {
                if (why)
                        snprintf(why, why_size, "it is %s", jl_file_type_name(st.st_mode));
                errno = EINVAL;
                return -1;
        }
        if (flags & O_PATH)
                return TAKE_FD(fd);

        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        _cleanup_close_ int real = open(link, (flags & ~O_CREAT & ~O_TRUNC) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (real < 0)
                return -1;
        if (fstat(real, &st2) < 0)
                return -1;
        if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
                errno = EXDEV; /* /proc is not what it should be */
                return -1;
        }
        return TAKE_FD(real);
}

int jailer_open_host(const char *path, unsigned types, int flags, char *why, size_t why_size)
{
        return jl_open_host(path, types, flags, why, why_size);
}

const char *jailer_file_type_name(mode_t mode)
{
        return jl_file_type_name(mode);
}

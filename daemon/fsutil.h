/* SPDX-License-Identifier: MIT */
/* Files and processes: small helpers jailerd and the supervisor share. */
#ifndef JAILERD_FSUTIL_H
#define JAILERD_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jailer.h"
#include "macro.h"

uint64_t jd_now_realtime_us(void);

/* Read a whole (small) file into a NUL-terminated malloc'd buffer; at most
 * max bytes (-EFBIG beyond).  0 or -errno. */
int jd_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len);

/* Write data to dirfd/name atomically: a temporary file beside it, renamed
 * over name.  Not synced to disk: for state that lives no longer than the
 * running system (see the function).  0 or -errno. */
int jd_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/* Process start time (field 22 of /proc/PID/stat, in clock ticks since
 * boot): with the pid, it names one process for good.  0 or -errno
 * (-ESRCH when there is no such process). */
int jd_proc_starttime(pid_t pid, uint64_t *out);

/* Remove dirfd/name and everything below it, as its owners would: a top of
 * root's that holds no directory is emptied here; otherwise the walk
 * runs in a child process, directories owned by a user are emptied by a
 * grandchild that has become that user (so nothing that user could not
 * remove goes), it descends by fd without following symlinks, never enters
 * another mount (a mount point inside is left: -EBUSY) and goes at most
 * JD_RM_MAX_DEPTH levels deep (-ELOOP beyond).  What cannot be removed is
 * left and logged (-EACCES, -ENOTEMPTY).  dirfd/name itself must be in a
 * directory of root's.  -ENOENT is not an error. */
#define JD_RM_MAX_DEPTH 4096u
int jd_rm_rf_at(int dirfd, const char *name);
/* The same for an absolute path. */
int jd_rm_rf(const char *path);

/* A jail directory jailerd made: unmount the tmpfs on its run/ (unless a
 * mount sits on it: then it stays, logged), then jd_rm_rf() it. */
int jd_jail_dir_remove(const char *path);
/* Mount run/'s tmpfs: size bytes (and as many inodes as KiB), mode 0700,
 * owned by uid:gid, nosuid, nodev, noexec.  0 or -errno. */
int jd_jail_dir_mount_run(int jail_dirfd, uint64_t size, uid_t uid, gid_t gid);

/* Is the peer (uid, its gids) allowed to read (or write) the file at path
 * by its mode bits?  Follows symlinks like open() would.  0, or -errno
 * (-EACCES: not allowed). */
int jd_peer_may_access(const char *path, uid_t uid, const gid_t *gids, size_t n_gids, bool write);

/* Set or clear O_NONBLOCK. */
int jd_fd_nonblock(int fd, bool nonblock);

/* Move fd to a number >= 3 (so that dup2() onto 0-2 cannot clobber it). */
int jd_fd_move_above_stdio(int fd);

#endif

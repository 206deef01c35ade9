/* SPDX-License-Identifier: MIT */
/*
 * The jail's filesystem: the jail root becomes "/" through pivot_root, with a
 * fresh /proc of the jail's pid namespace, a minimal tmpfs /dev and the
 * configured bind mounts (read-only unless asked otherwise, always nosuid and
 * nodev).
 *
 * Two halves:
 *  - jl_rootfs_prepare() runs in the parent, in the host's mount namespace,
 *    before the child exists.  It opens the jail root and every bind source,
 *    clones each of them into a detached mount tree (open_tree) with its
 *    mount attributes already set, and creates the mountpoints that are
 *    missing in the jail root, recording each one so that
 *    jl_rootfs_cleanup() can remove it after the jail ends.
 *  - jl_mount_setup_child() runs in the child's new mount namespace.  It only
 *    attaches the prepared trees (move_mount), so the child never resolves a
 *    host path by name after the parent checked it.
 *
 * Paths inside the jail root are walked one component at a time with
 * O_NOFOLLOW, or resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS):
 * a symlink planted in the jail root can never redirect a mount or a mkdir
 * outside of it.
 */
#include "jailer-internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static int openat2_beneath(int dirfd, const char *rel, int flags)
{
        struct open_how how = {
                .flags = (uint64_t) flags | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        if (rel[0] == '\0')
                rel = ".";
        int fd = (int) syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd < 0 && errno == ENOSYS)
                /* Without openat2 (before 5.6, or hidden by a seccomp
                 * filter such as systemd's RestrictSUIDSGID=): the same
                 * walk by hand, one O_NOFOLLOW step at a time. */
                return jl_open_beneath_nofollow(dirfd, rel, flags);
        return fd;
}

/* "/a/b/" -> "a/b" (malloc'd).  Validation already refused "." and "..". */
static char *relpath_of(const char *abs)
{
        while (*abs == '/')
                abs++;
        char *s = strdup(abs);
        if (!s)
                return NULL;
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == '/')
                s[--n] = '\0';
        return s;
}

/* Is path b equal to or beneath path a (component-wise)? */
static bool path_is_beneath(const char *b, const char *a)
{
        _cleanup_free_ char *ra = relpath_of(a), *rb = relpath_of(b);
        if (!ra || !rb)
                return false;
        size_t n = strlen(ra);
        if (n == 0)
                return true;
        return strncmp(ra, rb, n) == 0 && (rb[n] == '\0' || rb[n] == '/');
}

static int record_created(struct jl_rootfs *r, const char *rel, size_t len, bool is_dir)
{
        struct jl_created *n = realloc(r->created, (r->n_created + 1) * sizeof(*n));
        if (!n)
                return -1;
        r->created = n;
        n[r->n_created].relpath = strndup(rel, len);
        if (!n[r->n_created].relpath)
                return -1;
        n[r->n_created].is_dir = is_dir;
        r->n_created++;
        return 0;
}

/* Act as the owner of the directory we are about to change.  In a tree that
 * belongs to a user, that user can move directories around while we work:
 * a directory we just opened may be renamed out of the jail root before we
 * create something in it.  Done with the owner's fsuid/fsgid, such a create
 * (or a removal at clean-up) can only do what the owner could have done
 * anyway: root's privilege never reaches outside the jail root. */
struct fsids {
        bool switched;
};

static int become_owner_of(int dirfd, struct fsids *s)
{
        struct stat st;
        s->switched = false;
        if (fstat(dirfd, &st) < 0)
                return -1;
        if (st.st_uid == 0 && st.st_gid == 0)
                return 0;
        (void) setfsgid(st.st_gid);
        (void) setfsuid(st.st_uid);
        s->switched = true;
        return 0;
}

static void become_root_again(struct fsids *s)
{
        if (!s->switched)
                return;
        int saved = errno;
        (void) setfsuid(0);
        (void) setfsgid(0);
        errno = saved;
        s->switched = false;
}

/* Make sure rel (relative to the jail root) exists as a directory (is_dir)
 * or a non-directory; create what is missing as root, mode 0755 / 0644, and
 * record it.  Never follows a symlink. */
static int ensure_mountpoint(struct jl_rootfs *r, const char *rel, bool is_dir, const char *field,
                             jailer_error *err)
{
        _cleanup_close_ int dfd = fcntl(r->root_fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "dup");

        size_t len = strlen(rel);
        size_t pos = 0;
        while (pos < len) {
                size_t end = pos;
                while (end < len && rel[end] != '/')
                        end++;
                bool last = end == len;
                char comp[NAME_MAX + 1];
                if (end - pos > NAME_MAX)
                        return jl_error(err, JAILER_STEP_ROOTFS, ENAMETOOLONG, field, "%s: /%.*s", field,
                                        (int) end, rel);
                memcpy(comp, rel + pos, end - pos);
                comp[end - pos] = '\0';

                struct stat st;
                if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: /%.*s in jail root %s",
                                                field, (int) end, rel, r->root_path);
                        struct fsids ids;
                        if (become_owner_of(dfd, &ids) < 0)
                                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: stat /%.*s", field,
                                                (int) pos, rel);
                        if (!last || is_dir) {
                                int made = mkdirat(dfd, comp, 0755);
                                become_root_again(&ids);
                                if (made < 0)
                                        return jl_error(err, JAILER_STEP_ROOTFS, errno, field,
                                                        "%s: cannot create mountpoint /%.*s in jail root %s", field,
                                                        (int) end, rel, r->root_path);
                                if (record_created(r, rel, end, true) < 0)
                                        return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, field, "record");
                        } else {
                                int fd = openat(dfd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                                become_root_again(&ids);
                                if (fd < 0)
                                        return jl_error(err, JAILER_STEP_ROOTFS, errno, field,
                                                        "%s: cannot create mountpoint /%.*s in jail root %s", field,
                                                        (int) end, rel, r->root_path);
                                close(fd);
                                if (record_created(r, rel, end, false) < 0)
                                        return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, field, "record");
                                return 0;
                        }
                } else if (S_ISLNK(st.st_mode)) {
                        return jl_error(err, JAILER_STEP_ROOTFS, 0, field,
                                        "%s: /%.*s in jail root %s is a symlink; mountpoints must be real paths",
                                        field, (int) end, rel, r->root_path);
                } else if (!last && !S_ISDIR(st.st_mode)) {
                        return jl_error(err, JAILER_STEP_ROOTFS, ENOTDIR, field, "%s: /%.*s in jail root %s",
                                        field, (int) end, rel, r->root_path);
                } else if (last && is_dir != !!S_ISDIR(st.st_mode)) {
                        return jl_error(err, JAILER_STEP_ROOTFS, 0, field,
                                        "%s: /%s in jail root %s is %s but the source is %s", field, rel,
                                        r->root_path, S_ISDIR(st.st_mode) ? "a directory" : "not a directory",
                                        is_dir ? "a directory" : "not a directory");
                }
                if (last)
                        return 0;

                int nfd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: /%.*s in jail root %s", field,
                                        (int) end, rel, r->root_path);
                close(dfd);
                dfd = nfd;
                pos = end + 1;
        }
        return 0;
}

/* mount_setattr() is missing (before Linux 5.12, or hidden by a seccomp
 * filter): set once, in the parent, and inherited by the child, which then
 * sets each mount's attributes the classic way once it is attached
 * (set_attrs()).  Chosen by trying the call, never by the kernel version. */
static bool no_mount_setattr;

/* The new mount API itself (open_tree, move_mount, fsopen: Linux 5.2) has no
 * fallback: the jail is refused saying which call is missing. */
static const char *missing_call;

static int enosys_is(const char *call)
{
        if (errno == ENOSYS && !missing_call)
                missing_call = call;
        return -1;
}

static int mount_api_error(int r, jailer_error *err)
{
        if (r < 0 && missing_call)
                jl_error(err, JAILER_STEP_ROOTFS, ENOSYS, NULL,
                         "this kernel lacks %s (the new mount API): the jailer needs Linux 5.2 or later", missing_call);
        return r;
}

/* Set attrs (MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC) and private propagation
 * on the mount tree fd (and, recursive, every mount below it).  With
 * mount_setattr() the tree may be detached; without, it must be attached in
 * our namespace: each mount is then remounted by path (MS_REMOUNT|MS_BIND),
 * its own flags kept and ours added, as the kernel would. */
static int set_attrs(int tree, uint64_t attrs, bool recursive)
{
        struct mount_attr attr = { .attr_set = attrs, .propagation = MS_PRIVATE };

        if (!no_mount_setattr) {
                if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) == 0)
                        return 0;
                if (errno != ENOSYS)
                        return -1;
                no_mount_setattr = true;
        }
        return 1; /* the caller attaches, then calls remount_attrs() */
}

static unsigned long ms_flags_of(uint64_t attrs)
{
        return ((attrs & MOUNT_ATTR_RDONLY) ? MS_RDONLY : 0) | ((attrs & MOUNT_ATTR_NOSUID) ? MS_NOSUID : 0) |
               ((attrs & MOUNT_ATTR_NODEV) ? MS_NODEV : 0) | ((attrs & MOUNT_ATTR_NOEXEC) ? MS_NOEXEC : 0);
}

/* The per-mount flags a mount has now (statvfs), which a bind remount
 * would otherwise clear. */
static unsigned long ms_flags_now(int fd)
{
        struct statvfs sv;
        unsigned long f = 0;

        if (fstatvfs(fd, &sv) < 0)
                return 0;
        f |= (sv.f_flag & ST_RDONLY) ? MS_RDONLY : 0;
        f |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
        f |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
        f |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
        f |= (sv.f_flag & ST_NOATIME) ? MS_NOATIME : 0;
        f |= (sv.f_flag & ST_NODIRATIME) ? MS_NODIRATIME : 0;
        f |= (sv.f_flag & ST_RELATIME) ? MS_RELATIME : 0;
        return f;
}

static uint64_t mount_id_of(int fd)
{
        struct statx sx;

        if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0 ||
            !(sx.stx_mask & STATX_MNT_ID))
                return 0;
        return sx.stx_mnt_id;
}

/* Remount the mount fd is the root of, through the magic link: no path is
 * walked, so nothing a jail root's owner renames meanwhile can redirect it. */
static int remount_fd(int fd, unsigned long flags)
{
        char proc[64];

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (mount(NULL, proc, NULL, MS_REMOUNT | MS_BIND | ms_flags_now(fd) | flags, NULL) < 0)
                return -1;
        return mount(NULL, proc, NULL, MS_PRIVATE, NULL);
}

/* "/a\\040b" (mountinfo's octal escapes) -> "/a b", in place. */
static void unescape_octal(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++, w++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w = *r;
        }
        *w = '\0';
}

struct minfo {
        uint64_t id, parent;
        char *mountpoint;
};

static void minfo_free(struct minfo *m, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(m[i].mountpoint);
        free(m);
}

/* Our /proc/self/mountinfo: id, parent id and mountpoint of each mount. */
static struct minfo *minfo_read(size_t *n)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        struct minfo *m = NULL;
        size_t cap = 0;

        *n = 0;
        if (!f)
                return NULL;
        while (getline(&line, &cap, f) > 0) {
                unsigned long long id, parent;
                char mp[PATH_MAX];
                struct minfo *grown;

                if (sscanf(line, "%llu %llu %*s %*s %4095s", &id, &parent, mp) != 3)
                        continue;
                grown = realloc(m, (*n + 1) * sizeof(*m));
                if (!grown)
                        break;
                m = grown;
                unescape_octal(mp);
                m[*n] = (struct minfo) { .id = id, .parent = parent, .mountpoint = strdup(mp) };
                if (!m[*n].mountpoint)
                        break;
                (*n)++;
        }
        return m;
}

/* Every mount below the one whose id is top (children first found, then
 * theirs): each opened by its mountpoint, checked to be that very mount
 * (its id), remounted through its fd.  A mount that moved meanwhile fails
 * the jail rather than leaving a mount without its attributes. */
static int remount_below(uint64_t top, unsigned long flags)
{
        size_t n = 0;
        struct minfo *m = minfo_read(&n);
        _cleanup_free_ uint64_t *todo = calloc(n + 1, sizeof(uint64_t));
        size_t head = 0, tail = 0;
        int r = 0;

        if (!m || !todo) {
                minfo_free(m, n);
                errno = ENOMEM;
                return -1;
        }
        todo[tail++] = top;
        while (head < tail && r == 0) {
                uint64_t parent = todo[head++];

                for (size_t i = 0; i < n && r == 0; i++) {
                        if (m[i].parent != parent || m[i].id == parent || tail > n)
                                continue;
                        _cleanup_close_ int fd = open(m[i].mountpoint, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0 || mount_id_of(fd) != m[i].id) {
                                errno = fd < 0 ? errno : EBUSY;
                                r = -1;
                                break;
                        }
                        r = remount_fd(fd, flags);
                        todo[tail++] = m[i].id;
                }
        }
        minfo_free(m, n);
        return r;
}

/* The classic half of set_attrs(), once the tree is attached in our
 * namespace (nothing to do when mount_setattr() did it). */
static int remount_attrs(int tree, uint64_t attrs, bool recursive)
{
        unsigned long flags = ms_flags_of(attrs);

        if (!no_mount_setattr)
                return 0;
        if (remount_fd(tree, flags) < 0)
                return -1;
        return recursive ? remount_below(mount_id_of(tree), flags) : 0;
}

/* Clone a path into a detached mount tree with the given attributes (set
 * at once, or by remount_attrs() once attached when mount_setattr() is
 * missing). */
static int clone_tree(int fd, uint64_t attrs, bool recursive)
{
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
        _cleanup_close_ int tree = open_tree(fd, "", flags);
        if (tree < 0)
                return enosys_is("open_tree");
        if (set_attrs(tree, attrs, recursive) < 0)
                return -1;
        return TAKE_FD(tree);
}

static int add_dev(struct jl_rootfs *r, const char *name, mode_t mode, dev_t rdev, bool jail_owned)
{
        struct jl_dev *n = realloc(r->devs, (r->n_devs + 1) * sizeof(*n));
        if (!n)
                return -1;
        r->devs = n;
        n[r->n_devs] = (struct jl_dev) {
                .name = strdup(name),
                .mode = mode,
                .rdev = rdev,
                .jail_owned = jail_owned,
        };
        if (!n[r->n_devs].name)
                return -1;
        r->n_devs++;
        return 0;
}

static int prepare_devices(const jailer_config *c, struct jl_rootfs *r, jailer_error *err)
{
        /* The nodes every jail gets; world-usable like on any host. */
        static const struct {
                const char *name;
                unsigned major, minor;
        } base[] = {
                { "null", 1, 3 },
                { "zero", 1, 5 },
                { "urandom", 1, 9 },
        };
        for (size_t i = 0; i < ELEMENTSOF(base); i++)
                if (add_dev(r, base[i].name, S_IFCHR | 0666, makedev(base[i].major, base[i].minor), false) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, NULL, "devices");

        /* /dev/kvm when the host has it: the reason a VMM is jailed at all. */
        struct stat st;
        if (c->kvm && stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode)) {
                bool asked = false;
                for (size_t i = 0; i < c->n_devices; i++)
                        asked |= strcmp(c->devices[i], "/dev/kvm") == 0;
                if (!asked && add_dev(r, "kvm", S_IFCHR | 0600, st.st_rdev, true) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, NULL, "devices");
        }

        /* /dev/net/tun when the jail has taps or joins a prepared network
         * namespace (whose taps the operator may have given to the jail's
         * uid): without CAP_NET_ADMIN it attaches only to taps its uid or
         * gid owns, and creates none. */
        if ((c->n_taps > 0 || c->netns) && stat("/dev/net/tun", &st) == 0 && S_ISCHR(st.st_mode)) {
                bool asked = false;
                for (size_t i = 0; i < c->n_devices; i++)
                        asked |= strcmp(c->devices[i], "/dev/net/tun") == 0;
                if (!asked && add_dev(r, "net/tun", S_IFCHR | 0666, st.st_rdev, false) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, NULL, "devices");
        }

        for (size_t i = 0; i < c->n_devices; i++) {
                char field[32];
                snprintf(field, sizeof(field), "devices[%zu]", i);
                char why[256] = "";
                int given = jl_config_device_fd(c, i);
                _cleanup_close_ int fd = given >= 0 ? fcntl(given, F_DUPFD_CLOEXEC, 3)
                                                    : jl_open_trusted(c->devices[i], O_PATH, why, sizeof(why));
                if (fd < 0 || fstat(fd, &st) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: %s%s%s", field, c->devices[i],
                                        why[0] ? ": " : "", why);
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        return jl_error(err, JAILER_STEP_ROOTFS, 0, field, "%s: %s is not a device node", field,
                                        c->devices[i]);
                if (add_dev(r, c->devices[i] + strlen("/dev/"), (st.st_mode & S_IFMT) | 0600, st.st_rdev, true) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, field, "devices");
        }
        return 0;
}

static uint64_t bind_attrs(const struct jl_bind *b)
{
        return MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (b->read_only ? MOUNT_ATTR_RDONLY : 0);
}

static int rootfs_prepare(const jailer_config *c, struct jl_rootfs *r, jailer_error *err);

int jl_rootfs_prepare(const jailer_config *c, struct jl_rootfs *r, jailer_error *err)
{
        return mount_api_error(rootfs_prepare(c, r, err), err);
}

/* The jail root's parent, opened without following users' symlinks, and
 * the leaf's name in it. */
static int open_root_parent(const jailer_config *c, struct jl_rootfs *r, jailer_error *err)
{
        char why[256] = "";
        _cleanup_free_ char *parent = strdup(c->jail_root);
        if (!parent)
                return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, "jail_root", "jail_root");
        char *slash = strrchr(parent, '/');
        while (slash && slash > parent && slash[1] == '\0') { /* trailing slashes */
                *slash = '\0';
                slash = strrchr(parent, '/');
        }
        const char *leaf = slash ? slash + 1 : parent;
        _cleanup_free_ char *leafname = strdup(leaf);
        if (!leafname)
                return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, "jail_root", "jail_root");
        if (slash == parent)
                parent[1] = '\0';
        else if (slash)
                *slash = '\0';
        /* Given as fds (jailer_config_set_jail_root_fd()): those very
         * directories, whatever the path leads to now. */
        r->root_parent_fd = c->jail_root_parent_fd >= 0 ? fcntl(c->jail_root_parent_fd, F_DUPFD_CLOEXEC, 3)
                                                        : jl_open_trusted(parent, O_PATH | O_DIRECTORY, why, sizeof(why));
        if (r->root_parent_fd < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: %s%s%s", c->jail_root,
                                why[0] ? ": " : "", why);
        r->root_leaf = TAKE_PTR(leafname);
        return 0;
}

/* The jail root itself, relative to its parent; made when missing (only
 * the leaf: a missing parent is a mistake worth reporting), and checked to
 * be a directory other than the host's root. */
static int open_root(const jailer_config *c, struct jl_rootfs *r, jailer_error *err)
{
        if (c->jail_root_fd >= 0)
                r->root_fd = fcntl(c->jail_root_fd, F_DUPFD_CLOEXEC, 3);
        else if (c->jail_root_parent_fd >= 0) {
                /* Checked while it did not exist: whatever is there now
                 * is not what was checked.  We make it, or nothing. */
                r->root_fd = -1;
                errno = ENOENT;
        } else
                r->root_fd = openat(r->root_parent_fd, r->root_leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (r->root_fd < 0 && errno == ENOENT && c->jail_root_fd < 0) {
                if (mkdirat(r->root_parent_fd, r->root_leaf, 0755) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: cannot create %s",
                                        c->jail_root);
                r->created_root = true;
                r->root_fd = openat(r->root_parent_fd, r->root_leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (r->root_fd < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: %s", c->jail_root);

        struct stat st, host_root;
        if (fstat(r->root_fd, &st) < 0 || stat("/", &host_root) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: stat %s", c->jail_root);
        if (st.st_dev == host_root.st_dev && st.st_ino == host_root.st_ino)
                return jl_error(err, JAILER_STEP_ROOTFS, 0, "jail_root",
                                "jail_root: %s is the host's root directory", c->jail_root);
        if (!S_ISDIR(st.st_mode))
                return jl_error(err, JAILER_STEP_ROOTFS, ENOTDIR, "jail_root", "jail_root: %s", c->jail_root);
        return 0;
}

/* Bind i: its source opened (or the fd given for it) and cloned with its
 * attributes; its mountpoint made in the jail root, unless it lies in an
 * earlier bind (then it must exist in that one's source: the child checks). */
static int prepare_bind(const jailer_config *c, struct jl_rootfs *r, size_t i, jailer_error *err)
{
        const struct jl_bind *b = &c->binds[i];
        char field[48], why[256] = "";
        struct stat st;

        snprintf(field, sizeof(field), "bind_mounts[%zu].source", i);
        int given = jl_config_bind_fd(c, i);
        _cleanup_close_ int src = given >= 0 ? fcntl(given, F_DUPFD_CLOEXEC, 3)
                                             : jl_open_trusted(b->source, O_PATH, why, sizeof(why));
        if (src < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: %s%s%s", field, b->source,
                                why[0] ? ": " : "", why);
        if (fstat(src, &st) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: %s", field, b->source);

        r->bind_src_fds[i] = clone_tree(src, bind_attrs(b), true);
        if (r->bind_src_fds[i] < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: cannot clone mount of %s", field,
                                b->source);

        snprintf(field, sizeof(field), "bind_mounts[%zu].dest", i);
        for (size_t j = 0; j < i; j++)
                if (path_is_beneath(b->dest, c->binds[j].dest))
                        r->bind_nested[i] = true;
        if (r->bind_nested[i])
                return 0;

        _cleanup_free_ char *rel = relpath_of(b->dest);
        if (!rel)
                return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, field, "%s", field);
        return ensure_mountpoint(r, rel, S_ISDIR(st.st_mode), field, err);
}

static int rootfs_prepare(const jailer_config *c, struct jl_rootfs *r, jailer_error *err)
{
        *r = (struct jl_rootfs) { .root_fd = -1, .root_tree = -1, .root_parent_fd = -1 };

        if (!c->ns[JAILER_NS_MOUNT])
                return 0; /* no mount namespace: no jail filesystem (validation refused binds) */

        r->root_path = strdup(c->jail_root);
        if (!r->root_path)
                return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, "jail_root", "jail_root");
        if (open_root_parent(c, r, err) < 0 || open_root(c, r, err) < 0)
                return -1;

        /* Mount trees are cloned here, in the host's namespace where the
         * paths were checked: the child cannot clone from a namespace it has
         * left, and must not resolve these paths again by name. */
        r->root_tree = clone_tree(r->root_fd, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true);
        if (r->root_tree < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: cannot clone mount of %s",
                                c->jail_root);

        r->bind_src_fds = calloc(c->n_binds ? c->n_binds : 1, sizeof(int));
        r->bind_nested = calloc(c->n_binds ? c->n_binds : 1, sizeof(bool));
        if (!r->bind_src_fds || !r->bind_nested)
                return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, NULL, "bind_mounts");
        r->n_binds = c->n_binds;
        for (size_t i = 0; i < c->n_binds; i++)
                r->bind_src_fds[i] = -1;

        /* /proc and /dev are the jail's own; make sure their mountpoints exist. */
        if (ensure_mountpoint(r, "proc", true, "jail_root", err) < 0 ||
            ensure_mountpoint(r, "dev", true, "jail_root", err) < 0)
                return -1;
        for (size_t i = 0; i < c->n_binds; i++)
                if (prepare_bind(c, r, i, err) < 0)
                        return -1;
        return prepare_devices(c, r, err);
}

void jl_rootfs_release_trees(struct jl_rootfs *r)
{
        if (r->root_tree >= 0) {
                close(r->root_tree);
                r->root_tree = -1;
        }
        for (size_t i = 0; r->bind_src_fds && i < r->n_binds; i++)
                if (r->bind_src_fds[i] >= 0) {
                        close(r->bind_src_fds[i]);
                        r->bind_src_fds[i] = -1;
                }
}

void jl_rootfs_cleanup(struct jl_rootfs *r)
{
        /* Newest first: children before their parent directories. */
        for (size_t i = r->n_created; i-- > 0;) {
                struct jl_created *e = &r->created[i];
                if (r->root_fd >= 0) {
                        char *slash = strrchr(e->relpath, '/');
                        _cleanup_free_ char *parent = slash ? strndup(e->relpath, (size_t) (slash - e->relpath))
                                                            : strdup("");
                        const char *base = slash ? slash + 1 : e->relpath;
                        _cleanup_close_ int pfd = parent ? openat2_beneath(r->root_fd, parent, O_PATH | O_DIRECTORY)
                                                         : -1;
                        struct fsids ids;
                        if (pfd >= 0 && become_owner_of(pfd, &ids) == 0) {
                                /* The jail's mount namespace may take a moment to go away. */
                                for (int tries = 0; tries < 50; tries++) {
                                        if (unlinkat(pfd, base, e->is_dir ? AT_REMOVEDIR : 0) == 0 ||
                                            errno != EBUSY)
                                                break;
                                        usleep(2000);
                                }
                                become_root_again(&ids);
                        }
                }
                free(e->relpath);
        }
        free(r->created);
        r->created = NULL;
        r->n_created = 0;

        jl_rootfs_release_trees(r);
        free(r->bind_src_fds);
        free(r->bind_nested);
        r->bind_src_fds = NULL;
        r->bind_nested = NULL;
        if (r->root_fd >= 0) {
                close(r->root_fd);
                r->root_fd = -1;
        }
        if (r->created_root && r->root_parent_fd >= 0 && r->root_leaf)
                (void) unlinkat(r->root_parent_fd, r->root_leaf, AT_REMOVEDIR);
        if (r->root_parent_fd >= 0) {
                close(r->root_parent_fd);
                r->root_parent_fd = -1;
        }
        free(r->root_leaf);
        r->root_leaf = NULL;
        free(r->root_path);
        r->root_path = NULL;
        for (size_t i = 0; i < r->n_devs; i++)
                free(r->devs[i].name);
        free(r->devs);
        r->devs = NULL;
        r->n_devs = 0;
}

/* ------------------------------------------------------------------ child */

static int attach_at(int tree, int rootfd, const char *rel, const char *field, jailer_error *err)
{
        _cleanup_close_ int target = openat2_beneath(rootfd, rel, O_PATH);
        if (target < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: mountpoint /%s in the jail", field, rel);
        if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                (void) enosys_is("move_mount");
                return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: mount on /%s", field, rel);
        }
        return 0;
}

static int new_fs(const char *type, const char *const *opts, uint64_t attrs)
{
        _cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
        if (fs < 0)
                return enosys_is("fsopen");
        for (size_t i = 0; opts && opts[i]; i += 2)
                if (fsconfig(fs, FSCONFIG_SET_STRING, opts[i], opts[i + 1], 0) < 0)
                        return -1;
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -1;
        return fsmount(fs, FSMOUNT_CLOEXEC, (unsigned) attrs);
}

static int setup_dev(const jailer_config *c, const struct jl_rootfs *r, int rootfd, jailer_error *err)
{
        static const char *const opts[] = { "mode", "0755", "size", "64k", "nr_inodes", "64", NULL };
        /* nosuid,noexec; not nodev: the nodes must work.  Mounted by root in
         * the initial user namespace, so mknod works and the jailed user,
         * who has no capability at all, can create nothing here. */
        _cleanup_close_ int dev = new_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        if (dev < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "/dev: cannot create its tmpfs");

        for (size_t i = 0; i < r->n_devs; i++) {
                const struct jl_dev *d = &r->devs[i];
                /* Subdirectories such as net/ for net/tun. */
                for (char *p = d->name; (p = strchr(p, '/')); p++) {
                        char dir[PATH_MAX];
                        snprintf(dir, sizeof(dir), "%.*s", (int) (p - d->name), d->name);
                        if (mkdirat(dev, dir, 0755) < 0 && errno != EEXIST)
                                return jl_error(err, JAILER_STEP_ROOTFS, errno, "devices", "/dev/%s", dir);
                }
                if (mknodat(dev, d->name, d->mode, d->rdev) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, "devices", "mknod /dev/%s", d->name);
                /* mknod honours the umask: set the mode we mean. */
                if (fchmodat(dev, d->name, d->mode & 07777, 0) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, "devices", "chmod /dev/%s", d->name);
                if (d->jail_owned && fchownat(dev, d->name, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, "devices", "chown /dev/%s", d->name);
        }

        const uint64_t attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
        if (set_attrs(dev, attrs, false) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "/dev: read-only");
        if (attach_at(dev, rootfd, "dev", "dev", err) < 0)
                return -1;
        if (remount_attrs(dev, attrs, false) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "/dev: read-only");
        return 0;
}

static int setup_proc(const jailer_config *c, int rootfd, jailer_error *err)
{
        /* A proc instance belongs to the pid namespace of whoever creates it:
         * the child is PID 1 of the jail's namespace here. */
        _cleanup_close_ int proc = new_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (proc < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "/proc: cannot mount proc");
        if (attach_at(proc, rootfd, "proc", "proc", err) < 0)
                return -1;

        /* Kernel knobs stay read-only even for a process that somehow
         * regained privilege inside its namespaces. */
        static const char *const ro_paths[] = { "proc/sys" };
        for (size_t i = 0; i < ELEMENTSOF(ro_paths); i++) {
                _cleanup_close_ int src = openat2_beneath(rootfd, ro_paths[i], O_PATH);
                if (src < 0)
                        continue;
                const uint64_t attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
                _cleanup_close_ int tree = clone_tree(src, attrs, true);
                if (tree < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "/%s: read-only", ro_paths[i]);
                if (attach_at(tree, rootfd, ro_paths[i], "proc", err) < 0)
                        return -1;
                if (remount_attrs(tree, attrs, true) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "/%s: read-only", ro_paths[i]);
        }

        /* Files that tell a jail about the host kernel, whether or not the
         * host's sysctls (kptr_restrict, perf_event_paranoid) hide them:
         * /dev/null goes on top.  The child still sees the host's /dev here,
         * before pivot_root. */
        static const char *const masked[] = { "proc/kallsyms", "proc/kcore", "proc/keys", "proc/key-users",
                                               "proc/timer_list", "proc/sched_debug", "proc/latency_stats",
                                               "proc/sysrq-trigger" };
        for (size_t i = 0; i < ELEMENTSOF(masked); i++) {
                _cleanup_close_ int target = openat2_beneath(rootfd, masked[i], O_PATH);
                if (target < 0)
                        continue; /* this kernel does not have it */
                /* A fresh clone each time: kernels before 6.15 refuse to
                 * clone a detached clone. */
                _cleanup_close_ int tree = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                const uint64_t attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
                if (tree < 0 || set_attrs(tree, attrs, false) < 0 ||
                    move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0 ||
                    remount_attrs(tree, attrs, false) < 0) {
                        (void) enosys_is(tree < 0 ? "open_tree" : "move_mount");
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "/%s: mask", masked[i]);
                }
        }
        (void) c;
        return 0;
}

static int mount_setup_child(const jailer_config *c, const struct jl_rootfs *r, jailer_error *err);

int jl_mount_setup_child(const jailer_config *c, const struct jl_rootfs *r, jailer_error *err)
{
        return mount_api_error(mount_setup_child(c, r, err), err);
}

/* The jail root's path again, in the child's own mount namespace, for the
 * identity check that follows: one openat2() that follows no symlink at
 * all, or, when that fails (a root-owned symlink on the way, no openat2),
 * the parent's trusted walk.  What is opened must be the directory the
 * parent opened (same device and inode) either way: the walk's checks
 * were made on it by the parent. */
static int reopen_root(const char *path)
{
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

        return fd >= 0 ? fd : jl_open_trusted(path, O_PATH | O_DIRECTORY, NULL, 0);
}

static int mount_setup_child(const jailer_config *c, const struct jl_rootfs *r, jailer_error *err)
{
        if (!c->ns[JAILER_NS_MOUNT])
                return 0;

        /* Nothing we mount may propagate back to the host's namespace. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "make / private");

        /* The jail root: the nosuid,nodev clone the parent made. */
        int root = r->root_tree;
        /* pivot_root needs the new root to be a mount in our namespace: put
         * it on top of the jail root directory (re-opened here, in our own
         * namespace, and checked to be the very directory the parent opened). */
        _cleanup_close_ int here = reopen_root(r->root_path);
        struct stat a, b;
        if (here < 0 || fstat(here, &a) < 0 || fstat(r->root_fd, &b) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: %s", r->root_path);
        if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                return jl_error(err, JAILER_STEP_ROOTFS, 0, "jail_root", "jail_root: %s was replaced during set-up",
                                r->root_path);
        if (move_mount(root, "", here, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                (void) enosys_is("move_mount");
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: mount %s", r->root_path);
        }
        if (remount_attrs(root, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, "jail_root", "jail_root: nosuid,nodev on %s",
                                r->root_path);

        for (size_t i = 0; i < c->n_binds; i++) {
                char field[48];
                snprintf(field, sizeof(field), "bind_mounts[%zu].dest", i);
                _cleanup_free_ char *rel = relpath_of(c->binds[i].dest);
                if (!rel)
                        return jl_error(err, JAILER_STEP_ROOTFS, ENOMEM, field, "%s", field);
                if (attach_at(r->bind_src_fds[i], root, rel, field, err) < 0)
                        return -1;
                if (remount_attrs(r->bind_src_fds[i], bind_attrs(&c->binds[i]), true) < 0)
                        return jl_error(err, JAILER_STEP_ROOTFS, errno, field, "%s: mount attributes on /%s", field,
                                        rel);
        }

        if (setup_proc(c, root, err) < 0 || setup_dev(c, r, root, err) < 0)
                return -1;

        /* pivot_root(".", "."): the old root ends up stacked under the new
         * one and is detached at once; nothing of the host stays reachable.
         * (MS_MOVE + chroot would leave the old root in the namespace.) */
        if (fchdir(root) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "chdir into the jail root");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "pivot_root");
        if (umount2(".", MNT_DETACH) < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "detach the old root");
        if (chdir("/") < 0)
                return jl_error(err, JAILER_STEP_ROOTFS, errno, NULL, "chdir /");

        /* Check where we landed: "/" must be the jail root. */
        struct stat now;
        if (stat("/", &now) < 0 || now.st_dev != b.st_dev || now.st_ino != b.st_ino)
                return jl_error(err, JAILER_STEP_ROOTFS, 0, NULL, "after pivot_root, / is not the jail root");
        return 0;
}

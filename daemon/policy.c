/* SPDX-License-Identifier: MIT */
/*
 * Who may do what, and what a client may ask for (policy.h; the file's
 * keys are read by policy-load.c and documented in docs/policy.md).
 *
 * A client must not gain through a jail what it does not have on the host,
 * even though the jail runs unprivileged: so, whatever the policy file
 * says, a client's jail sees only host files the client could read itself
 * (write only where it could write), never runs a program the client could
 * change, lives in a jail root of the client's own (or one the daemon
 * makes), and never picks its cgroup.  The policy file narrows that
 * further: which programs, bind sources, devices, jail roots, uids,
 * limits and how many jails.
 *
 * Every path is resolved here as libjailer will resolve it when it opens
 * it (jailer_open_trusted(): a symlink is followed only when root owns it) and
 * judged by the real path of the fd that gives, never by the string the
 * client sent.
 */
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/fsuid.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "daemon.h"
#include "fsutil.h"
#include "policy.h"

#define NOBODY 65534

/* ------------------------------------------------------------------ peers */

int jd_peer_read(int fd, jd_daemon *d, jd_peer *p)
{
        struct ucred cred;
        socklen_t len = sizeof cred;
        gid_t *groups = NULL;
        socklen_t glen = 64 * sizeof(gid_t);

        *p = (jd_peer) { 0 };
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        p->uid = cred.uid;
        p->gid = cred.gid;
        p->pid = cred.pid;

        /* The supplementary groups the peer had when it connected (4.13+). */
        for (;;) {
                gid_t *ng = realloc(groups, glen);

                if (!ng) {
                        free(groups);
                        return -ENOMEM;
                }
                groups = ng;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
                        break;
                if (errno != ERANGE) {
                        glen = 0;
                        break;
                }
        }
        p->groups = groups;
        p->n_groups = glen / sizeof(gid_t);

        p->root = p->uid == 0;
        if (d->have_group) {
                if (p->gid == d->group)
                        p->member = true;
                for (size_t i = 0; i < p->n_groups; i++)
                        if (p->groups[i] == d->group)
                                p->member = true;
        }
        return 0;
}

void jd_peer_done(jd_peer *p)
{
        free(p->groups);
        p->groups = NULL;
        p->n_groups = 0;
}

static bool peer_has_gid(const jd_peer *p, gid_t g)
{
        if (p->gid == g)
                return true;
        for (size_t i = 0; i < p->n_groups; i++)
                if (p->groups[i] == g)
                        return true;
        return false;
}

/* ------------------------------------------------------------------ rights */

static bool rule_matches(const jd_client_rule *r, const jd_peer *p)
{
        if (r->match_uid && r->uid != p->uid)
                return false;
        if (r->match_gid && !peer_has_gid(p, r->gid))
                return false;
        if (r->socket_group && !p->member)
                return false;
        return true;
}

unsigned jd_policy_rights(const jd_daemon *d, const jd_peer *p)
{
        unsigned rights = 0;

        if (p->root)
                return JD_RIGHTS_ALL;
        for (size_t i = 0; d->policy && i < d->policy->n_clients; i++)
                if (rule_matches(&d->policy->clients[i], p))
                        rights |= d->policy->clients[i].rights;
        return rights;
}

bool jd_policy_may_see(const jd_daemon *d, const jd_peer *p, uid_t owner)
{
        unsigned r = jd_policy_rights(d, p);

        return (r & JD_RIGHT_SEE_ALL) || ((r & JD_RIGHT_SEE_OWN) && owner == p->uid);
}

bool jd_policy_may_kill(const jd_daemon *d, const jd_peer *p, uid_t owner)
{
        unsigned r = jd_policy_rights(d, p);

        return (r & JD_RIGHT_KILL_ALL) || ((r & JD_RIGHT_KILL_OWN) && owner == p->uid);
}

unsigned jd_policy_max_jails(const jd_daemon *d)
{
        unsigned opt = d->opt.max_jails, pol = d->policy ? d->policy->totals.jails : 0;

        if (opt && pol)
                return opt < pol ? opt : pol;
        return opt ?: pol;
}

/* ------------------------------------------------------------------ files and the peer */

int jd_fd_real_path(int fd, char **out)
{
        char link[64], buf[PATH_MAX];
        struct stat st;
        ssize_t n;

        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof buf - 1)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        /* A file unlinked since it was opened reads "... (deleted)". */
        if (buf[0] != '/' || (fstat(fd, &st) == 0 && st.st_nlink == 0 && !S_ISDIR(st.st_mode)))
                return -ENOENT;
        *out = strdup(buf);
        return *out ? 0 : -ENOMEM;
}

/* Is path (a real path) entry, or below it? */
static bool path_is_or_under(const char *path, const char *entry)
{
        size_t n = strlen(entry);

        if (strcmp(entry, "/") == 0)
                return true;
        return strncmp(path, entry, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool list_allows(const jd_path_list *l, const char *real)
{
        for (size_t i = 0; i < l->n; i++)
                if (path_is_or_under(real, l->paths[i]))
                        return true;
        return false;
}

static bool list_has(const jd_path_list *l, const char *real)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(real, l->paths[i]) == 0)
                        return true;
        return false;
}

/* POSIX.1e access ACLs as Linux stores them (system.posix_acl_access):
 * a version word, then little-endian {tag, perm, id} entries. */
#define ACL_XATTR_VERSION 2
enum {
        ACL_TAG_USER_OBJ = 0x01,
        ACL_TAG_USER = 0x02,
        ACL_TAG_GROUP_OBJ = 0x04,
        ACL_TAG_GROUP = 0x08,
        ACL_TAG_MASK = 0x10,
        ACL_TAG_OTHER = 0x20,
};

struct acl_xattr_entry {
        uint16_t tag;
        uint16_t perm;
        uint32_t id;
} __attribute__((packed));

/* The file's access ACL (malloc'd), or NULL when it has none. */
static void *read_acl(const char *xattr_path, size_t *size)
{
        _cleanup_free_ void *buf = NULL;

        for (int tries = 0; xattr_path && tries < 3; tries++) {
                ssize_t n = getxattr(xattr_path, "system.posix_acl_access", NULL, 0);
                void *nb;

                if (n <= 0)
                        return NULL;
                nb = realloc(buf, (size_t) n);
                if (!nb)
                        return NULL;
                buf = nb;
                n = getxattr(xattr_path, "system.posix_acl_access", buf, (size_t) n);
                if (n >= 0) {
                        *size = (size_t) n;
                        return TAKE_PTR(buf);
                }
                if (errno != ERANGE)    /* ERANGE: it grew meanwhile */
                        return NULL;
        }
        return NULL;
}

/* May the peer do all of want (4 read, 2 write, 1 execute/search) to the
 * file whose stat is st, by its mode bits and its access ACL?  xattr_path
 * names the file for getxattr (a /proc/self/fd/N link does). */
static bool peer_may(const jd_peer *p, const char *xattr_path, const struct stat *st, unsigned want)
{
        _cleanup_free_ unsigned char *buf = NULL;
        const struct acl_xattr_entry *e;
        unsigned mask = 7, perm;
        bool group_matched = false;
        size_t n = 0, count;

        if (p->root)
                return true;
        buf = read_acl(xattr_path, &n);
        if (!buf || n < 4 || le32toh(*(const uint32_t *) (const void *) buf) != ACL_XATTR_VERSION ||
            (n - 4) % sizeof *e != 0) {
                /* No ACL: the mode bits. */
                if (st->st_uid == p->uid)
                        perm = (st->st_mode >> 6) & 7;
                else if (peer_has_gid(p, st->st_gid))
                        perm = (st->st_mode >> 3) & 7;
                else
                        perm = st->st_mode & 7;
                return (perm & want) == want;
        }

        e = (const struct acl_xattr_entry *) (const void *) (buf + 4);
        count = (n - 4) / sizeof *e;
        for (size_t i = 0; i < count; i++)
                if (le16toh(e[i].tag) == ACL_TAG_MASK)
                        mask = le16toh(e[i].perm) & 7;
        if (st->st_uid == p->uid)
                return (((st->st_mode >> 6) & 7) & want) == want;
        for (size_t i = 0; i < count; i++)
                if (le16toh(e[i].tag) == ACL_TAG_USER && le32toh(e[i].id) == p->uid)
                        return ((le16toh(e[i].perm) & mask) & want) == want;
        for (size_t i = 0; i < count; i++) {
                unsigned tag = le16toh(e[i].tag);
                gid_t g = tag == ACL_TAG_GROUP_OBJ ? st->st_gid : (gid_t) le32toh(e[i].id);

                if ((tag != ACL_TAG_GROUP_OBJ && tag != ACL_TAG_GROUP) || !peer_has_gid(p, g))
                        continue;
                group_matched = true;
                if (((le16toh(e[i].perm) & mask) & want) == want)
                        return true;
        }
        if (group_matched)
                return false;
        for (size_t i = 0; i < count; i++)
                if (le16toh(e[i].tag) == ACL_TAG_OTHER)
                        return ((le16toh(e[i].perm) & 7) & want) == want;
        return false;
}

/* Could the peer change the file (or directory) st: write it, or chmod it
 * to writable because it owns it? */
static bool peer_may_change(const jd_peer *p, const char *xattr_path, const struct stat *st)
{
        return !p->root && (st->st_uid == p->uid || peer_may(p, xattr_path, st, 2));
}

/* Could the peer replace the entry child of the directory dir (stat st):
 * it owns dir (and may chmod it), or may write and search it, unless the
 * sticky bit protects an entry it does not own. */
static bool peer_may_replace_in(const jd_peer *p, const char *dir, const struct stat *st, const char *child)
{
        struct stat cst;

        if (p->root)
                return false;
        if (st->st_uid == p->uid)
                return true;
        if (!peer_may(p, dir, st, 3))
                return false;
        if ((st->st_mode & S_ISVTX) && lstat(child, &cst) == 0 && cst.st_uid != p->uid)
                return false;
        return true;
}

/* Walk the directories above real (a real path: absolute, no symlinks, no
 * "." or ".."): each must be searchable by the peer, else *denied names
 * the first that is not.  With replaceable, *writable names the first in
 * which the peer could replace what comes next on the path. */
static int check_ancestors(const jd_peer *p, const char *real, bool replaceable, char **denied, char **writable)
{
        size_t len = strlen(real);

        for (size_t i = 0; i < len; i++) {
                _cleanup_free_ char *dir = NULL, *child = NULL;
                struct stat st;
                size_t end;

                if (real[i] != '/')
                        continue;
                for (end = i + 1; end < len && real[end] != '/'; end++)
                        ;
                if (end == i + 1)
                        break;  /* "/" alone, or a trailing slash */
                dir = i == 0 ? strdup("/") : strndup(real, i);
                child = strndup(real, end);
                if (!dir || !child)
                        return -ENOMEM;
                if (lstat(dir, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode) || !peer_may(p, dir, &st, 1)) {
                        *denied = TAKE_PTR(dir);
                        return 0;
                }
                if (replaceable && !*writable && peer_may_replace_in(p, dir, &st, child))
                        *writable = TAKE_PTR(dir);
        }
        return 0;
}

/* ------------------------------------------------------------------ refusals */

typedef struct check {
        jd_daemon *d;
        const jd_policy *pol;
        const jd_peer *peer;
        jl_rpc_error *err;
        const char **rule;
} check;

static int deny(check *k, int code, const char *rule, const char *field, const char *fmt, ...) _printf_(5, 6);
static int deny(check *k, int code, const char *rule, const char *field, const char *fmt, ...)
{
        char msg[sizeof k->err->message];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        *k->rule = rule;
        return jl_rpc_error_set(k->err, code, NULL, field, "%s (policy rule %s)", msg, rule);
}

#define refuse(k, rule, field, ...) deny((k), JL_RPC_PERMISSION_DENIED, (rule), (field), __VA_ARGS__)

/* " (really /usr/bin/x)" when the real path differs from what was asked. */
static const char *really(const char *asked, const char *real, char *buf, size_t size)
{
        if (strcmp(asked, real) == 0)
                return "";
        snprintf(buf, size, " (really %s)", real);
        return buf;
}

/* Take on the peer's file-system identity (fsuid, fsgid, groups) while a
 * path it names is opened: the kernel then checks the search permission of
 * every directory walked and the open of the object itself, with ACLs and
 * all, on the very objects that are then used by fd.  Dropping fsuid 0
 * drops CAP_DAC_OVERRIDE and friends with it (setfsuid(2)); jailerd has no
 * threads, so the groups we set are nobody else's meanwhile. */
typedef struct peer_fs {
        bool entered;
        gid_t groups[NGROUPS_MAX];
        int n_groups;
} peer_fs;

static int peer_fs_enter(peer_fs *f, const jd_peer *p)
{
        f->entered = false;
        if (p->root)
                return 0;
        f->n_groups = getgroups(NGROUPS_MAX, f->groups);
        if (f->n_groups < 0 || setgroups(p->n_groups, p->groups) < 0)
                return -errno;
        f->entered = true;
        (void) setfsgid(p->gid);
        (void) setfsuid(p->uid);
        if ((uid_t) setfsuid((uid_t) -1) != p->uid || (gid_t) setfsgid((gid_t) -1) != p->gid)
                return -EPERM;
        return 0;
}

static void peer_fs_leave(peer_fs *f)
{
        if (!f->entered)
                return;
        (void) setfsuid(0);
        (void) setfsgid(0);
        if (setgroups((size_t) f->n_groups, f->groups) < 0 || setfsuid((uid_t) -1) != 0)
                abort();        /* never go on with a client's identity */
        f->entered = false;
}

/* Open a path the client names, once, as libjailer would (jailer_open_host():
 * root's symlinks only, the type checked before anything is opened for
 * real, non-blocking), and as the client unless as_root: the fd (to be
 * used from now on), or -1 with a refusal. */
static int open_requested(check *k, const char *rule, const char *field, const char *path, unsigned types, int flags,
                          bool as_root)
{
        char why[256] = "";
        peer_fs f;
        int fd, r, saved;

        r = as_root ? 0 : peer_fs_enter(&f, k->peer);
        if (r < 0) {
                peer_fs_leave(&f);
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, field, "%s: cannot act as uid %u: %s",
                                        field, (unsigned) k->peer->uid, strerror(-r));
        }
        fd = jailer_open_host(path, types, flags, why, sizeof why);
        saved = errno;
        if (!as_root)
                peer_fs_leave(&f);
        if (fd >= 0)
                return fd;
        if (saved == EACCES && !why[0])
                return refuse(k, "host_access", field, "%s: %s: uid %u may not reach or open it", field, path,
                              (unsigned) k->peer->uid);
        return refuse(k, rule, field, "%s: %s: %s", field, path, why[0] ? why : strerror(saved));
}

/* ------------------------------------------------------------------ the request's parts */

static int check_rights(check *k)
{
        if (!(jd_policy_rights(k->d, k->peer) & JD_RIGHT_CREATE))
                return refuse(k, "clients", NULL, "uid %u may not create jails: no rule of the policy gives it "
                                                  "the right \"create\"",
                              (unsigned) k->peer->uid);
        return 0;
}

static int check_totals(check *k)
{
        jd_daemon *d = k->d;
        unsigned max = jd_policy_max_jails(d), mine = 0;

        if (max && d->n_starting + d->n_running >= max)
                return deny(k, JL_RPC_LIMIT_REACHED, max == k->pol->totals.jails ? "totals.jails" : "--max-jails",
                            NULL, "%u jails are running, the limit; try again later", max);
        if (k->peer->root || !k->pol->totals.jails_per_client)
                return 0;
        for (jd_jail *j = d->jails; j; j = j->next)
                if (j->state != JD_JAIL_EXITED && j->owner_uid == k->peer->uid)
                        mine++;
        if (mine >= k->pol->totals.jails_per_client)
                return deny(k, JL_RPC_LIMIT_REACHED, "totals.jails_per_client", NULL,
                            "uid %u has %u jails running, the limit per client; try again later",
                            (unsigned) k->peer->uid, mine);
        return 0;
}

/* The host uid and gid a client's jail runs as.  By default jailerd
 * allocates both (allocate() below): two jails never share a uid, so one
 * jail, or its client, cannot signal, trace or open what another jail
 * owns.  A client may still run its jail as itself (its own uid, one of
 * its groups; allow_own_uid): that gives the jail nothing the client does
 * not have, and nobody else anything, and lets the client reach its jail's
 * run/.  With allocate_uid false the client names them:
 * within uid_range/gid_range, or, without them, itself or nobody. */
static int check_ids(check *k, const jailer_config *c)
{
        const jd_policy *pol = k->pol;
        const jd_peer *p = k->peer;
        uid_t uid = jailer_config_get_uid(c);
        gid_t gid = jailer_config_get_gid(c);

        if (pol->allocate_uid && pol->allow_own_uid && uid == p->uid) {
                if (!peer_has_gid(p, gid) && gid != NOBODY)
                        return refuse(k, "allocate_uid", "gid",
                                      "gid: %u: a jail that runs as you has one of your groups (or nogroup, %u)",
                                      (unsigned) gid, NOBODY);
                return 0;
        }
        if (pol->allocate_uid) {
                /* The default (nobody) means "allocate one". */
                if (uid != NOBODY)
                        return refuse(k, "allocate_uid", "uid",
                                      "uid: %u: jailerd gives each jail a uid of its own from %u-%u; leave uid out%s",
                                      (unsigned) uid, (unsigned) pol->uid_min, (unsigned) pol->uid_max,
                                      pol->allow_own_uid ? " (or give your own)" : "");
                if (gid != NOBODY)
                        return refuse(k, "allocate_uid", "gid",
                                      "gid: %u: jailerd allocates each jail's gid with its uid; leave gid out",
                                      (unsigned) gid);
                return 0;
        }
        if (pol->has_uid_range) {
                if (uid < pol->uid_min || uid > pol->uid_max)
                        return refuse(k, "uid_range", "uid", "uid: %u is outside the uid range %u-%u",
                                      (unsigned) uid, (unsigned) pol->uid_min, (unsigned) pol->uid_max);
        } else if (uid != p->uid && uid != NOBODY)
                return refuse(k, "uid_range", "uid", "uid: %u is neither your own uid (%u) nor nobody (%u)",
                              (unsigned) uid, (unsigned) p->uid, NOBODY);
        if (pol->has_gid_range) {
                if (gid < pol->gid_min || gid > pol->gid_max)
                        return refuse(k, "gid_range", "gid", "gid: %u is outside the gid range %u-%u",
                                      (unsigned) gid, (unsigned) pol->gid_min, (unsigned) pol->gid_max);
        } else if (!peer_has_gid(p, gid) && gid != NOBODY)
                return refuse(k, "gid_range", "gid", "gid: %u is neither one of your groups nor nogroup (%u)",
                              (unsigned) gid, NOBODY);
        return 0;
}

static int check_exec(check *k, jailer_config *c)
{
        const char *path = jailer_config_get_exec_path(c);
        const char *list_rule = k->pol->exec_paths.set ? "exec_paths" : "host_access";
        _cleanup_free_ char *real = NULL, *denied = NULL, *writable = NULL;
        _cleanup_close_ int fd = -1;
        char link[64], buf[PATH_MAX + 16];
        struct stat st;
        int r;

        fd = open_requested(k, list_rule, "exec_path", path, JAILER_FILE_REG, O_PATH, false);
        if (fd < 0)
                return -1;
        r = jd_fd_real_path(fd, &real);
        if (r < 0 || fstat(fd, &st) < 0)
                return refuse(k, list_rule, "exec_path", "exec_path: %s: %s", path, strerror(r < 0 ? -r : errno));
        if (k->pol->exec_paths.set && !list_allows(&k->pol->exec_paths, real))
                return refuse(k, "exec_paths", "exec_path", "exec_path: %s%s is not one of the programs the policy "
                                                            "allows (exec_paths)",
                              path, really(path, real, buf, sizeof buf));
        if (!S_ISREG(st.st_mode))
                return refuse(k, "host_access", "exec_path", "exec_path: %s is not a regular file", path);

        r = check_ancestors(k->peer, real, true, &denied, &writable);
        if (r < 0)
                return refuse(k, "host_access", "exec_path", "exec_path: %s: %s", path, strerror(-r));
        if (denied)
                return refuse(k, "host_access", "exec_path", "exec_path: %s: you may not search %s", path, denied);
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        if (!peer_may(k->peer, link, &st, 1))
                return refuse(k, "host_access", "exec_path", "exec_path: %s: you may not execute it", path);

        /* The program a client's jail runs must not be the client's to
         * change: not the file, nor a directory it could swap it in. */
        if (peer_may_change(k->peer, link, &st))
                return refuse(k, "exec_writable", "exec_path",
                              "exec_path: %s%s is writable by you (uid %u; owner %u, mode %04o): a client's "
                              "jail may only run a program the client cannot change",
                              path, really(path, real, buf, sizeof buf), (unsigned) k->peer->uid,
                              (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
        if (writable)
                return refuse(k, "exec_writable", "exec_path",
                              "exec_path: %s: you may write to the directory %s, and so replace the program "
                              "after this check",
                              path, writable);
        /* What was checked is what runs: libjailer executes this fd. */
        if (jailer_config_set_exec_fd(c, fd) < 0)
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "exec_path: %s", strerror(errno));
        return 0;
}

/* Is one of the two real paths the other or inside it? */
static bool paths_overlap(const char *a, const char *b)
{
        return path_is_or_under(a, b) || path_is_or_under(b, a);
}

/* The real path of a path as libjailer would resolve it (only root's
 * symlinks followed), malloc'd; the path as it is when that fails: a link
 * a client put in place of its own jail root then matches nothing but
 * that path. */
static char *trusted_real_path(const char *path)
{
        _cleanup_close_ int fd = -1;
        char why[256], *real = NULL;

        fd = jailer_open_trusted(path, O_PATH, why, sizeof why);
        if (fd < 0 || jd_fd_real_path(fd, &real) < 0)
                return strdup(path);
        return real;
}

/* Does the real path `real` overlap jailerd's own directories or the jail
 * root of a jail the peer does not own?  *what says which. */
static int touches_other_jails(check *k, const char *real, const char **what)
{
        const jd_daemon *d = k->d;
        /* The jails' state lies in the state directory: it is covered. */
        const char *const dirs[] = { d->opt.jails_dir, d->opt.state_dir };
        const char *const names[] = { "jailerd's jails directory", "jailerd's state directory" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *r = NULL;

                if (!dirs[i])
                        continue;
                r = trusted_real_path(dirs[i]);
                if (!r)
                        return -ENOMEM;
                if (paths_overlap(real, r)) {
                        *what = names[i];
                        return 1;
                }
        }
        /* Roots jailerd made are in its jails directory; the others are
         * where their clients chose. */
        for (const jd_jail *j = d->jails; j; j = j->next) {
                _cleanup_free_ char *r = NULL;

                if (j->owner_uid == k->peer->uid || j->jail_dir || !j->jail_root)
                        continue;
                r = trusted_real_path(j->jail_root);
                if (!r)
                        return -ENOMEM;
                if (paths_overlap(real, r)) {
                        *what = "another client's jail root";
                        return 1;
                }
        }
        return 0;
}

/* A jail root of the client's own must not hold, or lie in, jailerd's
 * directories or another client's jail root either: the jail would see
 * it.  (check_jail_root() has made sure it is the client's.) */
static int check_root_apart(check *k, const char *jail_root)
{
        _cleanup_free_ char *real = trusted_real_path(jail_root);
        const char *what = NULL;
        int r;

        if (!real)
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
        r = touches_other_jails(k, real, &what);
        if (r < 0)
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
        if (r > 0)
                return refuse(k, "other_jails", "jail_root", "jail_root: %s is, contains or lies inside %s",
                              jail_root, what);
        return 0;
}

static int check_binds(check *k, jailer_config *c)
{
        const char *list_rule = k->pol->bind_sources.set ? "bind_sources" : "host_access";

        for (size_t i = 0; i < jailer_config_n_bind_mounts(c); i++) {
                bool read_only;
                const char *source = jailer_config_get_bind_mount(c, i, NULL, &read_only);
                _cleanup_free_ char *real = NULL, *denied = NULL, *unused = NULL;
                _cleanup_close_ int fd = -1;
                char field[96], link[64], buf[PATH_MAX + 16];
                const char *what = NULL;
                struct stat st;
                int r;

                snprintf(field, sizeof field, "bind_mounts[%zu].source", i);
                fd = open_requested(k, list_rule, field, source, JAILER_FILE_REG | JAILER_FILE_DIR | JAILER_FILE_SOCK,
                                    O_PATH, false);
                if (fd < 0)
                        return -1;
                r = jd_fd_real_path(fd, &real);
                if (r < 0 || fstat(fd, &st) < 0)
                        return refuse(k, list_rule, field, "%s: %s: %s", field, source,
                                      strerror(r < 0 ? -r : errno));
                if (k->pol->bind_sources.set && !list_allows(&k->pol->bind_sources, real))
                        return refuse(k, "bind_sources", field, "%s: %s%s is not under any of the policy's "
                                                                "bind_sources",
                                      field, source, really(source, real, buf, sizeof buf));
                if (!read_only && !k->pol->read_write_binds) {
                        snprintf(field, sizeof field, "bind_mounts[%zu].read_only", i);
                        return refuse(k, "read_write_binds", field,
                                      "%s: false: the policy allows read-only binds only", field);
                }
                r = check_ancestors(k->peer, real, false, &denied, &unused);
                if (r < 0)
                        return refuse(k, "host_access", field, "%s: %s: %s", field, source, strerror(-r));
                if (denied)
                        return refuse(k, "host_access", field, "%s: %s: you may not search %s", field, source,
                                      denied);
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                if (!peer_may(k->peer, link, &st, read_only ? 4 : 6))
                        return refuse(k, "host_access", field, "%s: %s: you may not %s it", field, source,
                                      read_only ? "read" : "write");
                /* Whatever the list: no window onto other clients' jails
                 * (their run/ holds their VMMs' sockets) or the daemon's
                 * state, and so never "/".  Checked after the client's own
                 * access, so that it learns nothing of paths it cannot see. */
                r = touches_other_jails(k, real, &what);
                if (r < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                if (r > 0)
                        return refuse(k, "other_jails", field, "%s: %s%s is, contains or lies inside %s", field,
                                      source, really(source, real, buf, sizeof buf), what);
                if (jailer_config_set_bind_source_fd(c, i, fd) < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "%s: %s", field, strerror(errno));
        }
        return 0;
}

static int check_devices(check *k, jailer_config *c)
{
        const char *list_rule = k->pol->devices.set ? "devices" : "host_access";

        for (size_t i = 0; i < jailer_config_n_devices(c); i++) {
                const char *device = jailer_config_get_device(c, i);
                _cleanup_free_ char *real = NULL;
                _cleanup_close_ int fd = -1;
                char field[32], link[64];
                struct stat st;
                int r;

                snprintf(field, sizeof field, "devices[%zu]", i);
                /* A device the operator lists is opened by us: the client
                 * need not be able to reach it (the list is the grant). */
                fd = open_requested(k, list_rule, field, device, JAILER_FILE_CHR | JAILER_FILE_BLK, O_PATH,
                                    k->pol->devices.set);
                if (fd < 0)
                        return -1;
                r = jd_fd_real_path(fd, &real);
                if (r < 0 || fstat(fd, &st) < 0)
                        return refuse(k, list_rule, field, "%s: %s: %s", field, device,
                                      strerror(r < 0 ? -r : errno));
                /* The operator's list is the grant: the client need not be
                 * able to open the node itself. */
                if (k->pol->devices.set) {
                        if (!list_has(&k->pol->devices, real))
                                return refuse(k, "devices", field, "%s: %s is not one of the devices the policy "
                                                                   "allows",
                                              field, device);
                } else {
                        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                        if (!peer_may(k->peer, link, &st, 6))
                                return refuse(k, "host_access", field, "%s: %s: you may not open it read-write",
                                              field, device);
                }
                if (jailer_config_set_device_fd(c, i, fd) < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "%s: %s", field, strerror(errno));
        }
        return 0;
}

/* Is the namespace behind st one the operator lists?  Compared by the
 * namespace itself (nsfs device and inode), never by a path: an entry that
 * is a directory (/run/netns) allows every namespace file in it. */
static bool same_inode(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Is st one of the entries of the directory dfd (which is closed)? */
static bool dir_holds(int dfd, const struct stat *st)
{
        DIR *dir = fdopendir(dfd);
        struct dirent *e;
        struct stat est;
        bool found = false;

        if (!dir) {
                close(dfd);
                return false;
        }
        while (!found && (e = readdir(dir)))
                found = fstatat(dirfd(dir), e->d_name, &est, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&est, st);
        closedir(dir);
        return found;
}

static bool netns_listed(const jd_path_list *l, const struct stat *st)
{
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_close_ int fd = jailer_open_trusted(l->paths[i], O_RDONLY | O_NONBLOCK, NULL, 0);
                struct stat est;

                if (fd < 0 || fstat(fd, &est) < 0)
                        continue;
                if (same_inode(&est, st))
                        return true;
                if (S_ISDIR(est.st_mode) && dir_holds(TAKE_FD(fd), st))
                        return true;
        }
        return false;
}

/* A network namespace to join: only one the policy lists (netns_paths;
 * none without it), opened once as the client and then used by fd. */
static int check_netns(check *k, jailer_config *c)
{
        const char *path = jailer_config_get_netns(c);
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (!path)
                return 0;
        if (!k->pol->netns_paths.set)
                return refuse(k, "netns_paths", "netns",
                              "netns: %s: the policy lets no client join a network namespace", path);
        fd = open_requested(k, "netns_paths", "netns", path, JAILER_FILE_REG, O_RDONLY, false);
        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0 || !netns_listed(&k->pol->netns_paths, &st))
                return refuse(k, "netns_paths", "netns",
                              "netns: %s is not one of the network namespaces the policy allows", path);
        if (jailer_config_set_netns_fd(c, fd) < 0)
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "netns: %s", strerror(errno));
        return 0;
}

/* The jail root is where libjailer makes mount points, as root: only in a
 * directory of the client's own, and under jail_root_base when there is
 * one.  Resolved as libjailer does: the parent through jailer_open_trusted(),
 * the last component without following a link. */
/* limits.io may name a device by a path (a device node, or a file whose
 * disk is meant): opened here as the client, like every path it names, and
 * replaced by the major:minor it stands for, so that libjailer never opens
 * a client's path as root.  Which disk a client throttles for its own jail
 * takes nothing from anyone. */
static int check_io(check *k, jailer_config *c)
{
        for (size_t i = 0; i < jailer_config_n_io_limits(c); i++) {
                const char *device = jailer_config_get_io_limit(c, i, NULL, NULL, NULL, NULL);
                char field[48], num[32];
                struct stat st;

                if (!device || device[0] != '/')
                        continue;
                snprintf(field, sizeof field, "limits.io[%zu].device", i);
                _cleanup_close_ int fd = open_requested(k, "host_access", field, device,
                                                        JAILER_FILE_REG | JAILER_FILE_DIR | JAILER_FILE_BLK, O_PATH,
                                                        false);
                if (fd < 0)
                        return -1;
                if (fstat(fd, &st) < 0)
                        return refuse(k, "host_access", field, "%s: %s: %s", field, device, strerror(errno));
                dev_t d = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
                snprintf(num, sizeof num, "%u:%u", major(d), minor(d));
                if (jailer_config_set_io_limit_device(c, i, num) < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "%s: %s", field, strerror(errno));
        }
        return 0;
}

static int check_jail_root(check *k, jailer_config *c)
{
        const char *jail_root = jailer_config_get_jail_root(c);
        const char *base = k->pol->jail_root_base;
        const char *rule = base ? "jail_root_base" : "jail_root_owner";
        _cleanup_free_ char *parent = strdup(jail_root), *preal = NULL, *real = NULL;
        _cleanup_close_ int pfd = -1, lfd = -1;
        struct stat st;
        char *slash, *leaf;
        int r;

        if (!parent)
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
        for (size_t n = strlen(parent); n > 1 && parent[n - 1] == '/'; n--)
                parent[n - 1] = '\0';
        slash = strrchr(parent, '/');
        if (!slash || slash[1] == '\0')
                return refuse(k, rule, "jail_root", "jail_root: %s is not a directory you may use", jail_root);
        leaf = slash + 1;
        *slash = '\0';

        pfd = open_requested(k, rule, "jail_root", parent[0] ? parent : "/", JAILER_FILE_DIR, O_PATH | O_DIRECTORY,
                             false);
        if (pfd < 0)
                return -1;
        r = jd_fd_real_path(pfd, &preal);
        if (r < 0)
                return refuse(k, rule, "jail_root", "jail_root: %s: %s", jail_root, strerror(-r));

        lfd = openat(pfd, leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (lfd >= 0) {
                r = jd_fd_real_path(lfd, &real);
                if (r < 0 || fstat(lfd, &st) < 0)
                        return refuse(k, rule, "jail_root", "jail_root: %s: %s", jail_root,
                                      strerror(r < 0 ? -r : errno));
        } else if (errno == ENOENT) {
                if (asprintf(&real, "%s/%s", strcmp(preal, "/") == 0 ? "" : preal, leaf) < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                if (fstat(pfd, &st) < 0)
                        return refuse(k, rule, "jail_root", "jail_root: %s: %s", jail_root, strerror(errno));
        } else
                return refuse(k, rule, "jail_root", "jail_root: %s is %s", jail_root,
                              errno == ENOTDIR || errno == ELOOP ? "a symlink or not a directory" : strerror(errno));

        if (base && (!path_is_or_under(real, base) || strcmp(real, base) == 0))
                return refuse(k, "jail_root_base", "jail_root", "jail_root: %s%s is not inside %s, the policy's "
                                                                "jail_root_base",
                              jail_root, strcmp(real, jail_root) == 0 ? "" : " (resolved)", base);
        if (st.st_uid != k->peer->uid)
                return refuse(k, "jail_root_owner", "jail_root",
                              lfd >= 0 ? "jail_root: %s is not a directory of yours"
                                       : "jail_root: %s does not exist and its parent is not a directory of yours",
                              jail_root);
        /* The jail is made in these very directories. */
        if (jailer_config_set_jail_root_fd(c, lfd, pfd) < 0)
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "jail_root: %s", strerror(errno));
        return 0;
}

/* What the dynamic loader and libc act on in a program that is not
 * setuid: the loader's own LD_* (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH load
 * the client's code into whatever exec_path names), GLIBC_TUNABLES, and the
 * rest of glibc's list of variables it drops for setuid programs
 * (unsecvars.h; TMPDIR aside, which only names a directory).  Refused
 * unless the policy says loader_env: with them, exec_paths would choose the
 * name of the program, not the code that runs. */
static bool loader_var(const char *key)
{
        static const char *const names[] = {
                "GLIBC_TUNABLES", "GCONV_PATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
                "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR",
        };

        if (strncmp(key, "LD_", 3) == 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(key, names[i]) == 0)
                        return true;
        return false;
}

static int check_env(check *k, const jailer_config *c)
{
        if (k->pol->loader_env)
                return 0;
        for (size_t i = 0; i < jailer_config_n_env(c); i++)
                if (loader_var(jailer_config_get_env(c, i, NULL))) {
                        char field[32];

                        snprintf(field, sizeof field, "env[%zu]", i);
                        return refuse(k, "loader_env", field,
                                      "%s: %s: the policy does not let clients set the dynamic loader's "
                                      "variables (loader_env)",
                                      field, jailer_config_get_env(c, i, NULL));
                }
        return 0;
}

static int check_namespaces(check *k, const jailer_config *c)
{
        for (size_t i = 0; i < JAILER_NS_COUNT; i++)
                /* A joined network namespace is netns_paths' question. */
                if (!jailer_config_get_namespace(c, i) && !k->pol->ns_may_disable[i] &&
                    !(i == JAILER_NS_NETWORK && jailer_config_get_netns(c))) {
                        char field[48];

                        snprintf(field, sizeof field, "namespaces.%s", jailer_namespace_name(i));
                        return refuse(k, "may_disable_namespaces", field,
                                      "%s: false: the policy does not let clients turn off the %s namespace", field,
                                      jailer_namespace_name(i));
                }
        return 0;
}

static int check_seccomp(check *k, jailer_config *c)
{
        const typeof(k->pol->seccomp) *s = &k->pol->seccomp;
        const char *mode = jailer_config_get_seccomp(c);

        if (mode && strcmp(mode, "none") == 0) {
                if (!s->allow_none)
                        return refuse(k, "seccomp.allow_none", "seccomp",
                                      "seccomp: \"none\": the policy does not let clients turn the filter off");
        } else if (mode && strcmp(mode, "default") != 0) {
                /* A profile replaces the baseline filter, and whether one
                 * with argument conditions is as strict as the baseline
                 * cannot be told in general: only the operator's listed
                 * profiles.  Opened for reading once, here, as the client
                 * (so one it may read itself); the supervisor reads this fd
                 * and nothing else. */
                _cleanup_free_ char *real = NULL;
                _cleanup_close_ int fd = -1;
                jailer_error jerr = { 0 };
                int r;

                fd = open_requested(k, "seccomp.profiles", "seccomp", mode, JAILER_FILE_REG, O_RDONLY, false);
                if (fd < 0)
                        return -1;
                r = jd_fd_real_path(fd, &real);
                if (r < 0)
                        return refuse(k, "host_access", "seccomp", "seccomp: %s: %s", mode, strerror(-r));
                if (!list_allows(&s->profiles, real))
                        return refuse(k, "seccomp.profiles", "seccomp",
                                      "seccomp: %s is not one of the profiles the policy allows: a profile replaces "
                                      "the baseline filter",
                                      mode);
                /* The bytes, once: the client may rewrite its file, but
                 * whatever is checked in them from here on is what the
                 * supervisor loads (the config's seccomp fd, a sealed copy). */
                _cleanup_close_ int snap = jailer_seccomp_profile_snapshot(fd, mode, &jerr);
                if (snap < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INVALID_PARAMS, JL_REASON_INVALID_CONFIG, "seccomp",
                                                "%s", jerr.message);
                if (jailer_config_set_seccomp_fd(c, snap) < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "seccomp: %s", strerror(errno));
        }
        for (size_t i = 0; i < jailer_config_n_seccomp_allow(c); i++) {
                const char *name = jailer_config_get_seccomp_allow(c, i);
                bool ok = false;

                for (size_t j = 0; j < s->n_syscalls; j++)
                        ok |= strcmp(s->syscalls[j], name) == 0;
                if (!ok) {
                        char field[48];

                        snprintf(field, sizeof field, "seccomp_allow[%zu]", i);
                        return refuse(k, "seccomp.allow_syscalls", field,
                                      "%s: \"%s\": the policy does not let clients allow it", field, name);
                }
        }
        return 0;
}

/* One limit against its ceiling: above is refused; not given (unset, or
 * for max_fds/max_procs, which always have a value, libjailer's default)
 * becomes the ceiling.  get and set are libjailer's getter and setter of
 * that limit. */
typedef struct limit_ceiling {
        const char *field;      /* "limits.NAME" */
        const char *rule;       /* "ceilings.NAME" (a refusal keeps the pointer: a literal) */
        uint64_t (*get)(const jailer_config *c);
        int (*set)(jailer_config *c, uint64_t value);
        uint64_t ceil;          /* 0: the policy sets none */
        uint64_t unset;         /* what get() gives when the client did not set it */
} limit_ceiling;

static int check_limit(check *k, jailer_config *c, const limit_ceiling *l)
{
        uint64_t value = l->get(c);

        if (!l->ceil || (value != l->unset && value <= l->ceil))
                return 0;
        if (value == l->unset) {
                if (l->set(c, l->ceil) < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "%s: %s", l->field,
                                                strerror(errno));
                return 0;
        }
        return refuse(k, l->rule, l->field, "%s: %llu is above the policy's ceiling of %llu", l->field,
                      (unsigned long long) value, (unsigned long long) l->ceil);
}

/* ceilings.cpus against the quota the client asked for in its period; no
 * quota given becomes the ceiling's. */
static int check_cpu_ceiling(check *k, jailer_config *c)
{
        double cpus = k->pol->ceilings.cpus;
        uint64_t period = jailer_config_get_cpu_period(c), quota = jailer_config_get_cpu_quota(c), max_quota;

        if (cpus <= 0)
                return 0;
        max_quota = (uint64_t) llround(cpus * (double) period);
        if (quota == JAILER_LIMIT_NONE) {
                if (jailer_config_set_cpu_quota(c, max_quota, period) < 0)
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "limits.cpu_quota_us: %s",
                                                strerror(errno));
                return 0;
        }
        if (quota <= max_quota)
                return 0;
        return refuse(k, "ceilings.cpus", "limits.cpu_quota_us",
                      "limits.cpu_quota_us: %llu µs per %llu µs is %.3g CPUs, above the policy's ceiling of %g",
                      (unsigned long long) quota, (unsigned long long) period, (double) quota / (double) period, cpus);
}

/* ceilings.pinned_cpus: how many cpus a client's jail may be pinned to; 0
 * refuses pinning.  Leaving limits.cpus out stays unpinned: pinning is a
 * request, not a limit a ceiling could fill in. */
static int check_pinning(check *k, const jailer_config *c)
{
        uint64_t max = k->pol->ceilings.pinned_cpus;
        const char *cpus = jailer_config_get_cpus(c);
        long n;

        if (!k->pol->ceilings.has_pinned_cpus || !cpus)
                return 0;
        if (max == 0)
                return refuse(k, "ceilings.pinned_cpus", "limits.cpus",
                              "limits.cpus: \"%s\": the policy does not let clients pin jails to cpus", cpus);
        n = jailer_config_count_cpus(c);
        if (n < 0)
                return deny(k, JL_RPC_INVALID_PARAMS, "ceilings.pinned_cpus", "limits.cpus",
                            "limits.cpus: \"%s\" is not a cpu list", cpus);
        if ((uint64_t) n <= max)
                return 0;
        return refuse(k, "ceilings.pinned_cpus", "limits.cpus",
                      "limits.cpus: \"%s\" names %ld cpus, above the policy's ceiling of %llu", cpus, n,
                      (unsigned long long) max);
}

/* ceilings.io_weight: how large a share of the disks a client's jail may
 * claim against its siblings, root's jails and other clients' among them.
 * Left out stays the kernel's default: a weight is a request, not a limit
 * a ceiling could fill in (and on a kernel without weights, filling one in
 * would refuse every jail). */
static int check_io_weight(check *k, const jailer_config *c)
{
        uint64_t max = k->pol->ceilings.io_weight, w = jailer_config_get_io_weight(c);

        if (!max || w == JAILER_LIMIT_NONE || w <= max)
                return 0;
        return refuse(k, "ceilings.io_weight", "limits.io_weight",
                      "limits.io_weight: %llu is above the policy's ceiling of %llu", (unsigned long long) w,
                      (unsigned long long) max);
}

static int check_ceilings(check *k, jailer_config *c)
{
        const typeof(k->pol->ceilings) *cl = &k->pol->ceilings;
        jailer_config *defaults = jailer_config_new(NULL, NULL, NULL);
        uint64_t max_fds_default, max_procs_default;

        if (!defaults)
                return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
        max_fds_default = jailer_config_get_max_fds(defaults);
        max_procs_default = jailer_config_get_max_procs(defaults);
        jailer_config_free(defaults);

#define LIMIT(name, what, ceil, unset) \
        { "limits." name, "ceilings." name, jailer_config_get_##what, jailer_config_set_##what, (ceil), (unset) }
        const limit_ceiling limits[] = {
                LIMIT("memory_bytes", memory_limit, cl->memory_bytes, JAILER_LIMIT_NONE),
                LIMIT("pids", pids_limit, cl->pids, JAILER_LIMIT_NONE),
                LIMIT("max_fds", max_fds, cl->max_fds, max_fds_default),
                LIMIT("max_procs", max_procs, cl->max_procs, max_procs_default),
                LIMIT("max_file_size", max_file_size, cl->max_file_size, JAILER_LIMIT_NONE),
                LIMIT("timeout_ms", timeout_ms, cl->timeout_ms, 0),
        };
#undef LIMIT

        for (size_t i = 0; i < ELEMENTSOF(limits); i++)
                if (check_limit(k, c, &limits[i]) < 0)
                        return -1;
        if (check_pinning(k, c) < 0 || check_io_weight(k, c) < 0)
                return -1;
        return check_cpu_ceiling(k, c);
}

/* ------------------------------------------------------------------ uid allocation */

/* A jail holds its uid from its create until it has ended and what it
 * could have left behind as that uid, its jail root with run/, is gone:
 * the supervisor removes it before it ends, and when that failed the uid
 * stays taken while jailerd keeps the jail's record. */
static bool jail_holds_uid(const jd_jail *j)
{
        struct stat st;

        if (!j->has_ids)
                return false;
        if (j->state != JD_JAIL_EXITED)
                return true;
        return j->jail_dir && lstat(j->jail_dir, &st) == 0;
}

static bool uid_in_use(const jd_daemon *d, uint32_t id)
{
        for (const jd_jail *j = d->jails; j; j = j->next)
                if (jail_holds_uid(j) && (j->uid == id || j->gid == id))
                        return true;
        return false;
}

/* A uid (and gid = uid) that no running jail has, taken round-robin from
 * the range so that a uid is reused as late as possible. */
static int allocate(check *k, jailer_config *c)
{
        const jd_policy *pol = k->pol;
        uint64_t size = (uint64_t) pol->uid_max - pol->uid_min + 1;
        uint32_t cand = k->d->next_uid;

        for (uint64_t i = 0; i < size; i++, cand++) {
                if (cand < pol->uid_min || cand > pol->uid_max)
                        cand = pol->uid_min;
                if (cand == NOBODY || uid_in_use(k->d, cand))
                        continue;
                if (jailer_config_set_uid(c, cand) < 0 ||
                    (jailer_config_get_gid(c) == NOBODY && jailer_config_set_gid(c, cand) < 0))
                        return jl_rpc_error_set(k->err, JL_RPC_INTERNAL, NULL, NULL, "uid: %s", strerror(errno));
                k->d->next_uid = cand + 1;
                return 0;
        }
        return deny(k, JL_RPC_LIMIT_REACHED, "allocate_uid", "uid",
                    "every uid of the range %u-%u is taken by a running jail; try again later",
                    (unsigned) pol->uid_min, (unsigned) pol->uid_max);
}

/* ------------------------------------------------------------------ create */

/* What a client (not root) asks for, part by part, against the policy: the
 * first refusal ends it. */
static int check_client_request(check *k, jailer_config *c, bool root_given)
{
        const char *jail_root = jailer_config_get_jail_root(c);

        if (jailer_config_get_cgroup_parent(c))
                return refuse(k, "cgroup_parent", "cgroup_parent",
                              "cgroup_parent: only root may choose where a jail's cgroup goes");
        if (check_namespaces(k, c) < 0 || check_env(k, c) < 0 || check_seccomp(k, c) < 0 || check_ids(k, c) < 0 ||
            check_exec(k, c) < 0 || check_binds(k, c) < 0 || check_devices(k, c) < 0 || check_netns(k, c) < 0 ||
            check_io(k, c) < 0)
                return -1;
        if (root_given && (check_jail_root(k, c) < 0 || check_root_apart(k, jail_root) < 0))
                return -1;
        return check_ceilings(k, c);
}

/* limits.cpus_exclusive: no two jails of this daemon, root's included,
 * share a cpu while either holds it exclusively.  A jail holds its cpus
 * until it has exited.  Jails that are not pinned are not kept off them
 * (docs/policy.md). */
static int check_exclusive(check *k, const jailer_config *c)
{
        const char *cpus = jailer_config_get_cpus(c);
        bool exclusive = jailer_config_get_cpus_exclusive(c);

        if (!cpus)
                return 0;
        for (const jd_jail *j = k->d->jails; j; j = j->next) {
                if (j->state == JD_JAIL_EXITED || !j->cpus || (!exclusive && !j->cpus_exclusive))
                        continue;
                int cpu = jailer_cpulist_first_common(cpus, j->cpus);
                if (cpu < 0)
                        continue;
                return deny(k, JL_RPC_LIMIT_REACHED, "cpus_exclusive", "limits.cpus",
                            j->cpus_exclusive ? "limits.cpus: cpu %d is held exclusively by jail %s (limits.cpus %s)"
                                              : "limits.cpus: cpu %d is used by jail %s (limits.cpus %s): it "
                                                "cannot be held exclusively",
                            cpu, j->id, j->cpus);
        }
        return 0;
}

int jd_policy_check_create(jd_daemon *d, const jd_peer *p, jailer_config *c, bool root_given, jl_rpc_error *err,
                           const char **rule)
{
        check k = { .d = d, .pol = d->policy, .peer = p, .err = err, .rule = rule };

        *rule = NULL;
        if (check_rights(&k) < 0 || check_totals(&k) < 0)
                return -1;
        if (!p->root && check_client_request(&k, c, root_given) < 0)
                return -1;
        if (check_exclusive(&k, c) < 0)
                return -1;
        /* /dev/kvm (libjailer gives it to every jail on a host that has
         * it) is the policy's decision: the right "kvm", and a devices list
         * that leaves it out takes it away too. */
        if (!p->root && (!(jd_policy_rights(d, p) & JD_RIGHT_KVM) ||
                         (k.pol->devices.set && !list_has(&k.pol->devices, "/dev/kvm"))))
                (void) jailer_config_set_kvm(c, false);
        /* A client's default uid is allocated.  Root's own choice of uid
         * stands, and its default only when the file says allocate_uid. */
        if (k.pol->allocate_uid && jailer_config_get_uid(c) == NOBODY && (!p->root || k.pol->allocate_root) &&
            allocate(&k, c) < 0)
                return -1;
        return 0;
}

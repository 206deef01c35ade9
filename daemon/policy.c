/* SPDX-License-Identifier: MIT */
/*
 * Who may do what.  The socket's group is the whole admission policy (as
 * with Docker's socket): root may do everything, members of the group may
 * run jails and see, wait for and kill their own, anyone else is refused.
 *
 * A member must not gain through a jail what it does not have on the host,
 * even though the jail runs unprivileged: so its jails run as itself or as
 * nobody, see only host files it could read itself (write only where it
 * could write), get only device nodes it could open itself, and live in a
 * jail root of its own or one the daemon makes.
 */
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "daemon.h"
#include "fsutil.h"

#define NOBODY 65534

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

bool jd_peer_allowed(const jd_peer *p)
{
        return p->root || p->member;
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

/* The peer's gids as one array for jd_peer_may_access(). */
static int access_check(const jd_peer *p, const char *path, bool write)
{
        gid_t gids[p->n_groups + 1];

        gids[0] = p->gid;
        memcpy(gids + 1, p->groups, p->n_groups * sizeof(gid_t));
        return jd_peer_may_access(path, p->uid, gids, p->n_groups + 1, write);
}

static int deny(jl_rpc_error *err, const char *field, const char *fmt, ...) _printf_(3, 4);
static int deny(jl_rpc_error *err, const char *field, const char *fmt, ...)
{
        char msg[sizeof err->message];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return jl_rpc_error_set(err, JL_RPC_PERMISSION_DENIED, NULL, field, "%s", msg);
}

int jd_policy_check_config(const jd_daemon *d, const jd_peer *p, const jailer_config *c, bool root_given,
                           jl_rpc_error *err)
{
        char field[96];
        struct stat st;
        int r;

        if (p->root)
                return 0;

        if (c->uid != p->uid && c->uid != NOBODY)
                return deny(err, "uid", "uid: %u is neither your own uid (%u) nor nobody (%u)",
                            (unsigned) c->uid, (unsigned) p->uid, NOBODY);
        if (!peer_has_gid(p, c->gid) && c->gid != NOBODY)
                return deny(err, "gid", "gid: %u is neither one of your groups nor nogroup (%u)",
                            (unsigned) c->gid, NOBODY);
        if (c->cgroup_parent)
                return deny(err, "cgroup_parent", "cgroup_parent: only root may choose where a jail's cgroup goes");

        r = access_check(p, c->exec_path, false);
        if (r < 0)
                return deny(err, "exec_path", "exec_path: %s: %s", c->exec_path,
                            r == -EACCES ? "you may not read it" : strerror(-r));

        for (size_t i = 0; i < c->n_binds; i++) {
                snprintf(field, sizeof field, "bind_mounts[%zu].source", i);
                r = access_check(p, c->binds[i].source, !c->binds[i].read_only);
                if (r < 0)
                        return deny(err, field, "%s: %s: %s", field, c->binds[i].source,
                                    r != -EACCES ? strerror(-r) :
                                    c->binds[i].read_only ? "you may not read it" : "you may not write it");
        }

        for (size_t i = 0; i < c->n_devices; i++) {
                snprintf(field, sizeof field, "devices[%zu]", i);
                r = access_check(p, c->devices[i], true);
                if (r < 0)
                        return deny(err, field, "%s: %s: %s", field, c->devices[i],
                                    r == -EACCES ? "you may not open it read-write" : strerror(-r));
        }

        /* The jail root is where the jail's mount points get made, as root:
         * only in a directory of the peer's own. */
        if (root_given) {
                if (stat(c->jail_root, &st) == 0 && (st.st_uid != p->uid || !S_ISDIR(st.st_mode)))
                        return deny(err, "jail_root", "jail_root: %s is not a directory of yours", c->jail_root);
                if (stat(c->jail_root, &st) < 0) {
                        _cleanup_free_ char *parent = strdup(c->jail_root);
                        char *slash;

                        if (!parent)
                                return jl_rpc_error_set(err, JL_RPC_INTERNAL, NULL, NULL, "out of memory");
                        slash = strrchr(parent, '/');
                        if (slash)
                                *(slash == parent ? slash + 1 : slash) = '\0';
                        if (stat(parent, &st) < 0 || st.st_uid != p->uid)
                                return deny(err, "jail_root",
                                            "jail_root: %s does not exist and %s is not a directory of yours",
                                            c->jail_root, parent);
                }
        }
        return 0;
}

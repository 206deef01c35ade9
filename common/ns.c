/* SPDX-License-Identifier: MIT */
/*
 * Namespaces.  All but the user namespace are created by clone3() in jail.c,
 * while the child is still root of the initial user namespace, so they are
 * owned by it: even a jailed process that regained every capability of its
 * own user namespace could not change the jail's hostname, network or mounts.
 * The user namespace comes last, once the jail is built (see jail.c).
 */
#include "jailer-internal.h"

#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int jl_uts_setup_child(const jailer_config *c, jailer_error *err)
{
        if (!c->ns[JAILER_NS_UTS])
                return 0;
        const char *name = c->hostname ? c->hostname : c->id;
        if (sethostname(name, strlen(name)) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "hostname", "hostname: sethostname %s", name);
        if (setdomainname("", 0) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "hostname", "setdomainname");
        return 0;
}

int jl_net_setup_child(const jailer_config *c, jailer_error *err)
{
        /* A joined namespace is the operator's: left as it is. */
        if (!jl_config_new_netns(c))
                return 0;
        /* A new network namespace has only "lo", down.  Bring it up so that
         * a VMM's local sockets work; there is no route anywhere else. */
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "namespaces.network", "socket for lo");
        struct ifreq ifr = { 0 };
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "namespaces.network", "lo: get flags");
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "namespaces.network", "lo: bring up");
        return 0;
}

static int write_proc(pid_t pid, const char *file, const char *data, jailer_error *err)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return jl_error(err, JAILER_STEP_USERNS, errno, NULL, "open %s", path);
        size_t n = strlen(data);
        ssize_t w = write(fd, data, n);
        if (w < 0 || (size_t) w != n)
                return jl_error(err, JAILER_STEP_USERNS, w < 0 ? errno : EIO, NULL, "write \"%s\" to %s", data, path);
        return 0;
}

int jl_userns_write_maps(pid_t pid, uid_t uid, gid_t gid, jailer_error *err)
{
        char map[64];
        /* setgroups is denied before gid_map is written: the jailed process
         * can never call setgroups(), not even with a capability of its
         * namespace.  Its supplementary groups were cleared before. */
        if (write_proc(pid, "setgroups", "deny", err) < 0)
                return -1;
        /* The jail's ids map to themselves, and nothing else is mapped: not
         * root, not the caller.  Inside and on the host it is the same
         * unprivileged user. */
        snprintf(map, sizeof(map), "%u %u 1\n", (unsigned) uid, (unsigned) uid);
        if (write_proc(pid, "uid_map", map, err) < 0)
                return -1;
        snprintf(map, sizeof(map), "%u %u 1\n", (unsigned) gid, (unsigned) gid);
        return write_proc(pid, "gid_map", map, err);
}

/* SPDX-License-Identifier: MIT */
/*
 * The jail's network: a prepared network namespace to join ("netns"), and
 * taps owned by the jail ("taps").
 *
 * The namespace file is opened once, in the parent, like every host path a
 * config names (jl_open_trusted(): only root's symlinks are followed), and
 * checked to be a network namespace (nsfs, NS_GET_NSTYPE).  The child joins
 * it first of all, while it is still root of the initial user namespace: the
 * namespace stays owned by that one, and once the child has made its own
 * user namespace and dropped every capability it can change nothing in it.
 *
 * Taps are made by the parent, which enters the jail's network namespace
 * (the joined one, or the child's new one through its pidfd) just long
 * enough to open /dev/net/tun and a netlink socket there, then returns to
 * its own.  Each tap is created exclusively (IFF_TUN_EXCL: an existing
 * interface of that name is an error, never taken over), persistent, and
 * owned by the jail's uid/gid, so that the jailed VMM attaches to it with
 * TUNSETIFF and no capability.  The netlink socket stays bound to that
 * namespace: at the end the taps are removed through it by interface
 * index, which nobody in the jail can make name another device.
 */
#include "jailer-internal.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef IFF_TUN_EXCL
#define IFF_TUN_EXCL 0x8000
#endif

/* ------------------------------------------------------------ the namespace */

static const char *ns_type_name(int type)
{
        switch (type) {
        case CLONE_NEWNS:
                return "a mount namespace";
        case CLONE_NEWUSER:
                return "a user namespace";
        case CLONE_NEWPID:
                return "a PID namespace";
        case CLONE_NEWUTS:
                return "a UTS namespace";
        case CLONE_NEWIPC:
                return "an IPC namespace";
        case CLONE_NEWCGROUP:
                return "a cgroup namespace";
        default:
                return "another kind of namespace";
        }
}

int jl_netns_open(const jailer_config *c, jailer_error *err)
{
        char why[256] = "";
        struct statfs sfs;
        struct stat st;

        if (!c->netns)
                return -1;
        _cleanup_close_ int fd = c->netns_fd >= 0 ? fcntl(c->netns_fd, F_DUPFD_CLOEXEC, 3)
                                                  : jl_open_host(c->netns, JL_TYPE_REG, O_RDONLY, why, sizeof(why));
        if (fd < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "netns", "netns: %s%s%s", c->netns, why[0] ? ": " : "",
                                why);
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "netns", "netns: %s", c->netns);
        if (sfs.f_type != NSFS_MAGIC)
                return jl_error(err, JAILER_STEP_SPAWN, EINVAL, "netns",
                                "netns: %s is %s, not a network namespace (such as /run/netns/NAME)", c->netns,
                                jl_file_type_name(st.st_mode));
        int type = ioctl(fd, NS_GET_NSTYPE);
        if (type < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "netns", "netns: %s: NS_GET_NSTYPE", c->netns);
        if (type != CLONE_NEWNET)
                return jl_error(err, JAILER_STEP_SPAWN, EINVAL, "netns", "netns: %s is %s, not a network namespace",
                                c->netns, ns_type_name(type));
        return TAKE_FD(fd);
}

int jl_netns_join_child(int netns_fd, jailer_error *err)
{
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "netns", "netns: setns");
        return 0;
}

/* ------------------------------------------------------------ taps */

/* On fd, a /dev/net/tun file opened in the jail's network namespace, and
 * sock, a socket of it: a new tap, its owner, persistence, MTU and MAC
 * set; its index through *ifindex as soon as it exists. */
static int tap_make(const jailer_config *c, const jailer_tap *t, int fd, int sock, int *ifindex, jailer_error *err,
                    const char *field)
{
        struct ifreq ifr = { 0 };

        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL | (t->vnet_hdr ? IFF_VNET_HDR : 0) |
                        (t->multi_queue ? IFF_MULTI_QUEUE : 0);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                if (errno == EBUSY || errno == EEXIST)
                        return jl_error(err, JAILER_STEP_SPAWN, EEXIST, field,
                                        "%s: \"%s\" already exists in the jail's network namespace", field, t->name);
                return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: create tap \"%s\"", field, t->name);
        }
        if (ioctl(sock, SIOCGIFINDEX, &ifr) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: index of \"%s\"", field, t->name);
        /* From here on it exists: the caller removes it if anything fails. */
        *ifindex = ifr.ifr_ifindex;
        if (ioctl(fd, TUNSETOWNER, (unsigned long) c->uid) < 0 || ioctl(fd, TUNSETGROUP, (unsigned long) c->gid) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: give \"%s\" to uid %u gid %u", field,
                                t->name, (unsigned) c->uid, (unsigned) c->gid);
        if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: make \"%s\" persistent", field, t->name);
        if (t->mtu) {
                ifr.ifr_mtu = (int) t->mtu;
                if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
                        return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: mtu %u", field, t->mtu);
        }
        if (t->mac) {
                unsigned char mac[6];
                (void) jl_tap_mac(t->mac, mac); /* validated */
                ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
                memcpy(ifr.ifr_hwaddr.sa_data, mac, sizeof(mac));
                if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0)
                        return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: mac %s", field, t->mac);
        }
        /* Up, as a CNI plugin leaves its tap: the jailed VMM cannot do it
         * (its carrier comes when the VMM attaches). */
        if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: flags of \"%s\"", field, t->name);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, field, "%s: bring \"%s\" up", field, t->name);
        return 0;
}

/* Enter the namespace of ns_fd, open what the taps need there, come back.
 * Only this thread moves, and only for these few calls. */
static int enter_and_open(int ns_fd, int *nl, int *sock, int tun[], size_t n, jailer_error *err)
{
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int r = 0, saved = 0;

        if (self < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "taps", "taps: open our own network namespace");
        if (setns(ns_fd, CLONE_NEWNET) < 0)
                return jl_error(err, JAILER_STEP_SPAWN, errno, "taps", "taps: enter the jail's network namespace");
        *nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        *sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (*nl < 0 || *sock < 0)
                r = -1, saved = errno;
        for (size_t i = 0; r == 0 && i < n; i++) {
                /* The tun file's namespace is the opener's: open them here. */
                tun[i] = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
                if (tun[i] < 0)
                        r = -1, saved = errno;
        }
        if (setns(self, CLONE_NEWNET) < 0)
                abort(); /* never go on in the jail's namespace */
        if (r < 0)
                return jl_error(err, JAILER_STEP_SPAWN, saved, "taps", "taps: open /dev/net/tun and sockets");
        return 0;
}

int jl_taps_create(const jailer_config *c, int ns_fd, struct jl_taps *t, jailer_error *err)
{
        _cleanup_close_ int sock = -1;
        _cleanup_free_ int *tun = NULL;
        int r = 0;

        if (c->n_taps == 0)
                return 0;
        t->ifindex = calloc(c->n_taps, sizeof(int));
        tun = malloc(c->n_taps * sizeof(int));
        if (!t->ifindex || !tun)
                return jl_error(err, JAILER_STEP_SPAWN, ENOMEM, "taps", "taps");
        for (size_t i = 0; i < c->n_taps; i++)
                tun[i] = -1;
        if (enter_and_open(ns_fd, &t->nl_fd, &sock, tun, c->n_taps, err) < 0)
                r = -1;
        for (size_t i = 0; r == 0 && i < c->n_taps; i++) {
                char field[32];
                snprintf(field, sizeof(field), "taps[%zu]", i);
                r = tap_make(c, &c->taps[i], tun[i], sock, &t->ifindex[i], err, field);
                if (t->ifindex[i] > 0)
                        t->n = i + 1;
        }
        for (size_t i = 0; i < c->n_taps; i++)
                if (tun[i] >= 0)
                        close(tun[i]);
        return r;
}

/* RTM_DELLINK by index, on the socket bound to the taps' namespace. */
static void link_delete(int nl, int ifindex)
{
        struct {
                struct nlmsghdr nh;
                struct ifinfomsg ifi;
        } req = {
                .nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
                .ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
        };
        char ack[512];

        if (send(nl, &req, sizeof(req), MSG_NOSIGNAL) == (ssize_t) sizeof(req))
                while (recv(nl, ack, sizeof(ack), 0) < 0 && errno == EINTR)
                        ;
}

void jl_taps_remove(struct jl_taps *t)
{
        for (size_t i = 0; t->nl_fd >= 0 && i < t->n; i++)
                if (t->ifindex[i] > 0)
                        link_delete(t->nl_fd, t->ifindex[i]);
        free(t->ifindex);
        t->ifindex = NULL;
        t->n = 0;
        closep(&t->nl_fd);
}

/* ------------------------------------------------------------ after a crash */

/* The owner of the tun device named name, or -1 when there is none of that
 * name, or it is not a tun device, or it has no owner; its index in *index. */
static long tun_owner(int nl, const char *name, int *index)
{
        struct {
                struct nlmsghdr nh;
                struct ifinfomsg ifi;
                char attrs[64];
        } req = {
                .nh = { .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST },
                .ifi = { .ifi_family = AF_UNSPEC },
        };
        struct rtattr *rta = (struct rtattr *) req.attrs;
        _Alignas(struct nlmsghdr) char buf[16384];
        long owner = -1;

        rta->rta_type = IFLA_IFNAME;
        rta->rta_len = (unsigned short) RTA_LENGTH(strlen(name) + 1);
        memcpy(RTA_DATA(rta), name, strlen(name) + 1);
        req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi)) + RTA_ALIGN(rta->rta_len);
        if (send(nl, &req, req.nh.nlmsg_len, MSG_NOSIGNAL) < 0)
                return -1;
        ssize_t n = recv(nl, buf, sizeof(buf), 0);
        struct nlmsghdr *nh = (struct nlmsghdr *) buf;
        if (n < 0 || !NLMSG_OK(nh, (size_t) n) || nh->nlmsg_type != RTM_NEWLINK)
                return -1;
        struct ifinfomsg *ifi = NLMSG_DATA(nh);
        *index = ifi->ifi_index;
        int len = (int) IFLA_PAYLOAD(nh);
        bool tun = false;
        for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type != IFLA_LINKINFO)
                        continue;
                int l2 = (int) RTA_PAYLOAD(a);
                for (struct rtattr *b = RTA_DATA(a); RTA_OK(b, l2); b = RTA_NEXT(b, l2)) {
                        if (b->rta_type == IFLA_INFO_KIND)
                                tun = strncmp(RTA_DATA(b), "tun", RTA_PAYLOAD(b)) == 0;
                        if (b->rta_type != IFLA_INFO_DATA)
                                continue;
                        int l3 = (int) RTA_PAYLOAD(b);
                        for (struct rtattr *t = RTA_DATA(b); RTA_OK(t, l3); t = RTA_NEXT(t, l3))
                                if (t->rta_type == IFLA_TUN_OWNER && RTA_PAYLOAD(t) >= sizeof(uint32_t))
                                        owner = *(uint32_t *) RTA_DATA(t);
                }
        }
        return tun ? owner : -1;
}

int jailer_netns_remove_taps(int netns_fd, const char *const *names, size_t n, uid_t uid)
{
        _cleanup_close_ int nl = -1, sock = -1;
        jailer_error err;
        int removed = 0;

        if (netns_fd < 0 || (n > 0 && !names)) {
                errno = EINVAL;
                return -1;
        }
        if (enter_and_open(netns_fd, &nl, &sock, NULL, 0, &err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                int index = 0;
                /* Only a tun device the jail's uid owns: never one that
                 * somebody else made under that name since. */
                if (names[i] && tun_owner(nl, names[i], &index) == (long) uid && index > 0) {
                        link_delete(nl, index);
                        removed++;
                }
        }
        return removed;
}

/* SPDX-License-Identifier: MIT */
/*
 * jailerd's policy: who may connect and what a client may ask for.
 *
 * The operator writes it as JSON (/etc/jailer/jailerd.json by default,
 * `jailerd --config PATH`; every key in docs/policy.md).  It is read and
 * checked when jailerd starts (a bad file stops the start) and again on
 * SIGHUP (a bad file then keeps the policy in force).  Without a file the
 * built-in default applies: root may do everything, members of the
 * socket's group may create jails and see and kill their own, within the
 * checks below that need no configuration.
 *
 * Root (uid 0) passes every rule except the overall jail limit and uid
 * allocation.  Every other client's create request goes through
 * jd_policy_check_create(), which refuses with the request field at fault
 * and the name of the rule that refused ("exec_paths",
 * "ceilings.memory_bytes", ...), or fills in what the policy decides: the
 * ceilings as defaults for limits the request left out, an allocated uid.
 *
 * Paths from a request are resolved the way libjailer will open them
 * (jailer_open_trusted(): a symlink is followed only when root owns it) and
 * compared by the real path of the resulting fd, never by the string the
 * client sent.
 */
#ifndef JAILERD_POLICY_H
#define JAILERD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jailer.h"
#include "macro.h"
#include "protocol.h"

#ifndef JAILER_SYSCONFDIR
#error "JAILER_SYSCONFDIR must be defined by the build system"
#endif
#define JD_POLICY_DEFAULT_PATH JAILER_SYSCONFDIR "/jailer/jailerd.json"
#define JD_POLICY_MAX_SIZE (1024 * 1024)

typedef struct jd_daemon jd_daemon;
typedef struct jd_peer jd_peer;
typedef struct jd_policy jd_policy;

/* What a client may do.  Root has them all. */
typedef enum jd_right {
        JD_RIGHT_CREATE = 1u << 0,      /* create jails */
        JD_RIGHT_SEE_OWN = 1u << 1,     /* list, status, wait for, subscribe to its own jails */
        JD_RIGHT_KILL_OWN = 1u << 2,    /* kill its own jails */
        JD_RIGHT_SEE_ALL = 1u << 3,     /* ... every jail */
        JD_RIGHT_KILL_ALL = 1u << 4,
        JD_RIGHT_KVM = 1u << 5,         /* its jails get /dev/kvm */
        JD_RIGHTS_ALL = (1u << 6) - 1,
} jd_right;

/* Where jails' host uids (and gids, = uid) come from when the policy names
 * no uid_range: a block of 65536 ids that no distribution gives to users,
 * system accounts, subordinate ranges (/etc/login.defs' SUB_UID_MAX,
 * 600100000) or systemd (DynamicUser= below 65520, nspawn containers below
 * 0x70000000, its foreign range at 0x7FFE0000), and below 2^31, where tools
 * that take a uid for a signed int go wrong.  docs/policy.md. */
#define JD_JAIL_UID_FIRST 0x7F000000u   /* 2130706432 */
#define JD_JAIL_UID_LAST 0x7F00FFFFu    /* 2130771967 */

/* "create", "see_own", ... for one right. */
const char *jd_right_name(unsigned right);

/* One entry of "clients": who (a uid, a group, or both) gets which rights. */
typedef struct jd_client_rule {
        char label[32];                 /* "clients[2]", for messages */
        bool match_uid;
        uid_t uid;
        bool match_gid;                 /* the peer's primary or a supplementary group */
        gid_t gid;
        bool socket_group;              /* the group of jailerd's socket */
        unsigned rights;                /* jd_right bits */
} jd_client_rule;

/* An allow-list of real paths: an entry allows itself and, when it is a
 * directory, everything below it.  Unset: no list, other checks apply. */
typedef struct jd_path_list {
        bool set;
        char **paths;
        size_t n;
} jd_path_list;

struct jd_policy {
        char *source;                   /* the file, NULL for the built-in default */
        jd_client_rule *clients;
        size_t n_clients;
        jd_path_list exec_paths;
        jd_path_list bind_sources;
        bool read_write_binds;
        bool loader_env;                /* clients may set LD_*, GLIBC_TUNABLES, ... (policy.c) */
        char *jail_root_base;           /* NULL: a directory of the client's own anywhere */
        jd_path_list devices;           /* unset: those the client may open read-write itself */
        jd_path_list netns_paths;       /* network namespaces a client may join; unset: none */
        struct {
                uint64_t memory_bytes;  /* 0 in each: no ceiling */
                double cpus;
                uint64_t pids;
                uint64_t max_fds;
                uint64_t max_procs;
                uint64_t max_file_size;
                uint64_t timeout_ms;
                /* pinning: how many cpus limits.cpus may name (0: none,
                 * no pinning); only when has_pinned_cpus */
                bool has_pinned_cpus;
                uint64_t pinned_cpus;
                /* the largest limits.io_weight a client may ask for; 0:
                 * no ceiling.  Left out stays the kernel's default. */
                uint64_t io_weight;
        } ceilings;
        struct {
                unsigned jails;         /* 0: no limit of the policy's own */
                unsigned jails_per_client;
        } totals;
        bool has_uid_range;             /* the file gave uid_range */
        uid_t uid_min, uid_max;         /* else JD_JAIL_UID_FIRST..LAST */
        bool has_gid_range;             /* the file gave gid_range (or uid_range) */
        gid_t gid_min, gid_max;
        bool allocate_uid;              /* default: each client's jail gets its own uid */
        bool allocate_root;             /* "allocate_uid": true given: root's default too */
        bool allow_own_uid;             /* with allocation: a client may run its jail as itself */
        bool ns_may_disable[JAILER_NS_COUNT];   /* default: none */
        struct {
                bool allow_none;
                jd_path_list profiles;  /* unset or empty: no profile of a client's */
                char **syscalls;        /* baseline exceptions clients may ask for */
                size_t n_syscalls;
        } seccomp;
};

/* The real path of fd (readlink of /proc/self/fd/N), malloc'd.  -ENOENT
 * when the file has been deleted. */
int jd_fd_real_path(int fd, char **out);

/* The built-in policy (no file).  NULL on ENOMEM. */
jd_policy *jd_policy_new_default(void);

/* Read and check the policy file at path.  0 with *out set; -ENOENT when
 * the file does not exist (nothing in err); another -errno with a one-line
 * message in err naming the file, the key and the value at fault. */
int jd_policy_load(const char *path, jd_policy **out, char *err, size_t err_size);

void jd_policy_free(jd_policy *p);

/* Where the policy came from: the file's path, or "(built-in default)". */
const char *jd_policy_source(const jd_policy *p);

/* One line for the log: what the policy restricts. */
void jd_policy_describe(const jd_policy *p, char *buf, size_t size);

/* The rights of a peer under the daemon's current policy (root: all). */
unsigned jd_policy_rights(const jd_daemon *d, const jd_peer *p);

/* May the peer see (list, status, wait, events) / kill a jail created by
 * owner? */
bool jd_policy_may_see(const jd_daemon *d, const jd_peer *p, uid_t owner);
bool jd_policy_may_kill(const jd_daemon *d, const jd_peer *p, uid_t owner);

/* The overall jail limit in force: the smaller of --max-jails and the
 * policy's totals.jails (0: none). */
unsigned jd_policy_max_jails(const jd_daemon *d);

/* A create request, after jl_create_params_validate(): refuse what the
 * policy does not allow this peer (-1, err filled with permission_denied
 * or limit_reached and data.field, *rule set to the refusing rule's
 * name), or fill in what the policy decides (ceilings as defaults, an
 * allocated uid/gid) and return 0.  Nothing is created either way. */
int jd_policy_check_create(jd_daemon *d, const jd_peer *p, jailer_config *c, bool root_given, jl_rpc_error *err,
                           const char **rule);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * jailerd's internals: one sd-event loop holding
 *
 *   the listening socket      server.c    accept, SO_PEERCRED/SO_PEERGROUPS
 *   clients                   server.c    framing, dispatch, bounded output
 *   jails                     jails.c     spawn a supervisor per jail, its
 *                                         start channel and pidfd, control
 *                                         requests, reports, retention,
 *                                         reattach and clean-up at start
 *   cgroup placement          cgroups.c   delegation (leaf for ourselves,
 *                                         jails/ beside it) or a plain parent
 *   policy                    policy.c    who may do what, which configs a
 *                                         client may ask for; policy-load.c
 *                                         reads the policy file
 *
 * Nothing here blocks on a client or a supervisor: every socket is
 * non-blocking, every wait is an event source.
 */
#ifndef JAILERD_DAEMON_H
#define JAILERD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "jailer.h"
#include "macro.h"
#include "protocol.h"
#include "siphash.h"

#define JD_CLIENT_OUTBUF_MAX (4u * 1024 * 1024) /* a client that reads nothing more is dropped */
#define JD_EPOCH_LEN 32                 /* hex digits of an event cursor's epoch (events.h) */
#define JD_CONTROL_TIMEOUT_US (5u * 1000 * 1000)  /* a supervisor that does not answer */
/* A prepared jail this close to its prepare timeout is started by its
 * supervisor, which keeps the timeout (jails.c: jd_jail_control()). */
#define JD_RELEASE_MARGIN_US (100u * 1000)

typedef struct jd_daemon jd_daemon;
typedef struct jd_client jd_client;
typedef struct jd_jail jd_jail;

/* The files call one way: jailerd.c -> server.c -> jails.c -> events.c
 * (and each of them -> policy.c, cgroups.c, the helpers).  What goes the
 * other way — a jail's news for a client, the daemon's status line — goes
 * through these hooks, which jailerd.c fills in at start. */
typedef struct jd_hooks {
        void (*send)(jd_client *c, json_object *msg);   /* a whole message to c (may be dead); takes msg */
        void (*request_done)(jd_client *c);             /* one of c's pending requests has been answered */
        void (*hold)(jd_client *c);                     /* keep c while sending to it */
        void (*release)(jd_client *c);
        /* j's "started" or "exited" for every subscriber that may see it. */
        void (*notify)(jd_daemon *d, const jd_jail *j, bool exited);
        void (*changed)(jd_daemon *d);                  /* jail or client counts changed: the status line */
        void (*settled)(jd_daemon *d);                  /* something ended: a stop may complete */
} jd_hooks;

typedef struct jd_options {
        const char *socket_path;        /* NULL: <state_dir>/jailerd.sock */
        const char *state_dir;
        const char *jails_dir;
        const char *cgroup_parent;      /* NULL: decided by cgroups.c */
        const char *supervisor;
        const char *group;
        const char *config_path;        /* the policy file (policy.h) */
        bool config_given;              /* --config: the file must exist */
        uint64_t retention_us;
        uint64_t kill_grace_ms;
        unsigned max_jails;
        unsigned max_clients;
        /* What one uid other than root may hold (protocol/PROTOCOL.md,
         * "Limits"); 0 = no limit.  Root is not counted against a full
         * table up to root_reserve connections of its own. */
        unsigned max_clients_per_uid;
        unsigned max_pending_per_uid;   /* waits, subscriptions, creates, kill/status in flight */
        uint64_t max_buffer_per_uid;    /* bytes of partial lines and unsent replies */
        unsigned root_reserve;
        unsigned max_id_length;         /* bytes of a string "id" */
        uint64_t idle_timeout_us;       /* no pending request, nothing received */
        uint64_t run_size;              /* bytes of a made root's run/ tmpfs; 0: a plain directory */
        bool stop_jails_on_exit;
        bool verbose;
} jd_options;

/* What SO_PEERCRED/SO_PEERGROUPS said when the client connected. */
typedef struct jd_peer {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        gid_t *groups;
        size_t n_groups;
        bool root;                      /* uid 0: may do everything */
        bool member;                    /* in the socket's group: own jails only */
} jd_peer;

/* A request waiting for something (a jail to start or end, a supervisor
 * to answer), to be answered on its client when it comes. */
typedef struct jd_pending {
        jd_client *client;              /* NULL once the client has gone */
        json_object *id;
        jl_method method;
        struct jd_pending *next;
} jd_pending;

struct jd_client {
        jd_daemon *daemon;
        jd_client *prev, *next;
        unsigned refs;
        int fd;
        sd_event_source *src;
        jl_framer *framer;
        jl_outbuf *out;
        jd_peer peer;
        struct jd_tenant *tenant;       /* what this peer's uid holds, over all its connections */
        size_t accounted;               /* bytes of ours counted in tenant->buffered */
        sd_event_source *idle_src;
        unsigned n_pending;             /* requests not yet answered */
        struct jd_logs *logs;           /* logs requests waiting for output or for the client to read (server.c) */
        bool subscribed;
        bool read_eof;                  /* half-closed: answer what is pending, then close */
        bool dead;
};

typedef enum jd_jail_state {
        JD_JAIL_STARTING,               /* supervisor spawned, program not yet exec'd */
        JD_JAIL_PREPARED,               /* "start": false: ready, waiting for start (counted as starting) */
        JD_JAIL_RUNNING,
        JD_JAIL_EXITED,                 /* report kept until retention ends */
} jd_jail_state;

struct jd_jail {
        jd_daemon *daemon;
        jd_jail *prev, *next;
        jd_jail *index_next;            /* the next of its bucket in d->jail_index */
        char id[JAILER_ID_MAX + 1];
        jd_jail_state state;
        uid_t owner_uid;
        pid_t owner_pid;
        bool has_ids;                   /* uid/gid known (config.json was readable) */
        uid_t uid;                      /* the host uid/gid the jail runs as */
        gid_t gid;
        pid_t pid;                      /* the jailed program, 0 while starting */
        uint64_t started_at_us;
        char *state_dir;                /* <state_dir>/jails/<id> */
        char *jail_dir;                 /* a jail root we made, or NULL */
        char *jail_root;                /* its jail root, ours or the client's (NULL: unknown) */
        char *cgroup_path;
        int netns_fd;                   /* the namespace its taps are in (joined), or -1 */
        char **taps;                    /* their names: removed here if the supervisor dies */
        /* pinning: limits.cpus (NULL: not pinned) and whether it holds
         * them alone (policy.c keeps other jails off them) */
        char *cpus;
        bool cpus_exclusive;

        pid_t supervisor_pid;
        int supervisor_pidfd;
        sd_event_source *supervisor_src;
        int notify_fd;                  /* start channel, -1 once done */
        sd_event_source *notify_src;

        bool prepare;                   /* created with "start": false */
        int release_fd;                 /* prepared: its supervisor's handle to release it with, or -1 */
        uint64_t prepared_mono_us;      /* when it was (CLOCK_MONOTONIC) */
        bool starting;                  /* a start is on its way: another one is refused */
        uint64_t prepare_timeout_ms;    /* ... removed if not started by then (0: never) */
        jd_pending *create;             /* the create request, answered at start (or when prepared) */
        jd_pending *waiters;            /* wait requests, answered at exit */
        /* The supervisor's word on why the start failed (a 1.2 KiB error,
         * so malloc'd when it comes: every running jail would carry it). */
        bool start_failed;
        jl_rpc_error *start_error;

        jailer_report *report;          /* malloc'd when the jail ends (jails.c: jail_report()) */
        char *lost;                     /* the supervisor died without a report: why */
        uint64_t started_seq;           /* event numbers (events.h), 0: none yet */
        uint64_t exited_seq;
        uint64_t exited_at_us;          /* CLOCK_REALTIME: when the end was seen */
        bool cleaning;                  /* reported; its supervisor still tears it down: id taken */
        sd_event_source *retention_src;
};

struct jd_daemon {
        sd_event *event;
        jd_options opt;
        const jd_hooks *hooks;

        int listen_fd;
        bool listen_passed;             /* socket activation: never unlink, never shutdown */
        char *bound_path;               /* the socket we bound and will remove */
        sd_event_source *listen_src;
        gid_t group;                    /* the socket's group */
        bool have_group;
        struct jd_policy *policy;       /* never NULL once started; replaced on SIGHUP */
        uint32_t next_uid;              /* where uid allocation looks first */

        int state_dirfd;                /* locked: one jailerd per state directory */
        char *jails_state_dir;          /* <state_dir>/jails */
        int jails_dirfd;                /* it, open: each jail's is opened under it by id */

        char *cgroup_parent;            /* relative to the hierarchy root */
        char *cgroup_parent_abs;        /* when it is ours alone (delegation): stale clean-up */
        const char *cgroup_version;     /* "v1"/"v2"/NULL */

        jd_client *clients;
        unsigned n_clients;
        struct jd_tenant *tenants;      /* per uid with a connection: server.c */
        sd_event_source *accept_retry;  /* the listening socket rests after EMFILE */
        jd_jail *jails;
        unsigned n_starting, n_running, n_exited;
        jd_jail **jail_index;           /* by id (jails.c); NULL: use the list */
        size_t jail_index_size;
        uint8_t jail_index_key[JD_SIPHASH_KEY_SIZE]; /* its hash's key, drawn anew at each growth */

        struct jd_control *controls;    /* outstanding supervisor requests */
        struct jd_launcher *launcher;   /* forks supervisors; NULL: they are exec'd */

        char event_epoch[JD_EPOCH_LEN + 1];     /* events.h */
        uint64_t event_seq;             /* the last event number given out */
        uint64_t event_saved;           /* the floor the events file holds */

        bool shutting_down;
        bool status_final;      /* the last STATUS= is sent: keep it */
        sd_event_source *shutdown_timer;
};

/* jailerd.c */
void jd_update_status(jd_daemon *d);
void jd_maybe_finish_shutdown(jd_daemon *d);

/* server.c */
int jd_server_listen(jd_daemon *d);
void jd_server_stop_listening(jd_daemon *d);
void jd_client_send(jd_client *c, json_object *msg);              /* takes msg */
void jd_client_reply(jd_client *c, json_object *id, json_object *result);
void jd_client_reply_error(jd_client *c, json_object *id, const jl_rpc_error *e);
void jd_client_ref(jd_client *c);
void jd_client_unref(jd_client *c);
void jd_client_disconnect(jd_client *c);
/* A pending request is done: answer nothing more, maybe close a half-closed client. */
void jd_client_pending_done(jd_client *c);
void jd_broadcast(jd_daemon *d, const jd_jail *j, bool exited);
void jd_clients_shutdown(jd_daemon *d);

/* jails.c */
jd_jail *jd_jail_find(jd_daemon *d, const char *id);
bool jd_jail_visible(const jd_jail *j, const jd_peer *p);
/* usage and figures (the report so far): a running jail's live figures,
 * or NULL. */
json_object *jd_jail_info(const jd_jail *j, const jailer_usage *usage, const jailer_report *figures);
/* A started (exited false) or exited notification's params: the jail as it
 * was then, with its cursor. */
json_object *jd_jail_event_params(const jd_jail *j, bool exited);
/* wait: the report now, the lost error now, or when the jail ends. */
void jd_jail_wait(jd_jail *j, jd_client *c, json_object *id);
/* create: config checked and allowed; takes c and the fds (-1 when none). */
int jd_jail_create(jd_daemon *d, jd_client *client, json_object *id, jailer_config *c, const jl_create_opts *o,
                   bool made_root, int fds[3], jl_rpc_error *err);
/* kill/status of a running (or prepared) jail, start of a prepared one:
 * asks its supervisor, answers later. */
int jd_jail_control(jd_jail *j, jd_client *c, json_object *id, jl_method method, int sig, jl_rpc_error *err);
void jd_jails_forget_client(jd_daemon *d, jd_client *c);
int jd_jails_recover(jd_daemon *d);
void jd_jails_stop_all(jd_daemon *d);
void jd_jails_free(jd_daemon *d);
jd_pending *jd_pending_new(jd_client *c, json_object *id, jl_method method);
void jd_pending_free(jd_pending *p);

/* cgroups.c */
int jd_cgroups_setup(jd_daemon *d);
void jd_cgroups_clean_stale(jd_daemon *d);

/* policy.c (the policy itself: policy.h) */
int jd_peer_read(int fd, jd_daemon *d, jd_peer *p);
void jd_peer_done(jd_peer *p);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * libjailer on a system that is not Linux (macOS, Windows): the API of
 * jailer.h, every call of which fails with "jailer: only Linux is
 * supported".  The isolation jailer provides is made of Linux namespaces,
 * cgroups, pivot_root and seccomp; nothing of it can be imitated elsewhere,
 * and a program built against the stub finds that out at its first call
 * rather than at build time.  Built instead of the real library when the
 * host system is not Linux (meson.build).
 */
#include "jailer.h"

#include <stdio.h>
#include <string.h>

#define UNSUPPORTED "jailer: only Linux is supported"

static int unsupported(jailer_error *err)
{
        if (err) {
                memset(err, 0, sizeof(*err));
                err->step = JAILER_STEP_CONFIG;
                snprintf(err->message, sizeof(err->message), "%s", UNSUPPORTED);
        }
        return -1;
}

const char *jailer_step_name(jailer_step step)
{
        (void) step;
        return "unsupported";
}

jailer_config *jailer_config_new(const char *id, const char *exec_path, const char *jail_root)
{
        (void) id, (void) exec_path, (void) jail_root;
        return NULL;
}

void jailer_config_free(jailer_config *c)
{
        (void) c;
}

int jailer_config_from_json(const char *json, size_t len, jailer_config **out, jailer_error *err)
{
        (void) json, (void) len;
        if (out)
                *out = NULL;
        return unsupported(err);
}

int jailer_config_from_file(const char *path, jailer_config **out, jailer_error *err)
{
        (void) path;
        if (out)
                *out = NULL;
        return unsupported(err);
}

char *jailer_config_to_json(const jailer_config *c)
{
        (void) c;
        return NULL;
}

int jailer_config_validate(const jailer_config *c, jailer_error *err)
{
        (void) c;
        return unsupported(err);
}

/* The setters: no config can exist here. */
int jailer_config_set_id(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_exec_path(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_jail_root(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_add_arg(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_uid(jailer_config *c, uid_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_gid(jailer_config *c, gid_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_memory_limit(jailer_config *c, uint64_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_cpu_limit(jailer_config *c, double v) { (void) c, (void) v; return -1; }
int jailer_config_set_cpu_quota(jailer_config *c, uint64_t q, uint64_t p) { (void) c, (void) q, (void) p; return -1; }
int jailer_config_set_pids_limit(jailer_config *c, uint64_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_max_fds(jailer_config *c, uint64_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_max_procs(jailer_config *c, uint64_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_max_file_size(jailer_config *c, uint64_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_timeout_ms(jailer_config *c, uint64_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_namespace(jailer_config *c, jailer_namespace ns, bool on) { (void) c, (void) ns, (void) on; return -1; }
int jailer_config_add_bind_mount(jailer_config *c, const char *s, const char *d, bool ro) { (void) c, (void) s, (void) d, (void) ro; return -1; }
int jailer_config_add_env(jailer_config *c, const char *k, const char *v) { (void) c, (void) k, (void) v; return -1; }
int jailer_config_set_workdir(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_hostname(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_add_device(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_kvm(jailer_config *c, bool v) { (void) c, (void) v; return -1; }
int jailer_config_set_cgroup_version(jailer_config *c, jailer_cgroup_version v) { (void) c, (void) v; return -1; }
int jailer_config_set_cgroup_parent(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_seccomp(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_seccomp_kill(jailer_config *c, bool v) { (void) c, (void) v; return -1; }
int jailer_config_add_seccomp_allow(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }

int jailer_config_set_exec_fd(jailer_config *c, int fd) { (void) c, (void) fd; return -1; }
int jailer_config_set_seccomp_fd(jailer_config *c, int fd) { (void) c, (void) fd; return -1; }
int jailer_config_set_jail_root_fd(jailer_config *c, int root_fd, int parent_fd) { (void) c, (void) root_fd, (void) parent_fd; return -1; }
int jailer_config_set_bind_source_fd(jailer_config *c, size_t index, int fd) { (void) c, (void) index, (void) fd; return -1; }
int jailer_config_set_device_fd(jailer_config *c, size_t index, int fd) { (void) c, (void) index, (void) fd; return -1; }

const char *jailer_config_get_id(const jailer_config *c)
{
        (void) c;
        return NULL;
}

char *jailer_report_to_json(const jailer_report *r)
{
        (void) r;
        return NULL;
}

int jailer_report_from_json(const char *json, jailer_report *r, jailer_error *err)
{
        (void) json, (void) r;
        return unsupported(err);
}

int jailer_report_status(const jailer_report *r)
{
        (void) r;
        return -1;
}

int jailer_spawn(const jailer_config *c, const jailer_spawn_opts *opts, jailer_jail **out, jailer_error *err)
{
        (void) c, (void) opts;
        if (out)
                *out = NULL;
        return unsupported(err);
}

pid_t jailer_jail_pid(const jailer_jail *j)
{
        (void) j;
        return -1;
}

int jailer_jail_pidfd(const jailer_jail *j)
{
        (void) j;
        return -1;
}

const char *jailer_jail_cgroup_path(const jailer_jail *j)
{
        (void) j;
        return NULL;
}

int jailer_jail_usage(const jailer_jail *j, jailer_usage *u, jailer_error *err)
{
        (void) j, (void) u;
        return unsupported(err);
}

int jailer_jail_kill(jailer_jail *j, int sig)
{
        (void) j, (void) sig;
        return -1;
}

uint64_t jailer_jail_deadline_us(const jailer_jail *j)
{
        (void) j;
        return 0;
}

int jailer_jail_expire(jailer_jail *j)
{
        (void) j;
        return -1;
}

int jailer_jail_wait(jailer_jail *j, jailer_report *r, jailer_error *err)
{
        (void) j, (void) r;
        return unsupported(err);
}

int jailer_run(const jailer_config *c, const jailer_spawn_opts *opts, jailer_report *r, jailer_error *err)
{
        (void) c, (void) opts, (void) r;
        return unsupported(err);
}

const char *jailer_cgroup_detect(void)
{
        return NULL;
}

int jailer_cgroup_remove(const char *path, jailer_error *err)
{
        (void) path;
        return unsupported(err);
}

char *jailer_cgroup_self(void)
{
        return NULL;
}

bool jailer_cgroup_is_delegated(const char *path)
{
        (void) path;
        return false;
}

int jailer_cgroup_enable_controllers(const char *path, jailer_error *err)
{
        (void) path;
        return unsupported(err);
}

int jailer_cgroup_move_self(const char *path, const char *leaf, jailer_error *err)
{
        (void) path, (void) leaf;
        return unsupported(err);
}

int jailer_seccomp_prepare(const jailer_config *c, jailer_error *err)
{
        (void) c;
        return unsupported(err);
}

const char *jailer_version(void)
{
        return JAILER_VERSION;
}

const char *jailer_signal_name(int sig)
{
        (void) sig;
        return NULL;
}

int jailer_signal_from_name(const char *name)
{
        (void) name;
        return -1;
}

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

#include <errno.h>
#include <stdarg.h>
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

int jailer_error_set(jailer_error *err, jailer_step step, int code, const char *field, const char *fmt, ...)
{
        va_list ap;

        if (!err)
                return -1;
        memset(err, 0, sizeof(*err));
        err->step = step;
        err->code = code;
        snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return -1;
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
int jailer_config_set_cpus(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_mems(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_cpus_exclusive(jailer_config *c, bool v) { (void) c, (void) v; return -1; }
int jailer_config_add_io_limit(jailer_config *c, const char *d, uint64_t rb, uint64_t wb, uint64_t ri, uint64_t wi)
{
        (void) c, (void) d, (void) rb, (void) wb, (void) ri, (void) wi;
        return -1;
}
int jailer_config_set_io_weight(jailer_config *c, uint64_t v) { (void) c, (void) v; return -1; }
int jailer_config_set_io_limit_device(jailer_config *c, size_t i, const char *d)
{
        (void) c, (void) i, (void) d;
        return -1;
}
int jailer_config_set_namespace(jailer_config *c, jailer_namespace ns, bool on) { (void) c, (void) ns, (void) on; return -1; }
int jailer_config_add_bind_mount(jailer_config *c, const char *s, const char *d, bool ro) { (void) c, (void) s, (void) d, (void) ro; return -1; }
int jailer_config_add_env(jailer_config *c, const char *k, const char *v) { (void) c, (void) k, (void) v; return -1; }
int jailer_config_set_workdir(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_hostname(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_add_device(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_set_netns(jailer_config *c, const char *v) { (void) c, (void) v; return -1; }
int jailer_config_add_tap(jailer_config *c, const jailer_tap *t) { (void) c, (void) t; return -1; }
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
int jailer_config_set_netns_fd(jailer_config *c, int fd) { (void) c, (void) fd; return -1; }

/* The getters: no config, and so nothing, to get. */
const char *jailer_config_get_id(const jailer_config *c) { (void) c; return NULL; }
const char *jailer_config_get_exec_path(const jailer_config *c) { (void) c; return NULL; }
const char *jailer_config_get_jail_root(const jailer_config *c) { (void) c; return NULL; }
uid_t jailer_config_get_uid(const jailer_config *c) { (void) c; return (uid_t) -1; }
gid_t jailer_config_get_gid(const jailer_config *c) { (void) c; return (gid_t) -1; }
uint64_t jailer_config_get_memory_limit(const jailer_config *c) { (void) c; return JAILER_LIMIT_NONE; }
uint64_t jailer_config_get_cpu_quota(const jailer_config *c) { (void) c; return JAILER_LIMIT_NONE; }
uint64_t jailer_config_get_cpu_period(const jailer_config *c) { (void) c; return 0; }
uint64_t jailer_config_get_pids_limit(const jailer_config *c) { (void) c; return JAILER_LIMIT_NONE; }
uint64_t jailer_config_get_max_fds(const jailer_config *c) { (void) c; return 0; }
uint64_t jailer_config_get_max_procs(const jailer_config *c) { (void) c; return 0; }
uint64_t jailer_config_get_max_file_size(const jailer_config *c) { (void) c; return JAILER_LIMIT_NONE; }
uint64_t jailer_config_get_timeout_ms(const jailer_config *c) { (void) c; return 0; }
const char *jailer_config_get_cpus(const jailer_config *c) { (void) c; return NULL; }
const char *jailer_config_get_mems(const jailer_config *c) { (void) c; return NULL; }
long jailer_config_count_cpus(const jailer_config *c) { (void) c; return 0; }
bool jailer_config_get_cpus_exclusive(const jailer_config *c) { (void) c; return false; }
int jailer_cpulist_first_common(const char *a, const char *b) { (void) a, (void) b; return -2; }
size_t jailer_config_n_io_limits(const jailer_config *c) { (void) c; return 0; }
uint64_t jailer_config_get_io_weight(const jailer_config *c) { (void) c; return JAILER_LIMIT_NONE; }
const char *jailer_config_get_io_limit(const jailer_config *c, size_t i, uint64_t *rb, uint64_t *wb, uint64_t *ri,
                                       uint64_t *wi)
{
        (void) c, (void) i, (void) rb, (void) wb, (void) ri, (void) wi;
        return NULL;
}
bool jailer_config_get_namespace(const jailer_config *c, jailer_namespace ns) { (void) c, (void) ns; return false; }
size_t jailer_config_n_bind_mounts(const jailer_config *c) { (void) c; return 0; }
const char *jailer_config_get_bind_mount(const jailer_config *c, size_t i, const char **dest, bool *read_only) { (void) c, (void) i, (void) dest, (void) read_only; return NULL; }
size_t jailer_config_n_env(const jailer_config *c) { (void) c; return 0; }
const char *jailer_config_get_env(const jailer_config *c, size_t i, const char **value) { (void) c, (void) i, (void) value; return NULL; }
size_t jailer_config_n_devices(const jailer_config *c) { (void) c; return 0; }
const char *jailer_config_get_device(const jailer_config *c, size_t i) { (void) c, (void) i; return NULL; }
const char *jailer_config_get_netns(const jailer_config *c) { (void) c; return NULL; }
size_t jailer_config_n_taps(const jailer_config *c) { (void) c; return 0; }
const jailer_tap *jailer_config_get_tap(const jailer_config *c, size_t i) { (void) c, (void) i; return NULL; }
bool jailer_config_get_kvm(const jailer_config *c) { (void) c; return false; }
const char *jailer_config_get_cgroup_parent(const jailer_config *c) { (void) c; return NULL; }
const char *jailer_config_get_seccomp(const jailer_config *c) { (void) c; return NULL; }
size_t jailer_config_n_seccomp_allow(const jailer_config *c) { (void) c; return 0; }
const char *jailer_config_get_seccomp_allow(const jailer_config *c, size_t i) { (void) c, (void) i; return NULL; }
int jailer_config_get_exec_fd(const jailer_config *c) { (void) c; return -1; }
int jailer_config_get_seccomp_fd(const jailer_config *c) { (void) c; return -1; }
int jailer_config_get_jail_root_fd(const jailer_config *c) { (void) c; return -1; }
int jailer_config_get_jail_root_parent_fd(const jailer_config *c) { (void) c; return -1; }
int jailer_config_get_bind_source_fd(const jailer_config *c, size_t i) { (void) c, (void) i; return -1; }
int jailer_config_get_device_fd(const jailer_config *c, size_t i) { (void) c, (void) i; return -1; }
int jailer_config_get_netns_fd(const jailer_config *c) { (void) c; return -1; }
int jailer_netns_remove_taps(int netns_fd, const char *const *names, size_t n, uid_t uid) { (void) netns_fd, (void) names, (void) n, (void) uid; return -1; }

const char *jailer_namespace_name(jailer_namespace ns) { (void) ns; return NULL; }

int jailer_open_trusted(const char *path, int flags, char *why, size_t why_size)
{
        (void) path, (void) flags, (void) why, (void) why_size;
        return -1;
}

int jailer_open_host(const char *path, unsigned types, int flags, char *why, size_t why_size)
{
        (void) path, (void) types, (void) flags, (void) why, (void) why_size;
        return -1;
}

const char *jailer_file_type_name(mode_t mode)
{
        (void) mode;
        return "of an unknown type";
}

bool jailer_seccomp_allowable(const char *name)
{
        (void) name;
        return false;
}

int jailer_seccomp_profile_snapshot(int fd, const char *name, jailer_error *err)
{
        (void) fd, (void) name;
        return unsupported(err);
}

int jailer_parse_u64(const char *s, uint64_t *out)
{
        (void) s, (void) out;
        return -1;
}

int jailer_parse_size(const char *s, uint64_t *out)
{
        (void) s, (void) out;
        return -1;
}

uint64_t jailer_now_monotonic_us(void)
{
        return 0;
}

int jailer_read_fd(int fd, size_t max, char **out, size_t *len)
{
        (void) fd, (void) max, (void) out, (void) len;
        return -ENOSYS;
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

int jailer_jail_snapshot(const jailer_jail *j, jailer_report *r, jailer_error *err)
{
        (void) j, (void) r;
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

int jailer_jail_start(jailer_jail *j, jailer_error *err)
{
        (void) j;
        return unsupported(err);
}

bool jailer_jail_prepared(const jailer_jail *j)
{
        (void) j;
        return false;
}

int jailer_jail_release_fd(const jailer_jail *j)
{
        (void) j;
        errno = ENOSYS;
        return -1;
}

int jailer_release(int fd)
{
        (void) fd;
        errno = ENOSYS;
        return -1;
}

int jailer_jail_start_fd(const jailer_jail *j)
{
        (void) j;
        return -1;
}

int jailer_jail_finish_start(jailer_jail *j, jailer_error *err)
{
        (void) j;
        return unsupported(err);
}

int jailer_jail_collect(jailer_jail *j, jailer_report *r, jailer_error *err)
{
        (void) j, (void) r;
        return unsupported(err);
}

void jailer_jail_free(jailer_jail *j)
{
        (void) j;
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

int jailer_cgroup_host_pin(jailer_error *err)
{
        return unsupported(err);
}

int jailer_kernel_fallbacks(char *buf, size_t size)
{
        if (buf && size)
                buf[0] = 0;
        errno = ENOSYS;
        return -1;
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

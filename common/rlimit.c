/* SPDX-License-Identifier: MIT */
/*
 * rlimits.  Soft and hard are set equal: the jailed process can lower them,
 * never raise them back.
 *
 * They come in two steps.  RLIMIT_NOFILE, RLIMIT_FSIZE and RLIMIT_CORE are set
 * while the child is still root of the initial user namespace, because
 * raising a hard limit above the caller's needs CAP_SYS_RESOURCE there.
 * RLIMIT_NPROC is set only after the user namespace exists: a new user
 * namespace remembers its creator's RLIMIT_NPROC as the ceiling for the
 * creator's own process count (the kernel's ucounts), and the creator is
 * root, who has far more than 64 processes on any host.  Lowering it first
 * would make every fork inside the jail fail.
 */
#include "jailer-internal.h"

#include <sys/resource.h>

static int set_limit(int resource, uint64_t value, const char *field, jailer_error *err)
{
        rlim_t v = value == JL_UNSET ? RLIM_INFINITY : (rlim_t) value;
        struct rlimit rl = { .rlim_cur = v, .rlim_max = v };
        if (setrlimit(resource, &rl) < 0)
                return jl_error(err, JAILER_STEP_PRIVS, errno, field, "%s: setrlimit %llu", field,
                                (unsigned long long) value);
        return 0;
}

int jl_rlimits_apply_child(const jailer_config *c, jailer_error *err)
{
        if (set_limit(RLIMIT_NOFILE, c->limits.max_fds, "limits.max_fds", err) < 0 ||
            set_limit(RLIMIT_FSIZE, c->limits.max_file_size, "limits.max_file_size", err) < 0 ||
            set_limit(RLIMIT_CORE, 0, "limits.core", err) < 0)
                return -1;
        return 0;
}

int jl_rlimit_nproc_apply_child(const jailer_config *c, jailer_error *err)
{
        return set_limit(RLIMIT_NPROC, c->limits.max_procs, "limits.max_procs", err);
}

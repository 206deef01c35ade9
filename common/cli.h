/* SPDX-License-Identifier: MIT */
/* The jail-config command-line flags shared by `jailer` and `jailerctl run`. */
#ifndef JAILER_CLI_H
#define JAILER_CLI_H

#include "jailer.h"

/* A flag the front end handles itself (e.g. jailer's --report FILE). */
struct jl_cli_flag {
        const char *name;       /* without the leading "--" */
        bool has_arg;
};

/* Called for each extra flag; value is NULL when !has_arg.  Return -1 with
 * *err filled to stop parsing. */
typedef int (*jl_cli_extra_fn)(void *userdata, const char *name, const char *value, jailer_error *err);

/* Parse argv[1..] into a new config:
 *   --config FILE   loaded first; every other flag then overrides it
 *   --id ID --exec PATH --jail-root DIR --memory SIZE --cpu CPUS
 *   --cpu-quota US --cpu-period US --pids N --max-fds N --max-procs N
 *   --max-file-size SIZE --timeout MS --uid N --gid N
 *   --bind SRC:DEST[:ro|:rw] (repeatable) --env K=V (repeatable)
 *   --workdir DIR --hostname NAME --device PATH (repeatable)
 *   --netns PATH --tap NAME (repeatable)
 *   --no-user-ns --no-pid-ns --no-mount-ns --no-net-ns --no-uts-ns
 *   --no-ipc-ns --no-cgroup-ns --cgroup-version auto|v1|v2 --cgroup-parent REL
 *   -- ARGS...      the jailed program's arguments
 * Both "--flag value" and "--flag=value" are accepted.  extra (terminated by
 * a {NULL} entry) may be NULL.  Unknown flags are an error naming the flag. */
int jl_cli_parse(int argc, char **argv, const struct jl_cli_flag *extra, jl_cli_extra_fn fn, void *userdata,
                 jailer_config **out, jailer_error *err);

/* The help text for the flags above (static string). */
const char *jl_cli_usage(void);

#endif

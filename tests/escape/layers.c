/* SPDX-License-Identifier: MIT */
/*
 * escape-layers — run one program in a jail with a chosen seccomp mode,
 * through libjailer's public API.  The escape suite runs its attempts once
 * more with "--seccomp none" to learn which attempts the other layers
 * (namespaces, pivot_root, user namespace, capabilities, no_new_privs, mount
 * flags) stop on their own, and which only the filter stops.
 *
 *   escape-layers --seccomp default|none|PROFILE --id ID --exec PATH
 *                 --jail-root DIR [--cgroup-parent REL] [--cgroup-version v1|v2]
 *                 [--bind SRC:DEST[:ro|:rw]]... [--memory BYTES] [--pids N]
 *                 -- ARGS...
 *
 * The program's stdio is ours.  Exit status: the program's (128+N when
 * signal N killed it), 125 when the jail could not be set up.
 */
#include "jailer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
        fprintf(stderr, "usage: escape-layers --seccomp MODE --id ID --exec PATH --jail-root DIR\n"
                        "                     [--cgroup-parent REL] [--cgroup-version v1|v2]\n"
                        "                     [--bind SRC:DEST[:ro|:rw]]... [--memory BYTES] [--pids N]\n"
                        "                     -- ARGS...\n");
        return 125;
}

static int add_bind(jailer_config *c, const char *spec)
{
        char *s = strdup(spec);
        if (!s)
                return -1;
        bool ro = true;
        size_t len = strlen(s);
        if (len > 3 && strcmp(s + len - 3, ":rw") == 0) {
                ro = false;
                s[len - 3] = '\0';
        } else if (len > 3 && strcmp(s + len - 3, ":ro") == 0) {
                s[len - 3] = '\0';
        }
        char *colon = strchr(s, ':');
        if (!colon) {
                free(s);
                return -1;
        }
        *colon = '\0';
        int r = jailer_config_add_bind_mount(c, s, colon + 1, ro);
        free(s);
        return r;
}

static bool parse_u64(const char *s, uint64_t *out)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-')
                return false;
        *out = v;
        return true;
}

int main(int argc, char **argv)
{
        jailer_config *c = jailer_config_new(NULL, NULL, NULL);
        if (!c)
                return 125;
        int i = 1;
        for (; i < argc; i++) {
                const char *k = argv[i];
                if (strcmp(k, "--") == 0) {
                        i++;
                        break;
                }
                if (i + 1 >= argc)
                        return usage();
                const char *v = argv[++i];
                uint64_t n;
                int r = 0;
                if (strcmp(k, "--seccomp") == 0)
                        r = jailer_config_set_seccomp(c, v);
                else if (strcmp(k, "--id") == 0)
                        r = jailer_config_set_id(c, v);
                else if (strcmp(k, "--exec") == 0)
                        r = jailer_config_set_exec_path(c, v);
                else if (strcmp(k, "--jail-root") == 0)
                        r = jailer_config_set_jail_root(c, v);
                else if (strcmp(k, "--cgroup-parent") == 0)
                        r = jailer_config_set_cgroup_parent(c, v);
                else if (strcmp(k, "--cgroup-version") == 0 && (strcmp(v, "v1") == 0 || strcmp(v, "v2") == 0))
                        r = jailer_config_set_cgroup_version(c, strcmp(v, "v1") == 0 ? JAILER_CGROUP_V1
                                                                                     : JAILER_CGROUP_V2);
                else if (strcmp(k, "--bind") == 0)
                        r = add_bind(c, v);
                else if (strcmp(k, "--memory") == 0 && parse_u64(v, &n))
                        r = jailer_config_set_memory_limit(c, n);
                else if (strcmp(k, "--pids") == 0 && parse_u64(v, &n))
                        r = jailer_config_set_pids_limit(c, n);
                else
                        return usage();
                if (r < 0) {
                        fprintf(stderr, "escape-layers: %s %s: cannot set\n", k, v);
                        return 125;
                }
        }
        for (; i < argc; i++)
                if (jailer_config_add_arg(c, argv[i]) < 0)
                        return 125;

        jailer_error err = { 0 };
        jailer_report rep = { 0 };
        jailer_spawn_opts opts = JAILER_SPAWN_OPTS_INIT;
        if (jailer_run(c, &opts, &rep, &err) < 0) {
                fprintf(stderr, "escape-layers: %s: %s\n", jailer_step_name(err.step), err.message);
                jailer_config_free(c);
                return 125;
        }
        jailer_config_free(c);
        fflush(stdout);
        return jailer_report_status(&rep);
}

/* SPDX-License-Identifier: MIT */
/*
 * enosys SYSCALL[,SYSCALL...] -- PROGRAM ARGS...
 *
 * Run PROGRAM with the named syscalls failing with ENOSYS, as on an older
 * kernel or under a service manager's seccomp filter, so that the jailer's
 * fallback paths are exercised for real.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        if (argc < 4 || strcmp(argv[2], "--") != 0) {
                fprintf(stderr, "usage: enosys SYSCALL[,SYSCALL...] -- PROGRAM ARGS...\n");
                return 2;
        }
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return 2;
        char *save = NULL;
        for (char *name = strtok_r(argv[1], ",", &save); name; name = strtok_r(NULL, ",", &save)) {
                int nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0) < 0) {
                        fprintf(stderr, "enosys: unknown syscall %s\n", name);
                        return 2;
                }
        }
        if (seccomp_load(ctx) < 0) {
                perror("enosys: seccomp_load");
                return 2;
        }
        seccomp_release(ctx);
        execv(argv[3], argv + 3);
        perror("enosys: execv");
        return 127;
}

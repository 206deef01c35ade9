/* SPDX-License-Identifier: MIT */
/* jailer on a system that is not Linux: says so (see common/stub.c). */
#include "jailer.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
        jailer_error err;

        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("jailer %s (stub: only Linux is supported)\n", jailer_version());
                return 0;
        }
        jailer_run(NULL, NULL, NULL, &err);
        fprintf(stderr, "%s\n", err.message);
        return 125;
}

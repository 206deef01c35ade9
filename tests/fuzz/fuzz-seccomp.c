/* SPDX-License-Identifier: MIT */
/* libFuzzer: the OCI seccomp profile parser (the filter is built, never
 * loaded). */
#include "jailer-internal.h"

#include <seccomp.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        scmp_filter_ctx_t ctx = NULL;
        jailer_error err = { 0 };
        if (jl_seccomp_parse_oci((const char *) data, size, "fuzz", &ctx, &err) == 0) {
                /* Compile it, as the kernel would receive it. */
                (void) seccomp_export_bpf(ctx, -1);
                seccomp_release(ctx);
        } else if (err.message[0] == '\0') {
                abort();
        }
        return 0;
}

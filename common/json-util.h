/* SPDX-License-Identifier: MIT */
/* json-c helpers shared by the config, report, protocol and policy code. */
#ifndef JAILER_JSON_UTIL_H
#define JAILER_JSON_UTIL_H

#include <json-c/json.h>

#include "jailer-internal.h"

static inline void json_putp(json_object **o)
{
        if (*o) {
                json_object_put(*o);
                *o = NULL;
        }
}
#define _cleanup_json_ _cleanup_(json_putp)

static inline void tokener_freep(json_tokener **t)
{
        if (*t)
                json_tokener_free(*t);
}

#endif

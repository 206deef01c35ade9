/* SPDX-License-Identifier: MIT */
/* json-c helpers shared by the config, report, protocol and policy code. */
#ifndef JAILER_JSON_UTIL_H
#define JAILER_JSON_UTIL_H

#include <json-c/json.h>
#include <stdbool.h>

#include "macro.h"
#include "jailer.h"

/* The config in root, already read by the strict reader (json-strict.h)
 * within the config's limits (1 MiB, 16 levels): jailer_config_from_json()
 * without printing it and reading it again.  For a config that came inside
 * a request. */
int jl_config_from_object(json_object *root, jailer_config **out, jailer_error *err);

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

/* Building objects with one "ok" flag for the whole construction.  In
 * json-c, JSON null is the NULL object and a failed allocation is NULL too:
 * nulls are added with json_add_null(), and any other NULL value is a
 * failure. */
static inline void json_add(json_object *obj, const char *key, json_object *v, bool *ok)
{
        if (!v) {
                *ok = false;
                return;
        }
        if (json_object_object_add(obj, key, v) < 0) {
                json_object_put(v);
                *ok = false;
        }
}

static inline void json_add_null(json_object *obj, const char *key, bool *ok)
{
        if (json_object_object_add(obj, key, NULL) < 0)
                *ok = false;
}

#endif

/* SPDX-License-Identifier: MIT */
/* libFuzzer: the strict JSON reader every input goes through.  A refusal
 * must say why; what it accepts, written back by json-c, it must accept
 * again, to the same text. */
#include "json-strict.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        json_object *o = NULL, *again = NULL;
        jl_json_error e;

        if (jl_json_parse((const char *) data, size, NULL, &o, &e) < 0) {
                if (e.message[0] == '\0' || e.fault == 0)
                        abort();
                return 0;
        }
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        char *copy = strdup(text);
        if (!copy)
                abort();
        if (jl_json_parse(copy, strlen(copy), NULL, &again, &e) < 0)
                abort();
        if (strcmp(json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN), copy) != 0)
                abort();
        free(copy);
        json_object_put(again);
        json_object_put(o);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer: the config parser and validator, and its JSON round trip. */
#include "jailer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        jailer_config *c = NULL;
        jailer_error err = { 0 };
        if (jailer_config_from_json((const char *) data, size, &c, &err) < 0) {
                /* Every refusal must say something. */
                if (err.message[0] == '\0')
                        abort();
                return 0;
        }
        (void) jailer_config_validate(c, &err);

        /* What we write back must parse again to the same thing. */
        char *json = jailer_config_to_json(c);
        if (json) {
                jailer_config *again = NULL;
                if (jailer_config_from_json(json, strlen(json), &again, &err) < 0)
                        abort();
                char *json2 = jailer_config_to_json(again);
                if (!json2 || strcmp(json, json2) != 0)
                        abort();
                free(json2);
                jailer_config_free(again);
                free(json);
        }
        jailer_config_free(c);
        return 0;
}

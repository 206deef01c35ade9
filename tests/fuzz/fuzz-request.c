/* SPDX-License-Identifier: MIT */
/* libFuzzer: what jailerd does with bytes from a client — framing, envelope
 * decoding, and the params of every method. */
#include "jailer.h"
#include "protocol.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        jl_framer *f = jl_framer_new();
        if (!f)
                return 0;
        /* Feed in two pieces, to exercise lines split across reads. */
        size_t half = size / 2;
        if (jl_framer_feed(f, data, half) < 0 || jl_framer_feed(f, data + half, size - half) < 0) {
                jl_framer_free(f);
                return 0;
        }
        jl_line *line;
        while (jl_framer_next(f, &line) > 0) {
                jl_request req;
                json_object *id = NULL;
                jl_rpc_error err = { 0 };
                if (jl_request_decode(line, &req, &id, &err) == 0) {
                        const char *jail;
                        int sig;
                        jailer_config *c = NULL;
                        bool root_given;
                        switch (req.method) {
                        case JL_METHOD_CREATE:
                                if (jl_create_params_parse(req.params, &c, &root_given, &err) == 0) {
                                        (void) jl_create_params_validate(c, &err);
                                        jailer_config_free(c);
                                }
                                break;
                        case JL_METHOD_KILL:
                                (void) jl_kill_params_decode(req.params, &jail, &sig, &err);
                                break;
                        case JL_METHOD_WAIT:
                        case JL_METHOD_STATUS:
                                (void) jl_jail_params_decode(req.params, &jail, &err);
                                break;
                        default:
                                (void) jl_empty_params_decode(req.params, &err);
                                break;
                        }
                        jl_request_done(&req);
                        json_object_put(id);
                } else {
                        json_object *reply = jl_reply_error(id, &err);
                        size_t len;
                        free(jl_message_serialize(reply, &len));
                        json_object_put(reply);
                        json_object_put(id);
                }
                jl_line_free(line);
        }
        jl_framer_free(f);
        return 0;
}

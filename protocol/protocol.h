/* SPDX-License-Identifier: MIT */
/*
 * The jailerd wire protocol: JSON-RPC 2.0, one JSON object per line
 * (UTF-8, '\n'-terminated) over a SOCK_STREAM Unix socket.  The reference
 * is protocol/PROTOCOL.md.  Everything that encodes or decodes the wire format
 * lives here and is shared by jailerd and jailerctl.
 *
 * OUTLINE ONLY — the protocol owner fills this in; keep the names below.
 */
#ifndef JAILER_PROTOCOL_H
#define JAILER_PROTOCOL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JL_PROTOCOL_VERSION 1
#define JL_PROTOCOL_MAX_LINE (1024 * 1024) /* a longer line is refused */
#define JL_PROTOCOL_MAX_FDS 3              /* stdin, stdout, stderr with "create" */

/* JSON-RPC error codes */
enum {
        JL_RPC_PARSE_ERROR = -32700,
        JL_RPC_INVALID_REQUEST = -32600,
        JL_RPC_METHOD_NOT_FOUND = -32601,
        JL_RPC_INVALID_PARAMS = -32602,
        JL_RPC_INTERNAL_ERROR = -32603,
        /* ours, -32000..-32099; data.reason says the same in words */
        JL_RPC_PERMISSION_DENIED = -32001, /* "permission_denied" */
        JL_RPC_EXISTS = -32002,            /* "exists" */
        JL_RPC_NOT_FOUND = -32003,         /* "not_found" */
        JL_RPC_LIMIT_REACHED = -32004,     /* "limit_reached" */
        JL_RPC_INTERNAL = -32005,          /* "internal" */
        JL_RPC_SPAWN_FAILED = -32006,      /* "spawn_failed": the jail could not be started */
};

#endif

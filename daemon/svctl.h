/* SPDX-License-Identifier: MIT */
/*
 * Between jailerd and a jail's supervisor.  Both channels are
 * SOCK_SEQPACKET: one JSON object per message, no framing needed.
 *
 * Start channel (socketpair, fd JD_SUPERVISOR_NOTIFY_FD in the supervisor),
 * one message from the supervisor, then it is closed:
 *   {"started":{"pid":N,"started_at_us":N,"cgroup":"/sys/fs/cgroup/..."}}
 *   {"prepared":{...the same...}}  with SCM_RIGHTS: the handle that
 *        releases the jail (jailer_release()); jailerd holds it until start
 *   {"error":{"step":"cgroup","code":ERRNO,"field":"...","message":"..."}}
 * and, after "started" or "prepared", {"exited":true} when the report is
 * written.
 *
 * Control socket (<jail state dir>/control.sock, root only), request ->
 * reply, any number per connection:
 *   {"op":"kill","signal":N,"grace_ms":N}  -> {"ok":true}
 *        signal to the jail's PID 1; if grace_ms > 0 and the jail still
 *        runs when it expires, SIGKILL.  A later kill re-arms the timer.
 *   {"op":"start","released":B}  -> {"ok":true,"pid":N,"started_at_us":N}
 *        a prepared jail: released by jailerd already through its handle
 *        (B true: the answer says how that went), or released now.
 *        Fails with "not_prepared" or "spawn_failed" (step, code, field).
 *   {"op":"status"}  -> {"ok":true,"pid":N,"usage":{"cpu_usage_us":N,
 *                        "memory_current_bytes":N,"memory_peak_bytes":N,
 *                        "pids_current":N}}
 *   failure          -> {"ok":false,"reason":"not_running"|"invalid"|"internal"|...,
 *                        "message":"..."}
 */
#ifndef JAILERD_SVCTL_H
#define JAILERD_SVCTL_H

#define JD_SVCTL_MAX_MSG 4096

#endif

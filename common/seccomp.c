/* SPDX-License-Identifier: MIT */
/*
 * Seccomp: the last layer, installed right before execve (after
 * no_new_privs, which is what lets an unprivileged process install it).
 *
 * The baseline denies what a VMM never needs and what kernel exploits and
 * jail escapes lean on: new namespaces, the mount API, pivot_root/chroot,
 * kexec, modules, bpf, perf_event_open, the keyring, ptrace and friends,
 * userfaultfd (unless /dev/userfaultfd is granted), io_uring, personality
 * changes, open_by_handle_at, TIOCSTI.  Everything else is allowed, so that
 * QEMU, Firecracker and Cloud Hypervisor run unchanged (they install their
 * own, tighter filters on top).  Syscalls of a foreign ABI (32-bit int 0x80
 * on x86-64) kill the process: libseccomp's default for a filter that only
 * knows the native architecture.
 *
 * A profile in the OCI runtime-spec format (Docker's and Podman's) can
 * replace the baseline: see jl_seccomp_parse_oci().
 *
 * libseccomp compiles a filter into a BPF program; this file keeps the
 * program, not the libseccomp context, and compiles each distinct filter
 * once per process (see "Compiled programs" below).
 */
#include "jailer-internal.h"
#include "json-strict.h"
#include "json-util.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Denied by the baseline.  Names, not numbers: libseccomp resolves them for
 * the architecture and skips those this kernel/arch does not have. */
static const char *const baseline_deny[] = {
        /* namespaces (clone with CLONE_NEW* is handled below) */
        "unshare", "setns",
        /* mounts and root changes */
        "mount", "umount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig",
        "fsmount", "fspick", "mount_setattr",
        /* the kernel itself */
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
        "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "quotactl_fd", "lookup_dcookie",
        "nfsservctl", "uselib", "_sysctl", "sysfs", "ustat", "vhangup", "iopl", "ioperm",
        /* clocks */
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
        /* the usual exploit toolbox */
        "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at", "fanotify_init",
        "lsm_set_self_attr",
        /* other processes */
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
        /* device nodes: /dev is the jail's, made by the jailer */
        "mknod", "mknodat",
};

bool jl_seccomp_allowable(const char *name)
{
        static const char *const extra[] = { "clone3", "personality", "socket_vsock" };
        for (size_t i = 0; i < ELEMENTSOF(baseline_deny); i++)
                if (strcmp(baseline_deny[i], name) == 0)
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                if (strcmp(extra[i], name) == 0)
                        return true;
        return false;
}

static bool allowed_by_config(const jailer_config *c, const char *name)
{
        for (size_t i = 0; i < c->n_seccomp_allow; i++)
                if (strcmp(c->seccomp_allow[i], name) == 0)
                        return true;
        if (strcmp(name, "userfaultfd") == 0)
                for (size_t i = 0; i < c->n_devices; i++)
                        if (strcmp(c->devices[i], "/dev/userfaultfd") == 0)
                                return true;
        return false;
}

static int baseline(const jailer_config *c, scmp_filter_ctx ctx, uint32_t deny, jailer_error *err)
{
        for (size_t i = 0; i < ELEMENTSOF(baseline_deny); i++) {
                int nr = seccomp_syscall_resolve_name(baseline_deny[i]);
                if (nr == __NR_SCMP_ERROR || nr < 0)
                        continue; /* not on this architecture */
                if (allowed_by_config(c, baseline_deny[i]))
                        continue;
                int r = seccomp_rule_add(ctx, deny, nr, 0);
                if (r < 0)
                        return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: rule for %s",
                                        baseline_deny[i]);
        }

        /* clone() with any namespace flag.  clone3() passes its flags in
         * memory a filter cannot read: it gets ENOSYS, and libc falls back
         * to clone(), whose flags we can check. */
        static const uint64_t ns_flags[] = { CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS,
                                             CLONE_NEWIPC, CLONE_NEWCGROUP, CLONE_NEWTIME };
        for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
                int r = seccomp_rule_add(ctx, deny, SCMP_SYS(clone), 1,
                                         SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
                if (r < 0)
                        return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: clone rule");
        }
        if (!allowed_by_config(c, "clone3")) {
                int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
                if (r < 0)
                        return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: clone3 rule");
        }

        /* personality(): only querying and PER_LINUX.  Other personalities
         * change how the kernel lays out memory (ADDR_NO_RANDOMIZE, ...). */
        if (!allowed_by_config(c, "personality")) {
                /* Any flag that changes the memory layout or execution
                 * semantics.  (The query form, 0xffffffff, has them all set
                 * and is refused too: no VMM needs it.) */
                static const uint64_t bad[] = { ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO,
                                                ADDR_COMPAT_LAYOUT, ADDR_LIMIT_3GB, ADDR_LIMIT_32BIT,
                                                FDPIC_FUNCPTRS, STICKY_TIMEOUTS, SHORT_INODE, WHOLE_SECONDS };
                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        int r = seccomp_rule_add(ctx, deny, SCMP_SYS(personality), 1,
                                                 SCMP_A0(SCMP_CMP_MASKED_EQ, bad[i], bad[i]));
                        if (r < 0)
                                return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp",
                                                "seccomp: personality rule");
                }
        }

        /* AF_VSOCK ignores network namespaces (before Linux 7.0, and after
         * unless the host opts in): a jail on a VM host could reach other
         * guests' vsock services.  VMMs reach vsock through /dev/vhost-vsock
         * or a Unix socket, never through AF_VSOCK sockets of their own. */
        if (!allowed_by_config(c, "socket_vsock")) {
                int r = seccomp_rule_add(ctx, deny, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, 40 /* AF_VSOCK */));
                if (r < 0)
                        return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: socket rule");
        }

        /* Pushing input into a terminal (CVE-2017-5226) or its console. */
        static const unsigned long bad_ioctls[] = { TIOCSTI, TIOCLINUX };
        for (size_t i = 0; i < ELEMENTSOF(bad_ioctls); i++) {
                int r = seccomp_rule_add(ctx, deny, SCMP_SYS(ioctl), 1,
                                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t) bad_ioctls[i]));
                if (r < 0)
                        return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: ioctl rule");
        }
        return 0;
}

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}
#define _cleanup_seccomp_ _cleanup_(seccomp_releasep)

/* A filter of many rules as a binary tree of syscall numbers, not a list
 * of comparisons in rule order: the same verdicts, in O(log n) steps.  It
 * counts twice: for every system call the jailed program makes that the
 * kernel's per-filter cache does not settle, and at the load, when the
 * kernel runs the filter once for every syscall number of the
 * architecture to fill that cache, with interrupts off (the default
 * filter loads in a third of the time as a tree).  Not for
 * a filter of few rules: libseccomp before 2.5.4 drops the default action
 * of a tree of none, and a short list is as fast.  Should libseccomp
 * refuse, the list stays. */
static void as_tree(scmp_filter_ctx ctx, unsigned rules)
{
        if (rules >= 8)
                (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
}

static int compile_default(const jailer_config *c, scmp_filter_ctx *out, jailer_error *err)
{
        uint32_t deny = c->seccomp_kill ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM);
        _cleanup_seccomp_ scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

        if (!ctx)
                return jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp_init");
        if (baseline(c, ctx, deny, err) < 0)
                return -1;
        as_tree(ctx, 8);        /* its clone() rules alone are eight */
        *out = TAKE_PTR(ctx);
        return 0;
}

/* ------------------------------------------------------------ OCI profiles */

static int oci_action(const char *name, uint32_t errno_ret, uint32_t *out)
{
        static const struct {
                const char *name;
                uint32_t action;
        } map[] = {
                { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
                { "SCMP_ACT_KILL", SCMP_ACT_KILL },
                { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
                { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
                { "SCMP_ACT_LOG", SCMP_ACT_LOG },
        };
        if (strcmp(name, "SCMP_ACT_ERRNO") == 0) {
                *out = SCMP_ACT_ERRNO(errno_ret);
                return 0;
        }
        if (strcmp(name, "SCMP_ACT_TRACE") == 0) {
                *out = SCMP_ACT_TRACE(errno_ret);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(name, map[i].name) == 0) {
                        *out = map[i].action;
                        return 0;
                }
        return -1;
}

static int oci_op(const char *name, enum scmp_compare *out)
{
        static const struct {
                const char *name;
                enum scmp_compare op;
        } map[] = {
                { "SCMP_CMP_NE", SCMP_CMP_NE },       { "SCMP_CMP_LT", SCMP_CMP_LT },
                { "SCMP_CMP_LE", SCMP_CMP_LE },       { "SCMP_CMP_EQ", SCMP_CMP_EQ },
                { "SCMP_CMP_GE", SCMP_CMP_GE },       { "SCMP_CMP_GT", SCMP_CMP_GT },
                { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(name, map[i].name) == 0) {
                        *out = map[i].op;
                        return 0;
                }
        return -1;
}

/* Strict accessors: a profile with a wrong type is refused, never half-used. */
static int get_u64(json_object *o, const char *key, uint64_t *out, bool *present)
{
        json_object *v;
        *present = json_object_object_get_ex(o, key, &v) && v;
        if (!*present)
                return 0;
        if (!json_object_is_type(v, json_type_int))
                return -1;
        int64_t i = json_object_get_int64(v);
        if (i < 0) {
                /* json-c stores values above INT64_MAX as uint64 */
                uint64_t u = json_object_get_uint64(v);
                if (u <= INT64_MAX)
                        return -1;
                *out = u;
                return 0;
        }
        *out = (uint64_t) json_object_get_uint64(v);
        return 0;
}

static const char *get_str(json_object *o, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* One profile being turned into a filter. */
typedef struct oci_parse {
        const char *path;       /* names the profile in messages */
        jailer_error *err;
        scmp_filter_ctx ctx;
        uint64_t def_errno;
        uint32_t def_action;
        unsigned *rules;        /* how many were added */
} oci_parse;

/* "seccomp: PATH: ELEMENT: what is wrong" (ELEMENT may be NULL).  Messages
 * name the element at fault, never its bytes: the file may be one the
 * requester could not read. */
_printf_(3, 4) static int oci_fail(const oci_parse *x, const char *elem, const char *fmt, ...)
{
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return jl_error(x->err, JAILER_STEP_SECCOMP, 0, "seccomp", "seccomp: %s: %s%s%s", x->path,
                        elem ? elem : "", elem ? ": " : "", msg);
}

/* The strict reader every input goes through; its reason quotes nothing of
 * the profile. */
static int oci_read_json(const oci_parse *x, const char *json, size_t len, json_object **root)
{
        static const jl_json_limits limits = { .max_depth = 16 };
        jl_json_error jerr;

        if (jl_json_parse(json, len, &limits, root, &jerr) == 0)
                return 0;
        if (jerr.fault == JL_JSON_NO_MEMORY)
                return jl_error(x->err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp: %s", x->path);
        if (jerr.fault == JL_JSON_SYNTAX)
                return oci_fail(x, NULL, "invalid JSON at line %zu, column %zu: %s", jerr.line, jerr.column,
                                jerr.reason);
        return oci_fail(x, NULL, "invalid profile: %s", jerr.reason);
}

static int oci_check_keys(const oci_parse *x, json_object *root)
{
        static const char *const known[] = { "defaultAction", "defaultErrnoRet", "architectures", "archMap",
                                             "syscalls", "flags", "listenerPath", "listenerMetadata" };
        size_t key_index = 0;

        if (!json_object_is_type(root, json_type_object))
                return oci_fail(x, NULL, "the profile must be a JSON object");
        json_object_object_foreach(root, key, val) {
                (void) val;
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(known); i++)
                        ok |= strcmp(key, known[i]) == 0;
                if (!ok)
                        return oci_fail(x, NULL, "key %zu of the top-level object is not an OCI seccomp key",
                                        key_index);
                key_index++;
        }
        return 0;
}

/* defaultErrnoRet and defaultAction; then the context, with that default. */
static int oci_default_action(oci_parse *x, json_object *root, scmp_filter_ctx *ctx)
{
        bool present;

        x->def_errno = EPERM;
        if (get_u64(root, "defaultErrnoRet", &x->def_errno, &present) < 0 || x->def_errno > 4095)
                return oci_fail(x, "defaultErrnoRet", "not an errno number");
        const char *def = get_str(root, "defaultAction");
        if (!def || oci_action(def, (uint32_t) x->def_errno, &x->def_action) < 0)
                return oci_fail(x, "defaultAction", "missing or not an SCMP_ACT_ action");
        *ctx = seccomp_init(x->def_action);
        if (!*ctx)
                return jl_error(x->err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp_init");
        x->ctx = *ctx;
        return 0;
}

static int oci_add_architecture(const oci_parse *x, json_object *a, const char *elem)
{
        const char *an = json_object_is_type(a, json_type_string) ? json_object_get_string(a) : NULL;
        if (!an || strncmp(an, "SCMP_ARCH_", 10) != 0)
                return oci_fail(x, elem, "not an SCMP_ARCH_ name");

        char lower[32];
        size_t k = 0;
        for (const char *p = an + 10; *p && k < sizeof(lower) - 1; p++)
                lower[k++] = (char) ((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
        lower[k] = '\0';
        uint32_t arch = seccomp_arch_resolve_name(lower);
        if (arch == 0)
                return oci_fail(x, elem, "not an architecture libseccomp knows");
        int r = seccomp_arch_add(x->ctx, arch);
        if (r < 0 && r != -EEXIST)
                return oci_fail(x, elem, "cannot be added");
        return 0;
}

static int oci_add_architectures(const oci_parse *x, json_object *root)
{
        json_object *arches;

        if (!json_object_object_get_ex(root, "architectures", &arches) || !arches)
                return 0;
        if (!json_object_is_type(arches, json_type_array))
                return oci_fail(x, "architectures", "not an array");
        for (size_t i = 0; i < json_object_array_length(arches); i++) {
                char elem[48];
                snprintf(elem, sizeof(elem), "architectures[%zu]", i);
                if (oci_add_architecture(x, json_object_array_get_idx(arches, i), elem) < 0)
                        return -1;
        }
        return 0;
}

/* syscalls[i].args: at most 6 comparisons, into cmps. */
static int oci_rule_args(const oci_parse *x, json_object *rule, size_t i, struct scmp_arg_cmp cmps[6],
                         unsigned *n_cmps)
{
        json_object *args;
        char elem[64];

        *n_cmps = 0;
        if (!json_object_object_get_ex(rule, "args", &args) || !args)
                return 0;
        snprintf(elem, sizeof(elem), "syscalls[%zu].args", i);
        if (!json_object_is_type(args, json_type_array) || json_object_array_length(args) > 6)
                return oci_fail(x, elem, "not an array of at most 6");

        for (size_t k = 0; k < json_object_array_length(args); k++) {
                json_object *a = json_object_array_get_idx(args, k);
                uint64_t index = 0, value = 0, value2 = 0;
                bool has_index, p2, p3;
                enum scmp_compare op;

                snprintf(elem, sizeof(elem), "syscalls[%zu].args[%zu]", i, k);
                if (!json_object_is_type(a, json_type_object))
                        return oci_fail(x, elem, "not an object");
                const char *opn = get_str(a, "op");
                if (!opn || oci_op(opn, &op) < 0)
                        return oci_fail(x, elem, "op is missing or not an SCMP_CMP_ operator");
                if (get_u64(a, "index", &index, &has_index) < 0 || !has_index || index > 5)
                        return oci_fail(x, elem, "index is missing or not 0 to 5");
                if (get_u64(a, "value", &value, &p2) < 0 || get_u64(a, "valueTwo", &value2, &p3) < 0)
                        return oci_fail(x, elem, "value or valueTwo is not an unsigned integer");
                cmps[(*n_cmps)++] = (struct scmp_arg_cmp) {
                        .arg = (unsigned) index,
                        .op = op,
                        .datum_a = value,
                        .datum_b = value2,
                };
        }
        return 0;
}

/* One rule per name of syscalls[i].names. */
static int oci_rule_names(const oci_parse *x, json_object *names, size_t i, uint32_t action,
                          const struct scmp_arg_cmp *cmps, unsigned n_cmps)
{
        for (size_t k = 0; k < json_object_array_length(names); k++) {
                json_object *nm = json_object_array_get_idx(names, k);
                char elem[64];

                snprintf(elem, sizeof(elem), "syscalls[%zu].names[%zu]", i, k);
                if (!json_object_is_type(nm, json_type_string))
                        return oci_fail(x, elem, "not a string");
                int nr = seccomp_syscall_resolve_name(json_object_get_string(nm));
                if (nr == __NR_SCMP_ERROR)
                        continue; /* unknown here: profiles list syscalls of every kernel */
                int r = seccomp_rule_add_array(x->ctx, action, nr, n_cmps, cmps);
                if (r < 0 && r != -EEXIST)
                        return oci_fail(x, elem, "the rule cannot be added: %s", strerror(-r));
                if (r == 0)
                        (*x->rules)++;
        }
        return 0;
}

static int oci_add_rule(const oci_parse *x, json_object *rule, size_t i)
{
        char elem[48];
        bool present;
        uint64_t eret = x->def_errno;
        uint32_t action;
        struct scmp_arg_cmp cmps[6];
        unsigned n_cmps;
        json_object *names;

        snprintf(elem, sizeof(elem), "syscalls[%zu]", i);
        if (!json_object_is_type(rule, json_type_object))
                return oci_fail(x, elem, "not an object");
        if (get_u64(rule, "errnoRet", &eret, &present) < 0 || eret > 4095)
                return oci_fail(x, elem, "errnoRet is not an errno number");
        const char *an = get_str(rule, "action");
        if (!an || oci_action(an, (uint32_t) eret, &action) < 0)
                return oci_fail(x, elem, "action is missing or not an SCMP_ACT_ action");
        if (oci_rule_args(x, rule, i, cmps, &n_cmps) < 0)
                return -1;
        if (!json_object_object_get_ex(rule, "names", &names) || !json_object_is_type(names, json_type_array))
                return oci_fail(x, elem, "names is not an array");
        if (action == x->def_action)
                return 0; /* libseccomp refuses rules equal to the default */
        return oci_rule_names(x, names, i, action, cmps, n_cmps);
}

static int oci_add_syscalls(const oci_parse *x, json_object *root)
{
        json_object *calls;

        if (!json_object_object_get_ex(root, "syscalls", &calls) || !calls)
                return 0;
        if (!json_object_is_type(calls, json_type_array))
                return oci_fail(x, "syscalls", "not an array");
        for (size_t i = 0; i < json_object_array_length(calls); i++)
                if (oci_add_rule(x, json_object_array_get_idx(calls, i), i) < 0)
                        return -1;
        return 0;
}

int jl_seccomp_parse_oci(const char *json, size_t len, const char *path, scmp_filter_ctx_t *out, jailer_error *err)
{
        _cleanup_json_ json_object *root = NULL;
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        unsigned rules = 0;
        oci_parse x = { .path = path, .err = err, .rules = &rules };

        *out = NULL;
        if (oci_read_json(&x, json, len, &root) < 0 || oci_check_keys(&x, root) < 0 ||
            oci_default_action(&x, root, &ctx) < 0 || oci_add_architectures(&x, root) < 0 ||
            oci_add_syscalls(&x, root) < 0)
                return -1;
        as_tree(ctx, rules);
        *out = TAKE_PTR(ctx);
        return 0;
}

/* The largest profile read: Docker's default is 20 KiB. */
#define PROFILE_MAX (1 << 20)

/* The whole profile behind fd, NUL-terminated, in *out (malloc'd).
 * From offset 0 by pread(): the fd's offset may be shared with whoever
 * passed it. */
static int read_profile(int fd, const char *name, char **out, size_t *len, jailer_error *err)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: %s", name);
        if (!S_ISREG(st.st_mode))
                return jl_error(err, JAILER_STEP_SECCOMP, 0, "seccomp", "seccomp: %s is %s, not a regular file",
                                name, jl_file_type_name(st.st_mode));
        int r = jl_read_fd_all(fd, PROFILE_MAX, true, out, len);
        if (r == -EFBIG)
                return jl_error(err, JAILER_STEP_SECCOMP, 0, "seccomp", "seccomp: %s is larger than 1 MiB", name);
        if (r < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: %s", name);
        return 0;
}

int jl_seccomp_profile_snapshot(int fd, const char *name, jailer_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len, done = 0;

        if (read_profile(fd, name, &buf, &len, err) < 0)
                return -1;
        _cleanup_close_ int mfd = memfd_create("seccomp-profile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: %s: memfd_create", name);
        while (done < len) {
                ssize_t n = write(mfd, buf + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return jl_error(err, JAILER_STEP_SECCOMP, n < 0 ? errno : EIO, "seccomp", "seccomp: %s",
                                        name);
                done += (size_t) n;
        }
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: %s: seal", name);
        return TAKE_FD(mfd);
}

/* The profile c names: the fd a daemon opened for its client, or a path
 * of root's own config (the jailer CLI), opened once by the safe walk,
 * non-blocking (a FIFO fails at once instead of hanging). */
static int read_config_profile(const jailer_config *c, char **out, size_t *len, jailer_error *err)
{
        if (c->seccomp_fd >= 0)
                return read_profile(c->seccomp_fd, c->seccomp, out, len, err);

        char why[256] = "";
        _cleanup_close_ int fd = jl_open_host(c->seccomp, JL_TYPE_REG, O_RDONLY, why, sizeof(why));
        if (fd < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, why[0] ? 0 : errno, "seccomp", "seccomp: %s%s%s",
                                c->seccomp, why[0] ? ": " : "", why);
        return read_profile(fd, c->seccomp, out, len, err);
}

int jl_seccomp_compile(const jailer_config *c, scmp_filter_ctx_t *out, jailer_error *err)
{
        *out = NULL;
        if (!c->seccomp || strcmp(c->seccomp, "default") == 0)
                return compile_default(c, out, err);
        if (strcmp(c->seccomp, "none") == 0)
                return 0;

        _cleanup_free_ char *buf = NULL;
        size_t len;
        if (read_config_profile(c, &buf, &len, err) < 0)
                return -1;
        return jl_seccomp_parse_oci(buf, len, c->seccomp, out, err);
}

/* ------------------------------------------------------------ compiled programs
 *
 * What the child loads is a BPF program, and libseccomp spends most of a
 * jail's seccomp time building it from rules.  So each distinct filter is
 * compiled once per process and kept: the default profile keyed by what
 * shapes it (the architecture, deny-by-kill, which baseline entries the
 * config allows), an OCI profile by its bytes (and the architecture).  A
 * key is compared in full, never by hash alone: two profiles never share a
 * program by accident or by a crafted collision.
 *
 * The cache is plain memory of the process, so a process that forks after
 * filling it (jailer_seccomp_prepare(), or one spawn) hands its children
 * the programs for free.  It is bounded (CACHE_MAX_ENTRIES programs and
 * CACHE_MAX_BYTES of keys; the least recently used goes first) and guarded
 * by a mutex that pthread_atfork() releases in the child, so it is also
 * safe to use from several threads and after fork().  A program is
 * reference-counted: one evicted while a spawn uses it lives until that
 * spawn releases it. */

#define CACHE_MAX_ENTRIES 16
#define CACHE_MAX_BYTES (4u << 20)

struct jl_seccomp_prog {
        unsigned refs;
        bool early;                     /* see jl_seccomp_early() */
        struct sock_fprog fprog;        /* .filter points at insns */
        struct sock_filter insns[];
};

struct cache_entry {
        uint64_t hash;
        char *key;
        size_t key_len;
        uint64_t used;          /* cache_clock at the last hit */
        jl_seccomp_prog *prog;
};

static struct cache_entry cache[CACHE_MAX_ENTRIES];
static size_t cache_bytes;
static uint64_t cache_clock;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_lock_take(void)
{
        (void) pthread_mutex_lock(&cache_lock);
}

static void cache_lock_drop(void)
{
        (void) pthread_mutex_unlock(&cache_lock);
}

static void cache_init(void)
{
        /* A fork() while another thread holds the lock would leave the
         * child's copy locked for good. */
        (void) pthread_atfork(cache_lock_take, cache_lock_drop, cache_lock_drop);
}

static void cache_lock_(void)
{
        (void) pthread_once(&cache_once, cache_init);
        cache_lock_take();
}

/* Under the lock. */
static void prog_unref_locked(jl_seccomp_prog *p)
{
        if (p && --p->refs == 0)
                free(p);
}

void jl_seccomp_release(jl_seccomp_prog *p)
{
        if (!p)
                return;
        cache_lock_();
        prog_unref_locked(p);
        cache_lock_drop();
}

int jl_seccomp_prog_bpf(const jl_seccomp_prog *p, const void **insns, size_t *len)
{
        *insns = p->insns;
        *len = p->fprog.len * sizeof(struct sock_filter);
        return 0;
}

static uint64_t fnv1a(const char *s, size_t len)
{
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) s[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

/* What the kernel's filter would answer for system call nr of architecture
 * arch, run as classic BPF over struct seccomp_data: 0 with the return value
 * in *ret, or -1 when the answer depends on something else (the arguments,
 * the instruction pointer) or the program does what this reader does not
 * follow.  Only the instructions the kernel accepts in a seccomp filter
 * (seccomp_check_filter()) are followed; classic BPF jumps only forward, so
 * the walk ends within len steps. */
int jl_seccomp_bpf_verdict(const struct sock_filter *f, size_t len, uint32_t arch, int nr, uint32_t *ret)
{
        uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

        for (size_t pc = 0; pc < len; pc++) {
                const struct sock_filter *i = &f[pc];
                uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k, jump;

                switch (i->code) {
                case BPF_LD | BPF_W | BPF_ABS:
                        if (i->k == offsetof(struct seccomp_data, nr))
                                a = (uint32_t) nr;
                        else if (i->k == offsetof(struct seccomp_data, arch))
                                a = arch;
                        else
                                return -1;      /* an argument, the instruction pointer */
                        break;
                case BPF_LD | BPF_W | BPF_LEN:
                        a = sizeof(struct seccomp_data);
                        break;
                case BPF_LDX | BPF_W | BPF_LEN:
                        x = sizeof(struct seccomp_data);
                        break;
                case BPF_LD | BPF_IMM:
                        a = i->k;
                        break;
                case BPF_LDX | BPF_IMM:
                        x = i->k;
                        break;
                case BPF_LD | BPF_MEM:
                case BPF_LDX | BPF_MEM:
                case BPF_ST:
                case BPF_STX:
                        if (i->k >= BPF_MEMWORDS)
                                return -1;
                        if (i->code == (BPF_LD | BPF_MEM))
                                a = mem[i->k];
                        else if (i->code == (BPF_LDX | BPF_MEM))
                                x = mem[i->k];
                        else
                                mem[i->k] = i->code == BPF_ST ? a : x;
                        break;
                case BPF_MISC | BPF_TAX:
                        x = a;
                        break;
                case BPF_MISC | BPF_TXA:
                        a = x;
                        break;
                case BPF_ALU | BPF_NEG:
                        a = -a;
                        break;
                case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X: a += src; break;
                case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X: a -= src; break;
                case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X: a *= src; break;
                case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X: a &= src; break;
                case BPF_ALU | BPF_OR | BPF_K:  case BPF_ALU | BPF_OR | BPF_X:  a |= src; break;
                case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X: a ^= src; break;
                case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
                        if (src == 0)
                                return -1;
                        a /= src;
                        break;
                case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
                case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X:
                        if (src >= 32)
                                return -1;
                        a = BPF_OP(i->code) == BPF_LSH ? a << src : a >> src;
                        break;
                case BPF_JMP | BPF_JA:
                        if (i->k >= len - pc - 1)
                                return -1;
                        pc += i->k;
                        break;
                case BPF_JMP | BPF_JEQ | BPF_K:  case BPF_JMP | BPF_JEQ | BPF_X:
                case BPF_JMP | BPF_JGT | BPF_K:  case BPF_JMP | BPF_JGT | BPF_X:
                case BPF_JMP | BPF_JGE | BPF_K:  case BPF_JMP | BPF_JGE | BPF_X:
                case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X: {
                        bool taken = BPF_OP(i->code) == BPF_JEQ ? a == src :
                                     BPF_OP(i->code) == BPF_JGT ? a > src :
                                     BPF_OP(i->code) == BPF_JGE ? a >= src : (a & src) != 0;
                        jump = taken ? i->jt : i->jf;
                        if (jump >= len - pc - 1)
                                return -1;
                        pc += jump;
                        break;
                }
                case BPF_RET | BPF_K:
                        *ret = i->k;
                        return 0;
                case BPF_RET | BPF_A:
                        *ret = a;
                        return 0;
                default:
                        return -1;
                }
        }
        return -1;      /* fell off the end: the kernel refuses such a program */
}

int jl_seccomp_prog_verdict(const jl_seccomp_prog *p, uint32_t arch, int nr, uint32_t *ret)
{
        return jl_seccomp_bpf_verdict(p->insns, p->fprog.len, arch, nr, ret);
}

/* Is the filter one a prepared jail may install before it waits for
 * start?  It then waits in recvfrom() and is released by sendto()/execve(),
 * so the filter must let recvfrom and sendto through whatever their
 * arguments (the program's other calls before the execve are needed by the
 * late install too).  Only where glibc's recv()/send() are those system
 * calls. */
static bool early_ok(const jl_seccomp_prog *p)
{
#if defined(__x86_64__) || defined(__aarch64__)
        static const int nrs[] = { __NR_recvfrom, __NR_sendto };
        uint32_t arch = seccomp_arch_native(), ret;

        for (size_t i = 0; i < ELEMENTSOF(nrs); i++)
                if (jl_seccomp_prog_verdict(p, arch, nrs[i], &ret) < 0 ||
                    (ret & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW)
                        return false;
        return true;
#else
        (void) p;
        return false;
#endif
}

bool jl_seccomp_early(const jl_seccomp_prog *p)
{
        return p && p->early;
}

/* The BPF of ctx, byte for byte what seccomp_load() would hand the kernel. */
static int export_bpf(scmp_filter_ctx ctx, jl_seccomp_prog **out, jailer_error *err)
{
        _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: memfd_create");
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: export the filter");

        _cleanup_free_ char *buf = NULL;
        size_t len;
        r = jl_read_fd_all(fd, BPF_MAXINSNS * sizeof(struct sock_filter), true, &buf, &len);
        if (r < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: read the exported filter");
        if (len == 0 || len % sizeof(struct sock_filter) != 0)
                return jl_error(err, JAILER_STEP_SECCOMP, EINVAL, "seccomp",
                                "seccomp: libseccomp exported %zu bytes, not a BPF program", len);

        jl_seccomp_prog *p = malloc(sizeof(*p) + len);
        if (!p)
                return jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp");
        memcpy(p->insns, buf, len);
        p->refs = 1;
        p->fprog.len = (unsigned short) (len / sizeof(struct sock_filter));
        p->fprog.filter = p->insns;
        p->early = early_ok(p);
        *out = p;
        return 0;
}

/* The key of c's filter ('D' or 'O', the architecture, then what shapes
 * it), malloc'd.  For a profile, its bytes are read here. */
static int filter_key(const jailer_config *c, char **out, size_t *len, jailer_error *err)
{
        uint32_t arch = seccomp_arch_native();
        _cleanup_free_ char *body = NULL;
        size_t body_len;
        char kind;

        if (!c->seccomp || strcmp(c->seccomp, "default") == 0) {
                static const char *const extra[] = { "clone3", "personality", "socket_vsock" };
                kind = 'D';
                body_len = 1 + ELEMENTSOF(baseline_deny) + ELEMENTSOF(extra);
                body = malloc(body_len);
                if (!body)
                        return jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp");
                size_t k = 0;
                body[k++] = c->seccomp_kill ? 'k' : 'e';
                for (size_t i = 0; i < ELEMENTSOF(baseline_deny); i++)
                        body[k++] = allowed_by_config(c, baseline_deny[i]) ? 'a' : 'd';
                for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                        body[k++] = allowed_by_config(c, extra[i]) ? 'a' : 'd';
        } else {
                kind = 'O';
                if (read_config_profile(c, &body, &body_len, err) < 0)
                        return -1;
        }

        char *key = malloc(1 + sizeof(arch) + body_len);
        if (!key)
                return jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp");
        key[0] = kind;
        memcpy(key + 1, &arch, sizeof(arch));
        memcpy(key + 1 + sizeof(arch), body, body_len);
        *out = key;
        *len = 1 + sizeof(arch) + body_len;
        return 0;
}

/* Under the lock: the entry for key, or NULL. */
static struct cache_entry *cache_find(const char *key, size_t len, uint64_t hash)
{
        for (size_t i = 0; i < CACHE_MAX_ENTRIES; i++) {
                struct cache_entry *e = &cache[i];
                if (e->prog && e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0)
                        return e;
        }
        return NULL;
}

static void cache_evict(struct cache_entry *e)
{
        cache_bytes -= e->key_len;
        free(e->key);
        prog_unref_locked(e->prog);
        *e = (struct cache_entry) { 0 };
}

/* Under the lock: keep p under key (which the cache takes), making room
 * first.  When the key alone is over the bound, p is not kept. */
static void cache_insert(char *key, size_t len, uint64_t hash, jl_seccomp_prog *p)
{
        if (len > CACHE_MAX_BYTES) {
                free(key);
                return;
        }
        for (;;) {
                struct cache_entry *free_slot = NULL, *oldest = NULL;
                for (size_t i = 0; i < CACHE_MAX_ENTRIES; i++) {
                        if (!cache[i].prog)
                                free_slot = free_slot ? free_slot : &cache[i];
                        else if (!oldest || cache[i].used < oldest->used)
                                oldest = &cache[i];
                }
                if (free_slot && cache_bytes + len <= CACHE_MAX_BYTES) {
                        p->refs++;
                        *free_slot = (struct cache_entry) {
                                .hash = hash, .key = key, .key_len = len, .used = ++cache_clock, .prog = p,
                        };
                        cache_bytes += len;
                        return;
                }
                cache_evict(oldest);
        }
}

/* The cached program for key, with a reference for the caller, or NULL. */
static jl_seccomp_prog *cache_get(const char *key, size_t len, uint64_t hash)
{
        jl_seccomp_prog *p = NULL;

        cache_lock_();
        struct cache_entry *e = cache_find(key, len, hash);
        if (e) {
                e->used = ++cache_clock;
                p = e->prog;
                p->refs++;
        }
        cache_lock_drop();
        return p;
}

int jl_seccomp_prepare(const jailer_config *c, jl_seccomp_prog **out, jailer_error *err)
{
        _cleanup_free_ char *key = NULL;
        size_t len = 0;

        *out = NULL;
        if (c->seccomp && strcmp(c->seccomp, "none") == 0)
                return 0;

        /* A profile is read here, in the host's namespaces, where its path
         * means what the operator meant; the child only loads the result. */
        if (filter_key(c, &key, &len, err) < 0)
                return -1;
        uint64_t hash = fnv1a(key, len);
        *out = cache_get(key, len, hash);
        if (*out)
                return 0;

        /* Compiled outside the lock: two threads may both compile the same
         * filter once; the second keeps the first's. */
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        jl_seccomp_prog *p = NULL;
        if (key[0] == 'D' ? compile_default(c, &ctx, err) < 0
                          : jl_seccomp_parse_oci(key + 1 + sizeof(uint32_t), len - 1 - sizeof(uint32_t),
                                                 c->seccomp, &ctx, err) < 0)
                return -1;
        if (export_bpf(ctx, &p, err) < 0)
                return -1;

        /* p's one reference is the caller's; the cache takes its own. */
        cache_lock_();
        struct cache_entry *e = cache_find(key, len, hash);
        if (e) {
                prog_unref_locked(p);
                p = e->prog;
                p->refs++;
        } else
                cache_insert(TAKE_PTR(key), len, hash, p);
        cache_lock_drop();
        *out = p;
        return 0;
}

int jailer_seccomp_prepare(const jailer_config *c, jailer_error *err)
{
        jl_seccomp_prog *p = NULL;

        if (jl_seccomp_prepare(c, &p, err) < 0)
                return -1;
        jl_seccomp_release(p);
        return 0;
}

int jl_seccomp_apply_child(const jl_seccomp_prog *p, jailer_error *err)
{
        if (!p)
                return 0;
        /* What seccomp_load() does with our context's attributes (no_new_privs
         * on, TSYNC): no_new_privs (already set by the privileges step, so
         * no privilege is needed), then the program for every thread.
         * Kernels without seccomp(2) take it by prctl(), as libseccomp
         * falls back; the child has one thread then. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: no_new_privs");
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &p->fprog);
        if (r < 0 && errno == ENOSYS)
                r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p->fprog, 0, 0);
        if (r > 0)      /* the id of a thread that could not be synchronised */
                errno = ESRCH;
        if (r != 0)
                return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: load the filter");
        return 0;
}

/* The public forms (jailer.h). */
bool jailer_seccomp_allowable(const char *name)
{
        return jl_seccomp_allowable(name);
}

int jailer_seccomp_profile_snapshot(int fd, const char *name, jailer_error *err)
{
        return jl_seccomp_profile_snapshot(fd, name, err);
}

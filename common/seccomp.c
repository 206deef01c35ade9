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
 * replace the baseline: see jl_seccomp_load_oci().
 */
#include "jailer-internal.h"
#include "json-strict.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>

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

int jl_seccomp_prepare(const jailer_config *c, scmp_filter_ctx_t *out, jailer_error *err)
{
        *out = NULL;
        const char *mode = c->seccomp ? c->seccomp : "default";
        if (strcmp(mode, "none") == 0)
                return 0;

        /* A profile is read here, in the host's namespaces, where its path
         * means what the operator meant; the child only loads the result. */
        if (strcmp(mode, "default") != 0)
                return c->seccomp_fd >= 0 ? jl_seccomp_load_oci_fd(c->seccomp_fd, mode, out, err)
                                          : jl_seccomp_load_oci(mode, out, err);

        uint32_t deny = c->seccomp_kill ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM);
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp_init");
        if (baseline(c, ctx, deny, err) < 0) {
                seccomp_release(ctx);
                return -1;
        }
        *out = ctx;
        return 0;
}

void jl_seccomp_release(scmp_filter_ctx_t ctx)
{
        if (ctx)
                seccomp_release(ctx);
}

int jl_seccomp_apply_child(scmp_filter_ctx_t ctx, jailer_error *err)
{
        if (!ctx)
                return 0;
        /* The filter applies to every thread, and no_new_privs is already
         * set, so no privilege is needed to install it. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        int r = seccomp_load(ctx);
        if (r < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, -r, "seccomp", "seccomp: load the filter");
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

_printf_(3, 4) static int oci_fail(jailer_error *err, const char *path, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return jl_error(err, JAILER_STEP_SECCOMP, 0, "seccomp", "seccomp: %s: %s", path, msg);
}

int jl_seccomp_parse_oci(const char *json, size_t len, const char *path, scmp_filter_ctx_t *out, jailer_error *err)
{
        *out = NULL;
        /* The strict reader every input goes through; its reason quotes
         * nothing of the profile (a message about a profile never does). */
        static const jl_json_limits limits = { .max_depth = 16 };
        json_object *root = NULL;
        jl_json_error jerr;

        if (jl_json_parse(json, len, &limits, &root, &jerr) < 0) {
                if (jerr.fault == JL_JSON_NO_MEMORY)
                        return jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp: %s", path);
                if (jerr.fault == JL_JSON_SYNTAX)
                        return jl_error(err, JAILER_STEP_SECCOMP, 0, "seccomp",
                                        "seccomp: %s: invalid JSON at line %zu, column %zu: %s", path, jerr.line,
                                        jerr.column, jerr.reason);
                return jl_error(err, JAILER_STEP_SECCOMP, 0, "seccomp", "seccomp: %s: invalid profile: %s", path,
                                jerr.reason);
        }

        int ret = -1;
        scmp_filter_ctx ctx = NULL;
        bool present;
        uint64_t def_errno = EPERM;

        if (!json_object_is_type(root, json_type_object)) {
                oci_fail(err, path, "the profile must be a JSON object");
                goto out;
        }
        size_t key_index = 0;
        json_object_object_foreach(root, key, val) {
                (void) val;
                static const char *const known[] = { "defaultAction", "defaultErrnoRet", "architectures",
                                                     "archMap", "syscalls", "flags", "listenerPath",
                                                     "listenerMetadata" };
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(known); i++)
                        ok |= strcmp(key, known[i]) == 0;
                if (!ok) {
                        oci_fail(err, path, "key %zu of the top-level object is not an OCI seccomp key", key_index);
                        goto out;
                }
                key_index++;
        }
        if (get_u64(root, "defaultErrnoRet", &def_errno, &present) < 0 || def_errno > 4095) {
                oci_fail(err, path, "defaultErrnoRet must be an errno number");
                goto out;
        }
        const char *def = get_str(root, "defaultAction");
        uint32_t def_action;
        if (!def || oci_action(def, (uint32_t) def_errno, &def_action) < 0) {
                oci_fail(err, path, "defaultAction is missing or not an SCMP_ACT_ action");
                goto out;
        }
        ctx = seccomp_init(def_action);
        if (!ctx) {
                jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp_init");
                goto out;
        }

        json_object *arches;
        if (json_object_object_get_ex(root, "architectures", &arches) && arches) {
                if (!json_object_is_type(arches, json_type_array)) {
                        oci_fail(err, path, "architectures must be an array");
                        goto out;
                }
                for (size_t i = 0; i < json_object_array_length(arches); i++) {
                        json_object *a = json_object_array_get_idx(arches, i);
                        const char *an = json_object_is_type(a, json_type_string) ? json_object_get_string(a)
                                                                                  : NULL;
                        if (!an || strncmp(an, "SCMP_ARCH_", 10) != 0) {
                                oci_fail(err, path, "architectures[%zu] is not an SCMP_ARCH_ name", i);
                                goto out;
                        }
                        char lower[32];
                        size_t k = 0;
                        for (const char *p = an + 10; *p && k < sizeof(lower) - 1; p++)
                                lower[k++] = (char) ((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
                        lower[k] = '\0';
                        uint32_t arch = seccomp_arch_resolve_name(lower);
                        if (arch == 0) {
                                oci_fail(err, path, "architectures[%zu] is not an architecture libseccomp knows", i);
                                goto out;
                        }
                        int r = seccomp_arch_add(ctx, arch);
                        if (r < 0 && r != -EEXIST) {
                                oci_fail(err, path, "architectures[%zu] cannot be added", i);
                                goto out;
                        }
                }
        }

        json_object *calls;
        if (json_object_object_get_ex(root, "syscalls", &calls) && calls) {
                if (!json_object_is_type(calls, json_type_array)) {
                        oci_fail(err, path, "syscalls must be an array");
                        goto out;
                }
                for (size_t i = 0; i < json_object_array_length(calls); i++) {
                        json_object *rule = json_object_array_get_idx(calls, i);
                        if (!json_object_is_type(rule, json_type_object)) {
                                oci_fail(err, path, "syscalls[%zu] is not an object", i);
                                goto out;
                        }
                        uint64_t eret = def_errno;
                        if (get_u64(rule, "errnoRet", &eret, &present) < 0 || eret > 4095) {
                                oci_fail(err, path, "syscalls[%zu].errnoRet is not an errno number", i);
                                goto out;
                        }
                        const char *an = get_str(rule, "action");
                        uint32_t action;
                        if (!an || oci_action(an, (uint32_t) eret, &action) < 0) {
                                oci_fail(err, path, "syscalls[%zu].action is missing or not an SCMP_ACT_ action", i);
                                goto out;
                        }
                        struct scmp_arg_cmp cmps[6];
                        unsigned n_cmps = 0;
                        json_object *args;
                        if (json_object_object_get_ex(rule, "args", &args) && args) {
                                if (!json_object_is_type(args, json_type_array) ||
                                    json_object_array_length(args) > 6) {
                                        oci_fail(err, path, "syscalls[%zu].args is not an array of at most 6", i);
                                        goto out;
                                }
                                for (size_t k = 0; k < json_object_array_length(args); k++) {
                                        json_object *a = json_object_array_get_idx(args, k);
                                        uint64_t index = 0, value = 0, value2 = 0;
                                        bool p1, p2, p3;
                                        enum scmp_compare op;
                                        const char *opn = json_object_is_type(a, json_type_object)
                                                                  ? get_str(a, "op")
                                                                  : NULL;
                                        if (!opn || oci_op(opn, &op) < 0 || get_u64(a, "index", &index, &p1) < 0 ||
                                            !p1 || index > 5 || get_u64(a, "value", &value, &p2) < 0 ||
                                            get_u64(a, "valueTwo", &value2, &p3) < 0) {
                                                oci_fail(err, path, "syscalls[%zu].args[%zu] is invalid", i, k);
                                                goto out;
                                        }
                                        cmps[n_cmps++] = (struct scmp_arg_cmp) {
                                                .arg = (unsigned) index,
                                                .op = op,
                                                .datum_a = value,
                                                .datum_b = value2,
                                        };
                                }
                        }
                        json_object *names;
                        if (!json_object_object_get_ex(rule, "names", &names) ||
                            !json_object_is_type(names, json_type_array)) {
                                oci_fail(err, path, "syscalls[%zu].names is not an array", i);
                                goto out;
                        }
                        if (action == def_action)
                                continue; /* libseccomp refuses rules equal to the default */
                        for (size_t k = 0; k < json_object_array_length(names); k++) {
                                json_object *nm = json_object_array_get_idx(names, k);
                                if (!json_object_is_type(nm, json_type_string)) {
                                        oci_fail(err, path, "syscalls[%zu].names[%zu] is not a string", i, k);
                                        goto out;
                                }
                                int nr = seccomp_syscall_resolve_name(json_object_get_string(nm));
                                if (nr == __NR_SCMP_ERROR)
                                        continue; /* unknown here: profiles list syscalls of every kernel */
                                int r = seccomp_rule_add_array(ctx, action, nr, n_cmps, cmps);
                                if (r < 0 && r != -EEXIST) {
                                        oci_fail(err, path, "syscalls[%zu].names[%zu]: the rule cannot be added", i, k);
                                        goto out;
                                }
                        }
                }
        }
        *out = TAKE_PTR(ctx);
        ret = 0;
out:
        if (ctx)
                seccomp_release(ctx);
        json_object_put(root);
        return ret;
}

/* The largest profile read: Docker's default is 20 KiB. */
#define PROFILE_MAX (1 << 20)

/* The whole profile behind fd, NUL-terminated, in *out (malloc'd).
 * pread(): the fd's offset may be shared with whoever passed it.  At most
 * one byte more than allowed is read, whatever st_size says: the file may
 * grow meanwhile. */
static int read_profile(int fd, const char *name, char **out, size_t *len, jailer_error *err)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: %s", name);
        if (!S_ISREG(st.st_mode))
                return jl_error(err, JAILER_STEP_SECCOMP, 0, "seccomp", "seccomp: %s is %s, not a regular file",
                                name, jl_file_type_name(st.st_mode));
        _cleanup_free_ char *buf = malloc(PROFILE_MAX + 2);
        if (!buf)
                return jl_error(err, JAILER_STEP_SECCOMP, ENOMEM, "seccomp", "seccomp: %s", name);
        size_t got = 0;
        while (got <= PROFILE_MAX) {
                ssize_t n = pread(fd, buf + got, PROFILE_MAX + 1 - got, (off_t) got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return jl_error(err, JAILER_STEP_SECCOMP, errno, "seccomp", "seccomp: %s", name);
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        if (got > PROFILE_MAX)
                return jl_error(err, JAILER_STEP_SECCOMP, 0, "seccomp", "seccomp: %s is larger than 1 MiB", name);
        buf[got] = '\0';
        *out = TAKE_PTR(buf);
        *len = got;
        return 0;
}

/* A profile someone opened for us (a daemon, as its client).  name only
 * names it in messages. */
int jl_seccomp_load_oci_fd(int fd, const char *name, scmp_filter_ctx_t *out, jailer_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;

        *out = NULL;
        if (read_profile(fd, name, &buf, &len, err) < 0)
                return -1;
        return jl_seccomp_parse_oci(buf, len, name, out, err);
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

/* A profile named by root's own config (the jailer CLI): opened once, by
 * the safe walk, non-blocking (a FIFO fails at once instead of hanging). */
int jl_seccomp_load_oci(const char *path, scmp_filter_ctx_t *out, jailer_error *err)
{
        char why[256] = "";
        _cleanup_close_ int fd = jl_open_host(path, JL_TYPE_REG, O_RDONLY, why, sizeof(why));

        *out = NULL;
        if (fd < 0)
                return jl_error(err, JAILER_STEP_SECCOMP, why[0] ? 0 : errno, "seccomp", "seccomp: %s%s%s", path,
                                why[0] ? ": " : "", why);
        return jl_seccomp_load_oci_fd(fd, path, out, err);
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

/* SPDX-License-Identifier: MIT */
/*
 * Privileges: the jail's uid/gid, no supplementary groups, and every
 * capability gone from all five sets — effective, permitted, inheritable,
 * bounding and ambient — then no_new_privs.
 *
 * Clearing each set explicitly matters: in the jail's user namespace the
 * child is never uid 0 (root is not mapped), so the kernel's "caps are
 * cleared when the last root uid goes" rule does not apply, and the
 * inheritable set survives execve unless cleared (crun CVE-2022-27650).
 */
#include "jailer-internal.h"

#include <grp.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>

int jl_privs_drop_child(const jailer_config *c, jailer_error *err)
{
        /* With a user namespace the groups were cleared before it was
         * created (setgroups is denied inside); without one, clear them now. */
        if (!c->ns[JAILER_NS_USER] && setgroups(0, NULL) < 0)
                return jl_error(err, JAILER_STEP_PRIVS, errno, NULL, "setgroups");

        /* Bounding and ambient sets first: dropping from the bounding set
         * needs CAP_SETPCAP, which we still hold. */
        int last = cap_max_bits() - 1;
        for (int cap = 0; cap <= last; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return jl_error(err, JAILER_STEP_PRIVS, errno, NULL, "drop capability %d from the bounding set",
                                        cap);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return jl_error(err, JAILER_STEP_PRIVS, errno, NULL, "clear the ambient set");

        /* Lock the securebits so nothing can bring root semantics back:
         * uid 0 gets no capabilities on execve, keep-caps cannot be turned on,
         * and the ambient set can never be raised. */
        unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |
                             SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                             SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
        if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
                return jl_error(err, JAILER_STEP_PRIVS, errno, NULL, "set securebits");

        if (setresgid(c->gid, c->gid, c->gid) < 0)
                return jl_error(err, JAILER_STEP_PRIVS, errno, "gid", "gid: setresgid %u", (unsigned) c->gid);
        if (setresuid(c->uid, c->uid, c->uid) < 0)
                return jl_error(err, JAILER_STEP_PRIVS, errno, "uid", "uid: setresuid %u", (unsigned) c->uid);

        cap_t none = cap_init(); /* an empty set: E, P and I all clear */
        if (!none)
                return jl_error(err, JAILER_STEP_PRIVS, errno, NULL, "cap_init");
        int r = cap_set_proc(none);
        int saved = errno;
        cap_free(none);
        if (r < 0)
                return jl_error(err, JAILER_STEP_PRIVS, saved, NULL, "clear capabilities");

        /* Trust, but verify: a silent failure here would be a root jail. */
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != c->uid || eu != c->uid ||
            su != c->uid || rg != c->gid || eg != c->gid || sg != c->gid)
                return jl_error(err, JAILER_STEP_PRIVS, 0, NULL, "uid/gid did not change as asked");
        cap_t now = cap_get_proc();
        cap_t empty = cap_init();
        bool clear = now && empty && cap_compare(now, empty) == 0;
        cap_free(now);
        cap_free(empty);
        if (!clear || prctl(PR_CAPBSET_READ, 0, 0, 0, 0) != 0)
                return jl_error(err, JAILER_STEP_PRIVS, 0, NULL, "capabilities are not all dropped");

        /* No execve from here on can grant privilege: setuid bits and file
         * capabilities are ignored.  Also a precondition for seccomp. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return jl_error(err, JAILER_STEP_PRIVS, errno, NULL, "PR_SET_NO_NEW_PRIVS");
        return 0;
}

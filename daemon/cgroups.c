/* SPDX-License-Identifier: MIT */
/*
 * Where jails' cgroups go, in this order:
 *
 * 1. --cgroup-parent, as given.
 *
 * 2. Under systemd (cgroup v2), the delegated cgroup of jailerd-jails.service,
 *    a sibling of our own unit that holds nothing but a keeper process:
 *
 *        .../jailerd.service/              jailerd and the supervisors
 *        .../jailerd-jails.service/keeper/ the keeper (jailer-supervisor --keep-cgroup)
 *        .../jailerd-jails.service/jails/<id>/   one leaf per jail
 *
 *    Why not jails inside jailerd.service (3.): a cgroup that gives
 *    controllers to children may hold no process, so jailerd.service would
 *    become an inner node, and systemd before 254 (no DelegateSubgroup=)
 *    starts a service's new main process in the service's own cgroup: with
 *    jails running, `systemctl restart jailerd` then fails with EBUSY.  Here
 *    jailerd.service never gets children, and the jails' unit is never
 *    restarted (RefuseManualStop=yes).
 *
 * 3. Our own cgroup, when systemd delegated it to us (Delegate=yes, marked
 *    with the trusted.delegate xattr): we move into a leaf and put jails
 *    beside it,
 *
 *        <own>/supervisor/   jailerd and every jail's supervisor
 *        <own>/jails/<id>/   one leaf per jail
 *
 *    (restart-safe with systemd >= 254 and DelegateSubgroup=supervisor).
 *
 * 4. Otherwise (standalone, cgroup v1 or hybrid hosts): "jailer", a parent
 *    the one-shot jailer uses too: nothing there is removed unless a state
 *    directory of ours names it.
 *
 * In 2. and 3. the jails/ parent is ours alone: a leaf in it that no jail of
 * ours claims is stale and is removed at start.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "daemon.h"
#include "fsutil.h"
#include "log.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define JAILS_UNIT "jailerd-jails.service"

static void enable_controllers(const char *abs)
{
        jailer_error err = { 0 };

        if (jailer_cgroup_enable_controllers(abs, &err) != 0)
                log_warning("%s", err.message);
}

/* base: a delegated cgroup ("/system.slice/x.service"), jails go in base/jails. */
static int use_jails_of(jd_daemon *d, const char *base)
{
        _cleanup_free_ char *base_abs = NULL, *jails = NULL;
        int r;

        if (asprintf(&base_abs, CGROUP_ROOT "%s", base) < 0 || asprintf(&jails, "%s/jails", base_abs) < 0)
                return -ENOMEM;
        if (mkdir(jails, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                log_error("cannot create %s: %s", jails, strerror(-r));
                return r;
        }
        enable_controllers(base_abs);
        enable_controllers(jails);
        /* libjailer wants the parent relative to the hierarchy root. */
        if (asprintf(&d->cgroup_parent, "%s/jails", base + (base[0] == '/')) < 0)
                return -ENOMEM;
        d->cgroup_parent_abs = TAKE_PTR(jails);
        return 1;
}

/* 2.: jailerd-jails.service beside our unit. */
static int setup_jails_unit(jd_daemon *d, const char *own)
{
        _cleanup_free_ char *unit = NULL, *sibling = NULL, *abs = NULL;
        const char *slash;
        struct stat st;

        /* Our unit's cgroup: own, or its parent when we sit in a leaf. */
        unit = strdup(own);
        if (!unit)
                return -ENOMEM;
        slash = strrchr(unit, '/');
        if (slash && strcmp(slash, "/supervisor") == 0)
                unit[slash - unit] = '\0';
        slash = strrchr(unit, '/');
        if (!slash || slash == unit)
                return 0;
        if (asprintf(&sibling, "%.*s/" JAILS_UNIT, (int) (slash - unit), unit) < 0 ||
            asprintf(&abs, CGROUP_ROOT "%s", sibling) < 0)
                return -ENOMEM;
        if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode) || !jailer_cgroup_is_delegated(abs))
                return 0;
        log_info("jails go to %s/jails, delegated to " JAILS_UNIT, sibling);
        return use_jails_of(d, sibling);
}

/* 3.: our own delegated cgroup. */
static int setup_delegated(jd_daemon *d, const char *own)
{
        _cleanup_free_ char *base = NULL, *base_abs = NULL;
        size_t n = strlen(own);
        jailer_error err = { 0 };

        /* After a restart (or with systemd's DelegateSubgroup=supervisor) we
         * already sit in the leaf. */
        if (n >= strlen("/supervisor") && strcmp(own + n - strlen("/supervisor"), "/supervisor") == 0)
                base = strndup(own, n - strlen("/supervisor"));
        else
                base = strdup(own);
        if (!base)
                return -ENOMEM;
        if (asprintf(&base_abs, CGROUP_ROOT "%s", base) < 0)
                return -ENOMEM;
        if (!jailer_cgroup_is_delegated(base_abs))
                return 0;

        if (jailer_cgroup_move_self(base_abs, "supervisor", &err) < 0) {
                log_error("%s", err.message);
                return -err.code;
        }
        log_info("delegated cgroup %s: jailerd in supervisor/, jails in jails/", base);
        return use_jails_of(d, base);
}

int jd_cgroups_setup(jd_daemon *d)
{
        struct statfs sf;
        int r;

        d->cgroup_version = jailer_cgroup_detect();

        if (d->opt.cgroup_parent) {
                d->cgroup_parent = strdup(d->opt.cgroup_parent);
                return d->cgroup_parent ? 0 : -ENOMEM;
        }

        if (statfs(CGROUP_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
                _cleanup_free_ char *own = jailer_cgroup_self();

                if (own && strcmp(own, "/") != 0) {
                        r = setup_jails_unit(d, own);
                        if (r != 0)
                                return r < 0 ? r : 0;
                        r = setup_delegated(d, own);
                        if (r != 0)
                                return r < 0 ? r : 0;
                }
        }

        d->cgroup_parent = strdup("jailer");
        return d->cgroup_parent ? 0 : -ENOMEM;
}

void jd_cgroups_clean_stale(jd_daemon *d)
{
        DIR *dir;
        struct dirent *de;

        /* Only where the parent is ours alone. */
        if (!d->cgroup_parent_abs)
                return;
        dir = opendir(d->cgroup_parent_abs);
        if (!dir)
                return;
        while ((de = readdir(dir))) {
                _cleanup_free_ char *path = NULL;
                jd_entry e = JD_ENTRY_INIT;
                jailer_error err = { 0 };
                int r;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (jd_jail_find(d, de->d_name))
                        continue;
                if (asprintf(&path, "%s/%s", d->cgroup_parent_abs, de->d_name) < 0)
                        continue;
                r = jailer_cgroup_remove(path, &err);
                jd_entry_add(&e, "JAIL_ID=%s", de->d_name);
                jd_entry_add(&e, "JAIL_CGROUP=%s", path);
                if (r < 0)
                        jd_entry_submit(&e, JD_EV_CLEANUP, LOG_WARNING,
                                        "Stale cgroup %s of no known jail could not be removed: %s", path,
                                        err.message);
                else
                        jd_entry_submit(&e, JD_EV_CLEANUP, LOG_NOTICE,
                                        "Removed stale cgroup %s of no known jail (%d processes killed)", path, r);
        }
        closedir(dir);
}

/* SPDX-License-Identifier: MIT */
/*
 * Where jails' cgroups go.
 *
 * Under systemd with Delegate=yes (cgroup v2; systemd marks the delegated
 * cgroup with the trusted.delegate xattr) the service's cgroup is ours, but
 * systemd put jailerd in it, and a cgroup v2 node with processes cannot
 * give controllers to children.  So jailerd moves itself into a leaf
 *
 *     <service cgroup>/supervisor/    jailerd and every jail's supervisor
 *     <service cgroup>/jails/<id>/    one leaf per jail (libjailer makes it)
 *
 * enables cpu, memory and pids down to jails/, and is the only user of
 * jails/: any leaf in it that no jail of ours claims is stale.
 *
 * Standalone (no delegation), and on cgroup v1 or hybrid hosts, jails go
 * under "jailer" (--cgroup-parent changes it), a parent the one-shot jailer
 * uses too: nothing there is removed unless a state directory of ours
 * names it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <linux/magic.h>

#include "daemon.h"
#include "fsutil.h"
#include "log.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static int write_file(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                return -errno;
        return 0;
}

/* Our cgroup v2 path ("/system.slice/jailerd.service"), or NULL. */
static char *own_cgroup_v2(void)
{
        _cleanup_free_ char *buf = NULL;
        char *line, *save = NULL;

        if (jd_read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &buf, NULL) < 0)
                return NULL;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strncmp(line, "0::", 3) == 0)
                        return strdup(line + 3);
        return NULL;
}

static bool is_delegated(const char *abs)
{
        char v[8] = "";

        if (getxattr(abs, "trusted.delegate", v, sizeof v - 1) > 0 && v[0] == '1')
                return true;
        if (getxattr(abs, "user.delegate", v, sizeof v - 1) > 0 && v[0] == '1')
                return true;
        return false;
}

static bool has_word(const char *list, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

/* Give the controllers jails need (of those the node has) to its children. */
static int enable_controllers(const char *abs)
{
        static const char *const wanted[] = { "cpu", "memory", "pids" };
        _cleanup_free_ char *avail = NULL;
        char path[4096], ctl[64];
        int r, ret = 0;

        snprintf(path, sizeof path, "%s/cgroup.controllers", abs);
        r = jd_read_file_at(AT_FDCWD, path, 4096, &avail, NULL);
        if (r < 0)
                return r;
        snprintf(path, sizeof path, "%s/cgroup.subtree_control", abs);
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                if (!has_word(avail, wanted[i])) {
                        log_warning("cgroup %s lacks the %s controller: jails get no %s limits", abs, wanted[i],
                                    wanted[i]);
                        continue;
                }
                snprintf(ctl, sizeof ctl, "+%s", wanted[i]);
                r = write_file(path, ctl);
                if (r < 0) {
                        log_warning("cannot enable %s in %s: %s", wanted[i], path, strerror(-r));
                        ret = ret ?: r;
                }
        }
        return ret;
}

static int setup_delegated(jd_daemon *d, const char *own)
{
        _cleanup_free_ char *base = NULL, *base_abs = NULL, *leaf = NULL, *jails = NULL;
        char procs[4096];
        size_t n = strlen(own);
        int r;

        /* After a restart (or with systemd's DelegateSubgroup=supervisor) we
         * already sit in the leaf. */
        if (n >= strlen("/supervisor") && strcmp(own + n - strlen("/supervisor"), "/supervisor") == 0)
                base = strndup(own, n - strlen("/supervisor"));
        else
                base = strdup(own);
        if (!base)
                return -ENOMEM;
        if (asprintf(&base_abs, CGROUP_ROOT "%s", base) < 0 ||
            asprintf(&leaf, "%s/supervisor", base_abs) < 0 ||
            asprintf(&jails, "%s/jails", base_abs) < 0)
                return -ENOMEM;
        if (!is_delegated(base_abs))
                return 0;

        if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                log_error("cannot create %s: %s", leaf, strerror(-r));
                return r;
        }
        snprintf(procs, sizeof procs, "%s/cgroup.procs", leaf);
        r = write_file(procs, "0");
        if (r < 0) {
                log_error("cannot move into %s: %s", leaf, strerror(-r));
                return r;
        }
        if (mkdir(jails, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                log_error("cannot create %s: %s", jails, strerror(-r));
                return r;
        }
        (void) enable_controllers(base_abs);
        (void) enable_controllers(jails);

        /* libjailer wants the parent relative to the hierarchy root. */
        if (asprintf(&d->cgroup_parent, "%s/jails", base + (base[0] == '/')) < 0)
                return -ENOMEM;
        d->cgroup_parent_abs = TAKE_PTR(jails);
        log_info("delegated cgroup %s: jailerd in supervisor/, jails in jails/", base);
        return 1;
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
                _cleanup_free_ char *own = own_cgroup_v2();

                if (own && strcmp(own, "/") != 0) {
                        r = setup_delegated(d, own);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                return 0;
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
                int r;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (jd_jail_find(d, de->d_name))
                        continue;
                if (asprintf(&path, "%s/%s", d->cgroup_parent_abs, de->d_name) < 0)
                        continue;
                r = jd_cgroup_kill_remove(path);
                jd_entry_add(&e, "JAIL_ID=%s", de->d_name);
                jd_entry_add(&e, "JAIL_CGROUP=%s", path);
                if (r < 0)
                        jd_entry_submit(&e, JD_EV_CLEANUP, LOG_WARNING,
                                        "Stale cgroup %s of no known jail could not be removed: %s", path,
                                        strerror(-r));
                else
                        jd_entry_submit(&e, JD_EV_CLEANUP, LOG_NOTICE,
                                        "Removed stale cgroup %s of no known jail (%d processes killed)", path, r);
        }
        closedir(dir);
}

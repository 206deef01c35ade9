/* SPDX-License-Identifier: MIT */
/*
 * race-report PATH...  — run inside a jail by tests/test_path_race.py.
 *
 * Prints one JSON line saying, for each PATH, what the jail sees there: its
 * device and inode (the same numbers as on the host, so the test can tell
 * which host directory it is), its owner, the names in it (or the errno of
 * listing it), and the root of the mount at PATH as /proc/self/mountinfo
 * shows it (the source directory, relative to its file system), or null
 * when PATH is not a mountpoint; then every mount of the jail, mountpoint
 * and root, so that a mount of the wrong source shows whatever its path.
 *
 * The jail root may be the attacker's, who keeps renaming directories in it
 * while the jail runs: a name on the way to PATH may be a symlink or away
 * for a moment.  Such a lookup (ENOENT, ENOTDIR, ELOOP) is tried again for
 * up to a second; "attempts" says how many it took.
 *
 * Static, reads only what it is asked about and /proc: nothing in the jail
 * is needed to run it.  Exit status 0, or 2 on a usage error.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put_str(const char *s)
{
        putchar('"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        printf("\\%c", *p);
                else if (*p < 0x20 || *p >= 0x7f)
                        printf("\\u%04x", *p);
                else
                        putchar(*p);
        }
        putchar('"');
}

static const char *errno_name(int e)
{
        switch (e) {
        case 0: return "0";
        case ENOENT: return "ENOENT";
        case EACCES: return "EACCES";
        case EPERM: return "EPERM";
        case ENOTDIR: return "ENOTDIR";
        case ELOOP: return "ELOOP";
        default: return "other";
        }
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
}

/* A line of /proc/self/mountinfo, split in place: the root (4th field) and
 * the mount point (5th), unescaped.  False for a line with fewer fields. */
static bool mountinfo_line(char *line, char **root, char **point)
{
        char *save = NULL;
        char *fields[5] = { 0 };
        char *tok = strtok_r(line, " ", &save);
        for (int i = 0; tok && i < 5; i++, tok = i < 5 ? strtok_r(NULL, " ", &save) : tok)
                fields[i] = tok;
        if (!fields[4])
                return false;
        unescape(fields[3]);
        unescape(fields[4]);
        *root = fields[3];
        *point = fields[4];
        return true;
}

/* The root field of the last (topmost) mount at path; NULL when none. */
static char *mount_root_at(const char *path)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return NULL;
        char *line = NULL, *found = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
                char *root, *point;
                if (!mountinfo_line(line, &root, &point))
                        continue;
                if (strcmp(point, path) == 0) {
                        free(found);
                        found = strdup(root);
                }
        }
        free(line);
        fclose(f);
        return found;
}

static bool transient(int e)
{
        return e == ENOENT || e == ENOTDIR || e == ELOOP;
}

/* Every mount: {"point":...,"root":...}. */
static void put_mounts(void)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        printf("\"mounts\":[");
        if (!f) {
                printf("]");
                return;
        }
        char *line = NULL;
        size_t cap = 0;
        int n = 0;
        while (getline(&line, &cap, f) > 0) {
                char *root, *point;
                if (!mountinfo_line(line, &root, &point))
                        continue;
                printf("%s{\"point\":", n++ ? "," : "");
                put_str(point);
                printf(",\"root\":");
                put_str(root);
                printf("}");
        }
        free(line);
        fclose(f);
        printf("]");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fputs("usage: race-report PATH...\n", stderr);
                return 2;
        }
        printf("{\"report\":\"race\",\"paths\":[");
        for (int i = 1; i < argc; i++) {
                const char *p = argv[i];
                struct stat st;
                int attempts = 0, stat_err, list_err;
                DIR *d = NULL;
                for (;;) {
                        attempts++;
                        stat_err = lstat(p, &st) < 0 ? errno : 0;
                        list_err = 0;
                        if (!stat_err && S_ISDIR(st.st_mode) && !(d = opendir(p)))
                                list_err = errno;
                        int e = stat_err ? stat_err : list_err;
                        if (!e || !transient(e) || attempts >= 10000)
                                break;
                        usleep(100);
                }
                printf("%s{\"path\":", i > 1 ? "," : "");
                put_str(p);
                printf(",\"attempts\":%d", attempts);
                if (stat_err) {
                        printf(",\"errno\":\"%s\"}", errno_name(stat_err));
                        continue;
                }
                printf(",\"errno\":\"0\",\"dev\":%llu,\"ino\":%llu,\"uid\":%u,\"mode\":%u",
                       (unsigned long long) st.st_dev, (unsigned long long) st.st_ino, (unsigned) st.st_uid,
                       (unsigned) st.st_mode);
                if (!d) {
                        printf(",\"list_errno\":\"%s\"", S_ISDIR(st.st_mode) ? errno_name(list_err) : "ENOTDIR");
                } else {
                        printf(",\"list_errno\":\"0\",\"entries\":[");
                        int n = 0;
                        for (struct dirent *ent; (ent = readdir(d));) {
                                if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
                                        continue;
                                printf("%s", n++ ? "," : "");
                                put_str(ent->d_name);
                        }
                        printf("]");
                        closedir(d);
                }
                char *root = mount_root_at(p);
                printf(",\"mount_root\":");
                if (root)
                        put_str(root);
                else
                        printf("null");
                free(root);
                printf("}");
        }
        printf("],");
        put_mounts();
        printf("}\n");
        return 0;
}

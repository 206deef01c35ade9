/* SPDX-License-Identifier: MIT */
/*
 * racer — the attacker and the witness of tests/test_path_race.py.
 *
 *   racer [--seconds N] [--honest-us N] ACTION ARGS [ACTION ARGS]...
 *
 * Attacks (run them as the unprivileged user who owns the paths):
 *   exchange PATH TARGET  swap the directory PATH with a symlink to TARGET,
 *                         over and over, with renameat2(RENAME_EXCHANGE):
 *                         PATH is always there, a directory or a symlink
 *   swap PATH TARGET      the same without RENAME_EXCHANGE: rename PATH
 *                         away, put a symlink to TARGET in its place, take
 *                         the symlink away and rename PATH back
 *   moveout PATH OUTSIDE  move the directory PATH out of the jail root into
 *                         the directory OUTSIDE and back, over and over.
 *                         An inotify watch on PATH (it follows the inode)
 *                         sees every entry made or removed in it; one made
 *                         or removed while PATH was outside, and owned by
 *                         root, is a violation: root's privilege acted
 *                         outside the jail root (an entry of the racer's own
 *                         uid is no more than the racer could make itself:
 *                         reported as "outside").  The order is exact: a
 *                         cross-directory rename of a directory and a mkdir
 *                         or rmdir in it both hold its inode lock, and both
 *                         queue their event under it.
 *
 * Witnesses (run them as root, with nothing else writing there):
 *   watch DIR             inotify on DIR and every directory below it: any
 *                         entry created, removed, moved, written or changed
 *                         is a violation
 *   mounts TOKEN          poll /proc/self/mountinfo for changes: a mount
 *                         whose line contains TOKEN is a violation
 *
 * Prints one JSON line per event:
 *   {"racer":"ready"}                              every thread is set up
 *   {"racer":"violation","action":...,...}         as soon as one is seen
 *   {"racer":"outside","action":"moveout",...}     made or removed outside the
 *                                                  jail root, not root's
 *   {"racer":"done","action":...,"path":...,"rounds":N,"errors":N}
 * and exits 0 after SIGTERM/SIGINT or --seconds, having put every PATH back
 * the way it found it (a directory at PATH, nothing left beside it).
 * Exit status 2: usage or set-up error.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static atomic_bool stopping;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------ output */

static void put_json_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p >= 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

/* emit("action", "exchange", "path", p, NULL) with string values; numbers
 * go in as "#name" keys whose value is a decimal string. */
static void emit(const char *kind, ...)
{
        va_list ap;
        pthread_mutex_lock(&out_lock);
        fputs("{\"racer\":", stdout);
        put_json_string(stdout, kind);
        va_start(ap, kind);
        for (const char *k; (k = va_arg(ap, const char *));) {
                const char *v = va_arg(ap, const char *);
                bool num = k[0] == '#';
                fputc(',', stdout);
                put_json_string(stdout, num ? k + 1 : k);
                fputc(':', stdout);
                if (num)
                        fputs(v, stdout);
                else
                        put_json_string(stdout, v ? v : "");
        }
        va_end(ap);
        fputs("}\n", stdout);
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
}

static const char *num(char *buf, size_t n, unsigned long long v)
{
        snprintf(buf, n, "%llu", v);
        return buf;
}

static void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("racer: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(2);
}

/* ------------------------------------------------------------ timing */

/* A small xorshift per thread: how long each state is held varies, so that
 * the attack lands in every window of the victim, short or long. */
static uint32_t next_rand(uint32_t *s)
{
        uint32_t x = *s;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return *s = x ? x : 0x9e3779b9u;
}

/* How long the attacked state (the symlink, the directory moved out) is
 * held: mostly not at all, sometimes a short spin, sometimes long enough for
 * the victim to run whole steps. */
static void hold(uint32_t *s)
{
        uint32_t r = next_rand(s);
        switch (r & 7) {
        case 0: /* a longer pause: the victim runs whole steps meanwhile */
                nanosleep(&(struct timespec) { .tv_nsec = (long) (r >> 8) % 200000 }, NULL);
                break;
        case 1:
        case 2: /* a short spin */
                for (volatile uint32_t i = 0; i < ((r >> 8) & 0x3ff); i++)
                        ;
                break;
        default: /* straight on */
                break;
        }
}

/* How long the honest state is held between attacks: up to honest_us
 * (--honest-us, default 250), so that some jails get through untouched and
 * their view can be checked, while every step of the victim still meets
 * hundreds to thousands of attacks a second. */
static long honest_us = 250;

static void hold_honest(uint32_t *s)
{
        uint32_t r = next_rand(s);
        long ns = (long) ((r >> 8) % (uint32_t) (honest_us * 1000 + 1));
        if (r & 1)
                nanosleep(&(struct timespec) { .tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L }, NULL);
        else
                for (volatile long i = 0; i < ns / 4; i++)
                        ;
}

/* ------------------------------------------------------------ attacks */

struct action {
        const char *name;
        const char *path;
        const char *arg;
        char aux[PATH_MAX]; /* the symlink / the parked name / the outside name */
        pthread_t thread;
        unsigned long long rounds, errors;
};

static int exchange(const char *a, const char *b)
{
        return (int) syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

static bool is_symlink(const char *p)
{
        struct stat st;
        return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

static void *run_exchange(void *arg)
{
        struct action *a = arg;
        uint32_t seed = (uint32_t) (uintptr_t) a ^ (uint32_t) getpid();
        while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
                if (exchange(a->path, a->aux) < 0) {
                        a->errors++;
                        hold(&seed);
                        continue;
                }
                a->rounds++;
                /* odd: the symlink is at PATH now */
                if (a->rounds & 1)
                        hold(&seed);
                else
                        hold_honest(&seed);
        }
        /* Put the directory back at PATH. */
        if (is_symlink(a->path))
                (void) exchange(a->path, a->aux);
        (void) unlink(a->aux);
        return NULL;
}

static void *run_swap(void *arg)
{
        struct action *a = arg;
        uint32_t seed = (uint32_t) (uintptr_t) a ^ (uint32_t) getpid();
        while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
                if (rename(a->path, a->aux) < 0) {
                        /* Root removed our directory: it had put one of its
                         * own there while ours was away, ours replaced it,
                         * and its clean-up took ours.  Make another. */
                        if (errno == ENOENT && mkdir(a->path, 0755) < 0 && errno != EEXIST)
                                a->errors++;
                        a->errors++;
                        hold(&seed);
                        continue;
                }
                if (symlink(a->arg, a->path) < 0)
                        a->errors++; /* root made a directory there meanwhile */
                hold(&seed);
                if (is_symlink(a->path))
                        (void) unlink(a->path);
                /* Over the symlink's place, or over an empty directory that
                 * root made there meanwhile; a non-empty one: wait. */
                while (rename(a->aux, a->path) < 0) {
                        a->errors++;
                        if (errno != ENOTEMPTY && errno != EEXIST && errno != EISDIR && errno != ENOTDIR)
                                break;
                        if (is_symlink(a->path))
                                (void) unlink(a->path);
                        usleep(100);
                        if (atomic_load_explicit(&stopping, memory_order_relaxed))
                                break;
                }
                a->rounds++;
                hold_honest(&seed);
        }
        if (access(a->aux, F_OK) == 0 || errno != ENOENT) {
                if (is_symlink(a->path))
                        (void) unlink(a->path);
                for (int i = 0; i < 5000 && rename(a->aux, a->path) < 0 && errno != ENOENT; i++)
                        usleep(1000); /* a jail may still be using root's directory there */
        }
        return NULL;
}

/* moveout: which watch descriptor stands for which inode (an O_PATH fd of
 * it, to see who owns what appears in it), and how many times it has moved
 * (odd: it is outside now). */
struct watched {
        int wd;
        int dfd;
        unsigned long moves;
};

/* Who owns the entries seen being created in PATH (inside or outside), so
 * that their removal can be judged too.  A small ring: an entry lives for
 * one jail at most. */
static struct made {
        int wd;
        char name[NAME_MAX + 1];
        long uid; /* -1: gone before it could be looked at */
} made[256];
static unsigned made_next;

static long made_by(int wd, const char *name)
{
        long uid = -1;
        for (unsigned i = 0; i < sizeof(made) / sizeof(made[0]); i++)
                if (made[i].wd == wd && !strcmp(made[i].name, name))
                        uid = made[i].uid;
        return uid;
}

/* Nobody but the victim makes or removes anything in PATH: what happens in
 * it while it is outside, the victim did outside the jail root.  Root's
 * privilege reached outside when what was made or removed there is root's
 * (owner 0); an entry of the racer's own uid is no more than the racer could
 * make or remove itself, and one gone before it could be looked at (owner
 * -1) cannot be judged: both are reported as "outside". */
static void moveout_drain(struct action *a, int fd, struct watched *w, size_t *n)
{
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        for (;;) {
                ssize_t len = read(fd, buf, sizeof(buf));
                if (len <= 0)
                        return;
                for (char *p = buf; p < buf + len;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                emit("violation", "action", a->name, "path", a->path, "event", "queue overflow",
                                     "name", "", NULL);
                                continue;
                        }
                        struct watched *x = NULL;
                        for (size_t i = 0; i < *n; i++)
                                if (w[i].wd == ev->wd)
                                        x = &w[i];
                        if (!x)
                                continue;
                        if (ev->mask & IN_MOVE_SELF) {
                                x->moves++;
                                continue;
                        }
                        if (!ev->len || !(ev->mask & (IN_CREATE | IN_DELETE)))
                                continue;
                        long owner;
                        if (ev->mask & IN_CREATE) {
                                struct stat st;
                                owner = fstatat(x->dfd, ev->name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (long) st.st_uid : -1;
                                struct made *m = &made[made_next++ % (sizeof(made) / sizeof(made[0]))];
                                m->wd = ev->wd;
                                snprintf(m->name, sizeof(m->name), "%s", ev->name);
                                m->uid = owner;
                        } else {
                                owner = made_by(ev->wd, ev->name);
                        }
                        if (!(x->moves & 1))
                                continue; /* inside the jail root */
                        char uid[32];
                        snprintf(uid, sizeof(uid), "%ld", owner);
                        emit(owner == 0 ? "violation" : "outside", "action", a->name, "path", a->path, "outside",
                             a->aux, "event", ev->mask & IN_CREATE ? "created" : "removed", "name", ev->name,
                             "#owner", uid, NULL);
                }
        }
}

static void *run_moveout(void *arg)
{
        struct action *a = arg;
        uint32_t seed = (uint32_t) (uintptr_t) a ^ (uint32_t) getpid();
        int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0)
                die("inotify_init1: %s", strerror(errno));
        struct watched w[4096];
        size_t n = 0;
        const uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVE_SELF | IN_ONLYDIR;
        ino_t watched_ino = 0;

        while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
                /* Watch whatever directory is at PATH now (root may have
                 * made one, or removed ours, while ours was away). */
                struct stat st;
                if (lstat(a->path, &st) < 0) {
                        if (errno == ENOENT && mkdir(a->path, 0755) < 0 && errno != EEXIST)
                                a->errors++;
                        continue;
                }
                if (st.st_ino != watched_ino) {
                        int dfd = open(a->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        struct stat dst;
                        if (dfd < 0 || fstat(dfd, &dst) < 0 || dst.st_ino != st.st_ino) {
                                if (dfd >= 0)
                                        close(dfd);
                                a->errors++;
                                continue;
                        }
                        int wd = inotify_add_watch(fd, a->path, mask);
                        if (wd < 0 || lstat(a->path, &st) < 0 || st.st_ino != dst.st_ino) {
                                /* swapped under us: try again */
                                if (wd >= 0)
                                        (void) inotify_rm_watch(fd, wd);
                                close(dfd);
                                a->errors++;
                                continue;
                        }
                        bool known = false;
                        for (size_t i = 0; i < n; i++)
                                known |= w[i].wd == wd;
                        if (!known && n < sizeof(w) / sizeof(w[0]))
                                w[n++] = (struct watched) { .wd = wd, .dfd = dfd };
                        else
                                close(dfd);
                        watched_ino = st.st_ino;
                }
                if (rename(a->path, a->aux) < 0) {
                        a->errors++;
                        hold(&seed);
                        continue;
                }
                hold(&seed);
                while (rename(a->aux, a->path) < 0) {
                        /* Root made a directory at PATH meanwhile: wait until
                         * it is empty (then ours replaces it) or gone. */
                        a->errors++;
                        if (errno != ENOTEMPTY && errno != EEXIST)
                                break;
                        usleep(100);
                        if (atomic_load_explicit(&stopping, memory_order_relaxed))
                                break;
                }
                a->rounds++;
                moveout_drain(a, fd, w, &n);
                hold_honest(&seed);
        }
        for (int i = 0; i < 5000 && access(a->aux, F_OK) == 0 && rename(a->aux, a->path) < 0; i++)
                usleep(1000);
        moveout_drain(a, fd, w, &n);
        for (size_t i = 0; i < n; i++)
                close(w[i].dfd);
        close(fd);
        return NULL;
}

/* ------------------------------------------------------------ witnesses */

static int watch_fd = -1;
static const uint32_t WATCH_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB |
                                   IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;
static char *watch_paths[8192];

static void watch_add(const char *path)
{
        int wd = inotify_add_watch(watch_fd, path, WATCH_MASK | IN_ONLYDIR);
        if (wd < 0)
                die("inotify_add_watch %s: %s", path, strerror(errno));
        if (wd < (int) (sizeof(watch_paths) / sizeof(watch_paths[0])) && !watch_paths[wd])
                watch_paths[wd] = strdup(path);
}

static int watch_walk(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void) st;
        (void) ftw;
        if (type == FTW_D)
                watch_add(path);
        return 0;
}

static void *run_watch(void *arg)
{
        struct action *a = arg;
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        struct pollfd pfd = { .fd = watch_fd, .events = POLLIN };
        while (!atomic_load_explicit(&stopping, memory_order_relaxed) || poll(&pfd, 1, 0) > 0) {
                if (poll(&pfd, 1, 100) <= 0)
                        continue;
                ssize_t len = read(watch_fd, buf, sizeof(buf));
                for (char *p = buf; len > 0 && p < buf + len;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_IGNORED)
                                continue;
                        const char *dir = ev->wd >= 0 && ev->wd < (int) (sizeof(watch_paths) / sizeof(watch_paths[0])) &&
                                                          watch_paths[ev->wd] ? watch_paths[ev->wd] : "?";
                        const char *what = ev->mask & IN_Q_OVERFLOW ? "queue overflow" :
                                           ev->mask & IN_CREATE ? "created" :
                                           ev->mask & IN_DELETE ? "removed" :
                                           ev->mask & IN_MOVED_FROM ? "moved away" :
                                           ev->mask & IN_MOVED_TO ? "moved in" :
                                           ev->mask & IN_MODIFY ? "written" :
                                           ev->mask & IN_CLOSE_WRITE ? "closed after writing" :
                                           ev->mask & IN_ATTRIB ? "attributes changed" :
                                           ev->mask & IN_DELETE_SELF ? "directory removed" : "directory moved";
                        a->rounds++;
                        emit("violation", "action", a->name, "path", dir, "event", what, "name",
                             ev->len ? ev->name : "", NULL);
                        if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) && ev->len && dir[0] == '/') {
                                char sub[PATH_MAX];
                                if (snprintf(sub, sizeof(sub), "%s/%s", dir, ev->name) < (int) sizeof(sub))
                                        (void) inotify_add_watch(watch_fd, sub, WATCH_MASK | IN_ONLYDIR);
                        }
                }
        }
        return NULL;
}

/* The whole of /proc/self/mountinfo, NUL-terminated (malloc'd). */
static char *read_all(int fd)
{
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        if (!buf || lseek(fd, 0, SEEK_SET) < 0)
                die("mountinfo: %s", strerror(errno));
        for (;;) {
                if (cap - len < 4096) {
                        char *nb = realloc(buf, cap *= 2);
                        if (!nb)
                                die("out of memory");
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0)
                        die("read mountinfo: %s", strerror(errno));
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return buf;
}

/* Lines containing token; the ones seen before are not reported again. */
static void mounts_scan(struct action *a, int fd, char ***seen, size_t *n_seen, bool baseline)
{
        char *all = read_all(fd);
        for (char *save = NULL, *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (!strstr(line, a->path))
                        continue;
                bool old = false;
                for (size_t i = 0; i < *n_seen && !old; i++)
                        old = strcmp((*seen)[i], line) == 0;
                if (old)
                        continue;
                char **ns = realloc(*seen, (*n_seen + 1) * sizeof(char *));
                if (!ns || !(ns[*n_seen] = strdup(line)))
                        die("out of memory");
                *seen = ns;
                (*n_seen)++;
                if (!baseline) {
                        a->rounds++;
                        emit("violation", "action", a->name, "path", a->path, "event", "mounted", "name", line, NULL);
                }
        }
        free(all);
}

static void *run_mounts(void *arg)
{
        struct action *a = arg;
        char **seen = NULL;
        size_t n_seen = 0;
        int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                die("/proc/self/mountinfo: %s", strerror(errno));
        mounts_scan(a, fd, &seen, &n_seen, true);
        if (n_seen)
                emit("violation", "action", a->name, "path", a->path, "event", "mounted before the race", "name",
                     seen[0], NULL);
        struct pollfd pfd = { .fd = fd, .events = POLLPRI };
        while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
                if (poll(&pfd, 1, 100) > 0 && (pfd.revents & (POLLPRI | POLLERR)))
                        mounts_scan(a, fd, &seen, &n_seen, false);
        }
        mounts_scan(a, fd, &seen, &n_seen, false);
        for (size_t i = 0; i < n_seen; i++)
                free(seen[i]);
        free(seen);
        close(fd);
        return NULL;
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
        fputs("usage: racer [--seconds N] [--honest-us N] ACTION ARGS [ACTION ARGS]...\n"
              "  exchange PATH TARGET | swap PATH TARGET | moveout PATH OUTSIDE_DIR |\n"
              "  watch DIR | mounts TOKEN\n",
              stderr);
        exit(2);
}

static void setup(struct action *a)
{
        struct stat st;
        if (!strcmp(a->name, "exchange") || !strcmp(a->name, "swap") || !strcmp(a->name, "moveout")) {
                if (lstat(a->path, &st) < 0 || !S_ISDIR(st.st_mode))
                        die("%s: %s is not a directory", a->name, a->path);
        }
        if (!strcmp(a->name, "exchange")) {
                snprintf(a->aux, sizeof(a->aux), "%s.racer-link", a->path);
                (void) unlink(a->aux);
                if (symlink(a->arg, a->aux) < 0)
                        die("symlink %s: %s", a->aux, strerror(errno));
        } else if (!strcmp(a->name, "swap")) {
                snprintf(a->aux, sizeof(a->aux), "%s.racer-away", a->path);
                if (lstat(a->aux, &st) == 0)
                        die("swap: %s exists", a->aux);
        } else if (!strcmp(a->name, "moveout")) {
                const char *base = strrchr(a->path, '/');
                snprintf(a->aux, sizeof(a->aux), "%s/%s", a->arg, base ? base + 1 : a->path);
                if (lstat(a->arg, &st) < 0 || !S_ISDIR(st.st_mode))
                        die("moveout: %s is not a directory", a->arg);
                if (lstat(a->aux, &st) == 0)
                        die("moveout: %s exists", a->aux);
        } else if (!strcmp(a->name, "watch")) {
                if (watch_fd < 0 && (watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
                        die("inotify_init1: %s", strerror(errno));
                if (nftw(a->path, watch_walk, 64, FTW_PHYS) < 0)
                        die("watch %s: %s", a->path, strerror(errno));
        }
}

int main(int argc, char **argv)
{
        double seconds = 0;
        int i = 1;
        for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
                if (!strcmp(argv[i], "--seconds"))
                        seconds = strtod(argv[i + 1], NULL);
                else if (!strcmp(argv[i], "--honest-us") && (honest_us = strtol(argv[i + 1], NULL, 10)) >= 0)
                        ;
                else
                        usage();
        }
        struct action actions[64];
        size_t n = 0;
        bool have_watch = false;
        while (i < argc) {
                const char *name = argv[i];
                int nargs = !strcmp(name, "watch") || !strcmp(name, "mounts") ? 1 :
                            !strcmp(name, "exchange") || !strcmp(name, "swap") || !strcmp(name, "moveout") ? 2 : -1;
                if (nargs < 0 || i + nargs >= argc || n == sizeof(actions) / sizeof(actions[0]))
                        usage();
                if (!strcmp(name, "watch") && have_watch) {
                        /* one inotify instance and one reader for every watch DIR */
                        struct action tmp = { .name = name, .path = argv[i + 1] };
                        setup(&tmp);
                        i += 1 + nargs;
                        continue;
                }
                have_watch |= !strcmp(name, "watch");
                actions[n] = (struct action) { .name = name, .path = argv[i + 1],
                                               .arg = nargs == 2 ? argv[i + 2] : NULL };
                setup(&actions[n]);
                n++;
                i += 1 + nargs;
        }
        if (n == 0)
                usage();

        /* Only the main thread takes SIGTERM/SIGINT. */
        sigset_t stop_sigs;
        sigemptyset(&stop_sigs);
        sigaddset(&stop_sigs, SIGTERM);
        sigaddset(&stop_sigs, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);

        for (size_t k = 0; k < n; k++) {
                void *(*fn)(void *) = !strcmp(actions[k].name, "exchange") ? run_exchange :
                                      !strcmp(actions[k].name, "swap") ? run_swap :
                                      !strcmp(actions[k].name, "moveout") ? run_moveout :
                                      !strcmp(actions[k].name, "watch") ? run_watch : run_mounts;
                int r = pthread_create(&actions[k].thread, NULL, fn, &actions[k]);
                if (r)
                        die("pthread_create: %s", strerror(r));
        }
        emit("ready", NULL);

        struct timespec limit = { .tv_sec = (time_t) seconds,
                                  .tv_nsec = (long) ((seconds - (double) (time_t) seconds) * 1e9) };
        int sig;
        do
                sig = seconds > 0 ? sigtimedwait(&stop_sigs, NULL, &limit) : sigwaitinfo(&stop_sigs, NULL);
        while (sig < 0 && errno == EINTR);
        atomic_store(&stopping, true);

        for (size_t k = 0; k < n; k++) {
                pthread_join(actions[k].thread, NULL);
                char r[32], e[32];
                emit("done", "action", actions[k].name, "path", actions[k].path, "#rounds",
                     num(r, sizeof(r), actions[k].rounds), "#errors", num(e, sizeof(e), actions[k].errors), NULL);
        }
        return 0;
}

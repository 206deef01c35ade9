/* SPDX-License-Identifier: MIT */
/*
 * probe — a static program run *inside* a jail by the system tests.  It
 * reports what it sees and what it can do, as one JSON object per line on
 * stdout, so that every isolation property is checked from the inside.
 *
 *   probe report [--check-path P]...   everything the process can observe
 *   probe exit N                       exit with status N
 *   probe kill SIG                     send SIG to itself (name or number)
 *   probe fault segv|ill|fpe|trap      die of a synchronous fault
 *   probe sleep SEC                    sleep (SEC may be fractional)
 *   probe alloc MIB                    allocate and touch MIB MiB
 *   probe forks N [--leave]            fork N sleeping children
 *   probe openfds N                    open /dev/null N times
 *   probe fsize BYTES PATH             write BYTES bytes to PATH
 *   probe spin SEC [THREADS]           busy-loop SEC seconds of wall time in
 *                                      THREADS threads (default 1); the CPU
 *                                      time all of them got, the cpus they
 *                                      may and did run on
 *   probe burn SEC                     busy-loop until it has used SEC seconds of CPU
 *   probe write PATH                   create PATH and write to it
 *   probe serve PATH SEC               a VMM's control socket: listen on the
 *                                      Unix socket PATH for SEC seconds, greet
 *                                      each client with "vmm PATH\n"
 *   probe connect PATH                 connect to the Unix socket PATH, read
 *                                      what it says (up to 256 bytes)
 *   probe read PATH                    read a file (up to 4096 bytes)
 *   probe signal PID SIG               send SIG to another process
 *   probe net IF [--tap NAME] [--setns PATH]
 *                                      try to reconfigure the network: IF's
 *                                      address, flags and MTU (set to what
 *                                      they are), a route, a new tap, a new
 *                                      network namespace, setns to PATH
 *                                      (default /proc/self/ns/net); attach
 *                                      to the tap NAME; errno of each
 *   probe affinity SEC                 the cpus it may run on (sched_getaffinity,
 *                                      Cpus_allowed_list, Mems_allowed_list), and
 *                                      those it ran on in SEC seconds of busy loop
 *   probe readdev PATH BYTES           read BYTES from the start of PATH with
 *                                      O_DIRECT (past the page cache), timed
 *   probe --child ACTION ARGS...       run ACTION in a forked child, report
 *                                      how it ended, exit like a shell would
 *
 * Exit codes: 0 the action did what was asked, 1 it could not (the JSON line
 * says why, with the errno name), 2 usage error.
 *
 * A note on PID 1: the init of a PID namespace is immune to signals sent
 * from inside that namespace (itself included) and to kernel signals such as
 * SIGXFSZ whose action is the default one; only SIGKILL/SIGSTOP from an
 * ancestor namespace and synchronous faults kill it.  `kill` and `fsize`
 * therefore report when they survived, and `--child` runs an action in a
 * process that is not PID 1.
 *
 * The probe depends on nothing in the jail: it is linked statically and
 * reads only /proc and /dev.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>

extern char **environ;

/* ------------------------------------------------------------ JSON writer */

#define JW_MAX_DEPTH 32

static struct {
        bool first[JW_MAX_DEPTH];
        int depth;
        bool after_key;
} jw = { .first = { true } };

static void jw_sep(void)
{
        if (jw.after_key) {
                jw.after_key = false;
                return;
        }
        if (!jw.first[jw.depth])
                putchar(',');
        jw.first[jw.depth] = false;
}

static void jw_raw_string(const char *s, size_t len)
{
        putchar('"');
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                switch (c) {
                case '"':  fputs("\\\"", stdout); break;
                case '\\': fputs("\\\\", stdout); break;
                case '\n': fputs("\\n", stdout); break;
                case '\t': fputs("\\t", stdout); break;
                case '\r': fputs("\\r", stdout); break;
                default:
                        /* Bytes >= 0x80 are escaped one by one (as Latin-1) so that the
                         * output is valid JSON whatever the bytes are. */
                        if (c < 0x20 || c >= 0x7f)
                                printf("\\u%04x", c);
                        else
                                putchar(c);
                }
        }
        putchar('"');
}

static void jw_begin(char open)
{
        jw_sep();
        putchar(open);
        if (jw.depth + 1 < JW_MAX_DEPTH)
                jw.depth++;
        jw.first[jw.depth] = true;
}

static void jw_end(char close)
{
        putchar(close);
        if (jw.depth > 0)
                jw.depth--;
}

static void jw_obj(void) { jw_begin('{'); }
static void jw_obj_end(void) { jw_end('}'); }
static void jw_arr(void) { jw_begin('['); }
static void jw_arr_end(void) { jw_end(']'); }

static void jw_key(const char *k)
{
        jw_sep();
        jw_raw_string(k, strlen(k));
        putchar(':');
        jw.after_key = true;
}

static void jw_str(const char *s)
{
        jw_sep();
        if (s)
                jw_raw_string(s, strlen(s));
        else
                fputs("null", stdout);
}

static void jw_strn(const char *s, size_t n)
{
        jw_sep();
        jw_raw_string(s, n);
}

static void jw_int(long long v)
{
        jw_sep();
        printf("%lld", v);
}

static void jw_uint(unsigned long long v)
{
        jw_sep();
        printf("%llu", v);
}

static void jw_dbl(double v)
{
        jw_sep();
        printf("%.6f", v);
}

static void jw_bool(bool v)
{
        jw_sep();
        fputs(v ? "true" : "false", stdout);
}

static void jw_null(void)
{
        jw_sep();
        fputs("null", stdout);
}

/* End of one JSON line: newline and flush, so that the line is out even if
 * the process is killed right after. */
static void jw_line_end(void)
{
        putchar('\n');
        fflush(stdout);
        jw.depth = 0;
        jw.first[0] = true;
        jw.after_key = false;
}

/* errno as its symbolic name ("EROFS"), or null for 0. */
static void jw_errno(int e)
{
        if (e == 0) {
                jw_null();
                return;
        }
        const char *n = strerrorname_np(e);
        if (n) {
                jw_str(n);
        } else {
                char buf[32];
                snprintf(buf, sizeof buf, "E%d", e);
                jw_str(buf);
        }
}

static void jw_kv_str(const char *k, const char *v) { jw_key(k); jw_str(v); }
static void jw_kv_int(const char *k, long long v) { jw_key(k); jw_int(v); }
static void jw_kv_bool(const char *k, bool v) { jw_key(k); jw_bool(v); }
static void jw_kv_errno(const char *k, int e) { jw_key(k); jw_errno(e); }

static const char *signame(int sig, char *buf, size_t n)
{
        const char *a = sigabbrev_np(sig);
        if (a)
                snprintf(buf, n, "SIG%s", a);
        else
                snprintf(buf, n, "SIG%d", sig);
        return buf;
}

/* ------------------------------------------------------------ small helpers */

static int usage(void)
{
        fputs("usage: probe report [--check-path P]... | exit N | kill SIG | fault KIND | sleep SEC |\n"
              "       alloc MIB | forks N [--leave] | openfds N | fsize BYTES PATH | spin SEC [THREADS] |\n"
              "       burn SEC | write PATH | serve PATH SEC | connect PATH | read PATH |\n"
              "       signal PID SIG | nest N DIR | fill DIR BYTES [--sync] | output BYTES [SEC] |\n"
              "       net IF [--tap NAME] [--setns PATH] | affinity SEC | readdev PATH BYTES |\n"
              "       --child ACTION ARGS...\n",
              stderr);
        return 2;
}

static bool parse_ll(const char *s, long long *out)
{
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || *end)
                return false;
        *out = v;
        return true;
}

static bool parse_double(const char *s, double *out)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || v < 0)
                return false;
        *out = v;
        return true;
}

static int parse_signal(const char *s)
{
        long long n;
        if (parse_ll(s, &n))
                return (n > 0 && n < NSIG) ? (int) n : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *a = sigabbrev_np(sig);
                if (a && strcasecmp(a, s) == 0)
                        return sig;
        }
        return -1;
}

static uint64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Read a whole (small) file; NULL on error with errno set.  NUL-terminated. */
static char *read_file(const char *path, size_t *len_out)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        size_t cap = 4096, len = 0;
        char *buf = malloc(cap + 1);
        if (!buf) {
                close(fd);
                errno = ENOMEM;
                return NULL;
        }
        for (;;) {
                if (len == cap) {
                        cap *= 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb) {
                                free(buf);
                                close(fd);
                                errno = ENOMEM;
                                return NULL;
                        }
                        buf = nb;
                }
                ssize_t r = read(fd, buf + len, cap - len);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = errno;
                        free(buf);
                        close(fd);
                        errno = e;
                        return NULL;
                }
                if (r == 0)
                        break;
                len += (size_t) r;
        }
        close(fd);
        buf[len] = '\0';
        if (len_out)
                *len_out = len;
        return buf;
}

/* Emit each line of a file as a JSON string array (null when unreadable). */
static void jw_file_lines(const char *path)
{
        char *buf = read_file(path, NULL);
        if (!buf) {
                jw_null();
                return;
        }
        jw_arr();
        for (char *line = buf, *nl; *line; line = nl + 1) {
                nl = strchr(line, '\n');
                if (!nl) {
                        jw_str(line);
                        break;
                }
                jw_strn(line, (size_t) (nl - line));
        }
        jw_arr_end();
        free(buf);
}

/* Value of "Key:\t..." in /proc/self/status (static buffer), NULL if absent. */
static const char *status_field(const char *key)
{
        static char *status;
        static char value[512];
        if (!status)
                status = read_file("/proc/self/status", NULL);
        if (!status)
                return NULL;
        size_t kl = strlen(key);
        for (char *line = status; line && *line;) {
                char *nl = strchr(line, '\n');
                if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
                        const char *v = line + kl + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        size_t n = nl ? (size_t) (nl - v) : strlen(v);
                        if (n >= sizeof value)
                                n = sizeof value - 1;
                        memcpy(value, v, n);
                        value[n] = '\0';
                        return value;
                }
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

/* ------------------------------------------------------------ report sections */

static void report_ids(void)
{
        uid_t ruid, euid, suid;
        gid_t rgid, egid, sgid;
        getresuid(&ruid, &euid, &suid);
        getresgid(&rgid, &egid, &sgid);
        jw_kv_int("uid", ruid);
        jw_kv_int("euid", euid);
        jw_kv_int("suid", suid);
        jw_kv_int("gid", rgid);
        jw_kv_int("egid", egid);
        jw_kv_int("sgid", sgid);

        jw_key("groups");
        gid_t groups[NGROUPS_MAX];
        int n = getgroups(NGROUPS_MAX, groups);
        if (n < 0) {
                jw_null();
        } else {
                jw_arr();
                for (int i = 0; i < n; i++)
                        jw_int(groups[i]);
                jw_arr_end();
        }
        jw_key("uid_map");
        jw_file_lines("/proc/self/uid_map");
        jw_key("gid_map");
        jw_file_lines("/proc/self/gid_map");
        jw_key("setgroups");
        jw_file_lines("/proc/self/setgroups");
}

static void report_privs(void)
{
        static const char *const capsets[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
        jw_key("caps");
        jw_obj();
        for (size_t i = 0; i < sizeof capsets / sizeof capsets[0]; i++)
                jw_kv_str(capsets[i], status_field(capsets[i]));
        jw_obj_end();

        const char *v = status_field("NoNewPrivs");
        jw_key("no_new_privs");
        if (v)
                jw_int(atoi(v));
        else
                jw_null();
        jw_kv_int("no_new_privs_prctl", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        v = status_field("Seccomp");
        jw_key("seccomp");
        if (v)
                jw_int(atoi(v));
        else
                jw_null();
        /* What the program got at execve: ignored dispositions and the
         * blocked mask survive it (hex masks, as /proc shows them). */
        jw_key("signals");
        jw_obj();
        jw_kv_str("ignored", status_field("SigIgn"));
        jw_kv_str("blocked", status_field("SigBlk"));
        jw_obj_end();
        jw_kv_int("dumpable", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
        jw_kv_int("securebits", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        mode_t m = umask(0);
        umask(m);
        jw_kv_int("umask", m);
}

static void report_process(void)
{
        jw_kv_int("pid", getpid());
        jw_kv_int("ppid", getppid());
        jw_kv_int("sid", getsid(0));
        jw_kv_int("pgid", getpgid(0));
        jw_kv_str("nstgid", status_field("NStgid"));

        jw_key("namespaces");
        jw_obj();
        static const char *const nss[] = { "user", "pid", "mnt", "net", "uts", "ipc", "cgroup" };
        for (size_t i = 0; i < sizeof nss / sizeof nss[0]; i++) {
                char path[64], target[128];
                snprintf(path, sizeof path, "/proc/self/ns/%s", nss[i]);
                ssize_t n = readlink(path, target, sizeof target - 1);
                jw_key(nss[i]);
                if (n < 0) {
                        jw_null();
                } else {
                        target[n] = '\0';
                        jw_str(target);
                }
        }
        jw_obj_end();

        struct utsname u;
        if (uname(&u) == 0) {
                jw_kv_str("hostname", u.nodename);
                jw_kv_str("domainname", u.domainname);
        } else {
                jw_kv_errno("hostname_errno", errno);
        }

        char cwd[PATH_MAX];
        jw_key("cwd");
        if (getcwd(cwd, sizeof cwd))
                jw_str(cwd);
        else
                jw_null();

        jw_key("cgroup");
        jw_file_lines("/proc/self/cgroup");
}

/* Calls the seccomp baseline denies, made so that only the filter can be
 * what refuses them: ioctl on fd -1 gets EBADF from the kernel, EPERM from
 * the filter (which looks at the request number before the fd); unshare(0)
 * is a no-op that always succeeds without a filter. */
static void report_filtered(void)
{
        jw_key("filtered");
        jw_obj();
        errno = 0;
        jw_kv_errno("tiocsti", ioctl(-1, TIOCSTI, "x") < 0 ? errno : 0);
        char sub = 0; /* TIOCL_GETSHIFTSTATE-like subcode; never reaches a console */
        jw_kv_errno("tioclinux", ioctl(-1, TIOCLINUX, &sub) < 0 ? errno : 0);
        jw_kv_errno("unshare0", unshare(0) < 0 ? errno : 0);
        jw_obj_end();
}

static void report_interfaces(void)
{
        jw_key("interfaces");
        struct if_nameindex *ifs = if_nameindex();
        if (!ifs) {
                jw_null();
                jw_kv_errno("interfaces_errno", errno);
                return;
        }
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        jw_arr();
        for (struct if_nameindex *i = ifs; i->if_index; i++) {
                jw_obj();
                jw_kv_str("name", i->if_name);
                jw_kv_int("index", i->if_index);
                struct ifreq ifr;
                memset(&ifr, 0, sizeof ifr);
                snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->if_name);
                if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
                        unsigned f = (unsigned short) ifr.ifr_flags;
                        jw_kv_int("flags", f);
                        jw_kv_bool("up", f & IFF_UP);
                        jw_kv_bool("loopback", f & IFF_LOOPBACK);
                        jw_kv_bool("running", f & IFF_RUNNING);
                } else {
                        jw_key("flags");
                        jw_null();
                        jw_kv_errno("flags_errno", s < 0 ? EBADF : errno);
                }
                jw_obj_end();
        }
        jw_arr_end();
        if (s >= 0)
                close(s);
        if_freenameindex(ifs);
}

/* Undo the octal escapes (\040 etc.) of mountinfo fields, in place. */
static void unescape_octal(char *s)
{
        char *w = s;
        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 3;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

static void report_mounts(void)
{
        jw_key("mountinfo");
        jw_file_lines("/proc/self/mountinfo");

        /* Parsed: id parent major:minor root mountpoint options [optional...] - fstype source super */
        jw_key("mounts");
        char *buf = read_file("/proc/self/mountinfo", NULL);
        if (!buf) {
                jw_null();
                return;
        }
        jw_arr();
        char *save_line = NULL;
        for (char *line = strtok_r(buf, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
                char *f[32];
                int n = 0;
                char *save = NULL;
                for (char *t = strtok_r(line, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
                        f[n++] = t;
                int dash = -1;
                for (int i = 6; i < n; i++)
                        if (strcmp(f[i], "-") == 0) {
                                dash = i;
                                break;
                        }
                if (n < 6 || dash < 0 || dash + 3 > n)
                        continue;
                unescape_octal(f[3]);
                unescape_octal(f[4]);
                jw_obj();
                jw_kv_int("id", atoll(f[0]));
                jw_kv_int("parent", atoll(f[1]));
                jw_kv_str("dev", f[2]);
                jw_kv_str("root", f[3]);
                jw_kv_str("mountpoint", f[4]);
                jw_kv_str("options", f[5]);
                jw_key("optional");
                jw_arr();
                for (int i = 6; i < dash; i++)
                        jw_str(f[i]);
                jw_arr_end();
                jw_kv_str("fstype", f[dash + 1]);
                jw_kv_str("source", f[dash + 2]);
                jw_kv_str("super_options", dash + 3 < n ? f[dash + 3] : "");
                jw_obj_end();
        }
        jw_arr_end();
        free(buf);
}

static char file_type(mode_t m)
{
        switch (m & S_IFMT) {
        case S_IFREG:  return 'f';
        case S_IFDIR:  return 'd';
        case S_IFCHR:  return 'c';
        case S_IFBLK:  return 'b';
        case S_IFLNK:  return 'l';
        case S_IFIFO:  return 'p';
        case S_IFSOCK: return 's';
        default:       return '?';
        }
}

static void jw_stat_fields(const char *path, const struct stat *st)
{
        char t[2] = { file_type(st->st_mode), 0 };
        jw_kv_str("type", t);
        jw_kv_int("mode", st->st_mode & 07777);
        jw_kv_int("uid", st->st_uid);
        jw_kv_int("gid", st->st_gid);
        if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
                jw_kv_int("major", major(st->st_rdev));
                jw_kv_int("minor", minor(st->st_rdev));
        }
        if (S_ISREG(st->st_mode))
                jw_kv_int("size", st->st_size);
        if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n >= 0) {
                        target[n] = '\0';
                        jw_kv_str("target", target);
                }
        }
}

static void list_dir_recursive(const char *dir, int depth)
{
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                struct stat st;
                jw_obj();
                jw_kv_str("path", path);
                if (lstat(path, &st) < 0) {
                        jw_kv_errno("errno", errno);
                        jw_obj_end();
                        continue;
                }
                jw_stat_fields(path, &st);
                jw_obj_end();
                if (S_ISDIR(st.st_mode) && depth < 4)
                        list_dir_recursive(path, depth + 1);
        }
        closedir(d);
}

static void report_dev(void)
{
        jw_key("dev");
        struct stat st;
        if (lstat("/dev", &st) < 0) {
                jw_null();
                jw_kv_errno("dev_errno", errno);
                return;
        }
        jw_arr();
        list_dir_recursive("/dev", 0);
        jw_arr_end();
}

static void jw_rlim_value(rlim_t v)
{
        if (v == RLIM_INFINITY)
                jw_str("unlimited");
        else
                jw_uint((unsigned long long) v);
}

static void report_rlimits(void)
{
        static const struct {
                const char *name;
                int res;
        } lims[] = {
                { "NOFILE", RLIMIT_NOFILE }, { "NPROC", RLIMIT_NPROC }, { "FSIZE", RLIMIT_FSIZE },
                { "CORE", RLIMIT_CORE },     { "AS", RLIMIT_AS },       { "STACK", RLIMIT_STACK },
                { "MEMLOCK", RLIMIT_MEMLOCK },
        };
        jw_key("rlimits");
        jw_obj();
        for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
                struct rlimit rl;
                jw_key(lims[i].name);
                if (getrlimit(lims[i].res, &rl) < 0) {
                        jw_null();
                        continue;
                }
                jw_obj();
                jw_key("soft");
                jw_rlim_value(rl.rlim_cur);
                jw_key("hard");
                jw_rlim_value(rl.rlim_max);
                jw_obj_end();
        }
        jw_obj_end();
}

static void report_fds(void)
{
        jw_key("fds");
        DIR *d = opendir("/proc/self/fd");
        if (!d) {
                jw_null();
                jw_kv_errno("fds_errno", errno);
                return;
        }
        int self = dirfd(d);
        jw_arr();
        struct dirent *e;
        while ((e = readdir(d))) {
                long long fd;
                if (!parse_ll(e->d_name, &fd) || fd == self)
                        continue;
                char path[64], target[PATH_MAX];
                snprintf(path, sizeof path, "/proc/self/fd/%lld", fd);
                ssize_t n = readlink(path, target, sizeof target - 1);
                jw_obj();
                jw_kv_int("fd", fd);
                if (n >= 0) {
                        target[n] = '\0';
                        jw_kv_str("target", target);
                }
                int fl = fcntl((int) fd, F_GETFD);
                jw_kv_bool("cloexec", fl >= 0 && (fl & FD_CLOEXEC));
                jw_obj_end();
        }
        jw_arr_end();
        closedir(d);
}

static void report_environ(void)
{
        jw_key("environ");
        jw_arr();
        for (char **e = environ; e && *e; e++)
                jw_str(*e);
        jw_arr_end();
}

/* One --check-path: existence, type, access(2) and real open attempts. */
static void report_check(const char *path)
{
        struct stat st;
        jw_obj();
        jw_kv_str("path", path);
        if (lstat(path, &st) < 0) {
                jw_kv_bool("exists", false);
                jw_kv_errno("errno", errno);
                jw_obj_end();
                return;
        }
        jw_kv_bool("exists", true);
        jw_kv_errno("errno", 0);
        jw_stat_fields(path, &st);

        jw_kv_bool("access_r", access(path, R_OK) == 0);
        jw_kv_bool("access_w", access(path, W_OK) == 0);
        jw_kv_bool("access_x", access(path, X_OK) == 0);

        int fd, err_r = 0, err_w = 0;
        if (S_ISDIR(st.st_mode)) {
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        err_r = errno;
                else
                        close(fd);
                /* Writable directory = a file can be created in it (and is removed). */
                char tmp[PATH_MAX];
                snprintf(tmp, sizeof tmp, "%s/.probe-%d", strcmp(path, "/") ? path : "", getpid());
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0) {
                        err_w = errno;
                } else {
                        close(fd);
                        unlink(tmp);
                }
        } else if (S_ISLNK(st.st_mode)) {
                err_r = err_w = ELOOP;
        } else {
                int fl = O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
                fd = open(path, O_RDONLY | fl);
                if (fd < 0)
                        err_r = errno;
                else
                        close(fd);
                /* O_APPEND and no O_TRUNC: the write test never changes the file. */
                fd = open(path, (S_ISREG(st.st_mode) ? O_WRONLY | O_APPEND : O_RDWR) | fl);
                if (fd < 0)
                        err_w = errno;
                else
                        close(fd);
        }
        jw_kv_bool("readable", err_r == 0);
        jw_kv_errno("read_errno", err_r);
        jw_kv_bool("writable", err_w == 0);
        jw_kv_errno("write_errno", err_w);
        jw_obj_end();
}

static int do_report(int argc, char **argv)
{
        const char *checks[256];
        int n_checks = 0;
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--check-path") == 0 && i + 1 < argc && n_checks < 256)
                        checks[n_checks++] = argv[++i];
                else
                        return usage();
        }
        jw_obj();
        jw_kv_str("probe", "report");
        report_ids();
        report_privs();
        report_process();
        report_filtered();
        report_interfaces();
        report_mounts();
        report_dev();
        report_rlimits();
        report_fds();
        report_environ();
        jw_key("checks");
        jw_arr();
        for (int i = 0; i < n_checks; i++)
                report_check(checks[i]);
        jw_arr_end();
        jw_obj_end();
        jw_line_end();
        return 0;
}

/* ------------------------------------------------------------ actions */

static void result_begin(const char *action)
{
        jw_obj();
        jw_kv_str("probe", action);
        jw_kv_int("pid", getpid());
}

static int result_end(int code)
{
        jw_kv_int("exit", code);
        jw_obj_end();
        jw_line_end();
        return code;
}

static int do_exit(long long code)
{
        result_begin("exit");
        jw_obj_end();
        jw_line_end();
        exit((int) code);
}

static int do_kill(int sig)
{
        char buf[32];
        result_begin("kill");
        jw_kv_str("signal", signame(sig, buf, sizeof buf));
        jw_kv_bool("sent", true);
        jw_obj_end();
        jw_line_end();
        /* A pending unblocked signal is delivered before kill() returns to us. */
        int r = kill(getpid(), sig);
        int e = r < 0 ? errno : 0;
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        result_begin("kill");
        jw_kv_str("signal", signame(sig, buf, sizeof buf));
        jw_kv_bool("survived", true);
        jw_kv_errno("errno", e);
        return result_end(1);
}

static volatile int fault_sink;

static int do_fault(const char *kind)
{
        result_begin("fault");
        jw_kv_str("kind", kind);
        jw_obj_end();
        jw_line_end();
        if (strcmp(kind, "segv") == 0) {
                volatile int *p = (volatile int *) (uintptr_t) fault_sink;
                *p = 1;
        } else if (strcmp(kind, "ill") == 0) {
                __builtin_trap();
        } else if (strcmp(kind, "fpe") == 0) {
                volatile int zero = fault_sink;
                fault_sink = 1 / zero;
        } else if (strcmp(kind, "trap") == 0) {
                __asm__ volatile("int3");
        } else {
                return usage();
        }
        result_begin("fault");
        jw_kv_bool("survived", true);
        return result_end(1);
}

static int do_sleep(double sec)
{
        struct timespec ts = { (time_t) sec, (long) ((sec - (double) (time_t) sec) * 1e9) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        result_begin("sleep");
        jw_key("seconds");
        jw_dbl(sec);
        return result_end(0);
}

/* BYTES bytes of a pattern every byte value appears in (so NULs, newlines
 * and bytes that are not UTF-8), byte i being (7 i + i / 256) mod 256, on
 * stdout; nothing else is written there.  Then sleep SEC when given. */
static int do_output(long long bytes, double sec)
{
        unsigned char buf[4096];

        for (long long i = 0; i < bytes;) {
                size_t n = 0, off = 0;

                for (; n < sizeof buf && i < bytes; n++, i++)
                        buf[n] = (unsigned char) (i * 7 + i / 256);
                while (off < n) {
                        ssize_t w = write(STDOUT_FILENO, buf + off, n - off);

                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                return 1;
                        off += (size_t) w;
                }
        }
        if (sec > 0) {
                struct timespec ts = { (time_t) sec, (long) ((sec - (double) (time_t) sec) * 1e9) };

                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
        return 0;
}

static int do_alloc(long long mib)
{
        long long done = 0;
        int err = 0;
        for (; done < mib; done++) {
                void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        err = errno;
                        break;
                }
                memset(p, 0x5a, 1 << 20); /* touch every page: this is what a cgroup charges */
        }
        result_begin("alloc");
        jw_kv_int("requested_mib", mib);
        jw_kv_int("allocated_mib", done);
        jw_kv_errno("errno", err);
        return result_end(done == mib ? 0 : 1);
}

static int do_forks(long long n, bool leave)
{
        pid_t *pids = calloc((size_t) (n > 0 ? n : 1), sizeof *pids);
        long long ok = 0;
        int err = 0;
        for (; ok < n; ok++) {
                pid_t p = fork();
                if (p < 0) {
                        err = errno;
                        break;
                }
                if (p == 0) {
                        if (leave) {
                                /* Let go of the caller's pipes: whether these children outlive
                                 * the jail is what a test then checks, by pid. */
                                int nul = open("/dev/null", O_RDWR);
                                if (nul >= 0) {
                                        dup2(nul, 0);
                                        dup2(nul, 1);
                                        dup2(nul, 2);
                                }
                        } else {
                                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                        }
                        for (;;)
                                pause();
                }
                pids[ok] = p;
        }
        result_begin("forks");
        jw_kv_int("requested", n);
        jw_kv_int("ok", ok);
        jw_kv_errno("errno", err);
        jw_kv_bool("left", leave);
        jw_key("children");
        jw_arr();
        for (long long i = 0; i < ok; i++)
                jw_int(pids[i]);
        jw_arr_end();
        int code = result_end(ok == n ? 0 : 1);
        if (!leave) {
                for (long long i = 0; i < ok; i++)
                        kill(pids[i], SIGKILL);
                for (long long i = 0; i < ok; i++)
                        waitpid(pids[i], NULL, 0);
        }
        free(pids);
        return code;
}

static int do_openfds(long long n)
{
        long long ok = 0;
        int err = 0;
        for (; ok < n; ok++) {
                if (open("/dev/null", O_RDONLY) < 0) {
                        err = errno;
                        break;
                }
        }
        result_begin("openfds");
        jw_kv_int("requested", n);
        jw_kv_int("opened", ok);
        jw_kv_errno("errno", err);
        return result_end(ok == n ? 0 : 1);
}

static int do_fsize(long long bytes, const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err = 0;
        long long written = 0;
        if (fd < 0) {
                err = errno;
        } else {
                static char chunk[65536];
                memset(chunk, 'x', sizeof chunk);
                while (written < bytes) {
                        size_t want = (size_t) (bytes - written < (long long) sizeof chunk ? bytes - written
                                                                                          : (long long) sizeof chunk);
                        ssize_t w = write(fd, chunk, want);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                err = errno;
                                break;
                        }
                        if (w == 0) {
                                err = ENOSPC;
                                break;
                        }
                        written += w;
                }
                close(fd);
        }
        result_begin("fsize");
        jw_kv_str("path", path);
        jw_kv_int("requested", bytes);
        jw_kv_int("written", written);
        jw_kv_errno("errno", err);
        return result_end(err == 0 && written == bytes ? 0 : 1);
}

static void jw_cpu_array(const char *k, const cpu_set_t *set)
{
        jw_key(k);
        jw_arr();
        for (int i = 0; i < CPU_SETSIZE; i++)
                if (CPU_ISSET(i, set))
                        jw_int(i);
        jw_arr_end();
}

/* One spinning thread: busy until end, noting the cpus it ran on. */
struct spinner {
        pthread_t thread;
        uint64_t end;
        cpu_set_t ran;
};

static void *spin_thread(void *arg)
{
        struct spinner *s = arg;
        volatile uint64_t x = 0;

        while (now_us() < s->end) {
                for (int i = 0; i < 10000; i++)
                        x += (uint64_t) i;
                int cpu = sched_getcpu();
                if (cpu >= 0 && cpu < CPU_SETSIZE)
                        CPU_SET(cpu, &s->ran);
        }
        return NULL;
}

static int do_spin(double sec, long long threads)
{
        enum { MAX_SPINNERS = 64 };
        struct spinner s[MAX_SPINNERS];
        cpu_set_t allowed, ran;
        long long started = 0;
        int e = 0;

        if (threads < 1 || threads > MAX_SPINNERS)
                return usage();
        CPU_ZERO(&allowed);
        CPU_ZERO(&ran);
        if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
                e = errno;
        uint64_t start = now_us(), end = start + (uint64_t) (sec * 1e6);
        /* Thread 0 is this one; the others are started first. */
        for (long long i = 0; i < threads; i++) {
                s[i].end = end;
                CPU_ZERO(&s[i].ran);
        }
        for (started = 1; !e && started < threads; started++) {
                int r = pthread_create(&s[started].thread, NULL, spin_thread, &s[started]);
                if (r) {
                        e = r;
                        break;
                }
        }
        spin_thread(&s[0]);
        for (long long i = 1; i < started; i++) {
                pthread_join(s[i].thread, NULL);
                CPU_OR(&ran, &ran, &s[i].ran);
        }
        CPU_OR(&ran, &ran, &s[0].ran);
        uint64_t wall = now_us() - start;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        uint64_t cpu = (uint64_t) ru.ru_utime.tv_sec * 1000000u + (uint64_t) ru.ru_utime.tv_usec +
                       (uint64_t) ru.ru_stime.tv_sec * 1000000u + (uint64_t) ru.ru_stime.tv_usec;
        result_begin("spin");
        jw_kv_int("threads", started);
        jw_kv_int("wall_us", (long long) wall);
        jw_kv_int("cpu_us", (long long) cpu);
        jw_key("cpu_ratio");
        jw_dbl(wall ? (double) cpu / (double) wall : 0.0);
        jw_cpu_array("affinity", &allowed);
        jw_cpu_array("ran_on", &ran);
        if (e) {
                jw_kv_errno("errno", e);
                return result_end(1);
        }
        return result_end(0);
}

static int do_affinity(double sec)
{
        cpu_set_t allowed, ran;

        CPU_ZERO(&allowed);
        CPU_ZERO(&ran);
        int r = sched_getaffinity(0, sizeof(allowed), &allowed) < 0 ? errno : 0;
        uint64_t end = now_us() + (uint64_t) (sec * 1e6);
        do {
                int cpu = sched_getcpu();
                if (cpu >= 0 && cpu < CPU_SETSIZE)
                        CPU_SET(cpu, &ran);
        } while (now_us() < end);

        result_begin("affinity");
        if (r) {
                jw_kv_errno("errno", r);
                return result_end(1);
        }
        jw_cpu_array("affinity", &allowed);
        jw_cpu_array("ran_on", &ran);
        const char *v = status_field("Cpus_allowed_list");
        jw_kv_str("cpus_allowed_list", v ? v : "");
        v = status_field("Mems_allowed_list");
        jw_kv_str("mems_allowed_list", v ? v : "");
        return result_end(0);
}

static int do_readdev(const char *path, long long bytes)
{
        enum { CHUNK = 64 * 1024 };
        uint64_t start = now_us();
        long long done = 0;
        int e = 0;
        void *buf = NULL;

        int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
        if (fd < 0 || posix_memalign(&buf, 4096, CHUNK) != 0)
                e = fd < 0 ? errno : ENOMEM;
        while (!e && done < bytes) {
                ssize_t n = read(fd, buf, CHUNK);
                if (n < 0)
                        e = errno;
                else if (n == 0)
                        break;
                else
                        done += n;
        }
        uint64_t wall = now_us() - start;
        if (fd >= 0)
                close(fd);
        free(buf);
        result_begin("readdev");
        jw_kv_int("bytes", done);
        jw_kv_int("wall_us", (long long) wall);
        if (e) {
                jw_kv_errno("errno", e);
                return result_end(1);
        }
        return result_end(0);
}

static uint64_t cpu_used_us(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) ru.ru_utime.tv_sec * 1000000u + (uint64_t) ru.ru_utime.tv_usec +
               (uint64_t) ru.ru_stime.tv_sec * 1000000u + (uint64_t) ru.ru_stime.tv_usec;
}

/* A fixed amount of CPU work, however long the host makes it take. */
static int do_burn(double sec)
{
        uint64_t start = now_us(), want = (uint64_t) (sec * 1e6);
        volatile uint64_t x = 0;
        while (cpu_used_us() < want)
                for (int i = 0; i < 10000; i++)
                        x += (uint64_t) i;
        result_begin("burn");
        jw_kv_int("wall_us", (long long) (now_us() - start));
        jw_kv_int("cpu_us", (long long) cpu_used_us());
        return result_end(0);
}

static int do_write(const char *path)
{
        int err = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                err = errno;
        } else {
                static const char msg[] = "written by probe\n";
                if (write(fd, msg, sizeof msg - 1) != (ssize_t) (sizeof msg - 1))
                        err = errno ? errno : EIO;
                if (close(fd) < 0 && !err)
                        err = errno;
        }
        result_begin("write");
        jw_kv_str("path", path);
        jw_kv_bool("ok", err == 0);
        jw_kv_errno("errno", err);
        return result_end(err ? 1 : 0);
}

/* Nest N directories below DIR (mkdir "d", chdir into it, again): how deep
 * it got, and the errno that stopped it. */
static int do_nest(long long n, const char *dir)
{
        long long depth = 0;
        int err = 0;

        if (chdir(dir) < 0)
                err = errno;
        while (!err && depth < n) {
                if (mkdir("d", 0700) < 0 || chdir("d") < 0)
                        err = errno;
                else
                        depth++;
        }
        result_begin("nest");
        jw_kv_int("depth", depth);
        jw_kv_errno("errno", err);
        return result_end(depth == n ? 0 : 1);
}

/* Write up to BYTES into DIR, in 1 MiB files (each below any max_file_size
 * worth having): how much got written, and the errno that stopped it. */
/* sync: each file's data is written back before the next one is begun,
 * so that the page cache it leaves is clean (reclaimable at once). */
static int do_fill(const char *dir, long long bytes, bool sync)
{
        static char chunk[64 * 1024];
        long long written = 0;
        int err = 0;

        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; !err && written < bytes; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/fill.%d", dir, i);
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0) {
                        err = errno;
                        break;
                }
                for (int k = 0; k < 16 && written < bytes; k++) {
                        ssize_t w = write(fd, chunk, sizeof chunk);
                        if (w < 0) {
                                err = errno;
                                break;
                        }
                        written += w;
                }
                if (!err && sync && fdatasync(fd) < 0)
                        err = errno;
                close(fd);
        }
        result_begin("fill");
        jw_kv_int("written", written);
        jw_kv_errno("errno", err);
        return result_end(err ? 1 : 0);
}

static int run_action(int argc, char **argv);

/* Run an action in a child (never PID 1 of a namespace) and end like a shell:
 * the child's exit code, or 128+N when signal N killed it. */
static int do_child(int argc, char **argv)
{
        fflush(stdout);
        pid_t p = fork();
        if (p < 0) {
                result_begin("child");
                jw_kv_errno("errno", errno);
                return result_end(1);
        }
        if (p == 0)
                _exit(run_action(argc, argv));
        int st;
        while (waitpid(p, &st, 0) < 0)
                if (errno != EINTR) {
                        result_begin("child");
                        jw_kv_errno("errno", errno);
                        return result_end(1);
                }
        char buf[32];
        result_begin("child");
        jw_kv_int("child_pid", p);
        jw_key("exit_code");
        if (WIFEXITED(st))
                jw_int(WEXITSTATUS(st));
        else
                jw_null();
        jw_key("signal");
        if (WIFSIGNALED(st))
                jw_str(signame(WTERMSIG(st), buf, sizeof buf));
        else
                jw_null();
        jw_obj_end();
        jw_line_end();
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------ another tenant's things */

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa->sun_path)
                return ENAMETOOLONG;
        memcpy(sa->sun_path, path, strlen(path) + 1);
        return 0;
}

static int do_serve(const char *path, double sec)
{
        struct sockaddr_un sa;
        int err = unix_addr(path, &sa), fd = -1, served = 0;

        if (!err && (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
                err = errno;
        if (!err && (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 16) < 0))
                err = errno;
        result_begin("serve");
        jw_kv_str("path", path);
        jw_kv_bool("ok", err == 0);
        jw_kv_errno("errno", err);
        if (err) {
                if (fd >= 0)
                        close(fd);
                return result_end(1);
        }
        result_end(0);
        uint64_t end = now_us() + (uint64_t) (sec * 1e6);
        struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (now_us() < end) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                char msg[PATH_MAX + 8];
                if (c < 0)
                        continue;
                int n = snprintf(msg, sizeof msg, "vmm %s\n", path);
                (void) !write(c, msg, (size_t) n);
                close(c);
                served++;
        }
        close(fd);
        result_begin("served");
        jw_kv_int("clients", served);
        return result_end(0);
}

static int do_connect(const char *path)
{
        struct sockaddr_un sa;
        char buf[256];
        ssize_t n = 0;
        int err = unix_addr(path, &sa), fd = -1;

        if (!err && (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
                err = errno;
        if (!err && connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                err = errno;
        if (!err && (n = read(fd, buf, sizeof buf)) < 0)
                err = errno;
        if (fd >= 0)
                close(fd);
        result_begin("connect");
        jw_kv_str("path", path);
        jw_kv_bool("ok", err == 0);
        jw_kv_errno("errno", err);
        jw_key("got");
        if (err)
                jw_null();
        else
                jw_strn(buf, (size_t) n);
        return result_end(err ? 1 : 0);
}

/* 0 or the errno of one TUNSETIFF on a fresh /dev/net/tun file. */
static int tun_attach(const char *name, short flags)
{
        struct ifreq ifr = { 0 };
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), e = 0;

        if (fd < 0)
                return errno;
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
        ifr.ifr_flags = flags;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                e = errno;
        close(fd);
        return e;
}

static int ifreq_set(int s, unsigned long get, unsigned long set, const char *ifname)
{
        struct ifreq ifr = { 0 };

        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
        if (ioctl(s, get, &ifr) < 0)
                return errno;
        return ioctl(s, set, &ifr) < 0 ? errno : 0;
}

static int do_net(const char *ifname, const char *tap, const char *ns_path)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), fd;
        struct ifreq ifr = { 0 };
        struct rtentry rt = { 0 };
        struct sockaddr_in *sin = (struct sockaddr_in *) &ifr.ifr_addr;

        result_begin("net");
        jw_kv_str("if", ifname);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
        sin->sin_family = AF_INET;
        inet_pton(AF_INET, "169.254.99.99", &sin->sin_addr);
        jw_kv_errno("set_addr", ioctl(s, SIOCSIFADDR, &ifr) < 0 ? errno : 0);
        jw_kv_errno("set_flags", ifreq_set(s, SIOCGIFFLAGS, SIOCSIFFLAGS, ifname));
        jw_kv_errno("set_mtu", ifreq_set(s, SIOCGIFMTU, SIOCSIFMTU, ifname));
        sin = (struct sockaddr_in *) &rt.rt_dst;
        sin->sin_family = AF_INET;
        inet_pton(AF_INET, "169.254.123.0", &sin->sin_addr);
        sin = (struct sockaddr_in *) &rt.rt_genmask;
        sin->sin_family = AF_INET;
        inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
        rt.rt_flags = RTF_UP;
        rt.rt_dev = (char *) ifname;
        jw_kv_errno("add_route", ioctl(s, SIOCADDRT, &rt) < 0 ? errno : 0);
        jw_kv_errno("create_tap", tun_attach("probetap0", IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL));
        jw_kv_errno("unshare_net", unshare(CLONE_NEWNET) < 0 ? errno : 0);
        fd = open(ns_path ? ns_path : "/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        jw_kv_errno("setns", fd < 0 ? errno : setns(fd, CLONE_NEWNET) < 0 ? errno : 0);
        if (fd >= 0)
                close(fd);
        if (tap)
                jw_kv_errno("open_tap", tun_attach(tap, IFF_TAP | IFF_NO_PI));
        if (s >= 0)
                close(s);
        return result_end(0);
}

static int do_read(const char *path)
{
        char buf[4096];
        ssize_t n = 0;
        int err = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        if (fd < 0 || (n = read(fd, buf, sizeof buf)) < 0)
                err = errno;
        if (fd >= 0)
                close(fd);
        result_begin("read");
        jw_kv_str("path", path);
        jw_kv_bool("ok", err == 0);
        jw_kv_errno("errno", err);
        jw_key("data");
        if (err)
                jw_null();
        else
                jw_strn(buf, (size_t) n);
        return result_end(err ? 1 : 0);
}

static int do_signal(long long pid, int sig)
{
        int err = kill((pid_t) pid, sig) < 0 ? errno : 0;

        result_begin("signal");
        jw_kv_int("target", pid);
        jw_kv_bool("ok", err == 0);
        jw_kv_errno("errno", err);
        return result_end(err ? 1 : 0);
}

static int run_action(int argc, char **argv)
{
        if (argc < 1)
                return usage();
        const char *a = argv[0];
        long long n;
        double d;

        if (strcmp(a, "report") == 0)
                return do_report(argc - 1, argv + 1);
        if (strcmp(a, "--child") == 0)
                return do_child(argc - 1, argv + 1);
        if (strcmp(a, "exit") == 0 && argc == 2 && parse_ll(argv[1], &n))
                return do_exit(n);
        if (strcmp(a, "kill") == 0 && argc == 2) {
                int sig = parse_signal(argv[1]);
                return sig > 0 ? do_kill(sig) : usage();
        }
        if (strcmp(a, "fault") == 0 && argc == 2)
                return do_fault(argv[1]);
        if (strcmp(a, "sleep") == 0 && argc == 2 && parse_double(argv[1], &d))
                return do_sleep(d);
        if (strcmp(a, "output") == 0 && (argc == 2 || (argc == 3 && parse_double(argv[2], &d) && d >= 0)) &&
            parse_ll(argv[1], &n) && n >= 0)
                return do_output(n, argc == 3 ? d : 0);
        if (strcmp(a, "alloc") == 0 && argc == 2 && parse_ll(argv[1], &n) && n >= 0)
                return do_alloc(n);
        if (strcmp(a, "forks") == 0 && (argc == 2 || (argc == 3 && strcmp(argv[2], "--leave") == 0)) &&
            parse_ll(argv[1], &n) && n >= 0)
                return do_forks(n, argc == 3);
        if (strcmp(a, "openfds") == 0 && argc == 2 && parse_ll(argv[1], &n) && n >= 0)
                return do_openfds(n);
        if (strcmp(a, "fsize") == 0 && argc == 3 && parse_ll(argv[1], &n) && n >= 0)
                return do_fsize(n, argv[2]);
        if (strcmp(a, "burn") == 0 && argc == 2 && parse_double(argv[1], &d) && d >= 0)
                return do_burn(d);
        if (strcmp(a, "readdev") == 0 && argc == 3 && parse_ll(argv[2], &n) && n >= 0)
                return do_readdev(argv[1], n);
        if (strcmp(a, "affinity") == 0 && argc == 2 && parse_double(argv[1], &d) && d >= 0)
                return do_affinity(d);
        if (strcmp(a, "spin") == 0 && (argc == 2 || (argc == 3 && parse_ll(argv[2], &n))) &&
            parse_double(argv[1], &d))
                return do_spin(d, argc == 3 ? n : 1);
        if (strcmp(a, "write") == 0 && argc == 2)
                return do_write(argv[1]);
        if (strcmp(a, "serve") == 0 && argc == 3 && parse_double(argv[2], &d))
                return do_serve(argv[1], d);
        if (strcmp(a, "connect") == 0 && argc == 2)
                return do_connect(argv[1]);
        if (strcmp(a, "read") == 0 && argc == 2)
                return do_read(argv[1]);
        if (strcmp(a, "signal") == 0 && argc == 3 && parse_ll(argv[1], &n) && n > 0) {
                int sig = parse_signal(argv[2]);
                return sig > 0 ? do_signal(n, sig) : usage();
        }
        if (strcmp(a, "net") == 0 && argc >= 2) {
                const char *tap = NULL, *ns_path = NULL;
                for (int i = 2; i < argc; i += 2) {
                        if (i + 1 >= argc)
                                return usage();
                        if (strcmp(argv[i], "--tap") == 0)
                                tap = argv[i + 1];
                        else if (strcmp(argv[i], "--setns") == 0)
                                ns_path = argv[i + 1];
                        else
                                return usage();
                }
                return do_net(argv[1], tap, ns_path);
        }
        if (strcmp(a, "nest") == 0 && argc == 3 && parse_ll(argv[1], &n) && n >= 0)
                return do_nest(n, argv[2]);
        if (strcmp(a, "fill") == 0 && (argc == 3 || (argc == 4 && strcmp(argv[3], "--sync") == 0)) &&
            parse_ll(argv[2], &n) && n >= 0)
                return do_fill(argv[1], n, argc == 4);
        return usage();
}

int main(int argc, char **argv)
{
        return run_action(argc - 1, argv + 1);
}

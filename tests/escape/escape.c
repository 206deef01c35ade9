/* SPDX-License-Identifier: MIT */
/*
 * escape — a static program run inside a default jail that tries, one by
 * one, to get out of it.  Every attempt runs in its own forked child (so
 * that one attempt's side effects, a new namespace or a changed uid, never
 * colour the next) and prints one line:
 *
 *   ATTEMPT <name> <BLOCKED|ESCAPED|SKIPPED> <errno name or detail>
 *
 * then a final line:
 *
 *   SUMMARY attempts=N blocked=B escaped=E skipped=S
 *
 * BLOCKED means the attempt failed the way a jail must make it fail;
 * ESCAPED means it got something it must not (the detail says what);
 * SKIPPED means the argument the attempt needs was not given.
 *
 * Usage:
 *   escape run [OPTIONS]       every attempt (options name what the host
 *                              prepared; see usage())
 *   escape ids                 print this process's ids and capabilities
 *                              (run through setuid and file-caps copies)
 *   escape sleep SECONDS       sleep (a second jail to aim at)
 *   escape alloc MIB           allocate and touch MIB MiB, 1 MiB at a time
 *   escape forks N             fork N sleeping children, report how many
 *   escape overwrite-exe       as PID 1: re-exec from memory, then try to
 *                              write the program's own host file
 *   escape symlink TARGET LINK plant a symbolic link (for a later jail)
 *   escape read PATH           print the first line of PATH
 *
 * Exit status: 0 nothing escaped, 1 something escaped, 2 usage error.
 *
 * Safety: an attempt that would change the host if it succeeded is built
 * to stop right after the privilege check (kexec_load with an unknown flag,
 * reboot with an unknown command, swapon of /dev/null), opens kernel knobs
 * for writing without ever writing, and removes whatever it created.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/nsfs.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SECBIT_KEEP_CAPS
#define SECBIT_KEEP_CAPS 0x10
#endif
#ifndef X32_SYSCALL_BIT
#define X32_SYSCALL_BIT 0x40000000
#endif
#ifndef FILEID_INO32_GEN
#define FILEID_INO32_GEN 1
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#define MAX_HANDLE_BYTES 128
#define DETAIL_MAX 240

/* ------------------------------------------------------------- plumbing */

enum verdict { V_NONE = 0, V_BLOCKED, V_ESCAPED, V_SKIPPED };

struct result {
        enum verdict verdict;
        char detail[DETAIL_MAX];
};

struct opts {
        pid_t host_pid;          /* a host process the test started */
        pid_t other_pid;         /* PID 1 of a second jail, as the host sees it */
        int port;                /* a listener on the host's 127.0.0.1 */
        const char *unix_path;   /* a listening Unix socket on the host */
        const char *abstract;    /* a listening abstract Unix socket on the host */
        const char *host_file;   /* a host file outside the jail root */
        const char *other_file;  /* a file in the second jail's root (host path) */
        const char *handle;      /* TYPE:HEX, a file handle of host_file */
        const char *suid;        /* a setuid-root copy of this program */
        const char *fcaps;       /* a copy with file capabilities */
        const char *ro_dir;      /* a read-only bind, world-writable underneath */
        const char *rw_dir;      /* a writable bind */
        long sysv_key;           /* a System V message queue on the host */
        bool have_sysv;
};

/* Filled in by main() before any attempt opens anything. */
static int leaked_fds[32];
static int n_leaked;

static const char *errname(int e)
{
        static char buf[16];
        const char *n = strerrorname_np(e);
        if (n)
                return n;
        snprintf(buf, sizeof(buf), "E%d", e);
        return buf;
}

static void set_result(struct result *r, enum verdict v, const char *fmt, va_list ap)
{
        r->verdict = v;
        vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
        /* One line per attempt, whatever a detail quotes. */
        for (char *p = r->detail; *p; p++)
                if (*p == '\n' || *p == '\r' || (unsigned char) *p < 0x20)
                        *p = ' ';
}

__attribute__((format(printf, 2, 3))) static void blocked(struct result *r, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        set_result(r, V_BLOCKED, fmt, ap);
        va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void escaped(struct result *r, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        set_result(r, V_ESCAPED, fmt, ap);
        va_end(ap);
}

static void skipped(struct result *r, const char *why)
{
        r->verdict = V_SKIPPED;
        snprintf(r->detail, sizeof(r->detail), "%s", why);
}

/* The usual case: any failure blocks, success escapes. */
static void expect_fail(struct result *r, long ret, int err, const char *what)
{
        if (ret < 0)
                blocked(r, "%s", errname(err));
        else
                escaped(r, "%s succeeded", what);
}

/* For calls whose arguments are invalid on purpose, so that nothing happens
 * even when the call gets through: only a refusal of the privilege itself
 * (EPERM/EACCES) counts as blocked; any other errno means the privilege
 * check passed. */
static void expect_denied(struct result *r, long ret, int err, const char *what)
{
        if (ret < 0 && (err == EPERM || err == EACCES))
                blocked(r, "%s", errname(err));
        else if (ret < 0 && err == ENOSYS)
                blocked(r, "ENOSYS (not in this kernel)");
        else if (ret < 0)
                escaped(r, "%s passed the privilege check (then %s)", what, errname(err));
        else
                escaped(r, "%s succeeded", what);
}

static void append(char *buf, size_t size, const char *sep, const char *word)
{
        /* Truncates quietly: details are for people. */
        size_t len = strlen(buf);
        for (const char *p = sep; *p && len + 1 < size; p++)
                buf[len++] = *p;
        for (const char *p = word; *p && len + 1 < size; p++)
                buf[len++] = *p;
        if (len < size)
                buf[len] = '\0';
}

/* The same, reading errno itself: as an argument next to the call that
 * sets it, errno could be read before the call runs. */
static void expect_fail_now(struct result *r, long ret, const char *what)
{
        expect_fail(r, ret, errno, what);
}

static void expect_denied_now(struct result *r, long ret, const char *what)
{
        expect_denied(r, ret, errno, what);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        size_t got = 0;
        while (got + 1 < size) {
                ssize_t n = read(fd, buf + got, size - 1 - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        int saved = errno;
        close(fd);
        errno = saved;
        buf[got] = '\0';
        return (ssize_t) got;
}

/* "Key:\tvalue" from /proc/self/status, or NULL. */
static const char *status_field(const char *status, const char *key, char *out, size_t size)
{
        size_t klen = strlen(key);
        for (const char *p = status; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
                        const char *v = p + klen + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        size_t n = strcspn(v, "\n");
                        snprintf(out, size, "%.*s", (int) n, v);
                        return out;
                }
        }
        return NULL;
}

static int unix_connect(const char *path, bool abstract)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(path);
        if (len + 1 >= sizeof(sa.sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        socklen_t salen;
        if (abstract) {
                memcpy(sa.sun_path + 1, path, len);
                salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + len);
        } else {
                memcpy(sa.sun_path, path, len + 1);
                salen = sizeof(sa);
        }
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -1;
        int r = connect(s, (struct sockaddr *) &sa, salen);
        int saved = errno;
        close(s);
        errno = saved;
        return r;
}

/* Run PATH ARGS in a child with stdout on a pipe; the output in buf. */
static int run_capture(const char *path, char *const argv[], char *buf, size_t size, int *status)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                dup2(p[1], 1);
                execv(path, argv);
                dprintf(1, "EXECFAIL %s\n", errname(errno));
                _exit(127);
        }
        close(p[1]);
        size_t got = 0;
        for (;;) {
                ssize_t n = read(p[0], buf + got, size - 1 - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || got + (size_t) n >= size - 1) {
                        if (n > 0)
                                got += (size_t) n;
                        break;
                }
                got += (size_t) n;
        }
        buf[got] = '\0';
        close(p[0]);
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
        return 0;
}

/* ------------------------------------------------- host filesystem */

/* CVE-2019-5736 done the patient way: keep an O_PATH fd of the program's
 * own file, re-exec from a copy in memory so that no process of the jail
 * runs the file any more (no ETXTBSY), then reopen the fd for writing.
 * Only the file's owner and mode on the host stand in the way.  Returns the
 * errno that stopped it, 0 when the file was opened for writing (the fd in
 * *wfd; nothing written). */
static int reopen_exe_for_writing(int exe_fd, int *wfd)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", exe_fd);
        *wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        return *wfd >= 0 ? 0 : errno;
}

static int reexec_from_memory(const char *stage2, int exe_fd)
{
        int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        int mem = (int) syscall(SYS_memfd_create, "escape-stage2", 1U /* MFD_CLOEXEC */);
        if (src < 0 || mem < 0)
                return errno;
        char buf[65536];
        for (;;) {
                ssize_t n = read(src, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (write(mem, buf, (size_t) n) != n)
                        return errno;
        }
        close(src);
        char fdarg[16];
        snprintf(fdarg, sizeof(fdarg), "%d", exe_fd);
        char *argv[] = { (char *) "escape", (char *) stage2, fdarg, NULL };
        char *envp[] = { NULL };
        syscall(SYS_execveat, mem, "", argv, envp, AT_EMPTY_PATH);
        if (errno == ENOENT || errno == ENOSYS) {
                /* Kernels whose execveat() of an fd fails (Debian 11's 5.10):
                 * the memfd through its magic link, as the jailer does. */
                char self[32];

                snprintf(self, sizeof(self), "/proc/self/fd/%d", mem);
                execve(self, argv, envp);
        }
        return errno;
}

static void a_exe_overwrite_via_reexec(const struct opts *o, struct result *r)
{
        (void) o;
        /* In this child PID 1 still runs the file, so after the re-exec the
         * reopen meets the owner/mode check first, then ETXTBSY.  The full
         * attack, as PID 1, is the "overwrite-exe" mode. */
        int exe = open("/proc/self/exe", O_PATH); /* inherited across the re-exec */
        if (exe < 0) {
                blocked(r, "open /proc/self/exe: %s", errname(errno));
                return;
        }
        int p[2];
        if (pipe(p) < 0) {
                blocked(r, "pipe: %s", errname(errno));
                return;
        }
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                int e = reexec_from_memory("exe-stage2", exe);
                dprintf(1, "REEXEC-FAILED %s\n", errname(e));
                _exit(1);
        }
        close(p[1]);
        char out[256] = "";
        ssize_t n = read(p[0], out, sizeof(out) - 1);
        out[n > 0 ? n : 0] = '\0';
        out[strcspn(out, "\n")] = '\0';
        waitpid(pid, NULL, 0);
        if (strncmp(out, "STAGE2 ", 7) != 0) {
                blocked(r, "could not re-exec from memory: %s", out);
                return;
        }
        if (strncmp(out + 7, "opened", 6) == 0)
                escaped(r, "the program's host file reopened for writing after a re-exec from memory");
        else
                blocked(r, "%s", out + 7);
}

static void a_leaked_fds(const struct opts *o, struct result *r)
{
        (void) o;
        if (n_leaked == 0) {
                blocked(r, "EBADF (fds 3..1023 all closed)");
                return;
        }
        char list[128] = "";
        for (int i = 0; i < n_leaked; i++) {
                char one[16];
                snprintf(one, sizeof(one), "%d", leaked_fds[i]);
                append(list, sizeof(list), i ? "," : "", one);
        }
        char target[PATH_MAX] = "?";
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", leaked_fds[0]);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n >= 0)
                target[n] = '\0';
        escaped(r, "open fds inherited: %s (fd %d -> %s)", list, leaked_fds[0], target);
}

static void a_cwd_is_root(const struct opts *o, struct result *r)
{
        (void) o;
        char cwd[PATH_MAX], link[PATH_MAX];
        struct stat dot, root;
        if (!getcwd(cwd, sizeof(cwd))) {
                escaped(r, "getcwd: %s (cwd outside the root?)", errname(errno));
                return;
        }
        ssize_t n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
        if (n < 0) {
                escaped(r, "readlink /proc/self/cwd: %s", errname(errno));
                return;
        }
        link[n] = '\0';
        if (stat(".", &dot) < 0 || stat("/", &root) < 0 || !same_file(&dot, &root) || strcmp(cwd, "/") ||
            strcmp(link, "/")) {
                escaped(r, "cwd is %s (/proc/self/cwd -> %s), not the jail root", cwd, link);
                return;
        }
        blocked(r, "cwd is the jail root");
}

static void a_host_file_by_path(const struct opts *o, struct result *r)
{
        const char *paths[] = { o->host_file ? o->host_file : "/etc/hostname", "/etc/shadow", "/root",
                                "/home", "/var/lib" };
        int first = 0;
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        close(fd);
                        escaped(r, "opened %s", paths[i]);
                        return;
                }
                if (i == 0)
                        first = errno;
        }
        blocked(r, "%s", errname(first));
}

static void a_proc1_root(const struct opts *o, struct result *r)
{
        struct stat a, b, c;
        if (stat("/", &a) < 0) {
                escaped(r, "stat /: %s", errname(errno));
                return;
        }
        if (stat("/proc/1/root/.", &b) == 0 && !same_file(&a, &b)) {
                escaped(r, "/proc/1/root is not the jail root");
                return;
        }
        if (stat("/proc/1/root/../../..", &c) == 0 && !same_file(&a, &c)) {
                escaped(r, "/proc/1/root/../../.. leaves the jail root");
                return;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/1/root%s", o->host_file ? o->host_file : "/etc/hostname");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                escaped(r, "opened %s", path);
                return;
        }
        blocked(r, "%s (/proc/1/root is the jail's own /)", errname(errno));
}

static void a_dotdot_after_pivot(const struct opts *o, struct result *r)
{
        struct stat root, here;
        if (stat("/", &root) < 0 || chdir("/") < 0) {
                escaped(r, "stat/chdir /: %s", errname(errno));
                return;
        }
        for (int i = 0; i < 64; i++)
                if (chdir("..") < 0) {
                        escaped(r, "chdir ..: %s", errname(errno));
                        return;
                }
        if (stat(".", &here) < 0 || !same_file(&root, &here)) {
                escaped(r, "64 x .. left the jail root");
                return;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "../../../../../../../..%s", o->host_file ? o->host_file : "/etc/hostname");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                escaped(r, "opened %s", path);
                return;
        }
        blocked(r, "%s (.. of / is /)", errname(errno));
}

static void try_handle(struct result *r, int type, const unsigned char *bytes, size_t n, const char *what)
{
        struct file_handle *fh = calloc(1, sizeof(*fh) + MAX_HANDLE_BYTES);
        if (!fh) {
                skipped(r, "out of memory");
                return;
        }
        fh->handle_bytes = (unsigned) n;
        fh->handle_type = type;
        memcpy(fh->f_handle, bytes, n);
        /* The jail root is a bind of a host directory: the same super block
         * as the host file, so the handle would decode if it were allowed. */
        int mnt = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        long fd = syscall(SYS_open_by_handle_at, mnt, fh, O_RDONLY | O_CLOEXEC);
        int e = errno;
        if (fd >= 0) {
                char buf[64] = "";
                ssize_t k = read((int) fd, buf, sizeof(buf) - 1);
                buf[k > 0 ? k : 0] = '\0';
                escaped(r, "opened %s by handle: \"%.40s\"", what, buf);
        } else {
                blocked(r, "%s", errname(e));
        }
        free(fh);
        if (mnt >= 0)
                close(mnt);
}

static void a_open_by_handle_host_file(const struct opts *o, struct result *r)
{
        if (!o->handle) {
                skipped(r, "no --handle given");
                return;
        }
        char *end;
        long type = strtol(o->handle, &end, 10);
        if (*end != ':') {
                skipped(r, "bad --handle");
                return;
        }
        unsigned char bytes[MAX_HANDLE_BYTES];
        size_t n = 0;
        for (const char *p = end + 1; p[0] && p[1] && n < sizeof(bytes); p += 2) {
                unsigned v;
                if (sscanf(p, "%2x", &v) != 1) {
                        skipped(r, "bad --handle");
                        return;
                }
                bytes[n++] = (unsigned char) v;
        }
        try_handle(r, (int) type, bytes, n, "the host file");
}

static void a_open_by_handle_guess(const struct opts *o, struct result *r)
{
        (void) o;
        /* "Shocker": the root directory of an ext4 file system is inode 2,
         * generation 0; no need to learn a handle from anywhere. */
        uint32_t h[2] = { 2, 0 };
        try_handle(r, FILEID_INO32_GEN, (const unsigned char *) h, sizeof(h), "inode 2 (the fs root)");
}

static void a_name_to_handle_at(const struct opts *o, struct result *r)
{
        (void) o;
        struct file_handle *fh = calloc(1, sizeof(*fh) + MAX_HANDLE_BYTES);
        if (!fh) {
                skipped(r, "out of memory");
                return;
        }
        fh->handle_bytes = MAX_HANDLE_BYTES;
        int mount_id;
        long ret = syscall(SYS_name_to_handle_at, AT_FDCWD, "/", fh, &mount_id, 0);
        expect_fail_now(r, ret, "name_to_handle_at(/)");
        free(fh);
}

static void a_proc_self_exe_write(const struct opts *o, struct result *r)
{
        (void) o;
        /* The program was exec'd from an fd: /proc/self/exe is a host file
         * (CVE-2019-5736).  Opened for writing, never written. */
        int fd = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                escaped(r, "/proc/self/exe (a host file) opened for writing");
                return;
        }
        blocked(r, "%s", errname(errno));
}

/* Create path (and remove it again): an escape when that works; else
 * false, with errno from open(). */
static bool created(struct result *r, const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return false;
        close(fd);
        unlink(path);
        escaped(r, "created %s", path);
        return true;
}

static void a_write_jail_root(const struct opts *o, struct result *r)
{
        (void) o;
        if (!created(r, "/escape-probe"))
                blocked(r, "%s", errname(errno));
}

static void a_write_ro_bind(const struct opts *o, struct result *r)
{
        if (!o->ro_dir) {
                skipped(r, "no --ro-dir given");
                return;
        }
        char path[PATH_MAX];
        /* The directory and the file are world-writable on the host: only
         * the read-only mount stands in the way. */
        snprintf(path, sizeof(path), "%s/file", o->ro_dir);
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                escaped(r, "%s opened for writing", path);
                return;
        }
        int e = errno;
        snprintf(path, sizeof(path), "%s/escape-new", o->ro_dir);
        if (!created(r, path))
                blocked(r, "%s", errname(e));
}

static void a_write_dev(const struct opts *o, struct result *r)
{
        (void) o;
        if (created(r, "/dev/escape-probe"))
                return;
        int e = errno;
        if (symlink("/proc/self/root", "/dev/escape-link") == 0) {
                unlink("/dev/escape-link");
                escaped(r, "created a symlink in /dev");
                return;
        }
        blocked(r, "%s", errname(e));
}

static void a_dev_host_nodes(const struct opts *o, struct result *r)
{
        (void) o;
        static const char *const nodes[] = {
                "/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/kmsg",
                "/dev/console", "/dev/tty", "/dev/tty0", "/dev/ptmx", "/dev/pts", "/dev/shm", "/dev/mqueue",
                "/dev/net/tun", "/dev/vhost-net", "/dev/vhost-vsock", "/dev/userfaultfd", "/dev/loop0",
                "/dev/loop-control", "/dev/fuse", "/dev/dri", "/dev/watchdog",
        };
        for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
                struct stat st;
                if (lstat(nodes[i], &st) == 0) {
                        escaped(r, "%s exists in the jail", nodes[i]);
                        return;
                }
                if (errno != ENOENT) {
                        escaped(r, "%s: %s (not ENOENT)", nodes[i], errname(errno));
                        return;
                }
        }
        char names[128] = "";
        DIR *d = opendir("/dev");
        if (d) {
                struct dirent *e;
                while ((e = readdir(d)))
                        if (e->d_name[0] != '.') {
                                append(names, sizeof(names), " ", e->d_name);
                        }
                closedir(d);
        }
        blocked(r, "ENOENT (/dev has:%s)", names);
}

static void a_sys_absent(const struct opts *o, struct result *r)
{
        (void) o;
        static const char *const paths[] = { "/sys", "/sys/fs/cgroup", "/sys/kernel", "/sys/firmware" };
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                struct stat st;
                if (stat(paths[i], &st) == 0) {
                        /* Present: it must at least be read-only. */
                        if (access(paths[i], W_OK) == 0) {
                                escaped(r, "%s exists and is writable", paths[i]);
                                return;
                        }
                }
        }
        struct stat st;
        if (stat("/sys", &st) == 0)
                blocked(r, "/sys present but not writable");
        else
                blocked(r, "%s", errname(errno));
}

static void a_other_jail_files(const struct opts *o, struct result *r)
{
        if (!o->other_file) {
                skipped(r, "no --other-file given");
                return;
        }
        int fd = open(o->other_file, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                escaped(r, "opened %s", o->other_file);
                return;
        }
        int e = errno;
        if (o->other_pid > 0) {
                const char *base = strrchr(o->other_file, '/');
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "/proc/%d/root/%s", (int) o->other_pid, base ? base + 1 : o->other_file);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        close(fd);
                        escaped(r, "opened %s", path);
                        return;
                }
        }
        blocked(r, "%s", errname(e));
}

/* ------------------------------------------------- sockets and network */

static void a_unix_system_sockets(const struct opts *o, struct result *r)
{
        (void) o;
        static const char *const paths[] = { "/run/systemd/journal/socket", "/run/systemd/private",
                                             "/run/dbus/system_bus_socket", "/var/run/docker.sock",
                                             "/run/jailer/jailerd.sock" };
        int first = 0;
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                if (unix_connect(paths[i], false) == 0) {
                        escaped(r, "connected to %s", paths[i]);
                        return;
                }
                if (i == 0)
                        first = errno;
        }
        blocked(r, "%s", errname(first));
}

/* A socket the host test listens on, by path or abstract name (NULL: the
 * option that names it was not given). */
static void host_socket(struct result *r, const char *name, bool abstract, const char *no_option)
{
        if (!name) {
                skipped(r, no_option);
                return;
        }
        if (unix_connect(name, abstract) == 0)
                escaped(r, "connected to %s%s", abstract ? "@" : "", name);
        else
                blocked(r, "%s", errname(errno));
}

static void a_unix_host_socket(const struct opts *o, struct result *r)
{
        host_socket(r, o->unix_path, false, "no --unix-path given");
}

static void a_unix_abstract_host(const struct opts *o, struct result *r)
{
        /* Abstract names belong to the network namespace. */
        host_socket(r, o->abstract, true, "no --abstract given");
}

static void a_net_host_loopback(const struct opts *o, struct result *r)
{
        if (o->port <= 0) {
                skipped(r, "no --port given");
                return;
        }
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
                blocked(r, "socket: %s", errname(errno));
                return;
        }
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) o->port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        struct timeval tv = { .tv_sec = 3 };
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        int ret = connect(s, (struct sockaddr *) &sa, sizeof(sa));
        int e = errno;
        close(s);
        if (ret == 0)
                escaped(r, "connected to 127.0.0.1:%d", o->port);
        else
                blocked(r, "%s", errname(e));
}

static void a_net_interfaces(const struct opts *o, struct result *r)
{
        (void) o;
        struct if_nameindex *ifs = if_nameindex();
        if (!ifs) {
                blocked(r, "if_nameindex: %s", errname(errno));
                return;
        }
        char names[128] = "";
        bool other = false;
        for (struct if_nameindex *i = ifs; i->if_index; i++) {
                if (strcmp(i->if_name, "lo") != 0)
                        other = true;
                append(names, sizeof(names), " ", i->if_name);
        }
        if_freenameindex(ifs);
        char routes[4096];
        int n_routes = 0;
        if (read_file("/proc/net/route", routes, sizeof(routes)) > 0)
                for (char *p = strchr(routes, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
                        n_routes++;
        if (other || n_routes > 0)
                escaped(r, "interfaces:%s, %d IPv4 routes", names, n_routes);
        else
                blocked(r, "only lo, no route");
}

static void a_net_raw_socket(const struct opts *o, struct result *r)
{
        (void) o;
        int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        if (s >= 0)
                close(s);
        expect_fail_now(r, s, "socket(AF_PACKET, SOCK_RAW)");
}

static void a_net_admin(const struct opts *o, struct result *r)
{
        (void) o;
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
                blocked(r, "socket: %s", errname(errno));
                return;
        }
        struct ifreq ifr = { 0 };
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
                blocked(r, "SIOCGIFFLAGS: %s", errname(errno));
                close(s);
                return;
        }
        /* The same flags again: harmless, but needs CAP_NET_ADMIN. */
        int ret = ioctl(s, SIOCSIFFLAGS, &ifr);
        int e = errno;
        close(s);
        expect_fail(r, ret, e, "SIOCSIFFLAGS on lo");
}

static void a_sysv_ipc_host(const struct opts *o, struct result *r)
{
        if (!o->have_sysv) {
                skipped(r, "no --sysv-key given");
                return;
        }
        int id = msgget((key_t) o->sysv_key, 0);
        if (id >= 0)
                escaped(r, "found the host's message queue (id %d)", id);
        else
                blocked(r, "%s", errname(errno));
}

/* ------------------------------------------------- namespaces */

static void try_unshare(struct result *r, int flag, const char *what)
{
        int ret = unshare(flag);
        expect_fail_now(r, ret, what);
}

static void a_unshare_user(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)"); }
static void a_unshare_mnt(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWNS, "unshare(CLONE_NEWNS)"); }
static void a_unshare_net(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWNET, "unshare(CLONE_NEWNET)"); }
static void a_unshare_pid(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWPID, "unshare(CLONE_NEWPID)"); }
static void a_unshare_uts(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWUTS, "unshare(CLONE_NEWUTS)"); }
static void a_unshare_ipc(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWIPC, "unshare(CLONE_NEWIPC)"); }
static void a_unshare_cgroup(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWCGROUP, "unshare(CLONE_NEWCGROUP)"); }
static void a_unshare_time(const struct opts *o, struct result *r) { (void) o; try_unshare(r, CLONE_NEWTIME, "unshare(CLONE_NEWTIME)"); }

/* After a clone attempt, with errno as the call left it: a child exits at
 * once, the parent reaps it; success escapes. */
static void clone_attempted(struct result *r, long pid, const char *what)
{
        if (pid == 0)
                _exit(0);
        int e = errno;
        if (pid > 0)
                waitpid((pid_t) pid, NULL, 0);
        expect_fail(r, pid, e, what);
}

static void a_clone_newuser(const struct opts *o, struct result *r)
{
        (void) o;
        long pid = syscall(SYS_clone, (unsigned long) (CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0);
        clone_attempted(r, pid, "clone(CLONE_NEWUSER)");
}

struct clone_args_v0 {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static void a_clone3_newuser(const struct opts *o, struct result *r)
{
        (void) o;
        struct clone_args_v0 args = { .flags = CLONE_NEWUSER | CLONE_NEWNS, .exit_signal = SIGCHLD };
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        clone_attempted(r, pid, "clone3(CLONE_NEWUSER|CLONE_NEWNS)");
}

/* "user:[N]", the identity of this process's user namespace ("" if unreadable). */
static void userns_of_self(char id[static 64])
{
        ssize_t n = readlink("/proc/self/ns/user", id, 63);
        id[n >= 0 ? n : 0] = '\0';
}

static void userns_changed(struct result *r, long ret, const char *before, const char *via)
{
        char after[64];
        userns_of_self(after);
        if (strcmp(before, after) != 0)
                escaped(r, "%s created a user namespace", via);
        else if (ret < 0)
                blocked(r, "%s", errname((int) -ret));
        else
                blocked(r, "returned %ld, no new namespace", ret);
}

static void a_compat_int80_unshare(const struct opts *o, struct result *r)
{
        (void) o;
#if defined(__x86_64__)
        char before[64];
        userns_of_self(before);
        /* The 32-bit ABI (int 0x80): unshare is 310 there.  A filter that
         * matched only x86-64 numbers would let it through. */
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(310L), "b"((long) CLONE_NEWUSER) : "memory", "cc", "r8", "r9", "r10", "r11");
        userns_changed(r, ret, before, "int 0x80 unshare");
#else
        skipped(r, "x86-64 only");
#endif
}

static void a_x32_unshare(const struct opts *o, struct result *r)
{
        (void) o;
#if defined(__x86_64__)
        char before[64];
        userns_of_self(before);
        /* The x32 ABI: the same numbers with bit 30 set. */
        long ret = syscall(X32_SYSCALL_BIT | SYS_unshare, CLONE_NEWUSER);
        userns_changed(r, ret < 0 ? -errno : ret, before, "x32 unshare");
#else
        skipped(r, "x86-64 only");
#endif
}

static void a_setns_own_ns(const struct opts *o, struct result *r)
{
        (void) o;
        int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                blocked(r, "open /proc/1/ns/mnt: %s", errname(errno));
                return;
        }
        int ret = setns(fd, CLONE_NEWNS);
        int e = errno;
        close(fd);
        expect_fail(r, ret, e, "setns(/proc/1/ns/mnt)");
}

static void ns_ioctl(struct result *r, const char *nsfile, unsigned long req, const char *what)
{
        int fd = open(nsfile, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                blocked(r, "open %s: %s", nsfile, errname(errno));
                return;
        }
        int nfd = ioctl(fd, req);
        int e = errno;
        close(fd);
        if (nfd >= 0) {
                char target[64] = "?", link[64];
                snprintf(link, sizeof(link), "/proc/self/fd/%d", nfd);
                ssize_t n = readlink(link, target, sizeof(target) - 1);
                if (n >= 0)
                        target[n] = '\0';
                escaped(r, "%s gave an fd to %s", what, target);
                close(nfd);
                return;
        }
        blocked(r, "%s", errname(e));
}

static void a_ns_get_parent_userns(const struct opts *o, struct result *r) { (void) o; ns_ioctl(r, "/proc/self/ns/user", NS_GET_PARENT, "NS_GET_PARENT(user)"); }
static void a_ns_get_owner_of_mntns(const struct opts *o, struct result *r) { (void) o; ns_ioctl(r, "/proc/self/ns/mnt", NS_GET_USERNS, "NS_GET_USERNS(mnt)"); }
static void a_ns_get_parent_pidns(const struct opts *o, struct result *r) { (void) o; ns_ioctl(r, "/proc/self/ns/pid", NS_GET_PARENT, "NS_GET_PARENT(pid)"); }

/* ------------------------------------------------- mounts */

static void a_mount_tmpfs(const struct opts *o, struct result *r) { (void) o; expect_fail_now(r, mount("none", "/dev", "tmpfs", 0, NULL), "mount tmpfs"); }
static void a_mount_proc(const struct opts *o, struct result *r) { (void) o; expect_fail_now(r, mount("proc", "/dev", "proc", 0, NULL), "mount proc"); }
static void a_mount_sysfs(const struct opts *o, struct result *r) { (void) o; expect_fail_now(r, mount("sysfs", "/dev", "sysfs", 0, NULL), "mount sysfs"); }
static void a_mount_bind_root(const struct opts *o, struct result *r) { (void) o; expect_fail_now(r, mount("/", "/dev", NULL, MS_BIND | MS_REC, NULL), "bind mount"); }
static void a_mount_cgroup_release_agent(const struct opts *o, struct result *r)
{
        (void) o;
        /* CVE-2022-0492: a cgroup v1 hierarchy of one's own, then its
         * release_agent. */
        expect_fail_now(r, mount("cgroup", "/dev", "cgroup", 0, "rdma"), "mount cgroup v1");
}
static void a_remount_proc_sys_rw(const struct opts *o, struct result *r) { (void) o; expect_fail_now(r, mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL), "remount /proc/sys rw"); }
static void a_umount_proc_sys(const struct opts *o, struct result *r) { (void) o; expect_fail_now(r, umount2("/proc/sys", MNT_DETACH), "umount /proc/sys"); }

static void a_fsopen(const struct opts *o, struct result *r)
{
        (void) o;
        long fd = syscall(SYS_fsopen, "tmpfs", 0);
        int e = errno;
        if (fd >= 0)
                close((int) fd);
        expect_fail(r, fd, e, "fsopen(tmpfs)");
}

static void a_open_tree(const struct opts *o, struct result *r)
{
        (void) o;
        long fd = syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        int e = errno;
        if (fd >= 0)
                close((int) fd);
        expect_fail(r, fd, e, "open_tree(/, OPEN_TREE_CLONE)");
}

static void a_move_mount(const struct opts *o, struct result *r)
{
        (void) o;
        long ret = syscall(SYS_move_mount, AT_FDCWD, "/proc", AT_FDCWD, "/dev", 0);
        expect_fail_now(r, ret, "move_mount(/proc, /dev)");
}

static void a_chroot(const struct opts *o, struct result *r)
{
        (void) o;
        int ret = chroot("/dev");
        int e = errno;
        if (ret == 0) {
                /* The classic: chroot deeper, then climb out with "..". */
                for (int i = 0; i < 64; i++)
                        if (chdir("..") < 0)
                                break;
                escaped(r, "chroot succeeded");
                return;
        }
        blocked(r, "%s", errname(e));
}

static void a_pivot_root(const struct opts *o, struct result *r)
{
        (void) o;
        if (chdir("/") < 0) {
                blocked(r, "chdir: %s", errname(errno));
                return;
        }
        expect_fail_now(r, syscall(SYS_pivot_root, ".", "."), "pivot_root");
}

/* ------------------------------------------------- device nodes */

static void try_mknod(const struct opts *o, struct result *r, mode_t type, dev_t dev, const char *name)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", o->rw_dir ? o->rw_dir : "", name);
        int ret = mknod(path, type | 0600, dev);
        int e = errno;
        if (ret == 0) {
                unlink(path);
                escaped(r, "created %s", path);
                return;
        }
        blocked(r, "%s", errname(e));
}

static void a_mknod_char(const struct opts *o, struct result *r) { try_mknod(o, r, S_IFCHR, makedev(1, 1), "escape-mem"); }
static void a_mknod_block(const struct opts *o, struct result *r) { try_mknod(o, r, S_IFBLK, makedev(8, 0), "escape-sda"); }
static void a_mknod_fifo(const struct opts *o, struct result *r) { try_mknod(o, r, S_IFIFO, 0, "escape-fifo"); }

/* ------------------------------------------------- privileges */

static void check_ids_output(struct result *r, const char *path, const char *what)
{
        char *argv[] = { (char *) path, (char *) "ids", NULL };
        char out[512];
        int status = 0;
        if (run_capture(path, argv, out, sizeof(out), &status) < 0) {
                blocked(r, "fork: %s", errname(errno));
                return;
        }
        const char *line = strstr(out, "IDS ");
        if (!line) {
                /* Not executed at all: nothing gained either. */
                blocked(r, "not executed (%s)", out[0] ? out : "no output");
                return;
        }
        int euid = -1, suid = -1, egid = -1, sgid = -1;
        char capeff[32] = "?", capprm[32] = "?";
        sscanf(line, "IDS euid=%d suid=%d egid=%d sgid=%d capeff=%31s capprm=%31s", &euid, &suid, &egid, &sgid,
               capeff, capprm);
        bool caps = strspn(capeff, "0") != strlen(capeff) || strspn(capprm, "0") != strlen(capprm);
        if (euid == 0 || suid == 0 || egid == 0 || sgid == 0 || caps || euid < 0)
                escaped(r, "%s ran with euid=%d egid=%d CapEff=%s CapPrm=%s", what, euid, egid, capeff, capprm);
        else
                blocked(r, "ran as euid=%d egid=%d, CapEff=%s", euid, egid, capeff);
}

static void a_exec_setuid_root(const struct opts *o, struct result *r)
{
        if (!o->suid) {
                skipped(r, "no --suid given");
                return;
        }
        check_ids_output(r, o->suid, "the setuid-root binary");
}

static void a_exec_file_caps(const struct opts *o, struct result *r)
{
        if (!o->fcaps) {
                skipped(r, "no --fcaps given");
                return;
        }
        check_ids_output(r, o->fcaps, "the file-capabilities binary");
}

static void a_set_file_caps(const struct opts *o, struct result *r)
{
        /* Give a file of our own every capability, for the host (or a later
         * jail) to run: needs CAP_SETFCAP. */
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/escape-fcaps", o->rw_dir ? o->rw_dir : "");
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (fd < 0) {
                blocked(r, "create %s: %s", path, errname(errno));
                return;
        }
        close(fd);
        uint32_t caps[5] = { 0x02000001u /* revision 2, effective */, 0xffffffffu, 0, 0x1ffu, 0 };
        int ret = setxattr(path, "security.capability", caps, sizeof(caps), 0);
        int e = errno;
        unlink(path);
        if (ret == 0)
                escaped(r, "set security.capability on %s", path);
        else
                blocked(r, "%s", errname(e));
}

static void a_prctl_set_mm(const struct opts *o, struct result *r)
{
        (void) o;
        /* Rewrite what /proc/self/exe and the memory map say: CAP_SYS_RESOURCE. */
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        long ret = prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0);
        int e = errno;
        if (fd >= 0)
                close(fd);
        expect_fail(r, ret, e, "PR_SET_MM_EXE_FILE");
}

static void a_capset_raise(const struct opts *o, struct result *r)
{
        (void) o;
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };
        if (syscall(SYS_capget, &h, d) < 0) {
                blocked(r, "capget: %s", errname(errno));
                return;
        }
        d[0].effective |= 1u << CAP_SYS_ADMIN;
        d[0].permitted |= 1u << CAP_SYS_ADMIN;
        expect_fail_now(r, syscall(SYS_capset, &h, d), "capset(+CAP_SYS_ADMIN)");
}

static void a_capset_inheritable(const struct opts *o, struct result *r)
{
        (void) o;
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };
        if (syscall(SYS_capget, &h, d) < 0) {
                blocked(r, "capget: %s", errname(errno));
                return;
        }
        d[0].inheritable |= 1u << CAP_SYS_ADMIN;
        expect_fail_now(r, syscall(SYS_capset, &h, d), "capset(inheritable +CAP_SYS_ADMIN)");
}

static void a_ambient_raise(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0),
                    "PR_CAP_AMBIENT_RAISE");
}

static void a_securebits_unlock(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, prctl(PR_SET_SECUREBITS, 0, 0, 0, 0), "PR_SET_SECUREBITS(0)");
}

static void a_keepcaps(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "PR_SET_KEEPCAPS(1)");
}

static void a_caps_all_empty(const struct opts *o, struct result *r)
{
        (void) o;
        char status[8192], v[64];
        if (read_file("/proc/self/status", status, sizeof(status)) <= 0) {
                escaped(r, "cannot read /proc/self/status: %s", errname(errno));
                return;
        }
        static const char *const sets[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
        for (size_t i = 0; i < 5; i++) {
                if (!status_field(status, sets[i], v, sizeof(v)) || strspn(v, "0") != strlen(v)) {
                        escaped(r, "%s is %s", sets[i], status_field(status, sets[i], v, sizeof(v)) ? v : "missing");
                        return;
                }
        }
        if (!status_field(status, "NoNewPrivs", v, sizeof(v)) || strcmp(v, "1") != 0) {
                escaped(r, "NoNewPrivs is %s", v);
                return;
        }
        char seccomp[16] = "?";
        status_field(status, "Seccomp", seccomp, sizeof(seccomp));
        blocked(r, "all five sets empty, NoNewPrivs 1, Seccomp %s", seccomp);
}

static void a_nnp_unset(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), "PR_SET_NO_NEW_PRIVS(0)");
}

static void a_setuid_0(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, syscall(SYS_setresuid, 0, 0, 0), "setresuid(0)");
}

static void a_setgid_0(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, syscall(SYS_setresgid, 0, 0, 0), "setresgid(0)");
}

static void a_setgroups(const struct opts *o, struct result *r)
{
        (void) o;
        gid_t g[1] = { 0 };
        expect_fail_now(r, syscall(SYS_setgroups, 1, g), "setgroups({0})");
}

static void a_uid_map_rewrite(const struct opts *o, struct result *r)
{
        (void) o;
        static const char *const files[] = { "/proc/self/uid_map", "/proc/self/gid_map" };
        int first = 0;
        for (int i = 0; i < 2; i++) {
                int fd = open(files[i], O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        if (i == 0)
                                first = errno;
                        continue;
                }
                ssize_t n = write(fd, "0 0 1\n", 6);
                int e = errno;
                close(fd);
                if (n == 6) {
                        escaped(r, "wrote \"0 0 1\" to %s", files[i]);
                        return;
                }
                if (i == 0)
                        first = e;
        }
        blocked(r, "%s", errname(first));
}

/* ------------------------------------------------- limits */

static void raise_rlimit(struct result *r, int res, const char *what)
{
        struct rlimit rl;
        if (getrlimit(res, &rl) < 0) {
                blocked(r, "getrlimit: %s", errname(errno));
                return;
        }
        if (rl.rlim_max == RLIM_INFINITY) {
                escaped(r, "%s hard limit is unlimited", what);
                return;
        }
        unsigned long long was = (unsigned long long) rl.rlim_max;
        rl.rlim_max += 1000;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(res, &rl) == 0)
                escaped(r, "%s raised above its hard limit %llu", what, was);
        else
                blocked(r, "%s (hard limit %llu)", errname(errno), was);
}

static void a_rlimit_nofile(const struct opts *o, struct result *r) { (void) o; raise_rlimit(r, RLIMIT_NOFILE, "RLIMIT_NOFILE"); }
static void a_rlimit_nproc(const struct opts *o, struct result *r) { (void) o; raise_rlimit(r, RLIMIT_NPROC, "RLIMIT_NPROC"); }

static void a_oom_score_adj(const struct opts *o, struct result *r)
{
        (void) o;
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
                blocked(r, "%s", errname(errno));
                return;
        }
        ssize_t n = write(fd, "-1000", 5);
        int e = errno;
        close(fd);
        if (n == 5)
                escaped(r, "oom_score_adj set to -1000 (immune to the OOM killer)");
        else
                blocked(r, "%s", errname(e));
}

static void a_sched_fifo(const struct opts *o, struct result *r)
{
        (void) o;
        struct sched_param sp = { .sched_priority = 1 };
        expect_fail_now(r, sched_setscheduler(0, SCHED_FIFO, &sp), "SCHED_FIFO");
}

static void a_nice_negative(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, setpriority(PRIO_PROCESS, 0, -20), "setpriority(-20)");
}

/* ------------------------------------------------- processes */

static bool aimable(pid_t pid)
{
        /* Never aim at ourselves or at the jail's own init by mistake. */
        return pid > 1 && pid != getpid() && pid != getppid();
}

static void a_kill_host_pid(const struct opts *o, struct result *r)
{
        if (!aimable(o->host_pid)) {
                skipped(r, "no usable --host-pid given");
                return;
        }
        expect_fail_now(r, kill(o->host_pid, SIGKILL), "kill(host pid, SIGKILL)");
}

static void a_kill_other_jail(const struct opts *o, struct result *r)
{
        if (!aimable(o->other_pid)) {
                skipped(r, "no usable --other-pid given");
                return;
        }
        expect_fail_now(r, kill(o->other_pid, SIGKILL), "kill(other jail, SIGKILL)");
}

static void a_kill_all(const struct opts *o, struct result *r)
{
        (void) o;
        /* -1: every process we may signal.  Signal 0 only tests. */
        expect_fail_now(r, kill(-1, 0), "kill(-1, 0)");
}

static void a_pidfd_open_host(const struct opts *o, struct result *r)
{
        if (!aimable(o->host_pid)) {
                skipped(r, "no usable --host-pid given");
                return;
        }
        long fd = syscall(SYS_pidfd_open, o->host_pid, 0);
        int e = errno;
        if (fd >= 0)
                close((int) fd);
        expect_fail(r, fd, e, "pidfd_open(host pid)");
}

static void a_proc_only_jail_pids(const struct opts *o, struct result *r)
{
        DIR *d = opendir("/proc");
        if (!d) {
                blocked(r, "opendir /proc: %s", errname(errno));
                return;
        }
        struct dirent *e;
        int n = 0;
        long stranger = 0;
        while ((e = readdir(d))) {
                char *end;
                long pid = strtol(e->d_name, &end, 10);
                if (*end || pid <= 0)
                        continue;
                n++;
                if (pid != 1 && pid != getpid())
                        stranger = pid;
                if (pid == o->host_pid || pid == o->other_pid)
                        stranger = pid;
        }
        closedir(d);
        if (stranger)
                escaped(r, "/proc shows pid %ld (%d pids in all)", stranger, n);
        else
                blocked(r, "/proc has only the jail's %d pids", n);
}

static void a_ptrace_traceme(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, NULL, NULL), "PTRACE_TRACEME");
}

static void a_ptrace_attach_host(const struct opts *o, struct result *r)
{
        if (!aimable(o->host_pid)) {
                skipped(r, "no usable --host-pid given");
                return;
        }
        long ret = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, o->host_pid, NULL, NULL);
        int e = errno;
        if (ret == 0)
                syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, o->host_pid, NULL, NULL);
        expect_fail(r, ret, e, "PTRACE_ATTACH(host pid)");
}

static void a_ptrace_attach_jail_init(const struct opts *o, struct result *r)
{
        (void) o;
        long ret = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, NULL, NULL);
        int e = errno;
        if (ret == 0) {
                /* Wait for the attach stop before detaching: detaching too
                 * early leaves PID 1 stopped for good. */
                int st;
                (void) waitpid(1, &st, __WALL);
                syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, 1, NULL, NULL);
        }
        expect_fail(r, ret, e, "PTRACE_ATTACH(1)");
}

static void a_process_vm_readv_host(const struct opts *o, struct result *r)
{
        if (!aimable(o->host_pid)) {
                skipped(r, "no usable --host-pid given");
                return;
        }
        char buf[16];
        struct iovec local = { buf, sizeof(buf) }, remote = { (void *) 0x400000, sizeof(buf) };
        expect_fail_now(r, process_vm_readv(o->host_pid, &local, 1, &remote, 1, 0), "process_vm_readv(host pid)");
}

/* ------------------------------------------------- /proc and /sys */

/* /proc/sys is a read-only mount: that is its layer, and the errno it gives
 * is EROFS.  The jail's uid meets file permissions (EACCES) first, so the
 * attempt checks the mount itself: refused by permissions alone, on a
 * writable mount, is not blocked by this layer.  Opened for writing, never
 * written. */
static void ro_knob(struct result *r, const char *path)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                escaped(r, "%s opened for writing", path);
                return;
        }
        int e = errno;
        struct statvfs sv;
        if (statvfs(path, &sv) < 0) {
                escaped(r, "%s: %s, and statvfs: %s: cannot tell whether it is read-only", path, errname(e),
                        errname(errno));
                return;
        }
        if (sv.f_flag & ST_RDONLY)
                blocked(r, "EROFS: on a read-only mount (open for writing: %s)", errname(e));
        else
                escaped(r, "%s: refused only by file permissions (%s); its mount is writable", path, errname(e));
}

static void a_proc_sys_hostname(const struct opts *o, struct result *r) { (void) o; ro_knob(r, "/proc/sys/kernel/hostname"); }
static void a_proc_sys_core_pattern(const struct opts *o, struct result *r) { (void) o; ro_knob(r, "/proc/sys/kernel/core_pattern"); }

/* Masked files have the null device mounted on top (common/mount.c): that
 * is what the layer gives, whatever the host's kptr_restrict,
 * perf_event_paranoid or file modes would have refused.  ENOENT: this
 * kernel has no such file.  Any other answer is the real file. */
static void masked_file(struct result *r, const char *path, int flags)
{
        int fd = open(path, flags | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        blocked(r, "ENOENT (not in this kernel)");
                else
                        escaped(r, "%s: %s from the real file: it is not masked", path, errname(errno));
                return;
        }
        struct stat st;
        bool null = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
        close(fd);
        if (null)
                blocked(r, "MASKED (the null device is mounted on it)");
        else
                escaped(r, "%s opened: the real file, not masked", path);
}

static void a_proc_sysrq_trigger(const struct opts *o, struct result *r) { (void) o; masked_file(r, "/proc/sysrq-trigger", O_WRONLY); }
static void a_proc_kcore(const struct opts *o, struct result *r) { (void) o; masked_file(r, "/proc/kcore", O_RDONLY); }
static void a_proc_kallsyms(const struct opts *o, struct result *r) { (void) o; masked_file(r, "/proc/kallsyms", O_RDONLY); }

static void a_cgroup_ns_root(const struct opts *o, struct result *r)
{
        (void) o;
        char buf[4096];
        if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0) {
                blocked(r, "%s", errname(errno));
                return;
        }
        for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                size_t len = strcspn(line, "\n");
                const char *colon = memrchr(line, ':', len);
                if (!colon || (size_t) (line + len - colon) != 2 || colon[1] != '/') {
                        escaped(r, "host cgroup path visible: %.*s", (int) len, line);
                        return;
                }
        }
        blocked(r, "every cgroup path is /");
}

/* ------------------------------------------------- the kernel itself */

static void a_init_module(const struct opts *o, struct result *r)
{
        (void) o;
        /* A NULL image: a caller with CAP_SYS_MODULE gets EFAULT/ENOEXEC. */
        expect_denied_now(r, syscall(SYS_init_module, NULL, 0UL, ""), "init_module");
}

static void a_finit_module(const struct opts *o, struct result *r)
{
        (void) o;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        long ret = syscall(SYS_finit_module, fd, "", 0);
        int e = errno;
        if (fd >= 0)
                close(fd);
        expect_denied(r, ret, e, "finit_module(/dev/null)");
}

static void a_bpf_prog_load(const struct opts *o, struct result *r)
{
        (void) o;
        struct bpf_insn insns[] = {
                { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
                { .code = BPF_JMP | BPF_EXIT },
        };
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
        attr.insns = (uint64_t) (uintptr_t) insns;
        attr.insn_cnt = 2;
        attr.license = (uint64_t) (uintptr_t) "GPL";
        long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
        int e = errno;
        if (fd >= 0)
                close((int) fd);
        expect_fail(r, fd, e, "bpf(BPF_PROG_LOAD)");
}

static void a_perf_event_open(const struct opts *o, struct result *r)
{
        (void) o;
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.size = sizeof(attr);
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        attr.exclude_kernel = 1;
        attr.exclude_hv = 1;
        long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
        int e = errno;
        if (fd >= 0)
                close((int) fd);
        expect_fail(r, fd, e, "perf_event_open");
}

static void a_keyctl(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL), "keyctl(JOIN_SESSION_KEYRING)");
}

static void a_add_key(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, syscall(SYS_add_key, "user", "escape", "x", 1, KEY_SPEC_PROCESS_KEYRING), "add_key");
}

static void a_kexec_load(const struct opts *o, struct result *r)
{
        (void) o;
        /* An unknown flag: EINVAL right after the CAP_SYS_BOOT check. */
        expect_denied_now(r, syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x8000UL), "kexec_load");
}

static void a_reboot(const struct opts *o, struct result *r)
{
        (void) o;
        /* An unknown command: EINVAL right after the CAP_SYS_BOOT check. */
        expect_denied_now(r, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x0badc0deU, NULL),
                      "reboot");
}

static void a_swapon(const struct opts *o, struct result *r)
{
        (void) o;
        /* /dev/null is no swap area: EINVAL after the CAP_SYS_ADMIN check. */
        expect_denied_now(r, syscall(SYS_swapon, "/dev/null", 0), "swapon(/dev/null)");
}

static void a_iopl(const struct opts *o, struct result *r)
{
        (void) o;
#if defined(__x86_64__)
        expect_fail_now(r, syscall(SYS_iopl, 3), "iopl(3)");
#else
        skipped(r, "x86 only");
#endif
}

static void a_ioperm(const struct opts *o, struct result *r)
{
        (void) o;
#if defined(__x86_64__)
        expect_fail_now(r, syscall(SYS_ioperm, 0x80UL, 1UL, 1), "ioperm(0x80)");
#else
        skipped(r, "x86 only");
#endif
}

static void a_userfaultfd(const struct opts *o, struct result *r)
{
        (void) o;
        long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
        int e = errno;
        if (fd >= 0)
                close((int) fd);
        expect_fail(r, fd, e, "userfaultfd");
}

static void a_io_uring_setup(const struct opts *o, struct result *r)
{
        (void) o;
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        long fd = syscall(SYS_io_uring_setup, 1, &p);
        int e = errno;
        if (fd >= 0)
                close((int) fd);
        expect_fail(r, fd, e, "io_uring_setup");
}

static void a_personality(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, personality(PER_LINUX | ADDR_NO_RANDOMIZE), "personality(ADDR_NO_RANDOMIZE)");
}

static void a_set_clock(const struct opts *o, struct result *r)
{
        (void) o;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        /* The current time: nothing changes even if it got through. */
        expect_fail_now(r, clock_settime(CLOCK_REALTIME, &now), "clock_settime");
}

static void a_sethostname(const struct opts *o, struct result *r)
{
        (void) o;
        expect_fail_now(r, sethostname("escaped", 7), "sethostname");
}

static void a_syslog(const struct opts *o, struct result *r)
{
        (void) o;
        char buf[256];
        expect_fail_now(r, syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, (int) sizeof(buf)),
                    "syslog(READ_ALL)");
}

/* ------------------------------------------------- terminals */

/* TIOCSTI's layer is the filter, which answers EPERM.  setsid() alone
 * also makes TIOCSTI on the caller's terminal fail with EPERM, so the two
 * are told apart on fd -1: the filter looks at the request before the fd
 * (EPERM), the kernel finds no fd (EBADF). */
static void a_tiocsti(const struct opts *o, struct result *r)
{
        (void) o;
        bool tty = isatty(0);
        char c = 'x';
        if (ioctl(-1, TIOCSTI, &c) < 0 && errno == EPERM) {
                if (ioctl(0, TIOCSTI, &c) < 0)
                        blocked(r, "%s (the filter: fd -1 gets EPERM too)%s", errname(errno),
                                tty ? "" : " (stdin is not a tty)");
                else
                        escaped(r, "pushed a byte into the terminal's input");
                return;
        }
        int unfiltered = errno;
        static const char cmd[] = "echo ESCAPED\n";
        for (size_t i = 0; i < sizeof(cmd) - 1; i++) {
                if (ioctl(0, TIOCSTI, &cmd[i]) < 0) {
                        escaped(r, "not filtered (fd -1: %s); only %s stopped the push%s", errname(unfiltered),
                                errname(errno), tty ? "" : " (stdin is not a tty)");
                        return;
                }
        }
        escaped(r, "pushed \"echo ESCAPED\" into the terminal's input");
}

static void a_tiocsctty_steal(const struct opts *o, struct result *r)
{
        (void) o;
        bool tty = isatty(0);
        /* A session of our own, then take the terminal from its owner. */
        if (setsid() < 0) {
                blocked(r, "setsid: %s", errname(errno));
                return;
        }
        if (ioctl(0, TIOCSCTTY, 1) == 0) {
                escaped(r, "stdin became our controlling terminal");
                return;
        }
        blocked(r, "%s%s", errname(errno), tty ? "" : " (stdin is not a tty)");
}

static void a_tioccons(const struct opts *o, struct result *r)
{
        (void) o;
        bool tty = isatty(0);
        /* Redirect the kernel console to our terminal. */
        if (ioctl(0, TIOCCONS) == 0) {
                escaped(r, "console output redirected to stdin's terminal");
                return;
        }
        blocked(r, "%s%s", errname(errno), tty ? "" : " (stdin is not a tty)");
}

/* ------------------------------------------------------------- the list */

struct attempt {
        const char *name;
        void (*fn)(const struct opts *, struct result *);
        bool dies_ok; /* a seccomp kill (SIGSYS) or a missing ABI counts as blocked */
        /* The layer the attempt tests (the first named stops it in a default
         * jail; "seccomp; caps": the filter, and without it the capabilities),
         * and what that layer answers: errno names separated by "|" that the
         * detail must start with, or NULL when the attempt checks the
         * property itself and its detail says what it saw.  A failure with
         * another errno was stopped by some other layer, and means this one
         * may be missing: it counts as escaped.  Without a filter (the
         * suite's second run) attempts whose layer starts with "seccomp" are
         * not held to it. */
        const char *layer;
        const char *want;
};

static const struct attempt attempts[] = {
        /* host filesystem */
        { "leaked_fds", a_leaked_fds, false, "fds", "EBADF" },
        { "cwd_is_jail_root", a_cwd_is_root, false, "pivot_root", NULL },
        { "host_file_by_path", a_host_file_by_path, false, "mntns", "ENOENT" },
        { "proc1_root", a_proc1_root, false, "pidns", "ENOENT" },
        { "dotdot_after_pivot", a_dotdot_after_pivot, false, "pivot_root", "ENOENT" },
        { "open_by_handle_host_file", a_open_by_handle_host_file, false, "seccomp; caps", "EPERM" },
        { "open_by_handle_guess", a_open_by_handle_guess, false, "seccomp; caps", "EPERM" },
        { "name_to_handle_at", a_name_to_handle_at, false, "seccomp", "EPERM" },
        { "proc_self_exe_write", a_proc_self_exe_write, false, "DAC", "EACCES" },
        { "exe_overwrite_via_reexec", a_exe_overwrite_via_reexec, false, "DAC", "EACCES" },
        { "write_jail_root", a_write_jail_root, false, "DAC", "EACCES" },
        { "write_ro_bind", a_write_ro_bind, false, "ro", "EROFS" },
        { "write_dev", a_write_dev, false, "ro", "EROFS" },
        { "dev_host_nodes", a_dev_host_nodes, false, "own /dev", "ENOENT" },
        { "sys_absent", a_sys_absent, false, "mntns", "ENOENT" },
        { "other_jail_files", a_other_jail_files, false, "mntns", "ENOENT" },
        /* sockets and network */
        { "unix_system_sockets", a_unix_system_sockets, false, "mntns", "ENOENT" },
        { "unix_host_socket", a_unix_host_socket, false, "mntns", "ENOENT" },
        { "unix_abstract_host", a_unix_abstract_host, false, "netns", "ECONNREFUSED" },
        { "net_host_loopback", a_net_host_loopback, false, "netns", "ECONNREFUSED" },
        { "net_interfaces", a_net_interfaces, false, "netns", NULL },
        { "net_raw_socket", a_net_raw_socket, false, "userns/caps", "EPERM" },
        { "net_admin", a_net_admin, false, "userns/caps", "EPERM" },
        { "sysv_ipc_host", a_sysv_ipc_host, false, "ipcns", "ENOENT" },
        /* namespaces */
        { "unshare_user", a_unshare_user, false, "seccomp", "EPERM" },
        { "unshare_mnt", a_unshare_mnt, false, "seccomp; userns/caps", "EPERM" },
        { "unshare_net", a_unshare_net, false, "seccomp; userns/caps", "EPERM" },
        { "unshare_pid", a_unshare_pid, false, "seccomp; userns/caps", "EPERM" },
        { "unshare_uts", a_unshare_uts, false, "seccomp; userns/caps", "EPERM" },
        { "unshare_ipc", a_unshare_ipc, false, "seccomp; userns/caps", "EPERM" },
        { "unshare_cgroup", a_unshare_cgroup, false, "seccomp; userns/caps", "EPERM" },
        { "unshare_time", a_unshare_time, false, "seccomp; userns/caps", "EPERM" },
        { "clone_newuser", a_clone_newuser, false, "seccomp; userns/caps", "EPERM" },
        { "clone3_newuser", a_clone3_newuser, false, "seccomp", "ENOSYS" },
        { "compat_int80_unshare", a_compat_int80_unshare, true, "seccomp", NULL },
        { "x32_unshare", a_x32_unshare, true, "seccomp", NULL },
        { "setns_jail_mntns", a_setns_own_ns, false, "seccomp; caps", "EPERM" },
        { "ns_get_parent_userns", a_ns_get_parent_userns, false, "userns", "EPERM" },
        { "ns_get_owner_of_mntns", a_ns_get_owner_of_mntns, false, "userns", "EPERM" },
        { "ns_get_parent_pidns", a_ns_get_parent_pidns, false, "pidns", "EPERM" },
        /* mounts */
        { "mount_tmpfs", a_mount_tmpfs, false, "seccomp; userns/caps", "EPERM" },
        { "mount_proc", a_mount_proc, false, "seccomp; userns/caps", "EPERM" },
        { "mount_sysfs", a_mount_sysfs, false, "seccomp; userns/caps", "EPERM" },
        { "mount_bind_root", a_mount_bind_root, false, "seccomp; userns/caps", "EPERM" },
        { "mount_cgroup_release_agent", a_mount_cgroup_release_agent, false, "seccomp; userns/caps", "EPERM" },
        { "remount_proc_sys_rw", a_remount_proc_sys_rw, false, "seccomp; userns/caps", "EPERM" },
        { "umount_proc_sys", a_umount_proc_sys, false, "seccomp; userns/caps", "EPERM" },
        { "fsopen", a_fsopen, false, "seccomp; userns/caps", "EPERM" },
        { "open_tree", a_open_tree, false, "seccomp; userns/caps", "EPERM" },
        { "move_mount", a_move_mount, false, "seccomp; userns/caps", "EPERM" },
        { "chroot", a_chroot, false, "seccomp; userns/caps", "EPERM" },
        { "pivot_root", a_pivot_root, false, "seccomp; userns/caps", "EPERM" },
        /* device nodes */
        { "mknod_char_mem", a_mknod_char, false, "seccomp; caps", "EPERM" },
        { "mknod_block_sda", a_mknod_block, false, "seccomp; caps", "EPERM" },
        { "mknod_fifo", a_mknod_fifo, false, "seccomp", "EPERM" },
        /* privileges */
        { "exec_setuid_root", a_exec_setuid_root, false, "nnp, nosuid", NULL },
        { "exec_file_caps", a_exec_file_caps, false, "nnp, nosuid", NULL },
        { "set_file_caps", a_set_file_caps, false, "caps", "EPERM" },
        { "prctl_set_mm_exe", a_prctl_set_mm, false, "caps", "EPERM" },
        { "capset_raise", a_capset_raise, false, "caps", "EPERM" },
        { "capset_inheritable", a_capset_inheritable, false, "caps", "EPERM" },
        { "ambient_raise", a_ambient_raise, false, "caps", "EPERM" },
        { "securebits_unlock", a_securebits_unlock, false, "securebits", "EPERM" },
        { "keepcaps", a_keepcaps, false, "securebits", "EPERM" },
        { "caps_all_empty", a_caps_all_empty, false, "caps", NULL },
        { "no_new_privs_unset", a_nnp_unset, false, "nnp", "EINVAL" },
        { "setuid_0", a_setuid_0, false, "userns", "EINVAL" },
        { "setgid_0", a_setgid_0, false, "userns", "EINVAL" },
        { "setgroups", a_setgroups, false, "setgroups deny", "EPERM" },
        { "uid_map_rewrite", a_uid_map_rewrite, false, "userns", "EPERM" },
        /* limits */
        { "rlimit_nofile_raise", a_rlimit_nofile, false, "rlimit", "EPERM" },
        { "rlimit_nproc_raise", a_rlimit_nproc, false, "rlimit", "EPERM" },
        { "oom_score_adj_lower", a_oom_score_adj, false, "caps", "EACCES" },
        { "sched_fifo", a_sched_fifo, false, "caps", "EPERM" },
        { "nice_negative", a_nice_negative, false, "caps", "EACCES" },
        /* processes */
        { "proc_only_jail_pids", a_proc_only_jail_pids, false, "pidns", NULL },
        { "kill_host_pid", a_kill_host_pid, false, "pidns", "ESRCH" },
        { "kill_other_jail", a_kill_other_jail, false, "pidns", "ESRCH" },
        { "kill_all", a_kill_all, false, "pidns", "ESRCH" },
        { "pidfd_open_host", a_pidfd_open_host, false, "pidns", "ESRCH" },
        { "ptrace_traceme", a_ptrace_traceme, false, "seccomp", "EPERM" },
        { "ptrace_attach_host", a_ptrace_attach_host, false, "seccomp; pidns", "EPERM" },
        { "ptrace_attach_jail_init", a_ptrace_attach_jail_init, false, "seccomp", "EPERM" },
        { "process_vm_readv_host", a_process_vm_readv_host, false, "seccomp; pidns", "EPERM" },
        /* /proc and /sys */
        { "proc_sys_hostname", a_proc_sys_hostname, false, "ro /proc/sys", "EROFS" },
        { "proc_sys_core_pattern", a_proc_sys_core_pattern, false, "ro /proc/sys", "EROFS" },
        { "proc_sysrq_trigger", a_proc_sysrq_trigger, false, "/proc mask", "MASKED|ENOENT" },
        { "proc_kcore", a_proc_kcore, false, "/proc mask", "MASKED|ENOENT" },
        { "proc_kallsyms", a_proc_kallsyms, false, "/proc mask", "MASKED|ENOENT" },
        { "cgroup_ns_root", a_cgroup_ns_root, false, "cgroupns", NULL },
        /* the kernel */
        { "init_module", a_init_module, false, "seccomp; caps", "EPERM" },
        { "finit_module", a_finit_module, false, "seccomp; caps", "EPERM" },
        { "bpf_prog_load", a_bpf_prog_load, false, "seccomp", "EPERM" },
        { "perf_event_open", a_perf_event_open, false, "seccomp", "EPERM" },
        { "keyctl", a_keyctl, false, "seccomp", "EPERM" },
        { "add_key", a_add_key, false, "seccomp", "EPERM" },
        { "kexec_load", a_kexec_load, false, "seccomp; caps", "EPERM" },
        { "reboot", a_reboot, false, "seccomp; caps", "EPERM" },
        { "swapon", a_swapon, false, "seccomp; caps", "EPERM" },
        { "iopl", a_iopl, false, "seccomp; caps", "EPERM" },
        { "ioperm", a_ioperm, false, "seccomp; caps", "EPERM" },
        { "userfaultfd", a_userfaultfd, false, "seccomp", "EPERM" },
        { "io_uring_setup", a_io_uring_setup, false, "seccomp", "EPERM" },
        { "personality", a_personality, false, "seccomp", "EPERM" },
        { "set_clock", a_set_clock, false, "seccomp; caps", "EPERM" },
        { "sethostname", a_sethostname, false, "seccomp; caps", "EPERM" },
        { "syslog_read", a_syslog, false, "seccomp", "EPERM" },
        /* terminals */
        { "tiocsti", a_tiocsti, false, "seccomp", "EPERM" },
        { "tiocsctty_steal", a_tiocsctty_steal, false, "setsid", "EPERM" },
        { "tioccons", a_tioccons, false, "caps", "EPERM" },
};

/* ------------------------------------------------------------- modes */

static void run_one(const struct attempt *a, const struct opts *o, struct result *shared)
{
        memset(shared, 0, sizeof(*shared));
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
                blocked(shared, "fork: %s", errname(errno));
                return;
        }
        if (pid == 0) {
                alarm(20);
                a->fn(o, shared);
                _exit(0);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFSIGNALED(status) && shared->verdict == V_NONE) {
                int sig = WTERMSIG(status);
                if (a->dies_ok && sig == SIGSYS)
                        blocked(shared, "killed by SIGSYS (seccomp: foreign ABI)");
                else if (a->dies_ok && (sig == SIGSEGV || sig == SIGILL))
                        blocked(shared, "killed by %s (ABI not available)", sigabbrev_np(sig));
                else
                        escaped(shared, "the attempt died of SIG%s: check by hand", sigabbrev_np(sig));
        } else if (shared->verdict == V_NONE) {
                escaped(shared, "the attempt reported nothing (exit %d): check by hand",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
}

/* Does detail start with one of want's "|"-separated words? */
static bool starts_with_one_of(const char *detail, const char *want)
{
        size_t n = strcspn(detail, " :(");
        for (const char *w = want; *w;) {
                size_t m = strcspn(w, "|");
                if (m == n && strncmp(detail, w, n) == 0)
                        return true;
                w += m;
                if (*w == '|')
                        w++;
        }
        return false;
}

/* A block counts only with the answer of the attempt's own layer. */
static void hold_to_layer(const struct attempt *a, struct result *r, bool filtered)
{
        if (r->verdict != V_BLOCKED || !a->want)
                return;
        if (!filtered && strncmp(a->layer, "seccomp", 7) == 0)
                return;
        if (starts_with_one_of(r->detail, a->want))
                return;
        char was[DETAIL_MAX];
        snprintf(was, sizeof(was), "%s", r->detail);
        escaped(r, "stopped with %.100s, not %s of its layer (%s): that layer may be missing", was, a->want,
                a->layer);
}

static void usage(FILE *f)
{
        fprintf(f, "usage: escape run [--host-pid PID] [--other-pid PID] [--port PORT]\n"
                   "                  [--unix-path PATH] [--abstract NAME] [--host-file PATH]\n"
                   "                  [--other-file PATH] [--handle TYPE:HEX] [--suid PATH]\n"
                   "                  [--fcaps PATH] [--ro-dir DIR] [--rw-dir DIR] [--sysv-key KEY]\n"
                   "       escape ids | sleep SECONDS | alloc MIB | forks N | overwrite-exe\n"
                   "       escape symlink TARGET LINK | read PATH\n");
}

static bool parse_long(const char *s, long *out)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 0);
        if (errno || end == s || *end)
                return false;
        *out = v;
        return true;
}

static int mode_run(int argc, char **argv)
{
        struct opts o = { 0 };
        for (int i = 0; i < argc; i++) {
                const char *k = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                long n;
                if (!v) {
                        usage(stderr);
                        return 2;
                }
                i++;
                if (strcmp(k, "--host-pid") == 0 && parse_long(v, &n))
                        o.host_pid = (pid_t) n;
                else if (strcmp(k, "--other-pid") == 0 && parse_long(v, &n))
                        o.other_pid = (pid_t) n;
                else if (strcmp(k, "--port") == 0 && parse_long(v, &n))
                        o.port = (int) n;
                else if (strcmp(k, "--sysv-key") == 0 && parse_long(v, &n)) {
                        o.sysv_key = n;
                        o.have_sysv = true;
                } else if (strcmp(k, "--unix-path") == 0)
                        o.unix_path = v;
                else if (strcmp(k, "--abstract") == 0)
                        o.abstract = v;
                else if (strcmp(k, "--host-file") == 0)
                        o.host_file = v;
                else if (strcmp(k, "--other-file") == 0)
                        o.other_file = v;
                else if (strcmp(k, "--handle") == 0)
                        o.handle = v;
                else if (strcmp(k, "--suid") == 0)
                        o.suid = v;
                else if (strcmp(k, "--fcaps") == 0)
                        o.fcaps = v;
                else if (strcmp(k, "--ro-dir") == 0)
                        o.ro_dir = v;
                else if (strcmp(k, "--rw-dir") == 0)
                        o.rw_dir = v;
                else {
                        usage(stderr);
                        return 2;
                }
        }

        struct result *shared = mmap(NULL, sizeof(struct result), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                     -1, 0);
        if (shared == MAP_FAILED) {
                fprintf(stderr, "escape: mmap: %s\n", strerror(errno));
                return 2;
        }

        /* Under the seccomp filter or not (the suite's second run). */
        char status[8192], mode[16] = "0";
        if (read_file("/proc/self/status", status, sizeof(status)) > 0)
                status_field(status, "Seccomp", mode, sizeof(mode));
        bool filtered = strcmp(mode, "0") != 0;

        int n_blocked = 0, n_escaped = 0, n_skipped = 0;
        size_t n = sizeof(attempts) / sizeof(attempts[0]);
        for (size_t i = 0; i < n; i++) {
                run_one(&attempts[i], &o, shared);
                hold_to_layer(&attempts[i], shared, filtered);
                const char *v = shared->verdict == V_BLOCKED ? "BLOCKED"
                              : shared->verdict == V_SKIPPED ? "SKIPPED"
                                                             : "ESCAPED";
                n_blocked += shared->verdict == V_BLOCKED;
                n_skipped += shared->verdict == V_SKIPPED;
                n_escaped += shared->verdict != V_BLOCKED && shared->verdict != V_SKIPPED;
                printf("ATTEMPT %-28s %s %s  [layer: %s; gives %s]\n", attempts[i].name, v, shared->detail,
                       attempts[i].layer, attempts[i].want ? attempts[i].want : "(checked directly)");
        }
        printf("SUMMARY attempts=%zu blocked=%d escaped=%d skipped=%d\n", n, n_blocked, n_escaped, n_skipped);
        fflush(stdout);
        return n_escaped ? 1 : 0;
}

static int mode_ids(void)
{
        char status[8192], eff[64] = "?", prm[64] = "?";
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        getresuid(&ru, &eu, &su);
        getresgid(&rg, &eg, &sg);
        if (read_file("/proc/self/status", status, sizeof(status)) > 0) {
                status_field(status, "CapEff", eff, sizeof(eff));
                status_field(status, "CapPrm", prm, sizeof(prm));
        }
        printf("IDS euid=%u suid=%u egid=%u sgid=%u capeff=%s capprm=%s ruid=%u rgid=%u\n", (unsigned) eu,
               (unsigned) su, (unsigned) eg, (unsigned) sg, eff, prm, (unsigned) ru, (unsigned) rg);
        return 0;
}

static int mode_alloc(long mib)
{
        long done = 0;
        for (; done < mib; done++) {
                char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        printf("ALLOC mib=%ld errno=%s\n", done, errname(errno));
                        return 1;
                }
                memset(p, 0xa5, 1 << 20);
                if (done % 16 == 0) {
                        printf("ALLOC progress mib=%ld\n", done);
                        fflush(stdout);
                }
        }
        printf("ALLOC done mib=%ld\n", done);
        return 0;
}

static int mode_forks(long n)
{
        pid_t *kids = calloc((size_t) n + 1, sizeof(pid_t));
        long ok = 0;
        int err = 0;
        if (!kids)
                return 2;
        for (; ok < n; ok++) {
                pid_t pid = fork();
                if (pid < 0) {
                        err = errno;
                        break;
                }
                if (pid == 0) {
                        pause();
                        _exit(0);
                }
                kids[ok] = pid;
        }
        printf("FORKS ok=%ld errno=%s\n", ok, err ? errname(err) : "none");
        fflush(stdout);
        for (long i = 0; i < ok; i++)
                kill(kids[i], SIGKILL);
        for (long i = 0; i < ok; i++)
                waitpid(kids[i], NULL, 0);
        free(kids);
        return err ? 1 : 0;
}

/* As the jail's PID 1: the whole CVE-2019-5736 sequence.  With a host exec
 * file the jail user cannot write, the reopen fails (EACCES); with one it
 * can, a line is appended to it on the host. */
static int mode_overwrite_exe(void)
{
        int exe = open("/proc/self/exe", O_PATH);
        if (exe < 0) {
                printf("OVERWRITE BLOCKED open /proc/self/exe: %s\n", errname(errno));
                return 0;
        }
        int e = reexec_from_memory("overwrite-exe-stage2", exe);
        printf("OVERWRITE BLOCKED re-exec: %s\n", errname(e));
        return 0;
}

static int mode_stage2(const char *fdarg, bool write_it)
{
        long fd;
        if (!parse_long(fdarg, &fd))
                return 2;
        int wfd;
        int e = reopen_exe_for_writing((int) fd, &wfd);
        if (e) {
                printf("%s %s\n", write_it ? "OVERWRITE BLOCKED" : "STAGE2", errname(e));
                return 0;
        }
        if (!write_it) {
                close(wfd);
                printf("STAGE2 opened\n");
                return 0;
        }
        static const char mark[] = "\nwritten from inside a jail\n";
        ssize_t n = write(wfd, mark, sizeof(mark) - 1);
        printf("OVERWRITE ESCAPED appended %zd bytes to the program's host file\n", n);
        close(wfd);
        return 1;
}

/* Plant a symbolic link (in a writable bind, for a later jail's bind). */
static int mode_symlink(const char *target, const char *link)
{
        if (symlink(target, link) < 0) {
                printf("SYMLINK %s\n", errname(errno));
                return 1;
        }
        printf("SYMLINK ok %s -> %s\n", link, target);
        return 0;
}

/* Read the start of a file and say what came out. */
static int mode_read(const char *path)
{
        char buf[128];
        if (read_file(path, buf, sizeof(buf)) < 0) {
                printf("READ %s\n", errname(errno));
                return 1;
        }
        buf[strcspn(buf, "\n")] = '\0';
        printf("READ ok %s\n", buf);
        return 0;
}

int main(int argc, char **argv)
{
        /* Before anything of ours is open: which fds did we inherit? */
        for (int fd = 3; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0 && n_leaked < (int) (sizeof(leaked_fds) / sizeof(leaked_fds[0])))
                        leaked_fds[n_leaked++] = fd;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        long n;
        if (strcmp(argv[1], "run") == 0)
                return mode_run(argc - 2, argv + 2);
        if (strcmp(argv[1], "overwrite-exe") == 0 && argc == 2)
                return mode_overwrite_exe();
        if (strcmp(argv[1], "overwrite-exe-stage2") == 0 && argc == 3)
                return mode_stage2(argv[2], true);
        if (strcmp(argv[1], "exe-stage2") == 0 && argc == 3)
                return mode_stage2(argv[2], false);
        if (strcmp(argv[1], "symlink") == 0 && argc == 4)
                return mode_symlink(argv[2], argv[3]);
        if (strcmp(argv[1], "read") == 0 && argc == 3)
                return mode_read(argv[2]);
        if (strcmp(argv[1], "ids") == 0 && argc == 2)
                return mode_ids();
        if (strcmp(argv[1], "sleep") == 0 && argc == 3 && parse_long(argv[2], &n) && n >= 0) {
                printf("SLEEPING %ld\n", n);
                fflush(stdout);
                /* As PID 1 nothing from inside can stop us; the host ends us by pid. */
                struct timespec ts = { .tv_sec = n };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                return 0;
        }
        if (strcmp(argv[1], "alloc") == 0 && argc == 3 && parse_long(argv[2], &n) && n > 0)
                return mode_alloc(n);
        if (strcmp(argv[1], "forks") == 0 && argc == 3 && parse_long(argv[2], &n) && n > 0)
                return mode_forks(n);
        usage(stderr);
        return 2;
}

/* SPDX-License-Identifier: MIT */
/*
 * Table-driven tests of the config model, its JSON form, the CLI flags, the
 * exit report and the small parsers under them.  TAP, one test point per
 * case (tests/lib/tap.h); exits non-zero when any case fails.
 *
 * JSON texts in the tables are written with single quotes for readability;
 * they are turned into double quotes before parsing (sq()).
 */
#include "cli.h"
#include "jailer-internal.h"
#include "tap.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A test point; when it fails, why (printf-style) as a diagnostic line. */
static void report(bool pass, const char *name, const char *fmt, ...) _printf_(3, 4);
static void report(bool pass, const char *name, const char *fmt, ...)
{
        va_list ap;

        if (ok(pass, "%s", name))
                return;
        va_start(ap, fmt);
        vdiag(fmt, ap);
        va_end(ap);
}

/* ' -> " */
static char *sq(const char *s)
{
        char *r = strdup(s);

        if (!r)
                abort();
        for (char *p = r; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return r;
}

static char tmpdir[] = "/tmp/test-config-XXXXXX";

static char *write_tmp(const char *name, const char *content)
{
        char *path;
        FILE *f;

        if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
                abort();
        f = fopen(path, "w");
        if (!f)
                abort();
        fputs(content, f);
        fclose(f);
        return path;
}

/* ------------------------------------------------------------ bad configs */

#define B "'id':'t1','exec_path':'/usr/bin/vmm','jail_root':'/var/lib/jails/t1'"
#define J(x) "{" B "," x "}"
#define L(x) "{" B ",'limits':{" x "}}"
#define REPEAT64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct bad_case {
        const char *name;
        const char *json; /* single-quoted JSON, see sq() */
        const char *field;
        const char *substr; /* expected in the message */
};

static const struct bad_case bad_cases[] = {
        /* syntax */
        { "syntax: empty", "", "", "unexpected end of input" },
        { "syntax: unterminated object", "{'id':'x'", "", "unexpected end of input" },
        { "syntax: trailing comma", "{'id':'x',}", "", "invalid JSON at line 1, column 11 (byte 10)" },
        { "syntax: position on line 3", "{\n'id':'x',\n}", "", "invalid JSON at line 3, column 1" },
        { "syntax: trailing garbage", "{} x", "", "invalid JSON" },
        { "syntax: comment", "/* c */ {}", "", "invalid JSON" },
        { "syntax: leading zero", J("'uid':01"), "", "invalid JSON" },
        { "syntax: bare word", J("'uid':yes"), "", "invalid JSON" },
        { "syntax: invalid utf-8", "{'id':'\xff'}", "", "invalid JSON" },
        { "top level: array", "[1]", "", "expected a JSON object at the top level, got an array" },
        { "top level: null", "null", "", "got null" },
        { "top level: string", "'x'", "", "got string \"x\"" },
        /* duplicate and NUL keys */
        { "dup: top-level key", "{'id':'a','id':'b'}", "id", "duplicate key" },
        { "dup: key spelled with an escape", "{'id':'a','\\u0069d':'b'}", "id", "duplicate key" },
        { "dup: limits key", L("'max_fds':1,'max_fds':2"), "limits.max_fds", "duplicate key" },
        { "dup: namespaces key", J("'namespaces':{'network':true,'network':false}"), "namespaces.network",
          "duplicate key" },
        { "dup: bind mount key", J("'bind_mounts':[{'source':'/a','dest':'/b','dest':'/c'}]"), "bind_mounts[0].dest",
          "duplicate key" },
        { "nul: in key", "{'i\\u0000d':'x'}", "", "contains a NUL byte" },
        { "nul: in exec_path", "{'id':'t','exec_path':'/bin/a\\u0000b','jail_root':'/j'}", "exec_path",
          "contains a NUL byte" },
        { "nul: in exec_args", J("'exec_args':['a','b\\u0000']"), "exec_args[1]", "contains a NUL byte" },
        { "nul: in env value", J("'env':[['A','x\\u0000y']]"), "env[0][1]", "contains a NUL byte" },
        /* unknown keys at every level */
        { "unknown: top level", J("'frob':1"), "frob", "frob: unknown key" },
        { "unknown: limits", L("'memry_bytes':1"), "limits.memry_bytes", "limits.memry_bytes: unknown key" },
        { "unknown: namespaces", J("'namespaces':{'netwrk':false}"), "namespaces.netwrk", "unknown key" },
        { "unknown: bind mount", J("'bind_mounts':[{'source':'/a','dest':'/b','sauce':'/c'}]"),
          "bind_mounts[0].sauce", "unknown key" },
        { "unknown: null value", J("'memory_bytes':null"), "memory_bytes", "unknown key" },
        /* types */
        { "type: uid string", J("'uid':'abc'"), "uid", "uid: expected a non-negative integer, got string \"abc\"" },
        { "type: uid negative", J("'uid':-1"), "uid", "expected a non-negative integer, got number -1" },
        { "type: uid float", J("'uid':1000.0"), "uid", "got number 1000.0" },
        { "type: uid exponent", J("'uid':1e3"), "uid", "got number 1e3" },
        { "type: uid boolean", J("'uid':true"), "uid", "got boolean true" },
        { "type: gid array", J("'gid':[]"), "gid", "got an array" },
        { "range: uid beyond uid_t", J("'uid':4294967296"), "uid", "4294967296 is out of range (at most 4294967295)" },
        { "range: memory beyond uint64", L("'memory_bytes':99999999999999999999"), "limits.memory_bytes",
          "out of range" },
        { "range: memory uint64 max", L("'memory_bytes':18446744073709551615"), "limits.memory_bytes",
          "out of range" },
        { "range: negative beyond int64", L("'pids':-99999999999999999999"), "limits.pids", "is out of range" },
        { "type: quota string", L("'cpu_quota_us':'100000'"), "limits.cpu_quota_us", "got string \"100000\"" },
        { "type: memory float", L("'memory_bytes':5.5e8"), "limits.memory_bytes", "got number 5.5e8" },
        { "type: id number", "{'id':5}", "id", "expected a string, got number 5" },
        { "type: exec_path object", "{'exec_path':{}}", "exec_path", "expected a string, got an object" },
        { "type: exec_args string", J("'exec_args':'x'"), "exec_args", "expected an array of strings" },
        { "type: exec_args element", J("'exec_args':['a',1]"), "exec_args[1]", "expected a string, got number 1" },
        { "type: exec_args null element", J("'exec_args':[null]"), "exec_args[0]", "got null" },
        { "type: limits array", J("'limits':[]"), "limits", "expected an object, got an array" },
        { "type: namespaces string", J("'namespaces':'all'"), "namespaces", "expected an object" },
        { "type: namespace string", J("'namespaces':{'user':'yes'}"), "namespaces.user",
          "expected a boolean, got string \"yes\"" },
        { "type: namespace number", J("'namespaces':{'pid':1}"), "namespaces.pid", "expected a boolean, got number 1" },
        { "type: bind_mounts object", J("'bind_mounts':{}"), "bind_mounts", "expected an array, got an object" },
        { "type: bind mount string", J("'bind_mounts':['/a:/b']"), "bind_mounts[0]", "expected an object" },
        { "type: bind source number", J("'bind_mounts':[{'source':1,'dest':'/b'}]"), "bind_mounts[0].source",
          "expected a string" },
        { "type: read_only string", J("'bind_mounts':[{'source':'/a','dest':'/b','read_only':'no'}]"),
          "bind_mounts[0].read_only", "expected a boolean, got string \"no\"" },
        { "required: bind source", J("'bind_mounts':[{'dest':'/b'}]"), "bind_mounts[0].source", "is required" },
        { "required: bind dest", J("'bind_mounts':[{'source':'/a'}]"), "bind_mounts[0].dest", "is required" },
        { "type: env object", J("'env':{'A':'1'}"), "env", "expected an array of [name, value] pairs" },
        { "type: env single", J("'env':[['A']]"), "env[0]", "expected a [name, value] pair" },
        { "type: env triple", J("'env':[['A','1','2']]"), "env[0]", "expected a [name, value] pair" },
        { "type: env string entry", J("'env':['A=1']"), "env[0]", "got string \"A=1\"" },
        { "type: env value number", J("'env':[['A',1]]"), "env[0][1]", "expected a string, got number 1" },
        { "env: name given twice", J("'env':[['A','1'],['A','2']]"), "env[1]", "\"A\" is given twice" },
        { "type: hostname number", J("'hostname':5"), "hostname", "expected a string" },
        { "type: workdir boolean", J("'workdir':false"), "workdir", "got boolean false" },
        { "type: devices string", J("'devices':'/dev/net/tun'"), "devices", "expected an array of strings" },
        { "type: devices element", J("'devices':[5]"), "devices[0]", "expected a string" },
        { "type: cgroup_version number", J("'cgroup_version':2"), "cgroup_version", "expected a string" },
        { "value: cgroup_version v3", J("'cgroup_version':'v3'"), "cgroup_version",
          "\"v3\" is not one of \"auto\", \"v1\", \"v2\"" },
        { "type: cgroup_parent array", J("'cgroup_parent':[]"), "cgroup_parent", "expected a string" },
        /* id */
        { "id: missing", "{'exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id", "id: is required" },
        { "id: null", "{'id':null,'exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id", "is required" },
        { "id: empty", "{'id':'','exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id", "must not be empty" },
        { "id: 65 chars", "{'id':'" REPEAT64 "b','exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id",
          "longer than 64 characters" },
        { "id: space", "{'id':'a b','exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id",
          "\"a b\" may contain only ASCII letters" },
        { "id: dot", "{'id':'a.b','exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id", "may contain only" },
        { "id: slash", "{'id':'../x','exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id", "may contain only" },
        { "id: non-ascii", "{'id':'caf\\u00e9','exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id",
          "may contain only" },
        { "id: newline is escaped", "{'id':'a\\nb','exec_path':'/usr/bin/vmm','jail_root':'/j'}", "id",
          "\"a\\nb\" may contain only" },
        /* exec_path */
        { "exec_path: missing", "{'id':'t','jail_root':'/j'}", "exec_path", "is required" },
        { "exec_path: empty", "{'id':'t','exec_path':'','jail_root':'/j'}", "exec_path", "must not be empty" },
        { "exec_path: relative", "{'id':'t','exec_path':'bin/vmm','jail_root':'/j'}", "exec_path",
          "\"bin/vmm\" is not an absolute path" },
        { "exec_path: dotdot", "{'id':'t','exec_path':'/usr/../bin/vmm','jail_root':'/j'}", "exec_path",
          "must not contain \"..\"" },
        { "exec_path: trailing dotdot", "{'id':'t','exec_path':'/usr/bin/..','jail_root':'/j'}", "exec_path",
          "must not contain \"..\"" },
        { "exec_path: dot", "{'id':'t','exec_path':'/usr/./bin/vmm','jail_root':'/j'}", "exec_path",
          "must not contain \".\" components" },
        { "exec_path: empty component", "{'id':'t','exec_path':'/usr//bin/vmm','jail_root':'/j'}", "exec_path",
          "empty components" },
        /* jail_root */
        { "jail_root: missing", "{'id':'t','exec_path':'/usr/bin/vmm'}", "jail_root", "is required" },
        { "jail_root: slash", "{'id':'t','exec_path':'/usr/bin/vmm','jail_root':'/'}", "jail_root",
          "\"/\" is not allowed" },
        { "jail_root: double slash", "{'id':'t','exec_path':'/usr/bin/vmm','jail_root':'//'}", "jail_root",
          "empty components" },
        { "jail_root: relative", "{'id':'t','exec_path':'/usr/bin/vmm','jail_root':'jails/t'}", "jail_root",
          "not an absolute path" },
        { "jail_root: dotdot", "{'id':'t','exec_path':'/usr/bin/vmm','jail_root':'/var/..'}", "jail_root",
          "must not contain \"..\"" },
        { "jail_root: dot", "{'id':'t','exec_path':'/usr/bin/vmm','jail_root':'/var/./j'}", "jail_root",
          "\".\" components" },
        /* uid/gid */
        { "uid: root", J("'uid':0"), "uid", "uid: 0 is not allowed" },
        { "gid: root", J("'gid':0"), "gid", "gid: 0 is not allowed" },
        { "uid: -1 as uid_t", J("'uid':4294967295"), "uid", "4294967295 is not a valid uid" },
        { "gid: -1 as gid_t", J("'gid':4294967295"), "gid", "4294967295 is not a valid gid" },
        /* limits: just outside every boundary */
        { "cpu_period_us: 999", L("'cpu_period_us':999"), "limits.cpu_period_us", "999 is below the 1000 minimum" },
        { "cpu_period_us: 1000001", L("'cpu_period_us':1000001"), "limits.cpu_period_us",
          "1000001 is above the 1000000 maximum" },
        { "cpu_quota_us: 999", L("'cpu_quota_us':999"), "limits.cpu_quota_us", "999 is below the 1000 minimum" },
        { "cpu_quota_us: 0", L("'cpu_quota_us':0"), "limits.cpu_quota_us", "0 is below" },
        { "cpu_quota_us: 1024000001", L("'cpu_quota_us':1024000001"), "limits.cpu_quota_us",
          "1024000001 is above the 1024000000" },
        { "memory_bytes: 12", L("'memory_bytes':12"), "limits.memory_bytes",
          "limits.memory_bytes: 12 is below the 1 MiB minimum" },
        { "memory_bytes: 0", L("'memory_bytes':0"), "limits.memory_bytes", "0 is below the 1 MiB minimum" },
        { "memory_bytes: 1MiB-1", L("'memory_bytes':1048575"), "limits.memory_bytes", "1048575 is below" },
        { "memory_bytes: 2^62+1", L("'memory_bytes':4611686018427387905"), "limits.memory_bytes",
          "4611686018427387905 is above" },
        { "max_fds: 0", L("'max_fds':0"), "limits.max_fds", "0 is below the 1 minimum" },
        { "max_fds: 1048577", L("'max_fds':1048577"), "limits.max_fds", "1048577 is above the 1048576 maximum" },
        { "max_procs: 0", L("'max_procs':0"), "limits.max_procs", "0 is below" },
        { "max_procs: 4194305", L("'max_procs':4194305"), "limits.max_procs", "4194305 is above the 4194304" },
        { "max_file_size: 0", L("'max_file_size':0"), "limits.max_file_size", "0 is below the 1 minimum" },
        { "pids: 0", L("'pids':0"), "limits.pids", "0 is below the 1 minimum" },
        { "pids: 4194305", L("'pids':4194305"), "limits.pids", "4194305 is above the 4194304 maximum" },
        { "timeout_ms: 30 days + 1", L("'timeout_ms':2592000001"), "limits.timeout_ms",
          "2592000001 is above the 2592000000 (30 days) maximum" },
        /* namespaces */
        { "mount ns off with binds", J("'namespaces':{'mount':false},'bind_mounts':[{'source':'/a','dest':'/b'}]"),
          "bind_mounts", "namespaces.mount is false" },
        { "mount ns off with devices", J("'namespaces':{'mount':false},'devices':['/dev/net/tun']"), "devices",
          "namespaces.mount is false" },
        { "mount ns off with workdir", J("'namespaces':{'mount':false},'workdir':'/tmp'"), "workdir",
          "\"/tmp\" needs a mount namespace" },
        /* bind mounts */
        { "bind: example message",
          J("'bind_mounts':[{'source':'/a','dest':'/x'},{'source':'/b','dest':'/y'},{'source':'/c','dest':'/a/../etc'}]"),
          "bind_mounts[2].dest", "bind_mounts[2].dest: \"/a/../etc\" must not contain \"..\"" },
        { "bind: relative source", J("'bind_mounts':[{'source':'a','dest':'/b'}]"), "bind_mounts[0].source",
          "not an absolute path" },
        { "bind: source dotdot", J("'bind_mounts':[{'source':'/a/..','dest':'/b'}]"), "bind_mounts[0].source",
          "\"..\"" },
        { "bind: source dot", J("'bind_mounts':[{'source':'/a/./b','dest':'/b'}]"), "bind_mounts[0].source",
          "\".\" components" },
        { "bind: relative dest", J("'bind_mounts':[{'source':'/a','dest':'b'}]"), "bind_mounts[0].dest",
          "not an absolute path" },
        { "bind: dest root", J("'bind_mounts':[{'source':'/a','dest':'/'}]"), "bind_mounts[0].dest",
          "\"/\" is not allowed" },
        { "bind: dest /proc", J("'bind_mounts':[{'source':'/a','dest':'/proc'}]"), "bind_mounts[0].dest",
          "must not be /proc, /dev or beneath them" },
        { "bind: dest /proc/", J("'bind_mounts':[{'source':'/a','dest':'/proc/'}]"), "bind_mounts[0].dest",
          "/proc, /dev" },
        { "bind: dest under /proc", J("'bind_mounts':[{'source':'/a','dest':'/proc/sys'}]"), "bind_mounts[0].dest",
          "/proc, /dev" },
        { "bind: dest /dev", J("'bind_mounts':[{'source':'/a','dest':'/dev'}]"), "bind_mounts[0].dest",
          "/proc, /dev" },
        { "bind: dest under /dev", J("'bind_mounts':[{'source':'/a','dest':'/dev/kvm'}]"), "bind_mounts[0].dest",
          "/proc, /dev" },
        { "bind: duplicate dest", J("'bind_mounts':[{'source':'/a','dest':'/k'},{'source':'/b','dest':'/k/'}]"),
          "bind_mounts[1].dest", "is also the dest of bind_mounts[0]" },
        /* workdir */
        { "workdir: relative", J("'workdir':'tmp'"), "workdir", "not an absolute path" },
        { "workdir: dotdot", J("'workdir':'/tmp/..'"), "workdir", "\"..\"" },
        { "workdir: empty", J("'workdir':''"), "workdir", "must not be empty" },
        /* env */
        { "env: empty name", J("'env':[['','1']]"), "env[0]", "must not be empty" },
        { "env: name with =", J("'env':[['A=B','1']]"), "env[0]", "\"A=B\" must not contain '='" },
        /* hostname */
        { "hostname: empty", J("'hostname':''"), "hostname", "must not be empty" },
        { "hostname: 65 chars", J("'hostname':'" REPEAT64 "b'"), "hostname", "longer than 64 characters" },
        { "hostname: leading dash", J("'hostname':'-vm'"), "hostname", "must not start with '-' or '.'" },
        { "hostname: leading dot", J("'hostname':'.vm'"), "hostname", "must not start with" },
        { "hostname: underscore", J("'hostname':'a_b'"), "hostname", "may contain only" },
        { "hostname: space", J("'hostname':'a b'"), "hostname", "may contain only" },
        /* devices */
        { "device: relative", J("'devices':['net/tun']"), "devices[0]", "not an absolute path" },
        { "device: /dev itself", J("'devices':['/dev']"), "devices[0]", "is not beneath /dev/" },
        { "device: /dev/", J("'devices':['/dev/']"), "devices[0]", "is not beneath /dev/" },
        { "device: outside /dev", J("'devices':['/etc/passwd']"), "devices[0]", "\"/etc/passwd\" is not beneath" },
        { "device: /devx", J("'devices':['/devx/tun']"), "devices[0]", "is not beneath" },
        { "device: dotdot", J("'devices':['/dev/../etc/shadow']"), "devices[0]", "\"..\"" },
        { "device: /dev/null", J("'devices':['/dev/null']"), "devices[0]", "always present" },
        { "device: /dev/zero", J("'devices':['/dev/net/tun','/dev/zero']"), "devices[1]", "always present" },
        { "device: /dev/urandom", J("'devices':['/dev/urandom']"), "devices[0]", "always present" },
        { "device: duplicate", J("'devices':['/dev/net/tun','/dev/net/tun']"), "devices[1]", "is also devices[0]" },
        /* cgroup_parent */
        { "cgroup_parent: absolute", J("'cgroup_parent':'/jailer'"), "cgroup_parent", "must be relative" },
        { "cgroup_parent: empty", J("'cgroup_parent':''"), "cgroup_parent", "must not be empty" },
        { "cgroup_parent: double slash", J("'cgroup_parent':'a//b'"), "cgroup_parent", "empty components" },
        { "cgroup_parent: trailing slash", J("'cgroup_parent':'a/'"), "cgroup_parent", "must not end with '/'" },
        { "cgroup_parent: dotdot", J("'cgroup_parent':'a/../b'"), "cgroup_parent", "\"..\" components" },
        { "cgroup_parent: dot", J("'cgroup_parent':'.'"), "cgroup_parent", "\".\" or \"..\"" },
        { "cgroup_parent: space", J("'cgroup_parent':'a b'"), "cgroup_parent", "may contain only" },
        { "cgroup_parent: 256 chars",
          J("'cgroup_parent':'" REPEAT64 REPEAT64 REPEAT64 REPEAT64 "'"), "cgroup_parent", "longer than 255" },
};

static void test_bad_configs(void)
{
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const struct bad_case *t = &bad_cases[i];
                _cleanup_free_ char *json = sq(t->json);
                jailer_config *c = NULL;
                jailer_error err = { 0 };
                char name[160];
                int r;

                snprintf(name, sizeof(name), "bad json: %s", t->name);
                r = jailer_config_from_json(json, strlen(json), &c, &err);
                if (r == 0) {
                        r = jailer_config_validate(c, &err);
                        jailer_config_free(c);
                }
                if (r == 0)
                        report(false, name, "accepted");
                else
                        report(err.step == JAILER_STEP_CONFIG && strcmp(err.field, t->field) == 0 &&
                                       strstr(err.message, t->substr),
                               name, "step %s, field \"%s\", message \"%s\"; expected field \"%s\", message with \"%s\"",
                               jailer_step_name(err.step), err.field, err.message, t->field, t->substr);
        }
}

/* ------------------------------------------------------------ good configs */

struct good_case {
        const char *name;
        const char *json;
};

static const struct good_case good_cases[] = {
        { "spec example",
          "{'id':'benchmark-123','exec_path':'/usr/lib/bencher/vmm',"
          "'exec_args':['--kernel','/kernel','--rootfs','/rootfs.squashfs'],"
          "'jail_root':'/var/lib/bencher/jails/benchmark-123','uid':65534,'gid':65534,"
          "'limits':{'cpu_quota_us':100000,'cpu_period_us':100000,'memory_bytes':536870912,'max_fds':1024,"
          "'max_procs':64},"
          "'namespaces':{'user':true,'pid':true,'mount':true,'network':true,'uts':true,'ipc':true,'cgroup':true},"
          "'bind_mounts':[{'source':'/path/to/kernel','dest':'/kernel','read_only':true}],"
          "'workdir':'/','env':[['RUST_BACKTRACE','1']]}" },
        { "minimal", "{" B "}" },
        { "id: 64 chars", "{'id':'" REPEAT64 "','exec_path':'/usr/bin/vmm','jail_root':'/j'}" },
        { "id: every allowed class", "{'id':'Az09-_','exec_path':'/usr/bin/vmm','jail_root':'/j'}" },
        { "exec_path: trailing slash", "{'id':'t','exec_path':'/usr/bin/vmm/','jail_root':'/j'}" },
        { "exec_path: dots inside names", "{'id':'t','exec_path':'/usr/bin/..vmm.../.x','jail_root':'/j'}" },
        { "all nulls", "{" B ",'exec_args':null,'uid':null,'gid':null,'limits':null,'namespaces':null,"
          "'bind_mounts':null,'workdir':null,'env':null,'hostname':null,'devices':null,'cgroup_version':null,"
          "'cgroup_parent':null}" },
        { "null limits inside", L("'cpu_quota_us':null,'cpu_period_us':null,'memory_bytes':null,'max_fds':null,"
                                  "'max_procs':null,'max_file_size':null,'pids':null,'timeout_ms':null") },
        { "uid/gid 1", J("'uid':1,'gid':1") },
        { "uid 4294967294", J("'uid':4294967294") },
        { "cpu_period_us 1000", L("'cpu_period_us':1000") },
        { "cpu_period_us 1000000", L("'cpu_period_us':1000000") },
        { "cpu_quota_us 1000", L("'cpu_quota_us':1000") },
        { "cpu_quota_us 1024000000", L("'cpu_quota_us':1024000000") },
        { "memory_bytes 1 MiB", L("'memory_bytes':1048576") },
        { "memory_bytes 2^62", L("'memory_bytes':4611686018427387904") },
        { "max_fds 1", L("'max_fds':1") },
        { "max_fds 1048576", L("'max_fds':1048576") },
        { "max_procs 1", L("'max_procs':1") },
        { "max_procs 4194304", L("'max_procs':4194304") },
        { "max_file_size 1", L("'max_file_size':1") },
        { "pids 1", L("'pids':1") },
        { "pids 4194304", L("'pids':4194304") },
        { "timeout_ms 30 days", L("'timeout_ms':2592000000") },
        { "timeout_ms 0", L("'timeout_ms':0") },
        { "all namespaces off but mount",
          J("'namespaces':{'user':false,'pid':false,'network':false,'uts':false,'ipc':false,'cgroup':false}") },
        { "mount ns off, workdir /", J("'namespaces':{'mount':false},'workdir':'/'") },
        { "bind dest /device and /procfoo",
          J("'bind_mounts':[{'source':'/a','dest':'/device'},{'source':'/b','dest':'/procfoo','read_only':false}]") },
        { "bind source /", J("'bind_mounts':[{'source':'/','dest':'/host'}]") },
        { "hostname 64 chars", J("'hostname':'" REPEAT64 "'") },
        { "hostname dots and dashes", J("'hostname':'vm-1.example'") },
        { "devices tun and kvm", J("'devices':['/dev/net/tun','/dev/kvm']") },
        { "cgroup_parent nested", J("'cgroup_parent':'jailer/sub.d-1_x','cgroup_version':'v1'") },
        { "cgroup_version v2", J("'cgroup_version':'v2'") },
        { "env empty value", J("'env':[['A',''],['B','x=y']]") },
        { "unicode strings", J("'exec_args':['caf\\u00e9','\\ud83d\\ude00'],'hostname':'h'") },
        { "whitespace around", " \n\t{" B "}\n\n" },
};

static void test_good_configs(void)
{
        for (size_t i = 0; i < ELEMENTSOF(good_cases); i++) {
                const struct good_case *t = &good_cases[i];
                _cleanup_free_ char *json = sq(t->json);
                jailer_config *c = NULL;
                jailer_error err = { 0 };
                char name[160];
                int r;

                snprintf(name, sizeof(name), "good json: %s", t->name);
                r = jailer_config_from_json(json, strlen(json), &c, &err);
                if (r == 0)
                        r = jailer_config_validate(c, &err);
                jailer_config_free(c);
                report(r == 0, name, "refused: %s", err.message);
        }
}

/* What the JSON means, beyond being accepted. */
static void test_json_values(void)
{
        _cleanup_free_ char *json = sq("{" B ",'bind_mounts':[{'source':'/a','dest':'/b'},"
                                       "{'source':'/c','dest':'/d','read_only':false},"
                                       "{'source':'/e','dest':'/f','read_only':null}],"
                                       "'namespaces':{'network':false,'user':null},"
                                       "'limits':{'memory_bytes':536870912,'max_file_size':null},"
                                       "'env':[['A','1'],['B','2']],'exec_args':['x','y']}");
        jailer_config *c = NULL;
        jailer_error err = { 0 };

        if (jailer_config_from_json(json, strlen(json), &c, &err) < 0) {
                report(false, "json values", "%s", err.message);
                return;
        }
        report(c->n_binds == 3 && c->binds[0].read_only && !c->binds[1].read_only && c->binds[2].read_only,
               "json values: read_only defaults to true", "read_only %d %d %d", c->binds[0].read_only,
               c->binds[1].read_only, c->binds[2].read_only);
        report(!c->ns[JAILER_NS_NETWORK] && c->ns[JAILER_NS_USER] && c->ns[JAILER_NS_MOUNT],
               "json values: namespaces, null = on", "ns wrong");
        report(c->limits.memory_bytes == 536870912 && c->limits.max_file_size == JL_UNSET &&
                       c->limits.max_fds == 1024 && c->limits.cpu_period_us == 100000,
               "json values: limits and defaults", "limits wrong");
        report(c->n_env == 2 && strcmp(c->env[1].key, "B") == 0 && strcmp(c->env[1].value, "2") == 0,
               "json values: env pairs", "env wrong");
        report(c->n_exec_args == 2 && strcmp(c->exec_args[1], "y") == 0 && c->exec_args[2] == NULL,
               "json values: exec_args NULL-terminated", "args wrong");
        jailer_config_free(c);
}

/* ------------------------------------------------------------ defaults, setters */

static void test_defaults(void)
{
        jailer_config *c = jailer_config_new("d", "/bin/x", "/j");
        bool ns_on = true;

        for (size_t i = 0; i < JAILER_NS_COUNT; i++)
                ns_on = ns_on && c->ns[i];
        report(c->uid == 65534 && c->gid == 65534, "defaults: uid/gid 65534", "uid %u gid %u", c->uid, c->gid);
        report(c->limits.max_fds == 1024 && c->limits.max_procs == 64 && c->limits.max_file_size == JL_UNSET,
               "defaults: rlimits 1024/64/unlimited", "wrong rlimits");
        report(c->limits.cpu_period_us == 100000 && c->limits.cpu_quota_us == JL_UNSET &&
                       c->limits.memory_bytes == JL_UNSET && c->limits.pids == JL_UNSET && c->limits.timeout_ms == 0,
               "defaults: cgroup limits unset, period 100000", "wrong limits");
        report(ns_on, "defaults: every namespace on", "a namespace is off");
        report(strcmp(c->workdir, "/") == 0 && !c->hostname && !c->cgroup_parent &&
                       c->cgroup_version == JAILER_CGROUP_AUTO && c->n_env == 0 && c->n_binds == 0 &&
                       c->n_devices == 0 && c->n_exec_args == 0 && c->exec_args && !c->exec_args[0],
               "defaults: workdir /, empty lists", "wrong");
        report(strcmp(jailer_config_get_id(c), "d") == 0, "defaults: get_id", "wrong id");
        report(jailer_config_validate(c, NULL) == 0, "defaults: valid", "default config refused");
        jailer_config_free(c);

        c = jailer_config_new(NULL, NULL, NULL);
        report(c && !c->id && jailer_config_get_id(c) == NULL, "defaults: NULL arguments", "wrong");
        jailer_config_free(c);
        jailer_config_free(NULL);
}

static void test_setters(void)
{
        jailer_config *c = jailer_config_new("s", "/bin/x", "/j");
        jailer_error err = { 0 };

        report(jailer_config_set_cpu_limit(c, 0.2) == 0 && c->limits.cpu_quota_us == 20000,
               "setter: cpu 0.2 = 20000 us of 100000", "quota %llu", (unsigned long long) c->limits.cpu_quota_us);
        jailer_config_set_cpu_quota(c, 1, 50000);
        report(jailer_config_set_cpu_limit(c, 1.5) == 0 && c->limits.cpu_quota_us == 75000,
               "setter: cpu 1.5 of period 50000", "quota %llu", (unsigned long long) c->limits.cpu_quota_us);
        report(jailer_config_set_cpu_limit(c, NAN) < 0 && jailer_config_set_cpu_limit(c, -1) < 0 &&
                       jailer_config_set_cpu_limit(c, 0) < 0 && jailer_config_set_cpu_limit(c, INFINITY) < 0 &&
                       jailer_config_set_cpu_limit(c, 1e300) < 0 && c->limits.cpu_quota_us == 75000,
               "setter: cpu NaN/negative/zero/inf/huge refused", "accepted");
        report(jailer_config_set_namespace(c, JAILER_NS_COUNT, false) < 0 && errno == EINVAL,
               "setter: namespace out of range", "accepted");
        report(jailer_config_set_cgroup_version(c, (jailer_cgroup_version) 7) < 0, "setter: cgroup version 7",
               "accepted");
        jailer_config_add_env(c, "A", "1");
        jailer_config_add_env(c, "B", "2");
        jailer_config_add_env(c, "A", "3");
        report(c->n_env == 2 && strcmp(c->env[0].value, "3") == 0, "setter: env key set twice keeps one",
               "n_env %zu", c->n_env);
        report(jailer_config_add_arg(c, NULL) < 0 && jailer_config_add_bind_mount(c, NULL, "/x", true) < 0 &&
                       jailer_config_add_env(c, NULL, "x") < 0 && jailer_config_add_device(c, NULL) < 0,
               "setter: NULL arguments refused", "accepted");
        jailer_config_set_workdir(c, "/tmp");
        jailer_config_set_workdir(c, NULL);
        report(strcmp(c->workdir, "/") == 0, "setter: workdir NULL restores /", "workdir %s", c->workdir);
        jailer_config_set_uid(c, 0);
        report(jailer_config_validate(c, &err) < 0 && strcmp(err.field, "uid") == 0, "setter: uid 0 refused",
               "%s", err.message);
        jailer_config_free(c);
        report(jailer_config_validate(NULL, &err) < 0, "validate: NULL config", "accepted");
}

/* The fd forms keep a private duplicate, refuse an index with no entry, and
 * close what they hold when replaced or freed. */
static void test_fd_forms(void)
{
        jailer_config *c = jailer_config_new("f", "/bin/x", "/j");
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        struct stat st;

        report(c->exec_fd == -1 && c->seccomp_fd == -1 && c->jail_root_fd == -1 && jl_config_bind_fd(c, 0) == -1,
               "fd forms: none by default", "exec_fd %d", c->exec_fd);
        report(jailer_config_set_exec_fd(c, fd) == 0 && c->exec_fd >= 0 && c->exec_fd != fd,
               "fd forms: exec fd is duplicated", "exec_fd %d", c->exec_fd);
        report(jailer_config_set_bind_source_fd(c, 0, fd) < 0 && errno == EINVAL &&
                       jailer_config_set_device_fd(c, 0, fd) < 0 && errno == EINVAL,
               "fd forms: no bind or device entry, no fd", "accepted");
        jailer_config_add_bind_mount(c, "/a", "/b", true);
        jailer_config_add_bind_mount(c, "/c", "/d", true);
        report(jailer_config_set_bind_source_fd(c, 1, fd) == 0 && jl_config_bind_fd(c, 0) == -1 &&
                       jl_config_bind_fd(c, 1) >= 0 && jailer_config_set_bind_source_fd(c, 2, fd) < 0,
               "fd forms: bind source by index", "bind fds %d %d", jl_config_bind_fd(c, 0), jl_config_bind_fd(c, 1));
        int held = c->exec_fd;
        jailer_config_set_exec_fd(c, -1);
        report(c->exec_fd == -1 && fstat(held, &st) < 0 && errno == EBADF, "fd forms: -1 forgets and closes",
               "exec_fd %d", c->exec_fd);
        jailer_config_free(c);
        report(fstat(fd, &st) == 0, "fd forms: the caller's fd stays open", "closed");
        close(fd);
}

/* Counts that are too large to write as JSON literals. */
static void test_counts(void)
{
        struct {
                const char *name;
                int ok_n, bad_n;
                const char *field, *substr;
        } cases[] = {
                { "exec_args", 4096, 4097, "exec_args", "4097 arguments, at most 4096" },
                { "env", 4096, 4097, "env", "4097 entries, at most 4096" },
                { "bind_mounts", 256, 257, "bind_mounts", "257 entries, at most 256" },
                { "devices", 64, 65, "devices", "65 entries, at most 64" },
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++)
                for (int pass = 0; pass < 2; pass++) {
                        int n = pass == 0 ? cases[k].ok_n : cases[k].bad_n;
                        jailer_config *c = jailer_config_new("n", "/bin/x", "/j");
                        jailer_error err = { 0 };
                        char name[96], buf[64];
                        int r;

                        for (int i = 0; i < n; i++) {
                                switch (k) {
                                case 0:
                                        jailer_config_add_arg(c, "a");
                                        break;
                                case 1:
                                        snprintf(buf, sizeof(buf), "V%d", i);
                                        jailer_config_add_env(c, buf, "x");
                                        break;
                                case 2:
                                        snprintf(buf, sizeof(buf), "/m/%d", i);
                                        jailer_config_add_bind_mount(c, "/src", buf, true);
                                        break;
                                default:
                                        snprintf(buf, sizeof(buf), "/dev/d%d", i);
                                        jailer_config_add_device(c, buf);
                                        break;
                                }
                        }
                        r = jailer_config_validate(c, &err);
                        snprintf(name, sizeof(name), "count: %s %d %s", cases[k].name, n,
                                 pass == 0 ? "accepted" : "refused");
                        if (pass == 0)
                                report(r == 0, name, "%s", err.message);
                        else
                                report(r < 0 && strcmp(err.field, cases[k].field) == 0 &&
                                               strstr(err.message, cases[k].substr),
                                       name, "field %s: %s", err.field, err.message);
                        jailer_config_free(c);
                }
}

/* The same maxima hold for JSON, checked while parsing. */
static void test_json_counts(void)
{
        static const struct {
                const char *key, *item, *field;
                int max;
        } t[] = {
                { "exec_args", "\"a\"", "exec_args", 4096 },
                { "env", NULL, "env", 4096 },
                { "bind_mounts", NULL, "bind_mounts", 256 },
                { "devices", NULL, "devices", 64 },
        };

        for (size_t k = 0; k < ELEMENTSOF(t); k++)
                for (int pass = 0; pass < 2; pass++) {
                        int n = t[k].max + pass;
                        size_t size = 128 + (size_t) n * 40;
                        _cleanup_free_ char *json = malloc(size);
                        size_t o = 0;
                        jailer_config *c = NULL;
                        jailer_error err = { 0 };
                        char name[96];
                        int r;

                        o += (size_t) snprintf(json + o, size - o, "{\"%s\":[", t[k].key);
                        for (int i = 0; i < n; i++) {
                                const char *sep = i ? "," : "";

                                if (k == 0)
                                        o += (size_t) snprintf(json + o, size - o, "%s%s", sep, t[k].item);
                                else if (k == 1)
                                        o += (size_t) snprintf(json + o, size - o, "%s[\"V%d\",\"x\"]", sep, i);
                                else if (k == 2)
                                        o += (size_t) snprintf(json + o, size - o,
                                                               "%s{\"source\":\"/s\",\"dest\":\"/m/%d\"}", sep, i);
                                else
                                        o += (size_t) snprintf(json + o, size - o, "%s\"/dev/d%d\"", sep, i);
                        }
                        snprintf(json + o, size - o, "]}");

                        r = jailer_config_from_json(json, strlen(json), &c, &err);
                        jailer_config_free(c);
                        snprintf(name, sizeof(name), "json count: %s %d %s", t[k].key, n,
                                 pass == 0 ? "parsed" : "refused");
                        if (pass == 0)
                                report(r == 0, name, "%s", err.message);
                        else
                                report(r < 0 && strcmp(err.field, t[k].field) == 0 && strstr(err.message, "at most"),
                                       name, "field %s: %s", err.field, err.message);
                }
}

/* ------------------------------------------------------------ parsers */

static void test_sizes(void)
{
        static const struct {
                const char *s;
                int ok; /* 1 ok, 0 EINVAL, -1 ERANGE */
                uint64_t v;
        } t[] = {
                { "4096", 1, 4096 },
                { "0", 1, 0 },
                { "512K", 1, 512ULL << 10 },
                { "512M", 1, 512ULL << 20 },
                { "1G", 1, 1ULL << 30 },
                { "2T", 1, 2ULL << 40 },
                { "1KiB", 1, 1024 },
                { "3MiB", 1, 3ULL << 20 },
                { "1GiB", 1, 1ULL << 30 },
                { "1TiB", 1, 1ULL << 40 },
                { "512m", 1, 512ULL << 20 },
                { "007", 1, 7 },
                { "18446744073709551615", 1, UINT64_MAX },
                { "16777215T", 1, 16777215ULL << 40 },
                { "", 0, 0 },
                { "-1", 0, 0 },
                { "+1", 0, 0 },
                { " 1", 0, 0 },
                { "1 ", 0, 0 },
                { "1 K", 0, 0 },
                { "1.5G", 0, 0 },
                { "1KB", 0, 0 },
                { "1kib", 0, 0 },
                { "1X", 0, 0 },
                { "K", 0, 0 },
                { "0x10", 0, 0 },
                { "1GG", 0, 0 },
                { "99999999999999999999K", -1, 0 },
                { "18446744073709551616", -1, 0 },
                { "16777216T", -1, 0 },
                { "17179869184G", -1, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t v = 0;
                char name[96];
                int r;

                errno = 0;
                r = jl_parse_size(t[i].s, &v);
                snprintf(name, sizeof(name), "size: \"%s\"", t[i].s);
                if (t[i].ok == 1)
                        report(r == 0 && v == t[i].v, name, "r=%d v=%llu", r, (unsigned long long) v);
                else
                        report(r < 0 && errno == (t[i].ok == 0 ? EINVAL : ERANGE), name, "r=%d errno=%d", r, errno);
        }
}

static void test_u64(void)
{
        static const struct {
                const char *s;
                int ok;
                uint64_t v;
        } t[] = {
                { "0", 1, 0 },
                { "42", 1, 42 },
                { "18446744073709551615", 1, UINT64_MAX },
                { "18446744073709551616", -1, 0 },
                { "", 0, 0 },
                { "-0", 0, 0 },
                { "+5", 0, 0 },
                { "1a", 0, 0 },
                { "1K", 0, 0 },
                { " 1", 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t v = 0;
                char name[96];
                int r;

                errno = 0;
                r = jl_parse_u64(t[i].s, &v);
                snprintf(name, sizeof(name), "u64: \"%s\"", t[i].s);
                if (t[i].ok == 1)
                        report(r == 0 && v == t[i].v, name, "r=%d", r);
                else
                        report(r < 0 && errno == (t[i].ok == 0 ? EINVAL : ERANGE), name, "r=%d errno=%d", r, errno);
        }
}

static void test_signals(void)
{
        static const struct {
                const char *name;
                int sig;
        } from[] = {
                { "KILL", SIGKILL }, { "SIGKILL", SIGKILL }, { "9", SIGKILL },     { "sigterm", SIGTERM },
                { "SIGSYS", SIGSYS }, { "HUP", SIGHUP },     { "SIGIOT", SIGABRT }, { "SIGFOO", -1 },
                { "", -1 },          { "0", -1 },           { "-9", -1 },         { "SIG", -1 },
                { "9x", -1 },        { "SIGRTMIN+99", -1 }, { "SIGRTMIN-1", -1 }, { "SIGRTMAX+1", -1 },
        };
        char name[96];
        bool all = true;

        for (size_t i = 0; i < ELEMENTSOF(from); i++) {
                int s = jailer_signal_from_name(from[i].name);

                snprintf(name, sizeof(name), "signal: from \"%s\"", from[i].name);
                report(s == from[i].sig, name, "got %d, expected %d", s, from[i].sig);
        }
        report(jailer_signal_from_name("SIGRTMIN") == SIGRTMIN && jailer_signal_from_name("SIGRTMIN+3") == SIGRTMIN + 3 &&
                       jailer_signal_from_name("SIGRTMAX") == SIGRTMAX &&
                       jailer_signal_from_name("RTMAX-1") == SIGRTMAX - 1,
               "signal: realtime names", "wrong");
        report(strcmp(jailer_signal_name(SIGKILL), "SIGKILL") == 0 && strcmp(jailer_signal_name(SIGRTMIN), "SIGRTMIN") == 0 &&
                       strcmp(jailer_signal_name(SIGRTMIN + 3), "SIGRTMIN+3") == 0,
               "signal: names", "wrong");
        report(jailer_signal_name(0) == NULL && jailer_signal_name(-1) == NULL && jailer_signal_name(1000) == NULL,
               "signal: no name for 0, -1, 1000", "got a name");
        for (int s = 1; s <= SIGRTMAX; s++) {
                const char *n = jailer_signal_name(s);

                if (n && jailer_signal_from_name(n) != s)
                        all = false;
                if (!n && (s < 32 || s >= SIGRTMIN))
                        all = false;
        }
        report(all, "signal: every name reads back", "a name does not");
        report(jailer_signal_from_name(NULL) == -1, "signal: NULL", "not -1");
}

static void test_misc(void)
{
        static const char *const steps[] = { "none", "config", "cgroup", "rootfs", "spawn", "userns",
                                             "privileges", "seccomp", "exec", "wait" };
        bool ok = true;

        for (size_t i = 0; i < ELEMENTSOF(steps); i++)
                ok = ok && strcmp(jailer_step_name((jailer_step) i), steps[i]) == 0;
        report(ok, "step names", "wrong");
        report(strcmp(jailer_step_name((jailer_step) 99), "unknown") == 0, "step name out of range", "wrong");
        report(strcmp(jailer_version(), JAILER_VERSION) == 0, "version", "%s", jailer_version());
        report(strcmp(jl_namespace_names[JAILER_NS_NETWORK], "network") == 0 &&
                       strcmp(jl_namespace_names[JAILER_NS_CGROUP], "cgroup") == 0,
               "namespace names", "wrong");
}

static void test_errors(void)
{
        jailer_error err = { 0 };

        jl_error(&err, JAILER_STEP_ROOTFS, ENOENT, "bind_mounts[2].source", "%s", "/nope");
        report(strcmp(err.message, "bind_mounts[2].source: /nope: No such file or directory") == 0 &&
                       err.code == ENOENT && err.step == JAILER_STEP_ROOTFS &&
                       strcmp(err.field, "bind_mounts[2].source") == 0,
               "error: field prefix and strerror", "\"%s\"", err.message);
        jl_error(&err, JAILER_STEP_CONFIG, 0, "uid", "uid: %d is bad", 0);
        report(strcmp(err.message, "uid: 0 is bad") == 0, "error: field not doubled", "\"%s\"", err.message);
        jl_error(&err, JAILER_STEP_CGROUP, 0, NULL, "a\nb\x1b[31m\t");
        report(strcmp(err.message, "a\\nb\\x1b[31m\\t") == 0 && err.field[0] == '\0',
               "error: control characters escaped", "\"%s\"", err.message);
        jl_error(&err, JAILER_STEP_CONFIG, 0, "id", "\"a\xc2\x9b" "31mb caf\xc3\xa9\"");
        report(strcmp(err.message, "id: \"a\\xc2\\x9b31mb caf\xc3\xa9\"") == 0, "error: C1 control escaped, UTF-8 kept",
               "\"%s\"", err.message);
        jl_error(&err, JAILER_STEP_CGROUP, 0, NULL, "a\nb\x1b[31m\t");
        jl_error_prefix(&err, "/etc/x.json");
        report(strcmp(err.message, "/etc/x.json: a\\nb\\x1b[31m\\t") == 0, "error: prefix", "\"%s\"", err.message);
        report(jl_error(NULL, JAILER_STEP_CONFIG, EPERM, NULL, "x") == -1 && errno == EPERM,
               "error: NULL err, errno set", "wrong");
        {
                char big[3000];

                memset(big, 'x', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                jl_error(&err, JAILER_STEP_CONFIG, ENOENT, "f", "%s", big);
                report(strlen(err.message) < sizeof(err.message), "error: long message truncated", "overflow");
        }
}

/* ------------------------------------------------------------ files */

static void test_files(void)
{
        _cleanup_free_ char *good = write_tmp("good.json", "{\"id\":\"f\",\"exec_path\":\"/bin/x\",\"jail_root\":\"/j\"}");
        _cleanup_free_ char *badkey = write_tmp("bad.json", "{\"id\":\"f\",\"limits\":{\"memry_bytes\":1}}");
        _cleanup_free_ char *link = NULL, *fifo = NULL, *big = NULL, *missing = NULL;
        jailer_config *c = NULL;
        jailer_error err = { 0 };
        FILE *f;

        report(jailer_config_from_file(good, &c, &err) == 0 && strcmp(c->id, "f") == 0, "file: regular file",
               "%s", err.message);
        jailer_config_free(c);
        c = NULL;

        report(jailer_config_from_file(badkey, &c, &err) < 0 && strstr(err.message, badkey) == err.message &&
                       strstr(err.message, ": limits.memry_bytes: unknown key") &&
                       strcmp(err.field, "limits.memry_bytes") == 0,
               "file: errors prefixed with the path", "%s", err.message);

        if (asprintf(&link, "%s/link.json", tmpdir) < 0 || symlink(good, link) < 0)
                abort();
        report(jailer_config_from_file(link, &c, &err) == 0, "file: symlink to a regular file", "%s", err.message);
        jailer_config_free(c);
        c = NULL;

        report(jailer_config_from_file(tmpdir, &c, &err) < 0 && strstr(err.message, "not a regular file"),
               "file: directory refused", "%s", err.message);

        if (asprintf(&fifo, "%s/fifo", tmpdir) < 0 || mkfifo(fifo, 0600) < 0)
                abort();
        report(jailer_config_from_file(fifo, &c, &err) < 0 && strstr(err.message, "not a regular file"),
               "file: fifo refused without blocking", "%s", err.message);

        if (asprintf(&big, "%s/big.json", tmpdir) < 0 || !(f = fopen(big, "w")))
                abort();
        fputs("{\"id\":\"", f);
        for (int i = 0; i < 1024 * 1024; i++)
                fputc('a', f);
        fputs("\"}", f);
        fclose(f);
        report(jailer_config_from_file(big, &c, &err) < 0 && strstr(err.message, "1 MiB"),
               "file: larger than 1 MiB refused", "%s", err.message);

        if (asprintf(&missing, "%s/missing.json", tmpdir) < 0)
                abort();
        report(jailer_config_from_file(missing, &c, &err) < 0 && err.code == ENOENT &&
                       strstr(err.message, missing) && strstr(err.message, "No such file or directory"),
               "file: missing file", "%s", err.message);

        report(jailer_config_from_json("{\"id\":\"a\"}\0{}", 12, &c, &err) < 0 && strstr(err.message, "NUL byte"),
               "json: NUL byte in the text", "%s", err.message);
}

/* ------------------------------------------------------------ round trips */

static bool config_equal(const jailer_config *a, const jailer_config *b, char *why, size_t size)
{
#define STR_EQ(x) ((!a->x && !b->x) || (a->x && b->x && strcmp(a->x, b->x) == 0))
#define NEQ(cond, what)                                 \
        do {                                            \
                if (!(cond)) {                          \
                        snprintf(why, size, "%s", what); \
                        return false;                   \
                }                                       \
        } while (0)

        NEQ(STR_EQ(id) && STR_EQ(exec_path) && STR_EQ(jail_root) && STR_EQ(workdir) && STR_EQ(hostname) &&
                    STR_EQ(cgroup_parent),
            "strings");
        NEQ(a->uid == b->uid && a->gid == b->gid, "ids");
        NEQ(memcmp(&a->limits, &b->limits, sizeof(a->limits)) == 0, "limits");
        NEQ(memcmp(a->ns, b->ns, sizeof(a->ns)) == 0, "namespaces");
        NEQ(a->cgroup_version == b->cgroup_version, "cgroup_version");
        NEQ(a->n_exec_args == b->n_exec_args && a->n_binds == b->n_binds && a->n_env == b->n_env &&
                    a->n_devices == b->n_devices,
            "counts");
        for (size_t i = 0; i < a->n_exec_args; i++)
                NEQ(strcmp(a->exec_args[i], b->exec_args[i]) == 0, "exec_args");
        for (size_t i = 0; i < a->n_binds; i++)
                NEQ(strcmp(a->binds[i].source, b->binds[i].source) == 0 &&
                            strcmp(a->binds[i].dest, b->binds[i].dest) == 0 &&
                            a->binds[i].read_only == b->binds[i].read_only,
                    "binds");
        for (size_t i = 0; i < a->n_env; i++)
                NEQ(strcmp(a->env[i].key, b->env[i].key) == 0 && strcmp(a->env[i].value, b->env[i].value) == 0,
                    "env");
        for (size_t i = 0; i < a->n_devices; i++)
                NEQ(strcmp(a->devices[i], b->devices[i]) == 0, "devices");
        return true;
#undef STR_EQ
#undef NEQ
}

static void roundtrip(const char *name, const jailer_config *c)
{
        _cleanup_free_ char *j1 = jailer_config_to_json(c), *j2 = NULL;
        jailer_config *back = NULL;
        jailer_error err = { 0 };
        char why[64] = "";

        if (!j1 || jailer_config_from_json(j1, strlen(j1), &back, &err) < 0) {
                report(false, name, "to_json/from_json failed: %s", err.message);
                return;
        }
        j2 = jailer_config_to_json(back);
        report(j2 && strcmp(j1, j2) == 0 && config_equal(c, back, why, sizeof(why)), name, "differs (%s):\n%s\n%s",
               why, j1, j2 ?: "");
        jailer_config_free(back);
}

static void test_config_roundtrip(void)
{
        jailer_config *c = jailer_config_new("rt-1", "/usr/lib/vmm/vmm", "/var/lib/jails/rt-1");
        _cleanup_free_ char *json = NULL;

        roundtrip("roundtrip: defaults", c);

        jailer_config_add_arg(c, "--kernel");
        jailer_config_add_arg(c, "/kernel with space \"quoted\" \\ back/slash\ttab");
        jailer_config_add_arg(c, "");
        jailer_config_set_uid(c, 1000);
        jailer_config_set_gid(c, 4294967294u);
        jailer_config_set_cpu_quota(c, 150000, 200000);
        jailer_config_set_memory_limit(c, 512ULL << 20);
        jailer_config_set_max_fds(c, 77);
        jailer_config_set_max_procs(c, 5);
        jailer_config_set_max_file_size(c, 1ULL << 30);
        jailer_config_set_pids_limit(c, 32);
        jailer_config_set_timeout_ms(c, 60000);
        jailer_config_set_io_weight(c, 500);
        jailer_config_set_namespace(c, JAILER_NS_NETWORK, false);
        jailer_config_set_namespace(c, JAILER_NS_IPC, false);
        jailer_config_add_bind_mount(c, "/srv/vmlinux", "/kernel", true);
        jailer_config_add_bind_mount(c, "/srv/disk", "/disk", false);
        jailer_config_set_workdir(c, "/work");
        jailer_config_add_env(c, "RUST_BACKTRACE", "1");
        jailer_config_add_env(c, "EMPTY", "");
        jailer_config_add_env(c, "UNICODE", "caf\xc3\xa9");
        jailer_config_set_hostname(c, "vm-1");
        jailer_config_add_device(c, "/dev/net/tun");
        jailer_config_set_cgroup_version(c, JAILER_CGROUP_V1);
        jailer_config_set_cgroup_parent(c, "jailer/test");
        roundtrip("roundtrip: every field set", c);

        json = jailer_config_to_json(c);
        report(json && strstr(json, "\"/srv/vmlinux\"") && strstr(json, "\"cgroup_version\": \"v1\"") &&
                       strstr(json, "\"env\": [") && strstr(json, "\"io_weight\": 500"),
               "to_json: slashes unescaped, spec key names", "%s", json ?: "NULL");
        jailer_config_free(c);

        c = jailer_config_new(NULL, NULL, NULL);
        roundtrip("roundtrip: NULL id/exec_path/jail_root", c);
        jailer_config_set_cgroup_version(c, JAILER_CGROUP_V2);
        jailer_config_set_max_file_size(c, JL_UNSET);
        roundtrip("roundtrip: v2, unlimited file size", c);
        jailer_config_free(c);
        report(jailer_config_to_json(NULL) == NULL, "to_json: NULL", "not NULL");
}

static void test_report(void)
{
        jailer_report r = {
                .pid = 4242,
                .exit_code = -1,
                .signal = SIGKILL,
                .oom_killed = true,
                .timed_out = false,
                .wall_time_us = 1234567,
                .cpu_usage_us = 890,
                .memory_peak_bytes = 536870912,
                .pids_peak = -1,
        }, back;
        jailer_error err = { 0 };
        _cleanup_free_ char *j = NULL, *j2 = NULL, *j3 = NULL;

        snprintf(r.id, sizeof(r.id), "benchmark-123");
        j = jailer_report_to_json(&r);
        report(j && strcmp(j, "{\"jail\":\"benchmark-123\",\"pid\":4242,\"exit_code\":null,\"signal\":\"SIGKILL\","
                              "\"oom_killed\":true,\"timed_out\":false,\"seccomp_killed\":false,\"wall_time_us\":1234567,\"cpu_usage_us\":890,"
                              "\"memory_peak_bytes\":536870912,\"pids_peak\":null}") == 0,
               "report: exact JSON when signaled", "%s", j ?: "NULL");
        report(j && jailer_report_from_json(j, &back, &err) == 0 && memcmp(&r, &back, sizeof(r)) == 0,
               "report: round trip signaled", "%s", err.message);
        report(jailer_report_status(&r) == 128 + SIGKILL, "report: status 128+signal", "%d", jailer_report_status(&r));

        memset(&r, 0, sizeof(r));
        snprintf(r.id, sizeof(r.id), "x");
        r.exit_code = 3;
        r.pids_peak = 7;
        r.memory_peak_bytes = UINT64_MAX - 1;
        j2 = jailer_report_to_json(&r);
        report(j2 && strstr(j2, "\"exit_code\":3,\"signal\":null") && strstr(j2, "\"pids_peak\":7"),
               "report: exit code and pids_peak", "%s", j2 ?: "NULL");
        report(j2 && jailer_report_from_json(j2, &back, &err) == 0 && memcmp(&r, &back, sizeof(r)) == 0,
               "report: round trip exited", "%s", err.message);
        report(jailer_report_status(&r) == 3, "report: status exit code", "%d", jailer_report_status(&r));

        {
                /* A peak the kernel does not give is null, and null comes back as unknown. */
                _cleanup_free_ char *jn = NULL;

                r.memory_peak_bytes = JAILER_UNKNOWN;
                jn = jailer_report_to_json(&r);
                report(jn && strstr(jn, "\"memory_peak_bytes\":null") &&
                               jailer_report_from_json(jn, &back, &err) == 0 &&
                               back.memory_peak_bytes == JAILER_UNKNOWN,
                       "report: unknown memory peak is null both ways", "%s", jn ?: "NULL");
                /* The disturbance figures: in JSON only when measured, -1 as
                 * null, and back. */
                _cleanup_free_ char *jd = NULL;
                memset(&r, 0, sizeof(r));
                snprintf(r.id, sizeof(r.id), "d");
                snprintf(r.cpus, sizeof(r.cpus), "2-3");
                r.measured = true;
                r.pids_peak = -1;
                r.cpu_periods = 10;
                r.cpu_throttled_periods = 9;
                r.cpu_throttled_us = 547825;
                r.memory_high_events = -1;
                r.memory_max_events = -1;
                r.cpu_pressure_some_us = r.cpu_pressure_full_us = -1;
                r.memory_pressure_some_us = 5;
                r.memory_pressure_full_us = r.io_pressure_some_us = r.io_pressure_full_us = -1;
                r.involuntary_switches = 91;
                r.pinned_cpus_other_us = 20000;
                jd = jailer_report_to_json(&r);
                report(jd && strstr(jd, "\"cpus\":\"2-3\",\"cpu_periods\":10,\"cpu_throttled_periods\":9,"
                                        "\"cpu_throttled_us\":547825,\"memory_high_events\":null") &&
                               strstr(jd, "\"memory_pressure_some_us\":5,") &&
                               strstr(jd, "\"involuntary_switches\":91,\"pinned_cpus_other_us\":20000}"),
                       "report: disturbance figures", "%s", jd ?: "NULL");
                report(jd && jailer_report_from_json(jd, &back, &err) == 0 && memcmp(&r, &back, sizeof(r)) == 0,
                       "report: round trip disturbance", "%s", err.message);
        }

        memset(&r, 0, sizeof(r));
        r.signal = 32; /* no name */
        r.exit_code = -1;
        r.pids_peak = -1;
        j3 = jailer_report_to_json(&r);
        report(j3 && strstr(j3, "\"signal\":\"32\"") && jailer_report_from_json(j3, &back, &err) == 0 &&
                       back.signal == 32,
               "report: unnamed signal as number", "%s", j3 ?: "NULL");

        {
                static const struct {
                        const char *name, *json, *substr;
                } bad[] = {
                        { "no jail", "{'exit_code':0,'signal':null}", "jail: is missing" },
                        { "both null", "{'jail':'x','exit_code':null,'signal':null}", "exactly one" },
                        { "both set", "{'jail':'x','exit_code':1,'signal':'SIGKILL'}", "exactly one" },
                        { "bad signal", "{'jail':'x','exit_code':null,'signal':'SIGFOO'}", "is not a signal" },
                        { "exit 256", "{'jail':'x','exit_code':256,'signal':null}", "out of range" },
                        { "negative pid", "{'jail':'x','pid':-1,'exit_code':0}", "non-negative" },
                        { "float time", "{'jail':'x','exit_code':0,'wall_time_us':1.5}", "non-negative integer" },
                        { "string bool", "{'jail':'x','exit_code':0,'oom_killed':'no'}", "expected a boolean" },
                        { "not JSON", "{", "invalid JSON" },
                        { "array", "[]", "expected a JSON object" },
                        { "long jail", "{'jail':'" REPEAT64 "x','exit_code':0}", "not a jail id" },
                };

                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        _cleanup_free_ char *json = sq(bad[i].json);
                        char name[96];

                        snprintf(name, sizeof(name), "report: refuses %s", bad[i].name);
                        memset(&err, 0, sizeof(err));
                        report(jailer_report_from_json(json, &back, &err) < 0 && strstr(err.message, bad[i].substr),
                               name, "%s", err.message);
                }
        }
        {
                _cleanup_free_ char *json = sq("{'jail':'x','exit_code':0,'future_key':[1,2]}");

                report(jailer_report_from_json(json, &back, &err) == 0 && back.pids_peak == -1,
                       "report: unknown keys ignored", "%s", err.message);
        }
}

/* ------------------------------------------------------------ CLI */

struct cli_case {
        const char *name;
        const char *argv[24]; /* "@good" and "@bad" stand for config files */
        const char *field;    /* NULL: must succeed */
        const char *substr;
        bool (*check)(const jailer_config *c);
};

#define BASE_FLAGS "--id", "c1", "--exec", "/usr/bin/vmm", "--jail-root", "/var/lib/jails/c1"

static bool chk_basic(const jailer_config *c)
{
        return strcmp(c->id, "c1") == 0 && c->limits.memory_bytes == 512ULL << 20 && c->limits.cpu_quota_us == 100000 &&
               c->n_exec_args == 2 && strcmp(c->exec_args[0], "--kernel") == 0 && c->exec_args[2] == NULL;
}
static bool chk_quota_10000(const jailer_config *c)
{
        return c->limits.cpu_quota_us == 10000 && c->limits.cpu_period_us == 50000;
}
static bool chk_quota_20000(const jailer_config *c)
{
        return c->limits.cpu_quota_us == 20000 && c->limits.cpu_period_us == 100000;
}
static bool chk_binds(const jailer_config *c)
{
        return c->n_binds == 3 && c->binds[0].read_only && !c->binds[1].read_only && c->binds[2].read_only &&
               strcmp(c->binds[1].dest, "/d") == 0;
}
static bool chk_env(const jailer_config *c)
{
        return c->n_env == 2 && strcmp(c->env[0].key, "A") == 0 && strcmp(c->env[0].value, "3") == 0 &&
               strcmp(c->env[1].value, "x=y") == 0;
}
static bool chk_numbers(const jailer_config *c)
{
        return c->uid == 1000 && c->gid == 1001 && c->limits.pids == 100 && c->limits.max_fds == 64 &&
               c->limits.max_procs == 8 && c->limits.max_file_size == 1ULL << 30 && c->limits.timeout_ms == 5000 &&
               c->limits.cpu_quota_us == 5000;
}
static bool chk_ns(const jailer_config *c)
{
        for (size_t i = 0; i < JAILER_NS_COUNT; i++)
                if (c->ns[i] != (i == JAILER_NS_MOUNT))
                        return false;
        return true;
}
static bool chk_misc(const jailer_config *c)
{
        return strcmp(c->workdir, "/w") == 0 && strcmp(c->hostname, "h") == 0 && c->n_devices == 1 &&
               c->cgroup_version == JAILER_CGROUP_V1 && strcmp(c->cgroup_parent, "p/q") == 0 &&
               c->limits.max_file_size == JL_UNSET;
}
static bool chk_file_override(const jailer_config *c)
{
        /* file: id "fromfile", memory 1G, args ["a","b"], max_fds 10; flags: --memory 2G */
        return strcmp(c->id, "fromfile") == 0 && c->limits.memory_bytes == 2ULL << 30 && c->limits.max_fds == 10 &&
               c->n_exec_args == 2 && strcmp(c->exec_args[1], "b") == 0;
}
static bool chk_file_args_replaced(const jailer_config *c)
{
        return c->n_exec_args == 1 && strcmp(c->exec_args[0], "z") == 0 && c->exec_args[1] == NULL;
}
static bool chk_file_args_cleared(const jailer_config *c)
{
        return c->n_exec_args == 0 && c->exec_args[0] == NULL;
}
static bool chk_file_cpu(const jailer_config *c)
{
        /* file period 20000; --cpu 0.5 */
        return c->limits.cpu_quota_us == 10000 && c->limits.cpu_period_us == 20000;
}
static bool chk_args_dashes(const jailer_config *c)
{
        return c->n_exec_args == 3 && strcmp(c->exec_args[0], "--memory") == 0 && strcmp(c->exec_args[2], "--") == 0;
}

static const struct cli_case cli_cases[] = {
        { "basic", { BASE_FLAGS, "--memory", "512M", "--cpu", "1.0", "--", "--kernel", "/k" }, NULL, NULL, chk_basic },
        { "--cpu before --cpu-period", { BASE_FLAGS, "--cpu", "0.2", "--cpu-period", "50000" }, NULL, NULL,
          chk_quota_10000 },
        { "--cpu after --cpu-period", { BASE_FLAGS, "--cpu-period=50000", "--cpu=0.2" }, NULL, NULL, chk_quota_10000 },
        { "--cpu 0.2 is 20% of one CPU", { BASE_FLAGS, "--cpu", "0.2" }, NULL, NULL, chk_quota_20000 },
        { "--cpu .2", { BASE_FLAGS, "--cpu", ".2" }, NULL, NULL, chk_quota_20000 },
        { "binds", { BASE_FLAGS, "--bind", "/a:/b", "--bind", "/c:/d:rw", "--bind=/e:/f:ro" }, NULL, NULL, chk_binds },
        { "env", { BASE_FLAGS, "--env", "A=1", "--env", "B=x=y", "--env", "A=3" }, NULL, NULL, chk_env },
        { "numbers", { BASE_FLAGS, "--uid", "1000", "--gid", "1001", "--pids", "100", "--max-fds", "64", "--max-procs",
                       "8", "--max-file-size", "1G", "--timeout", "5000", "--cpu-quota", "5000" },
          NULL, NULL, chk_numbers },
        { "namespaces off", { BASE_FLAGS, "--no-user-ns", "--no-pid-ns", "--no-net-ns", "--no-uts-ns", "--no-ipc-ns",
                              "--no-cgroup-ns" },
          NULL, NULL, chk_ns },
        { "misc flags", { BASE_FLAGS, "--workdir", "/w", "--hostname", "h", "--device", "/dev/net/tun",
                          "--cgroup-version", "v1", "--cgroup-parent", "p/q", "--max-file-size", "1G",
                          "--max-file-size", "unlimited" },
          NULL, NULL, chk_misc },
        { "args after -- are not flags", { BASE_FLAGS, "--", "--memory", "x", "--" }, NULL, NULL, chk_args_dashes },
        { "--config then override (flag first)", { "--memory", "2G", "--config", "@good" }, NULL, NULL,
          chk_file_override },
        { "--config= form", { "--config=@good", "--memory=2G" }, NULL, NULL, chk_file_override },
        { "--config args replaced by --", { "--config", "@good", "--", "z" }, NULL, NULL, chk_file_args_replaced },
        { "--config args cleared by bare --", { "--config", "@good", "--" }, NULL, NULL, chk_file_args_cleared },
        { "--cpu uses the file's period", { "--cpu", "0.5", "--config", "@good" }, NULL, NULL, chk_file_cpu },
        /* errors */
        { "--memory 12Q", { BASE_FLAGS, "--memory", "12Q" }, "--memory",
          "--memory: \"12Q\" is not a size (use e.g. 512M, 1G)", NULL },
        { "--memory overflow", { BASE_FLAGS, "--memory", "99999999999999999999K" }, "--memory",
          "\"99999999999999999999K\" is too large", NULL },
        { "--memory negative", { BASE_FLAGS, "--memory", "-1" }, "--memory", "\"-1\" is not a size", NULL },
        { "--memory missing value", { BASE_FLAGS, "--memory" }, "--memory", "--memory: missing value", NULL },
        { "--memory followed by --", { BASE_FLAGS, "--memory", "--", "x" }, "--memory", "missing value", NULL },
        { "--max-file-size junk", { BASE_FLAGS, "--max-file-size", "lots" }, "--max-file-size", "is not a size", NULL },
        { "unknown flag", { BASE_FLAGS, "--memroy", "1G" }, "--memroy", "--memroy: unknown option", NULL },
        { "unknown flag with =", { "--frob=1" }, "--frob", "unknown option", NULL },
        { "single dash", { "-m", "1G" }, "-m", "-m: unknown option", NULL },
        { "stray argument", { BASE_FLAGS, "vmm-arg" }, "", "unexpected argument \"vmm-arg\"", NULL },
        { "value on a switch", { BASE_FLAGS, "--no-net-ns=yes" }, "--no-net-ns", "takes no value", NULL },
        { "--uid abc", { BASE_FLAGS, "--uid", "abc" }, "--uid", "\"abc\" is not a non-negative decimal number", NULL },
        { "--uid -1", { BASE_FLAGS, "--uid", "-1" }, "--uid", "\"-1\" is not a non-negative", NULL },
        { "--uid beyond uid_t", { BASE_FLAGS, "--uid", "4294967296" }, "--uid", "too large", NULL },
        { "--gid 1e3", { BASE_FLAGS, "--gid", "1e3" }, "--gid", "\"1e3\" is not", NULL },
        { "--pids 10x", { BASE_FLAGS, "--pids", "10x" }, "--pids", "\"10x\"", NULL },
        { "--timeout overflow", { BASE_FLAGS, "--timeout", "99999999999999999999" }, "--timeout", "too large", NULL },
        { "--cpu abc", { BASE_FLAGS, "--cpu", "abc" }, "--cpu", "\"abc\" is not a number of CPUs", NULL },
        { "--cpu 0", { BASE_FLAGS, "--cpu", "0" }, "--cpu", "\"0\" must be more than 0", NULL },
        { "--cpu -1", { BASE_FLAGS, "--cpu", "-1" }, "--cpu", "is not a number of CPUs", NULL },
        { "--cpu 1e3", { BASE_FLAGS, "--cpu", "1e3" }, "--cpu", "is not a number of CPUs", NULL },
        { "--cpu 1.2.3", { BASE_FLAGS, "--cpu", "1.2.3" }, "--cpu", "is not a number", NULL },
        { "--cpu .", { BASE_FLAGS, "--cpu", "." }, "--cpu", "is not a number", NULL },
        { "--cpu 2000", { BASE_FLAGS, "--cpu", "2000" }, "--cpu", "more than 1024 CPUs", NULL },
        { "--cpu with --cpu-quota", { BASE_FLAGS, "--cpu", "1", "--cpu-quota", "5000" }, "--cpu",
          "cannot be combined with --cpu-quota", NULL },
        { "--bind one path", { BASE_FLAGS, "--bind", "/a" }, "--bind", "\"/a\" is not SRC:DEST[:ro|:rw]", NULL },
        { "--bind bad mode", { BASE_FLAGS, "--bind", "/a:/b:rx" }, "--bind", "is not SRC:DEST", NULL },
        { "--bind four parts", { BASE_FLAGS, "--bind", "/a:/b:ro:x" }, "--bind", "is not SRC:DEST", NULL },
        { "--bind empty source", { BASE_FLAGS, "--bind", ":/b" }, "--bind", "is not SRC:DEST", NULL },
        { "--env without =", { BASE_FLAGS, "--env", "A" }, "--env", "\"A\" is not NAME=VALUE", NULL },
        { "--env empty name", { BASE_FLAGS, "--env", "=x" }, "--env", "is not NAME=VALUE", NULL },
        { "--cgroup-version v3", { BASE_FLAGS, "--cgroup-version", "v3" }, "--cgroup-version",
          "\"v3\" is not one of auto, v1, v2", NULL },
        { "--config twice", { "--config", "@good", "--config", "@good" }, "--config", "given twice", NULL },
        { "--config missing file", { "--config", "@missing" }, "", "No such file or directory", NULL },
        { "--config bad key", { "--config", "@bad" }, "limits.memry_bytes", "limits.memry_bytes: unknown key", NULL },
        { "syntax error before file load", { "--config", "@bad", "--nope" }, "--nope", "unknown option", NULL },
};

static char *good_file, *bad_file, *missing_file;

static int extra_fn(void *userdata, const char *name, const char *value, jailer_error *err)
{
        char *log = userdata;
        size_t n = strlen(log);

        if (strcmp(name, "fail") == 0)
                return jl_error(err, JAILER_STEP_CONFIG, 0, "--fail", "asked to fail");
        snprintf(log + n, 128 - n, "%s=%s;", name, value ?: "(none)");
        return 0;
}

static void test_cli(void)
{
        good_file = write_tmp("cli-good.json", "{\"id\":\"fromfile\",\"exec_path\":\"/bin/x\",\"jail_root\":\"/j\","
                                               "\"exec_args\":[\"a\",\"b\"],\"limits\":{\"memory_bytes\":1073741824,"
                                               "\"max_fds\":10,\"cpu_period_us\":20000}}");
        bad_file = write_tmp("cli-bad.json", "{\"id\":\"x\",\"limits\":{\"memry_bytes\":1}}");
        if (asprintf(&missing_file, "%s/nope.json", tmpdir) < 0)
                abort();

        for (size_t i = 0; i < ELEMENTSOF(cli_cases); i++) {
                const struct cli_case *t = &cli_cases[i];
                char *argv[32] = { "jailer" };
                char *owned[32] = { 0 };
                int argc = 1;
                jailer_config *c = NULL;
                jailer_error err = { 0 };
                char name[128];
                int r;

                for (size_t k = 0; t->argv[k]; k++) {
                        const char *a = t->argv[k];
                        const char *at = strchr(a, '@');

                        if (at) {
                                const char *file = strcmp(at, "@good") == 0 ? good_file :
                                                   strcmp(at, "@bad") == 0  ? bad_file :
                                                                              missing_file;

                                if (asprintf(&owned[k], "%.*s%s", (int) (at - a), a, file) < 0)
                                        abort();
                                argv[argc++] = owned[k];
                        } else
                                argv[argc++] = (char *) a;
                }
                argv[argc] = NULL;

                snprintf(name, sizeof(name), "cli: %s", t->name);
                r = jl_cli_parse(argc, argv, NULL, NULL, NULL, &c, &err);
                if (!t->field)
                        report(r == 0 && (!t->check || t->check(c)), name, "r=%d %s", r, err.message);
                else
                        report(r < 0 && err.step == JAILER_STEP_CONFIG && strcmp(err.field, t->field) == 0 &&
                                       strstr(err.message, t->substr),
                               name, "r=%d field \"%s\" message \"%s\"", r, err.field, err.message);
                jailer_config_free(c);
                for (size_t k = 0; k < ELEMENTSOF(owned); k++)
                        free(owned[k]);
        }

        /* Flags the front end handles itself, in order, with values. */
        {
                static const struct jl_cli_flag extra[] = { { "report", true }, { "verbose", false }, { "fail", false },
                                                            { NULL, false } };
                char *argv[] = { "jailer", "--report", "-", BASE_FLAGS, "--verbose", "--report=/tmp/r", NULL };
                char *argv_fail[] = { "jailer", BASE_FLAGS, "--fail", NULL };
                char *argv_noval[] = { "jailer", "--verbose=1", NULL };
                char log[128] = "";
                jailer_config *c = NULL;
                jailer_error err = { 0 };

                report(jl_cli_parse((int) ELEMENTSOF(argv) - 1, argv, extra, extra_fn, log, &c, &err) == 0 &&
                               strcmp(log, "report=-;verbose=(none);report=/tmp/r;") == 0,
                       "cli: extra flags passed through in order", "%s / %s", log, err.message);
                jailer_config_free(c);
                c = NULL;
                report(jl_cli_parse((int) ELEMENTSOF(argv_fail) - 1, argv_fail, extra, extra_fn, log, &c, &err) < 0 &&
                               strcmp(err.message, "--fail: asked to fail") == 0 && !c,
                       "cli: extra flag callback stops parsing", "%s", err.message);
                report(jl_cli_parse((int) ELEMENTSOF(argv_noval) - 1, argv_noval, extra, extra_fn, log, &c, &err) < 0 &&
                               strstr(err.message, "--verbose: takes no value"),
                       "cli: extra switch with a value", "%s", err.message);
        }

        /* CLI-built configs go through the same validator. */
        {
                char *argv[] = { "jailer", BASE_FLAGS, "--memory", "12", NULL };
                jailer_config *c = NULL;
                jailer_error err = { 0 };

                report(jl_cli_parse((int) ELEMENTSOF(argv) - 1, argv, NULL, NULL, NULL, &c, &err) == 0 &&
                               jailer_config_validate(c, &err) < 0 &&
                               strcmp(err.message, "limits.memory_bytes: 12 is below the 1 MiB minimum") == 0,
                       "cli: --memory 12 refused by validate", "%s", err.message);
                jailer_config_free(c);
        }
        {
                char *argv[] = { "jailer", BASE_FLAGS, "--bind", "/a:/proc/x", NULL };
                jailer_config *c = NULL;
                jailer_error err = { 0 };

                report(jl_cli_parse((int) ELEMENTSOF(argv) - 1, argv, NULL, NULL, NULL, &c, &err) == 0 &&
                               jailer_config_validate(c, &err) < 0 && strcmp(err.field, "bind_mounts[0].dest") == 0,
                       "cli: --bind into /proc refused by validate", "%s", err.message);
                jailer_config_free(c);
        }
        report(strstr(jl_cli_usage(), "--bind SRC:DEST[:ro|:rw]") && strstr(jl_cli_usage(), "--cgroup-parent"),
               "cli: usage text", "missing flags");

        free(good_file);
        free(bad_file);
        free(missing_file);
}

/* ------------------------------------------------------------ main */

static void remove_tmpdir(void)
{
        static const char *const names[] = { "good.json", "bad.json", "link.json", "fifo", "big.json",
                                             "cli-good.json", "cli-bad.json" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[PATH_MAX];

                snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
                unlink(path);
        }
        rmdir(tmpdir);
}

int main(void)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }

        test_bad_configs();
        test_good_configs();
        test_json_values();
        test_defaults();
        test_setters();
        test_fd_forms();
        test_counts();
        test_json_counts();
        test_sizes();
        test_u64();
        test_signals();
        test_misc();
        test_errors();
        test_files();
        test_config_roundtrip();
        test_report();
        test_cli();

        remove_tmpdir();
        return done();
}

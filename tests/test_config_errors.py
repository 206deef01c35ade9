# SPDX-License-Identifier: MIT
"""Every config error path of the `jailer` CLI, through a config file and
through flags: jailer must refuse with exit status 125 and exactly one line on
stderr, `jailer: config: ...`, naming the field and the value at fault, and
must leave nothing behind: no jail root directory, no new mount in the host's
mount table, no cgroup named after the jail in any hierarchy.

Run as root from the repository root:  /usr/bin/pytest-3 tests/test_config_errors.py
The jailer binary is $JAILER_BUILD/client/jailer (JAILER_BUILD defaults to
"build", relative to the repository root unless absolute).
"""
import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_build = Path(os.environ.get("JAILER_BUILD", "build"))
BUILD = _build if _build.is_absolute() else REPO / _build
JAILER = BUILD / "client" / "jailer"

EXIT_JAILER = 125
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Never the default parent: if a refusal wrongly went ahead, its cgroup lands
# here and is removed at the end of the module.
CGROUP_PARENT = f"jailer-cfgtest-{os.getpid()}"
EXEC = "/bin/true"

_ids = itertools.count(1)


def unique_id():
    return f"cfg{os.getpid()}-{next(_ids)}"


# ------------------------------------------------------------------ host state

def mount_lines():
    with open("/proc/self/mountinfo") as f:
        return set(f.read().splitlines())


def cgroups_named(name):
    """Every directory called name under /sys/fs/cgroup, in any hierarchy."""
    hits = []
    for dirpath, dirnames, _ in os.walk(CGROUP_ROOT):
        hits += [os.path.join(dirpath, d) for d in dirnames if d == name]
    return hits


def remove_parent_cgroups():
    """Remove our (empty) parent cgroups from every hierarchy, deepest first."""
    for top in CGROUP_ROOT.glob(f"*/{CGROUP_PARENT}"):
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


@pytest.fixture(scope="module", autouse=True)
def _environment():
    if os.geteuid() != 0:
        pytest.skip("the config error tests run jailer as root (run: sudo /usr/bin/pytest-3 tests/)")
    if not os.access(JAILER, os.X_OK):
        pytest.fail(f"not built: {JAILER} (meson setup {BUILD.name} && ninja -C {BUILD.name}, "
                    f"or set JAILER_BUILD)", pytrace=False)
    yield
    remove_parent_cgroups()


# ------------------------------------------------------------------ running

def run_refused(argv, jail_id, jail_root, field, value):
    """Run jailer, expect a config refusal naming field and value, and check
    that nothing is left behind."""
    assert not os.path.lexists(jail_root)
    assert not cgroups_named(jail_id)
    mounts_before = mount_lines()

    proc = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, errors="replace", timeout=30)

    new_mounts = mount_lines() - mounts_before
    left_cgroups = cgroups_named(jail_id)
    root_left = os.path.lexists(jail_root)
    why = f"argv={argv}\nrc={proc.returncode}\nstdout={proc.stdout!r}\nstderr={proc.stderr!r}"

    assert proc.returncode == EXIT_JAILER, why
    assert proc.stderr.endswith("\n") and proc.stderr.count("\n") == 1, \
        f"stderr must be exactly one line\n{why}"
    line = proc.stderr.rstrip("\n")
    assert line.startswith("jailer: config: "), why
    if field:
        assert field in line, f"field {field!r} not named\n{why}"
    assert value in line, f"value {value!r} not named\n{why}"
    assert not root_left, f"jail root {jail_root} was created\n{why}"
    assert not new_mounts, f"new mounts: {sorted(new_mounts)}\n{why}"
    assert not left_cgroups, f"cgroups left: {left_cgroups}\n{why}"
    return line


# ------------------------------------------------------------------ config files

def base_config(jail_id, jail_root):
    return {"id": jail_id, "exec_path": EXEC, "jail_root": str(jail_root),
            "cgroup_parent": CGROUP_PARENT}


def merge(base, patch):
    """Apply patch to base: nested dicts merge, None as a value deletes the key."""
    out = dict(base)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


# (name, patch to the base config, expected field, expected value)
FILE_CASES = [
    ("id missing", {"id": None}, "id", "required"),
    ("id charset", {"id": "bad id!"}, "id", "bad id!"),
    ("id too long", {"id": "x" * 65}, "id", "x" * 65),
    ("id wrong type", {"id": 42}, "id", "42"),
    ("exec_path relative", {"exec_path": "bin/true"}, "exec_path", "bin/true"),
    ("exec_path dotdot", {"exec_path": "/usr/../bin/true"}, "exec_path", "/usr/../bin/true"),
    ("jail_root slash", {"jail_root": "/"}, "jail_root", '"/"'),
    ("jail_root relative", {"jail_root": "jails/x"}, "jail_root", "jails/x"),
    ("uid root", {"uid": 0}, "uid", "0"),
    ("gid root", {"gid": 0}, "gid", "0"),
    ("uid string", {"uid": "abc"}, "uid", '"abc"'),
    ("uid negative", {"uid": -1}, "uid", "-1"),
    ("uid float", {"uid": 1000.0}, "uid", "1000.0"),
    ("uid beyond uid_t", {"uid": 4294967296}, "uid", "4294967296"),
    ("memory below 1 MiB", {"limits": {"memory_bytes": 12}}, "limits.memory_bytes", "12"),
    ("memory beyond uint64", {"limits": {"memory_bytes": 99999999999999999999}},
     "limits.memory_bytes", "out of range"),
    ("cpu_period too small", {"limits": {"cpu_period_us": 999}}, "limits.cpu_period_us", "999"),
    ("cpu_quota too large", {"limits": {"cpu_quota_us": 1024000001}}, "limits.cpu_quota_us",
     "1024000001"),
    ("max_fds zero", {"limits": {"max_fds": 0}}, "limits.max_fds", "0"),
    ("max_procs too large", {"limits": {"max_procs": 4194305}}, "limits.max_procs", "4194305"),
    ("pids zero", {"limits": {"pids": 0}}, "limits.pids", "0"),
    ("timeout beyond 30 days", {"limits": {"timeout_ms": 2592000001}}, "limits.timeout_ms",
     "2592000001"),
    ("unknown top-level key", {"frob": 1}, "frob", "unknown key"),
    ("unknown limits key", {"limits": {"memry_bytes": 1}}, "limits.memry_bytes", "unknown key"),
    ("unknown namespace", {"namespaces": {"netwrk": False}}, "namespaces.netwrk", "unknown key"),
    ("namespace not a boolean", {"namespaces": {"network": "no"}}, "namespaces.network", '"no"'),
    ("unknown bind key", {"bind_mounts": [{"source": "/tmp", "dest": "/x", "ro": True}]},
     "bind_mounts[0].ro", "unknown key"),
    ("bind dest dotdot", {"bind_mounts": [{"source": "/tmp", "dest": "/a/../etc"}]},
     "bind_mounts[0].dest", "/a/../etc"),
    ("bind dest /proc", {"bind_mounts": [{"source": "/tmp", "dest": "/proc"}]},
     "bind_mounts[0].dest", "/proc"),
    ("bind dest under /dev", {"bind_mounts": [{"source": "/tmp", "dest": "/dev/kvm"}]},
     "bind_mounts[0].dest", "/dev/kvm"),
    ("bind source relative", {"bind_mounts": [{"source": "tmp", "dest": "/x"}]},
     "bind_mounts[0].source", "tmp"),
    ("binds without mount ns", {"namespaces": {"mount": False},
                                "bind_mounts": [{"source": "/tmp", "dest": "/x"}]},
     "bind_mounts", "namespaces.mount"),
    ("workdir relative", {"workdir": "work"}, "workdir", "work"),
    ("env name with =", {"env": [["A=B", "1"]]}, "env[0]", "A=B"),
    ("env not pairs", {"env": {"A": "1"}}, "env", "an object"),
    ("hostname leading dash", {"hostname": "-vm"}, "hostname", "-vm"),
    ("device outside /dev", {"devices": ["/etc/shadow"]}, "devices[0]", "/etc/shadow"),
    ("device always present", {"devices": ["/dev/null"]}, "devices[0]", "/dev/null"),
    ("netns relative", {"netns": "run/netns/x"}, "netns", "run/netns/x"),
    ("netns and a new network namespace", {"netns": "/run/netns/x", "namespaces": {"network": True}},
     "netns", "namespaces.network: true"),
    ("taps in the host's namespace", {"namespaces": {"network": False}, "taps": [{"name": "tap0"}]},
     "taps", "not the host's"),
    ("tap without a name", {"taps": [{"mtu": 1500}]}, "taps[0].name", "is required"),
    ("tap name too long", {"taps": [{"name": "a-very-long-name"}]}, "taps[0].name", "a-very-long-name"),
    ("tap name with a slash", {"taps": [{"name": "tap/0"}]}, "taps[0].name", "tap/0"),
    ("tap name twice", {"taps": [{"name": "tap0"}, {"name": "tap0"}]}, "taps[1].name", "taps[0].name"),
    ("tap mtu too small", {"taps": [{"name": "tap0", "mtu": 10}]}, "taps[0].mtu", "10"),
    ("tap multicast mac", {"taps": [{"name": "tap0", "mac": "01:00:5e:00:00:01"}]}, "taps[0].mac",
     "01:00:5e:00:00:01"),
    ("tap mac junk", {"taps": [{"name": "tap0", "mac": "02:00:00:00:00"}]}, "taps[0].mac", "02:00:00:00:00"),
    ("unknown tap key", {"taps": [{"name": "tap0", "queues": 4}]}, "taps[0].queues", "unknown key"),
    ("cgroup_version unknown", {"cgroup_version": "v3"}, "cgroup_version", "v3"),
    ("cgroup_parent escapes", {"cgroup_parent": "../escape"}, "cgroup_parent", "../escape"),
    ("cgroup_parent absolute", {"cgroup_parent": "/abs"}, "cgroup_parent", "/abs"),
    # pinning
    ("cpus not a string", {"limits": {"cpus": 1}}, "limits.cpus", "1"),
    ("cpus empty", {"limits": {"cpus": ""}}, "limits.cpus", "empty"),
    ("cpus open range", {"limits": {"cpus": "1-"}}, "limits.cpus", '"1-"'),
    ("cpus reversed range", {"limits": {"cpus": "3-1"}}, "limits.cpus", '"3-1"'),
    ("cpus beyond the maximum", {"limits": {"cpus": "0,5000"}}, "limits.cpus", "5000"),
    ("mems junk", {"limits": {"mems": "zero"}}, "limits.mems", '"zero"'),
    ("cpus_exclusive without cpus", {"limits": {"cpus_exclusive": True}}, "limits.cpus_exclusive",
     "limits.cpus"),
    ("cpus_exclusive not a boolean", {"limits": {"cpus_exclusive": "yes"}}, "limits.cpus_exclusive", '"yes"'),
    ("cpus_exclusive without jailerd", {"limits": {"cpus": "0", "cpus_exclusive": True}},
     "limits.cpus_exclusive", "only jailerd"),
    # I/O weight
    ("io_weight zero", {"limits": {"io_weight": 0}}, "limits.io_weight", "0 is below the 1 minimum"),
    ("io_weight above the maximum", {"limits": {"io_weight": 10001}}, "limits.io_weight",
     "10001 is above the 10000 maximum"),
    ("io_weight a string", {"limits": {"io_weight": "500"}}, "limits.io_weight", '"500"'),
    ("io_weight a fraction", {"limits": {"io_weight": 1.5}}, "limits.io_weight", "1.5"),
]


@pytest.mark.parametrize("name,patch,field,value", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_config_file_refused(tmp_path, name, patch, field, value):
    jail_id = unique_id()
    root = tmp_path / "root"
    cfg = merge(base_config(jail_id, root), patch)
    path = tmp_path / "jail.json"
    path.write_text(json.dumps(cfg))
    run_refused([JAILER, "--config", path], jail_id, root, field, value)


# (name, raw file text with {id} and {root} placeholders, expected value)
RAW_CASES = [
    ("invalid JSON", '{{"id": "{id}", "jail_root": "{root}",', "invalid JSON"),
    ("trailing comma", '{{"id": "{id}", "exec_path": "/bin/true", "jail_root": "{root}",}}', "invalid JSON"),
    ("not an object", '["{id}", "{root}"]', "JSON object"),
    ("duplicate key", '{{"id": "{id}", "exec_path": "/bin/true", "jail_root": "{root}", '
                      '"namespaces": {{"network": true, "network": false}}}}', "duplicate key"),
]


@pytest.mark.parametrize("name,text,value", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_config_text_refused(tmp_path, name, text, value):
    jail_id = unique_id()
    root = tmp_path / "root"
    path = tmp_path / "jail.json"
    path.write_text(text.format(id=jail_id, root=root))
    line = run_refused([JAILER, "--config", path], jail_id, root, None, value)
    assert str(path) in line, "a file's syntax error names the file"


def test_config_file_missing(tmp_path):
    jail_id = unique_id()
    path = tmp_path / "missing.json"
    line = run_refused([JAILER, "--config", path, "--id", jail_id, "--exec", EXEC,
                        "--jail-root", tmp_path / "root"], jail_id, tmp_path / "root", None,
                       "No such file or directory")
    assert str(path) in line


def test_config_file_is_a_directory(tmp_path):
    jail_id = unique_id()
    d = tmp_path / "dir.json"
    d.mkdir()
    run_refused([JAILER, "--config", d], jail_id, tmp_path / "root", None, "not a regular file")


def test_config_file_too_large(tmp_path):
    jail_id = unique_id()
    root = tmp_path / "root"
    cfg = base_config(jail_id, root)
    cfg["exec_args"] = ["x" * 1024] * 1100
    path = tmp_path / "big.json"
    path.write_text(json.dumps(cfg))
    run_refused([JAILER, "--config", path], jail_id, root, None, "1 MiB")


def test_flag_overrides_valid_file(tmp_path):
    """A valid file, made invalid by a flag: the flag wins and is judged."""
    jail_id = unique_id()
    root = tmp_path / "root"
    path = tmp_path / "jail.json"
    path.write_text(json.dumps(base_config(jail_id, root)))
    run_refused([JAILER, "--memory", "12", "--config", path], jail_id, root,
                "limits.memory_bytes", "12")


# ------------------------------------------------------------------ flags

# (name, flags appended to a valid command line, expected field, expected value)
FLAG_CASES = [
    ("--memory not a size", ["--memory", "12Q"], "--memory", '"12Q"'),
    ("--memory overflow", ["--memory", "99999999999999999999K"], "--memory",
     "99999999999999999999K"),
    ("--memory below 1 MiB", ["--memory", "12"], "limits.memory_bytes", "12"),
    ("--memory missing value", ["--memory"], "--memory", "missing value"),
    ("--cpu zero", ["--cpu", "0"], "--cpu", '"0"'),
    ("--cpu not a number", ["--cpu", "lots"], "--cpu", '"lots"'),
    ("--cpu with --cpu-quota", ["--cpu", "1", "--cpu-quota", "5000"], "--cpu", "--cpu-quota"),
    ("--cpu-period too small", ["--cpu-period", "10"], "limits.cpu_period_us", "10"),
    ("--uid root", ["--uid", "0"], "uid", "0"),
    ("--uid not a number", ["--uid", "nobody"], "--uid", '"nobody"'),
    ("--gid negative", ["--gid", "-1"], "--gid", '"-1"'),
    ("--pids zero", ["--pids", "0"], "limits.pids", "0"),
    ("--max-fds too large", ["--max-fds", "1048577"], "limits.max_fds", "1048577"),
    ("--max-file-size junk", ["--max-file-size", "big"], "--max-file-size", '"big"'),
    ("--timeout negative", ["--timeout", "-5"], "--timeout", '"-5"'),
    ("--bind into /proc", ["--bind", "/tmp:/proc/sys"], "bind_mounts[0].dest", "/proc/sys"),
    ("--bind one path", ["--bind", "/tmp"], "--bind", '"/tmp"'),
    ("--bind bad mode", ["--bind", "/tmp:/x:rx"], "--bind", "/tmp:/x:rx"),
    ("--bind without mount ns", ["--no-mount-ns", "--bind", "/tmp:/x"], "bind_mounts",
     "namespaces.mount"),
    ("--env without =", ["--env", "NOEQUALS"], "--env", '"NOEQUALS"'),
    ("--hostname underscore", ["--hostname", "bad_host"], "hostname", "bad_host"),
    ("--device /dev/null", ["--device", "/dev/null"], "devices[0]", "/dev/null"),
    ("--device outside /dev", ["--device", "/etc/passwd"], "devices[0]", "/etc/passwd"),
    ("--netns relative", ["--netns", "netns/x"], "netns", "netns/x"),
    ("--tap without a network namespace", ["--no-net-ns", "--tap", "tap0"], "taps", "namespaces.network"),
    ("--tap bad name", ["--tap", "tap 0"], "taps[0].name", "tap 0"),
    ("--cgroup-version v3", ["--cgroup-version", "v3"], "--cgroup-version", '"v3"'),
    # pinning
    ("--cpus empty", ["--cpus", ""], "limits.cpus", "empty"),
    ("--cpus junk", ["--cpus", "1,,2"], "limits.cpus", '"1,,2"'),
    ("--cpus offline", ["--cpus", str(os.sysconf("SC_NPROCESSORS_CONF") + 7)], "limits.cpus",
     f"cpu {os.sysconf('SC_NPROCESSORS_CONF') + 7}"),
    ("--mems missing value", ["--mems"], "--mems", "missing value"),
    ("--cpus-exclusive without jailerd", ["--cpus", "0", "--cpus-exclusive"], "limits.cpus_exclusive",
     "only jailerd"),
    ("--io-weight zero", ["--io-weight", "0"], "limits.io_weight", "0 is below the 1 minimum"),
    ("--io-weight too large", ["--io-weight", "10001"], "limits.io_weight", "10001 is above the 10000 maximum"),
    ("--io-weight junk", ["--io-weight", "heavy"], "--io-weight", '"heavy"'),
    ("--cgroup-parent escapes", ["--cgroup-parent", "a/../../b"], "cgroup_parent", "a/../../b"),
    ("--id charset", ["--id", "no spaces"], "id", "no spaces"),
    ("--exec relative", ["--exec", "true"], "exec_path", '"true"'),
    ("--jail-root slash", ["--jail-root", "/"], "jail_root", '"/"'),
    ("--workdir dotdot", ["--workdir", "/a/.."], "workdir", "/a/.."),
    ("unknown flag", ["--memroy", "1G"], "--memroy", "unknown option"),
    ("stray argument", ["oops"], None, '"oops"'),
    ("switch with a value", ["--no-net-ns=yes"], "--no-net-ns", "takes no value"),
]


@pytest.mark.parametrize("name,flags,field,value", FLAG_CASES, ids=[c[0] for c in FLAG_CASES])
def test_flags_refused(tmp_path, name, flags, field, value):
    jail_id = unique_id()
    root = tmp_path / "root"
    argv = [JAILER, "--id", jail_id, "--exec", EXEC, "--jail-root", root,
            "--cgroup-parent", CGROUP_PARENT, *flags]
    run_refused(argv, jail_id, root, field, value)

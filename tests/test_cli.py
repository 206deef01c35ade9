# SPDX-License-Identifier: MIT
"""The `jailer` command line: exit status passthrough, its own failure
codes, the exit report, and --config equivalent to the flags."""
import json
import re

import pytest

import jailtest
from jailtest import NOBODY, assert_report_shape

FAILURE_LINE = re.compile(r"^jailer: [a-z-]+: \S.*$")


def one_failure_line(stderr):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and FAILURE_LINE.match(lines[0]), stderr
    return lines[0]


def json_values(text):
    """Every JSON value in text, in order (the probe's line, the report...)."""
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


@pytest.mark.parametrize("code", [0, 3, 77, 255])
def test_exit_code_passthrough(jail, code):
    res = jail.run("exit", str(code))
    assert res.rc == code, res
    assert_report_shape(res.report, jail.id)
    assert res.report["exit_code"] == code and res.report["signal"] is None


def test_signal_status_sigterm(jail):
    """128+SIGTERM.  Without a pid namespace: as PID 1 of its own namespace
    the probe could not die of its own SIGTERM (see test_isolation)."""
    res = jail.run("kill", "TERM", flags=["--no-pid-ns"])
    assert res.rc == 128 + 15, res
    assert res.report["signal"] == "SIGTERM" and res.report["exit_code"] is None, res.report


def test_signal_status_fault_as_pid_one(jail):
    res = jail.run("fault", "segv")
    assert res.rc == 128 + 11, res
    assert res.report["signal"] == "SIGSEGV" and res.report["exit_code"] is None, res.report


def test_exec_not_found_is_127(jail, tmp_path):
    res = jail.run("report", exec_path=tmp_path / "no-such-program")
    assert res.rc == 127, res
    assert "no-such-program" in one_failure_line(res.stderr)
    assert not jail.root.exists()


def test_exec_not_executable_is_126(jail, tmp_path):
    f = tmp_path / "not-executable"
    f.write_bytes(jailtest.PROBE.read_bytes())
    f.chmod(0o644)
    res = jail.run("report", exec_path=f)
    assert res.rc == 126, res
    one_failure_line(res.stderr)
    assert not jail.root.exists()


def test_exec_directory_is_126(jail, tmp_path):
    res = jail.run("report", exec_path=tmp_path)
    assert res.rc == 126, res
    one_failure_line(res.stderr)


def test_report_to_file(jail):
    res = jail.run("exit", "5")
    assert res.rc == 5
    assert_report_shape(res.report, jail.id)
    assert res.report["oom_killed"] is False and res.report["timed_out"] is False


def test_report_to_stdout(jail):
    argv = jail.argv(("exit", "4"), report_path="-")
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 4, (out, err)
    values = json_values(out)
    assert len(values) == 2, out
    probe, rep = values
    assert probe["probe"] == "exit"
    assert_report_shape(rep, jail.id)
    assert rep["exit_code"] == 4


def test_report_unwritable_is_a_jailer_failure(jail, tmp_path):
    argv = jail.argv(("exit", "0"), report_path=tmp_path / "no-such-dir" / "report.json")
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 125, (out, err)
    one_failure_line(err)


@pytest.mark.parametrize("flag", ["--uid", "--gid"])
def test_root_ids_refused(jail, flag):
    res = jail.run("report", flags=[flag, "0"])
    assert res.rc == 125, res
    assert flag.lstrip("-") in one_failure_line(res.stderr)
    assert res.json is None
    assert not jail.root.exists()


def test_unknown_flag_refused(jail):
    res = jail.run("report", flags=["--no-such-flag"])
    assert res.rc == 125, res
    assert "--no-such-flag" in res.stderr
    assert not jail.root.exists()


COMPARED = ("uid", "gid", "euid", "egid", "groups", "caps", "no_new_privs", "pid", "sid",
            "hostname", "cwd", "environ", "rlimits", "cgroup")


def comparable(report):
    out = {k: report[k] for k in COMPARED}
    out["interfaces"] = sorted(i["name"] for i in report["interfaces"])
    out["mounts"] = sorted((m["mountpoint"], m["fstype"], m["options"]) for m in report["mounts"])
    out["dev"] = sorted((d["path"], d["type"], d["mode"], d["uid"]) for d in report["dev"])
    return out


def test_config_file_equals_flags(jail, tmp_path, shared_dir):
    rwdir = tmp_path / "rwdir"
    rwdir.mkdir(mode=0o777)
    flags = ["--uid", "1234", "--gid", "4321", "--memory", "128M", "--cpu", "0.5",
             "--max-fds", "200", "--max-procs", "30", "--max-file-size", "2M", "--pids", "40",
             "--bind", f"{shared_dir}:/data", "--bind", f"{rwdir}:/rw:rw",
             "--env", "RUST_BACKTRACE=1", "--env", "MODE=test", "--workdir", "/data",
             "--hostname", "cfg-host", "--no-net-ns"]
    from_flags = jail.probe_report(flags=flags)

    config = {
        "id": jail.id,
        "exec_path": str(jailtest.PROBE),
        "exec_args": ["report"],
        "jail_root": str(jail.root),
        "uid": 1234,
        "gid": 4321,
        "limits": {
            "cpu_quota_us": 50000,
            "cpu_period_us": 100000,
            "memory_bytes": 128 << 20,
            "max_fds": 200,
            "max_procs": 30,
            "max_file_size": 2 << 20,
            "pids": 40,
        },
        "namespaces": {"user": True, "pid": True, "mount": True, "network": False,
                       "uts": True, "ipc": True, "cgroup": True},
        "bind_mounts": [
            {"source": str(shared_dir), "dest": "/data", "read_only": True},
            {"source": str(rwdir), "dest": "/rw", "read_only": False},
        ],
        "workdir": "/data",
        "env": [["RUST_BACKTRACE", "1"], ["MODE", "test"]],
        "hostname": "cfg-host",
        "cgroup_parent": jail.cgroup_parent,
    }
    if jailtest.CGROUP_VERSION:
        config["cgroup_version"] = jailtest.CGROUP_VERSION
    cfg = tmp_path / "jail.json"
    cfg.write_text(json.dumps(config, indent=2))
    res = jail.run(flags=["--config", cfg], defaults=False)
    assert res.rc == 0, res
    assert_report_shape(res.report, jail.id)
    assert comparable(res.json) == comparable(from_flags)
    assert res.json["uid"] == 1234 and res.json["hostname"] == "cfg-host"
    assert res.json["rlimits"]["NOFILE"]["soft"] == 200


def test_flags_override_config(jail, tmp_path):
    config = {"id": jail.id, "exec_path": str(jailtest.PROBE), "exec_args": ["report"],
              "jail_root": str(jail.root), "uid": 1234, "gid": 1234,
              "cgroup_parent": jail.cgroup_parent}
    cfg = tmp_path / "jail.json"
    cfg.write_text(json.dumps(config))
    res = jail.run(flags=["--config", cfg, "--uid", "4321", "--hostname", "over"], defaults=False)
    assert res.rc == 0, res
    assert res.json["uid"] == 4321 and res.json["gid"] == 1234
    assert res.json["hostname"] == "over"


def test_spec_config_defaults(jail, tmp_path):
    """A config with only the required fields gets the spec's defaults."""
    config = {"id": jail.id, "exec_path": str(jailtest.PROBE), "exec_args": ["report"],
              "jail_root": str(jail.root), "cgroup_parent": jail.cgroup_parent}
    cfg = tmp_path / "jail.json"
    cfg.write_text(json.dumps(config))
    res = jail.run(flags=["--config", cfg], defaults=False)
    assert res.rc == 0, res
    r = res.json
    assert (r["uid"], r["gid"]) == (NOBODY, NOBODY)
    assert r["rlimits"]["NOFILE"]["soft"] == 1024 and r["rlimits"]["NPROC"]["soft"] == 64
    assert r["pid"] == 1 and [i["name"] for i in r["interfaces"]] == ["lo"]
    assert r["hostname"] == jail.id and r["cwd"] == "/" and r["environ"] == []

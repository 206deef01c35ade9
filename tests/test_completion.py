# SPDX-License-Identifier: MIT
"""bash completion for jailer and jailerctl (completions/jailer.bash).

The script is sourced by a plain `bash --norc --noprofile -c` (no
bash-completion, no terminal), which checks with `complete -p` that both
commands are registered, sets COMP_WORDS and COMP_CWORD as readline would and
calls the registered function; COMPREPLY is what the user would be offered.
Jail ids come from `jailerctl --json list`: a stub jailerctl that prints a
list in jailerd's format, and (as root) a real jailerd with real jails.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import jailtest
from jailtest import BUILD, REPO, unique_id

SCRIPT = REPO / "completions" / "jailer.bash"
JAILER = BUILD / "client" / "jailer"
JAILERCTL = BUILD / "client" / "jailerctl"
LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def complete(line, path=None, env=None):
    """COMPREPLY for the command line `line`, completed at its end (a
    trailing space starts a new, empty word).  Words are split as by the
    shell, and at "=" as bash does with its default COMP_WORDBREAKS."""
    words = shlex.split(line)
    if line.endswith(" ") or not words:
        words.append("")
    split = []
    for w in words:
        m = re.fullmatch(r"(--[a-z-]+)=(.*)", w)
        split += [m.group(1), "=", m.group(2)] if m else [w]
    words = split
    fn = {"jailer": "_jailer", "jailerctl": "_jailerctl"}[words[0]]
    script = f"""
source {shlex.quote(str(SCRIPT))} || exit 90
complete -p jailer jailerctl >/dev/null || exit 91
complete -p {shlex.quote(words[0])} | grep -q -- '-F {fn} ' || exit 92
COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={shlex.quote(line)}
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
{fn} {shlex.quote(words[0])} "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    e = dict(os.environ)
    if path is not None:
        e["PATH"] = f"{path}:{e.get('PATH', '/usr/bin:/bin')}"
    e.update(env or {})
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, timeout=30, env=e, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"completion of {line!r} failed ({p.returncode}): {p.stderr}"
    assert p.stderr == "", f"completion of {line!r} wrote to stderr: {p.stderr}"
    return [w for w in p.stdout.split("\n") if w]


def help_options(*argv):
    if not os.access(argv[0], os.X_OK):
        pytest.fail(f"not built: {argv[0]} (ninja -C {BUILD.name}, or set JAILER_BUILD)", pytrace=False)
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p
    return set(LONG_OPTION.findall(p.stdout))


@pytest.fixture
def stub_dir():
    """A directory for a stub jailerctl on PATH (removed afterwards)."""
    d = Path(tempfile.mkdtemp(prefix="jailer-completion-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def stub_jailerctl(d, list_result, log=None):
    """A jailerctl that prints list_result for `--json list` (as the real
    one does: jailerd's result object on one line) and fails otherwise."""
    out = d / "list.json"
    out.write_text(json.dumps(list_result, separators=(",", ":")) + "\n")
    stub = d / "jailerctl"
    stub.write_text("#!/bin/sh\n"
                    f"echo \"$@\" >> {shlex.quote(str(log or d / 'argv.log'))}\n"
                    "for a; do last=$a; done\n"
                    f"[ \"$last\" = list ] && exec cat {shlex.quote(str(out))}\n"
                    "echo 'jailerctl: stub: unexpected call' >&2; exit 2\n")
    stub.chmod(0o755)
    return stub


def entry(jail, state, pid, report=None):
    e = {"jail": jail, "pid": pid, "state": state, "started_at": "2026-11-29T18:52:50.104535Z",
         "uid": 65534}
    if state == "running":
        e["usage"] = {"cpu_usage_us": 1, "memory_current_bytes": 4096, "memory_peak_bytes": 4096,
                      "pids_current": 1}
    if report:
        e["report"] = {"jail": jail, "pid": pid, "exit_code": None, "signal": "SIGKILL",
                       "oom_killed": False, "timed_out": False, "seccomp_killed": False,
                       "wall_time_us": 25510, "cpu_usage_us": 1404, "memory_peak_bytes": 425984,
                       "pids_peak": 1}
    return e


LIST = {"jails": [entry("vm-1", "running", 101), entry("done_2", "exited", 102, report=True),
                  entry("vm-3", "running", 103)]}


# --------------------------------------------------------------- jailer

def test_both_commands_registered():
    for cmd, fn in (("jailer", "_jailer"), ("jailerctl", "_jailerctl")):
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                            f"source {shlex.quote(str(SCRIPT))}; complete -p {cmd}"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and f"-F {fn} {cmd}" in p.stdout, p


def test_jailer_flag_prefix():
    assert complete("jailer --mem") == ["--memory", "--mems"]
    assert complete("jailer --id x --no-k") == ["--no-kvm"]


def test_jailer_offers_every_flag_of_its_help():
    offered = set(complete("jailer --"))
    missing = help_options(JAILER, "--help") - offered
    assert not missing, f"jailer --help options not completed: {sorted(missing)}"


def test_jailer_flag_values(tmp_path):
    (tmp_path / "vm.json").write_text("{}")
    (tmp_path / "roots").mkdir()
    assert complete(f"jailer --config {tmp_path}/v") == [f"{tmp_path}/vm.json"]
    assert complete(f"jailer --config={tmp_path}/v") == [f"{tmp_path}/vm.json"]
    assert complete(f"jailer --jail-root {tmp_path}/") == [f"{tmp_path}/roots"]
    assert complete("jailer --cgroup-version ") == ["auto", "v1", "v2"]
    assert complete(f"jailer --bind {tmp_path}/vm") == [f"{tmp_path}/vm.json"]
    assert "default" in complete("jailer --seccomp ")
    # a value that cannot be completed is not offered flags
    assert complete("jailer --memory ") == []


def test_jailer_program_arguments_are_not_flags(tmp_path):
    assert complete("jailer --id x -- --mem") == []
    (tmp_path / "arg.txt").write_text("")
    assert complete(f"jailer --id x -- {tmp_path}/a") == [f"{tmp_path}/arg.txt"]


# --------------------------------------------------------------- jailerctl

def test_jailerctl_commands():
    assert complete("jailerctl k") == ["kill"]
    assert set(complete("jailerctl ")) == {"run", "create", "start", "wait", "kill", "list", "status",
                                          "stats", "events", "logs", "version"}
    assert set(complete("jailerctl logs -")) == {"--follow", "-f", "--json", "--help"}
    assert set(complete("jailerctl stats -")) == {"--follow", "-f", "--interval", "--json", "--help"}
    assert sorted(complete("jailerctl --json --socket /tmp/s sta")) == ["start", "stats", "status"]
    assert complete("jailerctl --soc") == ["--socket"]


def test_jailerctl_offers_every_command_and_flag_of_its_help():
    p = subprocess.run([str(JAILERCTL), "--help"], capture_output=True, text=True, timeout=30)
    commands = set(re.findall(r"^  ([a-z][a-z-]*)\b", p.stdout.split("Commands:")[1].split("\n\n")[0],
                              re.M))
    assert commands >= {"run", "kill", "list"}, p.stdout
    assert set(complete("jailerctl ")) >= commands
    # The options before a command: the "Options:" part of the help (the
    # command list names some of the commands' own, such as kill --all).
    top = set(LONG_OPTION.findall(p.stdout.split("Options:")[1]))
    missing = top - set(complete("jailerctl --"))
    assert not missing, f"jailerctl --help options not completed: {sorted(missing)}"
    assert "--all" in complete("jailerctl kill --")
    # after the command: what its help lists, but the options that only
    # come before a command
    for cmd in sorted(commands):
        wanted = help_options(JAILERCTL, cmd, "--help") - {"--socket", "--version"}
        missing = wanted - set(complete(f"jailerctl {cmd} --"))
        assert not missing, f"jailerctl {cmd} --help options not completed: {sorted(missing)}"
    assert complete("jailerctl run --memo") == ["--memory"]
    assert complete("jailerctl create --std") == ["--stdio"]


def test_jailerctl_jail_ids_from_list(stub_dir):
    stub_jailerctl(stub_dir, LIST)
    # kill: running jails only; wait and status: every jail jailerd lists
    assert complete("jailerctl kill ", path=stub_dir) == ["vm-1", "vm-3"]
    assert complete("jailerctl kill vm-", path=stub_dir) == ["vm-1", "vm-3"]
    assert complete("jailerctl status ", path=stub_dir) == ["vm-1", "done_2", "vm-3"]
    assert complete("jailerctl --json wait d", path=stub_dir) == ["done_2"]
    # stats: the id, also after --interval and its value (which is no id)
    assert complete("jailerctl stats -f --interval 500 vm-", path=stub_dir) == ["vm-1", "vm-3"]
    assert complete("jailerctl stats --interval ", path=stub_dir) == []
    assert complete("jailerctl stats vm-1 ", path=stub_dir) == []
    # the second argument of kill is a signal
    assert "SIGKILL" in complete("jailerctl kill vm-1 ", path=stub_dir)
    assert complete("jailerctl kill vm-1 SIGK", path=stub_dir) == ["SIGKILL"]


def test_jailerctl_ids_ask_the_socket_given(stub_dir):
    log = stub_dir / "argv.log"
    stub_jailerctl(stub_dir, LIST, log)
    assert complete("jailerctl --socket /tmp/other.sock kill ", path=stub_dir) == ["vm-1", "vm-3"]
    assert complete("jailerctl --socket=/tmp/eq.sock status v", path=stub_dir) == ["vm-1", "vm-3"]
    calls = log.read_text().splitlines()
    assert calls == ["--json --socket /tmp/other.sock list", "--json --socket /tmp/eq.sock list"], calls


def test_jailerctl_ids_quietly_nothing_without_jailerd(stub_dir):
    """The real jailerctl, with no daemon behind its socket: no ids, no
    error message in the middle of the command line."""
    if not os.access(JAILERCTL, os.X_OK):
        pytest.fail(f"not built: {JAILERCTL}", pytrace=False)
    (stub_dir / "jailerctl").symlink_to(JAILERCTL)
    env = {"JAILER_SOCKET": str(stub_dir / "no-such.sock")}
    assert complete("jailerctl kill ", path=stub_dir, env=env) == []
    assert complete("jailerctl status x", path=stub_dir, env=env) == []


def test_jailerctl_ids_of_a_real_jailerd(stub_dir):
    """As root: a private jailerd with a running and an exited jail; the
    real jailerctl lists them for the completion."""
    import daemonlib as dl
    d = dl.make_daemon("completion")
    try:
        running, exited = unique_id("compl-run"), unique_id("compl-done")
        d.call("create", dl.jail_config(running, "sleep", 30))
        dl.create_and_wait(d, exited, "exit", 0)
        (stub_dir / "jailerctl").symlink_to(JAILERCTL)
        line = f"jailerctl --socket {d.socket} "
        killable = complete(line + "kill ", path=stub_dir)
        assert running in killable and exited not in killable, killable
        seen = complete(line + "status ", path=stub_dir)
        assert running in seen and exited in seen, seen
        d.call("kill", {"jail": running, "signal": "SIGKILL"})
        dl.wait_report(d, running)
    finally:
        d.cleanup()

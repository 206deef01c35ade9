# SPDX-License-Identifier: MIT
"""Every example of the documentation is run, so that the docs cannot drift
from the code:

- every policy in docs/policy.md, units/jailerd.json.example and
  jailerd.json(5) passes `jailerd --check-config` (the user and group
  names it uses are made for the test under unique names);
- docs/policy.md's CI-fleet example is set up and used for real: its setup
  script and its policy are read from the markdown (not copied here), run
  with unique account names and every host path moved under a temporary
  directory, against a private jailerd; then each account does what the
  text says it may, and is refused what it may not;
- the README's jail config and exit report are the format `jailer` really
  reads and writes, and its `jailer` command line runs.

Other JSON blocks of README.md and docs/*.md must be one of the kinds
known here (policy, jail config, exit report, JSON-RPC message), so a new
example cannot go unchecked.

Run as root from the repository root:
    /usr/bin/pytest-3 tests/test_docs_examples.py      (JAILER_BUILD=build-...)
"""
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

import daemonlib as dl
import jailtest
from jailtest import REPO, unique_id

POLICY_MD = REPO / "docs" / "policy.md"
EXAMPLE_POLICY = REPO / "units" / "jailerd.json.example"
POLICY_MAN = REPO / "man" / "jailerd.json.5.scd"
README = REPO / "README.md"
DOC_FILES = [README, *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

# Host paths the CI-fleet example creates or names for its runners: the
# test moves each under its own temporary directory.
CI_PATHS = ("/srv/vm-images", "/var/lib/ci", "/var/lib/jailer/roots", "/usr/local/bin/firecracker")
# Absolute paths its setup may name as they are (read, never created).
CI_HOST_PATHS = ("/usr/sbin/nologin", "/dev/null")
# Commands its setup may run (as root, on the host).
SETUP_COMMANDS = {"groupadd", "useradd", "usermod", "id", "install", "for", "do", "done"}


def blocks(text, lang=None):
    """The fenced blocks of markdown (or scdoc) text: (lang, body, line)."""
    out = []
    for m in FENCE.finditer(text):
        if lang is None or m.group(1) == lang:
            out.append((m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1))
    return out


def json_kind(obj):
    if not isinstance(obj, dict):
        return None
    if "jsonrpc" in obj:
        return "message"
    if {"id", "exec_path"} <= obj.keys():
        return "jail-config"
    if {"jail", "exit_code"} <= obj.keys():
        return "report"
    return "policy"


def json_examples():
    """Every JSON example of README.md and docs/*.md, and the policies of the
    man page and the shipped example: (label, kind, text)."""
    out = []
    for path in DOC_FILES:
        for _, body, line in blocks(path.read_text(), "json"):
            label = f"{path.relative_to(REPO)}:{line}"
            try:
                obj = json.loads(body)
            except ValueError as e:
                raise AssertionError(f"{label}: not JSON: {e}") from None
            out.append((label, json_kind(obj), body))
    for _, body, line in blocks(POLICY_MAN.read_text()):
        if body.lstrip().startswith("{"):
            out.append((f"{POLICY_MAN.relative_to(REPO)}:{line}", "policy", body))
    out.append((str(EXAMPLE_POLICY.relative_to(REPO)), "policy", EXAMPLE_POLICY.read_text()))
    return out


EXAMPLES = json_examples()


def _sh(*argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True, **kw)


def _exists(db, name):
    try:
        db(name)
        return True
    except KeyError:
        return False


class Names:
    """The test's own users and groups: each name of the docs gets a unique
    one; delete() removes every one of them that exists."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.map = {}

    def __getitem__(self, doc_name):
        if doc_name not in self.map:
            self.map[doc_name] = f"jd{self.tag}-{doc_name}"[:32]
        return self.map[doc_name]

    def add_group(self, doc_name):
        _sh("groupadd", "--system", self[doc_name])
        return self[doc_name]

    def add_user(self, doc_name, groups=()):
        argv = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"]
        if groups:
            argv += ["--groups", ",".join(groups)]
        _sh(*argv, self[doc_name])
        return self[doc_name]

    def ids(self, doc_name):
        pw = pwd.getpwnam(self[doc_name])
        return pw.pw_uid, pw.pw_gid

    def delete(self):
        for name in self.map.values():
            if _exists(pwd.getpwnam, name):
                subprocess.run(["userdel", name], capture_output=True)
        for name in self.map.values():
            if _exists(grp.getgrnam, name):
                subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture
def names():
    dl.daemon_ready()
    for tool in ("useradd", "groupadd", "usermod", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    n = Names()
    try:
        yield n
    finally:
        n.delete()


@pytest.fixture
def top():
    """A directory every test user can reach (0755 under /tmp)."""
    d = Path(tempfile.mkdtemp(prefix="docs-examples-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def check_config(policy_text, where):
    """jailerd --check-config of policy_text, from a root-owned 0644 file."""
    path = where / "jailerd.json"
    path.write_text(policy_text)
    path.chmod(0o644)
    return subprocess.run([str(dl.JAILERD), "--config", str(path), "--check-config"],
                          capture_output=True, text=True, timeout=20)


# --------------------------------------------------------------- every JSON block

def test_every_json_example_is_of_a_known_kind():
    assert EXAMPLES, "no JSON example found: has the markdown changed?"
    unknown = [label for label, kind, _ in EXAMPLES if kind is None]
    assert not unknown, f"JSON examples this test does not know how to check: {unknown}"
    # the examples this file is about are there
    labels = {label.split(":")[0] for label, kind, _ in EXAMPLES if kind == "policy"}
    assert {"docs/policy.md", "units/jailerd.json.example", "man/jailerd.json.5.scd"} <= labels, labels


@pytest.mark.parametrize("label,text", [(l, t) for l, k, t in EXAMPLES if k == "policy"],
                         ids=[l for l, k, _ in EXAMPLES if k == "policy"])
def test_policy_example_passes_check_config(names, top, label, text):
    """The users and groups a rule names are looked up when the policy is
    loaded: they are made here under unique names and the rule renamed."""
    policy = json.loads(text)
    for rule in policy.get("clients", []):
        if "group" in rule:
            if not _exists(grp.getgrnam, names[rule["group"]]):
                names.add_group(rule["group"])
            rule["group"] = names[rule["group"]]
        if "user" in rule:
            if not _exists(pwd.getpwnam, names[rule["user"]]):
                names.add_user(rule["user"])
            rule["user"] = names[rule["user"]]
    p = check_config(json.dumps(policy, indent=2), top)
    assert p.returncode == 0 and ": ok:" in p.stdout, f"{label}:\n{p.stdout}{p.stderr}"


# --------------------------------------------------------------- the CI fleet

def ci_fleet_blocks():
    """docs/policy.md's CI-fleet example: its setup script, its policy and
    the runner's command, as written."""
    text = POLICY_MD.read_text()
    m = re.search(r"^### A CI fleet.*?(?=^##)", text, re.S | re.M)
    assert m, "docs/policy.md has no section '### A CI fleet'"
    sh = [b for _, b, _ in blocks(m.group(0), "sh")]
    js = [b for _, b, _ in blocks(m.group(0), "json")]
    assert len(sh) == 2 and len(js) == 1, "the CI fleet example: a setup script, a policy, a runner's command"
    return sh[0], js[0], sh[1]


def account_names(script):
    """Users and groups a shell script names: (users it creates, groups it
    creates, users it only uses, groups it only uses).  `for V in A B; do`
    loops are expanded for "$V"."""
    s = script.replace("\\\n", " ")
    loops = {m.group(1): m.group(2).split() for m in re.finditer(r"\bfor (\w+) in ([^;\n]+);", s)}
    made_users, made_groups, users, groups = set(), set(), set(), set()
    for line in s.splitlines():
        for cmd in re.split(r"\|\||&&|;", line):
            words = [w for w in shlex.split(cmd, comments=True) if not re.match(r"^\d*>", w)]
            if not words or words[0] not in ("groupadd", "useradd", "usermod", "id"):
                continue
            target = words[-1]
            targets = loops.get(target.lstrip("$").strip("{}"), [target]) if target.startswith("$") else [target]
            listed = []
            for i, w in enumerate(words[:-1]):
                if w in ("-G", "--groups", "-aG"):
                    listed += words[i + 1].split(",")
                elif w.startswith("--groups="):
                    listed += w.split("=", 1)[1].split(",")
            groups |= set(listed)
            if words[0] == "groupadd":
                made_groups |= set(targets)
            elif words[0] == "useradd":
                made_users |= set(targets)
            else:
                users |= set(targets)
    return made_users, made_groups, users - made_users, groups - made_groups


def substitute(text, names, paths):
    """Replace, in one pass, every path of paths (a prefix) and every whole
    account name of names."""
    alts = [re.escape(p) for p in sorted(paths, key=len, reverse=True)]
    alts += [rf"(?<![\w-]){re.escape(n)}(?![\w-])" for n in sorted(names, key=len, reverse=True)]
    return re.sub("|".join(alts), lambda m: paths.get(m.group(0)) or names[m.group(0)], text)


def assert_only_ours(script, names, top):
    """The substituted script touches no account and no path but the test's:
    this runs as root on the host.  It may run only the commands whose
    arguments account_names() understands, and install."""
    s = script.replace("\\\n", " ")
    assert "$(" not in s and "`" not in s, "the setup has a command substitution this test cannot check"
    for line in s.splitlines():
        for cmd in re.split(r"\|\|?|&&|;", line):
            words = shlex.split(cmd, comments=True)
            assert not words or words[0] in SETUP_COMMANDS, \
                f"the setup runs {words[0]}, which this test does not know to be safe: {cmd!r}"
    made_users, made_groups, users, groups = account_names(script)
    theirs = (made_users | made_groups | users | groups) - set(names.map.values())
    assert not theirs, f"the setup names accounts the test did not rename: {sorted(theirs)}"
    for path in re.findall(r"(?<![\w$.-])/[\w./-]*", script):
        assert path.startswith(str(top) + "/") or path in CI_HOST_PATHS, \
            f"the setup names {path}, which the test did not move under {top}"


def ctl(d, names, who, *args, timeout=dl.CALL_TIMEOUT):
    return dl.run_ctl(d, *args, user=names.ids(who), timeout=timeout)


def listed(d, names, who):
    p = ctl(d, names, who, "--json", "list")
    assert p.returncode == 0, p
    return {e["jail"] for e in json.loads(p.stdout)["jails"]}


def refused(p, rule):
    assert p.returncode != 0 and "permission_denied" in p.stderr and f"(policy rule {rule})" in p.stderr, p


def test_ci_fleet_example(names, top):
    setup, policy_text, runner_cmd = ci_fleet_blocks()
    made_users, made_groups, used_users, used_groups = account_names(setup)
    # The roles the text gives; the names come from the example itself.
    runners = sorted(u for u in made_users if u.startswith("ci-runner-"))
    assert len(runners) >= 2, f"the example's runners: {sorted(made_users)}"
    admin = "alice"
    exporter = "prometheus"
    socket_group = "jailer"
    assert admin in used_users and exporter in made_users | used_users and socket_group in used_groups, \
        (made_users, used_users, used_groups)

    # Every name the example uses becomes one of the test's, and every path
    # it names lies under top; /usr/local/bin/firecracker (which the policy's
    # exec_paths and the runner's command name) becomes a copy of the probe.
    for n in made_users | made_groups | used_users | used_groups:
        names[n]                # gives n its unique name
    paths = {p: str(top) + p for p in CI_PATHS}
    script = substitute(setup, names.map, paths)
    policy = substitute(policy_text, names.map, paths)
    assert_only_ours(script, names, top)

    # What the example expects to exist already: the accounts it only
    # modifies (an administrator's) and the jailer group (the package's).
    for g in used_groups:
        names.add_group(g)
    for u in used_users - {exporter}:
        names.add_user(u)
    firecracker = Path(paths["/usr/local/bin/firecracker"])
    firecracker.parent.mkdir(parents=True)
    shutil.copy(jailtest.PROBE, firecracker)
    firecracker.chmod(0o755)

    p = subprocess.run(["sh", "-e", "-c", "umask 022\n" + script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"the setup failed:\n{script}\n{p.stdout}{p.stderr}"
    # a member of jailer that no rule names
    names.add_user("outsider", groups=[names[socket_group]])

    d = dl.Daemon("docs-ci", group=names[socket_group])
    policy_path = d.top / "jailerd.json"
    policy_path.write_text(policy)
    policy_path.chmod(0o644)
    d.extra = ["--config", str(policy_path)]
    d.start()
    jails = []
    try:
        r1, r2 = runners[:2]
        first, last = json.loads(policy)["uid_range"]

        # Each runner creates a jail and sees its own only.
        for who in (r1, r2):
            jid = unique_id(who)
            p = ctl(d, names, who, "create", "--id", jid, "--exec", firecracker, "--", "sleep", "60")
            assert p.returncode == 0, (p, d.log_text())
            jails.append(jid)
        a, b = jails
        assert a in listed(d, names, r1) and b not in listed(d, names, r1)
        assert b in listed(d, names, r2) and a not in listed(d, names, r2)
        refused(ctl(d, names, r1, "kill", b), "clients")

        # The exporter sees both and can neither create nor kill.
        assert {a, b} <= listed(d, names, exporter)
        refused(ctl(d, names, exporter, "kill", a), "clients")
        refused(ctl(d, names, exporter, "create", "--id", unique_id("exp"), "--exec", firecracker,
                    "--", "exit", "0"), "clients")

        # The administrator sees both, kills a runner's, and cannot create.
        assert {a, b} <= listed(d, names, admin)
        refused(ctl(d, names, admin, "create", "--id", unique_id("adm"), "--exec", firecracker,
                    "--", "exit", "0"), "clients")
        p = ctl(d, names, admin, "kill", a, "SIGKILL")
        assert p.returncode == 0, p
        assert dl.wait_report(d, a)["signal"] in ("SIGKILL", 9)

        # A member of jailer without a rule: refused everything.
        for args in (("version",), ("list",),
                     ("create", "--id", unique_id("out"), "--exec", firecracker, "--", "exit", "0")):
            refused(ctl(d, names, "outsider", *args), "clients")

        # The runner's command as written (the VM's arguments become the
        # probe's: it writes into the read-write scratch bind).
        ctl_path = jailtest.for_others(dl.JAILERCTL)

        def runner_runs(command, job):
            cmd = substitute(command, names.map, paths)
            cmd = re.sub(r"^jailerctl\b", f"{ctl_path} --socket {d.socket}", cmd, flags=re.M)
            cmd = re.sub(r"\s--\s[^\n]*$", " -- write /scratch/written-by-the-vm", cmd.rstrip())
            uid, gid = names.ids(r1)
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "USER": names[r1], "CI_JOB_ID": job}
            return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
                                   "sh", "-e", "-c", cmd], env=env, capture_output=True, text=True,
                                  timeout=dl.CALL_TIMEOUT), cmd

        images = Path(paths["/srv/vm-images"])
        (images / "rootfs.ext4").write_bytes(b"\0" * 4096)
        (images / "rootfs.ext4").chmod(0o644)
        job = f"{os.getpid()}-{names.tag}"
        p, cmd = runner_runs(runner_cmd, job)
        assert p.returncode == 0, (cmd, p, d.log_text())
        written = Path(paths["/var/lib/ci"]) / names[r1] / f"job-{job}" / "written-by-the-vm"
        assert written.read_text() == "written by probe\n", p
        assert first <= written.stat().st_uid <= last, written.stat()
        # its jail root was under jail_root_base, and is gone
        roots = Path(paths["/var/lib/jailer/roots"]) / names[r1]
        assert not list(roots.iterdir()), list(roots.iterdir())

        # The refusals the text lists, each with its rule.
        unlisted = jailtest.for_others(jailtest.PROBE)
        assert all(f in runner_cmd for f in ("--memory 2G", "--exec ", "--jail-root ")), runner_cmd
        for variant, rule in ((runner_cmd.replace("--memory 2G", "--memory 16G"), "ceilings.memory_bytes"),
                              (re.sub(r"--exec \S+", f"--exec {unlisted}", runner_cmd), "exec_paths"),
                              (runner_cmd.replace("--memory 2G", "--bind /etc:/host-etc --memory 2G"), "bind_sources"),
                              (runner_cmd.replace("--memory 2G", "--uid 1000 --memory 2G"), "allocate_uid"),
                              (re.sub(r"--jail-root \S+", f"--jail-root {top}/elsewhere", runner_cmd),
                               "jail_root_base")):
            assert f"`{rule}`" in POLICY_MD.read_text(), f"docs/policy.md no longer names {rule}"
            p, cmd = runner_runs(variant, f"{job}-{rule.replace('.', '-')}")
            assert p.returncode == 77 and f"(policy rule {rule})" in p.stderr, (cmd, p)
    finally:
        try:
            for jid in jails:
                try:
                    d.call("kill", {"jail": jid, "signal": "SIGKILL"})
                except dl.RpcError:
                    pass
        finally:
            d.cleanup()


def test_only_watching_example(names, top):
    """docs/policy.md's "Only watching": the monitor, a member of jailer
    to reach the socket, sees a VM user's jail and can neither create nor
    kill; the VM user creates."""
    m = re.search(r"^### Only watching.*?(?=^##)", POLICY_MD.read_text(), re.S | re.M)
    assert m, "docs/policy.md has no section '### Only watching'"
    (_, text, _), = blocks(m.group(0), "json")
    rules = json.loads(text)["clients"]
    # Everybody is in jailer, the socket's group; the VM user also in the
    # group the create rule names, if it names one.
    creators = [r.get("group") for r in rules if "create" in r["rights"]]
    watchers = [r["user"] for r in rules if r["rights"] == ["see_all"]]
    assert len(creators) == 1 and len(watchers) == 1, rules
    vm_groups = [names.add_group("jailer")]
    if creators[0]:
        vm_groups.append(names.add_group(creators[0]))
    names.add_user("vm-user", groups=vm_groups)
    names.add_user(watchers[0], groups=[names["jailer"]])
    d = dl.Daemon("docs-watch", group=names["jailer"])
    policy_path = d.top / "jailerd.json"
    policy_path.write_text(substitute(text, names.map, {}))
    policy_path.chmod(0o644)
    d.extra = ["--config", str(policy_path)]
    d.start()
    jid = unique_id("watched")
    try:
        exe = jailtest.for_others(jailtest.PROBE)
        p = ctl(d, names, "vm-user", "create", "--id", jid, "--exec", exe, "--", "sleep", "60")
        assert p.returncode == 0, (p, d.log_text())
        assert jid in listed(d, names, watchers[0])
        refused(ctl(d, names, watchers[0], "kill", jid), "clients")
        refused(ctl(d, names, watchers[0], "create", "--id", unique_id("w"), "--exec", exe,
                    "--", "exit", "0"), "clients")
    finally:
        try:
            d.call("kill", {"jail": jid, "signal": "SIGKILL"})
        except dl.RpcError:
            pass
        d.cleanup()


# --------------------------------------------------------------- README

README_CONFIGS = [(l, t) for l, k, t in EXAMPLES if k == "jail-config"]
README_REPORTS = [(l, t) for l, k, t in EXAMPLES if k == "report"]


def test_readme_has_a_config_and_a_report():
    assert README_CONFIGS and README_REPORTS, "README.md's config and report examples are gone"


@pytest.mark.parametrize("label,text", README_CONFIGS, ids=[l for l, _ in README_CONFIGS])
def test_jail_config_example_runs(built, top, label, text):
    """The config as written, every key kept; only what names this host
    changes: the program (the probe), the jail root and bind sources (under
    top), the id and cgroup parent (the test's), devices the host lacks.
    The report it writes has exactly the README's report's keys."""
    cfg = json.loads(text)
    cfg["id"] = cfg["hostname"] = unique_id("readme")
    cfg["exec_path"] = str(jailtest.PROBE)
    cfg["exec_args"] = ["report"]
    cfg["jail_root"] = str(top / "root")
    cfg["cgroup_parent"] = jailtest.SESSION_CGROUP_PARENT
    if jailtest.CGROUP_VERSION:
        cfg["cgroup_version"] = jailtest.CGROUP_VERSION
    for i, b in enumerate(cfg.get("bind_mounts", [])):
        src = top / f"bind-{i}"
        src.write_text("a bind source\n")
        b["source"] = str(src)
    cfg["devices"] = [dev for dev in cfg.get("devices", []) if os.path.exists(dev)]
    netns = None
    if "netns" in cfg:
        # The namespace the operator would have made: the test's own.
        netns = f"jd{uuid.uuid4().hex[:8]}"
        _sh("ip", "netns", "add", netns)
        cfg["netns"] = f"/run/netns/{netns}"
    path = top / "config.json"
    path.write_text(json.dumps(cfg))
    report = top / "report.json"
    try:
        rc, out, err, _ = jailtest.run_command([jailtest.JAILER, "--config", path, "--report", report])
    finally:
        if netns:
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)
    assert rc == 0, f"{label}: jailer --config failed ({rc}):\n{err}"
    seen = dl.json_lines(out)[0]
    assert seen["probe"] == "report" and seen["uid"] == cfg["uid"], seen
    real = json.loads(report.read_text())
    for rlabel, rtext in README_REPORTS:
        assert set(json.loads(rtext)) == set(real), f"{rlabel}: the README's report keys are not jailer's:\n{real}"


def test_readme_jailer_command_runs(built, top):
    """The README's `sudo ./build/client/jailer ...` example, with its jail
    root under top and the test's id and cgroup parent."""
    text = README.read_text()
    m = re.search(r"^ {4}sudo \./build/client/jailer .*?(?=\n\n)", text, re.S | re.M)
    assert m, "README.md's jailer example is gone"
    argv = shlex.split(m.group(0).replace("\\\n", " "))[1:]
    argv[0] = str(jailtest.JAILER)
    i = argv.index("--jail-root")
    argv[i + 1] = str(top / "demo")
    argv[argv.index("--id") + 1] = jid = unique_id("readme-demo")
    argv[1:1] = ["--cgroup-parent", jailtest.SESSION_CGROUP_PARENT]
    if jailtest.CGROUP_VERSION:
        argv[1:1] = ["--cgroup-version", jailtest.CGROUP_VERSION]
    rc, out, err, _ = jailtest.run_command(argv)
    assert rc == 0, (argv, out, err)
    assert "uid=65534" in out and "usr" in out.split(), out
    assert json.loads(out.strip().splitlines()[-1])["jail"] == jid, out

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Mutation testing of the security tests: apply each known one-line
security bug (a "mutant", tests/mutants/*.mut) to a private copy of the
tree, rebuild, run the tests named to catch it, and say whether they did.

    sudo tests/mutants/run.py --all                 # the whole list
    sudo tests/mutants/run.py --sample 6            # a sample; the seed is today's date
    sudo tests/mutants/run.py --sample 6 --seed "$(git rev-parse HEAD)"
    sudo tests/mutants/run.py --only mount-kvm-0666 --only caps-no-securebits
    sudo tests/mutants/run.py --only mount-no-proc-masking --test tests/test_escape.py
    tests/mutants/run.py --list

One copy of the tree (tracked and untracked, not ignored files) is made in a
temporary directory under /tmp and built once; each mutant edits one file of
the copy, rebuilds (ninja rebuilds only what changed), runs its tests, and
the file is put back.  Before any mutant, the tests of the chosen mutants run
once on the unchanged copy: a test that fails there proves nothing.

A mutant file has header lines:

    file: common/caps.c              the file it edits
    bug: <one line>                  what the bug is
    test: tests/test_x.py::test_y    a pytest node expected to catch it (repeatable;
                                     a node with parameters may be given without them)
    needs: v2                        only where the jails use cgroup v2 (the VM tier)
    needs: v1                        only where they use cgroup v1 (this host)
    find: "<JSON string>"            text that must occur exactly once in the file ...
    replace: "<JSON string>"         ... and what it becomes (pairs repeat)

Per mutant, one line: caught, survived, no test (the named test file does
not exist here), skipped (with the reason), build failed, does not apply
(its find text is not in the file once), or baseline failed.  The last line
is "mutants: N passed, N failed, N skipped": passed = caught; skipped = no
test or skipped; everything else failed.  Exit status 0 when nothing failed.
"""
import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PYTEST = "/usr/bin/pytest-3"
TEST_TIMEOUT = 900


class Mutant:
    def __init__(self, path):
        self.path = path
        self.name = path.stem
        self.file = None
        self.bug = ""
        self.tests = []
        self.needs = None
        self.edits = []
        pending = None
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"{path}:{n}: not 'key: value': {line!r}")
            key, value = key.strip(), value.strip()
            if key == "file":
                self.file = value
            elif key == "bug":
                self.bug = value
            elif key == "test":
                self.tests.append(value)
            elif key == "needs":
                self.needs = value
            elif key == "find":
                pending = json.loads(value)
            elif key == "replace":
                if pending is None:
                    raise ValueError(f"{path}:{n}: replace without find")
                self.edits.append((pending, json.loads(value)))
                pending = None
            else:
                raise ValueError(f"{path}:{n}: unknown key {key!r}")
        if not self.file or not self.edits or not self.tests or pending is not None:
            raise ValueError(f"{path}: needs file, test and find/replace pairs")

    def test_files(self):
        return sorted({t.split("::")[0] for t in self.tests})

    def apply(self, text):
        """The mutated text, or None when a find text is not there exactly once."""
        for find, replace in self.edits:
            if text.count(find) != 1:
                return None
            text = text.replace(find, replace)
        return text


def load_mutants():
    return [Mutant(p) for p in sorted(HERE.glob("*.mut"))]


def host_cgroup_v2():
    """True when jails here use cgroup v2 (forced, or a complete cgroup2)."""
    forced = os.environ.get("JAILER_TEST_CGROUP_VERSION")
    if forced in ("v1", "v2"):
        return forced == "v2"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ")[0] == "cgroup2":
                try:
                    ctrls = set(Path(left.split(" ")[4], "cgroup.controllers").read_text().split())
                except OSError:
                    continue
                if {"cpu", "memory", "pids"} <= ctrls:
                    return True
    return False


def copy_tree(dest):
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, check=True, capture_output=True).stdout.split(b"\0")
    for rel in filter(None, files):
        rel = rel.decode()
        src = REPO / rel
        if not os.path.lexists(src):
            continue  # deleted in the work tree
        dst = dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


def run(argv, cwd, log, timeout=None, env=None):
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(map(str, argv))}\n")
        f.flush()
        try:
            return subprocess.run([str(a) for a in argv], cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout, env=env).returncode
        except subprocess.TimeoutExpired:
            f.write(f"\n(timed out after {timeout}s)\n")
            return None


def pytest(copy, nodes, log, *, stop_first):
    """(return code or None on timeout, the outcome line, failed node ids)."""
    env = dict(os.environ, JAILER_BUILD=str(copy / "build"), PYTHONDONTWRITEBYTECODE="1")
    argv = [PYTEST, "-p", "no:cacheprovider", "-q", "-rfEs", "--color=no"]
    if stop_first:
        argv.append("-x")
    start = os.path.getsize(log) if os.path.exists(log) else 0
    rc = run(argv + list(nodes), copy, log, timeout=TEST_TIMEOUT, env=env)
    with open(log, errors="replace") as f:
        f.seek(start)
        text = f.read()
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", text, re.M)
    summary = [l for l in text.splitlines() if re.search(r"\b(passed|failed|skipped|error|no tests ran)\b.* in ", l)]
    skips = re.findall(r"^SKIPPED \[\d+\] \S+: (.*)$", text, re.M)
    return rc, (summary[-1].strip("= ") if summary else ""), failed, skips


def choose(mutants, args):
    if args.only:
        wanted = [n for o in args.only for n in o.split(",")]
        by_name = {m.name: m for m in mutants}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            sys.exit(f"mutants: unknown mutant(s) {', '.join(unknown)} (see --list)")
        return [by_name[n] for n in wanted]
    if args.sample:
        seed = args.seed if args.seed is not None else datetime.date.today().isoformat()
        print(f"mutants: a sample of {args.sample} with seed {seed!r}")
        return sorted(random.Random(seed).sample(mutants, min(args.sample, len(mutants))), key=lambda m: m.name)
    return mutants


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--all", action="store_true", help="every mutant")
    g.add_argument("--sample", type=int, metavar="N", help="N mutants chosen with --seed")
    g.add_argument("--only", action="append", metavar="NAME", help="this mutant (repeatable, or comma-separated)")
    g.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--seed", help="the sample's seed (default: today's date, so the sample rotates daily)")
    ap.add_argument("--test", action="append", metavar="NODE",
                    help="run this pytest node instead of the mutants' own (repeatable): does it catch them too?")
    ap.add_argument("--keep", action="store_true", help="keep the copy and the logs")
    ap.add_argument("--no-baseline", action="store_true", help="skip running the tests on the unchanged copy")
    args = ap.parse_args()

    mutants = load_mutants()
    if args.list:
        for m in mutants:
            print(f"{m.name:42} {m.file:22} {f'[{m.needs}] ' if m.needs else ''}{m.bug}")
            for t in m.tests:
                print(f"{'':42}   {t}")
        print(f"{len(mutants)} mutants")
        return 0
    if os.geteuid() != 0:
        sys.exit("mutants: the tests jail programs and create cgroups: run as root")

    chosen = choose(mutants, args)
    if args.test:
        for m in chosen:
            m.tests = list(args.test)
    v2 = host_cgroup_v2()
    t_start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="jailer-mutants-", dir="/tmp"))
    work.chmod(0o755)  # the tests hand the build's programs to other uids
    copy = work / "src"
    log = work / "log"
    print(f"mutants: {len(chosen)} of {len(mutants)}; copy and logs in {work}", flush=True)
    results = []
    try:
        copy_tree(copy)
        if run(["meson", "setup", "build", "-Dwerror=false"], copy, log) != 0 or \
                run(["ninja", "-C", "build"], copy, log) != 0:
            print(f"mutants: the unchanged tree does not build; see {log}")
            return 1

        runnable, skipped = [], {}
        for m in chosen:
            if m.needs == "v2" and not v2:
                skipped[m.name] = ("skipped", "needs jails on cgroup v2 (this host's use v1): "
                                   "run it in the cgroup v2 guest, tests/vm/run-in-vm.sh -- "
                                   f"tests/mutants/run.py --only {m.name}")
            elif m.needs == "v1" and v2:
                skipped[m.name] = ("skipped", "needs jails on cgroup v1 (this host's use v2): "
                                   "run it on a host with v1 hierarchies")
            elif not all((copy / f).exists() for f in m.test_files()):
                missing = [f for f in m.test_files() if not (copy / f).exists()]
                skipped[m.name] = ("no test", f"{', '.join(missing)} does not exist in this tree")
            else:
                runnable.append(m)

        broken = set()
        if runnable and not args.no_baseline:
            nodes = sorted({t for m in runnable for t in m.tests})
            t0 = time.monotonic()
            rc, summary, failed, _ = pytest(copy, nodes, log, stop_first=False)
            # pytest's own summary is quoted without its " in N s": the
            # suite's counters read such lines as test results, and the
            # baseline's are not (the mutants are, on the last line).
            said = re.sub(r" in [0-9.]+s.*$", "", str(summary or rc))
            print(f"baseline: {len(nodes)} test nodes on the unchanged tree: {said} "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)
            if rc not in (0, 5) or failed:
                broken = set(failed) or {"(all)"}

        for m in chosen:
            t0 = time.monotonic()
            if m.name in skipped:
                status, detail = skipped[m.name]
            else:
                status, detail = mutate(m, copy, log, broken)
            results.append((m, status))
            print(f"{status:15} {m.name:42} {time.monotonic() - t0:5.0f} s  {detail}", flush=True)
    finally:
        if args.keep:
            print(f"mutants: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    caught = sum(1 for _, s in results if s == "caught")
    skip = sum(1 for _, s in results if s in ("no test", "skipped"))
    failed = len(results) - caught - skip
    print(f"mutants: took {time.monotonic() - t_start:.0f} s")
    print(f"mutants: {caught} passed, {failed} failed, {skip} skipped")
    return 0 if failed == 0 else 1


def mutate(m, copy, log, broken):
    hit = [f for f in broken if f == "(all)" or any(f == t or f.startswith(t + "[") or f.startswith(t + "::")
                                                    or t.startswith(f) for t in m.tests)]
    if hit:
        return "baseline failed", f"fails without the mutant too: {', '.join(sorted(hit))}"
    target = copy / m.file
    original = target.read_text()
    mutated = m.apply(original)
    if mutated is None:
        return "does not apply", f"a find text is not exactly once in {m.file}"
    with open(log, "a") as f:
        f.write(f"\n======== mutant {m.name}: {m.bug}\n")
    try:
        target.write_text(mutated)
        if run(["ninja", "-C", "build"], copy, log) != 0:
            return "build failed", f"see the log ({m.file})"
        rc, summary, failed, skips = pytest(copy, m.tests, log, stop_first=True)
    finally:
        target.write_text(original)
        os.utime(target)  # newer than the mutated build: ninja rebuilds it
    if rc is None:
        return "caught", f"the tests timed out after {TEST_TIMEOUT} s ({m.bug})"
    if rc == 1 and failed:
        return "caught", f"by {failed[0]}"
    if rc == 0 and re.search(r"\b[1-9]\d* passed", summary):
        return "survived", f"{summary}: {m.bug}"
    if rc in (0, 5):
        return "skipped", f"no test ran ({summary}{': ' + skips[0] if skips else ''})"
    return "error", f"pytest exited {rc} ({summary}); see the log"


if __name__ == "__main__":
    sys.exit(main())

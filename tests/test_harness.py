# SPDX-License-Identifier: MIT
"""The test harness itself must always end: a tier past its bound is killed
with everything it started, and a /dev/kvm that accepts a VM but never runs
the guest (as on hosts whose KVM runs only specially built guests) is given
up for TCG without leaving a QEMU behind.

QEMU is replaced here by a stand-in on PATH that behaves like the worst
case: under `-accel kvm` it prints nothing and ignores SIGTERM, for ever;
under TCG it either "runs" the guest's command (writes the exit status the
real guest would) or, in hang mode, hangs too.  Each test starts from a cold
cache, so the KVM probe really runs."""
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BOUNDED = REPO / "tests" / "lib" / "bounded.sh"
RUN_IN_VM = REPO / "tests" / "vm" / "run-in-vm.sh"
ACCEL = REPO / "tests" / "vmm" / "accel.sh"

# An availability bound (the scripts must end), not a performance figure.
MUST_END_WITHIN = 120

FAKE_QEMU = r"""#!/bin/bash
# Stand-in for qemu-system-x86_64 (see test_harness.py).
accel=
ctl=
prev=
for a in "$@"; do
  [ "$prev" = -accel ] && accel=${a%%,*}
  case $a in *mount_tag=ctl*) ctl=${a#*path=}; ctl=${ctl%%,*} ;; esac
  prev=$a
done
echo "$$" >> "$FAKE_DIR/$accel.pids"
if [ "$accel" = kvm ] || [ "${FAKE_MODE:-}" = hang ]; then
  trap '' TERM INT HUP
  exec sleep 100000
fi
[ -n "$ctl" ] && echo 0 > "$ctl/status"
exit 0
"""


def alive(pid):
    """True when pid is still a stand-in QEMU (its cmdline is the sleep)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return b"100000" in cmd


def pids(fake, accel):
    f = fake / f"{accel}.pids"
    return [int(x) for x in f.read_text().split()] if f.exists() else []


@pytest.fixture
def fake(request):
    """A directory with the stand-in QEMU first on PATH; at the end any
    stand-in still alive is killed (by the pids it recorded) and the test
    fails."""
    if os.geteuid() != 0:
        pytest.skip("the VM scripts run as root")
    d = Path(tempfile.mkdtemp(prefix="jailer-harness-"))
    (d / "bin").mkdir()
    q = d / "bin" / "qemu-system-x86_64"
    q.write_text(FAKE_QEMU)
    q.chmod(0o755)
    env = dict(os.environ, PATH=f"{d / 'bin'}:{os.environ['PATH']}", FAKE_DIR=str(d),
               JAILER_VM_TEST_KVM_USABLE="1", JAILER_VM_KVM_GRACE="2")
    env.pop("JAILER_VM_ACCEL", None)
    yield d, env
    left = [p for a in ("kvm", "tcg") for p in pids(d, a) if alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    shutil.rmtree(d, ignore_errors=True)
    assert not left, f"stand-in QEMUs left running: {left}"


def run(argv, env, timeout=MUST_END_WITHIN):
    """Run argv with its output on a pipe; fail if the pipe is not closed
    (by the command and everything it left behind) within the bound."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail(f"{argv[0]} did not end (or its output stayed open) within {timeout}s")
    return p.returncode, out, err, time.monotonic() - t0


def cold_vm_cache(d):
    """A cache directory holding a prepared (stand-in) guest kernel, so that
    run-in-vm.sh downloads nothing, and no KVM verdict."""
    cache = d / "cache"
    pkg = subprocess.run("apt-cache depends linux-image-amd64 2>/dev/null | "
                         "awk '/Depends: linux-image-[0-9]/ {print $2; exit}'",
                         shell=True, capture_output=True, text=True).stdout.strip()
    kdir = cache / (f"kernel-{pkg[len('linux-image-'):]}" if pkg else "kernel-standin")
    kdir.mkdir(parents=True)
    (kdir / "vmlinuz").write_bytes(b"not a kernel")
    (kdir / "initramfs.img").write_bytes(b"not an initramfs")
    stamp = hashlib.md5((REPO / "tests" / "vm" / "guest-init.sh").read_bytes() +
                        RUN_IN_VM.read_bytes()).hexdigest()
    (kdir / "stamp").write_text(stamp + "\n")
    return cache


def test_run_in_vm_gives_up_a_kvm_that_never_boots_and_leaves_no_qemu(fake):
    d, env = fake
    env["JAILER_VM_CACHE"] = str(cold_vm_cache(d))
    rc, out, err, took = run([str(RUN_IN_VM), "--timeout", "60", "true"], env)
    assert rc == 0, err
    assert "using TCG" in err, err
    kvm = pids(d, "kvm")
    assert len(kvm) == 1, f"the KVM probe ran {len(kvm)} times"
    assert not alive(kvm[0]), "the QEMU started under KVM was left running"
    assert len(pids(d, "tcg")) == 1
    assert list(Path(env["JAILER_VM_CACHE"]).glob("kvm-does-not-boot.*")), "the verdict was not cached"
    # Warm cache: straight to TCG, no second KVM attempt.
    rc, out, err, took = run([str(RUN_IN_VM), "--timeout", "60", "true"], env)
    assert rc == 0, err
    assert len(pids(d, "kvm")) == 1


def test_run_in_vm_past_its_timeout_kills_its_qemu(fake):
    d, env = fake
    env["JAILER_VM_CACHE"] = str(cold_vm_cache(d))
    env["FAKE_MODE"] = "hang"
    rc, out, err, took = run([str(RUN_IN_VM), "--timeout", "3", "true"], env)
    assert rc == 125, err
    assert "timed out" in err, err
    for p in pids(d, "kvm") + pids(d, "tcg"):
        assert not alive(p), f"QEMU {p} was left running"


def test_accel_probe_gives_up_a_kvm_that_never_boots(fake):
    d, env = fake
    guest = d / "guest"
    guest.mkdir()
    for f in ("vmlinuz", "initramfs.cpio.gz"):
        (guest / f).write_bytes(b"stand-in")
    (guest / "kernel.version").write_text("standin\n")
    rc, out, err, took = run([str(ACCEL), str(guest)], env)
    assert rc == 0, err
    assert out.strip() == "tcg"
    kvm = pids(d, "kvm")
    assert len(kvm) == 1 and not alive(kvm[0]), "the probe's QEMU was left running"
    assert (guest / "accel.probe").read_text().split()[-1] == "tcg"


def test_a_tier_past_its_bound_is_killed_with_what_it_started(fake, tmp_path):
    """run_tier (what run-all.sh runs each tier with): a tier that hangs
    while a process it started has escaped into its own session and holds
    the output open still ends at its bound, and the escaped process is
    killed; so is a VM script killed mid-boot, with its QEMU."""
    d, env = fake
    env["JAILER_VM_CACHE"] = str(cold_vm_cache(d))
    env["FAKE_MODE"] = "hang"
    escaped = tmp_path / "escaped.pid"
    script = f"""
. {BOUNDED}
tier() {{
  setsid sleep 100000 & echo $! > {escaped}
  {RUN_IN_VM} --timeout 600 true
}}
run_tier {tmp_path}/tier.log 6 tier
echo "rc=$?"
"""
    rc, out, err, took = run(["bash", "-c", script], env)
    assert "rc=124" in out, out + err
    assert "killed with its process group" in out
    esc = int(escaped.read_text())
    assert not Path(f"/proc/{esc}").exists() or b"100000" not in Path(f"/proc/{esc}/cmdline").read_bytes(), \
        "the escaped process was left running"
    started = pids(d, "kvm") + pids(d, "tcg")
    assert started, "the VM script never started QEMU"
    for p in started:
        assert not alive(p), f"QEMU {p} was left running"


def test_a_tier_that_ends_leaves_nothing_running(tmp_path):
    """A tier that ends on its own but left a process running (here one
    that escaped its process group): run_tier kills it and says so."""
    if os.geteuid() != 0:
        pytest.skip("needs root like the rest of the suite")
    marker = tmp_path / "left.pid"
    script = f"""
. {BOUNDED}
tier() {{ setsid sleep 100000 & echo $! > {marker}; sleep 1; echo done; }}
run_tier {tmp_path}/tier.log 30 tier
echo "rc=$?"
"""
    rc, out, err, took = run(["bash", "-c", script], dict(os.environ))
    assert "rc=0" in out, out + err
    assert "killed what the tier left running" in out
    left = int(marker.read_text())
    assert not Path(f"/proc/{left}").exists() or b"100000" not in Path(f"/proc/{left}/cmdline").read_bytes()

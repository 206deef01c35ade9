# SPDX-License-Identifier: MIT
"""Boot-to-marker wall time of the same QEMU command, jailed and not.

  /usr/bin/python3 tests/vmm/bench.py [--runs N] [--build DIR] [--no-daemon]

Runs, interleaved so that the machine's noise hits every variant alike:
  unjailed        qemu-system-x86_64 straight from the host, as root
  jailer          the one-shot jailer with examples/qemu.json (1 CPU, 512 MiB)
  jailer-nocpu    the same without the CPU limit (what the limit costs)
  jailerctl       jailerctl run through a private jailerd (when built)
Each run is timed from just before the command is started to the moment
QEMU's QMP socket appears ("QMP up": QEMU has been exec'd, loaded and set
its devices up: where the jail's own start-up cost shows), to the moment the
guest's marker line arrives on its stdout ("boot"), and to the command's
exit ("exit").  Prints the machine and a Markdown table (p50, p90, min, max).
Needs root.  Cleans up what it creates (jail roots, the daemon, its cgroup
parent).
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vmm  # noqa: E402


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def timed(argv, qmp_path):
    """(seconds to the QMP socket, to the marker line (None if never), to
    exit; exit status)."""
    seen = {}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            if os.path.exists(qmp_path):
                seen["qmp"] = time.monotonic() - t0
                return
            time.sleep(0.001)

    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, errors="replace")
    w = threading.Thread(target=watch, daemon=True)
    w.start()
    marker = None
    for line in p.stdout:
        if marker is None and line.startswith(vmm.MARKER):
            marker = time.monotonic() - t0
    rc = p.wait()
    total = time.monotonic() - t0
    stop.set()
    w.join()
    return seen.get("qmp"), marker, total, rc


def machine(accel_name):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    qemu = subprocess.run([vmm.QEMU, "--version"], stdout=subprocess.PIPE, text=True).stdout.splitlines()[0]
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem}; kernel {platform.release()}; {qemu}; "
            f"accelerator {accel_name}")


def remove_cgroup_parent(name):
    for hier in Path("/sys/fs/cgroup").iterdir():
        d = hier / name
        if d.is_dir():
            for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                sub.rmdir()
            d.rmdir()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--build", default=os.environ.get("JAILER_BUILD", "build"))
    ap.add_argument("--no-daemon", action="store_true")
    o = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: needs root")
    build = Path(o.build) if Path(o.build).is_absolute() else vmm.REPO / o.build
    jailer = build / "client" / "jailer"
    jailerctl = build / "client" / "jailerctl"
    jailerd = build / "daemon" / "jailerd"
    try:
        guest = vmm.prepare_guest(os.environ.get("JAILER_VMM_GUEST") or build / "vmm-guest")
    except vmm.Unavailable as e:
        print(f"bench.py: skipped: {e}")
        return 77
    accel_name = vmm.accel(guest)
    parent = f"jailer-vmm-bench-{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="jailer-vmm-bench-"))
    daemon = None
    try:
        variants = {}
        variants["unjailed"] = lambda i: vmm.unjailed_argv(guest=guest, accel_name=accel_name,
                                                           qmp_path=tmp / f"root-{i}" / "run" / "qmp.sock")

        def jailed_config(i, nocpu=False):
            root = tmp / f"root-{i}"
            vmm.make_jail_root(root, 65534, 65534)
            c = vmm.jail_config(guest=guest, jail_root=root, accel_name=accel_name,
                                jail_id=f"vmm-bench-{i}", cgroup_parent=parent)
            if nocpu:
                del c["limits"]["cpu_quota_us"]
            path = tmp / f"config-{i}.json"
            path.write_text(json.dumps(c))
            return path

        variants["jailer"] = lambda i: [str(jailer), "--config", str(jailed_config(i))]
        variants["jailer-nocpu"] = lambda i: [str(jailer), "--config", str(jailed_config(i, True))]
        if not o.no_daemon and os.access(jailerd, os.X_OK) and os.access(jailerctl, os.X_OK):
            sock = tmp / "jailerd.sock"
            daemon = subprocess.Popen([str(jailerd), "--socket", str(sock), "--state-dir", str(tmp / "state"),
                                       "--jails-dir", str(tmp / "jails"), "--cgroup-parent", parent,
                                       "--supervisor", str(jailerd.parent / "jailer-supervisor"),
                                       "--stop-jails-on-exit"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            if vmm.wait_for_socket(sock, 30, lambda: daemon.poll() is None):
                variants["jailerctl"] = lambda i: [str(jailerctl), "--socket", str(sock), "run",
                                                   "--config", str(jailed_config(i))]

        results = {k: {"qmp": [], "boot": [], "exit": []} for k in variants}
        n = 0
        # One warm-up run of each (page cache, first exec), not counted.
        for rnd in range(o.runs + 1):
            for name, make in variants.items():
                n += 1
                root = tmp / f"root-{n}"
                if name == "unjailed":
                    vmm.make_jail_root(root, 0, 0)   # only a place for its socket
                argv = make(n)
                qmp, marker, total, rc = timed(argv, root / "run" / "qmp.sock")
                if marker is None or qmp is None or rc != 0:
                    raise SystemExit(f"bench.py: {name} run failed (rc={rc}, marker={marker}): {argv}")
                if rnd > 0:
                    results[name]["qmp"].append(qmp)
                    results[name]["boot"].append(marker)
                    results[name]["exit"].append(total)
                vmm.remove_jail_root([root, root / "run"])

        print(f"Machine: {machine(accel_name)}")
        print(f"Runs: {o.runs} per variant, interleaved (after one warm-up each)\n")
        base = {k: statistics.median(results["unjailed"][k]) for k in ("qmp", "boot")}

        def vs(name, key, p50):
            if name == "unjailed":
                return "—"
            return f"{(p50 - base[key]) * 1000:+.0f} ms ({p50 / base[key]:.2f}x)"

        print("| variant | QMP up p50 | p90 | vs unjailed | boot-to-marker p50 | p90 | min | max "
              "| vs unjailed | to exit p50 |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        ms = lambda x: f"{x * 1000:.0f} ms"
        for name, r in results.items():
            q, b, e = r["qmp"], r["boot"], r["exit"]
            q50, b50 = statistics.median(q), statistics.median(b)
            print(f"| {name} | {ms(q50)} | {ms(percentile(q, 90))} | {vs(name, 'qmp', q50)} "
                  f"| {ms(b50)} | {ms(percentile(b, 90))} | {ms(min(b))} | {ms(max(b))} "
                  f"| {vs(name, 'boot', b50)} | {ms(statistics.median(e))} |")
        return 0
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        remove_cgroup_parent(parent)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

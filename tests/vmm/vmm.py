# SPDX-License-Identifier: MIT
"""Helpers for running a real VMM (QEMU) in a jail: the guest (kernel and
initramfs made by make-initramfs.sh), the accelerator that boots it here
(accel.sh), a jail config derived from examples/qemu.json, the jail root
with its control-socket directory, and a small QMP client.

Used by tests/test_vmm.py, tests/vmm/bench.py and scripts/demo.sh.  Also a
command line tool:

  vmm.py guest DIR                      prepare the guest in DIR, print DIR
  vmm.py accel DIR                      print kvm or tcg
  vmm.py config --guest DIR --jail-root ROOT [--id ID] [--mode marker|wait]
                [--accel kvm|tcg] [--memory BYTES] [--cgroup-parent REL]
                                        print the jail config (JSON)
  vmm.py qmp SOCKET COMMAND...          run QMP commands, print the replies
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
EXAMPLE = REPO / "examples" / "qemu.json"
QEMU = "/usr/bin/qemu-system-x86_64"
MARKER = "JAILER-GUEST-MARKER ok"
GUEST_IN_JAIL = "/guest"          # where the example binds the guest directory
QMP_IN_JAIL = "/run/qmp.sock"     # where the example puts the QMP socket
EXIT_CANNOT = 77                  # make-initramfs.sh: cannot prepare here


class Unavailable(Exception):
    """The VMM cannot run on this machine; the message says why."""


# ------------------------------------------------------------------ guest

def prepare_guest(outdir):
    """Kernel + initramfs in outdir (cached); returns its absolute Path."""
    if not os.access(QEMU, os.X_OK):
        raise Unavailable(f"{QEMU} is missing (apt-get install qemu-system-x86)")
    p = subprocess.run([str(HERE / "make-initramfs.sh"), str(outdir)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode == EXIT_CANNOT:
        raise Unavailable(p.stderr.strip())
    if p.returncode != 0:
        raise RuntimeError(f"make-initramfs.sh failed ({p.returncode}): {p.stderr.strip()}")
    return Path(p.stdout.strip().splitlines()[-1])


def accel(guest):
    """"kvm" when KVM boots the guest here, else "tcg" (see accel.sh)."""
    p = subprocess.run([str(HERE / "accel.sh"), str(guest)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"accel.sh failed ({p.returncode}): {p.stderr.strip()}")
    if p.stderr.strip():
        print(p.stderr.strip(), file=sys.stderr)
    return p.stdout.strip()


# ------------------------------------------------------------------ QEMU command

def example():
    """examples/qemu.json as a dict."""
    return json.loads(EXAMPLE.read_text())


def qemu_args(base, *, accel_name, mode="marker", guest_dir=GUEST_IN_JAIL,
              qmp_path=QMP_IN_JAIL, sandbox=True, kernel_args=""):
    """The example's QEMU arguments adapted to this run: one -accel (the one
    that works here), the guest's mode (and kernel_args, more words) on the
    kernel command line, and, for an unjailed run, host paths for the guest
    and the QMP socket.  sandbox=False leaves out QEMU's own seccomp filter
    (-sandbox)."""
    out = []
    args = list(base)
    i = 0
    accel_done = False
    while i < len(args):
        a = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if a == "-accel":
            if not accel_done:
                out += ["-accel", accel_name]
                accel_done = True
            i += 2
            continue
        if a in ("-kernel", "-initrd") and nxt.startswith(GUEST_IN_JAIL + "/"):
            out += [a, guest_dir + nxt[len(GUEST_IN_JAIL):]]
            i += 2
            continue
        if a == "-append":
            words = [w for w in nxt.split() if not w.startswith("jailer.guest=")]
            out += [a, " ".join(words + kernel_args.split() + [f"jailer.guest={mode}"])]
            i += 2
            continue
        if a == "-qmp":
            out += [a, f"unix:{qmp_path},server=on,wait=off"]
            i += 2
            continue
        if a == "-sandbox" and not sandbox:
            i += 2
            continue
        out.append(a)
        i += 1
    if not accel_done:
        out[:0] = ["-accel", accel_name]
    return out


def jail_config(*, guest, jail_root, accel_name, mode="marker", jail_id=None, memory=None,
                cgroup_parent=None, sandbox=True, kernel_args=""):
    """examples/qemu.json with this machine's paths: the guest directory as
    the /guest bind source, the jail root, the accelerator and guest mode;
    optionally another id, memory limit (bytes), cgroup parent, more kernel
    command line words, and without QEMU's own seccomp filter
    (sandbox=False)."""
    c = example()
    c["jail_root"] = str(jail_root)
    if jail_id:
        c["id"] = jail_id
        c["hostname"] = jail_id.replace("_", "-")   # ids may have "_", hostnames not
    for b in c["bind_mounts"]:
        if b["dest"] == GUEST_IN_JAIL:
            b["source"] = str(guest)
    c["exec_args"] = qemu_args(c["exec_args"], accel_name=accel_name, mode=mode, sandbox=sandbox,
                               kernel_args=kernel_args)
    if memory is not None:
        c["limits"]["memory_bytes"] = int(memory)
    if cgroup_parent:
        c["cgroup_parent"] = cgroup_parent
    return c


def unjailed_argv(*, guest, accel_name, qmp_path, mode="marker"):
    """The same QEMU command, to run directly on the host (for comparison)."""
    c = example()
    return [c["exec_path"]] + qemu_args(c["exec_args"], accel_name=accel_name, mode=mode,
                                         guest_dir=str(guest), qmp_path=str(qmp_path))


# ------------------------------------------------------------------ jail root

def make_jail_root(root, uid, gid):
    """Create the jail root and its run/ (0700, owned by the jail's uid), the
    directory where the VMM creates its control socket.  Returns the list of
    what was created, for remove_jail_root()."""
    root = Path(root)
    created = []
    if not root.exists():
        root.mkdir(mode=0o755)
        created.append(root)
    run = root / "run"
    run.mkdir(mode=0o700)
    os.chown(run, uid, gid)
    created.append(run)
    return created


def remove_jail_root(created):
    """Remove what make_jail_root() created (a control socket that a killed
    VMM could not remove first, then the directories).  Anything else in
    them is somebody else's: it stays, and the error names it."""
    for d in reversed(created):
        d = Path(d)
        if d.name == "run" and d.is_dir():
            for s in d.iterdir():
                if s.is_socket():
                    s.unlink()
        if d.is_dir():
            left = sorted(e.name for e in d.iterdir())
            if left:
                raise RuntimeError(f"{d} is not empty, not removed: {', '.join(left)}")
            d.rmdir()


# ------------------------------------------------------------------ QMP

class QMP:
    """A minimal QMP client: one JSON object per line each way."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rwb")
        self.greeting = self._read()
        self.events = []

    def _read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("QMP connection closed")
        return json.loads(line)

    def command(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            return reply

    def close(self):
        try:
            self.file.close()
        finally:
            self.sock.close()


def wait_for_socket(path, timeout, alive=lambda: True):
    """Wait until a Unix socket accepts connections; False on timeout or
    when alive() says the process that should create it has gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(path))
                return True
            finally:
                s.close()
        except OSError:
            time.sleep(0.05)
    return False


# ------------------------------------------------------------------ CLI

def _main(argv):
    ap = argparse.ArgumentParser(prog="vmm.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("guest")
    g.add_argument("dir")
    a = sub.add_parser("accel")
    a.add_argument("dir")
    c = sub.add_parser("config")
    c.add_argument("--guest", required=True)
    c.add_argument("--jail-root", required=True)
    c.add_argument("--id")
    c.add_argument("--mode", default="marker", choices=("marker", "wait"))
    c.add_argument("--accel", choices=("kvm", "tcg"))
    c.add_argument("--memory", type=int)
    c.add_argument("--cgroup-parent")
    q = sub.add_parser("qmp")
    q.add_argument("socket")
    q.add_argument("commands", nargs="+")
    o = ap.parse_args(argv)

    try:
        if o.cmd == "guest":
            print(prepare_guest(o.dir))
        elif o.cmd == "accel":
            print(accel(o.dir))
        elif o.cmd == "config":
            acc = o.accel or accel(o.guest)
            cfg = jail_config(guest=Path(o.guest).resolve(), jail_root=o.jail_root, accel_name=acc,
                              mode=o.mode, jail_id=o.id, memory=o.memory,
                              cgroup_parent=o.cgroup_parent)
            print(json.dumps(cfg, indent=2))
        elif o.cmd == "qmp":
            qmp = QMP(o.socket)
            print(json.dumps(qmp.greeting))
            for cmd in o.commands:
                print(json.dumps(qmp.command(cmd)))
            qmp.close()
    except Unavailable as e:
        print(f"vmm.py: cannot run a VMM here: {e}", file=sys.stderr)
        return EXIT_CANNOT
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

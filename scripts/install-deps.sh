#!/bin/bash
# SPDX-License-Identifier: MIT
#
# install-deps.sh — install everything the build and every test tier need, on
# Debian 12, non-interactively, as root.  Does nothing (and needs no network)
# when all of it is already installed.
set -euo pipefail

PACKAGES=(
  # build
  build-essential meson ninja-build pkg-config
  # the Debian packages (debian/, tests/package/build-debs.sh)
  debhelper dpkg-dev
  # the stub build for other systems (tests/test_platform_stub.py): a Windows
  # cross build, run under wine
  gcc-mingw-w64-x86-64 wine64
  libcap-dev libjson-c-dev libseccomp-dev libsystemd-dev
  # the man pages (man/), and rendering them in tests/test_manpages.py
  scdoc man-db groff-base
  # sanitizer and fuzzing builds
  clang libclang-rt-14-dev libfuzzer-14-dev
  # system tests (Debian's python3 and pytest; the static probe needs libc.a,
  # which build-essential's libc6-dev carries)
  python3 python3-pytest util-linux procps iproute2
  # daemon tests: socket activation, a private journald, a plain socket client
  systemd socat
  # the benchmark harness's peers and plot (bench/run.py)
  bubblewrap runc hyperfine python3-matplotlib strace
  # jailerd and its supervisors under memcheck (tests/test_daemon_valgrind.py)
  valgrind
  # the QEMU guest tiers (tests/vm/): Debian's kernel in a busybox initramfs,
  # and a debootstrapped Debian with systemd as PID 1
  qemu-system-x86 qemu-system-data busybox-static cpio kmod xz-utils zstd file debootstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

# The VM tier fetches Debian's kernel with `apt-get download`: that needs
# package lists.
need_lists=0
policy=$(apt-cache policy linux-image-amd64 2>/dev/null || true)
if ! grep -q 'Candidate: [0-9]' <<< "$policy"; then
  need_lists=1
fi

if [ ${#missing[@]} -eq 0 ] && [ $need_lists -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${missing[*]:-package lists}; run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update"
apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: done"

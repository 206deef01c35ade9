#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run by `meson install` after the files are in place.  Installing to the
# running system (no DESTDIR) as root, it does what a package's maintainer
# scripts would: create the jailer group (sysusers.d), the runtime and state
# directories (tmpfiles.d), and make systemd read the new units.  With a
# DESTDIR (packaging, a guest image) it does nothing: that is the package's
# or the image's job.
#   post-install.sh SYSUSERS_FILE TMPFILES_FILE
set -u
if [ -n "${DESTDIR:-}" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "post-install: not root: run systemd-sysusers $1, systemd-tmpfiles --create $2 and systemctl daemon-reload as root" >&2
  exit 0
fi
if command -v systemd-sysusers > /dev/null; then
  echo "post-install: systemd-sysusers $1"
  systemd-sysusers "$1" || echo "post-install: systemd-sysusers failed" >&2
fi
if command -v systemd-tmpfiles > /dev/null; then
  echo "post-install: systemd-tmpfiles --create $2"
  systemd-tmpfiles --create "$2" || echo "post-install: systemd-tmpfiles failed" >&2
fi
if [ -d /run/systemd/system ] && command -v systemctl > /dev/null; then
  echo "post-install: systemctl daemon-reload"
  systemctl daemon-reload || echo "post-install: systemctl daemon-reload failed" >&2
fi
exit 0

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# system-tier.sh BUILD_DIR — the system tests (pytest, as root) against
# BUILD_DIR; `meson test -C BUILD_DIR --suite system` runs it, and so does
# tests/run-all.sh, through meson.  PYTEST_ARGS="..." adds pytest arguments
# (e.g. "-x -k oom").
#
# Debian's pytest-3 on purpose: a python3 earlier on PATH may be a separate
# build without Debian's packages.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
build=${1:?usage: system-tier.sh BUILD_DIR}
# meson gives each test a random MALLOC_PERTURB_; the jailerd and jailer the
# tests start would inherit it.  Keep the environment the tests always had.
unset MALLOC_PERTURB_
# shellcheck disable=SC2086 # PYTEST_ARGS is a list of words
JAILER_BUILD=$build /usr/bin/pytest-3 -p no:cacheprovider -rfEs ${PYTEST_ARGS:-} tests/
rc=$?
[ $rc = 5 ] && echo "pytest collected no tests"
exit $rc

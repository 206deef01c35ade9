#!/bin/sh
# SPDX-License-Identifier: MIT
#
# scdoc-page.sh SCDOC PAGE.scd JAIL-OPTIONS.scd OUTPUT
#
# Render one man page with scdoc.  A line "@JAIL_OPTIONS@" in the page stands
# for the jail options that jailer(1) and jailerctl(1) share.
set -eu
scdoc=$1 page=$2 options=$3 out=$4

sed -e "/^@JAIL_OPTIONS@\$/{r $options" -e 'd' -e '}' "$page" > "$out.scd"
"$scdoc" < "$out.scd" > "$out.tmp"
rm -f "$out.scd"
mv "$out.tmp" "$out"

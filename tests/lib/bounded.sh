# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# bounded.sh — start processes in the background so that the pid we hold is
# the process itself, wait for them with a deadline, and end them for sure.
# Sourced by tests/run-all.sh and the QEMU guest scripts.
#
# Two rules this file exists for:
#  * `timeout CMD &` gives `$!` = timeout's pid; SIGKILLing that orphans CMD.
#    Here a background command is started directly (bash execs a simple
#    command in the forked child), so `$!` is CMD's own pid.
#  * A test tier must end within its bound even if something it started
#    escapes its process group (setsid) and holds its output open.  Tiers
#    write to a log file (no pipe to block on), run in their own process
#    group, and carry a token in their environment by which every
#    descendant left behind is found and killed.

# bg_wait PID SECONDS: wait for PID (a child of this shell) at most SECONDS;
# SIGKILL it then.  Returns its exit status, or 124 when it was killed at the
# deadline.
bg_wait() {
  local pid=$1 limit=$2 start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.2
  done
  wait "$pid"
}

# bg_wait_group PID SECONDS: like bg_wait, for a process group leader; at
# the deadline the group gets SIGTERM first (so that scripts in it run their
# clean-up traps: unmount, remove their directories), SIGKILL 10 s later.
bg_wait_group() {
  local pid=$1 limit=$2 start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      kill -TERM -- "-$pid" 2>/dev/null
      local grace=$SECONDS
      while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - grace)) -lt 10 ]; do
        sleep 0.2
      done
      kill -KILL -- "-$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.2
  done
  wait "$pid"
}

# bg_stop PID: SIGKILL a child of this shell and reap it.
bg_stop() {
  [ -n "${1:-}" ] || return 0
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

# token_pids TOKEN: the pids of every process whose environment holds
# JAILER_TIER_TOKEN=TOKEN (this shell's own excluded).
token_pids() {
  local f pid
  for f in /proc/[0-9]*/environ; do
    pid=${f#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    grep -qzx "JAILER_TIER_TOKEN=$1" "$f" 2>/dev/null && echo "$pid"
  done
}

# run_tier LOG SECONDS CMD...: run CMD (a command or a shell function) with
# stdin /dev/null and stdout+stderr to LOG, shown on this script's stdout as
# it grows.  CMD runs in its own process group; after SECONDS that group is
# killed and 124 returned.  Whatever CMD left running — in its group or
# escaped from it — is killed afterwards and named in LOG and on stdout
# (TIER_SWEEP=0 spares escaped processes: for a step, such as a package
# install, that may legitimately start services).
run_tier() {
  local log=$1 limit=$2 token pid tail_pid rc left
  shift 2
  token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
  : > "$log"
  set -m
  ( export JAILER_TIER_TOKEN=$token; "$@" ) < /dev/null > "$log" 2>&1 &
  pid=$!
  set +m
  tail -n +1 --pid="$pid" -f "$log" &
  tail_pid=$!
  bg_wait_group "$pid" "$limit"
  rc=$?
  kill -KILL -- "-$pid" 2>/dev/null
  left=
  if [ "${TIER_SWEEP:-1}" = 1 ]; then
    local strays
    mapfile -t strays < <(token_pids "$token")
    if [ ${#strays[@]} -gt 0 ]; then
      left=$(ps -o pid=,args= -p "$(IFS=,; echo "${strays[*]}")" 2>/dev/null | sed 's/^ *//' | tr '\n' ';')
      kill -KILL "${strays[@]}" 2>/dev/null
    fi
  fi
  wait "$tail_pid" 2>/dev/null
  {
    [ "$rc" = 124 ] && echo "run-tier: still running after ${limit}s: killed with its process group"
    [ -n "$left" ] && echo "run-tier: killed what the tier left running: $left"
  } | tee -a "$log"
  return "$rc"
}

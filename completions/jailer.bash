# SPDX-License-Identifier: MIT
# bash completion for jailer and jailerctl                 -*- shell-script -*-
#
# Installed twice, as "jailer" and "jailerctl", so that bash-completion loads
# it for either command; it needs nothing from bash-completion itself.

_jailer_jail_flags='--config --id --exec --jail-root --memory --cpu --cpu-quota
--cpu-period --pids --max-fds --max-procs --max-file-size --timeout --uid
--gid --bind --env --workdir --hostname --device --netns --tap --no-kvm --no-user-ns
--no-pid-ns --no-mount-ns --no-net-ns --no-uts-ns --no-ipc-ns --no-cgroup-ns
--cgroup-version --cgroup-parent --seccomp --seccomp-kill --seccomp-allow
--cpus --mems --cpus-exclusive --io --io-weight'

# Whether a flag takes a value (the next word).
_jailer_takes_value()
{
        case $1 in
        --config | --id | --exec | --jail-root | --memory | --cpu | --cpu-quota | \
        --cpu-period | --pids | --max-fds | --max-procs | --max-file-size | \
        --timeout | --uid | --gid | --bind | --env | --workdir | --hostname | \
        --device | --netns | --tap | --cgroup-version | --cgroup-parent | --seccomp | \
        --seccomp-allow | --report | --socket | --prepare-timeout | --interval)
                return 0 ;;
        --cpus | --mems | --io | --io-weight)
                return 0 ;;
        esac
        return 1
}

# COMPREPLY: the words of $1 that start with $2.
_jailer_words()
{
        mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

# COMPREPLY: the file names that start with $1, directories only with $2.
_jailer_files()
{
        compopt -o filenames 2>/dev/null
        if [ -n "${2:-}" ]; then
                mapfile -t COMPREPLY < <(compgen -d -- "$1")
        else
                mapfile -t COMPREPLY < <(compgen -f -- "$1")
        fi
}

# COMPREPLY: the values of flag $1 that start with $2.
_jailer_value()
{
        local cur=$2
        case $1 in
        --config | --exec)
                _jailer_files "$cur"
                ;;
        --report)
                _jailer_files "$cur"
                [ "$cur" ] || COMPREPLY+=(-)
                ;;
        --jail-root)
                _jailer_files "$cur" dirs
                ;;
        --device)
                _jailer_files "${cur:-/dev/}"
                ;;
        --netns)
                _jailer_files "${cur:-/run/netns/}"
                ;;
        --bind)
                # SRC:DEST[:ro|:rw]: the host path is ours to complete.
                COMPREPLY=()
                if [[ $cur != *:* ]]; then
                        _jailer_files "$cur"
                        compopt -o nospace 2>/dev/null
                fi
                ;;
        --seccomp)
                _jailer_files "$cur"
                mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W 'default none' -- "$cur")
                ;;
        --cgroup-version)
                _jailer_words 'auto v1 v2' "$cur"
                ;;
        --max-file-size)
                _jailer_words 'unlimited' "$cur"
                ;;
        *)
                COMPREPLY=()
                ;;
        esac
}

# Sets cur, and flag when the current word is the value of a flag that takes
# one ("--flag VALUE", or "--flag=VALUE", which bash splits at "=").
_jailer_context()
{
        local prev=
        cur=${COMP_WORDS[COMP_CWORD]}
        ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
        flag=$prev
        if [ "$cur" = = ]; then
                cur=
        elif [ "$prev" = = ] && ((COMP_CWORD > 1)); then
                flag=${COMP_WORDS[COMP_CWORD - 2]}
        fi
        _jailer_takes_value "$flag" || flag=
}

# Whether a "--" comes before the current word, from word $1 on: the words
# after it are the jailed program's arguments.
_jailer_after_dashdash()
{
        local i
        for ((i = $1; i < COMP_CWORD; i++)); do
                [ "${COMP_WORDS[i]}" = -- ] && return 0
        done
        return 1
}

_jailer()
{
        local cur flag
        _jailer_context
        if _jailer_after_dashdash 1; then
                _jailer_files "$cur"
        elif [ -n "$flag" ]; then
                _jailer_value "$flag" "$cur"
        else
                _jailer_words "$_jailer_jail_flags --report --help --version --" "$cur"
        fi
        return 0
}

# The ids of the jails that jailerctl $1 lists (with state $2 only, when
# given), asking the socket $3 when given; nothing when jailerd cannot be
# reached.
_jailerctl_ids()
{
        local cmd=$1 want=$2 socket=$3 line id='' state
        local -a opts=(--json)
        [ -n "$socket" ] && opts+=(--socket "$socket")
        # `list --json` is one line: {"jails":[{"jail":ID,...,"state":S,...}]}.
        # The exit report inside an exited jail repeats its id but has no
        # state, so each "state" belongs to the "jail" before it.
        while IFS= read -r line; do
                case $line in
                '"jail":"'*)
                        id=${line#'"jail":"'}
                        id=${id%'"'}
                        ;;
                '"state":"'*)
                        state=${line#'"state":"'}
                        state=${state%'"'}
                        if [ -n "$id" ] && { [ -z "$want" ] || [ "$state" = "$want" ]; }; then
                                printf '%s\n' "$id"
                        fi
                        id=''
                        ;;
                esac
        done < <(timeout 3 "$cmd" "${opts[@]}" list 2>/dev/null </dev/null |
                 grep -o -E '"(jail|state)":"[A-Za-z0-9_-]*"')
}

_jailerctl()
{
        local cur flag i w cmd='' cmd_at=0 socket=''
        _jailer_context

        # The options before the command, and the command.
        for ((i = 1; i < COMP_CWORD; i++)); do
                w=${COMP_WORDS[i]}
                case $w in
                --socket)
                        if [ "${COMP_WORDS[i + 1]}" = = ]; then
                                socket=${COMP_WORDS[i + 2]}
                                ((i += 2))
                        else
                                socket=${COMP_WORDS[i + 1]}
                                ((i += 1))
                        fi
                        ;;
                -*) ;;
                *)
                        cmd=$w
                        cmd_at=$i
                        break
                        ;;
                esac
        done

        if [ -z "$cmd" ]; then
                if [ "$flag" = --socket ]; then
                        _jailer_files "$cur"
                elif [[ $cur == -* ]]; then
                        _jailer_words '--socket --json --help --version' "$cur"
                else
                        _jailer_words 'run create start wait kill list status stats events logs version' "$cur"
                fi
                return 0
        fi

        case $cmd in
        run | create)
                if _jailer_after_dashdash $((cmd_at + 1)); then
                        _jailer_files "$cur"
                elif [ -n "$flag" ]; then
                        _jailer_value "$flag" "$cur"
                elif [ "$cmd" = run ]; then
                        _jailer_words "$_jailer_jail_flags --report --json --help --" "$cur"
                else
                        _jailer_words "$_jailer_jail_flags --stdio --no-start --prepare-timeout --json --help --" "$cur"
                fi
                ;;
        wait | status | stats | kill | logs | start)
                local n=0 state=
                for ((i = cmd_at + 1; i < COMP_CWORD; i++)); do
                        if [ "${COMP_WORDS[i]}" = --interval ]; then
                                ((i += 1))
                                continue
                        fi
                        [[ ${COMP_WORDS[i]} == -* ]] || ((n += 1))
                done
                if [ "$flag" = --interval ]; then
                        COMPREPLY=()
                elif [[ $cur == -* ]]; then
                        if [ "$cmd" = kill ] && ((n == 0)); then
                                _jailer_words '--all --json --help' "$cur"
                        elif [ "$cmd" = logs ]; then
                                _jailer_words '--follow -f --json --help' "$cur"
                        elif [ "$cmd" = stats ]; then
                                _jailer_words '--follow -f --interval --json --help' "$cur"
                        else
                                _jailer_words '--json --help' "$cur"
                        fi
                elif ((n == 0)); then
                        [ "$cmd" = kill ] && state=running
                        [ "$cmd" = start ] && state=prepared
                        _jailer_words "$(_jailerctl_ids "$1" "$state" "$socket")" "$cur"
                elif [ "$cmd" = kill ] && { ((n == 1)) || [[ " ${COMP_WORDS[*]:cmd_at+1:COMP_CWORD-cmd_at-1} " == *" --all "* ]]; }; then
                        _jailer_words 'SIGTERM SIGKILL SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGSTOP SIGCONT' "$cur"
                else
                        COMPREPLY=()
                fi
                ;;
        list | events | version)
                _jailer_words '--json --help' "$cur"
                ;;
        *)
                COMPREPLY=()
                ;;
        esac
        return 0
}

complete -F _jailer jailer
complete -F _jailerctl jailerctl

#!/bin/sh
# A fork bomb with a fuse, for lesson 16. Run as: forkbomb.sh CGROUP-DIR
# Every process starts two more, eight levels deep: at most 511 processes in
# all, each gone after 20 s. In a cgroup whose pids.max is small, most forks
# fail ("Cannot fork") and the cgroup never holds more than pids.max tasks.
echo $$ > "$1/cgroup.procs"    # this script and everything it starts: in the cgroup
bomb() {
    if [ "$1" -gt 0 ]; then
        bomb $(($1 - 1)) &
        bomb $(($1 - 1)) &
        wait
    else
        exec sleep 20
    fi
}
bomb 8 2>/dev/null &
exec sleep 30

#!/bin/sh
# hello.sh: the program of the hand-made container (lessons 06-09).
# It says who and where it is, then waits, like the slides' `sleep 260`.
# POSIX sh only: it runs inside a minimal rootfs.
#   hello.sh          wait forever (one `sleep 1` at a time)
#   hello.sh SECONDS  wait that many seconds, then exit
# (no >/dev/null here: a rootfs may have no /dev/null, and as root the
# redirect would create a plain file in its place)
name=$(hostname 2>&- || uname -n)
echo "hello from $name: I am pid $$, my root holds: $(echo /*)"
left=${1:--1}
while [ "$left" != 0 ]; do
    sleep 1
    [ "$left" -gt 0 ] && left=$((left - 1))
done
echo "hello.sh (pid $$) says goodbye"

#!/bin/sh
# assets/docker-dirs.sh NAME: where a running Docker container's overlay lives, on
# either of Docker's image stores. Prints each role on a line of its own, its paths
# under it: LowerDir (top first), UpperDir, WorkDir, MergedDir.
#
# - overlay2 (Docker's own graph driver): `docker inspect` has them, in
#   .GraphDriver.Data.
# - the containerd image store (the default of fresh installs since Docker 29):
#   `docker inspect` has GraphDriver.Data null. The container's / is an overlay
#   mount all the same: /proc/PID/mountinfo of its process holds lowerdir,
#   upperdir and workdir (containerd's snapshots/N/fs), and the same overlay is
#   mounted on the host (DATA-ROOT/rootfs/overlayfs/ID): the MergedDir.
set -eu
[ $# -eq 1 ] || { echo "usage: docker-dirs.sh CONTAINER" >&2; exit 2; }
name=$1
upper=$(docker inspect -f '{{with .GraphDriver.Data}}{{.UpperDir}}{{end}}' "$name")
if [ -n "$upper" ]; then
    echo LowerDir
    docker inspect -f '{{.GraphDriver.Data.LowerDir}}' "$name" | tr ':' '\n'
    echo UpperDir
    echo "$upper"
    echo WorkDir
    docker inspect -f '{{.GraphDriver.Data.WorkDir}}' "$name"
    echo MergedDir
    docker inspect -f '{{.GraphDriver.Data.MergedDir}}' "$name"
    exit 0
fi
pid=$(docker inspect -f '{{.State.Pid}}' "$name")
if [ "$pid" -le 0 ]; then
    echo "$name runs no process: its overlay is not mounted" >&2
    exit 1
fi
# the mount at / inside the container; its last field: the overlay's options
opts=$(awk '$5 == "/" { o = $NF } END { print o }' "/proc/$pid/mountinfo" | tr ',' '\n')
opt() { printf '%s\n' "$opts" | sed -n "s/^$1=//p"; }
upper=$(opt upperdir)
[ -n "$upper" ] || { echo "the root of $name is no overlay" >&2; exit 1; }
echo LowerDir
opt lowerdir | tr ':' '\n'
echo UpperDir
echo "$upper"
echo WorkDir
opt workdir
echo MergedDir
awk -v u="upperdir=$upper" '$3 == "overlay" {
    n = split($4, o, ",")
    for (i = 1; i <= n; i++) if (o[i] == u) { print $2; exit }
}' /proc/mounts

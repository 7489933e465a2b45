#!/usr/bin/env bash
# Debian 13's dockerd and containerd, unpacked into a folder of their own, not installed:
# for tests/test_containerd_store.py (Docker's containerd image store needs dockerd >= 24;
# Debian 12 has 20.10). Prints the dockerd's path; exit 1 with a message if it cannot.
#   bash assets/newer-dockerd.sh [DIR]     (default /var/cache/shikumi-newer-dockerd)
set -euo pipefail
DIR="${1:-/var/cache/shikumi-newer-dockerd}"
DOCKERD="$DIR/root/usr/sbin/dockerd"
fail() { echo "newer-dockerd: $*" >&2; exit 1; }
if [ -x "$DOCKERD" ]; then echo "$DOCKERD"; exit 0; fi
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || fail "needs apt-get and dpkg-deb"
mkdir -p "$DIR/apt/etc" "$DIR/apt/lists/partial" "$DIR/apt/cache/archives/partial" "$DIR/debs"
echo "deb http://deb.debian.org/debian trixie main" >"$DIR/apt/etc/sources.list"
APT=(-o "Dir::Etc::SourceList=$DIR/apt/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
     -o "Dir::State::Lists=$DIR/apt/lists" -o "Dir::Cache=$DIR/apt/cache"
     -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -qq)
timeout 300 apt-get "${APT[@]}" update >&2 || fail "apt-get update of Debian 13's lists failed"
(cd "$DIR/debs" && timeout 600 apt-get "${APT[@]}" download docker.io containerd >&2) \
    || fail "apt-get download docker.io containerd (Debian 13) failed"
rm -rf "$DIR/root.new" && mkdir -p "$DIR/root.new"
for deb in "$DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$DIR/root.new"; done
rm -rf "$DIR/root" && mv "$DIR/root.new" "$DIR/root"
[ -x "$DOCKERD" ] || fail "no dockerd in the unpacked packages"
echo "$DOCKERD"

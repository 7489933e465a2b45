#!/usr/bin/env bash
# tests/fresh/run-in-fresh-debian.sh: prove the Quick start on a fresh machine.
#
# Builds (once) a Debian 12 base system with `debootstrap --variant=minbase`
# (no python3, no ca-certificates, no curl), imports it as a Docker image, copies
# this checkout into a container of it as a fresh clone would be, and runs
# `bash .ci/run` there (CI=true, no stdin): provision, venv, package, the whole
# test suite, with a private dockerd inside. Prints PASS or FAIL, the time and
# the log's path; exits with .ci/run's status.
#
#   sudo tests/fresh/run-in-fresh-debian.sh [--committed] [--keep] [--rebuild] [-- CMD...]
#
#   --committed  test what is committed (git clone of HEAD) instead of the
#                working tree (tracked and untracked files, less .gitignore'd ones)
#   --keep       keep the container's volumes (lab home, docker data) afterwards
#   --rebuild    debootstrap and import the base again
#   -- CMD...    run CMD in the container instead of `bash .ci/run`
#
# Caches, kept between runs: the base in $FRESH_DIR (/var/tmp/fresh-bookworm) and
# the image $FRESH_IMAGE (shikumi-fresh:bookworm) in the Docker daemon used.
# Needs root, debootstrap (installed if missing) and a Docker daemon: one that
# answers on $DOCKER_HOST or the default socket, else assets/provision.sh starts
# its private one and this script stops it at the end.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FRESH_DIR="${FRESH_DIR:-/var/tmp/fresh-bookworm}"
FRESH_IMAGE="${FRESH_IMAGE:-shikumi-fresh:bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SUITE="${SUITE:-bookworm}"
TIME_LIMIT="${TIME_LIMIT:-5400}"   # CI's limit, in seconds
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
LOG="${LOG:-/var/tmp/shikumi-fresh-$(date +%Y%m%d-%H%M%S).log}"

committed=0 keep=0 rebuild=0 cmd=(bash .ci/run)
while [ "$#" -gt 0 ]; do
    case "$1" in
        --committed) committed=1 ;;
        --keep) keep=1 ;;
        --rebuild) rebuild=1 ;;
        --) shift; cmd=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '[fresh] %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "run-in-fresh-debian.sh: needs root: sudo $0" >&2; exit 1; }

run_id="$$"
name="shikumi-fresh-$run_id"
vol_home="shikumi-fresh-home-$run_id"
vol_docker="shikumi-fresh-docker-$run_id"
vol_tmp="shikumi-fresh-tmp-$run_id"
src=""
started_dockerd=0

cleanup() {
    set +e
    docker rm -f "$name" >/dev/null 2>&1
    if [ "$keep" = 0 ]; then
        docker volume rm "$vol_home" "$vol_docker" "$vol_tmp" >/dev/null 2>&1
    else
        say "kept volumes: $vol_home $vol_docker $vol_tmp"
    fi
    [ -n "$src" ] && rm -rf "$src"
    if [ "$started_dockerd" = 1 ]; then
        bash "$REPO/assets/provision.sh" --stop-docker >/dev/null
        say "stopped the private dockerd this script started"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. a Docker daemon here
command -v docker >/dev/null || { say "installing docker.io etc. through assets/provision.sh"; bash "$REPO/assets/provision.sh"; }
if ! { [ -n "${DOCKER_HOST:-}" ] && timeout 10 docker info >/dev/null 2>&1; } \
   && ! timeout 10 docker -H unix:///var/run/docker.sock info >/dev/null 2>&1; then
    pid_before="$(cat /run/shikumi-docker/dockerd.pid 2>/dev/null || true)"
    bash "$REPO/assets/provision.sh" --start-docker
    pid_after="$(cat /run/shikumi-docker/dockerd.pid 2>/dev/null || true)"
    [ -n "$pid_after" ] && [ "$pid_after" != "$pid_before" ] && started_dockerd=1
    export "$(grep -m1 '^DOCKER_HOST=' /run/shikumi-docker/env)"
elif [ -z "${DOCKER_HOST:-}" ]; then
    export DOCKER_HOST=unix:///var/run/docker.sock
fi
say "docker: DOCKER_HOST=$DOCKER_HOST"

# 2. the base system, once
if [ "$rebuild" = 1 ]; then
    rm -rf "$FRESH_DIR"
    docker image rm "$FRESH_IMAGE" >/dev/null 2>&1 || true
fi
if [ ! -x "$FRESH_DIR/bin/bash" ]; then
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
    say "debootstrap --variant=minbase $SUITE $FRESH_DIR $MIRROR"
    rm -rf "$FRESH_DIR.partial"
    debootstrap --variant=minbase "$SUITE" "$FRESH_DIR.partial" "$MIRROR" >"$LOG.debootstrap" 2>&1 \
        || { tail -n 20 "$LOG.debootstrap" >&2; exit 1; }
    mv "$FRESH_DIR.partial" "$FRESH_DIR"
    docker image rm "$FRESH_IMAGE" >/dev/null 2>&1 || true
fi
if ! docker image inspect "$FRESH_IMAGE" >/dev/null 2>&1; then
    say "importing $FRESH_DIR as $FRESH_IMAGE"
    tar -C "$FRESH_DIR" -c . | docker import -c 'CMD ["/bin/bash"]' - "$FRESH_IMAGE" >/dev/null
fi
# It really is bare: no python3, no ca-certificates.
docker run --rm "$FRESH_IMAGE" sh -c '! command -v python3 && ! command -v curl && [ ! -e /etc/ssl/certs/ca-certificates.crt ]' >/dev/null \
    || { echo "$FRESH_IMAGE is not a bare base system (python3, curl or a CA bundle found)" >&2; exit 1; }

# 3. a fresh copy of the checkout
src="$(mktemp -d /var/tmp/shikumi-fresh-src.XXXXXX)"
if [ "$committed" = 1 ]; then
    say "cloning the committed HEAD of $REPO"
    git clone -q "$REPO" "$src/src"
elif git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    say "copying the working tree of $REPO (tracked + untracked, less .gitignore'd files)"
    mkdir -p "$src/src"
    (cd "$REPO" && git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar --null -T - -c) | tar -C "$src/src" -x
else
    say "copying $REPO (not a git checkout; leaving out .venv and caches)"
    mkdir -p "$src/src"
    tar -C "$REPO" --exclude=./.venv --exclude=__pycache__ --exclude=.pytest_cache \
        --exclude=.ruff_cache --exclude=.hypothesis --exclude='*.egg-info' -c . | tar -C "$src/src" -x
fi

# 4. run it. This VM (and others) withhold CAP_SYS_RESOURCE, so --privileged
# fails: add every other capability and lift the confinement instead. The lab's
# home, docker's data root and /tmp (pytest's tmp_path) are volumes, on the
# host's disk as on a real machine: overlayfs refuses an upper dir that is itself
# on overlayfs, which the container's own root is.
ca_args=()
if [ -r "$CA_BUNDLE" ]; then
    # Only for reaching PyPI where a proxy re-signs TLS; the image itself has no bundle.
    ca_args=(-v "$CA_BUNDLE:/etc/ssl/host-ca.crt:ro"
             -e PIP_CERT=/etc/ssl/host-ca.crt -e REQUESTS_CA_BUNDLE=/etc/ssl/host-ca.crt
             -e SSL_CERT_FILE=/etc/ssl/host-ca.crt)
fi
say "running '${cmd[*]}' in a fresh $FRESH_IMAGE container (log: $LOG)"
start=$SECONDS
rc=0
timeout --kill-after=30 "$TIME_LIMIT" docker run --rm --name "$name" \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    -v "$vol_home:/var/lib/shikumi" \
    -v "$vol_docker:/var/lib/shikumi-docker" \
    -v "$vol_tmp:/tmp" \
    -v "$src/src:/src" -w /src \
    -e CI=true -e TERM=xterm-256color \
    "${ca_args[@]}" \
    "$FRESH_IMAGE" "${cmd[@]}" </dev/null 2>&1 | tee "$LOG" || rc=$?
secs=$((SECONDS - start))
summary="$(grep -E '^=+ .*(passed|failed|error|no tests ran).* =+$' "$LOG" | tail -n 1 || true)"
if [ "$rc" = 0 ]; then
    say "PASS in ${secs}s: ${summary:-(no pytest summary)}  (log: $LOG)"
else
    say "FAIL (exit $rc) in ${secs}s: ${summary:-(no pytest summary)}  (log: $LOG)"
fi
exit "$rc"

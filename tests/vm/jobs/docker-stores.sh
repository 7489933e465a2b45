# tests/vm/jobs/docker-stores.sh: lessons $LESSONS (default 10 11 12 13) with
# Docker's default image store, then with the containerd image store switched on
# ("features": {"containerd-snapshotter": true} in /etc/docker/daemon.json,
# docker restarted by systemctl). Meant for Debian 13 (newer kernel, newer docker.io).
set -u
. "$SHARE/lib.sh"
cd /opt/shikumi-lab
LESSONS="${LESSONS:-10 11 12 13}"
facts
vagrant_rsync_excludes
step vagrant-provision 2400 vagrant_provision
step docker-facts-default 60 docker_facts
step_out doctor 120 shikumi doctor --json
# shellcheck disable=SC2086
step_out play-default-store 1800 shikumi play $LESSONS --json
step leftovers-default-store 60 leftovers
# containerd's introspection service keeps a uuid file; one found in the saved disk was 36
# zero bytes (written, then its data lost at power-off), and containerd 1.7 then fails
# every introspection call with "invalid UUID format": dockerd with the containerd store
# asks for it at start and exits (containerd #10491; its fix #10503 redoes only an empty
# file). A file that is no UUID is removed: containerd writes a new one on the next call.
repair_containerd_uuid() {
    local f=/var/lib/containerd/io.containerd.grpc.v1.introspection/uuid
    [ -e "$f" ] || return 0
    if ! grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$f"; then
        echo "containerd's $f is no UUID ($(od -An -c "$f" | head -n 1 | tr -s ' ')): removed"
        rm -f "$f"
    fi
}
export -f repair_containerd_uuid
containerd_store() {
    repair_containerd_uuid
    mkdir -p /etc/docker
    printf '{\n  "features": {"containerd-snapshotter": true}\n}\n' >/etc/docker/daemon.json
    systemctl restart docker
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info --format '{{json .DriverStatus}}'
    docker info --format '{{json .DriverStatus}}' | grep -q 'io.containerd.snapshotter' \
        || { echo "the containerd image store is not in use"; uuid_facts; return 1; }
}
# What the last run could not tell (dockerd 26.1.5 exited "invalid UUID format: unknown",
# the error of containerd's introspection service when its uuid file does not parse):
# that file, byte by byte, and the containerd that answered.
uuid_facts() {
    local f
    for f in /var/lib/containerd/io.containerd.grpc.v1.introspection/uuid \
             /var/lib/docker/containerd/daemon/io.containerd.grpc.v1.introspection/uuid; do
        echo "== $f"; ls -l "$f" 2>&1; od -c "$f" 2>&1 | head -n 5
    done
    systemctl status containerd --no-pager 2>&1 | head -n 5
    ctr version 2>&1 | tail -n 4
    journalctl -u docker -u containerd --no-pager -n 40 2>&1
}
export -f uuid_facts
export -f containerd_store
step containerd-store 180 containerd_store
step docker-facts-containerd 60 docker_facts
# shellcheck disable=SC2086
step_out play-containerd-store 1800 shikumi play $LESSONS --json
step_out cleanup 300 shikumi cleanup --json
step leftovers-containerd-store 60 leftovers
if [ -n "${TESTS:-}" ]; then   # pytest arguments, comma-separated
    tests_args="${TESTS//,/ }"
    # shellcheck disable=SC2086
    step run-test 3600 env CI=true .venv/bin/python -m pytest -q -rfEs -p no:cacheprovider $tests_args
fi
finish

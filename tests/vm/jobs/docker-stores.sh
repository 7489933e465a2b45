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
containerd_store() {
    mkdir -p /etc/docker
    printf '{\n  "features": {"containerd-snapshotter": true}\n}\n' >/etc/docker/daemon.json
    systemctl restart docker
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info --format '{{json .DriverStatus}}'
    docker info --format '{{json .DriverStatus}}' | grep -q 'io.containerd.snapshotter' \
        || { echo "the containerd image store is not in use"; return 1; }
}
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

# tests/vm/jobs/lib.sh: helpers for the jobs run inside the VM (sourced).
# $OUT is the 9p share's out/ directory: what is written there comes back to the host.
FAILED=0
STEPS="$OUT/steps.txt"
: >"$STEPS"

# step NAME TIMEOUT CMD...: run CMD with a timeout, its output shown and kept in
# $OUT/NAME.log; a line "NAME status seconds" goes to steps.txt.
step() {
    local name="$1" secs="$2" t0=$SECONDS rc=0
    shift 2
    echo "==> [$(date -u +%H:%M:%S)] step $name: $*"
    timeout --kill-after=20 "$secs" bash -c '"$@"' step "$@" >"$OUT/$name.log" 2>&1 </dev/null || rc=$?
    cat "$OUT/$name.log"
    echo "$name $rc $((SECONDS - t0))" >>"$STEPS"
    echo "<== step $name: exit $rc in $((SECONDS - t0)) s"
    [ "$rc" = 0 ] || FAILED=$((FAILED + 1))
    return 0
}

# step_out NAME TIMEOUT CMD...: as step, but stdout alone goes to $OUT/NAME.out
# (for --json output) and stderr to $OUT/NAME.log.
step_out() {
    local name="$1" secs="$2" t0=$SECONDS rc=0
    shift 2
    echo "==> [$(date -u +%H:%M:%S)] step $name: $*"
    timeout --kill-after=20 "$secs" bash -c '"$@"' step "$@" >"$OUT/$name.out" 2>"$OUT/$name.log" </dev/null || rc=$?
    tail -n 40 "$OUT/$name.log"
    cat "$OUT/$name.out"; echo
    echo "$name $rc $((SECONDS - t0))" >>"$STEPS"
    echo "<== step $name: exit $rc in $((SECONDS - t0)) s"
    [ "$rc" = 0 ] || FAILED=$((FAILED + 1))
    return 0
}

facts() {
    {
        echo "pid1=$(cat /proc/1/comm)"
        echo "kernel=$(uname -r)"
        echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
        echo "cgroupfs=$(stat -fc %T /sys/fs/cgroup)"
        echo "controllers=$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
        echo "subtree_control=$(cat /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null)"
        echo "cpus=$(nproc) mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    } | tee "$OUT/facts.txt"
}

# What `vagrant up` does before provisioning: rsync the repository to
# /opt/shikumi-lab less the Vagrantfile's rsync__exclude list (a clean clone
# has only .git of it).
vagrant_rsync_excludes() {
    local pat
    for pat in .venv .git __pycache__ .pytest_cache .ruff_cache .hypothesis '*.egg-info'; do
        find /opt/shikumi-lab -depth -name "$pat" -exec rm -rf {} + 2>/dev/null || true
    done
}

# The Vagrantfile's shell provisioner as vagrant runs it (privileged): the
# inline script uploaded to /tmp/vagrant-shell, made executable and run by a
# root login shell (`sudo -E -H bash -l`).
vagrant_provision() {
    install -m 0755 "$SHARE/vagrant-shell" /tmp/vagrant-shell
    bash -l -c "chmod +x '/tmp/vagrant-shell' && /tmp/vagrant-shell"
}

docker_facts() {
    systemctl is-active docker
    systemctl is-enabled docker
    docker info --format 'driver={{.Driver}} cgroup_driver={{.CgroupDriver}} cgroup_version={{.CgroupVersion}} server={{.ServerVersion}}'
    docker info --format '{{json .DriverStatus}}'
}

# Anything of the lab's left in the machine (the places the leak check looks),
# one line each; fails if there is any.
leftovers() {
    local found
    found="$(
        find /sys/fs/cgroup -name 'shikumi*' -type d | sed 's/^/cgroup /'
        awk '$2 ~ /shikumi/ && $2 != "/mnt/shikumi" {print "mount " $2}' /proc/mounts
        ip -o link show | awk -F': ' '$2 ~ /^shk/ {print "link " $2}'
        ip netns list 2>/dev/null | awk '/^shk/ {print "netns " $1}'
        iptables-save 2>/dev/null | grep -i shikumi | sed 's/^/iptables /'
        docker ps -a --format '{{.Names}}' 2>/dev/null | grep '^shikumi' | sed 's/^/container /'
        docker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep '^shikumi' | sed 's/^/image /'
    )"
    [ -n "$found" ] && echo "$found"
    echo "leftovers: $(printf '%s' "$found" | grep -c .)"
    [ -z "$found" ]
}

# the steps run CMD in `bash -c` under timeout: the functions above must be exported
export -f vagrant_rsync_excludes vagrant_provision docker_facts leftovers

finish() {
    echo "steps (name status seconds):"
    cat "$STEPS"
    echo "failed steps: $FAILED"
    [ "$FAILED" = 0 ]
}

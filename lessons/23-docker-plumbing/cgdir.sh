#!/bin/sh
# cgdir.sh PID CONTROLLER: the directory of PID's cgroup that holds CONTROLLER's files,
# read from /proc/PID/cgroup. cgroup v1 (the cgroupfs driver: /docker/<id> in each
# controller's tree) and v2 (the systemd driver: /system.slice/docker-<id>.scope in
# the one tree; the cgroupfs driver on v2: /docker/<id>) alike.
pid=$1
ctl=$2
while IFS=: read -r _ ctls path; do
    case ",$ctls," in
    *",$ctl,"*)
        # v1: this controller's own hierarchy (cpu and cpuacct often share one: cpu,cpuacct)
        for d in "/sys/fs/cgroup/$ctl$path" "/sys/fs/cgroup/$ctls$path"; do
            [ -d "$d" ] && { echo "$d"; exit 0; }
        done
        ;;
    ",,")
        # v2: the unified tree, at /sys/fs/cgroup (or /sys/fs/cgroup/unified beside v1)
        if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -d "/sys/fs/cgroup$path" ]; then
            v2="/sys/fs/cgroup$path"
        fi
        ;;
    esac
done <"/proc/$pid/cgroup"
[ -n "$v2" ] && { echo "$v2"; exit 0; }
echo "no $ctl cgroup found for pid $pid" >&2
exit 1

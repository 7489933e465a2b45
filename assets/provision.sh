#!/usr/bin/env bash
# assets/provision.sh: the system set-up of shikumi-lab.
#
# Shared by ./run.sh, the Vagrantfile and CI. Idempotent: it installs only what
# is missing and can be run again at any time. Works as root on a fresh Debian 12
# or Ubuntu 24.04 base system (debootstrap --variant=minbase: no python3, no
# ca-certificates, no sudo, no curl).
#
#   provision.sh                 install the missing system packages; on a machine
#                                booted with systemd, enable and start docker
#   provision.sh --with-test-tools   the same, plus what the tests use (ruby; on
#                                Debian also chromium and vagrant)
#   provision.sh --start-docker  make sure a Docker daemon answers. Uses one that
#                                already answers ($DOCKER_HOST or the default socket);
#                                with systemd: systemctl enable --now docker;
#                                otherwise starts a private dockerd on
#                                unix:///run/shikumi-docker/docker.sock.
#                                Writes DOCKER_HOST=... to /run/shikumi-docker/env.
#   provision.sh --stop-docker   stop the private dockerd (by its pidfile) and wait
#   provision.sh --docker-status say which daemon answers, if any
set -euo pipefail

SHK_RUN=/run/shikumi-docker
SHK_SOCK="unix://$SHK_RUN/docker.sock"
SHK_PIDFILE="$SHK_RUN/dockerd.pid"
SHK_LOG="$SHK_RUN/dockerd.log"
SHK_ENV="$SHK_RUN/env"
SHK_DATA=/var/lib/shikumi-docker
DEFAULT_SOCK=unix:///var/run/docker.sock
DOCKER_WAIT="${SHIKUMI_DOCKER_WAIT:-60}"   # seconds to wait for a daemon to answer

# Debian package names. python3-venv brings ensurepip (so python3-pip is not
# needed); librsvg2-bin (rsvg-convert) turns Textual's SVG screenshots into PNG.
PACKAGES=(
    python3 python3-venv ca-certificates git
    tree busybox-static iproute2 iptables tmux util-linux procps psmisc kmod
    librsvg2-bin docker.io
    runc crun libcap2-bin jq
    uidmap rootlesskit slirp4netns
    docker-registry skopeo umoci curl
)
# runc is also Docker's own runtime here (docker.io depends on Debian's runc): lesson 19
# runs it by hand, beside crun; libcap2-bin brings capsh (lesson 20); jq reads config.json.
# uidmap brings newuidmap/newgidmap (subordinate ids), rootlesskit and slirp4netns start
# a rootless container and give it a network (lesson 21).
# Lesson 22 starts docker-registry itself on 127.0.0.1 (the package's own service, on
# :5000 of every address, is stopped and disabled where systemd started it), pushes to it
# with curl, reads images with skopeo and umoci.
# Only for the test suite (./run.sh test): ruby checks the Vagrantfile's syntax.
TEST_PACKAGES=(ruby)
# Debian only (Ubuntu 24.04's chromium is a snap stub, and it has no vagrant):
# chromium drives `shikumi serve` in a headless browser (tests/test_serve.py),
# vagrant validates the classroom Vagrantfile; those tests skip without them.
DEBIAN_TEST_PACKAGES=(chromium vagrant)

say()  { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die()  { printf 'provision.sh: error: %s\n' "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0 $*)"
}

has_systemd() {
    # The same test as sd_booted(3): systemd is PID 1.
    [ -d /run/systemd/system ]
}

os_id() {
    local id=""
    # shellcheck disable=SC1091
    [ -r /etc/os-release ] && id="$(. /etc/os-release && echo "${ID:-}")"
    echo "$id"
}

installed() {
    # dpkg's "ii " means installed and configured.
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

has_candidate() {
    local c
    c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

APT_OPTS=(-y -q -o Dpkg::Use-Pty=0 -o Acquire::Retries=3 --no-install-recommends)
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0

deny_service_starts() {
    # Without systemd, a package's postinst would start its service through the
    # SysV script (docker.io would start a dockerd on the default socket). We
    # start the daemon ourselves, on our own terms, so ask invoke-rc.d not to.
    if ! has_systemd && [ ! -e "$POLICY_RC" ]; then
        printf '#!/bin/sh\n# written by shikumi-lab provision.sh while installing\nexit 101\n' >"$POLICY_RC"
        chmod 0755 "$POLICY_RC"
        POLICY_RC_OURS=1
    fi
}

allow_service_starts() {
    if [ "$POLICY_RC_OURS" = 1 ]; then
        rm -f "$POLICY_RC"
        POLICY_RC_OURS=0
    fi
}

enable_ubuntu_universe() {
    # docker.io and tree live in Ubuntu's "universe", which a minimal system may
    # not have. Add it for the mirror the system already uses.
    local mirror codename
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                  /etc/apt/sources.list.d/*.sources 2>/dev/null \
              | grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' \
              | grep -oE 'https?://[^[:space:]]+' \
              | grep -v -e security -e shikumi | grep -m1 ubuntu || true)"
    [ -n "$mirror" ] || mirror="http://archive.ubuntu.com/ubuntu"
    [ -n "$codename" ] || die "cannot tell the Ubuntu release (VERSION_CODENAME) to enable universe"
    note "enabling Ubuntu's universe component ($mirror $codename) in /etc/apt/sources.list.d/shikumi-universe.list"
    printf 'deb %s %s universe\ndeb %s %s-updates universe\n' \
        "$mirror" "$codename" "$mirror" "$codename" >/etc/apt/sources.list.d/shikumi-universe.list
    apt-get update -q -o Acquire::Retries=3
}

install_packages() {  # install_packages PACKAGE...
    local missing=() p
    for p in "$@"; do
        installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "system packages: all present"
        return 0
    fi
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q -o Acquire::Retries=3
    if [ "$(os_id)" = ubuntu ]; then
        for p in "${missing[@]}"; do
            if ! has_candidate "$p"; then enable_ubuntu_universe; break; fi
        done
    fi
    trap allow_service_starts EXIT
    deny_service_starts
    apt-get install "${APT_OPTS[@]}" "${missing[@]}"
    allow_service_starts
    trap - EXIT
    for p in "${missing[@]}"; do
        installed "$p" || die "package $p did not install"
    done
    say "system packages: installed ${#missing[@]}"
    for p in "${missing[@]}"; do
        if [ "$p" = docker-registry ] && has_systemd; then
            note "docker-registry: the lab starts its own on 127.0.0.1; stopping the package's service (:5000)"
            systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
        fi
    done
}

# ---------------------------------------------------------------- docker ---

docker_answers() {  # docker_answers HOST
    command -v docker >/dev/null 2>&1 || return 1
    timeout 10 docker -H "$1" info >/dev/null 2>&1
}

write_env() {  # write_env HOST
    mkdir -p "$SHK_RUN"
    printf 'DOCKER_HOST=%s\n' "$1" >"$SHK_ENV.tmp"
    mv "$SHK_ENV.tmp" "$SHK_ENV"
}

close_inherited_fds() {
    # Closes every descriptor this (sub)shell holds above 2.
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
        fd="${fd##*/}"
        case "$fd" in '' | *[!0-9]*) continue ;; esac
        [ "$fd" -gt 2 ] && exec {fd}>&-
    done
    return 0
}

private_pid() {
    # Prints the PID of our private dockerd if it is alive.
    local pid
    [ -r "$SHK_PIDFILE" ] || return 1
    pid="$(cat "$SHK_PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = dockerd ] || return 1
    echo "$pid"
}

wait_for() {  # wait_for HOST SECONDS [PID]: until `docker info` answers
    local host="$1" secs="$2" pid="${3:-}" start=$SECONDS
    while ! docker_answers "$host"; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 2
        fi
        if [ $((SECONDS - start)) -ge "$secs" ]; then
            return 1
        fi
        sleep 1
    done
}

start_docker() {
    command -v docker >/dev/null 2>&1 \
        || die "no docker command: run $0 (without arguments) first to install docker.io"

    if [ -n "${DOCKER_HOST:-}" ] && docker_answers "$DOCKER_HOST"; then
        say "docker: a daemon answers on DOCKER_HOST=$DOCKER_HOST; using it"
        write_env "$DOCKER_HOST"; return 0
    fi
    if docker_answers "$DEFAULT_SOCK"; then
        say "docker: a daemon answers on $DEFAULT_SOCK; using it"
        write_env "$DEFAULT_SOCK"; return 0
    fi
    if docker_answers "$SHK_SOCK"; then
        say "docker: shikumi's private dockerd already answers on $SHK_SOCK"
        write_env "$SHK_SOCK"; return 0
    fi

    if has_systemd; then
        say "docker: systemctl enable --now docker"
        systemctl enable --now docker >/dev/null 2>&1 || systemctl enable --now docker
        if ! wait_for "$DEFAULT_SOCK" "$DOCKER_WAIT"; then
            journalctl -u docker --no-pager -n 30 2>/dev/null || true
            die "docker did not answer on $DEFAULT_SOCK within ${DOCKER_WAIT}s (see above)"
        fi
        write_env "$DEFAULT_SOCK"; return 0
    fi

    command -v dockerd >/dev/null 2>&1 || die "no dockerd: run $0 (without arguments) to install docker.io"
    local pid
    if pid="$(private_pid)"; then
        say "docker: private dockerd (pid $pid) is running but not answering yet; waiting"
    else
        say "docker: no systemd here; starting a private dockerd on $SHK_SOCK"
        mkdir -p "$SHK_RUN" "$SHK_DATA"
        rm -f "$SHK_PIDFILE" "$SHK_ENV"
        : >"$SHK_LOG"
        # setsid: its own session, so a Ctrl-C in the terminal does not reach it;
        # it is stopped with --stop-docker. It inherits no descriptor beyond 0-2: a
        # caller's lock (e.g. `flock LOCK provision.sh --start-docker`) would
        # otherwise stay held by the daemon for as long as it runs.
        (
        close_inherited_fds
        exec setsid dockerd \
            --host="$SHK_SOCK" \
            --data-root="$SHK_DATA" \
            --exec-root="$SHK_RUN/exec" \
            --pidfile="$SHK_PIDFILE" \
            </dev/null >>"$SHK_LOG" 2>&1
        ) &
        pid=$!
        note "pid $pid, data $SHK_DATA, log $SHK_LOG"
    fi
    local rc=0
    wait_for "$SHK_SOCK" "$DOCKER_WAIT" "$pid" || rc=$?
    if [ "$rc" -ne 0 ]; then
        if [ "$rc" = 2 ]; then
            echo "provision.sh: dockerd exited before it answered; last lines of $SHK_LOG:" >&2
        else
            echo "provision.sh: dockerd did not answer on $SHK_SOCK within ${DOCKER_WAIT}s; last lines of $SHK_LOG:" >&2
        fi
        tail -n 25 "$SHK_LOG" | sed 's/^/    /' >&2 || true
        stop_docker >/dev/null 2>&1 || true
        exit 1
    fi
    write_env "$SHK_SOCK"
    say "docker: private dockerd answers (DOCKER_HOST=$SHK_SOCK, written to $SHK_ENV)"
}

stop_docker() {
    local pid i
    if ! pid="$(private_pid)"; then
        rm -f "$SHK_PIDFILE"
        [ -r "$SHK_ENV" ] && grep -qx "DOCKER_HOST=$SHK_SOCK" "$SHK_ENV" && rm -f "$SHK_ENV"
        say "docker: no private dockerd running"
        return 0
    fi
    say "docker: stopping the private dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        note "still running after 30s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$SHK_PIDFILE" "$SHK_ENV"
    say "docker: private dockerd stopped"
}

docker_status() {
    local h
    for h in ${DOCKER_HOST:+"$DOCKER_HOST"} "$DEFAULT_SOCK" "$SHK_SOCK"; do
        if docker_answers "$h"; then echo "docker: answers on $h"; return 0; fi
    done
    echo "docker: no daemon answers"
    return 1
}

ensure_docker_cli() {
    # Debian 13's docker.io holds the daemon only: the docker command is in
    # docker-cli, which docker.io only recommends (found in a Debian 13 VM).
    command -v docker >/dev/null 2>&1 && return 0
    installed docker.io || return 0
    has_candidate docker-cli || apt-get update -q -o Acquire::Retries=3
    if has_candidate docker-cli; then install_packages docker-cli; fi
}

apparmor_enabled() {
    [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]
}

main() {
    case "${1:-}" in
        ""|--packages|--with-test-tools)
            need_root "$@"
            # docker.io only recommends apparmor, and recommends are not installed:
            # where the kernel has AppArmor on (Debian's and Ubuntu's kernels do),
            # dockerd then refuses every container ("AppArmor enabled on system but
            # the docker-default profile could not be loaded": no apparmor_parser).
            if apparmor_enabled; then PACKAGES+=(apparmor); fi
            if [ "${1:-}" = --with-test-tools ]; then
                if [ "$(os_id)" = debian ]; then TEST_PACKAGES+=("${DEBIAN_TEST_PACKAGES[@]}"); fi
                install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
            else
                install_packages "${PACKAGES[@]}"
            fi
            ensure_docker_cli
            if has_systemd && installed docker.io && ! docker_answers "$DEFAULT_SOCK"; then
                say "docker: systemctl enable --now docker"
                systemctl enable --now docker
            fi
            ;;
        --start-docker)  need_root "$@"; start_docker ;;
        --stop-docker)   need_root "$@"; stop_docker ;;
        --docker-status) docker_status ;;
        -h|--help)       sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# run.sh: set up whatever is missing, then open the lab or run the tests.
#
#   sudo ./run.sh [shikumi args...]   set up, then open the lab (`shikumi ...`)
#                                     e.g. ./run.sh doctor, ./run.sh open 05
#   sudo ./run.sh test [pytest args]  set up, start Docker if needed, run pytest
#   sudo ./run.sh setup               set up only (system packages, venv, package)
#
# Set-up: assets/provision.sh (system packages), a venv in .venv made with the
# system python3, `pip install -e '.[test]'` when pyproject.toml changed, and a
# /usr/local/bin/shikumi symlink so learners can type `sudo shikumi`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.shikumi-install-stamp"
PROVISION="$ROOT/assets/provision.sh"
SYSTEM_PY=/usr/bin/python3
LINK=/usr/local/bin/shikumi
DOCKER_ENV=/run/shikumi-docker/env
DOCKER_PIDFILE=/run/shikumi-docker/dockerd.pid

say() { printf '==> %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: shikumi-lab needs root (it mounts, makes namespaces and cgroups): run it with sudo, e.g. sudo ./run.sh $*" >&2
    exit 1
fi

setup_system() {  # setup_system [--with-test-tools]
    bash "$PROVISION" "$@"
}

check_python() {
    [ -x "$SYSTEM_PY" ] || die "$SYSTEM_PY is missing after provisioning"
    "$SYSTEM_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || die "shikumi-lab needs Python >= 3.11; $SYSTEM_PY is $("$SYSTEM_PY" -V 2>&1)"
}

venv_ok() {
    # The venv exists, runs, and was made from the system python3 now installed.
    [ -x "$VENV/bin/python" ] || return 1
    "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 || return 1
    local want have
    want="$("$SYSTEM_PY" -c 'import sys; print(sys.version)')"
    have="$("$VENV/bin/python" -c 'import sys; print(sys.version)')"
    [ "$want" = "$have" ] || return 1
    grep -qx 'home = /usr/bin' "$VENV/pyvenv.cfg" 2>/dev/null
}

setup_venv() {
    check_python
    if venv_ok; then
        say "venv: $VENV ($("$VENV/bin/python" -V 2>&1))"
    else
        say "creating the venv $VENV with $SYSTEM_PY ($("$SYSTEM_PY" -V 2>&1))"
        rm -rf "$VENV"
        "$SYSTEM_PY" -m venv "$VENV"
    fi
}

install_stamp() {
    # What the installed package depends on: pyproject.toml, where the checkout
    # is (the install is editable) and the interpreter.
    {
        sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1
        echo "$ROOT"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

setup_package() {
    [ -f "$ROOT/pyproject.toml" ] || die "no pyproject.toml in $ROOT"
    local want
    want="$(install_stamp)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/shikumi" ]; then
        say "package: up to date (pyproject.toml unchanged since the last install)"
        return 0
    fi
    say "installing the package and its test tools into the venv (pip install -e '.[test]')"
    rm -f "$STAMP"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
    [ -x "$VENV/bin/shikumi" ] || die "pip install finished but $VENV/bin/shikumi is missing"
    echo "$want" >"$STAMP"
}

setup_link() {
    local target="$VENV/bin/shikumi" cur
    if [ -L "$LINK" ]; then
        cur="$(readlink "$LINK")"
        if [ "$cur" = "$target" ]; then
            return 0
        fi
        case "$cur" in
            */.venv/bin/shikumi) ;;   # ours, from another checkout: point it here
            *) echo "    note: $LINK points to $cur, not to this lab; leaving it" >&2; return 0 ;;
        esac
    elif [ -e "$LINK" ]; then
        echo "    note: $LINK exists and is not shikumi-lab's symlink; leaving it (use $target)" >&2
        return 0
    fi
    mkdir -p "$(dirname "$LINK")"
    ln -sfn "$target" "$LINK"
    say "linked $LINK -> $target (sudo shikumi works from anywhere)"
}

setup_all() {  # setup_all [--with-test-tools]
    local start=$SECONDS
    setup_system "$@"
    setup_venv
    setup_package
    setup_link
    say "set-up done in $((SECONDS - start))s"
}

# Docker: make sure a daemon answers and export DOCKER_HOST. On a machine without
# systemd this starts a private dockerd; STARTED_DOCKERD=1 then.
STARTED_DOCKERD=0
private_dockerd_alive() {
    local pid
    pid="$(cat "$DOCKER_PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = dockerd ]
}

start_docker() {
    local was_alive=0 line
    private_dockerd_alive && was_alive=1
    if ! bash "$PROVISION" --start-docker; then
        echo "run.sh: warning: no Docker daemon; the lessons and tests that need Docker will say so or skip" >&2
        return 0
    fi
    if [ "$was_alive" = 0 ] && private_dockerd_alive; then
        STARTED_DOCKERD=1
    fi
    if [ -r "$DOCKER_ENV" ]; then
        line="$(grep -m1 '^DOCKER_HOST=' "$DOCKER_ENV" || true)"
        if [ -n "$line" ]; then export DOCKER_HOST="${line#DOCKER_HOST=}"; fi
    fi
}

stop_docker() {
    if [ "$STARTED_DOCKERD" = 1 ]; then
        STARTED_DOCKERD=0
        bash "$PROVISION" --stop-docker || true
    fi
}

# Docker's containerd image store needs dockerd >= 24: where the system's is older (Debian
# 12: 20.10), tests/test_containerd_store.py runs Debian 13's, unpacked aside, not installed.
newer_dockerd_for_tests() {
    local major path
    [ -n "${SHIKUMI_TEST_DOCKERD:-}" ] && return 0
    major="$(timeout 20 dockerd --version 2>/dev/null | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')"
    [ -n "$major" ] && [ "$major" -ge 24 ] && return 0
    if path="$(bash "$ROOT/assets/newer-dockerd.sh")"; then
        export SHIKUMI_TEST_DOCKERD="$path"
        say "a newer dockerd for the containerd image store's test: $path"
    else
        echo "run.sh: warning: no dockerd >= 24 for tests/test_containerd_store.py" >&2
    fi
}

cmd_test() {
    setup_all --with-test-tools
    trap stop_docker EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start_docker
    newer_dockerd_for_tests
    cd "$ROOT"
    say "running the tests: python -m pytest $*"
    local rc=0
    "$VENV/bin/python" -m pytest "$@" || rc=$?
    case "$rc" in
        0) ;;
        5) echo "run.sh: pytest collected no tests (exit 5): that is a failure" >&2 ;;
        *) echo "run.sh: pytest exited with status $rc" >&2 ;;
    esac
    exit "$rc"
}

cmd_open() {
    # The set-up's messages go to stderr, so that `./run.sh list --json` prints
    # only shikumi's output on stdout.
    setup_all >&2
    # Lessons 13 and 18 use the real Docker: make sure a daemon answers. A
    # private dockerd started here keeps running after the lab closes; stop it
    # with: sudo assets/provision.sh --stop-docker
    start_docker >&2
    exec "$VENV/bin/shikumi" "$@"
}

case "${1:-}" in
    test)  shift; cmd_test "$@" ;;
    setup) shift; [ "$#" -eq 0 ] || die "setup takes no arguments"; setup_all; say "run the lab with: sudo shikumi (or ./run.sh)" ;;
    *)     cmd_open "$@" ;;
esac

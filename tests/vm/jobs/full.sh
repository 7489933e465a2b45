# tests/vm/jobs/full.sh: the release gate in the VM. The Vagrantfile's
# provisioning, doctor, `./run.sh test` (all of it, or $TESTS: pytest
# arguments, comma-separated), `shikumi play --all --json`, the kill harness ($KILLS kills over
# every lesson, seed $SEED), cleanup and a search for leftovers (PLAY_ALL=0 leaves
# the play out: a second run of the tests alone); then Debian's
# vagrant package and `vagrant validate` (VAGRANT_VALIDATE=0 leaves that out).
set -u
. "$SHARE/lib.sh"
cd /opt/shikumi-lab
KILLS="${KILLS:-20}"
SEED="${SEED:-20261127}"
KILL_LESSONS="${KILL_LESSONS:-}"   # comma-separated; empty: every lesson
facts
vagrant_rsync_excludes
step vagrant-provision 2400 vagrant_provision
step docker-facts 60 docker_facts
step_out doctor 120 shikumi doctor --json
if [ "${PLAY_ALL:-1}" = 1 ]; then   # PLAY_ALL=0: the tests (and kills) alone
    step_out play-all 3600 shikumi play --all --json
    # lesson 16 in text: its views show the cgroups the lab and Docker made
    step play-16-text 900 shikumi play 16
    step_out cleanup-after-play 300 shikumi cleanup --json
    step leftovers-after-play 60 leftovers
fi
if [ "$KILLS" != 0 ]; then
    kill_args=()
    for l in ${KILL_LESSONS//,/ }; do kill_args+=(--lesson "$l"); done
    step kill-harness 5400 .venv/bin/python -m tests.harness.kill --kills "$KILLS" --seed "$SEED" "${kill_args[@]}"
    step leftovers-after-kills 60 leftovers
fi
if [ "${TESTS:-}" != none ]; then
    tests_args="${TESTS:-}"
    if [ "$tests_args" = subset ]; then   # the named subset: tests/vm/subset.txt
        tests_args=$(grep -v '^#' tests/vm/subset.txt | paste -sd, -)
    fi
    # ./run.sh test as CI runs it (CI=true: a test that would skip fails instead);
    # the tests' bounds on a `shikumi` run are for this host's speed: 3x under TCG
    # shellcheck disable=SC2086
    step run-test 10800 env CI="${CI_MODE:-true}" \
        SHIKUMI_TEST_TIMEOUT_SCALE="${TEST_TIMEOUT_SCALE:-3}" ./run.sh test -q -rfEs -p no:cacheprovider ${tests_args//,/ } --junitxml="$OUT/junit.xml"
    step leftovers-after-tests 60 leftovers
fi
if [ "${VAGRANT_VALIDATE:-1}" = 1 ]; then
    # Debian's own vagrant package, and `vagrant validate` of the Vagrantfile
    step vagrant-install 1800 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends vagrant
    step vagrant-validate 300 vagrant validate --ignore-provider
fi
finish

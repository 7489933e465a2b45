# tests/vm/jobs/smoke.sh: a learner's first hour on a systemd + cgroup v2 machine.
# The Vagrantfile's provisioning (provision.sh + run.sh setup: Docker through
# systemctl), `./run.sh setup` again, `shikumi doctor`, `shikumi play` of
# $LESSONS (default: 16 14 15 13), cleanup, and a search for leftovers.
# VAGRANT_VALIDATE=1 also installs Debian's vagrant and runs `vagrant validate`.
set -u
. "$SHARE/lib.sh"
cd /opt/shikumi-lab
LESSONS="${LESSONS:-16 14 15 13}"
facts
vagrant_rsync_excludes
step vagrant-provision 2400 vagrant_provision
step run-setup 1200 ./run.sh setup
step docker-facts 60 docker_facts
step_out doctor 120 shikumi doctor --json
step doctor-text 120 shikumi doctor
for l in ${LESSONS//,/ }; do
    step_out "play-$l" 900 shikumi play "$l" --json
    if [ "$(tail -n 1 "$STEPS" | cut -d' ' -f2)" != 0 ]; then
        # the JSON names the failed checks; the text run shows what they saw
        before=$FAILED
        step "play-$l-text" 900 shikumi play "$l"
        FAILED=$before   # the JSON run's failure is the one counted
    fi
done
step_out cleanup 300 shikumi cleanup --json
step leftovers 60 leftovers
if [ "${VAGRANT_VALIDATE:-0}" = 1 ]; then
    step vagrant-install 1200 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends vagrant
    step vagrant-validate 300 vagrant validate --ignore-provider
fi
finish

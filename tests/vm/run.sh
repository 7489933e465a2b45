#!/usr/bin/env bash
# tests/vm/run.sh: run the lab in a real VM, as a learner's machine is:
# systemd as PID 1, cgroup v2 with every controller, Docker started by systemd.
#
# Builds (once, cached) a Debian image from Debian packages only (debootstrap
# with systemd-sysv, linux-image-amd64, dbus; root on an ext4 image made with
# `mkfs.ext4 -d`), boots it with qemu-system-x86_64 straight from its kernel and
# initrd (KVM if a guest kernel actually boots under it, else TCG), copies in a
# clean clone of this repository (git clone of HEAD) at /opt/shikumi-lab, runs a
# job there as root (tests/vm/jobs/JOB.sh), and brings back its log and results
# through a 9p share. The guest reaches package registries through qemu's user
# networking. Exits with the job's status (124 if the VM timed out, 2 on bad use).
#
#   sudo tests/vm/run.sh [--suite bookworm|trixie] [--job JOB] [--accel auto|kvm|tcg]
#                        [--timeout SECONDS] [--rebuild] [--out DIR] [--ref REF]
#
#   --suite    Debian 12 (bookworm, default) or Debian 13 (trixie)
#   --job      a script in tests/vm/jobs/ (default: smoke). See tests/vm/README.md.
#   --accel    auto (default) probes KVM with a short boot and falls back to TCG
#   --timeout  the whole VM run (default 3600 s); the VM is killed after it
#   --rebuild  build the image again
#   --build-only  build (or check) the image and stop
#   --out      where results go (default /var/tmp/shikumi-vm-runs/<suite>-<job>-<time>)
#   --ref      the commit to clone (default HEAD)
#   --save-provisioned  after a job that passed, keep the VM's disk as
#              <cache>/<suite>/provisioned.qcow2 (the system set up by the job)
#   --from-provisioned  boot from that saved disk instead of the fresh image
#              (the set-up then finds its packages installed; the repository
#              is unpacked fresh all the same)
#
# Environment: SHIKUMI_VM_CACHE (default /var/cache/shikumi-vm) holds the images;
# SHIKUMI_VM_MIRROR (default http://deb.debian.org/debian); SHIKUMI_VM_CPUS (2),
# SHIKUMI_VM_MEM (4096 MB); SHIKUMI_VM_ENV: extra KEY=VALUE words passed to the job.
# Each run boots a throw-away qcow2 overlay of the cached image, so the image
# stays a fresh system.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${SHIKUMI_VM_CACHE:-/var/cache/shikumi-vm}"
MIRROR="${SHIKUMI_VM_MIRROR:-http://deb.debian.org/debian}"
CPUS="${SHIKUMI_VM_CPUS:-2}"
MEM="${SHIKUMI_VM_MEM:-4096}"
IMAGE_SIZE="${SHIKUMI_VM_IMAGE_SIZE:-12G}"
BUILD_TIMEOUT="${SHIKUMI_VM_BUILD_TIMEOUT:-2400}"
PROBE_TIMEOUT="${SHIKUMI_VM_PROBE_TIMEOUT:-20}"
# Where a proxy re-signs TLS (as here), pip in the guest needs the host's CA
# bundle: it goes into the share and the job's PIP_CERT/SSL_CERT_FILE point at it.
CA_BUNDLE="${SHIKUMI_VM_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
# What the image has beyond debootstrap's default variant: PID 1 systemd, a
# kernel, D-Bus (Docker's systemd cgroup driver talks to systemd through it).
INCLUDE="systemd-sysv,linux-image-amd64,dbus,udev,initramfs-tools,zstd"
IMAGE_VERSION=2   # bump when the image recipe changes

suite=bookworm job=smoke accel=auto vm_timeout=3600 rebuild=0 build_only=0 out="" ref=HEAD save_prov=0 from_prov=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --suite) suite="${2:?--suite needs a value}"; shift ;;
        --job) job="${2:?--job needs a value}"; shift ;;
        --accel) accel="${2:?--accel needs a value}"; shift ;;
        --timeout) vm_timeout="${2:?--timeout needs a value}"; shift ;;
        --rebuild) rebuild=1 ;;
        --build-only) build_only=1 ;;
        --out) out="${2:?--out needs a value}"; shift ;;
        --ref) ref="${2:?--ref needs a value}"; shift ;;
        --save-provisioned) save_prov=1 ;;
        --from-provisioned) from_prov=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '[vm %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf 'tests/vm/run.sh: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mkfs.ext4 -d of a root filesystem): sudo $0"
case "$suite" in bookworm|trixie) ;; *) die "--suite must be bookworm or trixie, not '$suite'" ;; esac
case "$accel" in auto|kvm|tcg) ;; *) die "--accel must be auto, kvm or tcg, not '$accel'" ;; esac
[[ "$vm_timeout" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds, not '$vm_timeout'"
[[ "$job" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "--job must be a name like smoke, not '$job'"
JOB_SCRIPT="$HERE/jobs/$job.sh"
[ -f "$JOB_SCRIPT" ] || die "no such job: $JOB_SCRIPT (jobs: $(cd "$HERE/jobs" && ls ./*.sh | sed 's|^\./||; s|\.sh$||' | tr '\n' ' '))"

need_tools() {
    local missing=() t
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v qemu-img >/dev/null || missing+=(qemu-utils)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v git >/dev/null || missing+=(git)
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    for t in qemu-system-x86_64 qemu-img debootstrap mkfs.ext4 git; do
        command -v "$t" >/dev/null || die "$t is missing"
    done
}

IMG_DIR="$CACHE/$suite"
IMG="$IMG_DIR/root.img"
KERNEL="$IMG_DIR/vmlinuz"
INITRD="$IMG_DIR/initrd.img"
STAMP="$IMG_DIR/stamp"

image_ok() {
    [ -f "$IMG" ] && [ -f "$KERNEL" ] && [ -f "$INITRD" ] && [ -f "$STAMP" ] \
        && grep -qx "version=$IMAGE_VERSION" "$STAMP"
}

unmount_build_root() {
    local m
    trap - RETURN
    [ -n "${BUILD_ROOT:-}" ] || return 0
    for m in dev/pts dev proc sys; do
        if mountpoint -q "$BUILD_ROOT/$m" 2>/dev/null; then umount -l "$BUILD_ROOT/$m" || true; fi
    done
}

build_image() {
    local stage="$IMG_DIR/build" root t0=$SECONDS
    root="$stage/root"
    say "building the $suite image in $IMG_DIR (debootstrap from $MIRROR)"
    mkdir -p "$IMG_DIR"
    rm -f "$STAMP" "$IMG_DIR/provisioned.qcow2"   # a saved disk is an overlay of the old image
    # debootstrap mounts /proc and /sys in the target while it installs; the
    # trap makes sure nothing stays mounted if it is killed.
    BUILD_ROOT="$root"
    trap unmount_build_root RETURN
    if [ -f "$stage/debootstrap.ok" ] && [ -d "$root/etc" ] && [ ! -d "$root/debootstrap" ]; then
        say "reusing the finished debootstrap in $root"
    else
        rm -rf "$stage"
        mkdir -p "$stage"
        timeout --kill-after=30 "$BUILD_TIMEOUT" debootstrap --include="$INCLUDE" \
            --components=main "$suite" "$root" "$MIRROR" >"$stage/debootstrap.log" 2>&1 \
            || { tail -n 30 "$stage/debootstrap.log" >&2; die "debootstrap failed (log: $stage/debootstrap.log)"; }
        touch "$stage/debootstrap.ok"
    fi
    say "debootstrap done in $((SECONDS - t0)) s"

    # The guest's configuration: hostname, fstab, network (DHCP on qemu's user
    # network through systemd-networkd), apt sources, and the job runner.
    echo "shikumi-vm" >"$root/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 shikumi-vm\n' >"$root/etc/hosts"
    printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"$root/etc/fstab"
    mkdir -p "$root/etc/systemd/network"
    printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/10-vm.network"
    ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    mkdir -p "$root/etc/systemd/system/network-online.target.wants"
    ln -sf /lib/systemd/system/systemd-networkd-wait-online.service \
        "$root/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
    rm -f "$root/etc/resolv.conf"
    echo "nameserver 10.0.2.3" >"$root/etc/resolv.conf"
    local sec="$suite-security"
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://security.debian.org/debian-security %s main\n' \
        "$MIRROR" "$suite" "$MIRROR" "$suite" "$sec" >"$root/etc/apt/sources.list"
    # (named labvm-*, not shikumi-*: the lab's leak checks look for cgroups named
    # shikumi*, and a unit's cgroup is named after it)
    install -m 0755 "$HERE/guest/labvm-job" "$root/usr/local/sbin/labvm-job"
    install -m 0644 "$HERE/guest/labvm-job.service" "$root/etc/systemd/system/labvm-job.service"
    ln -sf /etc/systemd/system/labvm-job.service "$root/etc/systemd/system/multi-user.target.wants/labvm-job.service"
    # No login prompt on the console: the job's output goes there.
    ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
    # The guest boots from the kernel and initrd kept beside the image, never
    # from its own /boot: regenerating the initrd there (a trigger of several
    # packages the set-up installs) and man-db's index only cost minutes under TCG.
    sed -i 's/^update_initramfs=.*/update_initramfs=no/' "$root/etc/initramfs-tools/update-initramfs.conf"
    rm -f "$root/var/lib/man-db/auto-update"
    rm -rf "$root/var/cache/apt/archives/"*.deb

    t="$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)"
    cp "$t" "$KERNEL.tmp"
    t="$(ls "$root"/boot/initrd.img-* | sort -V | tail -n1)"
    cp "$t" "$INITRD.tmp"
    rm -f "$IMG.tmp"
    truncate -s "$IMAGE_SIZE" "$IMG.tmp"
    timeout 900 mkfs.ext4 -q -L shikumi-root -d "$root" "$IMG.tmp"
    mv "$KERNEL.tmp" "$KERNEL"; mv "$INITRD.tmp" "$INITRD"; mv "$IMG.tmp" "$IMG"
    rm -rf "$stage"
    {
        echo "version=$IMAGE_VERSION"
        echo "suite=$suite"
        echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "build_seconds=$((SECONDS - t0))"
        echo "kernel=$(basename "$t" | sed 's/^initrd.img-//')"
    } >"$STAMP"
    say "image built in $((SECONDS - t0)) s: $IMG ($(du -h "$IMG" | cut -f1) used of $IMAGE_SIZE)"
}

kvm_probe() {  # kvm_probe CPU-ARGS...: does a kernel boot under KVM with these?
    local log rc=0
    log="$(mktemp)"
    # (in a subshell of its own, so that bash's "Aborted" notice of a qemu that
    # aborts goes to /dev/null too)
    ( timeout --kill-after=5 "$PROBE_TIMEOUT" qemu-system-x86_64 -accel kvm "$@" -m 512 -smp 1 \
        -nographic -no-reboot -nodefaults -display none -kernel "$KERNEL" \
        -append "console=ttyS0 panic=-1 root=/dev/nonexistent" \
        -serial "file:$log"; exit $? ) >/dev/null 2>&1 || rc=$?
    if grep -qE "Kernel panic|Unable to mount root|Run /sbin/init" "$log"; then
        rm -f "$log"; return 0
    fi
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        say "KVM probe (-accel kvm $*): $(wc -c <"$log") bytes of console and no kernel panic within ${PROBE_TIMEOUT}s: the kernel hangs under KVM"
    else
        say "KVM probe (-accel kvm $*): qemu ended with status $rc after $(wc -c <"$log") bytes of console, before the kernel looked for its root"
    fi
    rm -f "$log"
    return 1
}

kvm_boots() {
    # /dev/kvm may exist where a guest kernel still hangs under it (a nested VM
    # without the CPU features the kernel wants; here qemu -cpu host aborts on an
    # MSR and the default CPU model hangs right after the boot loader). Boot the
    # kernel with no root filesystem: under a working KVM it panics ("Unable to
    # mount root") within seconds. Sets KVM_CPU to the CPU arguments that worked.
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || { say "no usable /dev/kvm"; return 1; }
    if kvm_probe -cpu host; then KVM_CPU=(-cpu host); return 0; fi
    if kvm_probe; then KVM_CPU=(); return 0; fi
    return 1
}

need_tools
if [ "$rebuild" = 1 ] || ! image_ok; then
    build_image
else
    say "image: $IMG ($(grep -E '^(built|kernel)=' "$STAMP" | tr '\n' ' '))"
fi
[ "$build_only" = 0 ] || exit 0

ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
case "$accel" in
    kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
    tcg) ;;
    auto)
        t0=$SECONDS
        KVM_CPU=()
        if kvm_boots; then ACCEL_ARGS=(-accel kvm "${KVM_CPU[@]}"); accel=kvm; else accel=tcg; fi
        say "accelerator: $accel (probe $((SECONDS - t0)) s)"
        ;;
esac
[ "$accel" = auto ] && accel=tcg

stamp_now="$(date -u +%Y%m%d-%H%M%S)"
[ -n "$out" ] || out="/var/tmp/shikumi-vm-runs/$suite-$job-$stamp_now"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /var/tmp/shikumi-vm-work.XXXXXX)"
qemu_pid=""
cleanup() {
    set +e
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill -TERM "$qemu_pid"; sleep 2; kill -KILL "$qemu_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The share: the job, a clean clone of the repository as a tar, and out/.
share="$work/share"
mkdir -p "$share/out"
say "cloning $REPO at $ref"
git clone -q --no-hardlinks "$REPO" "$work/clone"
git -C "$work/clone" checkout -q --detach "$(git -C "$REPO" rev-parse "$ref")"
commit="$(git -C "$work/clone" rev-parse HEAD)"
tar -C "$work/clone" -cf "$share/repo.tar" .
rm -rf "$work/clone"
cp "$JOB_SCRIPT" "$share/job.sh"
if [ -r "$CA_BUNDLE" ]; then cp "$CA_BUNDLE" "$share/host-ca.crt"; fi
cp "$HERE/jobs/lib.sh" "$share/lib.sh"
# The Vagrantfile's shell provisioner, as `vagrant up` runs it: the inline
# script between `inline: <<-SHELL` and `SHELL`, uploaded and run as root.
sed -n '/inline: <<-SHELL/,/^[[:space:]]*SHELL[[:space:]]*$/p' "$REPO/Vagrantfile" | sed '1d;$d' >"$share/vagrant-shell"
[ -s "$share/vagrant-shell" ] || die "no inline shell provisioner found in $REPO/Vagrantfile"
{
    echo "SUITE=$suite"
    echo "JOB=$job"
    echo "COMMIT=$commit"
    echo "ACCEL=$accel"
    if [ -r "$CA_BUNDLE" ]; then
        echo "PIP_CERT=/mnt/shikumi/host-ca.crt"
        echo "REQUESTS_CA_BUNDLE=/mnt/shikumi/host-ca.crt"
        echo "SSL_CERT_FILE=/mnt/shikumi/host-ca.crt"
    fi
    for kv in ${SHIKUMI_VM_ENV:-}; do
        [[ "$kv" =~ ^[A-Z_][A-Z0-9_]*=[A-Za-z0-9_.,:/+-]*$ ]] || die "SHIKUMI_VM_ENV: '$kv' is not KEY=VALUE"
        echo "$kv"
    done
} >"$share/job.env"

PROV="$IMG_DIR/provisioned.qcow2"
if [ "$from_prov" = 1 ]; then
    [ -f "$PROV" ] || die "no provisioned disk $PROV: run a job with --save-provisioned first"
    qemu-img create -q -f qcow2 -F qcow2 -b "$PROV" "$work/disk.qcow2"
    say "booting from the provisioned disk $PROV"
else
    qemu-img create -q -f qcow2 -F raw -b "$IMG" "$work/disk.qcow2"
fi
say "booting $suite ($accel, $CPUS vCPUs, $MEM MB) for job '$job' at ${commit:0:12}; timeout ${vm_timeout}s; results in $out"
t0=$SECONDS
timeout --kill-after=10 "$vm_timeout" qemu-system-x86_64 "${ACCEL_ARGS[@]}" \
    -smp "$CPUS" -m "$MEM" -nographic -nodefaults -no-reboot -display none \
    -kernel "$KERNEL" -initrd "$INITRD" \
    -append "root=/dev/vda rw console=ttyS0 quiet systemd.show_status=1 panic=-1" \
    -drive "file=$work/disk.qcow2,if=virtio,format=qcow2,cache=unsafe" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -virtfs "local,path=$share,mount_tag=shikumi,security_model=none,id=shikumi" \
    -device virtio-rng-pci \
    -serial "file:$out/console.log" </dev/null >"$out/qemu.log" 2>&1 &
qemu_pid=$!
qrc=0
wait "$qemu_pid" || qrc=$?
qemu_pid=""
vm_seconds=$((SECONDS - t0))

cp -a "$share/out/." "$out/" 2>/dev/null || true
rc=""
[ -r "$out/rc" ] && rc="$(tr -dc '0-9' <"$out/rc")"
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    say "the VM did not finish within ${vm_timeout}s (killed)"
    rc=124
elif [ -z "$rc" ]; then
    say "the job left no exit status (qemu exit $qrc); see $out/console.log"
    rc=1
fi
{
    echo "suite=$suite job=$job accel=$accel commit=$commit"
    echo "vm_seconds=$vm_seconds qemu_status=$qrc job_status=$rc"
} >"$out/summary.txt"
[ -r "$out/times" ] && cat "$out/times" >>"$out/summary.txt"
if [ "$save_prov" = 1 ] && [ "$rc" = 0 ] && [ "$from_prov" = 0 ]; then
    mv "$work/disk.qcow2" "$PROV"
    say "kept the provisioned disk: $PROV"
fi
say "VM ran ${vm_seconds}s; job '$job' exit status $rc; results: $out"
cat "$out/summary.txt"
exit "$rc"

#!/bin/bash
# Boot the gpio-sim test VM (built by setup.sh), run ONE command in it as root, power off.
#
#   run.sh [-w DIR]... [-e VAR]... [--] command [args...]
#
# Inside, the command sees this machine's whole filesystem (read-only 9p under a tmpfs overlay:
# writes succeed but vanish at power-off), the same working directory, configfs at
# /sys/kernel/config with gpio-sim loaded, and PATH/HOME/LANG from here.
#   -w DIR   share DIR read-write at the same path (files written there survive); repeatable
#   -e VAR   pass the environment variable VAR into the VM; repeatable
# The command's stdout and stderr (merged) come out on this stdout; run.sh exits with its status,
# or 125 if the VM did not deliver one (the end of the kernel log is then printed on stderr and
# the whole of it kept in $RPIO_GPIOSIM_VM_DIR/last-failed-console.log).
# Environment: RPIO_GPIOSIM_VM_DIR (the cache setup.sh filled), RPIO_VM_TIMEOUT (seconds, default
# 900), RPIO_VM_MEM (MiB, default 1024), RPIO_VM_SMP (default: 2), RPIO_VM_ACCEL (kvm|tcg; default kvm
# only when kvm_intel or kvm_amd is loaded: a /dev/kvm from another hypervisor may not boot a
# stock kernel), RPIO_VM_CONSOLE=1 (kernel console on stderr while running),
# RPIO_VM_BOOT_RETRIES (a boot that dies before the command starts is retried; default 2).
# Inside, RPIO_VM_ACCEL tells the command which accelerator ran it.
set -euo pipefail
cache=${RPIO_GPIOSIM_VM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpio-gpiosim-vm}
if [ ! -s "$cache/KVER" ]; then
  echo "run.sh: no VM in $cache; build it first: sudo $(dirname "$0")/setup.sh" >&2; exit 125
fi
kver=$(cat "$cache/KVER")
command -v qemu-system-x86_64 >/dev/null || { echo "run.sh: qemu-system-x86_64 missing; run setup.sh" >&2; exit 125; }

rwdirs=(); envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -w) rwdirs+=("$(realpath "$2")"); shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: run.sh [-w DIR]... [-e VAR]... [--] command [args...]" >&2; exit 2; }

accel=${RPIO_VM_ACCEL:-}
if [ -z "$accel" ]; then
  if [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; then accel=kvm; else accel=tcg; fi
fi
case "$accel" in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  tcg) accel_args=(-accel tcg -cpu max) ;;
  *) echo "run.sh: RPIO_VM_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

xchg=$(mktemp -d -t rpio-vm.XXXXXX)
trap 'rm -rf "$xchg"' EXIT
{
  printf 'export PATH=%q HOME=%q LANG=C.UTF-8 TERM=dumb RPIO_VM_ACCEL=%q\n' "$PATH" "${HOME:-/root}" "$accel"
  for v in "${envs[@]}"; do
    if [ -n "${!v+set}" ]; then printf 'export %s=%q\n' "$v" "${!v}"; fi
  done
  printf 'cd %q || exit 126\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$xchg/cmd.sh"
shares=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$xchg,mount_tag=xchg,security_model=none,multidevs=remap")
i=0
for d in "${rwdirs[@]}"; do
  echo "$d" >> "$xchg/rwdirs"
  shares+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
  i=$((i+1))
done
if [ "${RPIO_VM_CONSOLE:-0}" = 1 ]; then console=(-serial file:/dev/stderr); klog=""
else console=(-serial "file:$xchg/console.log"); klog="quiet loglevel=3"; fi

boot() {
  timeout --foreground -k 5 "${RPIO_VM_TIMEOUT:-900}" qemu-system-x86_64 "${accel_args[@]}" \
    -smp "${RPIO_VM_SMP:-2}" -m "${RPIO_VM_MEM:-1024}" \
    -nodefaults -no-user-config -display none -no-reboot \
    "${console[@]}" -serial stdio \
    -kernel "$cache/vmlinux-$kver" -initrd "$cache/initramfs.cpio.gz" \
    -append "console=ttyS0 $klog panic=-1 mitigations=off rpio.xchg=$xchg" \
    "${shares[@]}" < /dev/null 2> "$xchg/qemu.err"
}

# A boot that dies before the command starts (a rare guest panic under TCG) is retried; a
# failure after the command started is reported, never retried (the command may not be idempotent).
tries=$(( ${RPIO_VM_BOOT_RETRIES:-2} + 1 ))
for attempt in $(seq 1 "$tries"); do
  rm -f "$xchg/started" "$xchg/rc"
  set +e
  boot
  qrc=$?
  set -e
  if [ -s "$xchg/rc" ]; then exit "$(cat "$xchg/rc")"; fi
  [ -e "$xchg/started" ] && break
  [ -f "$xchg/console.log" ] && cp "$xchg/console.log" "$cache/last-failed-console.log" 2>/dev/null
  [ "$attempt" -lt "$tries" ] && echo "run.sh: the VM died while booting (attempt $attempt of $tries; log in $cache/last-failed-console.log); booting again" >&2
done
echo "run.sh: the VM ended without the command's exit status (qemu/timeout status $qrc)" >&2
[ "$qrc" = 124 ] && echo "run.sh: timed out after ${RPIO_VM_TIMEOUT:-900} s (RPIO_VM_TIMEOUT)" >&2
cat "$xchg/qemu.err" >&2
if [ -f "$xchg/console.log" ]; then
  cp "$xchg/console.log" "$cache/last-failed-console.log" 2>/dev/null || true
  echo "--- kernel console (whole log: $cache/last-failed-console.log) ---" >&2
  tail -n 40 "$xchg/console.log" >&2
fi
exit 125

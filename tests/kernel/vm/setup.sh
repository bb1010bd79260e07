#!/bin/bash
# Build the gpio-sim test VM used by the kernel tier (tests/kernel/).
#
# Needs: Debian 12 (bookworm) on x86_64, root, the Debian mirror in apt's sources.
# Produces, in $RPIO_GPIOSIM_VM_DIR (default ${XDG_CACHE_HOME:-~/.cache}/rpio-gpiosim-vm):
#   vmlinux-$KVER        Debian's 6.12 kernel, uncompressed (QEMU boots it through its PVH note)
#   initramfs.cpio.gz    busybox-static + configfs/9p/overlay modules + gpio-sim.ko + our /init
#   KVER                 written last: its presence means "the VM is ready"
# Nothing is installed into dpkg except the host tools (qemu, busybox-static, gcc-12, ...): the
# kernel packages are fetched with `apt-get download` and unpacked into the cache.
#
# Debian builds gpio-sim's dependency CONFIG_IRQ_SIM out, so gpio-sim is compiled here out of tree
# from Debian's own kernel source, with kernel/irq/irq_sim.c linked into the same module.
#
# Pin a kernel with KVER=6.12.N+deb12-amd64 (ABI name) and optionally KPKGVER (package version);
# by default the newest 6.12 kernel on the mirror is taken.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${RPIO_GPIOSIM_VM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpio-gpiosim-vm}

die() { echo "setup.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it installs host tools with apt-get)"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 hosts are supported (the VM runs Debian's amd64 kernel)"
command -v apt-get >/dev/null || die "needs Debian's apt (apt-get not found)"

newest_kver() {
  apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' 2>/dev/null \
    | cut -d' ' -f1 | sed 's/^linux-image-//; s/-unsigned$//' | sort -V | tail -n1
}

# 1. host tools
need_tools=0
for t in qemu-system-x86_64 gcc-12 make cpio zstd xz pahole modinfo; do
  command -v "$t" >/dev/null || need_tools=1
done
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need_tools=1
apt_updated=0
if [ "$need_tools" = 1 ]; then
  apt-get update -qq; apt_updated=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-system-x86 busybox-static gcc-12 make libc6-dev cpio zstd xz-utils pahole kmod
fi

# 2. which kernel
if [ -z "${KVER:-}" ]; then
  KVER=$(newest_kver)
  if [ -z "$KVER" ] && [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; KVER=$(newest_kver); fi
fi
[ -n "${KVER:-}" ] || die "no linux-image-6.12.*+deb12-amd64-unsigned package on the mirror (is bookworm-security or bookworm-updates in apt's sources?)"
if [ -z "${KPKGVER:-}" ]; then
  KPKGVER=$(apt-cache show "linux-image-$KVER-unsigned" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n1)
fi
[ -n "$KPKGVER" ] || die "apt knows no package version of linux-image-$KVER-unsigned"
echo "setup.sh: kernel $KVER (package $KPKGVER) into $cache"

mkdir -p "$cache/debs"
rm -f "$cache/KVER"                     # not ready until the end
work=$cache/build-$KVER
mkdir -p "$work"

# 3. kernel packages, downloaded (not installed) and unpacked into $work/root
kbuild=linux-kbuild-${KVER%-amd64}
pkgs=("linux-image-$KVER-unsigned" "linux-headers-$KVER" "linux-headers-${KVER%-amd64}-common" "$kbuild" "linux-source-6.12")
( cd "$cache/debs"
  for p in "${pkgs[@]}"; do
    [ "$p" = linux-source-6.12 ] && [ -f "$work/src/drivers/gpio/gpio-sim.c" ] && continue
    ls "${p}_${KPKGVER}"_*.deb >/dev/null 2>&1 || apt-get download -q -o APT::Sandbox::User=root "$p=$KPKGVER"
  done )
hdrs=$work/root/usr/src/linux-headers-$KVER
if [ ! -f "$work/root/boot/vmlinuz-$KVER" ] || [ ! -f "$hdrs/Makefile" ]; then
  rm -rf "$work/root"
  for p in "${pkgs[@]:0:4}"; do dpkg-deb -x "$cache/debs/${p}_${KPKGVER}"_*.deb "$work/root"; done
  # the arch headers' Makefile includes the -common tree by its absolute /usr/src path
  sed -i "s#^include /usr/src/#include $work/root/usr/src/#" "$hdrs/Makefile"
  grep -q "^include $work/root/usr/src/" "$hdrs/Makefile" || die "unexpected layout of $hdrs/Makefile"
fi

# 4. the few source files we need from the full kernel source tarball
src=$work/src
if [ ! -f "$src/drivers/gpio/gpio-sim.c" ]; then
  mkdir -p "$src"
  dpkg-deb --fsys-tarfile "$cache/debs/linux-source-6.12_${KPKGVER}"_all.deb \
    | tar -xO ./usr/src/linux-source-6.12.tar.xz \
    | tar -xJ -C "$src" --strip-components=1 \
        linux-source-6.12/drivers/gpio/gpio-sim.c linux-source-6.12/kernel/irq/irq_sim.c \
        linux-source-6.12/scripts/extract-vmlinux
  rm -f "$cache/debs/linux-source-6.12_${KPKGVER}"_all.deb      # 150 MB, only three files were needed
fi

# 5. gpio-sim.ko = gpio-sim.c + irq_sim.c. irq_sim calls handle_simple_irq(irq_to_desc(n)), and
#    irq_to_desc is not exported to modules; generic_handle_irq(n) is, and runs the same handler.
mod=$work/mod
rm -rf "$mod"; mkdir -p "$mod"
cp "$src/drivers/gpio/gpio-sim.c" "$mod/gpio_sim_drv.c"
sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' \
  "$src/kernel/irq/irq_sim.c" > "$mod/irq_sim.c"
grep -q 'generic_handle_irq(irqnum);' "$mod/irq_sim.c" || die "irq_sim.c changed upstream; the patch for irq_to_desc no longer applies"
printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio_sim_drv.o irq_sim.o\n' > "$mod/Kbuild"
make -s -C "$hdrs" M="$mod" CC=gcc-12 modules
[ "$(modinfo -F vermagic "$mod/gpio-sim.ko" | cut -d' ' -f1)" = "$KVER" ] || die "gpio-sim.ko vermagic does not match $KVER"

# 6. uncompressed kernel (QEMU loads an ELF vmlinux through PVH: no decompression under TCG)
[ -s "$cache/vmlinux-$KVER" ] || sh "$src/scripts/extract-vmlinux" "$work/root/boot/vmlinuz-$KVER" > "$cache/vmlinux-$KVER.tmp"
[ -s "$cache/vmlinux-$KVER.tmp" ] && mv "$cache/vmlinux-$KVER.tmp" "$cache/vmlinux-$KVER"
[ -s "$cache/vmlinux-$KVER" ] || die "could not extract vmlinux from vmlinuz-$KVER"

# 7. initramfs: busybox, the modules the guest init loads (in that order), and the init itself
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,proc,sys,dev,lower,upper,newroot,lib/modules}
cp /bin/busybox "$stage/bin/busybox"
modroot=$work/root/lib/modules/$KVER
: > "$stage/lib/modules/order"
for m in fs/configfs/configfs fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
  n=$(basename "$m")
  if   [ -f "$modroot/kernel/$m.ko.xz" ];  then xz -dc "$modroot/kernel/$m.ko.xz" > "$stage/lib/modules/$n.ko"
  elif [ -f "$modroot/kernel/$m.ko.zst" ]; then zstd -qdc "$modroot/kernel/$m.ko.zst" > "$stage/lib/modules/$n.ko"
  elif [ -f "$modroot/kernel/$m.ko" ];     then cp "$modroot/kernel/$m.ko" "$stage/lib/modules/$n.ko"
  elif grep -q "/$n.ko" "$modroot/modules.builtin"; then continue   # built into this kernel
  else die "module $m not found in $modroot"; fi
  echo "$n" >> "$stage/lib/modules/order"
done
cp "$mod/gpio-sim.ko" "$stage/lib/modules/gpio-sim.ko"; echo gpio-sim >> "$stage/lib/modules/order"
install -m 755 "$here/guest-init.sh" "$stage/init"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initramfs.cpio.gz"

echo "$KVER" > "$cache/KVER"
echo "setup.sh: done ($(du -sh "$cache" | cut -f1) in $cache)"

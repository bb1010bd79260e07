#!/bin/busybox sh
# /init of the gpio-sim test VM (lives in the initramfs built by setup.sh; run.sh boots it).
#
# Loads configfs, 9p, overlay and gpio-sim; mounts the host's root (9p tag "hostroot", read-only)
# under a tmpfs overlay so the guest may write anywhere and nothing reaches the host; mounts
# proc/sys/dev/configfs there; mounts the exchange directory (tag "xchg", read-write, path given as
# rpio.xchg= on the kernel command line) and any extra read-write host directories (tags rw0..,
# paths listed in $xchg/rwdirs); then runs $xchg/cmd.sh chrooted into that tree with its output on
# the second serial port (/dev/ttyS1, the host's stdout), writes its exit status to $xchg/rc and
# powers off. $xchg/started marks that the boot got as far as the command.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "rpio-vm-init: $*" > /dev/ttyS0; }
while read -r m; do
  insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done < /lib/modules/order
xchg=
for a in $(cat /proc/cmdline); do
  case "$a" in rpio.xchg=*) xchg=${a#rpio.xchg=} ;; esac
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || say "9p hostroot mount failed"
mount -t tmpfs -o size=768m tmpfs /upper
mkdir -p /upper/data /upper/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work /newroot || say "overlay mount failed"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t configfs configfs $R/sys/kernel/config
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs tmpfs $R/run
mkdir -p "$R$xchg"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 xchg "$R$xchg" || say "9p xchg mount failed"
if [ -f "$R$xchg/rwdirs" ]; then
  i=0
  while read -r d; do
    mkdir -p "$R$d"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "rw$i" "$R$d" || say "9p rw$i ($d) mount failed"
    i=$((i+1))
  done < "$R$xchg/rwdirs"
fi
stty -F /dev/ttyS1 raw -echo 115200 2>/dev/null
: > "$R$xchg/started"
chroot $R /bin/sh "$xchg/cmd.sh" < /dev/null > /dev/ttyS1 2>&1
rc=$?
echo "$rc" > "$R$xchg/rc"
sync
poweroff -f

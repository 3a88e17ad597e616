#!/usr/bin/env bash
# Builds the tiny Linux guest that the real-guest tests and the demo boot (recipe and
# measurements: GUEST-NOTES.md): a Debian kernel booted directly, an initramfs with busybox and
# qemu-guest-agent, and an empty ext4 data disk (qcow2) that the guest mounts at /data. Debian
# packages only: fetched with `apt-get download`, unpacked with `dpkg-deb`, never installed on
# this host.
#
# Usage: build-guest.sh [FLAVOUR]
#   cloud (the default)  Debian's cloud kernel: boots to its agent in ~5 s under TCG.
#   9p                   Debian's generic kernel, for a guest that mounts a 9p share (the cloud
#                        kernel has no 9p); it boots several times slower, so only the tests
#                        that need 9p use it.
#
# Output: the artifact directory on stdout (one line); progress on stderr. The directory holds
#   vmlinuz      the kernel
#   initrd.gz    the initramfs
#   data.qcow2   the data disk template (copy it per VM; never boot it directly)
#   manifest     key=value lines: key, flavour, kernel_version and the package versions
#
# Cached in ${XDG_CACHE_HOME:-~/.cache}/virtsnap/guest/<key>, where key hashes this script's
# text, the flavour and the package versions apt would fetch: a run with the same inputs only
# prints the directory. The shared libraries qemu-ga needs are copied from this host (the ones
# `ldd` finds): a newer host glib does not make a built guest wrong, so they are not in the key.
# Each flavour keeps its newest build. Safe to run concurrently (a lock) and again. virtsnap
# embeds this file and runs it for its demo, so keep it self-contained.
set -euo pipefail

PACKAGES=(busybox-static qemu-guest-agent)
# What the guest needs from the kernel's modules (the rest of the hardware is built in):
# the PCI transport, the data disk, the agent's port, and the ACPI power button with the
# event device busybox acpid reads. The guest loads them in this order at boot.
MODULES=(virtio_pci virtio_blk virtio_console button evdev)
flavour=${1:-cloud}
case "$flavour" in
  cloud) KERNEL_META=linux-image-cloud-amd64 ;;
  9p)
    KERNEL_META=linux-image-amd64
    # The generic kernel builds ext4 as a module too (for /data, with crc32c for its metadata
    # checksums, which the kernel would otherwise ask a modprobe alias for), and 9p over virtio.
    MODULES+=(crc32c_generic ext4 9pnet_virtio 9p)
    ;;
  *) printf 'build-guest: unknown flavour %s (cloud or 9p)\n' "$flavour" >&2; exit 2 ;;
esac
# Where in the kernel package those modules and their dependencies are: only these parts are
# unpacked (the generic kernel's whole tree is 400 MB).
KERNEL_PARTS=(fs net/9p lib crypto drivers/virtio drivers/block drivers/char drivers/input
  drivers/acpi)
DATA_MIB=64

say() { printf 'build-guest: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

cache_root="${XDG_CACHE_HOME:-}"
# XDG: a relative value is invalid and ignored.
[[ "$cache_root" == /* ]] || cache_root="${HOME:-/tmp}/.cache"
cache_root="$cache_root/virtsnap/guest"
mkdir -p "$cache_root/debs"

for tool in apt-get apt-cache dpkg-deb gzip mkfs.ext4 qemu-img ldd sha256sum flock; do
  command -v "$tool" >/dev/null || PATH="$PATH:/sbin:/usr/sbin"
  command -v "$tool" >/dev/null || die "$tool is missing"
done

exec 9>"$cache_root/.lock"
flock 9

# What apt would download now, from the local package lists (no network). One apt-cache call:
# without its binary cache (Debian's container images turn it off) each call costs ~1 s.
show() {
  apt-cache show --no-all-versions "$KERNEL_META" "${PACKAGES[@]}" 2>/dev/null \
    | awk '/^Package: /{p=$2} /^Version: /{print p "\tVersion\t" $2}
           /^Depends: /{sub(/^Depends: /, ""); print p "\tDepends\t" $0}'
}
fields=$(show)
if ! grep -q "^$KERNEL_META	Version" <<<"$fields"; then
  # A fresh image may ship without package lists; updating them needs root.
  say "no package lists for $KERNEL_META: running apt-get update"
  apt-get update -qq >&2 || die "apt-get update failed (no network or not root?)"
  fields=$(show)
fi
field() { awk -F'\t' -v p="$1" -v f="$2" '$1 == p && $2 == f {print $3; exit}' <<<"$fields"; }
declare -A version
for p in "${PACKAGES[@]}"; do
  version[$p]=$(field "$p" Version)
  [ -n "${version[$p]}" ] || die "apt knows no $p"
done
# The metapackage pins its kernel exactly: "linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)".
kernel_dep=$(field "$KERNEL_META" Depends | tr ',' '\n' | grep -m1 -E '^ *linux-image-' || true)
kernel_pkg=$(sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' <<<"$kernel_dep")
version[$kernel_pkg]=$(sed -n 's/.*(= *\([^)]*\)).*/\1/p' <<<"$kernel_dep")
[ -n "$kernel_pkg" ] && [ -n "${version[$kernel_pkg]}" ] \
  || die "cannot tell which kernel $KERNEL_META depends on (apt knows: ${kernel_dep:-nothing})"
kernel_version=${kernel_pkg#linux-image-}

self="${BASH_SOURCE[0]}"
key=$( {
  cat "$self"
  echo "flavour=$flavour"
  for p in "$kernel_pkg" "${PACKAGES[@]}"; do echo "$p=${version[$p]}"; done
} | sha256sum | cut -c1-16)
out="$cache_root/$key"
if [ -s "$out/manifest" ]; then
  echo "$out"
  exit 0
fi

start=$SECONDS
work=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Downloads land in debs/ under their versioned names, so a rebuild for a script change
# downloads nothing. apt-get runs as _apt when root: that user must be able to write here.
debs=()
for p in "$kernel_pkg" "${PACKAGES[@]}"; do
  v=${version[$p]}
  found=$(ls "$cache_root/debs/${p}_"*"${v#*:}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$found" ]; then
    say "downloading $p $v"
    # The "unsandboxed as root" warning is noise: the directory is root's own.
    (cd "$work" && apt-get download -q "$p=$v" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) \
      || die "apt-get download $p=$v failed"
    mv "$work"/"${p}"_*.deb "$cache_root/debs/"
    found=$(ls "$cache_root/debs/${p}_"*"${v#*:}"_*.deb | head -n1)
  fi
  debs+=("$found")
done

pkgroot="$work/pkg"
mkdir -p "$pkgroot"
# debs[0] is the kernel: its image and the module directories named above.
parts=("./boot/vmlinuz-$kernel_version" "./lib/modules/$kernel_version/modules.order"
  "./lib/modules/$kernel_version/modules.builtin")
for part in "${KERNEL_PARTS[@]}"; do parts+=("./lib/modules/$kernel_version/kernel/$part"); done
errors=$(dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -C "$pkgroot" "${parts[@]}" 2>&1) || true
# A part this kernel lacks is no error (the cloud kernel has no net/9p); anything else is.
if grep -v -e 'Not found in archive' -e 'due to previous errors' <<<"$errors" | grep -q .; then
  die "cannot unpack ${debs[0]}: $errors"
fi
[ -f "$pkgroot/boot/vmlinuz-$kernel_version" ] || die "no kernel image in ${debs[0]}"
for d in "${debs[@]:1}"; do dpkg-deb -x "$d" "$pkgroot"; done
bb="$pkgroot/bin/busybox"
[ -x "$bb" ] || die "busybox-static did not unpack to bin/busybox"

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/acpi/PWRF,etc/qemu,proc,sys,dev,run,tmp,data,lib/modules}
cp "$bb" "$root/bin/busybox"
# Every applet as a link, where busybox itself would install it.
for applet in $("$bb" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

# Kernel modules with their dependencies (each module's own "depends" list, followed down),
# then busybox depmod on just those writes the modules.dep modprobe reads. This host may have
# no kmod, and a depmod over all ~3000 modules costs seconds a first demo start waits for.
mods_src="$pkgroot/lib/modules/$kernel_version"
mods_dst="$root/lib/modules/$kernel_version"
declare -A seen
want=()
add_module() {
  local m=$1 f dep
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  # File names may spell a module's underscores as dashes.
  f=$(find "$mods_src/kernel" \( -name "$m.ko*" -o -name "${m//_/-}.ko*" \) -print -quit)
  [ -n "$f" ] || die "module $m is not in the parts of $kernel_pkg unpacked (KERNEL_PARTS)"
  # The "depends=" string of the module's .modinfo section (busybox modinfo wants the running
  # kernel's modules.dep).
  for dep in $(case "$f" in *.xz) xz -dc "$f" ;; *.zst) zstd -dcq "$f" ;; *) cat "$f" ;; esac \
    | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
    add_module "$dep"
  done
  want+=("${f#"$mods_src"/}")
}
for m in "${MODULES[@]}"; do add_module "$m"; done
for f in "${want[@]}"; do
  mkdir -p "$mods_dst/$(dirname "$f")"
  cp "$mods_src/$f" "$mods_dst/$f"
done
cp "$mods_src"/modules.{order,builtin} "$mods_dst/" 2>/dev/null || true
"$bb" depmod -b "$root" "$kernel_version"
printf '%s\n' "${MODULES[@]}" >"$root/etc/modules"

# qemu-ga and the libraries ldd finds for it on this host (all from Debian packages).
cp "$pkgroot/usr/sbin/qemu-ga" "$root/sbin/qemu-ga"
libs=$(ldd "$pkgroot/usr/sbin/qemu-ga") || die "ldd cannot read qemu-ga"
if grep -q 'not found' <<<"$libs"; then
  die "qemu-ga needs libraries this host lacks: $(grep 'not found' <<<"$libs" | tr -s ' \t' ' ')"
fi
for lib in $(awk '/=> \// {print $3} /^\t\/[^ ]*ld-linux/ {print $1}' <<<"$libs"); do
  dir="$root$(dirname "$lib")"
  mkdir -p "$dir"
  cp -L "$lib" "$dir/"
done
# Debian's usrmerge: /lib is /usr/lib on the host; give the guest both spellings.
if [ -d "$root/usr/lib/x86_64-linux-gnu" ] && [ ! -e "$root/lib/x86_64-linux-gnu" ]; then
  ln -s /usr/lib/x86_64-linux-gnu "$root/lib/x86_64-linux-gnu"
fi
mkdir -p "$root/lib64"
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

cat >"$root/init" <<'EOF'
#!/bin/sh
# The kernel runs this first: the pseudo file systems, then busybox init (which handles the
# poweroff and reboot signals and runs /etc/inittab).
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec /sbin/init
EOF

cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/rcS
::respawn:/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run -l /run/qemu-ga.log -F/etc/qemu/fsfreeze-hook
::respawn:/sbin/acpid -f -c /etc/acpi -l /run/acpid.log
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
EOF

cat >"$root/etc/rcS" <<'EOF'
#!/bin/sh
# No udev here: modules are loaded by name and the agent's port is linked by hand.
mkdir -p /dev/pts /dev/virtio-ports
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in $(cat /etc/modules); do modprobe "$m"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if mount -t ext4 /dev/vda /data; then
  # The reboot proof: each boot adds one.
  n=$(cat /data/boot-count 2>/dev/null || echo 0)
  echo $((n + 1)) >/data/boot-count
  sync
fi
i=0
while [ ! -e /dev/virtio-ports/org.qemu.guest_agent.0 ] && [ $i -lt 30 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ -r "$p/name" ] && ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
  done
  [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ] || sleep 0.1
  i=$((i + 1))
done
hwclock -s -u
echo "virtsnap guest up: boot $(cat /data/boot-count 2>/dev/null || echo '?'), /data $(grep -q ' /data ' /proc/mounts && echo mounted || echo missing)"
EOF

# busybox acpid runs CONFDIR/<event>/<code> for the power button.
cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
exec /sbin/poweroff
EOF

# qemu-ga 7.2 runs `/sbin/shutdown -h -P +0 MESSAGE` (-r to reboot, -H to halt); busybox has
# no shutdown applet.
cat >"$root/sbin/shutdown" <<'EOF'
#!/bin/sh
case " $* " in
  *" -r "*) exec /sbin/reboot ;;
  *" -H "*) exec /sbin/halt ;;
  *) exec /sbin/poweroff ;;
esac
EOF

# qemu-ga runs this before freezing and after thawing; it notes each call in /run (a tmpfs,
# never frozen), so a test can show the agent did both. A flag file makes the freeze fail, so
# a test can prove what a quiesce that the guest refuses does.
cat >"$root/etc/qemu/fsfreeze-hook" <<'EOF'
#!/bin/sh
if [ "$1" = freeze ] && [ -e /data/.refuse-freeze ]; then
  echo "$1 refused" >>/run/fsfreeze-hook.log
  exit 1
fi
echo "$1" >>/run/fsfreeze-hook.log
exit 0
EOF

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
EOF
chmod 0755 "$root/init" "$root/etc/rcS" "$root/etc/acpi/PWRF/00000080" "$root/sbin/shutdown" \
  "$root/etc/qemu/fsfreeze-hook"

stage="$work/out"
mkdir -p "$stage"
cp "$pkgroot/boot/vmlinuz-$kernel_version" "$stage/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | "$bb" cpio -o -H newc 2>/dev/null | gzip -6n) >"$stage/initrd.gz"

raw="$work/data.img"
truncate -s "${DATA_MIB}M" "$raw"
# Initialised now, so the guest's ext4 does not zero its tables in the background after boot
# (writes a snapshot test would see).
mkfs.ext4 -q -F -L data -E lazy_itable_init=0,lazy_journal_init=0 "$raw"
qemu-img convert -q -f raw -O qcow2 "$raw" "$stage/data.qcow2"

{
  echo "key=$key"
  echo "flavour=$flavour"
  echo "kernel_version=$kernel_version"
  for p in "$kernel_pkg" "${PACKAGES[@]}"; do echo "package=$p=${version[$p]}"; done
  echo "built_seconds=$((SECONDS - start))"
} >"$stage/manifest"

rm -rf "$out"
mv "$stage" "$out"
# Older builds of this flavour are dead weight, and so are the downloads no build left uses.
# The other flavour's build stays: the tests use both. A build from before flavours has no
# flavour line and is a cloud one.
for d in "$cache_root"/*/; do
  d=${d%/}
  case "$d" in "$out" | "$cache_root/debs") continue ;; esac
  built=$(sed -n 's/^flavour=//p' "$d/manifest" 2>/dev/null || true)
  if [ "${built:-cloud}" = "$flavour" ]; then rm -rf "$d"; fi
done
keep=()
for m in "$cache_root"/*/manifest; do
  [ -f "$m" ] || continue
  while IFS='=' read -r field p v; do
    [ "$field" = package ] || continue
    for f in "$cache_root/debs/${p}_"*"${v#*:}"_*.deb; do
      if [ -e "$f" ]; then keep+=("$f"); fi
    done
  done <"$m"
done
for d in "$cache_root"/debs/*.deb; do
  [ -e "$d" ] || continue
  printf '%s\n' "${keep[@]}" | grep -qxF "$d" || rm -f "$d"
done
say "built the $flavour guest in $((SECONDS - start)) s: $(du -sh "$out/initrd.gz" | cut -f1) initramfs, kernel $kernel_version"
echo "$out"

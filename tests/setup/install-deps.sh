#!/usr/bin/env bash
# Installs what virtsnap needs on a fresh Debian 12 machine: libvirt 11 and QEMU 10 from
# bookworm-backports (plain bookworm's qemu-system conflicts with the image's backported
# qemu-utils), plus tmux for the terminal tests, openssh-server for the qemu+ssh host test,
# man-db and dpkg-dev for the package check. (cargo-deb is installed by tests/setup/build-deb.sh,
# in the background of the test run.) Safe to run again.
set -euo pipefail


need=(libvirt-dev pkg-config libvirt-daemon-driver-qemu qemu-system-x86 libvirt-daemon-system
      libvirt-clients tmux ovmf openssh-server man-db dpkg-dev)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

src=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -e "$src" ]; then
  cat >"$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the package scripts from trying to start daemons without systemd.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq -t bookworm-backports --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs what virtsnap needs on a fresh Debian 12 machine: libvirt 11 and QEMU 10 from
# bookworm-backports (plain bookworm's qemu-system conflicts with the image's backported
# qemu-utils), plus tmux for the terminal tests, openssh-server for the qemu+ssh host test,
# man-db and dpkg-dev for the package check, and cargo-deb. Safe to run again.
set -euo pipefail

# cargo-deb builds the .deb (tests/setup/build-deb.sh). From crates.io, only when missing:
# measured on this project's 2-core machine (shared with a build), the install took 4 min 4 s.
install_cargo_deb() {
  if ! command -v cargo-deb >/dev/null; then
    cargo install cargo-deb --locked --quiet
  fi
}

need=(libvirt-dev pkg-config libvirt-daemon-driver-qemu qemu-system-x86 libvirt-daemon-system
      libvirt-clients tmux ovmf openssh-server man-db dpkg-dev)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  install_cargo_deb
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
install_cargo_deb

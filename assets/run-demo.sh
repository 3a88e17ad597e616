#!/usr/bin/env bash
# Installs what the demo needs (libvirt's embedded QEMU driver, QEMU) and opens the demo host:
# tiny real VMs, no daemon. Safe to run again; the VMs are destroyed when you quit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup/install-deps.sh
exec cargo run --release --locked -- --demo "$@"

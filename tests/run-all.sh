#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs libvirt/QEMU if missing, then
# runs formatting, lint and every test (unit, views, test-driver and real-KVM integration),
# then builds, installs and checks the Debian package.
# Safe to run again. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup/install-deps.sh
# The tiny Linux guest of the tests/guest_*.rs proofs (cached; a few seconds when built). On a
# machine of this kind the guest proofs must run, so a guest that cannot be built fails the
# run here, with the script's reason, rather than turning them into SKIPPED lines.
bash tests/setup/build-guest.sh >/dev/null
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
# The Debian package: built, installed with dpkg -i, and checked as an admin would use it.
bash tests/package-check.sh

#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs libvirt/QEMU if missing, then
# runs formatting, lint and every test (unit, views, test-driver and real-KVM integration).
# Safe to run again. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup/install-deps.sh
# The tiny Linux guest of the tests/guest_*.rs proofs (cached; a few seconds when built). The
# tests build it on demand too, and print SKIPPED when it cannot be built (no package mirror):
# a missing guest is a skipped proof, not a failed CI run.
bash tests/setup/build-guest.sh >/dev/null || echo "build-guest.sh failed: the real-guest tests will be SKIPPED" >&2
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked

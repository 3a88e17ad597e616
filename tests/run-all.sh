#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs libvirt/QEMU if missing, then
# runs formatting, lint and every test (unit, views, test-driver and real-KVM integration),
# then builds, installs and checks the Debian package.
# Safe to run again. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup/install-deps.sh
# The tiny Linux guests of the tests/guest_*.rs proofs (cached; a few seconds when built): the
# cloud one and the 9p one (tests/guest_9p.rs). On a machine of this kind the guest proofs must
# run, so a guest that cannot be built fails the run here, with the script's reason, rather
# than turning them into SKIPPED lines.
bash tests/setup/build-guest.sh >/dev/null
bash tests/setup/build-guest.sh 9p >/dev/null
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# The Debian package: built (in its own target directory, so the two cargo runs do not wait on
# each other's lock), installed with dpkg -i and checked as an admin would use it, in the
# background of the tests: the KVM tests spend much of their time waiting on guests, and the
# package's cargo-deb install and release build fill that time. Its output is shown at the end.
pkg_log=$(mktemp)
CARGO_TARGET_DIR=target/package bash tests/package-check.sh >"$pkg_log" 2>&1 &
pkg_pid=$!
trap 'kill "$pkg_pid" 2>/dev/null || true; rm -f "$pkg_log"' EXIT
cargo test --all-targets --locked
pkg_status=0
wait "$pkg_pid" || pkg_status=$?
echo "--- package check (tests/package-check.sh) ---"
cat "$pkg_log"
if [ "$pkg_status" -ne 0 ]; then
  echo "package check FAILED (exit $pkg_status)" >&2
  exit 1
fi

#!/usr/bin/env bash
# Builds the Debian package, target/debian/virtsnap_<version>-1_<arch>.deb (cargo-deb, with the
# metadata in Cargo.toml): the release binary, the man page and the bash/zsh/fish completions
# (generated here from the clap definitions by the hidden `virtsnap generate`, into
# target/deb-assets/, never committed), the example config, and the systemd units of
# assets/systemd/.
# Installs cargo-deb from crates.io when missing (measured on this project's 2-core machine,
# shared with a build: 4 min 4 s). Honours CARGO_TARGET_DIR (run-all.sh builds the package in
# target/package/ while the tests use target/; cargo-deb reads the same variable and maps the
# "target/release/" asset paths of Cargo.toml onto it). Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cargo-deb >/dev/null; then
  cargo install cargo-deb --locked --quiet >&2
fi
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --bin virtsnap >&2
out=target/deb-assets
rm -rf "$out"
mkdir -p "$out"
bin=$target/release/virtsnap
# -n: no name or time stamp in the gzip header, so the same sources make the same package.
"$bin" generate man | gzip -9n >"$out/virtsnap.1.gz"
"$bin" generate completions bash >"$out/virtsnap.bash"
"$bin" generate completions zsh >"$out/_virtsnap"
"$bin" generate completions fish >"$out/virtsnap.fish"
cargo deb --no-build --locked --output "$target/debian/" >&2
ls -t "$target"/debian/virtsnap_*.deb | head -n 1

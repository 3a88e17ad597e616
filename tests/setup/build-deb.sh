#!/usr/bin/env bash
# Builds the Debian package, target/debian/virtsnap_<version>-1_<arch>.deb (cargo-deb, with the
# metadata in Cargo.toml): the release binary, the man page and the bash/zsh/fish completions
# (generated here from the clap definitions by the hidden `virtsnap generate`, into
# target/deb-assets/, never committed), the example config, and any systemd units in assets/.
# Needs cargo-deb (tests/setup/install-deps.sh installs it). Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cargo-deb >/dev/null; then
  echo "build-deb.sh: cargo-deb is not installed (run tests/setup/install-deps.sh)" >&2
  exit 1
fi
cargo build --release --locked --bin virtsnap >&2
out=target/deb-assets
rm -rf "$out"
mkdir -p "$out"
bin=target/release/virtsnap
# -n: no name or time stamp in the gzip header, so the same sources make the same package.
"$bin" generate man | gzip -9n >"$out/virtsnap.1.gz"
"$bin" generate completions bash >"$out/virtsnap.bash"
"$bin" generate completions zsh >"$out/_virtsnap"
"$bin" generate completions fish >"$out/virtsnap.fish"
# Units are shipped when assets/ has them (see [package.metadata.deb.variants.systemd]).
variant=()
units=(assets/*.service assets/*.timer)
if compgen -G "assets/*.service" >/dev/null && compgen -G "assets/*.timer" >/dev/null; then
  variant=(--variant systemd)
elif compgen -G "assets/*.service" >/dev/null || compgen -G "assets/*.timer" >/dev/null; then
  echo "build-deb.sh: assets/ has a .service without a .timer or the reverse: ${units[*]}" >&2
  exit 1
fi
cargo deb --no-build --locked --output target/debian/ "${variant[@]}" >&2
ls -t target/debian/virtsnap_*.deb | head -n 1

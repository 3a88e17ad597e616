#!/usr/bin/env bash
# Builds the .deb, installs it on this machine with dpkg -i (as CI does), and checks what an
# admin gets: the binary runs, man finds the page, the completion scripts parse (bash always;
# zsh and fish when those shells are installed). Called by tests/run-all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
deb=$(bash tests/setup/build-deb.sh)
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB, built in $(($(date +%s) - started)) s)"
dpkg-deb --field "$deb" Package Version Depends
dpkg -i "$deb" >/dev/null
virtsnap --version
man -w virtsnap
bash -n /usr/share/bash-completion/completions/virtsnap && echo "bash completion: syntax ok"
if command -v zsh >/dev/null; then
  zsh -n /usr/share/zsh/vendor-completions/_virtsnap && echo "zsh completion: syntax ok"
else
  echo "SKIPPED: zsh is not installed: its completion script is not syntax-checked"
fi
if command -v fish >/dev/null; then
  fish -n /usr/share/fish/vendor_completions.d/virtsnap.fish && echo "fish completion: syntax ok"
else
  echo "SKIPPED: fish is not installed: its completion script is not syntax-checked"
fi
test -f /usr/share/doc/virtsnap/examples/config.toml
test -f /lib/systemd/system/virtsnap-snapshot@.service
test -f /lib/systemd/system/virtsnap-snapshot@.timer
test -f /usr/share/doc/virtsnap/examples/virtsnap.conf.example
echo "systemd units: installed"
echo "package installed and checked"

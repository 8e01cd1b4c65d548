#!/usr/bin/env bash
# Builds the go-libp2p and rust-libp2p interop peers into a cache outside the clone (TSWARM_CACHE, default
# ~/.cache/tswarm), so a second run on the same machine only checks they are up to date. A missing toolchain is a
# one-line skip, or a failure when TSWARM_REQUIRE_INTEROP=1 (CI).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${TSWARM_CACHE:-$HOME/.cache/tswarm}"
mkdir -p "$cache/bin"
status=0

missing () {
  echo "interop: $1"
  if [ "${TSWARM_REQUIRE_INTEROP:-}" = "1" ]; then status=1; fi
}

if command -v go >/dev/null 2>&1; then
  start=$(date +%s)
  (cd "$here/go-peer" && go build -trimpath -o "$cache/bin/go-peer" .)
  echo "interop: go-peer built in $(( $(date +%s) - start )) s ($cache/bin/go-peer)"
else
  missing "go-libp2p peer not built: Go is missing (install Go >= 1.26 from https://go.dev/dl)"
fi

if command -v cargo >/dev/null 2>&1; then
  start=$(date +%s)
  CARGO_TARGET_DIR="$cache/rust-target" cargo build --release --locked --quiet --manifest-path "$here/rust-peer/Cargo.toml"
  echo "interop: rust-peer built in $(( $(date +%s) - start )) s ($cache/rust-target/release/rust-peer)"
else
  missing "rust-libp2p peer not built: cargo is missing (install Rust with rustup from https://rustup.rs)"
fi
exit $status

#!/usr/bin/env bash
# Builds the go-libp2p and rust-libp2p interop peers into a cache outside the clone (TSWARM_CACHE, default
# ~/.cache/tswarm), so a second run on the same machine only checks they are up to date. A missing toolchain or a
# failed build is a one-line skip (its suites then skip too), or a failure when TSWARM_REQUIRE_INTEROP=1 (CI).
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
  if (cd "$here/go-peer" && go build -trimpath -o "$cache/bin/go-peer" .); then
    echo "interop: go-peer built in $(( $(date +%s) - start )) s ($cache/bin/go-peer)"
  else
    # no stale binary: the suites must skip, not run an older peer
    rm -f "$cache/bin/go-peer"
    missing "go-libp2p peer not built: go build failed above (go-peer needs Go >= 1.26 and the Go module proxy)"
  fi
else
  missing "go-libp2p peer not built: Go is missing (install Go >= 1.26 from https://go.dev/dl)"
fi

if command -v cargo >/dev/null 2>&1; then
  start=$(date +%s)
  if CARGO_TARGET_DIR="$cache/rust-target" cargo build --release --locked --quiet --manifest-path "$here/rust-peer/Cargo.toml"; then
    echo "interop: rust-peer built in $(( $(date +%s) - start )) s ($cache/rust-target/release/rust-peer)"
  else
    rm -f "$cache/rust-target/release/rust-peer"
    missing "rust-libp2p peer not built: cargo build failed above (rust-peer needs Rust >= 1.88 and crates.io)"
  fi
else
  missing "rust-libp2p peer not built: cargo is missing (install Rust with rustup from https://rustup.rs)"
fi
exit $status

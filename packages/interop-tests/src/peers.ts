/**
 * Where the interop peers are and whether this machine can run them. The go and rust peers are built by
 * `interop/build-peers.sh` (which the package's test script runs first) into a cache outside the clone; the js peer
 * is this package's own `js-peer.js`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PeerCommand } from './peer-process.js'

export type PeerName = 'go-libp2p' | 'rust-libp2p' | 'js-libp2p'

/** A peer this machine can run, or why not. */
export type PeerAvailability = { ok: true, command: PeerCommand } | { ok: false, reason: string }

/** Where build caches live: `TSWARM_CACHE`, else `~/.cache/tswarm`. */
function cacheDir (): string {
  return process.env.TSWARM_CACHE ?? join(homedir(), '.cache', 'tswarm')
}

/**
 * Set by `.ci/run`: a peer that cannot run is then a failure, not a skip, so CI never goes green by skipping.
 */
export function interopRequired (): boolean {
  return process.env.TSWARM_REQUIRE_INTEROP === '1'
}

function hasCommand (cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    try {
      execFileSync(cmd, ['version'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }
}

const BUILD_HINT = 'run `bash interop/build-peers.sh` (npm test in packages/interop-tests does)'

export function locatePeer (name: PeerName): PeerAvailability {
  switch (name) {
    case 'go-libp2p': {
      const file = join(cacheDir(), 'bin', 'go-peer')
      if (existsSync(file)) return { ok: true, command: { name, file, args: [] } }
      if (!hasCommand('go')) return { ok: false, reason: 'go-libp2p peer skipped: Go is missing (install Go >= 1.26 from https://go.dev/dl, then ' + BUILD_HINT + ')' }
      return { ok: false, reason: `go-libp2p peer skipped: ${file} is not built (${BUILD_HINT})` }
    }
    case 'rust-libp2p': {
      const file = join(cacheDir(), 'rust-target', 'release', 'rust-peer')
      if (existsSync(file)) return { ok: true, command: { name, file, args: [] } }
      if (!hasCommand('cargo')) return { ok: false, reason: 'rust-libp2p peer skipped: cargo is missing (install Rust with rustup from https://rustup.rs, then ' + BUILD_HINT + ')' }
      return { ok: false, reason: `rust-libp2p peer skipped: ${file} is not built (${BUILD_HINT})` }
    }
    case 'js-libp2p':
      return { ok: true, command: { name, file: process.execPath, args: [fileURLToPath(new URL('./js-peer.js', import.meta.url))] } }
  }
}

import { errorIs } from '@tswarm/core'
import type { Multiaddr } from '@multiformats/multiaddr'

/** `ip4`, `ip6` or `unknown`, from the first IP or DNS component, as go's metricshelper.GetIPVersion. */
export function ipVersion (addr: Multiaddr | undefined): 'ip4' | 'ip6' | 'unknown' {
  if (addr === undefined) return 'unknown'
  for (const c of addr.getComponents()) {
    if (c.name === 'ip4' || c.name === 'dns4') return 'ip4'
    if (c.name === 'ip6' || c.name === 'dns6') return 'ip6'
  }
  return 'unknown'
}

/** The values of the `error` label of `libp2p_swarm_dial_errors_total`: a closed set, so the series stay few. */
export type DialErrorKind = 'deadline' | 'canceled' | 'connection refused' | 'timeout' | 'gated' | 'peer id mismatch' |
'handshake' | 'other'

/**
 * Sorts a failed address dial into one of a few kinds, like go's FailedDialing (which has deadline, canceled,
 * timeout, connection refused, other). Error messages are never used as label values: they carry addresses and
 * would make a series per address.
 */
export function dialErrorKind (err: Error): DialErrorKind {
  if (errorIs(err, 'DialTimeoutError') || errorIs(err, 'TimeoutError')) return 'deadline'
  if (errorIs(err, 'AbortError')) return 'canceled'
  if (hasCode(err, 'ECONNREFUSED')) return 'connection refused'
  if (hasCode(err, 'ETIMEDOUT')) return 'timeout'
  if (errorIs(err, 'GaterDisallowedError')) return 'gated'
  if (errorIs(err, 'PeerIdMismatchError')) return 'peer id mismatch'
  if (errorIs(err, 'UpgradeError')) return 'handshake'
  return 'other'
}

/** Whether `err` or one of its causes carries the system error `code` (Node's `err.code`). */
function hasCode (err: unknown, code: string): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 16; depth++) {
    const { code: c, cause, errors } = e as { code?: unknown, cause?: unknown, errors?: unknown }
    if (c === code) return true
    // a dual-stack connect that failed on every address throws an AggregateError of per-address errors
    if (Array.isArray(errors) && errors.some(inner => hasCode(inner, code))) return true
    e = cause
  }
  return false
}

const NUM_DIALS = ['0', '1', '2', '3', '4', '5'] as const

/** go's `num_dials` label: the count up to 5, then `>=6`. */
export function numDialsLabel (dials: number): string {
  return NUM_DIALS[dials] ?? '>=6'
}

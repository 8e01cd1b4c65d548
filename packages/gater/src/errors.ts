import { SwarmError } from '@tswarm/core'

/**
 * A string that should have been an IP address was not, or a multiaddr named no IP address (`/dns4/…`, `/memory/…`).
 * Rules apply to IP addresses only: resolve names first.
 */
export class InvalidIpAddressError extends SwarmError {
  constructor (readonly input: string, problem = 'not an IPv4 or IPv6 address') {
    super(`invalid IP address "${shorten(input)}": ${problem}; expected something like 192.0.2.7, 2001:db8::7 or /ip4/192.0.2.7/tcp/4001`)
  }
}

/** A string that should have been a subnet in CIDR notation was not. */
export class InvalidCidrError extends SwarmError {
  constructor (readonly input: string, problem: string) {
    super(`invalid CIDR "${shorten(input)}": ${problem}; expected an address and a prefix length, like 10.0.0.0/8 or 2001:db8::/32`)
  }
}

/**
 * The rule store could not be opened, read or written, or holds a record that is not a valid rule. The store is never
 * repaired or discarded automatically: that would silently lift blocks. `path` is set for a LevelDB store opened by
 * path, `key` for a corrupt record.
 */
export class GaterStoreError extends SwarmError {
  readonly path?: string
  readonly key?: string

  constructor (readonly gater: string, message: string, details: { path?: string, key?: string, cause?: unknown } = {}) {
    super(`${gater}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause })
    this.path = details.path
    this.key = details.key
  }
}

/**
 * A gater was used when it cannot be: its rules changed before the swarm started or after it closed, or one module
 * object was registered into a second swarm while the first is still running.
 */
export class GaterStateError extends SwarmError {}

function shorten (input: string): string {
  // Inputs may come from configuration files or the network: keep messages short whatever they hold.
  return input.length > 100 ? `${input.slice(0, 100)}…` : input
}

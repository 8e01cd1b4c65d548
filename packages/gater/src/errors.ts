import { SwarmError } from '@tswarm/core'

// Core's, re-exported: the gaters' IP and subnet parsing is core's (see ip.ts).
export { InvalidCidrError, InvalidIpAddressError } from '@tswarm/core'

/**
 * The rule store could not be opened, read or written, or holds a record that is not a valid rule. The store is never
 * repaired or discarded automatically: that would silently lift blocks. `path` is set for a LevelDB store opened by
 * path, `key` for a corrupt record.
 */
export class GaterStoreError extends SwarmError {
  override readonly name: string = 'GaterStoreError'
  readonly path?: string
  readonly key?: string

  constructor (readonly gater: string, message: string, details: { path?: string, key?: string, cause?: unknown } = {}) {
    super(`${gater}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause })
    this.path = details.path
    this.key = details.key
  }
}

/**
 * A gater was used when it cannot be: its rules changed before the swarm started or after it closed. (A module
 * registered into a second swarm while the first still runs is refused by core, with a PluginConflictError.)
 */
export class GaterStateError extends SwarmError {
  override readonly name: string = 'GaterStateError'
}

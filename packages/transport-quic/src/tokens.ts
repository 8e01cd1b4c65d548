import { createToken } from '@tswarm/core'
import type { QuicBinding } from './binding.js'
import type { QuicOptions } from './transport.js'
import type { Token } from '@tswarm/core'

function token<T> (name: string): Token<T> {
  return createToken<T>('@tswarm/transport-quic/v1', name)
}

/**
 * The options of one QUIC transport (single binding, optional: defaults when absent). `quic()` registers them in a
 * child container of the swarm's, one per transport, so they never meet another module's.
 */
export const QUIC_OPTIONS = token<QuicOptions>('QuicOptions')
/** The native addon (single binding, optional): `loadQuicBinding()` loads it when nothing is registered. */
export const QUIC_BINDING = token<QuicBinding>('QuicBinding')

import { createToken } from '@tswarm/core'
import type { QuicBinding } from './binding.js'
import type { QuicOptions, QuicTransport } from './transport.js'
import type { Token } from '@tswarm/core'

function token<T> (name: string): Token<T> {
  return createToken<T>('@tswarm/transport-quic/v1', name)
}

/** The options of the swarm's QUIC transport (single binding, optional: defaults when absent), as `quic()` checked them. */
export const QUIC_OPTIONS = token<QuicOptions>('QuicOptions')
/** The swarm's QUIC transport, for `pluginInstance(swarm, QUIC_TRANSPORT)`; `quic()` also binds it as a `TRANSPORT`. */
export const QUIC_TRANSPORT = token<QuicTransport>('QuicTransport')
/** The native addon (single binding, optional): `loadQuicBinding()` loads it when nothing is registered. */
export const QUIC_BINDING = token<QuicBinding>('QuicBinding')

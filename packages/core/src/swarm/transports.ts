import { DuplicateTransportError, SwarmError } from '../errors.js'
import { stripPeerId } from './addrs.js'
import type { Transport } from '../interfaces/transport.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The swarm's transports, and which one handles a given address (go's swarm_transport.go). */
export class TransportRegistry {
  readonly #transports: Transport[] = []
  readonly #owners = new Map<string, Transport>()

  /** Adds a transport; refuses one that handles no protocol or claims a protocol another already owns. */
  add (transport: Transport): void {
    if (transport.protocols.length === 0) {
      throw new SwarmError(`transport "${transport.name}" handles no multiaddr protocols: give it at least one in .protocols`)
    }
    for (const p of transport.protocols) {
      const owner = this.#owners.get(p)
      if (owner !== undefined) {
        throw new DuplicateTransportError(`transports "${owner.name}" and "${transport.name}" both claim the "${p}" protocol: register only one of them`)
      }
    }
    for (const p of transport.protocols) this.#owners.set(p, transport)
    this.#transports.push(transport)
  }

  all (): readonly Transport[] {
    return this.#transports
  }

  forDialing (addr: Multiaddr): Transport | undefined {
    const target = stripPeerId(addr)
    return this.#transports.find(t => t.canDial(target))
  }

  forListening (addr: Multiaddr): Transport | undefined {
    return this.#transports.find(t => t.canListen(addr))
  }
}

import { randomBytes } from 'node:crypto'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { instancePerContainerCachingFactory } from '../di.js'
import { SwarmError, toError } from '../errors.js'
import { stripPeerId } from '../swarm/addrs.js'
import { TRANSPORT } from '../tokens.js'
import type { SwarmModule } from '../interfaces/module.js'
import type { Listener, MuxedConnection, Transport, TransportDialOptions, TransportListenOptions } from '../interfaces/transport.js'
import type { MultiaddrConnection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type Accept = (maConn: MultiaddrConnection) => void

/** One memory connection: its two raw ends. */
export interface MemoryLink {
  outbound: MultiaddrConnection
  inbound: MultiaddrConnection
}

/** The address space memory transports share: a listener is reachable only from transports on the same network. */
export class MemoryNetwork {
  readonly listeners = new Map<string, Accept>()
  /** Every connection made on this network, so tests can act on the link itself. */
  readonly links: MemoryLink[] = []

  /**
   * Stops delivering anything in either direction without closing either end: the link behaves like a cable cut
   * or a peer that lost power. Nothing tells either side.
   */
  freeze (link: MemoryLink): void {
    // Pausing one end's reading holds back everything its peer sends, and the other way round.
    link.inbound.pause()
    link.outbound.pause()
  }
}

/** The network memory transports use when given none. */
export const defaultMemoryNetwork = new MemoryNetwork()

export interface MemoryTransportOptions {
  network?: MemoryNetwork
}

/**
 * A transport over in-process message queues, for tests without sockets. Addresses are `/memory/<name>`;
 * listening on `/memory/0` picks a fresh name, as port 0 does. Connections still run the swarm's upgrader, so
 * Noise, Yamux and every gate apply.
 */
export function memory (options: MemoryTransportOptions = {}): SwarmModule {
  return {
    name: '@tswarm/core/testing:memory',
    register (container) {
      container.register(TRANSPORT, { useFactory: instancePerContainerCachingFactory(() => new MemoryTransport(options.network)) })
    }
  }
}

function memoryName (addr: Multiaddr): string | undefined {
  const parts = stripPeerId(addr).getComponents()
  return parts.length === 1 && parts[0].name === 'memory' ? parts[0].value : undefined
}

export class MemoryTransport implements Transport {
  readonly name = 'memory'
  readonly protocols = ['memory']
  readonly #open = new Set<MultiaddrConnection>()

  constructor (private readonly network: MemoryNetwork = defaultMemoryNetwork) {}

  canDial (addr: Multiaddr): boolean {
    return memoryName(addr) !== undefined
  }

  canListen (addr: Multiaddr): boolean {
    return memoryName(addr) !== undefined
  }

  async dial (addr: Multiaddr, options: TransportDialOptions): Promise<MuxedConnection> {
    options.signal.throwIfAborted()
    const name = memoryName(addr) ?? ''
    const accept = this.network.listeners.get(name)
    if (accept === undefined) throw new SwarmError(`connection refused: nothing listens on /memory/${name}`)
    const [outbound, inbound] = multiaddrConnectionPair({
      outbound: { remoteAddr: multiaddr(`/memory/${name}`) },
      inbound: { remoteAddr: multiaddr(`/memory/dialer-${randomBytes(4).toString('hex')}`) }
    })
    this.#track(outbound)
    this.network.links.push({ outbound, inbound })
    accept(inbound)
    return options.upgrader.upgradeOutbound(outbound, { signal: options.signal, remotePeer: options.remotePeer, transport: this.name })
  }

  async listen (addr: Multiaddr, options: TransportListenOptions): Promise<Listener> {
    let name = memoryName(addr) ?? ''
    if (name === '0') name = randomBytes(8).toString('hex')
    if (this.network.listeners.has(name)) throw new SwarmError(`/memory/${name} is already in use: listen on /memory/0 for a fresh name`)
    const bound = multiaddr(`/memory/${name}`)
    this.network.listeners.set(name, maConn => {
      this.#track(maConn)
      options.upgrader.upgradeInbound(maConn, { transport: this.name, localAddr: bound })
        .then(conn => { options.onConnection(conn) }, err => { options.onError?.(toError(err)) })
    })
    const closeHandlers: Array<(err?: Error) => void> = []
    let closed = false
    return {
      getAddrs: () => closed ? [] : [bound],
      onClose: h => { if (closed) h(); else closeHandlers.push(h) },
      close: async () => {
        if (closed) return
        closed = true
        this.network.listeners.delete(name)
        for (const h of closeHandlers.splice(0)) h()
      }
    }
  }

  async close (): Promise<void> {
    for (const c of this.#open) c.abort(new SwarmError('memory transport closed'))
  }

  #track (maConn: MultiaddrConnection): void {
    this.#open.add(maConn)
    maConn.addEventListener('close', () => { this.#open.delete(maConn) }, { once: true })
  }
}

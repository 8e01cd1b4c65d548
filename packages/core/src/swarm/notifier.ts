import type { Conn } from '../interfaces/connection.js'
import type { Notifiee } from '../interfaces/notifiee.js'
import type { Logger } from '@libp2p/logger'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Delivers swarm events to notifiees.
 *
 * Connection events are delivered asynchronously and chained per connection, so `connected` always precedes
 * `disconnected` for a given connection, and a handler that calls back into the swarm (closing the connection,
 * dialing) can never re-enter a delivery in progress. A throwing handler is logged and does not stop the others.
 */
export class Notifier {
  readonly #notifiees = new Set<Notifiee>()
  readonly #chains = new WeakMap<Conn, Promise<void>>()
  readonly #inFlight = new Set<Promise<void>>()

  constructor (private readonly log: Logger) {}

  add (n: Notifiee): void {
    this.#notifiees.add(n)
  }

  remove (n: Notifiee): void {
    this.#notifiees.delete(n)
  }

  listen (addr: Multiaddr): void {
    this.#each('listen', n => n.listen?.(addr))
  }

  listenClose (addr: Multiaddr): void {
    this.#each('listenClose', n => n.listenClose?.(addr))
  }

  /** Resolves once every notifiee has seen the event. */
  async connected (conn: Conn): Promise<void> {
    return this.#chain(conn, () => { this.#each('connected', n => n.connected?.(conn)) })
  }

  /** Resolves once every notifiee has seen the event, which is after they saw `connected`. */
  async disconnected (conn: Conn): Promise<void> {
    return this.#chain(conn, () => { this.#each('disconnected', n => n.disconnected?.(conn)) })
  }

  /** Resolves once every connection event queued so far has been delivered. */
  async flush (): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight])
  }

  async #chain (conn: Conn, deliver: () => void): Promise<void> {
    const next = (this.#chains.get(conn) ?? Promise.resolve()).then(deliver)
    this.#chains.set(conn, next)
    this.#inFlight.add(next)
    try {
      await next
    } finally {
      this.#inFlight.delete(next)
    }
  }

  #each (event: string, call: (n: Notifiee) => void): void {
    for (const n of [...this.#notifiees]) {
      try {
        call(n)
      } catch (err) {
        this.log.error('notifiee threw on %s: %e', event, err)
      }
    }
  }
}

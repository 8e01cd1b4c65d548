import { expandUnspecified, isIp6LinkLocal } from './addrs.js'
import type { Notifier } from './notifier.js'
import type { Listener } from '../interfaces/transport.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The swarm's listeners and the addresses they are bound to (go's swarm_listen.go, the bookkeeping part). */
export class ListenerSet {
  readonly #listeners = new Set<Listener>()
  readonly #notifier: Notifier

  constructor (notifier: Notifier) {
    this.#notifier = notifier
  }

  /** Takes a listener that is bound: notifies `listen` for each address now and `listenClose` when it closes. */
  add (listener: Listener): void {
    this.#listeners.add(listener)
    const bound = listener.getAddrs()
    listener.onClose(() => {
      this.#listeners.delete(listener)
      for (const a of bound) this.#notifier.listenClose(a)
    })
    for (const a of bound) this.#notifier.listen(a)
  }

  /** Closes the listeners bound to any of `targets` (compared by value). */
  async close (targets: readonly Multiaddr[]): Promise<void> {
    const closing = [...this.#listeners].filter(l => l.getAddrs().some(a => targets.some(t => t.equals(a))))
    await Promise.all(closing.map(async l => { await l.close() }))
  }

  /** Closes every listener; failures are the listeners' own to report. */
  async closeAll (): Promise<void> {
    await Promise.allSettled([...this.#listeners].map(async l => { await l.close() }))
  }

  /** The addresses as bound (`0.0.0.0` stays unspecified). */
  addrs (): Multiaddr[] {
    return [...this.#listeners].flatMap(l => l.getAddrs())
  }

  /**
   * The addresses with `0.0.0.0` and `::` replaced by this machine's interface addresses, deduplicated. IPv6
   * link-local addresses are left out, whoever reported them (some transports expand listeners themselves): they are
   * not dialable without a zone.
   */
  interfaceAddrs (): Multiaddr[] {
    const seen = new Set<string>()
    return this.addrs().flatMap(expandUnspecified).filter(a => {
      if (isIp6LinkLocal(a)) return false
      const key = a.toString()
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
  }
}

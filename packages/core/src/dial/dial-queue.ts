import { addrKey } from '../swarm/addrs.js'
import type { AddrDelay } from '../interfaces/dial.js'

/**
 * Addresses waiting to be dialed, ordered by delay (go's dialQueue). Small (a peer's addresses), so a sorted array
 * beats a heap.
 */
export class DialQueue {
  readonly #items: AddrDelay[] = []

  get length (): number {
    return this.#items.length
  }

  /** The address due first. */
  top (): AddrDelay | undefined {
    return this.#items[0]
  }

  /** Adds an address; equal delays keep insertion order. */
  add (item: AddrDelay): void {
    let i = this.#items.length
    while (i > 0 && this.#items[i - 1].delay > item.delay) i--
    this.#items.splice(i, 0, item)
  }

  /** Replaces the delay of an address already queued (compared by bytes), or adds it. */
  updateOrAdd (item: AddrDelay): void {
    this.remove(addrKey(item.addr))
    this.add(item)
  }

  remove (key: string): void {
    const i = this.#items.findIndex(d => addrKey(d.addr) === key)
    if (i !== -1) this.#items.splice(i, 1)
  }

  /** Removes and returns every address sharing the smallest delay. */
  nextBatch (): AddrDelay[] {
    if (this.#items.length === 0) return []
    const delay = this.#items[0].delay
    let n = 0
    while (n < this.#items.length && this.#items[n].delay === delay) n++
    return this.#items.splice(0, n)
  }
}

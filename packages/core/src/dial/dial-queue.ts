import type { AddrDelay } from '../interfaces/dial.js'

/**
 * Addresses waiting to be dialed, ordered by delay (go's dialQueue). Small (a peer's addresses), so a sorted array
 * beats a heap.
 */
export class DialQueue {
  readonly #items: AddrDelay[] = []

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

  /** Removes and returns every address sharing the smallest delay. */
  nextBatch (): AddrDelay[] {
    if (this.#items.length === 0) return []
    const delay = this.#items[0].delay
    let n = 0
    while (n < this.#items.length && this.#items[n].delay === delay) n++
    return this.#items.splice(0, n)
  }
}

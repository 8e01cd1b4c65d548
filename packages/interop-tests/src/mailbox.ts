/**
 * Items that arrive on their own (a peer's event lines, the ends a handler saw), each taken once by whoever waits
 * for one that matches.
 */
export class Mailbox<T> {
  readonly #items: T[] = []
  readonly #waiters = new Set<() => void>()

  put (item: T): void {
    this.#items.push(item)
    this.wake()
  }

  /** Wakes the waiters so they look again (new items, or a change `stop` in take() looks at). */
  wake (): void {
    for (const wake of [...this.#waiters]) wake()
  }

  /**
   * The first item (oldest first) that matches, removed; waits up to `timeoutMs`. `stop` is asked on every wake-up
   * and ends the wait with its error (a peer that exited, say); `onTimeout` makes the error when time runs out.
   */
  async take (match: (item: T) => boolean, timeoutMs: number, onTimeout: () => Error, stop?: () => Error | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.#items.findIndex(match)
      if (index >= 0) return this.#items.splice(index, 1)[0]
      const stopped = stop?.()
      if (stopped !== undefined) throw stopped
      const left = deadline - Date.now()
      if (left <= 0) throw onTimeout()
      await new Promise<void>(resolve => {
        const wake = (): void => {
          clearTimeout(timer)
          this.#waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, left)
        this.#waiters.add(wake)
      })
    }
  }
}

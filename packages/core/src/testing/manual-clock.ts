import type { Clock, TimerHandle } from '../interfaces/clock.js'

interface Timer { id: number, at: number, fn: () => void }

/**
 * A clock that moves only when told to, for deterministic tests of timeouts, deadlines and TTLs.
 *
 * @example
 * ```ts
 * const clock = new ManualClock()
 * clock.setTimeout(() => console.log('fired'), 100)
 * clock.advance(100) // prints "fired"
 * ```
 */
export class ManualClock implements Clock {
  #now: number
  #nextId = 1
  readonly #timers = new Map<number, Timer>()

  constructor (start = 1_700_000_000_000) {
    this.#now = start
  }

  now (): number {
    return this.#now
  }

  setTimeout (fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn })
    return id
  }

  clearTimeout (handle: TimerHandle): void {
    this.#timers.delete(handle as number)
  }

  /** How many timers are waiting. */
  get pendingTimers (): number {
    return this.#timers.size
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, earliest first (ties in the order they were set).
   * Timers set by a firing timer fire too if they fall within the window.
   */
  advance (ms: number): void {
    const target = this.#now + ms
    for (;;) {
      let next: Timer | undefined
      for (const t of this.#timers.values()) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t
      }
      if (next === undefined) break
      this.#timers.delete(next.id)
      this.#now = next.at
      next.fn()
    }
    this.#now = target
  }
}

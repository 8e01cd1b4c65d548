/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown

/**
 * The source of time for everything in the swarm that waits: dial and upgrade timeouts, deadlines, TTLs.
 *
 * Injected (token `CLOCK`) so tests can drive time by hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /**
   * Runs `fn` once after `ms` milliseconds. The swarm's timers guard operations that someone awaits, so they keep
   * the process alive like the I/O they guard; each is cleared when its operation ends.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle
  /** Cancels a timer; unknown or already fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void
}

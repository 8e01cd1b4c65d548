import type { Clock, TimerHandle } from './interfaces/clock.js'

/** The real clock. */
export class SystemClock implements Clock {
  now (): number {
    return Date.now()
  }

  setTimeout (fn: () => void, ms: number): TimerHandle {
    return setTimeout(fn, ms)
  }

  clearTimeout (handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  }
}

/**
 * An AbortSignal that fires after `ms` on `clock`, combined with an optional parent signal. Call `clear()` once the
 * guarded work is done so the timer does not linger.
 */
export function timeoutSignal (clock: Clock, ms: number, parent: AbortSignal | undefined, makeError: () => Error): { signal: AbortSignal, clear: () => void } {
  const controller = new AbortController()
  const onParentAbort = (): void => { controller.abort(parent?.reason) }
  if (parent?.aborted === true) {
    controller.abort(parent.reason)
    return { signal: controller.signal, clear: () => {} }
  }
  parent?.addEventListener('abort', onParentAbort, { once: true })
  const timer = clock.setTimeout(() => { controller.abort(makeError()) }, ms)
  return {
    signal: controller.signal,
    clear: () => {
      clock.clearTimeout(timer)
      parent?.removeEventListener('abort', onParentAbort)
    }
  }
}

import type { PeerId } from '@libp2p/interface'

interface ActiveDial<T> {
  promise: Promise<T>
  controller: AbortController
  callers: number
}

/**
 * At most one dial per peer at a time (go-libp2p's dialSync). Concurrent callers join the dial in progress. The dial
 * runs on its own signal, not the first caller's, so one caller giving up does not fail the others; when every
 * caller has given up, the dial itself is aborted.
 */
export class DialSync<T> {
  readonly #active = new Map<string, ActiveDial<T>>()

  constructor (private readonly run: (peer: PeerId, signal: AbortSignal) => Promise<T>) {}

  /** Number of peers being dialed now. */
  get size (): number {
    return this.#active.size
  }

  async dial (peer: PeerId, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted()
    const key = peer.toString()
    let active = this.#active.get(key)
    if (active === undefined) {
      const controller = new AbortController()
      const created: ActiveDial<T> = { controller, callers: 0, promise: this.run(peer, controller.signal) }
      active = created
      this.#active.set(key, created)
      // Forget the dial once it settles, whoever is still waiting on it; callers keep their own reference.
      created.promise.then(() => { this.#forget(key, created) }, () => { this.#forget(key, created) })
    }
    active.callers++
    try {
      return await raceAbort(active.promise, signal)
    } finally {
      active.callers--
      if (active.callers === 0 && this.#active.get(key) === active) {
        this.#forget(key, active)
        active.controller.abort(new Error('every caller of this dial gave up'))
      }
    }
  }

  #forget (key: string, dial: ActiveDial<T>): void {
    if (this.#active.get(key) === dial) this.#active.delete(key)
  }
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

import { raceAbort } from '../abort.js'
import type { PeerId } from '@libp2p/interface'

/** The per-peer worker a DialSync runs: every caller becomes one request to it. */
export interface PeerDialWorker<T, O> {
  request(options: O): Promise<T>
}

/**
 * Why the worker of a dial that succeeded is stopped. One shared instance: every successful dial aborts its worker,
 * and a new Error each time would capture a stack trace per connection for nothing.
 */
const DIAL_SUCCEEDED = new Error('the dial succeeded; remaining address dials are not needed')

interface ActiveDial<T, O> {
  worker: PeerDialWorker<T, O>
  controller: AbortController
  callers: number
}

/**
 * At most one dial worker per peer at a time (go-libp2p's dialSync). Concurrent callers become requests to the same
 * worker. The worker runs on its own signal, not a caller's, so one caller giving up does not fail the others;
 * when the last caller leaves (with a connection or not) the worker's signal aborts and it stops.
 */
export class DialSync<T, O> {
  readonly #active = new Map<string, ActiveDial<T, O>>()

  constructor (private readonly createWorker: (peer: PeerId, signal: AbortSignal) => PeerDialWorker<T, O>) {}

  /** Number of peers with a worker now. */
  get size (): number {
    return this.#active.size
  }

  async dial (peer: PeerId, options: O, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted()
    const key = peer.toString()
    let active = this.#active.get(key)
    if (active === undefined) {
      const controller = new AbortController()
      active = { controller, callers: 0, worker: this.createWorker(peer, controller.signal) }
      this.#active.set(key, active)
    }
    active.callers++
    let outcome: unknown
    try {
      return await raceAbort(active.worker.request(options), signal)
    } catch (err) {
      outcome = err
      throw err
    } finally {
      active.callers--
      if (active.callers === 0 && this.#active.get(key) === active) {
        this.#active.delete(key)
        active.controller.abort(outcome ?? DIAL_SUCCEEDED)
      }
    }
  }
}

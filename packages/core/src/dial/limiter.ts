import { CODE_P2P_CIRCUIT, CODE_TCP, CODE_UNIX } from '@multiformats/multiaddr'
import { InvalidOptionError, SwarmError } from '../errors.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** go-libp2p's ConcurrentFdDials: outbound dials that may hold a file descriptor at once, over all peers. */
export const DEFAULT_FD_LIMIT = 160

/** go-libp2p's DefaultPerPeerRateLimit: outbound dials to one peer at once. */
export const DEFAULT_PER_PEER_LIMIT = 8

/**
 * Whether dialing `addr` uses a file descriptor (go-libp2p's isFdConsumingAddr): TCP and unix socket addresses do;
 * UDP-based ones (QUIC, WebTransport, WebRTC) share one socket and do not. For a `/p2p-circuit` address the part
 * before the circuit (the relay server's address) decides, as that is the connection actually opened.
 *
 * A bare `/p2p-circuit` address, with nothing saying how the relay is reached, counts as fd-consuming: go does this
 * "for safety", since the relay may well be reached over TCP.
 */
export function isFdConsumingAddr (addr: Multiaddr): boolean {
  const components = addr.getComponents()
  const circuit = components.findIndex(c => c.code === CODE_P2P_CIRCUIT)
  const relayPart = circuit === -1 ? components : components.slice(0, circuit)
  if (relayPart.length === 0) return true
  return relayPart.some(c => c.code === CODE_TCP || c.code === CODE_UNIX)
}

/**
 * Whether a dial of `addr` through the limiter takes an fd token (go's shouldConsumeFd). Relay dials never do, even
 * when the relay is reached over TCP: the relay transport's own dial of the relay server goes through the limiter
 * with the server's (non-circuit) address and takes the token then, so taking one here too would count it twice.
 */
function takesFdToken (addr: Multiaddr): boolean {
  return !addr.getComponents().some(c => c.code === CODE_P2P_CIRCUIT) && isFdConsumingAddr(addr)
}

/** A queued dial was dropped by {@link DialLimiter.clearAllPeerDials} before it started, because its peer's dial ended. */
export class DialsClearedError extends SwarmError {
  override readonly name: string = 'DialsClearedError'
  constructor (readonly peer: PeerId, readonly addr: Multiaddr) {
    super(`queued dial of ${addr.toString()} to ${peer.toString()} was dropped before it started: ` +
      'the dial to this peer ended (clearAllPeerDials), so this address is no longer needed')
  }
}

/** Options of a {@link DialLimiter}. */
export interface DialLimiterOptions {
  /**
   * Fd-consuming dials (TCP, unix; see {@link isFdConsumingAddr}) that may run at once, over all peers.
   * A positive integer; default {@link DEFAULT_FD_LIMIT} (160, go's ConcurrentFdDials).
   */
  fdLimit?: number
  /**
   * Dials to one peer that may run at once, whatever their transport. A positive integer; default
   * {@link DEFAULT_PER_PEER_LIMIT} (8, go's DefaultPerPeerRateLimit).
   */
  perPeerLimit?: number
}

/**
 * Where a job is: waiting for a per-peer token, holding one and waiting for an fd token, given its tokens and
 * about to or already running, or finished (settled or dropped).
 */
type JobState = 'peer-wait' | 'fd-wait' | 'granted' | 'done'

interface Job {
  readonly key: string
  readonly peer: PeerId
  readonly addr: Multiaddr
  readonly signal: AbortSignal
  readonly usesFd: boolean
  state: JobState
  holdsPeerToken: boolean
  holdsFdToken: boolean
  /** Runs the dial; called once, when the job has all its tokens. */
  readonly start: () => void
  /** Rejects the caller's promise; for jobs dropped before they start. */
  readonly reject: (reason: unknown) => void
}

/** The waiting jobs of one signal, and the single abort listener the limiter keeps on it for them. */
interface SignalWatch {
  readonly jobs: Set<Job>
  readonly onAbort: () => void
}

/**
 * Bounds concurrent outbound dials (go-libp2p's dialLimiter): at most `perPeerLimit` per peer and at most `fdLimit`
 * fd-consuming ones overall. A dial first takes a per-peer token, then, if its address consumes a file descriptor,
 * an fd token; it waits in arrival order for whichever it lacks, and releases both when it settles (fd first, as go
 * releases in reverse order of taking).
 *
 * A waiting dial whose signal aborts is dropped at once: its promise rejects with the signal's reason and it
 * returns the per-peer token it may hold. A running dial keeps its tokens until it settles, since its socket is
 * open until then; the dial function is expected to honour the signal it is given.
 *
 * No timers are used, and the abort listener a waiting dial needs is removed as soon as it starts or is dropped.
 */
export class DialLimiter {
  /** The fd token count. */
  readonly fdLimit: number
  /** The per-peer token count. */
  readonly perPeerLimit: number

  #fdConsuming = 0
  // Sets iterate in insertion order, so they are FIFO queues that also drop an aborted waiter in O(1).
  readonly #waitingOnFd = new Set<Job>()
  readonly #activePerPeer = new Map<string, number>()
  readonly #waitingOnPeer = new Map<string, Set<Job>>()
  // One listener per signal however many jobs share it (a peer's dials usually do), so that Node does not warn
  // about a listener leak on signals shared by more than ten waiting dials.
  readonly #watches = new Map<AbortSignal, SignalWatch>()

  constructor (options: DialLimiterOptions = {}) {
    const { fdLimit = DEFAULT_FD_LIMIT, perPeerLimit = DEFAULT_PER_PEER_LIMIT } = options
    if (!isPositiveInteger(fdLimit)) throw new InvalidOptionError('fdLimit', fdLimit, 'a positive integer (default 160)')
    if (!isPositiveInteger(perPeerLimit)) throw new InvalidOptionError('perPeerLimit', perPeerLimit, 'a positive integer (default 8)')
    this.fdLimit = fdLimit
    this.perPeerLimit = perPeerLimit
  }

  /** Fd tokens held now (running or starting fd-consuming dials). Never negative. */
  get fdConsuming (): number {
    return this.#fdConsuming
  }

  /** Dials that hold a per-peer token and wait for an fd token. */
  get waitingOnFd (): number {
    return this.#waitingOnFd.size
  }

  /** Per-peer tokens `peer` holds now. */
  activePerPeer (peer: PeerId): number {
    return this.#activePerPeer.get(peer.toString()) ?? 0
  }

  /** Dials to `peer` waiting for a per-peer token. */
  waitingOnPeer (peer: PeerId): number {
    return this.#waitingOnPeer.get(peer.toString())?.size ?? 0
  }

  /**
   * Runs `dial` once `peer` has a free per-peer token and, if `addr` takes one, an fd token is free, and settles as
   * it does. `dial` gets `signal`. If `signal` is already aborted, or aborts while the dial waits, the promise
   * rejects with its reason and `dial` is never called.
   */
  run<T> (peer: PeerId, addr: Multiaddr, signal: AbortSignal, dial: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // A dial nobody wants any more takes no token (go would take them, then release them unused).
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        key: peer.toString(),
        peer,
        addr,
        signal,
        usesFd: takesFdToken(addr),
        state: 'peer-wait',
        holdsPeerToken: false,
        holdsFdToken: false,
        reject,
        start: () => {
          // Start on a microtask (go starts a goroutine): user code then never runs in the middle of a token
          // hand-off, which could otherwise re-enter the limiter while its queues are half updated.
          queueMicrotask(() => {
            // The signal may have aborted between the hand-off and now.
            if (signal.aborted) {
              this.#finish(job)
              reject(signal.reason)
              return
            }
            let result: Promise<T>
            try {
              result = Promise.resolve(dial(signal))
            } catch (err) {
              result = Promise.reject(err)
            }
            // Tokens go back before the caller hears of the result, so counters are up to date when it does.
            result.then(value => {
              this.#finish(job)
              resolve(value)
            }, (err: unknown) => {
              this.#finish(job)
              reject(err)
            })
          })
        }
      }
      this.#addCheckPeerLimit(job)
      if (job.state !== 'granted') this.#watch(job)
    })
  }

  /**
   * Drops every queued dial of `peer`: their promises reject with a {@link DialsClearedError}. Running dials are
   * left alone. Call it when the dial to the peer is over, so its leftover addresses are not dialed.
   *
   * go only empties the per-peer wait list here and relies on the dial's context being cancelled to skip the
   * peer's jobs waiting for an fd token; this drops those too (returning their per-peer tokens), so nothing queued
   * for the peer survives whatever the caller does with its signals.
   */
  clearAllPeerDials (peer: PeerId): void {
    const key = peer.toString()
    const waiting = this.#waitingOnPeer.get(key)
    // Empty the per-peer queue first, so the per-peer tokens that the fd waiters give back below go to nobody.
    this.#waitingOnPeer.delete(key)
    for (const job of waiting ?? []) this.#drop(job, new DialsClearedError(job.peer, job.addr))
    for (const job of [...this.#waitingOnFd]) {
      if (job.key === key) this.#drop(job, new DialsClearedError(job.peer, job.addr))
    }
  }

  /** Takes a per-peer token for `job` and goes on to the fd token, or queues it for a per-peer token. */
  #addCheckPeerLimit (job: Job): void {
    const active = this.#activePerPeer.get(job.key) ?? 0
    if (active >= this.perPeerLimit) {
      job.state = 'peer-wait'
      let queue = this.#waitingOnPeer.get(job.key)
      if (queue === undefined) {
        queue = new Set()
        this.#waitingOnPeer.set(job.key, queue)
      }
      queue.add(job)
      return
    }
    this.#activePerPeer.set(job.key, active + 1)
    job.holdsPeerToken = true
    this.#addCheckFdLimit(job)
  }

  /** Takes an fd token for `job` if it needs one and starts it, or queues it for an fd token. */
  #addCheckFdLimit (job: Job): void {
    if (job.usesFd) {
      // Queue behind earlier fd waiters even if a token is free: that only happens in the middle of #releaseFdToken,
      // which hands the free tokens out in order. (go checks the count alone and can go one over the limit there.)
      if (this.#fdConsuming >= this.fdLimit || this.#waitingOnFd.size > 0) {
        job.state = 'fd-wait'
        this.#waitingOnFd.add(job)
        return
      }
      this.#fdConsuming++
      job.holdsFdToken = true
    }
    this.#grant(job)
  }

  #grant (job: Job): void {
    job.state = 'granted'
    this.#unwatch(job)
    job.start()
  }

  /** A granted job settled: give its tokens back, fd first. */
  #finish (job: Job): void {
    job.state = 'done'
    if (job.holdsFdToken) {
      job.holdsFdToken = false
      this.#releaseFdToken()
    }
    if (job.holdsPeerToken) {
      job.holdsPeerToken = false
      this.#releasePeerToken(job.key)
    }
  }

  /** Drops a queued job: it rejects with `reason` and gives back the per-peer token an fd waiter holds. */
  #drop (job: Job, reason: unknown): void {
    if (job.state === 'peer-wait') {
      const queue = this.#waitingOnPeer.get(job.key)
      queue?.delete(job)
      if (queue?.size === 0) this.#waitingOnPeer.delete(job.key)
    } else if (job.state === 'fd-wait') {
      this.#waitingOnFd.delete(job)
    } else {
      return
    }
    job.state = 'done'
    this.#unwatch(job)
    if (job.holdsPeerToken) {
      job.holdsPeerToken = false
      this.#releasePeerToken(job.key)
    }
    job.reject(reason)
  }

  #releaseFdToken (): void {
    // Only a job that holds a token releases one, and only once, so this cannot go below zero; the guard is
    // there so that a bug elsewhere could never turn into negative counts (go's TestFDLimitUnderflow).
    if (this.#fdConsuming > 0) this.#fdConsuming--
    while (this.#fdConsuming < this.fdLimit && this.#waitingOnFd.size > 0) {
      const next: Job = this.#waitingOnFd.values().next().value as Job
      // Abort listeners normally drop waiters at once; this catches a signal that aborted before its listener ran.
      if (next.signal.aborted) {
        this.#drop(next, next.signal.reason)
        continue
      }
      this.#waitingOnFd.delete(next)
      this.#fdConsuming++
      next.holdsFdToken = true
      this.#grant(next)
    }
  }

  #releasePeerToken (key: string): void {
    let active = this.#activePerPeer.get(key) ?? 0
    if (active > 0) active--
    if (active === 0) this.#activePerPeer.delete(key)
    else this.#activePerPeer.set(key, active)

    const queue = this.#waitingOnPeer.get(key)
    while (queue !== undefined && queue.size > 0 && active < this.perPeerLimit) {
      const next: Job = queue.values().next().value as Job
      if (next.signal.aborted) {
        this.#drop(next, next.signal.reason)
        continue
      }
      queue.delete(next)
      active++
      this.#activePerPeer.set(key, active)
      next.holdsPeerToken = true
      this.#addCheckFdLimit(next)
    }
    if (queue?.size === 0 && this.#waitingOnPeer.get(key) === queue) this.#waitingOnPeer.delete(key)
  }

  /** Drops `job` if its signal aborts while it waits. */
  #watch (job: Job): void {
    let watch = this.#watches.get(job.signal)
    if (watch === undefined) {
      const signal = job.signal
      const created: SignalWatch = { jobs: new Set(), onAbort: () => { this.#onAbort(signal) } }
      watch = created
      this.#watches.set(signal, created)
      signal.addEventListener('abort', created.onAbort, { once: true })
    }
    watch.jobs.add(job)
  }

  #unwatch (job: Job): void {
    const watch = this.#watches.get(job.signal)
    if (watch === undefined || !watch.jobs.delete(job)) return
    if (watch.jobs.size === 0) {
      this.#watches.delete(job.signal)
      job.signal.removeEventListener('abort', watch.onAbort)
    }
  }

  #onAbort (signal: AbortSignal): void {
    const watch = this.#watches.get(signal)
    if (watch === undefined) return
    // The listener was registered with `once`, so it is already gone.
    this.#watches.delete(signal)
    for (const job of [...watch.jobs]) this.#drop(job, signal.reason)
  }
}

function isPositiveInteger (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

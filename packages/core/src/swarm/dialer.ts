import { raceAbort } from '../abort.js'
import { timeoutSignal } from '../clock.js'
import { AddrPipeline } from '../dial/addr-pipeline.js'
import { DialBackoff } from '../dial/backoff.js'
import { BlackHoleDetector, BlackHoleSuccessCounter, isPublicAddr } from '../dial/black-hole.js'
import { DialWorker } from '../dial/dial-worker.js'
import { DialLimiter } from '../dial/limiter.js'
import { PUBLIC_TCP_DELAY, isPrivateAddr } from '../dial/ranker.js'
import { DialTimeoutError, NoTransportError, toError } from '../errors.js'
import { DialSync } from './dial-sync.js'
import type { SwarmConn } from './conn.js'
import type { BlackHoleCounterOptions, SwarmConfig } from '../config.js'
import type { DialRequestOptions } from '../dial/dial-worker.js'
import type { DialPlan } from '../dial/plan.js'
import type { Clock } from '../interfaces/clock.js'
import type { DialRanker, DnsResolver } from '../interfaces/dial.js'
import type { ConnectionGater } from '../interfaces/gater.js'
import type { MetricsTracer } from '../interfaces/metrics.js'
import type { BlackHoleCounterStats } from '../interfaces/network.js'
import type { Peerstore } from '../interfaces/peerstore.js'
import type { ResourceManager } from '../interfaces/resources.js'
import type { MuxedConnection, Transport } from '../interfaces/transport.js'
import type { Upgrader } from '../interfaces/upgrader.js'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the dialer needs from its swarm. */
export interface SwarmDialerInit {
  clock: Clock
  config: SwarmConfig
  ranker: DialRanker
  resolver: DnsResolver
  peerstore: Peerstore
  gaters: readonly ConnectionGater[]
  upgrader: Upgrader
  resources: ResourceManager
  tracers: readonly MetricsTracer[]
  log: Logger
  transportFor: (addr: Multiaddr) => Transport | undefined
  /** Our own dialable addresses. */
  ownAddrs: () => Multiaddr[]
  /** The connection to use for a peer, if one arrived meanwhile. */
  bestConn: (peer: PeerId) => SwarmConn | undefined
  /** Takes a dialed connection into the swarm. */
  addConn: (muxed: MuxedConnection) => Promise<SwarmConn>
}

/**
 * The swarm's dial side (go's swarm_dial.go): one worker per peer (DialSync), which addresses (AddrPipeline), when
 * (the ranker), through the descriptor limiter, with backoff and black-hole detection, each address under its
 * timeout. The Swarm keeps what comes before (gating the peer, the overall timeout) and after (taking the
 * connection).
 */
export class SwarmDialer {
  readonly backoff: DialBackoff
  readonly #init: SwarmDialerInit
  readonly #sync: DialSync<SwarmConn, DialRequestOptions>
  readonly #limiter: DialLimiter
  readonly #blackHoles: BlackHoleDetector
  readonly #addrs: AddrPipeline
  #planListener?: (peer: PeerId, plan: DialPlan) => void

  constructor (init: SwarmDialerInit) {
    this.#init = init
    const { clock, config } = init
    this.#sync = new DialSync((peer, signal) => this.#newWorker(peer, signal))
    this.backoff = new DialBackoff(clock, { base: config.backoffBase, coef: config.backoffCoef, max: config.backoffMax })
    this.#limiter = new DialLimiter({ fdLimit: config.fdDialLimit, perPeerLimit: config.perPeerDialLimit })
    const counter = (name: string, opts: BlackHoleCounterOptions | null): BlackHoleSuccessCounter | null =>
      opts === null ? null : new BlackHoleSuccessCounter({ name, n: opts.n, minSuccesses: opts.minSuccesses })
    this.#blackHoles = new BlackHoleDetector({ udp: counter('UDP', config.udpBlackHole), ipv6: counter('IPv6', config.ipv6BlackHole) })
    this.#addrs = new AddrPipeline({
      peerstore: init.peerstore,
      transportFor: init.transportFor,
      resolver: init.resolver,
      maxDnsRecursion: config.maxDnsRecursion,
      maxResolvedAddrs: config.maxResolvedAddrs,
      blackHoles: this.#blackHoles,
      ownAddrs: init.ownAddrs,
      gaters: init.gaters
    })
  }

  start (): void {
    this.backoff.start()
  }

  stop (): void {
    this.backoff.stop()
  }

  /** Joins or starts the peer's dial worker; resolves with the connection or throws its DialError. */
  async dial (peer: PeerId, options: DialRequestOptions, signal: AbortSignal): Promise<SwarmConn> {
    return this.#sync.dial(peer, options, signal)
  }

  /** Whether `addr` would be dialed for `peer` now: a transport, not filtered, not backed off (go's CanDial). */
  async canDial (peer: PeerId, addr: Multiaddr): Promise<boolean> {
    const { addrs } = await this.#addrs.filter(peer, [addr], false)
    return addrs.length === 1 && !this.backoff.backoff(peer, addr)
  }

  onDialPlan (listener: ((peer: PeerId, plan: DialPlan) => void) | undefined): void {
    this.#planListener = listener
  }

  /** The black-hole counters' state, one entry per enabled class. */
  blackHoleStats (): BlackHoleCounterStats[] {
    return [this.#blackHoles.udp, this.#blackHoles.ipv6].flatMap(c => c == null ? [] : [c.stats()])
  }

  #newWorker (peer: PeerId, signal: AbortSignal): DialWorker<SwarmConn> {
    // As go's dial loop does on exit: dials of this peer still queued for a descriptor are not needed any more.
    signal.addEventListener('abort', () => { this.#limiter.clearAllPeerDials(peer) }, { once: true })
    return new DialWorker<SwarmConn>(peer, {
      clock: this.#init.clock,
      ranker: this.#init.ranker,
      backoff: this.backoff,
      publicTcpDelay: PUBLIC_TCP_DELAY,
      bestConn: () => this.#init.bestConn(peer),
      addrsForDial: async (sig, forceDirect) => this.#addrs.addrsForDial(peer, sig, forceDirect),
      dialAddr: async (addr, sig, onProgress) => this.#limiter.run(peer, addr, sig, async jobSignal => this.#dialAddr(peer, addr, jobSignal, onProgress)),
      addConn: async muxed => this.#init.addConn(muxed),
      isPublicTcp: addr => isPublicAddr(addr) && addr.getComponents().some(c => c.name === 'tcp'),
      onPlan: (p, plan) => { this.#planListener?.(p, plan) },
      onDone: (connected, dials, ms) => { this.#trace(t => t.dialCompleted?.(peer, connected, dials, ms)) },
      onRankingDelay: ms => { this.#trace(t => t.dialRankingDelay?.(ms)) }
    }, signal)
  }

  /** Dials one address with its timeout (go's dialAddr), recording the result for black-hole detection. */
  async #dialAddr (peer: PeerId, addr: Multiaddr, signal: AbortSignal, onProgress: () => void): Promise<MuxedConnection> {
    const { clock, config, resources, upgrader } = this.#init
    const transport = this.#init.transportFor(addr)
    if (transport === undefined) throw new NoTransportError(addr.toString())
    // Charged before dialing, so a swarm at its limit spends no socket on a connection it could not keep.
    const scope = resources.openConnection('outbound', addr)
    const ms = isPrivateAddr(addr) ? Math.min(config.dialTimeoutLocal, config.dialTimeout) : config.dialTimeout
    const timeout = timeoutSignal(clock, ms, signal, () => new DialTimeoutError(`dial to ${addr.toString()} timed out after ${ms} ms`))
    const dialing = transport.dial(addr, { signal: timeout.signal, upgrader, remotePeer: peer, onProgress })
    let muxed: MuxedConnection
    try {
      muxed = await raceAbort(dialing, timeout.signal)
      this.#blackHoles.recordResult(addr, true)
    } catch (err) {
      scope.done()
      // go counts cancelled dials as failures too: a black hole shows up as dials that never finish.
      this.#blackHoles.recordResult(addr, false)
      const failure = timeout.signal.aborted ? toError(timeout.signal.reason) : toError(err)
      this.#trace(t => t.failedDialing?.(addr, transport.name, failure))
      // A transport that ignored the abort may still produce a connection: nobody will take it.
      dialing.then(m => { m.abort(new Error('dial abandoned')) }, () => {})
      throw failure
    } finally {
      timeout.clear()
    }
    try {
      scope.setPeer(peer)
    } catch (err) {
      muxed.abort(toError(err))
      throw err
    }
    muxed.onClose(() => { scope.done() })
    return muxed
  }

  /** Calls every metrics tracer; a tracer that throws is logged, never allowed to break a dial. */
  #trace (call: (t: MetricsTracer) => void): void {
    for (const t of this.#init.tracers) {
      try {
        call(t)
      } catch (err) {
        this.#init.log.error('metrics tracer threw: %e', err)
      }
    }
  }
}

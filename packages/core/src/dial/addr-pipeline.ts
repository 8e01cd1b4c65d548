import { AddrDialError, DialError, DialRefusedBlackHoleError, DialToSelfError, NoAddressesError, NoGoodAddressesError, NoTransportError, SwarmError, toError } from '../errors.js'
import { checkGates } from '../gating.js'
import { AddrTTL } from '../interfaces/peerstore.js'
import { addrKey, isIp6LinkLocal, isUnspecified, stripPeerId } from '../swarm/addrs.js'
import { filterLowPriorityAddresses } from './filter.js'
import { DialPlan } from './plan.js'
import { isRelayAddr } from './ranker.js'
import { resolveAddrs } from './resolve.js'
import type { BlackHoleDetector } from './black-hole.js'
import type { PlanEntry } from './plan.js'
import type { DnsResolver } from '../interfaces/dial.js'
import type { ConnectionGater } from '../interfaces/gater.js'
import type { Peerstore } from '../interfaces/peerstore.js'
import type { Transport } from '../interfaces/transport.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the pipeline needs from the swarm. */
export interface AddrPipelineInit {
  peerstore: Peerstore
  /** The transport that dials an address, if any. */
  transportFor: (addr: Multiaddr) => Transport | undefined
  resolver: DnsResolver
  maxDnsRecursion: number
  maxResolvedAddrs: number
  blackHoles: BlackHoleDetector
  /** Our own dialable addresses: dialing them would reach ourselves. */
  ownAddrs: () => Multiaddr[]
  gaters: readonly ConnectionGater[]
}

/** The addresses worth dialing, and what became of the others: each as a per-address error and a plan entry. */
export interface DialableAddrs {
  addrs: Multiaddr[]
  errors: AddrDialError[]
  filtered: PlanEntry[]
}

/**
 * Which addresses of a peer the swarm dials (go's `addrsForDial` and `filterKnownUndialables`), in go's order:
 * resolve (`/dns*`, `/dnsaddr`), deduplicate, then drop what cannot or must not be dialed: no transport (QUIC
 * draft-29 named), low-priority duplicates, black-holed UDP/IPv6, unspecified IPs, our own addresses, IPv6
 * link-local, relayed addresses on a force-direct dial, and what a gater refuses. Every dropped address says why.
 * Ranking (when each survivor is dialed) is the DialRanker's.
 */
export class AddrPipeline {
  readonly #init: AddrPipelineInit

  constructor (init: AddrPipelineInit) {
    this.#init = init
  }

  /**
   * Resolves and filters the peer's peerstore addresses; remembers the resolved survivors with `AddrTTL.TEMP`, as go
   * does, so a redial soon after needs no new lookup. Throws a DialError (NoAddressesError, or NoGoodAddressesError
   * with every refusal and the plan) when nothing is left to dial.
   */
  async addrsForDial (peer: PeerId, signal: AbortSignal, forceDirect: boolean): Promise<DialableAddrs> {
    const { peerstore } = this.#init
    const known = peerstore.addrs(peer)
    if (known.length === 0) throw new DialError(peer, new NoAddressesError(peer))
    const { resolved, errors: dnsErrors } = await resolveAddrs(peer, known, {
      resolver: this.#init.resolver,
      maxRecursion: this.#init.maxDnsRecursion,
      maxAddrs: this.#init.maxResolvedAddrs,
      signal
    })
    const unique = new Map<string, Multiaddr>()
    for (const a of resolved) unique.set(addrKey(stripPeerId(a)), stripPeerId(a))
    const { addrs, errors, filtered } = await this.filter(peer, [...unique.values()], forceDirect)
    for (const e of dnsErrors) {
      errors.push(new AddrDialError(e.addr, e.error))
      filtered.push({ addr: e.addr, outcome: 'filtered', error: e.error })
    }
    if (addrs.length === 0) {
      const err = new DialError(peer, new NoGoodAddressesError(), errors)
      err.plan = new DialPlan(filtered)
      throw err
    }
    peerstore.addAddrs(peer, addrs, AddrTTL.TEMP)
    return { addrs, errors, filtered }
  }

  /** go's filterKnownUndialables over `input`, in its order, then the gaters' address hook. */
  async filter (peer: PeerId, input: readonly Multiaddr[], forceDirect: boolean): Promise<DialableAddrs> {
    const errors: AddrDialError[] = []
    const filtered: PlanEntry[] = []
    const drop = (addr: Multiaddr, cause: Error, outcome: PlanEntry['outcome'] = 'filtered'): void => {
      errors.push(new AddrDialError(addr, cause))
      filtered.push({ addr, outcome, error: cause })
    }
    const withTransport = input.filter(a => {
      if (this.#init.transportFor(a) !== undefined) return true
      const isDraft29 = a.getComponents().some(c => c.name === 'quic')
      drop(a, new NoTransportError(a.toString(), isDraft29
        ? 'QUIC draft-29 (/quic) is not supported; the peer must offer /quic-v1'
        : 'register a transport module that handles it (e.g. tcp() from @tswarm/transport-tcp)'))
      return false
    })
    const lowPriority = filterLowPriorityAddresses(withTransport)
    for (const d of lowPriority.dropped) drop(d.addr, new SwarmError(d.reason))
    const holes = this.#init.blackHoles.filterAddrs(lowPriority.kept)
    for (const a of holes.blackHoled) drop(a, new DialRefusedBlackHoleError(a.getComponents().some(c => c.name === 'udp') ? 'UDP' : 'IPv6'), 'black-hole')
    const own = new Set(this.#init.ownAddrs().map(addrKey))
    const dialable: Multiaddr[] = []
    for (const a of holes.allowed) {
      if (isUnspecified(a)) drop(a, new SwarmError('unspecified IP addresses (0.0.0.0, ::) cannot be dialed'))
      else if (own.has(addrKey(a))) drop(a, new DialToSelfError())
      else if (isIp6LinkLocal(a)) drop(a, new SwarmError('IPv6 link-local addresses are not dialed, zoned or not (as go-libp2p): they name a link, not a host'))
      else if (forceDirect && isRelayAddr(a)) drop(a, new SwarmError('relayed address skipped by a force-direct dial'))
      else dialable.push(a)
    }
    const allowed: Multiaddr[] = []
    for (const a of dialable) {
      try {
        await checkGates(this.#init.gaters, 'interceptAddrDial', `dial to ${a.toString()}`, g => g.interceptAddrDial?.(peer, a))
        allowed.push(a)
      } catch (err) {
        drop(a, toError(err))
      }
    }
    return { addrs: allowed, errors, filtered }
  }
}

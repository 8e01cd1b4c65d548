import { CLOCK, CONNECTION_GATER, InvalidOptionError, LOGGER, SWARM_CONFIG, SWARM_SERVICE, addrKey, definePlugin, inject, injectAll, injectable, stripPeerId } from '@tswarm/core'
import { ipOfMultiaddr, toCidr } from './ip.js'
import { ConnectionRateLimiter, DEFAULT_RATE_LIMITS } from './rate-limiter.js'
import { DEFAULT_SUBNET_LIMITS, SubnetConnLimiter } from './subnet-limiter.js'
import { INBOUND_LIMITS, INBOUND_LIMITS_CONFIG, LIMITS_EXEMPTION } from './tokens.js'
import type { Cidr, IpAddress } from './ip.js'
import type { RateLimit, RateLimits } from './rate-limiter.js'
import type { SubnetLimit, SubnetLimits } from './subnet-limiter.js'
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock, Conn, ConnectionAddrs, ConnectionGater, Direction, Network, Notifiee, SwarmConfig, SwarmModule, SwarmService } from '@tswarm/core'

export const INBOUND_LIMITS_NAME = 'inbound-limits'
export const INBOUND_LIMITS_MODULE_NAME = '@tswarm/gater:inbound-limits'
/** The gater names the three limits refuse under, so a refusal says which limit was hit. */
export const PENDING_LIMIT_NAME = 'inbound-limits:pending'
export const RATE_LIMIT_NAME = 'inbound-limits:rate'
export const SUBNET_LIMIT_NAME = 'inbound-limits:subnet'

/** js-libp2p's maxIncomingPendingConnections. */
export const DEFAULT_MAX_PENDING = 10

/** An upgraded connection that has not joined the swarm after this long (clock ms) was refused later on: forget it. */
const JOIN_GRACE = 30_000

/**
 * Sources the inbound limits do not apply to (multi-binding `LIMITS_EXEMPTION`). `allowList()` registers itself;
 * a plugin of your own may too.
 */
export interface LimitsExemption {
  /** Whether connections from this address skip every limit (asked at the accept gate, before any handshake). */
  exemptsAddr(addr: Multiaddr): boolean
  /** Whether an identified peer's inbound connections skip the per-subnet cap (asked at the secured gate). */
  exemptsPeer?(peer: PeerId): boolean
}

/** Options of {@link inboundLimits}; every field is optional. */
export interface InboundLimitsOptions {
  /**
   * The most inbound connections that may be between accept and the end of their handshakes at once; more are
   * refused at accept. This bounds the work a flood can cause, whatever its source, so it applies to loopback
   * too. `false` disables it. Default 10 (js-libp2p's `maxIncomingPendingConnections`).
   */
  maxPending?: number | false
  /**
   * New inbound connections per source, as token buckets per subnet on the swarm's clock (`CLOCK`). A family left
   * out keeps its default. `false` disables the limit. Default go-libp2p's: IPv4 /32 and IPv6 /56 burst 16 then
   * 0.2/s, IPv6 /48 burst 80 then 0.5/s ({@link DEFAULT_RATE_LIMITS}).
   */
  rate?: false | { ipv4?: readonly RateLimit[], ipv6?: readonly RateLimit[] }
  /**
   * Concurrent inbound connections per subnet, counted from accept until the connection closes (or fails its
   * handshake). A family left out keeps its default. `false` disables the cap. Default go-libp2p's: IPv4 /32 → 8,
   * IPv6 /56 → 8 and /48 → 64 ({@link DEFAULT_SUBNET_LIMITS}).
   */
  subnets?: false | { ipv4?: readonly SubnetLimit[], ipv6?: readonly SubnetLimit[] }
  /**
   * Whether the rate limit and the subnet caps apply to loopback sources (127.0.0.0/8, ::1). Default false: like
   * go-libp2p, local tools, sidecars and tests are not throttled.
   */
  applyToLoopback?: boolean
  /** Sources no limit applies to: IP addresses or CIDR subnets. Default none. Members of `allowList()` are exempt too. */
  exempt?: readonly string[]
}

/** {@link InboundLimitsOptions}, validated; `null` for a disabled limit. */
export interface InboundLimitsConfig {
  readonly maxPending: number | null
  readonly rate: RateLimits | null
  readonly subnets: SubnetLimits | null
  readonly applyToLoopback: boolean
  readonly exempt: readonly Cidr[]
}

/** What the limits have seen, for metrics and tests. */
export interface InboundLimitsStats {
  /** Inbound connections between accept and the end of their handshakes, as counted by the pending limit. */
  pending: number
  /** The most `pending` has ever been. */
  pendingHighWater: number
  /** Inbound connections counted by the subnet caps: handshaking or established. */
  subnetConnections: number
  /** Sources with a rate bucket that has not refilled yet. */
  rateBuckets: number
  /** Refusals so far, by limit. */
  refused: { pending: number, rate: number, subnet: number }
}

export type InboundLimitKind = 'pending' | 'rate' | 'subnet'

interface Reservation {
  readonly keys: readonly string[]
  /** The remote address as the connection will report it, to find the connection when it joins the swarm. */
  readonly remote: string
  at: number
}

/**
 * Inbound connection limits: pending handshakes, new-connection rate per source, and concurrent connections per
 * subnet. Every refusal happens at the accept gate, so a refused socket is closed before a single handshake byte
 * is read. Each limit is its own gater (`inbound-limits:rate`, `inbound-limits:subnet`, `inbound-limits:pending`,
 * asked in that order), so a refusal names the limit that was hit.
 *
 * The subnet count of a connection is taken at accept and given back when its handshake fails or, once it joined
 * the swarm, when it closes (through the swarm's notifications).
 */
@injectable()
export class InboundLimits implements SwarmService {
  readonly name = INBOUND_LIMITS_NAME
  readonly #log: Logger
  readonly #rate?: ConnectionRateLimiter
  readonly #subnets?: SubnetConnLimiter
  readonly #gaters = new Map<InboundLimitKind, ConnectionGater>()
  /** Keyed by the object the upgrader passes to both interceptAccept and inboundSettled for one connection. */
  readonly #pending = new Map<ConnectionAddrs, number>()
  readonly #reserved = new Map<ConnectionAddrs, Reservation>()
  /**
   * The same reservations by remote address: the secured gate is given a different object than the accept gate,
   * and the remote address (IP and port) is what identifies the connection there.
   */
  readonly #reservedByRemote = new Map<string, ConnectionAddrs>()
  /** Upgraded, waiting for the swarm's `connected` notification; by remote address. */
  readonly #joining = new Map<string, Reservation[]>()
  readonly #established = new Map<Conn, Reservation>()
  readonly #refused = { pending: 0, rate: 0, subnet: 0 }
  #highWater = 0
  #network?: Network
  #running = false
  readonly #notifiee: Notifiee = {
    connected: conn => { this.#onConnected(conn) },
    disconnected: conn => { this.#onDisconnected(conn) }
  }

  constructor (
    @inject(INBOUND_LIMITS_CONFIG) private readonly config: InboundLimitsConfig,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(SWARM_CONFIG) private readonly swarmConfig: SwarmConfig,
    @inject(LOGGER) logger: ComponentLogger,
    @injectAll(LIMITS_EXEMPTION, { isOptional: true }) private readonly exemptions: LimitsExemption[]
  ) {
    this.#log = logger.forComponent('tswarm:gater:inbound-limits')
    if (config.rate !== null) {
      this.#rate = new ConnectionRateLimiter(config.rate, clock)
      this.#gaters.set('rate', {
        name: RATE_LIMIT_NAME,
        interceptAccept: addrs => this.#acceptRate(addrs)
      })
    }
    if (config.subnets !== null) {
      this.#subnets = new SubnetConnLimiter(config.subnets)
      this.#gaters.set('subnet', {
        name: SUBNET_LIMIT_NAME,
        interceptAccept: addrs => this.#acceptSubnet(addrs),
        interceptSecured: (direction, peer, addrs) => this.#securedSubnet(direction, peer, addrs),
        inboundSettled: (addrs, upgraded) => { this.#settledSubnet(addrs, upgraded) }
      })
    }
    if (config.maxPending !== null) {
      this.#gaters.set('pending', {
        name: PENDING_LIMIT_NAME,
        interceptAccept: addrs => this.#acceptPending(addrs),
        inboundSettled: addrs => { this.#pending.delete(addrs) }
      })
    }
  }

  /** The gater of one limit, or undefined when that limit is disabled. */
  gater (kind: InboundLimitKind): ConnectionGater | undefined {
    return this.#gaters.get(kind)
  }

  /** Subscribes to the swarm's connection events, to give subnet counts back when connections close. */
  start (network: Network): void {
    this.#network = network
    network.notify(this.#notifiee)
    this.#running = true
  }

  stop (): void {
    this.#running = false
    this.#network?.stopNotify(this.#notifiee)
  }

  stats (): InboundLimitsStats {
    let subnetConnections = this.#reserved.size + this.#established.size
    for (const list of this.#joining.values()) subnetConnections += list.length
    return {
      pending: this.#pending.size,
      pendingHighWater: this.#highWater,
      subnetConnections,
      rateBuckets: this.#rate?.size ?? 0,
      refused: { ...this.#refused }
    }
  }

  // ---- the gates ----

  #acceptRate (addrs: ConnectionAddrs): boolean {
    const ip = this.#limited(addrs.remoteAddr)
    if (ip === undefined || this.#rate === undefined || this.#rate.allow(ip)) return true
    this.#refuse('rate', addrs)
    return false
  }

  #acceptSubnet (addrs: ConnectionAddrs): boolean {
    const ip = this.#limited(addrs.remoteAddr)
    if (ip === undefined || this.#subnets === undefined) return true
    const now = this.clock.now()
    if (this.#joining.size > 0) this.#forgetStaleJoining(now)
    const keys = this.#subnets.tryAdd(ip)
    if (keys === undefined) {
      this.#refuse('subnet', addrs)
      return false
    }
    const remote = connKey(addrs.remoteAddr)
    this.#reserved.set(addrs, { keys, remote, at: now })
    this.#reservedByRemote.set(remote, addrs)
    return true
  }

  #securedSubnet (direction: Direction, peer: PeerId, addrs: ConnectionAddrs): boolean {
    if (direction !== 'inbound' || !this.exemptions.some(e => e.exemptsPeer?.(peer) === true)) return true
    const accepted = this.#reservedByRemote.get(connKey(addrs.remoteAddr))
    const r = accepted === undefined ? undefined : this.#reserved.get(accepted)
    if (accepted !== undefined && r !== undefined) {
      // An exempt peer proved its ID: its connection stops counting against its subnet.
      this.#unreserve(accepted, r)
      this.#subnets?.release(r.keys)
    }
    return true
  }

  #settledSubnet (addrs: ConnectionAddrs, upgraded: boolean): void {
    const r = this.#reserved.get(addrs)
    if (r === undefined) return
    this.#unreserve(addrs, r)
    if (!upgraded || !this.#running) {
      this.#subnets?.release(r.keys)
      return
    }
    r.at = this.clock.now()
    const list = this.#joining.get(r.remote)
    if (list === undefined) this.#joining.set(r.remote, [r])
    else list.push(r)
  }

  #acceptPending (addrs: ConnectionAddrs): boolean {
    if (this.#isExempt(addrs.remoteAddr)) return true
    const max = this.config.maxPending ?? Infinity
    const now = this.clock.now()
    if (this.#pending.size >= max) this.#forgetStalePending(now)
    if (this.#pending.size >= max) {
      this.#refuse('pending', addrs)
      return false
    }
    this.#pending.set(addrs, now)
    if (this.#pending.size > this.#highWater) this.#highWater = this.#pending.size
    return true
  }

  #unreserve (addrs: ConnectionAddrs, r: Reservation): void {
    this.#reserved.delete(addrs)
    if (this.#reservedByRemote.get(r.remote) === addrs) this.#reservedByRemote.delete(r.remote)
  }

  // ---- connection events ----

  #onConnected (conn: Conn): void {
    if (conn.stat().direction !== 'inbound') return
    const key = connKey(conn.remoteMultiaddr)
    const list = this.#joining.get(key)
    const r = list?.shift()
    if (list !== undefined && list.length === 0) this.#joining.delete(key)
    if (r === undefined) return
    if (conn.status === 'closed') {
      this.#subnets?.release(r.keys)
      return
    }
    this.#established.set(conn, r)
  }

  #onDisconnected (conn: Conn): void {
    const r = this.#established.get(conn)
    if (r === undefined) return
    this.#established.delete(conn)
    this.#subnets?.release(r.keys)
  }

  // ---- helpers ----

  /** The source's IP when the rate and subnet limits apply to it; undefined for exempt or non-IP sources. */
  #limited (addr: Multiaddr): IpAddress | undefined {
    const ip = ipOfMultiaddr(addr)
    if (ip === undefined) return undefined
    if (ip.isLoopback && !this.config.applyToLoopback) return undefined
    if (this.#isExempt(addr, ip)) return undefined
    return ip
  }

  #isExempt (addr: Multiaddr, ip = ipOfMultiaddr(addr)): boolean {
    if (ip !== undefined && this.config.exempt.some(c => c.contains(ip))) return true
    return this.exemptions.some(e => e.exemptsAddr(addr))
  }

  #refuse (kind: InboundLimitKind, addrs: ConnectionAddrs): void {
    this.#refused[kind]++
    this.#log('refused inbound connection from %a: %s limit reached', addrs.remoteAddr, kind)
  }

  /**
   * Our upgrader always reports the end of a handshake; one that did not would otherwise hold a pending slot forever.
   * Past twice the inbound upgrade timeout, a handshake is surely over.
   */
  #forgetStalePending (now: number): void {
    const cutoff = now - 2 * this.swarmConfig.inboundUpgradeTimeout
    for (const [addrs, at] of this.#pending) {
      if (at < cutoff) this.#pending.delete(addrs)
    }
  }

  /** An upgraded connection that a later gate refused never joins the swarm, so it would never be seen closing. */
  #forgetStaleJoining (now: number): void {
    for (const [key, list] of this.#joining) {
      const keep = list.filter(r => {
        if (now - r.at <= JOIN_GRACE) return true
        this.#subnets?.release(r.keys)
        return false
      })
      if (keep.length === 0) this.#joining.delete(key)
      else this.#joining.set(key, keep)
    }
  }
}

function connKey (addr: Multiaddr): string {
  return addrKey(stripPeerId(addr))
}

/**
 * Validates the options at once, so a mistake fails where the module is created.
 *
 * @throws InvalidOptionError naming the option, InvalidCidrError for a bad `exempt` entry
 */
export function resolveInboundLimitsOptions (options: InboundLimitsOptions): InboundLimitsConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('inboundLimits', options, 'an options object')
  const { maxPending = DEFAULT_MAX_PENDING, rate = {}, subnets = {}, applyToLoopback = false, exempt = [] } = options
  if (maxPending !== false && !(maxPending === Infinity || (Number.isInteger(maxPending) && maxPending >= 1))) {
    throw new InvalidOptionError('inboundLimits.maxPending', maxPending, 'a whole number of at least 1, Infinity, or false')
  }
  if (typeof applyToLoopback !== 'boolean') throw new InvalidOptionError('inboundLimits.applyToLoopback', applyToLoopback, 'true or false')
  if (!Array.isArray(exempt)) throw new InvalidOptionError('inboundLimits.exempt', exempt, 'an array of IP addresses or CIDR subnets')
  return Object.freeze({
    maxPending: maxPending === false || maxPending === Infinity ? null : maxPending,
    rate: rate === false ? null : Object.freeze({
      ipv4: rateLimits('rate.ipv4', rate.ipv4 ?? DEFAULT_RATE_LIMITS.ipv4, 32),
      ipv6: rateLimits('rate.ipv6', rate.ipv6 ?? DEFAULT_RATE_LIMITS.ipv6, 128)
    }),
    subnets: subnets === false ? null : Object.freeze({
      ipv4: subnetLimits('subnets.ipv4', subnets.ipv4 ?? DEFAULT_SUBNET_LIMITS.ipv4, 32),
      ipv6: subnetLimits('subnets.ipv6', subnets.ipv6 ?? DEFAULT_SUBNET_LIMITS.ipv6, 128)
    }),
    applyToLoopback,
    exempt: Object.freeze(exempt.map(e => toCidr(e)))
  })
}

function rateLimits (option: string, value: unknown, maxBits: number): readonly RateLimit[] {
  return list(option, value).map((l, i) => {
    const name = `inboundLimits.${option}[${i}]`
    prefixLength(name, l.prefixLength, maxBits)
    if (typeof l.perSecond !== 'number' || !Number.isFinite(l.perSecond) || l.perSecond < 0) {
      throw new InvalidOptionError(`${name}.perSecond`, l.perSecond, 'a finite number of at least 0')
    }
    if (!Number.isInteger(l.burst) || (l.burst as number) < 1) throw new InvalidOptionError(`${name}.burst`, l.burst, 'a whole number of at least 1')
    return Object.freeze({ prefixLength: l.prefixLength as number, perSecond: l.perSecond, burst: l.burst as number })
  })
}

function subnetLimits (option: string, value: unknown, maxBits: number): readonly SubnetLimit[] {
  return list(option, value).map((l, i) => {
    const name = `inboundLimits.${option}[${i}]`
    prefixLength(name, l.prefixLength, maxBits)
    if (!Number.isInteger(l.maxConnections) || (l.maxConnections as number) < 1) {
      throw new InvalidOptionError(`${name}.maxConnections`, l.maxConnections, 'a whole number of at least 1')
    }
    return Object.freeze({ prefixLength: l.prefixLength as number, maxConnections: l.maxConnections as number })
  })
}

function list (option: string, value: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(value)) throw new InvalidOptionError(`inboundLimits.${option}`, value, 'an array of limits')
  return value.map((l: unknown, i) => {
    if (typeof l !== 'object' || l === null) throw new InvalidOptionError(`inboundLimits.${option}[${i}]`, l, 'a limit object')
    return l as Record<string, unknown>
  })
}

function prefixLength (name: string, value: unknown, maxBits: number): void {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > maxBits) {
    throw new InvalidOptionError(`${name}.prefixLength`, value, `a whole number from 0 to ${maxBits}`)
  }
}

/**
 * Inbound connection limits as a swarm module: one gater per enabled limit, and a service that follows connections
 * closing. Options are checked here. Each swarm made with the module gets its own limits (its config holds no
 * state), whose statistics are `pluginInstance(swarm, INBOUND_LIMITS).stats()`.
 *
 * @example
 * ```ts
 * const swarm = await createSwarm({ modules: [tcp(), inboundLimits({ maxPending: 32 })], listen: ['/ip4/0.0.0.0/tcp/4001'] })
 * console.log(pluginInstance(swarm, INBOUND_LIMITS).stats().refused)
 * ```
 * @throws InvalidOptionError naming the bad option, InvalidCidrError
 */
export function inboundLimits (options: InboundLimitsOptions = {}): SwarmModule {
  const config = resolveInboundLimitsOptions(options)
  const kinds: InboundLimitKind[] = ['rate', 'subnet', 'pending']
  const enabled = { rate: config.rate !== null, subnet: config.subnets !== null, pending: config.maxPending !== null }
  return definePlugin({
    name: INBOUND_LIMITS_MODULE_NAME,
    factory: 'inboundLimits()',
    token: INBOUND_LIMITS,
    config: { token: INBOUND_LIMITS_CONFIG, value: config },
    instance: { useClass: InboundLimits },
    register: c => {
      // Rate first, as go's resource manager: every attempt spends a token, even one a later limit refuses.
      for (const kind of kinds) {
        if (!enabled[kind]) continue
        c.register(CONNECTION_GATER, { useFactory: r => r.resolve<InboundLimits>(INBOUND_LIMITS).gater(kind) as ConnectionGater })
      }
      c.register(SWARM_SERVICE, { useToken: INBOUND_LIMITS })
    }
  })
}

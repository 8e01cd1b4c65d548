import { CONNECTION_GATER, LOGGER, SWARM_SERVICE, definePlugin, inject, injectable } from '@tswarm/core'
import { ipOfMultiaddr, toCidr, toIp } from './ip.js'
import { RuleList, resolveRuleListOptions } from './rule-list.js'
import { toPeerId } from './rule-set.js'
import { ALLOW_LIST, ALLOW_LIST_CONFIG, LIMITS_EXEMPTION } from './tokens.js'
import type { LimitsExemption } from './inbound-limits.js'
import type { Cidr, IpAddress } from './ip.js'
import type { AddrInput, PeerInput, RuleListConfig, RuleListOptions, SubnetInput } from './rule-list.js'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Conn, ConnectionAddrs, ConnectionGater, Direction, SwarmModule } from '@tswarm/core'

/** The gater name an allow list refuses under. */
export const ALLOW_LIST_NAME = 'allow-list'
export const ALLOW_LIST_MODULE_NAME = '@tswarm/gater:allow-list'
/** Where an allow list's records live in its datastore. */
export const ALLOW_LIST_PREFIX = '/tswarm/gater/v1/allow-list'

/** Options of {@link allowList}; every field is optional. */
export type AllowListOptions = RuleListOptions

/**
 * Lets only listed peers, IP addresses and subnets connect, in both directions (a private cluster). A connection is
 * allowed when its peer is listed or its remote IP address is covered by an address or subnet rule. An empty allow
 * list lets nothing through: it fails closed.
 *
 * Each hook decides with what it knows: at accept only the address is known, so when peers are listed, an unknown
 * address is let through to the handshake and decided at the secured gate, once the peer has proved its ID.
 *
 * Members are also exempt from `inboundLimits()` (the list registers itself as a `LIMITS_EXEMPTION`): listed
 * addresses and subnets from every limit, listed peers from the per-subnet cap once identified.
 *
 * Removing a member closes the connections no longer allowed (unless `closeConnections: false`).
 */
@injectable()
export class AllowList extends RuleList implements ConnectionGater, LimitsExemption {
  readonly name = ALLOW_LIST_NAME

  constructor (
    @inject(ALLOW_LIST_CONFIG) config: RuleListConfig,
    @inject(LOGGER) logger: ComponentLogger
  ) {
    super(config, logger.forComponent('tswarm:gater:allow-list'), ALLOW_LIST_PREFIX)
  }

  interceptPeerDial (peer: PeerId): boolean {
    // With address rules, the peer may still be reached at a listed address: the address gate decides.
    return this.rules.hasPeer(peer) || this.rules.ipRuleCount > 0
  }

  interceptAddrDial (peer: PeerId, addr: Multiaddr): boolean {
    return this.rules.hasPeer(peer) || this.rules.matchesAddr(addr)
  }

  interceptAccept (addrs: ConnectionAddrs): boolean {
    // The peer is not known yet; when peers are listed, the secured gate decides for unlisted addresses.
    return this.rules.matchesAddr(addrs.remoteAddr) || this.rules.peerCount > 0
  }

  interceptSecured (_direction: Direction, peer: PeerId, addrs: ConnectionAddrs): boolean {
    return this.rules.hasPeer(peer) || this.rules.matchesAddr(addrs.remoteAddr)
  }

  interceptUpgraded (conn: Conn): boolean {
    return !this.denies(conn)
  }

  // ---- LimitsExemption ----

  exemptsAddr (addr: Multiaddr): boolean {
    return this.rules.matchesAddr(addr)
  }

  exemptsPeer (peer: PeerId): boolean {
    return this.rules.hasPeer(peer)
  }

  // ---- rules ----

  /**
   * Lets a peer connect, from any address.
   *
   * @throws InvalidPeerIdError; GaterStoreError when the store fails; GaterStateError outside a running swarm
   */
  async allowPeer (peer: PeerInput): Promise<void> {
    const p = toPeerId(peer)
    await this.change(false, async rules => rules.addPeer(p))
  }

  /** Removes a peer from the list and closes its connections unless an address rule still allows them. */
  async removePeer (peer: PeerInput): Promise<void> {
    const p = toPeerId(peer)
    await this.change(true, async rules => rules.removePeer(p))
  }

  /**
   * Lets any peer connect from (or be dialed at) an IP address.
   *
   * @throws InvalidIpAddressError
   */
  async allowAddr (addr: AddrInput): Promise<void> {
    const ip = toIp(addr)
    await this.change(false, async rules => rules.addAddr(ip))
  }

  async removeAddr (addr: AddrInput): Promise<void> {
    const ip = toIp(addr)
    await this.change(true, async rules => rules.removeAddr(ip))
  }

  /**
   * Lets any peer connect from (or be dialed in) a subnet.
   *
   * @throws InvalidCidrError
   */
  async allowSubnet (subnet: SubnetInput): Promise<void> {
    const cidr = toCidr(subnet)
    await this.change(false, async rules => rules.addSubnet(cidr))
  }

  async removeSubnet (subnet: SubnetInput): Promise<void> {
    const cidr = toCidr(subnet)
    await this.change(true, async rules => rules.removeSubnet(cidr))
  }

  allowedPeers (): PeerId[] {
    return this.rules.peers()
  }

  allowedAddrs (): IpAddress[] {
    return this.rules.addrs()
  }

  allowedSubnets (): Cidr[] {
    return this.rules.subnets()
  }

  isPeerAllowed (peer: PeerInput): boolean {
    return this.rules.hasPeer(toPeerId(peer))
  }

  isAddrAllowed (addr: AddrInput): boolean {
    return this.rules.matchesIp(toIp(addr))
  }

  protected denies (conn: Conn): boolean {
    const ip = ipOfMultiaddr(conn.remoteMultiaddr)
    return !this.rules.hasPeer(conn.remotePeer) && !(ip !== undefined && this.rules.matchesIp(ip))
  }
}

/**
 * An allow list as a swarm module. Options are checked here, so bad input fails before any swarm is made. Change the
 * members through the swarm's list, `pluginInstance(swarm, ALLOW_LIST)`. Like `blockList()`, one module serves one
 * running swarm at a time.
 *
 * @example
 * ```ts
 * const swarm = await createSwarm({ modules: [tcp(), allowList({ path: './members', subnets: ['10.0.0.0/8'] })] })
 * await pluginInstance(swarm, ALLOW_LIST).allowPeer('12D3KooW…')
 * ```
 * @throws InvalidOptionError, InvalidPeerIdError, InvalidIpAddressError, InvalidCidrError
 */
export function allowList (options: AllowListOptions = {}): SwarmModule {
  const config = resolveRuleListOptions(options, 'allowList')
  return definePlugin({
    name: ALLOW_LIST_MODULE_NAME,
    factory: 'allowList()',
    token: ALLOW_LIST,
    config: { token: ALLOW_LIST_CONFIG, value: config },
    instance: { useClass: AllowList },
    exclusive: list => list.state === 'starting' || list.state === 'running',
    register: c => {
      c.register(CONNECTION_GATER, { useToken: ALLOW_LIST })
      c.register(SWARM_SERVICE, { useToken: ALLOW_LIST })
      c.register(LIMITS_EXEMPTION, { useToken: ALLOW_LIST })
    }
  })
}

import { CONNECTION_GATER, LOGGER, SWARM_SERVICE, definePlugin, inject, injectable } from '@tswarm/core'
import { ipOfMultiaddr, toCidr, toIp } from './ip.js'
import { RuleList, resolveRuleListOptions } from './rule-list.js'
import { toPeerId } from './rule-set.js'
import { BLOCK_LIST, BLOCK_LIST_CONFIG } from './tokens.js'
import type { Cidr, IpAddress } from './ip.js'
import type { AddrInput, PeerInput, RuleListConfig, RuleListOptions, SubnetInput } from './rule-list.js'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Conn, ConnectionAddrs, ConnectionGater, Direction, SwarmModule } from '@tswarm/core'

/** The gater name a block list refuses under. */
export const BLOCK_LIST_NAME = 'block-list'
export const BLOCK_LIST_MODULE_NAME = '@tswarm/gater:block-list'
/** Where a block list's records live in its datastore. */
export const BLOCK_LIST_PREFIX = '/tswarm/gater/v1/block-list'

/** Options of {@link blockList}; every field is optional. */
export type BlockListOptions = RuleListOptions

/**
 * Refuses blocked peers, IP addresses and subnets (go-libp2p's BasicConnectionGater), at every hook that knows them:
 * peer dial (peer), address dial (peer, address), accept (remote address, before any handshake byte), secured (peer
 * and address, both directions, which also catches a block made while a dial was under way) and upgraded. Addresses
 * that name no IP (`/dns4`, `/memory`) match no address rule.
 *
 * Blocking closes the live connections the new rule covers (unless `closeConnections: false`). Every change is
 * written to the store before it applies, and the store is read back when the swarm starts.
 */
@injectable()
export class BlockList extends RuleList implements ConnectionGater {
  readonly name = BLOCK_LIST_NAME

  constructor (
    @inject(BLOCK_LIST_CONFIG) config: RuleListConfig,
    @inject(LOGGER) logger: ComponentLogger
  ) {
    super(config, logger.forComponent('tswarm:gater:block-list'), BLOCK_LIST_PREFIX)
  }

  // ---- the hooks: memory reads only, so a refusal costs no I/O ----

  interceptPeerDial (peer: PeerId): boolean {
    return !this.rules.hasPeer(peer)
  }

  interceptAddrDial (peer: PeerId, addr: Multiaddr): boolean {
    return !this.rules.hasPeer(peer) && !this.rules.matchesAddr(addr)
  }

  interceptAccept (addrs: ConnectionAddrs): boolean {
    return !this.rules.matchesAddr(addrs.remoteAddr)
  }

  interceptSecured (_direction: Direction, peer: PeerId, addrs: ConnectionAddrs): boolean {
    return !this.rules.hasPeer(peer) && !this.rules.matchesAddr(addrs.remoteAddr)
  }

  interceptUpgraded (conn: Conn): boolean {
    return !this.denies(conn)
  }

  // ---- rules ----

  /**
   * Blocks a peer: it can neither dial us nor be dialed, and its connections are closed. Resolves once the rule is
   * stored and those connections closed.
   *
   * @throws InvalidPeerIdError for a string that is not a peer ID; GaterStoreError when the store fails (the rule
   * then does not apply); GaterStateError before the swarm started or after it closed
   */
  async blockPeer (peer: PeerInput): Promise<void> {
    const p = toPeerId(peer)
    await this.change(true, async rules => rules.addPeer(p))
  }

  /** Lifts a peer's block. Unknown peers are ignored. */
  async unblockPeer (peer: PeerInput): Promise<void> {
    const p = toPeerId(peer)
    await this.change(false, async rules => rules.removePeer(p))
  }

  /**
   * Blocks an IP address (`192.0.2.7`, `2001:db8::7`, or a multiaddr starting with one), in both directions.
   *
   * @throws InvalidIpAddressError for anything else
   */
  async blockAddr (addr: AddrInput): Promise<void> {
    const ip = toIp(addr)
    await this.change(true, async rules => rules.addAddr(ip))
  }

  async unblockAddr (addr: AddrInput): Promise<void> {
    const ip = toIp(addr)
    await this.change(false, async rules => rules.removeAddr(ip))
  }

  /**
   * Blocks every address of a subnet (`10.0.0.0/8`, `2001:db8::/32`; host bits are cleared).
   *
   * @throws InvalidCidrError for a malformed subnet
   */
  async blockSubnet (subnet: SubnetInput): Promise<void> {
    const cidr = toCidr(subnet)
    await this.change(true, async rules => rules.addSubnet(cidr))
  }

  /** Lifts a subnet block; only the exact subnet blocked is removed (`10.0.0.0/8` does not unblock `10.1.0.0/16`). */
  async unblockSubnet (subnet: SubnetInput): Promise<void> {
    const cidr = toCidr(subnet)
    await this.change(false, async rules => rules.removeSubnet(cidr))
  }

  blockedPeers (): PeerId[] {
    return this.rules.peers()
  }

  blockedAddrs (): IpAddress[] {
    return this.rules.addrs()
  }

  blockedSubnets (): Cidr[] {
    return this.rules.subnets()
  }

  isPeerBlocked (peer: PeerInput): boolean {
    return this.rules.hasPeer(toPeerId(peer))
  }

  /** Whether an address rule or a subnet rule covers the address. */
  isAddrBlocked (addr: AddrInput): boolean {
    return this.rules.matchesIp(toIp(addr))
  }

  protected denies (conn: Conn): boolean {
    const ip = ipOfMultiaddr(conn.remoteMultiaddr)
    return this.rules.hasPeer(conn.remotePeer) || (ip !== undefined && this.rules.matchesIp(ip))
  }
}

/**
 * A block list as a swarm module. Options are checked here, so bad input fails before any swarm is made. Change the
 * rules through the swarm's list, `pluginInstance(swarm, BLOCK_LIST)`.
 *
 * One module serves one running swarm at a time: the rules it keeps in memory (without `path` or `datastore`) and a
 * LevelDB directory belong to one swarm. Once that swarm is closed, the module may go into another, which starts
 * with the same rules.
 *
 * @example
 * ```ts
 * const swarm = await createSwarm({ modules: [tcp(), blockList({ path: './blocked' })], listen: ['/ip4/0.0.0.0/tcp/4001'] })
 * await pluginInstance(swarm, BLOCK_LIST).blockSubnet('203.0.113.0/24')
 * ```
 * @throws InvalidOptionError, InvalidPeerIdError, InvalidIpAddressError, InvalidCidrError
 */
export function blockList (options: BlockListOptions = {}): SwarmModule {
  const config = resolveRuleListOptions(options, 'blockList')
  return definePlugin({
    name: BLOCK_LIST_MODULE_NAME,
    factory: 'blockList()',
    token: BLOCK_LIST,
    config: { token: BLOCK_LIST_CONFIG, value: config },
    instance: { useClass: BlockList },
    exclusive: list => list.state === 'starting' || list.state === 'running',
    register: c => {
      c.register(CONNECTION_GATER, { useToken: BLOCK_LIST })
      c.register(SWARM_SERVICE, { useToken: BLOCK_LIST })
    }
  })
}

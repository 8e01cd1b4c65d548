import { CLOCK, CONNECTION_GATER, InvalidOptionError, createToken, definePlugin, inject, injectable } from '@tswarm/core'
import type { Clock, Conn, ConnectionAddrs, ConnectionGater, Direction, PeerId, SwarmModule } from '@tswarm/core'

// 1. Options: an all-optional interface, each field saying its default.
export interface PeerBansOptions {
  /** How long a ban lasts unless `ban` is given another duration (ms, on the swarm's clock). Default 600 000. */
  durationMs?: number
}

// 2. The config: the options validated once, defaults filled in, frozen.
export interface PeerBansConfig {
  readonly durationMs: number
}

/** @throws InvalidOptionError naming the option, for a duration that is not a positive number of milliseconds */
export function resolvePeerBansOptions (options: PeerBansOptions = {}): PeerBansConfig {
  const durationMs = options.durationMs ?? 600_000
  checkDuration('peerBans.durationMs', durationMs)
  return Object.freeze({ durationMs })
}

// 3. Tokens, under the plugin's own namespace: its instance and its config.
export const PEER_BANS = createToken<PeerBans>('@tswarm/example-third-party-gater/v1', 'PeerBans')
export const PEER_BANS_CONFIG = createToken<PeerBansConfig>('@tswarm/example-third-party-gater/v1', 'PeerBansConfig')

// 4. The instance: an injectable class, each constructor parameter with its token.
/**
 * Bans peers for a while: a banned peer can neither be dialed nor dial in (refused once it has proved its ID, at the
 * secured gate), and a connection that raced a ban is refused as it joins the swarm. Bans expire on the swarm's
 * clock, so tests drive them with a ManualClock.
 */
@injectable()
export class PeerBans implements ConnectionGater {
  readonly name = 'peer-bans'
  readonly #until = new Map<string, number>()

  constructor (@inject(CLOCK) private readonly clock: Clock, @inject(PEER_BANS_CONFIG) private readonly config: PeerBansConfig) {}

  /** Bans `peer` for `ms` (default: the module's duration). A later ban replaces an earlier one. */
  ban (peer: PeerId, ms = this.config.durationMs): void {
    checkDuration('ms', ms)
    this.#until.set(peer.toString(), this.clock.now() + ms)
  }

  unban (peer: PeerId): void {
    this.#until.delete(peer.toString())
  }

  isBanned (peer: PeerId): boolean {
    const until = this.#until.get(peer.toString())
    if (until === undefined) return false
    if (this.clock.now() < until) return true
    // Expired bans are forgotten when next looked at: no timer to clean up when the swarm closes.
    this.#until.delete(peer.toString())
    return false
  }

  interceptPeerDial (peer: PeerId): boolean { return !this.isBanned(peer) }
  interceptAddrDial (peer: PeerId): boolean { return !this.isBanned(peer) }
  /** Nothing is known of the remote before the handshake: a ban is about peers, so accept lets everything through. */
  interceptAccept (_addrs: ConnectionAddrs): boolean { return true }
  /** Answered with a promise, as a gater that consulted a database would: the contract allows either. */
  async interceptSecured (_direction: Direction, peer: PeerId): Promise<boolean> { return !this.isBanned(peer) }
  interceptUpgraded (conn: Conn): boolean { return !this.isBanned(conn.remotePeer) }
}

// 5. The factory: options checked now, before any swarm; one instance per swarm, registered under PEER_BANS, which
//    the seam it fills points at. After createSwarm: pluginInstance(swarm, PEER_BANS).ban(peer).
export function peerBans (options: PeerBansOptions = {}): SwarmModule {
  return definePlugin({
    name: '@tswarm/example-third-party-gater',
    factory: 'peerBans()',
    token: PEER_BANS,
    config: { token: PEER_BANS_CONFIG, value: resolvePeerBansOptions(options) },
    instance: { useClass: PeerBans },
    register: c => { c.register(CONNECTION_GATER, { useToken: PEER_BANS }) }
  })
}

function checkDuration (option: string, ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new InvalidOptionError(option, ms, 'a positive number of milliseconds')
}

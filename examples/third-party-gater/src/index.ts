/**
 * @packageDocumentation
 *
 * An example of extending tswarm with a connection gater it does not ship: temporary peer bans, written by hand
 * against the public contract (`ConnectionGater`) and registered through the public module API (`SwarmModule`,
 * the `CONNECTION_GATER` multi-binding, the swarm's `CLOCK`). Nothing in @tswarm/core changes.
 *
 * @example
 * ```ts
 * import { createSwarm } from '@tswarm/core'
 * import { peerBans } from '@tswarm/example-third-party-gater'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const bans = peerBans({ durationMs: 10 * 60_000 })
 * const swarm = await createSwarm({ modules: [tcp(), bans], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * bans.bans.ban(misbehavingPeer) // refused in both directions for ten minutes
 * ```
 */
import { CLOCK, CONNECTION_GATER, InvalidOptionError, SwarmError, instancePerContainerCachingFactory } from '@tswarm/core'
import type { PeerId } from '@libp2p/interface'
import type { Clock, Conn, ConnectionAddrs, ConnectionGater, Direction, SwarmModule } from '@tswarm/core'

/** The name refusals carry: `connection gater "peer-bans" refused at interceptPeerDial`. */
export const PEER_BANS_NAME = 'peer-bans'

export interface PeerBansOptions {
  /** How long a ban lasts unless `ban` is given another duration (ms, on the swarm's clock). Default 600 000. */
  durationMs?: number
}

/**
 * Bans peers for a while: a banned peer can neither be dialed nor dial in (refused once it has proved its ID, at
 * the secured gate), and a connection that raced a ban is refused as it joins the swarm. Bans expire on the
 * swarm's clock, so tests drive them with a ManualClock.
 */
export class PeerBans implements ConnectionGater {
  readonly name = PEER_BANS_NAME
  readonly #until = new Map<string, number>()

  constructor (private readonly clock: Clock, private readonly defaultMs: number) {}

  /** Bans `peer` for `ms` (default: the module's duration). A later ban replaces an earlier one. */
  ban (peer: PeerId, ms = this.defaultMs): void {
    checkDuration('ms', ms)
    this.#until.set(peer.toString(), this.clock.now() + ms)
  }

  unban (peer: PeerId): void {
    this.#until.delete(peer.toString())
  }

  isBanned (peer: PeerId): boolean {
    const key = peer.toString()
    const until = this.#until.get(key)
    if (until === undefined) return false
    if (this.clock.now() < until) return true
    // Expired bans are forgotten when next looked at: no timer to clean up when the swarm closes.
    this.#until.delete(key)
    return false
  }

  interceptPeerDial (peer: PeerId): boolean {
    return !this.isBanned(peer)
  }

  interceptAddrDial (peer: PeerId): boolean {
    return !this.isBanned(peer)
  }

  /** Nothing is known of the remote before the handshake: a ban is about peers, so accept lets everything through. */
  interceptAccept (_addrs: ConnectionAddrs): boolean {
    return true
  }

  /** Answered with a promise, as a gater that consulted a database would: the contract allows either. */
  async interceptSecured (_direction: Direction, peer: PeerId): Promise<boolean> {
    return !this.isBanned(peer)
  }

  interceptUpgraded (conn: Conn): boolean {
    return !this.isBanned(conn.remotePeer)
  }
}

/** The module `peerBans()` returns; `bans` is the gater of the swarm made with it. */
export interface PeerBansModule extends SwarmModule {
  readonly bans: PeerBans
}

/**
 * Temporary peer bans as a swarm module.
 *
 * @throws InvalidOptionError for a duration that is not a positive number of milliseconds
 */
export function peerBans (options: PeerBansOptions = {}): PeerBansModule {
  const durationMs = options.durationMs ?? 600_000
  checkDuration('peerBans.durationMs', durationMs)
  let current: PeerBans | undefined
  return {
    name: '@tswarm/example-third-party-gater',
    get bans (): PeerBans {
      if (current === undefined) throw new SwarmError('peerBans(): no swarm was made with this module yet; pass it to createSwarm first')
      return current
    },
    register (container) {
      // One instance per swarm; the swarm asks it at every gate, and `bans` hands the same instance to the user.
      container.register(CONNECTION_GATER, {
        useFactory: instancePerContainerCachingFactory(c => {
          current = new PeerBans(c.resolve<Clock>(CLOCK), durationMs)
          return current
        })
      })
    }
  }
}

function checkDuration (option: string, ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new InvalidOptionError(option, ms, 'a positive number of milliseconds')
}

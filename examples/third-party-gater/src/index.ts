/**
 * @packageDocumentation
 *
 * An example of extending tswarm with a connection gater it does not ship: temporary peer bans, written against the
 * public contract (`ConnectionGater`) the one way core's README gives for every plugin (`definePlugin`: options
 * checked by the factory into a frozen config, the instance an injectable class under the plugin's own token, the
 * `CONNECTION_GATER` multi-binding pointing at it). Nothing in @tswarm/core changes. `src/peer-bans.ts` is the
 * example core's README shows, word for word (a test keeps the two the same).
 *
 * @example
 * ```ts
 * import { createSwarm, pluginInstance } from '@tswarm/core'
 * import { PEER_BANS, peerBans } from '@tswarm/example-third-party-gater'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const swarm = await createSwarm({ modules: [tcp(), peerBans({ durationMs: 10 * 60_000 })], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * pluginInstance(swarm, PEER_BANS).ban(misbehavingPeer) // refused in both directions for ten minutes
 * ```
 */
export { PEER_BANS, PEER_BANS_CONFIG, PeerBans, peerBans, resolvePeerBansOptions } from './peer-bans.js'
export type { PeerBansConfig, PeerBansOptions } from './peer-bans.js'

/**
 * @packageDocumentation
 *
 * Connection gaters for tswarm: a block list and an allow list of peers, IP addresses and subnets, persisted in any
 * `interface-datastore` (LevelDB on disk when given a path), and inbound limits (pending handshakes, connection rate
 * per source, concurrent connections per subnet). Each is a module for `createSwarm`; register several and any
 * refusal wins, naming the gater that refused (`block-list`, `allow-list`, `inbound-limits:rate`, …) and the hook.
 *
 * @example
 * ```ts
 * import { createSwarm, pluginInstance } from '@tswarm/core'
 * import { BLOCK_LIST, blockList, inboundLimits } from '@tswarm/gater'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const swarm = await createSwarm({
 *   modules: [tcp(), blockList({ path: './blocked' }), inboundLimits({ maxPending: 32 })],
 *   listen: ['/ip4/0.0.0.0/tcp/4001']
 * })
 * const blocks = pluginInstance(swarm, BLOCK_LIST)
 * await blocks.blockSubnet('203.0.113.0/24')  // closes live connections from there, too
 * await blocks.blockPeer('12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDMp4F5iVSV8CdJ9Vwo')
 * console.log(blocks.blockedSubnets().map(String)) // [ '203.0.113.0/24' ], after a restart too
 * await swarm.close()
 * ```
 */
export { BlockList, blockList, BLOCK_LIST_MODULE_NAME, BLOCK_LIST_NAME, BLOCK_LIST_PREFIX } from './block-list.js'
export type { BlockListOptions } from './block-list.js'
export { AllowList, allowList, ALLOW_LIST_MODULE_NAME, ALLOW_LIST_NAME, ALLOW_LIST_PREFIX } from './allow-list.js'
export type { AllowListOptions } from './allow-list.js'
export {
  InboundLimits, inboundLimits, resolveInboundLimitsOptions, DEFAULT_MAX_PENDING, INBOUND_LIMITS_MODULE_NAME,
  INBOUND_LIMITS_NAME, PENDING_LIMIT_NAME, RATE_LIMIT_NAME, SUBNET_LIMIT_NAME
} from './inbound-limits.js'
export type { InboundLimitKind, InboundLimitsConfig, InboundLimitsOptions, InboundLimitsStats, LimitsExemption } from './inbound-limits.js'
export { ConnectionRateLimiter, DEFAULT_RATE_LIMITS } from './rate-limiter.js'
export type { RateLimit, RateLimits } from './rate-limiter.js'
export { SubnetConnLimiter, DEFAULT_SUBNET_LIMITS } from './subnet-limiter.js'
export type { SubnetLimit, SubnetLimits } from './subnet-limiter.js'
export { RuleList, resolveRuleListOptions } from './rule-list.js'
export type { AddrInput, PeerInput, RuleListConfig, RuleListOptions, RuleListState, SubnetInput } from './rule-list.js'
export { RuleSet, toPeerId } from './rule-set.js'
export { Cidr, IpAddress, ipOfMultiaddr, parseCidr, parseIp, toCidr, toIp } from './ip.js'
export type { IpFamily } from './ip.js'
export { GaterStateError, GaterStoreError, InvalidCidrError, InvalidIpAddressError } from './errors.js'
export { ALLOW_LIST, ALLOW_LIST_CONFIG, BLOCK_LIST, BLOCK_LIST_CONFIG, INBOUND_LIMITS, INBOUND_LIMITS_CONFIG, LIMITS_EXEMPTION } from './tokens.js'

/**
 * @packageDocumentation
 *
 * `@tswarm/core/internal`: the swarm's own machinery, exported for tswarm's packages, benchmarks and tests. Nothing
 * here is needed to compose a swarm or write a plugin (that is `@tswarm/core`), and none of it promises stability.
 */
export { UpgradedConnection } from './upgrader/upgraded-connection.js'
export type { UpgradedConnectionInit } from './upgrader/upgraded-connection.js'
export { SwarmConn } from './swarm/conn.js'
export { SwarmStream } from './swarm/stream.js'
export { AddrPipeline } from './dial/addr-pipeline.js'
export type { AddrPipelineInit, DialableAddrs } from './dial/addr-pipeline.js'
export { BlackHoleDetector, BlackHoleSuccessCounter } from './dial/black-hole.js'
export type { BlackHoleDetectorOptions, BlackHoleFilterResult, BlackHoleSuccessCounterOptions } from './dial/black-hole.js'
export { DialLimiter, DialsClearedError, isFdConsumingAddr } from './dial/limiter.js'
export type { DialLimiterOptions } from './dial/limiter.js'
export { resolveAddrs } from './dial/resolve.js'
export type { ResolveAddrError, ResolveAddrsOptions, ResolveAddrsResult } from './dial/resolve.js'
export { multistreamListen, multistreamSelect } from './multistream.js'
export type { NegotiationResult, NegotiationStream } from './multistream.js'

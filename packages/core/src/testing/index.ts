/**
 * @packageDocumentation
 *
 * Test support for tswarm and its plugins: an in-memory transport, a manual clock, swarm builders, and the
 * compliance suites that every transport (ours or a third party's) runs.
 *
 * @example
 * ```ts
 * import { connect, createTestSwarm } from '@tswarm/core/testing'
 *
 * const a = await createTestSwarm()
 * const b = await createTestSwarm()
 * const conn = await connect(a, b)
 * ```
 */
export { ManualClock } from './manual-clock.js'
export { MemoryNetwork, MemoryTransport, defaultMemoryNetwork, memory } from './memory-transport.js'
export type { MemoryLink, MemoryTransportOptions } from './memory-transport.js'
export { connect, createTestSwarm, echoHandler, freePort, introduce, waitFor } from './swarms.js'
// kept here too: every test suite reads streams to their end
export { readAll } from '../reader.js'
export { transportComplianceTests } from './transport-compliance.js'
export type { TransportComplianceOptions } from './transport-compliance.js'
export { connectionGatingTests, denyAt, gaterModule } from './gating-compliance.js'
export type { GatingComplianceOptions } from './gating-compliance.js'
export { reporterComplianceTests, reporterModule, type ByteCounts, type ReporterComplianceOptions, type ReporterCounts } from './reporter-compliance.js'
export { gaterComplianceTests, type GaterComplianceOptions, type GaterFixture } from './gater-compliance.js'

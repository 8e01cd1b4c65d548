import type { Clock } from './interfaces/clock.js'
import type { DialRanker, DnsResolver } from './interfaces/dial.js'
import type { MetricsTracer } from './interfaces/metrics.js'
import type { SwarmService } from './interfaces/network.js'
import type { ResourceManager } from './interfaces/resources.js'
import type { ConnectionGater } from './interfaces/gater.js'
import type { Peerstore } from './interfaces/peerstore.js'
import type { Reporter } from './interfaces/reporter.js'
import type { Transport } from './interfaces/transport.js'
import type { Upgrader } from './interfaces/upgrader.js'
import type { SwarmConfig } from './config.js'
import type { BasicConnectionManager } from './connmgr/connection-manager.js'
import type { LimitResourceManager } from './resources/limit-resource-manager.js'
import type { PrivateKey } from '@libp2p/interface'
import type { ComponentLogger } from '@libp2p/logger'

/**
 * A DI key that remembers the type it resolves to. Keys are `Symbol.for` symbols, so two copies of this package in
 * one process still agree on them.
 */
export type Token<T> = symbol & { readonly __resolvesTo?: T }

/**
 * Makes a DI key: `Symbol.for('<namespace>:<name>')`, e.g. `createToken<BlockList>('@tswarm/gater/v1', 'BlockList')`.
 * Plugins make their tokens with it, so every package's keys follow one convention.
 */
export function createToken<T> (namespace: string, name: string): Token<T> {
  return Symbol.for(`${namespace}:${name}`) as Token<T>
}

function token<T> (name: string): Token<T> {
  return createToken<T>('@tswarm/core/v1', name)
}

/** Our identity. Registered by `createSwarm` (generated when not given). */
export const PRIVATE_KEY = token<PrivateKey>('PrivateKey')
/** The resolved, frozen swarm configuration. Registered by `createSwarm`. */
export const SWARM_CONFIG = token<SwarmConfig>('SwarmConfig')
/** Multi-binding: every transport the swarm may dial and listen with. */
export const TRANSPORT = token<Transport>('Transport')
/** Multi-binding: every connection gater; any deny wins. */
export const CONNECTION_GATER = token<ConnectionGater>('ConnectionGater')
/** Single binding, core default: the Noise + Yamux upgrader. */
export const UPGRADER = token<Upgrader>('Upgrader')
/** Single binding, core default: a reporter that discards. */
export const REPORTER = token<Reporter>('Reporter')
/** Single binding, core default: the in-memory peerstore. */
export const PEERSTORE = token<Peerstore>('Peerstore')
/** Single binding, core default: the system clock. */
export const CLOCK = token<Clock>('Clock')
/** Single binding, core default: {@link swarmLogger}, `@libp2p/logger` when `DEBUG` is set (e.g. `DEBUG=tswarm:*`). */
export const LOGGER = token<ComponentLogger>('Logger')
/** Single binding, core default: go-libp2p's smart-dialing ranker. */
export const DIAL_RANKER = token<DialRanker>('DialRanker')
/** Single binding, core default: DNS through `node:dns/promises`. */
export const DNS_RESOLVER = token<DnsResolver>('DnsResolver')
/** Multi-binding, optional: services started with the swarm and stopped when it closes. */
export const SWARM_SERVICE = token<SwarmService>('SwarmService')
/** Multi-binding, optional: receivers of dial events for metrics. */
export const METRICS_TRACER = token<MetricsTracer>('MetricsTracer')
/** Single binding, core default: `LimitResourceManager` with generous defaults (see `resourceLimits()`). */
export const RESOURCE_MANAGER = token<ResourceManager>('ResourceManager')
/**
 * Single binding, optional: the connection manager `connectionManager()` registers. Tag and protect peers through
 * `pluginInstance(swarm, CONNECTION_MANAGER)`.
 */
export const CONNECTION_MANAGER = token<BasicConnectionManager>('ConnectionManager')
/**
 * Single binding, optional: the manager `resourceLimits()` registers (and points `RESOURCE_MANAGER` at), with its
 * resolved `limits`: `pluginInstance(swarm, LIMIT_RESOURCE_MANAGER)`.
 */
export const LIMIT_RESOURCE_MANAGER = token<LimitResourceManager>('LimitResourceManager')

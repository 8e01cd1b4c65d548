import { createToken } from '@tswarm/core'
import type { MetricsConfig } from './options.js'
import type { SwarmMetrics } from './swarm-metrics.js'
import type { Token } from '@tswarm/core'
import type { Registry } from 'prom-client'

/** The module's name, shown in assembly errors (`ModuleRegistrationError`) and as its service's name. */
export const METRICS_MODULE_NAME = '@tswarm/metrics'

function token<T> (name: string): Token<T> {
  return createToken<T>('@tswarm/metrics/v1', name)
}

/**
 * Single binding, registered by `metrics()`: the swarm's metrics handle (bandwidth counter, registry, HTTP address).
 * `pluginInstance(swarm, SWARM_METRICS)` after `createSwarm`, or `@inject(SWARM_METRICS)` in your own services.
 */
export const SWARM_METRICS = token<SwarmMetrics>('SwarmMetrics')
/** Single binding, registered by `metrics()`: the validated options. */
export const METRICS_CONFIG = token<MetricsConfig>('MetricsConfig')
/** Single binding, registered by `metrics()`: the prom-client registry of this swarm (the one given, or a new one). */
export const METRICS_REGISTRY = token<Registry>('MetricsRegistry')

import { Lifecycle, METRICS_TRACER, REPORTER, SWARM_SERVICE, definePlugin, instancePerContainerCachingFactory } from '@tswarm/core'
import { Registry } from 'prom-client'
import { BandwidthCounter } from './bandwidth-counter.js'
import { MetricsRegistryConflictError } from './errors.js'
import { resolveMetricsOptions } from './options.js'
import { PrometheusMetrics } from './prometheus.js'
import { SwarmMetrics } from './swarm-metrics.js'
import { METRICS_CONFIG, METRICS_MODULE_NAME, METRICS_REGISTRY, SWARM_METRICS } from './tokens.js'
import type { MetricsOptions } from './options.js'
import type { SwarmModule } from '@tswarm/core'

/**
 * Bandwidth and Prometheus metrics for a swarm: `createSwarm({ modules: [tcp(), metrics()] })`, then
 * `pluginInstance(swarm, SWARM_METRICS)` for its {@link SwarmMetrics}. One module may serve several swarms; each has
 * its own metrics.
 *
 * Registers, in the swarm's own container:
 * - `SWARM_METRICS`: the {@link SwarmMetrics} handle, which is also the `SWARM_SERVICE` that starts and stops the rest
 *   with the swarm (rate tick, connection notifications, the optional HTTP endpoint),
 * - `REPORTER`: a {@link BandwidthCounter} (replacing the core's NullReporter),
 * - `METRICS_TRACER`: {@link PrometheusMetrics}, the `libp2p_swarm_*` series.
 *
 * Options are checked here, so a bad one throws an InvalidOptionError before any swarm is made.
 */
export function metrics (options: MetricsOptions = {}): SwarmModule {
  const config = resolveMetricsOptions(options)
  return definePlugin({
    name: METRICS_MODULE_NAME,
    factory: 'metrics()',
    token: SWARM_METRICS,
    config: { token: METRICS_CONFIG, value: config },
    instance: { useClass: SwarmMetrics },
    register (container) {
      if (config.registry !== undefined) {
        // checked again at start; failing here names the module before anything is built
        const conflict = PrometheusMetrics.conflictIn(config.registry)
        if (conflict !== undefined) throw new MetricsRegistryConflictError(conflict)
      }
      const scoped = { lifecycle: Lifecycle.ContainerScoped }
      container.register(METRICS_REGISTRY, { useFactory: instancePerContainerCachingFactory(() => config.registry ?? new Registry()) })
      container.register(BandwidthCounter, { useClass: BandwidthCounter }, scoped)
      container.register(PrometheusMetrics, { useClass: PrometheusMetrics }, scoped)
      container.register(REPORTER, { useToken: BandwidthCounter })
      container.register(METRICS_TRACER, { useToken: PrometheusMetrics })
      container.register(SWARM_SERVICE, { useToken: SWARM_METRICS })
    }
  })
}

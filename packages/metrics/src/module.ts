import { Lifecycle, METRICS_TRACER, REPORTER, SWARM_SERVICE, instancePerContainerCachingFactory } from '@tswarm/core'
import { Registry } from 'prom-client'
import { BandwidthCounter } from './bandwidth-counter.js'
import { MetricsNotFoundError, MetricsRegistryConflictError } from './errors.js'
import { resolveMetricsConfig } from './options.js'
import { PrometheusMetrics } from './prometheus.js'
import { SwarmMetrics } from './swarm-metrics.js'
import { METRICS_CONFIG, METRICS_MODULE_NAME, METRICS_REGISTRY, SWARM_METRICS } from './tokens.js'
import type { MetricsOptions } from './options.js'
import type { DependencyContainer, Network, SwarmModule, SwarmService } from '@tswarm/core'

/** The module `metrics()` returns: a swarm module that also finds each swarm's metrics again. */
export interface MetricsModule extends SwarmModule {
  /**
   * The metrics of a swarm assembled with this module, once `createSwarm` has resolved. Throws a
   * MetricsNotFoundError for any other swarm. One module may serve several swarms; each has its own metrics.
   */
  of(swarm: Network): SwarmMetrics
}

/**
 * Bandwidth and Prometheus metrics for a swarm: `createSwarm({ modules: [tcp(), metrics()] })`.
 *
 * Registers, in the swarm's own container:
 * - `REPORTER`: a {@link BandwidthCounter} (replacing the core's NullReporter),
 * - `METRICS_TRACER`: {@link PrometheusMetrics}, the `libp2p_swarm_*` series,
 * - `SWARM_SERVICE`: the service that starts and stops them with the swarm (rate tick, connection notifications,
 *   the optional HTTP endpoint),
 * - `SWARM_METRICS`: the {@link SwarmMetrics} handle, also returned by `module.of(swarm)`.
 *
 * Options are checked here, so a bad one throws an InvalidOptionError before any swarm is made.
 */
export function metrics (options: MetricsOptions = {}): MetricsModule {
  const config = resolveMetricsConfig(options)
  // weak: a closed swarm that the user dropped should not be kept alive by the module object
  const bySwarm = new WeakMap<Network, SwarmMetrics>()
  return {
    name: METRICS_MODULE_NAME,
    register (container: DependencyContainer): void {
      if (config.registry !== undefined) {
        // checked again at start; failing here names the module before anything is built
        const conflict = PrometheusMetrics.conflictIn(config.registry)
        if (conflict !== undefined) throw new MetricsRegistryConflictError(conflict)
      }
      const scoped = { lifecycle: Lifecycle.ContainerScoped }
      container.register(METRICS_CONFIG, { useValue: config })
      container.register(METRICS_REGISTRY, { useFactory: instancePerContainerCachingFactory(() => config.registry ?? new Registry()) })
      container.register(BandwidthCounter, { useClass: BandwidthCounter }, scoped)
      container.register(PrometheusMetrics, { useClass: PrometheusMetrics }, scoped)
      container.register(SwarmMetrics, { useClass: SwarmMetrics }, scoped)
      container.register(SWARM_METRICS, { useToken: SwarmMetrics })
      container.register(REPORTER, { useToken: BandwidthCounter })
      container.register(METRICS_TRACER, { useToken: PrometheusMetrics })
      container.register(SWARM_SERVICE, {
        useFactory: instancePerContainerCachingFactory((c): SwarmService => {
          const m = c.resolve<SwarmMetrics>(SWARM_METRICS)
          return {
            name: METRICS_MODULE_NAME,
            async start (network: Network): Promise<void> {
              await m.start(network)
              bySwarm.set(network, m)
            },
            async stop (): Promise<void> {
              await m.stop()
            }
          }
        })
      })
    },
    of (swarm: Network): SwarmMetrics {
      const m = bySwarm.get(swarm)
      if (m === undefined) throw new MetricsNotFoundError()
      return m
    }
  }
}

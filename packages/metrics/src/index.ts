/**
 * @packageDocumentation
 *
 * Metrics for tswarm: a bandwidth counter (bytes and rates in total, per peer and per protocol) that the swarm
 * reports every stream read and write to, and Prometheus series mirroring go-libp2p's `libp2p_swarm_*` (connections,
 * handshakes, dials, black holes, streams, bandwidth), optionally served over HTTP.
 *
 * @example
 * ```ts
 * import { createSwarm, pluginInstance } from '@tswarm/core'
 * import { SWARM_METRICS, metrics } from '@tswarm/metrics'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const swarm = await createSwarm({ modules: [tcp(), metrics({ http: { port: 9090 } })], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * const { bandwidth, httpAddress } = pluginInstance(swarm, SWARM_METRICS)
 * console.log(`Prometheus can scrape ${httpAddress?.url}`)
 * console.log(bandwidth.getBandwidthTotals()) // { totalIn, totalOut, rateIn, rateOut }
 * await swarm.close() // stops the rate tick and the HTTP server
 * ```
 */
export { metrics } from './module.js'
export { BandwidthCounter } from './bandwidth-counter.js'
export type { BandwidthCounterOptions } from './bandwidth-counter.js'
export { PrometheusMetrics, METRIC_NAMES, METRIC_PREFIX } from './prometheus.js'
export { SwarmMetrics } from './swarm-metrics.js'
export { MetricsHttpServer } from './http-server.js'
export type { MetricsHttpAddress } from './http-server.js'
export { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PATH, DEFAULT_IDLE_TIMEOUT, DEFAULT_TICK_INTERVAL, resolveMetricsOptions } from './options.js'
export type { MetricsConfig, MetricsHttpOptions, MetricsOptions, ResolvedHttpOptions } from './options.js'
export { METRICS_CONFIG, METRICS_MODULE_NAME, METRICS_REGISTRY, SWARM_METRICS } from './tokens.js'
export { MetricsRegistryConflictError, MetricsServerError } from './errors.js'
export { dialErrorKind, ipVersion } from './labels.js'
export type { DialErrorKind } from './labels.js'
export type { BandwidthStats } from '@tswarm/core'

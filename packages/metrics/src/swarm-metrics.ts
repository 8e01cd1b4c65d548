import { inject, injectable } from '@tswarm/core'
import { BandwidthCounter } from './bandwidth-counter.js'
import { MetricsHttpServer } from './http-server.js'
import { PrometheusMetrics } from './prometheus.js'
import { METRICS_CONFIG, METRICS_MODULE_NAME } from './tokens.js'
import type { MetricsHttpAddress } from './http-server.js'
import type { MetricsConfig } from './options.js'
import type { Network, SwarmService } from '@tswarm/core'
import type { Registry } from 'prom-client'

/**
 * One swarm's metrics: its {@link BandwidthCounter}, its prom-client registry, and the `/metrics` endpoint when one
 * was asked for. It is also the swarm service that brings them to life: `start` (called by the swarm once it is
 * assembled) starts the rate tick, joins the registry, watches connections and opens the HTTP server; `stop` (called
 * when the swarm closes) undoes all of it, leaving no timer or socket behind.
 *
 * Reach it with `pluginInstance(swarm, SWARM_METRICS)` once `createSwarm` has resolved (still after close, to read
 * the final counts), or inject it with `@inject(SWARM_METRICS)` in a plugin of your own.
 */
@injectable()
export class SwarmMetrics implements SwarmService {
  readonly name = METRICS_MODULE_NAME
  /** Bytes in and out, in total, per peer and per protocol, with rates. The swarm's Reporter. */
  readonly bandwidth: BandwidthCounter
  /** The registry holding the swarm's `libp2p_swarm_*` series. */
  readonly registry: Registry
  /** The Prometheus series and the dial tracer. */
  readonly prometheus: PrometheusMetrics
  readonly #config: MetricsConfig
  readonly #http: MetricsHttpServer | undefined
  #started = false

  /**
   * @param bandwidth - the swarm's byte counter (the one registered as `REPORTER`)
   * @param prometheus - the swarm's series (the one registered as `METRICS_TRACER`)
   * @param config - the validated options (`METRICS_CONFIG`)
   */
  constructor (
    @inject(BandwidthCounter) bandwidth: BandwidthCounter,
    @inject(PrometheusMetrics) prometheus: PrometheusMetrics,
    @inject(METRICS_CONFIG) config: MetricsConfig
  ) {
    this.bandwidth = bandwidth
    this.prometheus = prometheus
    this.registry = prometheus.registry
    this.#config = config
    this.#http = config.http === undefined ? undefined : new MetricsHttpServer(this.registry, config.http)
  }

  /** Where `/metrics` is served once the swarm has started; `undefined` without the `http` option or after close. */
  get httpAddress (): MetricsHttpAddress | undefined {
    return this.#http?.address
  }

  /** The registry's exposition text (what `/metrics` serves). */
  async scrape (): Promise<string> {
    return this.registry.metrics()
  }

  async start (network: Network): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.prometheus.start(network)
    this.bandwidth.start()
    // last, so a port already taken fails the start with nothing else left to undo but what stop() undoes
    await this.#http?.start()
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.bandwidth.stop()
    // a registry we made dies with the swarm and can still be read after close; one we were given is left as found
    this.prometheus.stop(this.#config.registry !== undefined)
    await this.#http?.stop()
  }
}

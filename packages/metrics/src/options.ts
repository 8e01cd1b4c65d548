import { InvalidOptionError } from '@tswarm/core'
import type { Registry } from 'prom-client'

/** Options of the `/metrics` HTTP endpoint. */
export interface MetricsHttpOptions {
  /** The TCP port to listen on; `0` lets the system pick one (read it back from `SwarmMetrics.httpAddress`). */
  port: number
  /**
   * The interface to listen on. The default keeps the endpoint off the network: metrics name peers' transports
   * and protocols, which is not for everyone to read.
   *
   * @default '127.0.0.1'
   */
  host?: string
  /**
   * The path that serves the exposition text; every other path answers 404.
   *
   * @default '/metrics'
   */
  path?: string
}

/** Options of {@link metrics}. All optional. */
export interface MetricsOptions {
  /**
   * The prom-client registry to put the swarm's series in. A registry serves one swarm at a time (prom-client refuses
   * two series of one name); the series are taken out of it again when the swarm closes, so it can serve the next.
   *
   * @default a new `Registry` per swarm, so two swarms in one process share nothing
   */
  registry?: Registry
  /**
   * Serve the registry over HTTP in the Prometheus text format. The server starts with the swarm and closes with it.
   *
   * @default undefined (no server)
   */
  http?: MetricsHttpOptions
  /**
   * How long (ms) a peer's or a protocol's meter may see no bytes before it is dropped, so memory follows the peers
   * talked to recently rather than every peer ever seen. Its totals go with it. `Infinity` keeps every meter.
   * The global totals are never dropped.
   *
   * @default 300000 (5 minutes)
   */
  idleTimeout?: number
  /**
   * How often (ms, on the swarm's clock) the rates are recomputed. Rates are smoothed with a time constant of one
   * second whatever the interval, as go-flow-metrics does with its 1 s tick.
   *
   * @default 1000
   */
  tickInterval?: number
}

/** {@link MetricsHttpOptions} with every default filled in. */
export interface ResolvedHttpOptions {
  readonly port: number
  readonly host: string
  readonly path: string
}

/** {@link MetricsOptions} validated, with defaults filled in, frozen. */
export interface MetricsConfig {
  readonly registry: Registry | undefined
  readonly http: ResolvedHttpOptions | undefined
  readonly idleTimeout: number
  readonly tickInterval: number
}

/** The default of {@link MetricsOptions.idleTimeout}: 5 minutes. */
export const DEFAULT_IDLE_TIMEOUT = 300_000
/** The default of {@link MetricsOptions.tickInterval}: 1 s, go-flow-metrics' tick. */
export const DEFAULT_TICK_INTERVAL = 1_000
/** The default of {@link MetricsHttpOptions.host}: loopback only. */
export const DEFAULT_HTTP_HOST = '127.0.0.1'
/** The default of {@link MetricsHttpOptions.path}. */
export const DEFAULT_HTTP_PATH = '/metrics'

/** Validates `options` (throwing an InvalidOptionError that names the option) and fills in the defaults. */
export function resolveMetricsOptions (options: MetricsOptions = {}): MetricsConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('metrics options', options, 'an object')
  const idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
  if (typeof idleTimeout !== 'number' || Number.isNaN(idleTimeout) || idleTimeout <= 0) {
    throw new InvalidOptionError('idleTimeout', idleTimeout, 'a number of ms > 0, or Infinity to keep every meter')
  }
  const tickInterval = options.tickInterval ?? DEFAULT_TICK_INTERVAL
  // a tick shorter than 10 ms would spend the event loop on bookkeeping; one longer than a minute is no rate at all
  if (typeof tickInterval !== 'number' || !Number.isFinite(tickInterval) || tickInterval < 10 || tickInterval > 60_000) {
    throw new InvalidOptionError('tickInterval', tickInterval, 'a number of ms from 10 to 60000')
  }
  const registry = options.registry
  if (registry !== undefined && !isRegistry(registry)) {
    throw new InvalidOptionError('registry', registry, "a prom-client Registry (new Registry() from 'prom-client')")
  }
  return Object.freeze({ registry, http: resolveHttp(options.http), idleTimeout, tickInterval })
}

function resolveHttp (http: MetricsHttpOptions | undefined): ResolvedHttpOptions | undefined {
  if (http === undefined) return undefined
  if (typeof http !== 'object' || http === null) throw new InvalidOptionError('http', http, 'an object such as { port: 9090 }')
  const { port } = http
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidOptionError('http.port', port, 'a whole number from 0 to 65535 (0 lets the system choose)')
  }
  const host = http.host ?? DEFAULT_HTTP_HOST
  if (typeof host !== 'string' || host === '') throw new InvalidOptionError('http.host', host, "an interface address such as '127.0.0.1' or '::1'")
  const path = http.path ?? DEFAULT_HTTP_PATH
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
    throw new InvalidOptionError('http.path', path, "a path starting with '/', without query, fragment or spaces")
  }
  return Object.freeze({ port, host, path })
}

/**
 * Duck-typed rather than `instanceof`, so a registry from another copy of prom-client (a user's own dependency)
 * is accepted: the metrics we create call nothing beyond these methods on it.
 */
function isRegistry (value: unknown): value is Registry {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return typeof r.registerMetric === 'function' && typeof r.getSingleMetric === 'function' &&
    typeof r.removeSingleMetric === 'function' && typeof r.metrics === 'function'
}

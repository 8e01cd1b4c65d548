import { CLOCK, inject, injectable } from '@tswarm/core'
import { Counter, Gauge, Histogram, exponentialBuckets } from 'prom-client'
import { BandwidthCounter } from './bandwidth-counter.js'
import { MetricsRegistryConflictError } from './errors.js'
import { dialErrorKind, ipVersion, numDialsLabel } from './labels.js'
import { METRICS_REGISTRY } from './tokens.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock, Conn, ConnStats, MetricsTracer, Network, Notifiee } from '@tswarm/core'
import type { Metric, Registry } from 'prom-client'

/** Every series name starts with this, as go-libp2p's swarm metrics (namespace `libp2p_swarm`). */
export const METRIC_PREFIX = 'libp2p_swarm_'

/** The series this package exports, without the prefix; the dashboard and the tests check against this list. */
export const METRIC_NAMES = [
  'connections_opened_total',
  'connections_closed_total',
  'connection_duration_seconds',
  'handshake_latency_seconds',
  'key_types_total',
  'dial_errors_total',
  'dials_per_peer_total',
  'dial_latency_seconds',
  'dial_ranking_delay_seconds',
  'black_hole_filter_state',
  'black_hole_filter_success_fraction',
  'black_hole_filter_next_request_allowed_after',
  'connections',
  'streams',
  'bandwidth_bytes_total',
  'bandwidth_by_protocol_bytes_total'
] as const

type ConnLabel = 'dir' | 'transport' | 'security' | 'muxer' | 'ip_version'
const CONN_LABELS: ConnLabel[] = ['dir', 'transport', 'security', 'muxer', 'ip_version']
// go's buckets: 1/16 s doubling up to 24 days for durations, 1 ms growing by 30 % for handshakes
const DURATION_BUCKETS = exponentialBuckets(1 / 16, 2, 25)
const HANDSHAKE_BUCKETS = exponentialBuckets(0.001, 1.3, 35)
const DIAL_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2]
/** go's BlackHoleState numbering, so go dashboards read our gauge the same way. */
const BLACK_HOLE_STATE = { probing: 0, allowed: 1, blocked: 2 } as const

/**
 * The swarm's Prometheus series (go-libp2p's swarm metricsTracer, plus scrape-time gauges and the bandwidth
 * counters). It is a {@link MetricsTracer} for dial events, a {@link Notifiee} for connections opening and closing,
 * and computes the gauges (connections, streams by protocol, black-hole state, bandwidth) from the Network when
 * scraped, so nothing on the data path touches prom-client.
 *
 * The series are created with the object and put into the registry by {@link PrometheusMetrics.start}; they are
 * taken out again by {@link PrometheusMetrics.stop} when the registry was given by the user, so the registry can
 * serve the next swarm. The metrics service calls both.
 */
@injectable()
export class PrometheusMetrics implements MetricsTracer, Notifiee {
  readonly registry: Registry
  readonly #bandwidth: BandwidthCounter
  readonly #clock: Clock
  readonly #metrics: Metric[]
  #network: Network | undefined
  #registered = false

  readonly #connsOpened: Counter<ConnLabel>
  readonly #connsClosed: Counter<ConnLabel>
  readonly #connDuration: Histogram<ConnLabel>
  readonly #handshake: Histogram<Exclude<ConnLabel, 'dir'>>
  readonly #keyTypes: Counter<'dir' | 'key_type'>
  readonly #dialErrors: Counter<'transport' | 'error' | 'ip_version'>
  readonly #dialsPerPeer: Counter<'outcome' | 'num_dials'>
  readonly #dialLatency: Histogram<'outcome' | 'num_dials'>
  readonly #rankingDelay: Histogram

  /**
   * @param registry - where the series go (`METRICS_REGISTRY`)
   * @param bandwidth - the swarm's byte counter, read at scrape time
   * @param clock - the swarm's clock (`CLOCK`), for connection durations
   */
  constructor (
    @inject(METRICS_REGISTRY) registry: Registry,
    @inject(BandwidthCounter) bandwidth: BandwidthCounter,
    @inject(CLOCK) clock: Clock
  ) {
    this.registry = registry
    this.#bandwidth = bandwidth
    this.#clock = clock
    const name = (n: typeof METRIC_NAMES[number]): string => METRIC_PREFIX + n
    // registers: [] because joining the registry waits for start(), where a clash can fail the swarm's start cleanly
    this.#connsOpened = new Counter({ name: name('connections_opened_total'), help: 'Connections opened', labelNames: CONN_LABELS, registers: [] })
    this.#connsClosed = new Counter({ name: name('connections_closed_total'), help: 'Connections closed', labelNames: CONN_LABELS, registers: [] })
    this.#connDuration = new Histogram({
      name: name('connection_duration_seconds'),
      help: 'How long connections stayed open',
      labelNames: CONN_LABELS,
      buckets: DURATION_BUCKETS,
      registers: []
    })
    this.#handshake = new Histogram({
      name: name('handshake_latency_seconds'),
      help: 'Duration of the security and muxer handshakes',
      labelNames: ['transport', 'security', 'muxer', 'ip_version'],
      buckets: HANDSHAKE_BUCKETS,
      registers: []
    })
    this.#keyTypes = new Counter({ name: name('key_types_total'), help: 'Key types of the peers connected to', labelNames: ['dir', 'key_type'], registers: [] })
    this.#dialErrors = new Counter({
      name: name('dial_errors_total'),
      help: 'Address dials that failed, by kind of error',
      labelNames: ['transport', 'error', 'ip_version'],
      registers: []
    })
    this.#dialsPerPeer = new Counter({
      name: name('dials_per_peer_total'),
      help: 'Peer dials by outcome and number of addresses dialed',
      labelNames: ['outcome', 'num_dials'],
      registers: []
    })
    this.#dialLatency = new Histogram({
      name: name('dial_latency_seconds'),
      help: 'Time taken to connect to a peer (or give up)',
      labelNames: ['outcome', 'num_dials'],
      buckets: DIAL_BUCKETS,
      registers: []
    })
    this.#rankingDelay = new Histogram({
      name: name('dial_ranking_delay_seconds'),
      help: 'How long the address that connected waited for its rank before being dialed',
      buckets: DIAL_BUCKETS,
      registers: []
    })

    const blackHole = (n: typeof METRIC_NAMES[number], help: string, value: (s: ReturnType<Network['blackHoleStats']>[number]) => number): Gauge<'name'> => {
      const gauge: Gauge<'name'> = new Gauge({
        name: name(n),
        help,
        labelNames: ['name'],
        registers: [],
        collect: () => {
          gauge.reset()
          for (const s of this.#network?.blackHoleStats() ?? []) gauge.set({ name: s.name }, value(s))
        }
      })
      return gauge
    }
    const connections: Gauge<'dir' | 'transport'> = new Gauge({
      name: name('connections'),
      help: 'Open connections',
      labelNames: ['dir', 'transport'],
      registers: [],
      collect: () => {
        connections.reset()
        for (const c of this.#network?.conns() ?? []) {
          const s = c.stat()
          connections.inc({ dir: s.direction, transport: s.transport || 'unknown' })
        }
      }
    })
    const streams: Gauge<'dir' | 'protocol'> = new Gauge({
      name: name('streams'),
      help: 'Open streams by protocol ("" until one is negotiated)',
      labelNames: ['dir', 'protocol'],
      registers: [],
      collect: () => {
        streams.reset()
        for (const s of this.#network?.streams() ?? []) streams.inc({ dir: s.direction, protocol: s.protocol })
      }
    })
    const bytes: Counter<'direction'> = new Counter({
      name: name('bandwidth_bytes_total'),
      help: 'Bytes sent and received on every stream',
      labelNames: ['direction'],
      registers: [],
      collect: () => {
        // a counter set from the byte counter's totals: they only go down on reset(), which Prometheus sees as a
        // counter reset
        const t = this.#bandwidth.getBandwidthTotals()
        bytes.reset()
        bytes.inc({ direction: 'in' }, t.totalIn)
        bytes.inc({ direction: 'out' }, t.totalOut)
      }
    })
    const byProtocol: Counter<'protocol' | 'direction'> = new Counter({
      name: name('bandwidth_by_protocol_bytes_total'),
      help: 'Bytes sent and received per protocol, for protocols active within the idle timeout',
      labelNames: ['protocol', 'direction'],
      registers: [],
      collect: () => {
        byProtocol.reset()
        for (const [protocol, s] of this.#bandwidth.getBandwidthByProtocol()) {
          byProtocol.inc({ protocol, direction: 'in' }, s.totalIn)
          byProtocol.inc({ protocol, direction: 'out' }, s.totalOut)
        }
      }
    })

    this.#metrics = [
      this.#connsOpened, this.#connsClosed, this.#connDuration, this.#handshake, this.#keyTypes,
      this.#dialErrors, this.#dialsPerPeer, this.#dialLatency, this.#rankingDelay,
      blackHole('black_hole_filter_state', 'State of the black hole filter: 0 probing, 1 allowed, 2 blocked', s => BLACK_HOLE_STATE[s.state]),
      blackHole('black_hole_filter_success_fraction', 'Fraction of successful dials among the last n requests', s => s.successFraction),
      blackHole('black_hole_filter_next_request_allowed_after', 'Requests refused before the next probe is let through', s => s.nextRequestAllowedAfter),
      connections, streams, bytes, byProtocol
    ]
  }

  /** The name of a series this package registers that `registry` already holds, if any. */
  static conflictIn (registry: Registry): string | undefined {
    return METRIC_NAMES.map(n => METRIC_PREFIX + n).find(n => registry.getSingleMetric(n) !== undefined)
  }

  /** Joins the registry and starts watching `network`'s connections. */
  start (network: Network): void {
    const conflict = PrometheusMetrics.conflictIn(this.registry)
    if (conflict !== undefined) throw new MetricsRegistryConflictError(conflict)
    for (const m of this.#metrics) this.registry.registerMetric(m)
    this.#registered = true
    this.#network = network
    network.notify(this)
  }

  /**
   * Stops reading the network; with `leaveRegistry`, also takes the series out of the registry. The notifiee stays:
   * the swarm stops its services before delivering the last disconnections, which should still be counted.
   */
  stop (leaveRegistry: boolean): void {
    this.#network = undefined
    if (!leaveRegistry || !this.#registered) return
    this.#registered = false
    for (const name of METRIC_NAMES) {
      const metric = this.registry.getSingleMetric(METRIC_PREFIX + name)
      // only ours: a series of that name registered since by someone else stays
      if (metric !== undefined && this.#metrics.includes(metric)) this.registry.removeSingleMetric(METRIC_PREFIX + name)
    }
  }

  // ---- Notifiee ----

  connected (conn: Conn): void {
    const stat = conn.stat()
    const labels = connLabels(conn, stat)
    this.#connsOpened.inc(labels)
    this.#keyTypes.inc({ dir: stat.direction, key_type: conn.remotePublicKey.type })
    if (stat.handshakeDuration !== undefined) {
      const { dir: _dir, ...rest } = labels
      this.#handshake.observe(rest, stat.handshakeDuration / 1000)
    }
  }

  disconnected (conn: Conn): void {
    const stat = conn.stat()
    const labels = connLabels(conn, stat)
    this.#connsClosed.inc(labels)
    this.#connDuration.observe(labels, Math.max(0, this.#clock.now() - stat.opened) / 1000)
  }

  // ---- MetricsTracer ----

  failedDialing (addr: Multiaddr, transport: string, err: Error): void {
    this.#dialErrors.inc({ transport, error: dialErrorKind(err), ip_version: ipVersion(addr) })
  }

  dialCompleted (_peer: PeerId, success: boolean, dials: number, durationMs: number): void {
    const labels = { outcome: success ? 'success' : 'failed', num_dials: numDialsLabel(dials) }
    this.#dialsPerPeer.inc(labels)
    this.#dialLatency.observe(labels, durationMs / 1000)
  }

  dialRankingDelay (delayMs: number): void {
    this.#rankingDelay.observe(delayMs / 1000)
  }
}

function connLabels (conn: Conn, s: ConnStats): Record<ConnLabel, string> {
  // go labels by the local address; the remote one is always known and has the same IP version
  return { dir: s.direction, transport: s.transport || 'unknown', security: s.security, muxer: s.muxer, ip_version: ipVersion(conn.remoteMultiaddr) }
}

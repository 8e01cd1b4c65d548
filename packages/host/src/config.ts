import { InvalidOptionError, parseMultiaddr } from '@tswarm/core'
import type { Multiaddr } from '@multiformats/multiaddr'

/** This package's version, sent in the default agent version. */
export const HOST_VERSION = '0.1.0'

/** Identify options. All optional; times in milliseconds. */
export interface IdentifyOptions {
  /**
   * Time one identify exchange (either side) or one push may take.
   *
   * @default 30000 (go-libp2p's)
   */
  timeout?: number
  /**
   * Identify every new connection as soon as it joins the swarm.
   *
   * @default true
   */
  runOnConnect?: boolean
  /**
   * Changes of our protocols or addresses within this window are pushed to connected peers once.
   *
   * @default 100
   */
  pushDebounce?: number
  /**
   * The largest identify message accepted.
   *
   * @default 8192 (go-libp2p's and js-libp2p's)
   */
  maxMessageSize?: number
  /**
   * Pushes in flight at once.
   *
   * @default 32 (go-libp2p's)
   */
  maxPushConcurrency?: number
}

/** Ping options. */
export interface PingOptions {
  /**
   * Time one ping may take, on either side, before the stream is reset.
   *
   * @default 10000
   */
  timeout?: number
}

/** Perf options (the `/perf/1.0.0` server). */
export interface PerfOptions {
  /**
   * Serve `/perf/1.0.0`. Off by default: any peer could make the host send as many bytes as it asks for.
   *
   * @default false
   */
  enabled?: boolean
  /**
   * The most bytes the server sends back for one request; larger requests are refused with a reset.
   *
   * @default Number.MAX_SAFE_INTEGER (no limit)
   */
  maxSendBytes?: number
}

/** Host options. Every field is optional and says its default. */
export interface HostOptions {
  /**
   * Sent to peers in identify.
   *
   * @default `tswarm/0.1.0 node/<version>`
   */
  agentVersion?: string
  /**
   * Sent to peers in identify.
   *
   * @default 'ipfs/0.1.0'
   */
  protocolVersion?: string
  /**
   * The addresses advertised to peers (identify, signed peer record) instead of the interface listen addresses.
   *
   * @default the swarm's interface listen addresses
   */
  announce?: ReadonlyArray<Multiaddr | string>
  /**
   * Inbound streams allowed at once per protocol per connection, for handlers registered without their own limit.
   *
   * @default 32 (js-libp2p's)
   */
  maxInboundStreams?: number
  /**
   * Outbound streams allowed at once per protocol per connection, for protocols with no limit of their own.
   *
   * @default 64 (js-libp2p's)
   */
  maxOutboundStreams?: number
  /**
   * Always wait for the remote to confirm the protocol before `newStream` returns, instead of selecting a single
   * protocol optimistically (one round trip more per stream; a refused protocol then fails `newStream` itself rather
   * than the first read).
   *
   * @default false
   */
  negotiateFully?: boolean
  identify?: IdentifyOptions
  ping?: PingOptions
  perf?: PerfOptions
}

/** Identify options with defaults filled in. */
export type IdentifyConfig = Readonly<Required<IdentifyOptions>>
/** Ping options with defaults filled in. */
export type PingConfig = Readonly<Required<PingOptions>>
/** Perf options with defaults filled in. */
export type PerfConfig = Readonly<Required<PerfOptions>>

/** The host options with every default filled in, frozen. */
export interface HostConfig {
  readonly agentVersion: string
  readonly protocolVersion: string
  readonly announce: readonly Multiaddr[] | undefined
  readonly maxInboundStreams: number
  readonly maxOutboundStreams: number
  readonly negotiateFully: boolean
  readonly identify: IdentifyConfig
  readonly ping: PingConfig
  readonly perf: PerfConfig
}

/** Identify defaults: go-libp2p's timeout, size limit and push concurrency. */
export const DEFAULT_IDENTIFY_CONFIG: IdentifyConfig = Object.freeze({
  timeout: 30_000,
  runOnConnect: true,
  pushDebounce: 100,
  maxMessageSize: 8192,
  maxPushConcurrency: 32
})

/** Ping defaults. */
export const DEFAULT_PING_CONFIG: PingConfig = Object.freeze({ timeout: 10_000 })

/** Perf defaults: not served. */
export const DEFAULT_PERF_CONFIG: PerfConfig = Object.freeze({ enabled: false, maxSendBytes: Number.MAX_SAFE_INTEGER })

/** Fills in defaults and validates; a bad value throws an InvalidOptionError naming the option. */
export function resolveHostConfig (options: HostOptions = {}): HostConfig {
  checkKeys('host', options, ['agentVersion', 'protocolVersion', 'announce', 'maxInboundStreams', 'maxOutboundStreams', 'negotiateFully', 'identify', 'ping', 'perf'])
  const identify = { ...DEFAULT_IDENTIFY_CONFIG, ...defined(options.identify) }
  checkKeys('host.identify', identify, Object.keys(DEFAULT_IDENTIFY_CONFIG))
  positiveInt('host.identify.timeout', identify.timeout)
  nonNegativeInt('host.identify.pushDebounce', identify.pushDebounce)
  positiveInt('host.identify.maxMessageSize', identify.maxMessageSize)
  positiveInt('host.identify.maxPushConcurrency', identify.maxPushConcurrency)
  bool('host.identify.runOnConnect', identify.runOnConnect)
  const ping = { ...DEFAULT_PING_CONFIG, ...defined(options.ping) }
  checkKeys('host.ping', ping, Object.keys(DEFAULT_PING_CONFIG))
  positiveInt('host.ping.timeout', ping.timeout)
  const perf = { ...DEFAULT_PERF_CONFIG, ...defined(options.perf) }
  checkKeys('host.perf', perf, Object.keys(DEFAULT_PERF_CONFIG))
  bool('host.perf.enabled', perf.enabled)
  nonNegativeInt('host.perf.maxSendBytes', perf.maxSendBytes)
  const config: HostConfig = {
    agentVersion: options.agentVersion ?? `tswarm/${HOST_VERSION} node/${process.versions.node}`,
    protocolVersion: options.protocolVersion ?? 'ipfs/0.1.0',
    announce: options.announce === undefined ? undefined : Object.freeze(options.announce.map(parseMultiaddr)),
    maxInboundStreams: options.maxInboundStreams ?? 32,
    maxOutboundStreams: options.maxOutboundStreams ?? 64,
    negotiateFully: options.negotiateFully ?? false,
    identify: Object.freeze(identify),
    ping: Object.freeze(ping),
    perf: Object.freeze(perf)
  }
  text('host.agentVersion', config.agentVersion)
  text('host.protocolVersion', config.protocolVersion)
  positiveInt('host.maxInboundStreams', config.maxInboundStreams)
  positiveInt('host.maxOutboundStreams', config.maxOutboundStreams)
  bool('host.negotiateFully', config.negotiateFully)
  return Object.freeze(config)
}

/** A stream limit: a positive integer. Exported for the per-call limits of `handle` and `newStream`. */
export function positiveInt (option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new InvalidOptionError(option, value, 'a positive integer')
}

function nonNegativeInt (option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new InvalidOptionError(option, value, 'an integer >= 0')
}

function bool (option: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'true or false')
}

function text (option: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(option, value, 'a non-empty string')
}

/** Catches misspelt options early (`pushDebounse` would otherwise be silently ignored). */
function checkKeys (prefix: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InvalidOptionError(`${prefix}.${key}`, (options as Record<string, unknown>)[key], `one of ${known.join(', ')}`)
  }
}

/** The fields that are not undefined, so `{ timeout: undefined }` keeps the default. */
function defined<T extends object> (options: T | undefined): Partial<T> {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('host options', options, 'an object')
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}

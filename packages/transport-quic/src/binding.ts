import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { SwarmError } from '@tswarm/core'

/**
 * The options the native `QuinnConfig` takes (the binding's `Config`). Every field is required: the binding rejects
 * a missing or non-u32 number with an InvalidArg error.
 */
export interface NativeQuinnConfigInit {
  /** Our libp2p private key, protobuf encoded: the TLS certificate is derived from it. */
  privateKeyProto: Uint8Array
  /** Read by the binding but not applied (2.1.1): the transport enforces it on dials itself. */
  handshakeTimeout: number
  maxIdleTimeout: number
  keepAliveInterval: number
  maxConcurrentStreamLimit: number
  /** quinn's stream receive window: how far a remote may write ahead of what we have read on one stream. */
  maxStreamData: number
  /** quinn's connection receive window. */
  maxConnectionData: number
  receiveBufferSize: number
  sendBufferSize: number
}

/** quinn's endpoint, TLS and transport settings, built once and shared by every client and server. Opaque. */
export interface NativeQuinnConfig {
  readonly __nativeQuinnConfig?: never
}

/**
 * One bidirectional QUIC stream. Each half sits behind its own async lock in the binding: a call on a half waits
 * for the call before it on the same half to finish, so `stopRead()` waits for a pending `read()` and
 * `resetWrite()`/`finishWrite()` for a pending `write()`. Every failure is an Error with code `'Unknown'` whose
 * message is quinn's.
 */
export interface NativeStream {
  /** The stream's index among the streams its opener started: unique per direction only. */
  id(): string
  /** Up to `maxLength` bytes, as many as quinn holds; `null` at the remote's FIN (and after our `stopRead()`). */
  read(maxLength: number): Promise<Uint8Array | null>
  /** Resolves once quinn buffered every byte, which waits for the remote's flow-control credit. */
  write(data: Uint8Array): Promise<void>
  finishWrite(): Promise<void>
  resetWrite(): Promise<void>
  stopRead(): Promise<void>
}

/** A QUIC connection, TLS-authenticated (libp2p certificate) by the time JavaScript sees it. */
export interface NativeConnection {
  /** quinn's stable connection ID. */
  id(): string
  /** `/ip4|ip6/<ip>/udp/<port>/quic-v1/p2p/<peer>`, the peer taken from the remote's certificate. */
  remoteMultiaddr(): string
  /** Resolves once the remote may open another stream; the remote sees the stream at our first write or FIN. */
  outboundStream(): Promise<NativeStream>
  inboundStream(): Promise<NativeStream>
  /** Resolves (never rejects) once the connection has closed, for whatever reason. */
  closed(): Promise<void>
  /** Closes at once (CONNECTION_CLOSE): unacknowledged data is lost. */
  abort(): void
}

/** A UDP socket dialing for one address family. `abort()` closes its connections; the socket goes at GC. */
export interface NativeClient {
  outboundConnection(ip: string, port: number): Promise<NativeConnection>
  abort(): void
}

/** A listening UDP socket. `port()` after `abort()` panics the process: read it once, before. */
export interface NativeServer {
  inboundConnection(): Promise<NativeConnection>
  port(): number
  /** Closes every connection and unbinds the socket. Idempotent. */
  abort(): Promise<void>
}

/** The binding's `SocketFamily` enum. */
export const SOCKET_FAMILY = { ipv4: 0, ipv6: 1 } as const

/** What tswarm uses of `@chainsafe/libp2p-quic`'s native addon. */
export interface QuicBinding {
  QuinnConfig: new (init: NativeQuinnConfigInit) => NativeQuinnConfig
  Client: new (config: NativeQuinnConfig, family: typeof SOCKET_FAMILY[keyof typeof SOCKET_FAMILY]) => NativeClient
  Server: new (config: NativeQuinnConfig, ip: string, port: number) => NativeServer
}

/**
 * No native QUIC binding could be loaded for this platform. The message names the package to install; `cause` holds
 * each load failure.
 */
export class QuicBindingError extends SwarmError {
  override readonly name: string = 'QuicBindingError'
  /** `process.platform-process.arch`, with the libc on Linux, e.g. `linux-x64-gnu`. */
  readonly platform: string
  /** The packages tried, in order. */
  readonly packages: readonly string[]

  constructor (message: string, platform: string, packages: readonly string[], options?: ErrorOptions) {
    super(message, options)
    this.platform = platform
    this.packages = packages
  }
}

const SCOPE = '@chainsafe/libp2p-quic'

/** The prebuilt targets @chainsafe/libp2p-quic 2.x publishes (its `napi.targets`), keyed by platform-arch[-libc]. */
const TARGETS: Readonly<Record<string, string>> = {
  'linux-x64-gnu': 'linux-x64-gnu',
  'linux-x64-musl': 'linux-x64-musl',
  'linux-arm64-gnu': 'linux-arm64-gnu',
  'linux-arm64-musl': 'linux-arm64-musl',
  'darwin-x64': 'darwin-x64',
  'darwin-arm64': 'darwin-arm64',
  'win32-x64': 'win32-x64-msvc'
}

function isMusl (): boolean {
  // As napi-rs's loader: ldd names musl on musl systems; failing that, Node's report says which libc it runs on.
  try {
    if (readFileSync('/usr/bin/ldd', 'utf8').includes('musl')) return true
  } catch {
    // no ldd: ask the report
  }
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string }, sharedObjects?: string[] } | undefined
  if (report?.header?.glibcVersionRuntime !== undefined) return false
  return report?.sharedObjects?.some(f => f.includes('libc.musl-') || f.includes('ld-musl-')) ?? false
}

/** This process's platform key, e.g. `linux-x64-gnu` or `darwin-arm64`. */
export function platformKey (): string {
  const base = `${process.platform}-${process.arch}`
  if (process.platform !== 'linux') return base
  return `${base}-${isMusl() ? 'musl' : 'gnu'}`
}

function isConstructor (value: unknown, methods: readonly string[]): boolean {
  if (typeof value !== 'function') return false
  const proto: unknown = value.prototype
  return typeof proto === 'object' && proto !== null && methods.every(m => typeof (proto as Record<string, unknown>)[m] === 'function')
}

/** Checks the parts of the addon tswarm calls, so a mismatched version fails here and not mid-connection. */
function isQuicBinding (value: unknown): value is QuicBinding & { Connection: unknown, Stream: unknown } {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.QuinnConfig === 'function' &&
    isConstructor(v.Client, ['outboundConnection', 'abort']) &&
    isConstructor(v.Server, ['inboundConnection', 'port', 'abort']) &&
    isConstructor(v.Connection, ['outboundStream', 'inboundStream', 'remoteMultiaddr', 'closed', 'abort', 'id']) &&
    isConstructor(v.Stream, ['read', 'write', 'finishWrite', 'resetWrite', 'stopRead', 'id'])
}

let loaded: QuicBinding | undefined

/**
 * Loads the native QUIC addon of `@chainsafe/libp2p-quic` (quinn, in Rust) for this platform, once per process.
 *
 * As the library's own loader does, `NAPI_RS_NATIVE_LIBRARY_PATH` names a `.node` file to load instead. Otherwise
 * the platform package (e.g. `@chainsafe/libp2p-quic-linux-x64-gnu`, an optional dependency of the library) is
 * resolved from this package and then from the library, since npm may install it under either.
 *
 * @throws {QuicBindingError} when the platform has no prebuilt addon, or none loads (e.g. optional dependencies
 * were omitted at install); the error names the platform and the package to install, its cause holds each failure.
 */
export function loadQuicBinding (): QuicBinding {
  if (loaded !== undefined) return loaded
  const platform = platformKey()
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  const target = TARGETS[platform]
  const packages = override !== undefined && override !== '' ? [override] : target !== undefined ? [`${SCOPE}-${target}`] : []
  if (packages.length === 0) {
    throw new QuicBindingError(`QUIC is not available on ${platform}: ${SCOPE} ships native bindings for linux x64/arm64 ` +
      '(glibc and musl), darwin x64/arm64 and win32 x64 only; use another transport (e.g. tcp()) on this platform', platform, packages)
  }
  const requirers = [createRequire(import.meta.url)]
  try {
    requirers.push(createRequire(import.meta.resolve(SCOPE)))
  } catch {
    // the library itself is missing: the error below says what to install
  }
  const errors: unknown[] = []
  for (const name of packages) {
    for (const require of requirers) {
      try {
        const binding: unknown = require(name)
        if (!isQuicBinding(binding)) throw new Error(`${name} does not export the API of ${SCOPE} 2.x (Client, Server, Connection, Stream, QuinnConfig)`)
        loaded = binding
        return binding
      } catch (err) {
        errors.push(err)
      }
    }
  }
  throw new QuicBindingError(`no QUIC native binding loads on ${platform}: install ${packages[0]} (npm installs it with ${SCOPE} ` +
    'unless optional dependencies were omitted: run `npm install --include=optional`, or remove node_modules and ' +
    'package-lock.json and install again, as npm sometimes skips them)', platform, packages, { cause: new AggregateError(errors, 'load failures') })
}

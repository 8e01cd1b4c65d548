/**
 * @packageDocumentation
 *
 * A libp2p host over the tswarm swarm: per-protocol stream handlers with multistream-select (optimistic on outbound
 * streams), per-protocol stream limits, identify and identify push, ping, perf, and a persistent peerstore over
 * `interface-datastore` (LevelDB on disk).
 *
 * @example
 * ```ts
 * import { createHost, persistentPeerstore } from '@tswarm/host'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const server = await createHost({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * server.handle('/echo/1.0.0', async stream => {
 *   for await (const chunk of stream) await stream.write(chunk)
 *   await stream.closeWrite()
 * })
 *
 * const client = await createHost({ modules: [tcp(), persistentPeerstore({ path: './peerstore' })] })
 * await client.connect(server.peerId, server.addrs())
 * console.log(client.peerstore.getProtocols(server.peerId)) // learned through identify
 * console.log(`ping: ${(await client.ping(server.peerId)).toFixed(2)} ms`)
 *
 * const stream = await client.newStream(server.peerId, '/echo/1.0.0')
 * await stream.write('hello')
 * await stream.closeWrite()
 * for await (const chunk of stream) console.log(new TextDecoder().decode(chunk))
 *
 * await Promise.all([client.close(), server.close()])
 * ```
 */
export { Host, countStreams } from './host.js'
export type { HandleOptions, HostNewStreamOptions, OpenStreamOptions, ProtocolHandler, ProtocolHost } from './host.js'
export { createHost } from './create-host.js'
export type { CreateHostOptions } from './create-host.js'
export { DEFAULT_IDENTIFY_CONFIG, DEFAULT_PERF_CONFIG, DEFAULT_PING_CONFIG, HOST_VERSION, resolveHostConfig } from './config.js'
export type { HostConfig, HostOptions, IdentifyConfig, IdentifyOptions, PerfConfig, PerfOptions, PingConfig, PingOptions } from './config.js'
export * from './errors.js'
export * from './tokens.js'
export { IDENTIFY_PROTOCOL, IDENTIFY_PUSH_PROTOCOL, IdentifyMetadata, IdentifyService, filterAddrs, openPeerRecord } from './identify/identify.js'
export type { IdentifyHost, IdentifyResult } from './identify/identify.js'
export { PING_PROTOCOL, PING_SIZE, PingService } from './ping/ping.js'
export { PERF_PROTOCOL, PerfService } from './perf/perf.js'
export type { PerfResult, PerfRunOptions } from './perf/perf.js'
export { OptimisticStream, QUIC_END_OF_STREAM_DELAY, quicEndOfStreamDelay } from './stream/optimistic-stream.js'
export type { OptimisticStreamInit } from './stream/optimistic-stream.js'
export { PersistentPeerstore } from './peerstore/persistent-peerstore.js'
export type { PersistentPeerstoreConfig } from './peerstore/persistent-peerstore.js'
export { PERSISTENT_PEERSTORE_MODULE_NAME, persistentPeerstore, resolvePersistentPeerstoreOptions } from './peerstore/module.js'
export type { PersistentPeerstoreOptions } from './peerstore/module.js'

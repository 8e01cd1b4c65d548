/**
 * @packageDocumentation
 *
 * tswarm core: the contracts every plugin implements, the DI tokens, and the Swarm that listens, dials, secures
 * (Noise), multiplexes (Yamux) and tracks connections and streams.
 *
 * @example
 * ```ts
 * import { createSwarm } from '@tswarm/core'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const a = await createSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * const b = await createSwarm({ modules: [tcp()] })
 * a.setStreamHandler(async stream => {
 *   await a.negotiateInbound(stream, ['/echo/1.0.0'])
 *   for await (const chunk of stream) await stream.write(chunk)
 *   await stream.closeWrite()
 * })
 * b.peerstore.addAddrs(a.localPeer, a.listenAddresses(), AddrTTL.PERMANENT)
 * const stream = await b.newStream(a.localPeer, { protocols: ['/echo/1.0.0'] })
 * await stream.write('hello')
 * await stream.closeWrite()
 * for await (const chunk of stream) console.log(new TextDecoder().decode(chunk))
 * await Promise.all([a.close(), b.close()])
 * ```
 */
export * from './interfaces/index.js'
export * from './tokens.js'
export * from './errors.js'
export { DEFAULT_SWARM_CONFIG, resolveSwarmConfig } from './config.js'
export type { BlackHoleCounterOptions, SwarmConfig, SwarmOptions } from './config.js'
export { SystemClock, timeoutSignal } from './clock.js'
export { raceAbort } from './abort.js'
export { BufferedReader, readAll } from './reader.js'
export type { ChunkSource } from './reader.js'
export { NullReporter } from './reporter.js'
export { MAX_ADDRS_PER_PEER, MAX_PROTOCOLS_PER_PEER, MemoryPeerstore } from './peerstore/memory-peerstore.js'
export * from './identity.js'
export { NoiseYamuxUpgrader, NOISE_PROTOCOL, YAMUX_PROTOCOL } from './upgrader/upgrader.js'
export { Swarm } from './swarm/swarm.js'
export type { DialPeerOptions, SwarmNewStreamOptions } from './swarm/swarm.js'
export { streamToDuplex } from './swarm/duplex.js'
export { addrKey, expandUnspecified, isUnspecified, parseMultiaddr, stripPeerId } from './swarm/addrs.js'
export { Cidr, IpAddress, ipOfMultiaddr, parseCidr, parseIp, toCidr, toIp, tryParseIp } from './net/ip.js'
export type { IpFamily } from './net/ip.js'
export {
  GLOBAL_UNICAST_IP6_RANGE, NAT64_RANGES, PRIVATE_IP4_RANGES, PRIVATE_IP6_RANGES, UNROUTABLE_IP4_RANGES, UNROUTABLE_IP6_RANGES,
  classifyAddr, classifyIp, isIp6LinkLocal, isIpLoopback, isIpUnspecified, isNat64Addr, isPrivateAddr, isPublicAddr
} from './net/addr-class.js'
export type { AddrClass, IpClass } from './net/addr-class.js'
export { DialBackoff } from './dial/backoff.js'
export type { DialBackoffOptions } from './dial/backoff.js'
export type { BlackHoleState, BlackHoleStats } from './dial/black-hole.js'
export { DialPlan } from './dial/plan.js'
export type { PlanEntry, PlanOutcome } from './dial/plan.js'
export * from './dial/ranker.js'
export { NodeDnsResolver } from './dial/dns.js'
export type { NodeDnsResolverOptions } from './dial/dns.js'
export { createSwarm, assembleSwarm } from './create-swarm.js'
// The one way to write a plugin and to reach its instance after createSwarm (see plugin.ts and the README).
export { PluginConflictError, PluginNotFoundError, definePlugin, pluginInstance } from './plugin.js'
export type { PluginDefinition, PluginInstanceProvider } from './plugin.js'
export { swarmLogger } from './logger.js'
export { MULTISTREAM_PROTOCOL, encodeUvarint, lengthPrefixed, multistreamProposal } from './multistream.js'
export { DEFAULT_RESOURCE_LIMITS, LimitResourceManager, resolveResourceLimits } from './resources/limit-resource-manager.js'
export type { ResolvedResourceLimits, ResourceLimits, ResourceLimitsConfig } from './resources/limit-resource-manager.js'
export { resourceLimits } from './resources/module.js'
export { BasicConnectionManager, resolveConnectionManagerOptions } from './connmgr/connection-manager.js'
export type { ConnectionManagerConfig, ConnectionManagerOptions, TagInfo } from './connmgr/connection-manager.js'
export { connectionManager } from './connmgr/module.js'
export type { AssembledSwarm, CreateSwarmOptions } from './create-swarm.js'
export { Libp2pTransportAdapter } from './adapter/libp2p-transport.js'
export type { Libp2pTransportAdapterInit } from './adapter/libp2p-transport.js'
// Plugins take the DI API from here so that exactly one tsyringe is loaded (two copies never agree on metadata).
export { Lifecycle, inject, injectAll, injectable, instanceCachingFactory, instancePerContainerCachingFactory } from './di.js'
export type { DependencyContainer, InjectionToken } from './di.js'
// The types the API speaks, so users need not depend on the libp2p packages that define them.
export type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
export { multiaddr } from '@multiformats/multiaddr'
export type { Multiaddr } from '@multiformats/multiaddr'

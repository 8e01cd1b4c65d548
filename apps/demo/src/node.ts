import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AddrTTL, loadOrCreateIdentity, parseMultiaddr, parsePeerId, pluginInstance } from '@tswarm/core'
import { createHost, persistentPeerstore } from '@tswarm/host'
import { BLOCK_LIST, blockList, inboundLimits } from '@tswarm/gater'
import { SWARM_METRICS, metrics } from '@tswarm/metrics'
import { quic } from '@tswarm/transport-quic'
import { tcp } from '@tswarm/transport-tcp'
import { CliError } from './cli.js'
import type { PeerId, Swarm, SwarmModule } from '@tswarm/core'
import type { Host } from '@tswarm/host'
import type { BlockList } from '@tswarm/gater'
import type { SwarmMetrics } from '@tswarm/metrics'

export const ECHO = '/echo/1.0.0'

export const DEFAULT_LISTEN = [
  '/ip4/0.0.0.0/tcp/4001',
  '/ip6/::/tcp/4001',
  '/ip4/0.0.0.0/udp/4001/quic-v1',
  '/ip6/::/udp/4001/quic-v1'
]

/** The data directory: `--data-dir`, relative to where the user ran the command (npm changes the working directory). */
export function dataDirOf (option: string | undefined): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), option ?? '.tswarm')
}

export interface Node {
  host: Host
  swarm: Swarm
  /** The swarm's metrics (bandwidth, Prometheus registry, HTTP address). */
  metrics: SwarmMetrics
  /** The persisted block list, for nodes that keep state in the data directory. */
  blocks?: BlockList
  created: boolean
  dataDir: string
}

export interface NodeOptions {
  dataDir: string
  listen: string[]
  metricsPort?: number
  /**
   * A throwaway identity and no block-list store: for one-shot commands (echo, ping, perf), which must not touch the
   * files a running node holds.
   */
  ephemeral?: boolean
}

/** The demo's node: TCP + QUIC, metrics, its identity kept in the data directory, answering /echo/1.0.0. */
export async function startNode (options: NodeOptions): Promise<Node> {
  await mkdir(options.dataDir, { recursive: true })
  const ephemeral = options.ephemeral === true
  const identity = ephemeral
    ? { privateKey: undefined, created: false }
    : await loadOrCreateIdentity(join(options.dataDir, 'identity.key'))
  const modules: SwarmModule[] = [tcp(), quic(), metrics(options.metricsPort === undefined ? {} : { http: { port: options.metricsPort, host: '127.0.0.1' } })]
  // Block rules and known peers live with the identity; inbound limits protect a node on a public address from floods.
  if (!ephemeral) modules.push(blockList({ path: join(options.dataDir, 'block-list') }), inboundLimits(), persistentPeerstore({ path: join(options.dataDir, 'peerstore') }))
  let host: Host
  try {
    host = await createHost({
      privateKey: identity.privateKey,
      modules,
      listen: options.listen,
      host: {
      agentVersion: `tswarm-demo/0.1.0 node/${process.versions.node}`,
      // The demo answers `tswarm perf`; the cap matches the most the perf command asks for.
      perf: { enabled: true, maxSendBytes: 16 * 1024 * 1024 * 1024 }
    }
  })
  } catch (err) {
    if (err instanceof Error && /lock/i.test(err.message)) {
      throw new CliError(`the data directory ${options.dataDir} is in use by a running node; stop it first, or use another --data-dir`)
    }
    throw err
  }
  host.handle(ECHO, async stream => {
    for await (const chunk of stream) await stream.write(chunk)
    await stream.closeWrite()
  })
  // The plugins' instances, reached as every plugin's is: by the swarm and the plugin's token.
  const { swarm } = host
  const blocks = ephemeral ? undefined : pluginInstance(swarm, BLOCK_LIST)
  return { host, swarm, metrics: pluginInstance(swarm, SWARM_METRICS), blocks, created: identity.created, dataDir: options.dataDir }
}

/** A peer's address from the command line: it must end in /p2p/<peer id>; recorded in the swarm's peerstore. */
export function targetOf (swarm: Swarm, input: string | undefined): PeerId {
  if (input === undefined) throw new CliError('give the peer as a multiaddr ending in /p2p/<peer id>')
  const addr = parseMultiaddr(input)
  const id = addr.getComponents().find(c => c.name === 'p2p')?.value
  if (id === undefined) throw new CliError(`${input} has no /p2p/<peer id> at its end: the peer's ID is needed to reach it securely`)
  const peer = parsePeerId(id)
  swarm.peerstore.addAddrs(peer, [addr], AddrTTL.PERMANENT)
  return peer
}

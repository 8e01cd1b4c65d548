import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { createSwarm } from '../create-swarm.js'
import { AddrTTL } from '../interfaces/peerstore.js'
import { memory } from './memory-transport.js'
import type { CreateSwarmOptions } from '../create-swarm.js'
import type { Conn, Stream } from '../interfaces/connection.js'
import type { Swarm } from '../swarm/swarm.js'

/**
 * A swarm for tests: by default on the in-memory transport, listening on a fresh `/memory` address. Pass `modules`
 * and `listen` to test over real transports.
 */
export async function createTestSwarm (init: Partial<CreateSwarmOptions> = {}): Promise<Swarm> {
  const modules = init.modules ?? [memory()]
  return createSwarm({ ...init, modules, listen: init.listen ?? (init.modules === undefined ? ['/memory/0'] : []) })
}

/** Tells `a` where `b` listens (go's DivulgeAddresses). */
export function introduce (a: Swarm, b: Swarm): void {
  a.peerstore.addAddrs(b.localPeer, b.listenAddresses(), AddrTTL.PERMANENT)
}

/** Connects `a` to `b`, introducing them first. */
export async function connect (a: Swarm, b: Swarm): Promise<Conn> {
  introduce(a, b)
  return a.dialPeer(b.localPeer)
}

/** A stream handler that negotiates `protocol` and echoes everything back until the remote half-closes. */
export function echoHandler (swarm: Swarm, protocol = '/echo/1.0.0'): (stream: Stream) => Promise<void> {
  return async stream => {
    await swarm.negotiateInbound(stream, [protocol])
    for await (const chunk of stream) await stream.write(chunk)
    await stream.closeWrite()
  }
}

/** Waits until `check` holds, polling every `intervalMs`, failing after `timeoutMs`. For conditions another peer settles. */
export async function waitFor (check: () => boolean, what: string, timeoutMs = 5_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a server a test starts as a separate program (Redis,
 * Prometheus) that cannot be told to pick one and report it.
 */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return port
}

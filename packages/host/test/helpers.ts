import { readAll, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { createHost } from '../src/index.js'
import type { CreateHostOptions, Host } from '../src/index.js'
import type { Conn, Stream } from '@tswarm/core'

export { readAll, waitFor }

export const ECHO = '/test/echo/1.0.0'
export const LOOPBACK_TCP = '/ip4/127.0.0.1/tcp/0'

/** A host on TCP loopback. `modules` are added after tcp(). */
export async function tcpHost (init: Partial<CreateHostOptions> = {}): Promise<Host> {
  return createHost({ ...init, modules: [tcp(), ...init.modules ?? []], listen: init.listen ?? [LOOPBACK_TCP] })
}

/** Connects `a` to `b` through the host API, which waits for identify. */
export async function connectHosts (a: Host, b: Host): Promise<Conn> {
  return a.connect(b.peerId, b.addrs())
}

/** Echoes everything back until the remote closes its side. */
export async function echo (stream: Stream): Promise<void> {
  for await (const chunk of stream) await stream.write(chunk)
  await stream.closeWrite()
}

/** Closes every host given, even when some fail. */
export async function closeAll (...hosts: Array<Host | undefined>): Promise<void> {
  await Promise.allSettled(hosts.map(async h => { await h?.close() }))
}

/** Resolves after `ms`. */
export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

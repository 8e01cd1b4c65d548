import { mkdtemp, rm } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLOCK, LOGGER } from '@tswarm/core'
import { readAll } from '@tswarm/core/testing'
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import type { Clock, Swarm, SwarmModule } from '@tswarm/core'

export const ECHO = '/echo/1.0.0'

/** Registers a clock (a ManualClock in tests) as the swarm's CLOCK. */
export function clockModule (clock: Clock): SwarmModule {
  return { name: 'test-clock', register (c) { c.register(CLOCK, { useValue: clock }) } }
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir (): Promise<{ path: string, remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'tswarm-gater-'))
  return { path, remove: async () => { await rm(path, { recursive: true, force: true }) } }
}

/** Opens a stream to `peer`, sends `text`, and returns what came back. */
export async function echo (from: Swarm, peer: PeerId, text: string): Promise<string> {
  const stream = await from.newStream(peer, { protocols: [ECHO] })
  await stream.write(text)
  await stream.closeWrite()
  return new TextDecoder().decode(await readAll(stream))
}

/** The TCP port a swarm listens on (its first /tcp address). */
export function tcpPort (swarm: Swarm): number {
  for (const a of swarm.listenAddresses()) {
    const tcp = a.getComponents().find(c => c.name === 'tcp')
    if (tcp?.value !== undefined) return Number(tcp.value)
  }
  throw new Error('the swarm listens on no TCP address')
}

export interface RawResult {
  /** Bytes the server sent before the socket closed. */
  received: number
  /** How the socket ended: closed by the server, or destroyed by us after `holdMs`. */
  closedBy: 'server' | 'client' | 'error'
}

/**
 * A raw TCP connection that sends `send` (or nothing) and waits until the server closes it, or `holdMs` passed or
 * `signal` aborted (then closes it itself). Always resolves, once the socket is fully closed.
 */
export async function rawConnect (port: number, host = '127.0.0.1', send?: Uint8Array, holdMs = 1_000, signal?: AbortSignal): Promise<RawResult> {
  return new Promise(resolve => {
    let received = 0
    let closedBy: RawResult['closedBy'] = 'server'
    const socket = netConnect({ port, host })
    const giveUp = (): void => { closedBy = 'client'; socket.destroy() }
    const timer = setTimeout(giveUp, holdMs)
    signal?.addEventListener('abort', giveUp, { once: true })
    socket.on('connect', () => { if (send !== undefined) socket.write(send) })
    socket.on('data', chunk => { received += chunk.byteLength })
    socket.on('end', () => { socket.end() })
    socket.on('error', () => { if (closedBy !== 'client') closedBy = 'error' })
    socket.on('close', () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', giveUp)
      resolve({ received, closedBy })
    })
  })
}

/**
 * A LOGGER that keeps what the swarm logs, so a test can read a listener's refusals (a dialer only sees its socket
 * close). Errors are kept as their messages.
 */
export function capturingLogger (): { module: SwarmModule, lines: string[] } {
  const lines: string[] = []
  const record = (component: string) => (...args: unknown[]): void => {
    lines.push(`${component} ${args.map(a => a instanceof Error ? a.message : String(a)).join(' ')}`)
  }
  const make = (component: string): Logger => Object.assign(record(component), {
    error: record(component),
    trace: () => {},
    enabled: true,
    newScope: (name: string) => make(`${component}:${name}`)
  })
  const logger: ComponentLogger = { forComponent: make }
  return { module: { name: 'test-logger', register (c) { c.register(LOGGER, { useValue: logger }) } }, lines }
}

/**
 * A loopback TCP proxy for wire checks: it forwards each accepted connection to a target, records every chunk with
 * its direction, and can hold each chunk for a fixed one-way delay so round trips become countable.
 */
import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

export interface Chunk {
  /** `up`: from the proxy's client (the dialer) to the target; `down`: back. */
  dir: 'up' | 'down'
  bytes: Buffer
}

export interface ProxiedConnection {
  readonly chunks: Chunk[]
  /** What the dialer sent before the first byte came back: its first flight. */
  firstFlight(): Buffer
}

export class TcpProxy {
  readonly connections: ProxiedConnection[] = []
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  readonly #delayMs: number

  private constructor (target: { host: string, port: number }, delayMs: number) {
    this.#delayMs = delayMs
    this.#server = createServer(client => { this.#accept(client, target) })
  }

  /** Listens on 127.0.0.1 (a free port) in front of `target`; `delayMs` holds every chunk that long each way. */
  static async start (target: { host: string, port: number }, delayMs = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, delayMs)
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject)
      proxy.#server.listen(0, '127.0.0.1', () => { resolve() })
    })
    return proxy
  }

  get port (): number {
    return (this.#server.address() as AddressInfo).port
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>(resolve => { this.#server.close(() => { resolve() }) })
  }

  #accept (client: Socket, target: { host: string, port: number }): void {
    const chunks: Chunk[] = []
    this.connections.push({
      chunks,
      firstFlight: () => {
        const end = chunks.findIndex(c => c.dir === 'down')
        return Buffer.concat((end < 0 ? chunks : chunks.slice(0, end)).map(c => c.bytes))
      }
    })
    const upstream = createConnection(target)
    for (const s of [client, upstream]) {
      this.#sockets.add(s)
      s.setNoDelay(true)
      s.on('close', () => { this.#sockets.delete(s) })
      // Either side failing ends the pair; the proxy has nothing to add to the error.
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
    this.#pipe(client, upstream, 'up', chunks)
    this.#pipe(upstream, client, 'down', chunks)
  }

  #pipe (from: Socket, to: Socket, dir: Chunk['dir'], chunks: Chunk[]): void {
    // A constant delay per chunk keeps the order: each is due exactly delayMs after it arrived.
    const forward = (fn: () => void): void => {
      if (this.#delayMs === 0) fn()
      else setTimeout(fn, this.#delayMs)
    }
    from.on('data', (bytes: Buffer) => {
      chunks.push({ dir, bytes })
      forward(() => { if (!to.destroyed) to.write(bytes) })
    })
    from.on('end', () => { forward(() => { if (!to.destroyed) to.end() }) })
  }
}

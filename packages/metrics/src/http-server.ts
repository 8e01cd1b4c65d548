import { once } from 'node:events'
import { createServer } from 'node:http'
import { MetricsServerError } from './errors.js'
import type { ResolvedHttpOptions } from './options.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import { describe } from '@tswarm/core'

/** Where the `/metrics` endpoint listens. */
export interface MetricsHttpAddress {
  host: string
  port: number
  /** The endpoint's URL, e.g. `http://127.0.0.1:9090/metrics`. */
  url: string
}

/** A node:http server that answers `GET <path>` with the registry in the Prometheus text format. */
export class MetricsHttpServer {
  readonly #registry: Registry
  readonly #options: ResolvedHttpOptions
  #server: Server | undefined
  #address: MetricsHttpAddress | undefined

  constructor (registry: Registry, options: ResolvedHttpOptions) {
    this.#registry = registry
    this.#options = options
  }

  /** Set once listening, `undefined` before and after. */
  get address (): MetricsHttpAddress | undefined {
    return this.#address
  }

  /** Listens; rejects with a MetricsServerError (and holds nothing open) when it cannot. */
  async start (): Promise<void> {
    if (this.#server !== undefined) return
    const { host, port, path } = this.#options
    const server = createServer((req, res) => { this.#handle(req, res) })
    // a scraper keeps its connection open between scrapes; on close those sockets are cut (see stop)
    server.keepAliveTimeout = 30_000
    try {
      server.listen({ host, port })
      await once(server, 'listening')
    } catch (err) {
      server.close()
      throw new MetricsServerError(host, port, err)
    }
    const bound = server.address() as AddressInfo
    const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
    this.#server = server
    this.#address = { host: bound.address, port: bound.port, url: `http://${shownHost}:${bound.port}${path}` }
  }

  /** Stops listening and cuts open connections, so no handle outlives the swarm. Idempotent. */
  async stop (): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    this.#address = undefined
    const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
    // close() waits for keep-alive connections to go idle and time out; a scraper's connection never goes away
    server.closeAllConnections()
    await closed
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (path !== this.#options.path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: metrics are at ${this.#options.path}\n`)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
      return
    }
    this.#registry.metrics().then(text => {
      res.writeHead(200, { 'content-type': this.#registry.contentType })
      res.end(req.method === 'HEAD' ? undefined : text)
    }, (err: unknown) => {
      // a collector threw: say so to the scraper rather than serving a partial page
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`collecting metrics failed: ${describe(err)}\n`)
    })
  }
}

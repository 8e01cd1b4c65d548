/**
 * The two Redis commands the transport-interop contract needs (RPUSH, BLPOP), over one RESP connection. Small on
 * purpose: the test app should depend on nothing a libp2p test runner does not already have.
 */
import { createConnection } from 'node:net'
import { SwarmError } from '@tswarm/core'
import type { Socket } from 'node:net'

type Reply = string | number | null | Reply[]

/** A Redis server could not be reached, answered with an error, or did not answer in time. */
export class RedisError extends SwarmError {
  override readonly name: string = 'RedisError'
}

export class RedisClient {
  readonly #socket: Socket
  #buffer = Buffer.alloc(0)
  readonly #waiting: Array<{ resolve: (r: Reply) => void, reject: (e: Error) => void }> = []
  #failed?: Error

  private constructor (socket: Socket) {
    this.#socket = socket
    socket.on('data', (data: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, data])
      this.#drain()
    })
    const fail = (err: Error): void => {
      this.#failed = err
      for (const w of this.#waiting.splice(0)) w.reject(err)
    }
    socket.on('error', err => { fail(new RedisError(`redis connection failed: ${err.message}`, { cause: err })) })
    socket.on('close', () => { fail(new RedisError('redis closed the connection')) })
  }

  /** Connects to `host:port` (IPv6 literals in brackets), failing after `timeoutMs`. */
  static async connect (addr: string, timeoutMs: number): Promise<RedisClient> {
    const match = /^\[?(.+?)\]?:(\d+)$/.exec(addr)
    if (match === null) throw new RedisError(`redis address "${addr}" is not host:port`)
    const socket = createConnection({ host: match[1], port: Number(match[2]) })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new RedisError(`could not reach redis at ${addr} within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => { clearTimeout(timer); resolve() })
      socket.once('error', err => { clearTimeout(timer); reject(new RedisError(`could not reach redis at ${addr}: ${err.message}`, { cause: err })) })
    })
    return new RedisClient(socket)
  }

  async rpush (key: string, value: string): Promise<void> {
    await this.#command(['RPUSH', key, value])
  }

  /** BLPOP with a timeout in seconds; resolves with the value, or rejects when none came in time. */
  async blpop (key: string, timeoutSeconds: number): Promise<string> {
    const reply = await this.#command(['BLPOP', key, String(timeoutSeconds)])
    if (!Array.isArray(reply) || typeof reply[1] !== 'string') throw new RedisError(`nothing arrived under ${key} within ${timeoutSeconds} s`)
    return reply[1]
  }

  close (): void {
    this.#socket.destroy()
  }

  async #command (args: string[]): Promise<Reply> {
    if (this.#failed !== undefined) throw this.#failed
    const encoded = `*${args.length}\r\n${args.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`
    const reply = new Promise<Reply>((resolve, reject) => { this.#waiting.push({ resolve, reject }) })
    this.#socket.write(encoded)
    return reply
  }

  #drain (): void {
    for (;;) {
      const parsed = parse(this.#buffer, 0)
      if (parsed === undefined) return
      this.#buffer = this.#buffer.subarray(parsed.end)
      const waiter = this.#waiting.shift()
      if (waiter === undefined) continue
      if (parsed.error !== undefined) waiter.reject(new RedisError(`redis: ${parsed.error}`))
      else waiter.resolve(parsed.value)
    }
  }
}

/** Parses one RESP value at `offset`; undefined while it is incomplete. */
function parse (buf: Buffer, offset: number): { value: Reply, end: number, error?: string } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset)
  if (lineEnd < 0) return undefined
  const type = String.fromCharCode(buf[offset])
  const line = buf.toString('utf8', offset + 1, lineEnd)
  const next = lineEnd + 2
  switch (type) {
    case '+': return { value: line, end: next }
    case '-': return { value: null, end: next, error: line }
    case ':': return { value: Number(line), end: next }
    case '$': {
      const length = Number(line)
      if (length < 0) return { value: null, end: next }
      if (buf.length < next + length + 2) return undefined
      return { value: buf.toString('utf8', next, next + length), end: next + length + 2 }
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return { value: null, end: next }
      const items: Reply[] = []
      let at = next
      for (let i = 0; i < count; i++) {
        const item = parse(buf, at)
        if (item === undefined) return undefined
        items.push(item.value)
        at = item.end
      }
      return { value: items, end: at }
    }
    default:
      throw new RedisError(`unexpected RESP type byte ${JSON.stringify(type)}`)
  }
}

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createConnection, createServer } from 'node:net'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { assembleSwarm } from '@tswarm/core'
import { Uint8ArrayList } from 'uint8arraylist'
import { coalesceWrites } from '../src/coalesce.js'
import { createTcpTransport, tcp } from '../src/index.js'
import type { MultiaddrConnection } from '@libp2p/interface'
import type { AddressInfo, Server, Socket } from 'node:net'

interface Probe {
  conn: MultiaddrConnection & { sendData: (data: Uint8ArrayList) => { sentBytes: number, canSendMore: boolean } }
  socket: Socket
  /** Chunks per call the socket made to the kernel: one entry per write or writev. */
  calls: number[]
  received: Promise<Buffer>
  server: Server
}

/** A connected socket pair on loopback, and a stand-in for @libp2p/tcp's connection: one socket.write per piece. */
async function probe (expectBytes: number): Promise<Probe> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const received = new Promise<Buffer>((resolve, reject) => {
    server.once('connection', (s: Socket) => {
      const parts: Buffer[] = []
      let n = 0
      s.on('data', (b: Buffer) => {
        parts.push(b)
        n += b.byteLength
        if (n >= expectBytes) { resolve(Buffer.concat(parts)); s.destroy() }
      })
      s.on('error', reject)
    })
  })
  const socket = createConnection((server.address() as AddressInfo).port, '127.0.0.1')
  await once(socket, 'connect')
  const calls: number[] = []
  const raw = socket as Socket & { _write: Socket['_write'], _writev?: Socket['_writev'] }
  const write = raw._write.bind(raw)
  const writev = raw._writev?.bind(raw)
  raw._write = (chunk, enc, cb) => { calls.push(1); write(chunk, enc, cb) }
  raw._writev = (chunks, cb) => { calls.push(chunks.length); writev?.(chunks, cb) }
  const conn = {
    socket,
    sendData (data: Uint8ArrayList) {
      let canSendMore = true
      for (const buf of data) canSendMore = socket.write(buf)
      return { sentBytes: data.byteLength, canSendMore }
    }
  } as unknown as Probe['conn']
  return { conn, socket, calls, received, server }
}

function piece (byte: number, size: number): Uint8Array {
  return new Uint8Array(size).fill(byte)
}

describe('coalesceWrites', () => {
  it('sends everything written in one turn of the event loop with a single system call, in order', async () => {
    const p = await probe(3 * (2 + 100))
    coalesceWrites(p.conn)
    for (let i = 0; i < 3; i++) p.conn.sendData(new Uint8ArrayList(piece(i, 2), piece(i + 10, 100)))
    assert.deepEqual(p.calls, [], 'nothing may reach the kernel before the turn ends')
    const got = await p.received
    assert.deepEqual(p.calls, [6])
    const expected = Buffer.concat([0, 1, 2].map(i => Buffer.concat([piece(i, 2), piece(i + 10, 100)])))
    assert.ok(got.equals(expected))
    p.socket.destroy()
    p.server.close()
  })

  it('starts a new batch on the next turn', async () => {
    const p = await probe(4)
    coalesceWrites(p.conn)
    p.conn.sendData(new Uint8ArrayList(piece(1, 1), piece(2, 1)))
    await new Promise(resolve => setImmediate(resolve))
    p.conn.sendData(new Uint8ArrayList(piece(3, 1), piece(4, 1)))
    const got = await p.received
    assert.deepEqual(p.calls, [2, 2])
    assert.deepEqual([...got], [1, 2, 3, 4])
    p.socket.destroy()
    p.server.close()
  })

  it('leaves a connection without a socket alone', () => {
    const sendData = (): { sentBytes: number, canSendMore: boolean } => ({ sentBytes: 0, canSendMore: true })
    const conn = { sendData } as unknown as MultiaddrConnection & { sendData: typeof sendData }
    coalesceWrites(conn)
    assert.equal(conn.sendData, sendData)
  })
})

describe('tcp sockets', () => {
  it('give every socket, dialed or accepted, a 1 MiB write mark, so a 64 KiB frame does not report a full socket', async () => {
    const { container, swarm } = await assembleSwarm({ modules: [tcp()] })
    const transport = createTcpTransport({}, container)
    const marks: Record<string, number> = {}
    const held: MultiaddrConnection[] = []
    const accepted = Promise.withResolvers<void>()
    const mark = (side: 'dialed' | 'accepted', maConn: MultiaddrConnection): void => {
      marks[side] = (maConn as MultiaddrConnection & { socket: Socket }).socket.writableHighWaterMark
      held.push(maConn)
    }
    // an upgrader that only looks at the raw connections: the dialer's gives up, the listener's holds until the end
    const upgrader = {
      async upgradeOutbound (maConn: MultiaddrConnection): Promise<never> {
        mark('dialed', maConn)
        throw new Error('test: looked at it')
      },
      async upgradeInbound (maConn: MultiaddrConnection): Promise<never> {
        mark('accepted', maConn)
        accepted.resolve()
        return await new Promise<never>(() => {})
      },
      async adoptSecured (): Promise<never> { throw new Error('not used by TCP') }
    }
    const listener = await transport.listen(multiaddr('/ip4/127.0.0.1/tcp/0'), { upgrader, onConnection: () => {} })
    await assert.rejects(transport.dial(listener.getAddrs()[0], { signal: AbortSignal.timeout(5000), upgrader }), /test: looked at it/)
    await accepted.promise
    assert.deepEqual(marks, { dialed: 1024 * 1024, accepted: 1024 * 1024 })
    for (const c of held) c.abort(new Error('test over'))
    await listener.close()
    await swarm.close()
  })
})

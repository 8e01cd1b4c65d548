import assert from 'node:assert/strict'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterEach, describe, it } from 'node:test'
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { handle, select } from '@libp2p/multistream-select'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { SystemClock } from '../../src/clock.js'
import { SwarmStream } from '../../src/swarm/stream.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import type { Clock } from '../../src/interfaces/clock.js'
import type { Conn } from '../../src/interfaces/connection.js'
import type { Reporter } from '../../src/interfaces/reporter.js'
import type { MuxedStream } from '../../src/interfaces/transport.js'
import type { PeerId } from '@libp2p/interface'

const PROTOCOL = '/test/1.0.0'
const MiB = 1024 * 1024

const peerA = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const peerB = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

/** A Conn test double: the stream only reads `remotePeer`. */
function fakeConn (id: string, localPeer: PeerId, remotePeer: PeerId): Conn {
  const remotePublicKey = remotePeer.publicKey
  assert.ok(remotePublicKey !== undefined)
  return {
    id,
    localPeer,
    remotePeer,
    remotePublicKey,
    localMultiaddr: undefined,
    remoteMultiaddr: multiaddr('/ip4/127.0.0.1/tcp/4001'),
    status: 'open',
    stat: () => ({ direction: 'outbound', opened: 0, numStreams: 0, transport: 'memory', security: 'none', muxer: '/yamux/1.0.0' }),
    newStream: async () => { throw new Error('not supported by the test double') },
    getStreams: () => [],
    close: async () => {}
  }
}

class RecordingReporter implements Reporter {
  sent = 0
  recv = 0
  readonly sentByStream = new Map<string, number>()
  readonly recvByStream = new Map<string, number>()

  logSentMessage (size: number): void { this.sent += size }
  logRecvMessage (size: number): void { this.recv += size }
  logSentMessageStream (size: number, protocol: string, peer: PeerId): void { add(this.sentByStream, `${protocol} ${peer.toString()}`, size) }
  logRecvMessageStream (size: number, protocol: string, peer: PeerId): void { add(this.recvByStream, `${protocol} ${peer.toString()}`, size) }
}

function add (map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n)
}

interface SetupOptions {
  clock?: Clock
  highWaterA?: number
  highWaterB?: number
  writeHighWaterA?: number | (() => number)
  /** `null`: make the streams raw, before any negotiation. */
  protocol?: string | null
}

interface Env {
  a: SwarmStream
  b: SwarmStream
  innerA: MuxedStream
  innerB: MuxedStream
  reporterA: RecordingReporter
  reporterB: RecordingReporter
  ended: { a: number, b: number }
  /** Another stream pair on the same connection; `ended` does not count these. */
  streamPair(): Promise<[SwarmStream, SwarmStream]>
  /** Closes the connection (both ends). */
  close(): Promise<void>
}

/** Every Env not closed yet: a failed test leaves its connection open, and an open connection keeps the run alive. */
const live = new Set<Env>()

/** Two yamux muxers over an in-memory connection, and a swarm stream on each end of one muxed stream. */
async function setup (opts: SetupOptions = {}): Promise<Env> {
  const [connA, connB] = multiaddrConnectionPair()
  const factory = yamux()()
  const muxA = factory.createStreamMuxer(connA)
  const muxB = factory.createStreamMuxer(connB)
  const clock = opts.clock ?? new SystemClock()
  const reporterA = new RecordingReporter()
  const reporterB = new RecordingReporter()
  const ended = { a: 0, b: 0 }
  let n = 0

  async function innerPair (): Promise<[MuxedStream, MuxedStream]> {
    const inbound = new Promise<MuxedStream>(resolve => {
      muxB.addEventListener('stream', evt => { resolve(evt.detail) }, { once: true })
    })
    const outbound = await muxA.createStream()
    return [outbound, await inbound]
  }

  function wrap (inner: MuxedStream, side: 'a' | 'b', protocol: string | undefined, highWater?: number, counted = true,
    writeHighWater?: number | (() => number)): SwarmStream {
    return new SwarmStream({
      inner,
      conn: side === 'a' ? fakeConn('1', peerA, peerB) : fakeConn('1', peerB, peerA),
      id: `${side}-${n++}`,
      direction: side === 'a' ? 'outbound' : 'inbound',
      reporter: side === 'a' ? reporterA : reporterB,
      clock,
      protocol,
      readBufferHighWater: highWater,
      writeBufferHighWater: writeHighWater,
      onEnd: () => { if (counted) ended[side]++ }
    })
  }

  const [innerA, innerB] = await innerPair()
  const protocol = opts.protocol === null ? undefined : opts.protocol ?? PROTOCOL
  const env: Env = {
    a: wrap(innerA, 'a', protocol, opts.highWaterA, true, opts.writeHighWaterA),
    b: wrap(innerB, 'b', protocol, opts.highWaterB),
    innerA,
    innerB,
    reporterA,
    reporterB,
    ended,
    streamPair: async () => {
      const [x, y] = await innerPair()
      return [wrap(x, 'a', '/other', undefined, false), wrap(y, 'b', '/other', undefined, false)]
    },
    close: async () => {
      live.delete(env)
      // one end's close closes the other: closing both at once would reject the second with the close event
      await connA.close()
      await connB.close()
      assert.equal(muxA.status, 'closed')
      assert.equal(muxB.status, 'closed')
    }
  }
  live.add(env)
  return env
}

async function readAll (stream: SwarmStream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** Reads until `n` bytes have arrived; returns them. */
async function readBytes (stream: SwarmStream, n: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let got = 0
  while (got < n) {
    const chunk = await stream.read()
    assert.ok(chunk !== null, `end of stream after ${got}/${n} bytes`)
    chunks.push(chunk)
    got += chunk.byteLength
  }
  return Buffer.concat(chunks)
}

async function sha256 (stream: SwarmStream): Promise<{ hash: string, size: number }> {
  const h = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    h.update(chunk)
    size += chunk.byteLength
  }
  return { hash: h.digest('hex'), size }
}

function randomChunks (total: number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let left = total; left > 0;) {
    const size = Math.min(left, randomInt(1, maxChunk + 1))
    chunks.push(randomBytes(size))
    left -= size
  }
  return chunks
}

function hashOf (chunks: Uint8Array[]): string {
  const h = createHash('sha256')
  for (const c of chunks) h.update(c)
  return h.digest('hex')
}

async function writeAll (stream: SwarmStream, chunks: Uint8Array[]): Promise<void> {
  for (const c of chunks) await stream.write(c)
  await stream.closeWrite()
}

/**
 * Ping-pongs `n` times on a fresh stream of the same connection. Frames on one connection arrive in order, so after
 * this every frame either side sent before has been handled: the connection has settled, without timing assumptions.
 */
async function settle (env: Env, n = 3): Promise<void> {
  const [p, q] = await env.streamPair()
  for (let i = 0; i < n; i++) {
    await p.write('ping')
    assert.equal(Buffer.from(await readBytes(q, 4)).toString(), 'ping')
    await q.write('pong')
    assert.equal(Buffer.from(await readBytes(p, 4)).toString(), 'pong')
  }
  await Promise.all([p.close(), q.close()])
}

function track (p: Promise<unknown>): { settled: boolean } {
  const state = { settled: false }
  p.then(() => { state.settled = true }, () => { state.settled = true })
  return state
}

const text = (bytes: Uint8Array | null): string | null => bytes === null ? null : Buffer.from(bytes).toString()

describe('SwarmStream', () => {
  afterEach(async () => {
    for (const env of live) await env.close()
  })

  it('echoes many chunks', async () => {
    const env = await setup()
    const { a, b } = env
    const chunks = randomChunks(2 * MiB, 4096)
    const echo = (async () => {
      for await (const chunk of b) await b.write(chunk)
      await b.closeWrite()
    })()
    const [, back] = await Promise.all([writeAll(a, chunks), sha256(a), echo])
    assert.equal(back.size, 2 * MiB)
    assert.equal(back.hash, hashOf(chunks))
    assert.ok(chunks.length > 500)
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    assert.equal(a.status, 'closed')
    assert.equal(b.status, 'closed')
    await env.close()
  })

  it('moves 8 MiB both ways at once intact', async () => {
    const env = await setup()
    const { a, b } = env
    const fromA = randomChunks(8 * MiB, 200_000)
    const fromB = randomChunks(8 * MiB, 200_000)
    const [, , atB, atA] = await Promise.all([writeAll(a, fromA), writeAll(b, fromB), sha256(b), sha256(a)])
    assert.deepEqual(atB, { hash: hashOf(fromA), size: 8 * MiB })
    assert.deepEqual(atA, { hash: hashOf(fromB), size: 8 * MiB })
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  it('holds a writer while the reader does not read, and releases it when the reader reads', async () => {
    // B never calls read() before the check: the stream reads (and pauses) on its own once a protocol is set
    const env = await setup({ highWaterB: 64 * 1024 })
    const { a, b } = env
    const data = randomBytes(4 * MiB)
    const write = a.write(data)
    const state = track(write)
    await settle(env)
    assert.equal(state.settled, false, 'the write completed although nobody read')
    assert.ok(env.reporterB.recv < MiB, `B took ${env.reporterB.recv} bytes without reading`)
    const got = readBytes(b, data.byteLength)
    await write
    assert.ok(Buffer.from(await got).equals(data))
    await a.closeWrite()
    assert.equal(await b.read(), null)
    await b.closeWrite()
    assert.equal(await a.read(), null)
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  /** Writes 64 KiB chunks from A (B reads nothing) until one waits; returns them, and the write that waits. */
  async function writeUntilHeld (env: Env): Promise<{ written: Buffer[], blocked: Promise<void> }> {
    const chunk = randomBytes(64 * 1024)
    const written: Buffer[] = []
    for (let i = 0; i < 40; i++) {
      const write = env.a.write(chunk)
      written.push(chunk)
      const state = track(write)
      await settle(env)
      if (!state.settled) return { written, blocked: write }
    }
    throw new Error('40 writes of 64 KiB went through to a stream nobody reads')
  }

  it('lets writes run ahead while the muxer holds less than the write high-water mark, then holds the writer', async () => {
    // B reads nothing and its read mark is small, so A's window (256 KiB) runs out and A's muxer starts holding bytes
    const env = await setup({ highWaterB: 16 * 1024 })
    const { written, blocked } = await writeUntilHeld(env)
    // 256 KiB of window, then 1 MiB held: the 20th write is the first to wait (with no mark, the 5th would)
    assert.equal(written.length, 20)
    const got = readBytes(env.b, written.length * 64 * 1024)
    await blocked
    assert.ok(Buffer.from(await got).equals(Buffer.concat(written)))
    await env.close()
  })

  it('reads a high-water mark given as a function at every write', async () => {
    let mark = 1024 * 1024
    const env = await setup({ highWaterB: 16 * 1024, writeHighWaterA: () => mark })
    // lowered after the stream was made: a mark read once at construction would still let 20 writes through
    mark = 256 * 1024
    const { written, blocked } = await writeUntilHeld(env)
    assert.equal(written.length, 8)
    const got = readBytes(env.b, written.length * 64 * 1024)
    await blocked
    assert.ok(Buffer.from(await got).equals(Buffer.concat(written)))
    await env.close()
  })

  it('half-closes: the remote reads end of stream and can still write back', async () => {
    const env = await setup()
    const { a, b } = env
    await a.write('ping')
    await a.closeWrite()
    assert.equal(a.status, 'closing')
    await assert.rejects(a.write('more'), { name: 'StreamClosedError' })
    assert.equal(text(await readBytes(b, 4)), 'ping')
    assert.equal(await b.read(), null)
    assert.equal(await b.read(), null, 'end of stream stays end of stream')
    await b.write('pong')
    assert.equal(text(await a.read()), 'pong')
    assert.deepEqual(env.ended, { a: 0, b: 0 })
    await b.closeWrite()
    assert.equal(await a.read(), null)
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await a.closeWrite()
    await env.close()
  })

  it('closeRead drops what arrives, ends reads, and does not leave the remote writer stuck', async () => {
    const env = await setup({ highWaterB: 16 * 1024 })
    const { a, b } = env
    const pendingRead = b.read()
    await a.write('first')
    assert.equal(text(await pendingRead), 'first')
    // 2 MiB is far beyond B's window and buffer: the write can only finish if B keeps granting window after closeRead
    const write = a.write(randomBytes(2 * MiB))
    const state = track(write)
    await settle(env)
    assert.equal(state.settled, false)
    const waiting = b.read()
    await b.closeRead()
    assert.equal(await b.read(), null)
    await write
    assert.notEqual(await waiting, null, 'a read started before closeRead may still get data')
    await a.closeWrite()
    await b.write('still writable')
    assert.equal(text(await readBytes(a, 14)), 'still writable')
    await b.closeWrite()
    assert.equal(await a.read(), null)
    // A's end of stream travels A to B, independently of B's that A has just read
    await settle(env)
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  it('still delivers what the inner stream buffered while paused after the stream has ended', async () => {
    const env = await setup({ highWaterB: 16 * 1024 })
    const { a, b } = env
    // fits in the initial yamux window, so A can flush and send its end of stream while B is paused; sent as several
    // frames, so that B pauses after the first ones and the rest waits inside the inner stream
    const chunks = Array.from({ length: 20 }, () => randomBytes(10 * 1024))
    const data = Buffer.concat(chunks)
    await writeAll(a, chunks)
    await settle(env)
    await b.closeWrite()
    assert.equal(env.ended.b, 1, 'B ended with unread data inside the paused inner stream')
    assert.equal(b.status, 'closed')
    assert.ok(env.innerB.readBufferLength > 0, 'the test needs bytes left inside the inner stream')
    assert.ok(Buffer.from(await readAll(b)).equals(data))
    assert.equal(await b.read(), null)
    await settle(env)
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  it('reset by us fails pending and later operations on both ends', async () => {
    const env = await setup()
    const { a, b } = env
    const pendingA = a.read()
    const pendingB = b.read()
    a.reset()
    await assert.rejects(pendingA, { name: 'StreamResetError', message: /by local/ })
    await assert.rejects(pendingB, { name: 'StreamResetError', message: /by remote/ })
    await assert.rejects(a.read(), { name: 'StreamResetError' })
    await assert.rejects(a.write('x'), { name: 'StreamResetError', message: /by local/ })
    await assert.rejects(b.write('x'), { name: 'StreamResetError', message: /by remote/ })
    assert.equal(a.status, 'reset')
    assert.equal(b.status, 'reset')
    a.reset()
    b.reset(new Error('again'))
    await a.close()
    await a.closeWrite()
    await a.closeRead()
    await b.close()
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  it('reset by the remote fails a blocked write and a pending read', async () => {
    const env = await setup({ highWaterB: 16 * 1024 })
    const { a, b } = env
    const write = a.write(randomBytes(2 * MiB))
    const read = a.read()
    await settle(env)
    b.reset(new Error('go away'))
    await assert.rejects(write, { name: 'StreamResetError', message: /by remote/ })
    await assert.rejects(read, { name: 'StreamResetError', message: /by remote/ })
    await assert.rejects(b.read(), { name: 'StreamResetError', message: /by local/ })
    assert.equal(a.status, 'reset')
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  it('rejects writes after close, and close is idempotent', async () => {
    const env = await setup()
    const { a, b } = env
    await a.close()
    await a.close()
    await assert.rejects(a.write('x'), { name: 'StreamClosedError' })
    await assert.rejects(a.write(new Uint8Array(0)), { name: 'StreamClosedError' })
    assert.equal(await a.read(), null, 'close() closes the read side too')
    assert.equal(await b.read(), null)
    await b.write('dropped by a')
    await b.close()
    await settle(env)
    assert.equal(a.status, 'closed')
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await a.close()
    await env.close()
  })

  it('read deadline: fails a pending read when it passes, then a cleared deadline reads again', async () => {
    const clock = new ManualClock()
    const env = await setup({ clock })
    const { a, b } = env
    a.setReadDeadline(clock.now() + 1000)
    const read = a.read()
    const state = track(read)
    assert.equal(clock.pendingTimers, 1)
    clock.advance(999)
    await nextMacrotask()
    assert.equal(state.settled, false)
    clock.advance(1)
    await assert.rejects(read, { name: 'DeadlineExceededError' })
    assert.equal(clock.pendingTimers, 0)
    await assert.rejects(a.read(), { name: 'DeadlineExceededError' }, 'a passed deadline fails later reads at once')
    a.setReadDeadline(null)
    await b.write('late')
    assert.equal(text(await a.read()), 'late')

    // a deadline moved into the past fails a waiting read at once; the data that comes later is not lost
    const waiting = a.read()
    a.setReadDeadline(new Date(clock.now() - 1))
    await assert.rejects(waiting, { name: 'DeadlineExceededError' })
    await b.write('kept')
    await settle(env)
    await assert.rejects(a.read(), { name: 'DeadlineExceededError' }, 'queued data does not beat a passed deadline')
    a.setDeadline(clock.now() + 10)
    assert.equal(text(await a.read()), 'kept')
    assert.equal(clock.pendingTimers, 0, 'no timer without a waiting read')
    await Promise.all([a.close(), b.close()])
    assert.equal(clock.pendingTimers, 0)
    await env.close()
  })

  it('write deadline: fails a blocked write when it passes, and the stream writes again after', async () => {
    const clock = new ManualClock()
    const env = await setup({ clock, highWaterB: 16 * 1024 })
    const { a, b } = env
    a.setWriteDeadline(clock.now() + 500)
    const data = randomBytes(2 * MiB)
    const write = a.write(data)
    assert.equal(clock.pendingTimers, 1)
    clock.advance(500)
    await assert.rejects(write, { name: 'DeadlineExceededError', message: /write/ })
    assert.equal(clock.pendingTimers, 0)
    await assert.rejects(a.write('x'), { name: 'DeadlineExceededError' })
    a.setWriteDeadline(null)
    // the bytes of the timed-out write were queued already and still arrive, in order
    const got = readBytes(b, data.byteLength + 5)
    await a.write('after')
    const all = Buffer.from(await got)
    assert.ok(all.subarray(0, data.byteLength).equals(data))
    assert.equal(all.subarray(data.byteLength).toString(), 'after')
    await Promise.all([a.close(), b.close()])
    assert.equal(clock.pendingTimers, 0)
    await env.close()
  })

  it('reports exact byte counts both ways with the protocol and the remote peer', async () => {
    const env = await setup()
    const { a, b } = env
    const payload = ['hello', randomBytes(1000), randomBytes(70_000), '', 'héllo']
    const total = 5 + 1000 + 70_000 + 0 + Buffer.byteLength('héllo')
    const echo = (async () => {
      for await (const chunk of b) await b.write(chunk)
      await b.closeWrite()
    })()
    const send = (async () => {
      for (const p of payload) await a.write(p)
      await a.closeWrite()
    })()
    const [, back] = await Promise.all([send, readAll(a), echo])
    assert.equal(back.byteLength, total)
    for (const [r, remote] of [[env.reporterA, peerB], [env.reporterB, peerA]] as const) {
      assert.equal(r.sent, total)
      assert.equal(r.recv, total)
      assert.deepEqual([...r.sentByStream], [[`${PROTOCOL} ${remote.toString()}`, total]])
      assert.deepEqual([...r.recvByStream], [[`${PROTOCOL} ${remote.toString()}`, total]])
    }
    await env.close()
  })

  it('works as a Node.js Duplex through stream.pipeline', async () => {
    const env = await setup()
    const { a, b } = env
    assert.equal(a.toDuplex(), a.toDuplex())
    const chunks = randomChunks(MiB, 10_000)
    const received: Buffer[] = []
    const echo = pipeline(b.toDuplex(), b.toDuplex())
    await pipeline(
      Readable.from(chunks),
      a.toDuplex(),
      new Writable({
        write (chunk: Buffer, _encoding, callback) {
          received.push(chunk)
          callback()
        }
      })
    )
    await echo
    assert.equal(hashOf(received), hashOf(chunks))
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  it('destroying the Duplex with an error resets the stream', async () => {
    const env = await setup()
    const { a, b } = env
    const duplex = a.toDuplex()
    duplex.on('error', () => {})
    duplex.destroy(new Error('boom'))
    await assert.rejects(b.read(), { name: 'StreamResetError', message: /by remote/ })
    assert.equal(a.status, 'reset')
    await env.close()
  })

  it('calls onEnd exactly once', async () => {
    const env = await setup()
    const { a, b } = env
    await a.closeWrite()
    assert.equal(await b.read(), null)
    assert.deepEqual(env.ended, { a: 0, b: 0 })
    await b.close()
    assert.equal(await a.read(), null)
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    a.reset()
    b.reset()
    await a.close()
    await env.close()
    assert.deepEqual(env.ended, { a: 1, b: 1 })
  })

  it('leaving a for-await loop early does not close the stream', async () => {
    const env = await setup()
    const { a, b } = env
    for (const word of ['one', 'two', 'three']) await b.write(word)
    await b.closeWrite()
    let first = ''
    for await (const chunk of a) {
      first = Buffer.from(chunk).toString()
      break
    }
    assert.equal(a.status, 'open')
    const rest = Buffer.from(await readAll(a)).toString()
    assert.equal(first + rest, 'onetwothree')
    assert.ok(first.length > 0)
    await a.write('still open')
    assert.equal(text(await readBytes(b, 10)), 'still open')
    await a.closeWrite()
    await settle(env)
    assert.deepEqual(env.ended, { a: 1, b: 1 })
    await env.close()
  })

  it('serves concurrent reads in order without losing data', async () => {
    const env = await setup()
    const { a, b } = env
    const reads = [a.read(), a.read(), a.read()]
    await b.write('x')
    await b.write('y')
    await b.closeWrite()
    const got = await Promise.all(reads)
    assert.ok(got[0] !== null)
    const joined = got.map(c => text(c) ?? '').join('') + Buffer.from(await readAll(a)).toString()
    assert.equal(joined, 'xy')
    await a.closeWrite()
    await env.close()
  })

  it('a read aborted by its signal leaves the stream usable', async () => {
    const env = await setup()
    const { a, b } = env
    const controller = new AbortController()
    const read = a.read({ signal: controller.signal })
    const reason = new Error('stop waiting')
    controller.abort(reason)
    await assert.rejects(read, reason)
    await b.write('z')
    assert.equal(text(await a.read()), 'z')
    await assert.rejects(a.read({ signal: AbortSignal.abort(reason) }), reason)
    await Promise.all([a.close(), b.close()])
    await env.close()
  })

  it('starts reading only when negotiation is over, so multistream-select runs undisturbed on the muxed stream', async () => {
    const env = await setup({ protocol: null })
    const { a, b } = env
    const dialer = (async () => {
      const protocol = await select(env.innerA, ['/nope/1.0.0', '/echo/1.0.0'])
      a.setProtocol(protocol)
      // written at once, so it may reach B inside the bytes multistream-select reads ahead
      await a.write('hello')
      await a.closeWrite()
    })()
    const protocol = await handle(env.innerB, ['/echo/1.0.0'])
    b.setProtocol(protocol)
    await dialer
    assert.equal(a.protocol, '/echo/1.0.0')
    assert.deepEqual(b.stat(), { direction: 'inbound', opened: b.stat().opened, protocol: '/echo/1.0.0' })
    assert.equal(text(await readBytes(b, 5)), 'hello')
    assert.equal(await b.read(), null)
    assert.equal(env.reporterB.recv, 5, 'the negotiation bytes were not taken by the swarm stream')
    assert.deepEqual([...env.reporterB.recvByStream], [[`/echo/1.0.0 ${peerA.toString()}`, 5]])
    await b.closeWrite()
    await env.close()
  })

  it('fails reads and writes with ConnectionClosedError when the connection goes away', async () => {
    const env = await setup()
    const { a, b } = env
    const read = assert.rejects(b.read(), { name: 'ConnectionClosedError' })
    await env.close()
    await read
    await assert.rejects(a.write('x'), { name: 'ConnectionClosedError' })
    await a.close()
    assert.equal(a.status, 'closed')
    assert.deepEqual(env.ended, { a: 1, b: 1 })
  })

  it('refuses a bad high-water mark and a bad deadline', async () => {
    const env = await setup()
    assert.throws(() => new SwarmStream({
      inner: env.innerA,
      conn: fakeConn('1', peerA, peerB),
      id: 'x',
      direction: 'outbound',
      reporter: new RecordingReporter(),
      clock: new SystemClock(),
      onEnd: () => {},
      readBufferHighWater: -1
    }), { name: 'InvalidOptionError' })
    assert.throws(() => new SwarmStream({
      inner: env.innerA,
      conn: fakeConn('1', peerA, peerB),
      id: 'y',
      direction: 'outbound',
      reporter: new RecordingReporter(),
      clock: new SystemClock(),
      onEnd: () => {},
      writeBufferHighWater: Number.POSITIVE_INFINITY
    }), { name: 'InvalidOptionError', message: /writeBufferHighWater/ })
    assert.throws(() => { env.a.setDeadline(Number.NaN) }, { name: 'InvalidOptionError' })
    await env.close()
  })
})

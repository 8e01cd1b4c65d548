import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, createSwarm, errorIs, generateIdentity, peerIdOf } from '@tswarm/core'
import { echoHandler, introduce, readAll, waitFor } from '@tswarm/core/testing'
import { QUIC_DEFAULTS, quic } from '../src/index.js'
import type { QuicOptions } from '../src/index.js'
import type { Stream, Swarm } from '@tswarm/core'

const ECHO = '/echo/1.0.0'
const SINK = '/sink/1.0.0'
const MiB = 1024 * 1024
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function writeAll (stream: Stream, payload: Uint8Array, chunk = 64 * 1024, onWritten?: (bytes: number) => void): Promise<void> {
  for (let off = 0; off < payload.byteLength; off += chunk) {
    await stream.write(payload.subarray(off, off + chunk))
    onWritten?.(Math.min(off + chunk, payload.byteLength))
  }
}

/** Writes small chunks until a write fails; the error and how long it took, or undefined if none failed in time. */
async function writeUntilFailure (stream: Stream, limitMs: number): Promise<{ err: unknown, ms: number } | undefined> {
  const start = Date.now()
  while (Date.now() - start < limitMs) {
    try {
      await stream.write('more')
    } catch (err) {
      return { err, ms: Date.now() - start }
    }
    await sleep(5)
  }
  return undefined
}

describe('quic streams', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
  const pair = async (options: QuicOptions = {}): Promise<[Swarm, Swarm]> => {
    const [a, b] = await Promise.all([0, 1].map(async () => createSwarm({ modules: [quic(options)], listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] })))
    swarms.push(a, b)
    introduce(a, b)
    return [a, b]
  }

  it('holds a writer back while the reader is slow: 32 MiB intact, the writer at most maxStreamData + 4 MiB ahead', async t => {
    const [a, b] = await pair()
    const payload = randomBytes(32 * MiB)
    let written = 0
    let aheadWhenReadingStarted = -1
    const received = new Promise<Uint8Array>((resolve, reject) => {
      b.setStreamHandler(async stream => {
        try {
          await b.negotiateInbound(stream, [SINK])
          await sleep(1_000)
          aheadWhenReadingStarted = written
          resolve(await readAll(stream))
        } catch (err) {
          reject(err)
        }
      })
    })
    const stream = await a.newStream(b.localPeer, { protocols: [SINK] })
    await writeAll(stream, payload, 64 * 1024, n => { written = n })
    await stream.closeWrite()
    const data = await received
    t.diagnostic(`bytes written before the reader started: ${aheadWhenReadingStarted} (maxStreamData ${QUIC_DEFAULTS.maxStreamData})`)
    assert.equal(data.byteLength, payload.byteLength)
    assert.equal(sha(data), sha(payload))
    assert.ok(aheadWhenReadingStarted > 0)
    assert.ok(aheadWhenReadingStarted <= QUIC_DEFAULTS.maxStreamData + 4 * MiB,
      `the writer was ${aheadWhenReadingStarted} bytes ahead of a reader that had not started`)
  })

  it('bounds the writer by maxStreamData when it is set lower', async t => {
    const maxStreamData = 1_000_000
    const [a, b] = await pair({ maxStreamData })
    const payload = randomBytes(16 * MiB)
    let written = 0
    let ahead = -1
    const received = new Promise<Uint8Array>((resolve, reject) => {
      b.setStreamHandler(async stream => {
        try {
          await b.negotiateInbound(stream, [SINK])
          await sleep(500)
          ahead = written
          resolve(await readAll(stream))
        } catch (err) {
          reject(err)
        }
      })
    })
    const stream = await a.newStream(b.localPeer, { protocols: [SINK] })
    await writeAll(stream, payload, 64 * 1024, n => { written = n })
    await stream.closeWrite()
    assert.equal(sha(await received), sha(payload))
    t.diagnostic(`bytes written before the reader started: ${ahead} (maxStreamData ${maxStreamData})`)
    assert.ok(ahead > 0 && ahead <= maxStreamData + 4 * MiB, `the writer was ${ahead} bytes ahead`)
  })

  it('holds the remote back on a stream nobody reads yet, instead of overflowing and resetting it', async () => {
    const [a, b] = await pair()
    const payload = randomBytes(12 * MiB)
    const received = new Promise<Uint8Array>((resolve, reject) => {
      // A raw stream whose handler neither reads nor negotiates for a while: only the transport buffers.
      b.setStreamHandler(async stream => {
        await sleep(500)
        readAll(stream).then(resolve, reject)
      })
    })
    const stream = await a.newStream(b.localPeer)
    await writeAll(stream, payload)
    await stream.closeWrite()
    assert.equal(sha(await received), sha(payload))
  })

  it("signals closeRead on the wire: the remote's writes fail soon after, its reads go on", async () => {
    const [a, b] = await pair()
    const closedRead = Promise.withResolvers<void>()
    b.setStreamHandler(async stream => {
      await b.negotiateInbound(stream, [SINK])
      await stream.read()
      await stream.closeRead()
      closedRead.resolve()
      await stream.write('reply after closeRead')
      await stream.closeWrite()
    })
    const stream = await a.newStream(b.localPeer, { protocols: [SINK] })
    await stream.write('first')
    await closedRead.promise
    const failure = await writeUntilFailure(stream, 2_000)
    assert.ok(failure !== undefined, 'writes still succeed 2 s after the remote closed its read side')
    assert.ok(errorIs(failure.err, 'StreamResetError'), `expected a StreamResetError, got ${String(failure.err)}`)
    assert.equal(new TextDecoder().decode(await readAll(stream)), 'reply after closeRead')
  })

  it('makes a writer blocked by flow control fail when the remote closes its read side', async () => {
    const [a, b] = await pair({ maxStreamData: 500_000 })
    const closeRead = Promise.withResolvers<void>()
    b.setStreamHandler(async stream => {
      await b.negotiateInbound(stream, [SINK])
      await closeRead.promise
      await stream.closeRead()
    })
    const stream = await a.newStream(b.localPeer, { protocols: [SINK] })
    let written = 0
    const writing = writeAll(stream, randomBytes(32 * MiB), 64 * 1024, n => { written = n }).then(() => undefined, (err: unknown) => err)
    await sleep(300)
    assert.ok(written < 8 * MiB, `the writer was not held back: ${written} bytes written`)
    closeRead.resolve()
    const err = await Promise.race([writing, sleep(3_000).then(() => 'timeout')])
    assert.notEqual(err, 'timeout', 'the blocked writer was not released within 3 s of the remote closeRead')
    assert.ok(errorIs(err, 'StreamResetError'), `expected a StreamResetError, got ${String(err)}`)
  })

  it('shows a remote reset to a reader as a reset, not as end of stream, both ways', async () => {
    const [a, b] = await pair()
    const remoteRead = Promise.withResolvers<unknown>()
    b.setStreamHandler(async stream => {
      await b.negotiateInbound(stream, [SINK])
      try {
        for await (const _ of stream) { /* until the reset */ }
        remoteRead.resolve('end of stream')
      } catch (err) {
        remoteRead.resolve(err)
      }
    })
    const stream = await a.newStream(b.localPeer, { protocols: [SINK] })
    await writeAll(stream, randomBytes(MiB))
    stream.reset()
    const err = await remoteRead.promise
    assert.ok(errorIs(err, 'StreamResetError'), `the reader saw ${String(err)}`)
    assert.match(String(err), /remote/)

    // The listener resets while the dialer waits in read().
    b.setStreamHandler(async stream => {
      await b.negotiateInbound(stream, [ECHO])
      await stream.read()
      stream.reset()
    })
    const s2 = await a.newStream(b.localPeer, { protocols: [ECHO] })
    await s2.write('hello')
    await assert.rejects(s2.read(), (e: unknown) => errorIs(e, 'StreamResetError'))
  })

  it('runs 300 streams in parallel on one connection, beyond the 256 the remote allows open at once', async () => {
    const [a, b] = await pair()
    b.setStreamHandler(echoHandler(b, ECHO))
    const results = await Promise.all(Array.from({ length: 300 }, async (_, i) => {
      const payload = randomBytes(16 * 1024 + i)
      const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
      const reading = readAll(stream)
      await writeAll(stream, payload, 4096)
      await stream.closeWrite()
      return sha(await reading) === sha(payload)
    }))
    assert.equal(results.filter(ok => !ok).length, 0)
    assert.equal(a.connsToPeer(b.localPeer).length, 1)
    await waitFor(() => a.connsToPeer(b.localPeer)[0].getStreams().length === 0, 'every stream to finish')
  })

  it('keeps the order of writes issued without waiting for each other', async () => {
    const [a, b] = await pair()
    b.setStreamHandler(echoHandler(b, ECHO))
    const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
    const reading = readAll(stream)
    const chunks = Array.from({ length: 2_000 }, (_, i) => {
      const buf = Buffer.alloc(100 + (i % 7) * 1000)
      buf.writeUInt32BE(i)
      return buf
    })
    await Promise.all(chunks.map(async c => { await stream.write(c) }))
    await stream.closeWrite()
    assert.equal(sha(await reading), sha(Buffer.concat(chunks)))
  })

  it('closes a connection a cancelled dial yields after the signal fired', async () => {
    const [a, b] = await pair()
    const controller = new AbortController()
    const dialing = a.dialPeer(b.localPeer, { signal: controller.signal })
    // The handshake is under way in the binding, which cannot cancel it.
    await sleep(0)
    controller.abort(new Error('changed my mind'))
    await assert.rejects(dialing)
    await sleep(300)
    assert.equal(a.conns().length, 0)
    await waitFor(() => b.conns().length === 0, 'the remote to drop the abandoned connection')
  })

  it('applies handshakeTimeout to dials (the binding alone waits for maxIdleTimeout)', async () => {
    const a = await createSwarm({ modules: [quic({ handshakeTimeout: 500 })] })
    swarms.push(a)
    const ghost = peerIdOf(await generateIdentity())
    a.peerstore.addAddrs(ghost, [multiaddr('/ip4/127.0.0.1/udp/1/quic-v1')], AddrTTL.PERMANENT)
    const start = Date.now()
    await assert.rejects(a.dialPeer(ghost), (err: unknown) => errorIs(err, 'TimeoutError'))
    assert.ok(Date.now() - start < 3_000, `the dial took ${Date.now() - start} ms`)
  })
})

describe('native binding loader', () => {
  it('names the platform and what to install when the binding does not load', () => {
    const index = new URL('../src/index.js', import.meta.url).href
    const script = `import { loadQuicBinding } from ${JSON.stringify(index)}
try { loadQuicBinding(); console.log('loaded') } catch (err) { console.log(JSON.stringify({ name: err.name, platform: err.platform, packages: err.packages, message: err.message })) }`
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '/nonexistent/libp2p-quic.node' },
      encoding: 'utf8'
    })
    assert.equal(run.status, 0, run.stderr)
    const out = JSON.parse(run.stdout) as { name: string, platform: string, packages: string[], message: string }
    assert.equal(out.name, 'QuicBindingError')
    assert.match(out.platform, new RegExp(`^${process.platform}-${process.arch}`))
    assert.deepEqual(out.packages, ['/nonexistent/libp2p-quic.node'])
    assert.match(out.message, new RegExp(`no QUIC native binding loads on ${out.platform}: install /nonexistent/libp2p-quic.node`))
  })

  it('loads the platform package of @chainsafe/libp2p-quic', () => {
    const script = fileURLToPath(new URL('../src/index.js', import.meta.url))
    const run = spawnSync(process.execPath, ['--input-type=module', '-e',
      `import { loadQuicBinding } from ${JSON.stringify(script)}; console.log(typeof loadQuicBinding().Client)`], { encoding: 'utf8' })
    assert.equal(run.stdout.trim(), 'function', run.stderr)
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AddrTTL, SystemClock, createSwarm, errorIs } from '@tswarm/core'
import { tcp } from '@tswarm/transport-tcp'
import { MULTISTREAM_PROTOCOL, lengthPrefixed } from '@tswarm/core'
import { OptimisticStream, QUIC_END_OF_STREAM_DELAY, quicEndOfStreamDelay } from '../../src/index.js'
import { LOOPBACK_TCP, closeAll, echo, readAll, sleep, tcpHost, waitFor } from '../helpers.js'
import type { Host } from '../../src/index.js'
import type { Stream, Swarm } from '@tswarm/core'

const utf8 = new TextEncoder()
const PROTO = '/test/optimistic/1.0.0'

/** Reads from a raw stream until `n` bytes arrived (or it ends). */
async function readAtLeast (stream: Stream, n: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let length = 0
  while (length < n) {
    const chunk = await stream.read()
    if (chunk === null) break
    parts.push(chunk)
    length += chunk.byteLength
  }
  return Buffer.concat(parts)
}

describe('optimistic protocol selection', () => {
  let client: Host
  let server: Host
  /** A bare swarm that never answers multistream-select: whatever reaches it was sent without waiting. */
  let silent: Swarm
  const silentStreams: Stream[] = []

  before(async () => {
    client = await tcpHost({ options: { protocolNegotiationTimeout: 300 } })
    server = await tcpHost()
    server.handle(PROTO, echo)
    silent = await createSwarm({ modules: [tcp()], listen: [LOOPBACK_TCP] })
    silent.setStreamHandler(stream => { silentStreams.push(stream) })
    client.peerstore.addAddrs(server.peerId, server.addrs(), AddrTTL.PERMANENT)
    client.peerstore.addAddrs(silent.localPeer, silent.listenAddresses(), AddrTTL.PERMANENT)
    // identify runs on every new connection: let its stream to the silent swarm fail first
    await client.identify.identifyWait(await client.swarm.dialPeer(silent.localPeer))
  })

  after(async () => {
    await closeAll(client, server)
    await silent.close()
  })

  it('sends the header, the protocol and the first data together, before any answer', async () => {
    const before = silentStreams.length
    const stream = await client.newStream(silent.localPeer, PROTO)
    assert.ok(stream instanceof OptimisticStream)
    assert.equal(stream.protocol, PROTO)
    await stream.write('ping!')
    const expected = Buffer.concat([lengthPrefixed(utf8.encode(`${MULTISTREAM_PROTOCOL}\n`), utf8.encode(`${PROTO}\n`)), utf8.encode('ping!')])
    // the silent swarm never wrote a byte, yet everything is there
    await waitFor(() => silentStreams.length > before, 'the stream to reach the silent swarm')
    const received = await readAtLeast(silentStreams[before], expected.byteLength)
    assert.deepEqual(received, expected)
    stream.reset()
  })

  it('fails reads, writes and closeWrite with a ProtocolNegotiationError when the listener stays silent', async () => {
    const stream = await client.newStream(silent.localPeer, PROTO)
    await stream.write('hello')
    const started = Date.now()
    const err = await stream.read().then(() => undefined, (e: unknown) => e)
    const elapsed = Date.now() - started
    assert.ok(err instanceof Error && err.name === 'ProtocolNegotiationError', String(err))
    assert.ok(errorIs(err, 'TimeoutError'), 'the cause should be the negotiation timeout')
    assert.ok(elapsed >= 250 && elapsed < 3000, `failed after ${elapsed} ms, expected about 300`)
    assert.equal(stream.status, 'reset')
    await assert.rejects(stream.write('more'), { name: 'ProtocolNegotiationError' })
    await assert.rejects(stream.closeWrite(), { name: 'ProtocolNegotiationError' })
  })

  it('fails with a ProtocolNegotiationError when the listener refuses the protocol', async () => {
    const stream = await client.newStream(server.peerId, '/test/not-served/1.0.0')
    await stream.write('lost')
    await assert.rejects(stream.read(), (err: Error) => err.name === 'ProtocolNegotiationError' && /does not support/.test(err.message))
    await assert.rejects(stream.write('x'), { name: 'ProtocolNegotiationError' })
  })

  it('reports a handler that accepts and resets at once as a StreamResetError, not as a negotiation failure', async () => {
    // The reset drops the confirmation still buffered on our side; the remote did not refuse anything.
    const RESETS = '/test/resets/1.0.0'
    server.handle(RESETS, async stream => {
      await stream.read()
      stream.reset()
    })
    for (let i = 0; i < 20; i++) {
      const stream = await client.newStream(server.peerId, RESETS)
      await stream.write('x')
      await assert.rejects(readAll(stream), (err: Error) => err.name === 'StreamResetError', 'a reset must read as a reset')
    }
  })

  it('with negotiateFully, a refused protocol fails newStream itself', async () => {
    await assert.rejects(client.newStream(server.peerId, '/test/not-served/1.0.0', { negotiateFully: true }), { name: 'ProtocolNegotiationError' })
    const stream = await client.newStream(server.peerId, PROTO, { negotiateFully: true })
    assert.ok(!(stream instanceof OptimisticStream))
    assert.equal(stream.protocol, PROTO)
    stream.reset()
  })

  it('sends the proposal alone when the application reads first (the remote speaks first)', async () => {
    const GREET = '/test/greet/1.0.0'
    server.handle(GREET, async stream => {
      await stream.write('welcome')
      await stream.close()
    })
    const stream = await client.newStream(server.peerId, GREET)
    assert.equal(new TextDecoder().decode(await readAll(stream)), 'welcome')
    assert.equal((stream as OptimisticStream).confirmed, true)
    await stream.close()
  })

  it('delivers data and end of stream written before the confirmation (js-libp2p listeners need the wait)', async () => {
    for (let i = 0; i < 20; i++) {
      const stream = await client.newStream(server.peerId, PROTO)
      await stream.write(`message ${i}`)
      await stream.closeWrite()
      assert.equal(new TextDecoder().decode(await readAll(stream)), `message ${i}`)
    }
  })

  it('closeWrite with nothing written sends the proposal alone and holds the end of stream until the confirmation', async () => {
    // js-libp2p listeners lose an end of stream that arrives with the proposal (see OptimisticStream)
    const before = silentStreams.length
    const stream = await client.newStream(silent.localPeer, PROTO)
    const closing = stream.closeWrite()
    await waitFor(() => silentStreams.length > before, 'the stream to reach the silent swarm')
    const proposal = lengthPrefixed(utf8.encode(`${MULTISTREAM_PROTOCOL}\n`), utf8.encode(`${PROTO}\n`))
    const raw = silentStreams[before]
    assert.deepEqual(await readAtLeast(raw, proposal.byteLength), Buffer.from(proposal))
    await assert.rejects(closing, { name: 'ProtocolNegotiationError' })
    // had the end of stream gone out, this read would return null; the failed negotiation resets the stream instead
    await assert.rejects(raw.read(), { name: 'StreamResetError' })
  })

  it('holds the end of stream endOfStreamDelay after the confirmation, and no longer', async () => {
    const DELAY = 300
    const conn = await client.swarm.dialPeer(server.peerId)
    const open = async (): Promise<OptimisticStream> => new OptimisticStream(await conn.newStream(), PROTO, {
      clock: new SystemClock(),
      negotiationTimeout: 5000,
      endOfStreamDelay: DELAY
    })

    // closed right away: the end of stream waits for the confirmation, then for the delay
    const first = await open()
    const started = Date.now()
    await first.write('held')
    await first.closeWrite()
    const held = Date.now() - started
    assert.ok(held >= DELAY - 5, `closeWrite returned after ${held} ms, expected at least ${DELAY}`)
    assert.equal(new TextDecoder().decode(await readAll(first)), 'held')

    // closed once the delay has passed since the confirmation: nothing more to wait for
    const second = await open()
    await second.write('late')
    assert.equal(new TextDecoder().decode(await second.read() ?? new Uint8Array(0)), 'late')
    await sleep(DELAY)
    const closing = Date.now()
    await second.closeWrite()
    const late = Date.now() - closing
    assert.ok(late < DELAY / 2, `closeWrite after the delay still took ${late} ms`)
    assert.equal((await readAll(second)).byteLength, 0)
  })

  it('works through toDuplex and async iteration', async () => {
    const stream = await client.newStream(server.peerId, PROTO)
    const duplex = stream.toDuplex()
    const chunks: Buffer[] = []
    duplex.on('data', (c: Buffer) => chunks.push(c))
    const ended = new Promise(resolve => duplex.on('end', resolve))
    duplex.end('through a duplex')
    await ended
    assert.equal(Buffer.concat(chunks).toString(), 'through a duplex')
  })
})

describe('quicEndOfStreamDelay', () => {
  it('holds the end of stream only for js-libp2p peers and peers not identified yet', () => {
    const cases: Array<[unknown, number]> = [
      ['js-libp2p/3.3.11 node/22.23.3', QUIC_END_OF_STREAM_DELAY],
      [undefined, QUIC_END_OF_STREAM_DELAY],
      ['github.com/libp2p/go-libp2p', 0],
      ['rust-libp2p/0.57.1', 0],
      ['tswarm/0.1.0 node/22.23.3', 0],
      ['kubo/0.38.0', 0]
    ]
    for (const [agent, delay] of cases) assert.equal(quicEndOfStreamDelay(agent), delay, String(agent))
  })
})

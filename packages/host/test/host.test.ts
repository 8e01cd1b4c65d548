import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { errorIs } from '@tswarm/core'
import { IDENTIFY_PROTOCOL, IDENTIFY_PUSH_PROTOCOL, OptimisticStream, PERF_PROTOCOL, PING_PROTOCOL, countStreams } from '../src/index.js'
import { ECHO, closeAll, connectHosts, echo, readAll, tcpHost, waitFor } from './helpers.js'
import type { Host } from '../src/index.js'
import type { Stream } from '@tswarm/core'

const utf8 = new TextDecoder()

describe('Host', () => {
  let a: Host
  let b: Host

  before(async () => {
    a = await tcpHost({ host: { identify: { pushDebounce: 10 } } })
    b = await tcpHost({ host: { identify: { pushDebounce: 10 } } })
    b.handle(ECHO, echo)
    await connectHosts(a, b)
  })

  after(async () => { await closeAll(a, b) })

  it('serves identify, push and ping by default, not perf', () => {
    const protocols = a.getProtocols()
    for (const p of [IDENTIFY_PROTOCOL, IDENTIFY_PUSH_PROTOCOL, PING_PROTOCOL]) assert.ok(protocols.includes(p), p)
    assert.ok(!protocols.includes(PERF_PROTOCOL))
  })

  it('connect waits for identify: the peerstore knows the peer when it resolves', async () => {
    const c = await tcpHost()
    try {
      await c.connect(b.peerId, b.addrs())
      assert.ok(c.peerstore.getProtocols(b.peerId).includes(ECHO))
      assert.ok(c.peerstore.addrs(b.peerId).length > 0)
    } finally {
      await c.close()
    }
  })

  it('routes streams to handlers and echoes', async () => {
    const stream = await a.newStream(b.peerId, ECHO)
    await stream.write('hello host')
    await stream.closeWrite()
    assert.equal(utf8.decode(await readAll(stream)), 'hello host')
  })

  it('refuses a second handler for a protocol unless forced, and validates protocol IDs', () => {
    const P = '/test/dup/1.0.0'
    a.handle(P, () => {})
    assert.throws(() => { a.handle(P, () => {}) }, { name: 'DuplicateProtocolHandlerError' })
    a.handle(P, () => {}, { force: true })
    a.unhandle(P)
    assert.ok(!a.getProtocols().includes(P))
    assert.throws(() => { a.handle('', () => {}) }, { name: 'InvalidOptionError' })
    assert.throws(() => { a.handle('/bad\n', () => {}) }, { name: 'InvalidOptionError' })
    assert.throws(() => { a.handle('/x', () => {}, { maxInboundStreams: 0 }) }, { name: 'InvalidOptionError' })
  })

  it('after unhandle, new streams for the protocol are refused', async () => {
    const P = '/test/unhandled/1.0.0'
    b.handle(P, echo)
    const ok = await a.newStream(b.peerId, P)
    await ok.write('x')
    await ok.closeWrite()
    assert.equal(utf8.decode(await readAll(ok)), 'x')
    b.unhandle(P)
    const refused = await a.newStream(b.peerId, P)
    await refused.write('y')
    await assert.rejects(refused.read(), { name: 'ProtocolNegotiationError' })
  })

  it('resets the stream when a handler throws', async () => {
    const P = '/test/throws/1.0.0'
    b.handle(P, async stream => {
      await stream.read()
      throw new Error('handler failure')
    })
    const stream = await a.newStream(b.peerId, P)
    await stream.write('boom')
    await assert.rejects(readAll(stream), (err: unknown) => errorIs(err, 'StreamResetError'))
  })

  it('resets inbound streams over the per-protocol limit', async () => {
    const P = '/test/inbound-limit/1.0.0'
    let release = (): void => {}
    const released = new Promise<void>(resolve => { release = resolve })
    let served = 0
    b.handle(P, async stream => {
      served++
      await released
      await echo(stream)
    }, { maxInboundStreams: 1 })
    const first = await a.newStream(b.peerId, P)
    await first.write('first')
    await waitFor(() => served === 1, 'the first stream to reach the handler')
    const second = await a.newStream(b.peerId, P)
    await second.write('second')
    await assert.rejects(readAll(second), (err: unknown) => errorIs(err, 'StreamResetError'))
    assert.equal(served, 1)
    release()
    await first.closeWrite()
    assert.equal(utf8.decode(await readAll(first)), 'first')
  })

  it('throws a StreamLimitExceededError for outbound streams over the limit, and allows more once they close', async () => {
    const hold: Stream[] = []
    hold.push(await a.newStream(b.peerId, ECHO, { maxOutboundStreams: 2 }))
    hold.push(await a.newStream(b.peerId, ECHO, { maxOutboundStreams: 2 }))
    const err = await a.newStream(b.peerId, ECHO, { maxOutboundStreams: 2 }).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof Error && err.name === 'StreamLimitExceededError', String(err))
    const limitErr = err as Error & { protocol: string, direction: string, limit: number }
    assert.deepEqual([limitErr.protocol, limitErr.direction, limitErr.limit], [ECHO, 'outbound', 2])
    for (const s of hold) {
      await s.closeWrite()
      await readAll(s)
    }
    await waitFor(() => countStreams(hold[0].conn, ECHO, 'outbound') === 0, 'the streams to end')
    const again = await a.newStream(b.peerId, ECHO, { maxOutboundStreams: 2 })
    again.reset()
  })

  it('applies the outbound limit given to handle', async () => {
    const P = '/test/outbound-limit/1.0.0'
    a.handle(P, echo, { maxOutboundStreams: 1 })
    b.handle(P, echo)
    const first = await a.newStream(b.peerId, P)
    await assert.rejects(a.newStream(b.peerId, P), { name: 'StreamLimitExceededError' })
    first.reset()
  })

  it('with several protocols, selects optimistically one that identify says the peer supports', async () => {
    const stream = await a.newStream(b.peerId, ['/test/unknown/1.0.0', ECHO])
    assert.ok(stream instanceof OptimisticStream)
    assert.equal(stream.protocol, ECHO)
    await stream.write('second choice')
    await stream.closeWrite()
    assert.equal(utf8.decode(await readAll(stream)), 'second choice')
  })

  it('negotiates fully when the peerstore knows none of the protocols', async () => {
    const LATE = '/test/late/1.0.0'
    b.handle(LATE, echo)
    // the peerstore does not know LATE until the push arrives: forget it to force negotiation
    await waitFor(() => a.peerstore.getProtocols(b.peerId).includes(LATE), 'the push')
    a.peerstore.removeProtocols(b.peerId, [LATE])
    const stream = await a.newStream(b.peerId, ['/test/unknown/1.0.0', LATE])
    assert.ok(!(stream instanceof OptimisticStream))
    assert.equal(stream.protocol, LATE)
    stream.reset()
    await assert.rejects(a.newStream(b.peerId, ['/test/x/1.0.0', '/test/y/1.0.0']), { name: 'ProtocolNegotiationError' })
  })

  it('refuses to dial with noDial when not connected', async () => {
    const c = await tcpHost()
    try {
      await assert.rejects(c.newStream(b.peerId, ECHO, { noDial: true }), { name: 'NoConnectionError' })
    } finally {
      await c.close()
    }
  })

  it('advertises the announce addresses instead of its listen addresses', async () => {
    const announce = '/dns4/host.example/tcp/4001'
    const c = await tcpHost({ host: { announce: [announce] } })
    try {
      assert.deepEqual(c.addrs().map(String), [announce])
      await b.connect(c.peerId, c.swarm.listenAddresses())
      // identify replaced the dialed address (TEMP) by the announced one; over loopback go's filter keeps it
      assert.deepEqual(b.peerstore.addrs(c.peerId).map(String), [announce])
    } finally {
      await c.close()
    }
  })

  it('fails every operation after close with a HostClosedError', async () => {
    const c = await tcpHost()
    await c.close()
    await c.close()
    assert.equal(c.closed, true)
    assert.equal(c.swarm.closed, true)
    await assert.rejects(c.newStream(b.peerId, ECHO), { name: 'HostClosedError' })
    await assert.rejects(c.connect(b.peerId), { name: 'HostClosedError' })
    await assert.rejects(c.ping(b.peerId), { name: 'HostClosedError' })
    assert.throws(() => { c.handle('/x', () => {}) }, { name: 'HostClosedError' })
  })

  it('closes with streams and identify in flight', async () => {
    const c = await tcpHost()
    const d = await tcpHost()
    // the handler never answers: it waits for more bytes until the connection goes away
    d.handle(ECHO, async stream => { await readAll(stream) })
    await connectHosts(c, d)
    const stream = await c.newStream(d.peerId, ECHO)
    await stream.write('never answered')
    const started = Date.now()
    await closeAll(c, d)
    assert.ok(Date.now() - started < 5000)
    await assert.rejects(stream.read())
  })
})

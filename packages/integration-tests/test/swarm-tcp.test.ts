import assert from 'node:assert/strict'
import { connect as netConnect } from 'node:net'
import { after, afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, createSwarm, errorIs, generateIdentity } from '@tswarm/core'
import { echoHandler, introduce, readAll, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import type { Conn, Stream, Swarm, SwarmOptions } from '@tswarm/core'

const LISTEN = ['/ip4/127.0.0.1/tcp/0']
const ECHO = '/echo/1.0.0'

/** Handles of kinds that would keep a process alive: what must be gone after every swarm closed. */
function liveHandles (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TCPSocketWrap' || kind === 'TCPServerWrap' || kind === 'Timeout') counts[kind] = (counts[kind] ?? 0) + 1
  }
  return counts
}

// Taken inside a test, as the final check is, so node:test's own per-test timer counts in both.
let baseline: Record<string, number> = {}
const swarms: Swarm[] = []

async function make (options?: SwarmOptions, listen = LISTEN): Promise<Swarm> {
  const s = await createSwarm({ modules: [tcp()], listen, options })
  swarms.push(s)
  return s
}

async function closeAll (): Promise<void> {
  await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
}

describe('swarm over TCP on 127.0.0.1', () => {
  afterEach(closeAll)

  it('records the handle baseline before any swarm exists', () => {
    baseline = liveHandles()
    assert.equal(swarms.length, 0)
  })

  it('5 swarms fully meshed echo 100 messages per pair', async () => {
    const nodes = await Promise.all(Array.from({ length: 5 }, async () => make()))
    for (const n of nodes) {
      // Replies "pong" to every 4-byte "ping" (go's TestSwarm).
      n.setStreamHandler(async stream => {
        await n.negotiateInbound(stream, ['/ping-pong'])
        let pending = ''
        for await (const chunk of stream) {
          pending += new TextDecoder().decode(chunk)
          while (pending.length >= 4) {
            assert.equal(pending.slice(0, 4), 'ping')
            pending = pending.slice(4)
            await stream.write('pong')
          }
        }
        await stream.closeWrite()
      })
    }
    for (const a of nodes) for (const b of nodes) if (a !== b) introduce(a, b)
    await Promise.all(nodes.flatMap(a => nodes.filter(b => b !== a).map(async b => { await a.dialPeer(b.localPeer) })))
    const counts = await Promise.all(nodes.flatMap(a => nodes.filter(b => b !== a).map(async b => {
      const stream = await a.newStream(b.localPeer, { protocols: ['/ping-pong'] })
      for (let i = 0; i < 100; i++) await stream.write('ping')
      await stream.closeWrite()
      const reply = new TextDecoder().decode(await readAll(stream))
      return reply.split('pong').length - 1
    })))
    assert.equal(counts.length, 20)
    assert.deepEqual(counts, Array(20).fill(100))
    for (const n of nodes) assert.equal(n.peers().length, 4)
  })

  it('a second dialPeer returns the same connection', async () => {
    const [a, b] = await Promise.all([make(), make()])
    introduce(a, b)
    const c1 = await a.dialPeer(b.localPeer)
    const c2 = await a.dialPeer(b.localPeer)
    assert.equal(c1, c2)
    assert.equal(a.connsToPeer(b.localPeer).length, 1)
  })

  it('20 simultaneous dials between two swarms end with at most one connection per direction', async () => {
    const [a, b] = await Promise.all([make(), make()])
    introduce(a, b)
    introduce(b, a)
    const dials = Array.from({ length: 20 }, async (_, i) => i % 2 === 0 ? a.dialPeer(b.localPeer) : b.dialPeer(a.localPeer))
    const conns = await Promise.all(dials)
    assert.equal(conns.length, 20)
    for (const s of [a, b]) {
      const byDir = { inbound: 0, outbound: 0 }
      for (const c of s.conns()) byDir[c.stat().direction]++
      assert.ok(byDir.inbound <= 1 && byDir.outbound <= 1, `too many connections: ${JSON.stringify(byDir)}`)
    }
  })

  it('keeps stream counts right through reset and close (go TestStreamCount)', async () => {
    const [a, b] = await Promise.all([make(), make()])
    const accepted: Stream[] = []
    const tenAccepted = new Promise<void>(resolve => {
      b.setStreamHandler(stream => {
        accepted.push(stream)
        if (accepted.length === 10) resolve()
      })
    })
    introduce(a, b)
    const outbound = await Promise.all(Array.from({ length: 10 }, async () => {
      const s = await a.newStream(b.localPeer)
      await s.write('x') // a yamux stream reaches the remote with its first frame
      return s
    }))
    await tenAccepted
    const [bConn] = b.connsToPeer(a.localPeer)
    const count = (c: Conn): number => { assert.equal(c.stat().numStreams, c.getStreams().length); return c.stat().numStreams }
    assert.equal(count(bConn), 10)

    accepted[0].reset()
    await accepted[1].close()
    await outbound[1].close()
    await waitFor(() => count(bConn) === 8, 'b to count 8 streams')

    const extra = await bConn.newStream()
    assert.equal(count(bConn), 9)
    extra.reset()
    await waitFor(() => count(bConn) === 8, 'b to count 8 streams again')
  })

  it('delivers connected then disconnected with the same connection object, and listenClose on close', async () => {
    const [a, b] = await Promise.all([make(), make()])
    const events: Array<{ side: string, kind: string, conn?: Conn, addr?: string }> = []
    for (const [side, s] of [['a', a], ['b', b]] as const) {
      s.notify({
        connected: conn => events.push({ side, kind: 'connected', conn }),
        disconnected: conn => events.push({ side, kind: 'disconnected', conn }),
        listenClose: addr => events.push({ side, kind: 'listenClose', addr: addr.toString() })
      })
    }
    introduce(a, b)
    const conn = await a.dialPeer(b.localPeer)
    await waitFor(() => events.filter(e => e.kind === 'connected').length === 2, 'both connected events')
    assert.equal(events.find(e => e.side === 'a' && e.kind === 'connected')?.conn, conn)
    const bConn = b.connsToPeer(a.localPeer)[0]
    assert.equal(events.find(e => e.side === 'b' && e.kind === 'connected')?.conn, bConn)

    await conn.close()
    await waitFor(() => events.filter(e => e.kind === 'disconnected').length === 2, 'both disconnected events')
    assert.equal(events.find(e => e.side === 'a' && e.kind === 'disconnected')?.conn, conn)
    assert.equal(events.find(e => e.side === 'b' && e.kind === 'disconnected')?.conn, bConn)
    for (const side of ['a', 'b']) {
      const kinds = events.filter(e => e.side === side && e.conn !== undefined).map(e => e.kind)
      assert.deepEqual(kinds, ['connected', 'disconnected'])
    }

    assert.equal(events.some(e => e.kind === 'listenClose'), false, 'listenClose fired before close()')
    const bAddr = b.listenAddresses()[0].toString()
    await b.close()
    assert.ok(events.some(e => e.side === 'b' && e.kind === 'listenClose' && e.addr === bAddr))
  })

  it('lets notifiees call back into the swarm without deadlock', async () => {
    const [a, b] = await Promise.all([make(), make()])
    let closedFromHandler = false
    const disconnected = new Promise<void>(resolve => {
      a.notify({
        connected: conn => { conn.close().then(() => { closedFromHandler = true }, () => {}) },
        disconnected: () => {
          assert.equal(a.connectedness(b.localPeer), 'notConnected')
          resolve()
        }
      })
    })
    introduce(a, b)
    await a.dialPeer(b.localPeer)
    await disconnected
    await waitFor(() => closedFromHandler, 'close() called from connected to resolve')
  })

  it('close() with open streams returns promptly', async () => {
    const [a, b] = await Promise.all([make(), make()])
    b.setStreamHandler(async () => { /* never reads, never closes */ })
    introduce(a, b)
    const stream = await a.newStream(b.localPeer)
    await stream.write('data nobody reads')
    const started = Date.now()
    await a.close()
    assert.ok(Date.now() - started < 3_000, `close took ${Date.now() - started} ms`)
    assert.equal(a.conns().length, 0)
    await assert.rejects(a.dialPeer(b.localPeer), (err: Error) => err.name === 'SwarmClosedError')
    await a.close() // idempotent
  })

  it('refuses a remote whose peer ID is not the one dialed', async () => {
    const [a, b, c] = await Promise.all([make(), make(), make()])
    // c's address recorded under b's identity.
    a.peerstore.addAddrs(b.localPeer, c.listenAddresses(), AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(b.localPeer), (err: unknown) => errorIs(err, 'PeerIdMismatchError'))
    assert.equal(a.conns().length, 0)
    await waitFor(() => c.conns().length === 0, 'c to drop the refused connection')
  })

  it('rejects garbage bytes on a listener without crashing, and keeps serving', async () => {
    const [a, b] = await Promise.all([make({ inboundUpgradeTimeout: 2_000 }), make()])
    a.setStreamHandler(echoHandler(a, ECHO))
    const addr = a.listenAddresses()[0].getComponents()
    const port = Number(addr[1].value)
    const garbage = [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(4096, 0xff), Buffer.from([0x13, 0x2f, 0x6d]), Buffer.from('\x13/multistream/1.0.0\n\x07/nope!\n')]
    await Promise.all(garbage.map(async bytes => new Promise<void>((resolve, reject) => {
      const sock = netConnect(port, '127.0.0.1', () => { sock.write(bytes) })
      sock.on('error', () => {}) // a reset from the swarm is an expected outcome
      sock.on('close', () => { resolve() })
      setTimeout(() => { sock.destroy(); reject(new Error('the swarm kept a garbage connection open')) }, 10_000).unref()
    })))
    assert.equal(a.conns().length, 0)
    introduce(b, a)
    const stream = await b.newStream(a.localPeer, { protocols: [ECHO] })
    await stream.write('still alive')
    await stream.closeWrite()
    assert.equal(new TextDecoder().decode(await readAll(stream)), 'still alive')
  })

  it('a peer with no addresses, and ourselves, get their own named errors', async () => {
    const [a, b] = await Promise.all([make(), make()])
    await assert.rejects(a.dialPeer(b.localPeer), (err: unknown) => errorIs(err, 'DialError') && errorIs(err, 'NoAddressesError'))
    await assert.rejects(a.dialPeer(a.localPeer), (err: unknown) => errorIs(err, 'DialToSelfError'))
    await assert.rejects(a.newStream(b.localPeer, { noDial: true }), (err: unknown) => errorIs(err, 'NoConnectionError'))
  })

  for (const type of ['secp256k1', 'RSA'] as const) {
    it(`connects with a ${type} identity on either side`, async () => {
      const key = await generateIdentity(type)
      const a = await createSwarm({ privateKey: key, modules: [tcp()], listen: LISTEN })
      swarms.push(a)
      const b = await make()
      a.setStreamHandler(echoHandler(a, ECHO))
      introduce(b, a)
      const stream = await b.newStream(a.localPeer, { protocols: [ECHO] })
      await stream.write(type)
      await stream.closeWrite()
      assert.equal(new TextDecoder().decode(await readAll(stream)), type)
      assert.ok(stream.conn.remotePublicKey.equals(key.publicKey))
    })
  }

  it('all addresses failing gives a DialError with one error per address', async () => {
    const [a, b] = await Promise.all([make(), make()])
    a.peerstore.addAddrs(b.localPeer, ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3'].map(s => multiaddr(s)), AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(b.localPeer), (err: unknown) => {
      assert.ok(errorIs(err, 'AllDialsFailedError'))
      assert.equal((err as { errors: unknown[] }).errors.length, 3)
      return true
    })
  })
})

describe('after every swarm closed', () => {
  after(closeAll)
  it('no socket, server or timer is left', async () => {
    await closeAll()
    await waitFor(() => {
      const now = liveHandles()
      return (now.TCPSocketWrap ?? 0) <= (baseline.TCPSocketWrap ?? 0) && (now.TCPServerWrap ?? 0) <= (baseline.TCPServerWrap ?? 0) &&
        (now.Timeout ?? 0) <= (baseline.Timeout ?? 0)
    }, `handles to return to baseline ${JSON.stringify(baseline)} (now ${JSON.stringify(liveHandles())})`, 5_000)
  })
})

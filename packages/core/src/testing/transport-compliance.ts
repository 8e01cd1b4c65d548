import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { generateIdentity, peerIdOf } from '../identity.js'
import { AddrTTL } from '../interfaces/peerstore.js'
import { errorIs } from '../errors.js'
import { createTestSwarm, echoHandler, introduce, waitFor } from './swarms.js'
import { readAll } from '../reader.js'
import type { SwarmModule } from '../interfaces/module.js'
import type { Swarm } from '../swarm/swarm.js'

export interface TransportComplianceOptions {
  /** Shown in the suite's title. */
  name: string
  /** The modules each test swarm gets: the transport under test, and anything it needs. */
  modules: () => SwarmModule[]
  /** Where test swarms listen, with port 0 (or the transport's equivalent). */
  listenAddrs: readonly string[]
  /** An address of the transport's kind where nothing listens, so dials to it fail. */
  deadAddr: string
  /**
   * Whether connections accepted by a listener outlive `listenClose` (default true, as in go-libp2p). QUIC's are
   * carried by the listener's UDP socket, and @libp2p/tcp's listener destroys the sockets it accepted, so with those
   * transports they close with the listener; the suite then checks that both sides see them go.
   */
  listenerCloseKeepsConnections?: boolean
  /**
   * Whether the remote's reads fail with a reset error when we reset (default true). Where the transport reports a
   * remote reset as a plain end of stream (@chainsafe/libp2p-quic), the suite checks that the remote's reads end
   * and its writes fail instead.
   */
  resetVisibleToRemoteReader?: boolean
}

const ECHO = '/echo/1.0.0'

/**
 * The behaviour every tswarm transport must show, as `node:test` cases. A transport package (ours or a third
 * party's) calls this from one of its test files:
 *
 * @example
 * ```ts
 * import { transportComplianceTests } from '@tswarm/core/testing'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * transportComplianceTests({
 *   name: 'tcp',
 *   modules: () => [tcp()],
 *   listenAddrs: ['/ip4/127.0.0.1/tcp/0'],
 *   deadAddr: '/ip4/127.0.0.1/tcp/1'
 * })
 * ```
 */
export function transportComplianceTests (opts: TransportComplianceOptions): void {
  describe(`transport compliance: ${opts.name}`, () => {
    const swarms: Swarm[] = []
    const make = async (): Promise<Swarm> => {
      const s = await createTestSwarm({ modules: opts.modules(), listen: opts.listenAddrs })
      swarms.push(s)
      return s
    }
    const pair = async (): Promise<[Swarm, Swarm]> => {
      const [a, b] = await Promise.all([make(), make()])
      b.setStreamHandler(echoHandler(b, ECHO))
      introduce(a, b)
      return [a, b]
    }
    afterEach(async () => {
      await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
    })
    after(async () => {
      await Promise.all(swarms.map(async s => { await s.close() }))
    })

    it('listens on the real port and reports the address', async () => {
      const s = await make()
      const addrs = s.listenAddresses()
      assert.ok(addrs.length > 0, 'no listen address')
      for (const a of addrs) assert.ok(s.transportForDialing(a) !== undefined, `${a.toString()} is not dialable by the same transport`)
      for (const a of addrs) assert.doesNotMatch(a.toString(), /\/(tcp|udp)\/0(\/|$)/, 'port 0 was not replaced by the bound port')
    })

    it('dials, negotiates a protocol and echoes', async () => {
      const [a, b] = await pair()
      const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
      assert.equal(stream.protocol, ECHO)
      await stream.write('hello')
      await stream.closeWrite()
      assert.equal(new TextDecoder().decode(await readAll(stream)), 'hello')
      const conn = stream.conn
      assert.equal(conn.remotePeer.toString(), b.localPeer.toString())
      assert.equal(conn.stat().direction, 'outbound')
      assert.equal(conn.stat().transport, a.transportForDialing(conn.remoteMultiaddr)?.name)
      assert.equal(a.connectedness(b.localPeer), 'connected')
      await waitFor(() => b.connectedness(a.localPeer) === 'connected', 'the listener to see the connection')
    })

    it('carries 4 MiB each way intact', async () => {
      const [a, b] = await pair()
      const payload = randomBytes(4 * 1024 * 1024)
      const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
      const reading = readAll(stream)
      for (let off = 0; off < payload.length; off += 64 * 1024) await stream.write(payload.subarray(off, off + 64 * 1024))
      await stream.closeWrite()
      const echoed = await reading
      assert.equal(echoed.byteLength, payload.byteLength)
      assert.equal(createHash('sha256').update(echoed).digest('hex'), createHash('sha256').update(payload).digest('hex'))
    })

    it('runs 32 streams at once on one connection', async () => {
      const [a, b] = await pair()
      const results = await Promise.all(Array.from({ length: 32 }, async (_, i) => {
        const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
        await stream.write(`message ${i}`)
        await stream.closeWrite()
        return new TextDecoder().decode(await readAll(stream))
      }))
      results.forEach((r, i) => { assert.equal(r, `message ${i}`) })
      assert.equal(a.connsToPeer(b.localPeer).length, 1)
    })

    it('propagates a reset to the remote', async () => {
      const [a, b] = await pair()
      let remoteError: unknown
      let remoteWriteError: unknown
      const gotReset = new Promise<void>(resolve => {
        b.setStreamHandler(async stream => {
          try {
            for await (const _ of stream) { /* drain until reset */ }
          } catch (err) {
            remoteError = err
          }
          // Writes must fail once the reset arrived; bounded, since the remote may take a moment to learn it.
          for (let i = 0; i < 200 && remoteWriteError === undefined; i++) {
            try {
              await stream.write('after reset')
              await new Promise(resolve => setTimeout(resolve, 10))
            } catch (err) {
              remoteWriteError = err
            }
          }
          resolve()
        })
      })
      const stream = await a.newStream(b.localPeer)
      await stream.write('x')
      stream.reset()
      assert.equal(stream.status, 'reset')
      await assert.rejects(stream.write('y'), (err: unknown) => errorIs(err, 'StreamResetError'))
      await gotReset
      if (opts.resetVisibleToRemoteReader !== false) {
        assert.ok(errorIs(remoteError, 'StreamResetError'), `expected a reset error on the remote, got ${String(remoteError)}`)
      }
      assert.ok(remoteWriteError !== undefined, 'the remote could still write after the reset')
    })

    it('closing a connection closes its streams on both sides', async () => {
      const [a, b] = await pair()
      const stream = await a.newStream(b.localPeer, { protocols: [ECHO] })
      await stream.write('x')
      const conn = stream.conn
      await conn.close()
      assert.equal(conn.status, 'closed')
      assert.equal(a.connectedness(b.localPeer), 'notConnected')
      await waitFor(() => b.connectedness(a.localPeer) === 'notConnected', 'the remote to see the close')
      await assert.rejects(stream.write('y'))
    })

    it('refuses a dial whose remote is another peer', async () => {
      const [a, b] = await pair()
      const stranger = peerIdOf(await generateIdentity())
      a.peerstore.addAddrs(stranger, b.listenAddresses(), AddrTTL.PERMANENT)
      await assert.rejects(a.dialPeer(stranger), (err: unknown) => errorIs(err, 'PeerIdMismatchError'))
      assert.equal(a.connectedness(stranger), 'notConnected')
    })

    it('fails a dial to a dead address with a DialError', async () => {
      const a = await make()
      const ghost = peerIdOf(await generateIdentity())
      a.peerstore.addAddrs(ghost, [multiaddr(opts.deadAddr)], AddrTTL.PERMANENT)
      await assert.rejects(a.dialPeer(ghost), (err: unknown) => err instanceof Error && err.name === 'DialError')
    })

    it('honours an already aborted signal', async () => {
      const [a, b] = await pair()
      await assert.rejects(a.dialPeer(b.localPeer, { signal: AbortSignal.abort() }))
      assert.equal(a.conns().length, 0)
    })

    it('stops accepting after listenClose', async () => {
      const [a, b] = await pair()
      const conn = await a.dialPeer(b.localPeer)
      await b.listenClose(...b.listenAddresses())
      assert.equal(b.listenAddresses().length, 0)
      if (opts.listenerCloseKeepsConnections !== false) {
        assert.equal(conn.status, 'open')
      } else {
        await waitFor(() => a.connectedness(b.localPeer) === 'notConnected' && b.conns().length === 0,
          'both sides to drop the connections the closed listener carried')
      }
      const c = await make()
      introduce(c, b)
      await assert.rejects(c.dialPeer(b.localPeer))
    })

    it('releases every connection and listener on close', async () => {
      const [a, b] = await pair()
      await a.dialPeer(b.localPeer)
      await a.close()
      assert.equal(a.conns().length, 0)
      assert.equal(a.listenAddresses().length, 0)
      await waitFor(() => b.conns().length === 0, 'the remote to drop the connection')
    })
  })
}

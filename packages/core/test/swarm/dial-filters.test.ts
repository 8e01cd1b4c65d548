import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { createSwarm } from '../../src/create-swarm.js'
import { errorIs } from '../../src/errors.js'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { AddrTTL } from '../../src/interfaces/peerstore.js'
import { TRANSPORT } from '../../src/tokens.js'
import { memory } from '../../src/testing/memory-transport.js'
import type { DialError } from '../../src/errors.js'
import type { SwarmModule } from '../../src/interfaces/module.js'
import type { Listener, MuxedConnection, Transport } from '../../src/interfaces/transport.js'
import type { Swarm } from '../../src/swarm/swarm.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Claims TCP addresses and fails every dial at once: no packet leaves the machine. */
class RefusingTransport implements Transport {
  readonly name = 'refusing-tcp'
  readonly protocols = ['tcp']
  dials = 0
  canDial (addr: Multiaddr): boolean { return addr.getComponents().some(c => c.name === 'tcp') }
  canListen (): boolean { return false }
  async dial (): Promise<MuxedConnection> {
    this.dials++
    throw new Error('connection refused')
  }

  async listen (): Promise<Listener> { throw new Error('cannot listen') }
}

function moduleOf (t: Transport): SwarmModule {
  return { name: 'refusing', register: c => { c.register(TRANSPORT, { useValue: t }) } }
}

describe('dial address filters at the swarm', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('refuses an IPv6 class once it looks black-holed (go TestBlackHoledAddrBlocked)', async () => {
    const transport = new RefusingTransport()
    const s = await createSwarm({ modules: [moduleOf(transport)], options: { ipv6BlackHole: { n: 3, minSuccesses: 1 }, udpBlackHole: null } })
    swarms.push(s)
    const peer = peerIdOf(await generateIdentity())
    // A public NAT64 address: counted by the IPv6 detector. The transport never sends anything.
    s.peerstore.addAddrs(peer, [multiaddr('/ip6/64:ff9b::101:101/tcp/4001')], AddrTTL.PERMANENT)
    for (let i = 0; i < 3; i++) {
      await assert.rejects(s.dialPeer(peer), (err: unknown) => errorIs(err, 'AllDialsFailedError'))
      s.backoff().clear(peer)
    }
    await assert.rejects(s.dialPeer(peer), (err: unknown) => {
      assert.ok(errorIs(err, 'DialRefusedBlackHoleError'), String(err))
      assert.equal((err as DialError).plan?.entries[0].outcome, 'black-hole')
      return true
    })
    assert.equal(transport.dials, 3, 'the black-holed address was not dialed again')
  })

  it('never records private addresses in the detector', async () => {
    const transport = new RefusingTransport()
    const s = await createSwarm({ modules: [moduleOf(transport)], options: { ipv6BlackHole: { n: 3, minSuccesses: 1 } } })
    swarms.push(s)
    const peer = peerIdOf(await generateIdentity())
    s.peerstore.addAddrs(peer, [multiaddr('/ip6/::1/tcp/1')], AddrTTL.PERMANENT)
    for (let i = 0; i < 6; i++) {
      await assert.rejects(s.dialPeer(peer), (err: unknown) => !errorIs(err, 'DialRefusedBlackHoleError'))
      s.backoff().clear(peer)
    }
    assert.equal(transport.dials, 6)
  })

  it('drops /ws when plain /tcp is on the same ip:port, saying why', async () => {
    const transport = new RefusingTransport()
    const s = await createSwarm({ modules: [moduleOf(transport), memory()] })
    swarms.push(s)
    const peer = peerIdOf(await generateIdentity())
    s.peerstore.addAddrs(peer, ['/ip4/127.0.0.1/tcp/9/ws', '/ip4/127.0.0.1/tcp/9'].map(a => multiaddr(a)), AddrTTL.PERMANENT)
    await assert.rejects(s.dialPeer(peer), (err: unknown) => {
      const e = err as DialError
      assert.match(e.message, /\/ip4\/127\.0\.0\.1\/tcp\/9\/ws: a plain \/tcp address on the same ip:port is preferred/)
      assert.equal(transport.dials, 1)
      return true
    })
  })

  it('canDial says whether an address would be tried now', async () => {
    const transport = new RefusingTransport()
    const s = await createSwarm({ modules: [moduleOf(transport)] })
    swarms.push(s)
    const peer = peerIdOf(await generateIdentity())
    assert.equal(await s.canDial(peer, '/ip4/127.0.0.1/tcp/1'), true)
    assert.equal(await s.canDial(peer, '/ip4/0.0.0.0/tcp/1'), false)
    assert.equal(await s.canDial(peer, '/ip4/127.0.0.1/udp/1/quic-v1'), false)
    s.backoff().addBackoff(peer, multiaddr('/ip4/127.0.0.1/tcp/1'))
    assert.equal(await s.canDial(peer, '/ip4/127.0.0.1/tcp/1'), false)
  })
})

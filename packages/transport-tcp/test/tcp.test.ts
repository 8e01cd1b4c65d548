import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { TRANSPORT, assembleSwarm, createSwarm, pluginInstance } from '@tswarm/core'
import { TCP_TRANSPORT, tcp } from '../src/index.js'
import type { Swarm } from '@tswarm/core'

describe('tcp()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('checks its options when the module is made, naming the option', () => {
    assert.throws(() => tcp({ backlog: -1 }), (err: Error) => err.name === 'InvalidOptionError' && /tcp\.backlog=-1/.test(err.message))
    assert.throws(() => tcp({ socketInactivityTimeout: 1.5 }), /tcp\.socketInactivityTimeout=1\.5/)
    assert.throws(() => tcp({ maxConnections: '8' as never }), /tcp\.maxConnections=8/)
    assert.throws(() => tcp(null as never), /tcp options/)
  })

  it('registers its transport under TCP_TRANSPORT, which TRANSPORT points at', async () => {
    const { swarm, container } = await assembleSwarm({ modules: [tcp({ backlog: 16 })] })
    swarms.push(swarm)
    assert.equal(container.resolveAll(TRANSPORT)[0], pluginInstance(swarm, TCP_TRANSPORT))
    assert.equal(swarm.transportForDialing('/ip4/127.0.0.1/tcp/4001'), pluginInstance(swarm, TCP_TRANSPORT))
  })

  it('handles tcp addresses and nothing else', async () => {
    const s = await createSwarm({ modules: [tcp()] })
    swarms.push(s)
    assert.equal(s.transportForDialing('/ip4/127.0.0.1/tcp/4001')?.name, 'tcp')
    assert.equal(s.transportForDialing('/ip6/::1/tcp/4001')?.name, 'tcp')
    assert.equal(s.transportForDialing(`/ip4/127.0.0.1/tcp/4001/p2p/${s.localPeer.toString()}`)?.name, 'tcp')
    assert.equal(s.transportForDialing('/ip4/127.0.0.1/udp/4001/quic-v1'), undefined)
    assert.equal(s.transportForListening('/ip4/0.0.0.0/tcp/0')?.name, 'tcp')
  })

  it('records both ends of a connection', async () => {
    const a = await createSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
    const b = await createSwarm({ modules: [tcp()] })
    swarms.push(a, b)
    b.peerstore.addAddrs(a.localPeer, a.listenAddresses(), Number.MAX_SAFE_INTEGER)
    const conn = await b.dialPeer(a.localPeer)
    assert.equal(conn.remoteMultiaddr.toString(), a.listenAddresses()[0].toString())
    assert.match(conn.localMultiaddr?.toString() ?? '', /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
    const { opened, handshakeDuration, ...rest } = conn.stat()
    assert.deepEqual(rest, { direction: 'outbound', numStreams: 0, transport: 'tcp', security: '/noise', muxer: '/yamux/1.0.0', usedEarlyMuxerNegotiation: true })
    assert.ok(opened > 0)
    assert.ok(typeof handshakeDuration === 'number' && handshakeDuration >= 0)
  })

  it('listens on IPv6 loopback', async () => {
    const s = await createSwarm({ modules: [tcp()], listen: ['/ip6/::1/tcp/0'] })
    swarms.push(s)
    assert.match(s.listenAddresses()[0].toString(), /^\/ip6\/::1\/tcp\/[1-9]\d*$/)
  })

  it('expands 0.0.0.0 to interface addresses', async () => {
    const s = await createSwarm({ modules: [tcp()], listen: ['/ip4/0.0.0.0/tcp/0'] })
    swarms.push(s)
    const addrs = s.interfaceListenAddresses().map(String)
    assert.ok(addrs.some(a => a.startsWith('/ip4/127.0.0.1/tcp/')), `no loopback address among ${addrs.join(', ')}`)
    assert.ok(addrs.every(a => !a.startsWith('/ip4/0.0.0.0')))
  })

  it('listen fails with every address listed when none works', async () => {
    const a = await createSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
    swarms.push(a)
    const taken = a.listenAddresses()[0]
    const b = await createSwarm({ modules: [tcp()] })
    swarms.push(b)
    await assert.rejects(b.listen(taken, multiaddr('/ip4/127.0.0.1/udp/1/quic-v1')), (err: Error) => {
      assert.equal(err.name, 'ListenError')
      assert.match(err.message, new RegExp(taken.toString()))
      assert.match(err.message, /quic-v1/)
      return true
    })
  })
})

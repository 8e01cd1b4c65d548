import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { errorIs } from '../../src/errors.js'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { LimitResourceManager } from '../../src/resources/limit-resource-manager.js'
import { resourceLimits } from '../../src/resources/module.js'
import { memory } from '../../src/testing/memory-transport.js'
import { createTestSwarm, echoHandler, introduce, waitFor } from '../../src/testing/swarms.js'
import { readAll } from '../../src/reader.js'
import type { Swarm } from '../../src/swarm/swarm.js'

const addr = multiaddr('/ip4/1.2.3.4/tcp/1')

describe('LimitResourceManager', async () => {
  const p1 = peerIdOf(await generateIdentity())
  const p2 = peerIdOf(await generateIdentity())

  it('counts connections by total, direction and peer, and refuses past each limit by name', () => {
    const rm = new LimitResourceManager({ connections: 3, connectionsInbound: 2, connectionsPerPeer: 1 })
    const a = rm.openConnection('inbound', addr)
    a.setPeer(p1)
    const b = rm.openConnection('inbound', addr)
    assert.throws(() => rm.openConnection('inbound', addr), (err: Error) => errorIs(err, 'ResourceLimitError') && /inbound connections/.test(err.message))
    assert.throws(() => { b.setPeer(p1) }, /connections to peer/)
    assert.equal(rm.stat().connections.inbound, 1, 'a refused setPeer releases the connection')
    const c = rm.openConnection('outbound', addr)
    c.setPeer(p2)
    rm.openConnection('outbound', addr)
    assert.throws(() => rm.openConnection('outbound', addr), /connections is at its limit of 3/)
    a.done()
    a.done()
    assert.equal(rm.stat().connections.total, 2, 'done is idempotent')
  })

  it('counts streams by total, direction, peer, protocol and memory', () => {
    const rm = new LimitResourceManager({ streams: 10, streamsPerPeer: 2, streamsPerProtocol: 1, memory: 300, streamMemory: 100 })
    const s1 = rm.openStream(p1, 'inbound')
    s1.setProtocol('/a')
    const s2 = rm.openStream(p1, 'outbound')
    assert.throws(() => { s2.setProtocol('/a') }, /streams of protocol \/a/)
    assert.throws(() => rm.openStream(p1, 'inbound'), /streams with peer/)
    rm.openStream(p2, 'inbound')
    assert.throws(() => rm.openStream(p2, 'inbound'), /stream buffer memory/)
    assert.equal(rm.stat().memory, 300)
    s1.done()
    assert.equal(rm.stat().memory, 200)
    s2.setProtocol('/a')
  })

  it('exempts allow-listed peers and subnets', () => {
    const rm = new LimitResourceManager({ connections: 1, streams: 0, allowList: { peers: [p1.toString()], subnets: ['10.0.0.0/8', '2001:db8::/32'] } })
    for (let i = 0; i < 5; i++) rm.openConnection('inbound', multiaddr('/ip4/10.1.2.3/tcp/1'))
    for (let i = 0; i < 5; i++) rm.openConnection('inbound', multiaddr('/ip6/2001:db8::1/tcp/1'))
    rm.openConnection('inbound', addr).setPeer(p1)
    rm.openConnection('inbound', addr)
    assert.throws(() => rm.openConnection('inbound', addr))
    rm.openStream(p1, 'inbound')
    assert.throws(() => rm.openStream(p2, 'inbound'))
  })

  it('matches allow-listed subnets with core\'s Cidr: IPv4-mapped and zoned remotes too', () => {
    const rm = new LimitResourceManager({ connections: 0, allowList: { subnets: ['10.0.0.0/8', 'fe80::/10', '192.0.2.7'] } })
    for (const a of ['/ip4/10.1.2.3/tcp/1', '/ip6/::ffff:10.1.2.3/tcp/1', '/ip6zone/eth0/ip6/fe80::1/tcp/1', '/ip4/192.0.2.7/tcp/1']) {
      rm.openConnection('inbound', multiaddr(a))
    }
    for (const a of ['/ip4/11.0.0.1/tcp/1', '/ip6/::a01:203/tcp/1', '/ip4/192.0.2.8/tcp/1', '/dns4/example.com/tcp/1']) {
      assert.throws(() => rm.openConnection('inbound', multiaddr(a)), { name: 'ResourceLimitError' }, a)
    }
    assert.throws(() => new LimitResourceManager({ allowList: { subnets: ['10.0.0.0/33'] } }), (err: Error) => {
      assert.equal(err.name, 'InvalidOptionError')
      assert.match(err.message, /an IPv4 prefix length is 0 to 32/)
      return true
    })
  })

  it('rejects bad limits by name', () => {
    assert.throws(() => new LimitResourceManager({ connections: -1 }), /limits\.connections=-1/)
    assert.throws(() => new LimitResourceManager({ conections: 1 } as never), /limits\.conections/)
    assert.throws(() => new LimitResourceManager({ allowList: { subnets: ['10.0.0.0/33'] } }), /allowList\.subnets/)
    assert.throws(() => resourceLimits({ streams: 1.5 }), /limits\.streams=1\.5/)
  })
})

describe('resource limits in the swarm', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('refuses an inbound connection over the limit before its handshake, and keeps the established one', async () => {
    const server = await createTestSwarm({ modules: [memory(), resourceLimits({ connectionsInbound: 1 })], listen: ['/memory/0'] })
    const c1 = await createTestSwarm()
    const c2 = await createTestSwarm()
    swarms.push(server, c1, c2)
    server.setStreamHandler(echoHandler(server))
    introduce(c1, server)
    introduce(c2, server)
    await c1.dialPeer(server.localPeer)
    await assert.rejects(c2.dialPeer(server.localPeer))
    await waitFor(() => server.conns().length === 1 && c2.conns().length === 0, 'the refused connection to be gone')
    const stream = await c1.newStream(server.localPeer, { protocols: ['/echo/1.0.0'] })
    await stream.write('still here')
    await stream.closeWrite()
    assert.equal(new TextDecoder().decode(await readAll(stream)), 'still here')
    assert.equal(server.resources.stat().connections.inbound, 1)
  })

  it('fails an outbound dial over the limit with the limit named in the DialError', async () => {
    const client = await createTestSwarm({ modules: [memory(), resourceLimits({ connectionsOutbound: 0 })] })
    const server = await createTestSwarm()
    swarms.push(client, server)
    introduce(client, server)
    await assert.rejects(client.dialPeer(server.localPeer), (err: unknown) => errorIs(err, 'ResourceLimitError'))
    assert.equal(server.conns().length, 0, 'no connection was even attempted')
  })

  it('resets an inbound stream over the limit without disturbing the others, and releases counts at close', async () => {
    const server = await createTestSwarm({ modules: [memory(), resourceLimits({ streamsInbound: 1 })], listen: ['/memory/0'] })
    const client = await createTestSwarm()
    swarms.push(server, client)
    server.setStreamHandler(echoHandler(server))
    introduce(client, server)
    const first = await client.newStream(server.localPeer, { protocols: ['/echo/1.0.0'] })
    await assert.rejects(client.newStream(server.localPeer, { protocols: ['/echo/1.0.0'] }))
    await first.write('first')
    await first.closeWrite()
    assert.equal(new TextDecoder().decode(await readAll(first)), 'first')
    await waitFor(() => server.resources.stat().streams.total === 0, 'the finished stream to release its reservation')
    const again = await client.newStream(server.localPeer, { protocols: ['/echo/1.0.0'] })
    await again.write('again')
    await again.closeWrite()
    assert.equal(new TextDecoder().decode(await readAll(again)), 'again')
  })

  it('releases every reservation when the swarm closes', async () => {
    const a = await createTestSwarm()
    const b = await createTestSwarm()
    swarms.push(b)
    b.setStreamHandler(echoHandler(b))
    introduce(a, b)
    await a.newStream(b.localPeer, { protocols: ['/echo/1.0.0'] })
    assert.equal(a.resources.stat().connections.total, 1)
    assert.equal(a.resources.stat().streams.total, 1)
    await a.close()
    assert.deepEqual(a.resources.stat(), { connections: { total: 0, inbound: 0, outbound: 0 }, streams: { total: 0, inbound: 0, outbound: 0 }, memory: 0 })
  })
})

import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { BasicConnectionManager } from '../../src/connmgr/connection-manager.js'
import { connectionManager } from '../../src/connmgr/module.js'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { CONNECTION_MANAGER } from '../../src/tokens.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { memory } from '../../src/testing/memory-transport.js'
import { createTestSwarm, introduce, waitFor } from '../../src/testing/swarms.js'
import { createSwarm } from '../../src/create-swarm.js'
import { pluginInstance } from '../../src/plugin.js'
import type { Conn } from '../../src/interfaces/connection.js'
import type { Notifiee } from '../../src/interfaces/notifiee.js'
import type { Network } from '../../src/interfaces/network.js'
import type { Swarm } from '../../src/swarm/swarm.js'
import type { PeerId } from '@libp2p/interface'

/** A network of fake connections: enough for the manager, at go's test sizes, without sockets. */
class FakeNetwork {
  readonly notifiees = new Set<Notifiee>()
  readonly open = new Set<Conn>()
  asNetwork (): Network {
    return {
      notify: (n: Notifiee) => { this.notifiees.add(n) },
      stopNotify: (n: Notifiee) => { this.notifiees.delete(n) },
      conns: () => [...this.open]
    } as unknown as Network
  }

  connect (peer: PeerId, opts: { direction?: 'inbound' | 'outbound', streams?: number } = {}): Conn {
    const conn = {
      remotePeer: peer,
      stat: () => ({ direction: opts.direction ?? 'outbound', numStreams: opts.streams ?? 0 }),
      close: async () => {
        if (!this.open.delete(conn)) return
        for (const n of this.notifiees) n.disconnected?.(conn)
      }
    } as unknown as Conn
    this.open.add(conn)
    for (const n of this.notifiees) n.connected?.(conn)
    return conn
  }
}

async function peers (n: number): Promise<PeerId[]> {
  return Promise.all(Array.from({ length: n }, async () => peerIdOf(await generateIdentity())))
}

describe('BasicConnectionManager (go connmgr_test)', async () => {
  const pool = await peers(310)

  it('trims down to low water, keeping the tagged and closing the negatively tagged (TestConnTrimming)', async () => {
    const clock = new ManualClock()
    const net = new FakeNetwork()
    const cm = new BasicConnectionManager(clock, { lowWater: 200, highWater: 300, gracePeriod: 0 })
    cm.start(net.asNetwork())
    const conns = pool.slice(0, 300).map(p => net.connect(p))
    for (let i = 0; i < 100; i++) cm.tagPeer(pool[i], 'keep', 10)
    cm.tagPeer(pool[299], 'bad', -5)
    const closed = await cm.trimOpenConns()
    assert.equal(closed.length, 100)
    assert.equal(net.open.size, 200)
    for (let i = 0; i < 100; i++) assert.ok(net.open.has(conns[i]), `tagged peer ${i} was trimmed`)
    assert.ok(!net.open.has(conns[299]), 'the negatively tagged peer survived')
    cm.stop()
  })

  it('does nothing at or below low water, or while too many connections are in their grace period (TestConnsToClose, TestGracePeriod)', async () => {
    const clock = new ManualClock()
    const net = new FakeNetwork()
    const cm = new BasicConnectionManager(clock, { lowWater: 5, highWater: 10, gracePeriod: 60_000 })
    cm.start(net.asNetwork())
    for (const p of pool.slice(0, 5)) net.connect(p)
    assert.deepEqual(cm.connsToClose(), [])
    for (const p of pool.slice(5, 20)) net.connect(p)
    assert.deepEqual(cm.connsToClose(), [], 'every connection is still in its grace period')
    clock.advance(60_001)
    assert.equal(cm.connsToClose().length, 15)
    cm.stop()
  })

  it('never trims protected peers; protection is per tag (TestPeerProtectionMultipleTags)', async () => {
    const clock = new ManualClock()
    const net = new FakeNetwork()
    const cm = new BasicConnectionManager(clock, { lowWater: 1, highWater: 2, gracePeriod: 0 })
    cm.start(net.asNetwork())
    const conns = pool.slice(0, 4).map(p => net.connect(p))
    cm.protect(pool[0], 'a')
    cm.protect(pool[0], 'b')
    assert.equal(cm.unprotect(pool[0], 'a'), true)
    assert.equal(cm.isProtected(pool[0]), true)
    assert.equal(cm.isProtected(pool[0], 'a'), false)
    await cm.trimOpenConns()
    assert.ok(net.open.has(conns[0]))
    assert.equal(cm.unprotect(pool[0], 'b'), false)
    cm.stop()
  })

  it('drops temporary (tag-only) entries first and turns them into real entries on connection', async () => {
    const clock = new ManualClock()
    const net = new FakeNetwork()
    const cm = new BasicConnectionManager(clock, { lowWater: 1, highWater: 2, gracePeriod: 0 })
    cm.start(net.asNetwork())
    cm.tagPeer(pool[50], 'seen', 100)
    assert.equal(cm.getTagInfo(pool[50])?.conns.length, 0)
    for (const p of pool.slice(0, 3)) net.connect(p)
    await cm.trimOpenConns()
    assert.equal(cm.getTagInfo(pool[50]), undefined, 'the temporary entry was cleared')
    cm.tagPeer(pool[60], 'x', 1)
    net.connect(pool[60])
    assert.equal(cm.getTagInfo(pool[60])?.conns.length, 1)
    cm.stop()
  })

  it('orders victims as go does: lower value, then no streams, then inbound-only, then fewer streams (TestPeerInfoSorting)', async () => {
    const clock = new ManualClock()
    const net = new FakeNetwork()
    const cm = new BasicConnectionManager(clock, { lowWater: 1, highWater: 10, gracePeriod: 0 })
    cm.start(net.asNetwork())
    const rich = net.connect(pool[0], { streams: 0 })
    cm.tagPeer(pool[0], 'v', 10)
    const outboundBusy = net.connect(pool[1], { direction: 'outbound', streams: 5 })
    const inboundBusy = net.connect(pool[2], { direction: 'inbound', streams: 5 })
    const idle = net.connect(pool[3], { streams: 0 })
    const fewer = net.connect(pool[4], { direction: 'outbound', streams: 1 })
    assert.deepEqual(cm.connsToClose(), [idle, inboundBusy, fewer, outboundBusy])
    assert.ok(!cm.connsToClose().includes(rich))
    cm.stop()
  })

  it('tags add up, upsert and untag (TestUpsertTag, TestUntagPeer)', () => {
    const cm = new BasicConnectionManager(new ManualClock())
    cm.tagPeer(pool[0], 'a', 5)
    cm.tagPeer(pool[0], 'b', 3)
    cm.upsertTag(pool[0], 'a', v => v + 1)
    assert.equal(cm.getTagInfo(pool[0])?.value, 9)
    cm.untagPeer(pool[0], 'a')
    assert.equal(cm.getTagInfo(pool[0])?.value, 3)
    assert.deepEqual([...(cm.getTagInfo(pool[0])?.tags ?? [])], [['b', 3]])
  })

  it('trims by itself above high water, at most once per silence period', async () => {
    const clock = new ManualClock()
    const net = new FakeNetwork()
    const cm = new BasicConnectionManager(clock, { lowWater: 2, highWater: 4, gracePeriod: 0, silencePeriod: 10_000 })
    const trims: number[] = []
    cm.onTrim(closed => { trims.push(closed.length) })
    cm.start(net.asNetwork())
    for (const p of pool.slice(0, 5)) net.connect(p)
    clock.advance(0)
    await waitFor(() => trims.length === 1, 'the first trim')
    assert.equal(net.open.size, 2)
    for (const p of pool.slice(5, 10)) net.connect(p)
    clock.advance(5_000)
    assert.equal(trims.length, 1, 'a second trim waits for the silence period')
    clock.advance(5_000)
    await waitFor(() => trims.length === 2, 'the second trim')
    assert.equal(net.open.size, 2)
    cm.stop()
    assert.equal(clock.pendingTimers, 0)
  })

  it('rejects bad options by name', () => {
    assert.throws(() => connectionManager({ lowWater: 10, highWater: 5 }), /connectionManager\.lowWater=10/)
    assert.throws(() => connectionManager({ gracePeriod: -1 }), /connectionManager\.gracePeriod=-1/)
  })
})

describe('connectionManager() in a swarm', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('trims real connections above high water and keeps a protected peer', async () => {
    const hub = await createSwarm({ modules: [memory(), connectionManager({ lowWater: 1, highWater: 3, gracePeriod: 0, silencePeriod: 0 })], listen: ['/memory/0'] })
    swarms.push(hub)
    const cm = pluginInstance(hub, CONNECTION_MANAGER)
    const closed: Conn[] = []
    cm.onTrim(c => { closed.push(...c) })
    const spokes = await Promise.all(Array.from({ length: 5 }, async () => createTestSwarm()))
    swarms.push(...spokes)
    cm.protect(spokes[0].localPeer, 'friend')
    for (const s of spokes) {
      introduce(s, hub)
      await s.dialPeer(hub.localPeer)
    }
    await waitFor(() => hub.conns().length <= 3 && closed.length > 0, 'the hub to trim')
    assert.equal(hub.connectedness(spokes[0].localPeer), 'connected', 'the protected peer was trimmed')
    assert.ok(closed.every(c => !c.remotePeer.equals(spokes[0].localPeer)))
  })
})

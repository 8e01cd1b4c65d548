import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, CLOCK, createSwarm, errorIs, pluginInstance } from '@tswarm/core'
import { ManualClock, memory } from '@tswarm/core/testing'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { PERSISTENT_PEERSTORE, PersistentPeerstore, persistentPeerstore } from '../../src/index.js'
import { waitFor } from '../helpers.js'
import type { PersistentPeerstoreOptions } from '../../src/index.js'
import type { PeerId } from '@libp2p/interface'
import type { Swarm, SwarmModule } from '@tswarm/core'
import type { Batch, Datastore } from 'interface-datastore'

const ma = (s: string): ReturnType<typeof multiaddr> => multiaddr(s)

async function newPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function clockModule (clock: ManualClock): SwarmModule {
  return { name: 'manual-clock', register: c => { c.register(CLOCK, { useValue: clock }) } }
}

/** A swarm (memory transport) whose peerstore is persistent: the way users select it, through DI. */
async function swarmWith (clock: ManualClock, options: PersistentPeerstoreOptions): Promise<{ swarm: Swarm, store: PersistentPeerstore }> {
  const swarm = await createSwarm({ modules: [memory(), clockModule(clock), persistentPeerstore(options)] })
  assert.ok(swarm.peerstore instanceof PersistentPeerstore, 'the module did not replace the in-memory peerstore')
  assert.equal(pluginInstance(swarm, PERSISTENT_PEERSTORE), swarm.peerstore, 'the plugin instance is the swarm\'s peerstore')
  return { swarm, store: swarm.peerstore }
}

/** A datastore whose batches can be made to fail or to hang. */
class FlakyDatastore extends MemoryDatastore {
  failing = false
  hang: Promise<void> | undefined
  commits = 0

  override batch (): Batch {
    const inner = super.batch()
    return {
      put: (key, value) => { inner.put(key, value) },
      delete: key => { inner.delete(key) },
      commit: async () => {
        this.commits++
        if (this.hang !== undefined) await this.hang
        if (this.failing) throw new Error('disk full')
        await inner.commit()
      }
    }
  }
}

const key = (peer: PeerId): Key => new Key(`/peers/${peer.toString()}`)

async function has (ds: Datastore, peer: PeerId): Promise<boolean> {
  return await ds.has(key(peer))
}

describe('PersistentPeerstore', () => {
  it('is selected through DI and writes behind: nothing until writeDelay, then one batch', async () => {
    const clock = new ManualClock()
    const datastore = new FlakyDatastore()
    const { swarm, store } = await swarmWith(clock, { datastore, writeDelay: 500 })
    try {
      const peers = await Promise.all([newPeer(), newPeer(), newPeer()])
      for (const p of peers) store.addAddrs(p, [ma('/ip4/10.0.0.1/tcp/1')], AddrTTL.PERMANENT)
      store.addProtocols(peers[0], ['/a/1.0.0'])
      assert.equal(store.pendingPeers, 3)
      assert.equal(datastore.commits, 0)
      clock.advance(499)
      assert.equal(datastore.commits, 0)
      clock.advance(1)
      await waitFor(() => store.pendingPeers === 0 && datastore.commits === 1, 'the write-behind')
      // the write has started; flush() waits for it to finish
      await store.flush()
      assert.equal(datastore.commits, 1)
      for (const p of peers) assert.ok(await has(datastore, p))
    } finally {
      await swarm.close()
    }
  })

  it('writes at once when maxPendingPeers peers changed', async () => {
    const clock = new ManualClock()
    const datastore = new FlakyDatastore()
    const { swarm, store } = await swarmWith(clock, { datastore, maxPendingPeers: 2, writeDelay: 60_000 })
    try {
      store.addProtocols(await newPeer(), ['/a'])
      assert.equal(datastore.commits, 0)
      store.addProtocols(await newPeer(), ['/b'])
      await waitFor(() => datastore.commits === 1, 'the immediate write')
    } finally {
      await swarm.close()
    }
  })

  it('restores addresses with their TTLs and expiries, keys, protocols and metadata after a restart', async () => {
    const clock = new ManualClock()
    const datastore = new MemoryDatastore()
    const [p1, p2, gone] = await Promise.all([newPeer(), newPeer(), newPeer()])
    const rsa = await generateKeyPair('RSA', 1024)
    const rsaPeer = peerIdFromPrivateKey(rsa)
    const first = await swarmWith(clock, { datastore })
    const s1 = first.store
    s1.addAddrs(p1, [ma('/ip4/1.1.1.1/tcp/1')], AddrTTL.PERMANENT)
    s1.addAddrs(p1, [ma('/ip4/2.2.2.2/tcp/2')], AddrTTL.TEMP)
    s1.addAddrs(p1, [ma(`/ip4/3.3.3.3/tcp/3/p2p/${p1.toString()}`)], AddrTTL.CONNECTED)
    s1.addAddrs(p1, [ma(`/ip4/4.4.4.4/tcp/4/p2p/${p2.toString()}`)], AddrTTL.PERMANENT) // names another peer: ignored
    s1.addProtocols(p1, ['/a/1.0.0', '/b/1.0.0'])
    s1.put(p1, 'bytes', new Uint8Array([1, 2, 3]))
    s1.put(p1, 'text', 'agent/1.0')
    s1.put(p1, 'json', { n: 1, list: ['x'] })
    s1.put(p1, 'fn', () => 1) // cannot be stored: memory only
    s1.addPubKey(rsaPeer, rsa.publicKey)
    s1.put(p2, 'only-metadata', 42)
    s1.addProtocols(gone, ['/gone'])
    clock.advance(30_000)
    s1.removePeer(gone)
    await first.swarm.close()
    assert.equal(await has(datastore, gone), false)

    const { swarm, store } = await swarmWith(clock, { datastore })
    try {
      assert.deepEqual(store.addrs(p1).map(String).sort(), ['/ip4/1.1.1.1/tcp/1', '/ip4/2.2.2.2/tcp/2', '/ip4/3.3.3.3/tcp/3'])
      assert.deepEqual(store.getProtocols(p1), ['/a/1.0.0', '/b/1.0.0'])
      assert.deepEqual(store.get(p1, 'bytes'), new Uint8Array([1, 2, 3]))
      assert.equal(store.get(p1, 'text'), 'agent/1.0')
      assert.deepEqual(store.get(p1, 'json'), { n: 1, list: ['x'] })
      assert.equal(store.get(p1, 'fn'), undefined)
      assert.ok(store.pubKey(rsaPeer)?.equals(rsa.publicKey))
      assert.equal(store.get(p2, 'only-metadata'), 42)
      assert.deepEqual(store.getProtocols(gone), [])

      // the TEMP address keeps its original expiry (added 30 s before the restart, 2 min TTL)
      clock.advance(AddrTTL.TEMP - 30_000 - 1)
      assert.ok(store.addrs(p1).some(a => a.toString() === '/ip4/2.2.2.2/tcp/2'))
      clock.advance(1)
      assert.ok(!store.addrs(p1).some(a => a.toString() === '/ip4/2.2.2.2/tcp/2'))
      // the CONNECTED address came back RECENTLY_CONNECTED, so updateAddrs by that TTL still finds it
      store.updateAddrs(p1, AddrTTL.RECENTLY_CONNECTED, 0)
      assert.deepEqual(store.addrs(p1).map(String), ['/ip4/1.1.1.1/tcp/1'])
      clock.advance(365 * 24 * 3600 * 1000)
      assert.deepEqual(store.addrs(p1).map(String), ['/ip4/1.1.1.1/tcp/1'])
    } finally {
      await swarm.close()
    }
  })

  it('skips unreadable entries and loads the rest', async () => {
    const clock = new ManualClock()
    const datastore = new MemoryDatastore()
    const good = await newPeer()
    const first = await swarmWith(clock, { datastore })
    first.store.addProtocols(good, ['/ok'])
    await first.swarm.close()
    await datastore.put(new Key('/peers/not-a-peer-id'), new Uint8Array([1]))
    await datastore.put(key(await newPeer()), new Uint8Array([0xff, 0xff, 0xff]))
    const { swarm, store } = await swarmWith(clock, { datastore })
    try {
      assert.deepEqual(store.getProtocols(good), ['/ok'])
    } finally {
      await swarm.close()
    }
  })

  it('keeps changes pending and retries when the datastore fails; flush and close report it', async () => {
    const clock = new ManualClock()
    const datastore = new FlakyDatastore()
    const { swarm, store } = await swarmWith(clock, { datastore, writeDelay: 100 })
    const peer = await newPeer()
    datastore.failing = true
    store.addProtocols(peer, ['/x'])
    await assert.rejects(store.flush(), { name: 'PeerstoreWriteError', message: /disk full/ })
    assert.equal(store.pendingPeers, 1)
    datastore.failing = false
    clock.advance(100)
    await waitFor(() => store.pendingPeers === 0, 'the retry')
    await store.flush()
    assert.ok(await has(datastore, peer))
    datastore.failing = true
    store.addProtocols(peer, ['/y'])
    await assert.rejects(swarm.close(), (err: unknown) => errorIs(err, 'PeerstoreWriteError'))
  })

  it('never makes the peerstore wait for the datastore', async () => {
    const clock = new ManualClock()
    const datastore = new FlakyDatastore()
    let unblock = (): void => {}
    const { swarm, store } = await swarmWith(clock, { datastore, maxPendingPeers: 1 })
    datastore.hang = new Promise(resolve => { unblock = resolve })
    const peers = await Promise.all(Array.from({ length: 50 }, newPeer))
    const started = performance.now()
    for (const p of peers) {
      store.addAddrs(p, [ma('/ip4/10.1.1.1/tcp/1')], AddrTTL.CONNECTED)
      assert.equal(store.addrs(p).length, 1)
    }
    assert.ok(performance.now() - started < 500)
    assert.ok(datastore.commits >= 1, 'a write should be in flight')
    unblock()
    await swarm.close()
    for (const p of peers) assert.ok(await has(datastore, p))
  })

  it('validates its options', () => {
    assert.throws(() => persistentPeerstore({}), { name: 'InvalidOptionError' })
    assert.throws(() => persistentPeerstore({ path: '/tmp/x', datastore: new MemoryDatastore() }), { name: 'InvalidOptionError' })
    assert.throws(() => persistentPeerstore({ datastore: new MemoryDatastore(), writeDelay: -1 }), { name: 'InvalidOptionError' })
    assert.throws(() => persistentPeerstore({ datastore: new MemoryDatastore(), prefix: 'peers' }), { name: 'InvalidOptionError' })
  })
})

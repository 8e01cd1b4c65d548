import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, it } from 'node:test'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { createSwarm, errorIs, generateIdentity, peerIdOf, pluginInstance } from '@tswarm/core'
import { createTestSwarm, introduce } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { ALLOW_LIST, BLOCK_LIST, BLOCK_LIST_PREFIX, allowList, blockList } from '../src/index.js'
import { tempDir } from './helpers.js'
import type { Swarm } from '@tswarm/core'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

describe('rules in a datastore', () => {
  const swarms: Swarm[] = []
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
    for (const c of cleanups.splice(0)) await c()
  })
  const dir = async (): Promise<string> => {
    const d = await tempDir()
    cleanups.push(d.remove)
    return d.path
  }

  it('keeps block rules across a restart from the same LevelDB path', async () => {
    const path = await dir()
    const target = await createTestSwarm({ modules: [tcp()], listen: LOOPBACK })
    swarms.push(target)
    const other = peerIdOf(await generateIdentity())

    const first = blockList({ path })
    const s1 = await createSwarm({ modules: [tcp(), first] })
    await pluginInstance(s1, BLOCK_LIST).blockPeer(target.localPeer)
    await pluginInstance(s1, BLOCK_LIST).blockPeer(other)
    await pluginInstance(s1, BLOCK_LIST).unblockPeer(other)
    await pluginInstance(s1, BLOCK_LIST).blockAddr('192.0.2.7')
    await pluginInstance(s1, BLOCK_LIST).blockSubnet('198.51.100.0/24')
    await pluginInstance(s1, BLOCK_LIST).blockSubnet('2001:db8:a::/48')
    await s1.close()

    // A new module, as a restarted process would make: only the directory carries the rules.
    const second = blockList({ path })
    const s2 = await createSwarm({ modules: [tcp(), second] })
    swarms.push(s2)
    assert.deepEqual(pluginInstance(s2, BLOCK_LIST).blockedPeers().map(String), [target.localPeer.toString()])
    assert.deepEqual(pluginInstance(s2, BLOCK_LIST).blockedAddrs().map(String), ['192.0.2.7'])
    assert.deepEqual(pluginInstance(s2, BLOCK_LIST).blockedSubnets().map(String).sort(), ['198.51.100.0/24', '2001:db8:a::/48'])
    assert.ok(pluginInstance(s2, BLOCK_LIST).isAddrBlocked('2001:db8:a:ffff::1'))
    introduce(s2, target)
    await assert.rejects(s2.dialPeer(target.localPeer), /"block-list" refused at interceptPeerDial/)
  })

  it('fails the swarm\'s start on a corrupt record, naming the service and the key, and leaves the record alone', async () => {
    const path = await dir()
    const store = new LevelDatastore(path)
    await store.open()
    const bad = new Key(`${BLOCK_LIST_PREFIX}/subnet/${encodeURIComponent('10.0.0.0/8')}`)
    await store.put(bad, new TextEncoder().encode('10.0.0.0/99'))
    await store.close()

    await assert.rejects(createSwarm({ modules: [tcp(), blockList({ path })] }), (err: Error) => {
      assert.equal(err.name, 'SwarmAssemblyError')
      assert.match(err.message, /service "block-list" failed to start/)
      assert.match(err.message, /corrupt record at key \/tswarm\/gater\/v1\/block-list\/subnet\/10.0.0.0%2F8/)
      assert.match(err.message, /never repaired automatically/)
      assert.ok(errorIs(err, 'GaterStoreError'))
      return true
    })
    const reopened = new LevelDatastore(path)
    await reopened.open()
    assert.equal(new TextDecoder().decode(await reopened.get(bad)), '10.0.0.0/99', 'the record was not discarded')
    await reopened.close()
  })

  it('fails on a record whose key and value disagree, or of an unknown kind', async () => {
    for (const [key, value] of [
      [`${BLOCK_LIST_PREFIX}/addr/192.0.2.1`, '192.0.2.2'],
      [`${BLOCK_LIST_PREFIX}/port/4001`, '4001'],
      [`${BLOCK_LIST_PREFIX}/peer/x`, 'not a peer']
    ]) {
      const datastore = new MemoryDatastore()
      await datastore.put(new Key(key), new TextEncoder().encode(value))
      await assert.rejects(createSwarm({ modules: [tcp(), blockList({ datastore })] }), (err: Error) => {
        assert.ok(errorIs(err, 'GaterStoreError'), String(err))
        assert.ok(err.message.includes(key), err.message)
        return true
      })
    }
  })

  it('fails with a clear error when the LevelDB files are damaged, and leaves them as they were', async () => {
    const path = await dir()
    const first = blockList({ path })
    const s1 = await createSwarm({ modules: [tcp(), first] })
    await pluginInstance(s1, BLOCK_LIST).blockAddr('192.0.2.1')
    await s1.close()
    await writeFile(join(path, 'CURRENT'), 'garbage')
    await assert.rejects(createSwarm({ modules: [tcp(), blockList({ path })] }), (err: Error) => {
      assert.match(err.message, /service "block-list" failed to start/)
      assert.match(err.message, new RegExp(`could not open the LevelDB rule store at ${path}`))
      assert.match(err.message, /Corruption/i)
      return true
    })
    assert.equal(await readFile(join(path, 'CURRENT'), 'utf8'), 'garbage')
  })

  it('fails with a clear error when the path cannot hold a store, or is in use', async () => {
    const path = await dir()
    const file = join(path, 'a-file')
    await writeFile(file, 'not a directory')
    await assert.rejects(createSwarm({ modules: [tcp(), blockList({ path: file })] }), (err: Error) => {
      assert.ok(errorIs(err, 'GaterStoreError'))
      assert.match(err.message, new RegExp(`could not open the LevelDB rule store at ${file}`))
      return true
    })
    const holder = await createSwarm({ modules: [tcp(), blockList({ path })] })
    swarms.push(holder)
    await assert.rejects(createSwarm({ modules: [tcp(), blockList({ path })] }), /is using this store/)
  })

  it('keeps both lists in one shared datastore, each under its own prefix', async () => {
    const datastore = new MemoryDatastore()
    const blocks = blockList({ datastore })
    const members = allowList({ datastore, subnets: ['127.0.0.0/8'] })
    const s1 = await createSwarm({ modules: [tcp(), blocks, members] })
    await pluginInstance(s1, BLOCK_LIST).blockAddr('192.0.2.9')
    await s1.close()
    const blocks2 = blockList({ datastore })
    const members2 = allowList({ datastore })
    const s2 = await createSwarm({ modules: [tcp(), blocks2, members2] })
    swarms.push(s2)
    assert.deepEqual(pluginInstance(s2, BLOCK_LIST).blockedAddrs().map(String), ['192.0.2.9'])
    assert.deepEqual(pluginInstance(s2, BLOCK_LIST).blockedSubnets(), [])
    assert.deepEqual(pluginInstance(s2, ALLOW_LIST).allowedSubnets().map(String), ['127.0.0.0/8'])
  })

  it('does not apply a rule the store failed to save', async () => {
    const datastore = new MemoryDatastore()
    const mod = blockList({ datastore })
    const s = await createSwarm({ modules: [tcp(), mod] })
    swarms.push(s)
    datastore.put = () => { throw new Error('disk full') }
    await assert.rejects(pluginInstance(s, BLOCK_LIST).blockSubnet('10.0.0.0/8'), (err: Error) => {
      assert.equal(err.name, 'GaterStoreError')
      assert.match(err.message, /could not save the subnet rule 10.0.0.0\/8 .*disk full; the rule was not changed/)
      return true
    })
    assert.deepEqual(pluginInstance(s, BLOCK_LIST).blockedSubnets(), [])
  })
})

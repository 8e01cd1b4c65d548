import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { createSwarm, errorIs, generateIdentity, peerIdOf, pluginInstance } from '@tswarm/core'
import { createTestSwarm, echoHandler, introduce, memory, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { BLOCK_LIST, blockList } from '../src/index.js'
import { ECHO, echo, rawConnect, tcpPort } from './helpers.js'
import type { BlockList } from '../src/index.js'
import type { Swarm, SwarmModule } from '@tswarm/core'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

describe('blockList()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
  const make = async (modules: SwarmModule[], listen = LOOPBACK, transport: () => SwarmModule = tcp): Promise<Swarm> => {
    const s = await createTestSwarm({ modules: [transport(), ...modules], listen })
    s.setStreamHandler(echoHandler(s, ECHO))
    swarms.push(s)
    return s
  }
  const listOf = (s: Swarm): BlockList => pluginInstance(s, BLOCK_LIST)

  describe('options', () => {
    it('checks its options when created, with typed errors', () => {
      assert.throws(() => blockList({ peers: ['not-a-peer'] }), { name: 'InvalidPeerIdError' })
      assert.throws(() => blockList({ addrs: ['300.1.1.1'] }), { name: 'InvalidIpAddressError' })
      assert.throws(() => blockList({ addrs: ['/dns4/example.com/tcp/1'] }), { name: 'InvalidIpAddressError' })
      assert.throws(() => blockList({ subnets: ['10.0.0.0/33'] }), { name: 'InvalidCidrError' })
      assert.throws(() => blockList({ path: '' }), (err: Error) => err.name === 'InvalidOptionError' && err.message.includes('blockList.path'))
      assert.throws(() => blockList({ datastore: {} as never }), /blockList.datastore/)
      assert.throws(() => blockList({ closeConnections: 'yes' as never }), /blockList.closeConnections/)
      assert.throws(() => blockList({ peers: 'x' as never }), /blockList.peers=x: expected an array/)
    })

    it('applies the configured rules when the swarm starts', async () => {
      const peer = peerIdOf(await generateIdentity())
      const mod = blockList({ peers: [peer.toString()], addrs: ['192.0.2.7'], subnets: ['2001:db8::/32'] })
      const a = await make([mod])
      assert.deepEqual(listOf(a).blockedPeers().map(String), [peer.toString()])
      assert.deepEqual(listOf(a).blockedAddrs().map(String), ['192.0.2.7'])
      assert.deepEqual(listOf(a).blockedSubnets().map(String), ['2001:db8::/32'])
      assert.ok(listOf(a).isAddrBlocked('2001:db8:1::9'))
      assert.ok(listOf(a).isAddrBlocked('/ip4/192.0.2.7/tcp/80'))
      assert.ok(!listOf(a).isAddrBlocked('192.0.2.8'))
    })
  })

  describe('lifecycle', () => {
    it('says what to do when asked about a swarm made without it', async () => {
      const a = await make([])
      assert.throws(() => listOf(a), (err: Error) => err.name === 'PluginNotFoundError' && /createSwarm/.test(err.message))
    })

    it('refuses changes once the swarm is closed', async () => {
      const mod = blockList()
      const s = await make([mod])
      await s.close()
      await assert.rejects(listOf(s).blockAddr('192.0.2.1'), (err: Error) => err.name === 'GaterStateError' && /closed/.test(err.message))
    })

    it('serves one running swarm at a time; a later swarm keeps the rules held in memory', async () => {
      const mod = blockList()
      const first = await make([mod])
      await listOf(first).blockSubnet('198.51.100.0/24')
      await assert.rejects(createSwarm({ modules: [tcp(), mod] }), (err: Error) => {
        assert.equal(err.name, 'ModuleRegistrationError')
        assert.match(err.message, /already serves a running swarm/)
        return true
      })
      await first.close()
      const second = await make([mod])
      assert.deepEqual(listOf(second).blockedSubnets().map(String), ['198.51.100.0/24'])
    })

    it('refuses to be registered twice in one swarm', async () => {
      await assert.rejects(createSwarm({ modules: [tcp(), blockList(), blockList()] }), /registered twice in one swarm/)
    })
  })

  describe('rules', () => {
    it('blocks and unblocks peers, refusing dials with a named error', async () => {
      const mod = blockList()
      const a = await make([mod], ['/memory/0'], memory)
      const b = await make([], ['/memory/0'], memory)
      introduce(a, b)
      await listOf(a).blockPeer(b.localPeer.toString())
      assert.ok(listOf(a).isPeerBlocked(b.localPeer))
      await assert.rejects(a.dialPeer(b.localPeer), (err: Error) => {
        assert.ok(errorIs(err, 'GaterDisallowedError'))
        assert.match(err.message, /connection gater "block-list" refused at interceptPeerDial/)
        return true
      })
      await listOf(a).unblockPeer(b.localPeer)
      assert.deepEqual(listOf(a).blockedPeers(), [])
      assert.equal(await echo(a, b.localPeer, 'hi'), 'hi')
    })

    it('rejects malformed input with typed errors and changes nothing', async () => {
      const mod = blockList()
      const a = await make([mod])
      await assert.rejects(listOf(a).blockPeer('12D3KooWnope'), { name: 'InvalidPeerIdError' })
      await assert.rejects(listOf(a).blockAddr('1.2.3'), { name: 'InvalidIpAddressError' })
      await assert.rejects(listOf(a).blockSubnet('1.2.3.4/40'), { name: 'InvalidCidrError' })
      await assert.rejects(listOf(a).blockSubnet('fe80::/200'), { name: 'InvalidCidrError' })
      assert.deepEqual([listOf(a).blockedPeers(), listOf(a).blockedAddrs(), listOf(a).blockedSubnets()], [[], [], []])
    })

    it('applies changes in the order they were asked', async () => {
      const mod = blockList()
      const a = await make([mod])
      const peer = peerIdOf(await generateIdentity())
      await Promise.all([listOf(a).blockPeer(peer), listOf(a).unblockPeer(peer), listOf(a).blockPeer(peer), listOf(a).unblockPeer(peer)])
      assert.equal(listOf(a).isPeerBlocked(peer), false)
    })

    it('refuses dials to a blocked address or subnet at the address gate', async () => {
      const mod = blockList()
      const a = await make([mod])
      const b = await make([])
      introduce(a, b)
      await listOf(a).blockAddr('127.0.0.1')
      await assert.rejects(a.dialPeer(b.localPeer), (err: Error) => {
        assert.ok(errorIs(err, 'NoGoodAddressesError'))
        assert.match(err.message, /"block-list" refused at interceptAddrDial/)
        return true
      })
      await listOf(a).unblockAddr('127.0.0.1')
      await listOf(a).blockSubnet('127.0.0.0/8')
      await assert.rejects(a.dialPeer(b.localPeer), /"block-list" refused at interceptAddrDial/)
      await listOf(a).unblockSubnet('127.0.0.0/8')
      a.backoff().clear(b.localPeer)
      assert.equal(await echo(a, b.localPeer, 'open again'), 'open again')
    })

    it('closes a blocked address\'s socket at accept without a handshake byte', async () => {
      const mod = blockList({ subnets: ['127.0.0.0/8'] })
      const a = await make([mod])
      // A multistream-select header: an accepted connection would answer it.
      const header = new Uint8Array([19, ...new TextEncoder().encode('/multistream/1.0.0\n')])
      const result = await rawConnect(tcpPort(a), '127.0.0.1', header, 5_000)
      assert.equal(result.received, 0)
      assert.notEqual(result.closedBy, 'client', 'the server did not close the refused socket')
    })

    it('refuses IPv6 subnets too', async () => {
      const mod = blockList({ subnets: ['::1/128'] })
      const a = await make([mod], ['/ip6/::1/tcp/0'])
      const b = await make([], ['/ip6/::1/tcp/0'])
      introduce(b, a)
      assert.notEqual(await echo(b, a.localPeer, 'v6').catch(() => 'refused'), 'v6')
      assert.equal(a.conns().length, 0)
      await listOf(a).unblockSubnet('::1/128')
      b.backoff().clear(a.localPeer)
      assert.equal(await echo(b, a.localPeer, 'v6'), 'v6')
    })

    it('closes a peer\'s live connections when it is blocked', async () => {
      const mod = blockList()
      const a = await make([mod])
      const b = await make([])
      introduce(b, a)
      await b.dialPeer(a.localPeer)
      await waitFor(() => a.connectedness(b.localPeer) === 'connected', 'a to see b')
      await listOf(a).blockPeer(b.localPeer)
      assert.equal(a.connectedness(b.localPeer), 'notConnected', 'closed by the time blockPeer resolved')
      await waitFor(() => b.connectedness(a.localPeer) === 'notConnected', 'b to see the connection close')
    })

    it('closes the live connections of a subnet when it is blocked, and only those', async () => {
      const mod = blockList()
      const a = await make([mod], ['/ip4/127.0.0.1/tcp/0', '/ip6/::1/tcp/0'])
      const v4 = await make([])
      const v6 = await make([], ['/ip6/::1/tcp/0'])
      v4.peerstore.addAddrs(a.localPeer, [multiaddr(a.listenAddresses().find(x => x.toString().startsWith('/ip4')) ?? '')], 1e9)
      v6.peerstore.addAddrs(a.localPeer, [multiaddr(a.listenAddresses().find(x => x.toString().startsWith('/ip6')) ?? '')], 1e9)
      await Promise.all([v4.dialPeer(a.localPeer), v6.dialPeer(a.localPeer)])
      await waitFor(() => a.conns().length === 2, 'both connections at a')
      await listOf(a).blockSubnet('127.0.0.0/8')
      assert.equal(a.connectedness(v4.localPeer), 'notConnected')
      assert.equal(a.connectedness(v6.localPeer), 'connected', 'the IPv6 connection is not in the subnet')
      const closeNothing = blockList({ closeConnections: false })
      const c = await make([closeNothing])
      introduce(v6, c)
      await v6.dialPeer(c.localPeer)
      await waitFor(() => c.connectedness(v6.localPeer) === 'connected', 'c to see the connection')
      await listOf(c).blockPeer(v6.localPeer)
      assert.equal(c.connectedness(v6.localPeer), 'connected', 'closeConnections: false leaves live connections alone')
    })
  })
})

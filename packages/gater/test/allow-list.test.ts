import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { errorIs, generateIdentity, peerIdOf, pluginInstance } from '@tswarm/core'
import { createTestSwarm, echoHandler, introduce, memory, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { ALLOW_LIST, allowList } from '../src/index.js'
import { ECHO, echo, rawConnect, tcpPort } from './helpers.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Swarm, SwarmModule } from '@tswarm/core'

describe('allowList()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
  const make = async (modules: SwarmModule[], opts: { privateKey?: PrivateKey, tcp?: boolean } = {}): Promise<Swarm> => {
    const s = await createTestSwarm({
      privateKey: opts.privateKey,
      modules: [opts.tcp === true ? tcp() : memory(), ...modules],
      listen: [opts.tcp === true ? '/ip4/127.0.0.1/tcp/0' : '/memory/0']
    })
    s.setStreamHandler(echoHandler(s, ECHO))
    swarms.push(s)
    return s
  }

  it('lets only listed peers connect, in either direction', async () => {
    const memberKey = await generateIdentity()
    const members = allowList({ peers: [peerIdOf(memberKey).toString()] })
    const a = await make([members])
    const member = await make([], { privateKey: memberKey })
    const stranger = await make([])
    introduce(member, a)
    introduce(stranger, a)
    introduce(a, member)
    introduce(a, stranger)

    assert.equal(await echo(member, a.localPeer, 'member in'), 'member in')
    assert.notEqual(await echo(stranger, a.localPeer, 'stranger in').catch(() => 'refused'), 'stranger in')
    await waitFor(() => a.connectedness(stranger.localPeer) === 'notConnected', 'a to hold no connection to the stranger')
    await a.closePeer(member.localPeer)
    assert.equal(await echo(a, member.localPeer, 'member out'), 'member out')
    await assert.rejects(a.dialPeer(stranger.localPeer), (err: Error) => {
      assert.ok(errorIs(err, 'GaterDisallowedError'))
      assert.match(err.message, /"allow-list" refused at interceptPeerDial/)
      return true
    })
  })

  it('fails closed: an empty allow list lets nothing through', async () => {
    const a = await make([allowList()])
    const b = await make([])
    introduce(a, b)
    await assert.rejects(a.dialPeer(b.localPeer), /"allow-list" refused at interceptPeerDial/)
  })

  it('allows by subnet, refusing other addresses at accept before any handshake', async () => {
    const members = allowList({ subnets: ['10.0.0.0/8'] })
    const a = await make([members], { tcp: true })
    const refused = await rawConnect(tcpPort(a), '127.0.0.1', new TextEncoder().encode('hello'), 5_000)
    assert.equal(refused.received, 0)
    assert.notEqual(refused.closedBy, 'client')
    await pluginInstance(a, ALLOW_LIST).allowSubnet('127.0.0.0/8')
    const b = await make([], { tcp: true })
    introduce(b, a)
    assert.equal(await echo(b, a.localPeer, 'via subnet'), 'via subnet')
    assert.deepEqual(pluginInstance(a, ALLOW_LIST).allowedSubnets().map(String).sort(), ['10.0.0.0/8', '127.0.0.0/8'])
    assert.ok(pluginInstance(a, ALLOW_LIST).isAddrAllowed('127.1.2.3'))
  })

  it('closes connections that a removal no longer allows', async () => {
    const memberKey = await generateIdentity()
    const members = allowList({ peers: [peerIdOf(memberKey).toString()] })
    const a = await make([members])
    const member = await make([], { privateKey: memberKey })
    introduce(member, a)
    await member.dialPeer(a.localPeer)
    await waitFor(() => a.connectedness(member.localPeer) === 'connected', 'a to see the member')
    await pluginInstance(a, ALLOW_LIST).removePeer(member.localPeer)
    assert.equal(a.connectedness(member.localPeer), 'notConnected')
    assert.deepEqual(pluginInstance(a, ALLOW_LIST).allowedPeers(), [])
    await waitFor(() => member.connectedness(a.localPeer) === 'notConnected', 'the member to see the connection close')
  })

  it('checks its input with typed errors', async () => {
    assert.throws(() => allowList({ subnets: ['10.0.0.0/8', 'x/8'] }), { name: 'InvalidCidrError' })
    const members = allowList()
    const a = await make([members])
    await assert.rejects(pluginInstance(a, ALLOW_LIST).allowPeer('Qm'), { name: 'InvalidPeerIdError' })
    await assert.rejects(pluginInstance(a, ALLOW_LIST).allowAddr('::g'), { name: 'InvalidIpAddressError' })
    assert.equal(pluginInstance(a, ALLOW_LIST).isPeerAllowed(peerIdOf(await generateIdentity())), false)
  })
})

import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { errorIs, pluginInstance } from '@tswarm/core'
import { ManualClock, createTestSwarm, echoHandler, introduce, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { INBOUND_LIMITS, allowList, blockList, inboundLimits } from '../src/index.js'
import { ECHO, capturingLogger, clockModule, echo, rawConnect, tcpPort } from './helpers.js'
import type { Swarm, SwarmModule } from '@tswarm/core'

describe('several gaters at once', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
  const make = async (modules: SwarmModule[]): Promise<Swarm> => {
    const s = await createTestSwarm({ modules: [tcp(), ...modules], listen: ['/ip4/127.0.0.1/tcp/0'] })
    s.setStreamHandler(echoHandler(s, ECHO))
    swarms.push(s)
    return s
  }

  it('lets any refusal win, naming the gater that refused', async () => {
    const [b, c, d] = await Promise.all([make([]), make([]), make([])])
    // The allow list comes first and allows b; the block list still refuses it.
    const members = allowList({ peers: [b.localPeer.toString(), d.localPeer.toString()] })
    const blocks = blockList({ peers: [b.localPeer.toString()] })
    const a = await make([members, blocks, inboundLimits()])
    for (const x of [b, c, d]) introduce(a, x)
    await assert.rejects(a.dialPeer(b.localPeer), (err: Error) => {
      assert.ok(errorIs(err, 'GaterDisallowedError'))
      assert.match(err.message, /connection gater "block-list" refused at interceptPeerDial/)
      return true
    })
    await assert.rejects(a.dialPeer(c.localPeer), /connection gater "allow-list" refused at interceptPeerDial/)
    assert.equal(await echo(a, d.localPeer, 'member, not blocked'), 'member, not blocked')
  })

  it('names the inbound limit a refused connection hit', async () => {
    const clock = new ManualClock()
    const log = capturingLogger()
    const limits = inboundLimits({
      maxPending: 1,
      rate: { ipv4: [{ prefixLength: 32, perSecond: 0, burst: 4 }] },
      subnets: { ipv4: [{ prefixLength: 32, maxConnections: 2 }] },
      applyToLoopback: true
    })
    const a = await make([clockModule(clock), log.module, blockList(), limits])
    const b = await make([])
    introduce(b, a)
    const port = tcpPort(a)
    const refused = (name: string): boolean => log.lines.some(l => l.includes(`connection gater "${name}" refused at interceptAccept`))
    const release = new AbortController()

    // Token 1: an established connection takes one of the two subnet slots.
    assert.equal(await echo(b, a.localPeer, 'in'), 'in')
    // Token 2: a silent socket takes the other subnet slot and the one pending slot.
    const holding = rawConnect(port, '127.0.0.1', undefined, 30_000, release.signal)
    await waitFor(() => pluginInstance(a, INBOUND_LIMITS).stats().pending === 1, 'the silent socket to be pending')
    // Token 3: the subnet is full.
    await rawConnect(port)
    await waitFor(() => refused('inbound-limits:subnet'), 'a refusal naming the subnet cap')
    // Token 4: with the established connection gone the subnet has room, but the pending slot is taken.
    await b.closePeer(a.localPeer)
    await waitFor(() => pluginInstance(a, INBOUND_LIMITS).stats().subnetConnections === 1, 'the closed connection to free its slot')
    await rawConnect(port)
    await waitFor(() => refused('inbound-limits:pending'), 'a refusal naming the pending limit')
    // No token left: refused by the rate limit, before the subnet and pending limits count anything.
    await rawConnect(port)
    await waitFor(() => refused('inbound-limits:rate'), 'a refusal naming the rate limit')
    assert.deepEqual(pluginInstance(a, INBOUND_LIMITS).stats().refused, { pending: 1, rate: 1, subnet: 1 })
    assert.equal(pluginInstance(a, INBOUND_LIMITS).stats().subnetConnections, 1, 'only the silent socket is counted')
    release.abort()
    await holding
    await waitFor(() => pluginInstance(a, INBOUND_LIMITS).stats().pending === 0 && pluginInstance(a, INBOUND_LIMITS).stats().subnetConnections === 0, 'everything given back')
  })

  it('lets a block list refuse before the limits count anything', async () => {
    const limits = inboundLimits({ rate: { ipv4: [{ prefixLength: 32, perSecond: 0, burst: 1 }] }, applyToLoopback: true })
    const a = await make([blockList({ subnets: ['127.0.0.0/8'] }), limits])
    for (let i = 0; i < 3; i++) await rawConnect(tcpPort(a))
    const stats = pluginInstance(a, INBOUND_LIMITS).stats()
    assert.deepEqual(stats.refused, { pending: 0, rate: 0, subnet: 0 })
    assert.equal(stats.rateBuckets, 0, 'no token was spent on refused sources')
  })
})

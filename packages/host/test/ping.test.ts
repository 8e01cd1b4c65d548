import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AddrTTL, createSwarm } from '@tswarm/core'
import { tcp } from '@tswarm/transport-tcp'
import { PING_PROTOCOL } from '../src/index.js'
import { LOOPBACK_TCP, closeAll, connectHosts, tcpHost } from './helpers.js'
import type { Host } from '../src/index.js'
import type { Swarm } from '@tswarm/core'

describe('ping', () => {
  let a: Host
  let b: Host

  before(async () => {
    a = await tcpHost({ host: { ping: { timeout: 500 } } })
    b = await tcpHost()
    await connectHosts(a, b)
  })

  after(async () => { await closeAll(a, b) })

  it('measures round trips, one per stream or many on one', async t => {
    const rtt = await a.ping(b.peerId)
    assert.ok(rtt > 0 && rtt < 1000, `rtt ${rtt}`)
    const rtts = await a.pings(b.peerId, 20)
    assert.equal(rtts.length, 20)
    assert.ok(rtts.every(r => r > 0 && r < 1000))
    const sorted = [...rtts].sort((x, y) => x - y)
    t.diagnostic(`ping over TCP loopback: first ${rtt.toFixed(3)} ms, median of 20 on one stream ${sorted[10].toFixed(3)} ms`)
    // back to back: the previous stream must be fully closed, or the one-stream limit of the spec refuses the next
    for (let i = 0; i < 5; i++) await a.ping(b.peerId)
  })

  it('refuses a count that is not a positive integer', async () => {
    await assert.rejects(a.pings(b.peerId, 0), { name: 'PingError' })
  })

  describe('against a peer that agrees to ping but never echoes', () => {
    let mute: Swarm

    before(async () => {
      mute = await createSwarm({ modules: [tcp()], listen: [LOOPBACK_TCP] })
      mute.setStreamHandler(async stream => {
        await mute.negotiateInbound(stream, [PING_PROTOCOL, '/ipfs/id/1.0.0'])
        for await (const chunk of stream) void chunk
      })
      a.peerstore.addAddrs(mute.localPeer, mute.listenAddresses(), AddrTTL.PERMANENT)
    })

    after(async () => { await mute.close() })

    it('fails with a PingError after the ping timeout', async () => {
      const started = Date.now()
      await assert.rejects(a.ping(mute.localPeer), (err: Error) => err.name === 'PingError' && /no ping reply within 500 ms/.test(err.message))
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 450 && elapsed < 3000, `${elapsed} ms`)
    })
  })
})

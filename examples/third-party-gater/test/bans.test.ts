import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { CLOCK, errorIs, pluginInstance } from '@tswarm/core'
import { ManualClock, createTestSwarm, introduce } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { PEER_BANS, peerBans } from '../src/index.js'
import type { Swarm, SwarmModule } from '@tswarm/core'

describe('peerBans()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('lifts a ban when it expires on the swarm clock', async () => {
    const clock = new ManualClock()
    const clockModule: SwarmModule = { name: 'clock', register (c) { c.register(CLOCK, { useValue: clock }) } }
    const a = await createTestSwarm({ modules: [tcp(), clockModule, peerBans({ durationMs: 60_000 })], listen: ['/ip4/127.0.0.1/tcp/0'] })
    const b = await createTestSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
    swarms.push(a, b)
    introduce(a, b)
    const bans = pluginInstance(a, PEER_BANS)
    bans.ban(b.localPeer)
    await assert.rejects(a.dialPeer(b.localPeer), (err: Error) => {
      assert.ok(errorIs(err, 'GaterDisallowedError'))
      assert.match(err.message, /connection gater "peer-bans" refused at interceptPeerDial/)
      return true
    })
    clock.advance(59_999)
    assert.equal(bans.isBanned(b.localPeer), true)
    clock.advance(1)
    assert.equal(bans.isBanned(b.localPeer), false)
    await a.dialPeer(b.localPeer)
    assert.equal(a.connectedness(b.localPeer), 'connected')
  })

  it('checks its options, and says what to do when asked about a swarm made without it', async () => {
    assert.throws(() => peerBans({ durationMs: 0 }), { name: 'InvalidOptionError' })
    const plain = await createTestSwarm({ modules: [tcp()] })
    swarms.push(plain)
    assert.throws(() => pluginInstance(plain, PEER_BANS), /createSwarm/)
  })
})

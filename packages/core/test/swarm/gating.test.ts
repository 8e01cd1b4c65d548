import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { errorIs } from '../../src/errors.js'
import { CONNECTION_GATER } from '../../src/tokens.js'
import { memory } from '../../src/testing/memory-transport.js'
import { createTestSwarm, introduce, waitFor } from '../../src/testing/swarms.js'
import type { ConnectionGater, GateHook } from '../../src/interfaces/gater.js'
import type { SwarmModule } from '../../src/interfaces/module.js'
import type { Swarm } from '../../src/swarm/swarm.js'

/** A gater that denies at exactly one hook (go's MockConnectionGater with one function returning false). */
function denyAt (hook: GateHook): ConnectionGater {
  return { name: `deny-${hook}`, [hook]: () => false }
}

function gaterModule (gater: ConnectionGater): SwarmModule {
  return { name: 'test-gater', register (c) { c.register(CONNECTION_GATER, { useValue: gater }) } }
}

interface Case {
  name: string
  dialer?: GateHook
  listener?: GateHook
  connected: boolean
  /**
   * When the listener refuses after its handshake (secured, upgraded), the dialer's side may already have finished:
   * Noise XX authenticates the initiator in its last message and Yamux needs no reply. Then the dial may succeed
   * and the connection closes right after; what must hold is that neither side keeps it.
   */
  dialMaySucceed?: boolean
}

// go-libp2p's TestConnectionGating table: who denies where, and whether the dial succeeds.
const cases: Case[] = [
  { name: 'no gating', connected: true },
  { name: 'dialer denies at peer dial', dialer: 'interceptPeerDial', connected: false },
  { name: 'dialer denies at address dial', dialer: 'interceptAddrDial', connected: false },
  { name: 'listener denies outbound address dials (does not affect inbound)', listener: 'interceptAddrDial', connected: true },
  { name: 'listener denies at accept', listener: 'interceptAccept', connected: false },
  { name: 'dialer denies at secured', dialer: 'interceptSecured', connected: false },
  { name: 'listener denies at secured', listener: 'interceptSecured', connected: false, dialMaySucceed: true },
  { name: 'dialer denies at upgraded', dialer: 'interceptUpgraded', connected: false },
  { name: 'listener denies at upgraded', listener: 'interceptUpgraded', connected: false, dialMaySucceed: true },
  { name: 'listener denies peer dials (does not affect inbound)', listener: 'interceptPeerDial', connected: true }
]

describe('connection gating (go TestConnectionGating, memory transport)', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  for (const c of cases) {
    it(c.name, async () => {
      const dialer = await createTestSwarm({ modules: [memory(), ...(c.dialer !== undefined ? [gaterModule(denyAt(c.dialer))] : [])], listen: ['/memory/0'] })
      const listener = await createTestSwarm({ modules: [memory(), ...(c.listener !== undefined ? [gaterModule(denyAt(c.listener))] : [])], listen: ['/memory/0'] })
      swarms.push(dialer, listener)
      introduce(dialer, listener)
      if (c.connected) {
        await dialer.dialPeer(listener.localPeer)
        assert.equal(dialer.connectedness(listener.localPeer), 'connected')
        await waitFor(() => listener.connectedness(dialer.localPeer) === 'connected', 'the listener to connect')
        return
      }
      const dial = dialer.dialPeer(listener.localPeer)
      if (c.dialMaySucceed === true) {
        await dial.catch(() => undefined)
        await waitFor(() => dialer.connectedness(listener.localPeer) === 'notConnected', 'the dialer to drop the refused connection')
        await waitFor(() => listener.conns().length === 0, 'the listener to hold no connection')
        return
      }
      await assert.rejects(dial, (err: unknown) => {
        assert.ok(errorIs(err, 'DialError'), `not a DialError: ${String(err)}`)
        if (c.dialer !== undefined) {
          assert.ok(errorIs(err, 'GaterDisallowedError'), `no GaterDisallowedError in ${String(err)}`)
          assert.match(String((err as Error).message), new RegExp(`deny-${c.dialer}.*${c.dialer}`))
        }
        return true
      })
      assert.equal(dialer.connectedness(listener.localPeer), 'notConnected')
      await waitFor(() => listener.connectedness(dialer.localPeer) === 'notConnected' && listener.conns().length === 0,
        'the listener to hold no connection')
    })
  }

  it('asks every gater and names the one that refused', async () => {
    const seen: string[] = []
    const allow: ConnectionGater = { name: 'first', interceptPeerDial: () => { seen.push('first'); return true } }
    const deny: ConnectionGater = { name: 'blocklist', interceptPeerDial: async () => { seen.push('blocklist'); return false } }
    const dialer = await createTestSwarm({ modules: [memory(), gaterModule(allow), gaterModule(deny)] })
    const listener = await createTestSwarm()
    swarms.push(dialer, listener)
    introduce(dialer, listener)
    await assert.rejects(dialer.dialPeer(listener.localPeer), /connection gater "blocklist" refused at interceptPeerDial/)
    assert.deepEqual(seen, ['first', 'blocklist'])
  })

  it('treats a gater that throws as a refusal, keeping its error', async () => {
    const broken: ConnectionGater = { name: 'broken', interceptAddrDial: () => { throw new Error('database down') } }
    const dialer = await createTestSwarm({ modules: [memory(), gaterModule(broken)] })
    const listener = await createTestSwarm()
    swarms.push(dialer, listener)
    introduce(dialer, listener)
    await assert.rejects(dialer.dialPeer(listener.localPeer), (err: unknown) => {
      assert.ok(errorIs(err, 'NoGoodAddressesError'))
      assert.match(String((err as Error).message), /broken.*database down/)
      return true
    })
  })
})

import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { errorIs } from '../errors.js'
import { CONNECTION_GATER } from '../tokens.js'
import { createTestSwarm, introduce, waitFor } from './swarms.js'
import type { ConnectionGater, GateHook } from '../interfaces/gater.js'
import type { SwarmModule } from '../interfaces/module.js'
import type { Swarm } from '../swarm/swarm.js'

export interface GatingComplianceOptions {
  /** Shown in the suite's title. */
  name: string
  /** The transport modules each test swarm gets (gaters are added by the suite). */
  modules: () => SwarmModule[]
  /** Where test swarms listen. */
  listenAddrs: readonly string[]
  /**
   * True for transports whose handshake completes before the swarm sees the connection (QUIC): a listener's accept
   * gate then runs after the dialer has connected, so the dial may succeed and the connection close right after,
   * as go notes for QUIC. What must hold either way is that neither side keeps the connection.
   */
  nativeHandshake?: boolean
}

/** A gater that denies at exactly one hook (go's MockConnectionGater with one function returning false). */
export function denyAt (hook: GateHook): ConnectionGater {
  return { name: `deny-${hook}`, [hook]: () => false }
}

/** A module that registers `gater` in the multi-binding `CONNECTION_GATER`. */
export function gaterModule (gater: ConnectionGater): SwarmModule {
  return { name: `gater:${gater.name ?? 'anonymous'}`, register (c) { c.register(CONNECTION_GATER, { useValue: gater }) } }
}

interface Case {
  name: string
  dialer?: GateHook
  listener?: GateHook
  connected: boolean
  /**
   * When the listener refuses after the dialer's side of the handshake finished, the dial may succeed and the
   * connection close right after: Noise XX authenticates the initiator in its last message, and Yamux and QUIC
   * need no reply. What must hold is that neither side keeps the connection.
   */
  dialMaySucceed?: boolean
}

/**
 * go-libp2p's TestConnectionGating table, as `node:test` cases, over the given transport: who denies at which hook,
 * whether the dial fails with a GaterDisallowedError naming the gater and hook, and the connectedness on both sides.
 */
export function connectionGatingTests (opts: GatingComplianceOptions): void {
  const cases: Case[] = [
    { name: 'no gating', connected: true },
    { name: 'dialer denies at peer dial', dialer: 'interceptPeerDial', connected: false },
    { name: 'dialer denies at address dial', dialer: 'interceptAddrDial', connected: false },
    { name: 'listener denies outbound address dials (does not affect inbound)', listener: 'interceptAddrDial', connected: true },
    { name: 'listener denies at accept', listener: 'interceptAccept', connected: false, dialMaySucceed: opts.nativeHandshake === true },
    { name: 'dialer denies at secured', dialer: 'interceptSecured', connected: false },
    { name: 'listener denies at secured', listener: 'interceptSecured', connected: false, dialMaySucceed: true },
    { name: 'dialer denies at upgraded', dialer: 'interceptUpgraded', connected: false },
    { name: 'listener denies at upgraded', listener: 'interceptUpgraded', connected: false, dialMaySucceed: true },
    { name: 'listener denies peer dials (does not affect inbound)', listener: 'interceptPeerDial', connected: true }
  ]

  describe(`connection gating (go TestConnectionGating): ${opts.name}`, () => {
    const swarms: Swarm[] = []
    afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
    const make = async (extra: SwarmModule[]): Promise<Swarm> => {
      const s = await createTestSwarm({ modules: [...opts.modules(), ...extra], listen: opts.listenAddrs })
      swarms.push(s)
      return s
    }

    for (const c of cases) {
      it(c.name, async () => {
        const dialer = await make(c.dialer !== undefined ? [gaterModule(denyAt(c.dialer))] : [])
        const listener = await make(c.listener !== undefined ? [gaterModule(denyAt(c.listener))] : [])
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
        } else {
          await assert.rejects(dial, (err: unknown) => {
            assert.ok(errorIs(err, 'DialError'), `not a DialError: ${String(err)}`)
            if (c.dialer !== undefined) {
              assert.ok(errorIs(err, 'GaterDisallowedError'), `no GaterDisallowedError in ${String(err)}`)
              assert.match(String((err as Error).message), new RegExp(`deny-${c.dialer}.*${c.dialer}`))
            }
            return true
          })
        }
        await waitFor(() => dialer.connectedness(listener.localPeer) === 'notConnected', 'the dialer to hold no connection')
        await waitFor(() => listener.conns().length === 0, 'the listener to hold no connection')
      })
    }

    it('asks every gater in order and names the one that refused', async () => {
      const seen: string[] = []
      const allow: ConnectionGater = { name: 'first', interceptPeerDial: () => { seen.push('first'); return true } }
      const deny: ConnectionGater = { name: 'blocklist', interceptPeerDial: async () => { seen.push('blocklist'); return false } }
      const dialer = await make([gaterModule(allow), gaterModule(deny)])
      const listener = await make([])
      introduce(dialer, listener)
      await assert.rejects(dialer.dialPeer(listener.localPeer), /connection gater "blocklist" refused at interceptPeerDial/)
      assert.deepEqual(seen, ['first', 'blocklist'])
    })

    it('treats a gater that throws as a refusal, keeping its error', async () => {
      const broken: ConnectionGater = { name: 'broken', interceptAddrDial: () => { throw new Error('database down') } }
      const dialer = await make([gaterModule(broken)])
      const listener = await make([])
      introduce(dialer, listener)
      await assert.rejects(dialer.dialPeer(listener.localPeer), (err: unknown) => {
        assert.ok(errorIs(err, 'NoGoodAddressesError'))
        assert.match(String((err as Error).message), /broken.*database down/)
        return true
      })
    })
  })
}

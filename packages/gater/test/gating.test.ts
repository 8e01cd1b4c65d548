import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { CONNECTION_GATER, errorIs, pluginInstance } from '@tswarm/core'
import { createTestSwarm, introduce, waitFor } from '@tswarm/core/testing'
import { quic } from '@tswarm/transport-quic'
import { tcp } from '@tswarm/transport-tcp'
import { BLOCK_LIST, blockList } from '../src/index.js'
import { capturingLogger } from './helpers.js'
import type { BlockList } from '../src/index.js'
import type { ConnectionGater, GateHook, Swarm, SwarmModule } from '@tswarm/core'

interface Side { swarm: Swarm, blocks: BlockList, log: string[] }

interface Case {
  name: string
  /** Sets the rules before the dial. */
  rules: (dialer: Side, listener: Side) => Promise<void>
  /** Who refuses, and where. */
  refusal?: { by: 'dialer' | 'listener', hook: GateHook }
  /**
   * A refusal by the listener after the dialer's side of the handshake finished may let the dial succeed and the
   * connection close right after (Noise XX ends with the initiator's message; QUIC completes before the swarm sees
   * the connection). What must hold is that neither side keeps it.
   */
  dialMaySucceed?: boolean
  /** Extra modules for the dialer, after its block list. */
  dialerExtra?: () => SwarmModule[]
}

/**
 * go-libp2p's TestConnectionGating table driven by a block list's rules rather than by mock gaters: each case sets
 * rules on one side, dials, and checks the dialer's error, which gater and hook refused (on the listener, from its
 * log), and that neither side keeps a connection.
 */
function blockListGatingTests (name: string, transport: () => SwarmModule, listen: string, nativeHandshake: boolean): void {
  const host = listen.split('/')[2]
  const cases: Case[] = [
    { name: 'no rules: the peers connect', rules: async () => {} },
    { name: 'rules about others change nothing', rules: async (d, l) => { await d.blocks.blockSubnet('192.0.2.0/24'); await l.blocks.blockAddr('198.51.100.1') } },
    { name: 'dialer blocks the listener\'s peer ID: refused at peer dial', rules: async (d, l) => { await d.blocks.blockPeer(l.swarm.localPeer) }, refusal: { by: 'dialer', hook: 'interceptPeerDial' } },
    { name: 'dialer blocks the listener\'s address: refused at address dial', rules: async d => { await d.blocks.blockAddr(host) }, refusal: { by: 'dialer', hook: 'interceptAddrDial' } },
    { name: 'dialer blocks the listener\'s subnet: refused at address dial', rules: async d => { await d.blocks.blockSubnet(`${host}/8`) }, refusal: { by: 'dialer', hook: 'interceptAddrDial' } },
    {
      name: 'dialer blocks the listener while the dial is under way: refused at secured',
      rules: async () => {},
      // Blocks the peer once the block list's own address check has passed, as a user's block would land mid-dial.
      dialerExtra: () => [midDialBlocker()],
      refusal: { by: 'dialer', hook: 'interceptSecured' }
    },
    { name: 'listener blocks the dialer\'s address: refused at accept', rules: async (_d, l) => { await l.blocks.blockAddr(host) }, refusal: { by: 'listener', hook: 'interceptAccept' }, dialMaySucceed: nativeHandshake },
    { name: 'listener blocks the dialer\'s subnet: refused at accept', rules: async (_d, l) => { await l.blocks.blockSubnet(`${host}/8`) }, refusal: { by: 'listener', hook: 'interceptAccept' }, dialMaySucceed: nativeHandshake },
    { name: 'listener blocks the dialer\'s peer ID: refused at secured', rules: async (d, l) => { await l.blocks.blockPeer(d.swarm.localPeer) }, refusal: { by: 'listener', hook: 'interceptSecured' }, dialMaySucceed: true }
  ]

  describe(`connection gating with a block list (go TestConnectionGating): ${name}`, () => {
    const swarms: Swarm[] = []
    afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
    const side = async (extra: () => SwarmModule[] = () => []): Promise<Side> => {
      const log = capturingLogger()
      const swarm = await createTestSwarm({ modules: [transport(), log.module, blockList(), ...extra()], listen: [listen] })
      swarms.push(swarm)
      return { swarm, blocks: pluginInstance(swarm, BLOCK_LIST), log: log.lines }
    }

    for (const c of cases) {
      it(c.name, async () => {
        const dialer = await side(c.dialerExtra)
        const listener = await side()
        introduce(dialer.swarm, listener.swarm)
        await c.rules(dialer, listener)
        const dial = dialer.swarm.dialPeer(listener.swarm.localPeer)

        if (c.refusal === undefined) {
          await dial
          assert.equal(dialer.swarm.connectedness(listener.swarm.localPeer), 'connected')
          await waitFor(() => listener.swarm.connectedness(dialer.swarm.localPeer) === 'connected', 'the listener to see the connection')
          return
        }
        const refusal = `connection gater "block-list" refused at ${c.refusal.hook}`
        if (c.refusal.by === 'dialer') {
          await assert.rejects(dial, (err: Error) => {
            assert.ok(errorIs(err, 'DialError'), `not a DialError: ${String(err)}`)
            assert.ok(errorIs(err, 'GaterDisallowedError'), `no GaterDisallowedError in ${err.message}`)
            assert.ok(err.message.includes(refusal), `"${refusal}" not in ${err.message}`)
            return true
          })
        } else if (c.dialMaySucceed === true) {
          await dial.catch(() => undefined)
        } else {
          await assert.rejects(dial, (err: Error) => {
            assert.ok(errorIs(err, 'DialError'), `not a DialError: ${String(err)}`)
            // The listener's refusal reaches the dialer as a closed connection, not as a gater error of its own.
            assert.ok(!errorIs(err, 'GaterDisallowedError'), `the dialer reports a refusal of its own: ${err.message}`)
            return true
          })
        }
        if (c.refusal.by === 'listener') {
          await waitFor(() => listener.log.some(l => l.includes(refusal)), `the listener to log "${refusal}"`)
        }
        await waitFor(() => dialer.swarm.connectedness(listener.swarm.localPeer) === 'notConnected', 'the dialer to hold no connection')
        await waitFor(() => listener.swarm.conns().length === 0, 'the listener to hold no connection')
        assert.equal(listener.swarm.connectedness(dialer.swarm.localPeer), 'notConnected')
      })
    }
  })
}

/**
 * A gater that blocks the peer being dialed in its swarm's block list (injected by its token, as any plugin would),
 * then allows: a block landing mid-dial.
 */
function midDialBlocker (): SwarmModule {
  return {
    name: 'mid-dial-blocker',
    register (c) {
      c.register(CONNECTION_GATER, {
        useFactory: r => {
          const list = r.resolve<BlockList>(BLOCK_LIST)
          const gater: ConnectionGater = {
            name: 'mid-dial-blocker',
            interceptAddrDial: async peer => { await list.blockPeer(peer); return true }
          }
          return gater
        }
      })
    }
  }
}

blockListGatingTests('tcp', tcp, '/ip4/127.0.0.1/tcp/0', false)
blockListGatingTests('tcp over IPv6', tcp, '/ip6/::1/tcp/0', false)
blockListGatingTests('quic-v1', quic, '/ip4/127.0.0.1/udp/0/quic-v1', true)

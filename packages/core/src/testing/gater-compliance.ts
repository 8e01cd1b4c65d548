import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { assembleSwarm } from '../create-swarm.js'
import { errorIs, findError } from '../errors.js'
import { generateIdentity, peerIdOf } from '../identity.js'
import { CONNECTION_GATER } from '../tokens.js'
import { createTestSwarm, echoHandler, introduce, waitFor } from './swarms.js'
import { readAll } from '../reader.js'
import type { GaterDisallowedError } from '../errors.js'
import type { ConnectionAddrs, ConnectionGater, GateHook } from '../interfaces/gater.js'
import type { SwarmModule } from '../interfaces/module.js'
import type { Swarm } from '../swarm/swarm.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The gater under test, as set up for one swarm. */
export interface GaterFixture {
  /** The modules that register the gater (and whatever it needs) into one swarm. */
  modules: SwarmModule[]
  /**
   * Makes this swarm's gater refuse `peer`, both when we dial it and when it dials us. Called after the swarm
   * started, with the swarm made from `modules`.
   */
  blockPeer(swarm: Swarm, peer: PeerId): void | Promise<void>
  /** Undoes `blockPeer`. Without it, the "unblocking restores" cases are skipped. */
  unblockPeer?(swarm: Swarm, peer: PeerId): void | Promise<void>
}

export interface GaterComplianceOptions {
  /** Shown in the suite's title. */
  name: string
  /** The transport modules every test swarm gets (the gater's modules come from `gater`). */
  modules: () => SwarmModule[]
  /** Where test swarms listen. */
  listenAddrs: readonly string[]
  /** Sets up the gater under test for one swarm; called once per gated swarm. */
  gater: () => GaterFixture
  /**
   * The gater name a refusal of a blocked peer must carry (a string, or a pattern for plugins that register several
   * gaters). Default: any name among the gaters the fixture registered.
   */
  refusedBy?: string | RegExp
  /** Whether blocking a connected peer closes its connections; checked when true. Default false. */
  closesLiveConnections?: boolean
}

const ECHO = '/gater-compliance/echo/1.0.0'
const HOOKS: readonly GateHook[] = ['interceptPeerDial', 'interceptAddrDial', 'interceptAccept', 'interceptSecured', 'interceptUpgraded']

/**
 * The behaviour every connection gater plugin (ours or a third party's) must show, as `node:test` cases, over real
 * swarms: its gaters are named, every hook answers a boolean (synchronously or with a promise) for any address, a
 * blocked peer can neither be dialed nor dial in, the refusal names the gater and the hook, other traffic flows,
 * and unblocking restores it.
 *
 * @example
 * ```ts
 * import { pluginInstance } from '@tswarm/core'
 * import { gaterComplianceTests } from '@tswarm/core/testing'
 * import { tcp } from '@tswarm/transport-tcp'
 * import { DENY_LIST, denyList } from '../src/index.js'
 *
 * gaterComplianceTests({
 *   name: 'deny-list',
 *   modules: () => [tcp()],
 *   listenAddrs: ['/ip4/127.0.0.1/tcp/0'],
 *   gater: () => ({
 *     modules: [denyList()],
 *     blockPeer: (swarm, peer) => { pluginInstance(swarm, DENY_LIST).deny(peer) },
 *     unblockPeer: (swarm, peer) => { pluginInstance(swarm, DENY_LIST).allow(peer) }
 *   })
 * })
 * ```
 */
export function gaterComplianceTests (opts: GaterComplianceOptions): void {
  describe(`gater compliance: ${opts.name}`, () => {
    const swarms: Swarm[] = []
    afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

    interface Gated { swarm: Swarm, fixture: GaterFixture, gaters: ConnectionGater[] }
    const gated = async (): Promise<Gated> => {
      const fixture = opts.gater()
      const { swarm, container } = await assembleSwarm({ modules: [...opts.modules(), ...fixture.modules], listen: opts.listenAddrs })
      swarms.push(swarm)
      swarm.setStreamHandler(echoHandler(swarm, ECHO))
      const gaters = container.isRegistered(CONNECTION_GATER, true) ? container.resolveAll<ConnectionGater>(CONNECTION_GATER) : []
      return { swarm, fixture, gaters }
    }
    const plain = async (): Promise<Swarm> => {
      const s = await createTestSwarm({ modules: opts.modules(), listen: opts.listenAddrs })
      swarms.push(s)
      s.setStreamHandler(echoHandler(s, ECHO))
      return s
    }
    const names = (g: Gated): string[] => g.gaters.map(x => x.name ?? '')

    /** The refusal inside a failed dial, checked to name one of the fixture's gaters and a hook. */
    const assertNamedRefusal = (err: unknown, g: Gated): void => {
      assert.ok(errorIs(err, 'DialError'), `expected a DialError, got ${String(err)}`)
      const refusal = findError(err, 'GaterDisallowedError') as GaterDisallowedError | undefined
      assert.ok(refusal !== undefined, `the dial error holds no GaterDisallowedError: ${String((err as Error).message)}`)
      assert.ok(HOOKS.includes(refusal.hook), `unknown hook ${String(refusal.hook)}`)
      if (opts.refusedBy === undefined) assert.ok(names(g).includes(refusal.gater), `refused by "${refusal.gater}", which is none of ${names(g).join(', ')}`)
      else if (typeof opts.refusedBy === 'string') assert.equal(refusal.gater, opts.refusedBy)
      else assert.match(refusal.gater, opts.refusedBy)
      assert.ok(String((err as Error).message).includes(`"${refusal.gater}" refused at ${refusal.hook}`), 'the message does not name the gater and hook')
    }

    it('registers gaters, each with a distinct, non-empty name', async () => {
      const g = await gated()
      assert.ok(g.gaters.length > 0, 'the fixture\'s modules registered nothing under CONNECTION_GATER')
      for (const n of names(g)) assert.ok(typeof n === 'string' && n.length > 0, 'a gater has no name: refusals could not say who refused')
      assert.equal(new Set(names(g)).size, g.gaters.length, `gater names are not distinct: ${names(g).join(', ')}`)
    })

    it('answers every hook with a boolean, synchronously or through a promise, whatever the address', async () => {
      const g = await gated()
      const other = await plain()
      introduce(g.swarm, other)
      const conn = await g.swarm.dialPeer(other.localPeer)
      const stranger = peerIdOf(await generateIdentity())
      const peers = [other.localPeer, stranger]
      // Addresses a gater may not understand (no IP, a relay, a name) must still get an answer, not an exception.
      const addrs: Multiaddr[] = [
        ...g.swarm.listenAddresses(),
        multiaddr('/ip4/192.0.2.1/tcp/4001'),
        multiaddr('/ip6/2001:db8::1/udp/4001/quic-v1'),
        multiaddr('/ip4/198.51.100.7/tcp/4001/p2p/12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDMp4F5iVSV8CdJ9Vwo/p2p-circuit'),
        multiaddr('/dns4/example.com/tcp/4001'),
        multiaddr('/memory/gater-compliance')
      ]
      for (const gater of g.gaters) {
        const label = gater.name ?? 'anonymous'
        for (const peer of peers) await assertAnswer(gater.interceptPeerDial?.(peer), `${label}.interceptPeerDial`)
        for (const addr of addrs) {
          await assertAnswer(gater.interceptAddrDial?.(stranger, addr), `${label}.interceptAddrDial(${addr.toString()})`)
          const connAddrs: ConnectionAddrs = { localAddr: g.swarm.listenAddresses()[0], remoteAddr: addr }
          try {
            await assertAnswer(gater.interceptAccept?.(connAddrs), `${label}.interceptAccept(${addr.toString()})`)
            for (const dir of ['inbound', 'outbound'] as const) {
              await assertAnswer(gater.interceptSecured?.(dir, stranger, connAddrs), `${label}.interceptSecured(${dir}, ${addr.toString()})`)
            }
          } finally {
            // As the upgrader does: every gater hears that this inbound connection is over.
            for (const each of g.gaters) assert.doesNotThrow(() => each.inboundSettled?.(connAddrs, false), `${each.name ?? 'anonymous'}.inboundSettled threw`)
          }
        }
        await assertAnswer(gater.interceptUpgraded?.(conn), `${label}.interceptUpgraded`)
      }
    })

    it('lets allowed traffic flow in both directions', async () => {
      const a = await gated()
      const b = await gated()
      introduce(a.swarm, b.swarm)
      introduce(b.swarm, a.swarm)
      assert.equal(await echo(a.swarm, b.swarm.localPeer, 'a to b'), 'a to b')
      await a.swarm.closePeer(b.swarm.localPeer)
      await waitFor(() => b.swarm.connectedness(a.swarm.localPeer) === 'notConnected', 'b to see the connection close')
      assert.equal(await echo(b.swarm, a.swarm.localPeer, 'b to a'), 'b to a')
    })

    it('refuses to dial a blocked peer, naming the gater and the hook', async () => {
      const dialer = await gated()
      const listener = await plain()
      introduce(dialer.swarm, listener)
      await dialer.fixture.blockPeer(dialer.swarm, listener.localPeer)
      await assert.rejects(dialer.swarm.dialPeer(listener.localPeer), err => { assertNamedRefusal(err, dialer); return true })
      await assert.rejects(dialer.swarm.newStream(listener.localPeer, { protocols: [ECHO] }), err => { assertNamedRefusal(err, dialer); return true })
      await waitFor(() => dialer.swarm.connectedness(listener.localPeer) === 'notConnected', 'the dialer to hold no connection')
      await waitFor(() => listener.conns().length === 0, 'the listener to hold no connection')
    })

    it('keeps a blocked peer from dialing in, while others still can', async () => {
      const listener = await gated()
      const blocked = await plain()
      const other = await plain()
      introduce(blocked, listener.swarm)
      introduce(other, listener.swarm)
      await listener.fixture.blockPeer(listener.swarm, blocked.localPeer)
      assert.notEqual(await echo(blocked, listener.swarm.localPeer, 'let me in').catch(() => 'refused'), 'let me in',
        'a blocked peer got an echo through')
      await waitFor(() => listener.swarm.connectedness(blocked.localPeer) === 'notConnected', 'the listener to hold no connection to the blocked peer')
      await waitFor(() => blocked.connectedness(listener.swarm.localPeer) === 'notConnected', 'the blocked peer to hold no connection')
      assert.equal(await echo(other, listener.swarm.localPeer, 'still open'), 'still open')
      assert.equal(listener.swarm.connectedness(blocked.localPeer), 'notConnected')
    })

    if (opts.closesLiveConnections === true) {
      it('closes the connections of a peer when it is blocked', async () => {
        const a = await gated()
        const b = await plain()
        introduce(a.swarm, b)
        await a.swarm.dialPeer(b.localPeer)
        await waitFor(() => b.connectedness(a.swarm.localPeer) === 'connected', 'b to see the connection')
        await a.fixture.blockPeer(a.swarm, b.localPeer)
        await waitFor(() => a.swarm.connectedness(b.localPeer) === 'notConnected', 'the blocking side to close the connection')
        await waitFor(() => b.connectedness(a.swarm.localPeer) === 'notConnected', 'the blocked side to see it close')
      })
    }

    it('restores dialing out once the peer is unblocked', async t => {
      const dialer = await gated()
      if (dialer.fixture.unblockPeer === undefined) { t.skip('the fixture has no unblockPeer'); return }
      const listener = await plain()
      introduce(dialer.swarm, listener)
      await dialer.fixture.blockPeer(dialer.swarm, listener.localPeer)
      await assert.rejects(dialer.swarm.dialPeer(listener.localPeer), err => { assertNamedRefusal(err, dialer); return true })
      await dialer.fixture.unblockPeer?.(dialer.swarm, listener.localPeer)
      dialer.swarm.backoff().clear(listener.localPeer)
      assert.equal(await echo(dialer.swarm, listener.localPeer, 'back again'), 'back again')
    })

    it('restores dialing in once the peer is unblocked', async t => {
      const listener = await gated()
      if (listener.fixture.unblockPeer === undefined) { t.skip('the fixture has no unblockPeer'); return }
      const dialer = await plain()
      introduce(dialer, listener.swarm)
      await listener.fixture.blockPeer(listener.swarm, dialer.localPeer)
      assert.notEqual(await echo(dialer, listener.swarm.localPeer, 'knock').catch(() => 'refused'), 'knock')
      await waitFor(() => listener.swarm.connectedness(dialer.localPeer) === 'notConnected', 'the refused connection to go')
      await listener.fixture.unblockPeer?.(listener.swarm, dialer.localPeer)
      dialer.backoff().clear(listener.swarm.localPeer)
      await waitFor(() => dialer.connectedness(listener.swarm.localPeer) === 'notConnected', 'the dialer to drop the refused connection')
      assert.equal(await echo(dialer, listener.swarm.localPeer, 'welcome back'), 'welcome back')
      assert.equal(listener.swarm.connectedness(dialer.localPeer), 'connected')
    })
  })
}

/** Opens a stream to `peer`, sends `text`, and returns what came back. */
async function echo (from: Swarm, peer: PeerId, text: string): Promise<string> {
  const stream = await from.newStream(peer, { protocols: [ECHO] })
  await stream.write(text)
  await stream.closeWrite()
  return new TextDecoder().decode(await readAll(stream))
}

async function assertAnswer (answer: unknown, what: string): Promise<void> {
  if (answer === undefined) return // the hook is not implemented: that allows
  if (typeof answer === 'boolean') return
  assert.ok(typeof (answer as Promise<unknown>)?.then === 'function', `${what} answered ${String(answer)}: expected a boolean or a promise of one`)
  const settled = await answer
  assert.equal(typeof settled, 'boolean', `${what} resolved to ${String(settled)}: expected a boolean`)
}


import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_SWARM_CONFIG, generateIdentity, peerIdOf, pluginInstance } from '@tswarm/core'
import { ManualClock, createTestSwarm, echoHandler, introduce, memory, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { INBOUND_LIMITS, allowList, inboundLimits } from '../src/index.js'
import { ECHO, capturingLogger, clockModule, echo, rawConnect, tcpPort } from './helpers.js'
import type { InboundLimits } from '../src/index.js'
import type { ConnectionAddrs, ConnectionGater, Swarm, SwarmModule } from '@tswarm/core'

const from = (addr: string): ConnectionAddrs => ({ remoteAddr: multiaddr(addr) })

describe('inboundLimits()', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })
  const make = async (modules: SwarmModule[], transport: 'tcp' | 'memory' = 'tcp'): Promise<Swarm> => {
    const s = await createTestSwarm({
      modules: [transport === 'tcp' ? tcp() : memory(), ...modules],
      listen: [transport === 'tcp' ? '/ip4/127.0.0.1/tcp/0' : '/memory/0']
    })
    s.setStreamHandler(echoHandler(s, ECHO))
    swarms.push(s)
    return s
  }
  const limitsOf = (s: Swarm): InboundLimits => pluginInstance(s, INBOUND_LIMITS)
  /** A swarm with a started instance, for asking its gates directly. */
  const started = async (mod: SwarmModule, clock: ManualClock, extra: SwarmModule[] = []): Promise<Swarm> => {
    return make([clockModule(clock), mod, ...extra], 'memory')
  }
  const gate = (s: Swarm, kind: 'pending' | 'rate' | 'subnet'): ConnectionGater => {
    const g = limitsOf(s).gater(kind)
    assert.ok(g !== undefined, `no ${kind} gater`)
    return g
  }

  describe('options', () => {
    it('refuses bad values, naming the option', () => {
      const bad: Array<[unknown, RegExp]> = [
        [{ maxPending: 0 }, /inboundLimits.maxPending=0/],
        [{ maxPending: 2.5 }, /inboundLimits.maxPending/],
        [{ rate: { ipv4: [{ prefixLength: 33, perSecond: 1, burst: 1 }] } }, /inboundLimits.rate.ipv4\[0\].prefixLength=33/],
        [{ rate: { ipv6: [{ prefixLength: 56, perSecond: -1, burst: 1 }] } }, /inboundLimits.rate.ipv6\[0\].perSecond=-1/],
        [{ rate: { ipv4: [{ prefixLength: 32, perSecond: 1, burst: 0 }] } }, /inboundLimits.rate.ipv4\[0\].burst=0/],
        [{ rate: { ipv4: {} } }, /inboundLimits.rate.ipv4=.*expected an array/],
        [{ subnets: { ipv4: [{ prefixLength: 24, maxConnections: 0 }] } }, /inboundLimits.subnets.ipv4\[0\].maxConnections=0/],
        [{ applyToLoopback: 'yes' }, /inboundLimits.applyToLoopback=yes/]
      ]
      for (const [options, message] of bad) {
        assert.throws(() => inboundLimits(options as never), (err: Error) => err.name === 'InvalidOptionError' && message.test(err.message), String(message))
      }
      assert.throws(() => inboundLimits({ exempt: ['10.0.0.0/40'] }), { name: 'InvalidCidrError' })
    })

    it('registers only the limits that are enabled, each under its own name', async () => {
      const mod = inboundLimits({ rate: false })
      const s = await started(mod, new ManualClock())
      assert.equal(limitsOf(s).gater('rate'), undefined)
      assert.equal(gate(s, 'subnet').name, 'inbound-limits:subnet')
      assert.equal(gate(s, 'pending').name, 'inbound-limits:pending')
    })
  })

  describe('pending handshakes', () => {
    it('counts at accept, releases when the handshake settles, and refuses beyond the maximum', async () => {
      const mod = inboundLimits({ maxPending: 2 })
      const s = await started(mod, new ManualClock())
      const pending = gate(s, 'pending')
      const [a, b, c] = [from('/ip4/192.0.2.1/tcp/1'), from('/ip4/192.0.2.2/tcp/1'), from('/ip4/192.0.2.3/tcp/1')]
      assert.equal(pending.interceptAccept?.(a), true)
      assert.equal(pending.interceptAccept?.(b), true)
      assert.equal(pending.interceptAccept?.(c), false)
      pending.inboundSettled?.(c, false) // never counted: changes nothing
      assert.equal(limitsOf(s).stats().pending, 2)
      pending.inboundSettled?.(a, true)
      assert.equal(pending.interceptAccept?.(c), true)
      assert.deepEqual({ ...limitsOf(s).stats(), rateBuckets: 0, subnetConnections: 0 },
        { pending: 2, pendingHighWater: 2, rateBuckets: 0, subnetConnections: 0, refused: { pending: 1, rate: 0, subnet: 0 } })
    })

    it('forgets a handshake never reported settled once it is twice the upgrade timeout old', async () => {
      const clock = new ManualClock()
      const mod = inboundLimits({ maxPending: 1 })
      const s = await started(mod, clock)
      const pending = gate(s, 'pending')
      assert.equal(pending.interceptAccept?.(from('/ip4/192.0.2.1/tcp/1')), true)
      assert.equal(pending.interceptAccept?.(from('/ip4/192.0.2.2/tcp/1')), false)
      clock.advance(2 * DEFAULT_SWARM_CONFIG.inboundUpgradeTimeout + 1)
      assert.equal(pending.interceptAccept?.(from('/ip4/192.0.2.2/tcp/1')), true)
    })

    it('does not count exempt sources', async () => {
      const mod = inboundLimits({ maxPending: 1, exempt: ['192.0.2.0/24'] })
      const s = await started(mod, new ManualClock())
      const pending = gate(s, 'pending')
      for (let i = 0; i < 5; i++) assert.equal(pending.interceptAccept?.(from(`/ip4/192.0.2.${i}/tcp/1`)), true)
      assert.equal(limitsOf(s).stats().pending, 0)
    })
  })

  describe('connection rate', () => {
    it('is a token bucket per source on the swarm clock (go\'s defaults: burst 16, then one per 5 s)', async () => {
      const clock = new ManualClock()
      const mod = inboundLimits()
      const s = await started(mod, clock)
      const rate = gate(s, 'rate')
      const source = from('/ip4/203.0.113.5/tcp/999')
      const answers = Array.from({ length: 17 }, () => rate.interceptAccept?.(source))
      assert.deepEqual(answers, [...new Array(16).fill(true), false])
      assert.equal(rate.interceptAccept?.(from('/ip4/203.0.113.6/tcp/1')), true, 'another address has its own bucket')
      clock.advance(4_999)
      assert.equal(rate.interceptAccept?.(source), false)
      clock.advance(1)
      assert.equal(rate.interceptAccept?.(source), true)
      assert.equal(limitsOf(s).stats().refused.rate, 2)
    })

    it('leaves loopback alone unless told to', async () => {
      const limits = { rate: { ipv4: [{ prefixLength: 32, perSecond: 0, burst: 1 }], ipv6: [{ prefixLength: 128, perSecond: 0, burst: 1 }] } }
      const relaxed = inboundLimits(limits)
      const r = await started(relaxed, new ManualClock())
      for (let i = 0; i < 5; i++) assert.equal(gate(r, 'rate').interceptAccept?.(from('/ip4/127.0.0.1/tcp/1')), true)
      for (let i = 0; i < 5; i++) assert.equal(gate(r, 'rate').interceptAccept?.(from('/ip6/::1/tcp/1')), true)
      const strict = inboundLimits({ ...limits, applyToLoopback: true })
      const st = await started(strict, new ManualClock())
      assert.deepEqual([1, 2].map(() => gate(st, 'rate').interceptAccept?.(from('/ip4/127.0.0.1/tcp/1'))), [true, false])
      assert.deepEqual([1, 2].map(() => gate(st, 'rate').interceptAccept?.(from('/ip6/::1/tcp/1'))), [true, false])
    })

    it('allows sources without an IP address (nothing to key a bucket on)', async () => {
      const mod = inboundLimits({ rate: { ipv4: [{ prefixLength: 32, perSecond: 0, burst: 1 }] }, applyToLoopback: true })
      const s = await started(mod, new ManualClock())
      for (let i = 0; i < 3; i++) assert.equal(gate(s, 'rate').interceptAccept?.(from('/memory/x')), true)
    })

    it('closes a socket over the rate before reading a byte, and lets it in once the bucket refills', async () => {
      const clock = new ManualClock()
      const mod = inboundLimits({ rate: { ipv4: [{ prefixLength: 32, perSecond: 1, burst: 1 }] }, applyToLoopback: true, subnets: false })
      const a = await make([clockModule(clock), mod])
      const b = await make([])
      introduce(b, a)
      assert.equal(await echo(b, a.localPeer, 'first'), 'first')
      const refused = await rawConnect(tcpPort(a), '127.0.0.1', new TextEncoder().encode('/multistream/1.0.0\n'), 5_000)
      assert.equal(refused.received, 0, 'the refused socket got bytes')
      assert.notEqual(refused.closedBy, 'client', 'the refused socket was not closed by the swarm')
      assert.equal(limitsOf(a).stats().refused.rate, 1)
      await a.closePeer(b.localPeer)
      await waitFor(() => b.connectedness(a.localPeer) === 'notConnected', 'b to see the connection close')
      clock.advance(1_000)
      b.backoff().clear(a.localPeer)
      assert.equal(await echo(b, a.localPeer, 'second'), 'second')
    })
  })

  describe('connections per subnet', () => {
    it('caps concurrent inbound connections per subnet, freeing a slot when a connection closes', async () => {
      const log = capturingLogger()
      const mod = inboundLimits({ subnets: { ipv4: [{ prefixLength: 32, maxConnections: 2 }] }, rate: false, applyToLoopback: true })
      const a = await make([log.module, mod])
      const [d1, d2, d3] = await Promise.all([make([]), make([]), make([])])
      for (const d of [d1, d2, d3]) introduce(d, a)
      assert.equal(await echo(d1, a.localPeer, 'one'), 'one')
      assert.equal(await echo(d2, a.localPeer, 'two'), 'two')
      assert.equal(limitsOf(a).stats().subnetConnections, 2)
      assert.notEqual(await echo(d3, a.localPeer, 'three').catch(() => 'refused'), 'three')
      assert.equal(a.connectedness(d3.localPeer), 'notConnected')
      assert.equal(limitsOf(a).stats().refused.subnet, 1)
      await waitFor(() => log.lines.some(l => l.includes('connection gater "inbound-limits:subnet" refused at interceptAccept')),
        'the listener to log a refusal naming the subnet limit')

      await d1.closePeer(a.localPeer)
      await waitFor(() => limitsOf(a).stats().subnetConnections === 1, 'the closed connection to give its slot back')
      d3.backoff().clear(a.localPeer)
      assert.equal(await echo(d3, a.localPeer, 'three'), 'three')
      assert.equal(limitsOf(a).stats().subnetConnections, 2)
    })

    it('gives the slot back when a handshake fails', async () => {
      const mod = inboundLimits({ subnets: { ipv4: [{ prefixLength: 32, maxConnections: 1 }] }, rate: false, applyToLoopback: true })
      const a = await make([mod])
      // A wrong protocol header, then the client gives up: the upgrade fails and the slot must come back.
      const junk = new Uint8Array([5, ...new TextEncoder().encode('junk\n')])
      for (let i = 0; i < 3; i++) await rawConnect(tcpPort(a), '127.0.0.1', junk, 200)
      await waitFor(() => limitsOf(a).stats().subnetConnections === 0, 'the failed handshakes to release their slots')
      const b = await make([])
      introduce(b, a)
      assert.equal(await echo(b, a.localPeer, 'fits'), 'fits')
    })

    it('does not count loopback unless told to', async () => {
      const mod = inboundLimits({ subnets: { ipv4: [{ prefixLength: 32, maxConnections: 1 }] }, rate: false })
      const a = await make([mod])
      const [d1, d2] = await Promise.all([make([]), make([])])
      introduce(d1, a)
      introduce(d2, a)
      assert.equal(await echo(d1, a.localPeer, 'x'), 'x')
      assert.equal(await echo(d2, a.localPeer, 'y'), 'y')
      assert.equal(limitsOf(a).stats().subnetConnections, 0)
    })
  })

  describe('with an allow list', () => {
    it('exempts listed addresses from every limit', async () => {
      const mod = inboundLimits({ maxPending: 1, rate: { ipv4: [{ prefixLength: 32, perSecond: 0, burst: 1 }] }, subnets: { ipv4: [{ prefixLength: 32, maxConnections: 1 }] }, applyToLoopback: true })
      const a = await make([allowList({ subnets: ['127.0.0.0/8'] }), mod])
      const dialers = await Promise.all([make([]), make([]), make([])])
      for (const d of dialers) introduce(d, a)
      const answers = await Promise.all(dialers.map(async (d, i) => echo(d, a.localPeer, `d${i}`)))
      assert.deepEqual(answers, ['d0', 'd1', 'd2'])
      assert.deepEqual(limitsOf(a).stats().refused, { pending: 0, rate: 0, subnet: 0 })
    })

    it('exempts listed peers from the subnet cap once they are identified', async () => {
      const keys = await Promise.all([generateIdentity(), generateIdentity()])
      const members = allowList({ peers: keys.map(k => peerIdOf(k).toString()) })
      const mod = inboundLimits({ subnets: { ipv4: [{ prefixLength: 32, maxConnections: 1 }] }, rate: false, applyToLoopback: true })
      const a = await make([members, mod])
      const dialers: Swarm[] = []
      for (const privateKey of keys) {
        const d = await createTestSwarm({ privateKey, modules: [tcp()] })
        swarms.push(d)
        introduce(d, a)
        dialers.push(d)
      }
      for (const d of dialers) assert.equal(await echo(d, a.localPeer, 'member'), 'member')
      assert.equal(limitsOf(a).stats().subnetConnections, 0)
    })
  })

  it('keeps nothing counted once the swarm is closed', async () => {
    const mod = inboundLimits({ applyToLoopback: true })
    const a = await make([mod])
    const b = await make([])
    introduce(b, a)
    assert.equal(await echo(b, a.localPeer, 'x'), 'x')
    await a.close()
    const stats = limitsOf(a).stats()
    assert.equal(stats.pending, 0)
    assert.ok(stats.subnetConnections <= 1)
  })
})

import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { createSwarm } from '../../src/create-swarm.js'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { AddrTTL } from '../../src/interfaces/peerstore.js'
import { CONNECTION_GATER, METRICS_TRACER, SWARM_SERVICE } from '../../src/tokens.js'
import { memory } from '../../src/testing/memory-transport.js'
import { createTestSwarm, introduce, waitFor } from '../../src/testing/swarms.js'
import type { ConnectionGater } from '../../src/interfaces/gater.js'
import type { MetricsTracer } from '../../src/interfaces/metrics.js'
import type { SwarmModule } from '../../src/interfaces/module.js'
import type { Network, SwarmService } from '../../src/interfaces/network.js'
import type { Swarm } from '../../src/swarm/swarm.js'

function module (name: string, register: SwarmModule['register']): SwarmModule {
  return { name, register }
}

describe('swarm extension hooks', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  it('starts services with the swarm before it listens and stops them after its connections closed', async () => {
    const events: string[] = []
    let network: Network | undefined
    const service: SwarmService = {
      name: 'recorder',
      start: n => { network = n; events.push(`start listening=${n.listenAddresses().length}`) },
      stop: () => { events.push(`stop conns=${network?.conns().length ?? -1}`) }
    }
    const s = await createTestSwarm({ modules: [memory(), module('svc', c => { c.register(SWARM_SERVICE, { useValue: service }) })] })
    const other = await createTestSwarm()
    swarms.push(other)
    introduce(s, other)
    await s.dialPeer(other.localPeer)
    assert.equal(network, s)
    await s.close()
    assert.deepEqual(events, ['start listening=0', 'stop conns=0'])
  })

  it('fails assembly, naming the service, when a service cannot start', async () => {
    const bad: SwarmService = { name: 'broken-service', start: () => { throw new Error('no database') } }
    await assert.rejects(createSwarm({ modules: [memory(), module('svc', c => { c.register(SWARM_SERVICE, { useValue: bad }) })] }),
      /service "broken-service" failed to start: no database/)
  })

  it('reports failed dials, completed dials and the ranking delay to metrics tracers', async () => {
    const seen: string[] = []
    const tracer: MetricsTracer = {
      failedDialing: (addr, transport, err) => { seen.push(`failed ${addr.toString()} ${transport} ${err.message}`) },
      dialCompleted: (_peer, ok, dials) => { seen.push(`completed ${String(ok)} dials=${dials}`) },
      dialRankingDelay: ms => { seen.push(`ranking ${ms >= 0 ? 'ok' : 'negative'}`) }
    }
    const tracing = module('tracer', c => { c.register(METRICS_TRACER, { useValue: tracer }) })
    const a = await createTestSwarm({ modules: [memory(), tracing], listen: ['/memory/0'] })
    const b = await createTestSwarm()
    swarms.push(a, b)
    introduce(a, b)
    await a.dialPeer(b.localPeer)
    await waitFor(() => seen.some(e => e.startsWith('completed')), 'the dial to complete')
    assert.deepEqual(seen, ['ranking ok', 'completed true dials=1'])

    seen.length = 0
    const ghost = peerIdOf(await generateIdentity())
    a.peerstore.addAddrs(ghost, [multiaddr('/memory/nobody-here')], AddrTTL.PERMANENT)
    await assert.rejects(a.dialPeer(ghost))
    await waitFor(() => seen.some(e => e.startsWith('completed')), 'the failed dial to complete')
    assert.equal(seen[0], 'failed /memory/nobody-here memory connection refused: nothing listens on /memory/nobody-here')
    assert.equal(seen[1], 'completed false dials=1')
  })

  it('tells every gater when an inbound connection stopped being pending', async () => {
    const settled: string[] = []
    const counting: ConnectionGater = { name: 'counting', inboundSettled: (_addrs, upgraded) => { settled.push(upgraded ? 'upgraded' : 'failed') } }
    const refusing: ConnectionGater = { name: 'refusing', interceptSecured: () => false }
    const gaters = (...g: ConnectionGater[]): SwarmModule => module('gaters', c => { for (const x of g) c.register(CONNECTION_GATER, { useValue: x }) })
    const open = await createTestSwarm({ modules: [memory(), gaters(counting)], listen: ['/memory/0'] })
    const closed = await createTestSwarm({ modules: [memory(), gaters(counting, refusing)], listen: ['/memory/0'] })
    const dialer = await createTestSwarm()
    swarms.push(open, closed, dialer)
    introduce(dialer, open)
    introduce(dialer, closed)
    await dialer.dialPeer(open.localPeer)
    await waitFor(() => settled.length === 1, 'the first inbound connection to settle')
    await dialer.dialPeer(closed.localPeer).catch(() => undefined)
    await waitFor(() => settled.length === 2, 'the refused inbound connection to settle')
    assert.deepEqual(settled, ['upgraded', 'failed'])
  })

  it('records how long the handshakes took on each connection', async () => {
    const a = await createTestSwarm()
    const b = await createTestSwarm()
    swarms.push(a, b)
    introduce(a, b)
    const conn = await a.dialPeer(b.localPeer)
    const ms = conn.stat().handshakeDuration
    assert.equal(typeof ms, 'number')
    assert.ok((ms ?? -1) >= 0 && (ms ?? Infinity) < 10_000)
  })

  it('exposes open streams and black-hole state to services', async () => {
    const a = await createTestSwarm({ options: { ipv6BlackHole: null } })
    const b = await createTestSwarm()
    swarms.push(a, b)
    b.setStreamHandler(() => {})
    introduce(a, b)
    const stream = await a.newStream(b.localPeer)
    assert.deepEqual(a.streams(), [stream])
    assert.deepEqual(a.blackHoleStats().map(s => [s.name, s.state]), [['UDP', 'probing']])
  })
})

import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { CLOCK } from '../../src/tokens.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { MemoryNetwork, memory } from '../../src/testing/memory-transport.js'
import { createTestSwarm, introduce, waitFor } from '../../src/testing/swarms.js'
import type { SwarmOptions } from '../../src/config.js'
import type { SwarmModule } from '../../src/interfaces/module.js'
import type { Swarm } from '../../src/swarm/swarm.js'

/** Settles promise chains without moving the manual clock. */
async function settle (): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise(resolve => setImmediate(resolve))
}

describe('connection monitor: liveness pings and idle timeout', () => {
  const swarms: Swarm[] = []
  afterEach(async () => { await Promise.all(swarms.splice(0).map(async s => { await s.close() })) })

  async function pair (options: SwarmOptions): Promise<{ a: Swarm, b: Swarm, clock: ManualClock, network: MemoryNetwork }> {
    const clock = new ManualClock(Date.now())
    const network = new MemoryNetwork()
    const manual: SwarmModule = { name: 'manual-clock', register: c => { c.register(CLOCK, { useValue: clock }) } }
    const a = await createTestSwarm({ modules: [memory({ network }), manual], listen: ['/memory/0'], options })
    const b = await createTestSwarm({ modules: [memory({ network })], listen: ['/memory/0'] })
    swarms.push(a, b)
    introduce(a, b)
    return { a, b, clock, network }
  }

  it('keeps a connection whose peer answers its pings', async () => {
    const { a, b, clock } = await pair({ livenessInterval: 1_000, livenessTimeout: 500 })
    await a.dialPeer(b.localPeer)
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000)
      await settle()
      clock.advance(500)
      await settle()
    }
    assert.equal(a.connectedness(b.localPeer), 'connected')
  })

  it('aborts a connection whose peer vanished without closing (a frozen link), failing its streams as lost', async () => {
    const { a, b, clock, network } = await pair({ livenessInterval: 1_000, livenessTimeout: 500 })
    b.setStreamHandler(() => {})
    const stream = await a.newStream(b.localPeer)
    network.freeze(network.links[0])
    clock.advance(1_000) // the ping goes out and is never delivered
    await settle()
    assert.equal(a.connectedness(b.localPeer), 'connected', 'not before the liveness timeout')
    clock.advance(500)
    await waitFor(() => a.connectedness(b.localPeer) === 'notConnected', 'the vanished peer to be dropped')
    await assert.rejects(stream.read(), (err: Error) => {
      assert.equal(err.name, 'ConnectionClosedError')
      assert.match(err.message, /did not answer a keep-alive ping/)
      return true
    })
  })

  it('closes connections idle for the idle timeout, and keeps those with a stream', async () => {
    const { a, b, clock } = await pair({ idleConnectionTimeout: 1_000, livenessInterval: 0 })
    b.setStreamHandler(() => {})
    const conn = await a.dialPeer(b.localPeer)
    const stream = await conn.newStream()
    clock.advance(2_000)
    await settle()
    assert.equal(conn.status, 'open', 'a connection with a stream is not idle')
    stream.reset()
    await settle()
    clock.advance(1_250)
    await waitFor(() => conn.status === 'closed', 'the idle connection to close')
  })

  it('leaves no timer behind after close', async () => {
    const { a, clock } = await pair({ idleConnectionTimeout: 1_000, livenessInterval: 1_000 })
    await a.close()
    assert.equal(clock.pendingTimers, 0)
  })
})

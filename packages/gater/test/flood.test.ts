import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, describe, it } from 'node:test'
import { pluginInstance } from '@tswarm/core'
import { ManualClock, createTestSwarm, echoHandler, introduce, waitFor } from '@tswarm/core/testing'
import { tcp } from '@tswarm/transport-tcp'
import { INBOUND_LIMITS, inboundLimits } from '../src/index.js'
import { ECHO, clockModule, echo, rawConnect, tcpPort } from './helpers.js'
import type { RawResult } from './helpers.js'
import type { Stream, Swarm } from '@tswarm/core'

const ATTEMPTS = 2_000
const CONCURRENCY = 200
/**
 * A socket the limits let through and that sends nothing sits pending until it gives up after this long (the
 * swarm's upgrade timeout runs on the manual clock, so it never fires). Long enough that every attempt is answered
 * by the swarm, not abandoned in the accept queue.
 */
const HOLD_MS = 1_000
const MAX_PENDING = 16
/** Hard bound on the flood phase. */
const FLOOD_DEADLINE_MS = 15_000

function tcpSockets (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'TCPSocketWrap').length
}

async function ping (stream: Stream, payload: Uint8Array): Promise<void> {
  await stream.write(payload)
  let got = 0
  while (got < payload.byteLength) {
    const chunk = await stream.read()
    if (chunk === null) throw new Error('the echo stream ended during the flood')
    got += chunk.byteLength
  }
}

describe('a loopback flood against inbound limits', () => {
  const swarms: Swarm[] = []
  after(async () => { await Promise.all(swarms.map(async s => { await s.close() })) })

  it(`keeps at most ${MAX_PENDING} handshakes pending through ${ATTEMPTS} attempts, while an established stream keeps echoing`, async t => {
    const failures: unknown[] = []
    const onFailure = (err: unknown): void => { failures.push(err) }
    process.on('unhandledRejection', onFailure)
    process.on('uncaughtException', onFailure)
    try {
      // The swarm's clock is manual, so the rate limit is exact: a burst, then only what the test lets time refill.
      const clock = new ManualClock()
      const limits = inboundLimits({
        maxPending: MAX_PENDING,
        rate: { ipv4: [{ prefixLength: 32, perSecond: 200, burst: 300 }] },
        subnets: { ipv4: [{ prefixLength: 32, maxConnections: 64 }] },
        applyToLoopback: true
      })
      const target = await createTestSwarm({ modules: [tcp(), clockModule(clock), limits], listen: ['/ip4/127.0.0.1/tcp/0'] })
      target.setStreamHandler(echoHandler(target, ECHO))
      const peer = await createTestSwarm({ modules: [tcp()] })
      swarms.push(target, peer)
      introduce(peer, target)
      const stream = await peer.newStream(target.localPeer, { protocols: [ECHO] })
      const payload = new TextEncoder().encode('ping-pong')
      await ping(stream, payload)
      const baselineSockets = tcpSockets()
      const port = tcpPort(target)

      let flooding = true
      let maxSampled = 0
      let samples = 0
      const sampler = (async () => {
        while (flooding) {
          const { pending } = pluginInstance(target, INBOUND_LIMITS).stats()
          if (pending > maxSampled) maxSampled = pending
          samples++
          await new Promise(resolve => setImmediate(resolve))
        }
      })()
      const latencies: number[] = []
      const echoer = (async () => {
        while (flooding) {
          const start = performance.now()
          await ping(stream, payload)
          latencies.push(performance.now() - start)
          await sleep(10)
        }
      })()

      // Half the sockets send garbage, half nothing; every one is closed by the swarm or, after HOLD_MS, by us.
      const garbage = new Uint8Array(256).fill(0xa5)
      const results: RawResult[] = []
      let launched = 0
      const started = performance.now()
      const worker = async (): Promise<void> => {
        while (launched < ATTEMPTS) {
          const i = launched++
          // Every 100 attempts, 50 ms pass on the swarm's clock: 10 more tokens at 200/s.
          if (i > 0 && i % 100 === 0) clock.advance(50)
          results.push(await rawConnect(port, '127.0.0.1', i % 2 === 0 ? garbage : undefined, HOLD_MS))
        }
      }
      const flood = Promise.all(Array.from({ length: CONCURRENCY }, worker))
      const cancelDeadline = new AbortController()
      const deadline = sleep(FLOOD_DEADLINE_MS, 'deadline', { signal: cancelDeadline.signal }).catch(() => 'cancelled')
      const outcome = await Promise.race([flood.then(() => 'done'), deadline])
      const elapsed = performance.now() - started
      cancelDeadline.abort()
      flooding = false
      await Promise.all([sampler, echoer])
      assert.equal(outcome, 'done', `the flood did not finish within ${FLOOD_DEADLINE_MS} ms`)

      const stats = pluginInstance(target, INBOUND_LIMITS).stats()
      const sorted = [...latencies].sort((x, y) => x - y)
      const p50 = sorted[Math.floor(sorted.length / 2)] ?? NaN
      const max = sorted[sorted.length - 1] ?? NaN
      const closedBySwarm = results.filter(r => r.closedBy !== 'client').length
      t.diagnostic(`flood: ${results.length} attempts in ${elapsed.toFixed(0)} ms, ${closedBySwarm} closed by the swarm, ` +
        `${results.filter(r => r.received > 0).length} got a byte; refused ${JSON.stringify(stats.refused)}; ` +
        `pending high-water ${stats.pendingHighWater}, max sampled ${maxSampled} over ${samples} samples; ` +
        `echo during flood: ${latencies.length} round trips, p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`)

      assert.equal(results.length, ATTEMPTS)
      // Refused sockets are reset at accept; garbage fails the handshake. Only silent sockets holding a pending
      // slot are left for the client to close.
      assert.ok(closedBySwarm >= ATTEMPTS * 0.9, `the swarm closed only ${closedBySwarm} of ${ATTEMPTS} sockets`)
      assert.equal(results.filter(r => r.received > 0).length, 0, 'a flood socket got bytes back')
      assert.ok(stats.pendingHighWater <= MAX_PENDING, `pending reached ${stats.pendingHighWater}`)
      assert.ok(maxSampled <= MAX_PENDING, `sampled ${maxSampled} pending`)
      assert.equal(stats.pendingHighWater, MAX_PENDING, 'the flood never filled the pending slots: it tested nothing')
      assert.ok(stats.refused.pending > 0, 'nothing was refused as pending')
      assert.ok(stats.refused.rate > 0, 'nothing was refused by the rate limit')
      assert.ok(latencies.length >= 10, `only ${latencies.length} echoes during the flood`)
      assert.ok(max < 2_000, `an echo took ${max.toFixed(0)} ms during the flood`)

      // Afterwards: nothing counted but the established connection, every flood socket closed, the swarm still serves.
      await waitFor(() => pluginInstance(target, INBOUND_LIMITS).stats().pending === 0, 'pending to drain')
      await waitFor(() => pluginInstance(target, INBOUND_LIMITS).stats().subnetConnections === 1, 'only the established connection to be counted')
      await waitFor(() => tcpSockets() <= baselineSockets, `the flood's sockets to close (${tcpSockets()} open, ${baselineSockets} before)`)
      await ping(stream, payload)
      await stream.close()
      clock.advance(10_000)
      const late = await createTestSwarm({ modules: [tcp()] })
      swarms.push(late)
      introduce(late, target)
      assert.equal(await echo(late, target.localPeer, 'after the flood'), 'after the flood')
      await new Promise(resolve => setImmediate(resolve))
      assert.deepEqual(failures, [], 'unhandled rejections or exceptions during the flood')
    } finally {
      process.off('unhandledRejection', onFailure)
      process.off('uncaughtException', onFailure)
    }
  })
})

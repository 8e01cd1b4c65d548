import assert from 'node:assert/strict'
import { PerformanceObserver } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { errorIs, generateIdentity, peerIdOf } from '@tswarm/core'
import { ManualClock } from '@tswarm/core/testing'
import { BandwidthCounter } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'

async function peer (): Promise<PeerId> {
  return peerIdOf(await generateIdentity())
}

/** `bytesPerSecond` sent on `protocol` to `to`, in 10 writes a second, for `seconds` ticks of the manual clock. */
function steady (counter: BandwidthCounter, clock: ManualClock, to: PeerId, protocol: string, bytesPerSecond: number, seconds: number): void {
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < 10; i++) {
      counter.logSentMessage(bytesPerSecond / 10)
      counter.logSentMessageStream(bytesPerSecond / 10, protocol, to)
      clock.advance(100)
    }
  }
}

describe('BandwidthCounter', () => {
  it('counts totals, per peer and per protocol, in and out', async () => {
    const c = new BandwidthCounter(new ManualClock())
    const [p, q] = [await peer(), await peer()]
    c.logSentMessage(10)
    c.logSentMessageStream(10, '/a', p)
    c.logRecvMessage(7)
    c.logRecvMessageStream(7, '/a', q)
    c.logRecvMessage(5)
    c.logRecvMessageStream(5, '/b', p)

    assert.deepEqual(c.getBandwidthTotals(), { totalIn: 12, totalOut: 10, rateIn: 0, rateOut: 0 })
    assert.deepEqual(c.getBandwidthForPeer(p), { totalIn: 5, totalOut: 10, rateIn: 0, rateOut: 0 })
    assert.deepEqual(c.getBandwidthForPeer(q.toString()), { totalIn: 7, totalOut: 0, rateIn: 0, rateOut: 0 })
    assert.deepEqual(c.getBandwidthForProtocol('/a'), { totalIn: 7, totalOut: 10, rateIn: 0, rateOut: 0 })
    assert.deepEqual(c.getBandwidthForProtocol('/b'), { totalIn: 5, totalOut: 0, rateIn: 0, rateOut: 0 })
    assert.deepEqual([...c.getBandwidthByPeer().keys()].sort(), [p.toString(), q.toString()].sort())
    assert.deepEqual([...c.getBandwidthByProtocol().keys()].sort(), ['/a', '/b'])
  })

  it('allocates nothing on the data path once a peer and protocol are known (no GC over 4 million calls)', async () => {
    const c = new BandwidthCounter(new ManualClock())
    const p = await peer()
    const calls = (n: number): void => {
      for (let i = 0; i < n; i++) {
        c.logSentMessage(100)
        c.logSentMessageStream(100, '/a', p)
        c.logRecvMessage(100)
        c.logRecvMessageStream(100, '/a', p)
      }
    }
    let gcs = 0
    const observer = new PerformanceObserver(list => { gcs += list.getEntries().length })
    observer.observe({ entryTypes: ['gc'] })
    try {
      calls(1_000)
      await sleep(20)
      gcs = 0
      // a synchronous loop: only its own allocations could make V8 collect during it
      calls(1_000_000)
      await sleep(20)
      assert.equal(gcs, 0, 'no garbage collection ran, so nothing was allocated')
      // the control: the same loop allocating a little per call does collect, so the observer works
      const garbage: Array<{ n: number }> = []
      for (let i = 0; i < 4_000_000; i++) garbage[i & 1] = { n: i }
      await sleep(20)
      assert.ok(gcs > 0, 'an allocating loop is seen collecting')
    } finally {
      observer.disconnect()
    }
  })

  it('answers zeros for what it never saw, without making a meter for it', async () => {
    const c = new BandwidthCounter(new ManualClock())
    assert.deepEqual(c.getBandwidthForPeer(await peer()), { totalIn: 0, totalOut: 0, rateIn: 0, rateOut: 0 })
    assert.deepEqual(c.getBandwidthForProtocol('/nope'), { totalIn: 0, totalOut: 0, rateIn: 0, rateOut: 0 })
    assert.equal(c.getBandwidthByPeer().size, 0)
    assert.equal(c.getBandwidthByProtocol().size, 0)
  })

  it('hands out copies: a snapshot does not move with later traffic', async () => {
    const c = new BandwidthCounter(new ManualClock())
    const p = await peer()
    c.logSentMessageStream(1, '/a', p)
    const before = c.getBandwidthForPeer(p)
    const byPeer = c.getBandwidthByPeer()
    c.logSentMessageStream(1, '/a', p)
    assert.equal(before.totalOut, 1)
    assert.equal(byPeer.get(p.toString())?.totalOut, 1)
    assert.equal(c.getBandwidthForPeer(p).totalOut, 2)
  })

  it('converges on the rate of a steady transfer (manual clock)', async () => {
    const clock = new ManualClock()
    const c = new BandwidthCounter(clock)
    const p = await peer()
    c.start()
    steady(c, clock, p, '/a', 100_000, 10)
    for (const stats of [c.getBandwidthTotals(), c.getBandwidthForPeer(p), c.getBandwidthForProtocol('/a')]) {
      assert.ok(Math.abs(stats.rateOut - 100_000) < 1, `rate ${stats.rateOut} is 100 000 B/s`)
      assert.equal(stats.rateIn, 0)
    }
    // a change of speed: the average moves towards it with a 1 s time constant, so after 5 s is e^-5 of the way off
    steady(c, clock, p, '/a', 20_000, 5)
    const after = c.getBandwidthForPeer(p).rateOut
    const expected = 20_000 + 80_000 * Math.exp(-5)
    assert.ok(Math.abs(after - expected) < 1, `rate ${after} is ${expected} B/s after 5 s`)
    c.stop()
  })

  it('smooths: one burst moves the rate by its weight, then decays to exactly 0', async () => {
    const clock = new ManualClock()
    const c = new BandwidthCounter(clock)
    const p = await peer()
    c.start()
    c.logRecvMessage(1000)
    c.logRecvMessageStream(1000, '/a', p)
    clock.advance(1000)
    // the first sample after silence is taken whole, as go-flow-metrics does
    assert.equal(c.getBandwidthTotals().rateIn, 1000)
    clock.advance(1000)
    const once = c.getBandwidthTotals().rateIn
    assert.ok(Math.abs(once - 1000 * Math.exp(-1)) < 1e-6, `after a silent second the rate is 1000/e, not ${once}`)
    clock.advance(60_000)
    assert.equal(c.getBandwidthTotals().rateIn, 0)
    assert.equal(c.getBandwidthForPeer(p).rateIn, 0)
    assert.equal(c.getBandwidthTotals().totalIn, 1000, 'totals stay')
    c.stop()
  })

  it('measures rates over the time that really passed when a tick comes late', () => {
    const clock = new ManualClock()
    // a clock whose timers fire twice as late as asked, like an event loop too busy to run them on time
    const laggy = { now: () => clock.now(), setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms * 2), clearTimeout: (h: unknown) => { clock.clearTimeout(h) } }
    const c = new BandwidthCounter(laggy, { tickInterval: 1000 })
    c.start()
    c.logSentMessage(4000)
    clock.advance(2000)
    assert.equal(c.getBandwidthTotals().rateOut, 2000, '4000 bytes over 2 s')
    c.stop()
  })

  it('drops peer and protocol meters idle for idleTimeout, keeping busy ones and the totals', async () => {
    const clock = new ManualClock()
    const c = new BandwidthCounter(clock, { idleTimeout: 10_000 })
    const [idle, busy] = [await peer(), await peer()]
    c.start()
    c.logSentMessage(10)
    c.logSentMessageStream(10, '/idle', idle)
    for (let s = 0; s < 15; s++) {
      c.logSentMessage(1)
      c.logSentMessageStream(1, '/busy', busy)
      clock.advance(1000)
    }
    assert.deepEqual([...c.getBandwidthByPeer().keys()], [busy.toString()])
    assert.deepEqual([...c.getBandwidthByProtocol().keys()], ['/busy'])
    assert.equal(c.getBandwidthForPeer(idle).totalOut, 0, 'a dropped meter took its totals with it')
    assert.equal(c.getBandwidthTotals().totalOut, 25, 'the global totals are never dropped')
    // a dropped peer that comes back starts a new meter
    c.logSentMessageStream(3, '/idle', idle)
    assert.equal(c.getBandwidthForPeer(idle).totalOut, 3)
    c.stop()
  })

  it('keeps every meter with idleTimeout: Infinity, and trims on demand with trimIdle', async () => {
    const clock = new ManualClock()
    const c = new BandwidthCounter(clock, { idleTimeout: Infinity })
    const p = await peer()
    c.start()
    c.logSentMessageStream(1, '/a', p)
    clock.advance(3_600_000)
    assert.equal(c.getBandwidthByPeer().size, 1)
    c.trimIdle(clock.now())
    assert.equal(c.getBandwidthByPeer().size, 0)
    assert.equal(c.getBandwidthByProtocol().size, 0)
    c.stop()
  })

  it('forgets everything on reset', async () => {
    const clock = new ManualClock()
    const c = new BandwidthCounter(clock)
    const p = await peer()
    c.start()
    steady(c, clock, p, '/a', 1000, 2)
    c.reset()
    assert.deepEqual(c.getBandwidthTotals(), { totalIn: 0, totalOut: 0, rateIn: 0, rateOut: 0 })
    assert.equal(c.getBandwidthByPeer().size, 0)
    assert.equal(c.getBandwidthByProtocol().size, 0)
    // and counts on afterwards, rates from a clean start
    steady(c, clock, p, '/a', 1000, 1)
    assert.equal(c.getBandwidthTotals().totalOut, 1000)
    assert.equal(c.getBandwidthTotals().rateOut, 1000)
    c.stop()
  })

  it('runs one timer between start and stop, and none after', () => {
    const clock = new ManualClock()
    const c = new BandwidthCounter(clock)
    assert.equal(clock.pendingTimers, 0, 'nothing before start')
    c.start()
    c.start()
    assert.equal(clock.pendingTimers, 1, 'start is idempotent')
    assert.equal(c.running, true)
    clock.advance(5_500)
    assert.equal(clock.pendingTimers, 1, 'each tick schedules exactly the next one')
    c.stop()
    c.stop()
    assert.equal(clock.pendingTimers, 0)
    assert.equal(c.running, false)
  })

  it('refuses bad options with an InvalidOptionError naming the option', () => {
    const clock = new ManualClock()
    for (const [options, option] of [
      [{ idleTimeout: 0 }, 'idleTimeout'],
      [{ idleTimeout: -5 }, 'idleTimeout'],
      [{ idleTimeout: Number.NaN }, 'idleTimeout'],
      [{ tickInterval: 0 }, 'tickInterval'],
      [{ tickInterval: Infinity }, 'tickInterval'],
      [{ tickInterval: 120_000 }, 'tickInterval']
    ] as const) {
      assert.throws(() => new BandwidthCounter(clock, options), (err: unknown) => {
        assert.ok(errorIs(err, 'InvalidOptionError'), String(err))
        assert.equal((err as { option?: string }).option, option)
        return true
      })
    }
  })
})

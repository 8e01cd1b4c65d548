import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { DialBackoff } from '../../src/dial/backoff.js'
import { DialWorker } from '../../src/dial/dial-worker.js'
import { DefaultDialRanker, PUBLIC_TCP_DELAY } from '../../src/dial/ranker.js'
import { errorIs } from '../../src/errors.js'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import { addrKey } from '../../src/swarm/addrs.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import type { DialWorkerDeps } from '../../src/dial/dial-worker.js'
import type { AddrDelay, DialRanker } from '../../src/interfaces/dial.js'
import type { MuxedConnection } from '../../src/interfaces/transport.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const peer = peerIdOf(await generateIdentity())

/** What a fake dial of an address does: succeed or fail after `after` ms, or never finish. */
type Behaviour = { kind: 'success', after: number } | { kind: 'fail', after: number } | { kind: 'hang' }

class FakeConn {
  aborted = false
  constructor (readonly id: string) {}
  abort (): void { this.aborted = true }
}

/** Settles every promise chain that is ready, without moving the clock. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}

/** A ranker that returns the delays a test chose. */
function fixedRanker (delays: Map<string, number>): DialRanker {
  return { rank: (addrs: readonly Multiaddr[]): AddrDelay[] => addrs.map(addr => ({ addr, delay: delays.get(addr.toString()) ?? 0 })) }
}

function harness (opts: { addrs: Multiaddr[], behaviour: Map<string, Behaviour>, ranker: DialRanker, publicTcp?: Set<string> }) {
  const clock = new ManualClock()
  const start = clock.now()
  const dials: Array<{ addr: string, at: number }> = []
  const progress = new Map<string, () => void>()
  const backoff = new DialBackoff(clock)
  let established: FakeConn | undefined
  const controller = new AbortController()
  const deps: DialWorkerDeps<FakeConn> = {
    clock,
    ranker: opts.ranker,
    backoff,
    publicTcpDelay: PUBLIC_TCP_DELAY,
    bestConn: () => established,
    addrsForDial: async () => ({ addrs: opts.addrs, errors: [], filtered: [] }),
    dialAddr: async (addr, signal, onProgress) => {
      dials.push({ addr: addr.toString(), at: clock.now() - start })
      progress.set(addr.toString(), onProgress)
      const b = opts.behaviour.get(addr.toString()) ?? { kind: 'hang' }
      return new Promise<MuxedConnection>((resolve, reject) => {
        signal.addEventListener('abort', () => { reject(Object.assign(new Error('aborted'), { name: 'AbortError' })) }, { once: true })
        if (b.kind === 'hang') return
        const finish = (): void => {
          if (b.kind === 'fail') reject(new Error(`dial to ${addr.toString()} failed`))
          else resolve(new FakeConn(addr.toString()) as unknown as MuxedConnection)
        }
        // Immediate results settle at once: a timer would let a later batch fire within the same advance() first.
        if (b.after === 0) finish()
        else clock.setTimeout(finish, b.after)
      })
    },
    addConn: async muxed => {
      const conn = muxed as unknown as FakeConn
      established = conn
      return conn
    },
    isPublicTcp: addr => opts.publicTcp?.has(addr.toString()) ?? false
  }
  const worker = new DialWorker<FakeConn>(peer, deps, controller.signal)
  return { clock, start, dials, progress, backoff, worker, controller, setEstablished: (c: FakeConn) => { established = c } }
}

/** Advances in 10 ms steps until `done` holds or `limit` ms passed; returns the elapsed time. */
async function runUntil (clock: ManualClock, start: number, done: () => boolean, limit: number): Promise<number> {
  await settle()
  while (!done() && clock.now() - start < limit) {
    clock.advance(10)
    await settle()
  }
  return clock.now() - start
}

const a = (s: string): Multiaddr => multiaddr(s)

describe('DialWorker (go dial_worker_test, manual clock)', () => {
  it('first success stops later dials', async () => {
    const ok = '/ip4/1.2.3.4/tcp/1'
    const later = '/ip4/1.2.3.4/tcp/2'
    const h = harness({
      addrs: [a(ok), a(later)],
      behaviour: new Map([[ok, { kind: 'success', after: 0 }], [later, { kind: 'success', after: 0 }]]),
      ranker: fixedRanker(new Map([[ok, 0], [later, 100]]))
    })
    let conn: FakeConn | undefined
    void h.worker.request().then(c => { conn = c })
    const elapsed = await runUntil(h.clock, h.start, () => conn !== undefined, 1_000)
    h.controller.abort()
    assert.equal(conn?.id, ok)
    assert.ok(elapsed <= 20, `took ${elapsed} ms`)
    await runUntil(h.clock, h.start, () => false, 500)
    assert.deepEqual(h.dials.map(d => d.addr), [ok], 'the 100 ms address must never be dialed')
    assert.equal(h.clock.pendingTimers, 0, 'timers left after the worker stopped')
  })

  it('starts the next batch early when every dial in flight has failed', async () => {
    const t1 = '/ip4/1.2.3.4/tcp/1'
    const t2 = '/ip4/1.2.3.4/tcp/2'
    const t3 = '/ip4/1.2.3.4/tcp/3'
    const good = '/ip4/1.2.3.4/tcp/4'
    const never = '/ip4/1.2.3.4/tcp/5'
    const h = harness({
      addrs: [t1, t2, t3, good, never].map(a),
      behaviour: new Map<string, Behaviour>([[t1, { kind: 'fail', after: 200 }], [t2, { kind: 'fail', after: 100 }], [t3, { kind: 'fail', after: 100 }], [good, { kind: 'success', after: 0 }], [never, { kind: 'success', after: 0 }]]),
      ranker: fixedRanker(new Map([[t1, 0], [t2, 100], [t3, 300], [good, 2_000], [never, 2_001]]))
    })
    let conn: FakeConn | undefined
    void h.worker.request().then(c => { conn = c })
    const elapsed = await runUntil(h.clock, h.start, () => conn !== undefined, 3_000)
    h.controller.abort()
    assert.equal(conn?.id, good)
    assert.ok(elapsed <= 310, `took ${elapsed} ms, the 2 s batch should have started once all dials failed`)
    assert.deepEqual(h.dials, [{ addr: t1, at: 0 }, { addr: t2, at: 100 }, { addr: t3, at: 200 }, { addr: good, at: 300 }])
  })

  it('fails with every address error once all dials failed', async () => {
    const t1 = '/ip4/1.2.3.4/tcp/1'
    const t2 = '/ip4/1.2.3.4/tcp/2'
    const h = harness({
      addrs: [a(t1), a(t2)],
      behaviour: new Map<string, Behaviour>([[t1, { kind: 'fail', after: 105 }], [t2, { kind: 'fail', after: 20 }]]),
      ranker: fixedRanker(new Map([[t1, 0], [t2, 100]]))
    })
    let error: unknown
    void h.worker.request().catch(err => { error = err })
    const elapsed = await runUntil(h.clock, h.start, () => error !== undefined, 1_000)
    assert.ok(elapsed <= 200, `took ${elapsed} ms`)
    assert.ok(errorIs(error, 'DialError') && errorIs(error, 'AllDialsFailedError'))
    const dialError = error as { errors: unknown[], plan: { entries: Array<{ outcome: string }>, toString(): string } }
    assert.equal(dialError.errors.length, 2)
    assert.deepEqual(dialError.plan.entries.map(e => e.outcome), ['failed', 'failed'])
    assert.match(String(dialError.plan), /address\s+rank delay\s+started\s+ended\s+outcome\s+error/)
    assert.match(String(dialError.plan), /\/ip4\/1\.2\.3\.4\/tcp\/2\s+100 ms\s+\+100 ms\s+\+120 ms\s+failed/)
    assert.ok(h.backoff.backoff(peer, a(t1)) && h.backoff.backoff(peer, a(t2)), 'failed addresses are backed off')
    h.controller.abort()
  })

  it('dials QUIC before TCP with the default ranker, and never TCP when QUIC connects (go TestDialWorkerLoopQuicOverTCP)', async () => {
    const quic = '/ip4/127.0.0.1/udp/1234/quic-v1'
    const tcp = '/ip4/127.0.0.1/tcp/1234'
    const h = harness({
      addrs: [a(tcp), a(quic)],
      behaviour: new Map<string, Behaviour>([[quic, { kind: 'success', after: 0 }], [tcp, { kind: 'success', after: 0 }]]),
      ranker: new DefaultDialRanker()
    })
    let conn: FakeConn | undefined
    void h.worker.request().then(c => { conn = c })
    const elapsed = await runUntil(h.clock, h.start, () => conn !== undefined, 1_000)
    h.controller.abort()
    assert.equal(conn?.id, quic)
    assert.ok(elapsed <= 20)
    await runUntil(h.clock, h.start, () => false, 100)
    assert.deepEqual(h.dials.map(d => d.addr), [quic])
  })

  it('gives 100 concurrent requests the one connection from one dial', async () => {
    const ok = '/ip4/1.2.3.4/tcp/1'
    const h = harness({ addrs: [a(ok)], behaviour: new Map([[ok, { kind: 'success', after: 50 }]]), ranker: fixedRanker(new Map()) })
    const results: FakeConn[] = []
    for (let i = 0; i < 100; i++) void h.worker.request().then(c => { results.push(c) })
    await runUntil(h.clock, h.start, () => results.length === 100, 1_000)
    h.controller.abort()
    assert.equal(results.length, 100)
    assert.ok(results.every(c => c === results[0]))
    assert.equal(h.dials.length, 1)
  })

  it('dials each address once, comparing by bytes (go TestDialWorkerLoopAddrDedup)', async () => {
    const addr = '/ip4/127.0.0.1/tcp/10000'
    const h = harness({ addrs: [a(addr), a(addr)], behaviour: new Map([[addr, { kind: 'fail', after: 10 }]]), ranker: fixedRanker(new Map()) })
    let first: unknown
    void h.worker.request().catch(err => { first = err })
    await runUntil(h.clock, h.start, () => first !== undefined, 1_000)
    assert.equal(h.dials.length, 1)
    h.backoff.clear(peer)
    let second: unknown
    void h.worker.request().catch(err => { second = err })
    await runUntil(h.clock, h.start, () => second !== undefined, 1_000)
    assert.ok(errorIs(second, 'AllDialsFailedError'))
    assert.equal(h.dials.length, 1, 'an equal but distinct multiaddr must not be dialed again by the same worker')
    h.controller.abort()
  })

  it('joins a dial in flight instead of dialing again', async () => {
    const slow = '/ip4/1.2.3.4/tcp/1'
    const h = harness({ addrs: [a(slow)], behaviour: new Map([[slow, { kind: 'success', after: 500 }]]), ranker: fixedRanker(new Map()) })
    const got: FakeConn[] = []
    void h.worker.request().then(c => { got.push(c) })
    await runUntil(h.clock, h.start, () => false, 200)
    void h.worker.request().then(c => { got.push(c) })
    await runUntil(h.clock, h.start, () => got.length === 2, 1_000)
    assert.equal(h.dials.length, 1)
    assert.equal(got[0], got[1])
    h.controller.abort()
  })

  it('waits for a public TCP handshake in progress before starting other dials (go TestDialWorkerLoopTCPConnUpgradeWait)', async () => {
    const pub = '/ip4/192.0.0.170/tcp/10001'
    const priv = '/ip4/127.0.0.1/tcp/10002'
    const h = harness({
      addrs: [a(pub), a(priv)],
      behaviour: new Map<string, Behaviour>([[pub, { kind: 'hang' }], [priv, { kind: 'success', after: 0 }]]),
      ranker: fixedRanker(new Map([[pub, 0], [priv, 100]])),
      publicTcp: new Set([pub])
    })
    const result: { conn?: FakeConn } = {}
    void h.worker.request().then(c => { result.conn = c })
    await settle()
    assert.deepEqual(h.dials.map(d => d.addr), [pub])
    h.progress.get(pub)?.() // the public TCP socket connected; its handshakes are running
    await runUntil(h.clock, h.start, () => false, 200)
    assert.deepEqual(h.dials.map(d => d.addr), [pub], 'the 100 ms dial waited for the handshake')
    // Read through a function: TypeScript would otherwise keep the narrowing from the assertion below.
    const connected = (): FakeConn | undefined => result.conn
    assert.equal(connected(), undefined, 'connected before the handshake wait ended')
    await runUntil(h.clock, h.start, () => connected() !== undefined, 200 + 2 * PUBLIC_TCP_DELAY)
    assert.equal(connected()?.id, priv)
    assert.deepEqual(h.dials.map(d => d.addr), [pub, priv])
    h.controller.abort()
  })

  it('answers from a connection that arrived another way when its own dials failed (last-chance check)', async () => {
    const bad = '/ip4/1.2.3.4/tcp/1'
    const h = harness({ addrs: [a(bad)], behaviour: new Map([[bad, { kind: 'fail', after: 100 }]]), ranker: fixedRanker(new Map()) })
    let conn: FakeConn | undefined
    void h.worker.request().then(c => { conn = c })
    await runUntil(h.clock, h.start, () => false, 50)
    const inbound = new FakeConn('inbound')
    h.setEstablished(inbound)
    await runUntil(h.clock, h.start, () => conn !== undefined, 500)
    assert.equal(conn, inbound)
    h.controller.abort()
  })

  it('skips backed-off addresses with a DialBackoffError, and forceDirect dials them anyway', async () => {
    const addr = '/ip4/1.2.3.4/tcp/1'
    const h = harness({ addrs: [a(addr)], behaviour: new Map([[addr, { kind: 'success', after: 10 }]]), ranker: fixedRanker(new Map()) })
    h.backoff.addBackoff(peer, a(addr))
    let error: unknown
    void h.worker.request().catch(err => { error = err })
    await runUntil(h.clock, h.start, () => error !== undefined, 100)
    assert.ok(errorIs(error, 'DialBackoffError'))
    assert.equal(h.dials.length, 0)
    let conn: FakeConn | undefined
    void h.worker.request({ forceDirect: true }).then(c => { conn = c })
    await runUntil(h.clock, h.start, () => conn !== undefined, 100)
    assert.equal(conn?.id, addr)
    h.controller.abort()
  })

  it('adds no backoff for dials cancelled because every caller left, and leaves no timer', async () => {
    const hang = '/ip4/1.2.3.4/tcp/1'
    const later = '/ip4/1.2.3.4/tcp/2'
    const h = harness({ addrs: [a(hang), a(later)], behaviour: new Map<string, Behaviour>([[hang, { kind: 'hang' }]]), ranker: fixedRanker(new Map([[hang, 0], [later, 5_000]])) })
    let error: unknown
    void h.worker.request().catch(err => { error = err })
    await runUntil(h.clock, h.start, () => false, 50)
    h.controller.abort(new Error('caller left'))
    await settle()
    assert.match(String(error), /caller left/)
    assert.equal(h.backoff.backoff(peer, a(hang)), false)
    assert.equal(h.clock.pendingTimers, 0)
    assert.deepEqual(h.dials.map(d => d.addr), [hang])
  })

  it('dials every address exactly at its time, or earlier when nothing is in flight (go scheduling property, 50 cases)', async () => {
    let seed = 42
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
    for (let round = 0; round < 50; round++) {
      const n = 1 + rand(20)
      const addrs: string[] = []
      const delays = new Map<string, number>()
      const behaviour = new Map<string, Behaviour>()
      const successDelay = 10 * (1 + rand(100))
      for (let i = 0; i < n; i++) {
        const addr = `/ip4/10.0.${round}.${i}/tcp/${1000 + i}`
        addrs.push(addr)
        let delay = 10 * rand(100)
        if (delay === successDelay) delay += 10
        delays.set(addr, delay)
        behaviour.set(addr, { kind: 'fail', after: 10 * (1 + rand(100)) })
      }
      const good = `/ip4/10.1.${round}.1/tcp/1`
      addrs.push(good)
      delays.set(good, successDelay)
      behaviour.set(good, { kind: 'success', after: 0 })
      const h = harness({ addrs: addrs.map(a), behaviour, ranker: fixedRanker(delays) })
      let conn: FakeConn | undefined
      let failure: unknown
      void h.worker.request().then(c => { conn = c }, err => { failure = err })
      await runUntil(h.clock, h.start, () => conn !== undefined || failure !== undefined, 5_000)
      h.controller.abort()
      assert.equal(conn?.id, good, `round ${round}: ${String(failure)}`)
      const successAt = h.dials.find(d => d.addr === good)?.at ?? -1
      for (const d of h.dials) {
        const scheduled = delays.get(d.addr) ?? 0
        assert.ok(d.at <= scheduled, `round ${round}: ${d.addr} dialed at ${d.at} after its time ${scheduled}`)
        assert.ok(d.at <= successAt, `round ${round}: ${d.addr} dialed after the success`)
        assert.equal(h.dials.filter(x => x.addr === d.addr).length, 1)
      }
      assert.equal(new Set(h.dials.map(d => addrKey(a(d.addr)))).size, h.dials.length)
    }
  })
})

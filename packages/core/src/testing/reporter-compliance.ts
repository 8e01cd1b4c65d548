import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { REPORTER } from '../tokens.js'
import { memory } from './memory-transport.js'
import { createTestSwarm, introduce } from './swarms.js'
import type { Stream } from '../interfaces/connection.js'
import type { SwarmModule } from '../interfaces/module.js'
import type { Reporter } from '../interfaces/reporter.js'
import type { Swarm } from '../swarm/swarm.js'
import type { PeerId } from '@libp2p/interface'

/** Bytes received (`in`) and sent (`out`). */
export interface ByteCounts {
  in: number
  out: number
}

/** How the suite reads back what a reporter counted. */
export interface ReporterCounts {
  /** Everything, as reported through `logRecvMessage`/`logSentMessage`. */
  totals(): ByteCounts
  /** One peer, as reported through the `…Stream` methods. */
  forPeer(peer: PeerId): ByteCounts
  /** One protocol (`''` for streams with none negotiated), as reported through the `…Stream` methods. */
  forProtocol(protocol: string): ByteCounts
}

export interface ReporterComplianceOptions<R extends Reporter = Reporter> {
  /** Shown in the suite's title. */
  name: string
  /** A new reporter; each swarm of a test gets its own. */
  factory: () => R
  /** Reads a reporter's counts back. */
  counts: (reporter: R) => ReporterCounts
  /** Called once per reporter after its swarm closed, to release what it holds (timers). */
  dispose?: (reporter: R) => void | Promise<void>
  /** The transport modules of each swarm (the reporter is added by the suite). Default: the in-memory transport. */
  modules?: () => SwarmModule[]
  /** Where the swarms listen. Default: `/memory/0` (with the default modules), required with `modules`. */
  listenAddrs?: readonly string[]
}

/** A module that registers `reporter` as the swarm's `REPORTER`. */
export function reporterModule (reporter: Reporter): SwarmModule {
  return { name: 'reporter-under-test', register (c) { c.register(REPORTER, { useValue: reporter }) } }
}

const P1 = '/reporter-compliance/one/1.0.0'
const P2 = '/reporter-compliance/two/1.0.0'
/** Odd sizes, and some beyond a yamux frame and window, so the muxer splits and the reader sees other chunkings. */
const SIZES = [1, 7, 1_000, 65_536, 100_000, 300_001]

/** The listener answers `n` bytes with this many, so a reporter that swaps directions is caught. */
function replySize (n: number): number {
  return Math.floor(n / 3) + 11
}

/**
 * The listener side: negotiates one of `protocols` (none for a raw stream), reads the request to its end, answers
 * with {@link replySize} bytes, and half-closes.
 */
function replier (swarm: Swarm, protocols: readonly string[] | undefined): (stream: Stream) => Promise<void> {
  return async stream => {
    if (protocols !== undefined) await swarm.negotiateInbound(stream, protocols)
    let n = 0
    for await (const chunk of stream) n += chunk.byteLength
    const total = replySize(n)
    // several writes, so the reply is reported chunk by chunk too
    for (let sent = 0; sent < total;) {
      const size = Math.min(40_000, total - sent)
      await stream.write(new Uint8Array(size).fill(sent & 0xff))
      sent += size
    }
    await stream.closeWrite()
  }
}

/** Sends `sizes` as separate writes, half-closes, reads the reply to its end; returns the bytes sent and received. */
async function exchange (from: Swarm, to: Swarm, protocol: string | undefined, sizes: readonly number[]): Promise<ByteCounts> {
  const stream = await from.newStream(to.localPeer, protocol === undefined ? {} : { protocols: [protocol] })
  let out = 0
  for (const size of sizes) {
    await stream.write(new Uint8Array(size).fill(size & 0xff))
    out += size
  }
  await stream.closeWrite()
  let received = 0
  for await (const chunk of stream) received += chunk.byteLength
  assert.equal(received, replySize(out), 'the reply has the size the listener computed')
  return { in: received, out }
}

function add (a: ByteCounts, b: ByteCounts): ByteCounts {
  return { in: a.in + b.in, out: a.out + b.out }
}

function mirror (c: ByteCounts): ByteCounts {
  return { in: c.out, out: c.in }
}

const NONE: ByteCounts = { in: 0, out: 0 }

/**
 * The behaviour every swarm Reporter must have, as `node:test` cases over real swarms: after known transfers, the
 * bytes counted in total, per protocol and per peer are exact on both ends, in the right direction, with protocols and
 * peers kept apart. Run it with your reporter's factory and a way to read its counts:
 *
 * @example
 * ```ts
 * reporterComplianceTests({
 *   name: 'my reporter',
 *   factory: () => new MyReporter(),
 *   counts: r => ({ totals: () => r.totals(), forPeer: p => r.peer(p), forProtocol: p => r.protocol(p) })
 * })
 * ```
 */
export function reporterComplianceTests<R extends Reporter> (opts: ReporterComplianceOptions<R>): void {
  if (opts.modules !== undefined && opts.listenAddrs === undefined) {
    throw new TypeError('reporterComplianceTests: give listenAddrs along with modules, so the swarms can reach each other')
  }

  describe(`reporter compliance: ${opts.name}`, () => {
    const made: Array<{ swarm: Swarm, reporter: R }> = []
    afterEach(async () => {
      const done = made.splice(0)
      await Promise.all(done.map(async m => { await m.swarm.close() }))
      for (const m of done) await opts.dispose?.(m.reporter)
    })

    const node = async (): Promise<{ swarm: Swarm, counts: ReporterCounts }> => {
      const reporter = opts.factory()
      // registered last, so it replaces whatever reporter the other modules brought
      const modules = [...(opts.modules?.() ?? [memory()]), reporterModule(reporter)]
      const swarm = await createTestSwarm({ modules, listen: opts.listenAddrs ?? ['/memory/0'] })
      made.push({ swarm, reporter })
      return { swarm, counts: opts.counts(reporter) }
    }

    it('counts every byte of a request and its reply, per protocol and per peer, on both ends', async () => {
      const a = await node()
      const b = await node()
      b.swarm.setStreamHandler(replier(b.swarm, [P1]))
      introduce(a.swarm, b.swarm)
      const moved = await exchange(a.swarm, b.swarm, P1, SIZES)

      assert.deepEqual(a.counts.forProtocol(P1), moved, 'dialer, per protocol')
      assert.deepEqual(a.counts.forPeer(b.swarm.localPeer), moved, 'dialer, per peer')
      assert.deepEqual(a.counts.totals(), moved, 'dialer, totals')
      assert.deepEqual(b.counts.forProtocol(P1), mirror(moved), 'listener, per protocol')
      assert.deepEqual(b.counts.forPeer(a.swarm.localPeer), mirror(moved), 'listener, per peer')
      assert.deepEqual(b.counts.totals(), mirror(moved), 'listener, totals')
    })

    it('keeps protocols and peers apart, with streams running at once', async () => {
      const a = await node()
      const b = await node()
      const c = await node()
      b.swarm.setStreamHandler(replier(b.swarm, [P1, P2]))
      c.swarm.setStreamHandler(replier(c.swarm, [P1, P2]))
      introduce(a.swarm, b.swarm)
      introduce(a.swarm, c.swarm)
      await a.swarm.dialPeer(b.swarm.localPeer)
      await a.swarm.dialPeer(c.swarm.localPeer)
      const [b1, b2, c1, b1again] = await Promise.all([
        exchange(a.swarm, b.swarm, P1, [5_000, 70_000]),
        exchange(a.swarm, b.swarm, P2, [123, 456, 789]),
        exchange(a.swarm, c.swarm, P1, [200_000]),
        exchange(a.swarm, b.swarm, P1, [1, 2, 3])
      ])

      assert.deepEqual(a.counts.forProtocol(P1), add(add(b1, c1), b1again))
      assert.deepEqual(a.counts.forProtocol(P2), b2)
      assert.deepEqual(a.counts.forPeer(b.swarm.localPeer), add(add(b1, b2), b1again))
      assert.deepEqual(a.counts.forPeer(c.swarm.localPeer), c1)
      assert.deepEqual(a.counts.totals(), add(add(add(b1, b2), c1), b1again))
      assert.deepEqual(b.counts.forProtocol(P2), mirror(b2))
      assert.deepEqual(b.counts.forPeer(c.swarm.localPeer), NONE, 'b never talked to c')
      assert.deepEqual(c.counts.forProtocol(P2), NONE, 'c never spoke P2')
      assert.deepEqual(c.counts.totals(), mirror(c1))
    })

    it("counts raw streams (no protocol negotiated) under ''", async () => {
      const a = await node()
      const b = await node()
      b.swarm.setStreamHandler(replier(b.swarm, undefined))
      introduce(a.swarm, b.swarm)
      const moved = await exchange(a.swarm, b.swarm, undefined, [10, 20_000])

      assert.deepEqual(a.counts.forProtocol(''), moved)
      assert.deepEqual(b.counts.forProtocol(''), mirror(moved))
      assert.deepEqual(a.counts.forPeer(b.swarm.localPeer), moved)
      assert.deepEqual(a.counts.forProtocol(P1), NONE)
    })

    it('adds up over many streams on one connection', async () => {
      const a = await node()
      const b = await node()
      b.swarm.setStreamHandler(replier(b.swarm, [P1]))
      introduce(a.swarm, b.swarm)
      let expected = NONE
      for (let i = 0; i < 10; i++) expected = add(expected, await exchange(a.swarm, b.swarm, P1, [i * 997 + 1]))

      assert.equal(a.swarm.connsToPeer(b.swarm.localPeer).length, 1, 'the streams shared one connection')
      assert.deepEqual(a.counts.forProtocol(P1), expected)
      assert.deepEqual(b.counts.forPeer(a.swarm.localPeer), mirror(expected))
    })
  })
}

import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { DialLimiter, DialsClearedError, isFdConsumingAddr } from '../../src/dial/limiter.js'
import { InvalidOptionError, errorIs } from '../../src/errors.js'
import { generateIdentity, peerIdOf } from '../../src/identity.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

async function newPeer (): Promise<PeerId> {
  return peerIdOf(await generateIdentity())
}

function addrWithPort (port: number): Multiaddr {
  return multiaddr(`/ip4/127.0.0.1/tcp/${port}`)
}

/** go's tcpPortOver; go's fake dial lets UTP through before asking, here any address without a TCP port is good. */
function tcpPortOver (addr: Multiaddr, n: number): boolean {
  const tcp = addr.getComponents().find(c => c.name === 'tcp')
  return tcp === undefined || Number(tcp.value) > n
}

function isRelay (addr: Multiaddr): boolean {
  return addr.getComponents().some(c => c.name === 'p2p-circuit')
}

/** Resolves after every pending microtask (and so every hand-off and settled fake dial) has run. */
async function tick (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}

/** Whether `promise` is still pending once everything already queued has run. */
async function isPending (promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending')
  const first = await Promise.race([
    promise.then(() => undefined, () => undefined),
    new Promise<symbol>(resolve => { setImmediate(() => { resolve(pending) }) })
  ])
  return first === pending
}

interface Result { addr: string, ok: boolean, error?: unknown }

/**
 * go's hangDialFunc, with hangs the test releases by hand: relay, non-TCP and good TCP (port > 10) dials succeed at
 * once; bad TCP dials hang until released, then fail. Also records each started dial and, in order, each result.
 */
class FakeDials {
  readonly started: string[] = []
  readonly results: Result[] = []
  readonly #hanging = new Map<string, Array<() => void>>()

  constructor (readonly limiter: DialLimiter) {}

  dial (peer: PeerId, addr: Multiaddr, signal: AbortSignal = new AbortController().signal): Promise<string> {
    const promise = this.limiter.run(peer, addr, signal, async () => {
      this.started.push(addr.toString())
      if (isRelay(addr) || tcpPortOver(addr, 10)) return `conn ${addr.toString()}`
      return new Promise<string>((_resolve, reject) => {
        const key = peer.toString()
        const list = this.#hanging.get(key) ?? []
        list.push(() => { reject(new Error('test bad dial')) })
        this.#hanging.set(key, list)
      })
    })
    promise.then(
      () => { this.results.push({ addr: addr.toString(), ok: true }) },
      (error: unknown) => { this.results.push({ addr: addr.toString(), ok: false, error }) })
    return promise
  }

  hanging (peer?: PeerId): number {
    if (peer !== undefined) return this.#hanging.get(peer.toString())?.length ?? 0
    let n = 0
    for (const list of this.#hanging.values()) n += list.length
    return n
  }

  /** Fails the oldest hanging dial (of `peer`, or of any peer). */
  releaseOne (peer?: PeerId): void {
    const lists = peer === undefined ? [...this.#hanging.values()] : [this.#hanging.get(peer.toString()) ?? []]
    const list = lists.find(l => l.length > 0)
    assert.ok(list !== undefined, 'no hanging dial to release')
    list.shift()?.()
  }

  /** Fails hanging dials one by one, including those that start as earlier ones free their tokens. */
  async releaseAll (): Promise<void> {
    await tick()
    while (this.hanging() > 0) {
      this.releaseOne()
      await tick()
    }
  }
}

function assertIdle (limiter: DialLimiter, peers: PeerId[]): void {
  assert.equal(limiter.fdConsuming, 0)
  assert.equal(limiter.waitingOnFd, 0)
  for (const p of peers) {
    assert.equal(limiter.activePerPeer(p), 0)
    assert.equal(limiter.waitingOnPeer(p), 0)
  }
}

describe('isFdConsumingAddr (go TestIsFdConsuming)', async () => {
  const relayPeer = (await newPeer()).toString()
  const table: Array<[string, string, boolean]> = [
    ['tcp', '/ip4/127.0.0.1/tcp/20', true],
    ['quic', '/ip4/127.0.0.1/udp/0/quic-v1', false],
    ['addr-without-registered-transport', '/ip4/127.0.0.1/tcp/20/ws', true],
    ['relay-tcp', `/ip4/127.0.0.1/tcp/20/p2p-circuit/p2p/${relayPeer}`, true],
    ['relay-quic', `/ip4/127.0.0.1/udp/20/quic-v1/p2p-circuit/p2p/${relayPeer}`, false],
    ['relay-quic-draft29', `/ip4/127.0.0.1/udp/20/quic/p2p-circuit/p2p/${relayPeer}`, false],
    ['relay-without-serveraddr', `/p2p-circuit/p2p/${relayPeer}`, true],
    ['relay-without-registered-transport-server', `/ip4/127.0.0.1/tcp/20/ws/p2p-circuit/p2p/${relayPeer}`, true],
    ['unix', '/unix/tmp%2Fswarm.sock', true],
    ['webtransport', '/ip4/127.0.0.1/udp/20/quic-v1/webtransport', false]
  ]
  for (const [name, addr, expected] of table) {
    it(`${name}: ${expected}`, () => {
      assert.equal(isFdConsumingAddr(multiaddr(addr)), expected)
    })
  }
})

describe('DialLimiter', async () => {
  const [p0, p1, p2, p3, p4, p5] = await Promise.all([newPeer(), newPeer(), newPeer(), newPeer(), newPeer(), newPeer()])

  it('validates its options and defaults to go\'s limits', () => {
    const limiter = new DialLimiter()
    assert.equal(limiter.fdLimit, 160)
    assert.equal(limiter.perPeerLimit, 8)
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new DialLimiter({ fdLimit: bad }), InvalidOptionError)
      assert.throws(() => new DialLimiter({ perPeerLimit: bad }), InvalidOptionError)
    }
  })

  it('TestLimiterBasicDials: a dial waits for a per-peer token', async () => {
    const limiter = new DialLimiter({ perPeerLimit: 4 })
    const fake = new FakeDials(limiter)
    for (const port of [1, 2, 3, 4]) void fake.dial(p0, addrWithPort(port))
    const good = fake.dial(p0, addrWithPort(20))

    assert.equal(await isPending(good), true)
    assert.equal(fake.results.length, 0, 'no dial should have completed')
    assert.equal(limiter.activePerPeer(p0), 4)
    assert.equal(limiter.waitingOnPeer(p0), 1)
    assert.equal(fake.started.length, 4)

    fake.releaseOne()
    assert.equal(await good, 'conn /ip4/127.0.0.1/tcp/20')
    assert.deepEqual(fake.results.map(r => r.ok), [false, true], 'a failure, then the good dial')
    assert.equal(limiter.activePerPeer(p0), 3)

    await fake.releaseAll()
    assertIdle(limiter, [p0])
  })

  it('TestFDLimiting: fd-consuming dials wait for an fd token; QUIC and relay dials do not', async () => {
    const limiter = new DialLimiter({ fdLimit: 16, perPeerLimit: 5 })
    const fake = new FakeDials(limiter)
    const peers = [p0, p1, p2, p3]
    for (const p of peers) {
      for (const port of [1, 2, 3, 4]) void fake.dial(p, addrWithPort(port))
    }
    assert.equal(limiter.fdConsuming, 16)

    // These would succeed, but every fd token is taken.
    const goods = peers.map(p => fake.dial(p, addrWithPort(20)))
    for (const g of goods) assert.equal(await isPending(g), true)
    assert.equal(fake.results.length, 0, 'no dial should have completed')
    assert.equal(limiter.waitingOnFd, 4)
    for (const p of peers) assert.equal(limiter.activePerPeer(p), 5, 'fd waiters hold their per-peer token')

    // QUIC shares one UDP socket: no fd token needed, so it completes at once.
    const quic = fake.dial(p4, multiaddr('/ip4/127.0.0.1/udp/7777/quic-v1'))
    assert.equal(await isPending(quic), false)
    assert.equal(await quic, 'conn /ip4/127.0.0.1/udp/7777/quic-v1')

    // isFdConsumingAddr says true for a relay over TCP, but the limiter never takes an fd token for a circuit
    // dial: the relay transport's dial of the relay server comes through the limiter itself and takes it then.
    const relayAddr = multiaddr(`/ip4/127.0.0.1/tcp/20/p2p-circuit/p2p/${p5.toString()}`)
    assert.equal(isFdConsumingAddr(relayAddr), true)
    const relay = fake.dial(p5, relayAddr)
    assert.equal(await isPending(relay), false)
    assert.equal(await relay, `conn ${relayAddr.toString()}`)
    assert.equal(limiter.fdConsuming, 16)
    assert.equal(limiter.waitingOnFd, 4)

    await fake.releaseAll()
    await Promise.all(goods)
    assertIdle(limiter, [...peers, p4, p5])
  })

  it('waiting dials get freed fd tokens in arrival order', async () => {
    const limiter = new DialLimiter({ fdLimit: 4, perPeerLimit: 8 })
    const fake = new FakeDials(limiter)
    for (const port of [1, 2, 3, 4]) void fake.dial(p0, addrWithPort(port))
    // On different peers, so only the fd queue orders them; they hang too, so each keeps the token it gets.
    const order = [p3, p1, p4, p2]
    order.forEach((p, i) => { void fake.dial(p, addrWithPort(5 + i)) })
    await tick()
    assert.equal(limiter.waitingOnFd, 4)

    for (let i = 0; i < order.length; i++) {
      fake.releaseOne(p0)
      await tick()
      assert.deepEqual(fake.started.slice(4), order.slice(0, i + 1).map((_, j) => `/ip4/127.0.0.1/tcp/${5 + j}`))
      assert.equal(limiter.waitingOnFd, 3 - i)
      assert.equal(limiter.fdConsuming, 4)
    }
    await fake.releaseAll()
    assertIdle(limiter, [p0, ...order])
  })

  it('waiting dials get freed per-peer tokens in arrival order', async () => {
    const limiter = new DialLimiter({ perPeerLimit: 1 })
    const fake = new FakeDials(limiter)
    void fake.dial(p0, addrWithPort(1))
    const waiters = [fake.dial(p0, addrWithPort(2)), fake.dial(p0, addrWithPort(3)), fake.dial(p0, addrWithPort(4))]
    await tick()
    assert.equal(limiter.waitingOnPeer(p0), 3)
    for (let i = 0; i < 3; i++) {
      fake.releaseOne()
      await tick()
      assert.deepEqual(fake.started, ['1', '2', '3', '4'].slice(0, i + 2).map(p => `/ip4/127.0.0.1/tcp/${p}`))
    }
    fake.releaseOne()
    await Promise.allSettled(waiters)
    assertIdle(limiter, [p0])
  })

  it('TestTokenRedistribution: freed tokens go to the right waiters', async () => {
    const limiter = new DialLimiter({ fdLimit: 8, perPeerLimit: 4 })
    const fake = new FakeDials(limiter)
    for (const p of [p0, p1]) {
      for (const port of [1, 2, 3, 4]) void fake.dial(p, addrWithPort(port))
    }
    const good = fake.dial(p1, multiaddr('/ip4/127.0.0.1/tcp/1001'))
    assert.equal(await isPending(good), true)
    assert.equal(fake.results.length, 0, 'no dial should have completed')

    // A failure for peer 0 frees an fd token and a peer-0 token; peer 1's good dial still lacks a peer-1 token.
    fake.releaseOne(p0)
    await tick()
    assert.deepEqual(fake.results.map(r => r.ok), [false])
    assert.equal(await isPending(good), true)
    assert.equal(limiter.fdConsuming, 7)

    // Another peer-0 dial takes that fd token back...
    void fake.dial(p0, addrWithPort(7))
    await tick()
    assert.equal(limiter.fdConsuming, 8)
    assert.equal(limiter.activePerPeer(p0), 4)

    // ...so when a peer-1 dial fails, the good dial gets both the peer-1 token and the fd token it frees.
    fake.releaseOne(p1)
    assert.equal(await good, 'conn /ip4/127.0.0.1/tcp/1001')
    assert.deepEqual(fake.results.map(r => r.ok), [false, false, true])

    await fake.releaseAll()
    assertIdle(limiter, [p0, p1])
  })

  it('an aborted waiter rejects at once, takes no token, and the next waiter gets it', async () => {
    const limiter = new DialLimiter({ perPeerLimit: 1 })
    const fake = new FakeDials(limiter)
    void fake.dial(p0, addrWithPort(1))
    const controller = new AbortController()
    const aborted = fake.dial(p0, addrWithPort(20), controller.signal)
    const next = fake.dial(p0, addrWithPort(21))
    assert.equal(limiter.waitingOnPeer(p0), 2)

    const reason = new Error('caller gave up')
    controller.abort(reason)
    assert.equal(limiter.waitingOnPeer(p0), 1, 'dropped at once, not at the next hand-off')
    await assert.rejects(aborted, (err: unknown) => err === reason)
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)

    fake.releaseOne()
    assert.equal(await next, 'conn /ip4/127.0.0.1/tcp/21')
    assert.deepEqual(fake.started, ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/21'], 'the aborted dial never ran')
    assertIdle(limiter, [p0])
  })

  it('an aborted fd waiter gives its per-peer token to the next waiter of its peer', async () => {
    const limiter = new DialLimiter({ fdLimit: 1, perPeerLimit: 2 })
    const fake = new FakeDials(limiter)
    void fake.dial(p0, addrWithPort(1))
    const controller = new AbortController()
    const fdWaiter = fake.dial(p0, addrWithPort(20), controller.signal)
    const quic = fake.dial(p0, multiaddr('/ip4/127.0.0.1/udp/7777/quic-v1'))
    assert.equal(limiter.waitingOnFd, 1)
    assert.equal(limiter.waitingOnPeer(p0), 1)

    controller.abort()
    await assert.rejects(fdWaiter, { name: 'AbortError' })
    assert.equal(await quic, 'conn /ip4/127.0.0.1/udp/7777/quic-v1')
    assert.equal(limiter.fdConsuming, 1)

    await fake.releaseAll()
    assertIdle(limiter, [p0])
  })

  it('a dial with an already aborted signal rejects at once and never runs', async () => {
    const limiter = new DialLimiter()
    const fake = new FakeDials(limiter)
    const reason = new Error('too late')
    await assert.rejects(fake.dial(p0, addrWithPort(20), AbortSignal.abort(reason)), (err: unknown) => err === reason)
    assert.deepEqual(fake.started, [])
    assertIdle(limiter, [p0])
  })

  it('a running dial keeps its tokens until it settles, even once its signal aborted', async () => {
    const limiter = new DialLimiter({ fdLimit: 1, perPeerLimit: 1 })
    const controller = new AbortController()
    let finish: (() => void) | undefined
    const running = limiter.run(p0, addrWithPort(1), controller.signal, async signal => new Promise<string>((resolve, reject) => {
      finish = () => { reject(signal.reason) }
    }))
    await tick()
    controller.abort()
    assert.equal(await isPending(running), true)
    assert.equal(limiter.fdConsuming, 1)
    assert.equal(limiter.activePerPeer(p0), 1)
    finish?.()
    await assert.rejects(running, { name: 'AbortError' })
    assertIdle(limiter, [p0])
  })

  it('a dial that throws synchronously rejects and returns its tokens', async () => {
    const limiter = new DialLimiter({ fdLimit: 1, perPeerLimit: 1 })
    const dial = (): Promise<string> => { throw new Error('boom') }
    await assert.rejects(limiter.run(p0, addrWithPort(1), new AbortController().signal, dial), /boom/)
    assertIdle(limiter, [p0])
  })

  it('clearAllPeerDials drops the peer\'s queued dials and leaves running dials and other peers alone', async () => {
    const limiter = new DialLimiter({ fdLimit: 1, perPeerLimit: 2 })
    const fake = new FakeDials(limiter)
    const controller = new AbortController()
    void fake.dial(p0, addrWithPort(1), controller.signal)
    const fdWaiter = fake.dial(p0, addrWithPort(20), controller.signal)
    const peerWaiter = fake.dial(p0, addrWithPort(21), controller.signal)
    const other = fake.dial(p1, addrWithPort(22))
    assert.equal(limiter.waitingOnFd, 2)
    assert.equal(limiter.waitingOnPeer(p0), 1)

    limiter.clearAllPeerDials(p0)
    for (const dropped of [fdWaiter, peerWaiter]) {
      await assert.rejects(dropped, (err: unknown) => err instanceof DialsClearedError && errorIs(err, 'DialsClearedError'))
    }
    assert.equal(limiter.waitingOnPeer(p0), 0)
    assert.equal(limiter.activePerPeer(p0), 1, 'the running dial keeps its token')
    assert.equal(limiter.waitingOnFd, 1, 'the other peer still waits')
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)

    fake.releaseOne(p0)
    assert.equal(await other, 'conn /ip4/127.0.0.1/tcp/22')
    assert.deepEqual(fake.started, ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/22'])
    assertIdle(limiter, [p0, p1])
  })

  it('keeps one abort listener per signal while dials wait, and none once they are done', async () => {
    const limiter = new DialLimiter({ perPeerLimit: 1 })
    const fake = new FakeDials(limiter)
    const controller = new AbortController()
    const dials = [fake.dial(p0, addrWithPort(1), controller.signal)]
    // More waiters than Node's listener-leak warning threshold (10).
    for (let port = 2; port <= 30; port++) dials.push(fake.dial(p0, addrWithPort(port), controller.signal))
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
    await fake.releaseAll()
    await Promise.allSettled(dials)
    assert.equal(fake.started.length, 30)
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
    assertIdle(limiter, [p0])
  })

  it('TestStressLimiter: 20 peers × 101 addresses all reach their good address', { timeout: 30_000 }, async () => {
    const limiter = new DialLimiter({ fdLimit: 20, perPeerLimit: 5 })
    const peers = await Promise.all(Array.from({ length: 20 }, newPeer))
    const addresses = [...Array.from({ length: 100 }, (_, i) => addrWithPort(i)), addrWithPort(2000)]
    let maxFd = 0
    let maxPerPeer = 0

    // Bad addresses fail after 5–105 ms, as in go; unlike go's, the fake honours its signal, so that once a peer has
    // its connection (and aborts its other dials) no timer is left behind.
    const dial = (addr: Multiaddr, peer: PeerId) => async (signal: AbortSignal): Promise<string> => {
      maxFd = Math.max(maxFd, limiter.fdConsuming)
      maxPerPeer = Math.max(maxPerPeer, limiter.activePerPeer(peer))
      if (tcpPortOver(addr, 1000)) return 'conn'
      return new Promise<string>((_resolve, reject) => {
        const onAbort = (): void => {
          clearTimeout(timer)
          reject(signal.reason)
        }
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort)
          reject(new Error('test bad dial'))
        }, 5 + Math.floor(Math.random() * 100))
        signal.addEventListener('abort', onAbort, { once: true })
      })
    }

    const started = Date.now()
    const signals: AbortSignal[] = []
    const outcomes = await Promise.all(peers.map(async peer => {
      const controller = new AbortController()
      signals.push(controller.signal)
      const order = addresses.map((a): [number, Multiaddr] => [Math.random(), a]).sort((a, b) => a[0] - b[0]).map(([, a]) => a)
      const jobs = order.map(async addr => limiter.run(peer, addr, controller.signal, dial(addr, peer)))
      try {
        // Like go's worker: the first success is the connection; the other dials are then no longer wanted.
        return await Promise.any(jobs)
      } finally {
        controller.abort()
        await Promise.allSettled(jobs)
      }
    }))

    assert.deepEqual(outcomes, peers.map(() => 'conn'))
    assert.ok(maxFd <= 20, `fd limit exceeded: ${maxFd}`)
    assert.ok(maxPerPeer <= 5, `per-peer limit exceeded: ${maxPerPeer}`)
    assertIdle(limiter, peers)
    for (const s of signals) assert.equal(getEventListeners(s, 'abort').length, 0)
    assert.ok(Date.now() - started < 15_000, 'took too long')
  })

  it('TestFDLimitUnderflow: aborting 60 dials, running and waiting, never takes fdConsuming below zero', async () => {
    const fdLimit = 20
    const limiter = new DialLimiter({ fdLimit, perPeerLimit: 3 })
    const peers = await Promise.all(Array.from({ length: 20 }, newPeer))
    let dialed = 0
    // The dial only ends when its signal aborts (go's also times out after 5 s; no timer is needed here).
    const dial = async (signal: AbortSignal): Promise<string> => new Promise<string>((_resolve, reject) => {
      dialed++
      signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
    })

    const controllers = Array.from({ length: 3 * fdLimit }, () => new AbortController())
    const jobs = controllers.map(async (c, i) => limiter.run(peers[i % 20], addrWithPort(i), c.signal, dial))
    await tick()
    assert.equal(limiter.fdConsuming, fdLimit)
    assert.equal(limiter.waitingOnFd, 2 * fdLimit)
    assert.equal(dialed, fdLimit)

    // Abort in an interleaved order, checking the counter after every step.
    const order = [...controllers.keys()].sort((a, b) => (a % 7) - (b % 7) || b - a)
    for (const i of order) {
      controllers[i].abort()
      assert.ok(limiter.fdConsuming >= 0)
      await Promise.resolve()
      assert.ok(limiter.fdConsuming >= 0)
    }
    const settled = await Promise.allSettled(jobs)
    assert.ok(settled.every(s => s.status === 'rejected'), 'got a dial result, but should not have')
    assertIdle(limiter, peers)
  })

  it('aborted waiters are never started, whatever tokens free up after', async () => {
    const limiter = new DialLimiter({ fdLimit: 20, perPeerLimit: 3 })
    const peers = await Promise.all(Array.from({ length: 20 }, newPeer))
    let dialed = 0
    const dial = async (signal: AbortSignal): Promise<string> => new Promise<string>((_resolve, reject) => {
      dialed++
      signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
    })
    const controllers = Array.from({ length: 60 }, () => new AbortController())
    const jobs = controllers.map(async (c, i) => limiter.run(peers[i % 20], addrWithPort(i), c.signal, dial))
    await tick()
    // The first 20 run; abort the 40 waiters, then the running ones, whose tokens then have nobody to go to.
    for (const c of controllers.slice(20)) c.abort()
    assert.equal(limiter.waitingOnFd, 0)
    for (const c of controllers.slice(0, 20)) c.abort()
    await Promise.allSettled(jobs)
    assert.equal(dialed, 20)
    assertIdle(limiter, peers)
    for (const c of controllers) assert.equal(getEventListeners(c.signal, 'abort').length, 0)
  })
})

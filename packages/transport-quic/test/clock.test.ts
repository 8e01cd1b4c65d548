import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { afterEach, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { CLOCK, SwarmError, TRANSPORT, UPGRADER, assembleSwarm } from '@tswarm/core'
import { ManualClock, waitFor } from '@tswarm/core/testing'
import { QUIC_OPTIONS, QuicTransport, quic } from '../src/index.js'
import type { QuicOptions } from '../src/index.js'
import type { Socket } from 'node:dgram'
import type { DependencyContainer, Swarm, SwarmModule, Transport, TransportDialOptions, Upgrader } from '@tswarm/core'

const HANDSHAKE_TIMEOUT = 60_000

function clockModule (clock: ManualClock): SwarmModule {
  return { name: 'manual-clock', register (c) { c.register(CLOCK, { useValue: clock }) } }
}

/** Lets every callback already due run (a settled promise's handlers, I/O already delivered); waits for nothing else. */
async function drain (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}

/** `promise`'s outcome, failing after `ms` of real time: a bounded wait, not a sleep. */
async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not happen within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([promise, guard])
  } finally {
    clearTimeout(timer)
  }
}

describe('quic and the swarm clock', () => {
  const swarms: Swarm[] = []
  const sockets: Socket[] = []
  afterEach(async () => {
    await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
    await Promise.all(sockets.splice(0).map(async s => { await new Promise<void>(resolve => { s.close(() => { resolve() }) }) }))
  })

  /** A UDP socket on loopback that receives and never answers: a QUIC handshake to it can only time out. */
  const silentPeer = async (): Promise<{ addr: string, received: () => number }> => {
    const socket = createSocket('udp4')
    sockets.push(socket)
    let received = 0
    socket.on('message', () => { received++ })
    await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', resolve) })
    return { addr: `/ip4/127.0.0.1/udp/${socket.address().port}/quic-v1`, received: () => received }
  }

  const setup = async (options: QuicOptions): Promise<{ clock: ManualClock, container: DependencyContainer, transport: Transport }> => {
    const clock = new ManualClock()
    const { swarm, container } = await assembleSwarm({ modules: [quic(options), clockModule(clock)] })
    swarms.push(swarm)
    const transport = container.resolveAll<Transport>(TRANSPORT).find(t => t.name === 'quic-v1')
    assert.ok(transport instanceof QuicTransport)
    return { clock, container, transport }
  }

  const dialOptions = (container: DependencyContainer, signal = new AbortController().signal): TransportDialOptions =>
    ({ signal, upgrader: container.resolve<Upgrader>(UPGRADER) })

  it('times a dial out on the injected clock: not before handshakeTimeout, exactly at it', async () => {
    // maxIdleTimeout, on quinn's own (real) clock, far beyond the test, so only our timer can end the dial.
    const { clock, container, transport } = await setup({ handshakeTimeout: HANDSHAKE_TIMEOUT, maxIdleTimeout: 600_000, ipv6: false })
    const peer = await silentPeer()
    const timersBefore = clock.pendingTimers
    let outcome: unknown = 'pending'
    const dialing = transport.dial(multiaddr(peer.addr), dialOptions(container))
    dialing.then(() => { outcome = 'connected' }, (err: unknown) => { outcome = err })
    await waitFor(() => clock.pendingTimers === timersBefore + 1, 'the handshake timer to be set on the manual clock')
    await waitFor(() => peer.received() > 0, 'the QUIC Initial to reach the silent peer')

    clock.advance(HANDSHAKE_TIMEOUT - 1)
    await drain()
    assert.equal(outcome, 'pending', 'the dial must not time out before handshakeTimeout has passed on the clock')

    clock.advance(1)
    // Real time is nowhere near 60 s: only the manual clock can have ended the dial.
    await assert.rejects(within(dialing, 5_000, 'the timeout'), (err: unknown) => {
      assert.ok(err instanceof SwarmError)
      assert.equal(err.name, 'TimeoutError')
      assert.match(err.message, new RegExp(`QUIC handshake with ${peer.addr} did not finish within ${HANDSHAKE_TIMEOUT} ms`))
      return true
    })
    assert.equal(clock.pendingTimers, timersBefore, 'the handshake timer is gone once the dial failed')
  })

  it('clears the handshake timer when a dial is aborted, failing with the abort reason', async () => {
    const { clock, container, transport } = await setup({ handshakeTimeout: HANDSHAKE_TIMEOUT, maxIdleTimeout: 600_000, ipv6: false })
    const peer = await silentPeer()
    const timersBefore = clock.pendingTimers
    const controller = new AbortController()
    const dialing = transport.dial(multiaddr(peer.addr), dialOptions(container, controller.signal))
    await waitFor(() => clock.pendingTimers === timersBefore + 1, 'the handshake timer to be set on the manual clock')
    const reason = new Error('changed my mind')
    controller.abort(reason)
    await assert.rejects(within(dialing, 5_000, 'the abort'), (err: unknown) => err === reason)
    assert.equal(clock.pendingTimers, timersBefore)
  })

  it('registers its options under QUIC_OPTIONS in the swarm container', async () => {
    const { container } = await setup({ handshakeTimeout: 1234 })
    assert.deepEqual(container.resolve<QuicOptions>(QUIC_OPTIONS), { handshakeTimeout: 1234 })
  })
})

describe('quic errors', () => {
  const swarms: Swarm[] = []
  const sockets: Socket[] = []
  afterEach(async () => {
    await Promise.all(swarms.splice(0).map(async s => { await s.close() }))
    await Promise.all(sockets.splice(0).map(async s => { await new Promise<void>(resolve => { s.close(() => { resolve() }) }) }))
  })

  const setup = async (options: QuicOptions = {}): Promise<{ container: DependencyContainer, transport: Transport }> => {
    const { swarm, container } = await assembleSwarm({ modules: [quic(options)] })
    swarms.push(swarm)
    const transport = container.resolveAll<Transport>(TRANSPORT).find(t => t.name === 'quic-v1')
    assert.ok(transport !== undefined)
    return { container, transport }
  }

  /** A named SwarmError whose message matches `message`. */
  const named = (name: string, message: RegExp) => (err: unknown): boolean => {
    assert.ok(err instanceof SwarmError, `expected a SwarmError, got ${String(err)}`)
    assert.equal(err.name, name)
    assert.match(err.message, message)
    return true
  }

  it('refuses addresses it cannot dial or listen on with a QuicAddressError', async () => {
    const { container, transport } = await setup()
    const options = { signal: new AbortController().signal, upgrader: container.resolve<Upgrader>(UPGRADER) }
    await assert.rejects(transport.dial(multiaddr('/ip4/127.0.0.1/udp/0/quic-v1'), options),
      named('QuicAddressError', /not a dialable QUIC-v1 address: \/ip4\/127\.0\.0\.1\/udp\/0\/quic-v1; expected .*port other than 0/))
    await assert.rejects(transport.listen(multiaddr('/ip4/127.0.0.1/tcp/0'), { upgrader: options.upgrader, onConnection: () => {} }),
      named('QuicAddressError', /not a QUIC-v1 listen address: \/ip4\/127\.0\.0\.1\/tcp\/0; expected/))
  })

  it('says which family is disabled with a QuicSocketUnavailableError', async () => {
    const { container, transport } = await setup({ ipv6: false })
    await assert.rejects(transport.dial(multiaddr('/ip6/::1/udp/4001/quic-v1'), { signal: new AbortController().signal, upgrader: container.resolve<Upgrader>(UPGRADER) }),
      named('QuicSocketUnavailableError', /no QUIC socket for IPv6: ipv6 is disabled; set quic\(\{ ipv6: true \}\)/))
  })

  it('reports a port in use with a QuicListenError carrying the binding\'s error', async () => {
    const socket = createSocket('udp4')
    sockets.push(socket)
    await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', resolve) })
    const addr = `/ip4/127.0.0.1/udp/${socket.address().port}/quic-v1`
    const { container, transport } = await setup()
    await assert.rejects(transport.listen(multiaddr(addr), { upgrader: container.resolve<Upgrader>(UPGRADER), onConnection: () => {} }), (err: unknown) => {
      named('QuicListenError', new RegExp(`cannot listen on ${addr}: .*choose another port`))(err)
      assert.ok((err as Error).cause instanceof Error)
      return true
    })
  })

  it('refuses to dial or listen once closed with a QuicTransportClosedError', async () => {
    const { container, transport } = await setup()
    await transport.close?.()
    const upgrader = container.resolve<Upgrader>(UPGRADER)
    await assert.rejects(transport.dial(multiaddr('/ip4/127.0.0.1/udp/4001/quic-v1'), { signal: new AbortController().signal, upgrader }),
      named('QuicTransportClosedError', /the QUIC transport is closed: .*create a new swarm/))
    await assert.rejects(transport.listen(multiaddr('/ip4/127.0.0.1/udp/0/quic-v1'), { upgrader, onConnection: () => {} }),
      named('QuicTransportClosedError', /the QUIC transport is closed/))
  })
})

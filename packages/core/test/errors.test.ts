import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrDialError, AllDialsFailedError, DialBackoffError, DialError, DialTimeoutError, ListenError, MAX_DIAL_ERRORS, NoTransportError, PeerIdMismatchError, UpgradeError, errorIs, explainDialFailure, findError } from '../src/errors.js'
import { createToken } from '../src/tokens.js'
import { generateIdentity, peerIdOf } from '../src/identity.js'

describe('errors', async () => {
  const peer = peerIdOf(await generateIdentity())

  it('errorIs finds the cause and every per-address error, nested (go TestDialError)', () => {
    const deep = new Error('permission denied', { cause: Object.assign(new Error('EACCES'), { name: 'SyscallError' }) })
    const err = new DialError(peer, new AllDialsFailedError(), [
      new AddrDialError(multiaddr('/ip4/1.2.3.4/tcp/1'), new NoTransportError('/ip4/1.2.3.4/tcp/1')),
      new AddrDialError(multiaddr('/ip4/1.2.3.4/tcp/2'), deep)
    ])
    assert.ok(errorIs(err, 'DialError'))
    assert.ok(errorIs(err, 'AllDialsFailedError'))
    assert.ok(errorIs(err, 'NoTransportError'))
    assert.ok(errorIs(err, 'SyscallError'))
    assert.equal(errorIs(err, 'DialBackoffError'), false)
    assert.equal(err.name, 'DialError')
  })

  it('keeps at most 16 per-address errors and counts the rest', () => {
    const err = new DialError(peer, new AllDialsFailedError())
    for (let i = 0; i < 20; i++) err.recordError(new AddrDialError(multiaddr(`/ip4/1.2.3.4/tcp/${i + 1}`), new Error(`e${i}`)))
    assert.equal(err.errors.length, MAX_DIAL_ERRORS)
    assert.equal(err.skipped, 4)
    assert.match(err.message, /skipping 4 errors/)
    assert.match(err.message, new RegExp(`failed to dial ${peer.toString()}: all dials failed`))
  })

  it('reports a timeout when the cause or an address timed out', () => {
    assert.equal(new DialError(peer, new AllDialsFailedError()).timeout, false)
    assert.equal(new DialError(peer, new DialTimeoutError('t')).timeout, true)
    assert.equal(new DialError(peer, new AllDialsFailedError(), [new AddrDialError(multiaddr('/ip4/1.2.3.4/tcp/1'), new DialTimeoutError('t'))]).timeout, true)
  })

  it('findError returns the nested error itself, so callers can read its fields', () => {
    const noTransport = new NoTransportError('/ip4/1.2.3.4/udp/1/quic')
    const err = new DialError(peer, new AllDialsFailedError(), [new AddrDialError(multiaddr('/ip4/1.2.3.4/udp/1/quic'), noTransport)])
    assert.equal(findError(err, 'NoTransportError'), noTransport)
    assert.equal(findError(err, 'DialBackoffError'), undefined)
  })

  it('createToken keys are shared Symbol.for keys, as every package makes them', () => {
    assert.equal(createToken('@example/plugin/v1', 'Thing'), Symbol.for('@example/plugin/v1:Thing'))
  })

  it('terminates on cyclic causes', () => {
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    Object.assign(a, { cause: b })
    assert.equal(errorIs(a, 'Nope'), false)
  })
})

describe('explainDialFailure', async () => {
  const peer = peerIdOf(await generateIdentity())
  it('says for each address what happened and what to do', async () => {
    const other = peerIdOf(await generateIdentity())
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4001'), { code: 'ECONNREFUSED' })
    const cases: Array<[unknown, RegExp]> = [
      [new UpgradeError('outbound', 'noise handshake', new PeerIdMismatchError(peer, other)), new RegExp(`the remote is ${other.toString()}, not ${peer.toString()}.*p2p/${other.toString()}`)],
      [refused, /^ECONNREFUSED: nothing listens there/],
      [new UpgradeError('outbound', 'security negotiation', Object.assign(new Error('reset'), { code: 'ECONNRESET' })), /^ECONNRESET: .*may not speak libp2p/],
      [new DialTimeoutError('dial to /ip4/10.0.0.1/tcp/1 timed out after 5000 ms'), /timed out after 5000 ms: the host did not answer in time/],
      [new DialBackoffError(0), /backoff\(\)\.clear\(peer\)/],
      [new NoTransportError('/ip4/1.2.3.4/udp/1/quic'), /no transport for/],
      [new Error('something else'), /^something else$/]
    ]
    for (const [cause, expected] of cases) assert.match(explainDialFailure(cause), expected)
  })

  it('writes one line per address into the DialError message', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    const err = new DialError(peer, new AllDialsFailedError(), [new AddrDialError(multiaddr('/ip4/127.0.0.1/tcp/4001'), refused)])
    assert.deepEqual(err.reasons(), [{ addr: '/ip4/127.0.0.1/tcp/4001', reason: 'ECONNREFUSED: nothing listens there: is the node running, and on this port?' }])
    assert.equal(err.message.split('\n')[1], '  * /ip4/127.0.0.1/tcp/4001: ECONNREFUSED: nothing listens there: is the node running, and on this port?')
  })
})

describe('ListenError', () => {
  it('names each address with its cause and what to do', () => {
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:4001'), { code: 'EADDRINUSE' })
    const denied = Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES' })
    const err = new ListenError([{ addr: '/ip4/127.0.0.1/tcp/4001', error: inUse }, { addr: '/ip4/0.0.0.0/tcp/80', error: new Error('wrapped', { cause: denied }) }])
    const [first, ...rest] = err.message.split('\n')
    assert.equal(first, 'failed to listen on any of 2 addresses:')
    assert.match(rest[0], /^ {2}\/ip4\/127\.0\.0\.1\/tcp\/4001: listen EADDRINUSE.*: the port is in use .*choose another port/)
    assert.match(rest[1], /^ {2}\/ip4\/0\.0\.0\.0\/tcp\/80: .*EACCES.*ports below 1024 need root/)
    assert.deepEqual(err.reasons().map(r => r.addr), ['/ip4/127.0.0.1/tcp/4001', '/ip4/0.0.0.0/tcp/80'])
  })
})

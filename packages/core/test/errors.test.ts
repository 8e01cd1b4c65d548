import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrDialError, AllDialsFailedError, DialError, DialTimeoutError, MAX_DIAL_ERRORS, NoTransportError, errorIs, findError } from '../src/errors.js'
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

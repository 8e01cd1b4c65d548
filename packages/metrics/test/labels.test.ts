import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrDialError, DialTimeoutError, GaterDisallowedError, PeerIdMismatchError, UpgradeError, generateIdentity, peerIdOf } from '@tswarm/core'
import { dialErrorKind, ipVersion } from '../src/index.js'

describe('labels', () => {
  it('ip_version from the first IP or DNS component', () => {
    assert.equal(ipVersion(multiaddr('/ip4/127.0.0.1/tcp/1')), 'ip4')
    assert.equal(ipVersion(multiaddr('/ip6/::1/udp/1/quic-v1')), 'ip6')
    assert.equal(ipVersion(multiaddr('/dns4/example.com/tcp/1')), 'ip4')
    assert.equal(ipVersion(multiaddr('/dns6/example.com/tcp/1')), 'ip6')
    assert.equal(ipVersion(multiaddr('/dns/example.com/tcp/1')), 'unknown')
    assert.equal(ipVersion(multiaddr('/memory/x')), 'unknown')
    assert.equal(ipVersion(undefined), 'unknown')
  })

  it('dial errors fall into a closed set of kinds, looking through causes', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const abort = new Error('aborted')
    abort.name = 'AbortError'
    const addr = multiaddr('/ip4/127.0.0.1/tcp/1')
    const [p, q] = [peerIdOf(await generateIdentity()), peerIdOf(await generateIdentity())]
    assert.equal(dialErrorKind(new DialTimeoutError('timed out')), 'deadline')
    assert.equal(dialErrorKind(abort), 'canceled')
    assert.equal(dialErrorKind(refused), 'connection refused')
    assert.equal(dialErrorKind(new AddrDialError(addr, refused)), 'connection refused')
    assert.equal(dialErrorKind(new Error('wrapped', { cause: new AggregateError([refused]) })), 'connection refused')
    assert.equal(dialErrorKind(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })), 'timeout')
    assert.equal(dialErrorKind(new GaterDisallowedError('interceptSecured', 'g', 'no')), 'gated')
    assert.equal(dialErrorKind(new UpgradeError('outbound', 'noise', new PeerIdMismatchError(p, q))), 'peer id mismatch')
    assert.equal(dialErrorKind(new UpgradeError('outbound', 'noise', new Error('bad handshake'))), 'handshake')
    assert.equal(dialErrorKind(new Error('something at /ip4/1.2.3.4/tcp/5')), 'other')
  })
})
